"""Trends by Jalali period for a caller: the registry's and the register's figures of each period
(``geo.trends``), and, where asked, the analysis at each period's end, for the caller's provinces.

The analysis at a period's end is the service's analysis with the registry's statuses at that day
(everything else unchanged: settlements, needs, norms, travel): the analysis of the snapshot at
that day, the one a period's saturation, priorities and items are answered from, so that the
service computes it once for all of them (``Snapshots.at``). It costs a full recomputation, so
one request may ask it for at most ``ANALYSIS_PERIODS`` periods, and each period's county table
is kept in a small cache (``Caches.trends``) keyed by the snapshot's version, the day and whether
centres are at their true or generalised positions. Callers without the exact-location right are
answered from generalised positions (centres and volunteer groups) and coarse shares, as
everywhere (``services.scope``).

A scoped caller's country is the sum of their provinces, and is named so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.applications import DEFAULT_DEADLINE_DAYS, FIELDS
from geo.errors import BadParameter
from geo.periods import Period
from geo.trends import (
    ANALYSIS_MEASURES,
    COMPARISONS,
    COUNTRY,
    DATE_MEASURES,
    analysis_table,
    trends,
    unit_analysis,
)
from services.caches import ByteLRU
from services.scope import COARSENING, Scope, analysis_kind, analysis_seen, restrict
from services.snapshot import Snapshot, snapshot_at

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
#: The most periods one request may ask the analysis's measures for.
ANALYSIS_PERIODS = 8
MEASURES = DATE_MEASURES + ANALYSIS_MEASURES
#: The snapshot at an earlier day (``services.snapshot.snapshot_at``, or the service's kept ones,
#: ``Snapshots.at``).
AtDay = Callable[[Snapshot, dt.date], Snapshot]


@dataclass
class TrendAnswer:
    table: pd.DataFrame
    as_of: dt.date
    synthetic: bool
    #: how the country level reads: the whole country, or the sum of the caller's provinces
    country_fa: str
    country_en: str
    measures: tuple[str, ...]


def recorded_ngos(snap: Snapshot) -> pd.DataFrame:
    """The licence registry as recorded in the store (``Snapshot.recorded_ngos``)."""
    return snap.recorded_ngos()


def _period_table(
    snap: Snapshot, day: dt.date, scope: Scope, cache: ByteLRU | None, at: AtDay = snapshot_at
) -> pd.DataFrame:
    """Per county and service type, the analysis with the registry's statuses on ``day``: that of
    the day's snapshot (``at``) as a caller of ``scope`` is answered from it that day
    (``services.scope.analysis_seen``: true, generalised or partly generalised positions)."""

    def build() -> pd.DataFrame:
        return analysis_table(analysis_seen(at(snap, day), scope))

    if cache is None:
        return build()
    key = (snap.version, day.isoformat(), analysis_kind(scope))
    return cache.get_or_build(key, build)


def _names(snap: Snapshot, level: str, scope: Scope, province: str | None) -> pd.DataFrame:
    """The units of ``level`` the caller may see, with their Persian and English names."""
    if level == "country":
        if scope.provinces is None and province is None:
            return pd.DataFrame({"unit_code": [COUNTRY], "name_fa": ["ایران"], "name_en": ["Iran"]})
        codes = [province] if province else sorted(scope.provinces or ())
        fa = "جمع استان‌های " + "، ".join(c.translate(_FA_DIGITS) for c in codes)
        en = "Sum of the provinces " + ", ".join(codes)
        return pd.DataFrame({"unit_code": [COUNTRY], "name_fa": [fa], "name_en": [en]})
    layer, key = ("provinces", "province_code") if level == "province" else ("counties", "county_code")
    frame = pd.DataFrame(restrict(snap.layer(layer), scope))
    codes = frame[key].astype(str)
    if province is not None:
        frame, codes = frame[codes.str[:2] == province], codes[codes.str[:2] == province]
    names_en = frame["name_en"] if "name_en" in frame.columns else frame["name_fa"]
    return pd.DataFrame(
        {
            "unit_code": codes.to_numpy(),
            "name_fa": frame["name_fa"].astype(str).to_numpy(),
            "name_en": names_en.fillna(frame["name_fa"]).astype(str).to_numpy(),
        }
    ).sort_values("unit_code", ignore_index=True)


def trend_answer(
    snap: Snapshot,
    scope: Scope,
    periods: Sequence[Period],
    *,
    level: str = "province",
    province: str | None = None,
    service_type: str | None = None,
    by_service: bool = False,
    measures: Sequence[str] | None = None,
    compare: Sequence[str] = (),
    deadline_days: int = DEFAULT_DEADLINE_DAYS,
    cache: ByteLRU | None = None,
    at: AtDay = snapshot_at,
) -> TrendAnswer:
    """The trends of ``periods`` for ``scope`` (the caller's provinces), on the national snapshot.

    ``measures`` None: the registry's and the register's (cheap); the analysis's measures
    (``geo.trends.ANALYSIS_MEASURES``) only when named, for at most ``ANALYSIS_PERIODS`` periods,
    each from the snapshot at its end that ``at`` gives (the service passes its kept ones, which
    the routes asked about that period share).
    """
    asked = tuple(measures) if measures else DATE_MEASURES
    unknown = [m for m in asked if m not in MEASURES]
    if unknown:
        raise BadParameter(f"unknown measure {', '.join(unknown)}; known: {', '.join(MEASURES)}")
    odd = [c for c in compare if c not in COMPARISONS]
    if odd:
        raise BadParameter(f"unknown comparison {', '.join(odd)}; known: {', '.join(COMPARISONS)}")
    analysed = [m for m in asked if m in ANALYSIS_MEASURES]
    if analysed and len(periods) > ANALYSIS_PERIODS:
        raise BadParameter(
            f"the measures {', '.join(analysed)} recompute the analysis at each period's end: ask them for "
            f"at most {ANALYSIS_PERIODS} periods (you asked {len(periods)}), or leave them out of measures",
            code="too-many-periods",
        )

    ngos = restrict(recorded_ngos(snap), scope)
    provinces = None if scope.provinces is None else sorted(scope.provinces)
    rows = snap._store.list_applications(provinces)
    # cut here as well: PostGIS's row-level security does not bind the tables' owner
    apps = restrict(pd.DataFrame(rows, columns=list(FIELDS)), scope)
    if province is not None:
        ngos = ngos[ngos["province_code"].astype(str) == province]
        apps = apps[apps["province_code"].astype(str) == province]
    if service_type is not None:
        ngos = ngos[ngos["service_type"] == service_type]
        apps = apps[apps["service_type"] == service_type]
    units = _names(snap, level, scope, province)
    table = trends(
        ngos,
        apps,
        periods,
        as_of=snap.as_of,
        level=level,
        fixed=snap.fixed_day,
        deadline_days=deadline_days,
        by_service=by_service,
        units=units["unit_code"],
        compare=compare,
        services=snap.norms.services,
    )
    keys = ["period", "unit_code", "service_type"] if by_service else ["period", "unit_code"]
    synthetic = bool(table["synthetic"].any())
    if analysed:
        parts = []
        for period in periods:
            day = min(period.end, snap.as_of)
            counties = restrict(_period_table(snap, day, scope, cache, at), scope)
            if province is not None:
                counties = counties[counties["province_code"] == province]
            part = unit_analysis(counties, level, by_service=by_service, service_type=service_type)
            parts.append(part.assign(period=period.id))
        found = pd.concat(parts, ignore_index=True)
        if not scope.exact:  # shares as coarse as the generalised positions they rest on
            step = COARSENING.share
            found["access_share"] = (np.round(found["access_share"] / step) * step).round(4)
        table = table.merge(found, on=keys, how="left")
        needs = restrict(snap.layer("county_needs"), scope)
        needs_synthetic = bool(needs["synthetic"].any()) if "synthetic" in needs.columns else False
        table["synthetic"] = table["synthetic"] | needs_synthetic
        synthetic = synthetic or needs_synthetic
    table = table.merge(units, on="unit_code", how="left")
    about = ["period", "kind", "label_fa", "label_en", "start", "end", "partial", "level", "unit_code"]
    about += ["name_fa", "name_en"] + (["service_type"] if by_service else [])
    kept = [m for m in asked if m in DATE_MEASURES]
    wanted = list(kept)
    if {"decided", "decided_in_time"} <= set(kept):
        wanted.append("share_in_time")
    wanted += [f"{m}_vs_{c}" for c in compare for m in kept]
    wanted += [m for m in analysed if m in table.columns]
    if "class" in table.columns and analysed:
        wanted.append("class")
    country = units.iloc[0] if level == "country" else _names(snap, "country", scope, province).iloc[0]
    return TrendAnswer(
        table=table[about + wanted + ["synthetic"]],
        as_of=snap.as_of,
        synthetic=synthetic,
        country_fa=str(country["name_fa"]),
        country_en=str(country["name_en"]),
        measures=asked,
    )
