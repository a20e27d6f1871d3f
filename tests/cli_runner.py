"""Run the `fem-peltier` command line in a subprocess, as a user would (shared by the CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def fem(*args: str, cwd: Path, timeout: float = 60, launcher: list[str] | None = None):
    """`[launcher] python -m fem_peltier ARGS` in `cwd`, no stdin, output captured."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cmd = (launcher or []) + [sys.executable, "-m", "fem_peltier", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
