#include <algorithm>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include <tds/login7.h>
#include <tds/utf16.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

void put_u16le(Bytes& b, std::size_t at, std::uint16_t v) {
    REQUIRE(at + 2 <= b.size());
    b[at] = static_cast<std::uint8_t>(v & 0xFF);
    b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}

void put_u32le(Bytes& b, std::size_t at, std::uint32_t v) {
    REQUIRE(at + 4 <= b.size());
    for (std::size_t i = 0; i < 4; ++i) {
        b[at + i] = static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF);
    }
}

std::uint16_t get_u16le(const Bytes& b, std::size_t at) {
    return static_cast<std::uint16_t>(b.at(at) | (b.at(at + 1) << 8));
}

std::uint32_t get_u32le(const Bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(b.at(at)) | static_cast<std::uint32_t>(b.at(at + 1)) << 8 |
           static_cast<std::uint32_t>(b.at(at + 2)) << 16 |
           static_cast<std::uint32_t>(b.at(at + 3)) << 24;
}

// Offsets of the ib/cch pairs in the fixed part (MS-TDS 2.2.6.4, tds-protocol.md 5.1).
constexpr std::size_t kIbHostName = 36;
constexpr std::size_t kIbPassword = 44;
constexpr std::size_t kIbExtension = 56;
constexpr std::size_t kIbDatabase = 68;
constexpr std::size_t kIbSspi = 78;
constexpr std::size_t kCbSspiLong = 90;

std::vector<std::pair<std::uint8_t, std::string>> features_of(const tds::Login7& l) {
    std::vector<std::pair<std::uint8_t, std::string>> out;
    for (const auto& f : l.features) {
        out.emplace_back(f.id, to_hex(f.data));
    }
    return out;
}

// Every decoded field but the Length (an encoder may lay the variable part out differently).
void check_same_fields(const tds::Login7& a, const tds::Login7& b) {
    CHECK(a.tds_version == b.tds_version);
    CHECK(a.packet_size == b.packet_size);
    CHECK(a.client_prog_ver == b.client_prog_ver);
    CHECK(a.client_pid == b.client_pid);
    CHECK(a.connection_id == b.connection_id);
    CHECK(a.option_flags1 == b.option_flags1);
    CHECK(a.option_flags2 == b.option_flags2);
    CHECK(a.type_flags == b.type_flags);
    CHECK(a.option_flags3 == b.option_flags3);
    CHECK(a.client_time_zone == b.client_time_zone);
    CHECK(a.client_lcid == b.client_lcid);
    CHECK(a.host_name == b.host_name);
    CHECK(a.user_name == b.user_name);
    CHECK(a.password == b.password);
    CHECK(a.app_name == b.app_name);
    CHECK(a.server_name == b.server_name);
    CHECK(a.library_name == b.library_name);
    CHECK(a.language == b.language);
    CHECK(a.database == b.database);
    CHECK(a.attach_db_file == b.attach_db_file);
    CHECK(a.change_password == b.change_password);
    CHECK(a.client_id == b.client_id);
    CHECK(a.sspi == b.sspi);
    CHECK(features_of(a) == features_of(b));
}

struct DriverLogin {
    const char* file;
    std::uint32_t tds_version;
    std::uint32_t packet_size;
    std::uint32_t client_prog_ver;
    std::uint8_t flags1, flags2, type_flags, flags3;
    std::int32_t time_zone;
    std::uint32_t lcid;
    const char* app;
    const char* server;
    const char* library;
    const char* language;
    const char* client_id;
    std::vector<std::pair<std::uint8_t, std::string>> features; // id, data as hex
};

// msodbcsql's FeatureExt 0x10 (not in MS-TDS's list; newer drivers' "user agent"): UTF-16LE
// "1|MS-ODBC|18.6.2.1|x86_64|Linux|Linux 6.18.44-fc-v657|Unknown".
const char* const kOdbcFeature10 =
    "31007c004d0053002d004f004400420043007c00310038002e0036002e0032002e0031007c00780038003600"
    "5f00360034007c004c0069006e00750078007c004c0069006e0075007800200036002e00310038002e003400"
    "34002d00660063002d0076003600350037007c0055006e006b006e006f0077006e00";

