#pragma once

// A scenario is policy only: what certificate and TLS setup the client is shown, how PRELOGIN
// is rewritten, which fault is injected, and what a correctly validating client should do. It
// never does I/O; the proxy asks it at fixed decision points.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scenarios {

// Who signs the certificate the client is shown.
enum class Issuer : std::uint8_t {
    LabCa,              // the lab CA (drivers can be told to trust it)
    Self,               // the leaf signs itself
    UntrustedCa,        // a CA minted at start that no driver trusts
    UnsentIntermediate, // an intermediate under the lab CA, not sent in the chain
    // CA rotation and chain shapes (each sends the chain a real server would):
    NewRoot,              // leaf <- intermediate <- a new root the client lacks; sends leaf, int.
    CrossSigned,          // leaf <- int <- new root; also sends the new root cross-signed by the
                          // lab CA: a client trusting the lab CA builds the path through it
    ExpiredIntermediate,  // leaf <- an expired intermediate <- lab CA; sends leaf, int.
    ExpiredRootCrossSign, // leaf <- int <- lab CA; also sends the lab CA cross-signed by an
                          // expired old root (the Let's Encrypt DST Root X3 shape)
    RetiredCa,            // a leaf from the old CA, after the client trusts only the new one
    DeepChain,            // leaf <- chain_depth intermediates <- lab CA, all sent
    NameConstrained,      // leaf <- an intermediate whose name constraints the leaf violates
};

enum class KeyKind : std::uint8_t { Rsa, EcP256, EcP384, RsaPss, Ed25519 };

// The certificate's serial number.
enum class Serial : std::uint8_t {
    Random,           // 16 random bytes, DER-positive (what the lab does by default)
    Random16Positive, // as SQL Server's fallback certificate, when its first bit falls 0
    Random16Negative, // as SQL Server's fallback certificate when its first bit falls 1: the
                      // DER INTEGER is negative (Go 1.23+ refuses to parse it)
};

struct CertificateSpec {
    Issuer issuer = Issuer::LabCa;
    std::string common_name = "{host}";
    // Placeholders: "{hostnames}" expands to every lab host name (localhost, the machine's
    // name, --hostname values), "{ips}" to 127.0.0.1, ::1 and IP --hostname values, "{host}" to
    // the first host name.
    std::vector<std::string> dns_names = {"{hostnames}"};
    std::vector<std::string> ip_addresses = {"{ips}"};
    int not_before_days = -1; // relative to the moment the lab starts
    int not_after_days = 365;
    KeyKind key = KeyKind::Rsa;
    int key_bits = 2048;
    std::string signature_hash = "sha256";
    std::vector<std::string> extended_key_usage = {"serverAuth"};
    // Exact validity in seconds relative to the lab's start, overriding the days (time
    // boundaries: expires in 60 s, expired 1 s ago).
    std::optional<long> not_before_seconds;
    std::optional<long> not_after_seconds;
    Serial serial = Serial::Random;
    bool basic_constraints_ca = false;                 // a leaf that says CA:TRUE
    std::optional<std::vector<std::string>> key_usage; // nullopt: as the key type needs;
                                                       // empty: no keyUsage extension
    bool unknown_critical_extension = false;           // a private OID marked critical
    int chain_depth = 0;                               // DeepChain: intermediates (>= 1)
    // false: a v3 certificate without any extension (no SAN, KU, EKU, basic constraints or key
    // identifiers), as SQL Server's self-generated fallback certificate.
    bool extensions = true;
    bool common_name_bmp = false;        // the CN as a BMPString, as Windows CryptoAPI writes it
    std::string organization = "tlslab"; // the subject's O; empty: none
};

struct TlsPolicy {
    // "1.0" .. "1.3"; empty: the defaults (TDS 7.x: 1.2 only, as SQL Server; TDS 8.0: 1.2-1.3).
    std::string min_version;
    std::string max_version;
    // Serve like an old server that knows only this version: the ServerHello carries it even
    // when the client offers only newer ones, so the client reports its own protocol error.
    std::string only_version;
    std::optional<int> security_level; // lower it to serve weak keys, SHA-1, old versions
    std::string ciphers;
    bool alpn = true; // TDS 8.0: select ALPN tds/8.0 when offered
    // The server's signature algorithms for the ServerKeyExchange and CertificateVerify
    // (OpenSSL list syntax, "RSA+SHA1"); empty: OpenSSL's defaults.
    std::string sigalgs;
    // Finite-field DHE group for DHE suites: "" (OpenSSL's choice) or "modp1024" (the
    // 1024-bit Oakley group 2, as old servers used).
    std::string dh_group;
    // Refuse (handshake_failure) a ClientHello that lists more signature algorithms than this,
    // as some old server stacks did.
    std::optional<int> max_client_sigalgs;
    enum class Sni : std::uint8_t {
        Ignore,  // any or no SNI gets the scenario's certificate
        Require, // no SNI: unrecognized_name
        Known,   // an SNI that is not one of the lab's names: unrecognized_name
        Select,  // the lab's names get the scenario's certificate; no SNI or another name
                 // gets the server's default certificate (for another host)
    };
    Sni sni = Sni::Ignore;
};

