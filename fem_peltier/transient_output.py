"""What a transient writes while it runs, and reads back on --resume (docs/transient.md).

Layout of a transient directory DIR::

    config.toml          the resolved configuration (written first)
    timeseries.csv       one row per accepted step (appended as the run goes)
    fields_time.pvd      the field frames as one time series (ParaView, pyvista.read)
    fields/              frame_NNNNN.vtu: the whole mesh (gathered on rank 0 under MPI) with
                         T and a P1 phi (point data), the phase, current density, heat
                         sources and cell_tags (cell data)
    state.npz            checkpoint: the last accepted levels (time_checkpoint.py)
    transient.png        V(t), I(t), metal fraction(t), T_max(t); trajectory.png: the V-I path
    summary.json         written last: its presence marks a complete run

Rows and frames written after the last checkpoint are dropped on --resume (the steps are
taken again), so a resumed run has every step once.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import numpy as np

from .files import atomic_write_text
from .vtk_output import write_collection

TIMESERIES = "timeseries.csv"
FIELDS_INDEX = "fields_time.pvd"
FRAMES_DIR = "fields"
#: the leading columns of timeseries.csv, in order (the heat terms and the rest follow)
LEAD_COLUMNS = (
    "t_s",
    "dt_s",
    "voltage_V",
    "current_A",
    "source_voltage_V",
    "T_max_K",
    "T_mean_K",
    "T_top_mean_K",
    "metal_fraction",
)
TAIL_COLUMNS = ("stored_energy_J", "latent_energy_J", "newton_steps", "rejected_steps", "error_estimate")


def row_columns(quantities: dict[str, float]) -> list[str]:
    """The columns of timeseries.csv for a step's quantities: the lead columns, every heat
    term (heat_*), the tail columns, then any other quantity in name order."""
    heat = sorted(k for k in quantities if k.startswith("heat_") or k.startswith("peltier_"))
    rest = sorted(k for k in quantities if k not in (*LEAD_COLUMNS, *TAIL_COLUMNS, *heat))
    return [*LEAD_COLUMNS, *heat, *TAIL_COLUMNS, *rest]


class TimeseriesWriter:
    """timeseries.csv, one row per accepted step (rank 0 writes; a no-op on other ranks)."""

    def __init__(self, path: Path, rank: int, keep_until_s: float | None = None):
        self.path = Path(path)
        self.rank = rank
        self.columns: list[str] | None = None
        if rank != 0:
            return
        if keep_until_s is None or not self.path.is_file():
            self.path.unlink(missing_ok=True)
            return
        with open(self.path, newline="") as fh:
            rows = list(csv.reader(fh))
        if rows:
            self.columns = rows[0]
            kept = [r for r in rows[1:] if r and float(r[0]) <= keep_until_s * (1 + 1e-12)]
            text = ",".join(self.columns) + "\n" + "".join(",".join(r) + "\n" for r in kept)
            atomic_write_text(self.path, text)

    def write(self, values: dict[str, float]) -> None:
        if self.rank != 0:
            return
        new = self.columns is None
        if self.columns is None:
            self.columns = row_columns(values)
        with open(self.path, "a", newline="") as fh:
            if new:
                fh.write(",".join(self.columns) + "\n")
            fh.write(",".join(_cell(values.get(c)) for c in self.columns) + "\n")
            fh.flush()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def read_timeseries(path: str | Path) -> dict[str, np.ndarray]:
    """timeseries.csv as {column: array} (empty cells are NaN); needs only numpy."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return {}
    cols = rows[0]
    data = np.array([[float(x) if x not in ("", "None") else np.nan for x in r] for r in rows[1:] if r], dtype=float)
    data = data.reshape(-1, len(cols))
    return {c: data[:, i] for i, c in enumerate(cols)}


# --- field frames -------------------------------------------------------------------------------


def frame_name(index: int) -> str:
    return f"frame_{index:05d}"


def frame_file(index: int) -> str:
    """The .vtu of a frame (relative to the run directory): the whole mesh in one file, for
    any rank count (vtk_output.py)."""
    return f"{FRAMES_DIR}/{frame_name(index)}.vtu"


def frame_piece(directory: Path, index: int) -> str:
    """The file a frame's index entry points at (relative to the run directory): its .vtu, or
    for a frame written by an earlier version (a run resumed across an upgrade) the parallel
    .pvtu of DOLFINx's VTKFile."""
    old = f"{FRAMES_DIR}/{frame_name(index)}000000.pvtu"
    new = frame_file(index)
    return old if (Path(directory) / old).is_file() and not (Path(directory) / new).is_file() else new


def write_frame_index(directory: Path, times: list[float]) -> None:
    """fields_time.pvd listing every frame with its time (rank 0, atomically)."""
    write_collection(Path(directory) / FIELDS_INDEX, [(t, frame_piece(directory, i)) for i, t in enumerate(times)])


def read_frame_times(directory: Path) -> list[float]:
    """The frame times listed in fields_time.pvd (empty when there is none)."""
    path = Path(directory) / FIELDS_INDEX
    if not path.is_file():
        return []
    return [float(t) for t in re.findall(r'timestep="([^"]+)"', path.read_text())]


def prune_frames(directory: Path, keep: int) -> list[float]:
    """Drop the frames after the first `keep` (files and index entries); returns the kept times."""
    times = read_frame_times(directory)[:keep]
    frames = Path(directory) / FRAMES_DIR
    if frames.is_dir():
        for f in frames.iterdir():
            m = re.match(r"frame_(\d{5})", f.name)
            if m and int(m.group(1)) >= keep:
                f.unlink()
    write_frame_index(directory, times)
    return times


def remove_transient_dir(out: Path) -> None:
    """Delete a transient directory (--overwrite): only one that holds a transient's files."""
    if out.is_dir():
        shutil.rmtree(out)


def is_transient_dir(out: Path) -> bool:
    """True when `out` is empty or holds a transient's files (and nothing --overwrite must not delete)."""
    if not out.is_dir():
        return False
    names = set(os.listdir(out))
    return not names or bool(names & {TIMESERIES, FIELDS_INDEX, "state.npz"})
