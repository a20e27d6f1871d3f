"""Polarity reversal on the mirror-symmetric gmsh mesh of the fig2a preset.

The generated mesh is mirror symmetric under x -> L - x (gmsh meshes the half
x <= L/2, the other half is its reflection) and the two electrodes are treated
alike (equipotentials, model.md section 2). Reversing the current therefore maps
every solution onto its mirror image: the phase of the cell with centroid
(x, y, z) at +I equals the phase of the cell with centroid (L - x, y, z) at -I,
up to the solver tolerance (not the discretisation error: both runs solve the
same discrete problem, mirrored). Any asymmetric treatment of the electrodes
(e.g. a current-injecting patch vs a grounded one), an orientation-dependent
Peltier facet term or a non-mirrored mesh breaks this.

With +I (current enters at x near L, leaves at x near 0) the interface Peltier
heat is released where current flows from insulator into metal, i.e. the metal
is hottest and deepest at the negative electrode (x near 0) and its centre of
mass lies at x < L/2; at -I it lies at x > L/2, at the mirrored position.

Serial test (the cell matching uses the full arrays of one process).
"""

from __future__ import annotations

import numpy as np
import pytest

CURRENT = 0.01  # A, the fig2a default: J = P = 0.2
OVERRIDES = ["mesh.size=1e-4", "mesh.electrode_size=2e-5"]
MAX_CELLS = 5000
TOL_PHASE = 1e-8
TOL_REL = 1e-8


def _run(current: float, extra: tuple[str, ...] | list[str] = ()):
    """fig2a at `current` on the coarse mirror mesh (plus `extra` overrides), converged."""
    import fem_peltier as fp
    from fem_peltier.simulation import run

    cfg = fp.load_config(preset="fig2a", overrides=[*OVERRIDES, *extra, f"drive.current={current!r}"])
    res = run(cfg, out=None, pictures=False)
    assert res.converged, res.summary["reason"]
    return res


def _film_cells(res):
    """(centroids (n, 3), phase (n,), volumes (n,)) of the film cells."""
    import ufl
    from dolfinx import fem

    p = res.problem
    n = p.msh.topology.index_map(p.msh.topology.dim).size_local
    dofs = p.Q0.dofmap.list[:n, 0]
    vol = fem.assemble_vector(fem.form(ufl.TestFunction(p.Q0) * ufl.dx(domain=p.msh))).array
    xc_dofs = p.xc.function_space.dofmap.list[:n, 0]
    xc = p.xc.x.array.reshape(-1, 3)[xc_dofs]
    film = p.film_mask[:n]
    return xc[film], p.m.x.array[dofs][film], vol[dofs][film]


@pytest.fixture(scope="module")
def runs():
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("serial test")
    return {+1: _run(+CURRENT), -1: _run(-CURRENT)}


def test_mesh_is_coarse_and_metal_forms(runs):
    for sign, res in runs.items():
        s = res.summary
        assert s["cells"] < MAX_CELLS, s["cells"]
        assert s["metal_fraction"] > 0.01, (sign, s["metal_fraction"])
        assert s["heat_balance_rel"] < 1e-6


def test_metal_moves_to_the_other_electrode(runs):
    """Centre of mass of the metal: x < L/2 for +I, mirrored (L - x) for -I."""
    L = runs[+1].problem.cfg.geometry.length
    com = {}
    for sign, res in runs.items():
        xc, m, vol = _film_cells(res)
        w = m * vol
        com[sign] = float(np.sum(w * xc[:, 0]) / np.sum(w))
    print(f"\nmetal centre of mass x/L: +I {com[+1] / L:.6f}, -I {com[-1] / L:.6f}, "
          f"sum - 1 = {(com[+1] + com[-1]) / L - 1:.2e}")
    assert com[+1] < 0.5 * L - 0.01 * L
    assert com[-1] > 0.5 * L + 0.01 * L
    assert abs(com[+1] + com[-1] - L) < 1e-8 * L


