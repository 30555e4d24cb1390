// tlslab PostgreSQL probe for pgjdbc (org.postgresql:postgresql), the PostgreSQL JDBC driver.
// Contract: the PostgreSQL section of probes/README.md. One connection attempt, exactly
// one JSON line on stdout, exit 0 whenever it ran; exit 2 on a usage error.
//
// Every option is a pgjdbc connection property, passed in Properties (so values need no URL
// escaping) and judged by the driver itself: sslmode (--encrypt), sslrootcert (--ca),
// channelBinding, sslNegotiation; connectTimeout, loginTimeout and socketTimeout from
// --timeout. pgjdbc's own default for sslmode is prefer, and its default sslrootcert is
// ${user.home}/.postgresql/root.crt: the probe sets user.home to a new empty directory, so a
// root.crt of whoever runs the probe is never read (the JVM takes user.home from the passwd
// entry, not from $HOME). Note pgjdbc's require does not verify even when a root certificate
// exists (libpq's does: verify-ca); verify-ca and verify-full without one fail.

import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import javax.net.ssl.SSLSocket;

public final class Probe {
    /** The real stdout; System.out is pointed at stderr so nothing else can reach stdout. */
    private static final PrintStream JSON_OUT = new PrintStream(
            new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static final long START = System.nanoTime();
    private static final String[][] SESSION = {
        {"set", "SET application_name = 'tlslab-probe'"},
        {"show", "SHOW application_name"},
        {"begin", "BEGIN"},
        {"param", "SELECT ?::int"},   // pgjdbc sends it as SELECT $1::int, bound to 42
        {"commit", "COMMIT"},
        {"error", "SELECT * FROM tlslab_no_such_table"},
        {"again", "SELECT 1"},
    };

    /** The JSON line being built; guarded by Probe.class. */
    private static final Map<String, Object> RESULT = new LinkedHashMap<>();
    private static boolean emitted = false;
    private static Path home = null;

    /** Watchdog: when System.nanoTime() passes deadline, onExpire runs, the line goes out. */
    private static volatile long deadline = Long.MAX_VALUE;
    private static volatile Runnable onExpire = () -> { };

    private static final class UsageError extends Exception {
        UsageError(String m) { super(m); }
    }

    public static void main(String[] args) {
        System.setOut(System.err);
        quietLogging();
        Map<String, String> opt;
        double timeoutS;
        try {
            opt = parseArgs(args);
            timeoutS = parseTimeout(opt.getOrDefault("timeout", "10"));
        } catch (UsageError e) {
            System.err.println("probe: " + e.getMessage());
            System.err.println("usage: probe --host H --port P [--ca FILE] [--encrypt disable|allow|prefer|require|verify-ca|verify-full]"
                    + " [--channel-binding disable|prefer|require] [--ssl-negotiation postgres|direct]"
                    + " [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS] [--session]");
            System.exit(2);
            return;
        }
        boolean session = opt.containsKey("session");
        int t = (int) Math.ceil(timeoutS);
        synchronized (Probe.class) {
            RESULT.put("driver", "pgjdbc");
            RESULT.put("version", org.postgresql.util.DriverInfo.DRIVER_VERSION);
            RESULT.put("connected", false);
            RESULT.put("error_code", null);
            RESULT.put("error", null);
            RESULT.put("value", null);
            RESULT.put("ssl", null);
            RESULT.put("sslrootcert", opt.get("ca"));
        }
        try {
            home = Files.createTempDirectory("tlslab-probe-home-");
            System.setProperty("user.home", home.toString());
        } catch (java.io.IOException e) {
            System.err.println("probe: cannot make a private user.home: " + e);
        }

        Properties props = new Properties();
        props.setProperty("user", opt.getOrDefault("user", "lab"));
        props.setProperty("password", opt.getOrDefault("password", "lab-password"));
        if (opt.containsKey("encrypt")) props.setProperty("sslmode", opt.get("encrypt"));
        if (opt.containsKey("ca")) props.setProperty("sslrootcert", opt.get("ca"));
        if (opt.containsKey("channel-binding")) props.setProperty("channelBinding", opt.get("channel-binding"));
        if (opt.containsKey("ssl-negotiation")) props.setProperty("sslNegotiation", opt.get("ssl-negotiation"));
        props.setProperty("connectTimeout", Integer.toString(t));
        props.setProperty("loginTimeout", Integer.toString(t));
        props.setProperty("socketTimeout", Integer.toString(t + 2));
        String host = opt.get("host");
        if (host.contains(":") && !host.startsWith("[")) host = "[" + host + "]";
        String url = "jdbc:postgresql://" + host + ":" + opt.get("port") + "/"
                + java.net.URLEncoder.encode(opt.getOrDefault("database", "lab"), StandardCharsets.UTF_8);

        startWatchdog();
        long bound = (long) ((timeoutS + 5) * 1e9);
        arm(bound, () -> {
            put("error_code", "PROBE_TIMEOUT");
            put("error", "probe watchdog: no answer from the driver after " + (timeoutS + 5) + " s");
            if (session) put("session", notRun("PROBE_TIMEOUT", "not run: no connection", 0));
        });
        Connection conn;
        try {
            conn = DriverManager.getConnection(url, props);
        } catch (Throwable e) {
            disarm();
            synchronized (Probe.class) { putError(RESULT, e); }
            if (session) put("session", notRun(RESULT.get("error_code"), "not run: no connection", 0));
            emit();
            System.exit(0);
            return;
        }
        disarm();
        put("connected", true);
        sslInfo(conn);

        String query = opt.getOrDefault("query", "SELECT 1");
        if (!query.isEmpty()) {
            arm(bound, () -> {
                put("error_code", "PROBE_TIMEOUT");
                put("error", "probe watchdog: the query had no answer after " + (timeoutS + 5) + " s");
                if (session) put("session", notRun("PROBE_TIMEOUT", "not run: the query did not finish", 0));
            });
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(t);
                put("value", firstValue(st, query));
            } catch (Throwable e) {
                synchronized (Probe.class) { putError(RESULT, e); }
            }
            disarm();
        }
        if (session) runSession(conn, t, bound);
        emit();
        arm(bound, () -> { });
        try { conn.close(); } catch (Throwable ignored) { }
        System.exit(0);
    }

