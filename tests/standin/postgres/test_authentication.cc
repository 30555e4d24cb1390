// Authentication: trust, cleartext password, md5 and SCRAM-SHA-256 with and without channel
// binding. The SCRAM client side is computed independently in the test (RFC 5802 with
// OpenSSL); errors are PostgreSQL 16.4's (captured from a real server).

#include <catch2/catch.hpp>

#include "pg_test_client.h"

using namespace pgtest;
using standin::postgres::AuthMethod;

namespace {

Client with(AuthMethod method, bool tls = false, Bytes end_point = {}) {
    auto config = test_config();
    config.auth = method;
    auto facts = test_facts();
    facts.tls = tls;
    facts.tls_server_end_point = std::move(end_point);
    return Client(config, facts);
}

const Bytes kEndPoint = sha256(to_bytes("the certificate the proxy showed"));

std::string sasl_data(const Bytes& reply) {
    auto m = frames(reply).back();
    auto r = pg::decode_auth_request(m.body).value();
    return std::string(r.data.begin(), r.data.end());
}

} // namespace

TEST_CASE("SCRAM-SHA-256: a full exchange verified by an independent client") {
    auto c = with(AuthMethod::ScramSha256);
    auto out = c.startup({{"user", "lab"}, {"database", "lab"}});
    REQUIRE(lines(out.bytes) == Lines{"R10 SCRAM-SHA-256"});
    ScramClient scram("lab-password");
    out = c.send(sasl_initial(scram.mechanism(), scram.client_first()));
    auto first = sasl_data(out.bytes);
    // r=<client nonce><24 base64 characters>,s=<16-byte salt>,i=4096
    REQUIRE(first.starts_with("r=rOprNGfwEbeRWgbNEkqO"));
    REQUIRE(first.substr(first.find(',')).size() == std::string(",s=").size() + 24 + 7);
    REQUIRE(first.ends_with(",i=4096"));
    out = c.send(sasl_response(scram.client_final(first)));
    auto l = lines(out.bytes);
    REQUIRE(l.front() == "R12 " + scram.expected_server_final());
    REQUIRE(l[1] == "R0");
    REQUIRE(l.back() == "Z I");
    REQUIRE(c.responder.authenticated());
}

TEST_CASE("SCRAM-SHA-256: a wrong password and an unknown user fail at the end") {
    auto c = with(AuthMethod::ScramSha256);
    auto l = c.login({}, "lab", "lab", "wrong");
    REQUIRE(l.back() == "E FATAL 28P01 password authentication failed for user \"lab\"");
    REQUIRE(c.closed);
    auto d = with(AuthMethod::ScramSha256);
    l = d.login({}, "nosuch", "lab", "lab-password");
    REQUIRE(l.front() == "R10 SCRAM-SHA-256");
    REQUIRE(l[1].starts_with("R11 r=")); // a mock exchange, as PostgreSQL does
    REQUIRE(l.back() == "E FATAL 28P01 password authentication failed for user \"nosuch\"");
}

TEST_CASE("SCRAM-SHA-256-PLUS is offered first only over TLS with the certificate's hash") {
    REQUIRE(
        lines(with(AuthMethod::ScramSha256, true, kEndPoint).startup({{"user", "lab"}}).bytes) ==
        Lines{"R10 SCRAM-SHA-256-PLUS SCRAM-SHA-256"});
    REQUIRE(lines(with(AuthMethod::ScramSha256, true).startup({{"user", "lab"}}).bytes) ==
            Lines{"R10 SCRAM-SHA-256"});
    REQUIRE(
        lines(with(AuthMethod::ScramSha256, false, kEndPoint).startup({{"user", "lab"}}).bytes) ==
        Lines{"R10 SCRAM-SHA-256"});
}

