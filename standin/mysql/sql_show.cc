// SHOW, DESCRIBE and EXPLAIN.

#include <algorithm>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

namespace {

ColumnDefinition from_table(ColumnDefinition d, std::string schema, std::string table,
                            std::string org_name) {
    d.schema = std::move(schema);
    d.table = table;
    d.org_table = std::move(table);
    d.org_name = std::move(org_name);
    return d;
}

ColumnDefinition datetime_column(std::string name) {
    ColumnDefinition d;
    d.name = std::move(name);
    d.type = ColumnType::DateTime;
    d.character_set = 63;
    d.column_length = 19;
    d.flags = column_flag::Binary;
    return d;
}

std::optional<ServerError> check_show_db(const std::string& db, Ctx& c, bool connection_host) {
    auto l = lower(db);
    if (db == c.s.known_database || l == "information_schema" ||
        (c.my() && l == "performance_schema")) {
        return std::nullopt;
    }
    return errors::database_access_denied(c.s.user,
                                          connection_host ? c.s.client_host : c.s.account_host, db);
}

std::string grants_header(const Ctx& c) {
    return "Grants for " + c.s.user + "@" + c.s.account_host;
}

std::vector<std::string> grant_lines(const Ctx& c) {
    std::string who = "`" + c.s.user + "`@`" + c.s.account_host + "`";
    std::string usage = "GRANT USAGE ON *.* TO " + who;
    if (!c.my() && !c.s.password_hash.empty()) {
        usage += " IDENTIFIED BY PASSWORD '" + c.s.password_hash + "'";
    }
    return {usage, "GRANT SELECT ON `" + c.s.known_database + "`.* TO " + who};
}

StatementResult show_columns(const ShowStmt& s, Ctx& c) {
    auto db = table_db(s.table, c.s);
    const CatalogTable* t = db.empty() ? nullptr : find_table(c.s.flavour, db, s.table.name);
    if (t == nullptr) {
        auto l = lower(db);
        if (l == "information_schema") {
            return ServerError{1109, "42S02",
                               "Unknown table '" + s.table.name + "' in information_schema"};
        }
        return show_table_missing(s.table, c);
    }
    ShowTable out;
    out.columns = {text_column(c, "Field", 64),
                   text_column(c, "Type", 64 * 3),
                   text_column(c, "Null", 3),
                   text_column(c, "Key", 3),
                   text_column(c, "Default", 64, false),
                   text_column(c, "Extra", 80)};
    if (s.full) {
        out.columns.insert(out.columns.begin() + 2, text_column(c, "Collation", 32, false));
        out.columns.push_back(text_column(c, "Privileges", 80));
        out.columns.push_back(text_column(c, "Comment", 1024));
    }
    for (const auto& col : t->columns) {
        std::string type;
        switch (col.type) {
        case CatalogType::Varchar:
            type = "varchar(" + std::to_string(col.length) + ")";
            break;
        case CatalogType::BigintUnsigned:
            type = c.my() ? "bigint unsigned" : "bigint(21) unsigned";
            break;
        case CatalogType::Bigint:
            type = c.my() ? "bigint" : "bigint(21)";
            break;
        case CatalogType::Int:
            type = c.my() ? "int" : "int(" + std::to_string(col.length) + ")";
            break;
        case CatalogType::Datetime:
            type = "datetime";
            break;
        case CatalogType::Text:
            type = "longtext";
            break;
        case CatalogType::Decimal:
            type = "decimal(" + std::to_string(col.length) + ",3)";
            break;
        case CatalogType::Double:
            type = "double";
            break;
        }
        CatalogRow row = {std::string(col.name), type, std::string(col.nullable ? "YES" : "NO"), "",
                          std::nullopt,          ""};
        if (s.full) {
            row.insert(row.begin() + 2,
                       col.type == CatalogType::Varchar || col.type == CatalogType::Text
                           ? std::optional<std::string>("utf8mb3_general_ci")
                           : std::nullopt);
            row.push_back("select");
            row.push_back("");
        }
        out.rows.push_back(std::move(row));
    }
    return finish_show(std::move(out), s, c);
}

} // namespace

