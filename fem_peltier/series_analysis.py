"""What a transient's time series says: is it periodic at its end, and does its energy close (numpy only).

Periodicity.
Over the last half of the record the signal's mid level (max + min) / 2 is crossed upwards
at times found by linear interpolation between samples; the periods are the gaps between
successive crossings. The record is periodic when at least PERIODS_NEEDED periods are
found, the last ones agree within `rtol` of their mean, the swings of the last two periods
agree within 2 rtol (a decaying or growing oscillation is not periodic), and the signal's swing is more
than `min_swing` of its mean magnitude (a constant signal with round-off wiggles is not an
oscillation). The amplitude is half the swing (max - min) over the last period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERIODS_NEEDED = 3


@dataclass
class Periodicity:
    period_s: float
    amplitude: float  # half the peak-to-peak swing, in the signal's unit
    mean: float  # mean over the last period
    periods: int  # full periods found in the window


def upward_crossings(t: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Times where y crosses `level` upwards (linear between samples)."""
    below, above = y[:-1] < level, y[1:] >= level
    i = np.flatnonzero(below & above)
    frac = (level - y[i]) / (y[i + 1] - y[i])
    return t[i] + frac * (t[i + 1] - t[i])


def detect_periodic(t: np.ndarray, y: np.ndarray, rtol: float = 0.02, min_swing: float = 1e-3) -> Periodicity | None:
    """The period of the end of (t, y), or None when it is not periodic (module docstring)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.size < 8:
        return None
    window = t >= t[0] + 0.5 * (t[-1] - t[0])
    tw, yw = t[window], y[window]
    lo, hi = float(yw.min()), float(yw.max())
    if hi - lo <= min_swing * max(abs(hi), abs(lo), 1e-300):
        return None
    crossings = upward_crossings(tw, yw, 0.5 * (lo + hi))
    if crossings.size < PERIODS_NEEDED + 1:
        return None
    periods = np.diff(crossings)[-PERIODS_NEEDED:]
    mean = float(periods.mean())
    if np.max(np.abs(periods - mean)) > rtol * mean:
        return None
    swings = []
    for a, b in ((crossings[-3], crossings[-2]), (crossings[-2], crossings[-1])):
        part = y[(t >= a) & (t <= b)]
        swings.append(float(part.max() - part.min()) if part.size else 0.0)
    if abs(swings[1] - swings[0]) > 2 * rtol * max(swings):  # growing or decaying: not (yet) periodic
        return None
    last = (t >= crossings[-2]) & (t <= crossings[-1])
    yl = y[last]
    return Periodicity(mean, 0.5 * float(yl.max() - yl.min()), float(yl.mean()), int(np.diff(crossings).size))


def integrate_steps(t: np.ndarray, rate: np.ndarray, t_start: float, rate_start: float | None = None) -> float:
    """Integral of a rate sampled at the accepted steps t_1 < t_2 < ... from t_start: the
    trapezoid rule between steps and, for the first step, the trapezoid with `rate_start` at
    t_start, or the rate at its end when there is none (the backward-Euler first step)."""
    t, rate = np.asarray(t, dtype=float), np.asarray(rate, dtype=float)
    if t.size == 0:
        return 0.0
    first = rate[0] if rate_start is None else 0.5 * (rate[0] + rate_start)
    return float(first * (t[0] - t_start) + np.sum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t)))


def energy_closure(
    t: np.ndarray, net_heat_W: np.ndarray, stored_J: np.ndarray, t_start: float, stored_start_J: float
) -> tuple[float, float]:
    """(integral of the net heat (sources + heat flowing in - heat leaving) over the run in J,
    relative mismatch with the change of the stored energy): the energy check of a transient,
    |integral - dE| / max(|dE|, integral of |net heat|)."""
    gained = integrate_steps(t, net_heat_W, t_start)
    dE = float(stored_J[-1] - stored_start_J) if len(stored_J) else 0.0
    scale = max(abs(dE), integrate_steps(t, np.abs(net_heat_W), t_start), 1e-300)
    return gained, abs(gained - dE) / scale
