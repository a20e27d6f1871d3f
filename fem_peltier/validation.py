"""Validation suite: fem_peltier against the closed forms of docs/physics.md, Closed-form checks (paper Eqs. 8-14).

Each check solves, measures, compares with its closed form and returns a `Check`
holding rows of (quantity, computed, expected, error, tolerance, pass), the raw
data and the pictures it drew. `run_suite` runs them all and `write_report`
turns the results into docs/validation.md (+ validation.json, validation.csv).

This module holds the mesh-convergence check and the suite runner and re-exports
the rest: closed_forms (Eqs. 8-14), checks (Row, Check, levels, meshes),
metal_extent (depth, thickness, radius of the metal), validation_slab (Eqs. 8-11),
validation_peltier (junction, Eq. 14) and validation_report (Markdown, CSV, JSON, plots).

Closed forms (SI units; h film thickness, zeta = h - z depth below the top):

* Eq. 8, insulating film with uniform j0:
      T(z) = T0 + rho_I j0^2 (h^2 - zeta^2) / (2 kappa)
* Eq. 9, the top reaches T_MIT at
      j_cr = sqrt(2 (T_MIT - T0) kappa / (rho_I h^2))
* Eq. 11, metal layer above j_cr, s = sqrt(1 - j_cr^2 / j0^2), r = rho_M / rho_I:
      d = h r s / (1 - (1 - r) s)
  and the field far from the ends (parallel resistors):
      V = E L,  E = rho_M j_M,  j_M = h j0 / (d + (h - d) r)      (Ohmic V = rho_I j0 L below j_cr)
* Peltier junction: a planar junction carrying I at temperature T releases T Delta S I (W),
  and every solution satisfies Joule + Peltier = heat to the T0 sink.
* Eq. 14, Peltier only (no Joule heat), point electrode, h << L:
      r_c = sqrt(2 h T_MIT |I| Delta S / (pi kappa Delta T)),  Delta T = T_MIT - T0.

Every function here is collective (all MPI ranks call it); only the drawing and the
file writing happen on rank 0.
"""

from __future__ import annotations

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py

import logging
import math
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

from .validation_two_temperature import check_two_temperature
from .checks import (
    CONTACT_OVERRIDES,
    CONTACT_REGIME_POINTS,
    FIGURE_MESH,
    REGIME_GRID,
    REGIME_MESH,
    SUITE,
    Check,
    Level,
    Row,
    preset_config as _config,
)
from .closed_forms import eq8_profile, eq11_thickness, eq11_voltage, eq14_radius, j_critical, observed_order
from .metal_extent import column_thickness, metal_radius, phase_crossing_depth
from .parallel import is_root
from .validation_peltier import check_eq14, check_peltier_junction, eq14_config, solve_eq14
from .validation_report import (
    EQ14_NOTE,
    MEANS_NOTE,
    MESH_NOTE,
    REGIME_NOTE,
    check_table,
    load_result,
    merge_results,
    plot_eq14,
    plot_vi,
    rows_csv,
    save_raw,
    write_report,
)
from .validation_slab import (
    D_RATIOS,
    SLAB_SWEEP_FULL,
    SLAB_SWEEP_QUICK,
    check_eq8_eq9,
    check_eq11_vi,
    slab_sweep,
    solve_linear_start,
)

__all__ = [
    "CHECKS",
    "D_RATIOS",
    "EQ14_NOTE",
    "FIG2A_MESHES_FULL",
    "FIG2A_MESHES_QUICK",
    "FIGURE_MESH",
    "MEANS_NOTE",
    "MESH_NOTE",
    "REGIME_GRID",
    "REGIME_MESH",
    "REGIME_NOTE",
    "SLAB_SWEEP_FULL",
    "SLAB_SWEEP_QUICK",
    "SUITE",
    "Check",
    "Level",
    "Row",
    "CONTACT_OVERRIDES",
    "CONTACT_REGIME_POINTS",
    "check_contacts",
    "check_eq8_eq9",
    "check_eq11_vi",
    "check_eq14",
    "check_mesh_convergence",
    "check_peltier_junction",
    "check_table",
    "column_thickness",
    "eq8_profile",
    "eq11_thickness",
    "eq11_voltage",
    "eq14_config",
    "eq14_radius",
    "figure_case_means",
    "j_critical",
    "load_result",
    "merge_results",
    "metal_radius",
    "observed_order",
    "phase_crossing_depth",
    "plot_eq14",
    "plot_vi",
    "rows_csv",
    "run_suite",
    "save_raw",
    "slab_sweep",
    "solve_eq14",
    "solve_linear_start",
    "write_report",
]

