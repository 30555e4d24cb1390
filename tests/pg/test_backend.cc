#include <optional>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include <pg/messages.h>

#include "pg_test_util.h"

using namespace pg_test;

namespace {

// Messages captured from PostgreSQL 15.18 answering psql 15 and pgbench 15; the files under
// vectors/ hold the whole sessions.

// scram-sha-256 user: AuthenticationSASL offering SCRAM-SHA-256 only (no SSL, so no -PLUS).
const char* const kAuthSasl =
    "52 00 00 00 17 00 00 00 0a 53 43 52 41 4d 2d 53 48 41 2d 32 35 36 00 00";
// md5 user: AuthenticationMD5Password with salt a1365cdb.
const char* const kAuthMd5 = "52 00 00 00 0c 00 00 00 05 a1 36 5c db";
// password user: AuthenticationCleartextPassword.
const char* const kAuthCleartext = "52 00 00 00 08 00 00 00 03";
const char* const kAuthOk = "52 00 00 00 08 00 00 00 00";
// BackendKeyData of protocol 3.0: pid 0x7b63, a 4-byte key.
const char* const kBackendKeyData = "4b 00 00 00 0c 00 00 7b 63 50 c5 d8 23";
const char* const kReadyForQueryIdle = "5a 00 00 00 05 49";
// SELECT 1: RowDescription "?column?" int4, DataRow "1", CommandComplete "SELECT 1".
const char* const kRowDescriptionSelect1 = "54 00 00 00 21 00 01 3f 63 6f 6c 75 6d 6e 3f 00 00 00 "
                                           "00 00 00 00 00 00 00 17 00 04 ff ff ff ff 00 00";
const char* const kDataRowSelect1 = "44 00 00 00 0b 00 01 00 00 00 01 31";
const char* const kCommandCompleteSelect1 = "43 00 00 00 0d 53 45 4c 45 43 54 20 31 00";
// "SELEC 1": ErrorResponse 42601 with position, file, line and routine.
const char* const kSyntaxError =
    "45 00 00 00 5d 53 45 52 52 4f 52 00 56 45 52 52 4f 52 00 43 34 32 36 30 31 00 4d 73 79 6e "
    "74 61 78 20 65 72 72 6f 72 20 61 74 20 6f 72 20 6e 65 61 72 20 22 53 45 4c 45 43 22 00 50 "
    "31 00 46 73 63 61 6e 2e 6c 00 4c 31 31 38 38 00 52 73 63 61 6e 6e 65 72 5f 79 79 65 72 72 "
    "6f 72 00 00";
// A raw client asked for 3.2 and _pq_.tlslab_probe: NegotiateProtocolVersion 3.0, one option.
const char* const kNegotiate = "76 00 00 00 1e 00 03 00 00 00 00 00 01 5f 70 71 5f 2e 74 6c 73 "
                               "6c 61 62 5f 70 72 6f 62 65 00";

Bytes body(const char* message_hex) {
    return body_of(hex(message_hex));
}

pg::AuthRequest auth_ok(const Bytes& message) {
    auto a = pg::decode_auth_request(body_of(message));
    REQUIRE(a);
    return *a;
}

} // namespace

