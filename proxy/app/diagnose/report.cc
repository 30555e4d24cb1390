// render_text / render_json: the diagnosis for a DBA (plain words, findings first) and for a
// program (a versioned JSON object; docs/diagnose.md describes it).

#include <sstream>

#include <nlohmann/json.hpp>

#include <proxy/app/diagnose/diagnosis.h>

namespace proxy::app::diagnose {

namespace {

using nlohmann::json;

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : std::string(sep)) + s;
    }
    return out;
}

std::string encryption_words(std::uint8_t e) {
    switch (e) {
    case 0x00:
        return "OFF (0x00)";
    case 0x01:
        return "ON (0x01)";
    case 0x02:
        return "NOT_SUP (0x02)";
    case 0x03:
        return "REQ (0x03, Force Encryption)";
    default: {
        static const char* d = "0123456789ABCDEF";
        return std::string("unknown (0x") + d[e >> 4] + d[e & 15] + ")";
    }
    }
}

std::vector<std::string> accepted_versions(const Observations& o) {
    std::vector<std::string> out;
    for (const char* label : {"tls1.0", "tls1.1", "tls1.2", "tls1.3"}) {
        const Handshake* h = o.handshake(label);
        if (h != nullptr && h->outcome == Outcome::Ok) {
            out.push_back(h->version);
        }
    }
    return out;
}

std::string negotiation_text(const Observations& o) {
    std::ostringstream s;
    switch (o.protocol) {
    case Protocol::Tds:
        if (o.tds.prelogin_answered) {
            s << "  PRELOGIN ENCRYPTION: "
              << (o.tds.encryption ? encryption_words(*o.tds.encryption) : "missing");
            if (!o.tds.server_version.empty()) {
                s << "; server version " << o.tds.server_version;
            }
            s << "\n";
        } else {
            s << "  PRELOGIN: no answer (" << o.tds.prelogin_error << ")\n";
        }
        if (o.tds.strict_tried) {
            s << "  TDS 8.0 strict (TLS first): "
              << (o.tds.strict_ok ? "yes, ALPN " +
                                        (o.tds.strict_alpn.empty() ? std::string("not selected")
                                                                   : o.tds.strict_alpn) +
                                        ", " + join(o.tds.strict_versions, ", ")
                                  : std::string("no"))
              << "\n";
        }
        break;
    case Protocol::Postgres:
        s << "  SSLRequest: "
          << (o.postgres.ssl_answer == 'S'   ? "'S' (SSL on)"
              : o.postgres.ssl_answer == 'N' ? "'N' (SSL refused)"
                                             : "no usable answer")
          << "\n";
        if (o.postgres.direct_tried) {
            s << "  direct SSL (PostgreSQL 17+): " << (o.postgres.direct_ok ? "yes" : "no") << "\n";
        }
        if (!o.postgres.auth_request.empty()) {
            s << "  authentication asked: " << o.postgres.auth_request;
            if (!o.postgres.sasl_mechanisms.empty()) {
                s << " (" << join(o.postgres.sasl_mechanisms, ", ") << ")";
            }
            s << "\n";
        }
        break;
    case Protocol::Mysql:
        if (o.mysql.greeting) {
            s << "  greeting: " << o.mysql.server_version << (o.mysql.mariadb ? " (MariaDB)" : "")
              << ", CLIENT_SSL " << (o.mysql.client_ssl ? "offered" : "NOT offered") << "\n";
        } else {
            s << "  greeting: none\n";
        }
        if (o.mysql.plaintext_tried) {
            s << "  login in clear: "
              << (o.mysql.plaintext_error
                      ? "refused, error " + std::to_string(*o.mysql.plaintext_error) + " " +
                            o.mysql.plaintext_message
                      : std::string("not refused before authentication"))
              << "\n";
        }
        break;
    }
    return s.str();
}

json cert_json(const CertificateFacts& c) {
    return json{{"subject", c.subject},
                {"issuer", c.issuer},
                {"common_name", c.common_name},
                {"dns_names", c.dns_names},
                {"ip_addresses", c.ip_addresses},
                {"not_before", c.not_before},
                {"not_after", c.not_after},
                {"seconds_left", c.seconds_left},
                {"days_left", c.seconds_left / 86400},
                {"expired", c.expired},
                {"not_yet_valid", c.not_yet_valid},
                {"self_signed", c.self_signed},
                {"sql_server_fallback", c.sql_server_fallback},
                {"basic_constraints_ca", c.is_ca},
                {"extended_key_usage", c.has_eku ? json(c.extended_key_usage) : json(nullptr)},
                {"key_usage", c.has_key_usage ? json(c.key_usage) : json(nullptr)},
                {"unknown_critical_extensions", c.unknown_critical_extensions},
                {"name_constraints", c.has_name_constraints},
                {"key_type", c.key_type},
                {"key_bits", c.key_bits},
                {"curve", c.curve},
                {"signature_hash", c.signature_hash},
                {"serial", c.serial_hex},
                {"serial_negative", c.serial_negative},
                {"sha256", c.sha256}};
}

} // namespace

