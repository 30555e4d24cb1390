#include <algorithm>
#include <chrono>
#include <cstdio>

#include <standin/sqlserver/builtins.h>
#include <standin/sqlserver/sql_lexer.h>
#include <tds/utf16.h>

namespace standin::sqlserver {

using tds::TypedValue;
using tds::Value;

std::string ServerIdentity::product_version() const {
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build) + "." +
           std::to_string(revision);
}

std::string ServerIdentity::version() const {
    if (!version_text.empty()) {
        return version_text;
    }
    return "Microsoft SQL Server 2022 (" + product_level + ") - " + product_version() +
           " (X64) \n\tOct  8 2022 05:58:25 \n\tCopyright (C) 2022 Microsoft Corporation\n\t" +
           edition + " on Linux (tlslab stand-in) <X64>";
}

tds::DateTime system_clock_utc() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto day = floor<days>(now);
    const year_month_day ymd{day};
    tds::DateTime t;
    t.days = tds::days_from_civil(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                                  static_cast<unsigned>(ymd.day()));
    t.ticks = static_cast<std::uint64_t>(duration_cast<nanoseconds>(now - day).count() / 100);
    return t;
}

namespace {

TypedValue nvarchar(std::string s, std::uint32_t chars = 128) {
    return TypedValue{tds::nvarchar_type(chars), Value{std::move(s)}};
}
TypedValue null_of(tds::TypeInfo t) {
    return TypedValue{t, Value{}};
}
TypedValue int_of(std::int64_t n) {
    return TypedValue{tds::int_type(), Value{n}};
}
TypedValue smallint_of(std::int64_t n) {
    return TypedValue{tds::smallint_type(), Value{n}};
}
TypedValue tinyint_of(std::int64_t n) {
    return TypedValue{tds::tinyint_type(), Value{n}};
}
TypedValue variant_of(Value v) {
    return TypedValue{tds::variant_type(), std::move(v)};
}
TypedValue sysname_of(std::string s) {
    return TypedValue{tds::sysname_type(), Value{std::move(s)}};
}

std::uint32_t microsoft_version(const ServerIdentity& s) {
    return (static_cast<std::uint32_t>(s.major) << 24) |
           (static_cast<std::uint32_t>(s.minor) << 16) | s.build;
}

// The lab login owns nothing: it maps to dbo in every database, like a login that owns them.
constexpr const char* kUser = "dbo";
constexpr const char* kSchema = "dbo";

std::optional<std::string> as_text(const TypedValue& v) {
    return tds::format_value(v.value, v.type);
}

std::optional<std::int64_t> as_integer(const TypedValue& v) {
    if (const auto* n = std::get_if<std::int64_t>(&v.value)) {
        return *n;
    }
    if (const auto* b = std::get_if<bool>(&v.value)) {
        return *b ? 1 : 0;
    }
    return std::nullopt;
}

std::optional<std::size_t> database_index(const ServerIdentity& s, const std::string& name) {
    for (std::size_t i = 0; i < s.databases.size(); ++i) {
        if (iequals(s.databases[i], name)) {
            return i;
        }
    }
    return std::nullopt;
}

tds::DateTime local_now(const EvalContext& c) {
    return c.now_utc;
} // the stand-in runs on UTC

Value server_property(const std::string& name, const EvalContext& c) {
    const ServerIdentity& s = c.server;
    const std::string p = lower_ascii(name);
    struct Prop {
        std::string_view name;
        Value (*get)(const ServerIdentity&, const SessionState&);
    };
    static const Prop kProps[] = {
        {"productversion",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.product_version()};
         }},
        {"productlevel",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.product_level};
         }},
        {"productmajorversion",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{std::to_string(i.major)};
         }},
        {"productminorversion",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{std::to_string(i.minor)};
         }},
        {"productbuild",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{std::to_string(i.build)};
         }},
        {"productbuildtype",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
        {"productupdatelevel",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
        {"productupdatereference",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
        {"edition",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.edition};
         }},
        {"editionid",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.edition_id};
         }},
        {"engineedition",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{std::int64_t{i.engine_edition}};
         }},
        {"machinename",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.machine_name};
         }},
        {"servername",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.server_name};
         }},
        {"instancename",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
        {"computernamephysicalnetbios",
         [](const ServerIdentity& i, const SessionState&) {
             return Value{i.machine_name};
         }},
        {"isclustered",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"ishadrenabled",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"hadrmanagerstatus",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
        {"isfulltextinstalled",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"isintegratedsecurityonly",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"issingleuser",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"isxtpsupported",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{1}};
         }},
        {"ispolybaseinstalled",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"isadvancedanalyticsinstalled",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"islocaldb",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
        {"istempdbmetadatamemoryoptimized",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"isexternalauthenticationonly",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"collation",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("SQL_Latin1_General_CP1_CI_AS")};
         }},
        {"collationid",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{872468488}};
         }},
        {"lcid",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{1033}};
         }},
        {"sqlcharset",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{1}};
         }},
        {"sqlcharsetname",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("iso_1")};
         }},
        {"sqlsortorder",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{52}};
         }},
        {"sqlsortordername",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("nocase_iso")};
         }},
        {"comparisonstyle",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{196609}};
         }},
        {"buildclrversion",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("v4.0.30319")};
         }},
        {"resourceversion",
         [](const ServerIdentity& i, const SessionState&) {
             char buf[32];
             std::snprintf(buf, sizeof buf, "%u.%02u.%u", static_cast<unsigned>(i.major),
                           static_cast<unsigned>(i.minor), static_cast<unsigned>(i.build));
             return Value{std::string(buf)};
         }},
        {"processid",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{1}};
         }},
        {"filestreamconfiguredlevel",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"filestreameffectivelevel",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::int64_t{0}};
         }},
        {"filestreamsharename",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("MSSQLSERVER")};
         }},
        {"instancedefaultdatapath",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("/var/opt/mssql/data/")};
         }},
        {"instancedefaultlogpath",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("/var/opt/mssql/data/")};
         }},
        {"instancedefaultbackuppath",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("/var/opt/mssql/data")};
         }},
        {"errorlogfilename",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("/var/opt/mssql/log/errorlog")};
         }},
        {"licensetype",
         [](const ServerIdentity&, const SessionState&) {
             return Value{std::string("DISABLED")};
         }},
        {"numlicenses",
         [](const ServerIdentity&, const SessionState&) {
             return Value{};
         }},
    };
    for (const auto& prop : kProps) {
        if (prop.name == p) {
            return prop.get(s, c.session);
        }
    }
    return Value{}; // SQL Server answers NULL for a property it does not know
}

