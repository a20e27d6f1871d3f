"""Current and voltage sweeps (``fem-peltier sweep``): ramps, hysteresis, resume, report.

A sweep runs one steady state per point of a list of drive values, in the order
given, on one mesh. Each point starts from the previous converged point (phase,
temperature and hysteresis memory), so an up-then-down ramp follows both
branches of a hysteresis loop; ``from_scratch`` gives independent points.

Layout of a sweep directory DIR::

    sweep_config.toml        resolved configuration without the swept drive value (+ [sweep])
    sweep.csv                one row per completed point (rewritten atomically)
    point_000_I=0.001A/      the run directory of each point (fem-peltier run layout)
        state.npz            checkpoint: T, phi, band centres, phase, top-surface phase grid
    sweep_fields.xdmf/.h5    T and phase of every point as a time series (written at the end)
    sweep_fields.pvd         the same series for pyvista.read / ParaView: a collection of
    sweep_fields/            step_NNNNN.vtu, one whole-mesh grid per point (+ cell_tags)
    vi_curve.png, metal_fraction.png, phase_boundaries.png
    switching.json           switching values per branch, loop width, first-metal side

A point is complete when its row is in sweep.csv; the row is written only after
the point's run directory and checkpoint, so a killed sweep loses at most the
point in progress and ``resume`` continues after the last row. Everything that
touches DOLFINx is collective (all ranks); files are written by rank 0.

This module runs a plan (`execute`) and re-exports the pieces it is made of:
sweep_plan (points, layout, sweep.csv, `plan_sweep`), sweep_backend (the DOLFINx side),
checkpoint (state.npz), progress (the progress line), sweep_report (switching analysis)
and sweep_plots (the PNGs).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__
from .checkpoint import load_state, save_state, top_phase_grid
from .config import Config
from .errors import SolverError
from .files import atomic_write_text
from .parallel import barrier, is_root
from .progress import Progress
from .signals import sigterm_raises
from .sweep_backend import SolverBackend, metal_x_mean
from .sweep_plan import (
    CURRENT,
    FIELDS_PVD,
    FIELDS_VTU_DIR,
    FIELDS_XDMF,
    FIXED_COLUMNS,
    PLOT_BOUNDARIES,
    PLOT_METAL,
    PLOT_VI,
    STATE_FILE,
    SWEEP_CONFIG,
    SWEEP_CSV,
    SWITCHING_JSON,
    VOLTAGE,
    Parameter,
    Plan,
    csv_cell,
    directions,
    parse_values,
    plan_sweep,
    point_config,
    read_table,
    sweep_identity,
    write_table,
)
from .sweep_plots import plot_sweep
from .sweep_report import METAL_FRACTION_EPS, format_report, metal_present, metal_side, ramps, switching_report

__all__ = [
    "CURRENT",
    "FIELDS_PVD",
    "FIELDS_VTU_DIR",
    "FIELDS_XDMF",
    "FIXED_COLUMNS",
    "LIST_COLUMNS",
    "METAL_FRACTION_EPS",
    "PLOT_BOUNDARIES",
    "PLOT_METAL",
    "PLOT_VI",
    "STATE_FILE",
    "SWEEP_CONFIG",
    "SWEEP_CSV",
    "SWITCHING_JSON",
    "VOLTAGE",
    "Parameter",
    "Plan",
    "Progress",
    "SolverBackend",
    "directions",
    "execute",
    "format_report",
    "load_state",
    "make_backend",
    "metal_present",
    "metal_side",
    "metal_x_mean",
    "parse_values",
    "plan_sweep",
    "plot_sweep",
    "point_config",
    "ramps",
    "read_table",
    "save_state",
    "sweep_identity",
    "switching_report",
    "top_phase_grid",
    "write_report",
    "write_table",
]

log = logging.getLogger("fem_peltier.sweep")

#: summary keys that are lists but still go into the table (as JSON): the top-line extent of
#: all the metal, and the connected metal regions (the switching report's first-metal side)
LIST_COLUMNS = ("metal_top_x_range_m", "metal_region_list")


def make_backend(cfg: Config) -> SolverBackend:
    """The solver side of a sweep (tests replace this with a stand-in)."""
    return SolverBackend(cfg)


# ---------------------------------------------------------------------------------------
# Running a plan


def _row(plan: Plan, index: int, summary: dict[str, Any], converged: bool, warm: bool) -> dict[str, str]:
    row = {
        "point": str(index),
        "direction": plan.directions[index],
        plan.param.column: repr(plan.values[index]),
        "run_dir": plan.run_dir(index),
    }
    summary = dict(summary)
    summary["converged"] = converged
    summary["warm_start"] = warm
    for key, value in summary.items():
        if key in row or isinstance(value, dict):
            continue
        if isinstance(value, (list, tuple)) and key not in LIST_COLUMNS:
            continue
        row[key] = csv_cell(value)
    return row


def _point_line(plan: Plan, index: int, summary: dict[str, Any], converged: bool, seconds: float) -> str:
    p = plan.param
    parts = [
        f"{plan.name} point {index + 1}/{len(plan.values)} ({plan.directions[index]}) "
        f"{p.symbol} = {plan.values[index]:g} {p.unit}: {'converged' if converged else 'NOT converged'}"
    ]
    for key, lab, fmt in (
        ("iterations", "Newton", "{}"),
        ("voltage_V", "V", "{:.4g} V"),
        ("current_A", "I", "{:.4g} A"),
        ("metal_fraction", "metal", "{:.4g}"),
        ("T_max_K", "T_max", "{:.1f} K"),
    ):
        if summary.get(key) is not None:
            parts.append(f"{lab} " + fmt.format(summary[key]))
    parts.append(f"{seconds:.1f} s")
    return ", ".join(parts)


def execute(plan: Plan, *, quiet: bool = False, say: Callable[[str], None] = print) -> int:
    """Run the points of `plan` not yet in sweep.csv, then the field series, plots and report.

    Returns the exit code: 0 when every point converged, 3 otherwise.
    """
    import tomli_w

    out = plan.out
    rows = list(plan.rows)
    if is_root():
        if plan.replace and out.exists():  # --overwrite: the old sweep goes before the first point
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        stored = out / SWEEP_CONFIG
        if not stored.is_file():
            atomic_write_text(
                stored,
                f"# fem-peltier {__version__} sweep ({plan.name}); drive.{plan.param.name} "
                "is set per point (see sweep.csv)\n" + tomli_w.dumps(plan.identity),
            )
        for stale in list(out.glob(".point_*.partial-*")) + list(out.glob(".sweep_fields.partial-*")):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in out.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    barrier()
    try:
        return _execute(plan, rows, quiet, say)
    except KeyboardInterrupt as exc:  # Ctrl-C / SIGTERM: the CLI prints this under its error line
        exc.add_note(f"{len(rows)} of {len(plan.values)} points kept in {out} ({SWEEP_CSV})")
        raise


def _execute(plan: Plan, rows: list[dict[str, str]], quiet: bool, say: Callable[[str], None]) -> int:
    """The points after the completed `rows` (appended to it as they finish), then the report."""
    out = plan.out
    backend = make_backend(plan.points[0])
    if plan.warm and rows:
        last = max((i for i, r in enumerate(rows) if r.get("converged") == "true"), default=None)
        if last is not None:
            backend.restore(plan.points[last], out / rows[last]["run_dir"] / STATE_FILE)
            log.info("resuming after point %d; warm start from point %d", len(rows) - 1, last)
    enabled = not quiet and sys.stdout.isatty()
    with sigterm_raises(), Progress(len(plan.values), len(rows), enabled) as progress:
        for index in range(len(rows), len(plan.values)):
            pdir = out / plan.run_dir(index)
            progress.start(index, f"{plan.param.symbol} = {plan.values[index]:g} {plan.param.unit}")
            t0 = time.perf_counter()
            try:
                converged, summary, warm = backend.solve(plan.points[index], pdir, plan.warm, plan.pictures)
            except SolverError as exc:
                converged, summary, warm = False, {"reason": f"solver failed: {exc}"}, False
                log.error("point %d: solver failed: %s", index, exc)
            seconds = time.perf_counter() - t0
            summary.setdefault("wall_time_s", seconds)
            rows.append(_row(plan, index, summary, converged, warm))
            if is_root():
                write_table(out / SWEEP_CSV, rows, plan.param)
            progress.finish(seconds, _point_line(plan, index, summary, converged, seconds))
    times = _series_times(plan.values[: len(rows)])
    backend.write_series(out, [(t, out / r["run_dir"] / STATE_FILE) for t, r in zip(times, rows)], plan.points[0])
    report = None
    if is_root():
        report = write_report(out)
        if not quiet:
            say(format_report(report))
        n_bad = sum(r.get("converged") != "true" for r in rows)
        say(f"sweep table: {out / SWEEP_CSV}" + (f" ({n_bad} point(s) not converged)" if n_bad else ""))
    barrier()
    n_bad = sum(r.get("converged") != "true" for r in rows)
    return 3 if n_bad else 0


def _series_times(values: list[float]) -> list[float]:
    """Times of the field series: the swept value when all values differ, else the point index."""
    return list(values) if len(set(values)) == len(values) else [float(i) for i in range(len(values))]


def write_report(out: Path) -> dict[str, Any]:
    """switching.json and the three plots of a sweep directory (rank 0; reads sweep.csv)."""
    out = Path(out)
    identity = tomllib.loads((out / SWEEP_CONFIG).read_text())
    param = VOLTAGE if identity.get("sweep", {}).get("parameter") == "voltage" else CURRENT
    geometry = identity.get("geometry", {})
    length = float(geometry.get("length", 1e-3))
    rows = read_table(out / SWEEP_CSV)
    report = switching_report(rows, param.column, length)
    atomic_write_text(out / SWITCHING_JSON, json.dumps(report, indent=2) + "\n")
    if rows:
        plot_sweep(out, rows, param, report, geometry)
    return report
