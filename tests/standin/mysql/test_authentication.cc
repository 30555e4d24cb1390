#include <catch2/catch.hpp>

#include <standin/mysql/auth_crypto.h>

#include "mysql_test_client.h"

using mysqltest::Bytes;
using mysqltest::Client;
using standin::mysql::AuthPlugin;
using standin::mysql::Config;
using standin::mysql::ConnectionFacts;
using standin::mysql::Flavour;

namespace {

Config mysql80() {
    return Config{};
}

Config mariadb() {
    Config c;
    c.flavour = Flavour::Mariadb114;
    return c;
}

} // namespace

TEST_CASE("mysql greeting: MySQL 8.0 as it sends it", "[standin][mysql]") {
    Client c(mysql80());
    const auto& g = c.greeting;
    CHECK(g.protocol_version == 10);
    CHECK(g.server_version == "8.0.40");
    CHECK(g.connection_id == 1);
    CHECK(g.character_set == 255);
    CHECK(g.status_flags == 0x0002);
    CHECK(g.auth_plugin_name == "caching_sha2_password");
    CHECK(g.auth_plugin_data.size() == 20);
    CHECK(g.auth_plugin_data_length == 21);
    CHECK_FALSE(g.is_mariadb());
    // 0xDFFFFFFF without CLIENT_COMPRESS and CLIENT_ZSTD_COMPRESSION_ALGORITHM
    CHECK(g.capabilities == 0xDBFFFFDFU);
    CHECK((g.capabilities & mysql::cap::Ssl) != 0);
    for (auto b : g.auth_plugin_data) {
        CHECK(b != 0);
        CHECK(b != '$');
    }
    // the payload ends with the plugin name and its NUL
    auto raw = mysqltest::packets(c.responder.greeting())[0].payload;
    std::string tail(raw.end() - 22, raw.end());
    CHECK(tail == std::string("caching_sha2_password") + '\0');
}

TEST_CASE("mysql greeting: MariaDB 11.4 clears CLIENT_MYSQL and sends its extended caps",
          "[standin][mysql]") {
    Client c(mariadb());
    const auto& g = c.greeting;
    CHECK(g.server_version == "11.4.4-MariaDB");
    CHECK(g.is_mariadb());
    CHECK(g.capabilities == 0x81FFFFDEU); // 10.11 sends 0x81FFFFFE; minus CLIENT_COMPRESS
    // 10.11 sends 0x1D; the stand-in leaves out extended and cached metadata, which it does not
    // write
    CHECK(g.mariadb_capabilities() == 0x05);
    CHECK(g.character_set == 45);
    CHECK(g.auth_plugin_name == "mysql_native_password");
}

TEST_CASE("mysql greeting: no CLIENT_SSL when TLS is off", "[standin][mysql]") {
    ConnectionFacts f;
    f.ssl_offered = false;
    Client c(mysql80(), f);
    CHECK((c.greeting.capabilities & mysql::cap::Ssl) == 0);
}

TEST_CASE("mysql_native_password: the scramble checks, a wrong password gets MariaDB's 1045",
          "[standin][mysql]") {
    Client ok(mariadb());
    ok.login("mysql_native_password",
             mysqltest::native_response("lab-password", ok.greeting.auth_plugin_data));
    REQUIRE(ok.replies.size() == 1);
    CHECK(ok.replies[0].sequence == 2);
    CHECK(ok.replies[0].payload == Bytes({0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}));
    CHECK(ok.responder.authenticated());

    Client bad(mariadb());
    bad.login("mysql_native_password",
              mysqltest::native_response("wrong", bad.greeting.auth_plugin_data));
    auto err = bad.error();
    REQUIRE(err);
    CHECK(err->code == 1045);
    CHECK(err->sql_state == "28000");
    CHECK(err->message == "Access denied for user 'lab'@'127.0.0.1' (using password: YES)");
    CHECK(bad.closed);

    Client empty(mariadb());
    empty.login("mysql_native_password", {});
    REQUIRE(empty.error());
    CHECK(empty.error()->message ==
          "Access denied for user 'lab'@'127.0.0.1' (using password: NO)");
}

TEST_CASE("caching_sha2_password: the first login goes the full path, the next the fast path",
          "[standin][mysql]") {
    standin::mysql::forget_cached_logins();
    Client first(mysql80());
    first.responder.set_tls("TLSv1.3", "TLS_AES_256_GCM_SHA384");
    first.login("caching_sha2_password",
                mysqltest::caching_sha2_fast("lab-password", first.greeting.auth_plugin_data), 2);
    REQUIRE(first.replies.size() == 1);
    CHECK(first.replies[0].sequence == 3);
    CHECK(first.replies[0].payload == Bytes({0x01, 0x04})); // perform_full_authentication
    Bytes clear = mysqltest::bytes_of("lab-password");
    clear.push_back(0);
    first.send(4, clear);
    REQUIRE(first.ok());
    CHECK(first.replies.back().sequence == 5);

    Client second(mysql80());
    second.login("caching_sha2_password",
                 mysqltest::caching_sha2_fast("lab-password", second.greeting.auth_plugin_data));
    REQUIRE(second.replies.size() == 2);
    CHECK(second.replies[0].payload == Bytes({0x01, 0x03})); // fast_auth_success
    CHECK(second.replies[0].sequence == 2);
    CHECK(second.replies[1].sequence == 3);
    CHECK(second.ok());

    // a wrong password with the login cached: full authentication, then 1045
    Client wrong(mysql80());
    wrong.login("caching_sha2_password",
                mysqltest::caching_sha2_fast("nope", wrong.greeting.auth_plugin_data));
    CHECK(wrong.replies[0].payload == Bytes({0x01, 0x04}));
}

