"""Run configuration: TOML sections and keys (docs/configuration.md), SI units.

A configuration is built from (in this order) the built-in defaults, a preset
or a TOML file, and `--set section.key=value` overrides. It is validated in
full before any mesh or solve, and every problem is reported as an
`InputError` naming the key (``section.key``) and the expected value.

A dimensional key also takes a string with units ("10 mA", "87 degC"), converted to its SI
unit: each such key declares its unit once, ``Annotated[float, Unit("A")]`` (units.py).

Keys whose default is ``None`` are derived from others when the config is
resolved (e.g. ``geometry.electrode_length`` defaults to 0.1 L); the resolved
values are what `Config.resolved()` returns and what is written with results.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .errors import InputError, first_line
from .property_laws import PROPERTIES, LawError, PropertyLaw, check_range, parse_law, value_at
from .units import Unit, UnitError, to_unit, unit_of

PRESETS_PACKAGE = "fem_peltier.presets"
#: folder of the material presets (TOML files with a [material] section) inside PRESETS_PACKAGE
MATERIALS_FOLDER = "materials"
#: material properties that may be temperature laws (property_laws.py)
LAW_KEYS = tuple(PROPERTIES)


class _Section(BaseModel):
    # strict: a TOML string or boolean is never silently read as a number (true -> 1.0 A)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True)


class Geometry(_Section):
    """Film (and optional substrate) geometry, metres."""

    length: Annotated[float, Unit("m")] = Field(1e-3, gt=0, description="film length L along x (m)")
    width: Annotated[float, Unit("m")] = Field(1e-3, gt=0, description="film width W along y (m)")
    thickness: Annotated[float, Unit("m")] = Field(2e-4, gt=0, description="film thickness h along z (m)")
    substrate_thickness: Annotated[float, Unit("m")] = Field(
        0.0, ge=0, description="substrate slab thickness below the film (m); 0 = film bottom held at T0"
    )
    electrodes: Literal["point", "ends"] = Field(
        "point", description='"point": top-surface patches at y = W/2; "ends": the whole end faces x = 0, x = L'
    )
    electrode_length: Annotated[float | None, Unit("m")] = Field(
        None, gt=0, description="patch length along x (m); default 0.1 L"
    )
    electrode_width: Annotated[float | None, Unit("m")] = Field(
        None, gt=0, description="patch width along y (m); default 0.02 L"
    )


_LAW_HELP = (
    "; a number or a temperature law, an inline table {law = ...} (docs/physics.md, Material laws): "
    "linear, exponential, arrhenius, power or table"
)


class Material(_Section):
    """Film and substrate material parameters, SI units. rho_insulator, rho_metal, seebeck_insulator,
    seebeck_metal, kappa and kappa_metal are each a number (constant) or a temperature law, e.g.
    `rho_insulator = {law = "arrhenius", value = 0.06, t_ref = 300, activation_energy_eV = 0.2}`
    (docs/physics.md, Material laws)."""

    rho_insulator: Annotated[float | PropertyLaw, Unit("Ohm m")] = Field(
        0.06, description="insulating-phase resistivity rho_I (Ohm m), > 0" + _LAW_HELP
    )
    rho_metal: Annotated[float | PropertyLaw, Unit("Ohm m")] = Field(
        0.006, description="metallic-phase resistivity rho_M (Ohm m), > 0" + _LAW_HELP
    )
    seebeck_insulator: Annotated[float | PropertyLaw, Unit("V/K")] = Field(
        2.0e-3, description="insulating-phase Seebeck coefficient S_I (V/K)" + _LAW_HELP
    )
    seebeck_metal: Annotated[float | PropertyLaw, Unit("V/K")] = Field(
        0.0, description="metallic-phase Seebeck coefficient S_M (V/K)" + _LAW_HELP
    )
    kappa: Annotated[float | PropertyLaw, Unit("W/(m K)")] = Field(
        0.1,
        description="film thermal conductivity (W/(m K)), > 0; of the insulating phase when "
        "kappa_metal differs" + _LAW_HELP,
    )
    kappa_metal: Annotated[float | PropertyLaw | None, Unit("W/(m K)")] = Field(
        None, description="metallic-phase film thermal conductivity (W/(m K)), > 0; default = kappa" + _LAW_HELP
    )
    kappa_substrate: Annotated[float | None, Unit("W/(m K)")] = Field(
        None, gt=0, description="substrate thermal conductivity (W/(m K)); default = kappa (at thermal.t0)"
    )
    kappa_electron: Annotated[float | PropertyLaw | None, Unit("W/(m K)")] = Field(
        None,
        description='electronic thermal conductivity kappa_e (W/(m K)), > 0, thermal.model = "two" only: '
        "conduction of the electron temperature T (paper Eq. 5); kappa = kappa_e + kappa_l" + _LAW_HELP,
    )
    kappa_lattice: Annotated[float | PropertyLaw | None, Unit("W/(m K)")] = Field(
        None,
        description='lattice thermal conductivity kappa_l (W/(m K)), > 0, thermal.model = "two" only: '
        "conduction of the lattice temperature T_l (paper Eq. 6); default kappa - kappa_electron" + _LAW_HELP,
    )
    electron_lattice_coupling: Annotated[float | None, Unit("W/(m^3 K)")] = Field(
        None,
        gt=0,
        description='electron-lattice coupling gamma_el (W/(m^3 K)), thermal.model = "two" only: the electrons '
        "lose gamma_el (T - T_l) per unit volume to the lattice (paper Eqs. 5-6; about 1e13 W/(m^3 K) for "
        "Ca2RuO4, Appendix B)",
    )
    phase_temperature: Literal["electron", "lattice"] = Field(
        "lattice",
        description='thermal.model = "two": the temperature whose cell mean switches the phase, "lattice" (the '
        'structural transition follows the lattice: docs/physics.md) or "electron"',
    )
    t_mit: Annotated[float, Unit("K")] = Field(
        360.0, gt=0, description="metal-insulator transition temperature T_MIT (K)"
    )
    hysteresis: Annotated[float, Unit("K", difference=True)] = Field(
        0.0, ge=0, description="hysteresis width (K): I->M at T_MIT + h/2, M->I at T_MIT - h/2"
    )
    heat_capacity: Annotated[float | PropertyLaw, Unit("J/(m^3 K)")] = Field(
        2.3e6,
        description="volumetric heat capacity of the film c (J/(m^3 K)), > 0, of the insulating phase when "
        "heat_capacity_metal differs; used by `transient` only (default: an estimate for Ca2RuO4, about "
        "120 J/(mol K) at 4.6 g/cm^3)" + _LAW_HELP,
    )
    heat_capacity_metal: Annotated[float | PropertyLaw | None, Unit("J/(m^3 K)")] = Field(
        None,
        description="volumetric heat capacity of the metallic phase (J/(m^3 K)), > 0; default = heat_capacity"
        + _LAW_HELP,
    )
    heat_capacity_substrate: Annotated[float | None, Unit("J/(m^3 K)")] = Field(
        None,
        gt=0,
        description="substrate volumetric heat capacity (J/(m^3 K)); default = heat_capacity (at thermal.t0)",
    )
    latent_heat: Annotated[float, Unit("J/m^3")] = Field(
        0.0,
        ge=0,
        description="latent heat of the transition per unit volume L (J/m^3): absorbed as the metal fraction m "
        "grows, released as it shrinks (c dT/dt + L dm/dt in the heat equation); transient only",
    )
    seebeck_electrode: Annotated[float | None, Unit("V/K")] = Field(
        None,
        description="Seebeck coefficient S_e of the electrode metal (V/K): where current crosses a film/electrode "
        "contact the Peltier heat T (S_film - S_e) j.n is released (n out of the film); absent = no contact "
        "Peltier heat (the paper's model)",
    )

    @field_validator(*LAW_KEYS, mode="before")
    @classmethod
    def _property(cls, value: Any, info: ValidationInfo) -> Any:
        """A number (positive for rho and kappa) or a law table, checked here (one line naming the key)."""
        key = f"material.{info.field_name}"
        if value is None and info.field_name in (
            "kappa_metal",
            "heat_capacity_metal",
            "kappa_electron",
            "kappa_lattice",
        ):
            return None
        if isinstance(value, PropertyLaw):
            return value
        unit = unit_of(Material.model_fields[str(info.field_name)])  # (ResolvedMaterial redeclares some)
        assert unit is not None  # every law key declares its unit
        if isinstance(value, dict):
            try:
                return parse_law(value, unit=unit.units[0])
            except LawError as exc:
                raise _CrossError(key, str(exc)) from None
        if isinstance(value, str):  # a string with units (this validator runs before Unit's)
            try:
                value = unit.convert(value)
            except UnitError as exc:
                raise _CrossError(key, f"{exc}; or a law table {{law = ...}}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _CrossError(key, f"expected a number or a law table {{law = ...}}, got {value!r}")
        if not math.isfinite(value):
            raise _CrossError(key, f"expected a finite number, got {value!r}")
        if PROPERTIES[str(info.field_name)][2] and not value > 0:
            raise _CrossError(key, f"Input should be greater than 0 (got {value!r})")
        return float(value)

    def at(self, name: str, T: float) -> float:
        """Property `name` (a number or a law) at temperature T (kappa_metal: kappa when unset)."""
        prop = getattr(self, name)
        if prop is None and name in ("kappa_metal", "heat_capacity_metal"):
            prop = self.kappa if name == "kappa_metal" else self.heat_capacity
        return value_at(prop, T)


class Terminal(_Section):
    """One [[drive.terminal]]: the electrode surface `electrode_<name>` of a user mesh and its drive."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_]*$",
        description="the terminal's name: its contact is the mesh's physical surface group electrode_<name>",
    )
    current: Annotated[float | None, Unit("A")] = Field(
        None, description="current (A) driven into the film through this terminal (> 0 enters the film)"
    )
    voltage: Annotated[float | None, Unit("V")] = Field(
        None, description="potential (V) the terminal is held at (0 = the ground)"
    )
    floating: bool = Field(
        False,
        description="a voltage probe: an equipotential contact that draws no current and reports its potential",
    )

    @model_validator(mode="after")
    def _one_drive(self) -> Terminal:
        given = [k for k in ("current", "voltage") if getattr(self, k) is not None] + (
            ["floating"] if self.floating else []
        )
        if len(given) != 1:
            raise _CrossError(
                f"drive.terminal '{self.name}'",
                "give exactly one of current (A), voltage (V) or floating = true"
                + (f" (got {', '.join(given)})" if given else ""),
            )
        for key in ("current", "voltage"):
            val = getattr(self, key)
            if val is not None and not math.isfinite(val):
                raise _CrossError(f"drive.terminal '{self.name}'.{key}", "expected a finite number")
        return self


