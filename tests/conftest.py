"""Shared fixtures: tiny hand-built frames, a small hand-built store, and one national demo.

The small store (``tests/small_world.py``) is written in well under a second; the service,
exports and imports are tested on it. Only tests marked ``realdata`` build the national demo.

The national integration tests need the Iran reference data (``AMAYESH_DATA_DIR``, default
``../shared/data/iran``). Where it is missing they skip; with ``AMAYESH_REQUIRE_ALL=1`` (set by
``.ci/run``) any skipped test fails the run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.crs import STORAGE_CRS

ROOT = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    return Path(os.environ.get("AMAYESH_DATA_DIR", ROOT.parent / "shared" / "data" / "iran"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = reference_dir()
    if not (path / "counties_osm.gpkg").is_file():
        pytest.skip(f"Iran reference data not found at {path} (set AMAYESH_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def reference(data_dir):
    from demo.sources import read_reference

    return read_reference(data_dir)


@pytest.fixture(scope="session")
def small_layers() -> dict:
    """The layers of the small hand-built world (``tests/small_world.py``)."""
    from tests import small_world

    return small_world.layers()


@pytest.fixture(scope="session")
def small_store(tmp_path_factory, small_layers):
    """The small world in a GeoPackage store, written once per session (well under a second)."""
    from store import open_store

    store = open_store(str(tmp_path_factory.mktemp("small") / "small.gpkg"))
    with store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    return store


@pytest.fixture(scope="session")
def small_client(small_store):
    """The service on the small store, in-process."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    app = create_app(Settings(store=str(small_store.path), prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def demo(tmp_path_factory, data_dir):
    """The national demo, built once into a GeoPackage store (with shapefiles)."""
    from demo.build import build_demo
    from store import open_store

    root = tmp_path_factory.mktemp("demo")
    store = open_store(str(root / "amayesh.gpkg"))
    report = build_demo(data_dir, store, shapefile_dir=root / "shapefiles")
    layers = {name: store.read_layer(name) for name in store.list_layers()}
    return {"store": store, "report": report, "layers": layers, "root": root}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(demo, tmp_path_factory):
    """The service on the demo store, started as a user starts it, on a free port of 127.0.0.1."""
    import httpx

    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--store", str(demo["store"].path), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/conformance", timeout=2)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
    httpx.get(base + "/collections/flags/items?limit=1", timeout=120)  # warm the analysis
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (one for the whole session)."""
    import shutil

    from tests.test_maps import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def postgis_url() -> str:
    url = os.environ.get("AMAYESH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("no PostGIS server: set AMAYESH_TEST_DATABASE_URL (see .ci/start-postgis.sh)")
    return url


@pytest.fixture
def postgis_store(postgis_url):
    """The PostGIS store on an empty database (every layer table dropped before and after)."""
    from store.postgis import PostGISStore

    store = PostGISStore(postgis_url)
    store.drop_all()
    yield store
    store.drop_all()
    store.engine.dispose()


@pytest.fixture
def tiny_settlements() -> gpd.GeoDataFrame:
    """Three settlements in two counties, small enough to check by hand."""
    return gpd.GeoDataFrame(
        {
            "settlement_code": ["0001000001", "0001000002", "0002000003"],
            "kind": ["city", "village", "village"],
            "name_fa": ["شهر الف", "روستای ب", "روستای پ"],
            "name_en": ["Alef", None, None],
            "county_code": ["0001", "0001", "0002"],
            "province_code": ["00", "00", "00"],
            "rural_district_code": [None, "0001010001", "0002010001"],
            "population": [12000, 340, 95],
            "population_source": ["geonames", "synthetic", "synthetic"],
            "position_source": ["geonames", "synthetic", "synthetic"],
            "geonameid": [123, None, None],
        },
        geometry=[Point(51.0, 35.0), Point(51.1, 35.1), Point(52.0, 35.0)],
        crs=STORAGE_CRS,
    ).astype({"geonameid": "Int64"})


@pytest.fixture
def tiny_counties() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "county_code": ["0001", "0002"],
            "province_code": ["00", "00"],
            "name_fa": ["الف", "ب"],
            "name_en": ["Alef County", None],
            "population": [12340, 95],
            "population_source": ["census_1395", "census_1395"],
            "parent_county_code": [None, None],
            "boundary_source": ["1", "2"],
        },
        geometry=[box(50.5, 34.5, 51.5, 35.5), box(51.5, 34.5, 52.5, 35.5)],
        crs=STORAGE_CRS,
    )


#: Fixtures that need the Iran reference data: a test that uses one is marked ``realdata``.
REAL_DATA_FIXTURES = {"data_dir", "reference", "demo", "server"}


def pytest_collection_modifyitems(config, items):
    """Mark what truly needs real data by what it uses, so ``-m "not realdata"`` never builds the demo."""
    for item in items:
        if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and os.environ.get("AMAYESH_REQUIRE_ALL") == "1":
        terminalreporter.write_line(
            f"AMAYESH_REQUIRE_ALL=1: {len(skipped)} test(s) skipped; a required part is missing",
            red=True,
        )
        config._amayesh_skipped = len(skipped)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("AMAYESH_REQUIRE_ALL") == "1":
        skipped = session.config.pluginmanager.get_plugin("terminalreporter").stats.get("skipped", [])
        if skipped and exitstatus == 0:
            session.exitstatus = 1
