#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <tds/login7.h>
#include <tds/tokens.h>
#include <tds/utf16.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

std::string utf16_hex(std::string_view s) {
    return to_hex(tds::utf8_to_utf16le(s));
}

const tds::Column kIntColumn[] = {{"", tds::int_type()}};

} // namespace

TEST_CASE("TokenWriter writes the SELECT 1 response of tds-protocol.md 6.3 (nullable int)",
          "[tds][tokens][spec]") {
    const tds::Value one[] = {std::int64_t{1}};
    auto bytes = tds::TokenWriter()
                     .col_metadata(kIntColumn)
                     .row(kIntColumn, one)
                     .done(tds::done_status::kCount, tds::kCurCmdSelect, 1)
                     .take();
    const std::string expected = "810100"
                                 "00000000"
                                 "2100" // fNullable | fComputed
                                 "2604"
                                 "00" // COLMETADATA
                                 "d1"
                                 "04"
                                 "01000000" // ROW
                                 "fd"
                                 "1000"
                                 "c100"
                                 "0100000000000000"; // DONE
    CHECK(to_hex(bytes) == expected);

    SECTION("a NOT NULL int (what SQL Server sends for SELECT 1) is the fixed-length INT4") {
        tds::TypeInfo not_null = tds::int_type();
        not_null.nullable = false;
        const tds::Column cols[] = {{"", not_null}};
        CHECK(to_hex(tds::TokenWriter().col_metadata(cols).row(cols, one).take()) ==
              "810100"
              "00000000"
              "2000"
              "38"
              "00" // COLMETADATA: fComputed, INT4, no name
              "d1"
              "01000000"); // ROW: four bytes, no length prefix
    }
}

TEST_CASE("TokenWriter writes the ENVCHANGE examples of tds-protocol.md 6.2",
          "[tds][tokens][spec]") {
    SECTION("database") {
        auto b = tds::TokenWriter().env_change(tds::env_type::kDatabase, "master", "").take();
        CHECK(to_hex(b) == "e30f00"
                           "01"
                           "06" +
                               utf16_hex("master") + "00");
    }
    SECTION("SQL collation, B_VARBYTE") {
        auto b = tds::TokenWriter()
                     .env_change_bytes(tds::env_type::kCollation, tds::kDefaultCollation, {})
                     .take();
        CHECK(to_hex(b) == "e30800"
                           "07"
                           "05"
                           "0904d00034"
                           "00");
    }
    SECTION("packet size, a decimal string") {
        auto b = tds::TokenWriter().env_change(tds::env_type::kPacketSize, "4096", "4096").take();
        CHECK(to_hex(b) == "e31300"
                           "04"
                           "04" +
                               utf16_hex("4096") + "04" + utf16_hex("4096"));
    }
    SECTION("language") {
        auto b = tds::TokenWriter().env_change(tds::env_type::kLanguage, "us_english", "").take();
        CHECK(to_hex(b) == "e31700"
                           "02"
                           "0a" +
                               utf16_hex("us_english") + "00");
    }
}

TEST_CASE("TokenWriter writes LOGINACK with interface 1 and a big-endian TDS version",
          "[tds][tokens][spec]") {
    auto b = tds::TokenWriter()
                 .login_ack(tds::tds_version::k74, "Microsoft SQL Server", 16, 0, 2000)
                 .take();
    // len = 1 + 4 + 1 + 2*20 + 4 = 0x32
    CHECK(to_hex(b) == "ad3200"
                       "01"
                       "74000004"
                       "14" +
                           utf16_hex("Microsoft SQL Server") +
                           "10"
                           "00"
                           "07d0");
}

TEST_CASE("TokenWriter writes INFO and ERROR with the same layout", "[tds][tokens]") {
    tds::ServerMessage m;
    m.number = 0x01020304;
    m.state = 5;
    m.severity = 16;
    m.text = "hé";
    m.server_name = "srv";
    m.proc_name = "p";
    m.line = 7;
    const std::string body = "04030201"
                             "05"
                             "10"
                             "0200" +
                             utf16_hex("hé") + "03" + utf16_hex("srv") + "01" + utf16_hex("p") +
                             "07000000";
    // len = 4 + 1 + 1 + 2+4 + 1+6 + 1+2 + 4 = 26
    CHECK(to_hex(tds::TokenWriter().info(m).take()) == "ab1a00" + body);
    CHECK(to_hex(tds::TokenWriter().error(m).take()) == "aa1a00" + body);
}

