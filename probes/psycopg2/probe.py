"""tlslab PostgreSQL probe: psycopg2 (psycopg2-binary from PyPI, with the libpq its wheel bundles).

Contract: the PostgreSQL section of ../README.md. Every option goes into a libpq connection
string (psycopg2.extensions.make_dsn quotes the values), so the words are libpq's and libpq
judges them: a keyword the bundled libpq does not know is libpq's own error.
"""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg-python"))
import pgprobe  # noqa: E402

DRIVER = "psycopg2"


def error_fields(e):
    """SQLSTATE (pgcode) when the server sent one, else the exception class (psycopg2 has no
    codes of its own: a failed connection is an OperationalError without pgcode)."""
    out = {"error": str(e).rstrip("\n") or repr(e), "error_type": type(e).__name__}
    code = getattr(e, "pgcode", None)
    out["error_code"] = code if code else type(e).__name__
    return out


def main(argv):
    a = pgprobe.parse_args(DRIVER, argv, "libpq sslmode: disable allow prefer require verify-ca verify-full")
    result = pgprobe.base_result(DRIVER)
    pgprobe.private_environment()
    dog = pgprobe.Watchdog(result)
    dog.arm(a.timeout + 5, pgprobe.expire_top(result, a.session))

    import psycopg2
    import psycopg2.extensions as ext
    lib = ext.libpq_version()
    result["libpq_version"] = f"{lib // 10000}.{lib % 10000}"
    result["version"] = f"{psycopg2.__version__.split()[0]} / libpq {result['libpq_version']}"

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
        conn = psycopg2.connect(ext.make_dsn(**params))
    except Exception as e:  # noqa: BLE001 - psycopg2.Error, or a DSN the driver refused
        dog.cancel()
        result.update(error_fields(e))
        if a.session:
            result["session"] = pgprobe.not_run_steps(result["error_code"], "not run: no connection")
        pgprobe.emit(result)
        return
    dog.cancel()
    result["connected"] = True
    conn.autocommit = True  # the session's default; the script's begin turns it off
    result["ssl"] = bool(conn.info.ssl_in_use)
    if result["ssl"]:
        result["tls_version"] = conn.info.ssl_attribute("protocol")
    result["server_version"] = conn.info.server_version

    def query(sql, params=None):
        with conn.cursor() as cur:
            cur.execute(sql, params)
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
        def begin():
            # psycopg2's own way: autocommit off; it sends BEGIN itself before the next statement.
            conn.autocommit = False

        def commit():
            conn.commit()          # COMMIT
            conn.autocommit = True  # back to the session's default

        actions = {
            "set": lambda: query(pgprobe.SESSION_SQL["set"]),
            "show": lambda: query(pgprobe.SESSION_SQL["show"]),
            "begin": begin,
            # psycopg2 binds on the client: the server gets the simple query "SELECT 42::int".
            "param": lambda: query("SELECT %s::int", (pgprobe.PARAM_VALUE,)),
            "commit": commit,
            "error": lambda: query(pgprobe.SESSION_SQL["error"]),
            "again": lambda: query(pgprobe.SESSION_SQL["again"]),
        }
        pgprobe.run_session(result, actions, error_fields, a.timeout, dog, extra={
            "begin": {"sent": "nothing: psycopg2 sends BEGIN with the next statement"},
            "param": {"protocol": "simple (psycopg2 interpolates the parameter on the client)"}})

    pgprobe.emit(result)
    dog.arm(a.timeout + 5, lambda msg: None)
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    dog.cancel()


if __name__ == "__main__":
    pgprobe.main_guard(DRIVER, main, sys.argv[1:])
