'use strict';
// tlslab PostgreSQL probe for node-postgres (npm `pg`). Contract: the PostgreSQL section of
// ../README.md. One run, one JSON line on stdout, exit 0; exit 2 on a usage error.
//
// Configured the way an application usually configures it: one connection string,
//   postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=..&sslrootcert=..&sslnegotiation=..
// parsed by the driver's own pg-connection-string. Its sslmode words are NOT libpq's: prefer,
// require and verify-ca are aliases of verify-full (it warns), no-verify is TLS without any
// check, disable is no TLS, and no sslmode at all (and no sslrootcert) is no TLS either: the
// driver's default is ssl: false. With --uselibpqcompat (uselibpqcompat=true) the words take
// libpq's meaning (prefer/require: no check; verify-ca: chain only). sslrootcert=FILE (--ca) is
// read by pg-connection-string into ssl.ca, which replaces Node's CA list.
// --channel-binding maps to the Client option enableChannelBinding (false: disable, true:
// prefer); node-pg has no "require" (UNSUPPORTED_OPTION).
// A pg.Client (no pool), autocommit as the driver always is; queries with client.query.
//
// `--driver-version 8.23|8.0` (default 8.23) picks the installed pg line: 8.23.1 (`pg`) or
// 8.0.3 (the npm alias `pg8-0`, with its own pg-connection-string 0.1.3). pg 8.0.3 is the
// oldest pg that runs on Node 14+ (7.x hangs in connect); its connection-string parser knows
// only `ssl=true|1`: sslmode and sslrootcert are ignored, so every connection string of this
// probe opens a plaintext connection unless the server refuses one. sslrootcert is read since
// pg-connection-string 2.2 (pg 8.1.0), sslmode since 2.4.0 (pg 8.4.0).

const fs = require('fs');
const net = require('net');
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
  '             [--session] [--uselibpqcompat] [--driver-version 8.23|8.0]\n' +
  '  SSLMODE (pg-connection-string): disable prefer require verify-ca verify-full no-verify';