def main_terminal(terminals: list[Terminal]) -> Terminal | None:
    """The terminal the drive keys describe: the first with a current, else the first with a
    non-zero voltage (None: nothing drives the film)."""
    for t in terminals:
        if t.current is not None:
            return t
    return next((t for t in terminals if t.voltage not in (None, 0.0)), None)


class Drive(_Section):
    """Electrical drive: exactly one of current or voltage (or the terminals of a user mesh)."""

    current: Annotated[float | None, Unit("A")] = Field(
        0.01, description="total current (A); > 0 enters the film at the positive electrode (x near L)"
    )
    voltage: Annotated[float | None, Unit("V")] = Field(
        None,
        description="voltage of the positive electrode (V), negative one at 0 V; with a load "
        "resistance, the source voltage in series with it",
    )
    load_resistance: Annotated[float, Unit("Ohm")] = Field(
        0.0, ge=0, description="series load resistor (Ohm) between the voltage source and the film; 0 = none"
    )
    waveform: Literal["dc", "ramp", "pulse", "sine", "table"] = Field(
        "dc",
        description="time dependence of the drive in `transient` (docs/transient.md): the drive is "
        'offset + amplitude * shape(t); "dc": shape 1; "ramp": shape min(1, rate t / |amplitude|); "pulse": '
        "a trapezoid of period `period` rising from 0 to 1 in `rise_time`, high for `duty` of the period; "
        '"sine": sin(2 pi t / period); "table": the values of the CSV file `table` (t in s, value in A or V), '
        "linear between rows and held after the last. `run` and `sweep` use the drive value as it is",
    )
    amplitude: Annotated[float | None, Unit("A", "V", follows=("current", "voltage"))] = Field(
        None, description="waveform amplitude (A or V, the drive's unit); default the drive value (current or voltage)"
    )
    offset: Annotated[float, Unit("A", "V", follows=("current", "voltage"))] = Field(
        0.0, description="waveform offset (A or V): the drive before a ramp or between pulses"
    )
    rate: Annotated[float | None, Unit("A/s", "V/s", follows=("current", "voltage"))] = Field(
        None, gt=0, description='ramp rate (A/s or V/s) of waveform "ramp"'
    )
    period: Annotated[float | None, Unit("s")] = Field(
        None, gt=0, description='period (s) of waveform "pulse" and "sine"'
    )
    duty: float = Field(
        0.5,
        gt=0,
        lt=1,
        description='fraction of the period a "pulse" is high (from the start of its rise to the start of its fall)',
    )
    rise_time: Annotated[float, Unit("s")] = Field(
        0.0, ge=0, description='rise and fall time (s) of the edges of a "pulse"'
    )
    table: str | None = Field(
        None,
        description='CSV file of waveform "table": a header row, then rows t (s), value (A or V); relative to '
        "the TOML file's folder",
    )
    capacitance: Annotated[float, Unit("F")] = Field(
        0.0,
        ge=0,
        description="capacitor (F) in parallel with the film, transient only: C dV/dt = I_source - I_film, the "
        "source a current or a voltage behind drive.load_resistance (a relaxation oscillator); 0 = none",
    )
    allow_implausible: bool = Field(
        False,
        description="run a drive whose estimated Ohmic temperature rise is above 1e5 K (refused otherwise as a "
        "likely unit slip, e.g. 10 A meant as 10 mA): the estimate is rho_I I^2/(kappa L^2) = J T0, with "
        "I = V/(rho_I L/(W h) + load_resistance) under voltage control",
    )

    terminal: list[Terminal] | None = Field(
        None,
        description="array of tables [[drive.terminal]] (keys name, current, voltage, floating), one per "
        "electrode surface electrode_<name> of a user mesh (mesh.file or mesh.geo): any number of current "
        "terminals, voltage terminals (at least one: the reference) and floating voltage probes. The first "
        "terminal with a current (else with a non-zero voltage) is the drive: drive.current / drive.voltage "
        "are its value (left out: the terminal's; given, e.g. by --set or a sweep: they set it), and the "
        "waveform, load and capacitor keys act on it",
    )

    @model_validator(mode="before")
    @classmethod
    def _voltage_alone(cls, data: Any) -> Any:
        """A [drive] table that gives a voltage and no current is under voltage control: the
        current's default (0.01 A) does not apply (TOML has no way to write current = none).
        With [[drive.terminal]] the drive keys are those of the main terminal."""
        if isinstance(data, dict) and data.get("terminal") is not None:
            return _terminal_drive(data)
        if isinstance(data, dict) and data.get("voltage") is not None and "current" not in data:
            return {**data, "current": None}
        return data


def _terminal_drive(data: dict[str, Any]) -> dict[str, Any]:
    """[drive] data with [[drive.terminal]], after the terminal list's own checks: current /
    voltage are those of the main terminal; given ones (--set, a sweep) set the main terminal's."""
    try:
        terms = [t if isinstance(t, Terminal) else Terminal.model_validate(t) for t in data["terminal"]]
    except ValidationError:
        return data  # reported by the field's own validation, with its key
    names = [t.name for t in terms]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise _CrossError("drive.terminal", f"terminal '{dup}' is named twice")
    main = main_terminal(terms)
    if main is None:
        raise _CrossError("drive.terminal", "no terminal has a current or a non-zero voltage: nothing drives the film")
    if not any(t.voltage is not None and t is not main for t in terms):
        raise _CrossError(
            "drive.terminal",
            "at least one terminal besides the driven one needs a voltage (the reference, e.g. voltage = 0)",
        )
    for key in ("current", "voltage"):
        given = data.get(key)
        unit = unit_of(Terminal.model_fields[key])
        if isinstance(given, str) and unit is not None:  # "20 uA" (--set drive.current=...): the terminal's unit
            try:
                given = unit.convert(given)
            except UnitError as exc:
                raise _CrossError(f"drive.{key}", str(exc)) from None
        if given is None or given == getattr(main, key):
            continue
        if getattr(main, key) is None or isinstance(given, bool) or not isinstance(given, (int, float)):
            raise _CrossError(
                f"drive.{key}",
                f"with [[drive.terminal]] the drive is terminal '{main.name}', which has no {key}: set its "
                "[[drive.terminal]] entry instead",
            )
        # drive.current / drive.voltage set the driven terminal's value (--set, sweeps)
        main_new = main.model_copy(update={key: float(given)})
        terms = [main_new if t is main else t for t in terms]
        main = main_new
    return {**data, "terminal": terms, "current": main.current, "voltage": main.voltage}


