#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include <proxy/app/report/error_text.h>

namespace proxy::app::report {

namespace {

// ---------------------------------------------------------------------------------------------
// Character classes, ASCII only: the bytes of other encodings are neither letters nor digits.

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
    return is_digit(c) || is_alpha(c);
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::size_t count_while(std::string_view s, std::size_t i, bool (*pred)(char)) {
    std::size_t n = 0;
    while (i + n < s.size() && pred(s[i + n])) {
        ++n;
    }
    return n;
}

// Digits exactly n long at i.
bool digits_at(std::string_view s, std::size_t i, std::size_t n) {
    return i + n <= s.size() && count_while(s, i, is_digit) >= n;
}

bool ends_word(std::string_view s, std::size_t i) {
    return i >= s.size() || !is_alnum(s[i]);
}

// uuid_length: 8-4-4-4-12 hex digits at i (JDBC's ClientConnectionId, trace ids), or 0.
std::size_t uuid_length(std::string_view s, std::size_t i) {
    std::size_t pos = i;
    constexpr std::array<std::size_t, 5> kParts{8, 4, 4, 4, 12};
    for (std::size_t p = 0; p < kParts.size(); ++p) {
        if (count_while(s, pos, is_hex) != kParts[p]) {
            return 0;
        }
        pos += kParts[p];
        if (p + 1 < kParts.size()) {
            if (pos >= s.size() || s[pos] != '-') {
                return 0;
            }
            ++pos;
        }
    }
    return ends_word(s, pos) ? pos - i : 0;
}

// time_length: HH:MM:SS with an optional fraction at i, or 0.
std::size_t time_length(std::string_view s, std::size_t i) {
    std::size_t h = count_while(s, i, is_digit);
    if (h < 1 || h > 2) {
        return 0;
    }
    std::size_t pos = i + h;
    for (int part = 0; part < 2; ++part) {
        if (pos >= s.size() || s[pos] != ':' || count_while(s, pos + 1, is_digit) != 2) {
            return 0;
        }
        pos += 3;
    }
    if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && is_digit(s[pos + 1])) {
        pos += 1 + count_while(s, pos + 1, is_digit);
    }
    return pos - i;
}

// datetime_length: YYYY-MM-DD, optionally followed by [T ]time and a zone, at i; or 0.
std::size_t datetime_length(std::string_view s, std::size_t i) {
    if (count_while(s, i, is_digit) != 4 || i + 10 > s.size() || s[i + 4] != '-' ||
        count_while(s, i + 5, is_digit) != 2 || s[i + 7] != '-' ||
        count_while(s, i + 8, is_digit) != 2) {
        return 0;
    }
    std::size_t pos = i + 10;
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
        if (std::size_t t = time_length(s, pos + 1); t > 0) {
            pos += 1 + t;
            if (pos < s.size() && s[pos] == 'Z') {
                ++pos;
            } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') &&
                       digits_at(s, pos + 1, 2)) {
                pos += 3;
                if (pos < s.size() && s[pos] == ':' && digits_at(s, pos + 1, 2)) {
                    pos += 3;
                } else if (digits_at(s, pos, 2)) {
                    pos += 2;
                }
            }
        }
    }
    return ends_word(s, pos) ? pos - i : 0;
}

// duration_length: a number with a unit of time ("15000ms", "2.5 s", "30 seconds") at i, or 0.
std::size_t duration_length(std::string_view s, std::size_t i) {
    std::size_t pos = i + count_while(s, i, is_digit);
    if (pos == i) {
        return 0;
    }
    if (pos + 1 < s.size() && s[pos] == '.' && is_digit(s[pos + 1])) {
        pos += 1 + count_while(s, pos + 1, is_digit);
    }
    if (pos < s.size() && s[pos] == ' ') {
        ++pos;
    }
    std::size_t unit = count_while(s, pos, is_alpha);
    static constexpr std::array<std::string_view, 15> kUnits{
        "ns",  "us",   "ms",     "s",       "sec",         "secs",         "second", "seconds",
        "min", "mins", "minute", "minutes", "millisecond", "milliseconds", "msec"};
    std::string_view word = s.substr(pos, unit);
    if (unit == 0 || std::find(kUnits.begin(), kUnits.end(), word) == kUnits.end()) {
        return 0;
    }
    return pos + unit - i;
}

