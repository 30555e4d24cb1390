#include "standin_test_util.h"

#include <catch2/catch.hpp>

#include <standin/sqlserver/statement_parser.h>
#include <tds/all_headers.h>
#include <tds/byte_reader.h>
#include <tds/login7.h>
#include <tds/type_info.h>
#include <tds/utf16.h>

namespace standin_test {

namespace sq = standin::sqlserver;
namespace tt = tds::type_token;

tds::DateTime fixed_now() {
    tds::DateTime t;
    t.days = tds::days_from_civil(2024, 2, 29);
    t.ticks = ((13ULL * 3600 + 45 * 60 + 30) * 10'000'000ULL) + 1'234'567ULL;
    return t;
}

sq::ServerIdentity test_server() {
    sq::ServerIdentity s;
    s.now_utc = fixed_now;
    return s;
}

sq::ResponderConfig test_config() {
    sq::ResponderConfig c;
    c.server = test_server();
    return c;
}

// --- the token walker ------------------------------------------------------------------------

namespace {

std::optional<std::string> b_varchar(tds::ByteReader& r) {
    auto n = r.u8();
    if (!n) {
        return std::nullopt;
    }
    auto b = r.bytes(static_cast<std::size_t>(*n) * 2);
    if (!b) {
        return std::nullopt;
    }
    return tds::utf16le_to_utf8(*b);
}

std::optional<std::string> us_varchar(tds::ByteReader& r) {
    auto n = r.u16le();
    if (!n) {
        return std::nullopt;
    }
    auto b = r.bytes(static_cast<std::size_t>(*n) * 2);
    if (!b) {
        return std::nullopt;
    }
    return tds::utf16le_to_utf8(*b);
}

std::optional<Bytes> b_varbyte(tds::ByteReader& r) {
    auto n = r.u8();
    if (!n) {
        return std::nullopt;
    }
    auto b = r.bytes(*n);
    if (!b) {
        return std::nullopt;
    }
    return Bytes(b->begin(), b->end());
}

struct TypeDesc {
    std::uint8_t token = 0;
    Bytes bytes; // TYPE_INFO, token first
    std::string text;
};

std::string sized(const char* name, std::uint32_t n) {
    return std::string(name) + "(" + (n == 0xFFFF ? std::string("max") : std::to_string(n)) + ")";
}

// parse_type_info reads one TYPE_INFO (MS-TDS 2.2.5.6) and names its type.
std::optional<TypeDesc> parse_type_info(tds::ByteReader& r, tds::Level level) {
    const std::size_t start = r.position();
    const auto all = r.rest();
    auto token = r.u8();
    if (!token) {
        return std::nullopt;
    }
    TypeDesc d;
    d.token = *token;
    auto u8 = [&]() {
        return r.u8();
    };
    auto collation = [&]() {
        return !tds::has_collation(level) || r.skip(5);
    };
    switch (*token) {
    case tt::kNull:
        d.text = "null";
        break;
    case tt::kInt1:
        d.text = "tinyint";
        break;
    case tt::kBit:
        d.text = "bit";
        break;
    case tt::kInt2:
        d.text = "smallint";
        break;
    case tt::kInt4:
        d.text = "int";
        break;
    case tt::kInt8:
        d.text = "bigint";
        break;
    case tt::kFlt4:
        d.text = "real";
        break;
    case tt::kFlt8:
        d.text = "float";
        break;
    case tt::kMoney:
        d.text = "money";
        break;
    case tt::kMoney4:
        d.text = "smallmoney";
        break;
    case tt::kDateTime:
        d.text = "datetime";
        break;
    case tt::kDateTim4:
        d.text = "smalldatetime";
        break;
    case tt::kIntN: {
        auto n = u8();
        if (!n) {
            return std::nullopt;
        }
        d.text = *n == 1 ? "tinyint" : *n == 2 ? "smallint" : *n == 8 ? "bigint" : "int";
        break;
    }
    case tt::kBitN:
        if (!u8()) {
            return std::nullopt;
        }
        d.text = "bit";
        break;
    case tt::kFltN: {
        auto n = u8();
        if (!n) {
            return std::nullopt;
        }
        d.text = *n == 4 ? "real" : "float";
        break;
    }
    case tt::kMoneyN: {
        auto n = u8();
        if (!n) {
            return std::nullopt;
        }
        d.text = *n == 4 ? "smallmoney" : "money";
        break;
    }
    case tt::kDateTimN: {
        auto n = u8();
        if (!n) {
            return std::nullopt;
        }
        d.text = *n == 4 ? "smalldatetime" : "datetime";
        break;
    }
    case tt::kGuid:
        if (!u8()) {
            return std::nullopt;
        }
        d.text = "uniqueidentifier";
        break;
    case tt::kDecimalN:
    case tt::kNumericN:
    case tt::kDecimal:
    case tt::kNumeric: {
        auto len = u8();
        auto p = len ? u8() : std::nullopt;
        auto s = p ? u8() : std::nullopt;
        if (!s) {
            return std::nullopt;
        }
        d.text =
            std::string(*token == tt::kDecimalN || *token == tt::kDecimal ? "decimal" : "numeric") +
            "(" + std::to_string(*p) + "," + std::to_string(*s) + ")";
        break;
    }
    case tt::kDateN:
        d.text = "date";
        break;
    case tt::kTimeN:
    case tt::kDateTime2N:
    case tt::kDateTimeOffsetN: {
        auto s = u8();
        if (!s) {
            return std::nullopt;
        }
        d.text = std::string(*token == tt::kTimeN        ? "time"
                             : *token == tt::kDateTime2N ? "datetime2"
                                                         : "datetimeoffset") +
                 "(" + std::to_string(*s) + ")";
        break;
    }
    case tt::kBigVarChar:
    case tt::kBigChar:
    case tt::kNVarChar:
    case tt::kNChar: {
        auto n = r.u16le();
        if (!n || !collation()) {
            return std::nullopt;
        }
        const bool unicode = *token == tt::kNVarChar || *token == tt::kNChar;
        const char* name = *token == tt::kBigVarChar ? "varchar"
                           : *token == tt::kBigChar  ? "char"
                           : *token == tt::kNVarChar ? "nvarchar"
                                                     : "nchar";
        d.text = sized(name, *n == 0xFFFF ? 0xFFFFu : (unicode ? *n / 2u : *n));
        break;
    }
    case tt::kBigVarBinary:
    case tt::kBigBinary: {
        auto n = r.u16le();
        if (!n) {
            return std::nullopt;
        }
        d.text = sized(*token == tt::kBigVarBinary ? "varbinary" : "binary", *n);
        break;
    }
    case tt::kText:
    case tt::kNText:
    case tt::kImage: {
        if (!r.skip(4)) {
            return std::nullopt;
        }
        if (*token != tt::kImage && !collation()) {
            return std::nullopt;
        }
        d.text = *token == tt::kText ? "text" : *token == tt::kNText ? "ntext" : "image";
        break;
    }
    case tt::kVariant:
        if (!r.skip(4)) {
            return std::nullopt;
        }
        d.text = "sql_variant";
        break;
    case tt::kXml: {
        auto schema = u8();
        if (!schema) {
            return std::nullopt;
        }
        if (*schema != 0 && (!b_varchar(r) || !b_varchar(r) || !us_varchar(r))) {
            return std::nullopt;
        }
        d.text = "xml";
        break;
    }
    default:
        return std::nullopt;
    }
    const std::size_t len = r.position() - start;
    d.bytes.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(len));
    return d;
}

bool is_text_type(std::uint8_t token) {
    return token == tt::kText || token == tt::kNText || token == tt::kImage;
}

// read_value reads one ROW value of a column by handing the column's TYPE_INFO and the value
// to the codec's own reader (the layout of an RPC parameter). Text types carry a text pointer
// and a timestamp in a ROW, which an RPC parameter does not: they are skipped first.
std::optional<tds::TypedValue> read_value(tds::ByteReader& r, const ColumnInfo& c, tds::Level level,
                                          Bytes& raw) {
    const auto before = r.rest();
    std::size_t skipped = 0;
    if (is_text_type(c.type_info.front())) {
        auto ptr = r.u8();
        if (!ptr) {
            return std::nullopt;
        }
        if (*ptr == 0) {
            raw.assign(before.begin(), before.begin() + 1);
            tds::TypedValue null;
            return null;
        }
        if (!r.skip(static_cast<std::size_t>(*ptr) + 8)) {
            return std::nullopt;
        }
        skipped = 1 + static_cast<std::size_t>(*ptr) + 8;
    }
    Bytes buf = c.type_info;
    const auto rest = r.rest();
    buf.insert(buf.end(), rest.begin(), rest.end());
    tds::ByteReader rb(buf);
    auto v = tds::read_typed_value(rb, level);
    if (!v) {
        return std::nullopt;
    }
    const std::size_t used = rb.position() - c.type_info.size();
    r.skip(used);
    raw.assign(before.begin(), before.begin() + static_cast<std::ptrdiff_t>(skipped + used));
    return *v;
}

const char* token_name(std::uint8_t t) {
    switch (t) {
    case tds::token::kReturnStatus:
        return "RETURNSTATUS";
    case tds::token::kColMetadata:
        return "COLMETADATA";
    case tds::token::kOrder:
        return "ORDER";
    case tds::token::kError:
        return "ERROR";
    case tds::token::kReturnValue:
        return "RETURNVALUE";
    case tds::token::kInfo:
        return "INFO";
    case tds::token::kLoginAck:
        return "LOGINACK";
    case tds::token::kFeatureExtAck:
        return "FEATUREEXTACK";
    case tds::token::kRow:
        return "ROW";
    case tds::token::kEnvChange:
        return "ENVCHANGE";
    case tds::token::kDone:
        return "DONE";
    case tds::token::kDoneProc:
        return "DONEPROC";
    case tds::token::kDoneInProc:
        return "DONEINPROC";
    default:
        return "?";
    }
}

} // namespace

