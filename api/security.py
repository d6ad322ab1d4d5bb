"""Who may call what: sign-in, sessions, API tokens, roles, CSRF, and the route policy.

Deny by default. Every route of the service has an entry in ``POLICY`` (method and path template
-> ``Requirement``); one app-wide dependency, ``authorize``, finds the matched route's entry and
refuses the request if there is none (403, "no declared requirement"). ``tests/test_security.py``
walks ``app.routes`` and the OpenAPI document and fails if a route has no entry, so a new route
cannot ship without a decision about who may call it. The requirement of each operation is also
published in the OpenAPI document (``x-amayesh-requires``).

Credentials:

* people sign in at ``/sign-in`` and get a session cookie (``amayesh_session``: HttpOnly, Secure,
  SameSite=Strict, HMAC-signed, expiring after ``session_hours``) naming a session kept on the
  server (``Sessions``): signing out, an administrator (``/users/{username}/sessions``), a password
  reset, a role change or disabling the user ends it, and every copy of the cookie with it;
* programs send ``Authorization: Bearer amy_…`` with an API token (``amayesh users token``).

No or expired credentials: 401 (pages redirect to the sign-in page); wrong role: 403 (a browser
opening a page reads a page in its language instead of problem+json: ``api/refusals.py``). A POST,
PUT, PATCH or DELETE that carries a session cookie must also carry the session's CSRF token in
``X-CSRF-Token`` (the pages read it from ``<meta name="csrf-token">``) and, when the browser
sends one, a same-origin ``Origin``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from api.collections import COLLECTIONS
from geo.errors import Forbidden, NotFoundError, SignInRequired, Unauthenticated
from services.rights import RIGHTS, has_right
from store.accounts import ROLES, Accounts, User

SESSION_COOKIE = "amayesh_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Requirement:
    """What a route needs: nothing (``public``) or a signed-in user holding ``right``."""

    right: str | None  # None: public
    page: bool = False  # an HTML page: 401 becomes a redirect to the sign-in page

    @property
    def public(self) -> bool:
        return self.right is None

    @property
    def roles(self) -> tuple[str, ...]:
        return () if self.right is None else RIGHTS[self.right]

    def describe(self) -> str:
        return "public" if self.public else f"{self.right}: {', '.join(self.roles)}"


PUBLIC = Requirement(None)
PUBLIC_PAGE = Requirement(None, page=True)


def requires(right: str, *, page: bool = False) -> Requirement:
    if right not in RIGHTS:
        raise ValueError(f"unknown right {right!r}")
    return Requirement(right, page=page)


#: Every route: (method, path template) -> requirement. A route missing here is refused.
POLICY: dict[tuple[str, str], Requirement] = {
    # sign-in and the public view
    ("GET", "/sign-in"): PUBLIC_PAGE,
    ("POST", "/sign-in"): PUBLIC_PAGE,
    ("POST", "/sign-out"): PUBLIC_PAGE,
    ("GET", "/me"): requires("read"),
    # accounts (administrators): a user's sign-in sessions, and ending them
    ("GET", "/users/{username}/sessions"): requires("admin"),
    ("DELETE", "/users/{username}/sessions"): requires("admin"),
    ("GET", "/conformance"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/maps/public"): PUBLIC_PAGE,
    ("GET", "/maps/data/public.json"): PUBLIC,
    ("GET", "/maps/data/public-table"): PUBLIC,
    # landing and OGC API – Features
    ("GET", "/"): requires("read"),
    ("GET", "/collections"): requires("read"),
    ("GET", "/collections/{collection_id}"): requires("read"),
    # tiles, analysis
    ("GET", "/tiles/{collection}/{z}/{x}/{y}.mvt"): requires("read"),
    ("POST", "/licence-checks"): requires("licence_check"),
    # the licence register (api/routers/applications.py): officers of the province decide
    ("GET", "/licence-applications"): requires("licence_check"),
    ("POST", "/licence-applications"): requires("licence_decide"),
    ("GET", "/licence-applications/{application_id}"): requires("licence_check"),
    ("PATCH", "/licence-applications/{application_id}"): requires("licence_decide"),
    ("POST", "/licence-applications/{application_id}/check"): requires("licence_decide"),
    ("POST", "/licence-applications/{application_id}/decision"): requires("licence_decide"),
    ("GET", "/licence-monitoring"): requires("read"),
    ("GET", "/maps/register"): requires("licence_check", page=True),
    ("GET", "/maps/monitoring"): requires("read", page=True),
    # the programme's activities register (api/routers/activities.py): every role reads its
    # provinces' activities, progress and gaps; managers, administrators and officers (in their
    # provinces) enter, correct, delete and import
    ("GET", "/activities"): requires("read"),
    ("POST", "/activities"): requires("activities_enter"),
    ("GET", "/activities/{activity_id}"): requires("read"),
    ("PATCH", "/activities/{activity_id}"): requires("activities_enter"),
    ("DELETE", "/activities/{activity_id}"): requires("activities_enter"),
    ("GET", "/activity-template"): requires("activities_enter"),
    ("POST", "/activity-imports"): requires("activities_enter"),
    ("GET", "/programme/progress"): requires("read"),
    ("GET", "/programme/progress-over-time"): requires("read"),
    ("GET", "/programme/gaps"): requires("read"),
    ("GET", "/maps/activities"): requires("read", page=True),
    ("GET", "/priorities"): requires("priorities"),
    ("GET", "/saturation"): requires("read"),
    # evaluations of centres (api/routers/evaluations.py): the caller's provinces only
    ("GET", "/ngos/{licence_no}/evaluations"): requires("evaluations"),
    ("GET", "/ratings/rankings"): requires("evaluations"),
    # the volunteer network (api/routers/volunteers.py): the caller's provinces only, places
    # generalised for roles without the exact-location right
    ("GET", "/volunteers/groups"): requires("volunteers"),
    ("GET", "/volunteers/summary"): requires("volunteers"),
    # figures by Jalali period of the caller's provinces (a scoped caller's country is the sum of them)
    ("GET", "/trends"): requires("read"),
    ("GET", "/concentration"): requires("read"),
    ("GET", "/settlements/{code}"): requires("read"),
    # the travel-time area of a place on the public road network: a licence-check tool, for
    # places in the caller's provinces only (elsewhere 403)
    ("GET", "/catchment-areas"): requires("read"),
    # map pages and their data
    ("GET", "/maps"): requires("read", page=True),
    ("GET", "/maps/{page}"): requires("read", page=True),
    ("GET", "/maps/data/boundaries.json"): requires("read"),
    ("GET", "/maps/data/ngos.json"): requires("read"),
    ("GET", "/maps/data/target-areas.json"): requires("read"),
    # place search and a settlement's profile page (pages helper): the caller's provinces only,
    # through the ``snapshot`` dependency's view
    ("GET", "/maps/data/search"): requires("read"),
    ("GET", "/maps/settlements/{code}"): requires("read", page=True),
    # planning: siting, delegation, scenarios
    ("POST", "/plans/siting"): requires("plan"),
    ("POST", "/plans/delegation"): requires("plan"),
    # long sitings as jobs: each job is its owner's (another's answers 404)
    ("POST", "/plans/siting/jobs"): requires("plan"),
    ("GET", "/plans/siting/jobs"): requires("plan"),
    ("GET", "/plans/siting/jobs/{job_id}"): requires("plan"),
    ("GET", "/scenarios"): requires("plan"),
    ("POST", "/scenarios"): requires("plan"),
    ("GET", "/scenarios/{scenario_id}"): requires("plan"),
    ("DELETE", "/scenarios/{scenario_id}"): requires("plan"),
    ("POST", "/scenarios/{scenario_id}/copy"): requires("plan"),
    ("GET", "/scenarios/{a}/compare/{b}"): requires("plan"),
    # imports through the browser (api/routers/imports.py): each job is its uploader's
    ("GET", "/maps/import"): requires("import", page=True),
    ("GET", "/import-templates/{layer_name}"): requires("import"),
    ("POST", "/imports"): requires("import"),
    ("GET", "/imports"): requires("import"),
    ("GET", "/imports/{import_id}"): requires("import"),
    ("GET", "/imports/{import_id}/rows"): requires("import"),
    ("GET", "/imports/{import_id}/rejected.xlsx"): requires("import"),
    ("POST", "/imports/{import_id}/confirm"): requires("import"),
    ("POST", "/imports/{import_id}/cancel"): requires("import"),
    ("POST", "/imports/{import_id}/undo"): requires("admin"),
    # versions of the county divisions (api/routers/hierarchy.py): reference tables every role
    # reads whole; a carried county table holds the caller's provinces only; administrators import
    ("GET", "/hierarchy/versions"): requires("read"),
    ("GET", "/hierarchy/versions/{version_id}"): requires("read"),
    ("GET", "/hierarchy/versions/{version_id}/reaggregate"): requires("read"),
    ("GET", "/hierarchy/template.csv"): requires("read"),
    ("GET", "/hierarchy/settlements/{code}"): requires("read"),
    ("POST", "/hierarchy/versions"): requires("admin"),
    # the service catalogue and its norms: everyone signed in reads; administrators import
    ("GET", "/catalogue"): requires("read"),
    ("GET", "/catalogue/norms.toml"): requires("read"),
    ("POST", "/catalogue"): requires("admin"),
}

# OGC API – Features: one items, item and queryables path per collection (their filters differ).
for _collection in COLLECTIONS:
    for _path in ("/items", "/items/{feature_id}", "/queryables"):
        POLICY[("GET", f"/collections/{_collection}{_path}")] = requires("read")
# OGC API – Tiles: the tiling scheme holds no data; tilesets and tiles are the layers'.
POLICY[("GET", "/tileMatrixSets")] = PUBLIC
POLICY[("GET", "/tileMatrixSets/WebMercatorQuad")] = PUBLIC
for _path in ("", "/WebMercatorQuad", "/WebMercatorQuad/tilejson.json"):
    POLICY[("GET", f"/collections/{{collection_id}}/tiles{_path}")] = requires("read")
POLICY[("GET", "/collections/{collection_id}/tiles/WebMercatorQuad/{tile_matrix}/{tile_row}/{tile_col}")] = (
    requires("read")
)

#: File uploads: the CSRF token only in the header (the body is not parsed to look for it).
UPLOAD_PATHS = frozenset({"/imports", "/hierarchy/versions", "/activity-imports", "/catalogue"})

#: Signing in again over a live session: checked for same origin in the route instead.
CSRF_EXEMPT = {("POST", "/sign-in")}

#: Page-specific rights on ``/maps/{page}``.
PAGE_RIGHTS = {"national": "read", "licence": "licence_check", "priorities": "priorities", "plan": "plan"}

#: Every page of the top bar and the right that opens it, in the bar's order: a page links only
#: the pages its caller may open (``pages_for``), and a refusal lists them as the way on.
NAV_RIGHTS = PAGE_RIGHTS | {
    "register": POLICY[("GET", "/maps/register")].right,
    "monitoring": POLICY[("GET", "/maps/monitoring")].right,
    "activities": POLICY[("GET", "/maps/activities")].right,
    "import": POLICY[("GET", "/maps/import")].right,
}


def pages_for(user: User | None) -> tuple[str, ...]:
    """The pages of the top bar ``user`` may open, in the bar's order."""
    return tuple(page for page, right in NAV_RIGHTS.items() if right and has_right(user, right))


