"""The programme's activities register (who does what where, as 3W registers do) and its progress.

An activity is one organisation's work of one service type at one place: a target neighbourhood
of the social capacity-building programme, a settlement or a county. It has dates, the households
and persons it reached, and a status. This module checks activities (``check_activities``) and
answers the programme's questions from them:

* ``neighbourhood_progress``: per target neighbourhood, households reached against households in
  need, and its activities by status;
* ``province_progress``: the same summed per province;
* ``gaps``: target neighbourhoods with no activity, and services missing in each neighbourhood;
* ``progress_over_time``: households reached by the end of each (Jalali) period.

**Counting rule (overlaps).** Only activities whose status is ``ongoing`` or ``completed``
(``COUNTED``) and whose place is a target neighbourhood count towards its households reached.
Activities of the *same* service type in a neighbourhood are taken to reach different households
(organisations share a neighbourhood out) and are summed; activities of *different* service types
are taken to reach the same households (a household given two services is one household reached),
so a neighbourhood's households reached is the largest of its per-service sums, capped at its
households in need. ``households_reported`` keeps the plain sum, so that the difference is seen:
the rule gives a lower bound, never a figure above need. Activities at a settlement or a county
are in the register and its province's activity counts, but reach no neighbourhood's households.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pandas as pd

from geo.periods import Period
from geo.schema import DEFAULT_SERVICE_TYPES

#: status -> (Persian, English)
STATUSES: dict[str, tuple[str, str]] = {
    "planned": ("برنامه‌ریزی‌شده", "planned"),
    "ongoing": ("در حال اجرا", "ongoing"),
    "completed": ("پایان‌یافته", "completed"),
    "suspended": ("متوقف", "suspended"),
    "cancelled": ("لغو شده", "cancelled"),
}
#: The statuses whose households count as reached.
COUNTED = ("ongoing", "completed")
#: Who does it: a licensed NGO of the registry (``licence_no`` required), a partner organisation
#: (an agency, a municipality, a charity outside the registry) or a campaign.
ORGANISATION_KINDS: dict[str, tuple[str, str]] = {
    "ngo": ("سازمان مردم‌نهاد ثبت‌شده", "registry NGO"),
    "partner": ("سازمان همکار", "partner"),
    "campaign": ("پویش", "campaign"),
}
#: Where: a target neighbourhood (``target_areas.target_code``), a settlement
#: (``settlements.settlement_code``) or a county (``counties.county_code``).
PLACE_KINDS: dict[str, tuple[str, str]] = {
    "target_area": ("محله هدف", "target neighbourhood"),
    "settlement": ("سکونتگاه", "settlement"),
    "county": ("شهرستان", "county"),
}

#: The stored fields of an activity, in order.
FIELDS = (
    "activity_id",
    "organisation",  # the organisation's name
    "organisation_kind",  # ORGANISATION_KINDS
    "licence_no",  # the registry NGO's licence, when organisation_kind is ngo
    "service_type",  # the catalogue's (Norms.services)
    "place_kind",  # PLACE_KINDS
    "place_code",
    "target_code",  # the target neighbourhood, when the place is one
    "county_code",  # the place's county and province (derived from the place)
    "province_code",
    "start_date",  # ISO date (Gregorian)
    "end_date",  # ISO date, or None while it runs
    "households",  # households reached
    "persons",  # persons reached
    "status",  # STATUSES
    "notes",
    "created_by",
    "updated_at",  # ISO 8601, UTC
    "synthetic",  # made up by the demo
    "version",  # raised by every edit: the ETag
)
#: The fields a person gives (the rest are derived or kept by the register).
GIVEN = (
    "organisation",
    "organisation_kind",
    "licence_no",
    "service_type",
    "place_kind",
    "place_code",
    "start_date",
    "end_date",
    "households",
    "persons",
    "status",
    "notes",
)


def frame_of(rows: Iterable[Mapping]) -> pd.DataFrame:
    """Activities (dicts of ``FIELDS``) as a frame with every field, also when there are none."""
    return pd.DataFrame(list(rows), columns=list(FIELDS))


PROBLEM_COLUMNS = ["row", "field", "value", "reason", "reason_fa"]
#: The most households or persons one activity may say it reached (a typing slip beyond it).
MAX_REACHED = 1_000_000


def places_from_layers(
    target_areas: pd.DataFrame, settlements: pd.DataFrame, counties: pd.DataFrame
) -> pd.DataFrame:
    """Every place an activity may name: ``place_kind``, ``place_code``, ``county_code``,
    ``province_code`` and ``name_fa``, from the three layers."""
    parts = []
    for kind, frame, key in (
        ("target_area", target_areas, "target_code"),
        ("settlement", settlements, "settlement_code"),
        ("county", counties, "county_code"),
    ):
        part = pd.DataFrame(
            {
                "place_kind": kind,
                "place_code": frame[key].astype(str).to_numpy(),
                "county_code": frame["county_code"].astype(str).to_numpy(),
                "province_code": frame["county_code"].astype(str).str[:2].to_numpy(),
                "name_fa": frame["name_fa"].astype(str).to_numpy(),
            }
        )
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _date(value) -> dt.date | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def _count(value) -> int | None:
    """A non-negative whole number, or None where the value is not one."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    try:
        number = float(str(value).strip().replace(",", ""))
    except ValueError:
        return None
    if number != int(number) or number < 0 or number > MAX_REACHED:
        return None
    return int(number)


