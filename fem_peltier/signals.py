"""SIGTERM raised as an exception (like Ctrl-C), so that atomic writes and staged directories clean up.

The CLI maps `Terminated` to exit code 143 and "terminated (SIGTERM)", a plain
KeyboardInterrupt (Ctrl-C) to 130 and "interrupted".
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a staged output directory is removed on the way out."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def raise_on_sigterm() -> Any:
    """Make SIGTERM raise `Terminated`; returns the previous handler (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def restore_sigterm(previous: Any) -> None:
    """Put back a handler returned by `raise_on_sigterm` (nothing when it is None)."""
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """SIGTERM raises `Terminated` inside the block; the previous handler comes back after it."""
    previous = raise_on_sigterm()
    try:
        yield
    finally:
        restore_sigterm(previous)
