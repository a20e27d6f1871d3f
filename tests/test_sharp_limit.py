"""The sharp limit w -> 0 of the smoothed phase rule (model.md section 2).

The paper's phase rule is sharp; fem_peltier smooths it over a band of width w
and reports results with their w -> 0 limit. On a small case with a localized
metal region (fig2a geometry on a coarse gmsh mesh at I = 5 mA, J = 0.05,
P = 0.1: metal under both patches, the region at the negative electrode reaching
x ~ 0.23 L on the top line) we solve at w = 12, 6, 3, 1.5 K and check that the
quantities converge: successive differences shrink.

- metal fraction (volume average of m);
- the metal's top x-extent at the negative electrode: the point on the top line
  y = W/2 where T drops through T_MIT, walking from x = 0 (P1 T, so this moves
  continuously with w; the sharp rule puts the phase boundary exactly there);
- the same extent from the phase itself (first probe point with m < 0.5); it is
  quantized by the cells, so it is only required to stay within one bulk cell of
  the T-based front.

The summary's metal_top_x_range_m is printed too, but it is [0, L] here (metal at
both electrodes), so it carries no extent information for this case.

A band level that does not converge must be reported as such: any run of the
table that fails must say converged = False with a reason naming the band it
reached, and test_narrow_band_failure_is_reported forces such a failure (an
iteration budget too small for the continuation) and checks that the summary is
that of the band actually reached.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

CURRENT = 0.005
OVERRIDES = ["mesh.size=1e-4", "mesh.electrode_size=2e-5", f"drive.current={CURRENT}"]
WIDTHS = (12.0, 6.0, 3.0, 1.5)


def _config(extra: list[str]):
    import fem_peltier as fp

    return fp.load_config(preset="fig2a", overrides=[*OVERRIDES, *extra])


def _front(res) -> dict:
    from fem_peltier.diagnostics import probe, top_line_points

    p = res.problem
    t_mit = p.cfg.material.t_mit
    pts = top_line_points(p, 801)
    x = pts[:, 0]
    T = probe(p, res.fields["T"], pts)
    m = probe(p, p.m, pts)
    assert T[0] > t_mit and m[0] >= 0.5, "no metal at the negative electrode"
    k = int(np.argmax(T < t_mit))  # first point below T_MIT
    assert k > 0
    x_T = x[k - 1] + (t_mit - T[k - 1]) * (x[k] - x[k - 1]) / (T[k] - T[k - 1])
    x_m = x[int(np.argmax(m < 0.5))]
    return {"x_T": float(x_T), "x_m": float(x_m)}


@pytest.fixture(scope="module")
def table():
    from fem_peltier.simulation import run

    rows = {}
    for w in WIDTHS:
        res = run(_config([f"solver.transition_width={w}"]), out=None, pictures=False)
        s = res.summary
        row = {"converged": res.converged, "reason": s["reason"], "width_reached": s["transition_width_K"],
               "iterations": s["iterations"], "mf": s["metal_fraction"], "range": s["metal_top_x_range_m"],
               "T_mean": s["T_mean_K"], "V": s["voltage_V"]}
        row.update(_front(res))
        rows[w] = row
    L = res.problem.cfg.geometry.length
    print(f"\nsharp limit, fig2a geometry, I = {CURRENT} A, coarse gmsh mesh ({s['cells']} cells)")
    print("  w (K)  conv  steps  metal_fraction  x_T/L (T=T_MIT)  x_m/L (m>=0.5)  T_mean (K)   V (V)    "
          "metal_top_x_range_m/L")
    for w, r in rows.items():
        rng = None if r["range"] is None else [round(v / L, 5) for v in r["range"]]
        print(f"  {w:5.2f}  {'yes' if r['converged'] else 'NO '}  {r['iterations']:5d}  {r['mf']:.6f}        "
              f"{r['x_T'] / L:.5f}          {r['x_m'] / L:.5f}         {r['T_mean']:.4f}  {r['V']:.5f}  {rng}"
              + ("" if r["converged"] else f"   ({r['reason']})"))
    return rows


def test_failures_are_reported(table):
    for w, r in table.items():
        if not r["converged"]:
            assert r["reason"] and r["reason"] != "converged", (w, r["reason"])
            assert r["width_reached"] > w, (w, r["width_reached"])
            assert "band width" in r["reason"], r["reason"]
    for w in (12.0, 6.0, 3.0):  # these must converge on this case
        assert table[w]["converged"], (w, table[w]["reason"])


def _diffs(table, key):
    ws = [w for w in WIDTHS if table[w]["converged"]]
    return [abs(table[a][key] - table[b][key]) for a, b in zip(ws, ws[1:])]


def test_metal_fraction_converges(table):
    d = _diffs(table, "mf")
    print(f"\n|successive differences| of the metal fraction: {['%.2e' % v for v in d]}")
    assert all(table[w]["mf"] > 0 for w in WIDTHS if table[w]["converged"])
    assert len(d) >= 2
    assert all(b < a for a, b in zip(d, d[1:])), d


def test_top_extent_converges(table):
    d = _diffs(table, "x_T")
    print(f"\n|successive differences| of the top extent x_T (m): {['%.2e' % v for v in d]}")
    assert len(d) >= 2
    assert all(b < a for a, b in zip(d, d[1:])), d
    cell = _config([]).resolved().mesh.size
    for w in WIDTHS:
        r = table[w]
        if r["converged"]:
            assert abs(r["x_m"] - r["x_T"]) < cell, (w, r["x_m"], r["x_T"])


def test_narrow_band_failure_is_reported():
    """A continuation that cannot reach the requested band says so; the summary is that of the band reached."""
    from fem_peltier.simulation import run

    res = run(_config(["solver.transition_width=0.375", "solver.max_iterations=20"]), out=None, pictures=False)
    s = res.summary
    print(f"\nforced failure: converged {s['converged']}, reason: {s['reason']!r}, "
          f"band reached {s['transition_width_K']} K, metal_fraction {s['metal_fraction']:.6f}")
    assert s["converged"] is False and res.converged is False
    assert "band width" in s["reason"]
    reached = s["transition_width_K"]
    assert math.isfinite(reached) and reached > 0.375
    level = [lv for lv in res.report.levels if lv["converged"] and lv["width_K"] == reached]
    assert level, res.report.levels
    # the reported state is the converged one of that band, not a mix with the failed level
    assert s["metal_fraction"] == pytest.approx(level[-1]["metal_fraction"], rel=1e-12)
