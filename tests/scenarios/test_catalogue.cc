#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include <scenarios/catalogue.h>

using scenarios::Catalogue;
using scenarios::parse_scenario;

TEST_CASE("the built-in catalogue has its scenarios in a stable order", "[scenarios]") {
    auto c = Catalogue::builtin();
    REQUIRE(c);
    const std::vector<std::string> expected = {"valid",
                                               "self-signed",
                                               "untrusted-root",
                                               "expired",
                                               "not-yet-valid",
                                               "wrong-host",
                                               "cn-only",
                                               "ip-mismatch",
                                               "tls1.0-only",
                                               "tls1.1-only",
                                               "weak-rsa1024",
                                               "sha1-signature",
                                               "no-serverauth-eku",
                                               "incomplete-chain",
                                               "reset-during-handshake",
                                               "passthrough",
                                               "encrypt-not-supported",
                                               "encrypt-off",
                                               "encrypt-required",
                                               "tds8-no-alpn",
                                               "pg-ssl-refused",
                                               "pg-no-channel-binding",
                                               "pg-no-alpn",
                                               "mysql-ssl-hidden",
                                               "sql-fallback-cert",
                                               "sql-fallback-negative-serial",
                                               "ca-new-root",
                                               "ca-cross-signed",
                                               "ca-expired-intermediate",
                                               "ca-expired-root-cross-sign",
                                               "ca-retired",
                                               "expires-in-60s",
                                               "expired-1s-ago",
                                               "key-ec-p256",
                                               "key-ec-p384",
                                               "key-rsa-pss",
                                               "key-rsa-4096",
                                               "key-ed25519",
                                               "leaf-ca-true",
                                               "key-usage-no-signature",
                                               "unknown-critical-extension",
                                               "name-constraint-violated",
                                               "deep-chain",
                                               "tls1.0-rsa-3des",
                                               "sha1-handshake-signature",
                                               "rsa-key-exchange-only",
                                               "dhe-1024",
                                               "few-sigalgs-only",
                                               "sni-required",
                                               "sni-selects-cert",
                                               "sni-unknown",
                                               "tds8-tls1.3-only",
                                               "tds8-tls1.2-only",
                                               "handshake-stall",
                                               "slow-handshake",
                                               "reset-after-server-hello",
                                               "prelogin-unknown-encryption",
                                               "prelogin-no-encryption-option",
                                               "strict-only-server",
                                               "redirect-wrong-host",
                                               "dial-short-cert-fqdn",
                                               "dial-fqdn-cert-short",
                                               "dial-localhost-cert-fqdn",
                                               "wildcard",
                                               "cn-right-san-wrong",
                                               "ag-listener-name"};
    CHECK(c->names() == expected);
    for (const auto& s : c->all()) {
        INFO(s.name);
        CHECK_FALSE(s.description.empty());
        CHECK_FALSE(s.expect_detail.empty());
        CHECK(s.source.rfind("builtin:", 0) == 0);
    }
    const auto* expired = c->find("expired");
    REQUIRE(expired);
    CHECK(expired->certificate.not_after_days == -35);
    CHECK(expired->expect == scenarios::Expect::Reject);
    CHECK(c->find("tls1.0-only")->tls.only_version == "1.0");
    CHECK(c->find("tls1.0-only")->tls.security_level == 0);
    CHECK(c->find("incomplete-chain")->certificate.issuer == scenarios::Issuer::UnsentIntermediate);
    CHECK(c->find("passthrough")->passthrough);
    // Which protocols each scenario serves: the TDS negotiation faults only TDS, the PostgreSQL
    // ones only PostgreSQL, the MySQL ones only MySQL, certificate faults every protocol.
    using scenarios::Protocol;
    CHECK(scenarios::serves(*c->find("expired"), Protocol::Tds));
    CHECK(scenarios::serves(*c->find("expired"), Protocol::Postgres));
    CHECK(scenarios::serves(*c->find("expired"), Protocol::Tls));
    CHECK(scenarios::serves(*c->find("encrypt-off"), Protocol::Tds));
    CHECK_FALSE(scenarios::serves(*c->find("encrypt-off"), Protocol::Postgres));
    CHECK_FALSE(scenarios::serves(*c->find("pg-ssl-refused"), Protocol::Tds));
    CHECK(c->find("pg-ssl-refused")->postgres.refuse_ssl);
    CHECK(c->find("pg-no-channel-binding")->postgres.strip_channel_binding);
    CHECK(scenarios::serves(*c->find("expired"), Protocol::Mysql));
    CHECK_FALSE(scenarios::serves(*c->find("pg-ssl-refused"), Protocol::Mysql));
    CHECK_FALSE(scenarios::serves(*c->find("encrypt-off"), Protocol::Mysql));
    CHECK(scenarios::serves(*c->find("mysql-ssl-hidden"), Protocol::Mysql));
    CHECK_FALSE(scenarios::serves(*c->find("mysql-ssl-hidden"), Protocol::Postgres));
    CHECK(c->find("mysql-ssl-hidden")->mysql.hide_ssl);
}

