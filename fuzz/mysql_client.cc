// mysql_client: every MySQL packet the codec reads from a client: PacketReader framing (split
// payloads joined), SSLRequest, HandshakeResponse41 (attributes, plugin, zstd), then the
// commands: COM_QUERY (with query attributes), COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA,
// COM_CHANGE_USER. Round trips where the codec has an encoder.
//
// Input: byte 0 = the read size (1..256); byte 1 = the parameter count assumed for
// COM_STMT_EXECUTE (mod 16); the rest: a client stream (framed packets).

#include <mysql/commands.h>
#include <mysql/constants.h>
#include <mysql/handshake.h>
#include <mysql/packet.h>

#include "fuzz_support.h"

namespace {

using fuzz::Bytes;

struct Client {
    std::size_t packets = 0;
    std::uint32_t caps = 0;
    std::uint16_t param_count = 0;
    std::vector<mysql::BoundParameter> previous;

    void on_packet(const mysql::Packet& p) {
        Bytes b(p.payload);
        std::size_t n = packets++;
        if (n == 0 && mysql::is_ssl_request(b)) {
            fuzz::round_trip(b, mysql::decode_ssl_request, mysql::encode_ssl_request,
                             "SslRequest round trip");
            packets = 0; // the handshake response follows (inside TLS)
            return;
        }
        if (n == 0) {
            fuzz::round_trip(b, mysql::decode_handshake_response, mysql::encode_handshake_response,
                             "HandshakeResponse round trip");
            if (auto r = mysql::decode_handshake_response(b)) {
                caps = r->capabilities;
            }
            return;
        }
        if (b.empty()) {
            return;
        }
        (void)mysql::command_name(b[0]);
        switch (b[0]) {
        case static_cast<std::uint8_t>(mysql::Command::Query):
            if (auto q = mysql::decode_query(b, caps)) {
                if (q->attributes.empty()) {
                    auto again = mysql::decode_query(mysql::encode_query(q->text), 0);
                    fuzz::check(again && again->text == q->text, "COM_QUERY round trip");
                }
            }
            break;
        case static_cast<std::uint8_t>(mysql::Command::StmtExecute):
            (void)mysql::statement_id_of(b);
            if (auto e = mysql::decode_stmt_execute(b, param_count, previous, caps)) {
                // With CLIENT_QUERY_ATTRIBUTES the client sends its own count (parameters
                // and attributes); without, one value per prepared parameter.
                fuzz::check((caps & mysql::cap::QueryAttributes) != 0 ||
                                e->params.size() == param_count,
                            "one value per parameter");
                previous = e->params;
            }
            break;
        case static_cast<std::uint8_t>(mysql::Command::StmtSendLongData):
            (void)mysql::decode_stmt_long_data(b);
            break;
        case static_cast<std::uint8_t>(mysql::Command::ChangeUser):
            (void)mysql::decode_change_user(b, caps);
            break;
        default:
            break;
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    Bytes in(data, size);
    Client client;
    client.param_count = in[1] % 16;
    fuzz::Chunks chunks{in.subspan(2), static_cast<std::size_t>(in[0]) + 1};
    mysql::PacketReader reader(1024 * 1024);
    for (;;) {
        auto p = reader.next();
        if (!p) {
            return 0;
        }
        if (*p) {
            client.on_packet(**p);
            continue;
        }
        if (chunks.done()) {
            return 0;
        }
        reader.feed(chunks.next());
    }
}
