#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include <proxy/app/explain/builtin_errors.h>
#include <proxy/app/explain/knowledge_base.h>

namespace proxy::app::explain {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Character classes (ASCII only: the C library's are locale-dependent).

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}
bool is_alpha(char c) {
    return is_lower(c) || is_upper(c);
}
bool is_alnum(char c) {
    return is_alpha(c) || is_digit(c);
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f');
}
bool is_space(char c) {
    return c == ' ';
}
char lower(char c) {
    return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}
bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// fold: one byte stream in, the matcher's alphabet out: ASCII lower case, every control
// character (line breaks, tabs, NUL) a space, UTF-8 curly quotes / dashes / ellipsis / no-break
// spaces as ASCII, and a hyphen between two letters a space ("self-signed" = "self signed").
std::string fold(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        if (c == 0xE2 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80) {
            auto b = static_cast<unsigned char>(in[i + 2]);
            const char* repl = nullptr;
            switch (b) {
            case 0x98:
            case 0x99:
                repl = "'";
                break;
            case 0x9C:
            case 0x9D:
                repl = "\"";
                break;
            case 0x93:
            case 0x94:
                repl = "-";
                break;
            case 0xA6:
                repl = "...";
                break;
            case 0xAF:
                repl = " ";
                break;
            default:
                break;
            }
            if (repl != nullptr) {
                out += repl;
                i += 2;
                continue;
            }
        }
        if (c == 0xC2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xA0) {
            out += ' ';
            ++i;
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            out += ' ';
            continue;
        }
        char ch = static_cast<char>(c);
        if (ch == '-' && !out.empty() && is_lower(out.back()) && i + 1 < in.size() &&
            is_alpha(in[i + 1])) {
            out += ' ';
            continue;
        }
        out += lower(ch);
    }
    return out;
}

// is_wrapper: a bracketed tag a driver puts around the real message ("[microsoft]", "[odbc
// driver 18 for sql server]", "[unixodbc]", "[freetds]", a SQLSTATE "[08001]").
bool is_wrapper(std::string_view content) {
    static constexpr std::array<std::string_view, 7> kVendors = {
        "microsoft", "odbc driver", "odbc sql server", "sql server",
        "unixodbc",  "freetds",     "tds driver"};
    for (auto v : kVendors) {
        if (starts_with(content, v)) {
            return true;
        }
    }
    if (content.size() == 5 && std::all_of(content.begin(), content.end(), is_alnum) &&
        std::any_of(content.begin(), content.end(), is_digit)) {
        return true; // SQLSTATE
    }
    return false;
}

std::string strip_wrappers(const std::string& in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '[') {
            auto close = in.find(']', i + 1);
            if (close != std::string::npos && close - i <= 64 &&
                is_wrapper(std::string_view(in).substr(i + 1, close - i - 1))) {
                out += ' ';
                i = close;
                continue;
            }
        }
        out += in[i];
    }
    return out;
}

// The token recognisers of reduce(): each looks at s[i..] (with the previous output character
// for context) and returns how many bytes it consumed (0: not this token).

std::size_t count_digits(std::string_view s, std::size_t i, std::size_t max) {
    std::size_t n = 0;
    while (i + n < s.size() && n < max && is_digit(s[i + n])) {
        ++n;
    }
    return n;
}

bool digits_at(std::string_view s, std::size_t i, std::size_t n) {
    return count_digits(s, i, n) == n;
}

char at(std::string_view s, std::size_t i) {
    return i < s.size() ? s[i] : '\0';
}

// 2026-11-22[T 10:00:00[.123][Z|+01:00]] or 10:00:00[.123]
std::size_t timestamp_at(std::string_view s, std::size_t i) {
    std::size_t j = i;
    bool date = false;
    if (digits_at(s, j, 4) && at(s, j + 4) == '-' && digits_at(s, j + 5, 2) &&
        at(s, j + 7) == '-' && digits_at(s, j + 8, 2)) {
        date = true;
        j += 10;
        if ((at(s, j) == 't' || at(s, j) == ' ') && digits_at(s, j + 1, 2) && at(s, j + 3) == ':') {
            ++j;
        } else {
            return j - i;
        }
    }
    std::size_t h = count_digits(s, j, 2);
    if (h == 0 || at(s, j + h) != ':' || !digits_at(s, j + h + 1, 2)) {
        return date ? 10 : 0;
    }
    std::size_t k = j + h + 3;
    if (at(s, k) == ':' && digits_at(s, k + 1, 2)) {
        k += 3;
    } else if (!date) {
        return 0; // hh:mm alone is too ambiguous
    }
    if (at(s, k) == '.' && count_digits(s, k + 1, 9) > 0) {
        k += 1 + count_digits(s, k + 1, 9);
    }
    if (date && at(s, k) == 'z') {
        ++k;
    } else if (date && (at(s, k) == '+' || at(s, k) == '-') && digits_at(s, k + 1, 2)) {
        k += 3;
        if (at(s, k) == ':') {
            ++k;
        }
        k += count_digits(s, k, 2);
    }
    return k - i;
}

