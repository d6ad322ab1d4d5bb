"""The filter tree of ``geo.filtering`` on three settlements checked by hand, in memory and in PostGIS."""

from __future__ import annotations

import pytest
import shapely

from geo import filtering as F

P = F.Prop


def L(value):
    return F.Lit(value)


#: (filter, the settlement codes it selects among tiny_settlements: 1 Alef city, 2 and 3 villages
#: without an English name; populations 12000, 340, 95; 1 and 2 in county 0001 near 51,35)
CASES = [
    (F.Compare("=", P("kind"), L("village")), {"0001000002", "0002000003"}),
    (F.Compare(">", P("population"), L(100)), {"0001000001", "0001000002"}),
    (F.Compare("=", P("name_en"), L("Alef")), {"0001000001"}),
    # A comparison with null is unknown, and NOT unknown is unknown: no village is selected.
    (F.Not(F.Compare("=", P("name_en"), L("Alef"))), set()),
    (F.IsNull(P("name_en")), {"0001000002", "0002000003"}),
    (F.IsNull(P("name_en"), negate=True), {"0001000001"}),
    (
        F.Or((F.IsNull(P("name_en")), F.Compare("=", P("name_en"), L("Alef")))),
        {"0001000001", "0001000002", "0002000003"},
    ),
    (F.Between(P("population"), L(95), L(340)), {"0001000002", "0002000003"}),
    (F.Between(P("population"), L(95), L(340), negate=True), {"0001000001"}),
    (F.In(P("county_code"), (L("0002"), L("0009"))), {"0002000003"}),
    (F.In(P("name_en"), (L("Beh"),), negate=True), {"0001000001"}),  # null NOT IN (...) is unknown
    (F.Like(P("name_fa"), "روستای%"), {"0001000002", "0002000003"}),
    (F.Like(P("name_fa"), "روستای _"), {"0001000002", "0002000003"}),
    (F.Like(P("name_fa"), "%الف"), {"0001000001"}),
    (F.Like(P("settlement_code"), "0001\\_%"), set()),  # an escaped _ is a real underscore
    (F.Like(P("name_en", casei=True), "alef"), {"0001000001"}),
    (F.Compare("=", P("name_en", casei=True), F.Lit("ALEF", casei=True)), {"0001000001"}),
    (F.Compare("<", P("county_code"), P("province_code")), set()),  # property against property
    (F.Compare(">", P("county_code"), P("province_code")), {"0001000001", "0001000002", "0002000003"}),
    (F.Spatial("intersects", shapely.box(50.9, 34.9, 51.15, 35.15)), {"0001000001", "0001000002"}),
    (F.Spatial("within", shapely.box(51.95, 34.95, 52.05, 35.05)), {"0002000003"}),
    (F.Spatial("disjoint", shapely.box(51.95, 34.95, 52.05, 35.05)), {"0001000001", "0001000002"}),
    (F.Spatial("equals", shapely.Point(51.0, 35.0)), {"0001000001"}),
    (
        F.And(
            (F.Compare("=", P("kind"), L("village")), F.Spatial("intersects", shapely.box(50, 34, 51.5, 36)))
        ),
        {"0001000002"},
    ),
]


@pytest.mark.parametrize(("node", "expected"), CASES)
def test_filters_select_by_hand(tiny_settlements, node, expected):
    mask = F.mask_from_filter(tiny_settlements, node)
    assert set(tiny_settlements.loc[mask, "settlement_code"]) == expected


@pytest.mark.parametrize("seed", range(6))
def test_spatial_masks_equal_the_predicate_on_every_geometry(seed):
    """The envelope pre-test only skips work: each predicate's mask equals the predicate asked of
    every geometry (points, lines, polygons, empty and missing ones; literals touching, inside,
    around and away), including boxes that meet only at an edge or a corner."""
    import geopandas as gpd
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 400
    xy = rng.integers(0, 20, size=(n, 2)).astype(float)  # on a grid: many shared edges and corners
    kinds = rng.integers(0, 5, n)
    geoms = np.empty(n, dtype=object)
    for i, (x, y) in enumerate(xy):
        geoms[i] = [
            shapely.Point(x, y),
            shapely.LineString([(x, y), (x + 2, y + 1)]),
            shapely.box(x, y, x + 3, y + 2),
            shapely.Point(),  # empty
            None,
        ][kinds[i]]
    frame = gpd.GeoDataFrame({"k": np.arange(n)}, geometry=gpd.GeoSeries(geoms), crs=4326)
    literals = [
        shapely.box(5, 5, 9, 8),
        shapely.Point(5, 5),
        shapely.LineString([(0, 10), (20, 10)]),
        shapely.Polygon([(2, 2), (12, 3), (7, 14)]),
        shapely.box(19, 19, 25, 25),  # meets the far corner only
        shapely.box(100, 100, 101, 101),  # away from everything
        shapely.Polygon(),  # empty
    ]
    for other in literals:
        for op in (
            "intersects",
            "disjoint",
            "contains",
            "within",
            "touches",
            "crosses",
            "overlaps",
            "equals",
        ):
            expected = np.asarray(getattr(shapely, op)(geoms, other), dtype=bool)  # shapely's own, on all
            got = F.mask_from_filter(frame, F.Spatial(op, other))
            assert (np.asarray(got, dtype=bool) == expected).all(), (op, other.wkt)


def test_like_patterns():
    assert F.like_regex("a%b_c").fullmatch("aXXbYc")
    assert not F.like_regex("a%b_c").fullmatch("abc")
    assert F.like_regex("100\\%").fullmatch("100%") and not F.like_regex("100\\%").fullmatch("1000")
    assert F.like_regex("(.*)").fullmatch("(.*)") and not F.like_regex("(.*)").fullmatch("abc")


def test_properties_of():
    node = F.And(
        (
            F.Compare("=", P("a"), P("b")),
            F.Not(F.IsNull(P("c"))),
            F.Spatial("intersects", shapely.Point(0, 0)),
        )
    )
    assert F.properties_of(node) == {"a", "b", "c"}


@pytest.mark.postgis
def test_postgis_selects_the_same_rows(postgis_store, tiny_settlements):
    """Every case as SQL with bound parameters on a PostGIS table of the same three settlements."""
    postgis_store.write_layer("settlements", tiny_settlements)
    for node, expected in CASES:
        assert set(postgis_store.select_keys("settlements", node)) == expected, node
    keys = postgis_store.select_keys("settlements", None, (("kind", True), ("population", False)))
    assert keys == ["0001000001", "0001000002", "0002000003"]
    keys = postgis_store.select_keys("settlements", None, (("name_en", False),))
    assert keys[0] == "0001000001"  # nulls last, whichever the direction
