// tlslab diagnose's pure core: certificates minted here (certs::issue), observations written by
// hand, and the findings and predictions they must give.

#include <algorithm>
#include <chrono>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <certs/issuer.h>
#include <proxy/app/diagnose/diagnosis.h>

namespace dg = proxy::app::diagnose;
using proxy::app::explain::KnowledgeBase;

namespace {

long long now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::vector<std::uint8_t> der(X509* x) {
    unsigned char* p = nullptr;
    int n = i2d_X509(x, &p);
    REQUIRE(n > 0);
    std::vector<std::uint8_t> out(p, p + n);
    OPENSSL_free(p);
    return out;
}

certs::CertificateProfile ca_profile(const std::string& cn) {
    certs::CertificateProfile p;
    p.common_name = cn;
    p.dns_names = {};
    p.extended_key_usage = {};
    p.is_ca = true;
    return p;
}

certs::CertificateProfile leaf_profile(const std::string& name = "db.lab.test") {
    certs::CertificateProfile p;
    p.common_name = name;
    p.dns_names = {name};
    p.ip_addresses = {"127.0.0.1"};
    return p;
}

// A CA and a store that trusts it, shared by the tests.
struct Pki {
    certs::Credential ca;
    certs::X509StorePtr store;
    Pki() {
        auto c = certs::issue(ca_profile("diagnose test CA"), nullptr, nullptr);
        REQUIRE(c);
        ca = std::move(*c);
        store.reset(X509_STORE_new());
        X509_STORE_add_cert(store.get(), ca.cert.get());
    }
    certs::Credential leaf(const certs::CertificateProfile& p) const {
        auto l = certs::issue(p, ca.cert.get(), ca.key.get());
        REQUIRE(l);
        return std::move(*l);
    }
};

const Pki& pki() {
    static Pki p;
    return p;
}

// re_sign: after an edit to `x`, sign it again with `key` (SHA-256).
void re_sign(X509* x, EVP_PKEY* key) {
    REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
}

// An observation of a TLS server whose only handshake gave `chain`.
dg::Observations tls_obs(std::vector<std::vector<std::uint8_t>> chain,
                         dg::Protocol p = dg::Protocol::Tds) {
    dg::Observations o;
    o.protocol = p;
    o.host = "127.0.0.1";
    o.port = 1433;
    o.server_name = "db.lab.test";
    o.connected = true;
    o.tds.prelogin_answered = true;
    o.tds.encryption = 0x01;
    o.postgres.ssl_answer = 'S';
    o.postgres.sasl_mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"};
    o.postgres.auth_request = "SASL";
    o.mysql.greeting = true;
    o.mysql.client_ssl = true;
    dg::Handshake h;
    h.label = "baseline";
    h.outcome = dg::Outcome::Ok;
    h.version = "TLSv1.3";
    h.cipher = "TLS_AES_256_GCM_SHA384";
    h.key_exchange = "(EC)DHE X25519";
    h.alpn = p == dg::Protocol::Postgres ? "postgresql" : "";
    h.chain = std::move(chain);
    o.handshakes.push_back(h);
    for (const char* v : {"tls1.2", "tls1.3"}) {
        dg::Handshake vh = h;
        vh.label = v;
        vh.version = std::string(v) == "tls1.2" ? "TLSv1.2" : "TLSv1.3";
        vh.chain.clear();
        o.handshakes.push_back(vh);
    }
    return o;
}

struct Result {
    dg::ChainFacts chain;
    std::vector<dg::Finding> findings;
};

Result diagnose(const dg::Observations& o, X509_STORE* store = pki().store.get()) {
    Result r;
    std::vector<std::vector<std::uint8_t>> chain;
    if (!o.handshakes.empty()) {
        chain = o.handshakes.front().chain;
    }
    r.chain = dg::analyse_chain(chain, store, "--ca test", o.server_name, o.host, now_s());
    r.findings = dg::find_defects(o, r.chain);
    return r;
}

const dg::Finding* finding(const Result& r, std::string_view family) {
    for (const auto& f : r.findings) {
        if (f.family == family) {
            return &f;
        }
    }
    return nullptr;
}

std::string families(const Result& r) {
    std::string s;
    for (const auto& f : r.findings) {
        s += f.family + "(" + std::string(dg::to_string(f.severity)) + ") ";
    }
    return s;
}

const dg::Prediction& prediction(const std::vector<dg::Prediction>& ps, std::string_view part) {
    auto it = std::ranges::find_if(
        ps, [&](const dg::Prediction& p) { return p.client.find(part) != std::string::npos; });
    REQUIRE(it != ps.end());
    return *it;
}

} // namespace

