"""SIGTERM under the CLI: a watcher thread takes it and raises it in the main thread, and no
thread (so no native library's handler, like METIS's) ever receives it (fem_peltier/signals.py)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from fem_peltier.signals import Terminated, sigterm_on_watcher, sigterm_raises
import cli_runner  # tests/cli_runner.py

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads thread signal masks from /proc")


def _blocked(native_id: int) -> bool:
    """Whether the thread `native_id` of this process blocks SIGTERM (its SigBlk mask)."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
    return bool(mask & (1 << (signal.SIGTERM - 1)))


def test_watcher_raises_sigterm_in_the_main_thread_and_threads_started_inside_block_it():
    seen: dict[str, bool] = {}
    started = threading.Event()

    def worker() -> None:
        seen["worker"] = _blocked(threading.get_native_id())
        started.set()

    with sigterm_raises(), pytest.raises(Terminated), sigterm_on_watcher():
        seen["main"] = _blocked(threading.get_native_id())
        threading.Thread(target=worker).start()
        started.wait(5)
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the watcher's interrupt arrives between bytecodes
            time.sleep(0.01)
    assert seen == {"main": True, "worker": True}
    assert not _blocked(threading.get_native_id())  # the mask is back after the block
    assert not any(t.name == "fem-peltier-sigterm" for t in threading.enumerate())  # watcher stopped


STORM = textwrap.dedent(
    """
    import signal
    import sys

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # outside main(): the storm goes on until the exit
    import fem_peltier.signals as sg

    received = []
    sg._raise_terminated = lambda signum, frame: received.append(signum)  # count instead of raising
    from fem_peltier.cli import main

    code = main(sys.argv[1:])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # PETSc's exit puts back SIG_DFL
    print("signals", len(received), flush=True)
    sys.exit(code)
    """
)


@pytest.mark.skipif(importlib.util.find_spec("dolfinx") is None, reason="needs DOLFINx")
def test_sigterm_storm_during_a_sweep_never_reaches_the_native_solvers(tmp_path):
    """SIGTERM every 2 ms through a warm-started sweep (MUMPS factorisations with METIS
    orderings), each counted by the CLI's handler instead of raised: the sweep must finish.
    Before the watcher, a SIGTERM inside a METIS ordering ran GKlib's handler, whose longjmp
    left MUMPS a broken ordering: this storm crashed the sweep (SIGSEGV) in 3 runs of 3."""
    script = tmp_path / "storm.py"
    script.write_text(STORM)
    env = dict(os.environ, PYTHONPATH=str(cli_runner.CHECKOUT))
    args = ["sweep", "--preset", "fig2a", "--set", "mesh.size=1e-4", "--set", "mesh.electrode_size=2e-5",
            "--set", "material.hysteresis=20", "--no-pictures", "--quiet", "--currents", "0.002:0.004:3",
            "--out", "sw"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    sent = 0
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        proc.send_signal(signal.SIGTERM)
        sent += 1
        time.sleep(0.002)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (proc.returncode, err[-3000:])
    received = int(out.split("signals")[-1])
    assert sent > 100 and received > 0, (sent, received)
    rows = (tmp_path / "sw" / "sweep.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3
