// The connection phase: HandshakeV10 round-trips byte for byte (captured MariaDB 10.11 greetings,
// MySQL greetings built from the documented layout), HandshakeResponse41 in every auth-response
// form and with every optional field, SSLRequest, AuthSwitchRequest, AuthMoreData, COM_CHANGE_USER.

#include <catch2/catch.hpp>

#include <mysql/constants.h>
#include <mysql/handshake.h>

#include "mysql_test_util.h"

using namespace mysql_test;

TEST_CASE("every greeting decodes and re-encodes to the same bytes", "[mysql][handshake]") {
    const auto greetings = all_of_kind("greeting");
    REQUIRE(greetings.size() >= 8);
    for (const auto& g : greetings) {
        const Bytes payload = g.payload();
        CAPTURE(support::to_hex(payload));
        auto h = mysql::decode_handshake(payload);
        REQUIRE(h);
        CHECK(mysql::encode_handshake(*h) == payload);
    }
}

TEST_CASE("a MariaDB 10.11 greeting: 5.5.5- prefix, CLIENT_MYSQL clear, extended caps",
          "[mysql][handshake]") {
    const auto g = load_vectors("mariadb10.11_cli_query.hex").at(0);
    REQUIRE(g.kind == "greeting");
    auto h = mysql::decode_handshake(g.payload());
    REQUIRE(h);
    CHECK(h->server_version == "5.5.5-10.11.19-MariaDB-0+deb12u1");
    CHECK(h->connection_id == 3);
    CHECK(h->is_mariadb());
    CHECK(h->capabilities == 0x81FFFFFEU);
    CHECK((h->capabilities & mysql::cap::Ssl) != 0);
    CHECK(h->mariadb_capabilities() == 0x1D); // progress, stmt bulk, extended metadata, cache
    CHECK(h->character_set == 8);
    CHECK(h->status_flags == mysql::status::Autocommit);
    CHECK(h->auth_plugin_data_length == 21);
    CHECK(h->auth_plugin_data.size() == 20);
    CHECK(h->auth_plugin_data == bytes_of("rGIzLJpu{)X_VoLm_tKX"));
    CHECK(h->auth_plugin_name == "mysql_native_password");

    // A proxy clears CLIENT_SSL; everything else is relayed as it came.
    mysql::Handshake relayed = *h;
    relayed.capabilities &= ~mysql::cap::Ssl;
    Bytes expected = g.payload();
    expected[1 + h->server_version.size() + 1 + 4 + 8 + 1 + 1] &= 0xF7; // CLIENT_SSL is 0x0800
    CHECK(mysql::encode_handshake(relayed) == expected);

    relayed.set_mariadb_capabilities(0x01);
    CHECK(relayed.mariadb_capabilities() == 0x01);
    CHECK(relayed.reserved[6] == 0x01);
}

TEST_CASE("MySQL greetings from the documented layout", "[mysql][handshake]") {
    const auto greetings = load_vectors("mysql8.0_docs_greeting.hex");
    REQUIRE(greetings.size() == 2);
    auto h8 = mysql::decode_handshake(greetings[0].payload());
    REQUIRE(h8);
    CHECK(h8->server_version == "8.0.40");
    CHECK_FALSE(h8->is_mariadb());
    CHECK(h8->mariadb_capabilities() == 0);
    CHECK(h8->character_set == mysql::charset::Utf8mb4_0900AiCi);
    CHECK(h8->auth_plugin_name == "caching_sha2_password");
    CHECK(h8->auth_plugin_data == bytes_of("ABCDEFGHIJKLMNOPQRST"));

    // MySQL Internals manual example: 5.5.2-m2, no CLIENT_PLUGIN_AUTH, length byte 0.
    auto old = mysql::decode_handshake(greetings[1].payload());
    REQUIRE(old);
    CHECK(old->server_version == "5.5.2-m2");
    CHECK(old->connection_id == 11);
    CHECK(old->capabilities == 0xF7FF);
    CHECK(old->auth_plugin_data_length == 0);
    CHECK(old->auth_plugin_data.size() == 20);
    CHECK(old->auth_plugin_name.empty());
}

