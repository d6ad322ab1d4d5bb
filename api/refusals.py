"""A person refused a page, or sent to one that is not there, reads a page, not problem+json.

A browser opening a page (``GET``, ``Accept: text/html``, a path under ``/maps/`` other than the
pages' data, or any navigation of the browser) that its caller may not open (403), that does not
exist or is outside the caller's provinces (404), with a value the page cannot take (400: which
field and why), or without a live session (401), gets a page
in the page's language (``lang=en``, else Persian) with the same status: why, and what to do
next (the pages the caller may open, or sign in). Programs and the pages' own data requests
(``fetch``, which asks for ``*/*``) keep problem+json with its ``code`` (``api/errors.py``),
which the pages' scripts say in their language (``maps/static/common.js``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import validation_errors, validation_words
from api.guard import page_response
from api.security import identify, pages_for, personalise, sign_in_location
from geo.errors import AmayeshError, BadParameter, Forbidden, NotFoundError, Unauthenticated
from maps.i18n import strings
from maps.office import refusal_page


def wants_page(request: Request) -> bool:
    """A person opening a page in the browser (not a page's data request, not a program)."""
    path = request.url.path
    if request.method not in ("GET", "HEAD") or "text/html" not in request.headers.get("accept", ""):
        return False
    if path.startswith("/maps/data/"):
        return False
    return path.startswith("/maps") or request.headers.get("sec-fetch-mode") == "navigate"


def page_language(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "fa"


def _page_name(request: Request) -> str | None:
    """The page the address names (``/maps/plan`` → plan), if it is one of the top bar's."""
    parts = request.url.path.strip("/").split("/")
    return parts[1] if len(parts) == 2 and parts[0] == "maps" else None


def _other_url(request: Request, lang: str) -> str:
    query = dict(request.query_params) | {"lang": "en" if lang == "fa" else "fa"}
    return f"{request.url.path}?{urlencode(query)}"


def refusal(request: Request, status: int, code: str, detail: str = "") -> Response:
    """The page that says why ``request`` was refused (``status``, ``code``) and what to do next."""
    lang = page_language(request)
    text = strings(lang)
    try:
        user = identify(request).user
    except Unauthenticated:
        user = None
    sign_in = None
    if status == 401 or (user is None and status == 403):
        title, why, sign_in = text["sign_in_title"], text["sign_in_needed"], sign_in_location(request)
    elif status in (400, 422):  # a value in the address the page cannot take: which, and why
        title, why = text["bad_request_title"], detail or text["err_status_400"]
    elif status == 403 and code in ("outside-provinces", "choose-province"):
        title, why = text["refused_scope_title"], text["refused_scope"]
    elif status == 403:
        page = _page_name(request)
        role = user.role if user is not None else ""
        title = text["refused_role_title"]
        why = text["refused_role"].format(
            page=text.get(f"page_{page}", text["app"]), role=text.get(f"role_{role}", role)
        )
    elif code == "unknown-settlement":
        number = request.url.path.rsplit("/", 1)[-1]
        digits = number.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) if lang == "fa" else number
        title, why = text["not_found_title"], text["not_found_settlement"].format(code=digits)
    elif code == "no-page" or (code == "not-found" and _page_name(request) is not None):
        title, why = text["not_found_title"], text["not_found_page"]
    else:
        title, why = text["not_found_title"], text["not_found_thing"]
    html = refusal_page(
        lang,
        status=status,
        title=title,
        text=why,
        pages=pages_for(user),
        sign_in_url=sign_in,
        other_url=_other_url(request, lang),
    )
    response = page_response(personalise(html, request, lang))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="amayesh"'
    return response


def install(app: FastAPI) -> None:
    """Answer refusals and missing things as pages to a browser (after ``errors`` and
    ``security`` have installed the problem+json answers, which the rest keep)."""
    handlers = app.exception_handlers
    domain = handlers[AmayeshError]
    forbidden = handlers[Forbidden]
    unauthenticated = handlers[Unauthenticated]
    http_error = handlers[StarletteHTTPException]
    invalid = handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def bad_value(request: Request, err: RequestValidationError):
        if wants_page(request):
            status, errors = validation_errors(err)
            return refusal(request, status, "validation", validation_words(errors, page_language(request)))
        return await invalid(request, err)

    @app.exception_handler(BadParameter)
    async def bad_parameter(request: Request, err: BadParameter):
        # an unknown parameter, a bbox or a period the page cannot read: said in the page's
        # language (the English message names the parameter; a period's says it in Persian too)
        if wants_page(request):
            lang = page_language(request)
            detail = err.message_fa or strings("fa")["err_bad-parameter"]
            return refusal(request, 400, err.code, err.user_message if lang == "en" else detail)
        return await domain(request, err)

    @app.exception_handler(Forbidden)
    async def refused(request: Request, err: Forbidden):
        if wants_page(request):
            return refusal(request, 403, err.code)
        return await forbidden(request, err)

    @app.exception_handler(Unauthenticated)
    async def signed_out(request: Request, err: Unauthenticated):
        if wants_page(request):
            return refusal(request, 401, err.code)
        return await unauthenticated(request, err)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, err: NotFoundError):
        if wants_page(request):
            return refusal(request, 404, err.code)
        return await domain(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def no_route(request: Request, err: StarletteHTTPException):
        if err.status_code == 404 and wants_page(request):
            return refusal(request, 404, "no-page")
        return await http_error(request, err)
