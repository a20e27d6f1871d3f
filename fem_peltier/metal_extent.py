"""Where the metal is in a solved state: depth of the m = 0.5 crossing, column thickness, radius on the top.

Every function is collective (all ranks call it and get the same number).
"""

from __future__ import annotations

import math

import numpy as np

from .sampling import film_heights, sample_top_grid


def _scalar_dg0(problem, values: np.ndarray):
    from dolfinx import fem

    f = fem.Function(problem.Q0)
    f.x.array[:] = values
    f.x.scatter_forward()
    return f


def phase_crossing_depth(problem, x: float, y: float, n: int = 2000) -> float:
    """Depth h - z* where the DG0 phase crosses m = 0.5 on the vertical line (x, y).

    The line is probed at n points; each hit cell gives the pair (centroid z, m) and m is
    interpolated linearly between consecutive cell centroids. Returns 0 with no metal
    and h when the line is metal throughout.
    """
    from .diagnostics import probe

    h = problem.cfg.geometry.thickness
    z = film_heights(h, n)
    pts = np.column_stack([np.full(n, x), np.full(n, y), z])
    zc_fun = _scalar_dg0(problem, problem.xc.x.array.reshape(-1, 3)[:, 2].copy())
    m = probe(problem, problem.m, pts)
    zc = probe(problem, zc_fun, pts)
    pairs = np.unique(np.column_stack([zc, m])[np.isfinite(m)], axis=0)
    zs, ms = pairs[:, 0], pairs[:, 1]
    order = np.argsort(zs)
    zs, ms = zs[order], ms[order]
    if ms.max() < 0.5:
        return 0.0
    if ms.min() >= 0.5:
        return h
    # the top-most crossing from below 0.5 (deeper) to >= 0.5 (shallower)
    idx = np.nonzero((ms[:-1] < 0.5) & (ms[1:] >= 0.5))[0]
    if idx.size == 0:
        return 0.0
    i = idx[-1]
    t = (0.5 - ms[i]) / (ms[i + 1] - ms[i])
    zstar = zs[i] + t * (zs[i + 1] - zs[i])
    return float(h - zstar)


def column_thickness(problem, x: float, y: float, n: int = 2000) -> float:
    """Metal thickness as the line integral of m along the vertical line (x, y) (m)."""
    from .diagnostics import probe

    h = problem.cfg.geometry.thickness
    z = (np.arange(n) + 0.5) / n * h
    m = probe(problem, problem.m, np.column_stack([np.full(n, x), np.full(n, y), z]))
    return float(np.nanmean(m) * h)


def metal_radius(problem) -> dict[str, float]:
    """Metal extent at the negative electrode on the top surface (m >= 0.5 means metal).

    r_area = sqrt(2 A / pi) from the top metal area A (a half disc at the x = 0 edge);
    r_x = the metal's reach along y = W/2; r_y = its half-width along y at x = 0+.
    """
    g = problem.cfg.geometry
    L, W = g.length, g.width
    nx, ny = 400, 400
    xs = (np.arange(nx) + 0.5) / nx * (L / 2)
    ys = (np.arange(ny) + 0.5) / ny * W
    m = sample_top_grid(problem, problem.m, xs, ys, indexing="ij")
    metal = m >= 0.5
    area = float(metal.sum()) * (L / 2 / nx) * (W / ny)
    row = metal[:, ny // 2]
    r_x = float(xs[row].max()) if row.any() else 0.0
    col = metal[0, :]
    r_y = float(np.abs(ys[col] - W / 2).max()) if col.any() else 0.0
    return {"r_area": math.sqrt(2 * area / math.pi), "r_x": r_x, "r_y": r_y, "area": area}
