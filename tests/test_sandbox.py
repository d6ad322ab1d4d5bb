"""The reading processes forked from the warm zygote: same answers as a cold process, a child
killed on timeout without harm to the zygote, a dead zygote replaced, concurrent reads kept
apart, and no process left behind when the server ends."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from exchange import sandbox
from exchange.boundary import LAST, _drivers, read_untrusted
from exchange.formats import ImportFileError
from exchange.limits import Limits
from exchange.reader import gdal_environment

ROOT = Path(__file__).resolve().parents[1]


def points_gpkg(path: Path, n: int = 3) -> Path:
    gdf = gpd.GeoDataFrame(
        {"licence_no": [f"Z-{i}" for i in range(n)], "capacity": list(range(10, 10 + n))},
        geometry=[Point(51 + i / 100, 35) for i in range(n)],
        crs=4326,
    )
    pyogrio.write_dataframe(gdf, path, layer="ngos")
    return path


def endless_gpkg(path: Path) -> Path:
    """A GeoPackage whose layer is a recursive view that never ends (a reader that hangs)."""
    points_gpkg(path)
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE VIEW loop AS
          WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
          SELECT x AS fid, NULL AS geom FROM c WHERE x < 0;
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
          VALUES ('loop', 'features', 'loop', 4326);
        INSERT INTO gpkg_geometry_columns VALUES ('loop', 'geom', 'POINT', 4326, 0, 0);
        """
    )
    con.commit()
    con.close()
    return path


def current_zygote(*, alive: bool = True) -> sandbox.Zygote:
    """The zygote the import boundary reads through (the one for its GDAL configuration)."""
    key = json.dumps(gdal_environment(_drivers()), sort_keys=True)
    zygote = sandbox._zygotes[key]
    assert zygote.alive or not alive
    return zygote


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0]
    return state != "Z"


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
def test_warm_and_cold_reads_give_the_same_frame(tmp_path, monkeypatch):
    csv = tmp_path / "ngos.csv"
    pd.DataFrame({"licence_no": ["A", "B"], "name_fa": ["امید", "مهر"], "capacity": ["5", ""]}).to_csv(
        csv, index=False
    )
    gpkg = points_gpkg(tmp_path / "ngos.gpkg")
    warm = [read_untrusted(csv), read_untrusted(gpkg)]
    assert LAST.returncode == 0 and LAST.isolated is not None
    zygote = current_zygote()
    monkeypatch.setattr(sandbox, "COLD", True)
    cold = [read_untrusted(csv), read_untrusted(gpkg)]
    pd.testing.assert_frame_equal(warm[0], cold[0])
    pd.testing.assert_frame_equal(warm[1].drop(columns="geometry"), cold[1].drop(columns="geometry"))
    assert warm[1].geometry.equals(cold[1].geometry)
    assert warm[1].crs == cold[1].crs
    assert list(warm[1]["licence_no"]) == ["Z-0", "Z-1", "Z-2"]
    assert zygote.alive  # the cold reads did not touch it


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
@pytest.mark.processes
def test_a_hanging_read_is_killed_and_the_zygote_serves_the_next(tmp_path):
    gpkg = endless_gpkg(tmp_path / "loop.gpkg")
    good = points_gpkg(tmp_path / "ngos.gpkg")
    read_untrusted(good)  # the zygote is up
    zygote = current_zygote()
    started = time.monotonic()
    with pytest.raises(ImportFileError) as info:
        read_untrusted(gpkg, layer="loop", limits=Limits(reader_timeout_seconds=1.5))
    assert info.value.reason == "read_timeout"
    assert time.monotonic() - started < 10
    assert zygote.alive and current_zygote() is zygote
    children = Path(f"/proc/{zygote.proc.pid}/task/{zygote.proc.pid}/children").read_text().split()
    assert children == []  # the killed child was reaped
    assert len(read_untrusted(good)) == 3


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
@pytest.mark.processes
def test_a_dead_zygote_is_replaced(tmp_path):
    gpkg = points_gpkg(tmp_path / "ngos.gpkg")
    read_untrusted(gpkg)
    first = current_zygote()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(5)
    deadline = time.monotonic() + 5
    while first.alive and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not first.alive
    assert len(read_untrusted(gpkg)) == 3
    assert current_zygote() is not first


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
def test_concurrent_reads_each_get_their_own_answer(tmp_path):
    paths = [points_gpkg(tmp_path / f"ngos{n}.gpkg", n) for n in range(1, 9)]
    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(lambda p: len(read_untrusted(p)), paths * 3))
    assert sizes == list(range(1, 9)) * 3


