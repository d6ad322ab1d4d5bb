"""OGC API – Features over the layers and analysis results: Part 1 (Core, GeoJSON, HTML, OpenAPI
3.0), Part 2 (CRS by reference) and Part 3 (queryables, CQL2 text and JSON filters), with sortby.

Each collection has its own items, item and queryables paths, declared with the parameters that
collection accepts: the OpenAPI document then says which filters apply where, and a parameter
a collection does not take is a 400 (``api.params``).
"""

import inspect
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api import query as Q
from api.collections import COLLECTIONS, Collection
from api.deps import (
    MAX_LIMIT,
    FeatureTexts,
    download,
    feature_collection,
    feature_strings,
    national_snapshot,
    require_export,
    snapshot,
    snapshot_in_period,
)
from api.guard import page_response
from api.params import QueryParameters
from api.routers.tiles import TILE_LAYERS, TILES_CONFORMANCE
from api.schemas import CATALOGUE_ENUM, Conformance, declared
from api.security import current_user, pages_for, personalise
from geo import filtering as F
from geo.errors import UnknownFeatureError, UnknownLayerError, UnknownServiceError
from maps import ogc
from services.snapshot import Snapshot

router = APIRouter(tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    *TILES_CONFORMANCE,
]
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def collection_of(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise UnknownLayerError(
            f"no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}"
        ) from None


CollectionId = Annotated[str, Path(description="collection id", examples=["settlements"])]


def describe(request: Request, c: Collection, snap: Snapshot | None) -> dict:
    if snap is not None:
        c = c.for_services(snap.norms.services)
    base = str(request.base_url).rstrip("/")
    out = {
        "id": c.id,
        "title": c.title_en,
        "description": c.description,
        "title_fa": c.title_fa,
        "synthetic": c.synthetic,
        "itemType": "feature",
        "crs": list(Q.SUPPORTED_CRS),
        "storageCrs": Q.CRS84,
        "filters": {name: f.description for name, f in c.filters.items()},
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/collections/{c.id}"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/collections/{c.id}?f=html"},
            {"rel": "items", "type": GEOJSON, "href": f"{base}/collections/{c.id}/items"},
            {"rel": "items", "type": "text/html", "href": f"{base}/collections/{c.id}/items?f=html"},
            {"rel": QUERYABLES_REL, "type": SCHEMA_JSON, "href": f"{base}/collections/{c.id}/queryables"},
        ],
    }
    if c.id in TILE_LAYERS:
        out["links"].append(
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": "application/json",
                "href": f"{base}/collections/{c.id}/tiles",
            }
        )
    # An analysis result lies on the features of a layer: its extent is within that layer's
    # (clients such as GDAL read the extent instead of paging through every feature).
    source = c.id if c.is_layer else GEOMETRY_OF.get(c.id)
    if snap is not None and source in snap.layers:
        minx, miny, maxx, maxy = snap.layers[source].total_bounds
        out["extent"] = {
            "spatial": {
                "bbox": [[float(minx), float(miny), float(maxx), float(maxy)]],
                "crs": Q.CRS84,
            }
        }
        if c.temporal is not None and c.id in snap.layers:
            frame = snap.layers[c.id]
            start, end = frame[c.temporal[0]].min(), frame[c.temporal[1]].max()
            out["extent"]["temporal"] = {
                "interval": [[_iso(start), _iso(end)]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }
    return out


#: The layer each analysis result takes its geometries from.
GEOMETRY_OF = {
    "saturation": "counties",
    "settlement-access": "settlements",
    "flags": "settlements",
    "priorities": "settlements",
}


def _iso(value) -> str | None:
    import pandas as pd

    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%dT00:00:00Z")


# ---- the HTML encoding of the landing page, collections, conformance and queryables ----------

#: ``f`` of the resources that answer JSON or a page for a person (OGC API Features, HTML).
PageFormat = Annotated[
    Literal["json", "html"] | None,
    Query(
        description="json, or html: a page for a person (Persian, right to left; also chosen by "
        "Accept: text/html). Default: json"
    ),
]
PageLang = Annotated[
    Literal["fa", "en"],
    Query(description="language of the HTML page (fa by default); the JSON answer is the same in both"),
]
#: The operations with an HTML encoding (``api.openapi`` declares their text/html answer).
HTML_PATHS = ("/", "/collections", "/collections/{collection_id}", "/conformance")


def alternate_header(request: Request, path: str, html: bool) -> dict[str, str]:
    """The ``Link`` header naming the other encoding of ``path``."""
    base = str(request.base_url).rstrip("/")
    if html:
        return {"Link": f'<{base}{path}?f=json>; rel="alternate"; type="application/json"'}
    return {"Link": f'<{base}{path}?f=html>; rel="alternate"; type="text/html"'}


def html_page(
    request: Request,
    path: str,
    lang: str,
    snap: Snapshot | None,
    render: Callable[[ogc.PageContext], str],
    query: dict[str, str] | None = None,
) -> Response:
    """A resource's page for the caller: the map pages their role may open in its top bar, the
    day statuses are read at, their name and a sign-out (``api.security.personalise``)."""
    user = current_user(request)
    ctx = ogc.PageContext(
        lang=lang,
        path=path,
        as_of=None if snap is None else snap.as_of,
        as_of_source="today" if snap is None else snap.as_of_source,
        pages=pages_for(user),
        signed_in=user is not None,
        collections=tuple(COLLECTIONS),
        query=query or {},
        **({} if snap is None else {"services": snap.norms.service_types}),
    )
    response = page_response(personalise(render(ctx), request, lang))
    if not query:
        response.headers.update(alternate_header(request, path, html=True))
    return response


@router.get(
    "/conformance",
    summary="Conformance classes",
    response_model=None,
    responses=declared(Conformance),
)
async def conformance(request: Request, response: Response, f: PageFormat = None, lang: PageLang = "fa"):
    doc = {"conformsTo": CONFORMANCE}
    if wants_html(request, f):
        # The national snapshot only for the day statuses are read at (no data of any province).
        snap = await national_snapshot(request)
        return html_page(request, "/conformance", lang, snap, lambda ctx: ogc.conformance_page(doc, ctx))
    response.headers.update(alternate_header(request, "/conformance", html=False))
    return doc


@router.get("/collections", summary="Every collection: layers and analysis results")
def collections(
    request: Request,
    response: Response,
    snap: Annotated[Snapshot, Depends(snapshot)],
    f: PageFormat = None,
    lang: PageLang = "fa",
):
    base = str(request.base_url).rstrip("/")
    available = [c for c in COLLECTIONS.values() if c.id in snap.layers or not c.is_layer]
    doc = {
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/collections"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/collections?f=html"},
        ],
        "crs": list(Q.SUPPORTED_CRS),
        "collections": [describe(request, c, snap) for c in available],
    }
    if wants_html(request, f):
        descriptions = {c.id: c.description_fa if lang == "fa" else c.description for c in available}
        return html_page(
            request, "/collections", lang, snap, lambda ctx: ogc.collections_page(doc, descriptions, ctx)
        )
    response.headers.update(alternate_header(request, "/collections", html=False))
    return doc


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    collection_id: CollectionId,
    request: Request,
    response: Response,
    snap: Annotated[Snapshot, Depends(snapshot)],
    f: PageFormat = None,
    lang: PageLang = "fa",
):
    c = collection_of(collection_id)
    doc = describe(request, c, snap)
    path = f"/collections/{c.id}"
    if wants_html(request, f):
        description = c.description_fa if lang == "fa" else c.description
        return html_page(request, path, lang, snap, lambda ctx: ogc.collection_page(doc, description, ctx))
    response.headers.update(alternate_header(request, path, html=False))
    return doc


