"""Units in the input: a dimensional config key takes a number (SI, as always) or a string
with units ("10 mA", "1 mm", "400 uV/K", "6 Ohm cm", "87 degC"), converted to the key's SI
unit with pint.

A key declares its SI unit once, on its annotation::

    current: Annotated[float | None, Unit("A")] = Field(0.01, description="...")

`Unit` is pydantic metadata: a before-validator that turns a string into the float in the
declared unit (anything else -- numbers, None, booleans, tables -- passes through unchanged,
so plain numbers stay SI exactly and strictness is the field's own), and the unit that
config_reference.py prints in docs/configuration.md. A string of the wrong dimension, an
unknown unit or a string without units is a one-line error naming the key (InputError,
exit 2), e.g. ``drive.current: "10 mV" has units of millivolt (a voltage), expected a
current (A)``.

Temperatures: ``Unit("K")`` is an absolute temperature (offset units convert properly:
"87 degC" -> 360.15 K; a difference unit such as "2 delta_degC" is refused);
``Unit("K", difference=True)`` is a temperature difference (band widths, hysteresis,
tolerances: "2 K" or "2 delta_degC"; "2 degC" is refused, as it is a temperature, 275.15 K,
not a difference).

pint is imported on the first string with units only (a configuration of plain numbers
never loads it).
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from .errors import first_line

__all__ = ["Unit", "UnitError", "to_unit", "unit_of"]

#: a number at the start of a string with units (the magnitude; arithmetic is not evaluated)
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"({_NUMBER})\s*(.*)", re.DOTALL)  # matched against the stripped string

#: what a quantity of each unit is called in the messages (matched by dimension)
_NOUNS = {
    "m": "a length",
    "s": "a time",
    "A": "a current",
    "V": "a voltage",
    "Ohm": "a resistance",
    "F": "a capacitance",
    "K": "a temperature",
    "Ohm m": "a resistivity",
    "V/K": "a Seebeck coefficient",
    "W/(m K)": "a thermal conductivity",
    "J/(m^3 K)": "a volumetric heat capacity",
    "J/m^3": "an energy per volume",
    "W/m^2": "a heat flux",
    "W/(m^2 K)": "a heat-transfer coefficient",
    "m^2 K/W": "a thermal boundary resistance",
    "A/s": "a current rate",
    "V/s": "a voltage rate",
    "eV": "an energy",
    "1/K": "an inverse temperature",
    "W": "a power",
    "Hz": "a frequency",
}

_REGISTRY: Any = None


def registry() -> Any:
    """The pint UnitRegistry of the input (made on first use), with "Ohm" as well as "ohm"."""
    global _REGISTRY
    if _REGISTRY is None:
        import pint

        reg = pint.UnitRegistry()
        reg.define("Ohm = ohm")
        _REGISTRY = reg
    return _REGISTRY


class UnitError(ValueError):
    """A string with units that cannot be read as the key's unit (one line, without the key)."""


def _noun(units: Any) -> str | None:
    reg = registry()
    dim = reg.get_dimensionality(units)
    for unit, noun in _NOUNS.items():
        if reg.get_dimensionality(unit) == dim:
            return noun
    return None


def _expected(unit: str, difference: bool = False) -> str:
    if difference:
        return f"a temperature difference ({unit} or delta_degC)"
    noun = _noun(unit)
    return f"{noun} ({unit})" if noun else f"units of {unit}"


def to_unit(text: str, *units: str, difference: bool = False) -> float:
    """The float value in unit `units[0]` (or in the first of `units` whose dimension matches)
    of a string such as "10 mA"; a UnitError (one line) when it cannot be. The value is rounded to
    15 significant digits (conversion factors leave a last-digit residue: 400 * 1e-6 = 3.9999999999999996e-4).

    Only a number followed by units is read (no arithmetic): "1e4 W/(m^2 K)", "6 Ohm cm",
    "87 degC", "2 um" (or "2 µm"), "400 uV/K"."""
    match = _QUANTITY.fullmatch(text.strip())
    expected = " or ".join(_expected(u, difference) for u in units)
    if match is None:
        raise UnitError(
            f'expected a number (in {" or ".join(units)}) or a number with units such as "{_example(units[0])}", '
            f"got {_shown(text)}"
        )
    number, unit_text = match.groups()
    if not unit_text:
        raise UnitError(
            f"{_shown(text)} has no units: write a number (in {' or '.join(units)}) or a number with units such as "
            f'"{_example(units[0])}"'
        )
    reg = registry()
    try:
        given = reg.parse_units(unit_text)
    except Exception as exc:  # pint's errors (undefined unit, syntax) and the parser's own
        why = first_line(exc)
        raise UnitError(
            f"{_shown(text)}: cannot read the units {_shown(unit_text)} ({why}); expected {expected}"
        ) from None
    quantity = reg.Quantity(float(number), given)
    for unit in units:
        if quantity.dimensionality != reg.get_dimensionality(unit):
            continue
        if quantity.dimensionality == reg.get_dimensionality("K"):
            _check_temperature(text, given, unit, difference)
        try:
            value = float(quantity.to(unit).magnitude)
        except Exception as exc:
            why = first_line(exc)
            raise UnitError(f"{_shown(text)}: cannot convert to {unit} ({why})") from None
        if not math.isfinite(value):
            raise UnitError(f"{_shown(text)} is {value} {unit}: expected a finite number")
        # 15 significant digits: "400 uV/K" is 4e-4, not the 3.9999999999999996e-4 of 400 * 1e-6
        return float(f"{value:.15g}")
    noun = _noun(given)
    what = str(given) or "dimensionless"
    raise UnitError(f"{_shown(text)} has units of {what}{f' ({noun})' if noun else ''}, expected {expected}")