TEST_CASE("greeting forms kept as read: no NUL after the plugin name, long part 2",
          "[mysql][handshake]") {
    // MySQL 5.5.7 and earlier ended the plugin name at the end of the packet.
    mysql::Handshake h;
    h.server_version = "5.5.7";
    h.connection_id = 1;
    h.auth_plugin_data = bytes_of("0123456789abcdefghij");
    h.capabilities = mysql::cap::Protocol41 | mysql::cap::SecureConnection | mysql::cap::PluginAuth;
    h.auth_plugin_data_length = 21;
    h.auth_plugin_name = "mysql_native_password";
    h.plugin_name_terminated = false;
    const Bytes wire = mysql::encode_handshake(h);
    CHECK(wire.back() == 'd');
    auto back = mysql::decode_handshake(wire);
    REQUIRE(back);
    CHECK_FALSE(back->plugin_name_terminated);
    CHECK(back->auth_plugin_name == "mysql_native_password");
    CHECK(mysql::encode_handshake(*back) == wire);

    // A declared length of 33: part 2 is 25 bytes (24 and a NUL).
    h.auth_plugin_data = Bytes(32, 0x41);
    h.auth_plugin_data_length = 33;
    h.plugin_name_terminated = true;
    const Bytes wire33 = mysql::encode_handshake(h);
    auto back33 = mysql::decode_handshake(wire33);
    REQUIRE(back33);
    CHECK(back33->auth_plugin_data.size() == 32);
    CHECK(mysql::encode_handshake(*back33) == wire33);
}

TEST_CASE("greetings the codec refuses", "[mysql][handshake]") {
    // HandshakeV9 and an ERR instead of a greeting (MySQL 1040 Too many connections, no '#').
    CHECK(mysql::decode_handshake(hex("09 35 2E 30 00 01 00 00 00 61 62 00")).error() ==
          mysql::Error::Unsupported);
    CHECK(mysql::decode_handshake(hex("FF 10 04 54 6F 6F")).error() == mysql::Error::BadValue);
    Bytes trailing = load_vectors("mariadb10.11_cli_query.hex").at(0).payload();
    trailing.push_back(0x00);
    CHECK(mysql::decode_handshake(trailing).error() == mysql::Error::TrailingBytes);
}

TEST_CASE("captured HandshakeResponse41: lenenc auth data, attributes", "[mysql][handshake]") {
    const auto packets = load_vectors("mariadb10.11_cli_query.hex");
    const auto& response = packets.at(1);
    REQUIRE(response.kind == "handshake_response");
    CHECK(response.sequence() == 1);
    const Bytes payload = response.payload();
    CHECK_FALSE(mysql::is_ssl_request(payload));
    auto r = mysql::decode_handshake_response(payload);
    REQUIRE(r);
    CHECK(r->capabilities == 0x00BFA284U);
    CHECK((r->capabilities & mysql::cap::LongPassword) == 0); // a MariaDB client
    CHECK((r->capabilities & mysql::cap::PluginAuthLenencData) != 0);
    CHECK(r->mariadb_capabilities == 0x1D);
    CHECK(r->max_packet_size == 0x100000);
    CHECK(r->character_set == mysql::charset::Utf8mb3GeneralCi);
    CHECK(r->user == "root");
    CHECK(r->auth_response.empty());
    CHECK_FALSE(r->database);
    CHECK(r->auth_plugin == "mysql_native_password");
    REQUIRE(r->attributes.size() == 7);
    CHECK(r->attributes[0] == std::pair<std::string, std::string>{"_os", "Linux"});
    CHECK(r->attributes[1] == std::pair<std::string, std::string>{"_client_name", "libmariadb"});
    CHECK(r->attributes[6] == std::pair<std::string, std::string>{"_server_host", "127.0.0.1"});
    CHECK(mysql::encode_handshake_response(*r) == payload);
}