    // ---------------------------------------------------------------- --session

    /**
     * The session script in pgjdbc's own API: Statements for set/show/error/again;
     * setAutoCommit(false) for begin (pgjdbc sends BEGIN itself, with the next statement); a
     * PreparedStatement "SELECT ?::int" with setInt(1, 42) for param (extended protocol:
     * Parse "SELECT $1::int", Bind, Execute); commit() and back to autocommit for commit.
     */
    private static void runSession(Connection conn, int t, long bound) {
        List<Map<String, Object>> steps = new ArrayList<>();
        put("session", steps);
        for (int i = 0; i < SESSION.length; i++) {
            String name = SESSION[i][0];
            String sql = SESSION[i][1];
            Map<String, Object> step = newStep(name);
            final int next = i + 1;
            synchronized (Probe.class) { steps.add(step); }
            arm(bound, () -> {
                step.put("error_code", "PROBE_TIMEOUT");
                step.put("error", "probe watchdog: the step had no answer in time");
                steps.addAll(notRun("PROBE_TIMEOUT", "not run: step '" + name + "' did not finish", next));
            });
            long t0 = System.nanoTime();
            Object value = null;
            try {
                switch (name) {
                    case "begin":
                        conn.setAutoCommit(false);
                        synchronized (Probe.class) { step.put("sent", "nothing: pgjdbc sends BEGIN with the next statement"); }
                        break;
                    case "param":
                        synchronized (Probe.class) { step.put("protocol", "extended"); }
                        try (PreparedStatement ps = conn.prepareStatement(sql)) {
                            ps.setQueryTimeout(t);
                            ps.setInt(1, 42);
                            try (ResultSet rs = ps.executeQuery()) {
                                value = rs.next() ? rs.getObject(1) : null;
                            }
                        }
                        break;
                    case "commit":
                        conn.commit();
                        conn.setAutoCommit(true);
                        break;
                    default:
                        try (Statement st = conn.createStatement()) {
                            st.setQueryTimeout(t);
                            value = firstValue(st, sql);
                        }
                }
                synchronized (Probe.class) {
                    step.put("ok", true);
                    step.put("value", value);
                }
            } catch (Throwable e) {
                synchronized (Probe.class) { putError(step, e); }
            }
            synchronized (Probe.class) { step.put("elapsed_ms", (System.nanoTime() - t0) / 1_000_000); }
            disarm();
        }
    }