Response walk(std::span<const std::uint8_t> payload, tds::Level level) {
    Response out;
    tds::ByteReader r(payload);
    const std::vector<ColumnInfo>* columns = nullptr;
    auto fail = [&](const std::string& why, std::size_t at) {
        out.walk_error = why + " at offset " + std::to_string(at);
        return out;
    };
    while (!r.empty()) {
        const std::size_t at = r.position();
        Token t;
        t.type = *r.u8();
        switch (t.type) {
        case tds::token::kError:
        case tds::token::kInfo: {
            auto len = r.u16le();
            auto body = len ? r.bytes(*len) : std::nullopt;
            if (!body) {
                return fail("truncated message", at);
            }
            tds::ByteReader b(*body);
            auto number = b.u32le();
            auto state = b.u8();
            auto cls = b.u8();
            auto msg = us_varchar(b);
            auto server = b_varchar(b);
            auto proc = b_varchar(b);
            auto line =
                tds::is_72_plus(level) ? b.u32le() : std::optional<std::uint32_t>(b.u16le());
            if (!number || !state || !cls || !msg || !server || !proc || !line || !b.empty()) {
                return fail("bad message token", at);
            }
            t.message = tds::ServerMessage{*number, *state, *cls, *msg, *server, *proc, *line};
            break;
        }
        case tds::token::kEnvChange: {
            auto len = r.u16le();
            auto body = len ? r.bytes(*len) : std::nullopt;
            if (!body) {
                return fail("truncated ENVCHANGE", at);
            }
            tds::ByteReader b(*body);
            auto type = b.u8();
            if (!type) {
                return fail("empty ENVCHANGE", at);
            }
            t.env = *type;
            switch (*type) {
            case 1:
            case 2:
            case 3:
            case 4:
            case 5:
            case 6:
            case 13:
            case 19: {
                auto nv = b_varchar(b);
                auto ov = b_varchar(b);
                if (!nv || !ov || !b.empty()) {
                    return fail("bad ENVCHANGE B_VARCHAR", at);
                }
                t.env_new_text = *nv;
                t.env_old_text = *ov;
                break;
            }
            default: {
                auto nv = b_varbyte(b);
                auto ov = b_varbyte(b);
                if (!nv || !ov || !b.empty()) {
                    return fail("bad ENVCHANGE B_VARBYTE", at);
                }
                t.env_new = *nv;
                t.env_old = *ov;
                break;
            }
            }
            break;
        }
        case tds::token::kLoginAck: {
            auto len = r.u16le();
            auto body = len ? r.bytes(*len) : std::nullopt;
            if (!body) {
                return fail("truncated LOGINACK", at);
            }
            tds::ByteReader b(*body);
            auto iface = b.u8();
            auto version = b.u32be();
            auto name = b_varchar(b);
            auto major = b.u8();
            auto minor = b.u8();
            auto build = b.u16be();
            if (!iface || !version || !name || !major || !minor || !build || !b.empty()) {
                return fail("bad LOGINACK", at);
            }
            t.login_ack = tds::LoginAck{*iface, *version, *name, *major, *minor, *build};
            break;
        }
        case tds::token::kDone:
        case tds::token::kDoneProc:
        case tds::token::kDoneInProc: {
            auto status = r.u16le();
            auto cmd = r.u16le();
            auto rows =
                tds::is_72_plus(level) ? r.u64le() : std::optional<std::uint64_t>(r.u32le());
            if (!status || !cmd || !rows) {
                return fail("truncated DONE", at);
            }
            t.done = tds::DoneToken{t.type, *status, *cmd, *rows};
            break;
        }
        case tds::token::kReturnStatus: {
            auto v = r.u32le();
            if (!v) {
                return fail("truncated RETURNSTATUS", at);
            }
            t.return_status = static_cast<std::int32_t>(*v);
            break;
        }
        case tds::token::kColMetadata: {
            auto count = r.u16le();
            if (!count) {
                return fail("truncated COLMETADATA", at);
            }
            if (*count != 0xFFFF) {
                for (std::uint16_t i = 0; i < *count; ++i) {
                    ColumnInfo c;
                    const bool user_ok = tds::is_72_plus(level) ? r.skip(4) : r.skip(2);
                    auto flags = r.u16le();
                    if (!user_ok || !flags) {
                        return fail("truncated column", at);
                    }
                    c.flags = *flags;
                    auto ti = parse_type_info(r, level);
                    if (!ti) {
                        return fail("bad TYPE_INFO", at);
                    }
                    if (is_text_type(ti->token)) {
                        if (tds::is_72_plus(level)) {
                            auto parts = r.u8();
                            if (!parts) {
                                return fail("truncated table name", at);
                            }
                            for (std::uint8_t p = 0; p < *parts; ++p) {
                                if (!us_varchar(r)) {
                                    return fail("truncated table name", at);
                                }
                            }
                        } else if (!us_varchar(r)) {
                            return fail("truncated table name", at);
                        }
                    }
                    auto name = b_varchar(r);
                    if (!name) {
                        return fail("truncated column name", at);
                    }
                    c.name = *name;
                    c.type_info = std::move(ti->bytes);
                    c.type = std::move(ti->text);
                    t.columns.push_back(std::move(c));
                }
            }
            out.tokens.push_back(std::move(t));
            columns = &out.tokens.back().columns;
            continue;
        }
        case tds::token::kRow: {
            if (columns == nullptr) {
                return fail("ROW without COLMETADATA", at);
            }
            for (const auto& c : *columns) {
                Bytes raw;
                auto v = read_value(r, c, level, raw);
                if (!v) {
                    return fail("bad value of column '" + c.name + "'", at);
                }
                t.row.push_back(std::move(*v));
                t.raw_values.push_back(std::move(raw));
            }
            break;
        }
        case tds::token::kReturnValue: {
            auto ordinal = r.u16le();
            auto name = ordinal ? b_varchar(r) : std::nullopt;
            auto status = name ? r.u8() : std::nullopt;
            const bool user_ok =
                status && (tds::is_72_plus(level) ? r.skip(4) : r.skip(2)) && r.skip(2);
            if (!user_ok) {
                return fail("truncated RETURNVALUE", at);
            }
            t.ordinal = *ordinal;
            t.param_name = *name;
            t.param_status = *status;
            tds::ByteReader ti_reader(r.rest());
            auto ti = parse_type_info(ti_reader, level);
            tds::ByteReader vr(r.rest());
            auto v = tds::read_typed_value(vr, level);
            if (!ti || !v) {
                return fail("bad RETURNVALUE value", at);
            }
            t.param_type = ti->text;
            t.value = std::move(*v);
            r.skip(vr.position());
            break;
        }
        case tds::token::kOrder: {
            auto len = r.u16le();
            if (!len || !r.skip(*len)) {
                return fail("truncated ORDER", at);
            }
            break;
        }
        default:
            return fail("unknown token 0x" + std::to_string(t.type), at);
        }
        out.tokens.push_back(std::move(t));
        // push_back may have moved the COLMETADATA the rows refer to: find it again
        columns = nullptr;
        for (auto it = out.tokens.rbegin(); it != out.tokens.rend(); ++it) {
            if (it->type == tds::token::kColMetadata) {
                columns = &it->columns;
                break;
            }
        }
    }
    return out;
}

