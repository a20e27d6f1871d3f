"""The paper's figure panels (Figs. 1b, 2a-e), lengths in units of L as in the paper.

* fig2a, fig2c: T on the slice y = W/2 with the metal boundary (m = 0.5), the line
  T(x, y = W/2, top) against T_MIT (the paper's inset) and the top-surface map
  T(x, y, top) (Fig. 2b). fig2a also draws its polarity-reversed counterpart
  (current -> -current) side by side.
* fig2d: the same for W = L/2.
* fig2e: phase boundaries (m = 0.5) on the top surface of the W = L/2 film for
  I = 5, 10, 25 mA (J proportional to I^2, P to I).
* fig1b: the V-I curve of the slab sweep against Eq. 11 (see validation_slab.py).

Temperatures are in K with T/T0 (the paper's normalisation) on a second axis; every
picture names the drive (I and V) and the band width of the states it shows. The metal
boundary on a slice is drawn as in the run pictures (output.local_metal_fraction: the
phase law at the local temperature, which separates the centres of metal and insulating
cells, as `metal_max_depth_m` measures the depth); on the top surface it is the outline
of the metal cells.

Note the paper's z is the depth below the top surface; the slices here keep
fem_peltier's z (up, top surface at z = h) and label it.

Sampling is collective (every rank calls it); drawing happens on rank 0.
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx/petsc4py)

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .parallel import is_root
from .plotting import DEEPEST_METAL, METAL_BOUNDARY, drive_label, kelvin_colorbar, pyplot, t_over_t0_axis
from .sampling import film_heights, probe_all, sample_top_grids

log = logging.getLogger("fem_peltier.figures")

FIGURES = ("fig1b", "fig2a", "fig2c", "fig2d", "fig2e")
FIG2E_CURRENTS = (0.005, 0.01, 0.025)


def sample_slice(problem, T_fun, nx: int = 240, nz: int = 60) -> dict[str, np.ndarray]:
    """T (K) and the metal fraction of the phase law at the local T on the slice y = W/2
    (collective): arrays of shape (nz, nx)."""
    from .output import local_metal_fraction

    g = problem.cfg.geometry
    x = np.linspace(0, g.length, nx)
    z = film_heights(g.thickness, nz)
    X, Z = np.meshgrid(x, z)
    pts = np.column_stack([X.ravel(), np.full(X.size, g.width / 2), Z.ravel()])
    T, centre = (v.reshape(X.shape) for v in probe_all(problem, [T_fun, problem.law.centre], pts))
    return {"x": x, "z": z, "T": T, "m": local_metal_fraction(problem, T, centre)}


def sample_top(problem, T_fun, nx: int = 200, ny: int = 200) -> dict[str, np.ndarray]:
    """T (K) and the cells' m on the top surface z = h (collective): arrays of shape (ny, nx)."""
    g = problem.cfg.geometry
    x = np.linspace(0, g.length, nx)
    y = np.linspace(0, g.width, ny)
    T, m = sample_top_grids(problem, [T_fun, problem.m], x, y)
    return {"x": x, "y": y, "T": T, "m": m}


def sample_case(res) -> dict[str, Any]:
    """Slice, top map, deepest metal cell and summary of a run result (collective)."""
    from .output import deepest_metal_centre

    return {
        "slice": sample_slice(res.problem, res.fields["T"]),
        "top": sample_top(res.problem, res.fields["T"]),
        "deepest_metal": deepest_metal_centre(res.problem),
        "summary": res.summary,
        "cfg": res.problem.cfg,
    }


def _drive(s: dict) -> str:
    return drive_label(s["current_A"], s["voltage_V"], s.get("band_width_K"))


