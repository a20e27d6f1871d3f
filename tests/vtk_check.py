"""Open .vtu / .pvd files with PyVista alone, as a user without DOLFINx would, and print what
they hold as one JSON line (run in a subprocess by the tests).

    python vtk_check.py FILE [FILE ...]

For each FILE: a .vtu (or anything pyvista.read gives one grid for) is described by its
cell and point counts, volume and every array (shape, min, max); a .pvd by its times, what
pyvista.read returns for it and the same description of every step (PVDReader). The output
also says whether DOLFINx or fem_peltier got imported (they must not be).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def read_in_subprocess(*paths: Path) -> dict:
    """Run this script on `paths` in a fresh Python (as cli_runner.python runs it) and return its
    JSON, keyed by the paths as given; asserts it ran and imported neither DOLFINx nor fem_peltier."""
    from cli_runner import python

    proc = python(str(HERE), *map(str, paths), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got.pop("modules") == [], "the reader imported DOLFINx / fem_peltier"
    return got


def describe(grid) -> dict:
    def arrays(data) -> dict:
        return {k: [list(np.shape(data[k])), float(np.nanmin(data[k])), float(np.nanmax(data[k]))] for k in data}

    return {
        "type": type(grid).__name__,
        "cells": int(grid.n_cells),
        "points": int(grid.n_points),
        "volume": float(grid.volume),
        "point": arrays(grid.point_data),
        "cell": arrays(grid.cell_data),
    }


def open_file(path: str) -> dict:
    import pyvista as pv

    if not path.endswith(".pvd"):
        return describe(pv.read(path))
    reader = pv.PVDReader(path)
    steps = []
    for t in reader.time_values:
        reader.set_active_time_value(t)
        blocks = reader.read()
        assert len(blocks) == 1, f"{path} at t = {t}: {len(blocks)} blocks"
        steps.append(describe(blocks[0]))
    return {"read": type(pv.read(path)).__name__, "times": [float(t) for t in reader.time_values], "steps": steps}


if __name__ == "__main__":
    out = {path: open_file(path) for path in sys.argv[1:]}
    out["modules"] = sorted(m for m in ("dolfinx", "fem_peltier", "petsc4py") if m in sys.modules)
    print(json.dumps(out))
