"""The map pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Every page is opened in Persian and English against the service running on the demo. A route on
the browser context lets requests to 127.0.0.1 through and aborts (and records) any other, so a
page that needs the internet fails here as it would on an office intranet. Screenshots are saved
in tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import jdatetime
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry

from geo.recompute import analyse
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services.loading import load_norms, travel_for
from services.settings import Settings
from tests.conftest import TEST_PASSWORD, TEST_USERS

pytestmark = [pytest.mark.realdata, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("AMAYESH_CHROMIUM", "/usr/bin/chromium")
#: How Chromium is started here: headless, and quiet (no update or sync traffic of its own).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FA_DIGITS = str.maketrans("0123456789,.", "۰۱۲۳۴۵۶۷۸۹٬٫")
JALALI_MONTHS = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
]


def fa(n: int) -> str:
    """An integer as the Persian page writes it (Persian digits, Persian thousands separator)."""
    return f"{n:,}".translate(FA_DIGITS)


class Visit:
    """One browser page with a record of what it asked for and what went wrong."""

    def __init__(self, browser, base: str, viewport: tuple[int, int] = (1400, 850)) -> None:
        width, height = viewport
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.outside: list[str] = []
        self.errors: list[str] = []
        # Each failed request with why it failed and the document (counted by ``documents``) that
        # asked for it: a request the browser cut short because the page went on to another
        # document (net::ERR_ABORTED, a font still loading when a link is followed) is not a fault.
        self._failures: list[tuple[str, str, int]] = []
        self.documents = 0
        self._asked_by: dict[object, int] = {}
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("framenavigated", self._navigated)
        self.page.on("requestfailed", self._failed)
        # What the page has asked for and not yet received, and when each request began or ended:
        # the wait for quiet reads these (Playwright's own "networkidle" once hung 90 s in CI with
        # no request in flight that the page could name).
        self.in_flight: dict[int, tuple[str, float]] = {}
        self.changes: list[tuple[float, str]] = []
        self.page.on("request", self._began)
        self.page.on("requestfinished", self._ended)
        self.page.on("requestfailed", self._ended)
        self.base = base

    def _route(self, route) -> None:
        url = urlparse(route.request.url)
        if url.scheme == "data" or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort("internetdisconnected")

    def sign_in(self, username: str, password: str) -> None:
        """Sign in through the sign-in page, as a person does."""
        # Land on /me, not a map page whose data requests the next visit would cut short.
        self.page.goto(self.base + "/sign-in?next=%2Fme")
        self.page.fill("#am-username", username)
        self.page.fill("#am-password", password)
        with self.page.expect_navigation():
            self.page.click("#am-sign-in-submit")

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.documents += 1

    def _failed(self, request) -> None:
        self._failures.append(
            (request.url, request.failure or "", self._asked_by.get(request, self.documents))
        )

    @property
    def failed(self) -> list[str]:
        """The requests that failed, leaving aside those cut short by the page's own move to a
        later document."""
        return [
            url
            for url, why, document in self._failures
            if not (why == "net::ERR_ABORTED" and document < self.documents)
        ]

    def _began(self, request) -> None:
        self._asked_by[request] = self.documents
        self.in_flight[id(request)] = (request.url, time.monotonic())
        self.changes.append((time.monotonic(), request.url))

    def _ended(self, request) -> None:
        self.in_flight.pop(id(request), None)
        self.changes.append((time.monotonic(), request.url))

    def quiet(self, timeout: float = 30_000, tolerate: tuple[str, ...] = ()) -> None:
        """Wait until the page has loaded and no request has begun or ended for half a second,
        leaving aside requests whose path starts with one of ``tolerate`` (map tiles, for a test
        that reads the page's words). Past ``timeout`` ms, the requests still waiting are named."""

        def counted(url: str) -> bool:
            return not (tolerate and urlparse(url).path.startswith(tolerate))

        deadline = time.monotonic() + timeout / 1000
        self.page.wait_for_load_state("load", timeout=timeout)
        while True:
            now = time.monotonic()
            waiting = [(url, round(now - since, 1)) for url, since in self.in_flight.values() if counted(url)]
            last = max((when for when, url in self.changes if counted(url)), default=0.0)
            if not waiting and now - last >= 0.5:
                return
            if now > deadline:
                raise AssertionError(
                    f"the page was not quiet in {timeout / 1000:.0f} s; still waiting for {waiting}"
                )
            self.page.wait_for_timeout(100)  # lets Playwright deliver the page's events

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-ready=true]", timeout=30_000)

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def click_at(self, lat: float, lon: float) -> None:
        x, y = self.js(
            f"(() => {{ const p = Amayesh.map.latLngToContainerPoint([{lat}, {lon}]);"
            " const r = Amayesh.map.getContainer().getBoundingClientRect();"
            " return [p.x + r.left, p.y + r.top]; })()"
        )
        self.page.mouse.click(x, y)

    def view(self, lat: float, lon: float, zoom: int) -> None:
        self.js(f"void Amayesh.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
        self.page.wait_for_timeout(300)

    def popup_text(self) -> str:
        popup = self.page.locator(".leaflet-popup-content")
        popup.wait_for()
        # A county's first popup draws its five-year trend, which costs an analysis at each
        # period's end (about 3 s each on this machine, far more under CI's load; #27).
        self.page.wait_for_function(
            "() => !document.querySelector('.leaflet-popup-content').innerText.includes('…')", timeout=120_000
        )
        return popup.inner_text()

    def shot(self, name: str, folder: Path | None = None) -> None:
        folder = folder or ARTIFACTS
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=folder / f"{name}.png")

    def check_clean(self) -> None:
        assert self.outside == [], f"requests left the machine: {self.outside}"
        assert self.errors == [], f"the page reported errors: {self.errors}"
        assert self.failed == [], f"requests failed: {self.failed}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server, demo_tokens):
    v = Visit(browser, server)
    v.sign_in(TEST_USERS["admin"][0], TEST_PASSWORD)
    yield v
    v.close()


