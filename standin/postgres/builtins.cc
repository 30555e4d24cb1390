#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <standin/postgres/builtins.h>

namespace standin::postgres {

namespace {

using Args = std::vector<Value>;
using Result = std::expected<Value, ServerError>;

Value text(std::string s) {
    return Value::of_text(oid::kText, std::move(s));
}

Value name(std::string s) {
    if (s.size() > 63) {
        s.resize(63);
    }
    return Value::of_text(oid::kName, std::move(s));
}

Value timestamptz(std::int64_t micros) {
    // rendered in UTC: the stand-in's clock is UTC and so is its default TimeZone
    return *parse_text(oid::kTimestamptz, [&] {
        std::int64_t secs = micros / 1000000;
        std::int64_t frac = micros % 1000000;
        std::int64_t days = secs / 86400;
        std::int64_t rem = secs % 86400;
        // civil from days (1970-01-01 based)
        std::int64_t z = days + 719468;
        std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        auto doe = static_cast<unsigned>(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06lld+00",
                      static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                      static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                      static_cast<long long>(frac));
        return std::string(buf);
    }());
}

Result f_version(const Args&, SessionView& s, const OutputOptions&) {
    return text(s.version_string);
}

Result f_current_setting(const Args& a, SessionView& s, const OutputOptions&) {
    bool missing_ok = a.size() > 1 && a[1].as_bool().value_or(false);
    auto v = s.settings->value(a[0].text);
    if (!v) {
        if (missing_ok) {
            return Value::null_of(oid::kText);
        }
        return std::unexpected(errors::unrecognized_parameter(a[0].text));
    }
    return text(*v);
}

Result f_set_config(const Args& a, SessionView& s, const OutputOptions&) {
    if (a[0].null) {
        auto e = errors::invalid_parameter_value("", "");
        e.sqlstate = "22004";
        e.message = "SET requires parameter name";
        e.location = {"guc_funcs.c", 289, "set_config_by_name"};
        return std::unexpected(e);
    }
    bool local = !a[2].null && a[2].as_bool().value_or(false);
    std::string value = a[1].null ? "" : a[1].text;
    auto r = a[1].null ? s.settings->reset(a[0].text, s.in_transaction_block)
                       : s.settings->set_text(a[0].text, value,
                                              local ? SettingScope::Local : SettingScope::Session,
                                              s.in_transaction_block);
    if (!r) {
        return std::unexpected(r.error());
    }
    auto v = s.settings->value(a[0].text);
    return text(v.value_or(value));
}

Result f_current_database(const Args&, SessionView& s, const OutputOptions&) {
    return name(s.database);
}

Result f_current_schema(const Args&, SessionView& s, const OutputOptions&) {
    // the first schema of search_path that exists: "$user" does not, public does
    auto path = s.settings->value("search_path").value_or("");
    std::size_t start = 0;
    while (start <= path.size()) {
        auto comma = path.find(',', start);
        std::string item =
            path.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (item.size() >= 2 && item.front() == '"') {
            item = item.substr(1, item.size() - 2);
        }
        if (item == "public" || item == "pg_catalog" || item == "information_schema") {
            return name(item);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return Value::null_of(oid::kName);
}

Result f_backend_pid(const Args&, SessionView& s, const OutputOptions&) {
    return Value::of_int(oid::kInt4, static_cast<std::int32_t>(s.process_id));
}

Result f_false(const Args&, SessionView&, const OutputOptions&) {
    return Value::of_bool(false);
}

Result f_true(const Args&, SessionView&, const OutputOptions&) {
    return Value::of_bool(true);
}

Result f_now(const Args&, SessionView& s, const OutputOptions&) {
    return timestamptz(s.transaction_start_micros);
}

Result f_statement_timestamp(const Args&, SessionView& s, const OutputOptions&) {
    return timestamptz(s.statement_start_micros);
}

Result f_postmaster_start(const Args&, SessionView& s, const OutputOptions&) {
    return timestamptz(s.server_start_micros);
}

Result f_server_addr(const Args&, SessionView& s, const OutputOptions&) {
    if (s.server_address.empty()) {
        return Value::null_of(oid::kInet);
    }
    return Value::of_text(oid::kInet, s.server_address);
}

Result f_server_port(const Args&, SessionView& s, const OutputOptions&) {
    if (s.server_port == 0) {
        return Value::null_of(oid::kInt4);
    }
    return Value::of_int(oid::kInt4, s.server_port);
}

Result f_client_addr(const Args&, SessionView& s, const OutputOptions&) {
    if (s.client_address.empty()) {
        return Value::null_of(oid::kInet);
    }
    return Value::of_text(oid::kInet, s.client_address);
}

Result f_client_port(const Args&, SessionView& s, const OutputOptions&) {
    if (s.client_port == 0) {
        return Value::null_of(oid::kInt4);
    }
    return Value::of_int(oid::kInt4, s.client_port);
}

Result f_txid_current(const Args&, SessionView& s, const OutputOptions&) {
    std::uint64_t id = s.transaction_id != nullptr ? *s.transaction_id : 750;
    return Value::of_int(oid::kInt8, static_cast<std::int64_t>(id));
}

Result f_void(const Args&, SessionView&, const OutputOptions&) {
    return Value::of_text(oid::kVoid, "");
}

Result f_advisory_unlock_all(const Args&, SessionView& s, const OutputOptions&) {
    if (s.advisory_locks != nullptr) {
        s.advisory_locks->clear();
    }
    return Value::of_text(oid::kVoid, "");
}

Result f_advisory_lock(const Args& a, SessionView& s, const OutputOptions&) {
    if (s.advisory_locks != nullptr) {
        s.advisory_locks->insert(a[0].as_int().value_or(0));
    }
    return Value::of_text(oid::kVoid, "");
}

Result f_try_advisory_lock(const Args& a, SessionView& s, const OutputOptions&) {
    if (s.advisory_locks != nullptr) {
        s.advisory_locks->insert(a[0].as_int().value_or(0));
    }
    return Value::of_bool(true);
}

Result f_advisory_unlock(const Args& a, SessionView& s, const OutputOptions&) {
    auto key = a[0].as_int().value_or(0);
    if (s.advisory_locks != nullptr && s.advisory_locks->erase(key) > 0) {
        return Value::of_bool(true);
    }
    if (s.notices != nullptr) {
        ServerError w;
        w.severity = Severity::Warning;
        w.sqlstate = "01000";
        w.message = "you don't own a lock of type ExclusiveLock";
        w.location = {"lock.c", 2035, "LockRelease"};
        s.notices->push_back(w);
    }
    return Value::of_bool(false);
}

Result f_typeof(const Args& a, SessionView&, const OutputOptions&) {
    return Value::of_text(oid::kText, type_sql_name(a[0].type));
}

Result f_format_type(const Args& a, SessionView&, const OutputOptions&) {
    auto t = a[0].as_int().value_or(0);
    const auto* info = type_by_oid(static_cast<std::uint32_t>(t));
    if (info == nullptr) {
        return text("???");
    }
    return text(std::string(info->sql_name));
}

Result f_length(const Args& a, SessionView&, const OutputOptions&) {
    std::int64_t n = 0;
    for (char c : a[0].text) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
            ++n;
        }
    }
    return Value::of_int(oid::kInt4, n);
}

Result f_upper(const Args& a, SessionView&, const OutputOptions&) {
    std::string s = a[0].text;
    for (auto& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text(s);
}

Result f_lower(const Args& a, SessionView&, const OutputOptions&) {
    std::string s = a[0].text;
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text(s);
}

Result f_concat(const Args& a, SessionView&, const OutputOptions& o) {
    std::string s;
    for (const auto& v : a) {
        if (!v.null) {
            s += v.type == oid::kBool ? (v.text == "t" ? "t" : "f") : format_text(v, o);
        }
    }
    return text(s);
}

Result f_md5(const Args& a, SessionView&, const OutputOptions&) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(a[0].text.data(), a[0].text.size(), digest, &length, EVP_md5(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < length; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 15]);
    }
    return text(out);
}

Result f_abs(const Args& a, SessionView&, const OutputOptions&) {
    const auto& v = a[0];
    if (v.type == oid::kFloat4 || v.type == oid::kFloat8) {
        return Value::of_float(v.type, std::fabs(v.real));
    }
    if (v.type == oid::kNumeric) {
        auto d = v.as_decimal().value_or(Decimal{});
        return Value::of_numeric(d.negative() ? d.negated() : d);
    }
    auto i = v.as_int().value_or(0);
    if (i == INT64_MIN || (v.type == oid::kInt4 && i == INT32_MIN) ||
        (v.type == oid::kInt2 && i == -32768)) {
        return std::unexpected(errors::out_of_range(v.type == oid::kInt2   ? "smallint"
                                                    : v.type == oid::kInt4 ? "integer"
                                                                           : "bigint",
                                                    {"int.c", 1223, "int4abs"}));
    }
    return Value::of_int(v.type, i < 0 ? -i : i);
}

Result f_random(const Args&, SessionView&, const OutputOptions&) {
    std::uint64_t r = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
    return Value::of_float(oid::kFloat8, static_cast<double>(r >> 11) * 0x1.0p-53);
}

Result f_gen_random_uuid(const Args&, SessionView&, const OutputOptions&) {
    unsigned char b[16];
    RAND_bytes(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    char buf[40];
    std::snprintf(buf, sizeof buf,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                  b[14], b[15]);
    return Value::of_text(oid::kUuid, buf);
}

Result f_encoding_to_char(const Args& a, SessionView&, const OutputOptions&) {
    auto n = a[0].as_int().value_or(-1);
    return name(n == 6 ? "UTF8" : n == 0 ? "SQL_ASCII" : "");
}

Result f_system_user(const Args&, SessionView& s, const OutputOptions&) {
    if (s.system_user.empty()) {
        return Value::null_of(oid::kText);
    }
    return text(s.system_user);
}

// clang-format off
constexpr BuiltinFunction kFunctions[] = {
    {"version", 0, 0, {}, oid::kText, Volatility::Stable, true, false, f_version},
    {"current_setting", 1, 1, {oid::kText}, oid::kText, Volatility::Stable, true, false, f_current_setting},
    {"current_setting", 2, 2, {oid::kText, oid::kBool}, oid::kText, Volatility::Stable, true, false, f_current_setting},
    {"set_config", 3, 3, {oid::kText, oid::kText, oid::kBool}, oid::kText, Volatility::Volatile, false, false, f_set_config},
    {"current_database", 0, 0, {}, oid::kName, Volatility::Stable, true, false, f_current_database},
    {"current_schema", 0, 0, {}, oid::kName, Volatility::Stable, true, false, f_current_schema},
    {"pg_backend_pid", 0, 0, {}, oid::kInt4, Volatility::Stable, true, false, f_backend_pid},
    {"pg_is_in_recovery", 0, 0, {}, oid::kBool, Volatility::Volatile, true, false, f_false},
    {"now", 0, 0, {}, oid::kTimestamptz, Volatility::Stable, true, false, f_now},
    {"transaction_timestamp", 0, 0, {}, oid::kTimestamptz, Volatility::Stable, true, false, f_now},
    {"statement_timestamp", 0, 0, {}, oid::kTimestamptz, Volatility::Stable, true, false, f_statement_timestamp},
    {"clock_timestamp", 0, 0, {}, oid::kTimestamptz, Volatility::Volatile, true, false, f_statement_timestamp},
    {"pg_postmaster_start_time", 0, 0, {}, oid::kTimestamptz, Volatility::Stable, true, false, f_postmaster_start},
    {"inet_server_addr", 0, 0, {}, oid::kInet, Volatility::Stable, true, false, f_server_addr},
    {"inet_server_port", 0, 0, {}, oid::kInt4, Volatility::Stable, true, false, f_server_port},
    {"inet_client_addr", 0, 0, {}, oid::kInet, Volatility::Stable, true, false, f_client_addr},
    {"inet_client_port", 0, 0, {}, oid::kInt4, Volatility::Stable, true, false, f_client_port},
    {"txid_current", 0, 0, {}, oid::kInt8, Volatility::Volatile, true, false, f_txid_current},
    {"pg_sleep", 1, 1, {oid::kFloat8}, oid::kVoid, Volatility::Volatile, true, false, f_void},
    {"pg_advisory_unlock_all", 0, 0, {}, oid::kVoid, Volatility::Volatile, true, false, f_advisory_unlock_all},
    {"pg_advisory_lock", 1, 1, {oid::kInt8}, oid::kVoid, Volatility::Volatile, true, false, f_advisory_lock},
    {"pg_advisory_xact_lock", 1, 1, {oid::kInt8}, oid::kVoid, Volatility::Volatile, true, false, f_void},
    {"pg_try_advisory_lock", 1, 1, {oid::kInt8}, oid::kBool, Volatility::Volatile, true, false, f_try_advisory_lock},
    {"pg_try_advisory_xact_lock", 1, 1, {oid::kInt8}, oid::kBool, Volatility::Volatile, true, false, f_true},
    {"pg_advisory_unlock", 1, 1, {oid::kInt8}, oid::kBool, Volatility::Volatile, true, false, f_advisory_unlock},
    {"pg_typeof", 1, 1, {kAnyType}, oid::kText, Volatility::Stable, false, false, f_typeof},
    {"format_type", 2, 2, {oid::kOid, oid::kInt4}, oid::kText, Volatility::Stable, false, false, f_format_type},
    {"length", 1, 1, {oid::kText}, oid::kInt4, Volatility::Immutable, true, false, f_length},
    {"char_length", 1, 1, {oid::kText}, oid::kInt4, Volatility::Immutable, true, false, f_length},
    {"character_length", 1, 1, {oid::kText}, oid::kInt4, Volatility::Immutable, true, false, f_length},
    {"upper", 1, 1, {oid::kText}, oid::kText, Volatility::Immutable, true, false, f_upper},
    {"lower", 1, 1, {oid::kText}, oid::kText, Volatility::Immutable, true, false, f_lower},
    {"concat", 0, 0, {}, oid::kText, Volatility::Stable, false, true, f_concat},
    {"md5", 1, 1, {oid::kText}, oid::kText, Volatility::Immutable, true, false, f_md5},
    {"abs", 1, 1, {oid::kInt2}, 0, Volatility::Immutable, true, false, f_abs},
    {"abs", 1, 1, {oid::kInt4}, 0, Volatility::Immutable, true, false, f_abs},
    {"abs", 1, 1, {oid::kInt8}, 0, Volatility::Immutable, true, false, f_abs},
    {"abs", 1, 1, {oid::kNumeric}, 0, Volatility::Immutable, true, false, f_abs},
    {"abs", 1, 1, {oid::kFloat8}, 0, Volatility::Immutable, true, false, f_abs},
    {"random", 0, 0, {}, oid::kFloat8, Volatility::Volatile, true, false, f_random},
    {"gen_random_uuid", 0, 0, {}, oid::kUuid, Volatility::Volatile, true, false, f_gen_random_uuid},
    {"pg_encoding_to_char", 1, 1, {oid::kInt4}, oid::kName, Volatility::Stable, true, false, f_encoding_to_char},
    {"system_user", 0, 0, {}, oid::kText, Volatility::Stable, true, false, f_system_user},
};
// clang-format on

int numeric_rank(std::uint32_t t) {
    switch (t) {
    case oid::kInt2:
        return 1;
    case oid::kInt4:
        return 2;
    case oid::kInt8:
        return 3;
    case oid::kNumeric:
        return 4;
    case oid::kFloat4:
        return 5;
    case oid::kFloat8:
        return 6;
    default:
        return 0;
    }
}

} // namespace

bool implicitly_castable(std::uint32_t from, std::uint32_t to) {
    if (from == to || from == oid::kUnknown || to == kAnyType) {
        return true;
    }
    int rf = numeric_rank(from);
    int rt = numeric_rank(to);
    if (rf > 0 && rt > 0) {
        return rf <= rt;
    }
    if (to == oid::kOid && is_integer_type(from) && from != oid::kInt8) {
        return true;
    }
    if (is_string_type(from) && is_string_type(to)) {
        return true;
    }
    return false;
}

bool function_name_known(std::string_view name) {
    return std::any_of(std::begin(kFunctions), std::end(kFunctions),
                       [&](const BuiltinFunction& f) { return f.name == name; });
}

const BuiltinFunction* find_function(std::string_view name,
                                     const std::vector<std::uint32_t>& args) {
    const BuiltinFunction* best = nullptr;
    int best_exact = -1;
    for (const auto& f : kFunctions) {
        if (f.name != name) {
            continue;
        }
        if (f.variadic) {
            return &f;
        }
        if (args.size() < f.min_args || args.size() > f.max_args) {
            continue;
        }
        bool ok = true;
        int exact = 0;
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i] == f.arg_types[i]) {
                ++exact;
            } else if (!implicitly_castable(args[i], f.arg_types[i])) {
                ok = false;
            }
        }
        if (ok && exact > best_exact) {
            best = &f;
            best_exact = exact;
        }
    }
    return best;
}

} // namespace standin::postgres
