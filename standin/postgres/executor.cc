#include <algorithm>
#include <functional>

#include <standin/postgres/builtins.h>
#include <standin/postgres/executor.h>

namespace standin::postgres {

namespace {

// Catalog relations the stand-in knows the columns of (the columns drivers and ORMs select).
struct CatalogColumn {
    std::string_view name;
    std::uint32_t type;
};
struct CatalogRelation {
    std::string_view schema;
    std::string_view name;
    std::vector<CatalogColumn> columns;
    // The rows, for the views about the session itself (one row: this backend's); the
    // catalogs of objects have none (the lab database is empty).
    std::vector<Value> (*session_row)(const SessionView& s, std::string_view query) = nullptr;
};

// pg_stat_ssl: "one row per backend or WAL sender process, showing statistics about SSL usage
// on this connection"; ssl false and the rest NULL in clear. No client certificates here.
std::vector<Value> stat_ssl_row(const SessionView& s, std::string_view /*query*/) {
    auto text_or_null = [&](const std::string& t) {
        return s.ssl ? Value::of_text(oid::kText, t) : Value::null_of(oid::kText);
    };
    return {Value::of_int(oid::kInt4, s.process_id),
            Value::of_bool(s.ssl),
            text_or_null(s.ssl_version),
            text_or_null(s.ssl_cipher),
            s.ssl ? Value::of_int(oid::kInt4, s.ssl_bits) : Value::null_of(oid::kInt4),
            Value::null_of(oid::kText),
            Value::null_of(oid::kNumeric),
            Value::null_of(oid::kText)};
}

// pg_stat_activity as this backend sees itself: running the query that reads it.
std::vector<Value> stat_activity_row(const SessionView& s, std::string_view query) {
    std::string application;
    if (s.settings != nullptr) {
        application = s.settings->value("application_name").value_or("");
    }
    return {Value::of_text(oid::kName, s.database), Value::of_int(oid::kInt4, s.process_id),
            Value::of_text(oid::kName, s.user),     Value::of_text(oid::kText, application),
            Value::of_text(oid::kText, "active"),   Value::of_text(oid::kText, std::string(query))};
}

const std::vector<CatalogRelation>& catalog_relations() {
    static const std::vector<CatalogRelation> kRelations = {
        {"pg_catalog", "pg_type", {{"oid", oid::kOid},
                                   {"typname", oid::kName},
                                   {"typnamespace", oid::kOid},
                                   {"typowner", oid::kOid},
                                   {"typlen", oid::kInt2},
                                   {"typbyval", oid::kBool},
                                   {"typtype", oid::kChar},
                                   {"typcategory", oid::kChar},
                                   {"typispreferred", oid::kBool},
                                   {"typisdefined", oid::kBool},
                                   {"typdelim", oid::kChar},
                                   {"typrelid", oid::kOid},
                                   {"typelem", oid::kOid},
                                   {"typarray", oid::kOid},
                                   {"typinput", oid::kRegproc},
                                   {"typoutput", oid::kRegproc},
                                   {"typreceive", oid::kRegproc},
                                   {"typsend", oid::kRegproc},
                                   {"typalign", oid::kChar},
                                   {"typstorage", oid::kChar},
                                   {"typnotnull", oid::kBool},
                                   {"typbasetype", oid::kOid},
                                   {"typtypmod", oid::kInt4},
                                   {"typndims", oid::kInt4},
                                   {"typcollation", oid::kOid},
                                   {"typdefault", oid::kText}}},
        {"pg_catalog",
         "pg_namespace",
         {{"oid", oid::kOid}, {"nspname", oid::kName}, {"nspowner", oid::kOid}}},
        {"pg_catalog",
         "pg_class",
         {{"oid", oid::kOid},
          {"relname", oid::kName},
          {"relnamespace", oid::kOid},
          {"reltype", oid::kOid},
          {"relowner", oid::kOid},
          {"relkind", oid::kChar},
          {"relnatts", oid::kInt2},
          {"relhasindex", oid::kBool},
          {"relpersistence", oid::kChar}}},
        {"pg_catalog",
         "pg_attribute",
         {{"attrelid", oid::kOid},
          {"attname", oid::kName},
          {"atttypid", oid::kOid},
          {"attlen", oid::kInt2},
          {"attnum", oid::kInt2},
          {"atttypmod", oid::kInt4},
          {"attnotnull", oid::kBool},
          {"atthasdef", oid::kBool},
          {"attisdropped", oid::kBool},
          {"attndims", oid::kInt4}}},
        {"pg_catalog",
         "pg_proc",
         {{"oid", oid::kOid},
          {"proname", oid::kName},
          {"pronamespace", oid::kOid},
          {"prorettype", oid::kOid},
          {"prokind", oid::kChar}}},
        {"pg_catalog",
         "pg_enum",
         {{"oid", oid::kOid},
          {"enumtypid", oid::kOid},
          {"enumsortorder", oid::kFloat4},
          {"enumlabel", oid::kName}}},
        {"pg_catalog",
         "pg_range",
         {{"rngtypid", oid::kOid}, {"rngsubtype", oid::kOid}, {"rngmultitypid", oid::kOid}}},
        {"pg_catalog",
         "pg_extension",
         {{"oid", oid::kOid}, {"extname", oid::kName}, {"extversion", oid::kText}}},
        {"pg_catalog",
         "pg_index",
         {{"indexrelid", oid::kOid},
          {"indrelid", oid::kOid},
          {"indisunique", oid::kBool},
          {"indisprimary", oid::kBool}}},
        {"pg_catalog",
         "pg_constraint",
         {{"oid", oid::kOid},
          {"conname", oid::kName},
          {"connamespace", oid::kOid},
          {"contype", oid::kChar},
          {"conrelid", oid::kOid}}},
        {"pg_catalog",
         "pg_description",
         {{"objoid", oid::kOid},
          {"classoid", oid::kOid},
          {"objsubid", oid::kInt4},
          {"description", oid::kText}}},
        {"pg_catalog",
         "pg_stat_activity",
         {{"datname", oid::kName},
          {"pid", oid::kInt4},
          {"usename", oid::kName},
          {"application_name", oid::kText},
          {"state", oid::kText},
          {"query", oid::kText}},
         stat_activity_row},
        {"pg_catalog",
         "pg_stat_ssl",
         {{"pid", oid::kInt4},
          {"ssl", oid::kBool},
          {"version", oid::kText},
          {"cipher", oid::kText},
          {"bits", oid::kInt4},
          {"client_dn", oid::kText},
          {"client_serial", oid::kNumeric},
          {"issuer_dn", oid::kText}},
         stat_ssl_row},
        {"information_schema",
         "tables",
         {{"table_catalog", oid::kName},
          {"table_schema", oid::kName},
          {"table_name", oid::kName},
          {"table_type", oid::kVarchar}}},
        {"information_schema",
         "columns",
         {{"table_catalog", oid::kName},
          {"table_schema", oid::kName},
          {"table_name", oid::kName},
          {"column_name", oid::kName},
          {"ordinal_position", oid::kInt4},
          {"data_type", oid::kVarchar},
          {"is_nullable", oid::kVarchar}}},
    };
    return kRelations;
}

const CatalogRelation* find_catalog_relation(const std::vector<std::string>& names) {
    std::string schema = names.size() >= 2 ? names[names.size() - 2] : "";
    const std::string& name = names.back();
    for (const auto& r : catalog_relations()) {
        if (r.name == name && (schema.empty() ? r.schema == "pg_catalog" : r.schema == schema)) {
            return &r;
        }
    }
    return nullptr;
}

bool volatile_tree(const Expr& e) {
    // A column's value comes from a row: never folded at plan time (the catalog relations the
    // stand-in knows have no rows, so a query over them answers its columns and no row).
    if (e.kind == ExprKind::SqlFunction || e.kind == ExprKind::Column) {
        return true;
    }
    if (e.kind == ExprKind::Function) {
        std::vector<std::uint32_t> types;
        for (const auto& a : e.args) {
            types.push_back(a->type);
        }
        const auto* f = find_function(e.names.back(), types);
        if (f != nullptr && f->volatility != Volatility::Immutable) {
            return true;
        }
    }
    if (e.kind == ExprKind::Subquery && e.select) {
        for (const auto& t : e.select->targets) {
            if (t.expr && volatile_tree(*t.expr)) {
                return true;
            }
        }
    }
    return std::any_of(e.args.begin(), e.args.end(),
                       [](const ExprPtr& a) { return volatile_tree(*a); });
}

std::int16_t type_size(std::uint32_t type) {
    const auto* t = type_by_oid(type);
    return t != nullptr ? t->length : -1;
}

ResultColumn text_column(std::string name) {
    return ResultColumn{std::move(name), oid::kText, -1, -1};
}

ServerError error_with(std::string_view sqlstate, std::string message, SourceLocation where) {
    ServerError e;
    e.sqlstate = std::string(sqlstate);
    e.message = std::move(message);
    e.location = where;
    return e;
}

StatementResult failed(ServerError e) {
    StatementResult r;
    r.error = std::move(e);
    return r;
}

StatementResult tagged(std::string tag) {
    StatementResult r;
    r.tag = std::move(tag);
    return r;
}

pg::Message notification(std::uint32_t pid, const std::string& channel,
                         const std::string& payload) {
    pg::Message m;
    m.type = 'A';
    for (int i = 3; i >= 0; --i) {
        m.body.push_back(static_cast<std::uint8_t>(pid >> (8 * i)));
    }
    m.body.insert(m.body.end(), channel.begin(), channel.end());
    m.body.push_back(0);
    m.body.insert(m.body.end(), payload.begin(), payload.end());
    m.body.push_back(0);
    return m;
}

} // namespace

void open_transaction(Session& s) {
    if (s.transaction_open) {
        return;
    }
    s.settings.begin_transaction();
    s.transaction_open = true;
    if (s.clock) {
        s.view.transaction_start_micros = s.clock();
        s.view.statement_start_micros = s.view.transaction_start_micros;
    }
    auto copy = [&](std::string_view from, std::string_view to) {
        auto v = s.settings.value(from);
        if (v) {
            (void)s.settings.set_text(to, *v, SettingScope::Local, true);
        }
    };
    copy("default_transaction_isolation", "transaction_isolation");
    copy("default_transaction_read_only", "transaction_read_only");
    copy("default_transaction_deferrable", "transaction_deferrable");
    ++s.next_transaction_id;
}

void commit_transaction(Session& s) {
    s.settings.commit_transaction();
    s.transaction_open = false;
    s.state = TransactionState::Idle;
    s.savepoints.clear();
}

void rollback_transaction(Session& s) {
    s.settings.rollback_transaction();
    s.transaction_open = false;
    s.state = TransactionState::Idle;
    s.savepoints.clear();
    s.pending_notifications.clear();
}

bool Executor::allowed_in_failed_transaction(const Statement& s) {
    const auto* t = std::get_if<TransactionStmt>(&s.body);
    if (t == nullptr) {
        return false;
    }
    switch (t->kind) {
    case TransactionStmt::Kind::Commit:
    case TransactionStmt::Kind::End:
    case TransactionStmt::Kind::Rollback:
    case TransactionStmt::Kind::Abort:
    case TransactionStmt::Kind::RollbackTo:
    case TransactionStmt::Kind::CommitPrepared:
    case TransactionStmt::Kind::RollbackPrepared:
        return true;
    case TransactionStmt::Kind::Begin:
    case TransactionStmt::Kind::StartTransaction:
    case TransactionStmt::Kind::Savepoint:
    case TransactionStmt::Kind::Release:
    case TransactionStmt::Kind::PrepareTransaction:
        return false;
    }
    return false;
}

EvalContext Executor::eval_context(const std::vector<Value>* parameters) {
    EvalContext c;
    c.session = &session_.view;
    c.parameters = parameters;
    c.query = query_;
    auto efd = session_.settings.value("extra_float_digits").value_or("1");
    c.output.extra_float_digits = std::atoi(efd.c_str());
    session_.view.settings = &session_.settings;
    session_.view.in_transaction_block = session_.in_transaction_block();
    session_.view.advisory_locks = &session_.advisory_locks;
    session_.view.transaction_id = &session_.next_transaction_id;
    return c;
}

std::expected<std::vector<ResultColumn>, ServerError>
Executor::analyze_select(SelectStmt& s, std::vector<std::uint32_t>* parameter_types) {
    AnalysisContext ctx;
    ctx.query = query_;
    ctx.parameter_types = parameter_types;
    for (const auto& r : s.from_relations) {
        const auto* rel = find_catalog_relation(r.names);
        if (rel == nullptr) {
            std::string full;
            for (std::size_t k = 0; k < r.names.size(); ++k) {
                full += (k ? "." : "") + r.names[k];
            }
            return std::unexpected(errors::relation_missing(full, pos(r.offset)));
        }
        RelationScope scope;
        scope.name = std::string(rel->name);
        scope.alias = r.alias.value_or(scope.name);
        for (const auto& c : rel->columns) {
            scope.columns.emplace_back(std::string(c.name), c.type);
        }
        ctx.relations.push_back(std::move(scope));
    }
    for (auto& sub : s.from_subqueries) {
        if (auto r = analyze_select(*sub, parameter_types); !r) {
            return std::unexpected(r.error());
        }
    }
    std::vector<ResultColumn> columns;
    if (s.is_values) {
        std::size_t width = s.values.empty() ? 0 : s.values[0].size();
        for (auto& row : s.values) {
            if (row.size() != width) {
                auto e = error_with("42601", "VALUES lists must all be the same length",
                                    {"parse_clause.c", 1300, "transformValuesClause"});
                e.position = pos(row.empty() ? 0 : row[0]->offset);
                return std::unexpected(e);
            }
            for (auto& x : row) {
                if (auto r = ::standin::postgres::analyze(*x, ctx); !r) {
                    return std::unexpected(r.error());
                }
            }
        }
        for (std::size_t i = 0; i < width; ++i) {
            std::uint32_t t = oid::kUnknown;
            for (auto& row : s.values) {
                if (row[i]->type != oid::kUnknown) {
                    t = row[i]->type;
                    break;
                }
            }
            if (t == oid::kUnknown) {
                t = oid::kText;
            }
            for (auto& row : s.values) {
                if (row[i]->type == oid::kUnknown) {
                    row[i]->type = t;
                }
            }
            columns.push_back({"column" + std::to_string(i + 1), t, -1, type_size(t)});
        }
        return columns;
    }
    for (auto& t : s.targets) {
        if (t.star) {
            if (ctx.relations.empty()) {
                return std::unexpected(errors::select_star_without_tables(pos(t.offset)));
            }
            for (const auto& r : ctx.relations) {
                for (const auto& [name, type] : r.columns) {
                    columns.push_back({name, type, -1, type_size(type)});
                }
            }
            continue;
        }
        if (auto r = ::standin::postgres::analyze(*t.expr, ctx); !r) {
            return std::unexpected(r.error());
        }
        std::uint32_t type = t.expr->type == oid::kUnknown ? oid::kText : t.expr->type;
        if (t.expr->kind == ExprKind::Parameter && parameter_types != nullptr &&
            (*parameter_types)[t.expr->parameter - 1] == 0) {
            (*parameter_types)[t.expr->parameter - 1] = oid::kText;
            t.expr->type = oid::kText;
        }
        std::string name = t.alias ? *t.alias : column_name(*t.expr);
        columns.push_back({name, type, t.expr->result_modifier, type_size(type)});
    }
    if (s.where) {
        if (auto r = ::standin::postgres::analyze(*s.where, ctx); !r) {
            return std::unexpected(r.error());
        }
        if (s.where->type == oid::kUnknown) {
            s.where->type = oid::kBool;
        }
        if (s.where->type != oid::kBool) {
            auto e = error_with("42804",
                                "argument of WHERE must be type boolean, not type " +
                                    type_sql_name(s.where->type),
                                {"parse_coerce.c", 1243, "coerce_to_boolean"});
            e.position = pos(s.where->offset);
            return std::unexpected(e);
        }
    }
    return columns;
}

std::expected<std::optional<std::vector<ResultColumn>>, ServerError>
Executor::analyze(Statement& s, std::vector<std::uint32_t>* parameter_types) {
    if (auto* sel = std::get_if<std::shared_ptr<SelectStmt>>(&s.body)) {
        std::vector<bool> referenced;
        auto cols = analyze_select(**sel, parameter_types);
        if (!cols) {
            return std::unexpected(cols.error());
        }
        if (parameter_types != nullptr) {
            // parameters referenced in the text: any slot analysis grew or resolved
            referenced.assign(parameter_types->size(), false);
            std::function<void(const Expr&)> walk = [&](const Expr& e) {
                if (e.kind == ExprKind::Parameter && e.parameter <= referenced.size()) {
                    referenced[e.parameter - 1] = true;
                }
                for (const auto& a : e.args) {
                    walk(*a);
                }
                if (e.select) {
                    for (const auto& t : e.select->targets) {
                        if (t.expr) {
                            walk(*t.expr);
                        }
                    }
                }
            };
            for (const auto& t : (*sel)->targets) {
                if (t.expr) {
                    walk(*t.expr);
                }
            }
            if ((*sel)->where) {
                walk(*(*sel)->where);
            }
            for (const auto& row : (*sel)->values) {
                for (const auto& x : row) {
                    walk(*x);
                }
            }
            if (auto r = finish_parameter_types(*parameter_types, referenced); !r) {
                return std::unexpected(r.error());
            }
        }
        return std::optional<std::vector<ResultColumn>>(std::move(*cols));
    }
    if (parameter_types != nullptr) {
        std::vector<bool> none(parameter_types->size(), false);
        if (auto r = finish_parameter_types(*parameter_types, none); !r) {
            return std::unexpected(r.error());
        }
    }
    if (const auto* show = std::get_if<ShowStmt>(&s.body)) {
        if (show->all) {
            return std::optional<std::vector<ResultColumn>>(std::vector<ResultColumn>{
                text_column("name"), text_column("setting"), text_column("description")});
        }
        auto name = session_.settings.show_name(show->name);
        if (!name) {
            return std::unexpected(errors::unrecognized_parameter(show->name));
        }
        return std::optional<std::vector<ResultColumn>>(
            std::vector<ResultColumn>{text_column(*name)});
    }
    if (const auto* o = std::get_if<ObjectStmt>(&s.body)) {
        if (o->kind == ObjectStmt::Kind::RelationMissing) {
            return std::unexpected(errors::relation_missing(o->name, pos(o->offset)));
        }
    }
    return std::optional<std::vector<ResultColumn>>{};
}

std::optional<ServerError> Executor::plan(const Statement& s,
                                          const std::vector<Value>* parameters) {
    const auto* sel = std::get_if<std::shared_ptr<SelectStmt>>(&s.body);
    if (sel == nullptr) {
        return std::nullopt;
    }
    auto ctx = eval_context(parameters);
    auto check = [&](const Expr& e) -> std::optional<ServerError> {
        if (volatile_tree(e)) {
            return std::nullopt;
        }
        auto v = evaluate(e, ctx);
        if (!v) {
            return v.error().error;
        }
        return std::nullopt;
    };
    for (const auto& t : (*sel)->targets) {
        if (t.expr) {
            if (auto e = check(*t.expr)) {
                return e;
            }
        }
    }
    for (const auto& row : (*sel)->values) {
        for (const auto& x : row) {
            if (auto e = check(*x)) {
                return e;
            }
        }
    }
    if ((*sel)->where) {
        return check(*(*sel)->where);
    }
    return std::nullopt;
}

StatementResult Executor::execute(Statement& s, const std::vector<Value>* parameters) {
    return std::visit(
        [&](auto& body) -> StatementResult {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, EmptyStmt>) {
                return StatementResult{};
            } else if constexpr (std::is_same_v<T, std::shared_ptr<SelectStmt>>) {
                return select(*body, parameters);
            } else if constexpr (std::is_same_v<T, SetStmt>) {
                return set(body);
            } else if constexpr (std::is_same_v<T, ResetStmt>) {
                return reset(body);
            } else if constexpr (std::is_same_v<T, ShowStmt>) {
                return show(body);
            } else if constexpr (std::is_same_v<T, TransactionStmt>) {
                auto r = transaction(body);
                r.transaction_statement = true;
                return r;
            } else if constexpr (std::is_same_v<T, UtilityStmt>) {
                return utility(body);
            } else {
                return object(body);
            }
        },
        s.body);
}

