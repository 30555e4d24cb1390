#include <algorithm>

#include <standin/sqlserver/batch_executor.h>
#include <standin/sqlserver/procedures.h>
#include <standin/sqlserver/sql_lexer.h>
#include <standin/sqlserver/statement_parser.h>

namespace standin::sqlserver {

namespace {

namespace ds = tds::done_status;

std::string text_of(const tds::TypedValue& v) {
    return tds::format_value(v.value, v.type).value_or("");
}

std::optional<std::int32_t> int_of(const tds::TypedValue& v) {
    if (const auto* n = std::get_if<std::int64_t>(&v.value)) {
        return static_cast<std::int32_t>(*n);
    }
    return std::nullopt;
}

void write_error(ProcedureEnv& env, const SqlError& e) {
    tds::ServerMessage m;
    m.number = e.number;
    m.state = e.state;
    m.severity = e.severity;
    m.text = e.text;
    m.server_name = env.server.server_name;
    m.line = 1;
    env.out.error(m);
    env.session.last_error = static_cast<std::int32_t>(e.number);
}

// Arguments by name or position: the procedure's own parameters.
struct Binder {
    const std::vector<ProcedureArg>& args;
    // named(name, position): the argument called `name`, else the one at `position` if it
    // has no name.
    // SqlClient leaves the names of sp_executesql's own parameters empty, tiberius writes
    // "stmt" without the @: a name that is not one of the parameters' own means position.
    const ProcedureArg* get(std::string_view name, std::size_t position) const {
        auto bare = [](std::string_view n) {
            return n.starts_with('@') ? n.substr(1) : n;
        };
        for (const auto& a : args) {
            if (iequals(bare(a.name), bare(name))) {
                return &a;
            }
        }
        if (position < args.size()) {
            return &args[position];
        }
        return nullptr;
    }
};

// run_statement runs a parameterised statement: binds the declared parameters from `values`
// (by name, else by position), runs the statement as a procedure body and collects output
// parameters. `first_value_ordinal` is where the values start in the call's parameter list.
ProcedureResult run_statement(ProcedureEnv& env, const std::string& statement,
                              const std::string& declarations,
                              const std::vector<ProcedureArg>& args, std::size_t first_value,
                              ProcedureResult r) {
    auto decls = parse_parameter_declarations(declarations);
    if (!decls) {
        write_error(env, SqlError{decls.error().number, decls.error().state, decls.error().severity,
                                  decls.error().text, ErrorScope::Batch});
        r.aborted = true;
        return r;
    }
    Variables vars;
    std::vector<std::pair<std::string, std::uint16_t>> outputs; // variable, ordinal
    for (std::size_t i = 0; i < decls->size(); ++i) {
        const auto& d = (*decls)[i];
        auto type = resolve_type(d.type, false);
        if (!type) {
            write_error(env, type.error());
            r.aborted = true;
            return r;
        }
        const ProcedureArg* arg = nullptr;
        std::size_t ordinal = 0;
        for (std::size_t k = first_value; k < args.size(); ++k) {
            if (iequals(args[k].name, d.name)) {
                arg = &args[k];
                ordinal = k;
            }
        }
        if (arg == nullptr && first_value + i < args.size() && args[first_value + i].name.empty()) {
            arg = &args[first_value + i];
            ordinal = first_value + i;
        }
        if (arg == nullptr) {
            write_error(env,
                        errors::missing_parameter("(" + declarations + ")" + statement, d.name));
            r.aborted = true;
            return r;
        }
        auto v = convert(arg->value, *type);
        if (!v) {
            write_error(env, v.error());
            r.aborted = true;
            return r;
        }
        vars[d.name] = std::move(*v);
        if (d.output && arg->output) {
            outputs.emplace_back(d.name, static_cast<std::uint16_t>(ordinal));
        }
    }
    auto parsed = parse_batch(statement);
    BatchExecutor exec(env.server, env.session, env.out, vars, RunContext::Procedure, env.now_utc);
    if (!parsed) {
        exec.compile_error(parsed.error());
        exec.finish();
        r.aborted = true;
        return r;
    }
    RunOutcome o = exec.run(*parsed);
    exec.finish();
    r.aborted = o.aborted;
    r.note = o.note;
    for (const auto& [name, ordinal] : outputs) {
        r.outputs.push_back(OutputValue{ordinal, name, vars[name]});
    }
    return r;
}

using Procedure = ProcedureResult (*)(const std::vector<ProcedureArg>&, ProcedureEnv&);

// not_supplied: SQL Server's 201 for a call without one of the procedure's required parameters.
ProcedureResult not_supplied(ProcedureEnv& env, const std::string& procedure,
                             const std::string& parameter) {
    write_error(env, SqlError{201, 4, 16,
                              "Procedure or function '" + procedure + "' expects parameter '" +
                                  parameter + "', which was not supplied.",
                              ErrorScope::Batch});
    ProcedureResult r;
    r.aborted = true;
    return r;
}

ProcedureResult sp_executesql(const std::vector<ProcedureArg>& args, ProcedureEnv& env) {
    Binder b{args};
    const ProcedureArg* stmt = b.get("@stmt", 0);
    const ProcedureArg* params = b.get("@params", 1);
    if (stmt == nullptr || tds::is_null(stmt->value.value)) {
        return not_supplied(env, "sp_executesql", "@stmt");
    }
    std::size_t first_value = params != nullptr ? 2 : 1;
    return run_statement(env, text_of(stmt->value), params ? text_of(params->value) : "", args,
                         first_value, ProcedureResult{});
}

std::int32_t prepare(ProcedureEnv& env, const std::string& params, const std::string& stmt) {
    std::int32_t handle = env.session.next_handle++;
    env.session.prepared[handle] = PreparedStatement{params, stmt};
    return handle;
}

ProcedureResult sp_prepare(const std::vector<ProcedureArg>& args, ProcedureEnv& env) {
    Binder b{args};
    const ProcedureArg* params = b.get("@params", 1);
    const ProcedureArg* stmt = b.get("@stmt", 2);
    ProcedureResult r;
    if (stmt == nullptr) {
        return not_supplied(env, "sp_prepare", "@stmt");
    }
    std::int32_t handle = prepare(env, params ? text_of(params->value) : "", text_of(stmt->value));
    r.outputs.push_back(
        OutputValue{0, args.empty() ? "@handle" : args[0].name,
                    tds::TypedValue{tds::int_type(), tds::Value{std::int64_t{handle}}}});
    return r;
}

ProcedureResult sp_prepexec(const std::vector<ProcedureArg>& args, ProcedureEnv& env) {
    Binder b{args};
    const ProcedureArg* params = b.get("@params", 1);
    const ProcedureArg* stmt = b.get("@stmt", 2);
    ProcedureResult r;
    if (stmt == nullptr) {
        return not_supplied(env, "sp_prepexec", "@stmt");
    }
    std::string p = params ? text_of(params->value) : "";
    std::string s = text_of(stmt->value);
    std::int32_t handle = prepare(env, p, s);
    r = run_statement(env, s, p, args, 3, r);
    r.outputs.insert(
        r.outputs.begin(),
        OutputValue{0, args.empty() ? "@handle" : args[0].name,
                    tds::TypedValue{tds::int_type(), tds::Value{std::int64_t{handle}}}});
    return r;
}

ProcedureResult sp_execute(const std::vector<ProcedureArg>& args, ProcedureEnv& env) {
    ProcedureResult r;
    auto handle = args.empty() ? std::nullopt : int_of(args[0].value);
    auto it = handle ? env.session.prepared.find(*handle) : env.session.prepared.end();
    if (it == env.session.prepared.end()) {
        write_error(env, errors::unknown_prepared_handle(handle.value_or(0)));
        r.aborted = true;
        return r;
    }
    PreparedStatement p = it->second;
    return run_statement(env, p.statement, p.parameters, args, 1, r);
}

ProcedureResult sp_unprepare(const std::vector<ProcedureArg>& args, ProcedureEnv& env) {
    ProcedureResult r;
    auto handle = args.empty() ? std::nullopt : int_of(args[0].value);
    if (!handle || env.session.prepared.erase(*handle) == 0) {
        write_error(env, errors::unknown_prepared_handle(handle.value_or(0)));
        r.aborted = true;
    }
    return r;
}

ProcedureResult sp_reset_connection(const std::vector<ProcedureArg>&, ProcedureEnv& env) {
    reset_session(env.session, env.out, false);
    ProcedureResult r;
    r.reset_connection = true;
    return r;
}

} // namespace

void reset_session(SessionState& s, tds::TokenWriter& out, bool keep_transaction) {
    if (!keep_transaction && s.tran_count > 0) {
        rollback_transaction(s, out, "");
    }
    s.options = option_bit::kLoginDefaults;
    s.text_size = 2147483647;
    s.date_first = 7;
    s.date_format = "mdy";
    s.lock_timeout = -1;
    s.row_count_limit = 0;
    s.isolation = "read committed";
    s.fmt_only = s.no_exec = s.parse_only = false;
    s.deadlock_priority = "normal";
    s.language = "us_english";
    s.database = s.login_database;
    s.prepared.clear();
    s.last_error = 0;
    s.last_row_count = 0;
}

// tlslab_bulk_rows: the stand-in's one data source, for pulling a big result set through the
// proxy (scripts/bench): @rows rows of (n INT, payload VARCHAR(@width)), n counting from 1 and
// payload @width 'x' characters. Bounded: @rows 0 to kMaxBulkRows, @width 1 to 8000, and the
// rowset at most kMaxBulkBytes of payload (the response is built in memory). Out of bounds:
// error 50000, as a RAISERROR in a user procedure would give.
constexpr std::int64_t kMaxBulkRows = 10'000'000;
constexpr std::int64_t kMaxBulkBytes = std::int64_t{256} * 1024 * 1024;
constexpr std::int32_t kDefaultBulkRows = 1000;
constexpr std::int32_t kDefaultBulkWidth = 100;

ProcedureResult tlslab_bulk_rows(const std::vector<ProcedureArg>& args, ProcedureEnv& env) {
    Binder b{args};
    const ProcedureArg* rows_arg = b.get("@rows", 0);
    const ProcedureArg* width_arg = b.get("@width", 1);
    auto number = [](const ProcedureArg* a, std::int32_t fallback) -> std::optional<std::int64_t> {
        if (a == nullptr || a->is_default || tds::is_null(a->value.value)) {
            return fallback;
        }
        if (const auto* n = std::get_if<std::int64_t>(&a->value.value)) {
            return *n;
        }
        return std::nullopt;
    };
    auto rows = number(rows_arg, kDefaultBulkRows);
    auto width = number(width_arg, kDefaultBulkWidth);
    ProcedureResult r;
    if (!rows || !width || *rows < 0 || *rows > kMaxBulkRows || *width < 1 || *width > 8000 ||
        *rows * *width > kMaxBulkBytes) {
        write_error(env, SqlError{50000, 1, 16,
                                  "tlslab_bulk_rows: @rows must be a number from 0 to 10000000 "
                                  "and @width from 1 to 8000, with @rows * @width at most "
                                  "268435456 (256 MiB)",
                                  ErrorScope::Batch});
        r.status = -6;
        return r;
    }
    std::vector<tds::Column> columns{
        {"n", tds::int_type()}, {"payload", tds::varchar_type(static_cast<std::uint32_t>(*width))}};
    env.out.col_metadata(columns);
    std::vector<tds::Value> row{tds::Value{std::int64_t{0}},
                                tds::Value{std::string(static_cast<std::size_t>(*width), 'x')}};
    for (std::int64_t i = 1; i <= *rows; ++i) {
        row[0] = tds::Value{i};
        env.out.row(columns, row);
    }
    std::uint16_t status =
        env.session.option(option_bit::kNoCount) ? ds::kMore : ds::kMore | ds::kCount;
    env.out.done(status, tds::cur_cmd::kSelect, static_cast<std::uint64_t>(*rows),
                 tds::token::kDoneInProc);
    env.session.last_row_count = *rows;
    r.note = "tlslab_bulk_rows: " + std::to_string(*rows) + " rows of " + std::to_string(*width) +
             " bytes";
    return r;
}

ProcedureResult call_procedure(const std::string& name, const std::vector<ProcedureArg>& args,
                               ProcedureEnv& env) {
    static const std::pair<std::string_view, Procedure> kProcedures[] = {
        {"sp_executesql", sp_executesql},       {"sp_prepare", sp_prepare},
        {"sp_prepexec", sp_prepexec},           {"sp_execute", sp_execute},
        {"sp_unprepare", sp_unprepare},         {"sp_reset_connection", sp_reset_connection},
        {"tlslab_bulk_rows", tlslab_bulk_rows},
    };
    for (auto [n, proc] : kProcedures) {
        if (iequals(n, name)) {
            return proc(args, env);
        }
    }
    ProcedureResult r;
    r.found = false;
    return r;
}

void write_procedure_end(tds::TokenWriter& out, const ProcedureResult& r, bool last_in_request) {
    if (!r.aborted) {
        out.return_status(r.status);
        for (const auto& o : r.outputs) {
            out.return_value(o.ordinal, o.name, o.value.type, o.value.value);
        }
    }
    std::uint16_t status = r.aborted ? ds::kError : ds::kFinal;
    if (!last_in_request) {
        status |= ds::kMore | ds::kRpcInBatch;
    }
    out.done(status, tds::cur_cmd::kExecute, 0, tds::token::kDoneProc);
}

} // namespace standin::sqlserver
