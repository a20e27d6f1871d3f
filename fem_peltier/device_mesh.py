"""User device meshes: a gmsh .msh file or .geo script whose physical groups are named.

Groups (docs/configuration.md, mesh.file): the volume `film` (required) and an optional
volume `substrate`; surfaces `electrode_<name>`, one per terminal ([[drive.terminal]]);
any other named surface, which [[thermal.boundary]] may name (a surface `sink` is held at
thermal.t0 when no thermal.boundary is given). Tags inside fem_peltier: FILM, SUBSTRATE and
SINK as for a generated mesh, ELECTRODE_TAG0 + i for the i-th electrode (sorted by name)
and SURFACE_TAG0 + i for the other surfaces.

Checks, each a one-line InputError naming mesh.file / mesh.geo: the file exists and gmsh
reads (or meshes) it, a film group, only linear tetrahedra and triangles, every tetrahedron
in film or substrate, each electrode on the film's surface, no facet in two groups, and the
terminals and the electrode groups naming each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mpi4py import MPI

import numpy as np

from .config import ResolvedConfig
from .errors import InputError, first_line
from .gmsh_film import arrays_from_model, gmsh_session
from .mesh_data import (
    FILM,
    SINK,
    SUBSTRATE,
    FilmMesh,
    MeshArrays,
    bcast_result,
    to_dolfinx,
)

ELECTRODE_PREFIX = "electrode_"
ELECTRODE_TAG0 = 100  # facet tag of the first electrode group (sorted by name)
SURFACE_TAG0 = 200  # facet tag of the first other named surface
SINK_NAMES = ("sink", "bottom")  # a surface of either name is the default heat sink (tag SINK)
#: the electrode names of the two-electrode short form: (negative, positive)
SHORT_FORM_NAMES = (("neg", "pos"), ("negative", "positive"))


def device_source(cfg: ResolvedConfig) -> tuple[str, Path]:
    """(config key, path) of the device mesh of `cfg` (mesh.geo or mesh.file)."""
    if cfg.mesh.geo is not None:
        return "mesh.geo", Path(cfg.mesh.geo)
    assert cfg.mesh.file is not None
    return "mesh.file", Path(cfg.mesh.file)


def load_device(cfg: ResolvedConfig, comm: MPI.Comm = MPI.COMM_WORLD) -> FilmMesh:
    """Read (or mesh) the device of `cfg` on rank 0 and distribute it (collective)."""
    key, path = device_source(cfg)
    found = bcast_result(comm, lambda: _read(cfg, key, path))
    arrays, groups = found if found is not None else (None, None)
    electrodes, surfaces = comm.bcast(groups, root=0)
    fm = to_dolfinx(arrays, comm, str(path))
    return replace(fm, electrodes=electrodes, surfaces=surfaces, device=True)


def _read(cfg: ResolvedConfig, key: str, path: Path) -> tuple[MeshArrays, tuple[dict[str, int], dict[str, int]]]:
    def bad(msg: str) -> InputError:
        return InputError(key, f"{path}: {msg}")

    if not path.is_file():
        raise bad("no such file")
    with gmsh_session("fem_peltier_device") as gmsh:
        _load_model(gmsh, key, path, bad)
        names = {(d, gmsh.model.getPhysicalName(d, t)) for d, t in gmsh.model.getPhysicalGroups()}
        tags = _group_tags(names, bad)
        arrays, _, problems = arrays_from_model(gmsh, lambda dim, name: tags[1].get((dim, name)))
    if problems:
        raise bad(problems[0])
    if not np.any(arrays.tet_tags == FILM):
        raise bad("no tetrahedra in a volume group 'film' (linear tetrahedra are needed)")
    electrodes, surfaces = tags[0], tags[2]
    _check_electrodes(arrays, electrodes, bad)
    _check_terminals(cfg, electrodes, bad)
    electrodes = _short_form(cfg, electrodes)
    return arrays, (electrodes, surfaces)


def _load_model(gmsh: Any, key: str, path: Path, bad: Callable[[str], InputError]) -> None:
    """Into the current gmsh model: the 3D mesh of a script (mesh.geo) or the mesh of a file."""
    try:
        if key == "mesh.geo":
            gmsh.open(str(path))
            gmsh.model.mesh.generate(3)
        else:
            gmsh.merge(str(path))
    except Exception as exc:  # noqa: BLE001 -- gmsh raises plain Exception
        raise bad(f"gmsh could not {'mesh' if key == 'mesh.geo' else 'read'} it ({first_line(exc)})") from None


def _group_tags(names: set[tuple[int, str]], bad) -> tuple[dict[str, int], dict[tuple[int, str], int], dict[str, int]]:
    """(electrode name -> tag, (dim, group name) -> tag, thermal surface name -> tag)."""
    if (3, "film") not in names:
        raise bad("no volume (3D) physical group named 'film'")
    unknown = sorted(n for d, n in names if d == 3 and n not in ("film", "substrate"))
    if unknown:
        raise bad(f"volume group '{unknown[0]}' is neither 'film' nor 'substrate'")
    tag_of: dict[tuple[int, str], int] = {(3, "film"): FILM}
    if (3, "substrate") in names:
        tag_of[(3, "substrate")] = SUBSTRATE
    surf = sorted(n for d, n in names if d == 2 and n)
    electrodes: dict[str, int] = {}
    surfaces: dict[str, int] = {}
    sinks = [n for n in surf if n in SINK_NAMES]
    if len(sinks) > 1:
        raise bad("surface groups 'sink' and 'bottom' both exist: name the heat sink once")
    others = 0
    for n in surf:
        if n.startswith(ELECTRODE_PREFIX) and len(n) > len(ELECTRODE_PREFIX):
            tag = ELECTRODE_TAG0 + len(electrodes)
            electrodes[n[len(ELECTRODE_PREFIX) :]] = tag
            surfaces[n] = tag
        elif n in SINK_NAMES:
            tag = SINK
            surfaces[n] = tag
        else:
            tag = SURFACE_TAG0 + others
            others += 1
            surfaces[n] = tag
        tag_of[(2, n)] = tag
    if not electrodes:
        raise bad("no surface groups named electrode_<name>: the current has nowhere to enter")
    return electrodes, tag_of, surfaces


def _check_electrodes(a: MeshArrays, electrodes: dict[str, int], bad) -> None:
    """Each electrode has triangles, all on the film; no triangle is in two groups."""
    film_nodes = np.zeros(a.x.shape[0], dtype=bool)
    film_nodes[a.tets[a.tet_tags == FILM].ravel()] = True
    for name, tag in electrodes.items():
        tris = a.tris[a.tri_tags == tag]
        if tris.shape[0] == 0:
            raise bad(f"electrode_{name} has no triangles")
        if not film_nodes[tris].all():
            raise bad(f"electrode_{name} is not on the film (it has triangles off the film's surface)")
    key = np.sort(a.tris, axis=1)
    _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = key[first[np.flatnonzero(counts > 1)[0]]]
        in_groups = sorted({int(t) for t, k in zip(a.tri_tags, key) if np.array_equal(k, dup)})
        raise bad(f"a triangle is in more than one surface group (tags {in_groups}): split the surfaces")


def _check_terminals(cfg: ResolvedConfig, electrodes: dict[str, int], bad) -> None:
    """[[drive.terminal]] and the electrode groups must name each other."""
    terminals = cfg.drive.terminal
    if terminals is None:
        if not any(set(pair) == set(electrodes) for pair in SHORT_FORM_NAMES):
            raise bad(
                f"electrodes {', '.join('electrode_' + n for n in electrodes)}: give a [[drive.terminal]] for "
                "each (the short form drive.current / drive.voltage needs exactly electrode_neg and electrode_pos)"
            )
        return
    for t in terminals:
        if t.name not in electrodes:
            have = ", ".join("electrode_" + n for n in electrodes)
            raise InputError(
                "drive.terminal", f"terminal '{t.name}': the mesh has no surface electrode_{t.name} ({have})"
            )
    named = {t.name for t in terminals}
    for n in electrodes:
        if n not in named:
            raise InputError(
                "drive.terminal",
                f"the mesh's electrode_{n} has no [[drive.terminal]] (add one; floating = true for an idle contact)",
            )


def _short_form(cfg: ResolvedConfig, electrodes: dict[str, int]) -> dict[str, int]:
    """The short form's two electrodes under the legacy tags and names (negative, positive)."""
    if cfg.drive.terminal is not None:
        return electrodes
    neg, pos = next(pair for pair in SHORT_FORM_NAMES if set(pair) == set(electrodes))
    return {"negative": electrodes[neg], "positive": electrodes[pos]}


