"""fem_peltier: current-driven insulator-metal transitions with Joule and interface Peltier heating.

Quick use from Python::

    import fem_peltier as fp
    cfg = fp.load_config(preset="fig2a", overrides=["mesh.size=1e-4"])
    result = fp.run(cfg, out="out/fig2a")
    print(result.summary["T_max_K"])
"""

from __future__ import annotations

__version__ = "0.1.0"

from .signals import block_sigterm, restore_mask  # noqa: E402

# the threads the imports start (numpy's BLAS pool) never take SIGTERM: signals.py says why
_mask = block_sigterm()
from .config import Config, load_config, material_names, preset_names  # noqa: E402
from .errors import InputError, SolverError  # noqa: E402

restore_mask(_mask)
del _mask

__all__ = [
    "Config",
    "InputError",
    "SolverError",
    "__version__",
    "load_config",
    "material_names",
    "preset_names",
    "run",
    "run_transient",
]


def run(cfg: Config, out=None, **kwargs):
    """Run one steady-state simulation (see `fem_peltier.simulation.run`)."""
    from .simulation import run as _run

    return _run(cfg, out=out, **kwargs)


def run_transient(cfg: Config, out=None, **kwargs):
    """Run one transient (see `fem_peltier.transient_run.run_transient`): returns the time
    series (`result.timeseries`), the summary and the problem in its final state."""
    from .transient_run import run_transient as _run_transient

    return _run_transient(cfg, out=out, **kwargs)