// What each real driver sent. All log in as lab / lab-password from host "vm", SQL auth.
const DriverLogin kDrivers[] = {
    // tedious 19.2.2: TDS 7.4, fExtension with FeatureExt UTF8_SUPPORT (0x0A) only.
    {"tedious_login7.hex",
     tds::tds_version::k74,
     4096,
     0,
     0xF0,
     0x00,
     0x00,
     0x18,
     0,
     0x409,
     "Tedious",
     "localhost",
     "Tedious",
     "us_english",
     "010203040506",
     {{0x0A, "01"}}},
    // go-mssqldb v1.11.2: no FeatureExt at all, ClientProgVer = 1.11.2, fODBC set.
    {"go_login7.hex",
     tds::tds_version::k74,
     4096,
     0x010B0002,
     0xA0,
     0x02,
     0x00,
     0x00,
     0,
     0,
     "tlslab-probe-go",
     "localhost",
     "go-mssqldb",
     "",
     "02fc00000001",
     {}},
    // FreeTDS 1.3.17 (tds version 7.4): UTF8_SUPPORT; server name is the freetds.conf
    // section name; time zone -120.
    {"tsql_login7.hex",
     tds::tds_version::k74,
     4096,
     0xF8F28306,
     0xE0,
     0x03,
     0x00,
     0x18,
     -120,
     0x436,
     "TSQL",
     "tlslab",
     "TDS-Library",
     "us_english",
     "02fc00000001",
     {{0x0A, "01"}}},
    // FreeTDS with tds version = 7.2: 94-byte fixed part, no FeatureExt.
    {"tsql72_login7.hex",
     tds::tds_version::k72,
     4096,
     0xF8F28306,
     0xE0,
     0x03,
     0x00,
     0x00,
     -120,
     0x436,
     "TSQL",
     "tlslab",
     "TDS-Library",
     "us_english",
     "02fc00000001",
     {}},
    // msodbcsql 18.6: PacketSize 0 (server default), server name with the port, five
    // features: 0x10 user agent, SESSIONRECOVERY, DATACLASSIFICATION, UTF8, DNS caching.
    {"odbc_login7.hex",
     tds::tds_version::k74,
     0,
     0x07000000,
     0xE0,
     0x03,
     0x00,
     0x10,
     0,
     0x409,
     "tlslab-probe",
     "localhost,37193",
     "ODBC",
     "",
     "ffffffffffff",
     {{0x10, kOdbcFeature10}, {0x01, ""}, {0x09, "01"}, {0x0A, "01"}, {0x0B, ""}}},
    // mssql-jdbc 12.10.2.0: PacketSize 8000, COLUMNENCRYPTION first, DATACLASSIFICATION v2.
    {"jdbc_login7.hex",
     tds::tds_version::k74,
     8000,
     0x0C0A0200,
     0xE0,
     0x03,
     0x00,
     0x18,
     0,
     0,
     "Microsoft JDBC Driver for SQL Server",
     "localhost",
     "Microsoft JDBC Driver 12.10",
     "",
     "11e432d0ccc7",
     {{0x04, "01"}, {0x09, "02"}, {0x0A, ""}, {0x0B, ""}, {0x01, ""}}},
};

tds::Login7 sample_login() {
    tds::Login7 l;
    l.tds_version = tds::tds_version::k74;
    l.packet_size = 4096;
    l.client_prog_ver = 0x07000000;
    l.client_pid = 4242;
    l.option_flags1 = 0xE0;
    l.option_flags2 = 0x03;
    l.client_time_zone = -60;
    l.client_lcid = 0x409;
    l.host_name = "WORKSTATION";
    l.user_name = "lab";
    l.password = "lab-password";
    l.app_name = "tlslab-test";
    l.server_name = "db.example\\INST";
    l.library_name = "tlslab";
    l.language = "us_english";
    l.database = "master";
    l.client_id = {1, 2, 3, 4, 5, 6};
    return l;
}

