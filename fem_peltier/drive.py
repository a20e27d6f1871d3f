"""What drives the film: a current, a voltage, or a source voltage behind a load resistor.

The positive electrode is at potential V, the negative one at 0. Newton only needs
the constraint the drive puts on the total current I entering at the positive
electrode, as a target and its derivative in V (docs/physics.md):

    current:   I = I_drive                        dI_target/dV = 0
    source:    I = (V_source - V) / R_load         dI_target/dV = -1 / R_load
    voltage:   V = V_drive (no constraint on I: V is not an unknown)

In a transient a capacitor C (drive.capacitance) across the film takes C dV/dt of the
source's current, dV/dt = a0 V + h by the time scheme (a0 and h set per step, both 0 in
a steady state, where the capacitor carries no current):

    current:   I = I_drive - C (a0 V + h)                 dI_target/dV = -C a0
    source:    I = (V_source - V) / R_load - C (a0 V + h)  dI_target/dV = -1 / R_load - C a0

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
    capacitance_F: float = 0.0  # capacitor across the film (transient only)
    dvdt_a0: float = 0.0  # dV/dt = dvdt_a0 V + dvdt_history (1/s, V/s): set by the time scheme
    dvdt_history: float = 0.0

    @classmethod
    def from_config(cls, drive, resistance_scale_Ohm: float) -> Drive:
        """The drive of a [drive] section; `resistance_scale_Ohm` (a crude film resistance)
        sets the current scale under voltage and source control."""
        R_load = float(drive.load_resistance)
        C = float(drive.capacitance)
        scale = abs(drive.amplitude) if drive.amplitude is not None else 0.0  # a waveform starting at 0
        if drive.current is not None:
            I = float(drive.current)
            return cls(CURRENT, I, I, R_load, abs(I) or scale or 1.0, C)
        V = float(drive.voltage)
        if R_load > 0:
            return cls(SOURCE, V, V, R_load, (abs(V) or scale) / (resistance_scale_Ohm + R_load) or 1.0, C)
        return cls(VOLTAGE, V, V, R_load, (abs(V) or scale) / resistance_scale_Ohm or 1.0, C)

    @property
    def controls_current(self) -> bool:
        """True when the current is constrained and V is an unknown (bordered Newton step)."""
        return self.mode != VOLTAGE

    def target_current(self, V: float) -> tuple[float, float]:
        """(I_target, dI_target/dV) of the bordered constraint I(u) = I_target(V), A and A/V."""
        i_cap = self.capacitance_F * (self.dvdt_a0 * V + self.dvdt_history)
        di_cap = self.capacitance_F * self.dvdt_a0
        if self.mode == CURRENT:
            return self.value - i_cap, -di_cap
        return (self.value - V) / self.load_resistance_Ohm - i_cap, -1.0 / self.load_resistance_Ohm - di_cap

    def capacitor_current(self, V: float) -> float:
        """C dV/dt (A) by the present time scheme (0 in a steady state)."""
        return self.capacitance_F * (self.dvdt_a0 * V + self.dvdt_history)

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