log = logging.getLogger("fem_peltier.validation")


# ---------------------------------------------------------------------------------------
# Check 5: mesh convergence on fig2a, and the mean temperatures of the figure cases

FIG2A_MESHES_FULL = ((1.0e-4, 2.0e-5), (7.0711e-5, 1.4142e-5), (5.0e-5, 1.0e-5))
FIG2A_MESHES_QUICK = ((2.0e-4, 4.0e-5), (1.4142e-4, 2.8284e-5), (1.0e-4, 2.0e-5))


ADAPT_LEVELS_FULL, ADAPT_LEVELS_QUICK = 4, 2
ADAPT_FRACTION = 0.5


def _adaptive_sequence(mesh: tuple[float, float], levels: int) -> dict:
    """fig2a on `mesh` (size, electrode size) refined adaptively `levels` times (target 1e-4, so
    that every level runs): the goal quantities per level and the error estimates."""
    from .simulation import run

    cfg = _config(
        "fig2a",
        [
            f"mesh.size={mesh[0]!r}",
            f"mesh.electrode_size={mesh[1]!r}",
            f"mesh.adapt.levels={levels}",
            f"mesh.adapt.fraction={ADAPT_FRACTION}",
            "mesh.adapt.target=1e-4",
        ],
    )
    res = run(cfg, out=None, pictures=False)
    s = res.summary
    keys = ("voltage_V", "T_max_K", "metal_fraction", "T_mean_K")
    return {
        "converged": bool(res.converged) and s["adapt_levels"] == levels,
        "levels_run": s["adapt_levels"],
        "cells": s["adapt_cells"],
        "values": {k: [float(v) for v in s.get("adapt_values", {}).get(k, [])] for k in keys},
        "estimates": {k: s[f"{k}_error_estimate_rel"] for k in ("voltage_V", "T_max_K", "metal_fraction")},
        "notes": s["error_estimate_notes"],
        "heat_balance_rel": s["heat_balance_rel"],
        "wall_s": s["wall_time_s"],
    }


def _adaptive_rows(ch: Check, adaptive: dict) -> None:
    """Rows of the adaptive sequence: converged, last change per quantity (tested), estimates (reported)."""
    ch.compare("adaptive refinement: every level converged", float(adaptive["converged"]), 1.0, 0.0)
    ch.compare("adaptive: heat balance on the last level (rel)", adaptive["heat_balance_rel"], 0.0, 1e-8)
    for key, values in adaptive["values"].items():
        if len(values) < 2:
            continue
        tol = 0.05 if key != "T_max_K" else 0.1
        ch.compare(
            f"{key}: adaptive, change between the last two levels (rel)",
            abs(values[-1] - values[-2]) / abs(values[-1]),
            0.0,
            tol,
        )
        est = adaptive["estimates"].get(key)
        if key in adaptive["estimates"]:
            ch.info(
                f"{key}: adaptive, estimated error of the last level (rel)",
                est if est is not None else math.nan,
                note="values " + ", ".join(f"{v:.5g}" for v in values) + "; " + adaptive["notes"][key],
            )


