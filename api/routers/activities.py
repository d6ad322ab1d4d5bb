"""The programme's activities register (who does what where) and its progress, gaps and downloads.

Administrators and planners (the programme's managers, national) and licensing officers (in their
provinces) enter, correct, delete and import activities; every signed-in role reads the register,
the progress and the gaps of its provinces. Edits carry ``If-Match`` with the ETag read (428
without, 412 if stale), as the licence register's do; every change is audited. An officer sees and
changes only the activities of their provinces (row-level security again in PostGIS).
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field
from starlette.datastructures import UploadFile

from api.deps import catalogued, national_snapshot
from api.guard import page_response
from api.routers.assessments import json_safe
from api.schemas import (
    BINARY,
    MEDIA,
    TEXT,
    Activity,
    ActivityImport,
    ActivityList,
    ProgrammeGaps,
    ProgrammeProgress,
    ProgressOverTime,
    RequestBody,
    ServiceType,
    declared,
    declared_media,
    header,
    upload_body,
    with_downloads,
)
from api.security import current_user
from geo import activities as AC
from geo.errors import BadParameter, PreconditionFailed, PreconditionRequired
from geo.periods import parse_periods, period_of, period_range
from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services import activities as S
from services.scope import scope_of
from services.snapshot import Snapshot

router = APIRouter(tags=["Programme activities"])

ActivityId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9-]{1,40}$", description="the activity's id", examples=["ACT-20250101-11-3F9C2A"]
    ),
]
IfMatch = Annotated[
    str | None,
    Header(description="the ETag of the activity as last read (required: 428 without, 412 if stale)"),
]
Province = Annotated[str | None, Query(pattern=r"^\d{2}$", description="one of your provinces")]
Status = Literal["planned", "ongoing", "completed", "suspended", "cancelled"]
OrganisationKind = Literal["ngo", "partner", "campaign"]
PlaceKind = Literal["target_area", "settlement", "county"]
Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="answer format")]
ETAG_HEADER = header('the version of the activity, for If-Match: "<id>.v<version>"')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: How many Jalali quarters the progress over time shows by default (two years).
DEFAULT_QUARTERS = 8


class ActivityCreate(RequestBody):
    """A new activity: who, what, where, when, for how many, and how far it is."""

    organisation: str = Field(min_length=1, max_length=200, description="the organisation's name")
    organisation_kind: OrganisationKind = Field(description="ngo (of the registry), partner or campaign")
    licence_no: str | None = Field(None, max_length=60, description="the registry NGO's licence number")
    service_type: ServiceType
    place_kind: PlaceKind = Field(description="target_area, settlement or county")
    place_code: str = Field(min_length=1, max_length=40, description="the place's code")
    start_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Gregorian YYYY-MM-DD")
    end_date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Gregorian YYYY-MM-DD")
    households: int = Field(0, ge=0, le=AC.MAX_REACHED, description="households reached")
    persons: int = Field(0, ge=0, le=AC.MAX_REACHED, description="persons reached")
    status: Status
    notes: str | None = Field(None, max_length=2000)


class ActivityEdit(RequestBody):
    """Corrections to an activity (the whole is checked again)."""

    organisation: str | None = Field(None, min_length=1, max_length=200)
    organisation_kind: OrganisationKind | None = None
    licence_no: str | None = Field(None, max_length=60)
    service_type: ServiceType | None = None
    place_kind: PlaceKind | None = None
    place_code: str | None = Field(None, min_length=1, max_length=40)
    start_date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    end_date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    households: int | None = Field(None, ge=0, le=AC.MAX_REACHED)
    persons: int | None = Field(None, ge=0, le=AC.MAX_REACHED)
    status: Status | None = None
    notes: str | None = Field(None, max_length=2000)


def _store(request: Request):
    return request.app.state.snapshots.store


def _provinces(request: Request, province: str | None = None):
    scope = scope_of(current_user(request))
    mine = None if scope.provinces is None else sorted(scope.provinces)
    if province is None:
        return mine
    scope.require(province)
    return [province]


def _actor(request: Request) -> str:
    user = current_user(request)
    return user.username if user else "?"


def etag(row: dict) -> str:
    return f'"{row["activity_id"]}.v{row["version"]}"'


def _labelled(row: dict) -> dict:
    return {
        **row,
        "status_fa": AC.STATUSES[row["status"]][0],
        "organisation_kind_fa": AC.ORGANISATION_KINDS[row["organisation_kind"]][0],
        "place_kind_fa": AC.PLACE_KINDS[row["place_kind"]][0],
    }


def _answer(row: dict, status: int = 200) -> JSONResponse:
    body = _labelled(row)
    if row["synthetic"]:
        body["notice"] = {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN}
    return JSONResponse(
        json_safe(body), status_code=status, headers={"ETag": etag(row), "Cache-Control": "no-store"}
    )


def _expected_version(row: dict, if_match: str | None) -> int:
    if not if_match:
        raise PreconditionRequired(
            "send If-Match with the ETag of the activity as you last read it (GET it first)"
        )
    sent = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if etag(row) not in sent:
        raise PreconditionFailed(
            f"the activity was changed since you read it (it is now {etag(row)}); reload it"
        )
    return int(row["version"])


#: What the audit trail keeps of an activity.
AUDITED = (*AC.GIVEN, "target_code", "province_code", "version")


def _audit(request: Request, action: str, target: str, old: dict | None, new: dict | None) -> None:
    def keep(r):
        return None if r is None else {k: r.get(k) for k in AUDITED}

    request.app.state.accounts.record(None, _actor(request), action, target, keep(old), keep(new))


def _download(frame: pd.DataFrame, name: str, f: str, about: list[tuple[str, str]]) -> Response:
    if f == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            pd.DataFrame(about, columns=["item", "value"]).to_excel(writer, sheet_name="about", index=False)
        return Response(
            buffer.getvalue(),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    lines = "".join(f"# {k}: {v}\n" for k, v in about)
    return Response(
        ("\ufeff" + lines + frame.to_csv(index=False)).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _about(synthetic: bool, **more: str) -> list[tuple[str, str]]:
    return [
        ("made", S.now_utc()),
        *more.items(),
        (
            "counting rule",
            "ongoing and completed activities at target neighbourhoods; same service summed, "
            "different services the same households (largest per-service sum), capped at households in need",
        ),
        ("synthetic", SYNTHETIC_NOTICE_EN if synthetic else "no"),
    ]


def _json(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))


# ---- the register -------------------------------------------------------------------------------


@router.get(
    "/activities",
    summary="Activities of your provinces (who does what where), newest start first",
    response_model=None,
    responses=with_downloads(ActivityList, ("csv", "xlsx")),
)
def list_activities(
    request: Request,
    province: Province = None,
    target_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,40}$")] = None,
    service_type: ServiceType | None = None,
    status: Annotated[Status | None, Query()] = None,
    organisation_kind: Annotated[OrganisationKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    f: Format = "json",
) -> Response:
    rows = _store(request).list_activities(_provinces(request, province))
    for key, value in (
        ("target_code", target_code),
        ("service_type", service_type),
        ("status", status),
        ("organisation_kind", organisation_kind),
    ):
        if value is not None:
            rows = [r for r in rows if r[key] == value]
    synthetic = any(r["synthetic"] for r in rows)
    if f != "json":
        table = AC.frame_of(rows).drop(columns=["version"])
        return _download(table, "activities", f, _about(synthetic))
    page = [_labelled(r) for r in rows[offset : offset + limit]]
    return JSONResponse(
        json_safe(
            {
                "numberMatched": len(rows),
                "numberReturned": len(page),
                "activities": page,
                "synthetic": synthetic,
                "notice": {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN} if synthetic else None,
            }
        )
    )


@router.post(
    "/activities",
    status_code=201,
    summary="Enter an activity (in your provinces); its id and ETag come back",
    response_class=JSONResponse,
    responses=declared(
        Activity,
        "entered",
        status=201,
        headers={"ETag": ETAG_HEADER, "Location": header("the activity's address")},
    ),
)
def create_activity(
    request: Request,
    body: Annotated[ActivityCreate, Body()],
    national: Annotated[Snapshot, Depends(national_snapshot)],
) -> JSONResponse:
    given = body.model_dump(mode="json")
    [row] = S.create(_store(request), national, [given], _provinces(request), _actor(request))
    _audit(request, "activity.create", f"activity:{row['activity_id']}", None, row)
    response = _answer(row, status=201)
    response.headers["Location"] = f"/activities/{row['activity_id']}"
    return response


@router.get(
    "/activity-template",
    summary="The import template of activities (CSV, or XLSX with a help sheet)",
    response_class=Response,
    responses=declared_media({MEDIA["csv"].split(";")[0]: TEXT, MEDIA["xlsx"]: BINARY}, "the template"),
)
def activity_template(f: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx") -> Response:
    content, media, name = S.template(f)
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post(
    "/activity-imports",
    status_code=201,
    summary="Import activities from a CSV or XLSX of the template: every row or none, each refused row with its reason",
    openapi_extra=upload_body("CSV (UTF-8) or XLSX with the template's columns"),
    response_class=JSONResponse,
    responses=declared(ActivityImport, "every row entered", status=201),
)
async def import_activities(
    request: Request, national: Annotated[Snapshot, Depends(national_snapshot)]
) -> JSONResponse:
    from fastapi.concurrency import run_in_threadpool

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadParameter("send the file as multipart/form-data in a field named 'file'")
    form = await request.form(max_files=1, max_fields=4)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadParameter("the form has no file in a field named 'file'")
        content = await upload.read(S.MAX_IMPORT_BYTES + 1)
        name = upload.filename or "upload.csv"
    finally:
        await form.close()
    given = await run_in_threadpool(S.read_table, name, content)  # a separate reader process
    store, provinces, actor = _store(request), _provinces(request), _actor(request)
    rows = await run_in_threadpool(S.create_many, store, national, given, provinces, actor)
    ids = [r["activity_id"] for r in rows]
    _audit_import(request, name, ids)
    return JSONResponse(
        {"imported": len(rows), "activity_ids": ids, "file": name},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


def _audit_import(request: Request, name: str, ids: list[str]) -> None:
    request.app.state.accounts.record(
        None,
        _actor(request),
        "activity.import",
        f"activity-import:{name}",
        None,
        {"rows": len(ids), "activity_ids": ids},
    )


@router.get(
    "/activities/{activity_id}",
    summary="One activity; its ETag for edits",
    response_class=JSONResponse,
    responses=declared(Activity, headers={"ETag": ETAG_HEADER}),
)
def get_activity(request: Request, activity_id: ActivityId) -> JSONResponse:
    return _answer(_store(request).activity(activity_id, _provinces(request)))


@router.patch(
    "/activities/{activity_id}",
    summary="Correct an activity (If-Match required)",
    response_class=JSONResponse,
    responses=declared(Activity, headers={"ETag": ETAG_HEADER}),
)
def edit_activity(
    request: Request,
    activity_id: ActivityId,
    body: Annotated[ActivityEdit, Body()],
    national: Annotated[Snapshot, Depends(national_snapshot)],
    if_match: IfMatch = None,
) -> JSONResponse:
    provinces = _provinces(request)
    current = _store(request).activity(activity_id, provinces)
    version = _expected_version(current, if_match)
    changes = body.model_dump(mode="json", exclude_unset=True)
    old, new = S.edit(_store(request), national, activity_id, version, changes, provinces, _actor(request))
    _audit(request, "activity.edit", f"activity:{activity_id}", old, new)
    return _answer(new)


@router.delete(
    "/activities/{activity_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an activity entered in error (If-Match required)",
)
def delete_activity(request: Request, activity_id: ActivityId, if_match: IfMatch = None) -> Response:
    provinces = _provinces(request)
    current = _store(request).activity(activity_id, provinces)
    version = _expected_version(current, if_match)
    old = _store(request).delete_activity(activity_id, version, provinces)
    _audit(request, "activity.delete", f"activity:{activity_id}", old, None)
    return Response(status_code=204)


# ---- progress and gaps --------------------------------------------------------------------------


def progress_tables(request: Request, national: Snapshot, province: str | None = None) -> dict:
    """The neighbourhood and province progress and the gaps of the caller's provinces."""
    provinces = _provinces(request, province)
    targets = S.scoped_targets(national, provinces)
    acts = AC.frame_of(_store(request).list_activities(provinces))
    provinces_frame = national.layer("provinces")
    if provinces is not None:
        provinces_frame = provinces_frame[provinces_frame["province_code"].isin(provinces)]
    synthetic = bool(targets["synthetic"].any() or acts["synthetic"].astype(bool).any())
    return {
        "neighbourhoods": AC.neighbourhood_progress(targets, acts),
        "provinces": AC.province_progress(targets, acts, provinces_frame),
        "gaps": AC.gaps(targets, acts, national.norms.services),
        "activities": acts,
        "targets": targets,
        "synthetic": synthetic,
    }


