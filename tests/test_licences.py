"""Licence status at a stated date, the as-of date's sources, and flags at their thresholds."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

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


def test_on_a_fixed_day_a_decision_recorded_after_it_is_shown_as_decided():
    r = registry(
        [
            ("active", "2026-12-01", "2031-12-01"),  # approved after the fixed day
            ("suspended", "2026-12-01", "2031-12-01"),  # decided after it too
            ("pending", "2026-12-01", "2031-12-01"),  # recorded pending: stays pending
            ("active", "2020-01-01", "2025-01-01"),  # expired before the day, either way
        ]
    )
    day = dt.date(2025, 3, 21)
    assert status_at(r, day, fixed=True).tolist() == ["active", "suspended", "pending", "expired"]
    # A live day (today's) reads a licence issued after it as not yet issued.
    assert status_at(r, day).tolist() == ["pending", "pending", "pending", "expired"]


def test_a_licence_approved_today_counts_on_the_registry_fixed_day_and_a_live_registry_reads_today(
    small_layers,
):
    from api.routers.applications import licence_row
    from services.loading import analysis_from_layers

    ngos = small_layers["ngos"]
    first = ngos.iloc[0]
    application = {
        "applicant": "مرکز تازه",
        "service_type": first["service_type"],
        "capacity": 37,
        "county_code": first["county_code"],
        "province_code": first["province_code"],
        "synthetic": True,
        "lon": first.geometry.x,
        "lat": first.geometry.y,
    }
    approved = licence_row(application, "LIC-77", dt.date.today()).to_crs(ngos.crs)
    layers = {**small_layers, "ngos": pd.concat([ngos, approved], ignore_index=True)}
    norms = world.demo_norms()
    # The small world's registry records its own day (2025-03-21): a fixed day.
    fixed = analysis_from_layers(layers, norms)
    assert fixed.as_of == dt.date(2025, 3, 21) and fixed.as_of_fixed
    assert "LIC-77" in set(fixed.ngos["licence_no"])  # active, not "pending"
    sat = fixed.saturation.loc[(first["county_code"], first["service_type"])]
    before = analysis_from_layers(small_layers, norms).saturation.loc[
        (first["county_code"], first["service_type"])
    ]
    assert sat["capacity"] == before["capacity"] + 37
    # A live registry (no recorded day) is read today: the approval is active as well.
    live = {**layers, "layer_info": layers["layer_info"].drop(columns="as_of")}
    today = analysis_from_layers(live, norms)
    assert today.as_of == dt.date.today() and not today.as_of_fixed
    assert "LIC-77" in set(today.ngos["licence_no"])


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_fixed_day_is_said_on_screen_and_a_live_one_is_not(lang):
    from maps.pages import build_page
    from tests.test_pages import context

    day = dt.date(2025, 3, 21)
    fixed = build_page("national", lang, replace(context(), as_of=day, as_of_source="registry"))
    live = build_page("national", lang, replace(context(), as_of=day, as_of_source="today"))
    words = (
        "ارقام به تاریخ ۱ فروردین ۱۴۰۴، ثابت"
        if lang == "fa"
        else "Figures as of 1 Farvardin 1404 (2025-03-21), fixed"
    )
    assert words in fixed and words not in live
    plain = (
        "وضعیت مجوزها به تاریخ ۱ فروردین ۱۴۰۴" if lang == "fa" else "Licence statuses as of 1 Farvardin 1404"
    )
    assert plain in live