#: Routes outside FastAPI's dependency system (plain Starlette routes and mounts): each named
#: here on purpose. Static assets (scripts, styles, fonts) and the OpenAPI document hold no data.
PLAIN_ROUTES = {"/openapi.json", "/static/app", "/static/vendor/"}


def requirement_of(method: str, path: str) -> Requirement | None:
    return POLICY.get((method, path))


# ---- sessions --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Sign-in sessions: a signed cookie naming a session kept in the store's accounts.

    The cookie holds the user, the user's session epoch, its expiry and the session's random id,
    signed with HMAC; the accounts hold a row per session (the id's SHA-256). A cookie counts
    only while its row is live: signing out, ``users revoke-sessions``, a password reset, a role
    change or disabling the user ends the row, and a copy of the cookie is refused from then on.
    """

    def __init__(self, accounts: Accounts, *, hours: float = 8.0, secure: bool = True) -> None:
        self.accounts = accounts
        self.lifetime = int(hours * 3600)
        self.secure = secure
        self._key: bytes | None = None
        self.throttle = SignInThrottle()

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = self.accounts.secret("session")
        return self._key

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self.key, payload, hashlib.sha256).digest())

    def issue(self, user: User, now: float | None = None, *, client: str = "") -> str:
        """A new session of ``user`` (a row in the accounts) and its cookie."""
        now = time.time() if now is None else now
        expires = int(now) + self.lifetime
        session_id = self.accounts.open_session(
            user.username, datetime.fromtimestamp(expires, UTC), client=client
        )
        payload = json.dumps(
            {"u": user.username, "e": user.session_epoch, "x": expires, "n": session_id},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{self._sign(payload)}"

    def _payload(self, cookie: str) -> dict | None:
        try:
            body, sig = cookie.split(".", 1)
            payload = _unb64(body)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            data = json.loads(payload)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def read(self, cookie: str, now: float | None = None) -> tuple[User, str] | None:
        """The user and the session id of a live session's cookie; None if forged, expired or ended."""
        data = self._payload(cookie)
        if data is None or int(data.get("x", 0)) <= (time.time() if now is None else now):
            return None
        session_id = str(data.get("n"))
        user = self.accounts.session_user(session_id)
        if user is None or user.username != data.get("u") or user.session_epoch != data.get("e"):
            return None
        return user, session_id

    def end(self, cookie: str) -> bool:
        """Sign out: end the cookie's session on the server (False if it was not live)."""
        data = self._payload(cookie)
        return data is not None and self.accounts.end_session(str(data.get("n")), actor=str(data.get("u")))

    def csrf_token(self, nonce: str) -> str:
        return _b64(hmac.new(self.key, b"csrf:" + nonce.encode(), hashlib.sha256).digest())

    # Repeated failed sign-ins: see ``SignInThrottle``.
    def locked(self, username: str) -> bool:
        return self.throttle.name_locked(username)

    def failed(self, username: str, client: str = "") -> None:
        self.throttle.failed(username, client)

    def succeeded(self, username: str) -> None:
        self.throttle.succeeded(username)


class SignInThrottle:
    """Failed sign-ins, in bounded memory.

    * Per name: five failures within 15 minutes lock the name for the rest of that window.
    * Per client address: one password tried across many names never meets the lock of a name,
      so each address gets ``free`` failures per window, then must wait before its next try:
      1 s, 2 s, 4 s … up to 15 minutes (``wait``). A success does not clear an address (one
      known password must not buy more guesses at other names).

    Both tables keep at most ``most`` entries (the oldest forgotten first), so a flood of made-up
    names or addresses cannot grow the process.
    """

    WINDOW = 900.0

    def __init__(self, *, free: int = 10, most: int = 10_000, clock=time.monotonic) -> None:
        self.free = free
        self.most = most
        self.clock = clock
        self._names: OrderedDict[str, list[float]] = OrderedDict()
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()  # failures, last
        self._lock = threading.Lock()

    def _remember(self, table: OrderedDict, key: str, value) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.most:
            table.popitem(last=False)

    def name_locked(self, username: str) -> bool:
        with self._lock:
            recent = [t for t in self._names.get(username, []) if t > self.clock() - self.WINDOW]
            if recent:
                self._names[username] = recent
            else:
                self._names.pop(username, None)
            return len(recent) >= 5

    def _client_failures(self, client: str, now: float) -> tuple[int, float]:
        count, last = self._clients.get(client, (0, now))
        if now - last > self.WINDOW:  # a quiet window forgives
            return 0, now
        return count, last

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before its next sign-in (0: may try now)."""
        if not client:
            return 0.0
        with self._lock:
            now = self.clock()
            count, last = self._client_failures(client, now)
            if count < self.free:
                return 0.0
            delay = min(2.0 ** (count - self.free), self.WINDOW)
            return max(0.0, last + delay - now)

    def failed(self, username: str, client: str = "") -> None:
        with self._lock:
            now = self.clock()
            self._remember(self._names, username, [*self._names.get(username, []), now])
            if client:
                count, _ = self._client_failures(client, now)
                self._remember(self._clients, client, (count + 1, now))

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._names.pop(username, None)

    def __len__(self) -> int:
        return len(self._names) + len(self._clients)


def set_session_cookie(response, sessions: Sessions, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=sessions.lifetime,
        path="/",
        secure=sessions.secure,
        httponly=True,
        samesite="strict",
    )


# ---- who is calling --------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    user: User | None
    via: str  # "token", "session" or "anonymous"
    csrf: str | None = None  # the session's CSRF token


ANONYMOUS = Caller(None, "anonymous")


def identify(request: Request) -> Caller:
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    sessions: Sessions = request.app.state.sessions
    caller = ANONYMOUS
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        user = sessions.accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthenticated("the API token is not valid (unknown, revoked or expired)")
        caller = Caller(user, "token")
    elif SESSION_COOKIE in request.cookies:
        found = sessions.read(request.cookies[SESSION_COOKIE])
        if found is not None:
            user, nonce = found
            caller = Caller(user, "session", sessions.csrf_token(nonce))
    request.state.caller = caller
    return caller


def current_user(request: Request) -> User | None:
    return identify(request).user


def signed_in_user(request: Request) -> User:
    """The caller of a route the policy admitted only signed in (``Unauthenticated`` otherwise)."""
    user = current_user(request)
    if user is None:  # the policy refused it already; kept for the type checker
        raise Unauthenticated("sign in or send an API token")
    return user


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or a browser that sends no Origin on same-origin requests
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def authorize(request: Request) -> None:
    """The app-wide dependency: find the route's requirement and enforce it (deny by default)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    need = requirement_of(request.method, path) if path else None
    if need is None:
        raise Forbidden(f"{request.method} {path} has no declared requirement: denied by default")
    caller = identify(request)
    if (
        request.method in UNSAFE_METHODS
        and caller.via == "session"
        and (request.method, path) not in CSRF_EXEMPT
    ):
        sent = request.headers.get(CSRF_HEADER.lower(), "")
        # An upload's CSRF token comes in the header: its body is not read before the check.
        if (
            not sent
            and path not in UPLOAD_PATHS
            and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            )
        ):
            sent = str((await request.form()).get("csrf_token", ""))
        if not (caller.csrf and hmac.compare_digest(sent, caller.csrf)) or not _same_origin(request):
            raise Forbidden(
                "missing or wrong CSRF token (send the page's csrf-token in X-CSRF-Token)", code="csrf"
            )
    if need.public:
        return
    if caller.user is None:
        if need.page:
            raise SignInRequired("sign in to see this page")
        raise Unauthenticated("sign in or send an API token (Authorization: Bearer …)")
    right = need.right
    if path == "/maps/{page}":
        name = request.path_params.get("page", "")
        if name not in PAGE_RIGHTS:
            raise NotFoundError(f"no page {name!r}", code="no-page")
        right = PAGE_RIGHTS[name]
    if not has_right(caller.user, right):
        raise Forbidden(
            f"the role {caller.user.role} may not do this (needs: {', '.join(RIGHTS[right])})", code="role"
        )


