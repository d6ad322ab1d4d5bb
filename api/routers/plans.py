"""Planning endpoints: siting, delegation, and saved scenarios with their comparison.

Plain JSON endpoints: a plan is computed on the current snapshot's analysis; scenarios live in
the store (``GET/POST /scenarios``, ``/scenarios/{id}``, ``/scenarios/{id}/copy``) and
``/scenarios/{a}/compare/{b}`` sets two of them (or ``today``) side by side, as JSON or XLSX.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from api.deps import MEDIA, feature_collection, json_records, national_snapshot, snapshot, written_file
from api.errors import status_of
from api.routers.assessments import json_safe
from api.schemas import (
    Comparison,
    DelegationAnswer,
    DelegationRequest,
    ScenarioCopy,
    ScenarioCreate,
    ScenarioList,
    ScenarioPublic,
    ServiceType,
    SitingAnswer,
    SitingJob,
    SitingJobList,
    SitingJobRequest,
    SitingRequest,
    declared,
    header,
    with_downloads,
)
from api.security import current_user, signed_in_user
from geo.delegation import delegate
from geo.errors import AmayeshError
from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services import plans
from services.planjobs import PlanJobs
from services.snapshot import Snapshot

router = APIRouter(tags=["Planning"])
log = logging.getLogger("amayesh")

ScenarioRef = Annotated[
    str, Path(pattern=r"^(today|s-[0-9a-f]{12})$", description="a scenario id, or `today` (no changes)")
]
ScenarioId = Annotated[str, Path(pattern=r"^s-[0-9a-f]{12}$", description="a scenario id")]


def _public(record: dict) -> ScenarioPublic:
    return ScenarioPublic(**{k: v for k, v in record.items() if k != "payload"}, changes=record["payload"])


def _store(request: Request):
    return request.app.state.snapshots.store


def _json(body: dict) -> Response:
    import json

    return Response(
        json.dumps(json_safe(body), ensure_ascii=False, allow_nan=False), media_type="application/json"
    )


def _siting_answer(analysis, request: SitingRequest) -> dict:
    """The answer to a siting request on an analysis: summary, sites (rows and features), and
    how many places were assigned."""
    plan = plans.site(
        analysis,
        request.service_type,
        request.k,
        plans.SitingOptions.of(request),
        province=request.province,
        candidates=request.candidates,
    )
    sites = plan.sites
    return json_safe(
        {
            "summary": plan.summary,
            "sites": json_records(sites.drop(columns="geometry")),
            "features": {
                "type": "FeatureCollection",
                "features": feature_collection(sites, "settlement_code"),
            },
            "assignments": len(plan.assignments),
        }
    )


@router.post(
    "/plans/siting",
    summary="Propose where to license next (MCLP or p-median), with the gap to the bound",
    response_class=Response,
    responses=declared(SitingAnswer),
)
def siting(
    request: Annotated[SitingRequest, Body()], snap: Annotated[Snapshot, Depends(snapshot)]
) -> Response:
    return _json(_siting_answer(snap.analysis(), request))


def _plan_jobs(request: Request) -> PlanJobs:
    return request.app.state.plan_jobs


def _owner(request: Request) -> str:
    return signed_in_user(request).username


def _problem_of(exc: Exception) -> dict:
    """What a failed job reports: the problem a request would have answered, never a trace."""
    if isinstance(exc, AmayeshError):
        status = status_of(exc)
        return {"status": status, "code": exc.code, "detail": exc.user_message}
    log.exception("a planning job failed")
    return {"status": 500, "code": "server-fault", "detail": "the solve failed on the server; it is logged"}


JobId = Annotated[str, Path(pattern=r"^j-[0-9a-f]{16}$", description="a planning job's id")]


@router.post(
    "/plans/siting/jobs",
    status_code=202,
    summary="Start a siting with minutes to solve (a job): poll it for its progress and answer",
    response_class=Response,
    responses={
        **declared(
            SitingJob,
            "accepted: poll GET /plans/siting/jobs/{job_id} (its address is in Location)",
            status=202,
            headers={"Location": header("the job's address")},
        ),
        429: {"description": "too many planning jobs queued or running (yours, or the service's)"},
    },
)
def start_siting_job(
    request: Request,
    body: Annotated[SitingJobRequest, Body()],
    snap: Annotated[Snapshot, Depends(snapshot)],
) -> Response:
    snap.norms.check_service(body.service_type)  # refused now, by name, not when the job runs
    analysis = snap.analysis()  # the snapshot of the moment it was asked
    job = _plan_jobs(request).submit(
        _owner(request),
        "siting",
        body.model_dump(mode="json"),
        body.time_limit,
        lambda: _siting_answer(analysis, body),
        _problem_of,
    )
    return Response(
        json.dumps(job.summary(), ensure_ascii=False),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/plans/siting/jobs/{job.id}"},
    )


@router.get(
    "/plans/siting/jobs",
    summary="Your siting jobs, newest first (finished ones for an hour)",
    response_class=Response,
    responses=declared(SitingJobList),
)
def list_siting_jobs(request: Request) -> Response:
    return _json({"jobs": [j.summary() for j in _plan_jobs(request).of(_owner(request))]})


@router.get(
    "/plans/siting/jobs/{job_id}",
    summary="A siting job: its state, the share of its time limit used, and its answer when done",
    response_class=Response,
    responses={**declared(SitingJob), 404: {"description": "no such job of yours"}},
)
def get_siting_job(request: Request, job_id: JobId) -> Response:
    return _json(_plan_jobs(request).get(_owner(request), job_id).summary())


@router.post(
    "/plans/delegation",
    summary="Assign unserved villages to centres with spare capacity (outreach)",
    response_class=Response,
    responses=declared(DelegationAnswer),
)
def delegation(
    request: Annotated[DelegationRequest, Body()], snap: Annotated[Snapshot, Depends(snapshot)]
) -> Response:
    plan = delegate(
        snap.analysis(),
        request.service_type,
        province=request.province,
        outreach_km=request.outreach_km,
        outreach_min=request.outreach_min,
        budget=request.budget,
        time_limit=5.0,
    )
    lines = plan.lines
    return _json(
        {
            "summary": plan.summary,
            "centres": json_records(plan.centres),
            "places": json_records(plan.places),
            "lines": {
                "type": "FeatureCollection",
                "features": feature_collection(lines.assign(id=range(len(lines))), "id")
                if len(lines)
                else [],
            },
        }
    )


def _author(request: Request) -> str:
    """Who saves a scenario: the signed-in user (session or API token)."""
    user = current_user(request)
    return user.username if user is not None else plans.DEFAULT_OWNER


@router.get(
    "/scenarios",
    summary="Saved scenarios, newest first",
    response_model=None,
    responses=declared(ScenarioList),
)
def list_scenarios(
    request: Request,
    owner: Annotated[str | None, Query(max_length=200, description="only this owner's")] = None,
) -> dict:
    return {"scenarios": [_public(r).model_dump() for r in _store(request).list_scenarios(owner)]}


@router.post("/scenarios", status_code=201, summary="Save a scenario", response_model=ScenarioPublic)
def create_scenario(
    request: Request,
    body: Annotated[ScenarioCreate, Body()],
    national: Annotated[Snapshot, Depends(national_snapshot)],
) -> ScenarioPublic:
    # The author is the signed-in user (a free-text ``owner`` in the body is not trusted).
    record = plans.create_scenario(
        _store(request),
        body.name,
        body.changes,
        owner=_author(request),
        description=body.description,
        services=national.norms.services,  # the catalogue's service types
    )
    return _public(record)


@router.get("/scenarios/{scenario_id}", summary="One scenario", response_model=ScenarioPublic)
def get_scenario(request: Request, scenario_id: ScenarioId) -> ScenarioPublic:
    return _public(_store(request).scenario(scenario_id))


@router.delete("/scenarios/{scenario_id}", status_code=204, summary="Delete a scenario")
def delete_scenario(request: Request, scenario_id: ScenarioId) -> Response:
    _store(request).delete_scenario(scenario_id)
    return Response(status_code=204)


@router.post(
    "/scenarios/{scenario_id}/copy", status_code=201, summary="Copy a scenario", response_model=ScenarioPublic
)
def copy_scenario(
    request: Request, scenario_id: ScenarioId, body: Annotated[ScenarioCopy | None, Body()] = None
) -> ScenarioPublic:
    body = body or ScenarioCopy()
    return _public(plans.copy_scenario(_store(request), scenario_id, name=body.name, owner=_author(request)))


@router.get(
    "/scenarios/{a}/compare/{b}",
    summary=(
        "Compare scenario b with a (or today): saturation classes, people newly covered, access, equity "
        "and cost"
    ),
    response_class=Response,
    responses=with_downloads(Comparison, ("xlsx",), "JSON, or with f=xlsx a workbook"),
)
def compare_scenarios(
    request: Request,
    a: ScenarioRef,
    b: ScenarioRef,
    snap: Annotated[Snapshot, Depends(snapshot)],
    service_type: Annotated[ServiceType | None, Query(description="one service type (default: all)")] = None,
    province: Annotated[str | None, Query(pattern=r"^\d{2}$", description="province code")] = None,
    f: Annotated[
        Literal["json", "xlsx"], Query(description="json, or xlsx: a workbook to download")
    ] = "json",
    lang: Annotated[
        Literal["fa", "en"],
        Query(description="the workbook's headers, classes and notice: Persian or English"),
    ] = "en",
) -> Response:
    cache = snap.cached("plan-analyses", plans.AnalysisCache)
    rec_a, rec_b, result = plans.compare_refs(
        _store(request),
        snap.layers,
        snap.analysis(),
        a,
        b,
        service_type=service_type if service_type else None,
        province=province,
        cache=cache,
    )
    if f == "xlsx":
        return written_file(
            "amayesh-compare-",
            f"comparison-{a}-{b}.xlsx",
            lambda path: plans.comparison_workbook(
                result,
                rec_a,
                rec_b,
                snap.layer("counties"),
                path,
                SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN,
                lang=lang,
                labels=snap.norms.service_types,  # the catalogue's names
            ),
            MEDIA["xlsx"],
        )
    return _json(
        {
            "a": rec_a,
            "b": rec_b,
            "summary": result.summary,
            "counties": json_records(result.counties),
            "equity": json_records(result.equity),
            "costs": json_records(result.costs) if result.costs is not None else [],
            "notice": SYNTHETIC_NOTICE_EN,
        }
    )
