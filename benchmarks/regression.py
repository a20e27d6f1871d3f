"""Regression record: the same cases before and after a change, compared number by number.

Runs the cases of the no-behaviour-change proof (issue 14): fig2a at the demo mesh, fig2a
with the current reversed, fig2c and the slab preset at their default meshes, and (under
`mpirun -n 2`) fig2a at 245k cells. For each it writes the physics (T_max, T_mean, V, I,
metal fraction, heat terms), the solver's counts (Newton steps on the target and coarse
meshes, GMRES iterations per solve) and the time per Newton step to a JSON file.

    .venv/bin/python benchmarks/regression.py --cases small --json out/after.json
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/regression.py --cases fig2a_245k --json out/after_245k.json
    .venv/bin/python benchmarks/regression.py --compare out/before.json out/after.json

`--compare A B` prints a Markdown table of both records and the largest relative
difference of the physics; it exits 1 if any physics number differs by more than --rtol
(default 1e-9) or any step count differs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from mpi4py import MPI

CASES: dict[str, tuple[str, list[str]]] = {
    "fig2a_demo": ("fig2a", ["mesh.size=5e-5"]),
    "fig2a_demo_reversed": ("fig2a", ["mesh.size=5e-5", "drive.current=-0.01"]),
    "fig2c": ("fig2c", []),
    "slab": ("slab", []),
    "fig2a_245k": ("fig2a", ["mesh.size=1.6e-5", "mesh.electrode_size=3.2e-6", "mesh.max_cells=20000000"]),
}
GROUPS = {"small": ["fig2a_demo", "fig2a_demo_reversed", "fig2c", "slab"], "all": list(CASES)}
PHYSICS = ("T_max_K", "T_mean_K", "T_top_mean_K", "voltage_V", "current_A", "metal_fraction",
           "metal_max_depth_m", "heat_joule_W", "heat_peltier_W", "heat_to_sink_W")
COUNTS = ("iterations", "coarse_newton_steps", "cells", "dofs", "partial_cells", "interface_facets")


def record_case(name: str) -> dict:
    """Run one case (no output files) and keep the numbers compared by --compare."""
    import fem_peltier as fp

    preset, overrides = CASES[name]
    res = fp.run(fp.load_config(preset=preset, overrides=overrides), out=None)
    s = res.summary
    row = {k: s[k] for k in PHYSICS}
    row.update({k: s[k] for k in COUNTS if k in s})
    row["coarse_newton_steps"] = [c["newton_steps"] for c in s["coarse_meshes"]]
    row.update(converged=s["converged"], ranks=s["ranks"], linear_solver=s["linear_solver"],
               ksp_iterations_per_solve=s["ksp_iterations_per_solve"],
               time_per_newton_step_s=s["time_per_newton_step_s"], solve_time_s=s["solve_time_s"])
    return row


def compare(a_path: Path, b_path: Path, rtol: float) -> int:
    """Markdown table of two records; exit status 1 on a physics difference above rtol or a count change."""
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    bad = 0
    print("| case | quantity | before | after | rel. difference |\n|---|---|---|---|---|")
    for case in [c for c in a if c in b]:
        for key in (*PHYSICS, *COUNTS, "ksp_iterations_per_solve", "time_per_newton_step_s"):
            va, vb = a[case].get(key), b[case].get(key)
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)):
                diff = abs(va - vb) / max(abs(va), 1e-300) if va != vb else 0.0
                text = f"{diff:.1e}"
                if key in PHYSICS and not diff <= rtol or key in COUNTS and va != vb:
                    bad += 1
                    text += " **differs**"
            else:
                text = "same" if va == vb else "**differs**"
                bad += va != vb
            print(f"| {case} | {key} | {va} | {vb} | {text} |")
    print(f"\n{bad} difference(s) beyond rtol {rtol:g} in the physics or in the counts")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="small", help="small, all, or comma-separated names: " + ", ".join(CASES))
    ap.add_argument("--json", type=Path, help="write the record here")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args()
    if args.compare:
        return compare(*args.compare, args.rtol)
    names = GROUPS.get(args.cases, args.cases.split(","))
    out = {name: record_case(name) for name in names}
    if MPI.COMM_WORLD.rank == 0:
        text = json.dumps(out, indent=1, default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else v)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text + "\n")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
