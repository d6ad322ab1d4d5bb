"""The map pages' data, built once per snapshot: encoded, gzipped and tagged for revalidation."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass

import geopandas as gpd

from maps import layers
from services.scope import restrict
from services.snapshot import Snapshot
from store.base import share_repeated_strings


@dataclass(frozen=True)
class Encoded:
    body: bytes
    gzipped: bytes
    etag: str


def _encode(snap: Snapshot, name: str, value: dict) -> Encoded:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return Encoded(body, gzip.compress(body, compresslevel=6, mtime=0), f'"{snap.version}-{name}"')


def boundaries(snap: Snapshot) -> Encoded:
    def build() -> Encoded:
        a = snap.analysis()
        reach = layers.village_reach(
            a.settlements,
            a.access.covered,
            a.flags.assign(county_code=a.settlements["county_code"].reindex(a.flags.index).to_numpy()),
            list(a.norms.services),
        )
        value = layers.boundaries(
            snap.layer("provinces"), snap.layer("counties"), a.saturation, snap.norms, reach
        )
        scope = getattr(snap, "scope", None)  # a restricted view (services.scope): its provinces' cities
        value["cities"] = layers.city_labels(
            a.settlements if scope is None else restrict(a.settlements, scope)
        )
        value["as_of"] = snap.as_of.isoformat()
        return _encode(snap, "boundaries", value)

    return snap.cached("maps:boundaries", build)


def ngo_points(snap: Snapshot) -> Encoded:
    return snap.cached(
        "maps:ngos",
        lambda: _encode(snap, "ngos", layers.ngo_points(snap.layer("ngos"), list(snap.norms.services))),
    )


def target_areas(snap: Snapshot) -> Encoded:
    def build() -> Encoded:
        frame = snap.layer("target_areas")
        shapes = gpd.GeoDataFrame(
            frame[["target_code", "name_fa", "kind", "county_code", "province_code", "households"]],
            geometry=layers.simplified(frame, 50.0, coverage=False),
            crs=frame.crs,
        )
        return _encode(snap, "targets", json.loads(shapes.to_json(drop_id=True, na="null")))

    return snap.cached("maps:targets", build)


def settlement_access(snap: Snapshot) -> gpd.GeoDataFrame:
    """Settlements with their access class and flags per service, for the map's vector tiles."""

    def build() -> gpd.GeoDataFrame:
        a = snap.analysis()
        out = layers.settlement_access(a.settlements, a.access_share, a.access.covered, a.flags, a.norms)
        # One object per distinct class and flag string (a few hundred), not one per settlement:
        # the map's layer and its tile source held 99,654 of each, about 11 MB.
        out = share_repeated_strings(out)
        scope = getattr(snap, "scope", None)  # a restricted view (services.scope)
        return out if scope is None else restrict(out, scope).reset_index(drop=True)

    return snap.cached("maps:settlement-access", build)