StatementResult finish_show(ShowTable t, const ShowStmt& s, Ctx& c) {
    Relation rel;
    for (const auto& d : t.columns) {
        rel.cols.push_back({"", d.name});
        rel.defs.push_back(d);
    }
    SelectResult out;
    out.columns = t.columns;
    for (const auto& row : t.rows) {
        std::vector<Val> vals;
        for (std::size_t k = 0; k < t.columns.size(); ++k) {
            vals.push_back(cell(t.columns[k], k < row.size() ? row[k] : std::nullopt));
        }
        if (s.like && (vals.empty() || !like(vals[0].text, *s.like))) {
            continue;
        }
        if (s.where) {
            Ctx wc = c;
            wc.rel = &rel;
            wc.row = &vals;
            wc.clause = c.my() ? "where clause" : "WHERE";
            auto v = eval(*s.where, wc);
            if (!v) {
                return v.error();
            }
            if (!truthy(*v)) {
                continue;
            }
        }
        out.rows.push_back(std::move(vals));
    }
    if (s.where && t.rows.empty()) {
        std::vector<Val> nulls;
        for (const auto& d : t.columns) {
            nulls.push_back(typed_null(cell(d, std::nullopt)));
        }
        Ctx wc = c;
        wc.rel = &rel;
        wc.row = &nulls;
        wc.clause = c.my() ? "where clause" : "WHERE";
        auto v = eval(*s.where, wc);
        if (!v) {
            return v.error();
        }
    }
    for (std::size_t k = 0; k < out.columns.size(); ++k) {
        for (const auto& row : out.rows) {
            if (row[k].is_null()) {
                out.columns[k].flags =
                    static_cast<std::uint16_t>(out.columns[k].flags & ~column_flag::NotNull);
            }
        }
    }
    c.s.found_rows = static_cast<std::int64_t>(out.rows.size());
    return to_result_set(std::move(out));
}

ColumnDefinition long_column(const Ctx& c, std::string name, std::uint32_t length,
                             bool is_unsigned) {
    auto d = number_column(c, std::move(name), length, ColumnType::LongLong);
    if (!is_unsigned) {
        d.flags = static_cast<std::uint16_t>(d.flags & ~column_flag::Unsigned);
    }
    return d;
}

StatementResult show_table_missing(const TableName& t, Ctx& c, const char* privilege) {
    auto db = table_db(t, c.s);
    if (db.empty()) {
        return errors::no_database_selected();
    }
    if (db == c.s.known_database) {
        return errors::no_such_table(db, t.name);
    }
    return errors::table_access_denied(c.s.flavour, privilege, c.s.user, c.s.client_host, db,
                                       t.name);
}

