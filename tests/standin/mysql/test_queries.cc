#include <memory>

#include <catch2/catch.hpp>

#include <mysql/commands.h>

#include "mysql_test_client.h"

using mysqltest::Bytes;
using mysqltest::Client;
using mysqltest::logged_in;
using standin::mysql::AuthPlugin;
using standin::mysql::Config;
using standin::mysql::Flavour;

TEST_CASE("mysql SELECT 1: one BIGINT column as MySQL 8.0 describes it", "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mysql80, false);
    auto& c = *c_holder;
    c.query("SELECT 1");
    // column count, column, EOF, row, EOF
    REQUIRE(c.replies.size() == 5);
    CHECK(c.replies[0].sequence == 1);
    CHECK(c.replies[4].sequence == 5);
    CHECK(c.replies[0].payload == Bytes{0x01});
    auto col = *mysql::decode_column(c.replies[1].payload);
    CHECK(col.catalog == "def");
    CHECK(col.name == "1");
    CHECK(col.type == mysql::ColumnType::LongLong);
    CHECK(col.column_length == 1);
    CHECK(col.character_set == 63);
    CHECK(col.flags == 0x8081);
    CHECK(c.replies[2].payload == Bytes({0xFE, 0x00, 0x00, 0x02, 0x00}));
    CHECK(c.replies[3].payload == Bytes({0x01, '1'}));
    CHECK(c.replies[4].payload == Bytes({0xFE, 0x00, 0x00, 0x02, 0x00}));
}

TEST_CASE("mysql SELECT 1 on MariaDB: an INT column, and an OK 0xFE with CLIENT_DEPRECATE_EOF",
          "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mariadb114, true);
    auto& c = *c_holder;
    c.query("select 1");
    REQUIRE(c.replies.size() == 4); // count, column, row, OK(0xFE)
    auto col = *mysql::decode_column(c.replies[1].payload);
    CHECK(col.type == mysql::ColumnType::Long);
    CHECK(col.flags == 0x0081);
    CHECK(c.replies[3].payload == Bytes({0xFE, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}));
}

TEST_CASE("mysql: what connectors send on connect", "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mysql80);
    auto& c = *c_holder;
    // Connector/J 8's session-variable query
    c.query("/* mysql-connector-j-8.4.0 */SELECT  @@session.auto_increment_increment AS "
            "auto_increment_increment, @@character_set_client AS character_set_client, "
            "@@character_set_connection AS character_set_connection, @@character_set_results AS "
            "character_set_results, @@character_set_server AS character_set_server, "
            "@@collation_server AS collation_server, @@collation_connection AS "
            "collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS "
            "interactive_timeout, @@license AS license, @@lower_case_table_names AS "
            "lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, "
            "@@net_write_timeout AS net_write_timeout, @@performance_schema AS "
            "performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, "
            "@@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, "
            "@@wait_timeout AS wait_timeout");
    auto r = c.results();
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].columns.size() == 19);
    CHECK(r[0].columns[0].name == "auto_increment_increment");
    CHECK(r[0].columns[11].type == mysql::ColumnType::LongLong);
    CHECK(r[0].rows[0][11] == "67108864");
    CHECK(r[0].rows[0][1] == "utf8mb4");
    CHECK(r[0].rows[0][6] == "utf8mb4_0900_ai_ci");
    CHECK(r[0].rows[0][13] == "1");
    CHECK(r[0].rows[0][17] == "REPEATABLE-READ");

    c.query("SET character_set_results = NULL");
    CHECK(c.ok());
    c.query("SET autocommit=1");
    CHECK(c.ok());
    c.query("SELECT @@version, @@version_comment, @@session.transaction_read_only LIMIT 1");
    r = c.results();
    REQUIRE(r.size() == 1);
    CHECK(r[0].rows[0][0] == "8.0.40");
    CHECK(r[0].rows[0][1] == "MySQL Community Server - GPL");
    CHECK(r[0].rows[0][2] == "0");
    CHECK(r[0].columns[0].name == "@@version");

    c.query("SHOW VARIABLES LIKE 'max_allowed%'");
    r = c.results();
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].rows.size() == 1);
    CHECK(r[0].columns[0].name == "Variable_name");
    CHECK(r[0].rows[0][0] == "max_allowed_packet");
    CHECK(r[0].rows[0][1] == "67108864");

    c.query("SHOW VARIABLES WHERE Variable_name ='language' OR Variable_name = 'net_write_timeout' "
            "OR Variable_name = 'sql_mode'");
    r = c.results();
    REQUIRE(r.size() == 1);
    CHECK(r[0].rows.size() == 2);

    c.query("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci");
    CHECK(c.ok());
    c.query("SELECT 'ab' AS y");
    r = c.results();
    CHECK(r[0].columns[0].character_set == 224);
    CHECK(r[0].columns[0].column_length == 8);
    CHECK(r[0].rows[0][0] == "ab");
}

