#pragma once

// Helpers shared by the fuzz targets (fuzz/*.cc). A target is one LLVMFuzzerTestOneInput over
// one family of parsers; these helpers check invariants and stop the run on a broken one, so
// libFuzzer (or fuzz/replay_main.cc under ctest) reports it with the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <source_location>
#include <span>
#include <string_view>
#include <vector>

namespace fuzz {

using Bytes = std::span<const std::uint8_t>;

// check aborts with the broken invariant's name and place (libFuzzer saves the input).
inline void check(bool ok, const char* what,
                  std::source_location where = std::source_location::current()) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant broken: %s (%s:%u)\n", what, where.file_name(),
                     static_cast<unsigned>(where.line()));
        std::abort();
    }
}

inline std::string_view as_text(Bytes b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// round_trip checks that encode(decode(x)), decoded and encoded again, gives the same bytes:
// every value the decoder produces is one the encoder writes faithfully. Returns whether x
// decoded.
template <class Decode, class Encode>
bool round_trip(Bytes in, Decode decode, Encode encode, const char* what,
                std::source_location where = std::source_location::current()) {
    auto first = decode(in);
    if (!first) {
        return false;
    }
    std::vector<std::uint8_t> once = encode(*first);
    auto second = decode(Bytes(once));
    check(second.has_value(), what, where);
    std::vector<std::uint8_t> twice = encode(*second);
    check(once == twice, what, where);
    return true;
}

// Chunks cuts a stream into pieces of a size taken from the input, as a socket would.
struct Chunks {
    Bytes rest;
    std::size_t size;
    Bytes next() {
        std::size_t n = rest.size() < size ? rest.size() : size;
        Bytes out = rest.first(n);
        rest = rest.subspan(n);
        return out;
    }
    bool done() const { return rest.empty(); }
};

} // namespace fuzz
