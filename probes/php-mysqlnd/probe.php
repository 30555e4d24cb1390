<?php
/*
 * tlslab MySQL probe: PHP's mysqlnd through mysqli (Debian 12: php8.2-cli + php8.2-mysql;
 * mysqlnd speaks the MySQL protocol itself and does TLS through PHP streams on the system
 * OpenSSL 3.0). Contract: the "MySQL probes" section of ../README.md; run by ./probe (php -n:
 * no php.ini, only the mysqlnd, mysqli and posix extensions loaded).
 *
 * One connection: mysqli_init(), mysqli_options(), mysqli_ssl_set(), mysqli_real_connect(),
 * the query, close. mysqli_report(MYSQLI_REPORT_OFF): failures come back as connect_errno /
 * connect_error, and the PHP warnings mysqlnd raises on the way (where the real reason of a TLS
 * failure is: "SSL operation failed with code 1. OpenSSL Error messages: ... certificate verify
 * failed", "Peer certificate CN=`db.example.com' did not match expected CN=`localhost'") are
 * collected with set_error_handler and appended to `error` (and listed in `warnings`).
 *
 * --ssl-mode maps to mysqli's own words (what mysqlnd does with them: ext/mysqlnd
 * mysqlnd_connection.c get_updated_connect_flags, mysqlnd_commands.c handshake, mysqlnd_vio.c
 * enable_ssl):
 *
 *   DISABLED         no mysqli_ssl_set, flags 0: plaintext (mysqlnd sends no SSLRequest unless
 *                    CLIENT_SSL is set, whatever the server offers)
 *   PREFERRED        cannot be expressed: UNSUPPORTED_MODE, not run. mysqlnd has no "TLS if
 *                    offered": with CLIENT_SSL it refuses a server without TLS (the handshake
 *                    goes to close_conn), without it it never asks for TLS
 *   REQUIRED         MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_DONT_VERIFY_SERVER_CERT (and
 *                    mysqli_ssl_set(ca) with --ca): TLS or nothing; mysqlnd sets verify_peer
 *                    and verify_peer_name false and allow_self_signed true
 *   VERIFY_CA        cannot be expressed: UNSUPPORTED_MODE, not run. mysqlnd sets PHP's
 *                    verify_peer and verify_peer_name to one and the same value: it verifies
 *                    the chain and the name together, or neither
 *   VERIFY_IDENTITY  mysqli_options(MYSQLI_OPT_SSL_VERIFY_SERVER_CERT, true),
 *                    mysqli_ssl_set(NULL, NULL, ca, NULL, NULL) with --ca, and
 *                    MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_VERIFY_SERVER_CERT: chain and name
 *                    (verify_peer + verify_peer_name). Without --ca: OpenSSL's default paths.
 *                    (The mysqli_options setting alone does nothing: the handshake overwrites
 *                    it from the connect flags; the flag is what verifies)
 *   (not passed)     flags 0, and mysqli_ssl_set(ca) with --ca: without --ca plaintext even
 *                    when the server offers TLS; with --ca mysqlnd adds CLIENT_SSL itself
 *                    (any ssl_set value does) and verifies chain and name
 *
 * The host: mysqlnd takes "localhost" as its Unix socket (get_scheme: the exact name
 * "localhost" means unix://, whatever the port), so a PHP application cannot reach
 * "localhost" over TCP. ./probe gives mysqli "localhost." (the absolute name) instead, under a
 * private /etc/hosts that resolves it to 127.0.0.1; PHP's OpenSSL layer strips trailing dots
 * from the peer name (xp_ssl.c get_url_name), so the name verified and sent as SNI is still
 * "localhost". Where ./probe cannot make that private hosts file (not root, no unshare), it
 * gives 127.0.0.1, and the name verified is 127.0.0.1. `dialled` says what mysqli was given.
 *
 * TLS facts: mysqli has no client-side view of the session's TLS (no cipher, no version, no
 * "is TLS" call). `ssl` is inferred from the request (ssl_source "client_ssl_flag": mysqlnd
 * with CLIENT_SSL either completes TLS or fails the connect; without it never starts TLS);
 * tls_version and cipher come from SHOW SESSION STATUS (the server's view; behind a proxy the
 * upstream leg's) and from_server_status lists them.
 *
 * Timeouts: MYSQLI_OPT_CONNECT_TIMEOUT = S (mysqlnd bounds the TCP connect, the TLS handshake
 * and the whole login with it), MYSQLI_OPT_READ_TIMEOUT = S + 2 (later reads). ./probe bounds
 * the process as a whole (then the line says PROBE_TIMEOUT).
 */

