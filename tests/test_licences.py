"""Licence status at a stated date, the as-of date's sources, and flags at their thresholds."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geo.decisions import below_digits, flag_reasons
from geo.licences import status_at
from geo.recompute import analyse
from services.loading import ngos_as_of, registry_as_of, resolve_as_of
from tests import analysis_world as world


def registry(rows):
    return pd.DataFrame(rows, columns=["status", "issued_on", "expires_on"]).assign(
        issued_on=lambda f: pd.to_datetime(f["issued_on"]),
        expires_on=lambda f: pd.to_datetime(f["expires_on"]),
    )


def test_status_follows_the_dates_at_the_as_of_day():
    r = registry(
        [
            ("active", "2020-01-01", "2025-01-01"),  # expired before the day
            ("active", "2020-01-01", "2025-06-01"),  # the day itself is the expiry: expired
            ("expired", "2021-01-01", "2026-01-01"),  # recorded later as expired, running on the day
            ("active", "2025-07-01", "2030-07-01"),  # issued after the day: not yet licensed
            ("suspended", "2022-01-01", "2027-01-01"),  # a suspension stays
            ("suspended", "2015-01-01", "2020-01-01"),  # ... until the licence has expired
            ("pending", None, None),  # no dates: as recorded
            ("active", "2025-06-01", "2030-06-01"),  # issued on the day: active
        ]
    )
    got = status_at(r, dt.date(2025, 6, 1)).tolist()
    assert got == ["expired", "expired", "active", "pending", "suspended", "expired", "pending", "active"]
    # A day later nothing issued that day changes; a day before, the first-of-June expiry runs.
    assert status_at(r, dt.date(2025, 5, 31)).tolist()[1] == "active"


def test_as_of_comes_from_the_setting_then_the_registry_then_today():
    info = pd.DataFrame({"layer": ["ngos", "settlements"], "as_of": pd.to_datetime(["2025-03-21", None])})
    assert registry_as_of(info) == dt.date(2025, 3, 21)
    assert resolve_as_of(dt.date(2026, 1, 1), info) == (dt.date(2026, 1, 1), "setting")
    assert resolve_as_of(None, info) == (dt.date(2025, 3, 21), "registry")
    assert resolve_as_of(None, info.drop(columns="as_of")) == (dt.date.today(), "today")
    assert resolve_as_of(None, None) == (dt.date.today(), "today")


@pytest.mark.realdata
def test_the_demo_registry_read_at_its_own_date_is_unchanged_and_later_it_expires(demo):
    ngos = demo["layers"]["ngos"]
    day = registry_as_of(demo["layers"]["layer_info"])
    assert day == dt.date(2025, 3, 21)
    same = ngos_as_of(ngos, day)
    assert (same["status"] == ngos["status"]).all()
    later = dt.date(2026, 11, 30)
    after = ngos_as_of(ngos, later)
    active = after[after["status"] == "active"]
    assert len(active) < (ngos["status"] == "active").sum()
    assert (active["expires_on"] > pd.Timestamp(later)).all()
    assert (active["issued_on"] <= pd.Timestamp(later)).all()


@pytest.mark.parametrize(
    ("value", "limit", "digits"), [(0.4967, 0.5, 3), (0.12, 0.5, 2), (0.49996, 0.5, 4), (0.499, 0.5, 3)]
)
def test_a_share_below_its_minimum_is_written_below_it(value, limit, digits):
    d = below_digits(value, limit)
    assert d == digits
    assert d == 4 or value >= limit or round(value, d) < limit


def test_a_share_just_under_the_minimum_reads_as_under_it():
    flags = pd.DataFrame(
        {
            "service_type": ["rehabilitation"],
            "too_far": [False],
            "low_access": [True],
            "nearest_km": [12.0],
            "max_distance_km": [30.0],
            "access_share": [0.4967],
            "min_access_share": [0.5],
            "in_target_area": [False],
        }
    )
    words = flag_reasons(flags).iloc[0]
    assert "access 0.497 of norm (minimum 0.50)" in words["reason_en"]
    assert "۰٫۴۹۷" in words["reason_fa"]


def test_places_with_almost_no_target_population_are_not_flagged():
    # The hand world's village 0 is flagged for rehabilitation with 1,500 target persons in its
    # county; with a target population below the documented minimum it is not.
    s = world.settlements([(49.1, 34.5), (49.1, 34.6), (49.5, 34.5)], [400, 100, 1000])
    n = world.ngos([(49.5, 34.51)], ["rehabilitation"], [20], ["S0002"])
    plenty = analyse(
        s, n, world.needs({"0001": {"rehabilitation": 1500}}), world.counties(), None, world.demo_norms()
    )
    assert "S0000" in set(
        plenty.flags.loc[plenty.flags["service_type"] == "rehabilitation", "settlement_code"]
    )
    few = analyse(
        s,
        n,
        world.needs({"0001": {"rehabilitation": 4}}),
        world.counties(),
        None,
        world.demo_norms(min_target_population=5),
    )
    target = few.demand.loc[few.settlements["settlement_code"] == "S0000", "rehabilitation"].iloc[0]
    assert target < few.norms.min_target_population
    assert "S0000" not in set(few.flags.loc[few.flags["service_type"] == "rehabilitation", "settlement_code"])
    # With no minimum in the norms it is flagged again.
    none = analyse(
        s,
        n,
        world.needs({"0001": {"rehabilitation": 4}}),
        world.counties(),
        None,
        world.demo_norms(min_target_population=0),
    )
    assert "S0000" in set(none.flags.loc[none.flags["service_type"] == "rehabilitation", "settlement_code"])
