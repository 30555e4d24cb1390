#pragma once

// SessionRecord is what the proxy knows about one client connection when it ends: the facts a
// lab user needs to see what the client did. It becomes one JSON line ("event": "session") and
// one readable log line.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <certs/certificate_info.h>
#include <proxy/core/session/boxed.h>
#include <proxy/core/tls/tls_endpoint.h>
#include <tds/encryption.h>

namespace proxy {

// What the client did: the outcome vocabulary of every record and test.
enum class Outcome : std::uint8_t {
    LoginEncrypted,        // LOGIN7 arrived inside TLS
    LoginPlaintext,        // LOGIN7 arrived in clear
    Alert,                 // the client sent a TLS alert
    ClosedAfterHandshake,  // TLS completed, then the client left without logging in
    ClosedDuringHandshake, // the client left mid-handshake without an alert
    ClosedBeforeTls,       // the client left before any TLS (after or before PRELOGIN)
    UpstreamFailed,        // the server could not be reached, or failed before the login
    ProtocolError,         // the client sent something that is not TDS/TLS as expected
    // MySQL/MariaDB: authentication succeeded (the client saw OK) and the client left before
    // any command: what a MariaDB 11.4+ client does when the zero-configuration SSL check in
    // the OK packet does not match the certificate it was shown
    AbortedAfterOk,
};
std::string_view to_string(Outcome o);

struct PreloginSummary {
    std::string version; // the VERSION option, "19.2.2.0"
    std::uint8_t encryption = 0;
    std::string encryption_name; // "ON", "OFF", ... with "+CLIENT_CERT"
    std::optional<std::string> instance;
    std::optional<bool> mars;
};

struct TlsObservation {
    bool started = false;
    bool established = false;
    std::vector<std::string> offered_versions;
    std::string sni;
    std::vector<std::string> alpn_offered;
    std::string version;
    std::string cipher;
    std::string alpn;
    std::optional<TlsAlert> alert_received;
    std::optional<TlsAlert> alert_sent;
    std::string failure;
};

// What the proxy read in the client's LOGIN7. The password is kept only when the lab was told to
// reveal secrets; otherwise only its length.
struct LoginSummary {
    std::string host_name;
    std::string user_name;
    std::optional<std::string> password; // only with --reveal-secrets
    std::size_t password_length = 0;     // characters
    std::string app_name;
    std::string server_name;
    std::string database;
    std::string library_name;
    std::string tds_version;
    std::uint32_t packet_size = 0;
    std::string auth_kind;     // TDS: sql, sspi, fedauth; PostgreSQL: see PostgresSummary
    std::vector<int> features; // FeatureExt ids
    bool through_tls = false;  // read inside TLS (false: it crossed the wire in clear)
};

// What the proxy saw of a PostgreSQL connection's negotiation and authentication.
struct PostgresSummary {
    // How the client began: "SSLRequest", "direct SSL", "plaintext", "GSSENCRequest, then ...",
    // "CancelRequest"; and what it was answered.
    std::string negotiation;
    bool ssl_request = false;
    bool gssenc_request = false;
    bool direct_ssl = false;
    bool cancel_request = false;
    std::string ssl_answer;       // "S", "N" or "" (not asked)
    std::string upstream_answer;  // the upstream's answer to the proxy's SSLRequest
    std::string protocol_version; // "3.0", "3.2"
    std::string options;          // the startup "options" parameter
    // Authentication: the method the server asked for ("trust", "password", "md5",
    // "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "gss", ...), the mechanisms it offered, and what
    // the client chose.
    std::string auth_method;
    std::vector<std::string> sasl_offered; // as the client was shown them
    std::string channel_binding;           // "used (tls-server-end-point)", "supported, not used
                                           // (y)", "not supported (n)"
    std::optional<std::string> md5_hash;   // only with --reveal-secrets
    bool authenticated = false;            // AuthenticationOk relayed
    std::string auth_error;                // the server's ErrorResponse during authentication
    bool channel_binding_defeated = false; // the server refused the binding to our certificate
};

// What the proxy saw of a MySQL/MariaDB connection's negotiation and authentication.
struct MysqlSummary {
    std::string server_version;        // the upstream's greeting
    bool server_is_mariadb = false;    // CLIENT_MYSQL clear in the greeting
    bool upstream_offered_ssl = false; // CLIENT_SSL in the upstream's greeting
    bool client_shown_ssl = false;     // CLIENT_SSL in the greeting the client was shown
    bool ssl_request = false;          // the client sent an SSLRequest
    // "SSLRequest", "plaintext (SSL offered)", "plaintext (SSL not offered)"
    std::string negotiation;
    std::string upstream_leg; // "TLS", "clear (the server offers no SSL)", "clear (mirrors ...)"
    std::uint32_t client_capabilities = 0;
    std::uint32_t server_capabilities = 0;
    std::string client_plugin;             // the plugin named in HandshakeResponse41
    std::vector<std::string> auth_plugins; // every plugin that ran, in order (switches)
    // caching_sha2_password: "fast", "full: password in clear (TLS)", "full: RSA public key
    // requested", "full: RSA", ...
    std::string auth_path;
    std::vector<std::pair<std::string, std::string>> attributes; // connection attributes
    bool password_read = false;     // a password crossed the proxy in clear (inside TLS or not)
    std::string password_via;       // which plugin step carried it
    bool authenticated = false;     // the server's OK after authentication was relayed
    std::string auth_error;         // the server's ERR during authentication ("1045 28000 ...")
    bool zero_config_check = false; // the OK after authentication carried MariaDB's certificate
                                    // check (MariaDB 11.4+ zero-configuration SSL)
    bool commands_after_ok = false; // the client sent a command after the OK
    std::string first_command;      // "COM_QUERY", ...
};

// TranscriptEntry: one TDS packet in clear as it crossed the proxy (decrypted where it was
// encrypted), for the pcap writer. Kept only when asked for.
struct TranscriptEntry {
    bool from_client = true;
    std::chrono::system_clock::time_point at;
    std::vector<std::uint8_t> bytes;
};

struct SessionRecord {
    std::uint64_t id = 0;
    std::string scenario;
    std::string client_address;
    // Transparent mode: where the client meant to go ("10.0.2.2:5432"), the session's upstream.
    std::string original_destination;
    std::chrono::system_clock::time_point started;
    std::chrono::system_clock::time_point ended;
    std::string protocol = "undecided"; // tds7, tds8, postgres, tls, unknown
    std::optional<PreloginSummary> client_prelogin;
    std::optional<PreloginSummary> upstream_answer;
    std::optional<PreloginSummary> client_answer; // what the client was shown
    std::optional<tds::EncryptionMode> client_mode;
    std::optional<tds::EncryptionMode> upstream_mode;
    TlsObservation client_tls;
    TlsObservation upstream_tls;
    // The scenario runtime's description, shared (a leaf is described once, not per session).
    std::shared_ptr<const certs::CertificateInfo> certificate_shown;
    std::shared_ptr<const certs::CertificateInfo> upstream_certificate; // shared (describe_shared)
    std::string upstream_verification; // "verified", "not verified", or the failure
    std::uint64_t bytes_from_client = 0;
    std::uint64_t bytes_to_client = 0;
    std::uint64_t bytes_from_server = 0;
    std::uint64_t bytes_to_server = 0;
    Boxed<LoginSummary> login;
    Boxed<PostgresSummary> postgres;
    Boxed<MysqlSummary> mysql;
    std::uint16_t listen_port = 0;           // the port the client connected to (for pcap flows)
    std::vector<TranscriptEntry> transcript; // with --pcap only
    Outcome outcome = Outcome::ClosedBeforeTls;
    std::string detail;            // one line: why the session ended
    std::optional<TlsAlert> alert; // the alert the client sent, when it sent one
};

// MessageRecord: one thing said after login (--record-messages): a SQL batch's text, an RPC's
// procedure, or an ERROR token from the server.
struct MessageRecord {
    std::uint64_t session_id = 0;
    std::string scenario;
    std::chrono::system_clock::time_point at;
    std::string kind; // "sql_batch", "rpc", "tm_request", "error"
    bool from_client = true;
    // the batch text, the procedure name, the TM request ("TM_BEGIN_XACT"), the error message
    std::string text;
    // rpc: the statement of sp_executesql / sp_prepare / sp_prepexec; tm_request: its
    // isolation level, name and whether it begins the next transaction
    std::string detail;
    std::optional<std::uint32_t> number;  // error number
    std::optional<std::uint8_t> severity; // error class
};

// summary_line is the readable one-line form of a record.
std::string summary_line(const SessionRecord& r);

} // namespace proxy
