// Hostile input for the PostgreSQL stand-in: mutated startup packets, authentication answers
// and query messages, seeded and bounded. The properties, whatever the bytes:
//   - nothing crashes (these run under ASan + UBSan with TLSLAB_SANITIZE);
//   - every reply frames into whole backend messages;
//   - unless the reply closed the session, the session still answers SELECT 1 (after a Sync,
//     which ends any extended-protocol error state).
// A deterministic mutation test, not a coverage-guided fuzzer: a few thousand cases.

#include <random>

#include <catch2/catch.hpp>

#include "pg_test_client.h"

using namespace pgtest;
using standin::postgres::AuthMethod;

namespace {

constexpr int kMutationsPerSeed = 250;

Bytes mutate(Bytes b, std::mt19937& rng) {
    std::uniform_int_distribution<int> op(0, 3);
    std::uniform_int_distribution<int> count(1, 4);
    for (int i = count(rng); i > 0; --i) {
        if (b.empty()) {
            b.push_back(static_cast<std::uint8_t>(rng()));
            continue;
        }
        std::uniform_int_distribution<std::size_t> at(0, b.size() - 1);
        switch (op(rng)) {
        case 0:
            b[at(rng)] = static_cast<std::uint8_t>(rng());
            break;
        case 1:
            b.insert(b.begin() + static_cast<std::ptrdiff_t>(at(rng)),
                     static_cast<std::uint8_t>(rng()));
            break;
        case 2:
            b.erase(b.begin() + static_cast<std::ptrdiff_t>(at(rng)));
            break;
        default:
            b.resize(at(rng));
            break;
        }
    }
    return b;
}

// answers_select_one: after a Sync (and a ROLLBACK when a transaction block is open or
// failed), SELECT 1 still works.
bool answers_select_one(Client& c) {
    auto synced = c.extended({pg::sync()});
    if (synced.empty() || synced.back() != "Z I") {
        c.query("rollback");
    }
    auto l = c.query("select 1");
    return std::find(l.begin(), l.end(), "D 1") != l.end();
}

Client logged_in(AuthMethod method = AuthMethod::Trust) {
    auto config = test_config();
    config.auth = method;
    Client c(config);
    c.login();
    return c;
}

} // namespace

TEST_CASE("mutated query messages never crash and leave the session usable") {
    const std::vector<pg::Message> seeds = {
        pg::query("select 1, 'a', $$b$$, 1.5::numeric(3,1), current_setting('DateStyle')"),
        pg::query("begin; set local application_name = 'x'; savepoint a; rollback to a; commit"),
        pg::query("select case when 1 = 1 then 'y' end, coalesce(null, 2), 1 in (1, 2)"),
        pg::parse(pg::Parse{"s", "select $1::int + $2, $3::numeric", {23, 0, 0}}),
        pg::bind(pg::Bind{
            "p", "s", {1, 0, 0}, {Bytes{0, 0, 0, 1}, to_bytes("2"), to_bytes("3.5")}, {1}}),
        pg::describe('S', "s"),
        pg::execute("p", 1),
        pg::close('P', "p"),
        pg::sasl_response(to_bytes("c=biws,r=x,p=y")),
    };
    std::mt19937 rng(20240229);
    int closed = 0;
    for (const auto& seed : seeds) {
        for (int i = 0; i < kMutationsPerSeed; ++i) {
            auto c = logged_in();
            c.extended({pg::parse(pg::Parse{"s", "select $1::int + $2, $3::numeric", {23, 0, 0}}),
                        pg::sync()});
            auto body = mutate(seed.body, rng);
            char type = (rng() % 8 == 0) ? static_cast<char>(rng()) : seed.type;
            auto out = c.send(pg::Message{type, body});
            REQUIRE_NOTHROW(frames(out.bytes));
            if (out.close) {
                ++closed;
                continue;
            }
            INFO("type " << static_cast<int>(type) << " seed " << seed.type << " reply "
                         << (frames(out.bytes).empty() ? std::string("-")
                                                       : describe(frames(out.bytes).back())));
            REQUIRE(answers_select_one(c));
        }
    }
    // only invalid message types end the session
    REQUIRE(closed < static_cast<int>(seeds.size()) * kMutationsPerSeed / 4);
}

TEST_CASE("mutated SQL text never crashes") {
    const std::vector<std::string> seeds = {
        "SELECT 1::int8 / 2, 'x' || E'\\x41', -2 ^ 2, 1 between 0 and 2 /* c */",
        "set search_path = a, \"B\", 'c d'; show search_path; reset all",
        "select (select 1), greatest(1, 2.5), nullif('a', 'b'), 12345678901234567890 * 3",
        "VALUES (1, 'a'), (2, 'b') ORDER BY 1 LIMIT 1 OFFSET 0",
    };
    std::mt19937 rng(7);
    auto c = logged_in();
    for (const auto& seed : seeds) {
        for (int i = 0; i < kMutationsPerSeed; ++i) {
            auto sql = mutate(to_bytes(seed), rng);
            sql.erase(std::remove(sql.begin(), sql.end(), std::uint8_t{0}), sql.end());
            auto out = c.send(pg::query(std::string(sql.begin(), sql.end())));
            REQUIRE_FALSE(out.close);
            auto l = lines(out.bytes);
            REQUIRE_FALSE(l.empty());
            REQUIRE(l.back().starts_with("Z "));
            if (l.back() != "Z I") {
                c.query("rollback");
            }
        }
    }
    REQUIRE(answers_select_one(c));
}

TEST_CASE("mutated startup packets and authentication answers never crash") {
    std::mt19937 rng(99);
    auto seed = pg::encode_startup(startup_packet(
        {{"user", "lab"}, {"database", "lab"}, {"options", "-c DateStyle=SQL"}, {"_pq_.x", "1"}},
        pg::kProtocol32));
    for (int i = 0; i < kMutationsPerSeed * 2; ++i) {
        auto bytes = mutate(seed, rng);
        auto packet = pg::decode_startup(bytes);
        if (!packet) {
            continue;
        }
        auto config = test_config();
        config.auth = static_cast<AuthMethod>(rng() % 4);
        Client c(config);
        auto out = c.startup(packet->parameters, packet->code);
        bool old_protocol_text = out.bytes.size() > 1 && out.bytes[0] == 'E' && out.bytes[1] == 'F';
        if (!old_protocol_text) {
            REQUIRE_NOTHROW(frames(out.bytes));
        }
        if (!out.close) {
            // SASLInitialResponse: "SCRAM-SHA-256\0", Int32 11, "n,,n=,r=abc" (built byte by byte:
            // GCC 12 -O2 misreads the string concatenation as an overflow).
            Bytes initial = to_bytes("SCRAM-SHA-256");
            initial.push_back(0);
            for (std::uint8_t b : {0, 0, 0, 11}) {
                initial.push_back(b);
            }
            Bytes data = to_bytes("n,,n=,r=abc");
            initial.insert(initial.end(), data.begin(), data.end());
            auto answer = mutate(initial, rng);
            auto reply = c.send(pg::Message{'p', answer});
            REQUIRE_NOTHROW(frames(reply.bytes));
        }
    }
}
