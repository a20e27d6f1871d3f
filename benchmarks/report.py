"""Shared output of the benchmark scripts: append rows to a CSV, print a Markdown table."""

from __future__ import annotations

import csv
from pathlib import Path


def record(rows: list[dict], path: Path) -> str:
    """Append `rows` to the CSV at `path` (header once) and return them as a Markdown table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    if not new:
        with path.open(newline="") as fh:
            header = next(csv.reader(fh), [])
        if header != list(rows[0]):
            raise SystemExit(f"{path}: its columns differ from this script's; choose another file with --out")
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
