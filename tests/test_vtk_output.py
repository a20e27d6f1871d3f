"""vtk_output: a .vtu of the whole mesh that PyVista reads without DOLFINx, the same under
mpirun -n 2, with P1 fields as point data and DG0 fields as cell data at the right places.

Catches: point values attached to the wrong nodes or cell values to the wrong cells (checked
against linear functions of the coordinates), a rank's piece missing or a ghost cell written
twice under MPI (cell count, volume), a temporary file left behind, and fields the format
cannot hold (P2) written silently wrong.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cli_runner import mpirun, python
from vtk_check import read_in_subprocess

WRITE = textwrap.dedent(
    """
    import sys
    from mpi4py import MPI
    import numpy as np
    from dolfinx import fem, mesh
    from fem_peltier.vtk_output import cell_tag_array, write_collection, write_fields_vtu

    out = sys.argv[1]
    msh = mesh.create_unit_cube(MPI.COMM_WORLD, 5, 4, 3, ghost_mode=mesh.GhostMode.shared_facet)
    T = fem.Function(fem.functionspace(msh, ("Lagrange", 1)), name="temperature_K")
    T.interpolate(lambda x: 300 + x[0] + 2 * x[1] + 3 * x[2])
    m = fem.Function(fem.functionspace(msh, ("DG", 0)), name="phase")
    m.interpolate(lambda x: x[0] + 10 * x[1] + 100 * x[2])
    j = fem.Function(fem.functionspace(msh, ("DG", 0, (3,))), name="current_density_A_m2")
    j.interpolate(lambda x: np.vstack([x[0], -x[1], 2 * x[2]]))
    tdim = msh.topology.dim
    cells = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
    tags = mesh.meshtags(msh, tdim, cells, np.where(msh.comm.rank == 0, 1, 2).repeat(cells.size).astype(np.int32))
    write_fields_vtu(f"{out}/a.vtu", msh, [T, m, j], {"cell_tags": cell_tag_array(msh, tags)})
    if msh.comm.rank == 0:
        write_collection(f"{out}/a.pvd", [(0.0, "a.vtu"), (1.5, "a.vtu")])
    """
)

CHECK = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import pyvista as pv

    g = pv.read(sys.argv[1])
    x, c = g.points, g.cell_centers().points
    print(json.dumps({
        "T": bool(np.allclose(g.point_data["temperature_K"], 300 + x[:, 0] + 2 * x[:, 1] + 3 * x[:, 2])),
        "phase": bool(np.allclose(g.cell_data["phase"], c[:, 0] + 10 * c[:, 1] + 100 * c[:, 2])),
        "j": bool(np.allclose(g.cell_data["current_density_A_m2"], c * [1, -1, 2])),
        "dolfinx": "dolfinx" in sys.modules,
    }))
    """
)


def _write(out: Path, ranks: int = 1) -> None:
    launcher = None
    if ranks > 1:
        if mpirun() is None:
            pytest.skip("no mpirun")
        launcher = [mpirun(), "-n", str(ranks)]
    proc = python("-c", WRITE, str(out), timeout=120, launcher=launcher)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _values_in_place(path: Path) -> dict:
    import json

    proc = python("-c", CHECK, str(path), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vtk1")
    _write(out)
    return out


def test_vtu_point_and_cell_data_in_place(serial):
    assert sorted(p.name for p in serial.iterdir()) == ["a.pvd", "a.vtu"]  # no temporary file left
    got = read_in_subprocess(serial / "a.vtu", serial / "a.pvd")
    g = got[str(serial / "a.vtu")]
    assert g["type"] == "UnstructuredGrid" and g["cells"] == 5 * 4 * 3 * 6 and g["points"] == 6 * 5 * 4
    assert g["volume"] == pytest.approx(1.0, rel=1e-12)
    assert list(g["point"]) == ["temperature_K"]
    assert g["point"]["temperature_K"][1:] == pytest.approx([300.0, 306.0], rel=1e-12)
    assert g["cell"]["current_density_A_m2"][0] == [360, 3] and g["cell"]["cell_tags"][1:] == [1.0, 1.0]
    pvd = got[str(serial / "a.pvd")]
    assert pvd["times"] == [0.0, 1.5] and pvd["read"] == "MultiBlock" and pvd["steps"][1]["cells"] == 360
    assert _values_in_place(serial / "a.vtu") == {"T": True, "phase": True, "j": True, "dolfinx": False}


@pytest.mark.mpi
def test_vtu_under_mpirun_is_the_serial_grid(serial, tmp_path):
    _write(tmp_path, ranks=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pvd", "a.vtu"]
    got = read_in_subprocess(serial / "a.vtu", tmp_path / "a.vtu")
    a, b = got[str(serial / "a.vtu")], got[str(tmp_path / "a.vtu")]
    assert (b["cells"], b["points"], b["volume"]) == (a["cells"], a["points"], pytest.approx(a["volume"], rel=1e-12))
    assert b["point"] == a["point"]
    assert b["cell"]["cell_tags"][1:] == [1.0, 2.0]  # both ranks' cells
    assert _values_in_place(tmp_path / "a.vtu") == {"T": True, "phase": True, "j": True, "dolfinx": False}


def test_p2_field_is_refused():
    from mpi4py import MPI
    from dolfinx import fem, mesh

    from fem_peltier.vtk_output import gather_grid

    msh = mesh.create_unit_cube(MPI.COMM_SELF, 1, 1, 1)
    f = fem.Function(fem.functionspace(msh, ("Lagrange", 2)), name="T2")
    with pytest.raises(ValueError, match="only P1"):
        gather_grid(msh, [f])