def _notice(synthetic: bool) -> dict | None:
    return {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN} if synthetic else None


@router.get(
    "/programme/progress",
    summary="The programme's progress: households reached against households in need, per neighbourhood and province",
    response_model=None,
    responses=with_downloads(ProgrammeProgress, ("csv", "xlsx")),
)
def programme_progress(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    level: Annotated[
        Literal["neighbourhood", "province"], Query(description="rows of a download")
    ] = "neighbourhood",
    province: Province = None,
    f: Format = "json",
) -> Response:
    t = progress_tables(request, national, province)
    if f != "json":
        table = t["neighbourhoods"] if level == "neighbourhood" else t["provinces"]
        return _download(table, f"programme-progress-{level}", f, _about(t["synthetic"], level=level))
    n, p = t["neighbourhoods"], t["provinces"]
    need = n["households_in_need"].sum(min_count=1)
    reached = int(n["households_reached"].sum())
    body = {
        "totals": {
            "neighbourhoods": len(n),
            "neighbourhoods_reached": int((n["households_reached"] > 0).sum()),
            "households_in_need": None if pd.isna(need) else int(need),
            "households_reached": reached,
            "share_reached": None if pd.isna(need) or not need else round(reached / float(need), 4),
            "activities": len(t["activities"]),
        },
        "provinces": _json(p),
        "neighbourhoods": _json(n),
        "counting_rule": AC.__doc__.split("**Counting rule (overlaps).**")[1].strip() if AC.__doc__ else "",
        "synthetic": t["synthetic"],
        "notice": _notice(t["synthetic"]),
    }
    return JSONResponse(json_safe(body))


