"""Benchmark: every paper case on a sequence of meshes, default solver settings, no tuning.

Cases: fig2a, fig2c, fig2d at 5, 10 and 25 mA (Fig. 2e), and the slab at
j0/j_cr = 1.2, 1.5, 2 and 3 (Eq. 9-11), each from a cold start. Meshes: the preset's
cell sizes divided by each factor of --factors (electrode patches likewise). For each
run: cells, converged or not (and why), Newton steps on the target mesh and on the
coarser meshes of the mesh sequencing, their sum, the linear solver chosen, wall time,
T_max and the metal fraction.

    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/cases.py                 # factors 1,2
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/cases.py --factors 3.2 --cases fig2a,fig2c

Results are appended to benchmarks/results/cases.csv and printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mpi4py import MPI

import fem_peltier as fp
from fem_peltier.simulation import run
from fem_peltier.validation import j_critical

from report import record  # benchmarks/report.py

RESULTS = Path(__file__).parent / "results"


def cases() -> dict[str, tuple[str, list[str]]]:
    """name -> (preset, overrides) for every stationary paper case."""
    out = {"fig2a": ("fig2a", []), "fig2c": ("fig2c", [])}
    for mA in (5, 10, 25):
        out[f"fig2d_{mA}mA"] = ("fig2d", [f"drive.current={mA * 1e-3!r}"])
    slab = fp.load_config(preset="slab").resolved()
    g, mat, t0 = slab.geometry, slab.material, slab.thermal.t0
    jcr = j_critical(mat.rho_insulator, mat.kappa, g.thickness, t0, mat.t_mit)
    for ratio in (1.2, 1.5, 2.0, 3.0):
        out[f"slab_{ratio:g}jcr"] = ("slab", [f"drive.current={ratio * jcr * g.width * g.thickness!r}"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", default="1,2", help="mesh refinement factors (cell size = preset size / factor)")
    ap.add_argument("--cases", default="all", help="comma-separated case names, or all")
    ap.add_argument("--out", default=str(RESULTS / "cases.csv"))
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    table = cases()
    names = list(table) if args.cases == "all" else args.cases.split(",")
    rows = []
    for factor in [float(f) for f in args.factors.split(",")]:
        for name in names:
            preset, extra = table[name]
            base = fp.load_config(preset=preset, overrides=extra).resolved()
            cfg = fp.load_config(preset=preset, overrides=extra + [
                f"mesh.size={base.mesh.size / factor!r}", f"mesh.electrode_size={base.mesh.electrode_size / factor!r}",
                "mesh.max_cells=20000000"])
            comm.barrier()
            t0 = time.perf_counter()
            s = run(cfg, pictures=False).summary
            wall = time.perf_counter() - t0
            coarse = sum(c["newton_steps"] for c in s["coarse_meshes"])
            row = {
                "case": name, "ranks": comm.size, "factor": factor, "cells": s["cells"], "converged": s["converged"],
                "reason": s["reason"], "newton_steps_target": s["iterations"], "newton_steps_coarse": coarse,
                "newton_steps_total": s["iterations"] + coarse,
                "coarse_cells": "/".join(str(c["cells"]) for c in s["coarse_meshes"]) or "-",
                "linear_solver": s["linear_solver"], "ksp_its_per_solve": round(s["ksp_iterations_per_solve"], 1),
                "wall_s": round(wall, 1), "T_max_K": round(s["T_max_K"], 2),
                "metal_fraction": round(s["metal_fraction"], 5),
            }
            rows.append(row)
            if comm.rank == 0:
                print(row, flush=True)
    if comm.rank == 0:
        print("\n" + record(rows, Path(args.out)))


if __name__ == "__main__":
    main()
