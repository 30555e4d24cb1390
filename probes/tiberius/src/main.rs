//! probe: one connection attempt with tiberius, one JSON line on stdout.
//! Contract: probes/README.md. Built twice by ../install: with the crate feature
//! `rustls` (driver "tiberius-rustls") and with `native-tls` (driver "tiberius-native",
//! OpenSSL). Everything else is identical.
//!
//! tiberius in its own words:
//!   --encrypt off|on|required|not-supported   Config::encryption(EncryptionLevel::Off|On|
//!                                             Required|NotSupported); not passed = tiberius's
//!                                             default (Required when built with TLS)
//!   --trust-server-certificate                Config::trust_cert()
//!   --ca FILE                                 Config::trust_cert_ca(FILE) (.pem/.crt/.der)
//!   --host-name-in-certificate                tiberius has none: a usage error (exit 2)
//!
//! tiberius 0.12 speaks TDS 7.x only (no TDS 8.0 / strict) and has no transaction API, so
//! the --session script's begin/commit are the batches `BEGIN TRAN` / `COMMIT`.
//! tiberius panics on some PRELOGIN answers (`on` against a server that answers NOT_SUP), on
//! `trust_cert` together with `trust_cert_ca`, and on column types it does not decode
//! (`todo!()` on sql_variant, which SERVERPROPERTY returns); the probe catches each panic
//! where it happens (login, or one session step) and reports it as error_code "Panic" with
//! its message, and the session goes on.