# ---- the query of an items request -----------------------------------------------------------


def conditions(c: Collection, values: dict[str, Any]) -> tuple[F.Filter | None, tuple]:
    """The filter and sort order an items request asks for (all its parameters checked; ``c`` as
    the catalogue makes it, ``Collection.for_services``: a service type it lacks is refused)."""
    parts: list[F.Filter] = []
    for name, flt in c.filters.items():
        value = values.get(name)
        if value is not None and flt.column == "service_type" and flt.choices and value not in flt.choices:
            raise UnknownServiceError(value, tuple(flt.choices))
        if value is not None:
            parts.append(F.Compare("=", F.Prop(flt.column), F.Lit(value)))
    for prop in c.properties:
        value = values.get(prop.name)
        if value is not None and prop.catalogue and prop.enum and value not in prop.enum:
            raise UnknownServiceError(value, tuple(prop.enum))
        if value is not None and prop.name not in c.filters:
            if prop.type == "date":
                value = Q.parse_date(value, prop.name)
            parts.append(F.Compare("=", F.Prop(prop.name), F.Lit(value)))
    box = Q.parse_bbox(values.get("bbox"), values.get("bbox-crs"))
    if box is not None:
        parts.append(F.Spatial("intersects", box))
    if values.get("datetime") is not None and c.temporal is not None:
        when = Q.parse_datetime(values["datetime"], c.temporal)
        if when is not None:
            parts.append(when)
    if values.get("filter") is not None:
        parts.append(Q.parse_filter(values["filter"], values.get("filter-lang"), values.get("filter-crs"), c))
    elif values.get("filter-lang") is not None or values.get("filter-crs") is not None:
        raise Q.BadParameter("filter-lang and filter-crs need a filter")
    where = None if not parts else parts[0] if len(parts) == 1 else F.And(tuple(parts))
    return where, Q.parse_sortby(values.get("sortby"), c)


