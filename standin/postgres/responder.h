#pragma once

// Theory of operation
// -------------------
// Responder is the PostgreSQL stand-in behind `tlslab serve --protocol postgres`: whole
// protocol messages in, the bytes to send back out. It knows nothing of sockets or TLS: the
// shell that owns the socket answers SSLRequest / GSSENCRequest, runs TLS (also direct SSL)
// and CancelRequest, and hands the StartupMessage here with what it knows of the connection
// (ConnectionFacts).
//
//   on_startup(StartupMessage)
//     major version != 3        -> the FATAL PostgreSQL gives (version 1/2: in the old
//                                  protocol's format), close
//     minor > 2 or _pq_.*       -> NegotiateProtocolVersion (newest minor we speak, the
//                                  unknown _pq_ options), then carry on
//     no user / bad replication / replication / require_tls without TLS
//                               -> the FATAL of ProcessStartupPacket / pg_hba, close
//     else                      -> the first authentication request (authenticator.h)
//   on_message during authentication -> authenticator; on success: AuthenticationOk, then as
//     InitPostgres: role check, database check (3D000), startup options and parameters
//     (`options` -c/--, then each parameter as a SET, errors FATAL), then the ParameterStatus
//     set PostgreSQL 16 reports (in its order), BackendKeyData, ReadyForQuery 'I'
//   on_message after that -> query_protocol.h (simple and extended query cycles)
//
// Every reply is what a PostgreSQL 16.4 server sends for the same input (checked against a
// real 16.4 server; see tests/standin/postgres). What the stand-in cannot answer from its own
// state (tables it does not have, statements it does not know) gets the error PostgreSQL
// would give, the session stays usable, and a note says so for the session record.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pg/messages.h>
#include <standin/postgres/authenticator.h>
#include <standin/postgres/query_protocol.h>
#include <standin/postgres/session.h>

namespace standin::postgres {

struct Config {
    std::string user = "lab";
    std::string password = "lab-password";
    std::string database = "lab";
    AuthMethod auth = AuthMethod::ScramSha256;
    std::string server_version = "16.4"; // what ParameterStatus server_version says
    // like a hostssl-only pg_hba: a plaintext startup gets PostgreSQL's FATAL ("no pg_hba.conf
    // entry for host ..., no encryption", 28000)
    bool require_tls = false;
    std::uint32_t scram_iterations = 4096;
    std::string time_zone = "Etc/UTC"; // the server's TimeZone (initdb's choice)
    // the newest minor protocol version spoken: 2 (3.2, as PostgreSQL 18) or 0 (3.0, exactly
    // as PostgreSQL 16, which answers 3.2 with NegotiateProtocolVersion)
    std::uint16_t newest_protocol_minor = 2;
    // version(): PostgreSQL's build string for server_version
    std::string version_string =
        "PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit";
    // microseconds since 1970 (UTC); empty: the system clock
    std::function<std::int64_t()> clock;
};

struct ConnectionFacts {
    bool tls = false;        // the startup came inside TLS
    std::string tls_version; // "TLSv1.3" (pg_stat_ssl)
    std::string tls_cipher;  // OpenSSL's name, "TLS_AES_256_GCM_SHA384"
    int tls_bits = 0;
    // RFC 5929 tls-server-end-point data of the certificate this server showed (empty: none)
    std::vector<std::uint8_t> tls_server_end_point;
    std::string client_address; // for error texts and inet_client_addr() ("127.0.0.1")
    std::uint16_t client_port = 0;
    std::string server_address; // inet_server_addr(); empty: NULL (as over a Unix socket)
    std::uint16_t server_port = 0;
    std::uint32_t process_id = 0; // for BackendKeyData and pg_backend_pid()
    // 4 bytes (3.0) or up to 256 (3.2, PostgreSQL 18 sends 32): the key is cut to 4 bytes for
    // a 3.0 session, see Responder::secret_key()
    std::vector<std::uint8_t> secret_key;
};

struct Output {
    std::vector<std::uint8_t> bytes;
    bool close = false;
    // for the session record: "client used SCRAM-SHA-256-PLUS", "channel binding check
    // failed", "the stand-in could not answer: ..."
    std::vector<std::string> notes;
};

class Responder {
  public:
    Responder(Config config, ConnectionFacts facts);
    ~Responder();
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;
    Responder(Responder&&) noexcept;
    Responder& operator=(Responder&&) noexcept;

    // on_startup: a StartupMessage (3.0 or 3.2; a newer minor gets NegotiateProtocolVersion as
    // PostgreSQL does; major != 3 the FATAL PostgreSQL gives).
    Output on_startup(const pg::StartupPacket& startup);
    Output on_message(const pg::Message& message);

    bool authenticated() const { return phase_ == Phase::Ready; }
    bool closed() const { return phase_ == Phase::Closed; }
    // The protocol version agreed (after on_startup) and the BackendKeyData secret sent.
    std::uint32_t protocol() const { return protocol_; }
    const std::vector<std::uint8_t>& secret_key() const { return secret_key_; }
    const std::string& user() const { return user_; }
    const std::string& database() const { return database_; }
    const Session& session() const { return *session_; }

  private:
    enum class Phase : std::uint8_t { AwaitStartup, Authenticating, Ready, Closed };

    Output fatal(ServerError e, Output out = {});
    Output finish_startup(Output out);

    Config config_;
    ConnectionFacts facts_;
    Phase phase_ = Phase::AwaitStartup;
    std::uint32_t protocol_ = pg::kProtocol30;
    std::vector<std::uint8_t> secret_key_;
    std::string user_;
    std::string database_;
    std::vector<std::pair<std::string, std::string>> startup_parameters_;
    std::unique_ptr<Authenticator> authenticator_;
    std::unique_ptr<Session> session_;
    std::unique_ptr<QueryProtocol> queries_;
};

// old_protocol_fatal: the error PostgreSQL sends a version 1/2 client, in that protocol's
// format ('E', the text, NUL).
std::vector<std::uint8_t> old_protocol_fatal(const std::string& message);

} // namespace standin::postgres
