#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <tds/byte_reader.h>
#include <tds/byte_writer.h>
#include <tds/sql_types.h>
#include <tds/type_info.h>
#include <tds/utf16.h>

#include "tds_test_util.h"

// TYPE_INFO and data values against MS-TDS 2.2.5.2.3 (TYPE_VARBYTE, PLP), 2.2.5.4 (data type
// tokens and their valid lengths), 2.2.5.5 (value layouts: money halves, decimal sign and
// magnitude, datetime days/300ths, date/time/datetime2/datetimeoffset, sql_variant) and 2.2.5.6
// (TYPE_INFO). Every expected byte string below is written from those sections, not from the
// writer's output.

using namespace tds_test;
using tds::Level;

namespace {

constexpr Level kAllLevels[] = {Level::V70,  Level::V71, Level::V72, Level::V73A,
                                Level::V73B, Level::V74, Level::V80};

// The default collation as TYPE_INFO carries it (LCID 0x0409, flags 0xD0 0x00, sort id 0x34).
constexpr const char* kColl = "09 04 D0 00 34";

Bytes type_info_of(const tds::TypeInfo& t, Level level, bool with_table_name = false) {
    tds::ByteWriter w;
    tds::write_type_info(w, t, level, with_table_name);
    return w.take();
}

Bytes value_of(const tds::TypeInfo& t, const tds::Value& v, Level level = Level::V74) {
    tds::ByteWriter w;
    tds::write_value(w, t, v, level);
    return w.take();
}

std::string ti_hex(const tds::TypeInfo& t, Level level = Level::V74, bool table = false) {
    return to_hex(type_info_of(t, level, table));
}

std::string val_hex(const tds::TypeInfo& t, const tds::Value& v, Level level = Level::V74) {
    return to_hex(value_of(t, v, level));
}

// show renders a Value with its alternative, so failures print readably.
std::string show(const tds::Value& v) {
    struct Visitor {
        std::string operator()(std::monostate) const { return "null"; }
        std::string operator()(bool b) const { return b ? "bool:1" : "bool:0"; }
        std::string operator()(std::int64_t n) const { return "int:" + std::to_string(n); }
        std::string operator()(double d) const {
            char buf[48];
            std::snprintf(buf, sizeof buf, "double:%.17g", d);
            return buf;
        }
        std::string operator()(const tds::Decimal& d) const {
            return std::string("dec:") + (d.negative ? "-" : "") + d.digits + "/" +
                   std::to_string(d.scale);
        }
        std::string operator()(const std::string& s) const { return "str:" + s; }
        std::string operator()(const tds::Bytes& b) const { return "bytes:" + to_hex(b); }
        std::string operator()(const tds::DateTime& t) const {
            return "dt:" + std::to_string(t.days) + "/" + std::to_string(t.ticks) + "/" +
                   std::to_string(t.offset_minutes);
        }
        std::string operator()(const tds::Guid& g) const { return "guid:" + to_hex(g); }
    };
    return std::visit(Visitor{}, v);
}

constexpr std::uint64_t kTick = 10'000'000; // 100 ns ticks per second

tds::DateTime at(int y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0, unsigned s = 0,
                 std::uint64_t frac_ticks = 0, std::int16_t offset = 0) {
    return tds::DateTime{tds::days_from_civil(y, mo, d),
                         (h * 3600ULL + mi * 60ULL + s) * kTick + frac_ticks, offset};
}

tds::TypeInfo of(tds::SqlType t, std::uint32_t length = 0, std::uint8_t precision = 0,
                 std::uint8_t scale = 0) {
    tds::TypeInfo i;
    i.type = t;
    i.length = length;
    i.precision = precision;
    i.scale = scale;
    return i;
}

tds::TypeInfo time_type(std::uint8_t scale) {
    return of(tds::SqlType::Time, 0, 0, scale);
}
tds::TypeInfo date_type() {
    return of(tds::SqlType::Date);
}
tds::TypeInfo guid_type() {
    return of(tds::SqlType::UniqueIdentifier);
}

tds::Guid guid_0_to_15() {
    tds::Guid g{};
    for (std::size_t i = 0; i < g.size(); ++i) {
        g[i] = static_cast<std::uint8_t>(i);
    }
    return g;
}

// read_all reads one RPC-form TYPE_INFO + value and requires every byte consumed.
tds::TypedValue read_all(const Bytes& b, Level level) {
    tds::ByteReader r(b);
    std::uint8_t token = 0;
    auto got = tds::read_typed_value(r, level, &token);
    INFO("bytes " << to_hex(b));
    REQUIRE(got);
    CHECK(r.empty());
    CHECK(token == b.at(0));
    return *got;
}

// read_error: the error reading `b` gives, nullopt when it reads a value.
std::optional<tds::Error> read_error(const Bytes& b, Level level = Level::V74) {
    tds::ByteReader r(b);
    auto got = tds::read_typed_value(r, level);
    if (got) {
        return std::nullopt;
    }
    return got.error();
}

} // namespace

// --- TYPE_INFO and values, type by type -----------------------------------------------------

TEST_CASE("BITN: 68 01, values 1 byte or GEN_NULL", "[tds][type_info][spec]") {
    CHECK(ti_hex(tds::bit_type()) == canon("68 01"));
    CHECK(val_hex(tds::bit_type(), true) == canon("01 01"));
    CHECK(val_hex(tds::bit_type(), false) == canon("01 00"));
    CHECK(val_hex(tds::bit_type(), std::int64_t{5}) == canon("01 01"));
    CHECK(val_hex(tds::bit_type(), std::monostate{}) == canon("00"));
}

TEST_CASE("INTN 1/2/4/8: 26 len, little-endian values", "[tds][type_info][spec]") {
    CHECK(ti_hex(tds::tinyint_type()) == canon("26 01"));
    CHECK(ti_hex(tds::smallint_type()) == canon("26 02"));
    CHECK(ti_hex(tds::int_type()) == canon("26 04"));
    CHECK(ti_hex(tds::bigint_type()) == canon("26 08"));
    CHECK(val_hex(tds::tinyint_type(), std::int64_t{255}) == canon("01 FF"));
    CHECK(val_hex(tds::smallint_type(), std::int64_t{-2}) == canon("02 FE FF"));
    CHECK(val_hex(tds::int_type(), std::int64_t{0x01020304}) == canon("04 04 03 02 01"));
    CHECK(val_hex(tds::bigint_type(), std::int64_t{-1}) == canon("08 FF FF FF FF FF FF FF FF"));
    CHECK(val_hex(tds::bigint_type(), std::numeric_limits<std::int64_t>::min()) ==
          canon("08 00 00 00 00 00 00 00 80"));
    for (const auto& t :
         {tds::tinyint_type(), tds::smallint_type(), tds::int_type(), tds::bigint_type()}) {
        CHECK(val_hex(t, std::monostate{}) == canon("00"));
    }
}

TEST_CASE("DECIMALN/NUMERICN: storage 5/9/13/17 by precision, sign byte then magnitude",
          "[tds][type_info][spec]") {
    SECTION("TYPE_INFO: token, max length, precision, scale (2.2.5.5.1.6 sizes)") {
        struct Case {
            std::uint8_t precision;
            const char* storage;
        };
        for (const Case c : {Case{1, "05"}, Case{9, "05"}, Case{10, "09"}, Case{19, "09"},
                             Case{20, "0D"}, Case{28, "0D"}, Case{29, "11"}, Case{38, "11"}}) {
            CAPTURE(int{c.precision});
            char p[3];
            std::snprintf(p, sizeof p, "%02X", c.precision);
            CHECK(ti_hex(tds::decimal_type(c.precision, 0)) ==
                  canon(std::string("6A ") + c.storage + p + "00"));
            CHECK(ti_hex(tds::numeric_type(c.precision, 0)) ==
                  canon(std::string("6C ") + c.storage + p + "00"));
        }
        CHECK(ti_hex(tds::decimal_type(5, 2)) == canon("6A 05 05 02"));
        CHECK(ti_hex(tds::numeric_type(28, 4)) == canon("6C 0D 1C 04"));
    }
    SECTION("values: 1 = non-negative, 0 = negative; 4/8/12/16-byte integer") {
        CHECK(val_hex(tds::decimal_type(5, 2), tds::Decimal{"12345", 2, false}) ==
              canon("05 01 39 30 00 00"));
        CHECK(val_hex(tds::decimal_type(5, 2), tds::Decimal{"150", 2, true}) ==
              canon("05 00 96 00 00 00"));
        CHECK(val_hex(tds::numeric_type(19, 0), tds::Decimal{"9223372036854775807", 0, false}) ==
              canon("09 01 FF FF FF FF FF FF FF 7F"));
        // 1 at scale 4 is 10000 = 0x2710, in a 12-byte integer.
        CHECK(val_hex(tds::numeric_type(28, 4), tds::Decimal{"1", 0, false}) ==
              canon("0D 01 10 27 00 00 00 00 00 00 00 00 00 00"));
        CHECK(val_hex(tds::decimal_type(38, 0),
                      tds::Decimal{"99999999999999999999999999999999999999", 0, false}) ==
              canon("11 01 FF FF FF FF 3F 22 8A 09 7A C4 86 5A A8 4C 3B 4B"));
        CHECK(val_hex(tds::decimal_type(5, 2), std::int64_t{7}) == canon("05 01 BC 02 00 00"));
        CHECK(val_hex(tds::decimal_type(5, 2), std::monostate{}) == canon("00"));
    }
}

TEST_CASE("FLTN 4/8: IEEE 754 little-endian", "[tds][type_info][spec]") {
    CHECK(ti_hex(of(tds::SqlType::Real)) == canon("6D 04"));
    CHECK(ti_hex(tds::float_type()) == canon("6D 08"));
    CHECK(val_hex(of(tds::SqlType::Real), 1.5) == canon("04 00 00 C0 3F"));
    CHECK(val_hex(tds::float_type(), 1.5) == canon("08 00 00 00 00 00 00 F8 3F"));
    CHECK(val_hex(tds::float_type(), -0.25) == canon("08 00 00 00 00 00 00 D0 BF"));
    CHECK(val_hex(tds::float_type(), std::monostate{}) == canon("00"));
}

