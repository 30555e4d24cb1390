#include <proxy/core/session/scenario_runtime.h>
#include <proxy/core/tls/tls_context.h>

namespace proxy {

namespace {

constexpr int kDay = 24 * 3600;

certs::CertificateProfile ca_profile(const std::string& name) {
    certs::CertificateProfile p;
    p.common_name = name;
    p.is_ca = true;
    p.extended_key_usage.clear();
    p.not_after = std::chrono::days(3650);
    return p;
}

int version_or(const std::string& name, int fallback) {
    if (name.empty()) {
        return fallback;
    }
    return tls_version_from_name(name).value_or(fallback);
}

} // namespace

std::expected<ScenarioPki, std::string> ScenarioPki::create(const certs::LabCa& ca) {
    ScenarioPki pki;
    auto untrusted =
        certs::issue(ca_profile("tlslab untrusted CA (trust it nowhere)"), nullptr, nullptr);
    if (!untrusted) {
        return std::unexpected(untrusted.error());
    }
    auto intermediate = ca.issue_leaf(ca_profile("tlslab lab intermediate CA"));
    if (!intermediate) {
        return std::unexpected(intermediate.error());
    }
    pki.untrusted_ca = std::move(*untrusted);
    pki.intermediate = std::move(*intermediate);
    return pki;
}

std::vector<std::string> expand_placeholders(const std::vector<std::string>& items,
                                             const LabIdentity& id) {
    std::vector<std::string> out;
    for (const auto& item : items) {
        if (item == "{hostnames}") {
            out.insert(out.end(), id.hostnames.begin(), id.hostnames.end());
        } else if (item == "{ips}") {
            out.insert(out.end(), id.ips.begin(), id.ips.end());
        } else if (item == "{host}") {
            if (!id.hostnames.empty()) {
                out.push_back(id.hostnames.front());
            }
        } else {
            out.push_back(item);
        }
    }
    return out;
}

std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
materialize(const scenarios::Scenario& scenario, const certs::LabCa& ca, const ScenarioPki& pki,
            const LabIdentity& identity) {
    auto rt = std::make_shared<ScenarioRuntime>();
    rt->scenario = scenario;
    const auto& spec = scenario.certificate;
    certs::CertificateProfile p;
    auto cn = expand_placeholders({spec.common_name}, identity);
    p.common_name = cn.empty() ? "" : cn.front();
    p.dns_names = expand_placeholders(spec.dns_names, identity);
    p.ip_addresses = expand_placeholders(spec.ip_addresses, identity);
    p.not_before = std::chrono::seconds(static_cast<long>(spec.not_before_days) * kDay);
    p.not_after = std::chrono::seconds(static_cast<long>(spec.not_after_days) * kDay);
    switch (spec.key) {
    case scenarios::KeyKind::Rsa:
        p.key.type = certs::KeyType::Rsa;
        break;
    case scenarios::KeyKind::EcP256:
        p.key.type = certs::KeyType::EcP256;
        break;
    case scenarios::KeyKind::EcP384:
        p.key.type = certs::KeyType::EcP384;
        break;
    case scenarios::KeyKind::RsaPss:
    case scenarios::KeyKind::Ed25519:
        return std::unexpected("scenario " + scenario.name + ": key type not built yet");
    }
    p.key.rsa_bits = spec.key_bits;
    p.signature_hash = spec.signature_hash;
    p.extended_key_usage = spec.extended_key_usage;

    std::expected<certs::Credential, std::string> leaf = std::unexpected("unset");
    switch (spec.issuer) {
    case scenarios::Issuer::LabCa:
        leaf = ca.issue_leaf(p);
        break;
    case scenarios::Issuer::Self:
        leaf = certs::issue(p, nullptr, nullptr);
        break;
    case scenarios::Issuer::UntrustedCa:
        leaf = certs::issue(p, pki.untrusted_ca.cert.get(), pki.untrusted_ca.key.get());
        break;
    case scenarios::Issuer::UnsentIntermediate:
        leaf = certs::issue(p, pki.intermediate.cert.get(), pki.intermediate.key.get());
        break;
    case scenarios::Issuer::NewRoot:
    case scenarios::Issuer::CrossSigned:
    case scenarios::Issuer::ExpiredIntermediate:
    case scenarios::Issuer::ExpiredRootCrossSign:
    case scenarios::Issuer::RetiredCa:
    case scenarios::Issuer::DeepChain:
    case scenarios::Issuer::NameConstrained:
        leaf = std::unexpected("issuer not built yet");
        break;
    }
    if (!leaf) {
        return std::unexpected("scenario " + scenario.name + ": " + leaf.error());
    }
    rt->leaf = std::move(*leaf);
    rt->leaf_info = certs::describe(rt->leaf.cert.get());

    TlsServerConfig cfg;
    cfg.cert = rt->leaf.cert.get();
    cfg.key = rt->leaf.key.get();
    for (const auto& c : rt->chain) {
        cfg.chain.push_back(c.get());
    }
    cfg.security_level = scenario.tls.security_level;
    cfg.cipher_list = scenario.tls.ciphers;
    cfg.only_version = version_or(scenario.tls.only_version, 0);
    // TDS 7.x: at most TLS 1.2 unless the scenario says otherwise, as SQL Server.
    cfg.min_version = version_or(scenario.tls.min_version, TLS1_2_VERSION);
    cfg.max_version = version_or(scenario.tls.max_version, TLS1_2_VERSION);
    if (cfg.only_version != 0) {
        cfg.min_version = cfg.max_version = cfg.only_version;
    }
    auto c7 = make_server_context(cfg);
    if (!c7) {
        return std::unexpected("scenario " + scenario.name + ": " + c7.error());
    }
    cfg.alpn = scenario.tls.alpn ? ServerAlpn::Tds8 : ServerAlpn::None;
    if (cfg.only_version == 0) {
        cfg.max_version = version_or(scenario.tls.max_version, TLS1_3_VERSION);
    }
    auto c8 = make_server_context(cfg);
    if (!c8) {
        return std::unexpected("scenario " + scenario.name + ": " + c8.error());
    }
    // PostgreSQL (ssl_min_protocol_version defaults to TLSv1.2) and the generic TLS relay: TLS
    // first, 1.2 and 1.3 unless the scenario says otherwise.
    cfg.alpn = scenario.tls.alpn ? ServerAlpn::Postgres : ServerAlpn::None;
    auto cpg = make_server_context(cfg);
    cfg.alpn = ServerAlpn::None;
    auto ctls = make_server_context(cfg);
    if (!cpg || !ctls) {
        return std::unexpected("scenario " + scenario.name + ": " +
                               (!cpg ? cpg.error() : ctls.error()));
    }
    rt->tds7_ctx = std::move(*c7);
    rt->tds8_ctx = std::move(*c8);
    rt->postgres_ctx = std::move(*cpg);
    rt->tls_ctx = std::move(*ctls);
    return rt;
}

} // namespace proxy