std::string render_text(const Diagnosis& d, const explain::KnowledgeBase& kb) {
    const Observations& o = d.observations;
    std::ostringstream s;
    s << "tlslab diagnose " << o.host << ":" << o.port << " (" << to_string(o.protocol)
      << "), checking the name '" << o.server_name << "'\n\n";
    if (!o.connected) {
        s << "Could not connect: " << o.connect_error << "\n";
        return s.str();
    }
    int defects = 0;
    int warnings = 0;
    for (const auto& f : d.findings) {
        defects += f.severity == Severity::Defect ? 1 : 0;
        warnings += f.severity == Severity::Warning ? 1 : 0;
    }
    if (defects == 0 && warnings == 0) {
        s << "No defect found.\n";
    } else {
        s << defects << " defect(s), " << warnings << " warning(s):\n";
    }
    for (const auto& f : d.findings) {
        if (f.severity == Severity::Info) {
            continue;
        }
        s << "  - [" << to_string(f.severity) << "] " << f.text << "  (" << f.family << ")\n";
    }
    s << "\nWhat the server asks for:\n" << negotiation_text(o);

    const ChainFacts& ch = d.chain;
    s << "\nCertificate:\n";
    if (!ch.present) {
        s << "  none seen (no TLS handshake completed)\n";
    } else {
        const auto& leaf = ch.sent.front();
        s << "  subject: " << leaf.subject << "\n";
        s << "  names (SAN): "
          << (leaf.dns_names.empty() && leaf.ip_addresses.empty()
                  ? std::string("none")
                  : join(leaf.dns_names, ", ") +
                        (leaf.ip_addresses.empty() ? "" : "; IP " + join(leaf.ip_addresses, ", ")))
          << "\n";
        for (const auto& n : ch.names) {
            s << "    '" << n.name << "' (" << n.kind << "): " << to_string(n.match) << "\n";
        }
        s << "  issuer: " << leaf.issuer << (leaf.self_signed ? " (self-signed)" : "")
          << (leaf.sql_server_fallback ? " -- SQL Server's fallback certificate" : "") << "\n";
        s << "  valid: " << leaf.not_before << " to " << leaf.not_after << " ("
          << (leaf.expired ? "EXPIRED" : std::to_string(leaf.seconds_left / 86400) + " days left")
          << ")\n";
        s << "  key: " << leaf.key_type << " " << leaf.key_bits
          << (leaf.curve.empty() ? "" : " " + leaf.curve) << "; signature hash "
          << (leaf.signature_hash.empty() ? "?" : leaf.signature_hash) << "; serial "
          << leaf.serial_hex << (leaf.serial_negative ? " (NEGATIVE)" : "") << "\n";
        s << "  EKU: " << (leaf.has_eku ? join(leaf.extended_key_usage, ", ") : "none (any use)")
          << "; keyUsage: " << (leaf.has_key_usage ? join(leaf.key_usage, ", ") : "none")
          << (leaf.is_ca ? "; CA:TRUE" : "") << "\n";
        s << "  chain: " << ch.sent.size() << " sent, path "
          << (ch.verified_path.empty() ? std::string("not built")
                                       : std::to_string(ch.verified_path.size()) + " deep")
          << "; trusted by " << ch.trust_source << ": " << (ch.trusted ? "yes" : "NO") << "\n";
        for (const auto& e : ch.verify_errors) {
            s << "    X509_V_ERR " << e.code << " at depth " << e.depth << ": " << e.text << "\n";
        }
    }
    s << "\nTLS:\n";
    auto versions = accepted_versions(o);
    s << "  accepts: " << (versions.empty() ? std::string("(none)") : join(versions, ", ")) << "\n";
    if (const Handshake* ok = o.first_ok()) {
        s << "  chosen for a permissive client: " << ok->version << " " << ok->cipher
          << ", key exchange " << (ok->key_exchange.empty() ? "?" : ok->key_exchange)
          << (ok->signature_hash.empty() ? "" : ", signs with " + ok->signature_hash)
          << (ok->alpn.empty() ? "" : ", ALPN " + ok->alpn) << "\n";
    }
    for (const auto& h : o.handshakes) {
        s << "  " << h.label << " (" << h.purpose << "): " << to_string(h.outcome);
        if (h.outcome == Outcome::Ok) {
            s << " " << h.version << " in " << static_cast<long>(h.elapsed_ms) << " ms";
        } else {
            if (!h.alert.empty()) {
                s << ", alert '" << h.alert << "'";
            }
            if (!h.error.empty()) {
                s << ": " << h.error;
            }
        }
        s << "\n";
    }
    bool any_info = false;
    for (const auto& f : d.findings) {
        if (f.severity == Severity::Info) {
            if (!any_info) {
                s << "\nNotes:\n";
                any_info = true;
            }
            s << "  - " << f.text << "  (" << f.family << ")\n";
        }
    }
    s << "\nWhat clients will do:\n";
    for (const auto& p : d.predictions) {
        s << "  " << p.client << " [" << p.settings << "]: ";
        if (!p.fails) {
            s << "connects\n";
            continue;
        }
        s << "fails (" << p.family << ")\n";
        s << "      "
          << (p.message.empty() ? "(no error text on record for this client)"
                                : "\"" + p.message + "\"")
          << "\n";
    }
    std::vector<std::string> shown;
    for (const auto& f : d.findings) {
        if (f.severity == Severity::Info || std::ranges::find(shown, f.family) != shown.end()) {
            continue;
        }
        shown.push_back(f.family);
        auto fx = fixes(f.family, kb);
        if (fx.empty()) {
            continue;
        }
        s << "\nFix (" << f.family << "), in order:\n";
        int i = 1;
        for (const auto& step : fx) {
            s << "  " << i++ << ". " << step << "\n";
        }
    }
    return s.str();
}

