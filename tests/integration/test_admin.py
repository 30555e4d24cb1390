"""The admin API and `tlslab ctl`, driven while real drivers connect (README-issue4.md,
"test_admin.py").

One `tlslab lab --only valid,self-signed,expired --admin 127.0.0.1:PORT` for the module (PORT
and the listeners' base port picked free at run time, --events into a file); tests that change
a listener's scenario or add rules put things back in a `finally`. Separate short-lived
`tlslab proxy` processes for the bearer token and the loopback-only rule.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import DRIVERS_DIR, TlslabProcess, free_port, free_port_block
from lab_tools import (Admin, Sessions, admin_address, one_login, start_module_tlslab,
                       stop_all)

HOST = "localhost"
LISTENERS = ("valid", "self-signed", "expired")
EXPIRED_GO = "certificate has expired or is not yet valid"   # go-mssqldb / crypto/tls
EXPIRED_TEDIOUS = "certificate has expired"                   # Node: CERT_HAS_EXPIRED
CTL_TIMEOUT_S = 20


@dataclass
class Lab:
    proc: TlslabProcess
    admin: Admin
    ports: dict[str, int]
    sessions: Sessions

    def probe(self, driver, listener="valid", host=HOST, **kw):
        return self.sessions.probe(driver, host=host, port=self.ports[listener], **kw)


@pytest.fixture(scope="module")
def lab(tlslab_bin, state_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("admin")
    events, ports_json = d / "events.jsonl", d / "ports.json"
    last = None
    for _ in range(3):  # a port taken between the check and the bind: try another block
        base, admin_port = free_port_block(len(LISTENERS)), free_port()
        try:
            proc = start_module_tlslab(
                tlslab_bin, state_dir, "lab", "--protocol", "tds", "--base-port", str(base),
                "--only",
                ",".join(LISTENERS), "--admin", f"127.0.0.1:{admin_port}", "--events",
                str(events), "--ports-json", str(ports_json), listen=None, name="lab")
            break
        except AssertionError as e:
            last = e
    else:
        raise last  # type: ignore[misc]
    address = admin_address(proc)
    assert address == f"127.0.0.1:{admin_port}", address
    lab = Lab(proc, Admin(address), json.loads(ports_json.read_text())["tds"], Sessions(events))
    yield lab
    stop_all(proc)


@pytest.fixture
def clean(lab):
    """Every listener shows its own scenario and there are no rules, before and after."""
    def reset():
        deadline = time.monotonic() + 5  # sessions of an earlier test end (and are recorded)
        while lab.admin.ok("GET", "/sessions")["live"] and time.monotonic() < deadline:
            time.sleep(0.05)
        for name in LISTENERS:
            lab.admin.set_scenario(name, name)
        for rule in lab.admin.ok("GET", "/rules"):
            lab.admin.ok("DELETE", f"/rules/{rule['id']}")
    reset()
    yield lab
    reset()


def go_ok(res) -> bool:
    return res["connected"] is True and res["value"] == 1


def go_expired(res) -> bool:
    return res["connected"] is False and EXPIRED_GO in (res["error"] or "")


def ctl(tlslab_bin, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(tlslab_bin), "ctl", *args], capture_output=True, text=True,
                          timeout=CTL_TIMEOUT_S, env={**os.environ, **(env or {})})


# ---- shapes ------------------------------------------------------------------------------------

def test_get_endpoints_have_the_documented_shapes(clean, lab_ca):
    lab = clean
    status, scenarios = lab.admin.get("/scenarios")
    assert status == 200 and lab.admin.headers.get("Content-Type", "").startswith(
        "application/json")
    names = [s["name"] for s in scenarios]
    assert len(names) >= 20 and {"valid", "expired", "encrypt-off", "tds8-no-alpn"} <= set(names)
    for s in scenarios:
        assert set(s) == {"name", "description", "expect", "expect_detail", "passthrough",
                          "protocols", "source", "family", "seed", "dial", "dial_host",
                          "resolve"}, s
        assert s["dial"] in ("name", "ip", "host") and isinstance(s["seed"], list), s
        assert (s["dial_host"] is not None) == (s["dial"] == "host"), s
        assert isinstance(s["resolve"], list), s
        if s["dial"] == "host":
            assert s["resolve"][0] == s["dial_host"], s
        assert all(set(w) == {"client", "text", "source"} for w in s["seed"]), s
        assert s["protocols"] and set(s["protocols"]) <= {"tds", "postgres", "mysql", "tls"}, s
        assert s["expect"] in ("accept", "reject"), s
    by_name = {s["name"]: s for s in scenarios}
    assert (by_name["ip-mismatch"]["dial"], by_name["ip-mismatch"]["resolve"]) == ("ip", [])
    assert (by_name["valid"]["dial"], by_name["valid"]["dial_host"]) == ("name", None)
    listener = by_name["ag-listener-name"]
    assert (listener["dial"], listener["dial_host"], listener["resolve"]) == (
        "host", "aglistener.corp.example", ["aglistener.corp.example"]), listener

    status, listeners = lab.admin.get("/listeners")
    assert status == 200 and [x["id"] for x in listeners] == list(LISTENERS), listeners
    for x in listeners:
        assert set(x) == {"id", "protocol", "address", "port", "scenario", "upstream",
                          "live_sessions", "max_sessions", "refused_max_sessions"}, x
        assert x["protocol"] == "tds", x
        assert x["port"] == lab.ports[x["id"]] and x["address"] == f"127.0.0.1:{x['port']}"
        assert x["scenario"] == x["id"] and x["live_sessions"] == 0, x
        assert x["max_sessions"] == 10000 and x["refused_max_sessions"] == 0, x
        assert x["upstream"] == "localhost", x

    assert lab.admin.ok("GET", "/rules") == []

    before = lab.admin.ok("GET", "/metrics")
    assert set(before) == {"sessions_total", "sessions_live", "messages_total", "by_outcome",
                           "by_scenario", "bytes_from_clients", "bytes_to_clients", "rules",
                           "refused", "threads", "sessions_by_thread"}, before
    assert before["refused"] == {"max-sessions": 0}, before
    # tlslab lab runs one loop per core by default: each connection is counted on one of them.
    assert before["threads"] == len(before["sessions_by_thread"]) >= 1, before
    res, records = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res), res.describe()
    rec = one_login(records)
    after = lab.admin.ok("GET", "/metrics")
    assert after["sessions_total"] == before["sessions_total"] + 1
    assert after["by_scenario"].get("valid", 0) == before["by_scenario"].get("valid", 0) + 1
    assert after["by_outcome"].get("login-encrypted", 0) == \
        before["by_outcome"].get("login-encrypted", 0) + 1
    assert after["bytes_from_clients"] > before["bytes_from_clients"]
    assert after["sessions_live"] == 0 and after["rules"] == 0
    assert sum(after["sessions_by_thread"]) == sum(before["sessions_by_thread"]) + 1, after

    sessions = lab.admin.ok("GET", "/sessions")
    assert set(sessions) == {"live", "recent"} and sessions["live"] == []
    newest = sessions["recent"][0]
    assert newest == {"id": rec["id"], "scenario": "valid", "client": rec["client"],
                      "protocol": "tds7", "outcome": "login-encrypted",
                      "detail": rec["detail"]}, newest
    one = lab.admin.ok("GET", f"/sessions/{rec['id']}")
    assert one["live"] is False and one["id"] == rec["id"] and one["login"]["user_name"] == "lab"
    assert {k: v for k, v in one.items() if k != "live"} == \
        {k: v for k, v in rec.items() if not k.endswith("_ts")}


def test_ctl_verbs_talk_to_the_admin_api(clean, tlslab_bin):
    lab = clean
    a = lab.admin.address
    cp = ctl(tlslab_bin, "--admin", a, "listeners")
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout) == lab.admin.ok("GET", "/listeners")
    cp = ctl(tlslab_bin, "listeners", env={"TLSLAB_ADMIN": a})
    assert cp.returncode == 0 and json.loads(cp.stdout)[0]["id"] == "valid", cp.stderr
    for verb in ("scenarios", "rules", "sessions", "metrics"):
        cp = ctl(tlslab_bin, "--admin", a, verb)
        assert cp.returncode == 0, (verb, cp.stderr)
        got, want = json.loads(cp.stdout), lab.admin.ok("GET", "/" + verb)
        if verb in ("scenarios", "rules"):
            assert got == want, verb
        else:
            assert set(got) == set(want), verb

    cp = ctl(tlslab_bin, "--admin", a, "set", "valid", "expired")
    assert cp.returncode == 0 and json.loads(cp.stdout) == \
        {"listener": "valid", "scenario": "expired", "sessions_reset": 0}, cp.stderr
    assert lab.admin.ok("GET", "/listeners")[0]["scenario"] == "expired"

    cp = ctl(tlslab_bin, "--admin", a, "rule-add", "self-signed", "--sni", "db.example",
             "--listener", "valid")
    assert cp.returncode == 0, cp.stderr
    rule = json.loads(cp.stdout)
    assert rule == {"id": rule["id"], "scenario": "self-signed", "hits": 0, "listener": "valid",
                    "sni": "db.example"}, rule
    assert lab.admin.ok("GET", "/rules") == [rule]
    cp = ctl(tlslab_bin, "--admin", a, "rule-delete", str(rule["id"]))
    assert cp.returncode == 0 and json.loads(cp.stdout) == {"deleted": rule["id"]}, cp.stderr

    cp = ctl(tlslab_bin, "--admin", a, "set", "nope", "valid")
    assert cp.returncode == 1 and "404" in cp.stderr and "no listener 'nope'" in cp.stderr, \
        cp.stderr
    cp = ctl(tlslab_bin, "--admin", a, "frobnicate")
    assert cp.returncode == 2 and "unknown verb" in cp.stderr
    cp = ctl(tlslab_bin, "--admin", f"127.0.0.1:{free_port()}", "listeners")
    assert cp.returncode == 1 and "is the lab running with --admin?" in cp.stderr, cp.stderr


# ---- errors ------------------------------------------------------------------------------------

ERROR_CASES = [
    ("PUT", "/listeners/nope/scenario", {"scenario": "valid"}, 404, "no listener 'nope'"),
    ("PUT", "/listeners/valid/scenario", {"scenario": "nope"}, 404, "nope"),
    ("PUT", "/listeners/valid/scenario", b"{not json", 400, "not valid JSON"),
    ("PUT", "/listeners/valid/scenario", b"", 400, "not valid JSON"),
    ("PUT", "/listeners/valid/scenario", {"scenario": 5}, 400, "body must be"),
    ("PUT", "/listeners/valid/scenario", [1], 400, "body must be"),
    ("PUT", "/listeners/valid/scenario", {"scenario": "expired", "reset_existing": "yes"}, 400,
     "reset_existing must be true or false"),
    ("PUT", "/listeners/valid/scenario", {"scenario": "expired", "colour": 1}, 400,
     "unknown field 'colour'"),
    ("POST", "/rules", b"nope", 400, "not valid JSON"),
    ("POST", "/rules", [1], 400, "must be a JSON object"),
    ("POST", "/rules", {"count": 1}, 400, "scenario is required"),
    ("POST", "/rules", {"scenario": "nope", "count": 1}, 404, "unknown scenario 'nope'"),
    ("POST", "/rules", {"scenario": "expired", "count": 1, "listener": "nope"}, 404,
     "no listener 'nope'"),
    ("POST", "/rules", {"scenario": "expired"}, 400, "give exactly one of"),
    ("POST", "/rules", {"scenario": "expired", "count": 1, "sni": "x"}, 400,
     "give exactly one of"),
    ("POST", "/rules", {"scenario": "expired", "count": 0}, 400, "count must be"),
    ("POST", "/rules", {"scenario": "expired", "count": -2}, 400, "count must be"),
    ("POST", "/rules", {"scenario": "expired", "count": 1.5}, 400, "count must be"),
    ("POST", "/rules", {"scenario": "expired", "sni": ""}, 400, "sni must be a non-empty"),
    ("POST", "/rules", {"scenario": "expired", "count": 1, "when": "now"}, 400,
     "unknown field 'when'"),
    ("DELETE", "/rules/424242", None, 404, "no rule 424242"),
    ("GET", "/sessions/424242", None, 404, "no session 424242"),
    ("GET", "/sessions/abc", None, 404, "404"),
    ("GET", "/nowhere", None, 404, "404 for GET /nowhere"),
    ("GET", "/sessions?listener=no-such-listener", None, 404, "no listener 'no-such-listener'"),
]


@pytest.mark.parametrize("method,path,body,status,message", ERROR_CASES,
                         ids=[f"{c[3]}:{c[0]} {c[1]} {c[4]}" for c in ERROR_CASES])
def test_errors_are_json_with_the_right_status(clean, method, path, body, status, message):
    lab = clean
    raw = body if isinstance(body, bytes) else None
    got, parsed = lab.admin.request(method, path, None if raw is not None else body, raw=raw)
    assert got == status and isinstance(parsed, dict) and list(parsed) == ["error"] and \
        message in parsed["error"], (got, parsed)
    assert lab.admin.ok("GET", "/rules") == []
    assert [x["scenario"] for x in lab.admin.ok("GET", "/listeners")] == list(LISTENERS)


@pytest.mark.parametrize("path", ["/sessions/99999999999999999999999",
                                  "/rules/99999999999999999999999"])
def test_an_id_beyond_64_bits_is_not_a_server_error(clean, path):
    """Was a tlslab bug, fixed: 500 {"error": "500 for GET /sessions/999..."} because the route's
    std::stoull throws out_of_range (admin_server.cc). No such session/rule: 404."""
    method = "GET" if path.startswith("/sessions") else "DELETE"
    got, parsed = clean.admin.request(method, path)
    assert got == 404, (got, parsed)


def test_bearer_token_is_required_when_set(tlslab_bin, state_dir, tlslab):
    px = tlslab("proxy", "--upstream", f"127.0.0.1:{free_port()}", "--admin", "127.0.0.1:0",
                "--admin-token", "s3cret-token", name="token-proxy")
    admin = Admin(admin_address(px))
    for token in (False, "wrong", "s3cret-toke", "S3CRET-TOKEN"):
        status, body = admin.get("/listeners", token=token)
        assert status == 401 and body == {"error": "missing or wrong bearer token"}, \
            (token, status, body)
    status, body = admin.put("/listeners/proxy/scenario", {"scenario": "expired"}, token=False)
    assert status == 401
    status, body = admin.get("/listeners", token="s3cret-token")
    assert status == 200 and body[0]["id"] == "proxy" and body[0]["scenario"] == "valid"
    cp = ctl(tlslab_bin, "--admin", admin.address, "listeners")
    assert cp.returncode == 1 and "401" in cp.stderr, cp.stderr
    cp = ctl(tlslab_bin, "--admin", admin.address, "--admin-token", "s3cret-token", "listeners")
    assert cp.returncode == 0 and json.loads(cp.stdout)[0]["id"] == "proxy", cp.stderr
    cp = ctl(tlslab_bin, "--admin", admin.address, "listeners",
             env={"TLSLAB_ADMIN_TOKEN": "s3cret-token"})
    assert cp.returncode == 0, cp.stderr


def non_loopback_address() -> str:
    """An IPv4 address of this machine that is not loopback, else 0.0.0.0."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", out):
        if not m.group(1).startswith("127."):
            return m.group(1)
    return "0.0.0.0"


