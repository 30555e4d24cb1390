#pragma once

// QueryProtocol is the query cycle of an authenticated PostgreSQL session, as postgres.c runs
// it:
//   Query ('Q')         -> parse the whole string (a syntax error runs nothing), then each
//                          statement: RowDescription, DataRows, CommandComplete (or
//                          EmptyQueryResponse), in one implicit transaction block when there
//                          are several; an error ends the string. ReadyForQuery last.
//   Parse/Bind/Describe/Execute/Close/Flush/Sync -> the extended protocol: named and unnamed
//                          statements and portals, ParameterDescription, RowDescription or
//                          NoData, text and binary parameters and results, max_rows with
//                          PortalSuspended; after an error every message up to Sync is
//                          ignored; Sync ends the implicit transaction and sends ReadyForQuery.
// ReadyForQuery carries the transaction state (I, T, E) and is preceded by a ParameterStatus
// for every GUC_REPORT setting whose value changed. In a failed transaction block everything but
// COMMIT/ROLLBACK gets 25P02.

#include <cstdint>
#include <string>
#include <vector>

#include <pg/messages.h>
#include <standin/postgres/executor.h>
#include <standin/postgres/session.h>

namespace standin::postgres {

class QueryProtocol {
  public:
    explicit QueryProtocol(Session& session) : session_(session) {}

    // handle answers one message; `close` is set when the message ends the session
    // (Terminate, or a FATAL).
    void handle(const pg::Message& message, std::vector<std::uint8_t>& out,
                std::vector<std::string>& notes, bool& close);

  private:
    void simple_query(const pg::Message& message, std::vector<std::uint8_t>& out,
                      std::vector<std::string>& notes);
    void parse(const pg::Message& message, std::vector<std::uint8_t>& out);
    void bind(const pg::Message& message, std::vector<std::uint8_t>& out);
    void describe(const pg::Message& message, std::vector<std::uint8_t>& out);
    void execute(const pg::Message& message, std::vector<std::uint8_t>& out,
                 std::vector<std::string>& notes);
    void close(const pg::Message& message, std::vector<std::uint8_t>& out);
    void sync(std::vector<std::uint8_t>& out);

    // extended_error: sends the error, fails or rolls back the transaction, and ignores
    // messages until Sync.
    void extended_error(const ServerError& e, std::vector<std::uint8_t>& out);
    // statement_failed: what an error does to the transaction.
    void statement_failed();
    void ready_for_query(std::vector<std::uint8_t>& out);
    void begin_extended();

    Session& session_;
    bool ignore_till_sync_ = false;
};

// row_description / data_row: RowDescription and DataRow with per-column formats.
pg::Message row_description(const std::vector<ResultColumn>& columns,
                            const std::vector<std::int16_t>& formats);
pg::Message data_row(const std::vector<Value>& values, const std::vector<std::int16_t>& formats,
                     const OutputOptions& options);

} // namespace standin::postgres
