// The generic TLS mode, in memory: any TLS client <-> ProxySession (protocol tls) <-> a TLS
// server that echoes, every byte carried by the test.

#include <catch2/catch.hpp>

#include <proxy/core/session/proxy_session.h>
#include <proxy/core/tls/tls_stream.h>
#include <support/test_pki.h>

#include "../test_lab.h"

using proxy::Outcome;
using support::lab;

namespace {

struct TlsChain {
    std::unique_ptr<proxy::ProxySession> session;
    proxy::TlsStream client;
    std::optional<proxy::TlsStream> server;
    std::vector<std::uint8_t> to_client, to_server, client_read;
    std::vector<std::shared_ptr<const proxy::SessionRecord>> records;
    std::optional<std::string> client_error;
    bool closed = false;
    bool connect = false;

    TlsChain(const std::string& scenario, SSL_CTX* client_ctx)
        : client(client_ctx, proxy::TlsRole::Client, "localhost") {
        proxy::ProxySettings ps;
        ps.scenario = lab().runtime(scenario);
        ps.protocol = proxy::ListenerProtocol::Tls;
        ps.upstream.generic = lab().upstream_any.get();
        ps.upstream_verified = true;
        ps.upstream_name = "localhost";
        session = std::make_unique<proxy::ProxySession>(std::move(ps), 3, "127.0.0.1:7000");
        run(session->handle(proxy::event::Started{}));
    }
    void run(proxy::Actions acts) {
        for (auto& a : acts) {
            if (auto* s = std::get_if<proxy::action::Send>(&a)) {
                auto& to = s->side == proxy::Side::Client ? to_client : to_server;
                to.insert(to.end(), s->bytes.begin(), s->bytes.end());
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                closed = true;
            } else if (auto* r = std::get_if<proxy::action::Record>(&a)) {
                records.push_back(r->record);
            } else if (std::holds_alternative<proxy::action::ConnectUpstream>(a)) {
                connect = true;
            }
        }
    }
    bool step() {
        bool moved = false;
        if (connect) {
            connect = false;
            moved = true;
            run(session->handle(proxy::event::Connected{}));
        }
        if (auto out = client.take_output(); !out.empty() && !closed) {
            moved = true;
            run(session->handle(proxy::event::BytesReceived{proxy::Side::Client, out}));
        }
        if (auto in = std::exchange(to_server, {}); !in.empty()) {
            moved = true;
            if (!server) {
                server.emplace(support::test_pki().tds7_server.get(), proxy::TlsRole::Server);
            }
            auto st = server->on_ciphertext(in);
            server->write(st.plaintext); // echo
        }
        if (server) {
            if (auto out = server->take_output(); !out.empty() && !closed) {
                moved = true;
                run(session->handle(proxy::event::BytesReceived{proxy::Side::Server, out}));
            }
        }
        if (auto in = std::exchange(to_client, {}); !in.empty()) {
            moved = true;
            auto st = client.on_ciphertext(in);
            if (st.error) {
                client_error = st.error;
            }
            client_read.insert(client_read.end(), st.plaintext.begin(), st.plaintext.end());
        }
        return moved;
    }
    void pump() {
        for (int i = 0; i < 1000 && step(); ++i) {
        }
    }
};

} // namespace

TEST_CASE("tls: any TLS client is shown the scenario's certificate and its bytes are relayed",
          "[core][tls]") {
    TlsChain c("valid", lab().client_trusting_lab.get());
    c.pump();
    REQUIRE_FALSE(c.client_error);
    std::string hello = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.client.write(std::span(reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()));
    c.pump();
    CHECK(std::string(c.client_read.begin(), c.client_read.end()) == hello);
    c.run(c.session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
    c.run(c.session->handle(proxy::event::PeerClosed{proxy::Side::Server, ""}));
    REQUIRE(c.records.size() == 1);
    const auto& r = *c.records[0];
    CHECK(r.protocol == "tls");
    CHECK(r.outcome == Outcome::LoginEncrypted);
    CHECK(r.client_tls.sni == "localhost");
    CHECK(r.upstream_verification == "verified");
    REQUIRE(r.certificate_shown);
}

TEST_CASE("tls: a validating client refuses an expired certificate with its alert", "[core][tls]") {
    TlsChain c("expired", lab().client_trusting_lab.get());
    c.pump();
    CHECK(c.client_error);
    REQUIRE(c.records.size() == 1);
    CHECK(c.records[0]->outcome == Outcome::Alert);
    CHECK(c.records[0]->alert->name == "certificate_expired");
}
