#include <chrono>

#include <catch2/catch.hpp>

#include <proxy/core/session/scenario_runtime.h>

#include "../test_lab.h"

// The certificate half of ScenarioRuntime: each issuer's leaf and the chain it sends, judged by
// OpenSSL's own path validation with the lab CA as the only trust anchor (as a driver told to
// trust the lab CA does), and the re-minting that keeps "expires in 60 s" true per connection.

namespace {

using proxy::ScenarioRuntime;
using support::lab;

struct Verdict {
    int error = X509_V_OK;
    int depth = 0;
    int path_length = 0; // certificates in the path OpenSSL built, the anchor included
};

Verdict verify(const ScenarioRuntime& rt, std::optional<time_t> at = std::nullopt) {
    certs::X509StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), lab().ca->cert());
    certs::X509StackPtr untrusted(sk_X509_new_null());
    for (const auto& c : rt.chain) {
        sk_X509_push(untrusted.get(), c.get());
    }
    certs::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), rt.leaf.cert.get(), untrusted.get()) == 1);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set1_host(param, "localhost", 0);
    if (at) {
        X509_VERIFY_PARAM_set_time(param, *at);
    }
    Verdict v;
    if (X509_verify_cert(ctx.get()) != 1) {
        v.error = X509_STORE_CTX_get_error(ctx.get());
        v.depth = X509_STORE_CTX_get_error_depth(ctx.get());
    }
    STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
    v.path_length = built == nullptr ? 0 : sk_X509_num(built);
    return v;
}

std::string common_name(X509* cert) {
    X509_NAME* name = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    REQUIRE(at >= 0);
    unsigned char* utf8 = nullptr; // any string type, the fallback's BMPString included
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
    REQUIRE(len >= 0);
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    return out;
}

std::vector<std::string> chain_names(const ScenarioRuntime& rt) {
    std::vector<std::string> out;
    for (const auto& c : rt.chain) {
        out.push_back(common_name(c.get()));
    }
    return out;
}

std::shared_ptr<const ScenarioRuntime> with_issuer(scenarios::Issuer issuer, int depth = 0) {
    scenarios::Scenario s;
    s.name = "issuer-" + std::string(scenarios::to_string(issuer));
    s.certificate.issuer = issuer;
    s.certificate.chain_depth = depth;
    return lab().runtime(s);
}

// handshake: a TLS 1.3 client that verifies nothing against the runtime's generic context;
// what it received: the leaf, then the chain as sent. Empty if the handshake failed.
std::vector<certs::X509Ptr> certificates_sent(const ScenarioRuntime& rt) {
    certs::SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
    certs::SslPtr client(SSL_new(client_ctx.get()));
    certs::SslPtr server(SSL_new(rt.tls_ctx.get()));
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    bool done = false;
    for (int round = 0; round < 50 && !done; ++round) {
        int c = SSL_do_handshake(client.get());
        int s = SSL_do_handshake(server.get());
        done = c == 1 && s == 1;
    }
    std::vector<certs::X509Ptr> out;
    STACK_OF(X509)* peer = done ? SSL_get_peer_cert_chain(client.get()) : nullptr;
    for (int i = 0; peer != nullptr && i < sk_X509_num(peer); ++i) {
        out.push_back(certs::up_ref(sk_X509_value(peer, i)));
    }
    return out;
}

void check_sent_as_built(const ScenarioRuntime& rt) {
    auto sent = certificates_sent(rt);
    REQUIRE(sent.size() == 1 + rt.chain.size());
    CHECK(X509_cmp(sent[0].get(), rt.leaf.cert.get()) == 0);
    for (std::size_t i = 0; i < rt.chain.size(); ++i) {
        CHECK(X509_cmp(sent[i + 1].get(), rt.chain[i].get()) == 0);
    }
}

bool serial_is_negative_in_der(X509* cert) {
    unsigned char* der = nullptr;
    int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
    REQUIRE(len == 18); // 02 10 and 16 bytes
    bool negative = (der[2] & 0x80) != 0;
    OPENSSL_free(der);
    return negative;
}

} // namespace

TEST_CASE("new-root: leaf and new intermediate sent; the lab CA alone cannot anchor them",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::NewRoot);
    CHECK(chain_names(*rt) == std::vector<std::string>{"tlslab new intermediate CA"});
    CHECK(verify(*rt).error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    check_sent_as_built(*rt);
}

TEST_CASE("cross-signed: the new root cross-signed by the lab CA completes the path",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::CrossSigned);
    CHECK(chain_names(*rt) ==
          std::vector<std::string>{"tlslab new intermediate CA", "tlslab new root CA"});
    X509* cross = rt->chain[1].get();
    CHECK(X509_NAME_cmp(X509_get_issuer_name(cross), X509_get_subject_name(lab().ca->cert())) == 0);
    auto new_root = lab().pki->get(proxy::ScenarioPki::Ca::NewRoot, *lab().ca);
    REQUIRE(new_root);
    CHECK(EVP_PKEY_eq(X509_get0_pubkey(cross), (*new_root)->key.get()) == 1);
    auto v = verify(*rt);
    CHECK(v.error == X509_V_OK);
    CHECK(v.path_length == 4); // leaf, intermediate, new root (cross), lab CA
    check_sent_as_built(*rt);
}

