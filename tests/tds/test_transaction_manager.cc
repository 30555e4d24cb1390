#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include <tds/transaction_manager.h>
#include <tds/utf16.h>

#include "tds_test_util.h"

// Transaction Manager requests against MS-TDS 2.2.6.9: TransMgrReq = ALL_HEADERS RequestType
// [RequestPayload]; RequestType 0 TM_GET_DTC_ADDRESS, 1 TM_PROPAGATE_XACT (US_VARBYTE payloads),
// 5 TM_BEGIN_XACT (ISOLATION_LEVEL, B_VARBYTE name), 6 TM_PROMOTE_XACT (no payload),
// 7 TM_COMMIT_XACT and 8 TM_ROLLBACK_XACT (XACT_NAME, XACT_FLAGS, and with fBeginXact
// ISOLATION_LEVEL and BEGIN_XACT_NAME), 9 TM_SAVE_XACT (a name). "Request types 5 through 9
// were introduced in TDS 7.2"; ISOLATION_LEVEL MUST be 0x00-0x05.

using namespace tds_test;
using tds::Level;

namespace {

constexpr Level k72Plus[] = {Level::V72, Level::V73A, Level::V73B, Level::V74, Level::V80};

// MS-TDS 4.13, the Transaction Manager request as printed (packet header included).
const char* const kSpecTm = "0E 01 00 20 00 00 01 00 16 00 00 00"
                            "12 00 00 00 02 00 00 00 00 00 00 00"
                            "00 01 00 00 00 00 16 00";

const std::string kHeaders = "16 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 00 01 00 00 00";

// B_VARBYTE holding UTF-16LE: the length is a byte count.
std::string name_hex(std::string_view s) {
    const auto b = tds::utf8_to_utf16le(s);
    char len[4];
    std::snprintf(len, sizeof len, "%02X", static_cast<unsigned>(b.size()));
    return len + to_hex(b);
}

Bytes tm_request(Level level, const std::string& body) {
    return hex((tds::is_72_plus(level) ? kHeaders : std::string()) + body);
}

tds::TmRequest decode_ok(const Bytes& b, Level level = Level::V74) {
    auto r = tds::decode_tm_request(b, level);
    INFO("bytes " << to_hex(b));
    REQUIRE(r);
    return *r;
}

} // namespace

TEST_CASE("decode_tm_request reads MS-TDS 4.13's request", "[tds][tm][spec]") {
    // The example's RequestType bytes are 16 00 (22), though its annotation says
    // TM_PROMOTE_XACT, which 2.2.6.9 numbers 6: the bytes are decoded as they are.
    const Bytes payload = payload_of(hex(kSpecTm));
    REQUIRE(payload.size() == 0x20 - 8);
    auto r = decode_ok(payload, Level::V72);
    CHECK(r.headers.transaction_descriptor == std::optional<std::uint64_t>(0x0100000000000000));
    CHECK(r.headers.outstanding_requests == std::optional<std::uint32_t>(0));
    CHECK(r.raw_type == 0x0016);
    CHECK_FALSE(r.known_type);
    SECTION("with the RequestType its annotation means, 06 00") {
        Bytes fixed = payload;
        fixed[22] = 0x06;
        auto p = decode_ok(fixed, Level::V72);
        CHECK(p.known_type);
        CHECK(p.type == tds::TmRequestType::PromoteXact);
        CHECK(p.raw_type == 6);
    }
}

TEST_CASE("TM_GET_DTC_ADDRESS and TM_PROPAGATE_XACT carry a US_VARBYTE", "[tds][tm][spec]") {
    for (Level l : {Level::V70, Level::V71, Level::V72, Level::V74}) {
        CAPTURE(l);
        auto a = decode_ok(tm_request(l, "00 00  00 00"), l);
        CHECK(a.known_type);
        CHECK(a.type == tds::TmRequestType::GetDtcAddress);
        CHECK(a.opaque.empty());
        auto omitted = decode_ok(tm_request(l, "00 00"), l); // "SHOULD be a zero-length US_VARBYTE"
        CHECK(omitted.type == tds::TmRequestType::GetDtcAddress);
        CHECK(omitted.opaque.empty());
        auto p = decode_ok(tm_request(l, "01 00  03 00 AA BB CC"), l);
        CHECK(p.known_type);
        CHECK(p.type == tds::TmRequestType::PropagateXact);
        CHECK(to_hex(p.opaque) == "aabbcc");
    }
}

