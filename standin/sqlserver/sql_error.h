#pragma once

#include <cstdint>
#include <string>

namespace standin::sqlserver {

// How far an error reaches, as in SQL Server: a statement-level error ends the statement and
// the batch goes on; a batch-level one (a missing object, a compile error) ends the batch.
enum class ErrorScope : std::uint8_t { Statement, Batch };

// SqlError is an error the stand-in answers with: SQL Server's number, state, class and text.
struct SqlError {
    std::uint32_t number = 0;
    std::uint8_t state = 1;
    std::uint8_t severity = 16;
    std::string text;
    ErrorScope scope = ErrorScope::Statement;
};

// The errors SQL Server gives for what the stand-in meets, in one place with their numbers.
namespace errors {
SqlError invalid_object(const std::string& name);                                 // 208, batch
SqlError unknown_procedure(const std::string& name);                              // 2812
SqlError undeclared_variable(const std::string& name);                            // 137
SqlError invalid_column(const std::string& name);                                 // 207, batch
SqlError unknown_function(const std::string& name);                               // 195
SqlError no_begin_for_commit();                                                   // 3902
SqlError no_begin_for_rollback();                                                 // 3903
SqlError save_outside_transaction();                                              // 628
SqlError unknown_savepoint(const std::string& name);                              // 6401
SqlError no_database(const std::string& name);                                    // 911
SqlError permission_denied(const std::string& what, const std::string& database); // 262
SqlError conversion_failed(const std::string& from_type, const std::string& value,
                           const std::string& to_type);                                      // 245
SqlError unknown_type(const std::string& name);                                              // 243
SqlError divide_by_zero();                                                                   // 8134
SqlError arithmetic_overflow(const std::string& type);                                       // 8115
SqlError msdtc_unavailable(const std::string& server);                                       // 8501
SqlError stale_transaction(std::uint64_t descriptor);                                        // 3971
SqlError missing_parameter(const std::string& query, const std::string& name);               // 8178
SqlError unknown_prepared_handle(std::int32_t handle);                                       // 8179
SqlError bad_rpc_parameter(std::size_t ordinal, const std::string& name, std::uint8_t type); // 8009
SqlError wrong_argument_count(const std::string& function, std::size_t want);                // 174
} // namespace errors

} // namespace standin::sqlserver
