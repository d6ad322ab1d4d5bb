"""OGC API – Features, HTML encoding, for the landing page, the collections, one collection, the
conformance classes and the queryables, on the small store (the fast loop).

Each resource answers a page for a person to ``f=html`` and to a browser's Accept header, drawn
from the same answer the JSON gives (so a provincial director's page shows their province's
counts and extent, as their JSON does); the JSON stays the default (no Accept, ``*/*``,
``application/json``) and names its HTML alternate; ``f=xml`` is a 400; a caller without
credentials gets no more than before.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.collections import COLLECTIONS
from geo.decisions import fa_number
from maps.i18n import strings
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA
from tests.conftest import TEST_PASSWORD, bearer
from tests.small_world import PROVINCE

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
FA = strings("fa")

#: path -> the JSON media type it answers by default
RESOURCES = {
    "/": "application/json",
    "/collections": "application/json",
    "/collections/ngos": "application/json",
    "/collections/saturation": "application/json",
    "/conformance": "application/json",
    "/collections/ngos/queryables": "application/schema+json",
    "/collections/settlement-access/queryables": "application/schema+json",
}


class Page(HTMLParser):
    """What a person meets on a page: its root's attributes, its links and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.root: dict[str, str | None] = {}
        self.links: list[dict[str, str | None]] = []
        self.addresses: list[str] = []  # every href and src
        self.rows: dict[str, str] = {}  # data-id or data-name of a table row -> its text
        self.ids: dict[str, str] = {}  # element id -> its text
        self._open: list[tuple[str, str | None, str | None, list[str]]] = []
        self._skip = 0
        self.text_parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if tag == "a":
            self.links.append(a)
        self.addresses += [v for k, v in attrs if k in ("href", "src") and v is not None]
        if tag in ("script", "style"):
            self._skip += 1
        if tag not in ("meta", "link", "input", "br", "img"):
            self._open.append((tag, a.get("data-id") or a.get("data-name"), a.get("id"), []))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        while self._open:
            name, key, ident, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if key is not None and name == "tr":
                self.rows[key] = text
            if ident is not None:
                self.ids[ident] = text
            if self._open:
                self._open[-1][3].extend(parts)
            if name == tag:
                break

    def handle_data(self, data):
        if self._skip:
            return
        self.text_parts.append(data)
        if self._open:
            self._open[-1][3].append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    def hrefs(self, rel: str | None = None) -> list[str]:
        return [a["href"] or "" for a in self.links if rel is None or a.get("rel") == rel]


@pytest.fixture(scope="module")
def director(small_store) -> dict[str, str]:
    """A provincial director of the small world's first province (no exact-location right)."""
    from store.accounts import Accounts

    accounts = Accounts(str(small_store.path))
    try:
        if accounts.get("s_director_00") is None:
            accounts.add("s_director_00", TEST_PASSWORD, "provincial_director", (PROVINCE,), actor="tests")
        return bearer(accounts.issue_token("s_director_00", days=1, actor="tests")[1])
    finally:
        accounts.close()


@pytest.fixture(scope="module")
def anonymous(small_client):
    """The same service, asked without credentials (no lifespan of its own)."""
    return TestClient(small_client.app, raise_server_exceptions=False)


def page_of(response) -> Page:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return Page(response.text)


def problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["detail"]


@pytest.mark.parametrize("path", list(RESOURCES))
def test_each_resource_is_a_persian_page_in_both_negotiations(small_client, path):
    by_f = small_client.get(path, params={"f": "html"})
    by_accept = small_client.get(path, headers={"Accept": BROWSER})
    for response in (by_f, by_accept):
        page = page_of(response)
        assert (page.root.get("lang"), page.root.get("dir")) == ("fa", "rtl")
        # The project's look: its style sheets and top bar, the notice where data is synthetic,
        # the as-of date, the Persian attribution; nothing from another host.
        assert "/static/app/amayesh.css" in page.addresses and "/static/app/office.css" in page.addresses
        assert FA["app"] in page.text and "۱ فروردین ۱۴۰۴" in page.text
        assert ATTRIBUTION_FA in page.text and ATTRIBUTION not in page.text
        assert all(a.startswith(("/", "data:")) for a in page.addresses), page.addresses
        # The JSON alternate, in the page and in the Link header.
        assert f"{path}?f=json" in page.hrefs("alternate")
        assert response.headers["link"] == (
            f'<http://testserver{path}?f=json>; rel="alternate"; type="application/json"'
        )
        # Links between the pages keep f=html.
        assert {"/?f=html", "/collections?f=html", "/conformance?f=html"} <= set(page.hrefs())
        # The map pages of the top bar, and the page in English.
        assert "/maps/national?lang=fa" in page.hrefs()
        assert page.ids["am-lang"] == "English"
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert Page(by_f.text).text == Page(by_accept.text).text