// Faults in the TLS handshake, for every protocol.
struct FaultBehaviour {
    bool stall_after_client_hello = false; // never answer: the client's timeout is the verdict
    int handshake_delay_ms = 0;            // hold the server's first flight this long
    bool reset_after_server_hello = false; // TCP reset once the ServerHello flight is sent
};

// PRELOGIN ENCRYPTION rewrites. nullopt: relay as is.
struct TdsBehaviour {
    std::optional<std::uint8_t> encryption_to_client; // the answer the client is shown
    std::optional<std::uint8_t> encryption_to_server; // the client's value the server is shown
    bool reset_during_handshake = false;              // TCP reset once the ClientHello has arrived
    bool omit_encryption_option = false; // the PRELOGIN answer carries no ENCRYPTION option
    // A server with Force Strict Encryption: a TDS 7.x PRELOGIN is refused as SQL Server 2022
    // does (error 17819 in its log, the connection closed).
    bool strict_only = false;
    // After LOGINACK, send ENVCHANGE routing (type 20) to this host on the same port, as Azure
    // SQL's gateway does; the login that comes back with this ServerName is not routed again.
    std::string route_to_host;
};

// PostgreSQL negotiation faults.
struct PostgresBehaviour {
    bool refuse_ssl = false;            // answer SSLRequest 'N' (clients on prefer/allow go on)
    bool strip_channel_binding = false; // drop SCRAM-SHA-256-PLUS from the server's mechanisms
};

// MySQL/MariaDB negotiation faults.
struct MysqlBehaviour {
    // show the client a greeting without CLIENT_SSL (as a server without TLS); the server leg
    // stays encrypted: PREFERRED clients go on in plaintext, REQUIRED and stricter must refuse
    bool hide_ssl = false;
};

// The protocols a scenario is meant for; a listener of another protocol does not serve it.
enum class Protocol : std::uint8_t { Tds, Postgres, Tls, Mysql };
std::string_view to_string(Protocol p);

enum class Expect : std::uint8_t { Accept, Reject };

// Dial: how a client must address the lab for the scenario's defect to show (ip-mismatch is
// only wrong for a client that dials 127.0.0.1; dial-short-cert-fqdn dials "sql01").
enum class Dial : std::uint8_t {
    Name, // the lab's first host name (localhost)
    Ip,   // 127.0.0.1
    Host, // Scenario::dial_host, a DNS name that must resolve to the lab (a hosts entry)
};

// SeedWording: what users of a client see for this scenario, where it is a client we cannot run
// here (SSMS / SqlClient on Windows, ODBC on Windows, ...), with where the text comes from.
struct SeedWording {
    std::string client; // "SSMS / SqlClient (Windows)"
    std::string text;
    std::string source; // documentation, source file or issue thread
};

struct Scenario {
    std::string name;
    std::string description; // one line
    Expect expect = Expect::Accept;
    std::string expect_detail; // what a correctly validating client says or does
    std::string family;        // the real-world error family it reproduces ("cert-untrusted")
    std::vector<SeedWording> seed;
    Dial dial = Dial::Name;
    std::string dial_host;    // Dial::Host: the name the client dials
    bool passthrough = false; // no interception: relay bytes, record PRELOGIN only
    CertificateSpec certificate;
    TlsPolicy tls;
    TdsBehaviour tds;
    PostgresBehaviour postgres;
    MysqlBehaviour mysql;
    FaultBehaviour fault;
    std::vector<Protocol> protocols = {Protocol::Tds, Protocol::Postgres, Protocol::Tls,
                                       Protocol::Mysql};
    std::string source; // file it came from ("builtin:valid.toml" or a path)
};

std::string_view to_string(Issuer i);
std::string_view to_string(Expect e);
std::string_view to_string(Dial d);
std::string_view to_string(Serial s);
std::string_view to_string(KeyKind k);
std::string_view to_string(TlsPolicy::Sni s);
bool serves(const Scenario& s, Protocol p);

// The host name a client dials for this scenario, given the lab's first host name.
std::string dial_name(const Scenario& s, const std::string& lab_host);

// The names this scenario needs resolved to the lab (dial_host, tds.route_to_host): a test or
// a user's hosts file maps them to 127.0.0.1.
std::vector<std::string> names_to_resolve(const Scenario& s);

} // namespace scenarios
