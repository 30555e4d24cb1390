#pragma once

// PartMatcher: every occurrence of a fixed set of strings (the normalised parts of the knowledge
// base's patterns) found in one pass over a text, however many strings there are (Aho–Corasick:
// a trie of the parts with failure links). The knowledge base used to search the text once per
// part of every pattern: hundreds of scans of up to 64 KiB per paste.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::app::explain {

class PartMatcher {
  public:
    PartMatcher() = default;
    // parts: the strings to find; part i is found as id i (duplicates and empty strings are
    // allowed: a duplicate is found under each of its ids, an empty one never).
    explicit PartMatcher(std::vector<std::string> parts);

    // Where the parts occur in one text (which must outlive this).
    class Occurrences {
      public:
        // first_at_or_after: the offset of the first occurrence of part id at or after pos,
        // std::string_view::npos when there is none; what text.find(part, pos) answers.
        std::size_t first_at_or_after(std::uint32_t id, std::size_t pos) const;

      private:
        friend class PartMatcher;
        const PartMatcher* matcher_ = nullptr;
        std::string_view text_;
        // starts_[id]: ascending offsets, at most kKeptPerPart; full_[id]: more were found than
        // kept, so a query past the last kept one searches the text itself.
        std::vector<std::vector<std::uint32_t>> starts_;
        std::vector<bool> full_;
    };

    Occurrences find_all(std::string_view text) const;
    std::size_t size() const { return parts_.size(); }
    const std::string& part(std::uint32_t id) const { return parts_[id]; }

    // The occurrences kept per part: a degenerate text ("aaaa..." against "a", "aa", ...) costs
    // memory bounded by this times the number of parts; beyond it a query falls back to a search.
    static constexpr std::size_t kKeptPerPart = 4096;

  private:
    struct Node {
        std::uint32_t first_edge = 0; // edges_[first_edge .. first_edge + edge_count), by byte
        std::uint32_t edge_count = 0;
        std::int32_t fail = 0;    // the longest proper suffix that is a node
        std::int32_t output = -1; // the first part id that ends here (then next_same_)
        std::int32_t dict = -1;   // the nearest node along fail links with an output
    };
    struct Edge {
        std::uint8_t byte = 0;
        std::int32_t to = 0;
    };
    std::int32_t step(std::int32_t node, std::uint8_t byte) const;
    std::int32_t child(std::int32_t node, std::uint8_t byte) const;

    std::vector<std::string> parts_;
    std::array<std::int32_t, 256> root_{}; // the root's transitions, every byte (0: stay)
    std::vector<Node> nodes_;
    std::vector<Edge> edges_;
    std::vector<std::int32_t> next_same_; // next_same_[id]: another part id ending at that node
};

} // namespace proxy::app::explain