REFUSAL_BOUND_S = 12.0


def test_admin_on_a_non_loopback_address_needs_allow_remote(tlslab_bin, state_dir, tlslab):
    """`--admin ADDR:0` on an address of this machine that is not loopback (and on 0.0.0.0),
    for proxy and lab: a clear message and a non-zero exit, promptly. Was a tlslab bug, fixed: the message
    is printed, then the process hangs (until SIGKILL/SIGTERM): run_proxy_command /
    run_lab_command return 2 after the listeners and the LoopBridge's uv_async were created,
    and ~EventLoop runs uv_run(UV_RUN_DEFAULT) on a loop whose handles nobody closed."""
    addr = non_loopback_address()
    runs = []
    for where in sorted({addr, "0.0.0.0"}):
        for sub in (["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"],
                    ["lab", "--protocol", "tds", "--base-port", str(free_port_block(1)), "--only", "valid"]):
            argv = [str(tlslab_bin), "--state-dir", str(state_dir), *sub,
                    "--admin", f"{where}:0"]
            runs.append((where, argv, subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, start_new_session=True)))
    problems = []
    deadline = time.monotonic() + REFUSAL_BOUND_S
    for where, argv, p in runs:
        try:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate(timeout=5)
            problems.append(f"{' '.join(argv[3:])}: still running after {REFUSAL_BOUND_S} s "
                            f"(killed); it said: {err.strip()!r}")
            continue
        if p.returncode == 0:
            problems.append(f"{' '.join(argv[3:])}: exit 0")
        if f"--admin {where}:0 is not a loopback address" not in err or \
                "--admin-allow-remote" not in err:
            problems.append(f"{' '.join(argv[3:])}: unclear message {err.strip()!r}")
    # the message itself is right in every case (it is printed before the hang)
    assert problems == [], "\n".join(problems)


