#pragma once

// The virtual tables of the MySQL stand-in: information_schema (and, for MySQL 8.0, the
// performance_schema variable and status tables every account may read) with the column names
// and types the real servers give them, and the rows an account with USAGE + SELECT on the empty
// `lab` database sees: schemata, character sets, collations, engines, plugins, its privileges,
// its own process, the variables and status; TABLES, COLUMNS, ROUTINES and the other tables of
// objects are empty for lab. Column lists were read from a MariaDB 10.11 server; the MySQL 8.0
// differences are from its reference manual (INFORMATION_SCHEMA Tables chapter).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <standin/mysql/config.h>

namespace standin::mysql {

struct SessionState;

enum class CatalogType : std::uint8_t {
    Varchar,        // VARCHAR(length)
    BigintUnsigned, // BIGINT(21) UNSIGNED
    Bigint,         // BIGINT(21)
    Int,            // INT(length)
    Datetime,       // DATETIME
    Text,           // LONGTEXT
    Decimal,        // DECIMAL(length, 3)
    Double,         // DOUBLE
};

struct CatalogColumn {
    std::string_view name;
    CatalogType type = CatalogType::Varchar;
    std::uint32_t length = 64;
    bool nullable = false;
};

struct CatalogTable {
    std::string_view schema; // "information_schema" / "performance_schema"
    std::string_view name;   // upper case in information_schema
    std::vector<CatalogColumn> columns;
};

using CatalogRow = std::vector<std::optional<std::string>>;

// find_table: case-insensitive; nullptr when the flavour has no such table.
const CatalogTable* find_table(Flavour f, std::string_view schema, std::string_view name);
// tables: the tables of a schema in the flavour.
std::vector<const CatalogTable*> tables_of(Flavour f, std::string_view schema);
// rows: what the session's account sees in the table, in column order.
std::vector<CatalogRow> rows_of(const CatalogTable& t, const SessionState& s);

// The databases the lab account sees (SHOW DATABASES, SCHEMATA), in order.
std::vector<std::string> visible_databases(const SessionState& s);
// The status counters (SHOW STATUS, SESSION_STATUS), name and value, in name order.
std::vector<std::pair<std::string, std::string>> status_rows(const SessionState& s);
// The engines (SHOW ENGINES, ENGINES): Engine, Support, Comment, Transactions, XA, Savepoints.
std::vector<CatalogRow> engine_rows(Flavour f);
// The plugins (SHOW PLUGINS): Name, Status, Type, Library, License.
std::vector<CatalogRow> plugin_rows(Flavour f);
// A charset's description (SHOW CHARACTER SET).
std::string charset_description(std::string_view charset);

} // namespace standin::mysql
