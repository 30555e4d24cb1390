// Whole captured sessions, both directions: every message is framed, decoded with the decoder
// its type calls for and rebuilt with the matching encoder, and the rebuilt bytes must be the
// captured bytes. The vectors hold one message a line, split by an independent script, so the
// framing is checked against that split too.

#include <algorithm>
#include <deque>
#include <string>

#include <catch2/catch.hpp>

#include <pg/messages.h>

#include "pg_test_util.h"

using namespace pg_test;

namespace {

// What a 'p' message means depends on what the server asked for last.
enum class PasswordKind : std::uint8_t { Password, SaslInitial, SaslResponse };

std::deque<PasswordKind> password_kinds(const std::vector<Bytes>& server) {
    std::deque<PasswordKind> kinds;
    for (const auto& m : server) {
        if (m.size() < 9 || m[0] != pg::backend::kAuthentication) {
            continue;
        }
        switch (m[8]) {
        case 3:
        case 5:
            kinds.push_back(PasswordKind::Password);
            break;
        case 10:
            kinds.push_back(PasswordKind::SaslInitial);
            break;
        case 11:
            kinds.push_back(PasswordKind::SaslResponse);
            break;
        default:
            break;
        }
    }
    return kinds;
}

template <typename T> T ok(std::expected<T, pg::Error> r) {
    REQUIRE(r);
    return std::move(*r);
}

pg::Message no_body(char type, const pg::Message& m) {
    CHECK(m.body.empty());
    return pg::Message{type, {}};
}

pg::Message rebuild_frontend(const pg::Message& m, std::deque<PasswordKind>& kinds) {
    switch (m.type) {
    case pg::frontend::kQuery:
        return pg::query(ok(pg::decode_query(m.body)).sql);
    case pg::frontend::kParse:
        return pg::parse(ok(pg::decode_parse(m.body)));
    case pg::frontend::kBind:
        return pg::bind(ok(pg::decode_bind(m.body)));
    case pg::frontend::kDescribe: {
        const auto d = ok(pg::decode_describe(m.body));
        return pg::describe(d.kind, d.name);
    }
    case pg::frontend::kExecute: {
        const auto e = ok(pg::decode_execute(m.body));
        return pg::execute(e.portal, e.max_rows);
    }
    case pg::frontend::kClose: {
        const auto c = ok(pg::decode_close(m.body));
        return pg::close(c.kind, c.name);
    }
    case pg::frontend::kSync:
        return no_body(m.type, pg::sync());
    case pg::frontend::kFlush:
        return no_body(m.type, pg::flush());
    case pg::frontend::kTerminate:
        return no_body(m.type, pg::terminate());
    case pg::frontend::kPassword: {
        REQUIRE_FALSE(kinds.empty());
        const PasswordKind kind = kinds.front();
        kinds.pop_front();
        switch (kind) {
        case PasswordKind::Password:
            return pg::password(ok(pg::decode_password(m.body)));
        case PasswordKind::SaslInitial: {
            const auto s = ok(pg::decode_sasl_initial_response(m.body));
            REQUIRE(s.data);
            return pg::sasl_initial_response(s.mechanism, *s.data);
        }
        case PasswordKind::SaslResponse:
            return pg::sasl_response(m.body);
        }
        break;
    }
    default:
        break;
    }
    FAIL("unexpected frontend message type " << m.type);
    return {};
}

pg::Message rebuild_backend(const pg::Message& m) {
    switch (m.type) {
    case pg::backend::kAuthentication:
        return pg::encode_auth_request(ok(pg::decode_auth_request(m.body)));
    case pg::backend::kParameterStatus: {
        const auto s = ok(pg::decode_parameter_status(m.body));
        return pg::parameter_status(s.name, s.value);
    }
    case pg::backend::kBackendKeyData: {
        const auto k = ok(pg::decode_backend_key_data(m.body));
        return pg::backend_key_data(k.process_id, k.secret_key);
    }
    case pg::backend::kReadyForQuery:
        return pg::ready_for_query(ok(pg::decode_ready_for_query(m.body)));
    case pg::backend::kRowDescription:
        return pg::row_description(ok(pg::decode_row_description(m.body)));
    case pg::backend::kDataRow:
        return pg::data_row(ok(pg::decode_data_row(m.body)));
    case pg::backend::kCommandComplete:
        return pg::command_complete(ok(pg::decode_command_complete(m.body)));
    case pg::backend::kErrorResponse:
        return pg::error_response(ok(pg::decode_notice(m.body)));
    case pg::backend::kNoticeResponse:
        return pg::notice_response(ok(pg::decode_notice(m.body)));
    case pg::backend::kParseComplete:
        return no_body(m.type, pg::parse_complete());
    case pg::backend::kBindComplete:
        return no_body(m.type, pg::bind_complete());
    case pg::backend::kParameterDescription:
        return pg::parameter_description(ok(pg::decode_parameter_description(m.body)));
    case pg::backend::kNegotiateProtocolVersion: {
        const auto v = ok(pg::decode_negotiate_protocol_version(m.body));
        return pg::negotiate_protocol_version(v.version, v.unrecognized_options);
    }
    default:
        break;
    }
    FAIL("unexpected backend message type " << m.type);
    return {};
}

// frame_all runs a stream through a MessageReader fed in chunks of `chunk` bytes.
std::vector<pg::Message> frame_all(std::span<const std::uint8_t> stream, std::size_t chunk) {
    pg::MessageReader r;
    std::vector<pg::Message> out;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        r.feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
        while (true) {
            auto next = r.next();
            REQUIRE(next);
            if (!*next) {
                break;
            }
            out.push_back(std::move(**next));
        }
    }
    CHECK(r.buffered() == 0);
    return out;
}

