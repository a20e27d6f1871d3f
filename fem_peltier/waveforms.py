"""Drive waveforms of a transient: the drive (A or V) as a function of time, and its corners.

    drive(t) = offset + amplitude * shape(t)            (drive.waveform, docs/transient.md)

    dc      shape = 1
    ramp    shape = min(1, rate t / |amplitude|)                     corner at |amplitude| / rate
    pulse   a trapezoid of period P: 0 -> 1 in rise_time from t = k P, high until k P + duty P,
            1 -> 0 in rise_time; corners at the four ends of the edges
    sine    shape = sin(2 pi t / P)
    table   drive(t) = the CSV's values, linear between rows, held after the last (offset and
            amplitude unused); a corner at every row

The time stepper never steps over a corner (`next_corner`), so a pulse edge or the end of
a ramp is hit exactly. Needs no DOLFINx (config.py reads the table to check it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .files import read_two_columns


class WaveformError(ValueError):
    """A waveform table that cannot be used (one line; config.py adds the key)."""


def read_waveform_table(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(t in s, value) of a CSV with a header row and rows t, value; t >= 0 strictly increasing."""
    try:
        t, v = read_two_columns(path, "t, value", "t_s,current_A")
    except ValueError as exc:
        raise WaveformError(str(exc).replace("no such file", "no such waveform file")) from None
    ts, vs = np.asarray(t), np.asarray(v)
    if not (np.isfinite(ts).all() and np.isfinite(vs).all()):
        raise WaveformError(f"{path}: expected finite numbers")
    if ts[0] < 0 or not (np.diff(ts) > 0).all():
        raise WaveformError(f"{path}: expected times t >= 0 s, strictly increasing")
    return ts, vs


@dataclass(frozen=True)
class Waveform:
    """drive(t) = offset + amplitude * shape(t) (module docstring)."""

    kind: str  # "dc", "ramp", "pulse", "sine", "table"
    amplitude: float  # A or V
    offset: float = 0.0
    rate: float = math.inf  # A/s or V/s (ramp)
    period: float = math.inf  # s (pulse, sine)
    duty: float = 0.5
    rise_time: float = 0.0  # s (pulse)
    table_t: tuple[float, ...] = ()
    table_value: tuple[float, ...] = ()

    @classmethod
    def from_drive(cls, drive) -> Waveform:
        """The waveform of a [drive] section (the drive value is the default amplitude)."""
        base = drive.current if drive.current is not None else drive.voltage
        amp = float(drive.amplitude) if drive.amplitude is not None else float(base)
        kw: dict = {"kind": drive.waveform, "amplitude": amp, "offset": float(drive.offset)}
        if drive.waveform == "ramp":
            kw["rate"] = float(drive.rate)
        if drive.waveform in ("pulse", "sine"):
            kw.update(period=float(drive.period), duty=float(drive.duty), rise_time=float(drive.rise_time))
        if drive.waveform == "table":
            t, v = read_waveform_table(drive.table)
            kw.update(table_t=tuple(t), table_value=tuple(v))
        return cls(**kw)

    def shape(self, t: float) -> float:
        """The dimensionless shape of dc, ramp, pulse and sine at time t (s)."""
        if self.kind == "dc":
            return 1.0
        if self.kind == "ramp":
            return min(1.0, self.rate * t / abs(self.amplitude)) if self.amplitude else 1.0
        if self.kind == "sine":
            return math.sin(2 * math.pi * t / self.period)
        # pulse: position in the period
        P, r = self.period, self.rise_time
        s = t - math.floor(t / P) * P
        high_end = self.duty * P
        if s < r:
            return s / r
        if s < high_end:
            return 1.0
        if s < high_end + r:
            return 1.0 - (s - high_end) / r
        return 0.0

    def __call__(self, t: float) -> float:
        """drive(t) in A or V."""
        if self.kind == "table":
            return float(np.interp(t, self.table_t, self.table_value))
        return self.offset + self.amplitude * self.shape(t)

    def corners(self, t_end: float) -> list[float]:
        """Times in (0, t_end] where the waveform has a kink or a jump."""
        if self.kind == "ramp" and self.amplitude:
            out = [abs(self.amplitude) / self.rate]
        elif self.kind == "table":
            out = list(self.table_t)
        elif self.kind == "pulse":
            P, r, d = self.period, self.rise_time, self.duty * self.period
            out = []
            k = 0
            while k * P <= t_end:
                out += [k * P, k * P + r, k * P + d, k * P + d + r]
                k += 1
        else:
            out = []
        return sorted({c for c in out if 0.0 < c <= t_end})

    def constant_after(self, t: float) -> bool:
        """True when drive(t') = drive(t) for every t' >= t (a steady state may be reached)."""
        if self.kind == "dc":
            return True
        if self.kind == "ramp":
            return not self.amplitude or self.rate * t >= abs(self.amplitude)
        if self.kind == "table":
            return t >= self.table_t[-1]
        return False

    def peak(self) -> float:
        """The largest |drive(t)| over all t (A or V)."""
        if self.kind == "table":
            return float(np.max(np.abs(self.table_value)))
        if self.kind == "sine":
            return abs(self.offset) + abs(self.amplitude)
        if self.kind == "dc":
            return abs(self.offset + self.amplitude)
        return max(abs(self.offset), abs(self.offset + self.amplitude))

    def resolution_step(self) -> float:
        """The longest step that resolves the waveform's shape (s): period / 20 for pulse and sine."""
        return self.period / 20 if self.kind in ("pulse", "sine") else math.inf
