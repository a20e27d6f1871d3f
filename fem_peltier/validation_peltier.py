"""Validation of the Peltier heat: a planar junction (T dS I, heat balance) and Eq. 14 (Peltier-only radius).

Every function is collective; pictures are drawn on rank 0.
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)

import logging
import math
import time
from pathlib import Path

import numpy as np

from .checks import Check, Level, preset_config as _config
from .closed_forms import eq14_radius
from .metal_extent import metal_radius
from .parallel import is_root

log = logging.getLogger("fem_peltier.validation")


# ---------------------------------------------------------------------------------------
# Check 3: Peltier junction heat T dS I and heat balance


def check_peltier_junction(level: Level = "full") -> Check:
    """Frozen two-phase bar (metal x < L/2): facet Peltier heat vs T(x0) dS I; heat balance.

    Closed form: 1D along x with T = T0 at both ends, Joule rho j^2 in each half and the
    sheet source T(x0) dS j at x0 (current > 0 flows insulator -> metal: heating).
    """
    from dolfinx import fem

    from .boxmesh import box_film_mesh
    from .continuation import solve
    from .coupled import CoupledProblem
    from .diagnostics import heat_terms, probe
    from .fields import TEMPERATURE

    t_start = time.perf_counter()
    ch = Check("peltier", "Peltier junction heat T dS I and heat balance")
    L, W, H = 1.0e-3, 1.0e-4, 1.0e-4
    n = (20, 2, 2) if level == "quick" else (40, 2, 2)
    results = {}
    for current in (1e-3, -1e-3):
        cfg = _config(
            "fig2a",
            [
                f"geometry.length={L}",
                f"geometry.width={W}",
                f"geometry.thickness={H}",
                'geometry.electrodes="ends"',
                f"drive.current={current}",
                "solver.initial_width=3.0",
                "solver.transition_width=3.0",
            ],
        )
        p = CoupledProblem(cfg, box_film_mesh(cfg, n))
        p.prescribe_phase(p.xc.x.array.reshape(-1, 3)[:, 0] < L / 2)
        T_field = p.unknowns[TEMPERATURE]
        ends = fem.locate_dofs_geometrical(
            (T_field.subspace, T_field.space), lambda x: np.isclose(x[0], 0.0) | np.isclose(x[0], L)
        )[0]
        p.set_heat_sink_dofs(ends)
        rep = solve(p)
        ht = heat_terms(p)
        T_fun = p.unknowns.function(TEMPERATURE)
        yz = [(W * a, H * b) for a in (0.25, 0.5, 0.75) for b in (0.25, 0.5, 0.75)]
        Tx0 = float(np.nanmean(probe(p, T_fun, np.array([[L / 2, y, z] for y, z in yz]))))
        mat, t0 = cfg.material, cfg.thermal.t0
        dS = cfg.delta_seebeck
        j = abs(current) / (W * H)
        q1, q2, k = mat.rho_metal * j**2, mat.rho_insulator * j**2, mat.kappa
        c = math.copysign(1.0, current) * dS * j
        x0 = l2 = L / 2
        A = np.array([[x0, -l2], [k - c * x0, k]])
        b = np.array([q1 * x0**2 / (2 * k) - q2 * l2**2 / (2 * k), q1 * x0 + q2 * l2 + c * (t0 - q1 * x0**2 / (2 * k))])
        a1, _ = np.linalg.solve(A, b)
        Tx0_exact = t0 + a1 * x0 - q1 * x0**2 / (2 * k)
        Q_exact = math.copysign(1.0, current) * Tx0_exact * dS * abs(current)
        Q_flux = ht["heat_peltier_flux_form_W"]  # diagnostics.peltier_flux_form: -oint T S j.n + int S j.grad T
        sign = "+" if current > 0 else "-"
        ch.compare(f"I = {sign}{abs(current) * 1e3:g} mA: T(x0) (K)", Tx0, Tx0_exact, 1e-3, kind="rel")
        ch.compare(
            f"I = {sign}{abs(current) * 1e3:g} mA: Peltier heat, facet form (W)",
            ht["heat_peltier_W"],
            Q_exact,
            1e-3,
            kind="rel",
            note="sign(I) T(x0) dS |I|",
        )
        ch.compare(
            f"I = {sign}{abs(current) * 1e3:g} mA: Peltier heat, flux form (W)",
            Q_flux,
            Q_exact,
            1e-3,
            kind="rel",
            note="-oint T S j.n + int S j.grad T",
        )
        ch.compare(f"I = {sign}{abs(current) * 1e3:g} mA: heat balance (rel)", ht["heat_balance_rel"], 0.0, 1e-8)
        results[current] = {
            "converged": rep.converged,
            "T_x0": Tx0,
            "T_x0_exact": Tx0_exact,
            "Q_facet": ht["heat_peltier_W"],
            "Q_flux": Q_flux,
            "Q_exact": Q_exact,
            **ht,
        }
    ch.data = {str(k): v for k, v in results.items()}
    ch.text = (
        f"Bar {L * 1e3:g} x {W * 1e3:g} x {H * 1e3:g} mm, end-face electrodes, phase frozen (metal for "
        f"x < L/2), T = T0 at both ends, box mesh {n[0]} x {n[1]} x {n[2]}. The Peltier heat of the planar "
        "junction is compared with sign(I) T(x0) dS |I| from the exact 1D solution (with the "
        "junction's own Peltier source)."
    )
    ch.wall_s = time.perf_counter() - t_start
    return ch


# ---------------------------------------------------------------------------------------
# Check 4: Eq. 14, Peltier-only point-electrode limit


def eq14_config(current: float, h: float, e_size: float):
    """fig2a material, L = W = 1 mm, film h, square electrode patches e_size, no Joule heat."""
    return _config(
        "fig2a",
        [
            f"geometry.thickness={h!r}",
            f"geometry.electrode_length={e_size!r}",
            f"geometry.electrode_width={e_size!r}",
            "thermal.joule_heating=false",
            f"drive.current={current!r}",
            "solver.initial_width=12.0",
            "solver.transition_width=3.0",
        ],
    )


def solve_eq14(current: float, h: float, n: tuple[int, int, int], e_size: float, previous=None):
    """Peltier-only solve seeded with a hot half-disc of radius r_c (Eq. 14) at the negative electrode.

    Without Joule heat T = T0 (no metal, no interface, no heat) is always a solution; the
    metal nucleus must be seeded. `previous` warm-starts from a neighbouring current.
    """
    from .boxmesh import box_film_mesh
    from .coupled import CoupledProblem
    from .simulation import run

    cfg = eq14_config(current, h, e_size)
    if previous is not None:
        res = run(cfg, out=None, pictures=False, problem=previous.problem)
        if res.converged:
            return res
        log.info("eq14 I = %g: warm start failed (%s), seeding afresh", current, res.summary["reason"])
    g, m, t0 = cfg.geometry, cfg.material, cfg.thermal.t0
    rc = eq14_radius(h, m.t_mit, current, cfg.delta_seebeck, m.kappa, m.t_mit - t0)
    p = CoupledProblem(cfg, box_film_mesh(cfg, n))
    X = p.V_T.tabulate_dof_coordinates()
    r = np.hypot(X[:, 0], X[:, 1] - g.width / 2)
    p.u.x.array[p.map_T] = np.where(r < rc, m.t_mit + 20.0, t0)
    p.u.x.scatter_forward()
    p.update_phase()
    return run(cfg, out=None, pictures=False, problem=p)


def check_eq14(level: Level = "full", outdir: Path | None = None) -> Check:
    """Peltier-only metal radius at the negative electrode vs Eq. 14 over |I|, and the sqrt(|I|) trend."""
    t_start = time.perf_counter()
    ch = Check("eq14", "Eq. 14: Peltier-only point-electrode limit (Joule heat off)")
    h = 2.5e-5
    currents: tuple[float, ...]
    if level == "quick":
        n, currents = (24, 24, 2), (0.01, 0.02)
    else:
        n, currents = (40, 40, 3), (0.005, 0.01, 0.02, 0.04)
    e_size = 5e-5
    pts = []
    for I in currents:
        t_pt = time.perf_counter()
        res = solve_eq14(I, h, n, e_size)  # seeded at each current: warm starts took longer
        cfg = res.problem.cfg
        m = cfg.material
        rc = eq14_radius(h, m.t_mit, I, cfg.delta_seebeck, m.kappa, m.t_mit - cfg.thermal.t0)
        rad = metal_radius(res.problem)
        s = res.summary
        pts.append(
            {
                "current_A": I,
                "converged": bool(res.converged),
                "r_c_eq14": rc,
                **rad,
                "T_max_K": s["T_max_K"],
                "heat_peltier_W": s["heat_peltier_W"],
                "heat_joule_W": s["heat_joule_W"],
                "heat_balance_rel": s["heat_balance_rel"],
                "metal_max_depth_m": s["metal_max_depth_m"],
                "wall_s": time.perf_counter() - t_pt,
            }
        )
        log.info(
            "eq14 I = %g: %s r_area = %.3g (Eq. 14 %.3g), %.1f s",
            I,
            res.converged,
            rad["r_area"],
            rc,
            time.perf_counter() - t_pt,
        )
    ok = [pt for pt in pts if pt["converged"] and pt["r_area"] > 0]
    ch.compare("all points converged with a metal region", float(len(ok) == len(pts)), 1.0, 0.0)
    for pt in pts:
        if not pt["converged"]:
            ch.compare(f"converged at I = {pt['current_A'] * 1e3:g} mA", 0.0, 1.0, 0.0)
            continue
        ch.compare(
            f"r (area-equivalent) / r_c at I = {pt['current_A'] * 1e3:g} mA",
            pt["r_area"] / pt["r_c_eq14"],
            1.0,
            0.3,
            note=f"r_x = {pt['r_x'] * 1e6:.0f} um, r_y = {pt['r_y'] * 1e6:.0f} um, "
            f"r_c = {pt['r_c_eq14'] * 1e6:.0f} um; d(0) = {pt['metal_max_depth_m'] / h:.2f} h",
        )
    if len(ok) >= 2:
        slope = float(np.polyfit(np.log([pt["current_A"] for pt in ok]), np.log([pt["r_area"] for pt in ok]), 1)[0])
        ch.compare("exponent of r vs |I| (log-log fit)", slope, 0.5, 0.15)
        ch.data["exponent"] = slope
    if ok:
        ch.compare("no Joule heat (W)", max(abs(pt["heat_joule_W"]) for pt in ok), 0.0, 1e-15)
        ch.compare("heat balance, Peltier only (rel)", max(pt["heat_balance_rel"] for pt in ok), 0.0, 1e-6)
    ch.data.update({"points": pts, "mesh": list(n), "h": h, "electrode_size": e_size})
    ch.text = (
        f"L = W = 1 mm, h = {h * 1e6:g} um (h/L = {h / 1e-3:g}), square {e_size * 1e6:g} um electrode "
        f"patches, thermal.joule_heating = false, box mesh {n[0]} x {n[1]} x {n[2]}, band 3 K. "
        "Without Joule heat the all-insulating state is always a solution, so each solve starts from a "
        "seeded hot half-disc of radius r_c at the negative electrode at each current."
    )
    if outdir is not None and is_root():
        from .validation_report import plot_eq14

        ch.figures.append(plot_eq14(pts, h, outdir / "eq14_rc.png"))
    ch.wall_s = time.perf_counter() - t_start
    return ch
