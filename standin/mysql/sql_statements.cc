// The statements besides SELECT and SHOW: SET, USE, transactions, savepoints, XA,
// PREPARE / EXECUTE / DEALLOCATE, KILL, DO, and the privilege errors of the statements the
// lab user may not run; execute() and describe() (sql.h).

#include <algorithm>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

namespace {

StatementResult action(const ActionStmt& a, Ctx& c) {
    using A = ActionStmt::Action;
    auto& s = c.s;
    auto first = [&]() -> TableName {
        return a.tables.empty() ? TableName{} : a.tables[0];
    };
    auto db_of = [&](const TableName& t) {
        return table_db(t, s);
    };
    auto table_denied = [&](const char* privilege) -> StatementResult {
        auto t = first();
        auto db = db_of(t);
        if (db.empty()) {
            return errors::no_database_selected();
        }
        if (lower(db) == "information_schema") { // observed on MariaDB 10.11
            return errors::database_access_denied(s.user, s.account_host, db);
        }
        return errors::table_access_denied(s.flavour, privilege, s.user, s.client_host, db, t.name);
    };
    auto db_denied = [&](const std::string& db) -> StatementResult {
        if (db.empty()) {
            return errors::no_database_selected();
        }
        return errors::database_access_denied(s.user, s.account_host, db);
    };
    switch (a.action) {
    case A::CreateTable:
        return table_denied("CREATE");
    case A::CreateTemporaryTable:
        return db_denied(db_of(first()));
    case A::DropTable:
    case A::TruncateTable:
    case A::DropView:
        return table_denied("DROP");
    case A::AlterTable:
        return table_denied("ALTER");
    case A::RenameTable:
        return table_denied(c.my() ? "ALTER, DROP" : "DROP, ALTER");
    case A::CreateIndex:
    case A::DropIndex:
        return table_denied("INDEX");
    case A::CreateView:
        return table_denied("CREATE VIEW");
    case A::CreateTrigger:
        return table_denied("TRIGGER");
    case A::Insert:
    case A::LoadDataLocal:
        return table_denied("INSERT");
    case A::Update:
        return table_denied("UPDATE");
    case A::Delete:
        return table_denied("DELETE");
    case A::Replace:
        return table_denied(c.my() ? "INSERT, DELETE" : "INSERT, DELETE");
    case A::CreateRoutine:
    case A::CreateEvent:
    case A::LockTables:
        return db_denied(db_of(first()));
    case A::CreateDatabase:
    case A::DropDatabase:
        return db_denied(a.name);
    case A::AlterDatabase:
        return db_denied(a.name.empty() ? s.database : a.name);
    case A::DropProcedure:
    case A::DropFunction:
    case A::AlterRoutine: {
        auto db = db_of(first());
        if (db.empty()) {
            return errors::no_database_selected();
        }
        if (c.my() && a.action != A::AlterRoutine) {
            return errors::no_such_routine(s.flavour,
                                           a.action == A::DropProcedure ? "PROCEDURE" : "FUNCTION",
                                           db, first().name, s.user, s.account_host);
        }
        return ServerError{1370, "42000",
                           "alter routine command denied to user '" + s.user + "'@'" +
                               s.account_host + "' for routine '" + db + "." + first().name + "'"};
    }
    case A::DropTrigger:
        return ServerError{1360, "HY000", "Trigger does not exist"};
    case A::LoadData:
        return errors::access_denied(s.user, s.account_host, true);
    case A::GrantDatabase:
        return db_denied(a.name.empty() ? s.database : a.name);
    case A::GrantGlobal:
        return errors::access_denied(s.user, s.account_host, true);
    case A::GrantTable:
        return table_denied("GRANT");
    case A::AccountAdmin:
        return errors::privilege_needed("CREATE USER");
    case A::SetPasswordSelf:
    case A::SetRole:
        return OkResult{};
    case A::SetPasswordOther:
        if (a.name.empty() || a.name == s.user) {
            return OkResult{};
        }
        return errors::database_access_denied(s.user, s.account_host, "mysql");
    case A::UnlockTables:
        return OkResult{};
    case A::HandlerOpen: {
        auto r = show_table_missing(first(), c);
        return r;
    }
    case A::HandlerOther:
        return ServerError{1109, "42S02", "Unknown table '" + a.name + "' in HANDLER"};
    case A::Call: {
        auto db = db_of(first());
        if (db.empty()) {
            return errors::no_database_selected();
        }
        return errors::no_such_routine(s.flavour, "PROCEDURE", db, first().name, s.user,
                                       s.account_host);
    }
    case A::Flush:
        return errors::privilege_needed("RELOAD");
    case A::AdminTable:
        return table_denied(c.my() ? "SELECT, INSERT" : "INSERT");
    case A::CheckTable:
    case A::ChecksumTable: {
        ShowTable t;
        if (a.action == A::CheckTable) {
            t.columns = {text_column(c, "Table", 64 * 2 + 1), text_column(c, "Op", 10),
                         text_column(c, "Msg_type", 10), text_column(c, "Msg_text", 65535)};
        } else {
            t.columns = {text_column(c, "Table", 64 * 2 + 1), long_column(c, "Checksum", 21)};
        }
        for (const auto& tn : a.tables) {
            auto db = db_of(tn);
            if (db.empty()) {
                return errors::no_database_selected();
            }
            if (db != s.known_database) {
                return errors::table_access_denied(s.flavour, "SELECT", s.user, s.client_host, db,
                                                   tn.name);
            }
            auto full = db + "." + tn.name;
            if (a.action == A::CheckTable) {
                t.rows.push_back({full, "check", "Error", "Table '" + full + "' doesn't exist"});
                t.rows.push_back({full, "check", c.my() ? "error" : "status",
                                  c.my() ? "Corrupt" : "Operation failed"});
            } else {
                t.rows.push_back({full, std::nullopt});
            }
        }
        ShowStmt none;
        return finish_show(std::move(t), none, c);
    }
    case A::Kill: {
        auto v = eval(*a.value, c);
        if (!v) {
            return v.error();
        }
        auto id = to_int(*v);
        if (static_cast<std::uint64_t>(id) == s.connection_id) {
            return ServerError{1317, "70100", "Query execution was interrupted"};
        }
        return ServerError{1094, "HY000", "Unknown thread id: " + std::to_string(id)};
    }
    case A::XaStart:
        if (s.xa_state != 0 || s.in_transaction) {
            return errors::xa_state(s.flavour, s.xa_state);
        }
        s.xa_state = 1;
        return OkResult{};
    case A::XaEnd:
        if (s.xa_state != 1) {
            return errors::xa_state(s.flavour, s.xa_state);
        }
        s.xa_state = 2;
        return OkResult{};
    case A::XaPrepare:
        if (s.xa_state != 2) {
            return errors::xa_state(s.flavour, s.xa_state);
        }
        s.xa_state = 3;
        return OkResult{};
    case A::XaCommit:
    case A::XaRollback:
        if (s.xa_state == 1) {
            return errors::xa_state(s.flavour, s.xa_state);
        }
        if (s.xa_state == 0) {
            return ServerError{1397, "XAE04", "XAER_NOTA: Unknown XID"};
        }
        s.xa_state = 0;
        return OkResult{};
    case A::XaRecover: {
        ShowTable t;
        t.columns = {long_column(c, "formatID", 11), long_column(c, "gtrid_length", 11),
                     long_column(c, "bqual_length", 11), text_column(c, "data", 128)};
        ShowStmt none;
        return finish_show(std::move(t), none, c);
    }
    case A::Savepoint:
        if (s.xa_state == 2 || s.xa_state == 3) {
            return errors::xa_state(s.flavour, s.xa_state);
        }
        std::erase(s.savepoints, lower(a.name));
        s.savepoints.push_back(lower(a.name));
        return OkResult{};
    case A::ReleaseSavepoint:
    case A::RollbackToSavepoint: {
        auto it = std::find(s.savepoints.begin(), s.savepoints.end(), lower(a.name));
        if (it == s.savepoints.end()) {
            return ServerError{1305, "42000", "SAVEPOINT " + a.name + " does not exist"};
        }
        s.savepoints.erase(a.action == A::ReleaseSavepoint ? it : it + 1, s.savepoints.end());
        return OkResult{};
    }
    case A::Prepare:
    case A::Execute:
    case A::Deallocate:
        break; // in execute(): they need the parser
    }
    return OkResult{};
}

StatementResult run(const Statement& st, Ctx& c, int depth);

StatementResult set(const SetStmt& s, Ctx& c, int depth) {
    if (s.for_statement) {
        // SET STATEMENT ... FOR: the settings for the one statement, then the old values back
        auto saved = std::make_unique<Variables>(*c.s.variables);
        SetStmt plain;
        plain.items = s.items;
        auto r = set(plain, c, depth);
        if (!std::holds_alternative<ServerError>(r)) {
            r = run(*s.for_statement, c, depth + 1);
        }
        c.s.variables = std::move(saved);
        return r;
    }
    auto& vars = *c.s.variables;
    for (const auto& a : s.items) {
        std::optional<ServerError> err;
        switch (a.kind) {
        case SetAssignment::Kind::System: {
            if (a.global) {
                if (vars.find(a.name) == nullptr) {
                    return errors::unknown_system_variable(a.name);
                }
                return errors::set_global_denied(c.s.flavour);
            }
            std::optional<std::string> value;
            auto given = Variables::Given::Text;
            if (a.value) {
                auto v = eval(*a.value, c);
                if (!v) {
                    // a bare word (SET sql_mode = ANSI, SET x = utf8mb4) is its own value
                    if (a.value->kind == Expr::Kind::Column && a.value->qualifier.empty()) {
                        value = a.value->text;
                    } else {
                        return v.error();
                    }
                } else {
                    value = text_of(*v);
                    if (v->kind == Val::Kind::Int || v->kind == Val::Kind::UInt) {
                        given = Variables::Given::Integer;
                    } else if (v->numeric()) {
                        given = Variables::Given::OtherNumber;
                    }
                }
            }
            bool was_on = vars.autocommit();
            err = vars.set(a.name, value, a.to_default, given);
            if (!err && lower(a.name) == "autocommit" && vars.autocommit() && !was_on) {
                c.s.in_transaction = false; // SET autocommit=1 commits
            }
            break;
        }
        case SetAssignment::Kind::User: {
            auto v = eval(*a.value, c);
            if (!v) {
                return v.error();
            }
            c.s.user_variables[lower(a.name)] = user_value_of(*v);
            break;
        }
        case SetAssignment::Kind::Names:
            err = a.to_default ? vars.set_names("utf8mb4", std::nullopt)
                               : vars.set_names(a.name, a.collation);
            break;
        case SetAssignment::Kind::CharacterSet:
            err = vars.set_character_set(a.to_default ? "utf8mb4" : a.name);
            break;
        case SetAssignment::Kind::Isolation:
            if (a.global) {
                return errors::set_global_denied(c.s.flavour);
            }
            err = vars.set("transaction_isolation", a.name);
            break;
        case SetAssignment::Kind::AccessMode:
            if (a.global) {
                return errors::set_global_denied(c.s.flavour);
            }
            err = vars.set("transaction_read_only", a.name);
            break;
        }
        if (err) {
            return *err;
        }
    }
    return OkResult{};
}

StatementResult prepared_sql(const ActionStmt& a, Ctx& c, int depth) {
    using A = ActionStmt::Action;
    auto key = lower(a.name);
    if (a.action == A::Prepare) {
        auto v = eval(*a.value, c);
        if (!v) {
            return v.error();
        }
        if (v->is_null()) {
            return errors::syntax_error(c.s.flavour, "NULL", 1);
        }
        std::string text = v->text;
        auto split = split_statements(c.s.flavour, text, c.s.variables->syntax());
        if (auto* e = std::get_if<ServerError>(&split)) {
            return *e;
        }
        auto parts = std::get<std::vector<StatementText>>(split);
        if (parts.empty()) {
            return errors::empty_query();
        }
        if (parts.size() > 1) {
            return errors::syntax_error(c.s.flavour, std::string_view(text).substr(parts[1].begin),
                                        1);
        }
        auto parsed = parse_statement(c.s.flavour, text, parts[0], c.s.variables->syntax());
        if (auto* e = std::get_if<ServerError>(&parsed)) {
            return *e;
        }
        if (c.s.sql_prepared.size() >= 64 && !c.s.sql_prepared.contains(key)) {
            return ServerError{
                1461, "42000",
                "Can't create more than max_prepared_stmt_count statements (current value: 64)"};
        }
        c.s.sql_prepared[key] = std::get<ParsedStatement>(parsed).statement;
        return OkResult{};
    }
    if (a.action == A::Execute) {
        auto it = c.s.sql_prepared.find(key);
        if (it == c.s.sql_prepared.end()) {
            return errors::unknown_statement_name(a.name, "EXECUTE");
        }
        if (depth > 4) {
            return ServerError{1444, "HY000",
                               "The prepared statement contains a stored routine call that refers "
                               "to that same statement. It's not allowed to execute a prepared "
                               "statement in such a recursive manner"};
        }
        auto statement = it->second; // it may be deallocated by itself
        std::vector<BoundParameter> params;
        for (const auto& arg : a.arguments) {
            auto v = eval(arg, c);
            if (!v) {
                return v.error();
            }
            BoundParameter p;
            p.type = v->is_null()   ? ColumnType::Null
                     : v->numeric() ? (v->kind == Val::Kind::Double    ? ColumnType::Double
                                       : v->kind == Val::Kind::Decimal ? ColumnType::NewDecimal
                                                                       : ColumnType::LongLong)
                                    : ColumnType::VarString;
            p.is_unsigned = v->kind == Val::Kind::UInt;
            if (!v->is_null()) {
                p.value = v->text;
            }
            params.push_back(std::move(p));
        }
        Ctx inner{c.s, params, false};
        inner.previous_warnings = c.previous_warnings;
        inner.previous_errors = c.previous_errors;
        return run(*statement, inner, depth + 1);
    }
    if (c.s.sql_prepared.erase(key) == 0) { // DEALLOCATE PREPARE
        return errors::unknown_statement_name(a.name, "DEALLOCATE PREPARE");
    }
    return OkResult{};
}

StatementResult run(const Statement& st, Ctx& c, int depth) {
    auto& session = c.s;
    return std::visit(
        [&](const auto& s) -> StatementResult {
            using T = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<T, SelectStmt>) {
                return select(s, c);
            } else if constexpr (std::is_same_v<T, ExplainStmt>) {
                return explain(s, c);
            } else if constexpr (std::is_same_v<T, SetStmt>) {
                return set(s, c, depth);
            } else if constexpr (std::is_same_v<T, ShowStmt>) {
                return show(s, c);
            } else if constexpr (std::is_same_v<T, UseStmt>) {
                auto l = lower(s.database);
                if (s.database != session.known_database && l != "information_schema" &&
                    !(c.my() && l == "performance_schema")) {
                    return errors::database_access_denied(session.user, session.account_host,
                                                          s.database);
                }
                session.database = l == "information_schema" ? "information_schema" : s.database;
                return OkResult{};
            } else if constexpr (std::is_same_v<T, TxnStmt>) {
                if (session.xa_state != 0) {
                    return errors::xa_state(session.flavour, session.xa_state);
                }
                session.in_transaction = s.what == TxnStmt::What::Begin;
                session.read_only_transaction = s.what == TxnStmt::What::Begin && s.read_only;
                session.savepoints.clear();
                return OkResult{};
            } else if constexpr (std::is_same_v<T, ActionStmt>) {
                if (s.action == ActionStmt::Action::Prepare ||
                    s.action == ActionStmt::Action::Execute ||
                    s.action == ActionStmt::Action::Deallocate) {
                    return prepared_sql(s, c, depth);
                }
                return action(s, c);
            } else {
                for (const auto& e : s.exprs) {
                    auto v = eval(e, c);
                    if (!v) {
                        return v.error();
                    }
                }
                return OkResult{};
            }
        },
        st.body);
}

