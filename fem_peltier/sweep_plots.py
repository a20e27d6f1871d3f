"""The pictures of a sweep directory: V-I curve, metal fraction and top-surface phase boundaries (rank 0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .plotting import pyplot, save_atomic
from .sweep_plan import PLOT_BOUNDARIES, PLOT_METAL, PLOT_VI, STATE_FILE, Parameter
from .sweep_report import row_float


def plot_sweep(
    out: Path, rows: list[dict[str, str]], param: Parameter, report: dict[str, Any], geometry: dict[str, Any]
) -> list[Path]:
    """vi_curve.png, metal_fraction.png, phase_boundaries.png (published atomically)."""
    import matplotlib
    from matplotlib.lines import Line2D

    plt = pyplot()

    colours = {"up": "tab:red", "down": "tab:blue"}
    paths = []
    for fname, ykey, ylabel in (
        (PLOT_VI, "voltage_V", "film voltage V (V)"),
        (PLOT_METAL, "metal_fraction", "metal fraction"),
    ):
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for e in report["ramps"]:
            seq = ([e["points"][0] - 1] if e["points"][0] > 0 else []) + e["points"]
            seq = [
                i
                for i in seq
                if rows[i].get("converged") == "true"
                and row_float(rows[i], "current_A") is not None
                and row_float(rows[i], ykey) is not None
            ]
            xs = np.array([row_float(rows[i], "current_A") for i in seq]) * 1e3
            ys = np.array([row_float(rows[i], ykey) for i in seq])
            c = colours[e["direction"]]
            ax.plot(xs, ys, "-o", color=c, ms=3.5, lw=1.2, alpha=0.85)
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
        handles = [
            Line2D([], [], color=colours["up"], marker="o", label="ramp up (|drive| increasing)"),
            Line2D([], [], color=colours["down"], marker="o", label="ramp down"),
        ]
        if bad:
            handles.append(Line2D([], [], color="k", marker="x", ls="", label="not converged"))
        ax.legend(handles=handles, fontsize=8, loc="best")
        ax.set_xlabel("current I (mA)")
        ax.set_ylabel(ylabel)
        ax.axhline(0, color="0.8", lw=0.6)
        ax.axvline(0, color="0.8", lw=0.6)
        ax.set_title(
            f"{'V-I curve' if ykey == 'voltage_V' else 'metal fraction'} of the sweep "
            f"({param.name} control; arrows: ramp direction)",
            fontsize=9,
        )
        fig.tight_layout()
        paths.append(save_atomic(fig, out / fname, dpi=120))
        plt.close(fig)

    # the metal outline (m = 0.5) on the top surface for every point, Fig. 2e style
    L = float(geometry.get("length", 1e-3))
    W = float(geometry.get("width", 1e-3))
    fig, ax = plt.subplots(figsize=(7, 7 * W / L + 1.2))
    mags = [abs(row_float(r, param.column) or 0.0) for r in rows]
    norm = matplotlib.colors.Normalize(vmin=min(mags), vmax=max(mags) if max(mags) > min(mags) else min(mags) + 1)
    cmap = matplotlib.colormaps["viridis"]
    drawn = 0
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
            drawn += 1
    if geometry.get("electrodes", "point") == "point":
        from matplotlib.patches import Rectangle

        el, ew = float(geometry.get("electrode_length", 0.1 * L)), float(geometry.get("electrode_width", 0.02 * L))
        for x0, lab in ((0.0, "-"), (L - el, "+")):
            ax.add_patch(Rectangle((x0 * 1e3, (W - ew) / 2 * 1e3), el * 1e3, ew * 1e3, fill=False, ec="k", lw=1))
            ax.text((x0 + el / 2) * 1e3, (W + ew) / 2 * 1e3, lab, ha="center", va="bottom")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=f"|{param.symbol}| ({param.unit})")
    ax.set_xlim(0, L * 1e3)
    ax.set_ylim(0, W * 1e3)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(
        f"top-surface metal outline (m = 0.5), {drawn} point(s) with a boundary\n"
        "solid: ramp up, dashed: ramp down; electrodes - (x = 0) and + (x = L)",
        fontsize=9,
    )
    fig.tight_layout()
    paths.append(save_atomic(fig, out / PLOT_BOUNDARIES, dpi=120))
    plt.close(fig)
    return paths