namespace {

// SELECT count(*) ... with no GROUP BY: one row even when no input row is left.
bool aggregates_without_groups(const SelectStmt& s) {
    return !s.grouped && !s.is_values &&
           std::any_of(s.targets.begin(), s.targets.end(),
                       [](const SelectTarget& t) { return t.expr && contains_aggregate(*t.expr); });
}

// FROM one of the views about the session (pg_stat_ssl, pg_stat_activity): its one row, if
// WHERE keeps it, with each target read from it.
StatementResult select_session_row(const SelectStmt& s, const CatalogRelation& rel,
                                   StatementResult r, EvalContext& ctx, SessionView& view,
                                   std::string_view query) {
    std::vector<std::string_view> names;
    for (const auto& c : rel.columns) {
        names.push_back(c.name);
    }
    auto values = rel.session_row(view, query);
    RowBinding binding{names, values};
    ctx.row = &binding;
    std::vector<ServerError> notices;
    view.notices = &notices;
    auto finish = [&](StatementResult out) {
        view.notices = nullptr;
        ctx.row = nullptr;
        ctx.empty_group = false;
        out.notices = std::move(notices);
        return out;
    };
    bool keep = true;
    if (s.where) {
        auto w = evaluate(*s.where, ctx);
        if (!w) {
            r.error = w.error().error;
            return finish(std::move(r));
        }
        keep = w->as_bool().value_or(false);
    }
    if (!keep && aggregates_without_groups(s)) {
        keep = true; // one row: the aggregates over nothing
        ctx.empty_group = true;
    }
    if (s.offset_rows && *s.offset_rows > 0) {
        keep = false;
    }
    if (s.limit && *s.limit <= 0) {
        keep = false;
    }
    if (keep) {
        std::vector<Value> row;
        for (const auto& t : s.targets) {
            if (t.star) {
                row.insert(row.end(), values.begin(), values.end());
                continue;
            }
            auto v = evaluate(*t.expr, ctx);
            if (!v) {
                r.error = v.error().error;
                return finish(std::move(r));
            }
            if (v->type == oid::kUnknown) {
                v->type = oid::kText;
            }
            row.push_back(std::move(*v));
        }
        r.rows.push_back(std::move(row));
    }
    r.error_after_columns = false;
    r.tag = "SELECT " + std::to_string(r.rows.size());
    return finish(std::move(r));
}

} // namespace

