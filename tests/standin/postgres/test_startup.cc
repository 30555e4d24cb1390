// The startup phase: what a PostgreSQL 16.4 server answers to a StartupMessage (expected lines
// captured from a real 16.4 server with the same packets).

#include <catch2/catch.hpp>

#include "pg_test_client.h"

using namespace pgtest;
using standin::postgres::AuthMethod;

namespace {

Client trust_client() {
    auto config = test_config();
    config.auth = AuthMethod::Trust;
    return Client(config);
}

} // namespace

TEST_CASE("a successful startup reports PostgreSQL 16's settings in its order") {
    auto c = trust_client();
    auto out = c.startup({{"user", "lab"}, {"database", "lab"}});
    REQUIRE_FALSE(out.close);
    REQUIRE(lines(out.bytes) == Lines{
                                    "R0",
                                    "S in_hot_standby=off",
                                    "S integer_datetimes=on",
                                    "S TimeZone=Etc/UTC",
                                    "S IntervalStyle=postgres",
                                    "S is_superuser=off",
                                    "S application_name=",
                                    "S default_transaction_read_only=off",
                                    "S scram_iterations=4096",
                                    "S DateStyle=ISO, MDY",
                                    "S standard_conforming_strings=on",
                                    "S session_authorization=lab",
                                    "S client_encoding=UTF8",
                                    "S server_version=16.4",
                                    "S server_encoding=UTF8",
                                    "K 4242 4",
                                    "Z I",
                                });
    REQUIRE(c.responder.authenticated());
}

TEST_CASE("startup parameters and options set the session, options first") {
    auto c = trust_client();
    auto all = c.login({{"options", "-c DateStyle=German -c search_path=x --TimeZone=PST8PDT "
                                    "-cstatement_timeout=5"},
                        {"application_name", "app1"},
                        {"client_encoding", "latin1"},
                        {"extra_float_digits", "3"},
                        {"datestyle", "SQL"}});
    auto has = [&](const std::string& l) {
        return std::find(all.begin(), all.end(), l) != all.end();
    };
    REQUIRE(has("S TimeZone=PST8PDT"));
    REQUIRE(has("S application_name=app1"));
    REQUIRE(has("S DateStyle=SQL, DMY")); // German set DMY, then SQL kept the order
    REQUIRE(has("S client_encoding=LATIN1"));
    REQUIRE(c.query("show statement_timeout") ==
            Lines{"T statement_timeout:25:-1:-1:0", "D 5ms", "C SHOW", "Z I"});
    REQUIRE(c.query("show search_path") ==
            Lines{"T search_path:25:-1:-1:0", "D x", "C SHOW", "Z I"});
    // asyncpg sends client_encoding 'utf-8' with the quotes
    auto d = trust_client();
    auto l = d.login({{"client_encoding", "'utf-8'"}});
    REQUIRE(std::find(l.begin(), l.end(), "S client_encoding=UTF8") != l.end());
}

TEST_CASE("startup errors are PostgreSQL's FATALs") {
    SECTION("no user") {
        auto c = trust_client();
        auto out = c.startup({{"database", "lab"}});
        REQUIRE(out.close);
        REQUIRE(lines(out.bytes) ==
                Lines{"E FATAL 28000 no PostgreSQL user name specified in startup packet"});
    }
    SECTION("unknown database: after authentication") {
        Client c;
        auto l = c.login({}, "lab", "nosuch");
        REQUIRE(l.back() == "E FATAL 3D000 database \"nosuch\" does not exist");
        REQUIRE(l[l.size() - 2] == "R0");
        REQUIRE(c.closed);
    }
    SECTION("unknown setting") {
        auto c = trust_client();
        auto l = c.login({{"foo", "1"}});
        REQUIRE(l == Lines{"R0", "E FATAL 42704 unrecognized configuration parameter \"foo\""});
        auto d = trust_client();
        REQUIRE(d.login({{"options", "-c nosuch=1"}}).back() ==
                "E FATAL 42704 unrecognized configuration parameter \"nosuch\"");
        auto e = trust_client();
        REQUIRE(e.login({{"options", "-x"}}).back() ==
                "E FATAL 42601 invalid command-line argument for server process: -x H=Try "
                "\"postgres --help\" for more information.");
    }
    SECTION("bad values") {
        auto c = trust_client();
        REQUIRE(c.login({{"DateStyle", "bogus"}}).back() ==
                "E FATAL 22023 invalid value for parameter \"DateStyle\": \"bogus\" "
                "D=Unrecognized key word: \"bogus\".");
        auto d = trust_client();
        REQUIRE(d.login({{"client_encoding", "bogus"}}).back() ==
                "E FATAL 22023 invalid value for parameter \"client_encoding\": \"bogus\"");
        auto e = trust_client();
        REQUIRE(e.login({{"log_connections", "on"}}).back() ==
                "E FATAL 42501 permission denied to set parameter \"log_connections\"");
    }
    SECTION("dotted placeholders are accepted") {
        auto c = trust_client();
        REQUIRE(c.login({{"foo.bar", "1"}}).back() == "Z I");
        REQUIRE(c.query("show foo.bar") == Lines{"T foo.bar:25:-1:-1:0", "D 1", "C SHOW", "Z I"});
    }
    SECTION("replication") {
        auto c = trust_client();
        auto out = c.startup({{"user", "lab"}, {"database", "lab"}, {"replication", "true"}});
        REQUIRE(lines(out.bytes) ==
                Lines{"E FATAL 28000 no pg_hba.conf entry for replication connection from host "
                      "\"127.0.0.1\", user \"lab\", no encryption"});
        auto d = trust_client();
        out = d.startup({{"user", "lab"}, {"replication", "maybe"}});
        REQUIRE(lines(out.bytes) ==
                Lines{"E FATAL 22023 invalid value for parameter \"replication\": \"maybe\" "
                      "H=Valid values are: \"false\", 0, \"true\", 1, \"database\"."});
    }
    SECTION("require_tls refuses a plaintext startup as hostssl-only pg_hba does") {
        auto config = test_config();
        config.require_tls = true;
        Client c(config);
        auto out = c.startup({{"user", "lab"}, {"database", "lab"}});
        REQUIRE(out.close);
        REQUIRE(lines(out.bytes) ==
                Lines{"E FATAL 28000 no pg_hba.conf entry for host \"127.0.0.1\", "
                      "user \"lab\", database \"lab\", no encryption"});
        auto facts = test_facts();
        facts.tls = true;
        Client d(config, facts);
        REQUIRE(d.login().back() == "Z I");
    }
}

