#include <algorithm>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include <proxy/app/commands/explain_command.h>
#include <proxy/app/explain/knowledge_base.h>

namespace proxy::app {

namespace {

using explain::Entry;
using explain::KnowledgeBase;
using explain::Match;

// How much of stdin is read: a little more than the matcher looks at, so a huge paste ends
// cleanly instead of filling memory.
constexpr std::size_t kMaxStdinBytes = 4 * explain::kMaxPastedBytes;
// Matches shown in full: the best, and those close to it that explain it differently.
constexpr std::size_t kMaxDetailed = 3;
constexpr std::size_t kMaxListed = 10;

std::string usage() {
    return "Usage: tlslab explain [--json] \"ERROR TEXT\"   (or the text on stdin: tlslab explain "
           "[-] < file)\n\n"
           "From an error text a user pasted (SSMS / SqlClient, ODBC, JDBC, tedious, go-mssqldb,\n"
           "FreeTDS, libpq / psycopg, asyncpg, pgjdbc, pgx, node-pg, MySQL / MariaDB connectors)\n"
           "to what it means, the lab scenarios and client settings that produce it, the fix in\n"
           "order, and the tlslab command that reproduces it.\n\n"
           "  --json      print the matches as JSON\n"
           "  -h, --help  this help\n"
           "  --          everything after it is text (for a text that starts with '--')\n\n"
           "Exit status: 0 when an entry matched, 1 when none did, 2 on a usage error.\n"
           "The knowledge base is knowledge/errors.json (see knowledge/README.md), built in.\n";
}

std::string read_stdin() {
    std::string text;
    char buf[4096];
    while (text.size() < kMaxStdinBytes && std::cin.read(buf, sizeof buf).gcount() > 0) {
        text.append(buf, static_cast<std::size_t>(std::cin.gcount()));
    }
    if (text.size() > kMaxStdinBytes) {
        text.resize(kMaxStdinBytes);
    }
    return text;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) {
            out += sep;
        }
        out += s;
    }
    return out;
}

// Which clients and settings: the observations grouped by driver, "odbc: lab-ca (self-signed),
// defaults (valid, ...)".
std::vector<std::string> observed_lines(const Entry& e) {
    std::vector<std::string> lines;
    std::map<std::string, std::vector<std::string>> by_driver;
    std::vector<std::string> order;
    for (const auto& o : e.observed) {
        if (by_driver.find(o.driver) == by_driver.end()) {
            order.push_back(o.driver);
        }
        by_driver[o.driver].push_back(o.config + " (" + join(o.scenarios, ", ") + ")");
    }
    for (const auto& d : order) {
        lines.push_back(d + ": " + join(by_driver[d], "; "));
    }
    return lines;
}

void print_detailed(const Match& m, std::size_t rank) {
    const Entry& e = *m.entry;
    const auto* family = KnowledgeBase::builtin().family(e.family);
    std::string title = family != nullptr ? family->title : e.family;
    std::cout << rank << ". " << title << "  [" << e.family << "]\n";
    std::cout << "   Client:    " << e.client << "\n";
    std::cout << "   Message:   " << e.message << "\n";
    std::cout << "   Matched:   \"" << m.matched << "\"  (entry " << e.id << ")\n";
    std::cout << "   Meaning:   " << e.meaning << "\n";
    if (e.scenarios.empty()) {
        std::cout << "   Scenarios: none of the lab's scenarios produces it yet\n";
    } else {
        std::cout << "   Scenarios: " << join(e.scenarios, ", ") << "  (protocols "
                  << join(e.protocols, ", ") << ")\n";
    }
    if (!e.settings.empty()) {
        std::cout << "   Settings:  " << e.settings << "\n";
    }
    auto lines = observed_lines(e);
    if (!lines.empty()) {
        std::cout << "   Seen in our matrix runs (driver: config (scenarios)):\n";
        for (const auto& l : lines) {
            std::cout << "     " << l << "\n";
        }
    }
    std::cout << "   Fix, in this order:\n";
    for (std::size_t i = 0; i < e.fix.size(); ++i) {
        std::cout << "     " << (i + 1) << ". " << e.fix[i] << "\n";
    }
    std::cout << "   Reproduce: " << e.reproduce << "\n";
    std::cout << "   Source:    " << e.source.kind << ": " << e.source.ref << "\n";
}

