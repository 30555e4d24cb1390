// pg_frontend: every PostgreSQL message the codec reads from a client: the startup packet
// (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest), then the regular messages framed
// by MessageReader and decoded by type (Query, Parse, Bind, Describe, Execute, Close, password,
// SASLInitialResponse), and the SCRAM client messages and base64 inside them. Round trips where
// the codec has an encoder.
//
// Input: byte 0 = the read size (1..256); byte 1 even: a client stream (startup packet, then
// messages); odd: SCRAM text (client-first, client-final) and base64.

#include <pg/messages.h>
#include <pg/scram.h>

#include "fuzz_support.h"

namespace {

using fuzz::Bytes;

std::vector<std::uint8_t> body(const pg::Message& m) {
    return m.body;
}

void decode_frontend(const pg::Message& m) {
    Bytes b(m.body);
    switch (m.type) {
    case pg::frontend::kQuery:
        fuzz::round_trip(
            b, pg::decode_query, [](const pg::Query& q) { return body(pg::query(q.sql)); },
            "Query round trip");
        break;
    case pg::frontend::kParse:
        fuzz::round_trip(
            b, pg::decode_parse, [](const pg::Parse& p) { return body(pg::parse(p)); },
            "Parse round trip");
        break;
    case pg::frontend::kBind:
        fuzz::round_trip(
            b, pg::decode_bind, [](const pg::Bind& x) { return body(pg::bind(x)); },
            "Bind round trip");
        break;
    case pg::frontend::kDescribe:
        fuzz::round_trip(
            b, pg::decode_describe,
            [](const pg::Describe& d) { return body(pg::describe(d.kind, d.name)); },
            "Describe round trip");
        break;
    case pg::frontend::kExecute:
        fuzz::round_trip(
            b, pg::decode_execute,
            [](const pg::Execute& e) { return body(pg::execute(e.portal, e.max_rows)); },
            "Execute round trip");
        break;
    case pg::frontend::kClose:
        fuzz::round_trip(
            b, pg::decode_close, [](const pg::Close& c) { return body(pg::close(c.kind, c.name)); },
            "Close round trip");
        break;
    case pg::frontend::kPassword:
        (void)pg::decode_password(b);
        if (auto s = pg::decode_sasl_initial_response(b)) {
            if (s->data) {
                std::string_view text(reinterpret_cast<const char*>(s->data->data()),
                                      s->data->size());
                (void)pg::scram::parse_client_first(text);
            }
        }
        (void)pg::scram::parse_client_final(fuzz::as_text(b));
        break;
    default:
        break;
    }
}

void client_stream(fuzz::Chunks chunks) {
    std::vector<std::uint8_t> buffered;
    // The startup phase: packets framed by their length until a StartupMessage.
    for (;;) {
        while (!chunks.done()) {
            auto len = pg::startup_packet_length(buffered);
            if (!len) {
                return;
            }
            if (*len && buffered.size() >= **len) {
                break;
            }
            auto piece = chunks.next();
            buffered.insert(buffered.end(), piece.begin(), piece.end());
        }
        auto len = pg::startup_packet_length(buffered);
        if (!len || !*len || buffered.size() < **len) {
            return;
        }
        Bytes packet = Bytes(buffered).first(**len);
        auto startup = pg::decode_startup(packet);
        if (!startup) {
            return;
        }
        (void)startup->parameter("user");
        auto again = pg::decode_startup(pg::encode_startup(*startup));
        fuzz::check(again && again->kind == startup->kind && again->code == startup->code &&
                        again->parameters == startup->parameters &&
                        again->process_id == startup->process_id &&
                        again->secret_key == startup->secret_key,
                    "startup round trip");
        buffered.erase(buffered.begin(), buffered.begin() + static_cast<std::ptrdiff_t>(**len));
        if (startup->kind == pg::StartupKind::Startup) {
            break;
        }
    }
    pg::MessageReader reader(1024 * 1024);
    reader.feed(buffered);
    for (;;) {
        auto m = reader.next();
        if (!m) {
            return;
        }
        if (*m) {
            decode_frontend(**m);
            continue;
        }
        if (chunks.done()) {
            return;
        }
        reader.feed(chunks.next());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    Bytes in(data, size);
    if ((in[1] & 1) == 0) {
        client_stream(fuzz::Chunks{in.subspan(2), static_cast<std::size_t>(in[0]) + 1});
        return 0;
    }
    std::string_view text = fuzz::as_text(in.subspan(2));
    (void)pg::scram::parse_client_first(text);
    (void)pg::scram::parse_client_final(text);
    if (auto decoded = pg::scram::base64_decode(text)) {
        auto encoded = pg::scram::base64_encode(*decoded);
        auto again = pg::scram::base64_decode(encoded);
        fuzz::check(again && *again == *decoded, "base64 round trip");
    }
    return 0;
}
