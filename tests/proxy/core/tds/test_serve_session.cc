#include <catch2/catch.hpp>

#include <proxy/core/tds/serve_session.h>
#include <support/test_pki.h>
#include <tds/message_assembler.h>
#include <tds/token_reader.h>
#include <tds/utf16.h>

#include "../leg_pair.h"

using proxy::ServeEncryption;
using proxy::ServerLeg;
using tds::EncryptionMode;

namespace {

// ServeHarness: a ServeSession driven by a real in-memory TDS client (ServerLeg over OpenSSL).
struct ServeHarness {
    proxy::ServeSettings settings;
    std::unique_ptr<proxy::ServeSession> session;
    ServerLeg client;
    std::vector<proxy::Action> actions;
    std::vector<tds::Message> replies;
    std::vector<std::size_t> reply_packet_sizes;
    tds::MessageAssembler assembler{1 << 20};
    bool closed = false;
    std::optional<std::string> client_error;

    explicit ServeHarness(ServeEncryption enc, SSL_CTX* client_ctx = nullptr)
        : client({client_ctx != nullptr ? client_ctx : support::test_pki().client_trusting.get(),
                  "localhost"}) {
        const auto& pki = support::test_pki();
        settings.encryption = enc;
        if (enc != ServeEncryption::None) {
            settings.tds7_ctx = pki.tds7_server.get();
            settings.tds8_ctx = pki.tds8_server.get();
        }
        settings.responder.server.version_text = "tlslab serve test";
        session = std::make_unique<proxy::ServeSession>(settings, 51);
        absorb(session->handle(proxy::event::Started{}));
    }

    void absorb(proxy::Actions acts) {
        for (auto& a : acts) {
            if (auto* send = std::get_if<proxy::action::Send>(&a)) {
                pending_to_client.insert(pending_to_client.end(), send->bytes.begin(),
                                         send->bytes.end());
            } else if (std::holds_alternative<proxy::action::Close>(a)) {
                closed = true;
            }
            actions.push_back(std::move(a));
        }
    }

    // step moves one batch of bytes each way; false when nothing moved.
    bool step() {
        auto c2s = client.take_output();
        auto s2c = std::exchange(pending_to_client, {});
        if (c2s.empty() && s2c.empty()) {
            return false;
        }
        if (!c2s.empty() && !closed) {
            absorb(session->handle(proxy::event::BytesReceived{proxy::Side::Client, c2s}));
        }
        if (!s2c.empty()) {
            auto out = client.on_bytes(s2c);
            if (out.error) {
                client_error = out.error;
            }
            for (auto& p : out.packets) {
                // Every tabular-result message except the plaintext PRELOGIN answer.
                if (p.header.type == 0x04 && !out.prelogin_answered) {
                    reply_packet_sizes.push_back(p.bytes.size());
                    if (auto m = assembler.add(p); m && *m) {
                        replies.push_back(std::move(**m));
                    }
                }
            }
        }
        return true;
    }
    void pump() {
        for (int i = 0; i < 1000 && step(); ++i) {
        }
    }

    tds::Prelogin answer() const {
        auto p = tds::Prelogin::parse(client.prelogin_answer()->payload);
        REQUIRE(p);
        return *p;
    }

    // login runs PRELOGIN with `client_enc`, the mode the table gives, and LOGIN7.
    void login(std::uint8_t client_enc, const tds::Login7& l = support::lab_login()) {
        client.send_prelogin(support::client_prelogin(client_enc));
        pump();
        if (closed) {
            return;
        }
        REQUIRE(client.phase() == ServerLeg::Phase::AwaitDecision);
        auto enc = *tds::decode_encryption(*answer().encryption());
        auto mode = tds::expected_mode(*tds::decode_encryption(client_enc), enc);
        REQUIRE(mode);
        auto out = client.start(*mode);
        pump();
        REQUIRE_FALSE(client_error);
        client.send_packet(support::login7_message(l));
        pump();
    }

    void batch(const std::string& sql, std::size_t packet_len = 4096) {
        for (const auto& p : tds::split_message(0x01, sql_payload(sql), packet_len, 0)) {
            client.send_packet(p.bytes);
        }
        pump();
    }

    static std::vector<std::uint8_t> sql_payload(const std::string& sql) {
        auto msg = support::sql_batch_message(sql, 32767);
        return std::vector<std::uint8_t>(msg.begin() + 8, msg.end());
    }

    std::vector<std::uint8_t> pending_to_client;
};

bool has_int_one(const tds::Message& m) {
    // `SELECT 1` is int NOT NULL: the fixed-length INT4 (0x38), no name, then ROW 1.
    const std::vector<std::uint8_t> row = {0x38, 0x00, 0xD1, 0x01, 0x00, 0x00, 0x00};
    return std::search(m.payload.begin(), m.payload.end(), row.begin(), row.end()) !=
           m.payload.end();
}

} // namespace