std::string Response::shape() const {
    std::string s;
    for (const auto& t : tokens) {
        if (!s.empty()) {
            s += ' ';
        }
        s += token_name(t.type);
        if (t.type == tds::token::kError || t.type == tds::token::kInfo) {
            s += "(" + std::to_string(t.message.number) + ")";
        } else if (t.type == tds::token::kEnvChange) {
            s += "(" + std::to_string(t.env) + ")";
        }
    }
    return s;
}

std::vector<const Token*> Response::all(std::uint8_t type) const {
    std::vector<const Token*> v;
    for (const auto& t : tokens) {
        if (t.type == type) {
            v.push_back(&t);
        }
    }
    return v;
}

std::vector<tds::DoneToken> Response::dones() const {
    std::vector<tds::DoneToken> v;
    for (const auto& t : tokens) {
        if (t.type == tds::token::kDone || t.type == tds::token::kDoneProc ||
            t.type == tds::token::kDoneInProc) {
            v.push_back(t.done);
        }
    }
    return v;
}

std::vector<tds::ServerMessage> Response::errors() const {
    std::vector<tds::ServerMessage> v;
    for (const auto* t : all(tds::token::kError)) {
        v.push_back(t->message);
    }
    return v;
}

std::vector<tds::ServerMessage> Response::infos() const {
    std::vector<tds::ServerMessage> v;
    for (const auto* t : all(tds::token::kInfo)) {
        v.push_back(t->message);
    }
    return v;
}