TEST_CASE("mysql: errors have the server's numbers and texts, and the session goes on",
          "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mysql80);
    auto& c = *c_holder;
    c.query("SELECT 1 FROM x");
    REQUIRE(c.error());
    CHECK(c.error()->code == 1146);
    CHECK(c.error()->sql_state == "42S02");
    CHECK(c.error()->message == "Table 'lab.x' doesn't exist");

    c.query("selec 1");
    REQUIRE(c.error());
    CHECK(c.error()->code == 1064);
    CHECK(c.error()->sql_state == "42000");
    CHECK(c.error()->message ==
          "You have an error in your SQL syntax; check the manual that corresponds to your MySQL "
          "server version for the right syntax to use near 'selec 1' at line 1");

    c.query("select 1 +");
    CHECK(c.error()->message.ends_with("near '' at line 1"));

    c.query("SELECT @@nosuch");
    CHECK(c.error()->code == 1193);
    CHECK(c.error()->message == "Unknown system variable 'nosuch'");

    c.query("SELECT @@session.version");
    CHECK(c.error()->code == 1238);

    c.command(0x7F);
    REQUIRE(c.error());
    CHECK(c.error()->code == 1047);
    CHECK(c.error()->sql_state == "08S01");
    CHECK(c.error()->message == "Unknown command");

    c.query("SELECT 2");
    REQUIRE(c.results().size() == 1);
    CHECK(c.results()[0].rows[0][0] == "2");

    auto m_holder = logged_in(Flavour::Mariadb114);
    auto& m = *m_holder;
    m.query("selec 1");
    CHECK(m.error()->message ==
          "You have an error in your SQL syntax; check the manual that corresponds to your "
          "MariaDB server version for the right syntax to use near 'selec 1' at line 1");
}

TEST_CASE("mysql: several statements, transactions and the status flags", "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mysql80);
    auto& c = *c_holder;
    c.query("SELECT 1; SELECT 'two' two; /* a comment */ SELECT NULL -- the end");
    auto r = c.results();
    REQUIRE(r.size() == 3);
    CHECK((r[0].status & mysql::status::MoreResultsExists) != 0);
    CHECK((r[2].status & mysql::status::MoreResultsExists) == 0);
    CHECK(r[1].columns[0].name == "two");
    CHECK(r[2].rows[0][0] == std::nullopt);
    CHECK(r[2].columns[0].type == mysql::ColumnType::Null);

    c.query("BEGIN");
    REQUIRE(c.ok());
    CHECK(c.ok()->status == (mysql::status::Autocommit | mysql::status::InTrans));
    c.query("COMMIT");
    CHECK(c.ok()->status == mysql::status::Autocommit);
    c.query("SET autocommit = 0");
    CHECK(c.ok()->status == 0);

    auto single_holder = logged_in(Flavour::Mysql80, true, false);
    auto& single = *single_holder;
    single.query("SELECT 1; SELECT 2");
    REQUIRE(single.error());
    CHECK(single.error()->code == 1064);
    CHECK(single.error()->message.ends_with("near 'SELECT 2' at line 1"));
}

