"""The activities register's pure part (geo.activities): checks, progress, gaps, periods.

Tiny frames whose answers are computed by hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geo import activities as AC
from geo.periods import Period

# Two neighbourhoods in province 11 (in need: 100 and 40 households), one in 23 (in need: unknown).
TARGETS = pd.DataFrame(
    {
        "target_code": ["TA-1", "TA-2", "TA-3"],
        "name_fa": ["محله یک", "محله دو", "محله سه"],
        "county_code": ["1101", "1102", "2301"],
        "province_code": ["11", "11", "23"],
        "households_in_need": pd.array([100, 40, None], dtype="Int64"),
    }
)


def act(i, target, service, households, status="ongoing", start="2024-04-01", end=None, province=None):
    return {
        "activity_id": f"X{i}",
        "organisation": "org",
        "organisation_kind": "partner",
        "licence_no": None,
        "service_type": service,
        "place_kind": "target_area" if target else "county",
        "place_code": target or "1101",
        "target_code": target,
        "county_code": "1101",
        "province_code": province or ("23" if target == "TA-3" else "11"),
        "start_date": start,
        "end_date": end,
        "households": households,
        "persons": households * 3,
        "status": status,
        "notes": None,
        "created_by": "t",
        "updated_at": "2024-01-01T00:00:00Z",
        "synthetic": False,
        "version": 1,
    }


ACTIVITIES = AC.frame_of(
    [
        act(1, "TA-1", "counselling", 30),  # TA-1 counselling: 30 + 50 = 80
        act(2, "TA-1", "counselling", 50, status="completed", end="2024-09-01"),
        act(3, "TA-1", "employment", 60),  # TA-1 employment: 60 -> reached max(80, 60) = 80
        act(4, "TA-1", "kindergarten", 500, status="planned"),  # planned: not counted
        act(5, "TA-2", "home_care", 45),  # TA-2: 45, capped at need 40
        act(6, "TA-3", "counselling", 12, status="cancelled"),  # cancelled: not counted
        act(7, None, "counselling", 9),  # a county activity in 11: no neighbourhood
    ]
)


def test_neighbourhood_progress_follows_the_counting_rule():
    n = AC.neighbourhood_progress(TARGETS, ACTIVITIES).set_index("target_code")
    # TA-1: reported 30+50+60 = 140; reached = largest per-service sum (80), under need 100
    assert n.loc["TA-1", "households_reported"] == 140
    assert n.loc["TA-1", "households_reached"] == 80
    assert n.loc["TA-1", "share_reached"] == pytest.approx(0.8)
    assert bool(n.loc["TA-1", "capped"])
    assert n.loc["TA-1", "activities_ongoing"] == 2 and n.loc["TA-1", "activities_planned"] == 1
    assert n.loc["TA-1", "activities"] == 4
    assert n.loc["TA-1", "services"] == "counselling,employment"
    # TA-2: 45 reported, capped at its need 40: share 1.0
    assert n.loc["TA-2", "households_reached"] == 40 and n.loc["TA-2", "share_reached"] == 1.0
    # TA-3: only a cancelled activity; need unknown: no share
    assert n.loc["TA-3", "households_reached"] == 0 and pd.isna(n.loc["TA-3", "share_reached"])
    assert n.loc["TA-3", "activities_cancelled"] == 1


def test_province_progress_sums_its_neighbourhoods():
    p = AC.province_progress(TARGETS, ACTIVITIES).set_index("province_code")
    # 11: need 100 + 40 = 140, reached 80 + 40 = 120, share 120/140 = 0.8571
    assert p.loc["11", "households_in_need"] == 140
    assert p.loc["11", "households_reached"] == 120
    assert p.loc["11", "share_reached"] == pytest.approx(0.8571)
    assert p.loc["11", "neighbourhoods"] == 2 and p.loc["11", "neighbourhoods_reached"] == 2
    # every activity of 11, the county one too: 6 (4 ongoing, 1 completed, 1 planned)
    assert p.loc["11", "activities"] == 6 and p.loc["11", "activities_ongoing"] == 4
    assert p.loc["23", "neighbourhoods_reached"] == 0 and pd.isna(p.loc["23", "households_in_need"])


def test_gaps_name_neighbourhoods_without_activity_and_missing_services():
    g = AC.gaps(TARGETS, ACTIVITIES, services=("counselling", "employment", "home_care")).set_index(
        "target_code"
    )
    assert not g.loc["TA-1", "no_activity"] and g.loc["TA-1", "missing_services"] == "home_care"
    assert g.loc["TA-2", "missing_services"] == "counselling,employment"
    # TA-3's only activity was cancelled: a gap, every service missing
    assert g.loc["TA-3", "no_activity"] and g.loc["TA-3", "services_missing"] == 3


def test_progress_over_time_counts_what_stood_at_each_period_end():
    acts = AC.frame_of(
        [
            # started in 1403 Q1 (Farvardin 1403 begins 2024-03-20), completed in Q3
            act(1, "TA-1", "counselling", 30, status="completed", start="2024-04-01", end="2024-10-01"),
            # started in 1403 Q2 (Tir: from 2024-06-21)
            act(2, "TA-1", "counselling", 50, start="2024-07-01"),
        ]
    )
    quarters = [Period("quarter", 1403, 1), Period("quarter", 1403, 2), Period("quarter", 1403, 3)]
    t = AC.progress_over_time(TARGETS, acts, quarters)
    whole = t[t["unit"] == "all"].set_index("period")
    assert whole["households_reached"].tolist() == [30, 80, 80]
    assert whole["activities_started"].tolist() == [1, 1, 0]
    # at the end of Q1 and Q2 the first still ran; at Q3's end it was completed
    assert whole["activities_running"].tolist() == [1, 2, 1]
    eleven = t[t["province_code"] == "11"].set_index("period")
    assert eleven.loc["1403Q2", "share_reached"] == pytest.approx(0.5714)  # 80 / 140, to 4 places


PLACES = pd.DataFrame(
    {
        "place_kind": ["target_area", "settlement", "county"],
        "place_code": ["TA-1", "0101", "1101"],
        "county_code": ["1101", "1101", "1101"],
        "province_code": ["11", "11", "11"],
        "name_fa": ["a", "b", "c"],
    }
)


def given(**over):
    row = {
        "organisation": "انجمن",
        "organisation_kind": "ngo",
        "licence_no": "L-1",
        "service_type": "counselling",
        "place_kind": "target_area",
        "place_code": "TA-1",
        "start_date": "2024-04-01",
        "end_date": None,
        "households": 10,
        "persons": 30,
        "status": "ongoing",
        "notes": None,
    }
    return row | over


def test_check_resolves_a_good_row_and_reports_every_bad_one():
    rows, problems = AC.check_activities([given()], PLACES, ["L-1"])
    assert problems.empty
    assert rows[0]["province_code"] == "11" and rows[0]["target_code"] == "TA-1"
    bad = [
        given(licence_no="L-9"),  # 0: unknown licence
        given(status="done"),  # 1: unknown status
        given(start_date="2024-05-01", end_date="2024-04-01"),  # 2: end before start
        given(households=-3),  # 3: negative
        given(place_code="TA-9"),  # 4: no such place
        given(status="completed"),  # 5: completed without end
        given(organisation_kind="partner", licence_no=None, place_kind="county", place_code="1101"),  # fine
        given(households=10, persons=4),  # 7: fewer persons than households
    ]
    rows, problems = AC.check_activities(bad, PLACES, ["L-1"])
    assert list(zip(problems["row"], problems["field"], strict=True)) == [
        (0, "licence_no"),
        (1, "status"),
        (2, "end_date"),
        (3, "households"),
        (4, "place_code"),
        (5, "end_date"),
        (7, "persons"),
    ]
    assert problems["reason_fa"].str.len().gt(0).all()
    assert rows[6]["target_code"] is None and rows[6]["province_code"] == "11"
    # The places indexed once (as the service keeps them) and the licences as a set check alike.
    again, again_problems = AC.check_activities(bad, AC.place_index(PLACES), frozenset({"L-1"}))
    assert again == rows
    pd.testing.assert_frame_equal(again_problems, problems)


def test_as_of_reads_a_completed_activity_as_running_before_its_end():
    acts = AC.frame_of([act(1, "TA-1", "counselling", 30, status="completed", end="2024-10-01")])
    assert AC.as_of(acts, dt.date(2024, 3, 1)).empty
    assert AC.as_of(acts, dt.date(2024, 5, 1))["status"].tolist() == ["ongoing"]
    assert AC.as_of(acts, dt.date(2024, 10, 1))["status"].tolist() == ["completed"]


def test_periods_before_every_activity_are_counted_as_nothing_yet():
    # 1402 ends on 2024-03-19: the activity of 2024-04-01 had not started
    acts = AC.frame_of([act(1, "TA-1", "counselling", 30, status="completed", end="2024-10-01")])
    t = AC.progress_over_time(TARGETS, acts, [Period("year", 1402), Period("year", 1403)])
    whole = t[t["unit"] == "all"].set_index("period")
    assert whole["households_reached"].tolist() == [0, 30]
    assert whole["activities_running"].tolist() == [0, 0]  # at 1403's end it was completed


def test_households_in_need_share_the_programmes_total_by_households():
    from demo.synthetic import households_in_need

    # weights √100, √400, √1600 = 10, 20, 40: 100 × 10/70, 20/70, 40/70 = 14.29, 28.57, 57.14;
    # floors 14 + 28 + 57 = 99, the one left to the largest remainder (28.57): 14 / 29 / 57
    assert households_in_need(pd.Series([100, 400, 1600]), total=100).tolist() == [14, 29, 57]
    # never more than a neighbourhood's households
    assert households_in_need(pd.Series([100, 400, 1600])).tolist() == [100, 400, 1600]
    # 500 equal neighbourhoods: 26 each, the programme's 13,000 in all
    assert households_in_need(pd.Series([10_000] * 500)).tolist() == [26] * 500


def test_the_demos_activities_are_synthetic_deterministic_and_valid(small_layers):
    from demo.synthetic import generate_activities

    targets = small_layers["target_areas"]
    ngos = small_layers["ngos"]
    first = generate_activities(targets, ngos, seed=7)
    assert first == generate_activities(targets, ngos, seed=7)
    assert first and all(a["synthetic"] and "ساختگی" in a["organisation"] for a in first)
    places = AC.places_from_layers(targets, small_layers["settlements"], small_layers["counties"])
    given = [{k: a[k] for k in AC.GIVEN} for a in first]
    rows, problems = AC.check_activities(given, places, ngos["licence_no"])
    assert problems.empty, problems.to_dict("records")
    assert [r["province_code"] for r in rows] == [a["province_code"] for a in first]
