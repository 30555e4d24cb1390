#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include <tds/byte_writer.h>
#include <tds/sql_batch.h>
#include <tds/utf16.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {

// ALL_HEADERS with one transaction descriptor header (the shape every captured driver sent).
Bytes batch_with_descriptor(std::uint64_t descriptor, std::uint32_t outstanding,
                            std::string_view text) {
    tds::ByteWriter w;
    w.u32le(22);     // TotalLength: itself + one 18-byte header
    w.u32le(18);     // HeaderLength
    w.u16le(0x0002); // transaction descriptor
    w.u64le(descriptor);
    w.u32le(outstanding);
    w.bytes(tds::utf8_to_utf16le(text));
    return w.take();
}

} // namespace

TEST_CASE("real SQL batches decode to their text and transaction descriptor",
          "[tds][sql_batch][capture]") {
    SECTION("go-mssqldb: SELECT 1 with RESETCONNECTION on the packet") {
        const Bytes wire = load_vector("go_sql_batch.hex");
        auto h = tds::parse_header(wire);
        REQUIRE(h);
        CHECK(h->type == 0x01);
        CHECK(h->status == (tds::status::kEndOfMessage | tds::status::kResetConnection));
        auto b = tds::decode_sql_batch(payload_of(wire));
        REQUIRE(b);
        CHECK(b->text == "SELECT 1");
        CHECK(b->transaction_descriptor == std::optional<std::uint64_t>(0));
        CHECK(b->outstanding_requests == std::optional<std::uint32_t>(1));
    }
    SECTION("FreeTDS tsql: the text keeps its trailing newline") {
        auto b = tds::decode_sql_batch(payload_of(load_vector("tsql_sql_batch.hex")));
        REQUIRE(b);
        CHECK(b->text == "SELECT 1\n");
        CHECK(b->outstanding_requests == std::optional<std::uint32_t>(1));
    }
    SECTION("mssql-jdbc") {
        const Bytes wire = load_vector("jdbc_sql_batch.hex");
        CHECK(tds::parse_header(wire)->spid == 0x38); // jdbc echoes the server's SPID
        auto b = tds::decode_sql_batch(payload_of(wire));
        REQUIRE(b);
        CHECK(b->text == "SELECT 1");
    }
    SECTION("tedious' initial SQL: fifteen set statements") {
        auto b = tds::decode_sql_batch(payload_of(load_vector("tedious_initial_sql.hex")));
        REQUIRE(b);
        CHECK(b->text.rfind("set ansi_nulls on\nset ansi_null_dflt_on on\n", 0) == 0);
        CHECK(b->text.find("set language us_english\n") != std::string::npos);
        CHECK(b->text.ends_with("set xact_abort off"));
        CHECK(std::count(b->text.begin(), b->text.end(), '\n') == 14);
    }
}

TEST_CASE("decode_sql_batch reads the transaction descriptor header", "[tds][sql_batch]") {
    auto b = tds::decode_sql_batch(batch_with_descriptor(0x0102030405060708, 3, "SELECT 2"));
    REQUIRE(b);
    CHECK(b->transaction_descriptor == std::optional<std::uint64_t>(0x0102030405060708));
    CHECK(b->outstanding_requests == std::optional<std::uint32_t>(3));
    CHECK(b->text == "SELECT 2");
}

TEST_CASE("decode_sql_batch skips other headers to reach the text", "[tds][sql_batch]") {
    tds::ByteWriter w;
    w.u32le(4 + 26 + 18);
    w.u32le(26); // trace activity: ActivityId GUID(16) + sequence(4)
    w.u16le(0x0003);
    for (int i = 0; i < 20; ++i) {
        w.u8(0x77);
    }
    w.u32le(18);
    w.u16le(0x0002);
    w.u64le(42);
    w.u32le(1);
    w.bytes(tds::utf8_to_utf16le("SELECT 'é€'"));
    auto b = tds::decode_sql_batch(w.data());
    REQUIRE(b);
    CHECK(b->transaction_descriptor == std::optional<std::uint64_t>(42));
    CHECK(b->text == "SELECT 'é€'");
}

TEST_CASE("decode_sql_batch without ALL_HEADERS (TDS 7.1) is all text", "[tds][sql_batch]") {
    auto b = tds::decode_sql_batch(tds::utf8_to_utf16le("SELECT 1"), false);
    REQUIRE(b);
    CHECK(b->text == "SELECT 1");
    CHECK_FALSE(b->transaction_descriptor);
    CHECK_FALSE(b->outstanding_requests);
}

TEST_CASE("an ALL_HEADERS with no header and no text is an empty batch", "[tds][sql_batch]") {
    auto b = tds::decode_sql_batch(hex("04 00 00 00"));
    REQUIRE(b);
    CHECK(b->text.empty());
    CHECK_FALSE(b->transaction_descriptor);
}

