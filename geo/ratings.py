"""Evaluations of centres: each centre's grade on a day, its effective capacity, and rankings.

An evaluation is a row of the ``ngo_evaluations`` layer: a centre (``licence_no``), the day it
was evaluated, its grade on the norms' scale (``geo.norms.RatingScale``), who evaluated it and a
note. Evaluations are kept with their history; a centre's *current* grade on a day is that of its
latest evaluation on or before the day (a later one is not known yet); a centre with none is
*unrated* and counts as the scale's ``unrated_weight``.

**Effective capacity** = licensed capacity × the grade's weight, rounded to the nearest whole
place (a half place up: 25 × 0.9 = 22.5 counts 23). It is computed in exact integer arithmetic on
the weight as written (0.7 is seven tenths, not its nearest binary fraction), so that the split
adds back exactly: for every centre, group and grade

    effective = licensed − deduction for ratings

where the deduction of a centre is ``licensed − effective`` (whole places). ``capacity_split``
reports the parts per grade; ``rating_rankings`` ranks the provinces by the share of their places
at each grade and their mean weight (effective ÷ licensed places).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd

from geo.decisions import fa_number
from geo.norms import RatingScale

#: the columns ``with_ratings`` adds to a registry
RATING_COLUMNS = ("grade", "evaluated_on", "rating_weight", "licensed_capacity", "effective_capacity")
#: the label of centres with no evaluation on or before the day (in splits and rankings)
UNRATED = "unrated"


def current_grades(
    licence_nos: pd.Series, evaluations: pd.DataFrame | None, as_of: dt.date | None
) -> pd.DataFrame:
    """Each centre's grade on ``as_of``: that of its latest evaluation on or before the day.

    Parameters
    ----------
    licence_nos
        The centres' licence numbers.
    evaluations
        Evaluations with ``licence_no``, ``evaluated_on`` and ``grade`` (None or empty: none).
    as_of
        The day (None: every evaluation counts, whatever its date).

    Returns
    -------
    pandas.DataFrame
        ``grade`` (None where unrated) and ``evaluated_on`` (NaT where unrated), aligned with
        ``licence_nos``.
    """
    out = pd.DataFrame(
        {"grade": pd.Series(None, index=licence_nos.index, dtype="object"), "evaluated_on": pd.NaT},
        index=licence_nos.index,
    )
    out["evaluated_on"] = pd.to_datetime(out["evaluated_on"]).astype("datetime64[ms]")
    if evaluations is None or not len(evaluations):
        return out
    known = evaluations[["licence_no", "evaluated_on", "grade"]].copy()
    known["evaluated_on"] = pd.to_datetime(known["evaluated_on"]).astype("datetime64[ms]")
    if as_of is not None:
        known = known[known["evaluated_on"] <= pd.Timestamp(as_of)]
    latest = known.sort_values(["licence_no", "evaluated_on"]).drop_duplicates("licence_no", keep="last")
    latest = latest.set_index("licence_no")
    hit = licence_nos.isin(latest.index)
    codes = licence_nos[hit]
    out.loc[hit, "grade"] = latest.loc[codes, "grade"].to_numpy()
    out.loc[hit, "evaluated_on"] = latest.loc[codes, "evaluated_on"].to_numpy()
    out["grade"] = out["grade"].astype("object").where(out["grade"].notna(), None)
    return out


def effective_capacity(capacity: pd.Series, grades: pd.Series, scale: RatingScale) -> pd.Series:
    """Licensed ``capacity`` × each grade's weight, to the nearest whole place (halves up).

    ``grades`` is aligned with ``capacity`` (None: unrated, weighed as ``scale.unrated_weight``).
    Exact: the weight is taken as the decimal it is written as, and the product rounded in
    integers. Returns int64, aligned with ``capacity``.
    """
    licensed = capacity.to_numpy(dtype="int64")
    # one weight per distinct grade, not per centre
    codes, found = pd.factorize(np.asarray(grades, dtype=object))  # -1: none
    weights = [scale.weight(g if isinstance(g, str) else None) for g in found] + [scale.weight(None)]
    weights = np.asarray(weights, dtype="float64")[codes]
    out = np.empty(len(licensed), dtype="int64")
    for w in np.unique(weights):
        exact = Fraction(str(float(w))).limit_denominator(10**6)
        sel = weights == w
        # round half up of licensed × n / d, in integers: floor((2 × licensed × n + d) / 2d)
        out[sel] = (2 * licensed[sel] * exact.numerator + exact.denominator) // (2 * exact.denominator)
    return pd.Series(out, index=capacity.index, dtype="int64")


def with_ratings(
    ngos: pd.DataFrame, evaluations: pd.DataFrame | None, scale: RatingScale, as_of: dt.date | None
) -> pd.DataFrame:
    """``ngos`` with each centre's rating on ``as_of`` (``RATING_COLUMNS``): ``grade`` (None:
    unrated), ``evaluated_on``, ``rating_weight``, ``licensed_capacity`` (its ``capacity``) and
    ``effective_capacity``. ``capacity`` itself is left as licensed (see ``weigh_capacity``)."""
    out = ngos.copy()
    grades = current_grades(ngos["licence_no"], evaluations, as_of)
    out["grade"] = grades["grade"]
    out["evaluated_on"] = grades["evaluated_on"]
    codes, found = pd.factorize(grades["grade"])  # one weight per distinct grade (-1: unrated)
    out["rating_weight"] = np.array([scale.weight(g) for g in found] + [scale.weight(None)])[codes]
    out["licensed_capacity"] = ngos["capacity"].astype("int64")
    out["effective_capacity"] = effective_capacity(ngos["capacity"], grades["grade"], scale)
    return out


def weigh_capacity(rated: pd.DataFrame) -> pd.DataFrame:
    """A rated registry (``with_ratings``) whose ``capacity`` is the effective capacity: what every
    measure counts when the norms weight capacity by rating. ``licensed_capacity`` keeps the
    licensed figure."""
    out = rated.copy()
    out["capacity"] = rated["effective_capacity"].astype(rated["capacity"].dtype)
    return out


def capacity_split(
    rated: pd.DataFrame, scale: RatingScale, by: str | list[str] | None = None
) -> pd.DataFrame:
    """The effective capacity split into its parts, per grade (and per ``by``).

    One row per group and grade present (best first, then ``unrated``), with ``centres``,
    ``licensed``, ``weight``, ``deduction`` (places not counted for the grade) and ``effective``;
    ``licensed − deduction = effective`` holds in every row and in every sum of rows.
    """
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    frame = rated[[*keys, "licence_no", "grade", "licensed_capacity", "effective_capacity"]].copy()
    frame["grade"] = frame["grade"].where(frame["grade"].notna(), UNRATED)
    order = {g: i for i, g in enumerate([*scale.codes, UNRATED])}
    out = (
        frame.groupby([*keys, "grade"], sort=False)
        .agg(
            centres=("licence_no", "size"),
            licensed=("licensed_capacity", "sum"),
            effective=("effective_capacity", "sum"),
        )
        .reset_index()
    )
    out["deduction"] = out["licensed"] - out["effective"]
    out["weight"] = [scale.weight(None if g == UNRATED else g) for g in out["grade"]]
    out["_order"] = out["grade"].map(order)
    out = out.sort_values([*keys, "_order"], ignore_index=True).drop(columns="_order")
    columns = [*keys, "grade", "weight", "centres", "licensed", "deduction", "effective"]
    return out[columns].astype({c: "int64" for c in ("centres", "licensed", "deduction", "effective")})


def split_words(split: pd.DataFrame) -> tuple[str, str]:
    """A split (``capacity_split``, one group) in words, English and Persian: "capacity 380 =
    420 licensed − 40 for ratings (B −20, D −20)"."""
    licensed, deduction = int(split["licensed"].sum()), int(split["deduction"].sum())
    effective = int(split["effective"].sum())
    parts = [(str(g), int(d)) for g, d in zip(split["grade"], split["deduction"], strict=True) if d]
    en_parts = ", ".join(f"{g} −{d:,}" for g, d in parts)
    fa_parts = "، ".join(f"{'بی‌ارزیابی' if g == UNRATED else g} −{fa_number(d)}" for g, d in parts)
    en = f"capacity {effective:,} = {licensed:,} licensed − {deduction:,} for ratings"
    fa = f"ظرفیت {fa_number(effective)} = {fa_number(licensed)} ظرفیت مجوز − {fa_number(deduction)} بابت رتبه‌ها"
    if parts:
        en += f" ({en_parts})"
        fa += f" ({fa_parts})"
    return en, fa


