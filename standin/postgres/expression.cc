#include <algorithm>
#include <cmath>
#include <limits>

#include <standin/postgres/builtins.h>
#include <standin/postgres/expression.h>

namespace standin::postgres {

namespace {

using Analysis = std::expected<void, ServerError>;
using Eval = std::expected<Value, EvalFailure>;

std::size_t pos(const AnalysisContext& c, std::size_t offset) {
    return position_of(c.query, offset);
}

bool is_unresolved_parameter(const Expr& e, const AnalysisContext& c) {
    return e.kind == ExprKind::Parameter && c.parameter_types != nullptr &&
           e.parameter <= c.parameter_types->size() && (*c.parameter_types)[e.parameter - 1] == 0;
}

// resolve_as: an unknown literal or unresolved parameter takes `type`.
void resolve_as(Expr& e, std::uint32_t type, AnalysisContext& c) {
    if (is_unresolved_parameter(e, c)) {
        (*c.parameter_types)[e.parameter - 1] = type;
        e.type = type;
    } else if (e.type == oid::kUnknown &&
               (e.kind == ExprKind::String || e.kind == ExprKind::Null)) {
        e.type = type;
    }
}

bool numeric_type(std::uint32_t t) {
    return is_integer_type(t) || t == oid::kNumeric || t == oid::kFloat4 || t == oid::kFloat8;
}

// arithmetic_result: the result type of + - * / % for two numeric types.
std::uint32_t arithmetic_result(std::uint32_t a, std::uint32_t b) {
    if (a == oid::kFloat8 || b == oid::kFloat8) {
        return oid::kFloat8;
    }
    if (a == oid::kFloat4 || b == oid::kFloat4) {
        return (a == oid::kFloat4 && b == oid::kFloat4) ? oid::kFloat4 : oid::kFloat8;
    }
    if (a == oid::kNumeric || b == oid::kNumeric) {
        return oid::kNumeric;
    }
    if (a == oid::kInt8 || b == oid::kInt8) {
        return oid::kInt8;
    }
    if (a == oid::kInt4 || b == oid::kInt4) {
        return oid::kInt4;
    }
    return oid::kInt2;
}

std::string type_list(const std::vector<std::uint32_t>& types) {
    std::string out;
    for (std::size_t i = 0; i < types.size(); ++i) {
        out += (i ? ", " : "") + type_sql_name(types[i]);
    }
    return out;
}

// common_type: the type several branches (CASE, COALESCE, IN) resolve to.
std::uint32_t common_type(const std::vector<std::uint32_t>& types) {
    std::uint32_t result = oid::kUnknown;
    for (auto t : types) {
        if (t == oid::kUnknown) {
            continue;
        }
        if (result == oid::kUnknown) {
            result = t;
        } else if (numeric_type(result) && numeric_type(t)) {
            result = arithmetic_result(result, t);
        } else if (is_string_type(result) && is_string_type(t)) {
            result = oid::kText;
        }
    }
    return result == oid::kUnknown ? oid::kText : result;
}

bool castable(std::uint32_t from, std::uint32_t to) {
    if (from == to || from == oid::kUnknown || is_string_type(from) || is_string_type(to)) {
        return true;
    }
    if (is_numeric_family(from) && is_numeric_family(to)) {
        return true;
    }
    if ((from == oid::kInt4 && to == oid::kBool) || (from == oid::kBool && to == oid::kInt4)) {
        return true;
    }
    if ((from == oid::kTimestamptz || from == oid::kTimestamp || from == oid::kDate) &&
        (to == oid::kTimestamptz || to == oid::kTimestamp || to == oid::kDate)) {
        return true;
    }
    return false;
}

Analysis boolean_argument(Expr& arg, std::string_view construct, AnalysisContext& c) {
    resolve_as(arg, oid::kBool, c);
    if (arg.type != oid::kBool) {
        ServerError e;
        e.sqlstate = "42804";
        e.message = "argument of " + std::string(construct) + " must be type boolean, not type " +
                    type_sql_name(arg.type);
        e.position = pos(c, arg.offset);
        e.location = {"parse_coerce.c", 1243, "coerce_to_boolean"};
        return std::unexpected(e);
    }
    return {};
}

std::uint32_t integer_literal_type(const std::string& text) {
    std::int64_t v = 0;
    auto parsed = parse_text(oid::kInt8, text);
    if (!parsed) {
        return oid::kNumeric;
    }
    v = parsed->as_int().value_or(0);
    if (v >= std::numeric_limits<std::int32_t>::min() &&
        v <= std::numeric_limits<std::int32_t>::max()) {
        return oid::kInt4;
    }
    return oid::kInt8;
}

Analysis analyze_children(Expr& e, AnalysisContext& c) {
    for (auto& a : e.args) {
        if (auto r = analyze(*a, c); !r) {
            return r;
        }
    }
    return {};
}

// a pair of operands for an operator: unknowns and parameters take the other side's type
void unify_operands(Expr& l, Expr& r, AnalysisContext& c) {
    bool lu = l.type == oid::kUnknown;
    bool ru = r.type == oid::kUnknown;
    if (lu && !ru) {
        resolve_as(l, r.type, c);
        if (l.kind == ExprKind::Parameter || l.kind == ExprKind::Null) {
            l.type = r.type;
        }
    } else if (ru && !lu) {
        resolve_as(r, l.type, c);
        if (r.kind == ExprKind::Parameter || r.kind == ExprKind::Null) {
            r.type = l.type;
        }
    }
}

Analysis analyze_binary(Expr& e, AnalysisContext& c) {
    if (auto r = analyze_children(e, c); !r) {
        return r;
    }
    Expr& l = *e.args[0];
    Expr& r = *e.args[1];
    const std::string& op = e.text;
    auto missing = [&]() {
        return std::unexpected(errors::operator_missing(
            type_sql_name(l.type) + " " + op + " " + type_sql_name(r.type), pos(c, e.offset)));
    };
    if (op == "and" || op == "or") {
        std::string construct = op == "and" ? "AND" : "OR";
        if (auto x = boolean_argument(l, construct, c); !x) {
            return x;
        }
        if (auto x = boolean_argument(r, construct, c); !x) {
            return x;
        }
        e.type = oid::kBool;
        return {};
    }
    if (op == "||") {
        if (l.type == oid::kUnknown && r.type == oid::kUnknown) {
            resolve_as(l, oid::kText, c);
            resolve_as(r, oid::kText, c);
            l.type = r.type = oid::kText;
        }
        if (!is_string_type(l.type) && !is_string_type(r.type)) {
            return missing();
        }
        resolve_as(l, oid::kText, c);
        resolve_as(r, oid::kText, c);
        e.type = oid::kText;
        return {};
    }
    if (op == "like" || op == "ilike" || op == "not like" || op == "not ilike") {
        resolve_as(l, oid::kText, c);
        resolve_as(r, oid::kText, c);
        if (!is_string_type(l.type) || !is_string_type(r.type)) {
            return std::unexpected(errors::operator_missing(
                type_sql_name(l.type) + " ~~ " + type_sql_name(r.type), pos(c, e.offset)));
        }
        e.type = oid::kBool;
        return {};
    }
    unify_operands(l, r, c);
    if (l.type == oid::kUnknown && r.type == oid::kUnknown) {
        resolve_as(l, oid::kText, c);
        resolve_as(r, oid::kText, c);
        l.type = r.type = oid::kText;
        if (op != "=" && op != "<>" && op != "<" && op != ">" && op != "<=" && op != ">=" &&
            !op.starts_with("is ")) {
            ServerError err =
                errors::operator_missing("unknown " + op + " unknown", pos(c, e.offset));
            err.sqlstate = "42725";
            err.message = "operator is not unique: unknown " + op + " unknown";
            err.hint = "Could not choose a best candidate operator. You might need to add explicit "
                       "type casts.";
            err.location = {"parse_oper.c", 650, "op_error"};
            return std::unexpected(err);
        }
    }
    if (op == "=" || op == "<>" || op == "<" || op == ">" || op == "<=" || op == ">=" ||
        op == "is distinct from" || op == "is not distinct from") {
        bool ok = l.type == r.type || (numeric_type(l.type) && numeric_type(r.type)) ||
                  (is_string_type(l.type) && is_string_type(r.type)) ||
                  (is_numeric_family(l.type) && is_numeric_family(r.type));
        if (!ok) {
            return missing();
        }
        e.type = oid::kBool;
        return {};
    }
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
        if (!numeric_type(l.type) || !numeric_type(r.type) ||
            (op == "%" && (l.type == oid::kFloat4 || l.type == oid::kFloat8 ||
                           r.type == oid::kFloat4 || r.type == oid::kFloat8))) {
            return missing();
        }
        e.type = arithmetic_result(l.type, r.type);
        return {};
    }
    if (op == "^") {
        if (!numeric_type(l.type) || !numeric_type(r.type)) {
            return missing();
        }
        e.type =
            (l.type == oid::kNumeric || r.type == oid::kNumeric) ? oid::kNumeric : oid::kFloat8;
        return {};
    }
    return missing();
}

Analysis analyze_function(Expr& e, AnalysisContext& c) {
    if (auto r = analyze_children(e, c); !r) {
        return r;
    }
    std::string fname = e.names.back();
    bool qualified_elsewhere = e.names.size() > 1 && e.names[e.names.size() - 2] != "pg_catalog";
    std::vector<std::uint32_t> types;
    for (const auto& a : e.args) {
        types.push_back(a->type);
    }
    std::string display;
    for (std::size_t i = 0; i < e.names.size(); ++i) {
        display += (i ? "." : "") + e.names[i];
    }
    if (!qualified_elsewhere && (fname == "count" || fname == "sum" || fname == "max" ||
                                 fname == "min" || fname == "avg")) {
        if (fname == "count") {
            if (!e.star && e.args.size() != 1) {
                return std::unexpected(errors::function_missing(
                    display + "(" + type_list(types) + ")", pos(c, e.offset)));
            }
            e.type = oid::kInt8;
            return {};
        }
        if (e.args.size() != 1) {
            return std::unexpected(
                errors::function_missing(display + "(" + type_list(types) + ")", pos(c, e.offset)));
        }
        resolve_as(*e.args[0], oid::kText, c);
        auto t = e.args[0]->type == oid::kUnknown ? oid::kText : e.args[0]->type;
        if (fname == "avg" || (fname == "sum" && is_integer_type(t) && t != oid::kInt8)) {
            e.type = fname == "avg"
                         ? (t == oid::kFloat4 || t == oid::kFloat8 ? oid::kFloat8 : oid::kNumeric)
                         : oid::kInt8;
        } else if (fname == "sum" && t == oid::kInt8) {
            e.type = oid::kNumeric;
        } else {
            e.type = t;
        }
        return {};
    }
    const BuiltinFunction* f =
        qualified_elsewhere || e.star ? nullptr : find_function(fname, types);
    if (f == nullptr) {
        std::string sig = display + "(" + (e.star ? "*" : type_list(types)) + ")";
        return std::unexpected(errors::function_missing(sig, pos(c, e.offset)));
    }
    for (std::size_t i = 0; i < e.args.size(); ++i) {
        if (!f->variadic && f->arg_types[i] != kAnyType) {
            resolve_as(*e.args[i], f->arg_types[i], c);
        } else {
            resolve_as(*e.args[i], oid::kText, c);
        }
    }
    e.type = f->result != 0 ? f->result : (e.args.empty() ? oid::kText : e.args[0]->type);
    return {};
}

Analysis analyze_column(Expr& e, AnalysisContext& c) {
    if (e.names.size() == 1 && e.names[0] == "current_schema") {
        e.kind = ExprKind::SqlFunction;
        e.text = "current_schema";
        e.type = oid::kName;
        return {};
    }
    if (e.star) {
        if (c.relations.empty()) {
            return std::unexpected(errors::missing_from_entry(e.names.front(), pos(c, e.offset)));
        }
        return std::unexpected(errors::feature_not_supported("row expansion is not supported"));
    }
    const std::string& column = e.names.back();
    if (e.names.size() >= 2) {
        const std::string& table = e.names[e.names.size() - 2];
        for (const auto& r : c.relations) {
            if (r.alias == table) {
                for (const auto& [name, type] : r.columns) {
                    if (name == column) {
                        e.type = type;
                        return {};
                    }
                }
                return std::unexpected(
                    errors::column_missing(table + "." + column, pos(c, e.offset)));
            }
        }
        return std::unexpected(errors::missing_from_entry(table, pos(c, e.offset)));
    }
    for (const auto& r : c.relations) {
        for (const auto& [name, type] : r.columns) {
            if (name == column) {
                e.type = type;
                return {};
            }
        }
    }
    return std::unexpected(errors::column_missing(column, pos(c, e.offset)));
}

// --- evaluation helpers -----------------------------------------------------------------------

EvalFailure fail(ServerError e) {
    return EvalFailure{std::move(e), false};
}

std::string_view int_name(std::uint32_t t) {
    return t == oid::kInt2 ? "smallint" : t == oid::kInt4 ? "integer" : "bigint";
}

SourceLocation arithmetic_location(const std::string& op, std::uint32_t t) {
    std::string_view prefix = t == oid::kInt2 ? "int2" : t == oid::kInt4 ? "int4" : "int8";
    (void)prefix;
    if (t == oid::kInt2) {
        if (op == "+") {
            return {"int.c", 915, "int2pl"};
        }
        if (op == "-") {
            return {"int.c", 929, "int2mi"};
        }
        if (op == "*") {
            return {"int.c", 943, "int2mul"};
        }
        if (op == "/") {
            return {"int.c", 959, "int2div"};
        }
        return {"int.c", 1167, "int2mod"};
    }
    if (t == oid::kInt4) {
        if (op == "+") {
            return where::kInt4Pl;
        }
        if (op == "-") {
            return {"int.c", 814, "int4mi"};
        }
        if (op == "*") {
            return {"int.c", 828, "int4mul"};
        }
        if (op == "/") {
            return where::kInt4Div;
        }
        return {"int.c", 1139, "int4mod"};
    }
    if (op == "+") {
        return {"int8.c", 915, "int84pl"};
    }
    if (op == "-") {
        return {"int8.c", 929, "int84mi"};
    }
    if (op == "*") {
        return {"int8.c", 943, "int84mul"};
    }
    if (op == "/") {
        return {"int8.c", 958, "int84div"};
    }
    return {"int8.c", 573, "int8mod"};
}

std::expected<Value, ServerError> integer_arithmetic(const std::string& op, std::int64_t a,
                                                     std::int64_t b, std::uint32_t type) {
    auto loc = arithmetic_location(op, type);
    std::int64_t r = 0;
    bool overflow = false;
    if (op == "+") {
        overflow = __builtin_add_overflow(a, b, &r);
    } else if (op == "-") {
        overflow = __builtin_sub_overflow(a, b, &r);
    } else if (op == "*") {
        overflow = __builtin_mul_overflow(a, b, &r);
    } else {
        if (b == 0) {
            return std::unexpected(errors::division_by_zero(loc));
        }
        if (op == "/") {
            if (a == std::numeric_limits<std::int64_t>::min() && b == -1) {
                overflow = true;
            } else {
                r = a / b;
            }
        } else {
            r = (b == -1) ? 0 : a % b;
        }
    }
    std::int64_t min = type == oid::kInt2   ? -32768
                       : type == oid::kInt4 ? std::numeric_limits<std::int32_t>::min()
                                            : std::numeric_limits<std::int64_t>::min();
    std::int64_t max = type == oid::kInt2   ? 32767
                       : type == oid::kInt4 ? std::numeric_limits<std::int32_t>::max()
                                            : std::numeric_limits<std::int64_t>::max();
    if (overflow || r < min || r > max) {
        return std::unexpected(errors::out_of_range(std::string(int_name(type)), loc));
    }
    return Value::of_int(type, r);
}

// numeric ^ numeric: exact for integral exponents, long double otherwise, with power_var's
// result scale (16 significant digits from the estimated magnitude).
std::expected<Value, ServerError> numeric_power(const Decimal& base, const Decimal& exponent) {
    constexpr SourceLocation kPower{"numeric.c", 10933, "power_var"};
    long double b = static_cast<long double>(base.to_double());
    long double x = static_cast<long double>(exponent.to_double());
    bool integral =
        exponent.special() == Decimal::Special::None && exponent.compare(exponent.round_to(0)) == 0;
    if (base.is_zero() && x < 0) {
        ServerError e = errors::division_by_zero(kPower);
        e.sqlstate = "2201F";
        e.message = "zero raised to a negative power is undefined";
        return std::unexpected(e);
    }
    if (b < 0 && !integral) {
        ServerError e = errors::division_by_zero(kPower);
        e.sqlstate = "2201F";
        e.message = "a negative number raised to a non-integer power yields a complex result";
        return std::unexpected(e);
    }
    long double estimate = b == 0 ? 0 : std::log10(std::fabs(b)) * x;
    int rscale = 16 - static_cast<int>(estimate);
    rscale = std::max({rscale, base.scale(), exponent.scale(), 0});
    rscale = std::min(rscale, 1000);
    if (integral && std::fabs(x) <= 10000) {
        auto n = exponent.to_int64().value_or(0);
        Decimal result = Decimal::from_int(1);
        Decimal factor = base;
        for (auto k = n < 0 ? -n : n; k > 0; k >>= 1) {
            if ((k & 1) != 0) {
                result = result * factor;
            }
            if (k > 1) {
                factor = factor * factor;
                factor = factor.round_to(std::max(rscale * 2, 40));
            }
        }
        if (n < 0) {
            auto q = Decimal::from_int(1).divide(result);
            if (!q) {
                return std::unexpected(errors::division_by_zero(kPower));
            }
            result = *q;
        }
        return Value::of_numeric(result.round_to(rscale));
    }
    long double p = std::pow(b, x);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.*Lf", rscale > 40 ? 40 : rscale, p);
    auto d = Decimal::parse(buf);
    return Value::of_numeric(d ? d->round_to(rscale) : Decimal{});
}

std::expected<Value, ServerError> arithmetic(const std::string& op, const Value& l, const Value& r,
                                             std::uint32_t type) {
    if (l.null || r.null) {
        return Value::null_of(type);
    }
    if (is_integer_type(type)) {
        return integer_arithmetic(op, l.as_int().value_or(0), r.as_int().value_or(0), type);
    }
    if (type == oid::kNumeric) {
        auto a = l.as_decimal().value_or(Decimal{});
        auto b = r.as_decimal().value_or(Decimal{});
        if (op == "+") {
            return Value::of_numeric(a + b);
        }
        if (op == "-") {
            return Value::of_numeric(a - b);
        }
        if (op == "*") {
            return Value::of_numeric(a * b);
        }
        if (op == "^") {
            return numeric_power(a, b);
        }
        auto q = op == "/" ? a.divide(b) : a.modulo(b);
        if (!q) {
            return std::unexpected(
                errors::division_by_zero(op == "/" ? SourceLocation{"numeric.c", 8850, "div_var"}
                                                   : SourceLocation{"numeric.c", 8850, "div_var"}));
        }
        return Value::of_numeric(*q);
    }
    double a = l.as_double().value_or(0);
    double b = r.as_double().value_or(0);
    double v = 0;
    if (op == "+") {
        v = a + b;
    } else if (op == "-") {
        v = a - b;
    } else if (op == "*") {
        v = a * b;
    } else if (op == "^") {
        v = std::pow(a, b);
    } else {
        if (b == 0) {
            return std::unexpected(
                errors::division_by_zero({"float.c", 105, "float_zero_divide_error"}));
        }
        v = a / b;
    }
    if (std::isinf(v) && std::isfinite(a) && std::isfinite(b)) {
        ServerError e = errors::out_of_range("value", {"float.c", 89, "float_overflow_error"});
        e.message = "value out of range: overflow";
        return std::unexpected(e);
    }
    return Value::of_float(type, v);
}

// compare: -1, 0, 1 for two non-null values of comparable types
int compare_values(const Value& a, const Value& b) {
    if (numeric_type(a.type) && numeric_type(b.type)) {
        bool floats = a.type == oid::kFloat4 || a.type == oid::kFloat8 || b.type == oid::kFloat4 ||
                      b.type == oid::kFloat8;
        if (floats) {
            double x = a.as_double().value_or(0);
            double y = b.as_double().value_or(0);
            if (std::isnan(x) || std::isnan(y)) {
                return std::isnan(x) == std::isnan(y) ? 0 : (std::isnan(x) ? 1 : -1);
            }
            return x < y ? -1 : x > y ? 1 : 0;
        }
        if (a.type == oid::kNumeric || b.type == oid::kNumeric) {
            return a.as_decimal().value_or(Decimal{}).compare(b.as_decimal().value_or(Decimal{}));
        }
        auto x = a.as_int().value_or(0);
        auto y = b.as_int().value_or(0);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.type == oid::kOid || b.type == oid::kOid) {
        auto x = a.as_int().value_or(0);
        auto y = b.as_int().value_or(0);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    int c = a.text.compare(b.text);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

bool like_match(std::string_view s, std::string_view p, bool fold) {
    auto eq = [&](char x, char y) {
        if (fold) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
        }
        return x == y;
    };
    // iterative wildcard match with backtracking on '%'
    std::size_t si = 0;
    std::size_t pi = 0;
    std::size_t star = std::string_view::npos;
    std::size_t mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '\\' && pi + 1 < p.size() && eq(p[pi + 1], s[si])) {
            pi += 2;
            ++si;
        } else if (pi < p.size() &&
                   (p[pi] == '_' || (p[pi] != '%' && p[pi] != '\\' && eq(p[pi], s[si])))) {
            ++pi;
            ++si;
        } else if (pi < p.size() && p[pi] == '%') {
            star = pi++;
            mark = si;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '%') {
        ++pi;
    }
    return pi == p.size();
}

std::expected<Value, EvalFailure> to_type(Value v, const Expr& e, EvalContext& c) {
    if (v.type == e.type || e.type == 0 || e.type == oid::kUnknown) {
        return v;
    }
    if (v.null) {
        return Value::null_of(e.type);
    }
    auto r = cast_value(v, e.type, -1, position_of(c.query, e.offset), c.output);
    if (!r) {
        return std::unexpected(fail(r.error()));
    }
    return *r;
}

} // namespace

