"""tlslab PostgreSQL probe: asyncpg (PyPI; its own protocol implementation, Python's ssl module).

Contract: the PostgreSQL section of ../README.md. The options, in asyncpg's own API:

  --encrypt M          asyncpg.connect(ssl=M): disable allow prefer require verify-ca verify-full
                       (not passed: asyncpg's default, prefer)
  --ca FILE            sslrootcert=FILE in the DSN (asyncpg has no keyword argument for it)
  --ssl-negotiation    direct_tls=True (direct) / False (postgres)
  --channel-binding    asyncpg has none: its SCRAM client always sends the header "n,,"
                       (no channel binding); the probe refuses the option (UNSUPPORTED_OPTION)
"""

import asyncio
import errno
import os
import ssl
import sys
from urllib.parse import urlencode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg-python"))
import pgprobe  # noqa: E402

DRIVER = "asyncpg"


def error_fields(e):
    """SQLSTATE when the server sent one; else the driver's or Python's own code: the OpenSSL
    reason of an ssl.SSLError (CERTIFICATE_VERIFY_FAILED, ...), the errno name of an OSError
    (ECONNREFUSED, ...), else the exception class."""
    text = str(e) or repr(e)
    out = {"error": text, "error_type": type(e).__name__}
    code = getattr(e, "sqlstate", None)
    if code:
        out["error_code"] = code
    elif isinstance(e, ssl.SSLError) and getattr(e, "reason", None):
        out["error_code"] = e.reason
        if isinstance(e, ssl.SSLCertVerificationError):
            out["verify_code"] = e.verify_code
            out["verify_message"] = e.verify_message
    elif isinstance(e, OSError) and e.errno in errno.errorcode:
        out["error_code"] = errno.errorcode[e.errno]
    else:
        out["error_code"] = type(e).__name__
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)) and not str(e):
        out["error"] = "timed out (asyncio.TimeoutError)"
    hint = getattr(e, "hint", None)
    if hint:
        out["hint"] = hint
    return out


def main(argv):
    a = pgprobe.parse_args(DRIVER, argv, "asyncpg ssl=: disable allow prefer require verify-ca verify-full")
    result = pgprobe.base_result(DRIVER)
    if a.channel_binding:
        pgprobe.emit(pgprobe.unsupported(result, a.session,
                     "--channel-binding: asyncpg has no channel binding (its SCRAM client never "
                     "uses SCRAM-SHA-256-PLUS)"))
        return
    pgprobe.private_environment()
    dog = pgprobe.Watchdog(result)
    dog.arm(a.timeout + 5, pgprobe.expire_top(result, a.session))

    import asyncpg
    result["version"] = asyncpg.__version__
    loop = asyncio.new_event_loop()

    def run(coro):
        return loop.run_until_complete(asyncio.wait_for(coro, a.timeout))

    query = {}
    if a.ca:
        query["sslrootcert"] = a.ca
    kw = {"host": a.host, "port": a.port, "user": a.user, "password": a.password,
          "database": a.database, "timeout": a.timeout, "command_timeout": a.timeout}
    if query:
        kw["dsn"] = "postgresql://?" + urlencode(query)
    if a.encrypt:
        kw["ssl"] = a.encrypt
    if a.ssl_negotiation:
        kw["direct_tls"] = a.ssl_negotiation == "direct"
    result["sslrootcert"] = a.ca
    try:
        conn = run(asyncpg.connect(**kw))
    except Exception as e:  # noqa: BLE001 - asyncpg's, ssl's or the OS's error
        dog.cancel()
        result.update(error_fields(e))
        if a.session:
            result["session"] = pgprobe.not_run_steps(result["error_code"], "not run: no connection")
        pgprobe.emit(result)
        return
    dog.cancel()
    result["connected"] = True
    # asyncpg has no public "is this TLS" call: the asyncio transport it reads from says.
    ssl_object = conn._transport.get_extra_info("ssl_object")
    result["ssl"] = ssl_object is not None
    if ssl_object is not None:
        result["tls_version"] = ssl_object.version()
    result["server_version"] = conn.get_settings().server_version

    if a.query:
        dog.arm(a.timeout + 5, pgprobe.expire_top(result, a.session))
        try:
            result["value"] = pgprobe.to_json(run(conn.fetchval(a.query)))
        except Exception as e:  # noqa: BLE001
            result.update(error_fields(e))
        dog.cancel()

    if a.session:
        tx = []

        async def begin():
            t = conn.transaction()
            await t.start()  # BEGIN;
            tx.append(t)

        async def commit():
            if not tx:
                raise RuntimeError("no transaction: the begin step failed")
            await tx.pop().commit()  # COMMIT;

        async def execute(sql):
            await conn.execute(sql)  # simple query protocol (no arguments)

        actions = {
            "set": lambda: run(execute(pgprobe.SESSION_SQL["set"])),
            "show": lambda: run(conn.fetchval(pgprobe.SESSION_SQL["show"])),
            "begin": lambda: run(begin()),
            "param": lambda: run(conn.fetchval(pgprobe.SESSION_SQL["param"], pgprobe.PARAM_VALUE)),
            "commit": lambda: run(commit()),
            "error": lambda: run(conn.fetchval(pgprobe.SESSION_SQL["error"])),
            "again": lambda: run(conn.fetchval(pgprobe.SESSION_SQL["again"])),
        }
        pgprobe.run_session(result, actions, error_fields, a.timeout, dog,
                            extra={"param": {"protocol": "extended"}})

    pgprobe.emit(result)
    dog.arm(a.timeout + 5, lambda msg: None)
    try:
        run(conn.close())
    except Exception:  # noqa: BLE001
        pass
    dog.cancel()


if __name__ == "__main__":
    pgprobe.main_guard(DRIVER, main, sys.argv[1:])
