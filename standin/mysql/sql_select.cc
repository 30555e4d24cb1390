// SELECT: FROM (tables, derived tables, joins), WHERE, GROUP BY, HAVING, ORDER BY, UNION,
// LIMIT.

#include <algorithm>
#include <map>
#include <set>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

namespace {

// resolve_table: the rows of a table reference, or the error the lab user gets for it.
std::expected<Relation, ServerError> resolve_table(const TableRef& ref, Ctx& c) {
    Relation rel;
    if (ref.derived) {
        SelectResult r;
        auto ok = subquery_rows(*ref.derived, c, r);
        if (!ok) {
            return std::unexpected(ok.error());
        }
        for (auto& d : r.columns) {
            rel.cols.push_back({ref.alias, d.name});
            d.table = ref.alias;
            d.org_table.clear();
            d.schema.clear();
            rel.defs.push_back(d);
        }
        rel.rows = std::move(r.rows);
        return rel;
    }
    auto db = table_db(ref.table, c.s);
    if (db.empty()) {
        return std::unexpected(errors::no_database_selected());
    }
    auto alias = ref.alias.empty() ? ref.table.name : ref.alias;
    auto ldb = lower(db);
    if (ldb == "information_schema" || ldb == "performance_schema") {
        const auto* t = find_table(c.s.flavour, ldb, ref.table.name);
        if (t == nullptr) {
            if (ldb == "information_schema") {
                return std::unexpected(ServerError{
                    1109, "42S02", "Unknown table '" + ref.table.name + "' in information_schema"});
            }
            if (c.my()) {
                return std::unexpected(errors::no_such_table(db, ref.table.name));
            }
        } else {
            for (const auto& col : t->columns) {
                auto d = catalog_column(c, col);
                d.schema = std::string(t->schema);
                d.table = alias;
                d.org_table = std::string(t->name);
                rel.cols.push_back({alias, std::string(col.name)});
                rel.defs.push_back(std::move(d));
            }
            for (const auto& row : rows_of(*t, c.s)) {
                std::vector<Val> vals;
                for (std::size_t k = 0; k < rel.defs.size(); ++k) {
                    vals.push_back(cell(rel.defs[k], k < row.size() ? row[k] : std::nullopt));
                }
                rel.rows.push_back(std::move(vals));
            }
            return rel;
        }
    }
    if (db == c.s.known_database) {
        return std::unexpected(errors::no_such_table(db, ref.table.name));
    }
    return std::unexpected(errors::table_access_denied(c.s.flavour, "SELECT", c.s.user,
                                                       c.s.client_host, db, ref.table.name));
}

std::expected<Relation, ServerError> from_clause(const SelectCore& core, Ctx& c) {
    Relation rel;
    if (core.from.empty()) {
        rel.rows.emplace_back();
        return rel;
    }
    // every table first: the server reports the first missing one before any column
    std::vector<Relation> parts;
    for (const auto& ref : core.from) {
        auto r = resolve_table(ref, c);
        if (!r) {
            return std::unexpected(r.error());
        }
        parts.push_back(std::move(*r));
    }
    rel = std::move(parts[0]);
    for (std::size_t k = 1; k < parts.size(); ++k) {
        const auto& ref = core.from[k];
        auto& right = parts[k];
        if (rel.rows.size() * std::max<std::size_t>(right.rows.size(), 1) > kMaxRows) {
            return std::unexpected(ServerError{
                1104, "42000",
                "The SELECT would examine more than MAX_JOIN_SIZE rows; check your WHERE and use "
                "SET SQL_BIG_SELECTS=1 or SET MAX_JOIN_SIZE=# if the SELECT is okay"});
        }
        Relation joined;
        joined.cols = rel.cols;
        joined.defs = rel.defs;
        joined.cols.insert(joined.cols.end(), right.cols.begin(), right.cols.end());
        joined.defs.insert(joined.defs.end(), right.defs.begin(), right.defs.end());
        std::vector<bool> right_matched(right.rows.size(), false);
        for (const auto& l : rel.rows) {
            bool matched = false;
            for (std::size_t ri = 0; ri < right.rows.size(); ++ri) {
                std::vector<Val> row = l;
                row.insert(row.end(), right.rows[ri].begin(), right.rows[ri].end());
                bool keep = true;
                Ctx on = c;
                on.rel = &joined;
                on.row = &row;
                on.clause = c.my() ? "on clause" : "ON";
                if (ref.on) {
                    auto v = eval(*ref.on, on);
                    if (!v) {
                        return std::unexpected(v.error());
                    }
                    keep = truthy(*v);
                }
                for (const auto& u : ref.using_columns) {
                    Expr le;
                    le.kind = Expr::Kind::Column;
                    le.text = u;
                    Ctx lc = c;
                    lc.rel = &rel;
                    lc.row = &l;
                    Ctx rc = c;
                    rc.rel = &right;
                    rc.row = &right.rows[ri];
                    auto lv = eval(le, lc);
                    auto rv = eval(le, rc);
                    if (!lv) {
                        return std::unexpected(lv.error());
                    }
                    if (!rv) {
                        return std::unexpected(rv.error());
                    }
                    keep = keep && compare_vals(*lv, *rv) == 0 && !lv->is_null();
                }
                if (keep) {
                    matched = true;
                    right_matched[ri] = true;
                    joined.rows.push_back(std::move(row));
                }
            }
            if (!matched && ref.join == TableRef::Join::Left) {
                std::vector<Val> row = l;
                for (const auto& d : right.defs) {
                    row.push_back(typed_null(cell(d, std::nullopt)));
                }
                joined.rows.push_back(std::move(row));
            }
        }
        if (ref.join == TableRef::Join::Right) {
            for (std::size_t ri = 0; ri < right.rows.size(); ++ri) {
                if (right_matched[ri]) {
                    continue;
                }
                std::vector<Val> row;
                for (const auto& d : rel.defs) {
                    row.push_back(typed_null(cell(d, std::nullopt)));
                }
                row.insert(row.end(), right.rows[ri].begin(), right.rows[ri].end());
                joined.rows.push_back(std::move(row));
            }
        }
        rel = std::move(joined);
    }
    return rel;
}

std::string row_key(const std::vector<Val>& row) {
    std::string key;
    for (const auto& v : row) {
        key += v.is_null() ? std::string("\x01N") : "\x02" + lower(v.text);
        key.push_back('\0');
    }
    return key;
}

struct Projected {
    std::vector<Val> values;
    std::vector<Val> sort_keys;
};

std::expected<SelectResult, ServerError> run_core(const SelectCore& core,
                                                  const std::vector<OrderItem>* order, Ctx& c) {
    auto from = from_clause(core, c);
    if (!from) {
        return std::unexpected(from.error());
    }
    const Relation& rel = *from;
    Ctx rc = c;
    rc.rel = &rel;
    // WHERE
    std::vector<const std::vector<Val>*> kept;
    for (const auto& row : rel.rows) {
        if (core.where) {
            rc.row = &row;
            rc.clause = c.my() ? "where clause" : "WHERE";
            auto v = eval(*core.where, rc);
            if (!v) {
                return std::unexpected(v.error());
            }
            if (!truthy(*v)) {
                continue;
            }
        }
        kept.push_back(&row);
    }
    if (core.where && kept.empty() && rel.rows.empty()) {
        // still check the WHERE's columns exist
        rc.row = nullptr;
        rc.clause = c.my() ? "where clause" : "WHERE";
        auto v = eval(*core.where, rc);
        if (!v && v.error().code == 1054) {
            return std::unexpected(v.error());
        }
    }
    // the items, * expanded
    struct Item {
        const Expr* expr = nullptr;
        std::size_t column = 0; // for * items
        std::string name;
    };
    std::vector<Item> items;
    bool aggregate = !core.group_by.empty() || (core.having && has_aggregate(*core.having));
    for (const auto& it : core.items) {
        if (it.star) {
            if (core.from.empty()) {
                return std::unexpected(ServerError{1096, "HY000", "No tables used"});
            }
            bool any = false;
            for (std::size_t k = 0; k < rel.cols.size(); ++k) {
                if (it.star_qualifier.empty() ||
                    lower(rel.cols[k].qualifier) == lower(it.star_qualifier)) {
                    items.push_back({nullptr, k, rel.cols[k].name});
                    any = true;
                }
            }
            if (!any) {
                return std::unexpected(
                    ServerError{1051, "42S02", "Unknown table '" + it.star_qualifier + "'"});
            }
            continue;
        }
        aggregate = aggregate || has_aggregate(it.expr);
        items.push_back({&it.expr, 0, it.name});
    }
    if (order != nullptr) {
        for (const auto& o : *order) {
            aggregate = aggregate || has_aggregate(o.expr);
        }
    }
    // groups
    std::vector<std::vector<const std::vector<Val>*>> groups;
    if (aggregate) {
        if (core.group_by.empty()) {
            groups.push_back(kept);
        } else {
            std::map<std::string, std::size_t> index;
            for (const auto* row : kept) {
                rc.row = row;
                rc.clause = c.my() ? "group statement" : "GROUP BY";
                std::vector<Val> key;
                for (const auto& g : core.group_by) {
                    if (g.kind == Expr::Kind::Literal && g.lit == Expr::LitKind::Int) {
                        continue; // GROUP BY position
                    }
                    auto v = eval(g, rc);
                    if (!v) {
                        return std::unexpected(v.error());
                    }
                    key.push_back(std::move(*v));
                }
                auto k = row_key(key);
                auto [it, fresh] = index.emplace(k, groups.size());
                if (fresh) {
                    groups.emplace_back();
                }
                groups[it->second].push_back(row);
            }
        }
    }
    SelectResult out;
    std::vector<Projected> projected;
    bool columns_known = false;
    auto project =
        [&](const std::vector<Val>* row,
            const std::vector<const std::vector<Val>*>* group) -> std::optional<ServerError> {
        Ctx pc = rc;
        pc.row = row;
        pc.group = group;
        pc.clause = c.my() ? "field list" : "SELECT";
        Projected p;
        for (const auto& it : items) {
            Val v;
            if (it.expr == nullptr) {
                v = row == nullptr ? typed_null(cell(rel.defs[it.column], std::nullopt))
                                   : (*row)[it.column];
            } else {
                auto r = eval(*it.expr, pc);
                if (!r) {
                    return r.error();
                }
                v = std::move(*r);
                if (it.expr->kind != Expr::Kind::Column) {
                    v.meta.schema.clear();
                    v.meta.table.clear();
                    v.meta.org_table.clear();
                    v.meta.org_name.clear();
                }
            }
            p.values.push_back(std::move(v));
        }
        if (core.having) {
            Ctx hc = pc;
            hc.clause = c.my() ? "having clause" : "HAVING";
            Relation alias_rel;
            for (std::size_t k = 0; k < items.size(); ++k) {
                alias_rel.cols.push_back({"", items[k].name});
                alias_rel.defs.push_back(p.values[k].meta);
            }
            Ctx ac = hc;
            ac.rel = &alias_rel;
            ac.row = &p.values;
            ac.outer = &hc;
            auto h = eval(*core.having, ac);
            if (!h) {
                return h.error();
            }
            if (!truthy(*h)) {
                if (!columns_known) {
                    for (std::size_t k = 0; k < items.size(); ++k) {
                        auto d = p.values[k].meta;
                        d.name = items[k].name;
                        out.columns.push_back(d);
                    }
                    columns_known = true;
                }
                return std::nullopt;
            }
        }
        if (order != nullptr) {
            for (const auto& o : *order) {
                Val key;
                bool done = false;
                if (o.expr.kind == Expr::Kind::Literal && o.expr.lit == Expr::LitKind::Int) {
                    auto pos = std::strtoll(o.expr.text.c_str(), nullptr, 10);
                    if (pos < 1 || pos > static_cast<long long>(items.size())) {
                        return ServerError{1054, "42S22",
                                           "Unknown column '" + o.expr.text + "' in '" +
                                               std::string(c.my() ? "order clause" : "ORDER BY") +
                                               "'"};
                    }
                    key = p.values[static_cast<std::size_t>(pos - 1)];
                    done = true;
                } else if (o.expr.kind == Expr::Kind::Column && o.expr.qualifier.empty()) {
                    for (std::size_t k = 0; k < items.size(); ++k) {
                        if (lower(items[k].name) == lower(o.expr.text)) {
                            key = p.values[k];
                            done = true;
                            break;
                        }
                    }
                }
                if (!done) {
                    Ctx oc = pc;
                    oc.clause = c.my() ? "order clause" : "ORDER BY";
                    auto r = eval(o.expr, oc);
                    if (!r) {
                        return r.error();
                    }
                    key = std::move(*r);
                }
                p.sort_keys.push_back(std::move(key));
            }
        }
        if (!columns_known) {
            for (std::size_t k = 0; k < items.size(); ++k) {
                auto d = p.values[k].meta;
                d.name = items[k].name;
                out.columns.push_back(d);
            }
            columns_known = true;
        }
        projected.push_back(std::move(p));
        return std::nullopt;
    };
    if (aggregate) {
        for (const auto& g : groups) {
            if (auto err = project(g.empty() ? nullptr : g.front(), &g)) {
                return std::unexpected(*err);
            }
        }
    } else {
        for (const auto* row : kept) {
            if (auto err = project(row, nullptr)) {
                return std::unexpected(*err);
            }
        }
    }
    if (!columns_known) {
        // no rows: the columns still have their names and types (evaluate over NULLs)
        Ctx dc = rc;
        dc.describing = true;
        std::vector<Val> nulls;
        for (const auto& d : rel.defs) {
            nulls.push_back(typed_null(cell(d, std::nullopt)));
        }
        std::vector<const std::vector<Val>*> empty_group;
        dc.row = &nulls;
        dc.group = &empty_group;
        for (const auto& it : items) {
            ColumnDefinition d;
            if (it.expr == nullptr) {
                d = rel.defs[it.column];
            } else {
                dc.clause = c.my() ? "field list" : "SELECT";
                auto r = eval(*it.expr, dc);
                if (!r) {
                    return std::unexpected(r.error());
                }
                d = r->meta;
                if (it.expr->kind != Expr::Kind::Column) {
                    d.schema.clear();
                    d.table.clear();
                    d.org_table.clear();
                    d.org_name.clear();
                }
            }
            d.name = it.name;
            out.columns.push_back(d);
        }
    }
    if (core.distinct) {
        std::set<std::string> seen;
        std::vector<Projected> unique;
        for (auto& p : projected) {
            if (seen.insert(row_key(p.values)).second) {
                unique.push_back(std::move(p));
            }
        }
        projected = std::move(unique);
    }
    if (order != nullptr && !order->empty()) {
        std::stable_sort(projected.begin(), projected.end(),
                         [&](const Projected& a, const Projected& b) {
                             for (std::size_t k = 0; k < order->size(); ++k) {
                                 int cmp = compare_vals(a.sort_keys[k], b.sort_keys[k]);
                                 if (cmp != 0) {
                                     return (*order)[k].descending ? cmp > 0 : cmp < 0;
                                 }
                             }
                             return false;
                         });
    }
    for (auto& p : projected) {
        out.rows.push_back(std::move(p.values));
    }
    // the result's column flags: a nullable column if any row is NULL
    return out;
}

bool calc_found_rows(const Select& s) {
    return !s.parts.empty() && s.parts[0].core && s.parts[0].core->calc_found_rows;
}

} // namespace

