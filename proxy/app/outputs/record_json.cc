#include <array>
#include <ctime>

#include <proxy/app/outputs/record_json.h>

namespace proxy::app {

namespace {

using nlohmann::json;

std::string iso8601(std::chrono::system_clock::time_point t) {
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
    std::time_t tt = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::array<char, 40> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    std::array<char, 48> out{};
    std::snprintf(out.data(), out.size(), "%s.%03dZ", buf.data(), static_cast<int>(ms));
    return out.data();
}

json alert_json(const std::optional<TlsAlert>& a) {
    if (!a) {
        return nullptr;
    }
    return {{"code", a->code}, {"name", a->name}, {"fatal", a->fatal}};
}

json prelogin_json(const std::optional<PreloginSummary>& p) {
    if (!p) {
        return nullptr;
    }
    return {{"version", p->version},
            {"encryption", p->encryption_name},
            {"encryption_value", p->encryption},
            {"instance", p->instance ? json(*p->instance) : json(nullptr)},
            {"mars", p->mars ? json(*p->mars) : json(nullptr)}};
}

json tls_json(const TlsObservation& t) {
    if (!t.started) {
        return nullptr;
    }
    auto or_null = [](const std::string& s) {
        return s.empty() ? json(nullptr) : json(s);
    };
    return {{"offered_versions", t.offered_versions},
            {"sni", or_null(t.sni)},
            {"alpn_offered", t.alpn_offered},
            {"established", t.established},
            {"version", or_null(t.version)},
            {"cipher", or_null(t.cipher)},
            {"alpn", or_null(t.alpn)},
            {"alert_received", alert_json(t.alert_received)},
            {"alert_sent", alert_json(t.alert_sent)},
            {"failure", or_null(t.failure)}};
}

json mode_json(const std::optional<tds::EncryptionMode>& m) {
    return m ? json(std::string(tds::to_string(*m))) : json(nullptr);
}

json login_json(const Boxed<LoginSummary>& l) {
    if (!l) {
        return nullptr;
    }
    return {{"host_name", l->host_name},
            {"user_name", l->user_name},
            {"password", l->password ? json(*l->password) : json(nullptr)},
            {"password_length", l->password_length},
            {"app_name", l->app_name},
            {"server_name", l->server_name},
            {"database", l->database},
            {"library_name", l->library_name},
            {"tds_version", l->tds_version},
            {"packet_size", l->packet_size},
            {"auth_kind", l->auth_kind},
            {"features", l->features},
            {"through_tls", l->through_tls}};
}

json postgres_json(const Boxed<PostgresSummary>& p) {
    if (!p) {
        return nullptr;
    }
    return {{"negotiation", p->negotiation},
            {"ssl_request", p->ssl_request},
            {"gssenc_request", p->gssenc_request},
            {"direct_ssl", p->direct_ssl},
            {"cancel_request", p->cancel_request},
            {"ssl_answer", p->ssl_answer},
            {"upstream_answer", p->upstream_answer},
            {"protocol_version", p->protocol_version},
            {"options", p->options},
            {"auth_method", p->auth_method},
            {"sasl_offered", p->sasl_offered},
            {"channel_binding", p->channel_binding},
            {"md5_hash", p->md5_hash ? json(*p->md5_hash) : json(nullptr)},
            {"authenticated", p->authenticated},
            {"auth_error", p->auth_error},
            {"channel_binding_defeated", p->channel_binding_defeated}};
}

json mysql_json(const Boxed<MysqlSummary>& m) {
    if (!m) {
        return nullptr;
    }
    json attributes = json::object();
    for (const auto& [name, value] : m->attributes) {
        attributes[name] = value;
    }
    return {{"server_version", m->server_version},
            {"server_is_mariadb", m->server_is_mariadb},
            {"upstream_offered_ssl", m->upstream_offered_ssl},
            {"client_shown_ssl", m->client_shown_ssl},
            {"ssl_request", m->ssl_request},
            {"negotiation", m->negotiation},
            {"upstream_leg", m->upstream_leg},
            {"client_capabilities", m->client_capabilities},
            {"server_capabilities", m->server_capabilities},
            {"client_plugin", m->client_plugin},
            {"auth_plugins", m->auth_plugins},
            {"auth_path", m->auth_path},
            {"attributes", attributes},
            {"password_read", m->password_read},
            {"password_via", m->password_via},
            {"authenticated", m->authenticated},
            {"auth_error", m->auth_error},
            {"zero_config_check", m->zero_config_check},
            {"commands_after_ok", m->commands_after_ok},
            {"first_command", m->first_command}};
}

} // namespace

json to_json(const MessageRecord& m) {
    json j = {{"event", "message"},     {"session", m.session_id},
              {"scenario", m.scenario}, {"at", iso8601(m.at)},
              {"kind", m.kind},         {"from", m.from_client ? "client" : "server"},
              {"text", m.text}};
    if (!m.detail.empty()) {
        j["detail"] = m.detail;
    }
    if (m.number) {
        j["number"] = *m.number;
    }
    if (m.severity) {
        j["severity"] = *m.severity;
    }
    return j;
}

json to_json(const certs::CertificateInfo& c) {
    return {{"subject", c.subject},
            {"issuer", c.issuer},
            {"subject_alt_names", c.subject_alt_names},
            {"not_before", c.not_before},
            {"not_after", c.not_after},
            {"sha256", c.sha256_fingerprint},
            {"key", c.key},
            {"signature_algorithm", c.signature_algorithm},
            {"extended_key_usage", c.extended_key_usage},
            {"self_signed", c.self_signed}};
}

json to_json(const SessionRecord& r) {
    auto duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.ended - r.started).count();
    return {
        {"event", "session"},
        {"id", r.id},
        {"started", iso8601(r.started)},
        {"ended", iso8601(r.ended)},
        {"duration_ms", duration},
        {"client", r.client_address},
        {"original_destination",
         r.original_destination.empty() ? json(nullptr) : json(r.original_destination)},
        {"scenario", r.scenario},
        {"protocol", r.protocol},
        {"client_prelogin", prelogin_json(r.client_prelogin)},
        {"upstream_answer", prelogin_json(r.upstream_answer)},
        {"client_answer", prelogin_json(r.client_answer)},
        {"client_leg", {{"mode", mode_json(r.client_mode)}, {"tls", tls_json(r.client_tls)}}},
        {"upstream_leg",
         {{"mode", mode_json(r.upstream_mode)},
          {"tls", tls_json(r.upstream_tls)},
          {"verification", r.upstream_verification}}},
        {"certificate_shown", r.certificate_shown ? to_json(*r.certificate_shown) : json(nullptr)},
        {"upstream_certificate",
         r.upstream_certificate ? to_json(*r.upstream_certificate) : json(nullptr)},
        {"bytes",
         {{"from_client", r.bytes_from_client},
          {"to_client", r.bytes_to_client},
          {"from_server", r.bytes_from_server},
          {"to_server", r.bytes_to_server}}},
        {"login", login_json(r.login)},
        {"postgres", postgres_json(r.postgres)},
        {"mysql", mysql_json(r.mysql)},
        {"outcome", std::string(to_string(r.outcome))},
        {"alert", alert_json(r.alert)},
        {"detail", r.detail}};
}

