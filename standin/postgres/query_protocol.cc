#include <algorithm>

#include <standin/postgres/query_protocol.h>
#include <standin/postgres/sql_parser.h>

namespace standin::postgres {

namespace {

constexpr std::size_t kNotePreview = 80;

std::string preview(std::string_view sql) {
    std::string one;
    bool space = false;
    for (char c : sql) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !one.empty();
            continue;
        }
        if (space) {
            one.push_back(' ');
            space = false;
        }
        one.push_back(c);
    }
    return one.size() > kNotePreview ? one.substr(0, kNotePreview - 3) + "..." : one;
}

void put(std::vector<std::uint8_t>& out, const pg::Message& m) {
    pg::append(out, m);
}

void put_error(std::vector<std::uint8_t>& out, const ServerError& e) {
    put(out, e.message_for_wire());
}

OutputOptions output_options(const Session& s) {
    OutputOptions o;
    auto efd = s.settings.value("extra_float_digits").value_or("1");
    o.extra_float_digits = std::atoi(efd.c_str());
    return o;
}

LexOptions lex_options(const Session& s) {
    LexOptions o;
    o.standard_conforming_strings =
        s.settings.value("standard_conforming_strings").value_or("on") == "on";
    return o;
}

bool is_transaction_exit(const PreparedStatement& p) {
    return p.statement && Executor::allowed_in_failed_transaction(*p.statement);
}

// BindMessage read the way exec_bind_message reads it, so that the errors are PostgreSQL's
// (format count mismatches and unknown format codes are not framing errors there).
struct BindFields {
    std::string portal;
    std::string statement;
    std::vector<std::int16_t> parameter_formats;
    std::vector<std::optional<std::vector<std::uint8_t>>> parameters;
    std::vector<std::int16_t> result_formats;
};

class BodyReader {
  public:
    explicit BodyReader(const std::vector<std::uint8_t>& b) : b_(b) {}
    std::optional<std::string> string() {
        auto nul =
            std::find(b_.begin() + static_cast<std::ptrdiff_t>(at_), b_.end(), std::uint8_t{0});
        if (nul == b_.end()) {
            return std::nullopt;
        }
        std::string s(b_.begin() + static_cast<std::ptrdiff_t>(at_), nul);
        at_ = static_cast<std::size_t>(nul - b_.begin()) + 1;
        return s;
    }
    std::optional<std::int32_t> int_n(std::size_t n) {
        if (b_.size() - at_ < n) {
            return std::nullopt;
        }
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            v = (v << 8) | b_[at_ + i];
        }
        at_ += n;
        return n == 2 ? static_cast<std::int32_t>(static_cast<std::int16_t>(v))
                      : static_cast<std::int32_t>(v);
    }
    std::optional<std::vector<std::uint8_t>> bytes(std::size_t n) {
        if (b_.size() - at_ < n) {
            return std::nullopt;
        }
        std::vector<std::uint8_t> out(b_.begin() + static_cast<std::ptrdiff_t>(at_),
                                      b_.begin() + static_cast<std::ptrdiff_t>(at_ + n));
        at_ += n;
        return out;
    }
    bool done() const { return at_ == b_.size(); }

  private:
    const std::vector<std::uint8_t>& b_;
    std::size_t at_ = 0;
};

// invalid_utf8_at: PostgreSQL's error for the first invalid UTF-8 sequence in client text.
std::optional<ServerError> invalid_utf8_at(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c == 0           ? 0
                        : c < 0x80       ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
        bool ok = n != 0 && i + n <= s.size();
        for (std::size_t k = 1; ok && k < n; ++k) {
            ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        }
        if (!ok) {
            static constexpr char kHex[] = "0123456789abcdef";
            std::string bytes;
            std::size_t shown = n == 0 ? 1 : std::min(n, s.size() - i);
            for (std::size_t k = 0; k < shown; ++k) {
                auto b = static_cast<unsigned char>(s[i + k]);
                bytes += std::string(k ? " " : "") + "0x" + kHex[b >> 4] + kHex[b & 15];
            }
            ServerError e;
            e.sqlstate = "22021";
            e.message = "invalid byte sequence for encoding \"UTF8\": " + bytes;
            e.location = {"mbutils.c", 1727, "report_invalid_encoding"};
            return e;
        }
        i += n;
    }
    return std::nullopt;
}

