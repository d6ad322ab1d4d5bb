import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import assume, given
from hypothesis import strategies as st

from demo.national import allocate_population
from demo.synthetic import (
    generate_county_needs,
    sample_inside,
)
from geo.measures import settlement_tier


def test_allocate_population_keeps_known_figures_that_fit():
    known, synth, scaled = allocate_population(
        1000, np.array([600]), np.array([1.0, 3.0]), floor_per_synthetic=20
    )
    assert known.tolist() == [600]
    assert synth.tolist() == [100, 300]
    assert not scaled


def test_allocate_population_scales_known_figures_that_do_not_fit():
    # 2 synthetic settlements keep 20 each: 960 are left for the known places (800:400).
    known, synth, scaled = allocate_population(1000, np.array([800, 400]), np.array([1.0, 1.0]), 20)
    assert scaled
    assert known.tolist() == [640, 320]
    assert synth.tolist() == [20, 20]


@given(
    total=st.integers(0, 5_000_000),
    known=st.lists(st.integers(0, 3_000_000), max_size=5),
    n_synth=st.integers(0, 40),
)
def test_allocate_population_always_sums_to_the_county(total, known, n_synth):
    assume(known or n_synth or total == 0)  # a county with people has settlements
    weights = np.linspace(1, 2, n_synth)
    k, s, _ = allocate_population(total, np.array(known, dtype="int64"), weights, 20)
    assert k.sum() + s.sum() == total
    assert (k >= 0).all() and (s >= 0).all()


def test_sample_inside_stays_inside():
    rng = np.random.default_rng(0)
    poly = shapely.Polygon([(0, 0), (10, 0), (10, 1), (1, 1), (1, 10), (0, 10)])  # an L
    centres = np.repeat([[0.5, 0.5]], 500, axis=0)
    pts = sample_inside(rng, poly, centres, sigma=5.0)
    assert shapely.contains_xy(poly, pts[:, 0], pts[:, 1]).all()
    # and they spread: not all at the centre
    assert pts.std(axis=0).min() > 0.5


def test_settlement_tiers():
    pop = pd.Series([2_000_000, 1_000_000, 300_000, 50_000, 49_999, 2_000])
    kind = pd.Series(["city"] * 5 + ["village"])
    assert settlement_tier(pop, kind).tolist() == [
        "metropolis",
        "metropolis",
        "large_city",
        "mid_city",
        "small_town",
        "village",
    ]


def test_county_needs_by_hand(tiny_counties):
    groups = pd.DataFrame({"all": [10_000, 1_000], "age_65_plus": [1_000, 100]}, index=["0001", "0002"])
    from demo.synthetic import NeedRate

    rates = (
        NeedRate("rehabilitation", "all", 0.02, "x"),
        NeedRate("elderly_care", "age_65_plus", 0.1, "x"),
    )
    needs = generate_county_needs(tiny_counties, groups, rates)
    got = needs.set_index(["county_code", "service_type"])["target_population"].to_dict()
    assert got == {
        ("0001", "elderly_care"): 100,
        ("0001", "rehabilitation"): 200,
        ("0002", "elderly_care"): 10,
        ("0002", "rehabilitation"): 20,
    }
    assert needs["synthetic"].all()


def test_county_needs_share_parent_figures(tiny_counties):
    counties = tiny_counties.copy()
    counties.loc[1, "parent_county_code"] = "0001"  # 0002 was carved out of 0001 after the census
    counties["population"] = [9000, 3000]
    groups = pd.DataFrame({"all": [12_000]}, index=["0001"])
    from demo.synthetic import NeedRate

    needs = generate_county_needs(counties, groups, (NeedRate("rehabilitation", "all", 0.01, "x"),))
    assert needs.set_index("county_code")["target_population"].to_dict() == {"0001": 90, "0002": 30}


@pytest.mark.realdata
def test_generators_are_deterministic_for_a_seed(demo):
    from demo.synthetic import generate_ngos, generate_target_areas

    settlements = demo["layers"]["settlements"]
    counties = demo["layers"]["counties"]
    few = counties[counties["province_code"] == "19"]  # Zanjan: 8 counties
    s = settlements[settlements["county_code"].isin(few["county_code"])]
    a = generate_ngos(s, few, n=300, seed=7)
    b = generate_ngos(s, few, n=300, seed=7)
    c = generate_ngos(s, few, n=300, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.geometry.geom_equals(c.geometry).all()
    rate = pd.Series(0.1, index=few["county_code"])
    t1 = generate_target_areas(s, few, rate, n=20, seed=7)
    t2 = generate_target_areas(s, few, rate, n=20, seed=7)
    pd.testing.assert_frame_equal(t1, t2)


def test_allocate_population_refuses_people_without_settlements():
    with pytest.raises(ValueError):
        allocate_population(10, np.array([], dtype="int64"), np.array([]), 20)
