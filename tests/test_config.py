"""Configuration: defaults, presets (model.md section 3), overrides, resolution."""

from __future__ import annotations

import math
import tomllib
import typing
from pathlib import Path

import pytest
import tomli_w

from fem_peltier.config import (
    Config,
    Material,
    apply_overrides,
    from_dict,
    load_config,
    parse_override,
    preset_description,
    preset_names,
)
from fem_peltier.errors import InputError
from fem_peltier.property_laws import PROPERTIES, PropertyLaw
from fem_peltier.units import unit_of
from cli_runner import python  # tests/cli_runner.py

REL = 1e-9


def test_preset_names():
    assert set(preset_names()) >= {"fig2a", "fig2c", "fig2d", "slab"}
    for name in preset_names():
        assert preset_description(name), f"preset {name} has no description"


def test_defaults_are_the_fig2a_case():
    cfg = Config()
    g, m = cfg.geometry, cfg.material
    assert (g.length, g.width, g.thickness) == (1e-3, 1e-3, 2e-4)
    assert g.electrodes == "point" and g.substrate_thickness == 0.0
    assert (m.rho_insulator, m.rho_metal, m.kappa, m.t_mit) == (0.06, 0.006, 0.1, 360.0)
    assert cfg.thermal.t0 == 300.0
    assert cfg.drive.current == 0.01 and cfg.drive.voltage is None
    assert cfg.groups() == pytest.approx(load_config(preset="fig2a").groups(), rel=REL)


# (preset, expected groups) from model.md section 3 and the Fig. 2 caption
PAPER_GROUPS = {
    "fig2a": dict(h_over_L=0.2, W_over_L=1.0, r=0.1, theta=1.2, J=0.2, P=0.2),
    "fig2c": dict(h_over_L=0.2, W_over_L=1.0, r=0.1, theta=1.2, J=1.2, P=0.02),
    "fig2d": dict(h_over_L=0.2, W_over_L=0.5, r=0.1, theta=1.2, J=0.2, P=0.2),
    "slab": dict(h_over_L=0.05, r=0.1, theta=1.2),
}


@pytest.mark.parametrize("name", sorted(PAPER_GROUPS))
def test_presets_reproduce_paper_groups(name):
    groups = load_config(preset=name).groups()
    for key, expected in PAPER_GROUPS[name].items():
        assert groups[key] == pytest.approx(expected, rel=1e-9), f"{name}: {key}"
    # P^2 / J is the thermoelectric figure of merit Z T0 (model.md section 3)
    assert groups["P"] ** 2 / groups["J"] == pytest.approx(groups["ZT0"], rel=1e-9)


def test_fig2_point_electrodes():
    for name in ("fig2a", "fig2c", "fig2d"):
        assert load_config(preset=name).geometry.electrodes == "point"


def test_slab_current_is_one_and_a_half_critical():
    cfg = load_config(preset="slab")
    g, m = cfg.geometry, cfg.material
    assert g.electrodes == "ends"
    j0 = cfg.drive.current / (g.width * g.thickness)
    j_cr = math.sqrt(2 * (m.t_mit - cfg.thermal.t0) * m.kappa / (m.rho_insulator * g.thickness**2))  # Eq. 9
    assert j0 / j_cr == pytest.approx(1.5, rel=1e-9)


def test_resolved_defaults():
    cfg = load_config(preset="fig2a").resolved()
    L, t0 = cfg.geometry.length, cfg.thermal.t0
    assert cfg.geometry.electrode_length == pytest.approx(0.1 * L)
    assert cfg.geometry.electrode_width == pytest.approx(0.02 * L)
    assert cfg.material.kappa_substrate == cfg.material.kappa
    assert cfg.mesh.size == pytest.approx(L / 20)
    assert cfg.mesh.electrode_size == pytest.approx(cfg.geometry.electrode_width / 2)
    assert cfg.solver.transition_width == pytest.approx(0.01 * t0)
    assert cfg.solver.initial_width == pytest.approx(0.2 * t0)
    assert cfg.solver.t_ceiling == pytest.approx(10 * t0)
    assert cfg.mesh.file is None and cfg.drive.voltage is None
    assert cfg.resolved() == cfg  # idempotent


