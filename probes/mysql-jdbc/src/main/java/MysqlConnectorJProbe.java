// tlslab MySQL probe mysqljdbc: MySQL Connector/J (com.mysql:mysql-connector-j). Contract: the
// "MySQL probes" section of probes/README.md; what both MySQL JDBC probes share is in
// MysqlJdbcProbe. Runs with only Connector/J (and protobuf-java) on the class path.
//
// Every option is a Connector/J connection property, passed in Properties and judged by the
// driver itself: sslMode gets --ssl-mode as it is (Connector/J has exactly the contract's five
// words; not passed: its default, PREFERRED). Connector/J reads no PEM file, so --ca becomes a
// PKCS12 trust store made from the PEM at run time in the probe's private home
// (trustCertificateKeyStoreUrl/Type/Password), the way its users give a CA; it is consulted in
// VERIFY_CA and VERIFY_IDENTITY only (fallbackToSystemTrustStore stays at its default, true:
// the JVM's cacerts are trusted too). user.home is a new empty directory (no ~/.mysql* of
// whoever runs the probe).

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.sql.Connection;
import java.util.Collection;
import java.util.Map;
import java.util.Properties;

public final class MysqlConnectorJProbe extends MysqlJdbcProbe {
    public static void main(String[] args) { new MysqlConnectorJProbe().run(args); }

    @Override protected String name() { return "mysqljdbc"; }

    @Override protected String driverVersion() { return com.mysql.cj.Constants.CJ_VERSION; }

    @Override protected String urlPrefix() { return "jdbc:mysql://"; }

    @Override
    protected String configureTls(Properties props, Map<String, Object> settings, String mode, String ca)
            throws Exception {
        if (mode != null) {
            props.setProperty("sslMode", mode);
            settings.put("sslMode", mode);
        }
        if (ca != null && !"DISABLED".equals(mode)) {
            char[] pw = "tlslab-probe".toCharArray();
            Path ts = pemToTrustStore(ca, pw);
            props.setProperty("trustCertificateKeyStoreUrl", ts.toUri().toString());
            props.setProperty("trustCertificateKeyStoreType", "PKCS12");
            props.setProperty("trustCertificateKeyStorePassword", new String(pw));
            settings.put("trustCertificateKeyStoreUrl", "PKCS12 trust store made from " + ca);
        }
        return null;
    }

    /** Along the driver's own getters (or the fields behind them) to the socket it reads from. */
    @Override
    protected Object driverSocket(Connection conn) throws Exception {
        return callChain(conn.unwrap(com.mysql.cj.jdbc.JdbcConnection.class),
                "getSession", "getProtocol", "getSocketConnection", "getMysqlSocket");
    }

    /** A PKCS12 trust store (in the private home) holding every certificate of a PEM file. */
    private Path pemToTrustStore(String pem, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, password);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        Collection<? extends Certificate> certs;
        try (var in = Files.newInputStream(Path.of(pem))) {
            certs = cf.generateCertificates(in);
        }
        int i = 0;
        for (Certificate c : certs) ks.setCertificateEntry("ca" + (i++), c);
        if (i == 0) throw new IllegalArgumentException("no certificate in " + pem);
        Path dir = home() != null ? home() : Files.createTempDirectory("tlslab-probe-");
        Path p = dir.resolve("truststore.p12");
        try (var out = Files.newOutputStream(p)) {
            ks.store(out, password);
        }
        return p;
    }
}
