#include "pg_test_client.h"

#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <pg/scram.h>

namespace pgtest {

using namespace standin::postgres;

Config test_config() {
    Config c;
    c.clock = [] {
        return kFixedNow;
    };
    return c;
}

ConnectionFacts test_facts() {
    ConnectionFacts f;
    f.client_address = "127.0.0.1";
    f.client_port = 50000;
    f.server_address = "127.0.0.1";
    f.server_port = 5432;
    f.process_id = 4242;
    f.secret_key = {0xde, 0xad, 0xbe, 0xef};
    return f;
}

std::vector<pg::Message> frames(const Bytes& bytes) {
    pg::MessageReader reader;
    reader.feed(bytes);
    std::vector<pg::Message> out;
    while (true) {
        auto m = reader.next();
        if (!m) {
            throw std::runtime_error("unframeable reply: " + std::string(pg::to_string(m.error())));
        }
        if (!*m) {
            break;
        }
        out.push_back(std::move(**m));
    }
    if (reader.buffered() != 0) {
        throw std::runtime_error("reply ends inside a message");
    }
    return out;
}

namespace {

std::uint32_t be32(const Bytes& b, std::size_t at) {
    return (static_cast<std::uint32_t>(b[at]) << 24) |
           (static_cast<std::uint32_t>(b[at + 1]) << 16) |
           (static_cast<std::uint32_t>(b[at + 2]) << 8) | b[at + 3];
}

std::uint16_t be16(const Bytes& b, std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

std::string printable_or_hex(const Bytes& v) {
    bool printable = true;
    for (auto c : v) {
        if (c < 0x20 || c > 0x7e) {
            printable = false;
        }
    }
    if (printable) {
        return std::string(v.begin(), v.end());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "x'";
    for (auto c : v) {
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
    return out + "'";
}

std::string notice_line(char type, const pg::Notice& n) {
    std::string out(1, type);
    out += " " + n.severity() + " " + n.sqlstate() + " " + n.message();
    for (char code : {'D', 'H', 'P', 'W'}) {
        if (auto f = n.field(code)) {
            out += std::string(" ") + code + "=" + *f;
        }
    }
    return out;
}

} // namespace

std::string describe(const pg::Message& m) {
    const auto& b = m.body;
    switch (m.type) {
    case 'R': {
        auto r = pg::decode_auth_request(b);
        if (!r) {
            return "R?";
        }
        std::string out = "R" + std::to_string(r->code);
        if (r->code == 10) {
            for (const auto& mech : r->mechanisms) {
                out += " " + mech;
            }
        } else if (r->code == 11 || r->code == 12) {
            out += " " + std::string(r->data.begin(), r->data.end());
        }
        return out;
    }
    case 'S': {
        auto p = pg::decode_parameter_status(b);
        return p ? "S " + p->name + "=" + p->value : "S?";
    }
    case 'K': {
        auto k = pg::decode_backend_key_data(b);
        return k ? "K " + std::to_string(k->process_id) + " " + std::to_string(k->secret_key.size())
                 : "K?";
    }
    case 'Z':
        return "Z " + std::string(b.begin(), b.end());
    case 'C':
        return "C " + std::string(b.begin(), b.end() - (b.empty() ? 0 : 1));
    case 'E':
    case 'N': {
        auto n = pg::decode_notice(b);
        return n ? notice_line(m.type, *n) : std::string(1, m.type) + "?";
    }
    case 'T': {
        std::string out = "T";
        std::size_t at = 2;
        std::uint16_t count = be16(b, 0);
        for (std::uint16_t i = 0; i < count; ++i) {
            std::size_t end = at;
            while (b[end] != 0) {
                ++end;
            }
            std::string name(b.begin() + static_cast<std::ptrdiff_t>(at),
                             b.begin() + static_cast<std::ptrdiff_t>(end));
            at = end + 1;
            auto type = be32(b, at + 6);
            auto size = static_cast<std::int16_t>(be16(b, at + 10));
            auto mod = static_cast<std::int32_t>(be32(b, at + 12));
            auto fmt = be16(b, at + 16);
            at += 18;
            out += (i ? ", " : " ") + name + ":" + std::to_string(type) + ":" +
                   std::to_string(size) + ":" + std::to_string(mod) + ":" + std::to_string(fmt);
        }
        return out;
    }
    case 'D': {
        std::string out = "D ";
        std::size_t at = 2;
        std::uint16_t count = be16(b, 0);
        for (std::uint16_t i = 0; i < count; ++i) {
            auto len = static_cast<std::int32_t>(be32(b, at));
            at += 4;
            if (i > 0) {
                out += "|";
            }
            if (len < 0) {
                out += "NULL";
                continue;
            }
            Bytes v(b.begin() + static_cast<std::ptrdiff_t>(at),
                    b.begin() + static_cast<std::ptrdiff_t>(at + static_cast<std::size_t>(len)));
            at += static_cast<std::size_t>(len);
            out += printable_or_hex(v);
        }
        return out;
    }
    case 't': {
        std::string out = "t";
        std::uint16_t count = be16(b, 0);
        for (std::uint16_t i = 0; i < count; ++i) {
            out += " " + std::to_string(be32(b, 2 + 4 * i));
        }
        return out;
    }
    case 'v': {
        std::string out = "v " + std::to_string(be16(b, 0)) + "." + std::to_string(be16(b, 2));
        std::size_t at = 8;
        while (at < b.size()) {
            std::size_t end = at;
            while (end < b.size() && b[end] != 0) {
                ++end;
            }
            out += " " + std::string(b.begin() + static_cast<std::ptrdiff_t>(at),
                                     b.begin() + static_cast<std::ptrdiff_t>(end));
            at = end + 1;
        }
        return out;
    }
    case 'A': {
        std::string rest(b.begin() + 4, b.end());
        auto nul = rest.find('\0');
        return "A " + std::to_string(be32(b, 0)) + " " + rest.substr(0, nul) + " " +
               rest.substr(nul + 1, rest.size() - nul - 2);
    }
    default:
        return std::string(1, m.type);
    }
}

Lines lines(const Bytes& bytes) {
    Lines out;
    for (const auto& m : frames(bytes)) {
        out.push_back(describe(m));
    }
    return out;
}

std::optional<pg::Notice> notice_of(const Bytes& bytes) {
    for (const auto& m : frames(bytes)) {
        if (m.type == 'E' || m.type == 'N') {
            auto n = pg::decode_notice(m.body);
            if (n) {
                return *n;
            }
        }
    }
    return std::nullopt;
}

Bytes to_bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

std::string base64(const Bytes& b) {
    return pg::scram::base64_encode(b);
}

Bytes hmac_sha256(const Bytes& key, const std::string& data) {
    Bytes out(32);
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
    return out;
}

Bytes sha256(const Bytes& data) {
    Bytes out(32);
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string md5_hex(const std::string& data) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), d, &len, EVP_md5(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(kHex[d[i] >> 4]);
        out.push_back(kHex[d[i] & 15]);
    }
    return out;
}

ScramClient::ScramClient(std::string password, char flag, Bytes binding_data, std::string nonce)
    : password_(std::move(password)), flag_(flag), binding_data_(std::move(binding_data)),
      nonce_(std::move(nonce)) {}

std::string ScramClient::mechanism() const {
    return flag_ == 'p' ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
}

namespace {
std::string gs2_header(char flag) {
    return flag == 'p' ? "p=tls-server-end-point,," : std::string(1, flag) + ",,";
}
} // namespace

std::string ScramClient::client_first() const {
    return gs2_header(flag_) + "n=,r=" + nonce_;
}

std::string ScramClient::client_final(const std::string& server_first) {
    // r=<nonce>,s=<salt>,i=<iterations>
    std::string r;
    std::string s;
    int iterations = 0;
    std::size_t at = 0;
    while (at < server_first.size()) {
        auto comma = server_first.find(',', at);
        auto part =
            server_first.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (part.starts_with("r=")) {
            r = part.substr(2);
        } else if (part.starts_with("s=")) {
            s = part.substr(2);
        } else if (part.starts_with("i=")) {
            iterations = std::stoi(part.substr(2));
        }
        if (comma == std::string::npos) {
            break;
        }
        at = comma + 1;
    }
    auto salt = pg::scram::base64_decode(s).value();
    Bytes salted(32);
    PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()), salt.data(),
                      static_cast<int>(salt.size()), iterations, EVP_sha256(), 32, salted.data());
    auto client_key = hmac_sha256(salted, "Client Key");
    auto stored_key = sha256(client_key);
    auto server_key = hmac_sha256(salted, "Server Key");
    Bytes cbind = to_bytes(gs2_header(flag_));
    if (flag_ == 'p') {
        cbind.insert(cbind.end(), binding_data_.begin(), binding_data_.end());
    }
    std::string without_proof = "c=" + base64(cbind) + ",r=" + r;
    std::string bare = "n=,r=" + nonce_;
    std::string auth_message = bare + "," + server_first + "," + without_proof;
    auto signature = hmac_sha256(stored_key, auth_message);
    Bytes proof(32);
    for (std::size_t i = 0; i < 32; ++i) {
        proof[i] = static_cast<std::uint8_t>(client_key[i] ^ signature[i]);
    }
    expected_server_final_ = "v=" + base64(hmac_sha256(server_key, auth_message));
    return without_proof + ",p=" + base64(proof);
}

pg::StartupPacket startup_packet(std::vector<std::pair<std::string, std::string>> parameters,
                                 std::uint32_t version) {
    pg::StartupPacket p;
    p.kind = pg::StartupKind::Startup;
    p.code = version;
    p.parameters = std::move(parameters);
    return p;
}

pg::Message sasl_initial(const std::string& mechanism, const std::string& data) {
    auto b = to_bytes(data);
    return pg::sasl_initial_response(mechanism, b);
}

pg::Message sasl_response(const std::string& data) {
    auto b = to_bytes(data);
    return pg::sasl_response(b);
}

Client::Client(Config config, ConnectionFacts facts)
    : responder(std::move(config), std::move(facts)) {}

Output Client::startup(std::vector<std::pair<std::string, std::string>> parameters,
                       std::uint32_t version) {
    auto out = responder.on_startup(startup_packet(std::move(parameters), version));
    notes.insert(notes.end(), out.notes.begin(), out.notes.end());
    closed = closed || out.close;
    return out;
}

Output Client::send(const pg::Message& m) {
    auto out = responder.on_message(m);
    notes.insert(notes.end(), out.notes.begin(), out.notes.end());
    closed = closed || out.close;
    return out;
}

Output Client::send_all(const std::vector<pg::Message>& messages) {
    Output all;
    for (const auto& m : messages) {
        auto out = send(m);
        all.bytes.insert(all.bytes.end(), out.bytes.begin(), out.bytes.end());
        all.close = all.close || out.close;
        all.notes.insert(all.notes.end(), out.notes.begin(), out.notes.end());
    }
    return all;
}

Lines Client::login(std::vector<std::pair<std::string, std::string>> extra, const std::string& user,
                    const std::string& database, const std::string& password, char scram_flag,
                    Bytes binding_data) {
    std::vector<std::pair<std::string, std::string>> params{{"user", user}, {"database", database}};
    params.insert(params.end(), extra.begin(), extra.end());
    auto out = startup(params);
    Lines all = lines(out.bytes);
    ScramClient scram(password, scram_flag, binding_data);
    for (int rounds = 0; rounds < 4 && !out.close; ++rounds) {
        auto msgs = frames(out.bytes);
        if (msgs.empty()) {
            break;
        }
        const auto& last = msgs.back();
        if (last.type != 'R') {
            break;
        }
        auto r = pg::decode_auth_request(last.body).value();
        if (r.code == 3) {
            out = send(pg::password(password));
        } else if (r.code == 5) {
            std::string salt(r.salt.begin(), r.salt.end());
            out = send(pg::password("md5" + md5_hex(md5_hex(password + user) + salt)));
        } else if (r.code == 10) {
            out = send(sasl_initial(scram.mechanism(), scram.client_first()));
        } else if (r.code == 11) {
            out =
                send(sasl_response(scram.client_final(std::string(r.data.begin(), r.data.end()))));
        } else {
            break;
        }
        auto more = lines(out.bytes);
        all.insert(all.end(), more.begin(), more.end());
    }
    return all;
}

Lines Client::query(const std::string& sql) {
    return lines(send(pg::query(sql)).bytes);
}

Lines Client::extended(const std::vector<pg::Message>& messages) {
    return lines(send_all(messages).bytes);
}

Lines without_startup_noise(const Lines& l) {
    Lines out;
    for (const auto& x : l) {
        if (!x.starts_with("S ") && !x.starts_with("K ")) {
            out.push_back(x);
        }
    }
    return out;
}

} // namespace pgtest
