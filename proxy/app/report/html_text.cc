#include <proxy/app/report/html_text.h>

namespace proxy::app::report {

namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// The length of the valid UTF-8 sequence starting at s[i] (a lead byte >= 0x80), or 0 when it is
// not one: overlong forms, surrogates, code points past U+10FFFF and truncated sequences are not.
std::size_t valid_utf8_length(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) {
        return static_cast<unsigned char>(s[k]);
    };
    const unsigned lead = byte(i);
    std::size_t length = 0;
    unsigned code_point = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code_point = lead & 0x1FU;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code_point = lead & 0x0FU;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code_point = lead & 0x07U;
    } else {
        return 0;
    }
    if (s.size() - i < length) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        const unsigned continuation = byte(i + k);
        if ((continuation & 0xC0U) != 0x80U) {
            return 0;
        }
        code_point = (code_point << 6U) | (continuation & 0x3FU);
    }
    if (length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) {
        return 0;
    }
    if (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) {
        return 0;
    }
    return length;
}

} // namespace

// Appends `s` escaped for HTML text and attribute values (& < > " '), as valid UTF-8: an invalid
// byte, and a control character other than tab, line feed and carriage return, becomes U+FFFD.
void append_escaped(std::string& out, std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t length = valid_utf8_length(s, i);
            if (length == 0) {
                out += kReplacementCharacter;
                ++i;
            } else {
                out.append(s.substr(i, length));
                i += length;
            }
            continue;
        }
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
                out += kReplacementCharacter;
            } else {
                out += static_cast<char>(c);
            }
        }
        ++i;
    }
}

std::string escaped(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_escaped(out, s);
    return out;
}

} // namespace proxy::app::report