#: what names a place: its kind and its code
PLACE_KEY = ("place_kind", "place_code")


def place_index(places: pd.DataFrame) -> pd.DataFrame:
    """``places`` (``places_from_layers``) indexed by kind and code, as ``check_activities`` looks
    them up: a caller checking one activity at a time keeps it (building it over the national
    settlements takes 45 ms, looking a place up in it microseconds)."""
    return places.set_index(list(PLACE_KEY))


def check_activities(
    rows: Iterable[Mapping],
    places: pd.DataFrame,
    licences: Iterable[str],
    services: Iterable[str] = tuple(DEFAULT_SERVICE_TYPES),
) -> tuple[list[dict], pd.DataFrame]:
    """Check activities as given (``GIVEN`` fields) and resolve their places (``places``, or
    ``place_index`` of them); a service type must be one of ``services`` (the catalogue's,
    ``Norms.services``).

    Returns the rows with their place's ``target_code``, ``county_code`` and ``province_code``
    (counts as int, dates as ISO text), and every problem (``PROBLEM_COLUMNS``: the row's position
    from 0, the field, the value, and the reason in English and Persian). Nothing is dropped
    silently: a caller stores the rows only when there is no problem (all or nothing).
    """
    known = places if list(places.index.names) == list(PLACE_KEY) else place_index(places)
    licence_set = licences if isinstance(licences, frozenset) else frozenset(str(x) for x in licences)
    service_set = set(services)
    out: list[dict] = []
    problems: list[tuple] = []
    for i, given in enumerate(rows):
        row = {f: given.get(f) for f in GIVEN}

        def bad(field: str, reason: str, reason_fa: str, i: int = i, row: dict = row) -> None:
            value = row.get(field)
            problems.append((i, field, None if value is None else str(value), reason, reason_fa))

        for f in ("organisation", "organisation_kind", "service_type", "place_kind", "place_code"):
            if row[f] is None or str(row[f]).strip() == "" or (isinstance(row[f], float) and pd.isna(row[f])):
                row[f] = None
            else:
                row[f] = str(row[f]).strip()
        if row["organisation"] is None:
            bad("organisation", "the organisation is missing", "نام سازمان داده نشده است")
        if row["organisation_kind"] not in ORGANISATION_KINDS:
            bad(
                "organisation_kind",
                f"the organisation kind is one of {', '.join(ORGANISATION_KINDS)}",
                "نوع سازمان یکی از ngo، partner یا campaign است",
            )
        licence = given.get("licence_no")
        licence = (
            None
            if licence is None or pd.isna(licence) or str(licence).strip() == ""
            else str(licence).strip()
        )
        row["licence_no"] = licence
        if row["organisation_kind"] == "ngo":
            if licence is None:
                bad(
                    "licence_no",
                    "a registry NGO needs its licence number",
                    "برای سازمان مردم‌نهاد ثبت‌شده شماره مجوز لازم است",
                )
            elif licence not in licence_set:
                bad(
                    "licence_no",
                    "no NGO of the registry has this licence number",
                    "هیچ سازمانی در فهرست مجوزها این شماره مجوز را ندارد",
                )
        if row["service_type"] not in service_set:
            bad(
                "service_type",
                "a service type the catalogue does not have",
                "نوع خدمتی که در فهرست خدمات نیست",
            )
        if row["status"] not in STATUSES:
            bad(
                "status",
                f"the status is one of {', '.join(STATUSES)}",
                "وضعیت یکی از planned، ongoing، completed، suspended یا cancelled است",
            )
        place = None
        if row["place_kind"] not in PLACE_KINDS:
            bad(
                "place_kind",
                f"the place kind is one of {', '.join(PLACE_KINDS)}",
                "نوع مکان یکی از target_area، settlement یا county است",
            )
        elif row["place_code"] is None or (row["place_kind"], row["place_code"]) not in known.index:
            bad("place_code", f"no {row['place_kind']} has this code", "مکانی با این کد نیست")
        else:
            place = known.loc[(row["place_kind"], row["place_code"])]
            if isinstance(place, pd.DataFrame):
                place = place.iloc[0]
        try:
            start = _date(row["start_date"])
            if start is None:
                bad("start_date", "the start date is missing", "تاریخ شروع داده نشده است")
        except ValueError:
            start = None
            bad(
                "start_date",
                "a date is written YYYY-MM-DD (Gregorian)",
                "تاریخ به شکل YYYY-MM-DD (میلادی) نوشته می‌شود",
            )
        try:
            end = _date(row["end_date"])
        except ValueError:
            end = None
            bad(
                "end_date",
                "a date is written YYYY-MM-DD (Gregorian)",
                "تاریخ به شکل YYYY-MM-DD (میلادی) نوشته می‌شود",
            )
        if start is not None and end is not None and end < start:
            bad("end_date", "the end date is before the start date", "تاریخ پایان پیش از تاریخ شروع است")
        if row["status"] == "completed" and end is None and start is not None:
            bad(
                "end_date", "a completed activity needs its end date", "فعالیت پایان‌یافته تاریخ پایان می‌خواهد"
            )
        counts = {}
        for f in ("households", "persons"):
            counts[f] = _count(row[f]) if row[f] is not None and str(row[f]).strip() != "" else 0
            if counts[f] is None:
                bad(
                    f,
                    f"{f} is a whole number from 0 to {MAX_REACHED:,}",
                    "شمار خانوار و نفر عددی درست از ۰ است",
                )
        h, n = counts.get("households"), counts.get("persons")
        if h is not None and n is not None and n < h:
            bad("persons", "fewer persons than households reached", "شمار نفرها از شمار خانوارها کمتر است")
        notes = given.get("notes")
        row["notes"] = (
            None if notes is None or pd.isna(notes) or str(notes).strip() == "" else str(notes).strip()[:2000]
        )
        if place is not None:
            row["county_code"] = str(place["county_code"])
            row["province_code"] = str(place["province_code"])
            row["target_code"] = row["place_code"] if row["place_kind"] == "target_area" else None
        row["start_date"] = None if start is None else start.isoformat()
        row["end_date"] = None if end is None else end.isoformat()
        row["households"], row["persons"] = counts.get("households"), counts.get("persons")
        out.append(row)
    return out, pd.DataFrame(problems, columns=PROBLEM_COLUMNS)


