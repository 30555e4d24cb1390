#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <mysql/commands.h>

#define MYSQL_TRY(name, expr)                                                                      \
    auto name##_result = (expr);                                                                   \
    if (!name##_result) {                                                                          \
        return std::unexpected(name##_result.error());                                             \
    }                                                                                              \
    auto name = std::move(*name##_result)

namespace mysql {

namespace {

constexpr std::uint8_t kUnsignedFlag = 0x80; // high byte of a parameter's type-and-flag
// MySQL 8.0.26+: COM_STMT_EXECUTE carries an explicit parameter count (query attributes).
constexpr std::uint8_t kParameterCountAvailable = 0x08;

template <typename T> std::string print_number(T v) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    (void)ec;
    return std::string(buffer, end);
}

std::expected<std::string, Error> read_integer(Reader& r, std::size_t width, bool is_unsigned) {
    MYSQL_TRY(raw, r.bytes(width));
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < width; ++i) {
        bits |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
    }
    if (is_unsigned) {
        return print_number(bits);
    }
    // Sign-extend from `width` bytes.
    const unsigned shift = static_cast<unsigned>(64 - 8 * width);
    const auto value = static_cast<std::int64_t>(bits << shift) >> shift;
    return print_number(value);
}

std::expected<std::string, Error> read_datetime(Reader& r, bool with_time) {
    MYSQL_TRY(length, r.u8());
    if (length != 0 && length != 4 && length != 7 && length != 11) {
        return std::unexpected(Error::BadValue);
    }
    std::uint16_t year = 0;
    std::uint8_t month = 0, day = 0, hour = 0, minute = 0, second = 0;
    std::uint32_t micro = 0;
    if (length >= 4) {
        MYSQL_TRY(y, r.u16());
        MYSQL_TRY(mo, r.u8());
        MYSQL_TRY(d, r.u8());
        year = y;
        month = mo;
        day = d;
    }
    if (length >= 7) {
        MYSQL_TRY(h, r.u8());
        MYSQL_TRY(mi, r.u8());
        MYSQL_TRY(s, r.u8());
        hour = h;
        minute = mi;
        second = s;
    }
    if (length == 11) {
        MYSQL_TRY(us, r.u32());
        micro = us;
    }
    char buffer[64];
    int n = std::snprintf(buffer, sizeof buffer, "%04u-%02u-%02u", unsigned{year}, unsigned{month},
                          unsigned{day});
    if (with_time || length >= 7) {
        n += std::snprintf(buffer + n, sizeof buffer - static_cast<std::size_t>(n),
                           " %02u:%02u:%02u", unsigned{hour}, unsigned{minute}, unsigned{second});
    }
    if (micro != 0) {
        std::snprintf(buffer + n, sizeof buffer - static_cast<std::size_t>(n), ".%06u",
                      unsigned{micro});
    }
    return std::string(buffer);
}

std::expected<std::string, Error> read_time(Reader& r) {
    MYSQL_TRY(length, r.u8());
    if (length != 0 && length != 8 && length != 12) {
        return std::unexpected(Error::BadValue);
    }
    std::uint8_t negative = 0, hour = 0, minute = 0, second = 0;
    std::uint32_t days = 0, micro = 0;
    if (length >= 8) {
        MYSQL_TRY(neg, r.u8());
        MYSQL_TRY(d, r.u32());
        MYSQL_TRY(h, r.u8());
        MYSQL_TRY(mi, r.u8());
        MYSQL_TRY(s, r.u8());
        negative = neg;
        days = d;
        hour = h;
        minute = mi;
        second = s;
    }
    if (length == 12) {
        MYSQL_TRY(us, r.u32());
        micro = us;
    }
    char buffer[64];
    const unsigned long long hours = 24ULL * days + hour;
    int n = std::snprintf(buffer, sizeof buffer, "%s%02llu:%02u:%02u", negative != 0 ? "-" : "",
                          hours, unsigned{minute}, unsigned{second});
    if (micro != 0) {
        std::snprintf(buffer + n, sizeof buffer - static_cast<std::size_t>(n), ".%06u",
                      unsigned{micro});
    }
    return std::string(buffer);
}

// read_binary_value: one parameter value in binary form, returned in its text form.
std::expected<std::string, Error> read_binary_value(Reader& r, ColumnType type, bool is_unsigned) {
    switch (type) {
    case ColumnType::Tiny:
        return read_integer(r, 1, is_unsigned);
    case ColumnType::Short:
    case ColumnType::Year:
        return read_integer(r, 2, is_unsigned);
    case ColumnType::Long:
    case ColumnType::Int24:
        return read_integer(r, 4, is_unsigned);
    case ColumnType::LongLong:
        return read_integer(r, 8, is_unsigned);
    case ColumnType::Float: {
        MYSQL_TRY(bits, r.u32());
        float v = 0;
        std::memcpy(&v, &bits, sizeof v);
        return print_number(v);
    }
    case ColumnType::Double: {
        MYSQL_TRY(bits, r.u64());
        double v = 0;
        std::memcpy(&v, &bits, sizeof v);
        return print_number(v);
    }
    case ColumnType::Date:
    case ColumnType::NewDate:
        return read_datetime(r, false);
    case ColumnType::DateTime:
    case ColumnType::Timestamp:
    case ColumnType::DateTime2:
    case ColumnType::Timestamp2:
        return read_datetime(r, true);
    case ColumnType::Time:
    case ColumnType::Time2:
        return read_time(r);
    case ColumnType::Null:
        return std::string{};
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
    case ColumnType::Geometry: {
        MYSQL_TRY(s, r.lenenc_string());
        if (!s) {
            return std::unexpected(Error::BadValue);
        }
        return std::move(*s);
    }
    case ColumnType::TypedArray:
        return std::unexpected(Error::Unsupported);
    }
    return std::unexpected(Error::BadValue);
}

std::expected<std::uint64_t, Error> read_count(Reader& r) {
    MYSQL_TRY(n, r.lenenc_int());
    if (!n) {
        return std::unexpected(Error::BadValue);
    }
    return *n;
}

// Every parameter needs at least its 2-byte type or a NULL bit: a count beyond what the packet
// can hold is refused before anything is allocated for it.
std::expected<void, Error> check_count(std::uint64_t count, const Reader& r) {
    if (count > kDefaultMaxPacket) {
        return std::unexpected(Error::TooLong);
    }
    if ((count + 7) / 8 > r.remaining()) {
        return std::unexpected(Error::Truncated);
    }
    return {};
}

struct TypeAndFlag {
    ColumnType type = ColumnType::Null;
    bool is_unsigned = false;
};

std::expected<TypeAndFlag, Error> read_type(Reader& r) {
    MYSQL_TRY(type, r.u8());
    MYSQL_TRY(flag, r.u8());
    if (!is_column_type(type) || (flag & ~kUnsignedFlag) != 0) {
        return std::unexpected(Error::BadValue);
    }
    return TypeAndFlag{static_cast<ColumnType>(type), (flag & kUnsignedFlag) != 0};
}

bool null_bit(std::span<const std::uint8_t> bitmap, std::size_t i) {
    return (bitmap[i / 8] >> (i % 8) & 1U) != 0;
}

} // namespace

std::expected<Query, Error> decode_query(std::span<const std::uint8_t> payload,
                                         std::uint32_t caps) {
    Reader r(payload);
    MYSQL_TRY(command, r.u8());
    if (command != static_cast<std::uint8_t>(Command::Query)) {
        return std::unexpected(Error::BadValue);
    }
    Query q;
    if ((caps & cap::QueryAttributes) != 0) {
        MYSQL_TRY(count, read_count(r));
        MYSQL_TRY(set_count, read_count(r));
        if (set_count != 1) {
            return std::unexpected(Error::Unsupported);
        }
        if (auto ok = check_count(count, r); !ok) {
            return std::unexpected(ok.error());
        }
        if (count > 0) {
            const auto n = static_cast<std::size_t>(count);
            MYSQL_TRY(bitmap, r.bytes((n + 7) / 8));
            MYSQL_TRY(bound, r.u8());
            if (bound != 1) {
                return std::unexpected(Error::BadValue); // attributes are always bound
            }
            std::vector<TypeAndFlag> types;
            for (std::size_t i = 0; i < n; ++i) {
                MYSQL_TRY(type, read_type(r));
                MYSQL_TRY(name, r.lenenc_string());
                if (!name) {
                    return std::unexpected(Error::BadValue);
                }
                types.push_back(type);
                q.attributes.emplace_back(std::move(*name), Value{});
            }
            for (std::size_t i = 0; i < n; ++i) {
                if (null_bit(bitmap, i) || types[i].type == ColumnType::Null) {
                    continue;
                }
                MYSQL_TRY(value, read_binary_value(r, types[i].type, types[i].is_unsigned));
                q.attributes[i].second = std::move(value);
            }
        }
    }
    q.text = r.rest_string();
    return q;
}

std::vector<std::uint8_t> encode_query(std::string_view text) {
    Writer w;
    w.u8(static_cast<std::uint8_t>(Command::Query));
    w.string(text);
    return w.take();
}

std::expected<std::uint32_t, Error> statement_id_of(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(command, r.u8());
    (void)command;
    return r.u32();
}

std::expected<StmtExecute, Error>
decode_stmt_execute(std::span<const std::uint8_t> payload, std::uint16_t param_count,
                    std::span<const BoundParameter> previous_types, std::uint32_t caps) {
    Reader r(payload);
    MYSQL_TRY(command, r.u8());
    if (command != static_cast<std::uint8_t>(Command::StmtExecute)) {
        return std::unexpected(Error::BadValue);
    }
    StmtExecute e;
    MYSQL_TRY(id, r.u32());
    MYSQL_TRY(flags, r.u8());
    MYSQL_TRY(iterations, r.u32());
    e.statement_id = id;
    e.flags = flags;
    e.iteration_count = iterations;
    const bool attributes = (caps & cap::QueryAttributes) != 0;
    std::uint64_t count = param_count;
    if (param_count > 0 || (attributes && (flags & kParameterCountAvailable) != 0)) {
        if (attributes) {
            MYSQL_TRY(sent, read_count(r));
            count = sent;
        }
    }
    if (auto ok = check_count(count, r); !ok) {
        return std::unexpected(ok.error());
    }
    if (count > 0) {
        const auto n = static_cast<std::size_t>(count);
        MYSQL_TRY(bitmap, r.bytes((n + 7) / 8));
        MYSQL_TRY(bound, r.u8());
        if (bound > 1) {
            return std::unexpected(Error::BadValue);
        }
        e.new_params_bound = bound == 1;
        if (e.new_params_bound) {
            for (std::size_t i = 0; i < n; ++i) {
                MYSQL_TRY(type, read_type(r));
                if (attributes) {
                    MYSQL_TRY(name, r.lenenc_string()); // attribute names: not kept
                    (void)name;
                }
                e.params.push_back(BoundParameter{type.type, type.is_unsigned, Value{}});
            }
        } else {
            if (previous_types.size() != n) {
                return std::unexpected(Error::BadValue);
            }
            for (const auto& p : previous_types) {
                e.params.push_back(BoundParameter{p.type, p.is_unsigned, Value{}});
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (null_bit(bitmap, i) || e.params[i].type == ColumnType::Null) {
                continue;
            }
            MYSQL_TRY(value, read_binary_value(r, e.params[i].type, e.params[i].is_unsigned));
            e.params[i].value = std::move(value);
        }
    }
    if (!r.at_end()) {
        return std::unexpected(Error::TrailingBytes);
    }
    return e;
}

std::expected<StmtLongData, Error> decode_stmt_long_data(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    MYSQL_TRY(command, r.u8());
    if (command != static_cast<std::uint8_t>(Command::StmtSendLongData)) {
        return std::unexpected(Error::BadValue);
    }
    StmtLongData d;
    MYSQL_TRY(id, r.u32());
    MYSQL_TRY(param, r.u16());
    d.statement_id = id;
    d.param_id = param;
    d.data = r.rest_bytes();
    return d;
}

} // namespace mysql

#undef MYSQL_TRY
