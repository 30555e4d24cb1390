// The basic types (MySQL docs "Basic Data Types"): fixed-length integers, length-encoded
// integers at every width boundary, and the string forms; every read is bounds-checked.

#include <catch2/catch.hpp>

#include <mysql/wire.h>

#include "mysql_test_util.h"

using namespace mysql_test;

TEST_CASE("fixed-length integers are little-endian", "[mysql][wire]") {
    const Bytes b = hex("01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 15 16 17");
    mysql::Reader r(b);
    CHECK(*r.u8() == 0x01);
    CHECK(*r.u16() == 0x0302);
    CHECK(*r.u24() == 0x060504);
    CHECK(*r.u32() == 0x0A090807U);
    CHECK(*r.u48() == 0x100F0E0D0C0BULL);
    CHECK(r.remaining() == 7);
    CHECK(r.u64().error() == mysql::Error::Truncated);
    CHECK(r.position() == 16); // a failed read does not move

    mysql::Writer w;
    w.u8(0x01);
    w.u16(0x0302);
    w.u24(0x060504);
    w.u32(0x0A090807U);
    w.u48(0x100F0E0D0C0BULL);
    w.u64(0x1716151413121110ULL);
    CHECK(w.out() ==
          hex("01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 10 11 12 13 14 15 16 17"));
}

TEST_CASE("length-encoded integers at every width boundary", "[mysql][wire]") {
    struct Case {
        std::uint64_t value;
        const char* wire;
    };
    const Case cases[] = {
        {0, "00"},
        {250, "FA"},
        {251, "FC FB 00"},
        {0xFFFF, "FC FF FF"},
        {0x10000, "FD 00 00 01"},
        {0xFFFFFF, "FD FF FF FF"},
        {0x1000000, "FE 00 00 00 01 00 00 00 00"},
        {0xFFFFFFFFFFFFFFFFULL, "FE FF FF FF FF FF FF FF FF"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.value);
        mysql::Writer w;
        w.lenenc_int(c.value);
        CHECK(w.out() == hex(c.wire));
        CHECK(mysql::lenenc_size(c.value) == w.out().size());
        const Bytes b = hex(c.wire);
        mysql::Reader r(b);
        auto v = r.lenenc_int();
        REQUIRE(v);
        REQUIRE(*v);
        CHECK(**v == c.value);
        CHECK(r.at_end());
    }
}

TEST_CASE("0xFB is NULL, 0xFF is no length, short prefixes are truncated", "[mysql][wire]") {
    const Bytes null = hex("FB");
    mysql::Reader rn(null);
    auto n = rn.lenenc_int();
    REQUIRE(n);
    CHECK_FALSE(*n);

    const Bytes ff = hex("FF 00 00");
    mysql::Reader rf(ff);
    CHECK(rf.lenenc_int().error() == mysql::Error::BadLength);
    CHECK(rf.position() == 0);

    for (const char* cut : {"FC 01", "FD 01 02", "FE 01 02 03 04 05 06 07", ""}) {
        const Bytes b = hex(cut);
        mysql::Reader r(b);
        CHECK(r.lenenc_int().error() == mysql::Error::Truncated);
    }
}

TEST_CASE("strings: fixed, NUL-terminated, length-encoded, rest", "[mysql][wire]") {
    const Bytes b = hex("61 62 63 00 03 78 79 7A FB 02 71 72 FF EE");
    mysql::Reader r(b);
    CHECK(*r.null_string() == "abc");
    CHECK(**r.lenenc_string() == "xyz");
    CHECK_FALSE(*r.lenenc_string()); // NULL
    CHECK(*r.fixed_string(1) == "\x02");
    CHECK(r.rest_bytes() == hex("71 72 FF EE"));
    CHECK(r.at_end());
    CHECK(r.rest_string().empty());

    const Bytes unterminated = hex("61 62 63");
    mysql::Reader ru(unterminated);
    CHECK(ru.null_string().error() == mysql::Error::MissingTerminator);

    const Bytes null_bytes = hex("FB");
    mysql::Reader rb(null_bytes);
    CHECK(rb.lenenc_bytes().error() == mysql::Error::BadValue);

    mysql::Writer w;
    w.null_string("abc");
    w.lenenc_string("xyz");
    w.lenenc_null();
    w.lenenc_bytes(hex("01 02"));
    w.string("q");
    w.zeros(2);
    CHECK(w.take() == hex("61 62 63 00 03 78 79 7A FB 02 01 02 71 00 00"));
}

TEST_CASE("a declared length beyond the bytes is Truncated, beyond any packet TooLong",
          "[mysql][wire]") {
    const Bytes short_string = hex("05 61 62");
    mysql::Reader r1(short_string);
    CHECK(r1.lenenc_string().error() == mysql::Error::Truncated);
    CHECK(r1.position() == 0);

    // 2^63 and 2^32 + 1 bytes claimed: no packet can hold them.
    for (const char* huge : {"FE 00 00 00 00 00 00 00 80 61", "FE 01 00 00 00 01 00 00 00 61"}) {
        const Bytes b = hex(huge);
        mysql::Reader r(b);
        CHECK(r.lenenc_string().error() == mysql::Error::TooLong);
        mysql::Reader rb(b);
        CHECK(rb.lenenc_bytes().error() == mysql::Error::TooLong);
    }
    const Bytes two = hex("01 02");
    mysql::Reader r2(two);
    CHECK(r2.skip(3).error() == mysql::Error::Truncated);
    CHECK(r2.bytes(SIZE_MAX).error() == mysql::Error::TooLong);
    CHECK(r2.skip(2));
    CHECK(r2.at_end());
    CHECK(r2.peek().error() == mysql::Error::Truncated);
}

TEST_CASE("every error has a name", "[mysql][wire]") {
    for (auto e : {mysql::Error::Truncated, mysql::Error::BadLength, mysql::Error::TooLong,
                   mysql::Error::MissingTerminator, mysql::Error::TrailingBytes,
                   mysql::Error::BadValue, mysql::Error::Unsupported}) {
        CHECK(mysql::to_string(e) != "unknown error");
    }
    CHECK(mysql::to_string(mysql::Error::TooLong) == "too long");
}
