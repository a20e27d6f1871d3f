"""Give the C heap's free pages back to the operating system (glibc's malloc_trim).

glibc keeps freed memory in the process's heap for later allocations. After the coarse
meshes of mesh sequencing are freed, the target mesh's solver set-up and Krylov vectors
did not fit into those holes and grew the process instead: fig2a 245k cells serial, the
resident memory before the target's solve 0.709 GB, 0.552 GB after trimming, and the peak
of the run 0.925 -> 0.887 GB (benchmarks/README.md, Memory). Newton trims before each
residual assembly too, whose packed cell coefficients are a step's largest transient (fig2a
965k cells serial: peak 3.080 -> 3.042 GB). A no-op where the C library has no malloc_trim
(musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_free_heap() -> None:
    """malloc_trim(0): return every free page of the heap to the system, where glibc has it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
