"""Regime map over the Joule and Peltier numbers (docs/physics.md).

    J = rho_I I^2 / (kappa L^2 T0),   P = |I| Delta S / (kappa L)

At fixed geometry and rho_I, kappa, T0 (those of the fig2a preset unless overridden)
a point (J, P) fixes the current and the Seebeck jump:

    I = sqrt(J kappa L^2 T0 / rho_I),   Delta S = P kappa L / I   (S_M = 0, S_I = Delta S)

Each converged state is classified from its connected metal regions (metal_regions.py:
film cells with m >= 0.5 joined through shared facets; a region touches an electrode when
one of its cells has a vertex on the electrode's patch):

    insulating      no metal
    negative only   metal touching the negative electrode, none touching the positive one
    positive only   the mirror case
    both            metal touching each electrode, in separate regions (insulator between)
    channel         one region touches both electrodes: the electrodes are joined by metal
    detached        metal only in regions touching neither electrode
    not converged   the solver did not converge (shown, not classified)

Regions away from the electrodes do not change the category of a state whose metal also
touches an electrode. The reach of the metal from each electrode (neg_reach_over_L,
pos_reach_over_L) is that of the regions touching it (summary keys metal_reach_negative_m,
metal_reach_positive_m, from x = 0 and from x = L), in units of L.

All functions are collective except the plotting (rank 0).
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .metal_regions import MetalRegion, metal_regions, reaches
from .plotting import pyplot
from .sampling import top_z

log = logging.getLogger("fem_peltier.regime")

CATEGORIES = ("insulating", "negative only", "positive only", "both", "channel", "detached", "not converged")
COLORS = {
    "insulating": "#4575b4",
    "negative only": "#d73027",
    "positive only": "#fdae61",
    "both": "#a6d96a",
    "channel": "#762a83",
    "detached": "#999999",
    "not converged": "black",
}

#: Paper cases (docs/physics.md): name -> (J, P, W/L)
PAPER_CASES = {
    "Fig. 2a,b": (0.2, 0.2, 1.0),
    "Fig. 2c": (1.2, 0.02, 1.0),
    "Fig. 2d": (0.2, 0.2, 0.5),
    "Fig. 2e 5 mA": (0.05, 0.1, 0.5),
    "Fig. 2e 25 mA": (1.25, 0.5, 0.5),
}

J_FULL = (0.02, 0.05, 0.1, 0.2, 0.5, 1.2)
P_FULL = (0.02, 0.05, 0.1, 0.2, 0.4)
COARSE_MESH = ("mesh.size=1e-4", "mesh.electrode_size=2e-5")


def drive_for(J: float, P: float, cfg) -> tuple[float, float]:
    """(I, Delta S) of the point (J, P): I = sqrt(J kappa L^2 T0 / rho_I), Delta S = P kappa L / I."""
    g, m, t0 = cfg.geometry, cfg.material, cfg.thermal.t0
    kappa, rho_i = m.at("kappa", t0), m.at("rho_insulator", t0)  # temperature laws: at T0, as the groups
    current = math.sqrt(J * kappa * g.length**2 * t0 / rho_i)
    return current, P * kappa * g.length / current


def point_config(J: float, P: float, overrides: list[str] | tuple[str, ...] = (), preset: str = "fig2a"):
    """The preset with the current and S_I set for (J, P) (S_M = 0); current > 0 (metal side: x = 0)."""
    import fem_peltier as fp

    base = fp.load_config(preset=preset, overrides=list(overrides)).resolved()
    current, dS = drive_for(J, P, base)
    return fp.load_config(
        preset=preset,
        overrides=[
            *overrides,
            f"drive.current={current!r}",
            f"material.seebeck_insulator={dS!r}",
            "material.seebeck_metal=0.0",
        ],
    ).resolved()


def metal_columns(problem, nx: int = 400, nz: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """(x, metal) on the slice y = W/2: metal[i] when m >= 0.5 somewhere in the column x[i] (collective)."""
    from .diagnostics import probe

    g = problem.cfg.geometry
    L, W, h = g.length, g.width, g.thickness
    x = (np.arange(nx) + 0.5) / nx * L
    z = (np.arange(nz) + 0.5) / nz * h
    z = np.append(z, top_z(h))
    X, Z = np.meshgrid(x, z, indexing="ij")
    pts = np.column_stack([X.ravel(), np.full(X.size, W / 2), Z.ravel()])
    m = probe(problem, problem.m, pts).reshape(X.shape)
    return x, np.nanmax(m, axis=1) >= 0.5


def classify_regions(regions: list[MetalRegion]) -> str:
    """The category of a state with these metal regions (see the module docstring)."""
    if not regions:
        return "insulating"
    if any(g.touches_negative and g.touches_positive for g in regions):
        return "channel"
    neg = any(g.touches_negative for g in regions)
    pos = any(g.touches_positive for g in regions)
    if neg and pos:
        return "both"
    if neg:
        return "negative only"
    if pos:
        return "positive only"
    return "detached"


def classify(problem, converged: bool = True) -> str:
    """The category of a solved state (see the module docstring; collective)."""
    if not converged:
        return "not converged"
    return classify_regions(metal_regions(problem))


def regime_point(
    J: float, P: float, overrides: list[str] | tuple[str, ...] = COARSE_MESH, preset: str = "fig2a"
) -> dict[str, Any]:
    """Solve and classify one (J, P) point; returns its summary quantities and category."""
    from .errors import SolverError
    from .simulation import run

    t0 = time.perf_counter()
    cfg = point_config(J, P, overrides, preset)
    try:
        res = run(cfg, out=None, pictures=False)
        converged, s = bool(res.converged), res.summary
        regions = metal_regions(res.problem)
        category = classify_regions(regions) if converged else "not converged"
        x, metal = metal_columns(res.problem)
        reach = [float(x[metal].min()), float(x[metal].max())] if metal.any() else None
        L = cfg.geometry.length
        # reach of the metal regions touching each electrode, from x = 0 and from x = L (units of L)
        neg_m, pos_m = reaches(regions, L)
        neg_reach: float | None = neg_m / L
        pos_reach: float | None = pos_m / L
    except SolverError as exc:
        converged, s, category, reach = False, {"reason": str(exc)}, "not converged", None
        neg_reach = pos_reach = None
    out = {
        "J": J,
        "P": P,
        "current_A": cfg.drive.current,
        "delta_S_V_K": cfg.delta_seebeck,
        "category": category,
        "converged": converged,
        "metal_slice_x_range_m": reach,
        "neg_reach_over_L": neg_reach,
        "pos_reach_over_L": pos_reach,
        "wall_s": time.perf_counter() - t0,
    }
    for key in (
        "metal_fraction",
        "T_max_K",
        "T_mean_K",
        "T_top_mean_K",
        "metal_top_x_range_m",
        "metal_max_depth_m",
        "metal_regions",
        "metal_reach_negative_m",
        "metal_reach_positive_m",
        "heat_contact_peltier_W",
        "reason",
        "cells",
        "transition_width_K",
    ):
        out[key] = s.get(key)
    log.info("regime J = %g, P = %g: %s (metal fraction %s)", J, P, category, out.get("metal_fraction"))
    return out


def regime_map(
    Js: tuple[float, ...] = J_FULL,
    Ps: tuple[float, ...] = P_FULL,
    overrides: list[str] | tuple[str, ...] = COARSE_MESH,
    preset: str = "fig2a",
) -> list[dict[str, Any]]:
    """Classify every point of the grid Js x Ps (each solved from a cold start, independent of the others)."""
    return [regime_point(J, P, overrides, preset) for P in Ps for J in Js]


def plot_regime(points: list[dict[str, Any]], path: Path, title: str = "") -> str:
    """The map on log axes with the paper's cases and lines of constant Z T0 = P^2 / J (rank 0)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    seen = set()
    for pt in points:
        c = pt["category"]
        ax.scatter(
            pt["J"],
            pt["P"],
            s=260,
            marker="s",
            color=COLORS[c],
            edgecolor="k",
            label=c if c not in seen else None,
            zorder=2,
        )
        seen.add(c)
        mf = pt.get("metal_fraction")
        if mf is not None and pt["converged"]:
            ax.annotate(
                f"{mf:.2f}",
                (pt["J"], pt["P"]),
                fontsize=6,
                ha="center",
                va="center",
                color="white" if c in ("channel", "negative only", "not converged") else "black",
                zorder=3,
            )
    Js = np.array([pt["J"] for pt in points])
    Jl = np.geomspace(Js.min() / 1.5, max(Js.max(), 1.25) * 1.5, 50)
    for zt in (0.01, 0.1, 1.0):
        ax.plot(Jl, np.sqrt(zt * Jl), ":", color="0.5", lw=0.8, zorder=1)
        ax.annotate(
            f"ZT0 = {zt:g}",
            (Jl[0], math.sqrt(zt * Jl[0])),
            xytext=(2, 4),
            textcoords="offset points",
            fontsize=7,
            color="0.4",
        )
    for name, (J, P, w) in PAPER_CASES.items():
        mk = "*" if w == 1.0 else "P"
        ax.scatter(
            J, P, s=140, marker=mk, facecolor="none", edgecolor="gold" if w == 1.0 else "cyan", linewidth=1.8, zorder=4
        )
        ax.annotate(
            name + ("" if w == 1.0 else " (W = L/2)"),
            (J, P),
            xytext=(8, 6 if w == 1.0 else -12),
            textcoords="offset points",
            fontsize=7,
            zorder=5,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Joule number J = rho_I I^2 / (kappa L^2 T0)")
    ax.set_ylabel("Peltier number P = |I| dS / (kappa L)")
    ax.set_title(title or "Regime map (W = L, h/L = 0.2, r = 0.1, theta = 1.2); number = metal fraction")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.9)
    allJ = [pt["J"] for pt in points] + [c[0] for c in PAPER_CASES.values()]
    allP = [pt["P"] for pt in points] + [c[1] for c in PAPER_CASES.values()]
    ax.set_xlim(min(allJ) / 1.6, max(allJ) * 2.2)
    ax.set_ylim(min(allP) / 1.6, max(allP) * 1.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def regime_table(points: list[dict[str, Any]]) -> list[str]:
    """Markdown table: rows P, columns J, cells = category (metal fraction; reach of the metal regions
    touching the negative / positive electrode, from x = 0 / x = L, in units of L)."""
    Js = sorted({pt["J"] for pt in points})
    Ps = sorted({pt["P"] for pt in points}, reverse=True)
    by = {(pt["J"], pt["P"]): pt for pt in points}
    lines = ["| P \\ J | " + " | ".join(f"{J:g}" for J in Js) + " |", "|---" * (len(Js) + 1) + "|"]
    for P in Ps:
        cells = []
        for J in Js:
            pt = by.get((J, P))
            if pt is None:
                cells.append("")
            elif pt["converged"]:
                reach = ""
                if pt.get("neg_reach_over_L") is not None and pt["category"] != "channel":
                    reach = f"; reach {pt['neg_reach_over_L']:.2f} / {pt['pos_reach_over_L']:.2f}"
                cells.append(f"{pt['category']} ({pt['metal_fraction']:.3f}{reach})")
            else:
                cells.append("not converged")
        lines.append(f"| {P:g} | " + " | ".join(cells) + " |")
    return lines
