"""matplotlib without a display: the Agg backend, and figures saved atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import replacing


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_atomic(fig: Any, path: Path, **savefig_kwargs: Any) -> Path:
    """fig.savefig into a temporary sibling, renamed to `path` once complete."""
    path = Path(path)
    with replacing(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, **savefig_kwargs)
    return path