std::size_t guid_at(std::string_view s, std::size_t i) {
    static constexpr std::array<std::size_t, 5> kGroups = {8, 4, 4, 4, 12};
    std::size_t j = i;
    for (std::size_t g = 0; g < kGroups.size(); ++g) {
        for (std::size_t k = 0; k < kGroups[g]; ++k, ++j) {
            if (j >= s.size() || !is_hex(s[j])) {
                return 0;
            }
        }
        if (g + 1 < kGroups.size()) {
            if (j >= s.size() || s[j] != '-') {
                return 0;
            }
            ++j;
        }
    }
    return j - i;
}

std::size_t ipv4_at(std::string_view s, std::size_t i) {
    std::size_t j = i;
    for (int part = 0; part < 4; ++part) {
        std::size_t n = count_digits(s, j, 3);
        if (n == 0) {
            return 0;
        }
        j += n;
        if (part < 3) {
            if (j >= s.size() || s[j] != '.') {
                return 0;
            }
            ++j;
        }
    }
    if (j < s.size() &&
        (is_digit(s[j]) || (s[j] == '.' && j + 1 < s.size() && is_digit(s[j + 1])))) {
        return 0;
    }
    return j - i;
}

// [::1], [fe80::1%eth0]
std::size_t ipv6_at(std::string_view s, std::size_t i) {
    if (s[i] != '[') {
        return 0;
    }
    std::size_t j = i + 1;
    int colons = 0;
    while (j < s.size() && j - i < 64 &&
           (is_hex(s[j]) || s[j] == ':' || s[j] == '.' || s[j] == '%' || is_alnum(s[j]))) {
        if (s[j] == ':') {
            ++colons;
        } else if (!is_hex(s[j]) && s[j] != '.' && s[j] != '%') {
            // a zone id may hold letters, but only after '%'
            if (s.substr(i, j - i).find('%') == std::string_view::npos) {
                return 0;
            }
        }
        ++j;
    }
    if (colons < 2 || j >= s.size() || s[j] != ']') {
        return 0;
    }
    return j + 1 - i;
}

// -2146893019 (SSMS's signed HRESULT) -> 0x80090325
std::size_t hresult_at(std::string_view s, std::size_t i, std::string& out) {
    if (s[i] != '-') {
        return 0;
    }
    std::size_t n = count_digits(s, i + 1, 11);
    if (n != 10) {
        return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) {
        v = v * 10 + static_cast<std::uint64_t>(s[i + 1 + k] - '0');
    }
    if (v < 0x70000000ULL || v > 0x80000000ULL) {
        return 0;
    }
    std::array<char, 16> buf{};
    std::snprintf(buf.data(), buf.size(), "0x%08llx",
                  static_cast<unsigned long long>(0x100000000ULL - v));
    out += buf.data();
    return n + 1;
}

// A quoted token without whitespace: a host name, an address, a path, a user: '*' / "*".
std::size_t quoted_at(std::string_view s, std::size_t i) {
    char q = s[i];
    if (q != '\'' && q != '"') {
        return 0;
    }
    std::size_t j = i + 1;
    while (j < s.size() && j - i <= 256 && s[j] != q && !is_space(s[j]) && s[j] != '\'' &&
           s[j] != '"') {
        ++j;
    }
    if (j >= s.size() || s[j] != q || j == i + 1 || j - i > 256) {
        return 0;
    }
    // Only what varies from site to site: a name with a dot, an address, a path, a port, a
    // user@host, a name with digits. A quoted code ('esocket', 'handshake_ssl_error') stays.
    auto content = s.substr(i + 1, j - i - 1);
    if (content.find_first_of(".:/\\@%0123456789") == std::string_view::npos) {
        return 0;
    }
    return j + 1 - i;
}

