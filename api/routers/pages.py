"""The map pages (HTML built by ``maps.pages``), their data, and the assets they load.

Assets come from this service only: ``/static/app`` is ``maps/static``; ``/static/vendor`` holds
Leaflet, Leaflet.VectorGrid, supercluster and the Vazirmatn font from the npm packages that
``make install`` puts in ``maps/web/node_modules``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api import mapdata
from api.deps import snapshot
from api.guard import page_response
from api.security import personalise
from api.snapshot import Snapshot
from geo.decisions import CRITERIA, priority_weights
from geo.errors import AssetsMissing
from geo.schema import SERVICE_TYPES
from maps.assets import APP_URL, STATIC, VENDOR, VENDOR_URL, missing_assets
from maps.notices import ATTRIBUTION, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from maps.pages import PAGES, Context, build_page
from maps.tiles import MAX_ZOOM

router = APIRouter(tags=["Map pages"])


def mount_assets(app: FastAPI) -> None:
    app.mount(APP_URL, StaticFiles(directory=STATIC, check_dir=False), name="app-assets")
    for name, folder in VENDOR.items():
        app.mount(f"{VENDOR_URL}/{name}", StaticFiles(directory=folder, check_dir=False), name=name)


def _encoded(request: Request, data: mapdata.Encoded) -> Response:
    headers = {"ETag": data.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == data.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(data.gzipped, media_type="application/json", headers=headers)
    return Response(data.body, media_type="application/json", headers=headers)


@router.get("/maps/data/boundaries.json", summary="Provinces and counties (simplified) with saturation")
def boundaries(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> Response:
    return _encoded(request, mapdata.boundaries(snap))


@router.get("/maps/data/ngos.json", summary="Every NGO as columns, for clustering in the browser")
def ngos(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> Response:
    return _encoded(request, mapdata.ngo_points(snap))


@router.get("/maps/data/target-areas.json", summary="Target neighbourhoods (simplified GeoJSON)")
def target_areas(request: Request, snap: Annotated[Snapshot, Depends(snapshot)]) -> Response:
    return _encoded(request, mapdata.target_areas(snap))


@router.get("/maps", include_in_schema=False)
def maps_home() -> RedirectResponse:
    return RedirectResponse("/maps/national", status_code=307)


@router.get("/maps/{page}", response_class=HTMLResponse, summary="A map page (Persian by default)")
def page(
    request: Request,
    page: Annotated[Literal["national", "licence", "priorities", "plan"], Path(description=", ".join(PAGES))],
    snap: Annotated[Snapshot, Depends(snapshot)],
    lang: Annotated[Literal["fa", "en"], Query(description="page language")] = "fa",
    province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    service: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    capacity: Annotated[int | None, Query(gt=0, le=100_000)] = None,
    weights: Annotated[str | None, Query(pattern=r"^[a-z_]+:[0-9.]+(,[a-z_]+:[0-9.]+)*$")] = None,
) -> HTMLResponse:
    missing = missing_assets()
    if missing:
        raise AssetsMissing(
            f"the map pages' front-end packages are not installed ({', '.join(missing)}); run `make install`"
        )
    if service is not None and service not in SERVICE_TYPES:
        service = None
    provinces = snap.layer("provinces").sort_values("province_code")
    if province is None and page in ("priorities", "plan"):
        province = str(provinces["province_code"].iloc[0])
    settings = request.app.state.settings
    params = {
        "province": province,
        "service": service,
        "lat": None if lat is None else f"{lat:.5f}",
        "lon": None if lon is None else f"{lon:.5f}",
        "capacity": None if capacity is None else str(capacity),
        "weights": weights,
    }
    ctx = Context(
        provinces=sorted(
            zip(provinces["province_code"], provinces["name_fa"], provinces["name_en"], strict=True),
            key=lambda p: p[1] if lang == "fa" else (p[2] or p[1]),
        ),
        services=[(code, fa, en) for code, (fa, en) in SERVICE_TYPES.items()],
        criteria=CRITERIA,
        default_weights=priority_weights(None, snap.norms.priority_weights),
        attribution=ATTRIBUTION,
        notice={"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN},
        tile_max_zoom=MAX_ZOOM,
        basemap_url=settings.basemap_url,
        basemap_attribution=settings.basemap_attribution,
        params={k: v for k, v in params.items() if v},
    )
    key = (snap.version, page, lang, tuple(sorted(ctx.params.items())))
    cache = request.app.state.caches.pages
    html = cache.get(key)
    if html is None:
        html = build_page(page, lang, ctx)
        cache.put(key, html)
    # Each answer gets its own nonce for the page's inline scripts (Content-Security-Policy).
    return page_response(personalise(html, request, lang), settings.basemap_url)
