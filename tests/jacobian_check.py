"""Helper of tests/test_jacobian.py (run serial and under mpirun -n 2, prints JSON).

With the argument "emf" the Seebeck EMF (thermal.seebeck_emf) and the contact Peltier
heat (material.seebeck_electrode = 0) are on. Puts every film cell inside the transition band, so that every interior film facet
carries the Peltier term, with a random current and temperature. Assembles the
Jacobian into the preallocated matrix (an entry missing from its sparsity pattern is
a PETSc error there) and compares its action on a random direction with a central
difference of the residual: for the whole residual, and for its Peltier facet part
alone (which is small next to conduction and Joule heat in the whole); with the mixed
current also for the volume form of the Peltier heat that its residual uses.
"""

import json
import sys

from mpi4py import MPI
import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem import petsc as fpetsc

import fem_peltier as fp
from fem_peltier.coupled import CoupledProblem
from fem_peltier.mesh import create_mesh

disc = sys.argv[1]
broken = "broken" in sys.argv[2:]  # a Jacobian 1% off: the check must see it
# every property a temperature law (one of each kind): the laws enter UFL, so the Jacobian stays exact
# (table nodes outside the sampled T = T_MIT +- 10 K: a central difference across a kink is not a derivative)
LAWS = [
    'material.rho_insulator={law="arrhenius", value=0.06, t_ref=300, activation_energy_eV=0.2}',
    'material.rho_metal={law="power", value=0.006, t_ref=300, exponent=1.5}',
    'material.seebeck_insulator={law="linear", value=2e-3, t_ref=300, alpha=-2e-3}',
    'material.seebeck_metal={law="table", T=[300, 340, 380, 400], value=[0, 1e-4, 3e-4, 2e-4]}',
    'material.kappa={law="exponential", value=0.1, t_ref=300, beta=-1e-3}',
    'material.kappa_metal={law="table", T=[300, 400], value=[0.3, 0.2]}',
]
laws = LAWS if "laws" in sys.argv[2:] else []
# "emf": the Seebeck EMF in the current and contact Peltier heat (electrode S = 0) on too
emf = ["thermal.seebeck_emf=true", "material.seebeck_electrode=0.0"] if "emf" in sys.argv[2:] else []
comm = MPI.COMM_WORLD
cfg = fp.load_config(
    preset="fig2a",
    overrides=["mesh.size=1e-4", "mesh.electrode_size=2e-5", f'solver.current_discretization="{disc}"', *laws, *emf],
).resolved()
p = CoupledProblem(cfg, create_mesh(cfg, comm))
width = 20.0
p.set_width(width)
rng = np.random.default_rng(1 + comm.rank)
u = fem.Function(p.U)
u.x.array[:] = rng.uniform(-1.0, 1.0, u.x.array.size) * 1e7  # current density scale (A/m^2)
u.x.array[p.map_phi] = rng.uniform(0.0, 1.0, p.map_phi.size)  # V
u.x.array[p.map_T] = cfg.material.t_mit + rng.uniform(-0.5, 0.5, p.map_T.size) * width
u.x.scatter_forward()  # ghosts take their owners' values
p.u.x.array[:] = u.x.array
p.update_phase()

tdim = p.msh.topology.dim
n_own = p.msh.topology.index_map(tdim - 1).size_local
f2c = p.msh.topology.connectivity(tdim - 1, tdim)
both_film = [f for f in range(n_own) if len(f2c.links(f)) == 2 and p.film_mask[f2c.links(f)].all()]
out = {
    "peltier_facets": comm.allreduce(int(np.count_nonzero(p.interface_facets < n_own)), op=MPI.SUM),
    "interior_film_facets": comm.allreduce(len(both_film), op=MPI.SUM),
}

du = fem.Function(p.U)
du.x.array[:] = rng.uniform(-1.0, 1.0, du.x.array.size) * np.abs(u.x.array) * 1e-3
du.x.array[p.map_T] = rng.uniform(-1.0, 1.0, p.map_T.size)  # K
du.x.scatter_forward()
constrained = np.concatenate([bc.dof_indices()[0] for bc in p.bcs])
du.x.array[constrained] = 0.0

# the facet form over the interface facets (the residual's own with the P1 potential; the mixed
# current's residual holds its volume form, checked as "peltier_volume")
F_peltier = sum(-p.q_peltier * ufl.avg(p.w_test) * dS for dS in p.interface_measures())
parts = [("whole", p.F_ufl), ("peltier", F_peltier)]
tested = p.physics.source("peltier").tested
if tested is not None:
    parts.append(("peltier_volume", -tested(p.w_test)))
if laws:
    parts.append(("thomson", p.physics.source("thomson").residual(p.w_test, p.measures)))
if emf:  # the electrical rows (with S grad T) and the contact heat, each alone
    parts.append(("electrical", next(t.form for t in p.physics.terms if t.name == "electrical_conduction")))
    parts.append(("contact", p.physics.source("contact_peltier").residual(p.w_test, p.measures)))
for name, F in parts:
    A = p.newton_solver.A
    dF = ufl.derivative(F, p.u, ufl.TrialFunction(p.U))
    if broken:
        dF = 0.99 * dF
    A.zeroEntries()
    fpetsc.assemble_matrix(A, fem.form(dF))  # into the preallocated pattern
    A.assemble()
    Jdu = A.createVecLeft()
    A.mult(du.x.petsc_vec, Jdu)
    F_form = fem.form(F)
    diff = []
    for sign in (1.0, -1.0):
        p.u.x.array[:] = u.x.array + sign * 1e-4 * du.x.array
        vec = fpetsc.create_vector(p.U)
        fpetsc.assemble_vector(vec, F_form)
        vec.ghostUpdate(addv=fpetsc.PETSc.InsertMode.ADD, mode=fpetsc.PETSc.ScatterMode.REVERSE)
        diff.append(vec)
    p.u.x.array[:] = u.x.array
    fd = (diff[0] - diff[1]) / 2e-4
    out[f"{name}_rel_error"] = (Jdu - fd).norm() / fd.norm()
if comm.rank == 0:
    print(json.dumps(out))