// ---------------------------------------------------------------------------------------------

Analysis analyze(Expr& e, AnalysisContext& c) {
    switch (e.kind) {
    case ExprKind::Integer:
        e.type = integer_literal_type(e.text);
        return {};
    case ExprKind::Numeric:
        e.type = oid::kNumeric;
        return {};
    case ExprKind::String:
    case ExprKind::Null:
        e.type = oid::kUnknown;
        return {};
    case ExprKind::Bool:
        e.type = oid::kBool;
        return {};
    case ExprKind::Parameter: {
        if (c.parameter_types == nullptr) {
            return std::unexpected(errors::no_parameter(e.parameter, pos(c, e.offset)));
        }
        if (c.parameter_types->size() < e.parameter) {
            c.parameter_types->resize(e.parameter, 0);
        }
        auto t = (*c.parameter_types)[e.parameter - 1];
        e.type = t == 0 ? oid::kUnknown : t;
        return {};
    }
    case ExprKind::Column:
        return analyze_column(e, c);
    case ExprKind::Function:
        return analyze_function(e, c);
    case ExprKind::SqlFunction: {
        const auto& k = e.text;
        if (k == "current_date") {
            e.type = oid::kDate;
        } else if (k == "current_time") {
            e.type = oid::kTimetz;
        } else if (k == "current_timestamp") {
            e.type = oid::kTimestamptz;
        } else if (k == "localtime") {
            e.type = oid::kTime;
        } else if (k == "localtimestamp") {
            e.type = oid::kTimestamp;
        } else if (k == "system_user") {
            e.type = oid::kText;
        } else {
            e.type = oid::kName;
        }
        return {};
    }
    case ExprKind::Cast: {
        if (auto r = analyze_children(e, c); !r) {
            return r;
        }
        const auto* t = type_by_name(e.type_name);
        if (t == nullptr) {
            std::string shown = e.type_name;
            if (shown.ends_with("[]")) {
                shown.resize(shown.size() - 2);
                if (type_by_name(shown) != nullptr) {
                    return std::unexpected(
                        errors::feature_not_supported("arrays are not supported by this server"));
                }
            }
            return std::unexpected(errors::type_missing(shown, pos(c, e.offset)));
        }
        Expr& arg = *e.args[0];
        resolve_as(arg, t->oid, c);
        if (arg.kind == ExprKind::Parameter) {
            arg.type = (*c.parameter_types)[arg.parameter - 1];
        }
        if (!castable(arg.type, t->oid)) {
            return std::unexpected(errors::cannot_cast(
                type_sql_name(arg.type), type_sql_name(t->oid), pos(c, e.operator_offset)));
        }
        e.type = t->oid;
        e.result_modifier = e.type_modifier;
        return {};
    }
    case ExprKind::Unary: {
        if (auto r = analyze_children(e, c); !r) {
            return r;
        }
        Expr& arg = *e.args[0];
        if (e.text == "not") {
            if (auto r = boolean_argument(arg, "NOT", c); !r) {
                return r;
            }
            e.type = oid::kBool;
            return {};
        }
        if (arg.type == oid::kUnknown) {
            resolve_as(arg, oid::kNumeric, c);
            if (arg.kind == ExprKind::Parameter) {
                arg.type = oid::kNumeric;
            }
        }
        if (!numeric_type(arg.type)) {
            return std::unexpected(
                errors::operator_missing(e.text + " " + type_sql_name(arg.type), pos(c, e.offset)));
        }
        e.type = arg.type;
        return {};
    }
    case ExprKind::Binary:
        return analyze_binary(e, c);
    case ExprKind::IsNull:
    case ExprKind::IsBool:
        if (auto r = analyze_children(e, c); !r) {
            return r;
        }
        if (e.kind == ExprKind::IsBool) {
            if (auto r = boolean_argument(*e.args[0], "IS TRUE", c); !r) {
                return r;
            }
        } else {
            resolve_as(*e.args[0], oid::kText, c);
        }
        e.type = oid::kBool;
        return {};
    case ExprKind::Between:
    case ExprKind::InList: {
        if (auto r = analyze_children(e, c); !r) {
            return r;
        }
        std::vector<std::uint32_t> types;
        for (const auto& a : e.args) {
            types.push_back(a->type);
        }
        auto common = common_type(types);
        for (auto& a : e.args) {
            resolve_as(*a, common, c);
            if (a->kind == ExprKind::Parameter) {
                a->type = common;
            }
        }
        e.type = oid::kBool;
        return {};
    }
    case ExprKind::Case: {
        if (auto r = analyze_children(e, c); !r) {
            return r;
        }
        std::size_t first = e.case_operand ? 1 : 0;
        std::vector<std::uint32_t> results;
        std::size_t pairs_end = e.args.size() - (e.has_else ? 1 : 0);
        for (std::size_t i = first; i + 1 < pairs_end + 1 && i < pairs_end; i += 2) {
            if (!e.case_operand) {
                if (auto r = boolean_argument(*e.args[i], "CASE/WHEN", c); !r) {
                    return r;
                }
            } else {
                unify_operands(*e.args[0], *e.args[i], c);
            }
            results.push_back(e.args[i + 1]->type);
        }
        if (e.has_else) {
            results.push_back(e.args.back()->type);
        }
        e.type = common_type(results);
        for (std::size_t i = first + 1; i < pairs_end; i += 2) {
            resolve_as(*e.args[i], e.type, c);
        }
        if (e.has_else) {
            resolve_as(*e.args.back(), e.type, c);
        }
        return {};
    }
    case ExprKind::Coalesce: {
        if (auto r = analyze_children(e, c); !r) {
            return r;
        }
        std::vector<std::uint32_t> types;
        for (const auto& a : e.args) {
            types.push_back(a->type);
        }
        if (e.text == "nullif" && e.args.size() != 2) {
            return std::unexpected(
                errors::function_missing("nullif(" + type_list(types) + ")", pos(c, e.offset)));
        }
        e.type = e.text == "nullif"
                     ? (e.args[0]->type == oid::kUnknown ? oid::kText : e.args[0]->type)
                     : common_type(types);
        for (auto& a : e.args) {
            resolve_as(*a, e.type, c);
        }
        return {};
    }
    case ExprKind::Subquery: {
        auto& s = *e.select;
        if (s.targets.size() != 1 && !s.is_values) {
            ServerError err;
            err.sqlstate = "42601";
            err.message = "subquery must return only one column";
            err.position = pos(c, e.offset);
            err.location = {"parse_expr.c", 1889, "transformSubLink"};
            return std::unexpected(err);
        }
        if (!s.from_relations.empty() || !s.from_subqueries.empty()) {
            return std::unexpected(
                errors::feature_not_supported("subqueries over tables are not supported"));
        }
        if (s.is_values) {
            if (s.values.empty() || s.values[0].size() != 1) {
                ServerError err;
                err.sqlstate = "42601";
                err.message = "subquery must return only one column";
                err.position = pos(c, e.offset);
                err.location = {"parse_expr.c", 1889, "transformSubLink"};
                return std::unexpected(err);
            }
            for (auto& row : s.values) {
                for (auto& x : row) {
                    if (auto r = analyze(*x, c); !r) {
                        return r;
                    }
                }
            }
            e.type = s.values[0][0]->type == oid::kUnknown ? oid::kText : s.values[0][0]->type;
            return {};
        }
        if (s.targets[0].star) {
            return std::unexpected(errors::select_star_without_tables(pos(c, s.targets[0].offset)));
        }
        if (auto r = analyze(*s.targets[0].expr, c); !r) {
            return r;
        }
        if (s.where) {
            if (auto r = analyze(*s.where, c); !r) {
                return r;
            }
        }
        e.type = s.targets[0].expr->type == oid::kUnknown ? oid::kText : s.targets[0].expr->type;
        return {};
    }
    }
    return {};
}

