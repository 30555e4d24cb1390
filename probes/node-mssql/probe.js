'use strict';
// tlslab driver probe for node-mssql (the npm package `mssql`, over tedious). See ../README.md
// for the contract. One run, one JSON line on stdout, exit 0; exit 2 on a usage error.
//
// Used the way an application uses it: a ConnectionPool (mssql's defaults: it opens one test
// connection at connect() and closes it, then lends pooled connections, each checked with
// "SELECT 1;" before it is lent: validateConnection), requests with request.query() (tedious
// execSql: sp_executesql), transactions with sql.Transaction (tedious TM requests).
// `--query` runs as request.batch() (a plain SQL batch), as the contract asks.
//
// Extra options: --session (the session script of ../README.md) and
// --validate-connection true|false|socket (mssql's validateConnection; default: mssql's, true).

const fs = require('fs');
const path = require('path');
const tls = require('tls');

// Nothing but the final JSON line may reach stdout: route console output to stderr.
for (const m of ['log', 'info', 'debug', 'warn']) {
  console[m] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
}

const USAGE = 'usage: probe --host H --port P [--ca FILE] [--encrypt true|false|strict]\n' +
  '             [--trust-server-certificate] [--host-name-in-certificate NAME]\n' +
  '             [--user U] [--password P] [--query SQL] [--timeout SECONDS] [--session]\n' +
  '             [--validate-connection true|false|socket]';