TEST_CASE("force: full TLS, login, SELECT 1 reads 1", "[core][serve]") {
    ServeHarness h(ServeEncryption::Force);
    h.login(0x01);
    REQUIRE_FALSE(h.closed);
    CHECK(*h.answer().encryption() == 0x01);
    REQUIRE(h.replies.size() == 1);
    auto scan = tds::scan_tokens(h.replies[0].payload);
    REQUIRE(scan.login_ack);
    CHECK(scan.login_ack->interface == 1);
    CHECK(scan.login_ack->tds_version == tds::tds_version::k74);
    CHECK(scan.errors.empty());
    REQUIRE_FALSE(scan.dones.empty());
    CHECK(scan.dones.back().status == 0);

    h.batch("select 1;");
    REQUIRE(h.replies.size() == 2);
    CHECK(has_int_one(h.replies[1]));

    SECTION("SELECT @@VERSION names tlslab") {
        h.batch("SELECT @@VERSION");
        auto text = tds::utf8_to_utf16le("tlslab serve test");
        CHECK(std::search(h.replies.back().payload.begin(), h.replies.back().payload.end(),
                          text.begin(), text.end()) != h.replies.back().payload.end());
    }
    SECTION("a batch of SET statements gets DONE tokens only") {
        h.batch("set textsize 2147483647\nset quoted_identifier on\nSET ANSI_NULLS ON;");
        auto scan2 = tds::scan_tokens(h.replies.back().payload);
        CHECK_FALSE(scan2.stopped);
        CHECK(scan2.errors.empty());
        CHECK(scan2.dones.size() == 3);
        CHECK(scan2.dones.back().status == 0);
    }
    SECTION("anything else is a clear SQL error, and the session goes on") {
        h.batch("DROP TABLE customers");
        auto scan2 = tds::scan_tokens(h.replies.back().payload);
        REQUIRE(scan2.errors.size() == 1);
        CHECK(scan2.errors[0].number == 3701); // SQL Server's answer for a table it lacks
        CHECK_THAT(scan2.errors[0].text, Catch::Contains("Cannot drop the table 'customers'"));
        h.batch("SELECT 1");
        CHECK(has_int_one(h.replies.back()));
        CHECK_FALSE(h.closed);
    }
    SECTION("attention is acknowledged with DONE_ATTN") {
        h.client.send_packet(tds::write_message(0x06, {}, 4096, 0));
        h.pump();
        auto scan2 = tds::scan_tokens(h.replies.back().payload);
        REQUIRE(scan2.dones.size() == 1);
        CHECK(scan2.dones[0].status == tds::done_status::kAttention);
    }
}

TEST_CASE("a wrong password gets 18456 class 14, then the server closes", "[core][serve]") {
    ServeHarness h(ServeEncryption::Force);
    h.login(0x01, support::lab_login("lab", "nope"));
    REQUIRE(h.replies.size() == 1);
    auto scan = tds::scan_tokens(h.replies[0].payload);
    REQUIRE(scan.errors.size() == 1);
    CHECK(scan.errors[0].number == 18456);
    CHECK(scan.errors[0].severity == 14);
    CHECK(scan.errors[0].text == "Login failed for user 'lab'.");
    CHECK_FALSE(scan.login_ack);
    CHECK(scan.dones.back().status == tds::done_status::kError);
    CHECK(h.closed);
}

TEST_CASE("the MS-TDS answer table per server setting", "[core][serve]") {
    struct Row {
        ServeEncryption server;
        std::uint8_t client;
        std::uint8_t answer;
    };
    auto row =
        GENERATE(Row{ServeEncryption::Off, 0x00, 0x00}, Row{ServeEncryption::Off, 0x01, 0x01},
                 Row{ServeEncryption::Off, 0x02, 0x02}, Row{ServeEncryption::Off, 0x03, 0x01},
                 Row{ServeEncryption::Force, 0x00, 0x03}, Row{ServeEncryption::Force, 0x01, 0x01},
                 Row{ServeEncryption::Force, 0x02, 0x03}, Row{ServeEncryption::None, 0x00, 0x02},
                 Row{ServeEncryption::None, 0x01, 0x02}, Row{ServeEncryption::Off, 0x81, 0x01});
    ServeHarness h(row.server);
    h.client.send_prelogin(support::client_prelogin(row.client));
    h.pump();
    REQUIRE(h.client.prelogin_answer());
    CHECK(*h.answer().encryption() == row.answer);
    CHECK(*h.answer().instance_status() == 0);
    CHECK(h.answer().version()->major == 16);
}

