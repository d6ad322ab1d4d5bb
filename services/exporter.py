"""Exports written in worker processes, so that writing a large XLSX or GeoPackage (seconds of
work that holds Python's lock, in openpyxl's and GDAL's C code) never stalls the service."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_workers = 2


def configure(workers: int) -> None:
    global _workers
    _workers = max(1, workers)


def _watch(server: int) -> None:
    """In a worker: end when the server is gone, even if it was killed outright (a worker's
    parent is the fork server, so the system would not tell it)."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(server, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # pragma: no cover - the pid was reused by another user
                os._exit(0)

    threading.Thread(target=watch, name="amayesh-export-watch", daemon=True).start()


def _get() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["exchange.formats"])
            _pool = ProcessPoolExecutor(
                max_workers=_workers, mp_context=ctx, initializer=_watch, initargs=(os.getpid(),)
            )
        return _pool


def write(frame: pd.DataFrame, path: Path, *, layer: str, fmt: str | None = None) -> Path:
    """``exchange.formats.write_file`` in a worker process (the calling thread waits)."""
    from exchange.formats import write_file

    pool = _get()
    try:
        return pool.submit(write_file, frame, path, layer=layer, fmt=fmt).result()
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this export fails, the next gets a new pool
        # (a broken pool refuses every later task).
        with _lock:
            global _pool
            if _pool is pool:
                _pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None
