"""SIGTERM raised as an exception (like Ctrl-C), so that atomic writes and staged directories clean up.

The CLI maps `Terminated` to exit code 143 and "terminated (SIGTERM)", a plain
KeyboardInterrupt (Ctrl-C) to 130 and "interrupted".

Under the CLI no thread receives SIGTERM itself (`sigterm_on_watcher`): a watcher thread
takes it with sigwait and hands it to the main thread's Python handler. The reason is
METIS (MUMPS's default ordering): while it runs, its GKlib replaces the SIGTERM handler with
one that longjmps out of METIS, which then returns an unfinished ordering that MUMPS uses.
A SIGTERM that arrived then corrupted the heap (a segfault or "double free" in the next
symbolic factorisation instead of exit 143). A blocked signal reaches no handler, not GKlib's
either; the watcher's sigwait still receives it.
"""

from __future__ import annotations

import _thread
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_TERM = {signal.SIGTERM}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a staged output directory is removed on the way out."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def raise_on_sigterm() -> Any:
    """Make SIGTERM raise `Terminated`; returns the previous handler (None off the main thread)."""
    if not _on_main_thread():
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


def block_sigterm() -> set[int] | None:
    """Block SIGTERM on the main thread; threads it starts from now on inherit the block.
    Returns the previous signal mask (None off the main thread, where nothing changes)."""
    if not _on_main_thread():
        return None
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, _TERM))


def restore_mask(previous: set[int] | None) -> None:
    """Put back a signal mask returned by `block_sigterm` (nothing when it is None)."""
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Watcher:
    """A daemon thread that takes SIGTERM with sigwait and runs the main thread's Python
    handler for it (`_thread.interrupt_main`: at the main thread's next bytecode)."""

    def __init__(self) -> None:
        self.stop = False
        self.thread = threading.Thread(target=self._watch, name="fem-peltier-sigterm", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while True:
            signal.sigwait(_TERM)
            if self.stop:
                return
            _thread.interrupt_main(signal.SIGTERM)

    def close(self) -> None:
        self.stop = True
        if self.thread.ident is not None and self.thread.is_alive():
            signal.pthread_kill(self.thread.ident, signal.SIGTERM)  # wakes its sigwait
        self.thread.join(timeout=5)


@contextmanager
def sigterm_on_watcher() -> Iterator[None]:
    """Inside the block SIGTERM is blocked on the main thread and on every thread started
    from it, and a watcher thread receives it and raises it in the main thread as the
    installed Python handler would (module docstring: why). Off the main thread: no change."""
    previous = block_sigterm()
    if previous is None:
        yield
        return
    watcher = _Watcher()
    try:
        yield
    finally:
        watcher.close()
        restore_mask(previous)
