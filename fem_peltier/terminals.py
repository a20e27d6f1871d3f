"""The terminals of a run: which electrode is driven, which are held, which float.

A film mesh has two: the negative patch at 0 V and the positive one, the drive. A user
device mesh has one per [[drive.terminal]] (config.main_terminal picks the driven one):

    main    the drive (drive.py): its current (V unknown, bordered) or its voltage
    fixed   a voltage terminal, phi = V_k (the reference; V_k scales with the drive)
    aux     a current terminal or a floating probe: V_k unknown, bordered by I_k = I_target
            (I_target = the configured current times the drive's scale; 0 for a probe)

The potentials of fixed and aux terminals live in bcs.Electrodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ResolvedConfig, main_terminal
from .mesh_data import FilmMesh

MAIN, FIXED, AUX = "main", "fixed", "aux"


@dataclass(frozen=True)
class TerminalSpec:
    """One terminal: its name, facet tag, role and configured value."""

    name: str
    tag: int
    role: str  # MAIN, FIXED or AUX
    voltage_V: float = 0.0  # FIXED: the configured potential
    current_A: float = 0.0  # AUX: the configured current into the film (0: a floating probe)
    floating: bool = False


def terminal_specs(cfg: ResolvedConfig, fm: FilmMesh) -> list[TerminalSpec]:
    """The terminals of `cfg` on `fm`, in the order configured (film mesh: negative, positive)."""
    terms = cfg.drive.terminal
    if terms is None:
        return [
            TerminalSpec("negative", fm.electrodes["negative"], FIXED, 0.0),
            TerminalSpec("positive", fm.electrodes["positive"], MAIN),
        ]
    main = main_terminal(terms)
    out = []
    for t in terms:
        tag = fm.electrodes[t.name]
        if t is main:
            out.append(TerminalSpec(t.name, tag, MAIN))
        elif t.voltage is not None:
            out.append(TerminalSpec(t.name, tag, FIXED, voltage_V=float(t.voltage)))
        else:
            out.append(TerminalSpec(t.name, tag, AUX, current_A=float(t.current or 0.0), floating=t.floating))
    return out


def terminal_kind(t: TerminalSpec) -> str:
    """What the user configured: "voltage", "current" or "floating" (the drive's own kind is
    the drive mode)."""
    if t.role == FIXED:
        return "voltage"
    return "floating" if t.floating else "current"


def reference_and_driven(specs: list[TerminalSpec]) -> tuple[TerminalSpec, TerminalSpec]:
    """(the reference: the first voltage terminal, the driven terminal): the pair a film mesh
    calls its negative and positive electrodes."""
    return next(t for t in specs if t.role == FIXED), next(t for t in specs if t.role == MAIN)
