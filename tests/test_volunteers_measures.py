"""The volunteer network in the measures: with ``count_as_supply`` on, saturation counts every
group in its county and splits capacity (centres + volunteers), access and the flags count the
groups placed at a point or a settlement; off, today's figures stand. Worlds built by hand;
figures computed on paper."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from geo.norms import Norms
from geo.recompute import analyse
from tests import analysis_world as world
from tests.test_volunteers import groups


def _norms(on: bool, weighted: bool = False) -> Norms:
    raw = tomllib.loads((world.ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))
    raw["travel"] = "straight"
    raw["volunteers"]["count_as_supply"] = on
    raw["ratings"]["weight_capacity_by_rating"] = weighted
    return Norms.from_dict(raw)


# One village of 10,000 (S0000) in county 0001 with a rehabilitation centre of 100 places on it,
# 2,000 target persons for rehabilitation and 500 for home care; a village of 1,000 in 0002 91 km
# away (out of every catchment). Volunteers: G1 at S0000, 20 rehabilitation therapists (→ 20
# rehabilitation places, 20 × 0.5 = 10 home care); G2 county 0001 only, 10 therapists (→ 10 and
# 5); G3 at S0000 but inactive, 50 therapists (→ nothing).
VOLUNTEERS = groups(
    [
        ("G1", "0001", "S0000", None, "rehabilitation_therapist", 20, True),
        ("G2", "0001", None, None, "rehabilitation_therapist", 10, True),
        ("G3", "0001", "S0000", None, "rehabilitation_therapist", 50, False),
    ]
)


def _small(on: bool, volunteers=VOLUNTEERS, capacity: int = 100, weighted: bool = False, evaluations=None):
    s = world.settlements([(49.5, 34.5), (50.5, 34.5)], [10_000, 1_000])
    n = world.ngos([(49.5, 34.5)], ["rehabilitation"], [capacity], ["S0000"])
    need = world.needs({"0001": {"rehabilitation": 2_000, "home_care": 500}})
    return analyse(
        s,
        n,
        need,
        world.counties(),
        None,
        _norms(on, weighted),
        volunteer_groups=volunteers,
        evaluations=evaluations,
    )


def test_saturation_counts_every_active_group_in_its_county_and_splits_capacity():
    a = _small(True)
    assert a.counts_volunteers
    rehab = a.saturation.loc[("0001", "rehabilitation")]
    # 100 licensed + 20 (G1) + 10 (G2, county level) = 130; G3 inactive counts nothing
    assert (rehab["capacity"], rehab["centre_capacity"], rehab["volunteer_capacity"]) == (130, 100, 30)
    assert rehab["centre_capacity"] + rehab["volunteer_capacity"] == rehab["capacity"]
    assert rehab["capacity_per_10k"] == pytest.approx(1e4 * 130 / 2000)
    home = a.saturation.loc[("0001", "home_care")]
    assert (home["capacity"], home["centre_capacity"], home["volunteer_capacity"]) == (15, 0, 15)
    assert home["ngos"] == 0
    # a county with no groups: a zero volunteer part
    assert a.saturation.loc[("0002", "rehabilitation"), "volunteer_capacity"] == 0
    # every row adds back exactly
    sat = a.saturation
    assert (sat["centre_capacity"] + sat["volunteer_capacity"] == sat["capacity"]).all()


def test_off_the_figures_and_columns_are_todays():
    off = _small(False)
    none = _small(False, volunteers=None)
    assert not off.counts_volunteers
    pd.testing.assert_frame_equal(off.saturation, none.saturation)
    assert "volunteer_capacity" not in off.saturation.columns
    assert off.saturation.loc[("0001", "rehabilitation"), "capacity"] == 100
    pd.testing.assert_frame_equal(off.access.access, none.access.access)
    # not even worked out: the analysis costs what it did before (the routes work them out)
    assert off.volunteer_supply is None
    assert _small(True).volunteer_supply["places"].sum() == 45


def test_access_counts_placed_groups_only():
    on = _small(True).access
    off = _small(False).access
    # the only place within reach holds all target persons; decay 1 at distance 0
    assert off.access.loc[0, "rehabilitation"] == pytest.approx(100 / 2000)
    # G1's 20 places count at S0000; G2 is county level and has no place to count from
    assert on.access.loc[0, "rehabilitation"] == pytest.approx(120 / 2000)
    # home care has no centre: the volunteers alone give access (G1's 10 places for 500 persons)
    assert on.access.loc[0, "home_care"] == pytest.approx(10 / 500)
    assert off.access.loc[0, "home_care"] == 0
    # the nearest centre and the centres within reach stay the centres'
    assert on.count_within.loc[0, "rehabilitation"] == 1 == off.count_within.loc[0, "rehabilitation"]
    assert on.count_within.loc[0, "home_care"] == 0 and bool(on.covered.loc[0, "home_care"]) is False
    assert on.nearest_ngo.loc[0, "rehabilitation"] == "L0000"
    # the centre's ratio is its own: capacity over the demand it shares
    assert on.ratio["L0000"] == pytest.approx(100 / 2000)


def _flagged(a, code="S0000") -> bool:
    rehab = a.flags[a.flags["service_type"] == "rehabilitation"]
    return code in set(rehab["settlement_code"])


def test_placed_volunteers_lift_a_flag_a_county_level_group_does_not():
    # a centre of 20 for 2,000: access 0.01 < 0.5 × 250 / 10,000 = 0.0125 per person: flagged
    assert _flagged(_small(False, capacity=20))
    # G1's 20 at the village: (20 + 20) / 2,000 = 0.02: no longer flagged
    assert not _flagged(_small(True, capacity=20))
    # only the county-level group (10): access stays 0.01, still flagged; saturation counts it
    county_only = groups([("G2", "0001", None, None, "rehabilitation_therapist", 10, True)])
    a = _small(True, volunteers=county_only, capacity=20)
    assert _flagged(a)
    assert a.saturation.loc[("0001", "rehabilitation"), "capacity"] == 30


def test_a_group_at_its_own_point_counts_there():
    # a point 100 m from the village (well inside the catchment; decay almost 1)
    at_point = groups([("P", "0001", None, (49.5012, 34.5), "rehabilitation_therapist", 20, True)])
    a = _small(True, volunteers=at_point)
    assert a.access.access.loc[0, "rehabilitation"] == pytest.approx(120 / 2000, rel=1e-3)
    # far away (the other county's village, out of reach): it counts in its county, not here
    far = groups([("F", "0002", None, (50.5, 34.5), "rehabilitation_therapist", 20, True)])
    b = _small(True, volunteers=far)
    assert b.access.access.loc[0, "rehabilitation"] == pytest.approx(100 / 2000)
    assert b.saturation.loc[("0002", "rehabilitation"), "volunteer_capacity"] == 20


def test_with_ratings_the_centres_part_splits_again():
    ev = pd.DataFrame(
        [
            {
                "licence_no": "L0000",
                "evaluated_on": pd.Timestamp("2026-01-01"),
                "grade": "C",
                "province_code": "00",
            }
        ]
    )
    row = _small(True, weighted=True, evaluations=ev).saturation.loc[("0001", "rehabilitation")]
    # 100 licensed × 0.7 = 70 for the centre, + 30 volunteers = 100
    assert (row["licensed_capacity"], row["rating_deduction"], row["centre_capacity"]) == (100, 30, 70)
    assert row["volunteer_capacity"] == 30 and row["capacity"] == 100
    assert row["licensed_capacity"] - row["rating_deduction"] + row["volunteer_capacity"] == row["capacity"]


def test_the_licence_check_keeps_the_split():
    check = _small(True).check_licence(49.5, 34.5, "rehabilitation", 50)
    before, after = check.saturation_before, check.saturation_after
    assert (before["capacity"], before["centre_capacity"], before["volunteer_capacity"]) == (130, 100, 30)
    assert (after["capacity"], after["centre_capacity"], after["volunteer_capacity"]) == (180, 150, 30)