TEST_CASE("mysql: the other commands", "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mysql80);
    auto& c = *c_holder;
    c.command(0x0E); // PING
    CHECK(c.ok());
    c.command(0x02, mysqltest::bytes_of("lab")); // INIT_DB
    CHECK(c.ok());
    c.command(0x02, mysqltest::bytes_of("other"));
    CHECK(c.error()->code == 1049);
    c.command(0x1F); // RESET_CONNECTION
    CHECK(c.ok());
    c.command(0x1B, Bytes{0x01, 0x00}); // SET_OPTION multi-statements off
    REQUIRE(c.replies.size() == 1);
    CHECK(c.replies[0].payload[0] == 0xFE);
    c.command(0x09); // STATISTICS
    REQUIRE(c.replies.size() == 1);
    CHECK(std::string(c.replies[0].payload.begin(), c.replies[0].payload.end())
              .starts_with("Uptime: "));
    c.command(0x04, Bytes{'t', 0}); // FIELD_LIST
    CHECK(c.error()->code == 1146);
    c.query("SHOW STATUS LIKE 'Ssl_%'");
    auto r = c.results();
    REQUIRE(r.size() == 1);
    CHECK(r[0].rows.size() == 4);
    c.command(0x01); // QUIT
    CHECK(c.replies.empty());
    CHECK(c.closed);
}

TEST_CASE("mysql: SHOW STATUS gives the TLS version and cipher the connection has",
          "[standin][mysql]") {
    Config cfg;
    cfg.auth = AuthPlugin::NativePassword;
    Client c(cfg);
    c.responder.set_tls("TLSv1.3", "TLS_AES_128_GCM_SHA256");
    c.login("mysql_native_password",
            mysqltest::native_response("lab-password", c.greeting.auth_plugin_data), 2);
    REQUIRE(c.ok());
    c.query("SHOW SESSION STATUS LIKE 'Ssl_version'; SHOW STATUS LIKE 'ssl_cipher'");
    auto r = c.results();
    REQUIRE(r.size() == 2);
    CHECK(r[0].rows[0][1] == "TLSv1.3");
    CHECK(r[1].rows[0][1] == "TLS_AES_128_GCM_SHA256");
}

TEST_CASE("mysql prepared statements: SELECT ? and SELECT 1 in the binary protocol",
          "[standin][mysql]") {
    auto c_holder = logged_in(Flavour::Mysql80);
    auto& c = *c_holder;
    c.command(0x16, mysqltest::bytes_of("SELECT ?"));
    REQUIRE(c.replies.size() == 3); // PrepareOk, param, column (no EOFs)
    auto ok = mysql::decode_prepare_ok(c.replies[0].payload);
    REQUIRE(ok);
    CHECK(ok->params == 1);
    CHECK(ok->columns == 1);
    // COM_STMT_EXECUTE: id, flags 0, iteration 1, NULL bitmap, new-params-bound, LONGLONG 42
    Bytes exec{0x17};
    for (int i = 0; i < 4; ++i) {
        exec.push_back(static_cast<std::uint8_t>(ok->statement_id >> (8 * i)));
    }
    exec.insert(exec.end(),
                {0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 42, 0, 0, 0, 0, 0, 0, 0});
    c.send(0, exec);
    // count, column, binary row, OK(0xFE)
    REQUIRE(c.replies.size() == 4);
    auto col = *mysql::decode_column(c.replies[1].payload);
    CHECK(col.type == mysql::ColumnType::LongLong);
    CHECK(c.replies[2].payload == Bytes({0x00, 0x00, 42, 0, 0, 0, 0, 0, 0, 0}));

    c.command(0x16, mysqltest::bytes_of("SELECT 1 FROM nosuch"));
    CHECK(c.error()->code == 1146);
    Bytes unknown{0x17, 99, 0, 0, 0, 0, 1, 0, 0, 0};
    c.send(0, unknown);
    CHECK(c.error()->code == 1243);
    c.command(0x19, Bytes{1, 0, 0, 0}); // STMT_CLOSE: no reply
    CHECK(c.replies.empty());
}