std::string render_json(const Diagnosis& d, const explain::KnowledgeBase& kb) {
    const Observations& o = d.observations;
    json j;
    j["tlslab_diagnose"] = kJsonVersion;
    j["target"] = {{"host", o.host},
                   {"port", o.port},
                   {"protocol", to_string(o.protocol)},
                   {"server_name", o.server_name}};
    j["connected"] = o.connected;
    j["connect_error"] = o.connect_error;
    json neg;
    switch (o.protocol) {
    case Protocol::Tds:
        neg = {{"prelogin_answered", o.tds.prelogin_answered},
               {"encryption", o.tds.encryption ? json(*o.tds.encryption) : json(nullptr)},
               {"server_version", o.tds.server_version},
               {"prelogin_error", o.tds.prelogin_error},
               {"strict_tried", o.tds.strict_tried},
               {"strict_ok", o.tds.strict_ok},
               {"strict_alpn", o.tds.strict_alpn},
               {"strict_versions", o.tds.strict_versions}};
        break;
    case Protocol::Postgres:
        neg = {{"ssl_answer",
                o.postgres.ssl_answer == 0 ? std::string() : std::string(1, o.postgres.ssl_answer)},
               {"direct_tried", o.postgres.direct_tried},
               {"direct_ok", o.postgres.direct_ok},
               {"direct_alpn", o.postgres.direct_alpn},
               {"auth_request", o.postgres.auth_request},
               {"sasl_mechanisms", o.postgres.sasl_mechanisms}};
        break;
    case Protocol::Mysql:
        neg = {{"greeting", o.mysql.greeting},
               {"server_version", o.mysql.server_version},
               {"mariadb", o.mysql.mariadb},
               {"client_ssl", o.mysql.client_ssl},
               {"plaintext_tried", o.mysql.plaintext_tried},
               {"plaintext_error",
                o.mysql.plaintext_error ? json(*o.mysql.plaintext_error) : json(nullptr)},
               {"plaintext_message", o.mysql.plaintext_message}};
        break;
    }
    j["negotiation"] = neg;
    j["handshakes"] = json::array();
    for (const auto& h : o.handshakes) {
        j["handshakes"].push_back({{"label", h.label},
                                   {"purpose", h.purpose},
                                   {"outcome", to_string(h.outcome)},
                                   {"version", h.version},
                                   {"cipher", h.cipher},
                                   {"key_exchange", h.key_exchange},
                                   {"signature_hash", h.signature_hash},
                                   {"alpn", h.alpn},
                                   {"alert", h.alert},
                                   {"error", h.error},
                                   {"elapsed_ms", h.elapsed_ms},
                                   {"certificates", h.chain.size()}});
    }
    j["tls"] = {{"accepted_versions", accepted_versions(o)}};
    const ChainFacts& ch = d.chain;
    json certs_j = {{"present", ch.present},
                    {"trusted", ch.trusted},
                    {"trust_source", ch.trust_source},
                    {"verified_path", ch.verified_path},
                    {"leaf_issuer_sent", ch.leaf_issuer_sent}};
    certs_j["sent"] = json::array();
    for (const auto& c : ch.sent) {
        certs_j["sent"].push_back(cert_json(c));
    }
    certs_j["verify_errors"] = json::array();
    for (const auto& e : ch.verify_errors) {
        certs_j["verify_errors"].push_back(
            {{"depth", e.depth}, {"code", e.code}, {"text", e.text}, {"subject", e.subject}});
    }
    certs_j["names"] = json::array();
    for (const auto& n : ch.names) {
        certs_j["names"].push_back(
            {{"name", n.name}, {"kind", n.kind}, {"match", to_string(n.match)}});
    }
    j["certificates"] = certs_j;
    j["findings"] = json::array();
    for (const auto& f : d.findings) {
        j["findings"].push_back({{"family", f.family},
                                 {"severity", to_string(f.severity)},
                                 {"text", f.text},
                                 {"evidence", f.evidence},
                                 {"also", f.also},
                                 {"stacks", f.stacks},
                                 {"fix", fixes(f.family, kb)}});
    }
    j["predictions"] = json::array();
    for (const auto& p : d.predictions) {
        j["predictions"].push_back({{"client", p.client},
                                    {"settings", p.settings},
                                    {"fails", p.fails},
                                    {"family", p.family},
                                    {"message", p.message},
                                    {"entry", p.entry_id}});
    }
    j["defects"] = has_defects(d.findings);
    return j.dump(2) + "\n";
}

} // namespace proxy::app::diagnose