TEST_CASE("TokenWriter writes DONE, DONEPROC and DONEINPROC", "[tds][tokens]") {
    SECTION("the minimal final DONE") {
        CHECK(to_hex(tds::TokenWriter().done(tds::done_status::kFinal).take()) ==
              "fd000000000000000000000000");
    }
    SECTION("attention acknowledgement") {
        CHECK(to_hex(tds::TokenWriter().done(tds::done_status::kAttention).take()) ==
              "fd200000000000000000000000");
    }
    SECTION("a 64-bit row count, little-endian, and another token type") {
        CHECK(to_hex(tds::TokenWriter()
                         .done(tds::done_status::kCount | tds::done_status::kMore, 0xC3,
                               0x0102030405060708, tds::token::kDoneProc)
                         .take()) == "fe"
                                     "1100"
                                     "c300"
                                     "0807060504030201");
        CHECK(to_hex(tds::TokenWriter()
                         .done(tds::done_status::kError, 0, 0, tds::token::kDoneInProc)
                         .take()) == "ff020000000000000000000000");
    }
}

TEST_CASE("TokenWriter writes NULLs and NVARCHAR columns", "[tds][tokens]") {
    SECTION("a NULL INTN is a zero length byte") {
        const tds::Value null[] = {std::monostate{}};
        CHECK(to_hex(tds::TokenWriter().row(kIntColumn, null).take()) == "d100");
    }
    SECTION("NVARCHAR(4000): max length 8000 bytes and the default collation") {
        const tds::Column cols[] = {{"n", tds::int_type()}, {"name", tds::nvarchar_type(4000)}};
        CHECK(to_hex(tds::TokenWriter().col_metadata(cols).take()) ==
              "810200" // two columns
              "00000000"
              "2100"
              "2604"
              "01" +
                  utf16_hex("n") + // INTN(4) "n"
                  "00000000"
                  "2100"
                  "e7"
                  "401f"
                  "0904d00034"
                  "04" // NVARCHAR(4000)
                  + utf16_hex("name"));
        const tds::Value values[] = {std::int64_t{-2}, std::string("hé")};
        CHECK(to_hex(tds::TokenWriter().row(cols, values).take()) == "d1"
                                                                     "04"
                                                                     "feffffff"
                                                                     "0400" +
                                                                         utf16_hex("hé"));
        const tds::Value nulls[] = {std::monostate{}, std::monostate{}};
        CHECK(to_hex(tds::TokenWriter().row(cols, nulls).take()) == "d1"
                                                                    "00"
                                                                    "ffff");
    }
    SECTION("missing values are NULL") {
        const tds::Column cols[] = {{"a", tds::int_type()}, {"b", tds::nvarchar_type(4000)}};
        const tds::Value values[] = {std::int64_t{5}};
        CHECK(to_hex(tds::TokenWriter().row(cols, values).take()) == "d1"
                                                                     "04"
                                                                     "05000000"
                                                                     "ffff");
    }
}

TEST_CASE("TokenWriter writes FEATUREEXTACK", "[tds][tokens]") {
    const std::uint8_t ids[] = {tds::feature_id::kUtf8Support, tds::feature_id::kSessionRecovery};
    CHECK(to_hex(tds::TokenWriter().feature_ext_ack(ids).take()) == "ae"
                                                                    "0a00000000"
                                                                    "0100000000"
                                                                    "ff");
    CHECK(to_hex(tds::TokenWriter().feature_ext_ack({}).take()) == "aeff");
}

TEST_CASE("B_VARCHAR values are capped at 255 characters", "[tds][tokens]") {
    const std::string long_name(300, 'x');
    auto b = tds::TokenWriter().env_change(tds::env_type::kDatabase, long_name, "").take();
    REQUIRE(b.size() == 3 + 1 + 1 + 510 + 1);
    CHECK(b[1] == 0x01); // token length 513 = 0x0201, little-endian
    CHECK(b[2] == 0x02);
    CHECK(b[4] == 255);
}

