#pragma once

// The error knowledge base behind `tlslab explain` and the matrix's cell labels: one entry per
// (client family, message), each with its source (a matrix run of ours, or the client's own
// documentation or source for clients we cannot run here), the scenarios that produce it, what it
// means, and the fix in the seed's order. The data is knowledge/errors.json, embedded at build
// time; matching is forgiving of what users paste (line breaks, localised prefixes, hex codes,
// driver wrappers around the TLS library's text).

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::app::explain {

struct Source {
    std::string kind; // "observed" (a matrix run of ours), "documentation", "source"
    std::string ref;  // the test or expectations file, the URL or the repository path
};

struct Entry {
    std::string id;                     // "odbc-linux/self-signed"
    std::string client;                 // "ODBC Driver 18 on Linux"
    std::string family;                 // "cert-untrusted", "name-mismatch", "cert-expired", ...
    std::string message;                // the canonical text, as the client prints it
    std::vector<std::string> patterns;  // what identifies it in pasted text (see knowledge/README)
    std::vector<std::string> scenarios; // the lab scenarios that produce it
    std::vector<std::string> protocols; // tds, postgres, mysql
    std::string meaning;                // what it means, in plain words
    std::vector<std::string> fix;       // the fix, in the seed's order
    std::string reproduce;              // the tlslab command that reproduces it
    Source source;
};

struct Match {
    const Entry* entry = nullptr;
    double score = 0;    // higher is better; matches come best first
    std::string matched; // the part of the pasted text that matched
};

class KnowledgeBase {
  public:
    static std::expected<KnowledgeBase, std::string> parse(std::string_view json_text);
    // builtin: the embedded knowledge/errors.json (parsed once; a broken file fails the build's
    // tests, never a user's run).
    static const KnowledgeBase& builtin();

    // match: the entries that explain `pasted`, best first; empty when none does.
    std::vector<Match> match(std::string_view pasted) const;
    const std::vector<Entry>& entries() const { return entries_; }

  private:
    std::vector<Entry> entries_;
};

// normalise: what matching compares: lower case, whitespace runs as one space, hex codes,
// numbers, ports, host names and quotes reduced, localised prefixes dropped.
std::string normalise(std::string_view pasted);

} // namespace proxy::app::explain
