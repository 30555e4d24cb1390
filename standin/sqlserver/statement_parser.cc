#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

#include <standin/nesting_guard.h>
#include <standin/sqlserver/sql_lexer.h>
#include <standin/sqlserver/statement_parser.h>

namespace standin::sqlserver {

namespace {

constexpr std::string_view kReserved[] = {"add",
                                          "all",
                                          "alter",
                                          "and",
                                          "any",
                                          "as",
                                          "asc",
                                          "authorization",
                                          "backup",
                                          "begin",
                                          "between",
                                          "break",
                                          "browse",
                                          "bulk",
                                          "by",
                                          "cascade",
                                          "case",
                                          "check",
                                          "checkpoint",
                                          "close",
                                          "clustered",
                                          "coalesce",
                                          "collate",
                                          "column",
                                          "commit",
                                          "compute",
                                          "constraint",
                                          "contains",
                                          "containstable",
                                          "continue",
                                          "convert",
                                          "create",
                                          "cross",
                                          "current",
                                          "current_date",
                                          "current_time",
                                          "current_timestamp",
                                          "current_user",
                                          "cursor",
                                          "database",
                                          "dbcc",
                                          "deallocate",
                                          "declare",
                                          "default",
                                          "delete",
                                          "deny",
                                          "desc",
                                          "disk",
                                          "distinct",
                                          "distributed",
                                          "double",
                                          "drop",
                                          "dump",
                                          "else",
                                          "end",
                                          "errlvl",
                                          "escape",
                                          "except",
                                          "exec",
                                          "execute",
                                          "exists",
                                          "exit",
                                          "external",
                                          "fetch",
                                          "file",
                                          "fillfactor",
                                          "for",
                                          "foreign",
                                          "freetext",
                                          "freetexttable",
                                          "from",
                                          "full",
                                          "function",
                                          "goto",
                                          "grant",
                                          "group",
                                          "having",
                                          "holdlock",
                                          "identity",
                                          "identity_insert",
                                          "identitycol",
                                          "if",
                                          "in",
                                          "index",
                                          "inner",
                                          "insert",
                                          "intersect",
                                          "into",
                                          "is",
                                          "join",
                                          "key",
                                          "kill",
                                          "left",
                                          "like",
                                          "lineno",
                                          "load",
                                          "merge",
                                          "national",
                                          "nocheck",
                                          "nonclustered",
                                          "not",
                                          "null",
                                          "nullif",
                                          "of",
                                          "off",
                                          "offsets",
                                          "on",
                                          "open",
                                          "opendatasource",
                                          "openquery",
                                          "openrowset",
                                          "openxml",
                                          "option",
                                          "or",
                                          "order",
                                          "outer",
                                          "over",
                                          "percent",
                                          "pivot",
                                          "plan",
                                          "precision",
                                          "primary",
                                          "print",
                                          "proc",
                                          "procedure",
                                          "public",
                                          "raiserror",
                                          "read",
                                          "readtext",
                                          "reconfigure",
                                          "references",
                                          "replication",
                                          "restore",
                                          "restrict",
                                          "return",
                                          "revert",
                                          "revoke",
                                          "right",
                                          "rollback",
                                          "rowcount",
                                          "rowguidcol",
                                          "rule",
                                          "save",
                                          "schema",
                                          "securityaudit",
                                          "select",
                                          "semantickeyphrasetable",
                                          "semanticsimilaritydetailstable",
                                          "semanticsimilaritytable",
                                          "session_user",
                                          "set",
                                          "setuser",
                                          "shutdown",
                                          "some",
                                          "statistics",
                                          "system_user",
                                          "table",
                                          "tablesample",
                                          "textsize",
                                          "then",
                                          "to",
                                          "top",
                                          "tran",
                                          "transaction",
                                          "trigger",
                                          "truncate",
                                          "try_convert",
                                          "tsequal",
                                          "union",
                                          "unique",
                                          "unpivot",
                                          "update",
                                          "updatetext",
                                          "use",
                                          "user",
                                          "values",
                                          "varying",
                                          "view",
                                          "waitfor",
                                          "when",
                                          "where",
                                          "while",
                                          "with",
                                          "writetext",
                                          "within"};

// SET options SQL Server knows (the ON/OFF ones and those taking a value). An unknown one is
// 195 at compile time.
constexpr std::string_view kSetOptions[] = {"ansi_defaults",
                                            "ansi_null_dflt_off",
                                            "ansi_null_dflt_on",
                                            "ansi_nulls",
                                            "ansi_padding",
                                            "ansi_warnings",
                                            "arithabort",
                                            "arithignore",
                                            "concat_null_yields_null",
                                            "context_info",
                                            "cursor_close_on_commit",
                                            "datefirst",
                                            "dateformat",
                                            "deadlock_priority",
                                            "fips_flagger",
                                            "fmtonly",
                                            "forceplan",
                                            "identity_insert",
                                            "implicit_transactions",
                                            "language",
                                            "lock_timeout",
                                            "nocount",
                                            "noexec",
                                            "numeric_roundabort",
                                            "offsets",
                                            "parseonly",
                                            "query_governor_cost_limit",
                                            "quoted_identifier",
                                            "remote_proc_transactions",
                                            "rowcount",
                                            "showplan_all",
                                            "showplan_text",
                                            "showplan_xml",
                                            "statistics",
                                            "textsize",
                                            "xact_abort",
                                            "no_browsetable"};

// Words that start a statement: where a statement without ';' ends.
constexpr std::string_view kStatementStarts[] = {
    "select",     "set",     "use",    "begin",  "commit",   "rollback",  "save",     "if",
    "else",       "declare", "print",  "exec",   "execute",  "raiserror", "return",   "dbcc",
    "insert",     "update",  "delete", "merge",  "truncate", "create",    "alter",    "drop",
    "grant",      "revoke",  "deny",   "backup", "restore",  "kill",      "shutdown", "reconfigure",
    "checkpoint", "waitfor", "while",  "end",    "with",     "throw"};

template <std::size_t N> bool contains(const std::string_view (&list)[N], std::string_view word) {
    auto w = lower_ascii(word);
    return std::find(std::begin(list), std::end(list), w) != std::end(list);
}

template <typename T> ExprPtr make_expr(T node) {
    return std::make_shared<const Expr>(Expr{std::move(node)});
}

using Result = std::expected<StatementPtr, ParseError>;
using ExprResult = std::expected<ExprPtr, ParseError>;

class Parser {
  public:
    explicit Parser(std::vector<SqlToken> tokens) : t_(std::move(tokens)) {}

