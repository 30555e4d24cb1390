"""Running `tlslab matrix` from the tests: the command, its report, and the schema check.

Every test of the matrix workflow goes through run_matrix(), so they all run the real binary
the way a user does (stdout not a terminal: one plain line per cell)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from harness import REPO

SCHEMA = REPO / "schemas" / "report-v1.schema.json"
EXPECTATIONS = REPO / "tests" / "integration" / "expectations"
MATRIX_TIMEOUT_S = 600


@dataclass
class MatrixRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    out: Path

    @property
    def report(self) -> dict:
        return json.loads((self.out / "report.json").read_text())

    def describe(self) -> str:
        return (f"argv: {' '.join(self.argv)}\nexit: {self.returncode}\n"
                f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}")


def run_matrix(tlslab_bin: Path, state_dir: Path, out: Path, *args: str,
               timeout: float = MATRIX_TIMEOUT_S) -> MatrixRun:
    argv = [str(tlslab_bin), "--state-dir", str(state_dir), "matrix", "--out", str(out), *args]
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                        errors="replace", timeout=timeout)
    return MatrixRun(argv, cp.returncode, cp.stdout, cp.stderr, out)


def validate(report: dict) -> None:
    """report.json against schemas/report-v1.schema.json (formats checked)."""
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        report)


def cells_by_id(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["cells"]}
