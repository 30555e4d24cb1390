#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <tds/login7.h>
#include <tds/token_reader.h>
#include <tds/tokens.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

std::vector<std::uint8_t> env_types(const tds::TokenScan& s) {
    std::vector<std::uint8_t> out;
    for (const auto& e : s.env_changes) {
        out.push_back(e.type);
    }
    return out;
}

// Token boundaries of server_login_ok.hex: ENVCHANGE(db) 30, INFO 103, ENVCHANGE(collation) 11,
// ENVCHANGE(language) 26, INFO 107, ENVCHANGE(packet size) 22, LOGINACK 53, DONE 13.
const std::size_t kLoginOkBoundaries[] = {0, 30, 133, 144, 170, 277, 299, 352, 365};

} // namespace

TEST_CASE("scan_tokens reads the lab server's captured login response",
          "[tds][token_reader][capture]") {
    const Bytes wire = load_vector("server_login_ok.hex");
    auto h = tds::parse_header(wire);
    REQUIRE(h);
    CHECK(h->type == 0x04);
    CHECK(h->spid == 0x35);

    const Bytes payload = payload_of(wire);
    REQUIRE(payload.size() == kLoginOkBoundaries[8]);
    auto s = tds::scan_tokens(payload);
    CHECK_FALSE(s.stopped);

    SECTION("LOGINACK") {
        REQUIRE(s.login_ack);
        CHECK(s.login_ack->interface == 1);
        CHECK(s.login_ack->tds_version == tds::tds_version::k74);
        CHECK(s.login_ack->prog_name == "Microsoft SQL Server");
        CHECK(s.login_ack->major == 16);
        CHECK(s.login_ack->minor == 0);
        CHECK(s.login_ack->build == 1000);
    }
    SECTION("ENVCHANGEs in order: database, collation, language, packet size") {
        CHECK(env_types(s) == std::vector<std::uint8_t>{1, 7, 2, 4});
        REQUIRE(s.env_changes.size() == 4);
        CHECK(s.env_changes[0].new_value == "master");
        CHECK(s.env_changes[0].old_value == "master");
        CHECK(s.env_changes[1].new_value.empty()); // binary: only the type is kept
        CHECK(s.env_changes[2].new_value == "us_english");
        CHECK(s.env_changes[2].old_value == "");
        CHECK(s.env_changes[3].new_value == "4096");
        CHECK(s.env_changes[3].old_value == "4096");
    }
    SECTION("INFO 5701 and 5703") {
        REQUIRE(s.infos.size() == 2);
        CHECK(s.infos[0].number == 5701);
        CHECK(s.infos[0].state == 1);
        CHECK(s.infos[0].severity == 10);
        CHECK(s.infos[0].text == "Changed database context to 'master'.");
        CHECK(s.infos[0].server_name == "tlslab");
        CHECK(s.infos[0].proc_name == "");
        CHECK(s.infos[0].line == 0);
        CHECK(s.infos[1].number == 5703);
        CHECK(s.infos[1].text == "Changed language setting to us_english.");
        CHECK(s.errors.empty());
    }
    SECTION("a final DONE") {
        REQUIRE(s.dones.size() == 1);
        CHECK(s.dones[0].type == tds::token::kDone);
        CHECK(s.dones[0].status == tds::done_status::kFinal);
        CHECK(s.dones[0].cur_cmd == 0);
        CHECK(s.dones[0].row_count == 0);
    }
}

TEST_CASE("scan_tokens reads the lab server's captured 18456 login failure",
          "[tds][token_reader][capture]") {
    auto s = tds::scan_tokens(payload_of(load_vector("server_login_failed.hex")));
    CHECK_FALSE(s.stopped);
    CHECK_FALSE(s.login_ack);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].number == 18456);
    CHECK(s.errors[0].severity == 14);
    CHECK(s.errors[0].state == 1);
    CHECK(s.errors[0].text == "Login failed for user 'lab'.");
    CHECK(s.errors[0].server_name == "tlslab");
    REQUIRE(s.dones.size() == 1);
    CHECK(s.dones[0].status == tds::done_status::kError);
}