# [[thermal.boundary]]: the surfaces a condition can name (mesh_data.SURFACE_TAGS) and the keys
# each type takes besides `surface` and `type`
BOUNDARY_SURFACES = ("bottom", "top", "sides", "x0", "xL", "electrode_negative", "electrode_positive")
BOUNDARY_KEYS: dict[str, tuple[str, ...]] = {
    "temperature": ("t",),
    "convection": ("h", "t_ambient"),
    "flux": ("q",),
    "adiabatic": (),
}


class BoundaryCondition(_Section):
    """One [[thermal.boundary]] entry: the thermal condition on one outer surface."""

    surface: str = Field(
        description="one of the surfaces below or, on a user mesh (drive.terminal or mesh.geo), the name of one "
        "of its physical surface groups. \"bottom\": the stack's bottom face (the substrate's, or the film's "
        'without one); "top": '
        'the film top z = h outside the electrode patches; "sides": the faces y = 0 and y = W (film and '
        'substrate); "x0", "xL": the end faces x = 0 and x = L (with geometry.electrodes = "ends" the film\'s '
        'end faces are the electrodes, so these are the substrate\'s end faces only); "electrode_negative" '
        '(near x = 0), "electrode_positive" (near x = L): the electrode contact patches'
    )
    type: Literal["temperature", "convection", "flux", "adiabatic"] = Field(
        description='"temperature": T = t; "convection": -kappa dT/dn = h (T - t_ambient); "flux": a heat flux q '
        'into the stack; "adiabatic": no heat flux'
    )
    t: Annotated[float | None, Unit("K")] = Field(None, gt=0, description='temperature (K) of a "temperature" surface')
    h: Annotated[float | None, Unit("W/(m^2 K)")] = Field(
        None, gt=0, description='heat-transfer coefficient (W/(m^2 K)) of a "convection" surface'
    )
    t_ambient: Annotated[float | None, Unit("K")] = Field(
        None, gt=0, description='ambient temperature (K) of a "convection" surface'
    )
    q: Annotated[float | None, Unit("W/m^2")] = Field(
        None, description='heat flux (W/m^2) of a "flux" surface; q > 0 flows into the stack (heats it)'
    )


class Thermal(_Section):
    """Thermal boundary conditions and heat-source switches."""

    t0: Annotated[float, Unit("K")] = Field(
        300.0,
        gt=0,
        description="reference temperature T0 (K): the initial temperature and, when thermal.boundary is not "
        "given, the temperature of the heat sink at the bottom face",
    )
    model: Literal["one", "two"] = Field(
        "one",
        description='"one": one temperature T for electrons and lattice (the paper\'s Eq. 7); "two": the electron '
        "temperature T and the lattice temperature T_l (paper Eqs. 5-6) coupled by "
        "material.electron_lattice_coupling, each with its own conductivity (material.kappa_electron, "
        "material.kappa_lattice): the heat sources act on the electrons, the sink and the thermal.boundary "
        "conditions on the lattice (docs/physics.md, Two temperatures)",
    )
    electron_sink: Literal["adiabatic", "lattice"] = Field(
        "adiabatic",
        description='thermal.model = "two": the electrons at the heat-sink (temperature) surfaces: "adiabatic" (no '
        'electron heat flux, the paper\'s Appendix B) or "lattice" (T = T_l there: electrons thermalised by the sink)',
    )
    joule_heating: bool = Field(True, description="include Joule heat rho |j|^2")
    peltier_heating: bool = Field(True, description="include the interface Peltier heat")
    seebeck_emf: bool = Field(
        False,
        description="include the Seebeck EMF in the current, j = sigma (-grad phi - S grad T) with phi the "
        "electrochemical potential (the voltage then includes the thermoelectric voltage); false = j = -sigma "
        "grad phi (the paper's model)",
    )
    boundary: list[BoundaryCondition] | None = Field(
        None,
        description="array of tables [[thermal.boundary]], one condition per named surface (keys below); "
        "every surface not named is adiabatic, and at least one temperature or convection condition is "
        "needed (else there is no steady state). Not given: T = t0 on the bottom face, every other surface "
        "adiabatic",
    )
    interface_resistance: Annotated[float, Unit("m^2 K/W")] = Field(
        0.0,
        ge=0,
        description="thermal boundary (Kapitza) resistance R (m^2 K/W) between film and substrate (a thin "
        "layer in the substrate cells at the interface) or, without a substrate, between the film and the "
        "bottom face's sink (a Robin condition); 0 = none (docs/physics.md)",
    )

    @model_validator(mode="after")
    def _check_boundaries(self) -> Thermal:
        if self.boundary is None:
            return self
        seen: set[str] = set()
        sinks = 0
        for i, bc in enumerate(self.boundary):
            where = f"thermal.boundary[{i}]"
            if bc.surface in seen:
                raise _CrossError(f"{where}.surface", f"surface '{bc.surface}' is named twice in thermal.boundary")
            seen.add(bc.surface)
            takes = BOUNDARY_KEYS[bc.type]
            for key in ("t", "h", "t_ambient", "q"):
                if getattr(bc, key) is not None and key not in takes:
                    accepts = ", ".join(takes) if takes else "no value keys"
                    raise _CrossError(f"{where}.{key}", f'not a key of type "{bc.type}" (it takes {accepts})')
            for key in takes:
                if getattr(bc, key) is None:
                    raise _CrossError(f"{where}.{key}", f'required for type "{bc.type}"')
            sinks += bc.type in ("temperature", "convection")
        if sinks == 0:
            raise _CrossError(
                "thermal.boundary",
                'no "temperature" or "convection" surface: the heat has nowhere to go (no steady state)',
            )
        return self


class Adapt(_Section):
    """Adaptive refinement ([mesh.adapt], docs/physics.md "Adaptive refinement"): after the run's mesh is
    solved, the cells carrying the largest share of the error estimate (Dörfler marking) and the
    unresolved cells of the transition band are refined and the state re-solved warm, level by level,
    until V, T_max and the metal fraction change by less than `target` or a limit is hit."""

    levels: int = Field(0, ge=0, le=20, description="largest number of refinement levels; 0 = off (the default)")
    fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Dörfler bulk fraction: the marked cells carry this share of the squared error estimate",
    )
    target: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="stop once V, T_max and the metal fraction each change by less than this (relative) "
        "between two levels",
    )
    max_cells: int = Field(2_000_000, gt=0, description="stop before a level whose mesh would exceed this many cells")
    band: bool = Field(
        False,
        description="also refine the transition-band cells across which T changes by more than the band "
        "width (the smoothed phase rule not resolved); off by default: on fig2a these were 69-80% of the "
        "marks and cost 3-5x the time for no better V, T_max or metal fraction",
    )
    band_cells: float | None = Field(
        None,
        gt=0,
        description="the sharp limit (docs/physics.md): on the refined levels each cell's band width is "
        "band_cells x the temperature change across it (|grad T| h), at most solver.transition_width, and "
        "every band cell is refined at each level, so the band narrows with the cells at the front "
        "(w -> 0 with local refinement); none = the band width of the run everywhere",
    )


class Mesh(_Section):
    """Mesh resolution, metres."""

    size: Annotated[float | None, Unit("m")] = Field(None, gt=0, description="bulk cell size (m); default L/20")
    electrode_size: Annotated[float | None, Unit("m")] = Field(
        None, gt=0, description="cell size at the electrode patches (m); default min(electrode_width/2, size)"
    )
    file: str | None = Field(
        None,
        description="a saved .msh file to use instead of generating one; a relative path in a TOML file "
        "is relative to that file's folder, one given with --set to the current directory. A user device "
        "mesh (with [[drive.terminal]]) names its physical groups film, optional substrate, "
        "electrode_<name> (surfaces) and any surfaces for [[thermal.boundary]] (a surface 'sink' is "
        "held at thermal.t0 when no thermal.boundary is given)",
    )
    geo: str | None = Field(
        None,
        description="a gmsh .geo script meshed (3D, linear tetrahedra) at the start of the run, with the "
        "physical groups of a user device mesh (see mesh.file); relative paths as for mesh.file. The "
        "script sets its own cell sizes (mesh.size does not apply)",
    )
    max_cells: int = Field(3_000_000, gt=0, description="refuse to mesh when the estimated cell count exceeds this")
    adapt: Adapt = Field(default_factory=Adapt, description="adaptive refinement, the [mesh.adapt] table below")


