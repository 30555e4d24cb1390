// find_defects: from what the prober saw and the chain's facts to findings in the catalogue's
// family vocabulary. Each rule says in plain words what a DBA would tell a colleague, and keeps
// the evidence (the byte, the alert, the certificate field) beside it.

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include <openssl/x509_vfy.h>

#include <proxy/app/diagnose/diagnosis.h>

namespace proxy::app::diagnose {

namespace {

std::string lower(std::string s) {
    std::ranges::transform(s, s.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::ranges::find(v, s) != v.end();
}

std::string hex_byte(std::uint8_t b) {
    static const char* d = "0123456789ABCDEF";
    return std::string("0x") + d[b >> 4] + d[b & 15];
}

std::string duration_words(long long seconds) {
    long long s = seconds < 0 ? -seconds : seconds;
    if (s < 120) {
        return std::to_string(s) + " seconds";
    }
    if (s < 2 * 3600) {
        return std::to_string(s / 60) + " minutes";
    }
    if (s < 2 * 86400) {
        return std::to_string(s / 3600) + " hours";
    }
    return std::to_string(s / 86400) + " days";
}

// The order in which a client meets the defects: negotiation, the handshake, the chain, the
// name. Predictions take the first defect that hurts a client.
constexpr std::array kFamilyOrder = {
    "encryption-not-supported",
    "prelogin-invalid",
    "strict-required",
    "connection-reset",
    "handshake-timeout",
    "tls-version",
    "tls-intolerance",
    "sni-policy",
    "tls-legacy-crypto",
    "malformed-certificate",
    "weak-key",
    "cert-key-type",
    "cert-self-signed",
    "cert-untrusted",
    "incomplete-chain",
    "cert-expired",
    "cert-not-yet-valid",
    "name-constraints",
    "cert-extensions",
    "bad-eku",
    "weak-signature",
    "chain-depth",
    "name-mismatch",
    "ca-rotation",
    "alpn-missing",
    "channel-binding",
    "encryption-required",
    "plaintext-refused",
    "other",
};

std::size_t rank(const std::string& family) {
    auto it = std::ranges::find(kFamilyOrder, family);
    return static_cast<std::size_t>(it - kFamilyOrder.begin());
}

class Collector {
  public:
    Finding& add(std::string family, Severity sev, std::string text,
                 std::vector<std::string> evidence = {}, std::vector<std::string> stacks = {}) {
        findings_.push_back(Finding{
            std::move(family), sev, std::move(text), std::move(evidence), {}, std::move(stacks)});
        return findings_.back();
    }
    bool has(std::string_view family) const {
        return std::ranges::any_of(findings_, [&](const Finding& f) { return f.family == family; });
    }
    bool has_problem(std::string_view family) const {
        return std::ranges::any_of(findings_, [&](const Finding& f) {
            return f.family == family && f.severity != Severity::Info;
        });
    }
    std::vector<Finding> take() {
        std::ranges::stable_sort(findings_, [](const Finding& a, const Finding& b) {
            if (a.severity != b.severity) {
                return a.severity < b.severity;
            }
            return rank(a.family) < rank(b.family);
        });
        return std::move(findings_);
    }

  private:
    std::vector<Finding> findings_;
};

int version_rank(const std::string& v) {
    if (v == "TLSv1") {
        return 10;
    }
    if (v == "TLSv1.1") {
        return 11;
    }
    if (v == "TLSv1.2") {
        return 12;
    }
    if (v == "TLSv1.3") {
        return 13;
    }
    return 0;
}

std::string version_words(const std::string& v) {
    return v == "TLSv1" ? "TLS 1.0" : v.starts_with("TLSv") ? "TLS " + v.substr(4) : v;
}

std::string describe_failure(const Handshake& h) {
    std::string out = std::string(to_string(h.outcome));
    if (!h.alert.empty()) {
        out += ", alert '" + h.alert + "'";
    }
    if (!h.error.empty()) {
        out += ": " + h.error;
    }
    return out;
}

void negotiation_findings(const Observations& obs, Collector& c) {
    switch (obs.protocol) {
    case Protocol::Tds: {
        const auto& t = obs.tds;
        if (!t.prelogin_answered) {
            if (t.strict_ok) {
                c.add(
                    "strict-required", Severity::Defect,
                    "The server refuses a TDS 7.x PRELOGIN and speaks only TDS 8.0 (Force Strict "
                    "Encryption): clients that are not set to Encrypt=Strict cannot connect "
                    "(the server logs error 17819).",
                    {"PRELOGIN: " + t.prelogin_error, "TDS 8.0 (TLS first) handshake: completed"});
            } else {
                c.add("other", Severity::Defect,
                      "The server did not answer a TDS PRELOGIN and did not take TDS 8.0 either: "
                      "it may not be SQL Server, or the port is wrong.",
                      {"PRELOGIN: " + t.prelogin_error});
            }
            break;
        }
        if (!t.encryption) {
            c.add("prelogin-invalid", Severity::Defect,
                  "The server's PRELOGIN answer has no ENCRYPTION option: clients cannot tell "
                  "whether to encrypt and give up (or, worse, go on in clear).",
                  {"PRELOGIN answer without option 0x01"});
            break;
        }
        std::uint8_t e = *t.encryption;
        if (e == 0x02) {
            c.add("encryption-not-supported", Severity::Defect,
                  "The server answers that it cannot encrypt (ENCRYPT_NOT_SUP): a client that "
                  "requires encryption must refuse; some drivers log in in clear instead.",
                  {"PRELOGIN ENCRYPTION = 0x02 (NOT_SUP)"});
        } else if (e == 0x00) {
            c.add("encryption-not-supported", Severity::Defect,
                  "The server answers ENCRYPTION OFF to a client that asked for encryption: only "
                  "the login would be encrypted, everything after it in clear.",
                  {"PRELOGIN ENCRYPTION = 0x00 (OFF) to a request of 0x01 (ON)"});
        } else if (e == 0x03) {
            c.add("encryption-required", Severity::Info,
                  "The server requires encryption (Force Encryption): clients that can encrypt go "
                  "on; a client configured not to encrypt must give up.",
                  {"PRELOGIN ENCRYPTION = 0x03 (REQ)"});
        } else if (e != 0x01) {
            c.add("prelogin-invalid", Severity::Defect,
                  "The server's PRELOGIN answer carries an ENCRYPTION value no client knows (" +
                      hex_byte(e) + "): drivers refuse the answer or misread it.",
                  {"PRELOGIN ENCRYPTION = " + hex_byte(e)});
        }
        if (t.strict_tried && t.strict_ok) {
            if (t.strict_alpn.empty()) {
                c.add("alpn-missing", Severity::Warning,
                      "TDS 8.0: the server completes TLS without selecting ALPN tds/8.0; a "
                      "client that insists on the selection refuses.",
                      {"ALPN offered: tds/8.0; selected: none"});
            }
            bool has13 = contains(t.strict_versions, "TLSv1.3");
            bool has12 = contains(t.strict_versions, "TLSv1.2");
            if (has13 && !has12) {
                c.add("tls-version", Severity::Warning,
                      "TDS 8.0 with TLS 1.3 only: clients or operating systems without TLS 1.3 "
                      "(Windows Server 2019 and older, old OpenSSL) cannot connect in strict mode.",
                      {"strict mode accepts: TLS 1.3 only"});
            } else if (has12 && !has13) {
                c.add("tls-version", Severity::Info,
                      "TDS 8.0 with TLS 1.2 only: works, but TLS 1.3 is what strict mode is "
                      "meant for.",
                      {"strict mode accepts: TLS 1.2, not TLS 1.3"});
            }
        }
        break;
    }
    case Protocol::Postgres: {
        const auto& p = obs.postgres;
        if (p.ssl_answer == 'N') {
            c.add("encryption-not-supported", Severity::Defect,
                  "The server answers SSLRequest with 'N' (no SSL): clients on sslmode=require or "
                  "stricter refuse; prefer and allow go on in clear and send the password in "
                  "clear.",
                  {"SSLRequest answer: 'N'"});
        } else if (p.ssl_answer != 'S' && !p.direct_ok) {
            c.add("other", Severity::Defect,
                  "The server did not answer the SSLRequest as PostgreSQL does: it may not be "
                  "PostgreSQL, or the port is wrong.",
                  {p.ssl_answer == 0 ? std::string("no answer")
                                     : std::string("answer byte '") + p.ssl_answer + "'"});
        }
        if (!p.sasl_mechanisms.empty() && !contains(p.sasl_mechanisms, "SCRAM-SHA-256-PLUS")) {
            std::string list;
            for (const auto& m : p.sasl_mechanisms) {
                list += (list.empty() ? "" : ", ") + m;
            }
            c.add("channel-binding", Severity::Info,
                  "Over TLS the server does not offer SCRAM-SHA-256-PLUS: clients on "
                  "channel_binding=require refuse, and channel binding cannot protect the "
                  "others.",
                  {"SASL mechanisms: " + list});
        }
        break;
    }
    case Protocol::Mysql: {
        const auto& m = obs.mysql;
        if (!m.greeting) {
            c.add("other", Severity::Defect,
                  "The server sent no MySQL greeting: it may not be MySQL/MariaDB, or the port is "
                  "wrong.");
            break;
        }
        if (!m.client_ssl) {
            c.add("encryption-not-supported", Severity::Defect,
                  "The server's greeting does not offer TLS (no CLIENT_SSL): clients on ssl-mode "
                  "REQUIRED or stricter refuse; PREFERRED clients go on in clear.",
                  {"greeting capabilities without CLIENT_SSL", "server " + m.server_version});
        }
        if (m.plaintext_error && *m.plaintext_error == 3159) {
            c.add("plaintext-refused", Severity::Info,
                  "The server refuses logins without TLS (require_secure_transport): clients that "
                  "do not encrypt get error 3159.",
                  {"login in clear: ERR 3159 " + m.plaintext_message});
        }
        break;
    }
    }
}

void handshake_findings(const Observations& obs, Collector& c) {
    const Handshake* base = obs.handshake("baseline");
    if (base == nullptr || base->outcome == Outcome::NotAttempted) {
        return;
    }
    const Handshake* ok = obs.first_ok();
    switch (base->outcome) {
    case Outcome::Timeout:
        c.add("handshake-timeout", Severity::Defect,
              "The server never answers the TLS ClientHello: clients wait for their own timeout "
              "and report a timeout or a pre-login handshake error.",
              {"baseline handshake: " + describe_failure(*base)});
        break;
    case Outcome::Reset:
    case Outcome::Closed:
        c.add("connection-reset", Severity::Defect,
              std::string("The server ") + (base->outcome == Outcome::Reset ? "resets" : "closes") +
                  " the connection during the TLS handshake: clients report a connection reset "
                  "(or 'forcibly closed') during the pre-login handshake.",
              {"baseline handshake: " + describe_failure(*base)});
        break;
    case Outcome::Failed: {
        const Handshake* few = obs.handshake("few-sigalgs");
        const Handshake* nosni = obs.handshake("no-sni");
        if (few != nullptr && few->outcome == Outcome::Ok) {
            c.add("tls-intolerance", Severity::Defect,
                  "The server refuses a ClientHello with the usual long list of signature "
                  "algorithms and accepts a short one: an old TLS stack's intolerance; current "
                  "clients cannot connect.",
                  {"baseline: " + describe_failure(*base),
                   "short signature_algorithms list: completed"});
        } else if (nosni != nullptr && nosni->outcome == Outcome::Ok) {
            c.add("sni-policy", Severity::Defect,
                  "The server refuses the name '" + obs.server_name +
                      "' in SNI (it knows other names only): clients that send it cannot "
                      "connect.",
                  {"with SNI " + obs.server_name + ": " + describe_failure(*base),
                   "without SNI: completed"});
        } else if (ok == nullptr) {
            c.add("other", Severity::Defect,
                  "No TLS handshake with the server completed, whatever the version or settings.",
                  {"baseline: " + describe_failure(*base)});
        }
        break;
    }
    case Outcome::Ok:
        if (base->elapsed_ms > 1000) {
            c.add("handshake-timeout", Severity::Warning,
                  "The TLS handshake is slow (" +
                      std::to_string(static_cast<long>(base->elapsed_ms)) +
                      " ms): clients with a short login or pre-login timeout may give up.",
                  {"baseline handshake took " +
                   std::to_string(static_cast<long>(base->elapsed_ms)) + " ms"});
        }
        break;
    case Outcome::NotAttempted:
        break;
    }
    // A reset on another probe (a reset racing a TLS 1.3 flight may spare the baseline).
    if (base->outcome != Outcome::Reset && base->outcome != Outcome::Closed) {
        // Only resets (a close can be a server's way to refuse a version), and only in the
        // series on the protocol's own transport (not the TDS 8.0 or direct-SSL attempts,
        // which a server without them closes).
        for (const auto& h : obs.handshakes) {
            if (h.outcome == Outcome::Reset && h.label != "tds8" && h.label != "pg-direct" &&
                !h.label.starts_with("tds8-")) {
                c.add("connection-reset", Severity::Defect,
                      "The server resets or closes some TLS handshakes: clients then report a "
                      "connection reset (or 'forcibly closed') during the pre-login handshake.",
                      {h.label + " handshake: " + describe_failure(h)});
                break;
            }
        }
    }
    // SNI policy on a handshake that worked with SNI.
    const Handshake* nosni = obs.handshake("no-sni");
    if (base->outcome == Outcome::Ok && nosni != nullptr) {
        if (nosni->outcome == Outcome::Failed) {
            c.add("sni-policy", Severity::Warning,
                  "The server requires SNI: a client that sends none (one that dials an IP "
                  "address or a short name, as JSSE does for names without a dot) is refused.",
                  {"without SNI: " + describe_failure(*nosni)}, {"jsse"});
        } else if (nosni->outcome == Outcome::Ok && !nosni->chain.empty() && !base->chain.empty() &&
                   nosni->chain.front() != base->chain.front()) {
            c.add("sni-policy", Severity::Warning,
                  "The server chooses its certificate by SNI: a client that sends no SNI (an IP "
                  "address, a short name with JSSE) gets another certificate.",
                  {"the certificate without SNI differs from the one for " + obs.server_name},
                  {"jsse"});
        }
    }
    // Versions.
    std::vector<std::string> accepted;
    bool versions_clear = true; // every version probe either completed or was refused
    for (const char* label : {"tls1.0", "tls1.1", "tls1.2", "tls1.3"}) {
        const Handshake* h = obs.handshake(label);
        if (h != nullptr && h->outcome == Outcome::Ok) {
            accepted.push_back(h->version);
        } else if (h != nullptr && h->outcome != Outcome::Failed) {
            versions_clear = false;
        }
    }
    if (!accepted.empty() && versions_clear) {
        int best = 0;
        for (const auto& v : accepted) {
            best = std::max(best, version_rank(v));
        }
        std::string list;
        for (const auto& v : accepted) {
            list += (list.empty() ? "" : ", ") + version_words(v);
        }
        if (best < 12) {
            c.add("tls-version", Severity::Defect,
                  "The server speaks only " + list +
                      ": current clients require TLS 1.2 or later and refuse it ('unsupported "
                      "protocol', 'no common algorithm').",
                  {"accepted: " + list});
        } else if (best == 13 && accepted.size() == 1) {
            c.add("tls-version", Severity::Warning,
                  "The server speaks only TLS 1.3: clients without TLS 1.3 (older Windows, old "
                  "OpenSSL or Java 8 builds) cannot connect.",
                  {"accepted: TLS 1.3 only"});
        } else if (version_rank(accepted.front()) < 12) {
            c.add("tls-version", Severity::Info,
                  "The server still accepts " + version_words(accepted.front()) +
                      "; current clients use TLS 1.2+, so nothing fails, but old versions should "
                      "be switched off.",
                  {"accepted: " + list});
        }
    }
    // The crypto a server picks when a client offers everything (security level 0).
    if (ok != nullptr && version_rank(ok->version) <= 12 && ok->outcome == Outcome::Ok) {
        if (ok->key_exchange == "RSA") {
            c.add("tls-legacy-crypto", Severity::Defect,
                  "The server chooses RSA key exchange (no forward secrecy; RFC 9325): Go 1.22+ "
                  "and rustls no longer offer it and cannot connect.",
                  {"suite " + ok->cipher}, {"go", "rustls"});
        }
        if (ok->key_exchange.starts_with("DHE ")) {
            int bits = std::atoi(ok->key_exchange.c_str() + 4);
            if (bits > 0 && bits < 2048) {
                c.add("tls-legacy-crypto", Severity::Defect,
                      "The server's DHE group is " + std::to_string(bits) +
                          " bits: OpenSSL at security level 2 refuses it ('dh key too small'); "
                          "Go and rustls have no DHE at all.",
                      {"key exchange " + ok->key_exchange, "suite " + ok->cipher},
                      {"openssl", "dotnet", "go", "rustls"});
            }
        }
        std::string sig = lower(ok->signature_hash);
        // Before TLS 1.2 the handshake signature is always MD5+SHA-1: the version says it.
        if (version_rank(ok->version) == 12 && (sig == "sha1" || sig == "md5")) {
            c.add("tls-legacy-crypto", Severity::Defect,
                  "The server signs its handshake (ServerKeyExchange) with " + ok->signature_hash +
                      ": OpenSSL at security level 1 or more and Go 1.25+ refuse it.",
                  {"handshake signature hash " + ok->signature_hash + " in " +
                   version_words(ok->version)},
                  {"openssl", "dotnet", "go", "rustls", "node"});
        }
        if (ok->cipher.find("DES-CBC3") != std::string::npos ||
            ok->cipher.find("RC4") != std::string::npos) {
            c.add("tls-legacy-crypto", Severity::Defect,
                  "The server chooses a broken suite (" + ok->cipher +
                      "): current clients do not offer it.",
                  {"suite " + ok->cipher}, {"openssl", "dotnet", "go", "rustls", "node"});
        }
    }
    const Handshake* modern = obs.handshake("seclevel2");
    if (base->outcome == Outcome::Ok && modern != nullptr && modern->outcome == Outcome::Failed &&
        !c.has_problem("tls-version") && !c.has_problem("tls-legacy-crypto") &&
        !c.has_problem("tls-intolerance")) {
        c.add("tls-legacy-crypto", Severity::Defect,
              "A client at OpenSSL's default security level 2 (ODBC 18, libpq, Python on current "
              "Linux) cannot complete the handshake; a permissive one can.",
              {"security level 2: " + describe_failure(*modern)}, {"openssl", "dotnet"});
    }
}

bool is_trust_error(int code) {
    switch (code) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
        return true;
    default:
        return false;
    }
}

std::string verify_evidence(const VerifyError& e) {
    return "verify error " + std::to_string(e.code) + " at depth " + std::to_string(e.depth) +
           ": " + e.text + (e.subject.empty() ? "" : " (" + e.subject + ")");
}

void certificate_findings(const Observations& obs, const ChainFacts& ch, Collector& c) {
    if (!ch.present) {
        return;
    }
    const CertificateFacts& leaf = ch.sent.front();
    std::string trust = ch.trust_source.empty() ? "the trust store" : ch.trust_source;
    if (leaf.serial_negative) {
        c.add("malformed-certificate", Severity::Defect,
              "The certificate's serial number is negative in DER: Go 1.23+ (go-mssqldb, pgx, "
              "go-sql-driver/mysql) refuse to parse it, even with TrustServerCertificate.",
              {"serial " + leaf.serial_hex}, {"go"});
    }
    if (leaf.self_signed) {
        if (leaf.sql_server_fallback) {
            c.add("cert-self-signed", ch.trusted ? Severity::Warning : Severity::Defect,
                  "The server shows SQL Server's own fallback certificate (CN "
                  "SSL_Self_Signed_Fallback), made at start-up because no certificate is "
                  "configured: no client can validate it.",
                  {"subject " + leaf.subject, "self-signed, no SAN"});
        } else if (!ch.trusted) {
            c.add("cert-self-signed", Severity::Defect,
                  "The certificate signs itself and is not in " + trust +
                      ": validating clients refuse it.",
                  {"subject " + leaf.subject, "issuer = subject"});
        }
    }
    // What verification says.
    std::set<std::string> done;
    for (const auto& e : ch.verify_errors) {
        switch (e.code) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            if (done.insert("expired" + std::to_string(e.depth)).second) {
                c.add("cert-expired", Severity::Defect,
                      e.depth == 0
                          ? "The server's certificate has expired (" + leaf.not_after + ")."
                          : "A CA certificate in the chain has expired: '" + e.subject +
                                "'. Clients refuse the whole chain.",
                      {verify_evidence(e)});
            }
            break;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            if (done.insert("nyv" + std::to_string(e.depth)).second) {
                c.add("cert-not-yet-valid", Severity::Defect,
                      "A certificate is not valid yet: '" + e.subject +
                          "' (check the server's or the CA's clock).",
                      {verify_evidence(e)});
            }
            break;
        case X509_V_ERR_PERMITTED_VIOLATION:
        case X509_V_ERR_EXCLUDED_VIOLATION:
        case X509_V_ERR_SUBTREE_MINMAX:
        case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
        case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
        case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
            if (done.insert("nc").second) {
                c.add("name-constraints", Severity::Defect,
                      "The server's names are outside what its issuing CA may certify (name "
                      "constraints): clients refuse the chain.",
                      {verify_evidence(e)});
            }
            break;
        case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
            if (done.insert("crit").second && leaf.unknown_critical_extensions.empty()) {
                c.add("cert-extensions", Severity::Defect,
                      "A certificate in the chain has a critical extension clients do not know.",
                      {verify_evidence(e)});
            }
            break;
        case X509_V_ERR_INVALID_PURPOSE:
            break; // judged from the EKU below
        case X509_V_ERR_PATH_LENGTH_EXCEEDED:
            if (done.insert("path").second) {
                c.add("chain-depth", Severity::Defect,
                      "The chain is longer than a CA's pathLenConstraint allows.",
                      {verify_evidence(e)});
            }
            break;
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
            if (done.insert("sig").second) {
                c.add("malformed-certificate", Severity::Defect,
                      "A signature in the chain does not verify.", {verify_evidence(e)});
            }
            break;
        default:
            if (!is_trust_error(e.code) || leaf.self_signed) {
                break;
            }
            if (done.insert("trust").second) {
                bool leaf_only = e.depth == 0 && !ch.leaf_issuer_sent && !ch.leaf_issuer_trusted;
                if (leaf_only) {
                    std::string issuer = lower(leaf.issuer);
                    bool looks_intermediate = issuer.find("intermediate") != std::string::npos ||
                                              issuer.find("issuing") != std::string::npos;
                    Finding& f =
                        c.add(looks_intermediate ? "incomplete-chain" : "cert-untrusted",
                              Severity::Defect,
                              "The server sends its certificate without its issuer '" +
                                  leaf.issuer + "', and " + trust +
                                  " does not have it either: if that is an intermediate CA, the "
                                  "server must send it (an incomplete chain); if it is a root, the "
                                  "clients do not trust it.",
                              {verify_evidence(e),
                               std::to_string(ch.sent.size()) + " certificate(s) sent"});
                    f.also = {looks_intermediate ? "cert-untrusted" : "incomplete-chain"};
                } else {
                    c.add("cert-untrusted", Severity::Defect,
                          "The chain does not lead to a root in " + trust +
                              ": validating clients refuse it.",
                          {verify_evidence(e)});
                }
            }
            break;
        }
    }
    // Facts that matter whatever the store says.
    if (leaf.expired && !c.has("cert-expired")) {
        c.add("cert-expired", Severity::Defect,
              "The server's certificate expired " + duration_words(leaf.seconds_left) + " ago (" +
                  leaf.not_after + ").",
              {"notAfter " + leaf.not_after});
    } else if (!leaf.expired && leaf.seconds_left < 7 * 86400) {
        c.add("cert-expired", Severity::Warning,
              "The server's certificate expires in " + duration_words(leaf.seconds_left) + " (" +
                  leaf.not_after + "): renew it now.",
              {"notAfter " + leaf.not_after});
    }
    if (leaf.not_yet_valid && !c.has("cert-not-yet-valid")) {
        c.add("cert-not-yet-valid", Severity::Defect,
              "The server's certificate is not valid before " + leaf.not_before +
                  " (check the clock).",
              {"notBefore " + leaf.not_before});
    }
    if (ch.trusted) {
        for (std::size_t i = 1; i < ch.sent.size(); ++i) {
            const auto& ca = ch.sent[i];
            if (ca.expired) {
                c.add("ca-rotation", Severity::Warning,
                      "The chain carries an expired CA certificate '" + ca.subject +
                          "' (issued by '" + ca.issuer +
                          "'), a cross-sign left over from a CA rotation: clients that build "
                          "their path through it rather than through their own root fail.",
                      {"sent certificate " + std::to_string(i) + " expired " + ca.not_after});
            } else if (!ca.on_path && !ca.self_signed &&
                       std::ranges::find(ch.verified_path, ca.subject) != ch.verified_path.end()) {
                c.add("ca-rotation", Severity::Warning,
                      "The server sends '" + ca.subject + "' cross-signed by '" + ca.issuer +
                          "' beside the path to your root (a CA rotation, the DST Root X3 "
                          "shape): clients that build their path through the cross-sign (older "
                          "OpenSSL, GnuTLS, Android) fail once that old root has expired.",
                      {"sent certificate " + std::to_string(i) +
                       " not on the verified path; "
                       "the store has its subject as a root"});
            } else if (!ca.self_signed && lower(ca.common_name).find("root") != std::string::npos) {
                c.add("ca-rotation", Severity::Warning,
                      "The chain carries the root '" + ca.subject + "' cross-signed by '" +
                          ca.issuer +
                          "' (a CA rotation): it works for clients that trust the old root; "
                          "clients that trust only one of the two roots may build another path "
                          "or fail.",
                      {"sent certificate " + std::to_string(i) + ": subject " + ca.subject +
                       ", issuer " + ca.issuer});
            }
        }
    }
    if (leaf.has_eku && !contains(leaf.extended_key_usage, "serverAuth") &&
        !contains(leaf.extended_key_usage, "anyExtendedKeyUsage")) {
        std::string list;
        for (const auto& u : leaf.extended_key_usage) {
            list += (list.empty() ? "" : ", ") + u;
        }
        c.add("bad-eku", Severity::Defect,
              "The certificate is not for TLS servers: its extended key usage lacks serverAuth.",
              {"EKU: " + (list.empty() ? std::string("(empty)") : list)});
    }
    if (leaf.has_key_usage && !contains(leaf.key_usage, "digitalSignature") &&
        leaf.key_type != "RSA") {
        c.add("cert-extensions", Severity::Defect,
              "The certificate's keyUsage does not allow digitalSignature, which its key needs "
              "to sign the handshake.",
              {"keyUsage: " +
               (leaf.key_usage.empty() ? std::string("(none)") : leaf.key_usage.front())});
    } else if (leaf.has_key_usage && !contains(leaf.key_usage, "digitalSignature")) {
        std::string list;
        for (const auto& u : leaf.key_usage) {
            list += (list.empty() ? "" : ", ") + u;
        }
        c.add("cert-extensions", Severity::Defect,
              "The certificate's keyUsage lacks digitalSignature: TLS 1.3 and every ECDHE suite "
              "need the key to sign, so clients that check keyUsage refuse it.",
              {"keyUsage: " + (list.empty() ? std::string("(none)") : list)});
    }
    if (leaf.is_ca) {
        c.add("cert-extensions", Severity::Warning,
              "The server's certificate says CA:TRUE (basicConstraints): RFC 5280 allows it, the "
              "CA/Browser Forum forbids it, and rustls/webpki refuses a CA certificate as a "
              "server certificate.",
              {"basicConstraints CA:TRUE on the leaf"}, {"rustls"});
    }
    if (!leaf.unknown_critical_extensions.empty()) {
        c.add("cert-extensions", Severity::Defect,
              "The certificate has a critical extension no client knows: RFC 5280 requires "
              "clients to refuse it.",
              {"critical extension " + leaf.unknown_critical_extensions.front()});
    }
    // Keys.
    if ((leaf.key_type == "RSA" || leaf.key_type == "RSA-PSS" || leaf.key_type == "DSA") &&
        leaf.key_bits > 0 && leaf.key_bits < 2048) {
        c.add("weak-key", Severity::Defect,
              "The certificate's key is " + leaf.key_type + " " + std::to_string(leaf.key_bits) +
                  " bits: OpenSSL at security level 2 (ODBC 18, libpq, Python on current Linux) "
                  "refuses it ('EE certificate key too weak').",
              {"key " + leaf.key_type + " " + std::to_string(leaf.key_bits)},
              {"openssl", "dotnet"});
    } else if (leaf.key_type == "RSA" && leaf.key_bits > 3072) {
        c.add("cert-key-type", Severity::Info,
              "The certificate's key is RSA " + std::to_string(leaf.key_bits) +
                  ": every current client takes it; handshakes cost the server more.",
              {"key RSA " + std::to_string(leaf.key_bits)});
    } else if (leaf.key_type == "EC") {
        c.add("cert-key-type", Severity::Info,
              "The certificate's key is ECDSA (" + leaf.curve +
                  "): current clients take it; very old ones (TLS stacks without ECC) do not.",
              {"key EC " + leaf.curve});
    } else if (leaf.key_type == "RSA-PSS") {
        c.add("cert-key-type", Severity::Warning,
              "The certificate's key is RSA-PSS (id-RSASSA-PSS): Go's crypto/x509 and several "
              "TLS stacks cannot use it as a server key.",
              {"key RSA-PSS " + std::to_string(leaf.key_bits)}, {"go", "schannel"});
    } else if (leaf.key_type == "Ed25519" || leaf.key_type == "Ed448") {
        c.add("cert-key-type", Severity::Warning,
              "The certificate's key is " + leaf.key_type +
                  ": SChannel (SSMS, SqlClient and ODBC on Windows) and older stacks cannot use "
                  "it.",
              {"key " + leaf.key_type}, {"schannel"});
    } else if (leaf.key_type == "DSA" || leaf.key_type == "other") {
        c.add("cert-key-type", Severity::Defect,
              "The certificate's key type (" + leaf.key_type + ") is not usable for TLS today.",
              {"key " + leaf.key_type});
    }
    // Signature hashes (a root's own signature does not matter).
    for (std::size_t i = 0; i < ch.sent.size(); ++i) {
        const auto& cert = ch.sent[i];
        std::string h = lower(cert.signature_hash);
        if (!cert.self_signed && (h == "sha1" || h == "md5")) {
            c.add("weak-signature", Severity::Defect,
                  std::string(i == 0 ? "The server's certificate" : "A CA certificate") +
                      " is signed with " + cert.signature_hash +
                      ": OpenSSL ('CA signature digest algorithm too weak'), Go and .NET refuse "
                      "it.",
                  {"certificate " + std::to_string(i) + " " + cert.subject + ": signature " +
                   cert.signature_hash},
                  {"openssl", "dotnet", "go", "node", "rustls", "gnutls", "schannel"});
            break;
        }
    }
    // Depth: JSSE refuses more than 10 certificates (jdk.tls.maxCertificateChainLength).
    std::size_t depth = std::max(ch.sent.size(), ch.verified_path.size());
    if (ch.sent.size() > 10) {
        c.add("chain-depth", Severity::Warning,
              "The server sends " + std::to_string(ch.sent.size()) +
                  " certificates: Java (JSSE) refuses more than 10 "
                  "(jdk.tls.maxCertificateChainLength).",
              {std::to_string(ch.sent.size()) + " certificates sent"}, {"jsse"});
    } else if (depth >= 6) {
        c.add("chain-depth", Severity::Info,
              "The chain is " + std::to_string(depth) +
                  " certificates deep: unusual, and near the limits of some clients.",
              {std::to_string(depth) + " certificates in the path"});
    }
    // The name.
    for (const auto& n : ch.names) {
        bool given = n.kind == "given";
        switch (n.match) {
        case NameMatch::San:
            break;
        case NameMatch::Wildcard:
            if (given) {
                c.add("name-mismatch", Severity::Info,
                      "The certificate names '" + n.name +
                          "' through a wildcard: clients accept it (one label only).",
                      {"matched by a wildcard SAN"});
            }
            break;
        case NameMatch::CnOnly:
            if (given) {
                c.add("name-mismatch", Severity::Warning,
                      "The certificate has no subjectAltName: '" + n.name +
                          "' is in the CN only, which Go and rustls no longer accept.",
                      {"CN " + leaf.common_name + ", no SAN"}, {"go", "rustls"});
            }
            break;
        case NameMatch::CnRightSanWrong:
        case NameMatch::None:
            if (given) {
                std::string names;
                for (const auto& d : leaf.dns_names) {
                    names += (names.empty() ? "" : ", ") + d;
                }
                for (const auto& d : leaf.ip_addresses) {
                    names += (names.empty() ? "" : ", ") + d;
                }
                c.add("name-mismatch", Severity::Defect,
                      "The certificate does not name '" + n.name + "', the name clients dial" +
                          (n.match == NameMatch::CnRightSanWrong
                               ? ": its CN does, but clients look only at the subjectAltName "
                                 "when there is one."
                               : "."),
                      {"CN " + leaf.common_name,
                       "SAN " + (names.empty() ? std::string("(none)") : names)});
            } else {
                c.add("name-mismatch", Severity::Info,
                      "Dialled as '" + n.name + "' (the " + n.kind +
                          " form), the certificate would not match.",
                      {"no SAN for " + n.name});
            }
            break;
        }
    }
    (void)obs;
}

void alpn_findings(const Observations& obs, Collector& c) {
    if (obs.protocol != Protocol::Postgres) {
        return;
    }
    const Handshake* base = obs.handshake("baseline");
    if (base != nullptr && base->outcome == Outcome::Ok && base->alpn.empty()) {
        c.add("alpn-missing", Severity::Info,
              "The server does not select ALPN 'postgresql' (a server before PostgreSQL 17): "
              "negotiated SSL works; a client on sslnegotiation=direct refuses it.",
              {"ALPN offered: postgresql; selected: none"});
    }
}

} // namespace