// The base type SERVERPROPERTY documents for a property whose value is not int or nvarchar.
tds::SqlType server_property_base(const std::string& name) {
    const std::string p = lower_ascii(name);
    if (p == "editionid") {
        return tds::SqlType::BigInt;
    }
    if (p == "sqlcharset" || p == "sqlsortorder") {
        return tds::SqlType::TinyInt;
    }
    return tds::SqlType::Variant;
}

Value connection_property(const std::string& name, const EvalContext& c) {
    const std::string p = lower_ascii(name);
    if (p == "net_transport" || p == "physical_net_transport") {
        return Value{std::string("TCP")};
    }
    if (p == "protocol_type") {
        return Value{std::string("TSQL")};
    }
    if (p == "auth_scheme") {
        return Value{std::string("SQL")};
    }
    if (p == "client_net_address") {
        return c.session.client_address.empty() ? Value{} : Value{c.session.client_address};
    }
    return Value{};
}

Value database_property(const std::string& db, const std::string& name, const EvalContext& c) {
    if (!database_index(c.server, db)) {
        return Value{};
    }
    const std::string p = lower_ascii(name);
    static const std::pair<std::string_view, std::string_view> kText[] = {
        {"collation", "SQL_Latin1_General_CP1_CI_AS"},
        {"status", "ONLINE"},
        {"updateability", "READ_WRITE"},
        {"useraccess", "MULTI_USER"},
        {"recovery", "SIMPLE"},
        {"sqlsortorder", "52"},
    };
    for (auto [k, v] : kText) {
        if (p == k) {
            return Value{std::string(v)};
        }
    }
    if (p == "version") {
        return Value{std::int64_t{957}};
    }
    if (p.rfind("is", 0) == 0) {
        return Value{std::int64_t{0}};
    }
    return Value{};
}