def check_mesh_convergence(level: Level = "full") -> Check:
    """fig2a on three gmsh meshes refined by sqrt(2): metal fraction and T_max, observed order."""
    from .simulation import run

    t_start = time.perf_counter()
    ch = Check("mesh", "Mesh convergence on fig2a (metal fraction, T_max)")
    meshes = FIG2A_MESHES_QUICK if level == "quick" else FIG2A_MESHES_FULL
    rows = []
    for size, esize in meshes:
        cfg = _config("fig2a", [f"mesh.size={size!r}", f"mesh.electrode_size={esize!r}"])
        res = run(cfg, out=None, pictures=False)
        s = res.summary
        rows.append(
            {
                "size": size,
                "electrode_size": esize,
                "cells": s["cells"],
                "converged": bool(res.converged),
                "metal_fraction": s["metal_fraction"],
                "T_max_K": s["T_max_K"],
                "T_mean_K": s["T_mean_K"],
                "T_top_mean_K": s["T_top_mean_K"],
                "voltage_V": s["voltage_V"],
                "metal_top_x_range_m": s["metal_top_x_range_m"],
                "metal_max_depth_m": s["metal_max_depth_m"],
                "heat_balance_rel": s["heat_balance_rel"],
                "wall_s": s["wall_time_s"],
                "heat_joule_W": s["heat_joule_W"],
                "current_A": s["current_A"],
                "heat_peltier_W": s["heat_peltier_W"],
            }
        )
    ratio = meshes[0][0] / meshes[1][0]
    ch.compare("all meshes converged", float(all(r["converged"] for r in rows)), 1.0, 0.0)
    # j = -sigma grad(phi) carries no Seebeck EMF, so the Joule heat must equal the electrical power V I
    ch.compare(
        "max over meshes |Joule - V I| / (V I)",
        max(
            abs(r["heat_joule_W"] - r["voltage_V"] * r["current_A"]) / abs(r["voltage_V"] * r["current_A"])
            for r in rows
        ),
        0.0,
        1e-8,
    )
    ch.compare("max over meshes heat balance (rel)", max(r["heat_balance_rel"] for r in rows), 0.0, 1e-8)
    adaptive = _adaptive_sequence(meshes[0], ADAPT_LEVELS_QUICK if level == "quick" else ADAPT_LEVELS_FULL)
    uniform_tested = not adaptive["converged"]  # the uniform meshes decide only if the adaptive run failed
    for key in ("metal_fraction", "T_max_K", "T_mean_K", "voltage_V"):
        f = [r[key] for r in rows]
        p = observed_order(f, ratio)
        if math.isfinite(p) and p > 0:
            ext = f[2] + (f[2] - f[1]) / (ratio**p - 1)
            ch.info(
                f"{key}: observed order",
                p,
                note="values " + ", ".join(f"{v:.5g}" for v in f) + f"; Richardson {ext:.5g}",
            )
        else:
            ch.info(
                f"{key}: observed order", p, note="not in the asymptotic range: " + ", ".join(f"{v:.5g}" for v in f)
            )
        tol = 0.05 if key != "T_max_K" else 0.1
        change = abs(f[2] - f[1]) / abs(f[2])
        if uniform_tested:
            ch.compare(f"{key}: change between the two finest meshes (rel)", change, 0.0, tol)
        else:
            ch.info(f"{key}: change between the two finest uniform meshes (rel)", change, 0.0)
    _adaptive_rows(ch, adaptive)
    # the same finest mesh with the other current discretization (P1 potential vs mixed RT current)
    disc = _config("fig2a", []).solver.current_discretization
    other = "p1" if disc == "mixed" else "mixed"
    size, esize = meshes[-1]
    res_o = run(
        _config(
            "fig2a",
            [f"mesh.size={size!r}", f"mesh.electrode_size={esize!r}", f'solver.current_discretization="{other}"'],
        ),
        out=None,
        pictures=False,
    )
    so = res_o.summary
    alt = {"discretization": other, "converged": bool(res_o.converged)}
    for key in ("metal_fraction", "T_max_K", "T_mean_K", "voltage_V"):
        alt[key] = so[key]
        ch.info(
            f"{key}: {other} current on the finest mesh",
            so[key],
            rows[-1][key],
            note=f"expected column = default ({disc}); error = difference",
        )
    ch.data = {
        "meshes": rows,
        "refinement_ratio": ratio,
        "default_discretization": disc,
        "other": alt,
        "adaptive": adaptive,
    }
    ch.text = (
        "fig2a (J = P = 0.2) on three gmsh meshes, bulk size and electrode size both refined by "
        f"{ratio:.3g}. T_max sits at the edge of an electrode patch, where the current density "
        "has an edge singularity, so it converges slowly on uniform meshes (the rows 'finest uniform "
        "meshes', reported, not tested). The tested rows come from adaptive refinement of the "
        f"coarsest mesh ([mesh.adapt], {adaptive['levels_run']} levels, Dörfler fraction "
        f"{ADAPT_FRACTION}: cells {', '.join(str(c) for c in adaptive['cells'])}), which refines where "
        "the error indicator is large, at the patch edges and the phase front (docs/physics.md, "
        "Adaptive refinement): the change between its last two levels, and the error estimated from "
        "its last three levels where they are in the asymptotic range."
    )
    ch.wall_s = time.perf_counter() - t_start
    return ch