TEST_CASE("scan_tokens reads what TokenWriter writes", "[tds][token_reader][tokens]") {
    tds::ServerMessage warn{50000, 2, 16, "boom 😀", "srv", "proc", 12};
    const std::uint8_t acked[] = {tds::feature_id::kUtf8Support};
    const std::uint8_t routing[] = {0x00, 0x05, 0x00, 0x99, 0x05, 0x00, 'h', 0,
                                    'o',  0,    's',  0,    't',  0,    '1', 0};
    auto b = tds::TokenWriter()
                 .login_ack(tds::tds_version::k72, "lab", 15, 2, 0x1234)
                 .feature_ext_ack(acked)
                 .env_change(tds::env_type::kCharset, "iso_1", "")
                 .env_change_bytes(tds::env_type::kRouting, routing, {})
                 .error(warn)
                 .info(warn)
                 .done(tds::done_status::kMore, 0xC1, 3, tds::token::kDoneInProc)
                 .done(tds::done_status::kCount, 0xE0, 1, tds::token::kDoneProc)
                 .done(tds::done_status::kAttention)
                 .take();
    b.insert(b.end(), {tds::token::kReturnStatus, 0, 0, 0, 0}); // RETURNSTATUS int32 0
    auto s = tds::scan_tokens(b);
    CHECK_FALSE(s.stopped);
    REQUIRE(s.login_ack);
    CHECK(s.login_ack->tds_version == tds::tds_version::k72);
    CHECK(s.login_ack->prog_name == "lab");
    CHECK(s.login_ack->build == 0x1234);
    CHECK(env_types(s) == std::vector<std::uint8_t>{3, 20});
    CHECK(s.env_changes[0].new_value == "iso_1");
    REQUIRE(s.errors.size() == 1);
    REQUIRE(s.infos.size() == 1);
    for (const auto* m : {&s.errors[0], &s.infos[0]}) {
        CHECK(m->number == 50000);
        CHECK(m->state == 2);
        CHECK(m->severity == 16);
        CHECK(m->text == "boom 😀");
        CHECK(m->server_name == "srv");
        CHECK(m->proc_name == "proc");
        CHECK(m->line == 12);
    }
    REQUIRE(s.dones.size() == 3);
    CHECK(s.dones[0].type == tds::token::kDoneInProc);
    CHECK(s.dones[0].row_count == 3);
    CHECK(s.dones[0].cur_cmd == 0xC1);
    CHECK(s.dones[1].type == tds::token::kDoneProc);
    CHECK(s.dones[2].status == tds::done_status::kAttention);
}

TEST_CASE("scan_tokens skips tokens with a 4-byte length", "[tds][token_reader]") {
    // SESSIONSTATE (0xE4) and FEDAUTHINFO (0xEE): DWORD length then data.
    auto s = tds::scan_tokens(hex("E4 03 00 00 00 01 02 03"
                                  "EE 00 00 00 00"
                                  "FD 00 00 00 00 00 00 00 00 00 00 00 00"));
    CHECK_FALSE(s.stopped);
    CHECK(s.dones.size() == 1);
}

TEST_CASE("scan_tokens stops at a token it cannot size", "[tds][token_reader]") {
    SECTION("COLMETADATA in the captured SELECT 1 response") {
        auto s = tds::scan_tokens(payload_of(load_vector("server_select1.hex")));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::UnknownToken);
        CHECK(s.stopped_at == 0);
        CHECK(s.dones.empty());
    }
    SECTION("an unknown byte after good tokens: what came before is kept") {
        auto b = tds::TokenWriter().env_change(tds::env_type::kDatabase, "db", "").take();
        const std::size_t at = b.size();
        b.push_back(0x00);
        b.push_back(0xFD);
        auto s = tds::scan_tokens(b);
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::UnknownToken);
        CHECK(s.stopped_at == at);
        REQUIRE(s.env_changes.size() == 1);
        CHECK(s.env_changes[0].new_value == "db");
    }
}

TEST_CASE("every truncation of the login response stops at the cut token with the right error",
          "[tds][token_reader][hostile]") {
    const Bytes payload = payload_of(load_vector("server_login_ok.hex"));
    std::size_t token = 0; // index of the token the cut falls into
    for (std::size_t n = 0; n <= payload.size(); ++n) {
        CAPTURE(n);
        while (token + 1 < std::size(kLoginOkBoundaries) && kLoginOkBoundaries[token + 1] <= n) {
            ++token;
        }
        const std::size_t start = kLoginOkBoundaries[token];
        auto s = tds::scan_tokens(prefix(payload, n));
        if (n == start) {
            CHECK_FALSE(s.stopped);
            continue;
        }
        REQUIRE(s.stopped);
        CHECK(s.stopped_at == start);
        const std::uint8_t type = payload[start];
        if (type == tds::token::kDone) {
            CHECK(*s.stopped == tds::Error::Truncated); // fixed 12-byte body cut short
        } else if (n - start < 3) {
            CHECK(*s.stopped == tds::Error::Truncated); // the 2-byte length itself is cut
        } else {
            CHECK(*s.stopped == tds::Error::BadToken); // the length runs past the end
        }
        // Tokens before the cut are all there.
        CHECK(s.env_changes.size() + s.infos.size() + (s.login_ack ? 1 : 0) == token);
    }
}

