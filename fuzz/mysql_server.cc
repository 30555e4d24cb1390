// mysql_server: every MySQL packet the codec reads from a server: the greeting (HandshakeV10,
// MariaDB's extended capabilities), OK (session tracking), ERR, EOF, AuthSwitchRequest,
// AuthMoreData, column definitions, text rows and the COM_STMT_PREPARE answer. Round trips
// where the codec has an encoder.
//
// Input: byte 0 = the read size (1..256); bytes 1-4 = the session's capabilities
// (little-endian); the rest: a server stream (framed packets).

#include <mysql/handshake.h>
#include <mysql/packet.h>
#include <mysql/responses.h>
#include <mysql/wire.h>

#include "fuzz_support.h"

namespace {

using fuzz::Bytes;

struct Server {
    std::uint32_t caps = 0;
    std::size_t packets = 0;
    std::size_t columns = 1;

    void on_packet(const mysql::Packet& p) {
        Bytes b(p.payload);
        if (packets++ == 0) {
            if (fuzz::round_trip(b, mysql::decode_handshake, mysql::encode_handshake,
                                 "Handshake round trip")) {
                auto h = mysql::decode_handshake(b);
                (void)h->mariadb_capabilities();
                (void)h->is_mariadb();
                return;
            }
        }
        if (b.empty()) {
            return;
        }
        auto ok_codec = [this](Bytes x) {
            return mysql::decode_ok(x, caps);
        };
        auto ok_encode = [this](const mysql::OkPacket& ok) {
            return mysql::encode_ok(ok, caps);
        };
        switch (b[0]) {
        case 0x00:
            fuzz::round_trip(b, ok_codec, ok_encode, "OK round trip");
            fuzz::round_trip(b, mysql::decode_prepare_ok, mysql::encode_prepare_ok,
                             "PrepareOk round trip");
            break;
        case 0xFF:
            fuzz::round_trip(b, mysql::decode_err, mysql::encode_err, "ERR round trip");
            break;
        case 0xFE:
            if (mysql::is_eof(b)) {
                fuzz::round_trip(b, mysql::decode_eof, mysql::encode_eof, "EOF round trip");
            }
            fuzz::round_trip(b, ok_codec, ok_encode, "OK (0xFE) round trip");
            fuzz::round_trip(b, mysql::decode_auth_switch, mysql::encode_auth_switch,
                             "AuthSwitchRequest round trip");
            break;
        case 0x01:
            fuzz::round_trip(b, mysql::decode_auth_more_data, mysql::encode_auth_more_data,
                             "AuthMoreData round trip");
            break;
        default:
            break;
        }
        (void)mysql::is_ok(b);
        (void)mysql::is_err(b);
        // A lone length-encoded integer is a result set's column count.
        mysql::Reader r(b);
        if (auto n = r.lenenc_int(); n && *n && r.remaining() == 0 && **n > 0) {
            columns = static_cast<std::size_t>(std::min<std::uint64_t>(**n, 64));
            return;
        }
        fuzz::round_trip(b, mysql::decode_column, mysql::encode_column,
                         "ColumnDefinition round trip");
        auto row = [this](Bytes x) {
            return mysql::decode_text_row(x, columns);
        };
        auto write_row = [](const std::vector<mysql::Value>& v) {
            return mysql::encode_text_row(v);
        };
        fuzz::round_trip(b, row, write_row, "text row round trip");
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) {
        return 0;
    }
    Bytes in(data, size);
    Server server;
    server.caps = static_cast<std::uint32_t>(in[1]) | static_cast<std::uint32_t>(in[2]) << 8 |
                  static_cast<std::uint32_t>(in[3]) << 16 | static_cast<std::uint32_t>(in[4]) << 24;
    fuzz::Chunks chunks{in.subspan(5), static_cast<std::size_t>(in[0]) + 1};
    mysql::PacketReader reader(1024 * 1024);
    for (;;) {
        auto p = reader.next();
        if (!p) {
            return 0;
        }
        if (*p) {
            server.on_packet(**p);
            continue;
        }
        if (chunks.done()) {
            return 0;
        }
        reader.feed(chunks.next());
    }
}
