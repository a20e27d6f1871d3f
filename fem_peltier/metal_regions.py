"""Where the metal is, region by region: the connected metal regions of the film, which
electrode each one touches, and how far the metal attached to each electrode reaches.

A **metal cell** is a film cell with m >= 0.5. Two metal cells are **connected** when they
share a facet (a triangle); a **metal region** is a connected component of metal cells.
Two cells that meet only at an edge or a vertex do not join two regions: a current
between them would have to pass through a point.

A region **touches** an electrode when one of its cells has a vertex on that electrode's
patch (its tagged facets: the top-surface patch for `electrodes = "point"`, the end face
for `"ends"`). Metal that meets the contact only at its rim is in electrical contact with
it (the contact potential reaches that cell), so it counts. Regions touching the same
electrode are joined electrically through it; a **detached** region touches neither.
A metal layer about one cell deep (a cap just above the transition) can fall apart into
several facet-connected regions at the mesh resolution; the reaches, the touching flags and
the detached count do not depend on that, the region count does.

The **reach** of the metal from an electrode is measured along x from the film's end on
that electrode's side, which is the electrode's outer edge for both electrode layouts:
from x = 0 for the negative electrode (reach = the largest x of the regions touching it)
and from x = L for the positive one (reach = L minus their smallest x); 0 when no region
touches that electrode. A region's x range is the extent of its cells' vertices, so a
reach is resolved to one cell size. A region that touches both electrodes is a metal
channel (`metal_channel`); its reach from each electrode includes the other electrode.

Parallel labelling (collective; the same regions on any number of ranks). Each rank holds
its owned cells and one layer of ghost cells (every cell sharing a facet with an owned
cell: DOLFINx `GhostMode.shared_facet`, which fem_peltier's meshes use), so every pair of
facet neighbours sits together on the rank that owns either of them.

1. Each rank finds the components of its local metal graph (owned and ghost cells, edges =
   shared facets with both cells local) by hooking roots onto smaller roots and pointer
   jumping (a few numpy passes, no Python loop over cells); this graph never changes.
2. Every metal cell carries a label, initially its global cell index; each local component
   takes the smallest label among its cells.
3. The owners' labels are sent to the ghost copies (a forward scatter of an int64 vector
   over the cell index map); each local component again takes the smallest label among its
   cells, ghosts included. Step 3 repeats until no label changed on any rank (one
   allreduce per round). A label only decreases and only moves between neighbouring
   cells, so this ends, and it ends with one label per global region: the smallest
   global index of its cells, whatever the partition. The rounds needed grow with the
   number of rank changes along a path through the region, not with its size.
4. Each rank sums its owned cells per label (cells, volume, x/y/z extent, electrode
   contact), and the per-label rows of all ranks are gathered and merged.

Electrode contact of a cell is decided from vertices flagged on the vertex index map: every
rank flags the vertices of its electrode facets, the flags are summed onto the owners
(reverse scatter) and sent back to every copy (forward scatter), so a cell whose only
contact is a patch vertex owned or tagged on another rank is still seen.

Importing this module loads neither MPI nor DOLFINx (the sweep report uses its helpers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import dolfinx.mesh

#: a cell is metal when its metal fraction is at least this
METAL_THRESHOLD = 0.5
#: metal_region_list holds at most this many regions (the largest by volume); metal_regions counts all
MAX_LISTED_REGIONS = 50


@dataclass
class MetalRegion:
    """One connected metal region (SI units)."""

    x_range_m: list[float]  # [xmin, xmax] of its cells' vertices
    y_range_m: list[float]
    depth_m: float  # thickness - the lowest z of its cells' vertices (its depth below the top z = h)
    volume_m3: float
    cells: int
    touches_negative: bool
    touches_positive: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def order(self) -> tuple:
        """Sort key: left to right, then by y, depth, size (global cell numbers, which depend on
        the partition, never decide the order)."""
        return (*self.x_range_m, *self.y_range_m, self.depth_m, -self.volume_m3, self.cells)


# ---------------------------------------------------------------------------------------
# Graph labelling


def _local_roots(n: int, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The component representative (smallest index) of each of n nodes of the graph with
    edges (a[i], b[i]): hook every root onto the smallest root it is joined to, pointer-jump
    to the roots, repeat until every edge joins one root (no Python loop over nodes)."""
    parent = np.arange(n, dtype=np.int64)
    while True:
        pa, pb = parent[a], parent[b]
        differ = pa != pb
        if not differ.any():
            return parent
        # after the full pointer jumping below pa and pb are roots; a root is only ever hooked
        # onto a smaller root, so the forest stays acyclic
        np.minimum.at(parent, np.maximum(pa[differ], pb[differ]), np.minimum(pa[differ], pb[differ]))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def _facet_pairs(msh: dolfinx.mesh.Mesh, mask: npt.NDArray[np.bool_]) -> tuple[np.ndarray, np.ndarray]:
    """Local cell pairs (a, b) sharing a facet, both in mask (owned and ghost cells)."""
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    f2c = msh.topology.connectivity(tdim - 1, tdim)
    off, arr = f2c.offsets, f2c.array
    two = np.nonzero(np.diff(off) == 2)[0]
    a = arr[off[two]].astype(np.int64)
    b = arr[off[two] + 1].astype(np.int64)
    keep = mask[a] & mask[b]
    return a[keep], b[keep]


