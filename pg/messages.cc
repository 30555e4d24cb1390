#include <algorithm>

#include <pg/messages.h>

namespace pg {

namespace {

constexpr std::size_t kLengthFieldSize = 4;
// PostgreSQL's CancelRequest accepts a key of 1 to 256 bytes (ProcessCancelRequestPacket);
// BackendKeyData carries 4 to 256 (protocol docs, "BackendKeyData").
constexpr std::size_t kMaxCancelKeyLength = 256;
constexpr std::size_t kMinBackendKeyLength = 4;

// ByteReader walks a message body. Every read checks the bounds and says what went wrong.
class ByteReader {
  public:
    explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::size_t remaining() const { return bytes_.size() - pos_; }
    bool at_end() const { return pos_ == bytes_.size(); }

    std::expected<std::uint8_t, Error> u8() {
        if (remaining() < 1) {
            return std::unexpected(Error::Truncated);
        }
        return bytes_[pos_++];
    }
    // u16 also reads the Int16 counts (parameter types, formats, fields, columns): PostgreSQL
    // (pq_getmsgint) and libpq (pqGetInt) read them unsigned, so up to 65535 entries.
    std::expected<std::uint16_t, Error> u16() {
        if (remaining() < 2) {
            return std::unexpected(Error::Truncated);
        }
        auto v = static_cast<std::uint16_t>(bytes_[pos_] << 8 | bytes_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::expected<std::uint32_t, Error> u32() {
        if (remaining() < 4) {
            return std::unexpected(Error::Truncated);
        }
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            v = v << 8 | bytes_[pos_ + i];
        }
        pos_ += 4;
        return v;
    }
    std::expected<std::int16_t, Error> i16() {
        auto v = u16();
        if (!v) {
            return std::unexpected(v.error());
        }
        return static_cast<std::int16_t>(*v);
    }
    std::expected<std::int32_t, Error> i32() {
        auto v = u32();
        if (!v) {
            return std::unexpected(v.error());
        }
        return static_cast<std::int32_t>(*v);
    }
    // cstring reads a String: bytes up to a NUL, which it consumes.
    std::expected<std::string, Error> cstring() {
        auto rest = bytes_.subspan(pos_);
        auto nul = std::find(rest.begin(), rest.end(), std::uint8_t{0});
        if (nul == rest.end()) {
            return std::unexpected(Error::MissingTerminator);
        }
        std::string s(rest.begin(), nul);
        pos_ += s.size() + 1;
        return s;
    }
    // sized reads the Int32 length n and then n bytes; -1 is NULL (nullopt). A length below -1
    // or beyond the bytes is BadLength.
    std::expected<std::optional<std::vector<std::uint8_t>>, Error> sized() {
        auto n = i32();
        if (!n) {
            return std::unexpected(n.error());
        }
        if (*n == -1) {
            return std::optional<std::vector<std::uint8_t>>{};
        }
        if (*n < -1 || static_cast<std::size_t>(*n) > remaining()) {
            return std::unexpected(Error::BadLength);
        }
        return std::optional<std::vector<std::uint8_t>>{take(static_cast<std::size_t>(*n))};
    }
    std::vector<std::uint8_t> rest() { return take(remaining()); }

  private:
    std::vector<std::uint8_t> take(std::size_t n) {
        auto s = bytes_.subspan(pos_, n);
        pos_ += n;
        return {s.begin(), s.end()};
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
};

// done: a message whose fields are all read must have no bytes left.
std::expected<void, Error> done(const ByteReader& r) {
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return {};
}

void put_u8(std::vector<std::uint8_t>& out, std::uint8_t v) {
    out.push_back(v);
}
// Integers go in as one insert of a small array: GCC 12 at -O3 misreports a push_back followed
// by a range insert into a fresh vector as an overflow.
void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    const std::array<std::uint8_t, 2> b{static_cast<std::uint8_t>(v >> 8),
                                        static_cast<std::uint8_t>(v)};
    out.insert(out.end(), b.begin(), b.end());
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    const std::array<std::uint8_t, 4> b{
        static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
        static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    out.insert(out.end(), b.begin(), b.end());
}
void put_i16(std::vector<std::uint8_t>& out, std::int16_t v) {
    put_u16(out, static_cast<std::uint16_t>(v));
}
void put_i32(std::vector<std::uint8_t>& out, std::int32_t v) {
    put_u32(out, static_cast<std::uint32_t>(v));
}
void put_count(std::vector<std::uint8_t>& out, std::size_t n) {
    put_u16(out, static_cast<std::uint16_t>(n));
}
void put_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}
// put_cstring writes a String. A NUL inside `s` would end the string on the wire and shift
// every later field, so the string is cut at its first NUL: the message stays well formed.
void put_cstring(std::vector<std::uint8_t>& out, std::string_view s) {
    s = s.substr(0, s.find('\0'));
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
}
void put_sized(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    put_i32(out, static_cast<std::int32_t>(bytes.size()));
    put_bytes(out, bytes);
}
std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Message make(char type, std::vector<std::uint8_t> body = {}) {
    return Message{type, std::move(body)};
}

Message one_string(char type, std::string_view s) {
    std::vector<std::uint8_t> body;
    put_cstring(body, s);
    return make(type, std::move(body));
}

std::expected<std::string, Error> decode_one_string(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto s = r.cstring();
    if (!s) {
        return std::unexpected(s.error());
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return s;
}

bool is_statement_or_portal(char kind) {
    return kind == 'S' || kind == 'P';
}

// Describe and Close share their layout: Byte1 'S' or 'P', then the name.
std::expected<std::pair<char, std::string>, Error>
decode_kind_and_name(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto kind = r.u8();
    if (!kind) {
        return std::unexpected(kind.error());
    }
    if (!is_statement_or_portal(static_cast<char>(*kind))) {
        return std::unexpected(Error::BadValue);
    }
    auto name = r.cstring();
    if (!name) {
        return std::unexpected(name.error());
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return std::pair<char, std::string>{static_cast<char>(*kind), std::move(*name)};
}

Message kind_and_name(char type, char kind, std::string_view name) {
    std::vector<std::uint8_t> body;
    put_u8(body, static_cast<std::uint8_t>(kind));
    put_cstring(body, name);
    return make(type, std::move(body));
}

// Format codes: 0 text, 1 binary. PostgreSQL refuses any other ("unsupported format code").
std::expected<std::vector<std::int16_t>, Error> read_formats(ByteReader& r) {
    auto n = r.u16();
    if (!n) {
        return std::unexpected(n.error());
    }
    std::vector<std::int16_t> formats;
    for (std::size_t i = 0; i < *n; ++i) {
        auto f = r.i16();
        if (!f) {
            return std::unexpected(f.error());
        }
        if (*f != 0 && *f != 1) {
            return std::unexpected(Error::BadValue);
        }
        formats.push_back(*f);
    }
    return formats;
}

void put_formats(std::vector<std::uint8_t>& out, const std::vector<std::int16_t>& formats) {
    put_count(out, formats.size());
    for (auto f : formats) {
        put_i16(out, f);
    }
}

Message auth_message(AuthCode code, std::span<const std::uint8_t> extra = {}) {
    std::vector<std::uint8_t> body;
    put_u32(body, static_cast<std::uint32_t>(code));
    put_bytes(body, extra);
    return make(backend::kAuthentication, std::move(body));
}

Message notice_message(char type, const Notice& n) {
    std::vector<std::uint8_t> body;
    for (const auto& [code, value] : n.fields) {
        // A zero code would end the field list early; such a field cannot be sent.
        if (code == '\0') {
            continue;
        }
        put_u8(body, static_cast<std::uint8_t>(code));
        put_cstring(body, value);
    }
    put_u8(body, 0);
    return make(type, std::move(body));
}

} // namespace

std::string_view to_string(Error e) {
    switch (e) {
    case Error::Truncated:
        return "truncated";
    case Error::BadLength:
        return "bad length";
    case Error::TooLong:
        return "too long";
    case Error::MissingTerminator:
        return "missing terminator";
    case Error::TrailingBytes:
        return "trailing bytes";
    case Error::BadValue:
        return "bad value";
    }
    return "unknown error";
}

std::string_view to_string(StartupKind k) {
    switch (k) {
    case StartupKind::Startup:
        return "StartupMessage";
    case StartupKind::SslRequest:
        return "SSLRequest";
    case StartupKind::GssEncRequest:
        return "GSSENCRequest";
    case StartupKind::CancelRequest:
        return "CancelRequest";
    }
    return "unknown startup packet";
}

// ---------------------------------------------------------------------------------------------
// Startup packets

std::optional<std::string> StartupPacket::parameter(std::string_view name) const {
    // PostgreSQL keeps the last value of a repeated parameter; so does this.
    for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
        if (it->first == name) {
            return it->second;
        }
    }
    return std::nullopt;
}

std::expected<std::optional<std::size_t>, Error>
startup_packet_length(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kLengthFieldSize) {
        return std::optional<std::size_t>{};
    }
    ByteReader r(bytes);
    const std::size_t length = *r.u32();
    if (length < 8) {
        return std::unexpected(Error::BadLength);
    }
    if (length - kLengthFieldSize > kMaxStartupLength) {
        return std::unexpected(Error::TooLong);
    }
    return std::optional<std::size_t>{length};
}

std::expected<StartupPacket, Error> decode_startup(std::span<const std::uint8_t> packet) {
    auto length = startup_packet_length(packet);
    if (!length) {
        return std::unexpected(length.error());
    }
    if (!*length) {
        return std::unexpected(Error::Truncated);
    }
    if (**length > packet.size()) {
        return std::unexpected(Error::BadLength);
    }
    if (**length < packet.size()) {
        return std::unexpected(Error::TrailingBytes);
    }
    ByteReader r(packet.subspan(kLengthFieldSize));
    StartupPacket p;
    p.code = *r.u32(); // the length is at least 8
    switch (p.code) {
    case kSslRequestCode:
        p.kind = StartupKind::SslRequest;
        break;
    case kGssEncRequestCode:
        p.kind = StartupKind::GssEncRequest;
        break;
    case kCancelRequestCode: {
        p.kind = StartupKind::CancelRequest;
        auto pid = r.u32();
        if (!pid) {
            return std::unexpected(pid.error());
        }
        p.process_id = *pid;
        if (r.at_end()) {
            return std::unexpected(Error::BadLength); // a cancel key of 0 bytes
        }
        if (r.remaining() > kMaxCancelKeyLength) {
            return std::unexpected(Error::TooLong);
        }
        p.secret_key = r.rest();
        return p;
    }
    default:
        if (p.major() == 1234) {
            return std::unexpected(Error::BadValue); // a request code nobody defined
        }
        p.kind = StartupKind::Startup;
        // name\0value\0 ... \0: an empty name is the terminator, which must be the last byte
        // ("invalid startup packet layout: expected terminator as last byte"). A value may be
        // empty; PostgreSQL then treats an empty user as missing and an empty database as the
        // user name, which is the caller's business.
        while (true) {
            auto name = r.cstring();
            if (!name) {
                return std::unexpected(name.error());
            }
            if (name->empty()) {
                break;
            }
            if (r.at_end()) {
                return std::unexpected(Error::Truncated); // a name without its value
            }
            auto value = r.cstring();
            if (!value) {
                return std::unexpected(value.error());
            }
            p.parameters.emplace_back(std::move(*name), std::move(*value));
        }
        break;
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return p;
}

std::vector<std::uint8_t> encode_startup(const StartupPacket& p) {
    std::vector<std::uint8_t> body;
    switch (p.kind) {
    case StartupKind::Startup:
        put_u32(body, p.code);
        for (const auto& [name, value] : p.parameters) {
            if (name.empty() || name.front() == '\0') {
                continue; // an empty name would be read as the terminator
            }
            put_cstring(body, name);
            put_cstring(body, value);
        }
        put_u8(body, 0);
        break;
    case StartupKind::SslRequest:
        put_u32(body, kSslRequestCode);
        break;
    case StartupKind::GssEncRequest:
        put_u32(body, kGssEncRequestCode);
        break;
    case StartupKind::CancelRequest:
        put_u32(body, kCancelRequestCode);
        put_u32(body, p.process_id);
        put_bytes(body, p.secret_key);
        break;
    }
    std::vector<std::uint8_t> out;
    out.reserve(body.size() + kLengthFieldSize);
    put_u32(out, static_cast<std::uint32_t>(body.size() + kLengthFieldSize));
    put_bytes(out, body);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Framing of regular messages

void append(std::vector<std::uint8_t>& out, const Message& m) {
    put_u8(out, static_cast<std::uint8_t>(m.type));
    put_u32(out, static_cast<std::uint32_t>(m.body.size() + kLengthFieldSize));
    put_bytes(out, m.body);
}

std::vector<std::uint8_t> encode(const Message& m) {
    std::vector<std::uint8_t> out;
    out.reserve(1 + kLengthFieldSize + m.body.size());
    append(out, m);
    return out;
}

void MessageReader::feed(std::span<const std::uint8_t> bytes) {
    // Compact lazily so that feeding byte by byte stays linear.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::expected<std::optional<Message>, Error> MessageReader::next() {
    auto avail = std::span<const std::uint8_t>(buffer_).subspan(start_);
    constexpr std::size_t kHeader = 1 + kLengthFieldSize;
    if (avail.size() < kHeader) {
        return std::optional<Message>{};
    }
    // The length is judged as soon as it is there: a hostile peer cannot make the reader
    // buffer toward a length it will refuse anyway. The bytes stay, so the error repeats.
    ByteReader r(avail.subspan(1));
    const std::size_t length = *r.u32();
    if (length < kLengthFieldSize) {
        return std::unexpected(Error::BadLength);
    }
    if (length > max_length_) {
        return std::unexpected(Error::TooLong);
    }
    if (avail.size() - 1 < length) {
        return std::optional<Message>{};
    }
    Message m;
    m.type = static_cast<char>(avail[0]);
    auto body = avail.subspan(kHeader, length - kLengthFieldSize);
    m.body.assign(body.begin(), body.end());
    start_ += 1 + length;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    return std::optional<Message>{std::move(m)};
}

std::vector<std::uint8_t> MessageReader::take_buffered() {
    std::vector<std::uint8_t> out(buffer_.begin() + static_cast<std::ptrdiff_t>(start_),
                                  buffer_.end());
    buffer_.clear();
    start_ = 0;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Frontend messages

std::expected<Query, Error> decode_query(std::span<const std::uint8_t> body) {
    auto sql = decode_one_string(body);
    if (!sql) {
        return std::unexpected(sql.error());
    }
    return Query{std::move(*sql)};
}

std::expected<Parse, Error> decode_parse(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    Parse p;
    auto statement = r.cstring();
    if (!statement) {
        return std::unexpected(statement.error());
    }
    p.statement = std::move(*statement);
    auto sql = r.cstring();
    if (!sql) {
        return std::unexpected(sql.error());
    }
    p.sql = std::move(*sql);
    auto n = r.u16();
    if (!n) {
        return std::unexpected(n.error());
    }
    for (std::size_t i = 0; i < *n; ++i) {
        auto oid = r.u32();
        if (!oid) {
            return std::unexpected(oid.error());
        }
        p.parameter_types.push_back(*oid);
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return p;
}

std::expected<Bind, Error> decode_bind(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    Bind b;
    auto portal = r.cstring();
    if (!portal) {
        return std::unexpected(portal.error());
    }
    b.portal = std::move(*portal);
    auto statement = r.cstring();
    if (!statement) {
        return std::unexpected(statement.error());
    }
    b.statement = std::move(*statement);
    auto parameter_formats = read_formats(r);
    if (!parameter_formats) {
        return std::unexpected(parameter_formats.error());
    }
    b.parameter_formats = std::move(*parameter_formats);
    auto n = r.u16();
    if (!n) {
        return std::unexpected(n.error());
    }
    for (std::size_t i = 0; i < *n; ++i) {
        auto value = r.sized();
        if (!value) {
            return std::unexpected(value.error());
        }
        b.parameters.push_back(std::move(*value));
    }
    // One format for all parameters, or one each ("bind message has %d parameter formats but
    // %d parameters").
    if (b.parameter_formats.size() > 1 && b.parameter_formats.size() != b.parameters.size()) {
        return std::unexpected(Error::BadValue);
    }
    auto result_formats = read_formats(r);
    if (!result_formats) {
        return std::unexpected(result_formats.error());
    }
    b.result_formats = std::move(*result_formats);
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return b;
}

std::expected<Describe, Error> decode_describe(std::span<const std::uint8_t> body) {
    auto d = decode_kind_and_name(body);
    if (!d) {
        return std::unexpected(d.error());
    }
    return Describe{d->first, std::move(d->second)};
}

std::expected<Execute, Error> decode_execute(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    Execute e;
    auto portal = r.cstring();
    if (!portal) {
        return std::unexpected(portal.error());
    }
    e.portal = std::move(*portal);
    auto max_rows = r.i32();
    if (!max_rows) {
        return std::unexpected(max_rows.error());
    }
    e.max_rows = *max_rows;
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return e;
}

std::expected<Close, Error> decode_close(std::span<const std::uint8_t> body) {
    auto c = decode_kind_and_name(body);
    if (!c) {
        return std::unexpected(c.error());
    }
    return Close{c->first, std::move(c->second)};
}

std::expected<std::string, Error> decode_password(std::span<const std::uint8_t> body) {
    // PostgreSQL: "invalid password packet size" unless the string fills the body exactly.
    return decode_one_string(body);
}

std::expected<SaslInitialResponse, Error>
decode_sasl_initial_response(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    SaslInitialResponse s;
    auto mechanism = r.cstring();
    if (!mechanism) {
        return std::unexpected(mechanism.error());
    }
    s.mechanism = std::move(*mechanism);
    auto data = r.sized();
    if (!data) {
        return std::unexpected(data.error());
    }
    s.data = std::move(*data);
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return s;
}

Message query(std::string_view sql) {
    return one_string(frontend::kQuery, sql);
}

Message parse(const Parse& p) {
    std::vector<std::uint8_t> body;
    put_cstring(body, p.statement);
    put_cstring(body, p.sql);
    put_count(body, p.parameter_types.size());
    for (auto oid : p.parameter_types) {
        put_u32(body, oid);
    }
    return make(frontend::kParse, std::move(body));
}

Message bind(const Bind& b) {
    std::vector<std::uint8_t> body;
    put_cstring(body, b.portal);
    put_cstring(body, b.statement);
    put_formats(body, b.parameter_formats);
    put_count(body, b.parameters.size());
    for (const auto& p : b.parameters) {
        if (p) {
            put_sized(body, *p);
        } else {
            put_i32(body, -1);
        }
    }
    put_formats(body, b.result_formats);
    return make(frontend::kBind, std::move(body));
}

Message describe(char kind, std::string_view name) {
    return kind_and_name(frontend::kDescribe, kind, name);
}

Message execute(std::string_view portal, std::int32_t max_rows) {
    std::vector<std::uint8_t> body;
    put_cstring(body, portal);
    put_i32(body, max_rows);
    return make(frontend::kExecute, std::move(body));
}

Message close(char kind, std::string_view name) {
    return kind_and_name(frontend::kClose, kind, name);
}

Message sync() {
    return make(frontend::kSync);
}
Message flush() {
    return make(frontend::kFlush);
}
Message terminate() {
    return make(frontend::kTerminate);
}

Message password(std::string_view password) {
    return one_string(frontend::kPassword, password);
}

Message sasl_initial_response(std::string_view mechanism, std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> body;
    put_cstring(body, mechanism);
    put_sized(body, data);
    return make(frontend::kPassword, std::move(body));
}

Message sasl_response(std::span<const std::uint8_t> data) {
    return make(frontend::kPassword, {data.begin(), data.end()});
}

// ---------------------------------------------------------------------------------------------
// Backend messages

std::string_view to_string(AuthCode c) {
    switch (c) {
    case AuthCode::Ok:
        return "AuthenticationOk";
    case AuthCode::KerberosV5:
        return "AuthenticationKerberosV5";
    case AuthCode::CleartextPassword:
        return "AuthenticationCleartextPassword";
    case AuthCode::Md5Password:
        return "AuthenticationMD5Password";
    case AuthCode::Gss:
        return "AuthenticationGSS";
    case AuthCode::GssContinue:
        return "AuthenticationGSSContinue";
    case AuthCode::Sspi:
        return "AuthenticationSSPI";
    case AuthCode::Sasl:
        return "AuthenticationSASL";
    case AuthCode::SaslContinue:
        return "AuthenticationSASLContinue";
    case AuthCode::SaslFinal:
        return "AuthenticationSASLFinal";
    }
    return "unknown authentication request";
}

bool AuthRequest::known() const {
    switch (static_cast<AuthCode>(code)) {
    case AuthCode::Ok:
    case AuthCode::KerberosV5:
    case AuthCode::CleartextPassword:
    case AuthCode::Md5Password:
    case AuthCode::Gss:
    case AuthCode::GssContinue:
    case AuthCode::Sspi:
    case AuthCode::Sasl:
    case AuthCode::SaslContinue:
    case AuthCode::SaslFinal:
        return true;
    }
    return false;
}

std::expected<AuthRequest, Error> decode_auth_request(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    AuthRequest a;
    auto code = r.u32();
    if (!code) {
        return std::unexpected(code.error());
    }
    a.code = *code;
    if (!a.known()) {
        a.data = r.rest(); // kept, so that encode_auth_request passes it on unchanged
        return a;
    }
    switch (static_cast<AuthCode>(a.code)) {
    case AuthCode::Ok:
    case AuthCode::KerberosV5:
    case AuthCode::CleartextPassword:
    case AuthCode::Gss:
    case AuthCode::Sspi:
        break;
    case AuthCode::Md5Password:
        for (auto& b : a.salt) {
            auto v = r.u8();
            if (!v) {
                return std::unexpected(v.error());
            }
            b = *v;
        }
        break;
    case AuthCode::Sasl:
        // Mechanism names, each a String, ended by an empty one.
        while (true) {
            auto name = r.cstring();
            if (!name) {
                return std::unexpected(name.error());
            }
            if (name->empty()) {
                break;
            }
            a.mechanisms.push_back(std::move(*name));
        }
        break;
    case AuthCode::GssContinue:
    case AuthCode::SaslContinue:
    case AuthCode::SaslFinal:
        a.data = r.rest();
        break;
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return a;
}

Message encode_auth_request(const AuthRequest& r) {
    std::vector<std::uint8_t> body;
    put_u32(body, r.code);
    if (!r.known()) {
        put_bytes(body, r.data);
        return make(backend::kAuthentication, std::move(body));
    }
    switch (static_cast<AuthCode>(r.code)) {
    case AuthCode::Ok:
    case AuthCode::KerberosV5:
    case AuthCode::CleartextPassword:
    case AuthCode::Gss:
    case AuthCode::Sspi:
        break;
    case AuthCode::Md5Password:
        put_bytes(body, r.salt);
        break;
    case AuthCode::Sasl:
        for (const auto& m : r.mechanisms) {
            if (!m.empty() && m.front() != '\0') { // an empty name would end the list
                put_cstring(body, m);
            }
        }
        put_u8(body, 0);
        break;
    case AuthCode::GssContinue:
    case AuthCode::SaslContinue:
    case AuthCode::SaslFinal:
        put_bytes(body, r.data);
        break;
    }
    return make(backend::kAuthentication, std::move(body));
}

std::optional<std::string> Notice::field(char code) const {
    for (const auto& [c, value] : fields) {
        if (c == code) {
            return value;
        }
    }
    return std::nullopt;
}

std::expected<Notice, Error> decode_notice(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    Notice n;
    while (true) {
        auto code = r.u8();
        if (!code) {
            return std::unexpected(Error::MissingTerminator); // the list's zero byte
        }
        if (*code == 0) {
            break;
        }
        auto value = r.cstring();
        if (!value) {
            return std::unexpected(value.error());
        }
        n.fields.emplace_back(static_cast<char>(*code), std::move(*value));
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return n;
}

std::expected<ParameterStatus, Error> decode_parameter_status(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto name = r.cstring();
    if (!name) {
        return std::unexpected(name.error());
    }
    auto value = r.cstring();
    if (!value) {
        return std::unexpected(value.error());
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return ParameterStatus{std::move(*name), std::move(*value)};
}

std::expected<BackendKeyData, Error> decode_backend_key_data(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto pid = r.u32();
    if (!pid) {
        return std::unexpected(pid.error());
    }
    if (r.remaining() < kMinBackendKeyLength) {
        return std::unexpected(Error::BadLength);
    }
    if (r.remaining() > kMaxCancelKeyLength) {
        return std::unexpected(Error::TooLong);
    }
    return BackendKeyData{*pid, r.rest()};
}

std::expected<std::vector<FieldDescription>, Error>
decode_row_description(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto n = r.u16();
    if (!n) {
        return std::unexpected(n.error());
    }
    std::vector<FieldDescription> fields;
    for (std::size_t i = 0; i < *n; ++i) {
        FieldDescription f;
        auto name = r.cstring();
        if (!name) {
            return std::unexpected(name.error());
        }
        f.name = std::move(*name);
        // Then six fixed fields: table OID, column, type OID, size, modifier, format.
        if (r.remaining() < 18) {
            return std::unexpected(Error::Truncated);
        }
        f.table_oid = *r.u32();
        f.column = *r.i16();
        f.type_oid = *r.u32();
        f.type_size = *r.i16();
        f.type_modifier = *r.i32();
        f.format = *r.i16();
        fields.push_back(std::move(f));
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return fields;
}

std::expected<std::vector<std::optional<std::string>>, Error>
decode_data_row(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto n = r.u16();
    if (!n) {
        return std::unexpected(n.error());
    }
    std::vector<std::optional<std::string>> values;
    for (std::size_t i = 0; i < *n; ++i) {
        auto value = r.sized();
        if (!value) {
            return std::unexpected(value.error());
        }
        if (*value) {
            values.emplace_back(std::string((*value)->begin(), (*value)->end()));
        } else {
            values.emplace_back(std::nullopt);
        }
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return values;
}

std::expected<std::string, Error> decode_command_complete(std::span<const std::uint8_t> body) {
    return decode_one_string(body);
}

std::expected<char, Error> decode_ready_for_query(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto status = r.u8();
    if (!status) {
        return std::unexpected(status.error());
    }
    if (*status != 'I' && *status != 'T' && *status != 'E') {
        return std::unexpected(Error::BadValue);
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return static_cast<char>(*status);
}

std::expected<std::vector<std::uint32_t>, Error>
decode_parameter_description(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    auto n = r.u16();
    if (!n) {
        return std::unexpected(n.error());
    }
    std::vector<std::uint32_t> oids;
    for (std::size_t i = 0; i < *n; ++i) {
        auto oid = r.u32();
        if (!oid) {
            return std::unexpected(oid.error());
        }
        oids.push_back(*oid);
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return oids;
}

std::expected<NegotiateProtocolVersion, Error>
decode_negotiate_protocol_version(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    NegotiateProtocolVersion v;
    auto version = r.u32();
    if (!version) {
        return std::unexpected(version.error());
    }
    v.version = *version;
    auto n = r.i32();
    if (!n) {
        return std::unexpected(n.error());
    }
    if (*n < 0) {
        return std::unexpected(Error::BadValue); // libpq: "invalid ... negotiation message"
    }
    for (std::int32_t i = 0; i < *n; ++i) {
        auto option = r.cstring();
        if (!option) {
            return std::unexpected(option.error());
        }
        v.unrecognized_options.push_back(std::move(*option));
    }
    if (auto d = done(r); !d) {
        return std::unexpected(d.error());
    }
    return v;
}

Message auth_ok() {
    return auth_message(AuthCode::Ok);
}
Message auth_cleartext_password() {
    return auth_message(AuthCode::CleartextPassword);
}
Message auth_md5_password(std::span<const std::uint8_t, 4> salt) {
    return auth_message(AuthCode::Md5Password, salt);
}
Message auth_sasl(const std::vector<std::string>& mechanisms) {
    AuthRequest r;
    r.code = static_cast<std::uint32_t>(AuthCode::Sasl);
    r.mechanisms = mechanisms;
    return encode_auth_request(r);
}
Message auth_sasl_continue(std::span<const std::uint8_t> data) {
    return auth_message(AuthCode::SaslContinue, data);
}
Message auth_sasl_final(std::span<const std::uint8_t> data) {
    return auth_message(AuthCode::SaslFinal, data);
}

Message parameter_status(std::string_view name, std::string_view value) {
    std::vector<std::uint8_t> body;
    put_cstring(body, name);
    put_cstring(body, value);
    return make(backend::kParameterStatus, std::move(body));
}

Message backend_key_data(std::uint32_t process_id, std::span<const std::uint8_t> secret_key) {
    std::vector<std::uint8_t> body;
    put_u32(body, process_id);
    put_bytes(body, secret_key);
    return make(backend::kBackendKeyData, std::move(body));
}

Message ready_for_query(char status) {
    return make(backend::kReadyForQuery, {static_cast<std::uint8_t>(status)});
}

Message row_description(const std::vector<FieldDescription>& fields) {
    std::vector<std::uint8_t> body;
    put_count(body, fields.size());
    for (const auto& f : fields) {
        put_cstring(body, f.name);
        put_u32(body, f.table_oid);
        put_i16(body, f.column);
        put_u32(body, f.type_oid);
        put_i16(body, f.type_size);
        put_i32(body, f.type_modifier);
        put_i16(body, f.format);
    }
    return make(backend::kRowDescription, std::move(body));
}

Message data_row(const std::vector<std::optional<std::string>>& values) {
    std::vector<std::uint8_t> body;
    put_count(body, values.size());
    for (const auto& v : values) {
        if (v) {
            put_sized(body, bytes_of(*v));
        } else {
            put_i32(body, -1);
        }
    }
    return make(backend::kDataRow, std::move(body));
}

Message command_complete(std::string_view tag) {
    return one_string(backend::kCommandComplete, tag);
}
Message empty_query_response() {
    return make(backend::kEmptyQueryResponse);
}
Message parse_complete() {
    return make(backend::kParseComplete);
}
Message bind_complete() {
    return make(backend::kBindComplete);
}
Message close_complete() {
    return make(backend::kCloseComplete);
}
Message no_data() {
    return make(backend::kNoData);
}
Message portal_suspended() {
    return make(backend::kPortalSuspended);
}

Message parameter_description(const std::vector<std::uint32_t>& type_oids) {
    std::vector<std::uint8_t> body;
    put_count(body, type_oids.size());
    for (auto oid : type_oids) {
        put_u32(body, oid);
    }
    return make(backend::kParameterDescription, std::move(body));
}

Message negotiate_protocol_version(std::uint32_t newest_minor,
                                   const std::vector<std::string>& unrecognized_options) {
    std::vector<std::uint8_t> body;
    // The wire carries the whole version, major 3 included, as PostgreSQL sends it and libpq
    // reads it; a full code such as kProtocol30 gives the same bytes as its minor.
    put_u32(body, kProtocol30 | (newest_minor & 0xFFFF));
    put_u32(body, static_cast<std::uint32_t>(unrecognized_options.size()));
    for (const auto& o : unrecognized_options) {
        put_cstring(body, o);
    }
    return make(backend::kNegotiateProtocolVersion, std::move(body));
}

Message error_response(const Notice& n) {
    return notice_message(backend::kErrorResponse, n);
}
Message notice_response(const Notice& n) {
    return notice_message(backend::kNoticeResponse, n);
}

Notice error(std::string_view severity, std::string_view sqlstate, std::string_view message,
             std::string_view detail) {
    Notice n;
    n.fields.emplace_back('S', std::string(severity));
    n.fields.emplace_back('V', std::string(severity));
    n.fields.emplace_back('C', std::string(sqlstate));
    n.fields.emplace_back('M', std::string(message));
    if (!detail.empty()) {
        n.fields.emplace_back('D', std::string(detail));
    }
    return n;
}

} // namespace pg
