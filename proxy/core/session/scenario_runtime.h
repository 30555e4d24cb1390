#pragma once

// ScenarioRuntime is a scenario made concrete at start: its certificate minted (relative to
// now, so nothing pre-generated goes stale) and its TLS contexts built. Sessions hold it by
// shared_ptr, so a listener can switch scenario while older sessions finish on the old one.

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include <certs/certificate_info.h>
#include <certs/issuer.h>
#include <certs/lab_ca.h>
#include <scenarios/scenario.h>

namespace proxy {

// The names the lab answers to: placeholders {hostnames}, {ips} and {host} expand to these.
struct LabIdentity {
    std::vector<std::string> hostnames; // localhost, the machine's name, --hostname names
    std::vector<std::string> ips;       // 127.0.0.1, ::1, --hostname addresses
};

// ScenarioPki: the CAs scenarios may need besides the lab CA, minted once per process.
struct ScenarioPki {
    certs::Credential untrusted_ca; // a CA no driver trusts
    certs::Credential intermediate; // under the lab CA; never sent by incomplete-chain
    static std::expected<ScenarioPki, std::string> create(const certs::LabCa& ca);
};

struct ScenarioRuntime {
    scenarios::Scenario scenario;
    certs::Credential leaf;
    std::vector<certs::X509Ptr> chain; // sent after the leaf
    certs::CertificateInfo leaf_info;
    certs::SslCtxPtr tds7_ctx;     // TLS inside PRELOGIN
    certs::SslCtxPtr tds8_ctx;     // TLS first, ALPN tds/8.0
    certs::SslCtxPtr postgres_ctx; // after SSLRequest or direct, ALPN postgresql (PG 17)
    certs::SslCtxPtr tls_ctx;      // the generic TLS relay: no ALPN
};

// expand_placeholders turns {hostnames}/{ips}/{host} entries into lab names.
std::vector<std::string> expand_placeholders(const std::vector<std::string>& items,
                                             const LabIdentity& id);

std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
materialize(const scenarios::Scenario& scenario, const certs::LabCa& ca, const ScenarioPki& pki,
            const LabIdentity& identity);

} // namespace proxy
