"""Configuration: defaults, presets (model.md section 3), overrides, resolution."""

from __future__ import annotations

import math
import tomllib

import pytest
import tomli_w

from fem_peltier.config import (
    Config,
    apply_overrides,
    from_dict,
    load_config,
    parse_override,
    preset_description,
    preset_names,
)
from fem_peltier.errors import InputError

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