use std::{
    future::Future,
    panic::{self, AssertUnwindSafe},
    pin::Pin,
    sync::Mutex,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use serde_json::{json, Map, Value};
use tiberius::{AuthMethod, Client, ColumnData, Config, EncryptionLevel, Row};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

#[cfg(all(feature = "rustls", feature = "native-tls"))]
compile_error!("enable exactly one of the features `rustls` and `native-tls`");
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
compile_error!("enable one of the features `rustls` or `native-tls`");

#[cfg(feature = "rustls")]
const DRIVER: &str = "tiberius-rustls";
#[cfg(feature = "rustls")]
const TLS_BACKEND: &str = concat!("rustls ", env!("TLSLAB_RUSTLS_VERSION"));
#[cfg(feature = "native-tls")]
const DRIVER: &str = "tiberius-native";
#[cfg(feature = "native-tls")]
const TLS_BACKEND: &str = concat!(
    "native-tls ",
    env!("TLSLAB_NATIVE_TLS_VERSION"),
    " (openssl crate ",
    env!("TLSLAB_OPENSSL_VERSION"),
    ")"
);
const VERSION: &str = env!("TIBERIUS_VERSION");

const USAGE: &str =
    "usage: probe --host H --port P [--ca FILE] [--encrypt off|on|required|not-supported]
             [--trust-server-certificate] [--user U] [--password P] [--query SQL]
             [--timeout SECONDS] [--session]";

type Conn = Client<Compat<TcpStream>>;

struct Opts {
    host: String,
    port: u16,
    ca: Option<String>,
    encrypt: Option<EncryptionLevel>,
    trust: bool,
    user: String,
    password: String,
    query: String,
    timeout: Duration,
    session: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("probe({DRIVER}): {msg}");
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn parse_args() -> Opts {
    let mut o = Opts {
        host: String::new(),
        port: 0,
        ca: None,
        encrypt: None,
        trust: false,
        user: "lab".into(),
        password: "lab-password".into(),
        query: "SELECT 1".into(),
        timeout: Duration::from_secs(10),
        session: false,
    };
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // --name value or --name=value
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let is_flag = matches!(name.as_str(), "--trust-server-certificate" | "--session");
        if is_flag && inline.is_some() {
            usage(&format!("{name} takes no value"));
        }
        let mut value = || -> String {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match name.as_str() {
            "--host" => o.host = value(),
            "--port" => port = Some(value()),
            "--ca" => o.ca = Some(value()),
            "--encrypt" => {
                let v = value();
                o.encrypt = Some(match v.as_str() {
                    "off" => EncryptionLevel::Off,
                    "on" => EncryptionLevel::On,
                    "required" => EncryptionLevel::Required,
                    "not-supported" => EncryptionLevel::NotSupported,
                    _ => usage(&format!("bad --encrypt {v:?}: tiberius's levels are off, on, required, not-supported")),
                })
            }
            "--trust-server-certificate" => o.trust = true,
            "--host-name-in-certificate" => usage(
                "--host-name-in-certificate is not supported: tiberius has no name-to-verify \
                 override; it verifies the certificate against --host",
            ),
            "--user" => o.user = value(),
            "--password" => o.password = value(),
            "--query" => o.query = value(),
            "--timeout" => {
                let v = value();
                match v.parse::<f64>() {
                    Ok(t) if t > 0.0 && t.is_finite() && t < 1e6 => {
                        o.timeout = Duration::from_secs_f64(t)
                    }
                    _ => usage(&format!("bad --timeout {v}")),
                }
            }
            "--session" => o.session = true,
            _ => usage(&format!("unexpected argument {arg}")),
        }
    }
    if o.host.is_empty() || port.is_none() {
        usage("--host and --port are required");
    }
    let p = port.unwrap();
    o.port = match p.parse::<u16>() {
        Ok(n) if n > 0 => n,
        _ => usage(&format!("bad --port {p}")),
    };
    // An IPv6 literal may come bracketed; tiberius and the resolver want it bare.
    if o.host.starts_with('[') && o.host.ends_with(']') {
        o.host = o.host[1..o.host.len() - 1].to_string();
    }
    o
}

// ---- errors ---------------------------------------------------------------------------------

/// A failed operation, as the contract reports it.
struct Failure {
    code: Value,  // SQL Server error number, else the error kind ("Io", "Tls", ...)
    text: String, // the driver's own text
    extra: Map<String, Value>,
}

impl Failure {
    fn probe(kind: &str, text: String) -> Self {
        let mut extra = Map::new();
        extra.insert("error_kind".into(), json!(kind));
        Failure {
            code: json!(kind),
            text,
            extra,
        }
    }
}

impl From<tiberius::error::Error> for Failure {
    fn from(e: tiberius::error::Error) -> Self {
        use tiberius::error::Error as E;
        let kind = match &e {
            E::Io { .. } => "Io",
            E::Protocol(_) => "Protocol",
            E::Encoding(_) => "Encoding",
            E::Conversion(_) => "Conversion",
            E::Utf8 => "Utf8",
            E::Utf16 => "Utf16",
            E::ParseInt(_) => "ParseInt",
            E::Server(_) => "Server",
            E::Tls(_) => "Tls",
            E::Routing { .. } => "Routing",
            E::BulkInput(_) => "BulkInput",
            #[allow(unreachable_patterns)]
            _ => "Other",
        };
        let mut f = Failure::probe(kind, e.to_string());
        match &e {
            E::Server(t) => {
                f.code = json!(t.code());
                f.extra.insert("error_state".into(), json!(t.state()));
                f.extra.insert("error_class".into(), json!(t.class()));
                f.extra.insert("server_message".into(), json!(t.message()));
            }
            E::Io { kind, .. } => {
                f.extra.insert("io_kind".into(), json!(format!("{kind:?}")));
            }
            _ => {}
        }
        f
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        tiberius::error::Error::from(e).into()
    }
}

/// The message of the last panic (set by the hook, read after catch_unwind).
static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn panic_failure() -> Failure {
    let msg = PANIC
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    Failure::probe("Panic", format!("tiberius panicked: {msg}"))
}

/// Runs a future, turning a panic inside it into Err (tiberius panics, e.g. `todo!()` on a
/// sql_variant column such as SERVERPROPERTY's, or on some PRELOGIN answers). The future is
/// never polled again after a panic; the connection it used is left as the panic left it.
struct CatchPanic<F: Future>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Failure>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(_) => Poll::Ready(Err(panic_failure())),
        }
    }
}

/// The future, bounded by `bound` and with its panics caught.
async fn guarded<T>(
    bound: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(bound, CatchPanic(Box::pin(fut))).await {
        Ok(Ok(r)) => r,
        Ok(Err(panicked)) => Err(panicked),
        Err(_) => Err(Failure::probe(
            "Timeout",
            format!("probe: {what} within {bound:?}"),
        )),
    }
}

// ---- values ---------------------------------------------------------------------------------