StatementResult Executor::select(SelectStmt& s, const std::vector<Value>* parameters) {
    StatementResult r;
    std::vector<std::uint32_t> types;
    std::vector<std::uint32_t>* param_types = nullptr;
    if (parameters != nullptr) {
        for (const auto& p : *parameters) {
            types.push_back(p.type);
        }
        param_types = &types;
    }
    auto cols = analyze_select(s, param_types);
    if (!cols) {
        r.error = cols.error();
        return r;
    }
    auto ctx = eval_context(parameters);
    // how many rows: FROM a catalog relation gives none, a subquery its own count
    std::int64_t count = s.from_relations.empty() ? 1 : 0;
    for (const auto& sub : s.from_subqueries) {
        auto inner = select(*sub, parameters);
        if (inner.error) {
            return inner;
        }
        count *= static_cast<std::int64_t>(inner.rows.size());
    }
    if (s.is_values) {
        count = static_cast<std::int64_t>(s.values.size());
    }
    // plan time: the immutable expressions (constant folding)
    auto immutable_pass = [&](const Expr& e) -> std::optional<ServerError> {
        if (volatile_tree(e)) {
            return std::nullopt;
        }
        auto v = evaluate(e, ctx);
        if (!v) {
            return v.error().error;
        }
        return std::nullopt;
    };
    for (const auto& t : s.targets) {
        if (t.expr) {
            if (auto e = immutable_pass(*t.expr)) {
                r.error = e;
                return r;
            }
        }
    }
    if (s.where) {
        if (auto e = immutable_pass(*s.where)) {
            r.error = e;
            return r;
        }
    }
    r.columns = *cols;
    r.error_after_columns = true;
    if (s.from_relations.size() == 1 && s.from_subqueries.empty() && !s.is_values) {
        if (const auto* rel = find_catalog_relation(s.from_relations[0].names);
            rel != nullptr && rel->session_row != nullptr) {
            return select_session_row(s, *rel, std::move(r), ctx, session_.view, query_);
        }
    }
    if (s.where && count > 0) {
        auto w = evaluate(*s.where, ctx);
        if (!w) {
            r.error = w.error().error;
            return r;
        }
        if (!w->as_bool().value_or(false)) {
            count = 0;
        }
    }
    if (count == 0 && aggregates_without_groups(s)) {
        count = 1; // one row: the aggregates over nothing
        ctx.empty_group = true;
    }
    if (s.offset_rows) {
        count = std::max<std::int64_t>(0, count - *s.offset_rows);
    }
    if (s.limit) {
        count = std::min(count, *s.limit);
    }
    std::vector<ServerError> notices;
    session_.view.notices = &notices;
    for (std::int64_t i = 0; i < count; ++i) {
        std::vector<Value> row;
        if (s.is_values) {
            std::size_t index = static_cast<std::size_t>(i + s.offset_rows.value_or(0));
            for (std::size_t c = 0; c < s.values[index].size(); ++c) {
                auto v = evaluate(*s.values[index][c], ctx);
                if (!v) {
                    r.error = v.error().error;
                    r.error_after_columns = v.error().at_execution;
                    session_.view.notices = nullptr;
                    return r;
                }
                if (v->type == oid::kUnknown) {
                    v->type = (*cols)[c].type;
                }
                row.push_back(std::move(*v));
            }
        } else {
            for (std::size_t c = 0; c < s.targets.size(); ++c) {
                auto v = evaluate(*s.targets[c].expr, ctx);
                if (!v) {
                    r.error = v.error().error;
                    session_.view.notices = nullptr;
                    return r;
                }
                if (v->type == oid::kUnknown) {
                    v->type = oid::kText;
                }
                row.push_back(std::move(*v));
            }
        }
        r.rows.push_back(std::move(row));
    }
    session_.view.notices = nullptr;
    r.notices = std::move(notices);
    r.error_after_columns = false;
    r.tag = "SELECT " + std::to_string(r.rows.size());
    return r;
}

