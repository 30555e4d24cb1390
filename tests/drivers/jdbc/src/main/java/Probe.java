// tlslab driver probe for the Microsoft JDBC Driver for SQL Server (mssql-jdbc).
// Contract: tests/drivers/README.md. One connection attempt, exactly one JSON line on stdout,
// exit 0 whenever it ran (also on every connection/TLS/DNS failure), exit 2 on usage error.

import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.math.BigDecimal;
import java.math.BigInteger;
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
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

public final class Probe {
    /** The real stdout; System.out is pointed at stderr so nothing else can reach stdout. */
    private static final PrintStream JSON_OUT = new PrintStream(
            new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static boolean emitted = false;
    private static volatile boolean connected = false;
    private static volatile String version = null;
    private static final long START = System.nanoTime();

    private static final class UsageError extends Exception {
        UsageError(String m) { super(m); }
    }

    public static void main(String[] args) {
        System.setOut(System.err);
        quietLogging();

        Map<String, String> opt;
        Properties props;
        int timeout;
        try {
            opt = parseArgs(args);
            timeout = parseTimeout(opt.getOrDefault("timeout", "10"));
            props = connectionProperties(opt, timeout);
        } catch (UsageError e) {
            System.err.println("probe: " + e.getMessage());
            System.err.println("usage: probe --host H --port P [--ca FILE] [--encrypt true|false|mandatory|optional|strict]"
                    + " [--trust-server-certificate] [--host-name-in-certificate NAME] [--user U] [--password P]"
                    + " [--query SQL] [--timeout SECONDS]");
            System.exit(2);
            return;
        }

        version = staticDriverVersion();
        startWatchdog(timeout);

        Object value = null;
        Throwable failure = null;
        // The URL names no server: everything, including serverName/portNumber, goes in Properties,
        // so an IPv6 literal (serverName=::1) and passwords with ';' or '}' need no URL escaping.
        try (Connection conn = DriverManager.getConnection("jdbc:sqlserver://", props)) {
            connected = true;
            try {
                version = conn.getMetaData().getDriverVersion();
            } catch (SQLException ignored) {
                // keep the version read from the driver class
            }
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(timeout);
                value = firstValue(st, opt.getOrDefault("query", "SELECT 1"));
            }
        } catch (Throwable t) {
            failure = t;
        }
        emit(value, failure);
        System.exit(0);
    }

    // ---------------------------------------------------------------- options -> driver properties