TEST_CASE("caching_sha2_password in clear: the RSA public key, then the OAEP-encrypted password",
          "[standin][mysql]") {
    standin::mysql::forget_cached_logins();
    Client c(mysql80());
    CHECK(c.login_with_password("lab-password", false));
    CHECK(c.responder.authenticated());

    standin::mysql::forget_cached_logins();
    Client key(mysql80());
    key.login("caching_sha2_password",
              mysqltest::caching_sha2_fast("lab-password", key.greeting.auth_plugin_data));
    key.send(3, Bytes{0x02});
    REQUIRE(key.replies.size() == 1);
    CHECK(key.replies[0].sequence == 4);
    std::string pem(key.replies[0].payload.begin() + 1, key.replies[0].payload.end());
    CHECK(key.replies[0].payload[0] == 0x01);
    CHECK(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    key.send(5, mysqltest::rsa_encrypted_password("wrong", key.greeting.auth_plugin_data, pem));
    REQUIRE(key.error());
    CHECK(key.error()->code == 1045);
}

TEST_CASE("mysql: an account plugin other than the client's gets an AuthSwitchRequest",
          "[standin][mysql]") {
    Config cfg = mysql80();
    cfg.auth = AuthPlugin::NativePassword;
    Client c(cfg);
    c.login("caching_sha2_password",
            mysqltest::caching_sha2_fast("lab-password", c.greeting.auth_plugin_data));
    REQUIRE(c.replies.size() == 1);
    auto sw = mysql::decode_auth_switch(c.replies[0].payload);
    REQUIRE(sw);
    CHECK(sw->plugin == "mysql_native_password");
    REQUIRE(sw->data.size() == 21);
    CHECK(sw->data.back() == 0);
    Bytes scramble(sw->data.begin(), sw->data.end() - 1);
    CHECK(scramble != c.greeting.auth_plugin_data); // MySQL makes a new one
    c.send(3, mysqltest::native_response("lab-password", scramble));
    CHECK(c.ok());
    CHECK(c.replies.back().sequence == 4);

    Config clear = mariadb();
    clear.auth = AuthPlugin::ClearPassword;
    Client p(clear);
    CHECK(p.login_with_password("lab-password", false));
}

TEST_CASE("mysql: require_secure_transport refuses a login in clear, each server its way",
          "[standin][mysql]") {
    standin::mysql::forget_cached_logins();
    Config my = mysql80();
    my.auth = AuthPlugin::NativePassword;
    my.require_secure_transport = true;
    Client m(my);
    m.login("mysql_native_password",
            mysqltest::native_response("lab-password", m.greeting.auth_plugin_data));
    REQUIRE(m.error());
    CHECK(m.error()->code == 3159);
    CHECK(m.error()->sql_state == "HY000");
    CHECK(m.error()->message == "Connections using insecure transport are prohibited while "
                                "--require_secure_transport=ON.");
    CHECK(m.closed);

    Config ma = mariadb();
    ma.require_secure_transport = true;
    Client d(ma);
    d.login("mysql_native_password",
            mysqltest::native_response("lab-password", d.greeting.auth_plugin_data));
    REQUIRE(d.error());
    CHECK(d.error()->code == 1045);
    CHECK(d.error()->message == "Access denied for user 'lab'@'127.0.0.1' (using password: YES)");

    Client tls(ma);
    tls.responder.set_tls("TLSv1.3", "TLS_AES_256_GCM_SHA384");
    tls.login("mysql_native_password",
              mysqltest::native_response("lab-password", tls.greeting.auth_plugin_data), 2);
    CHECK(tls.ok());
}

TEST_CASE("mysql: an unknown database is 1049", "[standin][mysql]") {
    Client c(mariadb());
    c.login("mysql_native_password",
            mysqltest::native_response("lab-password", c.greeting.auth_plugin_data), 1, "lab",
            "nodb");
    REQUIRE(c.error());
    CHECK(c.error()->code == 1049);
    CHECK(c.error()->sql_state == "42000");
    CHECK(c.error()->message == "Unknown database 'nodb'");
}

TEST_CASE("MariaDB 11.4 zero-configuration SSL: the OK carries 0x01 and SHA-256(hash, scramble, "
          "fingerprint) in hex",
          "[standin][mysql]") {
    ConnectionFacts f;
    f.certificate_sha256 = mysqltest::sha256(mysqltest::bytes_of("a certificate's DER"));
    Client c(mariadb(), f);
    c.responder.set_tls("TLSv1.3", "TLS_AES_256_GCM_SHA384");
    c.login("mysql_native_password",
            mysqltest::native_response("lab-password", c.greeting.auth_plugin_data), 2);
    auto ok = c.ok();
    REQUIRE(ok);
    auto hash = mysqltest::sha1(mysqltest::sha1(mysqltest::bytes_of("lab-password")));
    auto expected = mysqltest::sha256(mysqltest::concat(
        mysqltest::concat(hash, c.greeting.auth_plugin_data), f.certificate_sha256));
    CHECK(ok->info == std::string(1, '\x01') + mysqltest::hex_upper(expected));
    CHECK(ok->info.size() == 65);

    // not in clear, and not for MySQL
    Client clear(mariadb(), f);
    clear.login("mysql_native_password",
                mysqltest::native_response("lab-password", clear.greeting.auth_plugin_data));
    REQUIRE(clear.ok());
    CHECK(clear.ok()->info.empty());
    Config my = mysql80();
    my.auth = AuthPlugin::NativePassword;
    Client m(my, f);
    m.responder.set_tls("TLSv1.3", "TLS_AES_256_GCM_SHA384");
    m.login("mysql_native_password",
            mysqltest::native_response("lab-password", m.greeting.auth_plugin_data), 2);
    REQUIRE(m.ok());
    CHECK(m.ok()->info.empty());
}
