#include <charconv>

#include <pg/scram.h>

namespace pg::scram {

namespace {

// SCRAM-SHA-256 proofs and server signatures are SHA-256 sized. PostgreSQL refuses any other
// length ("malformed proof in client-final-message"), and so does libpq for the verifier.
constexpr std::size_t kKeyLength = 32;

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// Every SCRAM attribute value is free of ',', so a message is its attributes joined by ','.
std::vector<std::string_view> split_attributes(std::string_view text) {
    std::vector<std::string_view> out;
    while (true) {
        auto comma = text.find(',');
        out.push_back(text.substr(0, comma));
        if (comma == std::string_view::npos) {
            return out;
        }
        text.remove_prefix(comma + 1);
    }
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// value_of: the value of attribute `name` ("r=abc" -> "abc"); another attribute is BadValue.
std::expected<std::string_view, Error> value_of(std::string_view attribute, char name) {
    if (attribute.size() < 2 || attribute[0] != name || attribute[1] != '=') {
        return std::unexpected(Error::BadValue);
    }
    return attribute.substr(2);
}

bool starts_with_attribute(std::string_view attribute, char name) {
    return attribute.size() >= 2 && attribute[0] == name && attribute[1] == '=';
}

// printable = %x21-2B / %x2D-7E (RFC 5802): visible ASCII but ','. PostgreSQL checks the client
// nonce so ("non-printable characters in SCRAM nonce"); the nonce is never empty.
bool is_printable(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < 0x21 || c > 0x7E || c == ',') {
            return false;
        }
    }
    return true;
}

// An extension: attr-val = ALPHA "=" value, value = 1*value-char (UTF-8 but NUL and ',').
bool is_extension(std::string_view attribute) {
    if (attribute.size() < 3 || !is_alpha(attribute[0]) || attribute[1] != '=') {
        return false;
    }
    return attribute.find('\0') == std::string_view::npos;
}

std::expected<void, Error> check_extensions(std::span<const std::string_view> attributes) {
    for (auto a : attributes) {
        if (!is_extension(a)) {
            return std::unexpected(Error::BadValue);
        }
    }
    return {};
}

// saslname (RFC 5802): ',' is sent as "=2C" and '=' as "=3D"; any other '=' is malformed.
std::expected<std::string, Error> decode_saslname(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\0') {
            return std::unexpected(Error::BadValue);
        }
        if (s[i] != '=') {
            out.push_back(s[i]);
            continue;
        }
        auto escape = s.substr(i + 1, 2);
        if (escape == "2C") {
            out.push_back(',');
        } else if (escape == "3D") {
            out.push_back('=');
        } else {
            return std::unexpected(Error::BadValue);
        }
        i += 2;
    }
    return out;
}

std::string encode_saslname(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == ',') {
            out += "=2C";
        } else if (c == '=') {
            out += "=3D";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// cb-name = 1*(ALPHA / DIGIT / "." / "-")
bool is_channel_binding_name(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

// posit-number = %x31-39 *DIGIT, here within 32 bits.
std::expected<std::uint32_t, Error> positive_number(std::string_view s) {
    if (s.empty() || s[0] == '0') {
        return std::unexpected(Error::BadValue);
    }
    for (char c : s) {
        if (!is_digit(c)) {
            return std::unexpected(Error::BadValue);
        }
    }
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::unexpected(Error::BadValue);
    }
    return v;
}

std::expected<std::vector<std::uint8_t>, Error> base64_value_of(std::string_view attribute,
                                                                char name) {
    auto value = value_of(attribute, name);
    if (!value) {
        return std::unexpected(value.error());
    }
    auto bytes = base64_decode(*value);
    if (!bytes) {
        return std::unexpected(Error::BadValue);
    }
    return bytes;
}

std::expected<std::string, Error> nonce_of(std::string_view attribute) {
    auto value = value_of(attribute, 'r');
    if (!value) {
        return std::unexpected(value.error());
    }
    if (!is_printable(*value)) {
        return std::unexpected(Error::BadValue);
    }
    return std::string(*value);
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

} // namespace

// ---------------------------------------------------------------------------------------------
// base64 (RFC 4648, the standard alphabet, padded)

std::string base64_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v =
            static_cast<std::uint32_t>(bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2]);
        out.push_back(kBase64Alphabet[v >> 18 & 0x3F]);
        out.push_back(kBase64Alphabet[v >> 12 & 0x3F]);
        out.push_back(kBase64Alphabet[v >> 6 & 0x3F]);
        out.push_back(kBase64Alphabet[v & 0x3F]);
    }
    const std::size_t left = bytes.size() - i;
    if (left > 0) {
        std::uint32_t v = static_cast<std::uint32_t>(bytes[i] << 16);
        if (left == 2) {
            v |= static_cast<std::uint32_t>(bytes[i + 1] << 8);
        }
        out.push_back(kBase64Alphabet[v >> 18 & 0x3F]);
        out.push_back(kBase64Alphabet[v >> 12 & 0x3F]);
        out.push_back(left == 2 ? kBase64Alphabet[v >> 6 & 0x3F] : '=');
        out.push_back('=');
    }
    return out;
}

