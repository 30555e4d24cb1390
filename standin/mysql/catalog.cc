#include <algorithm>
#include <chrono>

#include <standin/mysql/catalog.h>
#include <standin/mysql/sql.h>

namespace standin::mysql {

namespace {

using T = CatalogType;

CatalogColumn v(std::string_view n, std::uint32_t len = 64) {
    return {n, T::Varchar, len, false};
}
CatalogColumn vn(std::string_view n, std::uint32_t len = 64) {
    return {n, T::Varchar, len, true};
}
CatalogColumn u(std::string_view n) {
    return {n, T::BigintUnsigned, 21, false};
}
CatalogColumn un(std::string_view n) {
    return {n, T::BigintUnsigned, 21, true};
}
CatalogColumn i(std::string_view n, std::uint32_t len = 11) {
    return {n, T::Int, len, false};
}
CatalogColumn in(std::string_view n, std::uint32_t len = 11) {
    return {n, T::Int, len, true};
}
CatalogColumn dt(std::string_view n) {
    return {n, T::Datetime, 19, true};
}
CatalogColumn tx(std::string_view n, bool nullable = true) {
    return {n, T::Text, 0, nullable};
}

// Tables both flavours have (MariaDB 10.11's columns; MySQL 8.0 names them the same).
std::vector<CatalogTable> common_tables() {
    return {
        {"information_schema",
         "TABLES",
         {v("TABLE_CATALOG", 512),
          v("TABLE_SCHEMA"),
          v("TABLE_NAME"),
          v("TABLE_TYPE"),
          vn("ENGINE"),
          un("VERSION"),
          vn("ROW_FORMAT", 10),
          un("TABLE_ROWS"),
          un("AVG_ROW_LENGTH"),
          un("DATA_LENGTH"),
          un("MAX_DATA_LENGTH"),
          un("INDEX_LENGTH"),
          un("DATA_FREE"),
          un("AUTO_INCREMENT"),
          dt("CREATE_TIME"),
          dt("UPDATE_TIME"),
          dt("CHECK_TIME"),
          vn("TABLE_COLLATION", 32),
          un("CHECKSUM"),
          vn("CREATE_OPTIONS", 2048),
          v("TABLE_COMMENT", 2048)}},
        {"information_schema",
         "COLUMNS",
         {v("TABLE_CATALOG", 512),
          v("TABLE_SCHEMA"),
          v("TABLE_NAME"),
          v("COLUMN_NAME"),
          u("ORDINAL_POSITION"),
          tx("COLUMN_DEFAULT"),
          v("IS_NULLABLE", 3),
          v("DATA_TYPE"),
          un("CHARACTER_MAXIMUM_LENGTH"),
          un("CHARACTER_OCTET_LENGTH"),
          un("NUMERIC_PRECISION"),
          un("NUMERIC_SCALE"),
          un("DATETIME_PRECISION"),
          vn("CHARACTER_SET_NAME", 32),
          vn("COLLATION_NAME", 32),
          tx("COLUMN_TYPE", false),
          v("COLUMN_KEY", 3),
          v("EXTRA", 80),
          v("PRIVILEGES", 80),
          v("COLUMN_COMMENT", 1024),
          v("IS_GENERATED", 6),
          tx("GENERATION_EXPRESSION")}},
        {"information_schema",
         "ROUTINES",
         {v("SPECIFIC_NAME"),
          v("ROUTINE_CATALOG", 512),
          v("ROUTINE_SCHEMA"),
          v("ROUTINE_NAME"),
          v("ROUTINE_TYPE", 13),
          v("DATA_TYPE"),
          in("CHARACTER_MAXIMUM_LENGTH"),
          in("CHARACTER_OCTET_LENGTH"),
          in("NUMERIC_PRECISION"),
          in("NUMERIC_SCALE"),
          un("DATETIME_PRECISION"),
          vn("CHARACTER_SET_NAME"),
          vn("COLLATION_NAME"),
          tx("DTD_IDENTIFIER"),
          v("ROUTINE_BODY", 8),
          tx("ROUTINE_DEFINITION"),
          vn("EXTERNAL_NAME"),
          vn("EXTERNAL_LANGUAGE"),
          v("PARAMETER_STYLE", 8),
          v("IS_DETERMINISTIC", 3),
          v("SQL_DATA_ACCESS"),
          vn("SQL_PATH"),
          v("SECURITY_TYPE", 7),
          dt("CREATED"),
          dt("LAST_ALTERED"),
          v("SQL_MODE", 8192),
          tx("ROUTINE_COMMENT", false),
          v("DEFINER", 384),
          v("CHARACTER_SET_CLIENT", 32),
          v("COLLATION_CONNECTION", 32),
          v("DATABASE_COLLATION", 32)}},
        {"information_schema",
         "PARAMETERS",
         {v("SPECIFIC_CATALOG", 512), v("SPECIFIC_SCHEMA"), v("SPECIFIC_NAME"),
          i("ORDINAL_POSITION", 21), vn("PARAMETER_MODE", 5), vn("PARAMETER_NAME"), v("DATA_TYPE"),
          in("CHARACTER_MAXIMUM_LENGTH", 21), in("CHARACTER_OCTET_LENGTH", 21),
          in("NUMERIC_PRECISION", 21), in("NUMERIC_SCALE", 21), un("DATETIME_PRECISION"),
          vn("CHARACTER_SET_NAME"), vn("COLLATION_NAME"), tx("DTD_IDENTIFIER", false),
          v("ROUTINE_TYPE", 9)}},
        {"information_schema",
         "STATISTICS",
         {v("TABLE_CATALOG", 512),
          v("TABLE_SCHEMA"),
          v("TABLE_NAME"),
          {"NON_UNIQUE", T::Bigint, 1, false},
          v("INDEX_SCHEMA"),
          v("INDEX_NAME"),
          i("SEQ_IN_INDEX", 2),
          v("COLUMN_NAME"),
          vn("COLLATION", 1),
          un("CARDINALITY"),
          un("SUB_PART"),
          vn("PACKED", 10),
          v("NULLABLE", 3),
          v("INDEX_TYPE", 16),
          vn("COMMENT", 16),
          v("INDEX_COMMENT", 1024)}},
        {"information_schema",
         "KEY_COLUMN_USAGE",
         {v("CONSTRAINT_CATALOG", 512), v("CONSTRAINT_SCHEMA"), v("CONSTRAINT_NAME"),
          v("TABLE_CATALOG", 512), v("TABLE_SCHEMA"), v("TABLE_NAME"), v("COLUMN_NAME"),
          u("ORDINAL_POSITION"), un("POSITION_IN_UNIQUE_CONSTRAINT"), vn("REFERENCED_TABLE_SCHEMA"),
          vn("REFERENCED_TABLE_NAME"), vn("REFERENCED_COLUMN_NAME")}},
        {"information_schema",
         "REFERENTIAL_CONSTRAINTS",
         {v("CONSTRAINT_CATALOG", 512), v("CONSTRAINT_SCHEMA"), v("CONSTRAINT_NAME"),
          v("UNIQUE_CONSTRAINT_CATALOG", 512), v("UNIQUE_CONSTRAINT_SCHEMA"),
          vn("UNIQUE_CONSTRAINT_NAME"), v("MATCH_OPTION"), v("UPDATE_RULE"), v("DELETE_RULE"),
          v("TABLE_NAME"), v("REFERENCED_TABLE_NAME")}},
        {"information_schema",
         "TABLE_CONSTRAINTS",
         {v("CONSTRAINT_CATALOG", 512), v("CONSTRAINT_SCHEMA"), v("CONSTRAINT_NAME"),
          v("TABLE_SCHEMA"), v("TABLE_NAME"), v("CONSTRAINT_TYPE")}},
        {"information_schema",
         "CHECK_CONSTRAINTS",
         {v("CONSTRAINT_CATALOG", 512), v("CONSTRAINT_SCHEMA"), v("TABLE_NAME"),
          v("CONSTRAINT_NAME"), v("LEVEL", 6), tx("CHECK_CLAUSE", false)}},
        {"information_schema",
         "VIEWS",
         {v("TABLE_CATALOG", 512), v("TABLE_SCHEMA"), v("TABLE_NAME"), tx("VIEW_DEFINITION", false),
          v("CHECK_OPTION", 8), v("IS_UPDATABLE", 3), v("DEFINER", 384), v("SECURITY_TYPE", 7),
          v("CHARACTER_SET_CLIENT", 32), v("COLLATION_CONNECTION", 32), v("ALGORITHM", 10)}},
        {"information_schema",
         "TRIGGERS",
         {v("TRIGGER_CATALOG", 512),
          v("TRIGGER_SCHEMA"),
          v("TRIGGER_NAME"),
          v("EVENT_MANIPULATION", 6),
          v("EVENT_OBJECT_CATALOG", 512),
          v("EVENT_OBJECT_SCHEMA"),
          v("EVENT_OBJECT_TABLE"),
          u("ACTION_ORDER"),
          tx("ACTION_CONDITION"),
          tx("ACTION_STATEMENT", false),
          v("ACTION_ORIENTATION", 9),
          v("ACTION_TIMING", 6),
          vn("ACTION_REFERENCE_OLD_TABLE"),
          vn("ACTION_REFERENCE_NEW_TABLE"),
          v("ACTION_REFERENCE_OLD_ROW", 3),
          v("ACTION_REFERENCE_NEW_ROW", 3),
          dt("CREATED"),
          v("SQL_MODE", 8192),
          v("DEFINER", 384),
          v("CHARACTER_SET_CLIENT", 32),
          v("COLLATION_CONNECTION", 32),
          v("DATABASE_COLLATION", 32)}},
        {"information_schema",
         "EVENTS",
         {v("EVENT_CATALOG"),
          v("EVENT_SCHEMA"),
          v("EVENT_NAME"),
          v("DEFINER", 384),
          v("TIME_ZONE"),
          v("EVENT_BODY", 8),
          tx("EVENT_DEFINITION", false),
          v("EVENT_TYPE", 9),
          dt("EXECUTE_AT"),
          vn("INTERVAL_VALUE", 256),
          vn("INTERVAL_FIELD", 18),
          v("SQL_MODE", 8192),
          dt("STARTS"),
          dt("ENDS"),
          v("STATUS", 18),
          v("ON_COMPLETION", 12),
          dt("CREATED"),
          dt("LAST_ALTERED"),
          dt("LAST_EXECUTED"),
          v("EVENT_COMMENT"),
          {"ORIGINATOR", T::Bigint, 10, false},
          v("CHARACTER_SET_CLIENT", 32),
          v("COLLATION_CONNECTION", 32),
          v("DATABASE_COLLATION", 32)}},
        {"information_schema",
         "PARTITIONS",
         {v("TABLE_CATALOG", 512),
          v("TABLE_SCHEMA"),
          v("TABLE_NAME"),
          vn("PARTITION_NAME"),
          vn("SUBPARTITION_NAME"),
          un("PARTITION_ORDINAL_POSITION"),
          un("SUBPARTITION_ORDINAL_POSITION"),
          vn("PARTITION_METHOD", 18),
          vn("SUBPARTITION_METHOD", 12),
          tx("PARTITION_EXPRESSION"),
          tx("SUBPARTITION_EXPRESSION"),
          tx("PARTITION_DESCRIPTION"),
          u("TABLE_ROWS"),
          u("AVG_ROW_LENGTH"),
          u("DATA_LENGTH"),
          un("MAX_DATA_LENGTH"),
          u("INDEX_LENGTH"),
          u("DATA_FREE"),
          dt("CREATE_TIME"),
          dt("UPDATE_TIME"),
          dt("CHECK_TIME"),
          un("CHECKSUM"),
          v("PARTITION_COMMENT", 80),
          v("NODEGROUP", 12),
          vn("TABLESPACE_NAME")}},
        {"information_schema",
         "COLUMN_PRIVILEGES",
         {v("GRANTEE", 385), v("TABLE_CATALOG", 512), v("TABLE_SCHEMA"), v("TABLE_NAME"),
          v("COLUMN_NAME"), v("PRIVILEGE_TYPE"), v("IS_GRANTABLE", 3)}},
        {"information_schema",
         "TABLE_PRIVILEGES",
         {v("GRANTEE", 385), v("TABLE_CATALOG", 512), v("TABLE_SCHEMA"), v("TABLE_NAME"),
          v("PRIVILEGE_TYPE"), v("IS_GRANTABLE", 3)}},
        {"information_schema",
         "SCHEMA_PRIVILEGES",
         {v("GRANTEE", 385), v("TABLE_CATALOG", 512), v("TABLE_SCHEMA"), v("PRIVILEGE_TYPE"),
          v("IS_GRANTABLE", 3)}},
        {"information_schema",
         "USER_PRIVILEGES",
         {v("GRANTEE", 385), v("TABLE_CATALOG", 512), v("PRIVILEGE_TYPE"), v("IS_GRANTABLE", 3)}},
        {"information_schema",
         "CHARACTER_SETS",
         {v("CHARACTER_SET_NAME", 32),
          v("DEFAULT_COLLATE_NAME", 32),
          v("DESCRIPTION", 60),
          {"MAXLEN", T::BigintUnsigned, 3, false}}},
        {"information_schema",
         "COLLATIONS",
         {v("COLLATION_NAME", 32),
          vn("CHARACTER_SET_NAME", 32),
          un("ID"),
          vn("IS_DEFAULT", 3),
          v("IS_COMPILED", 3),
          {"SORTLEN", T::BigintUnsigned, 3, false}}},
        {"information_schema",
         "COLLATION_CHARACTER_SET_APPLICABILITY",
         {v("COLLATION_NAME", 32), v("CHARACTER_SET_NAME", 32)}},
        {"information_schema",
         "ENGINES",
         {v("ENGINE"), v("SUPPORT", 8), v("COMMENT", 160), vn("TRANSACTIONS", 3), vn("XA", 3),
          vn("SAVEPOINTS", 3)}},
        {"information_schema",
         "PLUGINS",
         {v("PLUGIN_NAME"), v("PLUGIN_VERSION", 20), v("PLUGIN_STATUS", 16), v("PLUGIN_TYPE", 80),
          v("PLUGIN_TYPE_VERSION", 20), vn("PLUGIN_LIBRARY"), vn("PLUGIN_LIBRARY_VERSION", 20),
          vn("PLUGIN_AUTHOR"), tx("PLUGIN_DESCRIPTION"), v("PLUGIN_LICENSE", 80),
          v("LOAD_OPTION")}},
        {"information_schema",
         "PROCESSLIST",
         {{"ID", T::BigintUnsigned, 21, false},
          v("USER", 128),
          v("HOST"),
          vn("DB"),
          v("COMMAND", 16),
          i("TIME", 7),
          vn("STATE"),
          tx("INFO")}},
        {"information_schema", "ENABLED_ROLES", {vn("ROLE_NAME", 128)}},
        {"information_schema",
         "APPLICABLE_ROLES",
         {v("GRANTEE", 385), v("ROLE_NAME", 128), v("IS_GRANTABLE", 3)}},
    };
}

std::vector<CatalogTable> build(Flavour f) {
    auto out = common_tables();
    auto find = [&](std::string_view n) -> CatalogTable& {
        for (auto& t : out) {
            if (t.name == n) {
                return t;
            }
        }
        return out.front();
    };
    switch (f) {
    case Flavour::Mysql80:
        // MySQL 8.0 reference manual, "The INFORMATION_SCHEMA SCHEMATA Table" and friends.
        out.push_back({"information_schema",
                       "SCHEMATA",
                       {v("CATALOG_NAME"), v("SCHEMA_NAME"), v("DEFAULT_CHARACTER_SET_NAME"),
                        v("DEFAULT_COLLATION_NAME"), vn("SQL_PATH"), v("DEFAULT_ENCRYPTION", 3)}});
        find("COLUMNS").columns.push_back({"SRS_ID", T::Int, 10, true});
        // the variables and status are performance_schema tables in MySQL 8.0
        for (auto n :
             {"session_variables", "global_variables", "session_status", "global_status"}) {
            out.push_back(
                {"performance_schema", n, {v("VARIABLE_NAME"), vn("VARIABLE_VALUE", 1024)}});
        }
        break;
    case Flavour::Mariadb114: {
        out.push_back(
            {"information_schema",
             "SCHEMATA",
             {v("CATALOG_NAME", 512), v("SCHEMA_NAME"), v("DEFAULT_CHARACTER_SET_NAME", 32),
              v("DEFAULT_COLLATION_NAME", 64), vn("SQL_PATH", 512), v("SCHEMA_COMMENT", 1024)}});
        auto& tables = find("TABLES");
        tables.columns.push_back(un("MAX_INDEX_LENGTH"));
        tables.columns.push_back(vn("TEMPORARY", 1));
        auto& stats = find("STATISTICS");
        stats.columns.push_back(v("IGNORED", 3));
        auto& procs = find("PROCESSLIST");
        for (auto c : {CatalogColumn{"TIME_MS", T::Decimal, 22, false},
                       CatalogColumn{"STAGE", T::Int, 2, false},
                       CatalogColumn{"MAX_STAGE", T::Int, 2, false},
                       CatalogColumn{"PROGRESS", T::Decimal, 7, false},
                       CatalogColumn{"MEMORY_USED", T::Bigint, 7, false},
                       CatalogColumn{"MAX_MEMORY_USED", T::Bigint, 7, false},
                       CatalogColumn{"EXAMINED_ROWS", T::Int, 7, false},
                       CatalogColumn{"QUERY_ID", T::BigintUnsigned, 21, false},
                       CatalogColumn{"INFO_BINARY", T::Text, 0, true},
                       CatalogColumn{"TID", T::BigintUnsigned, 21, false}}) {
            procs.columns.push_back(c);
        }
        auto& plugins = find("PLUGINS");
        plugins.columns.push_back(v("PLUGIN_MATURITY", 12));
        plugins.columns.push_back(v("PLUGIN_AUTH_VERSION", 80));
        auto& colls = find("COLLATIONS");
        (void)colls;
        auto& appl = find("APPLICABLE_ROLES");
        appl.columns.push_back(vn("IS_DEFAULT", 3));
        for (auto n :
             {"SESSION_VARIABLES", "GLOBAL_VARIABLES", "SESSION_STATUS", "GLOBAL_STATUS"}) {
            out.push_back(
                {"information_schema", n, {v("VARIABLE_NAME"), v("VARIABLE_VALUE", 2048)}});
        }
        out.push_back({"information_schema", "KEYWORDS", {vn("WORD")}});
        break;
    }
    }
    return out;
}

const std::vector<CatalogTable>& catalog(Flavour f) {
    static const std::vector<CatalogTable> mysql = build(Flavour::Mysql80);
    static const std::vector<CatalogTable> mariadb = build(Flavour::Mariadb114);
    switch (f) {
    case Flavour::Mysql80:
        return mysql;
    case Flavour::Mariadb114:
        return mariadb;
    }
    return mysql;
}

bool my(const SessionState& s) {
    return s.flavour == Flavour::Mysql80;
}

std::string grantee(const SessionState& s) {
    return "'" + s.user + "'@'" + s.account_host + "'";
}

std::optional<std::string> var_value(const SessionState& s, std::string_view name) {
    if (!s.variables) {
        return std::nullopt;
    }
    const auto* v = s.variables->find(name);
    return v == nullptr ? std::nullopt : v->value;
}

} // namespace

const CatalogTable* find_table(Flavour f, std::string_view schema, std::string_view name) {
    auto ls = lower(schema);
    auto ln = lower(name);
    for (const auto& t : catalog(f)) {
        if (t.schema == ls && lower(t.name) == ln) {
            return &t;
        }
    }
    return nullptr;
}

std::vector<const CatalogTable*> tables_of(Flavour f, std::string_view schema) {
    std::vector<const CatalogTable*> out;
    auto ls = lower(schema);
    for (const auto& t : catalog(f)) {
        if (t.schema == ls) {
            out.push_back(&t);
        }
    }
    std::sort(out.begin(), out.end(),
              [](const CatalogTable* a, const CatalogTable* b) { return a->name < b->name; });
    return out;
}

std::vector<std::string> visible_databases(const SessionState& s) {
    // MariaDB 10.11 (observed): information_schema and the databases the account has a
    // privilege on. MySQL 8.0 also shows performance_schema, whose variable and status tables
    // every account may read.
    std::vector<std::string> out = {"information_schema", s.known_database};
    if (my(s)) {
        out.push_back("performance_schema");
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> status_rows(const SessionState& s) {
    std::int64_t now = s.clock ? s.clock()
                               : std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    auto uptime = std::max<std::int64_t>((now - s.started_us) / 1000000, 1);
    return {
        {"Aborted_clients", "0"},
        {"Aborted_connects", "0"},
        {"Connections", std::to_string(s.connection_id)},
        {"Questions", std::to_string(s.questions)},
        {"Ssl_cipher", s.tls_cipher},
        {"Ssl_version", s.tls_version},
        {"Ssl_verify_depth", "0"},
        {"Ssl_verify_mode", "0"},
        {"Threads_connected", "1"},
        {"Threads_running", "1"},
        {"Uptime", std::to_string(uptime)},
    };
}

std::vector<CatalogRow> engine_rows(Flavour f) {
    std::vector<CatalogRow> out;
    switch (f) {
    case Flavour::Mysql80:
        out = {{"InnoDB", "DEFAULT", "Supports transactions, row-level locking, and foreign keys",
                "YES", "YES", "YES"},
               {"MEMORY", "YES", "Hash based, stored in memory, useful for temporary tables", "NO",
                "NO", "NO"},
               {"CSV", "YES", "CSV storage engine", "NO", "NO", "NO"},
               {"MyISAM", "YES", "MyISAM storage engine", "NO", "NO", "NO"},
               {"PERFORMANCE_SCHEMA", "YES", "Performance Schema", "NO", "NO", "NO"}};
        break;
    case Flavour::Mariadb114:
        out = {{"CSV", "YES", "Stores tables as CSV files", "NO", "NO", "NO"},
               {"MEMORY", "YES", "Hash based, stored in memory, useful for temporary tables", "NO",
                "NO", "NO"},
               {"Aria", "YES",
                "Crash-safe tables with MyISAM heritage. Used for internal temporary tables and "
                "privilege tables",
                "NO", "NO", "NO"},
               {"MyISAM", "YES",
                "Non-transactional engine with good performance and small data "
                "footprint",
                "NO", "NO", "NO"},
               {"InnoDB", "DEFAULT",
                "Supports transactions, row-level locking, foreign keys and encryption for tables",
                "YES", "YES", "YES"}};
        break;
    }
    return out;
}

std::vector<CatalogRow> plugin_rows(Flavour f) {
    std::vector<CatalogRow> out = {
        {"mysql_native_password", "ACTIVE", "AUTHENTICATION", std::nullopt, "GPL"},
    };
    switch (f) {
    case Flavour::Mysql80:
        out.insert(out.begin(), {"binlog", "ACTIVE", "STORAGE ENGINE", std::nullopt, "GPL"});
        out.push_back({"sha256_password", "ACTIVE", "AUTHENTICATION", std::nullopt, "GPL"});
        out.push_back({"caching_sha2_password", "ACTIVE", "AUTHENTICATION", std::nullopt, "GPL"});
        out.push_back({"InnoDB", "ACTIVE", "STORAGE ENGINE", std::nullopt, "GPL"});
        break;
    case Flavour::Mariadb114:
        out.insert(out.begin(), {"binlog", "ACTIVE", "STORAGE ENGINE", std::nullopt, "GPL"});
        out.push_back({"mysql_old_password", "ACTIVE", "AUTHENTICATION", std::nullopt, "GPL"});
        out.push_back({"InnoDB", "ACTIVE", "STORAGE ENGINE", std::nullopt, "GPL"});
        out.push_back({"unix_socket", "ACTIVE", "AUTHENTICATION", std::nullopt, "GPL"});
        break;
    }
    return out;
}

std::string charset_description(std::string_view charset) {
    if (charset == "utf8mb4" || charset == "utf8mb3") {
        return "UTF-8 Unicode";
    }
    if (charset == "latin1") {
        return "cp1252 West European";
    }
    if (charset == "ascii") {
        return "US ASCII";
    }
    return "Binary pseudo charset";
}

std::vector<CatalogRow> rows_of(const CatalogTable& t, const SessionState& s) {
    std::vector<CatalogRow> out;
    auto name = std::string(t.name);
    auto upper_name = upper(name);
    auto server_charset = var_value(s, "character_set_server").value_or("utf8mb4");
    auto server_collation = var_value(s, "collation_server").value_or("utf8mb4_general_ci");
    if (upper_name == "SCHEMATA") {
        for (const auto& db : visible_databases(s)) {
            bool system = db != s.known_database;
            // the system schemas are utf8mb3 on both servers
            std::string cs = system ? "utf8mb3" : server_charset;
            std::string coll = system ? "utf8mb3_general_ci" : server_collation;
            if (my(s) && db == "performance_schema") {
                cs = "utf8mb4";
                coll = "utf8mb4_0900_ai_ci";
            }
            CatalogRow row = {"def", db, cs, coll, std::nullopt};
            row.emplace_back(my(s) ? "NO" : "");
            out.push_back(std::move(row));
        }
    } else if (upper_name == "TABLES") {
        for (const auto* it : tables_of(s.flavour, "information_schema")) {
            // TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, then NULLs up to
            // TABLE_COMMENT (the 21st column), then NULLs to the end.
            CatalogRow row = {"def", "information_schema", std::string(it->name), "SYSTEM VIEW"};
            row.resize(20);
            row.emplace_back("");
            row.resize(std::max(row.size(), t.columns.size()));
            out.push_back(std::move(row));
        }
    } else if (upper_name == "CHARACTER_SETS") {
        for (const auto* c : all_collations()) {
            if (charset_default(s.flavour, c->charset) == c) {
                out.push_back({std::string(c->charset), std::string(c->name),
                               charset_description(c->charset), std::to_string(c->max_bytes)});
            }
        }
    } else if (upper_name == "COLLATIONS") {
        for (const auto* c : all_collations()) {
            out.push_back({std::string(c->name), std::string(c->charset), std::to_string(c->id),
                           std::string(charset_default(s.flavour, c->charset) == c ? "Yes" : ""),
                           "Yes", "1"});
        }
    } else if (upper_name == "COLLATION_CHARACTER_SET_APPLICABILITY") {
        for (const auto* c : all_collations()) {
            out.push_back({std::string(c->name), std::string(c->charset)});
        }
    } else if (upper_name == "ENGINES") {
        out = engine_rows(s.flavour);
    } else if (upper_name == "PLUGINS") {
        for (const auto& p : plugin_rows(s.flavour)) {
            CatalogRow row(t.columns.size());
            row[0] = p[0];
            row[1] = "1.0";
            row[2] = p[1];
            row[3] = p[2];
            row[4] = "1.0";
            row[8] = std::nullopt;
            row[9] = p[4];
            row[10] = "FORCE";
            for (std::size_t k = 11; k < row.size(); ++k) {
                row[k] = k == 11 ? "Stable" : "1.0";
            }
            row[7] = "Oracle Corporation";
            out.push_back(std::move(row));
        }
    } else if (upper_name == "PROCESSLIST") {
        CatalogRow row(t.columns.size(), std::string("0"));
        row[0] = std::to_string(s.connection_id);
        row[1] = s.user;
        row[2] = s.client_host;
        row[3] = s.database.empty() ? std::nullopt : std::optional<std::string>(s.database);
        row[4] = "Query";
        row[6] = my(s) ? "executing" : "Filling schema table";
        row[7] = s.current_statement;
        if (!my(s)) {
            row[8] = "0.000";
            row[11] = "0.000";
            row[16] = s.current_statement;
        }
        out.push_back(std::move(row));
    } else if (upper_name == "SESSION_VARIABLES" || upper_name == "GLOBAL_VARIABLES") {
        if (s.variables) {
            for (const auto* var : s.variables->all()) {
                out.push_back({my(s) ? var->name : upper(var->name), var->value.value_or("")});
            }
        }
    } else if (upper_name == "SESSION_STATUS" || upper_name == "GLOBAL_STATUS") {
        for (const auto& [n, val] : status_rows(s)) {
            out.push_back({my(s) ? n : upper(n), val});
        }
    } else if (upper_name == "USER_PRIVILEGES") {
        out.push_back({grantee(s), "def", "USAGE", "NO"});
    } else if (upper_name == "SCHEMA_PRIVILEGES") {
        out.push_back({grantee(s), "def", s.known_database, "SELECT", "NO"});
    } else if (upper_name == "ENABLED_ROLES") {
        if (!my(s)) {
            out.push_back({std::nullopt}); // MariaDB 10.11: one row, NULL
        }
    }
    return out;
}

} // namespace standin::mysql
