#pragma once

// Authenticator is the server side of PostgreSQL's authentication exchange for one
// connection, after the StartupMessage and before AuthenticationOk:
//   trust        -> success at once
//   password     -> AuthenticationCleartextPassword, PasswordMessage
//   md5          -> AuthenticationMD5Password (random salt), "md5" + md5(md5(password + user)
//                   + salt)
//   SCRAM-SHA-256 (RFC 5802 / 7677) -> AuthenticationSASL (SCRAM-SHA-256-PLUS first when the
//                   connection is TLS and the certificate's tls-server-end-point hash is
//                   known), SASLInitialResponse, AuthenticationSASLContinue (server-first),
//                   SASLResponse (client-final), AuthenticationSASLFinal (server signature).
// The stored SCRAM keys are derived once at construction (PBKDF2-HMAC-SHA-256, random salt).
// Every client message is checked in the order auth-scram.c checks it, and a failure is the
// FATAL PostgreSQL 16 sends, with its text and detail ("malformed SCRAM message", "SCRAM
// channel binding check failed", "SCRAM channel binding negotiation error" for 'y' over TLS,
// "password authentication failed for user ..."). A user other than the configured one goes
// through the same exchange (a mock salt for SCRAM, as PostgreSQL does) and fails at the end.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pg/messages.h>
#include <standin/postgres/server_error.h>

namespace standin::postgres {

enum class AuthMethod : std::uint8_t { Trust, Password, Md5, ScramSha256 };
// The names pg_hba.conf uses: trust, password, md5, scram-sha-256.
std::string_view to_string(AuthMethod m);
std::optional<AuthMethod> auth_method_from_name(std::string_view name);

struct AuthSetup {
    AuthMethod method = AuthMethod::ScramSha256;
    std::string user = "lab"; // the one role that exists
    std::string password = "lab-password";
    std::uint32_t scram_iterations = 4096;
    bool tls = false;
    std::vector<std::uint8_t> tls_server_end_point; // channel-binding data; empty: none
};

class Authenticator {
  public:
    enum class Outcome : std::uint8_t { Continue, Success, Failure };

    struct Step {
        Outcome outcome = Outcome::Continue;
        std::vector<pg::Message> messages; // to send (before AuthenticationOk on success)
        std::optional<ServerError> error;  // the FATAL on failure
        std::vector<std::string> notes;    // for the session record
    };

    explicit Authenticator(AuthSetup setup);

    // start: the first authentication request for `user` (the startup packet's).
    Step start(const std::string& user);
    // on_message: the client's answer ('p' messages; anything else is PostgreSQL's FATAL).
    Step on_message(const pg::Message& message);

    bool channel_binding_offered() const;

  private:
    enum class Phase : std::uint8_t {
        Idle,
        AwaitPassword,
        AwaitSaslInitial,
        AwaitClientFirst,
        AwaitClientFinal,
        Done
    };

    Step password_answer(const pg::Message& message);
    Step sasl_initial(const pg::Message& message);
    Step client_first(const std::string& text);
    Step client_final(const std::string& text);
    Step fail(ServerError e);
    Step wrong_password();

    AuthSetup setup_;
    Phase phase_ = Phase::Idle;
    std::string user_;
    bool user_known_ = false;
    std::array<std::uint8_t, 4> md5_salt_{};

    // SCRAM
    std::vector<std::uint8_t> salt_;
    std::array<std::uint8_t, 32> stored_key_{};
    std::array<std::uint8_t, 32> server_key_{};
    bool binding_in_use_ = false;
    char binding_flag_ = 'n';
    std::string client_first_bare_;
    std::string client_nonce_;
    std::string server_nonce_;
    std::string server_first_;
};

} // namespace standin::postgres
