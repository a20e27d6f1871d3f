"""Film (and optional substrate) meshes with tagged electrodes, mirror-symmetric in x.

Geometry (model.md section 1, z up): the film is [0, L] x [0, W] x [0, h]; an
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
TOP = 21 (free film top z = h without the electrodes), OTHER = 22 (every other
outer face). Interior facets (the film/substrate interface) are untagged.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mpi4py import MPI

import numpy as np
import numpy.typing as npt

from .config import Config, ResolvedConfig
from .errors import InputError

if TYPE_CHECKING:
    import dolfinx.mesh

FILM, SUBSTRATE = 1, 2
ELECTRODE_NEG, ELECTRODE_POS = 11, 12
SINK, TOP, OTHER = 20, 21, 22
GROUP_NAMES: dict[int, str] = {
    FILM: "film",
    SUBSTRATE: "substrate",
    ELECTRODE_NEG: "electrode_neg",
    ELECTRODE_POS: "electrode_pos",
    SINK: "sink",
    TOP: "top",
    OTHER: "other",
}
CELL_GROUPS = (FILM, SUBSTRATE)
FACET_GROUPS = (ELECTRODE_NEG, ELECTRODE_POS, SINK, TOP, OTHER)

_T = TypeVar("_T")

# gmsh element type numbers (MSH format): linear triangle and linear tetrahedron
_GMSH_TRI, _GMSH_TET = 2, 4
# Coefficients of the cell-count model a * int dV/s^3 + b * int dA/s^2, fitted (+-15%)
# to gmsh counts of film meshes with 500 to 160k cells; used only by estimate_cells.
_TETS_PER_SIZE3, _TETS_PER_SIZE2 = 3.5, 3.4


@dataclass
class FilmMesh:
    """A distributed DOLFINx mesh with its cell and facet tags."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags  # FILM / SUBSTRATE
    facet_tags: dolfinx.mesh.MeshTags  # ELECTRODE_NEG, ELECTRODE_POS, SINK, TOP, OTHER
    source: str  # "generated" or the path of the .msh file read


@dataclass
class _MeshArrays:
    """A serial mesh as plain arrays (0-based node indices), held on one rank."""

    x: npt.NDArray[np.float64]  # (n_nodes, 3) coordinates, m
    tets: npt.NDArray[np.int64]  # (n_tets, 4)
    tet_tags: npt.NDArray[np.int32]
    tris: npt.NDArray[np.int64]  # (n_tris, 3) tagged boundary facets
    tri_tags: npt.NDArray[np.int32]


# ---------------------------------------------------------------------------------------
# Size estimate


def _growth_distance(size: float, electrode_size: float, electrode_width: float) -> float:
    """Distance (m) over which the cell size grows from electrode_size to size."""
    return max(3.0 * electrode_width + size, 2.5 * (size - electrode_size))


def _ends_divisions(cfg: ResolvedConfig) -> tuple[int, int, int, int]:
    """Structured divisions (nx of the half x <= L/2, ny, nz in the film, nz in the substrate)."""
    g, m = cfg.geometry, cfg.mesh
    nx = max(1, math.ceil(0.5 * g.length / m.size - 1e-9))
    ny = max(1, math.ceil(g.width / m.size - 1e-9))
    nz = max(1, math.ceil(g.thickness / m.electrode_size - 1e-9))
    nzs = max(1, math.ceil(g.substrate_thickness / m.size - 1e-9)) if g.substrate_thickness > 0 else 0
    return nx, ny, nz, nzs


def _patch_distance(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], z: npt.NDArray[np.float64], cfg: ResolvedConfig
) -> npt.NDArray[np.float64]:
    """Euclidean distance (m) from points to the nearer electrode patch (point electrodes)."""
    g = cfg.geometry
    L, W, h = g.length, g.width, g.thickness
    e_len, e_w = g.electrode_length, g.electrode_width
    xm = np.minimum(x, L - x)  # mirror: distance to either patch = distance to the negative one
    dx = np.maximum(xm - e_len, 0.0)
    dy = np.maximum(np.abs(y - 0.5 * W) - 0.5 * e_w, 0.0)
    dz = np.abs(z - h)
    return np.sqrt(dx * dx + dy * dy + dz * dz)


