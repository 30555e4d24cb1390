#pragma once

// Theory of operation
// -------------------
// LabResponder is the SQL Server stand-in behind `tlslab serve`: whole TDS messages in, whole
// response messages out. It knows nothing of sockets or TLS (the ClientLeg carried those).
//
//   AwaitLogin --LOGIN7, SQL auth, right user/password--> LoggedIn
//   AwaitLogin --LOGIN7, anything else--> error 18456 class 14 + DONE(error), then close
//   LoggedIn: SQL batch -> SELECT 1 | SELECT @@VERSION | SET ... | a clear SQL error
//             Attention -> DONE with the attention bit
//             RPC, other -> a clear SQL error
// The response to LOGIN7 follows Microsoft's own test server: ENVCHANGE database, INFO 5701,
// ENVCHANGE collation, ENVCHANGE language, INFO 5703, ENVCHANGE packet size, LOGINACK, DONE.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <tds/login7.h>
#include <tds/message_assembler.h>

namespace proxy {

struct LabResponderConfig {
    std::string user = "lab";
    std::string password = "lab-password";
    std::string server_name = "tlslab";
    std::string version_text; // what SELECT @@VERSION answers
};

class LabResponder {
  public:
    struct Reply {
        std::vector<std::uint8_t> payload;          // one tabular-result (0x04) message
        std::optional<std::size_t> new_packet_size; // applies to the messages after this one
        bool close_after = false;                   // failed login: send, then close
        std::string log;                            // one readable line, when worth logging
    };

    explicit LabResponder(LabResponderConfig config) : config_(std::move(config)) {}

    // handle answers one client message; an error string means a protocol violation that
    // ends the session.
    std::expected<std::optional<Reply>, std::string> handle(const tds::Message& message);

    bool logged_in() const { return logged_in_; }
    const std::optional<tds::Login7>& login() const { return login_; }
    std::uint32_t tds_version() const { return tds_version_; }

  private:
    Reply answer_login(const tds::Login7& login);
    Reply answer_batch(const std::string& sql);
    Reply sql_error(std::uint32_t number, const std::string& text);

    LabResponderConfig config_;
    bool logged_in_ = false;
    std::optional<tds::Login7> login_;
    std::uint32_t tds_version_ = 0;
};

} // namespace proxy