class Solver(_Section):
    """Coupled solver: band-width continuation with bordered Newton closing each level."""

    max_iterations: int = Field(200, gt=0, description="cap on Newton steps summed over all band levels")
    transition_width: Annotated[float | None, Unit("K", difference=True)] = Field(
        None, gt=0, description="final band width w (K) of the smoothed phase rule; default 0.01 T0"
    )
    initial_width: Annotated[float | None, Unit("K", difference=True)] = Field(
        None, gt=0, description="band width (K) the continuation starts from; default 0.2 T0"
    )
    width_factor: float = Field(0.5, gt=0, lt=1, description="band width ratio between continuation levels")
    newton_max_iterations: int = Field(25, gt=0, description="Newton steps allowed per band level")
    newton_rtol: float = Field(1e-10, gt=0, lt=1, description="scaled-residual tolerance of each Newton solve")
    level_rtol: float = Field(
        1e-4, gt=0, lt=1, description="scaled-residual tolerance of the intermediate continuation levels"
    )
    phase_tol: float = Field(1e-3, gt=0, description="max per-cell change of the metal fraction at convergence")
    temperature_rtol: float = Field(1e-6, gt=0, description="relative temperature change at convergence")
    max_phase_updates: int = Field(30, gt=0, description="Picard updates of the hysteresis memory per band level")
    t_ceiling: Annotated[float | None, Unit("K")] = Field(
        None, gt=0, description="runaway guard (K): a state hotter than this is rejected; default 10 T0"
    )
    current_discretization: Literal["p1", "mixed"] = Field(
        "mixed",
        description='"p1": P1 potential, j = -sigma grad(phi) per cell; "mixed": Raviart-Thomas '
        "current with continuous normal flux across facets (conservative interface current)",
    )
    coarse_meshes: int | None = Field(
        None,
        ge=0,
        le=4,
        description="mesh sequencing: number of coarser meshes (cell size doubled each) that "
        "solve the wide band levels first; generated meshes only; 0 = off; default: as many (up to 3) as "
        "keep the coarsest mesh above 3000 cells",
    )
    sequencing_width: Annotated[float | None, Unit("K", difference=True)] = Field(
        None,
        gt=0,
        description="band width (K) at which mesh sequencing moves the state to the finer mesh; "
        "default 4 transition widths",
    )
    linear_solver: Literal["auto", "mumps", "superlu_dist", "gmres-gamg", "bicgstab-gamg", "gmres-asm"] = Field(
        "auto",
        description="linear solver of the Newton steps: direct LU (mumps, superlu_dist), GMRES or BiCGStab with "
        "field-split algebraic multigrid and inexact Newton (gmres-gamg, bicgstab-gamg) or GMRES with additive "
        "Schwarz (gmres-asm); auto = mumps below 50,000 unknowns, bicgstab-gamg from there on",
    )
    petsc_options: dict[str, str | bool | int | float] = Field(
        default_factory=dict,
        description="extra PETSc options of the Newton linear solver, merged over the "
        'defaults of linear_solver: a table of option names without the leading "-" and without the prefix '
        'fem_peltier_newton_ (e.g. {ksp_rtol = 1e-8, fieldsplit_T_pc_type = "jacobi"}); an option PETSc did '
        "not use is named in a warning after the first linear solve",
    )

    @field_validator("petsc_options", mode="before")
    @classmethod
    def _check_petsc_options(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, val in value.items():
                _check_petsc_option(str(key), val)
        return value


#: time.output_every as a number of steps ("10 steps"), not a time
OUTPUT_STEPS = r"\s*[1-9]\d*\s+steps?\s*"


class Time(_Section):
    """Time integration of `fem-peltier transient` (docs/transient.md); `run` and `sweep` ignore it.
    tau = c h^2 / kappa (film heat capacity, thickness and conductivity at thermal.t0) is the film's
    thermal time across its thickness: the default lengths and steps are multiples of it."""

    t_end: Annotated[float | None, Unit("s")] = Field(None, gt=0, description="end time (s); default 20 tau")
    dt: Annotated[float | None, Unit("s")] = Field(None, gt=0, description="first time step (s); default 1e-3 tau")
    scheme: Literal["bdf2", "backward_euler"] = Field(
        "bdf2",
        description='"bdf2": second order, variable-step BDF2 (a backward-Euler first step); '
        '"backward_euler": first order',
    )
    adaptive: bool = Field(
        True, description="adapt the step from a local error estimate (rtol, atol); false = fixed steps of dt"
    )
    rtol: float = Field(1e-3, gt=0, lt=1, description="relative local error tolerance of T and V per step")
    atol: Annotated[float, Unit("K", difference=True)] = Field(
        1e-2, gt=0, description="absolute local error tolerance of T per step (K)"
    )
    dt_min: Annotated[float | None, Unit("s")] = Field(
        None, gt=0, description="smallest step (s): a step that must be smaller fails the run; default 1e-9 tau"
    )
    dt_max: Annotated[float | None, Unit("s")] = Field(None, gt=0, description="largest step (s); default t_end / 20")
    output_every: Annotated[float | str | None, Unit("s", keep=OUTPUT_STEPS)] = Field(
        None,
        description='fields written every so many seconds (a number) or accepted steps (a string "N steps"); '
        "default t_end / 50; timeseries.csv has every accepted step",
    )
    initial: str = Field(
        "t0",
        description='initial state: "t0" (uniform T0, the drive switched on at t = 0), "steady" (the steady '
        "solution of the drive at t = 0) or the path of a saved state (the state.npz a transient writes)",
    )
    newton_rtol: float = Field(
        1e-6,
        gt=0,
        lt=1,
        description="scaled-residual tolerance of each step's Newton solve (solver.newton_rtol is the steady "
        "one; the per-step heat balance closes to about this); the last temperature correction must also be "
        "below 1e-4, relative",
    )
    max_phase_change: float = Field(
        1.0,
        gt=0,
        le=1,
        description="largest change of any cell's metal fraction in one step (a larger one is rejected and "
        "retried with a shorter step); 1 = no limit",
    )
    steady_rtol: float = Field(
        1e-8,
        gt=0,
        description="a constant drive is taken to have reached a steady state when the relative rates of "
        "change of T and V times the elapsed time fall below this",
    )
    stop_at_steady: bool = Field(False, description="end the run once a steady state is reached")
    max_steps: int = Field(100_000, gt=0, description="cap on accepted plus rejected steps")
    checkpoint_every: int = Field(
        10, gt=0, description="accepted steps between checkpoints (state.npz) that --resume continues from"
    )

    @field_validator("output_every", mode="before")
    @classmethod
    def _check_output_every(cls, value: Any) -> Any:
        if value is None or isinstance(value, str) and re.fullmatch(OUTPUT_STEPS, value):
            return value
        if isinstance(value, str):  # a time with units (this validator runs before Unit's)
            try:
                value = to_unit(value, "s")
            except UnitError as exc:
                raise _CrossError("time.output_every", f'{exc}; or "N steps"') from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise _CrossError("time.output_every", f'expected a time in s (> 0) or "N steps", got {value!r}')
        return float(value)

    @property
    def output_every_steps(self) -> int | None:
        """N of output_every = "N steps", else None."""
        v = self.output_every
        return int(v.split()[0]) if isinstance(v, str) else None


class Config(_Section):
    """A complete fem_peltier configuration (all SI units)."""

    geometry: Geometry = Field(default_factory=Geometry)
    material: Material = Field(default_factory=Material)
    drive: Drive = Field(default_factory=Drive)
    thermal: Thermal = Field(default_factory=Thermal)
    mesh: Mesh = Field(default_factory=Mesh)
    solver: Solver = Field(default_factory=Solver)
    time: Time = Field(default_factory=Time)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        _check_consistency(self)
        return self

    def __eq__(self, other: object) -> bool:
        """Two configurations are equal when every value is (resolved or not)."""
        if isinstance(other, Config):
            return self.model_dump() == other.model_dump()
        return NotImplemented

    # -- derived values -------------------------------------------------------------
    def resolved(self) -> ResolvedConfig:
        """A copy with every ``None`` default replaced by its derived value (a ResolvedConfig
        is returned as it is: a run resolves its configuration once)."""
        if isinstance(self, ResolvedConfig):
            return self
        g, m, s, me = self.geometry, self.material, self.solver, self.mesh
        L = g.length
        e_len = g.electrode_length if g.electrode_length is not None else 0.1 * L
        e_w = g.electrode_width if g.electrode_width is not None else 0.02 * L
        data = self.model_dump()
        data["geometry"].update(electrode_length=e_len, electrode_width=e_w)
        t0 = self.thermal.t0
        if self.thermal.model == "two" and (m.kappa_electron is None or m.kappa_lattice is None):
            ke, kl = two_temperature_kappas(m)  # numbers here: one part is kappa minus the other
            data["material"].update(kappa_electron=ke, kappa_lattice=kl)
        if self.thermal.model == "two" and "kappa" not in m.model_fields_set:
            ke, kl = two_temperature_kappas(m)
            data["material"]["kappa"] = value_at(ke, t0) + value_at(kl, t0)  # scales, substrate default
            m = m.model_copy(update={"kappa": data["material"]["kappa"]})
        data["material"]["kappa_substrate"] = m.kappa_substrate if m.kappa_substrate is not None else m.at("kappa", t0)
        data["material"]["kappa_metal"] = (
            data["material"]["kappa_metal"] if m.kappa_metal is not None else (data["material"]["kappa"])
        )
        size = me.size if me.size is not None else L / 20
        data["mesh"]["size"] = size
        data["mesh"]["electrode_size"] = me.electrode_size if me.electrode_size is not None else min(e_w / 2, size)
        data["solver"]["transition_width"] = s.transition_width if s.transition_width is not None else 0.01 * t0
        data["solver"]["initial_width"] = s.initial_width if s.initial_width is not None else 0.2 * t0
        data["solver"]["t_ceiling"] = s.t_ceiling if s.t_ceiling is not None else 10.0 * t0
        c = m.at("heat_capacity", t0)
        data["material"]["heat_capacity_substrate"] = (
            m.heat_capacity_substrate if m.heat_capacity_substrate is not None else c
        )
        if m.heat_capacity_metal is None:
            data["material"]["heat_capacity_metal"] = data["material"]["heat_capacity"]
        tm = self.time
        tau = self.thermal_time()
        t_end = tm.t_end if tm.t_end is not None else 20.0 * tau
        dt = tm.dt if tm.dt is not None else min(1e-3 * tau, t_end / 10)
        data["time"].update(
            t_end=t_end,
            dt=dt,
            dt_min=tm.dt_min if tm.dt_min is not None else min(1e-9 * tau, dt),
            dt_max=tm.dt_max if tm.dt_max is not None else max(t_end / 20, dt),
            output_every=tm.output_every if tm.output_every is not None else t_end / 50,
        )
        return ResolvedConfig.model_validate(data)

    def thermal_time(self) -> float:
        """tau = c h^2 / kappa (s): heat capacity and conductivity of the film at thermal.t0, h its thickness."""
        t0 = self.thermal.t0
        m = self.material
        return m.at("heat_capacity", t0) * self.geometry.thickness**2 / m.at("kappa", t0)

    @property
    def delta_seebeck(self) -> float:
        """Delta S = S_I - S_M (V/K) (of temperature laws: at T_MIT, where the phases meet)."""
        m = self.material
        return m.at("seebeck_insulator", m.t_mit) - m.at("seebeck_metal", m.t_mit)

    def law_range(self) -> tuple[float, float]:
        """[T_lo, T_hi] (K) over which temperature laws are checked and evaluated: thermal.t0 / 2
        (Peltier cooling below the sink) to solver.t_ceiling (default 10 T0; a hotter state is
        rejected as a runaway, so the run never uses a law above it)."""
        ceiling = self.solver.t_ceiling if self.solver.t_ceiling is not None else 10.0 * self.thermal.t0
        return 0.5 * self.thermal.t0, ceiling

    def groups(self) -> dict[str, float | None]:
        """Dimensionless groups (docs/physics.md) (J and P need a current drive)."""
        g, m, t0 = self.geometry, self.material, self.thermal.t0
        L, k, rho_i = g.length, m.at("kappa", t0), m.at("rho_insulator", t0)
        dS = self.delta_seebeck
        out: dict[str, float | None] = {
            "h_over_L": g.thickness / L,
            "W_over_L": g.width / L,
            "r": m.at("rho_metal", t0) / rho_i,
            "theta": m.t_mit / t0,
            "ZT0": dS**2 * t0 / (rho_i * k),
            "J": None,
            "P": None,
        }
        current = self.drive.current
        if current is not None:
            out["J"] = rho_i * current**2 / (k * L**2 * t0)
            out["P"] = abs(current) * abs(dS) / (k * L)
        return out

    def to_toml_dict(self) -> dict[str, Any]:
        """Plain dict for TOML output (``None`` values dropped: TOML has no null)."""

        def drop_none(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: drop_none(v) for k, v in value.items() if v is not None}
            if isinstance(value, list):
                return [drop_none(v) for v in value]
            return value

        return {sec: drop_none(vals) for sec, vals in self.model_dump().items()}


# Plausibility limits, SI: |value| outside [lo, hi] is taken for a unit mistake (it would
# also overflow the dimensionless groups or the mesh-size estimate). 0 stays allowed where
# the field allows it (substrate_thickness, current, voltage, Seebeck coefficients, ...).
_LIMITS: dict[str, tuple[float, float, str]] = {
    "geometry.length": (1e-9, 10.0, "m"),
    "geometry.width": (1e-9, 10.0, "m"),
    "geometry.thickness": (1e-9, 10.0, "m"),
    "geometry.substrate_thickness": (1e-9, 10.0, "m"),
    "geometry.electrode_length": (1e-9, 10.0, "m"),
    "geometry.electrode_width": (1e-9, 10.0, "m"),
    "material.rho_insulator": (1e-12, 1e12, "Ohm m"),
    "material.rho_metal": (1e-12, 1e12, "Ohm m"),
    "material.seebeck_insulator": (0.0, 1.0, "V/K"),
    "material.seebeck_metal": (0.0, 1.0, "V/K"),
    "material.seebeck_electrode": (0.0, 1.0, "V/K"),
    "material.kappa": (1e-6, 1e6, "W/(m K)"),
    "material.kappa_substrate": (1e-6, 1e6, "W/(m K)"),
    "material.kappa_metal": (1e-6, 1e6, "W/(m K)"),
    "material.heat_capacity": (1e2, 1e9, "J/(m^3 K)"),
    "material.heat_capacity_metal": (1e2, 1e9, "J/(m^3 K)"),
    "material.heat_capacity_substrate": (1e2, 1e9, "J/(m^3 K)"),
    "material.latent_heat": (0.0, 1e12, "J/m^3"),
    "drive.capacitance": (0.0, 1.0, "F"),
    "material.t_mit": (1e-3, 1e5, "K"),
    "material.hysteresis": (0.0, 1e5, "K"),
    "thermal.t0": (1e-3, 1e5, "K"),
    "thermal.interface_resistance": (0.0, 1.0, "m^2 K/W"),
    "drive.current": (0.0, 1e6, "A"),
    "drive.voltage": (0.0, 1e9, "V"),
    "drive.load_resistance": (0.0, 1e15, "Ohm"),
    "mesh.size": (1e-9, 10.0, "m"),
    "mesh.electrode_size": (1e-9, 10.0, "m"),
    "solver.transition_width": (1e-9, 1e5, "K"),
    "solver.initial_width": (1e-9, 1e5, "K"),
    "solver.sequencing_width": (1e-9, 1e5, "K"),
    "solver.t_ceiling": (1e-3, 1e7, "K"),
}


class ResolvedGeometry(Geometry):
    electrode_length: float
    electrode_width: float


class ResolvedMaterial(Material):
    kappa_substrate: float
    kappa_metal: float | PropertyLaw
    heat_capacity_substrate: float
    heat_capacity_metal: float | PropertyLaw


class ResolvedMesh(Mesh):
    size: float
    electrode_size: float


class ResolvedSolver(Solver):
    transition_width: float
    initial_width: float
    t_ceiling: float


class ResolvedTime(Time):
    t_end: float
    dt: float
    dt_min: float
    dt_max: float
    output_every: float | str


class ResolvedConfig(Config):
    """A Config whose derived defaults are all filled in (made by Config.resolved()).

    Functions that read derived values (cell sizes, electrode size, band widths) take this
    type, so that they cannot be handed an unresolved configuration and never derive the
    defaults a second time; its sections type those values as numbers, never None."""

    geometry: ResolvedGeometry
    material: ResolvedMaterial
    mesh: ResolvedMesh
    solver: ResolvedSolver
    time: ResolvedTime


# Above this estimated Ohmic rise (K) a drive is taken for a unit slip (drive.allow_implausible
# overrides it). Every preset and test case is below 300 K (J <= a few at T0 = 300 K); a film
# melts or evaporates at a few thousand kelvin, so 1e5 K (J = 333 at T0 = 300 K) leaves a wide
# margin for strongly driven cases and still catches amperes meant as milliamperes (J = 2e5).
MAX_OHMIC_RISE_K = 1e5


def ohmic_rise_estimate(cfg: Config, value: float | None = None) -> tuple[float, float]:
    """(current I_est in A, estimated Ohmic rise J T0 = rho_I I_est^2 / (kappa L^2) in K) of the
    drive (or of `value` in the drive's unit). Under voltage control I_est = V / (R_I + R_load) with
    R_I = rho_I L / (W h), the insulating film's end-to-end resistance."""
    g, m, d = cfg.geometry, cfg.material, cfg.drive
    t0 = cfg.thermal.t0
    rho_i, kappa = m.at("rho_insulator", t0), m.at("kappa", t0)  # laws: at the sink temperature
    try:  # extreme inputs (a length of 1e-300 m, a current of 1e200 A) give an infinite rise
        if d.current is not None:
            current = abs(d.current if value is None else value)
        else:
            volts = abs((d.voltage or 0.0) if value is None else value)
            current = volts / (rho_i * g.length / (g.width * g.thickness) + d.load_resistance)
        return current, rho_i * current**2 / (kappa * g.length**2)
    except (ZeroDivisionError, OverflowError):
        return math.inf, math.inf


def _check_drive_plausible(cfg: Config) -> None:
    """Refuse a drive whose estimated Ohmic rise is absurd, naming the likely unit slip."""
    d = cfg.drive
    if d.allow_implausible:
        return
    key, unit, value = ("drive.current", "A", d.current) if d.current is not None else ("drive.voltage", "V", d.voltage)
    if value is None:
        return
    current, rise = ohmic_rise_estimate(cfg)
    if not rise > MAX_OHMIC_RISE_K:
        return
    t0 = cfg.thermal.t0
    drives = f"{value:g} {unit}" if unit == "A" else f"{value:g} V (about {current:.3g} A through the insulating film)"
    slip = ""
    for prefix, scale in (("m", 1e-3), ("u", 1e-6)):
        if ohmic_rise_estimate(cfg, value * scale)[1] <= MAX_OHMIC_RISE_K:
            slip = f"; did you mean {value:g} {prefix}{unit} ({key} = {value * scale:g})?"
            break
    raise _CrossError(
        key,
        f"{drives}: J = {rise / t0:.3g} (rho_I I^2/(kappa L^2 T0)), an estimated Ohmic rise of {rise:.3g} K, "
        f"far above anything a film survives (limit {MAX_OHMIC_RISE_K:.0e} K){slip} "
        "Set drive.allow_implausible = true to run it anyway.",
    )


def _check_limits(cfg: Config) -> None:
    for key, (lo, hi, unit) in _LIMITS.items():
        sec, name = key.split(".")
        val = getattr(getattr(cfg, sec), name)
        if isinstance(val, PropertyLaw):  # a law: its value at the sink temperature
            val = value_at(val, cfg.thermal.t0)
        if val is None or val == 0:
            continue
        if not lo <= abs(val) <= hi:
            rng = f"|value| <= {hi:g} {unit}" if lo == 0 else f"{lo:g} to {hi:g} {unit}"
            raise _CrossError(key, f"expected {rng} (implausible magnitude; a unit mistake?), got {val:g}")


def _check_consistency(cfg: Config) -> None:
    """Cross-key checks that a single field cannot express (raise ValueError)."""
    _check_limits(cfg)
    g, m, d = cfg.geometry, cfg.material, cfg.drive
    if d.current is not None and d.voltage is not None:
        raise _CrossError(
            "drive.voltage",
            "set either drive.current or drive.voltage, not both "
            "(use --set drive.current=none to switch a preset to voltage control)",
        )
    if d.current is None and d.voltage is None:
        raise _CrossError("drive.current", "one of drive.current (A) or drive.voltage (V) is required")
    for key, val in (("drive.current", d.current), ("drive.voltage", d.voltage)):
        if val is not None and not math.isfinite(val):
            raise _CrossError(key, "expected a finite number")
    _check_drive_plausible(cfg)
    _check_waveform(cfg)
    _check_time(cfg)
    if m.t_mit <= cfg.thermal.t0:
        raise _CrossError("material.t_mit", f"expected T_MIT > thermal.t0 = {cfg.thermal.t0} K, got {m.t_mit} K")
    if m.t_mit - m.hysteresis / 2 <= cfg.thermal.t0:
        raise _CrossError("material.hysteresis", f"expected t_mit - hysteresis/2 > t0 = {cfg.thermal.t0} K")
    _check_laws(cfg)
    _check_two_temperature(cfg)
    if m.at("rho_metal", m.t_mit) >= m.at("rho_insulator", m.t_mit):
        at = "" if isinstance(m.rho_metal, float) and isinstance(m.rho_insulator, float) else " at T_MIT"
        raise _CrossError(
            "material.rho_metal", f"expected rho_metal < rho_insulator = {m.at('rho_insulator', m.t_mit)} Ohm m{at}"
        )
    L, W = g.length, g.width
    if g.electrodes == "point":
        e_len = g.electrode_length if g.electrode_length is not None else 0.1 * L
        e_w = g.electrode_width if g.electrode_width is not None else 0.02 * L
        if e_w >= W:
            raise _CrossError(
                "geometry.electrode_width", f"expected a patch narrower than the film width {W} m, got {e_w} m"
            )
        if 2 * e_len >= L:
            raise _CrossError(
                "geometry.electrode_length",
                f"expected 2 * electrode_length < length = {L} m (the patches would overlap), got {e_len} m",
            )
    if g.electrodes == "ends" and g.substrate_thickness == 0:
        for i, bc in enumerate(cfg.thermal.boundary or []):
            if bc.surface in ("x0", "xL"):
                raise _CrossError(
                    f"thermal.boundary[{i}].surface",
                    f"there is no surface '{bc.surface}': with geometry.electrodes = \"ends\" and no substrate the "
                    f"end faces are the electrodes (electrode_{'negative' if bc.surface == 'x0' else 'positive'})",
                )
    s = cfg.solver
    if s.t_ceiling is not None and s.t_ceiling <= cfg.thermal.t0:
        raise _CrossError(
            "solver.t_ceiling", f"expected a runaway ceiling above thermal.t0 = {cfg.thermal.t0} K, got {s.t_ceiling} K"
        )
    if s.transition_width is not None and s.initial_width is not None and s.initial_width < s.transition_width:
        raise _CrossError("solver.initial_width", "expected initial_width >= transition_width")
    me = cfg.mesh
    if me.size is not None and me.size > max(L, W, g.thickness):
        raise _CrossError(
            "mesh.size", f"expected a cell size smaller than the film ({max(L, W, g.thickness)} m), got {me.size} m"
        )
    if me.electrode_size is not None and me.size is not None and me.electrode_size > me.size:
        raise _CrossError("mesh.electrode_size", "expected electrode_size <= mesh.size")
    if me.file is not None and me.geo is not None:
        raise _CrossError("mesh.geo", "give either mesh.file or mesh.geo, not both")
    if me.geo is not None and not Path(me.geo).is_file():
        tried = os.path.abspath(me.geo)
        raise _CrossError("mesh.geo", f"no such gmsh script: {tried}")
    if d.terminal is not None and me.file is None and me.geo is None:
        raise _CrossError(
            "drive.terminal", "terminals need a user mesh with electrode_<name> surfaces (mesh.file or mesh.geo)"
        )
    if not is_device(cfg):
        for i, bc in enumerate(cfg.thermal.boundary or []):
            if bc.surface not in BOUNDARY_SURFACES:
                raise _CrossError(
                    f"thermal.boundary[{i}].surface",
                    f"no surface '{bc.surface}': expected one of {', '.join(BOUNDARY_SURFACES)} (named surface "
                    "groups of a user mesh need [[drive.terminal]] or mesh.geo)",
                )
    if me.file is not None and not Path(me.file).is_file():
        tried = os.path.abspath(me.file)
        given = "" if tried == me.file else f" (mesh.file = '{me.file}', relative to the current directory)"
        raise _CrossError("mesh.file", f"no such mesh file: {tried}{given}")


def is_device(cfg: Config) -> bool:
    """A user device mesh: terminals or a .geo script (its groups are named by the user)."""
    return cfg.drive.terminal is not None or cfg.mesh.geo is not None


TWO_TEMPERATURE_KEYS = ("kappa_electron", "kappa_lattice", "electron_lattice_coupling")


def _check_two_temperature(cfg: Config) -> None:
    """thermal.model = "two" needs the coupling and the split of kappa (kappa = kappa_e + kappa_l
    at thermal.t0 when all three are given); its keys mean nothing to the one-temperature model."""
    m, t0 = cfg.material, cfg.thermal.t0
    if cfg.thermal.model == "one":
        for key in TWO_TEMPERATURE_KEYS:
            if getattr(m, key) is not None:
                raise _CrossError(f"material.{key}", 'used by thermal.model = "two" only (the model is "one")')
        return
    if m.electron_lattice_coupling is None:
        raise _CrossError("material.electron_lattice_coupling", 'required by thermal.model = "two" (W/(m^3 K))')
    if m.kappa_electron is None and m.kappa_lattice is None:
        raise _CrossError(
            "material.kappa_electron",
            'thermal.model = "two" needs material.kappa_electron (and kappa_lattice, or kappa)',
        )
    if m.kappa_metal is not None and m.kappa_metal != m.kappa:
        raise _CrossError(
            "material.kappa_metal", 'not used by thermal.model = "two" (give kappa_electron / kappa_lattice)'
        )
    given = "kappa" in m.model_fields_set
    if m.kappa_electron is not None and m.kappa_lattice is not None:
        total = m.at("kappa_electron", t0) + m.at("kappa_lattice", t0)
        if given and abs(m.at("kappa", t0) - total) > 1e-9 * total:
            raise _CrossError(
                "material.kappa",
                f'with thermal.model = "two" kappa is kappa_electron + kappa_lattice = {total:.6g} W/(m K) at '
                f"thermal.t0, got {m.at('kappa', t0):.6g} (leave kappa out or make it the sum)",
            )
        return
    part = "kappa_electron" if m.kappa_electron is not None else "kappa_lattice"
    other = "kappa_lattice" if part == "kappa_electron" else "kappa_electron"
    if not isinstance(m.kappa, float) or not isinstance(getattr(m, part), float):
        raise _CrossError(f"material.{other}", "required when kappa or the other part is a temperature law")
    if not m.at(part, t0) < m.at("kappa", t0):
        raise _CrossError(
            f"material.{part}", f"must be below material.kappa = {m.kappa} W/(m K) (the other part is their difference)"
        )


def two_temperature_kappas(m: Material) -> tuple[float | PropertyLaw, float | PropertyLaw]:
    """(kappa_e, kappa_l) of thermal.model = "two": as given, or one of them kappa minus the other."""
    ke, kl = m.kappa_electron, m.kappa_lattice
    if ke is not None and kl is not None:
        return ke, kl
    if ke is not None:
        assert isinstance(ke, float) and isinstance(m.kappa, float)
        return ke, m.kappa - ke
    assert isinstance(kl, float) and isinstance(m.kappa, float)
    return m.kappa - kl, kl


def _check_waveform(cfg: Config) -> None:
    """The keys each drive.waveform needs, and only sensible combinations."""
    d = cfg.drive
    if d.waveform == "ramp" and d.rate is None:
        raise _CrossError("drive.rate", 'required for waveform "ramp" (A/s or V/s)')
    if d.waveform in ("pulse", "sine") and d.period is None:
        raise _CrossError("drive.period", f'required for waveform "{d.waveform}" (s)')
    if d.waveform == "pulse" and d.period is not None and d.rise_time > min(d.duty, 1 - d.duty) * d.period:
        raise _CrossError(
            "drive.rise_time",
            f"expected rise_time <= min(duty, 1 - duty) * period = {min(d.duty, 1 - d.duty) * d.period:g} s",
        )
    if d.waveform == "table":
        if d.table is None:
            raise _CrossError("drive.table", 'required for waveform "table": a CSV file of t (s), value rows')
        from .waveforms import WaveformError, read_waveform_table

        try:
            read_waveform_table(d.table)
        except WaveformError as exc:
            raise _CrossError("drive.table", str(exc)) from None
    elif d.table is not None:
        raise _CrossError("drive.table", 'only used with waveform = "table"')
    if d.capacitance > 0 and d.current is None and d.load_resistance == 0:
        raise _CrossError(
            "drive.capacitance",
            "a capacitor across an ideal voltage source does nothing: set drive.load_resistance > 0 (a source "
            "behind a load resistor) or drive the current",
        )


def _check_time(cfg: Config) -> None:
    tm = cfg.time
    if tm.t_end is not None and tm.dt is not None and tm.dt > tm.t_end:
        raise _CrossError("time.dt", f"expected a first step <= time.t_end = {tm.t_end:g} s, got {tm.dt:g} s")
    if tm.dt_min is not None and tm.dt_max is not None and tm.dt_min > tm.dt_max:
        raise _CrossError("time.dt_min", "expected dt_min <= dt_max")
    if tm.dt is not None and tm.dt_min is not None and tm.dt < tm.dt_min:
        raise _CrossError("time.dt", f"expected dt >= time.dt_min = {tm.dt_min:g} s")
    if tm.initial not in ("t0", "steady") and not Path(tm.initial).is_file():
        raise _CrossError(
            "time.initial", f'expected "t0", "steady" or a saved state file (state.npz); no such file: {tm.initial}'
        )


def _check_laws(cfg: Config) -> None:
    """Every temperature law finite (rho and kappa also > 0) over cfg.law_range()."""
    t_range = cfg.law_range()
    for name in LAW_KEYS:
        try:
            check_range(getattr(cfg.material, name), name, t_range)
        except LawError as exc:
            raise _CrossError(f"material.{name}", str(exc)) from None


def _check_petsc_option(key: str, value: Any) -> None:
    """One solver.petsc_options entry: a bare PETSc option name and a scalar value."""
    where = f"solver.petsc_options.{key}"
    if not key or key.startswith("-") or any(c.isspace() for c in key):
        raise _CrossError(
            where, "expected a PETSc option name without the leading '-' and without spaces (e.g. ksp_rtol)"
        )
    if not isinstance(value, (str, bool, int, float)):
        raise _CrossError(where, f"expected a string, number or boolean, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _CrossError(where, f"expected a finite number, got {value!r}")


class _CrossError(ValueError):
    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


# ---------------------------------------------------------------------------------------
# Loading, presets, overrides


def preset_names() -> list[str]:
    """Names of the built-in presets (the TOML files shipped in fem_peltier/presets)."""
    files = resources.files(PRESETS_PACKAGE).iterdir()
    return sorted(p.name[:-5] for p in files if p.name.endswith(".toml"))


def preset_data(name: str) -> dict[str, Any]:
    """The raw TOML dict of a preset."""
    if name not in preset_names():
        raise InputError("--preset", f"unknown preset '{name}'; expected one of {', '.join(preset_names())}")
    text = resources.files(PRESETS_PACKAGE).joinpath(f"{name}.toml").read_text()
    data = tomllib.loads(text)
    data.pop("description", None)
    return data


def preset_description(name: str) -> str:
    text = resources.files(PRESETS_PACKAGE).joinpath(f"{name}.toml").read_text()
    return tomllib.loads(text).get("description", "")


# ---------------------------------------------------------------------------------------
# Material presets (docs/materials.md): fem_peltier/presets/materials/NAME.toml, each a
# `description`, an advisory `suggested_t0` (K) and a [material] section

#: the film keys a material preset defines; the configuration's values of these keys are
#: replaced as a whole by --material (a key the preset leaves out falls back to its default),
#: every other [material] key (kappa_substrate, the electrodes' Seebeck coefficient) is kept
MATERIAL_FILM_KEYS = (
    "rho_insulator",
    "rho_metal",
    "seebeck_insulator",
    "seebeck_metal",
    "kappa",
    "kappa_metal",
    "t_mit",
    "hysteresis",
    "heat_capacity",
    "heat_capacity_metal",
    "latent_heat",
)


def _materials_dir() -> Any:
    return resources.files(PRESETS_PACKAGE).joinpath(MATERIALS_FOLDER)


def material_names() -> list[str]:
    """Names of the built-in material presets (`--material NAME`, `load_config(material=...)`)."""
    files = _materials_dir().iterdir()
    return sorted(p.name[:-5] for p in files if p.name.endswith(".toml"))


def _material_toml(name: str) -> dict[str, Any]:
    if not isinstance(name, str) or name not in material_names():
        raise InputError("--material", f"unknown material '{name}'; expected one of {', '.join(material_names())}")
    return tomllib.loads(_materials_dir().joinpath(f"{name}.toml").read_text())


def material_data(name: str) -> dict[str, Any]:
    """The [material] section of material preset `name` (an InputError naming the
    available ones when there is no such preset)."""
    return dict(_material_toml(name)["material"])


def material_description(name: str) -> str:
    return str(_material_toml(name).get("description", ""))


def material_suggested_t0(name: str) -> float | None:
    """The sink temperature (K) the preset suggests (advice only: --material never sets thermal.t0)."""
    t0 = _material_toml(name).get("suggested_t0")
    return float(t0) if t0 is not None else None


def apply_material(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of the config dict with material preset `name` overlaid on its [material]
    section: the film keys (MATERIAL_FILM_KEYS) come from the preset only, other keys stay."""
    mat = material_data(name)
    base = data.get("material", {})
    if not isinstance(base, dict):
        raise InputError("material", "expected a table of keys")
    kept = {k: v for k, v in base.items() if k not in MATERIAL_FILM_KEYS}
    return {**data, "material": {**kept, **mat}}


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file; a missing or malformed file is an InputError naming it."""
    p = Path(path)
    if not p.is_file():
        raise InputError(str(path), "config file not found")
    try:
        text = p.read_text()
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = first_line(exc)
        hint = ""
        at = re.search(r"at line (\d+)", msg) if isinstance(exc, tomllib.TOMLDecodeError) else None
        if at:
            lines = text.splitlines()
            lineno = int(at.group(1))
            line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
            found = re.search(r"=\s*(true|false)\b", line, flags=re.IGNORECASE)
            if found:
                hint = f"; write `{found.group(1).lower()}`: TOML booleans are lower case"
        raise InputError(str(path), f"not valid TOML ({msg}){hint}") from None
    if not any(isinstance(v, dict) for v in data.values()):
        what = f"only keys outside any section ({', '.join(data)})" if data else "nothing set"
        raise InputError(
            str(path),
            f"no configuration sections, {what}: a config file needs at least one of "
            f"{', '.join(f'[{s}]' for s in Config.model_fields)} (an empty file is refused rather than "
            "running the default case)",
        )
    return data


def _mesh_file_beside(data: dict[str, Any], toml: Path) -> dict[str, Any]:
    """`data` with a relative ``mesh.file`` (and a relative ``file`` of a material law table)
    made absolute against the folder of the TOML file that names it (so a case and its mesh and
    data can be moved together and run from anywhere)."""
    where = os.path.dirname(os.path.abspath(toml))
    for key in ("file", "geo"):
        mesh = data.get("mesh")
        file = mesh.get(key) if isinstance(mesh, dict) else None
        if isinstance(mesh, dict) and isinstance(file, str) and file and not os.path.isabs(file):
            data = {**data, "mesh": {**mesh, key: os.path.abspath(os.path.join(where, file))}}
    for section, key in (("drive", "table"), ("time", "initial")):
        sec = data.get(section)
        f = sec.get(key) if isinstance(sec, dict) else None
        if isinstance(sec, dict) and isinstance(f, str) and f and f not in ("t0", "steady") and not os.path.isabs(f):
            data = {**data, section: {**sec, key: os.path.abspath(os.path.join(where, f))}}
    mat = data.get("material")
    if isinstance(mat, dict):
        laws = {}
        for key, spec in mat.items():
            f = spec.get("file") if isinstance(spec, dict) else None
            if isinstance(f, str) and f and not os.path.isabs(f):
                laws[key] = {**spec, "file": os.path.abspath(os.path.join(where, f))}
        if laws:
            data = {**data, "material": {**mat, **laws}}
    return data


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse ``section.key=value``; the value is read as a TOML value, else as a string.

    ``none``/``null`` clear a key (TOML has no null).
    """
    if "=" not in text:
        raise InputError("--set", f"expected section.key=value, got '{text}'")
    lhs, rhs = text.split("=", 1)
    parts = lhs.strip().split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError("--set", f"expected section.key=value, got '{text}'")
    raw = rhs.strip()
    key = ".".join(parts[1:])  # "adapt.levels" for a key of a sub-table such as [mesh.adapt]
    if raw.lower() in ("none", "null"):
        return parts[0], key, None
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return parts[0], key, value


Overrides = list[str] | Mapping[str, Any]


def _override_items(overrides: Overrides) -> list[tuple[str, str, Any]]:
    """(section, key, value) of ``section.key=value`` strings, or of a mapping
    ``{"section.key": value}`` whose values are Python values (None clears a key)."""
    if not isinstance(overrides, Mapping):
        return [parse_override(text) for text in overrides]
    items = []
    for name, value in overrides.items():
        parts = str(name).strip().split(".")
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError("overrides", f"expected keys 'section.key' (e.g. 'mesh.size'), got {name!r}")
        items.append((parts[0], ".".join(parts[1:]), value))
    return items


def apply_overrides(data: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """Return a copy of the config dict with overrides applied: ``section.key=value`` strings
    (the value read as TOML) or a mapping ``{"section.key": value}`` of Python values."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for sec, key, value in _override_items(overrides):
        if sec not in Config.model_fields:
            raise InputError(
                f"{sec}.{key}", f"unknown section '{sec}'; expected one of {', '.join(Config.model_fields)}"
            )
        section = out.setdefault(sec, {})
        if not isinstance(section, dict):
            raise InputError(sec, "expected a table of keys")
        *tables, name = key.split(".")
        for table in tables:  # a sub-table such as [mesh.adapt]
            inner = section.get(table)
            section[table] = section = dict(inner) if isinstance(inner, dict) else {}
        section[name] = value
    return out


def from_dict(data: dict[str, Any]) -> Config:
    """Validate a config dict; the first problem becomes a one-line InputError."""
    try:
        cfg = Config.model_validate(data)
        cfg.resolved()  # the derived defaults must pass the cross-checks too
        return cfg
    except ValidationError as exc:
        raise _to_input_error(exc) from None


def _to_input_error(exc: ValidationError) -> InputError:
    err = exc.errors(include_url=False)[0]
    ctx_err = err.get("ctx", {}).get("error")
    if isinstance(ctx_err, _CrossError):
        return InputError(ctx_err.key, ctx_err.message)
    loc = ".".join(
        str(p) for p in err["loc"] if not (str(p).startswith("function-after") or str(p) in ("float", "int"))
    )
    loc = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", loc)  # list items: thermal.boundary[0].h
    typ = err["type"]
    if typ == "unit":  # a string with units that is not the key's (units.py): the message is complete
        return InputError(loc, err["msg"])
    if typ == "extra_forbidden":
        parts = loc.split(".")
        if len(parts) == 1:
            return InputError(loc, f"unknown section; expected one of {', '.join(Config.model_fields)}")
        if re.match(r"thermal\.boundary\[\d+\]\.", loc):
            known = ", ".join(BoundaryCondition.model_fields)
            return InputError(loc, f"unknown key; a [[thermal.boundary]] entry accepts {known}")
        section_cls: Any = Config.model_fields[parts[0]].annotation
        for table in parts[1:-1]:  # a sub-table such as [mesh.adapt]
            section_cls = section_cls.model_fields[table].annotation
        known = ", ".join(getattr(section_cls, "model_fields", {}))
        return InputError(loc, f"unknown key; [{'.'.join(parts[:-1])}] accepts {known}")
    given = err.get("input")
    if typ == "bool_type" and isinstance(given, str) and given.strip().lower() in ("true", "false"):
        word = given.strip().lower()
        return InputError(loc, f"write `{word}`: TOML booleans are lower case (got {given!r})")
    return InputError(loc or "config", f"{err['msg']} (got {given!r})")


def load_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: Overrides | None = None,
    material: str | None = None,
) -> Config:
    """Defaults < preset or TOML file < material preset < overrides, validated. Exactly one of
    path/preset may be given.

    `material` names a material preset (`material_names()`, docs/materials.md): its [material]
    section replaces the film properties of the configuration (MATERIAL_FILM_KEYS; the
    substrate and electrode keys stay), before the overrides. It never changes thermal.t0: a
    material whose T_MIT is below the configuration's sink temperature (V2O3) needs
    ``thermal.t0`` set in the overrides (the error says so).
    `overrides` is a list of ``"section.key=value"`` strings (the value read as TOML, as with
    ``--set``) or a dict ``{"section.key": value}`` of Python values (None clears a key).
    A dimensional key takes a number (SI) or a string with units, ``{"drive.current": "10 mA"}``.
    """
    if path is not None and preset is not None:
        raise InputError("--preset", "give either a CONFIG.toml or --preset, not both")
    data: dict[str, Any] = {}
    if preset is not None:
        data = preset_data(preset)
    elif path is not None:
        data = _mesh_file_beside(read_toml(path), Path(path))
    if material is not None:
        data = apply_material(data, material)
    data = apply_overrides(data, overrides if isinstance(overrides, Mapping) else list(overrides or []))
    try:
        return from_dict(data)
    except InputError as exc:
        raise _with_material_hint(exc, material) from None


def _with_material_hint(exc: InputError, material: str | None) -> InputError:
    """A T_MIT-below-T0 error of a material preset, with the sink temperature it suggests."""
    if material is None or exc.key not in ("material.t_mit", "material.hysteresis") or "t0" not in exc.message:
        return exc
    t0 = material_suggested_t0(material)
    if t0 is None:
        return exc
    return InputError(
        exc.key,
        f"{exc.message} (material preset '{material}' switches below the sink temperature of this "
        f"configuration; set one below its T_MIT, e.g. --set thermal.t0={t0:g})",
    )
