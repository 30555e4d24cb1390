// The [fault] behaviours at the machine level: a ProxySession (generic TLS relay) between an
// in-memory OpenSSL client and an in-memory TLS server, every action of every step inspected.

#include <catch2/catch.hpp>

// Designated initializers name only what a case sets; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <proxy/core/session/handshake_fault.h>
#include <proxy/core/session/proxy_session.h>
#include <proxy/core/tls/tls_stream.h>
#include <support/test_pki.h>

#include "../test_lab.h"

using proxy::Outcome;
using proxy::Side;
using support::lab;
namespace action = proxy::action;

namespace {

struct FaultChain {
    std::unique_ptr<proxy::ProxySession> session;
    proxy::TlsStream client;
    std::optional<proxy::TlsStream> server;
    std::vector<std::shared_ptr<const proxy::SessionRecord>> records;
    std::optional<std::string> client_error;

    explicit FaultChain(const scenarios::FaultBehaviour& fault)
        : client(lab().client_trusting_lab.get(), proxy::TlsRole::Client, "localhost") {
        scenarios::Scenario s = *lab().catalogue.find("valid");
        s.fault = fault;
        proxy::ProxySettings ps;
        ps.scenario = lab().runtime(s);
        ps.protocol = proxy::ListenerProtocol::Tls;
        ps.upstream.generic = lab().upstream_any.get();
        ps.upstream_name = "localhost";
        session = std::make_unique<proxy::ProxySession>(std::move(ps), 7, "127.0.0.1:7000");
        session->handle(proxy::event::Started{});
        session->handle(proxy::event::Connected{});
    }

    proxy::Actions client_hello() {
        return session->handle(proxy::event::BytesReceived{Side::Client, client.take_output()});
    }
    // deliver: what the session sent the client, to the client; its answer back.
    proxy::Actions deliver(const proxy::Actions& acts) {
        auto bytes = sent(acts, Side::Client);
        auto st = client.on_ciphertext(bytes);
        if (st.error) {
            client_error = st.error;
        }
        for (const auto& a : acts) {
            if (auto* r = std::get_if<action::Record>(&a)) {
                records.push_back(r->record);
            }
        }
        auto out = client.take_output();
        return out.empty() ? proxy::Actions{}
                           : session->handle(proxy::event::BytesReceived{Side::Client, out});
    }
    static std::vector<std::uint8_t> sent(const proxy::Actions& acts, Side side) {
        std::vector<std::uint8_t> out;
        for (const auto& a : acts) {
            if (auto* s = std::get_if<action::Send>(&a); s && s->side == side) {
                out.insert(out.end(), s->bytes.begin(), s->bytes.end());
            }
        }
        return out;
    }
    static std::size_t sends_to_client(const proxy::Actions& acts) {
        std::size_t n = 0;
        for (const auto& a : acts) {
            if (auto* s = std::get_if<action::Send>(&a); s && s->side == Side::Client) {
                ++n;
            }
        }
        return n;
    }
    static bool starts_with_server_hello(const std::vector<std::uint8_t>& b) {
        return b.size() > 5 && b[0] == 0x16 && b[5] == 0x02; // handshake record, ServerHello
    }
};

template <typename A> const A* find(const proxy::Actions& acts) {
    for (const auto& a : acts) {
        if (auto* x = std::get_if<A>(&a)) {
            return x;
        }
    }
    return nullptr;
}

template <typename A> std::ptrdiff_t index_of(const proxy::Actions& acts) {
    for (std::size_t i = 0; i < acts.size(); ++i) {
        if (std::holds_alternative<A>(acts[i])) {
            return static_cast<std::ptrdiff_t>(i);
        }
    }
    return -1;
}

} // namespace

TEST_CASE("fault: without a fault the ClientHello step answers with the ServerHello flight",
          "[core][fault]") {
    FaultChain c({});
    auto acts = c.client_hello();
    CHECK(FaultChain::starts_with_server_hello(FaultChain::sent(acts, Side::Client)));
    CHECK(find<action::StartTimer>(acts) == nullptr);
}

