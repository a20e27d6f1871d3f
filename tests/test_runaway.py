"""Thermal runaway of an insulating slab with an activated resistivity (docs/physics.md,
"Thermal runaway of an activated insulator").

The slab preset's geometry (end-face electrodes, sink at the bottom z = 0, top adiabatic),
insulating throughout (T_MIT far above reach), rho_I(T) = rho0 exp((Ea/k_B)(1/T - 1/T0)).
Far from the ends the field E = V/L is uniform and T depends on z only:

    kappa T'' + sigma(T) E^2 = 0,  T(0) = T0,  T'(h) = 0,   sigma = 1/rho_I.

With G(T) = integral of sigma from T0 and T_top = T(h), one integration gives
kappa T'^2 / 2 = E^2 (G(T_top) - G(T)), so the steady states form one branch parametrized
by T_top:

    V(T_top) = (L/h) sqrt(kappa/2) integral_{T0}^{T_top} dT / sqrt(G(T_top) - G(T))
    I(T_top) = W sqrt(2 kappa G(T_top))          (the heat kappa T'(0) W L = I V leaves at the sink)

V(T_top) rises to a maximum V_c (the fold) and falls: below V_c a voltage drive has a
(cold) steady state, above it none (below solver.t_ceiling): thermal runaway. A current
drive follows the whole S-shaped branch, V rising then falling with I. Here V_c = 9.789 V
at T_top = 365.1 K; the Frank-Kamenetskii estimate (1/T linearized about T0, critical
parameter 0.878 of the slab with one cold face) gives 9.04 V, 8% low at Ea/(k_B T0) = 7.7.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cli_runner import fem  # tests/cli_runner.py

K_B = 8.617333262e-5
L, W, H = 1.0e-3, 1.0e-4, 5.0e-5
T0, RHO0, EA, KAPPA = 300.0, 0.06, 0.2, 0.1
LAW = f'{{law="arrhenius", value={RHO0}, t_ref={T0}, activation_energy_eV={EA}}}'
N = (4, 1, 16)
SETTINGS = [
    "drive.current=none", f"material.rho_insulator={LAW}", "material.rho_metal=1e-5", "material.t_mit=2900",
    f"material.kappa={KAPPA}", f"thermal.t0={T0}",
]


def sigma(T):
    return np.exp(-EA / K_B * (1.0 / T - 1.0 / T0)) / RHO0


def branch(t_top: float) -> tuple[float, float]:
    """(V, I) of the steady state whose top temperature is t_top (closed form above)."""
    from scipy.integrate import quad

    def integrand(u: float) -> float:  # 2u / sqrt(G(t_top) - G(t_top - u^2))
        if u * u < 1e-9 * t_top:
            return 2 / math.sqrt(sigma(t_top))
        return 2 * u / math.sqrt(quad(sigma, t_top - u * u, t_top, epsabs=0, epsrel=1e-11)[0])

    # T = t_top - u^2 removes the integrable 1/sqrt singularity at T = t_top
    F = quad(integrand, 0, math.sqrt(t_top - T0), epsabs=0, epsrel=1e-10, limit=200)[0]
    G = quad(sigma, T0, t_top, epsabs=0, epsrel=1e-11)[0]
    return L / H * math.sqrt(KAPPA / 2) * F, W * math.sqrt(2 * KAPPA * G)


def critical() -> tuple[float, float]:
    """(V_c, T_top at the fold)."""
    from scipy.optimize import minimize_scalar

    r = minimize_scalar(lambda t: -branch(t)[0], bounds=(T0 + 1, T0 + 200), method="bounded",
                        options={"xatol": 1e-6})
    return float(-r.fun), float(r.x)


def frank_kamenetskii() -> float:
    """V_c with 1/T - 1/T0 ~ -(T - T0)/T0^2: lambda_c = 3.5138307/4 (Bratu's, one cold face)."""
    lam = 3.513830719125162 / 4
    return L * math.sqrt(lam * KAPPA * K_B * T0**2 / (EA * H**2 / RHO0))


def solve_slab(overrides: list[str]):
    import fem_peltier as fp
    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.simulation import run

    cfg = fp.load_config(preset="slab", overrides=SETTINGS + overrides).resolved()
    return run(cfg, out=None, pictures=False, film_mesh=box_film_mesh(cfg, N))


def test_closed_form_critical_voltage():
    """The fold of the branch, and the classical estimate that brackets it from below."""
    vc, t_fold = critical()
    assert vc == pytest.approx(9.7886, rel=1e-4)
    assert t_fold == pytest.approx(365.11, abs=0.05)
    assert 0.9 * vc < frank_kamenetskii() < vc


def test_below_critical_voltage_converges():
    vc, _ = critical()
    V = 0.95 * vc
    res = solve_slab([f"drive.voltage={V!r}"])
    s = res.summary
    assert res.converged, s["reason"]
    # the cold branch's top temperature at this voltage (closed form, inverted)
    from scipy.optimize import brentq

    t_top = brentq(lambda t: branch(t)[0] - V, T0 + 1e-3, critical()[1], xtol=1e-10)
    print(f"V = {V:.4f} V: T_top_mean {s['T_top_mean_K']:.4f} K (exact T_top {t_top:.4f} K), "
          f"I {s['current_A']:.6e} A (exact {branch(t_top)[1]:.6e} A)")
    # measured at nz = 8, 16, 32: T_top_mean - T_top = -0.42, -0.106, -0.026 K (rise 37 K), current
    # -8.1e-3, -2.1e-3, -5.2e-4 relative (second order). T_max converges at first order only (1.16,
    # 0.69, 0.38 K): one cell across y, the tets' diagonals make y = 0 and y = W differ by 0.8 K at
    # the top once the heat source depends on T (a constant source keeps the nodes exact)
    assert s["T_top_mean_K"] == pytest.approx(t_top, abs=0.005 * (t_top - T0))
    assert s["current_A"] == pytest.approx(branch(t_top)[1], rel=5e-3)
    assert s["heat_balance_rel"] < 1e-9


def test_above_critical_voltage_is_a_thermal_runaway():
    vc, _ = critical()
    res = solve_slab([f"drive.voltage={1.05 * vc!r}"])
    s = res.summary
    assert not res.converged
    assert s["converged"] is False
    assert s["reason"].startswith("thermal runaway"), s["reason"]
    # the ramp stopped at the fold, within the mesh's error of V_c
    reached = s["drive_reached_fraction"] * 1.05 * vc
    print(f"reason: {s['reason']}; reached {reached:.4f} V, V_c = {vc:.4f} V")
    assert 0.99 * vc < reached < 1.005 * vc  # measured 0.9992 V_c


def test_current_control_follows_the_s_curve():
    """Under current control the steady states past the voltage maximum exist: V rises, then falls."""
    temps = (340.0, 365.0, 420.0)
    volts = []
    for t in temps:
        V_exact, I = branch(t)
        res = solve_slab(["drive.voltage=none", f"drive.current={I!r}"])
        assert res.converged, res.summary["reason"]
        V = res.summary["voltage_V"]
        print(f"T_top {t} K: I = {I:.5e} A, V = {V:.5f} V (exact {V_exact:.5f} V)")
        assert V == pytest.approx(V_exact, rel=3e-3)  # measured 5e-4 to 1e-3
        volts.append(V)
    assert volts[0] < volts[1] > volts[2]


def test_cli_runaway_exit_code(tmp_path):
    """From the command line: exit 3, summary.json says converged: false and names the runaway."""
    vc, _ = critical()
    args = ["run", "--preset", "slab", "--out", str(tmp_path / "out"), "--set", "mesh.size=5e-5",
            "--set", "mesh.electrode_size=2.5e-5", "--set", f"drive.voltage={1.1 * vc:.4f}"]
    for o in SETTINGS:
        args += ["--set", o]
    proc = fem(*args, cwd=tmp_path, timeout=300)
    assert proc.returncode == 3, proc.stderr[-2000:]
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["converged"] is False
    assert "thermal runaway" in s["reason"]
    assert "thermal runaway" in proc.stdout + proc.stderr
