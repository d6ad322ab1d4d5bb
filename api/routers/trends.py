"""Trends by Jalali period (``GET /trends``): figures of a series of years, quarters or months for
the caller's provinces, as JSON, CSV or XLSX (``services.trends``)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import catalogued, national_snapshot, require_export
from api.exports import table_download
from api.routers.applications import DeadlineDays
from api.routers.assessments import Province, json_safe, known_province
from api.schemas import ServiceType, Trends, with_downloads
from api.security import current_user
from geo.applications import DEFAULT_DEADLINE_DAYS
from geo.errors import BadPeriod
from geo.periods import Period, parse_period, parse_periods, period_of, period_range
from geo.trends import COMPARISONS
from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services.scope import scope_of
from services.snapshot import Snapshot
from services.trends import MEASURES, trend_answer

router = APIRouter(tags=["Analysis"])

PeriodId = Annotated[
    str | None,
    Query(
        max_length=40,
        description="one Jalali period: a year (1403), a quarter (1403Q2) or a month (1403-07)",
        examples=["1403Q2"],
    ),
]


def periods_asked(
    periods: str | None, period: str | None, first: str | None, last: str | None, snap: Snapshot
) -> list[Period]:
    """The series the query names; by default the as-of day's Jalali year and the one before."""
    given = [name for name, v in (("periods", periods), ("period", period), ("from", first)) if v]
    if len(given) > 1 or (last and not first):
        raise BadPeriod(
            "name the periods one way: periods=1402..1403, period=1403Q2, or from=1402Q1&to=1403Q4",
            "دوره‌ها را به یک راه بنویسید: periods=1402..1403 یا period=1403Q2 یا from=1402Q1&to=1403Q4",
        )
    if periods:
        return parse_periods(periods)
    if period:
        return [parse_period(period)]
    if first:
        start = parse_period(first)
        return period_range(start, parse_period(last) if last else period_of(snap.as_of, start.kind))
    this_year = period_of(snap.as_of, "year")
    return [this_year.shifted(-1), this_year]


def _listed(text: str | None, known: tuple[str, ...], name: str) -> tuple[str, ...]:
    if not text:
        return ()
    if text.strip() == "all":
        return known
    items = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [t for t in items if t not in known]
    if unknown:
        raise BadPeriod(
            f"unknown {name} {', '.join(unknown)}; known: {', '.join(known)} (or all)",
            f"{name} ناشناخته: {', '.join(unknown)}؛ شناخته‌ها: {', '.join(known)} (یا all)",
        )
    return items


@router.get(
    "/trends",
    summary="Figures by Jalali year, quarter or month for your provinces: licences, decisions, analysis",
    response_model=None,
    responses=with_downloads(Trends, ("csv", "xlsx")),
)
def get_trends(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    periods: Annotated[
        str | None,
        Query(
            max_length=400,
            description="a series: a range 1402..1403 (at most 40 periods) or a list 1403Q1,1403Q3; "
            "default: the as-of day's Jalali year and the one before",
            examples=["1402..1403"],
        ),
    ] = None,
    period: PeriodId = None,
    first: Annotated[
        str | None, Query(alias="from", max_length=40, description="the first period of a range")
    ] = None,
    last: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="the last period of a range (default: the as-of day's)"),
    ] = None,
    level: Annotated[Literal["country", "province", "county"], Query(description="the units")] = "province",
    province: Province = None,
    service_type: Annotated[ServiceType | None, Query(description="one service type only")] = None,
    by_service: Annotated[bool, Query(description="one row per service type as well")] = False,
    measures: Annotated[
        str | None,
        Query(
            max_length=400,
            description="comma-separated, or all; default: the registry's and the register's "
            f"({', '.join(MEASURES[:8])}). The analysis's ({', '.join(MEASURES[8:])}) "
            "recompute the analysis at each period's end: at most 8 periods",
        ),
    ] = None,
    compare: Annotated[
        str | None,
        Query(
            max_length=40,
            description="previous and/or year_before: each measure's change against the previous "
            "period and the same period a year earlier",
        ),
    ] = None,
    deadline_days: DeadlineDays = DEFAULT_DEADLINE_DAYS,
    f: Annotated[Literal["json", "csv", "xlsx"], Query(description="answer format")] = "json",
) -> Response:
    user = current_user(request)
    scope = scope_of(user)
    scope.require(province)
    known_province(national, province)
    if f != "json":
        require_export(request)
    series = periods_asked(periods, period, first, last, national)
    answer = trend_answer(
        national,
        scope,
        series,
        level=level,
        province=province,
        service_type=catalogued(national, service_type),
        by_service=by_service,
        measures=_listed(measures, MEASURES, "measures") or None,
        compare=_listed(compare, COMPARISONS, "compare"),
        deadline_days=deadline_days,
        cache=request.app.state.caches.trends,
        at=request.app.state.snapshots.at,
    )
    table = answer.table
    if f != "json":
        about = [
            ("periods", ",".join(p.id for p in series)),
            ("level", level),
            ("country", answer.country_en),
            ("province", province or "all"),
            ("service_type", service_type if service_type else "all"),
            ("deadline_days", str(deadline_days)),
            ("as_of", answer.as_of.isoformat()),
            ("synthetic", SYNTHETIC_NOTICE_EN if answer.synthetic else "no"),
        ]
        return table_download(table, "trends", f, about)
    infos = table.drop_duplicates("period")[
        ["period", "kind", "label_fa", "label_en", "start", "end", "partial"]
    ]
    body = {
        "as_of": answer.as_of.isoformat(),
        "level": level,
        "periods": [
            {"id": r.pop("period"), **r}
            for r in json.loads(infos.to_json(orient="records", force_ascii=False))
        ],
        "country": {"fa": answer.country_fa, "en": answer.country_en},
        "measures": list(answer.measures),
        "deadline_days": deadline_days,
        "numberReturned": len(table),
        "rows": json.loads(table.to_json(orient="records", force_ascii=False)),
        "synthetic": answer.synthetic,
        "notice": {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN} if answer.synthetic else None,
    }
    return JSONResponse(json_safe(body))
