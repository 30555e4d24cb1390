#include <proxy/core/session/passthrough_adapter.h>
#include <proxy/core/tds/tds_adapter.h>
#include <tds/prelogin.h>

namespace proxy {

void PassthroughAdapter::on_client_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    observer_.on_client(bytes);
    auto first = observer_.first_byte();
    ctx.record().protocol = !first           ? "undecided"
                            : *first == 0x12 ? "tds7"
                            : *first == 0x16 ? "tds8"
                                             : "unknown";
    ctx.send(Side::Server, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

void PassthroughAdapter::on_server_bytes(SessionContext& ctx, std::span<const std::uint8_t> bytes) {
    observer_.on_server(bytes);
    ctx.send(Side::Client, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

bool PassthroughAdapter::has_login() const {
    auto seen = observer_.seen();
    return seen == PassthroughObserver::Seen::LoginEncrypted ||
           seen == PassthroughObserver::Seen::LoginPlaintext;
}

Outcome PassthroughAdapter::judge_client_left(const SessionContext& /*ctx*/) const {
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