TEST_CASE("a too short transaction descriptor header is skipped, not read", "[tds][sql_batch]") {
    // HeaderLength 10: type 2 with only 4 data bytes.
    auto b = tds::decode_sql_batch(hex("0E 00 00 00 0A 00 00 00 02 00 01 02 03 04 41 00"));
    REQUIRE(b);
    CHECK_FALSE(b->transaction_descriptor);
    CHECK(b->text == "A");
}

TEST_CASE("ALL_HEADERS lengths that don't add up are errors", "[tds][sql_batch][hostile]") {
    SECTION("payload too short for TotalLength") {
        for (std::size_t n = 0; n < 4; ++n) {
            CAPTURE(n);
            CHECK(error_of(tds::decode_sql_batch(Bytes(n, 0x16))) == tds::Error::BadAllHeaders);
        }
    }
    SECTION("TotalLength below its own 4 bytes") {
        CHECK(error_of(tds::decode_sql_batch(hex("03 00 00 00 41 00"))) ==
              tds::Error::BadAllHeaders);
    }
    SECTION("TotalLength past the payload") {
        const Bytes good = batch_with_descriptor(0, 1, "");
        Bytes b = good;
        b[0] = 23; // one more than the 22 bytes present
        CHECK(error_of(tds::decode_sql_batch(b)) == tds::Error::BadAllHeaders);
        CHECK(error_of(tds::decode_sql_batch(hex("FF FF FF FF"))) == tds::Error::BadAllHeaders);
    }
    SECTION("HeaderLength below the 6-byte header fields") {
        CHECK(error_of(tds::decode_sql_batch(hex("0A 00 00 00 05 00 00 00 02 00"))) ==
              tds::Error::BadAllHeaders);
    }
    SECTION("HeaderLength past TotalLength (though within the payload)") {
        // TotalLength 22, HeaderLength 19..40: beyond ALL_HEADERS, into the text.
        for (std::uint8_t len : {19, 20, 40}) {
            CAPTURE(int{len});
            Bytes b = batch_with_descriptor(0, 1, "SELECT 1");
            b[4] = len;
            CHECK(error_of(tds::decode_sql_batch(b)) == tds::Error::BadAllHeaders);
        }
    }
    SECTION("bytes left in ALL_HEADERS that cannot hold a header") {
        // TotalLength 25: an 18-byte header then 3 stray bytes.
        Bytes b = batch_with_descriptor(0, 1, "");
        b.insert(b.end(), {0x01, 0x02, 0x03});
        b[0] = 25;
        CHECK(error_of(tds::decode_sql_batch(b)) == tds::Error::BadAllHeaders);
    }
    SECTION("every cut of a real batch inside its ALL_HEADERS") {
        const Bytes payload = payload_of(load_vector("go_sql_batch.hex"));
        for (std::size_t n = 0; n < 22; ++n) {
            CAPTURE(n);
            CHECK(error_of(tds::decode_sql_batch(prefix(payload, n))) == tds::Error::BadAllHeaders);
        }
    }
}

TEST_CASE("an odd trailing byte in the SQL text becomes U+FFFD", "[tds][sql_batch]") {
    Bytes b = batch_with_descriptor(0, 1, "SELECT 1");
    b.push_back(0x41);
    auto d = tds::decode_sql_batch(b);
    REQUIRE(d);
    CHECK(d->text == "SELECT 1\xEF\xBF\xBD");
}

TEST_CASE("decode_sql_batch reads MS-TDS 4.6's SQL batch", "[tds][sql_batch][spec]") {
    const Bytes packet = hex("01 01 00 5C 00 00 01 00 16 00 00 00 12 00 00 00"
                             "02 00 00 00 00 00 00 00 00 01 00 00 00 00 0A 00"
                             "73 00 65 00 6C 00 65 00 63 00 74 00 20 00 27 00"
                             "66 00 6F 00 6F 00 27 00 20 00 61 00 73 00 20 00"
                             "27 00 62 00 61 00 72 00 27 00 0A 00 20 00 20 00"
                             "20 00 20 00 20 00 20 00 20 00 20 00");
    REQUIRE(packet.size() == 0x5C);
    auto b = tds::decode_sql_batch(payload_of(packet));
    REQUIRE(b);
    CHECK(b->transaction_descriptor == std::optional<std::uint64_t>(0x0100000000000000));
    CHECK(b->outstanding_requests == std::optional<std::uint32_t>(0));
    CHECK(b->text == "\nselect 'foo' as 'bar'\n        ");
    SECTION("every cut inside its ALL_HEADERS is BadAllHeaders, every later cut is text") {
        const Bytes payload = payload_of(packet);
        for (std::size_t n = 0; n < payload.size(); ++n) {
            CAPTURE(n);
            auto cut = tds::decode_sql_batch(prefix(payload, n));
            if (n < 22) {
                CHECK(error_of(cut) == tds::Error::BadAllHeaders);
            } else {
                REQUIRE(cut);
                CHECK(b->text.rfind(cut->text.substr(0, (n - 22) / 2), 0) == 0);
            }
        }
    }
}
