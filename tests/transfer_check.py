"""Helper of tests/test_sequencing.py (run serial and under mpirun -n 2, prints JSON).

Puts linear T and potential and a constant current density on a coarse fig2a mesh,
carries them to a finer one with the mesh-sequencing transfer and prints the largest
nodal errors, which must be round-off: P1 evaluation at vertices is exact for linear
fields, and lumped averages and RT interpolation are exact for constants.
"""

import json
import sys

from mpi4py import MPI
import numpy as np
from dolfinx import fem

import fem_peltier as fp
from fem_peltier.coupled import CoupledProblem
from fem_peltier.mesh import create_mesh
from fem_peltier.sequencing import coarse_config, transfer_state

disc = sys.argv[1] if len(sys.argv) > 1 else "p1"
comm = MPI.COMM_WORLD
cfg = fp.load_config(
    preset="fig2a", overrides=["mesh.size=1e-4", "mesh.electrode_size=2e-5", f'solver.current_discretization="{disc}"']
).resolved()
probs = []
for c in (coarse_config(cfg, 1), cfg):
    probs.append(CoupledProblem(c, create_mesh(c, comm)))
coarse, fine = probs


def T_lin(x):
    return 300.0 + 1e5 * x[0] + 2e5 * x[1] - 3e5 * x[2]


def phi_lin(x):  # linear for the P1 potential, constant for the cell-wise (mixed) one
    if disc == "mixed":
        return np.full(x.shape[1], 0.7)
    return 2.0 * x[0] / 1e-3 - 0.5 * x[1] / 1e-3


J0 = np.array([3e6, -1e6, 0.0])  # z component 0: the film's top and bottom are closed
for p, is_fine in ((coarse, False), (fine, True)):
    T = fem.Function(p.V_T)
    T.interpolate(T_lin)
    p.u.x.array[p.map_T] = T.x.array
    phi = fem.Function(p.V_phi)
    phi.interpolate(phi_lin)
    p.u.x.array[p.map_phi] = phi.x.array
    if p.mixed:
        J = fem.Function(p.V_J)
        J.interpolate(lambda x: np.tile(J0[:, None], (1, x.shape[1])))
        p.u.x.array[p.map_J] = J.x.array
coarse.V = 1.25
expected = fine.u.x.array.copy()
fine.u.x.array[:] = 0.0
transfer_state(coarse, fine)
got = fine.u.x.array
n_own = fine.U.dofmap.index_map.size_local * fine.U.dofmap.index_map_bs


def err(dofs):
    d = dofs[dofs < n_own]
    return comm.allreduce(float(np.max(np.abs(got[d] - expected[d]), initial=0.0)), op=MPI.MAX)


free_T = np.setdiff1d(fine.map_T, fine.sink.dofs)
el = fine.electrodes
fixed_phi = [el.neg_dofs, el.pos_dofs, el.pinned_dofs] + [bc.dof_indices()[0] for bc in el.bcs[1:]]
free_phi = np.setdiff1d(fine.map_phi, np.concatenate(fixed_phi))
out = {"T": err(free_T), "phi": err(free_phi), "V": fine.V}
if fine.mixed:
    film_J = np.setdiff1d(fine.map_J, el.bcs[0].dof_indices()[0])  # not closed by a BC
    scale = comm.allreduce(float(np.max(np.abs(expected[film_J[film_J < n_own]]), initial=0.0)), op=MPI.MAX)
    out["J"] = err(film_J) / scale
    out["J_dofs"] = comm.allreduce(int(np.count_nonzero(film_J < n_own)), op=MPI.SUM)
if comm.rank == 0:
    print(json.dumps(out))
