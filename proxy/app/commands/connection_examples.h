#pragma once

#include <cstdint>
#include <string>

namespace proxy::app {

// What a user needs to point each driver at one listener.
struct ConnectionTarget {
    std::string host;
    std::uint16_t port = 0;
    std::string ca_file;
    std::string user;
    std::string password;
    bool strict = false; // TDS 8.0: the driver's strict setting instead of encrypt=true
};

// connection_examples gives ready-to-paste settings for ODBC/SqlClient, JDBC, tedious, go-mssqldb
// and FreeTDS tsql, validating against the lab CA.
std::string connection_examples(const ConnectionTarget& t);

// postgres_connection_examples: the same for psql/libpq, psycopg2/psycopg 3, JDBC (pgjdbc),
// node pg and pgx, with sslmode=verify-full against the lab CA.
std::string postgres_connection_examples(const ConnectionTarget& t);

// mysql_connection_examples: the same for the mariadb/mysql client, mysql-connector-python,
// Connector/J, MariaDB Connector/J, mysql2 and go-sql-driver/mysql, with VERIFY_IDENTITY (or the
// driver's words for it) against the lab CA.
std::string mysql_connection_examples(const ConnectionTarget& t);

} // namespace proxy::app
