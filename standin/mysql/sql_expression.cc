// Expressions: literals, variables, parameters, operators, CASE / IN / BETWEEN / LIKE /
// REGEXP / CAST / subqueries; functions are in sql_functions.cc.

#include <algorithm>
#include <cmath>
#include <exception>
#include <regex>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

namespace {

EvalResult sys_var(const Expr& e, Ctx& c) {
    auto name = lower(e.text);
    const auto* var = c.s.variables->find(name);
    if (var == nullptr) {
        return std::unexpected(errors::unknown_system_variable(e.text));
    }
    if ((e.scope == "session" || e.scope == "local") && var->global_only) {
        return std::unexpected(errors::global_variable(var->name));
    }
    std::optional<std::string> value = var->value;
    if (name == "last_insert_id" || name == "identity") {
        value = std::to_string(c.s.last_insert_id);
    }
    if (name == "ssl_cipher" && e.scope == "session") {
        value = c.s.tls_cipher;
    }
    if (name == "warning_count" || name == "error_count") {
        value = std::to_string(name == "warning_count" ? c.previous_warnings : c.previous_errors);
    }
    if (name == "in_transaction") {
        value = c.s.in_transaction ? "1" : "0";
    }
    if (!value) {
        Val v = string_val(c, "", false);
        v.kind = Val::Kind::Null;
        return v;
    }
    switch (var->kind) {
    case VarKind::Bool: {
        Val v = int_val(c, *value == "ON" ? "1" : "0", false, false, 1);
        v.meta.flags = static_cast<std::uint16_t>(column_flag::Binary | c.num_flag());
        return v;
    }
    case VarKind::UInt: {
        Val v = int_val(c, *value, false, true, 21);
        v.meta.type = ColumnType::LongLong;
        v.meta.flags =
            static_cast<std::uint16_t>(column_flag::Binary | column_flag::Unsigned | c.num_flag());
        return v;
    }
    case VarKind::String:
        return string_val(c, *value, false);
    }
    return string_val(c, *value, false);
}

EvalResult param_val(const Expr& e, Ctx& c) {
    if (c.describing || e.param >= c.params.size()) {
        if (!c.describing) {
            return std::unexpected(errors::wrong_arguments("mysqld_stmt_execute"));
        }
        Val v = string_val(c, "", false, 0);
        v.kind = Val::Kind::Null;
        return v;
    }
    const auto& p = c.params[e.param];
    if (!p.value || p.type == ColumnType::Null) {
        return null_val();
    }
    switch (p.type) {
    case ColumnType::Tiny:
    case ColumnType::Short:
    case ColumnType::Long:
    case ColumnType::Int24:
    case ColumnType::LongLong:
    case ColumnType::Year: {
        Val v = int_val(c, *p.value, true, p.is_unsigned, 21);
        v.meta.type = ColumnType::LongLong;
        return v;
    }
    case ColumnType::Float:
    case ColumnType::Double: {
        Val v = double_val(c, static_cast<double>(std::strtod(p.value->c_str(), nullptr)), 22);
        v.text = *p.value;
        return v;
    }
    case ColumnType::Decimal:
    case ColumnType::NewDecimal:
        return decimal_val(c, *p.value);
    case ColumnType::Date:
    case ColumnType::DateTime:
    case ColumnType::Timestamp:
    case ColumnType::NewDate:
    case ColumnType::Timestamp2:
    case ColumnType::DateTime2: {
        Val v = datetime_val(c, 0);
        v.text = *p.value;
        v.meta.column_length = static_cast<std::uint32_t>(p.value->size());
        if (p.type == ColumnType::Date || p.type == ColumnType::NewDate) {
            v.meta.type = ColumnType::Date;
        }
        return v;
    }
    case ColumnType::Time:
    case ColumnType::Time2: {
        Val v = datetime_val(c, 0);
        v.kind = Val::Kind::Time;
        v.text = *p.value;
        v.meta.type = ColumnType::Time;
        v.meta.column_length = static_cast<std::uint32_t>(p.value->size());
        return v;
    }
    case ColumnType::Null:
        return null_val();
    case ColumnType::VarChar:
    case ColumnType::Bit:
    case ColumnType::TypedArray:
    case ColumnType::Vector:
    case ColumnType::Json:
    case ColumnType::Enum:
    case ColumnType::Set:
    case ColumnType::TinyBlob:
    case ColumnType::MediumBlob:
    case ColumnType::LongBlob:
    case ColumnType::Blob:
    case ColumnType::VarString:
    case ColumnType::String:
    case ColumnType::Geometry:
        break;
    }
    return string_val(c, *p.value);
}

EvalResult binary_op(const Expr& e, Ctx& c) {
    auto a = eval(e.args[0], c);
    if (!a) {
        return a;
    }
    auto b = eval(e.args[1], c);
    if (!b) {
        return b;
    }
    const auto& op = e.text;
    if (op == "AND") {
        if ((!a->is_null() && !truthy(*a)) || (!b->is_null() && !truthy(*b))) {
            return bool_val(c, false);
        }
        if (a->is_null() || b->is_null()) {
            return bool_val(c, std::nullopt);
        }
        return bool_val(c, true);
    }
    if (op == "OR") {
        if (truthy(*a) || truthy(*b)) {
            return bool_val(c, true);
        }
        if (a->is_null() || b->is_null()) {
            return bool_val(c, std::nullopt);
        }
        return bool_val(c, false);
    }
    if (op == "IS" || op == "IS NOT") {
        return bool_val(c, a->is_null() == (op == "IS"));
    }
    if (op == "<=>") {
        if (a->is_null() || b->is_null()) {
            return bool_val(c, a->is_null() && b->is_null());
        }
    }
    if (a->is_null() || b->is_null()) {
        return null_val();
    }
    if (op == "=" || op == "<>" || op == "<" || op == ">" || op == "<=" || op == ">=" ||
        op == "<=>") {
        int cmp = compare_vals(*a, *b);
        bool r = (op == "=" || op == "<=>") ? cmp == 0
                 : op == "<>"               ? cmp != 0
                 : op == "<"                ? cmp < 0
                 : op == ">"                ? cmp > 0
                 : op == "<="               ? cmp <= 0
                                            : cmp >= 0;
        return bool_val(c, r);
    }
    bool ints = (a->kind == Val::Kind::Int || a->kind == Val::Kind::UInt) &&
                (b->kind == Val::Kind::Int || b->kind == Val::Kind::UInt);
    std::uint32_t len = std::max(a->meta.column_length, b->meta.column_length) + 1;
    if (op == "DIV" || op == "%") {
        auto y = as_number(*b);
        if (y == 0) {
            warn(c, 1365, "Division by 0");
            return null_val();
        }
        auto x = as_number(*a);
        if (op == "DIV") {
            return int_val(c, std::to_string(static_cast<long long>(x / y)));
        }
        if (ints) {
            return int_val(c,
                           std::to_string(static_cast<long long>(x) % static_cast<long long>(y)));
        }
        return double_val(c, static_cast<double>(std::fmod(x, y)), len);
    }
    if (ints && op != "/") {
        long long x = std::strtoll(a->text.c_str(), nullptr, 10);
        long long y = std::strtoll(b->text.c_str(), nullptr, 10);
        long long r = 0;
        bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &r)
                        : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                    : __builtin_mul_overflow(x, y, &r);
        if (overflow) {
            return std::unexpected(ServerError{1690, "22003",
                                               "BIGINT value is out of range in '(" + a->text +
                                                   " " + op + " " + b->text + ")'"});
        }
        auto v = int_val(c, std::to_string(r));
        v.meta.type = ColumnType::LongLong;
        v.meta.column_length = op == "*" ? a->meta.column_length + b->meta.column_length : len;
        return v;
    }
    bool dbl = a->kind == Val::Kind::Double || b->kind == Val::Kind::Double ||
               a->kind == Val::Kind::String || b->kind == Val::Kind::String;
    auto x = as_number(*a);
    auto y = as_number(*b);
    long double r = 0;
    if (op == "+") {
        r = x + y;
    } else if (op == "-") {
        r = x - y;
    } else if (op == "*") {
        r = x * y;
    } else {
        if (y == 0) {
            warn(c, 1365, "Division by 0");
            return typed_null(decimal_val(c, "0.0000"));
        }
        r = x / y;
    }
    if (dbl) {
        return double_val(c, static_cast<double>(r), len + 16);
    }
    std::size_t scale = 0;
    auto sa = scale_of(a->text);
    auto sb = scale_of(b->text);
    if (op == "*") {
        scale = sa + sb;
    } else if (op == "/") {
        scale = sa + 4; // div_precision_increment
    } else {
        scale = std::max(sa, sb);
    }
    return decimal_val(c, format_fixed(r, scale));
}

