"""Every message and refusal in the page's language, refusals as pages, links by role, the
signed-in badge on a phone and on paper: in Debian's Chromium, as each role uses the pages, in
Persian and English, at 1440×900 and 390×844 (issue #22).

Screenshots go to ``AMAYESH_SHOTS`` (default tests/artifacts).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from api.security import NAV_RIGHTS, pages_for
from maps.i18n import strings
from services.loading import load_norms
from store.accounts import User
from tests.conftest import TEST_PASSWORD, TEST_USERS
from tests.test_maps import ARTIFACTS, Visit

pytestmark = [pytest.mark.realdata, pytest.mark.browser]

SHOTS = Path(os.environ.get("AMAYESH_SHOTS", ARTIFACTS))
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
ZAHEDAN = (29.4963, 60.8629)  # lat, lon: in province 11, the scoped roles' province
TEHRAN = (35.6892, 51.3890)  # in province 23: outside it
GULF = (26.0, 53.0)  # at sea: in no county
FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

#: Latin words a Persian page may show: codes, units, file formats, the data sources' own names
#: (attribution), the map library's credit, the other language's name on the language switch.
ALLOWED_LATIN = {
    "XLSX", "CSV", "PDF", "English", "OpenStreetMap", "ODbL", "Who's", "On", "First", "GeoNames", "CC", "BY",
    "Natural", "Earth", "VMap0", "Digital", "Chart", "of", "the", "World", "NGA", "DIVA-GIS", "Leaflet",
    "MCLP", "p-", "SYN", "km", "m", "xlsx", "csv", "gpkg", "geojson", "json", "zip",
}  # fmt: skip
#: The organisation's grades of centres (the norms' scale, A-D) are codes of its own, shown as it writes them.
GRADES = set(load_norms(Path(__file__).resolve().parents[1] / "config" / "norms.toml").ratings.codes)


def _user(role: str) -> User:
    return User(username="x", role=role)


@pytest.fixture
def visitor(browser, server, demo_tokens):
    """``visitor(role, size)``: a signed-in browser page of that role at that size."""
    opened: list[Visit] = []

    def make(role: str, size: str = "desktop") -> Visit:
        v = Visit(browser, server, viewport=SIZES[size])
        v.sign_in(TEST_USERS[role][0], TEST_PASSWORD)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()


def settle(v: Visit, path: str) -> int:
    """Open ``path`` and wait until its scripts are done; the answer's status."""
    response = v.page.goto(v.base + path)
    v.quiet(timeout=90_000, tolerate=("/tiles/",))  # the words are read, not the map's tiles
    if v.page.locator("script[src*='/static/app/'][src$='.js']").count() > 1:  # a page with its own script
        v.page.wait_for_selector("body[data-ready=true]", timeout=90_000)
    return response.status


LATIN_WORD = r"[A-Za-z][A-Za-z0-9'’_-]*"


