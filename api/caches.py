"""The service's caches of encoded answers, one set per app (``app.state.caches``).

Two apps in one process (tests, or a deployment that serves two stores) keep their own; entries
are keyed by the snapshot version, so a reload never serves an old tile or page.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock


class LRUCache:
    """Encoded tiles or rendered pages, by key (least recently used dropped past ``size``)."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._tiles: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
            return tile

    def put(self, key: tuple, tile: bytes) -> None:
        with self._lock:
            self._tiles[key] = tile
            while len(self._tiles) > self.size:
                self._tiles.popitem(last=False)


@dataclass
class Caches:
    #: encoded vector tiles (and their gzipped form), by (version, layer, z, x, y)
    tiles: LRUCache = field(default_factory=lambda: LRUCache(size=8192))
    #: rendered map pages (folium takes some 100 ms to write one), by version, page, language and parameters
    pages: LRUCache = field(default_factory=lambda: LRUCache(size=256))
