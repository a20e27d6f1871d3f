"""Meshes as gmsh .msh files: write a generated mesh, read and check a saved one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mpi4py import MPI

import numpy as np

from .config import Config, ResolvedConfig
from .errors import InputError, first_line
from .gmsh_film import _GMSH_TET, _GMSH_TRI, arrays_from_model, check_budget, generate_arrays, gmsh_session
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
    FilmMesh,
    MeshArrays,
    bcast_result,
    to_dolfinx,
)


def write_msh(cfg: Config, path: str | Path, comm: MPI.Comm = MPI.COMM_WORLD) -> Path:
    """Generate the mesh for `cfg` and save it as a gmsh .msh file (MSH 4.1, ASCII).

    Collective over `comm`: rank 0 meshes and writes, errors are raised on every rank.
    """
    cfg = cfg.resolved()
    check_budget(cfg)
    out = Path(path)

    def work() -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = generate_arrays(cfg)
        with gmsh_session("fem_peltier") as gmsh:
            _arrays_to_model(gmsh, arrays)
            gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
            gmsh.option.setNumber("Mesh.Binary", 0)
            gmsh.write(str(out))
        return out

    bcast_result(comm, work)
    return out


def _arrays_to_model(gmsh: Any, a: MeshArrays) -> None:
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


def load_msh(path: str | Path, cfg: Config, comm: MPI.Comm = MPI.COMM_WORLD) -> FilmMesh:
    """Read a saved .msh file and check it against ``cfg.geometry``.

    Every problem (missing, unreadable or foreign file, missing physical groups,
    a bounding box that does not match the geometry) is an InputError with key
    ``mesh.file`` and a one-line message.
    """
    cfg = cfg.resolved()
    p = Path(path)
    arrays = bcast_result(comm, lambda: _read_checked(p, cfg))
    return to_dolfinx(arrays, comm, str(p))


def _read_checked(p: Path, cfg: ResolvedConfig) -> MeshArrays:
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
    with gmsh_session("fem_peltier_load") as gmsh:
        try:
            gmsh.merge(str(p))
        except Exception as exc:  # noqa: BLE001 -- gmsh raises plain Exception
            msg = first_line(exc)
            raise bad(f"gmsh could not read it ({msg})") from None
        try:
            arrays, found, problems = arrays_from_model(gmsh)
        except Exception as exc:  # noqa: BLE001
            raise bad(f"unreadable or truncated mesh ({type(exc).__name__}: {exc})") from None
    g = cfg.geometry
    required = [FILM, ELECTRODE_NEG, ELECTRODE_POS, SINK, TOP]
    if g.substrate_thickness > 0:
        required.append(SUBSTRATE)
    # the other outer faces: "sides", "x0", "xL" ("other" in files written before those existed;
    # no "x0"/"xL" when the end faces are the electrodes and there is no substrate)
    if GROUP_NAMES[OTHER] not in found:
        required.append(SIDES)
        if not (g.electrodes == "ends" and g.substrate_thickness == 0):
            required += [X0, XL]
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


def _check_bbox(a: MeshArrays, cfg: ResolvedConfig, bad: Callable[[str], InputError]) -> None:
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
