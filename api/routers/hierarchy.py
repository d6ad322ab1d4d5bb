"""Versions of the county divisions: the list, one version with its counties and changes, a county
table carried to a version, a new version imported from a file (administrators), its template.

Thin: the work is ``services.hierarchy`` (and ``geo.hierarchy``). The versions are reference
tables that every signed-in role reads whole; the figures a table carries are the caller's own
provinces' (the ``snapshot`` dependency's view), and so are the rows answered.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from api.deps import MEDIA, json_records, national_snapshot, snapshot
from api.errors import problem
from api.schemas import (
    TEXT,
    HierarchyImported,
    HierarchyVersionDetail,
    HierarchyVersions,
    Reaggregated,
    SettlementHistory,
    declared,
    header,
    upload_body,
)
from api.security import signed_in_user
from geo.errors import BadParameter, ImportFileError, UnknownSettlementError
from services import hierarchy as H
from services.scope import require_province, restrict
from services.snapshot import Snapshot

router = APIRouter(tags=["Divisions"])

VersionId = Annotated[
    str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="a division version's id")
]
CSV = {MEDIA["csv"].split(";")[0]: {"schema": {**TEXT, "description": "UTF-8 with a byte-order mark"}}}


def _hierarchy(snap: Snapshot):
    return H.require(H.hierarchy_from_layers(snap.layers))


@router.get(
    "/hierarchy/versions",
    summary="The versions of the county divisions, with their validity dates and sources",
    response_model=None,
    responses=declared(HierarchyVersions),
)
def versions(national: Annotated[Snapshot, Depends(national_snapshot)]) -> dict:
    hierarchy = _hierarchy(national)
    listed = H.version_summaries(hierarchy)
    return {
        "numberReturned": len(listed),
        "versions": listed,
        "figures_version": H.figures_version(hierarchy, national.layer("counties")["county_code"]),
    }


@router.get(
    "/hierarchy/versions/{version_id}",
    summary="One version: its counties and its changes from its base version (f=csv: a table)",
    response_model=None,
    responses={
        **declared(HierarchyVersionDetail),
        200: {**declared(HierarchyVersionDetail)[200], "content": CSV},
    },
)
def version(
    national: Annotated[Snapshot, Depends(national_snapshot)],
    version_id: VersionId,
    f: Annotated[Literal["json", "csv"], Query(description="answer format")] = "json",
    table: Annotated[Literal["units", "changes"], Query(description="the table of a CSV")] = "units",
) -> Response:
    hierarchy = _hierarchy(national)
    if f == "csv":
        body = H.version_csv(hierarchy, version_id, table)
        name = f"{version_id}-{table}.csv"
        return Response(
            body, media_type=MEDIA["csv"], headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    hierarchy.version(version_id)  # 404 for an unknown version
    summary = next(v for v in H.version_summaries(hierarchy) if v["version_id"] == version_id)
    units = hierarchy.units_of(version_id)[
        ["county_code", "province_code", "name_fa", "name_en", "parent_county_code"]
    ]
    changes = hierarchy.changes_of(version_id)[
        ["county_code", "from_county_code", "share", "share_basis", "source"]
    ]
    return JSONResponse({"version": summary, "units": json_records(units), "changes": json_records(changes)})


@router.get(
    "/hierarchy/versions/{version_id}/reaggregate",
    summary="A county table of the store (population, county_needs) carried to this version, totals kept",
    response_model=None,
    responses={**declared(Reaggregated), 200: {**declared(Reaggregated)[200], "content": CSV}},
)
def reaggregate(
    snap: Annotated[Snapshot, Depends(snapshot)],
    national: Annotated[Snapshot, Depends(national_snapshot)],
    version_id: VersionId,
    table: Annotated[
        Literal["population", "county_needs"],
        Query(description="population: the counties' 1395 census figure; county_needs: target populations"),
    ] = "population",
    province: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="only this province's counties (2 digits)")
    ] = None,
    f: Annotated[Literal["json", "csv"], Query(description="answer format")] = "json",
) -> Response:
    from api.routers.assessments import known_province, notice

    require_province(snap, province)
    hierarchy = _hierarchy(national)
    source = H.figures_version(hierarchy, national.layer("counties")["county_code"])
    carried = H.reaggregate_table(hierarchy, snap.layers, table, source, version_id)
    scope = getattr(snap, "scope", None)
    rows = carried.rows if scope is None else restrict(carried.rows, scope)
    if known_province(snap, province):
        rows = rows[rows["province_code"] == province]
    if f == "csv":
        about = [
            ("table", table),
            ("from_version", carried.from_version),
            ("to_version", version_id),
            ("province", province or "all"),
        ]
        return Response(
            H.table_csv(rows, about),
            media_type=MEDIA["csv"],
            headers={"Content-Disposition": f'attachment; filename="{table}-{version_id}.csv"'},
        )
    return JSONResponse(
        {
            "table": table,
            "from_version": carried.from_version,
            "to_version": version_id,
            "totals": carried.totals,
            "numberReturned": len(rows),
            "rows": json_records(rows),
            "notice": notice(snap) if table == "county_needs" else None,
        }
    )


@router.get(
    "/hierarchy/settlements/{code}",
    summary="A settlement's county in every version of the divisions (its history through splits and merges)",
    response_model=None,
    responses=declared(SettlementHistory),
)
def settlement_history(
    snap: Annotated[Snapshot, Depends(snapshot)],
    national: Annotated[Snapshot, Depends(national_snapshot)],
    code: Annotated[str, PathParam(pattern=r"^\d{10}(\d{6})?$", description="settlement code")],
) -> dict:
    settlements = snap.layer("settlements")  # the caller's provinces only
    found = settlements[settlements["settlement_code"] == code]
    if found.empty:
        raise UnknownSettlementError(f"no settlement {code} in your provinces")
    hierarchy = _hierarchy(national)
    known = H.figures_version(hierarchy, national.layer("counties")["county_code"])
    if known is None:
        raise BadParameter(
            "the store's counties are those of no division version: import the version they are in first",
            code="no-figures-version",
        )
    boundaries = H.boundaries_by_version(national.layers)
    return {
        "settlement_code": code,
        "name_fa": str(found["name_fa"].iloc[0]),
        "known_version": known,
        "versions": H.settlement_in_versions(hierarchy, found, known, boundaries),
    }


@router.post(
    "/hierarchy/versions",
    status_code=201,
    summary="Import a new version of the divisions from a CSV or XLSX file: every row or none (administrators)",
    openapi_extra=upload_body("CSV or XLSX: code, name_fa, name_en, parent, valid_from, share"),
    response_model=None,
    responses=declared(
        HierarchyImported,
        "imported",
        status=201,
        headers={"Location": header("the new version's address")},
    ),
)
async def import_version(
    request: Request,
    id: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="the new version's id")],
    name_fa: Annotated[str, Query(min_length=1, max_length=200, description="its Persian name")],
    name_en: Annotated[str | None, Query(max_length=200, description="its English name")] = None,
    base: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
            description="the version it is made from (default: the open one that began last)",
        ),
    ] = None,
) -> JSONResponse:
    from fastapi.concurrency import run_in_threadpool

    user = signed_in_user(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadParameter("send the file as multipart/form-data in a field named 'file'")
    form = await request.form(max_files=1, max_fields=4)
    folder = Path(tempfile.mkdtemp(prefix="amayesh-hierarchy-"))  # mode 0700, never served
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadParameter("the form has no file in a field named 'file'")
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise ImportFileError("a division file is a CSV or XLSX table (.csv, .xlsx)", "format")
        path = folder / f"divisions{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out)
        accounts = request.app.state.accounts
        store = request.app.state.snapshots.store

        def audit(actor, action, target, old=None, new=None) -> None:
            accounts.record(None, actor, action, target, old, new)

        try:
            done = await run_in_threadpool(
                lambda: H.import_division_version(
                    store,
                    path,
                    version_id=id,
                    name_fa=name_fa,
                    name_en=name_en,
                    base=base,
                    actor=user.username,
                    audit=audit,
                    via="http",
                )
            )
        except H.HierarchyRejected as err:
            return problem(
                422,
                "Unprocessable content",
                err.user_message,
                code=err.code,
                problems=H.problem_records(err.problems),
            )
    finally:
        await form.close()
        shutil.rmtree(folder, ignore_errors=True)
    stored = await run_in_threadpool(lambda: H.require(H.hierarchy_of_store(store)))
    summary = next(v for v in H.version_summaries(stored) if v["version_id"] == done.version_id)
    return JSONResponse(
        {"version": summary, "closed_base": done.closed_base, "record": done.record},
        status_code=201,
        headers={"Location": f"/hierarchy/versions/{done.version_id}"},
    )


@router.get(
    "/hierarchy/template.csv",
    summary="The template of a division file: its headers and two example rows",
    response_class=Response,
    responses={200: {"description": "the template (CSV)", "content": CSV}},
)
def template() -> Response:
    return Response(
        H.template_csv(),
        media_type=MEDIA["csv"],
        headers={"Content-Disposition": 'attachment; filename="divisions-template.csv"'},
    )