def test_admin_port_in_use_is_a_clear_error(tlslab_bin, state_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for lab in (False, True):
            for _ in range(5):  # the lab's base port can be lost to another program meanwhile
                sub = (["lab", "--protocol", "tds", "--base-port", str(free_port_block(1)),
                        "--only", "valid"] if lab else
                       ["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"])
                cp = subprocess.run([str(tlslab_bin), "--state-dir", str(state_dir), *sub,
                                     "--admin", f"127.0.0.1:{port}"], stdin=subprocess.DEVNULL,
                                    capture_output=True, text=True, timeout=REFUSAL_BOUND_S)
                if not (lab and "choose another base port" in cp.stderr):
                    break
            assert cp.returncode != 0 and \
                f"cannot listen on 127.0.0.1:{port} (in use?)" in cp.stderr, (sub, cp.stderr)


def test_admin_allow_remote_serves_on_a_non_loopback_address(tlslab):
    addr = non_loopback_address()
    if addr == "0.0.0.0":
        pytest.skip("this machine has no non-loopback IPv4 address")
    px = tlslab("proxy", "--upstream", "127.0.0.1:1", "--admin", f"{addr}:0",
                "--admin-allow-remote", name="remote-admin")
    where = admin_address(px)
    assert where.startswith(addr + ":"), where
    assert Admin(where).ok("GET", "/listeners")[0]["id"] == "proxy"


# ---- switching a listener ----------------------------------------------------------------------

@pytest.mark.go
@pytest.mark.tedious
def test_switching_a_listener_changes_what_the_next_connection_meets(clean, lab_ca):
    lab = clean
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res) and recs[-1]["scenario"] == "valid", res.describe()
    assert lab.admin.set_scenario("valid", "expired") == \
        {"listener": "valid", "scenario": "expired", "sessions_reset": 0}
    assert lab.admin.ok("GET", "/listeners")[0]["scenario"] == "expired"
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_expired(res), res.describe()
    assert [r["scenario"] for r in recs] == ["expired"] and recs[0]["login"] is None, recs
    assert recs[0]["certificate_shown"]["not_after"] < recs[0]["started"], recs[0]
    res, recs = lab.probe("tedious", ca=lab_ca, encrypt="true")
    assert res["connected"] is False and EXPIRED_TEDIOUS in res["error"], res.describe()
    assert recs[-1]["scenario"] == "expired", recs
    lab.admin.set_scenario("valid", "valid")
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res) and recs[-1]["scenario"] == "valid", res.describe()


