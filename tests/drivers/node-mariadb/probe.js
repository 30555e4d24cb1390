'use strict';
// tlslab MySQL probe for the npm package mariadb (MariaDB Connector/Node.js). Contract: the
// "MySQL probes" section of ../README.md. One run, one JSON line on stdout, exit 0; exit 2 on a
// usage error.
//
// mariadb.createConnection, --ssl-mode mapped to its `ssl` option:
//   DISABLED         ssl: false
//   PREFERRED        cannot be expressed: with `ssl` a server without CLIENT_SSL is refused,
//                    without it there is no TLS: UNSUPPORTED_MODE
//   REQUIRED         ssl: { rejectUnauthorized: false }
//   VERIFY_CA        ssl: { rejectUnauthorized: true, checkServerIdentity: () => undefined }
//                    (the driver calls ssl.checkServerIdentity itself after the OK packet)
//   VERIFY_IDENTITY  ssl: true without --ca, ssl: { ca } with it (rejectUnauthorized defaults
//                    to true; the identity is checked)
//   (not passed)     no `ssl` (the driver's default: no TLS); with --ca, ssl: { ca }
// --ca adds ssl.ca = the file's PEM in every mode with an `ssl` object.
//
// Zero-configuration TLS (MariaDB 11.4.1+ servers): with rejectUnauthorized on (ssl: true or an
// object without rejectUnauthorized: false), a password, no ssl.ca and TCP, the driver lets the
// TLS handshake accept any certificate and checks, when the certificate was not verified, a
// hash in the OK packet bound to the certificate's fingerprint (see ../README.md). The line
// says `fingerprint_validation` (would the driver use it) and `self_signed` (was the certificate
// unverified) where the driver's connection info has them.
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

const drvVersion = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'mariadb', 'package.json'), 'utf8')).version;
const result = {
  driver: 'node-mariadb', version: drvVersion, connected: false, error_code: null, error: null, value: null,
  ssl: null, tls_version: null, cipher: null, ssl_mode: opts.sslMode || null, ssl_settings: null,
  node_version: process.version,
};

function sslOption() {
  const ca = opts.ca ? fs.readFileSync(opts.ca, 'utf8') : undefined;
  const withCa = (o) => (ca ? Object.assign(o, { ca }) : o);
  switch (opts.sslMode) {
    case 'DISABLED': return [false, { ssl: false }];
    case 'PREFERRED': return [null, null];
    case 'REQUIRED': return [withCa({ rejectUnauthorized: false }), { ssl: { rejectUnauthorized: false } }];
    case 'VERIFY_CA':
      return [withCa({ rejectUnauthorized: true, checkServerIdentity: () => undefined }),
        { ssl: { rejectUnauthorized: true, checkServerIdentity: 'no-op' } }];
    case 'VERIFY_IDENTITY': return ca ? [{ ca }, { ssl: {} }] : [true, { ssl: true }];
    default: return ca ? [{ ca }, { ssl: {} }] : [undefined, { ssl: null }];
  }
}

function errorFields(e) {
  result.error = e && e.text ? e.text : e && e.message ? e.message : String(e);
  if (e && e.message && e.message !== result.error) result.message = e.message;
  result.error_code = e && e.errno ? e.errno : (e && e.code) || (e && e.name) || 'Error';
  if (e && e.code) result.code = e.code;
  if (e && e.sqlState) result.sql_state = e.sqlState;
  if (e && e.cause && e.cause.message) result.cause = e.cause.message;
}

async function main() {
  const mariadb = require('mariadb');
  const [ssl, described] = sslOption();
  if (ssl === null) {
    result.ssl_settings = {};
    result.unsupported_mode = true;
    result.error_code = 'UNSUPPORTED_MODE';
    result.error = 'the mariadb connector has no PREFERRED: with `ssl` it refuses a server without TLS, without it there is no TLS; not run';
    return emit(result);
  }
  result.ssl_settings = described;
  if (opts.ca && described.ssl && typeof described.ssl === 'object') described.ssl.ca = opts.ca;
  const ms = Math.round(timeoutS * 1000);
  const config = {
    host: opts.host, port, user: opts.user, password: opts.password, database: opts.database,
    connectTimeout: ms, socketTimeout: ms + 2000,
  };
  // No queryTimeout in the connection options: the driver implements it with MariaDB's
  // SET STATEMENT max_statement_time (10.1.1+) and refuses a MySQL server outright (45038
  // "Can only use queryTimeout for MariaDB server after 10.1.1"). Queries get a per-query
  // timeout only when the server is MariaDB; socketTimeout and the watchdog bound the rest.
  if (ssl !== undefined) config.ssl = ssl;
  let conn;
  arm(result);
  try {
    conn = await mariadb.createConnection(config);
  } catch (e) {
    disarm();
    errorFields(e);
    return emit(result);
  }
  disarm();
  result.connected = true;
  const info = conn.info || {};
  result.server_version = info.serverVersion ? info.serverVersion.raw : null;
  if (info.useFingerprintValidation !== undefined) result.fingerprint_validation = Boolean(info.useFingerprintValidation);
  if (info.selfSignedCertificate !== undefined) result.self_signed = Boolean(info.selfSignedCertificate);
  let sock = null;
  try { sock = conn.__tests.getSocket(); } catch (e) { sock = null; }
  const haveSocket = fromSocket(result, sock);
  arm(result);
  const queryOne = async (sql) => {
    const q = { sql, rowsAsArray: true };
    if (info.isMariaDB && info.isMariaDB()) q.timeout = ms;
    const rows = await conn.query(q);
    return Array.isArray(rows) && rows.length && Array.isArray(rows[0]) ? rows[0] : null;
  };
  if (opts.query) {
    try {
      const row = await queryOne(opts.query);
      result.value = row ? toJson(row[0]) : null;
    } catch (e) {
      errorFields(e);
    }
  }
  if (!haveSocket) {
    try {
      const v = await queryOne("SHOW SESSION STATUS LIKE 'Ssl_version'");
      const c = await queryOne("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      result.tls_version = (v && v[1]) || null;
      result.cipher = (c && c[1]) || null;
      result.ssl = Boolean(result.cipher);
      result.ssl_source = 'server';
    } catch (e) {
      result.ssl_status_error = e.message;
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
