"""The map pages as their users need them, in Debian's Chromium: a readable national map with
names, a table and downloads; place search; a licence check whose headline and table agree, in
the page's language and digits, that prints as a dated record (PDF read back with pdftotext);
a settlement's profile; the priorities page on a 390 px phone; the as-of date everywhere.

Screenshots go to ``AMAYESH_SHOTS`` (default tests/artifacts).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import jdatetime
import pandas as pd
import pytest

from geo.decisions import flag_reasons
from maps.i18n import JALALI_MONTHS_EN
from tests.conftest import TEST_PASSWORD, TEST_USERS
from tests.test_maps import ARTIFACTS, Visit, analysis, fa  # noqa: F401

pytestmark = pytest.mark.realdata

SHOTS = Path(os.environ.get("AMAYESH_SHOTS", ARTIFACTS))
AS_OF = dt.date(2025, 3, 21)  # the demo registry's own date (demo/synthetic.py AS_OF)
TEHRAN = ZoneInfo("Asia/Tehran")  # the pages date their records by the Tehran day


@pytest.fixture
def visit(browser, server, demo_tokens):
    v = Visit(browser, server)
    v.sign_in(TEST_USERS["admin"][0], TEST_PASSWORD)
    yield v
    v.close()


@pytest.fixture
def phone(browser, server, demo_tokens):
    v = Visit(browser, server, viewport=(390, 844))
    v.sign_in(TEST_USERS["admin"][0], TEST_PASSWORD)
    yield v
    v.close()


@pytest.fixture(scope="module")
def boundaries(api):
    return api.get("/maps/data/boundaries.json", timeout=120).json()


def test_the_as_of_date_is_stated_in_api_answers(api):
    landing = api.get("/", timeout=60).json()
    assert (landing["as_of"], landing["as_of_source"]) == (AS_OF.isoformat(), "registry")
    body = {"lat": 35.7, "lon": 51.4, "service_type": "elderly_care", "capacity": 60}
    check = api.post("/licence-checks", json=body, timeout=60).json()
    assert check["as_of"] == AS_OF.isoformat()
    assert api.get("/priorities?province=07&top=1", timeout=60).json()["as_of"] == AS_OF.isoformat()


def test_place_search_reads_persian_english_and_persian_digits(api):
    def first(q):
        return api.get("/maps/data/search", params={"q": q}, timeout=60).json()["places"][0]

    assert (first("۰۷۰۱")["kind"], first("۰۷۰۱")["code"]) == ("county", "0701")
    assert first("فارس")["kind"] == "province" and first("فارس")["code"] == "07"
    assert first("fars")["code"] == "07"
    shiraz = first("shiraz")
    assert (
        shiraz["kind"] == "settlement" and shiraz["name_en"] == "Shiraz" and shiraz["county_code"] == "0707"
    )
    # Arabic yeh and kaf find the Persian letters.
    assert first("كرمانشاه")["name_fa"] == "کرمانشاه"


def test_national_map_has_names_a_table_downloads_and_one_meaning_per_colour(visit, api, demo, boundaries):
    visit.open("/maps/national")
    header = visit.page.locator("#am-asof").inner_text()
    assert header == "ارقام به تاریخ ۱ فروردین ۱۴۰۴، ثابت"
    # Colours: the county ramp, the settlement greys and the NGO hues share nothing.
    county = set(visit.js("Amayesh.layers.counties.getLayers().map(l => l.options.fillColor)"))
    access = set(visit.js("Amayesh.u.ACCESS_COLOURS"))
    ngo = set(visit.js("Amayesh.u.SERVICE_COLOURS"))
    assert county and not (county & access) and not (county & ngo) and not (access & ngo)
    # Names at national zoom: every province, and the cities of a million or more.
    provinces = set(visit.page.locator(".am-label-province").all_inner_texts())
    assert {"فارس", "کرمان", "یزد"} <= provinces
    assert visit.page.locator(".am-label-county").count() == 0
    assert len(visit.page.locator(".am-label-city").all_inner_texts()) >= 3
    status = visit.page.locator("#am-status").inner_text()
    assert status.startswith("همهٔ کشور · توانبخشی: ۴۴۸ شهرستان")
    assert "ارقام به تاریخ ۱ فروردین ۱۴۰۴، ثابت" in status
    assert visit.page.locator("#am-county-table tbody tr").count() == 448
    visit.quiet()
    visit.shot("national-fa-national-zoom", SHOTS)

    # A province and a service: the status says so, the table and the names follow.
    visit.page.select_option("#am-service", "elderly_care")
    visit.page.select_option("#am-province", "07")
    in_fars = [f for f in boundaries["counties"]["features"] if f["properties"]["province_code"] == "07"]
    status = visit.page.locator("#am-status").inner_text()
    assert status.startswith(f"فارس · مراقبت از سالمندان: {fa(len(in_fars))} شهرستان")
    assert visit.page.locator("#am-county-table tbody tr").count() == len(in_fars)
    names = set(visit.page.locator(".am-label-county").all_inner_texts())
    assert names and names <= {f["properties"]["name_fa"] for f in in_fars}
    # Sorted by the need rank (the ratio to the norm first), least first; the ratio's heading
    # sorts by it, and a second click turns it round.
    ratio = {f["properties"]["county_code"]: f["properties"]["sat"]["elderly_care"][0] for f in in_fars}
    order = visit.js(
        "Array.from(document.querySelectorAll('#am-county-table tbody tr')).map(r => r.dataset.code)"
    )
    values = [ratio[c] for c in order if ratio[c] is not None]
    assert values == sorted(values)
    visit.page.click("#am-county-table th[data-sort=ratio]")
    assert visit.page.get_attribute("#am-county-table th[data-sort=ratio]", "aria-sort") == "ascending"
    visit.page.click("#am-county-table th[data-sort=ratio]")
    order = visit.js(
        "Array.from(document.querySelectorAll('#am-county-table tbody tr')).map(r => r.dataset.code)"
    )
    values = [ratio[c] for c in order if ratio[c] is not None]
    assert values == sorted(values, reverse=True)
    # The downloads are the API's export, in Persian with the county names.
    href = visit.page.get_attribute("#am-sat-csv", "href")
    assert parse_qs(urlparse(href).query) == {
        "service_type": ["elderly_care"],
        "province": ["07"],
        "lang": ["fa"],
        "f": ["csv"],
    }
    rows = pd.read_csv(
        io.BytesIO(api.get(href, timeout=60).content),
        comment="#",
        encoding="utf-8-sig",
        dtype={"کد شهرستان": str},
    )
    assert len(rows) == len(in_fars) and set(rows["نوع خدمت"]) == {"مراقبت از سالمندان"}
    names_by_code = demo["layers"]["counties"].set_index("county_code")["name_fa"]
    assert (rows["شهرستان"] == rows["کد شهرستان"].map(names_by_code)).all()
    visit.quiet()
    visit.shot("national-fa-province-zoom", SHOTS)
    visit.check_clean()


def test_a_saturated_county_whose_villages_lack_reach_is_explained(visit, boundaries):
    # Find such a county in the data the page draws (saturated, most villages out of reach).
    hits = [
        (f["properties"]["county_code"], service)
        for f in boundaries["counties"]["features"]
        for service, v in f["properties"]["sat"].items()
        if v[5] == "saturated" and v[6] and v[7] / v[6] > 0.5
    ]
    assert hits, "the demo has no saturated county whose villages mostly lack reach"
    code, service = hits[0]
    visit.open(f"/maps/national?lang=en&service={service}")
    row = visit.page.locator(f"#am-county-table tr[data-code='{code}']")
    assert "This county is saturated on average because its capacity sits in its towns" in row.get_attribute(
        "title"
    )
    row.click()
    text = visit.popup_text()
    assert "This county is saturated on average because its capacity sits in its towns" in text
    visit.check_clean()


def test_a_centres_popup_says_its_grade(visit, api):
    # An active centre evaluated before the as-of day, and its grade as the API says it.
    ngos = api.get("/collections/ngos/items?limit=200&f=json").json()["features"]
    for f in ngos:
        body = api.get(f"/ngos/{f['properties']['licence_no']}/evaluations").json()
        if body["grade"] and f["properties"]["status"] == "active":
            break
    else:
        raise AssertionError("no evaluated active centre among the first 200")
    lon, lat = f["geometry"]["coordinates"]
    # the map draws the centres of the chosen service
    visit.open(f"/maps/national?service={f['properties']['service_type']}")
    visit.view(lat, lon, 17)
    visit.quiet(tolerate=("/tiles/",))
    clicked = visit.js(
        "(() => { let n = 0; Amayesh.map.eachLayer((l) => { if (l.options && l.options.amNgo === "
        f"{body['licence_no']!r}) {{ n += 1; l.fire('click'); }} }}); return n; }})()"
    )
    assert clicked == 1
    text = visit.popup_text()
    assert "رتبهٔ ارزیابی" in text
    meaning = next(g["fa"] for g in body["scale"]["grades"] if g["grade"] == body["grade"])
    assert f"{body['grade']} {meaning}" in text
    visit.check_clean()


def test_the_volunteer_groups_are_a_layer_of_the_national_map(visit, api):
    # the groups the API gives the caller, and one placed active group's popup in Persian
    body = api.get("/volunteers/groups", timeout=120).json()
    placed = [g for g in body["groups"] if g["lon"] is not None and g["active"]]
    assert placed and body["norms"]["synthetic"] is True
    visit.open("/maps/national")
    visit.page.wait_for_function("() => Amayesh.layers && Amayesh.layers.volunteers")
    assert visit.js("Amayesh.layers.volunteers.getLayers().length") == sum(
        g["lon"] is not None for g in body["groups"]
    )
    assert "گروه‌های داوطلب" in visit.page.locator(".leaflet-control-layers").inner_text()
    group = placed[0]
    visit.js(
        "(() => { const l = Amayesh.layers.volunteers; l.addTo(Amayesh.map);"
        f" const m = l.getLayers().find((x) => x.getLatLng().lat === {group['lat']}"
        f" && x.getLatLng().lng === {group['lon']}); m.openPopup(); }})()"
    )
    text = visit.popup_text()
    assert "گروه داوطلب" in text and group["name_fa"] in text
    visit.check_clean()


def test_english_status_line_search_and_plurals(visit, boundaries):
    visit.open("/maps/national?lang=en&province=07")
    n = sum(f["properties"]["province_code"] == "07" for f in boundaries["counties"]["features"])
    status = visit.page.locator("#am-status").inner_text()
    assert status.startswith(f"Fars · Rehabilitation: {n} counties (")
    assert "County" not in status and "flagged places" in status and "active centres" in status
    assert "Figures as of 1 Farvardin 1404 (2025-03-21), fixed" in status
    assert "Shiraz" in visit.page.locator(".am-label-city").all_inner_texts()
    # Search in English: the city, then its popup with a link to its profile.
    visit.page.fill("#am-search", "shiraz")
    visit.page.wait_for_function(
        "() => document.getElementById('am-search-results').dataset.query === 'shiraz'"
    )
    assert "Shiraz" in visit.page.locator("#am-search-results li").first.inner_text()
    visit.page.press("#am-search", "Enter")
    text = visit.popup_text()
    assert text.startswith("Shiraz") and "Full profile" in text
    visit.check_clean()


def test_licence_check_from_an_address_with_persian_digits(visit, api):
    # A shared address typed with Persian digits loads the page (not a JSON 422) and runs the check.
    r = api.get("/maps/licence?lat=۳۵٫۷&lon=۵۱٫۴&service=elderly_care&capacity=۴۰", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    visit.open("/maps/licence?lat=۳۵٫۷&lon=۵۱٫۴&service=elderly_care&capacity=۴۰")
    visit.page.wait_for_selector(".am-verdict")
    query = parse_qs(urlparse(visit.page.url).query)
    assert query["lat"] == ["35.7"] and query["lon"] == ["51.4"] and query["capacity"] == ["40"]
    body = {"lat": 35.7, "lon": 51.4, "service_type": "elderly_care", "capacity": 40}
    expected = api.post("/licence-checks", json=body, timeout=60).json()
    # One sentence says why; the reasons do not repeat the verdict; the Persian reasons carry
    # the norm and the national median as the English do.
    assert visit.page.locator("#am-summary").inner_text() == expected["summary_fa"]
    reasons = visit.page.locator(".am-reasons li").all_inner_texts()
    assert reasons == expected["reasons_fa"]
    assert not reasons[0].startswith("نتیجه")
    median = fa(round(expected["saturation_before"]["national_median_per_10k"]))
    assert "میانهٔ کشوری" in reasons[0] and median in reasons[0]
    assert "national median" in expected["reasons_en"][0]
    # Better places: the same province, and apart from each other.
    assert expected["better_places"]
    assert {p["county_code"][:2] for p in expected["better_places"]} == {expected["province_code"]}
    # Settlements and other centres are drawn around the point.
    visit.page.wait_for_function("() => Amayesh.layers.around.getLayers().length > 0")
    tiles = visit.js(
        "Object.values(Amayesh.layers.settlements._tiles).filter(t => t.current && t.loaded).length"
    )
    assert tiles > 0
    visit.quiet()
    visit.shot("licence-check-fa", SHOTS)

    # Capacity in Persian digits in a text field: accepted, and plain digits go to the address.
    visit.page.fill("#am-capacity", "۶۰")
    visit.page.click("#am-check")
    visit.page.wait_for_function("() => new URL(location.href).searchParams.get('capacity') === '60'")
    assert visit.page.input_value("#am-capacity") == "60"

    # Swapped coordinates: a Persian hint that offers the swap; lat is named before lon.
    visit.page.fill("#am-lat", "51.4")
    visit.page.fill("#am-lon", "35.7")
    visit.page.click("#am-check")
    hint = visit.page.locator("#am-swap-hint")
    hint.wait_for()
    assert "جابه‌جا" in hint.inner_text() and "عرض ۳۵٫۷" in hint.inner_text()
    hint.click()
    visit.page.wait_for_function("() => new URL(location.href).searchParams.get('lat') === '35.7'")
    # A missing field: its own message, in Persian.
    visit.page.fill("#am-lat", "")
    visit.page.click("#am-check")
    assert visit.page.locator("#am-lat-error").inner_text() == "عرض جغرافیایی را بنویسید (مثلاً ۳۵٫۷)."
    # At sea: refused in Persian, latitude first.
    visit.page.fill("#am-lat", "26.0")
    visit.page.fill("#am-lon", "53.0")
    visit.page.click("#am-check")
    alert = visit.page.locator(".am-error[role=alert]")
    alert.wait_for()
    assert alert.inner_text().startswith("نقطهٔ عرض ۲۶ و طول ۵۳")
    visit.errors = [e for e in visit.errors if "status of 4" not in e]  # the refused request
    visit.check_clean()


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def pdftotext():
    if not shutil.which("pdftotext"):
        pytest.skip("no pdftotext (Debian package poppler-utils)")


def test_licence_check_prints_as_a_dated_record(visit, api, tmp_path, pdftotext):
    started = dt.datetime.now(dt.UTC)
    visit.open("/maps/licence?lang=en&lat=35.7&lon=51.4&service=elderly_care&capacity=40")
    visit.page.wait_for_selector(".am-verdict")
    visit.page.wait_for_function("() => Amayesh.layers.around.getLayers().length > 0")
    visit.page.emulate_media(media="print")
    visit.js("Amayesh.fitForPrint()")
    visit.quiet()
    visit.page.wait_for_timeout(500)
    path = tmp_path / "licence-check.pdf"
    visit.page.pdf(path=str(path), format="A4", print_background=True)
    shutil.copy(path, SHOTS / "licence-check-en.pdf") if SHOTS.is_dir() else None
    text = " ".join(pdf_text(path).split())
    body = {"lat": 35.7, "lon": 51.4, "service_type": "elderly_care", "capacity": 40}
    expected = api.post("/licence-checks", json=body, timeout=60).json()
    assert "Licence check record" in text
    # Printed on (Jalali, the page's Tehran day): the day of the print, or the next one if the
    # check ran across Tehran midnight.
    printed_on = [
        jdatetime.date.fromgregorian(date=moment.astimezone(TEHRAN).date())
        for moment in (started, dt.datetime.now(dt.UTC))
    ]
    assert any(f"{JALALI_MONTHS_EN[d.month - 1]} {d.day}, {d.year}" in text for d in printed_on)
    # The record's own row (the top bar, which says the day is fixed, is not printed).
    assert "Licence statuses as of 1 Farvardin 1404 (2025-03-21)" in text
    assert "Latitude 35.7" in text and "Longitude 51.4" in text and "Elderly care" in text
    assert f"Verdict: {expected['verdict'].capitalize()}" in text
    assert " ".join(expected["summary_en"].split()) in text
    assert " ".join(expected["reasons_en"][0].split())[:60] in text
    # The map is in the record: it is drawn, not cut off, and the search box and buttons are not.
    assert "Leaflet" in text and "Check" not in text.replace("Licence check", "")
    images = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert len(images.strip().splitlines()) > 2  # header lines plus the map's canvases
    visit.check_clean()


def test_settlement_profile_page_and_its_pdf(visit, analysis, tmp_path, pdftotext):  # noqa: F811
    flags = analysis.flags
    code = flags["settlement_code"].value_counts().index[0]  # flagged for the most services
    place = analysis.settlements.set_index("settlement_code").loc[code]
    visit.open(f"/maps/settlements/{code}")
    visit.page.wait_for_selector(f"body[data-profile='{code}']")
    # On roads the widest catchment is drawn as its travel-time area, not a circle.
    catchment = visit.page.locator("body").get_attribute("data-catchment")
    assert catchment == ("area" if analysis.unit == "min" else "circle")
    assert visit.page.locator("#am-profile-name").inner_text().startswith(place["name_fa"])
    facts = visit.page.locator("#am-facts").inner_text()
    county = analysis.counties.set_index("county_code").loc[place["county_code"], "name_fa"]
    assert county in facts and fa(int(place["population"])) in facts
    rows = visit.page.locator("#am-services tbody tr")
    assert rows.count() == 8
    mine = flags[flags["settlement_code"] == code]
    reasons = flag_reasons(mine).set_index(mine["service_type"].to_numpy())["reason_fa"]
    for service, reason in reasons.items():
        assert reason in visit.page.locator(f"#am-services tr[data-service='{service}']").inner_text()
    demand = analysis.demand.loc[analysis.settlements["settlement_code"] == code].iloc[0]
    assert (
        fa(int(demand["rehabilitation"]))
        in visit.page.locator("#am-services tr[data-service='rehabilitation']").inner_text()
    )
    visit.quiet()
    visit.shot("settlement-profile-fa", SHOTS)
    visit.page.emulate_media(media="print")
    visit.js("Amayesh.fitForPrint()")
    path = tmp_path / "profile.pdf"
    visit.page.pdf(path=str(path), format="A4", print_background=True)
    assert code in pdf_text(path)
    visit.check_clean()


def test_priorities_on_a_phone(phone, boundaries):
    phone.open("/maps/priorities?province=07")
    assert phone.page.locator("#am-table tbody tr").count() == 50
    assert phone.errors == []  # no "Invalid LatLng object: (NaN, NaN)"
    box = phone.js("Amayesh.map.getContainer().getBoundingClientRect().toJSON()")
    assert box["width"] == 390 and box["height"] > 300
    assert phone.js("Amayesh.map.getZoom()") >= 6  # the province, not the whole country
    # The bar's legend; the sliders show the shares the status line uses.
    assert phone.page.locator("#am-bar-legend li").count() == 5
    shares = phone.page.locator(".am-weight output").all_inner_texts()
    assert shares == ["۳۰٪", "۳۰٪", "۲۰٪", "۱۰٪", "۱۰٪"]
    assert "نیاز (جمعیت هدف) ۳۰٪" in phone.page.locator("#am-status").inner_text()
    phone.quiet()
    phone.shot("priorities-phone-fa", SHOTS)
    # The sheet folds down to give the map the screen.
    phone.page.click(".am-sheet-toggle")
    taller = phone.js("Amayesh.map.getContainer().getBoundingClientRect().height")
    assert taller > box["height"] + 200
    phone.page.click(".am-sheet-toggle")
    # A county filter narrows the list to that county.
    county = phone.page.locator("#am-county option").nth(1).get_attribute("value")
    phone.page.select_option("#am-county", county)
    codes = phone.js("Array.from(document.querySelectorAll('#am-table tbody tr')).map(r => r.dataset.code)")
    assert codes and all(c[:4] == county for c in codes)
    # Next time the page opens on the province chosen last, not the first in the list.
    phone.page.goto(phone.base + "/maps/priorities")
    phone.page.wait_for_selector("body[data-ready=true]")
    assert phone.page.input_value("#am-province") == "07"
    phone.check_clean()


def test_national_map_on_a_phone(phone):
    phone.open("/maps/national")
    box = phone.js("Amayesh.map.getContainer().getBoundingClientRect().toJSON()")
    assert box["width"] == 390 and box["height"] > 844 * 0.45
    assert phone.page.locator(".leaflet-control-layers-expanded").count() == 0  # folded
    panel = phone.page.locator("#am-panel").bounding_box()
    assert panel["width"] == 390 and panel["y"] > 844 / 2  # a bottom sheet
    phone.quiet()
    phone.shot("national-phone-fa", SHOTS)
    phone.check_clean()