def matching_positions(request: Request, c: Collection, snap: Snapshot, where, sortby) -> np.ndarray:
    """Positions (in the snapshot's frame) of the matching features, in the order asked for.

    A store that evaluates filters itself (PostGIS: SQL with bound parameters) does so for the
    stored layers; otherwise the snapshot is filtered in memory. Both give the same answer.
    """
    frame = c.frame(snap)
    store = request.app.state.snapshots.store
    # A caller who may not see the true NGO positions is never filtered on them: the store holds
    # the true points, so the filter runs on the generalised frame in memory instead.
    exact = getattr(getattr(snap, "scope", None), "exact", True)
    if c.is_layer and (where is not None or sortby) and (exact or c.id != "ngos"):
        scope = getattr(snap, "scope", None)
        provinces = None if scope is None or scope.provinces is None else sorted(scope.provinces)
        keys = store.select_keys(c.id, where, sortby, provinces)
        if keys is not None:
            index = _key_index(c, snap)
            return np.array([index[k] for k in keys if k in index], dtype=np.int64)
    key = f"positions:{c.id}:{where!r}"
    if len(key) < 300:  # the plain filters of map pages and GIS clients repeat: keep their answers
        positions = snap.small.get_or_build(key, lambda: _positions(frame, where))
    else:
        positions = _positions(frame, where)
    if sortby and len(positions):
        names = [name for name, _ in sortby]
        sub = frame.iloc[positions][names].reset_index(drop=True)
        order = sub.sort_values(
            names, ascending=[asc for _, asc in sortby], na_position="last", kind="stable"
        ).index.to_numpy()
        positions = positions[order]
    return positions


def _positions(frame, where) -> np.ndarray:
    """The positions of the rows passing ``where`` (None: all), read-only: they may be kept."""
    out = np.arange(len(frame)) if where is None else np.flatnonzero(F.mask_from_filter(frame, where))
    out.setflags(write=False)
    return out


def _key_index(c: Collection, snap: Snapshot) -> dict:
    frame = c.frame(snap)
    return snap.cached(f"index:{c.id}", lambda: {k: i for i, k in enumerate(frame[c.key].astype(str))})


# ---- responses -------------------------------------------------------------------------------


def wants_html(request: Request, f: str | None) -> bool:
    """``f`` decides; without it, the Accept header when it prefers HTML to JSON (a browser's
    ``text/html,…,*/*;q=0.8``). ``*/*``, no Accept, or a tie answer JSON, the default."""
    if f is not None:
        return f == "html"
    html_q = json_q = 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = (x.strip() for x in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q, q)
        elif "json" in media or media in ("*/*", "application/*"):
            json_q = max(json_q, q)
    return html_q > json_q


def crs_header(crs: str) -> dict[str, str]:
    return {"Content-Crs": f"<{crs}>"}


