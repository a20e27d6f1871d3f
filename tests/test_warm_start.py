"""Warm starts in sweeps cost no more than cold ones (issue 15, item 3, part of it).

A warm start (the previous point's state, the potential scaled to the new current) is tried
with Newton alone at the final band width; if that stagnates it is abandoned early and the
continuation runs from the same state at 4 transition widths down, before any cold start.
It used to fall back after 29 Newton and pseudo-transient steps to the full continuation
from T0: on this sweep 50 and 81 steps at 4 and 8 mA against 18 for the cold first point.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cli_runner  # tests/cli_runner.py

COARSE = ["--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5"]


def test_warm_points_cost_no_more_than_the_cold_one(tmp_path: Path) -> None:
    proc = cli_runner.fem("sweep", "--preset", "fig2a", *COARSE, "--currents", "0.002,0.004,0.006,0.008,0.01",
                          "--no-pictures", "-q", "--out", "sw", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "sw" / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["converged"] == "true" for r in rows)
    cold = int(rows[0]["iterations"])
    warm = [int(r["iterations"]) for r in rows[1:]]
    print(f"cold first point: {cold} Newton steps; warm points: {warm}")
    assert max(warm) <= 1.5 * cold, (cold, warm)
    assert sum(warm) / len(warm) <= 1.2 * cold, (cold, warm)
