"""What the proxy reads: LOGIN7 in the record, the EXPOSED warning, --reveal-secrets,
--record-messages, --pcap and --keylog, with real drivers through the real binary
(README-issue4.md, "test_inspect.py").

Module-scoped processes (nothing else connects to them, tests run one after the other, so the
records a probe produced are the ones written after it started):

  serve off / serve strict      the upstreams
  inspect proxy                 -> serve off, scenario valid, --events --pcap --keylog
                                   --record-messages --admin 127.0.0.1:0 (tests switch its
                                   scenario through the admin API and switch it back)
  reveal proxy                  -> serve off, scenario self-signed, --reveal-secrets --events
  strict proxy                  -> serve strict, --events --pcap --keylog --record-messages

Drivers dial `localhost` and validate with the lab CA unless a test says otherwise.
"""

from __future__ import annotations

import contextlib
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import TlslabProcess
from lab_tools import (PASSWORD, PASSWORD_LENGTH, VALIDATE_ENCRYPT, Admin, Capture, Sessions,
                       admin_address, dparams, dummy_rsa_key, exposed_lines, need_tshark, one_login,
                       serve_process, session_lines, start_module_tlslab, stop_all, tls_tds_uat,
                       tshark_rows, unhex, utf16, wait_exposed)

HOST = "localhost"


@dataclass
class Proxy:
    proc: TlslabProcess
    port: int
    sessions: Sessions
    events: Path
    pcap: Path | None = None
    keylog: Path | None = None
    admin: Admin | None = None


@pytest.fixture(scope="module")
def upstreams(tlslab_bin, state_dir):
    off = serve_process(tlslab_bin, state_dir, "off")
    strict = serve_process(tlslab_bin, state_dir, "strict")
    yield {"off": off, "strict": strict}
    stop_all(off, strict)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inspect")


def _proxy(tlslab_bin, state_dir, lab_ca, upstream: TlslabProcess, d: Path, name: str,
           scenario: str, *, pcap=False, keylog=False, messages=True, reveal=False,
           admin=False) -> Proxy:
    events = d / f"{name}.events.jsonl"
    args = ["--upstream", upstream.address, "--upstream-ca", str(lab_ca), "--scenario",
            scenario, "--events", str(events)]
    px = Proxy(proc=None, port=0, sessions=Sessions(events), events=events)  # type: ignore
    if pcap:
        px.pcap = d / f"{name}.pcap"
        args += ["--pcap", str(px.pcap)]
    if keylog:
        px.keylog = d / f"{name}.keylog"
        args += ["--keylog", str(px.keylog)]
    if messages:
        args.append("--record-messages")
    if reveal:
        args.append("--reveal-secrets")
    if admin:
        args += ["--admin", "127.0.0.1:0"]
    px.proc = start_module_tlslab(tlslab_bin, state_dir, "proxy", *args, name=name)
    px.port = px.proc.port
    if admin:
        px.admin = Admin(admin_address(px.proc))
    return px


@pytest.fixture(scope="module")
def inspect_proxy(tlslab_bin, state_dir, lab_ca, upstreams, work):
    px = _proxy(tlslab_bin, state_dir, lab_ca, upstreams["off"], work, "inspect", "valid",
                pcap=True, keylog=True, admin=True)
    yield px
    stop_all(px.proc)


@pytest.fixture(scope="module")
def reveal_proxy(tlslab_bin, state_dir, lab_ca, upstreams, work):
    px = _proxy(tlslab_bin, state_dir, lab_ca, upstreams["off"], work, "reveal", "self-signed",
                reveal=True)
    yield px
    stop_all(px.proc)


@pytest.fixture(scope="module")
def strict_proxy(tlslab_bin, state_dir, lab_ca, upstreams, work):
    px = _proxy(tlslab_bin, state_dir, lab_ca, upstreams["strict"], work, "strict", "valid",
                pcap=True, keylog=True)
    yield px
    stop_all(px.proc)