def test_lab_and_a_listeners_sessions_for_tools(clean, lab_ca):
    """GET /lab: the lab CA (what tlslab matrix gives drivers as {ca}) and the lab's names.
    GET /sessions?listener=ID&after=N: that listener's live sessions and its whole records newer
    than session N, oldest first (how a matrix cell collects its sessions)."""
    lab = clean
    info = lab.admin.ok("GET", "/lab")
    assert info["ca_pem"] == lab_ca.read_text(), info
    assert "localhost" in info["dns_names"] and "127.0.0.1" in info["ip_addresses"], info
    before = lab.admin.ok("GET", "/sessions?listener=valid")
    assert before["listener"] == "valid" and before["live"] == 0, before
    newest = max([r["id"] for r in before["records"]], default=0)
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res), res.describe()
    after = lab.admin.ok("GET", f"/sessions?listener=valid&after={newest}")
    assert [r["id"] for r in after["records"]] == [r["id"] for r in recs], (after, recs)
    assert after["records"][0]["outcome"] == "login-encrypted"
    assert after["records"][0]["login"]["user_name"] == "lab"
    # another listener's sessions are not this one's
    other = lab.admin.ok("GET", "/listeners")[1]["id"]
    assert lab.admin.ok("GET", f"/sessions?listener={other}&after={newest}")["records"] == []