Bytes encoded(const tds::Login7& l) {
    return tds::encode_login7(l);
}

tds::Login7 decode_ok(const Bytes& payload) {
    auto l = tds::decode_login7(payload);
    REQUIRE(l);
    return *l;
}

} // namespace

TEST_CASE("password obfuscation swaps nibbles then XORs 0xA5", "[tds][login7][spec]") {
    SECTION("the tds-protocol.md example: \"a\" is B3 A5") {
        CHECK(to_hex(tds::obfuscate_password(hex("61 00"))) == "b3a5");
        CHECK(to_hex(tds::deobfuscate_password(hex("B3 A5"))) == "6100");
    }
    SECTION("lab-password as every captured driver sent it") {
        CHECK(to_hex(tds::obfuscate_password(tds::utf8_to_utf16le("lab-password"))) ==
              "63a5b3a583a577a5a2a5b3a592a592a5d2a553a582a5e3a5");
    }
    SECTION("every byte value round trips and no two collide") {
        Bytes all(256);
        for (std::size_t i = 0; i < 256; ++i) {
            all[i] = static_cast<std::uint8_t>(i);
        }
        auto wire = tds::obfuscate_password(all);
        CHECK(tds::deobfuscate_password(wire) == all);
        Bytes sorted = wire;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == all);
    }
}

TEST_CASE("real driver LOGIN7 packets decode", "[tds][login7][capture]") {
    for (const auto& d : kDrivers) {
        DYNAMIC_SECTION(d.file) {
            const Bytes wire = load_vector(d.file);
            auto h = tds::parse_header(wire);
            REQUIRE(h);
            CHECK(h->type == 0x10);
            CHECK(h->end_of_message());
            CHECK(h->length == wire.size());

            const Bytes payload = payload_of(wire);
            auto l = decode_ok(payload);
            CHECK(l.length == payload.size());
            CHECK(l.user_name == "lab");
            CHECK(l.password == "lab-password");
            CHECK(l.host_name == "vm");
            CHECK(l.app_name == d.app);
            CHECK(l.server_name == d.server);
            CHECK(l.library_name == d.library);
            CHECK(l.language == d.language);
            CHECK(l.database == "");
            CHECK(l.change_password == "");
            CHECK(l.attach_db_file == "");
            CHECK(l.sspi.empty());
            CHECK(l.tds_version == d.tds_version);
            CHECK(l.packet_size == d.packet_size);
            CHECK(l.client_prog_ver == d.client_prog_ver);
            CHECK(int{l.option_flags1} == int{d.flags1});
            CHECK(int{l.option_flags2} == int{d.flags2});
            CHECK(int{l.type_flags} == int{d.type_flags});
            CHECK(int{l.option_flags3} == int{d.flags3});
            CHECK(l.client_time_zone == d.time_zone);
            CHECK(l.client_lcid == d.lcid);
            CHECK(to_hex(l.client_id) == d.client_id);
            CHECK(l.auth_kind() == tds::AuthKind::Sql);
            CHECK(features_of(l) == d.features);
        }
    }
}

TEST_CASE("encode_login7 of a decoded real LOGIN7 decodes to the same fields",
          "[tds][login7][capture]") {
    for (const auto& d : kDrivers) {
        DYNAMIC_SECTION(d.file) {
            auto original = decode_ok(payload_of(load_vector(d.file)));
            const Bytes re = encoded(original);
            auto again = decode_ok(re);
            CHECK(again.length == re.size());
            check_same_fields(again, original);
        }
    }
    SECTION("tedious lays LOGIN7 out exactly as the encoder does: byte-identical") {
        const Bytes payload = payload_of(load_vector("tedious_login7.hex"));
        CHECK(to_hex(encoded(decode_ok(payload))) == to_hex(payload));
    }
}