@contextlib.contextmanager
def scenario(px: Proxy, name: str):
    """The inspect proxy shows `name` inside the block, `valid` again afterwards."""
    px.admin.set_scenario("proxy", name)
    try:
        yield
    finally:
        px.admin.set_scenario("proxy", "valid")


def validating(driver: str, lab_ca: Path, **kw) -> dict:
    return {"ca": lab_ca, "encrypt": VALIDATE_ENCRYPT[driver], **kw}


def client_port(record: dict) -> int:
    return int(record["client"].rsplit(":", 1)[1])


# ---- LOGIN7 in the record ----------------------------------------------------------------------

# What each driver puts in its LOGIN7 (and the proxy must decode), dialling localhost:PORT.
# packet_size: ODBC Driver 18 sends 0 ("use the server's"), confirmed with Wireshark's
# tds.7login.packet_size on the --pcap of the same session (test_pcap_tds7_...).
LOGIN_FIELDS = {
    "tedious": {"app_name": "Tedious", "library_name": "Tedious", "server_name": "localhost",
                "packet_size": 4096},
    "odbc": {"app_name": "tlslab-probe", "library_name": "ODBC",
             "server_name": "localhost,{port}", "packet_size": 0},
    "jdbc": {"app_name": "Microsoft JDBC Driver for SQL Server",
             "library_name": "Microsoft JDBC Driver 12.10", "server_name": "localhost",
             "packet_size": 8000},
    "go": {"app_name": "tlslab-probe-go", "library_name": "go-mssqldb",
           "server_name": "localhost", "packet_size": 4096},
    "tsql": {"app_name": "TSQL", "library_name": "TDS-Library",
             "server_name": "tlslab", "packet_size": 4096},  # the freetds.conf section name
}


@pytest.mark.parametrize("driver", dparams(*LOGIN_FIELDS))
def test_login7_is_decoded_into_the_record(driver, inspect_proxy, lab_ca):
    px = inspect_proxy
    res, records = px.sessions.probe(driver, port=px.port, **validating(driver, lab_ca))
    assert res["connected"] and res["value"] == 1, res.describe()
    rec = one_login(records, res.describe())
    login = rec["login"]
    want = {k: (v.format(port=px.port) if isinstance(v, str) else v)
            for k, v in LOGIN_FIELDS[driver].items()}
    want.update(user_name="lab", tds_version="7.4", auth_kind="sql", password=None,
                password_length=PASSWORD_LENGTH, through_tls=True, database="")
    got = {k: login.get(k) for k in want}
    assert got == want, f"login of {driver}: {got}\nwant {want}\nrecord: {rec}"
    assert login["host_name"] == socket.gethostname(), login
    assert isinstance(login["features"], list), login
    assert rec["outcome"] == "login-encrypted" and rec["scenario"] == "valid", rec
    # the admin API serves the same record
    status, body = px.admin.get(f"/sessions/{rec['id']}")
    assert status == 200 and body["login"] == login and body["live"] is False, body


@pytest.mark.parametrize("driver", dparams("go", "tedious", "odbc"))
def test_reveal_secrets_puts_the_password_in_the_record_and_the_log(driver, reveal_proxy):
    """--reveal-secrets: the record has the password; the EXPOSED line (the certificate is
    self-signed and the driver trusts any certificate) names it."""
    px = reveal_proxy
    mark = px.proc.mark()
    res, records = px.sessions.probe(driver, port=px.port, encrypt=VALIDATE_ENCRYPT[driver],
                                     trust_server_certificate=True)
    assert res["connected"], res.describe()
    rec = one_login(records, res.describe())
    assert rec["login"]["password"] == PASSWORD and \
        rec["login"]["password_length"] == PASSWORD_LENGTH, rec["login"]
    lines = wait_exposed(px.proc, rec["id"], mark)
    assert len(lines) == 1 and f"password '{PASSWORD}'" in lines[0], lines
    assert PASSWORD in px.events.read_text()


