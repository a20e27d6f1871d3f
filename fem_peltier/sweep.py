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
    vi_curve.png, metal_fraction.png, phase_boundaries.png
    switching.json           switching values per branch, loop width, first-metal side

A point is complete when its row is in sweep.csv; the row is written only after
the point's run directory and checkpoint, so a killed sweep loses at most the
point in progress and ``resume`` continues after the last row. Everything that
touches DOLFINx is collective (all ranks); files are written by rank 0.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .config import Config, _to_input_error
from .errors import InputError, SolverError
from .files import atomic_write_text, replacing
from .parallel import barrier, is_root
from .plotting import pyplot, save_atomic
from .sampling import sample_top_grid
from .signals import sigterm_raises

log = logging.getLogger("fem_peltier.sweep")

SWEEP_CONFIG = "sweep_config.toml"
SWEEP_CSV = "sweep.csv"
SWITCHING_JSON = "switching.json"
FIELDS_XDMF = "sweep_fields.xdmf"
STATE_FILE = "state.npz"
PLOT_VI = "vi_curve.png"
PLOT_METAL = "metal_fraction.png"
PLOT_BOUNDARIES = "phase_boundaries.png"
#: "metal is present" when some film is metallic (m >= 0.5) below this fraction counts as none
METAL_FRACTION_EPS = 1e-4
#: summary keys that are lists but still go into the table (as JSON)
LIST_COLUMNS = ("metal_top_x_range_m",)


@dataclass(frozen=True)
class Parameter:
    """The swept drive value: its config key, CLI option and table column."""

    name: str  # drive key: "current" or "voltage"
    option: str  # CLI option
    column: str  # sweep.csv column of the set value
    unit: str
    symbol: str


CURRENT = Parameter("current", "--currents", "current_set_A", "A", "I")
VOLTAGE = Parameter("voltage", "--voltages", "voltage_set_V", "V", "V")
FIXED_COLUMNS = ["point", "direction"]


# ---------------------------------------------------------------------------------------
# Parsing the list of points


