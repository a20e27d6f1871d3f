"""Benchmark: where the peak memory of one fig2a run goes (issue 18, item 4).

Runs fig2a on one mesh (serial is the case of the target: <= 3 GB per million cells on
one rank) and follows the process's resident set: the high-water mark (VmHWM of
/proc/self/status) is read before and after each stage of interest, and the growth of
the peak during a stage is charged to it. The stages: the mesh, the problem (spaces,
functions, vectors, the Jacobian's matrix), each form (re)compilation, the Jacobian
and vector assemblies (their coefficient packing), the set-up of the outer
preconditioner, and the rest of the first linear solves (Krylov basis, the inner
field splits set up on first use). Peak growth outside these calls is "other".

    .venv/bin/python benchmarks/memory.py --size 1.6e-5
    .venv/bin/python benchmarks/memory.py --size 1.6e-5 --option ksp_type=bcgs --label bcgs

`--option key=value` (repeatable) goes into solver.petsc_options, so each variant is
the default with those PETSc options changed. Prints the breakdown, the peak in GB
per million cells, Newton steps, GMRES iterations per solve, time per Newton step and
the answers (T_max, V), and appends one row to benchmarks/results/memory.csv (run_cpu_s: the
CPU time of the run, coarse meshes included; steadier than wall times on a shared machine).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from mpi4py import MPI

import fem_peltier as fp
from fem_peltier import coupled, linalg, newton
from fem_peltier.mesh import create_mesh
from fem_peltier.simulation import run

from report import record  # benchmarks/report.py (the script's own folder is on sys.path)

RESULTS = Path(__file__).parent / "results"
GB = 1024.0**3


def status_bytes(field: str) -> int:
    """A VmRSS / VmHWM line of /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class PeakTracker:
    """Charges the growth of the resident high-water mark to the stage during which it grew."""

    def __init__(self) -> None:
        self.growth: dict[str, float] = {}
        self.last_hwm = status_bytes("VmHWM")
        self.stage_prefix = ""  # the system being worked on: "N dofs: "
        self.depth = 0
        self.timeline: list[tuple[str, float, float]] = []  # (stage, peak, resident) after a growth

    def charge(self, label: str) -> None:
        """Charge the peak growth since the last reading to `label` (of the current system)."""
        hwm = status_bytes("VmHWM")
        if hwm > self.last_hwm:
            key = self.stage_prefix + label
            self.growth[key] = self.growth.get(key, 0.0) + (hwm - self.last_hwm)
            if hwm - self.last_hwm > 0.005 * GB:
                self.timeline.append((key, hwm / GB, status_bytes("VmRSS") / GB))
            self.last_hwm = hwm

    def wrap(self, owner: Any, name: str, label: str, dofs: Callable[..., int]) -> None:
        """Replace owner.name by a wrapper that charges the peak growth during a call to `label`
        (the outermost wrapped call only); `dofs(*args)` names the system it works on."""
        original: Callable = getattr(owner, name)
        tracker = self

        @wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if tracker.depth > 0:
                return original(*args, **kwargs)
            tracker.charge("other")
            tracker.stage_prefix = f"{dofs(*args)} dofs: "
            tracker.depth += 1
            try:
                return original(*args, **kwargs)
            finally:
                tracker.depth -= 1
                tracker.charge(label)

        setattr(owner, name, wrapper)


def instrument(tracker: PeakTracker) -> None:
    """Wrap the package's stages of interest (module attributes, so every caller sees them)."""
    tracker.wrap(coupled.CoupledProblem, "_build_forms", "forms (compile, facet tags)", lambda p, *a: p.n_dofs)
    tracker.wrap(newton.BorderedNewton, "assemble_residual", "residual assembly", lambda nw, v: v.getSize())
    tracker.wrap(newton.fpetsc, "assemble_matrix", "Jacobian assembly", lambda A, *a: A.getSize()[0])
    original_init = coupled.CoupledProblem.__init__

    @wraps(original_init)
    def init(self: coupled.CoupledProblem, cfg: Any, fm: Any, comm: Any = None) -> None:
        tracker.charge("other")
        tracker.stage_prefix = "new problem: "
        tracker.depth += 1
        try:
            original_init(self, cfg, fm, comm)
        finally:
            tracker.depth -= 1
            tracker.stage_prefix = f"{self.n_dofs} dofs: "
            tracker.charge("problem (spaces, functions, vectors, matrix)")

    coupled.CoupledProblem.__init__ = init  # type: ignore[method-assign]
    original_solve = linalg.LinearSolver.solve

    @wraps(original_solve)
    def solve(self: linalg.LinearSolver, b: Any, x: Any) -> None:
        tracker.charge("other")
        tracker.stage_prefix = f"{b.getSize()} dofs: "
        if not self._solved:
            with self._options_in_database():
                self.ksp.setUp()  # what the first KSPSolve would do first: the outer PC set-up
            tracker.charge("outer preconditioner set-up")
        original_solve(self, b, x)
        tracker.charge("linear solves (Krylov basis, inner set-ups)")

    linalg.LinearSolver.solve = solve  # type: ignore[method-assign]


