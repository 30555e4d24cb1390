"""`tlslab diff` on real driver upgrades, each version run through `tlslab matrix`.

tedious 14.7 -> 19.2, mssql-jdbc 9.4 -> 10.2 -> 12.10, node-postgres 8.0.3 -> 8.23.1 and
mysql2 2.3.3 -> 3.24.6: what changed is what their release notes and the drivers' issue threads
say changed (the Encrypt defaults, the 12.3 error wording, sslmode/sslrootcert support,
verifyIdentity), read here from real runs; a change for the worse exits 1 and the reverse
comparison of an improvement does too, so a pipeline can gate on it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from matrix_run import run_matrix, validate

pytestmark = pytest.mark.timeout(600)


def matrix(tlslab_bin, state_dir, out: Path, driver: str, scenarios: str, *configs: str) -> Path:
    args = ["--driver", driver, "--scenarios", scenarios]
    for c in configs:
        args += ["--config", c]
    r = run_matrix(tlslab_bin, state_dir, out / driver, *args)
    assert r.returncode == 0, r.describe()
    validate(r.report)
    return r.out / "report.json"


def diff(tlslab_bin, old: Path, new: Path, *args: str) -> tuple[int, str, dict]:
    text = subprocess.run([str(tlslab_bin), "diff", str(old), str(new), *args],
                          capture_output=True, text=True, timeout=60)
    js = subprocess.run([str(tlslab_bin), "diff", str(old), str(new), "--json", *args],
                        capture_output=True, text=True, timeout=60)
    assert text.returncode == js.returncode, (text.stderr, js.stderr)
    assert text.returncode in (0, 1), text.stderr
    return text.returncode, text.stdout, json.loads(js.stdout)


def group(doc: dict, group_id: str) -> dict[str, dict]:
    """The cells of one group, by the new cell's id."""
    for g in doc["groups"]:
        if g["id"] == group_id:
            return {c["id"]: c for c in g["cells"]}
    raise AssertionError(f"no group {group_id}: {[g['id'] for g in doc['groups']]}")


def test_tedious_14_to_19(tlslab_bin, state_dir, tmp_path):
    """tedious 19 verifies by default (trustServerCertificate false) where 14 trusted any
    certificate: broken servers are now refused, and so is a valid one whose CA is not in Node's
    list -- the upgrade that broke working connections, shown as a cell that got worse."""
    s = "valid,self-signed,expired,wrong-host"
    old = matrix(tlslab_bin, state_dir, tmp_path, "tedious14", s, "defaults", "lab-ca")
    new = matrix(tlslab_bin, state_dir, tmp_path, "tedious19", s, "defaults", "lab-ca")
    code, text, doc = diff(tlslab_bin, old, new, "--html", str(tmp_path / "diff.html"))
    assert code == 1, text
    assert "tedious 14.7.0 -> 19.2.2" in text, text
    refuses = group(doc, "now-refuses")
    assert refuses["tds/tedious19/defaults/valid"]["direction"] == "worse"
    for scenario in ("self-signed", "expired", "wrong-host"):
        for config in ("defaults", "lab-ca"):
            cell = refuses[f"tds/tedious19/{config}/{scenario}"]
            assert cell["direction"] == "better", cell
            assert cell["old"]["verdict"] == "accepted-broken"
    assert doc["worse"] is True
    page = (tmp_path / "diff.html").read_text()
    assert "now refuses" in page and "<script src" not in page


