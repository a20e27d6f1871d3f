"""Fields as VTK XML files (.vtu, .pvd) that `pyvista.read` and ParaView open without DOLFINx.

One `.vtu` holds the whole mesh as one unstructured grid: fields on the P1 space (the
temperature, a P1 potential) are point data, piecewise-constant fields (the phase, the
current density, the heat sources, the cell tags) are cell data, under the names the XDMF
files use (units in the names).

Under MPI every rank sends its owned cells and owned geometry nodes to rank 0, which writes
one file. That is one read for any viewer, with no piece files, and the same cell count as a
serial run. (DOLFINx's VTKFile writes one piece per rank including the ghost cells, so a
reader that merges the pieces counts the cells of partition boundaries twice.) The gather
holds the whole mesh on rank 0: fine for the meshes this package makes (up to a few million
cells).

The files are written with meshio (binary, zlib-compressed) to a temporary sibling and
renamed into place (files.replacing); a .pvd collection is written last, so it only lists
complete files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_write_text, replacing

FIELDS_VTU = "fields.vtu"

#: meshio's name of each DOLFINx cell type (first-order geometry)
_MESHIO_CELL = {
    "interval": "line",
    "triangle": "triangle",
    "quadrilateral": "quad",
    "tetrahedron": "tetra",
    "hexahedron": "hexahedron",
}


@dataclass
class Grid:
    """A whole mesh on rank 0 with its point and cell arrays (meshio's layout, VTK node order)."""

    points: np.ndarray  # (n_points, 3)
    cell_type: str  # meshio name
    cells: np.ndarray  # (n_cells, nodes per cell)
    point_data: dict[str, np.ndarray]
    cell_data: dict[str, np.ndarray]


def _is_cell_field(f: Any) -> bool:
    """True for a piecewise-constant (DG0) Function, False for a continuous P1 one."""
    e = f.function_space.ufl_element()
    if e.embedded_superdegree == 0:
        return True
    if e.embedded_superdegree == 1 and not e.discontinuous and e.family_name in ("P", "Q"):
        return False
    raise ValueError(f"{f.name}: only P1 (point data) and DG0 (cell data) fields are written to VTK")


def _point_values(f: Any, msh: Any) -> np.ndarray:
    """A P1 Function's values at the local geometry nodes (n_nodes, bs): on a first-order mesh
    the P1 dofs and the geometry nodes of a cell share their local numbering."""
    V = f.function_space
    bs = V.dofmap.index_map_bs
    x_dofmap = msh.geometry.dofmaps[0]
    if x_dofmap.shape[1] != V.dofmap.list.shape[1]:
        raise ValueError(f"{f.name}: point data needs a first-order mesh")
    values = np.empty((msh.geometry.x.shape[0], bs), dtype=np.float64)
    values[x_dofmap] = f.x.array.reshape(-1, bs)[V.dofmap.list]
    return values


def _cell_values(f: Any, n_cells: int) -> np.ndarray:
    """A DG0 Function's values on the owned cells (n_cells, bs)."""
    V = f.function_space
    bs = V.dofmap.index_map_bs
    return f.x.array.reshape(-1, bs)[V.dofmap.list[:n_cells, 0]].astype(np.float64)


def _squeeze(a: np.ndarray) -> np.ndarray:
    return a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a


def gather_grid(msh: Any, functions: Iterable[Any], cell_arrays: Mapping[str, np.ndarray] | None = None) -> Grid | None:
    """The mesh with every Function (by its name) and every array on the local cells
    (owned + ghosts, by key), gathered on rank 0 (collective; None on the other ranks)."""
    from dolfinx.cpp.io import perm_vtk

    comm = msh.comm
    tdim = msh.topology.dim
    n_cells = msh.topology.index_map(tdim).size_local
    geo = msh.geometry
    if geo.cmaps[0].degree != 1:
        raise ValueError("VTK output needs a first-order mesh (straight cells)")
    imap = geo.index_map()
    n_nodes = imap.size_local
    x_dofmap = geo.dofmaps[0][:n_cells]
    vtk_order = np.argsort(perm_vtk(msh.topology.cell_type, x_dofmap.shape[1]))
    cells = imap.local_to_global(x_dofmap.ravel().astype(np.int32)).reshape(x_dofmap.shape)[:, vtk_order]
    point_data: dict[str, np.ndarray] = {}
    cell_data: dict[str, np.ndarray] = {}
    for f in functions:
        if _is_cell_field(f):
            cell_data[f.name] = _cell_values(f, n_cells)
        else:
            point_data[f.name] = _point_values(f, msh)[:n_nodes]
    for name, arr in (cell_arrays or {}).items():
        cell_data[name] = np.asarray(arr)[:n_cells]
    part = (imap.local_range[0], geo.x[:n_nodes], cells, point_data, cell_data)
    parts = comm.gather(part, root=0)
    if comm.rank != 0:
        return None
    assert parts is not None
    n_points = imap.size_global
    points = np.empty((n_points, 3), dtype=np.float64)
    pdata = {k: np.empty((n_points, *v.shape[1:]), dtype=v.dtype) for k, v in point_data.items()}
    for first, x, _, pd, _ in parts:
        points[first : first + len(x)] = x
        for k, v in pd.items():
            pdata[k][first : first + len(v)] = v
    name = msh.topology.cell_name()
    if name not in _MESHIO_CELL:
        raise ValueError(f"no VTK output for {name} cells")
    return Grid(
        points=points,
        cell_type=_MESHIO_CELL[name],
        cells=np.concatenate([p[2] for p in parts]).astype(np.int64),
        point_data={k: _squeeze(v) for k, v in pdata.items()},
        cell_data={k: _squeeze(np.concatenate([p[4][k] for p in parts])) for k in cell_data},
    )


def write_vtu(path: Path, grid: Grid) -> Path:
    """`grid` as a VTK XML unstructured grid (binary, zlib), written atomically (one process)."""
    import meshio

    mesh = meshio.Mesh(
        grid.points,
        [(grid.cell_type, grid.cells)],
        point_data=grid.point_data,
        cell_data={k: [v] for k, v in grid.cell_data.items()},
    )
    path = Path(path)
    with replacing(path, suffix=".vtu") as tmp:
        meshio.write(tmp, mesh, file_format="vtu", binary=True, compression="zlib")
    return path


def cell_tag_array(msh: Any, tags: Any) -> np.ndarray:
    """The cell tag of every local cell (owned + ghosts; 0 for an untagged cell)."""
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    out = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
    out[tags.indices] = tags.values
    return out


def write_fields_vtu(
    path: Path, msh: Any, functions: Iterable[Any], cell_arrays: Mapping[str, np.ndarray] | None = None
) -> Path:
    """Gather the mesh and fields (see `gather_grid`) and write them to one .vtu on rank 0 (collective)."""
    grid = gather_grid(msh, functions, cell_arrays)
    if grid is not None:
        write_vtu(path, grid)
    msh.comm.barrier()  # the file exists on every rank's return
    return Path(path)


def write_collection(path: Path, entries: Sequence[tuple[float, str]]) -> Path:
    """A ParaView .pvd collection: each (time, file relative to `path`'s folder), atomically."""
    lines = [
        '<?xml version="1.0"?>',
        '<VTKFile type="Collection" version="1.0">',
        "  <Collection>",
        *(f'    <DataSet timestep="{float(t)!r}" part="0" file="{name}" />' for t, name in entries),
        "  </Collection>",
        "</VTKFile>",
        "",
    ]
    atomic_write_text(Path(path), "\n".join(lines))
    return Path(path)
