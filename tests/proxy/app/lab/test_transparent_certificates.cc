#include <cstdlib>
#include <filesystem>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <certs/certificate_info.h>
#include <certs/issuer.h>
#include <proxy/app/lab/transparent_certificates.h>

using namespace proxy::app;

TEST_CASE("the names a transparent certificate carries", "[lab][transparent]") {
    SECTION("SNI: the DNS name and CN; the dialled IP as IP address") {
        auto n = names_for_client(std::string("db.corp.example"), "10.1.2.2");
        CHECK(n.common_name == "db.corp.example");
        CHECK(n.dns_names == std::vector<std::string>{"db.corp.example"});
        CHECK(n.ip_addresses == std::vector<std::string>{"10.1.2.2"});
    }
    SECTION("no SNI (the client dialled an IP): the IP, as CN too") {
        auto n = names_for_client(std::nullopt, "10.1.2.2");
        CHECK(n.common_name == "10.1.2.2");
        CHECK(n.dns_names.empty());
        CHECK(n.ip_addresses == std::vector<std::string>{"10.1.2.2"});
        CHECK(names_for_client(std::string(""), "10.1.2.2").dns_names.empty());
    }
    SECTION("an SNI that is an IP literal is an IP, never a DNS name") {
        auto n = names_for_client(std::string("10.9.9.9"), "10.1.2.2");
        CHECK(n.dns_names.empty());
        CHECK(n.ip_addresses == std::vector<std::string>{"10.1.2.2", "10.9.9.9"});
    }
}

TEST_CASE("renamed binds placeholders, keeps a scenario's fixed names", "[lab][transparent]") {
    CertificateNames n{"db.corp.example", {"db.corp.example"}, {"10.1.2.2"}, std::nullopt};
    scenarios::Scenario valid; // defaults: CN {host}, DNS {hostnames}, IP {ips}
    auto v = renamed(valid, n);
    CHECK(v.certificate.common_name == "db.corp.example");
    CHECK(v.certificate.dns_names == std::vector<std::string>{"db.corp.example"});
    CHECK(v.certificate.ip_addresses == std::vector<std::string>{"10.1.2.2"});
    scenarios::Scenario wrong;
    wrong.certificate.common_name = "wrong.example";
    wrong.certificate.dns_names = {"wrong.example"};
    wrong.certificate.ip_addresses = {};
    auto w = renamed(wrong, n);
    CHECK(w.certificate.common_name == "wrong.example");
    CHECK(w.certificate.dns_names == std::vector<std::string>{"wrong.example"});
    CHECK(w.certificate.ip_addresses.empty());
}

TEST_CASE("the certificate cache is bounded, least recently used first out", "[lab][transparent]") {
    BoundedCache<int> c(2);
    c.put("a", 1);
    c.put("b", 2);
    REQUIRE(c.find("a") != nullptr); // a is now the most recent
    c.put("c", 3);                   // b goes
    CHECK(c.size() == 2);
    CHECK(c.find("b") == nullptr);
    CHECK(*c.find("a") == 1);
    CHECK(*c.find("c") == 3);
    c.put("c", 4);
    CHECK(*c.find("c") == 4);
    CHECK(c.size() == 2);
    for (int i = 0; i < 1000; ++i) {
        c.put("sni" + std::to_string(i), i);
    }
    CHECK(c.size() == 2);
    BoundedCache<int> none(0);
    none.put("x", 1);
    CHECK(none.find("x") == nullptr);
}

TEST_CASE("mirror copies the subject and SAN names of a real certificate", "[lab][transparent]") {
    certs::CertificateProfile p;
    p.common_name = "sql01.corp.example";
    p.organization = "Contoso Ltd";
    p.dns_names = {"sql01.corp.example", "sql01"};
    p.ip_addresses = {"10.0.0.5"};
    auto real = certs::issue(p, nullptr, nullptr);
    REQUIRE(real);
    auto n = mirror_names(real->cert.get());
    CHECK(n.common_name == "sql01.corp.example");
    CHECK(n.dns_names == std::vector<std::string>{"sql01.corp.example", "sql01"});
    CHECK(n.ip_addresses == std::vector<std::string>{"10.0.0.5"});
    CHECK(n.organization == "Contoso Ltd");
    // the lab's certificate for these names carries the real subject's O, not "tlslab"
    scenarios::Scenario valid;
    CHECK(renamed(valid, n).certificate.organization == "Contoso Ltd");
    CHECK(renamed(valid, n).certificate.common_name == "sql01.corp.example");
    certs::CertificateProfile fallback; // SQL Server's: CN only, no SAN
    fallback.common_name = "SSL_Self_Signed_Fallback";
    fallback.organization.clear();
    auto fb = certs::issue(fallback, nullptr, nullptr);
    REQUIRE(fb);
    auto m = mirror_names(fb->cert.get());
    CHECK(m.common_name == "SSL_Self_Signed_Fallback");
    CHECK(m.dns_names.empty());
    CHECK(m.organization == ""); // none in the real subject: none in the lab's copy
    CHECK(renamed(valid, m).certificate.organization.empty());
    CHECK(mirror_names(nullptr).key() == "cn=");
}

TEST_CASE("a runtime per names: the scenario's key, cached, bounded", "[lab][transparent]") {
    char tmpl[] = "/tmp/tlslab-transparent-test-XXXXXX";
    std::filesystem::path dir = ::mkdtemp(tmpl);
    auto lab = Lab::prepare(LabOptions{dir, {}, std::nullopt});
    REQUIRE(lab);
    auto base = (*lab)->runtime("valid");
    REQUIRE(base);
    TransparentCertificates certificates(**lab, 2);
    auto db =
        certificates.runtime(**base, names_for_client(std::string("db.corp.example"), "10.1.2.2"));
    REQUIRE(db);
    auto info = certs::describe((*db)->leaf.cert.get());
    CHECK(info.subject_alt_names == std::vector<std::string>{"DNS:db.corp.example", "IP:10.1.2.2"});
    // The same key as the scenario's: no key generation on the loop thread.
    CHECK(EVP_PKEY_eq((*db)->leaf.key.get(), (*base)->leaf.key.get()) == 1);
    auto again =
        certificates.runtime(**base, names_for_client(std::string("db.corp.example"), "10.1.2.2"));
    REQUIRE(again);
    CHECK(again->get() == db->get()); // cached
    for (int i = 0; i < 5; ++i) {
        REQUIRE(
            certificates.runtime(**base, names_for_client("h" + std::to_string(i), "10.1.2.2")));
    }
    CHECK(certificates.cached() == 2);
    std::filesystem::remove_all(dir);
}
