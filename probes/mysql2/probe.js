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
//
// `--driver-version 3|2` (default 3) picks the installed mysql2 line: 3.24.6 (`mysql2`) or
// 2.3.3 (the npm alias `mysql2-2`). mysql2 2.x has no `verifyIdentity` (it came with 3.0): the
// option is ignored, no host name is checked in any mode, and no SNI is sent; VERIFY_IDENTITY
// is then VERIFY_CA.
const fs = require('fs');
const common = require('../mysql-node/common.js');

const { opts, port, timeoutS } = common.parseOptions(process.argv.slice(2),
  { '--driver-version': 'driverVersion' });
// the installed mysql2 lines (package.json: "mysql2" and the alias "mysql2-2")
const mysqlPackage = { '3': 'mysql2', '2': 'mysql2-2' }[opts.driverVersion || '3'];
if (!mysqlPackage) {
  process.stderr.write(`probe: bad --driver-version '${opts.driverVersion}' (3|2)\n`);
  process.exit(2);
}
const { arm, disarm } = common.watchdog(timeoutS);
const mysqlVersion = JSON.parse(fs.readFileSync(
  require('path').join(__dirname, 'node_modules', mysqlPackage, 'package.json'), 'utf8')).version;
const result = common.newResult('mysql2', mysqlVersion, opts);
result.driver_version_line = opts.driverVersion || '3';

// mysql2 2.x wraps its socket in a `new tls.TLSSocket` of its own and keeps the plain socket as
// connection.stream (3.x replaces the stream with the TLS socket). To read the TLS facts from
// the client side for 2.x too, the TLS sockets made in this process are remembered.
let lastTlsSocket = null;
if (mysqlPackage === 'mysql2-2') {
  const tls = require('tls');
  const Plain = tls.TLSSocket;
  tls.TLSSocket = class RememberedTLSSocket extends Plain {
    constructor(...args) {
      super(...args);
      lastTlsSocket = this;
    }
  };
}

function sslOption() {
  const { ca, withCa } = common.caOption(opts);
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
  const mysql = require(`${mysqlPackage}/promise`);
  const [ssl, described] = sslOption();
  if (ssl === null) return common.unsupportedPreferred(result, 'mysql2');
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
    return common.emit(result);
  }
  disarm();
  result.connected = true;
  result.server_version = (conn.connection._handshakePacket && conn.connection._handshakePacket.serverVersion) || null;
  common.fromSocket(result, lastTlsSocket || conn.connection.stream);
  arm(result);
  if (opts.query) {
    try {
      const [rows] = await conn.query({ sql: opts.query, timeout: Math.round(timeoutS * 1000), rowsAsArray: true });
      const row = common.firstRow(rows);
      result.value = row ? common.toJson(row[0]) : null;
    } catch (e) {
      errorFields(e);
    }
  }
  disarm();
  common.emit(result);
  try { conn.destroy(); } catch (e) { /* ignore */ }
}

common.run(result, main);
