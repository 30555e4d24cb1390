#include <optional>

#include <catch2/catch.hpp>

#include <tds/encryption.h>

#include "tds_test_util.h"

using tds::Encryption;
using tds::EncryptionMode;
using tds::ServerEncryption;

namespace tds {
inline std::ostream& operator<<(std::ostream& os, Encryption e) {
    return os << to_string(e);
}
inline std::ostream& operator<<(std::ostream& os, EncryptionMode m) {
    return os << to_string(m);
}
} // namespace tds

namespace {

struct NegotiateRow {
    Encryption client;
    ServerEncryption server;
    Encryption answer;
    EncryptionMode mode;
    bool terminate;
};

const char* server_name(ServerEncryption s) {
    switch (s) {
    case ServerEncryption::Off:
        return "server OFF";
    case ServerEncryption::On:
        return "server ON (force)";
    case ServerEncryption::NotSupported:
        return "server NOT_SUP";
    }
    return "?";
}

// MS-TDS 2.2.6.5, first table (tds-protocol.md 2.4): every client value x every server
// setting. Rows marked terminate are "→ terminated" in the table.
const NegotiateRow kNegotiate[] = {
    {Encryption::Off, ServerEncryption::Off, Encryption::Off, EncryptionMode::LoginOnly, false},
    {Encryption::Off, ServerEncryption::On, Encryption::Required, EncryptionMode::Full, false},
    {Encryption::Off, ServerEncryption::NotSupported, Encryption::NotSupported,
     EncryptionMode::None, false},

    {Encryption::On, ServerEncryption::Off, Encryption::On, EncryptionMode::Full, false},
    {Encryption::On, ServerEncryption::On, Encryption::On, EncryptionMode::Full, false},
    {Encryption::On, ServerEncryption::NotSupported, Encryption::NotSupported, EncryptionMode::None,
     true},

    {Encryption::NotSupported, ServerEncryption::Off, Encryption::NotSupported,
     EncryptionMode::None, false},
    {Encryption::NotSupported, ServerEncryption::On, Encryption::Required, EncryptionMode::None,
     true},
    {Encryption::NotSupported, ServerEncryption::NotSupported, Encryption::NotSupported,
     EncryptionMode::None, false},

    {Encryption::Required, ServerEncryption::Off, Encryption::On, EncryptionMode::Full, false},
    {Encryption::Required, ServerEncryption::On, Encryption::On, EncryptionMode::Full, false},
    {Encryption::Required, ServerEncryption::NotSupported, Encryption::NotSupported,
     EncryptionMode::None, true},

    // Strict (0x04, go-mssqldb) has no row in the 7.x table: treated as the strongest ask, ON.
    {Encryption::Strict, ServerEncryption::Off, Encryption::On, EncryptionMode::Full, false},
    {Encryption::Strict, ServerEncryption::On, Encryption::On, EncryptionMode::Full, false},
    {Encryption::Strict, ServerEncryption::NotSupported, Encryption::NotSupported,
     EncryptionMode::None, true},
};

struct ExpectedModeRow {
    Encryption client;
    Encryption answer;
    std::optional<EncryptionMode> mode; // nullopt: the client must terminate
};

// MS-TDS 2.2.6.5, second table (tds-protocol.md 2.4): the client's mode given its value and
// the server's answer. REQ and STRICT clients behave as ON; a STRICT answer as ON.
const ExpectedModeRow kExpectedMode[] = {
    {Encryption::Off, Encryption::Off, EncryptionMode::LoginOnly},
    {Encryption::Off, Encryption::On, EncryptionMode::Full},
    {Encryption::Off, Encryption::Required, EncryptionMode::Full},
    {Encryption::Off, Encryption::NotSupported, EncryptionMode::None},

    {Encryption::On, Encryption::Off, std::nullopt},
    {Encryption::On, Encryption::On, EncryptionMode::Full},
    {Encryption::On, Encryption::Required, EncryptionMode::Full},
    {Encryption::On, Encryption::NotSupported, std::nullopt},

    {Encryption::NotSupported, Encryption::Off, EncryptionMode::None},
    {Encryption::NotSupported, Encryption::On, std::nullopt},
    {Encryption::NotSupported, Encryption::Required, std::nullopt},
    {Encryption::NotSupported, Encryption::NotSupported, EncryptionMode::None},

    {Encryption::Required, Encryption::Off, std::nullopt},
    {Encryption::Required, Encryption::On, EncryptionMode::Full},
    {Encryption::Required, Encryption::Required, EncryptionMode::Full},
    {Encryption::Required, Encryption::NotSupported, std::nullopt},

    {Encryption::Strict, Encryption::Off, std::nullopt},
    {Encryption::Strict, Encryption::On, EncryptionMode::Full},
    {Encryption::Strict, Encryption::NotSupported, std::nullopt},
    {Encryption::Off, Encryption::Strict, EncryptionMode::Full},
    {Encryption::NotSupported, Encryption::Strict, std::nullopt},
};

} // namespace

