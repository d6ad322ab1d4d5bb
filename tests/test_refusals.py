"""Refusals and missing things as pages in the person's language; problem answers with codes.

On the small world: every role opens every page of the top bar in a browser (``Accept:
text/html``) in both languages; a page the role may not open answers 403 with a page that says
why in that language and links only the pages the role may open; a settlement of another
province, or a page that does not exist, answers 404 as a page; a download opened without a
session answers 401 as a page with the way to sign in. Programs and the pages' own requests keep
problem+json, with a stable ``code`` the pages translate.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.security import NAV_RIGHTS, pages_for
from maps.i18n import strings
from services.rights import has_right
from store.accounts import User
from tests.conftest import TEST_PASSWORD, bearer
from tests.small_world import OTHER_PROVINCE, PROVINCE

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ROLES = ("admin", "planner", "licensing_officer", "provincial_director")


@pytest.fixture(scope="module")
def clients(small_client, small_store) -> dict[str, TestClient]:
    """A client per role, each of province 00 (national roles: every province)."""
    from store.accounts import Accounts

    accounts = Accounts(str(small_store.path))
    out = {}
    try:
        for role in ROLES:
            name = f"r_{role}"
            if accounts.get(name) is None:
                provinces = () if role in ("admin", "planner") else (PROVINCE,)
                accounts.add(name, TEST_PASSWORD, role, provinces, actor="tests")
            token = accounts.issue_token(name, days=1, actor="tests")[1]
            out[role] = TestClient(small_client.app, raise_server_exceptions=False, headers=bearer(token))
    finally:
        accounts.close()
    return out


def _user(role: str) -> User:
    return User(username="x", role=role, provinces=(), display_name="", disabled=False, session_epoch=0)


def nav_links(html: str) -> set[str]:
    """The pages the top bar links (``/maps/<page>``)."""
    bar = html[html.index('<nav class="am-nav">') : html.index("</nav>")]
    return set(re.findall(r'href="/maps/([a-z]+)\?', bar))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_each_role_reads_its_refusals_as_pages_in_its_language(clients, role, lang):
    client = clients[role]
    text = strings(lang)
    allowed = set(pages_for(_user(role)))
    assert allowed, role
    refused = [p for p in NAV_RIGHTS if p not in allowed]
    for page in NAV_RIGHTS:
        response = client.get(f"/maps/{page}?lang={lang}", headers=BROWSER)
        if page in allowed:
            assert response.status_code == 200, (role, page, response.text[:300])
            # Links by role: the top bar of every page a role may open names only those pages.
            assert nav_links(response.text) == allowed, (role, page)
            # the signed-in badge names the role in the page's language
            badge = re.search(r'<span id="am-user">([^<]*)</span>', response.text).group(1)
            assert badge.endswith(f"· {text['role_' + role]}"), badge
            continue
        assert response.status_code == 403, (role, page)
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "fa" else "ltr"}">' in html
        assert text["refused_role_title"] in html
        # why: the page and the role, named in the page's language
        assert text[f"page_{page}"] in html and text[f"role_{role}"] in html
        # what next: the pages the role may open, and no other
        assert nav_links(html) == allowed
        listed = html[html.index('id="am-refused-pages"') :]
        assert set(re.findall(r'href="/maps/([a-z]+)\?', listed)) == allowed
        assert "problem+json" not in response.headers["content-type"] and '"status"' not in html
    assert role == "admin" or refused


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_settlement_of_another_province_is_a_404_page(clients, small_layers, lang):
    s = small_layers["settlements"]
    other = s[s["province_code"] == OTHER_PROVINCE]["settlement_code"].iloc[0]
    mine = s[s["province_code"] == PROVINCE]["settlement_code"].iloc[0]
    director = clients["provincial_director"]
    assert director.get(f"/maps/settlements/{mine}?lang={lang}", headers=BROWSER).status_code == 200
    page = director.get(f"/maps/settlements/{other}?lang={lang}", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    shown = other.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) if lang == "fa" else other
    expected = strings(lang)["not_found_settlement"].format(code=shown)
    assert expected in page.text
    assert nav_links(page.text) == set(pages_for(_user("provincial_director")))
    # the page's own data request keeps problem+json, with its code
    data = director.get(f"/settlements/{other}")
    assert data.status_code == 404 and data.headers["content-type"] == "application/problem+json"
    assert data.json()["code"] == "unknown-settlement"


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_page_of_another_province_is_refused_as_a_page(clients, lang):
    """A director or officer who opens a page on a province not theirs (an address shared or
    edited by hand) is told so in the page's language; before, the page opened on their own
    province as if they had asked for it. National roles open any province's page."""
    text = strings(lang)
    for role, page in (("provincial_director", "priorities"), ("provincial_director", "national")):
        client = clients[role]
        mine = client.get(f"/maps/{page}?province={PROVINCE}&lang={lang}", headers=BROWSER)
        assert mine.status_code == 200, (role, page)
        other = client.get(f"/maps/{page}?province={OTHER_PROVINCE}&lang={lang}", headers=BROWSER)
        assert other.status_code == 403, (role, page)
        assert other.headers["content-type"].startswith("text/html")
        assert text["refused_scope_title"] in other.text and text["refused_scope"] in other.text
        assert nav_links(other.text) == set(pages_for(_user(role)))
        program = client.get(f"/maps/{page}?province={OTHER_PROVINCE}")
        assert program.status_code == 403 and program.json()["code"] == "outside-provinces"
    for role in ("planner", "admin"):
        page = clients[role].get(f"/maps/priorities?province={OTHER_PROVINCE}&lang={lang}", headers=BROWSER)
        assert page.status_code == 200, role


