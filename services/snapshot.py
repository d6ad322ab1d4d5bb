"""An in-memory snapshot of the store's layers, and of the analysis computed from them.

Requests read the snapshot, not the store: a page of 100 settlements is a slice of a frame in
memory. Each request checks the store's version token (a stat of the GeoPackage, one small query
on PostGIS); after an import or rebuild the next request loads the new layers, so answers always
reflect the current contents.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from geo.norms import Norms
from geo.recompute import Analysis
from services import memory
from services.caches import ByteLRU
from services.catalogue import norms_in_force, store_norms
from services.loading import analysis_from_layers, analysis_from_store, ngos_as_of, resolve_as_of
from store.base import Store, StoreError

#: The analysis of this many settlements or more gives its freed memory back (``memory.release``):
#: the national one frees hundreds of megabytes of intermediate frames. A small one frees little,
#: and the collection walks every object of the process whatever the analysis freed (0.1-0.3 s of
#: CPU in a test process, paid after each of the test suite's hundred small analyses).
RELEASE_FROM_SETTLEMENTS = 10_000


@dataclass
class Snapshot:
    version: str
    layers: dict[str, pd.DataFrame]
    norms: Norms
    _store: Store
    #: the day licence statuses are read at, and where it came from (setting, registry, today)
    as_of: dt.date = field(default_factory=dt.date.today)
    as_of_source: str = "today"
    #: the store's version token (``version`` adds the as-of day, for caches and ETags)
    store_version: str = ""
    #: the travel cost of the analysis (None: the norms' straight line), or a function making it
    travel: object | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _analysis: Analysis | None = None
    _cache: dict[str, object] = field(default_factory=dict)
    #: set once the low-zoom vector tiles of this snapshot are prepared
    tiles_ready: threading.Event = field(default_factory=threading.Event)
    #: values derived per request parameter (filter masks): bounded in bytes, least recently used out
    small: ByteLRU = field(default_factory=lambda: ByteLRU(64 * 2**20))

    def layer(self, name: str) -> pd.DataFrame:
        try:
            return self.layers[name]
        except KeyError:
            raise StoreError(f"layer {name!r} is not in the store; build the demo or import it") from None

    def analysis(self) -> Analysis:
        with self._lock:
            if self._analysis is None:
                self._analysis = analysis_from_snapshot(self)
                if len(self.layers.get("settlements", ())) >= RELEASE_FROM_SETTLEMENTS:
                    memory.release_soon()  # the analysis's intermediate frames are freed: give them back
            return self._analysis

    def travel_cost(self) -> object | None:
        """The travel cost of this snapshot's analyses: that of its analysis if made, else its
        own (a function making it is asked; the service's makes the road network once)."""
        if self._analysis is not None:
            return self._analysis.travel
        return self.travel() if callable(self.travel) else self.travel

    def cached(self, key: str, build: Callable[[], object]) -> object:
        """A value derived from this snapshot, built once."""
        value = self._cache.get(key)
        if value is None:
            with self._lock:
                value = self._cache.get(key)
                if value is None:
                    value = build()
                    self._cache[key] = value
        return value

    def tree(self, key: str, frame: gpd.GeoDataFrame) -> shapely.STRtree:
        return self.cached(f"tree:{key}", lambda: shapely.STRtree(frame.geometry.to_numpy()))

    @property
    def fixed_day(self) -> bool:
        """Whether the statuses are read at a stated day of the registry (a setting or the
        registry's own date), where a licence issued after that day is a decision recorded since
        and keeps its recorded status; not so today, nor at a period's end (dates alone)."""
        return self.as_of_source not in ("today", "period")

    def recorded_ngos(self) -> pd.DataFrame:
        """The licence registry as recorded in the store (this snapshot's statuses are those its
        dates give on the as-of day), read once per snapshot."""
        return self.cached("ngos:recorded", lambda: self._store.read_layer("ngos"))


def analysis_from_snapshot(snapshot: Snapshot) -> Analysis:
    result = analysis_from_layers(snapshot.layers, snapshot.norms, snapshot.travel_cost(), snapshot.as_of)
    result.as_of_fixed = snapshot.fixed_day
    return result


def snapshot_at(snap: Snapshot, day: dt.date, small_cache_bytes: int = 16 * 2**20) -> Snapshot:
    """``snap`` with the registry's statuses on an earlier ``day`` (a period's end), by the
    licences' dates alone: one issued after that day was not licensed yet, whatever the registry
    records since. Everything else is ``snap``'s (layers, norms, travel); its analysis is computed
    when first asked. ``snap`` itself for its own day or a later one."""
    if day >= snap.as_of:
        return snap
    layers = dict(snap.layers)
    if "ngos" in layers:
        layers["ngos"] = ngos_as_of(snap.recorded_ngos(), day, fixed=False)
    made = Snapshot(
        version=f"{snap.store_version}@{day.isoformat()}~period",
        layers=layers,
        norms=snap.norms,
        _store=snap._store,
        store_version=snap.store_version,
        as_of=day,
        as_of_source="period",
        small=ByteLRU(small_cache_bytes),
        travel=snap.travel,
    )
    made.tiles_ready.set()  # no prepared tiles: tiles of an earlier day are made on demand
    return made


def _made_once(make: Callable[[], object]) -> Callable[[], object]:
    """``make``, called once (the first caller's result is every caller's)."""
    lock = threading.Lock()
    made: list[object] = []

    def once() -> object:
        with lock:
            if not made:
                made.append(make())
            return made[0]

    return once


#: How many snapshots at earlier days (``Snapshots.at``) are kept: each holds a national analysis.
DAY_SNAPSHOTS = 2


class Snapshots:
    """The current snapshot of a store, reloaded when the store's version changes."""

    def __init__(
        self,
        store: Store,
        norms: Norms,
        on_load: Callable[[Snapshot], None] | None = None,
        as_of: dt.date | None = None,
        travel: object | None = None,
        small_cache_bytes: int = 64 * 2**20,
    ) -> None:
        self.store = store
        self.norms = norms
        # One travel cost for every snapshot, made when an analysis first needs it: the road
        # network keeps the settlements' attachment to it (``RoadNetwork.snap``) for the next
        # analysis, of a later store version or an earlier day.
        self.travel = _made_once(travel) if callable(travel) else travel
        self.on_load = on_load
        self.as_of = as_of
        self.small_cache_bytes = small_cache_bytes
        self._current: Snapshot | None = None
        #: the norms in force read alone at a store version (``norms_now``)
        self._norms: tuple[str, Norms] | None = None
        self._lock = threading.Lock()
        #: snapshots at earlier days (``at``), most recently used last
        self._days: OrderedDict[tuple[str, dt.date], Snapshot] = OrderedDict()

    def at(self, snap: Snapshot, day: dt.date) -> Snapshot:
        """``snapshot_at(snap, day)``, kept: the last ``DAY_SNAPSHOTS`` such snapshots (each holds
        an analysis once asked) serve every route that asks about that day (a period's
        saturation, priorities, items and tiles, and the trends' analysis at its end)."""
        if day >= snap.as_of:
            return snap
        key = (snap.version, day)
        with self._lock:
            found = self._days.get(key)
            if found is not None:
                self._days.move_to_end(key)
                return found
        made = snapshot_at(snap, day, small_cache_bytes=self.small_cache_bytes // 4)
        with self._lock:
            made = self._days.setdefault(key, made)
            self._days.move_to_end(key)
            while len(self._days) > DAY_SNAPSHOTS:
                self._days.popitem(last=False)
        return made

    def fresh(self) -> Snapshot | None:
        """The current snapshot if it is known to be fresh without blocking (a GeoPackage's stat);
        otherwise None, and the caller calls ``current`` in a thread."""
        snap = self._current
        if snap is None or not getattr(self.store, "version_is_cheap", False):
            return None
        fresh = snap.store_version == self.store.version() and not self._stale(snap)
        return snap if fresh else None

    def norms_now(self) -> Norms:
        """The norms in force at the store's current version: the loaded snapshot's, or else read
        alone from the store (its ``norms_versions``, not every layer: the OpenAPI document
        names the services in force and need not wait for the national layers)."""
        version = self.store.version()
        snap = self._current
        if snap is not None and snap.store_version == version:
            return snap.norms
        known = self._norms
        if known is None or known[0] != version:
            known = self._norms = (version, store_norms(self.store, self.norms))
        return known[1]

    def stored_layers(self, store_version: str) -> dict[str, object]:
        """The current snapshot's layers that are exactly as the store holds them at
        ``store_version`` (all but the registry, whose statuses a snapshot reads as of its day),
        and under ``"iran"`` the country's outline an import checks its points against (as
        ``exchange.imports.check_rows`` takes them); ``{}`` when no snapshot of that version is
        loaded (nothing is loaded for the asking)."""
        snap = self._current
        if snap is None or snap.store_version != store_version:
            return {}
        out: dict = {name: frame for name, frame in snap.layers.items() if name != "ngos"}
        if "provinces" in out:
            # and the country's outline every imported point is checked against, made once
            from exchange.imports import outline_of

            out["iran"] = snap.cached("iran-outline", lambda: outline_of(out["provinces"]))
        return out

    def current(self) -> Snapshot:
        version = self.store.version()
        snap = self._current
        if snap is not None and snap.store_version == version and not self._stale(snap):
            return snap
        with self._lock:
            current = self._current
            if current is None or current.store_version != version or self._stale(current):
                current = self._current = self._load(version)
            return current

    @staticmethod
    def _stale(snap: Snapshot) -> bool:
        # Statuses read "as of today" are read again on the next day.
        return snap.as_of_source == "today" and snap.as_of != dt.date.today()

    def _load(self, version: str) -> Snapshot:
        layers = self.store.read_layers()
        as_of, source = resolve_as_of(self.as_of, layers.get("layer_info"))
        if "ngos" in layers:
            layers["ngos"] = ngos_as_of(layers["ngos"], as_of, fixed=source != "today")
        # The norms an administrator imported last are in force (``services.catalogue``); the
        # norms file the service started with otherwise.
        norms = norms_in_force(layers.get("norms_versions"), self.norms)
        snap = Snapshot(
            version=f"{version}@{as_of.isoformat()}",
            layers=layers,
            norms=norms,
            _store=self.store,
            store_version=version,
            as_of=as_of,
            as_of_source=source,
            small=ByteLRU(self.small_cache_bytes),
            travel=self.travel,
        )
        if self.on_load is not None:
            self.on_load(snap)
        return snap


__all__ = ["Snapshot", "Snapshots", "analysis_from_store", "snapshot_at"]
