#include <algorithm>
#include <cstdint>

#include <mysql/wire.h>

namespace mysql {

namespace {

// No field of any packet can be longer than MySQL's largest max_allowed_packet (1 GiB): a
// declared length beyond it is TooLong, a shorter one beyond the bytes at hand is Truncated.
constexpr std::uint64_t kMaxFieldLength = 1024ULL * 1024 * 1024;

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
    case Error::Unsupported:
        return "unsupported";
    }
    return "unknown error";
}

std::expected<std::uint8_t, Error> Reader::peek() const {
    if (at_end()) {
        return std::unexpected(Error::Truncated);
    }
    return bytes_[pos_];
}

std::expected<std::uint8_t, Error> Reader::u8() {
    if (at_end()) {
        return std::unexpected(Error::Truncated);
    }
    return bytes_[pos_++];
}

namespace {

template <typename T>
std::expected<T, Error> read_le(std::span<const std::uint8_t> bytes, std::size_t& pos,
                                std::size_t width) {
    if (bytes.size() - pos < width) {
        return std::unexpected(Error::Truncated);
    }
    T v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        v = static_cast<T>(v | static_cast<T>(bytes[pos + i]) << (8 * i));
    }
    pos += width;
    return v;
}

} // namespace

std::expected<std::uint16_t, Error> Reader::u16() {
    return read_le<std::uint16_t>(bytes_, pos_, 2);
}
std::expected<std::uint32_t, Error> Reader::u24() {
    return read_le<std::uint32_t>(bytes_, pos_, 3);
}
std::expected<std::uint32_t, Error> Reader::u32() {
    return read_le<std::uint32_t>(bytes_, pos_, 4);
}
std::expected<std::uint64_t, Error> Reader::u48() {
    return read_le<std::uint64_t>(bytes_, pos_, 6);
}
std::expected<std::uint64_t, Error> Reader::u64() {
    return read_le<std::uint64_t>(bytes_, pos_, 8);
}

std::expected<std::optional<std::uint64_t>, Error> Reader::lenenc_int() {
    if (at_end()) {
        return std::unexpected(Error::Truncated);
    }
    const std::uint8_t first = bytes_[pos_];
    std::size_t width = 0;
    switch (first) {
    case 0xFB:
        ++pos_;
        return std::optional<std::uint64_t>{};
    case 0xFC:
        width = 2;
        break;
    case 0xFD:
        width = 3;
        break;
    case 0xFE:
        width = 8;
        break;
    case 0xFF:
        return std::unexpected(Error::BadLength);
    default:
        ++pos_;
        return std::optional<std::uint64_t>{first};
    }
    if (remaining() < 1 + width) {
        return std::unexpected(Error::Truncated);
    }
    std::size_t at = pos_ + 1;
    auto v = read_le<std::uint64_t>(bytes_, at, width);
    pos_ = at;
    return std::optional<std::uint64_t>{*v};
}

namespace {

std::expected<std::size_t, Error> check_length(std::uint64_t n, std::size_t remaining) {
    if (n > kMaxFieldLength) {
        return std::unexpected(Error::TooLong);
    }
    if (n > remaining) {
        return std::unexpected(Error::Truncated);
    }
    return static_cast<std::size_t>(n);
}

} // namespace

std::expected<std::vector<std::uint8_t>, Error> Reader::bytes(std::size_t n) {
    auto len = check_length(n, remaining());
    if (!len) {
        return std::unexpected(len.error());
    }
    std::vector<std::uint8_t> out(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                  bytes_.begin() + static_cast<std::ptrdiff_t>(pos_ + *len));
    pos_ += *len;
    return out;
}

std::expected<std::string, Error> Reader::fixed_string(std::size_t n) {
    auto len = check_length(n, remaining());
    if (!len) {
        return std::unexpected(len.error());
    }
    std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), *len);
    pos_ += *len;
    return out;
}

std::expected<std::string, Error> Reader::null_string() {
    for (std::size_t i = pos_; i < bytes_.size(); ++i) {
        if (bytes_[i] == 0) {
            std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), i - pos_);
            pos_ = i + 1;
            return out;
        }
    }
    return std::unexpected(Error::MissingTerminator);
}

std::expected<std::optional<std::string>, Error> Reader::lenenc_string() {
    const std::size_t start = pos_;
    auto n = lenenc_int();
    if (!n) {
        return std::unexpected(n.error());
    }
    if (!*n) {
        return std::optional<std::string>{};
    }
    auto s = fixed_string(static_cast<std::size_t>(std::min<std::uint64_t>(**n, SIZE_MAX)));
    if (!s) {
        pos_ = start;
        return std::unexpected(s.error());
    }
    return std::optional<std::string>{std::move(*s)};
}

std::expected<std::vector<std::uint8_t>, Error> Reader::lenenc_bytes() {
    const std::size_t start = pos_;
    auto n = lenenc_int();
    if (!n) {
        return std::unexpected(n.error());
    }
    if (!*n) {
        pos_ = start;
        return std::unexpected(Error::BadValue);
    }
    auto b = bytes(static_cast<std::size_t>(std::min<std::uint64_t>(**n, SIZE_MAX)));
    if (!b) {
        pos_ = start;
    }
    return b;
}

std::string Reader::rest_string() {
    std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), remaining());
    pos_ = bytes_.size();
    return out;
}

std::vector<std::uint8_t> Reader::rest_bytes() {
    std::vector<std::uint8_t> out(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), bytes_.end());
    pos_ = bytes_.size();
    return out;
}

std::expected<void, Error> Reader::skip(std::size_t n) {
    auto len = check_length(n, remaining());
    if (!len) {
        return std::unexpected(len.error());
    }
    pos_ += *len;
    return {};
}

namespace {

void write_le(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}

} // namespace

void Writer::u16(std::uint16_t v) {
    write_le(out_, v, 2);
}
void Writer::u24(std::uint32_t v) {
    write_le(out_, v, 3);
}
void Writer::u32(std::uint32_t v) {
    write_le(out_, v, 4);
}
void Writer::u48(std::uint64_t v) {
    write_le(out_, v, 6);
}
void Writer::u64(std::uint64_t v) {
    write_le(out_, v, 8);
}

void Writer::lenenc_int(std::uint64_t v) {
    if (v < 0xFB) {
        out_.push_back(static_cast<std::uint8_t>(v));
    } else if (v <= 0xFFFF) {
        out_.push_back(0xFC);
        write_le(out_, v, 2);
    } else if (v <= 0xFFFFFF) {
        out_.push_back(0xFD);
        write_le(out_, v, 3);
    } else {
        out_.push_back(0xFE);
        write_le(out_, v, 8);
    }
}

void Writer::bytes(std::span<const std::uint8_t> b) {
    out_.insert(out_.end(), b.begin(), b.end());
}

void Writer::string(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
}

void Writer::null_string(std::string_view s) {
    string(s);
    out_.push_back(0);
}

void Writer::lenenc_string(std::string_view s) {
    lenenc_int(s.size());
    string(s);
}

void Writer::lenenc_bytes(std::span<const std::uint8_t> b) {
    lenenc_int(b.size());
    bytes(b);
}

void Writer::zeros(std::size_t n) {
    out_.insert(out_.end(), n, 0);
}

std::size_t lenenc_size(std::uint64_t v) {
    if (v < 0xFB) {
        return 1;
    }
    if (v <= 0xFFFF) {
        return 3;
    }
    if (v <= 0xFFFFFF) {
        return 4;
    }
    return 9;
}

} // namespace mysql