def film_box(fm: FilmMesh) -> tuple[np.ndarray, np.ndarray, float]:
    """(lower corner, upper corner) of the film's bounding box (m) and the substrate's z extent
    (m, 0 without one), over all ranks."""
    msh = fm.mesh
    x = msh.geometry.x
    dofs = msh.geometry.dofmaps[0]
    comm = msh.comm

    def extent(tag: int) -> tuple[np.ndarray, np.ndarray]:
        cells = fm.cell_tags.find(tag)
        pts = x[np.unique(dofs[cells].ravel())] if cells.size else np.zeros((0, 3))
        lo = pts.min(axis=0) if pts.size else np.full(3, np.inf)
        hi = pts.max(axis=0) if pts.size else np.full(3, -np.inf)
        comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        return lo, hi

    lo, hi = extent(FILM)
    s_lo, s_hi = extent(SUBSTRATE)
    sub = float(s_hi[2] - s_lo[2]) if np.isfinite(s_lo[2]) else 0.0
    return lo, hi, sub


def with_device_geometry(cfg: ResolvedConfig, fm: FilmMesh) -> ResolvedConfig:
    """`cfg` with geometry.length / width / thickness / substrate_thickness those of the film's
    bounding box on a user mesh (scales of the solver, pictures and summaries)."""
    lo, hi, sub = film_box(fm)
    size = hi - lo
    g = cfg.geometry.model_copy(
        update={
            "length": float(size[0]),
            "width": float(size[1]),
            "thickness": float(size[2]),
            "substrate_thickness": sub,
        }
    )
    return cfg.model_copy(update={"geometry": g})