# ---- the EXPOSED warning -----------------------------------------------------------------------

@pytest.mark.odbc
def test_exposed_when_a_trusting_client_logs_in_through_a_bad_certificate(inspect_proxy):
    px = inspect_proxy
    with scenario(px, "self-signed"):
        mark = px.proc.mark()
        res, records = px.sessions.probe("odbc", port=px.port, encrypt="yes",
                                         trust_server_certificate=True)
    assert res["connected"] and res["value"] == 1, res.describe()
    rec = one_login(records, res.describe())
    assert rec["scenario"] == "self-signed" and rec["outcome"] == "login-encrypted", rec
    assert rec["login"]["through_tls"] is True and rec["login"]["password"] is None
    lines = wait_exposed(px.proc, rec["id"], mark)
    assert len(lines) == 1, px.proc.log_text(mark)
    line = lines[0]
    for part in ("warn", "EXPOSED: read the login of user 'lab'",
                 f"a {PASSWORD_LENGTH}-character password (--reveal-secrets shows it)",
                 "app 'tlslab-probe'", "through the 'self-signed' certificate",
                 "which a validating client must reject"):
        assert part in line, f"{part!r} not in {line!r}"
    assert PASSWORD not in line


@pytest.mark.tedious
def test_exposed_when_tedious_logs_in_in_plaintext_after_a_downgrade(inspect_proxy, lab_ca):
    """tedious 19, encrypt=true and the lab CA, is told NOT_SUP and sends LOGIN7 in clear."""
    px = inspect_proxy
    with scenario(px, "encrypt-not-supported"):
        mark = px.proc.mark()
        res, records = px.sessions.probe("tedious", port=px.port, encrypt="true", ca=lab_ca)
    assert res["connected"], res.describe()
    rec = one_login(records, res.describe())
    assert rec["outcome"] == "login-plaintext" and rec["login"]["through_tls"] is False, rec
    assert rec["client_prelogin"]["encryption"] == "ON"
    assert rec["client_answer"]["encryption"] == "NOT_SUP"
    lines = wait_exposed(px.proc, rec["id"], mark)
    assert len(lines) == 1, px.proc.log_text(mark)
    for part in ("EXPOSED: read the login of user 'lab'", "app 'Tedious'", "in PLAINTEXT",
                 "client sent ENCRYPTION=ON, was answered NOT_SUP"):
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"


@pytest.mark.parametrize("driver", dparams("tedious", "go", "odbc", "jdbc", "tsql"))
def test_no_exposed_line_for_a_validating_client_on_valid(driver, inspect_proxy, lab_ca):
    px = inspect_proxy
    mark = px.proc.mark()
    res, records = px.sessions.probe(driver, port=px.port, **validating(driver, lab_ca))
    assert res["connected"], res.describe()
    rec = one_login(records)
    assert session_lines(px.proc, rec["id"], mark), "the session logged nothing"
    assert exposed_lines(px.proc, mark) == {}, px.proc.log_text(mark)