    private static Map<String, String> parseArgs(String[] args) throws UsageError {
        List<String> valued = List.of("host", "port", "ca", "encrypt", "host-name-in-certificate",
                "user", "password", "query", "timeout");
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new UsageError("unexpected argument: " + a);
            String name = a.substring(2);
            if (name.equals("trust-server-certificate")) {
                opt.put(name, "true");
            } else if (valued.contains(name)) {
                if (i + 1 >= args.length) throw new UsageError("missing value for " + a);
                opt.put(name, args[++i]);
            } else {
                throw new UsageError("unknown option: " + a);
            }
        }
        if (!opt.containsKey("host") || opt.get("host").isEmpty()) throw new UsageError("--host is required");
        if (!opt.containsKey("port")) throw new UsageError("--port is required");
        try {
            int p = Integer.parseInt(opt.get("port"));
            if (p < 1 || p > 65535) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new UsageError("bad --port: " + opt.get("port"));
        }
        return opt;
    }

    private static int parseTimeout(String s) throws UsageError {
        try {
            double d = Double.parseDouble(s);
            if (!(d > 0) || d > 86400) throw new NumberFormatException();
            return (int) Math.ceil(d); // loginTimeout is whole seconds
        } catch (NumberFormatException e) {
            throw new UsageError("bad --timeout: " + s);
        }
    }

    private static Properties connectionProperties(Map<String, String> opt, int timeout) throws UsageError {
        Properties p = new Properties();
        String host = opt.get("host");
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        p.setProperty("serverName", host);
        p.setProperty("portNumber", opt.get("port"));
        p.setProperty("user", opt.getOrDefault("user", "lab"));
        p.setProperty("password", opt.getOrDefault("password", "lab-password"));
        p.setProperty("loginTimeout", Integer.toString(timeout));
        // Not set unless asked: the driver's own default (encrypt=true since 10.x) must show.
        if (opt.containsKey("encrypt")) p.setProperty("encrypt", opt.get("encrypt"));
        if (opt.containsKey("trust-server-certificate")) p.setProperty("trustServerCertificate", "true");
        if (opt.containsKey("host-name-in-certificate"))
            p.setProperty("hostNameInCertificate", opt.get("host-name-in-certificate"));
        if (opt.containsKey("ca")) {
            // The driver trusts a CA only through a Java trust store file: build a PKCS12 store
            // holding the PEM's certificate(s) as trusted entries, in a temp file deleted on exit.
            String[] store = pemToTrustStore(opt.get("ca"));
            p.setProperty("trustStore", store[0]);
            p.setProperty("trustStorePassword", store[1]);
            p.setProperty("trustStoreType", "PKCS12");
        }
        return p;
    }

    private static String[] pemToTrustStore(String pemFile) throws UsageError {
        try {
            Collection<? extends Certificate> certs;
            try (InputStream in = new FileInputStream(pemFile)) {
                certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            }
            if (certs.isEmpty()) throw new UsageError("no certificate in --ca " + pemFile);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            for (Certificate c : certs) ks.setCertificateEntry("tlslab-ca-" + i++, c);
            byte[] raw = new byte[18];
            new SecureRandom().nextBytes(raw);
            char[] password = Base64.getUrlEncoder().withoutPadding().encodeToString(raw).toCharArray();
            Path file = Files.createTempFile("tlslab-jdbc-ca-", ".p12");
            file.toFile().deleteOnExit();
            try (OutputStream out = Files.newOutputStream(file)) {
                ks.store(out, password);
            }
            return new String[] {file.toString(), new String(password)};
        } catch (UsageError e) {
            throw e;
        } catch (Exception e) {
            throw new UsageError("cannot use --ca " + pemFile + ": " + e);
        }
    }

    // ---------------------------------------------------------------- driver details

    /** Keep java.util.logging (the driver's logger) off stdout: WARNING and up to stderr only. */
    private static void quietLogging() {
        LogManager.getLogManager().reset();
        Level level = Level.WARNING;
        String env = System.getenv("JDBC_PROBE_LOG"); // e.g. FINE, for debugging the driver
        if (env != null && !env.isEmpty()) {
            try { level = Level.parse(env); } catch (IllegalArgumentException ignored) { }
        }
        ConsoleHandler h = new ConsoleHandler(); // writes to System.err
        h.setLevel(level);
        Logger root = Logger.getLogger("");
        root.setLevel(level);
        root.addHandler(h);
    }

    /** The driver's version before any connection exists (getDriverVersion() needs one). */
    private static String staticDriverVersion() {
        try {
            Class<?> v = Class.forName("com.microsoft.sqlserver.jdbc.SQLJdbcVersion");
            StringBuilder sb = new StringBuilder();
            for (String f : new String[] {"MAJOR", "MINOR", "PATCH", "BUILD"}) {
                Field fld = v.getDeclaredField(f);
                fld.setAccessible(true);
                if (sb.length() > 0) sb.append('.');
                sb.append(fld.get(null));
            }
            Field ext = v.getDeclaredField("RELEASE_EXT");
            ext.setAccessible(true);
            return sb.append(ext.get(null)).toString();
        } catch (Throwable t) {
            try {
                java.sql.Driver d = new com.microsoft.sqlserver.jdbc.SQLServerDriver();
                return d.getMajorVersion() + "." + d.getMinorVersion();
            } catch (Throwable t2) {
                return null;
            }
        }
    }

    private static Object firstValue(Statement st, String sql) throws SQLException {
        boolean isResultSet = st.execute(sql);
        while (true) {
            if (isResultSet) {
                try (ResultSet rs = st.getResultSet()) {
                    return rs.next() ? rs.getObject(1) : null;
                }
            }
            if (st.getUpdateCount() == -1) return null; // no more results
            isResultSet = st.getMoreResults();
        }
    }

    /**
     * Hard bound on the whole run. Needed: mssql-jdbc 12.x does not apply loginTimeout to socket
     * reads before login (socketTimeout defaults to 0 = forever), so a peer that accepts TCP (or
     * TLS) and then stays silent blocks the driver indefinitely (mssql-jdbc issue #2925).
     */
    private static void startWatchdog(int timeout) {
        final int limit = timeout + 5;
        Thread w = new Thread(() -> {
            try {
                Thread.sleep(limit * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            emitRaw(connected, "WATCHDOG", "probe watchdog: the driver " + (connected
                    ? "did not finish the query" : "neither connected nor failed")
                    + " within " + limit + " s (loginTimeout=" + timeout + " s)", null, null, null);
            System.exit(0);
        }, "probe-watchdog");
        w.setDaemon(true);
        w.start();
    }

    // ---------------------------------------------------------------- output

    private static void emit(Object value, Throwable failure) {
        if (failure == null) {
            emitRaw(true, null, null, value, null, null);
            return;
        }
        Object code = null;
        String sqlState = null;
        if (failure instanceof SQLException) {
            SQLException se = (SQLException) failure;
            sqlState = se.getSQLState();
            code = se.getErrorCode() != 0 ? (Object) se.getErrorCode() : sqlState;
        }
        if (code == null) code = failure.getClass().getName();
        Throwable inner = failure;
        while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
        String cause = inner == failure ? null : inner.getClass().getName() + ": " + inner.getMessage();
        emitRaw(connected, code, fullText(failure), null, sqlState, cause);
    }

    /** The driver's message plus chained exceptions/causes whose text it does not already show. */
    private static String fullText(Throwable t) {
        StringBuilder sb = new StringBuilder(t.getMessage() != null ? t.getMessage() : t.toString());
        List<Throwable> seen = new ArrayList<>();
        seen.add(t);
        if (t instanceof SQLException) {
            for (SQLException n = ((SQLException) t).getNextException(); n != null && !seen.contains(n);
                    n = n.getNextException()) {
                seen.add(n);
                if (n.getMessage() != null && !sb.toString().contains(n.getMessage()))
                    sb.append(" Next: ").append(n.getMessage());
            }
        }
        for (Throwable c = t.getCause(); c != null && !seen.contains(c); c = c.getCause()) {
            seen.add(c);
            if (c.getMessage() == null || !sb.toString().contains(c.getMessage()))
                sb.append(" Caused by: ").append(c);
        }
        return sb.toString();
    }

    private static synchronized void emitRaw(boolean conn, Object code, String error, Object value,
            String sqlState, String cause) {
        if (emitted) return;
        emitted = true;
        StringBuilder j = new StringBuilder("{");
        j.append("\"driver\": \"jdbc\"");
        j.append(", \"version\": ").append(json(version));
        j.append(", \"connected\": ").append(conn);
        j.append(", \"error_code\": ").append(json(code));
        j.append(", \"error\": ").append(json(error));
        j.append(", \"value\": ").append(json(value));
        if (sqlState != null) j.append(", \"sql_state\": ").append(json(sqlState));
        if (cause != null) j.append(", \"cause\": ").append(json(cause));
        j.append(", \"elapsed_ms\": ").append((System.nanoTime() - START) / 1_000_000);
        j.append('}');
        JSON_OUT.println(j);
        JSON_OUT.flush();
    }

    private static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof Boolean) return v.toString();
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
                || v instanceof BigInteger) return v.toString();
        if (v instanceof BigDecimal) return ((BigDecimal) v).toPlainString();
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return Double.isFinite(d) ? v.toString() : json(v.toString());
        }
        if (v instanceof byte[]) {
            StringBuilder hex = new StringBuilder("0x");
            for (byte b : (byte[]) v) hex.append(String.format("%02X", b));
            return json(hex.toString());
        }
        String s = v.toString();
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    private Probe() { }
}
