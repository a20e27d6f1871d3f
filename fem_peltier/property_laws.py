"""Temperature-dependent material laws f(T) (docs/physics.md, "Material laws").

A material property (material.rho_insulator, rho_metal, seebeck_insulator,
seebeck_metal, kappa, kappa_metal) is a plain number (constant) or a `PropertyLaw`,
written in TOML as an inline table with a `law`:

    linear       value (1 + alpha (T - t_ref))
    exponential  value exp(-beta (T - t_ref))
    arrhenius    value exp((activation_energy_eV / k_B) (1/T - 1/t_ref))
    power        value (T / t_ref)^exponent
    table        piecewise linear through (T_i, value_i), constant beyond the ends;
                 T = [...], value = [...] inline or file = "data.csv" (a header row
                 naming the columns, e.g. "T_K,rho_Ohm_m"; first column T, second value)

A law is evaluated two ways with the same formula: on numbers (numpy, for the
checks and the closed forms) and as a UFL expression of the temperature unknown
(materials.py), so Newton's Jacobian differentiates the law exactly. In UFL the
temperature is clipped to the range the configuration was checked over
([T_lo, T_hi], `law_range`): the law is exact there, and a Newton trial state
outside it (a transient T <= 0, an overshoot) cannot produce NaN or overflow.

The module needs no DOLFINx for the numbers (config.py imports it); `ufl` is imported
only by `to_ufl`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, model_serializer

from .files import read_two_columns

#: Boltzmann constant (eV/K), CODATA 2018 exact.
K_B_EV = 8.617333262e-5

LAWS = ("linear", "exponential", "arrhenius", "power", "table")
#: the parameter of each analytic law, besides value and t_ref
_PARAM = {"linear": "alpha", "exponential": "beta", "arrhenius": "activation_energy_eV", "power": "exponent"}
_ANALYTIC_KEYS = ("law", "value", "t_ref")
#: property name -> (what it is, its unit, must it be positive)
PROPERTIES: dict[str, tuple[str, str, bool]] = {
    "rho_insulator": ("resistivity", "Ohm m", True),
    "rho_metal": ("resistivity", "Ohm m", True),
    "seebeck_insulator": ("Seebeck coefficient", "V/K", False),
    "seebeck_metal": ("Seebeck coefficient", "V/K", False),
    "kappa": ("thermal conductivity", "W/(m K)", True),
    "kappa_metal": ("thermal conductivity", "W/(m K)", True),
    "kappa_electron": ("electronic thermal conductivity", "W/(m K)", True),
    "kappa_lattice": ("lattice thermal conductivity", "W/(m K)", True),
    "heat_capacity": ("volumetric heat capacity", "J/(m^3 K)", True),
    "heat_capacity_metal": ("volumetric heat capacity", "J/(m^3 K)", True),
}
MAX_TABLE_POINTS = 200  # a UFL chain of conditionals: compile time grows with the points


class LawError(ValueError):
    """A law that cannot be used; the message is one line (config.py adds the key)."""


class PropertyLaw(BaseModel):
    """A temperature law of one material property (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    law: str
    value: float | None = None  # analytic laws: the value at t_ref
    t_ref: float | None = None
    alpha: float | None = None
    beta: float | None = None
    activation_energy_eV: float | None = None
    exponent: float | None = None
    file: str | None = None  # table from a CSV file (absolute once resolved)
    T: tuple[float, ...] | None = None  # table nodes (K), increasing
    values: tuple[float, ...] | None = None  # table values at the nodes

    @model_serializer
    def _dump(self) -> dict[str, Any]:
        """The TOML table a user writes: only the keys given (a file table is written as its file)."""
        if self.law == "table":
            if self.file is not None:
                return {"law": "table", "file": self.file}
            return {"law": "table", "T": list(self.T or ()), "value": list(self.values or ())}
        p = _PARAM[self.law]
        return {"law": self.law, "value": self.value, "t_ref": self.t_ref, p: getattr(self, p)}

    # --- numbers -------------------------------------------------------------------------
    def __call__(self, T: Any) -> Any:
        """f(T) on numbers (numpy arrays or floats)."""
        T = np.asarray(T, dtype=float)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if self.law == "table":
                return np.interp(T, np.asarray(self.T), np.asarray(self.values))
            v, t1 = float(self.value or 0.0), float(self.t_ref or 1.0)
            if self.law == "linear":
                return v * (1.0 + float(self.alpha or 0.0) * (T - t1))
            if self.law == "exponential":
                return v * np.exp(-float(self.beta or 0.0) * (T - t1))
            if self.law == "arrhenius":
                return v * np.exp(float(self.activation_energy_eV or 0.0) / K_B_EV * (1.0 / T - 1.0 / t1))
            return v * (T / t1) ** float(self.exponent or 0.0)

    def derivative(self, T: Any) -> Any:
        """df/dT on numbers (the table's slope of the segment; 0 beyond the ends)."""
        T = np.asarray(T, dtype=float)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if self.law == "table":
                nodes, vals = np.asarray(self.T), np.asarray(self.values)
                slopes = np.diff(vals) / np.diff(nodes)
                k = np.clip(np.searchsorted(nodes, T, side="right") - 1, 0, slopes.size - 1)
                inside = (nodes[0] <= T) & (nodes[-1] >= T)
                return np.where(inside, slopes[k], 0.0)
            f = self(T)
            if self.law == "linear":
                return np.full_like(T, float(self.value or 0.0) * float(self.alpha or 0.0))
            if self.law == "exponential":
                return -float(self.beta or 0.0) * f
            if self.law == "arrhenius":
                return -float(self.activation_energy_eV or 0.0) / K_B_EV / T**2 * f
            return float(self.exponent or 0.0) * f / T

    def check_nodes(self) -> np.ndarray:
        """Temperatures where a piecewise-monotone check must look (the table's nodes)."""
        return np.asarray(self.T if self.law == "table" else (), dtype=float)

    # --- UFL -----------------------------------------------------------------------------
    def to_ufl(self, T: Any, t_range: tuple[float, float]) -> Any:
        """f(T) as a UFL expression of T, T clipped to `t_range` (module docstring)."""
        import ufl

        Tc = ufl.max_value(ufl.min_value(T, t_range[1]), t_range[0])
        if self.law == "table":
            nodes, vals = list(self.T or ()), list(self.values or ())
            expr: Any = ufl.as_ufl(vals[-1])
            # from the top down: T < T_{i+1} selects segment i (below T_0: the first value)
            for i in range(len(nodes) - 2, -1, -1):
                slope = (vals[i + 1] - vals[i]) / (nodes[i + 1] - nodes[i])
                expr = ufl.conditional(ufl.lt(Tc, nodes[i + 1]), vals[i] + slope * (Tc - nodes[i]), expr)
            return ufl.conditional(ufl.lt(Tc, nodes[0]), vals[0], expr)
        v, t1 = float(self.value or 0.0), float(self.t_ref or 1.0)
        if self.law == "linear":
            return v * (1.0 + float(self.alpha or 0.0) * (Tc - t1))
        return v * ufl.exp(self._log_factor(Tc))

    def log_ufl(self, T: Any, t_range: tuple[float, float]) -> Any:
        """ln f(T) in UFL (f > 0): exact for the exponential laws (no overflow), else ln of f."""
        import ufl

        if self.law in ("linear", "table"):
            return ufl.ln(self.to_ufl(T, t_range))
        Tc = ufl.max_value(ufl.min_value(T, t_range[1]), t_range[0])
        return math.log(float(self.value or 0.0)) + self._log_factor(Tc)

    def _log_factor(self, Tc: Any) -> Any:
        """ln(f / value) of the exponential-type laws."""
        import ufl

        t1 = float(self.t_ref or 1.0)
        if self.law == "exponential":
            return -float(self.beta or 0.0) * (Tc - t1)
        if self.law == "arrhenius":
            return float(self.activation_energy_eV or 0.0) / K_B_EV * (1.0 / Tc - 1.0 / t1)
        return float(self.exponent or 0.0) * ufl.ln(Tc / t1)


Property = float | PropertyLaw


def value_at(prop: Property, T: float) -> float:
    """A property (number or law) at temperature T."""
    return float(prop(T)) if isinstance(prop, PropertyLaw) else float(prop)


def is_constant(prop: Property) -> bool:
    return not isinstance(prop, PropertyLaw)


# ---------------------------------------------------------------------------------------
# Parsing and checking (config.py turns a LawError into an InputError naming the key)


#: the unit of each law key (a number, or a string with units converted to it: units.py); the
#: unit of `value` is the property's; `exponent` is a pure number
LAW_UNITS: dict[str, str] = {"t_ref": "K", "T": "K", "alpha": "1/K", "beta": "1/K", "activation_energy_eV": "eV"}


def _si(val: Any, key: str, unit: str | None) -> Any:
    """A string with units as a number in `unit` (LawError naming the law key); else `val`."""
    if not isinstance(val, str) or unit is None:
        return val
    from .units import UnitError, to_unit

    try:
        return to_unit(val, unit)
    except UnitError as exc:
        raise LawError(f"{key}: {exc}") from None


def _number(d: dict[str, Any], key: str, unit: str | None = None) -> float:
    if key not in d:
        raise LawError(f'law "{d["law"]}" needs {key}')
    val = _si(d[key], key, unit)
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise LawError(f"{key}: expected a number, got {val!r}")
    if not math.isfinite(val):
        raise LawError(f"{key}: expected a finite number, got {val!r}")
    return float(val)


def _numbers(d: dict[str, Any], key: str, unit: str | None = None) -> tuple[float, ...]:
    val = d.get(key)
    if not isinstance(val, (list, tuple)) or not val:
        raise LawError(f"{key}: expected a non-empty array of numbers, got {val!r}")
    out = []
    for x in val:
        x = _si(x, key, unit)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise LawError(f"{key}: expected finite numbers, got {x!r}")
        out.append(float(x))
    return tuple(out)


def read_table_csv(path: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(T, value) of a two-column CSV with one header row naming the columns (and units)."""
    try:
        return read_two_columns(path, "T, value", "T_K,rho_Ohm_m")
    except ValueError as exc:
        msg = str(exc).replace("no such file", "no such table file")
        raise LawError(f"file: {msg}") from None


def parse_law(spec: dict[str, Any], base: str | None = None, unit: str | None = None) -> PropertyLaw:
    """A PropertyLaw from a TOML table; raises LawError (one line) on anything wrong.

    A relative table `file` is taken relative to `base` (a folder), else the current directory.
    With `unit` (the property's SI unit), the keys also take strings with units (units.py):
    `value` in `unit`, the others in LAW_UNITS (t_ref and T in K, activation_energy_eV in eV,
    alpha and beta in 1/K). A table file's columns are numbers in K and in `unit`.
    """
    law = spec.get("law")
    if law not in LAWS:
        raise LawError(f"law: expected one of {', '.join(LAWS)}, got {law!r}")
    if law == "table":
        allowed = {"law", "file"} if "file" in spec else {"law", "T", "value"}
    else:
        allowed = {*_ANALYTIC_KEYS, _PARAM[law]}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise LawError(f'unknown key {unknown[0]!r} for law "{law}"; expected {", ".join(sorted(allowed))}')
    if law == "table":
        if "file" in spec:
            f = spec["file"]
            if not isinstance(f, str) or not f:
                raise LawError(f"file: expected a file name, got {f!r}")
            path = f if os.path.isabs(f) else os.path.abspath(os.path.join(base or os.getcwd(), f))
            T, vals = read_table_csv(path)
            file: str | None = path
        else:
            T, vals, file = _numbers(spec, "T", unit and "K"), _numbers(spec, "value", unit), None
        if len(T) != len(vals):
            raise LawError(f"T and value have different lengths ({len(T)} and {len(vals)})")
        if len(T) < 2:
            raise LawError("a table needs at least two points")
        if len(T) > MAX_TABLE_POINTS:
            raise LawError(f"a table of {len(T)} points; at most {MAX_TABLE_POINTS} (resample the data)")
        if not all(t > 0 for t in T):
            raise LawError("T: expected temperatures > 0 K")
        if not all(b > a for a, b in zip(T, T[1:], strict=False)):
            raise LawError("T: expected strictly increasing temperatures")
        if not all(math.isfinite(v) for v in (*T, *vals)):
            raise LawError("expected finite numbers")
        return PropertyLaw(law="table", file=file, T=T, values=vals)
    p = _PARAM[law]
    value, t_ref = _number(spec, "value", unit), _number(spec, "t_ref", unit and "K")
    param = _number(spec, p, unit and LAW_UNITS.get(p))
    if t_ref <= 0:
        raise LawError(f"t_ref: expected a temperature > 0 K, got {t_ref:g}")
    return PropertyLaw(law=law, value=value, t_ref=t_ref, **{p: param})


def check_range(prop: Property, name: str, t_range: tuple[float, float]) -> None:
    """Finite (and positive, for resistivities and conductivities) over [T_lo, T_hi]."""
    if not isinstance(prop, PropertyLaw):
        return
    what, unit, positive = PROPERTIES[name]
    lo, hi = t_range
    grid = np.concatenate([np.geomspace(lo, hi, 401), prop.check_nodes()])
    grid = np.sort(grid[(grid >= lo) & (grid <= hi)])
    vals = np.asarray(prop(grid))
    rng = f"[{lo:g}, {hi:g}] K (thermal.t0/2 to solver.t_ceiling)"
    bad = ~np.isfinite(vals)
    if bad.any():
        raise LawError(f"the {what} is not a finite number at T = {grid[bad][0]:.4g} K, inside the checked range {rng}")
    if positive and (vals <= 0).any():
        i = int(np.flatnonzero(vals <= 0)[0])
        raise LawError(
            f"the {what} is {vals[i]:.4g} {unit} <= 0 at T = {grid[i]:.4g} K, inside the range the run can reach "
            f"{rng}; change the law or lower solver.t_ceiling"
        )


__all__ = [
    "K_B_EV",
    "LAWS",
    "LAW_UNITS",
    "PROPERTIES",
    "LawError",
    "Property",
    "PropertyLaw",
    "check_range",
    "is_constant",
    "parse_law",
    "value_at",
]