TEST_CASE("captured HandshakeResponse41 with CONNECT_WITH_DB and a scramble",
          "[mysql][handshake]") {
    const auto response = load_vectors("mariadb10.11_cli_db_password.hex").at(1);
    REQUIRE(response.kind == "handshake_response");
    auto r = mysql::decode_handshake_response(response.payload());
    REQUIRE(r);
    CHECK((r->capabilities & mysql::cap::ConnectWithDb) != 0);
    CHECK(r->auth_response.size() == 20);
    CHECK(r->database == "mysql");
    CHECK(r->auth_plugin == "mysql_native_password");
    CHECK(mysql::encode_handshake_response(*r) == response.payload());
}

TEST_CASE("the three auth-response forms", "[mysql][handshake]") {
    mysql::HandshakeResponse base;
    base.capabilities = mysql::cap::Protocol41 | mysql::cap::LongPassword;
    base.max_packet_size = 0x01000000;
    base.character_set = mysql::charset::Utf8mb4GeneralCi;
    base.user = "lab";
    base.auth_response = hex("AA BB 00 CC"); // a NUL inside: only the length forms carry it

    SECTION("CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: lenenc") {
        auto r = base;
        r.capabilities |= mysql::cap::SecureConnection | mysql::cap::PluginAuthLenencData;
        const Bytes wire = mysql::encode_handshake_response(r);
        CHECK(Bytes(wire.begin() + 32, wire.end()) == hex("6C 61 62 00 04 AA BB 00 CC"));
        auto back = mysql::decode_handshake_response(wire);
        REQUIRE(back);
        CHECK(back->auth_response == r.auth_response);
    }
    SECTION("CLIENT_SECURE_CONNECTION: a 1-byte length") {
        auto r = base;
        r.capabilities |= mysql::cap::SecureConnection;
        const Bytes wire = mysql::encode_handshake_response(r);
        CHECK(Bytes(wire.begin() + 32, wire.end()) == hex("6C 61 62 00 04 AA BB 00 CC"));
        auto back = mysql::decode_handshake_response(wire);
        REQUIRE(back);
        CHECK(back->auth_response == r.auth_response);
        // A 1-byte length above 251 is still one byte here (no lenenc).
        r.auth_response = Bytes(0xFC, 0x11);
        const Bytes long_wire = mysql::encode_handshake_response(r);
        CHECK(long_wire.at(36) == 0xFC);
        auto long_back = mysql::decode_handshake_response(long_wire);
        REQUIRE(long_back);
        CHECK(long_back->auth_response.size() == 0xFC);
    }
    SECTION("neither: NUL-terminated") {
        auto r = base;
        r.auth_response = bytes_of("secret");
        const Bytes wire = mysql::encode_handshake_response(r);
        CHECK(Bytes(wire.begin() + 32, wire.end()) == hex("6C 61 62 00 73 65 63 72 65 74 00"));
        auto back = mysql::decode_handshake_response(wire);
        REQUIRE(back);
        CHECK(back->auth_response == bytes_of("secret"));
    }
}

