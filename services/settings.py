"""Settings of both doors, from the environment (prefix ``AMAYESH_``) or the command line."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMAYESH_")

    #: Folder with the Iran reference data (see README, "Reference data").
    data_dir: Path = Path("../shared/data/iran")
    #: Where the layers live: a GeoPackage path (embedded, default) or a postgresql:// URL.
    store: str = "var/amayesh.gpkg"
    #: Where build-demo writes shapefiles for desktop GIS users.
    shapefile_dir: Path = Path("data/shapefiles")
    #: An administrator's corrections of settlement points (CSV: settlement_code with lon, lat
    #: or gazetteer_id), applied on every build; see config/settlement_corrections.csv.
    settlement_corrections: Path = (
        Path(__file__).resolve().parents[1] / "config" / "settlement_corrections.csv"
    )
    #: The service norms (catchments, norms, flag rules, default priority weights).
    norms: Path = Path(__file__).resolve().parents[1] / "config" / "norms.toml"
    #: The roads file for travel on roads (default: the reference folder's roads_vmap0.gpkg), e.g.
    #: an OpenStreetMap extract; its class column, and its layer if it holds several.
    roads: Path | None = None
    roads_class_column: str = "road_class"
    roads_layer: str | None = None
    #: Run the road searches on Dask: "local" (a local cluster) or a scheduler address; unset: in process.
    dask_scheduler: str | None = None
    #: Encode the low-zoom vector tiles in the background whenever the layers (re)load.
    prepare_tiles: bool = True
    #: A raster base map for the pages, e.g. an intranet tile server's ``https://…/{z}/{x}/{y}.png``.
    #: None by default: the country, provinces and counties are the base, and no page asks an
    #: outside host for anything.
    basemap_url: str | None = None
    basemap_attribution: str = ""
    #: The day licence statuses are read at (active only if issued on or before it and expiring
    #: after it). Default: the registry's own as-of date recorded in layer_info, else today.
    as_of: dt.date | None = None
    #: Where an import saves the previous version of a layer (default: ``versions/`` beside a
    #: GeoPackage store, ``var/versions`` for PostGIS).
    versions_dir: Path | None = None
    #: Where uploaded import files wait for their confirmation: a private folder (0700), never
    #: served (default: ``imports/`` beside a GeoPackage store, ``var/imports`` for PostGIS).
    imports_dir: Path | None = None
    #: The largest file uploaded for an import (MB; 413 beyond, by Content-Length or while it
    #: streams), and how long an unconfirmed import (and its file) is kept (minutes).
    max_upload_mb: int = 50
    import_ttl_minutes: int = 60
    #: How long a session cookie lasts (hours); a sign-in after that.
    session_hours: float = 8.0
    #: Session cookies are ``Secure`` (sent over HTTPS only; browsers treat http://127.0.0.1 and
    #: localhost as secure). Turn off only behind a TLS-terminating proxy on another host name.
    cookie_secure: bool = True
    #: Heavy requests (analysis, exports, map pages and their data): how many run at once, how
    #: many may wait, how many one client may have in progress; the rest get 503/429 with
    #: Retry-After (seconds).
    heavy_workers: int = 2
    heavy_queue: int = 30
    heavy_per_client: int = 24
    retry_after_seconds: int = 5
    #: The largest request body accepted (413 beyond).
    max_body_bytes: int = 1_048_576
    #: The most rows and vertices one export (a download) may hold (413 beyond: filter it).
    max_export_rows: int = 250_000
    max_export_vertices: int = 5_000_000
    #: Bytes of the caches: per-request derived values of a snapshot (filter masks), encoded
    #: tiles, rendered pages.
    cache_small_mb: int = 64
    tile_cache_mb: int = 256
    page_cache_mb: int = 64
    host: str = "127.0.0.1"
    port: int = 8000


@lru_cache
def get_settings() -> Settings:
    return Settings()
