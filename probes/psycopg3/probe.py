"""tlslab PostgreSQL probe: psycopg 3 (psycopg[binary] from PyPI, with the libpq that the
psycopg-binary wheel bundles: 18.x, which knows sslnegotiation=direct).

Contract: the PostgreSQL section of ../README.md. Every option goes into a libpq connection
string (psycopg.conninfo.make_conninfo quotes the values), so the words are libpq's and libpq
judges them.
"""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg-python"))
import pgprobe  # noqa: E402

DRIVER = "psycopg3"


def error_fields(e):
    """SQLSTATE when the server sent one, else the exception class (psycopg has no codes of
    its own: a failed connection is an OperationalError with sqlstate None)."""
    out = {"error": str(e) or repr(e), "error_type": type(e).__name__}
    code = getattr(e, "sqlstate", None)
    out["error_code"] = code if code else type(e).__name__
    return out


def lib_version(n):
    return f"{n // 10000}.{n % 10000}" if n >= 100000 else f"{n // 10000}.{n // 100 % 100}.{n % 100}"


def main(argv):
    a = pgprobe.parse_args(DRIVER, argv, "libpq sslmode: disable allow prefer require verify-ca verify-full")
    result = pgprobe.base_result(DRIVER)
    pgprobe.private_environment()
    dog = pgprobe.Watchdog(result)
    dog.arm(a.timeout + 5, pgprobe.expire_top(result, a.session))

    import psycopg
    from psycopg.conninfo import make_conninfo
    result["libpq_version"] = lib_version(psycopg.pq.version())
    result["psycopg_impl"] = psycopg.pq.__impl__
    result["version"] = f"{psycopg.__version__} / libpq {result['libpq_version']}"

    params = {"host": a.host, "port": a.port, "user": a.user, "password": a.password,
              "dbname": a.database, "connect_timeout": max(2, math.ceil(a.timeout))}
    if a.encrypt:
        params["sslmode"] = a.encrypt
    if a.ca:
        params["sslrootcert"] = a.ca
    if a.channel_binding:
        params["channel_binding"] = a.channel_binding
    if a.ssl_negotiation:
        params["sslnegotiation"] = a.ssl_negotiation
    result["sslrootcert"] = a.ca
    try:
        # autocommit=True: the session's default; the script's begin opens a transaction block.
        conn = psycopg.connect(make_conninfo(**params), autocommit=True)
    except Exception as e:  # noqa: BLE001 - psycopg.Error, or a conninfo the driver refused
        dog.cancel()
        result.update(error_fields(e))
        if a.session:
            result["session"] = pgprobe.not_run_steps(result["error_code"], "not run: no connection")
        pgprobe.emit(result)
        return
    dog.cancel()
    result["connected"] = True
    result["ssl"] = bool(conn.pgconn.ssl_in_use)  # libpq PQsslInUse
    result["server_version"] = conn.info.server_version

    def query(sql, params=None):
        cur = conn.execute(sql, params)
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None

    if a.query:
        dog.arm(a.timeout + 5, pgprobe.expire_top(result, a.session))
        try:
            result["value"] = pgprobe.to_json(query(a.query))
        except Exception as e:  # noqa: BLE001
            result.update(error_fields(e))
        dog.cancel()

    if a.session:
        tx = []

        def begin():
            # psycopg 3's own way: a Transaction block; entering it sends BEGIN.
            t = conn.transaction()
            t.__enter__()
            tx.append(t)

        def commit():
            if not tx:
                raise RuntimeError("no transaction: the begin step failed")
            tx.pop().__exit__(None, None, None)  # leaving the block without error sends COMMIT

        actions = {
            "set": lambda: query(pgprobe.SESSION_SQL["set"]),
            "show": lambda: query(pgprobe.SESSION_SQL["show"]),
            "begin": begin,
            # server-side binding: Parse "SELECT $1::int" / Bind 42 / Execute (extended protocol)
            "param": lambda: query("SELECT %s::int", (pgprobe.PARAM_VALUE,)),
            "commit": commit,
            "error": lambda: query(pgprobe.SESSION_SQL["error"]),
            "again": lambda: query(pgprobe.SESSION_SQL["again"]),
        }
        pgprobe.run_session(result, actions, error_fields, a.timeout, dog,
                            extra={"param": {"protocol": "extended"}})

    pgprobe.emit(result)
    dog.arm(a.timeout + 5, lambda msg: None)
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    dog.cancel()


if __name__ == "__main__":
    pgprobe.main_guard(DRIVER, main, sys.argv[1:])
