"""With every material property a number (the default), the forms and the answers are those of the
constant-property model (before temperature laws existed)."""

from __future__ import annotations

import pytest

# fig2a, mesh.size = 2e-4, geometry.electrode_width = mesh.electrode_size = 4e-5, solved by the
# committed code before the laws (03022d8) on the development machine; this code gives the same
# bits there. The tolerance leaves room for another platform's gmsh and LAPACK, not for a change of
# the model (the Arrhenius variant of the same case moves T_max by 55 K).
REF = {"T_max_K": 580.6382848761303, "voltage_V": 4.131936606120462, "heat_joule_W": 0.041319366061195476,
       "heat_peltier_W": 3.465555459196541e-05}
CASE = ["mesh.size=2e-4", "geometry.electrode_width=4e-5", "mesh.electrode_size=4e-5"]


def test_constant_forms_are_the_constant_property_ones():
    from mpi4py import MPI  # noqa: F401  (before dolfinx)
    import ufl

    import fem_peltier as fp
    from fem_peltier.coupled import CoupledProblem
    from fem_peltier.mesh import create_mesh

    cfg = fp.load_config(preset="fig2a", overrides=CASE).resolved()
    p = CoupledProblem(cfg, create_mesh(cfg))
    law = p.law
    assert not law.temperature_dependent
    assert p.sigma == law.sigma_i * ufl.exp(law.log_ratio * p.m_expr)
    assert p.S == law.s_i + p.m_expr * (law.s_m - law.s_i)
    assert p.kappa is p.materials.kappa_film  # no m, no T in the conduction term
    assert [s.name for s in p.physics.sources] == ["joule", "peltier"]  # no Thomson source


def test_fig2a_coarse_answers_unchanged():
    import fem_peltier as fp
    from fem_peltier.simulation import run

    res = run(fp.load_config(preset="fig2a", overrides=CASE), out=None, pictures=False)
    s = res.summary
    assert res.converged
    for key, ref in REF.items():
        assert s[key] == pytest.approx(ref, rel=1e-9), key
    assert s["heat_thomson_W"] == 0.0
