#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <pg/messages.h>

#include "pg_test_util.h"

using namespace pg_test;

namespace {

// Messages captured from psql 15 and pgbench 15 (libpq 15) in front of PostgreSQL 15.18; the
// files under vectors/ hold the whole sessions.

// pgbench -M extended: Parse of the unnamed statement, no parameter types given.
const char* const kPgbenchParse =
    "50 00 00 00 2d 00 53 45 4c 45 43 54 20 24 31 3a 3a 69 6e 74 20 41 53 20 6e 2c 20 4e 55 4c "
    "4c 3a 3a 74 65 78 74 20 41 53 20 74 3b 00 00 00";
// pgbench -M extended: Bind "" to "", no parameter formats (all text), one parameter "42", one
// result format (text).
const char* const kPgbenchBind = "42 00 00 00 14 00 00 00 00 00 01 00 00 00 02 34 32 00 01 00 00";
// pgbench -M prepared: Bind "" to statement "P_0".
const char* const kPgbenchBindPrepared =
    "42 00 00 00 17 00 50 5f 30 00 00 00 00 01 00 00 00 02 34 32 00 01 00 00";
const char* const kPgbenchDescribePortal = "44 00 00 00 06 50 00";
const char* const kPgbenchExecute = "45 00 00 00 09 00 00 00 00 00";
const char* const kPgbenchSync = "53 00 00 00 04";
const char* const kPsqlTerminate = "58 00 00 00 04";
const char* const kPsqlQuery = "51 00 00 00 0d 53 45 4c 45 43 54 20 31 00"; // SELECT 1
// psql, pg_hba "password": the cleartext PasswordMessage.
const char* const kPsqlPassword = "70 00 00 00 0b 70 77 70 61 73 73 00"; // pwpass
// psql, pg_hba "md5": "md5" + hex of md5(md5(password + user) + salt a1365cdb).
const char* const kPsqlMd5Password =
    "70 00 00 00 28 6d 64 35 61 34 65 34 61 64 39 31 33 64 61 39 30 32 33 34 31 30 65 64 34 36 "
    "38 61 62 31 34 34 65 33 38 33 00";
// psql, pg_hba "scram-sha-256": SASLInitialResponse, mechanism SCRAM-SHA-256, 32 bytes of
// client-first-message "n,,n=,r=atH2aMuRY3zlt8uD8XRHvbeK".
const char* const kPsqlSaslInitialResponse =
    "70 00 00 00 36 53 43 52 41 4d 2d 53 48 41 2d 32 35 36 00 00 00 00 20 6e 2c 2c 6e 3d 2c 72 "
    "3d 61 74 48 32 61 4d 75 52 59 33 7a 6c 74 38 75 44 38 58 52 48 76 62 65 4b";

const std::string kPgbenchSql = "SELECT $1::int AS n, NULL::text AS t;";

Bytes body(const char* message_hex) {
    return body_of(hex(message_hex));
}

} // namespace

TEST_CASE("Query: psql's SELECT 1", "[pg][frontend]") {
    auto q = pg::decode_query(body(kPsqlQuery));
    REQUIRE(q);
    CHECK(q->sql == "SELECT 1");
    CHECK(to_hex(pg::encode(pg::query("SELECT 1"))) == to_hex(hex(kPsqlQuery)));

    every_prefix_fails(body(kPsqlQuery), pg::decode_query);
    CHECK(error_of(pg::decode_query(bytes_of("SELECT 1"))) == pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_query(with_trailing_byte(body(kPsqlQuery)))) ==
          pg::Error::TrailingBytes);
    CHECK(error_of(pg::decode_query(bytes_of(with_nuls("SELECT 1\0; DROP\0")))) ==
          pg::Error::TrailingBytes);
    // An encoder never writes a NUL inside a string.
    auto cut = pg::decode_query(pg::query(with_nuls("SELECT 1\0; DROP")).body);
    REQUIRE(cut);
    CHECK(cut->sql == "SELECT 1");
}

