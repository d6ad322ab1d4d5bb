"""The map pages (HTML built by ``maps.pages``), their data, and the assets they load.

Assets come from this service only: ``/static/app`` is ``maps/static``; ``/static/vendor`` holds
Leaflet, Leaflet.VectorGrid, supercluster and the Vazirmatn font from the npm packages that
``make install`` puts in ``maps/web/node_modules``.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api import mapdata
from api.deps import snapshot
from api.guard import page_response
from api.schemas import Boundaries, FeatureCollection, NgoColumns, SearchAnswer, declared, map_data
from api.security import current_user, pages_for, personalise
from geo.decisions import CRITERIA, priority_weights
from geo.errors import AssetsMissing, UnknownSettlementError
from maps.assets import APP_URL, STATIC, VENDOR, VENDOR_URL, missing_assets
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from maps.pages import PAGES, Context, build_page
from maps.search import latin_digits, search_index, search_places
from maps.tiles import MAX_ZOOM
from services.scope import require_province
from services.snapshot import Snapshot

router = APIRouter(tags=["Map pages"])


def mount_assets(app: FastAPI) -> None:
    app.mount(APP_URL, StaticFiles(directory=STATIC, check_dir=False), name="app-assets")
    for name, folder in VENDOR.items():
        app.mount(f"{VENDOR_URL}/{name}", StaticFiles(directory=folder, check_dir=False), name=name)


def _encoded(request: Request, data: mapdata.Encoded) -> Response:
    headers = {
        "ETag": data.etag,
        "Cache-Control": "private, no-cache",
        "Vary": "Accept-Encoding, Authorization, Cookie",
    }
    if request.headers.get("if-none-match") == data.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(data.gzipped, media_type="application/json", headers=headers)
    return Response(data.body, media_type="application/json", headers=headers)


@router.get(
    "/maps/data/boundaries.json",
    summary="Provinces and counties (simplified) with saturation",
    response_class=Response,
    responses=map_data(Boundaries),
)
def boundaries(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> Response:
    return _encoded(request, mapdata.boundaries(snap))


@router.get(
    "/maps/data/ngos.json",
    summary="Every NGO as columns, for clustering in the browser",
    response_class=Response,
    responses=map_data(NgoColumns),
)
def ngos(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> Response:
    return _encoded(request, mapdata.ngo_points(snap))


@router.get(
    "/maps/data/target-areas.json",
    summary="Target neighbourhoods (simplified GeoJSON)",
    response_class=Response,
    responses=map_data(FeatureCollection),
)
def target_areas(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> Response:
    return _encoded(request, mapdata.target_areas(snap))


def _number(text: str | None, low: float, high: float) -> float | None:
    if not text:
        return None
    try:
        value = float(latin_digits(text.strip()).replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


@router.get(
    "/maps/data/search",
    summary="Places by name or code (Persian or English, any digits)",
    response_model=None,
    responses=declared(SearchAnswer),
)
def search(
    snap: Annotated[Snapshot, Depends(snapshot)],
    q: Annotated[str, Query(min_length=1, max_length=80, description="a name or the start of a code")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict:
    provinces = snap.layer("provinces")
    counties = snap.layer("counties")
    settlements = snap.layer("settlements")
    # Gazetteer places outside the official list (a store built before them has none).
    places = snap.layers.get("gazetteer_places")
    index = snap.cached("maps:search", lambda: search_index(provinces, counties, settlements, places))
    hits = search_places(q, index, limit=limit)
    frames = {
        "province": provinces.set_index("province_code"),
        "county": counties.set_index("county_code"),
        "settlement": settlements.set_index("settlement_code"),
    }
    if places is not None:
        frames["place"] = places.set_index(places["gazetteer_id"].astype(str))
    county_names = counties.set_index("county_code")[["name_fa", "name_en"]]
    for hit in hits:
        geom = frames[hit["kind"]].geometry.loc[hit["code"]]
        if hit["kind"] in ("settlement", "place"):
            hit["lon"], hit["lat"] = round(geom.x, 5), round(geom.y, 5)
        if hit["kind"] == "place":
            hit["unofficial"] = True
        else:
            c = geom.representative_point()
            hit["lon"], hit["lat"] = round(c.x, 5), round(c.y, 5)
            hit["bbox"] = [round(v, 4) for v in geom.bounds]
        if hit["kind"] == "county":
            hit["county_code"] = hit["code"]
        if hit["county_code"] in county_names.index:
            name = county_names.loc[hit["county_code"]]
            hit["county_fa"], hit["county_en"] = name["name_fa"], name["name_en"]
    return {"query": q, "numberReturned": len(hits), "places": hits}


@router.get("/maps", include_in_schema=False)
def maps_home() -> RedirectResponse:
    return RedirectResponse("/maps/national", status_code=307)


@router.get(
    "/maps/settlements/{code}",
    response_class=HTMLResponse,
    summary="A settlement's profile page: everything about one village or town (Persian by default)",
)
def settlement_page(
    request: Request,
    code: Annotated[str, Path(pattern=r"^[0-9۰-۹]{10}([0-9۰-۹]{6})?$", description="settlement code")],
    snap: Annotated[Snapshot, Depends(snapshot)],
    lang: Annotated[Literal["fa", "en"], Query(description="page language")] = "fa",
) -> HTMLResponse:
    code = latin_digits(code)
    # The view holds the caller's provinces only: a settlement outside them is not found.
    if not (snap.layer("settlements")["settlement_code"] == code).any():
        raise UnknownSettlementError(f"no settlement with code {code}")
    return _render(request, snap, "settlement", lang, {"code": code})


@router.get("/maps/{page}", response_class=HTMLResponse, summary="A map page (Persian by default)")
def page(
    request: Request,
    page: Annotated[Literal["national", "licence", "priorities", "plan"], Path(description=", ".join(PAGES))],
    snap: Annotated[Snapshot, Depends(snapshot)],
    lang: Annotated[Literal["fa", "en"], Query(description="page language")] = "fa",
    province: Annotated[str | None, Query(pattern=r"^[0-9۰-۹٠-٩]{2}$")] = None,
    service: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
    lat: Annotated[str | None, Query(max_length=40, description="latitude (any digits)")] = None,
    lon: Annotated[str | None, Query(max_length=40, description="longitude (any digits)")] = None,
    capacity: Annotated[str | None, Query(max_length=20, description="persons (any digits)")] = None,
    weights: Annotated[
        str | None, Query(max_length=200, pattern=r"^[a-z_]+:[0-9۰-۹٠-٩.٫]+(,[a-z_]+:[0-9۰-۹٠-٩.٫]+)*$")
    ] = None,
    period: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9۰-۹٠-٩]{4}$",
            description="the national map and the priorities: the classes and the ranking at the end "
            "of this Jalali year (default: the as-of day's figures)",
        ),
    ] = None,
) -> HTMLResponse:
    if service is not None and service not in snap.norms.services:
        service = None
    # A page address may carry Persian digits (typed, pasted or shared): read them as numbers. A
    # value that is no number is left out of the form, where the page asks for it again.
    province = latin_digits(province) if province else None
    # Another province's page is refused as its data is (a 403 page saying so), not shown as one's own.
    require_province(snap, province)
    lat_value = _number(lat, -90, 90)
    lon_value = _number(lon, -180, 180)
    cap_value = _number(capacity, 1, 100_000)
    params = {
        "province": province,
        "service": service,
        "lat": None if lat_value is None else f"{lat_value:.5f}",
        "lon": None if lon_value is None else f"{lon_value:.5f}",
        "capacity": None if cap_value is None or cap_value != int(cap_value) else str(int(cap_value)),
        "weights": latin_digits(weights) if weights else None,
        "period": latin_digits(period) if period and page in ("national", "priorities") else None,
    }
    return _render(request, snap, page, lang, {k: v for k, v in params.items() if v})


def _render(request: Request, snap: Snapshot, page: str, lang: str, params: dict[str, str]) -> HTMLResponse:
    missing = missing_assets()
    if missing:
        raise AssetsMissing(
            f"the map pages' front-end packages are not installed ({', '.join(missing)}); run `make install`"
        )
    provinces = snap.layer("provinces").sort_values("province_code")
    if page == "plan" and not params.get("province"):
        # The plan page works on one province; the priorities page asks (or remembers) instead.
        params = {**params, "province": str(provinces["province_code"].iloc[0])}
    scope = getattr(snap, "scope", None)
    one_province = scope is not None and scope.provinces is not None and len(provinces) == 1
    if one_province and page in ("national", "priorities") and not params.get("province"):
        # A role of one province opens on it: nothing to choose, and no "whole country".
        params = {**params, "province": str(provinces["province_code"].iloc[0])}
    settings = request.app.state.settings
    ctx = Context(
        provinces=sorted(
            zip(provinces["province_code"], provinces["name_fa"], provinces["name_en"], strict=True),
            key=lambda p: p[1] if lang == "fa" else (p[2] or p[1]),
        ),
        services=[(code, fa, en) for code, (fa, en) in snap.norms.service_types.items()],
        service_modes={code: s.modes for code, s in snap.norms.services.items()},
        criteria=CRITERIA,
        default_weights=priority_weights(None, snap.norms.priority_weights),
        attribution=ATTRIBUTION_FA if lang == "fa" else ATTRIBUTION,
        notice={"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN},
        tile_max_zoom=MAX_ZOOM,
        as_of=snap.as_of,
        as_of_source=snap.as_of_source,
        basemap_url=settings.basemap_url,
        basemap_attribution=settings.basemap_attribution,
        params=params,
        pages=pages_for(current_user(request)),
        travel=snap.norms.travel,
    )
    key = (snap.version, page, lang, tuple(sorted(ctx.params.items())), ctx.pages)
    cache = request.app.state.caches.pages
    html = cache.get(key)
    if html is None:
        html = build_page(page, lang, ctx)
        cache.put(key, html)
    # Each answer gets its own nonce for the page's inline scripts (Content-Security-Policy).
    return page_response(personalise(html, request, lang), settings.basemap_url)
