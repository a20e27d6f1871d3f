"""One transient: config in, time series and final state out (the layer under `fem-peltier transient`).

import fem_peltier as fp
cfg = fp.load_config(preset="fig2a", overrides={"time.t_end": 5.0})
result = fp.run_transient(cfg, out="out/fig2a-transient")
result.timeseries["T_max_K"], result.summary["final_state"]

The directory layout is in transient_output.py; the time loop in transient.py.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

from . import __version__
from .config import Config
from .continuation import solve
from .coupled import CoupledProblem
from .diagnostics import summary_quantities
from .errors import InputError, SolverError
from .mesh import FilmMesh, create_mesh
from .output import output_fields, write_config, write_json, write_pictures
from .progress import TimeProgress
from .series_analysis import detect_periodic, energy_closure
from .time_checkpoint import load_levels, save_levels
from .transient import StepRecord, TimeStepper, TransientOutcome
from .transient_output import (
    FRAMES_DIR,
    TIMESERIES,
    TimeseriesWriter,
    frame_file,
    is_transient_dir,
    prune_frames,
    read_timeseries,
    remove_transient_dir,
    write_frame_index,
)
from .vtk_output import cell_tag_array, write_fields_vtu
from .transient_plots import TRAJECTORY_PNG, TRANSIENT_PNG, plot_trajectory, plot_transient

log = logging.getLogger("fem_peltier")

CHECKPOINT = "state.npz"
#: the signals searched for an oscillation, in order (the first periodic one is reported)
OSCILLATION_SIGNALS = ("voltage_V", "current_A", "T_max_K", "metal_fraction")


@dataclass
class TransientResult:
    """Outcome of a transient: `converged` (reached t_end, or a steady state with stop_at_steady),
    the flat `summary`, the time series {column: array}, the problem in its final state."""

    converged: bool
    summary: dict
    timeseries: dict
    problem: CoupledProblem
    outcome: TransientOutcome
    out: Path | None = None
    fields: dict = field(default_factory=dict)


def _prepare_directory(out: Path | None, overwrite: bool, resume: bool, comm: MPI.Comm) -> bool:
    """Check (and with overwrite clear) the output directory; True when resuming from it."""
    if out is None:
        if resume:
            raise InputError("--resume", "needs an output directory to resume from")
        return False
    err = None
    if comm.rank == 0:
        exists = out.exists()
        if resume and overwrite:
            err = InputError("--overwrite", "give either --resume or --overwrite, not both")
        elif resume and not (out / CHECKPOINT).is_file():
            err = InputError(str(out), f"nothing to resume: no transient checkpoint ({CHECKPOINT}) in it")
        elif resume and (out / "summary.json").is_file():
            err = InputError(str(out), "the transient in it is complete (summary.json exists); nothing to resume")
        elif exists and not resume and not overwrite:
            err = InputError(
                str(out), "output directory already exists; pass --resume to continue it or --overwrite to replace it"
            )
        elif exists and overwrite:
            if not is_transient_dir(out):
                err = InputError(str(out), "not a transient's directory; --overwrite replaces only a transient")
            else:
                remove_transient_dir(out)
        if err is None and not resume:
            out.mkdir(parents=True, exist_ok=True)
    err = comm.bcast(err, root=0)
    if err is not None:
        raise err
    return resume


def _initial_state(problem: CoupledProblem, stepper: TimeStepper) -> bool:
    """Put the configured initial state into the problem; True when the capacitor starts charged."""
    cfg = problem.cfg
    initial = cfg.time.initial
    problem.drive.value = stepper.waveform(0.0)
    # m is recomputed at the final band width: the problem holds m at the initial (continuation)
    # width, e.g. 0.12 at T0 in the slab preset instead of 4e-18, and the first step's L dm/dt
    # starts from this level's m (it released L 0.12 per unit volume at once)
    if initial == "t0":
        problem.set_width(cfg.solver.transition_width)
        problem.update_phase()
        return False
    if initial == "steady":
        if problem.drive.value != 0.0:
            report = solve(problem)
            if not report.converged:
                raise SolverError(f"the steady initial state did not converge ({report.reason})")
        problem.set_width(cfg.solver.transition_width)
        problem.update_phase()
        return True
    levels, _ = load_levels(problem, Path(initial))
    problem.set_width(cfg.solver.transition_width)
    stepper._restore(levels[-1])
    return True


def run_transient(
    cfg: Config,
    out: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    comm: MPI.Comm = MPI.COMM_WORLD,
    film_mesh: FilmMesh | None = None,
    pictures: bool = True,
    progress: bool = False,
    stop_after_steps: int | None = None,
) -> TransientResult:
    """Integrate `cfg` in time (its [time] section and drive waveform) and, with `out`, write
    timeseries.csv, the field frames, checkpoints, pictures and summary.json (last).
    `resume` continues a killed run in `out` from its last checkpoint; `stop_after_steps` ends
    the run after that many accepted steps (benchmarks)."""
    t_start = time.perf_counter()
    cfg = cfg.resolved()
    if cfg.thermal.model == "two":
        raise InputError(
            "thermal.model",
            "the two-temperature model is steady-state only (run, sweep): no heat capacities of electrons and "
            "lattice yet",
        )
    out_dir = Path(out) if out is not None else None
    resuming = _prepare_directory(out_dir, overwrite, resume, comm)
    fm = film_mesh if film_mesh is not None else create_mesh(cfg, comm)
    if cfg.mesh.adapt.levels > 0:
        log.warning("mesh.adapt ignored by transient runs: they use the configured mesh")
    problem = CoupledProblem(cfg, fm)
    stepper = TimeStepper(problem)
    tm = cfg.time
    frames: list[float] = []
    if resuming:
        assert out_dir is not None
        levels, scalars = load_levels(problem, out_dir / CHECKPOINT)
        problem.set_width(cfg.solver.transition_width)
        stepper.resume(levels, scalars)
        n_frames = int(scalars["frames"] or 0)
        frames = prune_frames(out_dir, n_frames) if comm.rank == 0 else []
        frames = comm.bcast(frames, root=0)
        log.info("resuming at t = %.6g s (step %d)", stepper.t, stepper.steps)
        stored_start = scalars["stored_energy_initial_J"]
    else:
        charged = _initial_state(problem, stepper)
        # from "t0" the first state is a guess: its quasi-static current is solved first
        stepper.start(capacitor_charged=charged, settle=cfg.time.initial == "t0")
        stored_start = stepper.storage.stored_energy_J()
        if out_dir is not None:
            write_config(out_dir / "config.toml", cfg, comm)
    writer = TimeseriesWriter(out_dir / TIMESERIES, comm.rank, stepper.t if resuming else None) if out_dir else None
    every_steps = tm.output_every_steps
    every_s = float(tm.output_every) if every_steps is None else math.inf
    next_frame_t = len(frames) * every_s if math.isfinite(every_s) else math.inf

    def write_frame(t: float) -> None:
        if out_dir is None:
            return
        fields = output_fields(problem)
        if comm.rank == 0:
            (out_dir / FRAMES_DIR).mkdir(exist_ok=True)
        tags = {"cell_tags": cell_tag_array(problem.msh, problem.fm.cell_tags)}
        write_fields_vtu(out_dir / frame_file(len(frames)), problem.msh, fields.values(), tags)
        frames.append(t)
        if comm.rank == 0:
            write_frame_index(out_dir, frames)

    def checkpoint() -> None:
        if out_dir is not None:
            save_levels(
                problem,
                stepper.levels,
                {**stepper.scalars(), "frames": len(frames), "stored_energy_initial_J": stored_start},
                out_dir / CHECKPOINT,
            )

    if not resuming and out_dir is not None:
        write_frame(stepper.t)
        next_frame_t = every_s
    with TimeProgress(float(tm.t_end), stepper.t, enabled=progress) as bar:

        def on_accept(rec: StepRecord) -> None:
            nonlocal next_frame_t
            row = {"t_s": rec.t_s, "dt_s": rec.dt_s, **rec.quantities}
            row.update(
                newton_steps=rec.newton_steps, rejected_steps=rec.rejected_steps, error_estimate=rec.error_estimate
            )
            if writer is not None:
                writer.write(row)
            due = (every_steps is not None and stepper.steps % every_steps == 0) or rec.t_s >= next_frame_t * (1 - 1e-9)
            if due or rec.t_s >= float(tm.t_end) * (1 - 1e-12):
                write_frame(rec.t_s)
                while next_frame_t <= rec.t_s * (1 + 1e-9):
                    next_frame_t += every_s
            bar.update(rec.t_s, f"dt {rec.dt_s:.3g} s, T_max {rec.quantities['T_max_K']:.1f} K")

        last_checkpoint = stepper.steps

        def on_settled() -> None:
            nonlocal last_checkpoint
            if stepper.steps - last_checkpoint >= int(tm.checkpoint_every):
                checkpoint()
                last_checkpoint = stepper.steps

        outcome = stepper.run(float(tm.t_end), on_accept, on_settled=on_settled, stop_after_steps=stop_after_steps)
    checkpoint()
    # no timeseries.csv when no step was accepted (a run failing at its first step)
    csv_path = out_dir / TIMESERIES if out_dir is not None else None
    series = read_timeseries(csv_path) if csv_path is not None and comm.rank == 0 and csv_path.is_file() else {}
    if out_dir is not None:
        series = comm.bcast(series, root=0)
    summary = _summary(problem, stepper, outcome, series, stored_start, resuming)
    summary["wall_time_s"] = time.perf_counter() - t_start
    fields = output_fields(problem)
    if out_dir is not None:
        if pictures:
            write_pictures(out_dir, problem, fields)
            if comm.rank == 0 and series:
                _plot(out_dir, series, summary, cfg)
        write_json(out_dir / "solver_log.json", {"reason": outcome.reason}, comm)
        write_json(out_dir / "summary.json", summary, comm)  # last: marks a complete run
    log.info(
        "%s: %s (%d steps, %d rejected, %d Newton steps)",
        "done" if outcome.completed else "FAILED",
        outcome.reason,
        outcome.steps,
        outcome.rejected,
        outcome.newton_steps,
    )
    return TransientResult(outcome.completed, summary, series, problem, outcome, out_dir, fields)


def _summary(
    problem: CoupledProblem,
    stepper: TimeStepper,
    outcome: TransientOutcome,
    series: dict,
    stored_start: float | None,
    resumed: bool,
) -> dict:
    cfg = problem.cfg
    summary: dict = {"converged": outcome.completed, "reason": outcome.reason, "iterations": outcome.newton_steps}
    summary.update(summary_quantities(problem))
    periodic = None
    signal = None
    if series and not outcome.runaway:
        for key in OSCILLATION_SIGNALS:
            periodic = detect_periodic(series["t_s"], series[key])
            if periodic is not None:
                signal = key
                break
    if outcome.runaway:
        final_state = "runaway"
    elif stepper.steady:
        final_state = "steady"
    elif periodic is not None:
        final_state = "periodic"
    else:
        final_state = "neither"
    energy: dict[str, float | None] = {"energy_gained_J": None, "energy_balance_rel": None}
    if series and stored_start is not None and "heat_net_W" in series:
        gained, rel = energy_closure(series["t_s"], series["heat_net_W"], series["stored_energy_J"], 0.0, stored_start)
        energy = {"energy_gained_J": gained, "energy_balance_rel": rel}
    summary.update(
        {
            "transient": True,
            "scheme": cfg.time.scheme,
            "t_end_s": float(cfg.time.t_end),
            "time_reached_s": outcome.t_s,
            "time_steps": outcome.steps,
            "rejected_steps": outcome.rejected,
            "newton_steps_per_time_step": outcome.newton_steps / max(outcome.steps + outcome.rejected, 1),
            "final_state": final_state,
            "steady_state": stepper.steady,
            "periodic": periodic is not None,
            "period_s": periodic.period_s if periodic else None,
            "oscillation_signal": signal,
            "oscillation_amplitude": periodic.amplitude if periodic else None,
            "oscillation_mean": periodic.mean if periodic else None,
            "switching_time_s": stepper.switching_time_s,
            "runaway": outcome.runaway,
            "stored_energy_J": stepper.storage.stored_energy_J(),
            "stored_energy_initial_J": stored_start,
            **energy,
            "resumed": resumed,
            "cells": problem.n_cells,
            "dofs": problem.n_dofs,
            "ranks": problem.comm.size,
            "band_width_K": float(problem.law.width.value),
            "linear_solver": problem.linear_solver,
            "current_discretization": cfg.solver.current_discretization,
            "mesh_source": problem.fm.source,
            "fem_peltier_version": __version__,
        }
    )
    summary.update(cfg.groups())
    return summary


def _plot(out: Path, series: dict, summary: dict, cfg: Config) -> None:
    state = summary["final_state"]
    if summary["period_s"]:
        state += f", period {summary['period_s']:.4g} s"
    title = f"transient: {cfg.drive.waveform} drive, {state}"
    plot_transient(series, out / TRANSIENT_PNG, title, cfg.thermal.t0, summary["switching_time_s"])
    if cfg.drive.capacitance > 0 or cfg.drive.load_resistance > 0 or cfg.drive.waveform != "dc":
        plot_trajectory(series, out / TRAJECTORY_PNG, title)
