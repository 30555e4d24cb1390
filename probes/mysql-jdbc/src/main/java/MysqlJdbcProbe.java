// What the two tlslab MySQL JDBC probes share (mysqljdbc: MysqlConnectorJProbe, mariadbjdbc:
// MariadbConnectorJProbe). Contract: the "MySQL probes" section of probes/README.md. One
// connection attempt, exactly one JSON line on stdout, exit 0 whenever it ran; exit 2 on a usage
// error.
//
// Theory of operation: a driver's class says only what is its own (its name, version, URL
// scheme, how --ssl-mode and --ca become connection properties, and the way to its socket);
// run() does the rest the same for both: options, a private user.home (a new empty directory,
// removed after the line is printed), connectTimeout from --timeout and socketTimeout 2 s more,
// DriverManager.getConnection, the query, the TLS facts (the driver's own socket first, the
// server's SHOW SESSION STATUS where that fails), a watchdog that prints PROBE_TIMEOUT when a
// phase exceeds --timeout + 5 s, and the JSON line. This class names no driver class: each probe
// runs with only its own driver on the class path.

import java.io.File;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
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

public abstract class MysqlJdbcProbe {
    /** The real stdout; System.out is pointed at stderr so nothing else can reach stdout. */
    private static final PrintStream JSON_OUT = new PrintStream(
            new FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static final long START = System.nanoTime();
    protected static final List<String> MODES =
            List.of("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY");

    /** The JSON line being built; guarded by this. */
    private final Map<String, Object> result = new LinkedHashMap<>();
    private boolean emitted = false;
    private Path home = null;

    private volatile long deadline = Long.MAX_VALUE;

    private static final class UsageError extends Exception {
        UsageError(String m) { super(m); }
    }

    // ---------------------------------------------------------------- what a driver says
    /** The probe's name, the line's `driver`. */
    protected abstract String name();

    /** The driver's own version string, read from the driver. */
    protected abstract String driverVersion();

    /** The JDBC URL's scheme up to the host, e.g. "jdbc:mysql://". */
    protected abstract String urlPrefix();

    /** Sets the driver's TLS properties for the mode (null: not passed) and the CA (null: none),
     *  and records them in settings; returns why the mode cannot be expressed, or null. */
    protected abstract String configureTls(Properties props, Map<String, Object> settings, String mode, String ca)
            throws Exception;

    /** The socket the driver reads from (an SSLSocket when the session is encrypted). */
    protected abstract Object driverSocket(Connection conn) throws Exception;

    /** The private home directory (null if it could not be made). */
    protected final Path home() { return home; }

    // ---------------------------------------------------------------- one run
    protected final void run(String[] args) {
        System.setOut(System.err);
        quietLogging();
        Map<String, String> opt;
        double timeoutS;
        try {
            opt = parseArgs(args);
            timeoutS = parseTimeout(opt.getOrDefault("timeout", "10"));
        } catch (UsageError e) {
            System.err.println("probe: " + e.getMessage());
            System.err.println("usage: probe --host H --port P [--ca FILE] [--ssl-mode " + String.join("|", MODES) + "]"
                    + " [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]");
            System.exit(2);
            return;
        }
        int ms = (int) Math.ceil(timeoutS * 1000);
        String mode = opt.get("ssl-mode");
        synchronized (this) {
            result.put("driver", name());
            result.put("version", driverVersion());
            result.put("connected", false);
            result.put("error_code", null);
            result.put("error", null);
            result.put("value", null);
            result.put("ssl", null);
            result.put("tls_version", null);
            result.put("cipher", null);
            result.put("ssl_mode", mode);
            result.put("ssl_settings", null);
            result.put("java_version", System.getProperty("java.version"));
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
        Map<String, Object> settings = new LinkedHashMap<>();
        String unsupported;
        try {
            unsupported = configureTls(props, settings, mode, opt.get("ca"));
        } catch (Exception e) {
            put("error_code", "PROBE_FAILURE");
            put("error", "probe: cannot prepare the CA for the driver: " + e);
            emit();
            System.exit(0);
            return;
        }
        props.setProperty("connectTimeout", Integer.toString(ms));
        props.setProperty("socketTimeout", Integer.toString(ms + 2000));
        put("ssl_settings", settings);
        if (unsupported != null) {
            put("error_code", "UNSUPPORTED_MODE");
            put("unsupported_mode", true);
            put("error", unsupported + "; not run");
            emit();
            System.exit(0);
            return;
        }
        String host = opt.get("host");
        if (host.contains(":") && !host.startsWith("[")) host = "[" + host + "]";
        String url = urlPrefix() + host + ":" + opt.get("port") + "/"
                + java.net.URLEncoder.encode(opt.getOrDefault("database", "lab"), StandardCharsets.UTF_8);

        startWatchdog();
        long bound = (long) ((timeoutS + 5) * 1e9);
        arm(bound);
        Connection conn;
        try {
            conn = DriverManager.getConnection(url, props);
        } catch (Throwable e) {
            disarm();
            putError(e);
            emit();
            System.exit(0);
            return;
        }
        disarm();
        put("connected", true);
        try { put("server_version", conn.getMetaData().getDatabaseProductVersion()); } catch (Throwable ignored) { }
        arm(bound);
        sslFromDriver(conn);
        String query = opt.getOrDefault("query", "SELECT 1");
        if (!query.isEmpty()) {
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout((int) Math.ceil(timeoutS));
                put("value", json(firstRow(st, query, 1)));
            } catch (Throwable e) {
                putError(e);
            }
        }
        sslFromServer(conn);
        disarm();
        emit();
        arm(bound);
        try { conn.close(); } catch (Throwable ignored) { }
        System.exit(0);
    }

    // ---------------------------------------------------------------- TLS facts
    /** The client side: the driver's own socket (driverSocket); when that fails, sslFromServer
     *  fills ssl from the server's view. */
    private void sslFromDriver(Connection conn) {
        try {
            Object o = driverSocket(conn);
            if (!(o instanceof Socket)) throw new IllegalStateException("not a socket: " + o);
            boolean tls = o instanceof SSLSocket;
            put("ssl", tls);
            put("ssl_source", "driver");
            if (tls) {
                put("tls_version", ((SSLSocket) o).getSession().getProtocol());
                put("cipher", ((SSLSocket) o).getSession().getCipherSuite());
            }
        } catch (Throwable e) {
            System.err.println("probe: cannot read the driver's socket: " + e);
        }
    }

    /** Follows a chain of no-argument getters by reflection (no public call reaches a driver's
     *  socket): each the method, an interface's method, or the field behind it (getSocket ->
     *  socket). */
    protected static Object callChain(Object o, String... names) throws Exception {
        for (String name : names) o = call(o, name);
        return o;
    }

    private static Object call(Object o, String name) throws Exception {
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.getName().equals(name) && m.getParameterCount() == 0) {
                    m.setAccessible(true);
                    return m.invoke(o);
                }
            }
        }
        for (Class<?> i : o.getClass().getInterfaces()) {
            try { return i.getMethod(name).invoke(o); } catch (NoSuchMethodException ignored) { }
        }
        // No getter: the field it would return (getSocket -> socket).
        String field = Character.toLowerCase(name.charAt(3)) + name.substring(4);
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            try {
                java.lang.reflect.Field f = c.getDeclaredField(field);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException ignored) { }
        }
        throw new NoSuchMethodException(o.getClass().getName() + "." + name + "() or ." + field);
    }

    /** The server's view (SHOW SESSION STATUS) where the driver did not tell. */
    private void sslFromServer(Connection conn) {
        List<String> filled = new ArrayList<>();
        try (Statement st = conn.createStatement()) {
            Object version = firstRow(st, "SHOW SESSION STATUS LIKE 'Ssl_version'", 2);
            Object cipher = firstRow(st, "SHOW SESSION STATUS LIKE 'Ssl_cipher'", 2);
            String v = version == null || version.toString().isEmpty() ? null : version.toString();
            String c = cipher == null || cipher.toString().isEmpty() ? null : cipher.toString();
            synchronized (this) {
                if (result.get("ssl") == null) {
                    result.put("ssl", c != null);
                    result.put("ssl_source", "server");
                    filled.add("ssl");
                }
                if (result.get("tls_version") == null && Boolean.TRUE.equals(result.get("ssl"))) {
                    result.put("tls_version", v);
                    filled.add("tls_version");
                }
                if (result.get("cipher") == null && Boolean.TRUE.equals(result.get("ssl"))) {
                    result.put("cipher", c);
                    filled.add("cipher");
                }
                if (!filled.isEmpty()) result.put("from_server_status", filled);
            }
        } catch (Throwable e) {
            put("ssl_status_error", e.toString());
        }
    }

    private static Object firstRow(Statement st, String sql, int column) throws SQLException {
        boolean isResultSet = st.execute(sql);
        while (true) {
            if (isResultSet) {
                try (ResultSet rs = st.getResultSet()) {
                    return rs.next() ? rs.getObject(column) : null;
                }
            }
            if (st.getUpdateCount() == -1) return null;
            isResultSet = st.getMoreResults();
        }
    }

    /** error_code: the server's error number when there is one (1045, ...), else the SQLState,
     *  else the exception's class; error: the driver's message and the causes it does not show. */
    private synchronized void putError(Throwable e) {
        SQLException sq = e instanceof SQLException ? (SQLException) e : null;
        String state = sq != null ? sq.getSQLState() : null;
        if (sq != null && sq.getErrorCode() != 0) result.put("error_code", sq.getErrorCode());
        else result.put("error_code", state != null ? state : e.getClass().getName());
        if (state != null) result.put("sql_state", state);
        result.put("error", fullText(e));
        result.put("error_type", e.getClass().getName());
        Throwable inner = e;
        while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
        if (inner != e) result.put("cause", inner.getClass().getName() + ": " + inner.getMessage());
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
        List<String> withValue = List.of("host", "port", "ca", "ssl-mode", "user", "password", "database",
                "query", "timeout");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new UsageError("unexpected argument " + a);
            String k = a.substring(2);
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
        if (opt.containsKey("ssl-mode") && !MODES.contains(opt.get("ssl-mode")))
            throw new UsageError("bad --ssl-mode " + opt.get("ssl-mode"));
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
    private void arm(long nanos) { deadline = System.nanoTime() + nanos; }

    private void disarm() { deadline = Long.MAX_VALUE; }

    private void startWatchdog() {
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
            synchronized (this) {
                if (result.get("error_code") == null) {
                    result.put("error_code", "PROBE_TIMEOUT");
                    result.put("error", "probe watchdog: no answer from the driver in time");
                }
            }
            emit();
            Runtime.getRuntime().halt(0);
        }, "probe-watchdog");
        w.setDaemon(true);
        w.start();
    }

    private synchronized void put(String k, Object v) { result.put(k, v); }

    private synchronized void emit() {
        if (emitted) return;
        emitted = true;
        result.put("elapsed_ms", (System.nanoTime() - START) / 1_000_000);
        JSON_OUT.println(toJson(result));
        JSON_OUT.flush();
        if (home != null) {
            try (var s = Files.walk(home)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (Exception ignored) { }
        }
    }

    private static Object json(Object v) {
        if (v == null || v instanceof Boolean || v instanceof String) return v;
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) return ((Number) v).longValue();
        if (v instanceof BigInteger) return ((BigInteger) v).bitLength() < 53 ? ((BigInteger) v).longValue() : v.toString();
        if (v instanceof BigDecimal) {
            BigDecimal d = (BigDecimal) v;
            try { return d.longValueExact(); } catch (ArithmeticException e) { return d.toPlainString(); }
        }
        if (v instanceof Number) return v;
        if (v instanceof byte[]) return new String((byte[]) v, StandardCharsets.UTF_8);
        return v.toString();
    }

    @SuppressWarnings("unchecked")
    private static String toJson(Object v) {
        if (v == null) return "null";
        if (v instanceof Boolean || v instanceof Long || v instanceof Integer) return v.toString();
        if (v instanceof Number) {
            double d = ((Number) v).doubleValue();
            return Double.isFinite(d) ? v.toString() : quote(v.toString());
        }
        if (v instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                if (!first) sb.append(", ");
                first = false;
                sb.append(quote(e.getKey())).append(": ").append(toJson(e.getValue()));
            }
            return sb.append("}").toString();
        }
        if (v instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            boolean first = true;
            for (Object o : (List<Object>) v) {
                if (!first) sb.append(", ");
                first = false;
                sb.append(toJson(o));
            }
            return sb.append("]").toString();
        }
        return quote(v.toString());
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
