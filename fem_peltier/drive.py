"""What drives the film: a current, a voltage, or a source voltage behind a load resistor.

The positive electrode is at potential V, the negative one at 0. Newton only needs
the constraint the drive puts on the total current I entering at the positive
electrode, as a target and its derivative in V (docs/physics.md):

    current:   I = I_drive                        dI_target/dV = 0
    source:    I = (V_source - V) / R_load         dI_target/dV = -1 / R_load
    voltage:   V = V_drive (no constraint on I: V is not an unknown)

Under current and source control V is the bordered unknown of the Newton step.
`value` is the present drive (A for current, V otherwise); continuation scales it
from a fraction of the configured one up to the configured one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CURRENT = "current"
VOLTAGE = "voltage"
SOURCE = "source"


@dataclass
class Drive:
    """The drive mode, its configured and present value, and the load resistor."""

    mode: str  # CURRENT, VOLTAGE or SOURCE
    configured: float  # the configured drive: A (current) or V (voltage, source voltage)
    value: float  # the present drive (continuation scales it), same unit
    load_resistance_Ohm: float
    current_scale_A: float  # scale of the current residual in the Newton merit

    @classmethod
    def from_config(cls, drive, resistance_scale_Ohm: float) -> Drive:
        """The drive of a [drive] section; `resistance_scale_Ohm` (a crude film resistance)
        sets the current scale under voltage and source control."""
        R_load = float(drive.load_resistance)
        if drive.current is not None:
            I = float(drive.current)
            return cls(CURRENT, I, I, R_load, abs(I) or 1.0)
        V = float(drive.voltage)
        if R_load > 0:
            return cls(SOURCE, V, V, R_load, abs(V) / (resistance_scale_Ohm + R_load) or 1.0)
        return cls(VOLTAGE, V, V, R_load, abs(V) / resistance_scale_Ohm or 1.0)

    @property
    def controls_current(self) -> bool:
        """True when the current is constrained and V is an unknown (bordered Newton step)."""
        return self.mode != VOLTAGE

    def target_current(self, V: float) -> tuple[float, float]:
        """(I_target, dI_target/dV) of the bordered constraint I(u) = I_target(V), A and A/V."""
        if self.mode == CURRENT:
            return self.value, 0.0
        return (self.value - V) / self.load_resistance_Ohm, -1.0 / self.load_resistance_Ohm

    def initial_voltage(self, resistance_scale_Ohm: float) -> float:
        """A first guess of the electrode voltage V from the crude film resistance."""
        if self.mode == CURRENT:
            return self.value * resistance_scale_Ohm
        if self.mode == SOURCE:
            return self.value * resistance_scale_Ohm / (resistance_scale_Ohm + self.load_resistance_Ohm)
        return self.value


def potential_ratio(new: float, old: float) -> float:
    """Factor that carries a solution from drive `old` to drive `new`: exact for a fixed phase
    pattern (the problem is linear in phi at fixed T); 1 where that makes no sense."""
    if old != 0.0 and math.isfinite(old) and new != 0.0:
        return new / old
    return 1.0
