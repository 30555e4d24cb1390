#include <proxy/core/session/passthrough_adapter.h>
#include <proxy/core/session/protocol_detect.h>
#include <proxy/core/tds/tds_adapter.h>
#include <tds/prelogin.h>

namespace proxy {

void PassthroughAdapter::on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    if (!decided_ && !bytes.empty()) {
        decided_ = true;
        auto kind = detect_protocol(protocol_, bytes);
        pg_detected_ = kind == AdapterKind::Postgres;
    }
    if (mysql()) {
        mysql_observer_.on_client(bytes);
        ctx.record().protocol = "mysql";
    } else if (postgres()) {
        pg_observer_.on_client(bytes);
        ctx.record().protocol = "postgres";
    } else {
        observer_.on_client(bytes);
        auto first = observer_.first_byte();
        ctx.record().protocol = !first           ? "undecided"
                                : *first == 0x12 ? "tds7"
                                : *first == 0x16 ? "tds8"
                                                 : "unknown";
    }
    ctx.relay(Side::Server, bytes);
}

void PassthroughAdapter::on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    if (mysql()) {
        mysql_observer_.on_server(bytes);
        ctx.record().protocol = "mysql";
    } else if (postgres()) {
        pg_observer_.on_server(bytes);
    } else {
        observer_.on_server(bytes);
    }
    ctx.relay(Side::Client, bytes);
}

bool PassthroughAdapter::has_login() const {
    if (mysql()) {
        auto seen = mysql_observer_.seen();
        return seen == MysqlPassthroughObserver::Seen::LoginEncrypted ||
               seen == MysqlPassthroughObserver::Seen::LoginPlaintext;
    }
    if (postgres()) {
        auto seen = pg_observer_.seen();
        return seen == PostgresPassthroughObserver::Seen::LoginEncrypted ||
               seen == PostgresPassthroughObserver::Seen::LoginPlaintext;
    }
    auto seen = observer_.seen();
    return seen == PassthroughObserver::Seen::LoginEncrypted ||
           seen == PassthroughObserver::Seen::LoginPlaintext;
}

Outcome PassthroughAdapter::judge_client_left(const SessionContext& /*ctx*/) const {
    if (mysql()) {
        switch (mysql_observer_.seen()) {
        case MysqlPassthroughObserver::Seen::LoginEncrypted:
            return Outcome::LoginEncrypted;
        case MysqlPassthroughObserver::Seen::LoginPlaintext:
            return Outcome::LoginPlaintext;
        case MysqlPassthroughObserver::Seen::Alert:
            return Outcome::Alert;
        case MysqlPassthroughObserver::Seen::TlsStarted:
            return Outcome::ClosedDuringHandshake;
        case MysqlPassthroughObserver::Seen::Nothing:
            return Outcome::ClosedBeforeTls;
        }
    }
    if (postgres()) {
        switch (pg_observer_.seen()) {
        case PostgresPassthroughObserver::Seen::LoginEncrypted:
            return Outcome::LoginEncrypted;
        case PostgresPassthroughObserver::Seen::LoginPlaintext:
            return Outcome::LoginPlaintext;
        case PostgresPassthroughObserver::Seen::Alert:
            return Outcome::Alert;
        case PostgresPassthroughObserver::Seen::TlsStarted:
            return Outcome::ClosedDuringHandshake;
        case PostgresPassthroughObserver::Seen::Nothing:
            return Outcome::ClosedBeforeTls;
        }
    }
    switch (observer_.seen()) {
    case PassthroughObserver::Seen::LoginEncrypted:
        return Outcome::LoginEncrypted;
    case PassthroughObserver::Seen::LoginPlaintext:
        return Outcome::LoginPlaintext;
    case PassthroughObserver::Seen::Alert:
        return Outcome::Alert;
    case PassthroughObserver::Seen::TlsStarted:
        return Outcome::ClosedDuringHandshake;
    case PassthroughObserver::Seen::Nothing:
        return Outcome::ClosedBeforeTls;
    }
    return Outcome::ClosedBeforeTls;
}

void PassthroughAdapter::complete_record(SessionContext& ctx) {
    auto& record = ctx.record();
    if (mysql()) {
        record.protocol = "mysql";
        record.mysql = mysql_observer_.summary();
        record.mysql->upstream_leg = "relayed untouched";
        if (mysql_observer_.login() && !record.login) {
            record.login = mysql_observer_.login();
        }
        if (mysql_observer_.alert_code() && !record.alert) {
            record.alert = TlsAlert{*mysql_observer_.alert_code(),
                                    alert_name(*mysql_observer_.alert_code()), true};
        }
        return;
    }
    if (postgres()) {
        record.protocol = "postgres";
        if (!record.postgres) {
            record.postgres.emplace();
        }
        record.postgres->negotiation = pg_observer_.negotiation();
        if (pg_observer_.alert_code() && !record.alert) {
            record.alert =
                TlsAlert{*pg_observer_.alert_code(), alert_name(*pg_observer_.alert_code()), true};
        }
        return;
    }
    // What the observer could read of the untouched stream: the PRELOGIN exchange.
    if (const auto& m = observer_.client_prelogin(); m && !record.client_prelogin) {
        if (auto p = tds::Prelogin::parse(m->payload)) {
            record.client_prelogin = summarise(*p);
        }
    }
    if (const auto& m = observer_.server_answer(); m && !record.upstream_answer) {
        if (auto p = tds::Prelogin::parse(m->payload)) {
            record.upstream_answer = summarise(*p);
            record.client_answer = record.upstream_answer; // relayed untouched
        }
    }
    if (observer_.alert_code() && !record.alert) {
        record.alert = TlsAlert{*observer_.alert_code(), alert_name(*observer_.alert_code()), true};
    }
}

} // namespace proxy
