#include <proxy/app/commands/connection_examples.h>

namespace proxy::app {

std::string connection_examples(const ConnectionTarget& t) {
    std::string port = std::to_string(t.port);
    std::string out;
    std::string odbc_encrypt = t.strict ? "strict" : "yes";
    out += "  ODBC 18 / SqlClient: Server=" + t.host + "," + port + ";Encrypt=" + odbc_encrypt +
           ";UID=" + t.user + ";PWD=" + t.password + "\n";
    out += "      (ODBC on Linux trusts the lab CA with SSL_CERT_FILE=" + t.ca_file +
           "; SqlClient/SSMS: add it to the trusted roots)\n";
    out += "  JDBC:    jdbc:sqlserver://" + t.host + ":" + port +
           ";encrypt=" + std::string(t.strict ? "strict" : "true") + ";user=" + t.user +
           ";password=" + t.password + ";trustStore=lab-ca.p12;trustStorePassword=changeit\n";
    out += "      (keytool -importcert -noprompt -alias tlslab -file " + t.ca_file +
           " -keystore lab-ca.p12 -storetype PKCS12 -storepass changeit)\n";
    out += "  tedious: { server: '" + t.host +
           "', authentication: { type: 'default', options: "
           "{ userName: '" +
           t.user + "', password: '" + t.password + "' } }, options: { port: " + port +
           ", encrypt: " + (t.strict ? "'strict'" : "true") +
           ", cryptoCredentialsDetails: { ca: fs.readFileSync('" + t.ca_file + "') } } }\n";
    out += "  go:      sqlserver://" + t.user + ":" + t.password + "@" + t.host + ":" + port +
           "?encrypt=" + (t.strict ? "strict" : "true") + "&certificate=" + t.ca_file + "\n";
    if (t.strict) {
        out += "  tsql:    FreeTDS 1.3 has no strict (TDS 8.0) mode\n";
    } else {
        // printf's \n, not ours: the user pastes this line into a shell.
        out += R"(  tsql:    printf '[lab]\n host = )" + t.host + R"(\n port = )" + port +
               R"(\n tds version = 7.4\n encryption = require\n ca file = )" + t.ca_file +
               R"(\n' > lab.conf; FREETDSCONF=lab.conf tsql -S lab -U )" + t.user + " -P " +
               t.password + "\n";
    }
    return out;
}

std::string postgres_connection_examples(const ConnectionTarget& t) {
    std::string port = std::to_string(t.port);
    std::string conninfo = "host=" + t.host + " port=" + port + " user=" + t.user +
                           " dbname=lab sslmode=verify-full sslrootcert=" + t.ca_file;
    std::string out;
    out += "  psql / libpq: PGPASSWORD=" + t.password + " psql \"" + conninfo + "\"\n";
    out += "  psycopg2 / psycopg 3: connect(\"" + conninfo + " password=" + t.password + "\")\n";
    out += "  JDBC:    jdbc:postgresql://" + t.host + ":" + port + "/lab?user=" + t.user +
           "&password=" + t.password + "&sslmode=verify-full&sslrootcert=" + t.ca_file + "\n";
    out += "  node pg: new Client({ host: '" + t.host + "', port: " + port + ", user: '" + t.user +
           "', password: '" + t.password + "', database: 'lab', ssl: { ca: fs.readFileSync('" +
           t.ca_file + "') } })\n";
    out += "  pgx:     postgres://" + t.user + ":" + t.password + "@" + t.host + ":" + port +
           "/lab?sslmode=verify-full&sslrootcert=" + t.ca_file + "\n";
    out += "  (sslmode=require accepts any certificate: use it to see what the lab reads)\n";
    return out;
}

std::string mysql_connection_examples(const ConnectionTarget& t) {
    std::string port = std::to_string(t.port);
    std::string out;
    out += "  mariadb / mysql client: mariadb -h " + t.host + " -P " + port + " -u " + t.user +
           " -p" + t.password + " --ssl-ca=" + t.ca_file + " --ssl-verify-server-cert lab\n";
    out += "  mysql-connector-python: mysql.connector.connect(host='" + t.host + "', port=" + port +
           ", user='" + t.user + "', password='" + t.password + "', database='lab', ssl_ca='" +
           t.ca_file + "', ssl_verify_identity=True)\n";
    out += "  Connector/J:  jdbc:mysql://" + t.host + ":" + port + "/lab?user=" + t.user +
           "&password=" + t.password +
           "&sslMode=VERIFY_IDENTITY&trustCertificateKeyStoreUrl=(a JKS/PKCS12 store holding " +
           t.ca_file + ")\n";
    out += "  MariaDB Connector/J: jdbc:mariadb://" + t.host + ":" + port + "/lab?user=" + t.user +
           "&password=" + t.password + "&sslMode=verify-full&serverSslCert=" + t.ca_file + "\n";
    out += "  mysql2:  mysql.createConnection({ host: '" + t.host + "', port: " + port +
           ", user: '" + t.user + "', password: '" + t.password +
           "', database: 'lab', ssl: { ca: fs.readFileSync('" + t.ca_file +
           "'), verifyIdentity: true } })\n";
    out += std::string("  go-sql-driver/mysql: mysql.RegisterTLSConfig(\"lab\", ") +
           "&tls.Config{RootCAs: pool of " + t.ca_file + ", ServerName: \"" + t.host + "\"}); \"" +
           t.user + ":" + t.password + "@tcp(" + t.host + ":" + port + ")/lab?tls=lab\"\n";
    out += "  (ssl-mode REQUIRED accepts any certificate, and PREFERRED falls back to clear: use "
           "them to see what the lab reads)\n";
    return out;
}

} // namespace proxy::app