StatementResult Executor::set(const SetStmt& s) {
    bool in_block = session_.in_transaction_block();
    auto apply = [&](const std::string& name, const std::string& value,
                     SettingScope scope) -> std::optional<ServerError> {
        auto r = session_.settings.set_text(name, value, scope, true);
        if (!r) {
            return r.error();
        }
        return std::nullopt;
    };
    auto form = s.form;
    std::string role = s.role;
    if (form == SetStmt::Form::Value && s.args.size() == 1) {
        // SET session_authorization / role = x are the same as their special forms
        std::string lowered;
        for (char ch : s.name) {
            lowered.push_back(static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch));
        }
        if (lowered == "session_authorization" || lowered == "role") {
            form = lowered == "role" ? SetStmt::Form::Role : SetStmt::Form::SessionAuthorization;
            role = s.args[0].text == "none" && lowered == "role" ? "" : s.args[0].text;
        }
    }
    switch (form) {
    case SetStmt::Form::Value: {
        if (s.scope == SettingScope::Local && !in_block) {
            StatementResult r = tagged("SET");
            r.notices.push_back(errors::only_in_transaction_block("SET LOCAL", true));
            return r;
        }
        auto r = session_.settings.set(s.name, s.args, s.scope, in_block);
        if (!r) {
            return failed(r.error());
        }
        return tagged("SET");
    }
    case SetStmt::Form::TimeZoneLocal: {
        auto r = session_.settings.reset("TimeZone", in_block);
        if (!r) {
            return failed(r.error());
        }
        return tagged("SET");
    }
    case SetStmt::Form::SessionAuthorization:
        if (!role.empty() && role != session_.view.user) {
            return failed(errors::permission_denied_session_authorization());
        }
        return tagged("SET");
    case SetStmt::Form::Role:
        if (role.empty() || role == session_.view.user) {
            (void)session_.settings.set_text("role", role.empty() ? "none" : role,
                                             SettingScope::Session, in_block);
            return tagged("SET");
        }
        if (role == "postgres" || role.starts_with("pg_")) {
            return failed(errors::permission_denied_role(role));
        }
        return failed(errors::role_missing(role));
    case SetStmt::Form::Transaction: {
        if (!in_block) {
            StatementResult r = tagged("SET");
            r.notices.push_back(errors::only_in_transaction_block("SET TRANSACTION", true));
            return r;
        }
        for (const auto& [name, value] : s.modes) {
            if (auto e = apply(name, value, SettingScope::Local)) {
                return failed(*e);
            }
        }
        return tagged("SET");
    }
    case SetStmt::Form::SessionCharacteristics:
        for (const auto& [name, value] : s.modes) {
            if (auto e = apply("default_" + name, value, SettingScope::Session)) {
                return failed(*e);
            }
        }
        return tagged("SET");
    }
    return tagged("SET");
}

