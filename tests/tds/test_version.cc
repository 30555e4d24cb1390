#include <cstdint>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <tds/version.h>

#include "tds_test_util.h"

// Version negotiation against MS-TDS 2.2.6.4 (LOGIN7 TDSVersion: a client asking for more than
// the server knows gets the server's highest, a client asking for less gets what it asked for)
// and appendix A note <69> (section 2.2.7.14, LOGINACK), whose table gives, per SQL Server
// release, the value a client sends and the value the server answers. The table is in network
// order; LOGIN7 carries the DWORD little-endian and LOGINACK big-endian, so "client to server
// 0x00000071" is the LOGIN7 DWORD 0x71000000 and "server to client 0x07010000" the LOGINACK
// DWORD 0x07010000.

namespace {

struct Row {
    const char* release;
    std::uint32_t login7; // the DWORD value of LOGIN7 TDSVersion
    tds::Level level;
    std::uint32_t ack; // the DWORD value of LOGINACK TDSVersion
};

// Appendix A note <69>, row by row, plus TDS 8.0 (answered as itself).
const Row kTable[] = {
    {"SQL Server 7.0", 0x70000000, tds::Level::V70, 0x07000000},
    {"SQL Server 2000", 0x71000000, tds::Level::V71, 0x07010000},
    {"SQL Server 2000 SP1", 0x71000001, tds::Level::V71, 0x71000001},
    {"SQL Server 2005", 0x72090002, tds::Level::V72, 0x72090002},
    {"SQL Server 2008", 0x730A0003, tds::Level::V73A, 0x730A0003},
    {"SQL Server 2008 R2", 0x730B0003, tds::Level::V73B, 0x730B0003},
    {"SQL Server 2012-2025", 0x74000004, tds::Level::V74, 0x74000004},
    {"TDS 8.0", 0x08000000, tds::Level::V80, 0x08000000},
};

} // namespace

TEST_CASE("the version constants are the DWORDs of appendix A note <69>", "[tds][version][spec]") {
    // Network order 00 00 00 70 read as a little-endian DWORD, and so on.
    CHECK(tds::tds_version::k70 == 0x70000000);
    CHECK(tds::tds_version::k71Rev0 == 0x71000000);
    CHECK(tds::tds_version::k71 == 0x71000001);
    CHECK(tds::tds_version::k72 == 0x72090002);
    CHECK(tds::tds_version::k73A == 0x730A0003);
    CHECK(tds::tds_version::k73B == 0x730B0003);
    CHECK(tds::tds_version::k74 == 0x74000004);
    CHECK(tds::tds_version::kAck70 == 0x07000000);
    CHECK(tds::tds_version::kAck71Rev0 == 0x07010000);
}

TEST_CASE("negotiate_version answers every LOGIN7 value of the appendix table",
          "[tds][version][spec]") {
    for (const auto& row : kTable) {
        CAPTURE(row.release);
        auto n = tds::negotiate_version(row.login7);
        REQUIRE(n);
        CHECK(n->level == row.level);
        CHECK(n->login_ack_version == row.ack);
    }
}

TEST_CASE("7.0 and 7.1 answer in LOGINACK a value different from what the client sent",
          "[tds][version][spec]") {
    CHECK(tds::negotiate_version(0x70000000)->login_ack_version == 0x07000000);
    CHECK(tds::negotiate_version(0x71000000)->login_ack_version == 0x07010000);
    // From 7.1 revision 1 on, the answer is the value sent.
    CHECK(tds::negotiate_version(0x71000001)->login_ack_version == 0x71000001);
}

TEST_CASE("a client newer than the server gets the server's highest 7.x version (2.2.6.4)",
          "[tds][version][spec]") {
    for (std::uint32_t v : {0x75000000u, 0x75000005u, 0x7F000000u, 0xFFFFFFFFu}) {
        CAPTURE(v);
        auto n = tds::negotiate_version(v);
        REQUIRE(n);
        CHECK(n->level == tds::Level::V74);
        CHECK(n->login_ack_version == tds::tds_version::k74);
    }
}

TEST_CASE("an unknown revision inside a generation gets that generation's answer",
          "[tds][version]") {
    struct Case {
        std::uint32_t login7;
        tds::Level level;
        std::uint32_t ack;
    };
    const Case cases[] = {
        {0x70000001, tds::Level::V70, 0x07000000},
        {0x70FFFFFF, tds::Level::V70, 0x07000000},
        {0x71000002, tds::Level::V71, 0x71000001}, // above rev 1: the highest 7.1
        {0x7100FFFF, tds::Level::V71, 0x71000001},
        {0x72000000, tds::Level::V72, 0x72090002},
        {0x72090003, tds::Level::V72, 0x72090002},
        {0x730A0000, tds::Level::V73A, 0x730A0003}, // below 7.3B: 7.3A
        {0x73000000, tds::Level::V73A, 0x730A0003},
        {0x730B0004, tds::Level::V73B, 0x730B0003}, // 7.3B and above: 7.3B
        {0x730C0003, tds::Level::V73B, 0x730B0003},
        {0x74000005, tds::Level::V74, 0x74000004},
        {0x74FFFFFF, tds::Level::V74, 0x74000004},
    };
    for (const auto& c : cases) {
        CAPTURE(c.login7);
        auto n = tds::negotiate_version(c.login7);
        REQUIRE(n);
        CHECK(n->level == c.level);
        CHECK(n->login_ack_version == c.ack);
    }
}