TEST_CASE("expired-intermediate: the intermediate at depth 1 has expired",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::ExpiredIntermediate);
    CHECK(chain_names(*rt) == std::vector<std::string>{"tlslab expired intermediate CA"});
    auto v = verify(*rt);
    CHECK(v.error == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(v.depth == 1);
}

TEST_CASE("expired-root-cross-sign: the lab CA cross-signed by an expired root does not hurt",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::ExpiredRootCrossSign);
    REQUIRE(rt->chain.size() == 2);
    CHECK(common_name(rt->chain[0].get()) == "tlslab lab intermediate CA");
    X509* cross = rt->chain[1].get();
    CHECK(X509_NAME_cmp(X509_get_subject_name(cross), X509_get_subject_name(lab().ca->cert())) ==
          0);
    auto old_root = lab().pki->get(proxy::ScenarioPki::Ca::OldRoot, *lab().ca);
    REQUIRE(old_root);
    CHECK(X509_NAME_cmp(X509_get_issuer_name(cross),
                        X509_get_subject_name((*old_root)->cert.get())) == 0);
    // The cross certificate is valid; the old root that signed it is not.
    CHECK(X509_cmp_current_time(X509_get0_notAfter(cross)) > 0);
    CHECK(X509_cmp_current_time(X509_get0_notAfter((*old_root)->cert.get())) < 0);
    auto v = verify(*rt);
    CHECK(v.error == X509_V_OK);
    CHECK(v.path_length == 3); // leaf, intermediate, the trusted lab CA
    check_sent_as_built(*rt);
}

TEST_CASE("retired-ca: the lab CA's name with another key; nothing sent; no issuer found",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::RetiredCa);
    CHECK(rt->chain.empty());
    CHECK(X509_NAME_cmp(X509_get_issuer_name(rt->leaf.cert.get()),
                        X509_get_subject_name(lab().ca->cert())) == 0);
    CHECK(verify(*rt).error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_CASE("deep-chain: chain_depth intermediates, the leaf's issuer first, all sent",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::DeepChain, 10);
    REQUIRE(rt->chain.size() == 10);
    CHECK(common_name(rt->chain.front().get()) == "tlslab deep-chain intermediate 10");
    CHECK(common_name(rt->chain.back().get()) == "tlslab deep-chain intermediate 1");
    auto v = verify(*rt);
    CHECK(v.error == X509_V_OK);
    CHECK(v.path_length == 12);
    check_sent_as_built(*rt);
}

TEST_CASE("name-constrained: the leaf's names violate the intermediate's permitted subtree",
          "[session][scenario_runtime]") {
    auto rt = with_issuer(scenarios::Issuer::NameConstrained);
    CHECK(chain_names(*rt) == std::vector<std::string>{"tlslab name-constrained intermediate CA"});
    CHECK(verify(*rt).error == X509_V_ERR_PERMITTED_VIOLATION);
}

TEST_CASE("the catalogue's certificate scenarios mint and verify as they expect",
          "[session][scenario_runtime][catalogue]") {
    struct Case {
        const char* name;
        int error;
    };
    const Case cases[] = {
        {"sql-fallback-cert", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
        {"sql-fallback-negative-serial", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
        {"ca-new-root", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
        {"ca-cross-signed", X509_V_OK},
        {"ca-expired-intermediate", X509_V_ERR_CERT_HAS_EXPIRED},
        {"ca-expired-root-cross-sign", X509_V_OK},
        {"ca-retired", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
        {"expires-in-60s", X509_V_OK},
        {"expired-1s-ago", X509_V_ERR_CERT_HAS_EXPIRED},
        {"key-ec-p256", X509_V_OK},
        {"key-ec-p384", X509_V_OK},
        {"key-rsa-pss", X509_V_OK},
        {"key-rsa-4096", X509_V_OK},
        {"key-ed25519", X509_V_OK},
        {"leaf-ca-true", X509_V_OK},
        // OpenSSL does not check that the leaf's key usage allows signing: a validating
        // OpenSSL client accepts it (JSSE and SChannel do not).
        {"key-usage-no-signature", X509_V_OK},
        {"unknown-critical-extension", X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION},
        {"name-constraint-violated", X509_V_ERR_PERMITTED_VIOLATION},
        {"deep-chain", X509_V_OK},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        auto rt = lab().runtime(c.name);
        CHECK(verify(*rt).error == c.error);
    }
}

TEST_CASE("SQL Server's fallback certificate: no extensions, CN only, serial sign as asked",
          "[session][scenario_runtime][catalogue]") {
    auto positive = lab().runtime("sql-fallback-cert");
    X509* cert = positive->leaf.cert.get();
    CHECK(X509_get_ext_count(cert) == 0);
    CHECK(X509_NAME_entry_count(X509_get_subject_name(cert)) == 1);
    CHECK(common_name(cert) == "SSL_Self_Signed_Fallback");
    CHECK(positive->leaf_info->subject_alt_names.empty());
    CHECK(positive->leaf_info->self_signed);
    CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(cert)) == 2048);
    CHECK(X509_get_signature_nid(cert) == NID_sha256WithRSAEncryption);
    CHECK_FALSE(serial_is_negative_in_der(cert));
    int days = 0;
    int seconds = 0;
    REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)));
    CHECK(days == 10957); // 30 years
    auto negative = lab().runtime("sql-fallback-negative-serial");
    CHECK(serial_is_negative_in_der(negative->leaf.cert.get()));
    check_sent_as_built(*negative);
}

