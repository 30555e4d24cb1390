// Client commands: COM_QUERY with and without query attributes, COM_STMT_EXECUTE with
// new_params_bound 1 and 0 (captured), COM_STMT_SEND_LONG_DATA, statement ids.

#include <catch2/catch.hpp>

#include <mysql/commands.h>

#include "mysql_test_util.h"

using namespace mysql_test;

namespace {

constexpr std::uint32_t kCaps = mysql::cap::Protocol41 | mysql::cap::SecureConnection;
constexpr std::uint32_t kCapsAttrs = kCaps | mysql::cap::QueryAttributes;

std::vector<CapturedPacket> of_kind(const std::string& file, const std::string& kind) {
    std::vector<CapturedPacket> out;
    for (auto& p : load_vectors(file)) {
        if (p.kind == kind) {
            out.push_back(std::move(p));
        }
    }
    return out;
}

} // namespace

TEST_CASE("COM_QUERY without query attributes", "[mysql][query]") {
    const auto queries = of_kind("mariadb10.11_cli_query.hex", "query");
    REQUIRE(queries.size() == 2);
    const Bytes payload = queries[0].payload();
    CHECK(queries[0].sequence() == 0);
    auto q = mysql::decode_query(payload, kCaps);
    REQUIRE(q);
    CHECK(q->text == "SELECT 1, NULL, 'x'");
    CHECK(q->attributes.empty());
    CHECK(mysql::encode_query(q->text) == payload);
    CHECK(mysql::decode_query(hex("0E"), kCaps).error() == mysql::Error::BadValue);
    CHECK(mysql::decode_query({}, kCaps).error() == mysql::Error::Truncated);
    auto empty = mysql::decode_query(hex("03"), kCaps);
    REQUIRE(empty);
    CHECK(empty->text.empty());
}

TEST_CASE("COM_QUERY with query attributes", "[mysql][query]") {
    // MySQL docs "COM_QUERY" (CLIENT_QUERY_ATTRIBUTES): parameter count, parameter set count
    // (1), NULL bitmap (offset 0), new_params_bind_flag (1), type and flag + lenenc name per
    // parameter, the values, then the text. Two attributes: proxy_user = 'alice' (STRING) and
    // trace (LONGLONG, unsigned) = 42, then one NULL one.
    const Bytes payload = hex("03 03 01 04 01"
                              "FE 00 0A 70 72 6F 78 79 5F 75 73 65 72"
                              "08 80 05 74 72 61 63 65"
                              "06 00 01 6E"
                              "05 61 6C 69 63 65"
                              "2A 00 00 00 00 00 00 00"
                              "53 45 4C 45 43 54 20 31");
    auto q = mysql::decode_query(payload, kCapsAttrs);
    REQUIRE(q);
    CHECK(q->text == "SELECT 1");
    REQUIRE(q->attributes.size() == 3);
    CHECK(q->attributes[0].first == "proxy_user");
    CHECK(q->attributes[0].second == "alice");
    CHECK(q->attributes[1].first == "trace");
    CHECK(q->attributes[1].second == "42");
    CHECK(q->attributes[2].first == "n");
    CHECK_FALSE(q->attributes[2].second);

    // No attributes: count 0, set count 1, then the text.
    auto none = mysql::decode_query(hex("03 00 01 53 45 4C 45 43 54 20 31"), kCapsAttrs);
    REQUIRE(none);
    CHECK(none->text == "SELECT 1");
    CHECK(none->attributes.empty());
    // The same bytes read without the capability are the text "\0\1SELECT 1".
    auto plain = mysql::decode_query(hex("03 00 01 53 45 4C 45 43 54 20 31"), kCaps);
    REQUIRE(plain);
    CHECK(plain->text.size() == 10);

    CHECK(mysql::decode_query(hex("03 00 02 53"), kCapsAttrs).error() == mysql::Error::Unsupported);
    // A count no packet can hold, and one beyond this packet.
    CHECK(mysql::decode_query(hex("03 FE 00 00 00 00 01 00 00 00 01"), kCapsAttrs).error() ==
          mysql::Error::TooLong);
    CHECK(mysql::decode_query(hex("03 FC 00 10 01 00"), kCapsAttrs).error() ==
          mysql::Error::Truncated);
}

