"""Run Python or the `fem-peltier` command line in a subprocess, as a user would (shared by the tests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


CHECKOUT = Path(__file__).resolve().parents[1]  # the repository these tests belong to


def mpirun() -> str | None:
    """The `mpirun` beside this Python (the venv's MPICH), else the one on PATH, else None."""
    local = Path(sys.executable).parent / "mpirun"
    return str(local) if local.exists() else shutil.which("mpirun")


def python(*args: str, cwd: Path | None = None, timeout: float = 60, launcher: list[str] | None = None):
    """`[launcher] python ARGS` in `cwd`, no stdin, output captured. No inherited PYTHONPATH: it is
    this checkout's root, so that the subprocess runs the package these tests belong to (from a
    git worktree, the editable install would otherwise load another checkout's fem_peltier)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(CHECKOUT)
    cmd = (launcher or []) + [sys.executable, *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def fem(*args: str, cwd: Path, timeout: float = 60, launcher: list[str] | None = None):
    """`[launcher] python -m fem_peltier ARGS` in `cwd`, no stdin, output captured."""
    return python("-m", "fem_peltier", *args, cwd=cwd, timeout=timeout, launcher=launcher)


def helper_json(script: Path, *args: str, ranks: int = 1, timeout: float = 300) -> dict:
    """Run a helper script serially or under `mpirun -n ranks` and parse the JSON object it
    prints last. Skips the test when more than one rank is asked for and there is no mpirun."""
    import pytest

    launcher = []
    if ranks > 1:
        if mpirun() is None:
            pytest.skip("no mpirun")
        launcher = [mpirun(), "-n", str(ranks)]
    proc = python(str(script), *args, timeout=timeout, launcher=launcher)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
