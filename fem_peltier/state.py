"""A solved (or trial) state of the coupled problem, as one dataclass.

Continuation saves it before an attempt that may fail and restores it after; sweeps
checkpoint it between points; mesh sequencing builds the finer mesh's state from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class State:
    """Everything a failed attempt may change, as local (owned + ghost) arrays."""

    u: np.ndarray  # the unknowns in the state-vector layout (fields.Unknowns)
    V: float  # positive-electrode potential (V); the negative one is at 0 V
    band_centre_K: np.ndarray  # DG0 band centres: the hysteresis memory
    phase: np.ndarray  # DG0 metal fraction m
    drive_value: float | None = None  # the present drive (A or V); None keeps the problem's
    fixed_V: np.ndarray | None = None  # potentials of the fixed contacts (V); None keeps the problem's
    aux_V: np.ndarray | None = None  # potentials of the aux contacts (V); None keeps the problem's
