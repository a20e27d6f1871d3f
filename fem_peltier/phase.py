"""Per-cell metal fraction m: the phase indicator, its memory and its interface.

The paper's rule is sharp (m = 1 above T_MIT, else 0). fem_peltier smooths it
over a band of width w (K), as a Stefan problem would, and drives the phase by
the cell-mean temperature T_c so that m, sigma, rho and S are constant in each
cell (docs/physics.md):

    m(T_c)  = (1 + tanh((T_c - T_centre) / w)) / 2

(the law itself and the properties that depend on m are in materials.py).

For P1 temperatures on affine simplices the cell mean equals the centroid
value, and grad T is constant in a cell, so T_c = T + grad(T) . (x_c - x)
exactly, with x_c the cell centroid. This keeps T_c a differentiable UFL
expression of T (exact Newton Jacobians) that is constant per cell, also when
restricted to either side of an interior facet.

`T_centre` is a DG0 field: T_MIT without hysteresis; with hysteresis width H it
is T_MIT + H/2 for cells that were insulating and T_MIT - H/2 for cells that were
metallic at the last phase update (the memory of the Picard loop).
"""

from __future__ import annotations

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
import ufl
from dolfinx import fem, mesh as dmesh

from .config import Config
from .materials import PhaseLaw

#: A cell counts as partially metallic when PARTIAL_EPS < m < 1 - PARTIAL_EPS.
PARTIAL_EPS = 1e-3
#: Facets whose two cells differ in m by more than this, or where either cell is
#: inside the band (m (1 - m) above it), carry the Peltier integral. The second
#: condition keeps Newton exact: where S is equal on both sides the jump is zero
#: but its derivative with respect to T is not. At 1e-10 the facets left out carry at
#: most 1e-10 of a full interface facet's heat and a derivative 4e-10 of the band
#: maximum; at the final band width this halves the tagged facets compared with
#: 1e-14 (fig2a, 67k cells: 38k instead of 76k), the costliest part of the Jacobian.
JUMP_EPS = 1e-10


def cell_centroids(msh: dmesh.Mesh) -> fem.Function:
    """DG0 vector field holding each cell's centroid (m); ghosts included."""
    Q = fem.functionspace(msh, ("DG", 0, (msh.geometry.dim,)))
    xc = fem.Function(Q, name="centroid_m")
    xc.interpolate(lambda x: x)  # DG0 interpolation point is the centroid
    xc.x.scatter_forward()
    return xc


def cell_mean_temperature(T, xc: fem.Function):
    """T_c = T + grad(T) . (x_c - x): the exact cell mean of a P1 field (UFL expression)."""
    x = ufl.SpatialCoordinate(xc.function_space.mesh)
    return T + ufl.dot(ufl.grad(T), xc - x)


def update_centre(law: PhaseLaw, m: fem.Function, cfg: Config, settled: float | None = None) -> int:
    """Hysteresis memory: centre = T_MIT -/+ H/2 for metal/insulating cells. Returns #changed owned cells.

    A cell is metal when m >= 0.5 (the steady Picard rule) or, with `settled` (a transient),
    only once m > 1 - settled, and insulating once m < settled; in between it keeps its centre."""
    h = cfg.material.hysteresis
    if h == 0.0:
        return 0
    metal_c, insulator_c = cfg.material.t_mit - h / 2, cfg.material.t_mit + h / 2
    if settled is None:
        new = np.where(m.x.array >= 0.5, metal_c, insulator_c)
    else:
        new = np.where(m.x.array > 1 - settled, metal_c, law.centre.x.array)
        new = np.where(m.x.array < settled, insulator_c, new)
    n_own = m.function_space.dofmap.index_map.size_local
    changed = int(np.count_nonzero(new[:n_own] != law.centre.x.array[:n_own]))
    law.centre.x.array[:] = new
    law.centre.x.scatter_forward()
    return m.function_space.mesh.comm.allreduce(changed, op=MPI.SUM)


def jump_facets(m: fem.Function, film_cell_mask: np.ndarray, eps: float = JUMP_EPS) -> np.ndarray:
    """Local indices of interior film facets where the phase changes (or can change).

    A facet is kept when the metal fractions of its two cells differ by more than
    `eps`, or either cell lies inside the transition band (m (1 - m) > eps).

    Needs a shared-facet ghosted mesh and an up-to-date (scattered) DG0 `m` so that
    facets on the partition boundary see both cells.
    """
    msh = m.function_space.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    f2c = msh.topology.connectivity(tdim - 1, tdim)
    off = f2c.offsets
    two = np.flatnonzero(np.diff(off) == 2).astype(np.int32)
    c0 = f2c.array[off[two]]
    c1 = f2c.array[off[two] + 1]
    mc = m.x.array[m.function_space.dofmap.list[:, 0]]
    band = mc * (1.0 - mc) > eps
    keep = film_cell_mask[c0] & film_cell_mask[c1] & ((np.abs(mc[c0] - mc[c1]) > eps) | band[c0] | band[c1])
    return two[keep]


def phase_statistics(m: fem.Function, film_cell_mask: np.ndarray) -> dict[str, float]:
    """Owned-cell counts: partially metallic cells and metal (m >= 0.5) cells."""
    n_own = m.function_space.dofmap.index_map.size_local
    vals = m.x.array[m.function_space.dofmap.list[:n_own, 0]][film_cell_mask[:n_own]]
    comm = m.function_space.mesh.comm
    partial = comm.allreduce(int(np.count_nonzero((vals > PARTIAL_EPS) & (vals < 1 - PARTIAL_EPS))), op=MPI.SUM)
    metal = comm.allreduce(int(np.count_nonzero(vals >= 0.5)), op=MPI.SUM)
    return {"partial_cells": partial, "metal_cells": metal}
