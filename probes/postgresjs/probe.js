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
const common = require('../pg-node/common.js');

const { jsonValue, notRun } = common;

// ---- arguments -------------------------------------------------------------
const USAGE = 'usage: probe --host H --port P [--ca FILE] [--encrypt SSLMODE]\n' +
  '             [--channel-binding disable|prefer|require] [--ssl-negotiation postgres|direct]\n' +
  '             [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]\n' +
  '             [--session]\n' +
  '  SSLMODE: disable allow prefer require verify-ca verify-full (verify-ca: UNSUPPORTED_MODE)';
const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const { opts, port, timeoutS } = common.parseOptions({
  usage: USAGE,
  checkEncrypt: (word) => (MODES.includes(word) ? null : `bad --encrypt '${word}'`),
});
const host = opts.host.replace(/^\[(.*)\]$/, '$1');

// ---- output ------------------------------------------------------------------
// (the package's "exports" do not list package.json: read it from the folder)
const version = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'postgres', 'package.json'), 'utf8')).version;
const result = {
  driver: 'postgresjs', version, connected: false, error_code: null, error: null, value: null,
  ssl: null, node_version: process.version, sslrootcert: opts.ca || null,
  ssl_mode: opts.encrypt || null, ssl_settings: {},
};
const { emit, finish } = common.output(result);

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
const dog = common.watchdog(timeoutS, finish);
const { arm, disarm } = dog;

// ---- the run -----------------------------------------------------------------
const postgres = require('postgres');

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
  await common.runSession(result, (name) => run[name](), errorFields, dog);
}

process.on('unhandledRejection', (e) => { result.late_error = errorFields(e); });
main();