std::expected<void, ServerError> finish_parameter_types(std::vector<std::uint32_t>& types,
                                                        const std::vector<bool>& referenced) {
    for (std::size_t i = 0; i < types.size(); ++i) {
        if (types[i] == 0) {
            if (i < referenced.size() && referenced[i]) {
                types[i] = oid::kText;
            } else {
                return std::unexpected(errors::parameter_type_unknown(i + 1));
            }
        }
    }
    return {};
}

Eval evaluate(const Expr& e, EvalContext& c) {
    switch (e.kind) {
    case ExprKind::Integer: {
        auto v = parse_text(e.type == oid::kNumeric ? oid::kNumeric : e.type, e.text);
        if (!v) {
            return std::unexpected(fail(v.error()));
        }
        return *v;
    }
    case ExprKind::Numeric: {
        auto d = Decimal::parse(e.text);
        return Value::of_numeric(d.value_or(Decimal{}));
    }
    case ExprKind::String: {
        auto v = Value::of_text(oid::kUnknown, e.text);
        return to_type(v, e, c);
    }
    case ExprKind::Bool:
        return Value::of_bool(e.text == "t");
    case ExprKind::Null:
        return Value::null_of(e.type == 0 ? oid::kUnknown : e.type);
    case ExprKind::Parameter: {
        if (c.parameters == nullptr || e.parameter > c.parameters->size()) {
            return std::unexpected(
                fail(errors::no_parameter(e.parameter, position_of(c.query, e.offset))));
        }
        return to_type((*c.parameters)[e.parameter - 1], e, c);
    }
    case ExprKind::Column:
        if (c.row != nullptr) {
            for (std::size_t i = 0; i < c.row->names.size() && i < c.row->values.size(); ++i) {
                if (c.row->names[i] == e.names.back()) {
                    return c.row->values[i];
                }
            }
        }
        return std::unexpected(
            fail(errors::column_missing(e.names.back(), position_of(c.query, e.offset))));
    case ExprKind::SqlFunction: {
        auto& s = *c.session;
        const auto& k = e.text;
        if (k == "current_user" || k == "user" || k == "current_role" || k == "session_user") {
            return Value::of_text(oid::kName, s.user);
        }
        if (k == "current_catalog") {
            return Value::of_text(oid::kName, s.database);
        }
        if (k == "system_user") {
            return s.system_user.empty() ? Value::null_of(oid::kText)
                                         : Value::of_text(oid::kText, s.system_user);
        }
        if (k == "current_schema") {
            const auto* f = find_function("current_schema", {});
            auto r = f->impl({}, s, c.output);
            if (!r) {
                return std::unexpected(fail(r.error()));
            }
            return *r;
        }
        const auto* now = find_function("now", {});
        auto ts = now->impl({}, s, c.output);
        if (!ts) {
            return std::unexpected(fail(ts.error()));
        }
        const std::string& t = ts->text; // "YYYY-MM-DD HH:MM:SS.ffffff+00"
        if (k == "current_date") {
            return Value::of_text(oid::kDate, t.substr(0, 10));
        }
        if (k == "current_time") {
            return Value::of_text(oid::kTimetz, t.substr(11));
        }
        if (k == "localtime") {
            return Value::of_text(oid::kTime, t.substr(11, t.size() - 14));
        }
        if (k == "localtimestamp") {
            return Value::of_text(oid::kTimestamp, t.substr(0, t.size() - 3));
        }
        return *ts;
    }
    case ExprKind::Function: {
        const std::string& fname = e.names.back();
        if (c.empty_group && is_aggregate(e)) {
            return fname == "count" ? Value::of_int(oid::kInt8, 0) : Value::null_of(e.type);
        }
        std::vector<Value> args;
        for (const auto& a : e.args) {
            auto v = evaluate(*a, c);
            if (!v) {
                return v;
            }
            args.push_back(std::move(*v));
        }
        if (fname == "count" || fname == "sum" || fname == "max" || fname == "min" ||
            fname == "avg") {
            if (fname == "count") {
                return Value::of_int(oid::kInt8, e.star || !args[0].null ? 1 : 0);
            }
            auto v = args[0];
            if (v.null) {
                return Value::null_of(e.type);
            }
            auto r = cast_value(v, e.type, -1, std::nullopt, c.output);
            if (!r) {
                return std::unexpected(fail(r.error()));
            }
            if (fname == "avg" && e.type == oid::kNumeric) {
                auto d = r->as_decimal().value_or(Decimal{});
                auto q = d.divide(Decimal::from_int(1));
                return Value::of_numeric(q.value_or(d));
            }
            return *r;
        }
        std::vector<std::uint32_t> types;
        for (const auto& a : e.args) {
            types.push_back(a->type);
        }
        const BuiltinFunction* f = find_function(fname, types);
        if (f == nullptr) {
            return std::unexpected(fail(errors::function_missing(
                fname + "(" + type_list(types) + ")", position_of(c.query, e.offset))));
        }
        for (std::size_t i = 0; i < args.size(); ++i) {
            std::uint32_t want = f->variadic ? kAnyType : f->arg_types[i];
            if (want != kAnyType && args[i].type != want) {
                auto r = cast_value(args[i], want, -1, position_of(c.query, e.args[i]->offset),
                                    c.output);
                if (!r) {
                    return std::unexpected(fail(r.error()));
                }
                args[i] = *r;
            } else if (args[i].type == oid::kUnknown && !args[i].null) {
                args[i].type = oid::kText;
            }
            if (f->strict && args[i].null) {
                return Value::null_of(e.type);
            }
        }
        auto r = f->impl(args, *c.session, c.output);
        if (!r) {
            return std::unexpected(EvalFailure{r.error(), f->volatility != Volatility::Immutable});
        }
        return to_type(*r, e, c);
    }
    case ExprKind::Cast: {
        auto v = evaluate(*e.args[0], c);
        if (!v) {
            return v;
        }
        const auto* t = type_by_name(e.type_name);
        std::uint32_t target = t != nullptr ? t->oid : e.type;
        auto r = cast_value(*v, target, e.type_modifier, position_of(c.query, e.args[0]->offset),
                            c.output);
        if (!r) {
            return std::unexpected(fail(r.error()));
        }
        return *r;
    }
    case ExprKind::Unary: {
        auto v = evaluate(*e.args[0], c);
        if (!v) {
            return v;
        }
        if (e.text == "not") {
            if (v->null) {
                return Value::null_of(oid::kBool);
            }
            return Value::of_bool(v->text != "t");
        }
        if (e.text == "+") {
            return to_type(*v, e, c);
        }
        auto arg = to_type(*v, e, c);
        if (!arg) {
            return arg;
        }
        if (arg->null) {
            return arg;
        }
        if (e.type == oid::kFloat4 || e.type == oid::kFloat8) {
            return Value::of_float(e.type, -arg->real);
        }
        if (e.type == oid::kNumeric) {
            return Value::of_numeric(arg->as_decimal().value_or(Decimal{}).negated());
        }
        auto r = arithmetic("-", Value::of_int(e.type, 0), *arg, e.type);
        if (!r) {
            return std::unexpected(fail(r.error()));
        }
        return *r;
    }
    case ExprKind::Binary: {
        const std::string& op = e.text;
        auto l = evaluate(*e.args[0], c);
        if (!l) {
            return l;
        }
        if (op == "and" || op == "or") {
            auto r = evaluate(*e.args[1], c);
            if (!r) {
                return r;
            }
            auto a = l->as_bool();
            auto b = r->as_bool();
            if (op == "and") {
                if ((a && !*a) || (b && !*b)) {
                    return Value::of_bool(false);
                }
                if (!a || !b) {
                    return Value::null_of(oid::kBool);
                }
                return Value::of_bool(true);
            }
            if ((a && *a) || (b && *b)) {
                return Value::of_bool(true);
            }
            if (!a || !b) {
                return Value::null_of(oid::kBool);
            }
            return Value::of_bool(false);
        }
        auto r = evaluate(*e.args[1], c);
        if (!r) {
            return r;
        }
        if (op == "||") {
            if (l->null || r->null) {
                return Value::null_of(oid::kText);
            }
            auto text_of = [&](const Value& v) {
                return v.type == oid::kBool ? std::string(v.text == "t" ? "true" : "false")
                                            : format_text(v, c.output);
            };
            return Value::of_text(oid::kText, text_of(*l) + text_of(*r));
        }
        if (op == "like" || op == "ilike" || op == "not like" || op == "not ilike") {
            if (l->null || r->null) {
                return Value::null_of(oid::kBool);
            }
            bool m = like_match(l->text, r->text, op.ends_with("ilike"));
            return Value::of_bool(op.starts_with("not") ? !m : m);
        }
        // bring both sides to the operand types the analysis chose
        auto lv = to_type(*l, *e.args[0], c);
        if (!lv) {
            return lv;
        }
        auto rv = to_type(*r, *e.args[1], c);
        if (!rv) {
            return rv;
        }
        if (op == "is distinct from" || op == "is not distinct from") {
            bool distinct = lv->null != rv->null || (!lv->null && compare_values(*lv, *rv) != 0);
            return Value::of_bool(op == "is distinct from" ? distinct : !distinct);
        }
        if (op == "=" || op == "<>" || op == "<" || op == ">" || op == "<=" || op == ">=") {
            if (lv->null || rv->null) {
                return Value::null_of(oid::kBool);
            }
            int cmp = compare_values(*lv, *rv);
            bool b = op == "="    ? cmp == 0
                     : op == "<>" ? cmp != 0
                     : op == "<"  ? cmp < 0
                     : op == ">"  ? cmp > 0
                     : op == "<=" ? cmp <= 0
                                  : cmp >= 0;
            return Value::of_bool(b);
        }
        auto result = arithmetic(op, *lv, *rv, e.type);
        if (!result) {
            return std::unexpected(fail(result.error()));
        }
        return *result;
    }
    case ExprKind::IsNull: {
        auto v = evaluate(*e.args[0], c);
        if (!v) {
            return v;
        }
        return Value::of_bool(e.negated ? !v->null : v->null);
    }
    case ExprKind::IsBool: {
        auto v = evaluate(*e.args[0], c);
        if (!v) {
            return v;
        }
        bool is = !v->null && v->text == e.text;
        return Value::of_bool(e.negated ? !is : is);
    }
    case ExprKind::Between: {
        std::vector<Value> vals;
        for (const auto& a : e.args) {
            auto v = evaluate(*a, c);
            if (!v) {
                return v;
            }
            auto t = to_type(*v, *a, c);
            if (!t) {
                return t;
            }
            vals.push_back(*t);
        }
        if (vals[0].null || vals[1].null || vals[2].null) {
            return Value::null_of(oid::kBool);
        }
        bool in = compare_values(vals[0], vals[1]) >= 0 && compare_values(vals[0], vals[2]) <= 0;
        return Value::of_bool(e.negated ? !in : in);
    }
    case ExprKind::InList: {
        auto v = evaluate(*e.args[0], c);
        if (!v) {
            return v;
        }
        auto needle = to_type(*v, *e.args[0], c);
        if (!needle) {
            return needle;
        }
        bool saw_null = needle->null;
        bool found = false;
        for (std::size_t i = 1; i < e.args.size(); ++i) {
            auto x = evaluate(*e.args[i], c);
            if (!x) {
                return x;
            }
            auto t = to_type(*x, *e.args[i], c);
            if (!t) {
                return t;
            }
            if (t->null) {
                saw_null = true;
            } else if (!needle->null && compare_values(*needle, *t) == 0) {
                found = true;
            }
        }
        if (found) {
            return Value::of_bool(!e.negated);
        }
        if (saw_null) {
            return Value::null_of(oid::kBool);
        }
        return Value::of_bool(e.negated);
    }
    case ExprKind::Case: {
        std::size_t first = e.case_operand ? 1 : 0;
        std::optional<Value> operand;
        if (e.case_operand) {
            auto v = evaluate(*e.args[0], c);
            if (!v) {
                return v;
            }
            operand = *v;
        }
        std::size_t pairs_end = e.args.size() - (e.has_else ? 1 : 0);
        for (std::size_t i = first; i + 1 < pairs_end + 1 && i < pairs_end; i += 2) {
            auto w = evaluate(*e.args[i], c);
            if (!w) {
                return w;
            }
            bool hit = false;
            if (operand) {
                auto wt = to_type(*w, *e.args[i], c);
                if (!wt) {
                    return wt;
                }
                hit = !operand->null && !wt->null && compare_values(*operand, *wt) == 0;
            } else {
                hit = w->as_bool().value_or(false);
            }
            if (hit) {
                auto v = evaluate(*e.args[i + 1], c);
                if (!v) {
                    return v;
                }
                return to_type(*v, e, c);
            }
        }
        if (e.has_else) {
            auto v = evaluate(*e.args.back(), c);
            if (!v) {
                return v;
            }
            return to_type(*v, e, c);
        }
        return Value::null_of(e.type);
    }
    case ExprKind::Coalesce: {
        std::vector<Value> vals;
        for (const auto& a : e.args) {
            auto v = evaluate(*a, c);
            if (!v) {
                return v;
            }
            auto t = to_type(*v, e, c);
            if (!t) {
                return t;
            }
            vals.push_back(*t);
            if (e.text == "coalesce" && !t->null) {
                return *t;
            }
        }
        if (e.text == "coalesce") {
            return Value::null_of(e.type);
        }
        if (e.text == "nullif") {
            if (!vals[0].null && !vals[1].null && compare_values(vals[0], vals[1]) == 0) {
                return Value::null_of(e.type);
            }
            return vals[0];
        }
        std::optional<Value> best;
        for (const auto& v : vals) {
            if (v.null) {
                continue;
            }
            if (!best || (e.text == "greatest" ? compare_values(v, *best) > 0
                                               : compare_values(v, *best) < 0)) {
                best = v;
            }
        }
        return best ? *best : Value::null_of(e.type);
    }
    case ExprKind::Subquery: {
        const auto& s = *e.select;
        if (s.is_values) {
            if (s.values.size() > 1) {
                ServerError err;
                err.sqlstate = "21000";
                err.message = "more than one row returned by a subquery used as an expression";
                err.location = {"nodeSubplan.c", 1193, "ExecSetParamPlan"};
                return std::unexpected(EvalFailure{err, true});
            }
            auto v = evaluate(*s.values[0][0], c);
            if (!v) {
                return v;
            }
            return to_type(*v, e, c);
        }
        if (s.where) {
            auto w = evaluate(*s.where, c);
            if (!w) {
                return w;
            }
            if (!w->as_bool().value_or(false)) {
                return Value::null_of(e.type);
            }
        }
        if (s.limit && *s.limit == 0) {
            return Value::null_of(e.type);
        }
        auto v = evaluate(*s.targets[0].expr, c);
        if (!v) {
            return v;
        }
        return to_type(*v, e, c);
    }
    }
    return Value::null_of(oid::kText);
}