std::vector<const Token*> Response::env_changes(std::uint8_t env) const {
    std::vector<const Token*> v;
    for (const auto* t : all(tds::token::kEnvChange)) {
        if (t->env == env) {
            v.push_back(t);
        }
    }
    return v;
}

std::vector<std::vector<tds::TypedValue>> Response::rows() const {
    std::vector<std::vector<tds::TypedValue>> v;
    for (const auto* t : all(tds::token::kRow)) {
        v.push_back(t->row);
    }
    return v;
}

std::vector<const Token*> Response::result_sets() const {
    return all(tds::token::kColMetadata);
}

const tds::TypedValue& Response::value() const {
    auto rows = all(tds::token::kRow);
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0]->row.size() == 1);
    return rows[0]->row[0];
}

std::string text(const tds::TypedValue& v) {
    return tds::format_value(v.value, v.type).value_or("NULL");
}

std::int64_t as_int(const tds::TypedValue& v) {
    if (const auto* n = std::get_if<std::int64_t>(&v.value)) {
        return *n;
    }
    if (const auto* b = std::get_if<bool>(&v.value)) {
        return *b ? 1 : 0;
    }
    FAIL("not an integer: " << text(v));
    return 0;
}

// --- requests --------------------------------------------------------------------------------

void write_b_varchar(tds::ByteWriter& w, std::string_view s) {
    auto u = tds::utf8_to_utf16le(s);
    w.u8(static_cast<std::uint8_t>(u.size() / 2));
    w.bytes(u);
}

