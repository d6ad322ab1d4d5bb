"""Sign-in and sign-out (Persian first, English second), and who am I."""

from __future__ import annotations

import html
import math
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.guard import page_response
from api.schemas import Me, SessionsEnded, UserSessions, declared, header
from api.security import (
    SESSION_COOKIE,
    Forbidden,
    Sessions,
    _same_origin,
    identify,
    safe_next,
    set_session_cookie,
)
from geo.errors import UnknownUserError
from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA

router = APIRouter(tags=["Sign-in"])

TEXT = {
    "fa": {
        "title": "ورود به آمایش",
        "heading": "ورود",
        "lead": "سامانهٔ آمایش خدمات بهزیستی. برای دیدن نقشه‌ها و داده‌ها وارد شوید.",
        "username": "نام کاربری",
        "password": "گذرواژه",
        "submit": "ورود",
        "wrong": "نام کاربری یا گذرواژه درست نیست.",
        "locked": "ورودهای نادرست بسیار بوده است؛ پانزده دقیقهٔ دیگر دوباره بکوشید.",
        "slow": "از این نشانی ورودهای نادرست بسیار بوده است؛ چند لحظه صبر کنید و دوباره بکوشید.",
        "public": "نقشهٔ عمومی نیازها (بدون ورود)",
        "switch": "English",
        "dir": "rtl",
    },
    "en": {
        "title": "Sign in to Amayesh",
        "heading": "Sign in",
        "lead": "Spatial planning of welfare services. Sign in to see the maps and the data.",
        "username": "User name",
        "password": "Password",
        "submit": "Sign in",
        "wrong": "The user name or the password is wrong.",
        "locked": "Too many failed attempts; try again in fifteen minutes.",
        "slow": "Too many failed sign-ins from this address; wait a moment and try again.",
        "public": "Public needs map (no sign-in)",
        "switch": "فارسی",
        "dir": "ltr",
    },
}


def sign_in_page(lang: str, next_url: str, error: str | None = None, username: str = "") -> str:
    t = TEXT[lang]
    other = "en" if lang == "fa" else "fa"
    notice = SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN
    e = html.escape
    message = f'<p class="am-error" role="alert" id="am-sign-in-error">{e(t[error])}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}" dir="{t["dir"]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{e(t["title"])}</title>
