#include <filesystem>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <certs/certificate_info.h>
#include <certs/lab_ca.h>
#include <certs/pem.h>

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/tlslab-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("the lab CA is created once, with a private key only its owner can read",
          "[certs][lab_ca]") {
    TempDir dir;
    auto state = dir.path / "state";
    auto first = certs::LabCa::load_or_create(state);
    REQUIRE(first);
    CHECK(first->created());
    struct stat st {};
    REQUIRE(::stat((state / "ca.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto second = certs::LabCa::load_or_create(state);
    REQUIRE(second);
    CHECK_FALSE(second->created());
    CHECK(X509_cmp(first->cert(), second->cert()) == 0);

    auto info = certs::describe(first->cert());
    CHECK(info.subject.find("CN=tlslab lab CA") != std::string::npos);
    CHECK(info.self_signed);
}

TEST_CASE("a damaged state directory is a clear error, not a new CA", "[certs][lab_ca]") {
    TempDir dir;
    REQUIRE(certs::LabCa::load_or_create(dir.path));
    SECTION("key missing") {
        fs::remove(dir.path / "ca.key");
        auto again = certs::LabCa::load_or_create(dir.path);
        REQUIRE_FALSE(again);
        CHECK_THAT(again.error(), Catch::Contains("only one of"));
    }
    SECTION("key of another CA") {
        TempDir other;
        REQUIRE(certs::LabCa::load_or_create(other.path));
        fs::copy_file(other.path / "ca.key", dir.path / "ca.key",
                      fs::copy_options::overwrite_existing);
        auto again = certs::LabCa::load_or_create(dir.path);
        REQUIRE_FALSE(again);
        CHECK_THAT(again.error(), Catch::Contains("does not belong"));
    }
    SECTION("garbage certificate") {
        REQUIRE(certs::write_file(dir.path / "ca.pem", "not a certificate", 0644, false));
        REQUIRE_FALSE(certs::LabCa::load_or_create(dir.path));
    }
}

TEST_CASE("leaves carry the names, validity, key and hash they were asked for", "[certs][issuer]") {
    TempDir dir;
    auto ca = certs::LabCa::load_or_create(dir.path);
    REQUIRE(ca);
    certs::CertificateProfile p;
    p.common_name = "db.lab.test";
    p.dns_names = {"db.lab.test", "localhost"};
    p.ip_addresses = {"127.0.0.1", "::1"};
    SECTION("valid, RSA 2048, SHA-256, serverAuth") {
        auto leaf = ca->issue_leaf(p);
        REQUIRE(leaf);
        auto info = certs::describe(leaf->cert.get());
        CHECK(info.subject_alt_names == std::vector<std::string>{"DNS:db.lab.test", "DNS:localhost",
                                                                 "IP:127.0.0.1",
                                                                 "IP:0:0:0:0:0:0:0:1"});
        CHECK(info.key == "RSA 2048");
        CHECK(info.signature_algorithm == "sha256WithRSAEncryption");
        CHECK(info.extended_key_usage == std::vector<std::string>{"serverAuth"});
        CHECK_FALSE(info.self_signed);
        CHECK(info.sha256_fingerprint.size() == 64);
        CHECK(X509_check_host(leaf->cert.get(), "db.lab.test", 0, 0, nullptr) == 1);
        CHECK(X509_cmp_current_time(X509_get0_notBefore(leaf->cert.get())) < 0);
        CHECK(X509_cmp_current_time(X509_get0_notAfter(leaf->cert.get())) > 0);
    }
    SECTION("expired, weak, SHA-1, clientAuth only: the defects are really there") {
        p.not_before = -std::chrono::days(400);
        p.not_after = -std::chrono::days(35);
        p.key.rsa_bits = 1024;
        p.signature_hash = "sha1";
        p.extended_key_usage = {"clientAuth"};
        auto leaf = ca->issue_leaf(p);
        REQUIRE(leaf);
        auto info = certs::describe(leaf->cert.get());
        CHECK(info.key == "RSA 1024");
        CHECK(info.signature_algorithm == "sha1WithRSAEncryption");
        CHECK(info.extended_key_usage == std::vector<std::string>{"clientAuth"});
        CHECK(X509_cmp_current_time(X509_get0_notAfter(leaf->cert.get())) < 0);
    }
    SECTION("self-signed and EC keys") {
        p.key.type = certs::KeyType::EcP256;
        auto leaf = certs::issue(p, nullptr, nullptr);
        REQUIRE(leaf);
        auto info = certs::describe(leaf->cert.get());
        CHECK(info.self_signed);
        CHECK(info.key == "EC 256");
    }
    SECTION("an unknown hash is an error") {
        p.signature_hash = "sha-nope";
        CHECK_FALSE(ca->issue_leaf(p));
    }
}

namespace {

// verify_leaf: X509_verify_cert of `leaf` against the CA alone (no host check: the constraint
// is what is tested).
int verify_leaf(X509* ca, X509* leaf) {
    certs::X509StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), ca);
    certs::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) == 1);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx.get());
    return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

int verify_names(const certs::LabCa& ca, std::vector<std::string> dns, std::vector<std::string> ips,
                 const std::string& cn = "") {
    certs::CertificateProfile p;
    p.common_name = cn.empty() ? (dns.empty() ? std::string("lab leaf") : dns.front()) : cn;
    p.dns_names = std::move(dns);
    p.ip_addresses = std::move(ips);
    auto leaf = ca.issue_leaf(p);
    REQUIRE(leaf);
    return verify_leaf(ca.cert(), leaf->cert.get());
}