Bytes sql_batch_payload(const std::string& sql, tds::Level level, std::uint64_t descriptor) {
    tds::ByteWriter w;
    if (tds::is_72_plus(level)) {
        tds::write_all_headers(w, descriptor);
    }
    w.bytes(tds::utf8_to_utf16le(sql));
    return w.take();
}

RpcParam nvarchar_param(const std::string& name, const std::string& value, tds::Level level) {
    tds::ByteWriter w;
    auto u = tds::utf8_to_utf16le(value);
    w.u8(tt::kNVarChar);
    w.u16le(8000); // nvarchar(4000)
    if (tds::has_collation(level)) {
        w.bytes(tds::kDefaultCollation);
    }
    w.u16le(static_cast<std::uint16_t>(u.size()));
    w.bytes(u);
    return RpcParam{name, 0, w.take()};
}

RpcParam int_param(const std::string& name, std::optional<std::int32_t> value, bool output) {
    tds::ByteWriter w;
    w.u8(tt::kIntN);
    w.u8(4);
    if (value) {
        w.u8(4);
        w.u32le(static_cast<std::uint32_t>(*value));
    } else {
        w.u8(0);
    }
    return RpcParam{name, static_cast<std::uint8_t>(output ? 0x01 : 0x00), w.take()};
}