TEST_CASE("Parse: pgbench's unnamed and named statements", "[pg][frontend]") {
    SECTION("unnamed, no parameter types") {
        auto p = pg::decode_parse(body(kPgbenchParse));
        REQUIRE(p);
        CHECK(p->statement.empty());
        CHECK(p->sql == kPgbenchSql);
        CHECK(p->parameter_types.empty());
        CHECK(to_hex(pg::encode(pg::parse(*p))) == to_hex(hex(kPgbenchParse)));
    }
    SECTION("P_0, from pgbench -M prepared") {
        const Bytes captured = load_lines("pgbench15_prepared_client.hex").at(1);
        auto p = pg::decode_parse(body_of(captured));
        REQUIRE(p);
        CHECK(p->statement == "P_0");
        CHECK(p->sql == kPgbenchSql);
        CHECK(pg::encode(pg::parse(*p)) == captured);
    }
    SECTION("parameter types round trip") {
        const pg::Parse p{"s1", "SELECT $1, $2", {23, 0}};
        const Bytes encoded = pg::encode(pg::parse(p));
        CHECK(to_hex(encoded) ==
              to_hex(concat({hex("50 00 00 00 1f"), bytes_of(with_nuls("s1\0SELECT $1, $2\0")),
                             hex("00 02 00 00 00 17 00 00 00 00")})));
        auto back = pg::decode_parse(body_of(encoded));
        REQUIRE(back);
        CHECK(back->statement == "s1");
        CHECK(back->parameter_types == std::vector<std::uint32_t>{23, 0});
    }
    SECTION("malformed") {
        every_prefix_fails(body(kPgbenchParse), pg::decode_parse);
        CHECK(error_of(pg::decode_parse(bytes_of("P_0"))) == pg::Error::MissingTerminator);
        CHECK(error_of(pg::decode_parse(bytes_of(with_nuls("P_0\0SELECT 1")))) ==
              pg::Error::MissingTerminator);
        CHECK(error_of(pg::decode_parse(bytes_of(with_nuls("\0SELECT 1\0")))) ==
              pg::Error::Truncated); // no count
        // two types announced, one there
        CHECK(error_of(pg::decode_parse(
                  concat({bytes_of(with_nuls("\0SELECT 1\0")), hex("00 02 00 00 00 17")}))) ==
              pg::Error::Truncated);
        CHECK(error_of(pg::decode_parse(with_trailing_byte(body(kPgbenchParse)))) ==
              pg::Error::TrailingBytes);
    }
}

TEST_CASE("Bind: pgbench's text parameter, NULLs, formats", "[pg][frontend]") {
    SECTION("pgbench -M extended") {
        auto b = pg::decode_bind(body(kPgbenchBind));
        REQUIRE(b);
        CHECK(b->portal.empty());
        CHECK(b->statement.empty());
        CHECK(b->parameter_formats.empty());
        REQUIRE(b->parameters.size() == 1);
        REQUIRE(b->parameters[0]);
        CHECK(text_of(*b->parameters[0]) == "42");
        CHECK(b->result_formats == std::vector<std::int16_t>{0});
        CHECK(to_hex(pg::encode(pg::bind(*b))) == to_hex(hex(kPgbenchBind)));
    }
    SECTION("pgbench -M prepared") {
        auto b = pg::decode_bind(body(kPgbenchBindPrepared));
        REQUIRE(b);
        CHECK(b->statement == "P_0");
        CHECK(to_hex(pg::encode(pg::bind(*b))) == to_hex(hex(kPgbenchBindPrepared)));
    }
    SECTION("NULL, binary, empty values, one format each") {
        pg::Bind b;
        b.portal = "c1";
        b.statement = "s1";
        b.parameter_formats = {0, 1, 0};
        b.parameters = {std::nullopt, Bytes{0, 0, 0, 42}, Bytes{}};
        b.result_formats = {1};
        const Bytes encoded = pg::encode(pg::bind(b));
        CHECK(to_hex(encoded) ==
              to_hex(concat({hex("42 00 00 00 28"), bytes_of(with_nuls("c1\0s1\0")),
                             hex("00 03 00 00 00 01 00 00"), // formats
                             hex("00 03 ff ff ff ff"),       // NULL
                             hex("00 00 00 04 00 00 00 2a"), // int4 42
                             hex("00 00 00 00"),             // ""
                             hex("00 01 00 01")})));
        auto back = pg::decode_bind(body_of(encoded));
        REQUIRE(back);
        CHECK(back->parameters == b.parameters);
        CHECK(back->parameter_formats == b.parameter_formats);
        CHECK(back->result_formats == b.result_formats);
    }
    SECTION("one format for every parameter") {
        const Bytes one_format = concat({bytes_of(with_nuls("\0\0")), hex("00 01 00 01"),
                                         hex("00 02 00 00 00 01 07 00 00 00 01 08 00 00")});
        auto b = pg::decode_bind(one_format);
        REQUIRE(b);
        CHECK(b->parameter_formats == std::vector<std::int16_t>{1});
        CHECK(b->parameters.size() == 2);
    }
    SECTION("malformed") {
        every_prefix_fails(body(kPgbenchBind), pg::decode_bind);
        CHECK(error_of(pg::decode_bind(with_trailing_byte(body(kPgbenchBind)))) ==
              pg::Error::TrailingBytes);
        const Bytes names = bytes_of(with_nuls("\0\0"));
        // format code 2 ("unsupported format code: 2")
        CHECK(error_of(pg::decode_bind(concat({names, hex("00 01 00 02 00 00 00 00")}))) ==
              pg::Error::BadValue);
        // result format code -1
        CHECK(error_of(pg::decode_bind(concat({names, hex("00 00 00 00 00 01 ff ff")}))) ==
              pg::Error::BadValue);
        // two formats for one parameter ("bind message has 2 parameter formats but 1
        // parameters")
        CHECK(error_of(pg::decode_bind(
                  concat({names, hex("00 02 00 00 00 00 00 01 00 00 00 01 31 00 00")}))) ==
              pg::Error::BadValue);
        // a parameter length of -2, and one beyond the body
        CHECK(error_of(pg::decode_bind(concat({names, hex("00 00 00 01 ff ff ff fe 00 00")}))) ==
              pg::Error::BadLength);
        CHECK(error_of(pg::decode_bind(concat({names, hex("00 00 00 01 00 00 00 09 31 00 00")}))) ==
              pg::Error::BadLength);
        CHECK(error_of(pg::decode_bind(concat({names, hex("00 00 00 01 7f ff ff ff 00 00")}))) ==
              pg::Error::BadLength);
        // names without their NULs
        CHECK(error_of(pg::decode_bind(bytes_of("portal"))) == pg::Error::MissingTerminator);
        CHECK(error_of(pg::decode_bind(bytes_of(with_nuls("\0stmt")))) ==
              pg::Error::MissingTerminator);
    }
}

