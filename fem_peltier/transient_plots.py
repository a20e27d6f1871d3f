"""Pictures of a transient from its timeseries.csv columns (matplotlib only, no DOLFINx).

transient.png:   V(t), I(t), metal fraction(t) and T_max(t), one panel each, sharing t;
                 the switching time (metal first appears) marked on every panel
trajectory.png:  the path in the V-I plane (the load line and the film's branches of a
                 circuit: where a relaxation oscillator's limit cycle shows)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plotting import pyplot, save_atomic, t_over_t0_axis

TRANSIENT_PNG = "transient.png"
TRAJECTORY_PNG = "trajectory.png"
SWITCHING_MARK = "switching_time"  # gid of the vertical line at the switching time


def _time_axis(t: np.ndarray) -> tuple[np.ndarray, str]:
    """Times in a readable unit: (scaled t, axis label)."""
    span = float(np.max(np.abs(t), initial=0.0))
    for factor, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if span >= 10 * factor or unit == "ns":
            return t / factor, f"t ({unit})"
    return t, "t (s)"


def plot_transient(
    series: dict[str, np.ndarray], path: Path, title: str, t0_K: float, switching_s: float | None
) -> Path:
    """transient.png: V, I, metal fraction and T_max against t."""
    plt = pyplot()
    t, label = _time_axis(series["t_s"])
    scale = t[-1] / series["t_s"][-1] if series["t_s"].size and series["t_s"][-1] else 1.0
    panels = (
        ("voltage_V", "V (V)"),
        ("current_A", "I (mA)"),
        ("metal_fraction", "metal fraction"),
        ("T_max_K", "T_max (K)"),
    )
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 8), sharex=True)
    for ax, (key, ylabel) in zip(axes, panels, strict=True):
        y = series[key] * (1e3 if key == "current_A" else 1.0)
        ax.plot(t, y, lw=1.2, marker=".", ms=2)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if switching_s is not None:
            ax.axvline(switching_s * scale, color="tab:red", lw=0.8, ls="--", gid=SWITCHING_MARK)
    t_over_t0_axis(axes[-1], t0_K)
    axes[-1].set_xlabel(label)
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    save_atomic(fig, path, dpi=120)
    plt.close(fig)
    return path


def plot_trajectory(series: dict[str, np.ndarray], path: Path, title: str) -> Path:
    """trajectory.png: I against V along the run, coloured by time."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    V, I = series["voltage_V"], series["current_A"] * 1e3
    ax.plot(V, I, color="0.7", lw=0.8)
    sc = ax.scatter(V, I, c=series["t_s"], s=6, cmap="viridis")
    fig.colorbar(sc, ax=ax).set_label("t (s)")
    ax.set_xlabel("film voltage V (V)")
    ax.set_ylabel("film current I (mA)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_atomic(fig, path, dpi=120)
    plt.close(fig)
    return path
