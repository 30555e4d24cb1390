'use strict';
// tlslab driver probe for tedious (see ../README.md for the contract).
// One connection attempt, one JSON line on stdout, exit 0; exit 2 on usage error.
// `--driver-version 14|19` (default 19) picks the installed tedious line:
// "tedious" is 19.x, "tedious14" is the npm alias for 14.x (see package.json).
// `--session`: after --query, the session script of ../README.md, the way a tedious
// application holds a session: connection.beginTransaction / commitTransaction (Transaction
// Manager requests), every query with connection.execSql (tedious' sp_executesql RPC), the
// parameter with request.addParameter('p1', TYPES.Int, 42). Adds the field `session`.
// `--no-trust-server-certificate`: sets trustServerCertificate false explicitly, the only way
// to make 14.x validate the certificate (its default is true); 19.x's default is false anyway.

const fs = require('fs');
const path = require('path');
const tls = require('tls');

// Nothing but the final JSON line may reach stdout: route console output to stderr.
for (const m of ['log', 'info', 'debug', 'warn']) {
  console[m] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
}

const USAGE = 'usage: probe --host H --port P [--ca FILE] [--encrypt true|false|strict]\n' +
  '             [--trust-server-certificate] [--host-name-in-certificate NAME]\n' +
  '             [--user U] [--password P] [--query SQL] [--timeout SECONDS]\n' +
  '             [--driver-version 19|14] [--session] [--no-trust-server-certificate]';

