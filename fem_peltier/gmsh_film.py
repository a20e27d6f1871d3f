"""Generated film meshes: the cell-size model (estimate_cells, the mesh.max_cells budget) and
gmsh meshing of the half x <= L/2 on rank 0, mirrored through x = L/2 (see mesh.py).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from .config import Config, ResolvedConfig
from .errors import InputError
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
    TOP,
    X0,
    XL,
    MeshArrays,
)

# gmsh element type numbers (MSH format): linear triangle and linear tetrahedron
_GMSH_TRI, _GMSH_TET = 2, 4
# Coefficients of the cell-count model a * int dV/s^3 + b * int dA/s^2, fitted (+-15%)
# to gmsh counts of film meshes with 500 to 160k cells; used only by estimate_cells.
_TETS_PER_SIZE3, _TETS_PER_SIZE2 = 3.5, 3.4


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


def check_budget(cfg: ResolvedConfig) -> None:
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
def gmsh_session(name: str) -> Iterator[Any]:
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


def kapitza_layer_thickness(cfg: ResolvedConfig) -> float:
    """Thickness (m) of the substrate slab under the film that carries a Kapitza resistance
    (thermal.interface_resistance) on point-electrode meshes: half the
    patch cell size, at most a quarter of the substrate; 0 when there is none. Cells larger than
    the slab is thick span it (the structured "ends" meshes give it one cell layer), so every
    cell in it has its vertices on z = 0 and z = -thickness: a uniform layer."""
    g = cfg.geometry
    if cfg.thermal.interface_resistance <= 0 or g.substrate_thickness <= 0:
        return 0.0
    return min(0.25 * g.substrate_thickness, 0.5 * cfg.mesh.electrode_size)


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
    layer = kapitza_layer_thickness(cfg) / u
    if hs > 0 and layer > 0:  # the substrate in two slabs: the Kapitza layer on top
        tools.append((3, occ.addBox(0.0, 0.0, -layer, half, W, layer)))
        tools.append((3, occ.addBox(0.0, 0.0, -hs, half, W, hs - layer)))
    elif hs > 0:
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
        elif abs(x1) < tol:
            groups[X0].append(s)  # becomes XL in the mirror image
        elif abs(y1 - y0) < tol:
            groups[SIDES].append(s)
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
            elif z0 > -tol:
                n = nz
            else:
                n = 1 if layer > 0 and z1 > -tol else nzs  # the Kapitza slab: one cell layer
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


def arrays_from_model(
    gmsh: Any, tag_of: Callable[[int, str], int | None] | None = None
) -> tuple[MeshArrays, dict[str, tuple[int, int]], list[str]]:
    """Tagged tets and triangles of the current gmsh model, by physical-group name.

    Returns the arrays (tags are the canonical ones of GROUP_NAMES, looked up by
    name, or `tag_of(dim, name)` when given: None skips the group), the groups found
    as name -> (dim, file tag), and problems found.
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
        if dim not in (2, 3):
            continue
        if tag_of is not None:
            mapped = tag_of(dim, name)
            if mapped is None:
                continue
            canon = mapped
        elif name in by_name:
            canon = by_name[name]
        else:
            continue
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
    return MeshArrays(x, tets, tet_tags, tris, tri_tags), found, problems


def _mirror(a: MeshArrays, length: float) -> MeshArrays:
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
    swap = {ELECTRODE_NEG: ELECTRODE_POS, X0: XL}
    tri_tags_r = a.tri_tags.copy()
    for tag, image_tag in swap.items():
        tri_tags_r[a.tri_tags == tag] = image_tag
    tri_tags_r = tri_tags_r.astype(np.int32)
    return MeshArrays(
        np.vstack([x, xr]),
        np.vstack([a.tets, tets_r]),
        np.concatenate([a.tet_tags, a.tet_tags]),
        np.vstack([a.tris, tris_r]),
        np.concatenate([a.tri_tags, tri_tags_r]),
    )


def generate_arrays(cfg: ResolvedConfig) -> MeshArrays:
    """Mesh the half domain with gmsh and mirror it (call on one rank)."""
    with gmsh_session("fem_peltier_half") as gmsh:
        _mesh_half(gmsh, cfg)
        half, _, problems = arrays_from_model(gmsh)
    half.x *= cfg.geometry.length  # gmsh worked in units of L
    if problems:
        raise RuntimeError("internal meshing error: " + "; ".join(problems))
    return _mirror(half, cfg.geometry.length)
