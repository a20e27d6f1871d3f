"""Two-region bar with a planar metal/insulator interface and uniform current.

Closed form (1D along x, T = T0 at both ends, Joule heat rho j^2 in each region and
the Peltier sheet source s T(x0) Delta S |j| at the interface x0, s = +1 when the
current flows from the insulator (higher S) into the metal, -1 the other way):

    T1 = T0 + a1 x - q1 x^2 / (2 kappa)                 (metal, 0 < x < x0)
    T2 = T0 + a2 (L - x) - q2 (L - x)^2 / (2 kappa)     (insulator, x0 < x < L)
    continuity at x0, and kappa T1'(x0) - kappa T2'(x0) = s Delta S |j| T(x0).

Catches: a wrong sign or factor in the facet-jump Peltier form, a Peltier term that
depends on the '+'/'-' orientation of facets (partition dependent in parallel),
Joule heat with the wrong resistivity, and a heat-sink reaction that is not
conservative.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plane_means import x_plane_means  # tests/plane_means.py

L, W, H = 1.0e-3, 1.0e-4, 1.0e-4
N = (20, 2, 2)


def bar_config(current: float, discretization: str = "p1"):
    import fem_peltier as fp

    return fp.load_config(overrides=[f'solver.current_discretization="{discretization}"',
        f"geometry.length={L}", f"geometry.width={W}", f"geometry.thickness={H}", 'geometry.electrodes="ends"',
        f"drive.current={current}", "material.seebeck_insulator=2e-3", "material.seebeck_metal=0.0",
        "solver.initial_width=3.0", "solver.transition_width=3.0",
    ]).resolved()


def closed_form(cfg, x: np.ndarray) -> tuple[np.ndarray, float]:
    """T(x) and the interface heat (W) of the 1D problem above."""
    m = cfg.material
    t0, k = cfg.thermal.t0, m.kappa
    current = cfg.drive.current
    j = abs(current) / (W * H)
    q1, q2 = m.rho_metal * j**2, m.rho_insulator * j**2
    x0 = L / 2
    s = 1.0 if current > 0 else -1.0  # current > 0 enters at x = L: insulator -> metal
    dS = m.seebeck_insulator - m.seebeck_metal
    c = s * dS * j
    # unknowns a1, a2:  a1 x0 - q1 x0^2/2k - a2 (L-x0) + q2 (L-x0)^2/2k = 0
    #   k (a1 - q1 x0/k) - k (-a2 + q2 (L-x0)/k) - c (t0 + a1 x0 - q1 x0^2/2k) = 0
    l2 = L - x0
    A = np.array([[x0, -l2], [k - c * x0, k]])
    b = np.array([q1 * x0**2 / (2 * k) - q2 * l2**2 / (2 * k),
                  q1 * x0 + q2 * l2 + c * (t0 - q1 * x0**2 / (2 * k))])
    a1, a2 = np.linalg.solve(A, b)
    T = np.where(x <= x0, t0 + a1 * x - q1 * x**2 / (2 * k), t0 + a2 * (L - x) - q2 * (L - x) ** 2 / (2 * k))
    Tx0 = t0 + a1 * x0 - q1 * x0**2 / (2 * k)
    return T, s * dS * abs(current) * Tx0


def solve_bar(current: float, discretization: str = "p1") -> dict:
    """Solve the bar with the phase frozen (metal for x < L/2) and T0 at both ends."""
    from mpi4py import MPI  # noqa: F401  (before dolfinx)
    from dolfinx import fem

    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.continuation import solve
    from fem_peltier.coupled import CoupledProblem
    from fem_peltier.diagnostics import heat_terms, probe

    cfg = bar_config(current, discretization)
    fm = box_film_mesh(cfg, N)
    p = CoupledProblem(cfg, fm)
    p.prescribe_phase(p.xc.x.array.reshape(-1, 3)[:, 0] < L / 2)
    T_field = p.unknowns["temperature"]
    ends = fem.locate_dofs_geometrical((T_field.subspace, T_field.space),
                                       lambda x: np.isclose(x[0], 0.0) | np.isclose(x[0], L))[0]
    p.set_heat_sink_dofs(ends)
    rep = solve(p)
    # cross-section means of the nodal temperatures on each grid plane x = x_i
    T_fun = p.unknowns.function("temperature")
    T_mean = x_plane_means(T_fun, L, N[0])
    xs = np.linspace(0, L, N[0] + 1)
    pts = np.column_stack([xs, np.full(xs.size, W / 3), np.full(xs.size, H / 3)])
    T_point = probe(p, T_fun, pts)
    out = {"converged": rep.converged, "x": xs.tolist(), "T": T_mean.tolist(), "T_point": T_point.tolist(),
           "V": p.V, "I": p.current()}
    out.update(heat_terms(p))
    return out


def check(res: dict, current: float) -> None:
    cfg = bar_config(current)
    x = np.array(res["x"])
    T_exact, q_exact = closed_form(cfg, x)
    rise = T_exact.max() - cfg.thermal.t0
    assert res["converged"]
    assert abs(res["I"] - current) < 1e-9 * abs(current)
    err = np.max(np.abs(np.array(res["T"]) - T_exact))
    assert err < 1e-6 * rise, f"max |T - T_exact| = {err:.3e} K (rise {rise:.3f} K)"
    # pointwise, the sheet source spread over the facets' vertices leaves an O(h) ripple
    # across the section at the interface plane: bounded, not at round-off
    err_pt = np.max(np.abs(np.array(res["T_point"]) - T_exact))
    # (measured 0.016 K at h = L/20, halving with h; the heating case rises by 52 K)
    assert err_pt < 0.03, f"pointwise max |T - T_exact| = {err_pt:.3e} K"
    assert res["heat_peltier_W"] == pytest.approx(q_exact, rel=1e-8)
    assert res["heat_balance_rel"] < 1e-8
    # voltage: Ohm's law through the two regions in series
    m = cfg.material
    V_exact = current * (m.rho_metal + m.rho_insulator) * (L / 2) / (W * H)
    assert res["V"] == pytest.approx(V_exact, rel=1e-9)


@pytest.mark.parametrize("discretization", ["p1", "mixed"])
@pytest.mark.parametrize("current", [2e-4, -2e-4])
def test_bar_peltier_heating_and_cooling(current, discretization):
    """+I flows insulator -> metal (Peltier heating), -I metal -> insulator (cooling)."""
    res = solve_bar(current, discretization)
    check(res, current)
    _, q = closed_form(bar_config(current), np.zeros(1))
    assert np.sign(res["heat_peltier_W"]) == np.sign(current) == np.sign(q)


@pytest.mark.mpi
def test_bar_parallel():
    """The same bar on 2 ranks: interface facets on the partition boundary are seen from both sides."""
    mpirun = Path(sys.executable).parent / "mpirun"
    out = subprocess.run([str(mpirun), "-n", "2", sys.executable, __file__, "2e-4", "mixed"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    check(res, 2e-4)
    serial = solve_bar(2e-4, "mixed")
    assert np.allclose(res["T"], serial["T"], rtol=1e-10, atol=0)
    assert res["heat_peltier_W"] == pytest.approx(serial["heat_peltier_W"], rel=1e-10)


if __name__ == "__main__":
    from mpi4py import MPI

    result = solve_bar(float(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "p1")
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(result))