function usage(msg) {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opts = { user: 'lab', password: 'lab-password', database: 'lab', query: 'SELECT 1', timeout: '10',
  session: false, uselibpqcompat: false, driverVersion: '8.23' };
const withValue = {
  '--host': 'host', '--port': 'port', '--ca': 'ca', '--encrypt': 'encrypt',
  '--channel-binding': 'channelBinding', '--ssl-negotiation': 'sslNegotiation',
  '--user': 'user', '--password': 'password', '--database': 'database', '--query': 'query',
  '--timeout': 'timeout', '--driver-version': 'driverVersion',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--session') { opts.session = true; continue; }
  if (a === '--uselibpqcompat') { opts.uselibpqcompat = true; continue; }
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
if (opts.encrypt !== undefined && !/^[A-Za-z0-9_-]+$/.test(opts.encrypt)) usage('--encrypt must be one word');
if (opts.channelBinding !== undefined && !['disable', 'prefer', 'require'].includes(opts.channelBinding)) {
  usage(`bad --channel-binding '${opts.channelBinding}'`);
}
if (opts.sslNegotiation !== undefined && !['postgres', 'direct'].includes(opts.sslNegotiation)) {
  usage(`bad --ssl-negotiation '${opts.sslNegotiation}'`);
}
// the installed pg lines (package.json: "pg" and the alias "pg8-0")
const pgPackage = { '8.23': 'pg', '8.0': 'pg8-0' }[opts.driverVersion];
if (!pgPackage) usage(`bad --driver-version '${opts.driverVersion}' (8.23|8.0)`);
if (opts.ca !== undefined) {
  if (!fs.existsSync(opts.ca)) usage(`--ca: no such file: ${opts.ca}`);
  opts.ca = path.resolve(opts.ca);
}

// ---- output ------------------------------------------------------------------
const pgVersion = JSON.parse(fs.readFileSync(require.resolve(`${pgPackage}/package.json`), 'utf8')).version;
const result = {
  driver: 'node-pg', version: pgVersion, connected: false, error_code: null, error: null,
  value: null, ssl: null, node_version: process.version, sslrootcert: opts.ca || null,
  driver_version_line: opts.driverVersion,
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

const SESSION = [
  ['set', "SET application_name = 'tlslab-probe'"],
  ['show', 'SHOW application_name'],
  ['begin', 'BEGIN'],
  ['param', 'SELECT $1::int'],
  ['commit', 'COMMIT'],
  ['error', 'SELECT * FROM tlslab_no_such_table'],
  ['again', 'SELECT 1'],
];
const notRun = (code, msg, names) => (names || SESSION.map((s) => s[0])).map((step) => (
  { step, ok: false, value: null, error_code: code, error: msg }));

function errorFields(e) {
  // SQLSTATE for the server's errors (DatabaseError .code), else Node's own code
  // (DEPTH_ZERO_SELF_SIGNED_CERT, ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID, ...), else null.
  const out = { error_code: e && e.code ? e.code : null, error: e && e.message ? e.message : String(e) };
  if (e && e.constructor && e.constructor.name) out.error_type = e.constructor.name;
  return out;
}

if (opts.channelBinding === 'require') {
  Object.assign(result, {
    error_code: 'UNSUPPORTED_OPTION', unsupported: true,
    error: '--channel-binding require: node-pg has only enableChannelBinding true/false (use ' +
      'SCRAM-SHA-256-PLUS when the server offers it), no way to require it; not run',
  });
  if (opts.session) result.session = notRun('UNSUPPORTED_OPTION', 'not run: ' + result.error);
  finish();
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
const { Client } = require(pgPackage);

function connectionString() {
  const host = net.isIPv6(opts.host.replace(/^\[(.*)\]$/, '$1')) ? `[${opts.host.replace(/^\[(.*)\]$/, '$1')}]` : opts.host;
  const q = new URLSearchParams();
  if (opts.encrypt !== undefined) q.set('sslmode', opts.encrypt);
  if (opts.ca !== undefined) q.set('sslrootcert', opts.ca);
  if (opts.sslNegotiation !== undefined) q.set('sslnegotiation', opts.sslNegotiation);
  if (opts.uselibpqcompat) q.set('uselibpqcompat', 'true');
  const qs = q.toString();
  return `postgres://${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password)}@${host}:${port}/` +
    `${encodeURIComponent(opts.database)}${qs ? '?' + qs : ''}`;
}

async function main() {
  const config = {
    connectionString: connectionString(),
    connectionTimeoutMillis: Math.round(timeoutS * 1000),
    query_timeout: Math.round(timeoutS * 1000), // client side: rejects a query with no answer
  };
  if (opts.channelBinding !== undefined) config.enableChannelBinding = opts.channelBinding === 'prefer';

  arm((msg) => {
    Object.assign(result, { error_code: 'PROBE_TIMEOUT', error: msg });
    if (opts.session && !result.session) result.session = notRun('PROBE_TIMEOUT', 'not run: ' + msg);
  });
  let client;
  try {
    client = new Client(config);
    // An error after connect (the server closing the socket) must not crash the probe.
    client.on('error', (e) => { result.late_error = errorFields(e); });
    await client.connect();
  } catch (e) {
    disarm();
    Object.assign(result, errorFields(e));
    if (opts.session) result.session = notRun(result.error_code, 'not run: no connection');
    finish();
    return;
  }
  disarm();
  result.connected = true;
  const stream = client.connection.stream;
  result.ssl = stream instanceof tls.TLSSocket && stream.encrypted === true;
  if (result.ssl) {
    result.tls_version = stream.getProtocol();
    result.alpn = stream.alpnProtocol || null;
  }

  const first = async (text, values) => {
    const r = await client.query({ text, values, rowMode: 'array' });
    const res = Array.isArray(r) ? r.find((x) => x.rows && x.rows.length) || r[0] : r;
    return res && res.rows && res.rows.length ? jsonValue(res.rows[0][0]) : null;
  };

  if (opts.query) {
    arm((msg) => Object.assign(result, { error_code: 'PROBE_TIMEOUT', error: msg }));
    try {
      result.value = await first(opts.query);
    } catch (e) {
      Object.assign(result, errorFields(e));
    }
    disarm();
  }

  if (opts.session) {
    const steps = [];
    result.session = steps;
    for (const [name, sql] of SESSION) {
      const step = { step: name, ok: false, value: null, error_code: null, error: null };
      steps.push(step);
      arm((msg) => {
        Object.assign(step, { error_code: 'PROBE_TIMEOUT', error: msg });
        const rest = SESSION.map((s) => s[0]).slice(SESSION.findIndex((s) => s[0] === name) + 1);
        steps.push(...notRun('PROBE_TIMEOUT', `not run: step '${name}' did not finish`, rest));
      });
      const t = elapsedMs();
      try {
        // begin/commit: node-pg has no transaction API; its documented way is query('BEGIN').
        // param: a query with values goes out as Parse/Bind/Execute (extended protocol).
        step.value = name === 'param' ? await first(sql, [42]) : await first(sql);
        step.ok = true;
      } catch (e) {
        Object.assign(step, errorFields(e));
      }
      if (name === 'param') step.protocol = 'extended';
      step.elapsed_ms = elapsedMs() - t;
      disarm();
    }
  }
  emit();
  arm(() => {});
  try { await client.end(); } catch (e) { /* the line is out already */ }
  finish();
}

function jsonValue(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return '\\x' + v.toString('hex');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

process.on('uncaughtException', (e) => {
  if (!emitted) Object.assign(result, { error_code: result.error_code || 'PROBE_ERROR', error: result.error || `probe failure: ${e && e.stack ? e.stack : e}` });
  finish();
});
main();
