"""Vector tiles of the dense layers: /tiles/{collection}/{z}/{x}/{y}.mvt (Web Mercator).

The same tiles as OGC API – Tiles: the WebMercatorQuad tile matrix set, each tiled collection's
tileset list and tileset metadata, tiles at ``/collections/{id}/tiles/WebMercatorQuad/{z}/{row}/{col}``,
and a TileJSON document for web map libraries.
"""

from __future__ import annotations

import gzip
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from api import mapdata
from api.deps import BadParameter, snapshot
from api.schemas import TileJSON, TileMatrixSet, TileMatrixSets, TileSet, TileSets, declared
from geo.errors import UnknownLayerError
from maps.tiles import MAX_ZOOM, TileSource, tiles_covering, valid_tile
from services import memory
from services.caches import LRUCache
from services.snapshot import Snapshot

router = APIRouter(tags=["Vector tiles"])
MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
TILES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]

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


def _tile_response(snap: Snapshot, collection: str, z: int, x: int, y: int, request: Request) -> Response:
    if collection not in TILE_LAYERS:
        raise UnknownLayerError(f"no tiles for {collection!r}; tiled layers: {', '.join(TILE_LAYERS)}")
    if not valid_tile(z, x, y):
        raise BadParameter(f"tile {z}/{x}/{y} does not exist: x and y must be below {1 << z} at zoom {z}")
    cache = request.app.state.caches.tiles
    key = (snap.version, collection, z, x, y)
    encoded = cache.get(key)
    if encoded is None:
        encoded = encode(source(snap, collection).tile(z, x, y))
        cache.put(key, encoded)
    gzipped = encoded[1]
    # The same address answers differently per role and province: no shared cache may keep it.
    headers = {"Cache-Control": "private, max-age=300", "Vary": "Accept-Encoding, Authorization, Cookie"}
    if gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = gzipped
    else:
        body = plain(encoded)
    return Response(body, media_type=MVT, headers=headers)


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
    return _tile_response(snap, collection, z, x, y, request)


# ---- OGC API – Tiles -------------------------------------------------------------------------

#: Scale denominator and cell size (m) of zoom 0 of WebMercatorQuad (256-pixel tiles, 0.28 mm pixels).
_SCALE0 = 559082264.0287178
_CELL0 = 156543.03392804097
_ORIGIN = 20037508.3427892


def tile_matrix_set() -> dict:
    """WebMercatorQuad as OGC Two Dimensional Tile Matrix Set 2.0 JSON."""
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": WEB_MERCATOR,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": [
            {
                "id": str(z),
                "scaleDenominator": _SCALE0 / (1 << z),
                "cellSize": _CELL0 / (1 << z),
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-_ORIGIN, _ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 1 << z,
                "matrixHeight": 1 << z,
            }
            for z in range(MAX_ZOOM + 1)
        ],
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _tiled(collection: str) -> str:
    if collection not in TILE_LAYERS:
        raise UnknownLayerError(f"no tiles for {collection!r}; tiled layers: {', '.join(TILE_LAYERS)}")
    return collection


