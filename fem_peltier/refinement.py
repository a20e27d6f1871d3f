"""Local refinement of a film mesh, keeping every cell and facet tag, independent of the
partition (issue 18).

The marked cells have all their edges split (DOLFINx's Plaza refinement, which closes the
refinement conformingly around them). Plaza breaks ties between equally long edges by the
vertices' global numbers, which depend on how the mesh is partitioned; refined in place, the
same marked cells give a different mesh under mpirun than in serial. So the mesh is refined in
a canonical form instead:

1. every rank sends its owned cells, tagged facets and marks to rank 0, as coordinates;
2. rank 0 numbers the vertices in lexicographic order of their coordinates and the cells in
   the order of their sorted vertex numbers (the canonical form: the same for any partition),
   builds that mesh on its own (MPI.COMM_SELF), refines it and carries the tags over
   (a child cell takes its parent's tag, a child facet the tag of the parent facet it lies on);
3. the refined mesh is distributed again with shared-facet ghosting (mesh_data.to_dolfinx),
   which also rebalances the cells over the ranks.

The serial step handles the mesh as arrays (about 100 bytes per cell): a few seconds per
million cells.
"""

from __future__ import annotations

from dataclasses import replace

from mpi4py import MPI

import numpy as np
import numpy.typing as npt

from .mesh_data import FilmMesh, MeshArrays, to_dolfinx


def _owned_cell_nodes(fm: FilmMesh) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (n, 4, 3) and cell tags (n,) of this rank's owned cells."""
    msh = fm.mesh
    tdim = msh.topology.dim
    n_own = msh.topology.index_map(tdim).size_local
    nodes = msh.geometry.dofmaps[0][:n_own]
    tags = np.full(msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts, -1, np.int32)
    tags[fm.cell_tags.indices] = fm.cell_tags.values
    return msh.geometry.x[nodes], tags[:n_own]


def _owned_tagged_facets(fm: FilmMesh) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (n, 3, 3) and tags (n,) of this rank's owned tagged facets."""
    from dolfinx import mesh as dmesh

    msh = fm.mesh
    fdim = msh.topology.dim - 1
    n_own = msh.topology.index_map(fdim).size_local
    keep = fm.facet_tags.indices < n_own
    facets = fm.facet_tags.indices[keep].astype(np.int32)
    nodes = dmesh.entities_to_geometry(msh, fdim, facets)
    return msh.geometry.x[nodes].reshape(-1, fdim + 1, 3), fm.facet_tags.values[keep].astype(np.int32)


def canonical_arrays(
    cell_x: np.ndarray, cell_tags: np.ndarray, facet_x: np.ndarray, facet_tags: np.ndarray
) -> tuple[MeshArrays, np.ndarray]:
    """The mesh in canonical form (module docstring) from cell and facet vertex coordinates.

    Returns the arrays and the permutation `order`: canonical cell k is input cell order[k].
    """
    nv = cell_x.shape[1]
    pts = np.concatenate([cell_x.reshape(-1, 3), facet_x.reshape(-1, 3)])
    x, inverse = np.unique(pts, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n_c = cell_x.shape[0] * nv
    tets = np.sort(inverse[:n_c].reshape(-1, nv), axis=1)
    tris = np.sort(inverse[n_c:].reshape(-1, facet_x.shape[1]), axis=1)
    order = np.lexsort(tets.T[::-1])
    f_order = np.lexsort(tris.T[::-1])
    arrays = MeshArrays(
        x=np.ascontiguousarray(x, dtype=np.float64),
        tets=tets[order].astype(np.int64),
        tet_tags=cell_tags[order].astype(np.int32),
        tris=tris[f_order].astype(np.int64),
        tri_tags=facet_tags[f_order].astype(np.int32),
    )
    return arrays, order


def refine_arrays(arrays: MeshArrays, marked: npt.NDArray[np.bool_]) -> MeshArrays:
    """Split every edge of the `marked` cells of a serial mesh (Plaza, conforming closure);
    the children keep the cell and facet tags. Runs on one rank (MPI.COMM_SELF)."""
    from dolfinx import mesh as dmesh

    serial = to_dolfinx(arrays, MPI.COMM_SELF, "canonical")  # one rank: no ghosts, as transfer_meshtag needs
    msh = serial.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim, tdim - 1)
    local_marked = np.flatnonzero(marked[np.asarray(msh.topology.original_cell_index)]).astype(np.int32)
    msh.topology.create_connectivity(tdim, 1)
    edges = dmesh.compute_incident_entities(msh.topology, local_marked, tdim, 1)
    new, parent_cell, parent_facet = dmesh.refine(
        msh, edges, partitioner=None, option=dmesh.RefinementOption.parent_cell_and_facet
    )
    new.topology.create_entities(tdim - 1)
    new.topology.create_connectivity(tdim, tdim - 1)
    new.topology.create_connectivity(tdim - 1, tdim)
    ct = dmesh.transfer_meshtag(serial.cell_tags, new, parent_cell)
    ft = dmesh.transfer_meshtag(serial.facet_tags, new, parent_cell, parent_facet)
    n_cells = new.topology.index_map(tdim).size_local
    cell_tag = np.full(n_cells, -1, dtype=np.int32)
    cell_tag[ct.indices] = ct.values
    facets = ft.indices.astype(np.int32)
    return MeshArrays(
        x=np.array(new.geometry.x, dtype=np.float64),
        tets=np.array(new.geometry.dofmaps[0], dtype=np.int64),
        tet_tags=cell_tag,
        tris=dmesh.entities_to_geometry(new, tdim - 1, facets).astype(np.int64),
        tri_tags=np.asarray(ft.values, dtype=np.int32),
    )


def refine_film_mesh(fm: FilmMesh, marked: npt.NDArray[np.bool_]) -> FilmMesh:
    """Refine the cells of `fm` flagged in `marked` (a mask over this rank's owned cells; a
    collective call) as described in the module docstring; the result is distributed over
    the same communicator."""
    comm = fm.mesh.comm
    cell_x, cell_tags = _owned_cell_nodes(fm)
    facet_x, facet_tags = _owned_tagged_facets(fm)
    parts = comm.gather((cell_x, cell_tags, np.asarray(marked, dtype=bool), facet_x, facet_tags), root=0)
    arrays = None
    if comm.rank == 0:
        assert parts is not None
        cx, ct, mk, fx, ftg = (np.concatenate([p[i] for p in parts]) for i in range(5))
        canon, order = canonical_arrays(cx, ct, fx, ftg)
        arrays = refine_arrays(canon, mk[order])
    fine = to_dolfinx(arrays, comm, fm.source)
    return replace(fine, electrodes=dict(fm.electrodes), surfaces=dict(fm.surfaces), device=fm.device)
