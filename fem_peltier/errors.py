"""Exceptions that fem_peltier raises on purpose.

`InputError` is a user mistake (bad config key, missing mesh file, ...): the CLI
prints its one-line message and exits with code 2 before anything is written.
`SolverError` is a numerical failure inside a run (the CLI maps it to exit 3
when a partial result was written, 1 otherwise).
"""

from __future__ import annotations


class FemPeltierError(Exception):
    """Base class of the package's own errors."""


class InputError(FemPeltierError):
    """Bad user input. `key` names the offending config key or file."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")

    def __reduce__(self):
        # pickled by comm.bcast (rank 0's check reaches every rank): rebuild from (key, message),
        # not from the formatted args, which __init__ does not take
        return (type(self), (self.key, self.message))


class SolverError(FemPeltierError):
    """A numerical failure (linear solve, unphysical state) with a short reason."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (its type's name when it has none), for a
    one-line error that quotes a library's complaint."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
