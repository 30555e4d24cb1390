'use strict';
// tlslab MySQL probe for mysql2 (npm). Contract: the "MySQL probes" section of ../README.md.
// One run, one JSON line on stdout, exit 0; exit 2 on a usage error.
//
// mysql2.createConnection (promise API), --ssl-mode mapped to its `ssl` object:
//   DISABLED         no `ssl` (its default: no TLS at all)
//   PREFERRED        cannot be expressed: with `ssl` a server without CLIENT_SSL is refused
//                    (HANDSHAKE_NO_SSL_SUPPORT), without it there is no TLS: UNSUPPORTED_MODE
//   REQUIRED         ssl: { rejectUnauthorized: false }
//   VERIFY_CA        ssl: { rejectUnauthorized: true } (chain, dates, EKU; no name check: mysql2
//                    passes a no-op checkServerIdentity unless verifyIdentity)
//   VERIFY_IDENTITY  ssl: { rejectUnauthorized: true, verifyIdentity: true }
//   (not passed)     no `ssl`; with --ca, ssl: { ca } (the way a user gives a CA; rejectUnauthorized
//                    defaults to true)
// --ca adds ssl.ca = the file's PEM (it replaces Node's CA list) in every mode with `ssl`.
const fs = require('fs');
const path = require('path');

const T0 = process.hrtime.bigint();
const elapsedMs = () => Number((process.hrtime.bigint() - T0) / 1000000n);

// Only the final JSON line may reach stdout.
for (const m of ['log', 'info', 'debug', 'warn']) {
  console[m] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
}

const MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'];
const USAGE = 'usage: probe --host H --port P [--ca FILE] [--ssl-mode ' + MODES.join('|') + ']\n' +
  '             [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]';

function usage(msg) {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opts = { user: 'lab', password: 'lab-password', database: 'lab', query: 'SELECT 1', timeout: '10' };
const withValue = {
  '--host': 'host', '--port': 'port', '--ca': 'ca', '--ssl-mode': 'sslMode', '--user': 'user',
  '--password': 'password', '--database': 'database', '--query': 'query', '--timeout': 'timeout',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
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
if (opts.sslMode !== undefined && !MODES.includes(opts.sslMode)) usage(`bad --ssl-mode '${opts.sslMode}'`);
if (opts.ca !== undefined) {
  if (!fs.existsSync(opts.ca)) usage(`--ca: no such file: ${opts.ca}`);
  opts.ca = path.resolve(opts.ca);
}

// ---- output ------------------------------------------------------------------
let emitted = false;
function emit(result) {
  if (emitted) return;
  emitted = true;
  result.elapsed_ms = elapsedMs();
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

function toJson(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

// A watchdog per phase: timeout + 5 s, then the line says PROBE_TIMEOUT.
let dog = null;
function arm(result) {
  disarm();
  dog = setTimeout(() => {
    if (result.error_code === null) {
      result.error_code = 'PROBE_TIMEOUT';
      result.error = `probe watchdog: no answer from the driver after ${timeoutS + 5} s`;
    }
    emit(result);
  }, (timeoutS + 5) * 1000);
}
function disarm() { if (dog) { clearTimeout(dog); dog = null; } }

// The TLS facts from the client's own socket (a tls.TLSSocket when the session is encrypted).
function fromSocket(result, sock) {
  if (!sock) return false;
  result.ssl = Boolean(sock.encrypted);
  result.ssl_source = 'driver';
  if (result.ssl) {
    result.tls_version = sock.getProtocol ? sock.getProtocol() : null;
    const c = sock.getCipher ? sock.getCipher() : null;
    result.cipher = c ? (c.standardName || c.name) : null;
  }
  return true;
}

const mysqlVersion = JSON.parse(fs.readFileSync(require.resolve('mysql2/package.json'), 'utf8')).version;
const result = {
  driver: 'mysql2', version: mysqlVersion, connected: false, error_code: null, error: null, value: null,
  ssl: null, tls_version: null, cipher: null, ssl_mode: opts.sslMode || null, ssl_settings: null,
  node_version: process.version,
};

function sslOption() {
  const ca = opts.ca ? fs.readFileSync(opts.ca, 'utf8') : undefined;
  const withCa = (o) => (ca ? Object.assign(o, { ca }) : o);
  switch (opts.sslMode) {
    case 'DISABLED': return [undefined, {}];
    case 'PREFERRED': return [null, null];
    case 'REQUIRED': return [withCa({ rejectUnauthorized: false }), { rejectUnauthorized: false }];
    case 'VERIFY_CA': return [withCa({ rejectUnauthorized: true }), { rejectUnauthorized: true }];
    case 'VERIFY_IDENTITY':
      return [withCa({ rejectUnauthorized: true, verifyIdentity: true }), { rejectUnauthorized: true, verifyIdentity: true }];
    default: return ca ? [{ ca }, {}] : [undefined, {}];
  }
}

function errorFields(e) {
  result.error = e && e.message ? e.message : String(e);
  result.error_code = e && (e.errno || e.code) ? (e.errno || e.code) : (e && e.name) || 'Error';
  if (e && e.code) result.code = e.code;
  if (e && e.sqlState) result.sql_state = e.sqlState;
  if (e && e.cause && e.cause.message) result.cause = e.cause.message;
}

async function main() {
  const mysql = require('mysql2/promise');
  const [ssl, described] = sslOption();
  if (ssl === null) {
    result.ssl_settings = {};
    result.unsupported_mode = true;
    result.error_code = 'UNSUPPORTED_MODE';
    result.error = 'mysql2 has no PREFERRED: with `ssl` it refuses a server without TLS, without it there is no TLS; not run';
    return emit(result);
  }
  if (ssl === undefined) result.ssl_settings = { ssl: null };
  else result.ssl_settings = { ssl: Object.assign({}, described, opts.ca ? { ca: opts.ca } : {}) };
  const config = {
    host: opts.host, port, user: opts.user, password: opts.password, database: opts.database,
    connectTimeout: Math.round(timeoutS * 1000),
  };
  if (ssl !== undefined) config.ssl = ssl;
  let conn;
  arm(result);
  try {
    conn = await mysql.createConnection(config);
  } catch (e) {
    disarm();
    errorFields(e);
    return emit(result);
  }
  disarm();
  result.connected = true;
  result.server_version = (conn.connection._handshakePacket && conn.connection._handshakePacket.serverVersion) || null;
  fromSocket(result, conn.connection.stream);
  arm(result);
  if (opts.query) {
    try {
      const [rows] = await conn.query({ sql: opts.query, timeout: Math.round(timeoutS * 1000), rowsAsArray: true });
      result.value = Array.isArray(rows) && rows.length && Array.isArray(rows[0]) ? toJson(rows[0][0]) : null;
    } catch (e) {
      errorFields(e);
    }
  }
  disarm();
  emit(result);
  try { conn.destroy(); } catch (e) { /* ignore */ }
}

main().catch((e) => {
  result.error_code = result.error_code || 'PROBE_FAILURE';
  result.error = result.error || `probe failure: ${e && e.stack ? e.stack : e}`;
  emit(result);
});