def test_the_password_never_reaches_events_or_log_without_reveal_secrets(
        inspect_proxy, lab_ca, tmp_path):
    """Plaintext, trusting, login-only and validating logins (the first two raise EXPOSED):
    `grep -F lab-password` finds nothing in the --events file, the keylog, or the process's
    whole output (debug level). The positive control is the reveal proxy's events file
    (test_reveal_secrets_...)."""
    px = inspect_proxy
    with scenario(px, "encrypt-not-supported"):
        r1, recs1 = px.sessions.probe("tedious", port=px.port, encrypt="true", ca=lab_ca)
    with scenario(px, "self-signed"):
        r2, recs2 = px.sessions.probe("go", port=px.port, encrypt="true",
                                      trust_server_certificate=True)
    r3, recs3 = px.sessions.probe("odbc", port=px.port, encrypt="no", ca=lab_ca)
    r4, recs4 = px.sessions.probe("jdbc", port=px.port, encrypt="true", ca=lab_ca)
    for r in (r1, r2, r3, r4):
        assert r["connected"], r.describe()
    logins = [one_login(recs)["login"] for recs in (recs1, recs2, recs3, recs4)]
    assert [(lg["password"], lg["password_length"]) for lg in logins] == \
        [(None, PASSWORD_LENGTH)] * 4, logins
    log_file = tmp_path / "proxy-output.txt"
    log_file.write_text("\n".join(px.proc.stdout_lines + px.proc.log()) + "\n")
    assert "EXPOSED:" in log_file.read_text()
    for f in (px.events, log_file, px.keylog):
        cp = subprocess.run(["grep", "-F", "-c", PASSWORD, str(f)], capture_output=True,
                            text=True, timeout=10)
        assert cp.stdout.strip() == "0", f"{f} mentions the password ({cp.stdout.strip()} lines)"


# ---- --record-messages -------------------------------------------------------------------------

@pytest.mark.parametrize("driver,query", dparams(
    ("go", "SELECT @@VERSION"), ("odbc", "SELECT 1"), ("tedious", "SELECT @@VERSION"),
    ("jdbc", "SELECT 1")))
def test_sql_batch_is_recorded_as_a_message(driver, query, inspect_proxy, lab_ca):
    px = inspect_proxy
    mark = px.proc.mark()
    res, records = px.sessions.probe(driver, port=px.port, query=query,
                                     **validating(driver, lab_ca))
    assert res["connected"] and res["value"] is not None, res.describe()
    rec = one_login(records)
    msgs = px.sessions.messages(rec["id"])
    batches = [m for m in msgs if m["kind"] == "sql_batch"]
    assert [m for m in batches if m["text"] == query], f"no sql_batch {query!r}: {msgs}"
    m = [m for m in batches if m["text"] == query][-1]
    assert m["event"] == "message" and m["from"] == "client" and m["session"] == rec["id"] \
        and m["scenario"] == "valid" and m["at"], m
    assert not [m for m in msgs if m["kind"] == "error"], msgs
    px.proc.wait_for_log(rf"\[message #{rec['id']}\] client sql_batch: {query}", mark)


@pytest.mark.parametrize("driver", dparams("go", "odbc"))
def test_server_error_is_recorded_as_a_message(driver, inspect_proxy, lab_ca):
    px = inspect_proxy
    res, records = px.sessions.probe(driver, port=px.port, query="DROP TABLE x",
                                     **validating(driver, lab_ca))
    assert res["connected"] and res["error_code"] == 3701, res.describe()
    rec = one_login(records)
    msgs = px.sessions.messages(rec["id"])
    kinds = [(m["kind"], m["from"]) for m in msgs]
    assert ("sql_batch", "client") in kinds and ("error", "server") in kinds, msgs
    err = [m for m in msgs if m["kind"] == "error"]
    assert len(err) == 1 and err[0]["number"] == 3701 and "Cannot drop the table 'x'" in err[0]["text"] \
        and isinstance(err[0].get("severity"), int), err
    batch_at = [m["at"] for m in msgs if m["text"] == "DROP TABLE x"]
    assert batch_at and batch_at[0] <= err[0]["at"], msgs


