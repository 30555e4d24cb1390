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