nlohmann::json to_json(const Match& m) {
    const Entry& e = *m.entry;
    const auto* family = KnowledgeBase::builtin().family(e.family);
    nlohmann::json observed = nlohmann::json::array();
    for (const auto& o : e.observed) {
        observed.push_back(
            {{"driver", o.driver}, {"config", o.config}, {"scenarios", o.scenarios}});
    }
    return {{"id", e.id},
            {"score", m.score},
            {"matched", m.matched},
            {"family", e.family},
            {"family_title", family != nullptr ? family->title : e.family},
            {"client", e.client},
            {"message", e.message},
            {"meaning", e.meaning},
            {"scenarios", e.scenarios},
            {"protocols", e.protocols},
            {"settings", e.settings},
            {"observed", observed},
            {"fix", e.fix},
            {"reproduce", e.reproduce},
            {"source", {{"kind", e.source.kind}, {"ref", e.source.ref}}}};
}

void print_no_match() {
    std::cout
        << "tlslab explain: no entry of the knowledge base matches this text.\n"
           "  - Paste the whole error, with the driver's inner message ('SSL Provider: ...',\n"
           "    'Caused by: ...', the TLS library's text); a wrapper alone says little.\n"
           "  - `tlslab scenarios` lists the lab's scenarios; `tlslab matrix --driver NAME\n"
           "    --scenarios all` shows what your driver prints for each of them.\n"
           "  - To add the message: an entry in knowledge/errors.json (the format and the steps\n"
           "    are in knowledge/README.md), then rebuild tlslab.\n";
}

} // namespace

int run_explain_command(const CommandLine& cl) {
    bool as_json = false;
    bool text_only = false;
    std::vector<std::string> words;
    // cl.args[0] is the program name. Options are read by hand: cxxopts would split a
    // positional text at its commas.
    for (std::size_t i = 1; i < cl.args.size(); ++i) {
        const std::string& a = cl.args[i];
        if (!text_only && a == "--") {
            text_only = true;
        } else if (!text_only && a == "--json") {
            as_json = true;
        } else if (!text_only && (a == "-h" || a == "--help")) {
            std::cout << usage();
            return 0;
        } else if (!text_only && a.size() > 2 && a.starts_with("--")) {
            std::cerr << "tlslab explain: unknown option " << a << " (put -- before a text that "
                      << "starts with --)\n"
                      << usage();
            return 2;
        } else {
            words.push_back(a);
        }
    }
    if (cl.help) {
        std::cout << usage();
        return 0;
    }
    std::string text;
    if (words.empty() || (words.size() == 1 && words[0] == "-")) {
        text = read_stdin();
    } else {
        text = join(words, " ");
    }
    if (!KnowledgeBase::builtin_error().empty()) {
        std::cerr << "tlslab explain: the built-in knowledge base is broken: "
                  << KnowledgeBase::builtin_error() << "\n";
        return 2;
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        std::cerr << "tlslab explain: no text given\n" << usage();
        return 2;
    }
    auto matches = KnowledgeBase::builtin().match(text);
    if (as_json) {
        nlohmann::json out = {{"normalised", explain::normalise(text)},
                              {"matches", nlohmann::json::array()}};
        for (const auto& m : matches) {
            out["matches"].push_back(to_json(m));
        }
        std::cout << out.dump(2) << "\n";
        return matches.empty() ? 1 : 0;
    }
    if (matches.empty()) {
        print_no_match();
        return 1;
    }
    std::cout << "tlslab explain: " << matches.size()
              << (matches.size() == 1 ? " entry matches" : " entries match")
              << ", the most specific first\n\n";
    // In full: the best match, and close ones that belong to another family (the text is
    // ambiguous between them).
    std::vector<const Match*> detailed{&matches.front()};
    for (std::size_t i = 1; i < matches.size() && detailed.size() < kMaxDetailed; ++i) {
        const auto& m = matches[i];
        bool new_family = std::none_of(detailed.begin(), detailed.end(), [&](const Match* d) {
            return d->entry->family == m.entry->family;
        });
        if (new_family && m.score >= 0.8 * matches.front().score) {
            detailed.push_back(&m);
        }
    }
    for (std::size_t i = 0; i < detailed.size(); ++i) {
        print_detailed(*detailed[i], i + 1);
        std::cout << "\n";
    }
    std::size_t listed = 0;
    for (const auto& m : matches) {
        if (std::find(detailed.begin(), detailed.end(), &m) != detailed.end()) {
            continue;
        }
        if (listed == 0) {
            std::cout << "Also matched (less specific; `--json` shows them in full):\n";
        }
        if (listed == kMaxListed) {
            std::cout << "  ... and " << (matches.size() - detailed.size() - listed) << " more\n";
            break;
        }
        std::cout << "  - " << m.entry->id << "  [" << m.entry->family << "]  " << m.entry->client
                  << "\n";
        ++listed;
    }
    return 0;
}

} // namespace proxy::app
