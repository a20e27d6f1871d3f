"""Points on the film's top surface z = h (just inside it) and the values of a field there.

Sampling is collective: every rank calls it and every rank gets every value
(`diagnostics.probe`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

#: Points are probed this far (relative to the film thickness) inside the top surface.
TOP_INSET = 1e-9


def top_z(thickness: float) -> float:
    """The z of the sampled top surface: h (1 - TOP_INSET)."""
    return thickness * (1 - TOP_INSET)


def film_heights(thickness: float, n: int) -> np.ndarray:
    """n heights from just above the bottom (z = 0) to just below the top (z = h) of the film."""
    return np.linspace(0.0, thickness, n) * (1 - 2 * TOP_INSET) + TOP_INSET * thickness


def top_grid_points(
    xs: np.ndarray, ys: np.ndarray, thickness: float, indexing: Literal["xy", "ij"] = "xy"
) -> np.ndarray:
    """Points (N, 3) of the grid xs x ys on the top surface, in np.meshgrid(xs, ys, indexing) order."""
    X, Y = np.meshgrid(xs, ys, indexing=indexing)
    return np.column_stack([X.ravel(), Y.ravel(), np.full(X.size, top_z(thickness))])


def sample_top_grid(
    problem: Any, f: Any, xs: np.ndarray, ys: np.ndarray, indexing: Literal["xy", "ij"] = "xy"
) -> np.ndarray:
    """Values of the scalar Function `f` on the top-surface grid: shape (ny, nx) ("xy") or (nx, ny) ("ij")."""
    from .diagnostics import probe

    pts = top_grid_points(xs, ys, problem.cfg.geometry.thickness, indexing)
    shape = (ys.size, xs.size) if indexing == "xy" else (xs.size, ys.size)
    return probe(problem, f, pts).reshape(shape)


def top_line_points(problem: Any, n: int = 801) -> np.ndarray:
    """Points on the top-surface line y = W/2, z = h (just inside the film)."""
    g = problem.cfg.geometry
    x = np.linspace(0.0, g.length, n)
    return np.column_stack([x, np.full(n, g.width / 2), np.full(n, top_z(g.thickness))])
