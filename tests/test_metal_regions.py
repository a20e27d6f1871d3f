"""Where the metal is: connected metal regions, the electrodes they touch, their reach
(fem_peltier/metal_regions.py), and their use in the switching report and the regime map.

The patterns are hand-set on a structured box film (tests/metal_regions_check.py), so the
expected regions are known exactly; the same patterns under `mpirun -n 2` must give the
same regions, including those that cross the partition boundary.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_runner import helper_json  # tests/cli_runner.py

HELPER = Path(__file__).with_name("metal_regions_check.py")
L = 1e-3
DX, DY, DZ = L / 20, L / 10, 2e-4 / 4  # the box film's hexahedra
HEX = DX * DY * DZ


# ---------------------------------------------------------------------------------------
# The labelling on its own (numpy only)


def test_local_components_match_a_search():
    """Hooking and pointer jumping give the components of a random graph (a breadth-first search
    is the reference)."""
    from fem_peltier.metal_regions import _local_roots

    rng = np.random.default_rng(3)
    n = 400
    a = rng.integers(0, n, 300)
    b = rng.integers(0, n, 300)
    roots = _local_roots(n, a, b)
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v in zip(a, b):
        adj[u].append(int(v))
        adj[v].append(int(u))
    ref = np.full(n, -1)
    for s in range(n):
        if ref[s] >= 0:
            continue
        stack, ref[s] = [s], s  # s is the smallest node of its component (visited in order)
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if ref[v] < 0:
                    ref[v] = s
                    stack.append(v)
    assert np.array_equal(roots, ref)


# ---------------------------------------------------------------------------------------
# Hand-set patterns, serial (in this process) and on two ranks


@pytest.fixture(scope="module")
def serial():
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:
        pytest.skip("the reference must be serial")
    import metal_regions_check as check  # tests/metal_regions_check.py

    return {name: check.pattern(name) for name in ("blobs", "edge", "channel", "snake")}


def _geometry(region):
    return (
        region["cells"],
        region["x_range_m"],
        region["y_range_m"],
        region["depth_m"],
        region["touches_negative"],
        region["touches_positive"],
    )


def test_two_blobs(serial):
    """A blob at the negative electrode and a detached one: two regions, the reach of the first."""
    s = serial["blobs"]
    assert s["metal_regions"] == 2 and s["metal_regions_detached"] == 1
    assert s["metal_reach_negative_m"] == pytest.approx(4 * DX, rel=1e-12)
    assert s["metal_reach_positive_m"] == 0.0
    assert s["metal_channel"] is False
    a, b = s["metal_region_list"]
    assert a["x_range_m"] == pytest.approx([0.0, 4 * DX], abs=1e-15)
    assert b["x_range_m"] == pytest.approx([10 * DX, 14 * DX], rel=1e-12)
    assert a["touches_negative"] and not a["touches_positive"]
    assert not b["touches_negative"] and not b["touches_positive"]
    for r in (a, b):
        assert r["cells"] == 8 * 6
        assert r["volume_m3"] == pytest.approx(8 * HEX, rel=1e-12)
        assert r["depth_m"] == pytest.approx(DZ, rel=1e-12)


def test_edge_contact_does_not_join(serial):
    """Two hexahedra meeting along an edge are two regions; two sharing a face are one."""
    s = serial["edge"]
    assert s["metal_regions"] == 3 and s["metal_regions_detached"] == 3
    assert [r["cells"] for r in s["metal_region_list"]] == [6, 6, 12]
    assert s["metal_reach_negative_m"] == 0.0 and s["metal_reach_positive_m"] == 0.0


def test_channel(serial):
    s = serial["channel"]
    assert s["metal_regions"] == 1 and s["metal_channel"] is True and s["metal_regions_detached"] == 0
    assert s["metal_reach_negative_m"] == pytest.approx(L) and s["metal_reach_positive_m"] == pytest.approx(L)
    (r,) = s["metal_region_list"]
    assert r["touches_negative"] and r["touches_positive"] and r["cells"] == 40 * 6


def test_snake_and_specks(serial):
    """A serpentine touching the negative patch at one corner vertex, plus 28 single specks."""
    s = serial["snake"]
    assert s["metal_regions"] == 29 and s["metal_regions_detached"] == 28
    big = [r for r in s["metal_region_list"] if r["cells"] > 6]
    assert len(big) == 1
    assert big[0]["cells"] == (s["hexes"] - 28) * 6
    assert big[0]["touches_negative"] and not big[0]["touches_positive"]
    assert big[0]["x_range_m"] == pytest.approx([2 * DX, 17 * DX], rel=1e-12)
    assert s["metal_reach_negative_m"] == pytest.approx(17 * DX, rel=1e-12)
    assert s["metal_reach_positive_m"] == 0.0
    assert sum(r["cells"] == 6 for r in s["metal_region_list"]) == 28


@pytest.mark.mpi
def test_two_ranks_give_the_same_regions(serial):
    """Under mpirun -n 2 the regions are the same, and some of them have cells on both ranks."""
    par = helper_json(HELPER, ranks=2, timeout=120)
    assert par["ranks"] == 2
    for name, s in serial.items():
        p = par[name]
        for key in (
            "metal_regions",
            "metal_regions_detached",
            "metal_reach_negative_m",
            "metal_reach_positive_m",
            "metal_channel",
        ):
            assert p[key] == s[key], (name, key, p[key], s[key])
        assert [_geometry(r) for r in p["metal_region_list"]] == [_geometry(r) for r in s["metal_region_list"]], name
        for rp, rs in zip(p["metal_region_list"], s["metal_region_list"]):
            assert rp["volume_m3"] == pytest.approx(rs["volume_m3"], rel=1e-12)
    # the merge across the partition boundary was exercised
    assert par["snake"]["split_regions"] >= 1 and par["channel"]["split_regions"] == 1


# ---------------------------------------------------------------------------------------
# A CoupledProblem's phase (film cells with m >= 0.5) and the regime categories


@pytest.fixture(scope="module")
def box_problem():
    import fem_peltier as fp
    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.coupled import CoupledProblem

    cfg = fp.load_config(preset="fig2a", overrides=["geometry.electrode_width=2.5e-4"]).resolved()
    return CoupledProblem(cfg, box_film_mesh(cfg, (20, 10, 4)))


def test_problem_regions_and_regime(box_problem):
    """Metal under the negative patch plus one speck at the positive patch's inner rim (fig2a at
    2 mA looks like this): the top-line extent spans the film, the regions do not."""
    from fem_peltier.metal_regions import metal_regions, region_summary
    from fem_peltier.regime import classify

    p = box_problem
    xc = p.xc.x.array.reshape(-1, 3)
    x, y, z = xc[:, 0], xc[:, 1], xc[:, 2]
    top = z > 3 * DZ
    blob = top & (x < 3 * DX) & (np.abs(y - L / 2) < DY)  # hexahedra i = 0..2, j = 4, 5
    speck = top & (np.floor(x / DX) == 18) & (np.floor(y / DY) == 4)  # one hexahedron under the positive patch
    p.prescribe_phase(blob | speck)
    s = region_summary(metal_regions(p), L)
    assert s["metal_regions"] == 2 and s["metal_regions_detached"] == 0
    assert s["metal_reach_negative_m"] == pytest.approx(3 * DX, rel=1e-12)
    assert s["metal_reach_positive_m"] == pytest.approx(2 * DX, rel=1e-12)
    assert classify(p) == "both"
    p.prescribe_phase(blob)
    assert classify(p) == "negative only"
    assert region_summary(metal_regions(p), L)["metal_region_list"][0]["cells"] == 6 * 3 * 2


# ---------------------------------------------------------------------------------------
# The switching report's first-metal side


def _row(rng, regions):
    return {
        "metal_top_x_range_m": json.dumps(rng),
        "metal_x_mean_m": repr(0.6e-4),
        "metal_region_list": json.dumps(regions),
    }


def _region(x0, x1, volume, neg=False, pos=False):
    return {
        "x_range_m": [x0, x1],
        "y_range_m": [0.4e-3, 0.6e-3],
        "depth_m": 5e-5,
        "volume_m3": volume,
        "cells": 10,
        "touches_negative": neg,
        "touches_positive": pos,
    }


def test_side_from_regions_not_the_union():
    """fig2a at 2 mA: the top-line extent is [0, 0.914 mm] but the metal is a region at the
    negative electrode and a speck at the positive one; no region spans the midline."""
    from fem_peltier.sweep_report import metal_side

    row = _row(
        [0.0, 0.914e-3], [_region(0.0, 0.127e-3, 3.3e-13, neg=True), _region(0.906e-3, 0.915e-3, 1.4e-16, pos=True)]
    )
    side = metal_side(row, L)
    assert side["spans_midline"] is False
    assert side["side"] == "negative"
    assert side["metal_regions"] == 2
    assert side["top_x_range_m"] == [0.0, 0.914e-3]  # still reported


def test_side_spanning_region_and_channel():
    from fem_peltier.sweep_report import metal_side

    grown = _row([0.0, 0.6e-3], [_region(0.0, 0.6e-3, 1e-12, neg=True)])
    assert metal_side(grown, L)["spans_midline"] is True and metal_side(grown, L)["side"] == "negative"
    channel = _row([0.0, L], [_region(0.0, L, 1e-12, neg=True, pos=True)])
    assert metal_side(channel, L)["side"] == "both" and metal_side(channel, L)["spans_midline"] is True
    even = _row([0.0, L], [_region(0.0, 0.2e-3, 1e-12, neg=True), _region(0.8e-3, L, 0.8e-12, pos=True)])
    assert metal_side(even, L)["side"] == "both" and metal_side(even, L)["spans_midline"] is False
    detached = _row([0.6e-3, 0.7e-3], [_region(0.6e-3, 0.7e-3, 1e-13)])
    assert metal_side(detached, L)["side"] == "positive"
    none = {"metal_top_x_range_m": "", "metal_x_mean_m": "", "metal_region_list": "[]"}
    assert metal_side(none, L)["side"] == "unknown" and metal_side(none, L)["spans_midline"] is False


def test_side_of_an_older_table():
    """A sweep.csv without metal_region_list (written before the regions): the extent decides."""
    from fem_peltier.sweep_report import metal_side

    row = {"metal_top_x_range_m": json.dumps([0.0, 0.914e-3]), "metal_x_mean_m": repr(0.6e-4)}
    side = metal_side(row, L)
    assert side["spans_midline"] is True and side["side"] == "negative"
    assert "metal_regions" not in side