// uses_tables: the statements after which the servers reset the diagnostics area ("The list
// of messages is reset for each new statement that uses a table", SHOW WARNINGS in the MySQL
// manual; a MariaDB 10.11 server kept an error's count over table-less SELECTs).
bool uses_tables(const Statement& st) {
    if (const auto* sel = std::get_if<SelectStmt>(&st.body)) {
        return core_uses_tables(*sel->select);
    }
    if (const auto* ex = std::get_if<ExplainStmt>(&st.body)) {
        return core_uses_tables(*ex->select);
    }
    if (const auto* a = std::get_if<ActionStmt>(&st.body)) {
        return !a->tables.empty();
    }
    return std::holds_alternative<ShowStmt>(st.body);
}

bool keeps_diagnostics(const Statement& st) {
    if (const auto* sh = std::get_if<ShowStmt>(&st.body)) {
        using W = ShowStmt::What;
        return sh->what == W::Warnings || sh->what == W::Errors || sh->what == W::CountWarnings ||
               sh->what == W::CountErrors;
    }
    return false;
}

} // namespace

} // namespace standin::mysql::execution

namespace standin::mysql {

using namespace execution;

StatementResult execute(const Statement& st, SessionState& session,
                        std::span<const BoundParameter> params) {
    Ctx c{session, params};
    for (const auto& d : session.diagnostics) {
        c.previous_warnings += 1;
        c.previous_errors += d.level == "Error" ? 1 : 0;
    }
    session.current_statement = st.text;
    session.statement_warnings = 0;
    if (keeps_diagnostics(st)) {
        return run(st, c, 0);
    }
    auto previous = std::move(session.diagnostics);
    session.diagnostics.clear();
    auto result = run(st, c, 0);
    session.statement_warnings = session.diagnostics.size();
    if (const auto* e = std::get_if<ServerError>(&result)) {
        session.diagnostics.clear();
        session.diagnostics.push_back({"Error", e->code, e->message});
    } else if (session.diagnostics.empty() && !uses_tables(st)) {
        session.diagnostics = std::move(previous); // a statement without tables keeps them
    }
    if (std::holds_alternative<OkResult>(result)) {
        session.row_count = 0;
    }
    return result;
}

std::variant<std::vector<ColumnDefinition>, ServerError> describe(const Statement& st,
                                                                  SessionState& session) {
    Ctx c{session, {}, true};
    if (const auto* sel = std::get_if<SelectStmt>(&st.body)) {
        auto r = run_select(*sel->select, c);
        if (!r) {
            return r.error();
        }
        return r->columns;
    }
    if (std::holds_alternative<ShowStmt>(st.body) || std::holds_alternative<ExplainStmt>(st.body)) {
        auto diagnostics = session.diagnostics;
        auto r = run(st, c, 0);
        session.diagnostics = std::move(diagnostics);
        if (auto* rs = std::get_if<ResultSet>(&r)) {
            return rs->columns;
        }
        if (auto* e = std::get_if<ServerError>(&r)) {
            return *e;
        }
        return std::vector<ColumnDefinition>{};
    }
    if (const auto* a = std::get_if<ActionStmt>(&st.body)) {
        using A = ActionStmt::Action;
        static constexpr A kStateful[] = {A::Savepoint,
                                          A::ReleaseSavepoint,
                                          A::RollbackToSavepoint,
                                          A::XaStart,
                                          A::XaEnd,
                                          A::XaPrepare,
                                          A::XaCommit,
                                          A::XaRollback,
                                          A::XaRecover,
                                          A::Prepare,
                                          A::Execute,
                                          A::Deallocate,
                                          A::Kill,
                                          A::UnlockTables,
                                          A::SetPasswordSelf,
                                          A::SetPasswordOther,
                                          A::SetRole,
                                          A::CheckTable,
                                          A::ChecksumTable};
        if (std::find(std::begin(kStateful), std::end(kStateful), a->action) !=
            std::end(kStateful)) {
            return std::vector<ColumnDefinition>{};
        }
        auto r = action(*a, c);
        if (auto* e = std::get_if<ServerError>(&r)) {
            return *e;
        }
    }
    return std::vector<ColumnDefinition>{};
}

} // namespace standin::mysql