Value session_property(const std::string& name, const EvalContext& c) {
    const std::string p = lower_ascii(name);
    static const std::pair<std::string_view, std::uint32_t> kBits[] = {
        {"ansi_nulls", option_bit::kAnsiNulls},
        {"ansi_padding", option_bit::kAnsiPadding},
        {"ansi_warnings", option_bit::kAnsiWarnings},
        {"arithabort", option_bit::kArithAbort},
        {"concat_null_yields_null", option_bit::kConcatNullYieldsNull},
        {"numeric_roundabort", option_bit::kNumericRoundAbort},
        {"quoted_identifier", option_bit::kQuotedIdentifier},
    };
    for (auto [k, bit] : kBits) {
        if (p == k) {
            return Value{std::int64_t{c.session.option(bit) ? 1 : 0}};
        }
    }
    return Value{};
}

struct SystemVariableEntry {
    std::string_view name;
    TypedValue (*get)(const EvalContext&);
};

const SystemVariableEntry kSystemVariables[] = {
    {"@@version",
     [](const EvalContext& c) {
         return nvarchar(c.server.version(), 300);
     }},
    {"@@spid",
     [](const EvalContext& c) {
         return smallint_of(c.session.spid);
     }},
    {"@@servername",
     [](const EvalContext& c) {
         return nvarchar(c.server.server_name);
     }},
    {"@@servicename",
     [](const EvalContext&) {
         return nvarchar("MSSQLSERVER");
     }},
    {"@@language",
     [](const EvalContext& c) {
         return nvarchar(c.session.language);
     }},
    {"@@langid",
     [](const EvalContext&) {
         return smallint_of(0);
     }},
    {"@@max_precision",
     [](const EvalContext&) {
         return tinyint_of(38);
     }},
    {"@@trancount",
     [](const EvalContext& c) {
         return int_of(c.session.tran_count);
     }},
    {"@@options",
     [](const EvalContext& c) {
         return int_of(c.session.options);
     }},
    {"@@textsize",
     [](const EvalContext& c) {
         return int_of(c.session.text_size);
     }},
    {"@@microsoftversion",
     [](const EvalContext& c) {
         return int_of(static_cast<std::int32_t>(microsoft_version(c.server)));
     }},
    {"@@dbts",
     [](const EvalContext&) {
         return TypedValue{tds::varbinary_type(8), Value{tds::Bytes{0, 0, 0, 0, 0, 0, 0x07, 0xD0}}};
     }},
    {"@@error",
     [](const EvalContext& c) {
         return int_of(c.session.last_error);
     }},
    {"@@rowcount",
     [](const EvalContext& c) {
         return int_of(c.session.last_row_count);
     }},
    {"@@identity",
     [](const EvalContext&) {
         return null_of(tds::numeric_type(38, 0));
     }},
    {"@@datefirst",
     [](const EvalContext& c) {
         return tinyint_of(c.session.date_first);
     }},
    {"@@lock_timeout",
     [](const EvalContext& c) {
         return int_of(c.session.lock_timeout);
     }},
    {"@@nestlevel",
     [](const EvalContext&) {
         return int_of(0);
     }},
    {"@@procid",
     [](const EvalContext&) {
         return int_of(0);
     }},
    {"@@remserver",
     [](const EvalContext&) {
         return null_of(tds::nvarchar_type(128));
     }},
    {"@@max_connections",
     [](const EvalContext&) {
         return int_of(32767);
     }},
    {"@@connections",
     [](const EvalContext&) {
         return int_of(1);
     }},
    {"@@timeticks",
     [](const EvalContext&) {
         return int_of(31250);
     }},
    {"@@fetch_status",
     [](const EvalContext&) {
         return int_of(-1);
     }},
    {"@@cursor_rows",
     [](const EvalContext&) {
         return int_of(0);
     }},
    {"@@pack_received",
     [](const EvalContext&) {
         return int_of(0);
     }},
    {"@@pack_sent",
     [](const EvalContext&) {
         return int_of(0);
     }},
    {"@@packet_errors",
     [](const EvalContext&) {
         return int_of(0);
     }},
};

using Args = std::vector<TypedValue>;

struct FunctionEntry {
    std::string_view name;
    std::size_t min_args;
    std::size_t max_args;
    Evaluated (*call)(const Args&, const EvalContext&);
};

Evaluated first_non_null(const Args& a, const EvalContext&) {
    for (const auto& v : a) {
        if (!tds::is_null(v.value)) {
            return v;
        }
    }
    return a.empty() ? null_of(tds::int_type()) : TypedValue{a.front().type, Value{}};
}

