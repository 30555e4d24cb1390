#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <proxy/app/explain/knowledge_base.h>
#include <scenarios/catalogue.h>

using proxy::app::explain::KnowledgeBase;
using proxy::app::explain::Match;
using proxy::app::explain::normalise;

namespace {

const KnowledgeBase& kb() {
    return KnowledgeBase::builtin();
}

bool has(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string describe(const std::vector<Match>& ms) {
    std::ostringstream out;
    for (const auto& m : ms) {
        out << "  " << m.entry->id << " [" << m.entry->family << "] " << m.score << "\n";
    }
    return out.str();
}

// The best match's family and entry for a text a user pasted.
struct Explained {
    std::string id;
    std::string family;
    std::vector<std::string> scenarios;
};

Explained best(std::string_view pasted) {
    auto ms = kb().match(pasted);
    INFO("text: " << pasted << "\nmatches:\n" << describe(ms));
    REQUIRE_FALSE(ms.empty());
    return {ms.front().entry->id, ms.front().entry->family, ms.front().entry->scenarios};
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string minimal_kb(std::string_view entry_extra, std::string_view family = "cert-expired") {
    std::string e = R"({"version": 1, "families": [{"name": "cert-expired", "title": "t",
        "meaning": "m", "fix": ["f"]}], "entries": [{"id": "a", "client": "c", "family": ")";
    e += family;
    e += R"(", "message": "m", "patterns": ["certificate has expired"], "protocols": ["tds"],
        "reproduce": "tlslab matrix", "source": {"kind": "observed", "ref": "r"})";
    e += entry_extra;
    e += "}]}";
    return e;
}

} // namespace

TEST_CASE("the built-in knowledge base parses and is consistent", "[explain]") {
    INFO(KnowledgeBase::builtin_error());
    REQUIRE(KnowledgeBase::builtin_error().empty());
    REQUIRE(kb().entries().size() > 100);
    auto catalogue = scenarios::Catalogue::builtin();
    REQUIRE(catalogue.has_value());
    std::set<std::string> ids;
    std::size_t observed = 0;
    for (const auto& e : kb().entries()) {
        INFO(e.id);
        CHECK(ids.insert(e.id).second);
        CHECK(kb().family(e.family) != nullptr);
        CHECK_FALSE(e.meaning.empty());
        CHECK_FALSE(e.fix.empty());
        CHECK(e.reproduce.find("tlslab") != std::string::npos);
        for (const auto& s : e.scenarios) {
            INFO("scenario " << s);
            CHECK(catalogue->find(s) != nullptr);
        }
        for (const auto& o : e.observed) {
            for (const auto& s : o.scenarios) {
                CHECK(has(e.scenarios, s));
            }
        }
        if (e.source.kind == "observed") {
            ++observed;
        }
        // Each entry's own canonical message must find the entry (a pattern that cannot match
        // its message is a typo).
        auto ms = kb().match(e.message);
        bool found =
            std::any_of(ms.begin(), ms.end(), [&](const Match& m) { return m.entry == &e; });
        CHECK(found);
    }
    CHECK(observed > 50);
}

TEST_CASE("the seed's messages, as users paste them", "[explain]") {
    SECTION("SSMS dialog: untrusted chain, Error -2146893019") {
        auto x = best("Cannot connect to SQL01.corp.example.com.\r\n\r\n"
                      "===================================\r\n\r\n"
                      "A connection was successfully established with the server, but then an "
                      "error occurred during the login process. (provider: SSL Provider, error: "
                      "0 - The certificate chain was issued by an authority that is not "
                      "trusted.) (.Net SqlClient Data Provider)\r\n\r\n"
                      "------------------------------\r\nFor help, click: "
                      "https://docs.microsoft.com/sql/relational-databases/errors-events/"
                      "mssqlserver--2146893019-database-engine-error\r\n\r\n"
                      "Server Name: SQL01.corp.example.com\r\nError Number: -2146893019\r\n"
                      "Severity: 20\r\nState: 0\r\n\r\n(Microsoft SQL Server, Error: "
                      "-2146893019)");
        CHECK(x.family == "cert-untrusted");
        CHECK(has(x.scenarios, "self-signed"));
        CHECK(has(x.scenarios, "untrusted-root"));
    }
    SECTION("the untrusted chain in SqlClient's exception, with line breaks inside") {
        auto x = best("Microsoft.Data.SqlClient.SqlException (0x80131904): A connection was "
                      "successfully established with the server, but then an error occurred "
                      "during the login process. (provider: SSL Provider, error: 0 - The "
                      "certificate chain was issued by an\n   authority that is not trusted.)\n"
                      " ---> System.ComponentModel.Win32Exception (0x80090325): The certificate "
                      "chain was issued by an authority that is not trusted.");
        CHECK(x.family == "cert-untrusted");
        CHECK(x.id == "schannel/untrusted-root");
    }
    SECTION("SSMS error numbers alone") {
        CHECK(best("Error: -2146893019").family == "cert-untrusted");
        CHECK(best("0x80090325").family == "cert-untrusted");
        auto p = best("(Microsoft SQL Server, Error: -2146893022)");
        CHECK(p.family == "name-mismatch");
        CHECK(has(p.scenarios, "wrong-host"));
        CHECK(best("Win32Exception (0x80090331)").family == "tls-version");
    }
    SECTION("the target principal name") {
        auto x = best("A connection was successfully established with the server, but then an "
                      "error occurred during the login process. (provider: SSL Provider, error: "
                      "0 - The target principal name is incorrect.)");
        CHECK(x.family == "name-mismatch");
        CHECK(has(x.scenarios, "wrong-host"));
        CHECK(has(x.scenarios, "ip-mismatch"));
        CHECK(best("Der Zielprinzipalname ist falsch").family == "name-mismatch");
    }
    SECTION("localised SChannel text") {
        CHECK(best("SSL-Anbieter: Die Zertifikatkette wurde von einer nicht "
                   "vertrauenswürdigen Zertifizierungsstelle ausgestellt.")
                  .family == "cert-untrusted");
    }
    SECTION("certificate has expired (tedious)") {
        auto x = best("ConnectionError: Failed to connect to sql01.corp:1433 - certificate has "
                      "expired\n    at Connection.socketError (node_modules/tedious/lib/"
                      "connection.js:1239:26) {\n  code: 'ESOCKET'");
        CHECK(x.family == "cert-expired");
        CHECK(has(x.scenarios, "expired"));
    }
    SECTION("pre-login handshake ... error: 31") {
        auto x = best("A connection was successfully established with the server, but then an "
                      "error occurred during the pre-login handshake. (provider: SSL Provider, "
                      "error: 31 - Encryption(ssl/tls) handshake failed)");
        CHECK(x.family == "tls-version");
        CHECK(has(x.scenarios, "tls1.0-only"));
        CHECK(best("The client and server cannot communicate, because they do not possess a "
                   "common algorithm.")
                  .family == "tls-version");
    }
    SECTION("SqlClient managed SNI on Linux: the inner reason wins over error 35") {
        auto x = best("Microsoft.Data.SqlClient.SqlException (0x80131904): A connection was "
                      "successfully established with the server, but then an error occurred "
                      "during the pre-login handshake. (provider: TCP Provider, error: 35 - An "
                      "internal exception was caught)\n ---> "
                      "System.Security.Authentication.AuthenticationException: Certificate "
                      "failed chain validation. Error(s): 'self-signed certificate, [Status: "
                      "UntrustedRoot]'.");
        CHECK(x.id == "sqlclient-managed/chain-untrusted-root");
        CHECK(best("Certificate name mismatch. The provided 'DataSource' or "
                   "'HostNameInCertificate' does not match the name in the certificate.")
                  .family == "name-mismatch");
        CHECK(best("(provider: TCP Provider, error: 35 - An internal exception was caught) ---> "
                   "The remote certificate was rejected by the provided "
                   "RemoteCertificateValidationCallback.")
                  .family == "cert-untrusted");
        CHECK(
            best("(provider: TCP Provider, error: 35 - An internal exception was caught)").family ==
            "other");
    }
    SECTION("ODBC 18 on Linux, OpenSSL 3 and 1.1 wordings") {
        auto x = best("('08001', '[08001] [Microsoft][ODBC Driver 18 for SQL Server]SSL "
                      "Provider: [error:0A000086:SSL routines::certificate verify "
                      "failed:self-signed certificate] (-1) (SQLDriverConnect); [08001] "
                      "[Microsoft][ODBC Driver 18 for SQL Server]Client unable to establish "
                      "connection. For solutions related to encryption errors, see "
                      "https://go.microsoft.com/fwlink/?linkid=2226722 (-1)')");
        CHECK(x.id == "odbc-linux/self-signed-certificate");
        CHECK(has(x.scenarios, "self-signed"));
        CHECK(best("[Microsoft][ODBC Driver 17 for SQL Server]SSL Provider: "
                   "[error:1416F086:SSL routines:tls_process_server_certificate:certificate "
                   "verify failed:self signed certificate]")
                  .id == "odbc-linux/self-signed-certificate");
        CHECK(best("SSL Provider: [error:0A000086:SSL routines::certificate verify "
                   "failed:subject name does not match host name]")
                  .family == "name-mismatch");
        CHECK(best("[Microsoft][ODBC Driver 18 for SQL Server]Encryption not supported on SQL "
                   "Server.")
                  .family == "encryption-not-supported");
    }
    SECTION("mssql-jdbc") {
        auto x = best("com.microsoft.sqlserver.jdbc.SQLServerException: The driver could not "
                      "establish a secure connection to SQL Server by using Secure Sockets "
                      "Layer (SSL) encryption. Error: \"PKIX path building failed: "
                      "sun.security.provider.certpath.SunCertPathBuilderException: unable to "
                      "find valid certification path to requested target\". "
                      "ClientConnectionId:4b5b4f6e-0d5c-4b8a-9d0e-1a2b3c4d5e6f");
        CHECK(x.family == "cert-untrusted");
        CHECK(has(x.scenarios, "self-signed"));
        CHECK(best("Caused by: java.security.cert.CertificateExpiredException: NotAfter: Tue "
                   "Oct 18 10:00:00 UTC 2026")
                  .family == "cert-expired");
        CHECK(best("Failed to validate the server name \"sql01.corp.example\"in a certificate "
                   "during Secure Sockets Layer (SSL) initialization. Name in certificate "
                   "\"sql01\"")
                  .family == "name-mismatch");
        CHECK(best("The server selected protocol version TLS10 is not accepted by client "
                   "preferences [TLS13, TLS12]")
                  .family == "tls-version");
    }
    SECTION("tedious / node") {
        auto x = best("ConnectionError: Failed to connect to 10.0.0.5:1433 - Hostname/IP does "
                      "not match certificate's altnames: IP: 10.0.0.5 is not in the cert's "
                      "list: ");
        CHECK(x.family == "name-mismatch");
        CHECK(has(x.scenarios, "ip-mismatch"));
        CHECK(best("Failed to connect to db:1433 - self-signed certificate in certificate chain")
                  .family == "cert-untrusted");
        CHECK(best("Failed to connect to db:1433 - self-signed certificate").family ==
              "cert-self-signed");
        CHECK(
            best("Failed to connect to db:1433 - unable to verify the first certificate").family ==
            "cert-untrusted");
    }
    SECTION("go-mssqldb") {
        CHECK(best("mssql: login error: TLS Handshake failed: tls: failed to verify "
                   "certificate: x509: certificate signed by unknown authority")
                  .family == "cert-untrusted");
        CHECK(best("TLS Handshake failed: tls: failed to verify certificate: x509: certificate "
                   "is valid for sql01.corp, sql01, not 10.1.1.1")
                  .family == "name-mismatch");
        CHECK(best("TLS Handshake failed: tls: failed to parse certificate from server: x509: "
                   "negative serial number")
                  .family == "malformed-certificate");
        auto eof = best("TLS Handshake failed: cannot read handshake packet: EOF");
        CHECK(eof.family == "tls-legacy-crypto");
        CHECK(has(eof.scenarios, "sha1-handshake-signature"));
        auto neg = best("TLS Handshake failed: tls: failed to parse certificate from server: x509: "
                        "negative serial number");
        CHECK(has(neg.scenarios, "sql-fallback-negative-serial"));
    }
    SECTION("FreeTDS") {
        CHECK(best("DB-Lib error message 20002, severity 9:\nAdaptive Server connection failed "
                   "(sql01)\n")
                  .family == "other");
    }
    SECTION("libpq, psycopg, asyncpg, pgjdbc, pgx, node-pg") {
        auto x = best("psql: error: connection to server at \"db.internal\" (10.2.3.4), port "
                      "5432 failed: SSL error: certificate verify failed");
        CHECK(x.id == "libpq/certificate-verify-failed");
        CHECK(has(x.scenarios, "untrusted-root"));
        CHECK(best("psycopg2.OperationalError: connection to server at \"pg\" (10.2.3.4), port "
                   "5432 failed: server certificate for \"pg.prod.internal\" does not match "
                   "host name \"10.2.3.4\"")
                  .family == "name-mismatch");
        CHECK(best("connection to server at \"pg\" (10.2.3.4), port 5432 failed: root "
                   "certificate file \"/home/alice/.postgresql/root.crt\" does not exist\n"
                   "Either provide the file or change sslmode to disable server certificate "
                   "verification.")
                  .id == "libpq/root-certificate-missing");
        CHECK(best("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                   "verify failed: self-signed certificate (_ssl.c:1006)")
                  .id == "python-ssl/self-signed-certificate");
        CHECK(best("org.postgresql.util.PSQLException: SSL error: PKIX path building failed")
                  .family == "cert-untrusted");
        CHECK(best("failed to connect to `host=db user=app database=app`: failed to write "
                   "startup message (x509: certificate signed by unknown authority)")
                  .family == "cert-untrusted");
        CHECK(best("Error: self-signed certificate\n    at TLSSocket.onConnectSecure").family ==
              "cert-self-signed");
    }
    SECTION("MySQL / MariaDB connectors") {
        CHECK(best("ERROR 2026 (HY000): TLS/SSL error: self-signed certificate").id ==
              "mariadb-cli/self-signed-certificate");
        CHECK(best("mysql.connector.errors.InterfaceError: 2026 (HY000): SSL connection error: "
                   "SSL is required but the server doesn't support it")
                  .family == "encryption-not-supported");
        CHECK(best("2055: Lost connection to MySQL server at 'db:3306', system error: Errno 1: "
                   "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
                   "local issuer certificate (_ssl.c:1006)")
                  .id == "python-ssl/unable-to-get-local-issuer-certificate");
        CHECK(best("pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on "
                   "'db.internal' ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                   "Hostname mismatch, certificate is not valid for 'db.internal'. "
                   "(_ssl.c:1006))\")")
                  .family == "name-mismatch");
        CHECK(best("Error: unable to verify the first certificate\n  code: "
                   "'HANDSHAKE_SSL_ERROR', fatal: true")
                  .family == "cert-untrusted");
        CHECK(best("com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link "
                   "failure\n\nThe last packet sent successfully to the server was 0 "
                   "milliseconds ago.\nCaused by: javax.net.ssl.SSLHandshakeException: PKIX "
                   "path building failed")
                  .family == "cert-untrusted");
        CHECK(best("(conn=12) SSL hostname verification failed : DNS host \"db\" doesn't "
                   "correspond to SAN[{DNS:\"other\"}]")
                  .family == "name-mismatch");
        CHECK(best("ERROR 3159 (HY000): Connections using insecure transport are prohibited "
                   "while --require_secure_transport=ON.")
                  .family == "plaintext-refused");
        CHECK(best("ERROR 1045 (28000): Access denied for user 'lab'@'10.1.1.1' (using "
                   "password: YES)")
                  .family == "auth-failed");
    }
}

TEST_CASE("catalogue v2 failures: CA rotation, key types, extensions, legacy TLS, SNI",
          "[explain]") {
    SECTION("OpenSSL 1.0.2 on a cross-signed chain") {
        auto x = best("SSL Provider: [error:14090086:SSL routines:ssl3_get_server_certificate:"
                      "certificate verify failed]");
        CHECK(x.family == "ca-rotation");
        CHECK(has(x.scenarios, "ca-expired-root-cross-sign"));
    }
    SECTION("an expired intermediate is a certificate-has-expired") {
        auto x = best("SSL Provider: [error:0A000086:SSL routines::certificate verify "
                      "failed:certificate has expired]");
        CHECK(x.family == "cert-expired");
        CHECK(has(x.scenarios, "ca-expired-intermediate"));
    }
    SECTION("certificate extensions and name constraints") {
        CHECK(best("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))").family ==
              "cert-extensions");
        CHECK(best("x509: unhandled critical extension").family == "cert-extensions");
        CHECK(best("KeyUsage does not allow digital signatures").family == "cert-extensions");
        CHECK(best("error 47 at 0 depth lookup: permitted subtree violation").family ==
              "name-constraints");
        CHECK(best("x509: a root or intermediate certificate is not authorized to sign for this "
                   "name: DNS name \"a.b\" is not permitted by any constraint")
                  .family == "name-constraints");
        CHECK(best("javax.net.ssl.SSLProtocolException: The certificate chain length (11) "
                   "exceeds the maximum allowed length (10)")
                  .family == "chain-depth");
        CHECK(best("tls: server's certificate contains an unsupported type of public key: <nil>")
                  .family == "cert-key-type");
    }
    SECTION("legacy TLS cryptography and intolerance") {
        auto dh = best("SSL Provider: [error:141A318A:SSL routines:tls_process_ske_dhe:dh key too "
                       "small]");
        CHECK(dh.family == "tls-legacy-crypto");
        CHECK(has(dh.scenarios, "dhe-1024"));
        CHECK(best("tls: handshake failure").family == "tls-legacy-crypto");
        CHECK(best("error:0A000152:SSL routines::unsafe legacy renegotiation disabled").family ==
              "tls-legacy-crypto");
        CHECK(best("DHPublicKey does not comply to algorithm constraints").family ==
              "tls-legacy-crypto");
        CHECK(best("The message received was unexpected or badly formatted").family ==
              "tls-intolerance");
    }
    SECTION("SNI policies") {
        CHECK(best("error:0A000458:SSL routines::tlsv1 unrecognized name").family == "sni-policy");
        CHECK(best("remote error: tls: unrecognized name").family == "sni-policy");
        auto neon = best("ERROR:  Endpoint ID is not specified. Either please upgrade the postgres "
                         "client library (libpq) for SNI support or pass the endpoint ID");
        CHECK(neon.family == "sni-policy");
        CHECK(has(neon.scenarios, "sni-required"));
    }
    SECTION("TDS: PRELOGIN, strict-only servers, redirects, timeouts") {
        CHECK(best("encrypt negotiation failed").family == "prelogin-invalid");
        CHECK(
            has(best("The SQL Server or the endpoint is configured to accept only strict (TDS 8.0 "
                     "and above) connections. The connection has been closed.")
                    .scenarios,
                "strict-only-server"));
        auto r = best("TLS Handshake failed: x509: certificate is valid for "
                      "tr34.eastus1-a.worker.database.windows.net, "
                      "*.tr34.eastus1-a.worker.database.windows.net, not *.database.windows.net");
        CHECK(r.family == "name-mismatch");
        CHECK(has(r.scenarios, "redirect-wrong-host"));
        auto t = best("Connection Timeout Expired.  The timeout period elapsed while attempting to "
                      "consume the pre-login handshake acknowledgement.");
        CHECK(t.family == "handshake-timeout");
        CHECK(has(t.scenarios, "handshake-stall"));
    }
}

TEST_CASE("every family has a title, a meaning and a fix that keeps validation on", "[explain]") {
    for (const auto& f : kb().families()) {
        INFO(f.name);
        CHECK_FALSE(f.title.empty());
        CHECK_FALSE(f.meaning.empty());
        REQUIRE_FALSE(f.fix.empty());
        // A fix that mentions switching validation off says it is insecure, and comes last.
        for (std::size_t i = 0; i < f.fix.size(); ++i) {
            bool bypass = f.fix[i].find("TrustServerCertificate") != std::string::npos;
            if (bypass) {
                CHECK(i + 1 == f.fix.size());
            }
        }
    }
    for (const char* name :
         {"ca-rotation", "cert-key-type", "cert-extensions", "name-constraints", "chain-depth",
          "tls-legacy-crypto", "tls-intolerance", "sni-policy", "prelogin-invalid"}) {
        INFO(name);
        CHECK(kb().family(name) != nullptr);
    }
}

TEST_CASE("nothing matches an unrelated text", "[explain]") {
    CHECK(kb().match("the quick brown fox jumps over the lazy dog").empty());
    CHECK(kb().match("").empty());
    CHECK(kb().match("\n\n  \t").empty());
}

TEST_CASE("normalise", "[explain]") {
    CHECK(normalise("Self-Signed\r\n   Certificate") == "self signed certificate");
    CHECK(normalise("[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider") == "ssl provider");
    CHECK(normalise("[08001] [unixODBC][FreeTDS][SQL Server]Unable to connect") ==
          "unable to connect");
    CHECK(normalise("(Microsoft SQL Server, Error: -2146893019)") ==
          "(microsoft sql server, error: 0x80090325)");
    CHECK(normalise("Failed to connect to 10.1.2.3:1433 - x") ==
          "failed to connect to <ip>:<port> - x");
    CHECK(normalise("Failed to connect to db.corp:1433 - x") ==
          "failed to connect to db.corp:<port> - x");
    CHECK(normalise("connect to [::1]:5432") == "connect to <ip>:<port>");
    CHECK(normalise("server on 'db.example.com' (x)") == "server on '*' (x)");
    CHECK(normalise("server name \"sql01.corp\"in a certificate") ==
          "server name \"*\"in a certificate");
    CHECK(normalise("user 'app'@'10.1.1.1' code: 'HANDSHAKE_SSL_ERROR'") ==
          "user 'app'@'*' code: 'handshake_ssl_error'");
    CHECK(normalise("Error Number:-2146893022,State:0") == "error number:0x80090322,state:0");
    CHECK(normalise("verify candidate authority certificate \"My Corp CA\"") ==
          "verify candidate authority certificate \"my corp ca\"");
    CHECK(normalise("Can't connect; the cert's altnames") == "can't connect; the cert's altnames");
    CHECK(normalise("ClientConnectionId:4b5b4f6e-0d5c-4b8a-9d0e-1a2b3c4d5e6f") ==
          "clientconnectionid:<id>");
    CHECK(normalise("current time 2026-11-22T10:00:00Z is after 2026-10-18T10:00:00Z") ==
          "current time <time> is after <time>");
    CHECK(normalise("NotAfter: 10:00:00 UTC") == "notafter: <time> utc");
    CHECK(normalise("[error:0A000086:SSL routines::certificate verify failed]") ==
          "[error:0a000086:ssl routines::certificate verify failed]");
    CHECK(normalise("TCP Provider: Error code 0x2746 (10054)") ==
          "tcp provider: error code 0x2746 (10054)");
    CHECK(normalise("(conn=1234) Could not connect") == "(conn=<n>) could not connect");
    CHECK(normalise("file /home/u/.postgresql/root.crt.") == "file <path>.");
    CHECK(normalise("C:\\Users\\u\\app.config missing") == "<path> missing");
    CHECK(normalise("\xE2\x80\x9Cquoted text\xE2\x80\x9D \xE2\x80\xA6 it\xE2\x80\x99s") ==
          "\"quoted text\" ... it's");
    CHECK(normalise("tls1.2-only and TLSv1.2") == "tls1.2-only and tlsv1.2");
}

TEST_CASE("hostile and huge input is bounded and does not crash", "[explain]") {
    using clock = std::chrono::steady_clock;
    std::vector<std::string> inputs;
    std::mt19937 rng(42);
    std::string random_bytes(4 * 1024 * 1024, '\0');
    for (auto& c : random_bytes) {
        c = static_cast<char>(rng() & 0xFF);
    }
    inputs.push_back(random_bytes);
    std::string repeated;
    while (repeated.size() < 2 * 1024 * 1024) {
        repeated += "certificate verify failed:certificate verify failed ";
    }
    inputs.push_back(repeated);
    inputs.push_back(std::string(1024 * 1024, '\''));
    inputs.push_back(std::string(1024 * 1024, '['));
    inputs.push_back(std::string(1024 * 1024, '-'));
    inputs.push_back(std::string(1024 * 1024, '9'));
    inputs.push_back(std::string(200000, 'a') + "\xE2\x80");
    std::string mixed;
    while (mixed.size() < 1024 * 1024) {
        mixed += "1.2.3.4:5 '\"[::1]-2146893019 2026-01-01T ";
    }
    inputs.push_back(mixed);
    inputs.push_back(std::string("\xE2", 1));
    inputs.push_back(std::string("'", 1));
    inputs.push_back(std::string("-", 1));
    for (const auto& in : inputs) {
        auto start = clock::now();
        auto ms = kb().match(in);
        auto norm = normalise(in);
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
        CHECK(norm.size() <= 4 * proxy::app::explain::kMaxPastedBytes);
        CHECK(elapsed.count() < 3000);
    }
    // The bound: a match beyond the first kMaxPastedBytes is not looked at.
    std::string late(proxy::app::explain::kMaxPastedBytes + 10, ' ');
    late += "certificate has expired";
    CHECK(kb().match(late).empty());
}

TEST_CASE("a broken knowledge base is an error value, never a throw", "[explain]") {
    CHECK_FALSE(KnowledgeBase::parse("").has_value());
    CHECK_FALSE(KnowledgeBase::parse("{").has_value());
    CHECK_FALSE(KnowledgeBase::parse("[]").has_value());
    CHECK_FALSE(KnowledgeBase::parse(R"({"version": 2, "families": [], "entries": []})"));
    REQUIRE(KnowledgeBase::parse(minimal_kb("")).has_value());
    auto ok = KnowledgeBase::parse(minimal_kb(""));
    REQUIRE(ok->entries().size() == 1);
    CHECK(ok->entries()[0].meaning == "m"); // the family's default
    CHECK(ok->match("x: Certificate has EXPIRED").size() == 1);
    auto unknown = KnowledgeBase::parse(minimal_kb(R"(, "colour": "red")"));
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().find("colour") != std::string::npos);
    auto fam = KnowledgeBase::parse(minimal_kb("", "no-such-family"));
    REQUIRE_FALSE(fam.has_value());
    CHECK(fam.error().find("no-such-family") != std::string::npos);
    CHECK_FALSE(KnowledgeBase::parse(minimal_kb(R"(, "scenarios": "expired")")).has_value());
    CHECK_FALSE(KnowledgeBase::parse(minimal_kb(R"(, "weight": 2)")).has_value());
    CHECK_FALSE(KnowledgeBase::parse(minimal_kb(R"(, "observed": [{"driver": 1}])")).has_value());
    std::string bad_kind = minimal_kb("");
    bad_kind.replace(bad_kind.find("\"observed\""), 10, "\"rumour\"");
    CHECK_FALSE(KnowledgeBase::parse(bad_kind).has_value());
    std::string short_pattern = minimal_kb("");
    short_pattern.replace(short_pattern.find("certificate has expired"), 23, "...");
    CHECK_FALSE(KnowledgeBase::parse(short_pattern).has_value());
    std::string twice = minimal_kb("");
    auto entry_start = twice.find("{\"id\"");
    auto entry = twice.substr(entry_start, twice.size() - 2 - entry_start);
    twice.insert(twice.size() - 2, ", " + entry);
    auto dup = KnowledgeBase::parse(twice);
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().find("twice") != std::string::npos);
}

