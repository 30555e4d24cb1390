#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include <tds/rpc.h>
#include <tds/utf16.h>

#include "tds_test_util.h"

// RPC requests against MS-TDS 2.2.6.6: RPCRequest = ALL_HEADERS RPCReqBatch
// *((BatchFlag / NoExecFlag) RPCReqBatch) [BatchFlag / NoExecFlag]; RPCReqBatch = NameLenProcID
// OptionFlags *ParameterData; NameLenProcID = US_VARCHAR or FF FF then a USHORT ProcID;
// ParameterData = B_VARCHAR name, StatusFlags, TYPE_INFO, TYPE_VARBYTE.
// "BatchFlag = %x80 / %xFF ; (changed to %xFF in TDS 7.2)", "NoExecFlag = %xFE ; (introduced in
// TDS 7.2)": 0x80 separates calls before 7.2, 0xFF from 7.2 (SqlClient's SHILOH_RPCBATCHFLAG
// 0x80 and YUKON_RPCBATCHFLAG 0xFF).

using namespace tds_test;
using tds::Level;

namespace {

constexpr Level k72Plus[] = {Level::V72, Level::V73A, Level::V73B, Level::V74, Level::V80};
constexpr Level kPre72[] = {Level::V70, Level::V71};

// MS-TDS 4.8, the RPC request as printed (packet header included).
const char* const kSpecRpc = "03 01 00 2F 00 00 01 00 16 00 00 00 12 00 00 00"
                             "02 00 00 00 00 00 00 00 00 01 00 00 00 00 04 00"
                             "66 00 6F 00 6F 00 33 00 00 00 00 02 26 02 00";

// Autocommit ALL_HEADERS: descriptor 0, one outstanding request.
const std::string kHeaders = "16 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 00 01 00 00 00";
const std::string kColl = "09 04 D0 00 34";

std::string u16(std::string_view s) {
    return to_hex(tds::utf8_to_utf16le(s));
}

std::string byte_hex(std::size_t n) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02X", static_cast<unsigned>(n & 0xFF));
    return buf;
}

std::string ushort_hex(std::size_t n) {
    return byte_hex(n) + byte_hex(n >> 8);
}

// B_VARCHAR / US_VARCHAR: length in characters, then UTF-16LE.
std::string b_varchar(std::string_view s) {
    return byte_hex(tds::utf8_to_utf16le(s).size() / 2) + u16(s);
}
std::string us_varchar(std::string_view s) {
    return ushort_hex(tds::utf8_to_utf16le(s).size() / 2) + u16(s);
}

// param: ParamMetaData (name, status) then TYPE_INFO and value as hex.
std::string param(std::string_view name, std::uint8_t status, const std::string& typed) {
    return b_varchar(name) + byte_hex(status) + typed;
}

std::string int_param(std::string_view name, std::uint8_t status, std::uint8_t v) {
    return param(name, status, "26 04 04" + byte_hex(v) + "00 00 00");
}

std::string nvarchar_param(std::string_view name, std::uint8_t status, std::string_view text) {
    const auto bytes = tds::utf8_to_utf16le(text).size();
    return param(name, status, "E7 " + ushort_hex(200) + kColl + ushort_hex(bytes) + u16(text));
}

// call: NameLenProcID (a name) and OptionFlags.
std::string named_call(std::string_view proc, std::uint16_t flags = 0) {
    return us_varchar(proc) + ushort_hex(flags);
}
std::string proc_id_call(std::uint16_t id, std::uint16_t flags = 0) {
    return "FF FF" + ushort_hex(id) + ushort_hex(flags);
}

Bytes request(Level level, const std::string& body) {
    return hex((tds::is_72_plus(level) ? kHeaders : std::string()) + body);
}

const std::string kBatchFlag72 = "FF";
const std::string kBatchFlag71 = "80";

// An sp_executesql call: ProcID 10, two parameters, the second an output.
std::string executesql_call() {
    return proc_id_call(tds::proc_id::kExecuteSql) + nvarchar_param("@stmt", 0, "SELECT 1") +
           int_param("@p1", tds::rpc_flag::kByRefValue, 42);
}

} // namespace