def rating_rankings(rated: pd.DataFrame, scale: RatingScale, service_type: str | None = None) -> pd.DataFrame:
    """Provinces ranked by the ratings of their centres' places.

    Per province (of the centres of ``service_type``, or all): ``centres``, ``rated_centres``,
    ``places`` (licensed), ``places_<grade>`` and ``places_unrated`` (which add up to ``places``
    exactly), ``share_<grade>`` and ``share_unrated`` (of the places), ``effective`` places and
    ``mean_weight`` (effective ÷ licensed places: 1.0 when every place counts). Ranked by
    ``mean_weight`` (higher first), then the share of the best grade, then the province code;
    ``rank`` 1, 2, …
    """
    frame = rated if service_type is None else rated[rated["service_type"] == service_type]
    grade = frame["grade"].where(frame["grade"].notna(), UNRATED)
    grades = [*scale.codes, UNRATED]
    places = (
        pd.DataFrame(
            {"province_code": frame["province_code"], "grade": grade, "p": frame["licensed_capacity"]}
        )
        .pivot_table(index="province_code", columns="grade", values="p", aggfunc="sum", fill_value=0)
        .reindex(columns=grades, fill_value=0)
    )
    by = frame.groupby("province_code")
    out = pd.DataFrame(
        {
            "centres": by.size(),
            "rated_centres": by["grade"].count(),
            "places": by["licensed_capacity"].sum(),
            "effective": by["effective_capacity"].sum(),
        }
    )
    for g in grades:
        out[f"places_{g}"] = places[g].reindex(out.index, fill_value=0)
    for g in grades:
        out[f"share_{g}"] = np.where(out["places"] > 0, out[f"places_{g}"] / out["places"], np.nan)
    out["mean_weight"] = np.where(out["places"] > 0, out["effective"] / out["places"], np.nan)
    best = f"share_{scale.codes[0]}"
    out = out.reset_index().sort_values(
        ["mean_weight", best, "province_code"], ascending=[False, False, True], ignore_index=True
    )
    out["rank"] = np.arange(1, len(out) + 1)
    ints = ["centres", "rated_centres", "places", "effective", *(f"places_{g}" for g in grades)]
    return out.astype({c: "int64" for c in ints})


