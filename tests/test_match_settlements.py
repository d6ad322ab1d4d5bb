"""``geo.names.match_settlements``: a village or city name found among its county's settlements."""

from __future__ import annotations

import pandas as pd

from geo.names import match_each, match_settlements

SETTLEMENTS = pd.DataFrame(
    {
        "settlement_code": ["0001000001", "0001000002", "0001000003", "0002000001", "0002000002"],
        "name_fa": ["کمیجان", "ده‌نو", "ده نو", "کمیجان", "خمین"],
        "county_code": ["0001", "0001", "0001", "0002", "0002"],
    }
)


def test_a_name_is_found_in_its_own_county_only():
    queries = pd.DataFrame(
        {
            "name": ["كميجان", "کمیجان", "خمین", "خمین", "ناکجا", "", None],
            "county_code": ["0001", "0002", "0002", "0001", "0001", "0001", "0002"],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    got = match_settlements(queries, SETTLEMENTS)
    assert list(got.index) == [10, 11, 12, 13, 14, 15, 16]
    assert list(got["status"]) == [
        "matched",
        "matched",
        "matched",
        "unmatched",
        "unmatched",
        "no_name",
        "no_name",
    ]
    assert list(got["settlement_code"][:3]) == ["0001000001", "0002000001", "0002000002"]
    assert got["settlement_code"][13:].isna().all()


def test_an_ambiguous_name_lists_its_candidates_and_is_never_guessed():
    # «ده‌نو» (with ZWNJ) and «ده نو» have one key: two villages of county 0001 share it.
    got = match_settlements(pd.DataFrame({"name": ["ده نو"], "county_code": ["0001"]}), SETTLEMENTS)
    assert got["status"].iloc[0] == "ambiguous" and pd.isna(got["settlement_code"].iloc[0])
    assert sorted(c for c, _ in got["candidates"].iloc[0]) == ["0001000002", "0001000003"]


def test_two_rows_naming_one_village_both_match():
    queries = pd.DataFrame({"name": ["کمیجان", "کمیجان"], "county_code": ["0001", "0001"]})
    assert list(match_settlements(queries, SETTLEMENTS)["status"]) == ["matched", "matched"]


def test_a_county_named_in_many_rows_is_not_ambiguous():
    counties = pd.Series(["اراک", "خمین"], index=["0001", "0002"])
    names = pd.Series(["اراک", "شهرستان اراک", "خمین", "اراك", "قم"])
    got = match_each(names, counties)
    assert list(got["right"][:4]) == ["0001", "0001", "0002", "0001"]
    assert got["status"].iloc[4] == "unmatched"