def _draw_slice(ax, data: dict, t0: float, t_mit: float, vmax: float | None = None, title: str = ""):
    g = data["cfg"].geometry
    sl = data["slice"]
    L = g.length
    im = ax.pcolormesh(sl["x"] / L, sl["z"] / L, sl["T"], shading="auto", cmap="inferno", vmin=t0, vmax=vmax)
    if np.nanmax(sl["m"]) >= 0.5 > np.nanmin(sl["m"]):
        ax.contour(sl["x"] / L, sl["z"] / L, sl["m"], levels=[0.5], colors="cyan", linewidths=1.2).set_gid(
            METAL_BOUNDARY
        )
    deepest = data.get("deepest_metal")
    if deepest is not None and deepest["on_slice"]:
        c = deepest["centre"]
        ax.plot([c[0] / L], [c[2] / L], "x", color="cyan", ms=6, mew=1.3, gid=DEEPEST_METAL)
    e = g.electrode_length / L
    h = g.thickness / L
    ax.plot([0, e], [h, h], color="#3060ff", lw=5, solid_capstyle="butt")
    ax.plot([1 - e, 1], [h, h], color="#ff3030", lw=5, solid_capstyle="butt")
    ax.text(e / 2, h * 1.04, "-", ha="center", va="bottom", fontsize=12, color="#3060ff")
    ax.text(1 - e / 2, h * 1.04, "+", ha="center", va="bottom", fontsize=12, color="#ff3030")
    ax.set_aspect("equal")
    ax.set_ylim(0, h * 1.18)
    ax.set_xlabel("x / L")
    ax.set_ylabel("z / L (top surface at z = h)")
    ax.set_title(title, fontsize=9)
    return im


def _draw_top_line(ax, data: dict, t0: float, t_mit: float, label: str = "", color: str = "C3"):
    sl = data["slice"]
    L = data["cfg"].geometry.length
    ax.plot(sl["x"] / L, sl["T"][-1], color=color, label=label or "T(x, W/2, top)")
    ax.axhline(t_mit, color="k", ls="--", lw=0.8)
    ax.set_xlabel("x / L")
    ax.set_ylabel("T on the top line y = W/2 (K)")


def _draw_top(ax, data: dict, t0: float, vmax: float | None = None, title: str = ""):
    top = data["top"]
    L = data["cfg"].geometry.length
    im = ax.pcolormesh(top["x"] / L, top["y"] / L, top["T"], shading="auto", cmap="inferno", vmin=t0, vmax=vmax)
    if np.nanmax(top["m"]) >= 0.5 > np.nanmin(top["m"]):
        ax.contour(top["x"] / L, top["y"] / L, top["m"], levels=[0.5], colors="cyan", linewidths=1.2).set_gid(
            METAL_BOUNDARY
        )
    ax.set_aspect("equal")
    ax.set_xlabel("x / L")
    ax.set_ylabel("y / L")
    ax.set_title(title, fontsize=9)
    return im


def _case_title(name: str, s: dict) -> str:
    return (
        f"{name}: J = {s['J']:.3g}, P = {s['P']:.3g}; {_drive(s)}\n"
        f"T_max = {s['T_max_K']:.4g} K (T_max/T0 = {s['T_max_K'] / s['T0_K']:.3f}), "
        f"metal fraction {s['metal_fraction']:.3f}, metal_max_depth_m = {s['metal_max_depth_m'] * 1e3:.3g} mm"
    )


def build_case(name: str, data: dict) -> Any:
    """The Figure of plot_case (rank 0)."""
    plt = pyplot()
    s, cfg = data["summary"], data["cfg"]
    t0, t_mit = cfg.thermal.t0, cfg.material.t_mit
    fig = plt.figure(figsize=(11, 6.8))
    gs = fig.add_gridspec(2, 2, height_ratios=[1, 1.25])
    ax0 = fig.add_subplot(gs[0, :])
    im = _draw_slice(
        ax0,
        data,
        t0,
        t_mit,
        title="T(x, y = W/2, z); cyan: metal boundary m = 0.5, x: centre of the deepest metal cell",
    )
    kelvin_colorbar(fig, im, ax0, t0, fraction=0.02, pad=0.06)
    ax1 = fig.add_subplot(gs[1, 0])
    _draw_top_line(ax1, data, t0, t_mit)
    t_over_t0_axis(ax1, t0)
    ax1.set_title(f"inset: T(x, W/2, top) vs T_MIT = {t_mit:g} K (dashed)", fontsize=9)
    ax2 = fig.add_subplot(gs[1, 1])
    im2 = _draw_top(ax2, data, t0, title="top surface T(x, y, h) (Fig. 2b/2d); cyan: metal cells")
    kelvin_colorbar(fig, im2, ax2, t0, fraction=0.04, pad=0.12)
    fig.suptitle(_case_title(name, s), fontsize=10)
    fig.tight_layout()
    return fig