    std::expected<std::vector<StatementPtr>, ParseError> batch() {
        std::vector<StatementPtr> out;
        while (true) {
            while (peek().is_symbol(";")) {
                ++pos_;
            }
            if (peek().kind == TokenKind::End) {
                return out;
            }
            auto s = statement(out.empty());
            if (!s) {
                return std::unexpected(s.error());
            }
            out.push_back(std::move(*s));
        }
    }

    std::expected<std::vector<ParameterDeclaration>, ParseError> declarations() {
        std::vector<ParameterDeclaration> out;
        while (peek().kind != TokenKind::End) {
            if (peek().kind != TokenKind::Variable) {
                return std::unexpected(near(peek()));
            }
            ParameterDeclaration d;
            d.name = lower_ascii(take().text);
            accept("as");
            auto type = type_spec();
            if (!type) {
                return std::unexpected(type.error());
            }
            d.type = std::move(*type);
            if (peek().is_symbol("=")) { // a default value: parsed, not used
                ++pos_;
                auto e = expression();
                if (!e) {
                    return std::unexpected(e.error());
                }
            }
            d.output = accept("output") || accept("out");
            accept("readonly");
            out.push_back(std::move(d));
            if (!accept_symbol(",")) {
                break;
            }
        }
        if (peek().kind != TokenKind::End) {
            return std::unexpected(near(peek()));
        }
        return out;
    }

  private:
    using Rule = Result (Parser::*)(const SqlToken& first);
    struct RuleEntry {
        std::string_view keyword;
        Rule rule;
    };

    // --- tokens ------------------------------------------------------------------------------