# ---- rules -------------------------------------------------------------------------------------

@pytest.mark.go
def test_count_rule_applies_to_exactly_n_connections(clean, lab_ca):
    lab = clean
    rule = lab.admin.ok("POST", "/rules", {"scenario": "expired", "count": 3,
                                           "listener": "valid"}, want=201)
    assert rule == {"id": rule["id"], "scenario": "expired", "hits": 0, "listener": "valid",
                    "remaining": 3}, rule
    seen = []
    for i in range(5):
        res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
        seen.append((go_ok(res), go_expired(res), [r["scenario"] for r in recs]))
        if i == 0:
            assert lab.admin.ok("GET", "/rules") == [{**rule, "hits": 1, "remaining": 2}]
    assert seen == [(False, True, ["expired"])] * 3 + [(True, False, ["valid"])] * 2, seen
    assert lab.admin.ok("GET", "/rules") == [], "a used-up count rule is removed"


@pytest.mark.go
def test_client_address_rule_hits_its_address_until_deleted(clean, lab_ca):
    lab = clean
    other = lab.admin.ok("POST", "/rules", {"scenario": "self-signed",
                                            "client_address": "127.0.0.2"}, want=201)
    mine = lab.admin.ok("POST", "/rules", {"scenario": "expired",
                                           "client_address": "127.0.0.1"}, want=201)
    assert mine["listener"] is None and mine["client_address"] == "127.0.0.1"
    for _ in range(2):
        res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
        assert go_expired(res) and [r["scenario"] for r in recs] == ["expired"], res.describe()
    # no listener given: the rule applies on every listener
    res, recs = lab.probe("go", listener="self-signed", ca=lab_ca, encrypt="true")
    assert go_expired(res) and recs[-1]["scenario"] == "expired", res.describe()
    rules = {r["id"]: r for r in lab.admin.ok("GET", "/rules")}
    assert rules[mine["id"]]["hits"] == 3 and rules[other["id"]]["hits"] == 0, rules
    assert lab.admin.ok("DELETE", f"/rules/{mine['id']}") == {"deleted": mine["id"]}
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res) and recs[-1]["scenario"] == "valid", res.describe()
    assert [r["id"] for r in lab.admin.ok("GET", "/rules")] == [other["id"]]
    status, body = lab.admin.delete(f"/rules/{mine['id']}")
    assert status == 404


