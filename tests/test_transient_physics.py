"""Transient solver against closed forms (issue 17, validation items 1, 2 and 4; derivations in
docs/physics.md, "Transient heat: closed forms used in validation").

1. Switch-on of an insulating slab (slab preset geometry, h = 50 um, end-face electrodes,
   T = T0 at z = 0, top adiabatic, constant c, kappa, rho; T_MIT far above reach): with
   theta = T - T0, q = rho j^2 and tau = c h^2 / kappa,

       theta_top(t) = q h^2 / (2 kappa) [1 - sum_n (-1)^n 32 / ((2n+1)^3 pi^3) exp(-(2n+1)^2 pi^2 t / (4 tau))].

   The mean top temperature (T_top_mean_K) of a 2 x 2 x 20 box mesh is compared with it at every
   accepted step; T_max_K is not used: around the nodes on the box mesh's outer faces the
   tetrahedra are not symmetric in z, which puts the top corners +-1.8% of the rise off the
   series (the interior node (L/2, W/2, h) and the top mean: 1e-4). Then the order in time of
   each scheme from fixed steps dt, dt/2, dt/4 on one mesh (the spatial error cancels in the
   differences).
2. Energy closure with latent heat: the slab at 1.5 j_cr (the preset's current), where a metal
   layer forms at the top, L = 2.3e7 J/m^3; energy_balance_rel of fixed-step runs shrinks at the
   scheme's order and equals the closed-form remainder of the trapezoid rule against the scheme.
3. Adiabatic blow-up: uniform bar under a fixed voltage, rho = rho0 exp(-b (T - T0)): T reaches
   solver.t_ceiling T_c at t* (1 - exp(-b (T_c - T0))), t* = c rho0 / (b E^2), and the run ends
   as a runaway there.

Measured (2026-12-02; run with -s to see the numbers):
1. default adaptive BDF2 to 2 tau: max |T_top - series| 3.4e-3 of the 30 K rise. Fixed steps to
   0.87 tau at 20, 40, 80 steps: observed order from the final T_top 0.98 (backward Euler),
   2.14 (BDF2); from the largest difference over the common times 0.95 and 1.83.
2. energy_balance_rel at 20, 40, 80 steps to 0.04 s: backward Euler 0.082, 0.045, 0.024
   (order 0.86, 0.93); BDF2 3.4e-5, 5.2e-6, 1.1e-6 (order 2.7, 2.2); the latent heat stored is
   5.8% of the stored energy. Before the initial level's m was recomputed at the final band width
   (transient_run._initial_state) the BDF2 values stalled at 0.027.
3. t_c = 0.09502 s (t* = 0.1 s, b (T_c - T0) = 3): the run stops at 0.09400 s (-1.1%) with the
   default rtol = 1e-3, at 0.09466 s (-0.38%) with rtol = 1e-4. With t* = 1e-13 s, below
   time.dt_min, no step is accepted: the run returns its failed result (it used to raise
   FileNotFoundError on the missing timeseries.csv).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

T0 = 300.0
C = 2.3e6  # the default heat capacity (J/(m^3 K))
KAPPA = 0.1
RHO = 0.06
H = 5.0e-5
W = 1.0e-4
LENGTH = 1.0e-3
TAU = C * H**2 / KAPPA  # 0.0575 s

# --- 1. switch-on of an insulating slab -------------------------------------------------------

I_SWITCH = 1.0e-3  # A: j = 2e5 A/m^2, q = 2.4e9 W/m^3, steady rise q h^2 / (2 kappa) = 30 K
SWITCH = {"material.t_mit": 1000.0, "thermal.peltier_heating": False, "drive.current": I_SWITCH}
SWITCH_MESH = (2, 2, 20)


def _q_switch() -> float:
    return RHO * (I_SWITCH / (W * H)) ** 2


def series_top(t: np.ndarray, q: float, n_terms: int = 400) -> np.ndarray:
    """T(h, t) of c T_t = kappa T_zz + q, T(0, t) = T0, T_z(h, t) = 0, T(z, 0) = T0."""
    n = np.arange(n_terms)
    k = 2 * n + 1
    coef = (-1.0) ** n * 32 / (k**3 * math.pi**3)
    decay = np.exp(-np.outer(np.atleast_1d(t), k**2) * math.pi**2 / (4 * TAU))
    return T0 + q * H**2 / (2 * KAPPA) * (1 - decay @ coef)


def _run(overrides: dict, mesh: tuple[int, int, int], out):
    import fem_peltier as fp
    from fem_peltier.boxmesh import box_film_mesh

    # Newton solved to round-off: these checks measure the time discretisation alone
    cfg = fp.load_config(preset="slab", overrides={"time.newton_rtol": 1e-10, **overrides})
    res = fp.run_transient(cfg, out=out, film_mesh=box_film_mesh(cfg, mesh), pictures=False)
    assert res.summary["transient"]
    return res


def test_switch_on_adaptive_matches_series(tmp_path):
    """Default adaptive BDF2 to 2 tau: T_top_mean within 0.5% of the rise at every step."""
    t_end = 2 * TAU
    res = _run({**SWITCH, "time.t_end": t_end, "time.output_every": t_end}, SWITCH_MESH, tmp_path / "r")
    s, ts = res.summary, res.timeseries
    assert res.converged, s["reason"]
    exact = series_top(ts["t_s"], _q_switch())
    rise = _q_switch() * H**2 / (2 * KAPPA)
    err = np.abs(ts["T_top_mean_K"] - exact) / rise
    print(
        f"\nswitch-on, adaptive BDF2: {s['time_steps']} steps, {s['rejected_steps']} rejected; "
        f"max |T_top - series| = {err.max():.2e} of the {rise:.1f} K rise"
    )
    for frac in (0.1, 0.25, 0.5, 1.0, 2.0):
        i = int(np.argmin(np.abs(ts["t_s"] - frac * TAU)))
        print(
            f"  t = {ts['t_s'][i] / TAU:.3f} tau: T_top {ts['T_top_mean_K'][i]:.4f} K, series {exact[i]:.4f} K, "
            f"error {err[i]:.2e} of the rise"
        )
    assert s["metal_fraction"] < 1e-12
    assert err.max() < 5e-3
    assert err[-1] < 2e-3


@pytest.mark.parametrize(("scheme", "order_range"), [("backward_euler", (0.8, 1.3)), ("bdf2", (1.7, 2.4))])
def test_switch_on_time_order(tmp_path, scheme, order_range):
    """Fixed steps t_end/20, /40, /80 on one mesh: the observed order of T_top in time."""
    t_end = 0.05
    runs = []
    for n in (20, 40, 80):
        over = {
            **SWITCH,
            "time.t_end": t_end,
            "time.dt": t_end / n,
            "time.adaptive": False,
            "time.scheme": scheme,
            "time.output_every": t_end,
        }
        res = _run(over, SWITCH_MESH, tmp_path / f"{scheme}{n}")
        assert res.converged, res.summary["reason"]
        ts = res.timeseries
        assert len(ts["t_s"]) == n
        stride = n // 20
        runs.append(ts["T_top_mean_K"][stride - 1 :: stride])  # at the 20 common times
    d_final = [abs(runs[i][-1] - runs[i + 1][-1]) for i in range(2)]
    d_max = [float(np.max(np.abs(runs[i] - runs[i + 1]))) for i in range(2)]
    order_final = math.log2(d_final[0] / d_final[1])
    order_max = math.log2(d_max[0] / d_max[1])
    exact = series_top(np.array([t_end]), _q_switch())[0]
    print(
        f"\n{scheme}: T_top(t_end) at 20/40/80 steps {runs[0][-1]:.6f} {runs[1][-1]:.6f} {runs[2][-1]:.6f} K "
        f"(series {exact:.6f} K); differences {d_final[0]:.3e} {d_final[1]:.3e} K: order {order_final:.3f}; "
        f"largest over the common times {d_max[0]:.3e} {d_max[1]:.3e} K: order {order_max:.3f}"
    )
    lo, hi = order_range
    assert lo <= order_final <= hi
    assert lo - 0.15 <= order_max <= hi


# --- 2. energy closure with latent heat ------------------------------------------------------------

LATENT = 2.3e7  # J/m^3: 10 K of sensible heat
ENERGY_MESH = (2, 1, 10)  # one cell across the width: the metal layer cannot filament


@pytest.mark.parametrize(("scheme", "order_range"), [("backward_euler", (0.8, 1.3)), ("bdf2", (1.7, 3.0))])
def test_energy_closure_latent(tmp_path, scheme, order_range):
    """energy_balance_rel shrinks at the scheme's order and equals the trapezoid remainder:
    backward Euler (dt/2)(r_1 - r_N), BDF2 -(E_N - 2 E_(N-1) + E_(N-2))/4 (docs/physics.md)."""
    t_end = 0.04
    rel = []
    for n in (20, 40, 80):
        over = {
            "material.latent_heat": LATENT,
            "time.t_end": t_end,
            "time.dt": t_end / n,
            "time.adaptive": False,
            "time.scheme": scheme,
            "time.output_every": t_end,
        }
        res = _run(over, ENERGY_MESH, tmp_path / f"{scheme}{n}")
        s, ts = res.summary, res.timeseries
        assert res.converged, s["reason"]
        E, r = ts["stored_energy_J"], ts["heat_net_W"]
        gained, dE = s["energy_gained_J"], E[-1] - s["stored_energy_initial_J"]
        if scheme == "backward_euler":
            remainder = 0.5 * (t_end / n) * (r[0] - r[-1])
        else:
            remainder = -0.25 * (E[-1] - 2 * E[-2] + E[-3])
        latent = ts["latent_energy_J"]
        print(
            f"\n{scheme} {n} steps: energy_balance_rel {s['energy_balance_rel']:.3e}; gained - dE "
            f"{gained - dE:.4e} J, closed-form remainder {remainder:.4e} J (relative difference "
            f"{abs(gained - dE - remainder) / abs(remainder):.1e}); latent {latent[-1]:.3e} J of {E[-1]:.3e} J "
            f"stored, metal fraction {s['metal_fraction']:.3f}, metal from {s['switching_time_s']:.4g} s"
        )
        assert ts["heat_balance_rel"].max() < 1e-8
        assert abs(latent[0]) < 1e-12 * E[-1]
        assert latent[-1] > 0.04 * E[-1]  # the latent term is exercised
        assert s["metal_fraction"] > 0.2
        assert gained - dE == pytest.approx(remainder, rel=1e-4, abs=1e-9 * abs(dE))
        rel.append(s["energy_balance_rel"])
    orders = [math.log2(rel[i] / rel[i + 1]) for i in range(2)]
    print(
        f"{scheme}: energy_balance_rel {rel[0]:.3e} {rel[1]:.3e} {rel[2]:.3e}, orders {orders[0]:.2f} {orders[1]:.2f}"
    )
    lo, hi = order_range
    assert all(lo <= o <= hi for o in orders), orders
    if scheme == "bdf2":
        assert rel[-1] < 1e-5


# --- 3. adiabatic blow-up -------------------------------------------------------------------------------

B = 0.01  # 1/K
T_CEILING = 600.0  # b (T_c - T0) = 3
T_STAR = 0.1  # s
E_FIELD = math.sqrt(C * RHO / (B * T_STAR))  # 1.17e4 V/m


def blowup_time_to(T: float) -> float:
    """Time at which c dT/dt = E^2 / rho0 exp(b (T - T0)), T(0) = T0, reaches T."""
    return T_STAR * (1 - math.exp(-B * (T - T0)))


@pytest.mark.parametrize(("rtol", "tolerance"), [(1e-3, 0.03), (1e-4, 0.01)])
def test_adiabatic_blowup(tmp_path, rtol, tolerance):
    """The run ends as a runaway where T reaches solver.t_ceiling, at the closed-form time."""
    law = {"law": "exponential", "value": RHO, "t_ref": T0, "beta": B}
    over = {
        "drive.current": None,
        "drive.voltage": E_FIELD * LENGTH,
        "material.rho_insulator": law,
        "material.rho_metal": 1e-5,
        "material.t_mit": T_CEILING + 100,
        "solver.t_ceiling": T_CEILING,
        "thermal.boundary": [{"surface": "bottom", "type": "convection", "h": 1e-6, "t_ambient": T0}],
        "time.t_end": 2 * T_STAR,
        "time.rtol": rtol,
        "time.output_every": 2 * T_STAR,
    }
    res = _run(over, (2, 1, 2), tmp_path / "r")
    s, ts = res.summary, res.timeseries
    t_c = blowup_time_to(T_CEILING)
    t_reached = s["time_reached_s"]
    t = ts["t_s"]
    exact = T0 - np.log(1 - t / T_STAR) / B
    early = exact < T0 + 0.5 * (T_CEILING - T0)
    err_early = float(np.max(np.abs(ts["T_mean_K"][early] - exact[early])))
    print(
        f"\nblow-up, rtol {rtol:g}: {s['reason']}; {s['time_steps']} steps, {s['rejected_steps']} rejected; "
        f"stopped at {t_reached:.6f} s, closed form {t_c:.6f} s ({t_reached / t_c - 1:+.2%}); "
        f"T up to 450 K within {err_early:.3f} K of the closed form; last T_max {ts['T_max_K'][-1]:.3f} K"
    )
    assert not res.converged
    assert s["converged"] is False
    assert s["runaway"] is True
    assert s["final_state"] == "runaway"
    assert "runaway" in s["reason"]
    assert abs(t_reached / t_c - 1) < tolerance
    assert ts["T_max_K"][-1] > T_CEILING - 0.01 * (T_CEILING - T0)
    assert float(np.max(ts["T_max_K"] - ts["T_mean_K"])) < 1e-3  # uniform: no spatial error
    assert s["time_steps"] + s["rejected_steps"] < 120


def test_failure_at_the_first_step_returns_a_result(tmp_path):
    """A blow-up faster than time.dt_min (t* = 1e-13 s): no step is accepted, and the run
    returns a failed result (it raised FileNotFoundError on the missing timeseries.csv)."""
    law = {"law": "exponential", "value": RHO, "t_ref": T0, "beta": B}
    over = {
        "drive.current": None,
        "drive.voltage": math.sqrt(C * RHO / (B * 1e-13)) * LENGTH,
        "drive.allow_implausible": True,
        "material.rho_insulator": law,
        "material.rho_metal": 1e-5,
        "material.t_mit": T_CEILING + 100,
        "solver.t_ceiling": T_CEILING,
        "thermal.boundary": [{"surface": "bottom", "type": "convection", "h": 1e-6, "t_ambient": T0}],
    }
    res = _run(over, (2, 1, 2), tmp_path / "r")
    s = res.summary
    print(f"\nt* = 1e-13 s: {s['reason']}")
    assert not res.converged
    assert s["time_steps"] == 0 and s["time_reached_s"] == 0.0
    assert res.timeseries == {}
    assert (tmp_path / "r" / "summary.json").is_file()