ServerError insufficient() {
    return errors::insufficient_data();
}

ServerError invalid_string() {
    ServerError e;
    e.sqlstate = "08P01";
    e.message = "invalid string in message";
    e.location = {"pqformat.c", 574, "pq_getmsgstring"};
    return e;
}

std::string parameter_context(const std::string& portal, std::size_t n, bool text) {
    std::string who = portal.empty() ? "unnamed portal" : "portal \"" + portal + "\"";
    return who + " parameter $" + std::to_string(n) + (text ? " = '...'" : "");
}

} // namespace

pg::Message row_description(const std::vector<ResultColumn>& columns,
                            const std::vector<std::int16_t>& formats) {
    std::vector<pg::FieldDescription> fields;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        pg::FieldDescription f;
        f.name = columns[i].name;
        f.type_oid = columns[i].type;
        f.type_size = columns[i].type_size;
        f.type_modifier = columns[i].type_modifier;
        f.format = i < formats.size() ? formats[i] : 0;
        fields.push_back(std::move(f));
    }
    return pg::row_description(fields);
}

pg::Message data_row(const std::vector<Value>& values, const std::vector<std::int16_t>& formats,
                     const OutputOptions& options) {
    pg::Message m;
    m.type = pg::backend::kDataRow;
    auto put16 = [&](std::uint16_t v) {
        m.body.push_back(static_cast<std::uint8_t>(v >> 8));
        m.body.push_back(static_cast<std::uint8_t>(v & 0xFF));
    };
    auto put32 = [&](std::uint32_t v) {
        for (int i = 3; i >= 0; --i) {
            m.body.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    };
    put16(static_cast<std::uint16_t>(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto& v = values[i];
        if (v.null) {
            put32(0xFFFFFFFF);
            continue;
        }
        bool binary = i < formats.size() && formats[i] == 1;
        if (binary) {
            auto bytes = to_binary(v);
            put32(static_cast<std::uint32_t>(bytes.size()));
            m.body.insert(m.body.end(), bytes.begin(), bytes.end());
        } else {
            auto text = format_text(v, options);
            put32(static_cast<std::uint32_t>(text.size()));
            m.body.insert(m.body.end(), text.begin(), text.end());
        }
    }
    return m;
}

void QueryProtocol::ready_for_query(std::vector<std::uint8_t>& out) {
    for (const auto& [name, value] : session_.settings.take_reports()) {
        put(out, pg::parameter_status(name, value));
    }
    put(out, pg::ready_for_query(status_byte(session_.state)));
}

void QueryProtocol::statement_failed() {
    if (session_.state == TransactionState::InBlock) {
        session_.state = TransactionState::Failed;
    } else if (session_.state == TransactionState::Idle) {
        rollback_transaction(session_);
        session_.portals.clear();
    }
    session_.implicit_block = false;
}

void QueryProtocol::extended_error(const ServerError& e, std::vector<std::uint8_t>& out) {
    put_error(out, e);
    statement_failed();
    ignore_till_sync_ = true;
}

void QueryProtocol::begin_extended() {
    if (!session_.transaction_open) {
        open_transaction(session_);
    }
}

void QueryProtocol::handle(const pg::Message& message, std::vector<std::uint8_t>& out,
                           std::vector<std::string>& notes, bool& close_connection) {
    namespace fe = pg::frontend;
    if (message.type == fe::kTerminate) {
        close_connection = true;
        return;
    }
    if (ignore_till_sync_ && message.type != fe::kSync) {
        return;
    }
    switch (message.type) {
    case fe::kQuery:
        simple_query(message, out, notes);
        return;
    case fe::kParse:
        parse(message, out);
        return;
    case fe::kBind:
        bind(message, out);
        return;
    case fe::kDescribe:
        describe(message, out);
        return;
    case fe::kExecute:
        execute(message, out, notes);
        return;
    case fe::kClose:
        close(message, out);
        return;
    case fe::kSync:
        sync(out);
        return;
    case fe::kFlush:
        return;
    case fe::kCopyData:
    case fe::kCopyDone:
    case fe::kCopyFail:
        return; // ignored outside COPY, as PostgreSQL does
    case fe::kFunctionCall: {
        ServerError e;
        e.sqlstate = "0A000";
        e.message = "fastpath function calls are not supported by this server";
        e.location = {"fastpath.c", 200, "HandleFunctionRequest"};
        put_error(out, e);
        statement_failed();
        ready_for_query(out);
        return;
    }
    default:
        put_error(out, errors::invalid_message_type(message.type));
        notes.push_back("invalid frontend message type " +
                        std::to_string(static_cast<unsigned char>(message.type)));
        close_connection = true;
        return;
    }
}

void QueryProtocol::simple_query(const pg::Message& message, std::vector<std::uint8_t>& out,
                                 std::vector<std::string>& notes) {
    auto q = pg::decode_query(message.body);
    if (!q) {
        ServerError e = errors::invalid_message_format();
        e.severity = Severity::Error;
        put_error(out, e);
        statement_failed();
        ready_for_query(out);
        return;
    }
    const std::string& sql = q->sql;
    if (auto bad = invalid_utf8_at(sql)) {
        put_error(out, *bad);
        statement_failed();
        ready_for_query(out);
        return;
    }
    auto parsed = parse_sql(sql, lex_options(session_));
    if (!parsed) {
        put_error(out, parsed.error());
        notes.push_back("query not understood: " + preview(sql) + " -> " + parsed.error().message);
        statement_failed();
        ready_for_query(out);
        return;
    }
    auto& statements = *parsed;
    if (statements.empty()) {
        put(out, pg::empty_query_response());
        ready_for_query(out);
        return;
    }
    if (session_.clock) {
        session_.view.statement_start_micros = session_.clock();
    }
    bool implicit = statements.size() > 1 && session_.state == TransactionState::Idle;
    session_.implicit_block = implicit;
    auto options = output_options(session_);
    for (auto& st : statements) {
        if (session_.state == TransactionState::Failed &&
            !Executor::allowed_in_failed_transaction(st)) {
            put_error(out, errors::transaction_aborted(where::kTransactionAbortedSimple));
            break;
        }
        open_transaction(session_);
        Executor executor(session_, sql);
        auto r = executor.execute(st, nullptr);
        for (const auto& n : r.notices) {
            put_error(out, n);
        }
        if (r.columns && (!r.error || r.error_after_columns)) {
            put(out, row_description(*r.columns, {}));
        }
        if (r.error) {
            for (const auto& row : r.rows) {
                put(out, data_row(row, {}, options));
            }
            put_error(out, *r.error);
            if (r.error->sqlstate == "42P01" || r.error->sqlstate == "0A000" ||
                r.error->sqlstate == "42883") {
                notes.push_back("the stand-in could not answer: " + preview(st.text) + " -> " +
                                r.error->message);
            }
            statement_failed();
            break;
        }
        options = output_options(session_);
        for (const auto& row : r.rows) {
            put(out, data_row(row, {}, options));
        }
        put(out, pg::command_complete(r.tag));
        for (const auto& m : r.after) {
            put(out, m);
        }
        if (session_.state == TransactionState::Idle && !implicit) {
            commit_transaction(session_);
            session_.portals.clear();
        }
    }
    if (session_.state == TransactionState::Idle && session_.transaction_open) {
        commit_transaction(session_);
        session_.portals.clear();
    }
    session_.implicit_block = false;
    ready_for_query(out);
}

void QueryProtocol::parse(const pg::Message& message, std::vector<std::uint8_t>& out) {
    auto p = pg::decode_parse(message.body);
    if (!p) {
        auto e = errors::invalid_message_format();
        e.severity = Severity::Error;
        extended_error(e, out);
        return;
    }
    begin_extended();
    auto prepared = std::make_shared<PreparedStatement>();
    prepared->name = p->statement;
    prepared->query = p->sql;
    for (auto t : p->parameter_types) {
        if (t != 0 && type_by_oid(t) == nullptr && t >= 16384) {
            extended_error(errors::type_oid_unknown(t), out);
            return;
        }
    }
    prepared->parameter_types = p->parameter_types;
    if (auto bad = invalid_utf8_at(p->sql)) {
        extended_error(*bad, out);
        return;
    }
    auto parsed = parse_sql(p->sql, lex_options(session_));
    if (!parsed) {
        extended_error(parsed.error(), out);
        return;
    }
    if (parsed->size() > 1) {
        extended_error(errors::multiple_commands_in_prepared(), out);
        return;
    }
    if (!parsed->empty()) {
        prepared->statement = std::move(parsed->front());
    }
    if (session_.state == TransactionState::Failed && !is_transaction_exit(*prepared)) {
        extended_error(errors::transaction_aborted(where::kTransactionAbortedParse), out);
        return;
    }
    if (prepared->statement) {
        Executor executor(session_, prepared->query);
        auto cols = executor.analyze(*prepared->statement, &prepared->parameter_types);
        if (!cols) {
            extended_error(cols.error(), out);
            return;
        }
        prepared->columns = *cols;
    } else {
        std::vector<bool> none(prepared->parameter_types.size(), false);
        if (auto r = finish_parameter_types(prepared->parameter_types, none); !r) {
            extended_error(r.error(), out);
            return;
        }
    }
    if (!prepared->name.empty() && session_.statements.contains(prepared->name)) {
        extended_error(errors::statement_exists(prepared->name), out);
        return;
    }
    session_.statements[prepared->name] = prepared;
    put(out, pg::parse_complete());
}

void QueryProtocol::bind(const pg::Message& message, std::vector<std::uint8_t>& out) {
    begin_extended();
    BodyReader r(message.body);
    auto portal_name = r.string();
    auto statement_name = portal_name ? r.string() : std::nullopt;
    if (!statement_name) {
        extended_error(invalid_string(), out);
        return;
    }
    auto it = session_.statements.find(*statement_name);
    if (it == session_.statements.end()) {
        if (statement_name->empty()) {
            ServerError e = errors::statement_missing("");
            e.message = "unnamed prepared statement does not exist";
            e.location = {"postgres.c", 1676, "exec_bind_message"};
            extended_error(e, out);
        } else {
            extended_error(errors::statement_missing(*statement_name), out);
        }
        return;
    }
    auto prepared = it->second;
    auto nformats = r.int_n(2);
    if (!nformats) {
        extended_error(insufficient(), out);
        return;
    }
    std::vector<std::int16_t> formats;
    for (std::int32_t k = 0; k < static_cast<std::uint16_t>(*nformats); ++k) {
        auto f = r.int_n(2);
        if (!f) {
            extended_error(insufficient(), out);
            return;
        }
        formats.push_back(static_cast<std::int16_t>(*f));
    }
    auto nparams_given = r.int_n(2);
    if (!nparams_given) {
        extended_error(insufficient(), out);
        return;
    }
    auto given = static_cast<std::size_t>(static_cast<std::uint16_t>(*nparams_given));
    if (formats.size() > 1 && formats.size() != given) {
        extended_error(errors::bind_format_count(formats.size(), given), out);
        return;
    }
    std::size_t nparams = prepared->parameter_types.size();
    if (given != nparams) {
        extended_error(errors::bind_parameter_count(given, prepared->name, nparams), out);
        return;
    }
    if (session_.state == TransactionState::Failed && !is_transaction_exit(*prepared)) {
        extended_error(errors::transaction_aborted(where::kTransactionAbortedBind), out);
        return;
    }
    auto portal = std::make_shared<Portal>();
    portal->name = *portal_name;
    portal->statement = prepared;
    for (std::size_t i = 0; i < nparams; ++i) {
        auto length = r.int_n(4);
        if (!length) {
            extended_error(insufficient(), out);
            return;
        }
        std::uint32_t type = prepared->parameter_types[i];
        std::int16_t format = formats.empty() ? 0 : formats.size() == 1 ? formats[0] : formats[i];
        if (*length == -1) {
            portal->parameters.push_back(Value::null_of(type));
            continue;
        }
        if (*length < 0) {
            extended_error(insufficient(), out);
            return;
        }
        auto raw = r.bytes(static_cast<std::size_t>(*length));
        if (!raw) {
            extended_error(insufficient(), out);
            return;
        }
        std::expected<Value, ServerError> v;
        if (format == 1) {
            v = from_binary(type, *raw, i + 1);
        } else if (format == 0) {
            // text parameters are converted to the server encoding first (valid UTF-8)
            std::string text(raw->begin(), raw->end());
            if (auto bad = invalid_utf8_at(text)) {
                v = std::unexpected(*bad);
            } else {
                v = parse_text(type, text);
            }
        } else {
            ServerError e = errors::unsupported_format_code(format);
            e.sqlstate = "22023";
            e.location = {"postgres.c", 1949, "exec_bind_message"};
            v = std::unexpected(e);
        }
        if (!v) {
            auto e = v.error();
            e.position.reset();
            e.context =
                parameter_context(*portal_name, i + 1, format == 0 && e.sqlstate != "22021");
            extended_error(e, out);
            return;
        }
        if (type_by_oid(type) == nullptr) {
            v->type = type; // a type the stand-in does not know: kept as text
        }
        portal->parameters.push_back(std::move(*v));
    }
    auto nresult = r.int_n(2);
    if (!nresult) {
        extended_error(insufficient(), out);
        return;
    }
    std::vector<std::int16_t> rf;
    for (std::int32_t k = 0; k < static_cast<std::uint16_t>(*nresult); ++k) {
        auto f = r.int_n(2);
        if (!f) {
            extended_error(insufficient(), out);
            return;
        }
        rf.push_back(static_cast<std::int16_t>(*f));
    }
    if (!r.done()) {
        auto e = errors::invalid_message_format();
        e.severity = Severity::Error;
        extended_error(e, out);
        return;
    }
    std::size_t ncolumns = prepared->columns ? prepared->columns->size() : 0;
    if (rf.size() > 1 && rf.size() != ncolumns) {
        extended_error(errors::bind_result_format_count(rf.size(), ncolumns), out);
        return;
    }
    for (std::size_t i = 0; i < ncolumns; ++i) {
        std::int16_t f = rf.empty() ? 0 : rf.size() == 1 ? rf[0] : rf[i];
        if (f == 1 && !has_binary_send((*prepared->columns)[i].type)) {
            ServerError e = errors::function_missing("", 1);
            e.message = "no binary output function available for type " +
                        type_sql_name((*prepared->columns)[i].type);
            e.hint.clear();
            e.position.reset();
            e.location = {"lsyscache.c", 2944, "getTypeBinaryOutputInfo"};
            extended_error(e, out);
            return;
        }
        portal->result_formats.push_back(f);
    }
    if (prepared->statement) {
        Executor executor(session_, prepared->query);
        if (auto e = executor.plan(*prepared->statement, &portal->parameters)) {
            extended_error(*e, out);
            return;
        }
    }
    if (!portal->name.empty() && session_.portals.contains(portal->name)) {
        ServerError e;
        e.sqlstate = "42P03";
        e.message = "cursor \"" + portal->name + "\" already exists";
        e.location = {"portalmem.c", 188, "CreatePortal"};
        extended_error(e, out);
        return;
    }
    session_.portals[portal->name] = portal;
    put(out, pg::bind_complete());
}

void QueryProtocol::describe(const pg::Message& message, std::vector<std::uint8_t>& out) {
    auto d = pg::decode_describe(message.body);
    if (!d) {
        auto e = errors::invalid_message_format();
        e.severity = Severity::Error;
        extended_error(e, out);
        return;
    }
    begin_extended();
    if (d->kind == 'S') {
        auto it = session_.statements.find(d->name);
        if (it == session_.statements.end()) {
            extended_error(errors::statement_missing(d->name), out);
            return;
        }
        const auto& p = *it->second;
        if (session_.state == TransactionState::Failed && p.columns) {
            extended_error(errors::transaction_aborted(
                               {"postgres.c", 2654, "exec_describe_statement_message"}),
                           out);
            return;
        }
        put(out, pg::parameter_description(p.parameter_types));
        if (p.columns) {
            put(out, row_description(*p.columns, {}));
        } else {
            put(out, pg::no_data());
        }
        return;
    }
    auto it = session_.portals.find(d->name);
    if (it == session_.portals.end()) {
        extended_error(errors::portal_missing(d->name, where::kPortalMissingDescribe), out);
        return;
    }
    const auto& portal = *it->second;
    if (portal.statement->columns) {
        put(out, row_description(*portal.statement->columns, portal.result_formats));
    } else {
        put(out, pg::no_data());
    }
}

void QueryProtocol::execute(const pg::Message& message, std::vector<std::uint8_t>& out,
                            std::vector<std::string>& notes) {
    auto x = pg::decode_execute(message.body);
    if (!x) {
        auto e = errors::invalid_message_format();
        e.severity = Severity::Error;
        extended_error(e, out);
        return;
    }
    begin_extended();
    auto it = session_.portals.find(x->portal);
    if (it == session_.portals.end()) {
        extended_error(errors::portal_missing(x->portal, where::kPortalMissingExecute), out);
        return;
    }
    auto portal = it->second;
    auto& prepared = *portal->statement;
    if (!prepared.statement) {
        put(out, pg::empty_query_response());
        return;
    }
    if (session_.state == TransactionState::Failed && !is_transaction_exit(prepared)) {
        extended_error(errors::transaction_aborted(where::kTransactionAbortedExecute), out);
        return;
    }
    for (auto f : portal->result_formats) {
        if (f != 0 && f != 1) {
            ServerError e = errors::unsupported_format_code(f);
            e.sqlstate = "22023";
            e.location = {"printtup.c", 292, "printtup_prepare_info"};
            extended_error(e, out);
            return;
        }
    }
    auto options = output_options(session_);
    if (!portal->executed) {
        portal->executed = true;
        Executor executor(session_, prepared.query);
        Statement statement = std::move(*prepared.statement);
        auto r = executor.execute(statement, &portal->parameters);
        prepared.statement = std::move(statement);
        for (const auto& n : r.notices) {
            put_error(out, n);
        }
        if (r.error) {
            portal->complete = true;
            if (r.error->sqlstate == "42P01" || r.error->sqlstate == "0A000") {
                notes.push_back("the stand-in could not answer: " + preview(prepared.query) +
                                " -> " + r.error->message);
            }
            extended_error(*r.error, out);
            return;
        }
        portal->rows = std::move(r.rows);
        portal->tag = r.tag;
        for (const auto& m : r.after) {
            portal->tag.clear();
            put(out, pg::command_complete(r.tag));
            put(out, m);
        }
        if (!r.after.empty()) {
            portal->complete = true;
            return;
        }
        options = output_options(session_);
    }
    std::size_t remaining = portal->rows.size() - portal->next_row;
    std::size_t limit = x->max_rows > 0 ? static_cast<std::size_t>(x->max_rows) : remaining;
    std::size_t sent = 0;
    while (sent < limit && portal->next_row < portal->rows.size()) {
        put(out, data_row(portal->rows[portal->next_row], portal->result_formats, options));
        ++portal->next_row;
        ++sent;
    }
    if (portal->next_row < portal->rows.size()) {
        put(out, pg::portal_suspended());
        return;
    }
    bool select_like = prepared.columns.has_value();
    std::string tag = portal->tag;
    if (tag.starts_with("SELECT")) {
        tag = "SELECT " + std::to_string(sent);
    } else if (portal->complete && select_like) {
        tag = "SELECT 0";
    }
    portal->complete = true;
    put(out, pg::command_complete(tag));
}

void QueryProtocol::close(const pg::Message& message, std::vector<std::uint8_t>& out) {
    auto c = pg::decode_close(message.body);
    if (!c) {
        auto e = errors::invalid_message_format();
        e.severity = Severity::Error;
        extended_error(e, out);
        return;
    }
    begin_extended();
    if (c->kind == 'S') {
        session_.statements.erase(c->name);
    } else {
        session_.portals.erase(c->name);
    }
    put(out, pg::close_complete());
}

void QueryProtocol::sync(std::vector<std::uint8_t>& out) {
    ignore_till_sync_ = false;
    if (session_.state == TransactionState::Idle && session_.transaction_open) {
        commit_transaction(session_);
    }
    if (session_.state == TransactionState::Idle) {
        session_.portals.clear();
    }
    ready_for_query(out);
}

} // namespace standin::postgres