// FreeTDS with `tds version = 7.1` sends the 86-byte TDS 7.1 fixed part: its variable data
// (the host name) starts at offset 86, where a 7.2+ LOGIN7 has ibChangePassword/cchChangePassword
// and cbSSPILong. The decoder must not read the host name as those fields.
TEST_CASE("a real TDS 7.1 LOGIN7 (86-byte fixed part) decodes", "[tds][login7][capture]") {
    const Bytes payload = payload_of(load_vector("tsql71_login7.hex"));
    REQUIRE(get_u16le(payload, kIbHostName) == 86);
    auto l = tds::decode_login7(payload);
    if (!l) {
        FAIL("decode_login7 refused a valid TDS 7.1 LOGIN7: " << l.error());
    }
    CHECK(l->tds_version == tds::tds_version::k71);
    CHECK(l->length == 182);
    CHECK(l->host_name == "vm");
    CHECK(l->user_name == "lab");
    CHECK(l->password == "lab-password");
    CHECK(l->app_name == "TSQL");
    CHECK(l->server_name == "tlslab");
    CHECK(l->library_name == "TDS-Library");
    CHECK(l->language == "us_english");
    CHECK(l->change_password == "");
    CHECK(l->sspi.empty());
    CHECK(l->auth_kind() == tds::AuthKind::Sql);

    SECTION("and survives an encode/decode round trip") {
        auto again = tds::decode_login7(encoded(*l));
        REQUIRE(again);
        check_same_fields(*again, *l);
    }
}

TEST_CASE("encode_login7 writes the TDS 7.2+ layout", "[tds][login7]") {
    auto l = sample_login();
    const Bytes b = encoded(l);

    CHECK(get_u32le(b, 0) == b.size());                               // Length
    CHECK(to_hex(Bytes(b.begin() + 4, b.begin() + 8)) == "04000074"); // TDS 7.4, LE
    CHECK(get_u16le(b, kIbHostName) == 0x5E); // MS-TDS 4.2: ibHostName = 5E 00
    CHECK(get_u16le(b, kIbHostName + 2) == 11);
    CHECK((b[27] & tds::login7_flag::kExtension) == 0); // no features, no fExtension

    SECTION("the password is stored obfuscated") {
        const std::size_t at = get_u16le(b, kIbPassword);
        const std::size_t n = get_u16le(b, kIbPassword + 2);
        CHECK(n == 12);
        CHECK(to_hex(Bytes(b.begin() + static_cast<std::ptrdiff_t>(at),
                           b.begin() + static_cast<std::ptrdiff_t>(at + 2 * n))) ==
              "63a5b3a583a577a5a2a5b3a592a592a5d2a553a582a5e3a5");
    }
    SECTION("features: fExtension set, ibExtension points at the FeatureExt offset") {
        l.features = {{tds::feature_id::kUtf8Support, {0x01}},
                      {tds::feature_id::kSessionRecovery, {}}};
        const Bytes f = encoded(l);
        CHECK((f[27] & tds::login7_flag::kExtension) != 0);
        CHECK(get_u16le(f, kIbExtension + 2) == 4);
        const std::size_t at = get_u32le(f, get_u16le(f, kIbExtension));
        CHECK(to_hex(Bytes(f.begin() + static_cast<std::ptrdiff_t>(at), f.end())) == "0a0100000001"
                                                                                     "0100000000"
                                                                                     "ff");
    }
}

