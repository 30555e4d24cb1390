#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <proxy/app/explain/part_matcher.h>

using proxy::app::explain::PartMatcher;

namespace {

// What the matcher must answer: std::string_view::find, part by part, position by position.
void require_same_as_find(const PartMatcher& m, const std::vector<std::string>& parts,
                          std::string_view text) {
    auto found = m.find_all(text);
    for (std::uint32_t id = 0; id < parts.size(); ++id) {
        for (std::size_t pos = 0; pos <= text.size() + 1; ++pos) {
            auto want = parts[id].empty() ? std::string_view::npos : text.find(parts[id], pos);
            INFO("part " << id << " '" << parts[id] << "' from " << pos << " in '" << text << "'");
            REQUIRE(found.first_at_or_after(id, pos) == want);
        }
    }
}

} // namespace

TEST_CASE("PartMatcher finds what find finds: overlapping, nested and repeated parts") {
    std::vector<std::string> parts{"he", "she", "his", "hers", "e", "hershe", "she", ""};
    PartMatcher m(parts);
    for (std::string_view text : {"ushers", "hershey", "", "shshe hishers", "eeeee", "xyz"}) {
        require_same_as_find(m, parts, text);
    }
}

TEST_CASE("PartMatcher agrees with find on random parts and texts over a small alphabet") {
    std::mt19937 rng(12345);
    auto word = [&](std::size_t max) {
        std::string w(std::uniform_int_distribution<std::size_t>(0, max)(rng), 'a');
        for (char& c : w) {
            c = "ab c"[std::uniform_int_distribution<int>(0, 3)(rng)];
        }
        return w;
    };
    for (int round = 0; round < 200; ++round) {
        std::vector<std::string> parts;
        for (int i = std::uniform_int_distribution<int>(1, 12)(rng); i > 0; --i) {
            parts.push_back(word(5));
        }
        PartMatcher m(parts);
        require_same_as_find(m, parts, word(40));
    }
}

TEST_CASE("PartMatcher keeps a bounded number of occurrences and still answers past them") {
    std::vector<std::string> parts{"a", "aa", "b", "ab"};
    PartMatcher m(parts);
    std::string text(PartMatcher::kKeptPerPart * 3, 'a');
    text += "b";
    auto found = m.find_all(text);
    for (std::size_t pos : {std::size_t{0}, PartMatcher::kKeptPerPart - 1,
                            PartMatcher::kKeptPerPart, PartMatcher::kKeptPerPart * 2 + 7,
                            text.size() - 3, text.size() - 2, text.size() - 1, text.size()}) {
        for (std::uint32_t id = 0; id < parts.size(); ++id) {
            INFO("part " << parts[id] << " from " << pos);
            REQUIRE(found.first_at_or_after(id, pos) == text.find(parts[id], pos));
        }
    }
}

TEST_CASE("PartMatcher with no parts, or only empty ones, finds nothing") {
    PartMatcher none;
    REQUIRE(none.size() == 0);
    (void)none.find_all("anything");
    PartMatcher empty({""});
    REQUIRE(empty.find_all("anything").first_at_or_after(0, 0) == std::string_view::npos);
}
