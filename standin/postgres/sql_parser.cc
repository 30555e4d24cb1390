#include <algorithm>
#include <charconv>

#include <standin/nesting_guard.h>
#include <standin/postgres/sql_parser.h>
#include <standin/postgres/types.h>

namespace standin::postgres {

namespace {

// PostgreSQL's reserved keywords: never a bare column alias or a function name.
constexpr std::string_view kReserved[] = {
    "all",          "analyse",
    "analyze",      "and",
    "any",          "array",
    "as",           "asc",
    "asymmetric",   "both",
    "case",         "cast",
    "check",        "collate",
    "column",       "constraint",
    "create",       "current_catalog",
    "current_date", "current_role",
    "current_time", "current_timestamp",
    "current_user", "default",
    "deferrable",   "desc",
    "distinct",     "do",
    "else",         "end",
    "except",       "false",
    "fetch",        "for",
    "foreign",      "from",
    "grant",        "group",
    "having",       "in",
    "initially",    "intersect",
    "into",         "lateral",
    "leading",      "limit",
    "localtime",    "localtimestamp",
    "not",          "null",
    "offset",       "on",
    "only",         "or",
    "order",        "placing",
    "primary",      "references",
    "returning",    "select",
    "session_user", "some",
    "symmetric",    "system_user",
    "table",        "then",
    "to",           "trailing",
    "true",         "union",
    "unique",       "user",
    "using",        "variadic",
    "when",         "where",
    "window",       "with",
};

bool reserved(const Token& t) {
    return t.kind == TokenKind::Identifier &&
           std::find(std::begin(kReserved), std::end(kReserved), t.text) != std::end(kReserved);
}

// Statement keywords PostgreSQL's grammar starts a statement with; anything else is a syntax
// error at the first token.
constexpr std::string_view kStatementKeywords[] = {
    "abort",   "alter",   "analyze", "analyse", "begin",    "call",      "checkpoint",
    "close",   "cluster", "comment", "commit",  "copy",     "create",    "deallocate",
    "declare", "delete",  "discard", "do",      "drop",     "end",       "execute",
    "explain", "fetch",   "grant",   "import",  "insert",   "listen",    "load",
    "lock",    "merge",   "move",    "notify",  "prepare",  "reassign",  "refresh",
    "reindex", "release", "reset",   "revoke",  "rollback", "savepoint", "security",
    "select",  "set",     "show",    "start",   "table",    "truncate",  "unlisten",
    "update",  "vacuum",  "values",  "with",
};

class Parser {
  public:
    Parser(std::string_view query, std::vector<Token> tokens) : q_(query), t_(std::move(tokens)) {}
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    std::expected<std::vector<Statement>, ServerError> run() {
        std::vector<Statement> out;
        while (!at_end()) {
            if (peek().is_symbol(";")) {
                ++i_;
                continue;
            }
            std::size_t start = peek().offset;
            auto s = statement();
            if (!s) {
                return std::unexpected(s.error());
            }
            if (!at_end() && !peek().is_symbol(";")) {
                return std::unexpected(unexpected_token());
            }
            std::size_t end = at_end() ? q_.size() : peek().offset;
            Statement st;
            st.body = std::move(*s);
            st.offset = start;
            st.length = end - start;
            st.text = std::string(q_.substr(start, end - start));
            out.push_back(std::move(st));
        }
        return out;
    }

  private:
    using Result = std::expected<StatementBody, ServerError>;
    using ExprResult = std::expected<ExprPtr, ServerError>;

    const Token& peek(std::size_t ahead = 0) const {
        return t_[std::min(i_ + ahead, t_.size() - 1)];
    }
    bool at_end() const { return peek().kind == TokenKind::End; }
    const Token& take() {
        const Token& t = peek();
        if (!at_end()) {
            ++i_;
        }
        return t;
    }
    bool accept(std::string_view keyword) {
        if (peek().is(keyword)) {
            ++i_;
            return true;
        }
        return false;
    }
    bool accept_symbol(std::string_view s) {
        if (peek().is_symbol(s)) {
            ++i_;
            return true;
        }
        return false;
    }

    ServerError error_at(const Token& t) const {
        if (t.kind == TokenKind::End) {
            return errors::syntax_error_at_end(position_of(q_, q_.size()));
        }
        return errors::syntax_error_at(std::string(q_.substr(t.offset, t.length)),
                                       position_of(q_, t.offset));
    }
    ServerError unexpected_token() const { return error_at(peek()); }

    std::expected<void, ServerError> expect(std::string_view keyword) {
        if (!accept(keyword)) {
            return std::unexpected(unexpected_token());
        }
        return {};
    }
    std::expected<void, ServerError> expect_symbol(std::string_view s) {
        if (!accept_symbol(s)) {
            return std::unexpected(unexpected_token());
        }
        return {};
    }

    // a name: identifier or quoted identifier (any keyword allowed where PostgreSQL allows
    // ColId; the stand-in is lenient here)
    std::expected<std::string, ServerError> name() {
        const auto& t = peek();
        if (t.kind == TokenKind::Identifier || t.kind == TokenKind::QuotedIdentifier) {
            ++i_;
            return t.text;
        }
        return std::unexpected(unexpected_token());
    }

    std::expected<std::vector<std::string>, ServerError> qualified_name() {
        std::vector<std::string> parts;
        auto first = name();
        if (!first) {
            return std::unexpected(first.error());
        }
        parts.push_back(*first);
        while (peek().is_symbol(".")) {
            ++i_;
            auto n = name();
            if (!n) {
                return std::unexpected(n.error());
            }
            parts.push_back(*n);
        }
        return parts;
    }

    // skip_rest: consumes tokens up to the end of the statement, balancing parentheses.
    void skip_rest() {
        int depth = 0;
        while (!at_end()) {
            if (peek().is_symbol("(")) {
                ++depth;
            } else if (peek().is_symbol(")")) {
                --depth;
            } else if (peek().is_symbol(";") && depth <= 0) {
                return;
            }
            ++i_;
        }
    }

    Result statement() {
        const Token& first = peek();
        if (first.is_symbol("(")) {
            // (SELECT ...)
            std::size_t save = i_;
            ++i_;
            if (peek().is("select") || peek().is("values")) {
                auto s = select_statement();
                if (!s) {
                    return std::unexpected(s.error());
                }
                if (auto e = expect_symbol(")"); !e) {
                    return std::unexpected(e.error());
                }
                return *s;
            }
            i_ = save;
            return std::unexpected(error_at(first));
        }
        if (first.kind != TokenKind::Identifier ||
            std::find(std::begin(kStatementKeywords), std::end(kStatementKeywords), first.text) ==
                std::end(kStatementKeywords)) {
            return std::unexpected(error_at(first));
        }
        const std::string& k = first.text;
        if (k == "select" || k == "values") {
            return select_statement();
        }
        if (k == "set") {
            return set_statement();
        }
        if (k == "reset") {
            return reset_statement();
        }
        if (k == "show") {
            return show_statement();
        }
        if (k == "begin" || k == "start" || k == "commit" || k == "end" || k == "rollback" ||
            k == "abort" || k == "savepoint" || k == "release") {
            return transaction_statement();
        }
        if (k == "discard" || k == "deallocate" || k == "close" || k == "listen" ||
            k == "unlisten" || k == "notify" || k == "checkpoint") {
            return utility_statement();
        }
        return object_statement();
    }

