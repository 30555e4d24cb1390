#include "test_lab.h"

#include <cstdlib>

#include <catch2/catch.hpp>

#include <support/test_pki.h>

namespace support {

TestLab::TestLab() {
    char tmpl[] = "/tmp/tlslab-proxy-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ca.emplace(*certs::LabCa::load_or_create(dir));
    pki.emplace();
    catalogue = *scenarios::Catalogue::builtin();
    proxy::TlsClientConfig c;
    c.trusted = {ca->cert()};
    c.verify = true;
    client_trusting_lab = *proxy::make_client_context(c);
    c.alpn_tds8 = true;
    client_tds8_trusting_lab = *proxy::make_client_context(c);
    proxy::TlsClientConfig u;
    u.trusted = {support::test_pki().ca.cert.get()};
    u.verify = true;
    u.max_version = TLS1_2_VERSION;
    upstream_tds7 = *proxy::make_client_context(u);
    u.max_version = TLS1_3_VERSION;
    upstream_any = *proxy::make_client_context(u);
    u.alpn_tds8 = true;
    upstream_tds8 = *proxy::make_client_context(u);
}

TestLab::~TestLab() {
    std::filesystem::remove_all(dir);
}

std::shared_ptr<const proxy::ScenarioRuntime> TestLab::runtime(const std::string& name) {
    const auto* s = catalogue.find(name);
    REQUIRE(s != nullptr);
    return runtime(*s);
}

std::shared_ptr<const proxy::ScenarioRuntime> TestLab::runtime(const scenarios::Scenario& s) {
    auto rt = proxy::materialize(s, *ca, *pki, identity);
    REQUIRE(rt);
    return *rt;
}

TestLab& lab() {
    static TestLab l;
    return l;
}

} // namespace support
