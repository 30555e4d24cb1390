#pragma once

// tlslab diagnose: what a real server does when a database client connects, and which client
// errors follow from it.
//
// Theory of operation. The prober (prober.h) is the only part that does I/O: it speaks the
// protocol's pre-TLS negotiation and runs a series of TLS handshakes, each on a fresh TCP
// connection, and writes down what it saw as Observations (plain data: bytes of the chain as
// sent, versions, suites, alerts, timings). Everything after that is pure:
//
//   Observations --analyse_chain--> ChainFacts   (the certificates, verified against a store)
//   Observations + ChainFacts --find_defects--> Findings (family + plain words + evidence)
//   Findings + protocol + knowledge base --predict--> per-client error text and fix
//
// so the analysis is unit-tested with certificates minted in the test and observations written
// by hand. Families are the vocabulary of the scenario catalogue and of knowledge/errors.json.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <certs/openssl_ptr.h>
#include <proxy/app/explain/knowledge_base.h>

namespace proxy::app::diagnose {

// The JSON shape's version (see docs/diagnose.md); bump it when a field changes meaning.
inline constexpr int kJsonVersion = 1;

enum class Protocol : std::uint8_t { Tds, Postgres, Mysql };
std::string_view to_string(Protocol p);

// ---- what the prober saw --------------------------------------------------------------------

enum class Outcome : std::uint8_t {
    Ok,          // the handshake completed
    Failed,      // a TLS failure: an alert from the server, or our client refused
    Reset,       // the connection was reset (ECONNRESET) during the handshake
    Closed,      // the server closed the connection (EOF) during the handshake
    Timeout,     // the server did not answer in time
    NotAttempted // the negotiation before TLS did not let us start it
};
std::string_view to_string(Outcome o);

// One TLS handshake on its own connection.
struct Handshake {
    std::string label;   // "baseline", "tls1.0", "seclevel2", "no-sni", "few-sigalgs", ...
    std::string purpose; // in words: "TLS 1.0 only, security level 0"
    Outcome outcome = Outcome::NotAttempted;
    std::string version;        // "TLSv1.2"
    std::string cipher;         // "ECDHE-RSA-AES256-GCM-SHA384"
    std::string key_exchange;   // "ECDHE X25519", "DHE 1024", "RSA"
    std::string signature_hash; // the hash of the server's handshake signature ("SHA1"), if any
    std::string alpn;           // what the server selected ("" none)
    std::string alert;          // the alert the server sent ("unrecognized name")
    std::string error;          // OpenSSL's or the socket's words
    double elapsed_ms = 0;      // from the ClientHello to the end
    std::vector<std::vector<std::uint8_t>> chain; // DER, as sent (leaf first)
};

struct TdsNegotiation {
    bool prelogin_answered = false;         // a PRELOGIN answer came back
    std::optional<std::uint8_t> encryption; // its ENCRYPTION byte; nullopt: no such option
    std::string server_version;             // the VERSION option ("16.0.1000.0")
    std::string prelogin_error;             // why there was no usable answer
    bool strict_tried = false;
    bool strict_ok = false;                   // TDS 8.0: TLS first, handshake completed
    std::string strict_alpn;                  // the ALPN the server selected in strict mode
    std::vector<std::string> strict_versions; // TLS versions accepted in strict mode
};

struct PostgresNegotiation {
    char ssl_answer = 0;       // 'S', 'N', 'E' (an error), 0 (none)
    bool direct_tried = false; // TLS first with ALPN postgresql (PostgreSQL 17+)
    bool direct_ok = false;
    std::string direct_alpn;
    // After TLS, the SASL mechanisms of the server's AuthenticationSASL (empty: another
    // authentication, or not learned).
    std::vector<std::string> sasl_mechanisms;
    std::string auth_request; // "SASL", "MD5", "cleartext", "ok", "error: ..." ("" unknown)
};

struct MysqlNegotiation {
    bool greeting = false;
    std::string server_version;
    bool client_ssl = false; // CLIENT_SSL in the greeting's capabilities
    bool mariadb = false;
    // A HandshakeResponse in clear: the server's answer (error 3159: secure transport required)
    bool plaintext_tried = false;
    std::optional<std::uint16_t> plaintext_error; // the ERR code, if the server refused
    std::string plaintext_message;
};

struct Observations {
    Protocol protocol = Protocol::Tds;
    std::string host;
    int port = 0;
    std::string server_name; // the name checked against the certificate
    bool connected = false;  // TCP connect worked
    std::string connect_error;
    TdsNegotiation tds;
    PostgresNegotiation postgres;
    MysqlNegotiation mysql;
    std::vector<Handshake> handshakes;

