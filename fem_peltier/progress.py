"""A progress line for a series of runs (rich, rank 0 only; one log line per run without a terminal)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .parallel import is_root

log = logging.getLogger("fem_peltier.sweep")


class Progress:
    """A rich progress line on rank 0 (points done, current point, time per point, ETA).

    Disabled under `quiet`, when stdout is not a terminal and on ranks > 0; then each
    finished point is logged as one line instead. While it is shown, the package's
    log records update its status text (warnings are printed above it).
    """

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled = total, done, enabled and is_root()
        self.times: list[float] = []
        self._progress: Any = None  # a rich Progress while the display is on
        self._task: Any = None
        self._saved: list[logging.Handler] = []

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn

        console = Console(file=sys.stdout)
        self._progress = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[timing]}"),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("sweep", total=self.total, completed=self.done, timing="", status="")
        pkg = logging.getLogger("fem_peltier")
        self._saved = [h for h in pkg.handlers if getattr(h, "_fem_peltier", False)]
        for h in self._saved:
            pkg.removeHandler(h)
        self._handler = _StatusHandler(self)
        pkg.addHandler(self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is None:
            return
        pkg = logging.getLogger("fem_peltier")
        pkg.removeHandler(self._handler)
        for h in self._saved:
            pkg.addHandler(h)
        self._progress.stop()
        self._progress = None

    def _timing(self) -> str:
        if not self.times:
            return ""
        mean = sum(self.times) / len(self.times)
        left = mean * (self.total - self.done)
        return f"{mean:.1f} s/point, ETA {left:.0f} s"

    def start(self, index: int, label: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"point {index + 1}/{self.total}: {label}", status="")

    def status(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, status=text[:60])

    def finish(self, seconds: float, line: str) -> None:
        self.done += 1
        self.times.append(seconds)
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
            self._progress.update(self._task, completed=self.done, timing=self._timing())
        else:
            log.info("%s", line)


class TimeProgress:
    """A rich progress bar in simulated time (rank 0, a terminal, not quiet); else nothing."""

    def __init__(self, t_end: float, t_now: float, enabled: bool):
        self.t_end, self.t_now = t_end, t_now
        self.enabled = enabled and is_root() and sys.stdout.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> TimeProgress:
        if not self.enabled:
            return self
        from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

        self._progress = RichProgress(
            TextColumn("t = {task.fields[t]} / {task.fields[t_end]} s"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "transient",
            total=self.t_end,
            completed=self.t_now,
            t=f"{self.t_now:.4g}",
            t_end=f"{self.t_end:.4g}",
            status="",
        )
        return self

    def update(self, t: float, status: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=t, t=f"{t:.4g}", status=status[:50])

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class _StatusHandler(logging.Handler):
    def __init__(self, progress: Progress):
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().strip()
        if record.levelno >= logging.WARNING and self.progress._progress is not None:
            self.progress._progress.console.print(msg, markup=False, highlight=False)
        else:
            self.progress.status(msg)