<link rel="stylesheet" href="/static/vendor/vazirmatn/index.css">
<link rel="stylesheet" href="/static/app/amayesh.css">
<style>
  .am-sign-in {{ max-width: 380px; margin: 90px auto 0; background: #fff; padding: 24px 28px;
    border: 1px solid var(--am-line); border-radius: 8px; }}
  .am-sign-in label {{ display: block; margin: 12px 0 4px; }}
  .am-sign-in input {{ width: 100%; box-sizing: border-box; padding: 8px; font-size: 15px; }}
  .am-sign-in button {{ margin-top: 18px; width: 100%; padding: 9px; font-size: 15px;
    background: var(--am-accent); color: #fff; border: 0; border-radius: 4px; cursor: pointer; }}
  .am-sign-in .am-error {{ color: #a40000; background: #fde8e8; padding: 6px 10px; border-radius: 4px; }}
  body {{ background: #eef2f4; }}
</style>
</head>
<body class="am-page am-sign-in-page">
<header class="am-top">
  <div class="am-brand">{"آمایش" if lang == "fa" else "Amayesh"}</div>
  <div class="am-demo" role="note">{e(notice)}</div>
  <a class="am-lang" id="am-lang" hreflang="{other}"
     href="/sign-in?lang={other}&amp;next={e(next_url)}">{e(t["switch"])}</a>
</header>
<main class="am-sign-in">
  <h1>{e(t["heading"])}</h1>
  <p>{e(t["lead"])}</p>
  {message}
  <form method="post" action="/sign-in" id="am-sign-in-form">
    <input type="hidden" name="next" value="{e(next_url)}">
    <input type="hidden" name="lang" value="{lang}">
    <label for="am-username">{e(t["username"])}</label>
    <input id="am-username" name="username" autocomplete="username" required value="{e(username)}" dir="ltr">
    <label for="am-password">{e(t["password"])}</label>
    <input id="am-password" name="password" type="password" autocomplete="current-password" required dir="ltr">
    <button type="submit" id="am-sign-in-submit">{e(t["submit"])}</button>
  </form>
  <p><a href="/maps/public?lang={lang}">{e(t["public"])}</a></p>
</main>
</body>
</html>
"""


def _page(html_text: str, status: int) -> Response:
    """A page under the pages' Content-Security-Policy (api.guard), with a status."""
    response = page_response(html_text)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


Lang = Annotated[Literal["fa", "en"], Query(description="page language")]


@router.get("/sign-in", response_class=HTMLResponse, summary="The sign-in page (Persian by default)")
def sign_in_form(
    lang: Lang = "fa", next: Annotated[str | None, Query(max_length=2000)] = None
) -> HTMLResponse:
    response = page_response(sign_in_page(lang, safe_next(next)))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/sign-in", response_class=HTMLResponse, summary="Sign in: sets the session cookie")
def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
    lang: Annotated[Literal["fa", "en"], Form()] = "fa",
) -> Response:
    if not _same_origin(request):
        raise Forbidden("sign-in from another site is refused")
    sessions: Sessions = request.app.state.sessions
    target = safe_next(next)
    client = request.client.host if request.client else ""
    wait = sessions.throttle.wait(client)
    if wait > 0:
        sessions.accounts.record(None, username, "sign_in.throttled", f"client:{client}")
        response = _page(sign_in_page(lang, target, "slow", username), 429)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    if sessions.locked(username):
        sessions.accounts.record(None, username, "sign_in.locked", f"user:{username}")
        return _page(sign_in_page(lang, target, "locked", username), 429)
    user = sessions.accounts.authenticate(username, password)
    if user is None:
        sessions.failed(username, client)
        sessions.accounts.record(None, username, "sign_in.failed", f"user:{username}")
        return _page(sign_in_page(lang, target, "wrong", username), 401)
    sessions.succeeded(username)
    sessions.accounts.record(None, username, "sign_in", f"user:{username}")
    response = RedirectResponse(target, status_code=303)
    agent = request.headers.get("user-agent", "")[:120]
    set_session_cookie(response, sessions, sessions.issue(user, client=f"{client} {agent}".strip()))
    return response


@router.post(
    "/sign-out",
    summary="Sign out: ends the session on the server and clears its cookie",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {
            "description": "Signed out: to the sign-in page",
            "headers": {"Location": header("/sign-in")},
        }
    },
)
def sign_out(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        request.app.state.sessions.end(cookie)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get(
    "/me",
    summary="Who is calling: user name, role, provinces, rights",
    response_model=None,
    responses=declared(Me),
)
def me(request: Request) -> dict:
    from api.security import RIGHTS

    caller = identify(request)
    user = caller.user
    return {
        "username": user.username,
        "role": user.role,
        "provinces": list(user.provinces) if not user.national else None,
        "rights": [name for name, roles in RIGHTS.items() if user.role in roles],
        "via": caller.via,
    }


def _accounts_of(request: Request, username: str):
    """The accounts, once ``username`` is known to be one of them (404 if not)."""
    accounts = request.app.state.accounts
    if accounts.get(username) is None:
        raise UnknownUserError(f"no user {username!r}")
    return accounts


@router.get(
    "/users/{username}/sessions",
    summary="A user's live sign-in sessions (administrators)",
    response_model=None,
    responses=declared(UserSessions),
)
def user_sessions(username: Annotated[str, Path(max_length=200)], request: Request) -> dict:
    accounts = _accounts_of(request, username)
    return {"username": username, "sessions": accounts.sessions_of(username)}


@router.delete(
    "/users/{username}/sessions",
    summary="End every sign-in session of a user (administrators)",
    response_model=None,
    responses=declared(SessionsEnded),
)
def revoke_user_sessions(username: Annotated[str, Path(max_length=200)], request: Request) -> dict:
    accounts = _accounts_of(request, username)
    actor = identify(request).user
    ended = accounts.revoke_sessions(username, actor=actor.username if actor else "api")
    return {"username": username, "ended": ended}
