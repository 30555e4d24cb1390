#include "mysql_test_client.h"

#include <stdexcept>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

namespace mysqltest {

Bytes sha1(const Bytes& data) {
    Bytes out(20);
    SHA1(data.data(), data.size(), out.data());
    return out;
}

Bytes sha256(const Bytes& data) {
    Bytes out(32);
    SHA256(data.data(), data.size(), out.data());
    return out;
}

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

Bytes concat(const Bytes& a, const Bytes& b) {
    Bytes out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

std::string hex_upper(const Bytes& b) {
    static const char* d = "0123456789ABCDEF";
    std::string out;
    for (auto c : b) {
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

Bytes native_response(const std::string& password, const Bytes& scramble) {
    auto s1 = sha1(bytes_of(password));
    auto s2 = sha1(s1);
    auto mix = sha1(concat(scramble, s2));
    Bytes out(20);
    for (int i = 0; i < 20; ++i) {
        out[i] = s1[i] ^ mix[i];
    }
    return out;
}

Bytes caching_sha2_fast(const std::string& password, const Bytes& scramble) {
    auto s1 = sha256(bytes_of(password));
    auto s2 = sha256(s1);
    auto mix = sha256(concat(s2, scramble));
    Bytes out(32);
    for (int i = 0; i < 32; ++i) {
        out[i] = s1[i] ^ mix[i];
    }
    return out;
}

Bytes rsa_encrypted_password(const std::string& password, const Bytes& scramble,
                             const std::string& pem) {
    Bytes plain = bytes_of(password);
    plain.push_back(0);
    for (std::size_t i = 0; i < plain.size(); ++i) {
        plain[i] ^= scramble[i % scramble.size()];
    }
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) {
        throw std::runtime_error("bad PEM");
    }
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    EVP_PKEY_encrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    std::size_t n = 0;
    EVP_PKEY_encrypt(ctx, nullptr, &n, plain.data(), plain.size());
    Bytes out(n);
    EVP_PKEY_encrypt(ctx, out.data(), &n, plain.data(), plain.size());
    out.resize(n);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    return out;
}

std::vector<mysql::Packet> packets(const Bytes& stream) {
    mysql::PacketReader r;
    r.feed(stream);
    std::vector<mysql::Packet> out;
    while (true) {
        auto p = r.next();
        if (!p || !*p) {
            break;
        }
        out.push_back(std::move(**p));
    }
    return out;
}

std::uint32_t client_caps(bool deprecate_eof, bool multi_statements) {
    namespace c = mysql::cap;
    std::uint32_t caps = c::LongPassword | c::LongFlag | c::ConnectWithDb | c::LocalFiles |
                         c::Protocol41 | c::Transactions | c::SecureConnection | c::MultiResults |
                         c::PsMultiResults | c::PluginAuth | c::ConnectAttrs |
                         c::PluginAuthLenencData | c::SessionTrack;
    if (deprecate_eof) {
        caps |= c::DeprecateEof;
    }
    if (multi_statements) {
        caps |= c::MultiStatements;
    }
    return caps;
}

Client::Client(standin::mysql::Config config, standin::mysql::ConnectionFacts facts)
    : responder(std::move(config), std::move(facts)) {
    auto g = packets(responder.greeting());
    if (g.size() != 1 || g[0].sequence != 0) {
        throw std::runtime_error("no greeting");
    }
    auto h = mysql::decode_handshake(g[0].payload);
    if (!h) {
        throw std::runtime_error("bad greeting");
    }
    greeting = *h;
}

void Client::send(std::uint8_t sequence, const Bytes& payload) {
    mysql::Packet p;
    p.sequence = p.last_sequence = sequence;
    p.payload = payload;
    auto out = responder.on_packet(p);
    replies = packets(out.bytes);
    closed = closed || out.close;
}

void Client::login(const std::string& plugin, const Bytes& auth, std::uint8_t sequence,
                   const std::string& user, const std::string& database, std::uint32_t c) {
    caps = c;
    mysql::HandshakeResponse r;
    r.capabilities = c;
    r.max_packet_size = 16777216;
    r.character_set = 255;
    r.user = user;
    r.auth_response = auth;
    if (!database.empty()) {
        r.database = database;
    }
    r.auth_plugin = plugin;
    r.attributes = {{"_client_name", "tlslab-test"}};
    send(sequence, mysql::encode_handshake_response(r));
}

bool Client::login_with_password(const std::string& password, bool tls, const std::string& plugin) {
    std::string p = plugin.empty() ? greeting.auth_plugin_name : plugin;
    Bytes scramble = greeting.auth_plugin_data;
    std::uint8_t seq = tls ? 2 : 1;
    login(p,
          p == "caching_sha2_password" ? caching_sha2_fast(password, scramble)
                                       : native_response(password, scramble),
          seq);
    for (int round = 0; round < 4 && !replies.empty(); ++round) {
        const auto& last = replies.back();
        seq = static_cast<std::uint8_t>(last.last_sequence + 1);
        if (last.payload[0] == 0x00) {
            return true;
        }
        if (last.payload[0] == 0xFF) {
            return false;
        }
        if (last.payload[0] == 0xFE) { // switch
            auto sw = mysql::decode_auth_switch(last.payload);
            Bytes s(sw->data.begin(), sw->data.end());
            if (!s.empty() && s.back() == 0) {
                s.pop_back();
            }
            scramble = s;
            p = sw->plugin;
            if (p == "mysql_clear_password") {
                Bytes pw = bytes_of(password);
                pw.push_back(0);
                send(seq, pw);
            } else if (p == "caching_sha2_password") {
                send(seq, caching_sha2_fast(password, scramble));
            } else {
                send(seq, native_response(password, scramble));
            }
            continue;
        }
        if (last.payload.size() == 2 && last.payload[0] == 0x01 && last.payload[1] == 0x04) {
            if (tls) {
                Bytes pw = bytes_of(password);
                pw.push_back(0);
                send(seq, pw);
            } else {
                send(seq, Bytes{0x02});
                if (replies.empty() || replies[0].payload[0] != 0x01) {
                    return false;
                }
                std::string pem(replies[0].payload.begin() + 1, replies[0].payload.end());
                send(static_cast<std::uint8_t>(replies[0].sequence + 1),
                     rsa_encrypted_password(password, scramble, pem));
            }
            continue;
        }
        return false;
    }
    return false;
}

void Client::command(std::uint8_t cmd, const Bytes& args) {
    Bytes payload{cmd};
    payload.insert(payload.end(), args.begin(), args.end());
    send(0, payload);
}

void Client::query(const std::string& sql) {
    command(0x03, bytes_of(sql));
}

std::vector<Client::Result> Client::results() const {
    std::vector<Result> out;
    bool eof = (caps & mysql::cap::DeprecateEof) == 0;
    std::size_t i = 0;
    while (i < replies.size()) {
        const auto& p = replies[i].payload;
        if (mysql::is_err(p)) {
            break;
        }
        if (p[0] == 0x00) { // OK
            auto ok = mysql::decode_ok(p, caps);
            Result r;
            r.status = ok ? ok->status : 0;
            out.push_back(r);
            ++i;
            continue;
        }
        Result r;
        mysql::Reader rd(p);
        auto count = rd.lenenc_int();
        std::size_t n = count && *count ? static_cast<std::size_t>(**count) : 0;
        ++i;
        for (std::size_t c = 0; c < n && i < replies.size(); ++c, ++i) {
            r.columns.push_back(*mysql::decode_column(replies[i].payload));
        }
        if (eof) {
            ++i;
        }
        while (i < replies.size()) {
            const auto& row = replies[i].payload;
            if (row[0] == 0xFE && row.size() < 0xFFFFFF) {
                if (eof) {
                    r.status = mysql::decode_eof(row)->status;
                } else {
                    r.status = mysql::decode_ok(row, caps)->status;
                }
                ++i;
                break;
            }
            r.rows.push_back(*mysql::decode_text_row(row, n));
            ++i;
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::optional<mysql::ErrPacket> Client::error() const {
    if (!replies.empty() && mysql::is_err(replies.back().payload)) {
        return *mysql::decode_err(replies.back().payload);
    }
    return std::nullopt;
}

std::optional<mysql::OkPacket> Client::ok() const {
    if (!replies.empty() && replies.back().payload[0] == 0x00) {
        auto ok = mysql::decode_ok(replies.back().payload, caps);
        if (ok) {
            return *ok;
        }
    }
    return std::nullopt;
}

std::unique_ptr<Client> logged_in(standin::mysql::Flavour f, bool deprecate_eof,
                                  bool multi_statements) {
    standin::mysql::Config c;
    c.flavour = f;
    c.auth = standin::mysql::AuthPlugin::NativePassword;
    c.clock = [] {
        return std::int64_t{1700000000} * 1000000;
    };
    auto client = std::make_unique<Client>(c);
    client->login("mysql_native_password",
                  native_response("lab-password", client->greeting.auth_plugin_data), 1, "lab",
                  "lab", client_caps(deprecate_eof, multi_statements));
    REQUIRE(client->ok());
    return client;
}

} // namespace mysqltest