TEST_CASE("TokenWriter reproduces the lab server's captured login responses",
          "[tds][tokens][capture]") {
    tds::ServerMessage db_info{5701,     1,  10, "Changed database context to 'master'.",
                               "tlslab", "", 0};
    tds::ServerMessage lang_info{5703,     1,  10, "Changed language setting to us_english.",
                                 "tlslab", "", 0};
    SECTION("login accepted (Microsoft's test-server order)") {
        auto b = tds::TokenWriter()
                     .env_change(tds::env_type::kDatabase, "master", "master")
                     .info(db_info)
                     .env_change_bytes(tds::env_type::kCollation, tds::kDefaultCollation, {})
                     .env_change(tds::env_type::kLanguage, "us_english", "")
                     .info(lang_info)
                     .env_change(tds::env_type::kPacketSize, "4096", "4096")
                     .login_ack(tds::tds_version::k74, "Microsoft SQL Server", 16, 0, 1000)
                     .done(tds::done_status::kFinal)
                     .take();
        CHECK(to_hex(b) == to_hex(payload_of(load_vector("server_login_ok.hex"))));
    }
    SECTION("login failed: ERROR 18456 then DONE with the error bit") {
        tds::ServerMessage failed{18456, 1, 14, "Login failed for user 'lab'.", "tlslab", "", 0};
        auto b = tds::TokenWriter().error(failed).done(tds::done_status::kError).take();
        CHECK(to_hex(b) == to_hex(payload_of(load_vector("server_login_failed.hex"))));
    }
}

TEST_CASE("TokenWriter size() counts the bytes written so far", "[tds][tokens]") {
    tds::TokenWriter w;
    CHECK(w.size() == 0);
    w.done(0);
    CHECK(w.size() == 13);
    w.done(0);
    CHECK(w.size() == 26);
}

// --- layouts by protocol level (MS-TDS 2.2.7: "changed in TDS 7.2") --------------------------

namespace {

using tds::Level;

constexpr Level kPre72[] = {Level::V70, Level::V71};
constexpr Level k72Plus[] = {Level::V72, Level::V73A, Level::V73B, Level::V74, Level::V80};

tds::ServerMessage sample_message() {
    tds::ServerMessage m;
    m.number = 0x01020304;
    m.state = 5;
    m.severity = 16;
    m.text = "hé";
    m.server_name = "srv";
    m.proc_name = "p";
    m.line = 7;
    return m;
}

// MS-TDS 4.4, the login response to a TDS 7.2 client, as printed (packet header included).
const char* const kSpecLoginResponse72 = R"(
04 01 01 61 00 00 01 00 E3 1B 00 01 06 6D 00 61
00 73 00 74 00 65 00 72 00 06 6D 00 61 00 73 00
74 00 65 00 72 00 AB 58 00 45 16 00 00 02 00 25
00 43 00 68 00 61 00 6E 00 67 00 65 00 64 00 20
00 64 00 61 00 74 00 61 00 62 00 61 00 73 00 65
00 20 00 63 00 6F 00 6E 00 74 00 65 00 78 00 74
00 20 00 74 00 6F 00 20 00 27 00 6D 00 61 00 73
00 74 00 65 00 72 00 27 00 2E 00 00 00 00 00 00
00 E3 08 00 07 05 09 04 D0 00 34 00 E3 17 00 02
0A 75 00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69
00 73 00 68 00 00 E3 13 00 04 04 34 00 30 00 39
00 36 00 04 34 00 30 00 39 00 36 00 AB 5C 00 47
16 00 00 01 00 27 00 43 00 68 00 61 00 6E 00 67
00 65 00 64 00 20 00 6C 00 61 00 6E 00 67 00 75
00 61 00 67 00 65 00 20 00 73 00 65 00 74 00 74
00 69 00 6E 00 67 00 20 00 74 00 6F 00 20 00 75
00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69 00 73
00 68 00 2E 00 00 00 00 00 00 00 AD 36 00 01 72
09 00 02 16 4D 00 69 00 63 00 72 00 6F 00 73 00
6F 00 66 00 74 00 20 00 53 00 51 00 4C 00 20 00
53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00
00 00 00 00 FD 00 00 00 00 00 00 00 00 00 00 00
00)";