EvalResult subquery_rows(const Select& s, Ctx& c, SelectResult& out) {
    if (c.depth > 32) {
        return std::unexpected(ServerError{1436, "HY000", "Thread stack overrun"});
    }
    Ctx inner{c.s, c.params, c.describing};
    inner.outer = &c;
    inner.depth = c.depth + 1;
    inner.previous_warnings = c.previous_warnings;
    inner.previous_errors = c.previous_errors;
    auto r = run_select(s, inner);
    if (!r) {
        return std::unexpected(r.error());
    }
    out = std::move(*r);
    return null_val();
}

std::string table_db(const TableName& t, const SessionState& s) {
    return t.db.empty() ? s.database : t.db;
}

std::expected<SelectResult, ServerError> run_select(const Select& s, Ctx& c) {
    SelectResult out;
    bool single = s.parts.size() == 1 && s.parts[0].core;
    if (single) {
        auto r = run_core(*s.parts[0].core, &s.order, c);
        if (!r) {
            return r;
        }
        out = std::move(*r);
    } else {
        std::set<std::string> seen;
        for (std::size_t k = 0; k < s.parts.size(); ++k) {
            const auto& part = s.parts[k];
            std::expected<SelectResult, ServerError> r =
                part.core ? run_core(*part.core, nullptr, c) : run_select(*part.nested, c);
            if (!r) {
                return r;
            }
            if (k == 0) {
                out.columns = r->columns;
            } else if (r->columns.size() != out.columns.size()) {
                return std::unexpected(
                    ServerError{1222, "21000",
                                "The used SELECT statements have a different number of columns"});
            }
            if (k > 0 && !part.union_all) {
                // UNION DISTINCT removes duplicates among everything so far
                std::vector<std::vector<Val>> merged;
                seen.clear();
                for (auto& row : out.rows) {
                    if (seen.insert(row_key(row)).second) {
                        merged.push_back(std::move(row));
                    }
                }
                for (auto& row : r->rows) {
                    if (seen.insert(row_key(row)).second) {
                        merged.push_back(std::move(row));
                    }
                }
                out.rows = std::move(merged);
            } else {
                for (auto& row : r->rows) {
                    out.rows.push_back(std::move(row));
                }
            }
        }
        if (!s.order.empty()) {
            std::vector<std::size_t> keys;
            for (const auto& o : s.order) {
                std::optional<std::size_t> idx;
                if (o.expr.kind == Expr::Kind::Literal && o.expr.lit == Expr::LitKind::Int) {
                    auto pos = std::strtoll(o.expr.text.c_str(), nullptr, 10);
                    if (pos >= 1 && pos <= static_cast<long long>(out.columns.size())) {
                        idx = static_cast<std::size_t>(pos - 1);
                    }
                } else if (o.expr.kind == Expr::Kind::Column) {
                    for (std::size_t k = 0; k < out.columns.size(); ++k) {
                        if (lower(out.columns[k].name) == lower(o.expr.text)) {
                            idx = k;
                            break;
                        }
                    }
                }
                if (!idx) {
                    return std::unexpected(errors::unknown_column(
                        c.s.flavour, o.expr.text, c.my() ? "order clause" : "ORDER BY"));
                }
                keys.push_back(*idx);
            }
            std::stable_sort(out.rows.begin(), out.rows.end(), [&](const auto& a, const auto& b) {
                for (std::size_t k = 0; k < keys.size(); ++k) {
                    int cmp = compare_vals(a[keys[k]], b[keys[k]]);
                    if (cmp != 0) {
                        return s.order[k].descending ? cmp > 0 : cmp < 0;
                    }
                }
                return false;
            });
        }
    }
    out.before_limit = out.rows.size();
    if (s.offset > 0 || s.limit) {
        auto begin = std::min<std::uint64_t>(s.offset, out.rows.size());
        auto end = s.limit ? std::min<std::uint64_t>(
                                 begin + std::min<std::uint64_t>(*s.limit, out.rows.size()),
                                 out.rows.size())
                           : out.rows.size();
        out.rows = std::vector<std::vector<Val>>(out.rows.begin() + static_cast<long>(begin),
                                                 out.rows.begin() + static_cast<long>(end));
    }
    // a column that holds a NULL is nullable
    for (std::size_t k = 0; k < out.columns.size(); ++k) {
        for (const auto& row : out.rows) {
            if (k < row.size() && row[k].is_null()) {
                out.columns[k].flags =
                    static_cast<std::uint16_t>(out.columns[k].flags & ~column_flag::NotNull);
            }
        }
    }
    return out;
}

ResultSet to_result_set(SelectResult&& r) {
    ResultSet rs;
    rs.columns = std::move(r.columns);
    for (auto& row : r.rows) {
        std::vector<::mysql::Value> out;
        for (auto& v : row) {
            out.push_back(v.is_null() ? ::mysql::Value{} : ::mysql::Value{std::move(v.text)});
        }
        rs.rows.push_back(std::move(out));
    }
    return rs;
}

StatementResult select(const SelectStmt& s, Ctx& c) {
    auto r = run_select(*s.select, c);
    if (!r) {
        return r.error();
    }
    c.s.found_rows =
        static_cast<std::int64_t>(calc_found_rows(*s.select) ? r->before_limit : r->rows.size());
    c.s.row_count = -1;
    return to_result_set(std::move(*r));
}

bool core_uses_tables(const Select& s) {
    for (const auto& p : s.parts) {
        if ((p.core && !p.core->from.empty()) || (p.nested && core_uses_tables(*p.nested))) {
            return true;
        }
    }
    return false;
}

} // namespace standin::mysql::execution
