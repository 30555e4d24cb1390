// tlslab MySQL probe mariadbjdbc: MariaDB Connector/J (org.mariadb.jdbc:mariadb-java-client).
// Contract: the "MySQL probes" section of probes/README.md; what both MySQL JDBC probes
// share is in MysqlJdbcProbe. Runs with only MariaDB Connector/J on the class path.
//
// Every option is a MariaDB Connector/J connection property, passed in Properties:
//   DISABLED         sslMode=disable
//   PREFERRED        cannot be expressed (3.x has no "TLS if offered"): UNSUPPORTED_MODE
//   REQUIRED         sslMode=trust
//   VERIFY_CA        sslMode=verify-ca
//   VERIFY_IDENTITY  sslMode=verify-full
//   (not passed)     nothing: the driver's default, disable
// --ca: serverSslCert=FILE (the driver reads the PEM itself: a CA or the server's own
// certificate), in every mode but DISABLED. user.home is a new empty directory.
//
// Zero-configuration TLS (MariaDB 11.4+ servers, Connector/J 3.5): with verify-ca/verify-full,
// a password and no serverSslCert, the driver accepts an unverified certificate during the
// handshake and checks a hash bound to its fingerprint in the OK packet (see ../README.md);
// against MariaDB 10.11 (Debian 12) the ordinary verification applies.

import java.sql.Connection;
import java.util.Map;
import java.util.Properties;

public final class MariadbConnectorJProbe extends MysqlJdbcProbe {
    public static void main(String[] args) { new MariadbConnectorJProbe().run(args); }

    @Override protected String name() { return "mariadbjdbc"; }

    @Override protected String driverVersion() { return org.mariadb.jdbc.util.VersionFactory.getInstance().getVersion(); }

    @Override protected String urlPrefix() { return "jdbc:mariadb://"; }

    @Override
    protected String configureTls(Properties props, Map<String, Object> settings, String mode, String ca) {
        if (mode != null) {
            String word;
            switch (mode) {
                case "DISABLED": word = "disable"; break;
                case "PREFERRED":
                    return "MariaDB Connector/J 3 has no PREFERRED (sslMode is disable, trust, verify-ca or verify-full)";
                case "REQUIRED": word = "trust"; break;
                case "VERIFY_CA": word = "verify-ca"; break;
                case "VERIFY_IDENTITY": word = "verify-full"; break;
                default: throw new IllegalArgumentException(mode);
            }
            props.setProperty("sslMode", word);
            settings.put("sslMode", word);
        }
        if (ca != null && !"DISABLED".equals(mode)) {
            props.setProperty("serverSslCert", ca);
            settings.put("serverSslCert", ca);
        }
        return null;
    }

    /** Along the driver's own getters (or the fields behind them) to the socket it reads from. */
    @Override
    protected Object driverSocket(Connection conn) throws Exception {
        return callChain(conn.unwrap(org.mariadb.jdbc.Connection.class), "getClient", "getSocket");
    }
}