@pytest.mark.go
@pytest.mark.tedious
def test_prelogin_version_rule_hits_the_driver_whose_version_it_prefixes(clean, lab_ca):
    lab = clean
    _, go_recs = lab.probe("go", ca=lab_ca, encrypt="true")
    _, ted_recs = lab.probe("tedious", ca=lab_ca, encrypt="true")
    go_version = go_recs[-1]["client_prelogin"]["version"]
    ted_version = ted_recs[-1]["client_prelogin"]["version"]
    assert ted_version.startswith("19.2.2"), ted_version
    assert not go_version.startswith("19."), go_version
    rule = lab.admin.ok("POST", "/rules", {"scenario": "expired", "prelogin_version": "19.",
                                           "listener": "valid"}, want=201)
    res, recs = lab.probe("tedious", ca=lab_ca, encrypt="true")
    assert res["connected"] is False and EXPIRED_TEDIOUS in res["error"], res.describe()
    assert recs[-1]["scenario"] == "expired", recs
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res) and recs[-1]["scenario"] == "valid", res.describe()
    assert lab.admin.ok("GET", "/rules")[0]["hits"] == 1
    lab.admin.ok("DELETE", f"/rules/{rule['id']}")
    # a prefix of go's own version picks go
    prefix = go_version.split(".")[0] + "."
    lab.admin.ok("POST", "/rules", {"scenario": "expired", "prelogin_version": prefix},
                 want=201)
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_expired(res) and recs[-1]["scenario"] == "expired", res.describe()