StatementResult show(const ShowStmt& s, Ctx& c) {
    using What = ShowStmt::What;
    ShowTable t;
    switch (s.what) {
    case What::Variables:
    case What::Status: {
        bool status = s.what == What::Status;
        auto name = text_column(c, "Variable_name", 64);
        auto value = text_column(c, "Value", c.my() ? 1024 : 2048, false);
        if (c.my()) {
            std::string table =
                std::string(s.global ? "global_" : "session_") + (status ? "status" : "variables");
            name = from_table(name, "performance_schema", table, "VARIABLE_NAME");
            value = from_table(value, "performance_schema", table, "VARIABLE_VALUE");
        } else {
            std::string table =
                std::string(s.global ? "GLOBAL_" : "SESSION_") + (status ? "STATUS" : "VARIABLES");
            name = from_table(name, "information_schema", table, "VARIABLE_NAME");
            value = from_table(value, "information_schema", table, "VARIABLE_VALUE");
        }
        t.columns = {name, value};
        if (status) {
            for (const auto& [n, v] : status_rows(c.s)) {
                t.rows.push_back({n, v});
            }
        } else {
            for (const auto* var : c.s.variables->all()) {
                auto v = var->value;
                auto key = lower(var->name);
                if (key == "last_insert_id" || key == "identity") {
                    v = std::to_string(c.s.last_insert_id);
                }
                if (key == "warning_count" || key == "error_count") {
                    v = std::to_string(key == "warning_count" ? c.previous_warnings
                                                              : c.previous_errors);
                }
                t.rows.push_back({var->name, v.value_or("")});
            }
        }
        return finish_show(std::move(t), s, c);
    }
    case What::Warnings:
    case What::Errors: {
        t.columns = {text_column(c, "Level", 7), number_column(c, "Code", 4, ColumnType::Long),
                     text_column(c, "Message", 512)};
        t.columns[1].flags =
            static_cast<std::uint16_t>(t.columns[1].flags & ~column_flag::Unsigned);
        std::uint64_t shown = 0;
        for (const auto& d : c.s.diagnostics) {
            if (s.what == What::Errors && d.level != "Error") {
                continue;
            }
            if (s.limit && shown >= *s.limit) {
                break;
            }
            t.rows.push_back({d.level, std::to_string(d.code), d.message});
            ++shown;
        }
        return finish_show(std::move(t), s, c);
    }
    case What::CountWarnings:
    case What::CountErrors: {
        bool errors_only = s.what == What::CountErrors;
        std::size_t n = 0;
        for (const auto& d : c.s.diagnostics) {
            n += (!errors_only || d.level == "Error") ? 1 : 0;
        }
        auto col = long_column(c, errors_only ? "@@session.error_count" : "@@session.warning_count",
                               21, true);
        col.flags =
            static_cast<std::uint16_t>(column_flag::Binary | column_flag::Unsigned | c.num_flag());
        t.columns = {col};
        t.rows.push_back({std::to_string(n)});
        return finish_show(std::move(t), s, c);
    }
    case What::Databases: {
        auto col = text_column(c, s.like ? "Database (" + *s.like + ")" : "Database", 64);
        col =
            from_table(col, "information_schema", "SCHEMATA", c.my() ? "Database" : "SCHEMA_NAME");
        t.columns = {col};
        for (const auto& db : visible_databases(c.s)) {
            t.rows.push_back({db});
        }
        std::sort(t.rows.begin(), t.rows.end());
        return finish_show(std::move(t), s, c);
    }
    case What::Collation: {
        t.columns = {
            text_column(c, "Collation", 64), text_column(c, "Charset", 64),
            number_column(c, "Id", 20),      text_column(c, "Default", 3),
            text_column(c, "Compiled", 3),   number_column(c, "Sortlen", 3, ColumnType::Long)};
        if (c.my()) {
            t.columns.push_back(text_column(c, "Pad_attribute", 9));
        }
        for (const auto* coll : all_collations()) {
            const auto* def = charset_default(c.s.flavour, coll->charset);
            CatalogRow row = {std::string(coll->name),
                              std::string(coll->charset),
                              std::to_string(coll->id),
                              std::string(def == coll ? "Yes" : ""),
                              "Yes",
                              "1"};
            if (c.my()) {
                row.emplace_back(coll->id == 255 ? "NO PAD" : "PAD SPACE");
            }
            t.rows.push_back(std::move(row));
        }
        return finish_show(std::move(t), s, c);
    }
    case What::CharacterSet: {
        t.columns = {text_column(c, "Charset", 64), text_column(c, "Description", 2048),
                     text_column(c, "Default collation", 64),
                     number_column(c, "Maxlen", 3, ColumnType::Long)};
        for (const auto* coll : all_collations()) {
            if (charset_default(c.s.flavour, coll->charset) != coll) {
                continue;
            }
            t.rows.push_back({std::string(coll->charset), charset_description(coll->charset),
                              std::string(coll->name), std::to_string(coll->max_bytes)});
        }
        return finish_show(std::move(t), s, c);
    }
    case What::Engines: {
        t.columns = {text_column(c, "Engine", 64),   text_column(c, "Support", 8),
                     text_column(c, "Comment", 80),  text_column(c, "Transactions", 3, false),
                     text_column(c, "XA", 3, false), text_column(c, "Savepoints", 3, false)};
        t.rows = engine_rows(c.s.flavour);
        return finish_show(std::move(t), s, c);
    }
    case What::Plugins: {
        t.columns = {text_column(c, "Name", 64), text_column(c, "Status", 10),
                     text_column(c, "Type", 80), text_column(c, "Library", 64, false),
                     text_column(c, "License", 80)};
        t.rows = plugin_rows(c.s.flavour);
        return finish_show(std::move(t), s, c);
    }
    case What::Tables:
    case What::TableStatus: {
        auto db = s.table.db.empty() ? c.s.database : s.table.db;
        if (db.empty()) {
            return errors::no_database_selected();
        }
        if (auto e = check_show_db(db, c, false)) {
            return *e;
        }
        std::vector<std::string> names;
        for (const auto* tab : tables_of(c.s.flavour, db)) {
            names.emplace_back(tab->name);
        }
        if (s.what == What::Tables) {
            std::string header = "Tables_in_" + db + (s.like ? " (" + *s.like + ")" : "");
            t.columns = {from_table(text_column(c, header, 64), "information_schema", "TABLE_NAMES",
                                    "TABLE_NAME")};
            if (s.full) {
                t.columns.push_back(from_table(text_column(c, "Table_type", 64),
                                               "information_schema", "TABLE_NAMES", "TABLE_TYPE"));
            }
            for (const auto& n : names) {
                CatalogRow row = {n};
                if (s.full) {
                    row.emplace_back("SYSTEM VIEW");
                }
                t.rows.push_back(std::move(row));
            }
            return finish_show(std::move(t), s, c);
        }
        t.columns = {text_column(c, "Name", 64),
                     text_column(c, "Engine", 64, false),
                     long_column(c, "Version", 21, true),
                     text_column(c, "Row_format", 10, false),
                     long_column(c, "Rows", 21, true),
                     long_column(c, "Avg_row_length", 21, true),
                     long_column(c, "Data_length", 21, true),
                     long_column(c, "Max_data_length", 21, true),
                     long_column(c, "Index_length", 21, true),
                     long_column(c, "Data_free", 21, true),
                     long_column(c, "Auto_increment", 21, true),
                     datetime_column("Create_time"),
                     datetime_column("Update_time"),
                     datetime_column("Check_time"),
                     text_column(c, "Collation", 32, false),
                     long_column(c, "Checksum", 21, true),
                     text_column(c, "Create_options", 2048, false),
                     text_column(c, "Comment", 2048)};
        if (!c.my()) {
            t.columns.push_back(long_column(c, "Max_index_length", 21, true));
            t.columns.push_back(text_column(c, "Temporary", 1, false));
        }
        for (const auto& n : names) {
            // Name, then NULLs, Comment (the 18th column) empty, then NULLs
            CatalogRow row = {n};
            row.resize(17);
            row.emplace_back("");
            row.resize(t.columns.size());
            t.rows.push_back(std::move(row));
        }
        return finish_show(std::move(t), s, c);
    }
    case What::Columns:
        return show_columns(s, c);
    case What::Index:
    case What::CreateTable: {
        auto db = table_db(s.table, c.s);
        if (!db.empty() && find_table(c.s.flavour, db, s.table.name) != nullptr) {
            if (s.what == What::Index) {
                t.columns = {
                    text_column(c, "Table", 64),          long_column(c, "Non_unique", 1),
                    text_column(c, "Key_name", 64),       long_column(c, "Seq_in_index", 2, true),
                    text_column(c, "Column_name", 64),    text_column(c, "Collation", 1, false),
                    long_column(c, "Cardinality", 21),    long_column(c, "Sub_part", 3),
                    text_column(c, "Packed", 10, false),  text_column(c, "Null", 3),
                    text_column(c, "Index_type", 16),     text_column(c, "Comment", 16),
                    text_column(c, "Index_comment", 1024)};
                return finish_show(std::move(t), s, c);
            }
            return ServerError{1044, "42000",
                               "Access denied for user '" + c.s.user + "'@'" + c.s.account_host +
                                   "' to database 'information_schema'"};
        }
        return show_table_missing(s.table, c);
    }
    case What::CreateDatabase: {
        if (auto e = check_show_db(s.name, c, true)) {
            return *e;
        }
        auto cs = c.s.variables->find("character_set_server");
        auto coll = c.s.variables->find("collation_server");
        std::string text = "CREATE DATABASE `" + s.name + "` /*!40100 DEFAULT CHARACTER SET " +
                           (cs && cs->value ? *cs->value : "utf8mb4") + " COLLATE " +
                           (coll && coll->value ? *coll->value : "utf8mb4_general_ci") + " */";
        if (c.my()) {
            text += " /*!80016 DEFAULT ENCRYPTION='N' */";
        }
        t.columns = {text_column(c, "Database", 64), text_column(c, "Create Database", 1024)};
        t.rows.push_back({s.name, text});
        return finish_show(std::move(t), s, c);
    }
    case What::CreateUser:
    case What::Grants: {
        if (!s.name.empty() && s.name != c.s.user) {
            return errors::database_access_denied(c.s.user, c.s.account_host, "mysql");
        }
        if (s.what == What::Grants) {
            t.columns = {text_column(c, grants_header(c), 1024)};
            for (const auto& g : grant_lines(c)) {
                t.rows.push_back({g});
            }
            return finish_show(std::move(t), s, c);
        }
        std::string who = "`" + c.s.user + "`@`" + c.s.account_host + "`";
        std::string text = "CREATE USER " + who;
        if (c.my()) {
            text += " IDENTIFIED WITH 'caching_sha2_password' REQUIRE NONE PASSWORD EXPIRE DEFAULT "
                    "ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT "
                    "PASSWORD REQUIRE CURRENT DEFAULT";
        } else if (!c.s.password_hash.empty()) {
            text += " IDENTIFIED BY PASSWORD '" + c.s.password_hash + "'";
        }
        t.columns = {text_column(c, "CREATE USER for " + c.s.user + "@" + c.s.account_host, 1024)};
        t.rows.push_back({text});
        return finish_show(std::move(t), s, c);
    }
    case What::Processlist: {
        t.columns = {long_column(c, "Id", 21, true),
                     text_column(c, "User", 32),
                     text_column(c, "Host", 64),
                     text_column(c, "db", 64, false),
                     text_column(c, "Command", 16),
                     number_column(c, "Time", 7, ColumnType::Long),
                     text_column(c, "State", 30, false),
                     text_column(c, "Info", s.full ? 65535 : 100, false)};
        t.columns[5].flags =
            static_cast<std::uint16_t>(t.columns[5].flags & ~column_flag::Unsigned);
        CatalogRow row = {
            std::to_string(c.s.connection_id),
            c.s.user,
            c.s.client_host,
            c.s.database.empty() ? std::nullopt : std::optional<std::string>(c.s.database),
            "Query",
            "0",
            std::string(c.my() ? "init" : "starting"),
            s.full || c.s.current_statement.size() <= 100 ? c.s.current_statement
                                                          : c.s.current_statement.substr(0, 100)};
        if (!c.my()) {
            ColumnDefinition progress;
            progress.name = "Progress";
            progress.type = ColumnType::Double;
            progress.character_set = 63;
            progress.column_length = 7;
            progress.decimals = 3;
            progress.flags = static_cast<std::uint16_t>(column_flag::NotNull | column_flag::Binary);
            t.columns.push_back(progress);
            row.emplace_back("0.000");
        }
        t.rows.push_back(std::move(row));
        return finish_show(std::move(t), s, c);
    }
    case What::ProcedureStatus:
    case What::FunctionStatus: {
        t.columns = {text_column(c, "Db", 64),
                     text_column(c, "Name", 64),
                     text_column(c, "Type", 9),
                     text_column(c, "Definer", 384),
                     datetime_column("Modified"),
                     datetime_column("Created"),
                     text_column(c, "Security_type", 7),
                     text_column(c, "Comment", 65535),
                     text_column(c, "character_set_client", 32),
                     text_column(c, "collation_connection", 32),
                     text_column(c, "Database Collation", 32)};
        return finish_show(std::move(t), s, c);
    }
    case What::Triggers: {
        auto db = s.table.db.empty() ? c.s.database : s.table.db;
        if (db.empty()) {
            return errors::no_database_selected();
        }
        if (auto e = check_show_db(db, c, false)) {
            return *e;
        }
        t.columns = {text_column(c, "Trigger", 64),
                     text_column(c, "Event", 6),
                     text_column(c, "Table", 64),
                     text_column(c, "Statement", 65535),
                     text_column(c, "Timing", 6),
                     datetime_column("Created"),
                     text_column(c, "sql_mode", 8192),
                     text_column(c, "Definer", 384),
                     text_column(c, "character_set_client", 32),
                     text_column(c, "collation_connection", 32),
                     text_column(c, "Database Collation", 32)};
        return finish_show(std::move(t), s, c);
    }
    case What::Events: {
        auto db = s.table.db.empty() ? c.s.database : s.table.db;
        if (db.empty()) {
            return errors::no_database_selected();
        }
        return errors::database_access_denied(c.s.user, c.s.account_host, db);
    }
    case What::OpenTables: {
        t.columns = {text_column(c, "Database", 64), text_column(c, "Table", 64),
                     long_column(c, "In_use", 1), long_column(c, "Name_locked", 4)};
        return finish_show(std::move(t), s, c);
    }
    case What::MasterStatus:
    case What::BinaryLogs:
        return errors::privilege_needed(c.my() ? "SUPER, REPLICATION CLIENT"
                                               : "SUPER, BINLOG MONITOR");
    case What::SlaveStatus:
        return errors::privilege_needed(c.my() ? "SUPER, REPLICATION CLIENT"
                                               : "SUPER, SLAVE MONITOR");
    case What::Privileges: {
        t.columns = {text_column(c, "Privilege", 64), text_column(c, "Context", 15),
                     text_column(c, "Comment", 64)};
        t.rows = {{"Select", "Tables", "To retrieve rows from table"},
                  {"Usage", "Server Admin", "No privileges - allow connect only"}};
        return finish_show(std::move(t), s, c);
    }
    }
    return OkResult{};
}

