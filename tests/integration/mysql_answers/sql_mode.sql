-- Statements whose answers are the server's own, not the certificate's: run by
-- test_mysql_standin_answers.py with the mariadb client (--force: on past errors) against
-- Debian's MariaDB 10.11 and the MariaDB stand-in; stdout and stderr must be equal.
-- sql_mode: validation (1231, 1232), combination modes, bit order, numbers, and what
-- PIPES_AS_CONCAT, ANSI_QUOTES and NO_BACKSLASH_ESCAPES change in reading a query.
SET sql_mode='ANSI'; SELECT @@sql_mode;
SET sql_mode='TRADITIONAL'; SELECT @@sql_mode;
SET sql_mode='ORACLE'; SELECT @@sql_mode;
SET sql_mode='MSSQL'; SELECT @@sql_mode;
SET sql_mode='POSTGRESQL'; SELECT @@sql_mode;
SET sql_mode='DB2'; SELECT @@sql_mode;
SET sql_mode='MAXDB'; SELECT @@sql_mode;
SET sql_mode='MYSQL323'; SELECT @@sql_mode;
SET sql_mode='mysql40'; SELECT @@sql_mode;
SET sql_mode='a';
SET sql_mode=',STRICT_TRANS_TABLES'; SELECT @@sql_mode;
SET sql_mode='STRICT_TRANS_TABLES '; SELECT @@sql_mode;
SET sql_mode=' STRICT_TRANS_TABLES';
SET sql_mode='ANSI_QUOTES, PIPES_AS_CONCAT';
SET sql_mode='ANSI_QUOTES,NOPE,PIPES_AS_CONCAT';
SET sql_mode='ansi_quotes,ANSI_QUOTES'; SELECT @@sql_mode, @@session.sql_mode;
SET sql_mode=0; SELECT @@sql_mode;
SET sql_mode=1; SELECT @@sql_mode;
SET sql_mode=4194304; SELECT @@sql_mode;
SET sql_mode=34359738368;
SET sql_mode=1.5;
SET sql_mode=-1;
SET sql_mode=NULL;
SET sql_mode='1';
SET sql_mode='';  SELECT @@sql_mode;
SET sql_mode=DEFAULT; SELECT @@sql_mode;
SHOW VARIABLES LIKE 'sql_mode';
SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION,STRICT_TRANS_TABLES'; SELECT @@sql_mode;
SET @@session.sql_mode = 'NO_AUTO_CREATE_USER'; SELECT @@sql_mode;
SET sql_mode='PIPES_AS_CONCAT'; SELECT 'a' || 'b' || 'c', 1 + 2 || 3, 'x' || NULL;
SET sql_mode=''; SELECT 'a' || 'b', 0 || 1;
SET sql_mode='ANSI_QUOTES'; SELECT "x";
SELECT 'it''s';
SET sql_mode='NO_BACKSLASH_ESCAPES'; SELECT 'a\b', 'c\\d', 'it''s';
SET sql_mode=DEFAULT; SELECT 'a\tb', 'c\\d';
SELECT `a``b` FROM (SELECT 1 AS `a``b`) t;
SELECT @@max_allowed_packet, @@wait_timeout, @@server_id, @@skip_networking, @@log_bin, @@local_infile, @@event_scheduler, @@binlog_format, @@sort_buffer_size, @@key_buffer_size, @@lock_wait_timeout;
SELECT @@innodb_lock_wait_timeout, @@long_query_time, @@div_precision_increment, @@default_week_format, @@sql_notes, @@sql_warnings, @@unique_checks, @@big_tables, @@sql_big_selects, @@net_retry_count, @@tmp_table_size, @@max_heap_table_size, @@join_buffer_size;
SELECT @@session.server_id;
SET sql_mode=34359738367; SELECT @@sql_mode;
