#pragma once

// Theory of operation
// -------------------
// Responder is the SQL Server stand-in behind `tlslab serve`: whole TDS messages in, whole
// response messages out. It knows nothing of sockets or TLS (the ClientLeg carried those).
//
//   AwaitLogin --LOGIN7, SQL auth, right user/password, known database--> LoggedIn
//   AwaitLogin --LOGIN7, anything else--> 18456 (4060 first for an unknown database), close
//   LoggedIn:
//     SQL batch            -> statement_parser + batch_executor (every statement its DONE)
//     RPC                  -> procedures (sp_executesql, sp_prepare/execute/prepexec/unprepare,
//                             sp_reset_connection); anything else 2812
//     Transaction Manager  -> TM_BEGIN/COMMIT/ROLLBACK/SAVE_XACT with ENVCHANGE 8/9/10;
//                             TM_GET_DTC_ADDRESS a one-row result; DTC work 8501
//     Attention            -> DONE with the attention bit
// Every response is written in the layouts of the TDS version negotiated at login (TDS 7.0 to
// 8.0; LOGINACK carries what SQL Server 2022 answers for the version the client asked for).
// RESETCONNECTION on a request's first packet resets the session first (ENVCHANGE 18). A
// request that names a transaction the session does not have is answered 3971, as SQL Server
// does. Anything the stand-in cannot answer from its own state gets the error SQL Server would
// give (208 for an object, 2812 for a procedure, 102/156 where it cannot parse), the session
// stays usable, and the log says that the stand-in holds no data.
//
// The response to LOGIN7 follows SQL Server: ENVCHANGE database, INFO 5701, ENVCHANGE
// collation (7.1+), ENVCHANGE language, INFO 5703, ENVCHANGE packet size, LOGINACK, DONE.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <standin/sqlserver/server_identity.h>
#include <standin/sqlserver/session_state.h>
#include <tds/login7.h>
#include <tds/message_assembler.h>
#include <tds/tokens.h>

namespace standin::sqlserver {

struct ResponderConfig {
    std::string user = "lab";
    std::string password = "lab-password";
    ServerIdentity server;
};

class Responder {
  public:
    struct Reply {
        std::vector<std::uint8_t> payload;          // one tabular-result (0x04) message
        std::optional<std::size_t> new_packet_size; // applies to the messages after this one
        bool close_after = false;                   // failed login: send, then close
        std::string log;                            // one readable line, when worth logging
        bool notable = false; // log at info: the stand-in could not answer from its state
    };

    Responder(ResponderConfig config, std::uint16_t spid);

    // handle answers one client message; an error string means a protocol violation that
    // ends the session.
    std::expected<std::optional<Reply>, std::string> handle(const tds::Message& message);

    bool logged_in() const { return logged_in_; }
    const std::optional<tds::Login7>& login() const { return login_; }
    std::uint32_t tds_version() const { return ack_version_; }
    tds::Level level() const { return session_.level; }
    const SessionState& session() const { return session_; }
    void set_client_address(std::string address) { session_.client_address = std::move(address); }

  private:
    std::expected<Reply, std::string> answer_login(const tds::Login7& login);
    Reply answer_batch(const tds::Message& message);
    Reply answer_rpc(const tds::Message& message);
    std::expected<Reply, std::string> answer_tm(const tds::Message& message);
    // begin_request: RESETCONNECTION and the transaction descriptor check, shared by batch,
    // RPC and TM requests. Returns an error reply when the request cannot run.
    std::optional<Reply> begin_request(const tds::Message& message,
                                       std::optional<std::uint64_t> descriptor,
                                       tds::TokenWriter& w);
    Reply error_reply(tds::TokenWriter& w, std::uint32_t number, std::uint8_t state,
                      std::uint8_t severity, const std::string& text);
    tds::DateTime now() const;

    ResponderConfig config_;
    SessionState session_;
    bool logged_in_ = false;
    std::optional<tds::Login7> login_;
    std::uint32_t ack_version_ = 0;
};

} // namespace standin::sqlserver
