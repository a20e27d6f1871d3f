"""Point sampling (pictures, probes, the top line): each point is evaluated in a cell that contains it."""

from __future__ import annotations

import numpy as np

import fem_peltier as fp
from fem_peltier.coupled import CoupledProblem
from fem_peltier.mesh import create_mesh
from fem_peltier.sampling import probe_all, top_grid_points


def test_probe_uses_a_cell_containing_the_point():
    """A DG0 field holding each cell's index, probed on the top grid and a vertical slice: the
    cell reported must contain the point (barycentric coordinates >= -1e-9). DOLFINx's distance
    test accepted cells about 1 um away on this 0.1 mm mesh (coordinates down to -0.13)."""
    from dolfinx import fem

    cfg = fp.load_config(preset="fig2a", overrides=["mesh.size=1e-4"]).resolved()
    p = CoupledProblem(cfg, create_mesh(cfg))
    msh = p.msh
    n_local = msh.topology.index_map(3).size_local + msh.topology.index_map(3).num_ghosts
    ids = fem.Function(p.Q0)
    ids.x.array[:] = np.arange(n_local, dtype=float)
    g = cfg.geometry
    xs, ys = np.linspace(0, g.length, 121), np.linspace(0, g.width, 61)
    X, Z = np.meshgrid(xs, np.linspace(0, g.thickness, 31))
    slice_pts = np.column_stack([X.ravel(), np.full(X.size, g.width / 2), Z.ravel()])
    x = msh.geometry.x[msh.geometry.dofmaps[0]]
    for pts in (top_grid_points(xs, ys, g.thickness), slice_pts):
        (cell,) = probe_all(p, [ids], pts)
        assert not np.isnan(cell).any()
        c = cell.astype(int)
        B = np.transpose(x[c, 1:, :] - x[c, :1, :], (0, 2, 1))
        lam = np.linalg.solve(B, (pts - x[c, 0, :])[..., None])[..., 0]
        lam_all = np.column_stack([1 - lam.sum(axis=1), lam])
        assert lam_all.min() >= -1e-9, lam_all.min()