certs::PermittedNames lab_like_names() {
    certs::PermittedNames n;
    n.dns = {"localhost", "sql01", "*.corp.example", "lab.test", "tlslab.invalid"};
    n.ip = {"127.0.0.0/8", "::1/128", "192.0.2.10/32"};
    return n;
}

} // namespace

TEST_CASE("ca --constrain: a new key, a critical nameConstraints, the lab's names validate and "
          "example.com does not",
          "[certs][lab_ca][constrain]") {
    TempDir dir;
    auto old = certs::LabCa::load_or_create(dir.path);
    REQUIRE(old);
    CHECK_FALSE(old->permitted());

    auto ca = certs::LabCa::constrain(dir.path, lab_like_names());
    REQUIRE(ca);
    // A new key: no copy of the old, unconstrained certificate validates what it signs.
    CHECK(EVP_PKEY_eq(ca->key(), old->key()) != 1);
    CHECK(certs::describe(ca->cert()).subject.find("CN=tlslab lab CA (constrained)") !=
          std::string::npos);
    auto permitted = ca->permitted();
    REQUIRE(permitted);
    CHECK(permitted->critical);
    CHECK(permitted->dns == std::vector<std::string>{"localhost", "sql01", "corp.example",
                                                     "lab.test", "tlslab.invalid"});
    CHECK(permitted->ip == std::vector<std::string>{"127.0.0.0/8", "::1/128", "192.0.2.10/32"});

    // What the lab uses validates.
    CHECK(verify_names(*ca, {"localhost"}, {"127.0.0.1", "::1"}) == X509_V_OK);
    CHECK(verify_names(*ca, {"sql01.corp.example"}, {}) == X509_V_OK);
    CHECK(verify_names(*ca, {"*.corp.example"}, {}) == X509_V_OK);
    CHECK(verify_names(*ca, {"sql01", "sql-replica.lab.test"}, {"127.0.0.5"}) == X509_V_OK);
    CHECK(verify_names(*ca, {"default.tlslab.invalid"}, {"192.0.2.10"}) == X509_V_OK);

    // The internet does not.
    CHECK(verify_names(*ca, {"example.com"}, {}) == X509_V_ERR_PERMITTED_VIOLATION);
    CHECK(verify_names(*ca, {"www.example.com", "localhost"}, {}) ==
          X509_V_ERR_PERMITTED_VIOLATION);
    CHECK(verify_names(*ca, {"localhost"}, {"93.184.216.34"}) == X509_V_ERR_PERMITTED_VIOLATION);
    CHECK(verify_names(*ca, {"localhost"}, {"2001:db8::1"}) == X509_V_ERR_PERMITTED_VIOLATION);
    CHECK(verify_names(*ca, {"notcorp.example"}, {}) == X509_V_ERR_PERMITTED_VIOLATION);
    // No SAN at all: OpenSSL checks a CN that looks like a host name against the DNS subtrees.
    CHECK(verify_names(*ca, {}, {}, "www.example.com") == X509_V_ERR_PERMITTED_VIOLATION);

    // The same leaf from the old, unconstrained CA validates against it: the constraint is what
    // refuses it above.
    certs::CertificateProfile p;
    p.common_name = "example.com";
    p.dns_names = {"example.com"};
    p.ip_addresses = {};
    auto leaf = old->issue_leaf(p);
    REQUIRE(leaf);
    CHECK(verify_leaf(old->cert(), leaf->cert.get()) == X509_V_OK);
    // ... and the old CA no longer validates the new CA's leaves.
    auto lab_leaf = ca->issue_leaf(p);
    REQUIRE(lab_leaf);
    CHECK(verify_leaf(old->cert(), lab_leaf->cert.get()) != X509_V_OK);

    // The state directory now holds the constrained CA, key 0600, and nothing half-written.
    auto again = certs::LabCa::load_or_create(dir.path);
    REQUIRE(again);
    CHECK_FALSE(again->created());
    CHECK(X509_cmp(again->cert(), ca->cert()) == 0);
    CHECK(again->permitted());
    struct stat st {};
    REQUIRE(::stat((dir.path / "ca.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(fs::exists(dir.path / "ca.key.new"));
    CHECK_FALSE(fs::exists(dir.path / "ca.pem.new"));
}

TEST_CASE("ca --constrain with no CA yet creates a constrained one; bad ranges are errors",
          "[certs][lab_ca][constrain]") {
    TempDir dir;
    auto state = dir.path / "fresh";
    auto ca = certs::LabCa::constrain(state, lab_like_names());
    REQUIRE(ca);
    CHECK(ca->permitted());
    certs::PermittedNames bad;
    bad.dns = {"localhost"};
    bad.ip = {"127.0.0.0/33"};
    CHECK_FALSE(certs::LabCa::constrain(state, bad));
    bad.ip = {"not-an-ip/8"};
    CHECK_FALSE(certs::LabCa::constrain(state, bad));
    CHECK_FALSE(certs::LabCa::constrain(state, certs::PermittedNames{}));
    // A failed attempt leaves the CA that was there.
    auto still = certs::LabCa::load_or_create(state);
    REQUIRE(still);
    CHECK(X509_cmp(still->cert(), ca->cert()) == 0);
}