TEST_CASE("channel binding: matching data succeeds, other data is refused") {
    SECTION("match") {
        auto c = with(AuthMethod::ScramSha256, true, kEndPoint);
        auto l = c.login({}, "lab", "lab", "lab-password", 'p', kEndPoint);
        REQUIRE(l.back() == "Z I");
        REQUIRE(std::find(c.notes.begin(), c.notes.end(),
                          "client used SCRAM-SHA-256-PLUS (tls-server-end-point)") !=
                c.notes.end());
        REQUIRE(std::find(c.notes.begin(), c.notes.end(),
                          "channel binding matched the certificate shown") != c.notes.end());
    }
    SECTION("mismatch: the client saw another certificate") {
        auto c = with(AuthMethod::ScramSha256, true, kEndPoint);
        auto l = c.login({}, "lab", "lab", "lab-password", 'p', sha256(to_bytes("other")));
        REQUIRE(l.back() == "E FATAL 28000 SCRAM channel binding check failed");
        auto n = c.notes;
        REQUIRE(std::any_of(n.begin(), n.end(), [](const std::string& s) {
            return s.starts_with("channel binding check failed");
        }));
    }
    SECTION("'y' over TLS when the server supports binding") {
        auto c = with(AuthMethod::ScramSha256, true, kEndPoint);
        auto l = c.login({}, "lab", "lab", "lab-password", 'y');
        REQUIRE(l.back() == "E FATAL 28000 SCRAM channel binding negotiation error D=The client "
                            "supports SCRAM channel binding but thinks the server does not.  "
                            "However, this server does support channel binding.");
    }
    SECTION("'y' without TLS is fine") {
        auto c = with(AuthMethod::ScramSha256);
        REQUIRE(c.login({}, "lab", "lab", "lab-password", 'y').back() == "Z I");
    }
    SECTION("'n' over TLS is fine") {
        auto c = with(AuthMethod::ScramSha256, true, kEndPoint);
        REQUIRE(c.login({}, "lab", "lab", "lab-password", 'n').back() == "Z I");
    }
    SECTION("PLUS without TLS is an invalid mechanism") {
        auto c = with(AuthMethod::ScramSha256);
        c.startup({{"user", "lab"}});
        ScramClient scram("lab-password", 'p', kEndPoint);
        auto out = c.send(sasl_initial(scram.mechanism(), scram.client_first()));
        REQUIRE(lines(out.bytes) ==
                Lines{"E FATAL 08P01 client selected an invalid SASL authentication mechanism"});
    }
}

TEST_CASE("malformed SCRAM messages get auth-scram.c's errors") {
    auto first_error = [](const std::string& data) {
        auto c = with(AuthMethod::ScramSha256);
        c.startup({{"user", "lab"}});
        return lines(c.send(sasl_initial("SCRAM-SHA-256", data)).bytes).back();
    };
    REQUIRE(first_error("garbage") ==
            "E FATAL 08P01 malformed SCRAM message D=Unexpected channel-binding flag \"'g'\".");
    REQUIRE(first_error("") == "E FATAL 08P01 malformed SCRAM message D=The message is empty.");
    REQUIRE(first_error("n,a=x,n=,r=abc") ==
            "E FATAL 0A000 client uses authorization identity, but it is not supported");
    REQUIRE(first_error("n,,m=x,n=,r=abc") ==
            "E FATAL 0A000 client requires an unsupported SCRAM extension");
    REQUIRE(first_error(std::string("n,,n=,r=a\x01") + "b") ==
            "E FATAL 08P01 non-printable characters in SCRAM nonce");
    REQUIRE(first_error("p=tls-unique,,n=,r=abc") ==
            "E FATAL 08P01 malformed SCRAM message D=The client selected SCRAM-SHA-256 without "
            "channel binding, but the SCRAM message includes channel binding data.");
    REQUIRE(first_error("n,,n=,r=abc,1=1") ==
            "E FATAL 08P01 malformed SCRAM message D=Attribute expected, but found invalid "
            "character \"'1'\".");

    auto final_error = [](auto make) {
        auto c = with(AuthMethod::ScramSha256);
        c.startup({{"user", "lab"}});
        auto out = c.send(sasl_initial("SCRAM-SHA-256", "n,,n=,r=abc"));
        auto first = sasl_data(out.bytes);
        auto nonce = first.substr(2, first.find(',') - 2);
        return lines(c.send(sasl_response(make(nonce))).bytes).back();
    };
    auto proof32 = base64(Bytes(32, 'x'));
    REQUIRE(final_error([](const std::string&) { return std::string("garbage"); }) ==
            "E FATAL 08P01 malformed SCRAM message D=Expected attribute \"c\" but found \"'g'\".");
    REQUIRE(final_error([](const std::string&) { return std::string("c=eSws,r=abc,p=xx"); }) ==
            "E FATAL 08P01 unexpected SCRAM channel-binding attribute in client-final-message");
    REQUIRE(final_error([&](const std::string&) { return "c=biws,r=abcdef,p=" + proof32; }) ==
            "E FATAL 08P01 invalid SCRAM response D=Nonce does not match.");
    REQUIRE(final_error([](const std::string& n) {
                return "c=biws,r=" + n + ",p=" + base64(Bytes(31, 'x'));
            }) ==
            "E FATAL 08P01 malformed SCRAM message D=Malformed proof in client-final-message.");
    REQUIRE(final_error([&](const std::string& n) {
                return "c=biws,r=" + n + ",p=" + proof32 + ",x=1";
            }) == "E FATAL 08P01 malformed SCRAM message D=Garbage found at the end of "
                  "client-final-message.");
    REQUIRE(final_error([&](const std::string& n) {
                return "c=biws,r=" + n + ",x=1,p=" + proof32;
            }) == "E FATAL 28P01 password authentication failed for user \"lab\"");
    REQUIRE(final_error([](const std::string& n) { return "c=biws,r=" + n; }) ==
            "E FATAL 08P01 malformed SCRAM message D=Attribute expected, but found end of string.");
}

