"""Benchmark: the cost of a transient (adaptive BDF2) against one steady Newton step on the same mesh.

fig2a under a dc current switched on at t = 0 (default 10 mA, the preset's: the metal forms within 0.2 s), run by
`fem_peltier.run_transient` with its outputs (timeseries.csv, field frames, checkpoints,
pictures) into a temporary folder, stopped after --steps accepted time steps. Before it,
in the same process and on the same mesh, the steady state of the same drive is solved
by `continuation.solve` (no mesh sequencing): its solve time per Newton step is the
reference a time step is measured against; a second reference is one Newton step taken
from the converged steady state (median of three), the cost of a step without the
continuation's band-width levels and line searches.

Prints cells, accepted and rejected steps, Newton steps per time step (per attempt, as
the summary's newton_steps_per_time_step, and per accepted step), time per accepted step
and its ratio to one steady Newton step, the total wall time against the issue's target
(200 steps in under 5 minutes on 2 cores), and where the time of the transient went
(inclusive timers: Newton, within it Jacobian assembly, vector assembly and linear
solves; the per-step diagnostics of timeseries.csv; field frames; checkpoints).

    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/transient.py               # ~100k cells
    .venv/bin/python benchmarks/transient.py --size 1e-4 --steps 20 --json out/t.json

Results are written to benchmarks/results/transient.json (one record per run, appended
to the list in the file) and printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from mpi4py import MPI

import dolfinx.fem.petsc as fpetsc

import fem_peltier as fp
from fem_peltier import transient, transient_run
from fem_peltier.continuation import solve
from fem_peltier.coupled import CoupledProblem
from fem_peltier.linalg import LinearSolver
from fem_peltier.mesh import create_mesh

RESULTS = Path(__file__).parent / "results"
TARGET_STEPS, TARGET_S = 200, 300.0  # the target: 200 steps in under 5 minutes on 2 cores

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(name: str, fn):
    """fn, adding its wall time to TIMES[name] (inclusive of what it calls)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - t
            CALLS[name] += 1

    return wrapper