def features_in(frame, positions, key: str, crs: str, strings: Callable[[], FeatureTexts]) -> bytes:
    """The features at ``positions`` as a JSON array in UTF-8 (cached texts in CRS84)."""
    if crs == Q.CRS84:
        return strings().array(positions)
    sub = frame.iloc[positions].copy()
    sub = sub.set_geometry(Q.transform_array(sub.geometry.to_numpy(), crs), crs=None)
    return json.dumps(feature_collection(sub, key), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def items_response(request: Request, c: Collection, snap: Snapshot, values: dict[str, Any]) -> Response:
    c = c.for_services(snap.norms.services)  # the catalogue's properties and service types
    f = values.get("f")
    crs = Q.crs_uri(values.get("crs"), "crs")
    where, sortby = conditions(c, values)
    frame = c.frame(snap)
    positions = matching_positions(request, c, snap, where, sortby)
    strings = lambda: snap.cached(f"features:{c.id}", lambda: feature_strings(frame, c.key))  # noqa: E731
    if f in ("csv", "xlsx", "gpkg", "geojson"):
        require_export(request)
    if f in ("csv", "xlsx", "gpkg"):
        out = frame.iloc[positions]
        if crs != Q.CRS84:
            out = out.to_crs(Q.SUPPORTED_CRS[crs])
        response = download(out, c.id, f, request.app.state.settings)
        response.headers.update(crs_header(crs))
        return response
    if f == "geojson":
        body = b'{"type":"FeatureCollection","features":' + features_in(frame, positions, c.key, crs, strings)
        return Response(
            body + b"}",
            media_type=GEOJSON,
            headers={"Content-Disposition": f'attachment; filename="{c.id}.geojson"', **crs_header(crs)},
        )
    limit, offset = min(values["limit"], MAX_LIMIT), values["offset"]
    matched = len(positions)
    page = positions[offset : offset + limit]
    if wants_html(request, f):
        return items_page(request, c, snap, frame, page, matched, offset, limit, values.get("lang") or "fa")
    links = [
        {"rel": "self", "type": GEOJSON, "href": str(request.url)},
        {"rel": "alternate", "type": "text/html", "href": str(request.url.include_query_params(f="html"))},
        {
            "rel": "collection",
            "type": "application/json",
            "href": str(request.url_for("collection", collection_id=c.id)),
        },
    ]
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
    body = (
        json.dumps(head, ensure_ascii=False)[:-1].encode("utf-8")
        + b',"features":'
        + features_in(frame, page, c.key, crs, strings)
        + b"}"
    )
    return Response(body, media_type=GEOJSON, headers=crs_header(crs))


def items_page(
    request: Request,
    c: Collection,
    snap: Snapshot,
    frame,
    page,
    matched: int,
    offset: int,
    limit: int,
    lang: str,
) -> Response:
    """A page of features for a person (OGC API Features, HTML encoding), right to left."""
    columns = [p.name for p in c.properties if p.name in frame.columns][:8]
    rows = frame.iloc[page][[*dict.fromkeys([c.key, *columns])]].to_dict("records")
    about = {
        "id": c.id,
        "key": c.key,
        "title_fa": c.title_fa,
        "title_en": c.title_en,
        "synthetic": c.synthetic,
    }
    query = {k: v for k, v in request.query_params.items() if k not in ("f", "lang")}
    return html_page(
        request,
        request.url.path,
        lang,
        snap,
        lambda ctx: ogc.items_page(rows, columns, about, matched, offset, limit, ctx),
        query=query,
    )


def queryables(request: Request, c: Collection) -> dict:
    """The collection's queryables as a JSON Schema (Part 3)."""
    geometry_type = _geometry_type(c)
    props: dict[str, dict] = {}
    for p in c.properties:
        schema: dict[str, Any] = (
            {"type": "string", "format": "date"} if p.type == "date" else {"type": p.type}
        )
        schema["description"] = p.description
        if p.enum:
            schema["enum"] = list(p.enum)
        props[p.name] = schema
    props[Q.GEOMETRY] = {"format": f"geometry-{geometry_type.lower()}" if geometry_type else "geometry-any"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": str(request.url_for(f"queryables_{c.id}")),
        "type": "object",
        "title": c.title_en,
        "properties": props,
        "additionalProperties": False,
    }


def _geometry_type(c: Collection) -> str | None:
    from geo.schema import LAYERS

    if c.id in LAYERS:
        return LAYERS[c.id].geometry_type
    return "MultiPolygon" if c.id == "saturation" else "Point"


# ---- one set of paths per collection ---------------------------------------------------------

Format = Literal["json", "html", "geojson", "csv", "xlsx", "gpkg"]
CrsParam = Annotated[
    str | None,
    Query(
        description="CRS of the answer's coordinates (URI; default CRS84 lon/lat; EPSG:4326 is lat/lon)",
        json_schema_extra={"enum": list(Q.SUPPORTED_CRS)},
    ),
]


def _common_parameters(c: Collection) -> list[inspect.Parameter]:
    def param(name: str, annotation, default=None) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)

    out = [
        param(
            "bbox",
            Annotated[
                str | None,
                Query(
                    description="minLon,minLat,maxLon,maxLat (or 6 numbers with heights), in bbox-crs",
                    examples=["51,35,52,36"],
                ),
            ],
        ),
        param(
            "bbox_crs",
            Annotated[
                str | None,
                Query(
                    alias="bbox-crs",
                    description="CRS of bbox (default CRS84)",
                    json_schema_extra={"enum": list(Q.SUPPORTED_CRS)},
                ),
            ],
        ),
    ]
    if c.temporal is not None:
        out.append(
            param(
                "datetime",
                Annotated[
                    str | None,
                    Query(
                        description="features valid at an instant or during an interval (RFC 3339; open ends '..'), "
                        f"by {c.temporal[0]} and {c.temporal[1]}",
                        examples=["2024-01-01T00:00:00Z/.."],
                    ),
                ],
            )
        )
    out += [
        param(
            "limit",
            # OGC API Features: a limit above the maximum is no error; the maximum is used.
            Annotated[
                int,
                Query(
                    ge=1,
                    description=f"features per page (at most {MAX_LIMIT}; a larger value gives {MAX_LIMIT})",
                ),
            ],
            10,
        ),
        param("offset", Annotated[int, Query(ge=0, le=10_000_000, description="features to skip")], 0),
        param(
            "filter",
            Annotated[
                str | None,
                Query(
                    description="CQL2 filter on the queryables (see /queryables)",
                    examples=["province_code = '07'"],
                ),
            ],
        ),
        param(
            "filter_lang",
            Annotated[
                Literal["cql2-text", "cql2-json", "cql-text"] | None,
                Query(
                    alias="filter-lang",
                    description="filter encoding (default cql2-text; cql-text, the name of the drafts that "
                    "GDAL's OAPIF driver sends, is read as CQL2 text)",
                ),
            ],
        ),
        param(
            "filter_crs",
            Annotated[
                str | None,
                Query(
                    alias="filter-crs",
                    description="CRS of the filter's geometries (default CRS84)",
                    json_schema_extra={"enum": list(Q.SUPPORTED_CRS)},
                ),
            ],
        ),
        param(
            "sortby",
            Annotated[
                str | None,
                Query(
                    description="properties to sort by, '-' for descending: e.g. -population,name_fa",
                    pattern=r"^\s*[+-]?\w+(\s*,\s*[+-]?\w+)*\s*$",
                ),
            ],
        ),
        param("crs", CrsParam),
        param("lang", PageLang, "fa"),
        param(
            "f",
            Annotated[
                Format | None,
                Query(
                    description="json (GeoJSON page, default), html, or geojson, csv, xlsx, gpkg: download "
                    "every matching feature"
                ),
            ],
        ),
    ]
    # Part 3, queryables as query parameters: every property filters by equality under its own name.
    for prop in c.properties:
        # A property per service follows the catalogue, which may change while the service runs:
        # such a property is filtered through ``filter`` (CQL2), not a parameter of its own.
        if prop.name in c.filters or prop.per_service:
            continue
        if prop.catalogue:
            annotation = str | None
        elif prop.enum:
            annotation = Literal[tuple(prop.enum)] | None  # type: ignore[valid-type]
        else:
            annotation = {"integer": int, "number": float, "boolean": bool}.get(prop.type, str) | None
        extra = {"format": "date"} if prop.type == "date" else None
        if prop.catalogue:
            extra = dict(CATALOGUE_ENUM)
        out.append(
            param(
                f"q_{prop.name}",
                Annotated[
                    annotation,
                    Query(
                        alias=prop.name, description=f"{prop.description} (equals)", json_schema_extra=extra
                    ),
                ],
            )
        )
    for name, flt in c.filters.items():
        if flt.choices is not None:
            query = Query(alias=name, description=flt.description)
            annotation = Literal[tuple(flt.choices)] | None  # type: ignore[valid-type]
        else:
            extra = dict(CATALOGUE_ENUM) if flt.column == "service_type" else None
            query = Query(
                alias=name, description=flt.description, pattern=flt.pattern, json_schema_extra=extra
            )
            annotation = str | None
        out.append(param(f"q_{name}", Annotated[annotation, query]))
    return out