@pytest.mark.odbc
def test_messages_are_recorded_in_login_only_mode(inspect_proxy, lab_ca):
    """ODBC Encrypt=no against serve --encryption off: TLS for LOGIN7 only, then clear TDS;
    the proxy still decodes the login and records the batches and the error."""
    px = inspect_proxy
    for query, error in (("SELECT @@VERSION", None), ("DROP TABLE x", 3701)):
        res, records = px.sessions.probe("odbc", port=px.port, encrypt="no", ca=lab_ca,
                                         query=query)
        assert res["connected"] and res["error_code"] == error, res.describe()
        rec = one_login(records)
        assert rec["client_leg"]["mode"] == "login-only" and \
            rec["upstream_leg"]["mode"] == "login-only", rec["client_leg"]
        assert rec["login"]["through_tls"] is True and rec["outcome"] == "login-encrypted"
        msgs = px.sessions.messages(rec["id"])
        assert any(m["kind"] == "sql_batch" and m["text"] == query for m in msgs), msgs
        if error:
            assert any(m["kind"] == "error" and m["number"] == error for m in msgs), msgs


@pytest.mark.go
@pytest.mark.tedious
def test_messages_are_recorded_for_tds8(strict_proxy, lab_ca):
    px = strict_proxy
    for driver in ("go", "tedious"):
        res, records = px.sessions.probe(driver, port=px.port, encrypt="strict", ca=lab_ca,
                                         query="SELECT @@VERSION")
        assert res["connected"], res.describe()
        rec = one_login(records)
        assert rec["protocol"] == "tds8", rec
        assert any(m["kind"] == "sql_batch" and m["text"] == "SELECT @@VERSION"
                   for m in px.sessions.messages(rec["id"])), px.sessions.messages(rec["id"])


# ---- --pcap ------------------------------------------------------------------------------------

PCAP_FIELDS = ["tcp.srcport", "tcp.dstport", "tds.type", "tds.7login.version",
               "tds.7login.packet_size", "tds.7login.username", "tds.7login.appname",
               "tds.7login.libraryname", "tds.query", "tds.prelogin.option.version"]
TDS_PRELOGIN, TDS_LOGIN7, TDS_SQL_BATCH, TDS_RESPONSE = "18", "16", "1", "4"
# the record's login.tds_version -> Wireshark's tds.7login.version
TDS_VERSION_HEX = {"7.4": "0x74000004", "8.0": "0x08000000"}


def _decoded_session(pcap: Path, proxy_port: int, record: dict) -> list[dict]:
    """tshark -r PCAP -d tcp.port==PROXY_PORT,tds -Y 'tds && tcp.port==CLIENT_PORT'."""
    rows = tshark_rows(pcap, PCAP_FIELDS, f"tds && tcp.port == {client_port(record)}",
                       ["-d", f"tcp.port=={proxy_port},tds"])
    assert rows, f"tshark decoded no TDS for client port {client_port(record)} in {pcap}"
    return rows


def _check_decoded(rows: list[dict], record: dict, query: str, proxy_port: int) -> None:
    cport = str(client_port(record))
    from_client = [r for r in rows if r["tcp.srcport"] == cport]
    types = [r["tds.type"] for r in from_client]
    assert types[:2] == [TDS_PRELOGIN, TDS_LOGIN7], f"client frames: {types}"
    assert TDS_SQL_BATCH in types, types
    assert all(r["tds.type"] == TDS_RESPONSE for r in rows if r["tcp.srcport"] == str(proxy_port))
    login = record["login"]
    lf = [r for r in from_client if r["tds.type"] == TDS_LOGIN7][0]
    assert (lf["tds.7login.username"], lf["tds.7login.appname"], lf["tds.7login.libraryname"],
            int(lf["tds.7login.packet_size"]), lf["tds.7login.version"]) == \
        (login["user_name"], login["app_name"], login["library_name"], login["packet_size"],
         TDS_VERSION_HEX[login["tds_version"]]), (lf, login)
    queries = [r["tds.query"].replace("\\n", "\n").strip() for r in from_client
               if r["tds.type"] == TDS_SQL_BATCH]
    assert query in queries, queries
    assert from_client[0]["tds.prelogin.option.version"], from_client[0]


