"""Checkpoint of a solved sweep point (state.npz): owned dofs with their coordinates, band centres, phase.

The file is matched to a mesh by coordinates (to 1e-9 L), so it does not depend on the
number of ranks or the dof numbering. It also holds the phase on a top-surface grid
for the sweep's phase-boundary plot (read without DOLFINx).
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

import numpy as np

from .config import Config
from .errors import InputError
from .files import replacing
from .sampling import sample_top_grid


def cell_xyz(problem, f) -> np.ndarray:
    """Centroid of the cell of each dof of a DG0 Function `f` (local incl. ghosts)."""
    xc = problem.xc.x.array.reshape(-1, 3)
    n = f.x.array.size
    out = np.empty((n, 3))
    cells = np.arange(problem.xc.function_space.dofmap.list.shape[0])
    out[f.function_space.dofmap.list[cells, 0]] = xc[problem.xc.function_space.dofmap.list[cells, 0]]
    return out


def _keys(xyz: np.ndarray, length: float) -> np.ndarray:
    return np.round(np.asarray(xyz)[:, :3] / (1e-9 * length)).astype(np.int64)


def lookup(xyz: np.ndarray, values: np.ndarray, targets: np.ndarray, path: Path, cfg: Config) -> np.ndarray:
    """values at the `targets` coordinates, matched exactly (to 1e-9 L) against `xyz`."""
    L = cfg.geometry.length
    table = {tuple(k): i for i, k in enumerate(_keys(xyz, L))}
    idx = np.array([table.get(tuple(k), -1) for k in _keys(targets, L)], dtype=np.int64)
    if (idx < 0).any():
        raise InputError(str(path), "checkpoint does not match the mesh of this sweep")
    return np.asarray(values)[idx]


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"unreadable checkpoint ({exc})") from None


def top_phase_grid(problem, nx: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m on a grid over the top surface z = h (collective): x (nx), y (ny), m (ny, nx)."""
    g = problem.cfg.geometry
    ny = max(21, int(round(nx * g.width / g.length)))
    xs, ys = np.linspace(0.0, g.length, nx), np.linspace(0.0, g.width, ny)
    return xs, ys, sample_top_grid(problem, problem.m, xs, ys)


def save_state(problem, path: Path) -> None:
    """Checkpoint of a solved point (collective; rank 0 writes): owned dofs with coordinates."""
    comm = problem.comm
    u = problem.u.x.array
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("T_xyz", "T_val", "phi_xyz", "phi_val", "cell_xyz", "centre", "m")
    }
    for key, V, dmap in (("T", problem.V_T, problem.map_T), ("phi", problem.V_phi, problem.map_phi)):
        n = V.dofmap.index_map.size_local
        parts[f"{key}_xyz"].append(V.tabulate_dof_coordinates()[:n])
        parts[f"{key}_val"].append(u[dmap[:n]])
    n_c = problem.Q0.dofmap.index_map.size_local
    parts["cell_xyz"].append(cell_xyz(problem, problem.m)[:n_c])
    parts["m"].append(problem.m.x.array[:n_c])
    centre_xyz = cell_xyz(problem, problem.law.centre)
    n_cc = problem.law.centre.function_space.dofmap.index_map.size_local
    order = lookup(centre_xyz[:n_cc], problem.law.centre.x.array[:n_cc], parts["cell_xyz"][0], path, problem.cfg)
    parts["centre"].append(order)
    gathered = {k: comm.gather(np.concatenate(v), root=0) for k, v in parts.items()}
    xs, ys, mt = top_phase_grid(problem)
    V, I = float(problem.V), float(problem.current())
    if comm.rank == 0:
        data = {k: np.concatenate(v) for k, v in gathered.items()}
        with replacing(path, suffix=".npz") as tmp:
            arrays: dict[str, Any] = {**data, "V": V, "current": I, "top_x": xs, "top_y": ys, "top_m": mt}
            np.savez_compressed(tmp, **arrays)
    comm.barrier()


def load_state(problem, path: Path) -> None:
    """Put a checkpoint into `problem` (collective; every rank reads the file)."""
    from .state import State

    data = read_npz(path)
    cfg = problem.cfg
    u = problem.u.x.array
    u[problem.map_T] = lookup(data["T_xyz"], data["T_val"], problem.V_T.tabulate_dof_coordinates(), path, cfg)
    u[problem.map_phi] = lookup(data["phi_xyz"], data["phi_val"], problem.V_phi.tabulate_dof_coordinates(), path, cfg)
    centre = lookup(data["cell_xyz"], data["centre"], cell_xyz(problem, problem.law.centre), path, cfg)
    m = lookup(data["cell_xyz"], data["m"], cell_xyz(problem, problem.m), path, cfg)
    problem.restore_state(State(u.copy(), float(data["V"]), centre, m))
