"""Trends by Jalali period: what the registry's and the register's own dates say of each period.

Nothing is stored twice: every figure of a period is counted from the dates the licence registry
(``ngos``: ``issued_on``, ``expires_on``) and the licence register (``licence_applications``:
``received_at``, ``decided_at``) already hold, for a series of periods (``geo.periods``) and each
unit of a level (the country, its provinces or its counties), optionally per service type:

* ``active_centres`` and ``active_capacity``: licences active at the period's end, read by
  ``geo.licences.status_at`` (at the as-of day instead for a period not over by then: the
  figures of the future are not known, and the row says ``partial``);
* ``issued``: licences issued in the period; ``expired``: licences whose expiry falls in the
  period, up to the as-of day (a later expiry has not happened yet);
* ``received``: applications received in the period; ``decided``: applications decided in the
  period, split into ``decided_in_time`` (within the deadline, ``geo.applications.decision_clock``)
  and ``decided_late``; ``share_in_time`` is the first over ``decided``.

Timestamps count by their day in Tehran, dates as they are. The figures of the analysis at a
period's end (saturation classes, flagged places, access) come from ``analysis_table``, one
analysis per period, and are aggregated to units by ``unit_analysis``.

The answer is long and tidy: one row per period, unit (and service type), one column per
measure, and ``synthetic`` when any made-up row contributed to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from geo.applications import decision_clock
from geo.licences import status_at
from geo.periods import Period, previous, tehran_day, year_before
from geo.schema import DEFAULT_SERVICE_TYPES

LEVELS = ("country", "province", "county")
#: The code of the country as a unit.
COUNTRY = "IR"
#: Counted from the registry's dates.
REGISTRY_MEASURES = ("active_centres", "active_capacity", "issued", "expired")
#: Counted from the register's dates.
REGISTER_MEASURES = ("received", "decided", "decided_in_time", "decided_late")
DATE_MEASURES = REGISTRY_MEASURES + REGISTER_MEASURES
#: From the analysis at each period's end (``analysis_table``, ``unit_analysis``).
ANALYSIS_MEASURES: tuple[str, ...] = (
    "underserved_counties",
    "balanced_counties",
    "saturated_counties",
    "flagged_places",
)
ANALYSIS_MEASURES += ("target_population", "access_share")
CLASSES = ("underserved", "balanced", "saturated")
COMPARISONS = ("previous", "year_before")


def unit_of(frame: pd.DataFrame, level: str) -> pd.Series:
    """The unit of each row at ``level``: ``IR``, its province or its county (None if unknown)."""
    if level == "country":
        return pd.Series(COUNTRY, index=frame.index, dtype="object")
    county = frame["county_code"] if "county_code" in frame.columns else pd.Series(None, index=frame.index)
    county = county.astype("object").where(county.notna(), None)
    if level == "county":
        return county.map(lambda c: None if c is None or c == "" else str(c))
    if level != "province":
        raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    province = (
        frame["province_code"] if "province_code" in frame.columns else pd.Series(None, index=frame.index)
    )
    from_county = county.map(lambda c: None if c is None or c == "" else str(c)[:2])
    return (
        province.astype("object")
        .where(province.notna(), from_county)
        .map(lambda c: None if c is None else str(c))
    )


def _in(days: pd.Series, start: dt.date, end: dt.date) -> np.ndarray:
    """Whether each day (datetime64, missing allowed) lies in [start, end]."""
    values = pd.to_datetime(days).to_numpy()
    inside = (values >= np.datetime64(start)) & (values <= np.datetime64(end))
    return np.asarray(inside & ~pd.isna(values), dtype=bool)


def _registry_counts(ngos: pd.DataFrame, period: Period, as_of: dt.date, fixed: bool) -> pd.DataFrame:
    """Per registry row: what it adds to each registry measure of ``period``."""
    day = min(period.end, as_of)
    # A registry read at a fixed day keeps decisions recorded after it (``status_at``); a day
    # before it reads every licence by its dates alone.
    active = status_at(ngos, day, fixed=fixed and day >= as_of).eq("active").to_numpy()
    capacity = pd.to_numeric(ngos["capacity"], errors="coerce").fillna(0).to_numpy()
    return pd.DataFrame(
        {
            "active_centres": active.astype(int),
            "active_capacity": np.where(active, capacity, 0).astype("int64"),
            "issued": _in(ngos["issued_on"], period.start, period.end).astype(int),
            "expired": _in(ngos["expires_on"], period.start, day).astype(int),
        },
        index=ngos.index,
    )


def _register_counts(clock: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Per application: what it adds to each register measure of ``period``."""
    received = _in(clock["received_day"], period.start, period.end)
    decided = _in(clock["decided_day"], period.start, period.end)
    in_time = clock["in_time"].to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "received": received.astype(int),
            "decided": decided.astype(int),
            "decided_in_time": (decided & in_time).astype(int),
            "decided_late": (decided & ~in_time).astype(int),
        },
        index=clock.index,
    )


