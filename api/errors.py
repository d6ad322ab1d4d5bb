"""Errors as RFC 9457 problem+json: a message a user can act on, never a stack trace.

``STATUS`` is the one table from domain errors (``geo.errors``) to HTTP status. An error takes
the status of the most specific class of its family listed here; a test checks that every
domain error resolves through it.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo import errors as e

log = logging.getLogger("amayesh")

#: Domain error -> HTTP status (the most specific class in an error's MRO wins).
STATUS: dict[type[e.AmayeshError], int] = {
    # what a user asked or sent
    e.InputError: 400,
    # who is asking (api.security)
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.BadParameter: 400,
    e.BadPeriod: 400,
    e.AnalysisInputError: 400,
    e.CRSMismatchError: 400,
    e.ImportFileError: 400,
    e.ImportRejected: 422,
    e.HierarchyRejected: 422,
    e.SchemaError: 422,
    # what a user asked for does not exist
    e.NotFoundError: 404,
    e.UnknownLayerError: 404,
    e.UnknownFeatureError: 404,
    e.UnknownSettlementError: 404,
    e.UnknownProvinceError: 404,
    e.ScenarioNotFound: 404,
    e.UnknownUserError: 404,
    e.ApplicationNotFound: 404,
    e.ActivityNotFound: 404,
    e.ActivityRejected: 422,
    e.NormsRejected: 422,
    # licence applications: edits need the version they were based on (ETag / If-Match)
    e.InvalidTransition: 409,
    # imports through the browser: confirm, cancel, undo at the wrong moment; too many open
    e.ImportConflict: 409,
    e.TooManyImports: 429,
    e.TooManyPlanJobs: 429,
    e.PlanJobNotFound: 404,
    e.ImportNotFound: 404,
    e.PreconditionFailed: 412,
    e.PreconditionRequired: 428,
    # a conflict with what is stored
    e.AlreadyExists: 409,
    # the service cannot answer: its store, configuration or installed files are at fault
    e.ServerFault: 503,
    e.StoreError: 503,
    e.NoSpace: 507,
    e.ConfigurationError: 503,
    e.ReferenceDataError: 503,
    e.AssetsMissing: 503,
    # a domain error outside the four kinds is a fault of ours
    e.AmayeshError: 500,
}

TITLES = {400: "Bad request", 404: "Not found", 409: "Conflict", 422: "Unprocessable content"}
TITLES |= {412: "Precondition failed", 428: "Precondition required", 429: "Too many requests"}
TITLES |= {500: "Internal error", 503: "Service unavailable", 507: "Insufficient storage"}


#: The ``code`` of a problem answered by Starlette itself (no route, wrong method, too large).
HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}


def _limits(ctx: object) -> dict:
    """The limits of a validation error (ge, le, min_length, …) as plain numbers and text."""
    if not isinstance(ctx, dict):
        return {}
    return {k: v for k, v in ctx.items() if isinstance(v, int | float | str) and not isinstance(v, bool)}


def status_of(err: e.AmayeshError) -> int:
    """The HTTP status of a domain error: that of the nearest class of its family in ``STATUS``."""
    return next(STATUS[cls] for cls in type(err).__mro__ if cls in STATUS)


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def allowed_methods(app, scope) -> list[str]:
    """The methods some route of the app answers on this request's path."""
    from starlette.routing import Match

    def walk(routes):
        for route in routes:  # included routers are listed as containers of their routes
            inner = getattr(getattr(route, "original_router", None), "routes", None)
            yield from walk(inner) if inner else (route,)

    methods: set[str] = set()
    for route in walk(app.router.routes):
        # FULL or PARTIAL: the path is this route's, whatever the method
        if getattr(route, "methods", None) and route.matches(scope)[0] != Match.NONE:
            methods |= set(route.methods)
    if "GET" in methods:
        methods.add("HEAD")  # api.guard.HeadAsGet answers HEAD wherever GET is answered
    return sorted(methods)


#: pydantic's kinds of error and the words that say them (the pages' ``fieldProblem`` in
#: maps/static/common.js says the same from the same catalogue), with the limit each names.
_BOUNDS = {
    "greater_than_equal": ("invalid_min", "ge"),
    "greater_than": ("invalid_above", "gt"),
    "less_than_equal": ("invalid_max", "le"),
    "less_than": ("invalid_below", "lt"),
    "string_too_short": ("invalid_short", "min_length"),
    "string_too_long": ("invalid_long", "max_length"),
}


