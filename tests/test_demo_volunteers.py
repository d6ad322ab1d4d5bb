"""The demo's synthetic volunteer groups: drawn exactly to the published totals, deterministic,
labelled synthetic, valid for the store; on a small world their parts are checked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from demo.synthetic import VOLUNTEER_TOTALS, generate_volunteer_groups
from geo.volunteers import group_places, network_totals
from store.base import validate_frame
from tests.analysis_world import demo_norms

PROFESSIONS = ["doctor", "psychologist", "social_worker"]


def _world(n_counties: int = 40, per_county: int = 12):
    rng = np.random.default_rng(3)
    counties = pd.DataFrame(
        {
            "county_code": [f"{i:04d}" for i in range(n_counties)],
            "province_code": [f"{i // 10:02d}" for i in range(n_counties)],
            "population": rng.integers(20_000, 900_000, n_counties),
        }
    )
    codes = [(f"{i:04d}", f"{i:04d}{j:06d}") for i in range(n_counties) for j in range(per_county)]
    settlements = gpd.GeoDataFrame(
        {
            "county_code": [c for c, _ in codes],
            "settlement_code": [s for _, s in codes],
            "population": rng.integers(50, 20_000, len(codes)),
        },
        geometry=[Point(48 + rng.random() * 5, 31 + rng.random() * 5) for _ in codes],
        crs=4326,
    )
    return counties, settlements


def test_the_published_totals_are_drawn_exactly_and_split_back_into_their_parts():
    assert VOLUNTEER_TOTALS == {
        "groups": 11_000,
        "members": 130_000,
        "professionals": 23_000,
        "active_members": 107_000,
    }
    counties, settlements = _world()
    groups = generate_volunteer_groups(counties, settlements, seed=1404)
    totals = network_totals(groups, demo_norms().volunteers.codes)
    assert totals["groups"] == 11_000
    assert totals["members"] == 130_000
    assert sum(totals[f"members_{c}"] for c in PROFESSIONS) == 23_000
    assert totals["active_members"] == 107_000
    # the parts add back: per speciality, per county, per province
    assert sum(v for k, v in totals.items() if k.startswith("members_")) == 130_000
    assert groups.groupby("county_code")["members"].sum().sum() == 130_000
    assert groups.groupby("province_code")["group_id"].nunique().sum() == 11_000
    # every group has a member; a group's rows agree on its place and whether it is active
    assert (groups.groupby("group_id")["members"].sum() >= 1).all()
    assert (groups.groupby("group_id")[["active", "county_code"]].nunique() == 1).all().all()
    assert (groups["members"] > 0).all()
    # places: some at a settlement, some at a point, some county level; settlements of the county
    where = group_places(groups, settlements).assign(group_id=groups["group_id"])
    kinds = where.drop_duplicates("group_id")["placed"].value_counts()
    assert set(kinds.index) == {"settlement", "point", "county"}
    at = groups.dropna(subset=["settlement_code"])
    assert (at["settlement_code"].str[:4] == at["county_code"]).all()
    # more groups where more people live (the largest county against the smallest)
    per = groups.drop_duplicates("group_id").groupby("county_code").size()
    pop = counties.set_index("county_code")["population"]
    assert per[pop.idxmax()] > per.reindex(pop.index, fill_value=0)[pop.idxmin()]


def test_the_demo_groups_are_deterministic_synthetic_and_fit_the_store():
    counties, settlements = _world(10, 5)
    small = {"groups": 30, "members": 200, "professionals": 40, "active_members": 150}
    a = generate_volunteer_groups(counties, settlements, seed=7, totals=small)
    pd.testing.assert_frame_equal(a, generate_volunteer_groups(counties, settlements, seed=7, totals=small))
    assert not a.equals(generate_volunteer_groups(counties, settlements, seed=8, totals=small))
    assert a["synthetic"].all() and a["name_fa"].str.contains("ساختگی").all()
    t = network_totals(a, demo_norms().volunteers.codes)
    assert (t["groups"], t["members"], t["active_members"]) == (30, 200, 150)
    assert sum(t[f"members_{c}"] for c in PROFESSIONS) == 40
    assert not a.duplicated(["group_id", "speciality"]).any()
    validate_frame("volunteer_groups", a)  # fits the layer's schema and key
    # every speciality is one of the norms'
    assert set(a["speciality"]) <= set(demo_norms().volunteers.codes)


def test_totals_that_cannot_fit_are_refused():
    counties, settlements = _world(5, 3)
    with pytest.raises(ValueError, match="do not fit"):
        generate_volunteer_groups(
            counties,
            settlements,
            totals={"groups": 10, "members": 5, "professionals": 0, "active_members": 5},
        )
