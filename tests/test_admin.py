import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from geo.admin import dissolve_by, longest_border_neighbour, share_parent_population
from geo.apportion import largest_remainder, largest_remainder_by_group
from geo.crs import STORAGE_CRS


def test_largest_remainder_by_hand():
    # Quotas 3.5, 3.5, 3.0 of 10: the two halves go to the first tied position only.
    assert largest_remainder(10, np.array([3.5, 3.5, 3.0])).tolist() == [4, 3, 3]
    assert largest_remainder(7, np.array([0.0, 0.0])).tolist() == [4, 3]  # all-zero: even split
    assert largest_remainder(5, np.array([0.0, 1.0])).tolist() == [0, 5]


def test_largest_remainder_refuses_bad_input():
    with pytest.raises(ValueError):
        largest_remainder(5, np.array([-1.0, 2.0]))
    with pytest.raises(ValueError):
        largest_remainder(5, np.array([]))


@given(
    total=st.integers(0, 10_000_000),
    weights=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50),
)
def test_largest_remainder_sums_and_stays_within_one_of_quota(total, weights):
    w = np.array(weights)
    parts = largest_remainder(total, w)
    assert parts.sum() == total
    assert (parts >= 0).all()
    if w.sum() > 0:
        quotas = total * w / w.sum()
        assert np.all(np.abs(parts - quotas) < 1 + 1e-6)


def by_the_book(totals, weights, groups, tiebreak):
    """Hamilton's method group by group, in plain Python: floors, then one more unit to the
    members with the largest fractional parts (equal ones: the smaller tiebreak first)."""
    parts = [0] * len(weights)
    for g, total in enumerate(totals):
        members = [i for i in range(len(weights)) if groups[i] == g]
        if not members:
            continue
        weight = sum(weights[i] for i in members)
        quota = {i: total * (weights[i] / weight if weight else 1 / len(members)) for i in members}
        for i in members:
            parts[i] = int(np.floor(quota[i]))
        missing = total - sum(parts[i] for i in members)
        for i in sorted(members, key=lambda i: (-(quota[i] - parts[i]), tiebreak[i]))[:missing]:
            parts[i] += 1
    return parts


@given(
    data=st.lists(
        st.tuples(st.integers(-1, 4), st.sampled_from([0.0, 1.0, 2.5, 3.0, 7.0, 1e5]), st.integers(0, 30)),
        min_size=1,
        max_size=60,
    ),
    totals=st.lists(st.integers(0, 100_000), min_size=5, max_size=5),
)
def test_largest_remainder_by_group_is_hamiltons_method(data, totals):
    groups = np.array([g for g, _, _ in data])
    weights = np.array([w for _, w, _ in data])
    tiebreak = np.array([t for _, _, t in data])
    got = largest_remainder_by_group(np.array(totals), weights, groups, tiebreak)
    assert got.tolist() == by_the_book(totals, weights, groups, tiebreak)


def test_share_parent_population_by_hand():
    population = pd.Series({"0001": 1000.0, "0002": np.nan, "0003": 500.0})
    parents = pd.Series({"0002": "0001"})
    weights = pd.Series({"0001": 3.0, "0002": 1.0, "0003": 99.0})
    out = share_parent_population(population, parents, weights)
    assert out["population"].to_dict() == {"0001": 750, "0002": 250, "0003": 500}
    assert out["source"].to_dict() == {
        "0001": "census_1395_parent_share",
        "0002": "census_1395_parent_share",
        "0003": "census_1395",
    }
    assert out["population"].sum() == 1500


def test_share_parent_population_refuses_orphans():
    with pytest.raises(ValueError, match="without population"):
        share_parent_population(pd.Series({"0001": 10.0, "0002": np.nan}), pd.Series(dtype=str), pd.Series())


def test_longest_border_neighbour_picks_the_longer_shared_edge():
    # The piece (1x1 at x 1..2) shares its full left edge with A (height 1) but only half of
    # its right edge with B.
    targets = gpd.GeoDataFrame(
        {"county_code": ["A", "B"], "province_code": ["00", "00"]},
        geometry=[box(0.0, 0.0, 1.0, 1.0), box(2.0, 0.5, 3.0, 1.5)],
        crs=STORAGE_CRS,
    )
    pieces = gpd.GeoDataFrame({"province_code": ["00"]}, geometry=[box(1.0, 0.0, 2.0, 1.0)], crs=STORAGE_CRS)
    assert (
        targets.loc[longest_border_neighbour(pieces, targets, "province_code").iloc[0], "county_code"] == "A"
    )


def test_dissolve_by_unions_into_multipolygons():
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)], crs=STORAGE_CRS)
    out = dissolve_by(gdf, pd.Series(["x", "x", "y"]))
    assert out["x"].geom_type == "MultiPolygon"
    assert out["x"].area == pytest.approx(2.0)
    assert out["y"].area == pytest.approx(1.0)