_ALIASES = {"bbox_crs": "bbox-crs", "filter_lang": "filter-lang", "filter_crs": "filter-crs"}


def _values(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The query's values by the names ``items_response`` takes (aliases, ``q_`` prefixes off)."""
    return {
        _ALIASES.get(name, name[2:] if name.startswith("q_") else name): value
        for name, value in kwargs.items()
    }


def _base_parameters(c: Collection) -> list[inspect.Parameter]:
    # An analysis result may be asked at the end of a Jalali period (``period``); a stored layer
    # is filtered in time by ``datetime`` instead.
    source = snapshot if c.is_layer else snapshot_in_period
    return [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter(
            "snap", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Snapshot, Depends(source)]
        ),
    ]


def _items_endpoint(c: Collection):
    query = QueryParameters(f"Items{c.id.title().replace('-', '')}", _common_parameters(c))

    def endpoint(**kwargs):  # in a worker thread: filtering a large layer takes time
        request = kwargs["request"]
        return items_response(request, c, kwargs["snap"], _values(query.read(request)))

    endpoint.__signature__ = inspect.Signature(_base_parameters(c))
    endpoint.__name__ = f"items_{c.id.replace('-', '_')}"
    endpoint.query_names = query.names
    endpoint.openapi_extra = query.openapi
    return endpoint


