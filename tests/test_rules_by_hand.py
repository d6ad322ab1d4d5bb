"""The flag rule and the licence verdict at every boundary, by hand.

Every figure below is chosen so the answer can be worked out on paper: a place exactly on a
limit, and a hair either side of it. A test that compares the service with the core cannot see
a threshold written wrong in the core; these can.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.decisions import underserved_flags
from geo.recompute import analyse
from tests import analysis_world as world

SERVICE = "rehabilitation"  # max_distance_km 30, max_travel_min 45, min_population 300,
# min_access_share 0.5; target areas: distances × 0.75, populations × 0.5


def _flagged(cases: list[dict], **norm_changes) -> dict[str, bool]:
    """Which of ``cases`` (name, population, km, share, in_target, minutes) are flagged."""
    norms = world.demo_norms(**norm_changes)
    n = len(cases)
    settlements = pd.DataFrame(
        {
            "settlement_code": [c["name"] for c in cases],
            "population": [c.get("population", 1000) for c in cases],
        }
    )
    tier = pd.Series(["village"] * n)
    far_ok = {s: np.full(n, 1000.0) for s in norms.services}  # 1 km: every other service served
    nearest_m = pd.DataFrame({**far_ok, SERVICE: [1000.0 * c.get("km", 1.0) for c in cases]})
    share = pd.DataFrame(
        {**{s: np.full(n, 10.0) for s in norms.services}, SERVICE: [c.get("share", 10.0) for c in cases]}
    )
    minutes = pd.DataFrame(
        {**{s: np.full(n, 1.0) for s in norms.services}, SERVICE: [c.get("minutes", 1.0) for c in cases]}
    )
    inside = pd.Series([c.get("in_target", False) for c in cases])
    flags = underserved_flags(
        settlements,
        tier,
        nearest_m,
        share,
        inside,
        norms,
        nearest_min=minutes if norms.unit == "min" else None,
    )
    hit = set(flags.loc[flags["service_type"] == SERVICE, "settlement_code"])
    assert set(flags["service_type"]) <= {SERVICE}
    return {c["name"]: c["name"] in hit for c in cases}


def test_the_straight_line_flag_rule_at_its_limits():
    cases = [
        {"name": "under the limit", "km": 29.999},
        {"name": "on the limit", "km": 30.0},  # "farther than 30 km": not flagged
        {"name": "over the limit", "km": 30.001},
        {"name": "target area, on its limit", "km": 22.5, "in_target": True},
        {"name": "target area, over its limit", "km": 22.501, "in_target": True},
        {"name": "target area, beyond the plain limit", "km": 30.0, "in_target": True},
        {"name": "on the population floor", "km": 40.0, "population": 300},
        {"name": "under the population floor", "km": 40.0, "population": 299},
        {"name": "target area, on its population floor", "km": 40.0, "population": 150, "in_target": True},
        {"name": "target area, under its population floor", "km": 40.0, "population": 149, "in_target": True},
        {"name": "access on the minimum", "share": 0.5},
        {"name": "access under the minimum", "share": 0.4999},
    ]
    assert _flagged(cases) == {
        "under the limit": False,
        "on the limit": False,
        "over the limit": True,
        "target area, on its limit": False,
        "target area, over its limit": True,
        "target area, beyond the plain limit": True,
        "on the population floor": True,
        "under the population floor": False,
        "target area, on its population floor": True,
        "target area, under its population floor": False,
        "access on the minimum": False,
        "access under the minimum": True,
    }


def test_the_road_flag_rule_at_its_limits():
    cases = [
        {"name": "under", "minutes": 44.99, "km": 80.0},  # minutes decide on roads, not km
        {"name": "on", "minutes": 45.0},
        {"name": "over", "minutes": 45.01},
        {"name": "target area, on", "minutes": 33.75, "in_target": True},
        {"name": "target area, over", "minutes": 33.76, "in_target": True},
    ]
    assert _flagged(cases, travel="roads") == {
        "under": False,
        "on": False,
        "over": True,
        "target area, on": False,
        "target area, over": True,
    }


# ---- the licence verdict ------------------------------------------------------------------------
#
# County 0001 (49–50 °E): villages A (49.5, 34.5) and B (49.05, 34.05), 1,000 people each, 64 km
# apart (the catchment is 30 km of travel, 23 km in a straight line). The county's target
# population is 160: 80 at A and 80 at B. Existing centres stand at B (capacity ``existing``), so
# B is covered and A is not. The norm is 250 per 10,000 target persons, i.e. 4 places for 160
# persons: ratio to norm = capacity / 4; underserved below 0.75 (3 places), saturated from 1.25
# (5 places). A licence at A newly covers A's 80 persons; one at B newly covers nobody.

A, B = (49.5, 34.5), (49.05, 34.05)


def verdict(existing: int, at: tuple[float, float], capacity: int) -> str:
    settlements = world.settlements([A, B, (50.5, 34.5)], [1000, 1000, 1000])
    ngos = world.ngos([B], [SERVICE], [existing], ["S0001"])
    needs = world.needs({"0001": {SERVICE: 160}, "0002": {SERVICE: 160}})
    a = analyse(settlements, ngos, needs, world.counties(), None, world.demo_norms())
    assert a.demand[SERVICE].tolist()[:2] == [80, 80]
    return a.check_licence(at[0], at[1], SERVICE, capacity).verdict


@pytest.mark.parametrize(
    ("existing", "at", "capacity", "expected", "why"),
    [
        (2, A, 10_000, "welcome", "underserved before (ratio 0.5), whatever else"),
        (2, B, 10_000, "welcome", "underserved before, even where nobody is newly covered"),
        (3, A, 10_000, "saturated", "on the underserved line (0.75) is not underserved; 80 < 1,000"),
        (3, A, 80, "welcome", "newly covers 80 = its capacity"),
        (3, A, 81, "acceptable", "newly covers 80 < 81, and 80 ≥ a tenth of 81"),
        (3, A, 800, "acceptable", "80 is exactly a tenth of 800: not under a tenth"),
        (3, A, 801, "saturated", "80 is under a tenth of 801, and the county ends saturated"),
        (3, B, 1, "acceptable", "ends at 4 places (ratio 1.0, balanced): not saturated"),
        (3, B, 2, "saturated", "ends at 5 places (ratio 1.25): saturated, and newly covers 0"),
        (6, B, 1, "saturated", "saturated before and after, nobody newly covered"),
    ],
)
def test_the_licence_verdict_at_each_threshold(existing, at, capacity, expected, why):
    assert verdict(existing, at, capacity) == expected, why


def test_the_verdict_world_is_as_described():
    settlements = world.settlements([A, B, (50.5, 34.5)], [1000, 1000, 1000])
    ngos = world.ngos([B], [SERVICE], [3], ["S0001"])
    needs = world.needs({"0001": {SERVICE: 160}, "0002": {SERVICE: 160}})
    a = analyse(settlements, ngos, needs, world.counties(), None, world.demo_norms())
    row = a.saturation.loc[("0001", SERVICE)]
    assert row["ratio_to_norm"] == pytest.approx(0.75) and row["class"] == "balanced"
    assert a.access.covered[SERVICE].tolist()[:2] == [False, True]
    assert a.check_licence(*A, SERVICE, 50).newly_covered_target_population == 80
    assert a.check_licence(*B, SERVICE, 50).newly_covered_target_population == 0


# ---- why a place is not flagged, in words --------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "population", "in_target", "target", "en", "fa"),
    [
        ("mid_city", 80_000, False, 500, "a city", "شهر است"),
        (
            "village",
            299,
            False,
            50,
            "population 299 is below this service's minimum of 300",
            "کمتر از حداقل ۳۰۰",
        ),
        # In a target neighbourhood the minimum is halved (0.5): 150, so 149 is below it, 150 is not.
        ("village", 149, True, 50, "minimum of 150 (relaxed in a target neighbourhood)", "محلهٔ هدف"),
        ("village", 150, True, 50, "within the norm", "در حد هنجار"),
        ("village", 300, False, 0, "fewer than 1 target persons", "جمعیت هدف"),
        ("small_town", 300, False, 1, "within the norm", "در حد هنجار"),
    ],
)
def test_why_a_place_is_not_flagged_names_the_rule_that_keeps_it_out(
    tier, population, in_target, target, en, fa
):
    from geo.decisions import why_not_flagged

    got_en, got_fa = why_not_flagged(tier, population, in_target, target, SERVICE, world.demo_norms())
    assert en in got_en and fa in got_fa
