#include <string>

#include <catch2/catch.hpp>

#include <tds/utf16.h>

#include "tds_test_util.h"

using namespace tds_test;

namespace {
const std::string kReplacement = "\xEF\xBF\xBD"; // U+FFFD in UTF-8
}

TEST_CASE("utf16 converts ASCII both ways", "[tds][utf16]") {
    CHECK(to_hex(tds::utf8_to_utf16le("lab")) == "6c00610062"
                                                 "00");
    CHECK(tds::utf16le_to_utf8(hex("6C 00 61 00 62 00")) == "lab");
    CHECK(tds::utf8_to_utf16le("").empty());
    CHECK(tds::utf16le_to_utf8({}).empty());
}

TEST_CASE("utf16 converts BMP characters beyond ASCII", "[tds][utf16]") {
    SECTION("é, U+00E9: two UTF-8 bytes") {
        CHECK(to_hex(tds::utf8_to_utf16le("é")) == "e900");
        CHECK(tds::utf16le_to_utf8(hex("E9 00")) == "\xC3\xA9");
    }
    SECTION("€, U+20AC: three UTF-8 bytes") {
        CHECK(to_hex(tds::utf8_to_utf16le("€")) == "ac20");
        CHECK(tds::utf16le_to_utf8(hex("AC 20")) == "\xE2\x82\xAC");
    }
    SECTION("U+FFFF, the last BMP code point") {
        CHECK(to_hex(tds::utf8_to_utf16le("\xEF\xBF\xBF")) == "ffff");
        CHECK(tds::utf16le_to_utf8(hex("FF FF")) == "\xEF\xBF\xBF");
    }
}

TEST_CASE("utf16 converts a surrogate pair", "[tds][utf16]") {
    // U+1F600 GRINNING FACE = D83D DE00.
    CHECK(to_hex(tds::utf8_to_utf16le("😀")) == "3dd800de");
    CHECK(tds::utf16le_to_utf8(hex("3D D8 00 DE")) == "\xF0\x9F\x98\x80");
    // U+10FFFF, the last code point = DBFF DFFF.
    CHECK(to_hex(tds::utf8_to_utf16le("\xF4\x8F\xBF\xBF")) == "ffdbffdf");
    CHECK(tds::utf16le_to_utf8(hex("FF DB FF DF")) == "\xF4\x8F\xBF\xBF");
}

TEST_CASE("a mixed string round trips", "[tds][utf16]") {
    const std::string text = "SELECT N'é€😀' -- ok";
    CHECK(tds::utf16le_to_utf8(tds::utf8_to_utf16le(text)) == text);
}

TEST_CASE("broken UTF-16 becomes U+FFFD, never an error", "[tds][utf16]") {
    SECTION("a high surrogate at the end") {
        CHECK(tds::utf16le_to_utf8(hex("41 00 3D D8")) == "A" + kReplacement);
    }
    SECTION("a high surrogate followed by a non-surrogate: that character is kept") {
        CHECK(tds::utf16le_to_utf8(hex("3D D8 41 00")) == kReplacement + "A");
    }
    SECTION("two high surrogates then a low one: one replacement, then the pair") {
        CHECK(tds::utf16le_to_utf8(hex("3D D8 3D D8 00 DE")) == kReplacement + "\xF0\x9F\x98\x80");
    }
    SECTION("a lone low surrogate") {
        CHECK(tds::utf16le_to_utf8(hex("00 DE 41 00")) == kReplacement + "A");
    }
    SECTION("an odd trailing byte") {
        CHECK(tds::utf16le_to_utf8(hex("41 00 42")) == "A" + kReplacement);
        CHECK(tds::utf16le_to_utf8(hex("42")) == kReplacement);
    }
    SECTION("a high surrogate then an odd byte") {
        CHECK(tds::utf16le_to_utf8(hex("3D D8 00")) == kReplacement + kReplacement);
    }
}

TEST_CASE("broken UTF-8 becomes U+FFFD in UTF-16", "[tds][utf16]") {
    SECTION("a lead byte cut short at the end") {
        CHECK(to_hex(tds::utf8_to_utf16le("A\xC3")) == "4100"
                                                       "fdff");
        CHECK(to_hex(tds::utf8_to_utf16le("\xE2\x82")) == "fdff"
                                                          "fdff");
    }
    SECTION("a stray continuation byte") {
        CHECK(to_hex(tds::utf8_to_utf16le("\x80"
                                          "A")) == "fdff"
                                                   "4100");
    }
    SECTION("a code point above U+10FFFF") {
        CHECK(to_hex(tds::utf8_to_utf16le("\xF4\x90\x80\x80")) == "fdff");
    }
}
