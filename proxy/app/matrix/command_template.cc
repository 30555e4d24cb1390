#include <proxy/app/matrix/command_template.h>

namespace proxy::app::matrix {

std::string shell_quote(const std::string& value) {
    bool plain = !value.empty();
    for (char c : value) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || c == ',' ||
                  c == '+' || c == '=' || c == '@';
        plain = plain && ok;
    }
    if (plain) {
        return value;
    }
    std::string out = "'";
    for (char c : value) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    out += "'";
    return out;
}

std::expected<std::string, std::string>
expand_template(const std::string& tmpl, const std::map<std::string, std::string>& values) {
    std::string out;
    std::size_t i = 0;
    while (i < tmpl.size()) {
        char c = tmpl[i];
        if (c != '{') {
            out.push_back(c);
            ++i;
            continue;
        }
        auto close = tmpl.find('}', i);
        if (close == std::string::npos) {
            return std::unexpected("unclosed '{' in \"" + tmpl + "\"");
        }
        std::string key = tmpl.substr(i + 1, close - i - 1);
        auto it = values.find(key);
        if (it == values.end()) {
            std::string known;
            for (const auto& [k, v] : values) {
                known += (known.empty() ? "{" : ", {") + k + "}";
            }
            return std::unexpected("unknown placeholder {" + key + "} in \"" + tmpl +
                                   "\" (known: " + known + ")");
        }
        out += shell_quote(it->second);
        i = close + 1;
    }
    return out;
}

} // namespace proxy::app::matrix
