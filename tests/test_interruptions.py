"""An import that fails or is killed half-way leaves the store exactly as it was, on both stores."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from exchange.exports import export_layer
from exchange.imports import import_file

pytestmark = pytest.mark.realdata


#: the layers of the stores these tests import into
LAYERS = ("provinces", "counties", "settlements")


@pytest.fixture(scope="module")
def full_gpkg(demo, tmp_path_factory) -> Path:
    """A GeoPackage of the national demo's provinces, counties and settlements, written once:
    each test gets a copy of the file."""
    from store import open_store

    path = tmp_path_factory.mktemp("full") / "amayesh.gpkg"
    with open_store(str(path)).transaction() as tx:
        for name in LAYERS:
            tx.write_layer(name, demo["layers"][name])
    return path


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def full_store(request, demo, tmp_path, tmp_path_factory):
    """A store with the national demo's provinces, counties and settlements, and its URL: a copy
    of ``full_gpkg``, or a PostGIS database made from the run's demo template (under a second,
    ``tests.conftest.postgis_demo_database``; it holds the demo's other layers too)."""
    if request.param == "gpkg":
        from store import open_store

        (tmp_path / "store").mkdir()
        url = str(tmp_path / "store" / "amayesh.gpkg")
        shutil.copyfile(request.getfixturevalue("full_gpkg"), url)
        store = open_store(url)
    else:
        from store.postgis import PostGISStore
        from tests.conftest import postgis_demo_database

        url = postgis_demo_database(
            tmp_path_factory, demo, request.getfixturevalue("postgis_url"), "interruptions"
        )
        store = PostGISStore(url)
        request.addfinalizer(store.engine.dispose)
    return request.param, store, url


@pytest.fixture(scope="module")
def replacements() -> dict:
    """The replacement file of each kind of store, written by the first test that needs it."""
    return {}


@pytest.fixture
def replacement(full_store, replacements, tmp_path_factory):
    """A valid CSV of every settlement with changed populations: importing it replaces the layer.
    Every test starts from the same store, so one file per kind of store serves them all."""
    kind, store, _ = full_store
    if kind not in replacements:
        frame = store.read_layer("settlements")
        frame["population"] = frame["population"] + 1
        path = tmp_path_factory.mktemp(f"replacement-{kind}") / "settlements.csv"
        from exchange.formats import write_file

        write_file(frame, path, layer="settlements")
        replacements[kind] = path
    return replacements[kind]


def fail_half_way(monkeypatch, kind: str) -> None:
    """Make the store's bulk writer write about half the rows, then fail."""
    if kind == "gpkg":
        import store.gpkg as module

        original = module._write

        def broken(path, spec, frame, *, append):
            original(path, spec, frame.iloc[: len(frame) // 2], append=append)
            raise OSError("disk full (simulated half-way through the write)")

        monkeypatch.setattr(module, "_write", broken)
    else:
        import store.postgis as module

        original = module._PgTransaction._copy

        def broken(self, spec, frame):
            original(self, spec, frame.iloc[: len(frame) // 2])
            raise OSError("connection lost (simulated half-way through the COPY)")

        monkeypatch.setattr(module._PgTransaction, "_copy", broken)


def test_an_exception_half_way_leaves_the_store_as_it_was(full_store, replacement, monkeypatch):
    kind, store, _ = full_store
    before = store.read_layer("settlements")
    fail_half_way(monkeypatch, kind)
    with pytest.raises(OSError, match="half-way"):
        import_file(store, "settlements", replacement, mode="replace")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(store.read_layer("settlements"), before)
    # and the store still takes a write afterwards
    outcome = import_file(store, "settlements", replacement, mode="replace")
    assert outcome.rows == len(before)
    assert (store.read_layer("settlements")["population"] == before["population"] + 1).all()


def _writing(kind: str, store, url: str) -> bool:
    if kind == "gpkg":
        folder = store.path.parent
        return any(p.stat().st_size > 0 for p in folder.glob(f".{store.path.stem}.*.tmp.gpkg"))
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY \"settlements\"%'")
            ).scalar()
        )


def test_a_killed_import_leaves_the_store_as_it_was(full_store, replacement):
    kind, store, url = full_store
    before = store.read_layer("settlements")
    digest = hashlib.sha256(store.path.read_bytes()).hexdigest() if kind == "gpkg" else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--store", url, "import", "settlements", str(replacement)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not _writing(kind, store, url):
        assert proc.poll() is None, "the import ended before it was caught writing"
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.01)
    time.sleep(0.2)  # well inside the write, which takes a second or more
    assert proc.poll() is None, "the import ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    if kind == "postgis":
        # The server rolls back the dead client's transaction once it notices the closed socket.
        deadline = time.monotonic() + 30
        while _writing(kind, store, url) and time.monotonic() < deadline:
            time.sleep(0.1)
    else:
        assert hashlib.sha256(store.path.read_bytes()).hexdigest() == digest
    pd.testing.assert_frame_equal(store.read_layer("settlements"), before)
    # The next write goes through (and clears what the killed writer left behind).
    outcome = import_file(store, "settlements", replacement, mode="replace")
    assert outcome.rows == len(before)
    if kind == "gpkg":
        assert not list(store.path.parent.glob(f".{store.path.stem}.*.tmp.gpkg"))


def test_export_reimport_of_the_whole_country_keeps_every_settlement(full_store, tmp_path):
    _, store, _ = full_store
    before = store.read_layer("settlements")
    path = export_layer(store, "settlements", tmp_path / "settlements.gpkg")
    import_file(store, "settlements", path, mode="replace")
    after = store.read_layer("settlements")
    # position_source and population_source keep their values: they are part of the file.
    pd.testing.assert_frame_equal(
        pd.DataFrame(after.drop(columns="geometry")), pd.DataFrame(before.drop(columns="geometry"))
    )
    assert after.geometry.geom_equals_exact(before.geometry, tolerance=1e-9).all()
