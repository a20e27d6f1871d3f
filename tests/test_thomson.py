"""Thomson heat in an insulating bar with a linear S(T) against its 1D closed form (docs/physics.md,
"Thomson heat in a bar").

A bar 0 < x < L, end-face electrodes, uniform current I (I > 0 enters at x = L: j_x = -I/A),
phase frozen insulating, T = T0 at x = 0, x = L adiabatic, S(T) = S0 (1 + alpha (T - T0)):

    kappa T'' - S' j_x T T' + q = 0,   q = rho_I j^2,  S' = S0 alpha

Its first integral is a Riccati equation, kappa T' = C - q x + beta T^2 (beta = S' j_x / 2),
and T = -(kappa/beta) y'/y turns it into Airy's equation y'' = k^3 (x - C/q) y,
k^3 = beta q / kappa^2: y = a Ai(z) + b Bi(z), z = k (x - C/q), with y(0) = 1,
y'(0) = -beta T0 / kappa; C follows from T'(L) = 0. The Thomson heat released is
Q_th = -S' j_x A (T(L)^2 - T0^2) / 2, and the sink takes q A L + Q_th.

Catches: a wrong sign or factor of the Thomson term (the Thomson part of the profile is
~3 K here, the tolerance 3 mK), a Thomson term missing from the heat balance or the
flux-form Peltier check, S evaluated at the wrong temperature.
"""

from __future__ import annotations

import numpy as np
import pytest

from plane_means import x_plane_means  # tests/plane_means.py

L, W, H = 1.0e-3, 1.0e-4, 1.0e-4
A = W * H
N = (40, 2, 2)
S0, ALPHA, T0, RHO, KAPPA = 2e-3, 5e-3, 300.0, 0.06, 0.1


def bar_config(current: float, thomson: bool = True):
    import fem_peltier as fp

    law = f'{{law="linear", value={S0}, t_ref={T0}, alpha={ALPHA if thomson else 0.0}}}'
    return fp.load_config(overrides=[
        'solver.current_discretization="mixed"', f"geometry.length={L}", f"geometry.width={W}",
        f"geometry.thickness={H}", 'geometry.electrodes="ends"', f"drive.current={current}",
        f"material.seebeck_insulator={law}", "material.seebeck_metal=0.0", f"material.rho_insulator={RHO}",
        f"material.kappa={KAPPA}", f"thermal.t0={T0}",
    ]).resolved()