def _number(text: str, option: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(option, f"not a number: '{text}'") from None
    if not math.isfinite(v):
        raise InputError(option, f"expected finite values, got '{text}'")
    return v


def _tidy(v: float) -> float:
    """Round to 12 significant digits so that 0:0.02:5 and 0.02:0:5 give identical values."""
    return float(f"{v:.12g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def parse_values(text: str, option: str = CURRENT.option) -> list[float]:
    """Parse ``"0.001,0.002"``, ``"0:0.02:5"`` (start:stop:n, n points, both ends) and mixtures.

    Items are comma-separated and kept in order. Where an item starts with the value the
    previous one ended with and one of them is a range (``0:0.02:5,0.02:0:5``) the shared
    value is taken once; a value written twice in a row in a plain list is an error.
    """
    items = [s.strip() for s in text.split(",")]
    if not any(items):
        raise InputError(option, "expected a comma-separated list of values or ranges start:stop:n, e.g. 0:0.02:5")
    values: list[float] = []
    last_was_range = False
    for s in items:
        if not s:
            raise InputError(option, f"empty item in '{text}'")
        if ":" in s:
            parts = s.split(":")
            if len(parts) != 3:
                raise InputError(option, f"expected a range start:stop:n, got '{s}'")
            start, stop = _number(parts[0], option), _number(parts[1], option)
            try:
                n = int(parts[2])
            except ValueError:
                raise InputError(option, f"the number of points in '{s}' must be an integer") from None
            if n < 2:
                raise InputError(option, f"a range needs n >= 2 points, got '{s}'")
            if start == stop:
                raise InputError(option, f"a range needs start != stop, got '{s}'")
            seg = [_tidy(start + (stop - start) * k / (n - 1)) for k in range(n)]
            seg[0], seg[-1] = _tidy(start), _tidy(stop)
            is_range = True
        else:
            seg, is_range = [_tidy(_number(s, option))], False
        if values and seg[0] == values[-1]:
            if not (is_range or last_was_range):
                raise InputError(option, f"{s} is listed twice in a row")
            seg = seg[1:]
        values += seg
        last_was_range = is_range
    return values


def directions(values: list[float]) -> list[str]:
    """'up' where |value| grows from the previous point, 'down' where it shrinks.

    A point whose magnitude equals the previous one keeps the previous direction; the
    first point takes the direction of the first step.
    """
    mags = [abs(v) for v in values]
    steps = [("up" if b > a else "down" if b < a else None) for a, b in zip(mags, mags[1:])]
    current = next((s for s in steps if s), "up")
    out = [current]
    for s in steps:
        current = s or current
        out.append(current)
    return out


# ---------------------------------------------------------------------------------------
# Small file helpers (rank 0 calls them)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return json.dumps(value)
    return str(value)


def write_table(path: Path, rows: list[dict[str, str]], param: Parameter) -> None:
    """sweep.csv: fixed columns first, then every key in order of appearance."""
    columns = FIXED_COLUMNS + [param.column, "run_dir"]
    for row in rows:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of sweep.csv ([] if there is none)."""
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _first_difference(a: Any, b: Any, prefix: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            d = _first_difference(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else k)
            if d:
                return d
        return None
    return None if a == b else (prefix or "config")


# ---------------------------------------------------------------------------------------
# The plan: everything validated before anything is written


@dataclass
class Plan:
    """A validated sweep: configuration per point, output directory, completed rows."""

    cfg: Config
    name: str
    param: Parameter
    values: list[float]
    points: list[Config]
    out: Path
    warm: bool
    identity: dict[str, Any]
    rows: list[dict[str, str]] = field(default_factory=list)
    pictures: bool = True  # the PNGs of each point's run directory

    @property
    def directions(self) -> list[str]:
        return directions(self.values)

    def run_dir(self, index: int) -> str:
        return f"point_{index:03d}_{self.param.symbol}={self.values[index]:.6g}{self.param.unit}"


def point_config(cfg: Config, param: Parameter, value: float) -> Config:
    """`cfg` with the drive set to `value` (current or voltage; the other one cleared)."""
    data = cfg.model_dump()
    other = "voltage" if param.name == "current" else "current"
    data["drive"].update({param.name: value, other: None})
    try:
        return Config.model_validate(data).resolved()
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise _to_input_error(exc) from None
        raise


def sweep_identity(cfg: Config, param: Parameter, warm: bool) -> dict[str, Any]:
    """What must agree for two runs to share a sweep directory (the swept value excluded)."""
    data = cfg.to_toml_dict()
    data["drive"] = {k: v for k, v in data.get("drive", {}).items() if k not in ("current", "voltage")}
    data["sweep"] = {"parameter": param.name, "warm_start": warm}
    return data


def plan_sweep(cfg: Config, name: str, param: Parameter, text: str, out: str | Path, *, resume: bool = False,
               from_scratch: bool = False, pictures: bool = True) -> Plan:
    """Validate the points and the output directory (InputError on any problem; writes nothing)."""
    values = parse_values(text, param.option)
    points = [point_config(cfg, param, v) for v in values]
    out = Path(out)
    plan = Plan(cfg, name, param, values, points, out, not from_scratch,
                sweep_identity(points[0], param, not from_scratch), pictures=pictures)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(str(out), "exists and is not a directory")
        if not resume:
            raise InputError(str(out), "output directory already exists; pass --resume to continue that sweep, "
                                       "or choose a new --out")
    if out.is_dir() and any(out.iterdir()):
        stored = out / SWEEP_CONFIG
        if not stored.is_file():
            raise InputError(str(stored), "not found: the directory is not a fem-peltier sweep")
        try:
            old = tomllib.loads(stored.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            raise InputError(str(stored), "not valid TOML") from None
        diff = _first_difference(plan.identity, old)
        if diff is not None:
            raise InputError(str(stored), f"the sweep in {out} used a different configuration ({diff} differs); "
                                          "use a new --out")
        rows = read_table(out / SWEEP_CSV)
        if len(rows) > len(values):
            raise InputError(param.option, f"{out} already has {len(rows)} points, more than the {len(values)} given")
        for i, row in enumerate(rows):
            try:
                old_value, index = float(row.get(param.column) or ""), int(row.get("point") or "")
            except ValueError:
                raise InputError(str(out / SWEEP_CSV), f"unreadable row {i + 1}") from None
            if index != i or old_value != values[i]:
                raise InputError(param.option, f"point {i} of the sweep in {out} was {param.symbol} = {old_value:g} "
                                               f"{param.unit}, not {values[i]:g} {param.unit}; use a new --out")
        plan.rows = rows
    return plan


# ---------------------------------------------------------------------------------------
# The solver side (DOLFINx; every method is collective)


class SolverBackend:
    """Mesh built once; warm starts from the last converged point; checkpoints per point."""

    def __init__(self, cfg: Config):
        from mpi4py import MPI

        from .mesh import create_mesh

        self.comm = MPI.COMM_WORLD
        self.fm = create_mesh(cfg, self.comm)
        self.problem = None  # the problem of the last point, if its state is a good warm start
        self.good: tuple[Config, tuple] | None = None  # last converged (config, saved state)

    def _warm_problem(self):
        from .coupled import CoupledProblem

        if self.good is None:
            return None
        if self.problem is None:
            gcfg, state = self.good
            self.problem = CoupledProblem(gcfg, self.fm)
            self.problem.restore_state(state)
        return self.problem

    def solve(self, pcfg: Config, pdir: Path, warm: bool, pictures: bool = True) -> tuple[bool, dict[str, Any], bool]:
        """Run one point into `pdir`; return (converged, summary, warm-started)."""
        from .simulation import run

        problem = self._warm_problem() if warm else None
        try:
            if problem is None:
                result = run(pcfg, out=pdir, overwrite=True, film_mesh=self.fm, pictures=pictures)
            else:
                result = run(pcfg, out=pdir, overwrite=True, problem=problem, pictures=pictures)
        except BaseException:
            self.problem = None  # state unknown: rebuild from the last converged one
            raise
        p = result.problem
        summary = dict(result.summary)
        summary["metal_x_mean_m"] = metal_x_mean(p)
        save_state(p, pdir / STATE_FILE)
        if result.converged:
            self.problem, self.good = p, (pcfg, p.save_state())
        else:
            self.problem = None
        return bool(result.converged), summary, problem is not None

    def restore(self, pcfg: Config, path: Path) -> None:
        """Resume: make the checkpoint `path` (written for `pcfg`) the warm start."""
        from .coupled import CoupledProblem

        problem = CoupledProblem(pcfg, self.fm)
        load_state(problem, path)
        self.problem, self.good = problem, (pcfg, problem.save_state())

    def write_series(self, out: Path, entries: list[tuple[float, Path]], cfg: Config) -> Path | None:
        """sweep_fields.xdmf: temperature_K and phase of every checkpoint at time t (published atomically)."""
        from dolfinx import fem, io

        from .coupled import CoupledProblem

        comm = self.comm
        entries = [(t, p) for t, p in entries if p.is_file()]
        if not entries:
            return None
        problem = self.problem or CoupledProblem(cfg, self.fm)
        T = fem.Function(problem.V_T, name="temperature_K")
        phase = fem.Function(problem.Q0, name="phase")
        tmp = comm.bcast(tempfile.mkdtemp(prefix=".sweep_fields.partial-", dir=out) if comm.rank == 0 else None)
        ok = False
        try:
            with io.XDMFFile(comm, str(Path(tmp) / FIELDS_XDMF), "w") as xf:
                xf.write_mesh(problem.msh)
                for t, path in entries:
                    data = _read_npz(path)
                    T.x.array[:] = _lookup(data["T_xyz"], data["T_val"], problem.V_T.tabulate_dof_coordinates(), path,
                                           problem.cfg)
                    phase.x.array[:] = _lookup(data["cell_xyz"], data["m"], _cell_xyz(problem, phase), path,
                                               problem.cfg)
                    xf.write_function(T, float(t))
                    xf.write_function(phase, float(t))
            ok = True
        finally:
            comm.barrier()
            if comm.rank == 0:
                if ok:  # the .h5 first: a .xdmf always points at complete data
                    os.replace(Path(tmp) / FIELDS_XDMF.replace(".xdmf", ".h5"), out / FIELDS_XDMF.replace(".xdmf", ".h5"))
                    os.replace(Path(tmp) / FIELDS_XDMF, out / FIELDS_XDMF)
                shutil.rmtree(tmp, ignore_errors=True)
            comm.barrier()
        return out / FIELDS_XDMF


def metal_x_mean(problem) -> float | None:
    """Volume-weighted mean x of the metallic film (m >= 0.5), or None without metal (collective)."""
    import ufl

    from .diagnostics import integrate
    from .mesh import FILM

    x = ufl.SpatialCoordinate(problem.msh)
    ind = ufl.conditional(ufl.ge(problem.m, 0.5), 1.0, 0.0)
    vol = integrate(problem, ind * problem.dx(FILM))
    if vol <= 0:
        return None
    return float(integrate(problem, ind * x[0] * problem.dx(FILM)) / vol)


def _cell_xyz(problem, f) -> np.ndarray:
    """Centroid of the cell of each dof of a DG0 Function `f` (local incl. ghosts)."""
    xc = problem.xc.x.array.reshape(-1, 3)
    n = f.x.array.size
    out = np.empty((n, 3))
    cells = np.arange(problem.xc.function_space.dofmap.list.shape[0])
    out[f.function_space.dofmap.list[cells, 0]] = xc[problem.xc.function_space.dofmap.list[cells, 0]]
    return out


def _keys(xyz: np.ndarray, length: float) -> np.ndarray:
    return np.round(np.asarray(xyz)[:, :3] / (1e-9 * length)).astype(np.int64)


def _lookup(xyz: np.ndarray, values: np.ndarray, targets: np.ndarray, path: Path, cfg: Config) -> np.ndarray:
    """values at the `targets` coordinates, matched exactly (to 1e-9 L) against `xyz`."""
    L = cfg.geometry.length
    table = {tuple(k): i for i, k in enumerate(_keys(xyz, L))}
    idx = np.array([table.get(tuple(k), -1) for k in _keys(targets, L)], dtype=np.int64)
    if (idx < 0).any():
        raise InputError(str(path), "checkpoint does not match the mesh of this sweep")
    return np.asarray(values)[idx]


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"unreadable checkpoint ({exc})") from None


def top_phase_grid(problem, nx: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m on a grid over the top surface z = h (collective): x (nx), y (ny), m (ny, nx)."""
    g = problem.cfg.geometry
    ny = max(21, int(round(nx * g.width / g.length)))
    xs, ys = np.linspace(0.0, g.length, nx), np.linspace(0.0, g.width, ny)
    return xs, ys, sample_top_grid(problem, problem.m, xs, ys)


def save_state(problem, path: Path) -> None:
    """Checkpoint of a solved point (collective; rank 0 writes): owned dofs with coordinates."""
    comm = problem.comm
    u = problem.u.x.array
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("T_xyz", "T_val", "phi_xyz", "phi_val", "cell_xyz",
                                                          "centre", "m")}
    for key, V, dmap in (("T", problem.V_T, problem.map_T), ("phi", problem.V_phi, problem.map_phi)):
        n = V.dofmap.index_map.size_local
        parts[f"{key}_xyz"].append(V.tabulate_dof_coordinates()[:n])
        parts[f"{key}_val"].append(u[dmap[:n]])
    n_c = problem.Q0.dofmap.index_map.size_local
    parts["cell_xyz"].append(_cell_xyz(problem, problem.m)[:n_c])
    parts["m"].append(problem.m.x.array[:n_c])
    centre_xyz = _cell_xyz(problem, problem.law.centre)
    n_cc = problem.law.centre.function_space.dofmap.index_map.size_local
    order = _lookup(centre_xyz[:n_cc], problem.law.centre.x.array[:n_cc], parts["cell_xyz"][0], path, problem.cfg)
    parts["centre"].append(order)
    gathered = {k: comm.gather(np.concatenate(v), root=0) for k, v in parts.items()}
    xs, ys, mt = top_phase_grid(problem)
    V, I = float(problem.V), float(problem.current())
    if comm.rank == 0:
        data = {k: np.concatenate(v) for k, v in gathered.items()}
        with replacing(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **data, V=V, current=I, top_x=xs, top_y=ys, top_m=mt)
    comm.barrier()


def load_state(problem, path: Path) -> None:
    """Put a checkpoint into `problem` (collective; every rank reads the file)."""
    from .state import State

    data = _read_npz(path)
    cfg = problem.cfg
    u = problem.u.x.array
    u[problem.map_T] = _lookup(data["T_xyz"], data["T_val"], problem.V_T.tabulate_dof_coordinates(), path, cfg)
    u[problem.map_phi] = _lookup(data["phi_xyz"], data["phi_val"], problem.V_phi.tabulate_dof_coordinates(), path, cfg)
    centre = _lookup(data["cell_xyz"], data["centre"], _cell_xyz(problem, problem.law.centre), path, cfg)
    m = _lookup(data["cell_xyz"], data["m"], _cell_xyz(problem, problem.m), path, cfg)
    problem.restore_state(State(u.copy(), float(data["V"]), centre, m))


def make_backend(cfg: Config) -> SolverBackend:
    """The solver side of a sweep (tests replace this with a stand-in)."""
    return SolverBackend(cfg)


# ---------------------------------------------------------------------------------------
# Progress display


class Progress:
    """A rich progress line on rank 0 (points done, current point, time per point, ETA).

    Disabled under `quiet`, when stdout is not a terminal and on ranks > 0; then each
    finished point is logged as one line instead. While it is shown, the package's
    log records update its status text (warnings are printed above it).
    """

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled = total, done, enabled and is_root()
        self.times: list[float] = []
        self._progress = None
        self._task = None
        self._saved: list[logging.Handler] = []

    def __enter__(self) -> "Progress":
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn

        console = Console(file=sys.stdout)
        self._progress = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[timing]}"), TextColumn("{task.fields[status]}"),
                                      console=console, transient=False)
        self._progress.start()
        self._task = self._progress.add_task("sweep", total=self.total, completed=self.done, timing="", status="")
        pkg = logging.getLogger("fem_peltier")
        self._saved = [h for h in pkg.handlers if getattr(h, "_fem_peltier", False)]
        for h in self._saved:
            pkg.removeHandler(h)
        self._handler = _StatusHandler(self)
        pkg.addHandler(self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is None:
            return
        pkg = logging.getLogger("fem_peltier")
        pkg.removeHandler(self._handler)
        for h in self._saved:
            pkg.addHandler(h)
        self._progress.stop()
        self._progress = None

    def _timing(self) -> str:
        if not self.times:
            return ""
        mean = sum(self.times) / len(self.times)
        left = mean * (self.total - self.done)
        return f"{mean:.1f} s/point, ETA {left:.0f} s"

    def start(self, index: int, label: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"point {index + 1}/{self.total}: {label}", status="")

    def status(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, status=text[:60])

    def finish(self, seconds: float, line: str) -> None:
        self.done += 1
        self.times.append(seconds)
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
            self._progress.update(self._task, completed=self.done, timing=self._timing())
        else:
            log.info("%s", line)


class _StatusHandler(logging.Handler):
    def __init__(self, progress: Progress):
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().strip()
        if record.levelno >= logging.WARNING and self.progress._progress is not None:
            self.progress._progress.console.print(msg, markup=False, highlight=False)
        else:
            self.progress.status(msg)


# ---------------------------------------------------------------------------------------
# Running a plan


def _row(plan: Plan, index: int, summary: dict[str, Any], converged: bool, warm: bool) -> dict[str, str]:
    row = {"point": str(index), "direction": plan.directions[index], plan.param.column: repr(plan.values[index]),
           "run_dir": plan.run_dir(index)}
    summary = dict(summary)
    summary["converged"] = converged
    summary["warm_start"] = warm
    for key, value in summary.items():
        if key in row or isinstance(value, dict):
            continue
        if isinstance(value, (list, tuple)) and key not in LIST_COLUMNS:
            continue
        row[key] = _csv_cell(value)
    return row


def _point_line(plan: Plan, index: int, summary: dict[str, Any], converged: bool, seconds: float) -> str:
    p = plan.param
    parts = [f"{plan.name} point {index + 1}/{len(plan.values)} ({plan.directions[index]}) "
             f"{p.symbol} = {plan.values[index]:g} {p.unit}: {'converged' if converged else 'NOT converged'}"]
    for key, lab, fmt in (("iterations", "Newton", "{}"), ("voltage_V", "V", "{:.4g} V"),
                          ("current_A", "I", "{:.4g} A"), ("metal_fraction", "metal", "{:.4g}"),
                          ("T_max_K", "T_max", "{:.1f} K")):
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
        out.mkdir(parents=True, exist_ok=True)
        stored = out / SWEEP_CONFIG
        if not stored.is_file():
            atomic_write_text(stored, f"# fem-peltier {__version__} sweep ({plan.name}); drive.{plan.param.name} "
                                  "is set per point (see sweep.csv)\n" + tomli_w.dumps(plan.identity))
        for stale in list(out.glob(".point_*.partial-*")) + list(out.glob(".sweep_fields.partial-*")):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in out.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    barrier()
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


# ---------------------------------------------------------------------------------------
# Switching report and plots (rank 0 only; read sweep.csv and the checkpoints, no DOLFINx)


def _float(row: dict[str, str], key: str) -> float | None:
    try:
        v = float(row.get(key) or "")
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def metal_present(row: dict[str, str]) -> bool:
    """Some film is metallic (m >= 0.5) at this point."""
    depth = _float(row, "metal_max_depth_m")
    if depth is not None:
        return depth > 0
    if row.get("metal_top_x_range_m"):
        return True
    mf = _float(row, "metal_fraction")
    return mf is not None and mf > METAL_FRACTION_EPS


def metal_side(row: dict[str, str], length: float) -> dict[str, Any]:
    """Which electrode the metal sits at: the top-line extent vs L/2, else the metal's mean x."""
    rng = json.loads(row["metal_top_x_range_m"]) if row.get("metal_top_x_range_m") else None
    xmean = _float(row, "metal_x_mean_m")
    side = "unknown"
    if rng is not None and rng[1] < length / 2:
        side = "negative"
    elif rng is not None and rng[0] > length / 2:
        side = "positive"
    elif xmean is not None and abs(xmean - length / 2) > 1e-6 * length:
        side = "negative" if xmean < length / 2 else "positive"
    elif rng is not None or xmean is not None:
        side = "both"
    return {"side": side, "top_x_range_m": rng, "metal_x_mean_m": xmean,
            "spans_midline": bool(rng is not None and rng[0] < length / 2 < rng[1])}


def _polarity(v: float) -> str | None:
    return "+" if v > 0 else "-" if v < 0 else None


def ramps(values: list[float]) -> list[dict[str, Any]]:
    """Split the points into monotone ramps of one direction and one polarity.

    Each ramp lists its point indices; `anchor` is the point before it (the turning
    point) when that has the same polarity or is zero, so that a switch right after the
    turn is seen.
    """
    dirs = directions(values)
    out: list[dict[str, Any]] = []
    for i, (v, d) in enumerate(zip(values, dirs)):
        pol = _polarity(v)
        r = out[-1] if out else None
        if r is None or r["direction"] != d or (pol and r["polarity"] and pol != r["polarity"]):
            anchor = i - 1 if i > 0 and (_polarity(values[i - 1]) in (pol, None) or pol is None) else None
            out.append({"direction": d, "polarity": pol, "points": [i], "anchor": anchor})
        else:
            r["points"].append(i)
            r["polarity"] = r["polarity"] or pol
    return out


def _step(row_a: dict, row_b: dict, a: int, b: int, column: str, kind: str) -> dict[str, Any]:
    va, vb = _float(row_a, column), _float(row_b, column)
    out = {"kind": kind, "points": [a, b], "between": [va, vb], "estimate": (va + vb) / 2,
           "uncertainty": abs(vb - va) / 2}
    ma, mb = _float(row_a, "metal_fraction"), _float(row_b, "metal_fraction")
    if ma is not None and mb is not None:
        out["metal_fraction"] = [ma, mb]
    ia, ib = _float(row_a, "current_A"), _float(row_b, "current_A")
    if ia is not None and ib is not None:
        out["current_A"] = [ia, ib]
    return out


def switching_report(rows: list[dict[str, str]], column: str, length: float) -> dict[str, Any]:
    """Switches per ramp, loop width and first-metal side per polarity, from the sweep table."""
    values = [_float(r, column) for r in rows]
    report: dict[str, Any] = {"parameter": column, "metal_fraction_eps": METAL_FRACTION_EPS, "ramps": [],
                              "polarities": {}}
    if not rows or any(v is None for v in values):
        return report
    for r in ramps(values):
        seq = ([r["anchor"]] if r["anchor"] is not None else []) + r["points"]
        seq = [i for i in seq if rows[i].get("converged") == "true"]
        entry: dict[str, Any] = {"direction": r["direction"], "polarity": r["polarity"] or "0",
                                 "points": r["points"], "from": values[r["points"][0]], "to": values[r["points"][-1]],
                                 "switch": None, "largest_jump": None}
        sign = 1.0 if r["direction"] == "up" else -1.0
        best = None
        for a, b in zip(seq, seq[1:]):
            pa, pb = metal_present(rows[a]), metal_present(rows[b])
            if entry["switch"] is None and r["direction"] == "up" and not pa and pb:
                entry["switch"] = _step(rows[a], rows[b], a, b, column, "metal appears")
            if entry["switch"] is None and r["direction"] == "down" and pa and not pb:
                entry["switch"] = _step(rows[a], rows[b], a, b, column, "metal vanishes")
            ma, mb = _float(rows[a], "metal_fraction"), _float(rows[b], "metal_fraction")
            if ma is not None and mb is not None and (best is None or sign * (mb - ma) > best[0]):
                best = (sign * (mb - ma), a, b)
        if best is not None and best[0] > 0:
            entry["largest_jump"] = _step(rows[best[1]], rows[best[2]], best[1], best[2], column,
                                          "largest metal-fraction change")
            entry["largest_jump"]["delta_metal_fraction"] = sign * best[0]
        report["ramps"].append(entry)
    for pol in ("+", "-"):
        mine = [e for e in report["ramps"] if e["polarity"] == pol]
        if not mine:
            continue
        summary: dict[str, Any] = {}
        up = next((e for e in mine if e["direction"] == "up"), None)
        down = next((e for e in mine if e["direction"] == "down" and up is not None
                     and e["points"][0] > up["points"][0]), None)
        for name, e in (("up", up), ("down", down)):
            if e is not None:
                sw = e["switch"] or e["largest_jump"]
                summary[f"switch_{name}"] = sw["estimate"] if sw else None
                summary[f"switch_{name}_between"] = sw["between"] if sw else None
                summary[f"switch_{name}_kind"] = sw["kind"] if sw else None
        if summary.get("switch_up") is not None and summary.get("switch_down") is not None:
            summary["loop_width"] = abs(abs(summary["switch_up"]) - abs(summary["switch_down"]))
            summary["loop_width_uncertainty"] = (abs(summary["switch_up_between"][1] - summary["switch_up_between"][0])
                                                 + abs(summary["switch_down_between"][1]
                                                       - summary["switch_down_between"][0])) / 2
        first = next((i for i, (v, row) in enumerate(zip(values, rows))
                      if _polarity(v) == pol and row.get("converged") == "true" and metal_present(row)), None)
        if first is not None:
            summary["first_metal"] = {"point": first, "value": values[first], **metal_side(rows[first], length)}
        report["polarities"][pol] = summary
    return report


def format_report(report: dict[str, Any]) -> str:
    """The switching report as a plain-text table."""
    col = report.get("parameter", "")
    unit = col.rsplit("_", 1)[-1] if "_" in col else ""
    lines = [f"switching report ({col}):",
             f"  {'polarity':<8} {'ramp':<5} {'from':>10} {'to':>10}  switch",
             "  " + "-" * 70]

    def g(v: float | None) -> str:
        return "-" if v is None else f"{v:.4g}"

    for e in report.get("ramps", []):
        sw = e["switch"] or e["largest_jump"]
        text = (f"{sw['kind']} between {g(sw['between'][0])} and {g(sw['between'][1])} {unit} "
                f"(~{g(sw['estimate'])})" if sw else "none")
        lines.append(f"  {e['polarity']:<8} {e['direction']:<5} {g(e['from']):>10} {g(e['to']):>10}  {text}")
    for pol, s in report.get("polarities", {}).items():
        parts = []
        if "loop_width" in s:
            parts.append(f"loop width {g(s['loop_width'])} +- {g(s['loop_width_uncertainty'])} {unit}")
        fm = s.get("first_metal")
        if fm:
            parts.append(f"metal first at point {fm['point']} ({g(fm['value'])} {unit}) on the {fm['side']} side")
        if parts:
            lines.append(f"  polarity {pol}: " + "; ".join(parts))
    return "\n".join(lines)


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


def plot_sweep(out: Path, rows: list[dict[str, str]], param: Parameter, report: dict[str, Any],
               geometry: dict[str, Any]) -> list[Path]:
    """vi_curve.png, metal_fraction.png, phase_boundaries.png (published atomically)."""
    import matplotlib
    from matplotlib.lines import Line2D

    plt = pyplot()

    colours = {"up": "tab:red", "down": "tab:blue"}
    paths = []
    for fname, ykey, ylabel in ((PLOT_VI, "voltage_V", "film voltage V (V)"),
                                (PLOT_METAL, "metal_fraction", "metal fraction")):
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for e in report["ramps"]:
            seq = ([e["points"][0] - 1] if e["points"][0] > 0 else []) + e["points"]
            seq = [i for i in seq if rows[i].get("converged") == "true"
                   and _float(rows[i], "current_A") is not None and _float(rows[i], ykey) is not None]
            xs = np.array([_float(rows[i], "current_A") for i in seq]) * 1e3
            ys = np.array([_float(rows[i], ykey) for i in seq])
            c = colours[e["direction"]]
            ax.plot(xs, ys, "-o", color=c, ms=3.5, lw=1.2, alpha=0.85)
            for k in range(len(xs) - 1):
                if (xs[k], ys[k]) != (xs[k + 1], ys[k + 1]):
                    ax.annotate("", xy=((xs[k] + xs[k + 1]) / 2, (ys[k] + ys[k + 1]) / 2), xytext=(xs[k], ys[k]),
                                arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.2, "mutation_scale": 12})
        bad = [r for r in rows if r.get("converged") != "true" and _float(r, "current_A") is not None
               and _float(r, ykey) is not None]
        if bad:
            ax.plot([_float(r, "current_A") * 1e3 for r in bad], [_float(r, ykey) for r in bad], "x", color="k")
        handles = [Line2D([], [], color=colours["up"], marker="o", label="ramp up (|drive| increasing)"),
                   Line2D([], [], color=colours["down"], marker="o", label="ramp down")]
        if bad:
            handles.append(Line2D([], [], color="k", marker="x", ls="", label="not converged"))
        ax.legend(handles=handles, fontsize=8, loc="best")
        ax.set_xlabel("current I (mA)")
        ax.set_ylabel(ylabel)
        ax.axhline(0, color="0.8", lw=0.6)
        ax.axvline(0, color="0.8", lw=0.6)
        ax.set_title(f"{'V-I curve' if ykey == 'voltage_V' else 'metal fraction'} of the sweep "
                     f"({param.name} control; arrows: ramp direction)", fontsize=9)
        fig.tight_layout()
        paths.append(save_atomic(fig, out / fname, dpi=120))
        plt.close(fig)

    # the metal outline (m = 0.5) on the top surface for every point, Fig. 2e style
    L = float(geometry.get("length", 1e-3))
    W = float(geometry.get("width", 1e-3))
    fig, ax = plt.subplots(figsize=(7, 7 * W / L + 1.2))
    mags = [abs(_float(r, param.column) or 0.0) for r in rows]
    norm = matplotlib.colors.Normalize(vmin=min(mags), vmax=max(mags) if max(mags) > min(mags) else min(mags) + 1)
    cmap = matplotlib.colormaps["viridis"]
    drawn = 0
    for r, mag in zip(rows, mags):
        path = out / r["run_dir"] / STATE_FILE
        if r.get("converged") != "true" or not path.is_file():
            continue
        try:
            with np.load(path) as z:
                xs, ys, mt = z["top_x"], z["top_y"], z["top_m"]
        except (OSError, KeyError, ValueError):
            continue
        if np.nanmax(mt) >= 0.5 > np.nanmin(mt):
            ls = "-" if r.get("direction") == "up" else "--"
            ax.contour(xs * 1e3, ys * 1e3, mt, levels=[0.5], colors=[cmap(norm(mag))], linestyles=ls, linewidths=1.3)
            drawn += 1
    if geometry.get("electrodes", "point") == "point":
        from matplotlib.patches import Rectangle

        el, ew = float(geometry.get("electrode_length", 0.1 * L)), float(geometry.get("electrode_width", 0.02 * L))
        for x0, lab in ((0.0, "-"), (L - el, "+")):
            ax.add_patch(Rectangle((x0 * 1e3, (W - ew) / 2 * 1e3), el * 1e3, ew * 1e3, fill=False, ec="k", lw=1))
            ax.text((x0 + el / 2) * 1e3, (W + ew) / 2 * 1e3, lab, ha="center", va="bottom")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=f"|{param.symbol}| ({param.unit})")
    ax.set_xlim(0, L * 1e3)
    ax.set_ylim(0, W * 1e3)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(f"top-surface metal outline (m = 0.5), {drawn} point(s) with a boundary\n"
                 "solid: ramp up, dashed: ramp down; electrodes - (x = 0) and + (x = L)", fontsize=9)
    fig.tight_layout()
    paths.append(save_atomic(fig, out / PLOT_BOUNDARIES, dpi=120))
    plt.close(fig)
    return paths

