#include <arpa/inet.h>

#include <proxy/app/lab/lab_setup.h>
#include <proxy/core/tls/tls_context.h>

namespace proxy::app {

namespace {

bool is_ip(const std::string& s) {
    in6_addr buf{}; // room for either family
    return inet_pton(AF_INET, s.c_str(), &buf) == 1 || inet_pton(AF_INET6, s.c_str(), &buf) == 1;
}

} // namespace

LabIdentity lab_identity(const std::vector<std::string>& extra_hostnames) {
    LabIdentity id;
    id.hostnames = certs::local_host_names();
    id.ips = {"127.0.0.1", "::1"};
    for (const auto& h : extra_hostnames) {
        (is_ip(h) ? id.ips : id.hostnames).push_back(h);
    }
    return id;
}

std::expected<std::unique_ptr<Lab>, std::string> Lab::prepare(const LabOptions& options) {
    auto ca = certs::LabCa::load_or_create(options.state_dir);
    if (!ca) {
        return std::unexpected(ca.error());
    }
    std::unique_ptr<Lab> lab(new Lab(std::move(*ca), ScenarioPki{}));
    lab->identity_ = lab_identity(options.hostnames);
    auto catalogue = scenarios::Catalogue::builtin();
    if (!catalogue) {
        return std::unexpected("built-in scenario catalogue: " + catalogue.error());
    }
    lab->catalogue_ = std::move(*catalogue);
    if (options.scenarios) {
        if (auto ok = lab->catalogue_.add_directory(*options.scenarios); !ok) {
            return std::unexpected(ok.error());
        }
    }
    return lab;
}

std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
Lab::runtime(const std::string& name) {
    std::lock_guard lock(runtimes_mutex_);
    if (auto it = runtimes_.find(name); it != runtimes_.end()) {
        it->second = refresh_if_time_bound(it->second); // "expires in 60 s" from this session
        return it->second;
    }
    const scenarios::Scenario* s = catalogue_.find(name);
    if (s == nullptr) {
        std::string known;
        for (const auto& n : catalogue_.names()) {
            known += (known.empty() ? "" : ", ") + n;
        }
        return std::unexpected("unknown scenario '" + name + "' (known: " + known + ")");
    }
    auto rt = materialize(*s, ca_, pki_, identity_);
    if (!rt) {
        return std::unexpected(rt.error());
    }
    runtimes_[name] = *rt;
    return *rt;
}

std::expected<UpstreamTls, std::string> make_upstream_tls(const std::vector<X509*>& trusted) {
    UpstreamTls out;
    TlsClientConfig c;
    c.trusted = trusted;
    c.verify = !trusted.empty();
    c.min_version = TLS1_2_VERSION;
    c.max_version = TLS1_2_VERSION; // TLS inside PRELOGIN: at most 1.2, as SQL Server expects
    // Resume the upstream's session where it allows (session_store.h): a login after the first
    // skips the server's certificate, its verification and its signature on this leg. A
    // session whose certificate failed verification is never kept.
    c.resume_sessions = true;
    auto c7 = make_client_context(c);
    c.max_version = TLS1_3_VERSION;
    auto cpg = make_client_context(c);  // PostgreSQL after SSLRequest
    auto ctls = make_client_context(c); // the generic relay
    auto cmy = make_client_context(c);  // MySQL after SSLRequest
    c.alpn_tds8 = true;
    auto c8 = make_client_context(c);
    for (const auto* made : {&c7, &c8, &cpg, &ctls, &cmy}) {
        if (!*made) {
            return std::unexpected("upstream TLS: " + made->error());
        }
    }
    out.tds7 = std::move(*c7);
    out.tds8 = std::move(*c8);
    out.postgres = std::move(*cpg);
    out.generic = std::move(*ctls);
    out.mysql = std::move(*cmy);
    out.verified = c.verify;
    return out;
}

} // namespace proxy::app
