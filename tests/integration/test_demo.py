"""`tlslab demo trust-server-certificate` with real drivers (README-issue4.md, "test_demo.py").

Each demo runs `build/tlslab --state-dir D demo trust-server-certificate [--driver X]` with a
fresh state directory D (the lab CA is created on first use). The demos of the module run at the
same time (each has its own in-process server and proxy on ports picked by the kernel), bounded
by DEMO_BOUND_S. Their stdout is the side-by-side table:

    %-18s %-40s  %s        label, trusting run, validating run (long text wrapped at 40)
"""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab_tools import PASSWORD

DEMO_BOUND_S = 90.0
LABEL_W, COL_W = 18, 40
TABLE_W = LABEL_W + 1 + COL_W + 2 + COL_W

DEMOS = {
    # driver: (how the driver spells the switch, a piece of its certificate error)
    "odbc": ("TrustServerCertificate=yes", "certificate verify failed:self-signed certificate"),
    "go": ("TrustServerCertificate=true", "x509: certificate signed by unknown authority"),
    "tedious": ("trustServerCertificate: true", "self-signed certificate"),
}


def run_demo(tlslab_bin, state_dir, *args) -> dict:
    argv = [str(tlslab_bin), "--state-dir", str(state_dir), "demo", *args]
    t0 = time.monotonic()
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            errors="replace", timeout=DEMO_BOUND_S)
    except subprocess.TimeoutExpired as e:
        return {"argv": argv, "rc": None, "stdout": e.stdout or "", "stderr": e.stderr or "",
                "seconds": DEMO_BOUND_S}
    return {"argv": argv, "rc": cp.returncode, "stdout": cp.stdout, "stderr": cp.stderr,
            "seconds": time.monotonic() - t0}


@pytest.fixture(scope="module")
def demos(request, tlslab_bin, tmp_path_factory):
    """{driver: run_demo result}, for the drivers of the selected tests, run in parallel."""
    wanted = {item.callspec.params["driver"] for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")
              and "driver" in item.callspec.params and item.callspec.params["driver"] in DEMOS}

    def one(driver):
        d = tmp_path_factory.mktemp(f"demo-{driver}")
        args = ["trust-server-certificate"] + ([] if driver == "odbc" else ["--driver", driver])
        return driver, run_demo(tlslab_bin, d, *args)

    with ThreadPoolExecutor(3) as pool:
        return dict(pool.map(one, sorted(wanted)))


def table(stdout: str) -> dict[str, tuple[str, str]]:
    """{label: (trusting column, validating column)}, continuation lines joined with spaces."""
    rows: dict[str, list[list[str]]] = {}
    label = None
    for line in stdout.splitlines():
        if line.startswith("With ") or line.startswith("tlslab demo"):
            label = None
            continue
        head = line[:LABEL_W].strip()
        a, b = line[LABEL_W + 1:LABEL_W + 1 + COL_W].strip(), line[LABEL_W + 1 + COL_W + 2:].strip()
        if head:
            label = head
            rows[label] = [[a] if a else [], [b] if b else []]
        elif label is not None:
            if a:
                rows[label][0].append(a)
            if b:
                rows[label][1].append(b)
    return {k: (" ".join(v[0]), " ".join(v[1])) for k, v in rows.items()}


def squash(text: str) -> str:
    """Without whitespace: the table breaks long words at the column width."""
    return re.sub(r"\s+", "", text)


def describe(run: dict) -> str:
    return (f"argv: {run['argv']}\nexit: {run['rc']} after {run['seconds']:.1f} s\n"
            f"stdout:\n{run['stdout']}\nstderr (tail):\n{run['stderr'][-3000:]}")


@pytest.mark.parametrize("driver", [pytest.param(d, marks=getattr(pytest.mark, d))
                                    for d in DEMOS])
def test_demo_shows_what_trusting_any_certificate_gives_away(driver, demos):
    run = demos[driver]
    trust_name, cert_error = DEMOS[driver]
    assert run["rc"] == 0, describe(run)
    out = run["stdout"]
    assert f"tlslab demo: why {trust_name} is dangerous" in out, describe(run)
    assert re.search(rf"Driver: {driver} \S+\. The proxy in the path shows a broken certificate "
                     r"\(scenario 'self-signed'", out), describe(run)
    t = table(out)
    assert t.get("") is None
    header = [ln for ln in out.splitlines() if trust_name in ln and "validation on" in ln]
    assert header, describe(run)
    said_trust, said_validate = t["the client said"]
    assert said_trust == "connected; SELECT 1 returned 1", describe(run)
    assert said_validate.startswith("refused:") and \
        squash(cert_error) in squash(said_validate), describe(run)
    assert t["user"] == ("lab", "nothing"), describe(run)
    assert t["password"] == (PASSWORD, "nothing"), describe(run)
    assert t["outcome"][0] == "login-encrypted" and \
        t["outcome"][1] in ("closed-during-handshake", "closed-after-handshake"), describe(run)
    # the EXPOSED warning went to the log of the trusting run, with the password (the demo
    # reveals secrets)
    assert re.search(rf"EXPOSED: read the login of user 'lab' with password '{PASSWORD}'.*"
                     r"through the 'self-signed' certificate", run["stderr"]), describe(run)
    # What the proxy read of the application's query. FAILS for tedious today: the demo shows
    # the first client batch, which for tedious is its connection-setup batch
    # ("set ansi_nulls on\nset ansi_null_dflt_on on\n..."), printed with its newlines, which
    # also breaks the table apart (demo_command.cc proxy_read() / wrap()).
    assert t["first query"] == ("SELECT 1", "nothing"), describe(run)
    too_wide = [ln for ln in out.splitlines() if len(ln) > TABLE_W and
                not ln.startswith(("tlslab demo", "Driver:", "With ", "as an", "or trust"))]
    assert not too_wide, too_wide


def test_bad_arguments_exit_2(tlslab_bin, tmp_path):
    for args, message in (
            (["trust-server-certificate", "--driver", "nope"],
             "--driver must be odbc, tedious, jdbc or go"),
            (["trust-server-certificate", "--driver", "tsql"],
             "--driver must be odbc, tedious, jdbc or go"),
            ([], "the demo is `tlslab demo trust-server-certificate`"),
            (["something-else"], "the demo is `tlslab demo trust-server-certificate`"),
            (["trust-server-certificate", "--scenario", "nope"], "--scenario")):
        run = run_demo(tlslab_bin, tmp_path / "state", *args)
        assert run["rc"] == 2 and message in run["stderr"], describe(run)
        assert run["seconds"] < 30, describe(run)
