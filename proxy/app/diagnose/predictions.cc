// predict: for each client of the protocol, the first finding that hurts it (findings come in
// the order a client meets them) and the error text the knowledge base has for that client and
// family. A client is named by its TLS stack (which findings hurt it) and by the id prefixes of
// its entries in knowledge/errors.json, most specific first.

#include <algorithm>

#include <proxy/app/diagnose/diagnosis.h>

namespace proxy::app::diagnose {

namespace {

struct Client {
    const char* name;
    const char* settings;
    const char* stack;
    std::vector<const char*> prefixes;
};

const std::vector<Client>& clients(Protocol p) {
    static const std::vector<Client> tds = {
        {"SSMS 20 / Microsoft.Data.SqlClient 4+ on Windows (SChannel)",
         "Encrypt=Mandatory (the default), TrustServerCertificate=False",
         "schannel",
         {"ssms/", "schannel/", "sqlclient/", "sqlserver/"}},
        {"Microsoft.Data.SqlClient 5.2+ on Linux/macOS (.NET SslStream)",
         "Encrypt=Mandatory, TrustServerCertificate=False",
         "dotnet",
         {"sqlclient-managed/", "dotnet/", "sqlclient/", "sqlserver/"}},
        {"ODBC Driver 18 on Linux (OpenSSL)",
         "Encrypt=yes (the default), TrustServerCertificate=no",
         "openssl",
         {"odbc-linux/", "odbc/", "sqlserver/"}},
        {"Microsoft JDBC Driver 12 (mssql-jdbc, JSSE)",
         "encrypt=true (the default), trustServerCertificate=false",
         "jsse",
         {"mssql-jdbc/", "jsse/", "sqlserver/"}},
        {"tedious 19 (Node.js)",
         "encrypt: true, trustServerCertificate: false",
         "node",
         {"tedious/", "node/", "openssl/", "sqlserver/"}},
        {"go-mssqldb (Go crypto/tls)",
         "encrypt=true, TrustServerCertificate=false",
         "go",
         {"go-mssqldb/", "go/", "sqlserver/"}},
        {"FreeTDS 1.3 (GnuTLS)",
         "encryption = require, CA file given",
         "gnutls",
         {"freetds/", "sqlserver/"}},
        {"tiberius (Rust, rustls)",
         "encrypt, trust_cert_ca",
         "rustls",
         {"tiberius-rustls/", "sqlserver/"}},
    };
    static const std::vector<Client> pg = {
        {"libpq (psql, psycopg) sslmode=verify-full",
         "sslmode=verify-full sslrootcert=CA",
         "openssl",
         {"libpq/", "openssl/", "postgres/"}},
        {"pgjdbc sslmode=verify-full",
         "sslmode=verify-full",
         "jsse",
         {"pgjdbc/", "jsse/", "postgres/"}},
        {"node-postgres (pg)",
         "ssl: { rejectUnauthorized: true, ca }",
         "node",
         {"node-pg/", "node/", "postgres/"}},
        {"pgx (Go) sslmode=verify-full", "sslmode=verify-full", "go", {"pgx/", "go/", "postgres/"}},
        {"asyncpg ssl=verify-full",
         "ssl='verify-full'",
         "openssl",
         {"asyncpg/", "python-ssl/", "postgres/"}},
        {"Npgsql (.NET)", "SSL Mode=VerifyFull", "dotnet", {"npgsql/", "dotnet/", "postgres/"}},
    };
    static const std::vector<Client> my = {
        {"mysql-connector-python VERIFY_IDENTITY",
         "ssl_verify_identity=True, ssl_ca=CA",
         "openssl",
         {"mysqlconnector/", "mysql-python/", "python-ssl/", "mysql/", "mariadb/"}},
        {"mariadb / mysql command-line client",
         "--ssl-verify-server-cert --ssl-ca=CA",
         "openssl",
         {"mariadb-cli/", "mysql/", "mariadb/"}},
        {"MySQL Connector/J sslMode=VERIFY_IDENTITY",
         "sslMode=VERIFY_IDENTITY",
         "jsse",
         {"mysql-connector-j/", "jsse/", "mysql/", "mariadb/"}},
        {"MariaDB Connector/J sslMode=verify-full",
         "sslMode=verify-full",
         "jsse",
         {"mariadbjdbc/", "mariadb-connectors/", "jsse/", "mysql/", "mariadb/"}},
        {"mysql2 (Node.js)",
         "ssl: { ca, rejectUnauthorized: true }",
         "node",
         {"mysql2/", "node/", "mysql/", "mariadb/"}},
        {"go-sql-driver/mysql tls=custom (verifying)",
         "tls=<registered config with RootCAs>",
         "go",
         {"gomysql/", "go/", "mysql/", "mariadb/"}},
        {"PyMySQL",
         "ssl_verify_identity=True",
         "openssl",
         {"pymysql/", "python-ssl/", "mysql/", "mariadb/"}},
    };
    switch (p) {
    case Protocol::Tds:
        return tds;
    case Protocol::Postgres:
        return pg;
    case Protocol::Mysql:
        return my;
    }
    return tds;
}

bool hurts(const Finding& f, const Client& c) {
    bool stack_hit = std::ranges::find(f.stacks, std::string(c.stack)) != f.stacks.end();
    switch (f.severity) {
    case Severity::Defect:
        return f.stacks.empty() || stack_hit;
    case Severity::Warning:
        return stack_hit;
    case Severity::Info:
        return false;
    }
    return false;
}

const explain::Entry* entry_for(const Client& c, const std::string& family, Protocol p,
                                const explain::KnowledgeBase& kb) {
    std::string proto(to_string(p));
    for (const char* prefix : c.prefixes) {
        for (const auto& e : kb.entries()) {
            if (e.family == family && e.id.starts_with(prefix) &&
                (e.protocols.empty() ||
                 std::ranges::find(e.protocols, proto) != e.protocols.end())) {
                return &e;
            }
        }
    }
    return nullptr;
}

} // namespace

std::vector<Prediction> predict(Protocol protocol, const std::vector<Finding>& findings,
                                const explain::KnowledgeBase& kb) {
    std::vector<Prediction> out;
    for (const auto& c : clients(protocol)) {
        Prediction p;
        p.client = c.name;
        p.settings = c.settings;
        for (const auto& f : findings) {
            if (!hurts(f, c)) {
                continue;
            }
            p.fails = true;
            p.family = f.family;
            // An ambiguous finding: the text of whichever of its families the client has.
            const explain::Entry* e = entry_for(c, f.family, protocol, kb);
            for (const auto& alt : f.also) {
                if (e == nullptr) {
                    e = entry_for(c, alt, protocol, kb);
                }
            }
            if (e != nullptr) {
                p.message = e->message;
                p.entry_id = e->id;
            }
            break;
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<std::string> fixes(const std::string& family, const explain::KnowledgeBase& kb) {
    if (const explain::Family* f = kb.family(family)) {
        return f->fix;
    }
    return {};
}

} // namespace proxy::app::diagnose
