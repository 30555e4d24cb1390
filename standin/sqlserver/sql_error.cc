#include <cstdio>

#include <standin/sqlserver/sql_error.h>

namespace standin::sqlserver::errors {

namespace {
SqlError make(std::uint32_t number, std::uint8_t state, std::uint8_t severity, std::string text,
              ErrorScope scope = ErrorScope::Statement) {
    return SqlError{number, state, severity, std::move(text), scope};
}
} // namespace

SqlError invalid_object(const std::string& name) {
    return make(208, 1, 16, "Invalid object name '" + name + "'.", ErrorScope::Batch);
}
SqlError unknown_procedure(const std::string& name) {
    return make(2812, 62, 16, "Could not find stored procedure '" + name + "'.");
}
SqlError undeclared_variable(const std::string& name) {
    return make(137, 2, 15, "Must declare the scalar variable \"" + name + "\".",
                ErrorScope::Batch);
}
SqlError invalid_column(const std::string& name) {
    return make(207, 1, 16, "Invalid column name '" + name + "'.", ErrorScope::Batch);
}
SqlError unknown_function(const std::string& name) {
    return make(195, 10, 15, "'" + name + "' is not a recognized built-in function name.",
                ErrorScope::Batch);
}
SqlError no_begin_for_commit() {
    return make(3902, 1, 16,
                "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.");
}
SqlError no_begin_for_rollback() {
    return make(3903, 1, 16,
                "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.");
}
SqlError save_outside_transaction() {
    return make(628, 0, 16, "Cannot issue SAVE TRANSACTION when there is no active transaction.");
}
SqlError unknown_savepoint(const std::string& name) {
    return make(6401, 1, 16,
                "Cannot roll back " + name +
                    ". No transaction or savepoint of that name was found.");
}
SqlError no_database(const std::string& name) {
    return make(911, 1, 16,
                "Database '" + name +
                    "' does not exist. Make sure that the name is entered correctly.");
}
SqlError permission_denied(const std::string& what, const std::string& database) {
    return make(262, 1, 14, what + " permission denied in database '" + database + "'.");
}
SqlError conversion_failed(const std::string& from_type, const std::string& value,
                           const std::string& to_type) {
    return make(245, 1, 16,
                "Conversion failed when converting the " + from_type + " value '" + value +
                    "' to data type " + to_type + ".",
                ErrorScope::Batch);
}
SqlError unknown_type(const std::string& name) {
    return make(243, 2, 16, "Type " + name + " is not a defined system type.", ErrorScope::Batch);
}
SqlError divide_by_zero() {
    return make(8134, 1, 16, "Divide by zero error encountered.");
}
SqlError arithmetic_overflow(const std::string& type) {
    return make(8115, 2, 16,
                "Arithmetic overflow error converting expression to data type " + type + ".");
}
SqlError msdtc_unavailable(const std::string& server) {
    return make(8501, 3, 16, "MSDTC on server '" + server + "' is unavailable.");
}
SqlError stale_transaction(std::uint64_t descriptor) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(descriptor));
    return make(3971, 1, 16,
                std::string("The server failed to resume the transaction. Desc:") + buf + ".",
                ErrorScope::Batch);
}
SqlError missing_parameter(const std::string& query, const std::string& name) {
    return make(8178, 1, 16,
                "The parameterized query '" + query + "' expects the parameter '" + name +
                    "', which was not supplied.",
                ErrorScope::Batch);
}
SqlError unknown_prepared_handle(std::int32_t handle) {
    return make(8179, 4, 16,
                "Could not find prepared statement with handle " + std::to_string(handle) + ".",
                ErrorScope::Batch);
}
SqlError bad_rpc_parameter(std::size_t ordinal, const std::string& name, std::uint8_t type) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02X", type);
    return make(8009, 1, 16,
                "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol "
                "stream is incorrect. Parameter " +
                    std::to_string(ordinal) + " (\"" + name + "\"): Data type 0x" + buf +
                    " is unknown.",
                ErrorScope::Batch);
}
SqlError wrong_argument_count(const std::string& function, std::size_t want) {
    return make(174, 1, 15,
                "The " + function + " function requires " + std::to_string(want) + " argument(s).",
                ErrorScope::Batch);
}

} // namespace standin::sqlserver::errors
