"""Voltage control through the switching region (issue 15, item 1).

Under voltage control the mixed form's start (j = 0, phi linear in x, T = T0) had a zero
scaled residual: nothing in the merit tied the current to the voltage, so Newton accepted
a tiny step and reported that state as converged, with I ~ 1e-5 A at 2 V (the insulating
film carries about 1.25 mA without heating). The merit now includes the Ohm's-law rows
under voltage control. Checked here: a voltage sweep of fig2a on a coarse mesh from 1 to 5 V
(insulating, through the switching, to a mostly metallic channel) converges at every point,
its current exceeds the cold insulating current V / R_cold, rises with V, and every point's
heat balance closes with V I equal to the Joule heat.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cli_runner  # tests/cli_runner.py

COARSE = ["--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5"]


def test_voltage_sweep_through_switching_converges(tmp_path: Path) -> None:
    proc = cli_runner.fem("sweep", "--preset", "fig2a", *COARSE, "--set", "drive.current=none",
                          "--set", "drive.voltage=1.0", "--voltages", "1:5:5", "--no-pictures", "-q",
                          "--out", "vs", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "vs" / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    assert all(r["converged"] == "true" for r in rows), [(r["voltage_set_V"], r["reason"]) for r in rows]
    V = [float(r["voltage_V"]) for r in rows]
    I = [float(r["current_A"]) for r in rows]
    assert V == [1.0, 2.0, 3.0, 4.0, 5.0]
    # the cold film conducts about 5.6e-4 S on this mesh (0.556 mA at 1 V); the trivial
    # start that passed for a solution before carried 6e-6 S (12 uA at 2 V); heating only
    # raises the conductance, and the current rises with V
    assert all(i > 2e-4 * v for v, i in zip(V, I)), I
    assert all(b > a for a, b in zip(I, I[1:])), I
    for r, v, i in zip(rows, V, I):
        assert abs(v * i - float(r["heat_joule_W"])) <= 1e-8 * v * i  # V I is the Joule heat
        assert float(r["heat_balance_rel"]) < 1e-9
    assert float(rows[0]["metal_fraction"]) < 0.01 < float(rows[-1]["metal_fraction"])  # it switches
