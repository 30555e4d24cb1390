#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace tds {

// ByteReader is a bounds-checked cursor over borrowed bytes (BoringSSL's CBS idea): every read
// either succeeds and advances, or fails and leaves the cursor where it was. It never reads past
// the span it was given, whatever the lengths on the wire claim.
class ByteReader {
  public:
    explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

    std::size_t remaining() const { return data_.size() - pos_; }
    std::size_t position() const { return pos_; }
    bool empty() const { return remaining() == 0; }
    std::span<const std::uint8_t> rest() const { return data_.subspan(pos_); }

    std::optional<std::uint8_t> u8() {
        if (remaining() < 1) {
            return std::nullopt;
        }
        return data_[pos_++];
    }
    std::optional<std::uint16_t> u16be() { return read_uint<std::uint16_t, 2>(true); }
    std::optional<std::uint16_t> u16le() { return read_uint<std::uint16_t, 2>(false); }
    std::optional<std::uint32_t> u32be() { return read_uint<std::uint32_t, 4>(true); }
    std::optional<std::uint32_t> u32le() { return read_uint<std::uint32_t, 4>(false); }
    std::optional<std::uint64_t> u64le() { return read_uint<std::uint64_t, 8>(false); }

    std::optional<std::span<const std::uint8_t>> bytes(std::size_t len) {
        if (remaining() < len) {
            return std::nullopt;
        }
        auto out = data_.subspan(pos_, len);
        pos_ += len;
        return out;
    }
    bool skip(std::size_t len) { return bytes(len).has_value(); }

  private:
    template <typename T, std::size_t N> std::optional<T> read_uint(bool big_endian) {
        if (remaining() < N) {
            return std::nullopt;
        }
        T v = 0;
        for (std::size_t i = 0; i < N; ++i) {
            std::size_t idx = big_endian ? i : N - 1 - i;
            v = static_cast<T>((v << 8) | data_[pos_ + idx]);
        }
        pos_ += N;
        return v;
    }

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

} // namespace tds
