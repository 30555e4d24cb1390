#include <string>

#include <catch2/catch.hpp>

#include <pg/scram.h>

#include "pg_test_util.h"

using namespace pg_test;
namespace scram = pg::scram;

namespace {

// RFC 7677 section 3: the SCRAM-SHA-256 example exchange (user "user", password "pencil").
const std::string kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const std::string kRfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const std::string kRfcClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const std::string kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// psql 15 against PostgreSQL 15 (vectors/psql15_scram_*.hex): libpq sends an empty user name,
// the server appends 24 random bytes of base64 to the client's nonce, salt 16 bytes, 4096
// iterations.
const std::string kPsqlClientFirst = "n,,n=,r=atH2aMuRY3zlt8uD8XRHvbeK";
const std::string kPgServerFirst =
    "r=atH2aMuRY3zlt8uD8XRHvbeKJ9IcWGCPKImBUpbV7yxdcnF+,s=oAxYyWbpH0egYBHlIzBX9g==,i=4096";
const std::string kPsqlClientFinal = "c=biws,r=atH2aMuRY3zlt8uD8XRHvbeKJ9IcWGCPKImBUpbV7yxdcnF+,"
                                     "p=LQ0Ma0V1O64qFR8HOQ2ajX5Ytm0RbGR8UsO4MmZDqLs=";
const std::string kPgServerFinal = "v=5Bn2c8MseBDzzGR0IidPQA1ih4vKuTmUeIcS+A811YQ=";

// 32 bytes of base64 for proofs and verifiers built in the tests.
const std::string k32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

scram::ClientFirst client_first_ok(std::string_view text) {
    auto c = scram::parse_client_first(text);
    REQUIRE(c);
    return *c;
}

pg::Error client_first_error(std::string_view text) {
    CAPTURE(text);
    return error_of(scram::parse_client_first(text));
}
pg::Error server_first_error(std::string_view text) {
    CAPTURE(text);
    return error_of(scram::parse_server_first(text));
}
pg::Error client_final_error(std::string_view text) {
    CAPTURE(text);
    return error_of(scram::parse_client_final(text));
}
pg::Error server_final_error(std::string_view text) {
    CAPTURE(text);
    return error_of(scram::parse_server_final(text));
}

} // namespace