@pytest.fixture(scope="module")
def analysis(demo):
    layers = demo["layers"]
    norms = load_norms(Path(__file__).resolve().parents[1] / "config" / "norms.toml")
    return analyse(
        layers["settlements"],
        layers["ngos"],
        layers["county_needs"],
        layers["counties"],
        layers["target_areas"],
        norms,
        travel_for(Settings(), norms),
    )


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize("page", ["national", "licence", "priorities"])
def test_every_page_loads_offline_in_both_languages(visit, page, lang):
    visit.open(f"/maps/{page}?lang={lang}")
    html = visit.page.locator("html")
    assert html.get_attribute("lang") == lang
    assert html.get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    banner = visit.page.locator(".am-demo").inner_text()
    assert banner.strip() == (SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN)
    credit = ATTRIBUTION_FA if lang == "fa" else ATTRIBUTION
    assert credit in visit.page.locator(".leaflet-control-attribution").inner_text()
    font = visit.js("getComputedStyle(document.body).fontFamily")
    assert font.startswith("Vazirmatn")
    assert visit.js("document.fonts.check('14px Vazirmatn', 'آمایش')")
    heading = visit.page.locator(".am-panel h1").inner_text()
    assert (
        heading
        == {
            ("national", "fa"): "نقشهٔ کشوری",
            ("national", "en"): "National map",
            ("licence", "fa"): "بررسی مجوز",
            ("licence", "en"): "Licence check",
            ("priorities", "fa"): "اولویت روستاها",
            ("priorities", "en"): "Village priorities",
        }[(page, lang)]
    )
    # The switch leads to the same page in the other language.
    switch = visit.page.locator("#am-lang").get_attribute("href")
    assert switch.startswith(f"/maps/{page}?lang={'en' if lang == 'fa' else 'fa'}")
    visit.quiet()
    visit.shot(f"{page}-{lang}")
    visit.check_clean()


def ngo_total(visit) -> int:
    """NGOs the cluster layer stands for in view: cluster counts plus single markers."""
    return visit.js("Amayesh.layers.ngos.getLayers().reduce((n, l) => n + (l.options.amCount || 1), 0)")


