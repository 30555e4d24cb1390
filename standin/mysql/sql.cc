#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <standin/mysql/sql.h>
#include <standin/mysql/sql_ast.h>
#include <standin/nesting_guard.h>

namespace standin::mysql {

namespace column_flag = ::mysql::column_flag;

// ---------------------------------------------------------------------------------------------
// Lexer

namespace {

enum class Tok : std::uint8_t {
    Word,
    QuotedIdent,
    Number,
    String,
    SysVar,
    UserVar,
    Param,
    Op,
    End
};

struct Token {
    Tok kind = Tok::End;
    std::string text; // words as written; strings unescaped; SysVar without "@@"
    std::size_t begin = 0;
    std::size_t end = 0;
};

bool ident_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || u >= 0x80;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

struct LexError {
    std::size_t at;
};

// skip_blank: spaces and comments; false (with `at`) for an unterminated /* comment.
bool skip_blank(std::string_view q, std::size_t& i, std::size_t end, std::size_t& error_at) {
    while (i < end) {
        char c = q[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
        } else if (c == '#' || (c == '-' && i + 2 <= end && q.substr(i, 2) == "--" &&
                                (i + 2 == end || q[i + 2] == ' ' || q[i + 2] == '\t' ||
                                 q[i + 2] == '\n' || q[i + 2] == '\r'))) {
            while (i < end && q[i] != '\n') {
                ++i;
            }
        } else if (c == '/' && i + 1 < end && q[i + 1] == '*') {
            // /*! version-specific comments are code in MySQL; the stand-in reads them as
            // comments.
            auto close = q.find("*/", i + 2);
            if (close == std::string_view::npos || close + 2 > end) {
                error_at = i;
                return false;
            }
            i = close + 2;
        } else {
            return true;
        }
    }
    return true;
}

std::variant<std::vector<Token>, LexError> lex(std::string_view q, std::size_t begin,
                                               std::size_t end, Syntax syntax) {
    std::vector<Token> out;
    std::size_t i = begin;
    while (true) {
        std::size_t err = 0;
        if (!skip_blank(q, i, end, err)) {
            return LexError{err};
        }
        if (i >= end) {
            break;
        }
        Token t;
        t.begin = i;
        char c = q[i];
        if (c == '\'' || (c == '"' && !syntax.ansi_quotes)) {
            char quote = c;
            ++i;
            std::string text;
            bool closed = false;
            while (i < end) {
                char d = q[i];
                if (d == '\\' && i + 1 < end && !syntax.no_backslash_escapes) {
                    char e = q[i + 1];
                    switch (e) {
                    case 'n':
                        text.push_back('\n');
                        break;
                    case 't':
                        text.push_back('\t');
                        break;
                    case 'r':
                        text.push_back('\r');
                        break;
                    case '0':
                        text.push_back('\0');
                        break;
                    case 'Z':
                        text.push_back('\x1a');
                        break;
                    case 'b':
                        text.push_back('\b');
                        break;
                    default:
                        text.push_back(e);
                    }
                    i += 2;
                } else if (d == quote) {
                    if (i + 1 < end && q[i + 1] == quote) {
                        text.push_back(quote);
                        i += 2;
                    } else {
                        ++i;
                        closed = true;
                        break;
                    }
                } else {
                    text.push_back(d);
                    ++i;
                }
            }
            if (!closed) {
                return LexError{t.begin};
            }
            t.kind = Tok::String;
            t.text = std::move(text);
        } else if (c == '`' || c == '"') {
            // a quoted identifier (" too under ANSI_QUOTES); a doubled quote is one
            char quote = c;
            ++i;
            std::string text;
            bool closed = false;
            while (i < end) {
                if (q[i] == quote) {
                    if (i + 1 < end && q[i + 1] == quote) {
                        text.push_back(quote);
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                text.push_back(q[i]);
                ++i;
            }
            if (!closed) {
                return LexError{t.begin};
            }
            t.kind = Tok::QuotedIdent;
            t.text = std::move(text);
        } else if (is_digit(c) || (c == '.' && i + 1 < end && is_digit(q[i + 1]))) {
            while (i < end && is_digit(q[i])) {
                ++i;
            }
            if (i < end && q[i] == '.') {
                ++i;
                while (i < end && is_digit(q[i])) {
                    ++i;
                }
            }
            if (i < end && (q[i] == 'e' || q[i] == 'E')) {
                std::size_t j = i + 1;
                if (j < end && (q[j] == '+' || q[j] == '-')) {
                    ++j;
                }
                if (j < end && is_digit(q[j])) {
                    i = j;
                    while (i < end && is_digit(q[i])) {
                        ++i;
                    }
                }
            }
            if (i < end && ident_char(q[i])) { // 1abc is an identifier in MySQL
                while (i < end && ident_char(q[i])) {
                    ++i;
                }
                t.kind = Tok::Word;
            } else {
                t.kind = Tok::Number;
            }
            t.text = std::string(q.substr(t.begin, i - t.begin));
        } else if (c == '@' && i + 1 < end && q[i + 1] == '@') {
            i += 2;
            std::size_t s = i;
            while (i < end && (ident_char(q[i]) || q[i] == '.')) {
                ++i;
            }
            if (i < end && q[i] == '`' && s == i) {
                auto close = q.find('`', i + 1);
                if (close == std::string_view::npos || close >= end) {
                    return LexError{t.begin};
                }
                i = close + 1;
                t.text = std::string(q.substr(s + 1, close - s - 1));
            } else {
                t.text = std::string(q.substr(s, i - s));
            }
            t.kind = Tok::SysVar;
        } else if (c == '@') {
            ++i;
            std::size_t s = i;
            if (i < end && (q[i] == '\'' || q[i] == '"' || q[i] == '`')) {
                char quote = q[i];
                auto close = q.find(quote, i + 1);
                if (close == std::string_view::npos || close >= end) {
                    return LexError{t.begin};
                }
                t.text = std::string(q.substr(i + 1, close - i - 1));
                i = close + 1;
            } else {
                while (i < end && (ident_char(q[i]) || q[i] == '.')) {
                    ++i;
                }
                t.text = std::string(q.substr(s, i - s));
            }
            t.kind = Tok::UserVar;
        } else if (c == '?') {
            ++i;
            t.kind = Tok::Param;
            t.text = "?";
        } else if (ident_char(c)) {
            while (i < end && ident_char(q[i])) {
                ++i;
            }
            t.kind = Tok::Word;
            t.text = std::string(q.substr(t.begin, i - t.begin));
        } else {
            static constexpr std::string_view kTwo[] = {"<=", ">=", "<>", "!=", ":=", "||", "&&"};
            t.kind = Tok::Op;
            std::size_t n = 1;
            for (auto op : kTwo) {
                if (q.substr(i, 2) == op && i + 2 <= end) {
                    n = 2;
                }
            }
            if (n == 2 && q.substr(i, 3) == "<=>" && i + 3 <= end) {
                n = 3;
            }
            t.text = std::string(q.substr(i, n));
            i += n;
        }
        t.end = i;
        out.push_back(std::move(t));
    }
    Token e;
    e.kind = Tok::End;
    e.begin = e.end = end;
    out.push_back(e);
    return out;
}

int line_of(std::string_view q, std::size_t at) {
    return 1 + static_cast<int>(std::count(q.begin(), q.begin() + static_cast<long>(at), '\n'));
}

ServerError syntax_error_at(Flavour f, std::string_view query, std::size_t at) {
    at = std::min(at, query.size());
    return errors::syntax_error(f, query.substr(at), line_of(query, at));
}

} // namespace

std::variant<std::vector<StatementText>, ServerError>
split_statements(Flavour f, std::string_view query, Syntax syntax) {
    auto lexed = lex(query, 0, query.size(), syntax);
    if (auto* e = std::get_if<LexError>(&lexed)) {
        return syntax_error_at(f, query, e->at);
    }
    const auto& tokens = std::get<std::vector<Token>>(lexed);
    std::vector<StatementText> out;
    std::optional<std::size_t> start;
    for (const auto& t : tokens) {
        if (t.kind == Tok::End || (t.kind == Tok::Op && t.text == ";")) {
            if (start) {
                out.push_back({*start, t.begin});
            }
            start.reset();
            continue;
        }
        if (!start) {
            start = t.begin;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Parser

namespace {

struct ParseFailure {
    std::size_t at;
};

constexpr int kMaxDepth = 64; // nested expressions / subqueries (the real servers run out
                              // of parser stack far later; a hostile query must not crash us)

using Action = ActionStmt::Action;

class Parser {
  public:
    Parser(std::vector<Token> tokens, std::string_view query)
        : query_text_(query), t_(std::move(tokens)) {}

    std::variant<Statement, ParseFailure> statement() {
        parse_statement();
        if (!failed_ && peek().kind != Tok::End) {
            fail();
        }
        if (failed_) {
            return ParseFailure{fail_at_};
        }
        return std::move(result_);
    }
    std::uint16_t params() const { return params_; }

  private:
    // --- tokens ---
    const Token& peek(std::size_t ahead = 0) const {
        return t_[std::min(pos_ + ahead, t_.size() - 1)];
    }
    const Token& next() {
        const Token& t = t_[pos_];
        if (pos_ + 1 < t_.size()) {
            ++pos_;
        }
        return t;
    }
    bool is_word(std::string_view w, std::size_t ahead = 0) const {
        const auto& t = peek(ahead);
        return t.kind == Tok::Word && upper(t.text) == w;
    }
    bool accept_word(std::string_view w) {
        if (is_word(w)) {
            next();
            return true;
        }
        return false;
    }
    bool is_op(std::string_view op, std::size_t ahead = 0) const {
        return peek(ahead).kind == Tok::Op && peek(ahead).text == op;
    }
    bool accept_op(std::string_view op) {
        if (is_op(op)) {
            next();
            return true;
        }
        return false;
    }
    void fail() {
        if (!failed_) {
            failed_ = true;
            fail_at_ = peek().begin;
        }
    }
    void expect_word(std::string_view w) {
        if (!accept_word(w)) {
            fail();
        }
    }
    void expect_op(std::string_view op) {
        if (!accept_op(op)) {
            fail();
        }
    }
    std::string identifier() {
        const auto& t = peek();
        if (t.kind == Tok::QuotedIdent || (t.kind == Tok::Word && !reserved(t.text))) {
            next();
            return t.text;
        }
        fail();
        return {};
    }
    std::string name_or_string() {
        const auto& t = peek();
        if (t.kind == Tok::Word || t.kind == Tok::QuotedIdent || t.kind == Tok::String) {
            next();
            return t.text;
        }
        fail();
        return {};
    }
    TableName table_name() {
        TableName n;
        n.name = identifier();
        if (accept_op(".")) {
            n.db = n.name;
            n.name = identifier();
        }
        return n;
    }
    // user_name: 'u'@'h', u@h, CURRENT_USER[()]; the user part (host dropped).
    std::string user_name() {
        if (accept_word("CURRENT_USER")) {
            if (accept_op("(")) {
                expect_op(")");
            }
            return {};
        }
        auto u = name_or_string();
        if (peek().kind == Tok::UserVar) {
            next();
        }
        return u;
    }
    // rest: the remaining tokens of a statement the executor answers without them; the
    // parentheses must balance.
    void rest() {
        int depth = 0;
        while (peek().kind != Tok::End) {
            if (is_op("(")) {
                ++depth;
            } else if (is_op(")")) {
                if (--depth < 0) {
                    fail();
                    return;
                }
            }
            next();
        }
        if (depth != 0) {
            fail();
        }
    }
    void action(Action a, std::vector<TableName> tables = {}, std::string name = {}) {
        ActionStmt s;
        s.action = a;
        s.tables = std::move(tables);
        s.name = std::move(name);
        result_.body = std::move(s);
    }
    bool if_exists() {
        if (accept_word("IF")) {
            expect_word("EXISTS");
            return true;
        }
        return false;
    }
    bool if_not_exists() {
        if (accept_word("IF")) {
            expect_word("NOT");
            expect_word("EXISTS");
            return true;
        }
        return false;
    }
    std::vector<TableName> table_list() {
        std::vector<TableName> out;
        do {
            out.push_back(table_name());
        } while (!failed_ && accept_op(","));
        return out;
    }

    static bool reserved(const std::string& w) {
        static constexpr std::string_view kWords[] = {
            "FROM",      "WHERE",   "LIMIT",    "UNION",
            "ORDER",     "GROUP",   "HAVING",   "INTO",
            "FOR",       "AND",     "OR",       "NOT",
            "AS",        "IS",      "LIKE",     "IN",
            "DIV",       "MOD",     "XOR",      "LOCK",
            "SELECT",    "JOIN",    "ON",       "USING",
            "INNER",     "LEFT",    "RIGHT",    "CROSS",
            "NATURAL",   "BY",      "ASC",      "DESC",
            "WHEN",      "THEN",    "ELSE",     "END",
            "CASE",      "SET",     "BETWEEN",  "REGEXP",
            "RLIKE",     "ESCAPE",  "OUTER",    "STRAIGHT_JOIN",
            "WITH",      "OFFSET",  "DISTINCT", "ALL",
            "EXISTS",    "COLLATE", "INTERVAL", "TABLE",
            "CREATE",    "DROP",    "ALTER",    "INSERT",
            "UPDATE",    "DELETE",  "KEY",      "INDEX",
            "PROCEDURE", "WINDOW"};
        auto u = upper(w);
        return std::find(std::begin(kWords), std::end(kWords), u) != std::end(kWords);
    }

    // --- statements ---
    void parse_statement() {
        const Token& first = peek();
        auto w = first.kind == Tok::Word ? upper(first.text) : std::string();
        if (w == "SELECT" || is_op("(")) {
            SelectStmt s;
            s.select = select_statement();
            result_.body = std::move(s);
        } else if (w == "SET") {
            next();
            set();
        } else if (w == "SHOW") {
            next();
            show();
        } else if (w == "USE") {
            next();
            UseStmt u;
            u.database = identifier();
            result_.body = u;
        } else if (w == "BEGIN") {
            next();
            accept_word("WORK");
            result_.body = TxnStmt{TxnStmt::What::Begin, false};
        } else if (w == "START") {
            next();
            start_transaction();
        } else if (w == "COMMIT" || w == "ROLLBACK") {
            next();
            accept_word("WORK");
            if (w == "ROLLBACK" && accept_word("TO")) {
                accept_word("SAVEPOINT");
                action(Action::RollbackToSavepoint, {}, identifier());
                return;
            }
            if (accept_word("AND")) {
                accept_word("NO");
                expect_word("CHAIN");
            }
            if (accept_word("NO")) {
                expect_word("RELEASE");
            } else {
                accept_word("RELEASE");
            }
            result_.body =
                TxnStmt{w == "COMMIT" ? TxnStmt::What::Commit : TxnStmt::What::Rollback, false};
        } else if (w == "SAVEPOINT") {
            next();
            action(Action::Savepoint, {}, identifier());
        } else if (w == "RELEASE") {
            next();
            expect_word("SAVEPOINT");
            action(Action::ReleaseSavepoint, {}, identifier());
        } else if (w == "DO") {
            next();
            DoStmt d;
            do {
                d.exprs.push_back(expr());
            } while (!failed_ && accept_op(","));
            result_.body = std::move(d);
        } else if (w == "INSERT" || w == "REPLACE") {
            next();
            while (accept_word("LOW_PRIORITY") || accept_word("DELAYED") ||
                   accept_word("HIGH_PRIORITY") || accept_word("IGNORE")) {
            }
            accept_word("INTO");
            auto t = table_name();
            rest();
            action(w == "INSERT" ? Action::Insert : Action::Replace, {t});
        } else if (w == "UPDATE") {
            next();
            while (accept_word("LOW_PRIORITY") || accept_word("IGNORE")) {
            }
            auto t = table_name();
            rest();
            action(Action::Update, {t});
        } else if (w == "DELETE") {
            next();
            while (accept_word("LOW_PRIORITY") || accept_word("QUICK") || accept_word("IGNORE")) {
            }
            if (!accept_word("FROM")) {
                auto t = table_name(); // DELETE t1 FROM t1 JOIN ...
                accept_op(".") && accept_op("*");
                rest();
                action(Action::Delete, {t});
                return;
            }
            auto t = table_name();
            rest();
            action(Action::Delete, {t});
        } else if (w == "DESCRIBE" || w == "DESC" || w == "EXPLAIN") {
            next();
            explain();
        } else if (w == "CREATE") {
            next();
            create();
        } else if (w == "DROP") {
            next();
            drop();
        } else if (w == "ALTER") {
            next();
            alter();
        } else if (w == "TRUNCATE") {
            next();
            accept_word("TABLE");
            auto t = table_name();
            rest();
            action(Action::TruncateTable, {t});
        } else if (w == "RENAME") {
            next();
            if (accept_word("USER")) {
                rest();
                action(Action::AccountAdmin);
                return;
            }
            if (!accept_word("TABLE")) {
                expect_word("TABLES");
            }
            auto t = table_name();
            rest();
            action(Action::RenameTable, {t});
        } else if (w == "GRANT" || w == "REVOKE") {
            next();
            grant(w == "GRANT");
        } else if (w == "LOCK") {
            next();
            if (!accept_word("TABLES")) {
                expect_word("TABLE");
            }
            auto t = table_name();
            rest();
            action(Action::LockTables, {t});
        } else if (w == "UNLOCK") {
            next();
            if (!accept_word("TABLES")) {
                expect_word("TABLE");
            }
            action(Action::UnlockTables);
        } else if (w == "HANDLER") {
            next();
            auto t = table_name();
            if (accept_word("OPEN")) {
                if (accept_word("AS") || peek().kind == Tok::Word ||
                    peek().kind == Tok::QuotedIdent) {
                    identifier();
                }
                action(Action::HandlerOpen, {t});
                return;
            }
            if (!accept_word("CLOSE")) {
                expect_word("READ");
                rest();
            }
            action(Action::HandlerOther, {t}, t.name);
        } else if (w == "CALL") {
            next();
            auto n = table_name();
            if (accept_op("(")) {
                if (!accept_op(")")) {
                    do {
                        expr();
                    } while (!failed_ && accept_op(","));
                    expect_op(")");
                }
            }
            action(Action::Call, {n});
        } else if (w == "PREPARE") {
            next();
            ActionStmt s;
            s.action = Action::Prepare;
            s.name = identifier();
            expect_word("FROM");
            s.value = expr();
            result_.body = std::move(s);
        } else if (w == "EXECUTE") {
            next();
            ActionStmt s;
            s.action = Action::Execute;
            s.name = identifier();
            if (accept_word("USING")) {
                do {
                    s.arguments.push_back(expr());
                } while (!failed_ && accept_op(","));
            }
            result_.body = std::move(s);
        } else if (w == "DEALLOCATE") {
            next();
            expect_word("PREPARE");
            action(Action::Deallocate, {}, identifier());
        } else if (w == "XA") {
            next();
            xa();
        } else if (w == "KILL") {
            next();
            accept_word("HARD") || accept_word("SOFT");
            accept_word("CONNECTION") || accept_word("QUERY");
            accept_word("ID");
            ActionStmt s;
            s.action = Action::Kill;
            s.value = expr();
            result_.body = std::move(s);
        } else if (w == "FLUSH") {
            next();
            accept_word("NO_WRITE_TO_BINLOG") || accept_word("LOCAL");
            if (peek().kind == Tok::End) {
                fail();
            }
            rest();
            action(Action::Flush);
        } else if (w == "ANALYZE" || w == "OPTIMIZE" || w == "REPAIR" || w == "CHECK" ||
                   w == "CHECKSUM") {
            next();
            accept_word("NO_WRITE_TO_BINLOG") || accept_word("LOCAL");
            expect_word("TABLE");
            auto tables = table_list();
            rest();
            ActionStmt s;
            s.action = w == "CHECK"      ? Action::CheckTable
                       : w == "CHECKSUM" ? Action::ChecksumTable
                                         : Action::AdminTable;
            s.tables = std::move(tables);
            s.verb = lower(w);
            result_.body = std::move(s);
        } else if (w == "LOAD") {
            next();
            if (!accept_word("DATA")) {
                expect_word("XML");
            }
            accept_word("LOW_PRIORITY") || accept_word("CONCURRENT");
            bool local = accept_word("LOCAL");
            expect_word("INFILE");
            if (peek().kind != Tok::String) {
                fail();
            }
            next();
            accept_word("REPLACE") || accept_word("IGNORE");
            expect_word("INTO");
            expect_word("TABLE");
            auto t = table_name();
            rest();
            action(local ? Action::LoadDataLocal : Action::LoadData, {t});
        } else {
            fail();
        }
    }

    void start_transaction() {
        expect_word("TRANSACTION");
        TxnStmt t{TxnStmt::What::Begin, false};
        do {
            if (accept_word("READ")) {
                if (accept_word("ONLY")) {
                    t.read_only = true;
                } else {
                    expect_word("WRITE");
                }
            } else if (accept_word("WITH")) {
                expect_word("CONSISTENT");
                expect_word("SNAPSHOT");
            } else {
                break;
            }
        } while (accept_op(","));
        result_.body = t;
    }

    void explain() {
        while (accept_word("EXTENDED") || accept_word("PARTITIONS")) {
        }
        if (accept_word("FORMAT")) {
            expect_op("=");
            identifier();
        }
        if (is_word("SELECT") || is_op("(")) {
            ExplainStmt e;
            e.select = select_statement();
            result_.body = std::move(e);
            return;
        }
        if (is_word("INSERT") || is_word("UPDATE") || is_word("DELETE") || is_word("REPLACE")) {
            parse_statement(); // the statement's own error
            return;
        }
        ShowStmt s;
        s.what = ShowStmt::What::Columns;
        s.table = table_name();
        if (peek().kind == Tok::String) {
            s.like = next().text;
        } else if (peek().kind == Tok::Word || peek().kind == Tok::QuotedIdent) {
            s.like = next().text;
        }
        result_.body = std::move(s);
    }

    void skip_definer() {
        if (accept_word("DEFINER")) {
            expect_op("=");
            user_name();
        }
    }

    void create() {
        bool or_replace = false;
        if (accept_word("OR")) {
            expect_word("REPLACE");
            or_replace = true;
        }
        (void)or_replace;
        bool temporary = accept_word("TEMPORARY");
        if (accept_word("TABLE")) {
            if_not_exists();
            auto t = table_name();
            rest();
            action(temporary ? Action::CreateTemporaryTable : Action::CreateTable, {t});
            return;
        }
        if (temporary) {
            fail();
            return;
        }
        if (accept_word("UNIQUE") || accept_word("FULLTEXT") || accept_word("SPATIAL") || true) {
            if (accept_word("INDEX")) {
                if_not_exists();
                identifier();
                expect_word("ON");
                auto t = table_name();
                rest();
                action(Action::CreateIndex, {t});
                return;
            }
        }
        if (accept_word("DATABASE") || accept_word("SCHEMA")) {
            if_not_exists();
            auto n = identifier();
            rest();
            action(Action::CreateDatabase, {}, n);
            return;
        }
        if (accept_word("USER") || accept_word("ROLE")) {
            rest();
            action(Action::AccountAdmin);
            return;
        }
        if (accept_word("ALGORITHM")) {
            expect_op("=");
            identifier();
        }
        skip_definer();
        if (accept_word("SQL")) {
            expect_word("SECURITY");
            identifier();
        }
        if (accept_word("VIEW")) {
            if_not_exists();
            auto t = table_name();
            rest();
            action(Action::CreateView, {t});
            return;
        }
        accept_word("AGGREGATE");
        if (accept_word("PROCEDURE") || accept_word("FUNCTION")) {
            if_not_exists();
            auto n = table_name();
            rest();
            action(Action::CreateRoutine, {n});
            return;
        }
        if (accept_word("TRIGGER")) {
            if_not_exists();
            table_name();
            if (!accept_word("BEFORE")) {
                expect_word("AFTER");
            }
            if (!accept_word("INSERT") && !accept_word("UPDATE")) {
                expect_word("DELETE");
            }
            expect_word("ON");
            auto t = table_name();
            rest();
            action(Action::CreateTrigger, {t});
            return;
        }
        if (accept_word("EVENT")) {
            if_not_exists();
            auto n = table_name();
            rest();
            action(Action::CreateEvent, {n});
            return;
        }
        fail();
    }

    void drop() {
        bool temporary = accept_word("TEMPORARY");
        if (accept_word("TABLE") || accept_word("TABLES")) {
            if_exists();
            auto tables = table_list();
            rest();
            action(Action::DropTable, tables);
            return;
        }
        if (temporary) {
            fail();
            return;
        }
        if (accept_word("INDEX")) {
            if_exists();
            identifier();
            expect_word("ON");
            auto t = table_name();
            rest();
            action(Action::DropIndex, {t});
        } else if (accept_word("VIEW")) {
            if_exists();
            auto tables = table_list();
            rest();
            action(Action::DropView, tables);
        } else if (accept_word("PROCEDURE")) {
            if_exists();
            action(Action::DropProcedure, {table_name()});
        } else if (accept_word("FUNCTION")) {
            if_exists();
            action(Action::DropFunction, {table_name()});
        } else if (accept_word("TRIGGER")) {
            if_exists();
            action(Action::DropTrigger, {table_name()});
        } else if (accept_word("EVENT")) {
            if_exists();
            action(Action::CreateEvent, {table_name()});
        } else if (accept_word("DATABASE") || accept_word("SCHEMA")) {
            if_exists();
            action(Action::DropDatabase, {}, identifier());
        } else if (accept_word("USER") || accept_word("ROLE")) {
            rest();
            action(Action::AccountAdmin);
        } else if (accept_word("PREPARE")) {
            action(Action::Deallocate, {}, identifier());
        } else {
            fail();
        }
    }

    void alter() {
        accept_word("ONLINE") || accept_word("IGNORE");
        if (accept_word("TABLE")) {
            if_exists();
            auto t = table_name();
            rest();
            action(Action::AlterTable, {t});
        } else if (accept_word("DATABASE") || accept_word("SCHEMA")) {
            std::string n;
            if (peek().kind == Tok::QuotedIdent ||
                (peek().kind == Tok::Word && !is_word("DEFAULT") && !is_word("CHARACTER") &&
                 !is_word("CHARSET") && !is_word("COLLATE") && !is_word("COMMENT"))) {
                n = identifier();
            }
            rest();
            action(Action::AlterDatabase, {}, n);
        } else if (accept_word("USER") || accept_word("ROLE")) {
            rest();
            action(Action::AccountAdmin);
        } else if (accept_word("PROCEDURE") || accept_word("FUNCTION")) {
            auto n = table_name();
            rest();
            action(Action::AlterRoutine, {n});
        } else if (accept_word("EVENT")) {
            auto n = table_name();
            rest();
            action(Action::CreateEvent, {n});
        } else {
            skip_definer();
            if (accept_word("VIEW")) {
                auto t = table_name();
                rest();
                action(Action::CreateView, {t});
                return;
            }
            fail();
        }
    }

    void grant(bool is_grant) {
        // privileges up to ON (or a role list up to TO / FROM)
        bool saw_on = false;
        while (peek().kind != Tok::End) {
            if (is_word("ON")) {
                saw_on = true;
                next();
                break;
            }
            if (is_word(is_grant ? "TO" : "FROM")) {
                break;
            }
            next();
        }
        if (!saw_on) {
            rest();
            action(Action::AccountAdmin);
            return;
        }
        accept_word("TABLE") || accept_word("FUNCTION") || accept_word("PROCEDURE");
        ActionStmt s;
        if (accept_op("*")) {
            if (accept_op(".")) {
                expect_op("*");
                s.action = Action::GrantGlobal;
            } else {
                s.action = Action::GrantDatabase; // * alone: the current database
            }
        } else {
            auto first = identifier();
            if (accept_op(".")) {
                if (accept_op("*")) {
                    s.action = Action::GrantDatabase;
                    s.name = first;
                } else {
                    s.action = Action::GrantTable;
                    s.tables.push_back({first, identifier()});
                }
            } else {
                s.action = Action::GrantTable;
                s.tables.push_back({"", first});
            }
        }
        expect_word(is_grant ? "TO" : "FROM");
        rest();
        result_.body = std::move(s);
    }

    void xa() {
        Action a = Action::XaRecover;
        if (accept_word("START") || accept_word("BEGIN")) {
            a = Action::XaStart;
        } else if (accept_word("END")) {
            a = Action::XaEnd;
        } else if (accept_word("PREPARE")) {
            a = Action::XaPrepare;
        } else if (accept_word("COMMIT")) {
            a = Action::XaCommit;
        } else if (accept_word("ROLLBACK")) {
            a = Action::XaRollback;
        } else if (accept_word("RECOVER")) {
            if (accept_word("FORMAT")) {
                expect_op("=");
                name_or_string();
            }
            action(Action::XaRecover);
            return;
        } else {
            fail();
            return;
        }
        // xid: gtrid [, bqual [, formatID]]
        auto gtrid = name_or_string();
        for (int i = 0; i < 2 && accept_op(","); ++i) {
            if (peek().kind == Tok::String || peek().kind == Tok::Number ||
                peek().kind == Tok::Word) {
                next();
            } else {
                fail();
            }
        }
        rest(); // JOIN / RESUME / SUSPEND [FOR MIGRATE] / ONE PHASE
        action(a, {}, gtrid);
    }

    // --- SELECT ---
    std::shared_ptr<const Select> select_statement() {
        auto s = query_expression();
        if (accept_word("FOR")) {
            if (!accept_word("UPDATE")) {
                expect_word("SHARE");
            }
            if (accept_word("OF")) {
                table_list();
            }
            if (accept_word("NOWAIT")) {
            } else if (accept_word("SKIP")) {
                expect_word("LOCKED");
            } else if (accept_word("WAIT")) {
                expect_number();
            }
        } else if (accept_word("LOCK")) {
            expect_word("IN");
            expect_word("SHARE");
            expect_word("MODE");
        }
        return s;
    }

    std::uint64_t expect_number() {
        const auto& t = peek();
        if (t.kind != Tok::Number || t.text.find_first_not_of("0123456789") != std::string::npos) {
            fail();
            return 0;
        }
        next();
        std::uint64_t n = 0;
        auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), n);
        if (r.ec != std::errc()) {
            n = UINT64_MAX;
        }
        return n;
    }

    std::shared_ptr<const Select> query_expression() {
        standin::NestingGuard guard(depth_, kMaxDepth);
        if (guard.too_deep()) {
            fail();
            return std::make_shared<Select>();
        }
        auto s = std::make_shared<Select>();
        bool all = false;
        do {
            Select::Part part;
            part.union_all = all;
            if (accept_op("(")) {
                part.nested = query_expression();
                expect_op(")");
            } else if (is_word("SELECT")) {
                next();
                part.core = core();
            } else {
                fail();
            }
            s->parts.push_back(std::move(part));
            if (failed_) {
                break;
            }
            if (!accept_word("UNION")) {
                break;
            }
            all = accept_word("ALL");
            if (!all) {
                accept_word("DISTINCT");
            }
        } while (true);
        if (accept_word("ORDER")) {
            expect_word("BY");
            s->order = order_list();
        }
        limit(*s);
        return s;
    }

    void limit(Select& s) {
        if (accept_word("LIMIT")) {
            auto first = expect_number();
            if (accept_op(",")) {
                s.offset = first;
                s.limit = expect_number();
            } else {
                s.limit = first;
                if (accept_word("OFFSET")) {
                    s.offset = expect_number();
                }
            }
        }
    }

    std::vector<OrderItem> order_list() {
        std::vector<OrderItem> out;
        do {
            OrderItem o;
            o.expr = expr();
            if (accept_word("DESC")) {
                o.descending = true;
            } else {
                accept_word("ASC");
            }
            out.push_back(std::move(o));
        } while (!failed_ && accept_op(","));
        return out;
    }

    std::shared_ptr<const SelectCore> core() {
        auto c = std::make_shared<SelectCore>();
        while (true) {
            if (accept_word("DISTINCT") || accept_word("DISTINCTROW")) {
                c->distinct = true;
            } else if (accept_word("SQL_CALC_FOUND_ROWS")) {
                c->calc_found_rows = true;
            } else if (accept_word("ALL") || accept_word("SQL_NO_CACHE") ||
                       accept_word("SQL_CACHE") || accept_word("HIGH_PRIORITY") ||
                       accept_word("STRAIGHT_JOIN") || accept_word("SQL_SMALL_RESULT") ||
                       accept_word("SQL_BIG_RESULT") || accept_word("SQL_BUFFER_RESULT")) {
            } else {
                break;
            }
        }
        do {
            c->items.push_back(select_item());
        } while (!failed_ && accept_op(","));
        if (accept_word("FROM")) {
            if (accept_word("DUAL")) {
                c->from_dual = true;
            } else {
                table_references(*c);
            }
        }
        if (accept_word("WHERE")) {
            c->where = expr();
        }
        if (accept_word("GROUP")) {
            expect_word("BY");
            do {
                c->group_by.push_back(expr());
                accept_word("ASC") || accept_word("DESC");
            } while (!failed_ && accept_op(","));
            if (accept_word("WITH")) {
                expect_word("ROLLUP");
            }
        }
        if (accept_word("HAVING")) {
            c->having = expr();
        }
        return c;
    }

    SelectItem select_item() {
        SelectItem item;
        if (accept_op("*")) {
            item.star = true;
            return item;
        }
        if ((peek().kind == Tok::Word || peek().kind == Tok::QuotedIdent) && is_op(".", 1) &&
            is_op("*", 2)) {
            item.star = true;
            item.star_qualifier = next().text;
            next();
            next();
            return item;
        }
        if ((peek().kind == Tok::Word || peek().kind == Tok::QuotedIdent) && is_op(".", 1) &&
            (peek(2).kind == Tok::Word || peek(2).kind == Tok::QuotedIdent) && is_op(".", 3) &&
            is_op("*", 4)) {
            next();
            next();
            item.star = true;
            item.star_qualifier = next().text;
            next();
            next();
            return item;
        }
        std::size_t from = peek().begin;
        const Token& first = peek();
        std::size_t first_index = pos_;
        item.expr = expr();
        if (failed_) {
            return item;
        }
        std::size_t to = t_[pos_ - 1].end;
        if (item.expr.kind == Expr::Kind::Literal && item.expr.lit == Expr::LitKind::String &&
            first.kind == Tok::String && pos_ == first_index + 1) {
            item.name = first.text; // 'ab' is named ab
        } else if (item.expr.kind == Expr::Kind::Column) {
            item.name = item.expr.text;
        } else {
            item.name = std::string(query_text_.substr(from, to - from));
        }
        if (accept_word("AS")) {
            item.name = name_or_string();
        } else if (peek().kind == Tok::QuotedIdent || peek().kind == Tok::String ||
                   (peek().kind == Tok::Word && !reserved(peek().text))) {
            item.name = next().text;
        }
        return item;
    }

    void table_references(SelectCore& c) {
        c.from.push_back(table_factor());
        while (!failed_) {
            TableRef::Join j = TableRef::Join::First;
            if (accept_op(",")) {
                j = TableRef::Join::Cross;
            } else if (accept_word("CROSS")) {
                expect_word("JOIN");
                j = TableRef::Join::Cross;
            } else if (accept_word("INNER")) {
                expect_word("JOIN");
                j = TableRef::Join::Inner;
            } else if (accept_word("JOIN") || accept_word("STRAIGHT_JOIN")) {
                j = TableRef::Join::Inner;
            } else if (accept_word("LEFT")) {
                accept_word("OUTER");
                expect_word("JOIN");
                j = TableRef::Join::Left;
            } else if (accept_word("RIGHT")) {
                accept_word("OUTER");
                expect_word("JOIN");
                j = TableRef::Join::Right;
            } else if (accept_word("NATURAL")) {
                if (accept_word("LEFT") || accept_word("RIGHT")) {
                    accept_word("OUTER");
                }
                expect_word("JOIN");
                j = TableRef::Join::Natural;
            } else {
                break;
            }
            auto ref = table_factor();
            ref.join = j;
            if (j != TableRef::Join::Natural) {
                if (accept_word("ON")) {
                    ref.on = expr();
                } else if (accept_word("USING")) {
                    expect_op("(");
                    do {
                        ref.using_columns.push_back(identifier());
                    } while (!failed_ && accept_op(","));
                    expect_op(")");
                } else if (j == TableRef::Join::Left || j == TableRef::Join::Right) {
                    fail();
                }
            }
            c.from.push_back(std::move(ref));
        }
    }

    TableRef table_factor() {
        TableRef r;
        if (accept_op("(")) {
            if (is_word("SELECT") || is_op("(")) {
                r.derived = query_expression();
                expect_op(")");
                accept_word("AS");
                r.alias = identifier(); // every derived table needs its own alias
                return r;
            }
            fail(); // ( t1 JOIN t2 ): not supported by the stand-in's grammar
            return r;
        }
        r.table = table_name();
        if (accept_word("AS")) {
            r.alias = identifier();
        } else if (peek().kind == Tok::QuotedIdent ||
                   (peek().kind == Tok::Word && !reserved(peek().text) && !is_word("USE") &&
                    !is_word("FORCE") && !is_word("IGNORE") && !is_word("STRAIGHT_JOIN"))) {
            r.alias = next().text;
        }
        while (is_word("USE") || is_word("FORCE") || is_word("IGNORE")) {
            next();
            if (!accept_word("INDEX")) {
                expect_word("KEY");
            }
            if (accept_word("FOR")) {
                if (accept_word("ORDER") || accept_word("GROUP")) {
                    expect_word("BY");
                } else {
                    expect_word("JOIN");
                }
            }
            expect_op("(");
            if (!accept_op(")")) {
                do {
                    identifier();
                } while (!failed_ && accept_op(","));
                expect_op(")");
            }
        }
        return r;
    }

    // --- SET ---
    void set() {
        SetStmt s;
        if (accept_word("PASSWORD")) {
            bool other = false;
            if (accept_word("FOR")) {
                auto u = user_name();
                other = !u.empty() && u != user_hint_;
                other_user_ = u;
            }
            expect_op("=");
            expr();
            ActionStmt a;
            a.action = other ? Action::SetPasswordOther : Action::SetPasswordSelf;
            a.name = other_user_;
            result_.body = std::move(a);
            return;
        }
        if (accept_word("ROLE")) {
            rest();
            action(Action::SetRole);
            return;
        }
        if (is_word("DEFAULT") && is_word("ROLE", 1)) {
            rest();
            action(Action::SetRole);
            return;
        }
        bool statement_scope = false;
        if (flavour_ == Flavour::Mariadb114 && is_word("STATEMENT") && !is_op("=", 1) &&
            !is_op(":=", 1)) {
            next(); // SET STATEMENT a = 1, b = 2 FOR <statement>
            statement_scope = true;
        }
        std::size_t save = pos_;
        bool global = false;
        if (statement_scope) {
        } else if (accept_word("GLOBAL")) {
            global = true;
        } else if (!accept_word("SESSION")) {
            accept_word("LOCAL");
        }
        if (accept_word("TRANSACTION")) {
            do {
                SetAssignment a;
                a.global = global;
                if (accept_word("ISOLATION")) {
                    expect_word("LEVEL");
                    a.kind = SetAssignment::Kind::Isolation;
                    if (accept_word("READ")) {
                        if (accept_word("UNCOMMITTED")) {
                            a.name = "READ-UNCOMMITTED";
                        } else {
                            expect_word("COMMITTED");
                            a.name = "READ-COMMITTED";
                        }
                    } else if (accept_word("REPEATABLE")) {
                        expect_word("READ");
                        a.name = "REPEATABLE-READ";
                    } else {
                        expect_word("SERIALIZABLE");
                        a.name = "SERIALIZABLE";
                    }
                } else if (accept_word("READ")) {
                    a.kind = SetAssignment::Kind::AccessMode;
                    a.name = accept_word("ONLY") ? "ON" : (expect_word("WRITE"), "OFF");
                } else {
                    fail();
                }
                s.items.push_back(std::move(a));
            } while (!failed_ && accept_op(","));
            result_.body = std::move(s);
            return;
        }
        pos_ = save;
        do {
            SetAssignment a;
            if (accept_word("NAMES")) {
                a.kind = SetAssignment::Kind::Names;
                if (accept_word("DEFAULT")) {
                    a.to_default = true;
                } else {
                    a.name = name_or_string();
                    if (accept_word("COLLATE")) {
                        a.collation = name_or_string();
                    }
                }
            } else if ((is_word("CHARACTER") && is_word("SET", 1)) || is_word("CHARSET")) {
                if (!accept_word("CHARSET")) {
                    next();
                    next();
                }
                a.kind = SetAssignment::Kind::CharacterSet;
                if (accept_word("DEFAULT")) {
                    a.to_default = true;
                } else {
                    a.name = name_or_string();
                }
            } else if (peek().kind == Tok::UserVar) {
                a.kind = SetAssignment::Kind::User;
                a.name = next().text;
                if (!accept_op("=")) {
                    expect_op(":=");
                }
                a.value = expr();
            } else {
                a.kind = SetAssignment::Kind::System;
                if (peek().kind == Tok::SysVar) {
                    auto full = next().text;
                    auto dot = full.find('.');
                    if (dot != std::string::npos) {
                        auto scope = lower(full.substr(0, dot));
                        a.global = scope == "global";
                        a.name = full.substr(dot + 1);
                    } else {
                        a.name = full;
                    }
                } else {
                    if (accept_word("GLOBAL") || accept_word("PERSIST") ||
                        accept_word("PERSIST_ONLY")) {
                        a.global = true;
                    } else if (!accept_word("SESSION")) {
                        accept_word("LOCAL");
                    }
                    a.name = identifier();
                    if (accept_op(".")) { // SET session.x / global.x is not MySQL syntax
                        fail();
                    }
                }
                if (!accept_op("=")) {
                    expect_op(":=");
                }
                if (is_word("DEFAULT")) {
                    next();
                    a.to_default = true;
                } else if (is_word("ON") || is_word("OFF") || is_word("ALL")) {
                    Expr e;
                    e.kind = Expr::Kind::Literal;
                    e.lit = Expr::LitKind::String;
                    e.text = upper(next().text);
                    a.value = e;
                } else {
                    a.value = expr();
                }
            }
            s.items.push_back(std::move(a));
        } while (!failed_ && accept_op(","));
        if (statement_scope && !failed_) {
            for (const auto& a : s.items) {
                if (a.kind != SetAssignment::Kind::System || a.global) {
                    fail();
                    return;
                }
            }
            expect_word("FOR");
            if (failed_ || (is_word("SET") && is_word("STATEMENT", 1))) { // not nested
                fail();
                return;
            }
            std::size_t begin = peek().begin;
            parse_statement();
            auto inner = std::make_shared<Statement>();
            inner->body = std::move(result_.body);
            inner->text = std::string(query_text_.substr(begin, t_.back().begin - begin));
            s.for_statement = std::move(inner);
        }
        result_.body = std::move(s);
    }

    // --- SHOW ---
    void show_filter(ShowStmt& s) {
        if (accept_word("LIKE")) {
            if (peek().kind == Tok::String) {
                s.like = next().text;
            } else {
                fail();
            }
        } else if (accept_word("WHERE")) {
            s.where = expr();
        }
    }
    void show_from_db(ShowStmt& s) {
        if (accept_word("FROM") || accept_word("IN")) {
            s.table.db = identifier();
        }
    }
    void show_table(ShowStmt& s) {
        if (!accept_word("FROM")) {
            expect_word("IN");
        }
        s.table = table_name();
        if (accept_word("FROM") || accept_word("IN")) {
            s.table.db = identifier();
        }
    }

    void show() {
        ShowStmt s;
        using W = ShowStmt::What;
        if (accept_word("GLOBAL")) {
            s.global = true;
        } else if (!accept_word("SESSION")) {
            accept_word("LOCAL");
        }
        s.full = accept_word("FULL");
        accept_word("EXTENDED");
        if (!s.full) {
            s.full = accept_word("FULL");
        }
        if (accept_word("VARIABLES")) {
            s.what = W::Variables;
            show_filter(s);
        } else if (accept_word("STATUS")) {
            s.what = W::Status;
            show_filter(s);
        } else if (accept_word("WARNINGS") || accept_word("ERRORS")) {
            s.what = upper(t_[pos_ - 1].text) == "WARNINGS" ? W::Warnings : W::Errors;
            if (accept_word("LIMIT")) {
                auto first = expect_number();
                s.limit = accept_op(",") ? expect_number() : first;
            }
        } else if (accept_word("COUNT")) {
            expect_op("(");
            expect_op("*");
            expect_op(")");
            if (accept_word("WARNINGS")) {
                s.what = W::CountWarnings;
            } else {
                expect_word("ERRORS");
                s.what = W::CountErrors;
            }
        } else if (accept_word("DATABASES") || accept_word("SCHEMAS")) {
            s.what = W::Databases;
            show_filter(s);
        } else if (accept_word("COLLATION")) {
            s.what = W::Collation;
            show_filter(s);
        } else if (accept_word("CHARSET") ||
                   (is_word("CHARACTER") && is_word("SET", 1) && (next(), next(), true))) {
            s.what = W::CharacterSet;
            show_filter(s);
        } else if (accept_word("ENGINES") ||
                   (accept_word("STORAGE") && (expect_word("ENGINES"), true))) {
            s.what = W::Engines;
        } else if (accept_word("PLUGINS")) {
            s.what = W::Plugins;
            show_filter(s);
        } else if (accept_word("TABLES")) {
            s.what = W::Tables;
            show_from_db(s);
            show_filter(s);
        } else if (accept_word("TABLE")) {
            expect_word("STATUS");
            s.what = W::TableStatus;
            show_from_db(s);
            show_filter(s);
        } else if (accept_word("COLUMNS") || accept_word("FIELDS")) {
            s.what = W::Columns;
            show_table(s);
            show_filter(s);
        } else if (accept_word("INDEX") || accept_word("INDEXES") || accept_word("KEYS")) {
            s.what = W::Index;
            show_table(s);
            if (accept_word("WHERE")) {
                s.where = expr();
            }
        } else if (accept_word("CREATE")) {
            if (accept_word("TABLE") || accept_word("VIEW")) {
                s.what = W::CreateTable;
                s.table = table_name();
            } else if (accept_word("DATABASE") || accept_word("SCHEMA")) {
                s.what = W::CreateDatabase;
                if_not_exists();
                s.name = identifier();
            } else if (accept_word("USER")) {
                s.what = W::CreateUser;
                s.name = user_name();
            } else {
                fail();
            }
        } else if (accept_word("GRANTS")) {
            s.what = W::Grants;
            if (accept_word("FOR")) {
                s.name = user_name();
            }
        } else if (accept_word("PROCESSLIST")) {
            s.what = W::Processlist;
        } else if (accept_word("PROCEDURE") || accept_word("FUNCTION")) {
            s.what =
                upper(t_[pos_ - 1].text) == "PROCEDURE" ? W::ProcedureStatus : W::FunctionStatus;
            expect_word("STATUS");
            show_filter(s);
        } else if (accept_word("TRIGGERS")) {
            s.what = W::Triggers;
            show_from_db(s);
            show_filter(s);
        } else if (accept_word("EVENTS")) {
            s.what = W::Events;
            show_from_db(s);
            show_filter(s);
        } else if (accept_word("OPEN")) {
            expect_word("TABLES");
            s.what = W::OpenTables;
            show_from_db(s);
            show_filter(s);
        } else if (accept_word("MASTER") || accept_word("BINLOG")) {
            expect_word("STATUS");
            s.what = W::MasterStatus;
        } else if (accept_word("SLAVE") || accept_word("REPLICA")) {
            expect_word("STATUS");
            s.what = W::SlaveStatus;
        } else if (accept_word("BINARY") || accept_word("MASTER")) {
            expect_word("LOGS");
            s.what = W::BinaryLogs;
        } else if (accept_word("PRIVILEGES")) {
            s.what = W::Privileges;
        } else {
            fail();
        }
        result_.body = std::move(s);
    }

    // --- expressions ---
  public:
    Expr expr() {
        standin::NestingGuard guard(depth_, kMaxDepth);
        if (guard.too_deep()) {
            fail();
            return {};
        }
        return or_expr();
    }

  private:
    Expr binary(std::string op, Expr a, Expr b) {
        Expr e;
        e.kind = Expr::Kind::Binary;
        e.text = std::move(op);
        e.args.push_back(std::move(a));
        e.args.push_back(std::move(b));
        return e;
    }

    Expr or_expr() {
        Expr a = xor_expr();
        while (!failed_ && (is_word("OR") || (is_op("||") && !syntax_.pipes_as_concat))) {
            next();
            a = binary("OR", std::move(a), xor_expr());
        }
        return a;
    }
    Expr xor_expr() {
        Expr a = and_expr();
        while (!failed_ && is_word("XOR")) {
            next();
            a = binary("XOR", std::move(a), and_expr());
        }
        return a;
    }
    Expr and_expr() {
        Expr a = not_expr();
        while (!failed_ && (is_word("AND") || is_op("&&"))) {
            next();
            a = binary("AND", std::move(a), not_expr());
        }
        return a;
    }
    Expr not_expr() {
        if (accept_word("NOT")) {
            Expr e;
            e.kind = Expr::Kind::Unary;
            e.text = "NOT";
            e.args.push_back(not_expr());
            return e;
        }
        return predicate();
    }
    Expr subquery_in_parens() {
        Expr e;
        e.kind = Expr::Kind::Subquery;
        e.sub = query_expression();
        expect_op(")");
        return e;
    }
    Expr predicate() {
        Expr a = bit_or();
        while (!failed_) {
            if (is_op("=") || is_op("<>") || is_op("!=") || is_op("<") || is_op(">") ||
                is_op("<=") || is_op(">=") || is_op("<=>") || is_op(":=")) {
                std::string op = next().text;
                if (op == ":=") {
                    fail();
                    break;
                }
                if ((is_word("ANY") || is_word("SOME") || is_word("ALL")) && is_op("(", 1)) {
                    fail(); // quantified comparisons: not in the stand-in's grammar
                    break;
                }
                a = binary(op == "!=" ? "<>" : op, std::move(a), bit_or());
                continue;
            }
            if (is_word("IS")) {
                next();
                bool neg = accept_word("NOT");
                if (accept_word("NULL")) {
                    Expr null_lit;
                    a = binary(neg ? "IS NOT" : "IS", std::move(a), std::move(null_lit));
                } else if (is_word("TRUE") || is_word("FALSE") || is_word("UNKNOWN")) {
                    Expr e;
                    e.kind = Expr::Kind::IsBool;
                    e.text = upper(next().text);
                    e.negated = neg;
                    e.args.push_back(std::move(a));
                    a = std::move(e);
                } else {
                    fail();
                }
                continue;
            }
            std::size_t save = pos_;
            bool neg = accept_word("NOT");
            if (accept_word("IN")) {
                Expr e;
                e.kind = Expr::Kind::In;
                e.negated = neg;
                e.args.push_back(std::move(a));
                expect_op("(");
                if (is_word("SELECT")) {
                    e.sub = query_expression();
                } else {
                    do {
                        e.args.push_back(expr());
                    } while (!failed_ && accept_op(","));
                }
                expect_op(")");
                a = std::move(e);
            } else if (accept_word("BETWEEN")) {
                Expr e;
                e.kind = Expr::Kind::Between;
                e.negated = neg;
                e.args.push_back(std::move(a));
                e.args.push_back(bit_or());
                expect_word("AND");
                e.args.push_back(predicate());
                a = std::move(e);
            } else if (is_word("LIKE") || is_word("REGEXP") || is_word("RLIKE")) {
                auto op = upper(next().text);
                Expr e;
                e.kind = Expr::Kind::Like;
                e.text = op == "LIKE" ? "LIKE" : "REGEXP";
                e.negated = neg;
                e.args.push_back(std::move(a));
                e.args.push_back(bit_or());
                if (op == "LIKE" && accept_word("ESCAPE")) {
                    e.args.push_back(primary());
                }
                a = std::move(e);
            } else if (accept_word("SOUNDS")) {
                expect_word("LIKE");
                bit_or();
                fail();
            } else {
                pos_ = save;
                break;
            }
        }
        return a;
    }
    Expr bit_or() {
        Expr a = bit_and();
        while (!failed_ && is_op("|")) {
            next();
            a = binary("|", std::move(a), bit_and());
        }
        return a;
    }
    Expr bit_and() {
        Expr a = shift();
        while (!failed_ && is_op("&")) {
            next();
            a = binary("&", std::move(a), shift());
        }
        return a;
    }
    Expr shift() {
        Expr a = additive();
        while (!failed_ && ((is_op("<") && is_op("<", 1) && peek().end == peek(1).begin) ||
                            (is_op(">") && is_op(">", 1) && peek().end == peek(1).begin))) {
            std::string op = next().text + next().text;
            a = binary(op, std::move(a), additive());
        }
        return a;
    }
    Expr additive() {
        Expr a = term();
        while (!failed_ && (is_op("+") || is_op("-"))) {
            std::string op = next().text;
            if (is_word("INTERVAL")) {
                a = binary(op, std::move(a), interval());
            } else {
                a = binary(op, std::move(a), term());
            }
        }
        return a;
    }
    Expr interval() {
        expect_word("INTERVAL");
        Expr e;
        e.kind = Expr::Kind::Interval;
        e.args.push_back(expr());
        e.text = interval_unit();
        return e;
    }
    // an INTERVAL / EXTRACT / TIMESTAMPDIFF unit, upper case; a failure when it is none
    std::string interval_unit() {
        static constexpr std::string_view kUnits[] = {"MICROSECOND",
                                                      "SECOND",
                                                      "MINUTE",
                                                      "HOUR",
                                                      "DAY",
                                                      "WEEK",
                                                      "MONTH",
                                                      "QUARTER",
                                                      "YEAR",
                                                      "SECOND_MICROSECOND",
                                                      "MINUTE_MICROSECOND",
                                                      "MINUTE_SECOND",
                                                      "HOUR_MICROSECOND",
                                                      "HOUR_SECOND",
                                                      "HOUR_MINUTE",
                                                      "DAY_MICROSECOND",
                                                      "DAY_SECOND",
                                                      "DAY_MINUTE",
                                                      "DAY_HOUR",
                                                      "YEAR_MONTH"};
        auto u = peek().kind == Tok::Word ? upper(peek().text) : std::string();
        if (std::find(std::begin(kUnits), std::end(kUnits), u) == std::end(kUnits)) {
            fail();
            return {};
        }
        next();
        return u;
    }
    Expr term() {
        Expr a = bit_xor();
        while (!failed_ &&
               (is_op("*") || is_op("/") || is_op("%") || is_word("DIV") || is_word("MOD"))) {
            std::string op = upper(next().text);
            if (op == "MOD") {
                op = "%";
            }
            a = binary(op, std::move(a), bit_xor());
        }
        return a;
    }
    Expr bit_xor() {
        Expr a = concat();
        while (!failed_ && is_op("^")) {
            next();
            a = binary("^", std::move(a), concat());
        }
        return a;
    }
    // a || b under PIPES_AS_CONCAT: CONCAT(a, b), binding tighter than ^ (MySQL's manual:
    // "with precedence between ^ and the unary operators")
    Expr concat() {
        Expr a = unary();
        if (!syntax_.pipes_as_concat) {
            return a;
        }
        while (!failed_ && is_op("||")) {
            next();
            Expr c;
            c.kind = Expr::Kind::Func;
            c.text = "CONCAT";
            c.args.push_back(std::move(a));
            c.args.push_back(unary());
            a = std::move(c);
        }
        return a;
    }
    Expr unary() {
        if (is_op("-") || is_op("+") || is_op("!") || is_op("~")) {
            std::string op;
            Expr inner;
            {
                standin::NestingGuard guard(depth_, kMaxDepth);
                if (guard.too_deep()) {
                    fail();
                    return {};
                }
                op = next().text;
                inner = unary();
            }
            if (op == "+") {
                return inner;
            }
            if (op == "-" && inner.kind == Expr::Kind::Literal &&
                (inner.lit == Expr::LitKind::Int || inner.lit == Expr::LitKind::Decimal ||
                 inner.lit == Expr::LitKind::Double) &&
                !inner.text.starts_with("-")) {
                inner.text = "-" + inner.text;
                return inner;
            }
            Expr e;
            e.kind = Expr::Kind::Unary;
            e.text = op == "!" ? "NOT" : op;
            e.args.push_back(std::move(inner));
            return e;
        }
        if (is_word("BINARY") && !is_op("(", 1)) {
            next();
            Expr e;
            e.kind = Expr::Kind::Unary;
            e.text = "BINARY";
            e.args.push_back(unary());
            return e;
        }
        Expr p = primary();
        while (!failed_ && accept_word("COLLATE")) {
            Expr e;
            e.kind = Expr::Kind::Collate;
            e.text = name_or_string();
            e.args.push_back(std::move(p));
            p = std::move(e);
        }
        return p;
    }

    void cast_type(Expr& e) {
        auto t = peek().kind == Tok::Word ? upper(peek().text) : std::string();
        static constexpr std::string_view kTypes[] = {
            "SIGNED",   "UNSIGNED", "CHAR",    "NCHAR",  "BINARY", "DATE",
            "DATETIME", "TIME",     "DECIMAL", "DOUBLE", "FLOAT",  "JSON",
            "INTEGER",  "INT",      "REAL",    "YEAR",   "VARCHAR"};
        if (std::find(std::begin(kTypes), std::end(kTypes), t) == std::end(kTypes)) {
            fail();
            return;
        }
        next();
        if ((t == "SIGNED" || t == "UNSIGNED")) {
            accept_word("INTEGER") || accept_word("INT");
        }
        if (t == "INTEGER" || t == "INT") {
            t = "SIGNED";
        }
        e.type = t;
        if (accept_op("(")) {
            do {
                e.type_args.push_back(
                    static_cast<std::uint32_t>(std::min<std::uint64_t>(expect_number(), 1u << 30)));
            } while (!failed_ && accept_op(","));
            expect_op(")");
        }
        if (accept_word("CHARACTER")) {
            expect_word("SET");
            name_or_string();
        } else if (accept_word("CHARSET")) {
            name_or_string();
        }
        accept_word("UNICODE") || accept_word("ASCII");
    }

    Expr function_call(const std::string& u) {
        Expr e;
        e.kind = Expr::Kind::Func;
        e.text = u;
        if (u == "CAST" || u == "CONVERT") {
            e.kind = Expr::Kind::Cast;
            e.args.push_back(expr());
            if (u == "CAST") {
                expect_word("AS");
                cast_type(e);
            } else if (accept_word("USING")) {
                e.type = "CHAR";
                name_or_string();
            } else {
                expect_op(",");
                cast_type(e);
            }
            expect_op(")");
            return e;
        }
        if (u == "TRIM" && (is_word("LEADING") || is_word("TRAILING") || is_word("BOTH"))) {
            e.text = "TRIM_" + upper(next().text);
            if (accept_word("FROM")) {
                Expr space;
                space.lit = Expr::LitKind::String;
                space.text = " ";
                e.args.push_back(expr());
                e.args.push_back(space);
            } else {
                Expr remove = expr();
                expect_word("FROM");
                e.args.push_back(expr());
                e.args.push_back(std::move(remove));
            }
            expect_op(")");
            return e;
        }
        if (u == "TIMESTAMPDIFF" || u == "TIMESTAMPADD") {
            Expr unit_lit;
            unit_lit.lit = Expr::LitKind::String;
            unit_lit.text = interval_unit();
            e.args.push_back(std::move(unit_lit));
            expect_op(",");
        }
        if (u == "POSITION") { // POSITION(substr IN str): IN is not a predicate here
            e.text = "LOCATE";
            e.args.push_back(bit_or());
            expect_word("IN");
            e.args.push_back(expr());
            expect_op(")");
            return e;
        }
        if (u == "EXTRACT") {
            auto unit = interval_unit();
            expect_word("FROM");
            Expr unit_lit;
            unit_lit.lit = Expr::LitKind::String;
            unit_lit.text = unit;
            e.args.push_back(std::move(unit_lit));
            e.args.push_back(expr());
            expect_op(")");
            return e;
        }
        if (accept_op(")")) {
            return e;
        }
        if (accept_word("DISTINCT")) {
            e.distinct = true;
        } else {
            accept_word("ALL");
        }
        if (is_op("*") && is_op(")", 1)) {
            next();
            e.star = true;
            next();
            return e;
        }
        e.args.push_back(expr());
        if ((u == "SUBSTRING" || u == "SUBSTR" || u == "MID") && accept_word("FROM")) {
            e.args.push_back(expr());
            if (accept_word("FOR")) {
                e.args.push_back(expr());
            }
        } else if (u == "TRIM" && accept_word("FROM")) {
            e.text = "TRIM_BOTH";
            auto remove = std::move(e.args[0]);
            e.args[0] = expr();
            e.args.push_back(std::move(remove));
        } else {
            while (!failed_ && accept_op(",")) {
                e.args.push_back(expr());
            }
        }
        if (u == "GROUP_CONCAT") {
            if (accept_word("ORDER")) {
                expect_word("BY");
                order_list();
            }
            if (accept_word("SEPARATOR")) {
                if (peek().kind != Tok::String) {
                    fail();
                } else {
                    e.scope = next().text;
                    e.type = "SEPARATOR";
                }
            }
        }
        expect_op(")");
        if (accept_word("OVER")) {
            fail(); // window functions: not in the stand-in's grammar
        }
        return e;
    }

    Expr case_expr() {
        Expr e;
        e.kind = Expr::Kind::Case;
        if (!is_word("WHEN")) {
            e.has_operand = true;
            e.args.push_back(expr());
        }
        if (!is_word("WHEN")) {
            fail();
        }
        while (!failed_ && accept_word("WHEN")) {
            e.args.push_back(expr());
            expect_word("THEN");
            e.args.push_back(expr());
        }
        if (accept_word("ELSE")) {
            e.has_else = true;
            e.args.push_back(expr());
        }
        expect_word("END");
        return e;
    }

    Expr primary() {
        const Token& t = peek();
        Expr e;
        switch (t.kind) {
        case Tok::Number: {
            next();
            e.kind = Expr::Kind::Literal;
            e.text = t.text;
            if (t.text.size() > 2 && t.text[0] == '0' && (t.text[1] == 'x' || t.text[1] == 'X')) {
                e.lit = Expr::LitKind::Hex;
                e.text = t.text.substr(2);
            } else if (t.text.find_first_of("eE") != std::string::npos) {
                e.lit = Expr::LitKind::Double;
            } else if (t.text.find('.') != std::string::npos) {
                e.lit = Expr::LitKind::Decimal;
            } else {
                e.lit = Expr::LitKind::Int;
            }
            return e;
        }
        case Tok::String:
            next();
            e.kind = Expr::Kind::Literal;
            e.lit = Expr::LitKind::String;
            e.text = t.text;
            while (peek().kind == Tok::String) { // adjacent strings concatenate
                e.text += next().text;
            }
            return e;
        case Tok::SysVar: {
            next();
            e.kind = Expr::Kind::SysVar;
            auto dot = t.text.find('.');
            if (dot != std::string::npos) {
                e.scope = lower(t.text.substr(0, dot));
                e.text = t.text.substr(dot + 1);
                if (e.scope != "session" && e.scope != "global" && e.scope != "local") {
                    fail();
                }
            } else {
                e.text = t.text;
            }
            if (e.text.empty()) {
                fail();
            }
            return e;
        }
        case Tok::UserVar:
            next();
            e.kind = Expr::Kind::UserVar;
            e.text = t.text;
            if (is_op(":=")) { // SELECT @a := 1
                next();
                Expr assign;
                assign.kind = Expr::Kind::Func;
                assign.text = ":=";
                assign.args.push_back(e);
                assign.args.push_back(expr());
                return assign;
            }
            return e;
        case Tok::Param:
            next();
            e.kind = Expr::Kind::Param;
            e.param = params_++;
            return e;
        case Tok::Op:
            if (t.text == "(") {
                next();
                if (is_word("SELECT")) {
                    return subquery_in_parens();
                }
                Expr inner = expr();
                if (is_op(",")) { // row constructors: not in the stand-in's grammar
                    fail();
                }
                expect_op(")");
                return inner;
            }
            fail();
            return e;
        case Tok::Word: {
            auto u = upper(t.text);
            if (u == "NULL") {
                next();
                e.kind = Expr::Kind::Literal;
                e.lit = Expr::LitKind::Null;
                return e;
            }
            if (u == "TRUE" || u == "FALSE") {
                next();
                e.kind = Expr::Kind::Literal;
                e.lit = Expr::LitKind::Bool;
                e.text = u == "TRUE" ? "1" : "0";
                return e;
            }
            if ((u == "X" || u == "B") && peek(1).kind == Tok::String && peek(1).begin == t.end) {
                next();
                auto s = next().text;
                e.kind = Expr::Kind::Literal;
                e.lit = Expr::LitKind::Hex;
                if (u == "B") { // b'0101': its value in hex
                    std::uint64_t v = 0;
                    for (char ch : s.substr(0, 64)) {
                        v = (v << 1) | (ch == '1' ? 1U : 0U);
                    }
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%llX", static_cast<unsigned long long>(v));
                    s = buf;
                    if (s.size() % 2 != 0) {
                        s = "0" + s;
                    }
                }
                e.text = s;
                return e;
            }
            if (u.starts_with("_") && peek(1).kind == Tok::String) { // _utf8mb4'x'
                next();
                return primary();
            }
            if ((u == "DATE" || u == "TIME" || u == "TIMESTAMP") && peek(1).kind == Tok::String) {
                next();
                e.kind = Expr::Kind::Literal;
                e.lit = Expr::LitKind::Date;
                e.type = u;
                e.text = next().text;
                return e;
            }
            if (u == "CASE") {
                next();
                return case_expr();
            }
            if (u == "EXISTS") {
                next();
                expect_op("(");
                e.kind = Expr::Kind::Exists;
                e.sub = query_expression();
                expect_op(")");
                return e;
            }
            if (u == "INTERVAL") {
                return interval();
            }
            if (is_op("(", 1) && peek(1).begin == t.end &&
                (!reserved(t.text) || u == "INSERT" || u == "LEFT" || u == "RIGHT" || u == "IF" ||
                 u == "MOD" || u == "REPLACE" || u == "DATABASE" || u == "SCHEMA")) {
                next();
                next();
                return function_call(u);
            }
            if (is_op("(", 1) && !reserved(t.text)) { // MySQL allows a space for builtins
                next();
                next();
                return function_call(u);
            }
            if (u == "CURRENT_USER" || u == "CURRENT_TIMESTAMP" || u == "LOCALTIMESTAMP" ||
                u == "LOCALTIME" || u == "UTC_TIMESTAMP" || u == "CURRENT_DATE" ||
                u == "CURRENT_TIME" || u == "UTC_DATE" || u == "UTC_TIME" || u == "CURRENT_ROLE") {
                next();
                e.kind = Expr::Kind::Func;
                e.text = u;
                return e;
            }
            if (reserved(t.text)) {
                fail();
                return e;
            }
            return column_ref();
        }
        case Tok::QuotedIdent:
            return column_ref();
        case Tok::End:
            break;
        }
        fail();
        return e;
    }

    Expr column_ref() {
        Expr e;
        e.kind = Expr::Kind::Column;
        e.text = next().text;
        if (is_op(".") && (peek(1).kind == Tok::Word || peek(1).kind == Tok::QuotedIdent)) {
            next();
            e.qualifier = e.text;
            e.text = next().text;
            if (is_op(".") && (peek(1).kind == Tok::Word || peek(1).kind == Tok::QuotedIdent)) {
                next(); // db.table.column: the table qualifies
                e.qualifier = e.text;
                e.text = next().text;
            }
        }
        return e;
    }

  public:
    std::string user_hint_; // the session's user (SET PASSWORD FOR it is its own)
    Flavour flavour_ = Flavour::Mysql80;
    Syntax syntax_;

  private:
    std::string_view query_text_;
    std::vector<Token> t_;
    std::size_t pos_ = 0;
    bool failed_ = false;
    std::size_t fail_at_ = 0;
    std::uint16_t params_ = 0;
    int depth_ = 0;
    std::string other_user_;
    Statement result_;
};

} // namespace

std::variant<ParsedStatement, ServerError> parse_statement(Flavour f, std::string_view query,
                                                           StatementText range, Syntax syntax) {
    range.end = std::min(range.end, query.size());
    range.begin = std::min(range.begin, range.end);
    auto lexed = lex(query, range.begin, range.end, syntax);
    if (auto* e = std::get_if<LexError>(&lexed)) {
        return syntax_error_at(f, query, e->at);
    }
    Parser p(std::move(std::get<std::vector<Token>>(lexed)), query);
    p.flavour_ = f;
    p.syntax_ = syntax;
    auto r = p.statement();
    if (auto* e = std::get_if<ParseFailure>(&r)) {
        return syntax_error_at(f, query, e->at);
    }
    ParsedStatement out;
    auto st = std::make_shared<Statement>(std::move(std::get<Statement>(r)));
    st->text = std::string(query.substr(range.begin, range.end - range.begin));
    out.statement = std::move(st);
    out.params = p.params();
    return out;
}

} // namespace standin::mysql