TEST_CASE("a valid certificate from a trusted CA gives no finding and every client connects") {
    auto leaf = pki().leaf(leaf_profile());
    auto r = diagnose(tls_obs({der(leaf.cert.get())}));
    INFO(families(r));
    CHECK(r.chain.trusted);
    // only a note: dialled by its short name "db", the certificate would not match
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].family == "name-mismatch");
    CHECK(r.findings[0].severity == dg::Severity::Info);
    CHECK_FALSE(dg::has_defects(r.findings));
    auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
    CHECK(ps.size() >= 6);
    CHECK(std::ranges::none_of(ps, [](const auto& p) { return p.fails; }));
    CHECK(r.chain.sent.front().key_type == "RSA");
    CHECK(r.chain.sent.front().key_bits == 2048);
    CHECK(r.chain.sent.front().signature_hash == "SHA256");
    CHECK(r.chain.names.front().match == dg::NameMatch::San);
}

TEST_CASE(
    "a self-signed certificate is cert-self-signed; ODBC's text comes from the knowledge base") {
    auto self = certs::issue(leaf_profile(), nullptr, nullptr);
    REQUIRE(self);
    auto r = diagnose(tls_obs({der(self->cert.get())}));
    INFO(families(r));
    const auto* f = finding(r, "cert-self-signed");
    REQUIRE(f != nullptr);
    CHECK(f->severity == dg::Severity::Defect);
    CHECK(finding(r, "cert-untrusted") == nullptr); // one defect, said once
    auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
    const auto& odbc = prediction(ps, "ODBC Driver 18");
    CHECK(odbc.fails);
    CHECK(odbc.family == "cert-self-signed");
    CHECK(odbc.entry_id.starts_with("odbc-linux/"));
    CHECK(odbc.message.find("self-signed") != std::string::npos);
    CHECK_FALSE(dg::fixes("cert-self-signed", KnowledgeBase::builtin()).empty());
}

TEST_CASE("SQL Server's fallback certificate is named as such, with a negative serial flagged") {
    certs::CertificateProfile p;
    p.common_name = "SSL_Self_Signed_Fallback";
    p.organization = "";
    p.dns_names = {};
    p.ip_addresses = {};
    p.extended_key_usage = {};
    auto fb = certs::issue(p, nullptr, nullptr);
    REQUIRE(fb);
    // The serial as SQL Server draws it when the first bit falls 1: 16 bytes, DER-negative.
    BIGNUM* raw = nullptr;
    REQUIRE(BN_hex2bn(&raw, "-7F112233445566778899AABBCCDDEEFF") > 0);
    certs::BignumPtr bn(raw);
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn.get(), nullptr);
    REQUIRE(serial != nullptr);
    X509_set_serialNumber(fb->cert.get(), serial);
    ASN1_INTEGER_free(serial);
    re_sign(fb->cert.get(), fb->key.get());

    auto o = tls_obs({der(fb->cert.get())});
    o.server_name = "sql01";
    auto r = diagnose(o);
    INFO(families(r));
    const auto& leaf = r.chain.sent.front();
    CHECK(leaf.sql_server_fallback);
    CHECK(leaf.self_signed);
    CHECK(leaf.serial_negative);
    CHECK_FALSE(leaf.has_eku);
    REQUIRE(finding(r, "cert-self-signed") != nullptr);
    CHECK(finding(r, "cert-self-signed")->text.find("fallback") != std::string::npos);
    REQUIRE(finding(r, "malformed-certificate") != nullptr);
    CHECK(finding(r, "malformed-certificate")->stacks == std::vector<std::string>{"go"});
    auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
    const auto& go = prediction(ps, "go-mssqldb");
    CHECK(go.family == "malformed-certificate"); // Go fails at parsing, before trust
    CHECK(go.entry_id == "go/negative-serial");
    CHECK(prediction(ps, "ODBC Driver 18").family == "cert-self-signed");
}