TEST_CASE("The RFC 7677 exchange parses and serialises back", "[pg][scram]") {
    const auto cf = client_first_ok(kRfcClientFirst);
    CHECK(cf.binding_flag == 'n');
    CHECK(cf.binding_name.empty());
    CHECK(cf.authzid.empty());
    CHECK(cf.user == "user");
    CHECK(cf.nonce == "rOprNGfwEbeRWgbNEkqO");
    CHECK(cf.gs2_header == "n,,");
    CHECK(cf.bare == "n=user,r=rOprNGfwEbeRWgbNEkqO");
    CHECK(scram::client_first(cf) == kRfcClientFirst);

    auto sf = scram::parse_server_first(kRfcServerFirst);
    REQUIRE(sf);
    CHECK(sf->nonce == "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    CHECK(to_hex(sf->salt) == "5b6d99689d12358eeca04b141236fa81");
    CHECK(sf->iterations == 4096);
    CHECK(scram::server_first(*sf) == kRfcServerFirst);

    auto cl = scram::parse_client_final(kRfcClientFinal);
    REQUIRE(cl);
    CHECK(text_of(cl->channel_binding) == "n,,");
    CHECK(cl->nonce == sf->nonce);
    CHECK(cl->proof.size() == 32);
    CHECK(cl->without_proof == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    CHECK(scram::client_final(*cl) == kRfcClientFinal);
    CHECK(scram::client_final_without_proof(*cl) == cl->without_proof);

    auto sv = scram::parse_server_final(kRfcServerFinal);
    REQUIRE(sv);
    REQUIRE(sv->verifier);
    CHECK(sv->verifier->size() == 32);
    CHECK_FALSE(sv->error);
    CHECK(scram::server_final_verifier(*sv->verifier) == kRfcServerFinal);
}

TEST_CASE("The captured psql / PostgreSQL exchange parses and serialises back", "[pg][scram]") {
    // The texts above are the SASL data of the captured messages.
    const auto client = load_lines("psql15_scram_client.hex");
    const auto server = load_lines("psql15_scram_server.hex");
    auto initial = pg::decode_sasl_initial_response(body_of(client.at(1)));
    REQUIRE(initial);
    REQUIRE(initial->data);
    CHECK(text_of(*initial->data) == kPsqlClientFirst);
    auto cont = pg::decode_auth_request(body_of(server.at(1)));
    REQUIRE(cont);
    CHECK(text_of(cont->data) == kPgServerFirst);
    CHECK(text_of(body_of(client.at(2))) == kPsqlClientFinal);
    auto fin = pg::decode_auth_request(body_of(server.at(2)));
    REQUIRE(fin);
    CHECK(text_of(fin->data) == kPgServerFinal);

    const auto cf = client_first_ok(kPsqlClientFirst);
    CHECK(cf.binding_flag == 'n');
    CHECK(cf.user.empty());
    CHECK(cf.bare == "n=,r=atH2aMuRY3zlt8uD8XRHvbeK");
    CHECK(scram::client_first(cf) == kPsqlClientFirst);

    auto sf = scram::parse_server_first(kPgServerFirst);
    REQUIRE(sf);
    CHECK(sf->nonce.starts_with(cf.nonce));
    CHECK(sf->nonce.size() == cf.nonce.size() + 24);
    CHECK(sf->salt.size() == 16);
    CHECK(sf->iterations == 4096);
    CHECK(scram::server_first(*sf) == kPgServerFirst);

    auto cl = scram::parse_client_final(kPsqlClientFinal);
    REQUIRE(cl);
    CHECK(cl->channel_binding == scram::channel_binding_input(cf, {}));
    CHECK(cl->nonce == sf->nonce);
    CHECK(scram::client_final(*cl) == kPsqlClientFinal);

    auto sv = scram::parse_server_final(kPgServerFinal);
    REQUIRE(sv);
    REQUIRE(sv->verifier);
    CHECK(scram::server_final_verifier(*sv->verifier) == kPgServerFinal);
}

TEST_CASE("Channel binding flags n, y and p=tls-server-end-point", "[pg][scram]") {
    SECTION("y: the client could bind, but thinks the server cannot") {
        const auto c = client_first_ok("y,,n=,r=abc");
        CHECK(c.binding_flag == 'y');
        CHECK(c.binding_name.empty());
        CHECK(c.gs2_header == "y,,");
        CHECK(scram::gs2_header(c) == "y,,");
        CHECK(scram::client_first(c) == "y,,n=,r=abc");
        // c=eSws: base64 of "y,,"
        CHECK(scram::channel_binding_input(c, Bytes{1, 2}) == bytes_of("y,,"));
        auto fin = scram::parse_client_final("c=eSws,r=abcdef,p=" + k32);
        REQUIRE(fin);
        CHECK(fin->channel_binding == scram::channel_binding_input(c, {}));
    }
    SECTION("p: the client binds to the server certificate's hash") {
        const auto c = client_first_ok("p=tls-server-end-point,,n=,r=abc");
        CHECK(c.binding_flag == 'p');
        CHECK(c.binding_name == scram::kTlsServerEndPoint);
        CHECK(c.gs2_header == "p=tls-server-end-point,,");
        CHECK(scram::client_first(c) == "p=tls-server-end-point,,n=,r=abc");
        // c= carries the gs2 header followed by the hash (32 bytes for a SHA-256 certificate).
        Bytes hash(32);
        for (std::size_t i = 0; i < hash.size(); ++i) {
            hash[i] = static_cast<std::uint8_t>(i);
        }
        const Bytes input = scram::channel_binding_input(c, hash);
        CHECK(input == concat({bytes_of("p=tls-server-end-point,,"), hash}));
        scram::ClientFinal f;
        f.channel_binding = input;
        f.nonce = "abcdef";
        f.proof = hash;
        const std::string text = scram::client_final(f);
        CHECK(text == "c=" + scram::base64_encode(input) + ",r=abcdef,p=" + k32);
        auto back = scram::parse_client_final(text);
        REQUIRE(back);
        CHECK(back->channel_binding == input);
        CHECK(back->without_proof == "c=" + scram::base64_encode(input) + ",r=abcdef");
    }
    SECTION("other channel binding names are syntax, not the parser's business") {
        const auto c = client_first_ok("p=tls-unique,,n=,r=abc");
        CHECK(c.binding_name == "tls-unique");
        CHECK(client_first_ok("p=tls-exporter,,n=,r=abc").binding_name == "tls-exporter");
    }
    SECTION("a client-first built from its fields") {
        scram::ClientFirst c;
        c.binding_flag = 'p';
        c.binding_name = std::string(scram::kTlsServerEndPoint);
        c.nonce = "xyz";
        c.gs2_header = "ignored";
        c.bare = "ignored";
        CHECK(scram::client_first(c) == "p=tls-server-end-point,,n=,r=xyz");
        c.binding_flag = 'n';
        CHECK(scram::client_first(c) == "n,,n=,r=xyz");
    }
}

TEST_CASE("User names and authzids escape ',' and '='", "[pg][scram]") {
    const auto c = client_first_ok("n,a=ad=2Cmin,n=us=3Der=2C1,r=abc");
    CHECK(c.authzid == "ad,min");
    CHECK(c.user == "us=er,1");
    CHECK(c.gs2_header == "n,a=ad=2Cmin,");
    CHECK(scram::client_first(c) == "n,a=ad=2Cmin,n=us=3Der=2C1,r=abc");

    scram::ClientFirst built;
    built.user = "a,b=c";
    built.nonce = "n0nce";
    CHECK(scram::client_first(built) == "n,,n=a=2Cb=3Dc,r=n0nce");
    CHECK(client_first_ok(scram::client_first(built)).user == "a,b=c");
    // UTF-8 passes as it is.
    CHECK(client_first_ok("n,,n=J\xC3\xBCrgen,r=abc").user == "J\xC3\xBCrgen");
}

TEST_CASE("Malformed client-first-messages", "[pg][scram]") {
    // The text ends before the gs2 header or the bare message is complete.
    CHECK(client_first_error("") == pg::Error::Truncated);
    CHECK(client_first_error("n") == pg::Error::Truncated);
    CHECK(client_first_error("n,") == pg::Error::Truncated);
    CHECK(client_first_error("n,,") == pg::Error::Truncated);
    CHECK(client_first_error("n,,n=user") == pg::Error::Truncated);
    // Flags: only n, y and p=<cb-name>.
    CHECK(client_first_error("x,,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("N,,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("nn,,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("p,,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("p=,,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("p=tls server,,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("p=tls_unique,,n=,r=abc") == pg::Error::BadValue);
    // The authzid slot: empty or a=<saslname>.
    CHECK(client_first_error("n,b=x,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,a=,n=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,a=x=2,n=,r=abc") == pg::Error::BadValue);
    // A mandatory extension ("client requires mandatory SCRAM extension").
    CHECK(client_first_error("n,,m=ext,n=,r=abc") == pg::Error::BadValue);
    // Attributes out of order or missing.
    CHECK(client_first_error("n,,r=abc,n=") == pg::Error::BadValue);
    CHECK(client_first_error("n,,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,x=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n,r=abc") == pg::Error::BadValue);
    // Escapes: only =2C and =3D.
    CHECK(client_first_error("n,,n=us=2Xer,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=us=2cer,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=user=,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=user=3,r=abc") == pg::Error::BadValue);
    CHECK(client_first_error(with_nuls("n,,n=us\0er,r=abc")) == pg::Error::BadValue);
    // Nonces: printable, not empty ("non-printable characters in SCRAM nonce").
    CHECK(client_first_error("n,,n=,r=") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,r=a b") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,r=a\x7F") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,r=\xC3\xBC") == pg::Error::BadValue);
    CHECK(client_first_error(with_nuls("n,,n=,r=a\0b")) == pg::Error::BadValue);
    // Extensions after the nonce are fine when well formed.
    CHECK(client_first_ok("n,,n=,r=abc,x=ext").bare == "n=,r=abc,x=ext");
    CHECK(client_first_ok("n,,n=,r=abc,x=a=b").nonce == "abc");
    CHECK(client_first_error("n,,n=,r=abc,") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,r=abc,1=x") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,r=abc,x=") == pg::Error::BadValue);
    CHECK(client_first_error("n,,n=,r=abc,xx") == pg::Error::BadValue);
}

TEST_CASE("Malformed server-first-messages", "[pg][scram]") {
    CHECK(server_first_error("") == pg::Error::Truncated);
    CHECK(server_first_error("r=abc") == pg::Error::Truncated);
    CHECK(server_first_error("r=abc,s=QSXCR+Q6sek8bf92") == pg::Error::Truncated);
    CHECK(server_first_error("s=QSXCR+Q6sek8bf92,r=abc,i=4096") == pg::Error::BadValue);
    CHECK(server_first_error("m=x,r=abc,s=QSXCR+Q6sek8bf92,i=4096") == pg::Error::BadValue);
    CHECK(server_first_error("r=,s=QSXCR+Q6sek8bf92,i=4096") == pg::Error::BadValue);
    CHECK(server_first_error("r=a c,s=QSXCR+Q6sek8bf92,i=4096") == pg::Error::BadValue);
    // The salt must be base64 ("invalid salt").
    CHECK(server_first_error("r=abc,s=QSXCR+Q6sek8bf9,i=4096") == pg::Error::BadValue);
    CHECK(server_first_error("r=abc,s=!!!!,i=4096") == pg::Error::BadValue);
    CHECK(server_first_error("r=abc,x=QSXCR+Q6sek8bf92,i=4096") == pg::Error::BadValue);
    // A positive iteration count within 32 bits ("invalid iteration count").
    for (const char* count :
         {"0", "-1", "+1", "", "4096x", " 4096", "0100", "4294967296", "99999999999999999999"}) {
        CAPTURE(count);
        CHECK(server_first_error(std::string("r=abc,s=QSXCR+Q6sek8bf92,i=") + count) ==
              pg::Error::BadValue);
    }
    auto max = scram::parse_server_first("r=abc,s=QSXCR+Q6sek8bf92,i=4294967295");
    REQUIRE(max);
    CHECK(max->iterations == 4294967295U);
    CHECK(server_first_error("r=abc,s=QSXCR+Q6sek8bf92,n=4096") == pg::Error::BadValue);
    // Extensions after the iteration count are accepted and dropped.
    auto ext = scram::parse_server_first("r=abc,s=QSXCR+Q6sek8bf92,i=1,x=y");
    REQUIRE(ext);
    CHECK(ext->iterations == 1);
    CHECK(server_first_error("r=abc,s=QSXCR+Q6sek8bf92,i=1,") == pg::Error::BadValue);
    // An empty salt is base64 of nothing; libpq takes it, so does the parser.
    auto no_salt = scram::parse_server_first("r=abc,s=,i=1");
    REQUIRE(no_salt);
    CHECK(no_salt->salt.empty());
}

TEST_CASE("Malformed client-final-messages", "[pg][scram]") {
    const std::string head = "c=biws,r=abcdef";
    CHECK(client_final_error("") == pg::Error::Truncated);
    CHECK(client_final_error("c=biws") == pg::Error::Truncated);
    CHECK(client_final_error(head) == pg::Error::Truncated); // no proof
    CHECK(client_final_error(head + ",x=ext") == pg::Error::Truncated);
    // The proof must be 32 bytes of base64 ("malformed proof in client-final-message"); the
    // 20 bytes of RFC 5802's SCRAM-SHA-1 example are not.
    CHECK(client_final_error(head + ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=") == pg::Error::BadValue);
    CHECK(client_final_error(head + ",p=") == pg::Error::BadValue);
    CHECK(client_final_error(head + ",p=" + k32.substr(1)) == pg::Error::BadValue);
    CHECK(client_final_error(head + ",p=" + k32 + "AAAA") == pg::Error::BadValue);
    // Nothing after the proof ("garbage at end of client-final-message").
    CHECK(client_final_error(head + ",p=" + k32 + ",x=y") == pg::Error::TrailingBytes);
    CHECK(client_final_error(head + ",p=" + k32 + ",") == pg::Error::TrailingBytes);
    // Channel binding: base64 of at least a gs2 header.
    CHECK(client_final_error("c=biw,r=abcdef,p=" + k32) == pg::Error::BadValue);
    CHECK(client_final_error("c=,r=abcdef,p=" + k32) == pg::Error::BadValue);
    CHECK(client_final_error("r=abcdef,c=biws,p=" + k32) == pg::Error::BadValue);
    // The nonce.
    CHECK(client_final_error("c=biws,p=" + k32) == pg::Error::BadValue);
    CHECK(client_final_error("c=biws,r=,p=" + k32) == pg::Error::BadValue);
    CHECK(client_final_error("c=biws,r=a b,p=" + k32) == pg::Error::BadValue);
    // Extensions between nonce and proof belong to without_proof.
    auto ext = scram::parse_client_final(head + ",x=ext,p=" + k32);
    REQUIRE(ext);
    CHECK(ext->without_proof == head + ",x=ext");
    CHECK(scram::client_final(*ext) == head + ",x=ext,p=" + k32);
    CHECK(client_final_error(head + ",x,p=" + k32) == pg::Error::BadValue);
}

TEST_CASE("server-final-messages: a verifier or an error", "[pg][scram]") {
    auto e = scram::parse_server_final("e=invalid-proof");
    REQUIRE(e);
    CHECK(e->error == "invalid-proof");
    CHECK_FALSE(e->verifier);
    CHECK(scram::server_final_error("invalid-proof") == "e=invalid-proof");
    CHECK(scram::parse_server_final("e=other-error,x=y"));
    auto v = scram::parse_server_final("v=" + k32 + ",x=ext");
    REQUIRE(v);
    REQUIRE(v->verifier);
    CHECK(v->verifier->at(31) == 31);

    CHECK(server_final_error("") == pg::Error::Truncated);
    CHECK(server_final_error("e=") == pg::Error::BadValue);
    CHECK(server_final_error(with_nuls("e=bad\0")) == pg::Error::BadValue);
    CHECK(server_final_error("v=") == pg::Error::BadValue);
    // The 20 bytes of RFC 5802's SCRAM-SHA-1 example ("invalid server signature").
    CHECK(server_final_error("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=") == pg::Error::BadValue);
    CHECK(server_final_error("v=" + k32.substr(0, 43)) == pg::Error::BadValue);
    CHECK(server_final_error("x=" + k32) == pg::Error::BadValue);
    CHECK(server_final_error("v=" + k32 + ",") == pg::Error::BadValue);
}

TEST_CASE("base64 as RFC 4648 section 10 tests it", "[pg][scram][base64]") {
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CAPTURE(plain);
        CHECK(scram::base64_encode(bytes_of(plain)) == encoded);
        auto back = scram::base64_decode(encoded);
        REQUIRE(back);
        CHECK(text_of(*back) == plain);
    }
    Bytes all(256);
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = static_cast<std::uint8_t>(i);
    }
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        const Bytes part = prefix(all, n);
        auto back = scram::base64_decode(scram::base64_encode(part));
        REQUIRE(back);
        CHECK(*back == part);
    }
    CHECK(scram::base64_encode(Bytes{0xfb, 0xff}) == "+/8=");
}

TEST_CASE("base64_decode refuses what PostgreSQL's pg_b64_decode refuses", "[pg][scram][base64]") {
    for (const char* bad : {"Zg", "Zg=", "Zm9vY", "Z===", "=Zg=", "Zg==Zg==", "Zm9v\n", "Zm 9v",
                            "Zm9-", "Zm9_", "Zm9v====", "Zg=a", "Z=g=", "\xC3\xBC==", "===="}) {
        CAPTURE(bad);
        CHECK(error_of(scram::base64_decode(bad)) == pg::Error::BadValue);
    }
    CHECK(error_of(scram::base64_decode(with_nuls("Zg=\0"))) == pg::Error::BadValue);
    // Bits left over before the padding are not checked (neither does PostgreSQL).
    auto loose = scram::base64_decode("Zh==");
    REQUIRE(loose);
    CHECK(text_of(*loose) == "f");
}