TEST_CASE("decode_rpc reads MS-TDS 4.8's RPC request", "[tds][rpc][spec]") {
    const Bytes payload = payload_of(hex(kSpecRpc));
    REQUIRE(payload.size() == 0x2F - 8);
    for (Level l : k72Plus) {
        CAPTURE(l);
        auto req = tds::decode_rpc(payload, l);
        REQUIRE(req);
        CHECK(req->headers.transaction_descriptor ==
              std::optional<std::uint64_t>(0x0100000000000000));
        CHECK(req->headers.outstanding_requests == std::optional<std::uint32_t>(0));
        CHECK_FALSE(req->parameter_error);
        REQUIRE(req->calls.size() == 1);
        const auto& call = req->calls[0];
        CHECK(call.procedure == "foo3");
        CHECK(req->procedure() == "foo3");
        CHECK_FALSE(call.proc_id);
        CHECK(call.option_flags == 0);
        REQUIRE(call.parameters.size() == 1);
        const auto& p = call.parameters[0];
        CHECK(p.name.empty());
        CHECK(int{p.status} == tds::rpc_flag::kDefaultValue); // fDefaultValue
        CHECK_FALSE(p.is_output());
        CHECK(int{p.type_token} == 0x26); // INTNTYPE, max length 2: smallint
        CHECK(p.value.type.type == tds::SqlType::SmallInt);
        CHECK(tds::is_null(p.value.value));
    }
    SECTION("the same call from a pre-7.2 client has no ALL_HEADERS") {
        const Bytes body(payload.begin() + 22, payload.end());
        for (Level l : kPre72) {
            CAPTURE(l);
            auto req = tds::decode_rpc(body, l);
            REQUIRE(req);
            CHECK_FALSE(req->headers.transaction_descriptor);
            REQUIRE(req->calls.size() == 1);
            CHECK(req->calls[0].procedure == "foo3");
            REQUIRE(req->calls[0].parameters.size() == 1);
            CHECK(req->calls[0].parameters[0].value.type.type == tds::SqlType::SmallInt);
        }
    }
}

TEST_CASE("decode_rpc reads a ProcID call with positional and output parameters", "[tds][rpc]") {
    auto req = tds::decode_rpc(request(Level::V74, executesql_call()), Level::V74);
    REQUIRE(req);
    CHECK(req->headers.transaction_descriptor == std::optional<std::uint64_t>(0));
    CHECK(req->headers.outstanding_requests == std::optional<std::uint32_t>(1));
    CHECK_FALSE(req->parameter_error);
    REQUIRE(req->calls.size() == 1);
    const auto& c = req->calls[0];
    CHECK(c.proc_id == std::optional<std::uint16_t>(10));
    CHECK(c.procedure == "sp_executesql");
    REQUIRE(c.parameters.size() == 2);
    CHECK(c.parameters[0].name == "@stmt");
    CHECK(int{c.parameters[0].type_token} == 0xE7);
    CHECK(c.parameters[0].value.type.type == tds::SqlType::NVarChar);
    CHECK(c.parameters[0].value.type.length == 200);
    CHECK(std::get<std::string>(c.parameters[0].value.value) == "SELECT 1");
    CHECK_FALSE(c.parameters[0].is_output());
    CHECK(c.parameters[1].name == "@p1");
    CHECK(c.parameters[1].is_output());
    CHECK(std::get<std::int64_t>(c.parameters[1].value.value) == 42);
}

TEST_CASE("decode_rpc reads a named call, its option flags and parameter status flags",
          "[tds][rpc]") {
    const std::string body =
        named_call("dbo.sp_who", tds::rpc_flag::kWithRecompile | tds::rpc_flag::kNoMetaData) +
        param("@loginame", tds::rpc_flag::kDefaultValue, "E7 00 01" + kColl + "FF FF") +
        int_param("@out", tds::rpc_flag::kByRefValue | tds::rpc_flag::kDefaultValue, 0) +
        int_param("", 0, 7);
    for (Level l : {Level::V70, Level::V71, Level::V72, Level::V74}) {
        CAPTURE(l);
        // Before 7.1 TYPE_INFO has no collation.
        std::string b = body;
        if (l == Level::V70) {
            b = named_call("dbo.sp_who",
                           tds::rpc_flag::kWithRecompile | tds::rpc_flag::kNoMetaData) +
                param("@loginame", tds::rpc_flag::kDefaultValue, "E7 00 01 FF FF") +
                int_param("@out", tds::rpc_flag::kByRefValue | tds::rpc_flag::kDefaultValue, 0) +
                int_param("", 0, 7);
        }
        auto req = tds::decode_rpc(request(l, b), l);
        REQUIRE(req);
        REQUIRE(req->calls.size() == 1);
        const auto& c = req->calls[0];
        CHECK(c.procedure == "dbo.sp_who");
        CHECK_FALSE(c.proc_id);
        CHECK(c.option_flags == 0x0003);
        REQUIRE(c.parameters.size() == 3);
        CHECK(c.parameters[0].name == "@loginame");
        CHECK(int{c.parameters[0].status} == 0x02);
        CHECK_FALSE(c.parameters[0].is_output());
        CHECK(tds::is_null(c.parameters[0].value.value));
        CHECK(int{c.parameters[1].status} == 0x03);
        CHECK(c.parameters[1].is_output());
        CHECK(c.parameters[2].name.empty());
        CHECK(std::get<std::int64_t>(c.parameters[2].value.value) == 7);
    }
}