const char* const kDbContext = "Changed database context to 'master'.";
const char* const kLanguage = "Changed language setting to us_english.";
// MS-TDS 4.4's ProgName is 22 characters: "Microsoft SQL Server" and two NULs.
const std::string kSpecProgName("Microsoft SQL Server\0\0", 22);

// The LOGINACK TDSVersion a server of each level answers (appendix A note <69>), as the
// big-endian bytes LOGINACK carries.
std::uint32_t ack_of(Level l) {
    switch (l) {
    case Level::V70:
        return 0x07000000;
    case Level::V71:
        return 0x71000001;
    case Level::V72:
        return 0x72090002;
    case Level::V73A:
        return 0x730A0003;
    case Level::V73B:
        return 0x730B0003;
    case Level::V74:
        return 0x74000004;
    case Level::V80:
        return 0x08000000;
    }
    return 0;
}

// The 4.4 response rewritten by hand for any level: LineNumber USHORT and DoneRowCount LONG
// before 7.2 (so the INFO lengths shrink by 2), no SQL collation ENVCHANGE to a 7.0 client.
std::string spec_login_response(Level l) {
    const bool v72 = tds::is_72_plus(l);
    char ack[16];
    std::snprintf(ack, sizeof ack, "%08X", ack_of(l));
    std::string out = "E3 1B 00 01 06" + utf16_hex("master") + "06" + utf16_hex("master");
    out += v72 ? "AB 58 00" : "AB 56 00";
    out += "45 16 00 00 02 00 25 00" + utf16_hex(kDbContext) + "00 00";
    out += v72 ? "00 00 00 00" : "00 00";
    if (tds::has_collation(l)) {
        out += "E3 08 00 07 05 09 04 D0 00 34 00";
    }
    out += "E3 17 00 02 0A" + utf16_hex("us_english") + "00";
    out += "E3 13 00 04 04" + utf16_hex("4096") + "04" + utf16_hex("4096");
    out += v72 ? "AB 5C 00" : "AB 5A 00";
    out += "47 16 00 00 01 00 27 00" + utf16_hex(kLanguage) + "00 00";
    out += v72 ? "00 00 00 00" : "00 00";
    out += std::string("AD 36 00 01") + ack + "16" + utf16_hex(kSpecProgName) + "00 00 00 00";
    out += v72 ? "FD 00 00 00 00 00 00 00 00 00 00 00 00" : "FD 00 00 00 00 00 00 00 00";
    return canon(out);
}

std::vector<std::uint8_t> write_login_response(Level l) {
    tds::TokenWriter w(l);
    w.env_change(tds::env_type::kDatabase, "master", "master")
        .info(tds::ServerMessage{5701, 2, 0, kDbContext, "", "", 0});
    if (tds::has_collation(l)) {
        w.env_change_bytes(tds::env_type::kCollation, tds::kDefaultCollation, {});
    }
    w.env_change(tds::env_type::kLanguage, "us_english", "")
        .env_change(tds::env_type::kPacketSize, "4096", "4096")
        .info(tds::ServerMessage{5703, 1, 0, kLanguage, "", "", 0})
        .login_ack(ack_of(l), kSpecProgName, 0, 0, 0)
        .done(tds::done_status::kFinal);
    return w.take();
}

} // namespace

TEST_CASE("TokenWriter at 7.2 writes MS-TDS 4.4's login response byte for byte",
          "[tds][tokens][spec]") {
    const Bytes spec = payload_of(hex(kSpecLoginResponse72));
    REQUIRE(spec.size() == 0x161 - 8);
    CHECK(to_hex(write_login_response(Level::V72)) == to_hex(spec));
    CHECK(spec_login_response(Level::V72) == to_hex(spec)); // the hand-made form agrees
}

TEST_CASE("TokenWriter writes the login response of every level byte for byte",
          "[tds][tokens][spec]") {
    for (Level l :
         {Level::V70, Level::V71, Level::V72, Level::V73A, Level::V73B, Level::V74, Level::V80}) {
        CAPTURE(l);
        CHECK(to_hex(write_login_response(l)) == spec_login_response(l));
    }
}

