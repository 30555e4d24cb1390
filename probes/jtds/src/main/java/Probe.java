// tlslab driver probe for jTDS 1.3.1 (net.sourceforge.jtds:jtds), a TDS implementation of its
// own (not Microsoft's mssql-jdbc). Contract: probes/README.md. One connection attempt, exactly
// one JSON line on stdout, exit 0 whenever it ran (also on every connection/TLS/DNS failure),
// exit 2 on a usage error.
//
// --encrypt MODE is jTDS's `ssl` connection property, passed as it is (read from the 1.3.1 jar:
// JtdsConnection, TdsCore.negotiateSSL, ssl.SocketFactories):
//   off           (jTDS's default) no PRELOGIN at all: LOGIN7 is the first packet, in clear.
//   request       PRELOGIN ENCRYPTION=OFF; TLS when the server answers anything but NOT_SUP
//                 (answer OFF: TLS for LOGIN7 only, then clear), any certificate accepted.
//   require       PRELOGIN ENCRYPTION=ON; refuses a server answering OFF/NOT_SUP ("Encryption
//                 is not enabled at the server."), but verifies NOTHING: its trust manager
//                 accepts every certificate (self-signed, expired, any name).
//   authenticate  as require, with JSSE's default SSLSocketFactory: the chain is verified
//                 against the JVM's trust store (javax.net.ssl.trustStore), but no
//                 endpoint identification is set, so the host name is NOT checked.
// jTDS has no TDS 8.0 (strict) mode, no trustServerCertificate and no hostNameInCertificate:
// --trust-server-certificate and --host-name-in-certificate are usage errors (use --encrypt
// require for "trust any certificate"). --ca builds a PKCS12 trust store at run time and sets
// javax.net.ssl.trustStore*, the only way jTDS can be given a CA (it matters for authenticate).
// Extra, jTDS only: --tds VERSION (jTDS's `tds` property; 1.3.1 knows 4.2, 5.0, 7.0 and 8.0 =
// TDS 7.1, its default and newest; 7.0 sends no PRELOGIN whatever `ssl` says). The JSON adds
// `ssl` and `tds` (the values passed, null for jTDS's defaults).

