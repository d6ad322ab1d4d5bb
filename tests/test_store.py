"""The storage interface. Parametrised over the stores available (the GeoPackage store always)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from pyogrio.errors import DataSourceError
from shapely.geometry import Point

from geo.errors import CRSMismatchError, SchemaError, UnknownLayerError
from store import StoreError, open_store


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request, tmp_path):
    if request.param == "gpkg":
        yield open_store(str(tmp_path / "store.gpkg"))
        return
    pg = request.getfixturevalue("postgis_store")
    yield pg


def assert_same_layer(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
    )
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all()


def test_empty_store_lists_no_layers(store):
    assert store.list_layers() == []
    with pytest.raises(StoreError, match="not in the store"):
        store.read_layer("ngos")


def test_round_trip_keeps_every_value(store, tiny_settlements):
    store.write_layer("settlements", tiny_settlements)
    back = store.read_layer("settlements")
    assert_same_layer(back, store.read_layer("settlements"))
    assert back["name_fa"].tolist() == ["شهر الف", "روستای ب", "روستای پ"]
    assert back["geonameid"].tolist()[0] == 123 and pd.isna(back["geonameid"].iloc[1])
    assert back["population"].tolist() == [12000, 340, 95]
    assert back.crs.to_epsg() == 4326
    assert back.geometry.geom_equals_exact(tiny_settlements.geometry, tolerance=1e-12).all()
    assert store.count("settlements") == 3
    assert store.list_layers() == ["settlements"]


def test_round_trip_of_dates_and_tables(store):
    ngos = gpd.GeoDataFrame(
        {
            "licence_no": ["L-1", "L-2"],
            "name_fa": ["مهر", "امید"],
            "service_type": ["kindergarten", "rehabilitation"],
            "capacity": [40, 25],
            "status": ["active", "pending"],
            "issued_on": pd.to_datetime(["2022-03-21", None]),
            "expires_on": pd.to_datetime(["2027-03-21", None]),
            "county_code": ["0001", "0001"],
            "province_code": ["00", "00"],
            "settlement_code": ["0001000001", None],
            "synthetic": [True, False],
        },
        geometry=[Point(51.0, 35.0), Point(51.2, 35.2)],
        crs=4326,
    )
    store.write_layer("ngos", ngos)
    back = store.read_layer("ngos")
    assert back["issued_on"].iloc[0] == pd.Timestamp("2022-03-21")
    assert pd.isna(back["issued_on"].iloc[1])
    assert back["synthetic"].tolist() == [True, False]
    needs = pd.DataFrame(
        {
            "county_code": ["0001"],
            "service_type": ["kindergarten"],
            "target_population": [1200],
            "synthetic": [True],
        }
    )
    store.write_layer("county_needs", needs)
    assert store.read_layer("county_needs")["target_population"].tolist() == [1200]


def test_append_adds_rows_and_refuses_duplicate_keys(store, tiny_settlements):
    store.write_layer("settlements", tiny_settlements.iloc[:2])
    store.append("settlements", tiny_settlements.iloc[2:])
    assert store.count("settlements") == 3
    with pytest.raises(StoreError, match="duplicate settlement_code"):
        store.append("settlements", tiny_settlements.iloc[:1])
    assert store.count("settlements") == 3


def test_transaction_is_all_or_nothing(store, tiny_settlements, tiny_counties):
    store.write_layer("settlements", tiny_settlements)
    with pytest.raises(RuntimeError, match="half-way"), store.transaction() as tx:
        tx.write_layer("counties", tiny_counties)
        tx.write_layer("settlements", tiny_settlements.iloc[:1])
        raise RuntimeError("failure half-way")
    assert store.list_layers() == ["settlements"]
    assert store.count("settlements") == 3


def test_replace_overwrites_a_layer(store, tiny_settlements):
    store.write_layer("settlements", tiny_settlements)
    store.write_layer("settlements", tiny_settlements.iloc[1:])
    assert store.read_layer("settlements")["settlement_code"].tolist() == ["0001000002", "0002000003"]


def test_bbox_read(store, tiny_settlements):
    store.write_layer("settlements", tiny_settlements)
    got = store.read_layer("settlements", bbox=(51.5, 34.5, 52.5, 35.5))
    assert got["settlement_code"].tolist() == ["0002000003"]


def test_schema_and_crs_are_enforced(store, tiny_settlements):
    with pytest.raises(SchemaError, match="missing columns population"):
        store.write_layer("settlements", tiny_settlements.drop(columns="population"))
    with pytest.raises(CRSMismatchError, match="expected EPSG:4326"):
        store.write_layer("settlements", tiny_settlements.to_crs(3857))
    with pytest.raises(UnknownLayerError, match="unknown layer 'villages'"):
        store.write_layer("villages", tiny_settlements)
    bad = tiny_settlements.copy()
    bad.loc[0, "name_fa"] = None
    with pytest.raises(SchemaError, match="name_fa has missing values"):
        store.write_layer("settlements", bad)
    assert store.list_layers() == []


def test_values_the_schema_forbids_are_refused(store, tiny_settlements):
    bad = tiny_settlements.copy()
    bad.loc[1, "kind"] = "hamlet"
    with pytest.raises(SchemaError, match="kind must be one of city, village; got \\['hamlet'\\]"):
        store.write_layer("settlements", bad)
    bad = tiny_settlements.copy()
    bad.loc[2, "population"] = -5
    with pytest.raises(SchemaError, match="population must be at least 0"):
        store.write_layer("settlements", bad)
    assert store.list_layers() == []


@pytest.mark.postgis
def test_postgis_tables_enforce_the_schema_themselves(postgis_store, tiny_settlements):
    """Rows written past our code (another client, plain SQL) meet the same rules."""
    import sqlalchemy as sa

    postgis_store.write_layer("settlements", tiny_settlements)
    insert = (
        "INSERT INTO settlements (settlement_code, kind, name_fa, county_code, province_code, population, "
        "population_source, position_source, geometry) VALUES ('9', {kind}, 'x', {county}, '00', {pop}, "
        "'synthetic', 'synthetic', {geom})"
    )
    good = {
        "kind": "'village'",
        "county": "'0001'",
        "pop": "1",
        "geom": "ST_GeomFromText('POINT(51 35)', 4326)",
    }
    for field, value in [
        ("kind", "'hamlet'"),
        ("county", "'1'"),
        ("pop", "-1"),
        ("geom", "ST_GeomFromText('POINT(51 35)', 3857)"),
        ("geom", "ST_GeomFromText('LINESTRING(51 35, 52 36)', 4326)"),
    ]:
        with pytest.raises(sa.exc.DBAPIError), postgis_store.engine.begin() as conn:
            conn.execute(sa.text(insert.format(**{**good, field: value})))
    with postgis_store.engine.begin() as conn:
        conn.execute(sa.text(insert.format(**good)))
        indexes = (
            conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'settlements'"))
            .scalars()
            .all()
        )
        srid = conn.execute(sa.text("SELECT Find_SRID('public', 'settlements', 'geometry')")).scalar()
    assert any("gist" in i.lower() for i in indexes)
    assert srid == 4326
    assert postgis_store.count("settlements") == 4


def test_open_store_picks_the_implementation(tmp_path):
    assert type(open_store(str(tmp_path / "a.gpkg"))).__name__ == "GeoPackageStore"
    assert type(open_store(f"gpkg://{tmp_path / 'b.gpkg'}")).__name__ == "GeoPackageStore"
    with pytest.raises(StoreError):
        open_store("")


@pytest.mark.postgis
@pytest.mark.realdata
def test_demo_built_into_postgis_equals_the_embedded_one(demo, postgis_store, data_dir):
    from demo.build import build_demo

    build_demo(data_dir, postgis_store)
    assert postgis_store.list_layers() == demo["store"].list_layers()
    for name, expected in demo["layers"].items():
        got = postgis_store.read_layer(name)
        assert len(got) == len(expected), name
        if name == "layer_info":
            expected, got = expected.drop(columns="built_at"), got.drop(columns="built_at")
        attrs = [c for c in expected.columns if c != "geometry"]
        pd.testing.assert_frame_equal(
            pd.DataFrame(got[attrs]).reset_index(drop=True),
            pd.DataFrame(expected[attrs]).reset_index(drop=True),
            check_dtype=False,
            obj=name,
        )
        if "geometry" in expected:
            assert got.geometry.geom_equals_exact(expected.geometry, tolerance=1e-9).all(), name


def test_version_changes_with_every_commit_and_only_then(store, tiny_settlements):
    first = store.version()
    assert store.version() == first
    store.write_layer("settlements", tiny_settlements)
    second = store.version()
    assert second != first
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.write_layer("settlements", tiny_settlements.iloc[:1])
        raise RuntimeError("abandoned")
    assert store.version() == second
    store.append("settlements", tiny_settlements.iloc[:0].pipe(lambda f: f))
    assert store.version() != second


def test_division_versions_round_trip_and_refuse_what_the_schema_forbids(store):
    from tests.small_world import hierarchy

    layers = hierarchy()
    with store.transaction() as tx:
        for name, frame in layers.items():
            tx.write_layer(name, frame)
    versions = store.read_layer("hierarchy_versions")
    assert versions["version_id"].tolist() == ["v1", "v2"]
    assert versions["valid_from"].dt.strftime("%Y-%m-%d").tolist() == ["2016-09-22", "2022-03-21"]
    assert versions["valid_to"].isna().tolist() == [False, True]
    assert versions["base_version_id"].tolist() == [None, "v1"]
    units = store.read_layer("hierarchy_units")
    assert list(zip(units["version_id"], units["county_code"], strict=True)) == [
        ("v1", "0001"),
        ("v1", "0002"),
        ("v1", "0101"),
        ("v2", "0001"),
        ("v2", "0002"),
        ("v2", "0003"),
        ("v2", "0101"),
    ]
    assert units.set_index(["version_id", "county_code"]).loc[("v2", "0003"), "parent_county_code"] == "0002"
    changes = store.read_layer("hierarchy_changes")
    assert changes["share"].tolist() == [0.7, 0.3] and changes["share_basis"].tolist() == ["given", "given"]
    boundaries = store.read_layer("hierarchy_boundaries")
    assert boundaries["county_code"].tolist() == ["0002", "0003"]
    assert boundaries.geometry.geom_equals_exact(
        layers["hierarchy_boundaries"].geometry, tolerance=1e-12
    ).all()
    # The same county twice in one version, an unknown share basis: refused.
    twice = pd.concat([layers["hierarchy_units"].iloc[:1]] * 2, ignore_index=True).assign(version_id="v3")
    with pytest.raises(StoreError, match="duplicate"):
        store.append("hierarchy_units", twice)
    with pytest.raises(SchemaError, match="share_basis"):
        store.append(
            "hierarchy_changes", layers["hierarchy_changes"].assign(version_id="v3", share_basis="guess")
        )
    assert len(store.read_layer("hierarchy_units")) == 7


def test_read_layers_reads_every_layer_as_read_layer_does(store, tiny_settlements, tiny_counties):
    assert store.read_layers() == {}
    with store.transaction() as tx:
        tx.write_layer("counties", tiny_counties)
        tx.write_layer("settlements", tiny_settlements)
    layers = store.read_layers()
    assert list(layers) == ["counties", "settlements"]  # schema order, as list_layers
    for name, frame in layers.items():
        assert_same_layer(frame, store.read_layer(name))
    assert layers["settlements"]["settlement_code"].tolist() == ["0001000001", "0001000002", "0002000003"]


@pytest.mark.parametrize("rows", [0, 2, 3, 4, 7])
def test_a_geopackage_layer_read_in_chunks_is_whole_and_in_order(tmp_path, tiny_settlements, rows):
    # chunks of 2: none, one exactly full (the next comes back empty), a last one part full
    frame = pd.concat([tiny_settlements] * 3, ignore_index=True).iloc[:rows].copy()
    frame["settlement_code"] = [f"00010000{i:02d}" for i in range(rows)]
    store = open_store(str(tmp_path / "chunks.gpkg"))
    store.write_layer("settlements", frame)
    whole = store.read_layer("settlements")
    store.READ_CHUNK = 2
    chunked = store.read_layer("settlements")
    assert len(chunked) == rows
    assert chunked["settlement_code"].tolist() == [f"00010000{i:02d}" for i in range(rows)]
    assert_same_layer(chunked, whole)


def test_a_file_that_is_no_geopackage_is_refused_by_gdal_as_before(tmp_path):
    path = tmp_path / "not.gpkg"
    path.write_text("not a database")
    with pytest.raises(DataSourceError, match="not recognized as being in a supported file format"):
        open_store(str(path)).list_layers()


def test_repeated_strings_are_held_once_and_nothing_else_changes():
    """``store.base.share_repeated_strings``: equal strings of a text column become one object;
    the values, the dtypes and the missing cells (None and NaN, each as it was) are unchanged, and
    a column that is not all text is left alone."""
    import numpy as np
    import pandas as pd

    from store.base import share_repeated_strings

    def copies(text: str, n: int) -> list:
        return ["".join(list(text)) for _ in range(n)]  # equal strings, distinct objects

    frame = pd.DataFrame(
        {
            "kind": pd.Series([*copies("روستا", 3), None, *copies("شهر", 2), np.nan], dtype=object),
            "key": pd.Series([f"k{i}" for i in range(7)], dtype=object),
            "mixed": pd.Series(["1", 1, True, "1", None, 1.0, "x"], dtype=object),
            "n": range(7),
        }
    )
    before = frame.copy(deep=True)
    assert len({id(v) for v in frame["kind"][:3]}) == 3
    assert share_repeated_strings(frame) is frame  # fewer rows than SHARE_MIN_ROWS: left as it is
    assert len({id(v) for v in frame["kind"][:3]}) == 3
    out = share_repeated_strings(frame, min_rows=0)
    pd.testing.assert_frame_equal(out, before)
    assert [type(v) for v in out["mixed"]] == [type(v) for v in before["mixed"]]
    assert out["kind"].dtype == object and len({id(v) for v in out["kind"][:3]}) == 1
    assert out["kind"][3] is None and isinstance(out["kind"][6], float) and np.isnan(out["kind"][6])
    assert len({id(v) for v in out["mixed"]}) == len({id(v) for v in before["mixed"]})
    # with a pool, the chunks of one layer share their strings with each other's
    pool: dict[str, str] = {}
    first = share_repeated_strings(pd.DataFrame({"kind": copies("روستا", 2)}), pool, min_rows=0)
    second = share_repeated_strings(pd.DataFrame({"kind": copies("روستا", 3)}), pool, min_rows=0)
    assert len({id(v) for v in [*first["kind"], *second["kind"]]}) == 1


def test_a_layer_read_from_either_store_shares_its_repeated_codes(store, small_layers, monkeypatch):
    monkeypatch.setattr("store.base.SHARE_MIN_ROWS", 0)  # the small world's layers are below it
    store.write_layer("settlements", small_layers["settlements"])
    for settlements in (store.read_layer("settlements"), store.read_layers()["settlements"]):
        for column in ("kind", "province_code", "county_code"):
            values = settlements[column].to_numpy()
            assert values.dtype == object
            assert len({id(v) for v in values}) == len(set(values)) < len(values)
        assert settlements["settlement_code"].is_unique