def test_the_landing_page_lists_the_layers_of_the_json(small_client):
    landing = small_client.get("/").json()
    page = page_of(small_client.get("/?f=html"))
    assert len(landing["layers"]) >= 5
    for layer in landing["layers"]:
        row = page.rows[layer["name"]]
        assert layer["title_fa"] in row and fa_number(layer["count"]) in row
        assert layer["name"] in row  # the layer's id, as a code
    for name in ("provinces", "ngos", "settlements"):
        assert f"/collections/{name}?f=html" in page.hrefs()
    assert page.hrefs("data") == ["/collections?f=html"]
    assert page.hrefs("conformance") == ["/conformance?f=html"]
    assert page.hrefs("service-desc") == ["/openapi.json"]


def test_the_collections_page_links_each_collection_its_items_and_queryables(small_client):
    listed = small_client.get("/collections").json()["collections"]
    page = page_of(small_client.get("/collections", headers={"Accept": BROWSER}))
    assert [c["id"] for c in listed] == list(page.rows)
    for c in listed:
        assert c["title_fa"] in page.rows[c["id"]]
        assert COLLECTIONS[c["id"]].description_fa in page.rows[c["id"]]
        for href in (f"/collections/{c['id']}", f"/collections/{c['id']}/items"):
            assert f"{href}?f=html" in page.hrefs()
        assert f"/collections/{c['id']}/queryables?f=html" in page.hrefs()


def test_a_collection_page_says_its_extent_period_filters_and_links(small_client):
    doc = small_client.get("/collections/ngos").json()
    page = page_of(small_client.get("/collections/ngos?f=html"))
    assert doc["title_fa"] in page.text and COLLECTIONS["ngos"].description_fa in page.text
    west, south, east, north = doc["extent"]["spatial"]["bbox"][0]
    assert page.ids["am-ogc-extent"] == FA["ogc_extent_value"].format(
        west=fa_number(west, 2), east=fa_number(east, 2), south=fa_number(south, 2), north=fa_number(north, 2)
    )
    assert "فروردین" in page.ids["am-ogc-period"] or "۱۳" in page.ids["am-ogc-period"]
    for name in doc["filters"]:
        assert name in page.ids["am-ogc-filters"]
    assert "کد استان" in page.ids["am-ogc-filters"]
    assert page.hrefs("items") == ["/collections/ngos/items?f=html", "/collections/ngos/items?f=json"]
    assert "/collections/ngos/queryables?f=html" in page.hrefs()
    # The items page it links to answers HTML.
    assert page_of(small_client.get("/collections/ngos/items?f=html")).root["dir"] == "rtl"
    # In English: left to right, the English description and attribution.
    en = page_of(small_client.get("/collections/ngos?f=html&lang=en"))
    assert (en.root["lang"], en.root["dir"]) == ("en", "ltr")
    assert COLLECTIONS["ngos"].description in en.text and ATTRIBUTION in en.text
    assert "/collections/ngos/items?f=html&lang=en" in en.hrefs()


def test_the_conformance_page_lists_every_class(small_client):
    classes = small_client.get("/conformance").json()["conformsTo"]
    page = page_of(small_client.get("/conformance?f=html"))
    assert page.ids["am-ogc-classes"].split() == classes
    # The classes are named, not linked: the page sends nobody to another host.
    assert not any(href.startswith("http") for href in page.hrefs())


def test_the_queryables_page_lists_every_property_with_its_meaning(small_client):
    schema = small_client.get("/collections/ngos/queryables").json()
    page = page_of(small_client.get("/collections/ngos/queryables?f=html"))
    assert list(page.rows) == list(schema["properties"])
    assert "کد استان" in page.rows["province_code"] and "تاریخ" in page.rows["issued_on"]
    assert "rehabilitation" in page.rows["service_type"] and "توانبخشی" in page.rows["service_type"]
    assert "فعال" in page.rows["status"] and "هندسه" in page.rows["geometry"]
    assert page.hrefs("collection") == ["/collections/ngos?f=html"]
    access = page_of(small_client.get("/collections/settlement-access/queryables?f=html"))
    assert "فاصله تا نزدیک‌ترین مرکز توانبخشی (کیلومتر)" in access.rows["rehabilitation_nearest_km"]


