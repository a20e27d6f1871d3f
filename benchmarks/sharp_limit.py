"""Benchmark (issue 18, item 3): the sharp limit w -> 0 of fig2a at 5 mA with adaptive meshes.

The band width w of the smoothed phase rule (docs/physics.md) is taken down a list of widths
(default 3, 2, 1.5, 1, 0.7, 0.5 K), interleaving the band-width continuation with refinement:

1. fig2a at `--current` on a coarse generated mesh, solved at the first width (the run's own
   continuation and mesh sequencing), then `--start-levels` adaptive levels at that width;
2. for each next width, the continuation goes on from the converged state on the same mesh
   (continuation.solve from the present width). Where it stalls (Newton fails at every width
   between the last converged one and 0.97 of it), the last converged state is refined: the
   cells of the transition band (0.01 < m < 0.99, the front) and the Dörfler cells of the error
   estimate (`--fraction`) are split, the state carried over (nested meshes: exact) and re-solved
   from 4x the width it had reached; then the continuation goes on. At most `--max-refines`
   refinements per width and `--max-cells` cells. `--refine-at` refines after the widths given
   converged, without waiting for a stall (whose failed attempts cost about 29 Newton steps each);
3. the widths reached are compared on one mesh, the last: if some were reached on coarser meshes,
   the last mesh runs its own continuation through all of them (from the initial state: Newton
   from a narrow band back to a wider one can fail, the front cells jumping); the metal fraction,
   the front extent, V and T_max are fitted as a + b w and as a + b w^2 (least squares, over all
   widths and over w <= 1 K; the rms residuals say which fits).

Per row: the width reached, cells, metal fraction, the front's extent on the top line y = W/2
from the negative electrode (x where T falls through T_MIT, P1 T, linear between 801 probes)
and the metal's depth (summary's metal_max_depth_m), V, T_max, Newton steps, converged, and the
cumulative CPU time of the process. Rows go to benchmarks/results/sharp_limit.csv.

    .venv/bin/python benchmarks/sharp_limit.py
    .venv/bin/python benchmarks/sharp_limit.py --widths 3,1.5,0.7 --max-cells 60000
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from datetime import UTC, datetime
from pathlib import Path

from mpi4py import MPI

import numpy as np

import fem_peltier as fp
from fem_peltier.adaptive import mark, transfer_nested
from fem_peltier.continuation import solve
from fem_peltier.coupled import CoupledProblem
from fem_peltier.diagnostics import summary_quantities
from fem_peltier.fields import TEMPERATURE
from fem_peltier.refinement import refine_film_mesh
from fem_peltier.sampling import probe, top_line_points

from report import record  # benchmarks/report.py

RESULTS = Path(__file__).parent / "results"
log = logging.getLogger("fem_peltier")


def with_width(p: CoupledProblem, w: float) -> None:
    """Set the problem's final band width (solver.transition_width) to `w`."""
    p.cfg = p.cfg.model_copy(update={"solver": p.cfg.solver.model_copy(update={"transition_width": w})})


def front_x(p: CoupledProblem) -> float:
    """x (m) on the top line y = W/2 where T first falls through T_MIT, walking from x = 0
    (the negative electrode's metal region; tests/test_sharp_limit.py); NaN if none."""
    t_mit = p.cfg.material.t_mit
    pts = top_line_points(p, 801)
    T = probe(p, p.unknowns.function(TEMPERATURE), pts)
    if not T[0] > t_mit or not np.any(t_mit > T):
        return math.nan
    k = int(np.argmax(t_mit > T))
    x = pts[:, 0]
    return float(x[k - 1] + (t_mit - T[k - 1]) * (x[k] - x[k - 1]) / (T[k] - T[k - 1]))


def row(p: CoupledProblem, stage: str, w_target: float, rep, t0: float, steps: int) -> dict:
    q = summary_quantities(p)
    r = {
        "stage": stage,
        "w_target_K": w_target,
        "w_reached_K": rep.final_width,
        "cells": p.n_cells,
        "metal_fraction": round(float(q["metal_fraction"]), 7),
        "front_x_um": round(front_x(p) * 1e6, 3),
        "metal_depth_um": round(float(q.get("metal_max_depth_m") or 0.0) * 1e6, 3),
        "voltage_V": round(float(q["voltage_V"]), 6),
        "T_max_K": round(float(q["T_max_K"]), 4),
        "newton_steps": steps,
        "converged": bool(rep.converged),
        "cpu_s": round(time.process_time() - t0, 1),
    }
    if p.comm.rank == 0:
        print("ROW", r, flush=True)
    return r


def refine(p: CoupledProblem, w_from: float, fraction: float, max_cells: int):
    """Refine the band cells and the Dörfler cells of `p` (solved at w_from), carry the state
    over and solve it from 4 w_from down to p's transition width. None past max_cells."""
    marks, _, _ = mark(p, fraction, band=False, sharp=True)
    fm = refine_film_mesh(p.fm, marks)
    n = fm.mesh.topology.index_map(3).size_global
    if n > max_cells:
        log.warning("the refined mesh would have %d cells > max_cells = %d", n, max_cells)
        return None
    fine = CoupledProblem(p.cfg, fm)
    transfer_nested(p, fine)
    rep = solve(fine, start_width=min(4.0 * w_from, fine.cfg.solver.initial_width), fail_fast=True)
    p.destroy()
    return fine, rep


