'use strict';
// tlslab driver probe for tedious (see ../README.md for the contract).
// One connection attempt, one JSON line on stdout, exit 0; exit 2 on usage error.
// `--driver-version 14|19` (default 19) picks the installed tedious line:
// "tedious" is 19.x, "tedious14" is the npm alias for 14.x (see package.json).

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
  '             [--driver-version 19|14]';

function usage(msg) {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opts = {
  user: 'lab', password: 'lab-password', query: 'SELECT 1', timeout: 10,
  trust: false, driverVersion: '19',
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

const { Connection, Request } = require(pkgDir);

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

// Safety net: connect, query and query cancel are each bounded by the driver (timeoutMs);
// this only fires if the driver itself hangs.
const watchdogS = 3 * timeoutS + 2;
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
  connection.on('error', (e) => finish(e, { stage: connected ? 'query' : 'connect' }));
  connection.connect((err) => {
    if (err) { finish(err, { stage: 'connect' }); return; }
    connected = true;
    const request = new Request(opts.query, (qerr) => {
      const r = () => finish(qerr || null, qerr ? { stage: 'query' } : undefined);
      try { connection.once('end', r); connection.close(); } catch (e) { r(); }
      setTimeout(r, 1000).unref();
    });
    request.on('row', (columns) => {
      if (!gotRow) { gotRow = true; value = columns.length ? columns[0].value : null; }
    });
    // A plain SQL batch (TDS SQLBatch packet), not execSql's sp_executesql RPC: the contract's
    // --query is "the batch to run after login".
    connection.execSqlBatch(request);
  });
}