def tileset(request: Request, snap: Snapshot, collection: str) -> dict:
    base = _base(request)
    here = f"{base}/collections/{collection}/tiles/{TMS_ID}"
    properties, _ = TILE_LAYERS[collection]
    layer = "settlements" if collection == "settlement-access" else collection
    out = {
        "title": f"{collection} (vector tiles)",
        "dataType": "vector",
        "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            {"rel": "self", "type": "application/json", "href": here},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
                "href": f"{base}/tileMatrixSets/{TMS_ID}",
            },
            {
                "rel": "item",
                "type": MVT,
                "href": here + "/{tileMatrix}/{tileRow}/{tileCol}",
                "templated": True,
            },
            {
                "rel": "alternate",
                "type": "application/json",
                "title": "TileJSON",
                "href": here + "/tilejson.json",
            },
        ],
        "layers": [
            {
                "id": collection,
                "dataType": "vector",
                "geometryType": "points" if layer in ("settlements", "ngos") else "polygons",
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: {"title": name} for name in properties},
                },
            }
        ],
    }
    if layer in snap.layers:
        minx, miny, maxx, maxy = (float(v) for v in snap.layers[layer].total_bounds)
        out["boundingBox"] = {
            "lowerLeft": [minx, miny],
            "upperRight": [maxx, maxy],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    return out


@router.get(
    "/tileMatrixSets",
    summary="The tile matrix sets of the tiles (WebMercatorQuad)",
    response_model=None,
    responses=declared(TileMatrixSets),
)
def tile_matrix_sets(request: Request) -> dict:
    href = f"{_base(request)}/tileMatrixSets/{TMS_ID}"
    return {
        "tileMatrixSets": [
            {
                "id": TMS_ID,
                "title": "Google Maps Compatible for the World",
                "uri": TMS_URI,
                "links": [{"rel": "self", "type": "application/json", "href": href}],
            }
        ]
    }


@router.get(
    f"/tileMatrixSets/{TMS_ID}",
    summary="WebMercatorQuad (OGC Tile Matrix Set 2.0)",
    response_model=None,
    responses=declared(TileMatrixSet),
)
def web_mercator_quad() -> dict:
    return tile_matrix_set()


TiledCollection = Annotated[
    str, Path(description="a tiled collection", json_schema_extra={"enum": list(TILE_LAYERS)})
]


@router.get(
    "/collections/{collection_id}/tiles",
    summary="The vector tilesets of a collection",
    response_model=None,
    responses=declared(TileSets),
)
def collection_tilesets(
    collection_id: TiledCollection, request: Request, snap: Annotated[Snapshot, Depends(snapshot)]
) -> dict:
    ts = tileset(request, snap, _tiled(collection_id))
    return {
        "links": [{"rel": "self", "type": "application/json", "href": str(request.url)}],
        "tilesets": [
            {
                "title": ts["title"],
                "dataType": "vector",
                "crs": WEB_MERCATOR,
                "tileMatrixSetURI": TMS_URI,
                "links": [link for link in ts["links"] if link["rel"] != "alternate"],
            }
        ],
    }


@router.get(
    f"/collections/{{collection_id}}/tiles/{TMS_ID}",
    summary="Tileset metadata",
    response_model=None,
    responses=declared(TileSet),
)
def collection_tileset(
    collection_id: TiledCollection, request: Request, snap: Annotated[Snapshot, Depends(snapshot)]
) -> dict:
    return tileset(request, snap, _tiled(collection_id))


@router.get(
    f"/collections/{{collection_id}}/tiles/{TMS_ID}/tilejson.json",
    summary="TileJSON 3.0 of the tiles",
    response_model=None,
    responses=declared(TileJSON),
)
def tilejson(
    collection_id: TiledCollection, request: Request, snap: Annotated[Snapshot, Depends(snapshot)]
) -> dict:
    collection = _tiled(collection_id)
    ts = tileset(request, snap, collection)
    properties, _ = TILE_LAYERS[collection]
    out = {
        "tilejson": "3.0.0",
        "name": collection,
        "scheme": "xyz",
        "tiles": [f"{_base(request)}/tiles/{collection}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "vector_layers": [
            {"id": collection, "fields": {name: "" for name in properties}, "minzoom": 0, "maxzoom": MAX_ZOOM}
        ],
    }
    if "boundingBox" in ts:
        out["bounds"] = [*ts["boundingBox"]["lowerLeft"], *ts["boundingBox"]["upperRight"]]
    return out


@router.get(
    f"/collections/{{collection_id}}/tiles/{TMS_ID}/{{tile_matrix}}/{{tile_row}}/{{tile_col}}",
    summary="A vector tile (OGC API – Tiles: zoom, row, column)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
async def ogc_tile(
    collection_id: TiledCollection,
    tile_matrix: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="zoom level")],
    tile_row: Annotated[int, Path(ge=0, description="row (y), from the top")],
    tile_col: Annotated[int, Path(ge=0, description="column (x), from the left")],
    snap: Annotated[Snapshot, Depends(snapshot)],
    request: Request,
) -> Response:
    return _tile_response(snap, collection_id, tile_matrix, tile_col, tile_row, request)


def encode(tile: bytes) -> tuple[bytes | None, bytes | None]:
    """A tile as the cache keeps it, ``(tile, None)``, or ``(None, gzipped)`` when compressing
    is worth it: compressed once, served many times, and only the compressed form kept (a third
    of the bytes; browsers ask for gzip, a client that does not gets it decompressed)."""
    if len(tile) > 512:
        return None, gzip.compress(tile, compresslevel=6, mtime=0)
    return tile, None


def plain(encoded: tuple[bytes | None, bytes | None]) -> bytes:
    """The tile itself from its cached form (``encode``)."""
    body, gzipped = encoded
    if body is not None:
        return body
    assert gzipped is not None
    return gzip.decompress(gzipped)


#: Zoom levels whose dense tiles are prepared ahead when a snapshot loads (at z9 and above a
#: tile takes a few milliseconds to make on demand).
PREPARED_ZOOMS = (3, 4, 5, 6, 7, 8)
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
            src.prepared()
    finally:
        memory.release()  # what making hundreds of tiles freed
        snap.tiles_ready.set()


def prepare_in_background(snap: Snapshot, cache: LRUCache) -> None:
    threading.Thread(target=prepare_tiles, args=(snap, cache), name="prepare-tiles", daemon=True).start()
