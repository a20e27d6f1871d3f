"""Material presets (docs/materials.md): every preset loads, validates and combines with the
geometry presets; --material sits between the preset/file and --set; bad names are one-line
input errors (exit 2); `presets` lists them; one coarse VO2 solve converges to a plausible state."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

import fem_peltier as fp
from fem_peltier.config import (
    MATERIAL_FILM_KEYS,
    load_config,
    material_data,
    material_names,
    material_suggested_t0,
    preset_names,
)
from fem_peltier.errors import InputError
from fem_peltier.property_laws import PropertyLaw
from cli_runner import fem  # tests/cli_runner.py

REPO = Path(__file__).resolve().parents[1]
MATERIALS = ["ca2ruo4", "nbo2", "v2o3", "vo2"]
K_B = 8.617333262e-5


def _cfg(name: str, preset: str = "fig2a", overrides: list[str] | None = None):
    """The material on a geometry preset, at the material's suggested sink temperature."""
    t0 = material_suggested_t0(name)
    return load_config(preset=preset, material=name, overrides=[f"thermal.t0={t0}", *(overrides or [])])


def test_library_lists_the_four_materials():
    assert material_names() == MATERIALS
    assert fp.material_names() == MATERIALS
    # shipped as package data next to the geometry presets (pyproject package-data)
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "presets/materials/*.toml" in data["tool"]["setuptools"]["package-data"]["fem_peltier"]


@pytest.mark.parametrize("name", MATERIALS)
def test_material_preset_is_complete_and_physical(name):
    raw = material_data(name)
    assert set(raw) == set(MATERIAL_FILM_KEYS), f"{name}: a preset defines every film property"
    for preset in preset_names():
        cfg = _cfg(name, preset)
        m = cfg.material
        # the film properties are the material's, not the geometry preset's
        assert m.t_mit == raw["t_mit"] and m.hysteresis == raw["hysteresis"]
        # activated insulating resistivity: an Arrhenius law with a positive activation energy
        assert isinstance(m.rho_insulator, PropertyLaw) and m.rho_insulator.law == "arrhenius"
        assert 0.05 <= (m.rho_insulator.activation_energy_eV or 0) <= 1.0
        t_lo, t_hi = cfg.law_range()
        for T in (t_lo, cfg.thermal.t0, m.t_mit, t_hi):
            for key in ("rho_insulator", "rho_metal", "kappa", "kappa_metal"):
                val = m.at(key, T)
                assert math.isfinite(val) and val > 0, (name, key, T)
            for key in ("seebeck_insulator", "seebeck_metal"):
                assert abs(m.at(key, T)) < 5e-3, (name, key, T)  # |S| below 5 mV/K
        # insulating below T_MIT: rho_I falls with T, and the metal conducts better at T_MIT
        assert m.at("rho_insulator", cfg.thermal.t0) > m.at("rho_insulator", m.t_mit) > m.at("rho_metal", m.t_mit)
        assert m.t_mit - m.hysteresis / 2 > cfg.thermal.t0


def test_seebeck_signs_and_vo2_numbers():
    """Sign matters for the Peltier heat: VO2 and NbO2 are n-type in both phases,
    Ca2RuO4's insulator is p-type with a metal of S ~ 0 (the paper)."""
    vo2 = load_config(preset="fig2a", material="vo2").material
    assert -1e-3 < vo2.at("seebeck_insulator", 300) < -100e-6 and -50e-6 < vo2.at("seebeck_metal", 350) < 0
    assert vo2.at("kappa_metal", 350) < 1.2 * vo2.at("kappa", 300)  # small electronic kappa (Lee et al. 2017)
    assert vo2.t_mit == 340.0
    nbo2 = load_config(preset="fig2a", material="nbo2").material
    assert nbo2.at("seebeck_insulator", 300) < 0 and nbo2.t_mit == pytest.approx(1081.0)
    ca = load_config(preset="fig2a", material="ca2ruo4")
    assert ca.material.at("seebeck_insulator", 300) > 0 and ca.material.seebeck_metal == 0.0


def test_ca2ruo4_is_fig2a_at_t0_with_an_arrhenius_law():
    """The paper's numbers: at T0 the Ca2RuO4 preset gives fig2a's groups exactly."""
    fig = load_config(preset="fig2a")
    ca = load_config(preset="fig2a", material="ca2ruo4")
    assert ca.groups() == pytest.approx(fig.groups(), rel=1e-12)
    law = ca.material.rho_insulator
    assert isinstance(law, PropertyLaw)
    # Arrhenius: rho(T_MIT)/rho(T0) = exp(Ea/k_B (1/T_MIT - 1/T0))
    ratio = ca.material.at("rho_insulator", 360.0) / ca.material.at("rho_insulator", 300.0)
    assert ratio == pytest.approx(math.exp(law.activation_energy_eV / K_B * (1 / 360 - 1 / 300)), rel=1e-12)