TEST_CASE("versions below 7.0 are refused", "[tds][version]") {
    // TDS 4.2 and 5.0 (04 02 00 00 and 05 00 00 00 on the wire, in either byte order), the
    // LOGINACK forms of 7.0/7.1 sent as a LOGIN7 value, the network-order notation of 7.0 taken
    // literally, and zero.
    for (std::uint32_t v : {0x00000000u, 0x04020000u, 0x00000204u, 0x05000000u, 0x00000005u,
                            0x07000000u, 0x07010000u, 0x00000070u, 0x00000071u, 0x07FFFFFFu}) {
        CAPTURE(v);
        CHECK_FALSE(tds::negotiate_version(v).has_value());
    }
}

TEST_CASE("level_of_login_ack reads every server-to-client value of the appendix table",
          "[tds][version][spec]") {
    for (const auto& row : kTable) {
        CAPTURE(row.release);
        CHECK(tds::level_of_login_ack(row.ack) == std::optional<tds::Level>(row.level));
    }
}

TEST_CASE("level_of_login_ack: values no server sends are nullopt", "[tds][version][spec]") {
    // The header's contract ("nullopt for a value no server sends") against note <69>: 7.0 and
    // 7.1 rev 0 servers answer 0x07000000 / 0x07010000, never the LOGIN7 forms, and no server
    // answers above 7.4 in the 7.x numbering.
    for (std::uint32_t v : {0x00000000u, 0x07020000u, 0x05000000u}) {
        CAPTURE(v);
        CHECK_FALSE(tds::level_of_login_ack(v).has_value());
    }
    for (std::uint32_t v : {0x70000000u, 0x71000000u, 0x75000000u}) {
        CAPTURE(v);
        CHECK_FALSE(tds::level_of_login_ack(v).has_value());
    }
}

TEST_CASE("negotiate then level_of_login_ack gives back the negotiated level", "[tds][version]") {
    for (const auto& row : kTable) {
        CAPTURE(row.release);
        auto n = tds::negotiate_version(row.login7);
        REQUIRE(n);
        CHECK(tds::level_of_login_ack(n->login_ack_version) == std::optional<tds::Level>(n->level));
    }
}

TEST_CASE("tds_version_name names the known versions and prints the rest in hex",
          "[tds][version]") {
    CHECK(tds::tds_version_name(0x70000000) == "7.0");
    CHECK(tds::tds_version_name(0x71000000) == "7.1 rev0");
    CHECK(tds::tds_version_name(0x71000001) == "7.1");
    CHECK(tds::tds_version_name(0x72090002) == "7.2");
    CHECK(tds::tds_version_name(0x730A0003) == "7.3A");
    CHECK(tds::tds_version_name(0x730B0003) == "7.3B");
    CHECK(tds::tds_version_name(0x74000004) == "7.4");
    CHECK(tds::tds_version_name(0x08000000) == "8.0");
    CHECK(tds::tds_version_name(0x12345678) == "0x12345678");
    CHECK(tds::tds_version_name(0x0000ABCD) == "0x0000ABCD");
    CHECK(tds::tds_version_name(0) == "0x00000000");
    CHECK(tds::tds_version_name(0xFFFFFFFF) == "0xFFFFFFFF");
}

TEST_CASE("to_string names each level", "[tds][version]") {
    CHECK(tds::to_string(tds::Level::V70) == "7.0");
    CHECK(tds::to_string(tds::Level::V71) == "7.1");
    CHECK(tds::to_string(tds::Level::V72) == "7.2");
    CHECK(tds::to_string(tds::Level::V73A) == "7.3A");
    CHECK(tds::to_string(tds::Level::V73B) == "7.3B");
    CHECK(tds::to_string(tds::Level::V74) == "7.4");
    CHECK(tds::to_string(tds::Level::V80) == "8.0");
}

TEST_CASE("what each generation adds", "[tds][version][spec]") {
    using L = tds::Level;
    // Collations arrived with SQL Server 2000 (7.1).
    CHECK_FALSE(tds::has_collation(L::V70));
    for (L l : {L::V71, L::V72, L::V73A, L::V73B, L::V74, L::V80}) {
        CHECK(tds::has_collation(l));
    }
    // 7.2: ALL_HEADERS (2.2.5.3), ULONGLONG DoneRowCount, LONG LineNumber, ULONG UserType.
    for (L l : {L::V70, L::V71}) {
        CHECK_FALSE(tds::is_72_plus(l));
    }
    for (L l : {L::V72, L::V73A, L::V73B, L::V74, L::V80}) {
        CHECK(tds::is_72_plus(l));
    }
    // 7.3: DATENTYPE, TIMENTYPE, DATETIME2NTYPE, DATETIMEOFFSETNTYPE (2.2.5.4.3).
    for (L l : {L::V70, L::V71, L::V72}) {
        CHECK_FALSE(tds::has_new_date_types(l));
    }
    for (L l : {L::V73A, L::V73B, L::V74, L::V80}) {
        CHECK(tds::has_new_date_types(l));
    }
    CHECK_FALSE(tds::has_bigint(L::V70));
    CHECK(tds::has_bigint(L::V71));
    CHECK(tds::has_bigint(L::V80));
}
