"""Tests of fem_peltier.mesh: tags, areas and volumes, refinement, mirror symmetry,
.msh round trip and errors, the cell-count estimate, and np=1 vs np=2."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest

dolfinx = pytest.importorskip("dolfinx")
gmsh = pytest.importorskip("gmsh")
import dolfinx.io.gmsh  # noqa: E402
import ufl  # noqa: E402
from dolfinx import fem  # noqa: E402

from fem_peltier import mesh as fm  # noqa: E402
from fem_peltier.config import Config, load_config  # noqa: E402
from fem_peltier.errors import InputError  # noqa: E402

COARSE = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]
SUB = ["geometry.substrate_thickness=3e-4"]


def cfg_of(preset: str, overrides: list[str] | None = None) -> Config:
    return load_config(preset=preset, overrides=overrides or []).resolved()


def integrals(F: fm.FilmMesh) -> dict[str, float]:
    """Global cell count, tag volumes and facet-tag areas (allreduced)."""
    msh = F.mesh
    one = fem.Constant(msh, 1.0)
    dx = ufl.Measure("dx", domain=msh, subdomain_data=F.cell_tags)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=F.facet_tags)

    def g(form: ufl.Form) -> float:
        return msh.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    out = {"cells": float(msh.topology.index_map(3).size_global)}
    out.update({fm.GROUP_NAMES[t]: g(one * dx(t)) for t in fm.CELL_GROUPS})
    out.update({fm.GROUP_NAMES[t]: g(one * ds(t)) for t in fm.FACET_GROUPS})
    return out


def owned_midpoints(F: fm.FilmMesh) -> np.ndarray:
    n = F.mesh.topology.index_map(3).size_local
    return dolfinx.mesh.compute_midpoints(F.mesh, 3, np.arange(n, dtype=np.int32))


def mirror_mismatch(c: np.ndarray, length: float) -> float:
    """Largest distance from a mirrored centroid (L - x, y, z) to the nearest centroid."""
    order = np.argsort(c[:, 0])
    cs = c[order]
    cr = c.copy()
    cr[:, 0] = length - cr[:, 0]
    tol = 1e-9 * length
    lo = np.searchsorted(cs[:, 0], cr[:, 0] - tol, "left")
    hi = np.searchsorted(cs[:, 0], cr[:, 0] + tol, "right")
    worst = 0.0
    for i in range(cr.shape[0]):
        if hi[i] == lo[i]:
            return np.inf
        worst = max(worst, float(np.min(np.linalg.norm(cs[lo[i] : hi[i]] - cr[i], axis=1))))
    return worst


@pytest.fixture(scope="module")
def meshes() -> dict[str, tuple[Config, fm.FilmMesh]]:
    """The meshes shared by the tests (all small)."""
    cases = {
        "point": cfg_of("fig2a", COARSE),
        "point_default": cfg_of("fig2a"),
        "point_sub": cfg_of("fig2a", COARSE + SUB),
        "ends": cfg_of("slab"),
        "ends_sub": cfg_of("slab", ["geometry.substrate_thickness=1e-4"]),
    }
    return {k: (c, fm.create_mesh(c, MPI.COMM_SELF)) for k, c in cases.items()}


def test_physical_groups_in_saved_msh(tmp_path: Path) -> None:
    path = fm.write_msh(cfg_of("fig2a", COARSE + SUB), tmp_path / "a.msh")
    md = dolfinx.io.gmsh.read_from_msh(str(path), MPI.COMM_SELF, 0, gdim=3)
    groups = {name: (pg.dim, pg.tag) for name, pg in md.physical_groups.items()}
    # every group but "other", which generated meshes leave empty (the faces are sides, x0, xL)
    expected = {name: (3 if tag in fm.CELL_GROUPS else 2, tag) for tag, name in fm.GROUP_NAMES.items() if tag != fm.OTHER}
    assert groups == expected
    assert md.cell_tags is not None and md.facet_tags is not None


@pytest.mark.parametrize("case", ["point", "point_default", "point_sub"])
def test_point_electrodes_areas_and_volumes(meshes, case: str) -> None:
    cfg, F = meshes[case]
    g = cfg.geometry
    L, W, h, hs = g.length, g.width, g.thickness, g.substrate_thickness
    patch = g.electrode_length * g.electrode_width
    r = integrals(F)
    assert r["electrode_neg"] == pytest.approx(patch, rel=0.01)
    assert r["electrode_pos"] == pytest.approx(patch, rel=0.01)
    assert r["film"] == pytest.approx(L * W * h, rel=1e-10)
    assert r["substrate"] == pytest.approx(L * W * hs, rel=1e-10, abs=1e-30)
    assert r["top"] == pytest.approx(L * W - 2 * patch, rel=1e-10)
    assert r["sink"] == pytest.approx(L * W, rel=1e-10)
    assert r["other"] == 0.0
    assert r["sides"] == pytest.approx(2 * L * (h + hs), rel=1e-10)
    assert r["x0"] == pytest.approx(W * (h + hs), rel=1e-10)  # also after mirroring: xL
    assert r["xL"] == pytest.approx(W * (h + hs), rel=1e-10)


@pytest.mark.parametrize("case", ["ends", "ends_sub"])
def test_end_electrodes(meshes, case: str) -> None:
    cfg, F = meshes[case]
    g = cfg.geometry
    L, W, h, hs = g.length, g.width, g.thickness, g.substrate_thickness
    r = integrals(F)
    assert r["electrode_neg"] == pytest.approx(W * h, rel=1e-10)
    assert r["electrode_pos"] == pytest.approx(W * h, rel=1e-10)
    assert r["top"] == pytest.approx(L * W, rel=1e-10)
    assert r["sink"] == pytest.approx(L * W, rel=1e-10)
    assert r["other"] == 0.0
    assert r["sides"] == pytest.approx(2 * L * (h + hs), rel=1e-10)
    assert r["x0"] == pytest.approx(W * hs, rel=1e-10, abs=1e-30)  # the substrate's end faces only
    assert r["xL"] == pytest.approx(W * hs, rel=1e-10, abs=1e-30)
    assert r["film"] == pytest.approx(L * W * h, rel=1e-10)
    assert r["substrate"] == pytest.approx(L * W * hs, rel=1e-10, abs=1e-30)
    # the slab preset: >= 8 cell layers through the film, well under 60k cells
    z = F.mesh.geometry.x[:, 2]
    assert np.unique(np.round(z[z >= -1e-12] / h, 9)).size - 1 >= 8
    assert r["cells"] < 60_000


def test_cells_tagged_once_and_facet_tags_on_boundary(meshes) -> None:
    for _, F in meshes.values():
        msh = F.mesh
        n = msh.topology.index_map(3).size_local + msh.topology.index_map(3).num_ghosts
        assert np.array_equal(np.sort(F.cell_tags.indices), np.arange(n))
        msh.topology.create_connectivity(2, 3)
        ext = dolfinx.mesh.exterior_facet_indices(msh.topology)
        assert np.isin(F.facet_tags.indices, ext).all()
        assert np.isin(ext, F.facet_tags.indices).all()  # every outer face has a tag


def test_substrate_sink_at_bottom(meshes) -> None:
    cfg, F = meshes["point_sub"]
    msh, hs = F.mesh, cfg.geometry.substrate_thickness
    msh.topology.create_connectivity(2, 3)
    nodes = dolfinx.mesh.entities_to_geometry(msh, 2, F.facet_tags.find(fm.SINK)).ravel()
    assert np.allclose(msh.geometry.x[nodes, 2], -hs, rtol=0, atol=1e-12 * hs)
    mid = owned_midpoints(F)
    film = np.isin(np.arange(mid.shape[0]), F.cell_tags.find(fm.FILM))
    assert (mid[film, 2] > 0).all() and (mid[~film, 2] < 0).all()


def test_refinement_at_electrodes(meshes) -> None:
    cfg, F = meshes["point_default"]
    msh = F.mesh
    g = cfg.geometry
    n = msh.topology.index_map(3).size_local
    h = msh.h(3, np.arange(n, dtype=np.int32))
    msh.topology.create_connectivity(2, 3)
    f2c = msh.topology.connectivity(2, 3)
    el = np.concatenate([F.facet_tags.find(fm.ELECTRODE_NEG), F.facet_tags.find(fm.ELECTRODE_POS)])
    near = np.unique(np.concatenate([f2c.links(f) for f in el]))
    mid = owned_midpoints(F)
    bulk = np.abs(mid[:, 0] - 0.5 * g.length) < 0.25 * g.length
    assert h[near].mean() < 0.4 * h[bulk].mean()
    assert h[near].mean() < 2.5 * cfg.mesh.electrode_size


@pytest.mark.parametrize("case", ["point_default", "point_sub", "ends", "ends_sub"])
def test_mirror_symmetry(meshes, case: str) -> None:
    cfg, F = meshes[case]
    L = cfg.geometry.length
    assert mirror_mismatch(owned_midpoints(F), L) <= 1e-12 * L
    r = integrals(F)
    assert r["electrode_neg"] == pytest.approx(r["electrode_pos"], rel=1e-12)


def test_msh_round_trip(tmp_path: Path, meshes) -> None:
    cfg, F = meshes["point_sub"]
    path = fm.write_msh(cfg, tmp_path / "m.msh")
    cfg2 = cfg_of("fig2a", COARSE + SUB + [f"mesh.file={json.dumps(str(path))}"])
    F2 = fm.create_mesh(cfg2, MPI.COMM_SELF)
    assert F2.source == str(path) and F.source == "generated"
    r1, r2 = integrals(F), integrals(F2)
    assert r1["cells"] == r2["cells"]
    for key in r1:
        assert r2[key] == pytest.approx(r1[key], rel=1e-12, abs=1e-30), key


def _write_box_msh(path: Path) -> None:
    """A film-sized box mesh with only a 'film' group (no electrodes etc.)."""
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("box")
        gmsh.model.occ.addBox(0, 0, 0, 1e-3, 1e-3, 2e-4)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], 1, name="film")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 2e-4)
        gmsh.model.mesh.generate(3)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def test_load_errors(tmp_path: Path) -> None:
    cfg = cfg_of("fig2a", COARSE)
    good = fm.write_msh(cfg, tmp_path / "good.msh")
    text = tmp_path / "notes.msh"
    text.write_text("this is not a mesh\n")
    trunc = tmp_path / "trunc.msh"
    raw = good.read_bytes()
    trunc.write_bytes(raw[: len(raw) // 2])
    nogroups = tmp_path / "nogroups.msh"
    _write_box_msh(nogroups)
    cases = {
        tmp_path / "missing.msh": "no such",
        text: "not a gmsh",
        trunc: "could not read",
        nogroups: "electrode_neg",
    }
    for path, words in cases.items():
        with pytest.raises(InputError) as info:
            fm.load_msh(path, cfg, MPI.COMM_SELF)
        assert info.value.key == "mesh.file"
        assert words in info.value.message and "\n" not in info.value.message
    # geometry mismatch: a 1 mm square film read with the W = 0.5 mm fig2d geometry
    for other in (cfg_of("fig2d"), cfg_of("fig2a", SUB), cfg_of("fig2a", ["geometry.thickness=1e-4"])):
        with pytest.raises(InputError) as info:
            fm.load_msh(good, other, MPI.COMM_SELF)
        assert info.value.key == "mesh.file"


def test_estimate_cells(meshes) -> None:
    for case in ("point", "point_default", "point_sub", "ends", "ends_sub"):
        cfg, F = meshes[case]
        est, real = fm.estimate_cells(cfg), F.mesh.topology.index_map(3).size_global
        assert 0.5 * real <= est <= 2.0 * real, (case, est, real)
    with pytest.raises(InputError) as info:
        fm.create_mesh(cfg_of("fig2a", ["mesh.max_cells=1000"]), MPI.COMM_SELF)
    assert info.value.key == "mesh.max_cells" and "estimated" in info.value.message


_MPI_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from mpi4py import MPI
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_mesh import cfg_of, integrals
    from fem_peltier import mesh as fm
    out = {{}}
    for name, preset, ov in {cases!r}:
        F = fm.create_mesh(cfg_of(preset, ov), MPI.COMM_WORLD)
        r = integrals(F)
        r["min_ghosts"] = MPI.COMM_WORLD.allreduce(F.mesh.topology.index_map(3).num_ghosts, op=MPI.MIN)
        out[name] = r
    if MPI.COMM_WORLD.rank == 0:
        print("RESULT" + json.dumps(out))
    """
)


@pytest.mark.mpi
def test_parallel_matches_serial(tmp_path: Path) -> None:
    mpirun = Path(sys.executable).parent / "mpirun"
    if not mpirun.exists():
        pytest.skip(f"no mpirun beside {sys.executable}")
    cases = [("point_sub", "fig2a", COARSE + SUB), ("ends", "slab", [])]
    script = tmp_path / "par.py"
    script.write_text(_MPI_SCRIPT.format(tests=str(Path(__file__).parent), cases=cases))
    proc = subprocess.run(
        [str(mpirun), "-n", "2", sys.executable, str(script)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    par = json.loads(line[len("RESULT"):])
    for name, preset, ov in cases:
        ser = integrals(fm.create_mesh(cfg_of(preset, ov), MPI.COMM_SELF))
        p = par[name]
        assert p["min_ghosts"] > 0  # shared-facet ghosting on both ranks
        assert p["cells"] == ser["cells"]
        for key in ser:
            assert p[key] == pytest.approx(ser[key], rel=1e-10, abs=1e-30), (name, key)
