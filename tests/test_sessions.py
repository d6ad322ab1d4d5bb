"""Sign-in sessions kept on the server, on both stores: sign-out, an administrator, a password
reset or disabling a user ends them, and a copied cookie stops working at once."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import SESSION_COOKIE
from cli.main import main
from services.settings import Settings
from store.accounts import AccountError, Accounts
from tests import small_world
from tests.conftest import TEST_PASSWORD, TEST_USERS, bearer, make_users


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def accounts(request, tmp_path):
    url = str(tmp_path / "s.gpkg") if request.param == "gpkg" else request.getfixturevalue("postgis_url")
    accounts = Accounts(url)
    yield accounts
    accounts.close()


def _later(hours: float = 8) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_sessions_live_until_ended_on_both_stores(accounts):
    name = f"s_{secrets.token_hex(4)}"  # PostGIS keeps its accounts between tests
    accounts.add(name, TEST_PASSWORD, "planner", actor="tests")
    first = accounts.open_session(name, _later(), client="10.0.0.1 firefox")
    second = accounts.open_session(name, _later())
    assert accounts.session_user(first).username == name
    assert [s["client"] for s in accounts.sessions_of(name)] == ["", "10.0.0.1 firefox"]
    # Signing out ends one session; the other lives on.
    assert accounts.end_session(first) is True
    assert accounts.session_user(first) is None and accounts.end_session(first) is False
    assert accounts.session_user(second).username == name
    # An expired session is refused, however its cookie looks.
    old = accounts.open_session(name, datetime.now(UTC) - timedelta(seconds=1))
    assert accounts.session_user(old) is None
    # An administrator ends every live session at once.
    third = accounts.open_session(name, _later())
    assert accounts.revoke_sessions(name, actor="admin") == 2
    assert accounts.session_user(second) is None and accounts.session_user(third) is None
    assert accounts.sessions_of(name) == []
    assert len(accounts.sessions_of(name, live_only=False)) == 4
    # A password reset and disabling the user end their sessions too.
    s = accounts.open_session(name, _later())
    accounts.reset_password(name, "another long passphrase", actor="tests")
    assert accounts.session_user(s) is None
    s = accounts.open_session(name, _later())
    accounts.set_disabled(name, True, actor="tests")
    assert accounts.session_user(s) is None
    accounts.set_disabled(name, False, actor="tests")
    assert accounts.session_user(s) is None  # enabling again does not bring an ended session back
    # Sessions a month past their end are pruned when the next one opens.
    accounts.open_session(name, datetime.now(UTC) - timedelta(days=31))
    before = len(accounts.sessions_of(name, live_only=False))
    accounts.open_session(name, _later())
    assert len(accounts.sessions_of(name, live_only=False)) == before
    actions = [r["action"] for r in accounts.audit_rows() if r["target"] == f"user:{name}"]
    assert actions.count("session.revoke") == 3 and "session.end" in actions
    with pytest.raises(AccountError, match="no user"):
        accounts.revoke_sessions("nobody_at_all")


@pytest.fixture
def store_url(tmp_path) -> str:
    return str(small_world.gpkg(tmp_path / "small.gpkg").path)


def browser(app) -> TestClient:
    """Keeps cookies like a browser on https (the cookie is Secure)."""
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def sign_in(client: TestClient, role: str) -> None:
    response = client.post(
        "/sign-in",
        data={"username": TEST_USERS[role][0], "password": TEST_PASSWORD, "next": "/me"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/maps/national").text).group(1)


def test_sign_out_ends_the_session_and_a_copied_cookie_with_it(store_url):
    tokens = make_users(store_url)
    app = create_app(Settings(store=store_url, prepare_tiles=False))
    with browser(app) as user:
        sign_in(user, "planner")
        cookie = user.cookies[SESSION_COOKIE]
        copy = browser(app)
        copy.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
        assert copy.get("/me").status_code == 200
        assert (
            user.post("/sign-out", data={"csrf_token": csrf_of(user)}, follow_redirects=False).status_code
            == 303
        )
        assert copy.get("/me").status_code == 401  # not only the browser's cookie: the session is gone
        assert copy.get("/maps/national", follow_redirects=False).status_code == 303
        # An administrator lists a user's sessions and ends them.
        admin = TestClient(app, raise_server_exceptions=False, headers=bearer(tokens["admin"]))
        who = TEST_USERS["provincial_director"][0]
        sign_in(user, "provincial_director")
        other = browser(app)
        sign_in(other, "provincial_director")
        listed = admin.get(f"/users/{who}/sessions").json()["sessions"]
        assert len(listed) == 2 and all(s["live"] and "testclient" in s["client"] for s in listed)
        assert admin.delete(f"/users/{who}/sessions").json() == {"username": who, "ended": 2}
        assert user.get("/me").status_code == 401 and other.get("/me").status_code == 401
        assert admin.get(f"/users/{who}/sessions").json()["sessions"] == []
        assert admin.get("/users/nobody/sessions").status_code == 404
        # Only administrators may.
        director = TestClient(
            app, raise_server_exceptions=False, headers=bearer(tokens["provincial_director"])
        )
        assert director.get(f"/users/{who}/sessions").status_code == 403
        assert director.delete(f"/users/{who}/sessions").status_code == 403
        # Disabling a user ends their sessions.
        sign_in(user, "licensing_officer")
        assert user.get("/me").status_code == 200
        Accounts(store_url).set_disabled(TEST_USERS["licensing_officer"][0], True, actor="tests")
        assert user.get("/me").status_code == 401


def test_users_sessions_and_revoke_sessions_commands(store_url, capsys):
    make_users(store_url)
    app = create_app(Settings(store=store_url, prepare_tiles=False))
    who = TEST_USERS["planner"][0]
    with browser(app) as user:
        sign_in(user, "planner")
        assert main(["--store", store_url, "users", "sessions", who]) == 0
        assert "testclient" in capsys.readouterr().out
        assert main(["--store", store_url, "users", "--actor", "it-desk", "revoke-sessions", who]) == 0
        assert "1 session(s)" in capsys.readouterr().out
        assert user.get("/me").status_code == 401
    assert main(["--store", store_url, "users", "sessions", who]) == 0
    assert "no live sessions" in capsys.readouterr().out
    assert main(["--store", store_url, "users", "revoke-sessions", "nobody"]) == 2
    rows = Accounts(store_url).audit_rows()
    assert ("cli:it-desk", "session.revoke") in [(r["actor"], r["action"]) for r in rows]


# ---- passwords and failed sign-ins --------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "",
        " " * 16,
        "\t \u00a0 " * 4,  # no-break spaces are spaces too
        "short",
        "   padded   ",  # 12 with the spaces, 6 without
        "password1234",
        "Password1234!",
        "1234qwerty!!",
        "P@ssw0rd2026",
        "123456789012",
        "qwertyuiopas",
        "aaaaaaaaaaaa",
        "abababababab",
        "iloveyou1234",
        "Dooset Daram 1404",
        "my name is maryam",  # the user name
        "MARYAM_1404!",
    ],
)
def test_blank_short_common_and_own_name_passwords_are_refused(tmp_path, password):
    from store.accounts import check_password_strength

    with pytest.raises(AccountError) as refused:
        check_password_strength(password, "maryam")
    message = refused.value.user_message
    assert "گذرواژه" in message and "password" in message  # Persian first, English second
    accounts = Accounts(str(tmp_path / "s.gpkg"))
    with pytest.raises(AccountError):
        accounts.add("maryam", password, "admin")
    assert accounts.list() == []
    accounts.close()


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "a long admin password", "tabriz rain on 9 roofs"]
)
def test_a_long_uncommon_password_is_accepted(password):
    from store.accounts import check_password_strength

    check_password_strength(password, "maryam")


def test_the_common_list_ships_with_the_package():
    from store.accounts import common_passwords

    listed = common_passwords()
    assert 300 <= len(listed) <= 2000 and {"123456", "password", "qwerty", "iloveyou"} <= listed


def test_the_throttle_slows_one_address_failing_across_names_in_bounded_memory():
    from api.security import SignInThrottle

    now = [1000.0]
    throttle = SignInThrottle(free=10, most=500, clock=lambda: now[0])
    for n in range(10):  # ten names, one wrong password each: no name is locked
        assert throttle.wait("10.0.0.9") == 0
        throttle.failed(f"name{n}", "10.0.0.9")
        assert not throttle.name_locked(f"name{n}")
    waits = []
    for n in range(10, 16):
        waits.append(throttle.wait("10.0.0.9"))
        now[0] += waits[-1]
        throttle.failed(f"name{n}", "10.0.0.9")
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # doubling
    assert throttle.wait("10.0.0.10") == 0  # another address is not slowed
    throttle.succeeded("name3")
    assert throttle.wait("10.0.0.9") == 64.0  # a success elsewhere buys no more guesses
    now[0] += 16 * 3600
    assert throttle.wait("10.0.0.9") == 0  # a quiet quarter of an hour forgives
    for n in range(5000):  # a flood of names and addresses is forgotten oldest first
        throttle.failed(f"flood{n}", f"192.0.2.{n}")
    assert len(throttle) <= 2 * 500


def test_sign_in_slows_a_client_failing_across_names(store_url):
    make_users(store_url)
    app = create_app(Settings(store=store_url, prepare_tiles=False))
    app.state.sessions.throttle.free = 4
    attacker = TestClient(app, base_url="https://testserver", client=("203.0.113.7", 4000))
    for n in range(4):
        wrong = attacker.post("/sign-in", data={"username": f"name{n}", "password": "correct horse battery"})
        assert wrong.status_code == 401
    slowed = attacker.post("/sign-in", data={"username": TEST_USERS["planner"][0], "password": TEST_PASSWORD})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    assert "از این نشانی" in slowed.text
    english = attacker.post("/sign-in", data={"username": "x", "password": "y", "lang": "en"})
    assert english.status_code == 429 and "from this address" in english.text
    # Someone else, from another address, signs in as usual.
    other = TestClient(app, base_url="https://testserver", client=("198.51.100.2", 4000))
    ok = other.post(
        "/sign-in",
        data={"username": TEST_USERS["planner"][0], "password": TEST_PASSWORD},
        follow_redirects=False,
    )
    assert ok.status_code == 303


@pytest.mark.postgis
def test_the_services_database_role_keeps_sessions(postgis_url):
    """On PostGIS the service connects as its own role (``amayesh db setup-roles``): it may open,
    end and revoke sessions."""
    from tests.conftest import service_role_url

    owner = Accounts(postgis_url)
    name = f"r_{secrets.token_hex(4)}"
    owner.add(name, TEST_PASSWORD, "planner", actor="tests")
    owner.close()
    service = Accounts(service_role_url(postgis_url))
    try:
        session = service.open_session(name, _later(), client="203.0.113.1")
        assert service.session_user(session).username == name
        assert service.end_session(session) is True and service.session_user(session) is None
        service.open_session(name, _later())
        assert service.revoke_sessions(name, actor="admin") == 1
    finally:
        service.close()