/// (year, month, day) of a day count relative to 1970-01-01 (H. Hinnant's civil_from_days).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const DAYS_1900: i64 = -25_567; // 1900-01-01 relative to 1970-01-01
const DAYS_0001: i64 = -719_162; // 0001-01-01

fn ymd(days_since_1970: i64) -> String {
    let (y, m, d) = civil(days_since_1970);
    format!("{y:04}-{m:02}-{d:02}")
}

/// HH:MM:SS plus `digits` fraction digits of `frac` (a count of 10^-digits seconds).
fn hms(secs: u64, frac: u64, digits: u32) -> String {
    let s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if digits == 0 {
        s
    } else {
        format!("{s}.{frac:0w$}", w = digits as usize)
    }
}

fn time_of(t: tiberius::time::Time) -> (u64, u64, u32) {
    let scale = u32::from(t.scale());
    let unit = 10u64.pow(scale);
    (t.increments() / unit, t.increments() % unit, scale)
}

/// A column as JSON (numbers, booleans, strings; dates as ISO 8601 text; binary as 0xHEX).
fn json_of(c: &ColumnData<'_>) -> Value {
    match c {
        ColumnData::U8(v) => json!(v),
        ColumnData::I16(v) => json!(v),
        ColumnData::I32(v) => json!(v),
        ColumnData::I64(v) => json!(v),
        ColumnData::F32(v) => json!(v),
        ColumnData::F64(v) => json!(v),
        ColumnData::Bit(v) => json!(v),
        ColumnData::String(v) => json!(v.as_deref()),
        ColumnData::Guid(v) => json!(v.map(|g| g.to_string().to_uppercase())),
        ColumnData::Binary(v) => json!(v.as_ref().map(|b| {
            let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
            format!("0x{hex}")
        })),
        ColumnData::Numeric(v) => json!(v.map(|n| n.to_string())),
        ColumnData::Xml(v) => json!(v.as_ref().map(|x| x.to_string())),
        ColumnData::DateTime(v) => json!(v.map(|d| {
            let ms = (u64::from(d.seconds_fragments()) * 10 + 1) / 3; // 1/300 s -> ms, rounded
            format!(
                "{}T{}",
                ymd(DAYS_1900 + i64::from(d.days())),
                hms(ms / 1000, ms % 1000, 3)
            )
        })),
        ColumnData::SmallDateTime(v) => json!(v.map(|d| {
            let mins = u64::from(d.seconds_fragments());
            format!(
                "{}T{}",
                ymd(DAYS_1900 + i64::from(d.days())),
                hms(mins * 60, 0, 0)
            )
        })),
        ColumnData::Time(v) => json!(v.map(|t| {
            let (s, f, d) = time_of(t);
            hms(s, f, d)
        })),
        ColumnData::Date(v) => json!(v.map(|d| ymd(DAYS_0001 + i64::from(d.days())))),
        ColumnData::DateTime2(v) => json!(v.map(|dt| {
            let (s, f, d) = time_of(dt.time());
            format!(
                "{}T{}",
                ymd(DAYS_0001 + i64::from(dt.date().days())),
                hms(s, f, d)
            )
        })),
        ColumnData::DateTimeOffset(v) => json!(v.map(|dto| {
            // TDS carries the UTC time and the offset in minutes; show the local time.
            let dt = dto.datetime2();
            let (s, f, d) = time_of(dt.time());
            let off = i64::from(dto.offset());
            let local = i64::from(dt.date().days()) * 86_400 + s as i64 + off * 60;
            let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400) as u64);
            let sign = if off < 0 { '-' } else { '+' };
            format!(
                "{}T{}{sign}{:02}:{:02}",
                ymd(DAYS_0001 + days),
                hms(secs, f, d),
                off.abs() / 60,
                off.abs() % 60
            )
        })),
    }
}

fn first_column(row: &Option<Row>) -> Value {
    row.as_ref()
        .and_then(|r| r.cells().next())
        .map(|(_, c)| json_of(c))
        .unwrap_or(Value::Null)
}

