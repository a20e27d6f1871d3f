"""Film (and optional substrate) meshes with tagged electrodes, mirror-symmetric in x.

Geometry (docs/physics.md, z up): the film is [0, L] x [0, W] x [0, h]; an
optional substrate [0, L] x [0, W] x [-h_sub, 0] shares a conforming interface
with it. Electrodes are either two rectangular top-surface patches
(``geometry.electrodes = "point"``) or the film's end faces x = 0 and x = L
(``"ends"``).

Mirror symmetry under x -> L - x is built in: gmsh meshes the half x <= L/2 on
rank 0 only, the nodes and elements are reflected through the plane x = L/2
(nodes on the plane are shared, the negative electrode's facets become the
positive electrode's), and the full mesh is distributed with shared-facet
ghosting so that interior-facet (dS) integrals work in parallel.

Tags (also the physical group numbers of a saved .msh, see GROUP_NAMES):
cells FILM = 1, SUBSTRATE = 2; facets ELECTRODE_NEG = 11 (near x = 0),
ELECTRODE_POS = 12 (near x = L), SINK = 20 (bottom of the stack, held at T0),
TOP = 21 (free film top z = h without the electrodes), SIDES = 23 (the faces y = 0
and y = W, film and substrate), X0 = 24 and XL = 25 (the end faces x = 0 and x = L
that are not electrodes). OTHER = 22 is what a .msh file written before SIDES/X0/XL
existed calls those faces. Interior facets (the film/substrate interface) are untagged.
"""

from __future__ import annotations

from mpi4py import MPI

from .config import Config, is_device
from .gmsh_film import check_budget, estimate_cells, generate_arrays
from .mesh_data import (
    CELL_GROUPS,
    ELECTRODE_NEG,
    ELECTRODE_POS,
    FACET_GROUPS,
    FILM,
    GROUP_NAMES,
    OTHER,
    SIDES,
    SINK,
    SUBSTRATE,
    SURFACE_TAGS,
    TOP,
    X0,
    XL,
    FilmMesh,
    bcast_result,
    to_dolfinx,
)
from .msh_file import load_msh, write_msh

__all__ = [
    "CELL_GROUPS",
    "ELECTRODE_NEG",
    "ELECTRODE_POS",
    "FACET_GROUPS",
    "FILM",
    "GROUP_NAMES",
    "OTHER",
    "SIDES",
    "SINK",
    "SUBSTRATE",
    "SURFACE_TAGS",
    "TOP",
    "X0",
    "XL",
    "FilmMesh",
    "check_budget",
    "create_mesh",
    "estimate_cells",
    "load_msh",
    "write_msh",
]


def create_mesh(cfg: Config, comm: MPI.Comm = MPI.COMM_WORLD) -> FilmMesh:
    """The mesh for `cfg`: a user device mesh (mesh.geo, or mesh.file with [[drive.terminal]]),
    read from ``mesh.file`` if set, else generated (mirror-symmetric)."""
    cfg = cfg.resolved()
    if is_device(cfg):
        from .device_mesh import load_device

        return load_device(cfg, comm)
    if cfg.mesh.file is not None:
        return load_msh(cfg.mesh.file, cfg, comm)
    check_budget(cfg)
    arrays = bcast_result(comm, lambda: generate_arrays(cfg))
    return to_dolfinx(arrays, comm, "generated")