TEST_CASE("ERROR and INFO: LineNumber USHORT before 7.2, LONG from 7.2 (2.2.7.10, 2.2.7.13)",
          "[tds][tokens][spec]") {
    const std::string fields = "04030201"
                               "05"
                               "10"
                               "0200" +
                               utf16_hex("hé") + "03" + utf16_hex("srv") + "01" + utf16_hex("p");
    for (Level l : kPre72) {
        CAPTURE(l);
        // Length 24: the line number is 2 bytes.
        CHECK(to_hex(tds::TokenWriter(l).error(sample_message()).take()) ==
              "aa1800" + fields + "0700");
        CHECK(to_hex(tds::TokenWriter(l).info(sample_message()).take()) ==
              "ab1800" + fields + "0700");
    }
    for (Level l : k72Plus) {
        CAPTURE(l);
        CHECK(to_hex(tds::TokenWriter(l).error(sample_message()).take()) ==
              "aa1a00" + fields + "07000000");
        CHECK(to_hex(tds::TokenWriter(l).info(sample_message()).take()) ==
              "ab1a00" + fields + "07000000");
    }
    SECTION("a line number beyond USHORT before 7.2 is capped, not wrapped") {
        auto m = sample_message();
        m.line = 70000;
        CHECK(to_hex(tds::TokenWriter(Level::V71).info(m).take()) == "ab1800" + fields + "ffff");
        CHECK(to_hex(tds::TokenWriter(Level::V72).info(m).take()) ==
              "ab1a00" + fields + "70110100");
    }
}

TEST_CASE("DONE, DONEPROC, DONEINPROC: DoneRowCount LONG before 7.2, ULONGLONG from 7.2",
          "[tds][tokens][spec]") {
    for (std::uint8_t type : {tds::token::kDone, tds::token::kDoneProc, tds::token::kDoneInProc}) {
        CAPTURE(int{type});
        char t[3];
        std::snprintf(t, sizeof t, "%02x", type);
        for (Level l : kPre72) {
            CAPTURE(l);
            CHECK(to_hex(tds::TokenWriter(l)
                             .done(tds::done_status::kCount, tds::kCurCmdSelect, 0x01020304, type)
                             .take()) == std::string(t) + "1000c10004030201");
        }
        for (Level l : k72Plus) {
            CAPTURE(l);
            CHECK(to_hex(tds::TokenWriter(l)
                             .done(tds::done_status::kCount, tds::kCurCmdSelect, 0x01020304, type)
                             .take()) == std::string(t) + "1000c1000403020100000000");
        }
    }
    SECTION("the size of a DONE follows the level") {
        CHECK(tds::TokenWriter(Level::V70).done(0).size() == 9);
        CHECK(tds::TokenWriter(Level::V71).done(0).size() == 9);
        CHECK(tds::TokenWriter(Level::V72).done(0).size() == 13);
    }
    SECTION("a count a LONG cannot hold is the largest LONG, never a negative one") {
        // 2.2.4.2.1.2 / 2.2.7.5: LONG is signed 32-bit; 2^31 written as-is would read as
        // -2147483648 and 2^32 capped at 0xFFFFFFFF would read as -1.
        for (std::uint64_t count : {0x80000000ULL, 0x100000000ULL, 0xFFFFFFFFFFFFFFFFULL}) {
            CAPTURE(count);
            CHECK(
                to_hex(
                    tds::TokenWriter(Level::V71).done(tds::done_status::kCount, 0, count).take()) ==
                "fd10000000ffffff7f");
        }
        CHECK(to_hex(tds::TokenWriter(Level::V71)
                         .done(tds::done_status::kCount, 0, 0x7FFFFFFF)
                         .take()) == "fd10000000ffffff7f");
        CHECK(to_hex(tds::TokenWriter(Level::V72)
                         .done(tds::done_status::kCount, 0, 0x100000000ULL)
                         .take()) == "fd100000000000000001000000");
    }
}

// The COLMETADATA Flags below are the writer's: fNullable | fComputed (0x0021), as SQL Server
// marks an expression column (MS-TDS 4.7). What these cases pin is the layout around them.
TEST_CASE("COLMETADATA: UserType USHORT before 7.2, ULONG from 7.2 (2.2.7.4)",
          "[tds][tokens][spec]") {
    for (Level l : kPre72) {
        CAPTURE(l);
        CHECK(to_hex(tds::TokenWriter(l).col_metadata(kIntColumn).take()) ==
              canon("81 01 00  00 00  21 00  26 04  00"));
    }
    for (Level l : k72Plus) {
        CAPTURE(l);
        CHECK(to_hex(tds::TokenWriter(l).col_metadata(kIntColumn).take()) ==
              canon("81 01 00  00 00 00 00  21 00  26 04  00"));
    }
}

