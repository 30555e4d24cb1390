#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tds {

// ByteWriter appends little- and big-endian integers and byte runs to an owned buffer, and can
// patch a length it could only know afterwards.
class ByteWriter {
  public:
    void u8(std::uint8_t v) { buf_.push_back(v); }
    void u16be(std::uint16_t v) { put<2>(v, true); }
    void u16le(std::uint16_t v) { put<2>(v, false); }
    void u32be(std::uint32_t v) { put<4>(v, true); }
    void u32le(std::uint32_t v) { put<4>(v, false); }
    void u64le(std::uint64_t v) { put<8>(v, false); }
    void bytes(std::span<const std::uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }

    // patch_u16le/patch_u16be overwrite two bytes already written at `at`.
    void patch_u16le(std::size_t at, std::uint16_t v) {
        buf_.at(at) = static_cast<std::uint8_t>(v & 0xFF);
        buf_.at(at + 1) = static_cast<std::uint8_t>(v >> 8);
    }
    void patch_u16be(std::size_t at, std::uint16_t v) {
        buf_.at(at) = static_cast<std::uint8_t>(v >> 8);
        buf_.at(at + 1) = static_cast<std::uint8_t>(v & 0xFF);
    }
    void patch_u32le(std::size_t at, std::uint32_t v) {
        for (std::size_t i = 0; i < 4; ++i) {
            buf_.at(at + i) = static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF);
        }
    }

    std::size_t size() const { return buf_.size(); }
    const std::vector<std::uint8_t>& data() const { return buf_; }
    std::vector<std::uint8_t> take() { return std::move(buf_); }

  private:
    template <std::size_t N> void put(std::uint64_t v, bool big_endian) {
        for (std::size_t i = 0; i < N; ++i) {
            std::size_t shift = big_endian ? 8 * (N - 1 - i) : 8 * i;
            buf_.push_back(static_cast<std::uint8_t>((v >> shift) & 0xFF));
        }
    }

    std::vector<std::uint8_t> buf_;
};

} // namespace tds
