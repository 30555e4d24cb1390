// Server responses: OK (with and without CLIENT_SESSION_TRACK, 0x00 and 0xFE headers), ERR
// (with and without '#', MariaDB progress), EOF, column definitions, text and binary rows, the
// COM_STMT_PREPARE response. Vectors are mariadbd 10.11 captures unless said otherwise.

#include <catch2/catch.hpp>

#include <mysql/constants.h>
#include <mysql/responses.h>

#include "mysql_test_util.h"

using namespace mysql_test;

namespace {

constexpr std::uint32_t kCaps41 = mysql::cap::Protocol41 | mysql::cap::Transactions;
constexpr std::uint32_t kCapsTrack = kCaps41 | mysql::cap::SessionTrack;

Bytes payload_at(const std::string& file, std::size_t index, const std::string& kind) {
    const auto packets = load_vectors(file);
    REQUIRE(index < packets.size());
    REQUIRE(packets[index].kind == kind);
    return packets[index].payload();
}

} // namespace

TEST_CASE("OK after authentication with CLIENT_SESSION_TRACK: schema change", "[mysql][ok]") {
    // mariadb -Dmysql: status SERVER_SESSION_STATE_CHANGED, empty info, state block
    // 01 (SESSION_TRACK_SCHEMA) 06 05 "mysql".
    const Bytes ok = payload_at("mariadb10.11_cli_db_password.hex", 2, "ok");
    CHECK(ok == hex("00 00 00 02 40 00 00 00 08 01 06 05 6D 79 73 71 6C"));
    CHECK(mysql::is_ok(ok));
    auto d = mysql::decode_ok(ok, kCapsTrack);
    REQUIRE(d);
    CHECK(d->header == 0x00);
    CHECK(d->status == (mysql::status::Autocommit | mysql::status::SessionStateChanged));
    CHECK(d->info.empty());
    CHECK(d->session_state == hex("01 06 05 6D 79 73 71 6C"));
    CHECK(mysql::encode_ok(*d, kCapsTrack) == ok);
    // Read without the capability, the state block is left over.
    CHECK(mysql::decode_ok(ok, kCaps41).error() == mysql::Error::TrailingBytes);
}

TEST_CASE("OK with info, with and without CLIENT_SESSION_TRACK", "[mysql][ok]") {
    // INSERT ... VALUES (1),(2): both sessions carry the info as a lenenc string (the MySQL
    // docs' string<EOF> for the no-session-track case is not what servers send).
    for (const auto& [file, caps] :
         {std::pair<std::string, std::uint32_t>{"mariadb10.11_raw_eof.hex", kCapsTrack},
          std::pair<std::string, std::uint32_t>{"mariadb10.11_raw_no_session_track.hex",
                                                kCaps41}}) {
        CAPTURE(file);
        const Bytes ok = payload_at(file, 6, "ok");
        auto d = mysql::decode_ok(ok, caps);
        REQUIRE(d);
        CHECK(d->affected_rows == 2);
        CHECK(d->last_insert_id == 0);
        CHECK(d->info == "Records: 2  Duplicates: 0  Warnings: 0");
        CHECK(mysql::encode_ok(*d, caps) == ok);
    }
    // An OK without info: the packet ends after the warnings.
    const Bytes plain = payload_at("mariadb10.11_raw_no_session_track.hex", 2, "ok");
    CHECK(plain == hex("00 00 00 02 00 00 00"));
    auto d = mysql::decode_ok(plain, kCaps41);
    REQUIRE(d);
    CHECK(d->status == mysql::status::Autocommit);
    CHECK(mysql::encode_ok(*d, kCaps41) == plain);
    CHECK(mysql::encode_ok(*d, kCapsTrack) == plain);
}

TEST_CASE("OK forms by capability", "[mysql][ok]") {
    mysql::OkPacket ok;
    ok.affected_rows = 300;
    ok.last_insert_id = 7;
    ok.status = mysql::status::Autocommit;
    ok.warnings = 1;
    CHECK(mysql::encode_ok(ok, kCaps41) == hex("00 FC 2C 01 07 02 00 01 00"));
    CHECK(mysql::encode_ok(ok, mysql::cap::Transactions) == hex("00 FC 2C 01 07 02 00"));
    CHECK(mysql::encode_ok(ok, 0) == hex("00 FC 2C 01 07"));
    auto pre41 = mysql::decode_ok(hex("00 FC 2C 01 07"), 0);
    REQUIRE(pre41);
    CHECK(pre41->affected_rows == 300);
    CHECK(mysql::decode_ok(hex("00 FB 00 02 00 00 00"), kCaps41).error() == mysql::Error::BadValue);
    CHECK(mysql::decode_ok(hex("01 00 00 02 00 00 00"), kCaps41).error() == mysql::Error::BadValue);
}

