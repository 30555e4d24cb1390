#include <chrono>

#include <standin/postgres/responder.h>

namespace standin::postgres {

namespace {

std::int64_t system_clock_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// split_options: the `options` startup parameter, split on unescaped white space as
// pg_split_opts does (a backslash escapes the next character).
std::vector<std::string> split_options(std::string_view options) {
    std::vector<std::string> out;
    std::string current;
    bool in_word = false;
    for (std::size_t i = 0; i < options.size(); ++i) {
        char c = options[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            if (in_word) {
                out.push_back(current);
                current.clear();
                in_word = false;
            }
            continue;
        }
        if (c == '\\' && i + 1 < options.size()) {
            c = options[++i];
        }
        current.push_back(c);
        in_word = true;
    }
    if (in_word) {
        out.push_back(current);
    }
    return out;
}

struct OptionSetting {
    std::string name;
    std::string value;
};

// parse_options: -c name=value, -cname=value and --name=value; anything else is the FATAL of
// process_postgres_switches.
std::expected<std::vector<OptionSetting>, ServerError> parse_options(std::string_view options) {
    std::vector<OptionSetting> out;
    auto words = split_options(options);
    auto invalid = [](const std::string& arg) {
        ServerError e;
        e.severity = Severity::Fatal;
        e.sqlstate = "42601";
        e.message = "invalid command-line argument for server process: " + arg;
        e.hint = "Try \"postgres --help\" for more information.";
        e.location = {"postgres.c", 4036, "process_postgres_switches"};
        return e;
    };
    for (std::size_t i = 0; i < words.size(); ++i) {
        std::string assignment;
        const std::string& w = words[i];
        if (w == "-c") {
            if (i + 1 >= words.size()) {
                return std::unexpected(invalid(w));
            }
            assignment = words[++i];
        } else if (w.starts_with("-c")) {
            assignment = w.substr(2);
        } else if (w.starts_with("--")) {
            assignment = w.substr(2);
        } else {
            return std::unexpected(invalid(w));
        }
        auto eq = assignment.find('=');
        if (eq == std::string::npos) {
            ServerError e;
            e.severity = Severity::Fatal;
            e.sqlstate = "42601";
            e.message = w.starts_with("--") ? "--" + assignment + " requires a value"
                                            : "-c " + assignment + " requires a value";
            e.location = {"postgres.c", 3873, "process_postgres_switches"};
            return std::unexpected(e);
        }
        std::string name = assignment.substr(0, eq);
        for (auto& c : name) {
            if (c == '-') {
                c = '_';
            }
        }
        out.push_back({name, assignment.substr(eq + 1)});
    }
    return out;
}

} // namespace

std::vector<std::uint8_t> old_protocol_fatal(const std::string& message) {
    std::vector<std::uint8_t> out;
    out.push_back('E');
    std::string text = "FATAL:  " + message + "\n";
    out.insert(out.end(), text.begin(), text.end());
    out.push_back(0);
    return out;
}

Responder::Responder(Config config, ConnectionFacts facts)
    : config_(std::move(config)), facts_(std::move(facts)) {
    if (!config_.clock) {
        config_.clock = system_clock_micros;
    }
    AuthSetup setup;
    setup.method = config_.auth;
    setup.user = config_.user;
    setup.password = config_.password;
    setup.scram_iterations = config_.scram_iterations;
    setup.tls = facts_.tls;
    setup.tls_server_end_point = facts_.tls_server_end_point;
    authenticator_ = std::make_unique<Authenticator>(std::move(setup));
}

Responder::~Responder() = default;
Responder::Responder(Responder&&) noexcept = default;
Responder& Responder::operator=(Responder&&) noexcept = default;

Output Responder::fatal(ServerError e, Output out) {
    e.severity = Severity::Fatal;
    pg::append(out.bytes, e.message_for_wire());
    out.close = true;
    out.notes.push_back("FATAL " + e.sqlstate + ": " + e.message);
    phase_ = Phase::Closed;
    return out;
}

Output Responder::on_startup(const pg::StartupPacket& startup) {
    Output out;
    if (phase_ != Phase::AwaitStartup || startup.kind != pg::StartupKind::Startup) {
        out.close = true;
        out.notes.emplace_back("unexpected startup packet");
        phase_ = Phase::Closed;
        return out;
    }
    std::uint16_t major = startup.major();
    std::uint16_t minor = startup.minor();
    std::uint16_t newest = config_.newest_protocol_minor;
    if (major != 3) {
        auto e = errors::unsupported_protocol(major, minor, newest);
        if (major < 3) {
            out.bytes = old_protocol_fatal(e.message);
            out.close = true;
            out.notes.push_back("FATAL " + e.sqlstate + ": " + e.message);
            phase_ = Phase::Closed;
            return out;
        }
        return fatal(e, std::move(out));
    }
    std::uint16_t agreed = std::min(minor, newest);
    if (agreed == 1) {
        agreed = 0; // 3.1 was never released; a server speaking 3.2 answers with 3.0
    }
    protocol_ = (3u << 16) | agreed;
    std::vector<std::string> unknown_options;
    for (const auto& [name, value] : startup.parameters) {
        if (name.starts_with("_pq_.")) {
            unknown_options.push_back(name);
        }
    }
    if (minor > newest || !unknown_options.empty() || agreed != minor) {
        pg::append(out.bytes, pg::negotiate_protocol_version(agreed, unknown_options));
        out.notes.push_back("client asked for protocol 3." + std::to_string(minor) +
                            "; negotiated 3." + std::to_string(agreed));
    }
    startup_parameters_ = startup.parameters;
    user_ = startup.parameter("user").value_or("");
    if (user_.empty()) {
        return fatal(errors::no_user_name(), std::move(out));
    }
    database_ = startup.parameter("database").value_or("");
    if (database_.empty()) {
        database_ = user_;
    }
    if (auto replication = startup.parameter("replication")) {
        auto r = lower(*replication);
        bool physical = r == "true" || r == "on" || r == "yes" || r == "1";
        bool logical = r == "database";
        bool none = r == "false" || r == "off" || r == "no" || r == "0";
        if (!physical && !logical && !none) {
            return fatal(errors::invalid_startup_value("replication", *replication,
                                                       "Valid values are: \"false\", 0, \"true\", "
                                                       "1, \"database\"."),
                         std::move(out));
        }
        if (physical || logical) {
            return fatal(errors::no_hba_entry_replication(facts_.client_address, user_, facts_.tls),
                         std::move(out));
        }
    }
    if (config_.require_tls && !facts_.tls) {
        return fatal(errors::no_hba_entry(facts_.client_address, user_, database_, false),
                     std::move(out));
    }
    // the key BackendKeyData will carry: 4 bytes in 3.0, the whole key (up to 256) in 3.2
    secret_key_ = facts_.secret_key;
    if (agreed == 0 || secret_key_.size() < 4) {
        secret_key_.resize(4, 0);
    } else if (secret_key_.size() > 256) {
        secret_key_.resize(256);
    }
    if (auto app = startup.parameter("application_name")) {
        out.notes.push_back("startup: user \"" + user_ + "\", database \"" + database_ +
                            "\", application_name \"" + *app + "\"");
    } else {
        out.notes.push_back("startup: user \"" + user_ + "\", database \"" + database_ + "\"");
    }
    auto step = authenticator_->start(user_);
    out.notes.insert(out.notes.end(), step.notes.begin(), step.notes.end());
    for (const auto& m : step.messages) {
        pg::append(out.bytes, m);
    }
    switch (step.outcome) {
    case Authenticator::Outcome::Continue:
        phase_ = Phase::Authenticating;
        return out;
    case Authenticator::Outcome::Success:
        return finish_startup(std::move(out));
    case Authenticator::Outcome::Failure:
        return fatal(step.error.value_or(errors::password_failed(user_)), std::move(out));
    }
    return out;
}

Output Responder::finish_startup(Output out) {
    pg::append(out.bytes, pg::auth_ok());
    // InitPostgres: the role, then the database, then the startup options and parameters
    if (user_ != config_.user) {
        ServerError e;
        e.sqlstate = "28000";
        e.message = "role \"" + user_ + "\" does not exist";
        e.location = {"miscinit.c", 759, "InitializeSessionUserId"};
        return fatal(e, std::move(out));
    }
    if (database_ != config_.database) {
        return fatal(errors::database_missing(database_), std::move(out));
    }
    ServerIdentity identity;
    identity.server_version = config_.server_version;
    identity.user = user_;
    identity.time_zone = config_.time_zone;
    identity.scram_iterations = config_.scram_iterations;
    session_ = std::make_unique<Session>(identity);
    session_->clock = config_.clock;
    auto& view = session_->view;
    view.settings = &session_->settings;
    view.user = user_;
    view.database = database_;
    view.process_id = facts_.process_id;
    view.server_address = facts_.server_address;
    view.server_port = facts_.server_port;
    view.client_address = facts_.client_address;
    view.client_port = facts_.client_port;
    view.version_string = config_.version_string;
    view.ssl = facts_.tls;
    view.ssl_version = facts_.tls_version;
    view.ssl_cipher = facts_.tls_cipher;
    view.ssl_bits = facts_.tls_bits;
    view.server_start_micros = config_.clock();
    switch (config_.auth) {
    case AuthMethod::Trust:
        view.system_user.clear();
        break;
    case AuthMethod::Password:
        view.system_user = "password:" + user_;
        break;
    case AuthMethod::Md5:
        view.system_user = "md5:" + user_;
        break;
    case AuthMethod::ScramSha256:
        view.system_user = "scram-sha-256:" + user_;
        break;
    }
    std::vector<std::pair<std::string, std::string>> settings;
    if (auto options = [&]() -> std::optional<std::string> {
            for (const auto& [n, v] : startup_parameters_) {
                if (n == "options") {
                    return v;
                }
            }
            return std::nullopt;
        }()) {
        auto parsed = parse_options(*options);
        if (!parsed) {
            return fatal(parsed.error(), std::move(out));
        }
        for (auto& o : *parsed) {
            settings.emplace_back(o.name, o.value);
        }
    }
    for (const auto& [name, value] : startup_parameters_) {
        if (name == "user" || name == "database" || name == "options" || name == "replication" ||
            name.starts_with("_pq_.")) {
            continue;
        }
        settings.emplace_back(name, value);
    }
    for (const auto& [name, value] : settings) {
        auto r = session_->settings.set_text(name, value, SettingScope::Session, false, true);
        if (!r) {
            return fatal(r.error(), std::move(out));
        }
    }
    for (const auto& [name, value] : session_->settings.take_startup_reports()) {
        pg::append(out.bytes, pg::parameter_status(name, value));
    }
    pg::append(out.bytes, pg::backend_key_data(facts_.process_id, secret_key_));
    pg::append(out.bytes, pg::ready_for_query('I'));
    queries_ = std::make_unique<QueryProtocol>(*session_);
    phase_ = Phase::Ready;
    out.notes.emplace_back("authenticated");
    return out;
}

Output Responder::on_message(const pg::Message& message) {
    Output out;
    switch (phase_) {
    case Phase::AwaitStartup:
        out.close = true;
        out.notes.emplace_back("message before the startup packet");
        phase_ = Phase::Closed;
        return out;
    case Phase::Closed:
        out.close = true;
        return out;
    case Phase::Authenticating: {
        if (message.type == pg::frontend::kTerminate) {
            out.close = true;
            phase_ = Phase::Closed;
            out.notes.emplace_back("client left during authentication");
            return out;
        }
        auto step = authenticator_->on_message(message);
        out.notes.insert(out.notes.end(), step.notes.begin(), step.notes.end());
        for (const auto& m : step.messages) {
            pg::append(out.bytes, m);
        }
        switch (step.outcome) {
        case Authenticator::Outcome::Continue:
            return out;
        case Authenticator::Outcome::Success:
            return finish_startup(std::move(out));
        case Authenticator::Outcome::Failure:
            return fatal(step.error.value_or(errors::password_failed(user_)), std::move(out));
        }
        return out;
    }
    case Phase::Ready:
        break;
    }
    bool close = false;
    queries_->handle(message, out.bytes, out.notes, close);
    if (close) {
        out.close = true;
        phase_ = Phase::Closed;
    }
    return out;
}

} // namespace standin::postgres
