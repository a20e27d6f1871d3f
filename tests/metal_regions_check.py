"""Metal regions of hand-set phase patterns on a structured box film (used by test_metal_regions.py).

The film is fig2a's (L = W = 1 mm, h = 0.2 mm, patches 0.1 L long and 0.25 W wide at
y = W/2) as 20 x 10 x 4 hexahedra, each split into 6 tetrahedra; a pattern names hexahedra
(i, j, k) (i along x, j along y, k = 3 the top layer) whose tetrahedra are metal. No solve.

Run directly (serially or under mpirun) it prints one JSON line: per pattern the summary
keys of its regions and how many regions have cells on more than one rank.
"""

from __future__ import annotations

from mpi4py import MPI  # first: loads libmpi before dolfinx

import json

import numpy as np

N = (20, 10, 4)


def _hexes(name: str) -> set[tuple[int, int, int]]:
    """The metal hexahedra (i, j, k) of a pattern."""
    top = 3
    if name == "blobs":  # one at the negative patch (top, x < 0.2 L), one detached (0.5 L < x < 0.7 L)
        return {(i, j, top) for i in range(4) for j in (4, 5)} | {(i, j, top) for i in range(10, 14) for j in (4, 5)}
    if name == "edge":  # two hexahedra meeting along an edge only, and two sharing a face
        return {(5, 2, top), (6, 3, top), (12, 2, top), (13, 2, top)}
    if name == "channel":  # the top strip under both patches, x = 0 .. L
        return {(i, j, top) for i in range(20) for j in (4, 5)}
    if name == "snake":
        # a serpentine on the top layer that meets the negative patch (hexahedra i = 0, 1 and
        # j = 4, 5) at the patch's corner vertex (x, y) = (0.1 L, 0.4 W) only, through
        # hexahedron (2, 3), and crosses the film twice; plus 28 single hexahedra in the bottom layer
        cells = {(2, j, top) for j in range(1, 4)}
        cells |= {(i, 1, top) for i in range(2, 17)}
        cells |= {(16, j, top) for j in range(1, 9)}
        cells |= {(i, 8, top) for i in range(3, 17)}
        cells |= {(3, j, top) for j in range(6, 9)}
        cells |= {(i, j, 0) for i in range(0, 20, 3) for j in range(0, 10, 3)}
        return cells
    raise ValueError(name)


def pattern(name: str, comm=MPI.COMM_WORLD) -> dict:
    """Regions of one pattern: the summary keys and the regions split between ranks."""
    import fem_peltier as fp
    from fem_peltier import metal_regions as mr
    from fem_peltier.boxmesh import box_film_mesh
    from fem_peltier.mesh import ELECTRODE_NEG, ELECTRODE_POS

    cfg = fp.load_config(preset="fig2a", overrides=["geometry.electrode_width=2.5e-4"]).resolved()
    g = cfg.geometry
    fm = box_film_mesh(cfg, N, comm=comm)
    msh = fm.mesh
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    n_own, n_loc = imap.size_local, imap.size_local + imap.num_ghosts
    from dolfinx.mesh import compute_midpoints

    mid = compute_midpoints(msh, tdim, np.arange(n_loc, dtype=np.int32))
    ijk = np.floor(mid / np.array([g.length, g.width, g.thickness]) * np.array(N)).astype(int)
    chosen = _hexes(name)
    metal = np.array([tuple(c) in chosen for c in ijk.tolist()], dtype=bool)
    neg = mr.electrode_contact(msh, fm.facet_tags, ELECTRODE_NEG)
    pos = mr.electrode_contact(msh, fm.facet_tags, ELECTRODE_POS)
    regions = mr.find_regions(msh, metal, neg, pos, g.thickness)
    # regions with owned cells on more than one rank (the merge across ranks was needed)
    lab = mr.label_components(msh, metal)
    mine = np.unique(lab[:n_own][lab[:n_own] >= 0])
    counts: dict[int, int] = {}
    for labels in comm.allgather(mine.tolist()):
        for k in labels:
            counts[k] = counts.get(k, 0) + 1
    return {
        **mr.region_summary(regions, g.length),
        "split_regions": sum(1 for v in counts.values() if v > 1),
        "hexes": len(chosen),
    }


def main() -> None:
    out = {name: pattern(name) for name in ("blobs", "edge", "channel", "snake")}
    out["ranks"] = MPI.COMM_WORLD.size
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