def test_resolved_keeps_explicit_values():
    cfg = load_config(preset="fig2a", overrides=[
        "geometry.electrode_length=5e-5", "material.kappa_substrate=1.5",
        "mesh.size=1e-4", "mesh.electrode_size=3e-5", "solver.transition_width=2.0",
    ]).resolved()
    assert cfg.geometry.electrode_length == 5e-5
    assert cfg.material.kappa_substrate == 1.5
    assert (cfg.mesh.size, cfg.mesh.electrode_size) == (1e-4, 3e-5)
    assert cfg.solver.transition_width == 2.0


def test_overrides_types_and_none():
    cfg = load_config(preset="fig2a", overrides=[
        "drive.current=none", "drive.voltage=2.0", "geometry.electrodes=ends",
        "thermal.peltier_heating=false", "solver.max_iterations=7", "mesh.size=1e-4",
    ])
    assert cfg.drive.current is None and cfg.drive.voltage == 2.0
    assert cfg.geometry.electrodes == "ends"
    assert cfg.thermal.peltier_heating is False
    assert cfg.solver.max_iterations == 7 and cfg.mesh.size == 1e-4
    assert cfg.groups()["J"] is None and cfg.groups()["P"] is None  # no current: J, P undefined
    assert load_config(preset="fig2a", overrides=["drive.current=null"] + ["drive.voltage=1"]).drive.current is None


def test_override_does_not_mutate_input():
    data = {"geometry": {"length": 1.0}}
    out = apply_overrides(data, ["geometry.length=2.0"])
    assert data["geometry"]["length"] == 1.0 and out["geometry"]["length"] == 2.0


def test_parse_override():
    assert parse_override("mesh.size=1e-4") == ("mesh", "size", 1e-4)
    assert parse_override(" drive.current = -0.01 ") == ("drive", "current", -0.01)
    assert parse_override("geometry.electrodes=ends") == ("geometry", "electrodes", "ends")
    assert parse_override('geometry.electrodes="point"') == ("geometry", "electrodes", "point")
    assert parse_override("mesh.file=None") == ("mesh", "file", None)
    assert parse_override("mesh.adapt.levels=3") == ("mesh", "adapt.levels", 3)  # a sub-table key
    for bad in ("mesh.size", "size=1", "a.b.c.d=1", ".size=1", "mesh.=1", "mesh.adapt.=1"):
        with pytest.raises(InputError) as exc:
            parse_override(bad)
        assert exc.value.key == "--set"


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["geometry.colour=1"], "geometry.colour"),
        (["foo.bar=1"], "foo.bar"),
        (["geometry.length=abc"], "geometry.length"),
        (["geometry.thickness=-1"], "geometry.thickness"),
        (["geometry.width=0"], "geometry.width"),
        (["geometry.length=nan"], "geometry.length"),
        (["geometry.electrodes=disk"], "geometry.electrodes"),
        (["geometry.electrode_width=1e-3"], "geometry.electrode_width"),
        (["geometry.electrode_length=5e-4"], "geometry.electrode_length"),
        (["material.t_mit=300"], "material.t_mit"),
        (["material.rho_insulator=0"], "material.rho_insulator"),
        (["material.rho_metal=-1"], "material.rho_metal"),
        (["material.kappa=0"], "material.kappa"),
        (["material.kappa_substrate=-0.1"], "material.kappa_substrate"),
        (["drive.voltage=1"], "drive.voltage"),
        (["drive.current=none"], "drive.current"),
        (["mesh.file=no-such-file.msh"], "mesh.file"),
        (["solver.max_iterations=1.5"], "solver.max_iterations"),
    ],
)
def test_invalid_values_name_the_key(overrides, key):
    with pytest.raises(InputError) as exc:
        load_config(preset="fig2a", overrides=overrides)
    assert exc.value.key == key
    assert "\n" not in str(exc.value)


def test_toml_file_round_trip(tmp_path):
    cfg = load_config(preset="fig2d", overrides=["mesh.size=1e-4"]).resolved()
    path = tmp_path / "case.toml"
    path.write_text(tomli_w.dumps(cfg.to_toml_dict()))
    again = load_config(path=path)
    assert again == cfg
    assert from_dict(tomllib.loads(path.read_text())) == cfg