def label_components(msh: dolfinx.mesh.Mesh, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """The global label of every local cell (owned, then ghosts): the smallest global cell
    index of its facet-connected component of cells in `mask`, -1 for cells not in mask.

    `mask` covers the local cells (owned and ghost) and must agree between a ghost and its
    owner. Collective; see the module docstring for the method.
    """
    from mpi4py import MPI  # first: loads libmpi before dolfinx
    from dolfinx import la

    comm = msh.comm
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    n_own, n_loc = imap.size_local, imap.size_local + imap.num_ghosts
    mask = np.asarray(mask[:n_loc], dtype=bool)
    if comm.size > 1 and comm.allreduce(imap.num_ghosts, op=MPI.SUM) == 0:
        raise ValueError("label_components needs ghost cells in parallel (GhostMode.shared_facet)")
    a, b = _facet_pairs(msh, mask)
    roots = _local_roots(n_loc, a, b)
    members = np.nonzero(mask)[0]
    big = np.iinfo(np.int64).max
    lab = np.full(n_loc, -1, dtype=np.int64)
    lab[members] = imap.local_to_global(members.astype(np.int32))

    def settle(values: np.ndarray) -> np.ndarray:
        """Each local component takes the smallest label among its cells."""
        best = np.full(n_loc, big, dtype=np.int64)
        np.minimum.at(best, roots[members], values[members])
        out = np.full(n_loc, -1, dtype=np.int64)
        out[members] = best[roots[members]]
        return out

    lab = settle(lab)
    if comm.size == 1:
        return lab
    vec = la.vector(imap, 1, dtype=np.int64)
    while True:
        vec.array[:] = lab
        vec.scatter_forward()  # ghost copies <- the owners' labels
        new = settle(vec.array[:n_loc].copy())
        changed = bool(np.any(new[:n_own] != lab[:n_own]))
        lab = new
        if not comm.allreduce(changed, op=MPI.LOR):
            return lab


# ---------------------------------------------------------------------------------------
# Cell data


def electrode_contact(msh: dolfinx.mesh.Mesh, facet_tags, tag: int) -> npt.NDArray[np.bool_]:
    """Local cells (owned and ghost) with a vertex on a facet tagged `tag` (collective)."""
    from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx)
    from dolfinx import la

    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, 0)
    msh.topology.create_connectivity(tdim, 0)
    vmap = msh.topology.index_map(0)
    flag = la.vector(vmap, 1, dtype=np.int32)
    flag.array[:] = 0
    f2v = msh.topology.connectivity(tdim - 1, 0)
    facets = facet_tags.find(tag)
    if facets.size:
        flag.array[_links(f2v, facets)] = 1
    flag.scatter_reverse(la.InsertMode.add)  # owners learn of every copy's flag
    flag.scatter_forward()  # ... and tell every copy
    on = flag.array > 0
    c2v = msh.topology.connectivity(tdim, 0)
    imap = msh.topology.index_map(tdim)
    n_loc = imap.size_local + imap.num_ghosts
    cv = c2v.array[: c2v.offsets[n_loc]].reshape(n_loc, -1)
    return on[cv].any(axis=1)


def _links(adj, nodes: np.ndarray) -> np.ndarray:
    """All links of the given nodes of an adjacency list (vectorised)."""
    off, arr = adj.offsets, adj.array
    starts, ends = off[nodes], off[nodes + 1]
    counts = ends - starts
    idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return arr[idx]