declare(strict_types=1);

const DRIVER = 'php-mysqlnd';
const SSL_MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'];

$T0 = microtime(true);
$WARNINGS = [];

function usage_error(string $msg): void
{
    fwrite(STDERR, "probe(php-mysqlnd): $msg\n");
    fwrite(STDERR, "usage: probe --host H --port P [--ca FILE] [--ssl-mode " . implode('|', SSL_MODES)
        . "] [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]\n");
    exit(2);
}

function parse_args(array $argv): array
{
    $a = ['host' => null, 'port' => null, 'ca' => null, 'ssl-mode' => null, 'user' => 'lab',
          'password' => 'lab-password', 'database' => 'lab', 'query' => 'SELECT 1',
          'timeout' => 10.0];
    $n = count($argv);
    for ($i = 0; $i < $n; $i++) {
        $arg = $argv[$i];
        if (strncmp($arg, '--', 2) !== 0) {
            usage_error("unexpected argument '$arg'");
        }
        $name = substr($arg, 2);
        $value = null;
        if (($eq = strpos($name, '=')) !== false) {
            $value = substr($name, $eq + 1);
            $name = substr($name, 0, $eq);
        }
        if (!array_key_exists($name, $a)) {
            usage_error("unknown option --$name");
        }
        if ($value === null) {
            if ($i + 1 >= $n) {
                usage_error("--$name needs a value");
            }
            $value = $argv[++$i];
        }
        $a[$name] = $value;
    }
    if ($a['host'] === null || trim($a['host']) === '') {
        usage_error('--host is required');
    }
    if ($a['port'] === null || !preg_match('/^[0-9]+$/', (string)$a['port']) || (int)$a['port'] < 1 || (int)$a['port'] > 65535) {
        usage_error('--port must be a number 1..65535');
    }
    $a['port'] = (int)$a['port'];
    if ($a['ssl-mode'] !== null && !in_array($a['ssl-mode'], SSL_MODES, true)) {
        usage_error("--ssl-mode must be one of " . implode(', ', SSL_MODES) . ", not '{$a['ssl-mode']}'");
    }
    if (!is_numeric($a['timeout']) || (float)$a['timeout'] <= 0) {
        usage_error('--timeout must be > 0');
    }
    $a['timeout'] = (float)$a['timeout'];
    if ($a['ca'] !== null) {
        if (!is_file($a['ca'])) {
            usage_error("--ca: no such file: {$a['ca']}");
        }
        $a['ca'] = realpath($a['ca']);
    }
    return $a;
}

function emit(array $result): void
{
    global $T0, $WARNINGS;
    static $done = false;
    if ($done) {
        return;
    }
    $done = true;
    if ($WARNINGS) {
        $result['warnings'] = $WARNINGS;
    }
    $result['elapsed_ms'] = (int)round((microtime(true) - $T0) * 1000);
    fwrite(STDOUT, json_encode($result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
        | JSON_INVALID_UTF8_SUBSTITUTE) . "\n");
    fflush(STDOUT);
}

/** A PHP warning's text without the "mysqli_real_connect(): " prefix. */
function warning_text(string $msg): string
{
    return preg_replace('/^[a-z_:]+\(\): /i', '', $msg);
}

function to_json($v)
{
    if ($v === null || is_bool($v) || is_int($v) || is_float($v)) {
        return $v;
    }
    if (is_string($v)) {
        return preg_match('//u', $v) ? $v : '\\x' . bin2hex($v);
    }
    return (string)$v;
}

