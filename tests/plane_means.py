"""Cross-section means of a nodal field on the grid planes x = i L / nx of a box mesh (collective)."""

from __future__ import annotations

import numpy as np


def x_plane_means(f, length: float, nx: int) -> np.ndarray:
    """Mean of the owned nodal values of the P1 Function `f` on each plane x_i = i length / nx,
    i = 0..nx, over all ranks (the nodes of a box mesh lie on these planes)."""
    from mpi4py import MPI

    V = f.function_space
    n_own = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:n_own, 0]
    plane = np.rint(x / (length / nx)).astype(int)
    sums = np.bincount(plane, weights=f.x.array[:n_own], minlength=nx + 1)
    counts = np.bincount(plane, minlength=nx + 1).astype(float)
    comm = V.mesh.comm
    return comm.allreduce(sums, op=MPI.SUM) / comm.allreduce(counts, op=MPI.SUM)