TEST_CASE("MONEYN: the value times 10000, money with the more significant half first",
          "[tds][type_info][spec]") {
    const auto money = of(tds::SqlType::Money);
    const auto smallmoney = of(tds::SqlType::SmallMoney);
    CHECK(ti_hex(money) == canon("6E 08"));
    CHECK(ti_hex(smallmoney) == canon("6E 04"));
    // 12.3456 -> 123456 = 0x0001E240: high half 0, low half 0x0001E240.
    CHECK(val_hex(money, tds::Decimal{"123456", 4, false}) == canon("08 00 00 00 00 40 E2 01 00"));
    // 2^32 units: the high half is 1.
    CHECK(val_hex(money, tds::Decimal{"4294967296", 4, false}) ==
          canon("08 01 00 00 00 00 00 00 00"));
    // -1 -> -10000 = 0xFFFFFFFF_FFFFD8F0.
    CHECK(val_hex(money, std::int64_t{-1}) == canon("08 FF FF FF FF F0 D8 FF FF"));
    CHECK(val_hex(smallmoney, tds::Decimal{"123456", 4, false}) == canon("04 40 E2 01 00"));
    CHECK(val_hex(smallmoney, std::int64_t{-1}) == canon("04 F0 D8 FF FF"));
    CHECK(val_hex(money, std::monostate{}) == canon("00"));
    SECTION("money's limits, -922337203685477.5808 and 922337203685477.5807") {
        // The 8-byte signed integer's extremes: -2^63 is high half 0x80000000, low half 0.
        CHECK(val_hex(money, tds::Decimal{"9223372036854775808", 4, true}) ==
              canon("08 00 00 00 80 00 00 00 00"));
        CHECK(val_hex(money, tds::Decimal{"9223372036854775807", 4, false}) ==
              canon("08 FF FF FF 7F FF FF FF FF"));
        // smallmoney: -214748.3648 and 214748.3647.
        CHECK(val_hex(smallmoney, tds::Decimal{"2147483648", 4, true}) == canon("04 00 00 00 80"));
        CHECK(val_hex(smallmoney, tds::Decimal{"2147483647", 4, false}) == canon("04 FF FF FF 7F"));
    }
}

TEST_CASE("DATETIMN 4/8: days since 1900 and minutes / 300ths of a second",
          "[tds][type_info][spec]") {
    const auto smalldatetime = of(tds::SqlType::SmallDateTime);
    CHECK(ti_hex(tds::datetime_type()) == canon("6F 08"));
    CHECK(ti_hex(smalldatetime) == canon("6F 04"));
    CHECK(val_hex(tds::datetime_type(), at(1900, 1, 1)) == canon("08 00 00 00 00 00 00 00 00"));
    // 12:00 = 43200 s = 12960000 = 0x00C5C100 three-hundredths.
    CHECK(val_hex(tds::datetime_type(), at(1900, 1, 2, 12)) == canon("08 01 00 00 00 00 C1 C5 00"));
    // Negative days reach back to 1753-01-01: -53690.
    CHECK(val_hex(tds::datetime_type(), at(1753, 1, 1)) == canon("08 46 2E FF FF 00 00 00 00"));
    // 9999-12-31 23:59:59.997: day 2958463, 25919999 three-hundredths.
    CHECK(val_hex(tds::datetime_type(), at(9999, 12, 31, 23, 59, 59, 9'970'000)) ==
          canon("08 7F 24 2D 00 FF 81 8B 01"));
    // smalldatetime 2000-01-01 12:30: day 36524, minute 750.
    CHECK(val_hex(smalldatetime, at(2000, 1, 1, 12, 30)) == canon("04 AC 8E EE 02"));
    CHECK(val_hex(tds::datetime_type(), std::monostate{}) == canon("00"));
}

TEST_CASE("DATEN: no TYPE_INFO length, 3-byte days since 0001-01-01", "[tds][type_info][spec]") {
    CHECK(ti_hex(date_type()) == canon("28"));
    CHECK(val_hex(date_type(), at(1, 1, 1)) == canon("03 00 00 00"));
    CHECK(val_hex(date_type(), at(2000, 1, 1)) == canon("03 07 24 0B"));
    CHECK(val_hex(date_type(), at(9999, 12, 31)) == canon("03 DA B9 37"));
    CHECK(val_hex(date_type(), std::monostate{}) == canon("00"));
}

TEST_CASE("TIMEN, DATETIME2N, DATETIMEOFFSETN at scales 0, 3 and 7", "[tds][type_info][spec]") {
    // 12:34:56 = 45296 s. time(0) 3 bytes, time(3) 4 bytes, time(7) 5 bytes (2.2.5.5.1.8).
    const auto t0 = at(2000, 1, 1, 12, 34, 56);
    const auto t3 = at(2000, 1, 1, 12, 34, 56, 1'230'000);
    const auto t7 = at(2000, 1, 1, 12, 34, 56, 1'234'567);
    SECTION("time") {
        CHECK(ti_hex(time_type(0)) == canon("29 00"));
        CHECK(ti_hex(time_type(3)) == canon("29 03"));
        CHECK(ti_hex(time_type(7)) == canon("29 07"));
        CHECK(val_hex(time_type(0), t0) == canon("03 F0 B0 00"));
        CHECK(val_hex(time_type(3), t3) == canon("04 FB 29 B3 02"));
        CHECK(val_hex(time_type(7), t7) == canon("05 87 EE 97 76 69"));
        CHECK(val_hex(time_type(7), std::monostate{}) == canon("00"));
    }
    SECTION("datetime2: time then date") {
        CHECK(ti_hex(tds::datetime2_type(0)) == canon("2A 00"));
        CHECK(ti_hex(tds::datetime2_type(3)) == canon("2A 03"));
        CHECK(ti_hex(tds::datetime2_type(7)) == canon("2A 07"));
        CHECK(val_hex(tds::datetime2_type(0), t0) == canon("06 F0 B0 00 07 24 0B"));
        CHECK(val_hex(tds::datetime2_type(3), t3) == canon("07 FB 29 B3 02 07 24 0B"));
        CHECK(val_hex(tds::datetime2_type(7), t7) == canon("08 87 EE 97 76 69 07 24 0B"));
        CHECK(val_hex(tds::datetime2_type(7), std::monostate{}) == canon("00"));
    }
    SECTION("datetimeoffset: datetime2 then a signed 2-byte offset in minutes") {
        CHECK(ti_hex(tds::datetimeoffset_type(0)) == canon("2B 00"));
        CHECK(ti_hex(tds::datetimeoffset_type(3)) == canon("2B 03"));
        CHECK(ti_hex(tds::datetimeoffset_type(7)) == canon("2B 07"));
        CHECK(val_hex(tds::datetimeoffset_type(0), t0) == canon("08 F0 B0 00 07 24 0B 00 00"));
        CHECK(val_hex(tds::datetimeoffset_type(3), t3) == canon("09 FB 29 B3 02 07 24 0B 00 00"));
        CHECK(val_hex(tds::datetimeoffset_type(7), t7) ==
              canon("0A 87 EE 97 76 69 07 24 0B 00 00"));
        CHECK(val_hex(tds::datetimeoffset_type(7), std::monostate{}) == canon("00"));
    }
    SECTION("datetimeoffset with an offset: the datetime2 part is UTC") {
        // The spec says only "minutes from UTC"; SQL Server and SqlClient put UTC in the
        // datetime2 part. 12:34:56 at +01:00 is 11:34:56 UTC = 41696 s = 0xA2E0.
        CHECK(val_hex(tds::datetimeoffset_type(0), at(2000, 1, 1, 12, 34, 56, 0, 60)) ==
              canon("08 E0 A2 00 07 24 0B 3C 00"));
        // 22:00 at -05:00 is 03:00 UTC the next day (day 730120); -300 = 0xFED4.
        CHECK(val_hex(tds::datetimeoffset_type(0), at(2000, 1, 1, 22, 0, 0, 0, -300)) ==
              canon("08 30 2A 00 08 24 0B D4 FE"));
    }
}

TEST_CASE("BIGVARCHAR: USHORT max length, collation, code page 1252 data",
          "[tds][type_info][spec]") {
    SECTION("MS-TDS 4.7's varchar(3) column and its row value 'foo'") {
        CHECK(ti_hex(tds::varchar_type(3)) == canon("A7 03 00 09 04 D0 00 34"));
        CHECK(val_hex(tds::varchar_type(3), std::string("foo")) == canon("03 00 66 6F 6F"));
    }
    CHECK(ti_hex(tds::varchar_type(10)) == canon(std::string("A7 0A 00") + kColl));
    CHECK(val_hex(tds::varchar_type(10), std::string("café€")) == canon("05 00 63 61 66 E9 80"));
    CHECK(val_hex(tds::varchar_type(10), std::string()) == canon("00 00"));
    CHECK(val_hex(tds::varchar_type(10), std::monostate{}) == canon("FF FF"));
    SECTION("the column's own collation is written") {
        auto t = tds::varchar_type(10);
        t.collation = {0x09, 0x04, 0x00, 0x01, 0x1E};
        CHECK(ti_hex(t) == canon("A7 0A 00 09 04 00 01 1E"));
    }
    SECTION("no collation at 7.0") {
        CHECK(ti_hex(tds::varchar_type(10), Level::V70) == canon("A7 0A 00"));
        CHECK(ti_hex(tds::varchar_type(10), Level::V71) == canon(std::string("A7 0A 00") + kColl));
    }
}

TEST_CASE("BIGCHAR, NCHAR, BIGBINARY: fixed lengths padded with blanks or zeros",
          "[tds][type_info][spec]") {
    // 2.2.5.4.3: "adds blanks to the end of a char and adds binary zeros to the end of a binary".
    CHECK(ti_hex(of(tds::SqlType::Char, 3)) == canon(std::string("AF 03 00") + kColl));
    CHECK(val_hex(of(tds::SqlType::Char, 3), std::string("a")) == canon("03 00 61 20 20"));
    CHECK(ti_hex(tds::nchar_type(3)) == canon(std::string("EF 06 00") + kColl));
    CHECK(val_hex(tds::nchar_type(3), std::string("a")) == canon("06 00 61 00 20 00 20 00"));
    CHECK(ti_hex(tds::binary_type(3)) == canon("AD 03 00"));
    CHECK(val_hex(tds::binary_type(3), tds::Bytes{0x01}) == canon("03 00 01 00 00"));
    CHECK(val_hex(tds::binary_type(3), std::monostate{}) == canon("FF FF"));
}