def test_national_map_draws_every_layer_and_switches_them(visit, demo):
    visit.open("/maps/national")
    ngos = demo["layers"]["ngos"]
    # All of Iran is in view: the clusters stand for every rehabilitation NGO of the registry.
    assert ngo_total(visit) == int((ngos["service_type"] == "rehabilitation").sum())
    assert visit.page.locator(".am-cluster").count() > 10
    assert visit.js("Amayesh.layers.counties.getLayers().length") == len(demo["layers"]["counties"])
    assert visit.js("Amayesh.layers.targets.getLayers()[0].getLayers().length") == len(
        demo["layers"]["target_areas"]
    )
    # The settlement vector tiles arrive and are drawn.
    visit.page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-amSettlements-pane canvas, "
        ".leaflet-tile-container canvas').length > 0"
    )
    tiles = visit.js(
        "Object.values(Amayesh.layers.settlements._tiles).filter(t => t.current && t.loaded).length"
    )
    assert tiles > 0

    # Switch the NGO layer off and on in the layer control.
    label = visit.page.locator(".leaflet-control-layers-overlays label", has_text="سازمان‌های مردم‌نهاد")
    label.click()
    assert visit.page.locator(".am-cluster").count() == 0
    assert not visit.js("Amayesh.map.hasLayer(Amayesh.layers.ngos)")
    label.click()
    assert visit.page.locator(".am-cluster").count() > 10

    # Another service: the clusters follow, the choropleth restyles, the address keeps it.
    fill_before = visit.js("Amayesh.layers.counties.getLayers().map(l => l.options.fillColor).join()")
    visit.page.select_option("#am-service", "kindergarten")
    assert ngo_total(visit) == int((ngos["service_type"] == "kindergarten").sum())
    fill_after = visit.js("Amayesh.layers.counties.getLayers().map(l => l.options.fillColor).join()")
    assert fill_after != fill_before
    assert "service=kindergarten" in visit.page.url
    assert "service=kindergarten" in visit.page.locator("#am-lang").get_attribute("href")

    # A province: the view zooms to it and only its NGOs are counted.
    visit.page.select_option("#am-province", "07")
    in_fars = (ngos["service_type"] == "kindergarten") & (ngos["province_code"] == "07")
    assert ngo_total(visit) == int(in_fars.sum())
    zoom = visit.js("Amayesh.map.getZoom()")
    assert zoom >= 6
    # The settlement tiles are drawn again for the province, and hold only its places.
    drawn = (
        "Object.values(Amayesh.layers.settlements._vectorTiles)"
        ".flatMap(r => Object.values(r._layers || {}).map(l => String(l.properties.settlement_code).slice(0, 2)))"
    )
    visit.page.wait_for_function(f"() => {drawn}.length > 100")
    assert set(visit.js(drawn)) == {"07"}
    targets = demo["layers"]["target_areas"]
    assert visit.js("Amayesh.layers.targets.getLayers()[0].getLayers().length") == int(
        (targets["province_code"] == "07").sum()
    )
    visit.quiet()
    visit.shot("national-fars-kindergarten")
    visit.check_clean()