TEST_CASE("decode_rpc: a call without parameters, and an empty procedure name", "[tds][rpc]") {
    auto req = tds::decode_rpc(request(Level::V74, named_call("p")), Level::V74);
    REQUIRE(req);
    REQUIRE(req->calls.size() == 1);
    CHECK(req->calls[0].procedure == "p");
    CHECK(req->calls[0].parameters.empty());
}

TEST_CASE("decode_rpc: calls separated by BatchFlag 0xFF from 7.2", "[tds][rpc][spec]") {
    const std::string body =
        executesql_call() + kBatchFlag72 + named_call("two") + int_param("@a", 0, 1);
    for (Level l : k72Plus) {
        CAPTURE(l);
        auto req = tds::decode_rpc(request(l, body), l);
        REQUIRE(req);
        CHECK_FALSE(req->parameter_error);
        REQUIRE(req->calls.size() == 2);
        CHECK(req->calls[0].procedure == "sp_executesql");
        CHECK(req->calls[0].parameters.size() == 2);
        CHECK(req->calls[1].procedure == "two");
        CHECK(req->calls[1].parameters.size() == 1);
    }
}

TEST_CASE("decode_rpc: calls separated by NoExecFlag 0xFE from 7.2", "[tds][rpc][spec]") {
    const std::string body = named_call("one") + "FE" + named_call("two") + int_param("@a", 0, 1);
    for (Level l : k72Plus) {
        CAPTURE(l);
        auto req = tds::decode_rpc(request(l, body), l);
        REQUIRE(req);
        CHECK_FALSE(req->parameter_error);
        REQUIRE(req->calls.size() == 2);
        CHECK(req->calls[0].procedure == "one");
        CHECK(req->calls[1].procedure == "two");
    }
}

TEST_CASE("decode_rpc: calls separated by BatchFlag 0x80 before 7.2", "[tds][rpc][spec]") {
    const std::string body =
        executesql_call() + kBatchFlag71 + named_call("two") + int_param("@a", 0, 1);
    auto req = tds::decode_rpc(request(Level::V71, body), Level::V71);
    REQUIRE(req);
    CHECK_FALSE(req->parameter_error);
    REQUIRE(req->calls.size() == 2);
    CHECK(req->calls[0].procedure == "sp_executesql");
    CHECK(req->calls[1].procedure == "two");
}

TEST_CASE("decode_rpc: a BatchFlag after the last call is ignored (2.2.6.6)", "[tds][rpc][spec]") {
    SECTION("0xFF from 7.2") {
        auto req =
            tds::decode_rpc(request(Level::V74, executesql_call() + kBatchFlag72), Level::V74);
        REQUIRE(req);
        CHECK_FALSE(req->parameter_error);
        REQUIRE(req->calls.size() == 1);
        CHECK(req->calls[0].parameters.size() == 2);
    }
    SECTION("0x80 before 7.2") {
        auto req =
            tds::decode_rpc(request(Level::V71, executesql_call() + kBatchFlag71), Level::V71);
        REQUIRE(req);
        CHECK_FALSE(req->parameter_error);
        REQUIRE(req->calls.size() == 1);
        CHECK(req->calls[0].parameters.size() == 2);
    }
}

TEST_CASE("decode_rpc: a 128-character parameter name (length byte 0x80) is a parameter at 7.2+",
          "[tds][rpc][spec]") {
    // Parameter names are sysname, up to 128 characters: the reason 7.2 moved BatchFlag from
    // 0x80 to 0xFF.
    const std::string name = "@" + std::string(127, 'p');
    const std::string body = named_call("proc") + int_param(name, 0, 9);
    auto req = tds::decode_rpc(request(Level::V74, body), Level::V74);
    REQUIRE(req);
    CHECK_FALSE(req->parameter_error);
    REQUIRE(req->calls.size() == 1);
    REQUIRE(req->calls[0].parameters.size() == 1);
    CHECK(req->calls[0].parameters[0].name == name);
    CHECK(std::get<std::int64_t>(req->calls[0].parameters[0].value.value) == 9);
}

