"""Two-temperature model (thermal.model = "two", issue 20; docs/physics.md, Two temperatures).

1. Eq. B5 (derived in docs/physics.md): a uniform insulating slab of thickness h carrying a
   uniform current, lattice held at T0 at z = 0, electrons adiabatic there, everything adiabatic
   at z = h. With q = rho j^2, kappa = kappa_e + kappa_l, alpha^2 = gamma (1/kappa_e + 1/kappa_l):

       T_l(z) = T0 + q/kappa [h z - z^2/2 + (kappa_e/kappa_l) h (cosh(alpha h) - cosh(alpha (h - z)))
                                                                 / (alpha sinh(alpha h))]
       T_e(z) - T_l(z) = q kappa_l / (gamma kappa) + q h cosh(alpha (h - z)) / (kappa_l alpha sinh(alpha h))

   checked for alpha h = 1, 10, 100 (lateral means at each z level: the tetrahedra of a thin box
   tilt the P1 solution laterally by O(dz), which averages out; the means converge at 2nd order).
2. gamma_el -> infinity gives the one-temperature fig2a (T_max, V, metal fraction within 1e-4).
3. The heat balance with the exchange term, serial == mpirun -n 2; bad input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli_runner import fem, helper_json  # tests/cli_runner.py

CHECK = Path(__file__).with_name("two_temperature_check.py")
T0 = 300.0


@pytest.mark.parametrize(("alpha_h", "nz"), [(1.0, 50), (10.0, 100), (100.0, 400)])
def test_slab_matches_eq_b5(alpha_h, nz):
    from fem_peltier.validation_two_temperature import b5_slab, level_means

    r = b5_slab(alpha_h, nz)
    assert r["converged"]
    rise, h = r["rise"], r["h"]
    zl, T_l = level_means(r["z"], r["T_l"], h)
    _, T_e = level_means(r["z"], r["T_e"], h)
    _, ex_l = level_means(r["z"], r["exact_l"], h)
    _, ex_e = level_means(r["z"], r["exact_e"], h)
    # measured (of the rise q h^2 / (2 kappa)): T_l 3.5e-6, 1.9e-5, 1.0e-5 and T_e 8.5e-5, 1.0e-4,
    # 5.2e-5 for alpha h = 1, 10, 100 (the electrons' boundary layer at the sink is the hardest part)
    assert np.max(np.abs(T_l - ex_l)) / rise < 5e-5
    assert np.max(np.abs(T_e - ex_e)) / rise < 3e-4
    # the correction to the one-temperature parabola is seen, and it is the derived one
    top = zl.argmax()
    assert T_l[top] - T0 - rise == pytest.approx(ex_l[top] - T0 - rise, rel=5e-3 if alpha_h < 50 else 3e-2)
    s = r["summary"]  # every source heats the electrons, which hand it all to the lattice
    assert s["heat_exchange_W"] == pytest.approx(s["heat_joule_W"], rel=1e-9)
    assert s["heat_balance_rel"] < 1e-9 and s["heat_balance_electrons_rel"] < 1e-9
    assert s["T_electron_max_K"] > s["T_lattice_max_K"]


def test_electrons_held_at_the_sink():
    """thermal.electron_sink = "lattice": T_e = T_l = T0 on the sink, the heat still all arrives there."""
    from fem_peltier.validation_two_temperature import b5_slab

    r = b5_slab(1.0, 50, {"thermal.electron_sink": "lattice"})
    assert r["converged"]
    bottom = np.isclose(r["z"], 0.0)
    assert np.allclose(r["T_e"][bottom], T0) and np.allclose(r["T_l"][bottom], T0)
    s = r["summary"]
    assert s["heat_to_sink_W"] == pytest.approx(s["heat_joule_W"], rel=1e-9)
    assert s["heat_balance_rel"] < 1e-9
    # the electrons now shed heat at the sink themselves: less passes through the lattice
    assert 0 < s["heat_exchange_W"] < s["heat_joule_W"]
    assert "heat_balance_electrons_rel" not in s


def test_electrons_held_at_a_configured_sink_temperature():
    """The same with [[thermal.boundary]] holding the bottom at 305 K (the sink of named surfaces,
    not the default one): both temperatures are 305 K there and the heat balance closes."""
    from fem_peltier.validation_two_temperature import b5_slab

    bottom_305 = [{"surface": "bottom", "type": "temperature", "t": 305.0}]
    r = b5_slab(1.0, 50, {"thermal.electron_sink": "lattice", "thermal.boundary": bottom_305})
    assert r["converged"]
    bottom = np.isclose(r["z"], 0.0)
    assert np.allclose(r["T_e"][bottom], 305.0) and np.allclose(r["T_l"][bottom], 305.0)
    s = r["summary"]
    assert s["heat_to_sink_W"] == pytest.approx(s["heat_joule_W"], rel=1e-9)
    assert s["heat_balance_rel"] < 1e-9
    assert 0 < s["heat_exchange_W"] < s["heat_joule_W"]


def test_gamma_to_infinity_is_the_one_temperature_model():
    """fig2a (coarse): gamma_el = 1e16 W/(m^3 K) makes sqrt(kappa_l/gamma) 3 nm on a 200 um film."""
    import fem_peltier as fp

    base = ["mesh.size=2e-4", "mesh.electrode_size=5e-5", "solver.linear_solver=mumps"]
    one = fp.run(fp.load_config(preset="fig2a", overrides=base), pictures=False).summary
    two = helper_json(CHECK, "1e16")
    assert one["converged"] and two["converged"]
    for key in ("T_max_K", "voltage_V", "metal_fraction"):
        assert two[key] == pytest.approx(one[key], rel=1e-4)  # measured 3.5e-9, 1e-10, 2.4e-10
    assert two["iterations"] == one["iterations"]


@pytest.mark.mpi
def test_heat_balance_and_serial_equals_mpirun():
    """gamma_el = 1e9: the electrons run 100 K hotter than the lattice at the contacts."""
    serial = helper_json(CHECK, "1e9")
    par = helper_json(CHECK, "1e9", ranks=2)
    assert serial["converged"] and par["converged"]
    assert serial["T_electron_max_K"] > serial["T_lattice_max_K"] + 50
    assert serial["T_max_K"] == serial["T_lattice_max_K"]
    sources = serial["heat_joule_W"] + serial["heat_peltier_W"]
    assert serial["heat_exchange_W"] == pytest.approx(sources, rel=1e-9)
    assert serial["heat_to_sink_W"] == pytest.approx(sources, rel=1e-9)
    assert serial["heat_balance_rel"] < 1e-9 and serial["heat_balance_electrons_rel"] < 1e-9
    for key in ("voltage_V", "T_electron_max_K", "T_lattice_max_K", "metal_fraction", "heat_exchange_W"):
        assert par[key] == pytest.approx(serial[key], rel=1e-8)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["--set", "material.kappa=0.3", "--set", "material.kappa_lattice=0.05"], "material.kappa"),
        (["--set", "material.electron_lattice_coupling=none"], "material.electron_lattice_coupling"),
        (["--set", "thermal.model=one"], "material.kappa_electron"),
    ],
)
def test_bad_two_temperature_input(tmp_path, args, key):
    base = ["--preset", "fig2a", "--set", "thermal.model=two", "--set", "material.kappa_electron=0.02",
            "--set", "material.electron_lattice_coupling=1e12"]
    proc = fem("run", *base, *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert key in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_transient_refuses_two_temperatures(tmp_path):
    proc = fem("transient", "--preset", "fig2a", "--set", "thermal.model=two", "--set", "material.kappa_electron=0.02",
               "--set", "material.electron_lattice_coupling=1e12", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and "thermal.model" in proc.stderr and "steady-state only" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("gamma", ["1e9", "1e16"])
def test_iterative_solver_scales_with_the_coupling(gamma):
    """gmres-gamg with the electrons' excess as a split of its own (block Gauss-Seidel, linalg.py):
    the GMRES iterations per solve do not grow with gamma_el (fig2a, 9728 cells: 21.5 at 1e13 and
    1e16 against 22.5 with one temperature; one multigrid on the coupled block took 520 and failed)."""
    r = helper_json(CHECK, gamma, "solver.linear_solver=gmres-gamg")
    assert r["converged"]
    assert r["ksp_iterations_per_solve"] < 40
