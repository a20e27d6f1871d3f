"""Film meshes as data: the tags, the FilmMesh of a run, a serial mesh as arrays, and its
distribution from rank 0 to every rank with shared-facet ghosting (interior-facet integrals
work in parallel). Tags are also the physical group numbers of a saved .msh (GROUP_NAMES).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from mpi4py import MPI

import numpy as np
import numpy.typing as npt

from .errors import InputError

if TYPE_CHECKING:
    import dolfinx.mesh

FILM, SUBSTRATE = 1, 2
ELECTRODE_NEG, ELECTRODE_POS = 11, 12
SINK, TOP, OTHER = 20, 21, 22
SIDES, X0, XL = 23, 24, 25  # the faces y = 0 and y = W; the end faces x = 0 and x = L
GROUP_NAMES: dict[int, str] = {
    FILM: "film",
    SUBSTRATE: "substrate",
    ELECTRODE_NEG: "electrode_neg",
    ELECTRODE_POS: "electrode_pos",
    SINK: "sink",
    TOP: "top",
    OTHER: "other",
    SIDES: "sides",
    X0: "x0",
    XL: "xL",
}
CELL_GROUPS = (FILM, SUBSTRATE)
FACET_GROUPS = (ELECTRODE_NEG, ELECTRODE_POS, SINK, TOP, OTHER, SIDES, X0, XL)
# Thermal surface names of [[thermal.boundary]] -> facet tag. The outer surface is split
# into disjoint parts: with electrodes = "ends" the film's end faces are the electrode
# patches, and x0 / xL are then the substrate's end faces only. A .msh file written
# before the sides/x0/xL groups existed tags these faces "other" (OTHER).
SURFACE_TAGS: dict[str, int] = {
    "bottom": SINK,
    "top": TOP,
    "sides": SIDES,
    "x0": X0,
    "xL": XL,
    "electrode_negative": ELECTRODE_NEG,
    "electrode_positive": ELECTRODE_POS,
}

#: the terminals of a film mesh: the negative patch (0 V) and the positive one (the drive)
LEGACY_ELECTRODES: dict[str, int] = {"negative": ELECTRODE_NEG, "positive": ELECTRODE_POS}

_T = TypeVar("_T")


@dataclass
class FilmMesh:
    """A distributed DOLFINx mesh with its cell and facet tags."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags  # FILM / SUBSTRATE
    facet_tags: dolfinx.mesh.MeshTags  # ELECTRODE_NEG, ELECTRODE_POS, SINK, TOP, SIDES, X0, XL (OTHER)
    source: str  # "generated" or the path of the .msh file read
    # electrode contacts by terminal name -> facet tag; the two patches of a film mesh by default
    electrodes: dict[str, int] = field(default_factory=lambda: dict(LEGACY_ELECTRODES))
    # surfaces a [[thermal.boundary]] can name -> facet tag
    surfaces: dict[str, int] = field(default_factory=lambda: dict(SURFACE_TAGS))
    device: bool = False  # a user device mesh (its groups named by the user, no box geometry)


@dataclass
class MeshArrays:
    """A serial mesh as plain arrays (0-based node indices), held on one rank."""

    x: npt.NDArray[np.float64]  # (n_nodes, 3) coordinates, m
    tets: npt.NDArray[np.int64]  # (n_tets, 4)
    tet_tags: npt.NDArray[np.int32]
    tris: npt.NDArray[np.int64]  # (n_tris, 3) tagged boundary facets
    tri_tags: npt.NDArray[np.int32]


# ---------------------------------------------------------------------------------------
# Arrays -> DOLFINx


def to_dolfinx(arrays: MeshArrays | None, comm: MPI.Comm, source: str) -> FilmMesh:
    """Distribute a mesh held on rank 0 (None elsewhere) with shared-facet ghosting."""
    import basix.ufl
    import dolfinx
    import ufl
    from dolfinx.graph import adjacencylist
    from dolfinx.io.utils import distribute_entity_data

    if comm.rank == 0:
        assert arrays is not None
        x, tets = arrays.x, arrays.tets
        tets_in, tet_tags, tris, tri_tags = arrays.tets, arrays.tet_tags, arrays.tris, arrays.tri_tags
    else:
        x = np.zeros((0, 3))
        tets = np.zeros((0, 4), dtype=np.int64)
        tets_in, tet_tags = tets, np.zeros(0, dtype=np.int32)
        tris, tri_tags = np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int32)
    domain = ufl.Mesh(basix.ufl.element("Lagrange", "tetrahedron", 1, shape=(3,)))
    partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)
    msh = dolfinx.mesh.create_mesh(comm, tets, domain, x, partitioner)
    tags = []
    for dim, ents, vals in ((3, tets_in, tet_tags), (2, tris, tri_tags)):
        msh.topology.create_connectivity(dim, 3)
        local, lvals = distribute_entity_data(msh, dim, ents, vals)
        mt = dolfinx.mesh.meshtags_from_entities(msh, dim, adjacencylist(local), lvals.astype(np.int32))
        mt.name = "cell_tags" if dim == 3 else "facet_tags"
        tags.append(mt)
    msh.topology.create_connectivity(2, 3)
    msh.name = "film"
    return FilmMesh(msh, tags[0], tags[1], source)


def bcast_result(comm: MPI.Comm, work: Callable[[], _T]) -> _T | None:
    """Run `work` on rank 0; re-raise its InputError/exception on every rank."""
    result, err = None, None
    if comm.rank == 0:
        try:
            result = work()
        except InputError as exc:
            err = ("input", exc.key, exc.message)
        except Exception as exc:  # noqa: BLE001 -- reported on all ranks below
            err = ("other", type(exc).__name__, str(exc))
            if comm.size == 1:
                raise
    err = comm.bcast(err, root=0)
    if err is not None:
        if err[0] == "input":
            raise InputError(err[1], err[2])
        raise RuntimeError(f"{err[1]}: {err[2]}")
    return result