TEST_CASE("COLMETADATA: NVARCHAR without a collation at 7.0, with one from 7.1",
          "[tds][tokens][spec]") {
    const tds::Column cols[] = {{"n", tds::nvarchar_type(10)}};
    CHECK(to_hex(tds::TokenWriter(Level::V70).col_metadata(cols).take()) ==
          canon("81 01 00  00 00  21 00  E7 14 00  01") + utf16_hex("n"));
    CHECK(to_hex(tds::TokenWriter(Level::V71).col_metadata(cols).take()) ==
          canon("81 01 00  00 00  21 00  E7 14 00 09 04 D0 00 34  01") + utf16_hex("n"));
    CHECK(to_hex(tds::TokenWriter(Level::V74).col_metadata(cols).take()) ==
          canon("81 01 00  00 00 00 00  21 00  E7 14 00 09 04 D0 00 34  01") + utf16_hex("n"));
    const tds::Value values[] = {std::string("hé")};
    CHECK(to_hex(tds::TokenWriter(Level::V70).row(cols, values).take()) ==
          canon("D1 04 00 68 00 E9 00"));
}

TEST_CASE("COLMETADATA and ROW for types a level does not have", "[tds][tokens]") {
    SECTION("a date column to a 7.2 client is nvarchar(10) holding the date's text") {
        tds::TypeInfo date;
        date.type = tds::SqlType::Date;
        const tds::Column cols[] = {{"d", date}};
        CHECK(to_hex(tds::TokenWriter(Level::V72).col_metadata(cols).take()) ==
              canon("81 01 00  00 00 00 00  21 00  E7 14 00 09 04 D0 00 34  01") + utf16_hex("d"));
        const tds::Value values[] = {tds::DateTime{tds::days_from_civil(2000, 1, 1), 0, 0}};
        CHECK(to_hex(tds::TokenWriter(Level::V72).row(cols, values).take()) ==
              "d11400" + utf16_hex("2000-01-01"));
        CHECK(to_hex(tds::TokenWriter(Level::V73A).row(cols, values).take()) ==
              canon("D1 03 07 24 0B"));
    }
    SECTION("a bigint column to a 7.0 client is numeric(19,0)") {
        const tds::Column cols[] = {{"", tds::bigint_type()}};
        CHECK(to_hex(tds::TokenWriter(Level::V70).col_metadata(cols).take()) ==
              canon("81 01 00  00 00  21 00  6C 09 13 00  00"));
        const tds::Value values[] = {std::int64_t{-5}};
        CHECK(to_hex(tds::TokenWriter(Level::V70).row(cols, values).take()) ==
              canon("D1 09 00 05 00 00 00 00 00 00 00"));
    }
    SECTION("an nvarchar(max) column to a 7.1 client is ntext with a TableName") {
        const tds::Column cols[] = {{"n", tds::nvarchar_type(5000)}};
        CHECK(to_hex(tds::TokenWriter(Level::V71).col_metadata(cols).take()) ==
              canon("81 01 00  00 00  21 00  63 FE FF FF 7F 09 04 D0 00 34  00 00  01") +
                  utf16_hex("n"));
        const tds::Value nulls[] = {std::monostate{}};
        CHECK(to_hex(tds::TokenWriter(Level::V71).row(cols, nulls).take()) == "d100");
    }
}