namespace {

// FigureColnameInternal: the name and its strength (2: a column, function or keyword name;
// 1: a CASE or a cast's type name; 0: nothing, "?column?").
int figure_column_name(const Expr& e, std::string& name) {
    switch (e.kind) {
    case ExprKind::Column:
    case ExprKind::Function:
        name = e.names.back();
        return 2;
    case ExprKind::SqlFunction:
    case ExprKind::Coalesce:
        name = e.text;
        return 2;
    case ExprKind::Case:
        name = "case";
        return 1;
    case ExprKind::Cast: {
        int strength = figure_column_name(*e.args[0], name);
        if (strength <= 1) {
            const auto* t = type_by_name(e.type_name);
            name = t != nullptr ? std::string(t->name) : e.type_name;
            return 1;
        }
        return strength;
    }
    case ExprKind::Subquery:
        if (!e.select->is_values && !e.select->targets.empty() && e.select->targets[0].expr) {
            const auto& t = e.select->targets[0];
            if (t.alias) {
                name = *t.alias;
                return 2;
            }
            return figure_column_name(*t.expr, name);
        }
        return 0;
    case ExprKind::Integer:
    case ExprKind::Numeric:
    case ExprKind::String:
    case ExprKind::Bool:
    case ExprKind::Null:
    case ExprKind::Parameter:
    case ExprKind::Unary:
    case ExprKind::Binary:
    case ExprKind::IsNull:
    case ExprKind::IsBool:
    case ExprKind::Between:
    case ExprKind::InList:
        return 0;
    }
    return 0;
}

} // namespace

std::string column_name(const Expr& e) {
    std::string name;
    if (figure_column_name(e, name) == 0) {
        return "?column?";
    }
    return name;
}

bool is_aggregate(const Expr& e) {
    if (e.kind != ExprKind::Function || e.names.empty()) {
        return false;
    }
    if (e.names.size() > 1 && e.names[e.names.size() - 2] != "pg_catalog") {
        return false;
    }
    const auto& f = e.names.back();
    return f == "count" || f == "sum" || f == "max" || f == "min" || f == "avg";
}

bool contains_aggregate(const Expr& e) {
    if (is_aggregate(e)) {
        return true;
    }
    return std::any_of(e.args.begin(), e.args.end(),
                       [](const ExprPtr& a) { return a && contains_aggregate(*a); });
}

} // namespace standin::postgres