    private static Map<String, Object> newStep(String name) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("step", name);
        s.put("ok", false);
        s.put("value", null);
        s.put("error_code", null);
        s.put("error", null);
        return s;
    }

    private static List<Map<String, Object>> notRun(Object code, String msg, int from) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = from; i < SESSION.length; i++) {
            Map<String, Object> s = newStep(SESSION[i][0]);
            s.put("error_code", code);
            s.put("error", msg);
            out.add(s);
        }
        return out;
    }

    // ---------------------------------------------------------------- driver details

    /**
     * Whether the connection is TLS: pgjdbc has no public call for it, so the probe looks at
     * the socket the driver reads from (QueryExecutorBase.pgStream -> PGStream.getSocket(), by
     * reflection); if that fails, the server's pg_stat_ssl view says, else ssl stays null.
     */
    private static void sslInfo(Connection conn) {
        try {
            Object qe = conn.unwrap(org.postgresql.core.BaseConnection.class).getQueryExecutor();
            Field f = null;
            for (Class<?> c = qe.getClass(); c != null && f == null; c = c.getSuperclass()) {
                try { f = c.getDeclaredField("pgStream"); } catch (NoSuchFieldException ignored) { }
            }
            if (f == null) throw new NoSuchFieldException("pgStream");
            f.setAccessible(true);
            org.postgresql.core.PGStream ps = (org.postgresql.core.PGStream) f.get(qe);
            Socket s = ps.getSocket();
            boolean tls = s instanceof SSLSocket;
            put("ssl", tls);
            put("ssl_source", "socket");
            if (tls) {
                put("tls_version", ((SSLSocket) s).getSession().getProtocol());
                String alpn = ((SSLSocket) s).getApplicationProtocol();
                if (alpn != null && !alpn.isEmpty()) put("alpn", alpn);
            }
            return;
        } catch (Throwable e) {
            System.err.println("probe: cannot read the driver's socket: " + e);
        }
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            if (rs.next()) {
                put("ssl", rs.getBoolean(1));
                put("ssl_source", "pg_stat_ssl");
                if (rs.getString(2) != null) put("tls_version", rs.getString(2));
            }
        } catch (Throwable e) {
            System.err.println("probe: pg_stat_ssl: " + e);
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
            if (st.getUpdateCount() == -1) return null;
            isResultSet = st.getMoreResults();
        }
    }

    /** error_code: the SQLState (pgjdbc gives one to its own failures too, e.g. 08001), else
     *  the exception's class; error: the driver's message and the causes it does not show. */
    private static void putError(Map<String, Object> into, Throwable e) {
        String state = e instanceof SQLException ? ((SQLException) e).getSQLState() : null;
        into.put("error_code", state != null ? state : e.getClass().getName());
        into.put("error", fullText(e));
        into.put("error_type", e.getClass().getName());
        Throwable inner = e;
        while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
        if (inner != e) into.put("cause", inner.getClass().getName() + ": " + inner.getMessage());
    }

    private static String fullText(Throwable t) {
        StringBuilder sb = new StringBuilder(t.getMessage() != null ? t.getMessage() : t.toString());
        List<Throwable> seen = new ArrayList<>();
        seen.add(t);
        for (Throwable c = t.getCause(); c != null && !seen.contains(c); c = c.getCause()) {
            seen.add(c);
            if (c.getMessage() == null || !sb.toString().contains(c.getMessage()))
                sb.append(" Caused by: ").append(c);
        }
        return sb.toString();
    }

    private static void quietLogging() {
        LogManager.getLogManager().reset();
        ConsoleHandler h = new ConsoleHandler(); // System.err
        h.setLevel(Level.WARNING);
        Logger root = Logger.getLogger("");
        root.setLevel(Level.WARNING);
        root.addHandler(h);
    }

    // ---------------------------------------------------------------- arguments

    private static Map<String, String> parseArgs(String[] args) throws UsageError {
        Map<String, String> opt = new LinkedHashMap<>();
        List<String> withValue = List.of("host", "port", "ca", "encrypt", "channel-binding", "ssl-negotiation",
                "user", "password", "database", "query", "timeout");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new UsageError("unexpected argument " + a);
            String k = a.substring(2);
            if (k.equals("session")) { opt.put(k, "true"); continue; }
            if (!withValue.contains(k)) throw new UsageError("unknown option " + a);
            if (i + 1 >= args.length) throw new UsageError(a + " needs a value");
            opt.put(k, args[++i]);
        }
        if (!opt.containsKey("host") || !opt.containsKey("port")) throw new UsageError("--host and --port are required");
        try {
            int p = Integer.parseInt(opt.get("port"));
            if (p < 1 || p > 65535) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new UsageError("bad --port " + opt.get("port"));
        }
        if (opt.containsKey("encrypt") && !opt.get("encrypt").matches("[A-Za-z0-9_-]+"))
            throw new UsageError("--encrypt must be one word");
        if (opt.containsKey("channel-binding") && !List.of("disable", "prefer", "require").contains(opt.get("channel-binding")))
            throw new UsageError("bad --channel-binding " + opt.get("channel-binding"));
        if (opt.containsKey("ssl-negotiation") && !List.of("postgres", "direct").contains(opt.get("ssl-negotiation")))
            throw new UsageError("bad --ssl-negotiation " + opt.get("ssl-negotiation"));
        if (opt.containsKey("ca")) {
            File f = new File(opt.get("ca"));
            if (!f.isFile()) throw new UsageError("--ca: no such file: " + opt.get("ca"));
            opt.put("ca", f.getAbsolutePath());
        }
        return opt;
    }

    private static double parseTimeout(String s) throws UsageError {
        try {
            double d = Double.parseDouble(s);
            if (!(d > 0) || Double.isInfinite(d)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new UsageError("bad --timeout " + s);
        }
    }

    // ---------------------------------------------------------------- bounds and output

    private static void arm(long nanos, Runnable expire) {
        onExpire = expire;
        deadline = System.nanoTime() + nanos;
    }

    private static void disarm() {
        deadline = Long.MAX_VALUE;
    }

    private static void startWatchdog() {
        Thread w = new Thread(() -> {
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) break;
                    Thread.sleep(Math.max(1, Math.min(left / 1_000_000, 200)));
                }
            } catch (InterruptedException e) {
                return;
            }
            synchronized (Probe.class) { onExpire.run(); }
            emit();
            Runtime.getRuntime().halt(0);
        }, "probe-watchdog");
        w.setDaemon(true);
        w.start();
    }

    private static synchronized void put(String k, Object v) {
        RESULT.put(k, v);
    }

    private static synchronized void emit() {
        if (emitted) return;
        emitted = true;
        RESULT.put("elapsed_ms", (System.nanoTime() - START) / 1_000_000);
        JSON_OUT.println(json(RESULT));
        JSON_OUT.flush();
        if (home != null) home.toFile().delete();
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
            StringBuilder hex = new StringBuilder("\\x");
            for (byte b : (byte[]) v) hex.append(String.format("%02x", b));
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