def test_a_page_that_does_not_exist_is_a_404_page(clients):
    for role in ROLES:
        page = clients[role].get("/maps/nowhere", headers=BROWSER)
        assert page.status_code == 404, role
        assert strings("fa")["not_found_page"] in page.text
        deeper = clients[role].get("/maps/nowhere/at/all?lang=en", headers=BROWSER)
        assert deeper.status_code == 404 and strings("en")["not_found_page"] in deeper.text


def test_a_page_asked_with_a_bad_value_says_which_and_why_as_a_page(clients):
    """A value the page cannot take (an address typed or edited by hand) is a 400 page in the
    page's language naming the field, never problem+json; a program still gets problem+json."""
    director = clients["provincial_director"]
    fa = director.get("/maps/priorities?province=abc", headers=BROWSER)
    assert fa.status_code == 400 and fa.headers["content-type"].startswith("text/html")
    assert strings("fa")["bad_request_title"] in fa.text and 'dir="rtl"' in fa.text
    assert "استان: درست نیست" in fa.text  # the field by its catalogue name, and what is wrong
    assert '"type"' not in fa.text and "String should match" not in fa.text
    en = director.get("/maps/priorities?province=abc&lang=en", headers=BROWSER)
    assert en.status_code == 400 and strings("en")["bad_request_title"] in en.text
    assert "Province: is not valid" in en.text
    assert "String should match" not in en.text and not re.search(
        "[\u0600-\u06ff]{3}", en.text.split("<main")[-1]
    )
    program = director.get("/maps/priorities?province=abc")
    assert program.status_code == 400 and program.json()["code"] == "validation"
    lang = director.get("/maps/priorities?lang=xx", headers=BROWSER)  # the page's language itself
    assert lang.status_code == 400 and "زبان:" in lang.text and "«lang»" not in lang.text


def test_an_address_with_a_parameter_the_page_does_not_know_is_a_page_in_its_language(clients):
    """An unknown parameter or a value the service reads itself (a bbox, a period) opened in the
    browser is a 400 page in the page's language, as a bad value is; a program keeps problem+json
    naming the parameter. (It was problem+json in English on every page.)"""
    planner = clients["planner"]
    navigate = BROWSER | {"Sec-Fetch-Mode": "navigate"}
    for address in ("/collections/ngos/items?f=html&kind=town", "/collections/ngos/items?f=html&bbox=1,2,3"):
        fa = planner.get(address, headers=navigate)
        assert fa.status_code == 400 and fa.headers["content-type"].startswith("text/html"), address
        assert strings("fa")["bad_request_title"] in fa.text and 'dir="rtl"' in fa.text
        assert strings("fa")["err_bad-parameter"] in fa.text and '"type"' not in fa.text
        en = planner.get(address + "&lang=en", headers=navigate)
        assert en.status_code == 400 and strings("en")["bad_request_title"] in en.text
    en = planner.get("/collections/ngos/items?f=html&kind=town&lang=en", headers=navigate)
    assert "unknown query parameter kind" in en.text
    period = planner.get("/collections/flags/items?f=html&period=1499", headers=navigate)
    assert period.status_code == 400 and "دورهٔ ۱۴۹۹ پس از تاریخ مبنای سامانه" in period.text
    assert "فروردین ۱۴۰۴" in period.text and "2025" not in period.text  # the as-of day, in Jalali
    program = planner.get("/collections/ngos/items?kind=town")
    assert program.status_code == 400 and program.headers["content-type"] == "application/problem+json"
    assert program.json()["code"] == "bad-parameter" and "kind" in program.json()["detail"]


