"""Checkpoint of a transient (state.npz): the last accepted time levels and the stepper's counters.

Like a sweep point's checkpoint (checkpoint.py) the values are stored with the coordinates
of their dofs (T, phi) or cells (m, band centres) and matched back to the mesh to 1e-9 L,
so a transient killed under one rank count resumes under another; there the current
density starts from zero (it is algebraic: the next step's Newton solve recomputes it from
phi and T). Under the same rank count and partition the checkpoint also holds each rank's
whole state vectors, and the run continues bit for bit as if it had not been stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpi4py import MPI
import numpy as np

from .checkpoint import cell_xyz, lookup, read_npz
from .files import replacing
from .time_scheme import Level

#: the stepper's scalars kept in a checkpoint (beside the levels)
SCALARS = (
    "dt",
    "steps",
    "rejected",
    "newton_steps",
    "after_corner",
    "switching_time_s",
    "V_scale",
    "frames",
    "stored_energy_initial_J",
    "current_scale_A",
)


def _owned(values: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(values[:n])


def save_levels(problem, levels: list[Level], scalars: dict[str, Any], path: Path) -> None:
    """Write the levels (oldest first) and the scalars (collective; rank 0 writes)."""
    comm = problem.comm
    n_T = problem.V_T.dofmap.index_map.size_local
    n_phi = problem.V_phi.dofmap.index_map.size_local
    n_c = problem.Q0.dofmap.index_map.size_local
    local: dict[str, np.ndarray] = {
        "T_xyz": problem.V_T.tabulate_dof_coordinates()[:n_T],
        "phi_xyz": problem.V_phi.tabulate_dof_coordinates()[:n_phi],
        "cell_xyz": cell_xyz(problem, problem.m)[:n_c],
    }
    for k, lv in enumerate(levels):
        local[f"T_{k}"] = _owned(lv.u[problem.map_T], n_T)
        local[f"phi_{k}"] = _owned(lv.u[problem.map_phi], n_phi)
        local[f"m_{k}"] = _owned(lv.m, n_c)
        local[f"centre_{k}"] = _owned(lv.band_centre_K, n_c)
    # each rank's whole local arrays (with ghosts), for an exact resume on the same partition
    raw = {f"raw_u_{k}": lv.u for k, lv in enumerate(levels)}
    raw.update({f"raw_m_{k}": lv.m for k, lv in enumerate(levels)})
    raw.update({f"raw_centre_{k}": lv.band_centre_K for k, lv in enumerate(levels)})
    raw["raw_T_xyz"] = local["T_xyz"]
    gathered = {key: comm.gather(val, root=0) for key, val in local.items()}
    gathered_raw = {key: comm.gather(np.asarray(val), root=0) for key, val in raw.items()}
    if comm.rank == 0:
        data: dict[str, Any] = {key: np.concatenate(val) for key, val in gathered.items()}
        for key, parts in gathered_raw.items():
            data[key] = np.concatenate([np.asarray(v).ravel() for v in parts])
            data[f"{key}_offsets"] = np.cumsum([0] + [np.asarray(v).size for v in parts])
        data["level_t"] = np.array([lv.t for lv in levels])
        data["level_V"] = np.array([lv.V for lv in levels])
        data["level_drive"] = np.array([np.nan if lv.drive_value is None else lv.drive_value for lv in levels])
        for key in SCALARS:
            value = scalars.get(key)
            data[f"scalar_{key}"] = np.array(np.nan if value is None else float(value))
        with replacing(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **data)
    comm.barrier()


def load_levels(problem, path: Path) -> tuple[list[Level], dict[str, float | None]]:
    """The levels (oldest first; j = 0) and the scalars of a checkpoint (collective)."""
    data = read_npz(path)
    cfg = problem.cfg
    if "level_t" not in data:
        raise_not_transient(path)
    T_xyz = problem.V_T.tabulate_dof_coordinates()
    phi_xyz = problem.V_phi.tabulate_dof_coordinates()
    c_xyz = cell_xyz(problem, problem.m)
    raw = _raw_arrays(problem, data, len(data["level_t"]))
    if raw is not None:
        return raw, _scalars(data)
    levels = []
    for k, (t, V) in enumerate(zip(data["level_t"], data["level_V"], strict=True)):
        u = np.zeros_like(problem.u.x.array)
        u[problem.map_T] = lookup(data["T_xyz"], data[f"T_{k}"], T_xyz, path, cfg)
        u[problem.map_phi] = lookup(data["phi_xyz"], data[f"phi_{k}"], phi_xyz, path, cfg)
        m = lookup(data["cell_xyz"], data[f"m_{k}"], c_xyz, path, cfg)
        centre = lookup(data["cell_xyz"], data[f"centre_{k}"], c_xyz, path, cfg)
        levels.append(Level(float(t), u, float(V), m, centre, _drive(data, k)))
    return levels, _scalars(data)


def _drive(data: dict[str, np.ndarray], k: int) -> float | None:
    if "level_drive" not in data or np.isnan(data["level_drive"][k]):
        return None
    return float(data["level_drive"][k])


def _scalars(data: dict[str, np.ndarray]) -> dict[str, float | None]:
    scalars: dict[str, float | None] = {}
    for key in SCALARS:
        value = float(data[f"scalar_{key}"])
        scalars[key] = None if np.isnan(value) else value
    return scalars


def _piece(data: dict[str, np.ndarray], key: str, rank: int) -> np.ndarray:
    off = data[f"{key}_offsets"]
    return data[key][off[rank] : off[rank + 1]]


def _raw_arrays(problem, data: dict[str, np.ndarray], n_levels: int) -> list[Level] | None:
    """The levels from each rank's saved arrays when the rank count and this rank's dofs are
    those of the checkpoint (collective: every rank must agree), else None."""
    comm = problem.comm
    rank = comm.rank
    ok = "raw_T_xyz_offsets" in data and data["raw_T_xyz_offsets"].size == comm.size + 1
    if ok:
        n_T = problem.V_T.dofmap.index_map.size_local
        mine = problem.V_T.tabulate_dof_coordinates()[:n_T].ravel()
        saved = _piece(data, "raw_T_xyz", rank)
        ok = saved.shape == mine.shape and bool(np.array_equal(saved, mine))
        ok = ok and _piece(data, "raw_u_0", rank).size == problem.u.x.array.size
        ok = ok and _piece(data, "raw_m_0", rank).size == problem.m.x.array.size
    if not comm.allreduce(int(ok), op=MPI.MIN):
        return None
    return [
        Level(
            float(data["level_t"][k]),
            _piece(data, f"raw_u_{k}", rank).copy(),
            float(data["level_V"][k]),
            _piece(data, f"raw_m_{k}", rank).copy(),
            _piece(data, f"raw_centre_{k}", rank).copy(),
            _drive(data, k),
        )
        for k in range(n_levels)
    ]


def raise_not_transient(path: Path) -> None:
    from .errors import InputError

    raise InputError(str(path), "not a transient's checkpoint (no time levels in it)")
