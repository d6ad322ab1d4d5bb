"""``store.geopackage``: whole GeoPackage tables read with SQLite alone, without GDAL, equal to
what GDAL (pyogrio) reads from the same files; and a process that reads its store does not load
GDAL at all."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.schema import LAYERS, conform
from store.geopackage import NotAGeoPackageTable, read_table, wkb_of
from tests import small_world

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_gpkg(tmp_path_factory):
    path = tmp_path_factory.mktemp("reader") / "small.gpkg"
    small_world.gpkg(path)
    return path


def test_every_layer_reads_as_gdal_reads_it(small_gpkg):
    """Every layer of the small world (points, polygons, tables without geometry; text, integers
    with and without gaps, booleans, dates, times), conformed, is what GDAL's read gives."""
    present = {str(n) for n in pyogrio.list_layers(small_gpkg)[:, 0]}
    checked = 0
    for name, spec in LAYERS.items():
        if name not in present:
            continue
        ours = conform(read_table(small_gpkg, name), spec)
        theirs = conform(
            pyogrio.read_dataframe(small_gpkg, layer=name, read_geometry=spec.geometry_type is not None), spec
        )
        pd.testing.assert_frame_equal(ours, theirs)
        if spec.geometry_type is not None:
            assert isinstance(ours, gpd.GeoDataFrame) and ours.crs == theirs.crs
        checked += 1
    assert checked >= 10


def _blob(geometry, indicator: int, srs_id: int = 4326) -> bytes:
    """A GeoPackage geometry blob with the envelope ``indicator`` asks for (little-endian)."""
    minx, miny, maxx, maxy = geometry.bounds
    envelope = {
        0: (),
        1: (minx, maxx, miny, maxy),
        2: (minx, maxx, miny, maxy, 0, 0),
        4: (minx, maxx, miny, maxy, 0, 0, 0, 0),
    }[indicator]
    header = b"GP" + bytes([0, (indicator << 1) | 1]) + struct.pack("<i", srs_id)
    return header + struct.pack(f"<{len(envelope)}d", *envelope) + shapely.to_wkb(geometry)


@pytest.mark.parametrize("indicator", [0, 1, 2, 4])
def test_a_blob_with_any_envelope_gives_its_geometry(indicator):
    polygon = shapely.Polygon([(51, 35), (52, 35), (52, 36)])
    assert shapely.from_wkb(wkb_of(_blob(polygon, indicator))).equals(polygon)


def test_blobs_that_are_no_geopackage_geometry_are_refused():
    point = shapely.Point(51, 35)
    with pytest.raises(NotAGeoPackageTable, match="not a GeoPackage geometry"):
        wkb_of(shapely.to_wkb(point))  # bare WKB, as SpatiaLite or another tool might store
    bad = bytearray(_blob(point, 0))
    bad[3] = (6 << 1) | 1
    with pytest.raises(NotAGeoPackageTable, match="invalid envelope indicator 6"):
        wkb_of(bytes(bad))
    assert wkb_of(None) is None


def test_a_table_the_reader_does_not_know_falls_back_to_gdal(tmp_path, small_gpkg):
    with pytest.raises(NotAGeoPackageTable):
        read_table(small_gpkg, "no_such_table")
    not_sqlite = tmp_path / "not.gpkg"
    not_sqlite.write_text("not a database")
    with pytest.raises(NotAGeoPackageTable):
        read_table(not_sqlite, "settlements")


def test_a_roads_geopackage_reads_as_gdal_reads_it(tmp_path):
    from exchange.roads import read_roads

    lines = gpd.GeoDataFrame(
        {"road_class": ["primary", None, "secondary"]},
        geometry=[
            shapely.LineString([(51, 35), (51.5, 35.2)]),
            shapely.MultiLineString([[(52, 35), (52.1, 35.1)], [(52.1, 35.1), (52.3, 35.0)]]),
            shapely.LineString([(50, 34), (50, 34.5), (50.2, 34.6)]),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "roads.gpkg"
    lines.to_file(path, layer="roads", driver="GPKG")
    ours = read_roads(path)
    theirs = gpd.read_file(path)
    assert ours.crs == theirs.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(ours.drop(columns="geometry")), pd.DataFrame(theirs.drop(columns="geometry"))
    )
    assert ours["road_class"].isna().tolist() == [False, True, False]
    assert all(a.equals(b) for a, b in zip(ours.geometry, theirs.geometry, strict=True))


def test_a_process_that_reads_its_store_does_not_load_gdal(small_gpkg):
    """The service's modules and every layer read: GDAL (pyogrio) is not loaded; it is when the
    store is written."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import api.app, cli\n"
        "from store import open_store\n"
        "layers = open_store(sys.argv[2]).read_layers()\n"
        "assert len(layers['settlements']) > 5, len(layers['settlements'])\n"
        "print('read', 'pyogrio' in sys.modules)\n"
        "s = open_store(sys.argv[2]); s.write_layer('settlements', layers['settlements'])\n"
        "print('written', 'pyogrio' in sys.modules)\n"
    )
    copy = small_gpkg.with_name("copy.gpkg")
    copy.write_bytes(small_gpkg.read_bytes())
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(copy)], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["read False", "written True"]
