"""Giving freed memory back to the system after the large one-off steps of a snapshot.

glibc's allocator keeps the pages that the analysis and the tile preparation freed (their
intermediate frames and arrays) in its heaps, one heap per thread that allocated, and gives
back only what lies at the top of a heap. ``release`` collects Python's garbage and asks glibc
to return every free page of every heap (``malloc_trim(0)``): after the national analysis and
the prepared tiles that is a few hundred MB of the resident set (see README, "What takes the
memory"). Elsewhere than glibc it only collects the garbage.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading

_lock = threading.Lock()


def _load_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_trim()


def release() -> bool:
    """Collect garbage and return free heap pages to the system; whether glibc gave any back."""
    with _lock:
        gc.collect()
        return bool(_malloc_trim(0)) if _malloc_trim is not None else False
