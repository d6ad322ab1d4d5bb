"""What keeps the service up under hostile load: body size, heavy-work admission, security headers.

Three ASGI middlewares, installed by ``install``:

* ``SecurityHeaders``: on every response ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin`` (no referrer leaves the service; Chromium sends ``Origin: null`` on a same-origin form post under ``no-referrer``, which the sign-in refuses), ``Cross-Origin-Opener-Policy`` and a
  Content-Security-Policy: ``default-src 'none'; frame-ancestors 'none'`` for data, and for the map
  pages (``page_response``) scripts only from the service or with the response's own nonce.
* ``BodyLimit``: a request body over ``max_body_bytes`` is refused with 413 (by its
  Content-Length, or while it streams), before any handler reads it.
* ``HeavyLimit``: heavy requests (analysis, exports, map pages and their data) are admitted
  ``heavy_workers`` at a time, with at most ``heavy_queue`` waiting; beyond that 503, and past
  ``heavy_per_client`` from one client 429, both with ``Retry-After``. Handlers are plain
  functions that run in the thread pool, so the event loop itself never computes: ``/health``
  answers while the workers are busy.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths whose every request is heavy (recomputation, page builds, whole-layer data).
HEAVY_PATHS = ("/priorities", "/saturation", "/concentration", "/licence-checks", "/trends")
HEAVY_PREFIXES = ("/settlements/", "/maps/", "/plans/")

_SCRIPT = re.compile(r"<script(?=[\s>])", re.IGNORECASE)

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def page_csp(nonce: str, basemap_url: str | None = None) -> str:
    """The map pages' policy: scripts from the service or carrying this response's nonce.

    Styles allow ``'unsafe-inline'``: the pages' script sets colours and sizes in ``style``
    attributes of the legends, clusters and score bars it writes (a nonce cannot cover
    attributes). Images may come from the configured base map's host.
    """
    img = "'self' data: blob:"
    if basemap_url:
        parts = urlsplit(basemap_url.replace("{", "").replace("}", ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            img += f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def page_response(html: str, basemap_url: str | None = None) -> HTMLResponse:
    """A rendered page with a fresh nonce on each of its inline scripts, and the policy naming it."""
    nonce = secrets.token_urlsafe(18)
    body = _SCRIPT.sub(f'<script nonce="{nonce}"', html)
    return HTMLResponse(body, headers={"Content-Security-Policy": page_csp(nonce, basemap_url)})


#: The stable ``code`` of the guard's refusals, which the pages translate (maps/static/common.js).
GUARD_CODES = {413: "too-large", 429: "busy", 503: "busy"}


async def send_problem(
    send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    code = GUARD_CODES.get(status, "bad-request")
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code},
        ensure_ascii=False,
    ).encode("utf-8")
    raw = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """``max_bytes`` for every body, but ``uploads`` (method, path) -> bytes for file uploads."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, uploads: dict[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = self.uploads.get((scope.get("method", ""), scope.get("path", "")))
        max_bytes = upload or self.max_bytes
        setting = "AMAYESH_MAX_UPLOAD_MB" if upload else "AMAYESH_MAX_BODY_BYTES"
        detail = f"the request body is larger than {max_bytes:,} bytes ({setting})"
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await send_problem(send, 400, "Bad request", "Content-Length is not a number")
                return
            if declared > max_bytes:
                await send_problem(send, 413, "Request body too large", detail)
                return
        received = 0
        started = False

        async def limited() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except BodyTooLarge:
            if not started:
                await send_problem(send, 413, "Request body too large", detail)


def is_heavy(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path in HEAVY_PATHS or path.startswith(HEAVY_PREFIXES):
        return True
    if path.startswith("/scenarios/") and "/compare/" in path:
        return True
    if path.startswith("/collections/") and path.endswith("/items"):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        # a download, or the analysis at the end of a period (a recompute)
        return any(v not in ("", "json") for v in query.get("f", [])) or "period" in query
    return False


class HeavyLimit:
    """Admission of heavy requests: ``workers`` run, ``queue`` wait, the rest are told to retry."""

    def __init__(self, app: ASGIApp, *, workers: int, queue: int, per_client: int, retry_after: int) -> None:
        import asyncio

        self.app = app
        self.workers = workers
        self.capacity = workers + queue
        self.per_client = per_client
        self.retry_after = retry_after
        self.admitted = 0
        self.clients: Counter[str] = Counter()
        self._running = asyncio.Semaphore(workers)
        # Figures for tests and the landing page.
        self.refused = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_heavy(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        retry = {"Retry-After": str(self.retry_after)}
        # Everything here runs on the event loop: no lock is needed around the counters.
        if self.clients[client] >= self.per_client:
            self.refused[429] += 1
            await send_problem(
                send,
                429,
                "Too many requests",
                f"this client already has {self.per_client} heavy requests in progress; retry later",
                retry,
            )
            return
        if self.admitted >= self.capacity:
            self.refused[503] += 1
            await send_problem(
                send,
                503,
                "Busy",
                f"the service is busy ({self.workers} heavy requests running, the queue is full); retry in "
                f"{self.retry_after} s",
                retry,
            )
            return
        self.admitted += 1
        self.clients[client] += 1
        try:
            async with self._running:
                await self.app(scope, receive, send)
        finally:
            self.admitted -= 1
            self.clients[client] -= 1
            if self.clients[client] <= 0:
                del self.clients[client]


class HeadAsGet:
    """HEAD answers as GET does, without the body (RFC 9110 9.3.2): the same status, headers and
    Content-Length, the same rights (the request is a GET to every other layer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def install(app: FastAPI, settings) -> None:
    """Add the middlewares (outermost last: the security headers wrap every answer)."""
    app.add_middleware(
        HeavyLimit,
        workers=settings.heavy_workers,
        queue=settings.heavy_queue,
        per_client=settings.heavy_per_client,
        retry_after=settings.retry_after_seconds,
    )
    # An import's file may be larger than other bodies; its multipart wrapping gets 64 KB more.
    upload = settings.max_upload_mb * 2**20 + 65_536
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, uploads={("POST", "/imports"): upload})
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