def _keys(frame: pd.DataFrame, level: str, by_service: bool) -> pd.DataFrame:
    keys = pd.DataFrame({"unit_code": unit_of(frame, level)}, index=frame.index)
    if by_service:
        keys["service_type"] = frame["service_type"].astype(str)
    return keys


def _grouped(parts: pd.DataFrame, measures: Sequence[str], by: list[str]) -> pd.DataFrame:
    parts = parts[parts["unit_code"].notna()]
    agg = {m: (m, "sum") for m in measures} | {"synthetic": ("synthetic", "any")}
    return parts.groupby(by, dropna=False).agg(**agg)


def trends(
    ngos: pd.DataFrame,
    applications: pd.DataFrame | None,
    periods: Sequence[Period],
    *,
    as_of: dt.date,
    level: str = "province",
    fixed: bool = False,
    deadline_days: int = 30,
    by_service: bool = False,
    units: Iterable[str] | None = None,
    compare: Iterable[str] = (),
    services: Iterable[str] = tuple(DEFAULT_SERVICE_TYPES),
) -> pd.DataFrame:
    """The registry's and the register's figures for each period of ``periods`` and each unit.

    Parameters
    ----------
    ngos
        The licence registry as recorded (``status``, ``issued_on``, ``expires_on``,
        ``capacity``, ``service_type``, ``county_code``, ``province_code``, ``synthetic``).
    applications
        The licence register (``received_at``, ``decided_at``, ``service_type``,
        ``province_code``, ``county_code`` where known, ``synthetic``), or None.
    periods
        The periods, of one kind.
    as_of
        The day the answer is given on: licences are read at the end of a period or at this day,
        whichever comes first; no expiry after it is counted.
    level
        ``country``, ``province`` or ``county``.
    fixed
        Whether ``as_of`` is a fixed day of the registry (``geo.licences.status_at``).
    deadline_days
        The legal deadline of a decision, in days.
    by_service
        One row per service type as well: every service of ``services`` (the catalogue's,
        ``Norms.services``), and any other the rows name.
    units
        The units every period shows, with zeros where nothing happened (default: those in
        the rows).
    compare
        ``previous`` and/or ``year_before``: add ``<measure>_vs_previous`` (the period's
        figure minus the previous period's) and ``<measure>_vs_year_before`` (minus the same
        period a year earlier's).

    Returns
    -------
    pandas.DataFrame
        One row per period, unit (and service type), in the order of ``periods``.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    compare = tuple(compare)
    unknown = sorted(set(compare) - set(COMPARISONS))
    if unknown:
        raise ValueError(f"unknown comparison {unknown}; one of {', '.join(COMPARISONS)}")
    periods = list(periods)
    wanted = list(periods)
    if "previous" in compare:
        wanted += [previous(p) for p in periods]
    if "year_before" in compare:
        wanted += [year_before(p) for p in periods]
    wanted = sorted(set(wanted), key=lambda p: p.ordinal)

    by = ["unit_code", "service_type"] if by_service else ["unit_code"]
    registry = pd.DataFrame(ngos).reset_index(drop=True)
    registry_keys = _keys(registry, level, by_service)
    registry_synthetic = registry["synthetic"].fillna(False).astype(bool).to_numpy()
    register = pd.DataFrame(applications if applications is not None else None)
    if register.empty:
        register = pd.DataFrame(
            columns=["received_at", "decided_at", "service_type", "province_code", "county_code", "synthetic"]
        )
    register = register.reset_index(drop=True)
    register_keys = _keys(register, level, by_service)
    clock = decision_clock(register, deadline_days)
    clock["received_day"] = tehran_day(clock["received"])
    clock["decided_day"] = tehran_day(clock["decided"])
    register_synthetic = register["synthetic"].fillna(False).astype(bool).to_numpy()

    found: list[pd.DataFrame] = []
    for period in wanted:
        reg = _registry_counts(registry, period, as_of, fixed)
        app = _register_counts(clock, period)
        parts = pd.concat(
            [
                registry_keys.join(reg).assign(
                    synthetic=registry_synthetic & reg[list(REGISTRY_MEASURES)].gt(0).any(axis=1).to_numpy()
                ),
                register_keys.join(app).assign(
                    synthetic=register_synthetic & app[list(REGISTER_MEASURES)].gt(0).any(axis=1).to_numpy()
                ),
            ],
            ignore_index=True,
        )
        parts[list(DATE_MEASURES)] = parts[list(DATE_MEASURES)].fillna(0).astype("int64")
        found.append(_grouped(parts, DATE_MEASURES, by).reset_index().assign(period=period.id))

    every = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=["period", *by])
    grid_units = sorted(set(units)) if units is not None else sorted(every["unit_code"].dropna().unique())
    if level == "country":
        grid_units = [COUNTRY]
    axes: list[list[str]] = [[p.id for p in wanted], grid_units]
    if by_service:
        # every service of the catalogue (``Norms.services``), and any other the rows name
        named = set(registry_keys["service_type"]) | set(register_keys["service_type"])
        axes.append([*services, *sorted(named - set(services))])
    grid = pd.MultiIndex.from_product(axes, names=["period", *by])
    table = every.set_index(["period", *by]).reindex(grid)
    table[list(DATE_MEASURES)] = table[list(DATE_MEASURES)].fillna(0).astype("int64")
    table["synthetic"] = table["synthetic"].astype("boolean").fillna(False).astype(bool)
    table = table.reset_index()

    out = table[table["period"].isin([p.id for p in periods])].copy()
    for kind in compare:
        earlier = {p.id: (previous(p) if kind == "previous" else year_before(p)).id for p in periods}
        base = table.set_index(["period", *by])[list(DATE_MEASURES)]
        keys = pd.MultiIndex.from_arrays([out["period"].map(earlier), *(out[c] for c in by)])
        before = base.reindex(keys).to_numpy()
        for i, m in enumerate(DATE_MEASURES):
            out[f"{m}_vs_{kind}"] = out[m].to_numpy() - before[:, i]
    return _framed(out, periods, level, as_of)


def _framed(out: pd.DataFrame, periods: Sequence[Period], level: str, as_of: dt.date) -> pd.DataFrame:
    """The rows in the order of ``periods`` with each period's description in front."""
    about = pd.DataFrame(
        {
            "period": [p.id for p in periods],
            "kind": [p.kind for p in periods],
            "label_fa": [p.label_fa for p in periods],
            "label_en": [p.label_en for p in periods],
            "start": [p.start.isoformat() for p in periods],
            "end": [p.end.isoformat() for p in periods],
            # not over at the as-of day: its stock is read at the as-of day
            "partial": [p.end > as_of for p in periods],
            "order": range(len(periods)),
        }
    )
    out = about.merge(out.assign(level=level), on="period", how="right")
    decided = out["decided"].where(out["decided"] > 0)
    out["share_in_time"] = (out["decided_in_time"] / decided).round(4)
    sort = ["order", "unit_code"] + (["service_type"] if "service_type" in out.columns else [])
    out = out.sort_values(sort, ignore_index=True).drop(columns="order")
    first = ["period", "kind", "label_fa", "label_en", "start", "end", "partial", "level", "unit_code"]
    first += ["service_type"] if "service_type" in out.columns else []
    rest = [c for c in out.columns if c not in first and c != "synthetic"]
    return out[[*first, *rest, "synthetic"]]