TEST_CASE("a message other than a password answer during authentication") {
    auto c = with(AuthMethod::ScramSha256);
    c.startup({{"user", "lab"}});
    REQUIRE(lines(c.send(pg::query("select 1")).bytes) ==
            Lines{"E FATAL 08P01 expected SASL response, got message type 81"});
    auto d = with(AuthMethod::Password);
    d.startup({{"user", "lab"}});
    REQUIRE(lines(d.send(pg::query("select 1")).bytes) ==
            Lines{"E FATAL 08P01 expected password response, got message type 81"});
}

TEST_CASE("cleartext password") {
    auto c = with(AuthMethod::Password);
    REQUIRE(c.login().front() == "R3");
    REQUIRE(c.responder.authenticated());
    auto d = with(AuthMethod::Password);
    REQUIRE(d.login({}, "lab", "lab", "nope").back() ==
            "E FATAL 28P01 password authentication failed for user \"lab\"");
    auto e = with(AuthMethod::Password);
    e.startup({{"user", "lab"}});
    REQUIRE(lines(e.send(pg::Message{'p', {0}}).bytes) ==
            Lines{"E FATAL 28P01 empty password returned by client"});
    auto f = with(AuthMethod::Password);
    f.startup({{"user", "lab"}});
    REQUIRE(lines(f.send(pg::Message{'p', {'a', 'b', 'c'}}).bytes) ==
            Lines{"E FATAL 08P01 invalid password packet size"});
}

TEST_CASE("md5: md5(md5(password + user) + salt)") {
    auto c = with(AuthMethod::Md5);
    auto out = c.startup({{"user", "lab"}, {"database", "lab"}});
    auto r = pg::decode_auth_request(frames(out.bytes).back().body).value();
    REQUIRE(r.code == 5);
    std::string salt(r.salt.begin(), r.salt.end());
    out =
        c.send(pg::password("md5" + md5_hex(md5_hex("lab-password" + std::string("lab")) + salt)));
    REQUIRE(lines(out.bytes).front() == "R0");
    auto d = with(AuthMethod::Md5);
    d.startup({{"user", "lab"}});
    REQUIRE(lines(d.send(pg::password("lab-password")).bytes) ==
            Lines{"E FATAL 28P01 password authentication failed for user \"lab\""});
}
