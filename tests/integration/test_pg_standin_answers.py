"""The PostgreSQL stand-in answers as the real server does where the answer is the server's own
and not the certificate's: the same statements, through psql, to Debian's PostgreSQL and to
`tlslab serve --protocol postgres`, in clear and inside TLS, and the outputs must be equal,
errors and their texts included.

Each script in pg_answers/ is fed to psql with -X (no psqlrc), -A -t (unaligned, tuples only) and
without ON_ERROR_STOP (it goes on after an error and prints it with its line). A script holds
only what the real server (15) and the stand-in (16.4) answer alike.
"""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import pytest

from pg_server import PgServer

SCRIPTS = sorted((Path(__file__).parent / "pg_answers").glob("*.sql"))


@pytest.fixture(scope="module")
def real_pg(localhost_certificate):
    with PgServer.start(*localhost_certificate) as server:
        yield server


def run_script(port: int, sslmode: str, script: Path) -> str:
    cp = subprocess.run(["psql", f"host=127.0.0.1 port={port} user=lab dbname=lab sslmode={sslmode}",
                         "-X", "-A", "-t", "-f", str(script)],
                        env={**os.environ, "PGPASSWORD": "lab-password"},
                        capture_output=True, text=True, timeout=60)
    return cp.stdout + cp.stderr


@pytest.mark.parametrize("sslmode", ["require", "disable"])
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_standin_answers_as_postgresql(script, sslmode, real_pg, tlslab):
    standin = tlslab("serve", "--protocol", "postgres")
    real = run_script(real_pg.port, sslmode, script)
    ours = run_script(standin.port, sslmode, script)
    assert "FATAL" not in real and "could not connect" not in real, real
    diff = list(difflib.unified_diff(real.splitlines(), ours.splitlines(), "PostgreSQL",
                                     "the PostgreSQL stand-in", lineterm=""))
    assert not diff, "\n".join(diff)