StatementResult Executor::reset(const ResetStmt& s) {
    bool in_block = session_.in_transaction_block();
    if (s.all) {
        session_.settings.reset_all(in_block);
        return tagged("RESET");
    }
    if (s.name == "session_authorization") {
        return tagged("RESET");
    }
    auto r = session_.settings.reset(s.name, in_block);
    if (!r) {
        return failed(r.error());
    }
    return tagged("RESET");
}

StatementResult Executor::show(const ShowStmt& s) {
    StatementResult r;
    if (s.all) {
        r.columns = {text_column("name"), text_column("setting"), text_column("description")};
        for (const auto& row : session_.settings.show_all()) {
            std::vector<Value> values;
            for (const auto& v : row) {
                values.push_back(Value::of_text(oid::kText, v));
            }
            r.rows.push_back(std::move(values));
        }
        r.tag = "SHOW";
        return r;
    }
    auto name = session_.settings.show_name(s.name);
    auto value = session_.settings.value(s.name);
    if (!name || !value) {
        return failed(errors::unrecognized_parameter(s.name));
    }
    r.columns = {text_column(*name)};
    r.rows.push_back({Value::of_text(oid::kText, *value)});
    r.tag = "SHOW";
    return r;
}

StatementResult Executor::transaction(const TransactionStmt& s) {
    using K = TransactionStmt::Kind;
    auto& st = session_.state;
    auto apply_modes = [&]() -> std::optional<ServerError> {
        for (const auto& [name, value] : s.modes) {
            auto r = session_.settings.set_text(name, value, SettingScope::Local, true);
            if (!r) {
                return r.error();
            }
        }
        return std::nullopt;
    };
    switch (s.kind) {
    case K::Begin:
    case K::StartTransaction: {
        StatementResult r = tagged(s.kind == K::Begin ? "BEGIN" : "START TRANSACTION");
        if (st == TransactionState::InBlock) {
            r.notices.push_back(errors::already_in_transaction());
        } else {
            open_transaction(session_);
            st = TransactionState::InBlock;
            session_.implicit_block = false;
        }
        if (auto e = apply_modes()) {
            return failed(*e);
        }
        return r;
    }
    case K::Commit:
    case K::End: {
        StatementResult r;
        if (st == TransactionState::Failed) {
            rollback_transaction(session_);
            r.tag = "ROLLBACK";
        } else if (st == TransactionState::InBlock) {
            auto notifications = std::move(session_.pending_notifications);
            session_.pending_notifications.clear();
            commit_transaction(session_);
            for (const auto& [channel, payload] : notifications) {
                if (session_.listening.contains(channel)) {
                    r.after.push_back(notification(session_.view.process_id, channel, payload));
                }
            }
            r.tag = "COMMIT";
        } else {
            r.notices.push_back(errors::no_transaction_in_progress(true));
            r.tag = "COMMIT";
        }
        if (s.chain && r.tag == "COMMIT" && r.notices.empty()) {
            open_transaction(session_);
            st = TransactionState::InBlock;
        }
        return r;
    }
    case K::Rollback:
    case K::Abort: {
        StatementResult r = tagged("ROLLBACK");
        if (st == TransactionState::Idle) {
            r.notices.push_back(errors::no_transaction_in_progress(false));
        } else {
            rollback_transaction(session_);
            if (s.chain) {
                open_transaction(session_);
                st = TransactionState::InBlock;
            }
        }
        return r;
    }
    case K::Savepoint:
        if (st == TransactionState::Idle) {
            return failed(errors::only_in_transaction_block("SAVEPOINT", false));
        }
        session_.savepoints.push_back(s.savepoint);
        session_.settings.define_savepoint();
        return tagged("SAVEPOINT");
    case K::Release:
    case K::RollbackTo: {
        bool release = s.kind == K::Release;
        if (st == TransactionState::Idle) {
            return failed(errors::only_in_transaction_block(
                release ? "RELEASE SAVEPOINT" : "ROLLBACK TO SAVEPOINT", false));
        }
        auto& sp = session_.savepoints;
        auto it = std::find(sp.rbegin(), sp.rend(), s.savepoint);
        if (it == sp.rend()) {
            return failed(errors::savepoint_missing(s.savepoint, release));
        }
        auto index = static_cast<std::size_t>(std::distance(it, sp.rend())) - 1;
        if (release) {
            while (sp.size() > index) {
                sp.pop_back();
                session_.settings.release_savepoint();
            }
            return tagged("RELEASE");
        }
        while (sp.size() > index + 1) {
            sp.pop_back();
            session_.settings.release_savepoint();
        }
        session_.settings.rollback_to_savepoint();
        st = TransactionState::InBlock;
        return tagged("ROLLBACK");
    }
    case K::PrepareTransaction: {
        auto e = error_with("55000", "prepared transactions are disabled",
                            {"twophase.c", 378, "MarkAsPreparing"});
        e.hint = "Set max_prepared_transactions to a nonzero value.";
        return failed(e);
    }
    case K::CommitPrepared:
    case K::RollbackPrepared:
        return failed(error_with("25001",
                                 std::string(s.kind == K::CommitPrepared ? "COMMIT" : "ROLLBACK") +
                                     " PREPARED cannot run inside a transaction block",
                                 {"xact.c", 3499, "PreventInTransactionBlock"}));
    }
    return tagged("BEGIN");
}

