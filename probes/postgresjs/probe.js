'use strict';
// tlslab PostgreSQL probe for postgres.js (npm `postgres`). Contract: the PostgreSQL section of
// ../README.md. One run, one JSON line on stdout, exit 0; exit 2 on a usage error.
//
// postgres.js speaks the protocol itself (not node-pg, not libpq) over Node's net/tls. It is
// configured the way its README shows: one options object, postgres({ host, port, ..., ssl }).
// Its `ssl` option (src/connection.js secure(), src/index.js parseOptions()):
//   false                       no TLS (the default)
//   'require' 'allow' 'prefer'  TLS with rejectUnauthorized: false: nothing verified. Only
//                               'prefer' goes on in plaintext when the server answers 'N' to the
//                               SSLRequest; 'allow' is NOT libpq's allow (it is 'require').
//   any other string, or true   tls.connect with Node's defaults: chain (Node's CA list), dates
//   ('verify-full')             and host name verified
//   an object                   tls.connect options merged in: { ca } is how a CA is given
// --encrypt: disable -> false; allow, prefer, require -> the same word; verify-full -> the
// string 'verify-full', or { ca: <PEM> } with --ca. verify-ca cannot be expressed (postgres.js
// has no chain-only check: the string would mean full verification) and neither can a CA with
// allow/prefer/require (a string mode carries no CA): UNSUPPORTED_MODE, not run. --ca without
// --encrypt: ssl = { ca } (the only place a CA goes; TLS, verified). --ssl-negotiation goes to
// the `sslnegotiation` option ('direct': TLS at once, ALPN postgresql). --channel-binding:
// postgres.js has none (its SCRAM client sends the header "n,,", never SCRAM-SHA-256-PLUS):
// UNSUPPORTED_OPTION, not run.
//
// The connect phase is sql.reserve() (resolves once the login and the driver's own type query
// are done); then the connection is released to the pool (max: 1) and the queries run with
// sql.unsafe(text) (no parameters: simple protocol) and a tagged template (parameters:
// extended protocol). The TLS facts come from the driver's own socket: the probe wraps
// tls.connect to keep the TLSSocket postgres.js makes (the call and its options unchanged).

const fs = require('fs');
const path = require('path');
const tls = require('tls');

const T0 = process.hrtime.bigint();
const elapsedMs = () => Number((process.hrtime.bigint() - T0) / 1000000n);

// Only the final JSON line may reach stdout.
for (const m of ['log', 'info', 'debug', 'warn']) {
  console[m] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
}

const USAGE = 'usage: probe --host H --port P [--ca FILE] [--encrypt SSLMODE]\n' +
  '             [--channel-binding disable|prefer|require] [--ssl-negotiation postgres|direct]\n' +
  '             [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]\n' +
  '             [--session]\n' +
  '  SSLMODE: disable allow prefer require verify-ca verify-full (verify-ca: UNSUPPORTED_MODE)';

function usage(msg) {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opts = { user: 'lab', password: 'lab-password', database: 'lab', query: 'SELECT 1', timeout: '10',
  session: false };
const withValue = {
  '--host': 'host', '--port': 'port', '--ca': 'ca', '--encrypt': 'encrypt',
  '--channel-binding': 'channelBinding', '--ssl-negotiation': 'sslNegotiation',
  '--user': 'user', '--password': 'password', '--database': 'database', '--query': 'query',
  '--timeout': 'timeout',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--session') { opts.session = true; continue; }
  if (a === '-h' || a === '--help') { process.stderr.write(USAGE + '\n'); process.exit(0); }
  if (!(a in withValue)) usage(`unknown argument '${a}'`);
  if (i + 1 >= argv.length) usage(`${a} needs a value`);
  opts[withValue[a]] = argv[++i];
}
if (!opts.host) usage('--host is required');
if (!opts.port) usage('--port is required');
const port = Number(opts.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`bad --port '${opts.port}'`);
const timeoutS = Number(opts.timeout);
if (!(timeoutS > 0)) usage(`bad --timeout '${opts.timeout}'`);
const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
if (opts.encrypt !== undefined && !MODES.includes(opts.encrypt)) usage(`bad --encrypt '${opts.encrypt}'`);
if (opts.channelBinding !== undefined && !['disable', 'prefer', 'require'].includes(opts.channelBinding)) {
  usage(`bad --channel-binding '${opts.channelBinding}'`);
}
if (opts.sslNegotiation !== undefined && !['postgres', 'direct'].includes(opts.sslNegotiation)) {
  usage(`bad --ssl-negotiation '${opts.sslNegotiation}'`);
}
if (opts.ca !== undefined) {
  if (!fs.existsSync(opts.ca)) usage(`--ca: no such file: ${opts.ca}`);
  opts.ca = path.resolve(opts.ca);
}
const host = opts.host.replace(/^\[(.*)\]$/, '$1');

// ---- output ------------------------------------------------------------------
// (the package's "exports" do not list package.json: read it from the folder)
const version = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'postgres', 'package.json'), 'utf8')).version;
const result = {
  driver: 'postgresjs', version, connected: false, error_code: null, error: null, value: null,
  ssl: null, node_version: process.version, sslrootcert: opts.ca || null,
  ssl_mode: opts.encrypt || null, ssl_settings: {},
};
const warnings = [];
process.on('warning', (w) => warnings.push(w.message));

