// pg_backend: every PostgreSQL message the codec reads from a server: the one-byte answer to
// SSLRequest, then regular messages framed by MessageReader and decoded by type
// (Authentication with SASL/MD5, ErrorResponse, NoticeResponse, ParameterStatus,
// BackendKeyData, RowDescription, DataRow, CommandComplete, ReadyForQuery,
// ParameterDescription, NegotiateProtocolVersion), and the SCRAM server messages inside
// AuthenticationSASLContinue / Final. Round trips where the codec has an encoder.
//
// Input: byte 0 = the read size (1..256); the rest: a server stream (an 'S'/'N' answer byte
// first is skipped).

#include <pg/messages.h>
#include <pg/scram.h>

#include "fuzz_support.h"

namespace {

using fuzz::Bytes;

std::vector<std::uint8_t> body(const pg::Message& m) {
    return m.body;
}

void decode_backend(const pg::Message& m) {
    Bytes b(m.body);
    switch (m.type) {
    case pg::backend::kAuthentication:
        if (fuzz::round_trip(
                b, pg::decode_auth_request,
                [](const pg::AuthRequest& r) { return body(pg::encode_auth_request(r)); },
                "AuthRequest round trip")) {
            auto r = pg::decode_auth_request(b);
            std::string_view text(reinterpret_cast<const char*>(r->data.data()), r->data.size());
            (void)pg::scram::parse_server_first(text);
            (void)pg::scram::parse_server_final(text);
        }
        break;
    case pg::backend::kErrorResponse:
    case pg::backend::kNoticeResponse:
        fuzz::round_trip(
            b, pg::decode_notice, [](const pg::Notice& n) { return body(pg::error_response(n)); },
            "Notice round trip");
        break;
    case pg::backend::kParameterStatus:
        fuzz::round_trip(
            b, pg::decode_parameter_status,
            [](const pg::ParameterStatus& p) {
                return body(pg::parameter_status(p.name, p.value));
            },
            "ParameterStatus round trip");
        break;
    case pg::backend::kBackendKeyData:
        fuzz::round_trip(
            b, pg::decode_backend_key_data,
            [](const pg::BackendKeyData& k) {
                return body(pg::backend_key_data(k.process_id, k.secret_key));
            },
            "BackendKeyData round trip");
        break;
    case pg::backend::kRowDescription:
        fuzz::round_trip(
            b, pg::decode_row_description,
            [](const std::vector<pg::FieldDescription>& f) { return body(pg::row_description(f)); },
            "RowDescription round trip");
        break;
    case pg::backend::kDataRow:
        fuzz::round_trip(
            b, pg::decode_data_row,
            [](const std::vector<std::optional<std::string>>& v) { return body(pg::data_row(v)); },
            "DataRow round trip");
        break;
    case pg::backend::kCommandComplete:
        fuzz::round_trip(
            b, pg::decode_command_complete,
            [](const std::string& tag) { return body(pg::command_complete(tag)); },
            "CommandComplete round trip");
        break;
    case pg::backend::kReadyForQuery:
        fuzz::round_trip(
            b, pg::decode_ready_for_query, [](char s) { return body(pg::ready_for_query(s)); },
            "ReadyForQuery round trip");
        break;
    case pg::backend::kParameterDescription:
        fuzz::round_trip(
            b, pg::decode_parameter_description,
            [](const std::vector<std::uint32_t>& t) { return body(pg::parameter_description(t)); },
            "ParameterDescription round trip");
        break;
    case pg::backend::kNegotiateProtocolVersion:
        (void)pg::decode_negotiate_protocol_version(b);
        break;
    default:
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    Bytes in(data, size);
    fuzz::Chunks chunks{in.subspan(1), static_cast<std::size_t>(in[0]) + 1};
    if (!chunks.rest.empty() && (chunks.rest[0] == 'S' || chunks.rest[0] == 'N') &&
        (chunks.rest.size() == 1 || chunks.rest[1] != 0)) {
        chunks.rest = chunks.rest.subspan(1); // the answer to SSLRequest
    }
    pg::MessageReader reader(1024 * 1024);
    for (;;) {
        auto m = reader.next();
        if (!m) {
            return 0;
        }
        if (*m) {
            decode_backend(**m);
            continue;
        }
        if (chunks.done()) {
            return 0;
        }
        reader.feed(chunks.next());
    }
}