Evaluated string_fn(const Args& a, std::string (*f)(std::string)) {
    if (tds::is_null(a[0].value)) {
        return a[0];
    }
    auto t = as_text(a[0]);
    return TypedValue{a[0].type, Value{f(t.value_or(""))}};
}

const FunctionEntry kFunctions[] = {
    {"db_name", 0, 1,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         if (a.empty()) {
             return nvarchar(c.session.database);
         }
         auto id = as_integer(a[0]);
         if (!id || *id < 1 || static_cast<std::size_t>(*id) > c.server.databases.size()) {
             return null_of(tds::nvarchar_type(128));
         }
         return nvarchar(c.server.databases[static_cast<std::size_t>(*id - 1)]);
     }},
    {"db_id", 0, 1,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         std::string name = a.empty() ? c.session.database : as_text(a[0]).value_or("");
         auto i = database_index(c.server, name);
         return i ? int_of(static_cast<std::int64_t>(*i) + 1) : null_of(tds::int_type());
     }},
    {"suser_sname", 0, 1,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return nvarchar(c.session.login);
     }},
    {"suser_name", 0, 1,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return nvarchar(c.session.login);
     }},
    {"original_login", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return sysname_of(c.session.login);
     }},
    {"user_name", 0, 1,
     [](const Args&, const EvalContext&) -> Evaluated {
         return nvarchar(kUser);
     }},
    {"schema_name", 0, 1,
     [](const Args&, const EvalContext&) -> Evaluated {
         return sysname_of(kSchema);
     }},
    {"host_name", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return nvarchar(c.session.host_name);
     }},
    {"app_name", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return nvarchar(c.session.app_name);
     }},
    {"getdate", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return TypedValue{tds::datetime_type(), Value{local_now(c)}};
     }},
    {"getutcdate", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return TypedValue{tds::datetime_type(), Value{c.now_utc}};
     }},
    {"sysdatetime", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return TypedValue{tds::datetime2_type(7), Value{local_now(c)}};
     }},
    {"sysutcdatetime", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return TypedValue{tds::datetime2_type(7), Value{c.now_utc}};
     }},
    {"sysdatetimeoffset", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return TypedValue{tds::datetimeoffset_type(7), Value{local_now(c)}};
     }},
    {"serverproperty", 1, 1,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         const std::string name = as_text(a[0]).value_or("");
         TypedValue v = variant_of(server_property(name, c));
         v.type.variant_base = server_property_base(name);
         return v;
     }},
    {"connectionproperty", 1, 1,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         return variant_of(connection_property(as_text(a[0]).value_or(""), c));
     }},
    {"databasepropertyex", 2, 2,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         return variant_of(
             database_property(as_text(a[0]).value_or(""), as_text(a[1]).value_or(""), c));
     }},
    {"sessionproperty", 1, 1,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         return variant_of(session_property(as_text(a[0]).value_or(""), c));
     }},
    {"object_id", 1, 2,
     [](const Args&, const EvalContext&) -> Evaluated {
         return null_of(tds::int_type());
     }},
    {"object_name", 1, 2,
     [](const Args&, const EvalContext&) -> Evaluated {
         return null_of(tds::nvarchar_type(128));
     }},
    {"scope_identity", 0, 0,
     [](const Args&, const EvalContext&) -> Evaluated {
         return null_of(tds::numeric_type(38, 0));
     }},
    {"ident_current", 1, 1,
     [](const Args&, const EvalContext&) -> Evaluated {
         return null_of(tds::numeric_type(38, 0));
     }},
    {"xact_state", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         return smallint_of(c.session.tran_count > 0 ? 1 : 0);
     }},
    {"is_srvrolemember", 1, 2,
     [](const Args& a, const EvalContext&) -> Evaluated {
         return int_of(iequals(as_text(a[0]).value_or(""), "public") ? 1 : 0);
     }},
    {"is_member", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         auto role = as_text(a[0]).value_or("");
         return int_of(iequals(role, "public") || iequals(role, "db_owner") ? 1 : 0);
     }},
    {"has_dbaccess", 1, 1,
     [](const Args& a, const EvalContext& c) -> Evaluated {
         return database_index(c.server, as_text(a[0]).value_or("")) ? int_of(1)
                                                                     : null_of(tds::int_type());
     }},
    {"isnull", 2, 2,
     [](const Args& a, const EvalContext&) -> Evaluated {
         return tds::is_null(a[0].value) ? convert(a[1], a[0].type) : Evaluated{a[0]};
     }},
    {"coalesce", 1, 255, first_non_null},
    {"nullif", 2, 2,
     [](const Args& a, const EvalContext&) -> Evaluated {
         if (!tds::is_null(a[0].value) && as_text(a[0]) == as_text(a[1])) {
             return TypedValue{a[0].type, Value{}};
         }
         return a[0];
     }},
    {"len", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         auto t = as_text(a[0]);
         if (!t) {
             return null_of(tds::int_type());
         }
         std::string s = *t;
         while (!s.empty() && s.back() == ' ') {
             s.pop_back();
         }
         return int_of(static_cast<std::int64_t>(tds::utf8_to_utf16le(s).size() / 2));
     }},
    {"datalength", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         if (tds::is_null(a[0].value)) {
             return null_of(tds::int_type());
         }
         if (const auto* b = std::get_if<tds::Bytes>(&a[0].value)) {
             return int_of(static_cast<std::int64_t>(b->size()));
         }
         auto t = as_text(a[0]).value_or("");
         const bool unicode =
             a[0].type.type == tds::SqlType::NVarChar || a[0].type.type == tds::SqlType::NChar;
         return int_of(static_cast<std::int64_t>(unicode ? tds::utf8_to_utf16le(t).size()
                                                         : tds::utf8_to_cp1252(t).size()));
     }},
    {"upper", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         return string_fn(a, [](std::string s) {
             std::transform(s.begin(), s.end(), s.begin(), [](char ch) {
                 return static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
             });
             return s;
         });
     }},
    {"lower", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         return string_fn(a, [](std::string s) { return lower_ascii(s); });
     }},
    {"ltrim", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         return string_fn(a, [](std::string s) {
             return s.erase(0, s.find_first_not_of(' ') == std::string::npos
                                   ? s.size()
                                   : s.find_first_not_of(' '));
         });
     }},
    {"rtrim", 1, 1,
     [](const Args& a, const EvalContext&) -> Evaluated {
         return string_fn(a, [](std::string s) {
             while (!s.empty() && s.back() == ' ') {
                 s.pop_back();
             }
             return s;
         });
     }},
    {"newid", 0, 0,
     [](const Args&, const EvalContext& c) -> Evaluated {
         tds::Guid g{};
         std::uint64_t seed = c.now_utc.ticks ^ (static_cast<std::uint64_t>(c.session.spid) << 48);
         for (auto& b : g) {
             seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
             b = static_cast<std::uint8_t>(seed >> 56);
         }
         g[7] = static_cast<std::uint8_t>((g[7] & 0x0F) | 0x40); // version 4
         TypedValue v;
         v.type.type = tds::SqlType::UniqueIdentifier;
         v.value = g;
         return v;
     }},
    {"count", 1, 1,
     [](const Args&, const EvalContext&) -> Evaluated {
         return int_of(1);
     }},
};

} // namespace