StatementResult Executor::utility(const UtilityStmt& s) {
    using K = UtilityStmt::Kind;
    switch (s.kind) {
    case K::DiscardAll: {
        if (session_.state != TransactionState::Idle || session_.implicit_block) {
            return failed(error_with("25001", "DISCARD ALL cannot run inside a transaction block",
                                     {"xact.c", 3499, "PreventInTransactionBlock"}));
        }
        session_.settings.reset_all(false);
        for (auto it = session_.statements.begin(); it != session_.statements.end();) {
            it = it->first.empty() ? std::next(it) : session_.statements.erase(it);
        }
        session_.advisory_locks.clear();
        session_.listening.clear();
        return tagged("DISCARD ALL");
    }
    case K::DiscardPlans:
        return tagged("DISCARD PLANS");
    case K::DiscardSequences:
        return tagged("DISCARD SEQUENCES");
    case K::DiscardTemp:
        return tagged("DISCARD TEMP");
    case K::DeallocateAll:
        for (auto it = session_.statements.begin(); it != session_.statements.end();) {
            it = it->first.empty() ? std::next(it) : session_.statements.erase(it);
        }
        return tagged("DEALLOCATE ALL");
    case K::Deallocate:
        if (session_.statements.erase(s.name) == 0 || s.name.empty()) {
            return failed(errors::statement_missing(s.name));
        }
        return tagged("DEALLOCATE");
    case K::CloseAll:
        return tagged("CLOSE CURSOR ALL");
    case K::Close:
        return failed(error_with("34000", "cursor \"" + s.name + "\" does not exist",
                                 {"portalcmds.c", 222, "PerformPortalClose"}));
    case K::Listen:
        session_.listening.insert(s.name);
        return tagged("LISTEN");
    case K::Unlisten:
        session_.listening.erase(s.name);
        return tagged("UNLISTEN");
    case K::UnlistenAll:
        session_.listening.clear();
        return tagged("UNLISTEN");
    case K::Notify: {
        StatementResult r = tagged("NOTIFY");
        if (session_.state == TransactionState::Idle && !session_.implicit_block) {
            if (session_.listening.contains(s.name)) {
                r.after.push_back(notification(session_.view.process_id, s.name, s.payload));
            }
        } else {
            session_.pending_notifications.emplace_back(s.name, s.payload);
        }
        return r;
    }
    case K::Checkpoint: {
        auto e = error_with(
            "42501", "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT",
            {"standby.c", 946, "standard_ProcessUtility"});
        e.location = {"utility.c", 950, "standard_ProcessUtility"};
        return failed(e);
    }
    }
    return tagged("");
}

