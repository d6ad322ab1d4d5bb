"""Shared fixtures: tiny hand-built frames, a small hand-built store, and one national demo.

The small store (``tests/small_world.py``) is written in well under a second; the service,
exports and imports are tested on it. Only tests marked ``realdata`` build the national demo.

The national integration tests need the Iran reference data (``AMAYESH_DATA_DIR``, default
``../shared/data/iran``). Where it is missing they skip; with ``AMAYESH_REQUIRE_ALL=1`` (set by
``.ci/run``) any skipped test fails the run.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.crs import STORAGE_CRS
from tests import fast_routes

# Before any test imports the store: the tests' accounts hash with argon2-cffi's test profile
# (store/accounts.py; tests/test_security.py checks the service's own parameters in a fresh process).
os.environ["AMAYESH_TEST_CHEAP_PASSWORD_HASHES"] = "1"

# Each route's dependency tree is built once per test process, not once per app (tests/fast_routes.py).
fast_routes.install()

#: ``make test-fast`` sets AMAYESH_TEST_SAMPLE=1: property tests then draw a quarter of their
#: examples (at least 5). ``make test`` and CI draw them all.
SAMPLE = os.environ.get("AMAYESH_TEST_SAMPLE") == "1"


def examples(n: int) -> int:
    """How many examples a property test draws: ``n``, or a quarter of it in the fast loop."""
    return max(5, n // 4) if SAMPLE else n


ROOT = Path(__file__).resolve().parents[1]

# With python-calamine installed (the import reader uses it), pandas warns that its default XLSX
# reader will change; the tests read the service's workbooks with openpyxl, as before.
pd.set_option("io.excel.xlsx.reader", "openpyxl")


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
    from services.settings import Settings

    app = create_app(Settings(store=str(small_store.path), prepare_tiles=False))
    admin = bearer(make_users(str(small_store.path))["admin"])  # every data route needs sign-in
    with TestClient(app, raise_server_exceptions=False, headers=admin) as client:
        yield client


def _build_demo_files(data_dir: Path, root: Path) -> None:
    """Build the national demo into ``root``: the GeoPackage, its shapefiles, and the build's
    report and layers as read back from the store (``built.pickle``, written last)."""
    from demo.build import build_demo
    from store import open_store

    store = open_store(str(root / "amayesh.gpkg"))
    report = build_demo(data_dir, store, shapefile_dir=root / "shapefiles")
    layers = {name: store.read_layer(name) for name in store.list_layers()}
    store.close()
    partial = root / "built.pickle.part"
    with partial.open("wb") as f:
        pickle.dump({"report": report, "layers": layers}, f, protocol=pickle.HIGHEST_PROTOCOL)
    partial.rename(root / "built.pickle")


def shared_demo_files(tmp_path_factory, data_dir: Path) -> Path:
    """The directory of the national demo built once per test run.

    Under pytest-xdist the workers' base directories share a parent made for this run: the first
    worker to need the demo builds it there under a file lock (about 90 s) and the others wait for
    it, instead of each building its own. Without xdist the run builds into its own directory."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.mktemp("demo-build")
        _build_demo_files(data_dir, root)
        return root
    run = tmp_path_factory.getbasetemp().parent
    root = run / "national-demo"
    with (run / "national-demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if a build fails
        if not (root / "built.pickle").is_file():
            shutil.rmtree(root, ignore_errors=True)  # what a failed build in another worker left
            root.mkdir()
            _build_demo_files(data_dir, root)
    return root


@pytest.fixture(scope="session")
def demo(tmp_path_factory, data_dir):
    """The national demo in a GeoPackage store (with shapefiles) of this worker's own.

    Built once per run (``shared_demo_files``) and copied: the tests write to their worker's
    store (accounts, imports, the service's own writes) as they did to a store built for it."""
    from store import open_store

    built = shared_demo_files(tmp_path_factory, data_dir)
    root = tmp_path_factory.mktemp("demo")
    # the store, its accounts, the match report and the shapefiles (not the store's lock file)
    shutil.copytree(built, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("built.pickle*", "*.lock"))
    with (built / "built.pickle").open("rb") as f:
        saved = pickle.load(f)
    store = open_store(str(root / "amayesh.gpkg"))
    return {"store": store, "report": saved["report"], "layers": saved["layers"], "root": root}


#: The test users: one per role; the scoped roles hold Sistan and Baluchestan (11) only.
TEST_USERS = {
    "admin": ("t_admin", ()),
    "planner": ("t_planner", ()),
    "licensing_officer": ("t_officer", ("11",)),
    "provincial_director": ("t_director", ("11",)),
}
TEST_PASSWORD = "correct horse battery staple"


def make_users(store_url: str) -> dict[str, str]:
    """The test users in a store's accounts (kept if present), and a fresh API token per role."""
    from store.accounts import Accounts

    accounts = Accounts(store_url)
    tokens = {}
    try:
        for role, (username, provinces) in TEST_USERS.items():
            if accounts.get(username) is None:
                accounts.add(username, TEST_PASSWORD, role, provinces, actor="tests")
            tokens[role] = accounts.issue_token(username, label="tests", days=1, actor="tests")[1]
    finally:
        accounts.close()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def demo_tokens(demo) -> dict[str, str]:
    """An API token per role on the national demo store (see ``TEST_USERS``)."""
    return make_users(str(demo["store"].path))


@pytest.fixture(scope="session")
def admin_headers(demo_tokens) -> dict[str, str]:
    return bearer(demo_tokens["admin"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    """The log of the ``server`` fixture's service (uvicorn's access log: every request line)."""
    return tmp_path_factory.mktemp("server") / "serve.log"


def serve(store: str, log_path: Path, warm_token: str):
    """``amayesh serve`` on ``store`` as a user starts it, on a free port of 127.0.0.1, its
    analysis warmed with ``warm_token``'s request: (base URL, process, log file)."""
    import httpx

    port = free_port()
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--store", store, "serve", "--port", str(port)],
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
    httpx.get(
        base + "/collections/flags/items?limit=1", timeout=600, headers=bearer(warm_token)
    )  # the analysis
    return base, proc, log


@pytest.fixture(scope="session")
def server(demo, demo_tokens, server_log):
    """The service on the demo store, started as a user starts it, on a free port of 127.0.0.1.

    Every route but the sign-in page and the public view needs credentials: use ``api`` (an
    httpx client with the admin's token) or sign in."""
    base, proc, log = serve(str(demo["store"].path), server_log, demo_tokens["admin"])
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def small_server(tmp_path_factory, small_layers):
    """The service on a small hand-built world of its own (``tests/small_world.py``; not the
    ``small_store`` other tests read: what it is sent may write), started as a user starts it:
    (base URL, admin token)."""
    from store import open_store

    root = tmp_path_factory.mktemp("small-server")
    store = open_store(str(root / "small.gpkg"))
    with store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    store.close()
    token = make_users(str(root / "small.gpkg"))["admin"]
    base, proc, log = serve(str(root / "small.gpkg"), root / "serve.log", token)
    yield base, token
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
def api(server, admin_headers):
    """An HTTP client of the running service, signed in as an admin (API token)."""
    import httpx

    with httpx.Client(base_url=server, headers=admin_headers, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def postgis_url() -> str:
    url = os.environ.get("AMAYESH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("no PostGIS server: set AMAYESH_TEST_DATABASE_URL (see .ci/start-postgis.sh)")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return worker_database(url, worker) if worker else url


def worker_database(url: str, worker: str) -> str:
    """A database of its own for one pytest-xdist worker (``make test-fast`` runs two), made on
    the same server with PostGIS if missing: the PostGIS tests empty their database."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(url).set(drivername="postgresql+psycopg")
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    with_postgis(base.set(database=name))
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def with_postgis(url) -> None:
    """Add PostGIS to the database at ``url`` (a SQLAlchemy URL) if it lacks it."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    finally:
        engine.dispose()


def module_database(postgis_url: str, name: str) -> str:
    """A database of a module-scoped fixture's own, beside the worker's: with ``--dist
    worksteal`` a worker runs other modules' tests while a module fixture lives, and their
    ``postgis_store`` empties the worker's database (a module's store vanished mid-module)."""
    return worker_database(postgis_url, name)


def _run_dir(tmp_path_factory) -> Path:
    """A directory of this test run that every pytest-xdist worker shares (the session's own
    without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def postgis_demo_database(tmp_path_factory, demo, postgis_url: str, name: str) -> str:
    """A database of a module's own beside the worker's (``module_database``) holding the national
    demo's layers, as if written there: a copy (``CREATE DATABASE … TEMPLATE``, under a second) of
    a database the first worker to need one writes once per run (about 8 s a write)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from store.postgis import PostGISStore

    server = make_url(os.environ["AMAYESH_TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    template = f"{server.database}_demo_template"
    target = make_url(postgis_url).set(database=f"{make_url(postgis_url).database}_{name}")
    run = _run_dir(tmp_path_factory)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with (run / "postgis-demo.lock").open("w") as lock, admin.connect() as conn:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one writer; no copy while the template is written
            if not (run / "postgis-demo.written").is_file():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{template}"')
                with_postgis(server.set(database=template))
                store = PostGISStore(server.set(database=template).render_as_string(hide_password=False))
                try:
                    with store.transaction() as tx:
                        for layer, frame in demo["layers"].items():
                            tx.write_layer(layer, frame)
                finally:
                    store.close()
                (run / "postgis-demo.written").touch()
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{target.database}" TEMPLATE "{template}"')
    finally:
        admin.dispose()
    return target.render_as_string(hide_password=False)


@pytest.fixture
def postgis_store(postgis_url):
    """The PostGIS store on an empty database (every layer table dropped before and after)."""
    from store.postgis import PostGISStore

    store = PostGISStore(postgis_url)
    store.drop_all()
    yield store
    store.drop_all()
    store.engine.dispose()


#: the service's database role in the tests (one per pytest-xdist worker: roles are server-wide)
SERVICE_ROLE = "amayesh_auth_service" + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else ""
)
SERVICE_PASSWORD = "service role password for tests"


def service_role_url(owner_url: str) -> str:
    """Set up the service's database role (``amayesh db setup-roles``) and return its URL.

    Call it after the layer tables exist: it grants on the tables present."""
    from sqlalchemy.engine import make_url

    from store.roles import setup_roles

    setup_roles(owner_url, SERVICE_ROLE, SERVICE_PASSWORD)
    url = make_url(owner_url).set(username=SERVICE_ROLE, password=SERVICE_PASSWORD)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def postgis_demo_owner(tmp_path_factory, demo, postgis_url):
    """The national demo in a PostGIS database of the test's own (a fresh copy each test); the
    owner's URL."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = postgis_demo_database(tmp_path_factory, demo, postgis_url, "demo")
    yield url
    admin = sa.create_engine(
        make_url(postgis_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:  # 70 MB a copy: not left on the server
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def postgis_demo(postgis_demo_owner):
    """The national demo in PostGIS; the URL of the service's own role (not owner, not superuser)."""
    return service_role_url(postgis_demo_owner)


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark what truly needs real data by what it uses, so ``-m "not realdata"`` never builds the
    demo; and count the full sets (``full_matrix``) collected, before ``-m`` or ``-k`` selects."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if REAL_DATA_FIXTURES & fixtures:
            item.add_marker(pytest.mark.realdata)
        if "postgis_url" in fixtures:  # a test that needs the server says so, marked or not
            item.add_marker(pytest.mark.postgis)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # The modules that use the national demo first (each kept whole, in its order): the
        # worker given the head of the list builds the demo (``shared_demo_files``) while the
        # other runs the small world's tests, and finds it built when it comes to the demo's.
        national = {item.path for item in items if item.get_closest_marker("realdata")}
        items[:] = sorted(items, key=lambda item: item.path not in national)
    config._amayesh_full_sets = sum(1 for item in items if item.get_closest_marker("full_matrix"))


def _require_the_full_sets(config, items) -> None:
    """With AMAYESH_REQUIRE_ALL=1 (CI) no test of the full sets may be deselected: CI runs the full
    scoping matrix and hostile corpus on PostGIS (the samples run everywhere)."""
    if os.environ.get("AMAYESH_REQUIRE_ALL") != "1":
        return
    kept = sum(1 for item in items if item.get_closest_marker("full_matrix"))
    collected = getattr(config, "_amayesh_full_sets", 0)
    if kept < collected:
        raise pytest.UsageError(
            f"AMAYESH_REQUIRE_ALL=1: {collected - kept} test(s) of the full sets (full_matrix) deselected; "
            "CI must run the full scoping matrix and hostile corpus"
        )


class _FullSets:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):  # after -m and -k have selected
        _require_the_full_sets(config, items)


def pytest_configure(config):
    # the same check, said plainly before pytest-xdist's workers collect (there it stops the run
    # with an internal error)
    if os.environ.get("AMAYESH_REQUIRE_ALL") == "1" and "full_matrix" in (config.option.markexpr or ""):
        raise pytest.UsageError("AMAYESH_REQUIRE_ALL=1: CI runs the full sets: no -m on full_matrix")
    config.pluginmanager.register(_FullSets(), "amayesh-full-sets")


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
