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

import math
from pathlib import Path

import numpy as np
import pytest

from cli_runner import fem, helper_json  # tests/cli_runner.py

H, KE, KL, RHO, T0 = 1e-5, 0.02, 0.08, 0.06, 300.0
CHECK = Path(__file__).with_name("two_temperature_check.py")


def _slab(alpha_h: float, nz: int, extra: dict | None = None):
    from mpi4py import MPI  # noqa: F401

    import fem_peltier as fp
    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.continuation import solve
    from fem_peltier.coupled import CoupledProblem
    from fem_peltier.diagnostics import summary_quantities
    from fem_peltier.fields import EXCESS, TEMPERATURE

    alpha = alpha_h / H
    gamma = alpha**2 * KE * KL / (KE + KL)
    j = math.sqrt(20 * (KE + KL) / (RHO * H**2))  # a 10 K rise of the one-temperature slab
    side = H / 10
    cfg = fp.load_config(
        overrides={
            "geometry.length": side,
            "geometry.width": side,
            "geometry.thickness": H,
            "geometry.electrodes": "ends",
            "material.t_mit": 2000.0,
            "material.seebeck_insulator": 0.0,
            "material.kappa_electron": KE,
            "material.kappa_lattice": KL,
            "material.electron_lattice_coupling": gamma,
            "thermal.model": "two",
            "drive.current": j * side * H,
            "solver.initial_width": 3.0,
            "solver.transition_width": 3.0,
            "solver.linear_solver": "mumps",
            **(extra or {}),
        }
    )
    p = CoupledProblem(cfg, box_film_mesh(cfg, (2, 2, nz)))
    rep = solve(p)
    z = p.unknowns[TEMPERATURE].space.tabulate_dof_coordinates()[:, 2]
    T_l = p.unknowns.values(TEMPERATURE).copy()
    T_e = T_l + p.unknowns.values(EXCESS)
    return rep, summary_quantities(p), z[: T_l.size], T_l, T_e, alpha, gamma, RHO * j**2


def _b5(z, alpha, gamma, q):
    kappa = KE + KL
    s = alpha * math.sinh(alpha * H)
    T_l = T0 + q / kappa * (H * z - z**2 / 2 + (KE / KL) * H * (math.cosh(alpha * H) - np.cosh(alpha * (H - z))) / s)
    theta = q * KL / (gamma * kappa) + q * H * np.cosh(alpha * (H - z)) / (KL * s)
    return T_l, T_l + theta


@pytest.mark.parametrize(("alpha_h", "nz"), [(1.0, 50), (10.0, 100), (100.0, 400)])
def test_slab_matches_eq_b5(alpha_h, nz):
    rep, s, z, T_l, T_e, alpha, gamma, q = _slab(alpha_h, nz)
    assert rep.converged
    ex_l, ex_e = _b5(z, alpha, gamma, q)
    rise = q * H**2 / (2 * (KE + KL))
    levels = np.unique(np.round(z / H, 9))
    err_l = err_e = 0.0
    for zz in levels:
        at = np.abs(z / H - zz) < 1e-7
        err_l = max(err_l, abs(T_l[at].mean() - ex_l[at].mean()) / rise)
        err_e = max(err_e, abs(T_e[at].mean() - ex_e[at].mean()) / rise)
    # measured (of the rise q h^2 / (2 kappa)): T_l 3.5e-6, 1.9e-5, 1.0e-5 and T_e 8.5e-5, 1.0e-4,
    # 5.2e-5 for alpha h = 1, 10, 100 (the electrons' boundary layer at the sink is the hardest part)
    assert err_l < 5e-5
    assert err_e < 3e-4
    # the correction to the one-temperature parabola is seen, and it is the derived one
    top = np.isclose(z, H)
    correction = T_l[top].mean() - (T0 + rise)
    exact = (KE / KL) * H * (math.cosh(alpha * H) - 1) / (alpha * math.sinh(alpha * H)) * q / (KE + KL)
    assert correction == pytest.approx(exact, rel=5e-3 if alpha_h < 50 else 3e-2)
    # every source heats the electrons, which hand it all to the lattice
    assert s["heat_exchange_W"] == pytest.approx(s["heat_joule_W"], rel=1e-9)
    assert s["heat_balance_rel"] < 1e-9 and s["heat_balance_electrons_rel"] < 1e-9
    assert s["T_electron_max_K"] > s["T_lattice_max_K"]


def test_electrons_held_at_the_sink():
    """thermal.electron_sink = "lattice": T_e = T_l = T0 on the sink, the heat still all arrives there."""
    rep, s, z, T_l, T_e, *_ = _slab(1.0, 50, {"thermal.electron_sink": "lattice"})
    assert rep.converged
    bottom = np.isclose(z, 0.0)
    assert np.allclose(T_e[bottom], T0) and np.allclose(T_l[bottom], T0)
    assert s["heat_to_sink_W"] == pytest.approx(s["heat_joule_W"], rel=1e-9)
    assert s["heat_balance_rel"] < 1e-9
    # the electrons now shed heat at the sink themselves: less passes through the lattice
    assert 0 < s["heat_exchange_W"] < s["heat_joule_W"]
    assert "heat_balance_electrons_rel" not in s


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
