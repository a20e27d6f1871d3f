"""Files written atomically (a temporary sibling, fsync, os.replace), JSON-safe values, and
the two-column CSV tables users give (material law tables, drive waveforms).

A reader never sees a half-written file: the data goes to a hidden temporary file in
the same directory, is flushed to disk and then renamed over the target in one step.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def temporary_sibling(path: Path, suffix: str = "") -> Path:
    """The hidden temporary name next to `path`: .NAME.PID.tmp, or .STEM.PID.tmpSUFFIX with a suffix."""
    if suffix:
        return path.with_name(f".{path.stem}.{os.getpid()}.tmp{suffix}")
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def current_umask() -> int:
    """The process's umask (read from /proc where possible, which changes nothing)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc: set and restore (the only portable way to read it)
    os.umask(mask)
    return mask


def staging_directory(prefix: str, parent: Path) -> Path:
    """A new hidden directory in `parent` that will be published (renamed) as a result.

    tempfile.mkdtemp always creates mode 0700; a published directory gets the mode that
    the user's umask gives a plain mkdir (0o777 & ~umask, e.g. 0755 under umask 022).
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def fsync_file(path: Path) -> None:
    """Flush a written file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replacing(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path to write; on success fsync it and rename it over `path`, else remove it.

    `suffix` keeps a file extension on the temporary name for writers that choose the format
    by it (matplotlib's savefig, numpy's savez).
    """
    path = Path(path)
    tmp = temporary_sibling(path, suffix)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temporary sibling, fsync, os.replace)."""
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        with open(tmp, "w", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers, tuples as lists, str keys and NaN/inf as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json_atomic(path: Path, data: Any, indent: int = 2) -> None:
    """`data` as strict JSON (see `jsonable`) written atomically, with a final newline."""
    atomic_write_text(path, json.dumps(jsonable(data), indent=indent, allow_nan=False) + "\n")


def write_csv_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows (dicts with the same keys, in column order) as a CSV file with a header, atomically;
    floats with repr precision, booleans as true/false."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if rows:
        writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow(
            [
                str(v).lower()
                if isinstance(v, (bool, np.bool_))
                else repr(float(v))
                if isinstance(v, (float, np.floating))
                else v
                for v in row.values()
            ]
        )
    atomic_write_text(path, buf.getvalue())


def read_two_columns(path: str, columns: str, header_example: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The two numeric columns of a CSV file with one header row naming them (blank lines
    skipped): `columns` names them in messages ("T, value"), `header_example` shows a header.
    Raises ValueError with a one-line message naming the file (and the row)."""
    import csv

    if not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    try:
        with open(path, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path} ({type(exc).__name__})") from None
    if len(rows) < 3:
        raise ValueError(f"{path}: expected a header row and at least two data rows")
    first, second = [], []
    for n, row in enumerate(rows[1:], start=2):
        try:
            a, b = float(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise ValueError(f"{path} row {n}: expected two numbers ({columns}), got {','.join(row)!r}") from None
        first.append(a)
        second.append(b)
    try:  # a header of numbers is a missing header: the first data row would be lost
        float(rows[0][0])
    except ValueError:
        pass
    else:
        raise ValueError(f"{path}: the first row must be a header naming the columns (e.g. {header_example})")
    return tuple(first), tuple(second)
