"""Structured box meshes (DOLFINx `create_box`) with fem_peltier's tags.

Used by the tests and for quick studies: no Gmsh, exact patch areas when the
patches fall on grid lines, shared-facet ghosting as the Peltier facet
integrals need in parallel.
"""

from __future__ import annotations

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
from dolfinx import mesh as dmesh

from .config import Config
from .mesh import ELECTRODE_NEG, ELECTRODE_POS, FILM, OTHER, SIDES, SINK, SUBSTRATE, TOP, X0, XL, FilmMesh


def box_film_mesh(cfg: Config, n: tuple[int, int, int], n_sub: int = 0, comm: MPI.Comm = MPI.COMM_WORLD) -> FilmMesh:
    """A film of n = (nx, ny, nz) hexahedra (each split into tetrahedra), plus n_sub substrate layers."""
    cfg = cfg.resolved()
    g = cfg.geometry
    L, W, h, hs = g.length, g.width, g.thickness, g.substrate_thickness
    nx, ny, nz = n
    if hs > 0 and n_sub <= 0:
        n_sub = max(1, round(nz * hs / h))
    if hs == 0:
        n_sub = 0
    if n_sub:
        # uniform z spacing only when both layers share it; otherwise map the grid afterwards
        nz_tot = nz + n_sub
    else:
        nz_tot = nz
    msh = dmesh.create_box(
        comm,
        [np.array([0.0, 0.0, 0.0]), np.array([L, W, 1.0])],
        [nx, ny, nz_tot],
        dmesh.CellType.tetrahedron,
        ghost_mode=dmesh.GhostMode.shared_facet,
    )
    # map the unit z-grid: the lowest n_sub layers to the substrate [-hs, 0], the rest to [0, h]
    x = msh.geometry.x
    zeta = x[:, 2] * nz_tot
    x[:, 2] = np.where(
        zeta <= n_sub, -hs + (zeta / max(n_sub, 1)) * hs if n_sub else 0.0 * zeta, (zeta - n_sub) / nz * h
    )
    tdim = msh.topology.dim
    fdim = tdim - 1
    msh.topology.create_connectivity(fdim, tdim)
    msh.topology.create_connectivity(tdim, tdim)  # cell dofs of the substrate (mixed form's j = 0 there)
    n_cells = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    from dolfinx.mesh import compute_midpoints

    mids = compute_midpoints(msh, tdim, np.arange(n_cells, dtype=np.int32))
    ctag = np.where(mids[:, 2] > 0, FILM, SUBSTRATE).astype(np.int32)
    cell_tags = dmesh.meshtags(msh, tdim, np.arange(n_cells, dtype=np.int32), ctag)

    bfacets = dmesh.exterior_facet_indices(msh.topology)
    fm = compute_midpoints(msh, fdim, bfacets)
    tol = 1e-9 * max(L, W, h)
    e_len, e_w = g.electrode_length, g.electrode_width
    top = np.abs(fm[:, 2] - h) < tol
    bottom = np.abs(fm[:, 2] + hs) < tol
    if g.electrodes == "point":
        in_y = np.abs(fm[:, 1] - W / 2) < e_w / 2
        neg = top & in_y & (fm[:, 0] < e_len)
        pos = top & in_y & (fm[:, 0] > L - e_len)
    else:
        film = fm[:, 2] > 0
        neg = film & (np.abs(fm[:, 0]) < tol)
        pos = film & (np.abs(fm[:, 0] - L) < tol)
    vals = np.full(bfacets.size, OTHER, dtype=np.int32)
    vals[(np.abs(fm[:, 1]) < tol) | (np.abs(fm[:, 1] - W) < tol)] = SIDES
    vals[np.abs(fm[:, 0]) < tol] = X0
    vals[np.abs(fm[:, 0] - L) < tol] = XL
    vals[top] = TOP
    vals[bottom] = SINK
    vals[neg] = ELECTRODE_NEG
    vals[pos] = ELECTRODE_POS
    facet_tags = dmesh.meshtags(msh, fdim, bfacets.astype(np.int32), vals)
    return FilmMesh(mesh=msh, cell_tags=cell_tags, facet_tags=facet_tags, source="box")
