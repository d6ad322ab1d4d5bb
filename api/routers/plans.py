"""Planning endpoints: siting, delegation, and saved scenarios with their comparison.

Plain JSON endpoints: a plan is computed on the current snapshot's analysis; scenarios live in
the store (``GET/POST /scenarios``, ``/scenarios/{id}``, ``/scenarios/{id}/copy``) and
``/scenarios/{a}/compare/{b}`` sets two of them (or ``today``) side by side, as JSON or XLSX.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from api.deps import MEDIA, feature_collection, json_records, snapshot
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
    SitingRequest,
    declared,
    with_downloads,
)
from geo.delegation import delegate
from geo.siting import site_centres
from maps.notices import SYNTHETIC_NOTICE_EN
from services import plans
from services.snapshot import Snapshot

router = APIRouter(tags=["Planning"])

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


@router.post(
    "/plans/siting",
    summary="Propose where to license next (MCLP or p-median), with the gap to the bound",
    response_class=Response,
    responses=declared(SitingAnswer),
)
def siting(
    request: Annotated[SitingRequest, Body()], snap: Annotated[Snapshot, Depends(snapshot)]
) -> Response:
    plan = site_centres(
        snap.analysis(),
        request.service_type.value,
        request.k,
        model=request.model,
        province=request.province,
        candidates=request.candidates,
        capacity=request.capacity,
        capacitated=request.capacitated,
        cap_km=request.cap_km,
        cap_min=request.cap_min,
        method=request.method,
        time_limit=request.time_limit,
    )
    sites = plan.sites
    return _json(
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
        request.service_type.value,
        province=request.province,
        outreach_km=request.outreach_km,
        outreach_min=request.outreach_min,
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
def create_scenario(request: Request, body: Annotated[ScenarioCreate, Body()]) -> ScenarioPublic:
    record = plans.create_scenario(
        _store(request), body.name, body.changes, owner=body.owner, description=body.description
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
    return _public(plans.copy_scenario(_store(request), scenario_id, name=body.name, owner=body.owner))


@router.get(
    "/scenarios/{a}/compare/{b}",
    summary="Compare scenario b with a (or today): saturation classes, people newly covered, access, equity",
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
) -> Response:
    cache = snap.cached("plan-analyses", plans.AnalysisCache)
    rec_a, rec_b, result = plans.compare_refs(
        _store(request),
        snap.layers,
        snap.analysis(),
        a,
        b,
        service_type=service_type.value if service_type else None,
        province=province,
        cache=cache,
    )
    if f == "xlsx":
        folder = FilePath(tempfile.mkdtemp(prefix="amayesh-compare-"))
        path = plans.comparison_workbook(
            result,
            rec_a,
            rec_b,
            snap.layer("counties"),
            folder / f"comparison-{a}-{b}.xlsx",
            SYNTHETIC_NOTICE_EN,
        )

        def cleanup() -> None:
            path.unlink(missing_ok=True)
            folder.rmdir()

        return FileResponse(
            path, media_type=MEDIA["xlsx"], filename=path.name, background=BackgroundTask(cleanup)
        )
    return _json(
        {
            "a": rec_a,
            "b": rec_b,
            "summary": result.summary,
            "counties": json_records(result.counties),
            "equity": json_records(result.equity),
            "notice": SYNTHETIC_NOTICE_EN,
        }
    )