# ---- the analysis at a period's end ---------------------------------------------------------


def analysis_table(analysis) -> pd.DataFrame:
    """Per county and service type, from one analysis (``geo.recompute.Analysis``): the
    saturation ``class``, the places ``flagged``, the ``target_population`` and the target
    persons with a centre within reach (``target_covered``)."""
    sat = analysis.saturation.reset_index()
    county_of = dict(
        zip(
            analysis.settlements["settlement_code"].astype(str),
            analysis.settlements["county_code"].astype(str),
            strict=True,
        )
    )
    flags = analysis.flags
    flagged = (
        pd.DataFrame(
            {
                "county_code": flags["settlement_code"].astype(str).map(county_of),
                "service_type": flags["service_type"].astype(str),
            }
        )
        .value_counts()
        .rename("flagged")
    )
    table = pd.DataFrame(
        {
            "county_code": sat["county_code"].astype(str),
            "province_code": sat["county_code"].astype(str).str[:2],
            "service_type": sat["service_type"].astype(str),
            "class": sat["class"].astype(str),
            "target_population": sat["target_population"].astype("int64"),
            "target_covered": (sat["target_population"] - sat["target_out_of_reach"]).astype("int64"),
        }
    )
    keys = pd.MultiIndex.from_frame(table[["county_code", "service_type"]])
    table["flagged"] = flagged.reindex(keys).fillna(0).astype("int64").to_numpy()
    return table


def unit_analysis(
    table: pd.DataFrame, level: str, *, by_service: bool = False, service_type: str | None = None
) -> pd.DataFrame:
    """``analysis_table`` rows summed to the units of ``level``: counties per saturation class,
    places flagged, target population and the share of it with a centre within reach
    (``access_share``); at the county level with one service type, the county's ``class``."""
    if service_type is not None:
        table = table[table["service_type"] == service_type]
    frame = table.assign(unit_code=unit_of(table, level))
    for name in CLASSES:
        frame[f"{name}_counties"] = frame["class"].eq(name).astype("int64")
    by = ["unit_code", "service_type"] if by_service else ["unit_code"]
    sums = [f"{c}_counties" for c in CLASSES] + ["flagged", "target_population", "target_covered"]
    out = frame.groupby(by)[sums].sum()
    out = out.rename(columns={"flagged": "flagged_places"})
    target = out["target_population"].where(out["target_population"] > 0)
    out["access_share"] = (out.pop("target_covered") / target).round(4)
    if level == "county" and (by_service or service_type is not None):
        out["class"] = frame.groupby(by)["class"].first()
    return out.reset_index()


__all__ = [
    "ANALYSIS_MEASURES",
    "COUNTRY",
    "DATE_MEASURES",
    "LEVELS",
    "analysis_table",
    "trends",
    "unit_analysis",
    "unit_of",
]