function usage(msg) {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opts = { user: 'lab', password: 'lab-password', query: 'SELECT 1', timeout: '10', trust: false, session: false };
const withValue = {
  '--host': 'host', '--port': 'port', '--ca': 'ca', '--encrypt': 'encrypt',
  '--host-name-in-certificate': 'hostNameInCertificate', '--user': 'user',
  '--password': 'password', '--query': 'query', '--timeout': 'timeout',
  '--validate-connection': 'validateConnection',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--trust-server-certificate') { opts.trust = true; continue; }
  if (a === '--session') { opts.session = true; continue; }
  if (a === '-h' || a === '--help') { process.stdout.write(USAGE + '\n'); process.exit(0); }
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
if (opts.encrypt !== undefined && !['true', 'false', 'strict'].includes(opts.encrypt)) {
  usage(`bad --encrypt '${opts.encrypt}' (node-mssql: true|false|strict)`);
}
let validateConnection;
if (opts.validateConnection !== undefined) {
  validateConnection = { true: true, false: false, socket: 'socket' }[opts.validateConnection];
  if (validateConnection === undefined) usage(`bad --validate-connection '${opts.validateConnection}' (true|false|socket)`);
}
let caPem;
if (opts.ca !== undefined) {
  try { caPem = fs.readFileSync(opts.ca); } catch (e) { usage(`cannot read --ca file: ${e.message}`); }
}

// ---- driver ----------------------------------------------------------------
// Versions from the packages themselves: mssql, and the tedious that mssql really loads.
const mssqlDir = path.dirname(require.resolve('mssql/package.json'));
const tediousPkg = require.resolve('tedious/package.json', { paths: [mssqlDir] });
const mssqlVersion = JSON.parse(fs.readFileSync(path.join(mssqlDir, 'package.json'), 'utf8')).version;
const tediousVersion = JSON.parse(fs.readFileSync(tediousPkg, 'utf8')).version;
const version = `mssql ${mssqlVersion} / tedious ${tediousVersion}`;

// Observe (never alter) every TLS socket tedious opens: negotiated protocol, cipher and ALPN,
// and the raw TLS error (mssql wraps tedious' error, which chains the TLS one as .cause).
let tlsInfo = null;
let tlsError = null;
const origTlsConnect = tls.connect;
tls.connect = function (...args) {
  const sock = origTlsConnect.apply(this, args);
  sock.once('secureConnect', () => { tlsInfo = describeTls(sock); });
  sock.once('error', (e) => { if (!tlsError) tlsError = e; });
  return sock;
};

const sql = require('mssql');

const timeoutMs = Math.round(timeoutS * 1000);
const options = {
  cancelTimeout: timeoutMs, // after a request timeout tedious waits this long for the ATTENTION ack
  appName: 'tlslab-probe-node-mssql',
};
// Only set what was asked for, so that mssql's own defaults show otherwise (encrypt true,
// trustServerCertificate false: mssql sets both before it hands options to tedious).
if (opts.encrypt !== undefined) {
  options.encrypt = opts.encrypt === 'strict' ? 'strict' : opts.encrypt === 'true';
}
if (caPem !== undefined) {
  // mssql hands config.options to tedious as they are; tedious passes this to
  // tls.createSecureContext, where `ca` replaces Node's built-in root store.
  options.cryptoCredentialsDetails = { ca: [caPem] };
}
if (opts.trust) options.trustServerCertificate = true;
// tedious 19 uses serverName for SNI and for the certificate's host-name check.
if (opts.hostNameInCertificate !== undefined) options.serverName = opts.hostNameInCertificate;

const connections = []; // every tedious Connection the pool made, in order
let lastServerError = null; // last ERROR token (has .number, e.g. 18456) on any connection
const config = {
  server: opts.host.replace(/^\[(.*)\]$/, '$1'),
  port,
  user: opts.user,
  password: opts.password,
  connectionTimeout: timeoutMs,
  requestTimeout: timeoutMs,
  options,
  pool: {
    // tarn's defaults are 30 s; bound every wait for a pooled connection by --timeout.
    createTimeoutMillis: timeoutMs + 2000,
    acquireTimeoutMillis: timeoutMs + 4000,
  },
  // mssql's hook: called with each tedious Connection before it connects.
  beforeConnect: (conn) => {
    connections.push(conn);
    conn.on('errorMessage', (t) => { lastServerError = t; });
  },
};
if (validateConnection !== undefined) config.validateConnection = validateConnection;

// ---- results ---------------------------------------------------------------
const started = Date.now();
let finished = false;
const out = { driver: 'node-mssql', version, connected: false, error_code: null, error: null, value: null };

function toJson(v) {
  if (v === undefined) return null;
  if (Buffer.isBuffer(v)) return '0x' + v.toString('hex');
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return isNaN(v) ? null : v.toISOString();
  return v;
}

function asText(v) {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return '0x' + v.toString('hex');
  if (v instanceof Date) return isNaN(v) ? String(v) : v.toISOString();
  return String(v);
}

function causeText(c) {
  if (!c) return undefined;
  if (c instanceof AggregateError && Array.isArray(c.errors) && c.errors.length) {
    return [c.message, ...c.errors.map((e) => e && e.message)].filter(Boolean).join('; ');
  }
  return c.message || String(c);
}

// Contract error fields from an mssql error (ConnectionError, RequestError, TransactionError:
// each keeps tedious' error as .originalError, which chains the socket/TLS error as .cause).
function errorFields(err, { login = false } = {}) {
  const f = { error: (err && err.message) || String(err), error_code: null };
  const chain = [];
  for (let e = err; e && chain.length < 5; e = e.originalError || e.cause) chain.push(e);
  const numbered = chain.find((e) => typeof e.number === 'number' ||
    (e.info && typeof e.info.number === 'number'));
  if (numbered) {
    f.error_code = typeof numbered.number === 'number' ? numbered.number : numbered.info.number;
  } else if (login && err && err.code === 'ELOGIN' && lastServerError && typeof lastServerError.number === 'number') {
    f.error_code = lastServerError.number; // tedious' login error carries no number itself
  } else {
    const coded = chain.find((e) => e.code !== undefined);
    if (coded) f.error_code = coded.code;
  }
  if (err && err.code !== undefined) f.code = err.code;
  if (err && err.name && err.name !== 'Error') f.error_type = err.name;
  const tediousErr = err && err.originalError;
  const cause = (tediousErr && tediousErr.cause) || (err && err.code === 'ESOCKET' ? tlsError : null);
  if (cause && cause !== err) {
    f.cause = causeText(cause);
    if (cause.code !== undefined) f.cause_code = cause.code;
    else if (cause instanceof AggregateError && cause.errors && cause.errors[0] && cause.errors[0].code) {
      f.cause_code = cause.errors[0].code;
    }
  }
  return f;
}

function describeTls(sock) {
  try {
    if (!sock || typeof sock.getProtocol !== 'function') return null;
    const c = sock.getCipher();
    return { protocol: sock.getProtocol(), cipher: c ? c.name : null, alpn: sock.alpnProtocol || null };
  } catch (e) { return null; }
}

function firstValue(result) {
  // arrayRowMode: rows are arrays, so unnamed columns stay apart (object rows merge them).
  const rs = result && result.recordsets && result.recordsets[0];
  const row = rs && rs.length ? rs[0] : null;
  return { value: row && row.length ? toJson(row[0]) : null, row };
}

function finish(extra) {
  if (finished) return;
  finished = true;
  Object.assign(out, extra || {});
  if (tlsInfo) out.tls = tlsInfo;
  if (out.error && tlsError && out.cause !== causeText(tlsError)) {
    out.tls_error = tlsError.message;
    if (tlsError.code !== undefined) out.tls_error_code = tlsError.code;
  }
  out.connections_opened = connections.length; // tedious connections the pool opened (connect() opens a test one)
  out.elapsed_ms = Date.now() - started;
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

// Bounded step: the driver bounds connect and requests by --timeout; this only fires when
// something hangs past it (a pool waiting forever, a lost callback).
function bounded(promise, what) {
  let timer;
  const limit = timeoutMs + 6000;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(
        new Error(`probe watchdog: ${what} did not finish within ${limit / 1000} s`),
        { code: 'PROBE_TIMEOUT' })), limit);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Overall safety net: every step is bounded; this only fires if the probe itself is stuck.
const steps = 2 + (opts.session ? 8 : 0);
const watchdogS = steps * (timeoutS + 6) + 5;
setTimeout(() => finish({ error: out.error || `probe watchdog: no result after ${watchdogS} s`,
  error_code: out.error_code || 'PROBE_TIMEOUT' }), watchdogS * 1000).unref();

// Errors that escape as events must not crash the probe; report them if nothing else did.
process.on('uncaughtException', (e) => finish(Object.assign(errorFields(e), { uncaught: true })));
process.on('unhandledRejection', (e) => finish(Object.assign(errorFields(e), { uncaught: true })));

// ---- the session script (../README.md, "--session") -------------------------
const SYSTEM_SQL = "SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), " +
  '@@VERSION, GETDATE()';

async function runSession(pool) {
  const session = [];
  const tx = new sql.Transaction(pool);
  const request = (parent) => { const r = new sql.Request(parent); r.arrayRowMode = true; return r; };
  const query = async (parent, text) => firstValue(await request(parent).query(text));
  const stepsList = [
    ['begin', async () => { await tx.begin(); return { value: null }; }],
    ['trancount', () => query(tx, 'SELECT @@TRANCOUNT')],
    ['system', () => query(tx, SYSTEM_SQL)],
    ['param', async () => firstValue(await request(tx).input('p', sql.Int, 42).query('SELECT @p AS v'))],
    ['commit', async () => { await tx.commit(); return { value: null }; }],
    ['trancount_after', () => query(pool, 'SELECT @@TRANCOUNT')],
    ['error', () => query(pool, 'SELECT * FROM tlslab_no_such_table')],
    ['again', () => query(pool, 'SELECT 1')],
  ];
  for (const [name, run] of stepsList) {
    const step = { step: name, ok: false, value: null, error_code: null, error: null };
    const t = Date.now();
    try {
      const r = await bounded(run(), `step '${name}'`);
      step.ok = true;
      step.value = r.value;
      if (name === 'system' && r.row) step.row = r.row.map(asText);
    } catch (e) {
      const f = errorFields(e);
      step.error = f.error;
      step.error_code = f.error_code;
      if (f.code !== undefined && f.code !== f.error_code) step.code = f.code;
    }
    step.elapsed_ms = Date.now() - t;
    session.push(step);
  }
  return session;
}

// ---- run -------------------------------------------------------------------
async function main() {
  const pool = new sql.ConnectionPool(config);
  // The pool emits 'error' for failed acquires (it also rejects the caller): never crash on it.
  pool.on('error', (e) => { process.stderr.write(`probe: pool error: ${e && e.message}\n`); });
  const result = {};
  try {
    await bounded(pool.connect(), 'connect');
  } catch (e) {
    Object.assign(result, errorFields(e, { login: true }), { stage: 'connect' });
    if (opts.session) result.session = null;
    await closePool(pool);
    finish(result);
    return;
  }
  result.connected = true;
  if (opts.query) {
    try {
      const r = request(pool);
      result.value = firstValue(await bounded(r.batch(opts.query), 'query')).value;
    } catch (e) {
      Object.assign(result, errorFields(e), { stage: 'query' });
    }
  }
  if (opts.session) result.session = await runSession(pool);
  await closePool(pool);
  finish(result);
}

function request(parent) { const r = new sql.Request(parent); r.arrayRowMode = true; return r; }

async function closePool(pool) {
  try { await bounded(pool.close(), 'close'); } catch (e) { /* the result is what matters */ }
}

main().catch((e) => finish(Object.assign(errorFields(e), { stage: 'probe' })));
