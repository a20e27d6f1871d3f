"""Serial vs `mpirun -n 2`: the same case gives the same numbers, and the CLI writes its outputs.

Every summary quantity is assembled per rank and allreduced, the mesh is the same
(generated on rank 0, then distributed with shared-facet ghosting so the Peltier
facet integrals see both sides of partition-boundary facets), and the linear
solves are direct (MUMPS). The two runs must therefore agree to round-off
amplified by the Newton tolerance: relative 1e-8 on the continuous quantities and
exactly on the counts. A missing ghost layer, a facet integral counted on both
ranks (or on none), a rank-local max/min or a probe that is not collective shows
up here as an O(1) difference (or a hang: hence the timeout).
"""

from __future__ import annotations

import json

import pytest

from cli_runner import fem, mpirun  # tests/cli_runner.py

ARGS = ["--preset", "fig2a", "--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5"]
OVERRIDES = [a for a in ARGS[2:] if a != "--set"]
KEYS_REL = ("T_max_K", "T_mean_K", "T_top_mean_K", "voltage_V", "metal_fraction", "heat_joule_W",
            "heat_peltier_W", "heat_to_sink_W")
KEYS_EXACT = ("partial_cells", "iterations", "cells", "interface_facets")
OUTPUT_FILES = ("summary.json", "fields.xdmf", "fields.h5", "fields.vtu", "slice_T.png", "top_T.png", "config.toml")
REL = 1e-8


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The case run in-process (this pytest process, one rank), with output files."""
    from mpi4py import MPI

    import fem_peltier as fp
    from fem_peltier.simulation import run

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("the reference run must be serial")
    out = tmp_path_factory.mktemp("serial") / "run"
    cfg = fp.load_config(preset="fig2a", overrides=OVERRIDES)
    res = run(cfg, out=out)
    return res.summary, out


@pytest.fixture(scope="module")
def parallel(tmp_path_factory):
    """The same case through the CLI under mpirun -n 2."""
    launcher = mpirun()
    if launcher is None:
        pytest.skip("no mpirun")
    base = tmp_path_factory.mktemp("np2")
    out = base / "run"
    proc = fem("run", *ARGS, "--out", str(out), cwd=base, launcher=[launcher, "-n", "2"], timeout=300)
    return proc, out


@pytest.mark.mpi
def test_cli_under_mpirun_exit_code_and_files(parallel):
    proc, out = parallel
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in OUTPUT_FILES:
        f = out / name
        assert f.is_file(), f"{name} missing in {sorted(p.name for p in out.iterdir())}"
        assert f.stat().st_size > 0, name
    s = json.loads((out / "summary.json").read_text())
    assert s["converged"] is True and s["ranks"] == 2
    assert (out / "slice_T.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Xdmf" in (out / "fields.xdmf").read_text()[:500]
    assert (out / "fields.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"


def test_serial_run_files(serial):
    s, out = serial
    assert s["converged"] and s["ranks"] == 1
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "summary.json").read_text())
    for key in KEYS_REL + KEYS_EXACT:
        assert on_disk[key] == s[key], key


@pytest.mark.mpi
def test_serial_equals_two_ranks(serial, parallel):
    s1, _ = serial
    proc, out = parallel
    assert proc.returncode == 0, proc.stderr[-3000:]
    s2 = json.loads((out / "summary.json").read_text())
    for s in (s1, s2):
        assert s["converged"] is True, s["reason"]
        assert s["heat_balance_rel"] < 1e-6
        assert s["metal_fraction"] > 0.01  # a case with metal and Peltier facets
    rows = []
    for key in KEYS_REL:
        rel = abs(s1[key] - s2[key]) / abs(s1[key])
        rows.append((key, s1[key], s2[key], rel))
    print("\n  key                serial                 np=2                   rel diff")
    for key, a, b, rel in rows:
        print(f"  {key:16s}  {a:.15g}  {b:.15g}  {rel:.1e}")
    for key in KEYS_EXACT:
        print(f"  {key:16s}  {s1[key]}  {s2[key]}")
    for key, a, b, rel in rows:
        assert rel < REL, (key, a, b)
    for key in KEYS_EXACT:
        assert s1[key] == s2[key], (key, s1[key], s2[key])
    assert s2["ranks"] == 2 and s1["ranks"] == 1


@pytest.mark.mpi
def test_fields_vtu_under_mpirun_holds_the_whole_mesh(serial, parallel):
    """The np=2 fields.vtu (gathered on rank 0) has the serial file's cells, points and volume
    (no piece missing, no ghost cell twice) and the same T max, which is its summary's T_max_K."""
    from vtk_check import read_in_subprocess

    s1, out1 = serial
    proc, out2 = parallel
    assert proc.returncode == 0, proc.stderr[-3000:]
    s2 = json.loads((out2 / "summary.json").read_text())
    got = read_in_subprocess(out1 / "fields.vtu", out2 / "fields.vtu")
    a, b = got[str(out1 / "fields.vtu")], got[str(out2 / "fields.vtu")]
    assert (b["cells"], b["points"]) == (a["cells"], a["points"]) == (s1["cells"], a["points"])
    assert b["volume"] == pytest.approx(a["volume"], rel=1e-12)
    assert sorted(b["point"]) == sorted(a["point"]) and sorted(b["cell"]) == sorted(a["cell"])
    t1, t2 = a["point"]["temperature_K"][2], b["point"]["temperature_K"][2]
    assert t1 == pytest.approx(s1["T_max_K"], rel=1e-9) and t2 == pytest.approx(s2["T_max_K"], rel=1e-9)
    assert t2 == pytest.approx(t1, rel=REL)
    for name in ("phase", "cell_tags"):
        assert b["cell"][name] == a["cell"][name], name


# --- the Seebeck EMF and contact Peltier heat on (issue 16) -------------------------------------
EMF_SETS = ["--set", "thermal.seebeck_emf=true", "--set", "material.seebeck_electrode=2e-4"]


@pytest.fixture(scope="module")
def serial_emf():
    from mpi4py import MPI

    import fem_peltier as fp
    from fem_peltier.simulation import run

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("the reference run must be serial")
    cfg = fp.load_config(preset="fig2a", overrides=OVERRIDES + [a for a in EMF_SETS if a != "--set"])
    return run(cfg, out=None, pictures=False).summary


@pytest.mark.mpi
def test_serial_equals_two_ranks_with_emf_and_contacts(serial_emf, tmp_path):
    """The same comparison with j = -sigma (grad phi + S grad T) and the contact Peltier heat on."""
    launcher = mpirun()
    if launcher is None:
        pytest.skip("no mpirun")
    out = tmp_path / "run"
    proc = fem("run", *ARGS, *EMF_SETS, "--out", str(out), cwd=tmp_path,
               launcher=[launcher, "-n", "2"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s1, s2 = serial_emf, json.loads((out / "summary.json").read_text())
    for s in (s1, s2):
        assert s["converged"] is True, s["reason"]
        assert s["heat_balance_rel"] < 1e-10
        assert s["metal_fraction"] > 0.01
        assert abs(s["heat_contact_peltier_W"]) > 1e-4 * s["heat_joule_W"]  # the contacts do carry heat
    for key in (*KEYS_REL, "heat_contact_peltier_W"):
        assert abs(s1[key] - s2[key]) <= REL * abs(s1[key]), (key, s1[key], s2[key])
    for key in KEYS_EXACT:
        assert s1[key] == s2[key], (key, s1[key], s2[key])
    assert s2["ranks"] == 2
