"""Giving freed memory back to the system (``services.memory``), and the tile sources' smaller form.

The server's figures are ``bench/bench_memory.py``'s (README, "What takes the memory"); these
tests check the parts on their own.
"""

from __future__ import annotations

import ctypes.util
import os
import platform
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import pytest
from shapely.geometry import Point

from maps.tiles import TileSource
from services import memory

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or not ctypes.util.find_library("c"),
    reason="malloc_trim and mallopt are glibc's",
)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


@glibc
def test_release_gives_back_the_pages_freed_between_live_blocks():
    """64 MB in 16 KB blocks with every fourth kept: glibc cannot give the freed ones back by
    itself (live blocks lie above them), ``release`` can (about 3/4 of 64 MB, less page edges)."""
    blocks = [bytearray(16 * 1024) for _ in range(4096)]
    for b in blocks:
        b[::4096] = b"\x01" * len(b[::4096])  # touch every page: resident
    kept = blocks[::4]
    del blocks
    before = rss_mb()
    assert memory.release() is True
    assert before - rss_mb() > 20
    assert len(kept) == 1024 and all(k[0] == 1 for k in kept)


@glibc
def test_arenas_are_limited_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False  # glibc read the variable at start: it stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert memory.limit_arenas() is True


_LARGE_BLOCKS = """
import sys, numpy as np, psutil
from services import memory
if sys.argv[1] == "limited":
    memory.limit_arenas()
process = psutil.Process()
large = np.ones(2**21)  # 16 MiB, freed: glibc's own threshold rises to it
del large
before = process.memory_info().rss
blocks = []
for _ in range(64):  # 2 MiB blocks, each followed by a small one that stays
    blocks.append(np.ones(2**18))
    blocks.append(np.ones(1000))
kept = blocks[1::2]
del blocks
print((process.memory_info().rss - before) / 2**20, len(kept))
"""


@glibc
def test_large_blocks_freed_go_back_at_once_with_the_threshold_fixed():
    """64 blocks of 2 MiB made after a 16 MiB one was freed, with small live blocks between:
    with glibc's own threshold they come from the heap and stay resident once freed (the small
    ones pin them); with the threshold fixed at 1 MiB (``limit_arenas``) each is mapped on its own
    and given back when freed, no trim needed. Each in a fresh process, the threshold being
    process-wide."""

    def grown(mode: str) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        out = subprocess.run(
            [sys.executable, "-c", _LARGE_BLOCKS, mode], capture_output=True, text=True, env=env, check=True
        )
        return float(out.stdout.split()[0])

    assert grown("default") > 100  # 128 MiB of freed blocks still resident
    assert grown("limited") < 16


def test_a_tile_source_of_points_keeps_coordinates_not_geometries():
    """Three points in Web Mercator: the source keeps their x and y and the properties alone,
    and the z8 tile over the first two (x 0–156,543 m, y 0–156,543 m) holds those two, their
    properties as given (None left out)."""
    frame = gpd.GeoDataFrame(
        {"code": ["a", "b", "c"], "population": [10, None, 30]},
        geometry=[Point(10, 10), Point(20, 20), Point(5_000_000, 5_000_000)],
        crs=3857,
    )
    src = TileSource("places", frame, ["code", "population"], np.array([10.0, 0.0, 30.0]))
    assert src.points and "geometry" not in src.frame.columns
    assert list(src._x) == [10, 20, 5_000_000] and list(src._y) == [10, 20, 5_000_000]
    import mapbox_vector_tile

    tile = mapbox_vector_tile.decode(src.tile(8, 128, 127))
    features = tile["places"]["features"]
    assert sorted(f["properties"]["code"] for f in features) == ["a", "b"]
    by_code = {f["properties"]["code"]: f["properties"] for f in features}
    assert by_code["a"]["population"] == 10 and "population" not in by_code["b"]


@pytest.mark.parametrize("at_threshold", [False, True])
def test_only_a_large_analysis_gives_its_memory_back(monkeypatch, small_store, at_threshold):
    """The small world's analysis frees too little for a collection of the whole process; an
    analysis of ``RELEASE_FROM_SETTLEMENTS`` settlements or more is followed by one."""
    import threading

    from services import snapshot as snapshot_module
    from services.loading import load_norms, travel_for
    from services.settings import Settings

    released = threading.Event()
    monkeypatch.setattr(memory, "release", released.set)
    settings = Settings(store=str(small_store.path))
    norms = load_norms(settings.norms)
    snaps = snapshot_module.Snapshots(small_store, norms, travel=lambda: travel_for(settings, norms))
    settlements = len(snaps.current().layers["settlements"])
    assert 0 < settlements < snapshot_module.RELEASE_FROM_SETTLEMENTS
    if at_threshold:
        monkeypatch.setattr(snapshot_module, "RELEASE_FROM_SETTLEMENTS", settlements)
    snaps.current().analysis()
    assert released.wait(timeout=5 if at_threshold else 0.5) is at_threshold


def test_a_tile_source_holds_the_layers_own_columns_not_copies():
    """``TileSource.from_layer`` keeps the layer's property columns themselves (selecting a list
    of columns copies each: 0.8 MB a column for the national settlements), and a change to the
    source's frame still leaves the layer as it was (copy on write)."""
    layer = gpd.GeoDataFrame(
        {
            "code": pd.Series(["a", "b", "c"], dtype=object),
            "population": pd.array([10, None, 30], dtype="Int64"),
            "other": [1.0, 2.0, 3.0],
        },
        geometry=[Point(51.0, 35.0), Point(51.1, 35.1), Point(59.0, 36.0)],
        crs=4326,
    )
    src = TileSource.from_layer("places", layer, ["code", "population"], "population")
    assert src.points and list(src.frame.columns) == ["code", "population"]
    assert np.shares_memory(src.frame["code"].to_numpy(), layer["code"].to_numpy())
    assert src.frame["code"].dtype == object and src.frame["population"].dtype == "Int64"
    merc = layer.to_crs(3857)
    assert np.array_equal(src._x, merc.geometry.x.to_numpy()) and np.array_equal(
        src._y, merc.geometry.y.to_numpy()
    )
    src.frame.loc[0, "code"] = "changed"
    assert layer.loc[0, "code"] == "a"