def typed_words(server: str, headers: dict[str, str]) -> set[str]:
    """Latin words people typed into the shared demo store before this test ran (other tests'
    scenario names, licence applications and uploaded files' names, the test users' names):
    shown as typed, they are not the page's words."""
    words = {w for username, _ in TEST_USERS.values() for w in re.findall(LATIN_WORD, username)}
    for path in ("/scenarios", "/licence-applications?limit=1000", "/imports"):
        answer = httpx.get(f"{server}{path}", headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        words |= set(re.findall(LATIN_WORD, answer.text))
    return words


def latin_words(v: Visit, username: str, typed: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """The Latin words of the page's visible text, outside the allow-list (codes such as
    application ids and licence numbers are whole tokens of letters, digits and hyphens) and
    outside what people typed (``typed``)."""
    text = v.js("document.body.innerText")  # what is on screen (display: none is left out)
    words = set(re.findall(LATIN_WORD, text))
    codes = {w for w in words if re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", w)}  # SYN-A-11-0001, …
    return words - ALLOWED_LATIN - codes - GRADES - {username} - typed


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_director_refused_the_licence_check_reads_why_and_where_to_go(visitor, lang, size):
    text = strings(lang)
    director = visitor("provincial_director", size)
    status = settle(director, f"/maps/licence?lang={lang}")
    assert status == 403
    page = director.page
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("#am-refused h1").inner_text() == text["refused_role_title"]
    why = page.locator("#am-refused-why").inner_text()
    assert text["page_licence"] in why and text["role_provincial_director"] in why
    links = page.locator("#am-refused-pages a").all_inner_texts()
    assert links == [text[f"page_{p}"] for p in NAV_RIGHTS if p in pages_for(_user("provincial_director"))]
    # the way on works: the priorities page opens from the refusal
    page.click(f"#am-refused-pages a:text-is('{text['page_priorities']}')")
    page.wait_for_selector("body[data-ready=true]", timeout=90_000)
    assert "/maps/priorities" in page.url
    settle(director, f"/maps/licence?lang={lang}")
    width = director.js("document.documentElement.scrollWidth")
    assert width <= SIZES[size][0]
    director.shot(f"refusal-licence-{lang}-{size}", SHOTS)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_licence_page_says_the_services_refusal_in_its_language(visitor, lang, size):
    text = strings(lang)
    officer = visitor("licensing_officer", size)
    officer.open(f"/maps/licence?lang={lang}&lat={TEHRAN[0]}&lon={TEHRAN[1]}&capacity=40")
    page = officer.page
    page.wait_for_selector("#am-result .am-error", timeout=60_000)
    message = page.locator("#am-result .am-error").inner_text()
    assert message == f"{text['error']}: {text['err_outside-provinces']}"
    assert text["err_no_answer"] not in message and "the point (" not in message  # not the raw detail
    officer.shot(f"licence-outside-{lang}-{size}", SHOTS)
    # A point at sea: the service's code names it, the page writes the point.
    page.fill("#am-lat", str(GULF[0]))
    page.fill("#am-lon", str(GULF[1]))
    page.click("#am-check")
    page.wait_for_function(
        "(old) => { const e = document.querySelector('#am-result .am-error'); return e && e.innerText !== old; }",
        arg=message,
        timeout=60_000,
    )
    sea = page.locator("#am-result .am-error").inner_text()
    assert sea.startswith(text["err_outside_counties"].split("{")[0])


@pytest.mark.parametrize("size", SIZES)
def test_the_register_says_validation_and_refusals_in_persian_and_fits_the_screen(visitor, size):
    text = strings("fa")
    officer = visitor("licensing_officer", size)
    officer.open("/maps/register")
    page = officer.page
    assert officer.js("document.documentElement.scrollWidth") <= SIZES[size][0]
    out = page.locator("#am-new-message")

    def register(capacity: str, lat: float, lon: float) -> str:
        page.fill("#am-new-applicant", "انجمن آزمون")
        page.fill("#am-new-capacity", capacity)
        page.fill("#am-new-lat", str(lat))
        page.fill("#am-new-lon", str(lon))
        before = out.inner_text()
        page.click("#am-register")
        page.wait_for_function(
            "(old) => { const t = document.getElementById('am-new-message').innerText;"
            " return t && t !== old && !t.endsWith('…'); }",
            arg=before,
            timeout=60_000,
        )
        return out.inner_text()

    # a capacity that is no number, a longitude out of range: field by field, in Persian
    said = register("بسیار", ZAHEDAN[0], 200)
    assert f"{text['field_capacity']}: {text['invalid_integer']}" in said
    assert f"{text['field_lon']}: {text['invalid_max'].replace('{limit}', '۱۸۰')}" in said
    assert not re.search(r"[A-Za-z]", said), said
    officer.shot(f"register-validation-fa-{size}", SHOTS)
    assert register("۴۰", *TEHRAN) == text["err_outside-provinces"]
    assert register("۴۰", *GULF) == text["err_outside-counties"]
    assert officer.js("document.documentElement.scrollWidth") <= SIZES[size][0]
    officer.errors.clear()  # the refusals were the point (the console logs each 4xx)


def overlaps(v: Visit) -> list[str]:
    """What the signed-in badge covers: visible controls, cells and headings of the page whose
    boxes meet the badge's, or whose centre the badge takes."""
    return v.js(
        """() => {
        const badge = document.querySelector('.am-user');
        if (!badge) return ['no badge'];
        const b = badge.getBoundingClientRect();
        const out = [];
        // The top bar holds the badge: nothing of the bar may hang out of it over the page.
        const bar = badge.closest('.am-top');
        if (bar) {
          const h = bar.getBoundingClientRect();
          for (const el of bar.children) {
            const r = el.getBoundingClientRect();
            if (r.height && (r.bottom > h.bottom + 0.5 || r.top < h.top - 0.5)) out.push('out of the bar: ' + el.className);
          }
        }
        const sel = 'button, input:not([type=hidden]), select, textarea, a, td, th, h1, h2, dd, #am-status, .am-result p';
        for (const el of document.querySelectorAll(sel)) {
          if (badge.contains(el)) continue;
          const r = el.getBoundingClientRect();
          if (r.width === 0 || r.height === 0) continue;
          const x = r.left + r.width / 2, y = r.top + r.height / 2;
          if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) continue;
          const top = document.elementFromPoint(x, y);
          if (top && badge.contains(top)) { out.push('covered: ' + el.outerHTML.slice(0, 80)); continue; }
          if (!top || !(el.contains(top) || top.contains(el))) continue;  // not visible here
          const meet = r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom;
          if (meet) out.push('meets: ' + el.outerHTML.slice(0, 80));
        }
        return out;
      }"""
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_badge_covers_nothing_and_is_not_printed(visitor, lang, size):
    officer = visitor("licensing_officer", size)
    officer.open(f"/maps/licence?lang={lang}&lat={ZAHEDAN[0]}&lon={ZAHEDAN[1]}&capacity=40")
    page = officer.page
    page.wait_for_selector("#am-result h2, #am-result h3", timeout=90_000)
    badge = page.locator(".am-user")
    assert badge.is_visible() and strings(lang)["role_licensing_officer"] in badge.inner_text()
    assert overlaps(officer) == []
    officer.shot(f"badge-licence-{lang}-{size}", SHOTS)
    for path in ("/maps/register", "/maps/monitoring", "/maps/national"):
        settle(officer, f"{path}?lang={lang}")
        assert overlaps(officer) == [], path
        assert officer.js("document.documentElement.scrollWidth") <= SIZES[size][0], path
    officer.shot(f"badge-national-{lang}-{size}", SHOTS)
    # Printed: the licence record without the badge and its sign-out button.
    officer.open(f"/maps/licence?lang={lang}&lat={ZAHEDAN[0]}&lon={ZAHEDAN[1]}&capacity=40")
    page.wait_for_selector("#am-result h2, #am-result h3", timeout=90_000)
    page.emulate_media(media="print")
    assert not badge.is_visible() and not page.locator("#am-sign-out").is_visible()
    page.emulate_media(media="screen")
    assert badge.is_visible()


def test_no_latin_words_on_a_persian_page_or_refusal(visitor, demo, server, admin_headers):
    """Every page and every refusal each role can reach, in Persian: no Latin word outside the
    allow-list in its visible text (what people typed is shown as typed)."""
    typed = typed_words(server, admin_headers)
    settlements = demo["layers"]["settlements"]
    elsewhere = settlements[settlements["province_code"] == "07"]["settlement_code"].iloc[0]
    found = {}
    for role, (username, _) in TEST_USERS.items():
        v = visitor(role)
        allowed = pages_for(_user(role))
        paths = [f"/maps/{p}" for p in NAV_RIGHTS]
        if role == "provincial_director":
            paths.append(f"/maps/settlements/{elsewhere}")  # another province's village: 404
        paths.append("/maps/nowhere")
        for path in paths:
            status = settle(v, path)
            name = path.rsplit("/", 1)[-1]
            assert status == (200 if name in allowed else 403 if name in NAV_RIGHTS else 404), (role, path)
            extra = latin_words(v, username, typed)
            if extra:
                found[(role, path)] = sorted(extra)
        v.shot(f"scan-{role}-last", SHOTS)
    assert found == {}
