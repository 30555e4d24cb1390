'use strict';
// What the two Node.js PostgreSQL probes share (../node-pg/probe.js, ../postgresjs/probe.js), as
// ../mysql-node/common.js does for the MySQL ones. Contract: the PostgreSQL section of
// ../README.md. Plain CommonJS, Node's standard library only: each probe requires its own
// driver from its own node_modules.
//
// Theory of operation: requiring this module points console.* at stderr (only the final JSON
// line may reach stdout) and starts the clock of `elapsed_ms`. parseOptions() reads the
// contract's options (exit 2 with the usage on stderr when they are wrong); output(result) gives
// emit() (the line, once, with the process warnings) and finish() (emit and exit 0), and turns
// an uncaught exception into PROBE_ERROR; watchdog() bounds each phase by --timeout + 5 s;
// runSession() runs the contract's --session steps, each bounded and timed.
const fs = require('fs');
const path = require('path');

const T0 = process.hrtime.bigint();
const elapsedMs = () => Number((process.hrtime.bigint() - T0) / 1000000n);

for (const m of ['log', 'info', 'debug', 'warn']) {
  console[m] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
}

// ---- arguments -------------------------------------------------------------
/** The contract's options: { opts, port, timeoutS }; opts.ca is made absolute.
 *  usage: the probe's usage text. flags: its own boolean flags ({'--flag': 'key'}); values: its
 *  own options with a value; defaults: their defaults. checkEncrypt(word) returns an error text
 *  for an --encrypt value the probe cannot take (null when it can). */
function parseOptions({ usage: usageText, flags = {}, values = {}, defaults = {}, checkEncrypt }) {
  const usage = (msg) => {
    process.stderr.write(`probe: ${msg}\n${usageText}\n`);
    process.exit(2);
  };
  const opts = { user: 'lab', password: 'lab-password', database: 'lab', query: 'SELECT 1', timeout: '10',
    session: false, ...defaults };
  const booleans = { '--session': 'session', ...flags };
  const withValue = {
    '--host': 'host', '--port': 'port', '--ca': 'ca', '--encrypt': 'encrypt',
    '--channel-binding': 'channelBinding', '--ssl-negotiation': 'sslNegotiation',
    '--user': 'user', '--password': 'password', '--database': 'database', '--query': 'query',
    '--timeout': 'timeout', ...values,
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a in booleans) { opts[booleans[a]] = true; continue; }
    if (a === '-h' || a === '--help') { process.stderr.write(usageText + '\n'); process.exit(0); }
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
  if (opts.encrypt !== undefined) {
    const bad = checkEncrypt(opts.encrypt);
    if (bad) usage(bad);
  }
  if (opts.channelBinding !== undefined && !['disable', 'prefer', 'require'].includes(opts.channelBinding)) {
    usage(`bad --channel-binding '${opts.channelBinding}'`);
  }
  if (opts.sslNegotiation !== undefined && !['postgres', 'direct'].includes(opts.sslNegotiation)) {
    usage(`bad --ssl-negotiation '${opts.sslNegotiation}'`);
  }
  if (opts.ca !== undefined) {
    if (!fs.existsSync(opts.ca)) usage(`--ca: no such file: ${opts.ca}`);
    opts.ca = path.resolve(opts.ca);
  }
  return { opts, port, timeoutS, usage };
}

// ---- output ------------------------------------------------------------------
/** emit() writes the line once (with the process warnings, if any); finish() emits and exits 0.
 *  An uncaught exception becomes PROBE_ERROR on the line. */
function output(result) {
  const warnings = [];
  process.on('warning', (w) => warnings.push(w.message));
  let emitted = false;
  const emit = () => {
    if (emitted) return;
    emitted = true;
    if (warnings.length) result.warnings = warnings;
    result.elapsed_ms = elapsedMs();
    fs.writeSync(1, JSON.stringify(result) + '\n');
  };
  const finish = () => {
    emit();
    process.exit(0);
  };
  process.on('uncaughtException', (e) => {
    if (!emitted) {
      Object.assign(result, { error_code: result.error_code || 'PROBE_ERROR',
        error: result.error || `probe failure: ${e && e.stack ? e.stack : e}` });
    }
    finish();
  });
  return { emit, finish };
}

/** A column value as JSON (bytea as PostgreSQL's hex form). */
function jsonValue(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return '\\x' + v.toString('hex');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// ---- bounds ------------------------------------------------------------------
/** arm(onExpire) starts the phase's watchdog (onExpire(message), then finish(), after
 *  timeout + 5 s); disarm() stops it. */
function watchdog(timeoutS, finish) {
  let dog = null;
  const arm = (onExpire) => {
    clearTimeout(dog);
    const s = timeoutS + 5;
    dog = setTimeout(() => {
      onExpire(`probe watchdog: no answer from the driver after ${s} s`);
      finish();
    }, s * 1000);
  };
  const disarm = () => clearTimeout(dog);
  return { arm, disarm };
}

// ---- --session ---------------------------------------------------------------
/** The contract's session steps, in order. */
const SESSION = ['set', 'show', 'begin', 'param', 'commit', 'error', 'again'];
const notRun = (code, msg, names) => (names || SESSION).map((step) => (
  { step, ok: false, value: null, error_code: code, error: msg }));

/** Runs the steps on result.session: runStep(name) resolves to the step's value; errorFields(e)
 *  turns a failure into the step's error fields. Each step is bounded by the watchdog and timed;
 *  `param` is the extended-protocol step. */
async function runSession(result, runStep, errorFields, { arm, disarm }) {
  const steps = [];
  result.session = steps;
  for (const name of SESSION) {
    const step = { step: name, ok: false, value: null, error_code: null, error: null };
    steps.push(step);
    arm((msg) => {
      Object.assign(step, { error_code: 'PROBE_TIMEOUT', error: msg });
      steps.push(...notRun('PROBE_TIMEOUT', `not run: step '${name}' did not finish`,
        SESSION.slice(SESSION.indexOf(name) + 1)));
    });
    const t = elapsedMs();
    try {
      step.value = await runStep(name);
      step.ok = true;
    } catch (e) {
      Object.assign(step, errorFields(e));
    }
    if (name === 'param') step.protocol = 'extended';
    step.elapsed_ms = elapsedMs() - t;
    disarm();
  }
}

module.exports = { elapsedMs, parseOptions, output, jsonValue, watchdog, SESSION, notRun, runSession };
