"""Adaptive refinement of a solved run ([mesh.adapt], docs/physics.md "Adaptive refinement").

Level 0 is the run's own mesh, solved as usual. Each further level

1. computes the cell indicators of the solved state (error_indicator.py),
2. marks the cells that carry `fraction` of the squared estimate (Dörfler, dorfler.py: the
   threshold is found on global sums, so the marks do not depend on the partition) and, with
   `band`, the transition-band cells that do not resolve the front,
3. refines them (refinement.py: tags kept, the same mesh for any partition),
4. carries the state over (the refined mesh is nested in the old one, so interpolation is
   exact: P1 temperature, cell-wise potential, phase and band centres, Raviart-Thomas current)
   and re-solves it warm: the state the level converged at the sequencing width is carried and
   the band narrows from there to the final width, as in mesh sequencing (`transfer_staged`),

until V, T_max and the metal fraction each change by less than `target` between two levels,
or `levels` or `max_cells` is reached, or a level fails to converge (the last converged level
is kept). The goal quantities of the last three levels give an error estimate
(`error_estimates`), reported only when their changes shrink geometrically.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from dataclasses import asdict, dataclass, field

from mpi4py import MPI
import numpy as np
from dolfinx import fem

from .continuation import FAIL_FAST_NEWTON_STEPS, SolveReport, solve
from .coupled import CoupledProblem
from .diagnostics import summary_quantities
from .dorfler import dorfler_mark
from .error_indicator import cell_indicators, set_local_band_width
from .fields import CURRENT, POTENTIAL, TEMPERATURE
from .refinement import refine_film_mesh
from .sequencing import sequencing_width

log = logging.getLogger("fem_peltier")

GOALS = ("voltage_V", "T_max_K", "metal_fraction")
"""The goal quantities of the stopping test and of the error estimates (summary.json keys)."""
ASYMPTOTIC_RATIO = 0.8
"""Successive changes must shrink by at least this factor for the estimate to be trusted."""


@dataclass
class AdaptLevel:
    """One row of adapt.csv: the mesh of a level and the solved goal quantities on it."""

    level: int
    cells: int
    unknowns: int
    voltage_V: float
    T_max_K: float
    T_mean_K: float
    metal_fraction: float
    metal_top_length_m: float  # x-extent of the metal on the film's top surface (0: none)
    metal_max_depth_m: float
    band_width_K: float  # median band width over the band cells (solver.transition_width unless band_cells)
    estimator: float  # relative error estimate in the energy norms (error_indicator.py)
    estimator_current: float
    estimator_heat: float
    marked_cells: int  # cells marked on this level's mesh for the next one (0 on the last)
    band_cells_marked: int  # of the marked cells, those marked by the band rule only (not by Dörfler)
    newton_steps: int
    converged: bool
    solve_time_s: float
    wall_time_s: float  # since the start of the run's first solve


@dataclass
class AdaptResult:
    problem: CoupledProblem
    report: SolveReport
    levels: list[AdaptLevel] = field(default_factory=list)
    stop_reason: str = ""
    estimates: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def transfer_nested(coarse: CoupledProblem, fine: CoupledProblem) -> None:
    """Interpolate the solved state of `coarse` into `fine`, whose mesh refines coarse's mesh:
    exact for every field (nested meshes), and the same for any partition of either."""
    names = [TEMPERATURE, POTENTIAL] + ([CURRENT] if fine.mixed else [])
    msh = fine.msh
    n_cells = msh.topology.index_map(msh.topology.dim).size_local
    cells = np.arange(n_cells, dtype=np.int32)

    def carry(src: fem.Function, space) -> np.ndarray:
        dst = fem.Function(space)
        data = fem.create_interpolation_data(space, src.function_space, cells, padding=1e-12)
        dst.interpolate_nonmatching(src, cells, data)
        dst.x.scatter_forward()
        return dst.x.array

    for name in names:
        fine.u.x.array[fine.unknowns[name].dofs] = carry(coarse.unknowns.function(name), fine.unknowns[name].space)
    fine.V = coarse.V
    fine.electrodes.impose(fine.u.x.array, fine.V)
    fine.impose_sinks(fine.u.x.array)
    fine.u.x.scatter_forward()
    fine.set_width(float(coarse.law.width.value))
    fine.law.centre.x.array[:] = carry(coarse.law.centre, fine.Q0)
    fine.update_phase()


def transfer_staged(coarse: CoupledProblem, report: SolveReport, fine: CoupledProblem) -> float:
    """Carry the state of `coarse` into `fine` (transfer_nested) and return the band width (K)
    at which `fine` starts its continuation.

    The state carried is the one `coarse` converged at the narrowest width at or above the
    sequencing width (`report.staging`), as mesh sequencing does: the nested mesh changes
    it little there and Newton closes that level in a few steps. Carrying the final, narrow-band
    state instead and restarting it at the wider band moves the whole phase pattern (fig2a,
    32k and 159k cells: that start failed, and the full continuation took 52-53 steps), and at
    the final width the front cells of the new mesh start far from their phase (fig2a, 3156 ->
    14249 cells: Newton failed after 29 steps). Without a staging state (a warm-started run)
    the final state is carried and the continuation starts at the sequencing width.
    `coarse` keeps its final state."""
    if report.staging is None:
        transfer_nested(coarse, fine)
        return sequencing_width(fine.cfg)
    final, width = coarse.save_state(), float(coarse.law.width.value)
    coarse.restore_state(report.staging)
    coarse.set_width(report.staging_width)
    coarse.update_phase()
    transfer_nested(coarse, fine)
    coarse.restore_state(final)
    coarse.set_width(width)
    coarse.update_phase()
    return report.staging_width


def _resolve_refined(
    coarse: CoupledProblem, report: SolveReport, fine: CoupledProblem, w_seq: float
) -> tuple[SolveReport, float]:
    """Solve the refined mesh `fine` from the solved `coarse` (its `report`); returns the
    report and the band width of the level (the median local width with band_cells).

    First from the state kept at the sequencing width (`transfer_staged`); if that start fails,
    from the final state restarted at the sequencing width; if that fails too, the full band
    continuation. Each start gives up after at most 12 Newton steps (not 29 plus
    pseudo-transient ones), so a failed one costs less than the continuation it may save
    (docs/physics.md, Adaptive refinement). So does each Newton solve of a level that narrows
    the band after the start: on refined meshes those converged in 2-11 steps, and one that
    had not by then failed after 32 (fig2d, 199k cells, 6 -> 3 K; then 6 -> 4.24 -> 3 K took
    2 + 5)."""
    ad = fine.cfg.mesh.adapt

    def narrow_band() -> float:
        if ad.band_cells is None:
            return float(fine.cfg.solver.transition_width)
        width = set_local_band_width(fine, ad.band_cells)  # the sharp limit: the band narrows with the cells
        fine.update_phase()
        return width

    staged = report.staging is not None
    start_width = transfer_staged(coarse, report, fine)
    band_width = narrow_band()
    steps = FAIL_FAST_NEWTON_STEPS  # per solve of a narrowing level too: see the docstring
    rep = solve(
        fine, start_width=start_width, fail_fast=True, keep_width=w_seq, fallback=not staged, narrowing_steps=steps
    )
    if rep.converged or not staged:
        return rep, band_width
    transfer_nested(coarse, fine)  # the final state, restarted at the sequencing width
    band_width = narrow_band()
    again = solve(fine, start_width=w_seq, fail_fast=True, keep_width=w_seq, narrowing_steps=steps)
    again.newton_steps += rep.newton_steps
    again.levels[:0] = rep.levels
    return again, band_width


def _level_row(
    problem: CoupledProblem,
    level: int,
    report: SolveReport,
    solve_s: float,
    t0: float,
    estimate: tuple[float, float, float],
    band_width: float,
) -> AdaptLevel:
    q = summary_quantities(problem)
    total, cur, heat = estimate
    x_range = q.get("metal_top_x_range_m")
    return AdaptLevel(
        level,
        problem.n_cells,
        problem.n_dofs,
        float(q["voltage_V"]),
        float(q["T_max_K"]),
        float(q["T_mean_K"]),
        float(q["metal_fraction"]),
        float(x_range[1] - x_range[0]) if x_range else 0.0,
        float(q.get("metal_max_depth_m") or 0.0),
        band_width,
        total,
        cur,
        heat,
        0,
        0,
        report.newton_steps,
        report.converged,
        solve_s,
        time.perf_counter() - t0,
    )


def relative_change(new: float, old: float, scale_floor: float = 1e-12) -> float:
    """|new - old| / |new| (0 when both vanish)."""
    scale = max(abs(new), abs(old))
    return 0.0 if scale <= scale_floor else abs(new - old) / scale


def error_estimates(levels: list[AdaptLevel]) -> tuple[dict[str, float | None], dict[str, str]]:
    """Relative discretization error of each goal quantity on the last level.

    With q1, q2, q3 the values on the last three levels, d1 = q2 - q1, d2 = q3 - q2 and
    r = d2 / d1: if the changes shrink geometrically (0 <= r < ASYMPTOTIC_RATIO), the remaining
    changes sum to d2 r / (1 - r), and that over |q3| is the estimate. Otherwise (changes that
    grow, change sign or barely shrink: not in the asymptotic range) or with fewer than three
    levels the estimate is None and the note says why.
    """
    est: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    good = [lv for lv in levels if lv.converged]
    for key in GOALS:
        vals = [getattr(lv, key) for lv in good]
        if len(vals) < 3:
            est[key] = None
            notes[key] = f"{len(vals)} solved level(s): an estimate needs three"
            continue
        q1, q2, q3 = vals[-3:]
        d1, d2 = q2 - q1, q3 - q2
        scale = max(abs(q3), 1e-300)
        if abs(d2) <= 1e-12 * scale:
            est[key], notes[key] = 0.0, "converged: no change between the last two levels"
            continue
        r = d2 / d1 if d1 != 0 else math.inf
        if 0.0 <= r < ASYMPTOTIC_RATIO:
            est[key] = abs(d2) * r / (1.0 - r) / scale
            notes[key] = f"asymptotic: successive changes shrink by {r:.3g} per level"
        else:
            est[key] = None
            notes[key] = (
                f"not in the asymptotic range: the last changes are {d1:.3g} and {d2:.3g} "
                f"(ratio {r:.3g}; an estimate needs 0 <= ratio < {ASYMPTOTIC_RATIO})"
            )
    return est, notes


def mark(
    problem: CoupledProblem, fraction: float, band: bool, sharp: bool = False
) -> tuple[np.ndarray, int, tuple[float, float, float]]:
    """Owned-cell mask of the cells to refine, the number of band cells among them, and the
    global (total, current, heat) estimates. `band`: add the unresolved band cells; `sharp`
    (mesh.adapt.band_cells): add every band cell."""
    ind = cell_indicators(problem)
    marked = dorfler_mark(np.sqrt(ind.eta_sq), fraction, problem.comm)
    extra = ind.in_band if sharp else ind.band_unresolved if band else np.zeros_like(marked)
    band_only = extra & ~marked
    n_band = problem.comm.allreduce(int(band_only.sum()), op=MPI.SUM)
    return marked | band_only, n_band, ind.global_estimate(problem.comm)


def adapt(problem: CoupledProblem, report: SolveReport, t_start: float) -> AdaptResult:
    """Refine and re-solve `problem` (already solved: `report`) by [mesh.adapt] (module docstring).
    Returns the problem of the last converged level (the others are destroyed)."""
    ad = problem.cfg.mesh.adapt
    comm = problem.comm
    solve_s = time.perf_counter() - t_start
    levels: list[AdaptLevel] = []
    current, cur_report = problem, report
    stop = f"levels = {ad.levels} reached"
    sharp = ad.band_cells is not None
    w_final = float(problem.cfg.solver.transition_width)
    w_seq = sequencing_width(problem.cfg)
    marks, n_band, estimate = mark(current, ad.fraction, ad.band, sharp)
    levels.append(_level_row(current, 0, report, solve_s, t_start, estimate, w_final))
    for level in range(1, ad.levels + 1):
        n_marked = comm.allreduce(int(marks.sum()), op=MPI.SUM)
        levels[-1].marked_cells, levels[-1].band_cells_marked = n_marked, n_band
        if n_marked == 0:
            stop = "no cell marked (the estimate vanishes)"
            break
        t_level = time.perf_counter()
        fm = refine_film_mesh(current.fm, marks)
        n_cells = fm.mesh.topology.index_map(3).size_global
        if n_cells > ad.max_cells:
            stop = f"the next mesh would have {n_cells} cells > max_cells = {ad.max_cells}"
            levels[-1].marked_cells = levels[-1].band_cells_marked = 0
            break
        fine = CoupledProblem(current.cfg, fm)
        rep, band_width = _resolve_refined(current, cur_report, fine, w_seq)
        if not rep.converged:
            log.warning(
                "adaptive level %d (%d cells) did not converge (%s): keeping level %d",
                level,
                n_cells,
                rep.reason,
                level - 1,
            )
            levels.append(
                _level_row(fine, level, rep, time.perf_counter() - t_level, t_start, (math.nan,) * 3, band_width)
            )
            fine.destroy()
            stop = f"level {level} did not converge ({rep.reason})"
            break
        current.destroy()
        current, cur_report = fine, rep
        gc.collect()  # the coarser problem: a problem and its Newton solver refer to each other
        marks, n_band, estimate = mark(current, ad.fraction, ad.band, sharp)
        levels.append(_level_row(current, level, rep, time.perf_counter() - t_level, t_start, estimate, band_width))
        prev, new = levels[-2], levels[-1]
        changes = {k: relative_change(getattr(new, k), getattr(prev, k)) for k in GOALS}
        log.info(
            "adaptive level %d: %d cells, V %.6g V, T_max %.6g K, metal fraction %.4g, band %.3g K, estimate %.3g; "
            "changes %s (%d Newton steps, %.1f s)",
            level,
            new.cells,
            new.voltage_V,
            new.T_max_K,
            new.metal_fraction,
            new.band_width_K,
            new.estimator,
            ", ".join(f"{k} {v:.2e}" for k, v in changes.items()),
            new.newton_steps,
            new.solve_time_s,
        )
        if max(changes.values()) < ad.target:
            stop = f"V, T_max and metal fraction changed by less than target = {ad.target:g}"
            break
    est, notes = error_estimates(levels)
    for key, note in notes.items():
        if est[key] is None:  # a warning when levels ran but do not give an estimate
            (log.warning if note.startswith("not in") else log.info)("error estimate of %s: %s", key, note)
    log.info("adaptive refinement stopped: %s", stop)
    cur_report.staging = None  # a state vector the result does not need
    return AdaptResult(current, cur_report, levels, stop, est, notes)


def level_rows(levels: list[AdaptLevel]) -> list[dict]:
    """The levels as dicts (the rows of adapt.csv, in column order)."""
    return [asdict(lv) for lv in levels]


def adapt_summary(result: AdaptResult | None) -> dict:
    """summary.json entries of adaptive refinement: the levels, why it stopped and the
    `<goal>_error_estimate_rel` of each goal quantity (None, with a note saying why, when
    there is no trustworthy estimate; always present, None without adaptive refinement)."""
    if result is None:
        notes = dict.fromkeys(GOALS, "no adaptive refinement (mesh.adapt.levels = 0)")
        return {
            "adapt_levels": 0,
            "adapt_stop_reason": "",
            **{f"{k}_error_estimate_rel": None for k in GOALS},
            "error_estimate_notes": notes,
        }
    done = [lv for lv in result.levels if lv.converged]
    return {
        "adapt_levels": len(done) - 1,
        "adapt_stop_reason": result.stop_reason,
        "adapt_cells": [lv.cells for lv in done],
        "adapt_values": {k: [getattr(lv, k) for lv in done] for k in (*GOALS, "T_mean_K")},
        "adapt_estimator": done[-1].estimator,
        **{f"{k}_error_estimate_rel": result.estimates.get(k) for k in GOALS},
        "error_estimate_notes": result.notes,
    }
