#include <algorithm>

#include <standin/sqlserver/batch_executor.h>
#include <standin/sqlserver/procedures.h>
#include <standin/sqlserver/sql_lexer.h>

namespace standin::sqlserver {

namespace {

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };

namespace cc = tds::cur_cmd;
namespace ds = tds::done_status;

constexpr std::uint32_t kChangedDatabase = 5701;
constexpr std::uint32_t kChangedLanguage = 5703;
constexpr std::uint32_t kDbccCompleted = 2528;
constexpr std::uint32_t kUserMessage = 50000;

bool has_transaction_envchange(tds::Level l) {
    return tds::is_72_plus(l);
}

// The @@OPTIONS bit of an ON/OFF SET option, or 0 for options without one.
std::uint32_t option_bit_of(const std::string& name) {
    static const std::pair<std::string_view, std::uint32_t> kBits[] = {
        {"implicit_transactions", option_bit::kImplicitTransactions},
        {"cursor_close_on_commit", option_bit::kCursorCloseOnCommit},
        {"ansi_warnings", option_bit::kAnsiWarnings},
        {"ansi_padding", option_bit::kAnsiPadding},
        {"ansi_nulls", option_bit::kAnsiNulls},
        {"arithabort", option_bit::kArithAbort},
        {"arithignore", option_bit::kArithIgnore},
        {"quoted_identifier", option_bit::kQuotedIdentifier},
        {"nocount", option_bit::kNoCount},
        {"ansi_null_dflt_on", option_bit::kAnsiNullDfltOn},
        {"ansi_null_dflt_off", option_bit::kAnsiNullDfltOff},
        {"concat_null_yields_null", option_bit::kConcatNullYieldsNull},
        {"numeric_roundabort", option_bit::kNumericRoundAbort},
        {"xact_abort", option_bit::kXactAbort},
    };
    for (auto [n, bit] : kBits) {
        if (n == name) {
            return bit;
        }
    }
    return 0;
}

// official_language: the sys.syslanguages name for a name or alias SET LANGUAGE accepts
// (SQL Server reports the official name: SET LANGUAGE Italian says "Italiano").
std::optional<std::string> official_language(std::string requested) {
    if (!requested.empty() &&
        (requested.front() == '\'' || requested.front() == '[' || requested.front() == '"')) {
        requested = requested.substr(1, requested.size() - 2);
    }
    static const std::pair<std::string_view, std::string_view> kLanguages[] = {
        {"us_english", "English"},
        {"Deutsch", "German"},
        {"Français", "French"},
        {"日本語", "Japanese"},
        {"Dansk", "Danish"},
        {"Español", "Spanish"},
        {"Italiano", "Italian"},
        {"Nederlands", "Dutch"},
        {"Norsk", "Norwegian"},
        {"Português", "Portuguese"},
        {"Suomi", "Finnish"},
        {"Svenska", "Swedish"},
        {"čeština", "Czech"},
        {"magyar", "Hungarian"},
        {"polski", "Polish"},
        {"română", "Romanian"},
        {"hrvatski", "Croatian"},
        {"slovenčina", "Slovak"},
        {"slovenski", "Slovenian"},
        {"ελληνικά", "Greek"},
        {"български", "Bulgarian"},
        {"русский", "Russian"},
        {"Türkçe", "Turkish"},
        {"British", "British English"},
        {"eesti", "Estonian"},
        {"latviešu", "Latvian"},
        {"lietuvių", "Lithuanian"},
        {"Português (Brasil)", "Brazilian"},
        {"繁體中文", "Traditional Chinese"},
        {"한국어", "Korean"},
        {"简体中文", "Simplified Chinese"},
        {"Arabic", "Arabic"},
        {"ไทย", "Thai"},
        {"norsk (bokmål)", "Bokmål"},
    };
    for (auto [name, alias] : kLanguages) {
        if (iequals(requested, name) || iequals(requested, alias)) {
            return std::string(name);
        }
    }
    return std::nullopt;
}

} // namespace

// --- transactions ---------------------------------------------------------------------------