# ---- progress ---------------------------------------------------------------------------------


def _counted(activities: pd.DataFrame) -> pd.DataFrame:
    a = activities
    return a[a["status"].isin(COUNTED) & a["target_code"].notna()]


def reached_by_neighbourhood(activities: pd.DataFrame, need: pd.Series) -> pd.DataFrame:
    """Households ``reported`` (plain sum) and ``reached`` (the counting rule of the module:
    largest per-service sum, capped at ``need``) per target code of ``need``'s index."""
    counted = _counted(activities)
    per_service = counted.groupby(["target_code", "service_type"])["households"].sum()
    largest = per_service.groupby(level="target_code").max() if len(per_service) else pd.Series(dtype="int64")
    reported = counted.groupby("target_code")["households"].sum()
    out = pd.DataFrame(index=need.index)
    out["households_reported"] = reported.reindex(need.index).fillna(0).astype("int64")
    largest = largest.reindex(need.index).fillna(0).astype("int64")
    capped = largest.where(need.isna(), largest.clip(upper=need.fillna(0)))
    out["households_reached"] = capped.astype("int64")
    out["capped"] = out["households_reported"] > out["households_reached"]
    return out


def _by_status(activities: pd.DataFrame, key: str, index: pd.Index) -> pd.DataFrame:
    counts = activities.groupby([key, "status"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=index, columns=list(STATUSES), fill_value=0).fillna(0).astype("int64")
    return counts.add_prefix("activities_")


def neighbourhood_progress(target_areas: pd.DataFrame, activities: pd.DataFrame) -> pd.DataFrame:
    """Per target neighbourhood (one row each, in ``target_areas``' order): households in need
    (``households_in_need``), reported and reached (see the module's counting rule), the share
    reached (None where the need is unknown or nil), the number of activities by status, and the
    service types at work there."""
    t = target_areas.set_index("target_code")
    need = (
        t["households_in_need"].astype("Float64")
        if "households_in_need" in t
        else pd.Series(pd.NA, index=t.index, dtype="Float64")
    )
    out = pd.DataFrame(
        {
            "target_code": t.index,
            "name_fa": t["name_fa"].to_numpy(),
            "county_code": t["county_code"].to_numpy(),
            "province_code": t["province_code"].to_numpy(),
            "households_in_need": need.to_numpy(),
        },
        index=t.index,
    )
    reached = reached_by_neighbourhood(activities, need)
    out = out.join(reached)
    share = out["households_reached"] / out["households_in_need"]
    out["share_reached"] = share.where(out["households_in_need"] > 0).astype("Float64").round(4)
    here = activities[activities["target_code"].notna()]
    out = out.join(_by_status(here, "target_code", t.index))
    out["activities"] = out[[f"activities_{s}" for s in STATUSES]].sum(axis=1)
    services = (
        _counted(activities).groupby("target_code")["service_type"].agg(lambda s: ",".join(sorted(set(s))))
    )
    out["services"] = services.reindex(t.index).fillna("")
    out["households_in_need"] = out["households_in_need"].astype("Int64")
    return out.reset_index(drop=True)


def province_progress(
    target_areas: pd.DataFrame, activities: pd.DataFrame, provinces: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per province with target neighbourhoods (or every province of ``provinces``): households in
    need and reached summed over its neighbourhoods, the share reached, its neighbourhoods and how
    many have a counted activity, and all its activities (any place) by status."""
    n = neighbourhood_progress(target_areas, activities)
    codes = sorted(set(n["province_code"]) | set(activities["province_code"].dropna()))
    if provinces is not None:
        codes = sorted(set(codes) | set(provinces["province_code"]))
    index = pd.Index(codes, name="province_code")
    g = n.groupby("province_code")
    out = pd.DataFrame(index=index)
    out["neighbourhoods"] = g.size().reindex(index).fillna(0).astype("int64")
    out["neighbourhoods_reached"] = (
        g["households_reached"].apply(lambda s: int((s > 0).sum())).reindex(index).fillna(0).astype("int64")
    )
    out["households_in_need"] = g["households_in_need"].sum(min_count=1).reindex(index).astype("Int64")
    out["households_reached"] = g["households_reached"].sum().reindex(index).fillna(0).astype("int64")
    share = out["households_reached"] / out["households_in_need"]
    out["share_reached"] = share.where(out["households_in_need"] > 0).astype("Float64").round(4)
    out = out.join(_by_status(activities, "province_code", index))
    out["activities"] = out[[f"activities_{s}" for s in STATUSES]].sum(axis=1)
    return out.reset_index()


def gaps(
    target_areas: pd.DataFrame,
    activities: pd.DataFrame,
    services: Iterable[str] = tuple(DEFAULT_SERVICE_TYPES),
) -> pd.DataFrame:
    """Per target neighbourhood: ``no_activity`` (no ongoing or completed activity there) and
    ``missing_services`` (the service types of ``services`` with no ongoing or completed activity
    there, comma-joined, in ``services``' order), in ``target_areas``' order."""
    wanted = list(services)
    counted = _counted(activities)
    present = counted.groupby("target_code")["service_type"].agg(set)
    codes = target_areas["target_code"].astype(str)
    have = [present.get(c, set()) for c in codes]
    return pd.DataFrame(
        {
            "target_code": codes.to_numpy(),
            "name_fa": target_areas["name_fa"].to_numpy(),
            "county_code": target_areas["county_code"].to_numpy(),
            "province_code": target_areas["province_code"].to_numpy(),
            "no_activity": [not h for h in have],
            "missing_services": [",".join(s for s in wanted if s not in h) for h in have],
            "services_missing": [sum(s not in h for s in wanted) for h in have],
        }
    )


def as_of(activities: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The activities as they stood at the end of ``day``: those started by then, an activity that
    is ``completed`` but ended after ``day`` counted as ``ongoing`` on that day (its households
    already reached then: the register keeps no earlier figure). ``planned``, ``suspended`` and
    ``cancelled`` keep their status."""
    when = pd.Timestamp(day)
    started = (pd.to_datetime(activities["start_date"]) <= when).to_numpy(dtype=bool)
    out = activities[started].copy()
    # NaT (no end) compares False: a completed activity always has its end (check_activities)
    ended_later = (pd.to_datetime(out["end_date"]) > when).to_numpy(dtype=bool)
    out.loc[out.index[(out["status"] == "completed").to_numpy(dtype=bool) & ended_later], "status"] = (
        "ongoing"
    )
    return out


def progress_over_time(
    target_areas: pd.DataFrame, activities: pd.DataFrame, periods: list[Period]
) -> pd.DataFrame:
    """Per period (in order) and province, and for the whole (``unit`` ``"all"``, no province):
    households reached by the period's last day (``as_of``, then the counting rule), households in
    need, the share reached, activities started in the period and those running at its end."""
    rows = []
    need_by_province = (
        target_areas.groupby("province_code")["households_in_need"].sum(min_count=1)
        if "households_in_need" in target_areas
        else pd.Series(dtype="float64")
    )
    for period in periods:
        standing = as_of(activities, period.end)
        n = neighbourhood_progress(target_areas, standing)
        reached = n.groupby("province_code")["households_reached"].sum()
        start = pd.to_datetime(activities["start_date"]).dt.date
        started = activities[(start >= period.start).to_numpy() & (start <= period.end).to_numpy()]
        started_n = started.groupby("province_code").size()
        running = standing[standing["status"] == "ongoing"].groupby("province_code").size()
        codes = sorted(set(target_areas["province_code"]) | set(activities["province_code"].dropna()))
        for code in [*codes, "all"]:
            if code == "all":
                need, got = need_by_province.sum(min_count=1), int(reached.sum())
                s_n, r_n = int(started_n.sum()), int(running.sum())
            else:
                need, got = need_by_province.get(code), int(reached.get(code, 0))
                s_n, r_n = int(started_n.get(code, 0)), int(running.get(code, 0))
            need = None if need is None or pd.isna(need) else int(need)
            rows.append(
                {
                    "period": period.id,
                    "period_fa": period.label_fa,
                    "period_end": period.end.isoformat(),
                    "unit": code,
                    "province_code": None if code == "all" else code,
                    "households_in_need": need,
                    "households_reached": got,
                    "share_reached": round(got / need, 4) if need else None,
                    "activities_started": s_n,
                    "activities_running": r_n,
                }
            )
    return pd.DataFrame(rows)
