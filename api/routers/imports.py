"""Imports through the browser: upload, preview, rejected rows, confirm, cancel, undo, templates.

Thin: the work is ``services.intake``. The upload's size is limited before its body is read
(``api.guard.BodyLimit``: Content-Length, then counted while it streams) and again while it is
written to the job's private folder. Every job belongs to the user who uploaded it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile

from api.deps import MEDIA, national_snapshot, written_file
from api.schemas import (
    BINARY,
    GeoJSONResponse,
    ImportJob,
    ImportList,
    ImportPreview,
    ImportRecord,
    ImportRows,
    declared,
    declared_media,
    header,
    upload_body,
)
from api.security import current_user, signed_in_user
from exchange.templates import field_label
from geo.errors import BadParameter, ImportFileError
from services.intake import BROWSER_LAYERS, ImportJobs, User, layers_for
from services.snapshot import Snapshot

router = APIRouter(tags=["Imports"])

ImportId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="the import's id")]
Lang = Annotated[Literal["fa", "en"], Query(description="language of the messages")]
LayerName = Literal["ngos", "target_areas", "county_needs", "ngo_evaluations", "volunteer_groups"]


def jobs(request: Request) -> ImportJobs:
    return request.app.state.imports


def acting(request: Request) -> User:
    user = signed_in_user(request)
    provinces = None if user.national else frozenset(user.provinces)
    return User(user.username, user.role, provinces)


def _summary(service: ImportJobs, job, lang: str = "fa", limit: int = 1000) -> dict:
    out = job.summary()
    rows = service.rejected_rows(job)
    out["rejected_rows"] = [
        {
            **r,
            "field_label": field_label(r["field"], lang),
            "text": r["message_fa"] if lang == "fa" else r["message"],
        }
        for r in rows[:limit]
    ]
    out["links"] = {
        "self": f"/imports/{job.id}",
        "rows": f"/imports/{job.id}/rows",
        "rejected": f"/imports/{job.id}/rejected.xlsx?lang={lang}",
        "confirm": f"/imports/{job.id}/confirm",
        "cancel": f"/imports/{job.id}/cancel",
    }
    return out


@router.post(
    "/imports",
    status_code=202,
    summary="Upload a file to import: it is read and checked in the background (poll the import)",
    openapi_extra=upload_body("XLSX, CSV, GeoJSON, GeoPackage or a zipped shapefile"),
    responses={
        202: {
            "model": ImportPreview,
            "description": "accepted: poll GET /imports/{import_id} for progress and the preview",
            "headers": {"Location": header("the import's address")},
        },
        400: {"description": "no file, or not a multipart form"},
        403: {"description": "the role may not import this layer"},
        413: {"description": "the file is larger than AMAYESH_MAX_UPLOAD_MB"},
        429: {"description": "too many imports open"},
    },
)
async def upload(
    request: Request,
    layer: Annotated[LayerName, Query(description="the layer the file is for")],
    lang: Lang = "fa",
) -> JSONResponse:
    from fastapi.concurrency import run_in_threadpool

    service = jobs(request)
    user = acting(request)
    settings = request.app.state.settings
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadParameter("send the file as multipart/form-data in a field named 'file'")
    form = await request.form(max_files=1, max_fields=4)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise BadParameter("the form has no file in a field named 'file'")
        job = service.new_job(user, layer, upload_file.filename or "upload")

        def chunks():
            while True:
                block = upload_file.file.read(1 << 20)
                if not block:
                    return
                yield block

        try:
            await run_in_threadpool(service.receive, job, chunks(), settings.max_upload_mb * 2**20)
        except ImportFileError as err:
            from api.errors import problem

            return problem(413, "Request body too large", err.user_message, code="too-large")
    finally:
        await form.close()
    service.start(job)
    return JSONResponse(
        _summary(service, job, lang), status_code=202, headers={"Location": f"/imports/{job.id}"}
    )


@router.get(
    "/imports",
    summary="Your open imports, the recent confirmed imports and the layers you may import",
    response_model=None,
    responses=declared(ImportList),
)
def list_imports(request: Request) -> dict:
    service = jobs(request)
    user = acting(request)
    service.sweep()
    mine = [j.summary() for j in service.jobs.values() if j.owner == user.username]
    return {
        "layers": layers_for(user),
        "open": sorted(mine, key=lambda j: j["created_at"], reverse=True),
        "recent": service.recent(user),
    }


@router.get(
    "/imports/{import_id}",
    summary="An import's progress and preview: counts and rejected rows",
    response_model=None,
    responses=declared(ImportPreview),
)
def get_import(request: Request, import_id: ImportId, lang: Lang = "fa") -> dict:
    service = jobs(request)
    return _summary(service, service.get(import_id, acting(request)), lang)


@router.get(
    "/imports/{import_id}/rows",
    summary="The rows an import would write, as GeoJSON (change: added, updated, unchanged)",
    response_class=GeoJSONResponse,
    responses=declared(ImportRows),
)
def import_rows(
    request: Request, import_id: ImportId, limit: Annotated[int, Query(ge=1, le=50_000)] = 5000
) -> JSONResponse:
    service = jobs(request)
    job = service.get(import_id, acting(request))
    return JSONResponse(service.rows_geojson(job, limit), media_type="application/geo+json")


@router.get(
    "/imports/{import_id}/rejected.xlsx",
    summary="The rejected rows as they were in the file, with their reasons: fix them and upload again",
    response_class=FileResponse,
    responses=declared_media({MEDIA["xlsx"]: BINARY}, "the rejected rows (XLSX)"),
)
def rejected_rows(request: Request, import_id: ImportId, lang: Lang = "fa") -> FileResponse:
    service = jobs(request)
    job = service.get(import_id, acting(request))
    return _file(lambda path: service.rejected_workbook(job, path, lang), f"rejected-{job.layer}.xlsx")


@router.post(
    "/imports/{import_id}/confirm",
    summary="Write every previewed row, or none (409 if any is rejected)",
    response_model=None,
    responses=declared(ImportRecord, "the record of the confirmed import"),
)
def confirm(request: Request, import_id: ImportId) -> dict:
    return jobs(request).confirm(import_id, acting(request))


@router.post(
    "/imports/{import_id}/cancel",
    summary="Drop an import and delete its file",
    response_model=None,
    responses=declared(ImportJob, "the import, cancelled"),
)
def cancel(request: Request, import_id: ImportId) -> dict:
    return jobs(request).cancel(import_id, acting(request)).summary()


@router.post(
    "/imports/{import_id}/undo",
    summary="Undo a confirmed import: restore the layer as it was before (administrators)",
    response_model=None,
    responses=declared(ImportRecord, "the record, with undone_by and undone_at"),
)
def undo(request: Request, import_id: ImportId) -> dict:
    return jobs(request).undo(import_id, acting(request))


@router.get(
    "/import-templates/{layer_name}",
    summary="The template workbook of a layer: Persian and English headers, code lists",
    response_class=FileResponse,
    responses=declared_media({MEDIA["xlsx"]: BINARY}, "the template workbook (XLSX)"),
)
def template(
    request: Request,
    layer_name: Annotated[LayerName, PathParam(description=", ".join(BROWSER_LAYERS))],
    snap: Annotated[Snapshot, Depends(national_snapshot)],
    lang: Lang = "fa",
) -> FileResponse:
    from exchange.templates import template_workbook
    from geo.errors import Forbidden

    user = acting(request)
    if not ImportJobs.may_import(user, layer_name):
        raise Forbidden(f"the role {user.role} may not import {layer_name}")
    provinces = snap.layer("provinces")
    counties = snap.layer("counties")
    if user.provinces is not None:
        provinces = provinces[provinces["province_code"].isin(user.provinces)]
        counties = counties[counties["province_code"].isin(user.provinces)]
    scale = snap.norms.ratings
    grades = (
        [(g.code, g.fa, g.en) for g in scale.grades.values()]
        if scale is not None and layer_name == "ngo_evaluations"
        else None
    )
    vnorms = snap.norms.volunteers
    specialities = (
        [(s.code, s.fa, s.en) for s in vnorms.specialities.values()]
        if vnorms is not None and layer_name == "volunteer_groups"
        else None
    )
    return _file(
        lambda path: template_workbook(
            layer_name, path, provinces, counties, lang, grades, specialities, snap.norms.service_types
        ),
        f"template-{layer_name}.xlsx",
    )


def _file(write, name: str) -> FileResponse:
    return written_file("amayesh-import-", name, write, MEDIA["xlsx"])


@router.get("/maps/import", response_class=HTMLResponse, tags=["Map pages"], summary="The import page")
def import_page(
    request: Request,
    snap: Annotated[Snapshot, Depends(national_snapshot)],
    lang: Lang = "fa",
) -> HTMLResponse:
    from api.guard import page_response
    from api.security import pages_for, personalise
    from maps.office import import_page as render

    user = acting(request)
    who = current_user(request)
    from services.catalogue import describe

    admin = user.role == "admin"
    html = render(
        lang,
        layers=layers_for(user),
        can_undo=admin,
        as_of=snap.as_of,
        pages=pages_for(who),
        # administrators keep the service catalogue here too (``POST /catalogue``)
        catalogue=describe(snap.norms, snap.layers.get("norms_versions")) if admin else None,
    )
    return page_response(personalise(html, request, lang), request.app.state.settings.basemap_url)
