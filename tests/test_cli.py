"""The command line: bad input (exit 2, one line, nothing written), informational
commands, and the exit-code / sweep logic of `run` and `sweep` against a stand-in
solver (the real solver is exercised by the physics tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

import fem_peltier
from fem_peltier import cli
from fem_peltier.errors import SolverError
from cli_runner import fem, mpirun  # tests/cli_runner.py

REPO = Path(__file__).resolve().parents[1]


def assert_bad_input(proc, *names: str):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fem-peltier: error: "), lines[0]
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------
# Bad input: exit 2, exactly one stderr line naming the key or file, nothing created

BAD_SETS = [
    (["--set", "geometry.colour=1"], "geometry.colour"),                     # unknown key
    (["--set", "foo.bar=1"], "foo.bar"),                                     # unknown section
    (["--set", "geometry.length=abc"], "geometry.length"),                   # wrong type
    (["--set", "thermal.joule_heating=maybe"], "thermal.joule_heating"),     # wrong type
    (["--set", "solver.max_iterations=2.5"], "solver.max_iterations"),       # wrong type
    (["--set", "geometry.electrodes=disk"], "geometry.electrodes"),          # not an allowed value
    (["--set", "geometry.thickness=-1"], "geometry.thickness"),              # negative length
    (["--set", "geometry.length=0"], "geometry.length"),                     # zero length
    (["--set", "geometry.width=0"], "geometry.width"),
    (["--set", "geometry.substrate_thickness=-1e-4"], "geometry.substrate_thickness"),
    (["--set", "mesh.size=0"], "mesh.size"),
    (["--set", "geometry.electrode_width=1e-3"], "geometry.electrode_width"),    # patch as wide as the film
    (["--set", "geometry.electrode_width=2e-3"], "geometry.electrode_width"),    # outside the film
    (["--set", "geometry.electrode_length=5e-4"], "geometry.electrode_length"),  # patches overlap
    (["--set", "geometry.electrode_length=0.8e-3"], "geometry.electrode_length"),
    (["--set", "material.t_mit=300"], "material.t_mit"),                     # t_mit == t0
    (["--set", "material.t_mit=250"], "material.t_mit"),                     # t_mit < t0
    (["--set", "thermal.t0=400"], "material.t_mit"),
    (["--set", "material.rho_insulator=0"], "material.rho_insulator"),
    (["--set", "material.rho_metal=-0.006"], "material.rho_metal"),
    (["--set", "material.kappa=0"], "material.kappa"),
    (["--set", "material.kappa_substrate=-1"], "material.kappa_substrate"),
    (["--set", "drive.voltage=1.0"], "drive.voltage"),                       # both current and voltage
    (["--set", "drive.current=none"], "drive.current"),                      # neither
    (["--set", "drive.current=inf"], "drive.current"),
    (["--set", "mesh.file=no-such-mesh.msh"], "mesh.file"),                  # missing mesh file
    (["--set", "geometry.length"], "--set"),                                 # bad --set syntax
    (["--set", "a.b.c=1"], "a.b.c"),                                         # unknown section (a.b: a sub-table)
    (["--set", "mesh.adapt.c.d=1"], "--set"),
    (["--set", "=1"], "--set"),
    (["--set", "drive.current=10 mV"],                                       # wrong dimension: the unit expected
     'drive.current: "10 mV" has units of millivolt (a voltage), expected a current (A)'),
    (["--set", "geometry.length=1 parsec_per_mole"], "geometry.length"),                        # unknown units
    (["--set", "solver.transition_width=2 degC"], "solver.transition_width"),                   # not a difference
    (["--set", 'thermal.boundary=[{surface = "bottom", type = "temperature", t = "1 mm"}]'], "thermal.boundary[0].t"),
]


@pytest.mark.parametrize("extra, key", BAD_SETS, ids=[" ".join(e) for e, _ in BAD_SETS])
def test_run_bad_override(tmp_path, extra, key):
    out = tmp_path / "out"
    proc = fem("run", "--preset", "fig2a", *extra, "--out", str(out), cwd=tmp_path)
    assert_bad_input(proc, key)
    assert not out.exists()
    assert proc.stdout == ""


@pytest.mark.parametrize("command", ["sweep", "mesh", "config"])
def test_other_commands_validate_too(tmp_path, command):
    out = tmp_path / "out"
    extra = {"sweep": ["--currents", "0.01", "--out", str(out)], "mesh": ["--out", str(out / "m.msh")],
             "config": []}[command]
    proc = fem(command, "--preset", "fig2a", "--set", "geometry.thickness=-1", *extra, cwd=tmp_path)
    assert_bad_input(proc, "geometry.thickness")
    assert not out.exists()


TOML_FILES = {
    "unknown_section.toml": ("[geometry]\nlength = 1e-3\n[colour]\nred = 1\n", "colour"),
    "unknown_key.toml": ("[material]\nrho_insulater = 0.06\n", "material.rho_insulater"),
    "wrong_type.toml": ('[geometry]\nlength = "long"\n', "geometry.length"),
    "negative.toml": ("[geometry]\nthickness = -2e-4\n", "geometry.thickness"),
    "malformed.toml": ("[geometry\nlength = \n", "malformed.toml"),
    "both_drives.toml": ("[drive]\ncurrent = 0.01\nvoltage = 2.0\n", "drive.voltage"),
    "missing_mesh.toml": ('[mesh]\nfile = "meshes/nothing-here.msh"\n', "mesh.file"),
    "not_utf8.toml": (b"[geometry]\nlength = 1e-3 # \xff\xfe\n", "not_utf8.toml"),
    "wrong_units.toml": ('[material]\nseebeck_insulator = "400 uV"\n', "material.seebeck_insulator: \"400 uV\" has "
                         "units of microvolt (a voltage), expected a Seebeck coefficient (V/K)"),
    "law_units.toml": ('[material]\nrho_insulator = {law = "arrhenius", value = 0.06, t_ref = "27 degC", '
                       'activation_energy_eV = "0.2 K"}\n', "material.rho_insulator: activation_energy_eV: "),
}


@pytest.mark.parametrize("fname", sorted(TOML_FILES))
def test_run_bad_config_file(tmp_path, fname):
    text, key = TOML_FILES[fname]
    cfg = tmp_path / fname
    cfg.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out"
    proc = fem("run", str(cfg), "--out", str(out), cwd=tmp_path)
    assert_bad_input(proc, key)
    assert not out.exists()


@pytest.mark.parametrize(
    "args, name",
    [
        (["run", "missing.toml"], "missing.toml"),                 # missing CONFIG file
        (["run", "--preset", "fig9"], "fig9"),                     # unknown preset
        (["run"], "CONFIG"),                                       # neither file nor preset
        (["run", "case.toml", "--preset", "fig2a"], "--preset"),   # both
        (["sweep", "--preset", "fig2a", "--currents", "0.01,abc"], "--currents"),
        (["sweep", "--preset", "fig2a", "--currents", "0.01,0.01"], "--currents"),
        (["sweep", "--preset", "fig2a", "--currents", ","], "--currents"),
        (["sweep", "--preset", "fig2a", "--currents", "0.01", "--set", "drive.voltage=1"], "drive.voltage"),
    ],
)
def test_bad_source(tmp_path, args, name):
    (tmp_path / "case.toml").write_text("[geometry]\nlength = 1e-3\n")
    out = tmp_path / "out"
    proc = fem(*args, "--out", str(out), cwd=tmp_path)
    assert_bad_input(proc, name)
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_existing_out_needs_overwrite(tmp_path, command):
    out = tmp_path / "old-results"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    extra = ["--currents", "0.01"] if command == "sweep" else []
    proc = fem(command, "--preset", "fig2a", *extra, "--out", str(out), cwd=tmp_path)
    assert_bad_input(proc, str(out))
    assert "--overwrite" in proc.stderr or "--resume" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert (out / "summary.json").read_text() == "{}"


def test_existing_empty_out_needs_overwrite_too(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = fem("run", "--preset", "fig2a", "--out", "empty", cwd=tmp_path)
    assert_bad_input(proc, "empty", "--overwrite")


def test_out_is_a_file(tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    proc = fem("run", "--preset", "fig2a", "--out", str(out), "--overwrite", cwd=tmp_path)
    assert_bad_input(proc, str(out))


def test_usage_errors_exit_2(tmp_path):
    for args in (["run", "--preset", "fig2a"], ["frobnicate"], ["run", "--bogus"], ["sweep", "--preset", "fig2a"]):
        proc = fem(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert fem(cwd=tmp_path).returncode == 2


@pytest.mark.mpi
@pytest.mark.skipif(mpirun() is None, reason="no mpirun")
def test_bad_input_under_mpi_prints_once(tmp_path):
    out = tmp_path / "out"
    proc = fem("run", "--preset", "fig2a", "--set", "geometry.thickness=-1", "--out", str(out),
               cwd=tmp_path, launcher=[mpirun(), "-n", "2"], timeout=120)
    assert_bad_input(proc, "geometry.thickness")
    assert not out.exists()


# ---------------------------------------------------------------------------------------
# mesh (real gmsh + DOLFINx, a tiny mesh)


def _have(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.mark.skipif(not _have("dolfinx", "gmsh"), reason="needs DOLFINx and gmsh")
def test_mesh_command_writes_msh(tmp_path):
    proc = fem("mesh", "--preset", "slab", "--out", "m/slab.msh", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m" / "slab.msh").stat().st_size > 0
    assert "wrote m/slab.msh" in proc.stdout
    proc = fem("mesh", "--preset", "fig2a", "--set", "mesh.size=1e-4", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "meshes" / "fig2a.msh").is_file()  # default path: meshes/<preset>.msh


# ---------------------------------------------------------------------------------------
# Informational commands


def test_version(tmp_path):
    proc = fem("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"fem-peltier {fem_peltier.__version__}"


def test_presets_lists_groups_without_dolfinx(tmp_path):
    proc = fem("presets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in fem_peltier.preset_names():
        assert name in proc.stdout
    assert "J=0.2" in proc.stdout and "P=0.2" in proc.stdout and "J=1.2" in proc.stdout
    assert "W/L=0.5" in proc.stdout and "h/L=0.05" in proc.stdout
    code = ("import sys; from fem_peltier.cli import main; main(['presets']); main(['config', '--preset', 'fig2a']);"
            "main(['schema']); heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('dolfinx', 'mpi4py', 'petsc4py', 'gmsh', 'pyvista')]; sys.exit(bool(heavy))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=tmp_path).returncode == 0


def test_config_prints_resolved_toml(tmp_path):
    proc = fem("config", "--preset", "fig2a", "--set", "mesh.size=1e-4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert data["mesh"]["size"] == 1e-4
    assert data["geometry"]["electrode_length"] == pytest.approx(1e-4)  # resolved default 0.1 L
    assert data["drive"]["current"] == 0.01 and "voltage" not in data["drive"]
    # the printed config is itself a valid CONFIG.toml that resolves to the same thing
    (tmp_path / "again.toml").write_text(proc.stdout)
    again = fem("config", "again.toml", cwd=tmp_path)
    assert again.returncode == 0
    assert tomllib.loads(again.stdout) == data


def test_config_prints_si_values_of_strings_with_units(tmp_path):
    """Strings with units (in a file and in --set, quoted or not) are printed as the SI numbers they stand for."""
    (tmp_path / "case.toml").write_text('[geometry]\nthickness = "200 um"\n[material]\nt_mit = "87 degC"\n'
                                        'rho_insulator = {law = "arrhenius", value = "6 Ohm cm", t_ref = "300 K", '
                                        'activation_energy_eV = "0.2 eV"}\n')
    proc = fem("config", "case.toml", "--set", "drive.current=12 mA", "--set", 'material.seebeck_insulator="400 uV/K"',
               "--set", "solver.transition_width=2 delta_degC", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert data["geometry"]["thickness"] == 2e-4 and data["material"]["t_mit"] == 360.15
    assert data["drive"]["current"] == 0.012 and data["material"]["seebeck_insulator"] == 4e-4
    assert data["solver"]["transition_width"] == 2.0
    assert data["material"]["rho_insulator"] == {"law": "arrhenius", "value": 0.06, "t_ref": 300.0,
                                                 "activation_energy_eV": 0.2}
    assert not any(isinstance(v, str) and v[:1].isdigit() for sec in data.values() for v in sec.values())


def test_schema_lists_every_key(tmp_path):
    proc = fem("schema", cwd=tmp_path)
    assert proc.returncode == 0
    for section, field in fem_peltier.Config.model_fields.items():
        assert f"## [{section}]" in proc.stdout
        for key in field.annotation.model_fields:
            assert f"| `{key}` |" in proc.stdout, f"{section}.{key}"
    assert "film thickness h along z (m)" in proc.stdout


def test_docs_configuration_is_current():
    doc = REPO / "docs" / "configuration.md"
    assert doc.is_file(), "docs/configuration.md is missing: run `make docs`"
    assert doc.read_text().rstrip("\n") == cli.schema_markdown().rstrip("\n"), \
        "docs/configuration.md is out of date: run `make docs` and commit it"


# ---------------------------------------------------------------------------------------
# run / sweep against a stand-in solver (in process)


class FakeSolver:
    """Replaces fem_peltier.simulation: records calls, writes a summary.json."""

    def __init__(self, converged=True, fail_at=None, write_before_fail=False):
        self.calls: list[tuple[float | None, Path, bool]] = []
        self.converged, self.fail_at, self.write_before_fail = converged, fail_at, write_before_fail

    def run(self, cfg, out, overwrite=False):
        out = Path(out)
        current = cfg.drive.current
        self.calls.append((current, out, overwrite))
        assert cfg.geometry.electrode_length is not None  # the CLI passes a resolved config
        out.mkdir(parents=True, exist_ok=True)
        summary = {"converged": self.converged, "iterations": 3, "reason": "ok" if self.converged else "max_it",
                   "current_A": current, "voltage_V": 1.5, "T_max_K": 350.0,
                   "metal_top_x_range_m": [0.0, 1e-4] if current and current > 0.009 else None,
                   "metal_max_depth_m": 0.0, "ranks": 1}
        if self.fail_at is not None and current == self.fail_at:
            if self.write_before_fail:
                (out / "summary.json").write_text(json.dumps(summary))
            raise SolverError("linear solve failed")
        (out / "summary.json").write_text(json.dumps(summary))
        return types.SimpleNamespace(converged=self.converged, summary=summary)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    def install(**kw):
        solver = FakeSolver(**kw)
        module = types.ModuleType("fem_peltier.simulation")
        module.run = solver.run
        monkeypatch.setitem(sys.modules, "fem_peltier.simulation", module)
        return solver

    monkeypatch.chdir(tmp_path)
    return install


def test_run_exit_codes(fake, tmp_path, capsys):
    solver = fake(converged=True)
    assert cli.main(["run", "--preset", "fig2a", "--out", "a"]) == 0
    assert solver.calls == [(0.01, Path("a"), False)]
    stored = fem_peltier.load_config(path=tmp_path / "a" / "config.toml")
    assert stored == fem_peltier.load_config(preset="fig2a").resolved()
    assert cli.main(["run", "--preset", "fig2a", "--out", "a"]) == 2  # exists now
    assert cli.main(["run", "--preset", "fig2a", "--out", "a", "--overwrite"]) == 0
    assert solver.calls[-1][2] is True
    fake(converged=False)
    assert cli.main(["run", "--preset", "fig2a", "--out", "b"]) == 3
    fake(fail_at=0.01)
    assert cli.main(["run", "--preset", "fig2a", "--out", "c"]) == 1
    fake(fail_at=0.01, write_before_fail=True)
    assert cli.main(["run", "--preset", "fig2a", "--out", "d"]) == 3
    err = capsys.readouterr().err
    assert err.count("solver failed: linear solve failed") == 2


# The sweep tests (stand-in and real solver) are in tests/test_sweep.py.


# ---------------------------------------------------------------------------------------
# Messages that name the real mistake


def _one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fem-peltier: error: "), lines
    return lines[0]


def test_set_without_equals_is_named(tmp_path, monkeypatch, capsys):
    """`--set mesh.size 1e-4` leaves 1e-4 as the positional CONFIG: the error is the --set
    without key=value (with the fix spelled out), not "CONFIG.toml or --preset"."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--preset", "fig2a", "--set", "mesh.size", "1e-4", "--out", "x"]) == 2
    line = _one_error_line(capsys)
    assert "--set" in line and "mesh.size=1e-4" in line and "--preset" not in line, line
    assert cli.main(["config", "--preset", "fig2a", "--set", "mesh.size"]) == 2
    line = _one_error_line(capsys)
    assert "--set" in line and "section.key=value" in line and "--preset" not in line, line
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("how", ["set", "toml"])
def test_capitalised_boolean_says_write_true(tmp_path, monkeypatch, capsys, how):
    monkeypatch.chdir(tmp_path)
    if how == "set":
        args = ["config", "--preset", "fig2a", "--set", "thermal.joule_heating=True"]
    else:
        (tmp_path / "case.toml").write_text("[thermal]\njoule_heating = False\n")
        args = ["config", "case.toml"]
    assert cli.main(args) == 2
    line = _one_error_line(capsys)
    assert "joule_heating" in line or "case.toml" in line, line
    assert ("`true`" in line if how == "set" else "`false`" in line) and "lower case" in line, line