def fit(ws: np.ndarray, ys: np.ndarray, power: int) -> tuple[float, float, float]:
    """Least-squares a + b w^power: (a, b, rms residual)."""
    A = np.column_stack([np.ones_like(ws), ws**power])
    coef, *_ = np.linalg.lstsq(A, ys, rcond=None)
    res = ys - A @ coef
    return float(coef[0]), float(coef[1]), float(np.sqrt(np.mean(res**2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="3,2,1.5,1,0.7,0.5")
    ap.add_argument("--current", type=float, default=0.005)
    ap.add_argument("--mesh", default="1e-4,2e-5", help="initial mesh.size, mesh.electrode_size (m)")
    ap.add_argument("--start-levels", type=int, default=2, help="adaptive levels at the first width")
    ap.add_argument("--fraction", type=float, default=0.2, help="Dörfler fraction of a refinement")
    ap.add_argument("--max-refines", type=int, default=3, help="refinements per width when stalled")
    ap.add_argument("--max-cells", type=int, default=150_000)
    ap.add_argument("--max-iterations", type=int, default=400)
    ap.add_argument(
        "--linear-solver",
        default="mumps",
        help="solver.linear_solver (gmres-gamg fails at narrow bands: GMRES hits 1000 iterations)",
    )
    ap.add_argument(
        "--refine-at",
        default="",
        help="widths (K) after whose convergence the mesh is refined (band + Dörfler) before going on, "
        "instead of waiting for a stall",
    )
    ap.add_argument("--no-sweep", action="store_true", help="skip step 3 (the widths on the last mesh)")
    ap.add_argument("--out", default=str(RESULTS / "sharp_limit.csv"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    comm = MPI.COMM_WORLD
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    widths = [float(v) for v in args.widths.split(",")]
    refine_at = {float(v) for v in args.refine_at.split(",") if v}
    size, esize = (float(v) for v in args.mesh.split(","))
    t0 = time.process_time()
    cfg = fp.load_config(
        preset="fig2a",
        overrides=[
            f"mesh.size={size}",
            f"mesh.electrode_size={esize}",
            f"drive.current={args.current}",
            f"solver.transition_width={widths[0]}",
            f"solver.max_iterations={args.max_iterations}",
            f"solver.linear_solver={args.linear_solver}",
            f"mesh.adapt.levels={args.start_levels}",
            f"mesh.adapt.fraction={args.fraction}",
            "mesh.adapt.band=true",
            "mesh.adapt.target=1e-6",
        ],
    )
    res = fp.run(cfg, pictures=False, comm=comm)
    p, rep = res.problem, res.report
    rows = [row(p, "start", widths[0], rep, t0, res.summary["iterations"])]
    if not rep.converged:
        raise SystemExit(f"the start at w = {widths[0]} K did not converge: {rep.reason}")
    w_cur = widths[0]
    reached = [widths[0]]
    stop = ""
    for w in widths[1:]:
        refines = 0
        while True:
            with_width(p, w)
            rep = solve(p, start_width=w_cur)
            if math.isfinite(rep.final_width):
                w_cur = rep.final_width
            rows.append(row(p, "continue", w, rep, t0, rep.newton_steps))
            if rep.converged:
                break
            if refines >= args.max_refines:
                stop = f"w = {w} K: still stalled at {w_cur:.4g} K after {refines} refinements ({rep.reason})"
                break
            out = refine(p, w_cur, args.fraction, args.max_cells)
            if out is None:
                stop = f"w = {w} K: stalled at {w_cur:.4g} K ({rep.reason}) and the next mesh exceeds max_cells"
                break
            p, rep = out
            refines += 1
            if math.isfinite(rep.final_width):
                w_cur = rep.final_width
            rows.append(row(p, "refine", w, rep, t0, rep.newton_steps))
            if rep.converged:
                break
        if stop:
            break
        reached.append(w)
        if w in refine_at:
            out = refine(p, w, args.fraction, args.max_cells)
            if out is None:
                stop = f"w = {w} K: the refinement asked for exceeds max_cells"
                break
            p, rep = out
            rows.append(row(p, "refine", w, rep, t0, rep.newton_steps))
            if not rep.converged:
                stop = f"w = {w} K on the refined mesh: {rep.reason}"
                break
    if stop and comm.rank == 0:
        print("STOP", stop, flush=True)
    same = [r for r in rows if r["cells"] == p.n_cells and r["converged"]]
    if not args.no_sweep and len(reached) > 1:
        if len({r["w_reached_K"] for r in same}) < len(reached):
            # every width reached, on the last mesh: its own continuation from the initial state
            # (Newton from a narrow state back to a wider band can fail: the front cells jump)
            p.reset_to_initial()
            w_prev = None
            for w in reached:
                with_width(p, w)
                rep = solve(p, start_width=w_prev)
                rows.append(row(p, "same-mesh", w, rep, t0, rep.newton_steps))
                w_prev = w
            same = [r for r in rows if r["stage"] == "same-mesh" and r["converged"]]
        pts = same
        if comm.rank == 0:
            for label, sub in (("all widths", pts), ("w <= 1 K", [r for r in pts if r["w_reached_K"] <= 1.0])):
                if len(sub) < 3:
                    continue
                ws = np.array([r["w_reached_K"] for r in sub])
                for key in ("metal_fraction", "front_x_um", "metal_depth_um", "voltage_V", "T_max_K"):
                    ys = np.array([r[key] for r in sub], dtype=float)
                    a1, b1, e1 = fit(ws, ys, 1)
                    a2, b2, e2 = fit(ws, ys, 2)
                    print(
                        f"FIT {key}, {label}, {sub[0]['cells']} cells: a + b w: a = {a1:.6g}, b = {b1:.3g}, "
                        f"rms {e1:.2g}; a + b w^2: a = {a2:.6g}, b = {b2:.3g}, rms {e2:.2g}",
                        flush=True,
                    )
    for r in rows:
        r["run_id"] = run_id
    if comm.rank == 0:
        print(record(rows, Path(args.out)))


if __name__ == "__main__":
    main()