    // --- SELECT ------------------------------------------------------------------------------

    std::expected<std::shared_ptr<SelectStmt>, ServerError> select_statement() {
        auto s = std::make_shared<SelectStmt>();
        if (accept("values")) {
            s->is_values = true;
            do {
                if (auto e = expect_symbol("("); !e) {
                    return std::unexpected(e.error());
                }
                std::vector<ExprPtr> row;
                do {
                    auto x = expr();
                    if (!x) {
                        return std::unexpected(x.error());
                    }
                    row.push_back(std::move(*x));
                } while (accept_symbol(","));
                if (auto e = expect_symbol(")"); !e) {
                    return std::unexpected(e.error());
                }
                s->values.push_back(std::move(row));
            } while (accept_symbol(","));
            if (auto e = tail(*s); !e) {
                return std::unexpected(e.error());
            }
            return s;
        }
        if (auto e = expect("select"); !e) {
            return std::unexpected(e.error());
        }
        if (!accept("all")) {
            if (accept("distinct")) {
                if (accept("on")) {
                    if (auto e = expect_symbol("("); !e) {
                        return std::unexpected(e.error());
                    }
                    do {
                        auto x = expr();
                        if (!x) {
                            return std::unexpected(x.error());
                        }
                    } while (accept_symbol(","));
                    if (auto e = expect_symbol(")"); !e) {
                        return std::unexpected(e.error());
                    }
                }
            }
        }
        // an empty target list is valid ("SELECT;", "SELECT FROM t")
        if (!at_end() && !peek().is_symbol(";") && !peek().is_symbol(")") && !peek().is("from") &&
            !peek().is("where") && !peek().is("limit") && !peek().is("union")) {
            do {
                SelectTarget target;
                target.offset = peek().offset;
                if (peek().is_symbol("*")) {
                    ++i_;
                    target.star = true;
                    s->targets.push_back(std::move(target));
                    continue;
                }
                auto x = expr();
                if (!x) {
                    return std::unexpected(x.error());
                }
                target.expr = std::move(*x);
                if (accept("as")) {
                    auto n = label();
                    if (!n) {
                        return std::unexpected(n.error());
                    }
                    target.alias = *n;
                } else if ((peek().kind == TokenKind::Identifier && !reserved(peek())) ||
                           peek().kind == TokenKind::QuotedIdentifier) {
                    target.alias = take().text;
                }
                s->targets.push_back(std::move(target));
            } while (accept_symbol(","));
        }
        if (accept("from")) {
            do {
                if (auto e = from_item(*s); !e) {
                    return std::unexpected(e.error());
                }
            } while (accept_symbol(","));
        }
        if (accept("where")) {
            auto x = expr();
            if (!x) {
                return std::unexpected(x.error());
            }
            s->where = std::move(*x);
        }
        if (peek().is("group") && peek(1).is("by")) {
            s->grouped = true;
            i_ += 2;
            do {
                auto x = expr();
                if (!x) {
                    return std::unexpected(x.error());
                }
            } while (accept_symbol(","));
        }
        if (accept("having")) {
            s->grouped = true;
            auto x = expr();
            if (!x) {
                return std::unexpected(x.error());
            }
        }
        if (auto e = tail(*s); !e) {
            return std::unexpected(e.error());
        }
        return s;
    }

    // ORDER BY, LIMIT, OFFSET, FETCH, FOR UPDATE
    std::expected<void, ServerError> tail(SelectStmt& s) {
        if (peek().is("order") && peek(1).is("by")) {
            i_ += 2;
            do {
                auto x = expr();
                if (!x) {
                    return std::unexpected(x.error());
                }
                if (!accept("asc")) {
                    accept("desc");
                }
                if (accept("nulls")) {
                    if (!accept("first") && !accept("last")) {
                        return std::unexpected(unexpected_token());
                    }
                }
            } while (accept_symbol(","));
        }
        for (int k = 0; k < 2; ++k) {
            if (accept("limit")) {
                if (accept("all")) {
                    continue;
                }
                auto n = integer_constant();
                if (!n) {
                    return std::unexpected(n.error());
                }
                s.limit = *n;
            } else if (accept("offset")) {
                auto n = integer_constant();
                if (!n) {
                    return std::unexpected(n.error());
                }
                s.offset_rows = *n;
                if (!accept("rows")) {
                    accept("row");
                }
            }
        }
        if (accept("for")) {
            if (!accept("update") && !accept("share")) {
                if (accept("no")) {
                    if (auto e = expect("key"); !e) {
                        return e;
                    }
                    if (auto e = expect("update"); !e) {
                        return e;
                    }
                } else if (accept("key")) {
                    if (auto e = expect("share"); !e) {
                        return e;
                    }
                } else {
                    return std::unexpected(unexpected_token());
                }
            }
            if (accept("nowait")) {
                return {};
            }
            if (accept("skip")) {
                return expect("locked");
            }
        }
        return {};
    }

    std::expected<std::int64_t, ServerError> integer_constant() {
        const auto& t = peek();
        if (t.kind != TokenKind::Integer) {
            return std::unexpected(unexpected_token());
        }
        ++i_;
        auto v = parse_text(oid::kInt8, t.text);
        if (!v) {
            return std::unexpected(v.error());
        }
        return v->as_int().value_or(0);
    }

