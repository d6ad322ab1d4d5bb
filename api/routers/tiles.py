"""Vector tiles of the dense layers: /tiles/{collection}/{z}/{x}/{y}.mvt (Web Mercator)."""

from __future__ import annotations

import gzip
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from api import mapdata
from api.caches import LRUCache
from api.deps import BadParameter, snapshot
from api.snapshot import Snapshot
from geo.errors import UnknownLayerError
from maps.tiles import MAX_ZOOM, TileSource, tiles_covering, valid_tile

router = APIRouter(tags=["Vector tiles"])
MVT = "application/vnd.mapbox-vector-tile"

#: The layers served as tiles, the properties a map needs and what decides which points a full
#: tile keeps.
TILE_LAYERS = {
    "settlements": (
        ("settlement_code", "name_fa", "name_en", "kind", "population", "position_source"),
        "population",
    ),
    "ngos": (("licence_no", "name_fa", "service_type", "capacity", "status"), "capacity"),
    "counties": (("county_code", "province_code", "name_fa", "name_en", "population"), None),
    "provinces": (("province_code", "name_fa", "name_en", "population"), None),
    "target_areas": (("target_code", "name_fa", "kind", "households"), None),
    # The national map's settlements: access class and flag per service type (maps/layers.py).
    "settlement-access": (("settlement_code", "kind", "population", "acc", "flg", "nflg"), "weight"),
}


def source(snap: Snapshot, collection: str) -> TileSource:
    if collection not in TILE_LAYERS:
        raise UnknownLayerError(f"no tiles for {collection!r}; tiled layers: {', '.join(TILE_LAYERS)}")
    properties, weight = TILE_LAYERS[collection]

    def build() -> TileSource:
        frame = (
            mapdata.settlement_access(snap) if collection == "settlement-access" else snap.layer(collection)
        )
        return TileSource.from_layer(collection, frame, properties, weight)

    return snap.cached(f"tiles:{collection}", build)


@router.get(
    "/tiles/{collection}/{z}/{x}/{y}.mvt",
    summary="A Mapbox vector tile (EPSG:3857); an empty tile is an empty 200 response",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def tile(
    collection: Annotated[
        str, Path(description="settlements, ngos, counties, provinces, target_areas or settlement-access")
    ],
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    snap: Annotated[Snapshot, Depends(snapshot)],
    request: Request,
) -> Response:
    if not valid_tile(z, x, y):
        raise BadParameter(f"tile {z}/{x}/{y} does not exist: x and y must be below {1 << z} at zoom {z}")
    cache = request.app.state.caches.tiles
    key = (snap.version, collection, z, x, y)
    encoded = cache.get(key)
    if encoded is None:
        encoded = encode(source(snap, collection).tile(z, x, y))
        cache.put(key, encoded)
    body, gzipped = encoded
    headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    if gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = gzipped
    return Response(body, media_type=MVT, headers=headers)


def encode(tile: bytes) -> tuple[bytes, bytes | None]:
    """A tile and, if it is worth it, its gzipped form: compressed once, served many times."""
    return tile, (gzip.compress(tile, compresslevel=6, mtime=0) if len(tile) > 512 else None)


#: Zoom levels whose dense tiles are prepared ahead when a snapshot loads (at z9 and above a
#: tile takes a few milliseconds to make on demand).
PREPARED_ZOOMS = (5, 6, 7, 8)
PREPARED_LAYERS = ("settlement-access", "settlements", "ngos", "counties")


def prepare_tiles(snap: Snapshot, cache: LRUCache) -> None:
    """Encode the low-zoom tiles over the layers' extent into ``cache`` (run in a thread)."""
    try:
        for collection in PREPARED_LAYERS:
            base = "settlements" if collection == "settlement-access" else collection
            if base not in snap.layers:
                continue
            src = source(snap, collection)
            bounds = snap.layers[base].total_bounds
            for z in PREPARED_ZOOMS:
                xs, ys = tiles_covering(bounds, z)
                for x in xs:
                    for y in ys:
                        key = (snap.version, collection, z, x, y)
                        if cache.get(key) is None:
                            cache.put(key, encode(src.tile(z, x, y)))
    finally:
        snap.tiles_ready.set()


def prepare_in_background(snap: Snapshot, cache: LRUCache) -> None:
    threading.Thread(target=prepare_tiles, args=(snap, cache), name="prepare-tiles", daemon=True).start()