TEST_CASE("expired, not yet valid and expiring certificates") {
    SECTION("expired 35 days ago") {
        auto p = leaf_profile();
        p.not_before = -std::chrono::days(400);
        p.not_after = -std::chrono::days(35);
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        INFO(families(r));
        REQUIRE(finding(r, "cert-expired") != nullptr);
        CHECK(finding(r, "cert-expired")->severity == dg::Severity::Defect);
        CHECK(r.chain.sent.front().expired);
    }
    SECTION("expired one second ago") {
        auto p = leaf_profile();
        p.not_after = -std::chrono::seconds(1);
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "cert-expired") != nullptr);
        CHECK(finding(r, "cert-expired")->severity == dg::Severity::Defect);
    }
    SECTION("expires in 60 seconds: a warning") {
        auto p = leaf_profile();
        p.not_after = std::chrono::seconds(60);
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "cert-expired") != nullptr);
        CHECK(finding(r, "cert-expired")->severity == dg::Severity::Warning);
        CHECK(finding(r, "cert-expired")->text.find("seconds") != std::string::npos);
        auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
        CHECK(std::ranges::none_of(ps, [](const auto& pr) { return pr.fails; }));
    }
    SECTION("not yet valid") {
        auto p = leaf_profile();
        p.not_before = std::chrono::days(30);
        p.not_after = std::chrono::days(400);
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "cert-not-yet-valid") != nullptr);
    }
}

TEST_CASE("names: wrong host, CN only, CN right SAN wrong, wildcard, IP") {
    SECTION("wrong host") {
        auto r = diagnose(tls_obs({der(pki().leaf(leaf_profile("other.example")).cert.get())}));
        REQUIRE(finding(r, "name-mismatch") != nullptr);
        CHECK(finding(r, "name-mismatch")->severity == dg::Severity::Defect);
        auto ps = dg::predict(dg::Protocol::Postgres, r.findings, KnowledgeBase::builtin());
        const auto& libpq = prediction(ps, "libpq");
        CHECK(libpq.fails);
        CHECK(libpq.entry_id == "libpq/host-name-mismatch");
    }
    SECTION("CN only: Go and rustls refuse, the others accept") {
        auto p = leaf_profile();
        p.dns_names = {};
        p.ip_addresses = {};
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "name-mismatch") != nullptr);
        CHECK(finding(r, "name-mismatch")->severity == dg::Severity::Warning);
        auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
        CHECK(prediction(ps, "go-mssqldb").fails);
        CHECK_FALSE(prediction(ps, "ODBC Driver 18").fails);
    }
    SECTION("CN right, SAN wrong") {
        auto p = leaf_profile();
        p.dns_names = {"replica.lab.test"};
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        CHECK(r.chain.names.front().match == dg::NameMatch::CnRightSanWrong);
        REQUIRE(finding(r, "name-mismatch") != nullptr);
        CHECK(finding(r, "name-mismatch")->severity == dg::Severity::Defect);
    }
    SECTION("wildcard: a note, and the short name variant does not match") {
        auto p = leaf_profile("*.corp.example");
        auto o = tls_obs({der(pki().leaf(p).cert.get())});
        o.server_name = "sql01.corp.example";
        auto r = diagnose(o);
        INFO(families(r));
        CHECK(r.chain.names.front().match == dg::NameMatch::Wildcard);
        CHECK_FALSE(dg::has_defects(r.findings));
        REQUIRE(r.chain.names.size() >= 2);
        CHECK(r.chain.names[1].kind == "short");
        CHECK(r.chain.names[1].match == dg::NameMatch::None);
    }
    SECTION("dialled by IP without an IP SAN") {
        auto p = leaf_profile();
        p.ip_addresses = {};
        auto o = tls_obs({der(pki().leaf(p).cert.get())});
        o.server_name = "127.0.0.1";
        auto r = diagnose(o);
        REQUIRE(finding(r, "name-mismatch") != nullptr);
        CHECK(finding(r, "name-mismatch")->severity == dg::Severity::Defect);
    }
}

