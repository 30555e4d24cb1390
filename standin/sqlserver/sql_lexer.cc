#include <optional>

#include <standin/sqlserver/sql_lexer.h>

namespace standin::sqlserver {

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
        if (x != y) {
            return false;
        }
    }
    return true;
}

bool SqlToken::is(std::string_view keyword) const {
    return kind == TokenKind::Word && iequals(text, keyword);
}

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// Identifier characters: letters, digits, _ @ # $ and any non-ASCII (UTF-8) byte.
bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '#' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool is_ident(char c) {
    return is_ident_start(c) || is_digit(c) || c == '@' || c == '$';
}

class Lexer {
  public:
    explicit Lexer(std::string_view s) : s_(s) {}

    std::expected<std::vector<SqlToken>, SqlLexError> run() {
        std::vector<SqlToken> out;
        while (true) {
            if (auto e = skip_space_and_comments(); e) {
                return std::unexpected(*e);
            }
            if (i_ >= s_.size()) {
                out.push_back(SqlToken{TokenKind::End, "", line_, i_});
                return out;
            }
            auto t = next();
            if (!t) {
                return std::unexpected(t.error());
            }
            out.push_back(std::move(*t));
        }
    }

  private:
    char at(std::size_t k) const { return k < s_.size() ? s_[k] : '\0'; }

    void advance() {
        if (s_[i_] == '\n') {
            ++line_;
        }
        ++i_;
    }

    std::optional<SqlLexError> skip_space_and_comments() {
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (is_space(c)) {
                advance();
            } else if (c == '-' && at(i_ + 1) == '-') {
                while (i_ < s_.size() && s_[i_] != '\n') {
                    advance();
                }
            } else if (c == '/' && at(i_ + 1) == '*') {
                // T-SQL block comments nest.
                std::uint32_t start_line = line_;
                int depth = 0;
                do {
                    if (i_ + 1 < s_.size() && s_[i_] == '/' && s_[i_ + 1] == '*') {
                        ++depth;
                        advance();
                        advance();
                    } else if (i_ + 1 < s_.size() && s_[i_] == '*' && s_[i_ + 1] == '/') {
                        --depth;
                        advance();
                        advance();
                    } else if (i_ < s_.size()) {
                        advance();
                    } else {
                        return SqlLexError{113, "Missing end comment mark '*/'.", start_line, ""};
                    }
                } while (depth > 0);
            } else {
                break;
            }
        }
        return std::nullopt;
    }

    // quoted reads 'x''y' / [x]]y] / "x""y" starting at the opening quote.
    std::expected<std::string, SqlLexError> quoted(char close, std::uint32_t start_line,
                                                   std::size_t start) {
        std::string text;
        advance(); // opening quote
        while (true) {
            if (i_ >= s_.size()) {
                std::string rest(s_.substr(start + 1));
                return std::unexpected(SqlLexError{
                    105, "Unclosed quotation mark after the character string '" + rest + "'.",
                    start_line, rest});
            }
            char c = s_[i_];
            if (c == close) {
                if (at(i_ + 1) == close) {
                    text.push_back(close);
                    advance();
                    advance();
                    continue;
                }
                advance();
                return text;
            }
            text.push_back(c);
            advance();
        }
    }

    std::expected<SqlToken, SqlLexError> next() {
        const std::size_t start = i_;
        const std::uint32_t line = line_;
        const char c = s_[i_];
        auto make = [&](TokenKind k, std::string text) {
            return SqlToken{k, std::move(text), line, start};
        };

        if ((c == 'N' || c == 'n') && at(i_ + 1) == '\'') {
            advance();
            auto q = quoted('\'', line, start + 1);
            if (!q) {
                return std::unexpected(q.error());
            }
            return make(TokenKind::NString, std::move(*q));
        }
        if (c == '\'') {
            auto q = quoted('\'', line, start);
            if (!q) {
                return std::unexpected(q.error());
            }
            return make(TokenKind::String, std::move(*q));
        }
        if (c == '[') {
            auto q = quoted(']', line, start);
            if (!q) {
                return std::unexpected(q.error());
            }
            return make(TokenKind::QuotedName, std::move(*q));
        }
        if (c == '"') {
            auto q = quoted('"', line, start);
            if (!q) {
                return std::unexpected(q.error());
            }
            return make(TokenKind::QuotedName, std::move(*q));
        }
        if (c == '0' && (at(i_ + 1) == 'x' || at(i_ + 1) == 'X')) {
            advance();
            advance();
            std::string hex;
            while (i_ < s_.size() && is_hex(s_[i_])) {
                hex.push_back(s_[i_]);
                advance();
            }
            return make(TokenKind::Binary, std::move(hex));
        }
        if (is_digit(c) || (c == '.' && is_digit(at(i_ + 1)))) {
            std::string num;
            bool point = false;
            bool exponent = false;
            while (i_ < s_.size()) {
                char d = s_[i_];
                if (is_digit(d)) {
                    num.push_back(d);
                } else if (d == '.' && !point && !exponent) {
                    point = true;
                    num.push_back(d);
                } else if ((d == 'e' || d == 'E') && !exponent &&
                           (is_digit(at(i_ + 1)) ||
                            ((at(i_ + 1) == '+' || at(i_ + 1) == '-') && is_digit(at(i_ + 2))))) {
                    exponent = true;
                    num.push_back(d);
                    advance();
                    num.push_back(s_[i_]);
                } else {
                    break;
                }
                advance();
            }
            return make(exponent ? TokenKind::Float
                        : point  ? TokenKind::Decimal
                                 : TokenKind::Integer,
                        std::move(num));
        }
        if (c == '@') {
            bool system = at(i_ + 1) == '@';
            std::string name = system ? "@@" : "@";
            advance();
            if (system) {
                advance();
            }
            while (i_ < s_.size() && is_ident(s_[i_])) {
                name.push_back(s_[i_]);
                advance();
            }
            return make(system ? TokenKind::SystemVariable : TokenKind::Variable, std::move(name));
        }
        if (is_ident_start(c)) {
            std::string word;
            while (i_ < s_.size() && is_ident(s_[i_])) {
                word.push_back(s_[i_]);
                advance();
            }
            return make(TokenKind::Word, std::move(word));
        }
        static constexpr std::string_view kTwo[] = {"<=", ">=", "<>", "!=", "!<", "!>", "+=", "-=",
                                                    "*=", "/=", "%=", "&=", "|=", "^=", "::"};
        for (auto two : kTwo) {
            if (s_.substr(i_, 2) == two) {
                advance();
                advance();
                return make(TokenKind::Symbol, std::string(two));
            }
        }
        advance();
        return make(TokenKind::Symbol, std::string(1, c));
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::uint32_t line_ = 1;
};

} // namespace

std::expected<std::vector<SqlToken>, SqlLexError> lex_sql(std::string_view batch) {
    return Lexer(batch).run();
}

} // namespace standin::sqlserver