TEST_CASE("every key type completes a TLS handshake with the lab's contexts",
          "[session][scenario_runtime][catalogue]") {
    for (const char* name : {"key-ec-p256", "key-ec-p384", "key-rsa-pss", "key-rsa-4096",
                             "key-ed25519", "unknown-critical-extension"}) {
        INFO(name);
        auto rt = lab().runtime(name);
        check_sent_as_built(*rt);
    }
}

TEST_CASE("time-bound scenarios: valid for 60 s from minting; re-minted when stale",
          "[session][scenario_runtime]") {
    auto rt = lab().runtime("expires-in-60s");
    REQUIRE(proxy::time_bound(rt->scenario));
    int days = 0;
    int seconds = 0;
    REQUIRE(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(rt->leaf.cert.get())));
    CHECK(days == 0);
    CHECK(seconds >= 55);
    CHECK(seconds <= 60);
    time_t now = time(nullptr);
    CHECK(verify(*rt).error == X509_V_OK);
    CHECK(verify(*rt, now + 61).error == X509_V_ERR_CERT_HAS_EXPIRED);

    // Fresh enough: the same runtime. Stale: a new leaf with the same key, new contexts.
    CHECK(proxy::refresh_if_time_bound(rt, rt->minted_at + std::chrono::seconds(1)) == rt);
    auto fresh = proxy::refresh_if_time_bound(rt, rt->minted_at + std::chrono::seconds(3));
    REQUIRE(fresh != rt);
    CHECK(X509_cmp(fresh->leaf.cert.get(), rt->leaf.cert.get()) != 0);
    CHECK(EVP_PKEY_eq(fresh->leaf.key.get(), rt->leaf.key.get()) == 1);
    CHECK(fresh->tls_ctx.get() != rt->tls_ctx.get());
    CHECK(fresh->leaf_info->not_after ==
          certs::describe(fresh->leaf.cert.get()).not_after); // the record says when
    CHECK(fresh->minted_at >= rt->minted_at);
    check_sent_as_built(*fresh);

    auto expired = lab().runtime("expired-1s-ago");
    CHECK(verify(*expired).error == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(verify(*expired, now - 5).error == X509_V_OK);

    // Scenarios with validity in days are never re-minted.
    auto valid = lab().runtime("valid");
    CHECK_FALSE(proxy::time_bound(valid->scenario));
    CHECK(proxy::refresh_if_time_bound(valid, valid->minted_at + std::chrono::hours(1)) == valid);
}

TEST_CASE("the lab says when a time-bound certificate expires", "[session][scenario_runtime]") {
    CHECK(proxy::validity_note(lab().runtime("expires-in-60s")->scenario) ==
          "certificate valid for 60 s from each connection");
    CHECK(proxy::validity_note(lab().runtime("expired-1s-ago")->scenario) ==
          "certificate expired 1 s before each connection");
    CHECK(proxy::validity_note(lab().runtime("valid")->scenario).empty());
}

TEST_CASE("scenario CAs: minted once on first use, shared by copies",
          "[session][scenario_runtime]") {
    proxy::ScenarioPki pki;
    proxy::ScenarioPki copy = pki;
    auto first = pki.get(proxy::ScenarioPki::Ca::NewIntermediate, *lab().ca);
    REQUIRE(first);
    auto again = copy.get(proxy::ScenarioPki::Ca::NewIntermediate, *lab().ca);
    REQUIRE(again);
    CHECK(*first == *again);
    // The new intermediate is signed by the new root minted for it, not by another one.
    auto root = copy.get(proxy::ScenarioPki::Ca::NewRoot, *lab().ca);
    REQUIRE(root);
    CHECK(X509_verify((*first)->cert.get(), (*root)->key.get()) == 1);
}
