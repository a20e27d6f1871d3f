"""`fem-peltier transient` end to end: it ends at the steady solver's answer, mirrors under
polarity reversal, gives the same series under mpirun -n 2, resumes a killed run without
lost or duplicated steps, writes files PyVista opens without DOLFINx, and refuses bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cli_runner
from cli_runner import fem, mpirun, python

MIRROR = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]  # test_polarity's mirror-symmetric coarse fig2a
# a short pulse on a coarser fig2a: metal forms during the pulse and goes after it
PULSE = [
    "--preset", "fig2a", "--set", "mesh.size=2e-4", "--set", "mesh.electrode_size=4e-5",
    "--set", "drive.waveform=\"pulse\"", "--set", "drive.period=2.0", "--set", "drive.duty=0.4",
    "--set", "drive.rise_time=0.05", "--set", "time.t_end=1.6", "--set", "time.checkpoint_every=5",
    "--set", "time.output_every=\"10 steps\"",
]


def _rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        return []
    return [line.split(",") for line in path.read_text().splitlines()[1:] if line]


def _series(path: Path) -> dict[str, np.ndarray]:
    from fem_peltier.transient_output import read_timeseries

    return read_timeseries(path)


def test_dc_transient_ends_at_the_steady_answer():
    """fig2a at 10 mA from T0: the transient reaches the steady state of `run` (relative 1e-6 asked;
    measured 2e-13 on T_max, V and the metal fraction), and its energy closes."""
    import fem_peltier as fp
    from fem_peltier.simulation import run

    cfg = fp.load_config(
        preset="fig2a", overrides=[*MIRROR, "drive.current=0.01", "time.stop_at_steady=true", "time.t_end=200"]
    )
    steady = run(cfg, pictures=False).summary
    res = fp.run_transient(cfg, pictures=False)
    s = res.summary
    assert s["converged"] and s["final_state"] == "steady", s["reason"]
    for key in ("T_max_K", "voltage_V", "metal_fraction"):
        assert abs(s[key] - steady[key]) <= 1e-6 * abs(steady[key]), (key, s[key], steady[key])
    assert s["switching_time_s"] is not None and 0 < s["switching_time_s"] < s["time_reached_s"]
    assert s["heat_balance_rel"] < 1e-5


@pytest.fixture(scope="module")
def mirrored():
    """fig2a transients at +-10 mA for 0.5 s on the mirror mesh (serial)."""
    from mpi4py import MPI

    import fem_peltier as fp

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("serial test")
    out = {}
    for sign in (+1, -1):
        cfg = fp.load_config(preset="fig2a", overrides=[*MIRROR, f"drive.current={sign * 0.01!r}", "time.t_end=0.5"])
        out[sign] = fp.run_transient(cfg, pictures=False)
    return out


def test_polarity_reversal_mirrors_the_transient(mirrored):
    """x -> L - x maps the run at -I onto the run at +I at every step (the same adaptive steps)."""
    a, b = mirrored[+1].summary, mirrored[-1].summary
    assert a["time_steps"] == b["time_steps"] and a["rejected_steps"] == b["rejected_steps"]
    for key in ("T_max_K", "metal_fraction", "T_mean_K", "heat_peltier_W", "stored_energy_J"):
        assert b[key] == pytest.approx(a[key], rel=1e-7, abs=1e-12), key
    assert b["voltage_V"] == pytest.approx(-a["voltage_V"], rel=1e-7)
    assert a["metal_fraction"] > 0.01
    # the metal sits at the other electrode
    assert a["metal_reach_negative_m"] == pytest.approx(b["metal_reach_positive_m"], rel=1e-6)


def test_transient_api_returns_state_and_counts(mirrored):
    r = mirrored[+1]
    s = r.summary
    assert r.converged and s["transient"] is True and s["time_reached_s"] == pytest.approx(0.5)
    assert s["newton_steps_per_time_step"] < 6
    assert r.problem.storage is not None
    assert r.timeseries == {}  # the series is read back from the files a run writes (out=None here)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """The pulse through the CLI: uninterrupted; killed by SIGTERM after a checkpoint and resumed."""
    cwd = tmp_path_factory.mktemp("transient")
    whole = fem("transient", *PULSE, "--out", "whole", cwd=cwd, timeout=600)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(cli_runner.CHECKOUT)
    cmd = [sys.executable, "-m", "fem_peltier", "transient", *PULSE, "--out", "killed"]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    table = cwd / "killed" / "timeseries.csv"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and len(_rows(table)) < 13:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    killed = {"code": proc.returncode, "rows": len(_rows(table)), "stderr": err}
    resumed = fem("transient", *PULSE, "--out", "killed", "--resume", cwd=cwd, timeout=600)
    return {"cwd": cwd, "whole": whole, "killed": killed, "resumed": resumed}


def test_cli_transient_outputs(cli_runs):
    cwd, whole = cli_runs["cwd"], cli_runs["whole"]
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert "transient completed" in whole.stdout and "metal first at t =" in whole.stdout
    out = cwd / "whole"
    for name in ("summary.json", "timeseries.csv", "fields_time.pvd", "transient.png", "trajectory.png",
                 "state.npz", "config.toml", "top_T.png"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    ts = _series(out / "timeseries.csv")
    assert len(ts["t_s"]) == s["time_steps"] and ts["t_s"][-1] == pytest.approx(1.6)
    assert np.all(np.diff(ts["t_s"]) > 0)
    for key in ("voltage_V", "current_A", "source_voltage_V", "T_max_K", "T_mean_K", "T_top_mean_K",
                "metal_fraction", "heat_joule_W", "heat_peltier_W", "heat_to_sink_W", "heat_storage_W",
                "stored_energy_J", "newton_steps", "dt_s"):
        assert key in ts, key
    # the corners of the pulse are steps: 0.05 (top reached), 0.8 (fall starts), 0.85 (off)
    for corner in (0.05, 0.8, 0.85):
        assert np.min(np.abs(ts["t_s"] - corner)) < 1e-12, corner
    # the drive follows the waveform: full current on the plateau, none after the pulse
    plateau = (ts["t_s"] > 0.06) & (ts["t_s"] < 0.79)
    assert np.allclose(ts["current_A"][plateau], 0.01, rtol=1e-9)
    assert np.allclose(ts["current_A"][ts["t_s"] > 0.86], 0.0, atol=1e-12)
    assert s["switching_time_s"] is not None and s["switching_time_s"] < 0.8
    assert ts["metal_fraction"][plateau].max() > 0.01 and ts["metal_fraction"][-1] < 1e-3  # the metal goes again
    assert s["energy_balance_rel"] < 0.02
    assert np.all(ts["heat_balance_rel"] < 1e-5)  # closes to the Newton tolerance of a step (1e-6)


def test_field_frames_open_in_pyvista_without_dolfinx(cli_runs):
    out = cli_runs["cwd"] / "whole"
    script = (
        "import sys, json\n"
        "import pyvista as pv\n"
        "r = pv.PVDReader('fields_time.pvd')\n"
        "times = list(r.time_values)\n"
        "r.set_active_time_value(times[-1])\n"
        "mesh = r.read()[0]\n"
        "print(json.dumps({'dolfinx': 'dolfinx' in sys.modules, 'times': times, 'n': mesh.n_cells,\n"
        "  'point': sorted(mesh.point_data.keys()), 'cell': sorted(mesh.cell_data.keys())}))\n"
    )
    proc = python("-c", script, cwd=out, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not got["dolfinx"]
    assert got["times"][0] == 0.0 and got["times"][-1] == pytest.approx(1.6) and len(got["times"]) >= 3
    assert "temperature_K" in got["point"] and "phase" in got["cell"] and got["n"] > 100
    # every frame is one .vtu of the whole mesh; the last one is the final state of summary.json
    from vtk_check import read_in_subprocess

    s = json.loads((out / "summary.json").read_text())
    frames = read_in_subprocess(out / "fields_time.pvd")[str(out / "fields_time.pvd")]
    assert frames["times"] == got["times"]
    assert sorted(p.name for p in (out / "fields").iterdir()) == [f"frame_{i:05d}.vtu" for i in range(len(got["times"]))]
    for g in frames["steps"]:
        assert g["type"] == "UnstructuredGrid" and g["cells"] == s["cells"]
        assert sorted(g["cell"]) == ["cell_tags", "current_density_A_m2", "joule_heat_W_m3", "peltier_heat_W_m2",
                                     "phase", "potential_V"]
    assert frames["steps"][-1]["point"]["temperature_K"][2] == pytest.approx(s["T_max_K"], rel=1e-9)
    assert frames["steps"][0]["point"]["temperature_K"][1:] == [300.0, 300.0]  # t = 0: T0 everywhere


def test_killed_transient_resumes_without_lost_or_duplicated_steps(cli_runs):
    killed, resumed = cli_runs["killed"], cli_runs["resumed"]
    assert killed["code"] == 143, killed["stderr"][-2000:]
    assert "--resume" in killed["stderr"]
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a = _series(cli_runs["cwd"] / "whole" / "timeseries.csv")
    b = _series(cli_runs["cwd"] / "killed" / "timeseries.csv")
    assert len(b["t_s"]) == len(a["t_s"]) and killed["rows"] < len(a["t_s"])
    np.testing.assert_allclose(b["t_s"], a["t_s"], rtol=1e-9)
    for key in ("T_max_K", "voltage_V", "metal_fraction"):
        np.testing.assert_allclose(b[key], a[key], rtol=1e-7, atol=1e-12)
    s = json.loads((cli_runs["cwd"] / "killed" / "summary.json").read_text())
    assert s["resumed"] is True and s["energy_balance_rel"] is not None
    from fem_peltier.transient_output import read_frame_times

    assert read_frame_times(cli_runs["cwd"] / "killed") == pytest.approx(read_frame_times(cli_runs["cwd"] / "whole"))
    # the frames written after the last checkpoint were dropped and written again: one file per index entry
    index = (cli_runs["cwd"] / "killed" / "fields_time.pvd").read_text()
    listed = sorted(line.split('file="')[1].split('"')[0] for line in index.splitlines() if "file=" in line)
    on_disk = sorted(f"fields/{p.name}" for p in (cli_runs["cwd"] / "killed" / "fields").iterdir())
    assert listed == on_disk


def test_serial_equals_two_ranks(cli_runs):
    launcher = mpirun()
    if launcher is None:
        pytest.skip("no mpirun")
    cwd = cli_runs["cwd"]
    par = fem("transient", *PULSE, "--out", "par", cwd=cwd, timeout=600, launcher=[launcher, "-n", "2"])
    assert par.returncode == 0, par.stderr[-2000:]
    a, b = _series(cwd / "whole" / "timeseries.csv"), _series(cwd / "par" / "timeseries.csv")
    assert len(a["t_s"]) == len(b["t_s"])
    np.testing.assert_allclose(b["t_s"], a["t_s"], rtol=1e-9)
    for key in ("T_max_K", "voltage_V", "metal_fraction", "stored_energy_J", "heat_joule_W"):
        np.testing.assert_allclose(b[key], a[key], rtol=1e-7, atol=1e-12)
    assert json.loads((cwd / "par" / "summary.json").read_text())["ranks"] == 2
    # the frames of two ranks hold the whole mesh once (gathered, no ghost cell twice), as the serial ones
    from vtk_check import read_in_subprocess

    got = read_in_subprocess(cwd / "whole" / "fields_time.pvd", cwd / "par" / "fields_time.pvd")
    fa, fb = got[str(cwd / "whole" / "fields_time.pvd")], got[str(cwd / "par" / "fields_time.pvd")]
    np.testing.assert_allclose(fb["times"], fa["times"], rtol=1e-9)
    for ga, gb in zip(fa["steps"], fb["steps"]):
        assert (gb["cells"], gb["points"]) == (ga["cells"], ga["points"])
        assert gb["volume"] == pytest.approx(ga["volume"], rel=1e-12)
        assert gb["point"]["temperature_K"][2] == pytest.approx(ga["point"]["temperature_K"][2], rel=1e-7)


def test_bad_transient_input_exits_2_and_writes_nothing(tmp_path):
    r = fem("transient", "--preset", "fig2a", "--set", "time.scheme=\"rk4\"", "--out", "x", cwd=tmp_path)
    assert r.returncode == 2 and "time.scheme" in r.stderr and not (tmp_path / "x").exists()
    r = fem("transient", "--preset", "fig2a", "--out", "y", "--resume", cwd=tmp_path)
    assert r.returncode == 2 and "nothing to resume" in r.stderr and not (tmp_path / "y").exists()
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "notes.txt").write_text("mine")
    r = fem("transient", "--preset", "fig2a", "--out", "z", cwd=tmp_path)
    assert r.returncode == 2 and "already exists" in r.stderr
    r = fem("transient", "--preset", "fig2a", "--out", "z", "--overwrite", cwd=tmp_path)
    assert r.returncode == 2 and "not a transient" in r.stderr and (tmp_path / "z" / "notes.txt").is_file()


def test_initial_steady_stays_and_a_saved_state_continues(tmp_path):
    """time.initial = "steady" starts from `run`'s answer and a DC drive keeps it there; a
    state.npz of one transient is the initial state of the next (same stored energy)."""
    import fem_peltier as fp
    from fem_peltier.simulation import run

    base = ["mesh.size=2e-4", "mesh.electrode_size=4e-5", "drive.current=0.003"]
    steady = run(fp.load_config(preset="fig2a", overrides=base), pictures=False).summary
    cfg = fp.load_config(preset="fig2a", overrides=[*base, "time.initial=\"steady\"", "time.t_end=0.5"])
    a = fp.run_transient(cfg, out=tmp_path / "a", pictures=False)
    ts = a.timeseries
    assert a.converged and len(ts["t_s"]) >= 3
    assert np.max(np.abs(ts["T_max_K"] - steady["T_max_K"])) < 1e-6 * steady["T_max_K"]
    assert np.max(np.abs(ts["voltage_V"] - steady["voltage_V"])) < 1e-6 * abs(steady["voltage_V"])
    assert abs(a.summary["heat_storage_W"]) < 1e-6 * steady["heat_joule_W"]
    cfg_b = fp.load_config(
        preset="fig2a",
        overrides=[*base, f"time.initial=\"{tmp_path / 'a' / 'state.npz'}\"", "time.t_end=0.1", "drive.current=0.0"],
    )
    b = fp.run_transient(cfg_b, out=tmp_path / "b", pictures=False)
    assert b.summary["stored_energy_initial_J"] == pytest.approx(a.summary["stored_energy_J"], rel=1e-9)
    assert b.timeseries["T_max_K"][-1] < a.summary["T_max_K"]  # switched off: it cools


def test_vo2_switch_on_from_t0_starts_from_its_quasi_static_current():
    """VO2 at 60 mA on fig2a: from the initial guess (V = I R_ref) Newton stagnated at every step
    size; the initial current is now solved at T0 first, and the film switches within 0.1 ms."""
    import fem_peltier as fp

    cfg = fp.load_config(
        preset="fig2a",
        material="vo2",
        overrides=["mesh.size=2e-4", "mesh.electrode_size=4e-5", "drive.current=0.06", "time.t_end=0.05"],
    )
    s = fp.run_transient(cfg, pictures=False).summary
    assert s["converged"], s["reason"]
    assert s["switching_time_s"] is not None and s["switching_time_s"] < 1e-4
