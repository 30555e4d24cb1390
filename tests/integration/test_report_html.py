"""The matrix report page (report.html) in a real browser: Debian's headless Chromium.

Each report vector (tests/proxy/app/report/vectors/*.json) must validate against
schemas/report-v1.schema.json; its page must load from file:// with no network, run its script
to the end without an error (<body data-ready="1" data-errors="0">, an empty #page-errors), show
no inconsistency banner, show the summary numbers of the JSON and one cell per cell of the JSON.
A screenshot of each page is kept (see ARTIFACTS).

page_for() makes the page of a hand-checked vector with the unit-test binary's hidden
"[.html-export]" case (render_report_html on the given report.json); test_a_real_matrix_page
checks the page a real `tlslab matrix` run wrote, with real drivers, the same way.

Environment: TLSLAB_BIN (as everywhere in this suite) locates the build; TLSLAB_REPORT_TESTS_BIN
overrides the unit-test binary (default: <build>/tests/proxy/proxy_report_tests);
TLSLAB_ARTIFACTS overrides where screenshots go (default: <build>/test-artifacts/report-html).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from harness import REPO, default_bin
from matrix_run import run_matrix, validate

VECTORS = sorted((REPO / "tests" / "proxy" / "app" / "report" / "vectors").glob("*.json"))
SCHEMA = REPO / "schemas" / "report-v1.schema.json"
BUILD = default_bin().parent
ARTIFACTS = Path(os.environ.get("TLSLAB_ARTIFACTS", BUILD / "test-artifacts")) / "report-html"
VERDICTS = ["accepted-correctly", "refused-correctly", "accepted-broken", "refused-good",
            "downgraded", "not-judged"]
CHROMIUM_TIMEOUT_S = 60
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                 "source", "track", "wbr"}


def page_for(report_json_path: Path, out_dir: Path) -> Path:
    """The report.html page of a report.json, written into out_dir."""
    exe = Path(os.environ.get("TLSLAB_REPORT_TESTS_BIN",
                              BUILD / "tests" / "proxy" / "proxy_report_tests"))
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        pytest.fail(f"unit-test binary not found: {exe} (build proxy_report_tests, or set "
                    f"TLSLAB_REPORT_TESTS_BIN)", pytrace=False)
    page = out_dir / "report.html"
    env = dict(os.environ, TLSLAB_HTML_REPORT=str(report_json_path), TLSLAB_HTML_OUT=str(page))
    cp = subprocess.run([str(exe), "[.html-export]"], env=env, stdin=subprocess.DEVNULL,
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"{exe} [.html-export] failed:\n{cp.stdout}\n{cp.stderr}"
    assert page.is_file() and page.stat().st_size > 0
    return page


# ---- Chromium ----------------------------------------------------------------------------------

def chromium() -> str:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(exe, os.X_OK):
        pytest.fail("chromium not found: scripts/setup installs Debian's chromium package",
                    pytrace=False)
    return exe


def run_chromium(profile: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on `url` with no network: every host name resolves to nothing and every
    request goes to a proxy that is not there, so a page that needs the network shows it."""
    argv = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-sync", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9", "--virtual-time-budget=5000", *args, url]
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                        errors="replace", timeout=CHROMIUM_TIMEOUT_S)
    assert cp.returncode == 0, f"chromium exited {cp.returncode}:\n{cp.stderr[-3000:]}"
    return cp


def dump_dom(page: Path, tmp_path: Path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran, serialised."""
    cp = run_chromium(tmp_path / "profile-dom", page.as_uri() + fragment, "--dump-dom")
    assert "<body" in cp.stdout, f"chromium dumped no DOM:\n{cp.stderr[-3000:]}"
    return cp.stdout


def screenshot(page: Path, tmp_path: Path, png: Path) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    run_chromium(tmp_path / "profile-shot", page.as_uri(), f"--screenshot={png}",
                 "--window-size=1600,1200")
    return png


class PageDom(HTMLParser):
    """What the checks read from the dumped DOM: <body>'s attributes, the data-summary numbers,
    the data-cell elements, #page-errors and the #summary-mismatch banner, the dialog."""

    def __init__(self, dom: str):
        super().__init__(convert_charrefs=True)
        self.body: dict[str, str | None] = {}
        self.summary: dict[str, str] = {}
        self.cells: list[dict[str, str | None]] = []
        self.page_errors: str | None = None
        self.page_errors_hidden = False
        self.banner_hidden: bool | None = None
        self.banner_text = ""
        self.dialog_open: bool | None = None
        self.details_text = ""
        self._capture: list[tuple[str, int]] = []  # (what, depth) being read
        self._depth = 0
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in VOID_ELEMENTS:
            self._depth += 1
        if tag == "body":
            self.body = a
        if "data-summary" in a:
            self._capture.append(("summary:" + str(a["data-summary"]), self._depth))
        if "data-cell" in a:
            self.cells.append(a)
        if a.get("id") == "page-errors":
            self.page_errors = ""
            self.page_errors_hidden = "hidden" in a
            self._capture.append(("page-errors", self._depth))
        if a.get("id") == "summary-mismatch":
            self.banner_hidden = "hidden" in a
            self._capture.append(("banner", self._depth))
        if tag == "dialog" and a.get("id") == "details":
            self.dialog_open = "open" in a
            self._capture.append(("details", self._depth))

    def handle_endtag(self, tag):
        while self._capture and self._capture[-1][1] >= self._depth:
            self._capture.pop()
        self._depth -= 1

    def handle_data(self, data):
        for what, _ in self._capture:
            if what.startswith("summary:"):
                key = what.split(":", 1)[1]
                self.summary[key] = self.summary.get(key, "") + data
            elif what == "page-errors":
                self.page_errors = (self.page_errors or "") + data
            elif what == "banner":
                self.banner_text += data
            elif what == "details":
                self.details_text += data


def expected_summary(report: dict) -> dict[str, str]:
    s = report["summary"]
    numbers = {"cells": s["cells"], "passed": s["passed"], "failed": s["failed"],
               **{v: s["verdicts"][v] for v in VERDICTS}}
    return {k: str(v) for k, v in numbers.items()}


def assert_page_ran_clean(dom: PageDom):
    assert dom.body.get("data-ready") == "1", f"the page's script did not finish: {dom.body}"
    assert dom.page_errors is not None, "no #page-errors element"
    assert dom.page_errors.strip() == "", f"script errors on the page:\n{dom.page_errors}"
    assert dom.page_errors_hidden
    assert dom.body.get("data-errors") == "0", dom.body


# ---- the checks --------------------------------------------------------------------------------

def test_vectors_exist():
    assert VECTORS, "no report vectors in tests/proxy/app/report/vectors"


@pytest.mark.parametrize("vector", VECTORS, ids=lambda p: p.stem)
def test_vector_validates_against_the_schema(vector):
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(json.loads(vector.read_text())), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])