def test_clicking_a_county_a_settlement_and_a_centre_shows_their_figures(visit, demo, analysis):
    visit.open("/maps/national")
    counties = demo["layers"]["counties"]
    # A county, with the settlements layer off so the click cannot land on a village.
    visit.page.locator(".leaflet-control-layers-overlays label", has_text="سکونتگاه‌ها").click()
    county = counties[counties["county_code"] == "0701"].iloc[0]
    inside = county.geometry.representative_point()
    visit.view(inside.y, inside.x, 8)
    visit.click_at(inside.y, inside.x)
    text = visit.popup_text()
    sat = analysis.saturation.loc[("0701", "rehabilitation")]
    assert f"شهرستان {county['name_fa']}" in text
    assert fa(int(sat["capacity"])) in text
    assert {"underserved": "کم‌برخوردار", "balanced": "متعادل", "saturated": "اشباع"}[sat["class"]] in text
    visit.page.keyboard.press("Escape")

    # A flagged village: its name, county and the reason it is flagged.
    visit.page.locator(".leaflet-control-layers-overlays label", has_text="سکونتگاه‌ها").click()
    flags = analysis.flags[analysis.flags["service_type"] == "rehabilitation"]
    places = analysis.settlements.set_index("settlement_code")
    code = flags["settlement_code"].iloc[len(flags) // 2]
    place = places.loc[code]
    visit.view(place.geometry.y, place.geometry.x, 13)
    visit.click_at(place.geometry.y, place.geometry.x)
    text = visit.popup_text()
    from geo.decisions import flag_reasons

    reason = flag_reasons(flags[flags["settlement_code"] == code])["reason_fa"].iloc[0]
    assert place["name_fa"] in text
    assert reason in text
    visit.shot("national-settlement-popup")
    visit.page.keyboard.press("Escape")

    # A centre on its own: name, capacity, and its licence dates in the Jalali calendar.
    ngos = demo["layers"]["ngos"]
    rehab = ngos[(ngos["service_type"] == "rehabilitation") & ngos["issued_on"].notna()]
    xy = np.c_[rehab.geometry.x, rehab.geometry.y]
    gap = np.array([np.sort(np.hypot(*(xy - p).T))[1] for p in xy[:400]])
    ngo = rehab.iloc[int(np.argmax(gap))]  # the most isolated of the first 400: one marker, no overlap
    visit.view(ngo.geometry.y, ngo.geometry.x, 15)
    visit.click_at(ngo.geometry.y, ngo.geometry.x)
    text = visit.popup_text()
    issued = jdatetime.date.fromgregorian(date=pd.Timestamp(ngo["issued_on"]).date())
    assert ngo["name_fa"] in text
    assert fa(int(ngo["capacity"])) in text
    assert (
        f"{fa(issued.day)} {JALALI_MONTHS[issued.month - 1]} {str(issued.year).translate(FA_DIGITS)}" in text
    )
    visit.shot("national-ngo-popup")
    visit.check_clean()


def test_english_popups_use_english_words_and_digits(visit, demo, analysis):
    visit.open("/maps/national?lang=en")
    visit.page.locator(".leaflet-control-layers-overlays label", has_text="Settlements").click()
    county = demo["layers"]["counties"].set_index("county_code").loc["0701"]
    inside = county.geometry.representative_point()
    visit.view(inside.y, inside.x, 8)
    visit.click_at(inside.y, inside.x)
    text = visit.popup_text()
    sat = analysis.saturation.loc[("0701", "rehabilitation")]
    assert county["name_en"] in text
    assert f"{int(sat['capacity']):,}" in text
    assert "Capacity per 10,000" in text
    assert not any("۰" <= ch <= "۹" for ch in text.replace(county["name_fa"], ""))
    visit.check_clean()


def test_licence_check_page_draws_the_answer_of_the_api(visit, api):
    visit.open("/maps/licence")
    # Picking a point on the map fills in its coordinates.
    visit.click_at(29.6, 52.5)
    lat, lon = float(visit.page.input_value("#am-lat")), float(visit.page.input_value("#am-lon"))
    assert abs(lat - 29.6) < 0.02 and abs(lon - 52.5) < 0.02

    # Typed coordinates (Persian digits accepted), a service and a capacity.
    visit.page.fill("#am-lat", "۳۵٫۷")
    visit.page.fill("#am-lon", "51.4")
    visit.page.select_option("#am-service", "elderly_care")
    visit.page.fill("#am-capacity", "60")
    visit.page.click("#am-check")
    visit.page.wait_for_selector(".am-verdict")
    body = {"lat": 35.7, "lon": 51.4, "service_type": "elderly_care", "capacity": 60}
    expected = api.post("/licence-checks", json=body, timeout=30).json()
    assert visit.page.get_attribute(".am-verdict", "data-verdict") == expected["verdict"]
    reasons = visit.page.locator(".am-reasons li").all_inner_texts()
    assert reasons == expected["reasons_fa"]
    assert visit.page.locator(".am-near li").count() == max(1, len(expected["same_type_nearby"]))
    roads = expected["travel"] == "roads"
    if roads:
        visit.page.wait_for_function("document.body.dataset.catchment === 'drawn'")
    drawn = visit.js(
        "(() => { const out = {circles: 0, dots: 0, numbered: 0, areas: 0};"
        " Amayesh.map.eachLayer(l => { if (l instanceof L.Circle) out.circles++;"
        " else if (l instanceof L.Polygon && l.options.amCatchment) out.areas++;"
        " else if (l instanceof L.CircleMarker && l.options.pane === 'amResults') out.dots++;"
        " else if (l instanceof L.Marker && l.options.pane === 'amResults') out.numbered++; });"
        " return out; })()"
    )
    assert drawn == {
        "circles": 0 if roads else 1,
        "areas": 1 if roads else 0,
        "dots": len(expected["same_type_nearby"]),
        "numbered": len(expected["better_places"]),
    }
    if roads:
        # The travel-time area of the API, drawn as it is, holding the proposed place.
        area = api.get(
            "/catchment-areas",
            params={"lon": 51.4, "lat": 35.7, "service_type": "elderly_care"},
            timeout=30,
        ).json()
        drawn_area = visit.js(
            "(() => { let g = null; Amayesh.map.eachLayer(l => { if (l instanceof L.Polygon && l.options.amCatchment)"
            " g = l.toGeoJSON(); }); return g; })()"
        )
        assert shapely.geometry.shape(drawn_area["geometry"]).equals_exact(
            shapely.geometry.shape(area["geometry"]), 1e-5
        )
        assert shapely.geometry.shape(area["geometry"]).contains(shapely.Point(51.4, 35.7))
    else:
        radius = visit.js(
            "(() => { let r = null; Amayesh.map.eachLayer(l => { if (l instanceof L.Circle) r = l.getRadius(); });"
            " return r; })()"
        )
        assert radius == pytest.approx(expected["catchment_km"] / 1.3 * 1000)
    visit.quiet()
    visit.shot("licence-check-fa")

    # A point at sea is refused with the API's message, not a stack trace.
    visit.page.fill("#am-lat", "26.0")
    visit.page.fill("#am-lon", "53.0")
    visit.page.click("#am-check")
    alert = visit.page.locator(".am-error[role=alert]")
    alert.wait_for()
    assert "Traceback" not in alert.inner_text()
    visit.errors = [e for e in visit.errors if "status of 4" not in e]  # the refused request
    visit.check_clean()


def test_priorities_follow_the_weights_and_download(visit, api, tmp_path, demo):
    visit.open("/maps/priorities?province=07")

    def api_ranking(weights: str | None) -> list[str]:
        params = {"province": "07", "top": 50}
        if weights:
            params["weights"] = weights
        rows = api.get("/priorities", params=params, timeout=60).json()["villages"]
        return [r["settlement_code"] for r in rows]

    shown = visit.page.get_attribute("body", "data-ranked").split(",")
    assert shown == api_ranking(None)
    assert visit.page.locator("#am-table tbody tr").count() == 50
    markers = visit.js(
        "(() => { let n = 0; Amayesh.map.eachLayer(l => { if (l instanceof L.Marker) n++; }); return n; })()"
    )
    assert markers == 50

    # The director puts everything on population: the ranking follows.
    for criterion, value in (("need", "0"), ("gap", "0"), ("distance", "0"), ("target_area", "0")):
        visit.page.fill(f"#am-w-{criterion}", value)
    visit.page.fill("#am-w-population", "1")
    weights = "need:0,gap:0,distance:0,population:1,target_area:0"
    visit.page.wait_for_function("w => new URL(location.href).searchParams.get('weights') === w", arg=weights)
    visit.page.wait_for_function("old => document.body.dataset.ranked !== old", arg=",".join(shown))
    reranked = visit.page.get_attribute("body", "data-ranked").split(",")
    assert reranked == api_ranking(weights)
    assert reranked != shown
    visit.quiet()
    visit.shot("priorities-population-weight")

    # The downloads carry the same weights.
    with visit.page.expect_download() as info:
        visit.page.click("#am-xlsx")
    path = tmp_path / "priorities.xlsx"
    info.value.save_as(path)
    # From the Persian page: Persian headers, county names beside their codes, and a sheet that
    # records the weights, the as-of date and that the data is synthetic.
    table = pd.read_excel(path, sheet_name=None, dtype={"کد سکونتگاه": str})
    ranking = table["priorities"]
    assert ranking["کد سکونتگاه"].head(50).tolist() == reranked
    counties = demo["layers"]["counties"].set_index("county_code")["name_fa"]
    first = ranking.iloc[0]
    assert first["شهرستان"] == counties[str(first["کد شهرستان"]).zfill(4)]
    about = dict(zip(table["about"]["item"], table["about"]["value"], strict=True))
    assert about["weights"] == "need=0.000, gap=0.000, distance=0.000, population=1.000, target_area=0.000"
    assert about["as_of"] == "2025-03-21"
    assert about["synthetic"] == SYNTHETIC_NOTICE_FA
    csv = api.get(visit.page.get_attribute("#am-csv", "href"), timeout=60)
    rows = pd.read_csv(io.BytesIO(csv.content), dtype={"کد سکونتگاه": str}, encoding="utf-8-sig", comment="#")
    assert rows["کد سکونتگاه"].head(50).tolist() == reranked
    assert csv.content.decode("utf-8-sig").startswith("# weights: need=0.000")

    # Reset brings the default ranking back.
    visit.page.click("#am-reset")
    visit.page.wait_for_function("old => document.body.dataset.ranked !== old", arg=",".join(reranked))
    assert visit.page.get_attribute("body", "data-ranked").split(",") == shown
    visit.check_clean()


def test_pages_refuse_bad_parameters_with_problem_json(api):
    for url in ("/maps/nowhere", "/maps/national?lang=de", "/maps/priorities?province=7"):
        r = api.get(url, timeout=30)
        assert r.status_code in (400, 404)  # a bad parameter value is a 400 (OGC API Features)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_map_data_is_gzipped_and_revalidated(api, demo):
    r = api.get("/maps/data/boundaries.json", timeout=60)
    assert r.headers["content-encoding"] == "gzip"
    assert len(r.json()["counties"]["features"]) == len(demo["layers"]["counties"])
    again = api.get("/maps/data/boundaries.json", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    ngos = api.get("/maps/data/ngos.json", timeout=60).json()
    assert len(ngos["id"]) == len(demo["layers"]["ngos"])
    assert ngos["synthetic"] is True
