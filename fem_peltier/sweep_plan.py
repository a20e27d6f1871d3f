"""A sweep's plan: the swept parameter, the list of points, the directory layout and its table.

Everything here is validated before anything is written (`plan_sweep` raises InputError);
sweep.csv is read and written here. No DOLFINx.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .config import Config, _to_input_error
from .errors import InputError
from .files import atomic_write_text

SWEEP_CONFIG = "sweep_config.toml"
SWEEP_CSV = "sweep.csv"
SWITCHING_JSON = "switching.json"
FIELDS_XDMF = "sweep_fields.xdmf"
FIELDS_PVD = "sweep_fields.pvd"  # lists FIELDS_VTU_DIR/step_NNNNN.vtu (vtk_output.py)
FIELDS_VTU_DIR = "sweep_fields"
STATE_FILE = "state.npz"
PLOT_VI = "vi_curve.png"
PLOT_METAL = "metal_fraction.png"
PLOT_BOUNDARIES = "phase_boundaries.png"


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


def _number(text: str, option: str) -> Decimal:
    """The value as written (a decimal, so that ranges are computed without float noise)."""
    try:
        v = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(option, f"not a number: '{text}'") from None
    if not v.is_finite() or not math.isfinite(float(v)):
        raise InputError(option, f"expected finite values, got '{text}'")
    return v


def _tidy(v: Decimal) -> float:
    """The float of a decimal value (the nearest float to the number as written; -0 as 0)."""
    return float(v) + 0.0  # + 0.0 turns -0.0 into 0.0


def parse_values(text: str, option: str = CURRENT.option) -> list[float]:
    """Parse ``"0.001,0.002"``, ``"0:0.02:5"`` (start:stop:n, n points, both ends) and mixtures.

    Values are kept as written (the nearest float to the decimal number given); the points
    inside a range are computed in decimal arithmetic, so 0.001:0.002:5 gives 0.00125 exactly
    as it would be written, with no float noise in sweep.csv.

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
            # in decimal arithmetic (28 digits): 0.001:0.002:5 gives 0.00125, not 0.0012500000000000002,
            # and 0:0.02:5 and 0.02:0:5 give the same values
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
# The table sweep.csv (rank 0 writes it)


def csv_cell(value: Any) -> str:
    """One value as a sweep.csv cell (booleans lower-case, floats by repr, lists as JSON, None empty)."""
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
    replace: bool = False  # --overwrite: remove the existing sweep in `out` before the first point

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


def plan_sweep(
    cfg: Config,
    name: str,
    param: Parameter,
    text: str,
    out: str | Path,
    *,
    resume: bool = False,
    from_scratch: bool = False,
    pictures: bool = True,
    overwrite: bool = False,
) -> Plan:
    """Validate the points and the output directory (InputError on any problem; writes nothing).

    An existing `out` is continued with `resume`, replaced with `overwrite` (only when it is a
    sweep directory or empty: --overwrite never deletes anything else) and refused otherwise.
    """
    if resume and overwrite:
        raise InputError(
            "--overwrite",
            "give either --resume (continue the sweep in --out) or --overwrite (start it again), not both",
        )
    values = parse_values(text, param.option)
    points = [point_config(cfg, param, v) for v in values]
    out = Path(out)
    plan = Plan(
        cfg,
        name,
        param,
        values,
        points,
        out,
        not from_scratch,
        sweep_identity(points[0], param, not from_scratch),
        pictures=pictures,
    )
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(str(out), "exists and is not a directory")
        if overwrite:
            if any(out.iterdir()) and not (out / SWEEP_CONFIG).is_file():
                raise InputError(
                    str(out),
                    f"not a fem-peltier sweep directory (no {SWEEP_CONFIG}); --overwrite replaces only a sweep",
                )
            if not os.access(out.absolute().parent, os.W_OK | os.X_OK):
                raise InputError(str(out), f"cannot replace the sweep: {out.absolute().parent} is not writable")
            plan.replace = True
            return plan
        if not resume:
            raise InputError(
                str(out),
                "output directory already exists; pass --resume to continue that sweep, --overwrite to start it "
                "again, or choose a new --out",
            )
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
            raise InputError(
                str(stored), f"the sweep in {out} used a different configuration ({diff} differs); use a new --out"
            )
        rows = read_table(out / SWEEP_CSV)
        if len(rows) > len(values):
            raise InputError(param.option, f"{out} already has {len(rows)} points, more than the {len(values)} given")
        for i, row in enumerate(rows):
            try:
                old_value, index = float(row.get(param.column) or ""), int(row.get("point") or "")
            except ValueError:
                raise InputError(str(out / SWEEP_CSV), f"unreadable row {i + 1}") from None
            if index != i or old_value != values[i]:
                raise InputError(
                    param.option,
                    f"point {i} of the sweep in {out} was {param.symbol} = {old_value:g} "
                    f"{param.unit}, not {values[i]:g} {param.unit}; use a new --out",
                )
        plan.rows = rows
    return plan