std::vector<Finding> find_defects(const Observations& obs, const ChainFacts& chain) {
    Collector c;
    if (!obs.connected) {
        return {};
    }
    negotiation_findings(obs, c);
    handshake_findings(obs, c);
    certificate_findings(obs, chain, c);
    alpn_findings(obs, c);
    return c.take();
}

bool has_defects(const std::vector<Finding>& findings) {
    return std::ranges::any_of(findings,
                               [](const Finding& f) { return f.severity != Severity::Info; });
}

const Handshake* Observations::handshake(std::string_view label) const {
    for (const auto& h : handshakes) {
        if (h.label == label) {
            return &h;
        }
    }
    return nullptr;
}

const Handshake* Observations::first_ok() const {
    for (const auto& h : handshakes) {
        if (h.outcome == Outcome::Ok && !h.chain.empty()) {
            return &h;
        }
    }
    return nullptr;
}

std::string_view to_string(Protocol p) {
    switch (p) {
    case Protocol::Tds:
        return "tds";
    case Protocol::Postgres:
        return "postgres";
    case Protocol::Mysql:
        return "mysql";
    }
    return "tds";
}

std::string_view to_string(Outcome o) {
    switch (o) {
    case Outcome::Ok:
        return "ok";
    case Outcome::Failed:
        return "failed";
    case Outcome::Reset:
        return "reset";
    case Outcome::Closed:
        return "closed";
    case Outcome::Timeout:
        return "timeout";
    case Outcome::NotAttempted:
        return "not-attempted";
    }
    return "failed";
}

std::string_view to_string(Severity s) {
    switch (s) {
    case Severity::Defect:
        return "defect";
    case Severity::Warning:
        return "warning";
    case Severity::Info:
        return "info";
    }
    return "info";
}

} // namespace proxy::app::diagnose