def test_toml_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[geometry\nlength = ")
    with pytest.raises(InputError) as exc:
        load_config(path=bad)
    assert exc.value.key == str(bad)
    with pytest.raises(InputError) as exc:
        load_config(path=tmp_path / "missing.toml")
    assert "missing.toml" in exc.value.key
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[geometry]\nlenght = 1e-3\n")
    with pytest.raises(InputError) as exc:
        load_config(path=unknown)
    assert exc.value.key == "geometry.lenght"
    with pytest.raises(InputError) as exc:
        load_config(path=unknown, preset="fig2a")
    with pytest.raises(InputError) as exc:
        load_config(preset="fig9")
    assert exc.value.key == "--preset"


def test_mesh_file_relative_to_the_toml_file(tmp_path, monkeypatch):
    """A relative mesh.file in a TOML file is found beside that file, whatever the current
    directory; a `--set mesh.file=...` stays relative to the current directory; a missing
    file is one line naming the absolute path that was tried."""
    cases = tmp_path / "cases"
    (cases / "meshes").mkdir(parents=True)
    (cases / "meshes" / "film.msh").write_text("(only its existence is checked here)\n")
    (cases / "case.toml").write_text('[mesh]\nfile = "meshes/film.msh"\n')
    (cases / "missing.toml").write_text('[mesh]\nfile = "meshes/nothing.msh"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(path="../cases/case.toml")
    assert cfg.mesh.file == str(cases / "meshes" / "film.msh")
    with pytest.raises(InputError) as exc:
        load_config(path=cases / "missing.toml")
    assert exc.value.key == "mesh.file" and "\n" not in str(exc.value)
    assert str(cases / "meshes" / "nothing.msh") in exc.value.message
    # --set: relative to the current directory, and the absolute path tried is named
    (elsewhere / "own.msh").write_text("x\n")
    assert load_config(path=cases / "case.toml", overrides=["mesh.file=own.msh"]).mesh.file == "own.msh"
    with pytest.raises(InputError) as exc:
        load_config(path=cases / "case.toml", overrides=["mesh.file=meshes/film.msh"])
    assert exc.value.key == "mesh.file" and str(elsewhere / "meshes" / "film.msh") in exc.value.message


def test_overrides_as_a_dict():
    """The Python API takes overrides as a dict of Python values as well as a list of strings."""
    from_list = load_config(preset="fig2a", overrides=["mesh.size=1e-4", "geometry.electrodes=\"ends\"",
                                                       "drive.current=none", "drive.voltage=2.0",
                                                       "thermal.peltier_heating=false"])
    from_dict_ = load_config(preset="fig2a", overrides={"mesh.size": 1e-4, "geometry.electrodes": "ends",
                                                        "drive.current": None, "drive.voltage": 2.0,
                                                        "thermal.peltier_heating": False})
    assert from_dict_ == from_list and from_dict_.mesh.size == 1e-4
    with pytest.raises(InputError) as exc:
        load_config(preset="fig2a", overrides={"mesh.size": -1.0})
    assert exc.value.key == "mesh.size"
    with pytest.raises(InputError) as exc:
        load_config(preset="fig2a", overrides={"mesh": 1e-4})
    assert exc.value.key == "overrides" and "section.key" in exc.value.message


@pytest.mark.parametrize("overrides, key, words", [
    (["drive.current=10"], "drive.current", ["10 A", "J = 2e+05", "did you mean 10 mA"]),
    (["drive.current=-10"], "drive.current", ["-10 A", "J = 2e+05", "did you mean -10 mA"]),
    (["drive.current=none", "drive.voltage=2000"], "drive.voltage", ["2000 V", "did you mean 2000 mV"]),
    (["drive.current=2000"], "drive.current", ["2000 A", "did you mean 2000 uA"]),
])
def test_implausible_drive_is_refused(overrides, key, words):
    """A drive whose estimated Ohmic rise is absurd (amperes meant as mA) is a bad input naming
    the drive key, the estimate and the likely unit slip; drive.allow_implausible runs it anyway."""
    with pytest.raises(InputError) as exc:
        load_config(preset="fig2a", overrides=overrides)
    assert exc.value.key == key and "\n" not in str(exc.value)
    for w in words:
        assert w in exc.value.message, (w, exc.value.message)
    assert "drive.allow_implausible" in exc.value.message
    cfg = load_config(preset="fig2a", overrides=[*overrides, "drive.allow_implausible=true"])
    assert cfg.drive.allow_implausible is True


def test_plausible_drives_pass():
    """Every preset, the Fig. 2 sweeps' largest current and the README's voltage examples pass the check."""
    for name in preset_names():
        load_config(preset=name)
    load_config(preset="fig2d", overrides=["drive.current=0.025"])
    load_config(preset="fig2a", overrides=["drive.current=none", "drive.voltage=4.0"])
    load_config(preset="fig2a", overrides=["drive.current=none", "drive.voltage=4.0", "drive.load_resistance=200"])


# ---------------------------------------------------------------------------------------
# Units in the input (fem_peltier/units.py): strings with units, converted to SI

UNIT_CASES = [
    ("drive.current", "10 mA", 0.01),
    ("drive.current", "-10mA", -0.01),
    ("geometry.length", "1.5 mm", 1.5e-3),
    ("geometry.thickness", "200 um", 2e-4),
    ("geometry.thickness", "200 µm", 2e-4),
    ("material.seebeck_insulator", "400 uV/K", 4e-4),
    ("material.seebeck_electrode", "-2 uV/K", -2e-6),
    ("material.rho_insulator", "6 Ohm cm", 0.06),
    ("material.rho_insulator", "6 ohm*cm", 0.06),
    ("material.kappa", "1 mW/(cm K)", 0.1),
    ("material.heat_capacity", "2.3 J/(cm^3 K)", 2.3e6),
    ("material.latent_heat", "1 J/cm^3", 1e6),
    ("material.t_mit", "87 degC", 360.15),
    ("material.t_mit", "87 °C", 360.15),
    ("material.hysteresis", "4 K", 4.0),
    ("material.hysteresis", "3.6 delta_degF", 2.0),
    ("thermal.t0", "27 degC", 300.15),
    ("thermal.interface_resistance", "1e-8 m^2 K/W", 1e-8),
    ("mesh.size", "50 um", 5e-5),
    ("solver.transition_width", "2 K", 2.0),
    ("solver.transition_width", "2 delta_degC", 2.0),
    ("solver.t_ceiling", "2000 K", 2000.0),
    ("drive.load_resistance", "1 kOhm", 1000.0),
    ("drive.period", "2 ms", 2e-3),
    ("time.t_end", "1 ms", 1e-3),
    ("time.output_every", "10 us", 1e-5),
    ("time.atol", "0.1 K", 0.1),
]


@pytest.mark.parametrize("key, text, si", UNIT_CASES, ids=[f"{k}={t}" for k, t, _ in UNIT_CASES])
def test_strings_with_units_are_converted_to_si(key, text, si):
    sec, name = key.split(".")
    cfg = load_config(preset="fig2a", overrides={key: text})
    assert getattr(getattr(cfg, sec), name) == pytest.approx(si, rel=1e-12)
    # the same from --set, unquoted (not valid TOML: read as a string) and quoted, and from a TOML file
    assert load_config(preset="fig2a", overrides=[f"{key}={text}"]) == cfg
    assert load_config(preset="fig2a", overrides=[f'{key}="{text}"']) == cfg


def test_units_in_a_toml_file(tmp_path):
    (tmp_path / "case.toml").write_text(
        '[geometry]\nlength = "1 mm"\nwidth = "1 mm"\nthickness = "200 um"\n'
        '[material]\nrho_insulator = "6 Ohm cm"\nrho_metal = "0.6 Ohm cm"\nseebeck_insulator = "2 mV/K"\n'
        't_mit = "86.85 degC"\n'
        '[drive]\ncurrent = "10 mA"\n'
        '[thermal]\nt0 = "26.85 degC"\n'
        '[[thermal.boundary]]\nsurface = "bottom"\ntype = "convection"\nh = "1e4 W/(m^2 K)"\nt_ambient = "300 K"\n'
    )
    cfg = load_config(tmp_path / "case.toml")
    numbers = load_config(
        preset="fig2a",
        overrides={"thermal.boundary": [{"surface": "bottom", "type": "convection", "h": 1e4, "t_ambient": 300.0}]},
    )
    assert cfg.groups() == pytest.approx(numbers.groups(), rel=1e-12)
    assert cfg.thermal.boundary[0].h == 1e4 and cfg.drive.current == 0.01 and cfg.material.t_mit == 360.0
    assert cfg.material.rho_insulator == 0.06 and cfg.geometry.thickness == 2e-4


def test_numbers_stay_si_and_strict():
    """Plain numbers are taken as they are (no conversion, no rounding); a boolean is still not a number."""
    x = 1.2345678901234567e-3
    cfg = load_config(preset="fig2a", overrides={"geometry.length": x, "thermal.t0": 300, "drive.current": 0.01})
    assert cfg.geometry.length == x and cfg.thermal.t0 == 300.0 and cfg.drive.current == 0.01
    assert load_config(preset="fig2a") == load_config(preset="fig2a", overrides={"drive.current": "10 mA"})
    for value in (True, "true"):
        with pytest.raises(InputError) as exc:
            load_config(preset="fig2a", overrides={"drive.current": value})
        assert exc.value.key == "drive.current"


def test_law_table_with_units():
    numbers = load_config(overrides=['material.rho_insulator={law = "arrhenius", value = 0.06, t_ref = 300.15, '
                                     "activation_energy_eV = 0.2}"])
    units = load_config(overrides=['material.rho_insulator={law = "arrhenius", value = "6 Ohm cm", '
                                   't_ref = "27 degC", activation_energy_eV = "0.2 eV"}'])
    assert units == numbers
    law = load_config(overrides=['material.kappa={law = "linear", value = "1 mW/(cm K)", t_ref = "300 K", '
                                 'alpha = "1e-3 1/K"}']).material.kappa
    assert (law.value, law.t_ref, law.alpha) == (0.1, 300.0, 1e-3)
    law = load_config(overrides=['material.rho_insulator={law = "table", T = ["26.85 degC", 400], '
                                 'value = ["6 Ohm cm", 0.05]}']).material.rho_insulator
    assert law.T == (300.0, 400.0) and law.values == (0.06, 0.05)
    eV = load_config(overrides=['material.rho_insulator={law = "arrhenius", value = 0.06, t_ref = 300, '
                                'activation_energy_eV = "3.204353268e-20 J"}']).material.rho_insulator
    assert eV.activation_energy_eV == pytest.approx(0.2, rel=1e-12)


def test_parse_override_reads_units_as_strings():
    assert parse_override("drive.current=10 mA") == ("drive", "current", "10 mA")
    assert parse_override('drive.current="10 mA"') == ("drive", "current", "10 mA")
    assert parse_override("thermal.t0= 87 degC ") == ("thermal", "t0", "87 degC")


BAD_UNITS = [
    ({"drive.current": "10 mV"}, "drive.current", 'drive.current: "10 mV" has units of millivolt (a voltage), '
                                                   "expected a current (A)"),
    ({"drive.current": "10 furlongs_per_fortnight"}, "drive.current", "cannot read the units"),
    ({"drive.current": "0.01"}, "drive.current", "has no units"),
    ({"geometry.length": "long"}, "geometry.length", "or a number with units such as"),
    ({"geometry.length": "1 mm + 1 m"}, "geometry.length", "cannot read the units"),
    ({"geometry.length": "-1 mm"}, "geometry.length", "greater than 0"),
    ({"material.kappa": "1 W"}, "material.kappa", "expected a thermal conductivity (W/(m K))"),
    ({"material.rho_insulator": "6 Ohm"}, "material.rho_insulator", "expected a resistivity (Ohm m)"),
    ({"solver.transition_width": "2 degC"}, "solver.transition_width", "not a temperature difference"),
    ({"material.hysteresis": "2 degC"}, "material.hysteresis", "not a temperature difference"),
    ({"thermal.t0": "2 delta_degC"}, "thermal.t0", "is a temperature difference, expected a temperature"),
    ({"drive.current": None, "drive.voltage": "2 V", "drive.waveform": "ramp", "drive.rate": "1 A/s"},
     "drive.rate", "expected a voltage rate (V/s)"),
    ({"drive.waveform": "ramp", "drive.rate": "1 V/s"}, "drive.rate", "expected a current rate (A/s)"),
    ({"drive.amplitude": "1 V"}, "drive.amplitude", "expected a current (A)"),
    ({"drive.current": "1e999 A"}, "drive.current", "finite"),
    ({"drive.current": "10\nmV"}, "drive.current", '"10\\nmV" has units of millivolt'),  # still one line
    ({"time.output_every": "1 m"}, "time.output_every", "expected a time (s)"),
    ({"thermal.boundary": [{"surface": "bottom", "type": "temperature", "t": "300 V"}]}, "thermal.boundary[0].t",
     "expected a temperature (K)"),
    ({"material.rho_insulator": {"law": "arrhenius", "value": 0.06, "t_ref": "300 m",
                                 "activation_energy_eV": 0.2}}, "material.rho_insulator", "t_ref: "),
    ({"material.rho_insulator": {"law": "arrhenius", "value": 0.06, "t_ref": 300,
                                 "activation_energy_eV": "0.2 V"}}, "material.rho_insulator", "expected an energy"),
]


@pytest.mark.parametrize("overrides, key, words", BAD_UNITS, ids=[str(o) for o, _, _ in BAD_UNITS])
def test_wrong_units_name_the_key_and_the_unit(overrides, key, words):
    with pytest.raises(InputError) as exc:
        load_config(preset="fig2a", overrides=overrides)
    assert exc.value.key == key, str(exc.value)
    assert words in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


# float keys that are pure numbers (ratios, relative tolerances, counts of cells): no unit
DIMENSIONLESS = {"drive.duty", "mesh.adapt.fraction", "mesh.adapt.target", "mesh.adapt.band_cells",
                 "solver.width_factor", "solver.newton_rtol", "solver.level_rtol", "solver.phase_tol",
                 "solver.temperature_rtol", "time.rtol", "time.newton_rtol", "time.max_phase_change",
                 "time.steady_rtol"}


def _float_fields(prefix, cls):
    from pydantic import BaseModel

    for name, field in cls.model_fields.items():
        ann = field.annotation
        args = typing.get_args(ann) or (ann,)
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        for model in models:
            if model is not PropertyLaw:
                yield from _float_fields(f"{prefix}{name}.", model)
        inner = [typing.get_args(a)[0] for a in args if typing.get_origin(a) is list]
        for model in inner:
            yield from _float_fields(f"{prefix}{name}[].", model)
        if float in args:
            yield f"{prefix}{name}", field


def test_every_dimensional_key_declares_its_unit():
    """A float key either declares its unit (units.Unit on its annotation) or is a pure number
    listed above: a new dimensional key cannot be added without saying its unit."""
    seen = set()
    for key, field in _float_fields("", Config):
        seen.add(key)
        if key in DIMENSIONLESS:
            assert unit_of(field) is None, key
        else:
            assert unit_of(field) is not None, f"{key}: declare its unit, Annotated[float, Unit('...')]"
    assert seen >= DIMENSIONLESS
    for name, (_, unit, _) in PROPERTIES.items():  # the law keys: the unit the law messages use
        assert unit_of(Material.model_fields[name]).units == (unit,), name
    schema = Config.model_json_schema()["$defs"]  # the unit is in the JSON schema too
    assert schema["Drive"]["properties"]["current"]["unit"] == "A"
    assert schema["BoundaryCondition"]["properties"]["h"]["unit"] == "W/(m^2 K)"


def test_numbers_alone_do_not_import_pint():
    code = ("import sys; from fem_peltier.config import load_config; load_config(preset='fig2a'); "
            "assert 'pint' not in sys.modules; load_config(overrides={'drive.current': '10 mA'}); "
            "assert 'pint' in sys.modules")
    proc = python("-c", code)  # tests/cli_runner.py: this checkout's package
    assert proc.returncode == 0, proc.stderr


def test_readme_units_example(tmp_path):
    """The README's Units example is a valid configuration with the SI values its comments give."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("### Units", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    (tmp_path / "units.toml").write_text(block)
    cfg = load_config(tmp_path / "units.toml")
    m = cfg.material
    assert (m.rho_insulator, m.seebeck_insulator, m.t_mit, cfg.drive.current) == (0.06, 4e-4, 360.15, 0.01)
    assert cfg.geometry.thickness == 2e-4 and cfg.thermal.boundary[0].t_ambient == 293.15
    assert (m.kappa.value, m.kappa.t_ref) == (0.1, 300.15)


def test_terminal_values_take_units(tmp_path):
    """[[drive.terminal]] current (A) and voltage (V) declare their units like every other key."""
    meshes = Path(__file__).resolve().parents[1] / "meshes"
    (tmp_path / "four_probe_bar.geo").write_text((meshes / "four_probe_bar.geo").read_text())
    text = (meshes / "four_probe_bar.toml").read_text()
    (tmp_path / "si.toml").write_text(text)
    (tmp_path / "units.toml").write_text(text.replace("current = 1.0e-5", 'current = "10 uA"')
                                         .replace("voltage = 0.0", 'voltage = "0 mV"'))
    cfg = load_config(tmp_path / "units.toml")
    assert cfg == load_config(tmp_path / "si.toml") and cfg.drive.terminal[0].current == 1e-5
    bad = [{"name": "source", "current": "1 V"}, {"name": "drain", "voltage": 0.0}]
    with pytest.raises(InputError) as exc:
        load_config(tmp_path / "si.toml", overrides={"drive.terminal": bad})
    assert str(exc.value) == 'drive.terminal[0].current: "1 V" has units of volt (a voltage), expected a current (A)'