@pytest.mark.parametrize("text", ["", "# only a comment\n", "length = 1e-3\n"], ids=["empty", "comment", "no-section"])
def test_empty_config_file_is_refused(tmp_path, text):
    """An empty TOML file (or one without any [section]) would silently run the default case."""
    (tmp_path / "case.toml").write_text(text)
    out = tmp_path / "out"
    proc = fem("run", "case.toml", "--out", str(out), cwd=tmp_path)
    assert_bad_input(proc, "case.toml")
    assert not out.exists()


def test_implausible_drive_refused_before_anything(tmp_path):
    """`--set drive.current=10` (10 mA meant): exit 2 at once, one line, nothing written."""
    out = tmp_path / "out"
    proc = fem("run", "--preset", "fig2a", "--set", "drive.current=10", "--out", str(out), cwd=tmp_path)
    assert_bad_input(proc, "drive.current", "J = 2e+05", "10 mA")
    assert not out.exists()


def test_validate_default_out_is_a_new_folder(monkeypatch, tmp_path):
    """`fem-peltier validate` without --out writes into validation-output/, never over the
    shipped docs/ report; benchmarks/validation_full.sh regenerates docs/ explicitly."""
    from fem_peltier import commands

    written = []
    fake = types.SimpleNamespace(
        SUITE=("eq8_eq9",), run_suite=lambda level, out, parts: {"checks": []},
        write_report=lambda result, out, cmd: written.append((Path(out), cmd)) or Path(out) / "validation.md")
    monkeypatch.setattr(commands, "_import_solver_module", lambda name: fake)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["validate", "--quick"]) == 0
    assert written == [(Path("validation-output"), "fem-peltier validate --out validation-output --quick")]
    script = (REPO / "benchmarks" / "validation_full.sh").read_text()
    assert "run validate --out docs" in script


def test_readme_command_summary_is_complete():
    """The README's command summary names every subcommand and every option of each."""
    text = (REPO / "README.md").read_text()
    block = text.split("## Command line", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    missing = []
    for name, parser in sub.choices.items():
        lines = [ln for ln in block.splitlines() if ln.startswith(f"fem-peltier {name} ")]
        if not lines:
            missing.append(name)
            continue
        # the command's line and its continuation lines (indented)
        start = block.splitlines().index(lines[0])
        own = [lines[0]]
        for ln in block.splitlines()[start + 1:]:
            if not ln.startswith(" "):
                break
            own.append(ln)
        for action in parser._actions:
            opts = [o for o in action.option_strings if o.startswith("--")]
            if opts and opts[0] not in ("--help", "--verbose", "--quiet") and opts[0] not in " ".join(own):
                missing.append(f"{name} {opts[0]}")
    assert not missing, missing
