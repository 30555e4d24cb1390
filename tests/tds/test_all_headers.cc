#include <cstdint>
#include <optional>

#include <catch2/catch.hpp>

#include <tds/all_headers.h>
#include <tds/byte_reader.h>
#include <tds/byte_writer.h>

#include "tds_test_util.h"

// ALL_HEADERS against MS-TDS 2.2.5.3: TotalLength (DWORD, including itself), then headers of
// HeaderLength (DWORD, including itself), HeaderType (USHORT) and data; the transaction
// descriptor header (type 2) holds a ULONGLONG descriptor and a DWORD outstanding request
// count. The request examples 4.6, 4.8 and 4.13 all open with the same 22 bytes.

using namespace tds_test;

namespace {

// MS-TDS 4.8 (and 4.6, 4.13): TransactionDescriptor 00 00 00 00 00 00 00 01,
// OutstandingRequestCount 00 00 00 00.
const char* const kSpecHeaders = "16 00 00 00 12 00 00 00 02 00"
                                 "00 00 00 00 00 00 00 01"
                                 "00 00 00 00";

} // namespace

TEST_CASE("read_all_headers reads the spec examples' ALL_HEADERS", "[tds][all_headers][spec]") {
    Bytes b = hex(kSpecHeaders);
    b.push_back(0x66); // what follows (4.8: the procedure name) is left for the caller
    tds::ByteReader r(b);
    auto h = tds::read_all_headers(r);
    REQUIRE(h);
    CHECK(h->transaction_descriptor == std::optional<std::uint64_t>(0x0100000000000000));
    CHECK(h->outstanding_requests == std::optional<std::uint32_t>(0));
    CHECK(r.position() == 22);
    CHECK(r.remaining() == 1);
}

TEST_CASE("write_all_headers writes TotalLength 22 and one transaction descriptor header",
          "[tds][all_headers][spec]") {
    tds::ByteWriter w;
    tds::write_all_headers(w, 0x0100000000000000, 0);
    CHECK(to_hex(w.data()) == canon(kSpecHeaders));
    tds::ByteWriter autocommit;
    tds::write_all_headers(autocommit, 0); // autocommit: descriptor 0, one request (2.2.5.3.2)
    CHECK(to_hex(autocommit.data()) ==
          canon("16 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 00 01 00 00 00"));
    tds::ByteReader r(autocommit.data());
    auto h = tds::read_all_headers(r);
    REQUIRE(h);
    CHECK(h->transaction_descriptor == std::optional<std::uint64_t>(0));
    CHECK(h->outstanding_requests == std::optional<std::uint32_t>(1));
    CHECK(r.empty());
}

TEST_CASE("read_all_headers skips query notification and trace activity headers",
          "[tds][all_headers][spec]") {
    tds::ByteWriter w;
    // Query notifications (type 1): NotifyId and SSBDeployment (USHORT byte counts), timeout.
    const Bytes notify = hex("04 00 61 00 62 00  02 00 73 00  E8 03 00 00");
    // Trace activity (type 3): ActivityId GUID(16) + ActivitySequence(4).
    const Bytes trace(20, 0x77);
    const std::uint32_t total = 4 + (6 + 14) + (6 + 12) + (6 + 20);
    w.u32le(total);
    w.u32le(6 + 14);
    w.u16le(0x0001);
    w.bytes(notify);
    w.u32le(18);
    w.u16le(0x0002);
    w.u64le(42);
    w.u32le(3);
    w.u32le(6 + 20);
    w.u16le(0x0003);
    w.bytes(trace);
    const Bytes b = w.take();
    REQUIRE(b.size() == total);
    tds::ByteReader r(b);
    auto h = tds::read_all_headers(r);
    REQUIRE(h);
    CHECK(h->transaction_descriptor == std::optional<std::uint64_t>(42));
    CHECK(h->outstanding_requests == std::optional<std::uint32_t>(3));
    CHECK(r.empty());
}

TEST_CASE("read_all_headers: lengths that do not add up are BadAllHeaders",
          "[tds][all_headers][hostile]") {
    struct Case {
        const char* name;
        const char* wire;
    };
    const Case cases[] = {
        {"TotalLength below its own 4 bytes", "03 00 00 00 00 00 00"},
        {"TotalLength 0", "00 00 00 00"},
        {"TotalLength past the data", "17 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 01"
                                      "00 00 00 00"},
        {"TotalLength 0xFFFFFFFF", "FF FF FF FF 12 00 00 00 02 00"},
        {"HeaderLength below 6", "0A 00 00 00 05 00 00 00 02 00"},
        {"HeaderLength past TotalLength", "0A 00 00 00 13 00 00 00 02 00 00 00 00 00 00 00 00"
                                          "00 00 00 00 00 00"},
        {"HeaderLength 0xFFFFFFFF", "0A 00 00 00 FF FF FF FF 02 00"},
        {"bytes left that cannot hold a header", "19 00 00 00 12 00 00 00 02 00 00 00 00 00"
                                                 "00 00 00 00 01 00 00 00 01 02 03"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const Bytes b = hex(c.wire);
        tds::ByteReader r(b);
        CHECK(error_of(tds::read_all_headers(r)) == tds::Error::BadAllHeaders);
    }
}

TEST_CASE("read_all_headers: every truncation of the spec's headers is BadAllHeaders",
          "[tds][all_headers][hostile]") {
    const Bytes full = hex(kSpecHeaders);
    for (std::size_t n = 0; n < full.size(); ++n) {
        CAPTURE(n);
        const Bytes cut = prefix(full, n);
        tds::ByteReader r(cut);
        CHECK(error_of(tds::read_all_headers(r)) == tds::Error::BadAllHeaders);
    }
}