TEST_CASE("chains: untrusted, unsent intermediate, expired intermediate, deep") {
    SECTION("a CA the store lacks, chain sent whole: cert-untrusted") {
        auto other = certs::issue(ca_profile("some other root"), nullptr, nullptr);
        REQUIRE(other);
        auto leaf = certs::issue(leaf_profile(), other->cert.get(), other->key.get());
        REQUIRE(leaf);
        auto r = diagnose(tls_obs({der(leaf->cert.get()), der(other->cert.get())}));
        INFO(families(r));
        REQUIRE(finding(r, "cert-untrusted") != nullptr);
        CHECK_FALSE(r.chain.trusted);
        CHECK_FALSE(r.chain.verify_errors.empty());
    }
    SECTION("an intermediate the server does not send: incomplete-chain, maybe untrusted") {
        auto inter = pki().leaf(ca_profile("diagnose intermediate CA"));
        auto leaf = certs::issue(leaf_profile(), inter.cert.get(), inter.key.get());
        REQUIRE(leaf);
        auto r = diagnose(tls_obs({der(leaf->cert.get())}));
        INFO(families(r));
        const auto* f = finding(r, "incomplete-chain");
        REQUIRE(f != nullptr);
        CHECK(f->also == std::vector<std::string>{"cert-untrusted"});
        // sent, it verifies
        auto ok = diagnose(tls_obs({der(leaf->cert.get()), der(inter.cert.get())}));
        CHECK(ok.chain.trusted);
        CHECK_FALSE(dg::has_defects(ok.findings));
    }
    SECTION("an expired intermediate") {
        auto p = ca_profile("diagnose intermediate CA");
        p.not_before = -std::chrono::days(400);
        p.not_after = -std::chrono::days(1);
        auto inter = pki().leaf(p);
        auto leaf = certs::issue(leaf_profile(), inter.cert.get(), inter.key.get());
        REQUIRE(leaf);
        auto r = diagnose(tls_obs({der(leaf->cert.get()), der(inter.cert.get())}));
        INFO(families(r));
        REQUIRE(finding(r, "cert-expired") != nullptr);
        CHECK(finding(r, "cert-expired")->text.find("CA certificate") != std::string::npos);
    }
    SECTION("eleven certificates sent: JSSE's limit") {
        std::vector<certs::Credential> cas;
        X509* up_cert = pki().ca.cert.get();
        EVP_PKEY* up_key = pki().ca.key.get();
        std::vector<std::vector<std::uint8_t>> chain;
        for (int i = 0; i < 10; ++i) {
            auto c = certs::issue(ca_profile("intermediate " + std::to_string(i)), up_cert, up_key);
            REQUIRE(c);
            cas.push_back(std::move(*c));
            up_cert = cas.back().cert.get();
            up_key = cas.back().key.get();
        }
        auto leaf = certs::issue(leaf_profile(), up_cert, up_key);
        REQUIRE(leaf);
        chain.push_back(der(leaf->cert.get()));
        for (auto it = cas.rbegin(); it != cas.rend(); ++it) {
            chain.push_back(der(it->cert.get()));
        }
        auto r = diagnose(tls_obs(chain));
        INFO(families(r));
        CHECK(r.chain.trusted);
        REQUIRE(finding(r, "chain-depth") != nullptr);
        auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
        CHECK(prediction(ps, "JDBC").fails);
        CHECK_FALSE(prediction(ps, "ODBC").fails);
    }
}

