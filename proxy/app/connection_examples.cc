#include <proxy/app/connection_examples.h>

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
        out += "  tsql:    printf '[lab]\\n host = " + t.host + "\\n port = " + port +
               "\\n tds version = 7.4\\n encryption = require\\n ca file = " + t.ca_file +
               "\\n' > lab.conf; FREETDSCONF=lab.conf tsql -S lab -U " + t.user + " -P " +
               t.password + "\n";
    }
    return out;
}

} // namespace proxy::app
