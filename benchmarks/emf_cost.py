"""Cost of the Seebeck EMF and of the contact Peltier heat per Newton step (issue 16).

One process, one mesh (fig2a at --size, generated once per variant from the same
settings, so the same mesh), three variants: the paper's model, thermal.seebeck_emf = true,
and the EMF with material.seebeck_electrode = 0. For each: the full run (Newton steps,
time per Newton step as summary.json counts it) and, at the converged state, the medians of
--repeat Jacobian assemblies and bordered Newton directions (Jacobian assembly, residual,
the two linear solves), the variants interleaved round by round.
Ratios are to the first variant, within this one run.

    .venv/bin/python benchmarks/emf_cost.py --size 5e-5 --discretization mixed
"""

from __future__ import annotations

import argparse
import statistics
import time

from mpi4py import MPI

import fem_peltier as fp
from fem_peltier.newton import assemble_jacobian
from fem_peltier.simulation import run

VARIANTS = {
    "paper": [],
    "emf": ["thermal.seebeck_emf=true"],
    "emf+contacts": ["thermal.seebeck_emf=true", "material.seebeck_electrode=0.0"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=float, default=5e-5)
    ap.add_argument("--discretization", default="mixed", choices=["mixed", "p1"])
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    rows, problems = [], []
    for name, extra in VARIANTS.items():
        cfg = fp.load_config(
            preset="fig2a",
            overrides=[
                f"mesh.size={a.size}",
                f"mesh.electrode_size={a.size / 5}",
                "solver.coarse_meshes=0",
                f'solver.current_discretization="{a.discretization}"',
                f'solver.linear_solver="{a.solver}"',
                *extra,
            ],
        )
        res = run(cfg, out=None, pictures=False)
        s = res.summary
        problems.append(res.problem)
        rows.append(
            {
                "variant": name,
                "cells": s["cells"],
                "dofs": s["dofs"],
                "converged": s["converged"],
                "steps": s["iterations"],
                "s_per_step_run": s["time_per_newton_step_s"],
                "T_max_K": s["T_max_K"],
                "V": s["voltage_V"],
                "heat_contact_peltier_W": s["heat_contact_peltier_W"],
                "direction": [],
                "assembly": [],
            }
        )
    # interleaved rounds: a load change on the machine hits every variant alike
    for _ in range(a.repeat):
        for row, p in zip(rows, problems):
            forms, A = p.newton_forms(), p.newton_solver.A
            comm.barrier()
            t = time.perf_counter()
            assemble_jacobian(A, forms, p.bcs)
            comm.barrier()
            row["assembly"].append(time.perf_counter() - t)
            t = time.perf_counter()
            p.newton_solver.direction()
            comm.barrier()
            row["direction"].append(time.perf_counter() - t)
    for row in rows:
        row["s_direction"] = statistics.median(row.pop("direction"))
        row["s_assembly"] = statistics.median(row.pop("assembly"))
    if comm.rank == 0:
        base = rows[0]
        print(
            "| variant | cells | dofs | converged | Newton steps | s/step (run) | ratio | s/direction (median) "
            "| ratio | s/Jacobian assembly (median) | ratio | T_max (K) | V (V) | contact heat (W) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['variant']} | {r['cells']} | {r['dofs']} | {r['converged']} | {r['steps']} "
                f"| {r['s_per_step_run']:.3f} | {r['s_per_step_run'] / base['s_per_step_run']:.2f} "
                f"| {r['s_direction']:.3f} | {r['s_direction'] / base['s_direction']:.2f} "
                f"| {r['s_assembly']:.3f} | {r['s_assembly'] / base['s_assembly']:.2f} "
                f"| {r['T_max_K']:.2f} | {r['V']:.4f} | {r['heat_contact_peltier_W']:.3e} |"
            )


if __name__ == "__main__":
    main()
