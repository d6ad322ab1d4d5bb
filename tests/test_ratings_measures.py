"""Ratings in the measures: with ``weight_capacity_by_rating`` on, saturation, access, the licence
check and delegation count effective capacity and say so; delegation prefers the better-rated of
two centres at the same distance. Worlds built by hand; figures computed on paper."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geo.delegation import delegate
from geo.recompute import analyse
from tests import analysis_world as world

DAY = dt.date(2026, 6, 1)


def _norms(weighted: bool, unrated_weight: float = 1.0):
    raw = world.demo_norms()
    # demo_norms takes top-level changes only: rebuild the ratings table with the option
    import tomllib

    base = tomllib.loads((world.ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))
    base["travel"] = "straight"
    base["ratings"]["weight_capacity_by_rating"] = weighted
    base["ratings"]["unrated_weight"] = unrated_weight
    assert raw.ratings is not None
    from geo.norms import Norms

    return Norms.from_dict(base)


def _evaluations(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"licence_no": licence, "evaluated_on": pd.Timestamp(day), "grade": grade, "province_code": "00"}
            for licence, day, grade in rows
        ]
    )


# One village of 10,000 in county 0001 with two rehabilitation centres on it: L0000 (100 places,
# graded C: 0.7 → 70) and L0001 (60, graded B: 0.9 → 54). 2,000 target persons.
# Weighted: capacity 124 = 160 licensed − 36 for ratings; 620 per 10,000 (off: 800).


def _small(weighted: bool, unrated_weight: float = 1.0, evaluations=None):
    s = world.settlements([(49.5, 34.5), (50.5, 34.5)], [10_000, 1_000])
    n = world.ngos([(49.5, 34.5), (49.5, 34.5)], ["rehabilitation"] * 2, [100, 60], ["S0000", "S0000"])
    need = world.needs({"0001": {"rehabilitation": 2_000}})
    if evaluations is None:
        evaluations = _evaluations([("L0000", "2026-01-01", "C"), ("L0001", "2026-02-01", "B")])
    return analyse(
        s,
        n,
        need,
        world.counties(),
        None,
        _norms(weighted, unrated_weight),
        evaluations=evaluations,
        as_of=DAY,
    )


def test_saturation_counts_effective_capacity_and_splits_it():
    on = _small(True).saturation.loc[("0001", "rehabilitation")]
    assert (on["capacity"], on["licensed_capacity"], on["rating_deduction"]) == (124, 160, 36)
    assert on["licensed_capacity"] - on["rating_deduction"] == on["capacity"]
    assert on["capacity_per_10k"] == pytest.approx(1e4 * 124 / 2000)
    off = _small(False).saturation
    assert off.loc[("0001", "rehabilitation"), "capacity"] == 160
    assert off.loc[("0001", "rehabilitation"), "capacity_per_10k"] == pytest.approx(800)
    # off: today's figures and columns, unmoved
    assert "licensed_capacity" not in off.columns and "rating_deduction" not in off.columns


def test_access_counts_effective_capacity():
    # the only place in reach holds all 2,000 target persons; decay 1 at distance 0
    on = _small(True).access.access.loc[0, "rehabilitation"]
    off = _small(False).access.access.loc[0, "rehabilitation"]
    assert on == pytest.approx(124 / 2000)
    assert off == pytest.approx(160 / 2000)


def test_the_analysis_splits_capacity_per_grade():
    split = _small(True).capacity_split("county_code")
    assert split[["county_code", "grade", "licensed", "deduction", "effective"]].values.tolist() == [
        ["0001", "B", 60, 6, 54],
        ["0001", "C", 100, 30, 70],
    ]
    # the split is there with the option off too: what weighting would deduct
    assert _small(False).capacity_split()["deduction"].sum() == 36


def test_the_licence_check_says_the_ratings_it_counts():
    check = _small(True).check_licence(49.5, 34.5, "rehabilitation", 50)
    assert check.ratings_in_catchment == {"A": 0, "B": 1, "C": 1, "D": 0, "unrated": 0}
    assert check.capacity_weighted_by_rating is True
    # a new centre is unrated and counts as the unrated weight (1.0): all 50 places
    assert check.counted_capacity == 50
    before, after = check.saturation_before, check.saturation_after
    assert (before["capacity"], before["licensed_capacity"], before["rating_deduction"]) == (124, 160, 36)
    assert (after["capacity"], after["licensed_capacity"], after["rating_deduction"]) == (174, 210, 36)
    grades = {
        c["licence_no"]: (c["grade"], c["capacity"], c.get("licensed_capacity"))
        for c in check.same_type_nearby
    }
    assert grades == {"L0000": ("C", 70, 100), "L0001": ("B", 54, 60)}
    assert any("ratings of the 2 same-type centres in the catchment: B 1, C 1" in r for r in check.reasons_en)
    assert any("174" not in r and "124 = 160 licensed − 36 for ratings" in r for r in check.reasons_en)
    assert any("رتبهٔ ۲ مرکز هم‌نوع" in r for r in check.reasons_fa)
    # an unrated centre worth half its places: the proposed 50 count 25
    half = _small(True, unrated_weight=0.5).check_licence(49.5, 34.5, "rehabilitation", 50)
    assert half.counted_capacity == 25
    assert half.saturation_after["capacity"] == 124 + 25
    assert half.saturation_after["rating_deduction"] == 36 + 25


def test_the_licence_check_tells_only_the_grades_of_the_callers_provinces():
    """An officer of other provinces is told how many same-type centres are in reach, not their
    grades (before, a histogram of one centre across the border gave its evaluation away)."""
    mine = _small(True).check_licence(49.5, 34.5, "rehabilitation", 50, graded_in=frozenset({"00"}))
    assert mine.ratings_in_catchment == {"A": 0, "B": 1, "C": 1, "D": 0, "unrated": 0, "other_provinces": 0}
    theirs = _small(True).check_licence(49.5, 34.5, "rehabilitation", 50, graded_in=frozenset({"07"}))
    assert theirs.ratings_in_catchment == {"A": 0, "B": 0, "C": 0, "D": 0, "unrated": 0, "other_provinces": 2}
    assert theirs.same_type_in_catchment == mine.same_type_in_catchment == 2
    assert theirs.saturation_after == mine.saturation_after  # the judgement is the same
    assert any("in the catchment: in other provinces 2" in r for r in theirs.reasons_en)
    assert any("در استان‌های دیگر ۲" in r for r in theirs.reasons_fa)
    assert not any("B 1" in r or "C 1" in r for r in theirs.reasons_en + theirs.reasons_fa)


def test_the_licence_check_says_the_ratings_with_the_option_off():
    check = _small(False).check_licence(49.5, 34.5, "rehabilitation", 50)
    assert check.capacity_weighted_by_rating is False and check.counted_capacity == 50
    assert check.saturation_after["capacity"] == 210
    assert "licensed_capacity" not in check.saturation_before
    assert {c["grade"] for c in check.same_type_nearby} == {"B", "C"}
    assert any("B 1, C 1" in r for r in check.reasons_en)


# Delegation (the world of tests/test_delegation.py): a town with two rehabilitation centres of
# 1,000 places at the same point, villages 35-45 km away flagged; one centre could serve them all.


def _delegation_world(grades: dict[str, str], weighted: bool = False):
    points = [(49.50, 34.50), (49.50, 34.82), (49.90, 34.50), (49.50, 34.10), (50.50, 34.50)]
    s = world.settlements(points, [40_000, 900, 800, 700, 600], kinds=["city"] + ["village"] * 4)
    n = world.ngos([(49.50, 34.50), (49.50, 34.50)], ["rehabilitation"] * 2, [1000, 1000], ["S0000", "S0000"])
    need = world.needs({"0001": {"rehabilitation": 50_000}, "0002": {"rehabilitation": 2_000}})
    ev = _evaluations([(licence, "2026-01-01", g) for licence, g in grades.items()])
    return analyse(s, n, need, world.counties(), None, _norms(weighted), evaluations=ev, as_of=DAY)


@pytest.mark.parametrize(("best", "worst"), [("L0000", "L0001"), ("L0001", "L0000")])
def test_delegation_prefers_the_better_rated_of_two_centres_at_the_same_distance(best, worst):
    plan = delegate(_delegation_world({best: "A", worst: "D"}), "rehabilitation")
    assert plan.summary["assigned"] > 0
    centres = plan.centres.set_index("licence_no")
    assert centres.at[best, "assigned"] == plan.summary["assigned"]
    assert centres.at[worst, "assigned"] == 0
    assert set(plan.lines["licence_no"]) == {best}
    assert (centres.at[best, "grade"], centres.at[worst, "grade"]) == ("A", "D")
    assert "better-rated centres are preferred" in plan.summary["rating_preference"]
    assert "رتبهٔ بهتر" in plan.summary["rating_preference_fa"]
    assert plan.summary["capacity_weighted_by_rating"] is False


def test_a_graded_centre_is_preferred_to_an_unrated_one():
    plan = delegate(_delegation_world({"L0001": "D"}), "rehabilitation")
    centres = plan.centres.set_index("licence_no")
    assert centres.at["L0001", "assigned"] == plan.summary["assigned"] > 0
    assert pd.isna(centres.at["L0000", "grade"])


def test_delegation_with_weighted_capacity_counts_effective_places():
    plan = delegate(_delegation_world({"L0000": "A", "L0001": "D"}, weighted=True), "rehabilitation")
    centres = plan.centres.set_index("licence_no")
    assert centres.at["L0001", "capacity"] == 400 and centres.at["L0001", "licensed_capacity"] == 1000
    assert centres.at["L0000", "capacity"] == 1000
    assert plan.summary["capacity_weighted_by_rating"] is True
    assert "effective capacity" in plan.summary["rating_preference"]
