"""Cost of temperature laws per Newton step: fig2a, one mesh, constants vs an Arrhenius rho_I vs
every kind of law (Arrhenius rho_I, linear S_I with its Thomson heat, power-law kappa_M).

The converged constant-property state is copied into each problem (same Peltier facets), and
interleaved rounds time the Jacobian and residual assembly and a Newton solve from a slightly
perturbed state; minima over 6 rounds. Usage: python benchmarks/laws_cost.py [MESH_SIZE]
(default 1e-4; electrode cells 2e-5). The Newton steps are timed from each variant's own
converged state (perturbed by 1e-6 K, so the phase facets stay), with its own facet count.
"""
import sys
import time
from mpi4py import MPI
import numpy as np
import fem_peltier as fp
from dolfinx.fem import petsc as fpetsc
from fem_peltier.coupled import CoupledProblem
from fem_peltier.mesh import create_mesh
from fem_peltier.continuation import solve

size = sys.argv[1] if len(sys.argv) > 1 else "1e-4"
base = [f"mesh.size={size}", "mesh.electrode_size=2e-5"]
A_ = 'material.rho_insulator={law="arrhenius", value=0.06, t_ref=300, activation_energy_eV=0.2}'
variants = {
    "constants": [],
    "arrhenius_rho_I": [A_],
    "all_laws_thomson": [A_, 'material.seebeck_insulator={law="linear", value=2e-3, t_ref=300, alpha=-1e-3}',
                         'material.kappa_metal={law="power", value=0.2, t_ref=300, exponent=-1}'],
}
fm = None
probs = {}
for name, sets in variants.items():
    cfg = fp.load_config(preset="fig2a", overrides=base + sets).resolved()
    if fm is None:
        fm = create_mesh(cfg, MPI.COMM_WORLD)
    probs[name] = CoupledProblem(cfg, fm)
ref = probs["constants"]
own = {}
for name, p in probs.items():
    solve(p)
    own[name] = p.save_state()
s0 = own["constants"]


def common(p):
    p.set_width(float(ref.law.width.value))
    p.restore_state(s0)
    assert np.array_equal(p.interface_facets, ref.interface_facets)


res: dict = {n: {"J": [], "F": [], "step": []} for n in probs}
for rnd in range(6):
    for name, p in probs.items():
        common(p)
        A = p.newton_solver.A
        F = fpetsc.create_vector(p.U)
        t = time.perf_counter(); A.zeroEntries(); fpetsc.assemble_matrix(A, p.J_form, bcs=p.bcs); A.assemble(); res[name]["J"].append(time.perf_counter() - t)
        t = time.perf_counter(); F.set(0.0); fpetsc.assemble_vector(F, p.F_form); res[name]["F"].append(time.perf_counter() - t)
        F.destroy()
        p.restore_state(own[name])
        p.u.x.array[p.map_T] += 1e-6 * np.sin(np.arange(p.map_T.size))
        res[name]["facets"] = [p.interface_facets.size]
        t = time.perf_counter()
        nr = p.newton(2, 1e-15, 1e-3, 1e-15)
        res[name]["step"].append((time.perf_counter() - t) / max(nr.steps, 1))
c = {k: min(v) for k, v in res["constants"].items()}
print("cells", ref.n_cells, "dofs", ref.n_dofs, "interface facets", ref.interface_facets.size)
for name, r in res.items():
    m = {k: min(v) for k, v in r.items()}
    print(f"{name:18s} J {m['J']:.4f} s ({m['J']/c['J']:.2f}x)  F {m['F']:.4f} s ({m['F']/c['F']:.2f}x)  "
          f"Newton step {m['step']:.4f} s ({m['step']/c['step']:.2f}x, {m['facets']} Peltier facets)")
