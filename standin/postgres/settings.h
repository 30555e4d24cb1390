#pragma once

// Settings is one session's configuration parameters, as PostgreSQL keeps them:
//   - the values start from the catalog (settings_catalog.h) with the server's identity on top
//     (server_version, session_authorization, TimeZone, ...);
//   - SET validates a value the way PostgreSQL's parse_and_validate_value and check hooks do
//     (booleans, integers with units and ranges, reals, enums, DateStyle, TimeZone,
//     client_encoding, application_name, list settings such as search_path) and answers with
//     PostgreSQL's error otherwise;
//   - values are transactional: SET inside a transaction block is undone by ROLLBACK (and by
//     ROLLBACK TO a savepoint set before it), SET LOCAL lasts until the end of the block;
//   - the GUC_REPORT settings are reported (ParameterStatus) when their value differs from the
//     one last reported, as PostgreSQL 14+ does before each ReadyForQuery;
//   - custom settings with a dot in their name ("foo.bar") are placeholders anyone may set.

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <standin/postgres/server_error.h>
#include <standin/postgres/settings_catalog.h>

namespace standin::postgres {

// One argument of SET name = a, b, c: identifiers and string constants are strings, numbers
// keep their text.
struct SettingArgument {
    enum class Kind : std::uint8_t { String, Number };
    Kind kind = Kind::String;
    std::string text;
};

// Where a SET comes from: the startup packet and `options` are checked like SET but report
// their errors as FATAL; SET LOCAL only lasts until the end of the transaction block.
enum class SettingScope : std::uint8_t { Session, Local };

struct ServerIdentity {
    std::string server_version = "16.4";
    std::string user = "lab";
    std::string time_zone = "Etc/UTC";
    std::uint32_t scram_iterations = 4096;
};

class Settings {
  public:
    explicit Settings(const ServerIdentity& identity);

    // value: the value SHOW prints, nullopt for an unknown name.
    std::optional<std::string> value(std::string_view name) const;
    // show_name: the column name SHOW uses ("DateStyle" for datestyle; a placeholder keeps the
    // spelling it was created with).
    std::optional<std::string> show_name(std::string_view name) const;

    // set checks and applies SET name = args (args empty: DEFAULT). The error is PostgreSQL's.
    std::expected<void, ServerError> set(std::string_view name,
                                         const std::vector<SettingArgument>& args,
                                         SettingScope scope, bool in_transaction_block);
    // at_startup: a startup-packet parameter (settings of context "backend" may be set then)
    std::expected<void, ServerError> set_text(std::string_view name, std::string_view value,
                                              SettingScope scope, bool in_transaction_block,
                                              bool at_startup = false);
    std::expected<void, ServerError> reset(std::string_view name, bool in_transaction_block);
    void reset_all(bool in_transaction_block);

    // The transaction of the session (explicit or implicit block).
    void begin_transaction();
    void commit_transaction();
    void rollback_transaction();
    void define_savepoint();
    void release_savepoint();     // the newest
    void rollback_to_savepoint(); // the newest, which stays defined

    // reports: the GUC_REPORT settings whose value differs from the last one reported, in
    // catalog order; they count as reported from now on.
    std::vector<std::pair<std::string, std::string>> take_reports();
    // startup_reports: every GUC_REPORT setting, in the order PostgreSQL 16 sends them.
    std::vector<std::pair<std::string, std::string>> take_startup_reports();

    // show_all: SHOW ALL rows (name, setting, description) in PostgreSQL's order.
    std::vector<std::vector<std::string>> show_all() const;

  private:
    struct Placeholder {
        std::string spelling;
        std::string value;
    };
    struct Values {
        std::map<std::string, std::string> known;        // by catalog name
        std::map<std::string, Placeholder> placeholders; // by lower-case name
    };
    struct Frame {
        Values current;   // values when the frame began (restored by rollback)
        Values committed; // what a commit keeps (current without SET LOCAL)
    };

    std::expected<std::string, ServerError>
    validate(const SettingDefinition& d, std::string_view given_name, std::string_view value) const;
    std::expected<void, ServerError>
    check_context(const SettingDefinition& d, std::string_view given_name, bool at_startup) const;
    void assign(const std::string& key, std::string value, SettingScope scope, bool placeholder,
                std::string_view spelling);

    ServerIdentity identity_;
    Values current_;
    Values committed_;          // inside a transaction: the values a commit keeps
    std::vector<Frame> frames_; // [0] = transaction start, then one per savepoint
    std::map<std::string, std::string> reported_;
    std::map<std::string, std::string> defaults_;
};

// Value checks shared with the startup packet handling.
std::optional<std::string> canonical_client_encoding(std::string_view name);
std::expected<std::string, std::string> canonical_datestyle(std::string_view value,
                                                            std::string_view current);
std::optional<std::string> canonical_time_zone(std::string_view name);
// quote_identifier as PostgreSQL's: quotes unless the name is a lower-case identifier that is
// not a keyword.
std::string quote_identifier(std::string_view name);

} // namespace standin::postgres