/// Every column of the row as a string (null stays null).
fn row_as_strings(row: &Option<Row>) -> Value {
    match row {
        None => Value::Null,
        Some(r) => Value::Array(
            r.cells()
                .map(|(_, c)| match json_of(c) {
                    Value::Null => Value::Null,
                    Value::String(s) => Value::String(s),
                    other => Value::String(other.to_string()),
                })
                .collect(),
        ),
    }
}

// ---- the connection -------------------------------------------------------------------------

/// How one statement is sent.
enum Sql<'a> {
    /// Client::simple_query: a SQL batch.
    Batch(&'a str),
    /// Client::query with one int parameter: the RPC sp_executesql.
    WithIntParam(&'a str, i32),
}

/// Runs one statement, bounded; the first row of the first result set that has rows.
/// into_results() reads the whole response, so a server ERROR anywhere in it is reported.
async fn run_sql(
    client: &mut Conn,
    sql: &Sql<'_>,
    bound: Duration,
) -> Result<Option<Row>, Failure> {
    let work = async {
        let stream = match sql {
            Sql::Batch(text) => client.simple_query(*text).await?,
            Sql::WithIntParam(text, p) => client.query(*text, &[p as &dyn tiberius::ToSql]).await?,
        };
        let results = stream.into_results().await?;
        Ok(results.into_iter().flatten().next())
    };
    guarded(bound, "tiberius had not answered", work).await
}

fn config_of(o: &Opts) -> Config {
    let mut c = Config::new();
    c.host(&o.host);
    c.port(o.port);
    c.authentication(AuthMethod::sql_server(&o.user, &o.password));
    c.application_name(format!("tlslab-probe-{DRIVER}"));
    if let Some(level) = o.encrypt {
        c.encryption(level);
    }
    // tiberius panics when both are set (they are mutually exclusive there): that panic is
    // the driver's answer to the combination and is reported as such.
    if o.trust {
        c.trust_cert();
    }
    if let Some(ca) = &o.ca {
        c.trust_cert_ca(ca);
    }
    c
}

/// The JSON line being built; filled as the attempt goes, so a panic keeps what was known.
struct Outcome {
    connected: bool,
    value: Value,
    failure: Option<Failure>,
    session: Option<Vec<Value>>,
}

const SYSTEM_SQL: &str = "SELECT @@SPID, DB_NAME(), SUSER_SNAME(), \
                          SERVERPROPERTY('ProductVersion'), @@VERSION, GETDATE()";

/// The --session script (probes/README.md), in tiberius's API.
const STEPS: &[(&str, Sql<'static>, &str)] = &[
    (
        "begin",
        Sql::Batch("BEGIN TRAN"),
        "simple_query (tiberius has no transaction API)",
    ),
    (
        "trancount",
        Sql::Batch("SELECT @@TRANCOUNT"),
        "simple_query",
    ),
    ("system", Sql::Batch(SYSTEM_SQL), "simple_query"),
    (
        "param",
        Sql::WithIntParam("SELECT @P1", 42),
        "query with &[&42i32] (RPC sp_executesql)",
    ),
    (
        "commit",
        Sql::Batch("COMMIT"),
        "simple_query (tiberius has no transaction API)",
    ),
    (
        "trancount_after",
        Sql::Batch("SELECT @@TRANCOUNT"),
        "simple_query",
    ),
    (
        "error",
        Sql::Batch("SELECT * FROM tlslab_no_such_table"),
        "simple_query",
    ),
    ("again", Sql::Batch("SELECT 1"), "simple_query"),
];

fn step_json(name: &str, api: &str, r: &Result<Option<Row>, Failure>) -> Value {
    let mut s = Map::new();
    s.insert("step".into(), json!(name));
    match r {
        Ok(row) => {
            s.insert("ok".into(), json!(true));
            s.insert("value".into(), first_column(row));
            s.insert("error_code".into(), Value::Null);
            s.insert("error".into(), Value::Null);
            if name == "system" {
                s.insert("row".into(), row_as_strings(row));
            }
        }
        Err(f) => {
            s.insert("ok".into(), json!(false));
            s.insert("value".into(), Value::Null);
            s.insert("error_code".into(), f.code.clone());
            s.insert("error".into(), json!(f.text));
            s.extend(f.extra.clone());
        }
    }
    s.insert("api".into(), json!(api));
    Value::Object(s)
}

async fn attempt(o: &Opts, out: &mut Outcome) {
    // Config's setters panic on some combinations (trust_cert with trust_cert_ca).
    let config = match panic::catch_unwind(|| config_of(o)) {
        Ok(c) => c,
        Err(_) => return out.failure = Some(panic_failure()),
    };
    let login = async {
        let tcp = TcpStream::connect((o.host.as_str(), o.port)).await?;
        tcp.set_nodelay(true)?;
        Ok(Client::connect(config, tcp.compat_write()).await?)
    };
    let what = "no login (connect + PRELOGIN + TLS + LOGIN7)";
    let mut client = match guarded(o.timeout, what, login).await {
        Ok(c) => c,
        Err(f) => return out.failure = Some(f),
    };
    out.connected = true;

    // After a timeout the connection is abandoned: tiberius cannot cancel (no Attention), so
    // the late answer would be read as the next statement's. The remaining steps then fail at
    // once, which also keeps the whole probe within a few --timeout.
    let mut abandoned: Option<String> = None;
    match run_sql(&mut client, &Sql::Batch(&o.query), o.timeout).await {
        Ok(row) => out.value = first_column(&row),
        Err(f) => {
            if f.code == json!("Timeout") {
                abandoned = Some("the query".into());
            }
            out.failure = Some(f)
        }
    }

    if o.session {
        let steps = out.session.insert(Vec::new());
        for (name, sql, api) in STEPS {
            let r = match &abandoned {
                Some(what) => Err(Failure::probe(
                    "Timeout",
                    format!("probe: not run: the connection was abandoned after {what} timed out"),
                )),
                None => run_sql(&mut client, sql, o.timeout).await,
            };
            if abandoned.is_none() && matches!(&r, Err(f) if f.code == json!("Timeout")) {
                abandoned = Some(format!("step {name}"));
            }
            steps.push(step_json(name, api, &r));
        }
    }
    if abandoned.is_some() {
        return; // no goodbye on a connection in an unknown state
    }
    // A clean goodbye (TLS close_notify, FIN), bounded; its outcome changes nothing.
    let _ = tokio::time::timeout(Duration::from_secs(2).min(o.timeout), client.close()).await;
}

fn main() {
    let o = parse_args();
    panic::set_hook(Box::new(|info| {
        let msg = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".into()),
        };
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("probe({DRIVER}): tiberius panicked{at}: {msg}");
        *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg);
    }));

    let started = Instant::now();
    let mut out = Outcome {
        connected: false,
        value: Value::Null,
        failure: None,
        session: None,
    };
    let ran = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(attempt(&o, &mut out)))));
    match ran {
        Err(e) => {
            out.failure = Some(Failure::probe(
                "Runtime",
                format!("probe: cannot start tokio: {e}"),
            ))
        }
        Ok(Err(_)) => {
            // A panic outside the guarded futures (a safety net: should not happen).
            let f = panic_failure();
            if o.session && out.connected {
                let steps = out.session.get_or_insert_with(Vec::new);
                for (name, _, api) in &STEPS[steps.len()..] {
                    let again = Failure::probe("Panic", f.text.clone());
                    steps.push(step_json(name, api, &Err(again)));
                }
            }
            if out.failure.is_none() {
                out.failure = Some(f);
            }
        }
        Ok(Ok(())) => {}
    }

    let mut line = Map::new();
    line.insert("driver".into(), json!(DRIVER));
    line.insert("version".into(), json!(VERSION));
    line.insert("connected".into(), json!(out.connected));
    match &out.failure {
        Some(f) => {
            line.insert("error_code".into(), f.code.clone());
            line.insert("error".into(), json!(f.text));
        }
        None => {
            line.insert("error_code".into(), Value::Null);
            line.insert("error".into(), Value::Null);
        }
    }
    line.insert("value".into(), out.value);
    if let Some(f) = &out.failure {
        line.extend(f.extra.clone());
    }
    line.insert("tls_backend".into(), json!(TLS_BACKEND));
    line.insert(
        "elapsed_ms".into(),
        json!(started.elapsed().as_millis() as u64),
    );
    if let Some(steps) = out.session {
        line.insert("session".into(), Value::Array(steps));
    }
    println!("{}", Value::Object(line));
}