def figure_case_means(cases: dict[str, dict]) -> Check:
    """Mean film and top temperatures of the figure cases vs the paper's 1.05 T0 and 1.07 T0 (fig2a)."""
    ch = Check("means", "Mean temperatures of the figure cases vs the paper (Sec. III.C)")
    for name, s in cases.items():
        t0 = s["T0_K"]
        if name == "fig2a":
            ch.info(f"{name}: T_mean / T0", s["T_mean_K"] / t0, 1.05, note="paper: 1.05")
            ch.info(f"{name}: T_top_mean / T0", s["T_top_mean_K"] / t0, 1.07, note="paper: 1.07")
        else:
            ch.info(f"{name}: T_mean / T0", s["T_mean_K"] / t0)
            ch.info(f"{name}: T_top_mean / T0", s["T_top_mean_K"] / t0)
        ch.info(f"{name}: T_max / T0", s["T_max_K"] / t0)
        ch.info(f"{name}: metal fraction", s["metal_fraction"])
    ch.data = cases
    return ch


# ---------------------------------------------------------------------------------------
# Contacts study: fig2a with metal contacts (electrode Seebeck 0) and the Seebeck EMF


def polarity_category(regions, current: float) -> str:
    """The category by the electrodes' polarity: with current < 0 the patch at x = 0 (tagged
    'negative') is the positive terminal, so 'negative only' and 'positive only' swap."""
    from .regime import classify_regions

    cat = classify_regions(regions)
    if current < 0:
        cat = {"negative only": "positive only", "positive only": "negative only"}.get(cat, cat)
    return cat


def contact_run(overrides: list[str], label: str, model: str, polarity: str) -> dict[str, Any]:
    """One fig2a solve; its pattern, reaches (units of L, from x = 0 and from x = L) and heats."""
    from .errors import SolverError
    from .metal_regions import metal_regions
    from .simulation import run

    t = time.perf_counter()
    cfg = _config("fig2a", overrides)
    L, t0, cur = cfg.geometry.length, cfg.thermal.t0, cfg.drive.current
    row: dict[str, Any] = {"label": label, "model": model, "polarity": polarity, "current_A": cur, "T0_K": t0}
    try:
        res = run(cfg, out=None, pictures=False)
        s = res.summary
        converged = bool(res.converged)
        category = polarity_category(metal_regions(res.problem), cur) if converged else "not converged"
    except SolverError as exc:
        s, converged, category = {"reason": str(exc)}, False, "not converged"
    row.update(converged=converged, category=category)
    for key in (
        "metal_regions",
        "metal_channel",
        "metal_fraction",
        "T_mean_K",
        "T_top_mean_K",
        "T_max_K",
        "voltage_V",
        "heat_joule_W",
        "heat_peltier_W",
        "heat_contact_peltier_W",
        "heat_balance_rel",
        "cells",
    ):
        row[key] = s.get(key)
    for key, name in (("metal_reach_negative_m", "reach_x0_over_L"), ("metal_reach_positive_m", "reach_xL_over_L")):
        row[name] = None if s.get(key) is None else float(s[key]) / L
    row["wall_s"] = time.perf_counter() - t
    log.info("contacts %s: %s", label, category)
    return row


