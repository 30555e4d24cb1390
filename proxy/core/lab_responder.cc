#include <algorithm>
#include <cctype>

#include <proxy/core/lab_responder.h>
#include <tds/packet.h>
#include <tds/sql_batch.h>
#include <tds/tokens.h>

namespace proxy {

namespace {

constexpr std::uint32_t kLoginFailed = 18456;
constexpr std::uint8_t kLoginFailedClass = 14;
constexpr std::uint32_t kChangedDatabase = 5701;
constexpr std::uint32_t kChangedLanguage = 5703;
constexpr std::uint32_t kUnsupportedStatement = 50000;
constexpr std::uint8_t kUserErrorClass = 16;
constexpr std::uint8_t kInfoClass = 10;
// What LOGINACK reports as the server's version: SQL Server 2022's major version, so drivers
// that switch features on the version see a current server.
constexpr std::uint8_t kServerMajor = 16;
constexpr std::uint8_t kServerMinor = 0;
constexpr std::uint16_t kServerBuild = 1000;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) {
        return "";
    }
    auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

// normalise: lower case, runs of white space as one space, no trailing semicolons.
std::string normalise(const std::string& sql) {
    std::string out;
    bool space = false;
    for (char c : trim(sql)) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            space = true;
            continue;
        }
        if (space && !out.empty()) {
            out.push_back(' ');
        }
        space = false;
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    while (!out.empty() && (out.back() == ';' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

// split_statements cuts a batch at newlines and semicolons; empty pieces are dropped.
std::vector<std::string> split_statements(const std::string& sql) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : sql) {
        if (c == '\n' || c == ';') {
            if (auto t = trim(cur); !t.empty()) {
                out.push_back(t);
            }
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (auto t = trim(cur); !t.empty()) {
        out.push_back(t);
    }
    return out;
}

bool is_known_version(std::uint32_t v) {
    return v == tds::tds_version::k71 || v == tds::tds_version::k72 ||
           v == tds::tds_version::k73A || v == tds::tds_version::k73B ||
           v == tds::tds_version::k74 || v == tds::tds_version::k80;
}

std::string preview(const std::string& sql) {
    std::string one = normalise(sql);
    return one.size() > 80 ? one.substr(0, 77) + "..." : one;
}

} // namespace

std::expected<std::optional<LabResponder::Reply>, std::string>
LabResponder::handle(const tds::Message& message) {
    auto type = static_cast<tds::PacketType>(message.type);
    if (message.ignored) {
        return std::optional<Reply>{}; // the client abandoned the message: no answer
    }
    if (!logged_in_) {
        if (type != tds::PacketType::Login7) {
            return std::unexpected("expected LOGIN7, got a " + std::string(tds::to_string(type)) +
                                   " message");
        }
        auto login = tds::decode_login7(message.payload);
        if (!login) {
            return std::unexpected("LOGIN7: " + std::string(tds::to_string(login.error())));
        }
        Reply r = answer_login(*login);
        login_ = std::move(*login);
        return std::optional<Reply>{std::move(r)};
    }
    switch (type) {
    case tds::PacketType::SqlBatch: {
        bool all_headers =
            tds_version_ >= tds::tds_version::k72 || tds_version_ == tds::tds_version::k80;
        auto batch = tds::decode_sql_batch(message.payload, all_headers);
        if (!batch) {
            return std::unexpected("SQL batch: " + std::string(tds::to_string(batch.error())));
        }
        return std::optional<Reply>{answer_batch(batch->text)};
    }
    case tds::PacketType::Attention: {
        tds::TokenWriter w;
        w.done(tds::done_status::kAttention);
        return std::optional<Reply>{Reply{w.take(), std::nullopt, false, "attention acknowledged"}};
    }
    case tds::PacketType::Rpc:
        return std::optional<Reply>{sql_error(
            kUnsupportedStatement, "tlslab serve does not run remote procedure calls (RPC); "
                                   "send SELECT 1, SELECT @@VERSION or SET statements as a batch")};
    case tds::PacketType::TransactionManager:
        return std::optional<Reply>{
            sql_error(kUnsupportedStatement, "tlslab serve does not manage transactions")};
    case tds::PacketType::BulkLoad:
        return std::optional<Reply>{
            sql_error(kUnsupportedStatement, "tlslab serve does not accept bulk loads")};
    case tds::PacketType::Login7:
    case tds::PacketType::PreLogin:
    case tds::PacketType::PreTds7Login:
    case tds::PacketType::TabularResult:
    case tds::PacketType::FedAuthToken:
    case tds::PacketType::Sspi:
        break;
    }
    return std::unexpected("unexpected " + std::string(tds::to_string(type)) +
                           " message after login (type " + std::to_string(message.type) + ")");
}

LabResponder::Reply LabResponder::answer_login(const tds::Login7& login) {
    tds::TokenWriter w;
    auto kind = login.auth_kind();
    bool ok = kind == tds::AuthKind::Sql && login.user_name == config_.user &&
              login.password == config_.password;
    if (!ok) {
        tds::ServerMessage m;
        m.number = kLoginFailed;
        m.state = 1;
        m.severity = kLoginFailedClass;
        m.text = "Login failed for user '" + login.user_name + "'.";
        m.server_name = config_.server_name;
        w.error(m);
        w.done(tds::done_status::kError);
        std::string why = kind != tds::AuthKind::Sql
                              ? std::string(tds::to_string(kind)) +
                                    " authentication is not supported (SQL authentication only)"
                          : login.user_name != config_.user ? "unknown user"
                                                            : "wrong password";
        return Reply{w.take(), std::nullopt, true,
                     "login failed for user '" + login.user_name + "': " + why};
    }

    tds_version_ = is_known_version(login.tds_version) ? login.tds_version : tds::tds_version::k74;
    std::size_t packet_size = login.packet_size == 0 ? tds::kDefaultPacketLen : login.packet_size;
    packet_size = std::clamp(packet_size, tds::kMinNegotiatedPacketLen, tds::kMaxPacketLen);
    std::string database = login.database.empty() ? "master" : login.database;

    tds::ServerMessage info;
    info.severity = kInfoClass;
    info.server_name = config_.server_name;
    w.env_change(tds::env_type::kDatabase, database, "master");
    info.number = kChangedDatabase;
    info.text = "Changed database context to '" + database + "'.";
    w.info(info);
    w.env_change_bytes(tds::env_type::kCollation, tds::kDefaultCollation, {});
    w.env_change(tds::env_type::kLanguage, "us_english", "");
    info.number = kChangedLanguage;
    info.text = "Changed language setting to us_english.";
    w.info(info);
    w.env_change(tds::env_type::kPacketSize, std::to_string(packet_size),
                 std::to_string(tds::kDefaultPacketLen));
    w.login_ack(tds_version_, "Microsoft SQL Server", kServerMajor, kServerMinor, kServerBuild);
    w.done(tds::done_status::kFinal);
    logged_in_ = true;
    return Reply{w.take(), packet_size, false,
                 "login ok: user '" + login.user_name + "', TDS " +
                     tds::tds_version_name(login.tds_version) + ", packet size " +
                     std::to_string(packet_size)};
}

LabResponder::Reply LabResponder::answer_batch(const std::string& sql) {
    tds::TokenWriter w;
    std::string norm = normalise(sql);
    if (norm == "select 1") {
        const tds::Column cols[] = {{"", tds::ColumnType::IntN}};
        const tds::Value row[] = {std::int32_t{1}};
        w.col_metadata(cols).row(cols, row);
        w.done(tds::done_status::kCount, tds::kCurCmdSelect, 1);
        return Reply{w.take(), std::nullopt, false, ""};
    }
    if (norm == "select @@version") {
        const tds::Column cols[] = {{"", tds::ColumnType::NVarChar}};
        const tds::Value row[] = {config_.version_text};
        w.col_metadata(cols).row(cols, row);
        w.done(tds::done_status::kCount, tds::kCurCmdSelect, 1);
        return Reply{w.take(), std::nullopt, false, ""};
    }
    auto statements = split_statements(sql);
    bool all_set = !statements.empty() &&
                   std::all_of(statements.begin(), statements.end(), [](const std::string& s) {
                       std::string l = lower(s);
                       return l.rfind("set ", 0) == 0 || l.rfind("set\t", 0) == 0;
                   });
    if (all_set) {
        for (std::size_t i = 0; i < statements.size(); ++i) {
            bool last = i + 1 == statements.size();
            w.done(last ? tds::done_status::kFinal : tds::done_status::kMore);
        }
        return Reply{w.take(), std::nullopt, false, ""};
    }
    return sql_error(kUnsupportedStatement,
                     "tlslab serve answers SELECT 1, SELECT @@VERSION and SET statements only; "
                     "it did not run: " +
                         preview(sql));
}

LabResponder::Reply LabResponder::sql_error(std::uint32_t number, const std::string& text) {
    tds::TokenWriter w;
    tds::ServerMessage m;
    m.number = number;
    m.state = 1;
    m.severity = kUserErrorClass;
    m.text = text;
    m.server_name = config_.server_name;
    m.line = 1;
    w.error(m);
    w.done(tds::done_status::kError);
    return Reply{w.take(), std::nullopt, false, text};
}

} // namespace proxy