def write_device_msh(cfg: ResolvedConfig, path: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> Path:
    """Mesh the gmsh script of `cfg` (mesh.geo) and save it as a .msh file (MSH 4.1, ASCII) that
    mesh.file can name instead: checked as a run would (groups, terminals), written under a
    temporary name and renamed into place. Collective; rank 0 works."""
    import os

    key, geo = device_source(cfg)
    if key != "mesh.geo":
        raise InputError("mesh.file", f"{geo} is already a mesh: `fem-peltier mesh` writes the .msh of a mesh.geo")

    def work() -> Path:
        tmp = path.with_name(f".{path.name}.partial.msh")
        with gmsh_session("fem_peltier_device_write") as gmsh:
            _load_model(gmsh, key, geo, lambda msg: InputError(key, f"{geo}: {msg}"))
            gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
            gmsh.option.setNumber("Mesh.Binary", 0)
            gmsh.write(str(tmp))
        try:
            _read(cfg, "mesh.file", tmp)  # the checks of a run on the written file
        except InputError as exc:
            tmp.unlink(missing_ok=True)
            raise InputError("mesh.geo", exc.message.replace(str(tmp), str(geo))) from None
        os.replace(tmp, path)
        return path

    bcast_result(comm, work)
    return path


__all__ = ["ELECTRODE_TAG0", "SURFACE_TAG0", "device_source", "load_device", "with_device_geometry", "write_device_msh"]
