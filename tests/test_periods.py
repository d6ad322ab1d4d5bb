"""Jalali periods (``geo.periods``): identifiers, Gregorian boundaries on leap and common years,
Tehran's day of a UTC moment, series and their refusals.

The expected days are worked out here from the calendar's rule alone (months 1–6 have 31 days,
7–11 have 30, Esfand 29 or 30) and the first day of three years (Nowruz: 1402 on 2023-03-21,
1403 on 2024-03-20, 1404 on 2025-03-21), not from ``jdatetime``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geo.errors import BadParameter, BadPeriod
from geo.periods import (
    MAX_PERIODS,
    Period,
    parse_period,
    parse_periods,
    period_of,
    period_range,
    previous,
    tehran_day,
    year_before,
)

NOWRUZ = {1402: dt.date(2023, 3, 21), 1403: dt.date(2024, 3, 20), 1404: dt.date(2025, 3, 21)}
ESFAND = {1402: 29, 1403: 30}  # 1403 is a leap year


def month_lengths(year: int) -> list[int]:
    return [31] * 6 + [30] * 5 + [ESFAND[year]]


def month_starts(year: int) -> list[dt.date]:
    """The first day of each month of ``year``, by adding up the month lengths from Nowruz."""
    out, day = [], NOWRUZ[year]
    for n in month_lengths(year):
        out.append(day)
        day += dt.timedelta(days=n)
    assert day == NOWRUZ[year + 1]  # the lengths add up to the next Nowruz
    return out


@pytest.mark.parametrize("year", [1402, 1403])
def test_every_month_and_quarter_starts_and_ends_where_the_calendar_says(year):
    starts = month_starts(year)
    for m in range(1, 13):
        p = Period("month", year, m)
        assert p.start == starts[m - 1], p
        assert p.end == starts[m - 1] + dt.timedelta(days=month_lengths(year)[m - 1] - 1), p
        assert p.days == month_lengths(year)[m - 1]
    for q in range(1, 5):
        p = Period("quarter", year, q)
        first, last = 3 * q - 2, 3 * q
        assert p.start == starts[first - 1]
        assert p.end == starts[last - 1] + dt.timedelta(days=month_lengths(year)[last - 1] - 1)
        # the day before a quarter is the previous quarter's; its first and last day are its own
        assert period_of(p.start, "quarter") == p == period_of(p.end, "quarter")
        assert period_of(p.start - dt.timedelta(days=1), "quarter") == previous(p)
        assert period_of(p.end + dt.timedelta(days=1), "quarter") == p.shifted(1)
    whole = Period("year", year)
    assert (whole.start, whole.end) == (NOWRUZ[year], NOWRUZ[year + 1] - dt.timedelta(days=1))
    assert whole.days == (365 if year == 1402 else 366)


def test_esfand_has_thirty_days_in_1403_and_twenty_nine_in_1402():
    leap, common = parse_period("1403-12"), parse_period("1402-12")
    assert (leap.start, leap.end, leap.days) == (dt.date(2025, 2, 19), dt.date(2025, 3, 20), 30)
    assert (common.start, common.end, common.days) == (dt.date(2024, 2, 20), dt.date(2024, 3, 19), 29)
    # 1403-12-30 is 2025-03-20: still 1403; the day after is Nowruz 1404
    assert period_of(dt.date(2025, 3, 20), "month").id == "1403-12"
    assert period_of(dt.date(2025, 3, 21), "month").id == "1404-01"
    assert period_of(dt.date(2025, 3, 20), "quarter").id == "1403Q4"
    assert period_of(dt.date(2025, 3, 20), "year").id == "1403"
    # 1402 ends on the 29th of Esfand, 2024-03-19; 2024-03-20 is already 1403
    assert period_of(dt.date(2024, 3, 19), "month").id == "1402-12"
    assert period_of(dt.date(2024, 3, 20), "month").id == "1403-01"
    # Q4 of 1403 is 90 days (30 + 30 + 30), Q4 of 1402 is 89
    assert parse_period("1403Q4").days == 90
    assert parse_period("1402Q4").days == 89


def test_a_utc_moment_falls_in_the_jalali_day_of_tehran():
    # Tehran is 3 h 30 min ahead of UTC (no summer time since 2022)
    assert period_of("2025-03-20T20:29:59Z", "year").id == "1403"
    assert period_of("2025-03-20T20:30:00Z", "year").id == "1404"
    assert period_of(pd.Timestamp("2025-03-20T20:30:00Z"), "month").id == "1404-01"
    assert period_of(dt.datetime(2025, 3, 20, 20, 29, tzinfo=dt.UTC), "month").id == "1403-12"
    assert period_of("2025-03-20", "year").id == "1403"  # a day is a day, not a moment
    days = tehran_day(pd.Series(["2025-03-20T20:29:59Z", "2025-03-20T20:30:00Z", None]))
    assert days.iloc[0] == pd.Timestamp("2025-03-20") and days.iloc[1] == pd.Timestamp("2025-03-21")
    assert pd.isna(days.iloc[2])


def test_identifiers_and_labels():
    q = parse_period("1403Q2")
    assert (q.kind, q.year, q.number) == ("quarter", 1403, 2)
    assert q.label_fa == "فصل ۲ ۱۴۰۳" and q.label_en == "1403 Q2"
    m = parse_period("1403-07")
    assert m.label_fa == "مهر ۱۴۰۳" and m.label_en == "Mehr 1403"
    assert parse_period("1403-12").label_fa == "اسفند ۱۴۰۳"
    assert parse_period("1403").label_fa == "۱۴۰۳"
    assert parse_period(" 1403q2 ") == q  # lower-case q and spaces
    assert parse_period("۱۴۰۳-۰۷") == m  # Persian digits, as typed on a Persian keyboard


@pytest.mark.parametrize("kind", ["year", "quarter", "month"])
def test_round_trips_and_neighbours(kind):
    p = period_of(dt.date(2016, 1, 1), kind)
    for _ in range(60 if kind == "month" else 20):
        assert parse_period(p.id) == p
        assert period_of(p.start, kind) == p == period_of(p.end, kind)
        after = p.shifted(1)
        assert after.start == p.end + dt.timedelta(days=1)
        assert previous(after) == p
        if kind == "month":
            assert p.id == f"{p.year:04d}-{p.number:02d}"
        p = after


def test_previous_and_a_year_before():
    # the first year that may be asked has a year before it (a comparison needs it)
    assert (
        year_before(parse_period("1301Q1")).id == "1300Q1"
        and previous(parse_period("1301-01")).id == "1300-12"
    )
    assert previous(parse_period("1403Q1")).id == "1402Q4"
    assert previous(parse_period("1403-01")).id == "1402-12"
    assert previous(parse_period("1403")).id == "1402"
    assert year_before(parse_period("1403Q2")).id == "1402Q2"
    assert year_before(parse_period("1403-12")).id == "1402-12"


def test_series():
    assert [p.id for p in parse_periods("1402..1403")] == ["1402", "1403"]
    assert [p.id for p in parse_periods("1402Q3..1403Q2")] == ["1402Q3", "1402Q4", "1403Q1", "1403Q2"]
    assert [p.id for p in parse_periods("1402-11..1403-02")] == ["1402-11", "1402-12", "1403-01", "1403-02"]
    assert [p.id for p in parse_periods("1403Q3,1403Q1")] == ["1403Q1", "1403Q3"]
    assert [p.id for p in parse_periods("1403")] == ["1403"]
    assert len(period_range(parse_period("1400-01"), parse_period("1403-04"))) == MAX_PERIODS


@pytest.mark.parametrize(
    ("text", "english", "persian"),
    [
        ("1403Q5", "is not a Jalali period", "دورهٔ خورشیدی نیست"),
        ("1403-13", "a Jalali month is 01 to 12", "ماه خورشیدی"),
        ("1403-00", "a Jalali month is 01 to 12", "ماه خورشیدی"),
        ("2025-03-20", "is not a Jalali period", "دورهٔ خورشیدی نیست"),
        ("03", "is not a Jalali period", "دورهٔ خورشیدی نیست"),
        ("1300", "between 1301 and 1499", "میان"),
        ("1500Q1", "between 1301 and 1499", "میان"),
        ("1403..1402", "ends before it starts", "پیش از آغازش"),
        ("1402..1403Q1", "of one kind", "از یک گونه"),
        ("1403Q1,1403", "not of one kind", "از یک گونه"),
        ("1390..1440", "has 51 periods; ask for at most 40", "۵۱ دوره"),
    ],
)
def test_refusals_say_what_to_write_in_both_languages(text, english, persian):
    with pytest.raises(BadPeriod) as caught:
        parse_periods(text)
    err = caught.value
    assert english in err.user_message
    assert persian in err.message_fa
    assert err.code == "bad-period" and isinstance(err, BadParameter)  # a 400 (api.errors)


def test_a_period_that_does_not_exist_cannot_be_made():
    with pytest.raises(ValueError):
        Period("quarter", 1403, 5)
    with pytest.raises(ValueError):
        Period("week", 1403, 1)
