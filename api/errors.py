"""Errors as RFC 9457 problem+json: a message a user can act on, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import AmayeshError, SchemaError, UnknownLayerError
from store.base import StoreError

log = logging.getLogger("amayesh")

#: Domain error -> HTTP status. Anything not listed is a 400.
STATUS = {UnknownLayerError: 404, StoreError: 409, SchemaError: 422}  # others: 400


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(AmayeshError)
    async def domain_error(request: Request, err: AmayeshError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(err, cls)), 400)
        return problem(status, type(err).__name__, err.user_message, code=err.code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        # Keep the headers Starlette gives, e.g. Allow on a 405.
        return problem(err.status_code, "HTTP error", str(err.detail), headers=getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in err.errors()]
        # OGC API Features: a bad parameter value is a 400; a bad request body stays a 422.
        in_body = any(e["loc"][:1] == ["body"] for e in errors)
        status = 422 if in_body else 400
        detail = "; ".join(f"{e['loc'][-1] if e['loc'] else 'request'}: {e['msg']}" for e in errors[:5])
        return problem(status, "Invalid request", detail or "some parameters are not valid", errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, "Internal error", "the service failed; the error has been logged")