RpcParam raw_param(const std::string& name, Bytes type_and_value, std::uint8_t status) {
    return RpcParam{name, status, std::move(type_and_value)};
}

RpcCallSpec call_id(std::uint16_t id, std::vector<RpcParam> params) {
    RpcCallSpec c;
    c.proc_id = id;
    c.params = std::move(params);
    return c;
}

RpcCallSpec call_named(const std::string& name, std::vector<RpcParam> params) {
    RpcCallSpec c;
    c.name = name;
    c.params = std::move(params);
    return c;
}

Bytes rpc_payload(const std::vector<RpcCallSpec>& calls, tds::Level level,
                  std::uint64_t descriptor) {
    tds::ByteWriter w;
    if (tds::is_72_plus(level)) {
        tds::write_all_headers(w, descriptor);
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const auto& c = calls[i];
        if (i > 0) {
            w.u8(tds::is_72_plus(level) ? 0xFF : 0x80); // BatchFlag (MS-TDS 2.2.6.6: 0xFF from 7.2)
        }
        if (c.proc_id) {
            w.u16le(0xFFFF);
            w.u16le(*c.proc_id);
        } else {
            auto u = tds::utf8_to_utf16le(c.name);
            w.u16le(static_cast<std::uint16_t>(u.size() / 2));
            w.bytes(u);
        }
        w.u16le(c.flags);
        for (const auto& p : c.params) {
            write_b_varchar(w, p.name);
            w.u8(p.status);
            w.bytes(p.type_and_value);
        }
    }
    return w.take();
}

Bytes tm_payload(std::uint16_t type, const Bytes& body, std::uint64_t descriptor) {
    tds::ByteWriter w;
    tds::write_all_headers(w, descriptor);
    w.u16le(type);
    w.bytes(body);
    return w.take();
}

Bytes tm_name(const std::string& name) {
    // B_VARBYTE: a byte count, then the UTF-16LE bytes. Built in a ByteWriter: GCC 12 at -O2
    // misreports push_back followed by insert as out of bounds (-Warray-bounds).
    auto u = tds::utf8_to_utf16le(name);
    tds::ByteWriter w;
    w.u8(static_cast<std::uint8_t>(u.size()));
    w.bytes(u);
    return w.take();
}

