"""The HTTP service. ``create_app()`` builds it; routes are thin and call the snapshot and ``geo``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware

from api import errors, guard, openapi, refusals, security
from api.deps import snapshot
from api.params import reject_unknown_parameters
from api.routers import (
    activities,
    applications,
    assessments,
    auth,
    catalogue,
    evaluations,
    features,
    hierarchy,
    imports,
    pages,
    plans,
    public,
    tiles,
    trends,
    volunteers,
)
from api.schemas import Health, Landing, LayerSummary, Link, declared
from geo.schema import LAYERS
from maps import ogc
from maps.notices import ATTRIBUTION, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services import exporter, memory
from services.caches import Caches
from services.loading import load_norms, travel_for
from services.planjobs import PlanJobs
from services.settings import Settings, get_settings
from services.snapshot import Snapshot, Snapshots
from store import open_store
from store.accounts import Accounts


def default_folder(settings: Settings, name: str) -> Path:
    """``name/`` beside a GeoPackage store, ``var/name`` for PostGIS."""
    if settings.store.startswith("postgres"):
        return Path("var") / name
    return Path(settings.store).parent / name


def import_jobs(
    settings: Settings, store, accounts: Accounts, ratings=None, reference=None, volunteers=None, norms=None
):
    """The import jobs of the service (``services.intake``), audited in the accounts' trail."""
    from services.intake import ImportJobs

    def audit(actor: str, action: str, target: str, old=None, new=None) -> None:
        accounts.record(None, actor, action, target, old, new)

    return ImportJobs(
        store,
        settings.imports_dir or default_folder(settings, "imports"),
        settings.versions_dir or default_folder(settings, "versions"),
        audit,
        ttl_seconds=settings.import_ttl_minutes * 60,
        ratings=ratings,
        reference=reference,
        volunteers=volunteers,
        norms=norms,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; ``settings`` default to the environment (``AMAYESH_*``)."""
    settings = settings or get_settings()
    store = open_store(settings.store)
    accounts = Accounts(settings.store)
    accounts.ensure()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.imports.close()
        app.state.plan_jobs.close()
        exporter.shutdown()
        store.close()
        accounts.close()

    app = FastAPI(
        lifespan=lifespan,
        openapi_url=None,  # served by api.openapi.install with the media type its link names
        title="Amayesh",
        summary="Spatial planning of welfare NGO licensing (Behzisti): layers, analysis, tiles",
        description="OGC API – Features over the layers and analysis results, vector tiles, licence "
        "checks and village priorities. The demo's NGO registry, target areas and target populations "
        "are synthetic.",
        version="0.1.0",
        license_info={"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        # The interactive docs load scripts from a CDN; the service serves nothing from outside.
        docs_url=None,
        redoc_url=None,
        # Deny by default: every route's requirement is checked here (api.security.POLICY); then
        # every route refuses query parameters it does not declare (OGC API Features Core).
        dependencies=[Depends(security.authorize), Depends(reject_unknown_parameters)],
    )
    app.state.accounts = accounts
    app.state.sessions = security.Sessions(
        accounts, hours=settings.session_hours, secure=settings.cookie_secure
    )
    app.state.settings = settings
    memory.limit_arenas()  # the threads share two heaps (README, "What takes the memory")
    norms = load_norms(settings.norms)
    exporter.configure(settings.heavy_workers)
    app.state.caches = caches = Caches.from_settings(settings)

    def prepare_tiles(snap: Snapshot) -> None:
        tiles.prepare_in_background(snap, caches.tiles)

    app.state.snapshots = Snapshots(
        store,
        norms,
        on_load=prepare_tiles if settings.prepare_tiles else None,
        as_of=settings.as_of,
        # Built on the first analysis, not at start: reading the roads takes a few seconds.
        travel=lambda: travel_for(settings, norms),
        small_cache_bytes=settings.cache_small_mb * 2**20,
    )
    # An import's check takes the places and counties from the snapshot when it is of the same
    # store version: 98,000 settlements need not be read again for each upload.
    # The norms in force are the snapshot's: an administrator may import a new catalogue.
    snapshots = app.state.snapshots
    app.state.imports = import_jobs(
        settings,
        store,
        accounts,
        norms.ratings,
        snapshots.stored_layers,
        norms.volunteers,
        norms=lambda: snapshots.current().norms,
    )
    app.state.plan_jobs = PlanJobs()
    errors.install(app)
    security.install(app)
    refusals.install(app)  # a browser refused a page reads a page (after the problem+json answers)
    # JSON, GeoJSON and tiles compress 3-5 times; the map pages' data is stored gzipped already.
    # zlib's own level (6), as the tiles and map data: a page of 100 settlements (48 KB) in 0.84 ms
    # of CPU against 2.14 ms at Starlette's default 9, for 4 % more bytes.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    # Body size, heavy-work admission (503/429 with Retry-After) and security headers.
    guard.install(app, settings)
    app.include_router(features.router)
    app.include_router(tiles.router)
    app.include_router(assessments.router)
    app.include_router(applications.router)
    app.include_router(activities.router)  # before the pages: /maps/activities is not a /maps/{page}
    app.include_router(trends.router)
    app.include_router(evaluations.router)
    app.include_router(volunteers.router)
    app.include_router(auth.router)
    app.include_router(public.router)
    app.include_router(plans.router)
    app.include_router(hierarchy.router)
    app.include_router(catalogue.router)
    app.include_router(imports.router)  # before the pages: /maps/import is not a /maps/{page}
    app.include_router(pages.router)
    pages.mount_assets(app)
    openapi.install(app)
    # after the OGC document is built: each operation's requirement goes into it
    security.publish_requirements(app)

    @app.get(
        "/health",
        summary="Liveness: answers at once, whatever the workers are doing",
        response_model=None,
        responses=declared(Health),
    )
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/", response_model=Landing, summary="Landing page: links, and the layers with their counts")
    def landing(
        request: Request,
        response: Response,
        snap: Annotated[Snapshot, Depends(snapshot)],
        f: features.PageFormat = None,
        lang: features.PageLang = "fa",
    ) -> Landing | Response:
        base = str(request.base_url).rstrip("/")
        info = {}
        if "layer_info" in snap.layers:
            info = snap.layers["layer_info"].set_index("layer").to_dict("index")
        layers = [
            LayerSummary(
                name=name,
                title_fa=LAYERS[name].title_fa,
                title_en=LAYERS[name].title_en,
                count=len(frame),
                synthetic=info.get(name, {}).get("synthetic"),
                source=info.get(name, {}).get("source"),
            )
            for name, frame in snap.layers.items()
            if name != "layer_info"
        ]
        doc = Landing(
            title="Amayesh · آمایش",
            description="Where welfare services are saturated and where they are missing, county by county "
            "and village by village.",
            links=[
                Link(rel="self", type="application/json", href=f"{base}/"),
                Link(rel="alternate", type="text/html", href=f"{base}/?f=html"),
                Link(
                    rel="service-desc",
                    type=openapi.OPENAPI_MEDIA,
                    href=f"{base}/openapi.json",
                ),
                Link(rel="conformance", type="application/json", href=f"{base}/conformance"),
                Link(rel="data", type="application/json", href=f"{base}/collections"),
                *(
                    Link(rel="alternate", type="text/html", href=f"{base}/maps/{name}", title=title)
                    for name, title in (
                        ("national", "National map · نقشهٔ کشوری"),
                        ("licence", "Licence check · بررسی مجوز"),
                        ("priorities", "Village priorities · اولویت روستاها"),
                        ("plan", "Planning · برنامه‌ریزی"),
                    )
                ),
            ],
            layers=layers,
            attribution=ATTRIBUTION,
            notice_fa=SYNTHETIC_NOTICE_FA,
            notice_en=SYNTHETIC_NOTICE_EN,
            tiles_prepared=snap.tiles_ready.is_set(),
            as_of=snap.as_of.isoformat(),
            as_of_source=snap.as_of_source,
        )
        if features.wants_html(request, f):
            return features.html_page(
                request, "/", lang, snap, lambda ctx: ogc.landing_page(doc.model_dump(), ctx)
            )
        response.headers.update(features.alternate_header(request, "/", html=False))
        return doc

    return app