def validation_words(errors: list[dict], lang: str = "fa") -> str:
    """The refused fields in words (``detail_fa`` in Persian; a refusal page in its language):
    each field's name from the catalogue (else the parameter's own name) and what is wrong with
    it, with its limit (in Persian digits in Persian)."""
    from geo.decisions import fa_number
    from maps.i18n import words
    from maps.ogc import property_label

    i = 0 if lang == "fa" else 1

    def said(key: str) -> str | None:
        try:
            return words(key)[i]
        except KeyError:
            return None

    parts = []
    for err in errors[:5]:
        names = [x for x in err["loc"] if isinstance(x, str) and x not in ("body", "query", "path", "header")]
        name = names[-1] if names else None
        # a parameter's catalogue name, else a collection property's (a filter by it), else its own
        label = (
            (said(f"field_{name}") or property_label(name, lang) or f"«{name}»")
            if name
            else said("field_request")
        )
        kind = err.get("type", "")
        bound = _BOUNDS.get(kind)
        if bound:
            key = bound[0]
        elif kind == "missing":
            key = "invalid_missing"
        elif kind.startswith("int_"):
            key = "invalid_integer"
        elif kind.startswith(("float_", "finite_number", "decimal_")):
            key = "invalid_number"
        elif kind in ("enum", "literal_error"):
            key = "invalid_choice"
        elif kind == "extra_forbidden":
            key = "invalid_extra"
        else:
            key = "invalid_other"
        text = said(key) or ""
        if bound:
            limit = err.get("ctx", {}).get(bound[1])
            if isinstance(limit, int | float) and not isinstance(limit, bool):
                decimals = 0 if float(limit).is_integer() else min(len(repr(float(limit)).split(".")[-1]), 6)
                limit = fa_number(limit, decimals) if lang == "fa" else f"{limit:.{decimals}f}"
            text = text.replace("{limit}", str(limit))
        parts.append(f"{label}: {text}")
    return " · ".join(parts) or (said("err_status_400") or "")


def validation_errors(err: RequestValidationError) -> tuple[int, list[dict]]:
    """The status of a refused request (OGC API Features: a bad parameter value is a 400; a bad
    body stays a 422) and its errors, each with pydantic's ``type`` and its limits (``ctx``): the
    pages say them per field in their language (maps/static/common.js ``problemText``)."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        | ({"ctx": ctx} if (ctx := _limits(e.get("ctx"))) else {})
        for e in err.errors()
    ]
    return (422 if any(e["loc"][:1] == ["body"] for e in errors) else 400), errors


def install(app: FastAPI) -> None:
    @app.exception_handler(e.AmayeshError)
    async def domain_error(request: Request, err: e.AmayeshError) -> JSONResponse:
        status = status_of(err)
        if status >= 500:
            log.error("%s on %s: %s", type(err).__name__, request.url.path, err)
        # An error that carries its message in Persian as well gives both (``detail_fa``).
        extra: dict[str, object] = {"detail_fa": err.message_fa} if err.message_fa else {}
        if isinstance(err, e.NormsRejected):  # every reason, as given
            extra["reasons"] = err.reasons
            extra["reasons_fa"] = err.reasons_fa
        if isinstance(err, e.ActivityRejected):  # every refused row with its reason, both languages
            extra["problems"] = json.loads(err.problems.to_json(orient="records", force_ascii=False))
        return problem(status, TITLES[status], err.user_message, code=err.code, **extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        # Keep the headers Starlette gives; on a 405 ``Allow`` lists the methods of every route of
        # the path (Starlette names only those of the first route that matched it).
        headers = dict(getattr(err, "headers", None) or {})
        if err.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        code = HTTP_CODES.get(err.status_code, "http-error")
        return problem(err.status_code, "HTTP error", str(err.detail), headers=headers or None, code=code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        status, errors = validation_errors(err)
        detail = "; ".join(f"{e['loc'][-1] if e['loc'] else 'request'}: {e['msg']}" for e in errors[:5])
        return problem(
            status,
            "Invalid request",
            detail or "some parameters are not valid",
            errors=errors,
            code="validation",
            detail_fa=validation_words(errors),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500, "Internal error", "the service failed; the error has been logged", code="internal"
        )