let emitted = false;
function emit() {
  if (emitted) return;
  emitted = true;
  if (warnings.length) result.warnings = warnings;
  result.elapsed_ms = elapsedMs();
  fs.writeSync(1, JSON.stringify(result) + '\n');
}
function finish() {
  emit();
  process.exit(0);
}

const SESSION = ['set', 'show', 'begin', 'param', 'commit', 'error', 'again'];
const notRun = (code, msg, names) => (names || SESSION).map((step) => (
  { step, ok: false, value: null, error_code: code, error: msg }));

function refuse(code, msg) {
  Object.assign(result, { error_code: code, error: msg });
  if (code === 'UNSUPPORTED_MODE') result.unsupported_mode = true;
  else result.unsupported = true;
  if (opts.session) result.session = notRun(code, 'not run: ' + msg);
  finish();
}

if (opts.channelBinding !== undefined) {
  refuse('UNSUPPORTED_OPTION', '--channel-binding: postgres.js has no channel binding (its SCRAM ' +
    'client sends the GS2 header "n,," and never uses SCRAM-SHA-256-PLUS); not run');
}

// ---- the ssl option --------------------------------------------------------------
let ssl; // undefined: not set (the driver's default, false)
let sslShown;
const mode = opts.encrypt;
if (mode === 'verify-ca') {
  refuse('UNSUPPORTED_MODE', "--encrypt verify-ca: postgres.js has no chain-only verification " +
    "(ssl: 'verify-ca' is an unknown string, taken as full verification with the host name); not run");
} else if (mode === 'disable') {
  ssl = false;
  sslShown = false;
} else if (['allow', 'prefer', 'require'].includes(mode)) {
  if (opts.ca !== undefined) {
    refuse('UNSUPPORTED_MODE', `--encrypt ${mode} with --ca: postgres.js's ssl: '${mode}' takes no ` +
      "CA (it verifies nothing); a CA goes only in a tls options object (ssl: { ca }), which " +
      'verifies the chain and the host name; not run');
  }
  ssl = mode;
  sslShown = mode;
} else if (opts.ca !== undefined) { // verify-full, or no --encrypt, with a CA
  ssl = { ca: fs.readFileSync(opts.ca, 'utf8') };
  sslShown = { ca: opts.ca };
} else if (mode === 'verify-full') {
  ssl = 'verify-full';
  sslShown = 'verify-full';
}
if (ssl !== undefined) result.ssl_settings.ssl = sslShown;
if (opts.sslNegotiation !== undefined) result.ssl_settings.sslnegotiation = opts.sslNegotiation;

// ---- the driver's TLS socket (observed, not changed) -----------------------------
let tlsSocket = null;
const tlsConnect = tls.connect;
tls.connect = function (...args) {
  const s = tlsConnect.apply(this, args);
  tlsSocket = s;
  const o = args[0] || {};
  result.tls_connect = { rejectUnauthorized: o.rejectUnauthorized === undefined ? null : o.rejectUnauthorized,
    servername: o.servername === undefined ? null : o.servername, ca: 'ca' in o,
    alpn: o.ALPNProtocols || null };
  return s;
};

function errorFields(e) {
  // SQLSTATE for the server's errors (PostgresError .code), else postgres.js's own code
  // (CONNECT_TIMEOUT, CONNECTION_CLOSED, ...) or Node's (DEPTH_ZERO_SELF_SIGNED_CERT,
  // ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID, ...), else null.
  const out = { error_code: e && e.code ? String(e.code) : null, error: e && e.message ? e.message : String(e) };
  if (e && e.name) out.error_type = e.name;
  return out;
}