std::optional<SqlError> begin_transaction(SessionState& s, tds::TokenWriter& out,
                                          const std::string& name) {
    if (s.tran_count == 0) {
        s.transaction = s.next_transaction++;
        s.transaction_name = lower_ascii(name);
        s.savepoints.clear();
        if (has_transaction_envchange(s.level)) {
            out.env_transaction(tds::env_type::kBeginTransaction, s.transaction, std::nullopt);
        }
    }
    ++s.tran_count;
    return std::nullopt;
}

std::optional<SqlError> commit_transaction(SessionState& s, tds::TokenWriter& out) {
    if (s.tran_count == 0) {
        return errors::no_begin_for_commit();
    }
    if (--s.tran_count == 0) {
        if (has_transaction_envchange(s.level)) {
            out.env_transaction(tds::env_type::kCommitTransaction, std::nullopt, s.transaction);
        }
        s.transaction = 0;
        s.transaction_name.clear();
        s.savepoints.clear();
    }
    return std::nullopt;
}

std::optional<SqlError> rollback_transaction(SessionState& s, tds::TokenWriter& out,
                                             const std::string& name) {
    if (s.tran_count == 0) {
        return errors::no_begin_for_rollback();
    }
    const std::string n = lower_ascii(name);
    if (!n.empty() && n != s.transaction_name) {
        auto it = std::find(s.savepoints.rbegin(), s.savepoints.rend(), n);
        if (it == s.savepoints.rend()) {
            return errors::unknown_savepoint(name);
        }
        // back to the savepoint: the transaction stays open, later savepoints go
        s.savepoints.erase(it.base(), s.savepoints.end());
        return std::nullopt;
    }
    if (has_transaction_envchange(s.level)) {
        out.env_transaction(tds::env_type::kRollbackTransaction, std::nullopt, s.transaction);
    }
    s.tran_count = 0;
    s.transaction = 0;
    s.transaction_name.clear();
    s.savepoints.clear();
    return std::nullopt;
}

std::optional<SqlError> save_transaction(SessionState& s, const std::string& name) {
    if (s.tran_count == 0) {
        return errors::save_outside_transaction();
    }
    s.savepoints.push_back(lower_ascii(name));
    return std::nullopt;
}

// --- the executor ---------------------------------------------------------------------------

BatchExecutor::BatchExecutor(const ServerIdentity& server, SessionState& session,
                             tds::TokenWriter& out, Variables& variables, RunContext context,
                             tds::DateTime now_utc)
    : server_(server), session_(session), out_(out), variables_(variables), context_(context),
      now_utc_(now_utc) {}

EvalContext BatchExecutor::context() const {
    return EvalContext{server_, session_, variables_, now_utc_};
}

std::uint8_t BatchExecutor::done_token() const {
    return context_ == RunContext::Batch ? tds::token::kDone : tds::token::kDoneInProc;
}

void BatchExecutor::flush_pending(bool more) {
    if (!pending_) {
        return;
    }
    std::uint16_t status = pending_->status;
    if (more || context_ == RunContext::Procedure) {
        status |= ds::kMore;
    }
    out_.done(status, pending_->cur_cmd, pending_->rows, done_token());
    pending_.reset();
    wrote_done_ = true;
}

void BatchExecutor::done(std::uint16_t status, std::uint16_t cur_cmd, std::uint64_t rows) {
    flush_pending(true);
    pending_ = PendingDone{status, cur_cmd, rows};
}

void BatchExecutor::finish() {
    if (pending_) {
        flush_pending(false);
        return;
    }
    if (!wrote_done_ && context_ == RunContext::Batch) {
        out_.done(ds::kFinal);
    }
}

void BatchExecutor::info(std::uint32_t number, std::uint8_t state, const std::string& text,
                         std::uint32_t line) {
    tds::ServerMessage m;
    m.number = number;
    m.state = state;
    m.severity = 0; // SQL Server reports informational messages with class 0 (appendix A, 53)
    m.text = text;
    m.server_name = server_.server_name;
    m.line = line;
    out_.info(m);
}