function usage(msg) {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opts = {
  user: 'lab', password: 'lab-password', query: 'SELECT 1', timeout: 10,
  trust: false, driverVersion: '19', session: false,
};
const withValue = {
  '--host': 'host', '--port': 'port', '--ca': 'ca', '--encrypt': 'encrypt',
  '--host-name-in-certificate': 'hostNameInCertificate', '--user': 'user',
  '--password': 'password', '--query': 'query', '--timeout': 'timeout',
  '--driver-version': 'driverVersion',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--trust-server-certificate') { opts.trust = true; continue; }
  if (a === '--session') { opts.session = true; continue; }
  if (a === '--no-trust-server-certificate') { opts.noTrust = true; continue; }
  if (a === '-h' || a === '--help') { process.stdout.write(USAGE + '\n'); process.exit(0); }
  if (!(a in withValue)) usage(`unknown argument '${a}'`);
  if (i + 1 >= argv.length) usage(`${a} needs a value`);
  opts[withValue[a]] = argv[++i];
}
if (opts.trust && opts.noTrust) {
  usage('--trust-server-certificate and --no-trust-server-certificate exclude each other');
}
if (!opts.host) usage('--host is required');
if (!opts.port) usage('--port is required');
const port = Number(opts.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`bad --port '${opts.port}'`);
const timeoutS = Number(opts.timeout);
if (!(timeoutS > 0)) usage(`bad --timeout '${opts.timeout}'`);
if (opts.encrypt !== undefined && !['true', 'false', 'strict'].includes(opts.encrypt)) {
  usage(`bad --encrypt '${opts.encrypt}' (tedious: true|false|strict)`);
}
const pkgName = { '19': 'tedious', '14': 'tedious14' }[opts.driverVersion];
if (!pkgName) usage(`bad --driver-version '${opts.driverVersion}' (19|14)`);
let caPem;
if (opts.ca !== undefined) {
  try { caPem = fs.readFileSync(opts.ca); } catch (e) { usage(`cannot read --ca file: ${e.message}`); }
}

// ---- driver ----------------------------------------------------------------
const pkgDir = path.join(__dirname, 'node_modules', pkgName);
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;

// Observe (never alter) every TLS socket the driver opens: records the negotiated protocol,
// cipher and ALPN, and the raw TLS error. 14.x drops the inner error (no err.cause), so this
// is the only way to report e.g. cause_code DEPTH_ZERO_SELF_SIGNED_CERT for it. Both lines
// call tls.connect through the module object at call time, so wrapping it here is enough.
let tlsInfo = null;
let tlsError = null;
const origTlsConnect = tls.connect;
tls.connect = function (...args) {
  const sock = origTlsConnect.apply(this, args);
  sock.once('secureConnect', () => { tlsInfo = describeTls(sock); });
  sock.once('error', (e) => { if (!tlsError) tlsError = e; });
  return sock;
};

const { Connection, Request, TYPES } = require(pkgDir);

const timeoutMs = Math.round(timeoutS * 1000);
const options = {
  port,
  connectTimeout: timeoutMs,
  requestTimeout: timeoutMs,
  cancelTimeout: timeoutMs, // after a request timeout tedious waits this long for the ATTENTION ack
};
// Only set what was asked for, so that the driver's own defaults show otherwise
// (they differ: 14.x encrypt=true + trustServerCertificate=true; 19.x encrypt=true +
// trustServerCertificate=false).
if (opts.encrypt !== undefined) {
  options.encrypt = opts.encrypt === 'strict' ? 'strict' : opts.encrypt === 'true';
}
if (caPem !== undefined) {
  // Passed to tls.createSecureContext: `ca` replaces Node's built-in root store.
  options.cryptoCredentialsDetails = { ca: [caPem] };
}
if (opts.trust) options.trustServerCertificate = true;
if (opts.noTrust) options.trustServerCertificate = false;
// 19.x uses serverName for SNI and the certificate name check; 14.x accepts the option but
// ignores it for TLS (it always verifies against config.server).
if (opts.hostNameInCertificate !== undefined) options.serverName = opts.hostNameInCertificate;

const config = {
  server: opts.host,
  authentication: { type: 'default', options: { userName: opts.user, password: opts.password } },
  options,
};

// ---- run -------------------------------------------------------------------
const started = Date.now();
let done = false;
let connected = false;
let value = null;
let gotRow = false;
let lastServerError = null; // last ERROR token (has .number, e.g. 18456) seen

function toJson(v) {
  if (v === undefined) return null;
  if (Buffer.isBuffer(v)) return '0x' + v.toString('hex');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function causeText(c) {
  if (!c) return undefined;
  if (c instanceof AggregateError && Array.isArray(c.errors) && c.errors.length) {
    return [c.message, ...c.errors.map((e) => e && e.message)].filter(Boolean).join('; ');
  }
  return c.message || String(c);
}

function finish(err, extra) {
  if (done) return;
  done = true;
  const out = {
    driver: 'tedious', version, connected, error_code: null, error: null, value: toJson(value),
  };
  if (err) {
    // 19.x chains the inner error as err.cause; 14.x does not, use the observed TLS error then.
    const cause = err.cause || (err.code === 'ESOCKET' ? tlsError : null);
    out.error = err.message || String(err);
    // Prefer the SQL Server error number when the failure came from an ERROR token
    // (login: ConnectionError ELOGIN; query: RequestError with .number).
    if (typeof err.number === 'number') out.error_code = err.number;
    else if (err.code === 'ELOGIN' && lastServerError && typeof lastServerError.number === 'number') {
      out.error_code = lastServerError.number;
    } else if (err.code !== undefined) out.error_code = err.code;
    else if (cause && cause.code !== undefined) out.error_code = cause.code;
    if (err.code !== undefined) out.code = err.code;
    if (err.name && err.name !== 'Error') out.error_type = err.name;
    if (cause) {
      out.cause = causeText(cause);
      if (cause.code !== undefined) out.cause_code = cause.code;
      // AggregateError (every resolved address failed): surface the first inner code.
      else if (cause instanceof AggregateError && cause.errors && cause.errors[0] && cause.errors[0].code) {
        out.cause_code = cause.errors[0].code;
      }
    }
  }
  if (tlsInfo) out.tls = tlsInfo;
  // A TLS-layer error the driver reported differently (or not at all), for the record.
  if (err && tlsError && out.cause !== causeText(tlsError)) {
    out.tls_error = tlsError.message;
    if (tlsError.code !== undefined) out.tls_error_code = tlsError.code;
  }
  Object.assign(out, extra || {});
  // --session: the steps run so far (null when the script never started: no login).
  if (opts.session) out.session = sessionSteps;
  out.elapsed_ms = Date.now() - started;
  out.driver_version_line = opts.driverVersion;
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

function describeTls(sock) {
  try {
    if (!sock || typeof sock.getProtocol !== 'function') return null;
    const c = sock.getCipher();
    return { protocol: sock.getProtocol(), cipher: c ? c.name : null, alpn: sock.alpnProtocol || null };
  } catch (e) { return null; }
}

// ---- the session script (../README.md, "--session") -------------------------
const SESSION_STEPS = ['begin', 'trancount', 'system', 'param', 'commit', 'trancount_after',
  'error', 'again'];
const SYSTEM_SQL = "SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), " +
  '@@VERSION, GETDATE()';
// A step is a request (bounded by requestTimeout), then perhaps its cancel (cancelTimeout).
const sessionStepLimitS = 2 * timeoutS + 2;
let sessionSteps = null; // the steps' results, once the script has started
let inSession = false; // while the script runs, a connection 'error' fails the steps instead
let sessionConnError = null; // the connection error seen during the script, if any
let sessionConnEnded = false; // the connection has ended (emitted 'end')

function asText(v) {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return '0x' + v.toString('hex');
  if (v instanceof Date) return isNaN(v) ? String(v) : v.toISOString();
  return String(v);
}

// One statement through execSql (an sp_executesql RPC, as tedious applications run their
// queries); cb(err, firstRow) with the first row as an array of column values.
function sessionQuery(text, params, cb) {
  let row = null;
  const request = new Request(text, (err) => cb(err, row));
  for (const [name, type, v] of params) request.addParameter(name, type, v);
  request.on('row', (columns) => { if (!row) row = columns.map((c) => c.value); });
  connection.execSql(request);
}

function runSession(done) {
  sessionSteps = [];
  inSession = true;
  const actions = {
    begin: (cb) => connection.beginTransaction((err) => cb(err, null)), // TM_BEGIN_XACT
    trancount: (cb) => sessionQuery('SELECT @@TRANCOUNT', [], cb),
    system: (cb) => sessionQuery(SYSTEM_SQL, [], cb),
    param: (cb) => sessionQuery('SELECT @p1', [['p1', TYPES.Int, 42]], cb),
    commit: (cb) => connection.commitTransaction((err) => cb(err, null)), // TM_COMMIT_XACT
    trancount_after: (cb) => sessionQuery('SELECT @@TRANCOUNT', [], cb),
    error: (cb) => sessionQuery('SELECT * FROM tlslab_no_such_table', [], cb),
    again: (cb) => sessionQuery('SELECT 1', [], cb),
  };
  let i = 0;
  const next = () => {
    if (i >= SESSION_STEPS.length) { inSession = false; done(); return; }
    const name = SESSION_STEPS[i++];
    const step = { step: name, ok: false, value: null, error_code: null, error: null };
    sessionSteps.push(step);
    const t = Date.now();
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      step.error = `probe watchdog: step '${name}' did not finish within ${sessionStepLimitS} s`;
      step.error_code = 'PROBE_TIMEOUT';
      step.elapsed_ms = Date.now() - t;
      for (const rest of SESSION_STEPS.slice(i)) {
        sessionSteps.push({ step: rest, ok: false, value: null, error_code: 'PROBE_TIMEOUT',
          error: `not run: step '${name}' did not finish` });
      }
      inSession = false;
      done();
    }, sessionStepLimitS * 1000);
    const cb = (err, row) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        step.error = err.message || String(err);
        // A server error (RequestError from an ERROR token) carries its number (e.g. 208);
        // otherwise tedious' own code (EINVALIDSTATE on a dead connection, ETIMEOUT, ...).
        if (typeof err.number === 'number') step.error_code = err.number;
        else if (err.code !== undefined) step.error_code = err.code;
        if (err.code !== undefined && err.code !== step.error_code) step.code = err.code;
        if (sessionConnError) step.cause = sessionConnError.message || String(sessionConnError);
      } else {
        step.ok = true;
        step.value = row && row.length ? toJson(row[0]) : null;
        if (name === 'system' && row) step.row = row.map(asText);
      }
      step.elapsed_ms = Date.now() - t;
      setImmediate(next);
    };
    try { actions[name](cb); } catch (e) { cb(e, null); }
  };
  next();
}