import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public final class Probe {
    /** stdout is kept for the one JSON line; System.out goes to stderr. */
    private static final PrintStream JSON = new PrintStream(
            new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static final long T0 = System.nanoTime();
    private static boolean done = false;
    private static volatile boolean loggedIn = false;
    private static String version = null;
    private static String ssl = null;
    private static String tds = null;

    private static final List<String> VALUED = List.of("host", "port", "ca", "encrypt", "user",
            "password", "query", "timeout", "tds");
    private static final List<String> SSL_VALUES = List.of("off", "request", "require", "authenticate");

    private static final class Usage extends Exception {
        Usage(String m) { super(m); }
    }

    public static void main(String[] args) {
        System.setOut(System.err);
        Map<String, String> o;
        int timeout;
        try {
            o = options(args);
            timeout = seconds(o.getOrDefault("timeout", "10"));
            if (o.containsKey("ca")) trustStore(o.get("ca"));
        } catch (Usage u) {
            System.err.println("probe(jtds): " + u.getMessage());
            System.err.println("usage: probe --host H --port P [--ca FILE] [--encrypt off|request|require|authenticate]"
                    + " [--user U] [--password P] [--query SQL] [--timeout SECONDS] [--tds 7.0|8.0]");
            System.exit(2);
            return;
        }
        ssl = o.get("encrypt");
        tds = o.get("tds");
        try {
            version = net.sourceforge.jtds.jdbc.Driver.getVersion();
        } catch (Throwable ignored) {
            // reported as null
        }
        watchdog(timeout);

        String host = o.get("host");
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) host = "[" + host + "]";
        Properties p = new Properties();
        p.setProperty("user", o.getOrDefault("user", "lab"));
        p.setProperty("password", o.getOrDefault("password", "lab-password"));
        p.setProperty("loginTimeout", Integer.toString(timeout));
        // bounds every read after login too (jTDS's default is 0: wait forever)
        p.setProperty("socketTimeout", Integer.toString(timeout + 2));
        if (ssl != null) p.setProperty("ssl", ssl);
        if (tds != null) p.setProperty("tds", tds);

        Object value = null;
        Throwable failure = null;
        try (Connection c = DriverManager.getConnection(
                "jdbc:jtds:sqlserver://" + host + ":" + o.get("port"), p)) {
            loggedIn = true;
            try (Statement st = c.createStatement()) {
                st.setQueryTimeout(timeout);
                value = first(st, o.getOrDefault("query", "SELECT 1"));
            }
        } catch (Throwable t) {
            failure = t;
        }
        report(value, failure);
        System.exit(0);
    }

    private static Map<String, String> options(String[] args) throws Usage {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.startsWith("--") ? a.substring(2) : null;
            if ("trust-server-certificate".equals(name))
                throw new Usage("jTDS has no trustServerCertificate: --encrypt require accepts any certificate");
            if ("host-name-in-certificate".equals(name))
                throw new Usage("jTDS has no hostNameInCertificate (and checks no host name at all)");
            if (name == null || !VALUED.contains(name)) throw new Usage("unknown argument: " + a);
            if (i + 1 >= args.length) throw new Usage("missing value for " + a);
            o.put(name, args[++i]);
        }
        if (o.getOrDefault("host", "").isEmpty()) throw new Usage("--host is required");
        try {
            int port = Integer.parseInt(o.getOrDefault("port", ""));
            if (port < 1 || port > 65535) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new Usage("bad or missing --port: " + o.get("port"));
        }
        // jTDS itself takes an unknown ssl value silently as "off"-like; refuse it here instead
        if (o.containsKey("encrypt") && !SSL_VALUES.contains(o.get("encrypt")))
            throw new Usage("--encrypt must be one of " + SSL_VALUES + " (jTDS's ssl property)");
        return o;
    }

    private static int seconds(String s) throws Usage {
        try {
            double d = Double.parseDouble(s);
            if (!(d > 0) || d > 86400) throw new NumberFormatException();
            return (int) Math.ceil(d);
        } catch (NumberFormatException e) {
            throw new Usage("bad --timeout: " + s);
        }
    }

    /** The PEM's certificates as a PKCS12 trust store in a temp file, made JSSE's default. */
    private static void trustStore(String pem) throws Usage {
        try {
            Collection<? extends Certificate> certs;
            try (InputStream in = new FileInputStream(pem)) {
                certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            }
            if (certs.isEmpty()) throw new Usage("no certificate in --ca " + pem);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int n = 0;
            for (Certificate c : certs) ks.setCertificateEntry("tlslab-ca-" + n++, c);
            byte[] rnd = new byte[18];
            new SecureRandom().nextBytes(rnd);
            String pass = Base64.getUrlEncoder().withoutPadding().encodeToString(rnd);
            Path f = Files.createTempFile("tlslab-jtds-ca-", ".p12");
            f.toFile().deleteOnExit();
            try (OutputStream out = Files.newOutputStream(f)) {
                ks.store(out, pass.toCharArray());
            }
            System.setProperty("javax.net.ssl.trustStore", f.toString());
            System.setProperty("javax.net.ssl.trustStorePassword", pass);
            System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
        } catch (Usage u) {
            throw u;
        } catch (Exception e) {
            throw new Usage("cannot use --ca " + pem + ": " + e);
        }
    }

    private static Object first(Statement st, String sql) throws SQLException {
        boolean rs = st.execute(sql);
        while (true) {
            if (rs) {
                try (ResultSet r = st.getResultSet()) {
                    return r.next() ? r.getObject(1) : null;
                }
            }
            if (st.getUpdateCount() == -1) return null;
            rs = st.getMoreResults();
        }
    }

    /** jTDS's loginTimeout does not bound a TLS handshake that stalls: a hard bound on the run. */
    private static void watchdog(int timeout) {
        final int limit = timeout + 5;
        Thread w = new Thread(() -> {
            try {
                Thread.sleep(limit * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            line(loggedIn, "WATCHDOG", "probe watchdog: the driver " + (loggedIn ? "did not finish the query"
                    : "neither connected nor failed") + " within " + limit + " s (loginTimeout=" + timeout + " s)",
                    null, null, null);
            System.exit(0);
        }, "probe-watchdog");
        w.setDaemon(true);
        w.start();
    }

    private static void report(Object value, Throwable t) {
        if (t == null) {
            line(true, null, null, value, null, null);
            return;
        }
        Object code = null;
        String state = null;
        if (t instanceof SQLException) {
            SQLException e = (SQLException) t;
            state = e.getSQLState();
            code = e.getErrorCode() != 0 ? (Object) e.getErrorCode() : state;
        }
        if (code == null) code = t.getClass().getName();
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String cause = root == t ? null : root.getClass().getName() + ": " + root.getMessage();
        line(loggedIn, code, text(t), null, state, cause);
    }

    /** The message plus chained exceptions and causes whose text it does not already hold. */
    private static String text(Throwable t) {
        StringBuilder sb = new StringBuilder(t.getMessage() != null ? t.getMessage() : t.toString());
        List<Throwable> seen = new ArrayList<>();
        seen.add(t);
        if (t instanceof SQLException) {
            for (SQLException n = ((SQLException) t).getNextException(); n != null && !seen.contains(n);
                    n = n.getNextException()) {
                seen.add(n);
                if (n.getMessage() != null && sb.indexOf(n.getMessage()) < 0) sb.append(" Next: ").append(n.getMessage());
            }
        }
        for (Throwable c = t.getCause(); c != null && !seen.contains(c); c = c.getCause()) {
            seen.add(c);
            if (c.getMessage() == null || sb.indexOf(c.getMessage()) < 0) sb.append(" Caused by: ").append(c);
        }
        return sb.toString();
    }

    private static synchronized void line(boolean conn, Object code, String error, Object value,
            String state, String cause) {
        if (done) return;
        done = true;
        StringBuilder j = new StringBuilder("{\"driver\": \"jtds\"");
        j.append(", \"version\": ").append(json(version));
        j.append(", \"connected\": ").append(conn);
        j.append(", \"error_code\": ").append(json(code));
        j.append(", \"error\": ").append(json(error));
        j.append(", \"value\": ").append(json(value));
        j.append(", \"ssl\": ").append(json(ssl));
        j.append(", \"tds\": ").append(json(tds));
        if (state != null) j.append(", \"sql_state\": ").append(json(state));
        if (cause != null) j.append(", \"cause\": ").append(json(cause));
        j.append(", \"elapsed_ms\": ").append((System.nanoTime() - T0) / 1_000_000).append('}');
        JSON.println(j);
        JSON.flush();
    }

    private static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte || v instanceof java.math.BigInteger) return v.toString();
        if (v instanceof BigDecimal) return ((BigDecimal) v).toPlainString();
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return Double.isFinite(d) ? v.toString() : json(v.toString());
        }
        String s = v.toString();
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') sb.append("\\\"");
            else if (c == '\\') sb.append("\\\\");
            else if (c == '\n') sb.append("\\n");
            else if (c == '\r') sb.append("\\r");
            else if (c == '\t') sb.append("\\t");
            else if (c < 0x20 || c == 0x2028 || c == 0x2029) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    private Probe() { }
}
