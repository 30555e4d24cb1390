'use strict';
// What the two Node.js MySQL probes share (../mysql2/probe.js, ../node-mariadb/probe.js).
// Contract: the "MySQL probes" section of ../README.md. Plain CommonJS, Node's standard
// library only: each probe requires its own driver from its own node_modules.
//
// Theory of operation: requiring this module points console.* at stderr (only the final JSON
// line may reach stdout) and starts the clock of `elapsed_ms`. parseOptions() reads the contract's
// options (exit 2 with the usage on stderr when they are wrong); newResult() makes the line with
// the fields every MySQL probe has; watchdog() bounds each phase by --timeout + 5 s (then the
// line says PROBE_TIMEOUT); fromSocket() reads the TLS facts from the driver's socket; emit()
// prints the line once and exits 0; run() turns a probe's unexpected exception into
// PROBE_FAILURE.
const fs = require('fs');
const path = require('path');

const T0 = process.hrtime.bigint();
const elapsedMs = () => Number((process.hrtime.bigint() - T0) / 1000000n);

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
/** The options of the command line: { opts, port, timeoutS }; opts.ca is made absolute.
 *  extra: a probe's own options with a value ({'--flag': 'key'}), beyond the contract's. */
function parseOptions(argv = process.argv.slice(2), extra = {}) {
  const opts = { user: 'lab', password: 'lab-password', database: 'lab', query: 'SELECT 1', timeout: '10' };
  const withValue = {
    '--host': 'host', '--port': 'port', '--ca': 'ca', '--ssl-mode': 'sslMode', '--user': 'user',
    '--password': 'password', '--database': 'database', '--query': 'query', '--timeout': 'timeout',
    ...extra,
  };
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
  return { opts, port, timeoutS };
}

/** The --ca file's PEM (undefined without --ca) and a function that adds it as `ca` to an
 *  ssl object. */
function caOption(opts) {
  const ca = opts.ca ? fs.readFileSync(opts.ca, 'utf8') : undefined;
  return { ca, withCa: (o) => (ca ? Object.assign(o, { ca }) : o) };
}

// ---- output ------------------------------------------------------------------
/** The line, with the fields every MySQL probe has, in the contract's order. */
function newResult(driver, version, opts) {
  return {
    driver, version, connected: false, error_code: null, error: null, value: null,
    ssl: null, tls_version: null, cipher: null, ssl_mode: opts.sslMode || null, ssl_settings: null,
    node_version: process.version,
  };
}

let emitted = false;
/** Prints the line (once) and exits 0 when it is written. */
function emit(result) {
  if (emitted) return;
  emitted = true;
  result.elapsed_ms = elapsedMs();
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

/** A mode the driver cannot express is not faked: the line says so and nothing is run. */
function unsupportedPreferred(result, driverWords) {
  result.ssl_settings = {};
  result.unsupported_mode = true;
  result.error_code = 'UNSUPPORTED_MODE';
  result.error = `${driverWords} has no PREFERRED: with \`ssl\` it refuses a server without TLS, ` +
    'without it there is no TLS; not run';
  emit(result);
}

/** A column value as JSON. */
function toJson(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** The first row of a rowsAsArray result, or null. */
function firstRow(rows) {
  return Array.isArray(rows) && rows.length && Array.isArray(rows[0]) ? rows[0] : null;
}

/** A watchdog per phase: arm(result) starts it, disarm() stops it; after timeout + 5 s the line
 *  says PROBE_TIMEOUT (unless it already has an error) and is printed. */
function watchdog(timeoutS) {
  let dog = null;
  const disarm = () => { if (dog) { clearTimeout(dog); dog = null; } };
  const arm = (result) => {
    disarm();
    dog = setTimeout(() => {
      if (result.error_code === null) {
        result.error_code = 'PROBE_TIMEOUT';
        result.error = `probe watchdog: no answer from the driver after ${timeoutS + 5} s`;
      }
      emit(result);
    }, (timeoutS + 5) * 1000);
  };
  return { arm, disarm };
}

/** The TLS facts from the client's own socket (a tls.TLSSocket when the session is encrypted);
 *  false when there is no socket to read. */
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

/** Runs the probe's async main; an exception it did not expect becomes PROBE_FAILURE. */
function run(result, main) {
  main().catch((e) => {
    result.error_code = result.error_code || 'PROBE_FAILURE';
    result.error = result.error || `probe failure: ${e && e.stack ? e.stack : e}`;
    emit(result);
  });
}

module.exports = {
  MODES, parseOptions, caOption, newResult, emit, unsupportedPreferred, toJson, firstRow, watchdog,
  fromSocket, run,
};
