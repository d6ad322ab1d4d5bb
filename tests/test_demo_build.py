"""The national demo on the real Iran reference data: counts, sums, positions, labels, files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from demo.national import read_county_parents
from geo.crs import METRIC_CRS
from geo.gazetteer import nearest_county_part

pytestmark = pytest.mark.realdata

CENSUS_TOTAL = 79_926_270


def test_counts(demo):
    layers = demo["layers"]
    assert len(layers["provinces"]) == 31
    assert len(layers["counties"]) == 448
    kinds = layers["settlements"]["kind"].value_counts()
    assert kinds["city"] == 1554
    assert kinds["village"] > 10_000
    assert len(layers["ngos"]) == 25_000
    assert len(layers["target_areas"]) == 500
    assert len(layers["county_needs"]) == 448 * 8
    assert demo["store"].layer_counts()["settlements"] == len(layers["settlements"])


def test_county_and_province_populations(demo):
    counties, provinces = demo["layers"]["counties"], demo["layers"]["provinces"]
    assert counties["population"].sum() == CENSUS_TOTAL
    assert provinces["population"].sum() == CENSUS_TOTAL
    assert counties["county_code"].str.fullmatch(r"\d{4}").all()
    assert (counties["population"] > 0).all()
    shared = counties[counties["population_source"] == "census_1395_parent_share"]
    assert set(shared["parent_county_code"].dropna()) <= set(counties["county_code"])
    assert shared["parent_county_code"].notna().sum() == 19


def test_every_county_has_a_valid_boundary(demo):
    counties = demo["layers"]["counties"]
    assert counties.geometry.is_valid.all()
    assert (~counties.geometry.is_empty).all()
    # پلدختر (1508) takes the area OSM tags as «شهرستان معمولان».
    poldokhtar = counties.set_index("county_code").loc["1508"]
    assert poldokhtar["name_fa"] == "پلدختر"
    assert poldokhtar.geometry.area > 0.1  # square degrees: about 1,000 km² or more


def test_new_counties_border_their_parent(demo):
    counties = demo["layers"]["counties"].to_crs(METRIC_CRS).set_index("county_code")
    for child, parent in read_county_parents().set_index("county_code")["parent_county_code"].items():
        gap = counties.geometry[child].distance(counties.geometry[parent])
        assert gap < 1_000, f"{child} is {gap:.0f} m from its parent {parent}"


def test_settlement_populations_sum_to_each_county(demo):
    settlements, counties = demo["layers"]["settlements"], demo["layers"]["counties"]
    per_county = settlements.groupby("county_code")["population"].sum()
    expected = counties.set_index("county_code")["population"]
    pd.testing.assert_series_equal(
        per_county.sort_index(),
        expected.sort_index(),
        check_names=False,
        check_dtype=False,
        check_index_type=False,
    )
    assert (settlements["population"] >= 0).all()


def within_own_county(points: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> pd.Series:
    joined = gpd.sjoin(
        points[["county_code", "geometry"]], counties[["county_code", "geometry"]], predicate="within"
    )
    ok = joined[joined["county_code_left"] == joined["county_code_right"]]
    return points.index.isin(ok.index)


def test_every_point_is_inside_its_county(demo):
    counties = demo["layers"]["counties"]
    inside = within_own_county(demo["layers"]["ngos"], counties)
    assert inside.all(), f"{(~inside).sum()} ngos outside their county"
    s = demo["layers"]["settlements"]
    inside = within_own_county(s, counties)
    approximate = s["position_precision"] == "approximate"
    assert inside[approximate.to_numpy()].all(), "an approximate point outside its county"
    # A real point keeps its place: within 2 km of its county (coasts and borders are approximate).
    off = s[~inside]
    near = nearest_county_part(
        off.geometry, counties[counties["county_code"].isin(off["county_code"])], 2_000
    )
    assert (near["county_code"].to_numpy() == off["county_code"].to_numpy()).all()
    assert len(off) <= 0.01 * (~approximate).sum()


def test_island_and_coastal_towns_keep_their_real_points(demo):
    s = demo["layers"]["settlements"].to_crs(METRIC_CRS).set_index("name_fa")
    real = {  # GeoNames / Who's On First points of the towns the old snapping moved far away
        "کیش": (54.0194, 26.5578),
        "بیله سوار": (48.3546, 39.3796),
        "بندرامام خمینی": (49.1029, 30.4370),
    }
    for name, (lon, lat) in real.items():
        here = s[(s["kind"] == "city")].loc[[name]]
        point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=4326).to_crs(METRIC_CRS).iloc[0]
        assert here.geometry.distance(point).min() < 5_000, name


def test_real_points_are_most_villages_and_never_bought_with_wrong_matches(demo):
    s = demo["layers"]["settlements"]
    report = demo["report"]
    villages = s[s["kind"] == "village"]
    real = villages["position_precision"] != "approximate"
    assert real.sum() >= 42_000
    # On the settlements the GeoNames cities placed before, the gazetteer agrees (within 3 km).
    assert report.geonames_agreement >= 0.99
    r = report.match_report
    matched = r[r["status"] == "matched"]
    # Every match that is not exact names both the official name and the place's.
    loose = matched[~matched["method"].isin(["exact", "correction"])]
    assert loose["official_name"].notna().all() and loose["place_name"].notna().all()
    # One place is never given to two settlements.
    ids = matched["gazetteer_id"].dropna()
    assert ids.is_unique
    # The ambiguous ones list their candidates; the summary adds up.
    assert r.loc[r["status"] == "ambiguous", "candidates"].str.len().gt(0).all()
    total = report.match_summary.loc["all"]
    assert total["matched"] + total["ambiguous"] + total["unmatched"] == len(s)
    assert report.unofficial_places > 10_000


def test_target_areas_lie_in_their_county(demo):
    counties = demo["layers"]["counties"].set_index("county_code")
    areas = demo["layers"]["target_areas"]
    assert areas.geometry.is_valid.all() and (~areas.geometry.is_empty).all()
    outside = [
        row.target_code
        for row in areas.itertuples()
        if row.geometry.difference(counties.geometry[row.county_code]).area > 1e-9
    ]
    assert outside == []
    assert set(areas["kind"]) == {"urban", "rural"}
    assert (areas["households"] > 0).all()


def test_real_and_synthetic_are_labelled(demo):
    layers = demo["layers"]
    s = layers["settlements"]
    real = {"gazetteer", "geonames", "correction"}
    near = {"near_rural_district", "near_district", "near_county"}
    assert set(s["position_source"]) <= real | near
    assert ((s["position_precision"] == "approximate") == s["position_source"].isin(near)).all()
    assert (s.loc[s["position_source"].isin(real), "position_precision"].isin(["exact", "low"])).all()
    assert (s["position_precision"] == "low").sum() > 100  # points given to 1-2 decimals
    assert s["match_method"].notna().sum() == s["position_source"].isin(real).sum()
    assert (s.loc[s["position_source"] == "gazetteer", "gazetteer_id"]).notna().all()
    assert (s["position_source"] == "geonames").sum() > 10
    assert set(s["population_source"]) <= {"geonames", "geonames_scaled", "synthetic"}
    assert layers["ngos"]["synthetic"].all()
    assert layers["ngos"]["licence_no"].str.startswith("SYN-").all()
    assert layers["target_areas"]["synthetic"].all()
    assert layers["county_needs"]["synthetic"].all()
    info = layers["layer_info"].set_index("layer")["synthetic"]
    assert info["ngos"] == "all" and info["counties"] == "none" and info["settlements"] == "partial"


def test_big_cities_have_their_real_population(demo):
    s = demo["layers"]["settlements"]
    s = s[s["kind"] == "city"].set_index("name_en")
    # GeoNames figures, as matched by name inside the right county.
    assert s.loc["Tehran", "population"] > 7_000_000
    assert s.loc["Mashhad", "population"] > 2_000_000
    # Its point: the gazetteer's, which agrees with GeoNames' (within the city's built-up radius).
    assert s.loc["Tehran", "position_source"] in {"gazetteer", "geonames"}
    assert s.loc["Tehran", "population_source"] == "geonames"


def test_ngos_crowd_into_big_cities(demo):
    report = demo["report"]
    assert report.urban_ngo_share > 1.5 * report.urban_population_share
    ngos = demo["layers"]["ngos"]
    assert set(ngos["status"]) == {"active", "suspended", "expired", "pending"}
    pending = ngos["status"] == "pending"
    assert ngos.loc[pending, "issued_on"].isna().all()
    active = ngos["status"] == "active"
    assert (ngos.loc[active, "expires_on"] > ngos.loc[active, "issued_on"]).all()
    assert (ngos["capacity"] > 0).all()


def test_county_needs_total_about_seven_and_a_half_million(demo):
    needs = demo["layers"]["county_needs"]
    assert 7_000_000 < needs["target_population"].sum() < 8_000_000
    assert (needs.groupby("county_code").size() == 8).all()


def test_villages_cluster_rather_than_spread_uniformly(demo):
    # Synthetic villages sit closer to their nearest neighbour than uniform points in the
    # same counties would: compare the median nearest-neighbour distance in one large county.
    s = demo["layers"]["settlements"].to_crs(METRIC_CRS)
    counties = demo["layers"]["counties"].to_crs(METRIC_CRS).set_index("county_code")
    code = s[s["kind"] == "village"]["county_code"].value_counts().index[0]
    v = s[(s["county_code"] == code) & (s["kind"] == "village")]
    xy = np.column_stack([v.geometry.x, v.geometry.y])

    def median_nn(points):
        d = np.hypot(points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1])
        np.fill_diagonal(d, np.inf)
        return np.median(d.min(axis=1))

    rng = np.random.default_rng(0)
    poly = counties.geometry[code]
    minx, miny, maxx, maxy = poly.bounds
    uniform = []
    while len(uniform) < len(xy):
        p = rng.uniform([minx, miny], [maxx, maxy], size=(len(xy), 2))
        import shapely

        uniform.extend(p[shapely.contains_xy(poly, p[:, 0], p[:, 1])])
    assert median_nn(xy) < 0.8 * median_nn(np.array(uniform[: len(xy)]))


def test_shapefiles_keep_persian_names(demo):
    directory = demo["root"] / "shapefiles"
    for name in ("provinces", "counties", "settlements", "ngos", "target_areas"):
        assert (directory / f"{name}.cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}
        fields = pyogrio.read_info(directory / f"{name}.shp")["fields"]
        assert all(len(f) <= 10 for f in fields)
    shp = gpd.read_file(directory / "counties.shp")
    original = demo["layers"]["counties"]
    assert sorted(shp["name_fa"]) == sorted(original["name_fa"])
    assert "شهربابک" in set(shp["name_fa"])
    assert len(gpd.read_file(directory / "settlements.shp", columns=["code"])) == len(
        demo["layers"]["settlements"]
    )


def test_the_volunteer_groups_are_drawn_to_the_published_totals_and_said_synthetic(demo):
    groups = demo["layers"]["volunteer_groups"]
    first = groups.drop_duplicates("group_id")
    assert len(first) == 11_000
    assert groups["members"].sum() == 130_000
    professionals = groups["speciality"].isin(["doctor", "psychologist", "social_worker"])
    assert groups.loc[professionals, "members"].sum() == 23_000
    assert groups.loc[groups["active"], "members"].sum() == 107_000
    assert groups["synthetic"].all()
    assert set(groups["county_code"]) <= set(demo["layers"]["counties"]["county_code"])
    info = demo["layers"]["layer_info"].set_index("layer")
    assert info.loc["volunteer_groups", "synthetic"] == "all"
    assert "SYNTHETIC" in info.loc["volunteer_groups", "source"]
    stored = demo["store"].read_layer("volunteer_groups")
    assert len(stored) == len(groups) and stored["members"].sum() == 130_000