@pytest.mark.parametrize("vector", VECTORS, ids=lambda p: p.stem)
def test_page_loads_clean_and_shows_the_json(vector, tmp_path):
    report = json.loads(vector.read_text())
    page = page_for(vector, tmp_path)
    dom = PageDom(dump_dom(page, tmp_path))

    assert_page_ran_clean(dom)
    assert dom.banner_hidden is True, f"inconsistency banner shown: {dom.banner_text.strip()}"
    assert {k: v.strip() for k, v in dom.summary.items()} == expected_summary(report)
    assert len(dom.cells) == len(report["cells"])
    shown = {int(c["data-cell"]): c.get("data-verdict") for c in dom.cells}
    assert shown == {i: c["verdict"] for i, c in enumerate(report["cells"])}

    png = screenshot(page, tmp_path, ARTIFACTS / f"{vector.stem}.png")
    assert png.is_file()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A blank 1600x1200 page compresses to a few kB; a rendered report is far larger.
    assert png.stat().st_size > 30_000, f"{png}: {png.stat().st_size} bytes, a blank page?"
    shutil.copyfile(page, ARTIFACTS / f"{vector.stem}.html")


def test_page_flags_a_summary_that_disagrees_with_its_cells(tmp_path):
    """The page's own check: a number the page was written with that its embedded cells do not
    bear out shows the banner (here a page whose downgraded count was edited after rendering)."""
    vector = VECTORS[0]
    report = json.loads(vector.read_text())
    page = page_for(vector, tmp_path)
    html = page.read_text(encoding="utf-8")
    real = report["summary"]["verdicts"]["downgraded"]
    marker = f'data-summary="downgraded">{real}<'
    assert marker in html
    page.write_text(html.replace(marker, f'data-summary="downgraded">{real + 1}<'),
                    encoding="utf-8")
    dom = PageDom(dump_dom(page, tmp_path))
    assert_page_ran_clean(dom)
    assert dom.banner_hidden is False
    assert f"downgraded: the summary says {real + 1}, the cells say {real}" in dom.banner_text


def test_a_cell_link_opens_its_details(tmp_path):
    """#cell=N opens the details dialog of cell N: the driver's error text, the proxy's view."""
    vector = VECTORS[0]
    report = json.loads(vector.read_text())
    index, cell = next((i, c) for i, c in enumerate(report["cells"])
                       if c["driver_result"].get("error") and c["proxy"].get("outcome"))
    page = page_for(vector, tmp_path)
    dom = PageDom(dump_dom(page, tmp_path, f"#cell={index}"))
    assert_page_ran_clean(dom)
    assert dom.dialog_open is True
    text = re.sub(r"\s+", " ", dom.details_text)
    for expected in (cell["id"], cell["driver_result"]["error"], cell["proxy"]["outcome"],
                     cell["verdict"]):
        assert re.sub(r"\s+", " ", str(expected)) in text, expected


def test_a_real_matrix_page(tlslab_bin, state_dir, tmp_path):
    """The page `tlslab matrix` itself wrote, for real drivers of all three protocols: it runs
    clean, its summary is the report's, every cell is there with its verdict; a screenshot is
    kept (real-matrix.png)."""
    r = run_matrix(tlslab_bin, state_dir, tmp_path / "run", "--driver", "tedious19",
                   "--driver", "psycopg2", "--driver", "pymysql", "--config", "lab-ca",
                   "--config", "trust-server-certificate", "--config", "verify-full",
                   "--config", "require", "--config", "verify-identity", "--config", "required",
                   "--scenarios", "valid,self-signed,expired,wrong-host,encrypt-off,"
                   "mysql-ssl-hidden")
    assert r.returncode == 0, r.describe()
    report = r.report
    validate(report)
    page = r.out / "report.html"
    dom = PageDom(dump_dom(page, tmp_path))
    assert_page_ran_clean(dom)
    assert dom.banner_hidden is True, f"inconsistency banner shown: {dom.banner_text.strip()}"
    assert {k: v.strip() for k, v in dom.summary.items()} == expected_summary(report)
    shown = {int(c["data-cell"]): c.get("data-verdict") for c in dom.cells}
    assert shown == {i: c["verdict"] for i, c in enumerate(report["cells"])}
    verdicts = set(shown.values())
    assert {"accepted-correctly", "refused-correctly", "accepted-broken", "downgraded"} <= verdicts
    png = screenshot(page, tmp_path, ARTIFACTS / "real-matrix.png")
    assert png.stat().st_size > 30_000
    shutil.copyfile(page, ARTIFACTS / "real-matrix.html")