def _graded_points(
    a: float, b: float, size_at: Callable[[float], float], max_points: int = 160
) -> npt.NDArray[np.float64]:
    """1D points from a to b spaced at half the local cell size (at most about max_points)."""
    floor = (b - a) / max_points  # keeps the estimate cheap for very fine meshes
    pts = [a]
    t = a
    while t < b:
        t = min(b, t + max(0.5 * size_at(t), floor))
        pts.append(t)
    return np.asarray(pts)


def _size_integrals(cfg: ResolvedConfig) -> tuple[float, float]:
    """(int dV / s^3, int dA / s^2) over the domain and its meshed surfaces (point electrodes)."""
    g, m = cfg.geometry, cfg.mesh
    s0, s1 = m.electrode_size, m.size
    thick = _growth_distance(s1, s0, g.electrode_width)
    L, W, h, hs = g.length, g.width, g.thickness, g.substrate_thickness

    def size(d: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return s0 + (s1 - s0) * np.minimum(d / thick, 1.0)

    def size_at(x: float, y: float, z: float) -> float:
        return float(size(_patch_distance(np.array([x]), np.array([y]), np.array([z]), cfg))[0])

    xs = _graded_points(0.0, L, lambda t: size_at(t, 0.5 * W, h))
    ys = _graded_points(0.0, W, lambda t: size_at(0.0, t, h))
    zs = _graded_points(-hs, h, lambda t: size_at(0.0, 0.5 * W, t))
    mid = [0.5 * (p[1:] + p[:-1]) for p in (xs, ys, zs)]
    dl = [np.diff(p) for p in (xs, ys, zs)]

    def face(axis: int, value: float) -> float:
        """int dA / s^2 over the plane x_axis = value (clipped to the box)."""
        a, b = [k for k in range(3) if k != axis]
        A, B = np.meshgrid(mid[a], mid[b], indexing="ij")
        pts: list[npt.NDArray[np.float64]] = [A, A, A]
        pts[a], pts[b], pts[axis] = A, B, np.full_like(A, value)
        sz = size(_patch_distance(pts[0], pts[1], pts[2], cfg))
        return float(np.sum(np.outer(dl[a], dl[b]) / sz**2))

    vol = 0.0
    for i in range(len(mid[0])):  # one x-slab at a time keeps memory small
        Y, Z = np.meshgrid(mid[1], mid[2], indexing="ij")
        sz = size(_patch_distance(np.full_like(Y, mid[0][i]), Y, Z, cfg))
        vol += float(np.sum(dl[0][i] * np.outer(dl[1], dl[2]) / sz**3))
    area = face(0, 0.0) + face(0, L) + face(1, 0.0) + face(1, W) + face(2, h) + face(2, -hs)
    if hs > 0:
        area += face(2, 0.0)
    return vol, area


def estimate_cells(cfg: Config) -> int:
    """Cheap estimate of the number of tetrahedra `create_mesh` would make for `cfg`.

    Structured ("ends") meshes are counted exactly. For point electrodes the count
    is fitted as a * int dV / s^3 + b * int dA / s^2 with s the mesher's size
    field, integrated on a tensor grid graded to s (a, b measured with gmsh).
    """
    cfg = cfg.resolved()
    if cfg.geometry.electrodes == "ends":
        nx, ny, nz, nzs = _ends_divisions(cfg)
        return 2 * 6 * nx * ny * (nz + nzs)
    vol, area = _size_integrals(cfg)
    return int(round(_TETS_PER_SIZE3 * vol + _TETS_PER_SIZE2 * area))


def _check_budget(cfg: ResolvedConfig) -> None:
    est = estimate_cells(cfg)
    if est > cfg.mesh.max_cells:
        raise InputError(
            "mesh.max_cells",
            f"estimated {est} cells exceed mesh.max_cells = {cfg.mesh.max_cells}; "
            "coarsen mesh.size / mesh.electrode_size or raise mesh.max_cells",
        )


# ---------------------------------------------------------------------------------------
# gmsh helpers (rank 0 only)


@contextlib.contextmanager
def _gmsh_session(name: str) -> Iterator[Any]:
    """Yield the gmsh module with a fresh current model; initialise/finalise gmsh if needed.

    If the caller already runs a gmsh session, only the model added here is removed
    afterwards (the options set here stay in that session).
    """
    import signal

    import gmsh

    own = not gmsh.isInitialized()
    # gmsh.initialize replaces the C-level SIGTERM handler (silent exit): put Python's back after
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    if own:
        gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.model.add(name)
    try:
        yield gmsh
    finally:
        if own:
            gmsh.finalize()
        else:
            with contextlib.suppress(Exception):
                gmsh.model.remove()
        for sig, handler in saved.items():
            if handler is not None:
                with contextlib.suppress(ValueError):  # ValueError: not the main thread
                    signal.signal(sig, handler)


def _vertex_bbox(gmsh: Any, dim: int, tag: int) -> npt.NDArray[np.float64]:
    """Exact bounding box (x0, y0, z0, x1, y1, z1) of a flat entity from its corner points.

    (OCC bounding boxes are padded by its tolerance, too coarse for the tests here.)
    """
    pts = gmsh.model.getBoundary([(dim, tag)], combined=False, oriented=False, recursive=True)
    xyz = np.array([gmsh.model.getValue(0, p, []) for _, p in pts])
    return np.concatenate([xyz.min(axis=0), xyz.max(axis=0)])


def _mesh_half(gmsh: Any, cfg: ResolvedConfig) -> None:
    """Build and mesh the half x <= L/2 in the current gmsh model, with physical groups.

    gmsh works in units of L (coordinates are scaled back by the caller). The
    plane x = L/2 gets no group (it becomes interior after mirroring).
    """
    g, m = cfg.geometry, cfg.mesh
    u = g.length  # unit of length inside gmsh
    W, h, hs = g.width / u, g.thickness / u, g.substrate_thickness / u
    e_len, e_w = g.electrode_length / u, g.electrode_width / u
    size, e_size = m.size / u, m.electrode_size / u
    half = 0.5
    occ = gmsh.model.occ
    tools = []
    film = occ.addBox(0.0, 0.0, 0.0, half, W, h)
    if hs > 0:
        tools.append((3, occ.addBox(0.0, 0.0, -hs, half, W, hs)))
    if g.electrodes == "point":
        tools.append((2, occ.addRectangle(0.0, 0.5 * W - 0.5 * e_w, h, e_len, e_w)))
    if tools:
        occ.fragment([(3, film)], tools)
    occ.synchronize()

    tol = 1e-9
    vols = [t for _, t in gmsh.model.getEntities(3)]
    film_vols = [v for v in vols if occ.getCenterOfMass(3, v)[2] > 0]
    sub_vols = [v for v in vols if v not in film_vols]
    groups: dict[int, list[int]] = {k: [] for k in FACET_GROUPS}
    for _, s in gmsh.model.getEntities(2):
        up, _ = gmsh.model.getAdjacencies(2, s)
        if len(up) != 1:
            continue  # interior (film/substrate interface)
        x0, y0, z0, x1, y1, z1 = _vertex_bbox(gmsh, 2, s)
        if abs(x0 - half) < tol and abs(x1 - half) < tol:
            continue  # mirror plane
        if abs(z1 - z0) < tol and abs(z0 - h) < tol:
            is_patch = (
                g.electrodes == "point"
                and x1 <= e_len + tol
                and y0 >= 0.5 * W - 0.5 * e_w - tol
                and y1 <= 0.5 * W + 0.5 * e_w + tol
            )
            groups[ELECTRODE_NEG if is_patch else TOP].append(s)
        elif abs(z1 - z0) < tol and abs(z0 + hs) < tol:
            groups[SINK].append(s)
        elif g.electrodes == "ends" and abs(x1) < tol and z0 > -tol:
            groups[ELECTRODE_NEG].append(s)
        else:
            groups[OTHER].append(s)
    gmsh.model.addPhysicalGroup(3, film_vols, FILM, name=GROUP_NAMES[FILM])
    if sub_vols:
        gmsh.model.addPhysicalGroup(3, sub_vols, SUBSTRATE, name=GROUP_NAMES[SUBSTRATE])
    for tag, surfs in groups.items():
        if surfs:
            gmsh.model.addPhysicalGroup(2, surfs, tag, name=GROUP_NAMES[tag])

    for opt in ("Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature"):
        gmsh.option.setNumber(opt, 0)
    if g.electrodes == "ends":
        nx, ny, nz, nzs = _ends_divisions(cfg)
        for _, c in gmsh.model.getEntities(1):
            x0, y0, z0, x1, y1, z1 = _vertex_bbox(gmsh, 1, c)
            if x1 - x0 > tol:
                n = nx
            elif y1 - y0 > tol:
                n = ny
            else:
                n = nz if z0 > -tol else nzs
            gmsh.model.mesh.setTransfiniteCurve(c, n + 1)
        for _, s in gmsh.model.getEntities(2):
            gmsh.model.mesh.setTransfiniteSurface(s)
        for v in vols:
            gmsh.model.mesh.setTransfiniteVolume(v)
    else:
        thick = _growth_distance(size, e_size, e_w)
        fld = gmsh.model.mesh.field
        box = fld.add("Box")  # exact distance to the patch, linear growth over `Thickness`
        for key, val in dict(
            VIn=e_size,
            VOut=size,
            XMin=0.0,
            XMax=e_len,
            YMin=0.5 * W - 0.5 * e_w,
            YMax=0.5 * W + 0.5 * e_w,
            ZMin=h,
            ZMax=h,
            Thickness=thick,
        ).items():
            fld.setNumber(box, key, val)
        fld.setAsBackgroundMesh(box)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.model.mesh.generate(3)


def _arrays_from_model(gmsh: Any) -> tuple[_MeshArrays, dict[str, tuple[int, int]], list[str]]:
    """Tagged tets and triangles of the current gmsh model, by physical-group name.

    Returns the arrays (tags are the canonical ones of GROUP_NAMES, looked up by
    name), the groups found as name -> (dim, file tag), and problems found.
    """
    problems: list[str] = []
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    node_tags = np.asarray(node_tags, dtype=np.int64)
    x = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    lookup = np.full(int(node_tags.max()) + 1 if node_tags.size else 1, -1, dtype=np.int64)
    lookup[node_tags] = np.arange(node_tags.size)
    by_name = {v: k for k, v in GROUP_NAMES.items()}
    found: dict[str, tuple[int, int]] = {}
    parts: dict[int, tuple[list, list]] = {2: ([], []), 3: ([], [])}
    for dim, ptag in gmsh.model.getPhysicalGroups():
        name = gmsh.model.getPhysicalName(dim, ptag)
        if name not in by_name or dim not in (2, 3):
            continue
        canon = by_name[name]
        if (dim == 3) != (canon in CELL_GROUPS):
            problems.append(f"physical group '{name}' has dimension {dim}")
            continue
        found[name] = (dim, ptag)
        want = _GMSH_TET if dim == 3 else _GMSH_TRI
        for ent in gmsh.model.getEntitiesForPhysicalGroup(dim, ptag):
            types, _, conn = gmsh.model.mesh.getElements(dim, ent)
            for et, c in zip(types, conn):
                if et != want:
                    problems.append(
                        f"group '{name}' holds gmsh element type {et}; only linear tetrahedra/triangles are supported"
                    )
                    continue
                k = 4 if dim == 3 else 3
                idx = lookup[np.asarray(c, dtype=np.int64)].reshape(-1, k)
                parts[dim][0].append(idx)
                parts[dim][1].append(np.full(idx.shape[0], canon, dtype=np.int32))
    n_all = sum(len(t) for et, t in zip(*gmsh.model.mesh.getElements(3)[:2]) if et == _GMSH_TET)

    def cat(dim: int, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        conn, tags = parts[dim]
        if not conn:
            return np.zeros((0, k), dtype=np.int64), np.zeros(0, dtype=np.int32)
        return np.concatenate(conn), np.concatenate(tags)

    tets, tet_tags = cat(3, 4)
    tris, tri_tags = cat(2, 3)
    if tets.shape[0] != n_all:
        problems.append(f"{tets.shape[0]} of {n_all} tetrahedra are in the film/substrate groups")
    if tets.size and (tets < 0).any() or tris.size and (tris < 0).any():
        problems.append("elements refer to missing nodes")
    return _MeshArrays(x, tets, tet_tags, tris, tri_tags), found, problems


def _mirror(a: _MeshArrays, length: float) -> _MeshArrays:
    """Reflect a half mesh (x <= L/2) through x = L/2 and join the two halves."""
    half = 0.5 * length
    on_plane = np.abs(a.x[:, 0] - half) <= 1e-9 * length
    x = a.x.copy()
    x[on_plane, 0] = half
    n = x.shape[0]
    off = np.flatnonzero(~on_plane)
    image = np.arange(n, dtype=np.int64)
    image[off] = n + np.arange(off.size)
    xr = x[off].copy()
    xr[:, 0] = length - xr[:, 0]
    tets_r = image[a.tets][:, [1, 0, 2, 3]]  # swap two nodes: keep positive orientation
    tris_r = image[a.tris][:, [1, 0, 2]]
    tri_tags_r = np.where(a.tri_tags == ELECTRODE_NEG, ELECTRODE_POS, a.tri_tags).astype(np.int32)
    return _MeshArrays(
        np.vstack([x, xr]),
        np.vstack([a.tets, tets_r]),
        np.concatenate([a.tet_tags, a.tet_tags]),
        np.vstack([a.tris, tris_r]),
        np.concatenate([a.tri_tags, tri_tags_r]),
    )


def _generate_arrays(cfg: ResolvedConfig) -> _MeshArrays:
    """Mesh the half domain with gmsh and mirror it (call on one rank)."""
    with _gmsh_session("fem_peltier_half") as gmsh:
        _mesh_half(gmsh, cfg)
        half, _, problems = _arrays_from_model(gmsh)
    half.x *= cfg.geometry.length  # gmsh worked in units of L
    if problems:
        raise RuntimeError("internal meshing error: " + "; ".join(problems))
    return _mirror(half, cfg.geometry.length)


# ---------------------------------------------------------------------------------------
# Arrays -> DOLFINx


def _to_dolfinx(arrays: _MeshArrays | None, comm: MPI.Comm, source: str) -> FilmMesh:
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


# ---------------------------------------------------------------------------------------
# Public API


def create_mesh(cfg: Config, comm: MPI.Comm = MPI.COMM_WORLD) -> FilmMesh:
    """The mesh for `cfg`: read from ``mesh.file`` if set, else generated (mirror-symmetric)."""
    cfg = cfg.resolved()
    if cfg.mesh.file is not None:
        return load_msh(cfg.mesh.file, cfg, comm)
    _check_budget(cfg)
    arrays = _bcast_result(comm, lambda: _generate_arrays(cfg))
    return _to_dolfinx(arrays, comm, "generated")


def write_msh(cfg: Config, path: str | Path, comm: MPI.Comm = MPI.COMM_WORLD) -> Path:
    """Generate the mesh for `cfg` and save it as a gmsh .msh file (MSH 4.1, ASCII).

    Collective over `comm`: rank 0 meshes and writes, errors are raised on every rank.
    """
    cfg = cfg.resolved()
    _check_budget(cfg)
    out = Path(path)

    def work() -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = _generate_arrays(cfg)
        with _gmsh_session("fem_peltier") as gmsh:
            _arrays_to_model(gmsh, arrays)
            gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
            gmsh.option.setNumber("Mesh.Binary", 0)
            gmsh.write(str(out))
        return out

    _bcast_result(comm, work)
    return out


def _arrays_to_model(gmsh: Any, a: _MeshArrays) -> None:
    """Put a mesh into the current gmsh model as discrete entities with physical groups."""
    node_tags = np.arange(1, a.x.shape[0] + 1)
    first = True
    elem = 1
    for tag in CELL_GROUPS:
        sel = a.tet_tags == tag
        if not sel.any():
            continue
        gmsh.model.addDiscreteEntity(3, tag)
        if first:  # all nodes live on the first volume entity
            gmsh.model.mesh.addNodes(3, tag, node_tags, a.x.ravel())
            first = False
        n = int(sel.sum())
        gmsh.model.mesh.addElementsByType(tag, _GMSH_TET, np.arange(elem, elem + n), (a.tets[sel] + 1).ravel())
        elem += n
        gmsh.model.addPhysicalGroup(3, [tag], tag, name=GROUP_NAMES[tag])
    for tag in FACET_GROUPS:
        sel = a.tri_tags == tag
        if not sel.any():
            continue
        gmsh.model.addDiscreteEntity(2, tag)
        n = int(sel.sum())
        gmsh.model.mesh.addElementsByType(tag, _GMSH_TRI, np.arange(elem, elem + n), (a.tris[sel] + 1).ravel())
        elem += n
        gmsh.model.addPhysicalGroup(2, [tag], tag, name=GROUP_NAMES[tag])


def _bcast_result(comm: MPI.Comm, work: Callable[[], _T]) -> _T | None:
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


def load_msh(path: str | Path, cfg: Config, comm: MPI.Comm = MPI.COMM_WORLD) -> FilmMesh:
    """Read a saved .msh file and check it against ``cfg.geometry``.

    Every problem (missing, unreadable or foreign file, missing physical groups,
    a bounding box that does not match the geometry) is an InputError with key
    ``mesh.file`` and a one-line message.
    """
    cfg = cfg.resolved()
    p = Path(path)
    arrays = _bcast_result(comm, lambda: _read_checked(p, cfg))
    return _to_dolfinx(arrays, comm, str(p))


def _read_checked(p: Path, cfg: ResolvedConfig) -> _MeshArrays:
    def bad(msg: str) -> InputError:
        return InputError("mesh.file", f"{p}: {msg}")

    if not p.is_file():
        raise bad("no such mesh file")
    try:
        with p.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise bad(f"cannot read ({exc.strerror})") from None
    if not head.lstrip().startswith(b"$MeshFormat"):
        raise bad("not a gmsh .msh file (no $MeshFormat header)")
    with _gmsh_session("fem_peltier_load") as gmsh:
        try:
            gmsh.merge(str(p))
        except Exception as exc:  # noqa: BLE001 -- gmsh raises plain Exception
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise bad(f"gmsh could not read it ({msg})") from None
        try:
            arrays, found, problems = _arrays_from_model(gmsh)
        except Exception as exc:  # noqa: BLE001
            raise bad(f"unreadable or truncated mesh ({type(exc).__name__}: {exc})") from None
    g = cfg.geometry
    required = [FILM, ELECTRODE_NEG, ELECTRODE_POS, SINK, TOP, OTHER]
    if g.substrate_thickness > 0:
        required.append(SUBSTRATE)
    missing = [GROUP_NAMES[t] for t in required if GROUP_NAMES[t] not in found]
    if missing:
        raise bad(f"missing physical groups: {', '.join(missing)} (expected names {', '.join(GROUP_NAMES.values())})")
    if g.substrate_thickness == 0 and GROUP_NAMES[SUBSTRATE] in found:
        raise bad("mesh has a substrate but geometry.substrate_thickness = 0")
    if problems:
        raise bad(problems[0])
    for tag in required:
        in_cells, in_facets = np.any(arrays.tet_tags == tag), np.any(arrays.tri_tags == tag)
        if not (in_cells or in_facets):
            raise bad(f"physical group '{GROUP_NAMES[tag]}' has no elements (truncated file?)")
    _check_bbox(arrays, cfg, bad)
    return arrays


def _check_bbox(a: _MeshArrays, cfg: ResolvedConfig, bad: Callable[[str], InputError]) -> None:
    """Raise bad(...) unless the film (and substrate) extents match cfg.geometry."""
    g = cfg.geometry
    tol = 1e-6 * max(g.length, g.width, g.thickness + g.substrate_thickness)
    film = a.x[np.unique(a.tets[a.tet_tags == FILM])]
    lo, hi = film.min(axis=0), film.max(axis=0)
    checks = [
        ("geometry.length", "x extent", hi[0] - lo[0], g.length),
        ("geometry.width", "y extent", hi[1] - lo[1], g.width),
        ("geometry.thickness", "film thickness", hi[2] - lo[2], g.thickness),
    ]
    if g.substrate_thickness > 0:
        sub = a.x[np.unique(a.tets[a.tet_tags == SUBSTRATE])]
        checks.append(
            (
                "geometry.substrate_thickness",
                "substrate thickness",
                sub[:, 2].max() - sub[:, 2].min(),
                g.substrate_thickness,
            )
        )
    for key, what, got, want in checks:
        if abs(got - want) > tol:
            raise bad(f"mesh {what} {got:.6g} m does not match {key} = {want:.6g} m")
    if np.abs(lo).max() > tol:
        raise bad(f"film must start at the origin (x, y, z >= 0), mesh film corner is {tuple(float(v) for v in lo)}")