TEST_CASE("HandshakeResponse41 with every optional field", "[mysql][handshake]") {
    mysql::HandshakeResponse r;
    r.capabilities = mysql::cap::Protocol41 | mysql::cap::SecureConnection |
                     mysql::cap::ConnectWithDb | mysql::cap::PluginAuth |
                     mysql::cap::PluginAuthLenencData | mysql::cap::ConnectAttrs |
                     mysql::cap::ZstdCompression | mysql::cap::LongPassword;
    r.max_packet_size = 0xFFFFFF;
    r.character_set = mysql::charset::Utf8mb4_0900AiCi;
    r.user = "lab";
    r.auth_response = Bytes(32, 0x5A);
    r.database = "lab";
    r.auth_plugin = "caching_sha2_password";
    r.attributes = {{"_client_name", "libmysql"}, {"program_name", "mysql"}};
    r.zstd_level = 3;
    const Bytes wire = mysql::encode_handshake_response(r);
    auto back = mysql::decode_handshake_response(wire);
    REQUIRE(back);
    CHECK(back->user == "lab");
    CHECK(back->auth_response == r.auth_response);
    CHECK(back->database == "lab");
    CHECK(back->auth_plugin == "caching_sha2_password");
    CHECK(back->attributes == r.attributes);
    CHECK(back->zstd_level == std::optional<std::uint8_t>{3});
    CHECK(mysql::encode_handshake_response(*back) == wire);
    CHECK(wire.back() == 3);

    // Without the capability bits the fields are not written, and not read.
    auto bare = r;
    bare.capabilities = mysql::cap::Protocol41 | mysql::cap::SecureConnection;
    auto bare_back = mysql::decode_handshake_response(mysql::encode_handshake_response(bare));
    REQUIRE(bare_back);
    CHECK_FALSE(bare_back->database);
    CHECK_FALSE(bare_back->auth_plugin);
    CHECK(bare_back->attributes.empty());
    CHECK_FALSE(bare_back->zstd_level);

    // An attribute block claiming more bytes than the packet has: 32 fixed bytes, "lab\0",
    // lenenc auth (33), "lab\0", "caching_sha2_password\0" (22), then the block's length.
    Bytes bad = wire;
    constexpr std::size_t attrs_at = 32 + 4 + 33 + 4 + 22;
    REQUIRE(bad.at(attrs_at) == 0x29);
    bad[attrs_at] = 0x7F;
    CHECK(mysql::decode_handshake_response(bad).error() == mysql::Error::Truncated);
}

TEST_CASE("HandshakeResponse320 is unsupported", "[mysql][handshake]") {
    // 2-byte capabilities without CLIENT_PROTOCOL_41, 3-byte max packet, user, auth.
    CHECK(mysql::decode_handshake_response(hex("85 00 00 00 00 72 6F 6F 74 00 00")).error() ==
          mysql::Error::Unsupported);
}

TEST_CASE("SSLRequest vs HandshakeResponse41", "[mysql][handshake]") {
    const auto ssl = load_vectors("mariadb10.11_cli_ssl_request.hex").at(1);
    REQUIRE(ssl.kind == "ssl_request");
    CHECK(ssl.sequence() == 1);
    const Bytes payload = ssl.payload();
    CHECK(mysql::is_ssl_request(payload));
    auto s = mysql::decode_ssl_request(payload);
    REQUIRE(s);
    CHECK((s->capabilities & mysql::cap::Ssl) != 0);
    CHECK(s->capabilities == 0x00BFAA84U);
    CHECK(s->mariadb_capabilities == 0x1D);
    CHECK(s->character_set == mysql::charset::Utf8mb3GeneralCi);
    CHECK(mysql::encode_ssl_request(*s) == payload);

    // The same 32 bytes without CLIENT_SSL are no SSLRequest; a full response is no SSLRequest
    // even with CLIENT_SSL set (the first 32 bytes are the same).
    Bytes no_ssl = payload;
    no_ssl[1] &= 0xF7;
    CHECK_FALSE(mysql::is_ssl_request(no_ssl));
    CHECK(mysql::decode_ssl_request(no_ssl).error() == mysql::Error::BadValue);
    const Bytes full = load_vectors("mariadb10.11_cli_query.hex").at(1).payload();
    Bytes full_ssl = full;
    full_ssl[1] |= 0x08;
    CHECK_FALSE(mysql::is_ssl_request(full_ssl));
    CHECK(mysql::decode_ssl_request(full_ssl).error() == mysql::Error::TrailingBytes);
    CHECK(mysql::decode_handshake_response(full_ssl));
    // An SSLRequest is a truncated HandshakeResponse41 (no user).
    CHECK(mysql::decode_handshake_response(payload).error() == mysql::Error::MissingTerminator);
}

