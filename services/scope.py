"""What a signed-in user sees: their provinces only, and NGO positions generalised without the right.

``view(snapshot, user)`` is the snapshot as the user may see it: every layer with a
``province_code`` cut to the user's provinces (national roles see all), and, for roles without the
exact-location right, every NGO point replaced by its *generalised position* before anything is
serialised. Routes take the view from the ``snapshot`` dependency, so items, exports, tiles, map
data and pages all read the same restricted frames. The analysis itself stays national (a
village's nearest centre may be across a border); routes cut its answers with ``restrict``.

Every figure such a role sees that rests on where centres are (distances to the nearest centre
and which centre that is, centres in reach, access shares, flags, village priorities, the
licence check's neighbours) comes from ``generalised_analysis``: the same analysis run with
every centre at its generalised position. So those figures say nothing about a centre that its
generalised position does not already say: least squares on a director's village distances
finds the grid node, not the centre (``tests/test_triangulation.py``). On top of that they are
rounded (``COARSENING``: 5 km or 5 min, 0.05 of the norm; ``coarse``, ``Scope.coarsening``). NGO
records lose the code of the settlement they stand in. Saturation and concentration count
centres by their recorded county and settlement, which the generalisation does not move.

A role with the right but of some provinces only (a licensing officer) sees its own provinces'
centres exactly and every other province's as a role without the right does: its figures come
from ``generalised_analysis(keep=provinces)``, the analysis with only the other provinces'
centres and volunteer groups generalised (exact distances from its villages to a centre across
the border told where that centre is). National roles with the right see the exact analysis.

Generalised position: the nearest node of a fixed 0.125° grid (about 12-14 km apart) that is at
least ``CLEARANCE_M`` from every true NGO position of the snapshot. It depends only on the data,
so it is the same every time, and no generalised point lies within 1 km of any real centre.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.decisions import Coarsening, coarsen
from geo.errors import Forbidden
from geo.licences import status_at
from geo.volunteers import group_places
from services.loading import analysis_from_layers
from services.rights import has_right
from services.snapshot import Snapshot
from store.accounts import User

GRID_DEG = 0.125
CLEARANCE_M = 1500.0
EARTH_R_M = 6_371_008.8
#: How roles without the exact-location right see distances to centres and access shares.
COARSENING = Coarsening(distance=5.0, share=0.05)


@dataclass(frozen=True)
class Scope:
    provinces: frozenset[str] | None  # None: national
    exact: bool  # may see the true NGO positions

    @property
    def key(self) -> str:
        where = "all" if self.provinces is None else ",".join(sorted(self.provinces))
        return f"{where}|{'exact' if self.exact else 'generalised'}"

    @property
    def coarsening(self) -> Coarsening | None:
        """How this scope sees figures that depend on centres' positions (None: exactly)."""
        return None if self.exact else COARSENING

    def allows(self, province_code: str | None) -> bool:
        return self.provinces is None or (
            province_code is not None and str(province_code)[:2] in self.provinces
        )

    def require(self, province: str | None) -> None:
        """Refuse (403, ``outside-provinces``) a province this scope does not hold; None asks for
        no one province and passes."""
        if province is not None and not self.allows(province):
            raise Forbidden(f"province {province} is not one of your provinces", code="outside-provinces")


NATIONAL = Scope(None, True)


def scope_of(user: User | None) -> Scope:
    if user is None:
        return Scope(frozenset(), False)
    provinces = None if user.national else frozenset(user.provinces)
    return Scope(provinces, has_right(user, "exact_location"))


def _unit(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on a sphere of the Earth's mean radius: chord length = ground distance at these scales."""
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]) * EARTH_R_M