TEST_CASE("TM_BEGIN_XACT: isolation level and name", "[tds][tm][spec]") {
    for (Level l : k72Plus) {
        CAPTURE(l);
        auto r = decode_ok(tm_request(l, "05 00  02" + name_hex("t1")), l);
        CHECK(r.known_type);
        CHECK(r.type == tds::TmRequestType::BeginXact);
        CHECK(r.isolation == tds::IsolationLevel::ReadCommitted);
        CHECK(r.name == "t1");
    }
    auto unnamed = decode_ok(tm_request(Level::V74, "05 00  00 00"));
    CHECK(unnamed.isolation == tds::IsolationLevel::NoChange);
    CHECK(unnamed.name.empty());
    for (std::uint8_t iso = 0; iso <= 5; ++iso) {
        CAPTURE(int{iso});
        char h[3];
        std::snprintf(h, sizeof h, "%02X", iso);
        auto r = decode_ok(tm_request(Level::V74, std::string("05 00 ") + h + " 00"));
        CHECK(static_cast<int>(r.isolation) == iso);
    }
}

TEST_CASE("TM_PROMOTE_XACT has no payload", "[tds][tm][spec]") {
    auto r = decode_ok(tm_request(Level::V74, "06 00"));
    CHECK(r.known_type);
    CHECK(r.type == tds::TmRequestType::PromoteXact);
    CHECK(r.name.empty());
    CHECK(r.opaque.empty());
}

TEST_CASE("TM_COMMIT_XACT and TM_ROLLBACK_XACT, with and without fBeginXact", "[tds][tm][spec]") {
    SECTION("commit, no flags: ISOLATION_LEVEL and BEGIN_XACT_NAME absent") {
        auto r = decode_ok(tm_request(Level::V74, "07 00  00  00"));
        CHECK(r.type == tds::TmRequestType::CommitXact);
        CHECK(r.name.empty());
        CHECK_FALSE(r.begin_after);
        CHECK(r.new_isolation == tds::IsolationLevel::NoChange);
        CHECK(r.new_name.empty());
    }
    SECTION("commit a named transaction and piggy-back a new one") {
        auto r =
            decode_ok(tm_request(Level::V74, "07 00" + name_hex("t1") + "01  04" + name_hex("t2")));
        CHECK(r.type == tds::TmRequestType::CommitXact);
        CHECK(r.name == "t1");
        CHECK(r.begin_after);
        CHECK(r.new_isolation == tds::IsolationLevel::Serializable);
        CHECK(r.new_name == "t2");
    }
    SECTION("rollback to a savepoint") {
        auto r = decode_ok(tm_request(Level::V72, "08 00" + name_hex("sp1") + "00"), Level::V72);
        CHECK(r.type == tds::TmRequestType::RollbackXact);
        CHECK(r.name == "sp1");
        CHECK_FALSE(r.begin_after);
    }
    SECTION("rollback and begin a snapshot transaction without a name") {
        auto r = decode_ok(tm_request(Level::V74, "08 00  00  01  05  00"));
        CHECK(r.type == tds::TmRequestType::RollbackXact);
        CHECK(r.begin_after);
        CHECK(r.new_isolation == tds::IsolationLevel::Snapshot);
        CHECK(r.new_name.empty());
    }
    SECTION("reserved XACT_FLAGS bits are ignored (FRESERVEDBIT MUST be ignored on receipt)") {
        auto set = decode_ok(tm_request(Level::V74, "07 00  00  FF  02  00"));
        CHECK(set.begin_after);
        CHECK(set.new_isolation == tds::IsolationLevel::ReadCommitted);
        auto clear = decode_ok(tm_request(Level::V74, "07 00  00  FE"));
        CHECK_FALSE(clear.begin_after);
    }
}

TEST_CASE("TM_SAVE_XACT names a savepoint", "[tds][tm][spec]") {
    auto r = decode_ok(tm_request(Level::V74, "09 00" + name_hex("savé")));
    CHECK(r.known_type);
    CHECK(r.type == tds::TmRequestType::SaveXact);
    CHECK(r.name == "savé");
}

TEST_CASE("an isolation level above 5 is BadRequest", "[tds][tm][spec][hostile]") {
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "05 00  06  00"), Level::V74)) ==
          tds::Error::BadRequest);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "05 00  FF  00"), Level::V74)) ==
          tds::Error::BadRequest);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "07 00  00  01  06  00"),
                                          Level::V74)) == tds::Error::BadRequest);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "08 00  00  01  80  00"),
                                          Level::V74)) == tds::Error::BadRequest);
}

TEST_CASE("a name of odd byte length cannot be UTF-16: BadRequest", "[tds][tm][hostile]") {
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "05 00  00  03 41 00 42"),
                                          Level::V74)) == tds::Error::BadRequest);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "09 00  01 41"), Level::V74)) ==
          tds::Error::BadRequest);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "07 00  01 41  00"),
                                          Level::V74)) == tds::Error::BadRequest);
    CHECK(error_of(tds::decode_tm_request(
              tm_request(Level::V74, "07 00  00  01  00  05 41 00 42 00 43"), Level::V74)) ==
          tds::Error::BadRequest);
}

