#pragma once

// ServerError is an ErrorResponse / NoticeResponse the stand-in sends, with the fields a real
// PostgreSQL 16.4 server fills in: severity (S and V), SQLSTATE (C), message (M), detail (D),
// hint (H), position (P, 1-based in characters), context (W) and the source location (F, L, R).
// The location is what PostgreSQL 16.4 reports for the same error (observed on a 16.4 server),
// so a client printing verbose errors sees what it would see against the real server.
//
// The errors module (namespace errors) builds every error the stand-in gives, one function per
// error, with PostgreSQL's SQLSTATE and wording.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pg/messages.h>

namespace standin::postgres {

enum class Severity : std::uint8_t { Fatal, Error, Warning, Notice };
std::string_view to_string(Severity s);

struct SourceLocation {
    std::string_view file;
    int line = 0;
    std::string_view routine;
};

struct ServerError {
    Severity severity = Severity::Error;
    std::string sqlstate;
    std::string message;
    std::string detail;
    std::string hint;
    std::optional<std::size_t> position; // 1-based, in characters of the query text
    std::string context;                 // W
    SourceLocation location;

    pg::Notice notice() const;
    pg::Message message_for_wire() const; // ErrorResponse, or NoticeResponse below Error
};

// position_of: PostgreSQL's cursor position for a byte offset into a query: characters (UTF-8
// sequences) before it, plus one.
std::size_t position_of(std::string_view query, std::size_t byte_offset);

namespace errors {
// --- startup and authentication (FATAL) ---
ServerError no_user_name();
ServerError unsupported_protocol(std::uint16_t major, std::uint16_t minor,
                                 std::uint16_t newest_minor);
ServerError invalid_startup_value(const std::string& name, const std::string& value,
                                  const std::string& hint);
ServerError no_hba_entry(const std::string& host, const std::string& user,
                         const std::string& database, bool tls);
ServerError no_hba_entry_replication(const std::string& host, const std::string& user, bool tls);
ServerError database_missing(const std::string& name);
ServerError password_failed(const std::string& user);
ServerError empty_password();
ServerError expected_password(char got);
ServerError expected_sasl(char got);
ServerError invalid_password_packet();
ServerError invalid_message_format();
ServerError invalid_sasl_mechanism();
ServerError scram_malformed(const std::string& detail, SourceLocation where);
ServerError scram_feature(const std::string& message, SourceLocation where);
ServerError scram_protocol(const std::string& message, const std::string& detail,
                           SourceLocation where);
ServerError scram_binding_negotiation();
ServerError scram_binding_failed();

// --- settings ---
ServerError unrecognized_parameter(const std::string& name);
ServerError invalid_parameter_value(const std::string& name, const std::string& value,
                                    const std::string& detail = {}, const std::string& hint = {});
ServerError requires_boolean(const std::string& name);
ServerError out_of_range_setting(const std::string& value_with_unit, const std::string& name,
                                 const std::string& min, const std::string& max);
ServerError cannot_change(const std::string& name);
ServerError cannot_change_without_restart(const std::string& name);
ServerError cannot_change_now(const std::string& name);
ServerError permission_denied_to_set(const std::string& name);
ServerError takes_one_argument(const std::string& name);
ServerError permission_denied_session_authorization();
ServerError permission_denied_role(const std::string& role);
ServerError role_missing(const std::string& role);

// --- the query text ---
ServerError syntax_error_at(const std::string& token, std::size_t position);
ServerError syntax_error_at_end(std::size_t position);
ServerError lexical_error(const std::string& what, const std::string& near, std::size_t position);
ServerError multiple_commands_in_prepared();
ServerError select_star_without_tables(std::size_t position);

// --- analysis ---
ServerError relation_missing(const std::string& name, std::size_t position);
ServerError column_missing(const std::string& name, std::size_t position);
ServerError missing_from_entry(const std::string& table, std::size_t position);
ServerError function_missing(const std::string& signature, std::size_t position);
ServerError operator_missing(const std::string& signature, std::size_t position);
ServerError type_missing(const std::string& name, std::size_t position);
ServerError no_parameter(std::size_t number, std::size_t position);
ServerError parameter_type_unknown(std::size_t number);
ServerError type_oid_unknown(std::uint32_t oid);
ServerError cannot_cast(const std::string& from, const std::string& to, std::size_t position);

// --- values ---
ServerError invalid_input(const std::string& type_name, const std::string& value,
                          std::optional<std::size_t> position, SourceLocation where);
ServerError value_out_of_range(const std::string& value, const std::string& type_name,
                               std::optional<std::size_t> position, SourceLocation where);
ServerError out_of_range(const std::string& what, SourceLocation where); // "integer out of range"
ServerError division_by_zero(SourceLocation where);
ServerError insufficient_data();
ServerError incorrect_binary_format(std::size_t parameter);
ServerError unsupported_format_code(int code);

// --- transactions ---
ServerError transaction_aborted(SourceLocation where);
ServerError no_transaction_in_progress(bool commit); // WARNING
ServerError already_in_transaction();                // WARNING
ServerError only_in_transaction_block(const std::string& what, bool warning);
ServerError savepoint_missing(const std::string& name, bool release);

// --- extended protocol ---
ServerError statement_exists(const std::string& name);
ServerError statement_missing(const std::string& name);
ServerError portal_missing(const std::string& name, SourceLocation where);
ServerError bind_parameter_count(std::size_t given, const std::string& statement, std::size_t want);
ServerError bind_format_count(std::size_t formats, std::size_t parameters);
ServerError bind_result_format_count(std::size_t formats, std::size_t columns);
ServerError invalid_message_type(char type);
ServerError cannot_drop_missing(const std::string& what, const std::string& name); // NOTICE

// --- misc ---
ServerError feature_not_supported(const std::string& what);
// stack_depth_exceeded: PostgreSQL's check_stack_depth() (54001), for an expression nested too
// deeply for the stand-in's recursive parser.
ServerError stack_depth_exceeded();
ServerError permission_denied_schema(const std::string& schema, std::size_t position);
} // namespace errors

// Source locations of PostgreSQL 16.4 for errors built outside the errors module.
namespace where {
inline constexpr SourceLocation kInt4Div{"int.c", 843, "int4div"};
inline constexpr SourceLocation kInt4Pl{"int.c", 800, "int4pl"};
inline constexpr SourceLocation kInt4Mi{"int.c", 828, "int4mi"};
inline constexpr SourceLocation kInt4Mul{"int.c", 814, "int4mul"};
inline constexpr SourceLocation kInt2Pl{"int.c", 915, "int2pl"};
inline constexpr SourceLocation kInt8Pl{"int8.c", 434, "int8pl"};
inline constexpr SourceLocation kInt8Div{"int8.c", 534, "int8div"};
inline constexpr SourceLocation kInt84{"int8.c", 1272, "int84"};
inline constexpr SourceLocation kStrToInt32{"numutils.c", 620, "pg_strtoint32_safe"};
inline constexpr SourceLocation kStrToInt32Range{"numutils.c", 614, "pg_strtoint32_safe"};
inline constexpr SourceLocation kStrToInt64{"numutils.c", 882, "pg_strtoint64_safe"};
inline constexpr SourceLocation kStrToInt64Range{"numutils.c", 876, "pg_strtoint64_safe"};
inline constexpr SourceLocation kStrToInt16{"numutils.c", 358, "pg_strtoint16_safe"};
inline constexpr SourceLocation kStrToInt16Range{"numutils.c", 352, "pg_strtoint16_safe"};
inline constexpr SourceLocation kBoolIn{"bool.c", 154, "boolin"};
inline constexpr SourceLocation kNumericIn{"numeric.c", 7024, "set_var_from_str"};
inline constexpr SourceLocation kFloat8In{"float.c", 496, "float8in_internal"};
inline constexpr SourceLocation kFloat4In{"float.c", 294, "float4in_internal"};
inline constexpr SourceLocation kNumericDiv{"numeric.c", 8488, "div_var"};
inline constexpr SourceLocation kFloatDiv{"float.h", 260, "float8_div"};
inline constexpr SourceLocation kOidIn{"oid.c", 51, "oidin_subr"};
inline constexpr SourceLocation kTransactionAbortedSimple{"postgres.c", 1144, "exec_simple_query"};
inline constexpr SourceLocation kTransactionAbortedParse{"postgres.c", 1502, "exec_parse_message"};
inline constexpr SourceLocation kTransactionAbortedBind{"postgres.c", 1759, "exec_bind_message"};
inline constexpr SourceLocation kTransactionAbortedExecute{"postgres.c", 2192,
                                                           "exec_execute_message"};
inline constexpr SourceLocation kPortalMissingExecute{"postgres.c", 2122, "exec_execute_message"};
inline constexpr SourceLocation kPortalMissingDescribe{"postgres.c", 2716,
                                                       "exec_describe_portal_message"};
inline constexpr SourceLocation kPortalMissingBind{"postgres.c", 1759, "exec_bind_message"};
} // namespace where

} // namespace standin::postgres