def generalised_positions(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each true position, the nearest grid node at least ``CLEARANCE_M`` from every true position."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if len(lon) == 0:
        return np.zeros(0), np.zeros(0)
    lo0 = np.floor(lon.min() / GRID_DEG) * GRID_DEG - 4 * GRID_DEG
    la0 = np.floor(lat.min() / GRID_DEG) * GRID_DEG - 4 * GRID_DEG
    nx = int(np.ceil((lon.max() - lo0) / GRID_DEG)) + 5
    ny = int(np.ceil((lat.max() - la0) / GRID_DEG)) + 5
    gx, gy = np.meshgrid(lo0 + GRID_DEG * np.arange(nx), la0 + GRID_DEG * np.arange(ny))
    gx, gy = np.round(gx.ravel(), 6), np.round(gy.ravel(), 6)
    true, nodes = _unit(lon, lat), _unit(gx, gy)
    near, _ = cKDTree(true).query(nodes, k=1)
    free = near >= CLEARANCE_M
    _, nearest = cKDTree(nodes[free]).query(true, k=1)
    return gx[free][nearest], gy[free][nearest]


def generalise_ngos(frame: gpd.GeoDataFrame, true: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` (rows of ``true``) with generalised points, computed against every true position."""
    lon, lat = true.geometry.x.to_numpy(), true.geometry.y.to_numpy()
    glon, glat = generalised_positions(lon, lat)
    where = pd.DataFrame({"lon": glon, "lat": glat}, index=true["licence_no"].to_numpy())
    rows = where.loc[frame["licence_no"].to_numpy()]
    out = frame.copy()
    out["position_generalised"] = True
    if "settlement_code" in out.columns:  # the place a centre stands in is its position
        out["settlement_code"] = None
    return out.set_geometry(gpd.points_from_xy(rows["lon"], rows["lat"], crs=frame.crs))


def generalised_ngos(ngos: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every centre of ``ngos`` at its generalised position, all else as recorded."""
    lon, lat = generalised_positions(ngos.geometry.x.to_numpy(), ngos.geometry.y.to_numpy())
    return ngos.set_geometry(gpd.points_from_xy(lon, lat, crs=ngos.crs))


def generalise_volunteers(frame: pd.DataFrame, true: pd.DataFrame, settlements: pd.DataFrame) -> pd.DataFrame:
    """Volunteer groups of ``frame`` (rows of ``true``) as roles without the exact-location right
    see them: a group placed at a point or a settlement stands at the generalised position of
    that place (computed against every true place of ``true``, as centres' are), its settlement
    code dropped; a county-level group is as recorded (its county is no secret)."""
    out = frame.copy()
    if not len(true):
        return out
    where = group_places(true, settlements)
    placed = (where["placed"] != "county").to_numpy()
    glon, glat = np.full(len(true), np.nan), np.full(len(true), np.nan)
    if placed.any():
        glon[placed], glat[placed] = generalised_positions(
            where["lon"].to_numpy()[placed], where["lat"].to_numpy()[placed]
        )
    key = list(zip(true["group_id"], true["speciality"], strict=True))
    by_key = dict(zip(key, zip(glon, glat, strict=True), strict=True))
    rows = [by_key[k] for k in zip(frame["group_id"], frame["speciality"], strict=True)]
    out["lon"] = [r[0] for r in rows]
    out["lat"] = [r[1] for r in rows]
    out["settlement_code"] = None
    out["position_generalised"] = True
    return out


def generalised_analysis(snap: Snapshot, keep: frozenset[str] | None = None):
    """The analysis of ``snap`` with every centre at its generalised position (built once per
    snapshot, on the same travel cost): what roles without the exact-location right are answered
    from, so no figure they see is finer than the generalised positions themselves.

    With ``keep`` (the provinces of a role that has the right), the centres and volunteer groups
    of those provinces stay where they are and only the others are generalised: such a role sees
    its own centres exactly and another province's as a role without the right does (its exact
    distances to a centre across the border told where that centre is). The last
    ``PARTIAL_KEPT`` such analyses of a snapshot are kept."""

    def build():
        ngos = snap.layer("ngos")
        moved = generalised_ngos(ngos)
        if keep is not None:
            own = ngos["province_code"].isin(keep).to_numpy()
            moved = moved.set_geometry(np.where(own, ngos.geometry.to_numpy(), moved.geometry.to_numpy()))
        layers = {**snap.layers, "ngos": moved}
        if "volunteer_groups" in snap.layers:
            groups = snap.layer("volunteer_groups")
            if keep is None:
                layers["volunteer_groups"] = generalise_volunteers(groups, groups, snap.layer("settlements"))
            else:
                own_groups = groups["province_code"].isin(keep).to_numpy()
                order = np.argsort(np.concatenate([np.flatnonzero(own_groups), np.flatnonzero(~own_groups)]))
                layers["volunteer_groups"] = pd.concat(
                    [
                        groups[own_groups].assign(position_generalised=False),
                        generalise_volunteers(groups[~own_groups], groups, snap.layer("settlements")),
                    ]
                ).iloc[order]  # in the layer's own order
        return analysis_from_layers(layers, snap.norms, snap.travel_cost(), snap.as_of)

    if keep is None:
        return snap.cached("analysis:generalised", build)
    kept = cast(_Partial, snap.cached("analysis:partial", _Partial))
    return kept.get(keep, build)


#: How many analyses with some provinces' centres exact (``generalised_analysis(keep=...)``) a
#: snapshot keeps: each is a national analysis (about 200 MB on roads on the national demo), so
#: officers of more sets of provinces than this, asking in turn, each wait for theirs again
#: (``AMAYESH_PARTIAL_ANALYSES``; 2 by default).
PARTIAL_KEPT = max(1, int(os.environ.get("AMAYESH_PARTIAL_ANALYSES", "2")))


class _Partial:
    """A snapshot's last ``PARTIAL_KEPT`` partly generalised analyses, by the provinces kept.
    Each set of provinces is built once at a time (a second caller of it waits for that build),
    and builds for different sets run side by side."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[frozenset[str], object] = OrderedDict()
        self._building: dict[frozenset[str], threading.Lock] = {}

    def get(self, keep: frozenset[str], build):
        with self._lock:
            if keep in self._kept:
                self._kept.move_to_end(keep)
                return self._kept[keep]
            one = self._building.setdefault(keep, threading.Lock())
        with one:
            with self._lock:
                if keep in self._kept:  # built while this caller waited
                    self._kept.move_to_end(keep)
                    return self._kept[keep]
            value = build()
            with self._lock:
                self._kept[keep] = value
                self._kept.move_to_end(keep)
                while len(self._kept) > PARTIAL_KEPT:
                    self._kept.popitem(last=False)
                self._building.pop(keep, None)
            return value


@dataclass
class View(Snapshot):
    """A snapshot restricted to a scope (see the module's docstring)."""

    base: Snapshot | None = None
    scope: Scope = field(default=NATIONAL)

    def analysis(self):
        assert self.base is not None, "a view is made from a snapshot"
        return analysis_seen(self.base, self.scope)


def analysis_seen(snap: Snapshot, scope: Scope):
    """The analysis of ``snap`` a caller of ``scope`` is answered from: the exact one for a
    national role with the exact-location right, the generalised one for a role without it, and
    for a role with it but of some provinces, the one with only the other provinces' centres
    generalised."""
    if not scope.exact:
        return generalised_analysis(snap)
    if scope.provinces is None:
        return snap.analysis()
    return generalised_analysis(snap, keep=scope.provinces)


def analysis_kind(scope: Scope) -> str:
    """A key for ``analysis_seen``'s choice (scopes of one kind are answered from one analysis)."""
    if not scope.exact:
        return "generalised"
    return "exact" if scope.provinces is None else "keep:" + ",".join(sorted(scope.provinces))


def require_province(snap: Snapshot, province: str | None) -> None:
    """Refuse (403) a province the caller of ``snap`` does not hold; a national view passes."""
    scope = getattr(snap, "scope", None)
    if scope is not None:
        scope.require(province)


def coarsening(snap: Snapshot) -> Coarsening | None:
    """How the caller of ``snap`` sees distances to centres and access (None: exactly)."""
    scope = getattr(snap, "scope", None)
    return None if scope is None else scope.coarsening


def coarse(frame: pd.DataFrame, snap: Snapshot) -> pd.DataFrame:
    """``frame`` with distances to centres and access shares as the caller of ``snap`` may see them."""
    c = coarsening(snap)
    return frame if c is None else coarsen(frame, c)


def restrict(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Rows of ``frame`` in the scope's provinces (by ``province_code``, else ``county_code``)."""
    if scope.provinces is None:
        return frame
    if "province_code" in frame.columns:
        codes = frame["province_code"].astype(str)
    elif "county_code" in frame.columns:
        codes = frame["county_code"].astype(str).str[:2]
    elif "settlement_code" in frame.columns:
        codes = frame["settlement_code"].astype(str).str[:2]
    else:
        return frame.iloc[0:0]
    return frame[codes.isin(sorted(scope.provinces)).to_numpy()]


def view(snap: Snapshot, scope: Scope) -> Snapshot:
    """``snap`` as the scope may see it (built once per snapshot and scope)."""
    if scope == NATIONAL:
        return snap

    # PostGIS enforces the provinces a second time: the restricted layers are read from the
    # database under row-level security with the user's provinces, then cut here as well.
    from_db = getattr(snap._store, "read_layer_in_provinces", None)

    def build() -> View:
        layers = {}
        for name, frame in snap.layers.items():
            if name == "layer_info":
                out = frame
            elif from_db is not None and scope.provinces is not None:
                out = restrict(from_db(name, scope.provinces), scope)
            else:
                out = restrict(frame, scope)
            if name == "ngos" and out is not frame and "status" in frame.columns:
                # Read from the database: statuses as of the snapshot's day, like the snapshot's own.
                out = (
                    out.assign(status=status_at(out, snap.as_of, fixed=snap.fixed_day))
                    if from_db is not None
                    else out
                )
            if name == "ngos" and not scope.exact:
                out = generalise_ngos(out, frame)
            if name == "volunteer_groups" and not scope.exact:
                out = generalise_volunteers(out, frame, snap.layer("settlements"))
            layers[name] = out.reset_index(drop=True) if out is not frame else out

        v = View(
            version=f"{snap.version}~{scope.key}",
            layers=layers,
            norms=snap.norms,
            _store=snap._store,
            as_of=snap.as_of,
            as_of_source=snap.as_of_source,
            store_version=snap.store_version,
            base=snap,
            scope=scope,
        )
        v.tiles_ready = snap.tiles_ready
        return v

    return cast(Snapshot, snap.cached(f"view:{scope.key}", build))