TEST_CASE("AuthenticationSASL, SASLContinue and SASLFinal of a captured SCRAM login",
          "[pg][backend][auth]") {
    const auto lines = load_lines("psql15_scram_server.hex");

    const auto sasl = auth_ok(hex(kAuthSasl));
    CHECK(sasl.code == 10);
    CHECK(sasl.known());
    CHECK(sasl.mechanisms == std::vector<std::string>{"SCRAM-SHA-256"});
    CHECK(to_hex(pg::encode(pg::auth_sasl({"SCRAM-SHA-256"}))) == to_hex(hex(kAuthSasl)));
    CHECK(to_hex(pg::encode(pg::encode_auth_request(sasl))) == to_hex(hex(kAuthSasl)));
    CHECK(lines.at(0) == hex(kAuthSasl));

    const auto first = auth_ok(lines.at(1));
    CHECK(first.code == static_cast<std::uint32_t>(pg::AuthCode::SaslContinue));
    CHECK(text_of(first.data) ==
          "r=atH2aMuRY3zlt8uD8XRHvbeKJ9IcWGCPKImBUpbV7yxdcnF+,s=oAxYyWbpH0egYBHlIzBX9g==,i=4096");
    CHECK(pg::encode(pg::auth_sasl_continue(first.data)) == lines.at(1));
    CHECK(pg::encode(pg::encode_auth_request(first)) == lines.at(1));

    const auto final_ = auth_ok(lines.at(2));
    CHECK(final_.code == static_cast<std::uint32_t>(pg::AuthCode::SaslFinal));
    CHECK(text_of(final_.data) == "v=5Bn2c8MseBDzzGR0IidPQA1ih4vKuTmUeIcS+A811YQ=");
    CHECK(pg::encode(pg::auth_sasl_final(final_.data)) == lines.at(2));
    CHECK(pg::encode(pg::encode_auth_request(final_)) == lines.at(2));

    const auto ok = auth_ok(lines.at(3));
    CHECK(ok.code == 0);
    CHECK(to_hex(pg::encode(pg::auth_ok())) == to_hex(hex(kAuthOk)));
}