// An unquoted path: /home/u/.postgresql/root.crt or c:\users\u\app.config
std::size_t path_at(std::string_view s, std::size_t i) {
    std::size_t j = i;
    int seps = 0;
    if (s[i] == '/') {
        while (j < s.size() && !is_space(s[j]) && s[j] != '\'' && s[j] != '"' && s[j] != ')' &&
               s[j] != ',') {
            seps += s[j] == '/' ? 1 : 0;
            ++j;
        }
        if (seps < 2 || (j - i) < 4) {
            return 0;
        }
    } else if (is_lower(s[i]) && i + 2 < s.size() && s[i + 1] == ':' && s[i + 2] == '\\') {
        while (j < s.size() && !is_space(s[j]) && s[j] != '\'' && s[j] != '"' && s[j] != ')') {
            ++j;
        }
    } else {
        return 0;
    }
    while (j > i && s[j - 1] == '.') {
        --j; // the sentence's full stop is not the path's
    }
    return j - i;
}

// host_before: the output ends with something a port can follow: a dotted name, "localhost".
bool host_before(const std::string& out) {
    std::size_t start = out.size();
    while (start > 0 && (is_alnum(out[start - 1]) || out[start - 1] == '.' ||
                         out[start - 1] == '-' || out[start - 1] == '_')) {
        --start;
    }
    std::string_view token = std::string_view(out).substr(start);
    if (token.empty() || !is_alnum(token.back())) {
        return false;
    }
    return token.find('.') != std::string_view::npos || token == "localhost";
}

// reduce: the volatile parts of a message replaced by placeholders.
std::string reduce(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        char prev = out.empty() ? ' ' : out.back();
        bool boundary = !is_alnum(prev) && prev != '.';
        char c = s[i];
        if ((c == '\'' || c == '"') && !is_alnum(prev)) {
            if (std::size_t n = quoted_at(s, i); n != 0) {
                out += c;
                out += '*';
                out += c;
                i += n;
                continue;
            }
        }
        if (boundary && is_digit(c)) {
            if (std::size_t n = timestamp_at(s, i); n != 0) {
                out += "<time>";
                i += n;
                continue;
            }
            if (std::size_t n = ipv4_at(s, i); n != 0) {
                out += "<ip>";
                i += n;
                continue;
            }
        }
        if (std::size_t n = boundary && is_hex(c) ? guid_at(s, i) : 0; n != 0) {
            out += "<id>";
            i += n;
            continue;
        }
        if (std::size_t n = c == '[' ? ipv6_at(s, i) : 0; n != 0) {
            out += "<ip>";
            i += n;
            continue;
        }
        if (std::size_t n = c == '-' && !is_alnum(prev) ? hresult_at(s, i, out) : 0; n != 0) {
            i += n;
            continue;
        }
        if (c == ':' && (prev == '>' || host_before(out))) {
            std::size_t d = count_digits(s, i + 1, 6);
            std::size_t end = i + 1 + d;
            if (d >= 1 && d <= 5 && (end >= s.size() || (!is_alnum(s[end]) && s[end] != ':'))) {
                out += ":<port>";
                i = end;
                continue;
            }
        }
        if (c == '=' && out.size() >= 4 && out.compare(out.size() - 4, 4, "conn") == 0) {
            std::size_t d = count_digits(s, i + 1, 20);
            if (d > 0) {
                out += "=<n>";
                i += 1 + d;
                continue;
            }
        }
        if ((c == '/' && (prev == ' ' || prev == '(' || prev == '=')) ||
            (boundary && is_lower(c) && !is_alnum(prev))) {
            if (std::size_t n = path_at(s, i); n != 0) {
                out += "<path>";
                i += n;
                continue;
            }
        }
        out += c;
        ++i;
    }
    return out;
}