def closed_form(current: float, x: np.ndarray) -> tuple[np.ndarray, float]:
    """T(x) of the bar above and the Thomson heat Q_th (W)."""
    from scipy.optimize import brentq
    from scipy.special import airy

    j_x = -current / A
    q = RHO * j_x**2
    beta = S0 * ALPHA * j_x / 2
    k = np.cbrt(beta * q / KAPPA**2)

    def profile(s: float, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """T and T' from x = 0 with T(0) = T0, T'(0) = s."""
        C = KAPPA * s - beta * T0**2
        x0 = C / q
        ai0, aip0, bi0, bip0 = airy(k * (0.0 - x0))
        a, b = np.linalg.solve([[ai0, bi0], [k * aip0, k * bip0]], [1.0, -beta * T0 / KAPPA])
        ai, aip, bi, bip = airy(k * (xs - x0))
        T = -(KAPPA / beta) * k * (a * aip + b * bip) / (a * ai + b * bi)
        return T, (C - q * xs + beta * T**2) / KAPPA

    s0 = q * L / KAPPA  # T'(0) without the Thomson heat
    s = brentq(lambda s: profile(s, np.array([L]))[1][0], 0.3 * s0, 3.0 * s0, xtol=1e-14 * s0)
    T, _ = profile(s, x)
    T_L = profile(s, np.array([L]))[0][0]
    return T, -S0 * ALPHA * j_x * A * (T_L**2 - T0**2) / 2


def solve_bar(current: float, thomson: bool = True) -> dict:
    from mpi4py import MPI  # noqa: F401  (before dolfinx)
    from dolfinx import fem

    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.continuation import solve
    from fem_peltier.coupled import CoupledProblem
    from fem_peltier.diagnostics import heat_terms

    cfg = bar_config(current, thomson)
    p = CoupledProblem(cfg, box_film_mesh(cfg, N))
    p.prescribe_phase(np.zeros(p.xc.x.array.size // 3, dtype=bool))  # insulating everywhere
    T_field = p.unknowns["temperature"]
    sink = fem.locate_dofs_geometrical((T_field.subspace, T_field.space), lambda x: np.isclose(x[0], 0.0))[0]
    p.set_heat_sink_dofs(sink)
    rep = solve(p)
    T_mean = x_plane_means(p.unknowns.function("temperature"), L, N[0])
    out = {"converged": rep.converged, "x": np.linspace(0, L, N[0] + 1), "T": T_mean, "V": p.V}
    out.update(heat_terms(p))
    return out


@pytest.mark.parametrize("current", [1e-4, -1e-4])
def test_thomson_bar_against_closed_form(current):
    """I > 0 flows down the temperature gradient's direction of rising S: Thomson heating
    (the profile rises above the Joule-only parabola); I < 0: Thomson cooling."""
    res = solve_bar(current)
    assert res["converged"]
    x = res["x"]
    T_exact, q_th = closed_form(current, x)
    T_joule = T0 + RHO * (current / A) ** 2 / KAPPA * (L * x - x**2 / 2)  # without Thomson heat
    effect = np.max(np.abs(T_exact - T_joule))
    err = np.max(np.abs(res["T"] - T_exact))
    print(f"I = {current:g} A: Thomson effect {effect:.3f} K, max |T - T_exact| = {err:.3e} K, "
          f"Q_th = {res['heat_thomson_W']:.6e} W (exact {q_th:.6e} W)")
    assert effect > 2.5  # the case tests something
    assert np.sign(res["T"][-1] - T_joule[-1]) == np.sign(current)  # heating for I > 0
    assert err < 1e-3 * effect, f"max |T - T_exact| = {err:.3e} K (Thomson effect {effect:.3f} K)"
    assert res["heat_thomson_W"] == pytest.approx(q_th, rel=1e-3)
    q_joule = RHO * (current / A) ** 2 * A * L
    assert res["heat_joule_W"] == pytest.approx(q_joule, rel=1e-10)
    # every term in the balance, to round-off; the sink takes Joule + Thomson
    assert res["heat_balance_rel"] < 1e-10
    assert res["heat_to_sink_W"] == pytest.approx(res["heat_joule_W"] + res["heat_thomson_W"], rel=1e-10)
    assert res["heat_peltier_W"] == 0.0  # no phase boundary
    # the flux form -T j . grad S = S j . grad T - div(T S j) sees the same Thomson heat
    assert res["peltier_forms_mismatch_rel"] < 1e-10
    assert res["heat_peltier_flux_form_W"] == pytest.approx(res["heat_thomson_W"], rel=1e-8)
    assert res["V"] == pytest.approx(current * RHO * L / A, rel=1e-10)


def test_constant_seebeck_has_no_thomson_heat():
    """alpha = 0 (a constant written as a law): no Thomson heat, the Joule-only parabola."""
    current = 1e-4
    res = solve_bar(current, thomson=False)
    x = res["x"]
    T_joule = T0 + RHO * (current / A) ** 2 / KAPPA * (L * x - x**2 / 2)
    assert res["heat_thomson_W"] == 0.0
    # 1.5e-4 K at the adiabatic electrode end, decaying over a few cells: the same to all digits
    # with seebeck_insulator = 2e-3 written as a number (the mixed form's end layer, not the law)
    assert np.max(np.abs(res["T"] - T_joule)) < 1e-5 * (T_joule.max() - T0)
