"""Logging set-up for the command line: one handler on the ``fem_peltier`` logger,
printing from MPI rank 0 only.

Library modules just use ``logging.getLogger(__name__)``; nothing is printed
until `setup_logging` installs the handler (the CLI does that, Python users can
call it too).

The rank is found without importing mpi4py (see fem_peltier/parallel.py), which
keeps commands such as ``fem-peltier presets`` free of any MPI or DOLFINx import.
"""

from __future__ import annotations

import logging
import sys

from .parallel import is_root, mpi_rank, mpi_size_hint

__all__ = ["LOGGER_NAME", "RootOnlyFilter", "get_logger", "is_root", "mpi_rank", "mpi_size_hint", "setup_logging"]

LOGGER_NAME = "fem_peltier"


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