/** [flags, ssl_set ca or null, verify option or null, described] for a mode; null: not expressible. */
function ssl_settings(?string $mode, ?string $ca): ?array
{
    switch ($mode) {
        case 'DISABLED':
            return [0, null, null, ['flags' => 0]];
        case 'PREFERRED':
        case 'VERIFY_CA':
            return null;
        case 'REQUIRED':
            $d = ['flags' => 'MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_DONT_VERIFY_SERVER_CERT'];
            if ($ca !== null) {
                $d['ssl_set_ca'] = $ca;
            }
            return [MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_DONT_VERIFY_SERVER_CERT, $ca, null, $d];
        case 'VERIFY_IDENTITY':
            $d = ['MYSQLI_OPT_SSL_VERIFY_SERVER_CERT' => true,
                  'flags' => 'MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_VERIFY_SERVER_CERT'];
            if ($ca !== null) {
                $d['ssl_set_ca'] = $ca;
            }
            return [MYSQLI_CLIENT_SSL | MYSQLI_CLIENT_SSL_VERIFY_SERVER_CERT, $ca, true, $d];
        default: // not passed
            return $ca !== null ? [0, $ca, null, ['flags' => 0, 'ssl_set_ca' => $ca]]
                                : [0, null, null, []];
    }
}

function error_fields(int $errno, ?string $error, ?string $sqlstate, array $warnings): array
{
    $text = $error ?? '';
    $extra = [];
    foreach ($warnings as $w) {
        // "(HY000/2002): Connection refused": the error itself, with its SQLSTATE and number
        $bare = preg_replace('/^\([0-9A-Z]{5}\/\d+\): /', '', $w);
        if ($text === '' || ($bare !== $text && strpos($text, $bare) === false)) {
            $extra[] = $w;
        }
    }
    if ($extra) {
        $text = ($text === '' ? '' : $text . ' | ') . 'PHP warnings: ' . implode(' | ', $extra);
    }
    $out = ['error_code' => $errno ?: null, 'error' => $text !== '' ? $text : 'unknown error'];
    if ($sqlstate !== null && $sqlstate !== '' && $sqlstate !== '00000') {
        $out['sql_state'] = $sqlstate;
    }
    return $out;
}

function status_value(mysqli $conn, string $name): ?string
{
    $res = $conn->query("SHOW SESSION STATUS LIKE '$name'");
    if (!$res instanceof mysqli_result) {
        return null;
    }
    $row = $res->fetch_row();
    $res->free();
    return ($row && $row[1] !== '') ? $row[1] : null;
}