@pytest.mark.parametrize("driver,extra", dparams(
    ("go", {}), ("tedious", {}), ("odbc", {}), ("jdbc", {}), ("tsql", {}),
    ("odbc", {"encrypt": "no"}),  # login-only: the batch after LOGIN7 crosses in clear
    ids=["go", "tedious", "odbc", "jdbc", "tsql", "odbc-login-only"]))
def test_pcap_tds7_decodes_prelogin_login7_and_batch(driver, extra, inspect_proxy, lab_ca):
    need_tshark()
    px = inspect_proxy
    query = "SELECT @@VERSION" if driver != "tsql" else "SELECT 1"
    res, records = px.sessions.probe(driver, port=px.port, query=query,
                                     **{**validating(driver, lab_ca), **extra})
    assert res["connected"], res.describe()
    rec = one_login(records)
    _check_decoded(_decoded_session(px.pcap, px.port, rec), rec, query, px.port)


@pytest.mark.parametrize("driver", dparams("go", "tedious", "odbc", "jdbc"))
def test_pcap_tds8_decodes_prelogin_login7_and_batch(driver, strict_proxy, lab_ca):
    need_tshark()
    px = strict_proxy
    res, records = px.sessions.probe(driver, port=px.port, encrypt="strict", ca=lab_ca,
                                     query="SELECT @@VERSION")
    assert res["connected"], res.describe()
    rec = one_login(records)
    assert rec["protocol"] == "tds8", rec
    _check_decoded(_decoded_session(px.pcap, px.port, rec), rec, "SELECT @@VERSION", px.port)


def test_pcap_file_is_private_like_the_keylog(inspect_proxy):
    """The pcap holds the decrypted conversations, LOGIN7 included (its password obfuscation is
    reversible: Wireshark shows tds.7login.password in clear), whatever --reveal-secrets says.
    The keylog is created 0600 ("session keys: as secret as the traffic"); the decrypted
    traffic should not be more readable than the keys. Was a tlslab bug, fixed: the pcap is 0644."""
    px = inspect_proxy
    assert stat.S_IMODE(px.keylog.stat().st_mode) == 0o600
    mode = stat.S_IMODE(px.pcap.stat().st_mode)
    assert mode & 0o077 == 0, f"--pcap file is {oct(mode)}, readable by others"


# ---- --keylog: decrypting a raw capture of the client leg --------------------------------------

@pytest.fixture(scope="module")
def dummy_key(work) -> Path:
    return dummy_rsa_key(work / "dummy-rsa.key")


@pytest.mark.go
@pytest.mark.tedious
def test_keylog_decrypts_a_raw_tds8_capture(strict_proxy, lab_ca, dummy_key, tmp_path):
    """TLS first (TDS 8.0): with the proxy's --keylog Wireshark decrypts the client leg and,
    with TLS on the port associated to TDS, dissects PRELOGIN, LOGIN7 and the SQL batch;
    without the keylog it shows no TDS at all."""
    need_tshark()
    px = strict_proxy
    raw = tmp_path / "raw-tds8.pcapng"
    recs = []
    with Capture(px.port, raw):
        for driver in ("go", "tedious"):
            res, records = px.sessions.probe(driver, port=px.port, encrypt="strict", ca=lab_ca,
                                             query="SELECT @@VERSION")
            assert res["connected"], res.describe()
            recs.append(one_login(records))
    uat = tls_tds_uat(px.port, dummy_key)
    fields = ["tcp.srcport", "tds.type", "tds.7login.username", "tds.7login.appname",
              "tds.query"]
    with_keys = tshark_rows(raw, fields, "tds",
                            ["-o", f"tls.keylog_file:{px.keylog}", "-o", uat])
    for rec in recs:
        mine = [r for r in with_keys if r["tcp.srcport"] == str(client_port(rec))]
        types = [r["tds.type"] for r in mine]
        assert types[:2] == [TDS_PRELOGIN, TDS_LOGIN7] and TDS_SQL_BATCH in types, types
        login = [r for r in mine if r["tds.type"] == TDS_LOGIN7][0]
        assert (login["tds.7login.username"], login["tds.7login.appname"]) == \
            ("lab", rec["login"]["app_name"]), login
        assert "SELECT @@VERSION" in [r["tds.query"] for r in mine], mine
    without = tshark_rows(raw, fields, "tds", ["-o", uat])
    assert without == [], f"TDS decoded without the keylog: {without[:5]}"
    tls_only = tshark_rows(raw, ["tls.app_data"], "tls.app_data", ["-o", uat])
    assert tls_only, "no TLS application data in the raw capture"


