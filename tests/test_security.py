"""Sign-in, sessions, API tokens, roles and the deny-by-default route policy."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import PLAIN_ROUTES, POLICY, SESSION_COOKIE
from services.settings import Settings
from store.accounts import AccountError, Accounts
from tests.conftest import ROOT, TEST_PASSWORD, TEST_USERS, bearer

pytestmark = pytest.mark.realdata

BODY = {"lon": 61.2, "lat": 28.2, "service_type": "rehabilitation", "capacity": 40}  # Sistan and Baluchestan


@pytest.fixture(scope="module")
def app(demo, demo_tokens):
    return create_app(Settings(store=str(demo["store"].path), prepare_tiles=False))


def browser(app) -> TestClient:
    """A client that keeps cookies like a browser on https (Secure cookies are sent back)."""
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def sign_in(client: TestClient, role: str, password: str = TEST_PASSWORD):
    return client.post(
        "/sign-in",
        data={"username": TEST_USERS[role][0], "password": password, "next": "/maps/national"},
        follow_redirects=False,
    )


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/maps/national").text).group(1)


# ---- deny by default ---------------------------------------------------------------------------


def test_every_route_declares_its_requirement(app):
    missing = []
    routes = list(app.routes)
    for container in routes:  # FastAPI lists included routers too: walk what they hold
        inner = getattr(getattr(container, "original_router", None), "routes", None)
        routes += [r for r in inner or [] if r not in routes]
    for route in routes:
        if hasattr(route, "original_router"):
            continue
        if isinstance(route, APIRoute):
            for method in route.methods:
                if (method, route.path) not in POLICY:
                    missing.append(f"{method} {route.path}")
        else:
            path = getattr(route, "path", "")
            if not any(path == p or (p.endswith("/") and path.startswith(p)) for p in PLAIN_ROUTES):
                missing.append(f"plain route {path}")
    assert missing == [], f"routes without a declared requirement: {missing}"
    # ... and the OpenAPI document publishes each one.
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            assert "x-amayesh-requires" in op, f"{method.upper()} {path}"
            if op["x-amayesh-requires"]["right"] != "public":
                assert op["security"], f"{method.upper()} {path}"
    # No policy entry is stale (a typo would leave the real route undeclared).
    declared = {(m, r.path) for r in routes if isinstance(r, APIRoute) for m in r.methods}
    assert set(POLICY) <= declared


def test_a_route_without_a_requirement_is_refused(demo, demo_tokens):
    app = create_app(Settings(store=str(demo["store"].path), prepare_tiles=False))

    @app.get("/undeclared")
    def undeclared() -> dict:
        return {"secret": 1}

    client = TestClient(app, raise_server_exceptions=False, headers=bearer(demo_tokens["admin"]))
    response = client.get("/undeclared")
    assert response.status_code == 403
    assert "no declared requirement" in response.json()["detail"]


def test_no_credentials_is_401_and_pages_redirect_to_sign_in(app):
    client = TestClient(app, raise_server_exceptions=False)
    for (method, path), need in POLICY.items():
        if need.public:
            continue
        url = (
            path.replace("{collection_id}", "ngos")
            .replace("{feature_id}", "x")
            .replace("{collection}", "ngos")
            .replace("{z}/{x}/{y}", "5/20/12")
            .replace("{code}", "1100000001")
            .replace("{page}", "national")
        )
        response = client.request(
            method, url, follow_redirects=False, json=BODY if method == "POST" else None
        )
        if need.page:
            assert response.status_code == 303, url
            assert response.headers["location"].startswith("/sign-in?lang=fa&next=")
        else:
            assert response.status_code == 401, url
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/conformance").status_code == 200
    page = client.get("/sign-in")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and "ورود" in page.text
    assert "Sign in" in client.get("/sign-in?lang=en").text


def test_wrong_role_is_403(app, demo_tokens):
    def as_role(role):
        return TestClient(app, raise_server_exceptions=False, headers=bearer(demo_tokens[role]))

    officer, director, planner = (
        as_role("licensing_officer"),
        as_role("provincial_director"),
        as_role("planner"),
    )
    assert officer.get("/priorities?province=11&top=3").status_code == 403
    assert officer.get("/collections/ngos/items?province=11&f=csv").status_code == 403
    assert officer.get("/maps/priorities").status_code == 403
    assert director.post("/licence-checks", json=BODY).status_code == 403
    assert director.get("/maps/licence").status_code == 403
    assert director.get("/priorities?province=11&top=3").status_code == 200
    assert officer.post("/licence-checks", json=BODY).status_code == 200
    assert planner.get("/priorities?province=07&top=3").status_code == 200
    plan = {"service_type": "rehabilitation", "province": "11", "k": 2, "method": "greedy"}
    assert officer.post("/plans/siting", json=plan).status_code == 403
    assert director.get("/scenarios").status_code == 403
    assert director.get("/maps/plan").status_code == 403
    page = director.get("/maps/plan?lang=en", headers={"Accept": "text/html"})
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "This page is not for your role" in page.text
    forbidden = officer.get("/priorities?province=11")
    assert forbidden.json()["status"] == 403 and "licensing_officer" in forbidden.json()["detail"]


# ---- sessions ---------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_secure_httponly_cookie(app):
    client = browser(app)
    response = sign_in(client, "planner")
    assert response.status_code == 303 and response.headers["location"] == "/maps/national"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/", "Max-Age=28800"):
        assert flag.lower() in cookie.lower(), flag
    assert client.get("/me").json()["role"] == "planner"
    assert client.get("/maps/national").status_code == 200


def test_wrong_password_unknown_user_and_lockout(app):
    client = browser(app)
    wrong = sign_in(client, "admin", "not the password")
    assert wrong.status_code == 401 and "am-sign-in-error" in wrong.text
    unknown = client.post("/sign-in", data={"username": "nobody", "password": "whatever123456"})
    assert unknown.status_code == 401
    for _ in range(5):
        assert sign_in(client, "provincial_director", "wrong password!").status_code == 401
    # Five failures lock the name, even with the right password.
    assert sign_in(client, "provincial_director").status_code == 429
    app.state.sessions.succeeded(TEST_USERS["provincial_director"][0])  # unlock for other tests


def test_forged_expired_and_voided_sessions_are_refused(app, demo):
    client = browser(app)
    sign_in(client, "planner")
    value = client.cookies[SESSION_COOKIE]
    body, sig = value.split(".")
    forged = browser(app)
    forged.cookies.set(SESSION_COOKIE, body + "." + sig[::-1], domain="testserver")
    assert forged.get("/me").status_code == 401
    sessions = app.state.sessions
    user = app.state.accounts.get(TEST_USERS["planner"][0])
    expired = browser(app)
    expired.cookies.set(SESSION_COOKIE, sessions.issue(user, now=time.time() - 9 * 3600), domain="testserver")
    assert expired.get("/me").status_code == 401
    assert expired.get("/maps/national", follow_redirects=False).status_code == 303
    # A password reset signs every session of the user out.
    assert client.get("/me").status_code == 200
    accounts = Accounts(str(demo["store"].path))
    accounts.reset_password(TEST_USERS["planner"][0], TEST_PASSWORD, actor="tests")
    assert client.get("/me").status_code == 401
    accounts.close()


def test_redirect_after_sign_in_stays_on_this_service(app):
    client = browser(app)
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/sign-in",
            data={"username": TEST_USERS["admin"][0], "password": TEST_PASSWORD, "next": evil},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/maps/national"


def test_cookie_posts_need_the_csrf_token(app):
    client = browser(app)
    sign_in(client, "licensing_officer")
    assert client.post("/licence-checks", json=BODY).status_code == 403
    token = csrf_of(client)
    assert client.post("/licence-checks", json=BODY, headers={"X-CSRF-Token": "x" + token}).status_code == 403
    assert client.post("/licence-checks", json=BODY, headers={"X-CSRF-Token": token}).status_code == 200
    cross = client.post(
        "/licence-checks", json=BODY, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    # Sign-out is a POST too: without the token it is refused, with it the session ends.
    assert client.post("/sign-out", follow_redirects=False).status_code == 403
    out = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/me").status_code == 401


# ---- API tokens and the accounts ---------------------------------------------------------------


def test_tokens_are_hashed_at_rest_and_revocable(demo):
    accounts = Accounts(str(demo["store"].path))
    token_id, token = accounts.issue_token(TEST_USERS["planner"][0], label="revocation test")
    app = create_app(Settings(store=str(demo["store"].path), prepare_tiles=False))
    client = TestClient(app, raise_server_exceptions=False, headers=bearer(token))
    assert client.get("/me").json()["via"] == "token"
    path = accounts.url.removeprefix("sqlite:///")
    raw = sqlite3.connect(path).execute("SELECT token_hash FROM amayesh_tokens").fetchall()
    assert all(token not in row[0] for row in raw)
    assert all(len(row[0]) == 64 for row in raw)  # SHA-256
    passwords = sqlite3.connect(path).execute("SELECT password_hash FROM amayesh_users").fetchall()
    assert all(p[0].startswith("$argon2id$") for p in passwords)
    accounts.revoke_token(token_id)
    assert client.get("/me").status_code == 401
    bad = TestClient(app, raise_server_exceptions=False, headers=bearer("amy_0000_forged"))
    assert bad.get("/collections").status_code == 401
    accounts.close()


def test_account_rules(tmp_path):
    accounts = Accounts(str(tmp_path / "s.gpkg"))
    assert accounts.list() == []  # no account by default
    with pytest.raises(AccountError, match="12 characters"):
        accounts.add("ali", "short", "admin")
    with pytest.raises(AccountError, match="province"):
        accounts.add("reza", "long enough password", "licensing_officer")
    with pytest.raises(AccountError, match="unknown role"):
        accounts.add("reza", "long enough password", "superuser")
    accounts.add("reza", "long enough password", "licensing_officer", ["7", "11"])
    assert accounts.get("reza").provinces == ("07", "11")
    assert accounts.authenticate("reza", "long enough password").role == "licensing_officer"
    assert accounts.authenticate("reza", "wrong") is None
    accounts.set_disabled("reza", True)
    assert accounts.authenticate("reza", "long enough password") is None
    accounts.close()


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT, input=stdin
    )


def test_users_command_line(tmp_path):
    store = str(tmp_path / "s.gpkg")
    listing = run_cli("--store", store, "users", "list")
    assert "no users" in listing.stdout
    added = run_cli(
        "--store",
        store,
        "users",
        "--actor",
        "it-desk",
        "add",
        "maryam",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long admin password\n",
    )
    assert added.returncode == 0, added.stderr
    assert run_cli("--store", store, "users", "set-role", "maryam", "planner").returncode == 0
    refused = run_cli("--store", store, "users", "set-role", "maryam", "provincial_director")
    assert refused.returncode == 2 and "provinces" in refused.stderr
    assert run_cli("--store", store, "users", "set-provinces", "maryam", "23,30").returncode == 0
    assert run_cli("--store", store, "users", "set-role", "maryam", "provincial_director").returncode == 0
    token = run_cli("--store", store, "users", "token", "maryam", "--label", "qgis")
    token_id = re.search(r"Token (\w+)", token.stdout).group(1)
    assert "amy_" in token.stdout
    listing = run_cli("--store", store, "users", "list").stdout
    assert (
        "maryam" in listing
        and "provincial_director" in listing
        and "23,30" in listing
        and token_id in listing
    )
    assert run_cli("--store", store, "users", "revoke-token", token_id).returncode == 0
    reset = run_cli("--store", store, "users", "reset-password", "maryam", "--password-stdin", stdin="x\n")
    assert reset.returncode == 2 and "12 characters" in reset.stderr
    accounts = Accounts(store)
    actions = [(r["actor"], r["action"]) for r in accounts.audit_rows()]
    assert actions[0] == ("cli:it-desk", "user.add")
    assert [a for _, a in actions] == [
        "user.add",
        "user.set_role",
        "user.set_provinces",
        "user.set_role",
        "token.issue",
        "token.revoke",
    ]
    accounts.close()


def test_demo_accounts_are_one_per_role(tmp_path):
    from cli.users import DEMO_ACCOUNTS, create_demo_accounts
    from store.accounts import ROLES, demo_password

    made = create_demo_accounts(str(tmp_path / "d.gpkg"))
    assert sorted(role for _, role, _, _ in made) == sorted(ROLES)
    accounts = Accounts(str(tmp_path / "d.gpkg"))
    for username, role, _ in DEMO_ACCOUNTS:
        assert accounts.authenticate(username, demo_password(role)).role == role
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for username, role, _ in DEMO_ACCOUNTS:
        assert username in readme and demo_password(role) in readme
    accounts.close()


def test_a_person_refused_a_page_reads_a_sentence_in_their_language(small_client, small_store):
    """A browser asking for a page its role may not open gets a page in its language, not JSON;
    programs and the pages' own data requests keep problem+json."""
    from fastapi.testclient import TestClient

    from maps.i18n import strings
    from tests.conftest import make_users

    token = make_users(str(small_store.path))["provincial_director"]
    director = TestClient(small_client.app, raise_server_exceptions=False, headers=bearer(token))
    for lang, query in (("fa", ""), ("en", "?lang=en")):
        page = director.get(f"/maps/plan{query}", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
        assert strings(lang)["refused_role_title"] in page.text and f'lang="{lang}"' in page.text
        assert ('dir="rtl"' in page.text) == (lang == "fa")
        assert "https://" not in page.text and "{page}" not in page.text
    program = director.get("/maps/plan", headers={"Accept": "application/json"})
    assert program.status_code == 403 and program.json()["status"] == 403


def test_the_service_hashes_passwords_with_rfc_9106_parameters_and_upgrades_cheap_ones(tmp_path):
    """The suite's accounts hash cheaply (conftest); a service never does.

    In a fresh process without the test setting: a new account's hash carries argon2id's RFC 9106
    parameters (t=3, 64 MiB, 4 lanes), and a hash made with the test profile is re-made with them
    at its owner's next sign-in.
    """
    store = tmp_path / "s.gpkg"
    cheap = Accounts(str(store))
    cheap.add("cheap_user", TEST_PASSWORD, "planner")
    path = cheap.url.removeprefix("sqlite:///")
    cheap.close()
    script = (
        "import sqlite3, sys\n"
        "from store.accounts import Accounts\n"
        "a = Accounts(sys.argv[1])\n"
        "a.add('new_user', sys.argv[2], 'planner')\n"
        "assert a.authenticate('cheap_user', sys.argv[2]) is not None\n"
        "path = a.url.removeprefix('sqlite:///')\n"
        "rows = sqlite3.connect(path).execute('SELECT username, password_hash FROM amayesh_users')\n"
        "for name, h in sorted(rows): print(name, h.split('$')[3])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AMAYESH_TEST_CHEAP_PASSWORD_HASHES"}
    before = sqlite3.connect(path).execute("SELECT password_hash FROM amayesh_users").fetchone()
    assert before[0].split("$")[3] == "m=8,t=1,p=1"  # the test profile
    out = subprocess.run(
        [sys.executable, "-c", script, str(store), TEST_PASSWORD],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    ).stdout.split("\n")
    assert out[:2] == ["cheap_user m=65536,t=3,p=4", "new_user m=65536,t=3,p=4"]


def test_a_service_started_with_the_tests_cheap_hashes_says_so(tmp_path):
    # The suite's cheap profile must never pass unnoticed on a real service.
    from tests.conftest import free_port

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "--store",
            str(tmp_path / "s.gpkg"),
            "serve",
            "--port",
            str(free_port()),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AMAYESH_TEST_CHEAP_PASSWORD_HASHES": "1"},
    )
    try:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("Amayesh on http"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
    assert any("AMAYESH_TEST_CHEAP_PASSWORD_HASHES=1 is set" in line for line in lines), lines