def cpu_seconds() -> float:
    """User + system CPU time of this process (s): less sensitive to other work on the machine
    than the wall time."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def parse_value(text: str) -> str | int | float | bool:
    """A PETSc option value from the command line: bool, int, float or string."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=float, default=1.6e-5, help="bulk cell size (m); electrode size = size/5")
    ap.add_argument("--discretization", default="mixed", help="solver.current_discretization")
    ap.add_argument("--solver", default="auto", help="solver.linear_solver (auto: bicgstab-gamg at these sizes)")
    ap.add_argument("--option", action="append", default=[], help="solver.petsc_options entry key=value")
    ap.add_argument("--label", default="default")
    ap.add_argument("--out", default=str(RESULTS / "memory.csv"))
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    options = {k: parse_value(v) for k, v in (o.split("=", 1) for o in args.option)}
    cfg = fp.load_config(
        preset="fig2a",
        overrides={
            "mesh.size": args.size,
            "mesh.electrode_size": args.size / 5,
            "mesh.max_cells": 20_000_000,
            "solver.linear_solver": args.solver,
            "solver.current_discretization": args.discretization,
            "solver.petsc_options": options,
        },
    )
    tracker = PeakTracker()
    instrument(tracker)
    t0 = time.perf_counter()
    fm = create_mesh(cfg.resolved(), comm)
    tracker.charge("mesh")
    t_mesh = time.perf_counter() - t0
    cpu0 = cpu_seconds()
    res = run(cfg, film_mesh=fm, pictures=False)
    cpu_run = cpu_seconds() - cpu0
    tracker.charge("other")
    s = res.summary
    cells = s["cells"]
    peak = comm.allreduce(status_bytes("VmHWM") / GB, op=MPI.MAX)
    if comm.rank == 0:
        print(f"\nPeak growth by stage, rank 0 ({cells} cells, {comm.size} rank(s)):")
        print("| stage | GB | GB per million cells |\n|---|---|---|")
        for label, grown in tracker.growth.items():
            print(f"| {label} | {grown / GB:.3f} | {grown / GB / cells * 1e6:.2f} |")
        print(f"| **peak** | {tracker.last_hwm / GB:.3f} | {tracker.last_hwm / GB / cells * 1e6:.2f} |\n")
        print("Timeline of the peak's growth (stage: peak, resident after it, GB):")
        for key, hwm, rss in tracker.timeline:
            print(f"  {key}: {hwm:.3f}, {rss:.3f}")
    coarse = s["coarse_meshes"]
    row = {
        "label": args.label,
        "options": " ".join(args.option) or "-",
        "ranks": comm.size,
        "size_m": args.size,
        "cells": cells,
        "dofs": s["dofs"],
        "discretization": args.discretization,
        "converged": s["converged"],
        "newton_steps": s["iterations"],
        "coarse_newton_steps": "/".join(str(c["newton_steps"]) for c in coarse) or "-",
        "ksp_its_per_solve": round(s["ksp_iterations_per_solve"], 1),
        "s_per_newton_step": round(s["time_per_newton_step_s"], 3),
        "solve_s": round(s["solve_time_s"], 1),
        "run_cpu_s": round(cpu_run, 1),
        "mesh_s": round(t_mesh, 1),
        "peak_rss_GB_per_rank": round(peak, 3),
        "peak_GB_per_million_cells": round(peak / cells * 1e6 * comm.size, 2),
        "T_max_K": f"{s['T_max_K']:.10g}",
        "voltage_V": f"{s['voltage_V']:.10g}",
        "metal_fraction": f"{s['metal_fraction']:.8g}",
    }
    if comm.rank == 0:
        print(record([row], Path(args.out)))


if __name__ == "__main__":
    main()