TEST_CASE("ENVCHANGE 8, 9, 10: transaction descriptors as 8-byte B_VARBYTE (2.2.7.9)",
          "[tds][tokens][spec]") {
    // "The payload of NEWVALUE for ENVCHANGE types 8, 11, and 17 and the payload of OLDVALUE for
    // ENVCHANGE types 9, 10, and 12 is a ULONGLONG"; the other value is %x00.
    const std::uint64_t d = 0x0102030405060708;
    CHECK(to_hex(tds::TokenWriter()
                     .env_transaction(tds::env_type::kBeginTransaction, d, std::nullopt)
                     .take()) == canon("E3 0B 00  08  08 08 07 06 05 04 03 02 01  00"));
    CHECK(to_hex(tds::TokenWriter()
                     .env_transaction(tds::env_type::kCommitTransaction, std::nullopt, d)
                     .take()) == canon("E3 0B 00  09  00  08 08 07 06 05 04 03 02 01"));
    CHECK(to_hex(tds::TokenWriter()
                     .env_transaction(tds::env_type::kRollbackTransaction, std::nullopt, d)
                     .take()) == canon("E3 0B 00  0A  00  08 08 07 06 05 04 03 02 01"));
    SECTION("ENVCHANGE 18, RESETCONNECTION acknowledgement: empty old and new values") {
        CHECK(to_hex(tds::TokenWriter()
                         .env_change_bytes(tds::env_type::kResetConnectionAck, {}, {})
                         .take()) == canon("E3 03 00 12 00 00"));
    }
}

TEST_CASE("RETURNSTATUS: 79 then a LONG (2.2.7.18)", "[tds][tokens][spec]") {
    CHECK(to_hex(tds::TokenWriter().return_status(0).take()) == canon("79 00 00 00 00"));
    CHECK(to_hex(tds::TokenWriter().return_status(-6).take()) == canon("79 FA FF FF FF"));
    CHECK(to_hex(tds::TokenWriter(Level::V70).return_status(1).take()) == canon("79 01 00 00 00"));
}

TEST_CASE("TokenWriter writes MS-TDS 4.9's RPC response byte for byte", "[tds][tokens][spec]") {
    const Bytes spec = payload_of(hex("04 01 00 27 00 00 01 00 FF 11 00 C1 00 01 00 00"
                                      "00 00 00 00 00 79 00 00 00 00 FE 00 00 E0 00 00"
                                      "00 00 00 00 00 00 00"));
    auto b = tds::TokenWriter(Level::V72)
                 .done(tds::done_status::kCount | tds::done_status::kMore, tds::cur_cmd::kSelect, 1,
                       tds::token::kDoneInProc)
                 .return_status(0)
                 .done(tds::done_status::kFinal, tds::cur_cmd::kExecute, 0, tds::token::kDoneProc)
                 .take();
    CHECK(to_hex(b) == to_hex(spec));
}

TEST_CASE("RETURNVALUE: ordinal, name, status 1, UserType, zero Flags, TYPE_INFO, value",
          "[tds][tokens][spec]") {
    // 2.2.7.19: RETURNVALUE = TokenType ParamOrdinal ParamName Status UserType Flags TypeInfo
    // Value; "All of these bit flags SHOULD be set to zero."
    const std::string name = "04" + utf16_hex("@out");
    SECTION("int at 7.4") {
        CHECK(to_hex(tds::TokenWriter(Level::V74)
                         .return_value(1, "@out", tds::int_type(), std::int64_t{42})
                         .take()) ==
              "ac0100" + name + canon("01  00 00 00 00  00 00  26 04  04 2A 00 00 00"));
    }
    SECTION("int at 7.1: a USHORT UserType") {
        CHECK(to_hex(tds::TokenWriter(Level::V71)
                         .return_value(2, "@out", tds::int_type(), std::int64_t{42})
                         .take()) ==
              "ac0200" + name + canon("01  00 00  00 00  26 04  04 2A 00 00 00"));
    }
    SECTION("a NULL nvarchar at 7.0: no collation, CHARBIN_NULL") {
        CHECK(to_hex(tds::TokenWriter(Level::V70)
                         .return_value(1, "@out", tds::nvarchar_type(10), std::monostate{})
                         .take()) == "ac0100" + name + canon("01  00 00  00 00  E7 14 00  FF FF"));
    }
    SECTION("a datetime2 to a 7.2 client: nvarchar holding the text") {
        CHECK(to_hex(tds::TokenWriter(Level::V72)
                         .return_value(1, "@out", tds::datetime2_type(0),
                                       tds::DateTime{tds::days_from_civil(2000, 1, 1), 0, 0})
                         .take()) ==
              "ac0100" + name + canon("01  00 00 00 00  00 00  E7 26 00 09 04 D0 00 34  26 00") +
                  utf16_hex("2000-01-01 00:00:00"));
    }
}
