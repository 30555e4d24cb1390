#pragma once

// Helpers shared by the SQL Server stand-in tests: a fixed clock, a full token walker (the
// codec's scan_tokens stops at COLMETADATA; these tests need the rows), request builders for
// SQL batches, RPCs and Transaction Manager requests, and a Client that drives a Responder the
// way a driver does (it keeps the transaction descriptor ENVCHANGE 8 hands out).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <standin/sqlserver/batch_executor.h>
#include <standin/sqlserver/evaluator.h>
#include <standin/sqlserver/responder.h>
#include <standin/sqlserver/server_identity.h>
#include <standin/sqlserver/session_state.h>
#include <tds/byte_writer.h>
#include <tds/message_assembler.h>
#include <tds/packet.h>
#include <tds/sql_types.h>
#include <tds/token_reader.h>
#include <tds/tokens.h>
#include <tds/version.h>

namespace standin_test {

using Bytes = std::vector<std::uint8_t>;

// The fixed clock: 2024-02-29 13:45:30.1234567 UTC.
tds::DateTime fixed_now();
standin::sqlserver::ServerIdentity test_server();
standin::sqlserver::ResponderConfig test_config();

// --- the token walker ------------------------------------------------------------------------

struct ColumnInfo {
    std::string name;
    std::uint16_t flags = 0;
    Bytes type_info;  // TYPE_INFO as sent, token first
    std::string type; // "int", "numeric(3,2)", "nvarchar(128)", "nvarchar(max)", ...
};

struct Token {
    std::uint8_t type = 0;
    tds::ServerMessage message; // ERROR, INFO
    // ENVCHANGE
    std::uint8_t env = 0;
    Bytes env_new;
    Bytes env_old;
    std::string env_new_text; // the B_VARCHAR types
    std::string env_old_text;
    tds::LoginAck login_ack;
    tds::DoneToken done;
    std::vector<ColumnInfo> columns;  // COLMETADATA
    std::vector<tds::TypedValue> row; // ROW
    std::vector<Bytes> raw_values;    // ROW, each value as sent
    std::int32_t return_status = 0;   // RETURNSTATUS
    std::uint16_t ordinal = 0;        // RETURNVALUE
    std::string param_name;           // RETURNVALUE
    std::uint8_t param_status = 0;    // RETURNVALUE
    std::string param_type;           // RETURNVALUE, as ColumnInfo::type
    tds::TypedValue value;            // RETURNVALUE
};

struct Response {
    std::vector<Token> tokens;
    std::optional<std::string> walk_error; // set when the walker could not read the payload

    // shape: one word per token, "COLMETADATA ROW DONE", with ERROR(208), INFO(5701),
    // ENVCHANGE(8) naming their number or type.
    std::string shape() const;
    std::vector<const Token*> all(std::uint8_t type) const;
    std::vector<tds::DoneToken> dones() const; // DONE, DONEPROC and DONEINPROC in order
    std::vector<tds::ServerMessage> errors() const;
    std::vector<tds::ServerMessage> infos() const;
    std::vector<const Token*> env_changes(std::uint8_t env) const;
    std::vector<std::vector<tds::TypedValue>> rows() const;
    std::vector<const Token*> result_sets() const; // the COLMETADATA tokens
    // value: the one value of the only row (a failed REQUIRE otherwise).
    const tds::TypedValue& value() const;
};

Response walk(std::span<const std::uint8_t> payload, tds::Level level = tds::Level::V74);

// text: a value as SQL Server converts it to nvarchar, "NULL" for NULL.
std::string text(const tds::TypedValue& v);
std::int64_t as_int(const tds::TypedValue& v);

// --- requests --------------------------------------------------------------------------------

void write_b_varchar(tds::ByteWriter& w, std::string_view s);
// sql_batch_payload: ALL_HEADERS (7.2+) with a descriptor, then the UTF-16LE text.
Bytes sql_batch_payload(const std::string& sql, tds::Level level = tds::Level::V74,
                        std::uint64_t descriptor = 0);

// An RPC parameter: name, status flags and TYPE_INFO + value as a client writes them.
struct RpcParam {
    std::string name;
    std::uint8_t status = 0;
    Bytes type_and_value;
};
RpcParam nvarchar_param(const std::string& name, const std::string& value,
                        tds::Level level = tds::Level::V74);
RpcParam int_param(const std::string& name, std::optional<std::int32_t> value, bool output = false);
RpcParam raw_param(const std::string& name, Bytes type_and_value, std::uint8_t status = 0);

struct RpcCallSpec {
    std::optional<std::uint16_t> proc_id; // well-known procedure (0xFFFF + id)
    std::string name;                     // else by name
    std::vector<RpcParam> params;
    std::uint16_t flags = 0;
};
RpcCallSpec call_id(std::uint16_t id, std::vector<RpcParam> params);
RpcCallSpec call_named(const std::string& name, std::vector<RpcParam> params);
Bytes rpc_payload(const std::vector<RpcCallSpec>& calls, tds::Level level = tds::Level::V74,
                  std::uint64_t descriptor = 0);

// tm_payload: ALL_HEADERS with `descriptor`, the request type, then `body` as given.
Bytes tm_payload(std::uint16_t type, const Bytes& body, std::uint64_t descriptor);
// tm_name: a TM name (B_VARBYTE holding UTF-16LE).
Bytes tm_name(const std::string& name);

tds::Message message(tds::PacketType type, Bytes payload, std::uint8_t first_status = 0);

// --- the executor, run directly --------------------------------------------------------------

// run_batch parses and runs a batch with BatchExecutor against `session` (as the responder
// does for a SQL batch) and walks what it wrote.
Response run_batch(standin::sqlserver::SessionState& session, const std::string& sql,
                   const standin::sqlserver::ServerIdentity& server = test_server());

// --- a driver in front of a Responder --------------------------------------------------------

tds::Login7 login7(std::uint32_t version = tds::tds_version::k74, const std::string& user = "lab",
                   const std::string& password = "lab-password", const std::string& database = "");

class Client {
  public:
    explicit Client(standin::sqlserver::ResponderConfig config = test_config(),
                    std::uint16_t spid = 53);

    // login sends LOGIN7; the reply's flags are kept in last_reply.
    Response login(const tds::Login7& l = login7());
    // send answers one message; a protocol error string ends up in last_error.
    Response send(const tds::Message& m);
    Response batch(const std::string& sql, std::uint8_t status = 0);
    Response rpc(const std::vector<RpcCallSpec>& calls, std::uint8_t status = 0);
    Response tm(std::uint16_t type, const Bytes& body, std::uint8_t status = 0);
    // select_one runs SELECT 1 and says whether it answered 1 (the session still works).
    bool select_one();

    standin::sqlserver::Responder responder;
    tds::Level level = tds::Level::V74;
    std::uint64_t descriptor = 0; // from ENVCHANGE 8, cleared by 9 and 10
    std::optional<standin::sqlserver::Responder::Reply> last_reply;
    std::optional<std::string> last_error;
};

} // namespace standin_test