TEST_CASE("login-only and plaintext logins complete", "[core][serve]") {
    SECTION("off + client OFF: login-only") {
        ServeHarness h(ServeEncryption::Off);
        h.login(0x00);
        REQUIRE(h.replies.size() == 1);
        CHECK(tds::scan_tokens(h.replies[0].payload).login_ack);
        CHECK(h.client.phase() == ServerLeg::Phase::Plain);
        h.batch("SELECT 1");
        CHECK(has_int_one(h.replies.back()));
    }
    SECTION("none + client NOT_SUP: plaintext") {
        ServeHarness h(ServeEncryption::None);
        h.login(0x02);
        REQUIRE(h.replies.size() == 1);
        CHECK(tds::scan_tokens(h.replies[0].payload).login_ack);
    }
}

TEST_CASE("a LOGIN7 with no PRELOGIN before it (jTDS's default): served in clear unless the "
          "server forces encryption, then closed",
          "[core][serve]") {
    for (auto enc : {ServeEncryption::Off, ServeEncryption::None}) {
        ServeHarness h(enc);
        h.client.start_plain(); // no PRELOGIN: the LOGIN7 is the first packet
        h.client.send_packet(support::login7_message(support::lab_login()));
        h.pump();
        REQUIRE_FALSE(h.closed);
        REQUIRE(h.replies.size() == 1);
        CHECK(tds::scan_tokens(h.replies[0].payload).login_ack);
        h.batch("SELECT 1");
        CHECK(has_int_one(h.replies.back()));
    }
    for (auto enc : {ServeEncryption::Force, ServeEncryption::Strict}) {
        ServeHarness h(enc);
        h.client.start_plain();
        h.client.send_packet(support::login7_message(support::lab_login()));
        h.pump();
        CHECK(h.closed);
        CHECK(h.replies.empty());
    }
}

TEST_CASE("refusals: strict closes plain PRELOGIN; force refuses a client that cannot encrypt",
          "[core][serve]") {
    SECTION("strict") {
        ServeHarness h(ServeEncryption::Strict);
        h.client.send_prelogin(support::client_prelogin(0x01));
        h.pump();
        CHECK(h.closed);
        CHECK_FALSE(h.client.prelogin_answer());
    }
    SECTION("force + NOT_SUP then a plaintext LOGIN7") {
        ServeHarness h(ServeEncryption::Force);
        h.client.send_prelogin(support::client_prelogin(0x02));
        h.pump();
        REQUIRE(*h.answer().encryption() == 0x03);
        h.client.start(EncryptionMode::None);
        h.client.send_packet(support::login7_message(support::lab_login()));
        h.pump();
        CHECK(h.closed);
        CHECK(h.replies.empty());
    }
}

TEST_CASE("strict: TDS 8.0 with TLS 1.3 and ALPN, PRELOGIN inside, login", "[core][serve]") {
    ServeHarness h(ServeEncryption::Strict, support::test_pki().client_tds8.get());
    h.client.start_tls_first();
    h.pump();
    REQUIRE(h.client.phase() == ServerLeg::Phase::Tls);
    CHECK(h.client.tls()->version() == "TLSv1.3");
    CHECK(h.client.tls()->alpn_selected() == "tds/8.0");
    h.client.send_packet(support::client_prelogin(0x02));
    h.pump();
    REQUIRE(h.replies.size() == 1); // the PRELOGIN answer, inside TLS
    auto answer = tds::Prelogin::parse(h.replies[0].payload);
    REQUIRE(answer);
    CHECK(*answer->encryption() == 0x02); // answered in kind: TDS 8.0 clients ignore it
    auto l = support::lab_login();
    l.tds_version = tds::tds_version::k80;
    h.client.send_packet(support::login7_message(l));
    h.pump();
    REQUIRE_FALSE(h.closed);
    REQUIRE(h.replies.size() == 2);
    auto scan = tds::scan_tokens(h.replies[1].payload);
    REQUIRE(scan.login_ack);
    CHECK(scan.login_ack->tds_version == tds::tds_version::k80);
}

TEST_CASE("replies honour the negotiated packet size", "[core][serve]") {
    ServeHarness h(ServeEncryption::Force);
    auto l = support::lab_login();
    l.packet_size = 512;
    h.login(0x01, l);
    h.reply_packet_sizes.clear();
    h.batch("select N'" + std::string(700, 'v') + "'"); // 1400 bytes of nvarchar(700)
    REQUIRE(h.reply_packet_sizes.size() >= 3);
    for (auto size : h.reply_packet_sizes) {
        CHECK(size <= 512);
    }
}

