"""The licence register: applications, their checks and decisions, and licence monitoring.

An officer registers an application (applicant, service, capacity, proposed point), runs the
licence check on it (stored with it) and records a decision; an approval adds the licence to the
registry in the same transaction. Every edit carries ``If-Match`` with the ETag the officer read:
a missing one is refused with 428, a stale one with 412, so two officers editing one application
never overwrite each other. Every change is audited. Officers see and change only the
applications of their provinces (row-level security again in PostGIS).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
from dataclasses import asdict
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field

from api.deps import national_snapshot, snapshot
from api.guard import page_response
from api.routers.assessments import graded_in, json_safe, scope_check
from api.schemas import (
    Application,
    ApplicationList,
    Monitoring,
    RequestBody,
    ServiceType,
    declared,
    header,
    with_downloads,
)
from api.security import current_user
from geo import applications as A
from geo.errors import (
    AnalysisInputError,
    Forbidden,
    InvalidTransition,
    PreconditionFailed,
    PreconditionRequired,
)
from geo.periods import period_of, period_range
from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services.scope import Scope, restrict, scope_of, view
from services.snapshot import Snapshot
from services.trends import recorded_ngos, trend_answer

router = APIRouter(tags=["Licence register"])

ApplicationId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9-]{1,40}$", description="the application's id", examples=["A-1405-11-3F9C2A"]),
]
IfMatch = Annotated[
    str | None,
    Header(description="the ETag of the application as last read (required: 428 without, 412 if stale)"),
]
WithinDays = Annotated[int, Query(ge=0, le=3650, description="expiring within this many days")]
DeadlineDays = Annotated[int, Query(ge=1, le=365, description="the legal deadline for a decision, in days")]
ETAG_HEADER = header('the version of the application, for If-Match: "<id>.v<version>"')
#: Years a licence runs from its issue.
LICENCE_TERM_YEARS = 5


class ApplicationCreate(RequestBody):
    """A new application: who asks, for which service and capacity, at which point."""

    applicant: str = Field(min_length=1, max_length=200, description="applicant (the NGO's name)")
    service_type: ServiceType
    capacity: int = Field(gt=0, le=100_000, description="persons the centre would serve")
    lon: float = Field(ge=-180, le=180, description="longitude (WGS 84)")
    lat: float = Field(ge=-90, le=90, description="latitude (WGS 84)")


class ApplicationEdit(RequestBody):
    """Corrections to an open application (its check must then be run again)."""

    applicant: str | None = Field(None, min_length=1, max_length=200)
    service_type: ServiceType | None = None
    capacity: int | None = Field(None, gt=0, le=100_000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class Decision(RequestBody):
    decision: Literal["approved", "refused", "withdrawn"]
    reason: str = Field(min_length=3, max_length=2000, description="why, as the applicant will read it")


def _store(request: Request):
    return request.app.state.snapshots.store


def _provinces(request: Request):
    scope = scope_of(current_user(request))
    return None if scope.provinces is None else sorted(scope.provinces)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag(row: dict) -> str:
    return f'"{row["application_id"]}.v{row["version"]}"'


def _answer(row: dict, status: int = 200) -> JSONResponse:
    body = {**row, "status_fa": A.STATUSES[row["status"]][0]}
    if row["synthetic"]:
        body["notice"] = {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN}
    headers = {"ETag": etag(row), "Cache-Control": "no-store"}
    return JSONResponse(json_safe(body), status_code=status, headers=headers)


def _expected_version(row: dict, if_match: str | None) -> int:
    """The version an edit is based on, from ``If-Match`` (428 without, 412 if not current)."""
    if not if_match:
        raise PreconditionRequired(
            "send If-Match with the ETag of the application as you last read it (GET it first)"
        )
    sent = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if etag(row) not in sent:
        raise PreconditionFailed(
            f"the application was changed since you read it (it is now {etag(row)}); reload it"
        )
    return int(row["version"])


def _locate(snap: Snapshot, lon: float, lat: float) -> tuple[str, str]:
    """The county and province of a point (the national boundaries)."""
    counties = snap.layer("counties")
    point = shapely.Point(lon, lat)
    hits = counties.sindex.query(point, predicate="intersects")
    if len(hits) == 0:
        raise AnalysisInputError(
            "the proposed point is not inside any county of Iran", code="outside-counties"
        )
    row = counties.iloc[sorted(hits)[0]]
    return str(row["county_code"]), str(row["county_code"])[:2]


def _to_change(request: Request, application_id: str, if_match: str | None) -> tuple[dict, int]:
    """An application of the caller's provinces as stored, and the version a change of it is
    based on (``If-Match``)."""
    old = _store(request).application(application_id, _provinces(request))
    return old, _expected_version(old, if_match)


def _change(
    request: Request,
    old: dict,
    version: int,
    changes: dict,
    action: str,
    licence: gpd.GeoDataFrame | None = None,
) -> JSONResponse:
    """Store ``changes`` over ``version`` of the application ``old``, audit them, answer the row."""
    row = _store(request).update_application(
        old["application_id"], version, changes, _provinces(request), licence=licence
    )
    _audit(request, action, row, old)
    return _answer(row)


def _audit(request: Request, action: str, row: dict, old: dict | None = None) -> None:
    user = current_user(request)
    keep = ("status", "applicant", "service_type", "capacity", "lon", "lat", "check_verdict")
    keep += ("decision_reason", "licence_no", "version")
    request.app.state.accounts.record(
        None,
        user.username if user else "?",
        action,
        f"licence_application:{row['application_id']}",
        None if old is None else {k: old.get(k) for k in keep},
        {k: row.get(k) for k in keep},
    )


@router.get(
    "/licence-applications",
    summary="Licence applications of your provinces, newest first",
    response_model=None,
    responses=declared(ApplicationList),
)
def list_applications(
    request: Request,
    status: Annotated[
        Literal["received", "checked", "approved", "refused", "withdrawn"] | None, Query()
    ] = None,
    province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    scope = scope_of(current_user(request))
    scope.require(province)
    if province is not None:
        provinces = [province]
    else:
        provinces = None if scope.provinces is None else sorted(scope.provinces)
    rows = _store(request).list_applications(provinces)
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    page = rows[offset : offset + limit]
    for r in page:
        r["status_fa"] = A.STATUSES[r["status"]][0]
        r.pop("check_result", None)  # the list is a summary; GET one application for its check
    return json_safe(
        {
            "numberMatched": len(rows),
            "numberReturned": len(page),
            "applications": page,
            "synthetic": any(r["synthetic"] for r in page),
        }
    )


@router.post(
    "/licence-applications",
    status_code=201,
    summary="Register a licence application (received); its id and ETag come back",
    response_class=JSONResponse,
    responses=declared(
        Application,
        "registered",
        status=201,
        headers={
            "ETag": ETAG_HEADER,
            "Location": header("the application's address"),
        },
    ),
)
def create_application(
    request: Request,
    body: Annotated[ApplicationCreate, Body()],
    national: Annotated[Snapshot, Depends(national_snapshot)],
) -> JSONResponse:
    national.norms.check_service(body.service_type)  # one of the catalogue's, refused by name
    county, province = _locate(national, body.lon, body.lat)
    provinces = _provinces(request)
    if provinces is not None and province not in provinces:
        raise Forbidden("the proposed point is outside your provinces", code="outside-provinces")
    user = current_user(request)
    now = dt.datetime.now(dt.UTC)
    row = {
        "application_id": f"A-{now:%Y%m%d}-{province}-{secrets.token_hex(3).upper()}",
        **body.model_dump(mode="json"),
        "county_code": county,
        "province_code": province,
        "received_at": _now(),
        "decided_at": None,
        "status": "received",
        "check_verdict": None,
        "check_result": None,
        "decision_reason": None,
        "decided_by": None,
        "created_by": user.username if user else "?",
        "licence_no": None,
        "synthetic": False,
        "version": 1,
    }
    _store(request).add_applications([row])
    _audit(request, "application.create", row)
    response = _answer(row, status=201)
    response.headers["Location"] = f"/licence-applications/{row['application_id']}"
    return response


@router.get(
    "/licence-applications/{application_id}",
    summary="One application with its stored check; its ETag for edits",
    response_class=JSONResponse,
    responses=declared(Application, headers={"ETag": ETAG_HEADER}),
)
def get_application(request: Request, application_id: ApplicationId) -> JSONResponse:
    return _answer(_store(request).application(application_id, _provinces(request)))


@router.patch(
    "/licence-applications/{application_id}",
    summary="Correct an open application (If-Match required); its check is to be run again",
    response_class=JSONResponse,
    responses=declared(Application, headers={"ETag": ETAG_HEADER}),
)
def edit_application(
    request: Request,
    application_id: ApplicationId,
    body: Annotated[ApplicationEdit, Body()],
    national: Annotated[Snapshot, Depends(national_snapshot)],
    if_match: IfMatch = None,
) -> JSONResponse:
    old, version = _to_change(request, application_id, if_match)
    if old["status"] not in A.OPEN:
        raise InvalidTransition(
            f"the application was {old['status']} already; a decision is final", code="decision-final"
        )
    changes = body.model_dump(mode="json", exclude_none=True)
    if "service_type" in changes:
        national.norms.check_service(changes["service_type"])
    if "lon" in changes or "lat" in changes:
        county, province = _locate(national, changes.get("lon", old["lon"]), changes.get("lat", old["lat"]))
        provinces = _provinces(request)
        if provinces is not None and province not in provinces:
            raise Forbidden("the proposed point is outside your provinces", code="outside-provinces")
        changes |= {"county_code": county, "province_code": province}
    changes |= {"status": "received", "check_verdict": None, "check_result": None}
    return _change(request, old, version, changes, "application.edit")


@router.post(
    "/licence-applications/{application_id}/check",
    summary="Run the licence check on an application and store it with it (If-Match required)",
    response_class=JSONResponse,
    responses=declared(Application, headers={"ETag": ETAG_HEADER}),
)
def check_application(
    request: Request,
    application_id: ApplicationId,
    snap: Annotated[Snapshot, Depends(snapshot)],
    if_match: IfMatch = None,
) -> JSONResponse:
    old, version = _to_change(request, application_id, if_match)
    A.require_transition(old["status"], "checked")
    # Kept in the register, where the province's officers and national roles read it alike: the
    # check as the application's own province sees it, whoever ran it (a national role's check
    # told the province's officer other provinces' grades and exact centres when they read it).
    province = view(getattr(snap, "base", None) or snap, Scope(frozenset({old["province_code"]}), exact=True))
    check = province.analysis().check_licence(
        old["lon"], old["lat"], old["service_type"], old["capacity"], graded_in=graded_in(province)
    )
    result = json_safe({**scope_check(asdict(check), province), "as_of": snap.as_of.isoformat()})
    changes = {"status": "checked", "check_verdict": result["verdict"], "check_result": result}
    return _change(request, old, version, changes, "application.check")


@router.post(
    "/licence-applications/{application_id}/decision",
    summary="Approve, refuse or record the withdrawal of an application (If-Match required)",
    response_class=JSONResponse,
    responses=declared(Application, headers={"ETag": ETAG_HEADER}),
)
def decide_application(
    request: Request,
    application_id: ApplicationId,
    body: Annotated[Decision, Body()],
    if_match: IfMatch = None,
) -> JSONResponse:
    old, version = _to_change(request, application_id, if_match)
    A.require_transition(old["status"], body.decision)
    user = current_user(request)
    changes = {
        "status": body.decision,
        "decided_at": _now(),
        "decided_by": user.username if user else "?",
        "decision_reason": body.reason,
    }
    licence = None
    if body.decision == "approved":
        changes["licence_no"] = f"LIC-{application_id}"
        licence = licence_row(old, changes["licence_no"], dt.date.today())
    return _change(request, old, version, changes, f"application.{body.decision}", licence)


def licence_row(application: dict, licence_no: str, issued: dt.date) -> gpd.GeoDataFrame:
    """The registry row of an approved application: active from ``issued`` for the licence term."""
    expires = pd.Timestamp(issued) + pd.DateOffset(years=LICENCE_TERM_YEARS)
    return gpd.GeoDataFrame(
        {
            "licence_no": [licence_no],
            "name_fa": [application["applicant"]],
            "service_type": [application["service_type"]],
            "capacity": [int(application["capacity"])],
            "status": ["active"],
            "issued_on": [pd.Timestamp(issued)],
            "expires_on": [expires],
            "county_code": [application["county_code"]],
            "province_code": [application["province_code"]],
            "settlement_code": [None],
            "synthetic": [bool(application["synthetic"])],
        },
        geometry=[shapely.Point(application["lon"], application["lat"])],
        crs=4326,
    )


# ---- monitoring ---------------------------------------------------------------------------------

MONITORING_TABLES = ("timeliness", "expiring", "expired_active")


def monitoring_report(request: Request, national: Snapshot, within_days: int, deadline_days: int) -> dict:
    """The monitoring tables for the caller's provinces, on the service's as-of day.

    The licences are read as recorded in the store (the snapshot's statuses are those the dates
    give on the as-of day, so they would never show an expired licence still marked active)."""
    scope = scope_of(current_user(request))
    store = _store(request)
    ngos = restrict(recorded_ngos(national), scope)
    apps = pd.DataFrame(store.list_applications(_provinces(request)), columns=list(A.FIELDS))
    today = national.as_of
    tables = A.monitoring(ngos, apps, today, within_days=within_days, deadline_days=deadline_days)
    t = tables["timeliness"]
    years = t.assign(year=t["jalali_month"].str[:4])
    decided_in_time = years.groupby("year")["decided_in_time"].sum()
    judged = years.groupby("year")[["decided", "open_overdue"]].sum().sum(axis=1)
    by_year = [
        {
            "jalali_year": y,
            "share_in_time": round(float(decided_in_time[y] / judged[y]), 4) if judged[y] else None,
        }
        for y in sorted(judged.index)
    ]
    synthetic = bool(apps["synthetic"].any() or ngos["synthetic"].any())
    return {"today": today, "tables": tables, "by_year": by_year, "synthetic": synthetic}


@router.get(
    "/licence-monitoring",
    summary="Licences expiring soon, expired ones still active, and decisions within the deadline",
    response_model=None,
    responses=with_downloads(Monitoring, ("csv", "xlsx")),
)
def licence_monitoring(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    within_days: WithinDays = 90,
    deadline_days: DeadlineDays = A.DEFAULT_DEADLINE_DAYS,
    f: Annotated[Literal["json", "csv", "xlsx"], Query(description="answer format")] = "json",
    table: Annotated[
        Literal["timeliness", "expiring", "expired_active"], Query(description="the table of a CSV")
    ] = "timeliness",
) -> Response:
    report = monitoring_report(request, national, within_days, deadline_days)
    tables = report["tables"]
    about = [
        ("made", _now()),
        ("within_days", str(within_days)),
        ("deadline_days", str(deadline_days)),
        ("synthetic", SYNTHETIC_NOTICE_EN if report["synthetic"] else "no"),
    ]
    if f == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            for name in MONITORING_TABLES:
                tables[name].to_excel(writer, sheet_name=name, index=False)
            pd.DataFrame(about, columns=["item", "value"]).to_excel(writer, sheet_name="about", index=False)
        return Response(
            buffer.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="licence-monitoring.xlsx"'},
        )
    if f == "csv":
        lines = "".join(f"# {k}: {v}\n" for k, v in about)
        return Response(
            ("\ufeff" + lines + tables[table].to_csv(index=False)).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="licence-monitoring-{table}.csv"'},
        )
    body = {
        "today": report["today"].isoformat(),
        "within_days": within_days,
        "deadline_days": deadline_days,
        "by_year": report["by_year"],
        **{
            name: json.loads(tables[name].to_json(orient="records", date_format="iso"))
            for name in MONITORING_TABLES
        },
        "synthetic": report["synthetic"],
        "notice": {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN} if report["synthetic"] else None,
    }
    return JSONResponse(json_safe(body))


#: How many periods the monitoring page's trend table shows, by kind.
TREND_PERIODS = {"year": 5, "quarter": 8}


def monitoring_trends(request: Request, national: Snapshot, kind: str, deadline_days: int) -> dict:
    """The monitoring page's trends: the registry's and the register's figures of the last
    ``TREND_PERIODS[kind]`` Jalali years or quarters (up to the as-of day's) for the caller's
    provinces summed, as ``GET /trends?level=country`` gives them (``services.trends``)."""
    last = period_of(national.as_of, kind)
    series = period_range(last.shifted(1 - TREND_PERIODS[kind]), last)
    answer = trend_answer(
        national,
        scope_of(current_user(request)),
        series,
        level="country",
        deadline_days=deadline_days,
        cache=request.app.state.caches.trends,
        at=request.app.state.snapshots.at,
    )
    return {
        "periods": ",".join(p.id for p in series),
        "rows": answer.table.to_dict("records"),
        "country_fa": answer.country_fa,
        "country_en": answer.country_en,
        "synthetic": answer.synthetic,
    }


# ---- pages --------------------------------------------------------------------------------------

PageLang = Annotated[Literal["fa", "en"], Query(description="page language")]


def _names(snap: Snapshot, layer: str, key: str, lang: str) -> dict[str, str]:
    frame = snap.layer(layer)
    names = frame["name_fa"] if lang == "fa" or "name_en" not in frame else frame["name_en"]
    return dict(zip(frame[key].astype(str), names.fillna(frame["name_fa"]).astype(str), strict=True))


@router.get(
    "/maps/register",
    response_class=HTMLResponse,
    tags=["Map pages"],
    summary="The register page: applications of your provinces, their checks and decisions",
)
def register_page(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    lang: PageLang = "fa",
    id: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9-]{1,40}$", description="the application opened")
    ] = None,
    status: Annotated[
        Literal["received", "checked", "approved", "refused", "withdrawn"] | None, Query()
    ] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    service_type: ServiceType | None = None,
    capacity: Annotated[int | None, Query(gt=0, le=100_000)] = None,
) -> HTMLResponse:
    from api.security import has_right, pages_for, personalise
    from maps.office import register_page as render

    provinces = _provinces(request)
    rows = _store(request).list_applications(provinces)
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    selected = _store(request).application(id, provinces) if id else None
    prefill = {
        "lat": "" if lat is None else str(lat),
        "lon": "" if lon is None else str(lon),
        "service_type": service_type or "",
        "capacity": "" if capacity is None else str(capacity),
    }
    page = render(
        lang,
        rows,
        selected,
        _names(national, "counties", "county_code", lang),
        as_of=national.as_of,
        can_decide=has_right(current_user(request), "licence_decide"),
        status=status,
        prefill=prefill,
        etag=etag(selected) if selected else None,
        pages=pages_for(current_user(request)),
        services=national.norms.service_types,
    )
    return page_response(personalise(page, request, lang))


@router.get(
    "/maps/monitoring",
    response_class=HTMLResponse,
    tags=["Map pages"],
    summary="The licence monitoring page (tables, CSV and XLSX) of your provinces",
)
def monitoring_page(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    lang: PageLang = "fa",
    within_days: WithinDays = 90,
    deadline_days: DeadlineDays = A.DEFAULT_DEADLINE_DAYS,
    trend: Annotated[
        Literal["year", "quarter"], Query(description="the trend table's periods: Jalali years or quarters")
    ] = "year",
) -> HTMLResponse:
    from api.security import has_right, pages_for, personalise
    from maps.office import monitoring_page as render

    report = monitoring_report(request, national, within_days, deadline_days)
    trends = monitoring_trends(request, national, trend, deadline_days)
    # the trend's downloads are /trends's, which need the export right: linked only for those who have it
    trends["downloads"] = has_right(current_user(request), "export")
    ratings = None
    if national.norms.ratings is not None and has_right(current_user(request), "evaluations"):
        from maps.office import rating_card
        from services.evaluations import rankings
        from services.scope import scope_of, view

        table, _ = rankings(view(national, scope_of(current_user(request))))
        ratings = rating_card(table, national.norms.ratings, lang)
    page = render(
        lang,
        report["tables"],
        report["by_year"],
        _names(national, "counties", "county_code", lang),
        _names(national, "provinces", "province_code", lang),
        as_of=national.as_of,
        synthetic=report["synthetic"] or trends["synthetic"],
        within_days=within_days,
        deadline_days=deadline_days,
        trends=trends,
        trend=trend,
        pages=pages_for(current_user(request)),
        ratings=ratings,
        services=national.norms.service_types,
    )
    return page_response(personalise(page, request, lang))
