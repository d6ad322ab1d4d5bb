"""OGC API – Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) over layers and analysis results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.collections import COLLECTIONS, Collection
from api.deps import (
    BBox,
    Format,
    Limit,
    Offset,
    download,
    feature_collection,
    feature_strings,
    filter_mask,
    parse_bbox,
    require_export,
    snapshot,
)
from api.snapshot import Snapshot
from geo.errors import UnknownFeatureError, UnknownLayerError

router = APIRouter(tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
GEOJSON = "application/geo+json"


def collection_of(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise UnknownLayerError(
            f"no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}"
        ) from None


CollectionId = Annotated[str, Path(description="collection id", examples=["settlements"])]


def describe(request: Request, c: Collection, snap: Snapshot | None) -> dict:
    base = str(request.base_url).rstrip("/")
    out = {
        "id": c.id,
        "title": c.title_en,
        "description": c.description,
        "title_fa": c.title_fa,
        "synthetic": c.synthetic,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "filters": {name: f.description for name, f in c.filters.items()},
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/collections/{c.id}"},
            {"rel": "items", "type": GEOJSON, "href": f"{base}/collections/{c.id}/items"},
        ],
    }
    if snap is not None and (c.id in snap.layers):
        minx, miny, maxx, maxy = snap.layers[c.id].total_bounds
        out["extent"] = {
            "spatial": {
                "bbox": [[float(minx), float(miny), float(maxx), float(maxy)]],
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            }
        }
    return out


@router.get("/conformance", summary="Conformance classes")
def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="Every collection: layers and analysis results")
def collections(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> dict:
    base = str(request.base_url).rstrip("/")
    available = [
        c
        for c in COLLECTIONS.values()
        if c.id in snap.layers or c.id not in ("provinces", "counties", "settlements", "ngos", "target_areas")
    ]
    return {
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/collections"}],
        "collections": [describe(request, c, snap) for c in available],
    }


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    collection_id: CollectionId, request: Request, snap: Annotated[Snapshot, Depends(snapshot)]
) -> dict:
    return describe(request, collection_of(collection_id), snap)


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection, filtered and paged (GeoJSON), or downloaded (f=csv|xlsx|gpkg|geojson)",
    response_class=JSONResponse,
)
def items(
    collection_id: CollectionId,
    request: Request,
    snap: Annotated[Snapshot, Depends(snapshot)],
    bbox: BBox = None,
    limit: Limit = 10,
    offset: Offset = 0,
    province: Annotated[str | None, Query(description="province code (2 digits)", examples=["07"])] = None,
    county: Annotated[str | None, Query(description="county code (4 digits)", examples=["0707"])] = None,
    service_type: Annotated[
        str | None, Query(description="service type", examples=["rehabilitation"])
    ] = None,
    status: Annotated[str | None, Query(description="licence status (ngos)", examples=["active"])] = None,
    kind: Annotated[str | None, Query(description="city/village, or urban/rural")] = None,
    class_: Annotated[str | None, Query(alias="class", description="saturation class")] = None,
    f: Format = None,
):
    c = collection_of(collection_id)
    values = {
        "province": province,
        "county": county,
        "service_type": service_type,
        "status": status,
        "kind": kind,
        "class": class_,
    }
    for name, value in values.items():
        if value is not None and name not in c.filters:
            from api.deps import BadParameter

            raise BadParameter(
                f"collection {c.id} cannot be filtered by {name}; filters: {', '.join(c.filters) or 'none'}"
            )
    frame = c.frame(snap)
    mask = filter_mask(
        frame,
        {name: (flt.column, values[name], flt.choices) for name, flt in c.filters.items()},
        snap.small.get_or_build,
    )
    box = parse_bbox(bbox)
    if box is not None:
        import shapely

        inside = np.zeros(len(frame), dtype=bool)
        inside[snap.tree(c.id, frame).query(shapely.box(*box), predicate="intersects")] = True
        mask &= inside
    positions = np.flatnonzero(mask)
    if f not in (None, "json"):
        require_export(request)
        return download(frame.iloc[positions], c.id, f, request.app.state.settings)
    matched = len(positions)
    page = positions[offset : offset + limit]
    # Features are serialised once per snapshot; a page is a join of strings.
    strings = snap.cached(f"features:{c.id}", lambda: feature_strings(frame, c.key))
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    if offset + limit < matched:
        links.append(
            {
                "rel": "next",
                "type": GEOJSON,
                "href": str(request.url.include_query_params(offset=offset + limit, limit=limit)),
            }
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "type": GEOJSON,
                "href": str(request.url.include_query_params(offset=max(offset - limit, 0), limit=limit)),
            }
        )
    head = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(page),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }
    body = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[' + ",".join(strings[page]) + "]}"
    return Response(body.encode("utf-8"), media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
def item(
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(description="feature id (the collection's key)")],
    request: Request,
    snap: Annotated[Snapshot, Depends(snapshot)],
):
    c = collection_of(collection_id)
    frame = c.frame(snap)
    index = snap.cached(f"index:{c.id}", lambda: {k: i for i, k in enumerate(frame[c.key].astype(str))})
    if feature_id not in index:
        raise UnknownFeatureError(f"no feature {feature_id!r} in {c.id}")
    feature = feature_collection(frame.iloc[[index[feature_id]]], c.key)[0]
    base = str(request.base_url).rstrip("/")
    feature["links"] = [
        {"rel": "self", "type": GEOJSON, "href": str(request.url)},
        {"rel": "collection", "type": "application/json", "href": f"{base}/collections/{c.id}"},
    ]
    return JSONResponse(feature, media_type=GEOJSON)