def sign_in_location(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    lang = "en" if request.query_params.get("lang") == "en" else "fa"
    return f"/sign-in?lang={lang}&next={quote(target, safe='')}"


def safe_next(value: str | None) -> str:
    """Only a path on this service (no scheme, no host, no //): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/maps/national"
    return value


def publish_requirements(app: FastAPI) -> None:
    """Put each operation's requirement into the OpenAPI document (``x-amayesh-requires``)."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["token"] = {"type": "http", "scheme": "bearer", "description": "amayesh users token"}
        schemes["session"] = {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}
        for path, operations in schema.get("paths", {}).items():
            for method, op in operations.items():
                need = requirement_of(method.upper(), path)
                if need is None:
                    continue
                op["x-amayesh-requires"] = {"right": need.right or "public", "roles": list(need.roles)}
                if not need.public:
                    op["security"] = [{"token": []}, {"session": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def personalise(page: str, request: Request, lang: str = "fa") -> str:
    """A cached page made the caller's: their CSRF token for the page's scripts, who is signed in
    and a sign-out button."""
    import html as _html

    from maps.i18n import strings

    caller = identify(request)
    if caller.user is None:
        return page
    text = strings(lang)
    token = _html.escape(caller.csrf or "")
    role = text.get(f"role_{caller.user.role}", caller.user.role)
    who = _html.escape(f"{caller.user.display_name or caller.user.username} · {role}")
    label = _html.escape(text["sign_out"])
    form = (
        f'<span id="am-user">{who}</span> <input type="hidden" name="csrf_token" value="{token}">'
        f'<button type="submit" id="am-sign-out">{label}</button></form>'
    )
    page = page.replace("<head>", f'<head>\n<meta name="csrf-token" content="{token}">', 1)
    # A page with a top bar carries the badge in it (amayesh.css: never over the page's figures
    # and buttons, on a phone too; not printed); a page without one, in a corner.
    header = page.find('<header class="am-top"')
    close = page.find("</header>", header)
    if header >= 0 and close >= 0:
        bar = f'<form class="am-user am-user-top" method="post" action="/sign-out">{form}'
        return page[:close] + bar + page[close:]
    bar = (
        f'<form class="am-user" method="post" action="/sign-out" style="position:fixed;z-index:1100;'
        f"inset-block-end:8px;inset-inline-end:8px;background:#fff;padding:4px 8px;border:1px solid #ccd;"
        f'border-radius:4px;font-size:12.5px;margin:0">{form}'
    )
    at = page.find("<body")
    end = page.find(">", at) + 1 if at >= 0 else 0
    return page[:end] + bar + page[end:] if at >= 0 else page


def install(app: FastAPI) -> None:
    """Answers for refused requests: 401 (with WWW-Authenticate), a redirect for pages, 403."""
    from fastapi.responses import RedirectResponse

    from api.errors import problem

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, err: SignInRequired):
        return RedirectResponse(sign_in_location(request), status_code=303)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, err: Unauthenticated):
        response = problem(401, "Unauthenticated", err.user_message, code=err.code)
        response.headers["WWW-Authenticate"] = 'Bearer realm="amayesh"'
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, err: Forbidden):
        return problem(403, "Forbidden", err.user_message, code=err.code)


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute)]


__all__ = ["POLICY", "ROLES", "Requirement", "Sessions", "authorize", "current_user", "identify"]