TEST_CASE("EOF at every step of a session closes it with a log line, nothing else",
          "[core][serve]") {
    auto stop_at = GENERATE(range(0, 9));
    ServeHarness h(ServeEncryption::Force);
    h.client.send_prelogin(support::client_prelogin(0x01));
    int steps = 0;
    bool started_tls = false;
    while (steps < stop_at) {
        if (!h.step()) {
            if (!started_tls && h.client.phase() == ServerLeg::Phase::AwaitDecision) {
                h.client.start(EncryptionMode::Full);
                started_tls = true;
            } else if (h.client.phase() == ServerLeg::Phase::Tls) {
                h.client.send_packet(support::login7_message(support::lab_login()));
            } else {
                break;
            }
        }
        ++steps;
    }
    auto before = h.actions.size();
    h.absorb(h.session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}));
    CHECK(h.closed);
    bool logged = false;
    for (std::size_t i = before; i < h.actions.size(); ++i) {
        logged = logged || std::holds_alternative<proxy::action::Log>(h.actions[i]);
    }
    CHECK(logged);
    // Anything after the close is ignored.
    CHECK(h.session->handle(proxy::event::PeerClosed{proxy::Side::Client, ""}).empty());
}

TEST_CASE("garbage, unknown first bytes and a login timer each end the session", "[core][serve]") {
    ServeHarness h(ServeEncryption::Force);
    SECTION("HTTP instead of TDS") {
        const std::string get = "GET / HTTP/1.1\r\n\r\n";
        h.absorb(h.session->handle(proxy::event::BytesReceived{
            proxy::Side::Client,
            std::span(reinterpret_cast<const std::uint8_t*>(get.data()), get.size())}));
        CHECK(h.closed);
    }
    SECTION("a PRELOGIN header with length 4") {
        const std::vector<std::uint8_t> bad = {0x12, 0x01, 0x00, 0x04, 0, 0, 1, 0};
        h.absorb(h.session->handle(proxy::event::BytesReceived{proxy::Side::Client, bad}));
        CHECK(h.closed);
    }
    SECTION("no login in time") {
        h.absorb(h.session->handle(proxy::event::TimerFired{proxy::ServeSession::kLoginTimer}));
        CHECK(h.closed);
    }
}

TEST_CASE("a mixed batch fed one byte at a time gets the reply it gets all at once",
          "[core][serve]") {
    // The responder takes whole messages; gathering them from bytes is the session's job. A
    // multi-packet batch of many statement kinds (result sets, PRINT, a transaction, USE, SET
    // LANGUAGE, sp_executesql, a statement-level and a batch-level error) goes through TLS and
    // the packet and message assemblers once in one piece and once byte by byte.
    const std::string sql = "SELECT '" + std::string(300, 'x') +
                            "' AS pad; SET NOCOUNT OFF; SELECT 1 AS one, N'two' AS two; "
                            "DECLARE @v int = 3; PRINT 'p'; BEGIN TRAN; SELECT @@TRANCOUNT, @v; "
                            "COMMIT; USE lab; SET LANGUAGE N'Deutsch'; SELECT 1/0; "
                            "EXEC sp_executesql N'SELECT @a', N'@a int', @a = 7; "
                            "SELECT * FROM missing_table; SELECT 'never'";
    auto run = [&](bool one_byte) {
        ServeHarness h(ServeEncryption::Force);
        h.login(0x01);
        REQUIRE(h.replies.size() == 1);
        auto packets = tds::split_message(0x01, ServeHarness::sql_payload(sql), 512, 0);
        REQUIRE(packets.size() > 1);
        for (const auto& p : packets) {
            h.client.send_packet(p.bytes);
        }
        if (one_byte) {
            auto bytes = h.client.take_output();
            REQUIRE(bytes.size() > 1024);
            for (std::size_t i = 0; i < bytes.size() && !h.closed; ++i) {
                h.absorb(h.session->handle(
                    proxy::event::BytesReceived{proxy::Side::Client, std::span(&bytes[i], 1)}));
                if (i + 1 < bytes.size()) {
                    CHECK(h.pending_to_client.empty()); // nothing answered before the last byte
                }
            }
        }
        h.pump();
        CHECK_FALSE(h.closed);
        REQUIRE(h.replies.size() == 2);
        return h.replies[1].payload;
    };
    auto whole = run(false);
    auto bytewise = run(true);
    CHECK(bytewise == whole);
    // The batch ended at the 208: its final DONE has DONE_ERROR and no DONE_MORE.
    REQUIRE(whole.size() > 13);
    CHECK(whole[whole.size() - 13] == tds::token::kDone);
    CHECK(whole[whole.size() - 12] == tds::done_status::kError);
    CHECK(whole[whole.size() - 11] == 0);
}
