"""Logging set-up for the command line: one handler on the ``fem_peltier`` logger,
printing from MPI rank 0 only.

Library modules just use ``logging.getLogger(__name__)``; nothing is printed
until `setup_logging` installs the handler (the CLI does that, Python users can
call it too).

The rank is found without importing mpi4py when possible: if mpi4py is already
loaded its ``COMM_WORLD.rank`` is used, otherwise the environment variables that
MPI launchers set (MPICH/hydra ``PMI_RANK``, Open MPI ``OMPI_COMM_WORLD_RANK``,
PMIx ``PMIX_RANK``). That keeps commands such as ``fem-peltier presets`` free of
any MPI or DOLFINx import.
"""

from __future__ import annotations

import logging
import os
import sys

LOGGER_NAME = "fem_peltier"
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
    return mpi_rank() == 0


class RootOnlyFilter(logging.Filter):
    """Let records through on rank 0 only (the rank is looked up per record: cheap)."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        return is_root()


def setup_logging(verbosity: int = 0) -> logging.Logger:
    """Configure the ``fem_peltier`` logger.

    verbosity < 0: warnings and errors only (``--quiet``); 0: info; > 0: debug (``-v``).
    Calling it again replaces the previous handler.
    """
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logger = logging.getLogger(LOGGER_NAME)
    for h in list(logger.handlers):
        if getattr(h, "_fem_peltier", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._fem_peltier = True  # type: ignore[attr-defined]
    fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s" if verbosity > 0 else "%(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    handler.addFilter(RootOnlyFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def get_logger(name: str | None = None) -> logging.Logger:
    """``logging.getLogger`` below the package logger (``fem_peltier.<name>``)."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name.removeprefix(LOGGER_NAME + '.')}")