void BatchExecutor::error(const SqlError& e, std::uint32_t line, std::uint16_t cur_cmd) {
    flush_pending(true);
    tds::ServerMessage m;
    m.number = e.number;
    m.state = e.state;
    m.severity = e.severity;
    m.text = e.text;
    m.server_name = server_.server_name;
    m.line = line;
    out_.error(m);
    session_.last_error = static_cast<std::int32_t>(e.number);
    ++errors_;
    outcome_.error = e.number;
    if (outcome_.note.empty()) {
        outcome_.note = "answered error " + std::to_string(e.number) + ": " + e.text;
    }
    done(ds::kError, cur_cmd, 0);
}

void BatchExecutor::compile_error(const ParseError& e) {
    SqlError err{e.number, e.state, e.severity, e.text, ErrorScope::Batch};
    error(err, e.line, cc::kNone);
    if (e.follow_up_102) {
        pending_.reset();
        SqlError follow{102, 1, 15, *e.follow_up_102, ErrorScope::Batch};
        error(follow, e.line, cc::kNone);
    }
    outcome_.aborted = true;
}

BatchExecutor::Flow BatchExecutor::fail(const SqlError& e, std::uint32_t line,
                                        std::uint16_t cur_cmd) {
    error(e, line, cur_cmd);
    if (e.scope == ErrorScope::Batch) {
        outcome_.aborted = true;
        return Flow::Abort;
    }
    return Flow::Next;
}

namespace {

// The compile-time check SQL Server makes before running a batch: every variable a statement
// uses must be declared earlier in the batch (137 otherwise, and nothing runs).
struct VariableCheck {
    std::vector<std::string> declared;
    std::optional<std::pair<std::string, std::uint32_t>> missing;

    bool known(const std::string& name) const {
        return std::find(declared.begin(), declared.end(), name) != declared.end();
    }
    void use(const std::string& name, std::uint32_t line) {
        if (!missing && !known(name)) {
            missing = std::make_pair(name, line);
        }
    }
    void expr(const ExprPtr& e, std::uint32_t line) {
        if (!e) {
            return;
        }
        std::visit(Overloaded{
                       [&](const VariableRef& v) { use(v.name, line); },
                       [&](const FunctionCall& f) {
                           for (const auto& a : f.args) {
                               expr(a, line);
                           }
                       },
                       [&](const Cast& c) { expr(c.expr, line); },
                       [&](const Unary& u) { expr(u.operand, line); },
                       [&](const Binary& b) {
                           expr(b.lhs, line);
                           expr(b.rhs, line);
                       },
                       [&](const Not& n) { expr(n.operand, line); },
                       [&](const IsNull& n) { expr(n.operand, line); },
                       [&](const Literal&) {},
                       [&](const SystemVariableRef&) {},
                       [&](const Niladic&) {},
                       [&](const ColumnRef&) {},
                       [&](const ObjectAccess&) {},
                   },
                   e->node);
    }
    void name(const std::string& n, std::uint32_t line) {
        if (!n.empty() && n.front() == '@') {
            use(lower_ascii(n), line);
        }
    }
    void statement(const Statement& s) {
        const std::uint32_t line = s.line;
        std::visit(Overloaded{
                       [&](const SelectStmt& n) {
                           for (const auto& i : n.items) {
                               expr(i.expr, line);
                               if (i.assign_to) {
                                   use(*i.assign_to, line);
                               }
                           }
                           if (n.where) {
                               expr(*n.where, line);
                           }
                       },
                       [&](const SetVariable& n) {
                           use(n.variable, line);
                           expr(n.expr, line);
                       },
                       [&](const Declare& n) {
                           for (const auto& v : n.variables) {
                               if (v.init) {
                                   expr(*v.init, line);
                               }
                               declared.push_back(v.name);
                           }
                       },
                       [&](const Block& n) {
                           for (const auto& b : n.body) {
                               statement(*b);
                           }
                       },
                       [&](const If& n) {
                           expr(n.condition, line);
                           statement(*n.then_branch);
                           if (n.else_branch) {
                               statement(*n.else_branch);
                           }
                       },
                       [&](const Print& n) { expr(n.message, line); },
                       [&](const Exec& n) {
                           for (const auto& a : n.args) {
                               if (a.value) {
                                   expr(*a.value, line);
                               }
                           }
                           if (n.return_variable) {
                               use(*n.return_variable, line);
                           }
                       },
                       [&](const ExecString& n) { expr(n.text, line); },
                       [&](const Raiserror& n) {
                           expr(n.message, line);
                           expr(n.severity, line);
                           expr(n.state, line);
                       },
                       [&](const BeginTran& n) { name(n.name, line); },
                       [&](const RollbackTran& n) { name(n.name, line); },
                       [&](const SaveTran& n) { name(n.name, line); },
                       [&](const SetOption&) {},
                       [&](const SetIsolation&) {},
                       [&](const Use&) {},
                       [&](const CommitTran&) {},
                       [&](const Return&) {},
                       [&](const Dbcc&) {},
                       [&](const DataAccess&) {},
                       [&](const NotPermitted&) {},
                       [&](const Drop&) {},
                   },
                   s.node);
    }
};

bool is_control(const Statement& s) {
    return std::holds_alternative<If>(s.node) || std::holds_alternative<Block>(s.node) ||
           std::holds_alternative<Declare>(s.node);
}

} // namespace

