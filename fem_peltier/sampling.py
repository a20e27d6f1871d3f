"""Points on the film's top surface z = h (just inside it) and the values of a field there.

Sampling is collective: every rank calls it and every rank gets every value
(`probe`).
"""

from __future__ import annotations

import weakref
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
    return sample_top_grids(problem, [f], xs, ys, indexing)[0]


def sample_top_grids(
    problem: Any, funcs: list[Any], xs: np.ndarray, ys: np.ndarray, indexing: Literal["xy", "ij"] = "xy"
) -> list[np.ndarray]:
    """Several Functions on one top-surface grid (the point location is done once)."""
    pts = top_grid_points(xs, ys, problem.cfg.geometry.thickness, indexing)
    shape = (ys.size, xs.size) if indexing == "xy" else (xs.size, ys.size)
    return [v.reshape(shape) for v in probe_all(problem, funcs, pts)]


def top_line_points(problem: Any, n: int = 801) -> np.ndarray:
    """Points on the top-surface line y = W/2, z = h (just inside the film)."""
    g = problem.cfg.geometry
    x = np.linspace(0.0, g.length, n)
    return np.column_stack([x, np.full(n, g.width / 2), np.full(n, top_z(g.thickness))])


def probe(problem: Any, f: Any, points: np.ndarray) -> np.ndarray:
    """Values of a scalar Function at points (N, 3); NaN where a point is outside the mesh.

    Each point is evaluated in one owned cell of the rank that holds it; results are
    combined by an allreduce, so every rank gets every value.
    """
    return probe_all(problem, [f], points)[0]


def probe_all(problem: Any, funcs: list[Any], points: np.ndarray) -> list[np.ndarray]:
    """`probe` for several scalar Functions at the same points: the cells holding the points
    are located once (the costly part: a cell-by-cell distance test per candidate)."""
    from mpi4py import MPI  # here: the plotting modules import this one without DOLFINx
    from dolfinx import geometry

    msh = problem.msh
    tdim = msh.topology.dim
    pts = np.ascontiguousarray(points, dtype=np.float64)
    cand = geometry.compute_collisions_points(problem.cell_tree(), pts)
    n_own = msh.topology.index_map(tdim).size_local
    # the first owned colliding cell of each point, without a Python loop over the points
    point_of_link, links = _colliding(msh, cand, pts)
    owned = links < n_own
    idx, first = np.unique(point_of_link[owned], return_index=True)
    cells = links[owned][first].astype(np.int32)
    hits = np.zeros(pts.shape[0])
    hits[idx] = 1.0
    hits = problem.comm.allreduce(hits, op=MPI.SUM)
    out = []
    for f in funcs:
        vals = np.zeros(pts.shape[0])
        if idx.size:
            vals[idx] = np.asarray(f.eval(pts[idx], cells)).reshape(idx.size, -1)[:, 0]
        vals = problem.comm.allreduce(vals, op=MPI.SUM)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(hits > 0, vals / np.maximum(hits, 1), np.nan))
    return out


#: a point belongs to a cell when every barycentric coordinate is >= -this
BARYCENTRIC_TOL = 1e-10
_AFFINE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _affine_maps(msh: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(x0, B^-1) of every local cell of an affine simplex mesh, x = x0 + B lambda; None otherwise."""
    if msh in _AFFINE:
        return _AFFINE[msh]
    cmap = msh.geometry.cmaps[0]
    tdim = msh.topology.dim
    maps = None
    if cmap.degree == 1 and msh.topology.cell_name() in ("tetrahedron", "triangle") and tdim == 3:
        x = msh.geometry.x[msh.geometry.dofmaps[0]]  # (cells, 4, 3)
        B = np.transpose(x[:, 1:, :] - x[:, :1, :], (0, 2, 1))  # columns x_i - x_0
        maps = (x[:, 0, :].copy(), np.linalg.inv(B))
    _AFFINE[msh] = maps
    return maps


def _colliding(msh: Any, cand: Any, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, cell) of every candidate cell that contains its point, in candidate order.

    On an affine tetrahedral mesh the test is the barycentric coordinates lambda = B^-1 (p - x0)
    of all candidate pairs at once (lambda_i >= -tol and 1 - sum lambda >= -tol); otherwise
    DOLFINx's cell-by-cell distance test.
    """
    from dolfinx import geometry

    offsets, links = np.asarray(cand.offsets), np.asarray(cand.array)
    point_of_link = np.repeat(np.arange(pts.shape[0]), np.diff(offsets))
    maps = _affine_maps(msh)
    if maps is None:
        coll = geometry.compute_colliding_cells(msh, cand, pts)
        offsets, links = np.asarray(coll.offsets), np.asarray(coll.array)
        return np.repeat(np.arange(pts.shape[0]), np.diff(offsets)), links
    x0, Binv = maps
    lam = np.einsum("kij,kj->ki", Binv[links], pts[point_of_link] - x0[links])
    inside = (lam.min(axis=1) >= -BARYCENTRIC_TOL) & (lam.sum(axis=1) <= 1 + BARYCENTRIC_TOL)
    return point_of_link[inside], links[inside]