Evaluated system_variable(const std::string& name, const EvalContext& ctx) {
    for (const auto& v : kSystemVariables) {
        if (v.name == name) {
            return v.get(ctx);
        }
    }
    return std::unexpected(errors::undeclared_variable(name));
}

Evaluated niladic_function(const std::string& name, const EvalContext& ctx) {
    if (name == "current_timestamp") {
        return TypedValue{tds::datetime_type(), Value{local_now(ctx)}};
    }
    if (name == "system_user") {
        return nvarchar(ctx.session.login);
    }
    return sysname_of(kUser); // current_user, session_user, user
}

Evaluated call_function(const std::string& name, const std::vector<TypedValue>& args,
                        const EvalContext& ctx) {
    if (name.find('.') != std::string::npos) {
        return std::unexpected(SqlError{4121, 1, 16,
                                        "Cannot find either column \"" +
                                            name.substr(0, name.find('.')) +
                                            "\" or the user-defined function or aggregate \"" +
                                            name + "\", or the name is ambiguous.",
                                        ErrorScope::Batch});
    }
    for (const auto& f : kFunctions) {
        if (f.name == name) {
            if (args.size() < f.min_args || args.size() > f.max_args) {
                std::string upper(name);
                for (auto& ch : upper) {
                    ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
                }
                return std::unexpected(errors::wrong_argument_count(upper, f.min_args));
            }
            return f.call(args, ctx);
        }
    }
    return std::unexpected(errors::unknown_function(name));
}

} // namespace standin::sqlserver
