#include <algorithm>

#include <proxy/core/session/scenario_runtime.h>
#include <proxy/core/tls/tls_context.h>

namespace proxy {

namespace {

constexpr long kDay = 24 * 3600;

// sni = select: the certificate a ClientHello without a lab name gets (another host's).
constexpr const char* kDefaultCertificateName = "default.tlslab.invalid";

certs::CertificateProfile ca_profile(const std::string& name) {
    certs::CertificateProfile p;
    p.common_name = name;
    p.is_ca = true;
    p.extended_key_usage.clear();
    p.not_after = std::chrono::days(3650);
    return p;
}

// A CA certificate valid from `from` to `to` days from now.
certs::CertificateProfile ca_profile(const std::string& name, long from, long to) {
    auto p = ca_profile(name);
    p.not_before = std::chrono::seconds(from * kDay);
    p.not_after = std::chrono::seconds(to * kDay);
    return p;
}

int version_or(const std::string& name, int fallback) {
    if (name.empty()) {
        return fallback;
    }
    return tls_version_from_name(name).value_or(fallback);
}

certs::KeyType key_type(scenarios::KeyKind k) {
    switch (k) {
    case scenarios::KeyKind::Rsa:
        return certs::KeyType::Rsa;
    case scenarios::KeyKind::EcP256:
        return certs::KeyType::EcP256;
    case scenarios::KeyKind::EcP384:
        return certs::KeyType::EcP384;
    case scenarios::KeyKind::RsaPss:
        return certs::KeyType::RsaPss;
    case scenarios::KeyKind::Ed25519:
        return certs::KeyType::Ed25519;
    }
    return certs::KeyType::Rsa;
}

certs::SerialShape serial_shape(scenarios::Serial s) {
    switch (s) {
    case scenarios::Serial::Random:
        return certs::SerialShape::Random;
    case scenarios::Serial::Random16Positive:
        return certs::SerialShape::Random16Positive;
    case scenarios::Serial::Random16Negative:
        return certs::SerialShape::Random16Negative;
    }
    return certs::SerialShape::Random;
}

certs::CertificateProfile leaf_profile(const scenarios::CertificateSpec& spec,
                                       const LabIdentity& identity) {
    certs::CertificateProfile p;
    auto cn = expand_placeholders({spec.common_name}, identity);
    p.common_name = cn.empty() ? "" : cn.front();
    p.common_name_bmp = spec.common_name_bmp;
    p.organization = spec.organization;
    p.dns_names = expand_placeholders(spec.dns_names, identity);
    p.ip_addresses = expand_placeholders(spec.ip_addresses, identity);
    p.not_before = std::chrono::seconds(
        spec.not_before_seconds.value_or(static_cast<long>(spec.not_before_days) * kDay));
    p.not_after = std::chrono::seconds(
        spec.not_after_seconds.value_or(static_cast<long>(spec.not_after_days) * kDay));
    p.key.type = key_type(spec.key);
    p.key.rsa_bits = spec.key_bits;
    p.signature_hash = spec.signature_hash;
    p.extended_key_usage = spec.extended_key_usage;
    p.is_ca = spec.basic_constraints_ca;
    p.key_usage = spec.key_usage;
    if (spec.basic_constraints_ca && !spec.key_usage) {
        p.key_usage = certs::leaf_key_usage(p.key.type); // a leaf that says CA:TRUE, not a CA
    }
    p.serial = serial_shape(spec.serial);
    p.unknown_critical_extension = spec.unknown_critical_extension;
    p.extensions = spec.extensions;
    return p;
}

std::expected<certs::Credential, std::string>
issue_by(const certs::CertificateProfile& p, const certs::Credential& issuer, EVP_PKEY* leaf_key) {
    return certs::issue(p, issuer.cert.get(), issuer.key.get(), {leaf_key, nullptr});
}

using Ca = ScenarioPki::Ca;

// issue_under: the leaf signed by one of the scenario CAs, the CAs in `sent` appended to the
// chain the server sends.
std::expected<certs::Credential, std::string>
issue_under(ScenarioRuntime& rt, const certs::CertificateProfile& p, EVP_PKEY* leaf_key,
            const ScenarioPki& pki, const certs::LabCa& ca, Ca signer,
            std::initializer_list<Ca> sent) {
    for (Ca c : sent) {
        auto cert = pki.get(c, ca);
        if (!cert) {
            return std::unexpected(cert.error());
        }
        rt.chain.push_back(certs::up_ref((*cert)->cert.get()));
    }
    auto by = pki.get(signer, ca);
    if (!by) {
        return std::unexpected(by.error());
    }
    return issue_by(p, **by, leaf_key);
}

// mint_certificate: the leaf and the chain a real server with this issuer sends.
std::expected<void, std::string> mint_certificate(ScenarioRuntime& rt, const certs::LabCa& ca,
                                                  const ScenarioPki& pki,
                                                  const LabIdentity& identity, EVP_PKEY* leaf_key) {
    const auto& spec = rt.scenario.certificate;
    certs::CertificateProfile p = leaf_profile(spec, identity);
    std::expected<certs::Credential, std::string> leaf = std::unexpected("unset");
    switch (spec.issuer) {
    case scenarios::Issuer::LabCa:
        leaf = certs::issue(p, ca.cert(), ca.key(), {leaf_key, nullptr});
        break;
    case scenarios::Issuer::Self:
        leaf = certs::issue(p, nullptr, nullptr, {leaf_key, nullptr});
        break;
    case scenarios::Issuer::UntrustedCa:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::Untrusted, {});
        break;
    case scenarios::Issuer::UnsentIntermediate:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::Intermediate, {});
        break;
    case scenarios::Issuer::NewRoot:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::NewIntermediate, {Ca::NewIntermediate});
        break;
    case scenarios::Issuer::CrossSigned:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::NewIntermediate,
                           {Ca::NewIntermediate, Ca::NewRootCross});
        break;
    case scenarios::Issuer::ExpiredIntermediate:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::ExpiredIntermediate,
                           {Ca::ExpiredIntermediate});
        break;
    case scenarios::Issuer::ExpiredRootCrossSign:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::Intermediate,
                           {Ca::Intermediate, Ca::LabCaCross});
        break;
    case scenarios::Issuer::RetiredCa:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::Retired, {});
        break;
    case scenarios::Issuer::DeepChain: {
        // chain_depth intermediates of this scenario's own, the first under the lab CA.
        certs::Credential parent{certs::up_ref(ca.cert()), certs::up_ref(ca.key())};
        for (int i = 1; i <= spec.chain_depth; ++i) {
            // (P-256 keys: ten RSA keys would cost seconds at every lab start)
            auto profile = ca_profile("tlslab deep-chain intermediate " + std::to_string(i));
            profile.key.type = certs::KeyType::EcP256;
            auto next = issue_by(profile, parent, nullptr);
            if (!next) {
                return std::unexpected(next.error());
            }
            rt.chain.push_back(certs::up_ref(next->cert.get()));
            parent = std::move(*next);
        }
        std::reverse(rt.chain.begin(), rt.chain.end()); // sent the leaf's issuer first
        leaf = issue_by(p, parent, leaf_key);
        break;
    }
    case scenarios::Issuer::NameConstrained:
        leaf = issue_under(rt, p, leaf_key, pki, ca, Ca::NameConstrained, {Ca::NameConstrained});
        break;
    }
    if (!leaf) {
        return std::unexpected(leaf.error());
    }
    rt.leaf = std::move(*leaf);
    rt.leaf_info =
        std::make_shared<const certs::CertificateInfo>(certs::describe(rt.leaf.cert.get()));
    return {};
}

} // namespace