TEST_CASE("COM_STMT_EXECUTE with new_params_bound 1 and 0", "[mysql][execute]") {
    const auto executes = of_kind("mariadb10.11_raw_eof.hex", "stmt_execute");
    REQUIRE(executes.size() == 2);
    const Bytes first = executes[0].payload();
    CHECK(first == hex("17 01 00 00 00 00 01 00 00 00 00 01 08 00 FB FF FF FF FF FF FF FF"));
    auto id = mysql::statement_id_of(first);
    REQUIRE(id);
    CHECK(*id == 1);
    auto e = mysql::decode_stmt_execute(first, 1, {}, kCaps);
    REQUIRE(e);
    CHECK(e->statement_id == 1);
    CHECK(e->flags == 0);
    CHECK(e->iteration_count == 1);
    CHECK(e->new_params_bound);
    REQUIRE(e->params.size() == 1);
    CHECK(e->params[0].type == mysql::ColumnType::LongLong);
    CHECK_FALSE(e->params[0].is_unsigned);
    CHECK(e->params[0].value == "-5");

    // The second execution sends NULL and no types: they come from the first.
    const Bytes second = executes[1].payload();
    CHECK(second == hex("17 01 00 00 00 00 01 00 00 00 01 00"));
    auto e2 = mysql::decode_stmt_execute(second, 1, e->params, kCaps);
    REQUIRE(e2);
    CHECK_FALSE(e2->new_params_bound);
    REQUIRE(e2->params.size() == 1);
    CHECK(e2->params[0].type == mysql::ColumnType::LongLong);
    CHECK_FALSE(e2->params[0].value);
    // Without the previous types the packet cannot be read.
    CHECK(mysql::decode_stmt_execute(second, 1, {}, kCaps).error() == mysql::Error::BadValue);
    // A statement without parameters ends after the iteration count.
    auto none = mysql::decode_stmt_execute(hex("17 02 00 00 00 00 01 00 00 00"), 0, {}, kCaps);
    REQUIRE(none);
    CHECK(none->params.empty());
    CHECK(mysql::decode_stmt_execute(first, 0, {}, kCaps).error() == mysql::Error::TrailingBytes);
    // Read as two parameters, the value's bytes become a second type: 0xFB with flag 0xFF.
    CHECK(mysql::decode_stmt_execute(first, 2, {}, kCaps).error() == mysql::Error::BadValue);
    CHECK(mysql::decode_stmt_execute(Bytes(first.begin(), first.end() - 1), 1, {}, kCaps).error() ==
          mysql::Error::Truncated);
}

TEST_CASE("COM_STMT_EXECUTE parameter types in text form", "[mysql][execute]") {
    // Five parameters: DOUBLE 2.5, VAR_STRING "hi", DATETIME 2024-01-02 03:04:05.000006,
    // TINY unsigned 200, TIME -1 day 02:03:04.
    const Bytes payload = hex("17 07 00 00 00 00 01 00 00 00 00 01"
                              "05 00 FD 00 0C 00 01 80 0B 00"
                              "00 00 00 00 00 00 04 40"
                              "02 68 69"
                              "0B E8 07 01 02 03 04 05 06 00 00 00"
                              "C8"
                              "08 01 01 00 00 00 02 03 04");
    auto e = mysql::decode_stmt_execute(payload, 5, {}, kCaps);
    REQUIRE(e);
    REQUIRE(e->params.size() == 5);
    CHECK(e->params[0].value == "2.5");
    CHECK(e->params[1].value == "hi");
    CHECK(e->params[2].value == "2024-01-02 03:04:05.000006");
    CHECK(e->params[3].is_unsigned);
    CHECK(e->params[3].value == "200");
    CHECK(e->params[4].value == "-26:03:04");

    // With CLIENT_QUERY_ATTRIBUTES the count and a name per parameter are sent.
    const Bytes attrs =
        hex("17 07 00 00 00 08 01 00 00 00 01 00 01 08 00 01 61 07 00 00 00 00 00 00 00");
    auto a = mysql::decode_stmt_execute(attrs, 0, {}, kCapsAttrs);
    REQUIRE(a);
    REQUIRE(a->params.size() == 1);
    CHECK(a->params[0].value == "7");
    // A type byte that names no type.
    CHECK(mysql::decode_stmt_execute(hex("17 07 00 00 00 00 01 00 00 00 00 01 30 00 01"), 1, {},
                                     kCaps)
              .error() == mysql::Error::BadValue);
}

TEST_CASE("COM_STMT_SEND_LONG_DATA and statement ids", "[mysql][execute]") {
    const Bytes payload = hex("18 05 00 00 00 01 00 61 62 63");
    auto d = mysql::decode_stmt_long_data(payload);
    REQUIRE(d);
    CHECK(d->statement_id == 5);
    CHECK(d->param_id == 1);
    CHECK(d->data == bytes_of("abc"));
    CHECK(mysql::decode_stmt_long_data(hex("17 05 00 00 00 01 00")).error() ==
          mysql::Error::BadValue);
    const auto close = of_kind("mariadb10.11_raw_eof.hex", "stmt_close").at(0).payload();
    CHECK(*mysql::statement_id_of(close) == 1);
    CHECK(mysql::statement_id_of(hex("19 01 00")).error() == mysql::Error::Truncated);
}