TEST_CASE("Describe and Close: a kind byte and a name", "[pg][frontend]") {
    auto d = pg::decode_describe(body(kPgbenchDescribePortal));
    REQUIRE(d);
    CHECK(d->kind == 'P');
    CHECK(d->name.empty());
    CHECK(to_hex(pg::encode(pg::describe('P', ""))) == to_hex(hex(kPgbenchDescribePortal)));

    const Bytes close_statement = pg::encode(pg::close('S', "P_0"));
    CHECK(to_hex(close_statement) == to_hex(hex("43 00 00 00 09 53 50 5f 30 00")));
    auto c = pg::decode_close(body_of(close_statement));
    REQUIRE(c);
    CHECK(c->kind == 'S');
    CHECK(c->name == "P_0");

    every_prefix_fails(body(kPgbenchDescribePortal), pg::decode_describe);
    every_prefix_fails(body_of(close_statement), pg::decode_close);
    // "invalid DESCRIBE message subtype" / "invalid CLOSE message subtype"
    CHECK(error_of(pg::decode_describe(bytes_of(with_nuls("X\0")))) == pg::Error::BadValue);
    CHECK(error_of(pg::decode_close(bytes_of(with_nuls("p\0")))) == pg::Error::BadValue);
    CHECK(error_of(pg::decode_describe(bytes_of("Sname"))) == pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_close(with_trailing_byte(body_of(close_statement)))) ==
          pg::Error::TrailingBytes);
}

TEST_CASE("Execute: a portal and a row limit", "[pg][frontend]") {
    auto e = pg::decode_execute(body(kPgbenchExecute));
    REQUIRE(e);
    CHECK(e->portal.empty());
    CHECK(e->max_rows == 0);
    CHECK(to_hex(pg::encode(pg::execute("", 0))) == to_hex(hex(kPgbenchExecute)));

    const Bytes limited = pg::encode(pg::execute("c1", 100));
    CHECK(to_hex(limited) == to_hex(hex("45 00 00 00 0b 63 31 00 00 00 00 64")));
    auto back = pg::decode_execute(body_of(limited));
    REQUIRE(back);
    CHECK(back->portal == "c1");
    CHECK(back->max_rows == 100);

    every_prefix_fails(body(kPgbenchExecute), pg::decode_execute);
    CHECK(error_of(pg::decode_execute(hex("00 00 00"))) == pg::Error::Truncated);
    CHECK(error_of(pg::decode_execute(with_trailing_byte(body(kPgbenchExecute)))) ==
          pg::Error::TrailingBytes);
}

TEST_CASE("Sync, Flush and Terminate have no body", "[pg][frontend]") {
    CHECK(to_hex(pg::encode(pg::sync())) == to_hex(hex(kPgbenchSync)));
    CHECK(to_hex(pg::encode(pg::terminate())) == to_hex(hex(kPsqlTerminate)));
    CHECK(to_hex(pg::encode(pg::flush())) == to_hex(hex("48 00 00 00 04")));
}

