#include <stdexcept>

#include <support/test_pki.h>

namespace support {

namespace {

certs::Credential must(std::expected<certs::Credential, std::string> c) {
    if (!c) {
        throw std::runtime_error(c.error());
    }
    return std::move(*c);
}

certs::SslCtxPtr must(std::expected<certs::SslCtxPtr, std::string> c) {
    if (!c) {
        throw std::runtime_error(c.error());
    }
    return std::move(*c);
}

certs::Credential make_ca(const std::string& name) {
    certs::CertificateProfile p;
    p.common_name = name;
    p.is_ca = true;
    p.extended_key_usage.clear();
    return must(certs::issue(p, nullptr, nullptr));
}

TestPki build() {
    TestPki pki;
    pki.ca = make_ca("test CA");
    certs::CertificateProfile leaf;
    leaf.common_name = "localhost";
    leaf.dns_names = {"localhost"};
    leaf.ip_addresses = {"127.0.0.1"};
    pki.leaf = must(certs::issue(leaf, pki.ca.cert.get(), pki.ca.key.get()));

    proxy::TlsServerConfig s;
    s.cert = pki.leaf.cert.get();
    s.key = pki.leaf.key.get();
    s.min_version = TLS1_2_VERSION;
    s.max_version = TLS1_2_VERSION;
    pki.tds7_server = must(proxy::make_server_context(s));
    s.max_version = TLS1_3_VERSION;
    s.alpn = proxy::ServerAlpn::Tds8;
    pki.tds8_server = must(proxy::make_server_context(s));

    proxy::TlsClientConfig c;
    c.trusted = {pki.ca.cert.get()};
    c.verify = true;
    pki.client_trusting = must(proxy::make_client_context(c));
    c.alpn_tds8 = true;
    pki.client_tds8 = must(proxy::make_client_context(c));
    return pki;
}

} // namespace

const TestPki& test_pki() {
    static const TestPki pki = build();
    return pki;
}

certs::SslCtxPtr client_trusting_other_ca() {
    static const certs::Credential other = make_ca("some other CA");
    proxy::TlsClientConfig c;
    c.trusted = {other.cert.get()};
    c.verify = true;
    return must(proxy::make_client_context(c));
}

} // namespace support