    const Handshake* handshake(std::string_view label) const;
    // first_ok: the first completed handshake in the order tried (the chain to analyse).
    const Handshake* first_ok() const;
};

// ---- the certificates ---------------------------------------------------------------------------

struct CertificateFacts {
    std::string subject; // RFC 2253
    std::string issuer;
    std::string common_name;
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
    std::string not_before; // ISO 8601 UTC
    std::string not_after;
    long long seconds_left = 0; // until notAfter (negative: expired)
    bool expired = false;
    bool not_yet_valid = false;
    bool self_signed = false;
    bool sql_server_fallback = false;            // CN SSL_Self_Signed_Fallback
    bool is_ca = false;                          // basicConstraints CA:TRUE
    std::vector<std::string> extended_key_usage; // short names; empty with has_eku: none
    bool has_eku = false;
    std::vector<std::string> key_usage; // "digitalSignature", ...
    bool has_key_usage = false;
    std::vector<std::string> unknown_critical_extensions; // OIDs
    bool has_name_constraints = false;
    std::string key_type; // "RSA", "RSA-PSS", "EC", "Ed25519", "Ed448", "DSA"
    int key_bits = 0;
    std::string curve;          // "prime256v1"
    std::string signature_hash; // "SHA256" ("" unknown)
    std::string serial_hex;     // the DER content octets, hex
    bool serial_negative = false;
    std::string sha256;
    bool on_path = false; // verification used this very certificate (not a namesake)
};

struct VerifyError {
    int depth = 0;
    int code = 0;     // X509_V_ERR_*
    std::string text; // X509_verify_cert_error_string
    std::string subject;
};

enum class NameMatch : std::uint8_t {
    San,             // a SAN entry names it
    Wildcard,        // a wildcard SAN names it
    CnOnly,          // no DNS SAN at all; the CN names it (legacy: Go and rustls refuse)
    CnRightSanWrong, // the CN names it but the SANs do not (everyone but a CN-first client refuses)
    None,
};
std::string_view to_string(NameMatch m);

struct NameCheck {
    std::string name;
    std::string kind; // "given", "short", "fqdn", "ip"
    NameMatch match = NameMatch::None;
};

struct ChainFacts {
    bool present = false;                   // a chain was seen
    std::vector<CertificateFacts> sent;     // as sent, leaf first
    std::vector<std::string> verified_path; // subjects of the path OpenSSL built (leaf first)
    bool trusted = false;                   // verified with no error at all
    std::string trust_source;               // "--ca FILE" or "system store"
    std::vector<VerifyError> verify_errors; // every error, depth first as OpenSSL met them
    bool leaf_issuer_sent = false;          // the leaf's issuer is among the sent certificates
    bool leaf_issuer_trusted = false;       // ... or in the trust store
    std::vector<NameCheck> names;           // the given name and its variants
};

// analyse_chain: the facts of `chain` (DER, leaf first; empty gives present=false) checked
// against `store` (nullptr: no verification) and the names. `now` is a Unix time (tests pin it).
ChainFacts analyse_chain(const std::vector<std::vector<std::uint8_t>>& chain, X509_STORE* store,
                         std::string trust_source, const std::string& server_name,
                         const std::string& host, long long now);

// name_variants: the given name, its short form, its FQDN form (from `fqdn_hint`, e.g. the
// certificate's first DNS name in the same host), the IP if it is one.
std::vector<std::pair<std::string, std::string>> name_variants(const std::string& server_name,
                                                               const std::string& host);

// ---- findings -----------------------------------------------------------------------------------

enum class Severity : std::uint8_t {
    Defect,  // clients that validate will fail
    Warning, // some clients fail, or will soon
    Info,    // worth knowing; no client fails because of it
};
std::string_view to_string(Severity s);

struct Finding {
    std::string family; // "cert-self-signed"
    Severity severity = Severity::Defect;
    std::string text; // plain words, for a DBA
    std::vector<std::string> evidence;
    std::vector<std::string> also; // families it may equally be (ambiguity said plainly)
    // The client stacks it hurts ("schannel", "openssl", "jsse", "go", "node", "dotnet",
    // "gnutls", "rustls"); empty: every validating client.
    std::vector<std::string> stacks;
};

std::vector<Finding> find_defects(const Observations& obs, const ChainFacts& chain);

// exit status of the command: 0 none, 1 defects or warnings
bool has_defects(const std::vector<Finding>& findings);

// ---- predictions ------------------------------------------------------------------------------

struct Prediction {
    std::string client;   // "ODBC Driver 18 (Linux, OpenSSL)"
    std::string settings; // "Encrypt=yes (the default), TrustServerCertificate=no"
    bool fails = false;
    std::string family;   // the finding that makes it fail ("" when it connects)
    std::string message;  // the error text from the knowledge base ("" none on record)
    std::string entry_id; // its id in knowledge/errors.json
};

std::vector<Prediction> predict(Protocol protocol, const std::vector<Finding>& findings,
                                const explain::KnowledgeBase& kb);

// fixes: the family's fix list in the seed's order (empty when the family has none).
std::vector<std::string> fixes(const std::string& family, const explain::KnowledgeBase& kb);

// ---- the whole ----------------------------------------------------------------------------------

struct Diagnosis {
    Observations observations;
    ChainFacts chain;
    std::vector<Finding> findings;
    std::vector<Prediction> predictions;
};

std::string render_text(const Diagnosis& d, const explain::KnowledgeBase& kb);
std::string render_json(const Diagnosis& d, const explain::KnowledgeBase& kb);

} // namespace proxy::app::diagnose
