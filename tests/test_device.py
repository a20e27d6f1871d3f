"""User device meshes and terminals (issue 19): a gmsh .geo with named groups, current /
voltage / floating terminals, the four-probe closed form, serial == mpirun -n 2, bad input.

Four-probe bar (meshes/four_probe_bar.geo): a uniform insulating bar of length L, width W,
thickness h carries I from its end face "source" to the end face "drain" (0 V). Away from
the contacts the current is uniform, j = I / (W h), so the potential falls linearly:
phi(x) = I rho (L - x) / (W h). A floating probe is a patch across the top at x_k, symmetric
about x_k; phi - phi(x_k) is odd about x_k, so the equipotential patch sits at phi(x_k)
exactly and draws no current. Hence V_probe1 - V_probe2 = I rho (x2 - x1) / (W h) and
V_source = I rho L / (W h), up to the small short the patches make (a << h) and the mesh.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cli_runner import CHECKOUT, fem, mpirun  # tests/cli_runner.py

MESHES = CHECKOUT / "meshes"
I, RHO = 1.0e-5, 0.06  # the example's current (A) and the default rho_insulator (Ohm m)
FAST = ["--set", "solver.initial_width=3", "--set", "solver.linear_solver=mumps"]


def _bar(folder: Path, lc: float = 2.0e-4) -> Path:
    """The shipped four-probe example in `folder`, with cell size `lc` away from the probes."""
    geo = (MESHES / "four_probe_bar.geo").read_text()
    (folder / "four_probe_bar.geo").write_text(re.sub(r"(?m)^lc = .*;", f"lc = {lc};", geo))
    shutil.copy(MESHES / "four_probe_bar.toml", folder / "bar.toml")
    return folder / "bar.toml"


def _geo_value(name: str) -> float:
    m = re.search(rf"(?m)^{name} = ([0-9.eE+-]+);", (MESHES / "four_probe_bar.geo").read_text())
    assert m is not None
    return float(m.group(1))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    base = tmp_path_factory.mktemp("bar")
    toml = _bar(base)
    proc = fem("run", str(toml), "--out", str(base / "out"), *FAST, cwd=base, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((base / "out" / "summary.json").read_text())


def test_four_probe_matches_the_uniform_bar(serial):
    L, W, h, x1, x2 = (_geo_value(k) for k in ("L", "W", "h", "x1", "x2"))
    t = serial["terminals"]
    assert list(t) == ["source", "drain", "probe1", "probe2"]
    assert [v["role"] for v in t.values()] == ["drive", "voltage", "floating", "floating"]
    drop = t["probe1"]["potential_V"] - t["probe2"]["potential_V"]
    exact = I * RHO * (x2 - x1) / (W * h)
    assert drop == pytest.approx(exact, rel=2e-4)  # measured 2.7e-5
    assert t["source"]["potential_V"] == pytest.approx(I * RHO * L / (W * h), rel=5e-4)
    assert t["source"]["current_A"] == pytest.approx(I, rel=1e-12)
    # Kirchhoff: what enters leaves through the drain; the probes draw nothing
    assert t["drain"]["current_A"] == pytest.approx(-I, rel=1e-10)
    for p in ("probe1", "probe2"):
        assert abs(t[p]["current_A"]) < 1e-12 * I
        assert t[p]["metal_reach_m"] == 0.0
    assert serial["voltage_V"] == t["source"]["potential_V"]
    assert serial["metal_fraction"] == 0.0


@pytest.mark.mpi
def test_user_mesh_serial_equals_mpirun(serial, tmp_path):
    launcher = mpirun()
    if launcher is None:
        pytest.skip("no mpirun")
    toml = _bar(tmp_path)
    proc = fem("run", str(toml), "--out", str(tmp_path / "out"), *FAST, cwd=tmp_path, launcher=[launcher, "-n", "2"],
               timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    par = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert par["ranks"] == 2 and par["cells"] == serial["cells"]
    for name, v in serial["terminals"].items():
        assert par["terminals"][name]["potential_V"] == pytest.approx(v["potential_V"], rel=1e-8, abs=1e-14)
    assert par["T_max_K"] == pytest.approx(serial["T_max_K"], rel=1e-10)


def test_multi_contact_film_metal_reach_per_terminal(tmp_path):
    """Three point contacts, 4 mA from a to b, c floating: metal forms at the contacts that
    carry current (more at the negative one, b: the Peltier asymmetry), none at the probe;
    the probe sits between the two potentials; the API gives the same numbers as summary.json."""
    import fem_peltier as fp

    cfg = fp.load_config(MESHES / "multi_contact_film.toml", overrides=["solver.linear_solver=mumps"])
    res = fp.run(cfg)
    s = res.summary
    assert s["converged"], s["reason"]
    t = s["terminals"]
    assert t["b"]["metal_reach_m"] > t["a"]["metal_reach_m"] > 0.0
    assert t["c"]["metal_reach_m"] == 0.0
    assert t["b"]["metal_reach_m"] < 1e-3  # within the film
    assert 0.0 < t["c"]["potential_V"] < t["a"]["potential_V"]
    assert abs(t["a"]["current_A"] + t["b"]["current_A"] + t["c"]["current_A"]) < 1e-10 * 4e-3
    assert s["metal_reach_negative_m"] == t["b"]["metal_reach_m"]
    assert s["metal_reach_positive_m"] == t["a"]["metal_reach_m"]
    assert res.problem.cfg.geometry.length == pytest.approx(1e-3)  # the film's bounding box


@pytest.mark.parametrize(
    ("edit", "key", "text"),
    [
        (lambda toml, geo: toml.replace('name = "probe2"', 'name = "probe9"'), "drive.terminal", "electrode_probe9"),
        (lambda toml, geo: toml.replace('name = "probe2"\nfloating = true\n', 'name = "probe2"\n'), "drive.terminal",
         "exactly one of"),
        (lambda toml, geo: toml.replace("four_probe_bar.geo", "missing.geo"), "mesh.geo", "missing.geo"),
        (lambda toml, geo: toml.replace("voltage = 0.0", "floating = true"), "drive.terminal", "needs a voltage"),
    ],
)
def test_bad_device_input_is_one_line_exit_2(tmp_path, edit, key, text):
    toml = _bar(tmp_path)
    toml.write_text(edit(toml.read_text(), None))
    proc = fem("run", str(toml), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert key in proc.stderr and text in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_unnamed_electrode_and_broken_script_are_input_errors(tmp_path):
    toml = _bar(tmp_path)
    # a contact of the mesh that no terminal names
    text = toml.read_text()
    toml.write_text(text[: text.index('[[drive.terminal]]\nname = "probe2"')])
    proc = fem("run", str(toml), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and "electrode_probe2 has no [[drive.terminal]]" in proc.stderr
    # a .geo gmsh cannot read
    toml.write_text(text)
    (tmp_path / "four_probe_bar.geo").write_text("Box(1) = {0, 0;\n")
    proc = fem("run", str(toml), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and "mesh.geo" in proc.stderr and "gmsh could not mesh it" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_mesh_command_saves_the_script_mesh_for_mesh_file(serial, tmp_path):
    """`fem-peltier mesh` on a mesh.geo case writes its (checked) .msh; mesh.file runs it the same."""
    toml = _bar(tmp_path)
    proc = fem("mesh", str(toml), "--out", str(tmp_path / "bar.msh"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not list(tmp_path.glob(".*partial*"))
    text = toml.read_text().replace('geo = "four_probe_bar.geo"', 'file = "bar.msh"')
    (tmp_path / "from_msh.toml").write_text(text)
    proc = fem("run", "from_msh.toml", "--out", "out", *FAST, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["cells"] == serial["cells"]
    for name, v in serial["terminals"].items():
        assert s["terminals"][name]["potential_V"] == pytest.approx(v["potential_V"], rel=1e-9)
    # a mesh.file case has nothing to mesh
    proc = fem("mesh", "from_msh.toml", "--out", str(tmp_path / "again.msh"), cwd=tmp_path)
    assert proc.returncode == 2 and "mesh.file" in proc.stderr and not (tmp_path / "again.msh").exists()


def test_drive_current_with_units_sets_the_driven_terminal():
    """--set drive.current="20 uA" on a terminal case drives the main terminal (units converted);
    a voltage for it is refused naming drive.current."""
    import fem_peltier as fp
    from fem_peltier.errors import InputError

    cfg = fp.load_config(MESHES / "four_probe_bar.toml", overrides=["drive.current=20 uA"])
    assert cfg.drive.current == pytest.approx(2e-5) and cfg.drive.terminal[0].current == pytest.approx(2e-5)
    with pytest.raises(InputError, match="drive.current"):
        fp.load_config(MESHES / "four_probe_bar.toml", overrides=["drive.current=20 mV"])