def test_mssql_jdbc_9_4_to_10_2_to_12(tlslab_bin, state_dir, tmp_path):
    """10.2 made encrypt=true the default: 9.4's login-only encryption (everything after the
    login in clear) is gone. 12.x keeps the verdicts and rewords every TLS error ("encrypt"
    property is set to "true" and "trustServerCertificate" property is set to "false" but ...)."""
    s = "valid,self-signed,expired"
    v9 = matrix(tlslab_bin, state_dir, tmp_path, "jdbc9", s, "defaults", "lab-ca")
    v10 = matrix(tlslab_bin, state_dir, tmp_path, "jdbc10", s, "defaults", "lab-ca")
    v12 = matrix(tlslab_bin, state_dir, tmp_path, "jdbc", s, "defaults", "lab-ca")
    code, text, doc = diff(tlslab_bin, v9, v10)
    assert "jdbc 9.4.1.0 -> 10.2.4.0" in text, text
    no_longer = group(doc, "no-longer-plaintext")
    for scenario in ("self-signed", "expired"):
        cell = no_longer[f"tds/jdbc10/defaults/{scenario}"]
        assert cell["old"]["verdict"] == "downgraded" and cell["direction"] == "better", cell
    code, text, doc = diff(tlslab_bin, v10, v12)
    assert code == 0, text
    assert "10.2.4.0 -> 12.10.2.0" in text, text
    reworded = group(doc, "error-text")
    cell = reworded["tds/jdbc/lab-ca/self-signed"]
    assert cell["old"]["verdict"] == cell["new"]["verdict"] == "refused-correctly"
    assert '"encrypt" property is set to "true"' in cell["new"]["error"]
    assert '"encrypt" property' not in cell["old"]["error"]


def test_node_postgres_8_0_to_8_23(tlslab_bin, state_dir, tmp_path):
    """pg 8.0.3's connection string knows neither sslmode nor sslrootcert: every configuration
    logs in in clear. 8.23.1 does TLS and verifies; the reverse comparison fails the gate."""
    s = "valid,self-signed,wrong-host"
    old = matrix(tlslab_bin, state_dir, tmp_path, "node-pg80", s, "verify-full")
    new = matrix(tlslab_bin, state_dir, tmp_path, "node-pg", s, "verify-full")
    code, text, doc = diff(tlslab_bin, old, new)
    assert code == 0, text
    assert "8.0.3 -> 8.23.1" in text, text
    no_longer = group(doc, "no-longer-plaintext")
    assert no_longer["postgres/node-pg/verify-full/valid"]["new"]["verdict"] == \
        "accepted-correctly"
    assert no_longer["postgres/node-pg/verify-full/self-signed"]["new"]["verdict"] == \
        "refused-correctly"
    back, text, doc = diff(tlslab_bin, new, old)
    assert back == 1, text
    assert len(group(doc, "now-plaintext")) == 3


def test_mysql2_2_to_3(tlslab_bin, state_dir, tmp_path):
    """mysql2 3.0 added verifyIdentity: VERIFY_IDENTITY on 2.3.3 checks the chain but not the
    name, and accepts a wrong host."""
    s = "valid,self-signed,wrong-host"
    old = matrix(tlslab_bin, state_dir, tmp_path, "mysql2-v2", s, "verify-identity")
    new = matrix(tlslab_bin, state_dir, tmp_path, "mysql2", s, "verify-identity")
    code, text, doc = diff(tlslab_bin, old, new)
    assert code == 0, text
    assert "2.3.3 -> 3.24.6" in text, text
    cell = group(doc, "now-refuses")["mysql/mysql2/verify-identity/wrong-host"]
    assert cell["old"]["verdict"] == "accepted-broken" and cell["direction"] == "better"
    assert cell["new"]["label"] == "name-mismatch"
    back, text, doc = diff(tlslab_bin, new, old)
    assert back == 1, text
    assert "mysql/mysql2-v2/verify-identity/wrong-host" in group(doc, "now-accepts")


def test_diff_refuses_what_is_not_a_report(tlslab_bin, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    cp = subprocess.run([str(tlslab_bin), "diff", str(bad), str(bad)], capture_output=True,
                        text=True, timeout=30)
    assert cp.returncode == 2
    assert "bad.json" in cp.stderr and "not a tlslab matrix report" in cp.stderr, cp.stderr
