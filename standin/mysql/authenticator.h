#pragma once

// Authenticator is the server side of one MySQL authentication exchange, after the client's
// HandshakeResponse41 (or COM_CHANGE_USER) and before OK/ERR. Packet payloads in, payloads out;
// the responder frames them.
//
//   the account's plugin = the client's plugin:
//     mysql_native_password  check the 20-byte response against the scramble
//     caching_sha2_password  32-byte response; cached login and matching -> 0x01 0x03, OK
//                            (fast path); else 0x01 0x04 (full authentication):
//                              TLS:   the password NUL-terminated in clear
//                              clear: 0x02 -> 0x01 + the RSA public key (PEM), then the
//                                     RSA-OAEP-encrypted password XOR scramble
//                            success caches the login (per process, as MySQL)
//     mysql_clear_password   the password NUL-terminated
//   plugins differ -> AuthSwitchRequest (the account's plugin, a scramble: MySQL 8.0 makes a new
//     one, MariaDB reuses the greeting's for mysql_native_password, as native_password_
//     authenticate in sql_acl.cc does), then as above.
//   a user other than the configured one runs the same exchange and fails at its end (as both
//   servers do with their fake account), with 1045.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <standin/mysql/auth_crypto.h>
#include <standin/mysql/config.h>
#include <standin/mysql/server_error.h>

namespace standin::mysql {

struct AuthSetup {
    Flavour flavour = Flavour::Mysql80;
    AuthPlugin account_plugin = AuthPlugin::CachingSha2;
    std::string user = "lab";
    std::string password = "lab-password";
    std::string client_host = "127.0.0.1"; // for the error text
    bool tls = false;
    Bytes scramble; // the one the client has (the greeting's, or the session's for CHANGE_USER)
};

class Authenticator {
  public:
    enum class Outcome : std::uint8_t { Continue, Success, Failure };
    struct Step {
        Outcome outcome = Outcome::Continue;
        std::vector<Bytes> payloads;      // to send before OK / ERR, each its own packet
        std::optional<ServerError> error; // on failure
        std::vector<std::string> notes;
    };

    explicit Authenticator(AuthSetup setup);

    // start: the user and the client's plugin and response from the handshake response.
    Step start(const std::string& user, const std::string& client_plugin,
               std::span<const std::uint8_t> response);
    // on_packet: the client's next auth packet.
    Step on_packet(std::span<const std::uint8_t> payload);

    // The scramble the exchange ended with (MariaDB's zero-configuration check hashes it).
    const Bytes& scramble() const { return setup_.scramble; }
    AuthPlugin plugin() const { return setup_.account_plugin; }
    bool password_used() const { return password_used_; }
    // The password arrived in clear (mysql_clear_password, or caching_sha2 full auth over TLS).
    bool password_seen_in_clear() const { return clear_; }

  private:
    enum class Phase : std::uint8_t { Idle, AwaitSwitchReply, AwaitFullAuth, AwaitRsa, Done };

    Step check(AuthPlugin plugin, std::span<const std::uint8_t> response);
    Step full_password(std::string_view password);
    Step success(Step step);
    Step success() { return success(Step{}); }
    Step failure(Step step);
    Step failure() { return failure(Step{}); }
    bool user_known() const { return user_ == setup_.user; }

    AuthSetup setup_;
    Phase phase_ = Phase::Idle;
    std::string user_;
    bool password_used_ = false;
    bool clear_ = false;
};

} // namespace standin::mysql