TEST_CASE("fault: stall_after_client_hello sends the client nothing after its ClientHello",
          "[core][fault]") {
    FaultChain c({.stall_after_client_hello = true});
    auto acts = c.client_hello();
    CHECK(FaultChain::sends_to_client(acts) == 0);
    const auto* cancel = find<action::CancelTimer>(acts);
    REQUIRE(cancel);
    CHECK(cancel->timer == proxy::SessionContext::kHandshakeTimer);
    const auto* start = find<action::StartTimer>(acts);
    REQUIRE(start);
    CHECK(start->timer == proxy::HandshakeFault::kTimer);
    CHECK(start->ms == proxy::HandshakeFault::kStallLimitMs);
    CHECK(find<action::Close>(acts) == nullptr);

    SECTION("the client gives up: its close ends the session, the record says what happened") {
        auto end = c.session->handle(proxy::event::PeerClosed{Side::Client, ""});
        CHECK(FaultChain::sends_to_client(end) == 0);
        const auto* rec = find<action::Record>(end);
        REQUIRE(rec);
        CHECK(rec->record->outcome == Outcome::ClosedDuringHandshake);
        CHECK(rec->record->detail.find("the client closed the connection") == 0);
        CHECK(rec->record->detail.find("never answered the ClientHello") != std::string::npos);
        CHECK(rec->record->bytes_to_client == 0);
        CHECK(rec->record->client_tls.offered_versions.size() >= 1);
    }
    SECTION("the lab's limit ends it") {
        auto end = c.session->handle(proxy::event::TimerFired{proxy::HandshakeFault::kTimer});
        CHECK(FaultChain::sends_to_client(end) == 0);
        const auto* rec = find<action::Record>(end);
        REQUIRE(rec);
        CHECK(rec->record->outcome == Outcome::ClosedDuringHandshake);
        CHECK(rec->record->detail.find("still waiting") != std::string::npos);
        const auto* close = find<action::Close>(end);
        REQUIRE(close);
        CHECK_FALSE(close->reset);
    }
}

TEST_CASE("fault: handshake_delay_ms holds the flight, then a timer sends it", "[core][fault]") {
    FaultChain c({.handshake_delay_ms = 1500});
    auto acts = c.client_hello();
    CHECK(FaultChain::sends_to_client(acts) == 0);
    const auto* start = find<action::StartTimer>(acts);
    REQUIRE(start);
    CHECK(start->timer == proxy::HandshakeFault::kTimer);
    CHECK(start->ms == 1500);

    auto fired = c.session->handle(proxy::event::TimerFired{proxy::HandshakeFault::kTimer});
    REQUIRE(FaultChain::sends_to_client(fired) == 1);
    CHECK(FaultChain::starts_with_server_hello(FaultChain::sent(fired, Side::Client)));
    // From here the handshake runs as usual.
    auto next = c.deliver(fired);
    CHECK_FALSE(c.client_error);
    c.deliver(next);
    CHECK(c.client.established());
    auto end = c.session->handle(proxy::event::PeerClosed{Side::Client, ""});
    const auto* rec = find<action::Record>(end);
    REQUIRE(rec);
    CHECK(rec->record->detail.find("held 1500 ms") != std::string::npos);
}

TEST_CASE("fault: reset_after_server_hello sends the flight, then a TCP reset", "[core][fault]") {
    FaultChain c({.reset_after_server_hello = true});
    auto acts = c.client_hello();
    REQUIRE(FaultChain::sends_to_client(acts) == 1);
    CHECK(FaultChain::starts_with_server_hello(FaultChain::sent(acts, Side::Client)));
    const auto* close = find<action::Close>(acts);
    REQUIRE(close);
    CHECK(close->reset);
    CHECK_FALSE(close->flush);
    CHECK(index_of<action::Send>(acts) < index_of<action::Close>(acts));
    const auto* rec = find<action::Record>(acts);
    REQUIRE(rec);
    CHECK(rec->record->outcome == Outcome::ClosedDuringHandshake);
    CHECK(rec->record->detail.find("reset_after_server_hello") != std::string::npos);
    CHECK(c.session->phase() == proxy::ProxySession::Phase::Finished);
}