TEST_CASE("encode then decode keeps every field, non-ASCII text and SSPI included",
          "[tds][login7]") {
    auto l = sample_login();
    l.host_name = "hôte-€";
    l.password = "pässwörd😀";
    l.change_password = "néw-pässwörd";
    l.attach_db_file = "C:\\data\\lab.mdf";
    l.option_flags3 = 0x10; // fExtension, FeatureExt below
    l.features = {{tds::feature_id::kUtf8Support, {0x01}},
                  {tds::feature_id::kColumnEncryption, {0x02}},
                  {0x10, {0xAA, 0xBB, 0xCC}}};
    auto d = decode_ok(encoded(l));
    check_same_fields(d, l);
    CHECK(d.feature(tds::feature_id::kColumnEncryption) != nullptr);
    CHECK(d.feature(tds::feature_id::kFedAuth) == nullptr);

    SECTION("SSPI blob") {
        auto s = sample_login();
        s.option_flags2 |= tds::login7_flag::kIntSecurity;
        s.user_name.clear();
        s.password.clear();
        s.sspi = hex("4E 54 4C 4D 53 53 50 00 01 00 00 00");
        auto sd = decode_ok(encoded(s));
        check_same_fields(sd, s);
        CHECK(sd.auth_kind() == tds::AuthKind::Sspi);
    }
}

TEST_CASE("auth_kind tells SQL, SSPI and FedAuth logins apart", "[tds][login7]") {
    tds::Login7 l;
    CHECK(l.auth_kind() == tds::AuthKind::Sql);
    l.features.push_back({tds::feature_id::kFedAuth, {0x02}});
    CHECK(l.auth_kind() == tds::AuthKind::FedAuth);
    l.features.clear();
    l.option_flags2 = tds::login7_flag::kIntSecurity;
    CHECK(l.auth_kind() == tds::AuthKind::Sspi);
    CHECK(tds::to_string(tds::AuthKind::Sql) == "sql");
    CHECK(tds::to_string(tds::AuthKind::Sspi) == "sspi");
    CHECK(tds::to_string(tds::AuthKind::FedAuth) == "fedauth");
}

TEST_CASE("tds_version_name names the known versions", "[tds][login7]") {
    CHECK(tds::tds_version_name(tds::tds_version::k71) == "7.1");
    CHECK(tds::tds_version_name(tds::tds_version::k72) == "7.2");
    CHECK(tds::tds_version_name(tds::tds_version::k73A) == "7.3A");
    CHECK(tds::tds_version_name(tds::tds_version::k73B) == "7.3B");
    CHECK(tds::tds_version_name(tds::tds_version::k74) == "7.4");
    CHECK(tds::tds_version_name(tds::tds_version::k80) == "8.0");
    CHECK(tds::tds_version_name(0x12345678) == "0x12345678");
}