TEST_CASE("each scenario's seed wording is explained with that scenario and family", "[explain]") {
    auto catalogue = scenarios::Catalogue::builtin();
    REQUIRE(catalogue.has_value());
    std::size_t seeds = 0;
    for (const auto& s : catalogue->all()) {
        if (!s.seed.empty()) {
            CHECK_FALSE(s.family.empty());
        }
        if (!s.family.empty()) {
            INFO(s.name << " family " << s.family);
            CHECK(kb().family(s.family) != nullptr);
        }
        for (const auto& w : s.seed) {
            ++seeds;
            auto ms = kb().match(w.text);
            INFO(s.name << ": " << w.client << ": " << w.text << "\n" << describe(ms));
            bool ok = std::any_of(ms.begin(), ms.end(),
                                  [&](const Match& m) { return has(m.entry->scenarios, s.name); });
            CHECK(ok);
        }
    }
    CHECK(seeds > 30);
}

// Matrix runs keep the knowledge base fresh: every error text a run of ours observed (the
// reviewed expectations of the matrix tests) must be explained by an entry that names the
// row's scenario.
TEST_CASE("every error our matrix runs observed is explained with its scenario", "[explain]") {
    const std::string dir = std::string(TLSLAB_SOURCE_DIR) + "/tests/integration/expectations/";
    std::vector<std::string> unmatched;
    std::size_t rows = 0;
    for (const char* file :
         {"lab_matrix.json", "pg_lab_matrix.json", "mysql_lab_matrix.json", "downgrade.json"}) {
        auto doc = nlohmann::json::parse(read_file(dir + file), nullptr, false);
        INFO(file);
        REQUIRE(doc.is_object());
        REQUIRE(doc.contains("cases"));
        for (const auto& [key, row] : doc.at("cases").items()) {
            if (!row.contains("error") || row.at("error").is_null()) {
                continue;
            }
            // A mode the driver cannot express was not run: its "error" is the probe's note.
            if (row.contains("error_code") && row.at("error_code") == "UNSUPPORTED_MODE") {
                continue;
            }
            std::string text;
            if (row.at("error").is_string()) {
                text = row.at("error").get<std::string>();
            } else {
                for (const auto& part : row.at("error")) {
                    text += part.get<std::string>() + "\n";
                }
            }
            std::string scenario = key.substr(key.rfind('/') + 1);
            ++rows;
            auto ms = kb().match(text);
            bool ok = std::any_of(ms.begin(), ms.end(), [&](const Match& m) {
                return has(m.entry->scenarios, scenario);
            });
            if (!ok) {
                unmatched.push_back(std::string(file) + " " + key + ": " + text);
            }
        }
    }
    std::ostringstream msg;
    for (const auto& u : unmatched) {
        msg << "  " << u << "\n";
    }
    INFO(unmatched.size() << " of " << rows
                          << " observed error rows are not explained with their scenario:\n"
                          << msg.str());
    CHECK(rows > 500);
    CHECK(unmatched.empty());
}
