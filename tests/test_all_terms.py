"""Every term of the device physics on at once: the polarity mirror and serial == `mpirun -n 2`.

fig2a on its mirror-symmetric coarse mesh with an activated insulating resistivity, a
temperature-dependent Seebeck coefficient (Thomson heat), a temperature-dependent kappa,
the Seebeck EMF in the current, contact Peltier heat (S_e = 0.2 mV/K), convection on
the top surface besides the bottom sink, and a Kapitza resistance to the sink. Each term
is odd or even under x -> L - x with the current reversed in the same way as the paper's
terms (every heat density is a product of j with gradients or normals that all change
sign), so the solution at -I is the mirror image of the one at +I; and every quantity is
assembled per rank and allreduced, so two ranks give the serial answer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_runner import fem, mpirun  # tests/cli_runner.py
from test_polarity import OVERRIDES as MESH  # tests/test_polarity.py: the coarse mirror mesh
from test_polarity import _film_cells, _run

ALL_TERMS = [
    'material.rho_insulator={law="arrhenius", value=0.06, t_ref=300, activation_energy_eV=0.1}',
    'material.seebeck_insulator={law="linear", value=2e-3, t_ref=300, alpha=-1e-3}',
    'material.kappa={law="power", value=0.1, t_ref=300, exponent=-0.5}',
    "thermal.seebeck_emf=true",
    "material.seebeck_electrode=2e-4",
    'thermal.boundary=[{surface="bottom", type="temperature", t=300}, '
    '{surface="top", type="convection", h=1e4, t_ambient=300}]',
    "thermal.interface_resistance=1e-7",
]
CURRENT = 0.01
HEAT_KEYS = ("heat_joule_W", "heat_peltier_W", "heat_thomson_W", "heat_contact_peltier_W",
             "heat_boundary_bottom_W", "heat_boundary_top_W", "heat_to_sink_W")


@pytest.fixture(scope="module")
def runs():
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("serial reference")
    return {+1: _run(+CURRENT, ALL_TERMS), -1: _run(-CURRENT, ALL_TERMS)}


def test_every_term_carries_heat_and_the_balance_closes(runs):
    s = runs[+1].summary
    for key in ("heat_peltier_W", "heat_thomson_W", "heat_contact_peltier_W", "heat_boundary_top_W"):
        assert abs(s[key]) > 1e-3 * s["heat_joule_W"], (key, s[key])
    assert s["heat_balance_rel"] < 1e-10
    # the independent flux form of -T j . grad S equals the facet (Peltier) plus cell (Thomson) heat
    assert s["peltier_forms_mismatch_rel"] < 1e-8
    assert s["metal_fraction"] > 0.005


def test_polarity_reversal_mirrors_the_solution(runs):
    """m(x) at -I equals m(L - x) at +I cell by cell; V changes sign; every heat is the same."""
    from scipy.spatial import cKDTree

    a, b = runs[+1], runs[-1]
    L = a.problem.cfg.geometry.length
    xa, ma, _ = _film_cells(a)
    xb, mb, _ = _film_cells(b)
    mirrored = xa.copy()
    mirrored[:, 0] = L - mirrored[:, 0]
    dist, idx = cKDTree(xb).query(mirrored)
    assert dist.max() < 1e-9 * L
    assert np.abs(ma - mb[idx]).max() < 1e-8
    sa, sb = a.summary, b.summary
    assert sb["voltage_V"] == pytest.approx(-sa["voltage_V"], rel=1e-8)
    assert sb["T_max_K"] == pytest.approx(sa["T_max_K"], rel=1e-8)
    for key in HEAT_KEYS:
        assert sb[key] == pytest.approx(sa[key], rel=1e-7, abs=1e-12), key


@pytest.mark.mpi
def test_two_ranks_give_the_serial_answer(runs, tmp_path):
    launcher = mpirun()
    if launcher is None:
        pytest.skip("no mpirun")
    sets = [arg for o in [*MESH, *ALL_TERMS, f"drive.current={CURRENT!r}"] for arg in ("--set", o)]
    out = tmp_path / "run"
    proc = fem("run", "--preset", "fig2a", *sets, "--out", str(out), cwd=tmp_path,
               launcher=[launcher, "-n", "2"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s1, s2 = runs[+1].summary, json.loads((out / "summary.json").read_text())
    assert s2["ranks"] == 2 and s2["converged"] is True
    for key in ("T_max_K", "T_mean_K", "voltage_V", "metal_fraction", *HEAT_KEYS):
        assert s2[key] == pytest.approx(s1[key], rel=1e-8, abs=1e-14), key
    for key in ("iterations", "cells", "partial_cells", "interface_facets", "metal_regions"):
        assert s2[key] == s1[key], key