TEST_CASE("token lengths that run past the data stop the scan", "[tds][token_reader][hostile]") {
    SECTION("ERROR whose length exceeds the payload") {
        auto s = tds::scan_tokens(hex("AA FF FF 00 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
        CHECK(s.stopped_at == 0);
    }
    SECTION("ERROR whose text length runs past its own token length") {
        // len 12: Number, State, Class, then MsgText claiming 100 characters.
        auto s = tds::scan_tokens(hex("AA 0C 00 18 48 00 00 01 0E 64 00 41 00 42 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
        CHECK(s.errors.empty());
    }
    SECTION("LOGINACK body too short for its fields") {
        auto s = tds::scan_tokens(hex("AD 05 00 01 74 00 00 04"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
        CHECK_FALSE(s.login_ack);
    }
    SECTION("LOGINACK prog name longer than the token") {
        auto s = tds::scan_tokens(hex("AD 0A 00 01 74 00 00 04 FF 10 00 00 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
    }
    SECTION("ENVCHANGE packet size whose B_VARCHAR runs past the token") {
        auto s = tds::scan_tokens(hex("E3 04 00 04 09 34 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
    }
    SECTION("ENVCHANGE with an empty body") {
        auto s = tds::scan_tokens(hex("E3 00 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
    }
    SECTION("SESSIONSTATE DWORD length past the end") {
        auto s = tds::scan_tokens(hex("E4 FF FF FF FF 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
    }
    SECTION("SESSIONSTATE DWORD length itself cut") {
        auto s = tds::scan_tokens(hex("E4 01 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::Truncated);
    }
    SECTION("FEATUREEXTACK without its terminator") {
        auto s = tds::scan_tokens(hex("AE 0A 01 00 00 00 01"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::NoTerminator);
    }
    SECTION("FEATUREEXTACK data length past the end") {
        auto s = tds::scan_tokens(hex("AE 0A FF 00 00 00 01 FF"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::BadToken);
    }
    SECTION("RETURNSTATUS cut short") {
        auto s = tds::scan_tokens(hex("79 00 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::Truncated);
    }
    SECTION("DONE cut short") {
        auto s = tds::scan_tokens(hex("FD 00 00 00 00 00 00 00 00 00 00 00"));
        REQUIRE(s.stopped);
        CHECK(*s.stopped == tds::Error::Truncated);
        CHECK(s.dones.empty());
    }
    SECTION("an empty payload is an empty, complete scan") {
        const Bytes empty;
        auto s = tds::scan_tokens(empty);
        CHECK_FALSE(s.stopped);
        CHECK(s.dones.empty());
    }
}

// --- layouts by protocol level --------------------------------------------------------------

namespace {

// MS-TDS 4.4's login response payload (a 7.2 server), without the packet header.
const char* const kSpecLoginResponse72Payload = R"(
E3 1B 00 01 06 6D 00 61 00 73 00 74 00 65 00 72 00 06 6D 00 61 00 73 00 74 00 65 00 72 00
AB 58 00 45 16 00 00 02 00 25 00 43 00 68 00 61 00 6E 00 67 00 65 00 64 00 20 00 64 00 61
00 74 00 61 00 62 00 61 00 73 00 65 00 20 00 63 00 6F 00 6E 00 74 00 65 00 78 00 74 00 20
00 74 00 6F 00 20 00 27 00 6D 00 61 00 73 00 74 00 65 00 72 00 27 00 2E 00 00 00 00 00 00
00 E3 08 00 07 05 09 04 D0 00 34 00 E3 17 00 02 0A 75 00 73 00 5F 00 65 00 6E 00 67 00 6C
00 69 00 73 00 68 00 00 E3 13 00 04 04 34 00 30 00 39 00 36 00 04 34 00 30 00 39 00 36 00
AB 5C 00 47 16 00 00 01 00 27 00 43 00 68 00 61 00 6E 00 67 00 65 00 64 00 20 00 6C 00 61
00 6E 00 67 00 75 00 61 00 67 00 65 00 20 00 73 00 65 00 74 00 74 00 69 00 6E 00 67 00 20
00 74 00 6F 00 20 00 75 00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69 00 73 00 68 00 2E 00 00
00 00 00 00 00 AD 36 00 01 72 09 00 02 16 4D 00 69 00 63 00 72 00 6F 00 73 00 6F 00 66 00
74 00 20 00 53 00 51 00 4C 00 20 00 53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00 00 00
00 00 FD 00 00 00 00 00 00 00 00 00 00 00 00)";

// The same response as a 7.1 server sends it: LineNumber USHORT, DoneRowCount LONG, LOGINACK
// 0x71000001.
tds::TokenWriter login_response(tds::Level level, std::uint32_t ack) {
    tds::TokenWriter w(level);
    w.env_change(tds::env_type::kDatabase, "master", "master")
        .info({5701, 2, 0, "Changed database context to 'master'.", "", "", 3})
        .env_change(tds::env_type::kPacketSize, "4096", "4096")
        .login_ack(ack, "Microsoft SQL Server", 8, 0, 2039)
        .done(tds::done_status::kCount, 0, 7);
    return w;
}

} // namespace

TEST_CASE("scan_tokens reads MS-TDS 4.4's login response at 7.2", "[tds][token_reader][spec]") {
    const Bytes payload = hex(kSpecLoginResponse72Payload);
    REQUIRE(payload.size() == 0x161 - 8);
    auto s = tds::scan_tokens(payload, tds::Level::V72);
    CHECK_FALSE(s.stopped);
    REQUIRE(s.login_ack);
    CHECK(s.login_ack->tds_version == 0x72090002);
    CHECK(s.login_ack->prog_name == std::string("Microsoft SQL Server\0\0", 22));
    CHECK(env_types(s) == std::vector<std::uint8_t>{1, 7, 2, 4});
    REQUIRE(s.infos.size() == 2);
    CHECK(s.infos[0].number == 5701);
    CHECK(s.infos[0].state == 2);
    CHECK(s.infos[1].number == 5703);
    REQUIRE(s.dones.size() == 1);
}

TEST_CASE("scan_tokens reads pre-7.2 layouts: USHORT line numbers, LONG row counts",
          "[tds][token_reader][spec]") {
    for (tds::Level l : {tds::Level::V70, tds::Level::V71}) {
        CAPTURE(l);
        const auto b = login_response(l, 0x71000001).take();
        auto s = tds::scan_tokens(b, l);
        CHECK_FALSE(s.stopped);
        REQUIRE(s.infos.size() == 1);
        CHECK(s.infos[0].line == 3);
        REQUIRE(s.login_ack);
        CHECK(s.login_ack->tds_version == 0x71000001);
        REQUIRE(s.dones.size() == 1);
        CHECK(s.dones[0].row_count == 7);
        CHECK(s.dones[0].status == tds::done_status::kCount);
        // Read with 7.2 layouts, the same bytes do not parse.
        CHECK(tds::scan_tokens(b, tds::Level::V74).stopped);
    }
    SECTION("DONEPROC and DONEINPROC are 9 bytes too") {
        auto b = tds::TokenWriter(tds::Level::V71)
                     .done(tds::done_status::kMore, 0xC1, 2, tds::token::kDoneInProc)
                     .return_status(0)
                     .done(tds::done_status::kFinal, 0xE0, 0, tds::token::kDoneProc)
                     .take();
        REQUIRE(b.size() == 9 + 5 + 9);
        auto s = tds::scan_tokens(b, tds::Level::V71);
        CHECK_FALSE(s.stopped);
        REQUIRE(s.dones.size() == 2);
        CHECK(s.dones[0].type == tds::token::kDoneInProc);
        CHECK(s.dones[0].row_count == 2);
        CHECK(s.dones[1].type == tds::token::kDoneProc);
    }
}

TEST_CASE("scan_tokens keeps the type of transaction ENVCHANGEs", "[tds][token_reader]") {
    auto b =
        tds::TokenWriter(tds::Level::V72)
            .env_transaction(tds::env_type::kBeginTransaction, 0x0102030405060708, std::nullopt)
            .env_transaction(tds::env_type::kCommitTransaction, std::nullopt, 0x0102030405060708)
            .env_transaction(tds::env_type::kRollbackTransaction, std::nullopt, 9)
            .env_change_bytes(tds::env_type::kResetConnectionAck, {}, {})
            .done(0)
            .take();
    auto s = tds::scan_tokens(b, tds::Level::V72);
    CHECK_FALSE(s.stopped);
    CHECK(env_types(s) == std::vector<std::uint8_t>{8, 9, 10, 18});
}

TEST_CASE("every truncation of a 7.0 and a 7.1 login response stops cleanly",
          "[tds][token_reader][hostile]") {
    for (tds::Level l : {tds::Level::V70, tds::Level::V71}) {
        CAPTURE(l);
        const Bytes full = login_response(l, l == tds::Level::V70 ? 0x07000000 : 0x71000001).take();
        std::size_t complete = 0;
        for (std::size_t n = 0; n <= full.size(); ++n) {
            CAPTURE(n);
            auto s = tds::scan_tokens(prefix(full, n), l);
            const std::size_t found =
                s.env_changes.size() + s.infos.size() + (s.login_ack ? 1 : 0) + s.dones.size();
            CHECK(found >= complete); // a longer prefix never finds fewer tokens
            complete = found;
            if (n == full.size()) {
                CHECK_FALSE(s.stopped);
                CHECK(found == 5);
            } else if (s.stopped) {
                CHECK(s.stopped_at <= n);
                CHECK((*s.stopped == tds::Error::Truncated || *s.stopped == tds::Error::BadToken));
            }
        }
    }
}

TEST_CASE("ENVCHANGE routing (type 20): TokenWriter and scan_tokens agree on MS-TDS 2.2.7.9 bytes",
          "[tds][token_reader][tokens][spec]") {
    // E3, length 14, type 20, US_VARBYTE new value (9 bytes: protocol 0 = TCP, port 1433 LE,
    // US_VARCHAR "db"), US_VARBYTE old value empty.
    const Bytes wire = hex("E3 0E 00 14"
                           "09 00 00 99 05 02 00 64 00 62 00"
                           "00 00");
    CHECK(to_hex(tds::TokenWriter().env_routing(1433, "db").take()) == to_hex(wire));
    auto s = tds::scan_tokens(wire);
    CHECK_FALSE(s.stopped);
    REQUIRE(s.env_changes.size() == 1);
    CHECK(s.env_changes[0].type == 20);
    REQUIRE(s.env_changes[0].routing);
    CHECK(s.env_changes[0].routing->protocol == 0);
    CHECK(s.env_changes[0].routing->port == 1433);
    CHECK(s.env_changes[0].routing->alternate_server == "db");

    auto long_name = tds::TokenWriter().env_routing(50123, "sql-replica.lab.test").take();
    auto s2 = tds::scan_tokens(long_name);
    REQUIRE(s2.env_changes.size() == 1);
    REQUIRE(s2.env_changes[0].routing);
    CHECK(s2.env_changes[0].routing->alternate_server == "sql-replica.lab.test");
    CHECK(s2.env_changes[0].routing->port == 50123);
    CHECK(long_name.size() == 3 + 1 + 2 + 1 + 2 + 2 + 40 + 2);
}

TEST_CASE("a damaged routing ENVCHANGE is left undecoded, never read past its token",
          "[tds][token_reader][hostile]") {
    // value length 0x20 claims more than the token holds; server length 0x7F past the value
    for (const char* bad : {"E3 0E 00 14 20 00 00 99 05 02 00 64 00 62 00 00 00",
                            "E3 0E 00 14 09 00 00 99 05 7F 00 64 00 62 00 00 00",
                            "E3 0E 00 14 09 00 00 99 05 02 00 64 00 62 00 05 00"}) {
        INFO(bad);
        auto s = tds::scan_tokens(hex(bad));
        CHECK_FALSE(s.stopped);
        REQUIRE(s.env_changes.size() == 1);
        CHECK(s.env_changes[0].type == 20);
        CHECK_FALSE(s.env_changes[0].routing);
    }
}

TEST_CASE("scan_tokens says where LOGINACK ends", "[tds][token_reader]") {
    auto b = tds::TokenWriter()
                 .env_change(tds::env_type::kDatabase, "lab", "master")
                 .login_ack(0x74000004, "Microsoft SQL Server", 16, 0, 1000)
                 .done(0)
                 .take();
    auto s = tds::scan_tokens(b);
    REQUIRE(s.login_ack);
    CHECK(b[s.login_ack_end] == tds::token::kDone);
    CHECK(s.login_ack_end == b.size() - 13);
}