@pytest.mark.go
@pytest.mark.odbc
def test_keylog_decrypts_a_raw_tds7_capture_as_data(inspect_proxy, lab_ca, tmp_path):
    """TDS 7.x (TLS wrapped in PRELOGIN packets, then raw TLS records): Wireshark 4.0's TDS
    dissector hands the wrapped handshake to TLS, and with the keylog TLS decrypts the records,
    but the plaintext is shown as `data`, not dissected as TDS. So: the decrypted `data.data`
    holds the LOGIN7 (type 0x10, user and app in UTF-16) and, for full encryption, the SQL
    batch; without the keylog there is no decrypted data. ODBC Encrypt=no (login-only): the
    LOGIN7 is decrypted data, the batch after it is clear TDS either way."""
    need_tshark()
    px = inspect_proxy
    raw = tmp_path / "raw-tds7.pcapng"
    with Capture(px.port, raw):
        go, go_recs = px.sessions.probe("go", port=px.port, encrypt="true", ca=lab_ca,
                                        query="SELECT @@VERSION")
        odbc, odbc_recs = px.sessions.probe("odbc", port=px.port, encrypt="no", ca=lab_ca,
                                            query="SELECT @@VERSION")
    assert go["connected"] and odbc["connected"], (go.describe(), odbc.describe())
    go_rec, odbc_rec = one_login(go_recs), one_login(odbc_recs)
    decode = ["-d", f"tcp.port=={px.port},tds"]
    keys = ["-o", f"tls.keylog_file:{px.keylog}"]
    fields = ["tcp.srcport", "data.data", "tds.type", "tds.query"]

    def payloads(rows, rec):
        out = []
        for r in rows:
            if r["tcp.srcport"] == str(client_port(rec)):
                out += unhex(r["data.data"])
        return out

    with_keys = tshark_rows(raw, fields, None, decode + keys)
    go_data = payloads(with_keys, go_rec)
    logins = [p for p in go_data if p[:1] == b"\x10"]
    assert logins and utf16("lab") in logins[0] and utf16("tlslab-probe-go") in logins[0], \
        [p[:16].hex() for p in go_data]
    assert any(p[:1] == b"\x01" and utf16("SELECT @@VERSION") in p for p in go_data), \
        [p[:16].hex() for p in go_data]
    odbc_data = payloads(with_keys, odbc_rec)
    assert any(p[:1] == b"\x10" and utf16("tlslab-probe") in p for p in odbc_data), \
        [p[:16].hex() for p in odbc_data]

    without = tshark_rows(raw, fields, None, decode)
    for rec in (go_rec, odbc_rec):
        leaked = [p for p in payloads(without, rec) if utf16("lab") in p]
        assert not leaked, f"login readable without the keylog: {leaked}"
    # PRELOGIN is clear TDS either way; the login-only batch is clear TDS either way.
    for rows in (with_keys, without):
        assert any(r["tcp.srcport"] == str(client_port(go_rec)) and r["tds.type"] == "18"
                   for r in rows)
        assert any(r["tcp.srcport"] == str(client_port(odbc_rec)) and
                   r["tds.query"] == "SELECT @@VERSION" for r in rows), rows
    assert not any(r["tcp.srcport"] == str(client_port(go_rec)) and
                   "SELECT" in r["tds.query"] for r in without)
