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
const common = require('../mysql-node/common.js');

const { opts, port, timeoutS } = common.parseOptions();
const { arm, disarm } = common.watchdog(timeoutS);
const drvVersion = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'mariadb', 'package.json'), 'utf8')).version;
const result = common.newResult('node-mariadb', drvVersion, opts);

function sslOption() {
  const { ca, withCa } = common.caOption(opts);
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
  if (ssl === null) return common.unsupportedPreferred(result, 'the mariadb connector');
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
    return common.emit(result);
  }
  disarm();
  result.connected = true;
  const info = conn.info || {};
  result.server_version = info.serverVersion ? info.serverVersion.raw : null;
  if (info.useFingerprintValidation !== undefined) result.fingerprint_validation = Boolean(info.useFingerprintValidation);
  if (info.selfSignedCertificate !== undefined) result.self_signed = Boolean(info.selfSignedCertificate);
  let sock = null;
  try { sock = conn.__tests.getSocket(); } catch (e) { sock = null; }
  const haveSocket = common.fromSocket(result, sock);
  arm(result);
  const queryOne = async (sql) => {
    const q = { sql, rowsAsArray: true };
    if (info.isMariaDB && info.isMariaDB()) q.timeout = ms;
    return common.firstRow(await conn.query(q));
  };
  if (opts.query) {
    try {
      const row = await queryOne(opts.query);
      result.value = row ? common.toJson(row[0]) : null;
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
  common.emit(result);
  try { conn.destroy(); } catch (e) { /* ignore */ }
}

common.run(result, main);