// --- EXPLAIN ---

StatementResult explain(const ExplainStmt& s, Ctx& c) {
    Ctx probe = c;
    probe.describing = true;
    auto r = run_select(*s.select, probe);
    if (!r) {
        return r.error();
    }
    ShowTable t;
    t.columns = {long_column(c, "id", 3),
                 text_column(c, "select_type", 19),
                 text_column(c, "table", 64, false),
                 text_column(c, "type", 10, false),
                 text_column(c, "possible_keys", 4096, false),
                 text_column(c, "key", 64, false),
                 text_column(c, "key_len", 4096, false),
                 text_column(c, "ref", 2048, false),
                 text_column(c, "rows", 10, false),
                 text_column(c, "Extra", 255, false)};
    if (c.my()) {
        t.columns.insert(t.columns.begin() + 3, text_column(c, "partitions", 8192, false));
        t.columns.insert(t.columns.begin() + 10, text_column(c, "filtered", 4, false));
    }
    // id, select_type, then NULLs, Extra last
    CatalogRow row = {"1", "SIMPLE"};
    row.resize(t.columns.size() - 1);
    row.emplace_back("No tables used");
    t.rows.push_back(std::move(row));
    ShowStmt none;
    return finish_show(std::move(t), none, c);
}

} // namespace standin::mysql::execution
