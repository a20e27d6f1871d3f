"""Dörfler marking (issue 18 groundwork): the smallest set of largest indicators carrying the
fraction, the same set whatever the partition (checked under mpirun -n 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_runner import mpirun, python
from fem_peltier.dorfler import dorfler_mark, dorfler_threshold


def _brute(eta: np.ndarray, fraction: float) -> np.ndarray:
    """Sort descending, take the shortest prefix reaching the fraction, plus every tie."""
    order = np.argsort(-eta, kind="stable")
    cum = np.cumsum(eta[order] ** 2)
    k = int(np.searchsorted(cum, fraction * cum[-1] * (1 - 1e-15))) + 1
    theta = eta[order][k - 1]
    return eta >= theta


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 1.0])
def test_marks_the_smallest_bulk(fraction):
    rng = np.random.default_rng(3)
    eta = rng.lognormal(size=5000)
    eta[::7] = eta[3]  # ties
    mark = dorfler_mark(eta, fraction)
    assert np.array_equal(mark, _brute(eta, fraction))
    assert np.sum(eta[mark] ** 2) >= fraction * np.sum(eta**2) * (1 - 1e-12)


def test_edge_cases():
    assert not dorfler_mark(np.zeros(10), 0.5).any()
    one = np.zeros(10)
    one[4] = 2.0
    assert np.flatnonzero(dorfler_mark(one, 0.99)).tolist() == [4]
    with pytest.raises(ValueError):
        dorfler_threshold(np.ones(3), 0.0)
    with pytest.raises(ValueError):
        dorfler_threshold(np.array([1.0, -1.0]), 0.5)


SCRIPT = """
import json, sys
from mpi4py import MPI
import numpy as np
from fem_peltier.dorfler import dorfler_threshold
comm = MPI.COMM_WORLD
eta = np.random.default_rng(3).lognormal(size=5000)
eta[::7] = eta[3]
parts = np.array_split(eta, comm.size)[comm.rank]
theta = dorfler_threshold(parts, 0.5, comm)
if comm.rank == 0:  # one line: both ranks printing can interleave
    print(json.dumps({"theta": theta, "ranks": comm.size}))
"""


def test_threshold_does_not_depend_on_the_partition():
    launcher = mpirun()
    if launcher is None:
        pytest.skip("no mpirun")
    proc = python("-c", SCRIPT, launcher=[launcher, "-n", "2"], timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    eta = np.random.default_rng(3).lognormal(size=5000)
    eta[::7] = eta[3]
    assert got["ranks"] == 2 and got["theta"] == dorfler_threshold(eta, 0.5)
