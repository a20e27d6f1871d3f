"""matplotlib without a display: the Agg backend, and figures saved atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import replacing


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_atomic(fig: Any, path: Path, **savefig_kwargs: Any) -> Path:
    """fig.savefig into a temporary sibling, renamed to `path` once complete."""
    path = Path(path)
    with replacing(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, **savefig_kwargs)
    return path


#: gid of the m = 0.5 contour drawn on a picture (found by tests through Figure.findobj).
METAL_BOUNDARY = "metal_boundary"
#: gid of the marker at the centre of the deepest metal cell (summary: metal_max_depth_m).
DEEPEST_METAL = "deepest_metal_centre"


def drive_label(current_A: float, voltage_V: float, band_width_K: float | None = None) -> str:
    """'I = 10 mA, V = 3.358 V, band w = 3 K': the drive of the state drawn (and its band width)."""
    text = f"I = {current_A * 1e3:.4g} mA, V = {voltage_V:.4g} V"
    if band_width_K is not None:
        text += f", band w = {band_width_K:.3g} K"
    return text


def t_over_t0_axis(ax: Any, t0: float, side: str = "right") -> Any:
    """A second y axis showing T / T0 beside an axis in kelvin."""
    sec = ax.secondary_yaxis(side, functions=(lambda t: t / t0, lambda r: r * t0))
    sec.set_ylabel("T / T0")
    return sec


def kelvin_colorbar(fig: Any, mappable: Any, ax: Any, t0: float, **kwargs: Any) -> Any:
    """A colorbar labelled T (K), with T / T0 on its other side."""
    cb = fig.colorbar(mappable, ax=ax, **kwargs)
    cb.set_label("T (K)")
    if cb.orientation == "horizontal":
        sec = cb.ax.secondary_xaxis("top", functions=(lambda t: t / t0, lambda r: r * t0))
        sec.set_xlabel("T / T0", fontsize=8, labelpad=2)
    else:
        sec = cb.ax.secondary_yaxis("left", functions=(lambda t: t / t0, lambda r: r * t0))
        sec.set_ylabel("T / T0", fontsize=8, labelpad=2)
    sec.tick_params(labelsize=7)
    return cb
