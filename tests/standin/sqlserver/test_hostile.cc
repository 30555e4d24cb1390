// Hostile input for the stand-in: mutated batches, RPCs and Transaction Manager requests,
// seeded and bounded, at several TDS levels. The properties, whatever the bytes:
//   - nothing crashes (these run under ASan + UBSan in scripts/test);
//   - every answer is a well-formed token stream in the session's layout that ends with a
//     final DONE/DONEPROC (a client can always read what the stand-in says);
//   - unless the request was a protocol violation (an error string: the session closes),
//     the session still answers SELECT 1 afterwards.
// This is a deterministic mutation test, not a coverage-guided fuzzer; it runs in every
// `ctest` (a few thousand cases, well under a second).

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <standin/sqlserver/statement_parser.h>
#include <tds/packet.h>
#include <tds/rpc.h>
#include <tds/transaction_manager.h>

#include "standin_test_util.h"

using namespace standin_test;

namespace {

constexpr int kMutationsPerSeed = 300;

// mutate: flips, inserts, deletes or truncates a few bytes of a valid request.
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

// The answer is readable and ends the request.
void check_answer(const Client& c, tds::PacketType type) {
    if (c.last_error || !c.last_reply) {
        return;
    }
    auto r = walk(c.last_reply->payload, c.level);
    INFO("request type " << static_cast<int>(type) << ", answer: " << r.shape());
    REQUIRE_FALSE(r.walk_error);
    auto dones = r.dones();
    REQUIRE_FALSE(dones.empty());
    CHECK((dones.back().status & tds::done_status::kMore) == 0);
}

Client logged_in(std::uint32_t version) {
    Client c;
    c.login(login7(version));
    REQUIRE(c.responder.logged_in());
    return c;
}

void hammer(std::uint32_t version, tds::PacketType type, const std::vector<Bytes>& seeds) {
    std::mt19937 rng(0x7153 + version + static_cast<unsigned>(type));
    for (const auto& seed : seeds) {
        for (int i = 0; i < kMutationsPerSeed; ++i) {
            Client c = logged_in(version);
            auto bytes = mutate(seed, rng);
            c.send(message(type, bytes));
            check_answer(c, type);
            if (!c.last_error) {
                CHECK(c.select_one());
            }
        }
    }
}

const char* const kBatches[] = {
    "SELECT 1",
    "/* c */ SET NOCOUNT ON; select 1 as one, N'x' AS s, NULL -- x\n SELECT @@TRANCOUNT",
    "BEGIN TRAN t; SAVE TRAN s; ROLLBACK TRAN s; COMMIT",
    "DECLARE @a int = 5, @b nvarchar(10) = N'q'; SET @a += 2; SELECT @a, @b, CAST(@a AS "
    "varchar(3)) + 'x'",
    "IF @@TRANCOUNT > 0 COMMIT ELSE BEGIN PRINT 'none'; SELECT SERVERPROPERTY('ProductVersion') "
    "END",
    "SELECT * FROM t; SELECT 2",
    "EXEC sp_executesql N'SELECT @p', N'@p int', @p = 42",
    "USE lab; SET LANGUAGE Deutsch; SELECT DB_NAME(), @@LANGUAGE, GETDATE(), SYSDATETIME()",
};

} // namespace

TEST_CASE("hostile: mutated batch text never crashes the parser", "[standin][hostile]") {
    std::mt19937 rng(7);
    for (const char* text : kBatches) {
        std::string s = text;
        for (int i = 0; i < kMutationsPerSeed; ++i) {
            Bytes b(s.begin(), s.end());
            auto m = mutate(b, rng);
            auto parsed = standin::sqlserver::parse_batch(std::string(m.begin(), m.end()));
            if (!parsed) {
                CHECK_FALSE(parsed.error().text.empty());
            }
        }
    }
}

TEST_CASE("hostile: mutated SQL batches at every level", "[standin][hostile]") {
    for (std::uint32_t version : {tds::tds_version::k70, tds::tds_version::k71,
                                  tds::tds_version::k72, tds::tds_version::k74}) {
        std::vector<Bytes> seeds;
        for (const char* text : kBatches) {
            seeds.push_back(sql_batch_payload(text, tds::negotiate_version(version)->level));
        }
        hammer(version, tds::PacketType::SqlBatch, seeds);
    }
}

TEST_CASE("hostile: mutated RPCs at every level", "[standin][hostile]") {
    for (std::uint32_t version :
         {tds::tds_version::k71, tds::tds_version::k72, tds::tds_version::k74}) {
        auto level = tds::negotiate_version(version)->level;
        std::vector<Bytes> seeds = {
            rpc_payload({call_id(tds::proc_id::kExecuteSql,
                                 {nvarchar_param("", "SELECT @p1 AS v"),
                                  nvarchar_param("", "@p1 int"), int_param("@p1", 42)})},
                        level),
            rpc_payload({call_id(tds::proc_id::kPrepExec,
                                 {int_param("@h", std::nullopt, true), nvarchar_param("", "@p int"),
                                  nvarchar_param("", "SELECT @p"), int_param("@p", 1)}),
                         call_named("sp_nothing_here", {})},
                        level),
        };
        hammer(version, tds::PacketType::Rpc, seeds);
    }
}

TEST_CASE("hostile: mutated Transaction Manager requests", "[standin][hostile]") {
    std::vector<Bytes> seeds;
    for (std::uint16_t type : {0, 5, 7, 8, 9}) {
        Bytes body;
        if (type == 5) {
            body = {0x02};
            auto n = tm_name("t");
            body.insert(body.end(), n.begin(), n.end());
        } else if (type == 7 || type == 8) {
            body = tm_name("");
            body.push_back(0x01);
            body.push_back(0x02);
            auto n = tm_name("next");
            body.insert(body.end(), n.begin(), n.end());
        } else if (type == 9) {
            body = tm_name("sp");
        }
        seeds.push_back(tm_payload(type, body, 0));
    }
    hammer(tds::tds_version::k74, tds::PacketType::TransactionManager, seeds);
}