std::expected<EVP_PKEY*, std::string> LeafKeyPool::key_for(const certs::KeySpec& spec) {
    std::lock_guard lock(mutex_);
    std::pair<int, int> shape{static_cast<int>(spec.type), (spec.type == certs::KeyType::Rsa ||
                                                            spec.type == certs::KeyType::RsaPss)
                                                               ? spec.rsa_bits
                                                               : 0};
    if (auto it = keys_.find(shape); it != keys_.end()) {
        return it->second.get();
    }
    auto key = certs::generate_key(spec);
    if (!key) {
        return std::unexpected(key.error());
    }
    EVP_PKEY* raw = key->get();
    keys_.emplace(shape, std::move(*key));
    return raw;
}

std::expected<const certs::Credential*, std::string>
ScenarioPki::get(Ca which, const certs::LabCa& ca) const {
    std::lock_guard lock(state_->mutex);
    return get_locked(which, ca);
}

std::expected<const certs::Credential*, std::string>
ScenarioPki::get_locked(Ca which, const certs::LabCa& ca) const {
    if (auto it = state_->made.find(which); it != state_->made.end()) {
        return &it->second;
    }
    // A cross certificate: an existing CA's name and key, signed by another CA.
    auto cross = [](const certs::CertificateProfile& validity, X509* issuer, EVP_PKEY* issuer_key,
                    X509* subject, EVP_PKEY* subject_key) {
        return certs::issue(validity, issuer, issuer_key,
                            {subject_key, X509_get_subject_name(subject)});
    };
    std::expected<certs::Credential, std::string> made = std::unexpected("unset");
    switch (which) {
    case Ca::Untrusted:
        made = certs::issue(ca_profile("tlslab untrusted CA (trust it nowhere)"), nullptr, nullptr);
        break;
    case Ca::Intermediate:
        made = ca.issue_leaf(ca_profile("tlslab lab intermediate CA"));
        break;
    case Ca::NewRoot:
        made = certs::issue(ca_profile("tlslab new root CA"), nullptr, nullptr);
        break;
    case Ca::NewIntermediate:
        if (auto root = get_locked(Ca::NewRoot, ca); root) {
            made = issue_by(ca_profile("tlslab new intermediate CA"), **root, nullptr);
        } else {
            made = std::unexpected(root.error());
        }
        break;
    case Ca::NewRootCross:
        if (auto root = get_locked(Ca::NewRoot, ca); root) {
            made = cross(ca_profile("unused"), ca.cert(), ca.key(), (*root)->cert.get(),
                         (*root)->key.get());
        } else {
            made = std::unexpected(root.error());
        }
        break;
    case Ca::ExpiredIntermediate:
        made = ca.issue_leaf(ca_profile("tlslab expired intermediate CA", -400, -30));
        break;
    case Ca::OldRoot:
        made = certs::issue(ca_profile("tlslab old root CA", -3650, -30), nullptr, nullptr);
        break;
    case Ca::LabCaCross:
        if (auto old = get_locked(Ca::OldRoot, ca); old) {
            made = cross(ca_profile("unused", -1, 365), (*old)->cert.get(), (*old)->key.get(),
                         ca.cert(), X509_get0_pubkey(ca.cert()));
        } else {
            made = std::unexpected(old.error());
        }
        break;
    case Ca::Retired:
        made = certs::issue(ca_profile("unused", -3650, 3650), nullptr, nullptr,
                            {nullptr, X509_get_subject_name(ca.cert())});
        break;
    case Ca::NameConstrained: {
        auto profile = ca_profile("tlslab name-constrained intermediate CA");
        profile.permitted_dns = {kPermittedDnsSubtree};
        made = ca.issue_leaf(profile);
        break;
    }
    }
    if (!made) {
        return std::unexpected("scenario CAs: " + made.error());
    }
    return &state_->made.emplace(which, std::move(*made)).first->second;
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

bool time_bound(const scenarios::Scenario& s) {
    return s.certificate.not_before_seconds.has_value() ||
           s.certificate.not_after_seconds.has_value();
}

std::string validity_note(const scenarios::Scenario& s) {
    std::string note;
    const auto& c = s.certificate;
    if (c.not_before_seconds && *c.not_before_seconds > 0) {
        note = "certificate valid only from " + std::to_string(*c.not_before_seconds) +
               " s after each connection";
    }
    if (c.not_after_seconds) {
        note += note.empty() ? "" : "; ";
        long after = *c.not_after_seconds;
        note += after >= 0
                    ? "certificate valid for " + std::to_string(after) + " s from each connection"
                    : "certificate expired " + std::to_string(-after) + " s before each connection";
    }
    return note;
}

std::shared_ptr<const ScenarioRuntime>
refresh_if_time_bound(const std::shared_ptr<const ScenarioRuntime>& rt,
                      std::chrono::steady_clock::time_point now) {
    if (!rt || !time_bound(rt->scenario) || rt->ca == nullptr || rt->pki == nullptr ||
        now - rt->minted_at <= kTimeBoundMaxAge) {
        return rt;
    }
    auto fresh = materialize(rt->scenario, *rt->ca, *rt->pki, rt->identity, rt->leaf.key.get());
    return fresh ? *fresh : rt;
}

std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
materialize(const scenarios::Scenario& scenario, const certs::LabCa& ca, const ScenarioPki& pki,
            const LabIdentity& identity, EVP_PKEY* leaf_key) {
    auto rt = std::make_shared<ScenarioRuntime>();
    rt->scenario = scenario;
    rt->ca = &ca;
    rt->pki = &pki;
    rt->identity = identity;
    rt->minted_at = std::chrono::steady_clock::now();
    if (leaf_key == nullptr) {
        auto pooled = pki.leaf_keys().key_for(leaf_profile(scenario.certificate, identity).key);
        if (!pooled) {
            return std::unexpected("scenario " + scenario.name + ": " + pooled.error());
        }
        leaf_key = *pooled;
    }
    if (auto minted = mint_certificate(*rt, ca, pki, identity, leaf_key); !minted) {
        return std::unexpected("scenario " + scenario.name + ": " + minted.error());
    }

    TlsServerConfig cfg;
    cfg.cert = rt->leaf.cert.get();
    cfg.key = rt->leaf.key.get();
    for (const auto& c : rt->chain) {
        cfg.chain.push_back(c.get());
    }
    cfg.security_level = scenario.tls.security_level;
    cfg.cipher_list = scenario.tls.ciphers;
    cfg.sigalgs = scenario.tls.sigalgs;
    cfg.dh_modp1024 = scenario.tls.dh_group == "modp1024";
    cfg.max_client_sigalgs = scenario.tls.max_client_sigalgs;
    switch (scenario.tls.sni) {
    case scenarios::TlsPolicy::Sni::Ignore:
        cfg.sni = SniPolicy::Ignore;
        break;
    case scenarios::TlsPolicy::Sni::Require:
        cfg.sni = SniPolicy::Require;
        break;
    case scenarios::TlsPolicy::Sni::Known:
        cfg.sni = SniPolicy::Known;
        break;
    case scenarios::TlsPolicy::Sni::Select:
        cfg.sni = SniPolicy::Select;
        break;
    }
    // The names the lab answers to (SNI carries host names only, never addresses).
    cfg.known_names = identity.hostnames;
    certs::Credential default_leaf; // select: the contexts hold their own references
    if (cfg.sni == SniPolicy::Select) {
        certs::CertificateProfile d;
        d.common_name = kDefaultCertificateName;
        d.dns_names = {kDefaultCertificateName};
        d.not_before = std::chrono::seconds(-kDay);
        d.not_after = std::chrono::seconds(365L * kDay);
        auto made = ca.issue_leaf(d);
        if (!made) {
            return std::unexpected("scenario " + scenario.name +
                                   ": default certificate: " + made.error());
        }
        default_leaf = std::move(*made);
        cfg.default_cert = default_leaf.cert.get();
        cfg.default_key = default_leaf.key.get();
    }
    cfg.only_version = version_or(scenario.tls.only_version, 0);
    // TDS 7.x: TLS 1.2 unless the scenario says otherwise, and never above 1.2: SQL Server
    // serves TLS 1.3 only to TDS 8.0. A 1.3-only scenario leaves TDS 7.x no version at all
    // (min 1.3 > max 1.2): its handshake fails, as against SQL Server with TLS 1.2 disabled.
    cfg.min_version = version_or(scenario.tls.min_version, TLS1_2_VERSION);
    cfg.max_version = std::min(version_or(scenario.tls.max_version, TLS1_2_VERSION),
                               static_cast<int>(TLS1_2_VERSION));
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