tds::Message message(tds::PacketType type, Bytes payload, std::uint8_t first_status) {
    tds::Message m;
    m.type = static_cast<std::uint8_t>(type);
    m.first_status = static_cast<std::uint8_t>(first_status | tds::status::kEndOfMessage);
    m.payload = std::move(payload);
    m.packet_count = 1;
    return m;
}

// --- the executor, run directly --------------------------------------------------------------

Response run_batch(sq::SessionState& session, const std::string& sql,
                   const sq::ServerIdentity& server) {
    tds::TokenWriter w(session.level);
    sq::Variables variables;
    sq::BatchExecutor exec(server, session, w, variables, sq::RunContext::Batch, fixed_now());
    auto parsed = sq::parse_batch(sql);
    if (!parsed) {
        exec.compile_error(parsed.error());
    } else {
        exec.run(*parsed);
    }
    exec.finish();
    auto bytes = w.take();
    auto resp = walk(bytes, session.level);
    INFO("walking the response to: " << sql);
    REQUIRE_FALSE(resp.walk_error);
    return resp;
}

// --- a driver in front of a Responder --------------------------------------------------------

tds::Login7 login7(std::uint32_t version, const std::string& user, const std::string& password,
                   const std::string& database) {
    tds::Login7 l;
    l.tds_version = version;
    l.packet_size = 4096;
    l.host_name = "test-host";
    l.user_name = user;
    l.password = password;
    l.app_name = "standin-tests";
    l.server_name = "localhost";
    l.library_name = "tlslab";
    l.database = database;
    return l;
}

Client::Client(sq::ResponderConfig config, std::uint16_t spid)
    : responder(std::move(config), spid) {}

Response Client::login(const tds::Login7& l) {
    auto m = message(tds::PacketType::Login7, tds::encode_login7(l));
    auto r = send(m);
    level = responder.level();
    return r;
}

Response Client::send(const tds::Message& m) {
    last_reply.reset();
    last_error.reset();
    auto r = responder.handle(m);
    if (!r) {
        last_error = r.error();
        return Response{};
    }
    if (!*r) {
        return Response{};
    }
    last_reply = **r;
    // The login reply is written at the level the login negotiated.
    auto resp = walk((*r)->payload, responder.level());
    INFO("walking a reply: " << (*r)->log);
    REQUIRE_FALSE(resp.walk_error);
    for (const auto* t : resp.all(tds::token::kEnvChange)) {
        if (t->env == tds::env_type::kBeginTransaction && t->env_new.size() == 8) {
            descriptor = 0;
            for (std::size_t i = 0; i < 8; ++i) {
                descriptor |= static_cast<std::uint64_t>(t->env_new[i]) << (8 * i);
            }
        } else if (t->env == tds::env_type::kCommitTransaction ||
                   t->env == tds::env_type::kRollbackTransaction) {
            descriptor = 0;
        }
    }
    return resp;
}

Response Client::batch(const std::string& sql, std::uint8_t status) {
    return send(
        message(tds::PacketType::SqlBatch, sql_batch_payload(sql, level, descriptor), status));
}

Response Client::rpc(const std::vector<RpcCallSpec>& calls, std::uint8_t status) {
    return send(message(tds::PacketType::Rpc, rpc_payload(calls, level, descriptor), status));
}

Response Client::tm(std::uint16_t type, const Bytes& body, std::uint8_t status) {
    return send(
        message(tds::PacketType::TransactionManager, tm_payload(type, body, descriptor), status));
}

bool Client::select_one() {
    auto r = batch("SELECT 1");
    auto rows = r.rows();
    return rows.size() == 1 && rows[0].size() == 1 &&
           std::get_if<std::int64_t>(&rows[0][0].value) != nullptr &&
           std::get<std::int64_t>(rows[0][0].value) == 1 && r.errors().empty();
}

} // namespace standin_test
