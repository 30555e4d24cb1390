#pragma once

// The MySQL stand-in's executor, inside: what the files that run a parsed statement share.
//
// Theory of operation. A statement runs in a Ctx (the session, the bound parameters, and, while
// an expression is evaluated, the relation and row its column names refer to, the group its
// aggregates run over, the enclosing query for correlated subqueries). Every value is a Val: its
// text as the server would send it in a text-protocol row, what kind of value it is (for
// arithmetic and comparison), and the column definition a SELECT of it would carry (type,
// length, flags, character set: what a real server sends for the same expression). A FROM
// clause becomes a Relation (columns and rows of Vals), a SELECT a SelectResult.
//
//   sql_values.cc      Val constructors, conversions, comparison, result column definitions
//   sql_datetime.cc    dates: parsing, calendar arithmetic, DATE_FORMAT, INTERVAL
//   sql_expression.cc  eval: literals, variables, parameters, operators, CASE/IN/LIKE/CAST
//   sql_functions.cc   the built-in functions and the aggregates
//   sql_select.cc      FROM / JOIN / WHERE / GROUP BY / HAVING / ORDER BY / UNION / LIMIT
//   sql_show.cc        SHOW, DESCRIBE, EXPLAIN
//   sql_statements.cc  SET, USE, transactions, XA, PREPARE/EXECUTE, the privilege errors, and
//                      execute()/describe() (sql.h), which run a statement in its session

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <mysql/responses.h>
#include <standin/mysql/catalog.h>
#include <standin/mysql/sql.h>
#include <standin/mysql/sql_ast.h>

namespace standin::mysql::execution {

using ::mysql::BoundParameter;
using ::mysql::ColumnDefinition;
using ::mysql::ColumnType;
namespace column_flag = ::mysql::column_flag;

struct Val {
    enum class Kind : std::uint8_t { Null, Int, UInt, Decimal, Double, String, DateTime, Time };
    Kind kind = Kind::Null;
    std::string text;
    ColumnDefinition meta;