std::string collapse_spaces(const std::string& in) {
    std::string out;
    out.reserve(in.size());
    for (char c : in) {
        if (is_space(c)) {
            if (!out.empty() && out.back() != ' ') {
                out += ' ';
            }
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

// compile_pattern: "a ... b" -> {"a", "b"}, each part normalised; empty parts dropped.
std::vector<std::string> compile_pattern(std::string_view pattern) {
    std::vector<std::string> parts;
    std::string text(pattern);
    // The unicode ellipsis separates parts too.
    for (auto pos = text.find("\xE2\x80\xA6"); pos != std::string::npos;
         pos = text.find("\xE2\x80\xA6", pos)) {
        text.replace(pos, 3, "...");
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        auto dots = text.find("...", start);
        auto piece =
            text.substr(start, dots == std::string::npos ? std::string::npos : dots - start);
        auto norm = normalise(piece);
        if (!norm.empty()) {
            parts.push_back(std::move(norm));
        }
        if (dots == std::string::npos) {
            break;
        }
        start = dots + 3;
        while (start < text.size() && text[start] == '.') {
            ++start;
        }
    }
    return parts;
}

// ---------------------------------------------------------------------------------------------
// JSON reading: every field type-checked; errors name the entry and the key.

using Result = std::expected<void, std::string>;

Result read_text(const json& obj, const char* key, std::string& out, bool required,
                 const std::string& where) {
    if (!obj.contains(key)) {
        if (required) {
            return std::unexpected(where + ": \"" + key + "\" is required");
        }
        return {};
    }
    const auto& v = obj.at(key);
    if (!v.is_string()) {
        return std::unexpected(where + ": \"" + key + "\" must be a string");
    }
    out = v.get<std::string>();
    if (required && out.empty()) {
        return std::unexpected(where + ": \"" + key + "\" must not be empty");
    }
    return {};
}

Result read_texts(const json& obj, const char* key, std::vector<std::string>& out, bool required,
                  const std::string& where) {
    if (!obj.contains(key)) {
        if (required) {
            return std::unexpected(where + ": \"" + key + "\" is required");
        }
        return {};
    }
    const auto& v = obj.at(key);
    if (!v.is_array()) {
        return std::unexpected(where + ": \"" + key + "\" must be an array of strings");
    }
    for (const auto& item : v) {
        if (!item.is_string() || item.get<std::string>().empty()) {
            return std::unexpected(where + ": \"" + key + "\" must hold non-empty strings");
        }
        out.push_back(item.get<std::string>());
    }
    if (required && out.empty()) {
        return std::unexpected(where + ": \"" + key + "\" must not be empty");
    }
    return {};
}

Result only_keys(const json& obj, std::initializer_list<std::string_view> keys,
                 const std::string& where) {
    for (const auto& [k, v] : obj.items()) {
        (void)v;
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
            return std::unexpected(where + ": unknown key \"" + k + "\"");
        }
    }
    return {};
}

std::expected<Family, std::string> read_family(const json& j, std::size_t index) {
    std::string where = "families[" + std::to_string(index) + "]";
    if (!j.is_object()) {
        return std::unexpected(where + ": must be an object");
    }
    Family f;
    Result r = only_keys(j, {"name", "title", "meaning", "fix"}, where);
    if (r) {
        r = read_text(j, "name", f.name, true, where);
    }
    if (r) {
        where += " (" + f.name + ")";
        r = read_text(j, "title", f.title, true, where);
    }
    if (r) {
        r = read_text(j, "meaning", f.meaning, true, where);
    }
    if (r) {
        r = read_texts(j, "fix", f.fix, true, where);
    }
    if (!r) {
        return std::unexpected(r.error());
    }
    return f;
}

std::expected<Observation, std::string> read_observation(const json& j, const std::string& where) {
    if (!j.is_object()) {
        return std::unexpected(where + ": observed: each item must be an object");
    }
    Observation o;
    Result r = only_keys(j, {"driver", "config", "scenarios"}, where + ": observed");
    if (r) {
        r = read_text(j, "driver", o.driver, true, where + ": observed");
    }
    if (r) {
        r = read_text(j, "config", o.config, true, where + ": observed");
    }
    if (r) {
        r = read_texts(j, "scenarios", o.scenarios, true, where + ": observed");
    }
    if (!r) {
        return std::unexpected(r.error());
    }
    return o;
}

std::expected<Entry, std::string> read_entry(const json& j, std::size_t index) {
    std::string where = "entries[" + std::to_string(index) + "]";
    if (!j.is_object()) {
        return std::unexpected(where + ": must be an object");
    }
    Entry e;
    Result r = only_keys(j,
                         {"id", "client", "family", "message", "patterns", "scenarios", "protocols",
                          "meaning", "fix", "reproduce", "source", "settings", "observed", "note",
                          "weight"},
                         where);
    if (r) {
        r = read_text(j, "id", e.id, true, where);
    }
    if (r) {
        where += " (" + e.id + ")";
        r = read_text(j, "client", e.client, true, where);
    }
    if (r) {
        r = read_text(j, "family", e.family, true, where);
    }
    if (r) {
        r = read_text(j, "message", e.message, true, where);
    }
    if (r) {
        r = read_texts(j, "patterns", e.patterns, true, where);
    }
    if (r) {
        r = read_texts(j, "scenarios", e.scenarios, false, where);
    }
    if (r) {
        r = read_texts(j, "protocols", e.protocols, true, where);
    }
    if (r) {
        r = read_text(j, "meaning", e.meaning, false, where);
    }
    if (r) {
        r = read_texts(j, "fix", e.fix, false, where);
    }
    if (r) {
        r = read_text(j, "reproduce", e.reproduce, true, where);
    }
    if (r) {
        r = read_text(j, "settings", e.settings, false, where);
    }
    if (!r) {
        return std::unexpected(r.error());
    }
    if (j.contains("weight")) {
        const auto& w = j.at("weight");
        if (!w.is_number() || w.get<double>() <= 0 || w.get<double>() > 1) {
            return std::unexpected(where + ": \"weight\" must be a number in (0, 1]");
        }
        e.weight = w.get<double>();
    }
    for (const auto& p : e.protocols) {
        if (p != "tds" && p != "postgres" && p != "mysql") {
            return std::unexpected(where + ": protocol \"" + p +
                                   "\" is not one of tds, postgres, mysql");
        }
    }
    if (!j.contains("source") || !j.at("source").is_object()) {
        return std::unexpected(where + ": \"source\" must be an object {kind, ref}");
    }
    const auto& src = j.at("source");
    r = only_keys(src, {"kind", "ref"}, where + ": source");
    if (r) {
        r = read_text(src, "kind", e.source.kind, true, where + ": source");
    }
    if (r) {
        r = read_text(src, "ref", e.source.ref, true, where + ": source");
    }
    if (!r) {
        return std::unexpected(r.error());
    }
    if (e.source.kind != "observed" && e.source.kind != "documentation" &&
        e.source.kind != "source") {
        return std::unexpected(where + ": source.kind \"" + e.source.kind +
                               "\" is not one of observed, documentation, source");
    }
    if (j.contains("observed")) {
        const auto& obs = j.at("observed");
        if (!obs.is_array()) {
            return std::unexpected(where + ": \"observed\" must be an array");
        }
        for (const auto& o : obs) {
            auto one = read_observation(o, where);
            if (!one) {
                return std::unexpected(one.error());
            }
            e.observed.push_back(std::move(*one));
        }
    }
    return e;
}

} // namespace

std::string normalise(std::string_view pasted) {
    if (pasted.size() > kMaxPastedBytes) {
        pasted = pasted.substr(0, kMaxPastedBytes);
    }
    return collapse_spaces(reduce(collapse_spaces(strip_wrappers(fold(pasted)))));
}

std::expected<KnowledgeBase, std::string> KnowledgeBase::parse(std::string_view json_text) {
    json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return std::unexpected(std::string("knowledge base: not valid JSON"));
    }
    if (!doc.is_object()) {
        return std::unexpected(std::string("knowledge base: the top level must be an object"));
    }
    if (auto r = only_keys(doc, {"_about", "version", "families", "entries"}, "knowledge base");
        !r) {
        return std::unexpected(r.error());
    }
    if (!doc.contains("version") || !doc.at("version").is_number_integer() ||
        doc.at("version").get<int>() != 1) {
        return std::unexpected(std::string("knowledge base: \"version\" must be 1"));
    }
    if (!doc.contains("families") || !doc.at("families").is_array() || !doc.contains("entries") ||
        !doc.at("entries").is_array()) {
        return std::unexpected(
            std::string("knowledge base: \"families\" and \"entries\" must be arrays"));
    }
    KnowledgeBase kb;
    std::set<std::string> names;
    std::size_t index = 0;
    for (const auto& f : doc.at("families")) {
        auto family = read_family(f, index++);
        if (!family) {
            return std::unexpected("knowledge base: " + family.error());
        }
        if (!names.insert(family->name).second) {
            return std::unexpected("knowledge base: family \"" + family->name +
                                   "\" is defined twice");
        }
        kb.families_.push_back(std::move(*family));
    }
    std::set<std::string> ids;
    std::map<std::string, std::uint32_t, std::less<>> part_ids; // distinct parts, for matcher_
    std::vector<std::string> parts;
    index = 0;
    for (const auto& e : doc.at("entries")) {
        auto entry = read_entry(e, index++);
        if (!entry) {
            return std::unexpected("knowledge base: " + entry.error());
        }
        if (!ids.insert(entry->id).second) {
            return std::unexpected("knowledge base: entry id \"" + entry->id + "\" is used twice");
        }
        const Family* fam = kb.family(entry->family);
        if (fam == nullptr) {
            return std::unexpected("knowledge base: entry " + entry->id + ": family \"" +
                                   entry->family + "\" is not in \"families\"");
        }
        if (entry->meaning.empty()) {
            entry->meaning = fam->meaning;
        }
        if (entry->fix.empty()) {
            entry->fix = fam->fix;
        }
        std::vector<Pattern> compiled;
        for (const auto& p : entry->patterns) {
            auto pattern_parts = compile_pattern(p);
            std::size_t chars = 0;
            for (const auto& part : pattern_parts) {
                chars += part.size();
            }
            if (chars < 4) {
                return std::unexpected("knowledge base: entry " + entry->id + ": pattern \"" + p +
                                       "\" is too short to identify anything");
            }
            Pattern ids_in_order;
            for (auto& part : pattern_parts) {
                auto [it, added] =
                    part_ids.try_emplace(part, static_cast<std::uint32_t>(parts.size()));
                if (added) {
                    parts.push_back(std::move(part));
                }
                ids_in_order.push_back(it->second);
            }
            compiled.push_back(std::move(ids_in_order));
        }
        kb.entries_.push_back(std::move(*entry));
        kb.compiled_.push_back(std::move(compiled));
    }
    kb.matcher_ = PartMatcher(std::move(parts));
    return kb;
}