def test_an_items_page_is_a_persian_table_with_its_pages_and_features(small_client, small_layers):
    ngos = small_layers["ngos"]
    active = ngos[ngos["status"] == "active"].reset_index(drop=True)
    assert len(active) > 2
    path = "/collections/ngos/items"
    for response in (
        small_client.get(path, params={"status": "active", "limit": 2, "f": "html"}),
        small_client.get(path, params={"status": "active", "limit": 2}, headers={"Accept": BROWSER}),
    ):
        page = page_of(response)
        assert (page.root["lang"], page.root["dir"]) == ("fa", "rtl")
        assert "/static/app/amayesh.css" in page.addresses and ATTRIBUTION_FA in page.text
        assert list(page.rows) == list(active["licence_no"][:2])
        first = active.iloc[0]
        row = page.rows[first["licence_no"]]
        assert FA[f"service_{first['service_type']}"] in row and FA["status_active"] in row
        assert fa_number(first["capacity"]) in row
        assert page.ids["am-ogc-shown"] == FA["ogc_shown"].format(
            matched=fa_number(len(active)), first="۱", last="۲"
        )
        # The next page keeps the filter; each feature has its page; the collection and the GeoJSON.
        assert page.hrefs("next") == [f"{path}?status=active&offset=2&limit=2&f=html"]
        assert page.hrefs("prev") == []
        assert f"{path}/{first['licence_no']}?f=html" in page.hrefs("item")
        assert page.hrefs("collection") == ["/collections/ngos?f=html"]
        assert page.hrefs("alternate") == [f"{path}?status=active&limit=2&f=json"]
    second = page_of(
        small_client.get(path, params={"status": "active", "limit": 2, "offset": 2, "f": "html"})
    )
    assert list(second.rows) == list(active["licence_no"][2:4])
    assert second.hrefs("prev") == [f"{path}?status=active&offset=0&limit=2&f=html"]
    one = page_of(small_client.get(f"{path}/{first['licence_no']}", headers={"Accept": BROWSER}))
    assert list(one.rows) == [first["licence_no"]]
    en = page_of(small_client.get(path, params={"limit": 1, "f": "html", "lang": "en"}))
    assert en.root["dir"] == "ltr" and "features; showing 1 to 1" in en.text


@pytest.mark.parametrize("path", list(RESOURCES))
def test_json_stays_the_default_and_names_its_html_alternate(small_client, path):
    plain = small_client.get(path)
    assert plain.status_code == 200 and plain.headers["content-type"] == RESOURCES[path]
    for headers in (
        {"Accept": "application/json"},
        {"Accept": "*/*"},
        {"Accept": "text/html, application/json"},
    ):
        same = small_client.get(path, headers=headers)
        assert same.headers["content-type"] == RESOURCES[path] and same.json() == plain.json()
    # f wins over Accept; a browser that prefers JSON gets JSON.
    assert small_client.get(path, params={"f": "json"}, headers={"Accept": BROWSER}).json() == plain.json()
    preferred = {"Accept": "text/html;q=0.5, application/json"}
    assert small_client.get(path, headers=preferred).json() == plain.json()
    assert plain.headers["link"] == f'<http://testserver{path}?f=html>; rel="alternate"; type="text/html"'
    body = plain.json()
    if "links" in body:
        alternates = [link for link in body["links"] if link["rel"] == "alternate"]
        assert {"rel": "alternate", "type": "text/html", "href": f"http://testserver{path}?f=html"} in [
            {k: v for k, v in link.items() if v is not None} for link in alternates
        ]
    # The JSON of each resource, as before: same keys, and the answers of its kind.
    keys = {
        "/": {
            "title", "description", "links", "layers", "attribution", "notice_fa", "notice_en",
            "tiles_prepared", "as_of", "as_of_source",
        },
        "/collections": {"links", "crs", "collections"},
        "/conformance": {"conformsTo"},
    }  # fmt: skip
    if path in keys:
        assert set(body) == keys[path]
    elif path.endswith("/queryables"):
        assert body["type"] == "object" and "geometry" in body["properties"]
    else:
        assert body["id"] == path.rsplit("/", 1)[1] and body["itemType"] == "feature"


