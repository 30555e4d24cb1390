// Hostile input: every captured message, cut and mutated, through every decoder. Nothing may
// crash or read out of bounds (the ASan + UBSan build runs this too), and whatever a decoder
// accepts must be canonical: encoding the decoded value gives back the very same bytes.

#include <functional>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <pg/messages.h>
#include <pg/scram.h>

#include "pg_test_util.h"

using namespace pg_test;

namespace {

const char* const kVectorFiles[] = {
    "pgbench15_extended_client.hex", "pgbench15_extended_server.hex",
    "pgbench15_prepared_client.hex", "pgbench15_prepared_server.hex",
    "psql15_cancel_request.hex",     "psql15_canceled_server.hex",
    "psql15_md5_client.hex",         "psql15_md5_server.hex",
    "psql15_notice_server.hex",      "psql15_password_client.hex",
    "psql15_password_server.hex",    "psql15_scram_client.hex",
    "psql15_scram_server.hex",       "psql15_ssl_refused_client.hex",
    "raw32_negotiate_server.hex",    "psql15_scram_wrong_password_server.hex",
};

// A decoder that re-encodes what it accepted; nullopt when it refused the body.
using Roundtrip = std::function<std::optional<Bytes>(const Bytes&)>;

template <typename T, typename Encode>
std::optional<Bytes> via(std::expected<T, pg::Error> decoded, Encode encode) {
    if (!decoded) {
        return std::nullopt;
    }
    return encode(*decoded);
}

// Every body decoder with the encoder that inverts it.
std::vector<std::pair<const char*, Roundtrip>> body_decoders() {
    return {
        {"query",
         [](const Bytes& b) {
             return via(pg::decode_query(b), [](const auto& q) { return pg::query(q.sql).body; });
         }},
        {"parse",
         [](const Bytes& b) {
             return via(pg::decode_parse(b), [](const auto& p) { return pg::parse(p).body; });
         }},
        {"bind",
         [](const Bytes& b) {
             return via(pg::decode_bind(b), [](const auto& v) { return pg::bind(v).body; });
         }},
        {"describe",
         [](const Bytes& b) {
             return via(pg::decode_describe(b),
                        [](const auto& d) { return pg::describe(d.kind, d.name).body; });
         }},
        {"execute",
         [](const Bytes& b) {
             return via(pg::decode_execute(b),
                        [](const auto& e) { return pg::execute(e.portal, e.max_rows).body; });
         }},
        {"close",
         [](const Bytes& b) {
             return via(pg::decode_close(b),
                        [](const auto& c) { return pg::close(c.kind, c.name).body; });
         }},
        {"password",
         [](const Bytes& b) {
             return via(pg::decode_password(b), [](const auto& p) { return pg::password(p).body; });
         }},
        {"sasl_initial_response",
         [](const Bytes& b) {
             return via(pg::decode_sasl_initial_response(b), [&b](const auto& s) {
                 // length -1 has no encoder: it is "no data"
                 return s.data ? pg::sasl_initial_response(s.mechanism, *s.data).body : b;
             });
         }},
        {"auth_request",
         [](const Bytes& b) {
             return via(pg::decode_auth_request(b),
                        [](const auto& a) { return pg::encode_auth_request(a).body; });
         }},
        {"notice",
         [](const Bytes& b) {
             return via(pg::decode_notice(b),
                        [](const auto& n) { return pg::error_response(n).body; });
         }},
        {"parameter_status",
         [](const Bytes& b) {
             return via(pg::decode_parameter_status(b),
                        [](const auto& s) { return pg::parameter_status(s.name, s.value).body; });
         }},
        {"backend_key_data",
         [](const Bytes& b) {
             return via(pg::decode_backend_key_data(b), [](const auto& k) {
                 return pg::backend_key_data(k.process_id, k.secret_key).body;
             });
         }},
        {"row_description",
         [](const Bytes& b) {
             return via(pg::decode_row_description(b),
                        [](const auto& f) { return pg::row_description(f).body; });
         }},
        {"data_row",
         [](const Bytes& b) {
             return via(pg::decode_data_row(b), [](const auto& v) { return pg::data_row(v).body; });
         }},
        {"command_complete",
         [](const Bytes& b) {
             return via(pg::decode_command_complete(b),
                        [](const auto& t) { return pg::command_complete(t).body; });
         }},
        {"ready_for_query",
         [](const Bytes& b) {
             return via(pg::decode_ready_for_query(b),
                        [](char s) { return pg::ready_for_query(s).body; });
         }},
        {"parameter_description",
         [](const Bytes& b) {
             return via(pg::decode_parameter_description(b),
                        [](const auto& o) { return pg::parameter_description(o).body; });
         }},
        {"negotiate_protocol_version",
         [](const Bytes& b) {
             return via(pg::decode_negotiate_protocol_version(b), [&b](const auto& v) {
                 // The builder speaks major 3 only; another major cannot be rebuilt.
                 return v.version >> 16 == 3
                            ? pg::negotiate_protocol_version(v.version, v.unrecognized_options).body
                            : b;
             });
         }},
        {"startup",
         [](const Bytes& b) {
             return via(pg::decode_startup(b), [](const auto& p) { return pg::encode_startup(p); });
         }},
    };
}

// The inputs: each captured message (whole, and its body), every cut of it, each byte set to
// 0x00, 0xFF, 0x80 and a neighbour value, and seeded random rewrites.
std::vector<Bytes> hostile_inputs() {
    std::vector<Bytes> seeds;
    for (const char* file : kVectorFiles) {
        for (const auto& m : load_lines(file)) {
            seeds.push_back(m);
            if (m.size() >= 5 && m[0] != 0) {
                seeds.push_back(Bytes(m.begin() + 5, m.end()));
            }
        }
    }
    std::vector<Bytes> out;
    std::mt19937 rng(5432);
    for (const auto& s : seeds) {
        out.push_back(s);
        for (std::size_t n = 0; n < s.size(); ++n) {
            out.push_back(prefix(s, n));
        }
        for (std::size_t i = 0; i < s.size() && i < 64; ++i) {
            for (std::uint8_t v : {std::uint8_t{0x00}, std::uint8_t{0xFF}, std::uint8_t{0x80},
                                   static_cast<std::uint8_t>(s[i] + 1)}) {
                Bytes m = s;
                m[i] = v;
                out.push_back(std::move(m));
            }
        }
        for (int round = 0; round < 8; ++round) {
            Bytes m = s;
            if (m.empty()) {
                break;
            }
            for (int k = 0; k < 3; ++k) {
                m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
            }
            out.push_back(std::move(m));
        }
    }
    return out;
}

} // namespace

