"""Validation on the slab (uniform current): Eq. 8-9 (insulating profile, j_cr) and Eq. 10-11 with the V-I curve.

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
from .closed_forms import eq8_profile, eq11_thickness, eq11_voltage, j_critical
from .metal_extent import column_thickness, phase_crossing_depth
from .parallel import is_root

log = logging.getLogger("fem_peltier.validation")


def solve_linear_start(cfg, film_mesh):
    """run() starting from the potential phi = V x / L (the slab's cold start stalls otherwise)."""
    from .coupled import CoupledProblem
    from .simulation import run

    p = CoupledProblem(cfg, film_mesh)
    x = p.V_phi.tabulate_dof_coordinates()[:, 0]
    p.u.x.array[p.map_phi] = p.V * x / cfg.geometry.length
    p.u.x.scatter_forward()
    p.update_phase()
    return run(cfg, out=None, pictures=False, problem=p)


# ---------------------------------------------------------------------------------------
# Check 1: Eq. 8 and Eq. 9 (insulating slab)


def check_eq8_eq9(level: Level = "full") -> Check:
    """Insulating slab at j0 = 0.5 j_cr: T(z) on the mid line vs Eq. 8, j_cr inferred vs Eq. 9."""
    from .boxmesh import box_film_mesh
    from .diagnostics import probe

    t_start = time.perf_counter()
    ch = Check("eq8_eq9", "Eq. 8 and Eq. 9: insulating slab, uniform current")
    nx, nz = (20, 10) if level == "quick" else (40, 20)
    base = _config("slab", [])
    g, mat, t0 = base.geometry, base.material, base.thermal.t0
    L, W, h = g.length, g.width, g.thickness
    jcr = j_critical(mat.rho_insulator, mat.kappa, h, t0, mat.t_mit)
    factor = 0.5
    j0 = factor * jcr
    cfg = _config("slab", [f"drive.current={j0 * W * h!r}", "solver.transition_width=1.0"])
    res = solve_linear_start(cfg, box_film_mesh(cfg, (nx, 1, nz)))
    p, s = res.problem, res.summary
    z = np.linspace(0.0, h, 401)
    T = probe(p, res.fields["T"], np.column_stack([np.full(z.size, L / 2), np.full(z.size, W / 2), z]))
    T_ex = eq8_profile(z, j0, mat.rho_insulator, mat.kappa, h, t0)
    rise = T_ex[-1] - t0
    err = np.abs(T - T_ex)
    T_top = float(T[-1])
    jcr_num = j0 * math.sqrt((mat.t_mit - t0) / (T_top - t0))  # T_top - T0 scales as j0^2 (Eq. 8)
    bound = 1 / (4 * nz**2)  # P1 interpolation error of the parabola, relative to the rise
    ch.compare("converged", float(res.converged), 1.0, 0.0)
    ch.compare(
        "max |T - Eq. 8| / rise on x = L/2",
        float(err.max() / rise),
        0.0,
        1.05 * bound,
        note=f"P1 interpolation bound rise/(4 nz^2), nz = {nz}",
    )
    ch.compare("T_top - T0 (K)", T_top - t0, rise, 1e-5, kind="rel")
    ch.compare("j_cr from T_top (A/m^2)", jcr_num, jcr, 1e-5, kind="rel", note="j0 sqrt(dT / (T_top - T0))")
    ch.compare("metal fraction at 0.5 j_cr", s["metal_fraction"], 0.0, 1e-6)
    ch.compare("heat balance (rel)", s["heat_balance_rel"], 0.0, 1e-6)
    ch.data = {
        "z_m": z.tolist(),
        "T_K": T.tolist(),
        "T_eq8_K": T_ex.tolist(),
        "j0": j0,
        "j_cr": jcr,
        "mesh": [nx, 1, nz],
        "cells": s["cells"],
    }
    ch.text = (
        f"Slab preset (h = {h * 1e6:.0f} um, L = {L * 1e3:.0f} mm) on a {nx} x 1 x {nz} box mesh, "
        f"j0 = {factor} j_cr. The profile error is the P1 interpolation error of the parabola "
        f"(nodal values are exact on a structured mesh)."
    )
    ch.wall_s = time.perf_counter() - t_start
    return ch


# ---------------------------------------------------------------------------------------
# Check 2: Eq. 10-11, metal layer thickness and the V-I curve (Fig. 1b)

SLAB_SWEEP_FULL = (0.25, 0.5, 0.75, 0.9, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0)
SLAB_SWEEP_QUICK = (0.5, 1.2, 1.5, 2.0, 3.0)
D_RATIOS = (1.2, 1.5, 2.0, 3.0)


def slab_sweep(ratios: tuple[float, ...], n: tuple[int, int, int], width: float = 1.0) -> list[dict]:
    """Warm-started current sweep of the slab preset at j0 = ratio * j_cr on an (nx, 1, nz) box mesh.

    Returns per point: ratio, converged, V, I, d/h (m = 0.5 crossing, mean over lines near
    x = L/2 and its spread), the m-integral thickness, metal fraction, T_max, wall time.
    """
    from .boxmesh import box_film_mesh
    from .simulation import run

    base = _config("slab", [])
    g, mat, t0 = base.geometry, base.material, base.thermal.t0
    L, W, h = g.length, g.width, g.thickness
    jcr = j_critical(mat.rho_insulator, mat.kappa, h, t0, mat.t_mit)
    out: list[dict] = []
    prev = None
    fm = None
    for ratio in ratios:
        t0_pt = time.perf_counter()
        cfg = _config("slab", [f"drive.current={ratio * jcr * W * h!r}", f"solver.transition_width={width!r}"])
        if prev is None:
            fm = box_film_mesh(cfg, n)
            res = solve_linear_start(cfg, fm)
        else:
            res = run(cfg, out=None, pictures=False, problem=prev.problem)
        p = res.problem
        lines = [(xf * L, yf * W) for xf in (0.4, 0.5, 0.6) for yf in (0.3, 0.7)]
        depths = [phase_crossing_depth(p, x, y) / h for x, y in lines]
        integ = [column_thickness(p, x, y) / h for x, y in lines]
        s = res.summary
        out.append(
            {
                "ratio": ratio,
                "converged": bool(res.converged),
                "voltage_V": s["voltage_V"],
                "current_A": s["current_A"],
                "d_over_h": float(np.mean(depths)),
                "d_over_h_spread": float(np.max(depths) - np.min(depths)),
                "d_integral_over_h": float(np.mean(integ)),
                "metal_fraction": s["metal_fraction"],
                "T_max_K": s["T_max_K"],
                "heat_balance_rel": s["heat_balance_rel"],
                "newton_steps": s["iterations"],
                "wall_s": time.perf_counter() - t0_pt,
            }
        )
        log.info(
            "slab j0/j_cr = %.3g: %s, V = %.4g V, d/h = %.4f", ratio, res.converged, s["voltage_V"], out[-1]["d_over_h"]
        )
        prev = res if res.converged else prev
    return out


def check_eq11_vi(level: Level = "full", outdir: Path | None = None) -> Check:
    """Eq. 11 (d/h at j0/j_cr = 1.2, 1.5, 2, 3) and the V-I curve of Fig. 1b from one warm-started sweep."""
    t_start = time.perf_counter()
    ch = Check("eq11_vi", "Eq. 10-11: metal layer thickness and the V-I curve (Fig. 1b), slab")
    n = (20, 1, 40) if level == "quick" else (40, 1, 50)
    ratios = SLAB_SWEEP_QUICK if level == "quick" else SLAB_SWEEP_FULL
    band = 1.0
    pts = slab_sweep(ratios, n, band)
    base = _config("slab", [])
    g, mat, t0 = base.geometry, base.material, base.thermal.t0
    L, h = g.length, g.thickness
    r = mat.rho_metal / mat.rho_insulator
    jcr = j_critical(mat.rho_insulator, mat.kappa, h, t0, mat.t_mit)
    for pt in pts:
        pt["d_over_h_eq11"] = eq11_thickness(pt["ratio"], r)
        pt["voltage_eq11_V"] = eq11_voltage(pt["ratio"], jcr, mat.rho_insulator, mat.rho_metal, h, L)
    by = {pt["ratio"]: pt for pt in pts}
    ch.compare("all sweep points converged", float(all(pt["converged"] for pt in pts)), 1.0, 0.0)
    for ratio in D_RATIOS:
        pt = by[ratio]
        ch.compare(
            f"d/h at j0/j_cr = {ratio:g}",
            pt["d_over_h"],
            pt["d_over_h_eq11"],
            0.02,
            note=f"m = 0.5 crossing, 6 lines near x = L/2 (spread {pt['d_over_h_spread']:.3f}); "
            f"m-integral {pt['d_integral_over_h']:.4f}",
        )
    for ratio in (0.5, 1.2, 1.5, 2.0, 3.0):
        if ratio in by:
            pt = by[ratio]
            ch.compare(
                f"V at j0/j_cr = {ratio:g} (V)",
                pt["voltage_V"],
                pt["voltage_eq11_V"],
                0.05,
                kind="rel",
                note="end regions (length ~h) add to the far-field E L",
            )
    V = np.array([pt["voltage_V"] for pt in pts])
    R = np.array([pt["ratio"] for pt in pts])
    # N shape: V rises to a local maximum near j_cr, falls, then rises again
    i_max = int(np.argmax(np.where(R <= 1.5, V, -np.inf)))
    falls = bool(np.any(V[i_max + 1 :] < V[i_max])) if i_max + 1 < V.size else False
    i_min = i_max + 1 + int(np.argmin(V[i_max + 1 :])) if i_max + 1 < V.size else i_max
    rises = bool(i_min < V.size - 1 and V[-1] > V[i_min])
    ch.compare(
        "V-I: local maximum at j0/j_cr",
        float(R[i_max]),
        1.0,
        0.1 if level == "full" else 0.55,
        note=f"falls after it: {falls}, rises again after the minimum at j0/j_cr = {R[i_min]:.3g}: {rises}",
    )
    ch.compare("V-I curve is N-shaped (rise, fall, rise)", float(falls and (rises or level == "quick")), 1.0, 0.0)
    ch.data = {"points": pts, "mesh": list(n), "band_K": band, "j_cr": jcr}
    ch.text = (
        f"Slab preset on a {n[0]} x 1 x {n[2]} box mesh (one cell across the width: a wider "
        f"cross-section lets the current collapse into a filament on the falling branch of the N), "
        f"band w = {band:g} K, current sweep warm-started point to point. d is the depth where the DG0 "
        "phase crosses 0.5 on vertical lines at x/L = 0.4, 0.5, 0.6."
    )
    if outdir is not None and is_root():
        from .validation_report import plot_vi

        ch.figures.append(plot_vi(pts, jcr, mat, g, outdir / "fig1b_vi.png"))
    ch.wall_s = time.perf_counter() - t_start
    return ch