def test_material_overlays_film_keys_and_keeps_substrate(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(
        "[geometry]\nsubstrate_thickness = 1e-4\n"
        "[material]\nrho_insulator = 0.5\nkappa_metal = 9.0\nkappa_substrate = 40.0\nt_mit = 400.0\n"
    )
    cfg = load_config(case, material="vo2")
    assert cfg.material.kappa_substrate == 40.0  # the substrate is not the film
    assert cfg.material.kappa_metal == 3.8 and cfg.material.t_mit == 340.0  # the film is the material's
    assert isinstance(cfg.material.rho_insulator, PropertyLaw)


def test_set_overrides_the_material_preset():
    cfg = load_config(
        preset="fig2a",
        material="vo2",
        overrides=["material.kappa=2.0", "material.hysteresis=0", "material.rho_insulator=0.1"],
    )
    assert cfg.material.kappa == 2.0 and cfg.material.hysteresis == 0.0 and cfg.material.rho_insulator == 0.1
    assert cfg.material.kappa_metal == 3.8  # not overridden: still the preset's
    law = 'material.rho_insulator={law="arrhenius", value=0.2, t_ref=300, activation_energy_eV=0.4}'
    cfg = load_config(preset="fig2a", material="vo2", overrides=[law])
    assert cfg.material.at("rho_insulator", 300) == pytest.approx(0.2)
    cfg = load_config(preset="fig2a", material="vo2", overrides={"material.t_mit": 345.0})
    assert cfg.material.t_mit == 345.0


def test_unknown_material_names_the_available_ones():
    with pytest.raises(InputError) as err:
        load_config(preset="fig2a", material="vo3")
    assert err.value.key == "--material" and "vo3" in err.value.message
    assert all(name in err.value.message for name in MATERIALS)


def test_v2o3_needs_a_sink_below_its_transition():
    """--material never changes thermal.t0: with fig2a's 300 K the error names the fix."""
    with pytest.raises(InputError) as err:
        load_config(preset="fig2a", material="v2o3")
    assert err.value.key == "material.t_mit" and "thermal.t0=100" in err.value.message
    cfg = load_config(preset="fig2a", material="v2o3", overrides=["thermal.t0=100"])
    assert cfg.thermal.t0 == 100.0 and cfg.material.t_mit == 155.0
    with pytest.raises(InputError) as err:  # other t_mit errors get no sink-temperature hint
        load_config(preset="fig2a", material="v2o3", overrides=["thermal.t0=100", "material.t_mit=-1"])
    assert err.value.key == "material.t_mit" and "thermal.t0" not in err.value.message


# ---------------------------------------------------------------------------------------
# Command line


def test_cli_material_config_and_set_order(tmp_path):
    proc = fem("config", "--preset", "fig2a", "--material", "vo2", "--set", "material.kappa=2.5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert "--material vo2" in proc.stdout.splitlines()[0]
    mat = data["material"]
    assert mat["kappa"] == 2.5 and mat["kappa_metal"] == 3.8 and mat["t_mit"] == 340.0
    assert mat["rho_insulator"]["law"] == "arrhenius" and mat["seebeck_insulator"] == pytest.approx(-200e-6)
    # the printed configuration is itself a CONFIG.toml that loads to the same thing
    (tmp_path / "again.toml").write_text(proc.stdout)
    again = load_config(tmp_path / "again.toml")
    assert again == load_config(preset="fig2a", material="vo2", overrides=["material.kappa=2.5"]).resolved()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["config", "--preset", "fig2a", "--material", "unobtainium"], ["--material", "unobtainium", "vo2"]),
        (["run", "--preset", "fig2a", "--material", "nope", "--out", "out"], ["--material", "nope"]),
        (["config", "--preset", "fig2a", "--material", "v2o3"], ["material.t_mit", "thermal.t0=100"]),
    ],
)
def test_cli_bad_material_is_exit_2(tmp_path, args, names):
    proc = fem(*args, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("fem-peltier: error: "), proc.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_presets_lists_the_materials(tmp_path):
    proc = fem("presets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Material presets" in out
    for name in MATERIALS:
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    assert "T_MIT=340 K" in out and "T_MIT=1081 K" in out and "rho_I(T0=300 K)=0.05 Ohm m" in out


# ---------------------------------------------------------------------------------------
# One coarse solve


def test_vo2_on_fig2a_converges_to_a_plausible_state():
    """fig2a's geometry with the VO2 film at 20 mA (J = 0.019 at T0): a coarse run converges
    (about 15 s) with the hot spots at the electrode patch edges just above T_MIT."""
    from mpi4py import MPI  # noqa: F401  (before dolfinx)

    from fem_peltier.simulation import run

    cfg = load_config(preset="fig2a", material="vo2", overrides=["mesh.size=2e-4", "drive.current=0.02"])
    s = run(cfg, pictures=False).summary
    assert s["converged"] is True, s.get("reason")
    t0, t_mit = cfg.thermal.t0, cfg.material.t_mit
    assert t0 + 20.0 < s["T_max_K"] < t_mit + 20.0, s["T_max_K"]  # heated, at most barely switched
    assert t0 < s["T_mean_K"] < t0 + 15.0, s["T_mean_K"]
    assert s["metal_fraction"] < 0.01
    assert s["voltage_V"] > 0  # current enters at the positive electrode
    assert abs(s["heat_balance_rel"]) < 1e-8  # Joule + Peltier + Thomson = sink