def _check_temperature(text: str, given: Any, unit: str, difference: bool) -> None:
    """An absolute temperature in a temperature-difference key and the reverse are refused."""
    reg = registry()
    offset = reg.Quantity(0.0, given).to(unit).magnitude != 0  # degC, degF: 0 is not 0 K
    delta = any(str(name).startswith("delta_") for name in given._units)
    if difference and offset:
        raise UnitError(
            f"{_shown(text)} is a temperature, not a temperature difference: write kelvin or delta_degC, "
            f'e.g. "{_number_of(text)} K" or "{_number_of(text)} delta_degC"'
        )
    if not difference and delta:
        raise UnitError(f'{_shown(text)} is a temperature difference, expected a temperature (K, or e.g. "87 degC")')


def _shown(text: str, limit: int = 60) -> str:
    """A string as the messages quote it: on one line (control characters escaped), shortened."""
    text = text.strip()
    if not text.isprintable():
        text = repr(text)[1:-1]
    return f'"{text[: limit - 3]}..."' if len(text) > limit else f'"{text}"'


def _number_of(text: str) -> str:
    match = _QUANTITY.fullmatch(text.strip())
    return match.group(1) if match else text


_EXAMPLES = {"m": "1 mm", "A": "10 mA", "V": "2 V", "K": "87 degC", "s": "1 ms", "V/K": "400 uV/K", "eV": "0.2 eV"}


def _example(unit: str) -> str:
    return _EXAMPLES.get(unit, f"1 {unit}")


class Unit:
    """The SI unit of a config key, declared on its annotation (module docstring)::

        length: Annotated[float, Unit("m")] = Field(1e-3, gt=0, description="...")
        t_mit: Annotated[float, Unit("K")] = ...                       # absolute temperature
        hysteresis: Annotated[float, Unit("K", difference=True)] = ... # temperature difference
        rate: Annotated[float | None, Unit("A/s", "V/s", follows=("current", "voltage"))] = ...

    Several units are alternatives: a string of any of their dimensions is accepted. With
    `follows` (names of keys of the same table declared before this one) the unit is the one
    at the position of the key that is set, when exactly one is (drive.rate is in A/s under
    drive.current, in V/s under drive.voltage). `keep` is a regular expression of strings that
    are not quantities and are left to the field's own validation (time.output_every = "10 steps").
    """

    def __init__(
        self, *units: str, difference: bool = False, follows: tuple[str, ...] = (), keep: str | None = None
    ) -> None:
        if not units:
            raise TypeError("Unit needs at least one unit")
        if follows and len(follows) != len(units):
            raise TypeError("Unit(follows=...) names one key per unit")
        self.units = units
        self.difference = difference
        self.follows = follows
        self.keep = re.compile(keep) if keep else None

    def __repr__(self) -> str:
        extra = ", difference=True" if self.difference else ""
        extra += f", follows={self.follows!r}" if self.follows else ""
        return f"Unit({', '.join(map(repr, self.units))}{extra})"

    @property
    def text(self) -> str:
        """The unit as docs/configuration.md shows it."""
        if self.follows:
            return ", ".join(f"{u} with {k}" for u, k in zip(self.units, self.follows))
        text = " or ".join(self.units)
        return f"{text} (difference)" if self.difference else text

    def units_for(self, data: Any) -> tuple[str, ...]:
        """The units a string may have, given the values of the keys validated before it."""
        if self.follows and isinstance(data, dict):
            given = [i for i, key in enumerate(self.follows) if data.get(key) is not None]
            if len(given) == 1:
                return (self.units[given[0]],)
        return self.units

    def convert(self, value: Any, data: Any = None) -> Any:
        """A string with units as a float in the unit; any other value unchanged (UnitError)."""
        if not isinstance(value, str) or (self.keep is not None and self.keep.fullmatch(value)):
            return value
        return to_unit(value, *self.units_for(data), difference=self.difference)

    def _validate(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        try:
            return self.convert(value, info.data)
        except UnitError as exc:
            # the message as the error's text (a template without fields: braces in it are kept)
            raise PydanticCustomError("unit", "{message}", {"message": str(exc)}) from None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_before_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> Any:
        """The JSON schema of the key with its unit: ``"unit": "A"`` (Config.model_json_schema())."""
        json_schema = handler(schema)
        json_schema["unit"] = self.text
        return json_schema


def unit_of(field: Any) -> Unit | None:
    """The Unit declared on a pydantic field (FieldInfo), or None."""
    for meta in getattr(field, "metadata", ()):
        if isinstance(meta, Unit):
            return meta
    return None