TEST_CASE("negotiate follows the MS-TDS 2.2.6.5 table for every client value and server setting",
          "[tds][encryption]") {
    for (const auto& row : kNegotiate) {
        DYNAMIC_SECTION("client " << tds::to_string(row.client) << ", "
                                  << server_name(row.server)) {
            auto n = tds::negotiate(row.client, row.server);
            CHECK(n.answer == row.answer);
            CHECK(n.mode == row.mode);
            CHECK(n.terminate == row.terminate);
        }
    }
}

TEST_CASE("expected_mode follows the client table of MS-TDS 2.2.6.5", "[tds][encryption]") {
    for (const auto& row : kExpectedMode) {
        DYNAMIC_SECTION("client " << tds::to_string(row.client) << ", answer "
                                  << tds::to_string(row.answer)) {
            auto m = tds::expected_mode(row.client, row.answer);
            if (row.mode) {
                REQUIRE(m);
                CHECK(*m == *row.mode);
            } else {
                CHECK_FALSE(m);
            }
        }
    }
}

TEST_CASE("the server's answer leads the client to the mode negotiate predicted",
          "[tds][encryption]") {
    // The two tables agree: whenever negotiate says the connection goes on, the client that
    // reads the answer picks the same mode; when it says terminate, the client gives up.
    for (const auto& row : kNegotiate) {
        DYNAMIC_SECTION("client " << tds::to_string(row.client) << ", "
                                  << server_name(row.server)) {
            auto n = tds::negotiate(row.client, row.server);
            auto m = tds::expected_mode(row.client, n.answer);
            if (n.terminate) {
                CHECK_FALSE(m);
            } else {
                REQUIRE(m);
                CHECK(*m == n.mode);
            }
        }
    }
}

TEST_CASE("decode_encryption masks the flag bits and refuses unknown values", "[tds][encryption]") {
    SECTION("the base values") {
        CHECK(tds::decode_encryption(0x00) == Encryption::Off);
        CHECK(tds::decode_encryption(0x01) == Encryption::On);
        CHECK(tds::decode_encryption(0x02) == Encryption::NotSupported);
        CHECK(tds::decode_encryption(0x03) == Encryption::Required);
        CHECK(tds::decode_encryption(0x04) == Encryption::Strict);
    }
    SECTION("CLIENT_CERT (0x80) and the 0x40 bit are masked away, as SqlClient does") {
        CHECK(tds::decode_encryption(0x80) == Encryption::Off);
        CHECK(tds::decode_encryption(0x81) == Encryption::On);
        CHECK(tds::decode_encryption(0x83) == Encryption::Required);
        CHECK(tds::decode_encryption(0x41) == Encryption::On);
    }
    SECTION("values outside the table") {
        for (std::uint8_t raw : {0x05, 0x08, 0x3F, 0x85, 0xFF}) {
            CAPTURE(int{raw});
            CHECK_FALSE(tds::decode_encryption(raw));
        }
    }
}

TEST_CASE("encryption_name names any raw byte", "[tds][encryption]") {
    CHECK(tds::encryption_name(0x00) == "OFF");
    CHECK(tds::encryption_name(0x01) == "ON");
    CHECK(tds::encryption_name(0x02) == "NOT_SUP");
    CHECK(tds::encryption_name(0x03) == "REQ");
    CHECK(tds::encryption_name(0x04) == "STRICT");
    CHECK(tds::encryption_name(0x81) == "ON+CLIENT_CERT");
    CHECK(tds::encryption_name(0x08) == "0x08"); // impacket's "strict required"
    CHECK(tds::encryption_name(0x85) == "0x05+CLIENT_CERT");
}

TEST_CASE("encryption modes have names for logs", "[tds][encryption]") {
    CHECK(tds::to_string(EncryptionMode::None) == "none");
    CHECK(tds::to_string(EncryptionMode::LoginOnly) == "login-only");
    CHECK(tds::to_string(EncryptionMode::Full) == "full");
}