def check_contacts(level: Level = "full") -> Check:
    """fig2a at +I and -I, paper's model and with metal contacts; regime points with contacts."""
    from . import regime

    t_start = time.perf_counter()
    ch = Check("contacts", "Contact Peltier heat and the Seebeck EMF: where does the metal form? (fig2a)")
    mesh = list(FIGURE_MESH[level])
    cur = _config("fig2a", mesh).drive.current
    runs = []
    for model, extra in (("paper", []), ("contacts", list(CONTACT_OVERRIDES))):
        for polarity, sign in (("+I", 1.0), ("-I", -1.0)):
            ov = [*mesh, *extra] + ([] if sign > 0 else [f"drive.current={-cur!r}"])
            r = contact_run(ov, f"{model} {polarity}", model, polarity)
            runs.append(r)
            t0 = r["T0_K"]
            for q, v in (
                ("T_mean / T0", r["T_mean_K"]),
                ("T_top_mean / T0", r["T_top_mean_K"]),
            ):
                if v is not None:
                    ch.info(f"{r['label']}: {q}", v / t0, 1.05 if q == "T_mean / T0" else 1.07, note="paper")
            for q in ("reach_x0_over_L", "reach_xL_over_L", "T_max_K", "voltage_V", "heat_contact_peltier_W"):
                if r.get(q) is not None:
                    ch.info(f"{r['label']}: {q}", r[q])
    pts = []
    for J, P in CONTACT_REGIME_POINTS[level]:
        p = regime.regime_point(J, P, [*REGIME_MESH[level], *CONTACT_OVERRIDES])
        pts.append(p)
    ch.data = {"runs": runs, "regime": pts, "mesh": mesh, "regime_mesh": list(REGIME_MESH[level]), "level": level}
    ch.wall_s = time.perf_counter() - t_start
    return ch


# ---------------------------------------------------------------------------------------
# The suite

CHECKS: dict[str, Callable[..., Check]] = {
    "eq8_eq9": check_eq8_eq9,
    "eq11_vi": check_eq11_vi,
    "peltier": check_peltier_junction,
    "eq14": check_eq14,
    "mesh": check_mesh_convergence,
    "contacts": check_contacts,
    "two_temperature": check_two_temperature,
}


def run_suite(level: Level, outdir: Path, only: tuple[str, ...] = SUITE) -> dict[str, Any]:
    """Run the selected parts of the suite, writing pictures into outdir/validation (collective).

    Returns {"checks": [Check], "figures": {...}, "regime": [...], "timings": {...}, "level": level}.
    """
    from . import figures, regime

    picdir = Path(outdir) / "validation"
    if is_root():
        picdir.mkdir(parents=True, exist_ok=True)
    MPI.COMM_WORLD.barrier()
    out: dict[str, Any] = {
        "checks": [],
        "figures": {},
        "regime": [],
        "timings": {},
        "level": level,
        "ranks": MPI.COMM_WORLD.size,
    }
    for name in only:
        t = time.perf_counter()
        log.info("validation: %s (%s)", name, level)
        if name in CHECKS:
            fn = CHECKS[name]
            ch = fn(level, outdir=picdir) if name in ("eq11_vi", "eq14") else fn(level)
            out["checks"].append(ch)
        elif name == "figures":
            cases: dict[str, dict] = {}
            for fig in ("fig2a", "fig2c", "fig2d", "fig2e"):
                r = figures.make_figure(fig, picdir, FIGURE_MESH[level], level)
                out["figures"][fig] = r["files"]
                cases.update(r["cases"])
            out["checks"].append(figure_case_means(cases))
        elif name == "regime":
            grid = REGIME_GRID[level]
            Js, Ps = grid if grid is not None else (regime.J_FULL, regime.P_FULL)
            pts = regime.regime_map(Js, Ps, REGIME_MESH[level])
            out["regime"] = pts
            if is_root():
                out["figures"]["regime"] = [regime.plot_regime(pts, picdir / "regime_map.png")]
        else:
            raise ValueError(f"unknown validation part {name!r}; expected one of {', '.join(SUITE)}")
        out["timings"][name] = time.perf_counter() - t
    return out