TEST_CASE("NVARCHAR: USHORT max length in bytes, collation, UTF-16LE", "[tds][type_info][spec]") {
    CHECK(ti_hex(tds::nvarchar_type(10)) == canon(std::string("E7 14 00") + kColl));
    CHECK(ti_hex(tds::nvarchar_type(4000)) == canon(std::string("E7 40 1F") + kColl));
    CHECK(val_hex(tds::nvarchar_type(10), std::string("hé")) == canon("04 00 68 00 E9 00"));
    CHECK(val_hex(tds::nvarchar_type(10), std::string()) == canon("00 00"));
    CHECK(val_hex(tds::nvarchar_type(10), std::monostate{}) == canon("FF FF"));
    SECTION("no collation at 7.0") {
        CHECK(ti_hex(tds::nvarchar_type(10), Level::V70) == canon("E7 14 00"));
    }
}

TEST_CASE("BIGVARBINARY: USHORT max length, no collation", "[tds][type_info][spec]") {
    CHECK(ti_hex(tds::varbinary_type(4)) == canon("A5 04 00"));
    CHECK(ti_hex(tds::varbinary_type(4), Level::V70) == canon("A5 04 00"));
    CHECK(val_hex(tds::varbinary_type(4), tds::Bytes{0x01, 0x02}) == canon("02 00 01 02"));
    CHECK(val_hex(tds::varbinary_type(4), tds::Bytes{}) == canon("00 00"));
    CHECK(val_hex(tds::varbinary_type(4), std::monostate{}) == canon("FF FF"));
}

TEST_CASE("MAX types are PLP: USHORTMAXLEN, then ULONGLONGLEN, chunks, terminator",
          "[tds][type_info][spec]") {
    const auto nmax = tds::nvarchar_type(5000);
    CHECK(ti_hex(nmax) == canon(std::string("E7 FF FF") + kColl));
    CHECK(ti_hex(tds::varchar_type(9000)) == canon(std::string("A7 FF FF") + kColl));
    CHECK(ti_hex(tds::varbinary_type(9000)) == canon("A5 FF FF"));
    CHECK(val_hex(nmax, std::string("hé")) ==
          canon("04 00 00 00 00 00 00 00  04 00 00 00 68 00 E9 00  00 00 00 00"));
    // An empty value: length 0, no chunk, the terminator.
    CHECK(val_hex(nmax, std::string()) == canon("00 00 00 00 00 00 00 00  00 00 00 00"));
    CHECK(val_hex(nmax, std::monostate{}) == canon("FF FF FF FF FF FF FF FF"));
    CHECK(val_hex(tds::varbinary_type(9000), tds::Bytes{1, 2, 3}) ==
          canon("03 00 00 00 00 00 00 00  03 00 00 00 01 02 03  00 00 00 00"));
    SECTION("XML: XML_INFO without schema, UTF-16 PLP value") {
        const auto xml = of(tds::SqlType::Xml, tds::kMaxLength);
        CHECK(ti_hex(xml) == canon("F1 00"));
        CHECK(val_hex(xml, std::string("<a/>")) ==
              canon("08 00 00 00 00 00 00 00  08 00 00 00 3C 00 61 00 2F 00 3E 00  00 00 00 00"));
        CHECK(val_hex(xml, std::monostate{}) == canon("FF FF FF FF FF FF FF FF"));
    }
}

TEST_CASE("NTEXT, TEXT and IMAGE for a pre-7.2 client", "[tds][type_info][spec]") {
    const auto ntext = tds::wire_type(tds::nvarchar_type(5000), Level::V71);
    const auto text = tds::wire_type(tds::varchar_type(9000), Level::V71);
    const auto image = tds::wire_type(tds::varbinary_type(9000), Level::V71);
    SECTION("TYPE_INFO: LONGLEN max length, collation for text and ntext") {
        CHECK(ti_hex(ntext, Level::V71) == canon(std::string("63 FE FF FF 7F") + kColl));
        CHECK(ti_hex(text, Level::V71) == canon(std::string("23 FF FF FF 7F") + kColl));
        CHECK(ti_hex(image, Level::V71) == canon("22 FF FF FF 7F"));
        CHECK(ti_hex(ntext, Level::V70) == canon("63 FE FF FF 7F"));
    }
    SECTION("in COLMETADATA the TableName follows: a US_VARCHAR before 7.2 (2.2.7.4)") {
        CHECK(ti_hex(ntext, Level::V71, true) ==
              canon(std::string("63 FE FF FF 7F") + kColl + "00 00"));
        CHECK(ti_hex(image, Level::V70, true) == canon("22 FF FF FF 7F 00 00"));
    }
    SECTION("ROW value: TextPointer (B_VARBYTE), 8-byte Timestamp, LONGLEN data (2.2.7.19)") {
        const Bytes b = value_of(ntext, std::string("hé"), Level::V71);
        REQUIRE(b.size() == 1 + 16 + 8 + 4 + 4);
        CHECK(b[0] == 0x10); // a 16-byte text pointer
        CHECK(to_hex(Bytes(b.begin() + 25, b.end())) == canon("04 00 00 00 68 00 E9 00"));
        const Bytes t = value_of(text, std::string("café€"), Level::V71);
        REQUIRE(t.size() == 1 + 16 + 8 + 4 + 5);
        CHECK(to_hex(Bytes(t.begin() + 25, t.end())) == canon("05 00 00 00 63 61 66 E9 80"));
    }
    SECTION("a NULL is a zero-length text pointer and nothing else") {
        CHECK(val_hex(ntext, std::monostate{}, Level::V71) == canon("00"));
        CHECK(val_hex(image, std::monostate{}, Level::V71) == canon("00"));
    }
}

TEST_CASE("GUID: 24 10, 16 bytes as they are", "[tds][type_info][spec]") {
    CHECK(ti_hex(guid_type()) == canon("24 10"));
    CHECK(val_hex(guid_type(), guid_0_to_15()) ==
          canon("10 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"));
    CHECK(val_hex(guid_type(), std::monostate{}) == canon("00"));
}

TEST_CASE("SSVARIANT: LONGLEN max length 8009, instances of base type, props, data",
          "[tds][type_info][spec]") {
    const auto v = tds::variant_type();
    SECTION("TYPE_INFO: 2.2.5.4.3 'MaxLength for an SSVARIANTTYPE is 8009'") {
        CHECK(ti_hex(v) == canon("62 49 1F 00 00"));
    }
    SECTION("int: INT4TYPE, no property bytes") {
        CHECK(val_hex(v, std::int64_t{5}) == canon("06 00 00 00  38 00  05 00 00 00"));
    }
    SECTION("bigint, bit, float") {
        CHECK(val_hex(v, std::int64_t{1} << 40) ==
              canon("0A 00 00 00  7F 00  00 00 00 00 00 01 00 00"));
        CHECK(val_hex(v, true) == canon("03 00 00 00  32 00  01"));
        CHECK(val_hex(v, 1.5) == canon("0A 00 00 00  3E 00  00 00 00 00 00 00 F8 3F"));
    }
    SECTION("nvarchar: 7 property bytes, collation then max length") {
        // The max length is the writer's choice (nvarchar(128) = 256 bytes); the layout is
        // the spec's.
        CHECK(val_hex(v, std::string("hi")) ==
              canon("0D 00 00 00  E7 07  09 04 D0 00 34  00 01  68 00 69 00"));
    }
    SECTION("numeric: 2 property bytes, precision and scale, then sign and magnitude") {
        CHECK(val_hex(v, tds::Decimal{"12345", 2, false}) ==
              canon("09 00 00 00  6C 02 05 02  01 39 30 00 00"));
        CHECK(val_hex(v, tds::Decimal{"12345", 2, true}) ==
              canon("09 00 00 00  6C 02 05 02  00 39 30 00 00"));
    }
    SECTION("datetime: DATETIMETYPE, no property bytes") {
        CHECK(val_hex(v, at(1900, 1, 2, 12)) ==
              canon("0A 00 00 00  3D 00  01 00 00 00 00 C1 C5 00"));
    }
    SECTION("varbinary: 2 property bytes, the max length") {
        CHECK(val_hex(v, tds::Bytes{1, 2}) == canon("06 00 00 00  A5 02 02 00  01 02"));
    }
    SECTION("uniqueidentifier") {
        CHECK(val_hex(v, guid_0_to_15()) ==
              canon("12 00 00 00  24 00  00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"));
    }
    SECTION("NULL: a zero length") {
        CHECK(val_hex(v, std::monostate{}) == canon("00 00 00 00"));
    }
    SECTION("an instance is at most 8009 bytes, and its data within its declared max length") {
        // 2.2.5.4.3: "MaxLength for an SSVARIANTTYPE is 8009 (string of 8000 bytes)": base type,
        // property count, 7 property bytes and 8000 bytes of data.
        for (const tds::Value& big :
             {tds::Value{std::string(5000, 'x')}, tds::Value{tds::Bytes(9000, 0xAB)}}) {
            const Bytes b = value_of(v, big);
            REQUIRE(b.size() >= 4);
            const std::uint32_t len = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
            CAPTURE(len);
            CHECK(len == b.size() - 4);
            CHECK(len <= 8009);
            REQUIRE(b.size() >= 6);
            const std::size_t props = b[5];
            REQUIRE(b.size() >= 6 + props);
            // The max length is the last two property bytes for both nvarchar and varbinary.
            const std::size_t max = b[6 + props - 2] | (b[6 + props - 1] << 8);
            CHECK(b.size() - 6 - props <= max);
        }
    }
}

