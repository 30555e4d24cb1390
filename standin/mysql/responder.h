#pragma once

// Theory of operation
// -------------------
// Responder is the MySQL/MariaDB stand-in behind `tlslab serve --protocol mysql`: packets in,
// the framed bytes to send back out. It knows nothing of sockets or TLS: the shell that owns the
// socket sends greeting(), answers the SSLRequest by starting TLS (then calls set_tls), and
// hands every other packet here.
//
//   greeting()                     HandshakeV10 as the flavour sends it (seq 0):
//                                  MySQL 8.0: "8.0.40", caps 0xDFFFFFFF, collation 255,
//                                  caching_sha2_password; MariaDB 11.4: "11.4.4-MariaDB",
//                                  CLIENT_MYSQL clear, extended caps 0x05 (no extended or
//                                  cached metadata), collation 45,
//                                  mysql_native_password; CLIENT_SSL only when TLS is offered;
//                                  never CLIENT_COMPRESS / ZSTD (the stand-in does not compress)
//   HandshakeResponse41            -> authenticator.h (AuthSwitch / AuthMoreData / password)
//     success -> require_secure_transport in clear: MySQL 3159 / MariaDB 1045, close
//             -> an unknown database: 1049, close
//             -> OK (MariaDB 11.4 over TLS after a password plugin: the zero-configuration SSL
//                check in its info, see zero_config_check())
//     failure -> ERR 1045, close
//   commands (each starts at sequence 0; the reply counts on from the client's):
//     COM_QUERY (sql.h; several statements with CLIENT_MULTI_STATEMENTS), COM_PING, COM_INIT_DB,
//     COM_QUIT (close, no reply), COM_RESET_CONNECTION, COM_SET_OPTION, COM_STATISTICS,
//     COM_CHANGE_USER (authentication again), COM_FIELD_LIST (1146: there are no tables),
//     COM_STMT_PREPARE / EXECUTE / CLOSE / RESET / SEND_LONG_DATA; anything else 1047.
//   Every ERR leaves the session usable, except during authentication.
// OK / ERR / EOF follow the agreed capabilities (CLIENT_DEPRECATE_EOF: no EOF packets, an OK
// with header 0xFE ends a result set; CLIENT_SESSION_TRACK: no state is reported) and carry
// SERVER_STATUS_AUTOCOMMIT / IN_TRANS as the session has them.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mysql/commands.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <standin/mysql/authenticator.h>
#include <standin/mysql/config.h>
#include <standin/mysql/sql.h>

namespace standin::mysql {

struct ConnectionFacts {
    std::uint32_t connection_id = 1;
    std::string client_host = "127.0.0.1"; // as the error texts show it
    bool ssl_offered = true;               // CLIENT_SSL in the greeting
    // SHA-256 of the server certificate's DER (MariaDB's zero-configuration SSL check)
    std::vector<std::uint8_t> certificate_sha256;
};

struct Output {
    std::vector<std::uint8_t> bytes;
    bool close = false;
    std::vector<std::string> notes; // for the session record / log
};

// zero_config_check: the info MariaDB 11.4 puts in the OK after a password authentication over
// TLS: 0x01, then the upper-case hex of SHA-256(password hash || scramble || SHA-256 of the
// certificate DER), the hash for mysql_native_password being SHA1(SHA1(password)).
std::string zero_config_check(std::string_view password, std::span<const std::uint8_t> scramble,
                              std::span<const std::uint8_t> certificate_sha256);

class Responder {
  public:
    Responder(Config config, ConnectionFacts facts);
    ~Responder();
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;

    // The greeting, framed with sequence 0.
    std::vector<std::uint8_t> greeting() const;
    const ::mysql::Handshake& handshake() const { return handshake_; }
    // set_tls: the connection is now TLS (Ssl_version / Ssl_cipher, the full-auth path).
    void set_tls(std::string version, std::string cipher);

    Output on_packet(const ::mysql::Packet& packet);

    bool authenticated() const { return phase_ == Phase::Ready; }
    bool closed() const { return phase_ == Phase::Closed; }
    std::uint32_t capabilities() const { return caps_; }
    const std::string& user() const { return user_; }
    const std::string& database() const { return state_.database; }
    const SessionState& session() const { return state_; }
    Flavour flavour() const { return config_.flavour; }

  private:
    enum class Phase : std::uint8_t { AwaitResponse, Authenticating, Ready, Closed };

    struct Prepared {
        ParsedStatement parsed;
        std::vector<::mysql::ColumnDefinition> columns;
        std::vector<::mysql::BoundParameter> types; // the last execution's
        std::map<std::uint16_t, std::string> long_data;
    };

    Output on_handshake_response(const ::mysql::Packet& packet);
    Output on_auth_packet(const ::mysql::Packet& packet);
    Output on_auth_step(Authenticator::Step step, Output out);
    Output finish_login(Output out);
    Output on_command(const ::mysql::Packet& packet);
    Output on_query(std::span<const std::uint8_t> payload, Output out);
    Output on_prepare(std::span<const std::uint8_t> payload, Output out);
    Output on_execute(std::span<const std::uint8_t> payload, Output out);
    Output on_change_user(std::span<const std::uint8_t> payload, Output out);

    void send(Output& out, std::span<const std::uint8_t> payload);
    void send_ok(Output& out, std::uint16_t extra_status = 0, std::uint64_t affected = 0,
                 std::string info = {});
    void send_err(Output& out, const ServerError& e);
    void send_statement_err(Output& out, const ServerError& e); // and record it
    std::uint16_t statement_warnings() const;                   // for OK / EOF
    void send_eof(Output& out, std::uint16_t extra_status = 0);
    void send_end_of_rows(Output& out, std::uint16_t extra_status);
    void send_result(Output& out, const ResultSet& rs, bool more, bool binary);
    void send_result(Output& out, const StatementResult& r, bool more, bool binary);
    Output close_with(ServerError e, Output out);
    std::uint16_t status() const;
    Syntax syntax() const; // how the session's sql_mode reads the next statement
    void reset_session();
    AuthSetup auth_setup() const;
    AuthPlugin account_plugin() const;

    Config config_;
    ConnectionFacts facts_;
    ::mysql::Handshake handshake_;
    Phase phase_ = Phase::AwaitResponse;
    bool tls_ = false;
    bool changing_user_ = false;
    std::uint32_t caps_ = 0; // agreed
    std::uint8_t seq_ = 0;   // the next reply's sequence id
    std::string user_;
    std::string requested_db_;
    Bytes scramble_;
    std::unique_ptr<Authenticator> auth_;
    SessionState state_;
    std::uint32_t next_statement_id_ = 1;
    std::map<std::uint32_t, Prepared> statements_;
};

} // namespace standin::mysql
