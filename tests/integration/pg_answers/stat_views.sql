-- Statements whose answers are the server's own: run by test_pg_standin_answers.py with psql
-- (unaligned, tuples only, on past errors) against Debian's PostgreSQL and the stand-in,
-- in clear and inside TLS; stdout and stderr must be equal.
-- pg_stat_ssl and pg_stat_activity: the checks a DBA runs to see whether a session is encrypted.
select ssl, version, cipher, bits, client_dn, client_serial, issuer_dn from pg_stat_ssl where pid = pg_backend_pid();
select count(*) from pg_stat_ssl where pid = pg_backend_pid();
select pid = pg_backend_pid() from pg_stat_ssl where pid = pg_backend_pid();
select ssl from pg_stat_ssl where pid = 0;
select state, query from pg_stat_activity where pid = pg_backend_pid();
select compression from pg_stat_ssl;
select count(*) from pg_stat_ssl where pid = 0;
select count(*), max(pid), 1 from pg_stat_ssl where false;
select count(*) from pg_extension where extname = 'postgis';
select count(*) from pg_stat_ssl;
select 1 from pg_stat_ssl group by ssl;
select count(*) from pg_stat_ssl where false group by ssl;
select * from pg_stat_ssl limit 0;
select ssl from pg_stat_ssl offset 1;
