#include <algorithm>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <tds/packet_writer.h>
#include <tds/prelogin.h>

#include "tds_test_util.h"

using namespace tds_test;
namespace tok = tds::prelogin_token;

namespace {

// MS-TDS 4.1 "Pre-Login Request": VERSION 9.0.0.0, ENCRYPTION ON, INSTOPT "", THREADID
// B8 0D 00 00, MARS on.
const char* const kSpecClientPrelogin = "12 01 00 2F 00 00 01 00"
                                        "00 00 1A 00 06 01 00 20 00 01 02 00 21 00 01"
                                        "03 00 22 00 04 04 00 26 00 01 FF"
                                        "09 00 00 00 00 00 01 00 B8 0D 00 00 01";

// tds-protocol.md 6.1, the known-good server answer, with ENCRYPTION = NOT_SUP (0x02).
const char* const kServerAnswer61 = "04 01 00 2B 00 00 01 00"
                                    "00 00 1A 00 06 01 00 20 00 01 02 00 21 00 01"
                                    "03 00 22 00 00 04 00 22 00 01 FF"
                                    "10 00 07 D0 00 00"
                                    "02"
                                    "00"
                                    "00";

std::vector<std::uint8_t> tokens_of(const tds::Prelogin& p) {
    std::vector<std::uint8_t> out;
    for (const auto& o : p.options()) {
        out.push_back(o.token);
    }
    return out;
}

tds::Prelogin parse_ok(const Bytes& payload) {
    auto p = tds::Prelogin::parse(payload);
    REQUIRE(p);
    return *p;
}

// The position of the ENCRYPTION data byte, read from the option table by hand.
std::size_t encryption_offset(const Bytes& payload) {
    for (std::size_t i = 0; i + 5 <= payload.size() && payload[i] != 0xFF; i += 5) {
        if (payload[i] == tok::kEncryption) {
            return static_cast<std::size_t>(payload[i + 1] << 8 | payload[i + 2]);
        }
    }
    FAIL("no ENCRYPTION option");
    return 0;
}

struct DriverPrelogin {
    const char* file;
    std::uint8_t packet_id;
    std::vector<std::uint8_t> tokens;
    std::uint8_t encryption;
    const char* version;
    std::optional<std::string> instance;
    std::optional<std::uint32_t> thread_id;
    std::optional<bool> mars;
    std::optional<std::uint8_t> fedauth;
};

// What each real driver sent (captured against a server that answers NOT_SUP; see the
// comment lines of each vector file).
const DriverPrelogin kDrivers[] = {
    // tedious 19.2.2 encrypt:false sends NOT_SUP (never OFF); VERSION is the driver version;
    // it sends FEDAUTHREQUIRED = 1 and a TRACEID.
    {"tedious_prelogin.hex", 1, {0, 1, 2, 3, 4, 5, 6}, 0x02, "19.2.2.0", "", 0, false, 1},
    // go-mssqldb v1.11.2 encrypt=disable sends NOT_SUP. Its VERSION bytes are 02 00 0B 01:
    // the driver version 0x010B0002 (1.11.2) written little-endian, so a big-endian reader
    // sees "2.0.2817".
    {"go_prelogin.hex", 1, {0, 1, 2, 3, 4, 5}, 0x02, "2.0.2817.0", "", 0, false, std::nullopt},
    // FreeTDS 1.3.17 encryption=off sends NOT_SUP, instance "MSSQLServer", PacketID 0, and
    // its pid (25293 = 0x62CD) little-endian as THREADID: CD 62 00 00, read big-endian.
    {"tsql_prelogin.hex",
     0,
     {0, 1, 2, 3, 4},
     0x02,
     "9.0.0.0",
     "MSSQLServer",
     0xCD620000u,
     false,
     std::nullopt},
    // FreeTDS with tds version = 7.1: no MARS option; VERSION 8.0.341 as in MS-SSTDS 4.1.
    {"tsql71_prelogin.hex",
     0,
     {0, 1, 2, 3},
     0x02,
     "8.0.341.0",
     "MSSQLServer",
     0x99680000u,
     std::nullopt,
     std::nullopt},
    // msodbcsql 18.6 Encrypt=optional sends OFF (0x00).
    {"odbc_prelogin.hex", 1, {0, 1, 2, 3, 4, 5}, 0x00, "18.6.2.0", "", 0, false, std::nullopt},
    // mssql-jdbc 12.10.2.0 encrypt=false sends OFF and only VERSION, ENCRYPTION and TRACEID.
    {"jdbc_prelogin.hex",
     0,
     {0, 1, 5},
     0x00,
     "12.10.2.0",
     std::nullopt,
     std::nullopt,
     std::nullopt,
     std::nullopt},
};

} // namespace