EvalResult column(const Expr& e, Ctx& c) {
    for (const Ctx* ctx = &c; ctx != nullptr; ctx = ctx->outer) {
        if (ctx->rel == nullptr) {
            continue;
        }
        std::optional<std::size_t> found;
        auto name = lower(e.text);
        auto q = lower(e.qualifier);
        for (std::size_t k = 0; k < ctx->rel->cols.size(); ++k) {
            const auto& col = ctx->rel->cols[k];
            if (lower(col.name) == name && (q.empty() || lower(col.qualifier) == q)) {
                if (found) {
                    return std::unexpected(ServerError{
                        1052, "23000",
                        "Column '" + e.text + "' in " + std::string(c.clause) + " is ambiguous"});
                }
                found = k;
            }
        }
        if (found) {
            if (ctx->row == nullptr) {
                return typed_null(cell(ctx->rel->defs[*found], std::nullopt));
            }
            return (*ctx->row)[*found];
        }
    }
    std::string shown = e.qualifier.empty() ? e.text : e.qualifier + "." + e.text;
    return std::unexpected(errors::unknown_column(c.s.flavour, shown, c.clause));
}

EvalResult cast(const Expr& e, Ctx& c) {
    auto a = eval(e.args[0], c);
    if (!a) {
        return a;
    }
    const auto& t = e.type;
    if (t == "SIGNED" || t == "UNSIGNED") {
        if (a->is_null()) {
            return null_val();
        }
        auto n = to_int(*a);
        Val v = int_val(c,
                        t == "UNSIGNED" && n < 0 ? std::to_string(static_cast<std::uint64_t>(n))
                                                 : std::to_string(n),
                        true, t == "UNSIGNED", 21);
        if (!c.my() && a->kind != Val::Kind::String) {
            v.meta.type = ColumnType::Long;
            v.meta.column_length = 1 + static_cast<std::uint32_t>(v.text.size());
        } else {
            v.meta.type = ColumnType::LongLong;
        }
        return v;
    }
    if (a->is_null()) {
        return typed_null(string_val(c, "", false));
    }
    if (t == "CHAR" || t == "NCHAR" || t == "VARCHAR" || t == "JSON") {
        auto s = a->text;
        if (!e.type_args.empty() && s.size() > e.type_args[0]) {
            s.resize(e.type_args[0]);
        }
        return string_val(c, s);
    }
    if (t == "BINARY") {
        Val v = string_val(c, a->text);
        v.meta.character_set = 63;
        v.meta.flags |= column_flag::Binary;
        return v;
    }
    if (t == "DATE" || t == "DATETIME") {
        auto d = parse_datetime(a->text);
        if (!d) {
            return typed_null(datetime_text(c, "", ColumnType::Date));
        }
        char buf[40];
        if (t == "DATE") {
            std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d->year, d->month, d->day);
            return datetime_text(c, buf, ColumnType::Date);
        }
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", d->year, d->month, d->day,
                      d->hour, d->minute, d->second);
        return datetime_text(c, buf, ColumnType::DateTime);
    }
    if (t == "TIME") {
        return datetime_text(c, a->text, ColumnType::Time);
    }
    if (t == "DECIMAL") {
        std::size_t scale =
            e.type_args.size() > 1 ? std::min<std::uint32_t>(e.type_args[1], 30) : 0;
        Val v = decimal_val(c, format_fixed(as_number(*a), scale));
        if (!e.type_args.empty()) {
            v.meta.column_length =
                std::min<std::uint32_t>(e.type_args[0], 65) + (scale > 0 ? 2 : 1);
        }
        return v;
    }
    // DOUBLE / FLOAT / REAL / YEAR
    return double_val(c, static_cast<double>(as_number(*a)), 22);
}

} // namespace

