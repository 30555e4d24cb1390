"""The MySQL stand-in answers as the real server does where the answer is the server's own and
not the certificate's: the same statements, through the same client, to Debian's MariaDB 10.11
and to `tlslab serve --protocol mysql --flavour mariadb` (the MariaDB 11.4 stand-in), and the
outputs must be equal, errors and their texts included.

Each script in mysql_answers/ is fed to the `mariadb` command-line client on stdin with --force
(it goes on after an error and prints the error with its line number), in batch mode without
column names, over plaintext (what is compared is the SQL layer). A script holds only what
MariaDB 10.11 and 11.4 answer alike; values that come from the test server's own configuration
(mariadb_server.py sets max_connect_errors; @@socket is its private directory) are left out.
"""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

from mariadb_server import MariaDbServer

SCRIPTS = sorted((Path(__file__).parent / "mysql_answers").glob("*.sql"))


@pytest.fixture(scope="module")
def real_db(localhost_certificate):
    with MariaDbServer.start(*localhost_certificate) as server:
        yield server


def run_script(port: int, script: Path) -> str:
    cp = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(port), "-u", "lab",
                         "-plab-password", "--ssl=0", "-N", "--force", "lab"],
                        stdin=script.open(), capture_output=True, text=True, timeout=60)
    return cp.stdout + cp.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_standin_answers_as_mariadb(script, real_db, tlslab):
    standin = tlslab("serve", "--protocol", "mysql", "--flavour", "mariadb")
    real = run_script(real_db.port, script)
    ours = run_script(standin.port, script)
    assert "ERROR 2002" not in real and "ERROR 1045" not in real, real
    diff = list(difflib.unified_diff(real.splitlines(), ours.splitlines(),
                                     f"MariaDB {real_db.version()}", "the MariaDB stand-in",
                                     lineterm=""))
    assert not diff, "\n".join(diff)