TEST_CASE("decode_rpc: an unknown type token ends the reading with UnknownType",
          "[tds][rpc][hostile]") {
    SECTION("the second parameter of the only call") {
        const std::string body =
            named_call("p") + int_param("@a", 0, 1) + param("@b", 0, "F3 00 00 00 00");
        auto req = tds::decode_rpc(request(Level::V74, body), Level::V74);
        REQUIRE(req);
        CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::UnknownType));
        CHECK(req->failed_parameter == 2);
        CHECK(int{req->failed_type_token} == 0xF3);
        REQUIRE(req->calls.size() == 1);
        REQUIRE(req->calls[0].parameters.size() == 1);
        CHECK(req->calls[0].parameters[0].name == "@a");
    }
    SECTION("the first parameter of a second call") {
        // NoExecFlag as the separator, so that this case does not depend on BatchFlag.
        const std::string body = named_call("one") + int_param("@a", 0, 1) + "FE" +
                                 named_call("two") + param("@x", 0, "99 01 02");
        auto req = tds::decode_rpc(request(Level::V74, body), Level::V74);
        REQUIRE(req);
        CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::UnknownType));
        CHECK(req->failed_parameter == 1);
        CHECK(int{req->failed_type_token} == 0x99);
        REQUIRE(req->calls.size() == 2);
        CHECK(req->calls[0].parameters.size() == 1);
        CHECK(req->calls[1].procedure == "two");
        CHECK(req->calls[1].parameters.empty());
    }
    SECTION("a UDT, a TVP and a 7.3 type from a 7.2 client") {
        for (const std::string& typed :
             {std::string("F0 00 00 00"), std::string("F3 00 00"), std::string("28 03 07 24 0B")}) {
            CAPTURE(typed);
            auto req = tds::decode_rpc(request(Level::V72, named_call("p") + param("@a", 0, typed)),
                                       Level::V72);
            REQUIRE(req);
            CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::UnknownType));
            CHECK(req->failed_parameter == 1);
        }
    }
}

TEST_CASE("decode_rpc: a truncated parameter is reported with its ordinal", "[tds][rpc][hostile]") {
    const std::string head = named_call("p") + int_param("@a", 0, 1);
    SECTION("cut inside the value") {
        auto req = tds::decode_rpc(request(Level::V74, head + param("@b", 0, "26 04 04 01 02")),
                                   Level::V74);
        REQUIRE(req);
        CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::Truncated));
        CHECK(req->failed_parameter == 2);
        CHECK(int{req->failed_type_token} == 0x26);
        CHECK(req->calls[0].parameters.size() == 1);
    }
    SECTION("cut inside the name") {
        auto req = tds::decode_rpc(request(Level::V74, head + "05 40 00 62"), Level::V74);
        REQUIRE(req);
        CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::Truncated));
        CHECK(req->failed_parameter == 2);
    }
    SECTION("a value length past the end") {
        auto req = tds::decode_rpc(
            request(Level::V74, head + param("@b", 0, "E7 40 1F" + kColl + "40 1F 41 00")),
            Level::V74);
        REQUIRE(req);
        CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::Truncated));
        CHECK(req->failed_parameter == 2);
    }
    SECTION("a value too long for its type") {
        auto req = tds::decode_rpc(
            request(Level::V74, head + param("@b", 0, "E7 02 00" + kColl + "04 00 41 00 42 00")),
            Level::V74);
        REQUIRE(req);
        CHECK(req->parameter_error == std::optional<tds::Error>(tds::Error::BadValue));
        CHECK(req->failed_parameter == 2);
    }
}

TEST_CASE("decode_rpc: broken headers and call heads are errors", "[tds][rpc][hostile]") {
    SECTION("ALL_HEADERS missing at 7.2") {
        CHECK(error_of(tds::decode_rpc(hex(named_call("p")), Level::V72)) ==
              tds::Error::BadAllHeaders);
    }
    SECTION("a procedure name longer than the request") {
        CHECK(error_of(tds::decode_rpc(request(Level::V74, "FE FF 41 00"), Level::V74)) ==
              tds::Error::Truncated);
    }
    SECTION("ProcID cut") {
        CHECK(error_of(tds::decode_rpc(request(Level::V74, "FF FF 0A"), Level::V74)) ==
              tds::Error::Truncated);
    }
    SECTION("option flags cut") {
        CHECK(error_of(tds::decode_rpc(request(Level::V74, "FF FF 0A 00 00"), Level::V74)) ==
              tds::Error::Truncated);
    }
    SECTION("no call at all") {
        CHECK(error_of(tds::decode_rpc(request(Level::V74, ""), Level::V74)) ==
              tds::Error::Truncated);
        const Bytes empty;
        CHECK(error_of(tds::decode_rpc(empty, Level::V71)) == tds::Error::Truncated);
    }
}

