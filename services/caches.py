"""Least-recently-used caches bounded by the bytes they hold (and, optionally, by entries), and
the set of them each app keeps (``app.state.caches``)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

import numpy as np
import pandas as pd

from services.settings import Settings


def size_of(value: object) -> int:
    """Bytes a cached value holds, near enough: arrays and frames by their buffers."""
    if isinstance(value, bytes | bytearray | str):
        return len(value) + 64
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return int(sum(size_of(v) for v in value.ravel()[:1000]) * max(value.size / 1000, 1)) + 128
        return value.nbytes + 128
    if isinstance(value, pd.DataFrame | pd.Series):
        return int(value.memory_usage(deep=False).sum()) if isinstance(value, pd.DataFrame) else value.nbytes
    if isinstance(value, tuple | list):
        return sum(size_of(v) for v in value) + 64
    return sys.getsizeof(value)


class ByteLRU:
    """Values by key; past ``max_bytes`` (or ``max_entries``) the least recently used go first."""

    def __init__(self, max_bytes: int, max_entries: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self._items: OrderedDict[object, tuple[object, int]] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: object) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: object, value: object) -> None:
        n = size_of(value)
        if n > self.max_bytes:
            return  # larger than the whole cache: not kept
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._items[key] = (value, n)
            self.bytes += n
            while self.bytes > self.max_bytes or (self.max_entries and len(self._items) > self.max_entries):
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0

    def get_or_build(self, key: object, build) -> object:
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value


class LRUCache(ByteLRU):
    """Encoded tiles or rendered pages, by key: least recently used dropped past ``max_bytes``
    (or ``size`` entries)."""

    def __init__(self, size: int = 8192, max_bytes: int = 256 * 2**20) -> None:
        super().__init__(max_bytes=max_bytes, max_entries=size)
        self.size = size


@dataclass
class Caches:
    """The caches of one app (``app.state.caches``): two apps in a process keep their own.

    Entries are keyed by the snapshot version, so a reload never serves an old tile or page.
    """

    #: encoded vector tiles (and their gzipped form), by (version, layer, z, x, y)
    tiles: LRUCache = field(default_factory=lambda: LRUCache(size=65_536))
    #: rendered map pages (folium takes some 100 ms to write one), by version, page, language, parameters
    pages: LRUCache = field(default_factory=lambda: LRUCache(size=256))
    #: the analysis at a Jalali period's end, per county and service type (``services.trends``),
    #: by version, day and positions: a recomputation each, so a few are kept
    trends: ByteLRU = field(default_factory=lambda: ByteLRU(32 * 2**20, max_entries=16))

    @classmethod
    def from_settings(cls, settings: Settings) -> Caches:
        return cls(
            tiles=LRUCache(size=65_536, max_bytes=settings.tile_cache_mb * 2**20),
            pages=LRUCache(size=256, max_bytes=settings.page_cache_mb * 2**20),
        )  # the trends cache keeps its default bounds