def test_every_parameter_of_every_address_is_named_in_both_languages(small_client):
    """A refusal names the parameter it refuses by a word of the page's language, for every path
    and query parameter of every operation the service declares (not its code name in «»)."""
    from api.errors import validation_words

    seen = set()
    for operations in small_client.app.openapi()["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["in"] in ("path", "query"):
                    seen.add(param["name"])
    assert {"limit", "bbox", "code", "lang", "population", "z"} <= seen  # the walk found them
    for name in sorted(seen):
        error = [{"loc": ("query", name), "type": "missing"}]
        fa, en = validation_words(error, "fa"), validation_words(error, "en")
        assert "«" not in fa and "«" not in en, name
        assert re.search("[\u0600-\u06ff]", fa.split(":")[0]), (name, fa)
        assert not re.search("[\u0600-\u06ff]", en), (name, en)


def test_without_a_session_a_page_sends_to_sign_in_and_a_download_says_so(small_client):
    anonymous = TestClient(small_client.app, raise_server_exceptions=False)
    page = anonymous.get("/maps/plan?lang=en", headers=BROWSER, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in?lang=en")
    # A link the browser follows (a download) without a session: 401, as a page, with sign-in.
    navigate = BROWSER | {"Sec-Fetch-Mode": "navigate"}
    download = anonymous.get(f"/priorities?province={PROVINCE}&f=xlsx", headers=navigate)
    assert download.status_code == 401 and download.headers["content-type"].startswith("text/html")
    assert strings("fa")["sign_in_title"] in download.text and 'id="am-refused-sign-in"' in download.text
    assert 'href="/sign-in?lang=fa&amp;next=' in download.text
    assert download.headers["www-authenticate"].startswith("Bearer")
    # a program gets problem+json
    program = anonymous.get(f"/priorities?province={PROVINCE}")
    assert program.status_code == 401 and program.json()["code"] == "unauthenticated"


def test_programs_and_page_requests_keep_problem_json_with_codes(clients):
    director = clients["provincial_director"]
    for accept in ("application/json", "*/*"):
        answer = director.get("/maps/plan", headers={"Accept": accept})
        assert answer.status_code == 403 and answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "role"
    officer = clients["licensing_officer"]
    outside = officer.post(
        "/licence-applications",
        json={"applicant": "x", "service_type": "rehabilitation", "capacity": 20, "lat": 34.45, "lon": 51.45},
    )
    assert outside.status_code == 403 and outside.json()["code"] == "outside-provinces"
    invalid = officer.post(
        "/licence-applications",
        json={
            "applicant": "x",
            "service_type": "rehabilitation",
            "capacity": "many",
            "lat": 34.1,
            "lon": 199,
        },
    )
    assert invalid.status_code == 422 and invalid.json()["code"] == "validation"
    errors = {e["loc"][-1]: e for e in invalid.json()["errors"]}
    assert errors["capacity"]["type"] == "int_parsing"
    assert errors["lon"]["type"] == "less_than_equal" and errors["lon"]["ctx"]["le"] == 180
    # the same refusal said in Persian for a program's user too: each field by its name in the
    # catalogue, what is wrong, the limit in Persian digits
    fa = invalid.json()["detail_fa"]
    assert "ظرفیت: باید عددی درست باشد" in fa and "باید حداکثر ۱۸۰ باشد" in fa, fa
    page = officer.get("/collections/ngos/items?limit=0")
    assert page.status_code == 400 and page.json()["code"] == "validation"
    assert page.json()["detail_fa"] == "شمار در هر صفحه: باید دست‌کم ۱ باشد", page.json()
    assert page.json()["detail"].startswith("limit: ")  # the program's English names the parameter
    assert (
        officer.get("/collections/ngos/items?limit=abc").json()["detail_fa"]
        == "شمار در هر صفحه: باید عددی درست باشد"
    )
    sea = officer.post(
        "/licence-checks", json={"lat": 20.0, "lon": 60.0, "service_type": "rehabilitation", "capacity": 20}
    )
    assert sea.status_code in (400, 403) and sea.json()["code"] in ("outside-counties", "outside-provinces")
    missing = officer.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["code"] == "not-found"


def test_every_code_a_page_can_receive_has_words_in_both_languages():
    """The codes the service answers with (domain errors, their per-case codes, HTTP errors) are
    in the catalogue, or fall back to a sentence for their status."""
    import ast
    from pathlib import Path

    import geo.errors as e

    root = Path(__file__).resolve().parents[1]
    codes = {
        cls.code for cls in vars(e).values() if isinstance(cls, type) and issubclass(cls, e.AmayeshError)
    }
    for path in [*root.glob("api/**/*.py"), *root.glob("geo/*.py"), *root.glob("services/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                codes.add(node.value.value)
    from api.errors import HTTP_CODES
    from api.guard import GUARD_CODES

    codes |= set(HTTP_CODES.values()) | set(GUARD_CODES.values())
    fa, en = strings("fa"), strings("en")
    page_codes = {
        "outside-provinces", "outside-counties", "choose-province", "role", "csrf", "unauthenticated",
        "decision-final", "check-first", "precondition-failed", "unknown-settlement", "scenario-not-found",
        "application-not-found", "no-space", "too-many-imports", "import-conflict", "too-large", "busy",
    }  # fmt: skip
    assert page_codes <= codes
    for code in page_codes:
        assert f"err_{code}" in fa and fa[f"err_{code}"] != en[f"err_{code}"], code
        assert not re.search(r"[A-Za-z]", fa[f"err_{code}"]), code
    assert has_right(_user("admin"), "admin")
