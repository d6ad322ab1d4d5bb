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
import os
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


#: glibc's ``mallopt`` parameters: the most heaps (arenas) threads may allocate from, and the
#: size from which a block is mapped on its own rather than taken from a heap.
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
#: Heaps the service's threads share (glibc's default: 8 per core, each a heap that keeps its
#: own freed pages).
ARENAS = 2
#: Blocks of 1 MiB and more (a column of 100,000 numbers is 0.8 MB) are mapped on their own and
#: given back whole when freed. glibc's own threshold starts at 128 KiB and rises to the largest
#: block freed (up to 32 MiB), after which the analysis's large temporary arrays came from the
#: heaps and left them scattered: 16 MB more after the national analysis, 40 MB more under load.
MMAP_THRESHOLD = 1 << 20


def _mallopt():
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def limit_arenas(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Have the threads of this process allocate from at most ``arenas`` glibc heaps, and map
    blocks of ``mmap_threshold`` bytes and more on their own, each unless its environment
    variable (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``) is set: glibc read those at start
    and they stand. The request threads, the analysis and the tile preparation each took a heap
    of their own, each holding freed pages the others could not reuse. Whether the heaps were
    limited (False elsewhere than glibc)."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if not os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))


def release_soon() -> None:
    """``release`` in a thread of its own, off the caller's path (it takes about half a second
    after the national analysis, most of it Python's garbage collection)."""
    threading.Thread(target=release, name="release-memory", daemon=True).start()