def instrument() -> None:
    """Time the parts of a time step (module functions and methods patched in this process only)."""
    CoupledProblem.newton = timed("newton", CoupledProblem.newton)  # type: ignore[method-assign]
    LinearSolver.solve = timed("linear_solves", LinearSolver.solve)  # type: ignore[method-assign]
    fpetsc.assemble_matrix = timed("jacobian_assembly", fpetsc.assemble_matrix)
    fpetsc.assemble_vector = timed("vector_assembly", fpetsc.assemble_vector)
    transient.TimeStepper.quantities = timed("step_diagnostics", transient.TimeStepper.quantities)  # type: ignore[method-assign]
    transient.heat_terms = timed("heat_terms", transient.heat_terms)
    transient_run.output_fields = timed("frame_fields", transient_run.output_fields)
    transient_run.save_levels = timed("checkpoints", transient_run.save_levels)
    transient_run.write_pictures = timed("pictures", transient_run.write_pictures)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=float, default=2.2e-5, help="mesh.size (electrode cells: size / 5)")
    ap.add_argument("--current", type=float, default=1e-2, help="drive.current (A), dc from t = 0")
    ap.add_argument("--t-end", type=float, default=10.0, help="time.t_end (s)")
    ap.add_argument("--dt-max", type=float, default=None, help="time.dt_max (s); default t_end / 20")
    ap.add_argument("--steps", type=int, default=TARGET_STEPS, help="stop after this many accepted steps")
    ap.add_argument("--set", action="append", default=[], help="further section.key=value overrides")
    ap.add_argument("--keep", type=Path, help="write the transient's outputs here (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=RESULTS / "transient.json")
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    overrides = [
        f"mesh.size={a.size!r}",
        f"mesh.electrode_size={a.size / 5!r}",
        "mesh.max_cells=20000000",
        f"drive.current={a.current!r}",
        f"time.t_end={a.t_end!r}",
        *([f"time.dt_max={a.dt_max!r}"] if a.dt_max else []),
        *a.set,
    ]
    cfg = fp.load_config(preset="fig2a", overrides=overrides)
    t = time.perf_counter()
    fm = create_mesh(cfg.resolved(), comm)
    t_mesh = time.perf_counter() - t

    # the reference: the steady state of the same drive on the same mesh
    steady = CoupledProblem(cfg.resolved(), fm)
    comm.barrier()
    t = time.perf_counter()
    report = solve(steady)
    t_steady = time.perf_counter() - t
    s_per_newton = t_steady / max(report.newton_steps, 1)
    # and one Newton step (Jacobian, fresh preconditioner, the two bordered solves, line search)
    # from the converged steady state, the median of three
    sv = steady.cfg.solver
    one_step = []
    for _ in range(3):
        comm.barrier()
        t = time.perf_counter()
        steady.newton(1, sv.newton_rtol, sv.phase_tol, sv.temperature_rtol)
        one_step.append(time.perf_counter() - t)
    s_per_newton_at_steady = sorted(one_step)[1]
    steady.destroy()
    del steady

    instrument()
    root = a.keep
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="transient-bench-")) if comm.rank == 0 else None
        root = comm.bcast(root, root=0)
    assert root is not None
    comm.barrier()
    t = time.perf_counter()
    res = fp.run_transient(cfg, out=root / "fig2a", overwrite=True, comm=comm, film_mesh=fm, stop_after_steps=a.steps)
    wall = time.perf_counter() - t
    s = res.summary
    steps, rejected, newton = s["time_steps"], s["rejected_steps"], s["iterations"]
    per_step = wall / max(steps, 1)
    row = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "ranks": comm.size,
        "mesh_size": a.size,
        "cells": s["cells"],
        "dofs": s["dofs"],
        "linear_solver": s["linear_solver"],
        "current_A": a.current,
        "time_reached_s": s["time_reached_s"],
        "time_steps": steps,
        "rejected_steps": rejected,
        "newton_steps": newton,
        "newton_per_attempt": round(s["newton_steps_per_time_step"], 2),
        "newton_per_accepted_step": round(newton / max(steps, 1), 2),
        "steady_newton_steps": report.newton_steps,
        "steady_converged": report.converged,
        "s_per_steady_newton_step": round(s_per_newton, 3),
        "s_per_time_step": round(per_step, 3),
        "ratio_time_step_to_steady_newton_step": round(per_step / s_per_newton, 2),
        "s_per_newton_step_at_steady_state": round(s_per_newton_at_steady, 3),
        "ratio_time_step_to_newton_step_at_steady_state": round(per_step / s_per_newton_at_steady, 2),
        "s_per_transient_newton_step": round(TIMES["newton"] / max(newton, 1), 3),
        "mesh_s": round(t_mesh, 1),
        "steady_solve_s": round(t_steady, 1),
        "transient_wall_s": round(wall, 1),
        f"wall_for_{TARGET_STEPS}_steps_s": round(per_step * TARGET_STEPS, 1),
        "target_s": TARGET_S,
        "switching_time_s": s["switching_time_s"],
        "metal_fraction": round(s["metal_fraction"], 5),
        "T_max_K": round(s["T_max_K"], 2),
        "energy_balance_rel": s["energy_balance_rel"],
        "reason": s["reason"],
        "breakdown_s": {k: round(v, 2) for k, v in sorted(TIMES.items())},
        "breakdown_calls": dict(sorted(CALLS.items())),
    }
    if comm.rank == 0:
        keys = [k for k in row if not k.startswith("breakdown")]
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        print("| " + " | ".join(str(row[k]) for k in keys) + " |\n")
        print("| part (inclusive) | s | share of the transient | s per accepted step | calls |\n|---|---|---|---|---|")
        for k, v in sorted(TIMES.items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {v:.1f} | {v / wall:.1%} | {v / max(steps, 1):.3f} | {CALLS[k]} |")
        records = json.loads(a.json.read_text()) if a.json.is_file() else []
        records.append(row)
        a.json.parent.mkdir(parents=True, exist_ok=True)
        clean = json.dumps(
            records, indent=1, default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else v
        )
        a.json.write_text(clean + "\n")
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
