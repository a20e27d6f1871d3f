"""Run Python or the `fem-peltier` command line in a subprocess, as a user would (shared by the tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def mpirun() -> str | None:
    """The `mpirun` beside this Python (the venv's MPICH), else the one on PATH, else None."""
    local = Path(sys.executable).parent / "mpirun"
    return str(local) if local.exists() else shutil.which("mpirun")


def python(*args: str, cwd: Path | None = None, timeout: float = 60, launcher: list[str] | None = None):
    """`[launcher] python ARGS` in `cwd`, no stdin, no inherited PYTHONPATH, output captured."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cmd = (launcher or []) + [sys.executable, *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def fem(*args: str, cwd: Path, timeout: float = 60, launcher: list[str] | None = None):
    """`[launcher] python -m fem_peltier ARGS` in `cwd`, no stdin, output captured."""
    return python("-m", "fem_peltier", *args, cwd=cwd, timeout=timeout, launcher=launcher)
