#pragma once

// A MySQL client for the stand-in tests: it frames what a driver sends, reads what the
// responder answers, and computes the authentication responses itself with OpenSSL (not with
// the stand-in's own functions), so a wrong server-side hash fails the tests.

#include <cstdint>
#include <string>
#include <vector>

#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>
#include <standin/mysql/responder.h>

namespace mysqltest {

using Bytes = std::vector<std::uint8_t>;

Bytes sha1(const Bytes& data);
Bytes sha256(const Bytes& data);
Bytes bytes_of(const std::string& s);
Bytes concat(const Bytes& a, const Bytes& b);
std::string hex_upper(const Bytes& b);

// The client halves of the plugins, written from the protocol documentation.
Bytes native_response(const std::string& password, const Bytes& scramble);
Bytes caching_sha2_fast(const std::string& password, const Bytes& scramble);
// RSA-OAEP(password NUL XOR scramble) with the PEM public key the server sent.
Bytes rsa_encrypted_password(const std::string& password, const Bytes& scramble,
                             const std::string& pem);

// packets: the logical packets in a byte stream (whole packets only).
std::vector<mysql::Packet> packets(const Bytes& stream);

// The usual client capabilities (Connector/C 8.0 sends these, plus what is asked).
std::uint32_t client_caps(bool deprecate_eof = true, bool multi_statements = true);

struct Client {
    standin::mysql::Responder responder;
    mysql::Handshake greeting;
    std::uint32_t caps = 0;
    std::vector<mysql::Packet> replies; // the last exchange's
    bool closed = false;

    Client(standin::mysql::Config config, standin::mysql::ConnectionFacts facts = {});

    // send: one packet with the given sequence id; the replies replace `replies`.
    void send(std::uint8_t sequence, const Bytes& payload);
    // login: HandshakeResponse41 (seq 1, or 2 after TLS) with the plugin and its response.
    void login(const std::string& plugin, const Bytes& auth, std::uint8_t sequence = 1,
               const std::string& user = "lab", const std::string& database = "lab",
               std::uint32_t caps = client_caps());
    // A full login with the password (whatever the plugin path, over `tls` or RSA).
    bool login_with_password(const std::string& password, bool tls, const std::string& plugin = "");
    void command(std::uint8_t cmd, const Bytes& args = {});
    void query(const std::string& sql);

    // result sets of the last reply, as text rows (after column count, columns, rows)
    struct Result {
        std::vector<mysql::ColumnDefinition> columns;
        std::vector<std::vector<mysql::Value>> rows;
        std::uint16_t status = 0;
    };
    std::vector<Result> results() const;
    std::optional<mysql::ErrPacket> error() const;
    std::optional<mysql::OkPacket> ok() const;
};

// logged_in: a stand-in of the flavour (mysql_native_password, a fixed clock) with `lab` logged
// in to `lab` in clear; REQUIREs that the login is answered with OK.
std::unique_ptr<Client> logged_in(standin::mysql::Flavour f, bool deprecate_eof = true,
                                  bool multi_statements = true);

} // namespace mysqltest