TEST_CASE("AuthenticationSASL with channel binding offered", "[pg][backend][auth]") {
    // Over TLS PostgreSQL lists SCRAM-SHA-256-PLUS first (protocol docs, "SASL Authentication").
    const pg::Message m = pg::auth_sasl({"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
    CHECK(to_hex(pg::encode(m)) ==
          to_hex(concat({hex("52 00 00 00 2a 00 00 00 0a"),
                         bytes_of(with_nuls("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))})));
    auto a = pg::decode_auth_request(m.body);
    REQUIRE(a);
    CHECK(a->mechanisms == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
    // The proxy strips -PLUS by rewriting the list.
    a->mechanisms.erase(a->mechanisms.begin());
    CHECK(to_hex(pg::encode(pg::encode_auth_request(*a))) == to_hex(hex(kAuthSasl)));
}

TEST_CASE("AuthenticationMD5Password and AuthenticationCleartextPassword", "[pg][backend][auth]") {
    const auto md5 = auth_ok(hex(kAuthMd5));
    CHECK(md5.code == 5);
    CHECK(to_hex(md5.salt) == "a1365cdb");
    const std::array<std::uint8_t, 4> salt{0xa1, 0x36, 0x5c, 0xdb};
    CHECK(to_hex(pg::encode(pg::auth_md5_password(salt))) == to_hex(hex(kAuthMd5)));
    CHECK(to_hex(pg::encode(pg::encode_auth_request(md5))) == to_hex(hex(kAuthMd5)));

    const auto clear = auth_ok(hex(kAuthCleartext));
    CHECK(clear.code == 3);
    CHECK(to_hex(pg::encode(pg::auth_cleartext_password())) == to_hex(hex(kAuthCleartext)));
}

TEST_CASE("Authentication requests the codec does not know are kept raw", "[pg][backend][auth]") {
    // 6 was SCMCredential (removed from PostgreSQL); 99 is nothing.
    for (std::uint32_t code : {1U, 4U, 6U, 13U, 99U, 0xFFFFFFFFU}) {
        CAPTURE(code);
        pg::AuthRequest r;
        r.code = code;
        r.data = {1, 2, 3};
        CHECK_FALSE(r.known());
        const pg::Message m = pg::encode_auth_request(r);
        auto back = pg::decode_auth_request(m.body);
        REQUIRE(back);
        CHECK(back->code == code);
        CHECK(back->data == r.data);
        CHECK(pg::encode_auth_request(*back).body == m.body);
    }
    // GSS continue data passes through.
    pg::AuthRequest gss;
    gss.code = static_cast<std::uint32_t>(pg::AuthCode::GssContinue);
    gss.data = {0x60, 0x82};
    auto back = pg::decode_auth_request(pg::encode_auth_request(gss).body);
    REQUIRE(back);
    CHECK(back->data == gss.data);
}

TEST_CASE("Malformed authentication requests", "[pg][backend][auth]") {
    CHECK(error_of(pg::decode_auth_request({})) == pg::Error::Truncated);
    CHECK(error_of(pg::decode_auth_request(hex("00 00 00"))) == pg::Error::Truncated);
    // Ok, cleartext, KerberosV5, GSS and SSPI carry nothing else.
    for (const char* code : {"00", "02", "03", "07", "09"}) {
        CAPTURE(code);
        CHECK(error_of(pg::decode_auth_request(concat({hex("00 00 00"), hex(code), hex("00")}))) ==
              pg::Error::TrailingBytes);
    }
    // MD5: exactly 4 bytes of salt.
    every_prefix_fails(body(kAuthMd5), pg::decode_auth_request);
    CHECK(error_of(pg::decode_auth_request(with_trailing_byte(body(kAuthMd5)))) ==
          pg::Error::TrailingBytes);
    // SASL: the list must end with an empty name, and nothing may follow it.
    every_prefix_fails(body(kAuthSasl), pg::decode_auth_request);
    CHECK(error_of(pg::decode_auth_request(hex("00 00 00 0a"))) == pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_auth_request(
              concat({hex("00 00 00 0a"), bytes_of(with_nuls("SCRAM-SHA-256\0"))}))) ==
          pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_auth_request(with_trailing_byte(body(kAuthSasl), 'x'))) ==
          pg::Error::TrailingBytes);
    // An empty list is well formed; the client is the one to give up.
    auto empty = pg::decode_auth_request(hex("00 00 00 0a 00"));
    REQUIRE(empty);
    CHECK(empty->mechanisms.empty());
}

TEST_CASE("to_string names every authentication code", "[pg][backend][auth]") {
    CHECK(pg::to_string(pg::AuthCode::Ok) == "AuthenticationOk");
    CHECK(pg::to_string(pg::AuthCode::KerberosV5) == "AuthenticationKerberosV5");
    CHECK(pg::to_string(pg::AuthCode::CleartextPassword) == "AuthenticationCleartextPassword");
    CHECK(pg::to_string(pg::AuthCode::Md5Password) == "AuthenticationMD5Password");
    CHECK(pg::to_string(pg::AuthCode::Gss) == "AuthenticationGSS");
    CHECK(pg::to_string(pg::AuthCode::GssContinue) == "AuthenticationGSSContinue");
    CHECK(pg::to_string(pg::AuthCode::Sspi) == "AuthenticationSSPI");
    CHECK(pg::to_string(pg::AuthCode::Sasl) == "AuthenticationSASL");
    CHECK(pg::to_string(pg::AuthCode::SaslContinue) == "AuthenticationSASLContinue");
    CHECK(pg::to_string(pg::AuthCode::SaslFinal) == "AuthenticationSASLFinal");
    CHECK(pg::to_string(static_cast<pg::AuthCode>(6)) == "unknown authentication request");
}

TEST_CASE("ParameterStatus: the thirteen a PostgreSQL 15 session starts with", "[pg][backend]") {
    const auto lines = load_lines("psql15_scram_server.hex");
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"application_name", "tlslab"},
        {"client_encoding", "UTF8"},
        {"DateStyle", "ISO, MDY"},
        {"default_transaction_read_only", "off"},
        {"in_hot_standby", "off"},
        {"integer_datetimes", "on"},
        {"IntervalStyle", "postgres"},
        {"is_superuser", "off"},
        {"server_encoding", "UTF8"},
        {"server_version", "15.18 (Debian 15.18-0+deb12u1)"},
        {"session_authorization", "scram_user"},
        {"standard_conforming_strings", "on"},
        {"TimeZone", "Etc/UTC"},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const Bytes& captured = lines.at(4 + i);
        CAPTURE(i);
        REQUIRE(captured.at(0) == pg::backend::kParameterStatus);
        auto s = pg::decode_parameter_status(body_of(captured));
        REQUIRE(s);
        CHECK(s->name == expected[i].first);
        CHECK(s->value == expected[i].second);
        CHECK(pg::encode(pg::parameter_status(s->name, s->value)) == captured);
        every_prefix_fails(body_of(captured), pg::decode_parameter_status);
        CHECK(error_of(pg::decode_parameter_status(with_trailing_byte(body_of(captured)))) ==
              pg::Error::TrailingBytes);
    }
    // An empty value: the raw 3.2 client sent no application_name.
    const Bytes empty = load_lines("raw32_negotiate_server.hex").at(2);
    auto s = pg::decode_parameter_status(body_of(empty));
    REQUIRE(s);
    CHECK(s->name == "application_name");
    CHECK(s->value.empty());
    CHECK(error_of(pg::decode_parameter_status(bytes_of(with_nuls("TimeZone\0UTC")))) ==
          pg::Error::MissingTerminator);
}

TEST_CASE("BackendKeyData: 4 bytes in 3.0, 4 to 256 in 3.2", "[pg][backend]") {
    const auto k = pg::decode_backend_key_data(body(kBackendKeyData));
    REQUIRE(k);
    CHECK(k->process_id == 0x7b63);
    CHECK(to_hex(k->secret_key) == "50c5d823");
    CHECK(to_hex(pg::encode(pg::backend_key_data(k->process_id, k->secret_key))) ==
          to_hex(hex(kBackendKeyData)));

    // PostgreSQL 18 sends 32 bytes to a 3.2 client; the protocol allows up to 256.
    for (std::size_t n : {4U, 32U, 256U}) {
        CAPTURE(n);
        Bytes key(n);
        for (std::size_t i = 0; i < n; ++i) {
            key[i] = static_cast<std::uint8_t>(255 - i);
        }
        const pg::Message m = pg::backend_key_data(77, key);
        CHECK(m.body.size() == 4 + n);
        auto back = pg::decode_backend_key_data(m.body);
        REQUIRE(back);
        CHECK(back->process_id == 77);
        CHECK(back->secret_key == key);
    }
    // The protocol's minimum is 4, libpq 18 refuses shorter and longer keys.
    CHECK(error_of(pg::decode_backend_key_data(hex("00 00 00 4d"))) == pg::Error::BadLength);
    CHECK(error_of(pg::decode_backend_key_data(hex("00 00 00 4d 01 02 03"))) ==
          pg::Error::BadLength);
    CHECK(error_of(pg::decode_backend_key_data(concat({hex("00 00 00 4d"), Bytes(257, 1)}))) ==
          pg::Error::TooLong);
    CHECK(error_of(pg::decode_backend_key_data(hex("00 00 7b"))) == pg::Error::Truncated);
    CHECK(error_of(pg::decode_backend_key_data({})) == pg::Error::Truncated);
}

TEST_CASE("ReadyForQuery: the transaction status", "[pg][backend]") {
    auto s = pg::decode_ready_for_query(body(kReadyForQueryIdle));
    REQUIRE(s);
    CHECK(*s == 'I');
    CHECK(to_hex(pg::encode(pg::ready_for_query('I'))) == to_hex(hex(kReadyForQueryIdle)));
    for (char status : {'T', 'E'}) {
        auto back = pg::decode_ready_for_query(pg::ready_for_query(status).body);
        REQUIRE(back);
        CHECK(*back == status);
    }
    CHECK(error_of(pg::decode_ready_for_query({})) == pg::Error::Truncated);
    CHECK(error_of(pg::decode_ready_for_query(bytes_of("X"))) == pg::Error::BadValue);
    CHECK(error_of(pg::decode_ready_for_query(bytes_of("II"))) == pg::Error::TrailingBytes);
}

TEST_CASE("RowDescription, DataRow and CommandComplete of SELECT 1", "[pg][backend]") {
    auto fields = pg::decode_row_description(body(kRowDescriptionSelect1));
    REQUIRE(fields);
    REQUIRE(fields->size() == 1);
    const auto& f = fields->at(0);
    CHECK(f.name == "?column?");
    CHECK(f.table_oid == 0);
    CHECK(f.column == 0);
    CHECK(f.type_oid == 23); // int4
    CHECK(f.type_size == 4);
    CHECK(f.type_modifier == -1);
    CHECK(f.format == 0);
    CHECK(to_hex(pg::encode(pg::row_description(*fields))) == to_hex(hex(kRowDescriptionSelect1)));
    pg::FieldDescription built;
    built.name = "?column?";
    built.type_oid = 23;
    built.type_size = 4;
    CHECK(to_hex(pg::encode(pg::row_description({built}))) == to_hex(hex(kRowDescriptionSelect1)));

    auto row = pg::decode_data_row(body(kDataRowSelect1));
    REQUIRE(row);
    CHECK(*row == std::vector<std::optional<std::string>>{"1"});
    CHECK(to_hex(pg::encode(pg::data_row({"1"}))) == to_hex(hex(kDataRowSelect1)));

    auto tag = pg::decode_command_complete(body(kCommandCompleteSelect1));
    REQUIRE(tag);
    CHECK(*tag == "SELECT 1");
    CHECK(to_hex(pg::encode(pg::command_complete("SELECT 1"))) ==
          to_hex(hex(kCommandCompleteSelect1)));
}

TEST_CASE("RowDescription and DataRow of pgbench's two columns, one NULL", "[pg][backend]") {
    // SELECT $1::int AS n, NULL::text AS t with $1 = '42'.
    const auto lines = load_lines("pgbench15_extended_server.hex");
    const Bytes& t = lines.at(18);
    const Bytes& d = lines.at(19);
    REQUIRE(t.at(0) == pg::backend::kRowDescription);
    REQUIRE(d.at(0) == pg::backend::kDataRow);
    auto fields = pg::decode_row_description(body_of(t));
    REQUIRE(fields);
    REQUIRE(fields->size() == 2);
    CHECK(fields->at(0).name == "n");
    CHECK(fields->at(0).type_oid == 23);
    CHECK(fields->at(1).name == "t");
    CHECK(fields->at(1).type_oid == 25); // text
    CHECK(fields->at(1).type_size == -1);
    CHECK(fields->at(1).type_modifier == -1);
    CHECK(pg::encode(pg::row_description(*fields)) == t);

    auto row = pg::decode_data_row(body_of(d));
    REQUIRE(row);
    CHECK(*row == std::vector<std::optional<std::string>>{"42", std::nullopt});
    CHECK(pg::encode(pg::data_row(*row)) == d);

    every_prefix_fails(body_of(t), pg::decode_row_description);
    every_prefix_fails(body_of(d), pg::decode_data_row);
    CHECK(error_of(pg::decode_row_description(with_trailing_byte(body_of(t)))) ==
          pg::Error::TrailingBytes);
    CHECK(error_of(pg::decode_data_row(with_trailing_byte(body_of(d)))) ==
          pg::Error::TrailingBytes);
    // A field without its six fixed values, a name without its NUL.
    CHECK(error_of(pg::decode_row_description(concat(
              {hex("00 01"), bytes_of(with_nuls("n\0")), hex("00 00 00 00 00 00 00 00 00 17")}))) ==
          pg::Error::Truncated);
    CHECK(error_of(pg::decode_row_description(concat({hex("00 01"), bytes_of("n")}))) ==
          pg::Error::MissingTerminator);
    // Column lengths below -1 or beyond the body.
    CHECK(error_of(pg::decode_data_row(hex("00 01 ff ff ff fe"))) == pg::Error::BadLength);
    CHECK(error_of(pg::decode_data_row(hex("00 01 00 00 00 03 34 32"))) == pg::Error::BadLength);
    CHECK(error_of(pg::decode_data_row(hex("00 02 00 00 00 01 31"))) == pg::Error::Truncated);
    // No columns at all.
    auto none = pg::decode_data_row(hex("00 00"));
    REQUIRE(none);
    CHECK(none->empty());
}

TEST_CASE("ErrorResponse: psql's syntax error and the FATAL of a wrong password",
          "[pg][backend][notice]") {
    auto n = pg::decode_notice(body(kSyntaxError));
    REQUIRE(n);
    using Field = std::pair<char, std::string>;
    CHECK(n->fields == std::vector<Field>{{'S', "ERROR"},
                                          {'V', "ERROR"},
                                          {'C', "42601"},
                                          {'M', "syntax error at or near \"SELEC\""},
                                          {'P', "1"},
                                          {'F', "scan.l"},
                                          {'L', "1188"},
                                          {'R', "scanner_yyerror"}});
    CHECK(n->severity() == "ERROR");
    CHECK(n->sqlstate() == "42601");
    CHECK(n->message() == "syntax error at or near \"SELEC\"");
    CHECK(n->field('P') == "1");
    CHECK_FALSE(n->field('D'));
    CHECK(to_hex(pg::encode(pg::error_response(*n))) == to_hex(hex(kSyntaxError)));
    CHECK(load_lines("psql15_password_server.hex").at(17) == hex(kSyntaxError));

    const Bytes fatal = load_lines("psql15_scram_wrong_password_server.hex").at(2);
    auto f = pg::decode_notice(body_of(fatal));
    REQUIRE(f);
    CHECK(f->severity() == "FATAL");
    CHECK(f->sqlstate() == "28P01");
    CHECK(f->message() == "password authentication failed for user \"scram_user\"");
    CHECK(pg::encode(pg::error_response(*f)) == fatal);
}

TEST_CASE("NoticeResponse: RAISE NOTICE", "[pg][backend][notice]") {
    const Bytes captured = load_lines("psql15_notice_server.hex").at(16);
    REQUIRE(captured.at(0) == pg::backend::kNoticeResponse);
    auto n = pg::decode_notice(body_of(captured));
    REQUIRE(n);
    CHECK(n->severity() == "NOTICE");
    CHECK(n->sqlstate() == "00000");
    CHECK(n->message() == "hi");
    CHECK(n->field('W') == "PL/pgSQL function inline_code_block line 1 at RAISE");
    CHECK(pg::encode(pg::notice_response(*n)) == captured);
}

TEST_CASE("error builds S, V, C, M and D", "[pg][backend][notice]") {
    const pg::Notice n = pg::error("FATAL", "28P01", "password authentication failed");
    using Field = std::pair<char, std::string>;
    CHECK(n.fields == std::vector<Field>{{'S', "FATAL"},
                                         {'V', "FATAL"},
                                         {'C', "28P01"},
                                         {'M', "password authentication failed"}});
    CHECK(to_hex(pg::encode(pg::error_response(n))) ==
          to_hex(concat({hex("45 00 00 00 3a"),
                         bytes_of(with_nuls("SFATAL\0VFATAL\0C28P01\0"
                                            "Mpassword authentication failed\0\0"))})));
    const pg::Notice d = pg::error("ERROR", "0A000", "not here", "the lab");
    CHECK(d.field('D') == "the lab");
    CHECK(d.fields.size() == 5);
    // A severity that is not the localized one: V wins in severity().
    pg::Notice localized;
    localized.fields = {{'S', "FEHLER"}, {'V', "ERROR"}};
    CHECK(localized.severity() == "ERROR");
    pg::Notice old;
    old.fields = {{'S', "ERROR"}};
    CHECK(old.severity() == "ERROR");
}

TEST_CASE("Malformed ErrorResponse and NoticeResponse bodies", "[pg][backend][notice]") {
    every_prefix_fails(body(kSyntaxError), pg::decode_notice);
    CHECK(error_of(pg::decode_notice({})) == pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_notice(bytes_of("SERROR"))) == pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_notice(bytes_of(with_nuls("SERROR\0")))) ==
          pg::Error::MissingTerminator);
    CHECK(error_of(pg::decode_notice(with_trailing_byte(body(kSyntaxError)))) ==
          pg::Error::TrailingBytes);
    auto empty = pg::decode_notice(Bytes{0});
    REQUIRE(empty);
    CHECK(empty->fields.empty());
    CHECK(empty->severity().empty());
    // A field code of zero cannot be sent: it would end the list.
    pg::Notice n;
    n.fields = {{'S', "ERROR"}, {'\0', "lost"}, {'M', "m"}};
    auto back = pg::decode_notice(pg::error_response(n).body);
    REQUIRE(back);
    CHECK(back->fields.size() == 2);
}

TEST_CASE("Messages without a body", "[pg][backend]") {
    // ParseComplete and BindComplete as pgbench got them.
    const auto lines = load_lines("pgbench15_extended_server.hex");
    CHECK(pg::encode(pg::parse_complete()) == lines.at(16));
    CHECK(pg::encode(pg::bind_complete()) == lines.at(17));
    CHECK(to_hex(pg::encode(pg::close_complete())) == to_hex(hex("33 00 00 00 04")));
    CHECK(to_hex(pg::encode(pg::no_data())) == to_hex(hex("6e 00 00 00 04")));
    CHECK(to_hex(pg::encode(pg::portal_suspended())) == to_hex(hex("73 00 00 00 04")));
    CHECK(to_hex(pg::encode(pg::empty_query_response())) == to_hex(hex("49 00 00 00 04")));
}

TEST_CASE("ParameterDescription", "[pg][backend]") {
    const pg::Message m = pg::parameter_description({23, 25});
    CHECK(to_hex(pg::encode(m)) == to_hex(hex("74 00 00 00 0e 00 02 00 00 00 17 00 00 00 19")));
    auto oids = pg::decode_parameter_description(m.body);
    REQUIRE(oids);
    CHECK(*oids == std::vector<std::uint32_t>{23, 25});
    every_prefix_fails(m.body, pg::decode_parameter_description);
    CHECK(error_of(pg::decode_parameter_description(with_trailing_byte(m.body))) ==
          pg::Error::TrailingBytes);
}

TEST_CASE("NegotiateProtocolVersion: PostgreSQL 15 answering a 3.2 client", "[pg][backend]") {
    auto v = pg::decode_negotiate_protocol_version(body(kNegotiate));
    REQUIRE(v);
    CHECK(v->version == pg::kProtocol30);
    CHECK(v->unrecognized_options == std::vector<std::string>{"_pq_.tlslab_probe"});
    // The builder writes the whole version, from a minor or from a whole code.
    CHECK(to_hex(pg::encode(pg::negotiate_protocol_version(0, {"_pq_.tlslab_probe"}))) ==
          to_hex(hex(kNegotiate)));
    CHECK(to_hex(pg::encode(pg::negotiate_protocol_version(
              pg::kProtocol30, {"_pq_.tlslab_probe"}))) == to_hex(hex(kNegotiate)));
    CHECK(to_hex(pg::encode(pg::negotiate_protocol_version(2, {}))) ==
          to_hex(hex("76 00 00 00 0c 00 03 00 02 00 00 00 00")));
    CHECK(pg::negotiate_protocol_version(pg::kProtocol32, {}).body ==
          pg::negotiate_protocol_version(2, {}).body);

    every_prefix_fails(body(kNegotiate), pg::decode_negotiate_protocol_version);
    CHECK(error_of(pg::decode_negotiate_protocol_version(with_trailing_byte(body(kNegotiate)))) ==
          pg::Error::TrailingBytes);
    CHECK(error_of(pg::decode_negotiate_protocol_version(hex("00 03 00 00 ff ff ff ff"))) ==
          pg::Error::BadValue);
    CHECK(error_of(pg::decode_negotiate_protocol_version(hex("00 03 00 00 00 00 00 02 61 00"))) ==
          pg::Error::MissingTerminator);
}
