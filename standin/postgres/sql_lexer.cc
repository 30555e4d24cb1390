#include <cctype>

#include <standin/postgres/sql_lexer.h>

namespace standin::postgres {

namespace {

bool ident_start(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || c == '_' || u >= 0x80;
}

bool ident_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
}

bool space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool op_char(char c) {
    switch (c) {
    case '~':
    case '!':
    case '@':
    case '#':
    case '^':
    case '&':
    case '|':
    case '`':
    case '?':
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '<':
    case '>':
    case '=':
        return true;
    default:
        return false;
    }
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

class Lexer {
  public:
    Lexer(std::string_view q, LexOptions o) : q_(q), options_(o) {}

    std::expected<std::vector<Token>, ServerError> run() {
        while (true) {
            if (auto e = skip_space_and_comments(); !e) {
                return std::unexpected(e.error());
            }
            if (i_ >= q_.size()) {
                break;
            }
            auto t = next();
            if (!t) {
                return std::unexpected(t.error());
            }
            tokens_.push_back(std::move(*t));
        }
        Token end;
        end.kind = TokenKind::End;
        end.offset = q_.size();
        tokens_.push_back(end);
        return tokens_;
    }

  private:
    ServerError error(const std::string& what, std::size_t start) const {
        return errors::lexical_error(what, std::string(q_.substr(start)), position_of(q_, start));
    }

    std::expected<void, ServerError> skip_space_and_comments() {
        while (i_ < q_.size()) {
            if (space(q_[i_])) {
                ++i_;
            } else if (q_.substr(i_, 2) == "--") {
                while (i_ < q_.size() && q_[i_] != '\n' && q_[i_] != '\r') {
                    ++i_;
                }
            } else if (q_.substr(i_, 2) == "/*") {
                std::size_t start = i_;
                int depth = 0;
                while (i_ < q_.size()) {
                    if (q_.substr(i_, 2) == "/*") {
                        ++depth;
                        i_ += 2;
                    } else if (q_.substr(i_, 2) == "*/") {
                        --depth;
                        i_ += 2;
                        if (depth == 0) {
                            break;
                        }
                    } else {
                        ++i_;
                    }
                }
                if (depth != 0) {
                    return std::unexpected(error("unterminated /* comment", start));
                }
            } else {
                break;
            }
        }
        return {};
    }

    Token make(TokenKind kind, std::string text, std::size_t start) const {
        Token t;
        t.kind = kind;
        t.text = std::move(text);
        t.offset = start;
        t.length = i_ - start;
        return t;
    }

    // continuation: after a closing quote, whitespace holding a newline, then another quote,
    // continues the string (SQL standard).
    bool continues() {
        std::size_t j = i_;
        bool newline = false;
        while (j < q_.size()) {
            if (q_[j] == '\n' || q_[j] == '\r') {
                newline = true;
                ++j;
            } else if (space(q_[j])) {
                ++j;
            } else if (q_.substr(j, 2) == "--") {
                while (j < q_.size() && q_[j] != '\n' && q_[j] != '\r') {
                    ++j;
                }
            } else {
                break;
            }
        }
        if (newline && j < q_.size() && q_[j] == '\'') {
            i_ = j;
            return true;
        }
        return false;
    }

    std::expected<Token, ServerError> quoted_string(std::size_t start, bool escapes) {
        // i_ at the opening quote
        std::string out;
        while (true) {
            ++i_; // past the quote
            bool closed = false;
            while (i_ < q_.size()) {
                char c = q_[i_];
                if (c == '\'') {
                    if (i_ + 1 < q_.size() && q_[i_ + 1] == '\'') {
                        out.push_back('\'');
                        i_ += 2;
                        continue;
                    }
                    ++i_;
                    closed = true;
                    break;
                }
                if (c == '\\' && escapes) {
                    if (i_ + 1 >= q_.size()) {
                        break;
                    }
                    char n = q_[i_ + 1];
                    i_ += 2;
                    switch (n) {
                    case 'b':
                        out.push_back('\b');
                        break;
                    case 'f':
                        out.push_back('\f');
                        break;
                    case 'n':
                        out.push_back('\n');
                        break;
                    case 'r':
                        out.push_back('\r');
                        break;
                    case 't':
                        out.push_back('\t');
                        break;
                    case 'x': {
                        int v = 0;
                        int n_digits = 0;
                        while (n_digits < 2 && i_ < q_.size() && hex_value(q_[i_]) >= 0) {
                            v = v * 16 + hex_value(q_[i_]);
                            ++i_;
                            ++n_digits;
                        }
                        if (n_digits == 0) {
                            out.push_back('x');
                        } else {
                            out.push_back(static_cast<char>(v));
                        }
                        break;
                    }
                    case 'u':
                    case 'U': {
                        int want = n == 'u' ? 4 : 8;
                        std::uint32_t cp = 0;
                        for (int k = 0; k < want; ++k) {
                            if (i_ >= q_.size() || hex_value(q_[i_]) < 0) {
                                return std::unexpected(error("invalid Unicode escape", start));
                            }
                            cp = cp * 16 + static_cast<std::uint32_t>(hex_value(q_[i_]));
                            ++i_;
                        }
                        if (cp == 0 || cp > 0x10FFFF) {
                            return std::unexpected(error("invalid Unicode escape value", start));
                        }
                        append_utf8(out, cp);
                        break;
                    }
                    default:
                        if (n >= '0' && n <= '7') {
                            int v = n - '0';
                            int n_digits = 1;
                            while (n_digits < 3 && i_ < q_.size() && q_[i_] >= '0' &&
                                   q_[i_] <= '7') {
                                v = v * 8 + (q_[i_] - '0');
                                ++i_;
                                ++n_digits;
                            }
                            out.push_back(static_cast<char>(v & 0xFF));
                        } else {
                            out.push_back(n);
                        }
                        break;
                    }
                    continue;
                }
                out.push_back(c);
                ++i_;
            }
            if (!closed) {
                return std::unexpected(error("unterminated quoted string", start));
            }
            if (!continues()) {
                break;
            }
        }
        if (out.find('\0') != std::string::npos) {
            auto e = error("invalid message format", start);
            e.sqlstate = "22021";
            e.message = "invalid byte sequence for encoding \"UTF8\": 0x00";
            return std::unexpected(e);
        }
        return make(TokenKind::String, out, start);
    }

    std::expected<std::string, ServerError> unicode_unescape(const std::string& s,
                                                             std::size_t start) {
        std::string out;
        for (std::size_t k = 0; k < s.size(); ++k) {
            if (s[k] != '\\') {
                out.push_back(s[k]);
                continue;
            }
            if (k + 1 < s.size() && s[k + 1] == '\\') {
                out.push_back('\\');
                ++k;
                continue;
            }
            int want = 4;
            std::size_t at = k + 1;
            if (at < s.size() && s[at] == '+') {
                want = 6;
                ++at;
            }
            std::uint32_t cp = 0;
            for (int d = 0; d < want; ++d) {
                if (at >= s.size() || hex_value(s[at]) < 0) {
                    return std::unexpected(error("invalid Unicode escape", start));
                }
                cp = cp * 16 + static_cast<std::uint32_t>(hex_value(s[at]));
                ++at;
            }
            if (cp == 0 || cp > 0x10FFFF) {
                return std::unexpected(error("invalid Unicode escape value", start));
            }
            append_utf8(out, cp);
            k = at - 1;
        }
        return out;
    }

    std::expected<Token, ServerError> quoted_identifier(std::size_t start) {
        std::string out;
        ++i_;
        while (true) {
            if (i_ >= q_.size()) {
                return std::unexpected(error("unterminated quoted identifier", start));
            }
            if (q_[i_] == '"') {
                if (i_ + 1 < q_.size() && q_[i_ + 1] == '"') {
                    out.push_back('"');
                    i_ += 2;
                    continue;
                }
                ++i_;
                break;
            }
            out.push_back(q_[i_]);
            ++i_;
        }
        if (out.empty()) {
            return std::unexpected(errors::lexical_error("zero-length delimited identifier",
                                                         std::string(q_.substr(start, i_ - start)),
                                                         position_of(q_, start)));
        }
        if (out.size() > 63) {
            out.resize(63); // NAMEDATALEN - 1 (PostgreSQL truncates with a NOTICE)
        }
        return make(TokenKind::QuotedIdentifier, out, start);
    }

    std::expected<Token, ServerError> number(std::size_t start) {
        auto junk = [&]() {
            std::size_t j = i_;
            while (j < q_.size() && ident_char(q_[j])) {
                ++j;
            }
            return errors::lexical_error("trailing junk after numeric literal",
                                         std::string(q_.substr(start, j - start)),
                                         position_of(q_, start));
        };
        auto digits = [&](auto is_digit) {
            std::string out;
            while (i_ < q_.size()) {
                if (is_digit(q_[i_])) {
                    out.push_back(q_[i_]);
                    ++i_;
                } else if (q_[i_] == '_' && !out.empty() && i_ + 1 < q_.size() &&
                           is_digit(q_[i_ + 1])) {
                    ++i_;
                } else {
                    break;
                }
            }
            return out;
        };
        auto dec = [](char c) {
            return c >= '0' && c <= '9';
        };
        if (q_[i_] == '0' && i_ + 1 < q_.size()) {
            char p = static_cast<char>(std::tolower(static_cast<unsigned char>(q_[i_ + 1])));
            int base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
            if (base != 0) {
                i_ += 2;
                auto body = digits([base](char c) {
                    int v = hex_value(c);
                    return v >= 0 && v < base && (base == 16 || (c >= '0' && c <= '9'));
                });
                if (body.empty() || (i_ < q_.size() && ident_char(q_[i_]))) {
                    return std::unexpected(junk());
                }
                return make(TokenKind::Integer, std::string("0") + p + body, start);
            }
        }
        std::string text = digits(dec);
        TokenKind kind = TokenKind::Integer;
        if (i_ < q_.size() && q_[i_] == '.' && !(i_ + 1 < q_.size() && q_[i_ + 1] == '.')) {
            ++i_;
            text += "." + digits(dec);
            kind = TokenKind::Decimal;
        }
        if (i_ < q_.size() && (q_[i_] == 'e' || q_[i_] == 'E')) {
            std::size_t save = i_;
            ++i_;
            std::string e = "e";
            if (i_ < q_.size() && (q_[i_] == '+' || q_[i_] == '-')) {
                e.push_back(q_[i_]);
                ++i_;
            }
            auto exp = digits(dec);
            if (exp.empty()) {
                i_ = save;
                return std::unexpected(junk());
            }
            text += e + exp;
            kind = TokenKind::Real;
        }
        if (i_ < q_.size() && ident_char(q_[i_])) {
            return std::unexpected(junk());
        }
        return make(kind, text, start);
    }

    std::expected<Token, ServerError> next() {
        std::size_t start = i_;
        char c = q_[i_];
        // prefixed strings: E'..', N'..', B'..', X'..', U&'..', U&".."
        if ((c == 'e' || c == 'E') && i_ + 1 < q_.size() && q_[i_ + 1] == '\'') {
            ++i_;
            return quoted_string(start, true);
        }
        if ((c == 'n' || c == 'N' || c == 'b' || c == 'B' || c == 'x' || c == 'X') &&
            i_ + 1 < q_.size() && q_[i_ + 1] == '\'') {
            ++i_;
            return quoted_string(start, false);
        }
        if ((c == 'u' || c == 'U') && q_.substr(i_ + 1, 2) == "&'") {
            i_ += 2;
            auto t = quoted_string(start, false);
            if (!t) {
                return t;
            }
            auto u = unicode_unescape(t->text, start);
            if (!u) {
                return std::unexpected(u.error());
            }
            t->text = *u;
            return t;
        }
        if ((c == 'u' || c == 'U') && q_.substr(i_ + 1, 2) == "&\"") {
            i_ += 2;
            auto t = quoted_identifier(start);
            if (!t) {
                return t;
            }
            auto u = unicode_unescape(t->text, start);
            if (!u) {
                return std::unexpected(u.error());
            }
            t->text = *u;
            t->offset = start;
            return t;
        }
        if (c == '\'') {
            return quoted_string(start, !options_.standard_conforming_strings);
        }
        if (c == '"') {
            return quoted_identifier(start);
        }
        if (ident_start(c)) {
            while (i_ < q_.size() && ident_char(q_[i_])) {
                ++i_;
            }
            auto text = lower_ascii(q_.substr(start, i_ - start));
            if (text.size() > 63) {
                text.resize(63);
            }
            return make(TokenKind::Identifier, text, start);
        }
        if (std::isdigit(static_cast<unsigned char>(c)) ||
            (c == '.' && i_ + 1 < q_.size() &&
             std::isdigit(static_cast<unsigned char>(q_[i_ + 1])))) {
            return number(start);
        }
        if (c == '$') {
            // $n parameter or $tag$ dollar quote
            if (i_ + 1 < q_.size() && std::isdigit(static_cast<unsigned char>(q_[i_ + 1]))) {
                ++i_;
                std::size_t ds = i_;
                while (i_ < q_.size() && std::isdigit(static_cast<unsigned char>(q_[i_]))) {
                    ++i_;
                }
                if (i_ < q_.size() && ident_char(q_[i_])) {
                    std::size_t j = i_;
                    while (j < q_.size() && ident_char(q_[j])) {
                        ++j;
                    }
                    return std::unexpected(errors::lexical_error(
                        "trailing junk after parameter", std::string(q_.substr(start, j - start)),
                        position_of(q_, start)));
                }
                return make(TokenKind::Parameter, std::string(q_.substr(ds, i_ - ds)), start);
            }
            std::size_t j = i_ + 1;
            if (j < q_.size() && ident_start(q_[j])) {
                while (j < q_.size() && ident_char(q_[j]) && q_[j] != '$') {
                    ++j;
                }
            }
            if (j < q_.size() && q_[j] == '$') {
                std::string tag(q_.substr(i_, j - i_ + 1));
                auto close = q_.find(tag, j + 1);
                if (close == std::string_view::npos) {
                    return std::unexpected(error("unterminated dollar-quoted string", start));
                }
                std::string body(q_.substr(j + 1, close - j - 1));
                i_ = close + tag.size();
                return make(TokenKind::String, body, start);
            }
            ++i_;
            return std::unexpected(errors::syntax_error_at("$", position_of(q_, start)));
        }
        if (c == ':' && i_ + 1 < q_.size() && (q_[i_ + 1] == ':' || q_[i_ + 1] == '=')) {
            i_ += 2;
            return make(TokenKind::Symbol, std::string(q_.substr(start, 2)), start);
        }
        if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == ';' || c == ':' ||
            c == '.') {
            ++i_;
            return make(TokenKind::Symbol, std::string(1, c), start);
        }
        if (op_char(c)) {
            std::size_t j = i_;
            while (j < q_.size() && op_char(q_[j])) {
                if (j > i_ && (q_.substr(j, 2) == "--" || q_.substr(j, 2) == "/*")) {
                    break;
                }
                if (q_.substr(j, 2) == "--" || q_.substr(j, 2) == "/*") {
                    break;
                }
                ++j;
            }
            std::string op(q_.substr(i_, j - i_));
            // scan.l: a multi-character operator ending in + or - loses the trailing sign
            // unless it contains one of ~ ! @ # ^ & | ` ? %
            if (op.size() > 1 && (op.back() == '+' || op.back() == '-') &&
                op.find_first_of("~!@#^&|`?%") == std::string::npos) {
                while (op.size() > 1 && (op.back() == '+' || op.back() == '-')) {
                    op.pop_back();
                }
            }
            i_ += op.size();
            if (op == "!=") {
                op = "<>";
            }
            return make(TokenKind::Operator, op, start);
        }
        ++i_;
        return std::unexpected(
            errors::syntax_error_at(std::string(q_.substr(start, 1)), position_of(q_, start)));
    }

    std::string_view q_;
    LexOptions options_;
    std::size_t i_ = 0;
    std::vector<Token> tokens_;
};

} // namespace

std::expected<std::vector<Token>, ServerError> lex_sql(std::string_view query, LexOptions options) {
    return Lexer(query, options).run();
}

} // namespace standin::postgres
