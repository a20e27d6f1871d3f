"""Warm starts: a short continuation in the drive from the neighbouring converged point.

A sweep point (or any run given a solved problem) starts from the last converged state
(drive d1, state u1) and steps the drive to the new value d at the final band width,
in sub-steps when a full step fails. Each sub-step to a drive d' starts from a predictor:

    secant:   u(d') = u1 + (d' - d1) / (d1 - d0) (u1 - u0)

from the last two converged states (d0, u0), (d1, u1) of the branch (all unknowns and
the electrode voltage V; the hysteresis memory is that of u1), or, with one state only,
the scaling predictor phi, j, V <- (d'/d1) phi, j, V (exact for a fixed phase pattern and
temperature, see CoupledProblem.set_drive_value). A predictor that makes the
temperature unphysical falls back to the scaling one. Intermediate sub-steps are closed
at solver.level_rtol; the last at the full tolerances. Each Newton solve has at most
SUBSTEP_NEWTON_STEPS steps and no pseudo-transient restart; a sub-step that fails is
halved; once the sub-step falls below 1/MAX_SPLIT of the interval, or WARM_BUDGET Newton
steps are used, the warm start gives up. The caller (continuation.solve) then restarts the
band-width continuation at `warm_restart_width` from the predicted state (its first level
capped at 2 SUBSTEP_NEWTON_STEPS, without restarts), and if that fails too, runs the cold
continuation at the point's own drive: a failed warm start costs at most WARM_BUDGET +
2 SUBSTEP_NEWTON_STEPS Newton steps more than a cold one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .drive import CURRENT
from .state import State

if TYPE_CHECKING:
    from .coupled import CoupledProblem

log = logging.getLogger("fem_peltier")

#: Newton steps allowed per warm sub-step (without pseudo-transient restarts)
SUBSTEP_NEWTON_STEPS = 8
#: the smallest sub-step is the drive interval divided by this
MAX_SPLIT = 8
#: a warm start gives up after this many Newton steps in all
WARM_BUDGET = 14
#: converged states kept for the secant predictor
BRANCH_LENGTH = 2
#: a failed warm start restarts the band continuation at this many final band widths
RESTART_WIDTH_FACTOR = 4.0
#: without a branch to follow, a drive step above this share of the drive is solved cold
MAX_RELATIVE_STEP = 0.15


def cold_instead(problem: CoupledProblem, target: float) -> str | None:
    """Why the point at drive `target` is better solved cold than warm, or None.

    A warm start is a branch-following device where the state depends on the path: with
    hysteresis memory, or under voltage or source control (several steady states at one
    voltage). Otherwise (current control, no memory: one steady state per current) it is
    only a speed-up, and it does not pay once the drive changes by more than
    MAX_RELATIVE_STEP: the metal front then moves by many cells, which Newton at the final
    band width crosses slowly (benchmarks/warm_start.py).
    """
    if not problem.branch:  # a seeded or hand-made state: start from it as it is
        return None
    d1 = problem.branch[-1].drive_value
    if d1 is None or problem.cfg.material.hysteresis > 0 or problem.drive.mode != CURRENT:
        return None
    step = abs(target - d1) / max(abs(target), abs(d1), 1e-300)
    if step > MAX_RELATIVE_STEP:
        return f"drive step {step:.0%} of the drive > {MAX_RELATIVE_STEP:.0%} without hysteresis memory"
    return None


def warm_restart_width(s) -> float:
    """Band width (K) at which the continuation restarts after a failed warm start."""
    return min(RESTART_WIDTH_FACTOR * s.transition_width, s.initial_width)


@dataclass
class WarmReport:
    """Outcome of a warm start: converged or not, Newton steps, drive sub-steps, reason."""

    converged: bool
    newton_steps: int
    phase_updates: int
    substeps: int
    reason: str


def remember(branch: list[State], state: State) -> None:
    """Append a converged state to the branch (at most BRANCH_LENGTH kept, distinct drives)."""
    if branch and branch[-1].drive_value == state.drive_value:
        branch[-1] = state
    else:
        branch.append(state)
    del branch[:-BRANCH_LENGTH]


def secant(branch: list[State], drive: float) -> State | None:
    """The secant predictor at `drive` from the last two states of `branch`, or None."""
    if len(branch) < 2:
        return None
    s0, s1 = branch[-2], branch[-1]
    if s0.drive_value is None or s1.drive_value is None or s1.drive_value == s0.drive_value:
        return None
    a = (drive - s1.drive_value) / (s1.drive_value - s0.drive_value)
    return State(
        u=s1.u + a * (s1.u - s0.u),
        V=s1.V + a * (s1.V - s0.V),
        band_centre_K=s1.band_centre_K.copy(),
        phase=s1.phase.copy(),
        drive_value=drive,
    )


def predict(problem: CoupledProblem, start: State, drive: float, branch: list[State]) -> str:
    """Put the predicted state at `drive` into `problem`; return the predictor's name."""
    guess = secant(branch, drive) if branch and branch[-1] is start else None
    if guess is not None:
        problem.restore_state(guess)
        if problem.unphysical() is None:
            return "secant"
    problem.restore_state(start)
    problem.set_drive_value(drive)
    return "scaling"


def solve_warm(problem: CoupledProblem, branch: list[State], target: float) -> WarmReport:
    """Drive continuation at the present band width from branch[-1] to the drive `target`.

    On success the problem holds the converged state at `target`; on failure it holds the
    last converged sub-step (the caller restores what it needs).
    """
    from .continuation import _solve_level

    s = problem.cfg.solver
    budget = min(WARM_BUDGET, s.max_iterations)
    start = branch[-1]
    d_start = float(start.drive_value if start.drive_value is not None else problem.drive.value)
    interval = target - d_start
    local = list(branch)
    here = start
    done, step = d_start, interval
    steps = updates = substeps = 0
    reason = "converged"
    while True:
        trial = target if abs(target - (done + step)) <= 1e-12 * max(abs(target), 1e-300) else done + step
        how = predict(problem, here, trial, local)
        final = trial == target
        ok, n, u, reason = _solve_level(
            problem, s, budget - steps, final, restart=False, newton_steps=SUBSTEP_NEWTON_STEPS
        )
        steps += n
        updates += u
        substeps += 1
        log.debug("    warm sub-step to %.6g (%s predictor): %s after %d steps", trial, how, reason, n)
        if ok:
            here = problem.save_state()
            remember(local, here)
            done = trial
            if final:
                return WarmReport(True, steps, updates, substeps, "converged")
            step = min(abs(2 * step), abs(target - done)) * np.sign(interval)
        else:
            step /= 2
            if abs(step) < abs(interval) / MAX_SPLIT:
                why = f"drive step below 1/{MAX_SPLIT} of the interval ({reason})"
                break
        if steps >= budget:
            why = f"warm-start budget of {budget} Newton steps used ({reason})"
            break
    problem.restore_state(here)
    return WarmReport(False, steps, updates, substeps, why)