TEST_CASE("extensions and keys") {
    SECTION("EKU clientAuth only: bad-eku") {
        auto p = leaf_profile();
        p.extended_key_usage = {"clientAuth"};
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "bad-eku") != nullptr);
    }
    SECTION("CA:TRUE on the leaf: a warning for rustls") {
        auto p = leaf_profile();
        p.is_ca = true;
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        INFO(families(r));
        REQUIRE(finding(r, "cert-extensions") != nullptr);
        CHECK(finding(r, "cert-extensions")->severity == dg::Severity::Warning);
    }
    SECTION("an unknown critical extension and keyUsage without digitalSignature") {
        auto leaf = pki().leaf(leaf_profile());
        if (int idx = X509_get_ext_by_NID(leaf.cert.get(), NID_key_usage, -1); idx >= 0) {
            X509_EXTENSION_free(X509_delete_ext(leaf.cert.get(), idx));
        }
        certs::X509ExtensionPtr ku(
            X509V3_EXT_conf_nid(nullptr, nullptr, NID_key_usage, "critical,keyEncipherment"));
        REQUIRE(ku);
        X509_add_ext(leaf.cert.get(), ku.get(), -1);
        ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1.1", 1);
        ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
        const unsigned char null_der[2] = {0x05, 0x00};
        ASN1_OCTET_STRING_set(data, null_der, 2);
        certs::X509ExtensionPtr crit(X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, data));
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(data);
        REQUIRE(crit);
        X509_add_ext(leaf.cert.get(), crit.get(), -1);
        re_sign(leaf.cert.get(), pki().ca.key.get());
        auto r = diagnose(tls_obs({der(leaf.cert.get())}));
        INFO(families(r));
        const auto& facts = r.chain.sent.front();
        CHECK(facts.unknown_critical_extensions ==
              std::vector<std::string>{"1.3.6.1.4.1.55555.1.1"});
        CHECK(facts.key_usage == std::vector<std::string>{"keyEncipherment"});
        auto n = std::ranges::count_if(
            r.findings, [](const dg::Finding& f) { return f.family == "cert-extensions"; });
        CHECK(n == 2);
    }
    SECTION("RSA-1024: weak-key, OpenSSL clients fail, Go does not") {
        auto p = leaf_profile();
        p.key.rsa_bits = 1024;
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "weak-key") != nullptr);
        auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
        CHECK(prediction(ps, "ODBC").fails);
        CHECK(prediction(ps, "ODBC").entry_id == "odbc-linux/ee-certificate-key-too-weak");
        CHECK_FALSE(prediction(ps, "go-mssqldb").fails);
    }
    SECTION("ECDSA P-256: a note only") {
        auto p = leaf_profile();
        p.key.type = certs::KeyType::EcP256;
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "cert-key-type") != nullptr);
        CHECK(finding(r, "cert-key-type")->severity == dg::Severity::Info);
        CHECK(r.chain.sent.front().curve == "prime256v1");
        CHECK_FALSE(dg::has_defects(r.findings));
    }
    SECTION("SHA-1 signed leaf: weak-signature") {
        auto p = leaf_profile();
        p.signature_hash = "sha1";
        auto r = diagnose(tls_obs({der(pki().leaf(p).cert.get())}));
        REQUIRE(finding(r, "weak-signature") != nullptr);
    }
}