TEST_CASE("EOF vs OK with the 0xFE header", "[mysql][ok][eof]") {
    // Without CLIENT_DEPRECATE_EOF: a 5-byte EOF ends the columns and the rows.
    const Bytes eof = payload_at("mariadb10.11_raw_eof.hex", 12, "eof");
    CHECK(eof == hex("FE 00 00 02 00"));
    CHECK(mysql::is_eof(eof));
    CHECK_FALSE(mysql::is_ok(eof));
    auto e = mysql::decode_eof(eof);
    REQUIRE(e);
    CHECK(e->status == mysql::status::Autocommit);
    CHECK(e->warnings == 0);
    CHECK(mysql::encode_eof(*e) == eof);
    CHECK(mysql::decode_eof(hex("FE 00 00 02 00 00 00")).error() == mysql::Error::TrailingBytes);
    CHECK(mysql::decode_eof(hex("FE 00 00")).error() == mysql::Error::Truncated);

    // With CLIENT_DEPRECATE_EOF: the rows end with an OK whose header is 0xFE. MariaDB sends
    // the short form (7 bytes), which by its length alone looks like an EOF: a caller that
    // agreed on CLIENT_DEPRECATE_EOF reads any 0xFE after rows as this OK.
    const Bytes fe_ok = payload_at("mariadb10.11_raw_deprecate_eof.hex", 13, "ok");
    CHECK(fe_ok == hex("FE 00 00 02 00 00 00"));
    CHECK(mysql::is_eof(fe_ok));
    auto o = mysql::decode_ok(fe_ok, kCapsTrack | mysql::cap::DeprecateEof);
    REQUIRE(o);
    CHECK(o->header == 0xFE);
    CHECK(mysql::encode_ok(*o, kCapsTrack) == fe_ok);

    // 9 bytes and more with 0xFE: an OK (or a text row starting with an 8-byte lenenc length).
    mysql::OkPacket long_ok;
    long_ok.header = 0xFE;
    long_ok.info = "ab";
    const Bytes long_fe = mysql::encode_ok(long_ok, kCaps41);
    CHECK(long_fe.size() == 10);
    CHECK(mysql::is_ok(long_fe));
    CHECK_FALSE(mysql::is_eof(long_fe));
    CHECK_FALSE(mysql::is_ok({}));
    CHECK_FALSE(mysql::is_eof({}));
    CHECK_FALSE(mysql::is_ok(hex("00 00")));
}

TEST_CASE("ERR with '#' and SQL state", "[mysql][err]") {
    const Bytes err = payload_at("mariadb10.11_cli_query.hex", 12, "err");
    CHECK(mysql::is_err(err));
    auto d = mysql::decode_err(err);
    REQUIRE(d);
    CHECK(d->code == 1046);
    CHECK(d->has_sql_state);
    CHECK(d->sql_state == "3D000");
    CHECK(d->message == "No database selected");
    CHECK(mysql::encode_err(*d) == err);

    const Bytes missing_table = payload_at("mariadb10.11_raw_eof.hex", 16, "err");
    auto m = mysql::decode_err(missing_table);
    REQUIRE(m);
    CHECK(m->code == 1146);
    CHECK(m->sql_state == "42S02");
    CHECK(m->message == "Table 'test.nosuch_table_xyz' doesn't exist");
}

TEST_CASE("ERR without '#' (before the capabilities are known)", "[mysql][err]") {
    // MySQL docs "ERR_Packet": without CLIENT_PROTOCOL_41 no marker and state follow.
    // 1040 Too many connections, as sent instead of a greeting.
    const Bytes err = hex("FF 10 04 54 6F 6F 20 6D 61 6E 79 20 63 6F 6E 6E 65 63 74 69 6F 6E 73");
    auto d = mysql::decode_err(err);
    REQUIRE(d);
    CHECK(d->code == 1040);
    CHECK_FALSE(d->has_sql_state);
    CHECK(d->message == "Too many connections");
    CHECK(mysql::encode_err(*d) == err);

    mysql::ErrPacket refuse;
    refuse.code = 3159;
    refuse.sql_state = "HY000";
    refuse.message = "Connections using insecure transport are prohibited while "
                     "--require_secure_transport=ON.";
    const Bytes wire = mysql::encode_err(refuse);
    CHECK(Bytes(wire.begin(), wire.begin() + 9) == hex("FF 57 0C 23 48 59 30 30 30"));
    CHECK(mysql::decode_err(wire)->message == refuse.message);
    CHECK(mysql::decode_err(hex("FF 01")).error() == mysql::Error::Truncated);
    CHECK(mysql::decode_err(hex("00 01 00")).error() == mysql::Error::BadValue);
}