// base64_decode accepts what PostgreSQL's pg_b64_decode accepts minus its oddities: groups of
// four, '=' only as one or two final pad characters, no white space. Like PostgreSQL it does
// not insist that the unused bits before the padding be zero.
std::expected<std::vector<std::uint8_t>, Error> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::unexpected(Error::BadValue);
    }
    std::vector<std::uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::size_t pad = 0;
        if (last && text[i + 3] == '=') {
            pad = text[i + 2] == '=' ? 2 : 1;
        }
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            int d = k < 4 - pad ? base64_value(text[i + k]) : 0;
            if (d < 0) {
                return std::unexpected(Error::BadValue);
            }
            v = v << 6 | static_cast<std::uint32_t>(d);
        }
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        if (pad < 2) {
            out.push_back(static_cast<std::uint8_t>(v >> 8));
        }
        if (pad < 1) {
            out.push_back(static_cast<std::uint8_t>(v));
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Parsers

std::expected<ClientFirst, Error> parse_client_first(std::string_view text) {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const auto flag_end = text.find(',');
    if (flag_end == std::string_view::npos) {
        return std::unexpected(Error::Truncated);
    }
    const auto authzid_end = text.find(',', flag_end + 1);
    if (authzid_end == std::string_view::npos) {
        return std::unexpected(Error::Truncated);
    }
    ClientFirst c;
    const auto flag = text.substr(0, flag_end);
    if (flag == "n" || flag == "y") {
        c.binding_flag = flag[0];
    } else if (starts_with_attribute(flag, 'p') && is_channel_binding_name(flag.substr(2))) {
        c.binding_flag = 'p';
        c.binding_name = std::string(flag.substr(2));
    } else {
        return std::unexpected(Error::BadValue);
    }
    const auto authzid = text.substr(flag_end + 1, authzid_end - flag_end - 1);
    if (!authzid.empty()) {
        auto value = value_of(authzid, 'a');
        if (!value || value->empty()) {
            return std::unexpected(Error::BadValue);
        }
        auto name = decode_saslname(*value);
        if (!name) {
            return std::unexpected(name.error());
        }
        c.authzid = std::move(*name);
    }
    c.gs2_header = std::string(text.substr(0, authzid_end + 1));

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const auto bare = text.substr(authzid_end + 1);
    if (bare.empty()) {
        return std::unexpected(Error::Truncated);
    }
    const auto attributes = split_attributes(bare);
    if (starts_with_attribute(attributes[0], 'm')) {
        return std::unexpected(Error::BadValue); // a mandatory extension: none is supported
    }
    // The user name may be empty: libpq sends "n=" (the startup packet's user counts).
    auto user = value_of(attributes[0], 'n');
    if (!user) {
        return std::unexpected(user.error());
    }
    auto name = decode_saslname(*user);
    if (!name) {
        return std::unexpected(name.error());
    }
    c.user = std::move(*name);
    if (attributes.size() < 2) {
        return std::unexpected(Error::Truncated);
    }
    auto nonce = nonce_of(attributes[1]);
    if (!nonce) {
        return std::unexpected(nonce.error());
    }
    c.nonce = std::move(*nonce);
    if (auto e = check_extensions(std::span(attributes).subspan(2)); !e) {
        return std::unexpected(e.error());
    }
    c.bare = std::string(bare);
    return c;
}

std::expected<ServerFirst, Error> parse_server_first(std::string_view text) {
    // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
    //                        ["," extensions]
    if (text.empty()) {
        return std::unexpected(Error::Truncated);
    }
    const auto attributes = split_attributes(text);
    if (starts_with_attribute(attributes[0], 'm')) {
        return std::unexpected(Error::BadValue);
    }
    ServerFirst s;
    auto nonce = nonce_of(attributes[0]);
    if (!nonce) {
        return std::unexpected(nonce.error());
    }
    s.nonce = std::move(*nonce);
    if (attributes.size() < 2) {
        return std::unexpected(Error::Truncated);
    }
    auto salt = base64_value_of(attributes[1], 's');
    if (!salt) {
        return std::unexpected(salt.error());
    }
    s.salt = std::move(*salt);
    if (attributes.size() < 3) {
        return std::unexpected(Error::Truncated);
    }
    auto count = value_of(attributes[2], 'i');
    if (!count) {
        return std::unexpected(count.error());
    }
    auto iterations = positive_number(*count);
    if (!iterations) {
        return std::unexpected(iterations.error());
    }
    s.iterations = *iterations;
    if (auto e = check_extensions(std::span(attributes).subspan(3)); !e) {
        return std::unexpected(e.error());
    }
    return s;
}

std::expected<ClientFinal, Error> parse_client_final(std::string_view text) {
    // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    // client-final-message = client-final-message-without-proof "," proof
    if (text.empty()) {
        return std::unexpected(Error::Truncated);
    }
    const auto attributes = split_attributes(text);
    ClientFinal c;
    auto binding = base64_value_of(attributes[0], 'c');
    if (!binding) {
        return std::unexpected(binding.error());
    }
    if (binding->empty()) {
        return std::unexpected(Error::BadValue); // cbind-input holds at least the gs2 header
    }
    c.channel_binding = std::move(*binding);
    if (attributes.size() < 2) {
        return std::unexpected(Error::Truncated);
    }
    auto nonce = nonce_of(attributes[1]);
    if (!nonce) {
        return std::unexpected(nonce.error());
    }
    c.nonce = std::move(*nonce);
    std::size_t without_proof_length = attributes[0].size() + 1 + attributes[1].size();
    std::size_t i = 2;
    for (; i < attributes.size() && !starts_with_attribute(attributes[i], 'p'); ++i) {
        if (!is_extension(attributes[i])) {
            return std::unexpected(Error::BadValue);
        }
        without_proof_length += 1 + attributes[i].size();
    }
    if (i == attributes.size()) {
        return std::unexpected(Error::Truncated); // no proof
    }
    auto proof = base64_value_of(attributes[i], 'p');
    if (!proof) {
        return std::unexpected(proof.error());
    }
    if (proof->size() != kKeyLength) {
        return std::unexpected(Error::BadValue);
    }
    if (i + 1 != attributes.size()) {
        return std::unexpected(Error::TrailingBytes); // "garbage at end of client-final-message"
    }
    c.proof = std::move(*proof);
    c.without_proof = std::string(text.substr(0, without_proof_length));
    return c;
}

std::expected<ServerFinal, Error> parse_server_final(std::string_view text) {
    // server-final-message = (server-error / verifier) ["," extensions]
    if (text.empty()) {
        return std::unexpected(Error::Truncated);
    }
    const auto attributes = split_attributes(text);
    ServerFinal s;
    if (starts_with_attribute(attributes[0], 'e')) {
        const auto value = attributes[0].substr(2);
        if (value.empty() || value.find('\0') != std::string_view::npos) {
            return std::unexpected(Error::BadValue);
        }
        s.error = std::string(value);
    } else {
        auto verifier = base64_value_of(attributes[0], 'v');
        if (!verifier) {
            return std::unexpected(verifier.error());
        }
        if (verifier->size() != kKeyLength) {
            return std::unexpected(Error::BadValue);
        }
        s.verifier = std::move(*verifier);
    }
    if (auto e = check_extensions(std::span(attributes).subspan(1)); !e) {
        return std::unexpected(e.error());
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// Serialisers

std::string server_first(const ServerFirst& s) {
    return "r=" + s.nonce + ",s=" + base64_encode(s.salt) + ",i=" + std::to_string(s.iterations);
}

std::string server_final_verifier(std::span<const std::uint8_t> v) {
    return "v=" + base64_encode(v);
}

std::string server_final_error(std::string_view e) {
    return "e=" + std::string(e);
}

std::string gs2_header(const ClientFirst& c) {
    std::string out;
    if (c.binding_flag == 'p') {
        out = "p=" + c.binding_name;
    } else {
        out.push_back(c.binding_flag);
    }
    out.push_back(',');
    if (!c.authzid.empty()) {
        out += "a=" + encode_saslname(c.authzid);
    }
    out.push_back(',');
    return out;
}

std::string client_first(const ClientFirst& c) {
    return gs2_header(c) + "n=" + encode_saslname(c.user) + ",r=" + c.nonce;
}

std::string client_final_without_proof(const ClientFinal& c) {
    return "c=" + base64_encode(c.channel_binding) + ",r=" + c.nonce;
}

std::string client_final(const ClientFinal& c) {
    const std::string head =
        c.without_proof.empty() ? client_final_without_proof(c) : c.without_proof;
    return head + ",p=" + base64_encode(c.proof);
}

std::vector<std::uint8_t> channel_binding_input(const ClientFirst& c,
                                                std::span<const std::uint8_t> binding_data) {
    const std::string header = gs2_header(c);
    std::vector<std::uint8_t> out(bytes_of(header).begin(), bytes_of(header).end());
    if (c.binding_flag == 'p') {
        out.insert(out.end(), binding_data.begin(), binding_data.end());
    }
    return out;
}

} // namespace pg::scram