@router.get(
    "/programme/progress-over-time",
    summary="Households reached by the end of each Jalali period, per province and in all",
    response_model=None,
    responses=with_downloads(ProgressOverTime, ("csv", "xlsx")),
)
def progress_over_time(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    periods: Annotated[
        str | None,
        Query(max_length=40, description="e.g. 1402..1403, 1402Q1..1403Q4; default the last 8 quarters"),
    ] = None,
    province: Province = None,
    f: Format = "json",
) -> Response:
    if periods:
        series = parse_periods(periods)
    else:
        last = period_of(national.as_of, "quarter")
        series = period_range(last.shifted(1 - DEFAULT_QUARTERS), last)
    provinces = _provinces(request, province)
    targets = S.scoped_targets(national, provinces)
    acts = AC.frame_of(_store(request).list_activities(provinces))
    table = AC.progress_over_time(targets, acts, series)
    synthetic = bool(targets["synthetic"].any() or acts["synthetic"].astype(bool).any())
    if f != "json":
        return _download(
            table,
            "programme-progress-over-time",
            f,
            _about(synthetic, periods=",".join(p.id for p in series)),
        )
    return JSONResponse(
        json_safe(
            {
                "periods": [p.id for p in series],
                "rows": _json(table),
                "synthetic": synthetic,
                "notice": _notice(synthetic),
            }
        )
    )


