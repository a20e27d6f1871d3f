"""Warm starts (a sweep point started from its converged neighbour): cheaper than cold, same answer.

Without hysteresis memory and under current control the steady state is unique, so a
warm-started point must reproduce the cold answer; the secant predictor in the drive
must make it cheap on a fine sweep; a warm start that fails must still solve the point
at its own drive (the fallback once solved the first point's drive again).
"""

from __future__ import annotations

import pytest

import fem_peltier as fp
from fem_peltier import warm_start
from fem_peltier.simulation import run

MESH = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]


def _cfg(*extra: str):
    return fp.load_config(preset="fig2a", overrides=[*MESH, *extra])


@pytest.fixture(scope="module")
def fine_sweep():
    """fig2a at 2.0 -> 2.75 mA in 0.25 mA steps, warm-started, and every point cold."""
    currents = (0.002, 0.00225, 0.0025, 0.00275)
    warm, cold = [], []
    prev = None
    for current in currents:
        cfg = _cfg(f"drive.current={current!r}")
        res = run(cfg, pictures=False, problem=prev)
        warm.append(res)
        prev = res.problem
        cold.append(run(cfg, pictures=False))
    return warm, cold


def test_warm_points_cost_less_than_half_and_agree(fine_sweep):
    warm, cold = fine_sweep
    assert all(r.converged for r in warm + cold)
    assert [r.summary["warm_started"] for r in warm] == [False, True, True, True]
    steps_warm = sum(r.report.newton_steps for r in warm[1:])
    steps_cold = sum(r.report.newton_steps for r in cold[1:])
    # measured: 14 warm (6, 4, 4) against 45 cold Newton steps (15 each)
    assert steps_warm <= 0.5 * steps_cold, (steps_warm, steps_cold)
    for w, c in zip(warm, cold):
        assert w.summary["voltage_V"] == pytest.approx(c.summary["voltage_V"], rel=1e-6)
        assert w.summary["T_max_K"] == pytest.approx(c.summary["T_max_K"], rel=1e-6)


def test_secant_predictor_is_used_and_close():
    """After two converged points the predictor extrapolates in the drive (state.State)."""
    a = run(_cfg("drive.current=0.0025"), pictures=False)
    b = run(_cfg("drive.current=0.00275"), pictures=False, problem=a.problem)
    p = b.problem
    assert len(p.branch) == 2
    guess = warm_start.secant(p.branch, 0.003)
    assert guess is not None and guess.drive_value == 0.003
    c = run(_cfg("drive.current=0.003"), pictures=False)
    # the secant guess of V is 0.3% off the solution, the scaling guess 4.8%
    V = c.summary["voltage_V"]
    assert abs(guess.V - V) < 1e-2 * V
    scaled = b.summary["voltage_V"] * 0.003 / 0.00275
    assert abs(scaled - V) > 5 * abs(guess.V - V)


@pytest.mark.parametrize("drive", ["current", "voltage"])
def test_failed_warm_start_solves_the_new_drive(monkeypatch, drive):
    """With a warm-start budget of one Newton step every warm start fails; the fallback
    continuation must solve the point at its own drive, as a cold run does."""
    monkeypatch.setattr(warm_start, "WARM_BUDGET", 1)
    if drive == "current":
        first, second = ["drive.current=0.002"], ["drive.current=0.00225"]
    else:
        first = ["drive.current=none", "drive.voltage=2.0"]
        second = ["drive.current=none", "drive.voltage=2.2"]
    a = run(_cfg(*first), pictures=False)
    b = run(_cfg(*second), pictures=False, problem=a.problem)
    c = run(_cfg(*second), pictures=False)
    assert b.converged and c.converged
    assert b.report.levels[0].get("warm_start") and not b.report.levels[0]["converged"]
    assert b.summary["current_A"] == pytest.approx(c.summary["current_A"], rel=1e-5)
    assert b.summary["voltage_V"] == pytest.approx(c.summary["voltage_V"], rel=1e-5)


def test_large_step_without_memory_is_solved_cold():
    """Current control, no hysteresis: a drive step of 50% is solved cold (it does not pay warm)."""
    a = run(_cfg("drive.current=0.002"), pictures=False)
    b = run(_cfg("drive.current=0.004"), pictures=False, problem=a.problem)
    assert b.converged
    assert b.summary["warm_started"] is False
    assert not any(lv.get("warm_start") for lv in b.report.levels)
    assert warm_start.cold_instead(b.problem, 0.0042) is None  # 5%: warm
