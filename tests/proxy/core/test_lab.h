#pragma once

// TestLab: the lab as the proxy sees it, for the machine tests: a lab CA in a temp dir, the
// built-in catalogue, and the client and upstream contexts a test chain needs.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <certs/lab_ca.h>
#include <proxy/core/session/scenario_runtime.h>
#include <proxy/core/tls/tls_context.h>
#include <scenarios/catalogue.h>

namespace support {

struct TestLab {
    std::filesystem::path dir;
    std::optional<certs::LabCa> ca;
    std::optional<proxy::ScenarioPki> pki;
    scenarios::Catalogue catalogue;
    proxy::LabIdentity identity{{"localhost"}, {"127.0.0.1"}};
    certs::SslCtxPtr client_trusting_lab;
    certs::SslCtxPtr client_tds8_trusting_lab;
    certs::SslCtxPtr upstream_tds7; // the proxy's upstream contexts trust the test PKI's CA
    certs::SslCtxPtr upstream_tds8;
    certs::SslCtxPtr upstream_any; // TLS 1.2-1.3, no ALPN (PostgreSQL, generic TLS)

    TestLab();
    ~TestLab();
    TestLab(const TestLab&) = delete;
    TestLab& operator=(const TestLab&) = delete;

    std::shared_ptr<const proxy::ScenarioRuntime> runtime(const std::string& name);
    std::shared_ptr<const proxy::ScenarioRuntime> runtime(const scenarios::Scenario& s);
};

TestLab& lab();

} // namespace support