def _cell_geometry(msh: dolfinx.mesh.Mesh, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates of each cell's geometry nodes (n, k, 3), volume of each cell (n,)) for
    the first n local cells."""
    from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx)
    from dolfinx import mesh as dmesh

    nodes = dmesh.entities_to_geometry(msh, msh.topology.dim, np.arange(n, dtype=np.int32))
    xyz = msh.geometry.x[nodes]
    if msh.topology.cell_type == dmesh.CellType.tetrahedron and nodes.shape[1] == 4:
        e = xyz[:, 1:4, :] - xyz[:, :1, :]
        vol = np.abs(np.linalg.det(e)) / 6.0
    else:  # any other cell: assemble the DG0 volume form
        import ufl
        from dolfinx import fem

        Q = fem.functionspace(msh, ("DG", 0))
        vec = fem.assemble_vector(fem.form(ufl.TestFunction(Q) * ufl.dx))
        vol = vec.array[Q.dofmap.list[:n, 0]]
    return xyz, vol


# ---------------------------------------------------------------------------------------
# Regions


#: per-region reductions of the per-cell columns: x min/max, y min/max, z min, volume, cells,
#: touches the negative / positive electrode
_REDUCTIONS = (
    (np.minimum, np.inf),
    (np.maximum, -np.inf),
    (np.minimum, np.inf),
    (np.maximum, -np.inf),
    (np.minimum, np.inf),
    (np.add, 0.0),
    (np.add, 0.0),
    (np.maximum, 0.0),
    (np.maximum, 0.0),
)


def _reduce(inv: np.ndarray, n: int, rows: np.ndarray) -> np.ndarray:
    """Reduce the rows (one per cell, or per partial region) into n groups: row i into group inv[i]."""
    out = np.empty((n, len(_REDUCTIONS)))
    for col, (ufunc, init) in enumerate(_REDUCTIONS):
        out[:, col] = init
        ufunc.at(out[:, col], inv, rows[:, col])
    return out


def find_regions(
    msh: dolfinx.mesh.Mesh,
    metal: npt.NDArray[np.bool_],
    touch_negative: npt.NDArray[np.bool_],
    touch_positive: npt.NDArray[np.bool_],
    thickness: float,
) -> list[MetalRegion]:
    """The metal regions (metal: bool over local cells, owned and ghost), from left to right
    (MetalRegion.order). Collective; the same list on every rank."""
    comm = msh.comm
    tdim = msh.topology.dim
    n_own = msh.topology.index_map(tdim).size_local
    lab = label_components(msh, metal)
    own = np.nonzero(lab[:n_own] >= 0)[0]
    xyz, vol = _cell_geometry(msh, n_own)
    lo, hi = xyz[own].min(axis=1), xyz[own].max(axis=1)
    per_cell = np.column_stack(
        [
            lo[:, 0],
            hi[:, 0],
            lo[:, 1],
            hi[:, 1],
            lo[:, 2],
            vol[own],
            np.ones(own.size),
            touch_negative[own],
            touch_positive[own],
        ]
    )
    labels, inv = np.unique(lab[own], return_inverse=True)
    rows = _reduce(inv, labels.size, per_cell)  # this rank's part of each region
    labels, inv = np.unique(np.concatenate(comm.allgather(labels)), return_inverse=True)
    merged = _reduce(inv, labels.size, np.vstack(comm.allgather(rows)))
    regions = [
        MetalRegion(
            x_range_m=[float(r[0]), float(r[1])],
            y_range_m=[float(r[2]), float(r[3])],
            depth_m=float(thickness - r[4]),
            volume_m3=float(r[5]),
            cells=int(round(r[6])),
            touches_negative=bool(r[7] > 0),
            touches_positive=bool(r[8] > 0),
        )
        for r in merged
    ]
    regions.sort(key=MetalRegion.order)
    return regions


def _metal_mask(problem) -> npt.NDArray[np.bool_]:
    """Local cells (owned and ghost) that are metal film cells (m >= METAL_THRESHOLD)."""
    from mpi4py import MPI  # noqa: F401  (first: loads libmpi before dolfinx)
    from dolfinx import fem

    msh = problem.msh
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    n_loc = imap.size_local + imap.num_ghosts
    # the owners' phase on the ghost copies too (a copy, problem.m is not touched)
    m = fem.Function(problem.Q0)
    m.x.array[:] = problem.m.x.array
    m.x.scatter_forward()
    cells = np.arange(n_loc)
    return (m.x.array[problem.Q0.dofmap.list[cells, 0]] >= METAL_THRESHOLD) & problem.film_mask[:n_loc]


def terminal_reaches(problem) -> dict[str, float]:
    """How far the metal attached to each terminal's contact reaches (m, collective): the
    largest distance from the contact (its nearest vertex) to a vertex of a metal cell in a
    region touching it; 0 when no metal touches it. On a film mesh the distances are those of
    the regions' cells, not the x ranges of `reaches`."""
    from mpi4py import MPI

    msh = problem.msh
    comm = msh.comm
    tdim = msh.topology.dim
    n_own = msh.topology.index_map(tdim).size_local
    metal = _metal_mask(problem)
    labels = label_components(msh, metal)
    xyz, _ = _cell_geometry(msh, n_own)
    msh.topology.create_connectivity(tdim - 1, 0)
    f2v = msh.topology.connectivity(tdim - 1, 0)
    out: dict[str, float] = {}
    ft = problem.fm.facet_tags
    for t in problem.terminal_specs:
        touch = electrode_contact(msh, ft, t.tag) & (labels >= 0)
        mine = np.unique(labels[touch])
        regions = np.unique(np.concatenate(comm.allgather(mine)))
        cells = np.flatnonzero(np.isin(labels[:n_own], regions))
        facets = ft.find(t.tag)
        pts = msh.geometry.x[np.unique(_links(f2v, facets))] if facets.size else np.zeros((0, 3))
        contact = np.concatenate(comm.allgather(pts))  # vertex coordinates = geometry nodes (P1 mesh)
        far = 0.0
        verts = xyz[cells].reshape(-1, 3)
        for k in range(0, verts.shape[0], 4096):  # nearest contact vertex, in blocks
            d = np.linalg.norm(verts[k : k + 4096, None, :] - contact[None, :, :], axis=2).min(axis=1)
            far = max(far, float(d.max(initial=0.0)))
        out[t.name] = comm.allreduce(far, op=MPI.MAX)
    return out


def metal_regions(problem) -> list[MetalRegion]:
    """The metal regions of a solved state (film cells with m >= 0.5; collective)."""
    from .mesh import ELECTRODE_NEG, ELECTRODE_POS

    msh = problem.msh
    metal = _metal_mask(problem)
    ft = problem.fm.facet_tags
    neg, pos = ELECTRODE_NEG, ELECTRODE_POS
    if problem.fm.device:  # the reference (first fixed) contact and the driven one
        from .terminals import reference_and_driven

        neg, pos = (t.tag for t in reference_and_driven(problem.terminal_specs))
    return find_regions(
        msh,
        metal,
        electrode_contact(msh, ft, neg),
        electrode_contact(msh, ft, pos),
        problem.cfg.geometry.thickness,
    )


def reaches(regions: list[MetalRegion], length: float) -> tuple[float, float]:
    """(reach from the negative electrode, from x = 0; reach from the positive one, from x = L)
    of the regions touching each electrode; 0 when none touches it."""
    neg = [g.x_range_m[1] for g in regions if g.touches_negative]
    pos = [g.x_range_m[0] for g in regions if g.touches_positive]
    return (max(neg) if neg else 0.0, length - min(pos) if pos else 0.0)


def region_summary(regions: list[MetalRegion], length: float) -> dict[str, Any]:
    """The summary.json keys of the metal regions (README: summary keys)."""
    neg, pos = reaches(regions, length)
    listed = sorted(regions, key=lambda g: (-g.volume_m3, g.order()))[:MAX_LISTED_REGIONS]
    listed.sort(key=MetalRegion.order)
    return {
        "metal_regions": len(regions),
        "metal_regions_detached": sum(1 for g in regions if not (g.touches_negative or g.touches_positive)),
        "metal_reach_negative_m": float(neg),
        "metal_reach_positive_m": float(pos),
        "metal_channel": any(g.touches_negative and g.touches_positive for g in regions),
        "metal_region_list": [g.as_dict() for g in listed],
    }


def spans_midline(region: dict[str, Any], length: float) -> bool:
    """A region (a metal_region_list entry) reaches across x = L/2."""
    x0, x1 = region["x_range_m"]
    return bool(x0 < length / 2 < x1)
