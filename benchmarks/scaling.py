"""Benchmark: strong scaling of one fig2a run under mpirun -n 1, 2, ... (same mesh, same run of this script).

    .venv/bin/python benchmarks/scaling.py --size 3.5e-5 --ranks 1,2

Each rank count runs benchmarks/picard.py for the given mesh size in a subprocess; the
parallel efficiency is t_solve(1) / (n * t_solve(n)) (solve: coarse meshes, transfer and
target mesh; also given with the gmsh meshing on rank 0 included). Results go to
benchmarks/results/scaling2.csv and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from report import record  # benchmarks/report.py (the script's own folder is on sys.path)

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="3.5e-5", help="bulk cell size (m)")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--discretization", default="mixed")
    ap.add_argument("--coarse-meshes", default=None, help="solver.coarse_meshes (default: automatic)")
    ap.add_argument("--write", default=None, help="write the outputs of the multi-rank runs under this directory")
    args = ap.parse_args()
    mpirun = Path(sys.executable).parent / "mpirun"
    rows = []
    for n in [int(r) for r in args.ranks.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "picard.csv"
            cmd = [str(mpirun), "-n", str(n), sys.executable, str(HERE / "picard.py"), "--sizes", args.size,
                   "--solver", args.solver, "--discretization", args.discretization, "--out", str(csv_path)]
            if args.coarse_meshes is not None:
                cmd += ["--coarse-meshes", args.coarse_meshes]
            if args.write is not None and n > 1:
                cmd += ["--write", args.write]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            with csv_path.open() as fh:
                rows.append(next(csv.DictReader(fh)))
            print(rows[-1], flush=True)
    # the ranks may be given in any order; without a 1-rank run there is no efficiency
    one = next((r for r in rows if int(r["ranks"]) == 1), None)
    t1 = float(one["solve_s"]) if one else float("nan")
    t1_all = float(one["mesh_plus_solve_s"]) if one else float("nan")
    out_rows = []
    for r in rows:
        n = int(r["ranks"])
        eff = t1 / (n * float(r["solve_s"]))
        out_rows.append({"ranks": n, "cells": r["cells"], "dofs": r["dofs"], "newton_steps": r["newton_steps"],
                         "solve_s": r["solve_s"], "s_per_newton_step": r["s_per_newton_step"],
                         "speedup": round(t1 / float(r["solve_s"]), 2), "efficiency": round(eff, 2),
                         "mesh_plus_solve_s": r["mesh_plus_solve_s"],
                         "efficiency_incl_mesh": round(t1_all / (n * float(r["mesh_plus_solve_s"])), 2),
                         "solver": r["solver"], "coarse_cells": r["coarse_cells"],
                         "peak_rss_GB_per_rank": r["peak_rss_GB_per_rank"], "T_max_K": r["T_max_K"],
                         "metal_fraction": r["metal_fraction"]})
    print(record(out_rows, HERE / "results" / "scaling2.csv"))

if __name__ == "__main__":
    main()