TEST_CASE("MariaDB progress report (ERR 0xFFFF) is kept raw", "[mysql][err]") {
    // MariaDB KB "ERR_Packet": 0xFFFF, stage, max stage, 3-byte progress, lenenc info.
    const Bytes progress = hex("FF FF FF 01 02 10 27 00 05 61 6C 74 65 72");
    auto d = mysql::decode_err(progress);
    REQUIRE(d);
    CHECK(d->code == 0xFFFF);
    CHECK_FALSE(d->has_sql_state);
    CHECK(d->message.size() == 11);
    CHECK(mysql::encode_err(*d) == progress);
}

TEST_CASE("column definitions round-trip", "[mysql][column]") {
    std::size_t seen = 0;
    for (const auto& c : all_of_kind("column")) {
        const Bytes payload = c.payload();
        auto d = mysql::decode_column(payload);
        REQUIRE(d);
        CHECK(mysql::encode_column(*d) == payload);
        ++seen;
    }
    CHECK(seen > 40);
    // SELECT 1, NULL, 'x': the third column.
    auto x = mysql::decode_column(payload_at("mariadb10.11_cli_query.hex", 7, "column"));
    REQUIRE(x);
    CHECK(x->catalog == "def");
    CHECK(x->name == "x");
    CHECK(x->type == mysql::ColumnType::VarString);
    CHECK(x->character_set == mysql::charset::Utf8mb3GeneralCi);
    CHECK(x->column_length == 3);
    CHECK(x->flags == (mysql::column_flag::NotNull));
    CHECK(x->decimals == 39);
    CHECK(x->extended_metadata == std::optional<std::string>{""}); // MariaDB client: extended
    auto plain = mysql::decode_column(payload_at("mariadb10.11_raw_eof.hex", 11, "column"));
    REQUIRE(plain);
    CHECK_FALSE(plain->extended_metadata);
    CHECK(plain->name == "x");
    // A type byte that names no type.
    Bytes bad = mysql::encode_column(*x);
    bad[bad.size() - 6] = 0x30;
    CHECK(mysql::decode_column(bad).error() == mysql::Error::BadValue);
}

TEST_CASE("text row with NULL", "[mysql][row]") {
    const Bytes row = payload_at("mariadb10.11_cli_query.hex", 9, "text_row");
    CHECK(row == hex("01 31 FB 01 78"));
    auto d = mysql::decode_text_row(row, 3);
    REQUIRE(d);
    CHECK(*d == std::vector<mysql::Value>{"1", std::nullopt, "x"});
    CHECK(mysql::encode_text_row(*d) == row);
    CHECK(mysql::decode_text_row(row, 2).error() == mysql::Error::TrailingBytes);
    CHECK(mysql::decode_text_row(row, 4).error() == mysql::Error::Truncated);
}

TEST_CASE("binary row: LONGLONG, DOUBLE, VAR_STRING, DATETIME, NULL, bitmap offset 2",
          "[mysql][row]") {
    // The COM_STMT_EXECUTE response of SELECT ?, 1.5e0, 'abc', CAST(... AS DATETIME(3)),
    // NULL, 9223372036854775807 with ? = -5 (LONGLONG): its six column definitions and row.
    const auto packets = load_vectors("mariadb10.11_raw_deprecate_eof.hex");
    REQUIRE(packets.at(25).kind == "stmt_execute");
    std::vector<mysql::ColumnDefinition> columns;
    for (std::size_t i = 27; i < 33; ++i) {
        REQUIRE(packets.at(i).kind == "column");
        auto c = mysql::decode_column(packets[i].payload());
        REQUIRE(c);
        columns.push_back(*c);
    }
    CHECK(columns[0].type == mysql::ColumnType::LongLong);
    CHECK(columns[1].type == mysql::ColumnType::Double);
    CHECK(columns[2].type == mysql::ColumnType::VarString);
    CHECK(columns[3].type == mysql::ColumnType::DateTime);
    CHECK(columns[4].type == mysql::ColumnType::Null);
    CHECK(columns[5].type == mysql::ColumnType::LongLong);
    REQUIRE(packets.at(33).kind == "binary_row");
    const Bytes row = packets[33].payload();
    CHECK(row == hex("00 40 FB FF FF FF FF FF FF FF 00 00 00 00 00 00 F8 3F 03 61 62 63"
                     "0B E8 07 01 02 03 04 05 70 58 0A 00 FF FF FF FF FF FF FF 7F"));
    const std::vector<mysql::Value> values = {
        "-5", "1.5", "abc", "2024-01-02 03:04:05.678", std::nullopt, "9223372036854775807"};
    auto encoded = mysql::encode_binary_row(columns, values);
    REQUIRE(encoded);
    CHECK(*encoded == row);

    // The second execution bound NULL: bits 2 and 6 (columns 0 and 4) of the bitmap.
    REQUIRE(packets.at(43).kind == "binary_row");
    const Bytes row2 = packets[43].payload();
    std::vector<mysql::Value> values2 = values;
    values2[0] = std::nullopt;
    auto encoded2 = mysql::encode_binary_row(columns, values2);
    REQUIRE(encoded2);
    CHECK(*encoded2 == row2);
}