#: Why an evaluation row is refused (beyond the schema's own reasons: a malformed date is
#: ``bad_date``, the same centre and day twice in the file ``duplicate_key``).
EVALUATION_REASONS = {
    "unknown_centre": (
        "no centre with this licence number in the registry",
        "مرکزی با این شمارهٔ مجوز در فهرست نیست",
    ),
    "unknown_grade": ("not a grade of the norms' scale", "از رتبه‌های مقیاس هنجارها نیست"),
    "future_date": ("the evaluation's date is in the future", "تاریخ ارزیابی در آینده است"),
    "evaluation_exists": (
        "this centre's evaluation of that day is already recorded (history is not rewritten)",
        "ارزیابی این مرکز در این روز پیش‌تر ثبت شده است (سابقه بازنویسی نمی‌شود)",
    ),
}


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def normalise_grades(grades: pd.Series, scale: RatingScale) -> pd.Series:
    """Grades as written in a file, in the scale's spelling: "b " and "B" are grade B. A value
    that is no grade is kept as written (``evaluation_rejections`` refuses it)."""
    by_upper = {code.upper(): code for code in scale.codes}
    return grades.map(lambda v: by_upper.get((_text(v) or "").upper(), _text(v)))


def evaluation_rejections(
    rows: pd.DataFrame,
    ngos: pd.DataFrame | None,
    scale: RatingScale | None,
    *,
    today: dt.date,
    stored: pd.DataFrame | None = None,
    provinces: frozenset[str] | None = None,
) -> list[tuple[int, str, str, str, str]]:
    """What is wrong with evaluation rows, beyond their types: ``(row, field, value, reason,
    message)`` per problem, rows numbered from 1 in ``rows``' order.

    ``rows`` has ``licence_no`` and ``grade`` (normalised, ``normalise_grades``) and, where it
    could be read, ``evaluated_on`` (a date; NaT where malformed: the schema refuses that).
    A centre must be in ``ngos`` (and, with ``provinces``, in one of them), its grade on
    ``scale`` (None: not checked, as when a saved version is restored), its date not after
    ``today``, and its centre and day not in ``stored``.
    """
    known = {} if ngos is None else dict(zip(ngos["licence_no"], ngos["province_code"], strict=True))
    stored_keys = (
        set()
        if stored is None or not len(stored)
        else set(zip(stored["licence_no"], pd.to_datetime(stored["evaluated_on"]).dt.date, strict=True))
    )
    out: list[tuple[int, str, str, str, str]] = []
    dates = rows["evaluated_on"] if "evaluated_on" in rows.columns else pd.Series(pd.NaT, index=rows.index)
    for n, (licence, grade, day) in enumerate(
        zip(rows["licence_no"].map(_text), rows["grade"].map(_text), dates, strict=True), start=1
    ):
        if licence is not None and licence not in known:
            out.append(
                (n, "licence_no", licence, "unknown_centre", f"row {n}: no centre with licence {licence}")
            )
        elif licence is not None and provinces is not None and known[licence] not in provinces:
            out.append(
                (n, "licence_no", licence, "other_province",
                 f"row {n}: licence {licence} belongs to a centre outside your provinces")
            )  # fmt: skip
        if grade is not None and scale is not None and grade not in scale.grades:
            out.append(
                (n, "grade", grade, "unknown_grade",
                 f"row {n}: grade {grade!r} is not one of {', '.join(scale.codes)}")
            )  # fmt: skip
        if day is None or pd.isna(day):
            continue
        day = pd.Timestamp(day).date()
        if day > today:
            out.append(
                (
                    n,
                    "evaluated_on",
                    day.isoformat(),
                    "future_date",
                    f"row {n}: {day} is after today ({today})",
                )
            )
        elif (licence, day) in stored_keys:
            out.append(
                (n, "evaluated_on", day.isoformat(), "evaluation_exists",
                 f"row {n}: the evaluation of {licence} on {day} is already recorded")
            )  # fmt: skip
    return out


__all__ = [
    "EVALUATION_REASONS",
    "RATING_COLUMNS",
    "UNRATED",
    "capacity_split",
    "current_grades",
    "effective_capacity",
    "evaluation_rejections",
    "normalise_grades",
    "rating_rankings",
    "split_words",
    "weigh_capacity",
    "with_ratings",
]