// Safety net: connect, query and query cancel are each bounded by the driver (timeoutMs);
// this only fires if the driver itself hangs.
// With --session each of its steps adds its own bound (sessionStepLimitS).
const watchdogS = 3 * timeoutS + 2 + (opts.session ? SESSION_STEPS.length * (sessionStepLimitS + 1) : 0);
setTimeout(() => finish(Object.assign(new Error(`probe watchdog: no result after ${watchdogS}s`),
  { code: 'ETIMEOUT' }), { stage: connected ? 'query' : 'connect' }), watchdogS * 1000).unref();

// Some driver failures escape as unhandled 'error' events (e.g. 14.x's token parser on a
// non-TLS answer to its TLS handshake: "Unknown type: 72"). Report them rather than crash.
process.on('uncaughtException', (e) => finish(e, { stage: connected ? 'query' : 'connect', uncaught: true }));
process.on('unhandledRejection', (e) => finish(e, { stage: connected ? 'query' : 'connect', uncaught: true }));

let connection;
try {
  connection = new Connection(config);
} catch (e) {
  // Config validation (e.g. 14.x refuses encrypt 'strict'): the driver's own message.
  finish(e, { stage: 'config' });
}

if (connection) {
  connection.on('errorMessage', (t) => { lastServerError = t; });
  // Errors after login (e.g. connection lost) are emitted as 'error'; never crash on them.
  connection.on('error', (e) => {
    // During --session the steps report it: each later request fails with tedious' own error.
    if (inSession) { if (!sessionConnError) sessionConnError = e; return; }
    finish(e, { stage: connected ? 'query' : 'connect' });
  });
  if (opts.session) connection.on('end', () => { sessionConnEnded = true; });
  connection.connect((err) => {
    if (err) { finish(err, { stage: 'connect' }); return; }
    connected = true;
    const request = new Request(opts.query, (qerr) => {
      const close = () => {
        const r = () => finish(qerr || null, qerr ? { stage: 'query' } : undefined);
        try { connection.once('end', r); connection.close(); } catch (e) { r(); }
        // After --session the connection may be gone already (no 'end' to come): keep the
        // process alive until the result is written.
        if (opts.session && sessionConnEnded) r();
        setTimeout(r, 1000)[opts.session ? 'ref' : 'unref']();
      };
      if (opts.session) runSession(close);
      else close();
    });
    request.on('row', (columns) => {
      if (!gotRow) { gotRow = true; value = columns.length ? columns[0].value : null; }
    });
    // A plain SQL batch (TDS SQLBatch packet), not execSql's sp_executesql RPC: the contract's
    // --query is "the batch to run after login".
    connection.execSqlBatch(request);
  });
}