TEST_CASE("Every decoder survives hostile bytes and accepts only canonical encodings",
          "[pg][hostile]") {
    const auto inputs = hostile_inputs();
    REQUIRE(inputs.size() > 10000);
    std::size_t accepted = 0;
    for (const auto& [name, roundtrip] : body_decoders()) {
        CAPTURE(name);
        for (const auto& input : inputs) {
            auto reencoded = roundtrip(input);
            if (reencoded) {
                ++accepted;
                if (*reencoded != input) {
                    CAPTURE(to_hex(input));
                    CHECK(to_hex(*reencoded) == to_hex(input));
                }
            }
        }
    }
    CHECK(accepted > 1000); // the mutations do not all fail: the property is exercised
}

TEST_CASE("MessageReader and startup_packet_length survive hostile streams", "[pg][hostile]") {
    std::mt19937 rng(18);
    const Bytes server = load_stream("psql15_scram_server.hex");
    for (int round = 0; round < 300; ++round) {
        Bytes stream = server;
        for (int k = 0; k < 4; ++k) {
            stream[rng() % stream.size()] = static_cast<std::uint8_t>(rng());
        }
        pg::MessageReader r(4096);
        std::size_t at = 0;
        bool failed = false;
        while (at < stream.size() && !failed) {
            const std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 64);
            r.feed(std::span(stream).subspan(at, n));
            at += n;
            while (true) {
                auto next = r.next();
                if (!next) {
                    CHECK((next.error() == pg::Error::BadLength ||
                           next.error() == pg::Error::TooLong));
                    failed = true;
                    break;
                }
                if (!*next) {
                    break;
                }
                CHECK((*next)->body.size() + 4 <= 4096);
            }
        }
        auto length = pg::startup_packet_length(std::span(stream).subspan(rng() % stream.size()));
        if (length && *length) {
            CHECK(**length >= 8);
            CHECK(**length <= pg::kMaxStartupLength + 4);
        }
    }
}