@router.get(
    "/programme/gaps",
    summary="Target neighbourhoods with no activity and services missing in each",
    response_model=None,
    responses=with_downloads(ProgrammeGaps, ("csv", "xlsx")),
)
def programme_gaps(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    province: Province = None,
    service_type: ServiceType | None = None,
    f: Format = "json",
) -> Response:
    service_type = catalogued(national, service_type)
    t = progress_tables(request, national, province)
    g = t["gaps"]
    if service_type is not None:
        # (an empty table's column holds no text: nothing to pick)
        g = g[g["missing_services"].map(lambda s: isinstance(s, str) and service_type in s.split(","))]
    if f != "json":
        return _download(g, "programme-gaps", f, _about(t["synthetic"]))
    body = {
        "neighbourhoods": len(t["gaps"]),
        "without_activity": int(t["gaps"]["no_activity"].sum()),
        "gaps": _json(g),
        "synthetic": t["synthetic"],
        "notice": _notice(t["synthetic"]),
    }
    return JSONResponse(json_safe(body))


# ---- the page -----------------------------------------------------------------------------------


@router.get(
    "/maps/activities",
    response_class=HTMLResponse,
    tags=["Map pages"],
    summary="The programme page: who does what where, gaps, progress, entry",
)
def activities_page(
    request: Request,
    national: Annotated[Snapshot, Depends(national_snapshot)],
    lang: Annotated[Literal["fa", "en"], Query(description="page language")] = "fa",
    province: Province = None,
    target: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9-]{1,40}$", description="the neighbourhood opened")
    ] = None,
) -> HTMLResponse:
    from api.security import has_right, pages_for, personalise
    from maps.programme import activities_page as render

    t = progress_tables(request, national, province)
    user = current_user(request)
    page = render(
        lang,
        t,
        national.layer("target_areas"),
        national.layer("provinces"),
        as_of=national.as_of,
        can_enter=has_right(user, "activities_enter"),
        selected=target,
        province=province,
        pages=pages_for(user),
        services=national.norms.service_types,
    )
    return page_response(personalise(page, request, lang))
