"""The benchmark scripts run from a clean checkout (smoke test on a tiny mesh; no timings asserted)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from cli_runner import python  # tests/cli_runner.py

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_picard_benchmark_row(tmp_path):
    out = tmp_path / "picard.csv"
    proc = python(str(BENCH / "picard.py"), "--sizes", "1.2e-4", "--out", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = list(csv.DictReader(out.open()))
    assert row["converged"] == "True"
    assert int(row["newton_steps"]) > 0
    # both reference solves ran to their tolerance and gave positive times
    assert int(row["poisson_cg_its"]) > 0 and int(row["mixed_poisson_its"]) > 0
    assert float(row["ratio_step_to_poisson"]) > 0 and float(row["ratio_step_to_mixed_poisson"]) > 0
    assert float(row["peltier_forms_mismatch_rel"]) < 1e-8  # mixed current: the two Peltier forms agree


def test_record_refuses_other_columns(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        from report import record
    finally:
        sys.path.remove(str(BENCH))
    path = tmp_path / "r.csv"
    record([{"a": 1, "b": 2}], path)
    record([{"a": 3, "b": 4}], path)
    assert path.read_text().splitlines() == ["a,b", "1,2", "3,4"]
    with pytest.raises(SystemExit, match="columns differ"):
        record([{"a": 5, "c": 6}], path)


def test_transient_benchmark_record(tmp_path):
    out = tmp_path / "transient.json"
    proc = python(str(BENCH / "transient.py"), "--size", "1.2e-4", "--current", "0.003", "--steps", "6",
                  "--json", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = json.loads(out.read_text())
    assert row["time_steps"] == 6  # stopped after --steps accepted steps
    assert row["steady_converged"] and row["steady_newton_steps"] > 0
    assert row["newton_steps"] >= row["time_steps"]
    assert row["ratio_time_step_to_steady_newton_step"] > 0
    assert row["breakdown_s"]["newton"] > 0 and row["breakdown_calls"]["linear_solves"] > 0