function main(array $argv): void
{
    global $WARNINGS;
    $a = parse_args($argv);
    $result = ['driver' => DRIVER, 'version' => null, 'connected' => false, 'error_code' => null,
               'error' => null, 'value' => null, 'ssl' => null, 'tls_version' => null,
               'cipher' => null, 'ssl_mode' => $a['ssl-mode'], 'ssl_settings' => null];
    if (!extension_loaded('mysqli')) {
        $result['ssl_settings'] = (object)[];
        $result['error_code'] = 'NOT_INSTALLED';
        $result['error'] = 'the mysqli extension is not loaded: run ' . __DIR__ . '/install';
        emit($result);
        return;
    }
    $result['version'] = mysqli_get_client_info();   // "mysqlnd 8.2.36"
    $result['php_version'] = PHP_VERSION;
    $result['openssl'] = defined('OPENSSL_VERSION_TEXT') ? OPENSSL_VERSION_TEXT : null;

    $s = ssl_settings($a['ssl-mode'], $a['ca']);
    if ($s === null) {
        $result['ssl_settings'] = (object)[];
        $result['unsupported_mode'] = true;
        $result['error_code'] = 'UNSUPPORTED_MODE';
        $result['error'] = ($a['ssl-mode'] === 'PREFERRED'
            ? 'mysqlnd has no PREFERRED: with MYSQLI_CLIENT_SSL it refuses a server without TLS, without it it never asks for TLS'
            : 'mysqlnd has no VERIFY_CA: it verifies the certificate chain and the host name together (verify_peer = verify_peer_name), or neither')
            . '; not run';
        emit($result);
        return;
    }
    [$flags, $ca, $verifyOpt, $described] = $s;
    $result['ssl_settings'] = $described ? $described : (object)[];

    $host = $a['host'];
    $dial = $host;
    if (strcasecmp($host, 'localhost') === 0) {
        $dial = getenv('TLSLAB_PHP_LOCALHOST_DIAL') ?: '127.0.0.1';
    } elseif (strpos($host, ':') !== false && $host[0] !== '[') {
        $dial = "[$host]";  // mysqlnd builds tcp://HOST:PORT: an IPv6 literal needs brackets
    }
    $result['dialled'] = $dial;

    mysqli_report(MYSQLI_REPORT_OFF);
    set_error_handler(function (int $no, string $msg) use (&$WARNINGS): bool {
        $WARNINGS[] = warning_text($msg);
        return true;
    });

    $t = max(1, (int)ceil($a['timeout']));
    $conn = mysqli_init();
    $conn->options(MYSQLI_OPT_CONNECT_TIMEOUT, $t);
    $conn->options(MYSQLI_OPT_READ_TIMEOUT, $t + 2);
    $conn->options(MYSQLI_OPT_INT_AND_FLOAT_NATIVE, 1);
    if ($verifyOpt !== null) {
        $conn->options(MYSQLI_OPT_SSL_VERIFY_SERVER_CERT, $verifyOpt);
    }
    if ($ca !== null) {
        $conn->ssl_set(null, null, $ca, null, null);
    }
    $WARNINGS = [];
    $ok = false;
    try {
        $ok = @$conn->real_connect($dial, $a['user'], $a['password'], $a['database'], $a['port'],
                                   null, $flags);
    } catch (Throwable $e) {
        $result['error_type'] = get_class($e);
        $WARNINGS[] = $e->getMessage();
    }
    if (!$ok) {
        $result = array_merge($result, error_fields((int)$conn->connect_errno, $conn->connect_error,
                                                    null, $WARNINGS));
        emit($result);
        return;
    }
    $connectWarnings = $WARNINGS;
    $result['connected'] = true;
    $result['server_version'] = $conn->server_info;
    $result['host_info'] = $conn->host_info;
    $result['ssl'] = ($flags & MYSQLI_CLIENT_SSL) !== 0 || $ca !== null;
    $result['ssl_source'] = 'client_ssl_flag';

    if ($a['query'] !== '') {
        $WARNINGS = [];
        $res = $conn->query($a['query']);
        if ($res instanceof mysqli_result) {
            $row = $res->fetch_row();
            $result['value'] = $row ? to_json($row[0]) : null;
            $res->free();
        } elseif ($res === false) {
            $result = array_merge($result, error_fields((int)$conn->errno, $conn->error,
                                                        $conn->sqlstate, $WARNINGS));
        }
    }
    // the server's view of the session's TLS (mysqli has no client-side one)
    $filled = [];
    $v = status_value($conn, 'Ssl_version');
    $c = status_value($conn, 'Ssl_cipher');
    if ($v !== null) {
        $result['tls_version'] = $v;
        $filled[] = 'tls_version';
    }
    if ($c !== null) {
        $result['cipher'] = $c;
        $filled[] = 'cipher';
    }
    if ($filled) {
        $result['from_server_status'] = $filled;
    }
    $WARNINGS = $connectWarnings;
    emit($result);
    @$conn->close();
}

try {
    main(array_slice($argv, 1));
} catch (Throwable $e) {
    emit(['driver' => DRIVER, 'version' => null, 'connected' => false,
          'error_code' => 'PROBE_FAILURE', 'error' => 'probe failure: ' . get_class($e) . ': ' . $e->getMessage(),
          'value' => null, 'ssl' => null, 'ssl_mode' => null, 'ssl_settings' => null]);
}
exit(0);