    const SqlToken& peek(std::size_t k = 0) const {
        std::size_t i = std::min(pos_ + k, t_.size() - 1);
        return t_[i];
    }
    const SqlToken& take() {
        const SqlToken& t = t_[std::min(pos_, t_.size() - 1)];
        if (pos_ < t_.size() - 1) {
            ++pos_;
        }
        return t;
    }
    bool accept(std::string_view keyword) {
        if (peek().is(keyword)) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool accept_symbol(std::string_view s) {
        if (peek().is_symbol(s)) {
            ++pos_;
            return true;
        }
        return false;
    }

    // near: SQL Server's "Incorrect syntax near ..." for a token (156 for a keyword).
    ParseError near(const SqlToken& t) const {
        const SqlToken* at = &t;
        if (t.kind == TokenKind::End && pos_ > 0) {
            at = &t_[std::min(pos_, t_.size() - 1) - (t_.size() > 1 ? 1 : 0)];
            if (at->kind == TokenKind::End && t_.size() > 1) {
                at = &t_[t_.size() - 2];
            }
        }
        ParseError e;
        e.line = at->line;
        if (at->kind == TokenKind::Word && is_reserved_keyword(at->text)) {
            e.number = 156;
            e.text = "Incorrect syntax near the keyword '" + at->text + "'.";
        } else {
            e.number = 102;
            e.text = "Incorrect syntax near '" + display(*at) + "'.";
        }
        return e;
    }

    static std::string display(const SqlToken& t) {
        switch (t.kind) {
        case TokenKind::String:
            return t.text;
        case TokenKind::NString:
            return t.text;
        case TokenKind::Binary:
            return "0x" + t.text;
        case TokenKind::QuotedName:
        case TokenKind::Word:
        case TokenKind::Variable:
        case TokenKind::SystemVariable:
        case TokenKind::Integer:
        case TokenKind::Decimal:
        case TokenKind::Float:
        case TokenKind::Symbol:
        case TokenKind::End:
            return t.text;
        }
        return t.text;
    }

    bool at_statement_end() const {
        const SqlToken& t = peek();
        return t.kind == TokenKind::End || t.is_symbol(";") ||
               (t.kind == TokenKind::Word && contains(kStatementStarts, t.text));
    }

    // skip_to_end: the rest of a statement the stand-in does not evaluate (after FROM, the body
    // of an INSERT): up to ';' or the end of the batch, balancing parentheses.
    void skip_to_end() {
        int depth = 0;
        while (peek().kind != TokenKind::End) {
            if (depth == 0 && peek().is_symbol(";")) {
                return;
            }
            if (peek().is_symbol("(")) {
                ++depth;
            } else if (peek().is_symbol(")") && depth > 0) {
                --depth;
            }
            ++pos_;
        }
    }

    // object_name: a.b.c, [a].[b], #temp; as written, joined with dots.
    std::expected<std::string, ParseError> object_name() {
        std::string name;
        while (true) {
            const SqlToken& t = peek();
            if (t.kind == TokenKind::Word || t.kind == TokenKind::QuotedName) {
                name += t.text;
                ++pos_;
            } else if (!name.empty() && name.back() == '.' && t.is_symbol(".")) {
                // a.. (default schema): keep going
            } else {
                return std::unexpected(near(t));
            }
            if (!peek().is_symbol(".")) {
                return name;
            }
            ++pos_;
            name += '.';
        }
    }

    StatementPtr make(std::uint32_t line, auto node) {
        return std::make_shared<const Statement>(Statement{line, std::move(node)});
    }

    // --- nesting -----------------------------------------------------------------------------

    // The parser recurses for every nested statement block, parenthesis, subquery, NOT and sign:
    // a hostile batch must end in SQL Server's error 191, not a stack overflow that takes the
    // whole stand-in down (found by fuzzing: 20,000 nested parentheses crashed `serve`). SQL
    // Server's own limits are of the same order (32 nested subqueries, 10 in some contexts).
    static constexpr int kMaxNesting = 100;
    static ParseError nested_too_deeply() {
        ParseError e;
        e.number = 191;
        e.state = 1;
        e.severity = 15;
        e.text = "Some part of your SQL statement is nested too deeply. Rewrite the query or "
                 "break it up into smaller queries.";
        return e;
    }

    // --- statements --------------------------------------------------------------------------

    Result statement(bool first_in_batch) {
        standin::NestingGuard guard(depth_, kMaxNesting);
        if (guard.too_deep()) {
            return std::unexpected(nested_too_deeply());
        }
        const SqlToken& first = peek();
        if (first.kind == TokenKind::Word) {
            static constexpr RuleEntry kRules[] = {
                {"select", &Parser::select},
                {"set", &Parser::set},
                {"use", &Parser::use},
                {"begin", &Parser::begin},
                {"commit", &Parser::commit},
                {"rollback", &Parser::rollback},
                {"save", &Parser::save},
                {"if", &Parser::if_},
                {"declare", &Parser::declare},
                {"print", &Parser::print},
                {"exec", &Parser::exec},
                {"execute", &Parser::exec},
                {"raiserror", &Parser::raiserror},
                {"return", &Parser::return_},
                {"dbcc", &Parser::dbcc},
                {"insert", &Parser::data_access},
                {"update", &Parser::data_access},
                {"delete", &Parser::data_access},
                {"merge", &Parser::data_access},
                {"truncate", &Parser::data_access},
                {"bulk", &Parser::data_access},
                {"with", &Parser::with_cte},
                {"create", &Parser::not_permitted},
                {"alter", &Parser::not_permitted},
                {"drop", &Parser::drop},
                {"grant", &Parser::not_permitted},
                {"revoke", &Parser::not_permitted},
                {"deny", &Parser::not_permitted},
                {"backup", &Parser::not_permitted},
                {"restore", &Parser::not_permitted},
                {"kill", &Parser::not_permitted},
                {"shutdown", &Parser::not_permitted},
                {"reconfigure", &Parser::not_permitted},
                {"checkpoint", &Parser::not_permitted},
            };
            for (const auto& r : kRules) {
                if (first.is(r.keyword)) {
                    ++pos_;
                    return (this->*r.rule)(first);
                }
            }
            // A batch may start with a procedure name alone: SQL Server runs it as EXEC.
            if (first_in_batch && !is_reserved_keyword(first.text)) {
                return exec_body(first);
            }
        } else if (first.kind == TokenKind::QuotedName && first_in_batch) {
            return exec_body(first);
        }
        return std::unexpected(near(first));
    }

    Result select(const SqlToken& first) {
        SelectStmt s;
        accept("all");
        accept("distinct");
        if (accept("top")) {
            // TOP (expression) or TOP n: without parentheses only a constant or a variable,
            // so `TOP 10 * FROM t` is 10 rows of *, not 10 times FROM.
            bool paren = accept_symbol("(");
            auto n = paren ? expression() : primary();
            if (!n) {
                return std::unexpected(n.error());
            }
            if (paren && !accept_symbol(")")) {
                return std::unexpected(near(peek()));
            }
            accept("percent");
            if (accept("with")) {
                accept("ties");
            }
        }
        while (true) {
            if (accept_symbol("*")) {
                s.star = true;
            } else {
                auto item = select_item();
                if (!item) {
                    return std::unexpected(item.error());
                }
                s.items.push_back(std::move(*item));
            }
            if (!accept_symbol(",")) {
                break;
            }
        }
        if (accept("into")) {
            auto target = object_name();
            if (!target) {
                return std::unexpected(target.error());
            }
            skip_to_end();
            return make(first.line, NotPermitted{"CREATE TABLE"});
        }
        if (accept("from")) {
            if (peek().is_symbol("(")) {
                s.from = "(derived table)";
            } else {
                auto object = object_name();
                if (!object) {
                    return std::unexpected(object.error());
                }
                s.from = std::move(*object);
            }
            skip_to_end();
            return make(first.line, std::move(s));
        }
        if (accept("where")) {
            auto cond = expression();
            if (!cond) {
                return std::unexpected(cond.error());
            }
            s.where = std::move(*cond);
        }
        if (peek().is("union") || peek().is("order") || peek().is("group") || peek().is("having") ||
            peek().is("for") || peek().is("option") || peek().is("except") ||
            peek().is("intersect")) {
            // Clauses the stand-in does not evaluate over constant rows: the rest of the
            // statement is read, the items stand.
            skip_to_end();
        }
        if (!at_statement_end()) {
            return std::unexpected(near(peek()));
        }
        if (s.star) {
            ParseError e;
            e.number = 263;
            e.severity = 16;
            e.text = "Must specify table to select from.";
            e.line = first.line;
            return std::unexpected(e);
        }
        return make(first.line, std::move(s));
    }

    std::expected<SelectItem, ParseError> select_item() {
        SelectItem item;
        // @v = expr (assignment)
        if (peek().kind == TokenKind::Variable && peek(1).is_symbol("=")) {
            item.assign_to = lower_ascii(take().text);
            ++pos_;
            auto e = expression();
            if (!e) {
                return std::unexpected(e.error());
            }
            item.expr = std::move(*e);
            return item;
        }
        // alias = expr
        if ((peek().kind == TokenKind::Word || peek().kind == TokenKind::QuotedName ||
             peek().kind == TokenKind::String) &&
            peek(1).is_symbol("=") && !is_reserved_keyword(peek().text)) {
            item.alias = take().text;
            ++pos_;
            auto e = expression();
            if (!e) {
                return std::unexpected(e.error());
            }
            item.expr = std::move(*e);
            return item;
        }
        auto e = expression();
        if (!e) {
            return std::unexpected(e.error());
        }
        item.expr = std::move(*e);
        if (accept("as")) {
            const SqlToken& a = peek();
            if (a.kind != TokenKind::Word && a.kind != TokenKind::QuotedName &&
                a.kind != TokenKind::String) {
                return std::unexpected(near(a));
            }
            item.alias = take().text;
        } else if ((peek().kind == TokenKind::Word && !is_reserved_keyword(peek().text) &&
                    !contains(kStatementStarts, peek().text)) ||
                   peek().kind == TokenKind::QuotedName || peek().kind == TokenKind::String) {
            item.alias = take().text;
        }
        return item;
    }

    Result set(const SqlToken& first) {
        if (peek().kind == TokenKind::Variable) {
            SetVariable s;
            s.variable = lower_ascii(take().text);
            const SqlToken& op = peek();
            static constexpr std::string_view kAssign[] = {
                "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^="};
            if (std::none_of(std::begin(kAssign), std::end(kAssign),
                             [&](std::string_view a) { return op.is_symbol(a); })) {
                return std::unexpected(near(op));
            }
            s.op = take().text;
            auto e = expression();
            if (!e) {
                return std::unexpected(e.error());
            }
            s.expr = std::move(*e);
            return make(first.line, std::move(s));
        }
        if (accept("transaction")) {
            if (!accept("isolation") || !accept("level")) {
                return std::unexpected(near(peek()));
            }
            std::string level;
            static constexpr std::pair<std::string_view, std::string_view> kLevels[] = {
                {"uncommitted", "read uncommitted"}, {"committed", "read committed"}};
            if (accept("read")) {
                for (auto [word, name] : kLevels) {
                    if (accept(word)) {
                        level = name;
                    }
                }
            } else if (accept("repeatable")) {
                if (accept("read")) {
                    level = "repeatable read";
                }
            } else if (accept("snapshot")) {
                level = "snapshot";
            } else if (accept("serializable")) {
                level = "serializable";
            }
            if (level.empty()) {
                return std::unexpected(near(peek()));
            }
            return make(first.line, SetIsolation{level});
        }
        SetOption s;
        while (true) {
            const SqlToken& name = peek();
            if (name.kind != TokenKind::Word) {
                return std::unexpected(near(name));
            }
            if (!contains(kSetOptions, name.text)) {
                ParseError e;
                e.number = 195;
                e.text = "'" + name.text + "' is not a recognized SET option.";
                e.line = name.line;
                return std::unexpected(e);
            }
            s.options.push_back(lower_ascii(take().text));
            if (s.options.back() == "statistics") {
                // STATISTICS IO | TIME | PROFILE | XML [, ...]
                while (peek().kind == TokenKind::Word &&
                       (peek().is("io") || peek().is("time") || peek().is("profile") ||
                        peek().is("xml"))) {
                    s.options.back() += " " + lower_ascii(take().text);
                    accept_symbol(",");
                }
            }
            if (s.options.back() == "identity_insert") {
                auto object = object_name();
                if (!object) {
                    return std::unexpected(object.error());
                }
                skip_to_end();
                return make(first.line, DataAccess{"set identity_insert", *object});
            }
            if (!accept_symbol(",")) {
                break;
            }
        }
        const SqlToken& v = peek();
        switch (v.kind) {
        case TokenKind::Word:
            if (v.is("on") || v.is("off") || !is_reserved_keyword(v.text)) {
                s.value = lower_ascii(take().text);
                break;
            }
            return std::unexpected(near(v));
        case TokenKind::Integer:
            s.value = take().text;
            s.value_is_number = true;
            break;
        case TokenKind::Symbol:
            if (v.is_symbol("-") && peek(1).kind == TokenKind::Integer) {
                ++pos_;
                s.value = "-" + take().text;
                s.value_is_number = true;
                break;
            }
            return std::unexpected(near(v));
        case TokenKind::String:
        case TokenKind::NString:
        case TokenKind::QuotedName:
        case TokenKind::Binary:
        case TokenKind::Variable:
            s.value = take().text;
            break;
        case TokenKind::SystemVariable:
        case TokenKind::Decimal:
        case TokenKind::Float:
        case TokenKind::End:
            return std::unexpected(near(v));
        }
        return make(first.line, std::move(s));
    }

    Result use(const SqlToken& first) {
        const SqlToken& db = peek();
        if (db.kind != TokenKind::Word && db.kind != TokenKind::QuotedName) {
            return std::unexpected(near(db));
        }
        return make(first.line, Use{take().text});
    }

    std::string optional_transaction_name() {
        const SqlToken& t = peek();
        if ((t.kind == TokenKind::Word && !is_reserved_keyword(t.text) &&
             !contains(kStatementStarts, t.text) && !t.is("work")) ||
            t.kind == TokenKind::QuotedName || t.kind == TokenKind::Variable) {
            return take().text;
        }
        return "";
    }

    Result begin(const SqlToken& first) {
        bool distributed = accept("distributed");
        if (accept("tran") || accept("transaction")) {
            BeginTran b;
            b.distributed = distributed;
            b.name = optional_transaction_name();
            if (accept("with")) {
                if (!accept("mark")) {
                    return std::unexpected(near(peek()));
                }
                if (peek().kind == TokenKind::String || peek().kind == TokenKind::NString) {
                    ++pos_;
                }
            }
            return make(first.line, std::move(b));
        }
        if (distributed) {
            return std::unexpected(near(peek()));
        }
        if (peek().is("try") || peek().is("catch") || peek().is("dialog") ||
            peek().is("conversation")) {
            return std::unexpected(near(peek()));
        }
        Block block;
        while (!peek().is("end")) {
            while (accept_symbol(";")) {
            }
            if (peek().is("end")) {
                break;
            }
            if (peek().kind == TokenKind::End) {
                return std::unexpected(near(peek()));
            }
            auto s = statement(false);
            if (!s) {
                return std::unexpected(s.error());
            }
            block.body.push_back(std::move(*s));
        }
        ++pos_; // END
        return make(first.line, std::move(block));
    }

    Result commit(const SqlToken& first) {
        CommitTran c;
        if (accept("tran") || accept("transaction") || accept("work")) {
            c.name = optional_transaction_name();
        }
        if (accept("with")) { // WITH (DELAYED_DURABILITY = ON)
            if (!accept_symbol("(")) {
                return std::unexpected(near(peek()));
            }
            skip_parenthesised();
        }
        return make(first.line, std::move(c));
    }

    void skip_parenthesised() {
        int depth = 1;
        while (depth > 0 && peek().kind != TokenKind::End) {
            if (peek().is_symbol("(")) {
                ++depth;
            } else if (peek().is_symbol(")")) {
                --depth;
            }
            ++pos_;
        }
    }

    Result rollback(const SqlToken& first) {
        RollbackTran r;
        if (accept("tran") || accept("transaction") || accept("work")) {
            r.name = optional_transaction_name();
        }
        return make(first.line, std::move(r));
    }

    Result save(const SqlToken& first) {
        if (!accept("tran") && !accept("transaction")) {
            return std::unexpected(near(peek()));
        }
        std::string name = optional_transaction_name();
        if (name.empty()) {
            return std::unexpected(near(peek()));
        }
        return make(first.line, SaveTran{name});
    }

    Result if_(const SqlToken& first) {
        auto cond = expression();
        if (!cond) {
            return std::unexpected(cond.error());
        }
        if (peek().kind == TokenKind::End) {
            return std::unexpected(near(peek()));
        }
        auto then_branch = statement(false);
        if (!then_branch) {
            return std::unexpected(then_branch.error());
        }
        If node{std::move(*cond), std::move(*then_branch), nullptr};
        while (accept_symbol(";")) {
        }
        if (accept("else")) {
            auto else_branch = statement(false);
            if (!else_branch) {
                return std::unexpected(else_branch.error());
            }
            node.else_branch = std::move(*else_branch);
        }
        return make(first.line, std::move(node));
    }

    std::expected<TypeSpec, ParseError> type_spec() {
        const SqlToken& t = peek();
        if (t.kind != TokenKind::Word && t.kind != TokenKind::QuotedName) {
            return std::unexpected(near(t));
        }
        TypeSpec spec;
        spec.name = lower_ascii(take().text);
        if (spec.name == "double" && accept("precision")) {
            spec.name = "float";
        }
        if (spec.name == "national") {
            if (accept("character") || accept("char")) {
                spec.name = accept("varying") ? "nvarchar" : "nchar";
            }
        }
        if (accept_symbol("(")) {
            while (true) {
                if (accept("max")) {
                    spec.max = true;
                } else if (peek().kind == TokenKind::Integer) {
                    std::uint32_t n = 0;
                    const auto& text = take().text;
                    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
                    if (ec != std::errc{}) {
                        return std::unexpected(near(t));
                    }
                    (void)p;
                    spec.args.push_back(n);
                } else {
                    return std::unexpected(near(peek()));
                }
                if (!accept_symbol(",")) {
                    break;
                }
            }
            if (!accept_symbol(")")) {
                return std::unexpected(near(peek()));
            }
        }
        return spec;
    }

    Result declare(const SqlToken& first) {
        Declare d;
        while (true) {
            if (peek().kind != TokenKind::Variable) {
                return std::unexpected(near(peek()));
            }
            DeclaredVariable v;
            v.name = lower_ascii(take().text);
            accept("as");
            if (peek().is("table") || peek().is("cursor")) {
                return std::unexpected(near(peek()));
            }
            auto type = type_spec();
            if (!type) {
                return std::unexpected(type.error());
            }
            v.type = std::move(*type);
            if (accept_symbol("=")) {
                auto e = expression();
                if (!e) {
                    return std::unexpected(e.error());
                }
                v.init = std::move(*e);
            }
            d.variables.push_back(std::move(v));
            if (!accept_symbol(",")) {
                break;
            }
        }
        return make(first.line, std::move(d));
    }

    Result print(const SqlToken& first) {
        auto e = expression();
        if (!e) {
            return std::unexpected(e.error());
        }
        return make(first.line, Print{std::move(*e)});
    }

    Result exec(const SqlToken& first) {
        if (accept_symbol("(")) {
            auto e = expression();
            if (!e) {
                return std::unexpected(e.error());
            }
            if (!accept_symbol(")")) {
                return std::unexpected(near(peek()));
            }
            return make(first.line, ExecString{std::move(*e)});
        }
        std::optional<std::string> return_variable;
        if (peek().kind == TokenKind::Variable && peek(1).is_symbol("=")) {
            return_variable = lower_ascii(take().text);
            ++pos_;
        }
        const SqlToken& name = peek();
        if (name.kind != TokenKind::Word && name.kind != TokenKind::QuotedName) {
            return std::unexpected(near(name));
        }
        auto r = exec_body(name);
        if (r && return_variable) {
            auto node = std::get<Exec>((*r)->node);
            node.return_variable = return_variable;
            return make(first.line, std::move(node));
        }
        return r;
    }

    // exec_body reads "name [arg, ...]" with the name at the current token.
    Result exec_body(const SqlToken& first) {
        auto name = object_name();
        if (!name) {
            return std::unexpected(name.error());
        }
        Exec e;
        e.procedure = std::move(*name);
        if (at_statement_end()) {
            return make(first.line, std::move(e));
        }
        while (true) {
            ExecArgument a;
            if (peek().kind == TokenKind::Variable && peek(1).is_symbol("=")) {
                a.name = lower_ascii(take().text);
                ++pos_;
            }
            if (accept("default")) {
                a.is_default = true;
            } else if (peek().kind == TokenKind::Word && !is_reserved_keyword(peek().text)) {
                // A bare word argument is a string (EXEC sp_help mytable).
                tds::TypedValue v{
                    tds::nvarchar_type(static_cast<std::uint32_t>(peek().text.size())),
                    tds::Value{take().text}};
                a.value = make_expr(Literal{std::move(v)});
            } else {
                auto v = expression();
                if (!v) {
                    return std::unexpected(v.error());
                }
                a.value = std::move(*v);
            }
            a.output = accept("output") || accept("out");
            e.args.push_back(std::move(a));
            if (!accept_symbol(",")) {
                break;
            }
        }
        if (accept("with")) { // WITH RECOMPILE / RESULT SETS (...)
            skip_to_end();
        }
        if (!at_statement_end()) {
            return std::unexpected(near(peek()));
        }
        return make(first.line, std::move(e));
    }

    Result raiserror(const SqlToken& first) {
        if (!accept_symbol("(")) {
            return std::unexpected(near(peek()));
        }
        std::vector<ExprPtr> args;
        while (true) {
            auto e = expression();
            if (!e) {
                return std::unexpected(e.error());
            }
            args.push_back(std::move(*e));
            if (!accept_symbol(",")) {
                break;
            }
        }
        if (!accept_symbol(")") || args.size() < 3) {
            return std::unexpected(near(peek()));
        }
        if (accept("with")) {
            while (peek().kind == TokenKind::Word &&
                   (peek().is("nowait") || peek().is("log") || peek().is("seterror"))) {
                ++pos_;
                accept_symbol(",");
            }
        }
        return make(first.line, Raiserror{args[0], args[1], args[2]});
    }

    Result return_(const SqlToken& first) {
        if (!at_statement_end()) {
            auto e = expression();
            if (!e) {
                return std::unexpected(e.error());
            }
        }
        return make(first.line, Return{});
    }

    Result dbcc(const SqlToken& first) {
        const SqlToken& cmd = peek();
        if (cmd.kind != TokenKind::Word) {
            return std::unexpected(near(cmd));
        }
        std::string command = lower_ascii(take().text);
        skip_to_end();
        return make(first.line, Dbcc{command});
    }

    Result data_access(const SqlToken& first) {
        std::string verb = lower_ascii(first.text);
        if (verb == "truncate" && !accept("table")) {
            return std::unexpected(near(peek()));
        }
        if (verb == "bulk" && !accept("insert")) {
            return std::unexpected(near(peek()));
        }
        if (verb == "insert" && accept("bulk")) {
            verb = "insert bulk";
        }
        if (verb == "insert" || verb == "merge") {
            accept("into");
        }
        if (verb == "delete") {
            accept("from");
        }
        if (verb == "update" || verb == "delete" || verb == "insert") {
            if (accept("top")) {
                if (accept_symbol("(")) {
                    skip_parenthesised();
                }
                accept("percent");
            }
        }
        auto object = object_name();
        if (!object) {
            return std::unexpected(object.error());
        }
        skip_to_end();
        return make(first.line, DataAccess{verb, *object});
    }

    Result with_cte(const SqlToken& first) {
        // WITH name [(cols)] AS (query) statement: the CTE's own query reads an object or not;
        // the statement after it is what the stand-in reports on.
        auto name = object_name();
        if (!name) {
            return std::unexpected(name.error());
        }
        skip_to_end();
        return make(first.line, DataAccess{"select", *name});
    }

    Result drop(const SqlToken& first) {
        const SqlToken& kind = peek();
        if (kind.kind != TokenKind::Word) {
            return std::unexpected(near(kind));
        }
        Drop d;
        d.kind = lower_ascii(take().text);
        if (d.kind == "proc") {
            d.kind = "procedure";
        }
        if (peek().is("if") && peek(1).is("exists")) {
            pos_ += 2;
            d.if_exists = true;
        }
        auto object = object_name();
        if (!object) {
            return std::unexpected(object.error());
        }
        d.object = std::move(*object);
        skip_to_end();
        return make(first.line, std::move(d));
    }

    Result not_permitted(const SqlToken& first) {
        std::string what = first.text;
        for (auto& c : what) {
            c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        const SqlToken& object_kind = peek();
        if (object_kind.kind == TokenKind::Word) {
            std::string k = object_kind.text;
            for (auto& c : k) {
                c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
            }
            if (k == "PROC") {
                k = "PROCEDURE";
            }
            what += " " + k;
        }
        skip_to_end();
        return make(first.line, NotPermitted{what});
    }

    // --- expressions -------------------------------------------------------------------------

  public:
    ExprResult expression() {
        standin::NestingGuard guard(depth_, kMaxNesting);
        if (guard.too_deep()) {
            return std::unexpected(nested_too_deeply());
        }
        return or_expr();
    }

  private:
    ExprResult or_expr() {
        auto lhs = and_expr();
        while (lhs && accept("or")) {
            auto rhs = and_expr();
            if (!rhs) {
                return rhs;
            }
            lhs = make_expr(Binary{"or", std::move(*lhs), std::move(*rhs)});
        }
        return lhs;
    }

    ExprResult and_expr() {
        auto lhs = not_expr();
        while (lhs && accept("and")) {
            auto rhs = not_expr();
            if (!rhs) {
                return rhs;
            }
            lhs = make_expr(Binary{"and", std::move(*lhs), std::move(*rhs)});
        }
        return lhs;
    }

    ExprResult not_expr() {
        if (accept("not")) {
            standin::NestingGuard guard(depth_, kMaxNesting);
            if (guard.too_deep()) {
                return std::unexpected(nested_too_deeply());
            }
            auto e = not_expr();
            if (!e) {
                return e;
            }
            return make_expr(Not{std::move(*e)});
        }
        return predicate();
    }

    ExprResult predicate() {
        if (accept("exists")) {
            if (!accept_symbol("(")) {
                return std::unexpected(near(peek()));
            }
            auto sub = subquery_object();
            if (!sub) {
                return std::unexpected(sub.error());
            }
            return make_expr(ObjectAccess{*sub});
        }
        auto lhs = additive();
        if (!lhs) {
            return lhs;
        }
        static constexpr std::string_view kCompare[] = {"=",  "<>", "!=", "<", ">",
                                                        "<=", ">=", "!<", "!>"};
        for (auto op : kCompare) {
            if (peek().is_symbol(op)) {
                ++pos_;
                auto rhs = additive();
                if (!rhs) {
                    return rhs;
                }
                return make_expr(Binary{std::string(op), std::move(*lhs), std::move(*rhs)});
            }
        }
        if (accept("is")) {
            bool negated = accept("not");
            if (!accept("null")) {
                return std::unexpected(near(peek()));
            }
            return make_expr(IsNull{std::move(*lhs), negated});
        }
        return lhs;
    }

    // subquery_object: after "(" of a subquery; returns the object it reads (or the derived
    // table marker) and consumes up to the matching ")".
    std::expected<std::string, ParseError> subquery_object() {
        std::string object = "(subquery)";
        int depth = 1;
        while (depth > 0) {
            const SqlToken& t = peek();
            if (t.kind == TokenKind::End) {
                return std::unexpected(near(t));
            }
            if (t.is_symbol("(")) {
                ++depth;
            } else if (t.is_symbol(")")) {
                --depth;
            } else if (t.is("from") && object == "(subquery)") {
                ++pos_;
                if (peek().kind == TokenKind::Word || peek().kind == TokenKind::QuotedName) {
                    auto o = object_name();
                    if (o) {
                        object = *o;
                    }
                    continue;
                }
                continue;
            }
            ++pos_;
        }
        return object;
    }

    ExprResult additive() {
        auto lhs = multiplicative();
        while (lhs) {
            const SqlToken& op = peek();
            if (!(op.is_symbol("+") || op.is_symbol("-") || op.is_symbol("&") ||
                  op.is_symbol("|") || op.is_symbol("^"))) {
                break;
            }
            std::string o = take().text;
            auto rhs = multiplicative();
            if (!rhs) {
                return rhs;
            }
            lhs = make_expr(Binary{o, std::move(*lhs), std::move(*rhs)});
        }
        return lhs;
    }

    ExprResult multiplicative() {
        auto lhs = unary();
        while (lhs) {
            const SqlToken& op = peek();
            if (!(op.is_symbol("*") || op.is_symbol("/") || op.is_symbol("%"))) {
                break;
            }
            std::string o = take().text;
            auto rhs = unary();
            if (!rhs) {
                return rhs;
            }
            lhs = make_expr(Binary{o, std::move(*lhs), std::move(*rhs)});
        }
        return lhs;
    }

    ExprResult unary() {
        if (peek().is_symbol("-") || peek().is_symbol("+") || peek().is_symbol("~")) {
            char op = take().text[0];
            standin::NestingGuard guard(depth_, kMaxNesting);
            if (guard.too_deep()) {
                return std::unexpected(nested_too_deeply());
            }
            auto e = unary();
            if (!e) {
                return e;
            }
            return make_expr(Unary{op, std::move(*e)});
        }
        return primary();
    }

    // A literal other than NULL is NOT NULL: SQL Server describes `SELECT 1` as int NOT NULL
    // (and sends it as the fixed-length INT4).
    static tds::TypedValue not_null(tds::TypedValue v) {
        v.type.nullable = false;
        return v;
    }

    static tds::TypedValue number_literal(const SqlToken& t) {
        using namespace tds;
        auto d = parse_decimal(t.text);
        if (!d) {
            return TypedValue{float_type(), Value{0.0}};
        }
        if (t.kind == TokenKind::Integer) {
            if (d->digits.size() <= 10) {
                const std::int64_t n = std::stoll(d->digits);
                if (n <= 2147483647) {
                    return TypedValue{int_type(), Value{n}};
                }
            }
            auto p = static_cast<std::uint8_t>(std::min<std::size_t>(d->digits.size(), 38));
            return TypedValue{numeric_type(p, 0), Value{*d}};
        }
        // SQL Server types 1.50 as numeric(3, 2): precision counts every digit written.
        // Leading zeros do not count: 0.5 is numeric(1, 1).
        std::size_t int_digits = d->digits.size() > d->scale ? d->digits.size() - d->scale : 0;
        auto p = static_cast<std::uint8_t>(std::min<std::size_t>(int_digits + d->scale, 38));
        return TypedValue{numeric_type(std::max<std::uint8_t>(p, 1), d->scale), Value{*d}};
    }

    static tds::Bytes hex_bytes(const std::string& hex) {
        tds::Bytes out;
        auto nibble = [](char c) {
            return static_cast<std::uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        };
        std::size_t i = hex.size() % 2;
        if (i == 1) {
            out.push_back(nibble(hex[0]));
        }
        for (; i + 1 < hex.size() + 1 && i < hex.size(); i += 2) {
            out.push_back(static_cast<std::uint8_t>((nibble(hex[i]) << 4) | nibble(hex[i + 1])));
        }
        return out;
    }

    ExprResult primary() {
        using namespace tds;
        const SqlToken& t = peek();
        switch (t.kind) {
        case TokenKind::Integer:
        case TokenKind::Decimal:
            return make_expr(Literal{not_null(number_literal(take()))});
        case TokenKind::Float: {
            // SQL Server refuses a float literal beyond 8 bytes (1E400) with error 168; one too
            // small for a double reads as what strtod gives (0 or a denormal).
            errno = 0;
            const double d = std::strtod(t.text.c_str(), nullptr);
            if (errno == ERANGE && std::isinf(d)) {
                ParseError e;
                e.number = 168;
                e.line = t.line;
                e.text = "The floating point value '" + t.text +
                         "' is out of the range of computer representation (8 bytes).";
                return std::unexpected(e);
            }
            take();
            return make_expr(Literal{not_null(TypedValue{float_type(), Value{d}})});
        }
        case TokenKind::String: {
            auto chars = static_cast<std::uint32_t>(take().text.size());
            return make_expr(Literal{not_null(TypedValue{varchar_type(chars), Value{t.text}})});
        }
        case TokenKind::NString: {
            std::string s = take().text;
            auto units = static_cast<std::uint32_t>(utf16_units(s));
            return make_expr(Literal{not_null(TypedValue{nvarchar_type(units), Value{s}})});
        }
        case TokenKind::Binary: {
            Bytes b = hex_bytes(take().text);
            auto n = static_cast<std::uint32_t>(b.size());
            return make_expr(Literal{not_null(TypedValue{varbinary_type(n), Value{std::move(b)}})});
        }
        case TokenKind::Variable:
            return make_expr(VariableRef{lower_ascii(take().text)});
        case TokenKind::SystemVariable:
            return make_expr(SystemVariableRef{lower_ascii(take().text)});
        case TokenKind::Symbol:
            if (t.is_symbol("(")) {
                ++pos_;
                if (peek().is("select")) {
                    return scalar_subquery();
                }
                auto e = expression();
                if (!e) {
                    return e;
                }
                if (!accept_symbol(")")) {
                    return std::unexpected(near(peek()));
                }
                return e;
            }
            return std::unexpected(near(t));
        case TokenKind::Word:
            return word_expression();
        case TokenKind::QuotedName:
            return make_expr(ColumnRef{take().text});
        case TokenKind::End:
            return std::unexpected(near(t));
        }
        return std::unexpected(near(t));
    }

    static std::size_t utf16_units(const std::string& s) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            auto c = static_cast<unsigned char>(s[i]);
            if ((c & 0xC0) != 0x80) {
                n += (c >= 0xF0) ? 2 : 1; // 4-byte UTF-8 = a surrogate pair
            }
        }
        return n;
    }