def plot_case(name: str, data: dict, path: Path) -> str:
    """Slice with phase boundary, top line vs T_MIT (the inset) and top-surface map (rank 0)."""
    plt = pyplot()
    fig = build_case(name, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def build_polarity(data_pos: dict, data_neg: dict) -> Any:
    """The Figure of plot_polarity (rank 0)."""
    plt = pyplot()
    cfg = data_pos["cfg"]
    t0, t_mit = cfg.thermal.t0, cfg.material.t_mit
    vmax = max(np.nanmax(d["slice"]["T"]) for d in (data_pos, data_neg))
    fig, ax = plt.subplots(2, 2, figsize=(12, 6.0), gridspec_kw={"height_ratios": [1, 1.2]}, layout="constrained")
    for k, (d, lab) in enumerate(
        (
            (data_pos, "current > 0 (paper's I < 0): enters at x = L"),
            (data_neg, "reversed: current < 0, enters at x = 0"),
        )
    ):
        s = d["summary"]
        im = _draw_slice(
            ax[0, k],
            d,
            t0,
            t_mit,
            vmax=vmax,
            title=f"{lab}\n{_drive(s)}\n"
            f"T_max = {s['T_max_K']:.4g} K ({s['T_max_K'] / t0:.3f} T0), metal fraction {s['metal_fraction']:.3f}",
        )
        _draw_top_line(ax[1, 0], d, t0, t_mit, label=lab, color=f"C{3 + k}")
    t_over_t0_axis(ax[1, 0], t0)
    ax[1, 0].legend(fontsize=7)
    ax[1, 0].set_title(f"T on the top line y = W/2; T_MIT = {t_mit:g} K (dashed)", fontsize=9)
    kelvin_colorbar(fig, im, ax[0, :], t0, fraction=0.02)
    ax[1, 1].axis("off")
    ax[1, 1].text(
        0.0,
        0.5,
        "Mirror test: with both polarities the metal sits at the\n"
        "electrode through which current leaves the film (the\n"
        "negative one for current > 0). Reversal should mirror\n"
        "the pattern x -> L - x up to discretisation.",
        fontsize=9,
        va="center",
    )
    return fig


def plot_polarity(data_pos: dict, data_neg: dict, path: Path) -> str:
    """fig2a and its polarity-reversed counterpart side by side (rank 0)."""
    plt = pyplot()
    fig = build_polarity(data_pos, data_neg)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def build_fig2e(datas: list[tuple[float, dict]]) -> Any:
    """The Figure of plot_fig2e (rank 0)."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.4))
    L = datas[0][1]["cfg"].geometry.length
    W = datas[0][1]["cfg"].geometry.width
    handles = []
    notes = []
    widths = sorted({d["summary"].get("band_width_K") for _, d in datas} - {None})
    for k, (_, d) in enumerate(datas):
        top = d["top"]
        s = d["summary"]
        c = f"C{k}"
        label = (
            f"I = {s['current_A'] * 1e3:.4g} mA, V = {s['voltage_V']:.4g} V (J = {s['J']:.3g}, P = {s['P']:.3g}), "
            f"metal fraction {s['metal_fraction']:.3f}"
        )
        if np.nanmax(top["m"]) >= 0.5 > np.nanmin(top["m"]):
            ax.contour(top["x"] / L, top["y"] / L, top["m"], levels=[0.5], colors=c, linewidths=1.6)
            handles.append(Line2D([], [], color=c, label=label))
        elif np.nanmin(top["m"]) >= 0.5:
            notes.append(f"{label}: the whole top surface is metal (no boundary)")
        else:
            notes.append(f"{label}: no metal on the top surface")
    e = datas[0][1]["cfg"].geometry.electrode_length / L
    ew = datas[0][1]["cfg"].geometry.electrode_width / L
    for x0, col in ((0, "#3060ff"), (1 - e, "#ff3030")):
        ax.add_patch(plt.Rectangle((x0, W / L / 2 - ew / 2), e, ew, color=col))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, W / L)
    ax.set_aspect("equal")
    ax.set_xlabel("x / L")
    ax.set_ylabel("y / L")
    band = f", band w = {', '.join(f'{w:.3g}' for w in widths)} K" if widths else ""
    ax.set_title(f"Fig. 2e: phase boundary m = 0.5 on the top surface, W = L/2{band}", fontsize=10)
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    if notes:
        ax.text(0.0, -0.5 if handles else -0.25, "\n".join(notes), transform=ax.transAxes, fontsize=7, va="top")
    return fig


def plot_fig2e(datas: list[tuple[float, dict]], path: Path) -> str:
    """Phase boundaries (m = 0.5) on the top surface for several currents, W = L/2 (rank 0)."""
    plt = pyplot()
    fig = build_fig2e(datas)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def _run(preset: str, overrides: list[str]):
    import fem_peltier as fp
    from .simulation import run

    cfg = fp.load_config(preset=preset, overrides=overrides).resolved()
    return run(cfg, out=None, pictures=False)


def _brief(s: dict) -> dict:
    keys = (
        "converged",
        "current_A",
        "voltage_V",
        "J",
        "P",
        "T_max_K",
        "T_mean_K",
        "T_top_mean_K",
        "T0_K",
        "metal_fraction",
        "metal_top_x_range_m",
        "metal_max_depth_m",
        "heat_joule_W",
        "heat_peltier_W",
        "heat_to_sink_W",
        "heat_balance_rel",
        "cells",
        "transition_width_K",
        "band_width_K",
        "wall_time_s",
    )
    return {k: s.get(k) for k in keys}


def make_figure(name: str, outdir: Path, overrides: list[str] | None = None, level: str = "full") -> dict[str, Any]:
    """Compute and draw one figure into outdir; returns {"files": [...], "cases": {case: summary}}.

    `overrides` (section.key=value) apply to every run of the figure (e.g. a mesh size).
    """
    overrides = list(overrides or [])
    outdir = Path(outdir)
    root = is_root()
    if root:
        outdir.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    cases: dict[str, dict] = {}
    if name == "fig1b":
        from .validation_slab import check_eq11_vi

        ch = check_eq11_vi(level, outdir=outdir)  # type: ignore[arg-type]
        return {"files": ch.figures, "cases": {}, "check": ch}
    if name in ("fig2a", "fig2c", "fig2d"):
        res = _run(name, overrides)
        data = sample_case(res)
        cases[name] = _brief(res.summary)
        if root:
            files.append(plot_case(name, data, outdir / f"{name}.png"))
        if name == "fig2a":
            cur = res.problem.cfg.drive.current
            res_r = _run(name, [*overrides, f"drive.current={-cur!r}"])
            data_r = sample_case(res_r)
            cases["fig2a_reversed"] = _brief(res_r.summary)
            if root:
                files.append(plot_polarity(data, data_r, outdir / "fig2a_polarity.png"))
    elif name == "fig2e":
        datas = []
        for current in FIG2E_CURRENTS:
            res = _run("fig2d", [*overrides, f"drive.current={current!r}"])
            datas.append((current, sample_case(res)))
            cases[f"fig2e_{current * 1e3:g}mA"] = _brief(res.summary)
        if root:
            files.append(plot_fig2e(datas, outdir / "fig2e.png"))
    else:
        raise ValueError(f"unknown figure {name!r}; expected one of {', '.join(FIGURES)}")
    if root:
        (outdir / f"{name}.json").write_text(json.dumps(cases, indent=1, default=str) + "\n")
    return {"files": files, "cases": cases}
