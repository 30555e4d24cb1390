#include <string>

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

TEST_CASE("TokenWriter writes the SELECT 1 response of tds-protocol.md 6.3 byte for byte",
          "[tds][tokens][spec]") {
    const tds::Value one[] = {std::int64_t{1}};
    auto bytes = tds::TokenWriter()
                     .col_metadata(kIntColumn)
                     .row(kIntColumn, one)
                     .done(tds::done_status::kCount, tds::kCurCmdSelect, 1)
                     .take();
    const std::string expected = "810100"
                                 "00000000"
                                 "0100"
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

    SECTION("and the lab server sent exactly those bytes to go-mssqldb") {
        CHECK(to_hex(payload_of(load_vector("server_select1.hex"))) == expected);
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
              "0100"
              "2604"
              "01" +
                  utf16_hex("n") + // INTN(4) "n"
                  "00000000"
                  "0100"
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