def test_a_child_that_fails_is_a_refusal_not_a_server_error(tmp_path):
    """A request the reader cannot parse makes the child exit 1 with a traceback on stderr."""
    done = sandbox.run(b"not json", 30, {})
    assert done.returncode == 1
    assert b"JSONDecodeError" in done.err
    assert done.out == b""


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
@pytest.mark.processes
def test_the_zygote_and_its_children_end_with_the_server(tmp_path):
    """A server killed outright (SIGKILL) leaves no zygote and no reading child behind."""
    gpkg = endless_gpkg(tmp_path / "loop.gpkg")
    good = points_gpkg(tmp_path / "ngos.gpkg")
    script = textwrap.dedent(
        f"""
        import sys, threading
        sys.path.insert(0, {str(ROOT)!r})
        from exchange import sandbox
        from exchange.boundary import read_untrusted
        read_untrusted({str(good)!r})
        zygote = next(iter(sandbox._zygotes.values()))
        threading.Thread(target=read_untrusted, args=({str(gpkg)!r},), kwargs={{"layer": "loop"}}).start()
        print(zygote.proc.pid, flush=True)
        threading.Event().wait()
        """
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        zygote_pid = int(server.stdout.readline())
        deadline = time.monotonic() + 20
        children: list[str] = []
        while not children and time.monotonic() < deadline:  # the hanging read has started
            children = Path(f"/proc/{zygote_pid}/task/{zygote_pid}/children").read_text().split()
            time.sleep(0.05)
        assert children
        server.kill()
        server.wait(5)
        deadline = time.monotonic() + 10
        pids = [zygote_pid, *map(int, children)]
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in pids)
    finally:
        server.kill()
        server.stdout.close()


def children_of(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def hanging_read(gpkg: Path) -> tuple[ThreadPoolExecutor, object, int]:
    """A read that hangs, started in a thread; (pool, its future, the reading child's pid)."""
    zygote = current_zygote()
    pool = ThreadPoolExecutor(1)
    future = pool.submit(read_untrusted, gpkg, layer="loop", limits=Limits(reader_timeout_seconds=60))
    deadline = time.monotonic() + 20
    while not children_of(zygote.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    (child,) = children_of(zygote.proc.pid)
    return pool, future, child


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
@pytest.mark.processes
def test_a_crashed_child_retires_its_zygote(tmp_path):
    """Children share their zygote's memory layout: after a crash the next reads get a new one."""
    good = points_gpkg(tmp_path / "ngos.gpkg")
    read_untrusted(good)
    first = current_zygote()
    pool, future, child = hanging_read(endless_gpkg(tmp_path / "loop.gpkg"))
    os.kill(child, signal.SIGSEGV)
    with pytest.raises(ImportFileError) as info:
        future.result(timeout=30)
    pool.shutdown()
    assert info.value.reason == "read_crashed"
    assert first.retired
    first.proc.wait(10)  # it had no other read: it ended
    assert len(read_untrusted(good)) == 3
    assert current_zygote() is not first


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
@pytest.mark.processes
def test_a_zygote_is_replaced_after_its_share_of_forks(tmp_path, monkeypatch):
    good = points_gpkg(tmp_path / "ngos.gpkg")
    read_untrusted(good)
    monkeypatch.setattr(sandbox, "FORKS_PER_ZYGOTE", 3)
    zygote = current_zygote()
    seen = {zygote.proc.pid}
    for _ in range(6):
        assert len(read_untrusted(good)) == 3
        seen.add(current_zygote(alive=False).proc.pid)  # the last read may have retired it
    assert len(seen) >= 2
    zygote.proc.wait(10)


@pytest.mark.skipif(sandbox.COLD, reason="this system cannot run the zygote; every read is cold")
@pytest.mark.processes
def test_a_child_does_not_outlive_its_zygote(tmp_path):
    read_untrusted(points_gpkg(tmp_path / "ngos.gpkg"))
    zygote = current_zygote()
    pool, future, child = hanging_read(endless_gpkg(tmp_path / "loop.gpkg"))
    zygote.proc.kill()
    with pytest.raises(ImportFileError) as info:
        future.result(timeout=30)
    pool.shutdown()
    assert info.value.reason == "read_failed"
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
