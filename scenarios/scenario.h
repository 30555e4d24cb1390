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
};

enum class KeyKind : std::uint8_t { Rsa, EcP256, EcP384 };

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
};

// PRELOGIN ENCRYPTION rewrites. nullopt: relay as is.
struct TdsBehaviour {
    std::optional<std::uint8_t> encryption_to_client; // the answer the client is shown
    std::optional<std::uint8_t> encryption_to_server; // the client's value the server is shown
    bool reset_during_handshake = false;              // TCP reset once the ClientHello has arrived
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
// only wrong for a client that dials 127.0.0.1).
enum class Dial : std::uint8_t { Name, Ip };

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
    bool passthrough = false; // no interception: relay bytes, record PRELOGIN only
    CertificateSpec certificate;
    TlsPolicy tls;
    TdsBehaviour tds;
    PostgresBehaviour postgres;
    MysqlBehaviour mysql;
    std::vector<Protocol> protocols = {Protocol::Tds, Protocol::Postgres, Protocol::Tls,
                                       Protocol::Mysql};
    std::string source; // file it came from ("builtin:valid.toml" or a path)
};

std::string_view to_string(Issuer i);
std::string_view to_string(Expect e);
std::string_view to_string(Dial d);
bool serves(const Scenario& s, Protocol p);

} // namespace scenarios