RunOutcome BatchExecutor::run(const std::vector<StatementPtr>& statements) {
    VariableCheck check;
    for (const auto& [name, value] : variables_) {
        check.declared.push_back(name); // procedure parameters
    }
    for (const auto& s : statements) {
        check.statement(*s);
    }
    if (check.missing) {
        error(errors::undeclared_variable(check.missing->first), check.missing->second, cc::kNone);
        outcome_.aborted = true;
        return outcome_;
    }
    for (const auto& s : statements) {

        Flow f = execute(*s);
        if (f != Flow::Next) {
            break;
        }
    }
    return outcome_;
}

BatchExecutor::Flow BatchExecutor::execute(const Statement& s) {
    // @@ERROR and @@ROWCOUNT describe the statement before: a statement that raises nothing
    // sets @@ERROR to 0, one that counts no rows sets @@ROWCOUNT to 0 (their reference pages).
    const std::size_t errors_before = errors_;
    row_count_set_ = false;
    Flow f = run_statement(s);
    if (!is_control(s)) {
        if (errors_ == errors_before) {
            session_.last_error = 0;
        }
        if (!row_count_set_) {
            session_.last_row_count = 0;
        }
    }
    return f;
}

BatchExecutor::Flow BatchExecutor::run_statement(const Statement& s) {
    flush_pending(true);
    const std::uint32_t line = s.line;
    if (session_.no_exec || session_.parse_only) {
        // Compiled, not run: only SET NOEXEC/PARSEONLY OFF take effect.
        if (const auto* opt = std::get_if<SetOption>(&s.node)) {
            return set_option(*opt, line);
        }
        return Flow::Next;
    }
    return std::visit(
        Overloaded{
            [&](const SelectStmt& n) { return select(n, line); },
            [&](const SetOption& n) { return set_option(n, line); },
            [&](const SetVariable& n) -> Flow {
                auto it = variables_.find(n.variable);
                if (it == variables_.end()) {
                    return fail(errors::undeclared_variable(n.variable), line, cc::kSet);
                }
                auto v = evaluate(*n.expr, context());
                if (!v) {
                    return fail(v.error(), line, cc::kSet);
                }
                tds::TypedValue value = *v;
                if (n.op != "=") {
                    auto r = evaluate(
                        Expr{Binary{std::string(1, n.op[0]),
                                    std::make_shared<const Expr>(Expr{Literal{it->second}}),
                                    std::make_shared<const Expr>(Expr{Literal{*v}})}},
                        context());
                    if (!r) {
                        return fail(r.error(), line, cc::kSet);
                    }
                    value = *r;
                }
                auto c = convert(value, it->second.type);
                if (!c) {
                    return fail(c.error(), line, cc::kSet);
                }
                it->second = std::move(*c);
                session_.last_row_count = 1;
                row_count_set_ = true;
                done(ds::kFinal, cc::kSet, 0);
                return Flow::Next;
            },
            [&](const SetIsolation& n) -> Flow {
                session_.isolation = n.level;
                done(ds::kFinal, cc::kSet, 0);
                return Flow::Next;
            },
            [&](const Use& n) { return use(n, line); },
            [&](const BeginTran& n) { return begin_tran(n, line); },
            [&](const CommitTran& n) { return commit(n, line); },
            [&](const RollbackTran& n) { return rollback(n, line); },
            [&](const SaveTran& n) { return save(n, line); },
            [&](const Block& n) -> Flow {
                for (const auto& inner : n.body) {
                    Flow f = execute(*inner);
                    if (f != Flow::Next) {
                        return f;
                    }
                }
                return Flow::Next;
            },
            [&](const If& n) -> Flow {
                auto c = evaluate_condition(*n.condition, context());
                if (!c) {
                    return fail(c.error(), line, cc::kNone);
                }
                if (*c) {
                    return execute(*n.then_branch);
                }
                if (n.else_branch) {
                    return execute(*n.else_branch);
                }
                return Flow::Next;
            },
            [&](const Declare& n) -> Flow {
                for (const auto& d : n.variables) {
                    if (variables_.contains(d.name)) {
                        return fail(SqlError{134, 1, 15,
                                             "The variable name '" + d.name +
                                                 "' has already been declared. Variable names "
                                                 "must be unique within a query batch or stored "
                                                 "procedure.",
                                             ErrorScope::Batch},
                                    line, cc::kNone);
                    }
                    auto t = resolve_type(d.type, false);
                    if (!t) {
                        return fail(t.error(), line, cc::kNone);
                    }
                    tds::TypedValue v{*t, tds::Value{}};
                    if (d.init) {
                        auto init = evaluate(**d.init, context());
                        if (!init) {
                            return fail(init.error(), line, cc::kNone);
                        }
                        auto c = convert(*init, *t);
                        if (!c) {
                            return fail(c.error(), line, cc::kNone);
                        }
                        v = std::move(*c);
                    }
                    variables_[d.name] = std::move(v);
                }
                return Flow::Next; // declarations get no DONE (MS-TDS 2.2.7.6)
            },
            [&](const Print& n) -> Flow {
                auto v = evaluate(*n.message, context());
                if (!v) {
                    return fail(v.error(), line, cc::kPrint);
                }
                info(0, 1, tds::format_value(v->value, v->type).value_or(""), line);
                done(ds::kFinal, cc::kPrint, 0);
                return Flow::Next;
            },
            [&](const Exec& n) { return exec(n, line); },
            [&](const ExecString& n) -> Flow {
                auto text = evaluate(*n.text, context());
                if (!text) {
                    return fail(text.error(), line, cc::kExecute);
                }
                auto parsed = parse_batch(tds::format_value(text->value, text->type).value_or(""));
                Variables inner_vars;
                BatchExecutor inner(server_, session_, out_, inner_vars, RunContext::Procedure,
                                    now_utc_);
                if (!parsed) {
                    inner.compile_error(parsed.error());
                    inner.finish();
                    return Flow::Next;
                }
                auto r = inner.run(*parsed);
                inner.finish();
                if (r.error) {
                    outcome_.error = r.error;
                }
                done(ds::kFinal, cc::kExecute, 0);
                return Flow::Next;
            },
            [&](const Raiserror& n) -> Flow {
                auto msg = evaluate(*n.message, context());
                auto sev = msg ? evaluate(*n.severity, context()) : msg;
                auto st = sev ? evaluate(*n.state, context()) : sev;
                if (!st) {
                    return fail(st.error(), line, cc::kNone);
                }
                auto text = tds::format_value(msg->value, msg->type).value_or("");
                auto severity = static_cast<std::uint8_t>(std::clamp<std::int64_t>(
                    std::get_if<std::int64_t>(&sev->value) ? *std::get_if<std::int64_t>(&sev->value)
                                                           : 16,
                    0, 18));
                auto state = static_cast<std::uint8_t>(std::clamp<std::int64_t>(
                    std::get_if<std::int64_t>(&st->value) ? *std::get_if<std::int64_t>(&st->value)
                                                          : 1,
                    0, 255));
                if (severity <= 10) {
                    info(kUserMessage, state, text, line);
                    done(ds::kFinal, cc::kNone, 0);
                    return Flow::Next;
                }
                return fail(SqlError{kUserMessage, state, severity, text, ErrorScope::Statement},
                            line, cc::kNone);
            },
            [&](const Return&) -> Flow { return Flow::Return; },
            [&](const Dbcc&) -> Flow {
                info(kDbccCompleted, 1,
                     "DBCC execution completed. If DBCC printed error messages, contact your "
                     "system administrator.",
                     line);
                done(ds::kFinal, cc::kNone, 0);
                return Flow::Next;
            },
            [&](const DataAccess& n) -> Flow {
                outcome_.note = "the stand-in holds no data: " + n.verb + " on '" + n.object +
                                "' answered with error 208";
                return fail(errors::invalid_object(n.object), line,
                            n.verb == "insert"   ? cc::kInsert
                            : n.verb == "update" ? cc::kUpdate
                            : n.verb == "delete" ? cc::kDelete
                                                 : cc::kSelect);
            },
            [&](const Drop& n) -> Flow {
                if (n.if_exists) {
                    done(ds::kFinal, cc::kNone, 0);
                    return Flow::Next;
                }
                outcome_.note = "the stand-in holds no data: DROP " + n.kind + " '" + n.object +
                                "' answered with error 3701";
                return fail(SqlError{3701, 5, 11,
                                     "Cannot drop the " + n.kind + " '" + n.object +
                                         "', because it does not exist or you do not have "
                                         "permission.",
                                     ErrorScope::Statement},
                            line, cc::kNone);
            },
            [&](const NotPermitted& n) -> Flow {
                outcome_.note = "the stand-in holds no data: " + n.what +
                                " answered with error 262 (permission denied)";
                return fail(errors::permission_denied(n.what, session_.database), line, cc::kNone);
            },
        },
        s.node);
}