TEST_CASE("the MS-TDS 4.1 client PRELOGIN example parses", "[tds][prelogin][spec]") {
    const Bytes wire = hex(kSpecClientPrelogin);
    auto h = tds::parse_header(wire);
    REQUIRE(h);
    CHECK(h->type == 0x12);
    CHECK(h->length == wire.size());

    const Bytes payload = payload_of(wire);
    auto p = parse_ok(payload);
    CHECK(tokens_of(p) == std::vector<std::uint8_t>{0, 1, 2, 3, 4});
    REQUIRE(p.version());
    CHECK(p.version()->to_string() == "9.0.0.0");
    REQUIRE(p.encryption());
    CHECK(*p.encryption() == 0x01);
    REQUIRE(p.instance());
    CHECK(*p.instance() == "");
    REQUIRE(p.option_data(tok::kThreadId));
    CHECK(to_hex(*p.option_data(tok::kThreadId)) == "b80d0000");
    REQUIRE(p.mars());
    CHECK(*p.mars());
    CHECK_FALSE(p.fedauth_required());
    CHECK(p.bytes() == payload);

    SECTION("PreloginBuilder writes the same bytes") {
        const Bytes thread = hex("B8 0D 00 00");
        auto built = tds::PreloginBuilder()
                         .version({9, 0, 0, 0})
                         .encryption(0x01)
                         .instance_ok()
                         .add(tok::kThreadId, thread)
                         .mars(true)
                         .build();
        CHECK(to_hex(built) == to_hex(payload));
        CHECK(tds::write_message(0x12, built, 4096, 0) == wire);
    }
}

TEST_CASE("PreloginBuilder writes the 6.1 server answer byte for byte", "[tds][prelogin][spec]") {
    const Bytes wire = hex(kServerAnswer61);
    auto built = tds::PreloginBuilder()
                     .version({16, 0, 2000, 0})
                     .encryption(0x02)
                     .instance_ok()
                     .thread_id_empty()
                     .mars(false)
                     .build();
    CHECK(to_hex(tds::write_message(0x04, built, 4096, 0)) == to_hex(wire));

    auto p = parse_ok(payload_of(wire));
    CHECK(p.version()->to_string() == "16.0.2000.0");
    CHECK(*p.encryption() == 0x02);
    CHECK(*p.instance_status() == 0x00);
    REQUIRE(p.option_data(tok::kThreadId));
    CHECK(p.option_data(tok::kThreadId)->empty()); // THREADID present with length 0
    CHECK_FALSE(p.thread_id());
    CHECK(*p.mars() == false);
}

TEST_CASE("the lab server's captured PRELOGIN answer has the 6.1 layout",
          "[tds][prelogin][capture]") {
    const Bytes wire = load_vector("server_prelogin.hex");
    auto h = tds::parse_header(wire);
    REQUIRE(h);
    CHECK(h->type == 0x04);
    CHECK(h->status == 0x01);
    CHECK(h->length == 0x2B);

    auto p = parse_ok(payload_of(wire));
    CHECK(tokens_of(p) == std::vector<std::uint8_t>{0, 1, 2, 3, 4});
    CHECK(p.version()->to_string() == "16.0.1000.0");
    CHECK(*p.encryption() == 0x02); // --encryption none: NOT_SUP
    CHECK(*p.instance_status() == 0x00);
    CHECK_FALSE(p.thread_id());
    CHECK(*p.mars() == false);

    auto rebuilt = tds::PreloginBuilder()
                       .version({16, 0, 1000, 0})
                       .encryption(0x02)
                       .instance_ok()
                       .thread_id_empty()
                       .mars(false)
                       .build();
    CHECK(tds::write_message(0x04, rebuilt, 4096, 0) == wire);
}

