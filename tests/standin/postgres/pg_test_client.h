#pragma once

// Helpers for the PostgreSQL stand-in tests: a Client that drives a Responder the way a driver
// does (startup, authentication, queries), the client side of SCRAM-SHA-256 computed
// independently with OpenSSL (RFC 5802), and a one-line rendering of every backend message so
// tests compare whole replies with what a real PostgreSQL 16.4 server sent for the same input
// (the expected lines in the tests were captured from one).
//
// Line format: "R10 SCRAM-SHA-256", "R0", "S DateStyle=ISO, MDY", "K 4242 4", "Z I",
// "T ?column?:23:4:-1:0", "D 1|a|NULL", "C SELECT 1", "I", "1", "2", "3", "n", "s",
// "t 23 25", "v 3.0 _pq_.x", "E ERROR 42601 syntax error at or near \"x\" P=8",
// "N WARNING 25P01 there is no transaction in progress" (D=, H=, W= follow when present).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pg/messages.h>
#include <standin/postgres/responder.h>

namespace pgtest {

using Bytes = std::vector<std::uint8_t>;
using Lines = std::vector<std::string>;

constexpr std::int64_t kFixedNow = 1709214330123456; // 2024-02-29 13:45:30.123456 UTC

standin::postgres::Config test_config();
standin::postgres::ConnectionFacts test_facts();

// frames: the regular messages in a reply (the stand-in never sends startup framing)
std::vector<pg::Message> frames(const Bytes& bytes);
std::string describe(const pg::Message& m);
Lines lines(const Bytes& bytes);
// notice_of: the decoded fields of the first ErrorResponse/NoticeResponse in a reply
std::optional<pg::Notice> notice_of(const Bytes& bytes);

// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), with OpenSSL.
class ScramClient {
  public:
    // flag: 'n', 'y' or 'p' (then binding_data is the tls-server-end-point hash)
    ScramClient(std::string password, char flag = 'n', Bytes binding_data = {},
                std::string nonce = "rOprNGfwEbeRWgbNEkqO");
    std::string mechanism() const;
    std::string client_first() const;
    // client_final: from the server-first message; remembers the expected server signature
    std::string client_final(const std::string& server_first);
    std::string expected_server_final() const { return expected_server_final_; }

  private:
    std::string password_;
    char flag_;
    Bytes binding_data_;
    std::string nonce_;
    std::string expected_server_final_;
};

Bytes hmac_sha256(const Bytes& key, const std::string& data);
Bytes sha256(const Bytes& data);
std::string md5_hex(const std::string& data);
Bytes to_bytes(const std::string& s);
std::string base64(const Bytes& b);

pg::StartupPacket startup_packet(std::vector<std::pair<std::string, std::string>> parameters,
                                 std::uint32_t version = pg::kProtocol30);
pg::Message sasl_initial(const std::string& mechanism, const std::string& data);
pg::Message sasl_response(const std::string& data);

class Client {
  public:
    explicit Client(standin::postgres::Config config = test_config(),
                    standin::postgres::ConnectionFacts facts = test_facts());

    standin::postgres::Output startup(std::vector<std::pair<std::string, std::string>> parameters,
                                      std::uint32_t version = pg::kProtocol30);
    standin::postgres::Output send(const pg::Message& m);
    // send_all: several messages, the replies concatenated (as one network read would carry)
    standin::postgres::Output send_all(const std::vector<pg::Message>& messages);

    // login: startup as user/database and answer whatever authentication is asked; returns
    // every line the server sent.
    Lines login(std::vector<std::pair<std::string, std::string>> extra = {},
                const std::string& user = "lab", const std::string& database = "lab",
                const std::string& password = "lab-password", char scram_flag = 'n',
                Bytes binding_data = {});
    Lines query(const std::string& sql);
    Lines extended(const std::vector<pg::Message>& messages);

    standin::postgres::Responder responder;
    std::vector<std::string> notes;
    bool closed = false;
};

// lines_without_reports: the lines with ParameterStatus and BackendKeyData dropped
Lines without_startup_noise(const Lines& l);

} // namespace pgtest
