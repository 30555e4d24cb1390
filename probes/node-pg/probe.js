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
const tls = require('tls');
const common = require('../pg-node/common.js');

const { jsonValue, notRun } = common;

// ---- arguments -------------------------------------------------------------
const USAGE = 'usage: probe --host H --port P [--ca FILE] [--encrypt SSLMODE]\n' +
  '             [--channel-binding disable|prefer|require] [--ssl-negotiation postgres|direct]\n' +
  '             [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]\n' +
  '             [--session] [--uselibpqcompat] [--driver-version 8.23|8.0]\n' +
  '  SSLMODE (pg-connection-string): disable prefer require verify-ca verify-full no-verify';
const { opts, port, timeoutS, usage } = common.parseOptions({
  usage: USAGE,
  flags: { '--uselibpqcompat': 'uselibpqcompat' },
  values: { '--driver-version': 'driverVersion' },
  defaults: { uselibpqcompat: false, driverVersion: '8.23' },
  checkEncrypt: (word) => (/^[A-Za-z0-9_-]+$/.test(word) ? null : '--encrypt must be one word'),
});
// the installed pg lines (package.json: "pg" and the alias "pg8-0")
const pgPackage = { '8.23': 'pg', '8.0': 'pg8-0' }[opts.driverVersion];
if (!pgPackage) usage(`bad --driver-version '${opts.driverVersion}' (8.23|8.0)`);

// ---- output ------------------------------------------------------------------
const pgVersion = JSON.parse(fs.readFileSync(require.resolve(`${pgPackage}/package.json`), 'utf8')).version;
const result = {
  driver: 'node-pg', version: pgVersion, connected: false, error_code: null, error: null,
  value: null, ssl: null, node_version: process.version, sslrootcert: opts.ca || null,
  driver_version_line: opts.driverVersion,
};
const { emit, finish } = common.output(result);

const STEP_SQL = {
  set: "SET application_name = 'tlslab-probe'",
  show: 'SHOW application_name',
  begin: 'BEGIN',
  param: 'SELECT $1::int',
  commit: 'COMMIT',
  error: 'SELECT * FROM tlslab_no_such_table',
  again: 'SELECT 1',
};

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
const dog = common.watchdog(timeoutS, finish);
const { arm, disarm } = dog;

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
    // begin/commit: node-pg has no transaction API; its documented way is query('BEGIN').
    // param: a query with values goes out as Parse/Bind/Execute (extended protocol).
    await common.runSession(result, (name) => (name === 'param' ? first(STEP_SQL[name], [42])
      : first(STEP_SQL[name])), errorFields, dog);
  }
  emit();
  arm(() => {});
  try { await client.end(); } catch (e) { /* the line is out already */ }
  finish();
}

main();