TEST_CASE("real driver PRELOGIN packets parse and read as expected", "[tds][prelogin][capture]") {
    for (const auto& d : kDrivers) {
        DYNAMIC_SECTION(d.file) {
            const Bytes wire = load_vector(d.file);
            auto h = tds::parse_header(wire);
            REQUIRE(h);
            CHECK(h->type == 0x12);
            CHECK(h->end_of_message());
            CHECK(h->length == wire.size());
            CHECK(h->packet_id == d.packet_id);

            const Bytes payload = payload_of(wire);
            auto p = parse_ok(payload);
            CHECK(tokens_of(p) == d.tokens);
            REQUIRE(p.encryption());
            CHECK(*p.encryption() == d.encryption);
            REQUIRE(p.version());
            CHECK(p.version()->to_string() == d.version);
            CHECK(p.instance() == d.instance);
            CHECK(p.thread_id() == d.thread_id);
            CHECK(p.mars() == d.mars);
            CHECK(p.fedauth_required() == d.fedauth);
            if (std::find(d.tokens.begin(), d.tokens.end(), tok::kTraceId) != d.tokens.end()) {
                REQUIRE(p.option_data(tok::kTraceId));
                CHECK(p.option_data(tok::kTraceId)->size() == 36);
            }

            // Lossless: an untouched parse gives back the exact bytes.
            CHECK(p.bytes() == payload);
        }
    }
}

TEST_CASE("set_encryption patches exactly the ENCRYPTION byte", "[tds][prelogin]") {
    for (const auto& d : kDrivers) {
        DYNAMIC_SECTION(d.file) {
            const Bytes payload = payload_of(load_vector(d.file));
            auto p = parse_ok(payload);
            const std::size_t at = encryption_offset(payload);
            for (std::uint8_t value : {0x00, 0x01, 0x02, 0x03, 0x81}) {
                CAPTURE(int{value});
                REQUIRE(p.set_encryption(value));
                const Bytes& out = p.bytes();
                REQUIRE(out.size() == payload.size());
                for (std::size_t i = 0; i < out.size(); ++i) {
                    if (i == at) {
                        CHECK(out[i] == value);
                    } else if (out[i] != payload[i]) {
                        FAIL_CHECK("byte " << i << " changed");
                    }
                }
                CHECK(*p.encryption() == value);
                // The patched message parses to the same options with the new value.
                auto again = parse_ok(out);
                CHECK(tokens_of(again) == d.tokens);
                CHECK(*again.encryption() == value);
                CHECK(again.version()->to_string() == d.version);
            }
        }
    }
    SECTION("no ENCRYPTION option: false and nothing changes") {
        const Bytes payload = tds::PreloginBuilder().version({1, 2, 3, 4}).mars(true).build();
        auto p = parse_ok(payload);
        CHECK_FALSE(p.set_encryption(0x01));
        CHECK(p.bytes() == payload);
    }
    SECTION("an ENCRYPTION option of impossible length is not patched") {
        const Bytes two = hex("01 00");
        const Bytes payload = tds::PreloginBuilder().add(tok::kEncryption, two).build();
        auto p = parse_ok(payload);
        CHECK_FALSE(p.encryption());
        CHECK_FALSE(p.set_encryption(0x03));
        CHECK(p.bytes() == payload);
    }
}

TEST_CASE("PRELOGIN round trips from builder to parse to bytes", "[tds][prelogin]") {
    const Bytes trace(36, 0x5A);
    const Bytes instance = {'S', 'Q', 'L', 'E', 'X', 'P', 'R', 'E', 'S', 'S', 0};
    const Bytes thread = hex("00 00 30 39");
    const Bytes fedauth = hex("01");
    auto built = tds::PreloginBuilder()
                     .version({19, 2, 2, 0})
                     .encryption(0x03)
                     .add(tok::kInstOpt, instance)
                     .add(tok::kThreadId, thread)
                     .mars(true)
                     .add(tok::kTraceId, trace)
                     .add(tok::kFedAuthRequired, fedauth)
                     .build();
    auto p = parse_ok(built);
    CHECK(p.bytes() == built);
    CHECK(tokens_of(p) == std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5, 6});
    CHECK(p.version()->to_string() == "19.2.2.0");
    CHECK(*p.encryption() == 0x03);
    CHECK(*p.instance() == "SQLEXPRESS");
    CHECK(*p.thread_id() == 12345);
    CHECK(*p.mars());
    CHECK(*p.fedauth_required() == 0x01);
    CHECK(p.option_data(tok::kTraceId)->size() == 36);

    SECTION("options lie where the table says, data in option order") {
        const auto& opts = p.options();
        REQUIRE(opts.size() == 7);
        CHECK(opts[0].offset == 7 * 5 + 1);
        for (std::size_t i = 1; i < opts.size(); ++i) {
            CHECK(opts[i].offset == opts[i - 1].offset + opts[i - 1].length);
        }
        CHECK(opts.back().offset + opts.back().length == built.size());
    }
    SECTION("an empty builder gives the bare terminator, which parses") {
        auto empty = tds::PreloginBuilder().build();
        CHECK(to_hex(empty) == "ff");
        auto e = parse_ok(empty);
        CHECK(e.options().empty());
        CHECK_FALSE(e.encryption());
    }
}

