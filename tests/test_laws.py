"""Temperature laws of the material properties (property_laws.py, docs/physics.md "Material laws"):
the config keys, their checks (one line naming the key, exit 2), and the UFL expressions against the
formulas on numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cli_runner import fem  # tests/cli_runner.py

import fem_peltier as fp
from fem_peltier.errors import InputError
from fem_peltier.property_laws import K_B_EV, PropertyLaw

ARRHENIUS = '{law="arrhenius", value=0.06, t_ref=300, activation_energy_eV=0.2}'


def cfg_with(*sets: str):
    return fp.load_config(preset="fig2a", overrides=list(sets)).resolved()


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ('{law="linear", value=0.06, t_ref=300, alpha=-1e-4}', lambda T: 0.06 * (1 - 1e-4 * (T - 300))),
        ('{law="exponential", value=0.06, t_ref=300, beta=0.01}', lambda T: 0.06 * np.exp(-0.01 * (T - 300))),
        (ARRHENIUS, lambda T: 0.06 * np.exp(0.2 / K_B_EV * (1 / T - 1 / 300))),
        ('{law="power", value=0.06, t_ref=300, exponent=-1.5}', lambda T: 0.06 * (T / 300) ** -1.5),
        ('{law="table", T=[250, 350, 500], value=[0.1, 0.05, 0.01]}', lambda T: np.interp(T, [250, 350, 500], [0.1, 0.05, 0.01])),
    ],
)
def test_law_from_set(text, formula):
    cfg = cfg_with(f"material.rho_insulator={text}")
    law = cfg.material.rho_insulator
    assert isinstance(law, PropertyLaw)
    T = np.array([150.0, 200.0, 300.0, 360.0, 700.0, 3000.0])
    assert np.allclose(law(T), formula(T), rtol=1e-14, atol=0)
    # the derivative used for the Thomson heat, against a central difference
    Ti = np.array([310.0, 420.0])
    fd = (law(Ti + 1e-4) - law(Ti - 1e-4)) / 2e-4
    assert np.allclose(law.derivative(Ti), fd, rtol=1e-6)
    # what is written with results reads back as the same configuration
    again = fp.load_config(overrides={f"{s}.{k}": v for s, sec in cfg.to_toml_dict().items() for k, v in sec.items()})
    assert again.resolved() == cfg


def test_constants_stay_numbers_and_kappa_metal_defaults_to_kappa():
    cfg = cfg_with()
    m = cfg.material
    assert (m.rho_insulator, m.rho_metal, m.kappa, m.kappa_metal) == (0.06, 0.006, 0.1, 0.1)
    assert isinstance(m.rho_insulator, float)
    law = cfg_with('material.kappa={law="power", value=0.1, t_ref=300, exponent=-1}').material
    assert law.kappa_metal == law.kappa and isinstance(law.kappa_metal, PropertyLaw)
    assert law.kappa_substrate == 0.1  # the law at thermal.t0


def test_table_file_beside_the_toml(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rho_I.csv").write_text("T_K,rho_Ohm_m\n250,0.1\n350,0.05\n500,0.01\n")
    case = tmp_path / "case.toml"
    case.write_text('[material]\nrho_insulator = {law = "table", file = "data/rho_I.csv"}\n')
    cfg = fp.load_config(case).resolved()
    law = cfg.material.rho_insulator
    assert law.file == str(tmp_path / "data" / "rho_I.csv")
    assert law(300.0) == pytest.approx(0.075)
    assert law(100.0) == 0.1 and law(900.0) == 0.01  # constant beyond the ends
    (tmp_path / "bad.csv").write_text("250,0.1\n350,0.05\n500,0.01\n")  # no header
    case.write_text('[material]\nrho_insulator = {law = "table", file = "bad.csv"}\n')
    with pytest.raises(InputError, match="material.rho_insulator.*header"):
        fp.load_config(case)


@pytest.mark.parametrize(
    ("sets", "key", "words"),
    [
        (['material.rho_insulator={law="cubic", value=1}'], "material.rho_insulator", "expected one of"),
        (['material.rho_insulator={law="linear", value=0.06, t_ref=300, beta=1}'], "material.rho_insulator", "unknown key 'beta'"),
        (['material.rho_insulator={law="linear", value=0.06, t_ref=300}'], "material.rho_insulator", "needs alpha"),
        (['material.kappa={law="table", T=[300, 300, 400], value=[1, 2, 3]}'], "material.kappa", "increasing"),
        (['material.kappa={law="table", T=[300, 400], value=[1]}'], "material.kappa", "lengths"),
        (['material.seebeck_metal={law="power", value=1e-5, t_ref=-3, exponent=1}'], "material.seebeck_metal", "t_ref"),
        # rho_I(T) = 0.06 (1 - 1/600 (T - 300)) reaches 0 at 900 K, inside [T0/2, t_ceiling] = [150, 3000] K
        (['material.rho_insulator={law="linear", value=0.06, t_ref=300, alpha=-1.6666666666666666e-3}'],
         "material.rho_insulator", "<= 0 at T"),
        (['material.kappa_metal={law="exponential", value=0.1, t_ref=300, beta=-1}'], "material.kappa_metal", "not a finite"),
        (['material.rho_insulator="0.06"'], "material.rho_insulator", "has no units"),  # a string needs units
        (['material.rho_insulator="6 Ohm"'], "material.rho_insulator", "expected a resistivity (Ohm m)"),
        (['material.rho_insulator=[0.06]'], "material.rho_insulator", "expected a number or a law"),
        (["material.kappa_metal=0"], "material.kappa_metal", "greater than 0"),
        # the phases compared where they meet: rho_M >= rho_I(T_MIT)
        (['material.rho_insulator={law="arrhenius", value=0.06, t_ref=300, activation_energy_eV=1.0}'],
         "material.rho_metal", "at T_MIT"),
    ],
)
def test_bad_laws_are_refused_naming_the_key(sets, key, words):
    with pytest.raises(InputError) as err:
        cfg_with(*sets)
    assert err.value.key == key
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_range_follows_the_runaway_ceiling():
    """The linear law above is refused while the run may reach 900 K, accepted with t_ceiling = 800 K."""
    law = 'material.rho_insulator={law="linear", value=0.06, t_ref=300, alpha=-1.6666666666666666e-3}'
    with pytest.raises(InputError):
        cfg_with(law)
    cfg = cfg_with(law, "solver.t_ceiling=800")
    assert cfg.law_range() == (150.0, 800.0)


def test_cli_set_inline_table_and_refusal(tmp_path):
    ok = fem("config", "--preset", "fig2a", "--set", f"material.rho_insulator={ARRHENIUS}", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert 'law = "arrhenius"' in ok.stdout and "activation_energy_eV = 0.2" in ok.stdout
    bad = fem("run", "--preset", "fig2a", "--out", "out", "--set", 'material.kappa={law="table", T=[400, 300], value=[1, 2]}',
              cwd=tmp_path)
    assert bad.returncode == 2
    assert "material.kappa" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_ufl_laws_match_the_formulas():
    """Every law as UFL (interpolated at the P1 nodes of T = 150..3500 K) equals its numbers, the
    table constant beyond its ends, the clipping to [T_lo, T_hi] included."""
    from mpi4py import MPI  # before dolfinx
    from dolfinx import fem as dfem, mesh as dmesh

    msh = dmesh.create_interval(MPI.COMM_SELF, 64, [150.0, 3500.0])
    V = dfem.functionspace(msh, ("Lagrange", 1))
    T = dfem.Function(V)
    T.interpolate(lambda x: x[0])
    t_range = (150.0, 3000.0)
    laws = [
        '{law="linear", value=2e-3, t_ref=300, alpha=-1e-4}', '{law="exponential", value=0.06, t_ref=300, beta=0.01}',
        ARRHENIUS, '{law="power", value=0.06, t_ref=300, exponent=-1.5}',
        '{law="table", T=[250, 350, 351, 500], value=[0.1, 0.05, 0.02, 0.01]}',
    ]
    for text in laws:
        law = cfg_with(f"material.seebeck_insulator={text}").material.seebeck_insulator
        out = dfem.Function(V)
        out.interpolate(dfem.Expression(law.to_ufl(T, t_range), V.element.interpolation_points))
        x = np.clip(T.x.array, *t_range)
        assert np.allclose(out.x.array, law(x), rtol=1e-12, atol=0), text
        if law.law != "linear":
            ln = dfem.Function(V)
            ln.interpolate(dfem.Expression(law.log_ufl(T, t_range), V.element.interpolation_points))
            assert np.allclose(ln.x.array, np.log(law(x)), rtol=1e-12, atol=1e-12), text
    assert math.isfinite(K_B_EV)
