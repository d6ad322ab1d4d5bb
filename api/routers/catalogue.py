"""The service catalogue: which services, delivered how and by whom, with their norms.

Everyone signed in reads it (``GET /catalogue``) and the norms file in force
(``GET /catalogue/norms.toml``); an administrator imports a new version of the norms file
(``POST /catalogue``), checked whole and refused with every reason (``services.catalogue``). It
is in force for every process of the service at its next request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from api.deps import national_snapshot
from api.schemas import TEXT, Catalogue, declared, declared_media, upload_body
from api.security import signed_in_user
from geo.errors import BadParameter, NormsRejected
from services import catalogue as C
from services.snapshot import Snapshot

router = APIRouter(tags=["Service catalogue"])


def _versions(snap: Snapshot):
    return snap.layers.get("norms_versions")


@router.get(
    "/catalogue",
    summary="The service catalogue in force: services, delivery modes, providers, norms, versions",
    response_model=None,
    responses=declared(Catalogue),
)
def catalogue(national: Annotated[Snapshot, Depends(national_snapshot)]) -> dict:
    return C.describe(national.norms, _versions(national))


@router.get(
    "/catalogue/norms.toml",
    summary="The norms file in force (TOML): download it, edit it, import it as a new version",
    response_model=None,
    response_class=Response,
    responses=declared_media({"application/toml": TEXT}, "the norms file"),
)
def norms_file(request: Request, national: Annotated[Snapshot, Depends(national_snapshot)]) -> Response:
    text = C.text_in_force(_versions(national), request.app.state.settings.norms)
    name = f"norms-{national.norms.version}.toml".replace("/", "-")
    return Response(
        text.encode("utf-8"),
        media_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/catalogue",
    status_code=201,
    summary="Import a new version of the norms and service catalogue (TOML): all or nothing (administrators)",
    openapi_extra=upload_body("the norms file (TOML, UTF-8, at most 256 KB) with a new version"),
    response_model=None,
    responses=declared(Catalogue, "imported: the catalogue now in force", status=201),
)
async def import_catalogue(request: Request) -> JSONResponse:
    user = signed_in_user(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadParameter("send the norms file as multipart/form-data in a field named 'file'")
    form = await request.form(max_files=1, max_fields=2, max_part_size=C.MAX_BYTES + 1)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadParameter("the form has no file in a field named 'file'")
        content = await upload.read(C.MAX_BYTES + 1)
    finally:
        await form.close()
    snapshots = request.app.state.snapshots
    national = await national_snapshot(request)
    accounts = request.app.state.accounts
    try:
        new = await run_in_threadpool(
            C.import_norms, snapshots.store, content, user.username, national.norms, national.layers
        )
    except NormsRejected as err:
        accounts.record(
            None, user.username, "catalogue.refused", national.norms.version, None, err.reasons[:20]
        )
        raise
    accounts.record(
        None,
        user.username,
        "catalogue.import",
        str(new.version),
        {"version": str(national.norms.version), "services": list(national.norms.services)},
        {"version": str(new.version), "services": list(new.services)},
    )
    now = await run_in_threadpool(snapshots.current)
    return JSONResponse(
        C.describe(now.norms, _versions(now)), status_code=201, headers={"Location": "/catalogue"}
    )