TEST_CASE("a bad scenario file is an error naming the file and the key", "[scenarios]") {
    auto err = [](const std::string& text) {
        auto s = parse_scenario(text, "my.toml");
        REQUIRE_FALSE(s);
        return s.error();
    };
    const std::string head = "name = \"x\"\ndescription = \"d\"\n";
    CHECK(err(head + "colour = \"red\"\n") == "my.toml: colour: unknown key");
    CHECK(err(head + "[certificate]\nisuer = \"self\"\n") ==
          "my.toml: certificate.isuer: unknown key");
    CHECK(err(head + "[certificate]\nissuer = 3\n") ==
          "my.toml: certificate.issuer: must be a string");
    CHECK_THAT(err(head + "[certificate]\nissuer = \"nobody\"\n"),
               Catch::StartsWith("my.toml: certificate.issuer: must be"));
    CHECK_THAT(err(head + "[certificate]\nnot_before_days = 5\nnot_after_days = 1\n"),
               Catch::StartsWith("my.toml: certificate.not_after_days:"));
    CHECK_THAT(err(head + "[certificate]\nkey_bits = 64\n"),
               Catch::StartsWith("my.toml: certificate.key_bits: must be a whole number"));
    // Found by fuzz/scenario_toml (fuzz/corpus/scenario_toml/crash-key-bits-1E024): a float
    // beyond int64_t was converted to an integer inside toml++ (undefined behaviour).
    CHECK_THAT(err(head + "[certificate]\nkey_bits = 1E024\n"),
               Catch::StartsWith("my.toml: certificate.key_bits: must be a whole number"));
    CHECK_THAT(err(head + "[certificate]\nkey_bits = 2048.0\n"),
               Catch::StartsWith("my.toml: certificate.key_bits: must be a whole number"));
    CHECK_THAT(err(head + "[tls]\nmax_version = \"2.0\"\n"),
               Catch::StartsWith("my.toml: tls.max_version:"));
    CHECK_THAT(err(head + "[tds]\nencryption_to_client = \"maybe\"\n"),
               Catch::StartsWith("my.toml: tds.encryption_to_client:"));
    CHECK_THAT(err(head + "expect = \"perhaps\"\n"), Catch::StartsWith("my.toml: expect:"));
    CHECK_THAT(err(head + "protocols = [\"mssql\"]\n"), Catch::StartsWith("my.toml: protocols:"));
    CHECK_THAT(err(head + "protocols = []\n"), Catch::StartsWith("my.toml: protocols:"));
    CHECK(err(head + "[postgres]\nrefuse = true\n") == "my.toml: postgres.refuse: unknown key");
    CHECK(err(head + "[mysql]\nhide = true\n") == "my.toml: mysql.hide: unknown key");
    CHECK_THAT(err("description = \"d\"\n"), Catch::StartsWith("my.toml: name:"));
    CHECK_THAT(err("name = \"x\"\n"), Catch::StartsWith("my.toml: description:"));
    CHECK_THAT(err(head + "certificate = 1\n"),
               Catch::StartsWith("my.toml: certificate: must be a table"));
    // TOML syntax errors carry the line and column.
    CHECK_THAT(err("name = \"x\"\ndescription = \n"), Catch::StartsWith("my.toml:2:"));
}

