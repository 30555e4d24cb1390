#pragma once

// The error knowledge base behind `tlslab explain` and the matrix's cell labels: one entry per
// (client family, message), each with its source (a matrix run of ours, or the client's own
// documentation or source for clients we cannot run here), the scenarios that produce it, what it
// means, and the fix in the seed's order. The data is knowledge/errors.json, embedded at build
// time; matching is forgiving of what users paste (line breaks, localised prefixes, hex codes,
// driver wrappers around the TLS library's text).

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <proxy/app/explain/part_matcher.h>

namespace proxy::app::explain {

struct Source {
    std::string kind; // "observed" (a matrix run of ours), "documentation", "source"
    std::string ref;  // the test or expectations file, the URL or the repository path
};

// Observation: where a matrix run of ours saw the message: the driver (probe name), the
// configuration and the scenarios of the rows (tests/integration/expectations/*.json).
struct Observation {
    std::string driver;                 // "tedious19", "odbc", "psql", ...
    std::string config;                 // "defaults", "lab-ca", "verify-full", ...
    std::vector<std::string> scenarios; // the rows' scenarios
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
    std::string settings;              // the client settings that produce it, in words
    std::vector<Observation> observed; // where our matrix runs saw it (may be empty)
    double weight = 1.0; // < 1 for a wrapper that says little on its own ("error: 35 - ...")
};

// Family: a kind of failure; its meaning and fix are the defaults of the entries in it.
struct Family {
    std::string name;    // "cert-untrusted"
    std::string title;   // "The server's certificate is not trusted"
    std::string meaning; // what it means, in plain words
    std::vector<std::string> fix;
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
    // builtin_error: why the embedded file did not parse ("" when it did; then builtin() is
    // empty). The tests assert it is empty.
    static const std::string& builtin_error();
    // builtin_json: the embedded knowledge/errors.json, as compiled in.
    static std::string_view builtin_json();

    // match: the entries that explain `pasted`, best first; empty when none does.
    std::vector<Match> match(std::string_view pasted) const;
    const std::vector<Entry>& entries() const { return entries_; }
    const std::vector<Family>& families() const { return families_; }
    const Family* family(std::string_view name) const;

  private:
    // A compiled pattern: the ids in matcher_ of its normalised parts, which must appear in
    // this order.
    using Pattern = std::vector<std::uint32_t>;
    std::vector<Entry> entries_;
    std::vector<std::vector<Pattern>> compiled_; // compiled_[i]: the patterns of entries_[i]
    PartMatcher matcher_;                        // every distinct part of every pattern
    std::vector<Family> families_;
};

// The pasted text is cut to this many bytes before matching (a pasted stack trace has its
// error near the top); matching time is bounded by it.
inline constexpr std::size_t kMaxPastedBytes = 64 * 1024;

// normalise: what matching compares (see knowledge/README.md): ASCII lower case; line breaks
// and whitespace runs as one space; curly quotes and the ellipsis as ASCII; a hyphen between
// letters as a space ("self-signed" = "self signed"); driver wrappers ("[Microsoft][ODBC Driver
// 18 for SQL Server]", "[unixODBC]", "[FreeTDS]", SQLSTATE "[08001]") dropped; volatile parts
// reduced: IPv4 and bracketed IPv6 addresses to <ip>, ":PORT" to ":<port>", timestamps to
// <time>, GUIDs (ClientConnectionId) to <id>, "conn=N" to "conn=<n>", unquoted paths to
// <path>, a quoted token without spaces (a host name, a path, a user) to '*' or "*"; a negative
// 32-bit decimal HRESULT as SSMS prints it (-2146893019) as its hex form (0x80090325). Hex
// codes (0x80090325, error:0A000086) are otherwise kept.
std::string normalise(std::string_view pasted);

} // namespace proxy::app::explain