TEST_CASE("PasswordMessage: cleartext and md5 as psql sends them", "[pg][frontend]") {
    auto clear = pg::decode_password(body(kPsqlPassword));
    REQUIRE(clear);
    CHECK(*clear == "pwpass");
    CHECK(to_hex(pg::encode(pg::password("pwpass"))) == to_hex(hex(kPsqlPassword)));

    auto md5 = pg::decode_password(body(kPsqlMd5Password));
    REQUIRE(md5);
    CHECK(*md5 == "md5a4e4ad913da9023410ed468ab144e383");
    CHECK(to_hex(pg::encode(pg::password(*md5))) == to_hex(hex(kPsqlMd5Password)));

    every_prefix_fails(body(kPsqlPassword), pg::decode_password);
    // PostgreSQL: "invalid password packet size" unless the string fills the body.
    CHECK(error_of(pg::decode_password(bytes_of(with_nuls("pw\0x\0")))) ==
          pg::Error::TrailingBytes);
    CHECK(error_of(pg::decode_password(bytes_of("pwpass"))) == pg::Error::MissingTerminator);
    // An empty password is a well-formed message; refusing it is the server's business.
    auto empty = pg::decode_password(Bytes{0});
    REQUIRE(empty);
    CHECK(empty->empty());
}

TEST_CASE("SASLInitialResponse and SASLResponse as psql sends them", "[pg][frontend]") {
    SECTION("SASLInitialResponse") {
        auto s = pg::decode_sasl_initial_response(body(kPsqlSaslInitialResponse));
        REQUIRE(s);
        CHECK(s->mechanism == "SCRAM-SHA-256");
        REQUIRE(s->data);
        CHECK(text_of(*s->data) == "n,,n=,r=atH2aMuRY3zlt8uD8XRHvbeK");
        CHECK(to_hex(pg::encode(pg::sasl_initial_response(s->mechanism, *s->data))) ==
              to_hex(hex(kPsqlSaslInitialResponse)));
    }
    SECTION("no initial data: length -1") {
        const Bytes none = concat({bytes_of(with_nuls("SCRAM-SHA-256\0")), hex("ff ff ff ff")});
        auto s = pg::decode_sasl_initial_response(none);
        REQUIRE(s);
        CHECK_FALSE(s->data);
        // and empty data is not "none"
        const Bytes empty = concat({bytes_of(with_nuls("SCRAM-SHA-256\0")), hex("00 00 00 00")});
        auto e = pg::decode_sasl_initial_response(empty);
        REQUIRE(e);
        REQUIRE(e->data);
        CHECK(e->data->empty());
        CHECK(pg::sasl_initial_response("SCRAM-SHA-256", {}).body == empty);
    }
    SECTION("malformed") {
        every_prefix_fails(body(kPsqlSaslInitialResponse), pg::decode_sasl_initial_response);
        const Bytes mechanism = bytes_of(with_nuls("SCRAM-SHA-256\0"));
        CHECK(error_of(pg::decode_sasl_initial_response(mechanism)) == pg::Error::Truncated);
        CHECK(error_of(pg::decode_sasl_initial_response(concat({mechanism, hex("ff ff ff fe")}))) ==
              pg::Error::BadLength);
        CHECK(error_of(pg::decode_sasl_initial_response(
                  concat({mechanism, hex("00 00 00 05 6e 2c 2c")}))) == pg::Error::BadLength);
        CHECK(error_of(pg::decode_sasl_initial_response(
                  concat({mechanism, hex("00 00 00 01 6e 2c")}))) == pg::Error::TrailingBytes);
        CHECK(error_of(pg::decode_sasl_initial_response(
                  concat({mechanism, hex("ff ff ff ff 00")}))) == pg::Error::TrailingBytes);
        CHECK(error_of(pg::decode_sasl_initial_response(bytes_of("SCRAM-SHA-256"))) ==
              pg::Error::MissingTerminator);
    }
    SECTION("SASLResponse: the body is the client-final-message") {
        const Bytes captured = load_lines("psql15_scram_client.hex").at(2);
        const pg::Message m = message_of(captured);
        CHECK(m.type == pg::frontend::kPassword);
        CHECK(text_of(m.body).starts_with("c=biws,r=atH2aMuRY3zlt8uD8XRHvbeK"));
        CHECK(pg::encode(pg::sasl_response(m.body)) == captured);
    }
}