    std::expected<void, ServerError> from_item(SelectStmt& s) {
        if (peek().is_symbol("(")) {
            ++i_;
            if (!peek().is("select") && !peek().is("values")) {
                return std::unexpected(unexpected_token());
            }
            auto sub = select_statement();
            if (!sub) {
                return std::unexpected(sub.error());
            }
            if (auto e = expect_symbol(")"); !e) {
                return e;
            }
            s.from_subqueries.push_back(*sub);
            alias_clause();
        } else {
            accept("only");
            RelationRef r;
            r.offset = peek().offset;
            auto n = qualified_name();
            if (!n) {
                return std::unexpected(n.error());
            }
            r.names = *n;
            if (peek().is_symbol("(")) {
                // a set-returning function in FROM: generate_series(...)
                return std::unexpected(
                    errors::function_missing(r.names.back() + "()", position_of(q_, r.offset)));
            }
            s.from_relations.push_back(std::move(r));
            s.from_relations.back().alias = alias_clause();
        }
        // joins
        while (true) {
            bool join = false;
            if (accept("cross") || accept("natural")) {
                join = true;
            }
            if (accept("inner")) {
                join = true;
            } else if (accept("left") || accept("right") || accept("full")) {
                accept("outer");
                join = true;
            }
            if (!accept("join")) {
                if (join) {
                    return std::unexpected(unexpected_token());
                }
                break;
            }
            if (auto e = from_item(s); !e) {
                return e;
            }
            if (accept("on")) {
                auto x = expr();
                if (!x) {
                    return std::unexpected(x.error());
                }
            } else if (accept("using")) {
                if (auto e = expect_symbol("("); !e) {
                    return e;
                }
                do {
                    auto n = name();
                    if (!n) {
                        return std::unexpected(n.error());
                    }
                } while (accept_symbol(","));
                if (auto e = expect_symbol(")"); !e) {
                    return e;
                }
            }
        }
        return {};
    }

    // alias_clause: [AS] alias [(column aliases)]; the alias, if there is one.
    std::optional<std::string> alias_clause() {
        std::optional<std::string> alias;
        if (accept("as")) {
            alias = take().text;
        } else if ((peek().kind == TokenKind::Identifier && !reserved(peek()) &&
                    !peek().is("join") && !peek().is("inner") && !peek().is("left") &&
                    !peek().is("right") && !peek().is("full") && !peek().is("cross") &&
                    !peek().is("natural")) ||
                   peek().kind == TokenKind::QuotedIdentifier) {
            alias = take().text;
        } else {
            return std::nullopt;
        }
        if (peek().is_symbol("(")) {
            skip_parenthesised();
        }
        return alias;
    }

    void skip_parenthesised() {
        int depth = 0;
        do {
            if (peek().is_symbol("(")) {
                ++depth;
            } else if (peek().is_symbol(")")) {
                --depth;
            }
            take();
        } while (depth > 0 && !at_end());
    }

    // a column label after AS: any identifier or keyword
    std::expected<std::string, ServerError> label() {
        const auto& t = peek();
        if (t.kind == TokenKind::Identifier || t.kind == TokenKind::QuotedIdentifier) {
            ++i_;
            return t.text;
        }
        return std::unexpected(unexpected_token());
    }

    // --- expressions -------------------------------------------------------------------------

    ExprPtr node(ExprKind kind, std::size_t offset) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->offset = offset;
        return e;
    }

    // Nesting (parentheses, function arguments, subqueries, unary signs) is bounded: the
    // parser recurses, and a hostile query must end in PostgreSQL's error, not a stack overflow
    // (found by fuzzing: 800 bytes of "f(((" overflowed the stack). PostgreSQL itself allows
    // deeper nesting before check_stack_depth() refuses it; no client nests this deep.
    static constexpr int kMaxNesting = 100;

    ExprResult expr() {
        standin::NestingGuard guard(depth_, kMaxNesting);
        if (guard.too_deep()) {
            return std::unexpected(errors::stack_depth_exceeded());
        }
        return or_expr();
    }

    ExprResult binary_chain(ExprResult (Parser::*next)(),
                            std::initializer_list<std::string_view> ops, bool keywords) {
        auto left = (this->*next)();
        if (!left) {
            return left;
        }
        while (true) {
            const auto& t = peek();
            bool match = false;
            for (auto op : ops) {
                if (keywords ? t.is(op) : (t.kind == TokenKind::Operator && t.text == op)) {
                    match = true;
                }
            }
            if (!match) {
                return left;
            }
            auto n = node(ExprKind::Binary, t.offset);
            n->text = t.text;
            ++i_;
            auto right = (this->*next)();
            if (!right) {
                return right;
            }
            n->args.push_back(std::move(*left));
            n->args.push_back(std::move(*right));
            left = std::move(n);
        }
    }

    ExprResult or_expr() { return binary_chain(&Parser::and_expr, {"or"}, true); }
    ExprResult and_expr() { return binary_chain(&Parser::not_expr, {"and"}, true); }

    ExprResult not_expr() {
        if (peek().is("not")) {
            auto n = node(ExprKind::Unary, peek().offset);
            n->text = "not";
            ++i_;
            auto x = not_expr();
            if (!x) {
                return x;
            }
            n->args.push_back(std::move(*x));
            return n;
        }
        return is_expr();
    }

    ExprResult is_expr() {
        auto left = comparison_expr();
        if (!left) {
            return left;
        }
        while (true) {
            if (peek().is("isnull") || peek().is("notnull")) {
                auto n = node(ExprKind::IsNull, peek().offset);
                n->negated = peek().is("notnull");
                ++i_;
                n->args.push_back(std::move(*left));
                left = std::move(n);
                continue;
            }
            if (!peek().is("is")) {
                return left;
            }
            std::size_t at = peek().offset;
            ++i_;
            bool negated = accept("not");
            if (accept("null")) {
                auto n = node(ExprKind::IsNull, at);
                n->negated = negated;
                n->args.push_back(std::move(*left));
                left = std::move(n);
            } else if (peek().is("true") || peek().is("false") || peek().is("unknown")) {
                auto n = node(peek().is("unknown") ? ExprKind::IsNull : ExprKind::IsBool, at);
                n->text = peek().is("true") ? "t" : "f";
                n->negated = negated;
                ++i_;
                n->args.push_back(std::move(*left));
                left = std::move(n);
            } else if (accept("distinct")) {
                if (auto e = expect("from"); !e) {
                    return std::unexpected(e.error());
                }
                auto right = comparison_expr();
                if (!right) {
                    return right;
                }
                auto n = node(ExprKind::Binary, at);
                n->text = negated ? "is not distinct from" : "is distinct from";
                n->args.push_back(std::move(*left));
                n->args.push_back(std::move(*right));
                left = std::move(n);
            } else {
                return std::unexpected(unexpected_token());
            }
        }
    }

    ExprResult comparison_expr() {
        auto left = like_expr();
        if (!left) {
            return left;
        }
        const auto& t = peek();
        if (t.kind == TokenKind::Operator && (t.text == "<" || t.text == ">" || t.text == "=" ||
                                              t.text == "<=" || t.text == ">=" || t.text == "<>")) {
            auto n = node(ExprKind::Binary, t.offset);
            n->text = t.text;
            ++i_;
            auto right = like_expr();
            if (!right) {
                return right;
            }
            n->args.push_back(std::move(*left));
            n->args.push_back(std::move(*right));
            return n;
        }
        return left;
    }

