"""tlslab proxy --threads N (and tlslab lab --threads N): sessions spread over N event loops, one
thread each, through the real binary with real sockets (proxy/net/worker_loops.h,
docs/architecture.md "Around the loop").

What a user relies on with several loops, checked with two:
- connections are given to the loops in turn (/metrics `threads`, `sessions_by_thread`), and every
  session works on whichever loop it landed;
- the admin API sees every live session, on every loop, with unique ids; a scenario switch with
  `reset_existing` closes the sessions of both loops;
- --max-sessions counts one listener across loops;
- every session is recorded exactly once, also those still open at shutdown (SIGTERM);
- --threads is refused with a message when out of range or with --transparent;
- `tlslab lab --threads 2`: every scenario listener gives its connections to both loops, real
  TLS drivers validate or refuse as on one loop, and each session is recorded once.

Every client is rawtds (plain TDS 7.x PRELOGIN NOT_SUP + LOGIN7) against `tlslab serve
--encryption off`, so a test sees every byte; the TLS paths run on several loops in every other
module, since --threads defaults to one loop per core.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

import rawtds as R
from harness import EventLog, free_port, free_port_block, run_probe, start_lab_on_free_ports
from lab_tools import Admin, admin_address
# The fixtures and clients of test_limits.py (serve_off: `tlslab serve --encryption off`;
# proxy(*args): a proxy in front of it with an events file and the admin API).
from test_limits import login, local_port, proxy, select_1, serve_off  # noqa: F401

THREADS = ("--threads", "2")


def wait_until(pred, bound: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + bound
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} not reached within {bound} s"
        time.sleep(0.05)


def test_sessions_alternate_between_the_loops_and_all_work(proxy):
    p, events, admin = proxy(*THREADS)
    held = [login(p.port) for _ in range(20)]
    metrics = admin.ok("GET", "/metrics")
    assert metrics["threads"] == 2, metrics
    assert metrics["sessions_by_thread"] == [10, 10], metrics
    assert metrics["sessions_live"] == 20, metrics
    assert admin.ok("GET", "/listeners")[0]["live_sessions"] == 20

    # The admin API lists the live sessions of both loops, each once, ids unique.
    live = admin.ok("GET", "/sessions")["live"]
    ports = sorted(int(s["client"].rsplit(":", 1)[1]) for s in live)
    assert ports == sorted(local_port(c) for c in held), live
    ids = [s["id"] for s in live]
    assert len(set(ids)) == 20, ids
    for s in live[:3] + live[-3:]:
        one = admin.ok("GET", f"/sessions/{s['id']}")
        assert one["live"] is True and one["client"] == s["client"], one

    # Every session works on whichever loop holds it, in any order.
    for c in reversed(held):
        select_1(c)
    for c in held:
        select_1(c)
    for c in held:
        c.close()

    # Recorded exactly once each, as logins, under the ids the admin API showed.
    records = events.wait_for(lambda r: True, count=20)
    assert len(records) == 20, [r["id"] for r in records]
    assert sorted(r["id"] for r in records) == sorted(ids)
    assert {r["outcome"] for r in records} == {"login-plaintext"}, {r["outcome"] for r in records}
    wait_until(lambda: admin.ok("GET", "/metrics")["sessions_live"] == 0, what="no live session")
    assert admin.ok("GET", "/metrics")["sessions_total"] == 20


def test_a_scenario_switch_with_reset_closes_the_sessions_of_every_loop(proxy):
    p, events, admin = proxy(*THREADS)
    held = [login(p.port) for _ in range(6)]
    assert admin.ok("GET", "/metrics")["sessions_by_thread"] == [3, 3]
    got = admin.ok("PUT", "/listeners/proxy/scenario",
                   {"scenario": "expired", "reset_existing": True})
    assert got["sessions_reset"] == 6, got
    for c in held:
        how, _ = R.wait_closed(c.sock, bound=3.0)
        assert how in ("eof", "reset"), "a session survived reset_existing"
    records = events.wait_for(lambda r: True, count=6)
    assert all("reset_existing" in r["detail"] for r in records), [r["detail"] for r in records]


def test_max_sessions_is_one_count_across_the_loops(proxy):
    p, _, admin = proxy(*THREADS, "--max-sessions", "3")
    held = [login(p.port) for _ in range(3)]  # loops 0, 1, 0
    for _ in range(2):  # turn 4 would go to loop 1, turn 5 to loop 0: both refused
        extra = R.connect(p.port)
        how, got = R.wait_closed(extra, bound=3.0)
        assert how in ("eof", "reset") and got == b"", "a client beyond --max-sessions was served"
        extra.close()
    assert admin.ok("GET", "/metrics")["refused"]["max-sessions"] == 2
    for c in held:
        select_1(c)
        c.close()


def test_sessions_open_at_shutdown_are_each_recorded_once(proxy):
    p, events, admin = proxy(*THREADS)
    held = [login(p.port) for _ in range(8)]
    ids = sorted(s["id"] for s in admin.ok("GET", "/sessions")["live"])
    assert len(ids) == 8 and admin.ok("GET", "/metrics")["sessions_by_thread"] == [4, 4]
    t0 = time.monotonic()
    assert p.stop() == 0
    assert time.monotonic() - t0 < 5.0, "shutdown with sessions on two loops took too long"
    records = events.records()
    assert sorted(r["id"] for r in records) == ids, [r["id"] for r in records]
    assert all("shutting down" in r["detail"] for r in records), [r["detail"] for r in records]
    for c in held:
        c.close()


def test_the_lab_spreads_every_listeners_sessions_over_its_loops(tlslab_bin, state_dir, lab_ca,
                                                                  tmp_path):
    """The lab on two loops: the go-mssqldb probe (Encrypt=true, the lab CA) logs in through
    `valid` and refuses `expired`, connections alternate between the loops across listeners, and
    every session is recorded once with its scenario."""
    events, ports_json = tmp_path / "events.jsonl", tmp_path / "ports.json"
    lab = start_lab_on_free_ports(
        tlslab_bin, lambda: ["--protocol", "tds", "--only", "valid,expired", "--base-port",
                             str(free_port_block(2)), "--ports-json", str(ports_json),
                             "--events", str(events), "--admin", f"127.0.0.1:{free_port()}",
                             *THREADS],
        state_dir=state_dir, listen=None, name="lab --threads 2")
    try:
        ports, admin = json.loads(ports_json.read_text())["tds"], Admin(admin_address(lab))
        results = []
        for scenario in ("valid", "expired", "valid", "expired", "valid", "valid"):
            r = run_probe("go", host="localhost", port=ports[scenario], ca=str(lab_ca),
                          encrypt="true")
            results.append((scenario, r))
        for scenario, r in results:
            assert r["connected"] is (scenario == "valid"), (scenario, r.describe())
        metrics = admin.ok("GET", "/metrics")
        assert metrics["threads"] == 2, metrics
        assert sum(metrics["sessions_by_thread"]) == metrics["sessions_total"], metrics
        assert all(n > 0 for n in metrics["sessions_by_thread"]), metrics
        records = EventLog(events).wait_for(lambda r: True, count=metrics["sessions_total"])
        assert len({r["id"] for r in records}) == len(records) == metrics["sessions_total"]
        by_scenario = {s: [r["outcome"] for r in records if r["scenario"] == s]
                       for s in ("valid", "expired")}
        assert by_scenario["valid"].count("login-encrypted") == 4, by_scenario
        assert by_scenario["expired"] and "login-encrypted" not in by_scenario["expired"], \
            by_scenario
    finally:
        assert lab.stop() == 0


def test_the_lab_refuses_a_bad_thread_count_as_the_proxy_does(tlslab_bin, state_dir):
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), "lab", "--protocol",
                         "tds", "--only", "valid", "--base-port", str(free_port_block(1)),
                         "--threads", "0"], capture_output=True, text=True, timeout=30)
    assert cp.returncode == 2 and "tlslab lab: --threads must be 1 to 64" in cp.stderr, cp.stderr


@pytest.mark.parametrize("args,words", [
    (["--threads", "0"], "--threads must be 1 to 64"),
    (["--threads", "65"], "--threads must be 1 to 64"),
    (["--threads", "two"], "--threads must be 1 to 64 (got 'two')"),
    (["--threads", "-1"], "--threads must be 1 to 64"),
])
def test_bad_thread_counts_are_refused(tlslab_bin, state_dir, args, words):
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), "proxy", "--listen",
                         "127.0.0.1:0", "--upstream", "127.0.0.1:1", *args],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 2 and words in cp.stderr, (cp.returncode, cp.stderr)


def test_transparent_mode_runs_on_one_loop(tlslab_bin, state_dir):
    cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), "proxy", "--listen",
                         "127.0.0.1:0", "--transparent", "--threads", "2"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 2 and "--transparent runs on one thread" in cp.stderr, cp.stderr