// ---- bounds ------------------------------------------------------------------
let watchdog = null;
function arm(onExpire) {
  clearTimeout(watchdog);
  const s = timeoutS + 5;
  watchdog = setTimeout(() => {
    onExpire(`probe watchdog: no answer from the driver after ${s} s`);
    finish();
  }, s * 1000);
}
const disarm = () => clearTimeout(watchdog);

// ---- the run -----------------------------------------------------------------
const postgres = require('postgres');

function jsonValue(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return '\\x' + v.toString('hex');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
const firstValue = (rows) => (rows && rows.length && rows[0].length ? jsonValue(rows[0][0]) : null);

async function main() {
  const config = {
    host, port, database: opts.database, username: opts.user, password: opts.password,
    max: 1, connect_timeout: timeoutS, idle_timeout: 0,
    onnotice: () => {},
  };
  if (ssl !== undefined) config.ssl = ssl;
  if (opts.sslNegotiation !== undefined) config.sslnegotiation = opts.sslNegotiation;

  arm((msg) => {
    Object.assign(result, { error_code: 'PROBE_TIMEOUT', error: msg });
    if (opts.session && !result.session) result.session = notRun('PROBE_TIMEOUT', 'not run: ' + msg);
  });
  let sql;
  try {
    sql = postgres(config);
    const reserved = await sql.reserve();
    reserved.release();
  } catch (e) {
    disarm();
    Object.assign(result, errorFields(e));
    if (opts.session) result.session = notRun(result.error_code, 'not run: no connection');
    finish();
    return;
  }
  disarm();
  result.connected = true;
  result.ssl = tlsSocket !== null && tlsSocket.encrypted === true && !tlsSocket.destroyed;
  if (result.ssl) {
    result.tls_version = tlsSocket.getProtocol();
    result.alpn = tlsSocket.alpnProtocol || null;
  }

  if (opts.query) {
    arm((msg) => Object.assign(result, { error_code: 'PROBE_TIMEOUT', error: msg }));
    try {
      result.value = firstValue(await sql.unsafe(opts.query).values());
    } catch (e) {
      Object.assign(result, errorFields(e));
    }
    disarm();
  }

  if (opts.session) await session(sql);
  emit();
  arm(() => {});
  try { await sql.end({ timeout: 1 }); } catch (e) { /* the line is out already */ }
  finish();
}

async function session(sql) {
  const steps = [];
  result.session = steps;
  // begin/commit: sql.begin(fn) sends BEGIN, runs fn with the transaction's sql, and sends
  // COMMIT when fn's promise resolves. The probe holds fn open across the begin, param and
  // commit steps.
  let tx = null; let release = null; let txDone = null; let entered = null;
  const run = {
    set: async () => firstValue(await sql.unsafe("SET application_name = 'tlslab-probe'").values()),
    show: async () => firstValue(await sql.unsafe('SHOW application_name').values()),
    begin: async () => {
      const gate = new Promise((r) => { release = r; });
      entered = new Promise((resolve, reject) => {
        txDone = sql.begin(async (t) => { tx = t; resolve(); await gate; });
        txDone.catch(reject);
      });
      await entered;
      return null;
    },
    param: async () => {
      if (!tx) throw new Error('no transaction');
      return firstValue(await tx`SELECT ${42}::int`.values());
    },
    commit: async () => {
      if (!release) throw new Error('no transaction');
      release();
      await txDone;
      return null;
    },
    error: async () => firstValue(await sql.unsafe('SELECT * FROM tlslab_no_such_table').values()),
    again: async () => firstValue(await sql.unsafe('SELECT 1').values()),
  };
  for (const name of SESSION) {
    const step = { step: name, ok: false, value: null, error_code: null, error: null };
    steps.push(step);
    arm((msg) => {
      Object.assign(step, { error_code: 'PROBE_TIMEOUT', error: msg });
      steps.push(...notRun('PROBE_TIMEOUT', `not run: step '${name}' did not finish`,
        SESSION.slice(SESSION.indexOf(name) + 1)));
    });
    const t = elapsedMs();
    try {
      step.value = await run[name]();
      step.ok = true;
    } catch (e) {
      Object.assign(step, errorFields(e));
    }
    if (name === 'param') step.protocol = 'extended';
    step.elapsed_ms = elapsedMs() - t;
    disarm();
  }
}

process.on('unhandledRejection', (e) => { result.late_error = errorFields(e); });
process.on('uncaughtException', (e) => {
  if (!emitted) Object.assign(result, { error_code: result.error_code || 'PROBE_ERROR', error: result.error || `probe failure: ${e && e.stack ? e.stack : e}` });
  finish();
});
main();