namespace {

struct Builtin {
    KnowledgeBase kb;
    std::string error;
};

const Builtin& builtin_state() {
    static const Builtin state = [] {
        Builtin b;
        auto parsed = KnowledgeBase::parse(builtin_errors_json());
        if (parsed) {
            b.kb = std::move(*parsed);
        } else {
            b.error = parsed.error();
        }
        return b;
    }();
    return state;
}

} // namespace

const KnowledgeBase& KnowledgeBase::builtin() {
    return builtin_state().kb;
}

const std::string& KnowledgeBase::builtin_error() {
    return builtin_state().error;
}

std::string_view KnowledgeBase::builtin_json() {
    return builtin_errors_json();
}

const Family* KnowledgeBase::family(std::string_view name) const {
    for (const auto& f : families_) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

std::vector<Match> KnowledgeBase::match(std::string_view pasted) const {
    std::vector<Match> out;
    const std::string text = normalise(pasted);
    if (text.empty()) {
        return out;
    }
    const auto found = matcher_.find_all(text);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        std::size_t best_chars = 0;
        std::size_t best_begin = 0;
        std::size_t best_end = 0;
        for (const auto& pattern : compiled_[i]) {
            std::size_t pos = 0;
            std::size_t begin = std::string::npos;
            std::size_t chars = 0;
            bool ok = true;
            for (std::uint32_t id : pattern) {
                auto at = found.first_at_or_after(id, pos);
                if (at == std::string::npos) {
                    ok = false;
                    break;
                }
                if (begin == std::string::npos) {
                    begin = at;
                }
                const std::size_t size = matcher_.part(id).size();
                pos = at + size;
                chars += size;
            }
            if (ok && chars > best_chars) {
                best_chars = chars;
                best_begin = begin;
                best_end = pos;
            }
        }
        if (best_chars == 0) {
            continue;
        }
        Match m;
        m.entry = &entries_[i];
        m.score = static_cast<double>(best_chars) * entries_[i].weight;
        constexpr std::size_t kMaxExcerpt = 300;
        m.matched = text.substr(best_begin, std::min(best_end - best_begin, kMaxExcerpt));
        out.push_back(std::move(m));
    }
    std::stable_sort(out.begin(), out.end(), [](const Match& a, const Match& b) {
        if (a.score != b.score) {
            return a.score > b.score;
        }
        return a.entry->id < b.entry->id;
    });
    return out;
}

} // namespace proxy::app::explain
