"""The mixed current's residual holds the interface Peltier heat as a volume integral.

By the divergence theorem in each cell, the sum over the interior film facets of
T w jump(S, n) . j equals the integral of S j . grad(T w) + T w (dS/dT) j . grad T over the
film minus that of S T w j . n over the contacts, for a current with div j = 0 in every cell
and continuous j . n (coupled.CoupledProblem._peltier_volume_form, docs/physics.md). The
Raviart-Thomas current of a converged state satisfies both, so the two forms, assembled
as vectors (one entry per temperature test function), agree entry by entry; a current with
div j != 0 breaks the identity, and the check sees it.
"""

from __future__ import annotations

from mpi4py import MPI
import numpy as np
import pytest
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from dolfinx.fem import petsc as fpetsc
from petsc4py import PETSc

import fem_peltier as fp
from fem_peltier.continuation import solve
from fem_peltier.coupled import CoupledProblem
from fem_peltier.fields import CURRENT
from fem_peltier.mesh import create_mesh

LAWS = [
    'material.seebeck_insulator={law="linear", value=2e-3, t_ref=300, alpha=-2e-3}',
    "thermal.seebeck_emf=true",
    "material.seebeck_electrode=0.0",
]


def vector(form) -> PETSc.Vec:
    vec = fpetsc.create_vector(fem.form(form).function_spaces[0])
    with vec.localForm() as loc:
        loc.set(0.0)
    fpetsc.assemble_vector(vec, fem.form(form))
    vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return vec


def mismatch(p: CoupledProblem) -> float:
    """|facet form - volume form| / |facet form| of the tested interface Peltier heat."""
    # degree 3: exact for the cubic integrand of a linear S(T) (the volume form's degree then)
    tags = dmesh.meshtags(p.msh, p.msh.topology.dim - 1, p.interface_facets, np.full(p.interface_facets.size, 1, np.int32))
    dS = ufl.Measure("dS", domain=p.msh, subdomain_data=tags, metadata={"quadrature_degree": 3})
    facet = vector(p.q_peltier * ufl.avg(p.w_test) * dS(1))
    tested = p.physics.source("peltier").tested
    assert tested is not None  # the mixed current's residual uses the volume form
    volume = vector(tested(p.w_test))
    return (facet - volume).norm() / facet.norm()


@pytest.mark.parametrize("extra", [[], LAWS], ids=["paper", "thomson-emf-contacts"])
def test_volume_form_equals_facet_form_at_a_converged_state(extra):
    cfg = fp.load_config(preset="fig2a", overrides=["mesh.size=1e-4", *extra]).resolved()
    p = CoupledProblem(cfg, create_mesh(cfg, MPI.COMM_WORLD))
    rep = solve(p)
    assert rep.converged
    n_facets = p.comm.allreduce(p.interface_facets.size, op=MPI.SUM)
    assert n_facets > 100  # a phase boundary crossed by the current
    rel = mismatch(p)
    print(n_facets, rel)
    assert rel < 1e-8
    # a current that is not divergence-free (random Raviart-Thomas dofs added): the identity fails
    rng = np.random.default_rng(3)
    dofs = p.unknowns[CURRENT].dofs
    j_scale = np.abs(p.u.x.array[dofs]).max()
    p.u.x.array[dofs] += rng.uniform(-0.1, 0.1, dofs.size) * j_scale
    p.u.x.scatter_forward()
    assert mismatch(p) > 1e-3