TEST_CASE("decode_rpc: every truncation gives an error or a consistent partial request",
          "[tds][rpc][hostile]") {
    struct Case {
        const char* name;
        Bytes full;
        Level level;
    };
    const Case cases[] = {
        {"MS-TDS 4.8", payload_of(hex(kSpecRpc)), Level::V74},
        {"sp_executesql and a second call",
         request(Level::V74, executesql_call() + "FE" + named_call("two") +
                                 param("@n", 0,
                                       "E7 FF FF" + kColl +
                                           "FE FF FF FF FF FF FF FF 02 00 00 00 68 00"
                                           "00 00 00 00") +
                                 param("@v", 0, "62 49 1F 00 00 06 00 00 00 38 00 05 00 00 00")),
         Level::V74},
        {"7.1 named call",
         request(Level::V71,
                 named_call("abc") + int_param("@a", 1, 1) + nvarchar_param("@b", 0, "xyz")),
         Level::V71},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        auto whole = tds::decode_rpc(c.full, c.level);
        REQUIRE(whole);
        REQUIRE_FALSE(whole->parameter_error);
        for (std::size_t n = 0; n < c.full.size(); ++n) {
            CAPTURE(n);
            const Bytes cut = prefix(c.full, n);
            auto req = tds::decode_rpc(cut, c.level);
            if (!req) {
                CHECK((req.error() == tds::Error::Truncated ||
                       req.error() == tds::Error::BadAllHeaders));
                continue;
            }
            REQUIRE_FALSE(req->calls.empty());
            REQUIRE(req->calls.size() <= whole->calls.size());
            for (std::size_t i = 0; i < req->calls.size(); ++i) {
                const auto& got = req->calls[i];
                const auto& want = whole->calls[i];
                CHECK(got.procedure == want.procedure);
                REQUIRE(got.parameters.size() <= want.parameters.size());
                for (std::size_t j = 0; j < got.parameters.size(); ++j) {
                    CHECK(got.parameters[j].name == want.parameters[j].name);
                }
            }
            if (req->parameter_error) {
                CHECK(req->failed_parameter == req->calls.back().parameters.size() + 1);
            }
        }
    }
}

TEST_CASE("well_known_procedure names the ProcIDs of 2.2.6.6", "[tds][rpc][spec]") {
    const char* names[] = {"sp_cursor",        "sp_cursoropen",     "sp_cursorprepare",
                           "sp_cursorexecute", "sp_cursorprepexec", "sp_cursorunprepare",
                           "sp_cursorfetch",   "sp_cursoroption",   "sp_cursorclose",
                           "sp_executesql",    "sp_prepare",        "sp_execute",
                           "sp_prepexec",      "sp_prepexecrpc",    "sp_unprepare"};
    for (std::uint16_t id = 1; id <= 15; ++id) {
        CAPTURE(id);
        CHECK(tds::well_known_procedure(id) == names[id - 1]);
    }
    CHECK(tds::well_known_procedure(0) == "proc#0");
    CHECK(tds::well_known_procedure(16) == "proc#16");
    CHECK(tds::well_known_procedure(0xFFFF) == "proc#65535");
    CHECK(tds::proc_id::kExecuteSql == 10);
    CHECK(tds::proc_id::kUnprepare == 15);
}

TEST_CASE("decode_rpc: single-byte corruptions never crash and stay consistent",
          "[tds][rpc][hostile]") {
    const Bytes full =
        request(Level::V74, executesql_call() + "FE" + named_call("two") +
                                param("@n", 0,
                                      "E7 FF FF" + kColl +
                                          "FE FF FF FF FF FF FF FF 02 00 00 00"
                                          "68 00 00 00 00 00") +
                                param("@v", 0, "62 49 1F 00 00 06 00 00 00 38 00 05 00 00 00") +
                                param("@d", 0,
                                      "6A 11 26 02 11 01 01 00 00 00 00 00 00 00 00 00 00 00 00"
                                      "00 00 00"));
    REQUIRE(tds::decode_rpc(full, Level::V74));
    for (std::size_t i = 0; i < full.size(); ++i) {
        for (std::uint8_t v : {std::uint8_t{0x00}, std::uint8_t{0x01}, std::uint8_t{0x7F},
                               std::uint8_t{0x80}, std::uint8_t{0xFE}, std::uint8_t{0xFF}}) {
            Bytes b = full;
            b[i] = v;
            auto req = tds::decode_rpc(b, Level::V74);
            if (req && req->parameter_error) {
                REQUIRE_FALSE(req->calls.empty());
                CHECK(req->failed_parameter == req->calls.back().parameters.size() + 1);
            }
        }
    }
}
