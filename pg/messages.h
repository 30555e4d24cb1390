#pragma once

// The PostgreSQL frontend/backend protocol, versions 3.0 and 3.2 (PostgreSQL docs, chapter
// "Frontend/Backend Protocol", sections "Message Flow" and "Message Formats"). Standard library
// only: no OpenSSL, no sockets. Every decoder is bounds-checked and returns errors as values.
//
// Two framings share the wire:
// - the startup phase: Int32 length (including itself), Int32 code, body. The code is a
//   protocol version (3.0 = 196608, 3.2 = 196610) for a StartupMessage, or one of the request
//   codes below (SSLRequest, GSSENCRequest, CancelRequest);
// - every other message: Byte1 type, Int32 length (including itself, not the type), body.
// The single-byte answers to SSLRequest / GSSENCRequest ('S', 'N') have no framing at all.

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg {

enum class Error : std::uint8_t {
    Truncated,         // the bytes end inside a field
    BadLength,         // a length field below its minimum or beyond the bytes
    TooLong,           // a length above the configured limit (hostile or broken peer)
    MissingTerminator, // a C string without its NUL
    TrailingBytes,     // a message longer than its fields
    BadValue,          // a field holds a value the protocol does not allow
};
std::string_view to_string(Error e);

// Request codes of the startup phase (the upper 16 bits 1234, as the docs say).
inline constexpr std::uint32_t kCancelRequestCode = 80877102;
inline constexpr std::uint32_t kSslRequestCode = 80877103;
inline constexpr std::uint32_t kGssEncRequestCode = 80877104;
inline constexpr std::uint32_t kProtocol30 = 0x00030000;
inline constexpr std::uint32_t kProtocol32 = 0x00030002;
// PostgreSQL refuses longer startup packets (MAX_STARTUP_PACKET_LENGTH).
inline constexpr std::size_t kMaxStartupLength = 10000;
// The default bound for one regular message (PostgreSQL allows up to 1 GB for some types; a lab
// proxy refuses beyond this).
inline constexpr std::size_t kDefaultMaxMessageLength = 64 * 1024 * 1024;

enum class StartupKind : std::uint8_t {
    Startup,       // StartupMessage: protocol version + parameters
    SslRequest,    // 8 bytes
    GssEncRequest, // 8 bytes
    CancelRequest, // process id + secret key (4 bytes in 3.0, up to 256 in 3.2)
};
std::string_view to_string(StartupKind k);

struct StartupPacket {
    StartupKind kind = StartupKind::Startup;
    std::uint32_t code = 0; // the raw code: protocol version or request code
    // StartupMessage: name/value pairs in order ("user", "database", "application_name",
    // "options", "replication", "_pq_.*" ...).
    std::vector<std::pair<std::string, std::string>> parameters;
    // CancelRequest
    std::uint32_t process_id = 0;
    std::vector<std::uint8_t> secret_key;

    std::optional<std::string> parameter(std::string_view name) const;
    std::uint16_t major() const { return static_cast<std::uint16_t>(code >> 16); }
    std::uint16_t minor() const { return static_cast<std::uint16_t>(code & 0xFFFF); }
};

// startup_packet_length: the total length of the startup packet at the front of `bytes`, once
// its length field is there (nullopt: fewer than 4 bytes). Error when it is below 8
// (BadLength) or when the bytes after the length field exceed kMaxStartupLength (TooLong): the
// server's own test is `len - 4 > MAX_STARTUP_PACKET_LENGTH`, so a total of 10004 passes.
std::expected<std::optional<std::size_t>, Error>
startup_packet_length(std::span<const std::uint8_t> bytes);
// decode_startup reads one whole startup packet (length field included). A StartupMessage must
// end with the terminating NUL; an unknown code below 1234<<16 is a StartupMessage with that
// version (the caller decides whether it supports it), an unknown code with major 1234 is
// BadValue. Parameter values may be empty (the server reads them so). A CancelRequest key is
// 1 to 256 bytes, as PostgreSQL 18 accepts it (0: BadLength, more: TooLong); SSLRequest and
// GSSENCRequest are exactly 8 bytes.
std::expected<StartupPacket, Error> decode_startup(std::span<const std::uint8_t> packet);
std::vector<std::uint8_t> encode_startup(const StartupPacket& p);

// One regular message.
struct Message {
    char type = 0;
    std::vector<std::uint8_t> body; // without type and length
};
std::vector<std::uint8_t> encode(const Message& m);
void append(std::vector<std::uint8_t>& out, const Message& m);

// MessageReader frames regular messages out of a byte stream. feed() buffers; next() returns a
// whole message, nullopt when more bytes are needed, or an error (BadLength below 4, TooLong
// above the limit) after which the stream is unusable. Both are judged on the length field
// (which counts itself and the body) as soon as its 5 header bytes are there; an error repeats.
class MessageReader {
  public:
    explicit MessageReader(std::size_t max_length = kDefaultMaxMessageLength)
        : max_length_(max_length) {}
    void feed(std::span<const std::uint8_t> bytes);
    std::expected<std::optional<Message>, Error> next();
    std::size_t buffered() const { return buffer_.size() - start_; }
    // take_buffered hands back the bytes not yet framed (e.g. after a mode switch).
    std::vector<std::uint8_t> take_buffered();

  private:
    std::size_t max_length_;
    std::vector<std::uint8_t> buffer_;
    std::size_t start_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Frontend messages (client to server) after the startup packet.
//
// Decoders take a message body (without type and length) and refuse a body longer than its
// fields (TrailingBytes). Encoders write strings as C strings: a string holding a NUL is cut at
// it, so that every encoded message stays well formed.

namespace frontend {
inline constexpr char kBind = 'B';
inline constexpr char kClose = 'C';
inline constexpr char kCopyData = 'd';
inline constexpr char kCopyDone = 'c';
inline constexpr char kCopyFail = 'f';
inline constexpr char kDescribe = 'D';
inline constexpr char kExecute = 'E';
inline constexpr char kFlush = 'H';
inline constexpr char kFunctionCall = 'F';
inline constexpr char kParse = 'P';
inline constexpr char kPassword = 'p'; // PasswordMessage, SASLInitialResponse, SASLResponse, GSS
inline constexpr char kQuery = 'Q';
inline constexpr char kSync = 'S';
inline constexpr char kTerminate = 'X';
} // namespace frontend

struct Query {
    std::string sql;
};
struct Parse {
    std::string statement; // "" is the unnamed statement
    std::string sql;
    std::vector<std::uint32_t> parameter_types; // OIDs, 0 = unspecified
};
struct Bind {
    std::string portal;
    std::string statement;
    std::vector<std::int16_t> parameter_formats; // 0 text, 1 binary (0, 1 or n entries)
    std::vector<std::optional<std::vector<std::uint8_t>>> parameters; // nullopt = NULL
    std::vector<std::int16_t> result_formats;
};
struct Describe {
    char kind = 'S'; // 'S' statement, 'P' portal
    std::string name;
};
struct Execute {
    std::string portal;
    std::int32_t max_rows = 0; // 0 = no limit
};
struct Close {
    char kind = 'S';
    std::string name;
};
struct SaslInitialResponse {
    std::string mechanism;
    std::optional<std::vector<std::uint8_t>> data; // length -1: none
};

std::expected<Query, Error> decode_query(std::span<const std::uint8_t> body);
std::expected<Parse, Error> decode_parse(std::span<const std::uint8_t> body);
std::expected<Bind, Error> decode_bind(std::span<const std::uint8_t> body);
std::expected<Describe, Error> decode_describe(std::span<const std::uint8_t> body);
std::expected<Execute, Error> decode_execute(std::span<const std::uint8_t> body);
std::expected<Close, Error> decode_close(std::span<const std::uint8_t> body);
// A 'p' message means what the server last asked for: a password (cleartext or "md5" + hex),
// a SASLInitialResponse, or a SASLResponse (the whole body is the data).
std::expected<std::string, Error> decode_password(std::span<const std::uint8_t> body);
std::expected<SaslInitialResponse, Error>
decode_sasl_initial_response(std::span<const std::uint8_t> body);

// Encoders for clients and tests.
Message query(std::string_view sql);
Message parse(const Parse& p);
Message bind(const Bind& b);
Message describe(char kind, std::string_view name);
Message execute(std::string_view portal, std::int32_t max_rows);
Message close(char kind, std::string_view name);
Message sync();
Message flush();
Message terminate();
Message password(std::string_view password);
Message sasl_initial_response(std::string_view mechanism, std::span<const std::uint8_t> data);
Message sasl_response(std::span<const std::uint8_t> data);

// ---------------------------------------------------------------------------------------------
// Backend messages (server to client).

namespace backend {
inline constexpr char kAuthentication = 'R';
inline constexpr char kBackendKeyData = 'K';
inline constexpr char kBindComplete = '2';
inline constexpr char kCloseComplete = '3';
inline constexpr char kCommandComplete = 'C';
inline constexpr char kDataRow = 'D';
inline constexpr char kEmptyQueryResponse = 'I';
inline constexpr char kErrorResponse = 'E';
inline constexpr char kNegotiateProtocolVersion = 'v';
inline constexpr char kNoData = 'n';
inline constexpr char kNoticeResponse = 'N';
inline constexpr char kParameterDescription = 't';
inline constexpr char kParameterStatus = 'S';
inline constexpr char kParseComplete = '1';
inline constexpr char kPortalSuspended = 's';
inline constexpr char kReadyForQuery = 'Z';
inline constexpr char kRowDescription = 'T';
} // namespace backend

// Authentication request codes ('R' messages).
enum class AuthCode : std::uint32_t {
    Ok = 0,
    KerberosV5 = 2,
    CleartextPassword = 3,
    Md5Password = 5,
    Gss = 7,
    GssContinue = 8,
    Sspi = 9,
    Sasl = 10,
    SaslContinue = 11,
    SaslFinal = 12,
};
std::string_view to_string(AuthCode c);

struct AuthRequest {
    std::uint32_t code = 0;              // AuthCode, kept raw: an unknown code is reported
    std::array<std::uint8_t, 4> salt{};  // Md5Password
    std::vector<std::string> mechanisms; // Sasl, in the server's order
    std::vector<std::uint8_t> data;      // SaslContinue / SaslFinal / GssContinue
    bool known() const;
};
std::expected<AuthRequest, Error> decode_auth_request(std::span<const std::uint8_t> body);

// ErrorResponse / NoticeResponse fields by their one-byte codes (S, V, C, M, D, H, P, W, F, L,
// R, ...), in order.
struct Notice {
    std::vector<std::pair<char, std::string>> fields;
    std::optional<std::string> field(char code) const;
    std::string severity() const { return field('V').value_or(field('S').value_or("")); }
    std::string sqlstate() const { return field('C').value_or(""); }
    std::string message() const { return field('M').value_or(""); }
};
std::expected<Notice, Error> decode_notice(std::span<const std::uint8_t> body);

struct ParameterStatus {
    std::string name;
    std::string value;
};
std::expected<ParameterStatus, Error> decode_parameter_status(std::span<const std::uint8_t> body);

struct BackendKeyData {
    std::uint32_t process_id = 0;
    std::vector<std::uint8_t> secret_key; // 4 bytes in 3.0, 4..256 in 3.2
};
// decode_backend_key_data: a key below 4 bytes is BadLength, above 256 TooLong.
std::expected<BackendKeyData, Error> decode_backend_key_data(std::span<const std::uint8_t> body);

struct FieldDescription {
    std::string name;
    std::uint32_t table_oid = 0;
    std::int16_t column = 0;
    std::uint32_t type_oid = 0;
    std::int16_t type_size = 0;
    std::int32_t type_modifier = -1;
    std::int16_t format = 0;
};

// Further decoders, for the proxy and the tests.
std::expected<std::vector<FieldDescription>, Error>
decode_row_description(std::span<const std::uint8_t> body);
// decode_data_row: one value per column, nullopt for NULL (length -1); the bytes as sent (text
// or binary, as the RowDescription says).
std::expected<std::vector<std::optional<std::string>>, Error>
decode_data_row(std::span<const std::uint8_t> body);
std::expected<std::string, Error> decode_command_complete(std::span<const std::uint8_t> body);
// decode_ready_for_query: the transaction status 'I', 'T' or 'E' (another byte: BadValue).
std::expected<char, Error> decode_ready_for_query(std::span<const std::uint8_t> body);
std::expected<std::vector<std::uint32_t>, Error>
decode_parameter_description(std::span<const std::uint8_t> body);
struct NegotiateProtocolVersion {
    std::uint32_t version = 0; // the whole version the server offers, e.g. kProtocol30
    std::vector<std::string> unrecognized_options;
};
std::expected<NegotiateProtocolVersion, Error>
decode_negotiate_protocol_version(std::span<const std::uint8_t> body);

// Builders for servers (the stand-in) and tests.
Message auth_ok();
Message auth_cleartext_password();
Message auth_md5_password(std::span<const std::uint8_t, 4> salt);
Message auth_sasl(const std::vector<std::string>& mechanisms);
Message auth_sasl_continue(std::span<const std::uint8_t> data);
Message auth_sasl_final(std::span<const std::uint8_t> data);
// encode_auth_request rebuilds an 'R' message from its decoded form (the proxy rewrites the
// SASL mechanism list this way).
Message encode_auth_request(const AuthRequest& r);
Message parameter_status(std::string_view name, std::string_view value);
Message backend_key_data(std::uint32_t process_id, std::span<const std::uint8_t> secret_key);
Message ready_for_query(char status); // 'I' idle, 'T' in a transaction, 'E' failed transaction
Message row_description(const std::vector<FieldDescription>& fields);
Message data_row(const std::vector<std::optional<std::string>>& values); // text format
Message command_complete(std::string_view tag);
Message empty_query_response();
Message parse_complete();
Message bind_complete();
Message close_complete();
Message no_data();
Message portal_suspended();
Message parameter_description(const std::vector<std::uint32_t>& type_oids);
// The wire carries the whole version (major 3 << 16 | minor), as PostgreSQL sends it and libpq
// reads it (libpq refuses a value below 3.0), so this writes kProtocol30 | newest_minor; passing
// a whole code (kProtocol32) gives the same bytes as passing its minor (2).
Message negotiate_protocol_version(std::uint32_t newest_minor,
                                   const std::vector<std::string>& unrecognized_options);
Message error_response(const Notice& n);
Message notice_response(const Notice& n);
// error builds the usual fields: S and V severity, C sqlstate, M message (+ D detail if given).
Notice error(std::string_view severity, std::string_view sqlstate, std::string_view message,
             std::string_view detail = {});

// The one-byte answers to SSLRequest and GSSENCRequest.
inline constexpr std::uint8_t kSslAccepted = 'S';
inline constexpr std::uint8_t kSslRefused = 'N';

} // namespace pg
