"""`fem-peltier sweep`: range parsing, table/resume/refusal logic against a stand-in solver,
the switching report, and a real hysteresis ramp on a coarse fig2a mesh (killed and resumed)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from fem_peltier import cli, sweep
from fem_peltier.errors import InputError, SolverError
import cli_runner  # tests/cli_runner.py

COARSE = ["--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5"]


def fem(*args: str, cwd: Path, timeout: float = 300, launcher: list[str] | None = None):
    """The shared CLI runner with a longer default timeout: sweeps run several points."""
    return cli_runner.fem(*args, cwd=cwd, timeout=timeout, launcher=launcher)


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize("text, expected", [
    ("0.005, 0.01,-0.01", [0.005, 0.01, -0.01]),
    ("0:0.02:5", [0.0, 0.005, 0.01, 0.015, 0.02]),
    ("0:0.02:5,0.02:0:5", [0.0, 0.005, 0.01, 0.015, 0.02, 0.015, 0.01, 0.005, 0.0]),
    ("0.001,0.002:0.004:3", [0.001, 0.002, 0.003, 0.004]),
    ("0.001:0.003:3,0.003,0.001", [0.001, 0.002, 0.003, 0.001]),  # range end shared with the next item
    ("-0.001:-0.003:3", [-0.001, -0.002, -0.003]),
    ("0.01,0.02,0.01", [0.01, 0.02, 0.01]),  # repeats that are not adjacent are fine
    ("0:0.03:31", [round(0.001 * k, 12) for k in range(31)]),
])
def test_parse_values(text, expected):
    assert sweep.parse_values(text) == expected


def test_values_are_stored_as_given():
    """Listed values and range ends are the numbers the user wrote (no rounding to 12 digits, no
    float noise); range points in between are the decimal values start + k (stop - start)/(n - 1)."""
    given = "0.0123456789012345"
    assert sweep.parse_values(f"{given},0.002") == [float(given), 0.002]
    assert sweep.parse_values(f"0.001:{given}:2") == [0.001, float(given)]
    assert sweep.parse_values("0.1:0.7:7") == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert sweep.parse_values("1e-3:2e-3:5") == [0.001, 0.00125, 0.0015, 0.00175, 0.002]
    assert [repr(v) for v in sweep.parse_values("0.0015:0.0025:3")] == ["0.0015", "0.002", "0.0025"]
    assert sweep.parse_values("0:1:4")[1:3] == [1 / 3, 2 / 3]


def test_ranges_are_exact_on_the_way_back():
    values = sweep.parse_values("0:0.021:8,0.021:0:8")
    up, down = values[:8], values[7:]
    assert up == down[::-1]


@pytest.mark.parametrize("text", ["", ",", "0.01,,0.02", "abc", "0.01,0.01", "0:1", "0:1:1", "0:1:x", "1:1:3",
                                  "0:1:2:3", "inf", "0:nan:3"])
def test_parse_values_rejects(text):
    with pytest.raises(InputError) as exc:
        sweep.parse_values(text, "--voltages")
    assert exc.value.key == "--voltages"


def test_directions_and_ramps():
    values = sweep.parse_values("0:0.02:3,0.02:-0.02:5,-0.02:0:3")  # 0 .01 .02 .01 0 -.01 -.02 -.01 0
    assert sweep.directions(values) == ["up", "up", "up", "down", "down", "up", "up", "down", "down"]
    r = sweep.ramps(values)
    assert [(x["direction"], x["polarity"], x["points"], x["anchor"]) for x in r] == [
        ("up", "+", [0, 1, 2], None), ("down", "+", [3, 4], 2), ("up", "-", [5, 6], 4), ("down", "-", [7, 8], 6)]


# ---------------------------------------------------------------------------------------
# Switching report from a synthetic table


def _row(i, current, mf, rng, direction, converged=True):
    return {"point": str(i), "direction": direction, "current_set_A": repr(current), "current_A": repr(current),
            "voltage_V": repr(2.0 + current), "metal_fraction": repr(mf), "converged": "true" if converged else "false",
            "metal_max_depth_m": repr(1e-5 if mf > 0 else 0.0),
            "metal_top_x_range_m": json.dumps(rng) if rng else "", "run_dir": f"p{i}"}


def test_switching_report_synthetic():
    up = [(0.001, 0.0, None), (0.002, 0.0, None), (0.003, 0.01, [0.0, 1e-4]), (0.004, 0.05, [0.0, 1e-3])]
    down = [(0.003, 0.045, [0.0, 1e-3]), (0.002, 0.04, [0.0, 1e-3]), (0.001, 0.0, None)]
    rows = [_row(i, c, m, r, "up") for i, (c, m, r) in enumerate(up)]
    rows += [_row(i + 4, c, m, r, "down") for i, (c, m, r) in enumerate(down)]
    rows += [_row(7, -0.002, 0.0, None, "up"), _row(8, -0.004, 0.04, [0.9e-3, 1e-3], "up")]
    rep = sweep.switching_report(rows, "current_set_A", 1e-3)
    up_r, down_r, neg = rep["ramps"]
    assert up_r["switch"]["between"] == [0.002, 0.003] and up_r["switch"]["kind"] == "metal appears"
    assert down_r["switch"]["between"] == [0.002, 0.001] and down_r["switch"]["kind"] == "metal vanishes"
    assert down_r["largest_jump"]["points"] == [5, 6]  # the drop from 0.04 to 0 (the turn 3 -> 4 is small)
    pos = rep["polarities"]["+"]
    assert pos["switch_up"] == pytest.approx(0.0025) and pos["switch_down"] == pytest.approx(0.0015)
    assert pos["loop_width"] == pytest.approx(0.001) and pos["loop_width_uncertainty"] == pytest.approx(0.001)
    assert pos["first_metal"]["point"] == 2 and pos["first_metal"]["side"] == "negative"
    assert rep["polarities"]["-"]["first_metal"]["side"] == "positive"
    assert neg["switch"]["between"] == [-0.002, -0.004]
    text = sweep.format_report(rep)
    assert "loop width" in text and "negative side" in text and "positive side" in text


# ---------------------------------------------------------------------------------------
# Table, resume and refusal against a stand-in solver


class FakeBackend:
    """Replaces sweep.SolverBackend: a toy hysteretic film (metal above 9 mA, kept down to 5 mA)."""

    calls: list[tuple[float, bool]] = []
    restored: list[Path] = []

    def __init__(self, cfg, fail_at=None, converged=True):
        self.fail_at, self.converged, self.metal = fail_at, converged, None

    def solve(self, pcfg, pdir, warm, pictures=True):
        assert pcfg.geometry.electrode_length is not None  # resolved
        value = pcfg.drive.current if pcfg.drive.current is not None else pcfg.drive.voltage
        self.calls.append((value, warm))
        if self.fail_at is not None and value == self.fail_at:
            raise SolverError("linear solve failed")
        had = bool(warm and self.metal)
        metal = abs(value) > 0.009 or (had and abs(value) > 0.005)
        pdir.mkdir(parents=True, exist_ok=True)
        summary = {"converged": self.converged, "iterations": 3, "reason": "ok", "current_A": value,
                   "voltage_V": 1.5, "T_max_K": 350.0, "metal_fraction": 0.1 if metal else 0.0,
                   "metal_top_x_range_m": [0.0, 1e-4] if metal else None, "metal_max_depth_m": 1e-5 if metal else 0.0,
                   "metal_fraction_history": [0.1], "ranks": 1}
        (pdir / "summary.json").write_text(json.dumps(summary))
        (pdir / sweep.STATE_FILE).write_text("fake")
        self.metal = metal
        return self.converged, summary, warm

    def restore(self, pcfg, path):
        assert path.is_file()
        self.restored.append(path)
        self.metal = True

    def write_series(self, out, entries, cfg):
        (out / sweep.FIELDS_XDMF).write_text(json.dumps([t for t, _ in entries]))


@pytest.fixture
def fake(monkeypatch, tmp_path):
    def install(**kw):
        FakeBackend.calls, FakeBackend.restored = [], []
        monkeypatch.setattr(sweep, "make_backend", lambda cfg: FakeBackend(cfg, **kw))
        return FakeBackend

    monkeypatch.chdir(tmp_path)
    return install


def test_sweep_table_and_resume(fake, tmp_path):
    solver = fake()
    args = ["sweep", "--preset", "fig2d", "--set", "mesh.size=1e-4", "--out", "sw"]
    assert cli.main(args + ["--currents", "0.005:0.01:2"]) == 0
    rows = rows_of(tmp_path / "sw" / "sweep.csv")
    assert [float(r["current_set_A"]) for r in rows] == [0.005, 0.01]
    assert [r["point"] for r in rows] == ["0", "1"] and [r["direction"] for r in rows] == ["up", "up"]
    assert rows[0]["metal_top_x_range_m"] == "" and json.loads(rows[1]["metal_top_x_range_m"]) == [0.0, 1e-4]
    assert rows[0]["converged"] == "true" and float(rows[0]["T_max_K"]) == 350.0
    assert "metal_fraction_history" not in rows[0]  # lists other than the metal extent stay out of the table
    assert all((tmp_path / "sw" / r["run_dir"] / "summary.json").is_file() for r in rows)
    assert not list((tmp_path / "sw").glob(".*tmp*"))
    stored = tomllib.loads((tmp_path / "sw" / "sweep_config.toml").read_text())
    assert stored["geometry"]["width"] == 5e-4 and "current" not in stored["drive"]
    assert stored["sweep"] == {"parameter": "current", "warm_start": True}
    assert solver.calls == [(0.005, True), (0.01, True)]

    # without --resume the directory is refused; with it only the new points run, warm from the checkpoint
    assert cli.main(args + ["--currents", "0.005:0.01:2,0.006"]) == 2
    assert cli.main(args + ["--currents", "0.005:0.01:2,0.006", "--resume"]) == 0
    assert solver.calls[2:] == [(0.006, True)]
    assert solver.restored == [Path("sw") / rows[1]["run_dir"] / sweep.STATE_FILE]
    rows = rows_of(tmp_path / "sw" / "sweep.csv")
    assert [float(r["current_set_A"]) for r in rows] == [0.005, 0.01, 0.006]
    assert [r["direction"] for r in rows] == ["up", "up", "down"]
    assert rows[2]["metal_fraction"] == "0.1"  # the down branch kept its metal (warm start)
    # the report was rebuilt from the whole table
    rep = json.loads((tmp_path / "sw" / "switching.json").read_text())
    assert rep == sweep.switching_report(rows, "current_set_A", 1e-3)
    for name in (sweep.PLOT_VI, sweep.PLOT_METAL, sweep.PLOT_BOUNDARIES):
        assert (tmp_path / "sw" / name).stat().st_size > 0

    # everything already done: --resume runs nothing
    n = len(solver.calls)
    assert cli.main(args + ["--currents", "0.005:0.01:2,0.006", "--resume"]) == 0
    assert len(solver.calls) == n


def test_negative_values_without_equals(fake, tmp_path):
    """`--currents -0.002,...` (no `=`) is a value, not an unknown option; ranges too."""
    solver = fake()
    args = ["sweep", "--preset", "fig2d", "--set", "mesh.size=1e-4", "--no-pictures", "-q"]
    assert cli.main([*args, "--currents", "-0.002,-0.004", "--out", "neg"]) == 0
    assert [c for c, _ in solver.calls] == [-0.002, -0.004]
    solver = fake()
    assert cli.main([*args, "--set", "drive.current=none", "--set", "drive.voltage=1.0",
                     "--voltages", "-1:-3:3", "--out", "negv"]) == 0
    assert [c for c, _ in solver.calls] == [-1.0, -2.0, -3.0]


def test_overwrite_replaces_a_sweep(fake, tmp_path):
    """`sweep --overwrite` starts the sweep in DIR again (as `run --overwrite` replaces a run);
    without it DIR is refused as before; it never deletes a directory that is not a sweep."""
    solver = fake()
    args = ["sweep", "--preset", "fig2d", "--set", "mesh.size=1e-4", "--no-pictures", "-q", "--out", "sw"]
    assert cli.main([*args, "--currents", "0.005,0.01"]) == 0
    assert cli.main([*args, "--currents", "0.002"]) == 2  # exists: refused, untouched
    assert len(rows_of(tmp_path / "sw" / "sweep.csv")) == 2
    assert cli.main([*args, "--currents", "0.002", "--overwrite", "--resume"]) == 2
    solver = fake()
    assert cli.main([*args, "--currents", "0.002", "--overwrite"]) == 0
    assert [c for c, _ in solver.calls] == [0.002]
    rows = rows_of(tmp_path / "sw" / "sweep.csv")
    assert [r["current_set_A"] for r in rows] == ["0.002"]
    assert sorted(p.name for p in (tmp_path / "sw").iterdir() if p.name.startswith("point_")) == [rows[0]["run_dir"]]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the old sweep is gone, no trash left
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert cli.main([*args[:-1], "notes", "--currents", "0.002", "--overwrite"]) == 2
    assert (other / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("change, key", [
    (["--preset", "fig2a"], "geometry.width"),                                 # another case
    (["--preset", "fig2d", "--set", "material.kappa=0.2"], "material.kappa"),  # one key changed
    (["--preset", "fig2d", "--from-scratch"], "sweep.warm_start"),             # another protocol
    (["--preset", "fig2d", "--set", "drive.load_resistance=10"], "drive.load_resistance"),
])
def test_resume_refuses_another_configuration(fake, tmp_path, change, key):
    fake()
    assert cli.main(["sweep", "--preset", "fig2d", "--out", "sw", "--currents", "0.01"]) == 0
    before = (tmp_path / "sw" / "sweep.csv").read_text()
    proc = fem("sweep", *change, "--currents", "0.01,0.02", "--out", "sw", "--resume", cwd=tmp_path, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "sweep_config.toml" in lines[0] and key in lines[0], lines[0]
    assert (tmp_path / "sw" / "sweep.csv").read_text() == before


def test_resume_refuses_other_points_and_voltage(fake, tmp_path):
    fake()
    assert cli.main(["sweep", "--preset", "fig2d", "--out", "sw", "--currents", "0.01,0.02"]) == 0
    for extra, key in ((["--currents", "0.01,0.03"], "--currents"), (["--currents", "0.01"], "--currents"),
                       (["--voltages", "1,2"], "sweep.parameter")):
        proc = fem("sweep", "--preset", "fig2d", *extra, "--out", "sw", "--resume", cwd=tmp_path, timeout=60)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert key in proc.stderr


def test_not_a_sweep_directory(fake, tmp_path):
    fake()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    assert cli.main(["sweep", "--preset", "fig2a", "--out", "other", "--currents", "0.01", "--resume"]) == 2
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["notes.txt"]


def test_failed_and_unconverged_points(fake, tmp_path):
    fake(fail_at=0.01)
    assert cli.main(["sweep", "--preset", "fig2a", "--out", "sw", "--currents", "0.005,0.01,0.012"]) == 3
    rows = rows_of(tmp_path / "sw" / "sweep.csv")
    assert [r["converged"] for r in rows] == ["true", "false", "true"]
    assert "linear solve failed" in rows[1]["reason"]
    fake(converged=False)
    assert cli.main(["sweep", "--preset", "fig2a", "--out", "sw2", "--currents", "0.005"]) == 3


def test_voltage_sweep_table(fake, tmp_path):
    solver = fake()
    assert cli.main(["sweep", "--preset", "fig2a", "--set", "drive.load_resistance=100", "--out", "sv",
                     "--voltages", "1:3:3,3:1:3", "--from-scratch"]) == 0
    rows = rows_of(tmp_path / "sv" / "sweep.csv")
    assert [float(r["voltage_set_V"]) for r in rows] == [1.0, 2.0, 3.0, 2.0, 1.0]
    assert rows[0]["run_dir"] == "point_000_V=1V"
    assert [w for _, w in solver.calls] == [False] * 5
    stored = tomllib.loads((tmp_path / "sv" / "sweep_config.toml").read_text())
    assert stored["drive"]["load_resistance"] == 100 and stored["sweep"]["parameter"] == "voltage"
    # repeated values: the field series is indexed by point number instead of the voltage
    assert json.loads((tmp_path / "sv" / sweep.FIELDS_XDMF).read_text()) == [0.0, 1.0, 2.0, 3.0, 4.0]


# ---------------------------------------------------------------------------------------
# The real solver: a hysteresis ramp on a coarse fig2a mesh, killed after its first point
# and resumed; then its branches, outputs and report.

HYST = ["--preset", "fig2a", *COARSE, "--set", "material.hysteresis=20", "--no-pictures"]
RAMP = "0.002:0.004:3,0.004:0.002:3"  # 2, 3, 4, 3, 2 mA


def _have_dolfinx() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("dolfinx", "gmsh"))


needs_dolfinx = pytest.mark.skipif(not _have_dolfinx(), reason="needs DOLFINx and gmsh")


@pytest.fixture(scope="module")
def ramp(tmp_path_factory):
    """Run the ramp, SIGTERM it once its first row exists, resume it; also one from-scratch point."""
    cwd = tmp_path_factory.mktemp("ramp")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(cli_runner.CHECKOUT)  # this checkout's package, as cli_runner.fem runs it
    cmd = [sys.executable, "-m", "fem_peltier", "sweep", *HYST, "--currents", RAMP, "--out", "sw"]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    table = cwd / "sw" / "sweep.csv"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not (table.is_file() and rows_of(table)):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, killed_err = proc.communicate(timeout=120)
    killed = {"code": proc.returncode, "rows": rows_of(table), "stderr": killed_err,
              "hidden": [p.name for p in (cwd / "sw").iterdir() if p.name.startswith(".")]}
    resumed = fem("sweep", *HYST, "--currents", RAMP, "--out", "sw", "--resume", cwd=cwd)
    scratch = fem("sweep", *HYST, "--from-scratch", "--currents", "0.003", "--out", "scratch", cwd=cwd)
    return {"cwd": cwd, "killed": killed, "resumed": resumed, "scratch": scratch}


@needs_dolfinx
def test_killed_sweep_resumes_without_lost_or_duplicated_rows(ramp):
    killed, resumed = ramp["killed"], ramp["resumed"]
    assert killed["code"] != 0, "the sweep finished before it could be killed"
    assert killed["code"] == 143 and "fem-peltier: error: terminated (SIGTERM)" in killed["stderr"], killed["stderr"]
    assert 1 <= len(killed["rows"]) < 5
    kept = f"fem-peltier: {len(killed['rows'])} of 5 points kept in sw"
    assert kept in killed["stderr"] and "--resume" in killed["stderr"], killed["stderr"]
    assert not killed["hidden"], killed["hidden"]  # no half-written run directory or table left behind
    assert resumed.returncode == 0, resumed.stderr
    rows = rows_of(ramp["cwd"] / "sw" / "sweep.csv")
    assert [r["point"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert [float(r["current_set_A"]) for r in rows] == [0.002, 0.003, 0.004, 0.003, 0.002]
    assert rows[: len(killed["rows"])] == killed["rows"]  # completed rows kept as they were
    assert [r["direction"] for r in rows] == ["up", "up", "up", "down", "down"]
    assert all(r["converged"] == "true" for r in rows)
    assert [r["warm_start"] for r in rows] == ["false"] + ["true"] * 4  # warm also right after the resume
    dirs = sorted(p.name for p in (ramp["cwd"] / "sw").iterdir() if p.name.startswith("point_"))
    assert dirs == sorted(r["run_dir"] for r in rows)


@needs_dolfinx
def test_warm_branch_differs_from_scratch_with_hysteresis(ramp):
    rows = rows_of(ramp["cwd"] / "sw" / "sweep.csv")
    assert ramp["scratch"].returncode == 0, ramp["scratch"].stderr
    (scratch,) = rows_of(ramp["cwd"] / "scratch" / "sweep.csv")
    assert scratch["warm_start"] == "false"
    up, down = rows[1], rows[3]  # both at 3 mA
    mf_up, mf_down, mf_scratch = (float(r["metal_fraction"]) for r in (up, down, scratch))
    # on the way down the metal survives where the up ramp / a cold start has much less of it
    assert mf_down > 1.3 * mf_up, (mf_up, mf_down)
    assert mf_down > 1.3 * mf_scratch, (mf_scratch, mf_down)
    assert mf_scratch == pytest.approx(mf_up, rel=0.1)
    assert float(rows[4]["metal_fraction"]) > float(rows[0]["metal_fraction"])  # 2 mA: more metal on the way down


@needs_dolfinx
def test_plots_fields_and_switching_report(ramp):
    out = ramp["cwd"] / "sw"
    for name in (sweep.PLOT_VI, sweep.PLOT_METAL, sweep.PLOT_BOUNDARIES, "sweep_fields.h5"):
        assert (out / name).stat().st_size > 0, name
    xdmf = (out / sweep.FIELDS_XDMF).read_text()
    assert xdmf.count("/Function/temperature_K/") == 5 and xdmf.count("/Function/phase/") == 5
    rows = rows_of(out / "sweep.csv")
    rep = json.loads((out / sweep.SWITCHING_JSON).read_text())
    assert rep == json.loads(json.dumps(sweep.switching_report(rows, "current_set_A", 1e-3)))
    up, down = rep["ramps"]
    assert (up["direction"], down["direction"]) == ("up", "down")
    for e, grows in ((up, True), (down, False)):
        if e["switch"] is not None:  # metal appears (up) / vanishes (down) between these two points
            a, b = e["switch"]["points"]
            assert (sweep.metal_present(rows[a]), sweep.metal_present(rows[b])) == (not grows, grows)
        jump = e["largest_jump"]
        a, b = jump["points"]
        delta = float(rows[b]["metal_fraction"]) - float(rows[a]["metal_fraction"])
        assert jump["delta_metal_fraction"] == pytest.approx(delta) and (delta > 0) == grows
    pos = rep["polarities"]["+"]
    first = next(i for i, r in enumerate(rows) if sweep.metal_present(r))
    assert pos["first_metal"]["point"] == first and pos["first_metal"]["side"] == "negative"
    if "loop_width" in pos:
        assert pos["loop_width"] == pytest.approx(abs(pos["switch_up"] - pos["switch_down"]))
    assert "switching report" in ramp["resumed"].stdout and "negative side" in ramp["resumed"].stdout


@needs_dolfinx
def test_sweep_fields_pvd_opens_in_pyvista_without_dolfinx(ramp):
    """sweep_fields.pvd lists one whole-mesh .vtu per point (T point data, phase and cell tags
    cell data) at the times of sweep_fields.xdmf; each point's T max is its row's T_max_K.
    Every point directory has its own fields.vtu too."""
    from vtk_check import read_in_subprocess

    out = ramp["cwd"] / "sw"
    rows = rows_of(out / "sweep.csv")
    pvd = out / sweep.FIELDS_PVD
    got = read_in_subprocess(pvd)[str(pvd)]
    assert got["read"] == "MultiBlock"  # pyvista.read of a .pvd: the first time
    assert got["times"] == [0.0, 1.0, 2.0, 3.0, 4.0]  # currents repeat on the way down: the point index
    assert sorted(p.name for p in (out / sweep.FIELDS_VTU_DIR).iterdir()) == [f"step_{i:05d}.vtu" for i in range(5)]
    for row, g in zip(rows, got["steps"]):
        assert g["type"] == "UnstructuredGrid" and g["cells"] == int(row["cells"])
        assert g["point"]["temperature_K"][2] == pytest.approx(float(row["T_max_K"]), rel=1e-9)
        assert sorted(g["cell"]) == ["cell_tags", "phase"] and g["cell"]["phase"][0] == [g["cells"]]
        assert (g["cell"]["phase"][2] >= 0.5) == (float(row["metal_fraction"]) > 0)
    assert all((out / r["run_dir"] / "fields.vtu").is_file() for r in rows)


def _mpirun() -> str | None:
    local = Path(sys.executable).parent / "mpirun"
    return str(local) if local.exists() else shutil.which("mpirun")


@needs_dolfinx
@pytest.mark.mpi
@pytest.mark.skipif(_mpirun() is None, reason="no mpirun")
def test_sweep_under_mpi(tmp_path):
    """Two ranks: a warm-started voltage sweep with a load resistor, then a resume that extends it."""
    args = ["sweep", "--preset", "fig2a", *COARSE, "--set", "drive.load_resistance=200", "--no-pictures", "--out", "sw"]
    launcher = [_mpirun(), "-n", "2"]
    proc = fem(*args, "--voltages", "2,3", cwd=tmp_path, launcher=launcher)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("switching report") == 1  # rank 0 only
    proc = fem(*args, "--voltages", "2,3,2.5", "--resume", cwd=tmp_path, launcher=launcher)
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(tmp_path / "sw" / "sweep.csv")
    assert [float(r["voltage_set_V"]) for r in rows] == [2.0, 3.0, 2.5]
    assert [r["ranks"] for r in rows] == ["2"] * 3 and rows[2]["warm_start"] == "true"
    for r in rows:  # source voltage = film voltage + I R
        assert float(r["source_voltage_V"]) == pytest.approx(float(r["voltage_set_V"]), rel=1e-6)
    assert (tmp_path / "sw" / sweep.FIELDS_XDMF).is_file() and (tmp_path / "sw" / sweep.SWITCHING_JSON).is_file()
    from vtk_check import read_in_subprocess

    pvd = tmp_path / "sw" / sweep.FIELDS_PVD  # rewritten by the resume: three points, the whole mesh each
    got = read_in_subprocess(pvd)[str(pvd)]
    assert got["times"] == [2.0, 2.5, 3.0]  # a reader orders the steps by time (the voltage here)
    by_voltage = {float(r["voltage_set_V"]): r for r in rows}
    for t, g in zip(got["times"], got["steps"]):
        assert g["cells"] == int(by_voltage[t]["cells"])
        assert g["point"]["temperature_K"][2] == pytest.approx(float(by_voltage[t]["T_max_K"]), rel=1e-9)
