"""What the validation suite is made of: levels and parts, result rows and checks, the meshes of each part.

A check solves, measures, compares with its closed form and returns a `Check` holding
rows of (quantity, computed, expected, error, tolerance, pass), the raw data and the
pictures it drew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["quick", "full"]

SUITE = ("eq8_eq9", "eq11_vi", "peltier", "eq14", "mesh", "figures", "regime", "contacts", "two_temperature")
#: the contacts study: metal contacts (electrode Seebeck 0) with the Seebeck EMF in the current
CONTACT_OVERRIDES = ("thermal.seebeck_emf=true", "material.seebeck_electrode=0.0")
#: (J, P) points of the regime map solved again with contacts (each in REGIME_GRID at its level)
CONTACT_REGIME_POINTS = {
    "quick": ((0.2, 0.2), (0.02, 0.2), (0.2, 0.02), (0.02, 0.02)),
    "full": ((0.2, 0.2), (0.02, 0.4), (0.05, 0.4), (0.2, 0.02)),
}
FIGURE_MESH = {"quick": ["mesh.size=1e-4", "mesh.electrode_size=2e-5"], "full": []}
REGIME_GRID = {"quick": ((0.02, 0.2), (0.02, 0.2)), "full": None}
REGIME_MESH = {
    "quick": ["mesh.size=2e-4", "mesh.electrode_size=4e-5"],
    "full": ["mesh.size=1e-4", "mesh.electrode_size=2e-5"],
}


@dataclass
class Row:
    """One compared quantity: |computed - expected| (abs or rel, see `kind`) <= tolerance."""

    quantity: str
    computed: float
    expected: float | None
    error: float | None
    tolerance: float | None
    passed: bool | None
    kind: str = "abs"  # "abs", "rel" or "info" (no comparison)
    note: str = ""


@dataclass
class Check:
    """A validation check: its rows, raw data, pictures (file names) and a short text."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    text: str = ""
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self.rows)

    def compare(
        self, quantity: str, computed: float, expected: float, tolerance: float, kind: str = "abs", note: str = ""
    ) -> Row:
        """Add a row; `kind` "rel" compares |c - e| / |e| with the tolerance."""
        err = abs(computed - expected)
        if kind == "rel":
            err = err / abs(expected) if expected != 0 else math.inf
        ok = bool(math.isfinite(computed) and err <= tolerance)
        row = Row(quantity, float(computed), float(expected), float(err), float(tolerance), ok, kind, note)
        self.rows.append(row)
        return row

    def info(self, quantity: str, computed: float, expected: float | None = None, note: str = "") -> Row:
        """Add a reported, not compared, row (error = computed - expected if both given)."""
        err = None if expected is None else float(computed - expected)
        row = Row(
            quantity, float(computed), None if expected is None else float(expected), err, None, None, "info", note
        )
        self.rows.append(row)
        return row


def preset_config(preset: str, overrides: list[str]):
    """A preset with `overrides` (section.key=value), loaded and resolved."""
    import fem_peltier as fp

    return fp.load_config(preset=preset, overrides=overrides).resolved()
