"""MPI rank and barrier helpers that never import mpi4py unless several ranks run.

The rank comes from a loaded mpi4py when there is one, otherwise from the
environment variables that MPI launchers set (MPICH/hydra ``PMI_RANK``, Open MPI
``OMPI_COMM_WORLD_RANK``, PMIx ``PMIX_RANK``). That keeps commands such as
``fem-peltier presets`` free of any MPI or DOLFINx import.
"""

from __future__ import annotations

import os
import sys

_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK", "SLURM_PROCID")
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def mpi_rank() -> int:
    """This process's MPI rank (0 when not under MPI); never imports mpi4py itself."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None:
        try:
            if mpi.Is_initialized() and not mpi.Is_finalized():
                return int(mpi.COMM_WORLD.rank)
        except Exception:  # pragma: no cover - defensive: a half-loaded mpi4py
            pass
    for var in _RANK_VARS:
        value = os.environ.get(var)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def mpi_size_hint() -> int:
    """Number of MPI processes according to the launcher's environment (1 if unknown)."""
    for var in _SIZE_VARS:
        value = os.environ.get(var)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 1


def is_root() -> bool:
    """True on MPI rank 0 (and without MPI)."""
    return mpi_rank() == 0


def barrier() -> None:
    """Barrier across COMM_WORLD when several ranks run (imports mpi4py only then)."""
    if mpi_size_hint() > 1:
        from mpi4py import MPI

        MPI.COMM_WORLD.barrier()
