"""Jalali periods: years, quarters (فصل) and months, as the organisation reports by them.

A period is named as DHIS2 names its periods, but in the Jalali calendar: ``1403`` (a year),
``1403Q2`` (its second quarter: Tir to Shahrivar) and ``1403-07`` (Mehr, written as
``geo.applications.jalali_month`` writes months). Each period knows its first and last Gregorian
day (the last included), so figures stored with Gregorian dates are counted by comparing dates.

The calendar is ``jdatetime``'s: months 1–6 have 31 days, 7–11 have 30, and Esfand 29, or 30 in
a leap year (1403 is one: 1403-12-30 is 2025-03-20). A UTC timestamp belongs to the Jalali day it
falls on in Tehran (``tehran_day``).

Every series is bounded (``MAX_PERIODS``) so that a request's cost is bounded too. A text that
cannot be read is refused with a ``BadPeriod`` saying, in Persian and English, what to write.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import jdatetime
import pandas as pd

from geo.errors import BadPeriod

KINDS = ("year", "quarter", "month")
#: The most periods one series may hold (40 quarters: ten years).
MAX_PERIODS = 40
#: The years a period may be asked for (jdatetime's calendar is exact well beyond them). A period
#: of the year before the first exists too: the previous period or the year before of one asked.
FIRST_YEAR, LAST_YEAR = 1301, 1499
TEHRAN = "Asia/Tehran"

MONTHS_FA = tuple(jdatetime.date.j_months_fa)
MONTHS_EN: tuple[str, ...] = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar")
MONTHS_EN += ("Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand")
KIND_FA = {"year": "سال", "quarter": "فصل", "month": "ماه"}

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Persian and Arabic-Indic digits are read as digits: a Persian keyboard types them.
_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_FORMS = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})[Qq]([1-4])$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
}
_HOW_EN = "write a year as 1403, a quarter as 1403Q2 or a month as 1403-07"
_HOW_FA = "سال را مانند ۱۴۰۳، فصل را مانند ۱۴۰۳Q2 و ماه را مانند ۱۴۰۳-07 بنویسید"


def _fa(number: int) -> str:
    return str(number).translate(_FA_DIGITS)


@dataclass(frozen=True)
class Period:
    """One Jalali year, quarter or month: ``kind``, Jalali ``year`` and ``number`` in the year
    (1 for a year, 1–4 for a quarter, 1–12 for a month)."""

    kind: str
    year: int
    number: int = 1

    def __post_init__(self) -> None:
        top = {"year": 1, "quarter": 4, "month": 12}.get(self.kind)
        if top is None:
            raise ValueError(f"unknown kind of period {self.kind!r}; one of {', '.join(KINDS)}")
        if not 1 <= self.number <= top or not FIRST_YEAR - 1 <= self.year <= LAST_YEAR:
            raise ValueError(f"no {self.kind} {self.number} in {self.year}")

    # ---- names --------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """``1403``, ``1403Q2`` or ``1403-07``."""
        if self.kind == "year":
            return f"{self.year:04d}"
        if self.kind == "quarter":
            return f"{self.year:04d}Q{self.number}"
        return f"{self.year:04d}-{self.number:02d}"

    def __str__(self) -> str:
        return self.id

    @property
    def label_fa(self) -> str:
        """«۱۴۰۳»، «فصل ۲ ۱۴۰۳» or «مهر ۱۴۰۳»."""
        if self.kind == "year":
            return _fa(self.year)
        if self.kind == "quarter":
            return f"فصل {_fa(self.number)} {_fa(self.year)}"
        return f"{MONTHS_FA[self.number - 1]} {_fa(self.year)}"

    @property
    def label_en(self) -> str:
        """ "1403", "1403 Q2" or "Mehr 1403"."""
        if self.kind == "year":
            return str(self.year)
        if self.kind == "quarter":
            return f"{self.year} Q{self.number}"
        return f"{MONTHS_EN[self.number - 1]} {self.year}"

    # ---- days ---------------------------------------------------------------------------------

    @property
    def months(self) -> tuple[int, int]:
        """The first and last Jalali month of the period."""
        if self.kind == "year":
            return 1, 12
        if self.kind == "quarter":
            return 3 * self.number - 2, 3 * self.number
        return self.number, self.number

    @property
    def start(self) -> dt.date:
        """The period's first day (Gregorian)."""
        return jdatetime.date(self.year, self.months[0], 1).togregorian()

    @property
    def end(self) -> dt.date:
        """The period's last day (Gregorian), included: the day before the next month's first."""
        last = self.months[1]
        after = jdatetime.date(self.year + 1, 1, 1) if last == 12 else jdatetime.date(self.year, last + 1, 1)
        return after.togregorian() - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    # ---- order --------------------------------------------------------------------------------

    @property
    def ordinal(self) -> int:
        """The period's place among the periods of its kind: consecutive periods differ by one."""
        per_year = {"year": 1, "quarter": 4, "month": 12}[self.kind]
        return self.year * per_year + self.number - 1

    @classmethod
    def from_ordinal(cls, kind: str, ordinal: int) -> Period:
        per_year = {"year": 1, "quarter": 4, "month": 12}[kind]
        return cls(kind, ordinal // per_year, ordinal % per_year + 1)

    def shifted(self, n: int) -> Period:
        """The period ``n`` periods of the same kind later (earlier if ``n`` < 0)."""
        return Period.from_ordinal(self.kind, self.ordinal + n)


def previous(period: Period) -> Period:
    """The period just before ``period``, of the same kind."""
    return period.shifted(-1)


def year_before(period: Period) -> Period:
    """The same period a year earlier (1403Q2 → 1402Q2)."""
    return Period(period.kind, period.year - 1, period.number)


# ---- reading ------------------------------------------------------------------------------------


def parse_period(text: str) -> Period:
    """A period from its identifier: ``1403``, ``1403Q2`` or ``1403-07`` (Persian digits too).

    Raises ``BadPeriod`` (a 400 with a Persian and English message) for anything else.
    """
    raw = str(text).strip().translate(_TO_ASCII)
    for kind, form in _FORMS.items():
        m = form.match(raw)
        if m is None:
            continue
        year = int(m.group(1))
        number = int(m.group(2)) if kind != "year" else 1
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise BadPeriod(
                f"period {text!r}: the Jalali year must be between {FIRST_YEAR} and {LAST_YEAR}",
                f"دورهٔ «{text}»: سال خورشیدی باید میان {_fa(FIRST_YEAR)} و {_fa(LAST_YEAR)} باشد",
            )
        if kind == "month" and not 1 <= number <= 12:
            raise BadPeriod(
                f"period {text!r}: a Jalali month is 01 to 12",
                f"دورهٔ «{text}»: ماه خورشیدی از ۰۱ تا ۱۲ است",
            )
        return Period(kind, year, number)
    raise BadPeriod(
        f"period {text!r} is not a Jalali period: {_HOW_EN}",
        f"دورهٔ «{text}» دورهٔ خورشیدی نیست: {_HOW_FA}",
    )


def period_range(first: Period, last: Period, *, limit: int = MAX_PERIODS) -> list[Period]:
    """Every period from ``first`` to ``last``, both included: the same kind, at most ``limit``."""
    if first.kind != last.kind:
        raise BadPeriod(
            f"a series of periods is of one kind: {first.id} is a {first.kind}, {last.id} a {last.kind}",
            f"دوره‌های یک رشته از یک گونه‌اند: {first.id} {KIND_FA[first.kind]} است و {last.id} "
            f"{KIND_FA[last.kind]}",
        )
    n = last.ordinal - first.ordinal + 1
    if n < 1:
        raise BadPeriod(
            f"the series {first.id}..{last.id} ends before it starts",
            f"رشتهٔ {first.id}..{last.id} پیش از آغازش پایان می‌یابد",
        )
    if n > limit:
        raise BadPeriod(
            f"the series {first.id}..{last.id} has {n} periods; ask for at most {limit} "
            "(a longer span in years or quarters)",
            f"رشتهٔ {first.id}..{last.id} {_fa(n)} دوره دارد؛ دست‌بالا {_fa(limit)} دوره بخواهید "
            "(برای بازه‌ای درازتر، سال یا فصل)",
        )
    return [first.shifted(k) for k in range(n)]


def parse_periods(text: str, *, limit: int = MAX_PERIODS) -> list[Period]:
    """A series: ``1402..1403`` (a range), ``1403Q1,1403Q3`` (a list) or one period."""
    raw = str(text).strip()
    if ".." in raw:
        first, _, last = raw.partition("..")
        return period_range(parse_period(first), parse_period(last), limit=limit)
    periods = [parse_period(part) for part in raw.split(",")]
    if len({p.kind for p in periods}) > 1:
        raise BadPeriod(
            f"the periods {raw!r} are not of one kind: ask for years, quarters or months",
            f"دوره‌های «{raw}» از یک گونه نیستند: سال‌ها، فصل‌ها یا ماه‌ها را بخواهید",
        )
    if len(periods) > limit:
        raise BadPeriod(
            f"{len(periods)} periods asked; ask for at most {limit}",
            f"{_fa(len(periods))} دوره خواسته شد؛ دست‌بالا {_fa(limit)} دوره بخواهید",
        )
    return sorted(set(periods), key=lambda p: p.ordinal)


# ---- days and timestamps ----------------------------------------------------------------------


def tehran_day(when: pd.Series) -> pd.Series:
    """The day in Tehran (naive midnight) of each UTC timestamp; missing stays missing."""
    local = pd.to_datetime(when, utc=True, format="ISO8601").dt.tz_convert(TEHRAN)
    return local.dt.tz_localize(None).dt.normalize()


def _day(when: dt.date | dt.datetime | pd.Timestamp | str) -> dt.date:
    """A day as a date: a date as it is; a timestamp by its day in Tehran (naive: UTC)."""
    if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
        return when
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is None:
        if isinstance(when, str) and len(when) == 10:
            return stamp.date()  # "2025-03-20": a day, not a moment
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(TEHRAN).date()


def period_of(when: dt.date | dt.datetime | pd.Timestamp | str, kind: str) -> Period:
    """The period of ``kind`` a day falls in (a timestamp by its day in Tehran)."""
    if kind not in KINDS:
        raise BadPeriod(
            f"unknown kind of period {kind!r}; one of {', '.join(KINDS)}",
            f"گونهٔ دورهٔ «{kind}» شناخته نیست؛ یکی از سال، فصل یا ماه",
        )
    j = jdatetime.date.fromgregorian(date=_day(when))
    number = {"year": 1, "quarter": (j.month - 1) // 3 + 1, "month": j.month}[kind]
    return Period(kind, j.year, number)


def jalali_year_month(day: dt.date) -> tuple[int, int]:
    """The Jalali year and month of a (Gregorian) day."""
    j = jdatetime.date.fromgregorian(date=day)
    return j.year, j.month


__all__ = [
    "KINDS",
    "MAX_PERIODS",
    "Period",
    "parse_period",
    "parse_periods",
    "period_of",
    "period_range",
    "previous",
    "tehran_day",
    "year_before",
]
