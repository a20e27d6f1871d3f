"""The pictures of a sweep directory: V-I curve, metal fraction and top-surface phase boundaries (rank 0).

Every current is in mA (axes, colour scale, titles); every title names the sweep's drive
(its range of I and V) and the band width of the states drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .plotting import pyplot, save_atomic
from .sweep_plan import PLOT_BOUNDARIES, PLOT_METAL, PLOT_VI, STATE_FILE, Parameter
from .sweep_report import row_float


#: Display unit of each swept parameter: (scale from SI, unit); currents are shown in mA.
DISPLAY_UNITS = {"current": (1e3, "mA"), "voltage": (1.0, "V")}
COLOURS = {"up": "tab:red", "down": "tab:blue"}
DIRECTION_LABELS = {"up": "ramp up (|drive| increasing)", "down": "ramp down"}


def _span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)} to {format(hi, fmt)}"


def sweep_drive_label(rows: list[dict[str, str]], param: Parameter) -> str:
    """'current control, I = 2 to 10 mA, V = 2.08 to 3.36 V, band w = 3 K' over the converged points."""
    ok = [r for r in rows if r.get("converged") == "true"]
    currents = [v * 1e3 for r in ok if (v := row_float(r, "current_A")) is not None]
    voltages = [v for r in ok if (v := row_float(r, "voltage_V")) is not None]
    widths = [v for r in ok if (v := row_float(r, "band_width_K")) is not None]
    parts = [f"{param.name} control"]
    if currents:
        parts.append(f"I = {_span(currents, '.4g')} mA")
    if voltages:
        parts.append(f"V = {_span(voltages, '.4g')} V")
    if widths:
        parts.append(f"band w = {_span(widths, '.3g')} K")
    if not ok:
        parts.append("no converged point")
    return ", ".join(parts)


def build_sweep_figures(
    out: Path, rows: list[dict[str, str]], param: Parameter, report: dict[str, Any], geometry: dict[str, Any]
) -> dict[str, Any]:
    """The Figures of vi_curve.png, metal_fraction.png and phase_boundaries.png, by file name."""
    import matplotlib
    from matplotlib.lines import Line2D

    plt = pyplot()
    drive = sweep_drive_label(rows, param)
    figures: dict[str, Any] = {}
    for fname, ykey, ylabel in (
        (PLOT_VI, "voltage_V", "film voltage V (V)"),
        (PLOT_METAL, "metal_fraction", "metal fraction"),
    ):
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        drawn: set[str] = set()
        for e in report["ramps"]:
            seq = ([e["points"][0] - 1] if e["points"][0] > 0 else []) + e["points"]
            seq = [
                i
                for i in seq
                if rows[i].get("converged") == "true"
                and row_float(rows[i], "current_A") is not None
                and row_float(rows[i], ykey) is not None
            ]
            if not seq:
                continue
            xs = np.array([row_float(rows[i], "current_A") for i in seq]) * 1e3
            ys = np.array([row_float(rows[i], ykey) for i in seq])
            c = COLOURS[e["direction"]]
            ax.plot(xs, ys, "-o", color=c, ms=3.5, lw=1.2, alpha=0.85)
            drawn.add(e["direction"])
            for k in range(len(xs) - 1):
                if (xs[k], ys[k]) != (xs[k + 1], ys[k + 1]):
                    ax.annotate(
                        "",
                        xy=((xs[k] + xs[k + 1]) / 2, (ys[k] + ys[k + 1]) / 2),
                        xytext=(xs[k], ys[k]),
                        arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.2, "mutation_scale": 12},
                    )
        bad = [
            (current, y)
            for r in rows
            if r.get("converged") != "true"
            and (current := row_float(r, "current_A")) is not None
            and (y := row_float(r, ykey)) is not None
        ]
        if bad:
            ax.plot([c * 1e3 for c, _ in bad], [y for _, y in bad], "x", color="k")
        # a legend entry only for what is drawn
        handles = [
            Line2D([], [], color=COLOURS[d], marker="o", label=DIRECTION_LABELS[d])
            for d in ("up", "down")
            if d in drawn
        ]
        if bad:
            handles.append(Line2D([], [], color="k", marker="x", ls="", label="not converged"))
        if handles:
            ax.legend(handles=handles, fontsize=8, loc="best")
        ax.set_xlabel("current I (mA)")
        ax.set_ylabel(ylabel)
        ax.axhline(0, color="0.8", lw=0.6)
        ax.axvline(0, color="0.8", lw=0.6)
        what = "V-I curve" if ykey == "voltage_V" else "metal fraction"
        ax.set_title(
            f"{what} of the sweep (arrows: ramp direction)\n{drive}",
            fontsize=9,
        )
        fig.tight_layout()
        figures[fname] = fig

    # the metal outline (m = 0.5) on the top surface for every point, Fig. 2e style
    L = float(geometry.get("length", 1e-3))
    W = float(geometry.get("width", 1e-3))
    scale, unit = DISPLAY_UNITS.get(param.name, (1.0, param.unit))
    fig, ax = plt.subplots(figsize=(7, 7 * W / L + 1.2))
    mags = [abs(row_float(r, param.column) or 0.0) * scale for r in rows]
    norm = matplotlib.colors.Normalize(vmin=min(mags), vmax=max(mags) if max(mags) > min(mags) else min(mags) + 1)
    cmap = matplotlib.colormaps["viridis"]
    n_drawn = 0
    styles: set[str] = set()
    for r, mag in zip(rows, mags):
        path = out / r["run_dir"] / STATE_FILE
        if r.get("converged") != "true" or not path.is_file():
            continue
        try:
            with np.load(path) as z:
                xs, ys, mt = z["top_x"], z["top_y"], z["top_m"]
        except (OSError, KeyError, ValueError):
            continue
        if np.nanmax(mt) >= 0.5 > np.nanmin(mt):
            ls = "-" if r.get("direction") == "up" else "--"
            ax.contour(xs * 1e3, ys * 1e3, mt, levels=[0.5], colors=[cmap(norm(mag))], linestyles=ls, linewidths=1.3)
            n_drawn += 1
            styles.add(ls)
    if geometry.get("electrodes", "point") == "point":
        from matplotlib.patches import Rectangle

        el, ew = float(geometry.get("electrode_length", 0.1 * L)), float(geometry.get("electrode_width", 0.02 * L))
        for x0, lab in ((0.0, "-"), (L - el, "+")):
            ax.add_patch(Rectangle((x0 * 1e3, (W - ew) / 2 * 1e3), el * 1e3, ew * 1e3, fill=False, ec="k", lw=1))
            ax.text((x0 + el / 2) * 1e3, (W + ew) / 2 * 1e3, lab, ha="center", va="bottom")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=f"|{param.symbol}| ({unit})")
    ax.set_xlim(0, L * 1e3)
    ax.set_ylim(0, W * 1e3)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    line_styles = ", ".join(text for ls, text in (("-", "solid: ramp up"), ("--", "dashed: ramp down")) if ls in styles)
    ax.set_title(
        f"top-surface metal outline (m = 0.5), {n_drawn} point(s) with a boundary\n{drive}\n"
        f"{line_styles + '; ' if line_styles else ''}electrodes - (x = 0) and + (x = L)",
        fontsize=9,
    )
    fig.tight_layout()
    figures[PLOT_BOUNDARIES] = fig
    return figures


def plot_sweep(
    out: Path, rows: list[dict[str, str]], param: Parameter, report: dict[str, Any], geometry: dict[str, Any]
) -> list[Path]:
    """vi_curve.png, metal_fraction.png, phase_boundaries.png (published atomically)."""
    plt = pyplot()
    paths = []
    for fname, fig in build_sweep_figures(out, rows, param, report, geometry).items():
        paths.append(save_atomic(fig, out / fname, dpi=120))
        plt.close(fig)
    return paths