TEST_CASE("the negotiation: TDS PRELOGIN answers, strict only, PostgreSQL, MySQL") {
    auto leaf = pki().leaf(leaf_profile());
    auto base = tls_obs({der(leaf.cert.get())});
    SECTION("an unknown ENCRYPTION byte and a missing option are prelogin-invalid") {
        auto o = base;
        o.tds.encryption = 0x05;
        REQUIRE(finding(diagnose(o), "prelogin-invalid") != nullptr);
        CHECK(finding(diagnose(o), "prelogin-invalid")->text.find("0x05") != std::string::npos);
        o.tds.encryption.reset();
        REQUIRE(finding(diagnose(o), "prelogin-invalid") != nullptr);
    }
    SECTION("NOT_SUP and OFF are encryption-not-supported; REQ is a note") {
        auto o = base;
        o.tds.encryption = 0x02;
        REQUIRE(finding(diagnose(o), "encryption-not-supported") != nullptr);
        o.tds.encryption = 0x00;
        REQUIRE(finding(diagnose(o), "encryption-not-supported") != nullptr);
        o.tds.encryption = 0x03;
        auto r = diagnose(o);
        REQUIRE(finding(r, "encryption-required") != nullptr);
        CHECK_FALSE(dg::has_defects(r.findings));
    }
    SECTION("PRELOGIN refused but TDS 8.0 accepted: strict-required") {
        auto o = base;
        o.tds.prelogin_answered = false;
        o.tds.encryption.reset();
        o.tds.prelogin_error = "connection closed by the server";
        o.tds.strict_tried = true;
        o.tds.strict_ok = true;
        o.tds.strict_alpn = "tds/8.0";
        o.tds.strict_versions = {"TLSv1.2", "TLSv1.3"};
        auto r = diagnose(o);
        REQUIRE(finding(r, "strict-required") != nullptr);
        auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
        CHECK(prediction(ps, "ODBC").entry_id == "sqlserver/17819-strict-only");
    }
    SECTION("TDS 8.0 without ALPN, with TLS 1.3 only") {
        auto o = base;
        o.tds.strict_tried = true;
        o.tds.strict_ok = true;
        o.tds.strict_versions = {"TLSv1.3"};
        auto r = diagnose(o);
        REQUIRE(finding(r, "alpn-missing") != nullptr);
        REQUIRE(finding(r, "tls-version") != nullptr);
    }
    SECTION("PostgreSQL: SSL refused, no SCRAM-SHA-256-PLUS, no ALPN") {
        auto o = tls_obs({der(leaf.cert.get())}, dg::Protocol::Postgres);
        CHECK_FALSE(dg::has_defects(diagnose(o).findings));
        o.postgres.sasl_mechanisms = {"SCRAM-SHA-256"};
        o.handshakes.front().alpn = "";
        auto r = diagnose(o);
        REQUIRE(finding(r, "channel-binding") != nullptr);
        REQUIRE(finding(r, "alpn-missing") != nullptr);
        o.postgres.ssl_answer = 'N';
        o.handshakes.clear();
        r = diagnose(o);
        REQUIRE(finding(r, "encryption-not-supported") != nullptr);
        auto ps = dg::predict(dg::Protocol::Postgres, r.findings, KnowledgeBase::builtin());
        CHECK(prediction(ps, "libpq").entry_id == "libpq/server-does-not-support-ssl");
    }
    SECTION("MySQL: no CLIENT_SSL; plaintext refused with 3159 is a note") {
        auto o = tls_obs({der(leaf.cert.get())}, dg::Protocol::Mysql);
        o.mysql.plaintext_error = 3159;
        auto r = diagnose(o);
        REQUIRE(finding(r, "plaintext-refused") != nullptr);
        CHECK_FALSE(dg::has_defects(r.findings));
        o.mysql.client_ssl = false;
        o.handshakes.clear();
        REQUIRE(finding(diagnose(o), "encryption-not-supported") != nullptr);
    }
}