BatchExecutor::Flow BatchExecutor::select(const SelectStmt& s, std::uint32_t line) {
    if (s.from) {
        outcome_.note =
            "the stand-in holds no data: SELECT from '" + *s.from + "' answered with error 208";
        return fail(errors::invalid_object(*s.from), line, cc::kSelect);
    }
    std::vector<tds::Column> columns;
    std::vector<tds::Value> row;
    std::size_t assignments = 0;
    for (const auto& item : s.items) {
        auto v = evaluate(*item.expr, context());
        if (!v) {
            return fail(v.error(), line, cc::kSelect);
        }
        if (item.assign_to) {
            ++assignments;
            auto it = variables_.find(*item.assign_to);
            if (it == variables_.end()) {
                return fail(errors::undeclared_variable(*item.assign_to), line, cc::kSelect);
            }
            auto c = convert(*v, it->second.type);
            if (!c) {
                return fail(c.error(), line, cc::kSelect);
            }
            it->second = std::move(*c);
            continue;
        }
        columns.push_back(tds::Column{item.alias, v->type});
        row.push_back(std::move(v->value));
    }
    if (assignments > 0 && !columns.empty()) {
        return fail(SqlError{141, 1, 15,
                             "A SELECT statement that assigns a value to a variable must not be "
                             "combined with data-retrieval operations.",
                             ErrorScope::Batch},
                    line, cc::kSelect);
    }
    bool has_row = true;
    if (s.where) {
        auto c = evaluate_condition(**s.where, context());
        if (!c) {
            return fail(c.error(), line, cc::kSelect);
        }
        has_row = *c;
    }
    std::uint16_t status = session_.option(option_bit::kNoCount) ? ds::kFinal : ds::kCount;
    if (assignments > 0) {
        session_.last_row_count = 1;
        row_count_set_ = true;
        done(status, cc::kSelect, 1);
        return Flow::Next;
    }
    out_.col_metadata(columns);
    std::uint64_t rows = 0;
    if (has_row && !session_.fmt_only) {
        out_.row(columns, row);
        rows = 1;
    }
    session_.last_row_count = static_cast<std::int64_t>(rows);
    row_count_set_ = true;
    done(status, cc::kSelect, rows);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::set_option(const SetOption& s, std::uint32_t line) {
    const bool on = s.value == "on";
    const bool off = s.value == "off";
    for (const auto& name : s.options) {
        if (std::uint32_t bit = option_bit_of(name); bit != 0) {
            if (!on && !off) {
                return fail(SqlError{102, 1, 15, "Incorrect syntax near '" + s.value + "'.",
                                     ErrorScope::Batch},
                            line, cc::kSet);
            }
            session_.options = on ? (session_.options | bit) : (session_.options & ~bit);
            if (bit == option_bit::kAnsiNullDfltOn && on) {
                session_.options &= ~option_bit::kAnsiNullDfltOff;
            }
            if (bit == option_bit::kAnsiNullDfltOff && on) {
                session_.options &= ~option_bit::kAnsiNullDfltOn;
            }
            continue;
        }
        auto number = [&]() -> std::int64_t {
            try {
                return std::stoll(s.value);
            } catch (...) {
                return 0;
            }
        };
        if (name == "ansi_defaults") {
            constexpr std::uint32_t kAnsiDefaults =
                option_bit::kAnsiNulls | option_bit::kAnsiNullDfltOn | option_bit::kAnsiPadding |
                option_bit::kAnsiWarnings | option_bit::kCursorCloseOnCommit |
                option_bit::kImplicitTransactions | option_bit::kQuotedIdentifier;
            session_.options =
                on ? (session_.options | kAnsiDefaults) : (session_.options & ~kAnsiDefaults);
        } else if (name == "textsize") {
            std::int64_t n = number();
            session_.text_size =
                n <= 0 ? 4096 : static_cast<std::int32_t>(std::min<std::int64_t>(n, 2147483647));
        } else if (name == "datefirst") {
            session_.date_first =
                static_cast<std::int32_t>(std::clamp<std::int64_t>(number(), 1, 7));
        } else if (name == "dateformat") {
            session_.date_format = s.value;
        } else if (name == "lock_timeout") {
            session_.lock_timeout = static_cast<std::int32_t>(number());
        } else if (name == "rowcount") {
            session_.row_count_limit = number();
        } else if (name == "deadlock_priority") {
            session_.deadlock_priority = s.value;
        } else if (name == "fmtonly") {
            session_.fmt_only = on;
        } else if (name == "noexec") {
            session_.no_exec = on;
        } else if (name == "parseonly") {
            session_.parse_only = on;
        } else if (name == "language") {
            auto known = official_language(s.value);
            if (!known) {
                return fail(SqlError{2741, 1, 16,
                                     "SET LANGUAGE failed because '" + s.value +
                                         "' is not an official language name or a language "
                                         "alias on this SQL Server.",
                                     ErrorScope::Statement},
                            line, cc::kSet);
            }
            std::string lang = *known;
            if (lang != session_.language) {
                std::string old = session_.language;
                session_.language = lang;
                out_.env_change(tds::env_type::kLanguage, lang, old);
                info(kChangedLanguage, 1, "Changed language setting to " + lang + ".", line);
            }
        }
        // The rest (context_info, statistics, showplan, forceplan, no_browsetable, ...) change
        // nothing the stand-in reports.
    }
    done(ds::kFinal, cc::kSet, 0);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::use(const Use& s, std::uint32_t line) {
    auto it = std::find_if(server_.databases.begin(), server_.databases.end(),
                           [&](const std::string& d) { return iequals(d, s.database); });
    if (it == server_.databases.end()) {
        return fail(errors::no_database(s.database), line, cc::kUse);
    }
    if (*it != session_.database) {
        std::string old = session_.database;
        session_.database = *it;
        out_.env_change(tds::env_type::kDatabase, *it, old);
        info(kChangedDatabase, 1, "Changed database context to '" + *it + "'.", line);
    }
    done(ds::kFinal, cc::kUse, 0);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::begin_tran(const BeginTran& s, std::uint32_t line) {
    if (s.distributed) {
        return fail(errors::msdtc_unavailable(server_.server_name), line, cc::kBeginTran);
    }
    std::string name = s.name;
    if (!name.empty() && name.front() == '@') {
        auto it = variables_.find(lower_ascii(name));
        if (it == variables_.end()) {
            return fail(errors::undeclared_variable(name), line, cc::kBeginTran);
        }
        name = tds::format_value(it->second.value, it->second.type).value_or("");
    }
    if (auto e = begin_transaction(session_, out_, name)) {
        return fail(*e, line, cc::kBeginTran);
    }
    done(ds::kFinal, cc::kBeginTran, 0);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::commit(const CommitTran&, std::uint32_t line) {
    if (auto e = commit_transaction(session_, out_)) {
        return fail(*e, line, cc::kCommit);
    }
    done(ds::kFinal, cc::kCommit, 0);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::rollback(const RollbackTran& s, std::uint32_t line) {
    std::string name = s.name;
    if (!name.empty() && name.front() == '@') {
        auto it = variables_.find(lower_ascii(name));
        if (it == variables_.end()) {
            return fail(errors::undeclared_variable(name), line, cc::kRollback);
        }
        name = tds::format_value(it->second.value, it->second.type).value_or("");
    }
    if (auto e = rollback_transaction(session_, out_, name)) {
        return fail(*e, line, cc::kRollback);
    }
    done(ds::kFinal, cc::kRollback, 0);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::save(const SaveTran& s, std::uint32_t line) {
    if (auto e = save_transaction(session_, s.name)) {
        return fail(*e, line, cc::kSave);
    }
    done(ds::kFinal, cc::kSave, 0);
    return Flow::Next;
}

BatchExecutor::Flow BatchExecutor::exec(const Exec& s, std::uint32_t line) {
    std::vector<ProcedureArg> args;
    for (const auto& a : s.args) {
        ProcedureArg p;
        p.name = a.name;
        p.output = a.output;
        p.is_default = a.is_default;
        if (a.value) {
            auto v = evaluate(**a.value, context());
            if (!v) {
                return fail(v.error(), line, cc::kExecute);
            }
            p.value = std::move(*v);
        }
        args.push_back(std::move(p));
    }
    // sys.sp_executesql, dbo.sp_x: the procedure's own name decides
    std::string name = s.procedure;
    if (auto dot = name.rfind('.'); dot != std::string::npos) {
        name = name.substr(dot + 1);
    }
    ProcedureEnv env{server_, session_, out_, now_utc_};
    ProcedureResult r = call_procedure(lower_ascii(name), args, env);
    if (!r.found) {
        outcome_.note = "the stand-in has no procedure '" + s.procedure + "': error 2812";
        return fail(errors::unknown_procedure(s.procedure), line, cc::kExecute);
    }
    if (!r.note.empty()) {
        outcome_.note = r.note;
    }
    if (!r.aborted) {
        out_.return_status(r.status);
    }
    if (s.return_variable) {
        auto it = variables_.find(*s.return_variable);
        if (it != variables_.end()) {
            it->second.value = tds::Value{std::int64_t{r.status}};
        }
    }
    // OUTPUT arguments receive the procedure's output values, by position.
    for (const auto& o : r.outputs) {
        if (o.ordinal >= s.args.size() || !s.args[o.ordinal].output || !s.args[o.ordinal].value) {
            continue;
        }
        const auto* var = std::get_if<VariableRef>(&(*s.args[o.ordinal].value)->node);
        if (var == nullptr) {
            continue;
        }
        auto it = variables_.find(var->name);
        if (it != variables_.end()) {
            if (auto c = convert(o.value, it->second.type)) {
                it->second = std::move(*c);
            }
        }
    }
    out_.done(static_cast<std::uint16_t>(ds::kMore | (r.aborted ? ds::kError : 0)), cc::kExecute, 0,
              tds::token::kDoneProc);
    wrote_done_ = true;
    done(ds::kFinal, cc::kExecute, 0);
    return Flow::Next;
}

} // namespace standin::sqlserver