TEST_CASE("an unknown RequestType is reported, not an error", "[tds][tm]") {
    // "If an unknown Type is specified, the message receiver SHOULD disconnect": the caller
    // decides, the decoder reports.
    for (const char* type : {"02 00", "03 00", "04 00", "0A 00", "16 00", "FF FF"}) {
        CAPTURE(type);
        auto r = decode_ok(tm_request(Level::V74, std::string(type) + " 01 02 03"));
        CHECK_FALSE(r.known_type);
        CHECK(r.raw_type == hex(type)[0] + (hex(type)[1] << 8));
    }
}

TEST_CASE("before 7.2: no ALL_HEADERS, and only types 0 and 1", "[tds][tm][spec]") {
    for (Level l : {Level::V70, Level::V71}) {
        CAPTURE(l);
        auto dtc = decode_ok(hex("00 00 00 00"), l);
        CHECK(dtc.known_type);
        CHECK_FALSE(dtc.headers.transaction_descriptor);
        auto prop = decode_ok(hex("01 00 02 00 AA BB"), l);
        CHECK(prop.known_type);
        CHECK(to_hex(prop.opaque) == "aabb");
        for (const char* type :
             {"05 00 02 00", "06 00", "07 00 00 00", "08 00 00 00", "09 00 02 41 00"}) {
            CAPTURE(type);
            auto r = decode_ok(hex(type), l);
            CHECK_FALSE(r.known_type);
        }
    }
    SECTION("the same bytes with ALL_HEADERS at 7.2") {
        auto r = decode_ok(tm_request(Level::V72, "05 00 02 00"), Level::V72);
        CHECK(r.known_type);
        CHECK(r.type == tds::TmRequestType::BeginXact);
    }
}

TEST_CASE("decode_tm_request: broken headers and payloads", "[tds][tm][hostile]") {
    CHECK(error_of(tds::decode_tm_request(hex("05 00 02 00"), Level::V72)) ==
          tds::Error::BadAllHeaders);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "01 00 10 00 AA"), Level::V74)) ==
          tds::Error::Truncated);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "05 00 02 10 41 00"),
                                          Level::V74)) == tds::Error::Truncated);
    CHECK(error_of(tds::decode_tm_request(tm_request(Level::V74, "09 00 FE"), Level::V74)) ==
          tds::Error::Truncated);
}

TEST_CASE("decode_tm_request: every truncation is an error or a shorter valid request",
          "[tds][tm][hostile]") {
    struct Case {
        const char* name;
        Bytes full;
        Level level;
    };
    const Case cases[] = {
        {"MS-TDS 4.13", payload_of(hex(kSpecTm)), Level::V74},
        {"begin", tm_request(Level::V74, "05 00 02" + name_hex("tx")), Level::V74},
        {"commit and begin",
         tm_request(Level::V74, "07 00" + name_hex("a") + "01 04" + name_hex("b")), Level::V74},
        {"rollback", tm_request(Level::V72, "08 00" + name_hex("abc") + "00"), Level::V72},
        {"save", tm_request(Level::V80, "09 00" + name_hex("s")), Level::V80},
        {"propagate", tm_request(Level::V74, "01 00 04 00 01 02 03 04"), Level::V74},
        {"propagate at 7.1", hex("01 00 04 00 01 02 03 04"), Level::V71},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        REQUIRE(tds::decode_tm_request(c.full, c.level));
        for (std::size_t n = 0; n < c.full.size(); ++n) {
            CAPTURE(n);
            const Bytes cut = prefix(c.full, n);
            auto r = tds::decode_tm_request(cut, c.level);
            if (!r) {
                CHECK(
                    (r.error() == tds::Error::Truncated || r.error() == tds::Error::BadAllHeaders));
                continue;
            }
            // Only a request whose payload is optional can stop early: GET_DTC_ADDRESS and
            // PROPAGATE_XACT without their US_VARBYTE, PROMOTE_XACT, or an unknown type.
            CHECK(r->opaque.empty());
            CHECK(r->name.empty());
        }
    }
}

TEST_CASE("decode_tm_request: single-byte corruptions never crash", "[tds][tm][hostile]") {
    const Bytes full =
        tm_request(Level::V74, "07 00" + name_hex("abc") + "01 04" + name_hex("defg"));
    REQUIRE(tds::decode_tm_request(full, Level::V74));
    std::size_t decoded = 0;
    for (std::size_t i = 0; i < full.size(); ++i) {
        for (int v = 0; v < 256; ++v) {
            Bytes b = full;
            b[i] = static_cast<std::uint8_t>(v);
            auto r = tds::decode_tm_request(b, Level::V74);
            decoded += r ? 1 : 0;
            if (r && r->known_type) {
                CHECK(static_cast<int>(r->isolation) <= 5);
                CHECK(static_cast<int>(r->new_isolation) <= 5);
            }
        }
    }
    CHECK(decoded > 0);
}
