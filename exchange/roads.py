"""Reading a roads file into the road network (``geo.roads``) the analysis travels on.

The default file is the reference folder's ``roads_vmap0.gpkg`` (VMap0, classes primary /
secondary / unknown); ``AMAYESH_ROADS`` (or ``--roads``) points at another, for example an
OpenStreetMap extract, with ``AMAYESH_ROADS_CLASS_COLUMN`` naming its class column (``highway``)
and the norms' ``[roads.speeds_kmh]`` giving a speed per class (see ``config/norms.toml``).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from pathlib import Path
from typing import Any

import geopandas as gpd

from geo.crs import STORAGE_CRS
from geo.errors import ReferenceDataError, SchemaError
from geo.norms import Norms
from geo.roads import RoadGraph, RoadNetwork, build_road_graph

#: Credited with the other sources (``maps.notices.ATTRIBUTION``: README, landing page, maps).
ROADS_ATTRIBUTION = "Roads: VMap0 / Digital Chart of the World (NGA), via DIVA-GIS"
DEFAULT_ROADS_FILE = "roads_vmap0.gpkg"

_lock = threading.Lock()
_graphs: dict[tuple, RoadGraph] = {}


def roads_path(data_dir: Path, roads: Path | None) -> Path:
    return Path(roads) if roads else Path(data_dir) / DEFAULT_ROADS_FILE


def read_roads(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """The road lines of a file, in EPSG:4326. A missing file or CRS is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceDataError(
            f"roads file {path} not found: set AMAYESH_ROADS (or --roads) to a roads file, or choose "
            'travel = "straight" in the norms'
        )
    frame = _read_geopackage(path, layer) if path.suffix.lower() == ".gpkg" else None
    if frame is None:
        import pyogrio  # GDAL, for a file SQLite alone cannot read (store.geopackage)

        try:
            frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
            raise ReferenceDataError(f"cannot read the roads file {path}: {err}") from err
    if frame.crs is None:
        raise SchemaError(f"roads file {path} does not say its coordinate reference system")
    if not frame.crs.equals(STORAGE_CRS):
        frame = frame.to_crs(STORAGE_CRS)
    lines = frame.geometry.geom_type.isin(["LineString", "MultiLineString"])
    return frame[lines]


def _read_geopackage(path: Path, layer: str | None) -> gpd.GeoDataFrame | None:
    """The roads layer of a GeoPackage read with SQLite alone (its only features table unless
    ``layer`` is named), or None when GDAL must read the file."""
    import sqlite3
    from contextlib import closing

    from store.geopackage import NotAGeoPackageTable, read_table

    if layer is None:
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                tables = [
                    row[0]
                    for row in conn.execute(
                        "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'"
                    )
                ]
        except sqlite3.Error:
            return None
        if len(tables) != 1:
            return None
        layer = tables[0]
    try:
        frame = read_table(path, layer)
    except NotAGeoPackageTable:
        return None
    if not isinstance(frame, gpd.GeoDataFrame):
        return None
    # the columns' dtypes as GDAL's read gives them (text with NaN for a missing class)
    return frame.infer_objects()


def road_graph(
    path: Path, norms: Norms, class_column: str = "road_class", layer: str | None = None
) -> RoadGraph:
    """The graph of a roads file under the norms' speeds, built once per file version and speeds."""
    if norms.roads is None:
        raise SchemaError("the norms have no [roads] table with speeds_kmh")
    path = Path(path)
    stat = path.stat() if path.is_file() else None
    key = (
        str(path.resolve()),
        stat and (stat.st_mtime_ns, stat.st_size),
        layer,
        class_column,
        tuple(sorted(norms.roads.speeds_kmh.items())),
    )
    with _lock:
        graph = _graphs.get(key)
        if graph is None:
            graph = build_road_graph(read_roads(path, layer), norms.roads.speeds_kmh, class_column)
            _graphs.clear()
            _graphs[key] = graph
        return graph


def road_network(
    path: Path,
    norms: Norms,
    class_column: str = "road_class",
    layer: str | None = None,
    dask_scheduler: str | None = None,
) -> RoadNetwork:
    """The travel cost on a roads file under the norms (speeds, off-road rules, fallback).

    ``dask_scheduler``: run the bounded searches on a Dask cluster: ``"local"`` starts a local
    one, an address (``tcp://host:8786``) joins an existing one; None runs them in this process.
    """
    r = norms.roads
    network = RoadNetwork(
        road_graph(path, norms, class_column, layer),
        off_road_kmh=r.off_road_kmh,
        max_off_road_km=r.max_off_road_km,
        fallback_kmh=r.fallback_kmh,
        detour=norms.detour_factor,
    )
    if dask_scheduler:
        network = network.with_client(dask_client(dask_scheduler))
    return network


_clients: dict[str, Any] = {}


def dask_client(scheduler: str):
    """A Dask client: ``"local"`` for a local cluster (started once), or a scheduler's address."""
    from dask.distributed import Client, LocalCluster

    with _lock:
        client = _clients.get(scheduler)
        if client is None:
            if scheduler == "local":
                client = Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None))
            else:
                client = Client(scheduler)
            if not _clients:
                # Registered after distributed's own exit handlers, so run before them: the
                # client and its cluster end in order, without the workers' tracebacks.
                atexit.register(close_dask_clients)
            _clients[scheduler] = client
        return client


def close_dask_clients() -> None:
    """Close the Dask clients (and the local cluster) this process started, quietly."""
    import logging

    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.core"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        cluster = getattr(client, "cluster", None)
        with contextlib.suppress(Exception):
            client.close(timeout=10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)
