// The JSON built-ins: JSON_OBJECT, JSON_ARRAY, JSON_QUOTE, JSON_VALID, JSON_EXTRACT (paths of
// member names and array indexes, no wildcards), JSON_UNQUOTE, JSON_LENGTH, JSON_TYPE,
// JSON_KEYS, JSON_DEPTH. A document is parsed into a small tree (depth-bounded: hostile text
// never recurses deeply) and written back as MariaDB writes it: ", " and ": " separators.

#include <memory>
#include <utility>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

namespace {

constexpr int kMaxJsonDepth = 32; // MySQL's own limit is 100; a lab server needs less

// A member: not a std::pair, whose element types must be complete (clang with libstdc++
// refuses std::pair<std::string, Json> inside Json).
struct JsonMember;

struct Json {
    enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    std::string text;                // Bool: true/false; Number: as written; String: decoded
    std::vector<JsonMember> members; // Object (keys) / Array (keys empty)
};

struct JsonMember {
    std::string first; // the key
    Json second;       // the value
};

class JsonReader {
  public:
    explicit JsonReader(std::string_view s) : s_(s) {}
    std::optional<Json> document() {
        auto v = value(0);
        skip();
        if (!v || p_ != s_.size()) {
            return std::nullopt;
        }
        return v;
    }

  private:
    void skip() {
        while (p_ < s_.size() &&
               (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) {
            ++p_;
        }
    }
    bool word(std::string_view w) {
        if (s_.substr(p_, w.size()) == w) {
            p_ += w.size();
            return true;
        }
        return false;
    }
    std::optional<std::string> string() {
        if (p_ >= s_.size() || s_[p_] != '"') {
            return std::nullopt;
        }
        ++p_;
        std::string out;
        while (p_ < s_.size() && s_[p_] != '"') {
            char ch = s_[p_++];
            if (ch != '\\') {
                out.push_back(ch);
                continue;
            }
            if (p_ >= s_.size()) {
                return std::nullopt;
            }
            char esc = s_[p_++];
            switch (esc) {
            case 'n':
                out.push_back('\n');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'u': {
                if (p_ + 4 > s_.size()) {
                    return std::nullopt;
                }
                unsigned cp = 0;
                for (int k = 0; k < 4; ++k) {
                    char h = s_[p_++];
                    cp = cp * 16 + static_cast<unsigned>(h >= '0' && h <= '9'   ? h - '0'
                                                         : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                                         : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                                : 0);
                }
                if (cp < 0x80) {
                    out.push_back(static_cast<char>(cp));
                } else if (cp < 0x800) {
                    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
                    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                } else {
                    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
                    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
                    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                }
                break;
            }
            default:
                out.push_back(esc);
                break;
            }
        }
        if (p_ >= s_.size()) {
            return std::nullopt;
        }
        ++p_;
        return out;
    }
    std::optional<Json> value(int depth) {
        if (depth > kMaxJsonDepth) {
            return std::nullopt;
        }
        skip();
        Json j;
        if (p_ >= s_.size()) {
            return std::nullopt;
        }
        char ch = s_[p_];
        if (ch == '{' || ch == '[') {
            bool object = ch == '{';
            j.kind = object ? Json::Kind::Object : Json::Kind::Array;
            ++p_;
            skip();
            if (p_ < s_.size() && s_[p_] == (object ? '}' : ']')) {
                ++p_;
                return j;
            }
            while (true) {
                std::string key;
                if (object) {
                    skip();
                    auto k = string();
                    skip();
                    if (!k || p_ >= s_.size() || s_[p_] != ':') {
                        return std::nullopt;
                    }
                    ++p_;
                    key = std::move(*k);
                }
                auto v = value(depth + 1);
                if (!v || j.members.size() > 100000) {
                    return std::nullopt;
                }
                j.members.emplace_back(std::move(key), std::move(*v));
                skip();
                if (p_ < s_.size() && s_[p_] == ',') {
                    ++p_;
                    continue;
                }
                if (p_ < s_.size() && s_[p_] == (object ? '}' : ']')) {
                    ++p_;
                    return j;
                }
                return std::nullopt;
            }
        }
        if (ch == '"') {
            auto s = string();
            if (!s) {
                return std::nullopt;
            }
            j.kind = Json::Kind::String;
            j.text = std::move(*s);
            return j;
        }
        if (word("true") || word("false")) {
            j.kind = Json::Kind::Bool;
            j.text = s_[p_ - 1] == 'e' && s_.substr(p_ - 4, 4) == "true" ? "true" : "false";
            return j;
        }
        if (word("null")) {
            return j;
        }
        std::size_t start = p_;
        while (p_ < s_.size() &&
               (std::string_view("+-0123456789.eE").find(s_[p_]) != std::string_view::npos)) {
            ++p_;
        }
        if (p_ == start) {
            return std::nullopt;
        }
        j.kind = Json::Kind::Number;
        j.text = std::string(s_.substr(start, p_ - start));
        return j;
    }

    std::string_view s_;
    std::size_t p_ = 0;
};

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        switch (ch) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            out.push_back(ch);
        }
    }
    return out + "\"";
}