bool like(std::string_view text, std::string_view pattern, char escape) {
    std::size_t t = 0;
    std::size_t p = 0;
    std::size_t star_p = std::string_view::npos;
    std::size_t star_t = 0;
    auto lc = [](char ch) {
        return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
    };
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == escape && p + 1 < pattern.size() &&
            lc(pattern[p + 1]) == lc(text[t])) {
            p += 2;
            ++t;
        } else if (p < pattern.size() &&
                   (pattern[p] == '_' ||
                    (pattern[p] != '%' && pattern[p] != escape && lc(pattern[p]) == lc(text[t])))) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '%') {
            star_p = p++;
            star_t = t;
        } else if (star_p != std::string_view::npos) {
            p = star_p + 1;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '%') {
        ++p;
    }
    return p == pattern.size();
}

EvalResult eval(const Expr& e, Ctx& c) {
    switch (e.kind) {
    case Expr::Kind::Literal:
        switch (e.lit) {
        case Expr::LitKind::Null:
            return null_val();
        case Expr::LitKind::Int: {
            auto digits = e.text.starts_with("-") ? e.text.size() - 1 : e.text.size();
            if (digits > 19) {
                return decimal_val(c, e.text);
            }
            return int_val(c, e.text);
        }
        case Expr::LitKind::Bool:
            return int_val(c, e.text, true, false, 1);
        case Expr::LitKind::Decimal:
            return decimal_val(c, e.text);
        case Expr::LitKind::Double:
            return double_val(c, std::strtod(e.text.c_str(), nullptr),
                              static_cast<std::uint32_t>(e.text.size()));
        case Expr::LitKind::String:
            return string_val(c, e.text);
        case Expr::LitKind::Hex: {
            std::string out;
            std::string h = e.text.size() % 2 != 0 ? "0" + e.text : e.text;
            for (std::size_t k = 0; k + 1 < h.size(); k += 2) {
                out.push_back(static_cast<char>(std::strtol(h.substr(k, 2).c_str(), nullptr, 16)));
            }
            Val v = string_val(c, out);
            v.meta.character_set = 63;
            v.meta.flags |= column_flag::Binary;
            return v;
        }
        case Expr::LitKind::Date:
            return datetime_text(c, e.text,
                                 e.type == "DATE"   ? ColumnType::Date
                                 : e.type == "TIME" ? ColumnType::Time
                                                    : ColumnType::DateTime);
        }
        break;
    case Expr::Kind::SysVar:
        return sys_var(e, c);
    case Expr::Kind::UserVar: {
        auto it = c.s.user_variables.find(lower(e.text));
        if (it == c.s.user_variables.end() || it->second.kind == UserValue::Kind::Null) {
            Val v = null_val();
            v.meta.type = ColumnType::LongBlob;
            v.meta.character_set = 63;
            v.meta.column_length = 16777216;
            v.meta.flags = column_flag::Binary | column_flag::Blob;
            return v;
        }
        const auto& u = it->second;
        switch (u.kind) {
        case UserValue::Kind::Int:
        case UserValue::Kind::UInt: {
            Val v = int_val(c, u.text, false, u.kind == UserValue::Kind::UInt, 21);
            v.meta.type = ColumnType::LongLong;
            return v;
        }
        case UserValue::Kind::Decimal: {
            Val v = decimal_val(c, u.text);
            v.meta.column_length = 67;
            v.meta.decimals = 30;
            v.meta.flags = static_cast<std::uint16_t>(v.meta.flags & ~column_flag::NotNull);
            return v;
        }
        case UserValue::Kind::Double: {
            Val v = double_val(c, std::strtod(u.text.c_str(), nullptr), 23);
            v.text = u.text;
            v.meta.flags = static_cast<std::uint16_t>(v.meta.flags & ~column_flag::NotNull);
            return v;
        }
        case UserValue::Kind::Null:
        case UserValue::Kind::String: {
            Val v = string_val(c, u.text, false);
            v.meta.type = ColumnType::LongBlob;
            v.meta.column_length = 16777216 * c.conn().max_bytes / 4;
            v.meta.flags = column_flag::Blob;
            return v;
        }
        }
        return null_val();
    }
    case Expr::Kind::Param:
        return param_val(e, c);
    case Expr::Kind::Func:
        return func(e, c);
    case Expr::Kind::Unary: {
        auto a = eval(e.args[0], c);
        if (!a) {
            return a;
        }
        if (e.text == "BINARY") {
            a->meta.character_set = 63;
            return a;
        }
        if (e.text == "NOT") {
            if (a->is_null()) {
                return null_val();
            }
            return bool_val(c, !truthy(*a));
        }
        if (a->is_null()) {
            return null_val();
        }
        if (e.text == "~") {
            Val v =
                int_val(c, std::to_string(~static_cast<std::uint64_t>(to_int(*a))), true, true, 21);
            v.meta.type = ColumnType::LongLong;
            return v;
        }
        if (a->kind == Val::Kind::Int) {
            return int_val(c, a->text.starts_with("-") ? a->text.substr(1) : "-" + a->text);
        }
        if (a->kind == Val::Kind::Decimal) {
            return decimal_val(c, a->text.starts_with("-") ? a->text.substr(1) : "-" + a->text);
        }
        return double_val(c, -static_cast<double>(as_number(*a)), a->meta.column_length + 1);
    }
    case Expr::Kind::Binary:
        if (e.text == "|" || e.text == "&" || e.text == "^" || e.text == "<<" || e.text == ">>" ||
            e.text == "XOR") {
            auto a = eval(e.args[0], c);
            if (!a) {
                return a;
            }
            auto b = eval(e.args[1], c);
            if (!b) {
                return b;
            }
            if (a->is_null() || b->is_null()) {
                return null_val();
            }
            if (e.text == "XOR") {
                return bool_val(c, truthy(*a) != truthy(*b));
            }
            auto x = static_cast<std::uint64_t>(to_int(*a));
            auto y = static_cast<std::uint64_t>(to_int(*b));
            std::uint64_t r = e.text == "|"    ? (x | y)
                              : e.text == "&"  ? (x & y)
                              : e.text == "^"  ? (x ^ y)
                              : y >= 64        ? 0
                              : e.text == "<<" ? (x << y)
                                               : (x >> y);
            Val v = int_val(c, std::to_string(r), true, true, 21);
            v.meta.type = ColumnType::LongLong;
            return v;
        }
        if ((e.text == "+" || e.text == "-") && e.args[1].kind == Expr::Kind::Interval) {
            auto a = eval(e.args[0], c);
            if (!a) {
                return a;
            }
            auto amount = eval(e.args[1].args[0], c);
            if (!amount) {
                return amount;
            }
            return date_add(c, *a, *amount, e.args[1].text, e.text == "-" ? -1 : 1);
        }
        if (e.text == "+" && e.args[0].kind == Expr::Kind::Interval) { // INTERVAL 1 DAY + d
            auto a = eval(e.args[1], c);
            if (!a) {
                return a;
            }
            auto amount = eval(e.args[0].args[0], c);
            if (!amount) {
                return amount;
            }
            return date_add(c, *a, *amount, e.args[0].text, 1);
        }
        return binary_op(e, c);
    case Expr::Kind::Column:
        return column(e, c);
    case Expr::Kind::Case: {
        std::size_t k = 0;
        std::optional<Val> operand;
        if (e.has_operand) {
            auto v = eval(e.args[0], c);
            if (!v) {
                return v;
            }
            operand = *v;
            k = 1;
        }
        std::size_t end = e.args.size() - (e.has_else ? 1 : 0);
        std::optional<Val> shape; // the result's type: the first THEN's
        for (; k + 1 < end + 1 && k + 1 <= end - 1 + 1 && k < end; k += 2) {
            auto w = eval(e.args[k], c);
            if (!w) {
                return w;
            }
            bool hit =
                operand ? (!operand->is_null() && !w->is_null() && compare_vals(*operand, *w) == 0)
                        : truthy(*w);
            if (hit) {
                return eval(e.args[k + 1], c);
            }
            if (!shape) {
                auto t = eval(e.args[k + 1], c);
                if (t) {
                    shape = *t;
                }
            }
        }
        if (e.has_else) {
            return eval(e.args.back(), c);
        }
        return shape ? typed_null(*shape) : null_val();
    }
    case Expr::Kind::Cast:
        return cast(e, c);
    case Expr::Kind::In: {
        auto a = eval(e.args[0], c);
        if (!a) {
            return a;
        }
        std::vector<Val> candidates;
        if (e.sub) {
            SelectResult r;
            auto ok = subquery_rows(*e.sub, c, r);
            if (!ok) {
                return ok;
            }
            if (r.columns.size() != 1) {
                return std::unexpected(
                    ServerError{1241, "21000", "Operand should contain 1 column(s)"});
            }
            for (auto& row : r.rows) {
                candidates.push_back(std::move(row[0]));
            }
        } else {
            for (std::size_t k = 1; k < e.args.size(); ++k) {
                auto v = eval(e.args[k], c);
                if (!v) {
                    return v;
                }
                candidates.push_back(std::move(*v));
            }
        }
        if (a->is_null()) {
            return null_val();
        }
        bool saw_null = false;
        for (const auto& v : candidates) {
            if (v.is_null()) {
                saw_null = true;
            } else if (compare_vals(*a, v) == 0) {
                return bool_val(c, !e.negated);
            }
        }
        if (saw_null) {
            return null_val();
        }
        return bool_val(c, e.negated);
    }
    case Expr::Kind::Between: {
        auto a = eval(e.args[0], c);
        if (!a) {
            return a;
        }
        auto lo = eval(e.args[1], c);
        if (!lo) {
            return lo;
        }
        auto hi = eval(e.args[2], c);
        if (!hi) {
            return hi;
        }
        if (a->is_null() || lo->is_null() || hi->is_null()) {
            return null_val();
        }
        bool in = compare_vals(*a, *lo) >= 0 && compare_vals(*a, *hi) <= 0;
        return bool_val(c, in != e.negated);
    }
    case Expr::Kind::Like: {
        auto a = eval(e.args[0], c);
        if (!a) {
            return a;
        }
        auto p = eval(e.args[1], c);
        if (!p) {
            return p;
        }
        char escape = '\\';
        if (e.args.size() > 2) {
            auto esc = eval(e.args[2], c);
            if (!esc) {
                return esc;
            }
            if (esc->text.size() == 1) {
                escape = esc->text[0];
            }
        }
        if (a->is_null() || p->is_null()) {
            return null_val();
        }
        bool hit = false;
        if (e.text == "LIKE") {
            hit = like(a->text, p->text, escape);
        } else {
            if (p->text.size() > 256 || a->text.size() > 4096) {
                return std::unexpected(
                    ServerError{1139, "42000", "Got error 'pattern too large' from regexp"});
            }
            try {
                hit = std::regex_search(
                    a->text, std::regex(p->text, std::regex::icase | std::regex::extended));
            } catch (const std::exception&) {
                return std::unexpected(
                    ServerError{1139, "42000", "Got error 'invalid pattern' from regexp"});
            }
        }
        return bool_val(c, hit != e.negated);
    }
    case Expr::Kind::Exists: {
        SelectResult r;
        auto ok = subquery_rows(*e.sub, c, r);
        if (!ok) {
            return ok;
        }
        return bool_val(c, !r.rows.empty());
    }
    case Expr::Kind::Subquery: {
        SelectResult r;
        auto ok = subquery_rows(*e.sub, c, r);
        if (!ok) {
            return ok;
        }
        if (r.columns.size() != 1) {
            return std::unexpected(
                ServerError{1241, "21000", "Operand should contain 1 column(s)"});
        }
        if (r.rows.size() > 1) {
            return std::unexpected(ServerError{1242, "21000", "Subquery returns more than 1 row"});
        }
        if (r.rows.empty()) {
            return typed_null(cell(r.columns[0], std::nullopt));
        }
        return r.rows[0][0];
    }
    case Expr::Kind::IsBool: {
        auto a = eval(e.args[0], c);
        if (!a) {
            return a;
        }
        bool r = e.text == "UNKNOWN" ? a->is_null()
                 : e.text == "TRUE"  ? (!a->is_null() && truthy(*a))
                                     : (!a->is_null() && !truthy(*a));
        return bool_val(c, r != e.negated);
    }
    case Expr::Kind::Collate: {
        auto a = eval(e.args[0], c);
        if (!a) {
            return a;
        }
        const auto* coll = collation_by_name(e.text);
        if (coll == nullptr) {
            return std::unexpected(errors::unknown_collation(e.text));
        }
        a->meta.character_set = coll->id;
        return a;
    }
    case Expr::Kind::Interval:
        return std::unexpected(errors::syntax_error(c.s.flavour, "", 1));
    }
    return null_val();
}

} // namespace standin::mysql::execution