json to_json(const scenarios::Scenario& s) {
    json protocols = json::array();
    for (auto p : s.protocols) {
        protocols.push_back(std::string(scenarios::to_string(p)));
    }
    json resolve = json::array();
    for (const auto& name : scenarios::names_to_resolve(s)) {
        resolve.push_back(name);
    }
    json seed = json::array();
    for (const auto& w : s.seed) {
        seed.push_back({{"client", w.client}, {"text", w.text}, {"source", w.source}});
    }
    return {{"name", s.name},
            {"description", s.description},
            {"expect", std::string(scenarios::to_string(s.expect))},
            {"expect_detail", s.expect_detail},
            {"family", s.family.empty() ? json(nullptr) : json(s.family)},
            {"seed", seed},
            // how a client must address the lab: "name" (the lab's first host name), "ip"
            // (127.0.0.1) or "host" (dial_host, a name that must resolve to the lab: every
            // name of `resolve` needs a hosts entry for 127.0.0.1)
            {"dial", std::string(scenarios::to_string(s.dial))},
            {"dial_host", s.dial == scenarios::Dial::Host ? json(s.dial_host) : json(nullptr)},
            {"resolve", resolve},
            {"passthrough", s.passthrough},
            {"protocols", protocols},
            {"source", s.source}};
}

} // namespace proxy::app