// temp_path_length: a path under a temporary directory at i, or 0.
std::size_t temp_path_length(std::string_view s, std::size_t i) {
    static constexpr std::array<std::string_view, 5> kRoots{"/tmp/", "/var/tmp/", "/var/folders/",
                                                            "/private/var/folders/", "/dev/shm/"};
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '/' || s[i - 1] == '.' || s[i - 1] == '_')) {
        return 0;
    }
    for (auto root : kRoots) {
        if (s.substr(i).starts_with(root)) {
            std::size_t pos = i;
            while (pos < s.size() && !is_space(s[pos]) &&
                   std::string_view("'\"()<>,;:[]{}").find(s[pos]) == std::string_view::npos) {
                ++pos;
            }
            return pos - i;
        }
    }
    return 0;
}

std::uint32_t port_number(std::string_view digits) {
    std::uint32_t v = 0;
    for (char d : digits.substr(0, 5)) {
        v = v * 10 + static_cast<std::uint32_t>(d - '0');
    }
    return v;
}

// The text before a number says what it is: "port 41234", "connection id 17", "pid=4242".
std::string_view keyword_before(const std::string& out) {
    std::size_t end = out.size();
    while (end > 0 && std::string_view(" :=#[(").find(out[end - 1]) != std::string_view::npos) {
        --end;
    }
    std::size_t start = end;
    while (start > 0 && is_alpha(out[start - 1])) {
        --start;
    }
    std::string word;
    for (std::size_t k = start; k < end; ++k) {
        word.push_back(lower(out[k]));
    }
    static constexpr std::array<std::string_view, 3> kPorts{"port", "lport", "rport"};
    static constexpr std::array<std::string_view, 9> kIds{
        "id", "pid", "spid", "tid", "connection", "conn", "thread", "session", "process"};
    for (auto k : kPorts) {
        if (word == k) {
            return "<port>";
        }
    }
    for (auto k : kIds) {
        if (word == k) {
            return "<id>";
        }
    }
    // camelCase ids: ClientConnectionId, connectionID.
    if (end - start > 2 && out[end - 2] == 'I' && lower(out[end - 1]) == 'd') {
        return "<id>";
    }
    return {};
}

} // namespace

std::string normalise_error_text(const std::string& text) {
    std::string_view s(text);
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (is_space(c)) {
            if (!out.empty() && out.back() != ' ') {
                out.push_back(' ');
            }
            ++i;
            continue;
        }
        if (c == '/') {
            if (std::size_t n = temp_path_length(s, i); n > 0) {
                out += "<tmp>";
                i += n;
                continue;
            }
        }
        bool word_start = i == 0 || (!is_alnum(s[i - 1]) && s[i - 1] != '_');
        if (!word_start || !is_hex(c)) {
            out.push_back(c);
            ++i;
            continue;
        }
        if (std::size_t n = uuid_length(s, i); n > 0) {
            out += "<id>";
            i += n;
            continue;
        }
        if (std::size_t n = datetime_length(s, i); n > 0) {
            out += "<time>";
            i += n;
            continue;
        }
        if (std::size_t n = time_length(s, i); n > 0 && ends_word(s, i + n)) {
            out += "<time>";
            i += n;
            continue;
        }
        if (c == '0' && i + 1 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
            // An address (0x7f3a9c0012d0) varies; a 32-bit code (0x80090325) does not.
            std::size_t n = count_while(s, i + 2, is_hex);
            if (n >= 9 && ends_word(s, i + 2 + n)) {
                out += "<addr>";
                i += 2 + n;
                continue;
            }
        }
        std::size_t hex = count_while(s, i, is_hex);
        std::size_t digits = count_while(s, i, is_digit);
        if (hex >= 16 && ends_word(s, i + hex)) {
            out += "<hex>";
            i += hex;
            continue;
        }
        if (digits == 0) {
            out.append(s.substr(i, hex));
            i += hex;
            continue;
        }
        if (std::size_t n = duration_length(s, i); n > 0 && ends_word(s, i + n)) {
            out += "<duration>";
            i += n;
            continue;
        }
        bool number_ends =
            ends_word(s, i + digits) &&
            !(i + digits + 1 < s.size() && s[i + digits] == '.' && is_digit(s[i + digits + 1]));
        // HOST:PORT ("127.0.0.1:41234", "[::1]:5432", "localhost:1433").
        if (number_ends && digits <= 5 && i >= 2 && s[i - 1] == ':' &&
            (is_alnum(s[i - 2]) || s[i - 2] == ']') && port_number(s.substr(i, digits)) <= 65535) {
            out += "<port>";
            i += digits;
            continue;
        }
        if (number_ends) {
            if (auto placeholder = keyword_before(out); !placeholder.empty()) {
                out += placeholder;
                i += digits;
                continue;
            }
        }
        out.append(s.substr(i, digits));
        i += digits;
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

} // namespace proxy::app::report
