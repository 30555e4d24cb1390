#pragma once

// The system variables the MySQL stand-in knows: a catalogue of MySQL 8.0 and MariaDB 11.4
// variables with the defaults and types the real servers have (the ones connectors read on
// connect, and what users ask), and one session's values. Values are kept in SHOW VARIABLES
// form ("ON", "16777216", "REPEATABLE-READ"; nullopt is NULL); `SELECT @@x` shows booleans
// as 1/0 and integers as BIGINT, as both servers do.
//
// Also the character sets and collations the stand-in names (charset ids in the handshake and
// in column definitions).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <standin/mysql/config.h>
#include <standin/mysql/server_error.h>
#include <standin/mysql/sql_mode.h>

namespace standin::mysql {

enum class VarKind : std::uint8_t { Bool, UInt, String };

struct Collation {
    std::uint16_t id;
    std::string_view name;    // utf8mb4_0900_ai_ci
    std::string_view charset; // utf8mb4
    std::uint8_t max_bytes;   // per character
    bool is_default;          // the charset's default collation (in the flavour)
};
const Collation* collation_by_id(std::uint16_t id);
const Collation* collation_by_name(std::string_view name);
// charset_default: the default collation of a charset in the flavour ("utf8" is utf8mb3).
const Collation* charset_default(Flavour f, std::string_view charset);
std::vector<const Collation*> all_collations();

// What the variables reflect about the server and the connection.
struct VariableContext {
    Flavour flavour = Flavour::Mysql80;
    std::string server_version;
    bool ssl_offered = true;
    bool require_secure_transport = false;
    std::uint16_t client_collation = 255; // from the handshake
};

class Variables {
  public:
    struct Var {
        std::string name;
        VarKind kind = VarKind::String;
        std::optional<std::string> value;
        bool global_only = false;
        bool read_only = false;
    };

    explicit Variables(VariableContext ctx);

    // find: case-insensitive; nullptr when the flavour has no such variable.
    const Var* find(std::string_view name) const;
    // What a SET value was before it became text: sql_mode = 4194304 is a bit set, '4194304'
    // is not.
    enum class Given : std::uint8_t { Text, Integer, OtherNumber };
    // set: SET [SESSION] name = value (nullopt: NULL; DEFAULT: reset). The canonical value is
    // stored (ON/OFF for booleans, upper case for enums, sql_mode in bit order, expanded).
    std::optional<ServerError> set(std::string_view name, const std::optional<std::string>& value,
                                   bool to_default = false, Given given = Given::Text);
    // set_names: SET NAMES charset [COLLATE collation] (client, connection, results).
    std::optional<ServerError> set_names(std::string_view charset,
                                         std::optional<std::string_view> collation);
    std::optional<ServerError> set_character_set(std::string_view charset);
    void reset();                        // COM_RESET_CONNECTION / COM_CHANGE_USER
    std::vector<const Var*> all() const; // sorted by name

    // The connection's collation (its id goes in string column definitions).
    const Collation& connection_collation() const;
    bool autocommit() const;
    // syntax: what sql_mode changes in how the next statement is read.
    Syntax syntax() const;
    Flavour flavour() const { return ctx_.flavour; }

  private:
    void load();
    VariableContext ctx_;
    std::map<std::string, Var> vars_; // lower-case name
};

// lower: ASCII lower case.
std::string lower(std::string_view s);
std::string upper(std::string_view s);

} // namespace standin::mysql