TEST_CASE("PRELOGIN keeps unknown option tokens and the wire order", "[tds][prelogin]") {
    SECTION("from the builder, ENCRYPTION last like Microsoft's test server") {
        const Bytes blob = hex("DE AD BE EF");
        const Bytes empty;
        auto built = tds::PreloginBuilder()
                         .add(0x42, blob)
                         .mars(false)
                         .version({16, 0, 1, 0})
                         .add(0x42, empty) // unknown tokens may repeat
                         .add(0x99, empty)
                         .encryption(0x00)
                         .build();
        auto p = parse_ok(built);
        CHECK(tokens_of(p) == std::vector<std::uint8_t>{0x42, 4, 0, 0x42, 0x99, 1});
        CHECK(to_hex(*p.option_data(0x42)) == "deadbeef"); // the first one
        CHECK(*p.encryption() == 0x00);
        CHECK(p.version()->to_string() == "16.0.1.0");
        CHECK(p.bytes() == built);
    }
    SECTION("hand-made: data out of table order, a gap, bytes after the data") {
        // ENCRYPTION data before VERSION data, one unused byte between, two trailing bytes.
        const Bytes payload = hex("00 00 0D 00 06"
                                  "01 00 0B 00 01"
                                  "FF"
                                  "03"
                                  "EE"
                                  "0F 00 08 34 00 00"
                                  "77 77");
        auto p = parse_ok(payload);
        CHECK(tokens_of(p) == std::vector<std::uint8_t>{0, 1});
        CHECK(*p.encryption() == 0x03);
        CHECK(p.version()->to_string() == "15.0.2100.0");
        CHECK(p.bytes() == payload);
        REQUIRE(p.set_encryption(0x01));
        CHECK(to_hex(p.bytes()) == "00000d0006"
                                   "01000b0001"
                                   "ff"
                                   "01"
                                   "ee"
                                   "0f0008340000"
                                   "7777");
    }
}

TEST_CASE("PRELOGIN accessors refuse impossible lengths", "[tds][prelogin]") {
    const Bytes five = hex("10 00 07 D0 00");
    const Bytes two = hex("00 01");
    const Bytes none;
    const Bytes three = hex("01 02 03");
    auto built = tds::PreloginBuilder()
                     .add(tok::kVersion, five)
                     .add(tok::kInstOpt, two)
                     .add(tok::kThreadId, three)
                     .add(tok::kMars, none)
                     .add(tok::kFedAuthRequired, two)
                     .build();
    auto p = parse_ok(built);
    CHECK_FALSE(p.version());
    CHECK_FALSE(p.instance_status());
    CHECK(*p.instance() == ""); // the name stops at its NUL
    CHECK_FALSE(p.thread_id());
    CHECK_FALSE(p.mars());
    CHECK_FALSE(p.fedauth_required());
    CHECK_FALSE(p.encryption()); // absent
}

TEST_CASE("PreloginVersion prints major.minor.build.sub_build", "[tds][prelogin]") {
    CHECK(tds::PreloginVersion{16, 0, 2000, 0}.to_string() == "16.0.2000.0");
    CHECK(tds::PreloginVersion{255, 255, 65535, 65535}.to_string() == "255.255.65535.65535");
}