StatementResult Executor::object(const ObjectStmt& s) {
    switch (s.kind) {
    case ObjectStmt::Kind::RelationMissing:
        return failed(errors::relation_missing(s.name, pos(s.offset)));
    case ObjectStmt::Kind::Drop: {
        if (s.if_exists) {
            StatementResult r = tagged(s.tag);
            r.notices.push_back(errors::cannot_drop_missing(s.object_kind, s.name));
            return r;
        }
        std::string sqlstate = "42P01";
        if (s.object_kind == "schema") {
            sqlstate = "3F000";
        } else if (s.object_kind == "function") {
            sqlstate = "42883";
        } else if (s.object_kind == "type" || s.object_kind == "extension") {
            sqlstate = "42704";
        }
        return failed(error_with(sqlstate, s.object_kind + " \"" + s.name + "\" does not exist",
                                 {"tablecmds.c", 1296, "DropErrorMsgNonExistent"}));
    }
    case ObjectStmt::Kind::CreateDenied:
        return failed(errors::permission_denied_schema("public", pos(s.offset)));
    case ObjectStmt::Kind::ExplainSelect:
    case ObjectStmt::Kind::Unsupported:
        break;
    }
    std::string what = s.name.empty() ? "this statement" : s.name;
    for (auto& c : what) {
        c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    return failed(errors::feature_not_supported(what + " is not supported by this server"));
}

} // namespace standin::postgres

namespace standin::postgres {

char status_byte(TransactionState s) {
    switch (s) {
    case TransactionState::Idle:
        return 'I';
    case TransactionState::InBlock:
        return 'T';
    case TransactionState::Failed:
        return 'E';
    }
    return 'I';
}

} // namespace standin::postgres
