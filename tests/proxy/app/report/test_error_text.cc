#include <string>

#include <catch2/catch.hpp>

#include <proxy/app/report/error_text.h>

using proxy::app::report::normalise_error_text;

TEST_CASE("error texts lose what changes from run to run, and keep what a driver says",
          "[error_text]") {
    // Ports: host:port in every form drivers print, and "port N" (libpq).
    CHECK(normalise_error_text("Failed to connect to localhost:14331 - self signed") ==
          normalise_error_text("Failed to connect to localhost:40017 - self signed"));
    CHECK(normalise_error_text("read tcp 127.0.0.1:53422->127.0.0.1:41234: connection reset") ==
          "read tcp 127.0.0.1:<port>->127.0.0.1:<port>: connection reset");
    CHECK(normalise_error_text("dial [::1]:5432 failed") == "dial [::1]:<port> failed");
    CHECK(normalise_error_text(
              "connection to server at \"localhost\" (127.0.0.1), port 15433 failed: SSL error") ==
          "connection to server at \"localhost\" (127.0.0.1), port <port> failed: SSL error");
    // Connection and process ids.
    CHECK(normalise_error_text("The driver could not establish a secure connection. "
                               "ClientConnectionId:5f1c2a9e-8b3d-4c2a-9f11-0a1b2c3d4e5f") ==
          "The driver could not establish a secure connection. ClientConnectionId:<id>");
    CHECK(normalise_error_text("Lost connection (connection id 17)") ==
          "Lost connection (connection id <id>)");
    CHECK(normalise_error_text("probe pid=48213 exited") == "probe pid=<id> exited");
    // Addresses vary; 32-bit error codes do not.
    CHECK(normalise_error_text("<ssl.SSLSocket object at 0x7f3a9c0012d0>") ==
          "<ssl.SSLSocket object at <addr>>");
    CHECK(normalise_error_text("SEC_E_UNTRUSTED_ROOT 0x80090325") ==
          "SEC_E_UNTRUSTED_ROOT 0x80090325");
    CHECK(normalise_error_text("TCP Provider: Error code 0x68") == "TCP Provider: Error code 0x68");
    // Times, dates and durations.
    CHECK(normalise_error_text("2026-11-29T09:14:02.123Z handshake failed") ==
          "<time> handshake failed");
    CHECK(normalise_error_text("at 09:14:02 the server closed") == "at <time> the server closed");
    CHECK(normalise_error_text("Failed to connect in 15000ms") ==
          "Failed to connect in <duration>");
    CHECK(normalise_error_text("timed out after 2.5 s") == "timed out after <duration>");
    // Temporary paths.
    CHECK(normalise_error_text("could not read /tmp/pytest-of-root/pytest-3/ca0/ca.pem: denied") ==
          "could not read <tmp>: denied");
    // White space.
    CHECK(normalise_error_text("  line one\n\tline  two ") == "line one line two");
    // What the driver says stays: OpenSSL error codes, error numbers, versions.
    std::string openssl = "[error:0A000086:SSL routines::certificate verify failed:unable to get "
                          "local issuer certificate]";
    CHECK(normalise_error_text(openssl) == openssl);
    CHECK(normalise_error_text("2026 (HY000): SSL connection error") ==
          "2026 (HY000): SSL connection error");
    CHECK(normalise_error_text("pre-login handshake ... error: 31") ==
          "pre-login handshake ... error: 31");
    CHECK(normalise_error_text("protocol TLSv1.2 is not accepted") ==
          "protocol TLSv1.2 is not accepted");
    CHECK(normalise_error_text("certificate has expired") !=
          normalise_error_text("certificate is not yet valid"));
    // Hostile input: long, binary, unterminated patterns.
    std::string junk(100000, '9');
    junk += ":";
    junk += std::string(1000, '\0');
    junk += "0x";
    CHECK_FALSE(normalise_error_text(junk).empty());
    CHECK(normalise_error_text("") == "");
    CHECK(normalise_error_text("/tmp/") == "<tmp>");
}
