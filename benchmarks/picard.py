"""Benchmark: fig2a on a sequence of meshes, one coupled iteration vs one plain Poisson solve.

For each mesh it reports cells, dofs, Newton (outer) steps, KSP iterations per linear
solve, wall time per Newton step, the time of ONE plain Poisson solve (P1, CG + GAMG,
rtol 1e-10, assembly included) on the same mesh in the same run and their ratio, the
same for ONE plain mixed Poisson solve (the default RT / cell-potential electrical
discretization alone, with the coupled solver's electrical preconditioner), the
Peltier facet-vs-flux form check and the peak memory per rank.

    .venv/bin/python benchmarks/picard.py                       # default sizes
    .venv/bin/python benchmarks/picard.py --sizes 7e-5,3.5e-5 --solver mumps --coarse-meshes 0
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/picard.py --sizes 1.2e-5

Results are appended to benchmarks/results/picard3.csv (picard2.csv has the columns
before the mixed Poisson reference, picard.csv those of the first session) and printed
as a Markdown table.
Time per Newton step counts the target mesh only (the coarse meshes are listed apart).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
import dolfinx.fem.petsc as fpetsc

import fem_peltier as fp
from fem_peltier import electrical
from fem_peltier.bcs import closed_film_facets
from fem_peltier.linalg import owned_is, saddle_point_pc_options
from fem_peltier.mesh import ELECTRODE_NEG, ELECTRODE_POS, FILM, SUBSTRATE, create_mesh
from fem_peltier.simulation import run

from report import record  # benchmarks/report.py (the script's own folder is on sys.path)

RESULTS = Path(__file__).parent / "results"


def poisson_time(fm, comm) -> tuple[float, int]:
    """Wall time (s) and CG iterations of one P1 Poisson solve with CG + GAMG on the film mesh."""
    msh = fm.mesh
    V = fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=msh, subdomain_data=fm.cell_tags)
    a = ufl.inner(ufl.grad(u), ufl.grad(v)) * dx(FILM)
    L = fem.Constant(msh, 0.0) * v * dx(FILM)
    ft = fm.facet_tags
    bcs = [fem.dirichletbc(0.0, fem.locate_dofs_topological(V, 2, ft.find(ELECTRODE_NEG)), V),
           fem.dirichletbc(1.0, fem.locate_dofs_topological(V, 2, ft.find(ELECTRODE_POS)), V)]
    # forms compiled and objects created outside the timing, as the coupled solver's are;
    # solve() assembles A and b, sets up GAMG and runs CG
    problem = fpetsc.LinearProblem(a, L, bcs=bcs, petsc_options_prefix=f"bench_poisson_{id(fm)}_",
                                   petsc_options={"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10,
                                                  "ksp_error_if_not_converged": True})
    comm.barrier()
    t = time.perf_counter()
    problem.solve()
    comm.barrier()
    return time.perf_counter() - t, problem.solver.getIterationNumber()


def mixed_poisson_time(fm, comm) -> tuple[float, int]:
    """Wall time (s) and GMRES iterations of one plain mixed Poisson (Darcy) solve on the film:
    the default electrical discretization alone (RT current, cell potential, sigma = 1,
    phi = 0 / 1 on the electrodes, j.n = 0 elsewhere), with the coupled solver's electrical
    preconditioner (Schur factorisation, Jacobi on the current mass, GAMG on the Schur
    complement), rtol 1e-10, assembly included."""
    import basix.ufl

    msh = fm.mesh
    cell = msh.basix_cell()
    U = fem.functionspace(msh, basix.ufl.mixed_element([basix.ufl.element("RT", cell, 1),
                                                       basix.ufl.element("DG", cell, 0)]))
    (J, phi), (tau, q) = ufl.TrialFunctions(U), ufl.TestFunctions(U)
    dx = ufl.Measure("dx", domain=msh, subdomain_data=fm.cell_tags)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=fm.facet_tags)
    a, L = ufl.system(electrical.mixed_residual(phi, J, q, tau, 1.0, 1.0, ufl.FacetNormal(msh),
                                                dx(FILM), ds(ELECTRODE_POS)))
    V_J, map_J = U.sub(0).collapse()
    _, map_phi = U.sub(1).collapse()
    bcs = electrical.flux_bcs(U.sub(0), V_J, U.sub(1), fm.facet_tags, closed_film_facets(fm.facet_tags),
                              fm.cell_tags.find(SUBSTRATE))
    problem = fpetsc.LinearProblem(a, L, bcs=bcs, petsc_options_prefix=f"bench_mixed_poisson_{id(fm)}_",
                                   petsc_options={"ksp_type": "gmres", "ksp_rtol": 1e-10,
                                                  "ksp_error_if_not_converged": True,
                                                  **saddle_point_pc_options("J", "phi")})
    problem.solver.getPC().setFieldSplitIS(("J", owned_is(U, np.asarray(map_J, dtype=np.int64))),
                                           ("phi", owned_is(U, np.asarray(map_phi, dtype=np.int64))))
    comm.barrier()
    t = time.perf_counter()
    problem.solve()
    comm.barrier()
    return time.perf_counter() - t, problem.solver.getIterationNumber()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="7e-5,3.5e-5,2e-5", help="bulk cell sizes (m); electrode size = size/5")
    ap.add_argument("--solver", default="auto", help="solver.linear_solver")
    ap.add_argument("--coarse-meshes", default=None, help="solver.coarse_meshes (default: automatic)")
    ap.add_argument("--discretization", default="mixed", help="solver.current_discretization")
    ap.add_argument("--out", default=str(RESULTS / "picard3.csv"))
    ap.add_argument("--write", default=None, help="also write each run's outputs (summary, fields) under this directory")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    rows = []
    for size in [float(s) for s in args.sizes.split(",")]:
        cfg = fp.load_config(preset="fig2a", overrides=[
            f"mesh.size={size}", f"mesh.electrode_size={size / 5}", f'solver.linear_solver="{args.solver}"',
            f'solver.current_discretization="{args.discretization}"', "mesh.max_cells=20000000"]
            + ([f"solver.coarse_meshes={args.coarse_meshes}"] if args.coarse_meshes is not None else []))
        t0 = time.perf_counter()
        fm = create_mesh(cfg.resolved(), comm)
        t_mesh = time.perf_counter() - t0
        t_poisson, cg_its = poisson_time(fm, comm)
        t_mixed, mixed_its = mixed_poisson_time(fm, comm)
        comm.barrier()
        t_run = time.perf_counter()
        out_dir = None if args.write is None else Path(args.write) / f"fig2a_{size:g}_np{comm.size}"
        res = run(cfg, out=out_dir, overwrite=True, film_mesh=fm, pictures=False)
        t_run = time.perf_counter() - t_run
        s = res.summary
        coarse = s["coarse_meshes"]
        peak = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, op=MPI.MAX)
        row = {
            "ranks": comm.size, "size_m": size, "cells": s["cells"], "dofs": s["dofs"], "solver": s["linear_solver"],
            "discretization": args.discretization, "converged": s["converged"], "newton_steps": s["iterations"],
            "coarse_newton_steps": "/".join(str(c["newton_steps"]) for c in coarse) or "-",
            "coarse_cells": "/".join(str(c["cells"]) for c in coarse) or "-",
            "ksp_its_per_solve": round(s["ksp_iterations_per_solve"], 1),
            "s_per_newton_step": round(s["time_per_newton_step_s"], 3),
            "poisson_solve_s": round(t_poisson, 3), "poisson_cg_its": cg_its,
            "ratio_step_to_poisson": round(s["time_per_newton_step_s"] / t_poisson, 2),
            "mixed_poisson_solve_s": round(t_mixed, 3), "mixed_poisson_its": mixed_its,
            "ratio_step_to_mixed_poisson": round(s["time_per_newton_step_s"] / t_mixed, 2),
            "solve_s": round(s["solve_time_s"], 1), "mesh_s": round(t_mesh, 2),
            "mesh_plus_solve_s": round(t_mesh + t_run, 1),
            "peak_rss_GB_per_rank": round(peak, 2),
            "peltier_forms_mismatch_rel": f"{s['peltier_forms_mismatch_rel']:.2e}",
            "T_max_K": round(s["T_max_K"], 2), "metal_fraction": round(s["metal_fraction"], 5),
        }
        rows.append(row)
        if comm.rank == 0:
            print(row, flush=True)
        del res, fm
    if comm.rank == 0:
        print("\n" + record(rows, Path(args.out)))

if __name__ == "__main__":
    main()
