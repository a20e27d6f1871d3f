"""Time integration of the coupled problem: adaptive steps of the coupled Newton (docs/transient.md).

Each step solves, at t_(n+1) = t_n + h, the steady residual plus the storage term
(heat_storage.py) and, with a capacitor, the circuit's C dV/dt in the drive constraint
(drive.py), by the same bordered Newton as a steady run, at the final band width and
without continuation: the start (the predictor, time_scheme.py) is physical and close.

A step is rejected and retried with a shorter one when Newton fails, when the local
error estimate of T (and of V with a capacitor) exceeds the tolerance

    err = max over T dofs of |e_T| / (atol + rtol |T - T0|)  (and |e_V| / (rtol max |V|)),  reject if err > 1,

or when a cell's metal fraction moves by more than time.max_phase_change. The next step
is h 0.9 err^(-1/(p+1)), clipped to [0.2 h, 2 h] (5 h after a step with no estimate), to
dt_max, to the waveform's resolution step and so that no step crosses a waveform corner.
After a corner the scheme restarts with a backward-Euler step (the drive's derivative
jumps there). A step below dt_min ends the run: as a runaway when the rejected states
crossed solver.t_ceiling, else as a failure. With hysteresis, each cell's band centre
follows its phase after every accepted step (the memory of phase.py, in time).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mpi4py import MPI  # first: loads libmpi before dolfinx/petsc4py
import numpy as np

from .diagnostics import StateForms, heat_terms
from .drive import SOURCE, VOLTAGE, potential_ratio
from .heat_storage import HeatStorage
from .phase import phase_statistics, update_centre
from .state import State
from .time_scheme import Level, coefficients, error_factor, extrapolate, scheme_order
from .waveforms import Waveform

if TYPE_CHECKING:
    from .coupled import CoupledProblem

log = logging.getLogger("fem_peltier")

GROWTH_MAX = 2.0  # largest step growth
SHRINK_MIN = 0.2
SAFETY = 0.9
NEWTON_FAIL_SHRINK = 0.25
#: a step's Newton solve stops at a scaled residual below time.newton_rtol and a last temperature
#: correction below NEWTON_T_RTOL (relative): Newton converges quadratically, so the error left in
#: T is then of order (1e-4)^2, far below the time error of a step
NEWTON_T_RTOL = 1e-4
SETTLED_PHASE = 1e-2  # a cell's hysteresis centre moves once m < this or m > 1 - this


@dataclass
class StepRecord:
    """One accepted step: its time, size, cost and the quantities of timeseries.csv."""

    t_s: float
    dt_s: float
    newton_steps: int
    rejected_steps: int  # rejected attempts before this one was accepted
    error_estimate: float  # err of the step (0 when none was made)
    quantities: dict[str, float] = field(default_factory=dict)


@dataclass
class TransientOutcome:
    """How the integration ended."""

    completed: bool  # reached t_end (or a steady state with stop_at_steady)
    reason: str
    runaway: bool = False
    steady: bool = False  # the last step met time.steady_rtol under a constant drive
    t_s: float = 0.0
    steps: int = 0
    rejected: int = 0
    newton_steps: int = 0


class TimeStepper:
    """The adaptive time loop of one problem (module docstring)."""

    def __init__(self, problem: CoupledProblem, t_start: float = 0.0):
        self.problem = p = problem
        cfg = p.cfg
        self.time = cfg.time
        self.order = scheme_order(cfg.time.scheme)
        self.waveform = Waveform.from_drive(cfg.drive)
        self.storage = p.storage if p.storage is not None else HeatStorage.attach(p)
        self.forms = StateForms(p)
        self.t = t_start
        self.dt = float(cfg.time.dt)
        self.levels: list[Level] = []
        self.V_scale = 0.0
        self.steps = 0
        self.rejected = 0
        self.newton_steps = 0
        self.after_corner = True  # no step history to estimate the error from
        self.corners = self.waveform.corners(float(cfg.time.t_end))
        self.switching_time_s: float | None = None
        self.steady = False  # the last accepted step met time.steady_rtol

    # --- state -----------------------------------------------------------------------------
    def start(self, capacitor_charged: bool, settle: bool = False) -> None:
        """Take the problem's present state as the level at self.t (an uncharged capacitor: V = 0);
        with `settle`, after solving its quasi-static current at fixed T (settle_current)."""
        p = self.problem
        if not capacitor_charged and p.drive.capacitance_F > 0:
            p.V = 0.0
            p.electrodes.impose(p.u.x.array, 0.0)
        if settle:
            self.settle_current()
        self.levels = [
            Level(self.t, p.u.x.array.copy(), p.V, p.m.x.array.copy(), p.law.centre.x.array.copy(), p.drive.value)
        ]
        self.V_scale = abs(p.V)
        self._current_scale()

    def settle_current(self) -> bool:
        """Solve the quasi-static current of the initial temperature field (every heat source
        switched off and T held by a step of 1e-6 dt), so that the first step starts from a
        consistent phi, j and V instead of the initial guess (with the sources on, the Joule
        heat's quadratic error makes the line search refuse the full electrical step). Keeps the
        guess (and returns False) if it fails."""
        p = self.problem
        s = p.cfg.solver
        saved = p.save_state()
        h = 1e-6 * float(self.time.dt)
        self.storage.set_coefficients(1.0 / h, -1.0 / h, 0.0)
        self.storage.T_levels[0].x.array[:] = p.u.x.array[p.map_T]
        self.storage.m_levels[0].x.array[:] = p.m.x.array
        p.drive.dvdt_a0, p.drive.dvdt_history = 1.0 / h, -p.V / h  # a capacitor holds its voltage
        switches = [(src.switch, float(src.switch.value)) for src in p.physics.sources]
        for switch, _ in switches:
            switch.value = 0.0
        try:
            rep = p.newton(s.newton_max_iterations, float(self.time.newton_rtol), math.inf, math.inf)
        finally:
            for switch, value in switches:
                switch.value = value
        if not rep.converged:
            log.info("the initial current did not converge (%s); the first step starts from the guess", rep.reason)
            p.restore_state(saved)
        return rep.converged

    def _current_scale(self) -> None:
        """A drive that is off all along (a film left to cool): the present state's current
        sets the scale of the current mismatch in Newton's merit, not the 1 A fallback."""
        p = self.problem
        if self.waveform.peak() == 0.0:
            p.drive.current_scale_A = abs(p.current()) or p.drive.current_scale_A

    def scalars(self) -> dict[str, float | None]:
        """The counters a checkpoint keeps (time_checkpoint.SCALARS, without "frames")."""
        return {
            "dt": self.dt,
            "steps": self.steps,
            "rejected": self.rejected,
            "newton_steps": self.newton_steps,
            "after_corner": float(self.after_corner),
            "switching_time_s": self.switching_time_s,
            "V_scale": self.V_scale,
            "current_scale_A": self.problem.drive.current_scale_A,
        }

    def resume(self, levels: list[Level], scalars: dict[str, float | None]) -> None:
        """Continue from checkpointed levels (the last one becomes the problem's state)."""
        self.levels = levels
        self.t = levels[-1].t
        self.dt = float(scalars["dt"] or self.dt)
        self.steps = int(scalars["steps"] or 0)
        self.rejected = int(scalars["rejected"] or 0)
        self.newton_steps = int(scalars["newton_steps"] or 0)
        self.after_corner = bool(scalars["after_corner"])
        self.switching_time_s = scalars["switching_time_s"]
        self.V_scale = float(scalars["V_scale"] or 0.0)
        self._restore(levels[-1])
        self.problem.drive.value = self.waveform(self.t)
        if scalars.get("current_scale_A"):
            self.problem.drive.current_scale_A = float(scalars["current_scale_A"] or 0.0)

    def _restore(self, level: Level) -> None:
        p = self.problem
        p.restore_state(State(level.u.copy(), level.V, level.band_centre_K.copy(), level.m.copy()))

    def quantities(self) -> dict[str, float]:
        """The timeseries.csv quantities of the present state."""
        p = self.problem
        q = self.forms.quantities()
        d = p.drive
        q["capacitor_current_A"] = d.capacitor_current(p.V)
        q["source_current_A"] = q["current_A"] + q["capacitor_current_A"]
        q["source_voltage_V"] = d.value if d.mode == SOURCE else p.V
        q["drive_value"] = d.value
        q.update(heat_terms(p))
        q["stored_energy_J"] = self.storage.stored_energy_J()
        q["latent_energy_J"] = self.storage.latent_energy_J()
        return q

    # --- one step ------------------------------------------------------------------------------
    def _next_corner(self) -> float:
        return next((c for c in self.corners if c > self.t * (1 + 1e-12) + 1e-300), math.inf)

    def _step_size(self, t_end: float) -> float:
        dt = min(self.dt, float(self.time.dt_max), self.waveform.resolution_step())
        for stop in (t_end, self._next_corner()):
            left = stop - self.t
            if left <= dt * (1 + 1e-9):
                dt = left
            elif left < 1.5 * dt:  # two halves rather than a sliver
                dt = left / 2
        return dt

    def _set_drive(self, t_new: float, h: float) -> None:
        """The drive at the end of the step: its left limit at t_new (a jump counts after a corner)."""
        p = self.problem
        value = self.waveform(t_new - 1e-9 * h)
        p.drive.value = value
        if p.drive.mode == VOLTAGE:
            p.V = value
            p.u.x.array[p.dofs_pos] = value

    def attempt(self, h: float) -> tuple[bool, str, float, int]:
        """Try a step of h seconds from the last level: (accepted, why not, err, Newton steps)."""
        p = self.problem
        s = p.cfg.solver
        last = self.levels[-1]
        order = 1 if self.after_corner or len(self.levels) < 2 else self.order
        h1 = last.t - self.levels[-2].t if len(self.levels) >= 2 and not self.after_corner else None
        a0, a1, a2 = coefficients(order, h, h1)
        st = self.storage
        st.set_coefficients(a0, a1, a2)
        st.T_levels[0].x.array[:] = last.u[p.map_T]
        st.m_levels[0].x.array[:] = last.m
        if a2 != 0.0:
            prev = self.levels[-2]
            st.T_levels[1].x.array[:] = prev.u[p.map_T]
            st.m_levels[1].x.array[:] = prev.m
        p.drive.dvdt_a0 = a0
        p.drive.dvdt_history = a1 * last.V + (a2 * self.levels[-2].V if a2 != 0.0 else 0.0)
        t_new = last.t + h
        # predictor: T (and, with a capacitor, V) from the polynomial through the last levels (a
        # constant after a corner); phi, j and V are algebraic in T and the drive, which may have
        # jumped: the last level's, scaled by the drive's ratio (exact at fixed T and phase)
        n_hist = 0 if self.after_corner else min(len(self.levels) - 1, order)
        u_pred, V_pred = extrapolate(self.levels, t_new, n_hist)
        old_drive = last.drive_value if last.drive_value is not None else p.drive.value
        self._set_drive(t_new, h)
        if p.drive.capacitance_F > 0:
            ratio = potential_ratio(V_pred, last.V)
        else:
            ratio = potential_ratio(p.drive.value, old_drive) if p.drive.mode != SOURCE else 1.0
            V_pred = last.V * ratio
        u = p.u.x.array
        u[:] = last.u * ratio
        u[p.map_T] = u_pred[p.map_T]
        if p.drive.mode == VOLTAGE:
            V_pred = p.drive.value
        p.V = V_pred
        p.electrodes.impose(p.u.x.array, p.V)
        p.impose_sinks(p.u.x.array)
        p.u.x.scatter_forward()
        p.update_phase()
        tol = float(self.time.newton_rtol)
        rep = p.newton(s.newton_max_iterations, tol, s.phase_tol, NEWTON_T_RTOL, keep_preconditioner=True)
        if not rep.converged:
            return False, f"Newton: {rep.reason}", math.inf, rep.steps
        # the phase may not jump by more than max_phase_change in a cell
        dm = p.phase_change(last.m)
        if dm > self.time.max_phase_change * (1 + 1e-12):
            return False, f"phase change {dm:.3g} > time.max_phase_change", math.inf, rep.steps
        err = 0.0
        if self.time.adaptive and n_hist > 0:
            steps = [h] + [self.levels[-1 - k].t - self.levels[-2 - k].t for k in range(n_hist)]
            factor = error_factor(n_hist, steps)
            T = p.u.x.array[p.map_T]
            n_T = p.V_T.dofmap.index_map.size_local
            e = factor * np.abs(T[:n_T] - u_pred[p.map_T][:n_T])
            err = float(np.max(e / self._tolerance(T[:n_T]), initial=0.0))
            err = p.comm.allreduce(err, op=MPI.MAX)
            if p.drive.capacitance_F > 0:
                V_ref = self.time.rtol * max(self.V_scale, abs(p.V), 1e-30)
                err = max(err, factor * abs(p.V - V_pred) / V_ref)
            if err > 1.0:
                return False, f"local error {err:.3g} > 1", err, rep.steps
        return True, "", err, rep.steps

    def _tolerance(self, T: np.ndarray) -> np.ndarray:
        """atol + rtol |T - T0| (K): the error allowed per step, relative to the heating."""
        return self.time.atol + self.time.rtol * np.abs(T - self.problem.cfg.thermal.t0)

    def _next_dt(self, h: float, err: float) -> float:
        if not self.time.adaptive:
            return float(self.time.dt)
        p = scheme_order(self.time.scheme) if not self.after_corner else 1
        factor = SAFETY * err ** (-1.0 / (p + 1)) if err > 0 else GROWTH_MAX
        return h * min(GROWTH_MAX, max(SHRINK_MIN, factor))

    # --- the loop ------------------------------------------------------------------------------
    def run(
        self,
        t_end: float,
        on_accept: Callable[[StepRecord], None] | None = None,
        max_steps: int | None = None,
        on_settled: Callable[[], None] | None = None,
        stop_after_steps: int | None = None,
    ) -> TransientOutcome:
        """Integrate from the last level to t_end; `on_accept` sees every accepted step,
        `on_settled` is called once the next step's size is chosen (a consistent moment to
        checkpoint: the stepper's state is then exactly what the next step starts from).
        `stop_after_steps` ends the run (as completed) once that many steps are accepted."""
        budget = max_steps if max_steps is not None else int(self.time.max_steps)
        rejected_here = 0
        last_reason = ""
        runaway_seen = False
        while self.t < t_end * (1 - 1e-12):
            if self.steps + self.rejected >= budget:
                return self._outcome(False, f"time.max_steps = {budget} reached at t = {self.t:.6g} s")
            h = self._step_size(t_end)
            if h < float(self.time.dt_min) * (1 - 1e-9) and h < t_end - self.t:
                return self._failed(h, last_reason, runaway_seen)
            start = self.time.adaptive and (self.after_corner or len(self.levels) < 2)
            if start:  # no history to estimate from: one step against two half steps
                ok, why, err, newton = self._start_steps(h, rejected_here, on_accept)
            else:
                ok, why, err, newton = self.attempt(h)
            self.newton_steps += newton
            if not ok:
                self.rejected += 1
                rejected_here += 1
                last_reason = why
                runaway_seen |= "runaway" in why
                log.debug("  t = %.6g s: step %.3g s rejected (%s)", self.t, h, why)
                self._restore(self.levels[-1])
                shrink = NEWTON_FAIL_SHRINK if math.isinf(err) else max(SHRINK_MIN, SAFETY * err ** (-1.0 / 2))
                self.dt = h * shrink
                if not self.time.adaptive and self.dt < float(self.time.dt):
                    # fixed steps: a failed step fails the run
                    return self._outcome(False, f"fixed step of {h:.3g} s failed at t = {self.t:.6g} s ({why})")
                continue
            if not start:
                self._accept(h, newton, rejected_here, err, on_accept)
            self.dt = self._next_dt(h, err)
            self.after_corner = False
            if any(abs(self.t - c) <= 1e-9 * max(h, abs(c)) for c in self.corners):
                self.after_corner = True
            rejected_here = 0
            runaway_seen = False
            if on_settled is not None:
                on_settled()
            if stop_after_steps is not None and self.steps >= stop_after_steps:
                return self._outcome(True, f"stopped after {self.steps} accepted steps at t = {self.t:.6g} s")
            if self.steady and self.time.stop_at_steady:
                return self._outcome(True, f"steady state reached at t = {self.t:.6g} s")
        return self._outcome(True, f"reached t_end = {t_end:.6g} s")

    def _start_steps(
        self, h: float, rejected: int, on_accept: Callable[[StepRecord], None] | None
    ) -> tuple[bool, str, float, int]:
        """The first step, or the first after a corner, where no earlier levels give an
        estimate: backward Euler over h and over two halves; the halves are kept when
        max |T_half - T_full| / (atol + rtol |T - T0|) <= 1 (the halves' local error is about
        half their difference from the full step's, whose error is twice theirs)."""
        p = self.problem
        base = self.levels[-1]
        ok, why, _, n_full = self.attempt(h)
        if not ok:
            return False, why, math.inf, n_full
        T_full = p.u.x.array[p.map_T].copy()
        self._restore(base)
        ok, why, _, n_first = self.attempt(h / 2)
        if not ok:
            return False, why, math.inf, n_full + n_first
        mid_quantities = self.quantities()
        mid = Level(
            base.t + h / 2, p.u.x.array.copy(), p.V, p.m.x.array.copy(), p.law.centre.x.array.copy(), p.drive.value
        )
        self.levels.append(mid)
        ok, why, _, n_second = self.attempt(h / 2)
        self.levels.pop()
        newton = n_full + n_first + n_second
        if not ok:
            return False, why, math.inf, newton
        n_T = p.V_T.dofmap.index_map.size_local
        T = p.u.x.array[p.map_T][:n_T]
        e = np.abs(T - T_full[:n_T]) / self._tolerance(T)
        err = p.comm.allreduce(float(np.max(e, initial=0.0)), op=MPI.MAX)
        if err > 1.0:
            return False, f"start-step error {err:.3g} > 1", err, newton
        end = State(p.u.x.array.copy(), p.V, p.law.centre.x.array.copy(), p.m.x.array.copy())
        self._restore(mid)
        self._accept(h / 2, n_full + n_first, rejected, err, on_accept, mid_quantities)
        p.restore_state(end)
        self._accept(h / 2, n_second, 0, err, on_accept)
        return True, "", err, newton

    def _accept(
        self,
        h: float,
        newton: int,
        rejected: int,
        err: float,
        on_accept: Callable[[StepRecord], None] | None,
        quantities: dict[str, float] | None = None,
    ) -> None:
        """Make the present state the next level (t + h) and report it (`quantities` given:
        those of this state, measured before a later solve changed the drive's coefficients)."""
        p = self.problem
        prev = self.levels[-1]
        self.t = prev.t + h
        self.steps += 1
        m_solved = p.m.x.array.copy()
        if quantities is None:
            quantities = self.quantities()  # before the hysteresis memory moves: m as solved
        if self.switching_time_s is None and phase_statistics(p.m, p.film_mask)["metal_cells"]:
            self.switching_time_s = self.t
        self.steady = self._is_steady(prev, h)
        # hysteresis memory (no-op without hysteresis), moved only for cells that have crossed
        # the band: a centre moved at m = 0.5 would jump m to about 1 at fixed T, and the latent
        # heat of that jump would have to be absorbed within one step, however short
        update_centre(p.law, p.m, p.cfg, settled=SETTLED_PHASE)
        p.update_phase()
        self.levels.append(Level(self.t, p.u.x.array.copy(), p.V, m_solved, p.law.centre.x.array.copy(), p.drive.value))
        del self.levels[:-3]
        self.V_scale = max(self.V_scale, abs(p.V))
        if on_accept is not None:
            on_accept(StepRecord(self.t, h, newton, rejected, err, quantities))

    def _is_steady(self, prev: Level, h: float) -> bool:
        """Under a drive constant from now on: max |dT| / T_max, |dV| / |V| and max |dm| of the
        step, times t / h (the relative rates times the elapsed time), all below steady_rtol."""
        p = self.problem
        if not self.waveform.constant_after(self.t - h):
            return False
        n_T = p.V_T.dofmap.index_map.size_local
        T, T_prev = p.u.x.array[p.map_T][:n_T], prev.u[p.map_T][:n_T]
        dT = p.comm.allreduce(float(np.max(np.abs(T - T_prev), initial=0.0)), op=MPI.MAX)
        T_max = p.comm.allreduce(float(np.max(np.abs(T), initial=0.0)), op=MPI.MAX)
        dm = p.phase_change(prev.m)
        dV = abs(p.V - prev.V) / max(abs(p.V), 1e-300)
        change = max(dT / T_max, dV, dm)
        return change * (self.t / h) < float(self.time.steady_rtol)

    def _failed(self, h: float, last_reason: str, runaway_seen: bool) -> TransientOutcome:
        p = self.problem
        t0, ceiling = p.cfg.thermal.t0, p.cfg.solver.t_ceiling
        T_max = p.comm.allreduce(float(np.max(self.levels[-1].u[p.map_T], initial=0.0)), op=MPI.MAX)
        if runaway_seen or T_max > t0 + 0.5 * (ceiling - t0):
            reason = (
                f"runaway: T passes solver.t_ceiling = {ceiling:.4g} K just after "
                f"t = {self.t:.6g} s (steps below time.dt_min = {float(self.time.dt_min):.3g} s)"
            )
            return self._outcome(False, reason, runaway=True)
        return self._outcome(
            False,
            f"time step {h:.3g} s below time.dt_min = {float(self.time.dt_min):.3g} s at t = {self.t:.6g} s "
            f"(last rejection: {last_reason})",
        )

    def _outcome(self, completed: bool, reason: str, runaway: bool = False) -> TransientOutcome:
        return TransientOutcome(
            completed, reason, runaway, self.steady, self.t, self.steps, self.rejected, self.newton_steps
        )
