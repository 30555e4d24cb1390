#include <algorithm>
#include <queue>
#include <utility>

#include <proxy/app/explain/part_matcher.h>

namespace proxy::app::explain {

PartMatcher::PartMatcher(std::vector<std::string> parts) : parts_(std::move(parts)) {
    // The trie, with each node's children unsorted while it grows.
    std::vector<std::vector<std::pair<std::uint8_t, std::int32_t>>> children(1);
    std::vector<std::int32_t> output(1, -1);
    next_same_.assign(parts_.size(), -1);
    for (std::size_t id = 0; id < parts_.size(); ++id) {
        if (parts_[id].empty()) {
            continue;
        }
        std::int32_t node = 0;
        for (char c : parts_[id]) {
            auto byte = static_cast<std::uint8_t>(c);
            auto& kids = children[static_cast<std::size_t>(node)];
            auto it = std::find_if(kids.begin(), kids.end(),
                                   [byte](const auto& e) { return e.first == byte; });
            if (it != kids.end()) {
                node = it->second;
                continue;
            }
            auto made = static_cast<std::int32_t>(children.size());
            kids.emplace_back(byte, made);
            children.emplace_back();
            output.push_back(-1);
            node = made;
        }
        auto n = static_cast<std::size_t>(node);
        next_same_[id] = output[n];
        output[n] = static_cast<std::int32_t>(id);
    }
    // Flattened, each node's edges sorted by byte.
    nodes_.resize(children.size());
    for (std::size_t n = 0; n < children.size(); ++n) {
        auto& kids = children[n];
        std::sort(kids.begin(), kids.end());
        nodes_[n].first_edge = static_cast<std::uint32_t>(edges_.size());
        nodes_[n].edge_count = static_cast<std::uint32_t>(kids.size());
        nodes_[n].output = output[n];
        for (const auto& [byte, to] : kids) {
            edges_.push_back(Edge{byte, to});
        }
    }
    for (std::uint32_t e = 0; e < nodes_[0].edge_count; ++e) {
        const Edge& edge = edges_[nodes_[0].first_edge + e];
        root_[edge.byte] = edge.to;
    }
    // Failure and dictionary links, breadth first (a node's fail is shallower than it).
    std::queue<std::int32_t> queue;
    for (std::uint32_t e = 0; e < nodes_[0].edge_count; ++e) {
        std::int32_t to = edges_[nodes_[0].first_edge + e].to;
        nodes_[static_cast<std::size_t>(to)].fail = 0;
        queue.push(to);
    }
    while (!queue.empty()) {
        std::int32_t node = queue.front();
        queue.pop();
        const Node& here = nodes_[static_cast<std::size_t>(node)];
        for (std::uint32_t e = 0; e < here.edge_count; ++e) {
            const Edge& edge = edges_[here.first_edge + e];
            Node& kid = nodes_[static_cast<std::size_t>(edge.to)];
            kid.fail = step(here.fail, edge.byte);
            const Node& fail = nodes_[static_cast<std::size_t>(kid.fail)];
            kid.dict = fail.output >= 0 ? kid.fail : fail.dict;
            queue.push(edge.to);
        }
    }
}

std::int32_t PartMatcher::child(std::int32_t node, std::uint8_t byte) const {
    const Node& n = nodes_[static_cast<std::size_t>(node)];
    if (n.edge_count == 1) { // most nodes of a trie of sentences: one way on
        const Edge& only = edges_[n.first_edge];
        return only.byte == byte ? only.to : -1;
    }
    auto first = edges_.begin() + n.first_edge;
    auto last = first + n.edge_count;
    auto it = std::lower_bound(first, last, byte,
                               [](const Edge& e, std::uint8_t b) { return e.byte < b; });
    return it != last && it->byte == byte ? it->to : -1;
}

std::int32_t PartMatcher::step(std::int32_t node, std::uint8_t byte) const {
    while (node != 0) {
        if (std::int32_t to = child(node, byte); to >= 0) {
            return to;
        }
        node = nodes_[static_cast<std::size_t>(node)].fail;
    }
    return root_[byte];
}

PartMatcher::Occurrences PartMatcher::find_all(std::string_view text) const {
    Occurrences occ;
    occ.matcher_ = this;
    occ.text_ = text;
    occ.starts_.resize(parts_.size());
    occ.full_.assign(parts_.size(), false);
    if (nodes_.empty()) {
        return occ;
    }
    std::int32_t node = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        node = step(node, static_cast<std::uint8_t>(text[i]));
        const Node& here = nodes_[static_cast<std::size_t>(node)];
        for (std::int32_t at = here.output >= 0 ? node : here.dict; at >= 0;
             at = nodes_[static_cast<std::size_t>(at)].dict) {
            for (std::int32_t id = nodes_[static_cast<std::size_t>(at)].output; id >= 0;
                 id = next_same_[static_cast<std::size_t>(id)]) {
                auto k = static_cast<std::size_t>(id);
                auto& starts = occ.starts_[k];
                if (starts.size() == kKeptPerPart) {
                    occ.full_[k] = true;
                    continue;
                }
                starts.push_back(static_cast<std::uint32_t>(i + 1 - parts_[k].size()));
            }
        }
    }
    return occ;
}

std::size_t PartMatcher::Occurrences::first_at_or_after(std::uint32_t id, std::size_t pos) const {
    const auto& starts = starts_[id];
    auto it = std::lower_bound(starts.begin(), starts.end(), pos);
    if (it != starts.end()) {
        return *it;
    }
    if (full_[id]) {
        return text_.find(matcher_->part(id), pos);
    }
    return std::string_view::npos;
}

} // namespace proxy::app::explain