TEST_CASE("the handshakes: stall, reset, old versions, legacy crypto, intolerance, SNI") {
    auto leaf = pki().leaf(leaf_profile());
    auto base = tls_obs({der(leaf.cert.get())});
    auto with_baseline = [&](dg::Outcome out) {
        auto o = base;
        o.handshakes.resize(1);
        o.handshakes[0].outcome = out;
        o.handshakes[0].chain.clear();
        return o;
    };
    SECTION("a stall is handshake-timeout, a slow handshake a warning") {
        REQUIRE(finding(diagnose(with_baseline(dg::Outcome::Timeout)), "handshake-timeout"));
        auto o = base;
        o.handshakes[0].elapsed_ms = 1500;
        auto r = diagnose(o);
        REQUIRE(finding(r, "handshake-timeout") != nullptr);
        CHECK(finding(r, "handshake-timeout")->severity == dg::Severity::Warning);
    }
    SECTION("a reset or a close is connection-reset") {
        REQUIRE(finding(diagnose(with_baseline(dg::Outcome::Reset)), "connection-reset"));
        REQUIRE(finding(diagnose(with_baseline(dg::Outcome::Closed)), "connection-reset"));
    }
    SECTION("TLS 1.0 only is tls-version") {
        auto o = base;
        o.handshakes.resize(1);
        o.handshakes[0].version = "TLSv1";
        dg::Handshake v10 = o.handshakes[0];
        v10.label = "tls1.0";
        o.handshakes.push_back(v10);
        auto r = diagnose(o);
        REQUIRE(finding(r, "tls-version") != nullptr);
        CHECK(finding(r, "tls-version")->severity == dg::Severity::Defect);
    }
    SECTION("RSA key exchange hurts Go, not OpenSSL") {
        auto o = base;
        o.handshakes[0].version = "TLSv1.2";
        o.handshakes[0].key_exchange = "RSA";
        o.handshakes[0].cipher = "AES256-GCM-SHA384";
        auto r = diagnose(o);
        REQUIRE(finding(r, "tls-legacy-crypto") != nullptr);
        auto ps = dg::predict(dg::Protocol::Tds, r.findings, KnowledgeBase::builtin());
        CHECK(prediction(ps, "go-mssqldb").fails);
        CHECK_FALSE(prediction(ps, "ODBC").fails);
    }
    SECTION("DHE-1024 and a SHA-1 handshake signature") {
        auto o = base;
        o.handshakes[0].version = "TLSv1.2";
        o.handshakes[0].key_exchange = "DHE 1024";
        o.handshakes[0].signature_hash = "SHA1";
        auto r = diagnose(o);
        INFO(families(r));
        auto n = std::ranges::count_if(
            r.findings, [](const dg::Finding& f) { return f.family == "tls-legacy-crypto"; });
        CHECK(n == 2);
    }
    SECTION("a long signature_algorithms list refused, a short one taken: tls-intolerance") {
        auto o = with_baseline(dg::Outcome::Failed);
        o.handshakes[0].alert = "handshake failure";
        dg::Handshake few = base.handshakes[0];
        few.label = "few-sigalgs";
        o.handshakes.push_back(few);
        REQUIRE(finding(diagnose(o), "tls-intolerance") != nullptr);
    }
    SECTION("SNI: the name refused, SNI required, the certificate chosen by SNI") {
        auto o = with_baseline(dg::Outcome::Failed);
        o.handshakes[0].alert = "unrecognized name";
        dg::Handshake nosni = base.handshakes[0];
        nosni.label = "no-sni";
        o.handshakes.push_back(nosni);
        REQUIRE(finding(diagnose(o), "sni-policy") != nullptr);

        auto req = base;
        dg::Handshake refused = base.handshakes[0];
        refused.label = "no-sni";
        refused.outcome = dg::Outcome::Failed;
        refused.chain.clear();
        req.handshakes.push_back(refused);
        REQUIRE(finding(diagnose(req), "sni-policy") != nullptr);

        auto sel = base;
        auto other = pki().leaf(leaf_profile("default.lab.test"));
        dg::Handshake another = base.handshakes[0];
        another.label = "no-sni";
        another.chain = {der(other.cert.get())};
        sel.handshakes.push_back(another);
        REQUIRE(finding(diagnose(sel), "sni-policy") != nullptr);
    }
}

TEST_CASE("the JSON report is versioned and carries findings, fixes and predictions") {
    auto self = certs::issue(leaf_profile(), nullptr, nullptr);
    REQUIRE(self);
    dg::Diagnosis d;
    d.observations = tls_obs({der(self->cert.get())});
    d.chain = dg::analyse_chain(d.observations.handshakes[0].chain, pki().store.get(), "--ca t",
                                "db.lab.test", "127.0.0.1", now_s());
    d.findings = dg::find_defects(d.observations, d.chain);
    d.predictions = dg::predict(dg::Protocol::Tds, d.findings, KnowledgeBase::builtin());
    auto j = nlohmann::json::parse(dg::render_json(d, KnowledgeBase::builtin()));
    CHECK(j["tlslab_diagnose"] == dg::kJsonVersion);
    CHECK(j["target"]["protocol"] == "tds");
    CHECK(j["defects"] == true);
    REQUIRE(j["findings"].size() >= 1);
    CHECK(j["findings"][0]["family"] == "cert-self-signed");
    CHECK(!j["findings"][0]["fix"].empty());
    CHECK(j["certificates"]["sent"][0]["self_signed"] == true);
    CHECK(j["predictions"].size() == d.predictions.size());
    auto text = dg::render_text(d, KnowledgeBase::builtin());
    CHECK(text.find("cert-self-signed") != std::string::npos);
    CHECK(text.find("What clients will do") != std::string::npos);
}