TEST_CASE("AuthSwitchRequest and AuthMoreData", "[mysql][handshake]") {
    // A switch to mysql_native_password with a 20-byte scramble and its trailing NUL.
    const Bytes sw = [] {
        Bytes b = hex("FE");
        const Bytes name = bytes_of("mysql_native_password");
        b.insert(b.end(), name.begin(), name.end());
        b.push_back(0);
        const Bytes scramble = bytes_of("0123456789ABCDEFGHIJ");
        b.insert(b.end(), scramble.begin(), scramble.end());
        b.push_back(0);
        return b;
    }();
    auto a = mysql::decode_auth_switch(sw);
    REQUIRE(a);
    CHECK(a->plugin == "mysql_native_password");
    CHECK(a->data.size() == 21);
    CHECK(a->data.back() == 0);
    CHECK(mysql::encode_auth_switch(*a) == sw);
    CHECK(mysql::decode_auth_switch(hex("FE")).error() == mysql::Error::Unsupported);
    CHECK(mysql::decode_auth_switch(hex("01 03")).error() == mysql::Error::BadValue);

    // caching_sha2_password (MySQL docs "Caching_sha2_password information",
    // page_caching_sha2_authentication_exchanges.html): 0x01 0x03 fast auth success,
    // 0x01 0x04 perform full authentication, then 0x01 + a PEM public key on request.
    auto fast = mysql::decode_auth_more_data(hex("01 03"));
    REQUIRE(fast);
    CHECK(fast->data == hex("03"));
    auto full = mysql::decode_auth_more_data(hex("01 04"));
    REQUIRE(full);
    CHECK(full->data == hex("04"));
    CHECK(mysql::encode_auth_more_data({hex("04")}) == hex("01 04"));
    CHECK(mysql::decode_auth_more_data(hex("FE 00")).error() == mysql::Error::BadValue);
    CHECK(mysql::decode_auth_more_data({}).error() == mysql::Error::Truncated);
}

TEST_CASE("COM_CHANGE_USER", "[mysql][handshake]") {
    const std::uint32_t caps = mysql::cap::Protocol41 | mysql::cap::SecureConnection |
                               mysql::cap::PluginAuth | mysql::cap::ConnectAttrs;
    // 0x11, user, 1-byte auth length, auth, database, charset, plugin, attributes.
    const Bytes full = hex("11 6C 61 62 00 02 AA BB 6C 61 62 00 2D 00"
                           "6D 79 73 71 6C 5F 6E 61 74 69 76 65 5F 70 61 73 73 77 6F 72 64 00"
                           "06 01 61 01 62 00 00");
    auto c = mysql::decode_change_user(full, caps);
    REQUIRE(c);
    CHECK(c->user == "lab");
    CHECK(c->auth_response == hex("AA BB"));
    CHECK(c->database == "lab");
    CHECK(c->character_set == std::optional<std::uint16_t>{45});
    CHECK(c->auth_plugin == "mysql_native_password");
    REQUIRE(c->attributes.size() == 2);
    CHECK(c->attributes[1] == std::pair<std::string, std::string>{"", ""});

    // The short form stops after the database.
    auto short_form = mysql::decode_change_user(hex("11 6C 61 62 00 00 00"), caps);
    REQUIRE(short_form);
    CHECK(short_form->database.empty());
    CHECK_FALSE(short_form->character_set);
    // Without CLIENT_SECURE_CONNECTION the auth response is NUL-terminated.
    auto nul =
        mysql::decode_change_user(hex("11 6C 61 62 00 70 77 00 64 62 00"), mysql::cap::Protocol41);
    REQUIRE(nul);
    CHECK(nul->auth_response == bytes_of("pw"));
    CHECK(nul->database == "db");
    CHECK(mysql::decode_change_user(hex("03 6C 61 62 00"), caps).error() == mysql::Error::BadValue);
}