struct Session {
    const char* name;         // vectors/<name>_client.hex and _server.hex
    std::size_t client_count; // messages after the startup packets
    std::size_t server_count; // messages after an SSLRequest answer
};

void replay(const Session& s) {
    const auto client_lines = load_lines(std::string(s.name) + "_client.hex");
    const auto server_lines = load_lines(std::string(s.name) + "_server.hex");
    const Bytes client = load_stream(std::string(s.name) + "_client.hex");
    const Bytes server = load_stream(std::string(s.name) + "_server.hex");

    // The client opens with startup packets: SSLRequest (answered by one unframed byte),
    // then the StartupMessage.
    std::size_t at = 0;
    std::size_t server_at = 0;
    std::size_t line = 0;
    while (true) {
        auto length = pg::startup_packet_length(std::span(client).subspan(at));
        REQUIRE(length);
        REQUIRE(*length);
        const Bytes packet = slice_of(client, at, **length);
        CHECK(packet == client_lines.at(line++));
        const auto p = ok(pg::decode_startup(packet));
        CHECK(pg::encode_startup(p) == packet);
        at += **length;
        if (p.kind != pg::StartupKind::SslRequest) {
            CHECK(p.kind == pg::StartupKind::Startup);
            break;
        }
        CHECK(server.at(server_at) == pg::kSslRefused);
        ++server_at;
    }

    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, client.size()}) {
        CAPTURE(chunk);
        auto kinds = password_kinds(server_lines);
        const auto messages = frame_all(std::span(client).subspan(at), chunk);
        REQUIRE(messages.size() == s.client_count);
        for (std::size_t i = 0; i < messages.size(); ++i) {
            CAPTURE(i);
            CHECK(pg::encode(messages[i]) == client_lines.at(line + i));
            CHECK(pg::encode(rebuild_frontend(messages[i], kinds)) == client_lines.at(line + i));
        }
        CHECK(kinds.empty());
    }
    for (std::size_t chunk : {std::size_t{1}, std::size_t{13}, server.size()}) {
        CAPTURE(chunk);
        const auto messages = frame_all(std::span(server).subspan(server_at), chunk);
        REQUIRE(messages.size() == s.server_count);
        for (std::size_t i = 0; i < messages.size(); ++i) {
            CAPTURE(i);
            CHECK(pg::encode(messages[i]) == server_lines.at(server_at + i));
            CHECK(pg::encode(rebuild_backend(messages[i])) == server_lines.at(server_at + i));
        }
    }
}

} // namespace

TEST_CASE("Captured sessions frame, decode and re-encode byte for byte", "[pg][captures]") {
    const Session sessions[] = {
        {"psql15_scram", 4, 23},
        {"psql15_md5", 3, 21},
        {"psql15_password", 3, 19},
        {"psql15_ssl_refused", 4, 23},
        {"psql15_scram_wrong_password", 2, 3},
        {"psql15_notice", 2, 19},
        {"psql15_canceled", 2, 19},
        {"pgbench15_extended", 6, 22},
        {"pgbench15_prepared", 7, 23},
        {"raw32_negotiate", 1, 17},
    };
    for (const auto& s : sessions) {
        CAPTURE(s.name);
        replay(s);
    }
}

TEST_CASE("The captured CancelRequest is a startup packet of its own", "[pg][captures]") {
    const auto lines = load_lines("psql15_cancel_request.hex");
    REQUIRE(lines.size() == 1);
    const auto p = ok(pg::decode_startup(lines[0]));
    CHECK(p.kind == pg::StartupKind::CancelRequest);
    CHECK(pg::encode_startup(p) == lines[0]);
}