def test_solution_is_the_mirror_image(runs):
    """Cell by cell: m_A(x, y, z) = m_B(L - x, y, z); integrals equal to solver precision."""
    from scipy.spatial import cKDTree

    L = runs[+1].problem.cfg.geometry.length
    xa, ma, _ = _film_cells(runs[+1])
    xb, mb, _ = _film_cells(runs[-1])
    assert xa.shape == xb.shape
    mirrored = xa.copy()
    mirrored[:, 0] = L - mirrored[:, 0]
    dist, idx = cKDTree(xb).query(mirrored)
    h_min = 1e-3 * 2e-5  # far below any cell size
    assert dist.max() < h_min, f"no mirror cell for some centroid (max distance {dist.max():.3e} m)"
    assert np.unique(idx).size == idx.size  # a bijection
    dm = np.abs(ma - mb[idx])
    sa, sb = runs[+1].summary, runs[-1].summary
    rel = {}
    for key in ("T_max_K", "T_mean_K", "metal_fraction", "T_top_mean_K", "heat_joule_W", "heat_peltier_W"):
        rel[key] = abs(sa[key] - sb[key]) / abs(sa[key])
    rel["|V|"] = abs(abs(sa["voltage_V"]) - abs(sb["voltage_V"])) / abs(sa["voltage_V"])
    print(f"\nmirror: max |m_A - m_B(mirror)| = {dm.max():.2e} over {dm.size} film cells; "
          + ", ".join(f"{k} {v:.1e}" for k, v in rel.items()))
    assert sa["voltage_V"] > 0 > sb["voltage_V"]
    assert dm.max() < TOL_PHASE
    for key, v in rel.items():
        assert v < TOL_REL, (key, v)
    # metal_top_x_range_m probes the DG0 phase on the line y = W/2, which runs along cell
    # faces of this mesh; a point on a face takes the first colliding cell, and that choice
    # is not mirror-consistent. Observed: +I [0, 0.98750] mm, -I [0.02875, 1] mm, one cell
    # apart. So only agreement to about one cell at the patch (electrode_size) is asserted.
    x0a, x1a = sa["metal_top_x_range_m"]
    x0b, x1b = sb["metal_top_x_range_m"]
    cell = runs[+1].problem.cfg.mesh.electrode_size
    print(f"metal_top_x_range_m: +I {sa['metal_top_x_range_m']}, -I {sb['metal_top_x_range_m']}")
    assert abs(x0a - (L - x1b)) <= cell and abs(x1a - (L - x0b)) <= cell


# --- the same with the Seebeck EMF and contact Peltier heat (issue 16) --------------------------
# S_e = 0.2 mV/K differs from both S_M = 0 and S_I = 2 mV/K, so every contact carries Peltier
# heat (here both contacts are metal: the one where the current leaves the film is cooled,
# the other heated; with S_e = 1 mV/K the continuation finds no state at 10 mA).
# Mirrored, the thermoelectric voltage reverses with the current (V(-I) = -V(+I)) and what
# one contact releases at +I the other releases at -I.
EMF_OVERRIDES = ["thermal.seebeck_emf=true", "material.seebeck_electrode=2e-4"]


def _contact_heat(res) -> dict[str, float]:
    """Contact Peltier heat (W) at the negative and at the positive electrode."""
    from fem_peltier.diagnostics import integrate
    from fem_peltier.mesh import ELECTRODE_NEG, ELECTRODE_POS

    p = res.problem
    q = p.physics.source("contact_peltier").density
    return {"neg": integrate(p, q * p.ds(ELECTRODE_NEG)), "pos": integrate(p, q * p.ds(ELECTRODE_POS))}


@pytest.fixture(scope="module")
def runs_emf():
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("serial test")
    return {sign: _run(sign * CURRENT, EMF_OVERRIDES) for sign in (+1, -1)}


def test_emf_and_contacts_mirror_image(runs_emf):
    """With the EMF and the contact heat on, -I is still the exact mirror image of +I, and the
    two contacts swap their Peltier heat."""
    from scipy.spatial import cKDTree

    L = runs_emf[+1].problem.cfg.geometry.length
    xa, ma, _ = _film_cells(runs_emf[+1])
    xb, mb, _ = _film_cells(runs_emf[-1])
    mirrored = xa.copy()
    mirrored[:, 0] = L - mirrored[:, 0]
    dist, idx = cKDTree(xb).query(mirrored)
    assert dist.max() < 1e-3 * 2e-5 and np.unique(idx).size == idx.size
    dm = np.abs(ma - mb[idx])
    sa, sb = runs_emf[+1].summary, runs_emf[-1].summary
    assert sa["metal_fraction"] > 0.01
    assert dm.max() < TOL_PHASE
    for key in ("T_max_K", "T_mean_K", "metal_fraction", "heat_joule_W", "heat_peltier_W",
                "heat_contact_peltier_W", "heat_to_sink_W"):
        assert abs(sa[key] - sb[key]) <= TOL_REL * abs(sa[key]), (key, sa[key], sb[key])
    assert sa["voltage_V"] > 0 > sb["voltage_V"]
    assert abs(sa["voltage_V"] + sb["voltage_V"]) <= TOL_REL * sa["voltage_V"]
    for s in (sa, sb):
        assert s["heat_balance_rel"] < 1e-10
        assert s["peltier_forms_mismatch_rel"] < 1e-9  # facet and flux forms agree with the EMF on
    ca, cb = _contact_heat(runs_emf[+1]), _contact_heat(runs_emf[-1])
    print(f"\ncontact heat (W): +I neg {ca['neg']:.6e} pos {ca['pos']:.6e}; -I neg {cb['neg']:.6e} pos {cb['pos']:.6e}")
    assert abs(ca["neg"]) > 1e-3 * sa["heat_joule_W"] and abs(ca["pos"]) > 1e-3 * sa["heat_joule_W"]
    assert ca["neg"] == pytest.approx(cb["pos"], rel=1e-7)
    assert ca["pos"] == pytest.approx(cb["neg"], rel=1e-7)
    assert ca["neg"] + ca["pos"] == pytest.approx(sa["heat_contact_peltier_W"], rel=1e-12)