TEST_CASE("hostile PRELOGIN payloads give errors", "[tds][prelogin][hostile]") {
    SECTION("empty payload: no terminator") {
        const Bytes empty;
        CHECK(error_of(tds::Prelogin::parse(empty)) == tds::Error::NoTerminator);
    }
    SECTION("a valid entry and no 0xFF after it") {
        CHECK(error_of(tds::Prelogin::parse(hex("03 00 05 00 00"))) == tds::Error::NoTerminator);
    }
    SECTION("an entry cut short") {
        CHECK(error_of(tds::Prelogin::parse(hex("01 00"))) == tds::Error::NoTerminator);
        CHECK(error_of(tds::Prelogin::parse(hex("01 00 06 00"))) == tds::Error::NoTerminator);
    }
    SECTION("option offset past the end") {
        CHECK(error_of(tds::Prelogin::parse(hex("01 00 07 00 01 FF 00"))) ==
              tds::Error::OptionOutOfBounds);
    }
    SECTION("option length past the end") {
        CHECK(error_of(tds::Prelogin::parse(hex("01 00 06 00 02 FF 00"))) ==
              tds::Error::OptionOutOfBounds);
    }
    SECTION("offset + length overflowing 16 bits") {
        CHECK(error_of(tds::Prelogin::parse(hex("01 FF FF FF FF FF 00"))) ==
              tds::Error::OptionOutOfBounds);
        CHECK(error_of(tds::Prelogin::parse(hex("01 00 06 FF FF FF 00"))) ==
              tds::Error::OptionOutOfBounds);
    }
    SECTION("a zero-length option ending exactly at the end is fine") {
        auto p = tds::Prelogin::parse(hex("03 00 06 00 00 FF"));
        REQUIRE(p);
        REQUIRE(p->option_data(tok::kThreadId));
        CHECK(p->option_data(tok::kThreadId)->empty());
    }
    SECTION("duplicate ENCRYPTION option") {
        // The proxy could patch one and the server read the other.
        CHECK(error_of(tds::Prelogin::parse(hex("01 00 0B 00 01 01 00 0C 00 01 FF 00 02"))) ==
              tds::Error::DuplicateOption);
    }
    SECTION("duplicate VERSION option") {
        CHECK(error_of(tds::Prelogin::parse(hex("00 00 0B 00 00 00 00 0B 00 00 FF"))) ==
              tds::Error::DuplicateOption);
    }
}

TEST_CASE("every truncation of a real PRELOGIN is an error, never an over-read",
          "[tds][prelogin][hostile]") {
    for (const auto& d : kDrivers) {
        DYNAMIC_SECTION(d.file) {
            const Bytes payload = payload_of(load_vector(d.file));
            auto full = parse_ok(payload);
            const std::size_t table_end = full.options().size() * 5 + 1;
            std::size_t data_end = 0;
            for (const auto& o : full.options()) {
                data_end = std::max<std::size_t>(data_end, o.offset + o.length);
            }
            REQUIRE(data_end == payload.size());
            for (std::size_t n = 0; n < payload.size(); ++n) {
                CAPTURE(n);
                const Bytes cut = prefix(payload, n);
                auto e = error_of(tds::Prelogin::parse(cut));
                if (n < table_end) {
                    CHECK((e == tds::Error::NoTerminator || e == tds::Error::OptionOutOfBounds));
                } else {
                    CHECK(e == tds::Error::OptionOutOfBounds);
                }
            }
        }
    }
}

TEST_CASE("without(ENCRYPTION) drops the option and its byte; the other offsets follow",
          "[tds][prelogin][spec]") {
    // The 6.1 server answer without ENCRYPTION: four table entries (offsets 0x15..), data
    // VERSION | INSTOPT | (THREADID empty) | MARS.
    auto p = parse_ok(payload_of(hex(kServerAnswer61)));
    const Bytes expected = hex("00 00 15 00 06"
                               "02 00 1B 00 01"
                               "03 00 1C 00 00"
                               "04 00 1C 00 01"
                               "FF"
                               "10 00 07 D0 00 00"
                               "00"
                               "00");
    auto out = p.without(tok::kEncryption);
    CHECK(to_hex(out) == to_hex(expected));
    auto back = parse_ok(out);
    CHECK_FALSE(back.encryption());
    CHECK(back.version()->to_string() == "16.0.2000.0");
    CHECK(*back.instance_status() == 0x00);
    CHECK(*back.mars() == false);
    CHECK(tokens_of(back) == std::vector<std::uint8_t>{0, 2, 3, 4});
    // a token that is not there: the same options, re-encoded in table order
    CHECK(to_hex(p.without(tok::kNonceOpt)) == to_hex(payload_of(hex(kServerAnswer61))));
}

TEST_CASE("without keeps an unsorted table's order and data (ENCRYPTION last)", "[tds][prelogin]") {
    // Microsoft's test server writes ENCRYPTION last; data laid out in table order.
    auto p = parse_ok(hex("00 00 10 00 06"
                          "04 00 16 00 01"
                          "01 00 17 00 01"
                          "FF"
                          "0F 00 07 D0 00 00"
                          "01"
                          "03"));
    CHECK(to_hex(p.without(tok::kEncryption)) == to_hex(hex("00 00 0B 00 06"
                                                            "04 00 11 00 01"
                                                            "FF"
                                                            "0F 00 07 D0 00 00"
                                                            "01")));
}