@pytest.mark.parametrize("path", list(RESOURCES))
def test_other_formats_and_languages_are_400(small_client, path):
    assert "f" in problem(small_client.get(path, params={"f": "xml"}), 400)
    assert "lang" in problem(small_client.get(path, params={"f": "html", "lang": "de"}), 400)


@pytest.mark.parametrize("path", [p for p in RESOURCES if p != "/conformance"])
def test_without_credentials_no_page_and_no_data(anonymous, path):
    for response in (
        anonymous.get(path, params={"f": "html"}),
        anonymous.get(path, headers={"Accept": BROWSER}),
    ):
        problem(response, 401)
    bad = anonymous.get(path, params={"f": "html"}, headers={"Authorization": "Bearer amy_nonsense"})
    problem(bad, 401)


def test_the_conformance_page_is_public_and_holds_no_data(anonymous, small_client):
    page = page_of(anonymous.get("/conformance", headers={"Accept": BROWSER}))
    assert "am-user" not in page.ids  # nobody signed in
    # Its top bar offers the sign-in (back to this page), not the pages that need it.
    assert page.hrefs()[:2] == ["/conformance?f=html", "/sign-in?lang=fa&next=%2Fconformance%3Ff%3Dhtml"]
    assert "/collections?f=html" not in page.hrefs() and "/maps/national?lang=fa" not in page.hrefs()
    landing = small_client.get("/").json()
    for layer in landing["layers"]:
        assert layer["title_fa"] not in page.text


def test_a_director_reads_the_pages_of_their_province_only(small_client, director):
    admin_landing = small_client.get("/").json()
    mine = small_client.get("/", headers=director).json()
    counts = {layer["name"]: layer["count"] for layer in mine["layers"]}
    everyone = {layer["name"]: layer["count"] for layer in admin_landing["layers"]}
    assert counts["settlements"] < everyone["settlements"]  # the small world has two provinces
    page = page_of(small_client.get("/?f=html", headers=director))
    for name, count in counts.items():
        assert fa_number(count) in page.rows[name]
    assert fa_number(everyone["settlements"]) not in page.rows["settlements"]
    # The director's extent, as their JSON gives it, not the country's.
    box = small_client.get("/collections/settlements", headers=director).json()["extent"]["spatial"]["bbox"][
        0
    ]
    whole = small_client.get("/collections/settlements").json()["extent"]["spatial"]["bbox"][0]
    assert box[2] < whole[2]  # the other province lies east of the director's
    page = page_of(small_client.get("/collections/settlements?f=html", headers=director))
    assert fa_number(box[2], 2) in page.ids["am-ogc-extent"]
    assert fa_number(whole[2], 2) not in page.ids["am-ogc-extent"]
    # The top bar names only the map pages a director may open.
    assert "/maps/priorities?lang=fa" in page.hrefs() and "/maps/plan?lang=fa" not in page.hrefs()
    assert "/maps/licence?lang=fa" not in page.hrefs()


def test_the_openapi_document_declares_f_and_the_html_answer(small_client):
    doc = small_client.get("/openapi.json").json()
    paths = ["/", "/collections", "/collections/{collection_id}", "/conformance"]
    paths += [f"/collections/{c}/queryables" for c in COLLECTIONS]
    for path in paths:
        op = doc["paths"][path]["get"]
        f = next(p for p in op["parameters"] if p["name"] == "f")
        assert f["in"] == "query" and f["schema"]["enum"] == ["json", "html"]
        lang = next(p for p in op["parameters"] if p["name"] == "lang")
        assert lang["schema"]["enum"] == ["fa", "en"]
        content = op["responses"]["200"]["content"]
        assert content["text/html"] == {"schema": {"type": "string"}}
        json_type = "application/schema+json" if path.endswith("/queryables") else "application/json"
        assert json_type in content
    conformance = doc["paths"]["/conformance"]["get"]["responses"]["200"]["content"]["application/json"]
    schema = conformance["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert schema["required"] == ["conformsTo"]


# ---- in Debian's Chromium ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_server(small_store):
    """The service on the small store, started as a user starts it, on a free port of 127.0.0.1."""
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import ROOT, free_port, make_users

    make_users(str(small_store.path))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--store", str(small_store.path), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/health", timeout=2)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