TEST_CASE("hostile LOGIN7 payloads give errors", "[tds][login7][hostile]") {
    const Bytes real = payload_of(load_vector("tedious_login7.hex"));
    REQUIRE(real.size() == 205);

    SECTION("shorter than the 86-byte fixed part") {
        for (std::size_t n = 0; n < 86; ++n) {
            CAPTURE(n);
            CHECK(error_of(tds::decode_login7(prefix(real, n))) == tds::Error::Truncated);
        }
    }
    SECTION("every cut of a real LOGIN7: Length larger than the payload") {
        for (std::size_t n = 86; n < real.size(); ++n) {
            CAPTURE(n);
            CHECK(error_of(tds::decode_login7(prefix(real, n))) == tds::Error::Truncated);
        }
    }
    SECTION("Length field larger than the payload") {
        Bytes b = real;
        put_u32le(b, 0, static_cast<std::uint32_t>(b.size() + 1));
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::Truncated);
        put_u32le(b, 0, 0xFFFFFFFF);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::Truncated);
    }
    SECTION("Length field below the fixed part") {
        for (std::uint32_t len : {0u, 8u, 85u}) {
            CAPTURE(len);
            Bytes b = real;
            put_u32le(b, 0, len);
            CHECK(error_of(tds::decode_login7(b)) == tds::Error::BadLogin7);
        }
    }
    SECTION("any string offset or length pushed past the end") {
        // ib/cch pairs of HostName, UserName, Password, AppName, ServerName, CltIntName,
        // Language, Database, AtchDBFile, ChangePassword.
        for (std::size_t field : {36u, 40u, 44u, 48u, 52u, 60u, 64u, 68u, 82u, 86u}) {
            for (std::size_t half : {0u, 2u}) {
                CAPTURE(field, half);
                Bytes b = real;
                put_u16le(b, field + half, 0xFFFF);
                CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
            }
        }
    }
    SECTION("a string that ends one byte past the end") {
        Bytes b = real;
        put_u16le(b, kIbDatabase, static_cast<std::uint16_t>(b.size() - 1));
        put_u16le(b, kIbDatabase + 2, 1);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
        put_u16le(b, kIbDatabase, static_cast<std::uint16_t>(b.size() - 2));
        REQUIRE(tds::decode_login7(b)); // ends exactly at the end: fine
    }
    SECTION("offsets are bounded by the Length field, not by the bytes after it") {
        auto base = sample_login();
        Bytes b = encoded(base);
        const std::size_t len = b.size();
        const Bytes extra = {'A', 0, 'B', 0};
        b.insert(b.end(), extra.begin(), extra.end());
        put_u16le(b, kIbDatabase, static_cast<std::uint16_t>(len));
        put_u16le(b, kIbDatabase + 2, 2);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
        put_u32le(b, 0, static_cast<std::uint32_t>(b.size()));
        auto ok = tds::decode_login7(b);
        REQUIRE(ok);
        CHECK(ok->database == "AB");
    }
    SECTION("SSPI blob past the end") {
        Bytes b = real;
        put_u16le(b, kIbSspi, static_cast<std::uint16_t>(b.size() - 2));
        put_u16le(b, kIbSspi + 2, 10);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
    }
    SECTION("cbSSPI = 0xFFFF defers to cbSSPILong, which is bounds-checked too") {
        Bytes b = real;
        put_u16le(b, kIbSspi, 94);
        put_u16le(b, kIbSspi + 2, 0xFFFF);
        put_u32le(b, kCbSspiLong, 0xFFFFFFFF);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
        put_u32le(b, kCbSspiLong, 4);
        auto ok = tds::decode_login7(b);
        REQUIRE(ok);
        CHECK(ok->sspi.size() == 4);
    }
    SECTION("FeatureExt without its 0xFF terminator") {
        // tedious' FeatureExt is the last 7 bytes: 0A 01000000 01 FF. Drop the FF.
        REQUIRE(real.back() == 0xFF);
        Bytes b = prefix(real, real.size() - 1);
        put_u32le(b, 0, static_cast<std::uint32_t>(b.size()));
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::NoTerminator);
    }
    SECTION("FeatureExt data length past the end") {
        Bytes b = real;
        const std::size_t at = get_u32le(b, get_u16le(b, kIbExtension));
        REQUIRE(b[at] == 0x0A);
        put_u32le(b, at + 1, 0x100);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::Truncated);
        put_u32le(b, at + 1, 0xFFFFFFFF);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::Truncated);
    }
    SECTION("FeatureExt offset (the DWORD at ibExtension) past the end") {
        Bytes b = real;
        put_u32le(b, get_u16le(b, kIbExtension), 0xFFFF);
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
        put_u32le(b, get_u16le(b, kIbExtension), static_cast<std::uint32_t>(b.size()));
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::NoTerminator);
    }
    SECTION("ibExtension itself past the end") {
        Bytes b = real;
        put_u16le(b, kIbExtension, static_cast<std::uint16_t>(b.size() - 2));
        CHECK(error_of(tds::decode_login7(b)) == tds::Error::StringOutOfBounds);
    }
    SECTION("without fExtension the FeatureExt block is not read") {
        Bytes b = real;
        b[27] = static_cast<std::uint8_t>(b[27] & ~tds::login7_flag::kExtension);
        put_u32le(b, get_u16le(b, kIbExtension), 0xFFFF); // would be out of bounds
        auto ok = tds::decode_login7(b);
        REQUIRE(ok);
        CHECK(ok->features.empty());
    }
}