std::string write(const Json& j) {
    switch (j.kind) {
    case Json::Kind::Null:
        return "null";
    case Json::Kind::Bool:
    case Json::Kind::Number:
        return j.text;
    case Json::Kind::String:
        return quote(j.text);
    case Json::Kind::Array:
    case Json::Kind::Object: {
        bool object = j.kind == Json::Kind::Object;
        std::string out = object ? "{" : "[";
        for (std::size_t k = 0; k < j.members.size(); ++k) {
            out += k == 0 ? "" : ", ";
            if (object) {
                out += quote(j.members[k].first) + ": ";
            }
            out += write(j.members[k].second);
            if (out.size() > kMaxString) {
                break;
            }
        }
        return out + (object ? "}" : "]");
    }
    }
    return "null";
}

int depth_of(const Json& j) {
    int d = 0;
    for (const auto& m : j.members) {
        d = std::max(d, depth_of(m.second));
    }
    return 1 + d;
}

// A path: $ then .name, ."name" and [n]; nullopt: not a path the stand-in reads (1 = error).
std::optional<const Json*> follow(const Json& doc, std::string_view path, bool& bad_path) {
    bad_path = false;
    std::size_t p = 0;
    while (p < path.size() && path[p] == ' ') {
        ++p;
    }
    if (p >= path.size() || path[p] != '$') {
        bad_path = true;
        return std::nullopt;
    }
    ++p;
    const Json* cur = &doc;
    while (p < path.size()) {
        if (path[p] == '.') {
            ++p;
            std::string key;
            if (p < path.size() && path[p] == '"') {
                auto end = path.find('"', p + 1);
                if (end == std::string_view::npos) {
                    bad_path = true;
                    return std::nullopt;
                }
                key = std::string(path.substr(p + 1, end - p - 1));
                p = end + 1;
            } else {
                auto start = p;
                while (p < path.size() && path[p] != '.' && path[p] != '[') {
                    ++p;
                }
                key = std::string(path.substr(start, p - start));
            }
            if (key.empty() || key == "*") {
                bad_path = true;
                return std::nullopt;
            }
            if (cur->kind != Json::Kind::Object) {
                return nullptr;
            }
            const Json* found = nullptr;
            for (const auto& m : cur->members) {
                if (m.first == key) {
                    found = &m.second;
                }
            }
            if (found == nullptr) {
                return nullptr;
            }
            cur = found;
        } else if (path[p] == '[') {
            auto end = path.find(']', p);
            if (end == std::string_view::npos) {
                bad_path = true;
                return std::nullopt;
            }
            auto idx = std::string(path.substr(p + 1, end - p - 1));
            p = end + 1;
            if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) {
                bad_path = true;
                return std::nullopt;
            }
            auto i = std::strtoull(idx.c_str(), nullptr, 10);
            if (cur->kind != Json::Kind::Array) {
                if (i == 0) {
                    continue; // a scalar is its own [0]
                }
                return nullptr;
            }
            if (i >= cur->members.size()) {
                return nullptr;
            }
            cur = &cur->members[i].second;
        } else if (path[p] == ' ') {
            ++p;
        } else {
            bad_path = true;
            return std::nullopt;
        }
    }
    return cur;
}

// A SQL value as a JSON value: strings quoted, numbers as they are, NULL null.
std::string json_of(const Val& v) {
    if (v.is_null()) {
        return "null";
    }
    if (v.numeric()) {
        return v.text;
    }
    if (v.meta.type == ColumnType::Json) {
        return v.text;
    }
    return quote(v.text);
}

} // namespace