#: Latin letters a Persian page may show outside codes and ids: the sources' and licences' own
#: names in the attribution, as the English credit writes them.
SOURCES = (
    "OpenStreetMap", "ODbL", "Who's On First", "GeoNames", "CC BY 4.0", "Natural Earth",
    "VMap0 / Digital Chart of the World", "NGA", "DIVA-GIS",
)  # fmt: skip

LATIN_OUTSIDE_CODES = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    if (!/[A-Za-z]/.test(text)) continue;
    const el = node.parentElement;
    if (el.closest('code')) continue;                           // codes, ids, addresses
    if (el.closest('#am-user')) continue;                       // the signed-in user's name and role
    if (el.closest('#am-lang') && el.closest('#am-lang').lang === 'en') continue;  // "English"
    out.push([el.closest('.am-attribution') ? 'attribution' : el.tagName, text.trim()]);
  }
  return out;
}"""


@pytest.mark.browser
def test_a_planner_follows_the_pages_from_the_landing_page_to_a_collection(browser, small_server):
    from tests.conftest import TEST_USERS
    from tests.test_maps import ARTIFACTS, Visit

    visit = Visit(browser, small_server)
    try:
        visit.sign_in(TEST_USERS["planner"][0], TEST_PASSWORD)
        page = visit.page

        def check(name: str) -> None:
            assert page.evaluate("document.documentElement.dir") == "rtl"
            assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
            # The project's style sheet is applied: the dark top bar and the Vazirmatn font.
            assert page.evaluate("getComputedStyle(document.querySelector('.am-top')).backgroundColor") == (
                "rgb(18, 52, 59)"
            )
            assert page.evaluate("document.fonts.load('14px Vazirmatn', 'آمایش').then(f => f.length)") > 0
            latin = page.evaluate(LATIN_OUTSIDE_CODES)
            assert [x for x in latin if x[0] != "attribution"] == [], name
            credit = page.locator(".am-attribution").inner_text()
            assert all(source in credit and source in ATTRIBUTION for source in SOURCES)
            for source in SOURCES:
                credit = credit.replace(source, "")
            assert not re.search("[A-Za-z]", credit), credit
            visit.shot(f"ogc-{name}", ARTIFACTS)

        # A browser asks for the service's address as a person does: the page, not JSON.
        page.goto(small_server + "/")
        assert page.locator("h1").inner_text() == FA["page_ogc_landing"]
        check("landing")
        with page.expect_navigation():
            page.click("#am-ogc-links a[rel=data]")
        assert page.url == small_server + "/collections?f=html"
        check("collections")
        with page.expect_navigation():
            page.click("#am-ogc-collections tr[data-id=ngos] a[rel=item]")
        assert page.url == small_server + "/collections/ngos?f=html"
        assert page.locator("h1").inner_text() == COLLECTIONS["ngos"].title_fa
        assert page.locator(".am-demo").is_visible()  # the registry is synthetic: the notice shows
        check("collection")
        with page.expect_navigation():
            page.click("#am-items")
        assert page.locator("#am-ogc-items tbody tr").count() == 10  # the first page of features
        check("items")
        page.go_back()
        with page.expect_navigation():
            page.click("#am-queryables")
        assert (
            page.locator("#am-ogc-queryables tr[data-name=service_type]").inner_text().count("توانبخشی") == 1
        )
        check("queryables")
        # Its JSON alternate is the service's answer.
        with page.expect_navigation():
            page.click("#am-json")
        assert page.url.endswith("/collections/ngos/queryables?f=json")
        visit.check_clean()
        # On a phone a wide table scrolls in its own box; the page itself never scrolls sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        wide = "(() => { const b = document.querySelector('.am-scroll'); return b.scrollWidth > b.clientWidth; })()"
        for lang in ("fa", "en"):
            for path in ("/", "/collections", "/collections/flags/items", "/collections/counties/queryables"):
                page.goto(f"{small_server}{path}?f=html&lang={lang}")
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, (lang, path)
            assert page.evaluate(wide)  # the counties' queryables are wider than a phone: their box scrolls
            visit.shot(f"ogc-queryables-phone-{lang}", ARTIFACTS)
    finally:
        visit.close()
