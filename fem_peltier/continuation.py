"""Continuation: from a state far from the answer to the steady state at the target band width.

The outer (Picard) loop drives the continuation in the band width w from wide to
narrow (solver.initial_width -> solver.transition_width, by solver.width_factor),
closing each level with Newton; a level that fails is retried at a width between it
and the last converged one. If even the widest level fails from the initial state,
the drive is ramped up from a fraction of its value at that width. At every level,
with hysteresis, each cell's band centre follows its phase until the pattern is
stable. Mesh sequencing (sequencing.py) enters through `start_width`/`stop_width`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np
from dolfinx import fem

from .drive import CURRENT as CURRENT_MODE
from .drive import VOLTAGE as VOLTAGE_MODE
from .mesh import FILM
from .phase import update_centre
from .warm_start import SUBSTEP_NEWTON_STEPS, predict, remember, solve_warm, warm_restart_width

if TYPE_CHECKING:
    from .coupled import CoupledProblem
    from .state import State

log = logging.getLogger("fem_peltier")


@dataclass
class SolveReport:
    converged: bool
    reason: str
    newton_steps: int
    levels: list[dict] = field(default_factory=list)
    final_width: float = math.nan
    drive_reached_fraction: float = 0.0  # of the configured drive, in the state left behind (0: none solved)
    phase_updates: int = 0
    metal_fraction_history: list[float] = field(default_factory=list)
    # with `keep_width`: the converged state of the narrowest level at or above that width, the
    # start for a refined mesh (adaptive.py); None when no such level converged
    staging: State | None = None
    staging_width: float = math.nan


def solve(
    problem: CoupledProblem,
    progress=None,
    warm_start: bool = False,
    start_width: float | None = None,
    stop_width: float | None = None,
    fail_fast: bool = False,
    keep_width: float | None = None,
    fallback: bool = True,
    narrowing_steps: int | None = None,
) -> SolveReport:
    """Continuation in the band width with Newton closing each level (see module docstring).

    The widest level is first tried directly from the initial state; if Newton fails
    there, the drive is ramped up from a fraction of its value (continuation in
    current or voltage, with adaptive steps).

    With `warm_start` (the state is a converged neighbour, e.g. the previous point of a
    sweep), Newton starts at the final band width so that the branch (and the
    hysteresis memory) of that state is followed; only if that fails does the full
    continuation from the widest band run.

    `start_width` starts the continuation at that band width from the present state
    (a state transferred from a coarser mesh, see sequencing.py); if Newton fails on
    that first level, the full continuation runs from the initial state instead.
    `stop_width` ends it at that width instead of at solver.transition_width; the result
    is a staging state for a finer mesh, so that level stops at solver.level_rtol like
    the other intermediate levels. With `fail_fast` the first level from `start_width`
    gets FAIL_FAST_NEWTON_STEPS per Newton solve and no pseudo-transient retry, so that a
    start that does not converge costs little before the full continuation takes over.
    With `keep_width` the report keeps the converged state of the narrowest level at or above
    that width (`staging`, `staging_width`): a refined mesh starts from it (adaptive.py).
    Without `fallback`, a first level from `start_width` that fails ends the solve (not
    converged, the start state restored) instead of running the full continuation.
    `narrowing_steps` caps each Newton solve of the levels that narrow the band from a
    converged wider one (default solver.newton_max_iterations) and drops their
    pseudo-transient retry; a level that fails is retried with a smaller width step, as always.
    """
    s = problem.cfg.solver
    comm = problem.comm
    w_final = s.transition_width if stop_width is None else max(stop_width, s.transition_width)
    w = s.initial_width if start_width is None else min(start_width, s.initial_width)
    w_prev = None
    # the first level after a failed warm start (or from a transferred state with fail_fast):
    # capped, it must fail fast
    restart_level = fail_fast and start_width is not None
    level_cap = FAIL_FAST_NEWTON_STEPS if restart_level else SUBSTEP_NEWTON_STEPS
    steps_total = 0
    rep = SolveReport(False, "", 0)
    state = problem.save_state()
    if warm_start:
        # from the last converged states, or from the present state (a seeded problem)
        branch = problem.branch or [state]
        problem.set_width(w_final)
        t_level = time.perf_counter()
        target = problem.drive.value
        wr = solve_warm(problem, branch, target)
        steps_total = wr.newton_steps
        mf = metal_fraction(problem)
        rep.levels.append(
            {
                "width_K": w_final,
                "newton_steps": wr.newton_steps,
                "converged": wr.converged,
                "metal_fraction": mf,
                "wall_s": time.perf_counter() - t_level,
                "warm_start": True,
                "drive_substeps": wr.substeps,
            }
        )
        log.info(
            "  warm start at w = %.4g K: %s after %d Newton steps in %d drive sub-step(s)",
            w_final,
            "converged" if wr.converged else f"failed ({wr.reason}); full continuation",
            wr.newton_steps,
            wr.substeps,
        )
        if wr.converged:
            rep.phase_updates = wr.phase_updates
            rep.metal_fraction_history.append(mf)
            rep.final_width = w_final
            rep.drive_reached_fraction = 1.0
            rep.converged, rep.reason, rep.newton_steps = True, "converged", steps_total
            remember(problem.branch, problem.save_state())
            return rep
        # a short band-width continuation from the neighbour's state (predicted at the new
        # drive); if its first level fails too, the full continuation from the cold state
        predict(problem, branch[-1], target, branch)
        problem.branch.clear()  # these continuations may land on another branch
        state = problem.save_state()
        start_width = warm_restart_width(s)
        restart_level = True
        w = start_width
    while True:
        problem.set_width(w)
        t_level = time.perf_counter()
        budget = max(1, s.max_iterations - steps_total)
        last = w <= w_final * (1 + 1e-12)
        final = last and w_final <= s.transition_width  # a stop above it is a staging state
        if restart_level:
            ok, level_steps, updates, reason = _solve_level(
                problem,
                s,
                min(budget, 2 * level_cap),
                final,
                restart=False,
                newton_steps=level_cap,
            )
            restart_level = False
        else:
            if w_prev is None or narrowing_steps is None:
                ok, level_steps, updates, reason = _solve_level(problem, s, budget, final)
            else:  # capped, and no pseudo-transient retry: a failure only shortens the width step
                cap = min(narrowing_steps, s.newton_max_iterations)
                ok, level_steps, updates, reason = _solve_level(
                    problem, s, budget, final, restart=False, newton_steps=cap
                )
        if not ok and w_prev is None and start_width is not None and w < s.initial_width:
            # the transferred state was not good enough: full continuation from the start
            log.info(
                "  start at w = %.4g K failed after %d Newton steps (%s)%s",
                w,
                level_steps,
                reason,
                "; full continuation" if fallback else "",
            )
            rep.levels.append(
                {
                    "width_K": w,
                    "newton_steps": level_steps,
                    "converged": False,
                    "metal_fraction": metal_fraction(problem),
                    "wall_s": time.perf_counter() - t_level,
                }
            )
            steps_total += level_steps
            if not fallback:
                problem.restore_state(state)
                rep.newton_steps = steps_total
                rep.reason = f"the start at w = {w:.4g} K failed ({reason})"
                return rep
            problem.reset_to_initial()
            state = problem.save_state()
            w, start_width = s.initial_width, None
            narrowing_steps = None  # the full continuation: its levels may need more steps from far
            continue
        if not ok and w_prev is None:
            steps_total += level_steps
            problem.restore_state(state)
            ok, level_steps, updates, reason, reached = _ramp_drive(
                problem, s, max(1, s.max_iterations - steps_total), final
            )
            if not ok and reached > 0:
                # keep the furthest converged point of the ramp (a partial drive, reported as such)
                state = problem.save_state()
                rep.final_width = w
                rep.drive_reached_fraction = reached
        steps_total += level_steps
        rep.phase_updates += updates
        mf = metal_fraction(problem)
        rep.levels.append(
            {
                "width_K": w,
                "newton_steps": level_steps,
                "converged": ok,
                "metal_fraction": mf,
                "wall_s": time.perf_counter() - t_level,
            }
        )
        if progress is not None:
            progress(w, level_steps, ok, mf)
        log.info(
            "  band w = %8.4g K: %s after %d Newton steps (metal fraction %.4f)",
            w,
            "converged" if ok else f"failed ({reason})",
            level_steps,
            mf,
        )
        if ok:
            rep.metal_fraction_history.append(mf)
            state = problem.save_state()
            if keep_width is not None and w >= keep_width * (1 - 1e-9):
                rep.staging, rep.staging_width = state, w
            rep.final_width = w
            rep.drive_reached_fraction = 1.0
            if last:
                rep.converged = True
                rep.reason = "converged"
                if final:
                    remember(problem.branch, state)
                break
            w_prev, w = w, max(w * s.width_factor, w_final)
        else:
            problem.restore_state(state)
            if w_prev is None:
                rep.reason = (
                    f"{reason}; band width {w:.4g} K"
                    if reason.startswith("thermal runaway")
                    else f"no solution at the initial band width {w:.4g} K ({reason})"
                )
                break
            ratio = w / w_prev
            if ratio > 0.97:
                rep.reason = f"stalled at band width {w_prev:.4g} K ({reason})"
                break
            w = w_prev * math.sqrt(ratio)
        if steps_total >= s.max_iterations:
            problem.restore_state(state)
            rep.reason = (
                f"iteration budget ({s.max_iterations} Newton steps) exhausted at band width {rep.final_width:.4g} K"
            )
            break
    rep.newton_steps = steps_total
    problem.set_width(rep.final_width if math.isfinite(rep.final_width) else w)
    problem.update_phase()  # m of the restored state at the reported width (restore_state used the failed one)
    comm.barrier()
    return rep


#: a voltage ramp whose local exponent d ln(T_max - T0) / d ln V reached this (Ohmic heating
#: with constant properties: 2; infinite at the fold of the branch) is at a fold ...
RUNAWAY_EXPONENT = 8.0
#: ... and is declared a thermal runaway once its increments fall below this fraction of the drive
RUNAWAY_DS = 1e-2


def _t_max(problem: CoupledProblem) -> float:
    return problem.comm.allreduce(float(np.max(problem.temperatures(), initial=-np.inf)), op=MPI.MAX)


def thermal_runaway(problem: CoupledProblem, history: list[tuple[float, float]], hit_ceiling: bool) -> str | None:
    """Why a stalled ramp of a voltage (or source) drive is a thermal runaway, or None.

    Under voltage control the Joule heat sigma(T) V^2 grows with T when the resistivity
    falls with T (an activated insulator, the metal-insulator switch); past the fold of the
    T(V) branch there is no steady state and T rises without bound (docs/physics.md,
    Thermal runaway). Seen from the ramp: a failed step that ran into solver.t_ceiling,
    or the last two converged points (scale, T_max) rising with a local exponent
    d ln(T_max - T0) / d ln V of RUNAWAY_EXPONENT or more (2 for Ohmic heating with
    constant properties; it diverges at the fold).
    """
    d = problem.drive
    if d.mode == CURRENT_MODE:
        return None
    t0 = problem.cfg.thermal.t0
    exponent = 0.0
    if len(history) >= 3:
        (sa, ta), (sb, tb) = history[-2], history[-1]
        if sa > 0 and sb > sa and ta > t0 and tb > ta:
            exponent = math.log((tb - t0) / (ta - t0)) / math.log(sb / sa)
    if not hit_ceiling and exponent < RUNAWAY_EXPONENT:
        return None
    scale, t_top = history[-1] if history else (0.0, math.nan)
    unit = "V" if d.mode == VOLTAGE_MODE else "V at the source"
    why = (
        "a Newton step ran into solver.t_ceiling"
        if hit_ceiling
        else f"d ln(T_max - T0)/d ln V = {exponent:.3g} there, 2 for plain Ohmic heating: the fold of the branch"
    )
    return (
        f"thermal runaway: no steady state found above {scale * d.configured:.4g} {unit} ({scale:.4f} of the drive, "
        f"T_max = {t_top:.4g} K; {why})"
    )


def _ramp_drive(problem: CoupledProblem, s, budget: int, final: bool) -> tuple[bool, int, int, str, float]:
    """Continuation in the drive at fixed band width: scale 0 -> 1 with adaptive increments.

    Returns (converged, Newton steps, phase updates, reason, scale reached). On failure the
    problem holds the last converged point of the ramp, at the drive it reached (the full
    drive's start if none converged), never a state rescaled to a drive it was not solved at.
    A voltage ramp that stalls at a fold of T_max(V) reports a thermal runaway (`thermal_runaway`).
    """
    steps = updates = 0
    scale, ds = 0.0, 0.25
    state = problem.save_state()
    reason = "drive ramp"
    history: list[tuple[float, float]] = [(0.0, problem.cfg.thermal.t0)]  # converged (scale, T_max)
    hit_ceiling = False
    # the lowest scale that failed: later trials bisect towards it rather than repeat it, and it is
    # tried once more from a converged point within 1e-3 of the drive (Newton trouble, not a fold)
    failed, retried = math.inf, False
    while scale < 1.0:
        trial = min(1.0, scale + ds)
        if trial >= failed:
            gap = failed - scale
            runaway = thermal_runaway(problem, history, hit_ceiling)
            if runaway is not None and gap < RUNAWAY_DS:
                return False, steps, updates, runaway, scale
            if gap >= 1e-3:
                trial = scale + gap / 2
            elif not retried:
                trial, retried = failed, True
            else:
                why = f"drive ramp stalled at {scale:.3f} of the drive ({reason})"
                return False, steps, updates, why, scale
        problem.set_drive_scale(trial)
        ok, n, u, reason = _solve_level(problem, s, max(1, budget - steps), final and trial >= 1.0)
        steps += n
        updates += u
        log.debug("    drive ramp %.4f: %s (%d steps)", trial, "ok" if ok else reason, n)
        if ok:
            scale = trial
            state = problem.save_state()
            history.append((scale, _t_max(problem)))
            ds *= 1.5
            if scale >= failed:
                failed, retried = math.inf, False
        else:
            hit_ceiling = hit_ceiling or "runaway" in reason
            failed = min(failed, trial)
            problem.restore_state(state)
            ds = min(ds, trial - scale) / 2
            runaway = thermal_runaway(problem, history, hit_ceiling)
            if runaway is not None and ds < RUNAWAY_DS:
                return False, steps, updates, runaway, scale
            if ds < 1e-3:
                return False, steps, updates, f"drive ramp stalled at {scale:.3f} of the drive ({reason})", scale
        if steps >= budget:
            problem.restore_state(state)
            runaway = thermal_runaway(problem, history, hit_ceiling)
            if runaway is not None:
                return False, steps, updates, runaway, scale
            why = f"iteration budget exhausted during the drive ramp at {scale:.3g} of the drive"
            if reason != "converged":
                why += f" (last: {reason})"
            return False, steps, updates, why, scale
    return True, steps, updates, "converged", 1.0


FAIL_FAST_NEWTON_STEPS = 12
"""Newton steps of a fail-fast first level (a transferred state: 6-9 when it converges on fig2a)."""


def _solve_level(
    problem: CoupledProblem, s, budget: int, final: bool = True, restart: bool = True, newton_steps: int | None = None
) -> tuple[bool, int, int, str]:
    """Newton at fixed w, repeated while the hysteresis memory (band centres) changes.

    Intermediate continuation levels (`final=False`) only need a good starting point
    for the next level: they stop at the looser `solver.level_rtol`. With `restart`, a
    failed Newton solve is retried with pseudo-transient continuation from the same start.
    `newton_steps` caps each Newton solve (default solver.newton_max_iterations).
    """
    cap = s.newton_max_iterations if newton_steps is None else newton_steps
    steps = 0
    updates = 0
    loose: tuple[float, float, float] = (max(s.newton_rtol, s.level_rtol), math.inf, math.inf)
    tight: tuple[float, float, float] = (s.newton_rtol, s.phase_tol, s.temperature_rtol) if final else loose
    # while the hysteresis memory is changing, each solve only has to place the phase for
    # the next update: loose tolerances; the state that leaves the memory unchanged is
    # closed at the level's own tolerances (and the memory checked once more)
    settling = problem.cfg.material.hysteresis > 0
    for _ in range(s.max_phase_updates):
        tols = loose if settling else tight
        start = problem.save_state()
        nr = problem.newton(min(cap, budget - steps), *tols)
        steps += nr.steps
        if restart and not nr.converged and steps < budget:
            # Newton from this start failed: pseudo-transient continuation from the same start
            log.debug("    Newton failed (%s); pseudo-transient continuation", nr.reason)
            problem.restore_state(start)
            problem.ptc_restarts += 1
            nr = problem.newton(min(cap, budget - steps), *tols, pseudo_transient=True)
            steps += nr.steps
        if not nr.converged:
            return False, steps, updates, nr.reason
        changed = update_centre(problem.law, problem.m, problem.cfg)
        if changed == 0:
            if tols is tight:
                return True, steps, updates, "converged"
            settling = False  # memory settled on a loosely solved state: close it tightly
            continue
        updates += 1
        problem.update_phase()
        if steps >= budget:
            return False, steps, updates, "iteration budget"
    return False, steps, updates, "oscillating hysteresis memory"


def metal_fraction(problem: CoupledProblem) -> float:
    """Volume average of m over the film."""
    comm = problem.comm
    num = fem.assemble_scalar(fem.form(problem.m * problem.dx(FILM)))
    den = fem.assemble_scalar(fem.form(fem.Constant(problem.msh, 1.0) * problem.dx(FILM)))
    num, den = comm.allreduce(np.array([num, den]), op=MPI.SUM)
    return float(num / den)