@pytest.mark.go
@pytest.mark.tedious
@pytest.mark.jdbc
def test_sni_rule_hits_clients_that_send_that_name(clean, lab_ca):
    """go and tedious send SNI "localhost" when dialling localhost; go dialling 127.0.0.1 and
    mssql-jdbc (Java sends SNI only for dotted names) send none."""
    lab = clean
    rule = lab.admin.ok("POST", "/rules", {"scenario": "expired", "sni": "localhost",
                                           "listener": "valid"}, want=201)
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_expired(res), res.describe()
    assert recs[-1]["scenario"] == "expired" and \
        recs[-1]["client_leg"]["tls"]["sni"] == "localhost", recs[-1]
    res, recs = lab.probe("tedious", ca=lab_ca, encrypt="true")
    assert res["connected"] is False and EXPIRED_TEDIOUS in res["error"], res.describe()
    res, recs = lab.probe("go", host="127.0.0.1", ca=lab_ca, encrypt="true")
    assert go_ok(res) and recs[-1]["client_leg"]["tls"]["sni"] is None and \
        recs[-1]["scenario"] == "valid", recs[-1]
    res, recs = lab.probe("jdbc", ca=lab_ca, encrypt="true")
    assert res["connected"] and recs[-1]["client_leg"]["tls"]["sni"] is None and \
        recs[-1]["scenario"] == "valid", res.describe()
    assert lab.admin.ok("GET", "/rules") == [{**rule, "hits": 2}]
    lab.admin.ok("DELETE", f"/rules/{rule['id']}")
    res, recs = lab.probe("go", ca=lab_ca, encrypt="true")
    assert go_ok(res), res.describe()


# ---- reset_existing and a pooled connection ----------------------------------------------------

class PooledGo:
    """probes/go/probe --repeat N --pause-ms M: one database/sql pool with one
    connection, one JSON line per run, read as they come (bounded)."""

    def __init__(self, port: int, ca: Path, runs: int, pause_ms: int):
        self.argv = [str(DRIVERS_DIR / "go" / "probe"), "--host", HOST, "--port", str(port),
                     "--ca", str(ca), "--encrypt", "true", "--timeout", "5",
                     "--repeat", str(runs), "--pause-ms", str(pause_ms)]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            if line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def next(self, bound: float = 15.0) -> dict:
        try:
            line = self.lines.get(timeout=bound)
        except queue.Empty:
            raise AssertionError(f"no line from {self.argv} within {bound} s")
        assert line is not None, f"go probe ended early: {self.proc.stderr.read()[-2000:]}"
        return line

    def finish(self, bound: float = 15.0) -> None:
        try:
            assert self.proc.wait(bound) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)


