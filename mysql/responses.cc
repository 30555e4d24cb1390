#include <algorithm>
#include <charconv>
#include <cstring>

#include <mysql/responses.h>

#define MYSQL_TRY(name, expr)                                                                      \
    auto name##_result = (expr);                                                                   \
    if (!name##_result) {                                                                          \
        return std::unexpected(name##_result.error());                                             \
    }                                                                                              \
    auto name = std::move(*name##_result)
// CHECK(expr): return the error of a std::expected<void, Error>.
#define MYSQL_CHECK(expr)                                                                          \
    if (auto check_result = (expr); !check_result) {                                               \
        return std::unexpected(check_result.error());                                              \
    }

namespace mysql {

namespace {

constexpr std::uint8_t kOkHeader = 0x00;
constexpr std::uint8_t kEofHeader = 0xFE;
constexpr std::uint8_t kErrHeader = 0xFF;
constexpr std::size_t kEofSize = 5;
constexpr std::size_t kMinOkSize = 7; // header, two 1-byte lenencs, status, warnings
// A text row whose first value is 0xFE-prefixed (8-byte length) has at least 9 bytes.
constexpr std::size_t kMinRowWithFeSize = 9;
constexpr std::uint16_t kProgressReport = 0xFFFF; // MariaDB: ERR 0xFFFF is a progress report
constexpr std::size_t kSqlStateSize = 5;
constexpr std::uint8_t kColumnFixedLength = 0x0C;
constexpr std::size_t kColumnFixedBlockSize = 1 + kColumnFixedLength;
constexpr std::size_t kBinaryNullBitmapOffset = 2;

} // namespace

std::expected<OkPacket, Error> decode_ok(std::span<const std::uint8_t> payload,
                                         std::uint32_t caps) {
    Reader r(payload);
    OkPacket ok;
    MYSQL_TRY(header, r.u8());
    if (header != kOkHeader && header != kEofHeader) {
        return std::unexpected(Error::BadValue);
    }
    ok.header = header;
    MYSQL_TRY(affected, r.lenenc_int());
    MYSQL_TRY(insert_id, r.lenenc_int());
    if (!affected || !insert_id) {
        return std::unexpected(Error::BadValue);
    }
    ok.affected_rows = *affected;
    ok.last_insert_id = *insert_id;
    if ((caps & cap::Protocol41) != 0) {
        MYSQL_TRY(status, r.u16());
        MYSQL_TRY(warnings, r.u16());
        ok.status = status;
        ok.warnings = warnings;
    } else if ((caps & cap::Transactions) != 0) {
        MYSQL_TRY(status, r.u16());
        ok.status = status;
    }
    // MySQL (net_send_ok) and MariaDB write the info as a lenenc string, with or without
    // CLIENT_SESSION_TRACK, and only when there is something to say.
    if (!r.at_end()) {
        MYSQL_TRY(info, r.lenenc_string());
        if (!info) {
            return std::unexpected(Error::BadValue);
        }
        ok.info = std::move(*info);
    }
    if ((caps & cap::SessionTrack) != 0 && (ok.status & status::SessionStateChanged) != 0 &&
        !r.at_end()) {
        MYSQL_TRY(state, r.lenenc_bytes());
        ok.session_state = std::move(state);
    }
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return ok;
}

std::vector<std::uint8_t> encode_ok(const OkPacket& ok, std::uint32_t caps) {
    Writer w;
    w.u8(ok.header);
    w.lenenc_int(ok.affected_rows);
    w.lenenc_int(ok.last_insert_id);
    if ((caps & cap::Protocol41) != 0) {
        w.u16(ok.status);
        w.u16(ok.warnings);
    } else if ((caps & cap::Transactions) != 0) {
        w.u16(ok.status);
    }
    const bool state = (caps & cap::SessionTrack) != 0 &&
                       (ok.status & status::SessionStateChanged) != 0 && !ok.session_state.empty();
    if (!ok.info.empty() || state) {
        w.lenenc_string(ok.info);
    }
    if (state) {
        w.lenenc_bytes(ok.session_state);
    }
    return w.take();
}

std::expected<ErrPacket, Error> decode_err(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(header, r.u8());
    if (header != kErrHeader) {
        return std::unexpected(Error::BadValue);
    }
    ErrPacket err;
    MYSQL_TRY(code, r.u16());
    err.code = code;
    // A MariaDB progress report (0xFFFF) carries stage, max stage, progress and info instead:
    // kept raw in `message` so it is relayed as read.
    if (code != kProgressReport && r.remaining() >= 1 + kSqlStateSize && *r.peek() == '#') {
        (void)r.u8();
        MYSQL_TRY(state, r.fixed_string(kSqlStateSize));
        err.sql_state = std::move(state);
        err.has_sql_state = true;
    } else {
        err.sql_state.clear();
        err.has_sql_state = false;
    }
    err.message = r.rest_string();
    return err;
}

std::vector<std::uint8_t> encode_err(const ErrPacket& err) {
    Writer w;
    w.u8(kErrHeader);
    w.u16(err.code);
    if (err.has_sql_state) {
        w.u8('#');
        std::string state = err.sql_state.substr(0, kSqlStateSize);
        state.resize(kSqlStateSize, '0');
        w.string(state);
    }
    w.string(err.message);
    return w.take();
}

std::expected<EofPacket, Error> decode_eof(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(header, r.u8());
    if (header != kEofHeader) {
        return std::unexpected(Error::BadValue);
    }
    if (payload.size() > kEofSize) {
        return std::unexpected(Error::TrailingBytes);
    }
    EofPacket eof;
    MYSQL_TRY(warnings, r.u16());
    MYSQL_TRY(status, r.u16());
    eof.warnings = warnings;
    eof.status = status;
    return eof;
}

std::vector<std::uint8_t> encode_eof(const EofPacket& eof) {
    Writer w;
    w.u8(kEofHeader);
    w.u16(eof.warnings);
    w.u16(eof.status);
    return w.take();
}

bool is_ok(std::span<const std::uint8_t> payload) {
    if (payload.empty()) {
        return false;
    }
    if (payload[0] == kOkHeader) {
        return payload.size() >= kMinOkSize;
    }
    return payload[0] == kEofHeader && payload.size() >= kMinRowWithFeSize &&
           payload.size() < kMaxPayloadChunk;
}

bool is_err(std::span<const std::uint8_t> payload) {
    return !payload.empty() && payload[0] == kErrHeader;
}

bool is_eof(std::span<const std::uint8_t> payload) {
    return !payload.empty() && payload[0] == kEofHeader && payload.size() < kMinRowWithFeSize;
}

std::expected<ColumnDefinition, Error> decode_column(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    ColumnDefinition c;
    for (std::string* field :
         {&c.catalog, &c.schema, &c.table, &c.org_table, &c.name, &c.org_name}) {
        MYSQL_TRY(value, r.lenenc_string());
        if (!value) {
            return std::unexpected(Error::BadValue);
        }
        *field = std::move(*value);
    }
    // The standard form has exactly the fixed-length block left; MariaDB's extended metadata
    // puts a lenenc string before it.
    if (r.remaining() != kColumnFixedBlockSize || *r.peek() != kColumnFixedLength) {
        MYSQL_TRY(extended, r.lenenc_string());
        if (!extended) {
            return std::unexpected(Error::BadValue);
        }
        c.extended_metadata = std::move(*extended);
    }
    MYSQL_TRY(fixed_length, r.lenenc_int());
    if (!fixed_length || *fixed_length != kColumnFixedLength) {
        return std::unexpected(Error::BadValue);
    }
    MYSQL_TRY(charset, r.u16());
    MYSQL_TRY(length, r.u32());
    MYSQL_TRY(type, r.u8());
    MYSQL_TRY(flags, r.u16());
    MYSQL_TRY(decimals, r.u8());
    MYSQL_TRY(filler, r.u16());
    if (!is_column_type(type) || filler != 0) {
        return std::unexpected(Error::BadValue);
    }
    c.character_set = charset;
    c.column_length = length;
    c.type = static_cast<ColumnType>(type);
    c.flags = flags;
    c.decimals = decimals;
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return c;
}

std::vector<std::uint8_t> encode_column(const ColumnDefinition& c) {
    Writer w;
    for (const std::string* field :
         {&c.catalog, &c.schema, &c.table, &c.org_table, &c.name, &c.org_name}) {
        w.lenenc_string(*field);
    }
    if (c.extended_metadata) {
        w.lenenc_string(*c.extended_metadata);
    }
    w.lenenc_int(kColumnFixedLength);
    w.u16(c.character_set);
    w.u32(c.column_length);
    w.u8(static_cast<std::uint8_t>(c.type));
    w.u16(c.flags);
    w.u8(c.decimals);
    w.u16(0);
    return w.take();
}

std::vector<std::uint8_t> encode_text_row(std::span<const Value> values) {
    Writer w;
    for (const auto& v : values) {
        if (v) {
            w.lenenc_string(*v);
        } else {
            w.lenenc_null();
        }
    }
    return w.take();
}

std::expected<std::vector<Value>, Error> decode_text_row(std::span<const std::uint8_t> payload,
                                                         std::size_t columns) {
    Reader r(payload);
    std::vector<Value> out;
    out.reserve(std::min(columns, payload.size()));
    for (std::size_t i = 0; i < columns; ++i) {
        MYSQL_TRY(value, r.lenenc_string());
        out.push_back(std::move(value));
    }
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return out;
}

namespace {

template <typename T> std::expected<T, Error> parse_number(std::string_view text) {
    T v{};
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || ptr != end || text.empty()) {
        return std::unexpected(Error::BadValue);
    }
    return v;
}

// write_integer: the text as a signed or unsigned integer of `width` bytes.
std::expected<void, Error> write_integer(Writer& w, std::string_view text, std::size_t width,
                                         bool is_unsigned) {
    std::uint64_t bits = 0;
    if (is_unsigned) {
        MYSQL_TRY(v, parse_number<std::uint64_t>(text));
        if (width < 8 && v >> (8 * width) != 0) {
            return std::unexpected(Error::BadValue);
        }
        bits = v;
    } else {
        MYSQL_TRY(v, parse_number<std::int64_t>(text));
        if (width < 8) {
            const std::int64_t limit = std::int64_t{1} << (8 * width - 1);
            if (v < -limit || v >= limit) {
                return std::unexpected(Error::BadValue);
            }
        }
        bits = static_cast<std::uint64_t>(v);
    }
    for (std::size_t i = 0; i < width; ++i) {
        w.u8(static_cast<std::uint8_t>(bits >> (8 * i)));
    }
    return {};
}

// Date and time pieces from "YYYY-MM-DD", "YYYY-MM-DD hh:mm:ss[.ffffff]", "[-]hh:mm:ss[.f]".
struct DateTimeParts {
    bool negative = false;
    std::uint32_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micro = 0;
};

std::expected<std::uint32_t, Error> parse_field(std::string_view text) {
    if (text.empty() || text.size() > 9) {
        return std::unexpected(Error::BadValue);
    }
    return parse_number<std::uint32_t>(text);
}

std::expected<std::uint32_t, Error> parse_micro(std::string_view digits) {
    if (digits.empty() || digits.size() > 6) {
        return std::unexpected(Error::BadValue);
    }
    MYSQL_TRY(v, parse_field(digits));
    for (std::size_t i = digits.size(); i < 6; ++i) {
        v *= 10;
    }
    return v;
}

// "hh:mm:ss[.ffffff]" into parts (hours unbounded for TIME).
std::expected<void, Error> parse_clock(std::string_view text, DateTimeParts& p) {
    const auto c1 = text.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : text.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
        return std::unexpected(Error::BadValue);
    }
    const auto dot = text.find('.', c2);
    MYSQL_TRY(hour, parse_field(text.substr(0, c1)));
    MYSQL_TRY(minute, parse_field(text.substr(c1 + 1, c2 - c1 - 1)));
    MYSQL_TRY(second,
              parse_field(text.substr(c2 + 1, dot == std::string_view::npos ? std::string_view::npos
                                                                            : dot - c2 - 1)));
    if (minute > 59 || second > 59) {
        return std::unexpected(Error::BadValue);
    }
    p.hour = hour;
    p.minute = minute;
    p.second = second;
    if (dot != std::string_view::npos) {
        MYSQL_TRY(micro, parse_micro(text.substr(dot + 1)));
        p.micro = micro;
    }
    return {};
}

std::expected<DateTimeParts, Error> parse_datetime(std::string_view text) {
    DateTimeParts p;
    if (text.size() < 10 || text[4] != '-' || text[7] != '-') {
        return std::unexpected(Error::BadValue);
    }
    MYSQL_TRY(year, parse_field(text.substr(0, 4)));
    MYSQL_TRY(month, parse_field(text.substr(5, 2)));
    MYSQL_TRY(day, parse_field(text.substr(8, 2)));
    if (year > 9999 || month > 12 || day > 31) {
        return std::unexpected(Error::BadValue);
    }
    p.year = year;
    p.month = month;
    p.day = day;
    if (text.size() > 10) {
        if (text[10] != ' ' && text[10] != 'T') {
            return std::unexpected(Error::BadValue);
        }
        MYSQL_CHECK(parse_clock(text.substr(11), p));
        if (p.hour > 23) {
            return std::unexpected(Error::BadValue);
        }
    }
    return p;
}

void write_datetime(Writer& w, const DateTimeParts& p) {
    const bool has_micro = p.micro != 0;
    const bool has_time = has_micro || p.hour != 0 || p.minute != 0 || p.second != 0;
    const bool has_date = has_time || p.year != 0 || p.month != 0 || p.day != 0;
    w.u8(has_micro ? 11 : has_time ? 7 : has_date ? 4 : 0);
    if (!has_date) {
        return;
    }
    w.u16(static_cast<std::uint16_t>(p.year));
    w.u8(static_cast<std::uint8_t>(p.month));
    w.u8(static_cast<std::uint8_t>(p.day));
    if (!has_time) {
        return;
    }
    w.u8(static_cast<std::uint8_t>(p.hour));
    w.u8(static_cast<std::uint8_t>(p.minute));
    w.u8(static_cast<std::uint8_t>(p.second));
    if (has_micro) {
        w.u32(p.micro);
    }
}

std::expected<void, Error> write_time(Writer& w, std::string_view text) {
    DateTimeParts p;
    if (!text.empty() && text[0] == '-') {
        p.negative = true;
        text.remove_prefix(1);
    }
    MYSQL_CHECK(parse_clock(text, p));
    const std::uint32_t days = p.hour / 24;
    const std::uint32_t hours = p.hour % 24;
    const bool has_micro = p.micro != 0;
    const bool zero = !has_micro && days == 0 && hours == 0 && p.minute == 0 && p.second == 0;
    w.u8(zero ? 0 : has_micro ? 12 : 8);
    if (zero) {
        return {};
    }
    w.u8(p.negative ? 1 : 0);
    w.u32(days);
    w.u8(static_cast<std::uint8_t>(hours));
    w.u8(static_cast<std::uint8_t>(p.minute));
    w.u8(static_cast<std::uint8_t>(p.second));
    if (has_micro) {
        w.u32(p.micro);
    }
    return {};
}

std::expected<void, Error> write_binary_value(Writer& w, const ColumnDefinition& c,
                                              std::string_view text) {
    const bool is_unsigned = (c.flags & column_flag::Unsigned) != 0;
    switch (c.type) {
    case ColumnType::Tiny:
        return write_integer(w, text, 1, is_unsigned);
    case ColumnType::Short:
    case ColumnType::Year:
        return write_integer(w, text, 2, is_unsigned);
    case ColumnType::Long:
    case ColumnType::Int24:
        return write_integer(w, text, 4, is_unsigned);
    case ColumnType::LongLong:
        return write_integer(w, text, 8, is_unsigned);
    case ColumnType::Float: {
        MYSQL_TRY(v, parse_number<float>(text));
        std::uint32_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        w.u32(bits);
        return {};
    }
    case ColumnType::Double: {
        MYSQL_TRY(v, parse_number<double>(text));
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        w.u64(bits);
        return {};
    }
    case ColumnType::Date:
    case ColumnType::NewDate:
    case ColumnType::DateTime:
    case ColumnType::Timestamp:
    case ColumnType::DateTime2:
    case ColumnType::Timestamp2: {
        MYSQL_TRY(parts, parse_datetime(text));
        write_datetime(w, parts);
        return {};
    }
    case ColumnType::Time:
    case ColumnType::Time2:
        return write_time(w, text);
    case ColumnType::Null:
        return std::unexpected(Error::BadValue); // a NULL column holds only NULL
    case ColumnType::Decimal:
    case ColumnType::NewDecimal:
    case ColumnType::VarChar:
    case ColumnType::Bit:
    case ColumnType::Vector:
    case ColumnType::Json:
    case ColumnType::Enum:
    case ColumnType::Set:
    case ColumnType::TinyBlob:
    case ColumnType::MediumBlob:
    case ColumnType::LongBlob:
    case ColumnType::Blob:
    case ColumnType::VarString:
    case ColumnType::String:
    case ColumnType::Geometry:
        w.lenenc_string(text);
        return {};
    case ColumnType::TypedArray:
        return std::unexpected(Error::Unsupported);
    }
    return std::unexpected(Error::BadValue);
}

} // namespace

std::expected<std::vector<std::uint8_t>, Error>
encode_binary_row(std::span<const ColumnDefinition> columns, std::span<const Value> values) {
    if (columns.size() != values.size()) {
        return std::unexpected(Error::BadValue);
    }
    Writer w;
    w.u8(kOkHeader);
    const std::size_t bitmap_at = w.out().size();
    w.zeros((columns.size() + 7 + kBinaryNullBitmapOffset) / 8);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (!values[i]) {
            const std::size_t bit = i + kBinaryNullBitmapOffset;
            w.out()[bitmap_at + bit / 8] |= static_cast<std::uint8_t>(1U << (bit % 8));
            continue;
        }
        MYSQL_CHECK(write_binary_value(w, columns[i], *values[i]));
    }
    return w.take();
}

std::vector<std::uint8_t> encode_prepare_ok(const PrepareOk& p) {
    Writer w;
    w.u8(kOkHeader);
    w.u32(p.statement_id);
    w.u16(p.columns);
    w.u16(p.params);
    w.u8(0);
    w.u16(p.warnings);
    return w.take();
}

std::expected<PrepareOk, Error> decode_prepare_ok(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(header, r.u8());
    if (header != kOkHeader) {
        return std::unexpected(Error::BadValue);
    }
    PrepareOk p;
    MYSQL_TRY(id, r.u32());
    MYSQL_TRY(columns, r.u16());
    MYSQL_TRY(params, r.u16());
    MYSQL_TRY(filler, r.u8());
    MYSQL_TRY(warnings, r.u16());
    if (filler != 0) {
        return std::unexpected(Error::BadValue);
    }
    p.statement_id = id;
    p.columns = columns;
    p.params = params;
    p.warnings = warnings;
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return p;
}

} // namespace mysql

#undef MYSQL_TRY
#undef MYSQL_CHECK