TEST_CASE("The SCRAM parsers survive hostile text and round trip what they accept",
          "[pg][hostile][scram]") {
    const std::vector<std::string> seeds = {
        "n,,n=,r=atH2aMuRY3zlt8uD8XRHvbeK",
        "p=tls-server-end-point,a=x=2Cy,n=u=3D,r=abc,x=ext",
        "r=atH2aMuRY3zlt8uD8XRHvbeKJ9IcWGCPKImBUpbV7yxdcnF+,s=oAxYyWbpH0egYBHlIzBX9g==,i=4096",
        "c=biws,r=atH2aMuRY3zlt8uD8XRHvbeKJ9IcWGCPKImBUpbV7yxdcnF+,"
        "p=LQ0Ma0V1O64qFR8HOQ2ajX5Ytm0RbGR8UsO4MmZDqLs=",
        "v=5Bn2c8MseBDzzGR0IidPQA1ih4vKuTmUeIcS+A811YQ=",
        "e=invalid-proof",
    };
    const std::string alphabet = with_nuls("nypcrsivmeax=,2C3D+/0\0\xFF");
    std::mt19937 rng(7677);
    std::size_t accepted = 0;
    for (const auto& seed : seeds) {
        for (int round = 0; round < 400; ++round) {
            std::string text = seed;
            const int edits = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < edits && !text.empty(); ++k) {
                const std::size_t at = rng() % text.size();
                switch (rng() % 3) {
                case 0:
                    text[at] = alphabet[rng() % alphabet.size()];
                    break;
                case 1:
                    text.erase(at, 1);
                    break;
                default:
                    text.insert(at, 1, alphabet[rng() % alphabet.size()]);
                    break;
                }
            }
            CAPTURE(text);
            if (auto c = pg::scram::parse_client_first(text)) {
                ++accepted;
                auto again = pg::scram::parse_client_first(pg::scram::client_first(*c));
                REQUIRE(again);
                CHECK(again->user == c->user);
                CHECK(again->authzid == c->authzid);
                CHECK(again->nonce == c->nonce);
                CHECK(again->gs2_header == c->gs2_header);
            }
            if (auto s = pg::scram::parse_server_first(text)) {
                ++accepted;
                auto again = pg::scram::parse_server_first(pg::scram::server_first(*s));
                REQUIRE(again);
                CHECK(again->salt == s->salt);
                CHECK(again->iterations == s->iterations);
            }
            if (auto f = pg::scram::parse_client_final(text)) {
                ++accepted;
                // Not always the same text: like PostgreSQL, base64_decode ignores the unused
                // bits before '=', so "...qLsn=" and "...qLsk=" are the same proof.
                auto again = pg::scram::parse_client_final(pg::scram::client_final(*f));
                REQUIRE(again);
                CHECK(again->without_proof == f->without_proof);
                CHECK(again->proof == f->proof);
                CHECK(again->channel_binding == f->channel_binding);
            }
            if (auto v = pg::scram::parse_server_final(text)) {
                ++accepted;
                if (v->verifier) {
                    CHECK(pg::scram::parse_server_final(
                              pg::scram::server_final_verifier(*v->verifier))
                              ->verifier == v->verifier);
                }
            }
            auto b = pg::scram::base64_decode(text);
            if (b) {
                CHECK(pg::scram::base64_decode(pg::scram::base64_encode(*b)) == b);
            }
        }
    }
    CHECK(accepted > 50);
}