std::optional<EvalResult> json_function(const std::string& f, std::vector<Val>& args, Ctx& c) {
    if (!f.starts_with("JSON_")) {
        return std::nullopt;
    }
    auto n = args.size();
    auto wrong_count = [&]() -> EvalResult {
        return std::unexpected(errors::wrong_parameter_count(c.my() ? f : lower(f)));
    };
    auto json_text = [&](std::string s) -> EvalResult {
        Val v = string_val(c, std::move(s), false);
        if (c.my()) {
            v.meta.type = ColumnType::Json;
            v.meta.character_set = 63;
            v.meta.flags = column_flag::Binary | column_flag::Blob;
            v.meta.column_length = 4294967295U;
        }
        return v;
    };
    auto parse_arg = [&](std::size_t k) -> std::optional<Json> {
        JsonReader r(args[k].text);
        auto j = r.document();
        if (!j) {
            warn(c, 4038,
                 "Syntax error in JSON text in argument " + std::to_string(k + 1) +
                     " to function '" + lower(f) + "' at position 1");
        }
        return j;
    };
    if (f == "JSON_OBJECT") {
        if (n % 2 != 0) {
            return wrong_count();
        }
        std::string out = "{";
        for (std::size_t k = 0; k + 1 < n; k += 2) {
            if (args[k].is_null()) {
                return std::unexpected(ServerError{
                    3158, "22032", "JSON documents may not contain NULL member names."});
            }
            out += (k == 0 ? "" : ", ") + quote(args[k].text) + ": " + json_of(args[k + 1]);
            if (out.size() > kMaxString) {
                return typed_null(string_val(c, "", false));
            }
        }
        return json_text(out + "}");
    }
    if (f == "JSON_ARRAY") {
        std::string out = "[";
        for (std::size_t k = 0; k < n; ++k) {
            out += (k == 0 ? "" : ", ") + json_of(args[k]);
            if (out.size() > kMaxString) {
                return typed_null(string_val(c, "", false));
            }
        }
        return json_text(out + "]");
    }
    if (f == "JSON_QUOTE") {
        if (n != 1) {
            return wrong_count();
        }
        if (args[0].is_null()) {
            return null_val();
        }
        return string_val(c, quote(args[0].text), false);
    }
    if (f == "JSON_VALID") {
        if (n != 1) {
            return wrong_count();
        }
        if (args[0].is_null()) {
            return null_val();
        }
        JsonReader r(args[0].text);
        return long_val(c, r.document() ? 1 : 0, 1);
    }
    if (f == "JSON_UNQUOTE") {
        if (n != 1) {
            return wrong_count();
        }
        if (args[0].is_null()) {
            return null_val();
        }
        const auto& t = args[0].text;
        if (t.size() >= 2 && t.front() == '"' && t.back() == '"') {
            JsonReader r(t);
            if (auto j = r.document(); j && j->kind == Json::Kind::String) {
                return string_val(c, j->text, false);
            }
        }
        return string_val(c, t, false);
    }
    if (f == "JSON_EXTRACT" || f == "JSON_LENGTH" || f == "JSON_TYPE" || f == "JSON_KEYS" ||
        f == "JSON_DEPTH") {
        bool paths_many = f == "JSON_EXTRACT";
        if (n < 1 || (paths_many && n < 2) || (!paths_many && n > 2) ||
            ((f == "JSON_TYPE" || f == "JSON_DEPTH") && n != 1)) {
            return wrong_count();
        }
        for (const auto& a : args) {
            if (a.is_null()) {
                return null_val();
            }
        }
        auto doc = parse_arg(0);
        if (!doc) {
            return null_val();
        }
        std::vector<const Json*> found;
        for (std::size_t k = 1; k < n; ++k) {
            bool bad = false;
            auto hit = follow(*doc, args[k].text, bad);
            if (bad) {
                return std::unexpected(ServerError{
                    c.my() ? std::uint16_t{3143} : std::uint16_t{4042}, "42000",
                    c.my() ? "Invalid JSON path expression. The error is around "
                             "character position 1."
                           : "Syntax error in JSON path in argument " + std::to_string(k + 1) +
                                 " to function '" + lower(f) + "' at position 1"});
            }
            if (*hit != nullptr) {
                found.push_back(*hit);
            }
        }
        const Json* target = n == 1 ? &*doc : (found.empty() ? nullptr : found[0]);
        if (f == "JSON_EXTRACT") {
            if (found.empty()) {
                return typed_null(string_val(c, "", false));
            }
            if (n == 2) {
                return json_text(write(*found[0]));
            }
            Json all;
            all.kind = Json::Kind::Array;
            for (const auto* j : found) {
                all.members.emplace_back("", *j);
            }
            return json_text(write(all));
        }
        if (target == nullptr) {
            return null_val();
        }
        if (f == "JSON_LENGTH") {
            bool container =
                target->kind == Json::Kind::Array || target->kind == Json::Kind::Object;
            return long_val(c, container ? static_cast<std::int64_t>(target->members.size()) : 1,
                            10);
        }
        if (f == "JSON_DEPTH") {
            return long_val(c, depth_of(*target), 10);
        }
        if (f == "JSON_TYPE") {
            static constexpr const char* kNames[] = {"NULL",   "BOOLEAN", "INTEGER",
                                                     "STRING", "ARRAY",   "OBJECT"};
            std::string type = kNames[static_cast<int>(target->kind)];
            if (target->kind == Json::Kind::Number &&
                target->text.find_first_of(".eE") != std::string::npos) {
                type = "DOUBLE";
            }
            return string_val(c, type, false);
        }
        // JSON_KEYS
        if (target->kind != Json::Kind::Object) {
            return null_val();
        }
        Json keys;
        keys.kind = Json::Kind::Array;
        for (const auto& m : target->members) {
            Json k;
            k.kind = Json::Kind::String;
            k.text = m.first;
            keys.members.emplace_back("", std::move(k));
        }
        return json_text(write(keys));
    }
    return std::nullopt;
}

} // namespace standin::mysql::execution
