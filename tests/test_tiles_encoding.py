"""The point layers' own MVT encoder (``maps.tiles.encode_points``) against mapbox_vector_tile:
the same bytes for the same points and properties, whatever the values."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.tiles import EXTENT, TileSource, encode_points, tile_bounds
from tests.conftest import examples

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet="abc روستای«»ـ0", max_size=8),
    st.sampled_from([0, 1, 1.0, True, False, "", "1"]),  # equal as keys of a dict, not as values
)


def by_mapbox(name, xs, ys, keys, columns):
    rows = list(zip(*columns, strict=True)) if columns else [()] * len(xs)
    features = [
        {
            "geometry": shapely.Point(x, y),
            "properties": {k: v for k, v in zip(keys, r, strict=True) if v is not None},
        }
        for x, y, r in zip(xs, ys, rows, strict=True)
    ]
    return mapbox_vector_tile.encode(
        [{"name": name, "features": features}], default_options={"extents": EXTENT, "y_coord_down": False}
    )


@settings(max_examples=examples(150), deadline=None)
@given(
    points=st.lists(
        st.tuples(
            st.floats(-64, EXTENT + 64, allow_nan=False),
            st.floats(-64, EXTENT + 64, allow_nan=False),
            st.lists(VALUES, min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=40,
    ),
    name=st.sampled_from(["settlements", "ngos", "ده"]),
)
def test_points_encode_to_mapbox_vector_tiles_bytes(points, name):
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    keys = ["name_fa", "population", "kind"]
    columns = [[p[2][k] for p in points] for k in range(3)]
    assert encode_points(name, xs, ys, keys, columns) == by_mapbox(name, xs, ys, keys, columns)


def test_a_tile_of_points_is_the_general_paths_tile():
    # The tile of a layer of points, through the direct encoder, against the general path
    # (shapely points, properties boxed per feature, mapbox_vector_tile) on the same rows.
    rng = np.random.default_rng(5)
    n = 500
    frame = gpd.GeoDataFrame(
        {
            "settlement_code": [f"{i:06d}" for i in range(n)],
            "population": rng.integers(0, 5000, n),
            "share": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "kind": rng.choice(["city", "village"], n),
            "licensed_on": pd.to_datetime(
                np.where(rng.random(n) < 0.3, None, dt.date(2024, 1, 1) + dt.timedelta(days=10))
            ),
        },
        geometry=shapely.points(rng.uniform(50.0, 51.0, n), rng.uniform(35.0, 36.0, n)),
        crs=4326,
    )
    props = ["settlement_code", "population", "share", "kind", "licensed_on"]
    source = TileSource.from_layer("settlements", frame, props, "population")
    made = 0
    for z, x, y in [(8, 163, 101), (9, 327, 202), (7, 81, 50), (12, 2617, 1617)]:
        got = source.tile(z, x, y)
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        merc = frame.to_crs(3857)
        margin = (maxx - minx) * 64 / EXTENT
        inside = merc.cx[minx - margin : maxx + margin, miny - margin : maxy + margin]
        if len(inside) == 0:
            assert got == b""
            continue
        sx, sy = EXTENT / (maxx - minx), EXTENT / (maxy - miny)
        xs = ((inside.geometry.x - minx) * sx).tolist()
        ys = ((inside.geometry.y - miny) * sy).tolist()
        columns = []
        for p in props:
            col = inside[p].astype(object).where(inside[p].notna(), None).tolist()
            columns.append(
                [
                    v.strftime("%Y-%m-%d")
                    if isinstance(v, pd.Timestamp)
                    else (v.item() if isinstance(v, np.generic) else v)
                    for v in col
                ]
            )
        assert got == by_mapbox("settlements", xs, ys, props, columns)
        assert len(mapbox_vector_tile.decode(got)["settlements"]["features"]) == len(inside)
        made += 1
    assert made >= 3


def test_a_prepared_layers_tiles_are_the_same_without_its_kept_outlines():
    # Outlines of many vertices (wavy squares) over a few low-zoom tiles: the tiles made while the
    # whole layer's simplified copies are kept, and again after ``prepared()`` let them go (each
    # tile then simplifies its own geometries), are the same bytes, and nothing is kept again.
    rng = np.random.default_rng(11)
    shapes = []
    for i in range(12):
        cx, cy = 45.0 + 1.5 * (i % 4), 30.0 + 1.5 * (i // 4)
        t = np.linspace(0.0, 2 * np.pi, 400, endpoint=False)
        r = 0.6 + 0.05 * np.sin(9 * t) + rng.uniform(0.0, 0.01, len(t))
        shapes.append(shapely.Polygon(np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])))
    frame = gpd.GeoDataFrame({"county_code": [f"{i:04d}" for i in range(12)]}, geometry=shapes, crs=4326)
    source = TileSource.from_layer("counties", frame, ["county_code"])
    tiles = [(z, *_tile_of(47.0, 31.5, z)) for z in range(3, 10)]
    before = [source.tile(*t) for t in tiles]
    assert all(before) and source._simplified  # the copies of zooms 3–8 are kept
    source.prepared()
    assert [source.tile(*t) for t in tiles] == before
    assert source._simplified == {}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = (1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def test_a_copy_made_while_the_tiles_are_prepared_is_not_kept(monkeypatch):
    # A worker thread makes a low-zoom tile on demand (the whole layer simplified for its zoom)
    # while the preparation ends: the copy it makes goes with the dict ``prepared()`` let go.
    import threading

    import maps.tiles as tiles

    frame = gpd.GeoDataFrame(
        {"county_code": [f"{i:04d}" for i in range(12)]},
        geometry=[
            shapely.box(45 + i % 4, 30 + i // 4, 45.9 + i % 4, 30.9 + i // 4).segmentize(0.01)
            for i in range(12)
        ],
        crs=4326,
    )
    source = TileSource.from_layer("counties", frame, ["county_code"])
    real = shapely.simplify
    entered, go = threading.Event(), threading.Event()

    def slow(*args, **kwargs):
        entered.set()
        go.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiles.shapely, "simplify", slow)
    z, (x, y) = 5, _tile_of(46.5, 31.0, 5)
    worker = threading.Thread(target=source.tile, args=(z, x, y))
    worker.start()
    assert entered.wait(10)
    monkeypatch.setattr(tiles.shapely, "simplify", real)
    source.prepared()
    go.set()
    worker.join(10)
    assert source._simplified == {}
    assert (
        source.tile(z, x, y) == TileSource.from_layer("counties", frame, ["county_code"]).tile(z, x, y) != b""
    )
