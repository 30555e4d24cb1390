#pragma once

// What the proxy and the lab prepare before the loop starts: the lab CA, the extra CAs some
// scenarios need, the names the lab answers to, the scenario catalogue, and the client-side TLS
// contexts for the upstream leg. Everything here may fail with a message for the user; nothing
// after start-up does.

#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <certs/lab_ca.h>
#include <proxy/core/session/scenario_runtime.h>
#include <scenarios/catalogue.h>

namespace proxy::app {

struct LabOptions {
    std::filesystem::path state_dir;
    std::vector<std::string> hostnames;             // --hostname
    std::optional<std::filesystem::path> scenarios; // --scenarios DIR
};

class Lab {
  public:
    static std::expected<std::unique_ptr<Lab>, std::string> prepare(const LabOptions& options);

    const certs::LabCa& ca() const { return ca_; }
    const LabIdentity& identity() const { return identity_; }
    const scenarios::Catalogue& catalogue() const { return catalogue_; }
    // runtime mints (once) the certificate and contexts of a scenario; error if unknown. Any
    // thread (sessions of several loops choose scenarios).
    std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
    runtime(const std::string& name);
    // runtime_for mints `scenario` anew for other names (transparent mode: the names a client
    // asked for, or the real server's), with `leaf_key` when given (no key generation: an
    // RSA-4096 key takes a second); not cached here.
    std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
    runtime_for(const scenarios::Scenario& scenario, const LabIdentity& names,
                EVP_PKEY* leaf_key = nullptr) const {
        return materialize(scenario, ca_, pki_, names, leaf_key);
    }

  private:
    Lab(certs::LabCa ca, ScenarioPki pki) : ca_(std::move(ca)), pki_(std::move(pki)) {}
    certs::LabCa ca_;
    ScenarioPki pki_;
    LabIdentity identity_;
    scenarios::Catalogue catalogue_;
    std::mutex runtimes_mutex_;
    std::map<std::string, std::shared_ptr<const ScenarioRuntime>> runtimes_;
};

// lab_identity: localhost and the machine's names, 127.0.0.1 and ::1, plus extra --hostname
// values (names or addresses).
LabIdentity lab_identity(const std::vector<std::string>& extra_hostnames);

// UpstreamTls: the client-role contexts of the upstream leg. With trusted certificates they
// verify the server (name = the upstream host); without, they record what it presents.
struct UpstreamTls {
    certs::SslCtxPtr tds7;     // TLS <= 1.2 inside PRELOGIN
    certs::SslCtxPtr tds8;     // ALPN tds/8.0
    certs::SslCtxPtr postgres; // after the proxy's SSLRequest
    certs::SslCtxPtr generic;  // --protocol tls
    certs::SslCtxPtr mysql;    // after the proxy's SSLRequest (MySQL, MariaDB)
    bool verified = false;
};
std::expected<UpstreamTls, std::string> make_upstream_tls(const std::vector<X509*>& trusted);

} // namespace proxy::app