    ExprResult like_expr() {
        auto left = other_op_expr();
        if (!left) {
            return left;
        }
        std::size_t save = i_;
        bool negated = false;
        if (peek().is("not") && (peek(1).is("between") || peek(1).is("in") || peek(1).is("like") ||
                                 peek(1).is("ilike"))) {
            negated = true;
            ++i_;
        }
        if (peek().is("between")) {
            auto n = node(ExprKind::Between, peek().offset);
            ++i_;
            accept("symmetric");
            n->negated = negated;
            auto low = other_op_expr();
            if (!low) {
                return low;
            }
            if (auto e = expect("and"); !e) {
                return std::unexpected(e.error());
            }
            auto high = other_op_expr();
            if (!high) {
                return high;
            }
            n->args.push_back(std::move(*left));
            n->args.push_back(std::move(*low));
            n->args.push_back(std::move(*high));
            return n;
        }
        if (peek().is("in")) {
            auto n = node(ExprKind::InList, peek().offset);
            ++i_;
            n->negated = negated;
            if (auto e = expect_symbol("("); !e) {
                return std::unexpected(e.error());
            }
            n->args.push_back(std::move(*left));
            do {
                auto x = expr();
                if (!x) {
                    return x;
                }
                n->args.push_back(std::move(*x));
            } while (accept_symbol(","));
            if (auto e = expect_symbol(")"); !e) {
                return std::unexpected(e.error());
            }
            return n;
        }
        if (peek().is("like") || peek().is("ilike")) {
            auto n = node(ExprKind::Binary, peek().offset);
            n->text = std::string(negated ? "not " : "") + peek().text;
            ++i_;
            auto right = other_op_expr();
            if (!right) {
                return right;
            }
            n->args.push_back(std::move(*left));
            n->args.push_back(std::move(*right));
            return n;
        }
        i_ = save;
        return left;
    }

    static bool generic_operator(const Token& t) {
        if (t.kind != TokenKind::Operator) {
            return false;
        }
        static constexpr std::string_view kHandled[] = {"<", ">", "=", "<=", ">=", "<>",
                                                        "+", "-", "*", "/",  "%",  "^"};
        return std::find(std::begin(kHandled), std::end(kHandled), t.text) == std::end(kHandled);
    }

    ExprResult other_op_expr() {
        auto left = additive_expr();
        if (!left) {
            return left;
        }
        while (generic_operator(peek())) {
            auto n = node(ExprKind::Binary, peek().offset);
            n->text = peek().text;
            ++i_;
            auto right = additive_expr();
            if (!right) {
                return right;
            }
            n->args.push_back(std::move(*left));
            n->args.push_back(std::move(*right));
            left = std::move(n);
        }
        return left;
    }

    ExprResult additive_expr() {
        return binary_chain(&Parser::multiplicative_expr, {"+", "-"}, false);
    }
    ExprResult multiplicative_expr() {
        return binary_chain(&Parser::power_expr, {"*", "/", "%"}, false);
    }
    ExprResult power_expr() { return binary_chain(&Parser::unary_expr, {"^"}, false); }

    ExprResult unary_expr() {
        const auto& t = peek();
        if (t.kind == TokenKind::Operator && (t.text == "-" || t.text == "+")) {
            // a negative numeric literal is one constant, as in PostgreSQL's grammar
            if (t.text == "-" &&
                (peek(1).kind == TokenKind::Integer || peek(1).kind == TokenKind::Decimal ||
                 peek(1).kind == TokenKind::Real) &&
                !peek(2).is_symbol("::")) {
                std::size_t at = t.offset;
                i_ += 1;
                auto lit = postfix_expr();
                if (!lit) {
                    return lit;
                }
                (*lit)->text = "-" + (*lit)->text;
                (*lit)->offset = at;
                return lit;
            }
            auto n = node(ExprKind::Unary, t.offset);
            n->text = t.text;
            ++i_;
            standin::NestingGuard guard(depth_, kMaxNesting);
            if (guard.too_deep()) {
                return std::unexpected(errors::stack_depth_exceeded());
            }
            auto x = unary_expr();
            if (!x) {
                return x;
            }
            n->args.push_back(std::move(*x));
            return n;
        }
        return postfix_expr();
    }

    ExprResult postfix_expr() {
        auto x = primary();
        if (!x) {
            return x;
        }
        while (peek().is_symbol("::")) {
            std::size_t at = peek().offset;
            ++i_;
            auto n = node(ExprKind::Cast, peek().offset);
            n->operator_offset = at;
            auto type = type_name(*n);
            if (!type) {
                return std::unexpected(type.error());
            }
            n->args.push_back(std::move(*x));
            x = std::move(n);
        }
        return x;
    }

    // type_name: fills type_name / type_modifier of a Cast node; offset = the type's place.
    std::expected<void, ServerError> type_name(Expr& n) {
        n.offset = peek().offset;
        auto first = name();
        if (!first) {
            return std::unexpected(first.error());
        }
        std::string type = *first;
        if (type == "double" && accept("precision")) {
            type = "double precision";
        } else if ((type == "character" || type == "char") && accept("varying")) {
            type = "character varying";
        } else if (type == "national") {
            accept("character");
            accept("char");
            type = accept("varying") ? "character varying" : "character";
        } else if (type == "bit" && accept("varying")) {
            type = "varbit";
        }
        while (peek().is_symbol(".")) {
            ++i_;
            auto more = name();
            if (!more) {
                return std::unexpected(more.error());
            }
            type += "." + *more;
        }
        std::vector<std::int64_t> mods;
        if (peek().is_symbol("(")) {
            ++i_;
            do {
                auto v = integer_constant();
                if (!v) {
                    return std::unexpected(v.error());
                }
                mods.push_back(*v);
            } while (accept_symbol(","));
            if (auto e = expect_symbol(")"); !e) {
                return e;
            }
        }
        if (type == "timestamp" || type == "time") {
            if (accept("with")) {
                if (auto e = expect("time"); !e) {
                    return e;
                }
                if (auto e = expect("zone"); !e) {
                    return e;
                }
                type = type == "timestamp" ? "timestamptz" : "timetz";
            } else if (accept("without")) {
                if (auto e = expect("time"); !e) {
                    return e;
                }
                if (auto e = expect("zone"); !e) {
                    return e;
                }
            }
        }
        while (peek().is_symbol("[")) {
            ++i_;
            if (peek().kind == TokenKind::Integer) {
                ++i_;
            }
            if (auto e = expect_symbol("]"); !e) {
                return e;
            }
            type += "[]";
        }
        n.type_name = type;
        if (!mods.empty()) {
            if (type == "numeric" || type == "decimal" || type == "dec") {
                std::int64_t precision = mods[0];
                std::int64_t scale = mods.size() > 1 ? mods[1] : 0;
                n.type_modifier =
                    static_cast<std::int32_t>(((precision << 16) | (scale & 0xFFFF)) + 4);
            } else if (mods[0] >= 0 && mods[0] < 10485760) {
                n.type_modifier = static_cast<std::int32_t>(mods[0] + 4);
            }
        } else if (type == "character" || type == "char" || type == "bpchar") {
            n.type_modifier = type == "bpchar" ? -1 : 5; // char = char(1)
        }
        return {};
    }