TEST_CASE("NOT NULL columns use the fixed-length types: no length anywhere",
          "[tds][type_info][spec]") {
    // 2.2.5.4.2: "Non-nullable values are returned using these fixed-length data types";
    // 2.2.5.2.3: "For fixed-length types, the TYPE_VARLEN rule is not present". MS-TDS 4.12
    // declares a BITTYPE column as the one byte 32 and sends its value as the one byte 00.
    struct Case {
        const char* name;
        tds::TypeInfo type;
        tds::Value value;
        const char* type_info;
        const char* data;
    };
    auto nn = [](tds::TypeInfo t) {
        t.nullable = false;
        return t;
    };
    const Case cases[] = {
        {"bit", nn(tds::bit_type()), false, "32", "00"},
        {"tinyint", nn(tds::tinyint_type()), std::int64_t{255}, "30", "FF"},
        {"smallint", nn(tds::smallint_type()), std::int64_t{-2}, "34", "FE FF"},
        {"int", nn(tds::int_type()), std::int64_t{42}, "38", "2A 00 00 00"},
        {"bigint", nn(tds::bigint_type()), std::int64_t{-1}, "7F", "FF FF FF FF FF FF FF FF"},
        {"real", nn(of(tds::SqlType::Real)), 1.5, "3B", "00 00 C0 3F"},
        {"float", nn(tds::float_type()), 1.5, "3E", "00 00 00 00 00 00 F8 3F"},
        {"smallmoney", nn(of(tds::SqlType::SmallMoney)), std::int64_t{-1}, "7A", "F0 D8 FF FF"},
        {"money", nn(of(tds::SqlType::Money)), std::int64_t{-1}, "3C", "FF FF FF FF F0 D8 FF FF"},
        {"smalldatetime", nn(of(tds::SqlType::SmallDateTime)), at(2000, 1, 1, 12, 30), "3A",
         "AC 8E EE 02"},
        {"datetime", nn(tds::datetime_type()), at(1900, 1, 2, 12), "3D", "01 00 00 00 00 C1 C5 00"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(ti_hex(c.type) == canon(c.type_info));
        CHECK(val_hex(c.type, c.value) == canon(c.data));
        auto got = read_all(concat({type_info_of(c.type, Level::V74), value_of(c.type, c.value)}),
                            Level::V74);
        CHECK(got.type.type == c.type.type);
    }
    SECTION("types without a fixed-length form keep their nullable token") {
        CHECK(ti_hex(nn(tds::decimal_type(5, 2))) == canon("6A 05 05 02"));
        CHECK(ti_hex(tds::sysname_type()) == canon(std::string("E7 00 01") + kColl));
        CHECK(ti_hex(nn(guid_type())) == canon("24 10"));
        CHECK(ti_hex(nn(date_type())) == canon("28"));
    }
}

TEST_CASE("write_user_type: USHORT before 7.2, ULONG from 7.2 (2.2.7.4)",
          "[tds][type_info][spec]") {
    for (Level l : kAllLevels) {
        CAPTURE(l);
        tds::ByteWriter w;
        tds::write_user_type(w, 0x50, l); // timestamp's user type
        CHECK(to_hex(w.data()) == (tds::is_72_plus(l) ? canon("50 00 00 00") : canon("50 00")));
    }
}

// --- down-level substitutions ---------------------------------------------------------------

TEST_CASE("wire_type: date and time types become nvarchar before 7.3", "[tds][type_info]") {
    struct Case {
        const char* name;
        tds::TypeInfo declared;
        std::uint32_t nvarchar_bytes; // the length of the string form, in UTF-16 bytes
    };
    const Case cases[] = {
        {"date", date_type(), 2 * 10},                              // yyyy-mm-dd
        {"time(0)", time_type(0), 2 * 8},                           // hh:mm:ss
        {"time(7)", time_type(7), 2 * 16},                          // hh:mm:ss.nnnnnnn
        {"datetime2(0)", tds::datetime2_type(0), 2 * 19},           // yyyy-mm-dd hh:mm:ss
        {"datetime2(3)", tds::datetime2_type(3), 2 * 23},           // ... .nnn
        {"datetime2(7)", tds::datetime2_type(7), 2 * 27},           // ... .nnnnnnn
        {"datetimeoffset(0)", tds::datetimeoffset_type(0), 2 * 26}, // ... +hh:mm
        {"datetimeoffset(7)", tds::datetimeoffset_type(7), 2 * 34},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        for (Level l : {Level::V70, Level::V71, Level::V72}) {
            CAPTURE(l);
            auto w = tds::wire_type(c.declared, l);
            CHECK(w.type == tds::SqlType::NVarChar);
            CHECK(w.length == c.nvarchar_bytes);
            CHECK(w.nullable);
        }
        for (Level l : {Level::V73A, Level::V73B, Level::V74, Level::V80}) {
            CAPTURE(l);
            CHECK(tds::wire_type(c.declared, l) == c.declared);
        }
    }
    SECTION("NOT NULL stays NOT NULL") {
        auto d = date_type();
        d.nullable = false;
        CHECK_FALSE(tds::wire_type(d, Level::V72).nullable);
    }
}

TEST_CASE("wire_type: MAX types become text/ntext/image and sql_variant nvarchar before 7.2",
          "[tds][type_info]") {
    for (Level l : {Level::V70, Level::V71}) {
        CAPTURE(l);
        auto t = tds::wire_type(tds::varchar_type(9000), l);
        CHECK(t.type == tds::SqlType::Text);
        CHECK(t.length == 0x7FFFFFFF);
        auto n = tds::wire_type(tds::nvarchar_type(5000), l);
        CHECK(n.type == tds::SqlType::NText);
        CHECK(n.length == 0x7FFFFFFE);
        auto i = tds::wire_type(tds::varbinary_type(9000), l);
        CHECK(i.type == tds::SqlType::Image);
        CHECK(i.length == 0x7FFFFFFF);
        auto x = tds::wire_type(of(tds::SqlType::Xml, tds::kMaxLength), l);
        CHECK(x.type == tds::SqlType::NText);
        auto v = tds::wire_type(tds::variant_type(), l);
        CHECK(v.type == tds::SqlType::NVarChar);
        CHECK(v.length == 8000);
        // Types 7.0/7.1 know pass through.
        CHECK(tds::wire_type(tds::nvarchar_type(10), l) == tds::nvarchar_type(10));
        CHECK(tds::wire_type(tds::varchar_type(8000), l) == tds::varchar_type(8000));
        CHECK(tds::wire_type(tds::int_type(), l) == tds::int_type());
        CHECK(tds::wire_type(tds::decimal_type(10, 2), l) == tds::decimal_type(10, 2));
    }
    for (Level l : {Level::V72, Level::V73A, Level::V73B, Level::V74, Level::V80}) {
        CAPTURE(l);
        CHECK(tds::wire_type(tds::nvarchar_type(5000), l) == tds::nvarchar_type(5000));
        CHECK(tds::wire_type(tds::varchar_type(9000), l) == tds::varchar_type(9000));
        CHECK(tds::wire_type(tds::varbinary_type(9000), l) == tds::varbinary_type(9000));
        CHECK(tds::wire_type(tds::variant_type(), l) == tds::variant_type());
    }
}

TEST_CASE("wire_type: bigint becomes numeric(19,0) for 7.0 only", "[tds][type_info]") {
    auto t = tds::wire_type(tds::bigint_type(), Level::V70);
    CHECK(t.type == tds::SqlType::Numeric);
    CHECK(int{t.precision} == 19);
    CHECK(int{t.scale} == 0);
    CHECK(ti_hex(t, Level::V70) == canon("6C 09 13 00"));
    for (Level l : {Level::V71, Level::V72, Level::V74}) {
        CAPTURE(l);
        CHECK(tds::wire_type(tds::bigint_type(), l) == tds::bigint_type());
    }
    auto nn = tds::bigint_type();
    nn.nullable = false;
    CHECK_FALSE(tds::wire_type(nn, Level::V70).nullable);
}

TEST_CASE("wire_value converts values to the substituted type", "[tds][type_info]") {
    const auto d = date_type();
    CHECK(show(tds::wire_value(at(2000, 1, 1), d, tds::wire_type(d, Level::V72))) ==
          "str:2000-01-01");
    const auto dt2 = tds::datetime2_type(3);
    CHECK(show(tds::wire_value(at(2000, 1, 1, 12, 34, 56, 1'230'000), dt2,
                               tds::wire_type(dt2, Level::V71))) == "str:2000-01-01 12:34:56.123");
    const auto big = tds::bigint_type();
    CHECK(show(tds::wire_value(std::int64_t{-5}, big, tds::wire_type(big, Level::V70))) ==
          "dec:-5/0");
    CHECK(show(tds::wire_value(std::int64_t{5}, tds::variant_type(),
                               tds::wire_type(tds::variant_type(), Level::V71))) == "str:5");
    CHECK(show(tds::wire_value(std::monostate{}, d, tds::wire_type(d, Level::V72))) == "null");
    CHECK(show(tds::wire_value(std::int64_t{7}, tds::int_type(), tds::int_type())) == "int:7");
    SECTION("a date column to a 7.2 client, byte for byte") {
        const auto w = tds::wire_type(d, Level::V72);
        CHECK(ti_hex(w, Level::V72) == canon(std::string("E7 14 00") + kColl));
        CHECK(val_hex(w, tds::wire_value(at(2000, 1, 1), d, w), Level::V72) ==
              canon("14 00 32 00 30 00 30 00 30 00 2D 00 30 00 31 00 2D 00 30 00 31 00"));
    }
}

// --- reading: RPC parameter form (TYPE_INFO then TYPE_VARBYTE) -------------------------------

TEST_CASE("read_typed_value reads back what the writer writes, type by type",
          "[tds][type_info][round_trip]") {
    struct Case {
        const char* name;
        tds::TypeInfo type;
        tds::Value value;
        std::string expect;
        Level level = Level::V74;
    };
    const tds::Guid g = guid_0_to_15();
    const Case cases[] = {
        {"bit", tds::bit_type(), true, "bool:1"},
        {"tinyint", tds::tinyint_type(), std::int64_t{255}, "int:255"},
        {"smallint", tds::smallint_type(), std::int64_t{-2}, "int:-2"},
        {"int", tds::int_type(), std::int64_t{-123456}, "int:-123456"},
        {"bigint", tds::bigint_type(), std::numeric_limits<std::int64_t>::min(),
         "int:-9223372036854775808"},
        {"decimal(5,2)", tds::decimal_type(5, 2), tds::Decimal{"12345", 2, false}, "dec:12345/2"},
        {"decimal(5,2) negative", tds::decimal_type(5, 2), tds::Decimal{"150", 2, true},
         "dec:-150/2"},
        {"numeric(19,0)", tds::numeric_type(19, 0), tds::Decimal{"9223372036854775807", 0, false},
         "dec:9223372036854775807/0"},
        {"numeric(28,4)", tds::numeric_type(28, 4), tds::Decimal{"1", 0, false}, "dec:10000/4"},
        {"numeric(38,0)", tds::numeric_type(38, 0),
         tds::Decimal{"99999999999999999999999999999999999999", 0, false},
         "dec:99999999999999999999999999999999999999/0"},
        {"real", of(tds::SqlType::Real), 1.5, "double:1.5"},
        {"float", tds::float_type(), -0.25, "double:-0.25"},
        {"smallmoney", of(tds::SqlType::SmallMoney), std::int64_t{-1}, "dec:-10000/4"},
        {"money", of(tds::SqlType::Money), tds::Decimal{"4294967296", 4, false},
         "dec:4294967296/4"},
        {"money negative", of(tds::SqlType::Money), tds::Decimal{"123456", 4, true},
         "dec:-123456/4"},
        {"smalldatetime", of(tds::SqlType::SmallDateTime), at(2000, 1, 1, 12, 30),
         "dt:730119/450000000000/0"},
        {"datetime", tds::datetime_type(), at(1900, 1, 2, 12), "dt:693596/432000000000/0"},
        {"datetime 1753", tds::datetime_type(), at(1753, 1, 1), "dt:639905/0/0"},
        {"date", date_type(), at(9999, 12, 31), "dt:3652058/0/0", Level::V73A},
        {"time(0)", time_type(0), at(1, 1, 1, 12, 34, 56), "dt:0/452960000000/0", Level::V73A},
        {"time(3)", time_type(3), at(1, 1, 1, 12, 34, 56, 1'230'000), "dt:0/452961230000/0"},
        {"time(7)", time_type(7), at(1, 1, 1, 12, 34, 56, 1'234'567), "dt:0/452961234567/0"},
        {"datetime2(7)", tds::datetime2_type(7), at(2000, 1, 1, 12, 34, 56, 1'234'567),
         "dt:730119/452961234567/0", Level::V73B},
        {"datetimeoffset(0) -05:00", tds::datetimeoffset_type(0), at(2000, 1, 1, 22, 0, 0, 0, -300),
         "dt:730119/792000000000/-300", Level::V80},
        {"datetimeoffset(3) +14:00", tds::datetimeoffset_type(3), at(2000, 1, 1, 1, 0, 0, 0, 840),
         "dt:730119/36000000000/840"},
        {"varchar(10)", tds::varchar_type(10), std::string("café€"), "str:café€"},
        {"varchar(10) at 7.0", tds::varchar_type(10), std::string("abc"), "str:abc", Level::V70},
        {"char(3)", of(tds::SqlType::Char, 3), std::string("a"), "str:a  "},
        {"nvarchar(10)", tds::nvarchar_type(10), std::string("hé"), "str:hé"},
        {"nvarchar(10) at 7.1", tds::nvarchar_type(10), std::string("hé"), "str:hé", Level::V71},
        {"nvarchar(10) at 7.0", tds::nvarchar_type(10), std::string("hé"), "str:hé", Level::V70},
        {"nvarchar(10) empty", tds::nvarchar_type(10), std::string(), "str:"},
        {"nchar(3)", tds::nchar_type(3), std::string("a"), "str:a  "},
        {"varbinary(4)", tds::varbinary_type(4), tds::Bytes{1, 2}, "bytes:0102"},
        {"binary(3)", tds::binary_type(3), tds::Bytes{1}, "bytes:010000"},
        {"nvarchar(max)", tds::nvarchar_type(5000), std::string("hé"), "str:hé"},
        {"nvarchar(max) empty", tds::nvarchar_type(5000), std::string(), "str:"},
        {"varchar(max)", tds::varchar_type(9000), std::string("café"), "str:café", Level::V72},
        {"varbinary(max)", tds::varbinary_type(9000), tds::Bytes{1, 2, 3}, "bytes:010203"},
        {"xml", of(tds::SqlType::Xml, tds::kMaxLength), std::string("<a/>"), "str:<a/>"},
        {"uniqueidentifier", guid_type(), g, "guid:000102030405060708090a0b0c0d0e0f"},
        {"sql_variant int", tds::variant_type(), std::int64_t{5}, "int:5"},
        {"sql_variant bigint", tds::variant_type(), std::int64_t{1} << 40, "int:1099511627776"},
        {"sql_variant bit", tds::variant_type(), true, "bool:1"},
        {"sql_variant float", tds::variant_type(), 1.5, "double:1.5"},
        {"sql_variant nvarchar", tds::variant_type(), std::string("hé"), "str:hé"},
        {"sql_variant numeric", tds::variant_type(), tds::Decimal{"12345", 2, true},
         "dec:-12345/2"},
        {"sql_variant datetime", tds::variant_type(), at(1900, 1, 2, 12),
         "dt:693596/432000000000/0"},
        {"sql_variant varbinary", tds::variant_type(), tds::Bytes{1, 2}, "bytes:0102"},
        {"sql_variant guid", tds::variant_type(), g, "guid:000102030405060708090a0b0c0d0e0f"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name, c.level);
        const Bytes b = concat({type_info_of(c.type, c.level), value_of(c.type, c.value, c.level)});
        auto got = read_all(b, c.level);
        CHECK(got.type.type == c.type.type);
        CHECK(show(got.value) == c.expect);
        switch (c.type.type) {
        case tds::SqlType::Char:
        case tds::SqlType::VarChar:
        case tds::SqlType::NChar:
        case tds::SqlType::NVarChar:
        case tds::SqlType::Binary:
        case tds::SqlType::VarBinary:
            CHECK(got.type.length == c.type.length);
            CHECK(got.type.collation == c.type.collation);
            break;
        case tds::SqlType::Decimal:
        case tds::SqlType::Numeric:
            CHECK(int{got.type.precision} == int{c.type.precision});
            CHECK(int{got.type.scale} == int{c.type.scale});
            break;
        case tds::SqlType::Time:
        case tds::SqlType::DateTime2:
        case tds::SqlType::DateTimeOffset:
            CHECK(int{got.type.scale} == int{c.type.scale});
            break;
        case tds::SqlType::Bit:
        case tds::SqlType::TinyInt:
        case tds::SqlType::SmallInt:
        case tds::SqlType::Int:
        case tds::SqlType::BigInt:
        case tds::SqlType::Real:
        case tds::SqlType::Float:
        case tds::SqlType::SmallMoney:
        case tds::SqlType::Money:
        case tds::SqlType::SmallDateTime:
        case tds::SqlType::DateTime:
        case tds::SqlType::Date:
        case tds::SqlType::Text:
        case tds::SqlType::NText:
        case tds::SqlType::Image:
        case tds::SqlType::UniqueIdentifier:
        case tds::SqlType::Variant:
        case tds::SqlType::Xml:
            break;
        }
    }
}

TEST_CASE("read_typed_value reads NULLs of each kind", "[tds][type_info][spec]") {
    struct Case {
        const char* name;
        std::string wire;
        tds::SqlType type;
        Level level = Level::V74;
    };
    const std::string coll = kColl;
    const Case cases[] = {
        {"NULLTYPE", "1F", tds::SqlType::Int},
        {"INTN GEN_NULL", "26 04 00", tds::SqlType::Int},
        {"INTN(8) GEN_NULL", "26 08 00", tds::SqlType::BigInt},
        {"BITN", "68 01 00", tds::SqlType::Bit},
        {"FLTN", "6D 08 00", tds::SqlType::Float},
        {"MONEYN", "6E 04 00", tds::SqlType::SmallMoney},
        {"DATETIMN", "6F 08 00", tds::SqlType::DateTime},
        {"GUID", "24 10 00", tds::SqlType::UniqueIdentifier},
        {"DECIMALN", "6A 05 05 02 00", tds::SqlType::Decimal},
        {"NUMERICN", "6C 11 26 00 00", tds::SqlType::Numeric},
        {"DATEN", "28 00", tds::SqlType::Date},
        {"TIMEN", "29 07 00", tds::SqlType::Time},
        {"DATETIME2N", "2A 03 00", tds::SqlType::DateTime2},
        {"DATETIMEOFFSETN", "2B 00 00", tds::SqlType::DateTimeOffset},
        {"BIGVARCHAR CHARBIN_NULL", "A7 0A 00" + coll + "FF FF", tds::SqlType::VarChar},
        {"NVARCHAR CHARBIN_NULL", "E7 14 00" + coll + "FF FF", tds::SqlType::NVarChar},
        {"NCHAR", "EF 14 00" + coll + "FF FF", tds::SqlType::NChar},
        {"BIGVARBINARY", "A5 04 00 FF FF", tds::SqlType::VarBinary},
        {"BIGBINARY", "AD 04 00 FF FF", tds::SqlType::Binary},
        {"PLP_NULL", "E7 FF FF" + coll + "FF FF FF FF FF FF FF FF", tds::SqlType::NVarChar},
        {"XML PLP_NULL", "F1 00 FF FF FF FF FF FF FF FF", tds::SqlType::Xml},
        {"TEXT 4-byte CHARBIN_NULL", "23 FF FF FF 7F" + coll + "FF FF FF FF", tds::SqlType::Text},
        {"NTEXT at 7.1", "63 FE FF FF 7F" + coll + "FF FF FF FF", tds::SqlType::NText, Level::V71},
        {"IMAGE at 7.0", "22 FF FF FF 7F FF FF FF FF", tds::SqlType::Image, Level::V70},
        {"SSVARIANT", "62 49 1F 00 00 00 00 00 00", tds::SqlType::Variant},
        {"legacy VARCHAR", "27 0A 00", tds::SqlType::VarChar},
        {"legacy BINARY", "2D 04 00", tds::SqlType::Binary},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        auto got = read_all(hex(c.wire), c.level);
        CHECK(got.type.type == c.type);
        CHECK(show(got.value) == "null");
    }
}

TEST_CASE("read_typed_value reads the fixed-length types: no length, the type says it",
          "[tds][type_info][spec]") {
    // 2.2.5.2.3: "For fixed-length types, the TYPE_VARLEN rule is not present". MS-TDS 4.12's
    // bulk load sends a BITTYPE column's value as the single byte 00.
    struct Case {
        const char* wire;
        tds::SqlType type;
        const char* expect;
    };
    const Case cases[] = {
        {"32 00", tds::SqlType::Bit, "bool:0"},
        {"32 01", tds::SqlType::Bit, "bool:1"},
        {"30 FF", tds::SqlType::TinyInt, "int:255"},
        {"34 FE FF", tds::SqlType::SmallInt, "int:-2"},
        {"38 2A 00 00 00", tds::SqlType::Int, "int:42"},
        {"38 FF FF FF FF", tds::SqlType::Int, "int:-1"},
        {"7F 00 00 00 00 00 00 00 80", tds::SqlType::BigInt, "int:-9223372036854775808"},
        {"3B 00 00 C0 3F", tds::SqlType::Real, "double:1.5"},
        {"3E 00 00 00 00 00 00 D0 BF", tds::SqlType::Float, "double:-0.25"},
        {"3C 00 00 00 00 40 E2 01 00", tds::SqlType::Money, "dec:123456/4"},
        {"3C FF FF FF FF F0 D8 FF FF", tds::SqlType::Money, "dec:-10000/4"},
        {"7A F0 D8 FF FF", tds::SqlType::SmallMoney, "dec:-10000/4"},
        {"3D 01 00 00 00 00 C1 C5 00", tds::SqlType::DateTime, "dt:693596/432000000000/0"},
        {"3D 46 2E FF FF 00 00 00 00", tds::SqlType::DateTime, "dt:639905/0/0"},
        {"3A AC 8E EE 02", tds::SqlType::SmallDateTime, "dt:730119/450000000000/0"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.wire);
        auto got = read_all(hex(c.wire), Level::V74);
        CHECK(got.type.type == c.type);
        CHECK(show(got.value) == c.expect);
    }
}

TEST_CASE("read_typed_value reads the legacy BYTELEN types", "[tds][type_info][spec]") {
    SECTION("CHARTYPE, VARCHARTYPE: no collation, BYTELEN data") {
        auto c = read_all(hex("2F 0A 03 61 62 63"), Level::V74);
        CHECK(c.type.type == tds::SqlType::Char);
        CHECK(c.type.length == 10);
        CHECK(show(c.value) == "str:abc");
        auto v = read_all(hex("27 14 04 63 61 66 E9"), Level::V70);
        CHECK(v.type.type == tds::SqlType::VarChar);
        CHECK(show(v.value) == "str:café");
    }
    SECTION("BINARYTYPE, VARBINARYTYPE") {
        auto b = read_all(hex("2D 04 02 01 02"), Level::V71);
        CHECK(b.type.type == tds::SqlType::Binary);
        CHECK(show(b.value) == "bytes:0102");
        auto vb = read_all(hex("25 FF 01 FF"), Level::V74);
        CHECK(vb.type.type == tds::SqlType::VarBinary);
        CHECK(vb.type.length == 255);
        CHECK(show(vb.value) == "bytes:ff");
    }
    SECTION("DECIMALTYPE, NUMERICTYPE with precision and scale") {
        auto d = read_all(hex("37 05 05 02 05 01 39 30 00 00"), Level::V70);
        CHECK(d.type.type == tds::SqlType::Decimal);
        CHECK(int{d.type.precision} == 5);
        CHECK(int{d.type.scale} == 2);
        CHECK(show(d.value) == "dec:12345/2");
        auto n = read_all(hex("3F 09 13 00 09 00 01 00 00 00 00 00 00 00"), Level::V70);
        CHECK(n.type.type == tds::SqlType::Numeric);
        CHECK(show(n.value) == "dec:-1/0");
    }
}

TEST_CASE("read_typed_value reads text, ntext and image parameters (LONGLEN)",
          "[tds][type_info][spec]") {
    const std::string coll = kColl;
    auto nt = read_all(hex("63 FE FF FF 7F" + coll + "04 00 00 00 68 00 E9 00"), Level::V71);
    CHECK(nt.type.type == tds::SqlType::NText);
    CHECK(show(nt.value) == "str:hé");
    auto t = read_all(hex("23 FF FF FF 7F" + coll + "05 00 00 00 63 61 66 E9 80"), Level::V72);
    CHECK(t.type.type == tds::SqlType::Text);
    CHECK(show(t.value) == "str:café€");
    auto i = read_all(hex("22 FF FF FF 7F 02 00 00 00 01 02"), Level::V74);
    CHECK(i.type.type == tds::SqlType::Image);
    CHECK(show(i.value) == "bytes:0102");
    auto nt70 = read_all(hex("63 FE FF FF 7F 02 00 00 00 41 00"), Level::V70);
    CHECK(show(nt70.value) == "str:A");
}

TEST_CASE("read_typed_value reads PLP in several chunks, of known and unknown length",
          "[tds][type_info][spec]") {
    const std::string head = std::string("E7 FF FF") + kColl;
    SECTION("known length, two chunks") {
        auto v = read_all(hex(head + "04 00 00 00 00 00 00 00"
                                     "02 00 00 00 68 00  02 00 00 00 E9 00  00 00 00 00"),
                          Level::V72);
        CHECK(show(v.value) == "str:hé");
    }
    SECTION("UNKNOWN_PLP_LEN, three chunks") {
        auto v = read_all(hex(head + "FE FF FF FF FF FF FF FF"
                                     "02 00 00 00 68 00  02 00 00 00 E9 00  02 00 00 00 21 00"
                                     "00 00 00 00"),
                          Level::V74);
        CHECK(show(v.value) == "str:hé!");
    }
    SECTION("UNKNOWN_PLP_LEN, no chunk: an empty value, not NULL") {
        auto v = read_all(hex(head + "FE FF FF FF FF FF FF FF 00 00 00 00"), Level::V74);
        CHECK(show(v.value) == "str:");
    }
    SECTION("varbinary(max), unknown length") {
        auto v = read_all(hex("A5 FF FF FE FF FF FF FF FF FF FF 01 00 00 00 AA 01 00 00 00 BB"
                              "00 00 00 00"),
                          Level::V74);
        CHECK(show(v.value) == "bytes:aabb");
    }
    SECTION("a known length that disagrees with the chunks (the receiver SHOULD validate)") {
        CHECK(read_error(hex(head + "06 00 00 00 00 00 00 00 04 00 00 00 68 00 E9 00"
                                    "00 00 00 00")) == tds::Error::BadValue);
    }
}

TEST_CASE("read_typed_value: sql_variant instances from the spec's property table",
          "[tds][type_info][spec]") {
    const std::string v = "62 49 1F 00 00";
    struct Case {
        const char* name;
        std::string instance;
        const char* expect;
    };
    const Case cases[] = {
        {"INT1TYPE", "03 00 00 00 30 00 FF", "int:255"},
        {"INT2TYPE", "04 00 00 00 34 00 FE FF", "int:-2"},
        {"FLT4TYPE", "06 00 00 00 3B 00 00 00 C0 3F", "double:1.5"},
        {"MONEY4TYPE", "06 00 00 00 7A 00 40 E2 01 00", "dec:123456/4"},
        {"MONEYTYPE", "0A 00 00 00 3C 00 00 00 00 00 40 E2 01 00", "dec:123456/4"},
        {"DATETIM4TYPE", "06 00 00 00 3A 00 AC 8E EE 02", "dt:730119/450000000000/0"},
        {"DATENTYPE", "05 00 00 00 28 00 07 24 0B", "dt:730119/0/0"},
        {"TIMENTYPE scale 7", "08 00 00 00 29 01 07 87 EE 97 76 69", "dt:0/452961234567/0"},
        {"DATETIME2NTYPE scale 0", "09 00 00 00 2A 01 00 F0 B0 00 07 24 0B",
         "dt:730119/452960000000/0"},
        {"DATETIMEOFFSETNTYPE scale 0", "0B 00 00 00 2B 01 00 E0 A2 00 07 24 0B 3C 00",
         "dt:730119/452960000000/60"},
        {"DECIMALNTYPE", "09 00 00 00 6A 02 05 02 01 39 30 00 00", "dec:12345/2"},
        {"BIGVARCHARTYPE", "0C 00 00 00 A7 07 09 04 D0 00 34 0A 00 66 6F 6F", "str:foo"},
        {"BIGCHARTYPE", "0C 00 00 00 AF 07 09 04 D0 00 34 03 00 61 20 20", "str:a  "},
        {"NCHARTYPE", "0D 00 00 00 EF 07 09 04 D0 00 34 04 00 68 00 E9 00", "str:hé"},
        {"BIGBINARYTYPE", "06 00 00 00 AD 02 02 00 01 02", "bytes:0102"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        auto got = read_all(hex(v + c.instance), Level::V74);
        CHECK(got.type.type == tds::SqlType::Variant);
        CHECK(show(got.value) == c.expect);
    }
}

// --- hostile values -------------------------------------------------------------------------

TEST_CASE("read_typed_value: value lengths a type cannot have are BadValue",
          "[tds][type_info][hostile][spec]") {
    const std::string coll = kColl;
    const std::string zeros17 = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
    struct Case {
        const char* name;
        std::string wire;
    };
    const Case cases[] = {
        {"INTN length 3", "26 04 03 01 02 03"},
        {"INTN length above its max", "26 02 04 01 02 03 04"},
        {"BITN length 2", "68 02 02 01 00"},
        {"FLTN length 5", "6D 08 05 00 00 00 00 00"},
        {"MONEYN length 6", "6E 08 06 00 00 00 00 00 00"},
        {"DATETIMN length 5", "6F 08 05 00 00 00 00 00"},
        {"GUID length 15", "24 10 0F 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E"},
        {"DECIMALN length 18", "6A 11 26 00 12 01" + zeros17},
        {"DECIMALN precision 0", "6A 05 00 00 05 01 01 00 00 00"},
        {"DECIMALN precision 39", "6A 11 27 00 11 01" + zeros17.substr(3)},
        {"DECIMALN scale above precision", "6A 05 05 06 05 01 01 00 00 00"},
        {"DATEN length 2", "28 02 00 00"},
        {"TIMEN scale 3 with 5 bytes", "29 03 05 00 00 00 00 00"},
        {"TIMEN scale 8", "29 08 05 00 00 00 00 00"},
        {"TIMEN a whole day", "29 07 05 00 C0 69 2A C9"}, // 864000000000 ticks = 24:00:00
        {"DATETIME2N scale 7 with 7 bytes", "2A 07 07 00 00 00 00 00 00 00"},
        {"BIGVARCHAR longer than its max", "A7 02 00" + coll + "03 00 61 62 63"},
        {"NVARCHAR longer than its max", "E7 02 00" + coll + "04 00 61 00 62 00"},
        {"TEXT beyond 2 GB", "23 FF FF FF 7F" + coll + "00 00 00 80"},
        {"SSVARIANT huge", "62 49 1F 00 00 FF FF FF 7F 38 00"},
        {"SSVARIANT without property bytes", "62 49 1F 00 00 01 00 00 00 38"},
        {"SSVARIANT properties past the instance", "62 49 1F 00 00 03 00 00 00 6C 02 05"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(read_error(hex(c.wire)) == tds::Error::BadValue);
    }
}

TEST_CASE("read_typed_value: a fixed-length sql_variant base with another data length is invalid",
          "[tds][type_info][hostile][fuzz]") {
    // Found by fuzz/tds_requests (fuzz/corpus/tds_requests/crash-sqlvariant-int8-16-bytes): a
    // bigint instance with 16 data bytes was read as one integer, shifting a 64-bit value by 64
    // (undefined behaviour). MS-TDS 2.2.5.5.4: the base type's fixed length fills the value.
    CHECK(read_error(hex("62 62 62 01 00 12 00 00 00 7F 00 FF 00 D9 27 27 27 FF 26 00 FF FF 26 00 "
                         "FF 26 00"),
                     Level::V73A) == tds::Error::BadValue);
    struct Case {
        const char* name;
        std::string instance;
    };
    const Case cases[] = {
        {"INT1TYPE with 2 bytes", "04 00 00 00 30 00 FF FF"},
        {"INT4TYPE with 3 bytes", "05 00 00 00 38 00 01 02 03"},
        {"INT8TYPE with 9 bytes", "0B 00 00 00 7F 00 01 02 03 04 05 06 07 08 09"},
        {"FLT8TYPE with 9 bytes", "0B 00 00 00 3E 00 01 02 03 04 05 06 07 08 09"},
        {"MONEY4TYPE with 8 bytes", "0A 00 00 00 7A 00 01 02 03 04 05 06 07 08"},
        {"DATETIMETYPE with 4 bytes", "06 00 00 00 3D 00 01 02 03 04"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(read_error(hex("62 49 1F 00 00 " + c.instance)) == tds::Error::BadValue);
    }
}

TEST_CASE("read_typed_value: DECIMALN/NUMERICN lengths other than 5, 9, 13, 17 are invalid",
          "[tds][type_info][hostile][spec]") {
    // 2.2.5.4.3: "For DECIMALNTYPE and NUMERICNTYPE, the only valid lengths are 0x05, 0x09,
    // 0x0D, and 0x11 for non-NULL instances"; 2.2.5.5.1.6: "In all cases, the integer part MUST
    // be 4, 8, 12, or 16 bytes."
    CHECK(read_error(hex("6A 11 26 00 03 01 39 30")) == tds::Error::BadValue);
    CHECK(read_error(hex("6C 11 26 00 07 01 01 00 00 00 00 00")) == tds::Error::BadValue);
}

TEST_CASE("read_typed_value: a datetimeoffset offset beyond +-840 minutes is invalid",
          "[tds][type_info][hostile][spec]") {
    // 2.2.5.5.1.8: "The time zone offset MUST be between -840 and 840."
    CHECK(read_error(hex("2B 00 08 00 00 00 07 24 0B 49 03")) == tds::Error::BadValue); // 841
    CHECK(read_error(hex("2B 00 08 00 00 00 07 24 0B B7 FC")) == tds::Error::BadValue); // -841
}

TEST_CASE("read_typed_value: types a level does not have are refused",
          "[tds][type_info][hostile][spec]") {
    const std::string coll = kColl;
    SECTION("7.3 date and time types from a 7.2 client") {
        for (const char* h : {"28 03 07 24 0B", "29 07 00", "2A 00 00", "2B 00 00"}) {
            CAPTURE(h);
            CHECK(read_error(hex(h), Level::V72) == tds::Error::UnknownType);
        }
    }
    SECTION("XML (introduced in 7.2) from a 7.1 client") {
        CHECK(read_error(hex("F1 00 FF FF FF FF FF FF FF FF"), Level::V71) ==
              tds::Error::UnknownType);
    }
    SECTION("a PLP (MAX) value from a 7.1 client") {
        CHECK(read_error(hex("E7 FF FF" + coll + "FF FF FF FF FF FF FF FF"), Level::V71) ==
              tds::Error::BadValue);
    }
    SECTION("SSVARIANTTYPE (introduced in TDS 7.2, 2.2.5.4.3) from a 7.1 client") {
        CHECK(read_error(hex("62 49 1F 00 00 06 00 00 00 38 00 05 00 00 00"), Level::V71) ==
              tds::Error::UnknownType);
    }
}

TEST_CASE("read_typed_value: tokens it does not know or cannot size are UnknownType",
          "[tds][type_info][hostile]") {
    for (std::uint8_t t :
         {std::uint8_t{0xF0}, std::uint8_t{0xF3}, std::uint8_t{0xF4}, std::uint8_t{0xF5},
          std::uint8_t{0x00}, std::uint8_t{0x99}, std::uint8_t{0xFF}}) {
        CAPTURE(int{t});
        const Bytes b = {t, 0x00, 0x00, 0x00, 0x00};
        tds::ByteReader r(b);
        std::uint8_t token = 0;
        auto got = tds::read_typed_value(r, Level::V74, &token);
        REQUIRE_FALSE(got);
        CHECK(got.error() == tds::Error::UnknownType);
        CHECK(int{token} == int{t});
    }
    SECTION("an unknown sql_variant base type") {
        CHECK(read_error(hex("62 49 1F 00 00 03 00 00 00 F1 00 00")) == tds::Error::UnknownType);
    }
}

TEST_CASE("read_typed_value: huge PLP totals and chunks neither crash nor allocate",
          "[tds][type_info][hostile]") {
    const std::string head = std::string("E7 FF FF") + kColl;
    SECTION("a total far beyond the data") {
        auto e = read_error(hex(head + "FF FF FF FF FF FF FF 7F 02 00 00 00 68 00 00 00 00 00"));
        CHECK((e == tds::Error::BadValue || e == tds::Error::Truncated));
    }
    SECTION("a chunk length of 4 GiB - 1") {
        auto e = read_error(hex(head + "FE FF FF FF FF FF FF FF FF FF FF FF 68 00"));
        CHECK((e == tds::Error::BadValue || e == tds::Error::Truncated));
    }
    SECTION("chunks that run past the end") {
        CHECK(read_error(hex(head + "FE FF FF FF FF FF FF FF 10 00 00 00 68 00")) ==
              tds::Error::Truncated);
    }
    SECTION("no terminator") {
        CHECK(read_error(hex(head + "FE FF FF FF FF FF FF FF 02 00 00 00 68 00")) ==
              tds::Error::Truncated);
    }
    SECTION("text lengths past the end") {
        CHECK(read_error(hex("22 FF FF FF 7F 10 00 00 00 01 02")) == tds::Error::Truncated);
    }
}

TEST_CASE("read_typed_value: every truncation of a valid parameter is Truncated",
          "[tds][type_info][hostile]") {
    struct Case {
        const char* name;
        tds::TypeInfo type;
        tds::Value value;
    };
    const Case cases[] = {
        {"int", tds::int_type(), std::int64_t{42}},
        {"decimal(38,4)", tds::decimal_type(38, 4), tds::Decimal{"123456789", 2, true}},
        {"money", of(tds::SqlType::Money), std::int64_t{7}},
        {"datetime", tds::datetime_type(), at(2026, 11, 29, 8, 24, 16)},
        {"datetimeoffset(7)", tds::datetimeoffset_type(7), at(2000, 1, 1, 1, 2, 3, 4, 60)},
        {"varchar(20)", tds::varchar_type(20), std::string("hello")},
        {"nvarchar(max)", tds::nvarchar_type(5000), std::string("hello")},
        {"guid", guid_type(), guid_0_to_15()},
        {"sql_variant nvarchar", tds::variant_type(), std::string("hello")},
        {"sql_variant numeric", tds::variant_type(), tds::Decimal{"5", 0, false}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const Bytes full = concat({type_info_of(c.type, Level::V74), value_of(c.type, c.value)});
        for (std::size_t n = 0; n < full.size(); ++n) {
            CAPTURE(n);
            const Bytes cut = prefix(full, n);
            tds::ByteReader r(cut);
            auto got = tds::read_typed_value(r, Level::V74);
            REQUIRE_FALSE(got);
            CHECK(got.error() == tds::Error::Truncated);
        }
    }
    SECTION("and of hand-written ones") {
        const std::string coll = kColl;
        for (const std::string& h :
             {std::string("63 FE FF FF 7F") + coll + "04 00 00 00 68 00 E9 00",
              std::string("E7 FF FF") + coll +
                  "FE FF FF FF FF FF FF FF 02 00 00 00 68 00 02 00 00 00 E9 00 00 00 00 00",
              std::string("2F 0A 03 61 62 63"), std::string("37 05 05 02 05 01 39 30 00 00"),
              std::string("3C 00 00 00 00 40 E2 01 00")}) {
            const Bytes full = hex(h);
            for (std::size_t n = 0; n < full.size(); ++n) {
                CAPTURE(h, n);
                const Bytes cut = prefix(full, n);
                tds::ByteReader r(cut);
                auto got = tds::read_typed_value(r, Level::V74);
                REQUIRE_FALSE(got);
                CHECK(got.error() == tds::Error::Truncated);
            }
        }
    }
}

// --- decimal, calendar and formatting helpers ------------------------------------------------

TEST_CASE("decimal_to_le and decimal_from_le", "[tds][sql_types]") {
    CHECK(to_hex(tds::decimal_to_le(tds::Decimal{"12345", 2, false}, 4)) == canon("39 30 00 00"));
    CHECK(to_hex(tds::decimal_to_le(tds::Decimal{"0", 0, false}, 4)) == canon("00 00 00 00"));
    CHECK(to_hex(tds::decimal_to_le(tds::Decimal{"4294967296", 0, false}, 8)) ==
          canon("00 00 00 00 01 00 00 00"));
    CHECK(
        to_hex(tds::decimal_to_le(tds::Decimal{"99999999999999999999999999999999999999", 0, false},
                                  16)) == canon("FF FF FF FF 3F 22 8A 09 7A C4 86 5A A8 4C 3B 4B"));

    CHECK(tds::decimal_from_le(hex("39 30 00 00"), 2, false) == tds::Decimal{"12345", 2, false});
    CHECK(tds::decimal_from_le(hex("39 30 00 00"), 2, true) == tds::Decimal{"12345", 2, true});
    CHECK(tds::decimal_from_le(hex("00 00 00 00"), 3, true) == tds::Decimal{"0", 3, false});
    CHECK(tds::decimal_from_le(hex("FF FF FF FF 3F 22 8A 09 7A C4 86 5A A8 4C 3B 4B"), 0, false) ==
          tds::Decimal{"99999999999999999999999999999999999999", 0, false});
    const Bytes empty;
    CHECK(tds::decimal_from_le(empty, 0, false) == tds::Decimal{"0", 0, false});
    SECTION("round trip through 16 bytes") {
        for (const char* digits : {"1", "10", "255", "256", "65535", "18446744073709551615",
                                   "18446744073709551616", "12345678901234567890123456789"}) {
            CAPTURE(digits);
            tds::Decimal d{digits, 4, false};
            CHECK(tds::decimal_from_le(tds::decimal_to_le(d, 16), 4, false) == d);
        }
    }
}

TEST_CASE("parse_decimal accepts plain decimals only", "[tds][sql_types]") {
    CHECK(tds::parse_decimal("12") == tds::Decimal{"12", 0, false});
    CHECK(tds::parse_decimal("-1.50") == tds::Decimal{"150", 2, true});
    CHECK(tds::parse_decimal("+5") == tds::Decimal{"5", 0, false});
    CHECK(tds::parse_decimal("007.10") == tds::Decimal{"710", 2, false});
    CHECK(tds::parse_decimal("-0") == tds::Decimal{"0", 0, false});
    CHECK(tds::parse_decimal("-0.00") == tds::Decimal{"0", 2, false});
    CHECK(tds::parse_decimal(".5") == tds::Decimal{"5", 1, false});
    CHECK(tds::parse_decimal("5.") == tds::Decimal{"5", 0, false});
    for (const char* bad : {"", "-", ".", "3e5", "1.2.3", "abc", " 1", "1 ", "--1", "0x10"}) {
        CAPTURE(bad);
        CHECK_FALSE(tds::parse_decimal(bad).has_value());
    }
    CHECK(tds::parse_decimal("0." + std::string(38, '1')).has_value());
    CHECK_FALSE(tds::parse_decimal("0." + std::string(39, '1')).has_value());
}

TEST_CASE("days_from_civil and civil_from_days: day 0 is 0001-01-01", "[tds][sql_types]") {
    CHECK(tds::days_from_civil(1, 1, 1) == 0);
    CHECK(tds::days_from_civil(1900, 1, 1) == 693595);
    CHECK(tds::days_from_civil(1753, 1, 1) == 639905);
    CHECK(tds::days_from_civil(2000, 1, 1) == 730119);
    CHECK(tds::days_from_civil(2000, 2, 29) == 730178);
    CHECK(tds::days_from_civil(2000, 3, 1) == 730179);
    CHECK(tds::days_from_civil(1900, 3, 1) == 693595 + 59); // 1900 is not a leap year
    CHECK(tds::days_from_civil(9999, 12, 31) == 3652058);
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    tds::civil_from_days(0, y, m, d);
    CHECK((y == 1 && m == 1 && d == 1));
    tds::civil_from_days(693595, y, m, d);
    CHECK((y == 1900 && m == 1 && d == 1));
    tds::civil_from_days(730178, y, m, d);
    CHECK((y == 2000 && m == 2 && d == 29));
    tds::civil_from_days(3652058, y, m, d);
    CHECK((y == 9999 && m == 12 && d == 31));
    SECTION("every day of the date type's range round-trips") {
        std::int32_t bad = -1;
        std::int32_t expected_next = 0;
        for (std::int32_t day = 0; day <= 3652058 && bad < 0; ++day) {
            tds::civil_from_days(day, y, m, d);
            if (tds::days_from_civil(y, m, d) != day || day != expected_next) {
                bad = day;
            }
            expected_next = day + 1;
        }
        CHECK(bad == -1);
    }
}

TEST_CASE("format_value renders each type as the header documents", "[tds][sql_types]") {
    using tds::format_value;
    CHECK_FALSE(format_value(std::monostate{}, tds::int_type()).has_value());
    CHECK(format_value(true, tds::bit_type()) == std::optional<std::string>("1"));
    CHECK(format_value(false, tds::bit_type()) == std::optional<std::string>("0"));
    CHECK(format_value(std::int64_t{-5}, tds::int_type()) == std::optional<std::string>("-5"));
    CHECK(format_value(1.5, tds::float_type()) == std::optional<std::string>("1.5"));
    CHECK(format_value(tds::Decimal{"150", 2, true}, tds::decimal_type(5, 2)) ==
          std::optional<std::string>("-1.50"));
    CHECK(format_value(tds::Decimal{"5", 3, false}, tds::decimal_type(5, 3)) ==
          std::optional<std::string>("0.005"));
    CHECK(format_value(tds::Decimal{"0", 0, false}, tds::decimal_type(5, 0)) ==
          std::optional<std::string>("0"));
    CHECK(format_value(std::string("hé"), tds::nvarchar_type(10)) ==
          std::optional<std::string>("hé"));
    CHECK(format_value(tds::Bytes{0x01, 0xAB}, tds::varbinary_type(2)) ==
          std::optional<std::string>("0x01AB"));
    CHECK(format_value(tds::Bytes{}, tds::varbinary_type(2)) == std::optional<std::string>("0x"));
    const auto t = at(2026, 11, 29, 8, 24, 16, 1'234'567);
    CHECK(format_value(t, tds::datetime_type()) ==
          std::optional<std::string>("2026-11-29 08:24:16.123"));
    CHECK(format_value(t, of(tds::SqlType::SmallDateTime)) ==
          std::optional<std::string>("2026-11-29 08:24:16"));
    CHECK(format_value(t, date_type()) == std::optional<std::string>("2026-11-29"));
    CHECK(format_value(t, time_type(0)) == std::optional<std::string>("08:24:16"));
    CHECK(format_value(t, time_type(3)) == std::optional<std::string>("08:24:16.123"));
    CHECK(format_value(t, time_type(7)) == std::optional<std::string>("08:24:16.1234567"));
    CHECK(format_value(t, tds::datetime2_type(7)) ==
          std::optional<std::string>("2026-11-29 08:24:16.1234567"));
    CHECK(format_value(t, tds::datetime2_type(0)) ==
          std::optional<std::string>("2026-11-29 08:24:16"));
    CHECK(format_value(t, tds::datetimeoffset_type(0)) ==
          std::optional<std::string>("2026-11-29 08:24:16 +00:00"));
    CHECK(format_value(at(2000, 1, 1, 12, 0, 0, 0, 330), tds::datetimeoffset_type(3)) ==
          std::optional<std::string>("2000-01-01 12:00:00.000 +05:30"));
    CHECK(format_value(at(2000, 1, 1, 12, 0, 0, 0, -480), tds::datetimeoffset_type(0)) ==
          std::optional<std::string>("2000-01-01 12:00:00 -08:00"));
    // uniqueidentifier: the first three groups little-endian on the wire.
    CHECK(format_value(guid_0_to_15(), guid_type()) ==
          std::optional<std::string>("03020100-0504-0706-0809-0A0B0C0D0E0F"));
}

TEST_CASE("code page 1252 conversions", "[tds][sql_types]") {
    CHECK(tds::cp1252_to_utf8(hex("63 61 66 E9 80 9F")) == "café€Ÿ");
    CHECK(to_hex(tds::utf8_to_cp1252("café€Ÿ")) == canon("63 61 66 E9 80 9F"));
    CHECK(to_hex(tds::utf8_to_cp1252("Ω")) == canon("3F")); // unmappable
}

TEST_CASE("to_string names every SqlType", "[tds][sql_types]") {
    CHECK(tds::to_string(tds::SqlType::Bit) == "bit");
    CHECK(tds::to_string(tds::SqlType::DateTimeOffset) == "datetimeoffset");
    CHECK(tds::to_string(tds::SqlType::UniqueIdentifier) == "uniqueidentifier");
    CHECK(tds::to_string(tds::SqlType::Variant) == "sql_variant");
    CHECK(tds::to_string(tds::SqlType::Xml) == "xml");
}

TEST_CASE("read_typed_value: single-byte corruptions never crash or overread",
          "[tds][type_info][hostile]") {
    const std::string coll = kColl;
    for (const std::string& h :
         {std::string("62 49 1F 00 00 0D 00 00 00 E7 07") + coll + "00 01 68 00 69 00",
          std::string("62 49 1F 00 00 0B 00 00 00 2B 01 00 E0 A2 00 07 24 0B 3C 00"),
          std::string("62 49 1F 00 00 09 00 00 00 6C 02 05 02 01 39 30 00 00"),
          std::string("E7 FF FF") + coll +
              "04 00 00 00 00 00 00 00 02 00 00 00 68 00 02 00 00 00 E9 00 00 00 00 00",
          std::string("2B 07 0A 87 EE 97 76 69 07 24 0B 3C 00"),
          std::string("63 FE FF FF 7F") + coll + "04 00 00 00 68 00 E9 00",
          std::string("F1 01 01 61 00 01 62 00 01 00 63 00 FF FF FF FF FF FF FF FF")}) {
        const Bytes full = hex(h);
        REQUIRE(read_error(full) == std::nullopt);
        for (std::size_t i = 0; i < full.size(); ++i) {
            for (int v = 0; v < 256; ++v) {
                Bytes b = full;
                b[i] = static_cast<std::uint8_t>(v);
                tds::ByteReader r(b);
                auto got = tds::read_typed_value(r, Level::V74);
                CHECK(r.position() <= b.size());
                (void)got;
            }
        }
    }
}

TEST_CASE("read_typed_value: datetime and smalldatetime fields out of their range are BadValue",
          "[tds][type_info][hostile][spec]") {
    // 2.2.5.5.1.8: datetime days count from 1900-01-01, "Negative numbers are allowed to
    // represent dates since January 1, 1753"; the second half counts 1/300 s "since 12 AM that
    // day" (fewer than 25920000); smalldatetime counts minutes since 12 AM (fewer than 1440).
    // Never undefined behaviour: a day number near INT32_MAX must not overflow.
    CHECK(read_error(hex("3D FE FF FF 7F 00 00 00 00")) == tds::Error::BadValue);
    CHECK(read_error(hex("6F 08 08 FF FF FF 7F 00 00 00 00")) == tds::Error::BadValue);
    CHECK(read_error(hex("3D 45 2E FF FF 00 00 00 00")) == tds::Error::BadValue); // 1752-12-31
    CHECK(read_error(hex("3D 00 00 00 00 00 82 8B 01")) == tds::Error::BadValue); // 24:00:00
    CHECK(read_error(hex("3A 00 00 A0 05")) == tds::Error::BadValue);             // minute 1440
    // The limits themselves are values.
    CHECK(read_error(hex("3D 46 2E FF FF FF 81 8B 01")) == std::nullopt); // 1753-01-01 23:59:59.997
    CHECK(read_error(hex("3A FF FF 9F 05")) == std::nullopt);             // 2079-06-06 23:59
}