    ExprResult scalar_subquery() {
        // "(" already taken, at SELECT: a constant subquery is its single item; one that
        // reads an object cannot be evaluated.
        std::size_t start = pos_;
        ++pos_; // SELECT
        auto item = select_item();
        if (item && accept_symbol(")") && !item->assign_to) {
            return item->expr;
        }
        pos_ = start;
        auto object = subquery_object();
        if (!object) {
            return std::unexpected(object.error());
        }
        return make_expr(ObjectAccess{*object});
    }

    ExprResult word_expression() {
        const SqlToken& t = take();
        std::string w = lower_ascii(t.text);
        if (w == "null") {
            return make_expr(Literal{tds::TypedValue{tds::int_type(), tds::Value{}}});
        }
        static constexpr std::string_view kNiladic[] = {"current_timestamp", "current_user",
                                                        "session_user", "system_user", "user"};
        for (auto n : kNiladic) {
            if (w == n && !peek().is_symbol("(")) {
                return make_expr(Niladic{w});
            }
        }
        if (w == "cast" || w == "try_cast") {
            if (!accept_symbol("(")) {
                return std::unexpected(near(peek()));
            }
            auto e = expression();
            if (!e) {
                return e;
            }
            if (!accept("as")) {
                return std::unexpected(near(peek()));
            }
            auto type = type_spec();
            if (!type) {
                return std::unexpected(type.error());
            }
            if (!accept_symbol(")")) {
                return std::unexpected(near(peek()));
            }
            return make_expr(Cast{std::move(*e), std::move(*type)});
        }
        if (w == "convert" || w == "try_convert") {
            if (!accept_symbol("(")) {
                return std::unexpected(near(peek()));
            }
            auto type = type_spec();
            if (!type) {
                return std::unexpected(type.error());
            }
            if (!accept_symbol(",")) {
                return std::unexpected(near(peek()));
            }
            auto e = expression();
            if (!e) {
                return e;
            }
            if (accept_symbol(",")) { // style
                auto style = expression();
                if (!style) {
                    return style;
                }
            }
            if (!accept_symbol(")")) {
                return std::unexpected(near(peek()));
            }
            return make_expr(Cast{std::move(*e), std::move(*type)});
        }
        if (is_reserved_keyword(w) && w != "coalesce" && w != "nullif" && w != "left" &&
            w != "right") {
            --pos_;
            return std::unexpected(near(t));
        }
        std::string name = t.text;
        // schema.function(...) or a multi-part column name
        while (peek().is_symbol(".") &&
               (peek(1).kind == TokenKind::Word || peek(1).kind == TokenKind::QuotedName)) {
            ++pos_;
            name += "." + take().text;
        }
        if (accept_symbol("(")) {
            FunctionCall call;
            call.name = lower_ascii(name);
            if (!accept_symbol(")")) {
                while (true) {
                    if (accept_symbol("*")) { // COUNT(*)
                        call.args.push_back(make_expr(Literal{
                            tds::TypedValue{tds::int_type(), tds::Value{std::int64_t{1}}}}));
                    } else {
                        auto a = expression();
                        if (!a) {
                            return a;
                        }
                        call.args.push_back(std::move(*a));
                    }
                    if (!accept_symbol(",")) {
                        break;
                    }
                }
                if (!accept_symbol(")")) {
                    return std::unexpected(near(peek()));
                }
            }
            return make_expr(std::move(call));
        }
        return make_expr(ColumnRef{name});
    }

    std::vector<SqlToken> t_;
    std::size_t pos_ = 0;
    int depth_ = 0; // statement and expression nesting (kMaxNesting)
};

} // namespace

bool is_reserved_keyword(std::string_view word) {
    return contains(kReserved, word);
}

std::expected<std::vector<StatementPtr>, ParseError> parse_batch(std::string_view batch) {
    auto tokens = lex_sql(batch);
    if (!tokens) {
        ParseError e;
        e.number = tokens.error().number;
        e.text = tokens.error().text;
        e.line = tokens.error().line;
        if (tokens.error().number == 105) {
            e.follow_up_102 = "Incorrect syntax near '" + tokens.error().near + "'.";
        }
        return std::unexpected(e);
    }
    return Parser(std::move(*tokens)).batch();
}

std::expected<std::vector<ParameterDeclaration>, ParseError>
parse_parameter_declarations(std::string_view text) {
    auto tokens = lex_sql(text);
    if (!tokens) {
        ParseError e;
        e.number = tokens.error().number;
        e.text = tokens.error().text;
        return std::unexpected(e);
    }
    return Parser(std::move(*tokens)).declarations();
}

} // namespace standin::sqlserver