TEST_CASE("a user directory adds scenarios and replaces built-ins by name", "[scenarios]") {
    auto dir = std::filesystem::temp_directory_path() / "tlslab-scenarios-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "a.toml")
        << "name = \"mine\"\ndescription = \"my own\"\nexpect = \"reject\"\n"
           "[certificate]\nnot_after_days = 2\nnot_before_days = 1\n"
           "[tds]\nencryption_to_client = \"not-supported\"\n";
    std::ofstream(dir / "b.toml")
        << "name = \"expired\"\ndescription = \"long expired\"\n"
           "[certificate]\nnot_before_days = -900\nnot_after_days = -800\n";
    auto c = Catalogue::builtin();
    REQUIRE(c);
    REQUIRE(c->add_directory(dir));
    CHECK(c->names().back() == "mine");
    CHECK(c->find("mine")->tds.encryption_to_client == 0x02);
    CHECK(c->find("expired")->certificate.not_after_days == -800);
    CHECK(c->names()[3] == "expired"); // replaced in place: ports stay stable
    std::ofstream(dir / "c.toml") << "name = \"broken\"\ndescription = \"d\"\nsurprise = 1\n";
    auto bad = c->add_directory(dir);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error(), Catch::Contains("c.toml: surprise: unknown key"));
    CHECK_FALSE(c->add_directory(dir / "missing"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("the catalogue v2 fields are read with their types and ranges", "[scenarios]") {
    const std::string head = "name = \"x\"\ndescription = \"d\"\n";
    auto ok = [](const std::string& text) {
        auto s = parse_scenario(text, "my.toml");
        INFO((s ? std::string() : s.error()));
        REQUIRE(s);
        return *s;
    };
    auto s = ok(head + "dial = \"sql01.corp.example\"\n"
                       "[certificate]\nissuer = \"deep-chain\"\nchain_depth = 9\n"
                       "key = \"ed25519\"\nserial = \"random-16-negative\"\n"
                       "not_before_seconds = -1\nnot_after_seconds = 60\n"
                       "basic_constraints_ca = true\nkey_usage = []\n"
                       "unknown_critical_extension = true\n"
                       "[tls]\nsigalgs = \"RSA+SHA1\"\ndh_group = \"modp1024\"\n"
                       "max_client_sigalgs = 8\nsni = \"select\"\n"
                       "[fault]\nhandshake_delay_ms = 1500\n"
                       "[tds]\nencryption_to_client = \"0x05\"\nomit_encryption_option = true\n"
                       "strict_only = true\nroute_to_host = \"sql-replica.lab.test\"\n");
    CHECK(s.dial == scenarios::Dial::Host);
    CHECK(scenarios::dial_name(s, "localhost") == "sql01.corp.example");
    CHECK(scenarios::names_to_resolve(s) ==
          std::vector<std::string>{"sql01.corp.example", "sql-replica.lab.test"});
    CHECK(s.certificate.issuer == scenarios::Issuer::DeepChain);
    CHECK(s.certificate.chain_depth == 9);
    CHECK(s.certificate.key == scenarios::KeyKind::Ed25519);
    CHECK(s.certificate.serial == scenarios::Serial::Random16Negative);
    CHECK(s.certificate.not_after_seconds == 60);
    CHECK(s.certificate.not_before_seconds == -1);
    CHECK(s.certificate.basic_constraints_ca);
    REQUIRE(s.certificate.key_usage);
    CHECK(s.certificate.key_usage->empty());
    CHECK(s.certificate.unknown_critical_extension);
    CHECK(s.tls.sigalgs == "RSA+SHA1");
    CHECK(s.tls.dh_group == "modp1024");
    CHECK(s.tls.max_client_sigalgs == 8);
    CHECK(s.tls.sni == scenarios::TlsPolicy::Sni::Select);
    CHECK(s.fault.handshake_delay_ms == 1500);
    CHECK(ok(head + "[fault]\nstall_after_client_hello = true\n").fault.stall_after_client_hello);
    CHECK(ok(head + "[fault]\nreset_after_server_hello = true\n").fault.reset_after_server_hello);
    CHECK(s.tds.encryption_to_client == 0x05);
    CHECK(s.tds.omit_encryption_option);
    CHECK(s.tds.strict_only);
    CHECK(s.tds.route_to_host == "sql-replica.lab.test");

    auto plain = ok(head);
    CHECK(plain.dial == scenarios::Dial::Name);
    CHECK(scenarios::dial_name(plain, "localhost") == "localhost");
    CHECK(scenarios::names_to_resolve(plain).empty());
    CHECK_FALSE(plain.certificate.key_usage);
    CHECK(plain.certificate.serial == scenarios::Serial::Random);
    CHECK(plain.tls.sni == scenarios::TlsPolicy::Sni::Ignore);

    auto err = [](const std::string& text) {
        auto r = parse_scenario(text, "my.toml");
        REQUIRE_FALSE(r);
        return r.error();
    };
    CHECK_THAT(err(head + "dial = \"Not A Name!\"\n"), Catch::StartsWith("my.toml: dial:"));
    CHECK_THAT(err(head + "[certificate]\nissuer = \"deep-chain\"\n"),
               Catch::StartsWith("my.toml: certificate.chain_depth:"));
    CHECK_THAT(err(head + "[certificate]\nchain_depth = 3\n"),
               Catch::StartsWith("my.toml: certificate.chain_depth:"));
    CHECK_THAT(err(head + "[certificate]\nserial = \"negative\"\n"),
               Catch::StartsWith("my.toml: certificate.serial: must be random,"));
    CHECK_THAT(err(head + "[certificate]\nkey = \"dsa\"\n"),
               Catch::StartsWith("my.toml: certificate.key: must be rsa,"));
    CHECK_THAT(err(head + "[certificate]\nnot_before_seconds = 5\nnot_after_seconds = 5\n"),
               Catch::StartsWith("my.toml: certificate.not_after_seconds:"));
    CHECK_THAT(err(head + "[tls]\nsni = \"maybe\"\n"), Catch::StartsWith("my.toml: tls.sni:"));
    CHECK_THAT(err(head + "[tls]\ndh_group = \"modp512\"\n"),
               Catch::StartsWith("my.toml: tls.dh_group:"));
    CHECK_THAT(err(head + "[tls]\nmax_client_sigalgs = 0\n"),
               Catch::StartsWith("my.toml: tls.max_client_sigalgs:"));
    CHECK_THAT(err(head + "[fault]\nhandshake_delay_ms = -1\n"),
               Catch::StartsWith("my.toml: fault.handshake_delay_ms:"));
    CHECK(err(head + "[fault]\nstall = true\n") == "my.toml: fault.stall: unknown key");
    CHECK_THAT(err(head + "[fault]\nstall_after_client_hello = true\nhandshake_delay_ms = 5\n"),
               Catch::StartsWith("my.toml: fault.handshake_delay_ms: one fault per scenario"));
    CHECK_THAT(err(head + "dial = \"10.0.0.5\"\n"), Catch::StartsWith("my.toml: dial:"));
    CHECK_THAT(err(head + "[tls]\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n"),
               Catch::StartsWith("my.toml: tls.min_version: must not be newer"));
    CHECK_THAT(err(head + "[tds]\nencryption_to_client = \"0xZZ\"\n"),
               Catch::StartsWith("my.toml: tds.encryption_to_client:"));
    CHECK_THAT(err(head + "[tds]\nroute_to_host = \"-bad host-\"\n"),
               Catch::StartsWith("my.toml: tds.route_to_host:"));
}
