#include <algorithm>
#include <array>
#include <charconv>

#include <standin/mysql/variables.h>

namespace standin::mysql {

namespace {

// A few collations of the real servers' tables (MySQL 8.0 INFORMATION_SCHEMA.COLLATIONS,
// MariaDB 11.4 the same); is_default is MySQL 8.0's, MariaDB's is given by charset_default.
constexpr std::array kCollations = {
    Collation{8, "latin1_swedish_ci", "latin1", 1, true},
    Collation{47, "latin1_bin", "latin1", 1, false},
    Collation{11, "ascii_general_ci", "ascii", 1, true},
    Collation{33, "utf8mb3_general_ci", "utf8mb3", 3, true},
    Collation{83, "utf8mb3_bin", "utf8mb3", 3, false},
    Collation{192, "utf8mb3_unicode_ci", "utf8mb3", 3, false},
    Collation{45, "utf8mb4_general_ci", "utf8mb4", 4, false},
    Collation{46, "utf8mb4_bin", "utf8mb4", 4, false},
    Collation{224, "utf8mb4_unicode_ci", "utf8mb4", 4, false},
    Collation{255, "utf8mb4_0900_ai_ci", "utf8mb4", 4, true},
    Collation{63, "binary", "binary", 1, true},
};

std::string normalise_charset(std::string_view name) {
    auto n = lower(name);
    if (n == "utf8") {
        return "utf8mb3";
    }
    return n;
}

std::string on_off(bool b) {
    return b ? "ON" : "OFF";
}

std::optional<bool> parse_bool(const std::string& v) {
    auto u = upper(v);
    if (u == "ON" || u == "1" || u == "TRUE") {
        return true;
    }
    if (u == "OFF" || u == "0" || u == "FALSE") {
        return false;
    }
    return std::nullopt;
}

} // namespace

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

const Collation* collation_by_id(std::uint16_t id) {
    for (const auto& c : kCollations) {
        if (c.id == id) {
            return &c;
        }
    }
    return nullptr;
}

const Collation* collation_by_name(std::string_view name) {
    auto n = lower(name);
    if (n.starts_with("utf8_")) {
        n = "utf8mb3_" + n.substr(5);
    }
    for (const auto& c : kCollations) {
        if (c.name == n) {
            return &c;
        }
    }
    return nullptr;
}

const Collation* charset_default(Flavour f, std::string_view charset) {
    auto cs = normalise_charset(charset);
    if (f == Flavour::Mariadb114 && cs == "utf8mb4") {
        return collation_by_id(45);
    }
    for (const auto& c : kCollations) {
        if (c.charset == cs && c.is_default) {
            return &c;
        }
    }
    return nullptr;
}

std::vector<const Collation*> all_collations() {
    std::vector<const Collation*> out;
    for (const auto& c : kCollations) {
        out.push_back(&c);
    }
    return out;
}

Variables::Variables(VariableContext ctx) : ctx_(std::move(ctx)) {
    load();
}

void Variables::load() {
    vars_.clear();
    bool my = ctx_.flavour == Flavour::Mysql80;
    auto add = [&](std::string name, VarKind kind, std::optional<std::string> value,
                   bool global_only = false, bool read_only = false) {
        auto key = lower(name);
        vars_[key] = Var{std::move(name), kind, std::move(value), global_only, read_only};
    };
    const auto* client = collation_by_id(ctx_.client_collation);
    if (client == nullptr || client->charset == "binary" ||
        (!my && client->name.find("_0900_") != std::string_view::npos)) {
        // MariaDB has no _0900_ collations: a client asking for one (Connector/J,
        // mysql-connector-python send 255) gets the server's default, as a MariaDB 10.11 did
        client = collation_by_id(my ? 255 : 45);
    }
    std::string server_cs = "utf8mb4";
    std::string server_coll = my ? "utf8mb4_0900_ai_ci" : "utf8mb4_general_ci";

    add("autocommit", VarKind::Bool, "ON");
    add("auto_increment_increment", VarKind::UInt, "1");
    add("auto_increment_offset", VarKind::UInt, "1");
    add("character_set_client", VarKind::String, std::string(client->charset));
    add("character_set_connection", VarKind::String, std::string(client->charset));
    add("character_set_results", VarKind::String, std::string(client->charset));
    add("character_set_database", VarKind::String, server_cs);
    add("character_set_server", VarKind::String, server_cs);
    add("character_set_filesystem", VarKind::String, "binary");
    add("character_set_system", VarKind::String, "utf8mb3", true, true);
    add("collation_connection", VarKind::String, std::string(client->name));
    add("collation_database", VarKind::String, server_coll);
    add("collation_server", VarKind::String, server_coll);
    add("default_storage_engine", VarKind::String, "InnoDB");
    add("error_count", VarKind::UInt, "0", false, true);
    add("explicit_defaults_for_timestamp", VarKind::Bool, "ON");
    add("foreign_key_checks", VarKind::Bool, "ON");
    add("group_concat_max_len", VarKind::UInt, my ? "1024" : "1048576");
    add("have_openssl", VarKind::String, ctx_.ssl_offered ? "YES" : "DISABLED", true, true);
    add("have_ssl", VarKind::String, ctx_.ssl_offered ? "YES" : "DISABLED", true, true);
    add("hostname", VarKind::String, "tlslab", true, true);
    add("init_connect", VarKind::String, "", true);
    add("interactive_timeout", VarKind::UInt, "28800");
    add("last_insert_id", VarKind::UInt, "0");
    add("identity", VarKind::UInt, "0");
    add("lc_messages", VarKind::String, "en_US");
    add("license", VarKind::String, "GPL", true, true);
    add("lower_case_file_system", VarKind::Bool, "OFF", true, true);
    add("lower_case_table_names", VarKind::UInt, "0", true, true);
    add("max_allowed_packet", VarKind::UInt, my ? "67108864" : "16777216");
    add("max_connections", VarKind::UInt, "151", true);
    add("net_buffer_length", VarKind::UInt, "16384");
    add("net_read_timeout", VarKind::UInt, "30");
    add("net_write_timeout", VarKind::UInt, "60");
    add("performance_schema", VarKind::Bool, my ? "ON" : "OFF", true, true);
    add("port", VarKind::UInt, "3306", true, true);
    add("protocol_version", VarKind::UInt, "10", true, true);
    add("read_only", VarKind::Bool, "OFF", true);
    add("require_secure_transport", VarKind::Bool, on_off(ctx_.require_secure_transport), true);
    add("session_track_schema", VarKind::Bool, "ON");
    add("session_track_state_change", VarKind::Bool, "OFF");
    add("session_track_system_variables", VarKind::String,
        my ? "time_zone,autocommit,character_set_client,character_set_results,"
             "character_set_connection"
           : "autocommit,character_set_client,character_set_connection,character_set_results,"
             "time_zone");
    add("session_track_transaction_info", VarKind::String, "OFF");
    add("sql_auto_is_null", VarKind::Bool, "OFF");
    add("sql_mode", VarKind::String,
        my ? "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
             "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
           : "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,"
             "NO_ENGINE_SUBSTITUTION");
    add("sql_safe_updates", VarKind::Bool, "OFF");
    add("sql_select_limit", VarKind::UInt, "18446744073709551615");
    add("ssl_ca", VarKind::String, my && ctx_.ssl_offered ? "ca.pem" : "", true, true);
    add("ssl_cert", VarKind::String, my && ctx_.ssl_offered ? "server-cert.pem" : "", true, true);
    add("ssl_key", VarKind::String, my && ctx_.ssl_offered ? "server-key.pem" : "", true, true);
    add("ssl_cipher", VarKind::String, "", true, true);
    add("system_time_zone", VarKind::String, "UTC", true, true);
    add("time_zone", VarKind::String, "SYSTEM");
    add("tls_version", VarKind::String, "TLSv1.2,TLSv1.3", true, true);
    add("transaction_isolation", VarKind::String, "REPEATABLE-READ");
    add("transaction_read_only", VarKind::Bool, "OFF");
    add("version", VarKind::String, ctx_.server_version, true, true);
    add("version_comment", VarKind::String,
        my ? "MySQL Community Server - GPL" : "mariadb.org binary distribution", true, true);
    add("version_compile_machine", VarKind::String, "x86_64", true, true);
    add("version_compile_os", VarKind::String, "Linux", true, true);
    add("wait_timeout", VarKind::UInt, "28800");
    // What monitoring tools, admin GUIs and drivers read besides (Rust's mysql_async and mysql
    // crates read @@socket on every TCP connect, and fail the connect on error 1193). The
    // compiled-in defaults of a server started without a configuration file.
    add("socket", VarKind::String, "/tmp/mysql.sock", true, true);
    add("server_id", VarKind::UInt, "1", my); // MariaDB has a session server_id too
    add("basedir", VarKind::String, "/usr/", true, true);
    add("datadir", VarKind::String, "/var/lib/mysql/", true, true);
    add("tmpdir", VarKind::String, "/tmp", true, true);
    add("skip_networking", VarKind::Bool, "OFF", true, true);
    add("skip_name_resolve", VarKind::Bool, "OFF", true, true);
    add("innodb_version", VarKind::String,
        ctx_.server_version.substr(0, ctx_.server_version.find('-')), true, true);
    add("innodb_lock_wait_timeout", VarKind::UInt, "50");
    add("innodb_buffer_pool_size", VarKind::UInt, "134217728", true);
    add("innodb_read_only", VarKind::Bool, "OFF", true, true);
    add("lock_wait_timeout", VarKind::UInt, my ? "31536000" : "86400");
    add("long_query_time", VarKind::String, "10.000000");
    add("max_connect_errors", VarKind::UInt, "100", true);
    add("max_user_connections", VarKind::UInt, "0");
    add("max_heap_table_size", VarKind::UInt, "16777216");
    add("tmp_table_size", VarKind::UInt, "16777216");
    add("sort_buffer_size", VarKind::UInt, my ? "262144" : "2097152");
    add("join_buffer_size", VarKind::UInt, "262144");
    add("key_buffer_size", VarKind::UInt, my ? "8388608" : "134217728", true);
    add("default_week_format", VarKind::UInt, "0");
    add("div_precision_increment", VarKind::UInt, "4");
    add("sql_notes", VarKind::Bool, "ON");
    add("sql_warnings", VarKind::Bool, "OFF");
    add("unique_checks", VarKind::Bool, "ON");
    add("profiling", VarKind::Bool, "OFF");
    add("sql_big_selects", VarKind::Bool, "ON");
    add("big_tables", VarKind::Bool, "OFF");
    add("default_tmp_storage_engine", VarKind::String, "InnoDB");
    add("net_retry_count", VarKind::UInt, "10");
    add("local_infile", VarKind::Bool, my ? "OFF" : "ON", true);
    add("log_bin", VarKind::Bool, my ? "ON" : "OFF", true, true);
    add("binlog_format", VarKind::String, my ? "ROW" : "MIXED");
    add("event_scheduler", VarKind::String, my ? "ON" : "OFF", true);
    add("warning_count", VarKind::UInt, "0", false, true);
    if (my) {
        add("default_authentication_plugin", VarKind::String, "caching_sha2_password", true, true);
        add("max_execution_time", VarKind::UInt, "0");
        add("caching_sha2_password_auto_generate_rsa_keys", VarKind::Bool, "ON", true, true);
        add("version_compile_zlib", VarKind::String, "1.3.1", true, true);
        add("server_uuid", VarKind::String, "5e6f0c2a-8f1d-11ef-9b3c-0242ac110002", true, true);
        add("gtid_mode", VarKind::String, "OFF", true);
        add("super_read_only", VarKind::Bool, "OFF", true);
        add("mysqlx_port", VarKind::UInt, "33060", true, true);
        add("admin_port", VarKind::UInt, "33062", true, true);
        add("default_collation_for_utf8mb4", VarKind::String, "utf8mb4_0900_ai_ci");
        add("sql_require_primary_key", VarKind::Bool, "OFF");
    } else {
        add("tx_isolation", VarKind::String, "REPEATABLE-READ");
        add("tx_read_only", VarKind::Bool, "OFF");
        add("query_cache_size", VarKind::UInt, "1048576", true);
        add("query_cache_type", VarKind::String, "OFF");
        add("max_statement_time", VarKind::String, "0.000000");
        add("in_transaction", VarKind::UInt, "0", false, true);
        add("version_ssl_library", VarKind::String, "OpenSSL 3.0", true, true);
    }
}

const Variables::Var* Variables::find(std::string_view name) const {
    auto it = vars_.find(lower(name));
    return it == vars_.end() ? nullptr : &it->second;
}

std::optional<ServerError> Variables::set(std::string_view name,
                                          const std::optional<std::string>& value, bool to_default,
                                          Given given) {
    auto key = lower(name);
    auto it = vars_.find(key);
    if (it == vars_.end()) {
        return errors::unknown_system_variable(std::string(name));
    }
    Var& v = it->second;
    if (v.read_only) {
        return errors::read_only_variable(v.name);
    }
    if (v.global_only) {
        return errors::global_needs_set_global(v.name);
    }
    if (to_default) {
        Variables fresh(ctx_);
        v.value = fresh.find(key)->value;
        return std::nullopt;
    }
    auto shown = value.value_or("NULL");
    std::optional<std::string> stored = value;
    switch (v.kind) {
    case VarKind::Bool: {
        auto b = value ? parse_bool(*value) : std::nullopt;
        if (!b) {
            return errors::wrong_value_for_var(v.name, shown);
        }
        stored = on_off(*b);
        break;
    }
    case VarKind::UInt:
        if (!value || value->empty() || !std::all_of(value->begin(), value->end(), [](char c) {
                return c >= '0' && c <= '9';
            })) {
            return errors::wrong_value_for_var(v.name, shown);
        }
        break;
    case VarKind::String:
        if (key == "transaction_isolation" || key == "tx_isolation") {
            auto u = value ? upper(*value) : std::string();
            if (u != "READ-UNCOMMITTED" && u != "READ-COMMITTED" && u != "REPEATABLE-READ" &&
                u != "SERIALIZABLE") {
                return errors::wrong_value_for_var(v.name, shown);
            }
            stored = u;
        } else if (key == "sql_mode") {
            if (!value) {
                return errors::wrong_value_for_var(v.name, shown);
            }
            std::expected<std::uint64_t, std::string> bits = std::unexpected(*value);
            switch (given) {
            case Given::Text:
                bits = parse_sql_mode(ctx_.flavour, *value);
                break;
            case Given::Integer: {
                std::uint64_t n = 0;
                auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
                if (ec == std::errc() && end == value->data() + value->size()) {
                    bits = sql_mode_of_number(ctx_.flavour, n);
                }
                break;
            }
            case Given::OtherNumber:
                return errors::wrong_type_for_var(v.name);
            }
            if (!bits) {
                return errors::wrong_value_for_var(v.name, bits.error());
            }
            stored = format_sql_mode(ctx_.flavour, *bits);
        } else if (key.starts_with("character_set_")) {
            if (!value) {
                if (key != "character_set_results") {
                    return errors::wrong_value_for_var(v.name, shown);
                }
            } else {
                auto cs = normalise_charset(*value);
                if (charset_default(ctx_.flavour, cs) == nullptr) {
                    return errors::unknown_character_set(*value);
                }
                stored = cs;
                if (key == "character_set_connection") {
                    vars_["collation_connection"].value =
                        std::string(charset_default(ctx_.flavour, cs)->name);
                }
            }
        } else if (key.starts_with("collation_")) {
            const auto* c = value ? collation_by_name(*value) : nullptr;
            if (c == nullptr) {
                return errors::unknown_collation(shown);
            }
            stored = std::string(c->name);
            if (key == "collation_connection") {
                vars_["character_set_connection"].value = std::string(c->charset);
            }
        } else if (!value) {
            return errors::wrong_value_for_var(v.name, shown);
        }
        break;
    }
    v.value = stored;
    // The aliases follow each other.
    auto mirror = [&](const char* a, const char* b) {
        if (key == a && vars_.contains(b)) {
            vars_[b].value = stored;
        }
    };
    mirror("transaction_isolation", "tx_isolation");
    mirror("tx_isolation", "transaction_isolation");
    mirror("transaction_read_only", "tx_read_only");
    mirror("tx_read_only", "transaction_read_only");
    mirror("last_insert_id", "identity");
    mirror("identity", "last_insert_id");
    return std::nullopt;
}

std::optional<ServerError> Variables::set_names(std::string_view charset,
                                                std::optional<std::string_view> collation) {
    auto cs = normalise_charset(charset);
    const auto* c = charset_default(ctx_.flavour, cs);
    if (c == nullptr) {
        return errors::unknown_character_set(std::string(charset));
    }
    if (collation) {
        c = collation_by_name(*collation);
        if (c == nullptr) {
            return errors::unknown_collation(std::string(*collation));
        }
    }
    vars_["character_set_client"].value = cs;
    vars_["character_set_results"].value = cs;
    vars_["character_set_connection"].value = cs;
    vars_["collation_connection"].value = std::string(c->name);
    return std::nullopt;
}

std::optional<ServerError> Variables::set_character_set(std::string_view charset) {
    auto cs = normalise_charset(charset);
    if (charset_default(ctx_.flavour, cs) == nullptr) {
        return errors::unknown_character_set(std::string(charset));
    }
    vars_["character_set_client"].value = cs;
    vars_["character_set_results"].value = cs;
    vars_["character_set_connection"].value = vars_["character_set_database"].value;
    vars_["collation_connection"].value = vars_["collation_database"].value;
    return std::nullopt;
}

void Variables::reset() {
    load();
}

std::vector<const Variables::Var*> Variables::all() const {
    std::vector<const Var*> out;
    for (const auto& [key, v] : vars_) {
        out.push_back(&v);
    }
    return out;
}

const Collation& Variables::connection_collation() const {
    const auto* v = find("collation_connection");
    const Collation* c = v != nullptr && v->value ? collation_by_name(*v->value) : nullptr;
    if (c == nullptr) {
        c = collation_by_id(ctx_.flavour == Flavour::Mysql80 ? 255 : 45);
    }
    return c != nullptr ? *c : kCollations.front(); // (both defaults are in the table)
}

Syntax Variables::syntax() const {
    const auto* v = find("sql_mode");
    return v != nullptr && v->value ? syntax_of(*v->value) : Syntax{};
}

bool Variables::autocommit() const {
    const auto* v = find("autocommit");
    return v && v->value == "ON";
}

} // namespace standin::mysql