@pytest.mark.go
def test_reset_existing_drops_the_pooled_connection(clean, lab_ca):
    """Run 1 on `valid` logs in; during the pause the listener switches to `expired` with
    reset_existing: the proxy closes the pooled connection. Observed with go-mssqldb 1.11.2:
    run 2 fails on the dead connection ("Read: EOF"; database/sql does not retry a query the
    driver had already sent) and the pool drops it; run 3 dials again and meets the expired
    certificate. (Should database/sql ever retry run 2 on a new connection, run 2 itself would
    show the certificate error; both shapes pass, nothing else does.)"""
    lab = clean
    go = PooledGo(lab.ports["valid"], lab_ca, runs=3, pause_ms=1500)
    try:
        first = go.next()
        assert first["iteration"] == 1 and first["connected"] and first["value"] == 1 and \
            first["dials"] == 1, first
        reply = lab.admin.set_scenario("valid", "expired", reset_existing=True)
        assert reply == {"listener": "valid", "scenario": "expired", "sessions_reset": 1}, reply
        second, third = go.next(), go.next()
    finally:
        go.finish()
    assert second["iteration"] == 2 and third["iteration"] == 3
    assert not second["connected"] and not third["connected"], (second, third)
    if second["dials"] == 1:  # the dead pooled connection, then a new one
        assert any(w in second["error"] for w in ("EOF", "reset", "broken pipe")), second
        reconnect = third
    else:
        reconnect = second
    assert reconnect["dials"] == 2 and EXPIRED_GO in reconnect["error"] and \
        reconnect["local_port"] != first["local_port"], reconnect
    assert third["dials"] <= 3 and EXPIRED_GO in third["error"], third


@pytest.mark.go
def test_without_reset_existing_the_pooled_connection_keeps_working(clean, lab_ca):
    lab = clean
    go = PooledGo(lab.ports["valid"], lab_ca, runs=3, pause_ms=1500)
    try:
        first = go.next()
        assert first["connected"] and first["dials"] == 1, first
        reply = lab.admin.set_scenario("valid", "expired", reset_existing=False)
        assert reply["sessions_reset"] == 0, reply
        assert lab.admin.ok("GET", "/listeners")[0]["live_sessions"] == 1
        # a new connection meets the new scenario meanwhile
        res, _ = lab.probe("go", ca=lab_ca, encrypt="true")
        assert go_expired(res), res.describe()
        rest = [go.next(), go.next()]
    finally:
        go.finish()
    for r in rest:
        assert r["connected"] and r["value"] == 1 and r["dials"] == 1 and \
            r["local_port"] == first["local_port"], r


@pytest.mark.go
def test_reset_existing_records_the_session_it_closed(clean, lab_ca):
    """A session closed by reset_existing must still end with a record (--events, /sessions,
    /metrics) and a log line, like every other session. Was a tlslab bug, fixed: SessionRegistry::
    close_where -> Session::close -> begin_close tears the connection down without telling the
    ProxySession, so no Record action is ever produced (the same path closes live sessions
    on SIGTERM, which lose their records too)."""
    lab = clean
    go = PooledGo(lab.ports["valid"], lab_ca, runs=2, pause_ms=1500)
    try:
        first = go.next()
        assert first["connected"], first
        live = lab.admin.ok("GET", "/sessions")["live"]
        assert len(live) == 1, live
        live_id = live[0]["id"]
        total = lab.admin.ok("GET", "/metrics")["sessions_total"]
        assert lab.admin.set_scenario("valid", "expired", reset_existing=True)[
            "sessions_reset"] == 1
        go.next()
    finally:
        go.finish()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(r["id"] == live_id for r in lab.sessions.all()):
            break
        time.sleep(0.1)
    ids = [r["id"] for r in lab.sessions.all()]
    status, body = lab.admin.get(f"/sessions/{live_id}")
    metrics = lab.admin.ok("GET", "/metrics")
    assert live_id in ids and status == 200 and metrics["sessions_total"] >= total + 1, (
        f"session #{live_id} (closed by reset_existing) has no record: events ids {ids[-5:]}, "
        f"GET /sessions/{live_id} -> {status} {body}, sessions_total {total} -> "
        f"{metrics['sessions_total']}")