    ExprResult primary() {
        const Token& t = peek();
        switch (t.kind) {
        case TokenKind::Integer: {
            auto n = node(ExprKind::Integer, t.offset);
            n->text = t.text;
            ++i_;
            return n;
        }
        case TokenKind::Decimal:
        case TokenKind::Real: {
            auto n = node(ExprKind::Numeric, t.offset);
            n->text = t.text;
            ++i_;
            return n;
        }
        case TokenKind::String: {
            auto n = node(ExprKind::String, t.offset);
            n->text = t.text;
            ++i_;
            return n;
        }
        case TokenKind::Parameter: {
            auto n = node(ExprKind::Parameter, t.offset);
            std::size_t number = 0;
            auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), number);
            n->parameter = (ec == std::errc{} && end == t.text.data() + t.text.size()) ? number : 0;
            if (n->parameter == 0 || n->parameter > 65535) {
                return std::unexpected(
                    errors::no_parameter(n->parameter, position_of(q_, t.offset)));
            }
            ++i_;
            return n;
        }
        case TokenKind::Symbol:
            if (t.is_symbol("(")) {
                std::size_t at = t.offset;
                ++i_;
                if (peek().is("select") || peek().is("values")) {
                    auto sub = select_statement();
                    if (!sub) {
                        return std::unexpected(sub.error());
                    }
                    if (auto e = expect_symbol(")"); !e) {
                        return std::unexpected(e.error());
                    }
                    auto n = node(ExprKind::Subquery, at);
                    n->select = *sub;
                    return n;
                }
                auto x = expr();
                if (!x) {
                    return x;
                }
                if (peek().is_symbol(",")) {
                    // a row constructor: not supported; PostgreSQL would accept it
                    return std::unexpected(errors::feature_not_supported(
                        "row constructors are not supported by this server"));
                }
                if (auto e = expect_symbol(")"); !e) {
                    return std::unexpected(e.error());
                }
                return x;
            }
            return std::unexpected(unexpected_token());
        case TokenKind::Identifier:
            return identifier_primary();
        case TokenKind::QuotedIdentifier:
            return column_or_function();
        case TokenKind::Operator:
        case TokenKind::End:
            break;
        }
        return std::unexpected(unexpected_token());
    }

    ExprResult identifier_primary() {
        const Token& t = peek();
        const std::string& k = t.text;
        if (k == "true" || k == "false") {
            auto n = node(ExprKind::Bool, t.offset);
            n->text = k == "true" ? "t" : "f";
            ++i_;
            return n;
        }
        if (k == "null") {
            auto n = node(ExprKind::Null, t.offset);
            ++i_;
            return n;
        }
        if (k == "cast" && peek(1).is_symbol("(")) {
            std::size_t at = t.offset;
            i_ += 2;
            auto x = expr();
            if (!x) {
                return x;
            }
            if (auto e = expect("as"); !e) {
                return std::unexpected(e.error());
            }
            auto n = node(ExprKind::Cast, at);
            n->operator_offset = at;
            if (auto e = type_name(*n); !e) {
                return std::unexpected(e.error());
            }
            if (auto e = expect_symbol(")"); !e) {
                return std::unexpected(e.error());
            }
            n->args.push_back(std::move(*x));
            return n;
        }
        if (k == "case") {
            return case_expr();
        }
        if ((k == "coalesce" || k == "greatest" || k == "least" || k == "nullif") &&
            peek(1).is_symbol("(")) {
            auto n = node(ExprKind::Coalesce, t.offset);
            n->text = k;
            i_ += 2;
            do {
                auto x = expr();
                if (!x) {
                    return x;
                }
                n->args.push_back(std::move(*x));
            } while (accept_symbol(","));
            if (auto e = expect_symbol(")"); !e) {
                return std::unexpected(e.error());
            }
            return n;
        }
        static constexpr std::string_view kSqlFunctions[] = {
            "current_user",    "session_user",   "user",         "current_role",
            "current_catalog", "current_date",   "current_time", "current_timestamp",
            "localtime",       "localtimestamp", "system_user",
        };
        if (std::find(std::begin(kSqlFunctions), std::end(kSqlFunctions), k) !=
            std::end(kSqlFunctions)) {
            auto n = node(ExprKind::SqlFunction, t.offset);
            n->text = k;
            ++i_;
            if ((k == "current_time" || k == "current_timestamp" || k == "localtime" ||
                 k == "localtimestamp") &&
                peek().is_symbol("(")) {
                ++i_;
                auto p = integer_constant();
                if (!p) {
                    return std::unexpected(p.error());
                }
                if (auto e = expect_symbol(")"); !e) {
                    return std::unexpected(e.error());
                }
            }
            return n;
        }
        if (k == "exists" && peek(1).is_symbol("(")) {
            return std::unexpected(errors::feature_not_supported(
                "EXISTS subqueries are not supported by this server"));
        }
        if (k == "array" && (peek(1).is_symbol("[") || peek(1).is_symbol("("))) {
            return std::unexpected(
                errors::feature_not_supported("arrays are not supported by this server"));
        }
        if (k == "interval" && peek(1).kind == TokenKind::String) {
            auto n = node(ExprKind::Cast, t.offset);
            n->type_name = "interval";
            ++i_;
            auto s = node(ExprKind::String, peek().offset);
            s->text = take().text;
            n->args.push_back(std::move(s));
            return n;
        }
        if (reserved(t) && k != "current_schema") {
            return std::unexpected(unexpected_token());
        }
        // type 'literal' (int4 '5', date '2024-01-01', double precision '1')
        if (peek(1).kind == TokenKind::String && t.kind == TokenKind::Identifier) {
            auto n = node(ExprKind::Cast, t.offset);
            n->type_name = k;
            ++i_;
            auto s = node(ExprKind::String, peek().offset);
            s->text = take().text;
            n->args.push_back(std::move(s));
            return n;
        }
        return column_or_function();
    }

    ExprResult column_or_function() {
        std::size_t at = peek().offset;
        std::vector<std::string> names;
        names.push_back(take().text);
        while (peek().is_symbol(".")) {
            ++i_;
            if (peek().is_symbol("*")) {
                ++i_;
                auto n = node(ExprKind::Column, at);
                n->names = names;
                n->star = true;
                return n;
            }
            auto part = label();
            if (!part) {
                return std::unexpected(part.error());
            }
            names.push_back(*part);
        }
        if (!peek().is_symbol("(")) {
            auto n = node(ExprKind::Column, at);
            n->names = std::move(names);
            return n;
        }
        ++i_;
        auto n = node(ExprKind::Function, at);
        n->names = std::move(names);
        if (accept_symbol("*")) {
            n->star = true;
        } else if (!peek().is_symbol(")")) {
            accept("distinct");
            accept("all");
            do {
                auto x = expr();
                if (!x) {
                    return x;
                }
                n->args.push_back(std::move(*x));
            } while (accept_symbol(","));
        }
        if (auto e = expect_symbol(")"); !e) {
            return std::unexpected(e.error());
        }
        if (accept("over")) {
            if (peek().is_symbol("(")) {
                skip_parenthesised();
            } else {
                take();
            }
        }
        return n;
    }

    ExprResult case_expr() {
        auto n = node(ExprKind::Case, peek().offset);
        ++i_;
        if (!peek().is("when")) {
            auto operand = expr();
            if (!operand) {
                return operand;
            }
            n->case_operand = true;
            n->args.push_back(std::move(*operand));
        }
        if (!peek().is("when")) {
            return std::unexpected(unexpected_token());
        }
        while (accept("when")) {
            auto w = expr();
            if (!w) {
                return w;
            }
            if (auto e = expect("then"); !e) {
                return std::unexpected(e.error());
            }
            auto th = expr();
            if (!th) {
                return th;
            }
            n->args.push_back(std::move(*w));
            n->args.push_back(std::move(*th));
        }
        if (accept("else")) {
            auto el = expr();
            if (!el) {
                return el;
            }
            n->has_else = true;
            n->args.push_back(std::move(*el));
        }
        if (auto e = expect("end"); !e) {
            return std::unexpected(e.error());
        }
        return n;
    }

    // --- SET / RESET / SHOW ------------------------------------------------------------------

    // var_name: name [. name ...]
    std::expected<std::string, ServerError> var_name() {
        auto parts = qualified_name();
        if (!parts) {
            return std::unexpected(parts.error());
        }
        std::string out;
        for (std::size_t k = 0; k < parts->size(); ++k) {
            out += (k ? "." : "") + (*parts)[k];
        }
        return out;
    }

    std::expected<std::vector<std::pair<std::string, std::string>>, ServerError>
    transaction_modes(bool required) {
        std::vector<std::pair<std::string, std::string>> modes;
        bool first = true;
        while (true) {
            if (!first) {
                accept_symbol(",");
            }
            if (accept("isolation")) {
                if (auto e = expect("level"); !e) {
                    return std::unexpected(e.error());
                }
                std::string level;
                if (accept("serializable")) {
                    level = "serializable";
                } else if (accept("repeatable")) {
                    if (auto e = expect("read"); !e) {
                        return std::unexpected(e.error());
                    }
                    level = "repeatable read";
                } else if (accept("read")) {
                    if (accept("committed")) {
                        level = "read committed";
                    } else if (accept("uncommitted")) {
                        level = "read uncommitted";
                    } else {
                        return std::unexpected(unexpected_token());
                    }
                } else {
                    return std::unexpected(unexpected_token());
                }
                modes.emplace_back("transaction_isolation", level);
            } else if (peek().is("read") && (peek(1).is("only") || peek(1).is("write"))) {
                ++i_;
                modes.emplace_back("transaction_read_only", take().is("only") ? "on" : "off");
            } else if (accept("deferrable")) {
                modes.emplace_back("transaction_deferrable", "on");
            } else if (peek().is("not") && peek(1).is("deferrable")) {
                i_ += 2;
                modes.emplace_back("transaction_deferrable", "off");
            } else {
                if (first && required) {
                    return std::unexpected(unexpected_token());
                }
                break;
            }
            first = false;
        }
        return modes;
    }

    std::expected<std::vector<SettingArgument>, ServerError> set_values() {
        std::vector<SettingArgument> args;
        do {
            const auto& t = peek();
            SettingArgument a;
            if (t.kind == TokenKind::String || t.kind == TokenKind::QuotedIdentifier) {
                a.text = t.text;
                ++i_;
            } else if (t.kind == TokenKind::Identifier) {
                if (t.text == "default" && args.empty()) {
                    ++i_;
                    return std::vector<SettingArgument>{};
                }
                a.text = t.text;
                ++i_;
                // qualified names (pg_catalog.english) as one string
                while (peek().is_symbol(".") && peek(1).kind == TokenKind::Identifier) {
                    a.text += "." + peek(1).text;
                    i_ += 2;
                }
            } else if (t.kind == TokenKind::Integer || t.kind == TokenKind::Decimal ||
                       t.kind == TokenKind::Real) {
                a.kind = SettingArgument::Kind::Number;
                a.text = t.text;
                ++i_;
            } else if (t.kind == TokenKind::Operator && (t.text == "-" || t.text == "+") &&
                       (peek(1).kind == TokenKind::Integer || peek(1).kind == TokenKind::Decimal ||
                        peek(1).kind == TokenKind::Real)) {
                a.kind = SettingArgument::Kind::Number;
                a.text = (t.text == "-" ? "-" : "") + peek(1).text;
                i_ += 2;
            } else {
                return std::unexpected(unexpected_token());
            }
            args.push_back(std::move(a));
        } while (accept_symbol(","));
        return args;
    }

    Result set_statement() {
        ++i_; // SET
        SetStmt s;
        if (accept("local")) {
            s.scope = SettingScope::Local;
        } else if (peek().is("session") && !peek(1).is("authorization") &&
                   !peek(1).is("characteristics") && !peek(1).is_symbol("=") && !peek(1).is("to")) {
            ++i_;
        }
        if (peek().is("session") && peek(1).is("characteristics")) {
            i_ += 2;
            if (auto e = expect("as"); !e) {
                return std::unexpected(e.error());
            }
            if (auto e = expect("transaction"); !e) {
                return std::unexpected(e.error());
            }
            auto modes = transaction_modes(true);
            if (!modes) {
                return std::unexpected(modes.error());
            }
            s.form = SetStmt::Form::SessionCharacteristics;
            s.modes = *modes;
            return s;
        }
        if (peek().is("session") && peek(1).is("authorization")) {
            i_ += 2;
            s.form = SetStmt::Form::SessionAuthorization;
            if (accept("default")) {
                return s;
            }
            const auto& t = peek();
            if (t.kind != TokenKind::String && t.kind != TokenKind::Identifier &&
                t.kind != TokenKind::QuotedIdentifier) {
                return std::unexpected(unexpected_token());
            }
            s.role = take().text;
            return s;
        }
        if (accept("transaction")) {
            if (peek().is("snapshot")) {
                return std::unexpected(
                    errors::feature_not_supported("SET TRANSACTION SNAPSHOT is not supported"));
            }
            auto modes = transaction_modes(true);
            if (!modes) {
                return std::unexpected(modes.error());
            }
            s.form = SetStmt::Form::Transaction;
            s.modes = *modes;
            return s;
        }
        if (accept("role")) {
            s.form = SetStmt::Form::Role;
            const auto& t = peek();
            if (t.kind != TokenKind::String && t.kind != TokenKind::Identifier &&
                t.kind != TokenKind::QuotedIdentifier) {
                return std::unexpected(unexpected_token());
            }
            s.role = take().text;
            if (s.role == "none") {
                s.role.clear();
            }
            return s;
        }
        if (peek().is("time") && peek(1).is("zone")) {
            i_ += 2;
            s.name = "timezone";
            if (accept("local") || accept("default")) {
                s.form = SetStmt::Form::TimeZoneLocal;
                return s;
            }
            if (accept("interval")) {
                const auto& t = peek();
                if (t.kind != TokenKind::String) {
                    return std::unexpected(unexpected_token());
                }
                std::string v = take().text;
                skip_rest();
                // an interval offset: hours east of UTC become a POSIX zone "<+02>-02"
                std::string sign = v.starts_with("-") ? "-" : "+";
                std::string digits = v;
                if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
                    digits.erase(0, 1);
                }
                auto hours = digits.substr(0, digits.find(':'));
                if (hours.size() == 1) {
                    hours = "0" + hours;
                }
                s.args.push_back({SettingArgument::Kind::String,
                                  "<" + sign + hours + ">" + (sign == "+" ? "-" : "+") + hours});
                return s;
            }
            auto v = set_values();
            if (!v) {
                return std::unexpected(v.error());
            }
            s.args = *v;
            if (s.args.size() == 1 && s.args[0].kind == SettingArgument::Kind::Number) {
                // SET TIME ZONE -7: a numeric offset in hours
                std::string n = s.args[0].text;
                bool neg = n.starts_with("-");
                if (neg) {
                    n.erase(0, 1);
                }
                if (n.size() == 1) {
                    n = "0" + n;
                }
                s.args[0].kind = SettingArgument::Kind::String;
                s.args[0].text =
                    "<" + std::string(neg ? "-" : "+") + n + ">" + (neg ? "+" : "-") + n;
            }
            return s;
        }
        if (accept("names")) {
            s.name = "client_encoding";
            if (at_end() || peek().is_symbol(";")) {
                return s; // SET NAMES alone: DEFAULT
            }
            auto v = set_values();
            if (!v) {
                return std::unexpected(v.error());
            }
            s.args = *v;
            return s;
        }
        if (accept("schema")) {
            s.name = "search_path";
            const auto& t = peek();
            if (t.kind != TokenKind::String) {
                return std::unexpected(unexpected_token());
            }
            s.args.push_back({SettingArgument::Kind::String, take().text});
            return s;
        }
        if (peek().is("xml") && peek(1).is("option")) {
            i_ += 2;
            s.name = "xmloption";
            const auto& t = peek();
            if (!t.is("document") && !t.is("content")) {
                return std::unexpected(unexpected_token());
            }
            s.args.push_back({SettingArgument::Kind::String, take().text});
            return s;
        }
        auto n = var_name();
        if (!n) {
            return std::unexpected(n.error());
        }
        s.name = *n;
        if (!accept("to") && !accept_symbol("=")) {
            return std::unexpected(unexpected_token());
        }
        auto v = set_values();
        if (!v) {
            return std::unexpected(v.error());
        }
        s.args = *v;
        return s;
    }

    Result reset_statement() {
        ++i_;
        ResetStmt r;
        if (accept("all")) {
            r.all = true;
            r.name = "all";
            return r;
        }
        if (peek().is("time") && peek(1).is("zone")) {
            i_ += 2;
            r.name = "timezone";
            return r;
        }
        if (peek().is("session") && peek(1).is("authorization")) {
            i_ += 2;
            r.name = "session_authorization";
            return r;
        }
        if (peek().is("transaction") && peek(1).is("isolation")) {
            i_ += 2;
            if (auto e = expect("level"); !e) {
                return std::unexpected(e.error());
            }
            r.name = "transaction_isolation";
            return r;
        }
        auto n = var_name();
        if (!n) {
            return std::unexpected(n.error());
        }
        r.name = *n;
        return r;
    }

    Result show_statement() {
        ++i_;
        ShowStmt s;
        if (accept("all")) {
            s.all = true;
            s.name = "all";
            return s;
        }
        if (peek().is("time") && peek(1).is("zone")) {
            i_ += 2;
            s.name = "timezone";
            return s;
        }
        if (peek().is("session") && peek(1).is("authorization")) {
            i_ += 2;
            s.name = "session_authorization";
            return s;
        }
        if (peek().is("transaction") && peek(1).is("isolation")) {
            i_ += 2;
            if (auto e = expect("level"); !e) {
                return std::unexpected(e.error());
            }
            s.name = "transaction_isolation";
            return s;
        }
        auto n = var_name();
        if (!n) {
            return std::unexpected(n.error());
        }
        s.name = *n;
        return s;
    }

    // --- transactions ------------------------------------------------------------------------

    Result transaction_statement() {
        const std::string k = take().text;
        TransactionStmt s;
        auto opt_work = [&]() {
            if (!accept("work")) {
                accept("transaction");
            }
        };
        auto chain = [&]() -> std::expected<void, ServerError> {
            if (accept("and")) {
                bool no = accept("no");
                if (auto e = expect("chain"); !e) {
                    return e;
                }
                s.chain = !no;
            }
            return {};
        };
        if (k == "begin" || k == "start") {
            if (k == "start") {
                if (auto e = expect("transaction"); !e) {
                    return std::unexpected(e.error());
                }
                s.kind = TransactionStmt::Kind::StartTransaction;
            } else {
                opt_work();
                s.kind = TransactionStmt::Kind::Begin;
            }
            auto modes = transaction_modes(false);
            if (!modes) {
                return std::unexpected(modes.error());
            }
            s.modes = *modes;
            return s;
        }
        if (k == "commit" || k == "end") {
            if (k == "commit" && accept("prepared")) {
                s.kind = TransactionStmt::Kind::CommitPrepared;
                take();
                return s;
            }
            opt_work();
            s.kind = k == "commit" ? TransactionStmt::Kind::Commit : TransactionStmt::Kind::End;
            if (auto e = chain(); !e) {
                return std::unexpected(e.error());
            }
            return s;
        }
        if (k == "rollback" || k == "abort") {
            if (k == "rollback" && accept("prepared")) {
                s.kind = TransactionStmt::Kind::RollbackPrepared;
                take();
                return s;
            }
            opt_work();
            if (k == "rollback" && accept("to")) {
                accept("savepoint");
                auto n = name();
                if (!n) {
                    return std::unexpected(n.error());
                }
                s.kind = TransactionStmt::Kind::RollbackTo;
                s.savepoint = *n;
                return s;
            }
            s.kind =
                k == "rollback" ? TransactionStmt::Kind::Rollback : TransactionStmt::Kind::Abort;
            if (auto e = chain(); !e) {
                return std::unexpected(e.error());
            }
            return s;
        }
        if (k == "savepoint") {
            auto n = name();
            if (!n) {
                return std::unexpected(n.error());
            }
            s.kind = TransactionStmt::Kind::Savepoint;
            s.savepoint = *n;
            return s;
        }
        // release
        accept("savepoint");
        auto n = name();
        if (!n) {
            return std::unexpected(n.error());
        }
        s.kind = TransactionStmt::Kind::Release;
        s.savepoint = *n;
        return s;
    }

    // --- utilities ---------------------------------------------------------------------------

    Result utility_statement() {
        const std::string k = take().text;
        UtilityStmt u;
        if (k == "discard") {
            if (accept("all")) {
                u.kind = UtilityStmt::Kind::DiscardAll;
            } else if (accept("plans")) {
                u.kind = UtilityStmt::Kind::DiscardPlans;
            } else if (accept("sequences")) {
                u.kind = UtilityStmt::Kind::DiscardSequences;
            } else if (accept("temp") || accept("temporary")) {
                u.kind = UtilityStmt::Kind::DiscardTemp;
            } else {
                return std::unexpected(unexpected_token());
            }
            return u;
        }
        if (k == "deallocate") {
            accept("prepare");
            if (accept("all")) {
                u.kind = UtilityStmt::Kind::DeallocateAll;
                return u;
            }
            u.kind = UtilityStmt::Kind::Deallocate;
            auto n = name();
            if (!n) {
                return std::unexpected(n.error());
            }
            u.name = *n;
            return u;
        }
        if (k == "close") {
            if (accept("all")) {
                u.kind = UtilityStmt::Kind::CloseAll;
                return u;
            }
            u.kind = UtilityStmt::Kind::Close;
            auto n = name();
            if (!n) {
                return std::unexpected(n.error());
            }
            u.name = *n;
            return u;
        }
        if (k == "listen" || k == "notify") {
            u.kind = k == "listen" ? UtilityStmt::Kind::Listen : UtilityStmt::Kind::Notify;
            auto n = name();
            if (!n) {
                return std::unexpected(n.error());
            }
            u.name = *n;
            if (k == "notify" && accept_symbol(",")) {
                if (peek().kind != TokenKind::String) {
                    return std::unexpected(unexpected_token());
                }
                u.payload = take().text;
            }
            return u;
        }
        if (k == "unlisten") {
            if (accept_symbol("*")) {
                u.kind = UtilityStmt::Kind::UnlistenAll;
                return u;
            }
            u.kind = UtilityStmt::Kind::Unlisten;
            auto n = name();
            if (!n) {
                return std::unexpected(n.error());
            }
            u.name = *n;
            return u;
        }
        u.kind = UtilityStmt::Kind::Checkpoint;
        return u;
    }

    // --- statements on objects the stand-in does not have ------------------------------------

    Result relation_after(std::initializer_list<std::string_view> skip, ObjectStmt o) {
        for (auto w : skip) {
            if (auto e = expect(w); !e) {
                return std::unexpected(e.error());
            }
        }
        accept("only");
        o.offset = peek().offset;
        auto n = qualified_name();
        if (!n) {
            return std::unexpected(n.error());
        }
        std::string full;
        for (std::size_t k = 0; k < n->size(); ++k) {
            full += (k ? "." : "") + (*n)[k];
        }
        o.name = full;
        skip_rest();
        return o;
    }

    Result object_statement() {
        const std::string k = take().text;
        ObjectStmt o;
        o.kind = ObjectStmt::Kind::RelationMissing;
        if (k == "insert") {
            return relation_after({"into"}, o);
        }
        if (k == "merge") {
            return relation_after({"into"}, o);
        }
        if (k == "update" || k == "table" || k == "copy") {
            if (k == "copy" && peek().is_symbol("(")) {
                skip_rest();
                o.kind = ObjectStmt::Kind::Unsupported;
                o.name = "COPY";
                return o;
            }
            return relation_after({}, o);
        }
        if (k == "delete") {
            return relation_after({"from"}, o);
        }
        if (k == "truncate" || k == "lock") {
            accept("table");
            return relation_after({}, o);
        }
        if (k == "drop") {
            o.kind = ObjectStmt::Kind::Drop;
            std::string kind_word = peek().text;
            static constexpr std::string_view kKinds[] = {"table",    "view",      "index",
                                                          "sequence", "schema",    "function",
                                                          "type",     "extension", "materialized"};
            if (peek().kind != TokenKind::Identifier ||
                std::find(std::begin(kKinds), std::end(kKinds), kind_word) == std::end(kKinds)) {
                o.kind = ObjectStmt::Kind::Unsupported;
                skip_rest();
                return o;
            }
            ++i_;
            if (kind_word == "materialized") {
                if (auto e = expect("view"); !e) {
                    return std::unexpected(e.error());
                }
                kind_word = "materialized view";
            }
            o.object_kind = kind_word;
            if (accept("if")) {
                if (auto e = expect("exists"); !e) {
                    return std::unexpected(e.error());
                }
                o.if_exists = true;
            }
            o.offset = peek().offset;
            auto n = qualified_name();
            if (!n) {
                return std::unexpected(n.error());
            }
            o.name = n->back();
            std::string tag = "DROP ";
            for (char c : kind_word) {
                tag.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
            }
            o.tag = tag;
            skip_rest();
            return o;
        }
        if (k == "create") {
            o.kind = ObjectStmt::Kind::CreateDenied;
            accept("or") && accept("replace");
            accept("temp");
            accept("temporary");
            accept("unlogged");
            if (accept("table") || accept("view") || accept("sequence") || accept("index")) {
                if (accept("if")) {
                    accept("not");
                    accept("exists");
                }
                o.offset = peek().offset;
                auto n = qualified_name();
                if (!n) {
                    return std::unexpected(n.error());
                }
                o.name = n->back();
            } else {
                o.kind = ObjectStmt::Kind::Unsupported;
            }
            skip_rest();
            return o;
        }
        o.kind = ObjectStmt::Kind::Unsupported;
        o.name = k;
        skip_rest();
        return o;
    }

    std::string_view q_;
    std::vector<Token> t_;
    std::size_t i_ = 0;
    int depth_ = 0; // expression nesting (kMaxNesting)
};

} // namespace

std::expected<std::vector<Statement>, ServerError> parse_sql(std::string_view query,
                                                             LexOptions options) {
    auto tokens = lex_sql(query, options);
    if (!tokens) {
        return std::unexpected(tokens.error());
    }
    return Parser(query, std::move(*tokens)).run();
}

} // namespace standin::postgres