    bool is_null() const { return kind == Kind::Null; }
    bool numeric() const {
        return kind == Kind::Int || kind == Kind::UInt || kind == Kind::Decimal ||
               kind == Kind::Double;
    }
};

using EvalResult = std::expected<Val, ServerError>;

struct RelColumn {
    std::string qualifier; // table alias
    std::string name;
};

// The rows a FROM clause (or a derived table, a CTE, a SHOW) yields.
struct Relation {
    std::vector<RelColumn> cols;
    std::vector<ColumnDefinition> defs;
    std::vector<std::vector<Val>> rows;
};

// A common table expression in scope (WITH): its query, and its rows once computed.
struct CteBinding {
    std::string name; // as written
    std::vector<std::string> column_names;
    std::shared_ptr<const Select> query;
    bool recursive = false;
    const Relation* rows = nullptr; // set while the CTE is being computed or once it is
};

struct Ctx {
    SessionState& s;
    std::span<const BoundParameter> params;
    bool describing = false;
    const Relation* rel = nullptr;                               // the rows columns name
    const std::vector<Val>* row = nullptr;                       // nullptr: an empty group
    const std::vector<const std::vector<Val>*>* group = nullptr; // aggregates run over these
    const Ctx* outer = nullptr;                                  // correlated subqueries
    std::string_view clause = "field list";                      // for 1054's text
    std::size_t previous_warnings = 0;                           // @@warning_count
    std::size_t previous_errors = 0;                             // @@error_count
    int depth = 0;                                               // nested subqueries
    const std::vector<CteBinding>* ctes = nullptr;               // WITH: innermost first
    bool my() const { return s.flavour == Flavour::Mysql80; }
    std::uint16_t num_flag() const { return my() ? column_flag::Num : 0; }
    std::uint8_t string_decimals() const { return my() ? 31 : 39; }
    const Collation& conn() const { return s.variables->connection_collation(); }
};

struct SelectResult {
    std::vector<ColumnDefinition> columns;
    std::vector<std::vector<Val>> rows;
    std::size_t before_limit = 0;
};

// A SHOW's result: columns and text rows, then LIKE (on the first column) and WHERE.
struct ShowTable {
    std::vector<ColumnDefinition> columns;
    std::vector<CatalogRow> rows;
};

// Results beyond it are NULL with a warning, as with max_allowed_packet (a lab server stays
// small); a join beyond kMaxRows is 1104, as max_join_size.
constexpr std::size_t kMaxString = 1 << 20;
constexpr std::size_t kMaxRows = 200000;

// --- sql_values.cc ---
bool is_digit(char c);
std::size_t utf8_chars(std::string_view s);
Val null_val();
Val int_val(const Ctx& c, std::string text, bool not_null = true, bool is_unsigned = false,
            std::optional<std::uint32_t> length = std::nullopt);
Val string_val(const Ctx& c, std::string text, bool not_null = true,
               std::optional<std::uint32_t> chars = std::nullopt);
std::string format_double(double d);
Val double_val(const Ctx& c, double d, std::uint32_t length);
std::size_t scale_of(std::string_view t);
Val decimal_val(const Ctx& c, std::string text);
std::string format_fixed(long double d, std::size_t scale);
std::int64_t now_us(const SessionState& s);
Val datetime_val(const Ctx& c, std::int64_t us);
long double as_number(const Val& v);
bool truthy(const Val& v);
Val bool_val(const Ctx& c, std::optional<bool> b);
std::string user_at_host(const SessionState& s);
void warn(Ctx& c, std::uint16_t code, std::string message);
Val typed_null(Val v);
std::int64_t to_int(const Val& v);
Val long_val(const Ctx& c, std::int64_t n, std::uint32_t len = 11);
int compare_vals(const Val& a, const Val& b);
UserValue user_value_of(const Val& v);
std::optional<std::string> text_of(const Val& v);
ColumnDefinition text_column(const Ctx& c, std::string name, std::uint32_t chars,
                             bool not_null = true);
ColumnDefinition number_column(const Ctx& c, std::string name, std::uint32_t length,
                               ColumnType type = ColumnType::LongLong);
ColumnDefinition catalog_column(const Ctx& c, const CatalogColumn& col);
Val cell(const ColumnDefinition& def, const std::optional<std::string>& text);

// --- sql_datetime.cc ---
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
struct Civil {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};
std::optional<Civil> parse_datetime(std::string_view t);
std::int64_t epoch_of(const Civil& c);
Civil civil_of(std::int64_t secs);
std::string date_format(const Civil& d, std::string_view fmt);
Val datetime_text(const Ctx& c, std::string text, ColumnType type);
Civil civil_from_days(std::int64_t days);
int day_of_year(const Civil& d);
int weekday_of(const Civil& d); // 0 Sunday
int days_in_month(int year, int month);
int week_of(const Civil& d, int mode); // WEEK(d, mode) for modes 0, 1, 3
bool has_time_part(std::string_view text);
// An INTERVAL's amount in months and seconds (microseconds are dropped: the stand-in's
// date values have none); nullopt: a value the unit cannot read.
struct IntervalAmount {
    std::int64_t months = 0;
    std::int64_t seconds = 0;
};
std::optional<IntervalAmount> interval_amount(std::string_view unit, const Val& amount);
bool date_unit(std::string_view unit); // DAY and larger
// date_add: date + sign * INTERVAL amount unit (NULL where the server gives NULL)
EvalResult date_add(Ctx& c, const Val& date, const Val& amount, std::string_view unit, int sign);
// the date and time built-ins (sql_functions_datetime.cc); nullopt: not one of them
std::optional<EvalResult> datetime_function(const std::string& f, std::vector<Val>& args, Ctx& c);
// the JSON built-ins (sql_json.cc); nullopt: not one of them
std::optional<EvalResult> json_function(const std::string& f, std::vector<Val>& args, Ctx& c);

// --- sql_expression.cc ---
EvalResult eval(const Expr& e, Ctx& c);
bool like(std::string_view text, std::string_view pattern, char escape = '\\');

// --- sql_functions.cc ---
EvalResult func(const Expr& e, Ctx& c);
bool has_aggregate(const Expr& e);

// --- sql_select.cc ---
std::string table_db(const TableName& t, const SessionState& s);
EvalResult subquery_rows(const Select& s, Ctx& c, SelectResult& out);
std::expected<SelectResult, ServerError> run_select(const Select& s, Ctx& c);
ResultSet to_result_set(SelectResult&& r);
StatementResult select(const SelectStmt& s, Ctx& c);
bool core_uses_tables(const Select& s);

// --- sql_show.cc ---
StatementResult finish_show(ShowTable t, const ShowStmt& s, Ctx& c);
ColumnDefinition long_column(const Ctx& c, std::string name, std::uint32_t length,
                             bool is_unsigned = false);
StatementResult show_table_missing(const TableName& t, Ctx& c, const char* privilege = "SELECT");
StatementResult show(const ShowStmt& s, Ctx& c);
StatementResult explain(const ExplainStmt& s, Ctx& c);

} // namespace standin::mysql::execution
