// tlslab driver probe for the Microsoft JDBC Driver for SQL Server (mssql-jdbc).
// Contract: probes/README.md. One connection attempt, exactly one JSON line on stdout,
// exit 0 whenever it ran (also on every connection/TLS/DNS failure), exit 2 on usage error.
//
// One source for every mssql-jdbc version the lab probes: probes/jdbc (12.x) builds it,
// and so do probes/jdbc9 (9.4) and jdbc10 (10.2) against their own driver jar. It uses
// only java.sql and connection properties that all of them know, and passes --encrypt through
// as it is, so a value an old driver lacks (strict, mandatory, optional before 11.2) is refused
// by the driver itself, with its own error. The name in the JSON comes from the system
// property tlslab.probe.driver (set by each probe script), default "jdbc".

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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
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
    /** The probe's name in the JSON: jdbc, jdbc9, jdbc10 (-Dtlslab.probe.driver=...). */
    private static final String DRIVER_NAME = driverName();

    /** --session: the steps of the session script, in order (probes/README.md). */
    private static final List<String> SESSION_STEPS = List.of("begin", "trancount", "system", "param",
            "commit", "trancount_after", "error", "again");
    /** The steps taken so far (null without --session); guarded by Probe.class. */
    private static List<Map<String, Object>> sessionSteps = null;
    /** The step running now, for the watchdog's report. */
    private static volatile String currentStep = null;
    /** When the watchdog gives up: System.nanoTime() value; moved on by each session step. */
    private static volatile long deadline = 0;
    /** --query's outcome, for the watchdog's report when a session step hangs. */
    private static volatile Object queryValue = null;
    private static volatile Throwable queryFailure = null;

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
                    + " [--query SQL] [--timeout SECONDS] [--session]");
            System.err.println("(--encrypt is passed to the driver as it is: mssql-jdbc before 11.2 knows only"
                    + " true|false and reports its own error for the others)");
            System.exit(2);
            return;
        }

        version = staticDriverVersion();
        boolean session = opt.containsKey("session");
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
            } catch (Throwable t) {
                if (!session) throw t;
                failure = t; // the query failed: still hold the session, then report both
            }
            if (session) {
                queryValue = value;
                queryFailure = failure;
                runSession(conn, timeout);
            }
        } catch (Throwable t) {
            if (failure == null) failure = t;
        }
        emit(value, failure);
        System.exit(0);
    }

    // ---------------------------------------------------------------- --session

    /**
     * The session script of probes/README.md, in the driver's own API. On the wire
     * (9.4, 10.2 and 12.10 alike): setAutoCommit(false) is the batch "set implicit_transactions
     * on " (no transaction manager request); the Statements are batches of their own text; the
     * PreparedStatement "SELECT ?" with setInt(1, 42), executed once, is an sp_executesql RPC
     * (sp_prepexec only from its second execution); commit() is the batch "IF @@TRANCOUNT > 0
     * COMMIT TRAN" and setAutoCommit(true) "set implicit_transactions off IF @@TRANCOUNT > 0
     * COMMIT TRAN ". A failing step does not stop the script. Each step is bounded by --timeout
     * (query timeout), the network timeout (timeout + 2 s) and the watchdog (timeout + 5 s).
     */
    private static void runSession(Connection conn, int timeout) {
        synchronized (Probe.class) {
            sessionSteps = new ArrayList<>();
        }
        try {
            // Backstop under the query timeout: a server that never acknowledges the driver's
            // attention (sent when a query times out) would hold the driver forever; with a
            // network timeout the driver gives up the connection and reports its own error, and
            // the steps after it fail with the driver's "connection is closed".
            conn.setNetworkTimeout(Runnable::run, (timeout + 2) * 1000);
        } catch (Throwable ignored) {
            // the watchdog still bounds every step
        }
        String system = "SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), @@VERSION, GETDATE()";
        for (String step : SESSION_STEPS) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", step);
            currentStep = step;
            deadline = System.nanoTime() + (timeout + 5) * 1_000_000_000L;
            try {
                switch (step) {
                    case "begin":
                        conn.setAutoCommit(false);
                        r.put("value", null);
                        break;
                    case "trancount":
                    case "trancount_after":
                        r.put("value", statementValue(conn, timeout, "SELECT @@TRANCOUNT"));
                        break;
                    case "system":
                        try (Statement st = conn.createStatement()) {
                            st.setQueryTimeout(timeout);
                            List<String> row = new ArrayList<>();
                            Object first = firstRow(st, system, row);
                            r.put("value", first);
                            r.put("row", row);
                        }
                        break;
                    case "param":
                        try (PreparedStatement ps = conn.prepareStatement("SELECT ?")) {
                            ps.setQueryTimeout(timeout);
                            ps.setInt(1, 42);
                            try (ResultSet rs = ps.executeQuery()) {
                                r.put("value", rs.next() ? rs.getObject(1) : null);
                            }
                        }
                        break;
                    case "commit": {
                        SQLException err = null;
                        try {
                            conn.commit();
                        } catch (SQLException e) {
                            err = e;
                        }
                        try {
                            conn.setAutoCommit(true); // back to autocommit for the steps after
                        } catch (SQLException e) {
                            if (err == null) err = e; else err.addSuppressed(e);
                        }
                        if (err != null) throw err;
                        r.put("value", null);
                        break;
                    }
                    case "error":
                        r.put("value", statementValue(conn, timeout, "SELECT * FROM tlslab_no_such_table"));
                        break;
                    case "again":
                        r.put("value", statementValue(conn, timeout, "SELECT 1"));
                        break;
                    default:
                        throw new IllegalStateException("unknown step " + step);
                }
                r.put("ok", true);
                r.put("error_code", null);
                r.put("error", null);
            } catch (Throwable t) {
                r.put("ok", false);
                r.putIfAbsent("value", null);
                r.put("error_code", errorCode(t));
                r.put("error", fullText(t));
                String sqlState = t instanceof SQLException ? ((SQLException) t).getSQLState() : null;
                if (sqlState != null) r.put("sql_state", sqlState);
            }
            synchronized (Probe.class) {
                sessionSteps.add(orderStep(r));
            }
        }
        currentStep = null;
    }

    /** The step's fields in the contract's order: step, ok, value, error_code, error, extras. */
    private static Map<String, Object> orderStep(Map<String, Object> r) {
        Map<String, Object> o = new LinkedHashMap<>();
        for (String k : new String[] {"step", "ok", "value", "error_code", "error"}) o.put(k, r.get(k));
        for (Map.Entry<String, Object> e : r.entrySet()) o.putIfAbsent(e.getKey(), e.getValue());
        return o;
    }

    private static Object statementValue(Connection conn, int timeout, String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.setQueryTimeout(timeout);
            return firstValue(st, sql);
        }
    }

    /** Like firstValue, and also every column of the first row, as strings (null stays null). */
    private static Object firstRow(Statement st, String sql, List<String> row) throws SQLException {
        boolean isResultSet = st.execute(sql);
        while (true) {
            if (isResultSet) {
                try (ResultSet rs = st.getResultSet()) {
                    if (!rs.next()) return null;
                    ResultSetMetaData md = rs.getMetaData();
                    for (int i = 1; i <= md.getColumnCount(); i++) row.add(rs.getString(i));
                    return rs.getObject(1);
                }
            }
            if (st.getUpdateCount() == -1) return null;
            isResultSet = st.getMoreResults();
        }
    }

    // ---------------------------------------------------------------- options -> driver properties

    private static Map<String, String> parseArgs(String[] args) throws UsageError {
        List<String> valued = List.of("host", "port", "ca", "encrypt", "host-name-in-certificate",
                "user", "password", "query", "timeout");
        List<String> flags = List.of("trust-server-certificate", "session");
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new UsageError("unexpected argument: " + a);
            String name = a.substring(2);
            if (flags.contains(name)) {
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

    private static String driverName() {
        String n = System.getProperty("tlslab.probe.driver");
        return n == null || n.isEmpty() ? "jdbc" : n;
    }

    /**
     * The driver's version before any connection exists (getDriverVersion() needs one), in the
     * same form: SQLJdbcVersion's fields are MAJOR.. in 12.x and major.. in 9.x/10.x.
     */
    private static String staticDriverVersion() {
        try {
            Class<?> v = Class.forName("com.microsoft.sqlserver.jdbc.SQLJdbcVersion");
            StringBuilder sb = new StringBuilder();
            for (String f : new String[] {"MAJOR", "MINOR", "PATCH", "BUILD"}) {
                Field fld = versionField(v, f);
                fld.setAccessible(true);
                if (sb.length() > 0) sb.append('.');
                sb.append(fld.get(null));
            }
            Field ext = versionField(v, "RELEASE_EXT");
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

    /** MAJOR or major, RELEASE_EXT or releaseExt. */
    private static Field versionField(Class<?> v, String upper) throws NoSuchFieldException {
        try {
            return v.getDeclaredField(upper);
        } catch (NoSuchFieldException e) {
            String[] parts = upper.toLowerCase(java.util.Locale.ROOT).split("_");
            StringBuilder camel = new StringBuilder(parts[0]);
            for (int i = 1; i < parts.length; i++)
                camel.append(Character.toUpperCase(parts[i].charAt(0))).append(parts[i].substring(1));
            return v.getDeclaredField(camel.toString());
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
        deadline = System.nanoTime() + limit * 1_000_000_000L; // login + query; each session step moves it
        Thread w = new Thread(() -> {
            try {
                long left;
                while ((left = deadline - System.nanoTime()) > 0)
                    Thread.sleep(Math.max(1, Math.min(left / 1_000_000, 1000)));
            } catch (InterruptedException e) {
                return;
            }
            String step = currentStep;
            String what = step != null ? "did not finish the session step '" + step + "'"
                    : connected ? "did not finish the query" : "neither connected nor failed";
            String text = "probe watchdog: the driver " + what + " within " + limit + " s (loginTimeout="
                    + timeout + " s)";
            if (step != null) {
                // a session step hung: the --query's own outcome stays at the top level
                watchdogSteps(step, text);
                emit(queryValue, queryFailure);
            } else {
                emitRaw(connected, "WATCHDOG", text, null, null, null);
            }
            System.exit(0);
        }, "probe-watchdog");
        w.setDaemon(true);
        w.start();
    }

    /** The stuck step and those after it, reported as failed (the script stops here). */
    private static synchronized void watchdogSteps(String stuck, String text) {
        if (sessionSteps == null) return;
        boolean after = false;
        for (String s : SESSION_STEPS) {
            if (s.equals(stuck)) after = true;
            if (!after) continue;
            boolean taken = false;
            for (Map<String, Object> r : sessionSteps) taken |= s.equals(r.get("step"));
            if (taken) continue;
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", s);
            r.put("ok", false);
            r.put("value", null);
            r.put("error_code", "WATCHDOG");
            r.put("error", s.equals(stuck) ? text : "not run: the probe watchdog stopped the session at '" + stuck + "'");
            sessionSteps.add(r);
        }
    }

    // ---------------------------------------------------------------- output

    private static void emit(Object value, Throwable failure) {
        if (failure == null) {
            emitRaw(true, null, null, value, null, null);
            return;
        }
        Object code = errorCode(failure);
        String sqlState = failure instanceof SQLException ? ((SQLException) failure).getSQLState() : null;
        Throwable inner = failure;
        while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
        String cause = inner == failure ? null : inner.getClass().getName() + ": " + inner.getMessage();
        emitRaw(connected, code, fullText(failure), null, sqlState, cause);
    }

    /** The SQL Server error number, else the SQLState, else the exception's class. */
    private static Object errorCode(Throwable failure) {
        Object code = null;
        if (failure instanceof SQLException) {
            SQLException se = (SQLException) failure;
            code = se.getErrorCode() != 0 ? (Object) se.getErrorCode() : se.getSQLState();
        }
        return code != null ? code : failure.getClass().getName();
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
        j.append("\"driver\": ").append(json(DRIVER_NAME));
        j.append(", \"version\": ").append(json(version));
        j.append(", \"connected\": ").append(conn);
        j.append(", \"error_code\": ").append(json(code));
        j.append(", \"error\": ").append(json(error));
        j.append(", \"value\": ").append(json(value));
        if (sqlState != null) j.append(", \"sql_state\": ").append(json(sqlState));
        if (cause != null) j.append(", \"cause\": ").append(json(cause));
        if (sessionSteps != null) j.append(", \"session\": ").append(json(sessionSteps));
        j.append(", \"elapsed_ms\": ").append((System.nanoTime() - START) / 1_000_000);
        j.append('}');
        JSON_OUT.println(j);
        JSON_OUT.flush();
    }

    private static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (sb.length() > 1) sb.append(", ");
                sb.append(json(String.valueOf(e.getKey()))).append(": ").append(json(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (v instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            for (Object o : (List<?>) v) {
                if (sb.length() > 1) sb.append(", ");
                sb.append(json(o));
            }
            return sb.append(']').toString();
        }
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
