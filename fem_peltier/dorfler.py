"""Dörfler (bulk) marking of cells for refinement, independent of the mesh partition (issue 18).

Given per-cell error indicators eta_K >= 0, mark the smallest set of the largest ones whose
squares carry a fraction `fraction` of the total:

    sum over marked K of eta_K^2  >=  fraction * sum over all K of eta_K^2.

The set is {K : eta_K >= theta} for the largest threshold theta that still reaches the
fraction. theta is found by bisection on global sums (allreduce), never by sorting the
cells of one rank, so the marked set depends only on the indicator values: the same cells are
marked in serial and under mpirun, whatever the partition (cells with equal values are all
marked or all left). Numpy and mpi4py only.
"""

from __future__ import annotations

import numpy as np

BISECTION_STEPS = 200


def dorfler_threshold(eta: np.ndarray, fraction: float, comm=None) -> float:
    """The threshold theta of Dörfler marking (module docstring) over the owned cells `eta` of
    every rank (`comm` an mpi4py communicator; None: serial). 0 < fraction <= 1."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"Dörfler fraction must be in (0, 1], got {fraction}")
    eta = np.asarray(eta, dtype=float)
    if (eta < 0).any() or not np.isfinite(eta).all():
        raise ValueError("error indicators must be finite and >= 0")

    def total(op_values: np.ndarray, op: str) -> float:
        local = float(op_values.sum()) if op == "sum" else float(op_values.max(initial=0.0))
        if comm is None:
            return local
        from mpi4py import MPI

        return comm.allreduce(local, op=MPI.SUM if op == "sum" else MPI.MAX)

    sq = eta**2
    target = fraction * total(sq, "sum")
    hi = total(eta, "max")
    if hi == 0.0:
        return 0.0
    lo = 0.0  # marking everything (theta = 0) always reaches the fraction
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if total(sq[eta >= mid], "sum") >= target:
            lo = mid
        else:
            hi = mid
    # lo reaches the fraction; no value lies strictly between lo and hi, so {eta >= lo} is the set
    return lo


def dorfler_mark(eta: np.ndarray, fraction: float, comm=None) -> np.ndarray:
    """Boolean mask of the marked cells among `eta` (this rank's owned cells); none when every
    indicator is zero (nothing to refine)."""
    theta = dorfler_threshold(eta, fraction, comm)
    eta = np.asarray(eta, dtype=float)
    if theta == 0.0:
        return np.zeros(eta.shape, dtype=bool)
    return eta >= theta
