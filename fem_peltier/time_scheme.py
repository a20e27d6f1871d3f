"""Linear multistep schemes with variable steps, their predictors and local error estimates.

With steps h = t_(n+1) - t_n, h1 = t_n - t_(n-1), h2 = t_(n-1) - t_(n-2) and w = h / h1:

    backward Euler   dy/dt ~ (y_(n+1) - y_n) / h
    BDF2             dy/dt ~ [(1 + 2w)/(1 + w) y_(n+1) - (1 + w) y_n + w^2/(1 + w) y_(n-1)] / h

The predictor extrapolates the accepted levels with the polynomial through the last
k + 1 of them (k = 1 linear, k = 2 quadratic): it is Newton's start and the error
estimate's reference. For a scheme of order p with predictor of degree p (Milne's device,
docs/transient.md), y_(n+1) - y_pred = (C_pred + C_scheme) y^(p+1) to leading order, so

    local error ~ C_scheme / (C_pred + C_scheme) (y_(n+1) - y_pred),

    backward Euler   C_scheme = h^2 / 2,                        C_pred = h (h + h1) / 2
    BDF2             C_scheme = (1 + w)^2 / (6 w (1 + 2w)) h^3,  C_pred = h (h + h1)(h + h1 + h2) / 6

(checked on y' = -y: the factor is 1/3 for backward Euler and 2/11 for BDF2 at equal steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKWARD_EULER = "backward_euler"
BDF2 = "bdf2"


def scheme_order(scheme: str) -> int:
    return 2 if scheme == BDF2 else 1


def coefficients(order: int, h: float, h1: float | None) -> tuple[float, float, float]:
    """(a0, a1, a2) of dy/dt ~ a0 y_(n+1) + a1 y_n + a2 y_(n-1) (1/s) for a step h (s)."""
    if order == 1 or h1 is None:
        return 1.0 / h, -1.0 / h, 0.0
    w = h / h1
    return (1 + 2 * w) / ((1 + w) * h), -(1 + w) / h, w * w / ((1 + w) * h)


def error_factor(order: int, steps: list[float]) -> float:
    """C_scheme / (C_pred + C_scheme) for steps [h, h1(, h2)] (module docstring)."""
    h, h1 = steps[0], steps[1]
    if order == 1:
        return (h * h / 2) / (h * (h + h1) / 2 + h * h / 2)
    h2 = steps[2]
    w = h / h1
    c_scheme = (1 + w) ** 2 / (6 * w * (1 + 2 * w)) * h**3
    c_pred = h * (h + h1) * (h + h1 + h2) / 6
    return c_scheme / (c_pred + c_scheme)


@dataclass
class Level:
    """One accepted time level: t (s), the state vector u, the electrode voltage V (V), the
    metal fraction m as solved (before any hysteresis update) and the band centres after it."""

    t: float
    u: np.ndarray
    V: float
    m: np.ndarray
    band_centre_K: np.ndarray
    drive_value: float | None = None  # the drive it was solved at (A or V); None: unknown


def lagrange_weights(times: list[float], t: float) -> np.ndarray:
    """Weights of the values at `times` in the polynomial through them, evaluated at t."""
    w = np.ones(len(times))
    for i, ti in enumerate(times):
        for j, tj in enumerate(times):
            if i != j:
                w[i] *= (t - tj) / (ti - tj)
    return w


def extrapolate(levels: list[Level], t: float, degree: int) -> tuple[np.ndarray, float]:
    """(u, V) at t from the polynomial of `degree` through the last degree + 1 levels."""
    use = levels[-(degree + 1) :]
    w = lagrange_weights([lv.t for lv in use], t)
    u = sum(wi * lv.u for wi, lv in zip(w, use, strict=True))
    V = float(sum(wi * lv.V for wi, lv in zip(w, use, strict=True)))
    return np.asarray(u), V