TEST_CASE("binary row: the other types and refusals", "[mysql][row]") {
    auto column = [](mysql::ColumnType t, std::uint16_t flags = 0) {
        mysql::ColumnDefinition c;
        c.type = t;
        c.flags = flags;
        return c;
    };
    const std::vector<mysql::ColumnDefinition> columns = {
        column(mysql::ColumnType::Tiny),
        column(mysql::ColumnType::Short, mysql::column_flag::Unsigned),
        column(mysql::ColumnType::Long),
        column(mysql::ColumnType::Float),
        column(mysql::ColumnType::Date),
        column(mysql::ColumnType::Time),
        column(mysql::ColumnType::DateTime),
        column(mysql::ColumnType::NewDecimal),
    };
    const std::vector<mysql::Value> values = {
        "-1", "65535", "-2", "0.5", "2024-02-29", "-25:01:02.5", "0000-00-00 00:00:00", "1.50"};
    auto row = mysql::encode_binary_row(columns, values);
    REQUIRE(row);
    // 8 columns + 2 offset bits: a 2-byte bitmap.
    CHECK(*row == hex("00 00 00  FF  FF FF  FE FF FF FF  00 00 00 3F  04 E8 07 02 1D"
                      "0C 01 01 00 00 00 01 01 02 20 A1 07 00  00  04 31 2E 35 30"));
    const std::vector<mysql::ColumnDefinition> one = {column(mysql::ColumnType::Tiny)};
    CHECK(mysql::encode_binary_row(one, std::vector<mysql::Value>{"128"}).error() ==
          mysql::Error::BadValue);
    CHECK(mysql::encode_binary_row(one, std::vector<mysql::Value>{"x"}).error() ==
          mysql::Error::BadValue);
    CHECK(mysql::encode_binary_row(one, std::vector<mysql::Value>{}).error() ==
          mysql::Error::BadValue);
    const std::vector<mysql::ColumnDefinition> dt = {column(mysql::ColumnType::DateTime)};
    CHECK(mysql::encode_binary_row(dt, std::vector<mysql::Value>{"2024-13-01"}).error() ==
          mysql::Error::BadValue);
}

TEST_CASE("COM_STMT_PREPARE response", "[mysql][prepare]") {
    const Bytes ok = payload_at("mariadb10.11_raw_eof.hex", 18, "prepare_ok");
    CHECK(ok == hex("00 01 00 00 00 06 00 01 00 00 00 00"));
    auto p = mysql::decode_prepare_ok(ok);
    REQUIRE(p);
    CHECK(p->statement_id == 1);
    CHECK(p->columns == 6);
    CHECK(p->params == 1);
    CHECK(p->warnings == 0);
    CHECK(mysql::encode_prepare_ok(*p) == ok);
    Bytes longer = ok;
    longer.push_back(1); // MySQL's metadata_follows byte (CLIENT_OPTIONAL_RESULTSET_METADATA)
    CHECK(mysql::decode_prepare_ok(longer).error() == mysql::Error::TrailingBytes);
}

TEST_CASE("names of commands and types", "[mysql][constants]") {
    CHECK(mysql::to_string(mysql::Command::Query) == "COM_QUERY");
    CHECK(mysql::to_string(mysql::Command::StmtExecute) == "COM_STMT_EXECUTE");
    CHECK(mysql::command_name(0x03) == "COM_QUERY");
    CHECK(mysql::command_name(0x1F) == "COM_RESET_CONNECTION");
    CHECK(mysql::command_name(0x7F) == "COM_0x7F");
    CHECK(mysql::command_name(0x21) == "COM_0x21");
    CHECK(mysql::to_string(mysql::ColumnType::VarString) == "MYSQL_TYPE_VAR_STRING");
    CHECK(mysql::is_column_type(0x14));
    CHECK_FALSE(mysql::is_column_type(0x15));
    CHECK(mysql::is_column_type(0xF2));
    CHECK_FALSE(mysql::is_column_type(0xF4));
    CHECK(mysql::is_column_type(0xFF));
}
