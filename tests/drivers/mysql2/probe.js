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
const common = require('../mysql-node/common.js');

const { opts, port, timeoutS } = common.parseOptions();
const { arm, disarm } = common.watchdog(timeoutS);
const mysqlVersion = JSON.parse(fs.readFileSync(require.resolve('mysql2/package.json'), 'utf8')).version;
const result = common.newResult('mysql2', mysqlVersion, opts);

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
  const mysql = require('mysql2/promise');
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
  common.fromSocket(result, conn.connection.stream);
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
