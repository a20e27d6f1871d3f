"""One steady-state run: config in, result out (the layer under `fem-peltier run`).

import fem_peltier as fp
cfg = fp.load_config(preset="fig2a")
result = fp.run(cfg, out="out/fig2a")
result.summary["T_max_K"], result.fields["T"]
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

from . import __version__
from .config import Config
from .continuation import SolveReport, solve
from .coupled import CoupledProblem
from .adaptive import adapt, adapt_summary, level_rows
from .diagnostics import summary_quantities
from .errors import InputError
from .files import write_csv_atomic
from .mesh import FilmMesh, create_mesh
from .output import (
    output_fields,
    staged_directory,
    write_config,
    write_fields,
    write_fields_vtk,
    write_json,
    write_pictures,
)
from .sequencing import coarse_levels, sequencing_width, solve_sequenced
from .warm_start import cold_instead

log = logging.getLogger("fem_peltier")


@dataclass
class Result:
    """Outcome of a run: `converged`, the flat `summary` dict, the solver report, the fields."""

    converged: bool
    summary: dict
    report: SolveReport
    problem: CoupledProblem
    fields: dict = field(default_factory=dict)
    out: Path | None = None


def run(
    cfg: Config,
    out: str | Path | None = None,
    overwrite: bool = False,
    comm: MPI.Comm = MPI.COMM_WORLD,
    film_mesh: FilmMesh | None = None,
    pictures: bool = True,
    problem: CoupledProblem | None = None,
    adapt_mesh: bool = True,
) -> Result:
    """Mesh, solve and (if `out` is given) write summary.json, fields.xdmf, fields.vtu and the PNG pictures.

    With mesh.adapt.levels > 0 the solved mesh is then refined adaptively (adaptive.py): the
    result's problem and fields are on the last mesh, and adapt.csv lists the levels.

    `problem` may be a previously solved CoupledProblem of the same mesh to warm-start from
    (its state and phase memory are kept, the drive is taken from `cfg`). `adapt_mesh = False`
    skips [mesh.adapt] (sweeps keep one mesh for all their points).
    """
    t_start = time.perf_counter()
    cfg = cfg.resolved()
    exists = comm.bcast(out is not None and Path(out).exists() if comm.rank == 0 else None, root=0)
    if exists and not overwrite:  # decided on rank 0, raised on every rank
        raise InputError(str(out), "output directory already exists; pass overwrite=True to replace its results")
    warm = problem is not None
    if problem is None:
        fm = film_mesh if film_mesh is not None else create_mesh(cfg, comm)
        t_mesh = time.perf_counter() - t_start
        problem = CoupledProblem(cfg, fm)
    else:
        t_mesh = 0.0
        problem.set_drive(cfg)
        why = cold_instead(problem, problem.drive.value)
        if why is not None:
            log.info("solved cold, not warm-started: %s", why)
            problem.reset_to_initial()
            problem.branch.clear()
            warm = False
    log.info("mesh: %d cells, %d dofs on %d rank(s) (%.2f s)", problem.n_cells, problem.n_dofs, comm.size, t_mesh)
    t_solve = time.perf_counter()
    coarse: list = []
    n_coarse = coarse_levels(problem)  # (warns when set for a mesh file)
    adapt_asked = adapt_mesh and cfg.mesh.adapt.levels > 0
    adapting = adapt_asked and not problem.two_temperatures
    keep = sequencing_width(cfg) if adapting else None  # the refined meshes start from that width
    if not warm and n_coarse > 0:
        report, coarse = solve_sequenced(problem, n_coarse, keep_width=keep)
    else:
        report = solve(problem, warm_start=warm, keep_width=keep)
    t_solve_first = time.perf_counter() - t_solve
    adapted = None
    if adapt_asked and problem.two_temperatures:
        log.warning("mesh.adapt ignored: its error indicator is that of the one-temperature model")
    elif adapting and report.converged:
        adapted = adapt(problem, report, t_solve)
        problem, report = adapted.problem, adapted.report
    t_solve = time.perf_counter() - t_solve
    # the Krylov basis and the preconditioner's submatrices and hierarchies are not needed by the
    # diagnostics and output fields below, which then reuse their memory instead of adding to
    # the peak (fig2a, 965k cells serial: memory.py, benchmarks/README.md "Memory (issue 18)")
    problem.newton_solver.release()
    t_coarse = sum(c.solve_time_s for c in coarse)
    first_steps = adapted.levels[0].newton_steps if adapted is not None else report.newton_steps
    summary: dict = {
        "converged": report.converged,
        "iterations": report.newton_steps,
        "reason": report.reason,
    }
    summary.update(summary_quantities(problem))
    summary.update(
        {
            "cells": problem.n_cells,
            "dofs": problem.n_dofs,
            "ranks": comm.size,
            "transition_width_K": report.final_width,
            # the state written: its band width and the share of the configured drive it was solved at
            "band_width_K": float(problem.law.width.value),
            "drive_reached_fraction": report.drive_reached_fraction,
            "band_levels": len([lv for lv in report.levels if lv["converged"]]),
            "phase_updates": report.phase_updates,
            "warm_started": warm,
            "pseudo_transient_restarts": problem.ptc_restarts,
            "metal_fraction_history": report.metal_fraction_history,
            "mesh_source": problem.fm.source,
            "solve_time_s": t_solve,
            "time_per_newton_step_s": (t_solve_first - t_coarse) / max(first_steps, 1),
            "coarse_meshes": [
                {
                    "cells": c.cells,
                    "newton_steps": c.newton_steps,
                    "solve_time_s": c.solve_time_s,
                    "converged": c.converged,
                }
                for c in coarse
            ],
            "linear_solver": problem.linear_solver,
            "current_discretization": problem.cfg.solver.current_discretization,
            "ksp_iterations_per_solve": (
                sum(problem.ksp_iterations) / len(problem.ksp_iterations) if problem.ksp_iterations else 0.0
            ),
            "fem_peltier_version": __version__,
        }
    )
    summary.update(adapt_summary(adapted))
    summary.update({k: v for k, v in cfg.groups().items()})
    fields = output_fields(problem)
    result = Result(report.converged, summary, report, problem, fields)
    if out is not None:
        with staged_directory(Path(out), overwrite, comm) as tmp:
            write_config(tmp / "config.toml", cfg, comm)
            write_fields(tmp, problem, fields)
            write_fields_vtk(tmp, problem, fields)
            if pictures:
                write_pictures(tmp, problem, fields)
            write_json(tmp / "solver_log.json", {"levels": report.levels, "reason": report.reason}, comm)
            if adapted is not None and comm.rank == 0:
                write_csv_atomic(tmp / "adapt.csv", level_rows(adapted.levels))
            summary["wall_time_s"] = time.perf_counter() - t_start
            write_json(tmp / "summary.json", summary, comm)  # last: its presence marks a complete run
        result.out = Path(out)
    else:
        summary["wall_time_s"] = time.perf_counter() - t_start
    log.info(
        "%s after %d Newton steps (%s); wall %.1f s",
        "converged" if report.converged else "NOT converged",
        report.newton_steps,
        report.reason,
        summary["wall_time_s"],
    )
    return result
