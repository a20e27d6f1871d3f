"""heap.release_free_heap: freed heap memory goes back to the system (glibc)."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from fem_peltier.heap import _malloc_trim, release_free_heap


def _resident_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise KeyError("VmRSS")


@pytest.mark.skipif(_malloc_trim() is None, reason="the C library has no malloc_trim")
def test_freed_heap_blocks_are_returned():
    """200 MB in 64 KB blocks (below glibc's mmap threshold: on the heap), all freed but the
    last, which pins the heap's top: the pages stay resident until release_free_heap."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    size, count = 64 * 1024, 3200
    blocks = [libc.malloc(size) for _ in range(count)]
    for b in blocks:
        ctypes.memset(b, 1, size)  # resident
    for b in blocks[:-1]:
        libc.free(b)
    held = _resident_mb()
    release_free_heap()
    released = held - _resident_mb()
    libc.free(blocks[-1])
    assert released > 150, f"only {released:.0f} MB of 200 MB returned"