TEST_CASE("protocol versions") {
    SECTION("2.0: the old protocol's error text") {
        auto c = trust_client();
        auto out = c.startup({{"user", "lab"}}, 0x00020000);
        std::string text(out.bytes.begin(), out.bytes.end());
        REQUIRE(text == std::string("EFATAL:  unsupported frontend protocol 2.0: server supports "
                                    "3.0 to 3.2\n") +
                            '\0');
        REQUIRE(out.close);
    }
    SECTION("4.0: a v3 ErrorResponse") {
        auto c = trust_client();
        auto out = c.startup({{"user", "lab"}}, 0x00040000);
        REQUIRE(
            lines(out.bytes) ==
            Lines{"E FATAL 0A000 unsupported frontend protocol 4.0: server supports 3.0 to 3.2"});
    }
    SECTION("a newer minor and _pq_ options: NegotiateProtocolVersion") {
        auto c = trust_client();
        auto out = c.startup({{"user", "lab"}, {"_pq_.foo", "1"}, {"_pq_.bar", "2"}}, 0x00030005);
        auto l = lines(out.bytes);
        REQUIRE(l.front() == "v 3.2 _pq_.foo _pq_.bar");
        REQUIRE(l.back() == "Z I");
        REQUIRE(c.responder.protocol() == 0x00030002);
    }
    SECTION("as PostgreSQL 16 (3.0 only): 3.2 is negotiated down") {
        auto config = test_config();
        config.auth = AuthMethod::Trust;
        config.newest_protocol_minor = 0;
        Client c(config);
        auto l = lines(c.startup({{"user", "lab"}, {"_pq_.x", "1"}}, 0x00030002).bytes);
        REQUIRE(l.front() == "v 3.0 _pq_.x");
        REQUIRE(l[1] == "R0");
        Client d(config);
        REQUIRE(lines(d.startup({{"user", "lab"}}, 0x00030002).bytes).front() == "v 3.0");
    }
    SECTION("3.2 carries the long secret key, 3.0 four bytes of it") {
        auto facts = test_facts();
        facts.secret_key.assign(32, 7);
        auto config = test_config();
        config.auth = AuthMethod::Trust;
        Client c(config, facts);
        auto l = lines(c.startup({{"user", "lab"}}, pg::kProtocol32).bytes);
        REQUIRE(std::find(l.begin(), l.end(), "K 4242 32") != l.end());
        Client d(config, facts);
        l = lines(d.startup({{"user", "lab"}}, pg::kProtocol30).bytes);
        REQUIRE(std::find(l.begin(), l.end(), "K 4242 4") != l.end());
        REQUIRE(d.responder.secret_key() == Bytes{7, 7, 7, 7});
    }
}

TEST_CASE("trust authentication of an unknown role fails after AuthenticationOk") {
    auto c = trust_client();
    REQUIRE(c.login({}, "nosuch") == Lines{"R0", "E FATAL 28000 role \"nosuch\" does not exist"});
}

TEST_CASE("messages before the startup packet and after close") {
    auto c = trust_client();
    auto out = c.send(pg::query("select 1"));
    REQUIRE(out.close);
    REQUIRE(out.bytes.empty());
    REQUIRE(c.send(pg::query("select 1")).close);
}