def _item_endpoint(c: Collection):
    def endpoint(
        feature_id: Annotated[str, Path(description=f"feature id ({c.key})")],
        request: Request,
        snap: Annotated[Snapshot, Depends(snapshot)],
        crs: CrsParam = None,
        f: Annotated[Literal["json", "html"] | None, Query(description="json (default) or html")] = None,
        lang: PageLang = "fa",
    ):
        out_crs = Q.crs_uri(crs, "crs")
        frame = c.frame(snap)
        index = _key_index(c, snap)
        if feature_id not in index:
            raise UnknownFeatureError(f"no feature {feature_id!r} in {c.id}")
        position = np.array([index[feature_id]])
        if wants_html(request, f):
            return items_page(request, c, snap, frame, position, 1, 0, 1, lang)
        sub = frame.iloc[position]
        if out_crs != Q.CRS84:
            sub = sub.set_geometry(Q.transform_array(sub.geometry.to_numpy(), out_crs), crs=None)
        feature = feature_collection(sub, c.key)[0]
        base = str(request.base_url).rstrip("/")
        feature["links"] = [
            {"rel": "self", "type": GEOJSON, "href": str(request.url)},
            {"rel": "collection", "type": "application/json", "href": f"{base}/collections/{c.id}"},
        ]
        return JSONResponse(feature, media_type=GEOJSON, headers=crs_header(out_crs))

    endpoint.__name__ = f"item_{c.id.replace('-', '_')}"
    return endpoint


def _queryables_endpoint(c: Collection):
    async def endpoint(request: Request, f: PageFormat = None, lang: PageLang = "fa"):
        # The national snapshot for the catalogue in force (its service types and the properties
        # per service) and the day statuses are read at: no data of any province.
        snap = await national_snapshot(request)
        schema = queryables(request, c.for_services(snap.norms.services))
        path = f"/collections/{c.id}/queryables"
        if wants_html(request, f):
            about = {"id": c.id, "title_fa": c.title_fa, "title_en": c.title_en, "synthetic": c.synthetic}
            return html_page(request, path, lang, snap, lambda ctx: ogc.queryables_page(schema, about, ctx))
        return JSONResponse(
            schema, media_type=SCHEMA_JSON, headers=alternate_header(request, path, html=False)
        )

    endpoint.__name__ = f"queryables_{c.id}"
    return endpoint


#: Each collection's paths: (path under the collection, endpoint factory, route name, summary).
_PATHS: tuple[tuple[str, Callable[[Collection], Callable], str, str], ...] = (
    ("items", _items_endpoint, "items", "features, filtered, sorted and paged (GeoJSON, HTML) or downloaded"),
    ("items/{feature_id}", _item_endpoint, "item", "one feature"),
    ("queryables", _queryables_endpoint, "queryables", "the properties a filter may use (JSON Schema)"),
)

for _c in COLLECTIONS.values():
    for _path, _endpoint, _name, _summary in _PATHS:
        _route_endpoint = _endpoint(_c)
        router.add_api_route(
            f"/collections/{_c.id}/{_path}",
            _route_endpoint,
            methods=["GET"],
            name=f"{_name}_{_c.id}",
            summary=f"{_c.title_en}: {_summary}",
            response_class=Response,
            openapi_extra=getattr(_route_endpoint, "openapi_extra", None),
        )
