"""Trends on the pages in Debian's Chromium, on the national demo (as-of day 1 Farvardin 1404):
the national map at two Jalali years draws, for every county, the class ``GET /trends`` gives
for that year; a county's popup draws its last years; the monitoring page's trend table holds
the figures of ``GET /trends`` for the officer's province, its chart one bar per period; no
request leaves the machine. Screenshots go to ``AMAYESH_SHOTS`` (default tests/artifacts)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import TEST_PASSWORD, TEST_USERS, bearer
from tests.test_maps import ARTIFACTS, Visit

pytestmark = [pytest.mark.realdata, pytest.mark.browser]

SHOTS = Path(os.environ.get("AMAYESH_SHOTS", ARTIFACTS))
SERVICE = "rehabilitation"
#: Villages the priorities page lists at most (maps/static/priorities.js SHOWN).
SHOWN_PRIORITIES = 50
#: The ramp's colours of the three classes (maps/static/common.js SATURATION_COLOURS 1, 3, 5).
CLASS_COLOURS = {"underserved": "#d8b365", "balanced": "#f5f5f5", "saturated": "#5ab4ac"}
LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٫٬", "0123456789.,")


@pytest.fixture
def visit(browser, server, demo_tokens):
    v = Visit(browser, server)
    v.sign_in(TEST_USERS["admin"][0], TEST_PASSWORD)
    yield v
    v.close()


@pytest.fixture
def officer(browser, server, demo_tokens):
    v = Visit(browser, server)
    v.sign_in(TEST_USERS["licensing_officer"][0], TEST_PASSWORD)
    yield v
    v.close()


def drawn_classes(visit) -> dict[str, tuple[str | None, str]]:
    """county code -> (the class the page drew, its fill colour), read off the county layer."""
    rows = visit.js(
        "Amayesh.layers.counties.getLayers().map(l => "
        "[l.feature.properties.county_code, l.options.amClass, l.options.fillColor])"
    )
    return {code: (cls, colour) for code, cls, colour in rows}


def api_classes(api, period: str) -> dict[str, str | None]:
    answer = api.get(
        "/trends",
        params={
            "period": period,
            "level": "county",
            "service_type": SERVICE,
            "measures": "saturated_counties",
        },
        timeout=900,
    )
    assert answer.status_code == 200, answer.text
    return {r["unit_code"]: r["class"] for r in answer.json()["rows"]}


def choose_period(visit, period: str) -> None:
    visit.page.select_option("#am-period", period)
    visit.page.wait_for_selector(f"#am-status[data-period='{period}']", timeout=900_000)


def test_the_national_map_at_two_periods_draws_the_classes_of_the_api(visit, api):
    visit.open(f"/maps/national?service={SERVICE}")
    today = drawn_classes(visit)
    assert len(today) == 448
    shown = {}
    for period, year_fa in (("1403", "۱۴۰۳"), ("1401", "۱۴۰۱")):
        choose_period(visit, period)
        drawn = drawn_classes(visit)
        expected = api_classes(api, period)
        assert set(expected) == set(drawn)  # every county, and nothing else
        for code, cls in expected.items():
            assert drawn[code][0] == cls, (period, code)
            assert drawn[code][1] == (CLASS_COLOURS[cls] if cls else "#ffffff"), (period, code)
        shown[period] = {code: c for code, (c, _) in drawn.items()}
        # The period is said on the status line and the legend, and kept in the address.
        assert f"وضعیت در پایان {year_fa}" in visit.page.locator("#am-status").inner_text()
        assert f"وضعیت در پایان {year_fa}" in visit.page.locator("#am-legend-saturation").inner_text()
        assert parse_qs(urlparse(visit.page.url).query)["period"] == [period]
        assert f"period={period}" in visit.page.get_attribute("#am-lang", "href")
        assert visit.page.locator("#am-period-note").is_visible()  # the table is the as-of day's
    # The two years differ somewhere (the registry's licences changed), so the test can tell them apart.
    assert shown["1403"] != shown["1401"]
    visit.quiet()
    visit.shot("national-period", SHOTS)

    # Back to the as-of day: the ramp of ratios again, no period in the address.
    visit.page.select_option("#am-period", "")
    visit.page.wait_for_function("() => document.getElementById('am-status').dataset.period === ''")
    assert drawn_classes(visit) == today
    assert "period" not in parse_qs(urlparse(visit.page.url).query)

    # A county's popup: its last four years, one mark per year with the API's class.
    visit.page.select_option("#am-province", "11")
    code = visit.page.locator("#am-county-table tbody tr").first.get_attribute("data-code")
    visit.page.click(f"#am-county-table tbody tr[data-code='{code}']")
    visit.page.wait_for_selector(".am-spark[data-ready=true]", timeout=900_000)
    marks = visit.js(
        "Array.from(document.querySelectorAll('.am-spark .am-spark-mark')).map(m => [m.dataset.period, m.dataset.class])"
    )
    answer = api.get(
        "/trends",
        params={
            "periods": "1401..1404",
            "level": "county",
            "province": "11",
            "service_type": SERVICE,
            "measures": "active_centres,saturated_counties",
        },
        timeout=900,
    ).json()
    expected = [[r["period"], r["class"] or ""] for r in answer["rows"] if r["unit_code"] == code]
    assert [p for p, _ in expected] == ["1401", "1402", "1403", "1404"]
    assert marks == expected
    visit.shot("national-county-spark", SHOTS)
    visit.check_clean()


def test_the_monitoring_page_shows_the_trends_of_the_api(officer, server, demo_tokens):
    page = officer.page
    page.goto(officer.base + "/maps/monitoring")  # a page without a script: loaded when it is
    client = httpx.Client(base_url=server, headers=bearer(demo_tokens["licensing_officer"]), timeout=300)
    for kind, count in (("year", 5), ("quarter", 8)):
        if kind == "quarter":
            page.select_option("#am-trend-kind", "quarter")
            with page.expect_navigation():
                page.click("#am-trends button[type=submit]")
        joined = page.get_attribute("#am-trends", "data-periods")
        periods = joined.split(",")
        assert len(periods) == count and periods[-1] == ("1404" if kind == "year" else "1404Q1")
        answer = client.get("/trends", params={"periods": joined, "level": "country"}).json()
        rows = page.locator("#am-trend-table tbody tr")
        assert rows.count() == count
        for k, expected in enumerate(answer["rows"]):
            row = rows.nth(k)
            assert row.get_attribute("data-period") == expected["period"]
            assert row.locator("td").first.inner_text().startswith(expected["label_fa"])
            for m in ("active_centres", "issued", "expired", "decided"):
                assert int(row.locator(f"td[data-m={m}]").inner_text().translate(LATIN)) == expected[m], m
            share = row.locator("td[data-m=share_in_time]").inner_text().translate(LATIN)
            if expected["share_in_time"] is None:
                assert share == "—"
            else:
                assert abs(float(share.rstrip(" ٪")) - 100 * expected["share_in_time"]) < 0.051
        marks = page.locator("#am-trend-chart .am-mark")
        assert marks.count() == count
        assert [marks.nth(k).get_attribute("data-period") for k in range(count)] == periods
        # The officer has no export right: no download links that would be refused.
        assert page.locator("#am-trend-csv, #am-trend-xlsx").count() == 0
        if kind == "year":
            assert any(r["decided"] for r in answer["rows"])  # the demo's register has decisions
            page.wait_for_load_state("networkidle")
            officer.shot("monitoring-trends", SHOTS)
    client.close()
    officer.check_clean()


def test_the_priorities_at_the_end_of_a_year_are_the_apis_for_that_year(visit, api):
    """The priorities page's period selector: the villages ranked at the end of 1401 are those
    ``/priorities?period=1401`` ranks, not today's; back to the as-of day, today's again."""

    def ranked_by_api(period: str | None) -> tuple[str, list[str]]:
        params = {"province": "11", "service_type": SERVICE, "top": 1000} | (
            {"period": period} if period else {}
        )
        answer = api.get("/priorities", params=params, timeout=900).json()
        return answer["as_of"], [v["settlement_code"] for v in answer["villages"]][:SHOWN_PRIORITIES]

    visit.open(f"/maps/priorities?province=11&service={SERVICE}&period=1401")
    as_of, expected = ranked_by_api("1401")
    visit.page.wait_for_function("day => document.body.dataset.asOf === day", arg=as_of, timeout=900_000)
    assert as_of == "2023-03-20"  # 29 Esfand 1401
    assert visit.page.evaluate("document.body.dataset.ranked").split(",") == expected
    assert "وضعیت در پایان ۱۴۰۱" in visit.page.locator("#am-status").inner_text()
    assert "period=1401" in visit.page.get_attribute("#am-xlsx", "href")
    visit.shot("priorities-period", SHOTS)

    visit.page.select_option("#am-period", "")
    today, now = ranked_by_api(None)
    visit.page.wait_for_function("day => document.body.dataset.asOf === day", arg=today, timeout=900_000)
    assert visit.page.evaluate("document.body.dataset.ranked").split(",") == now != expected
    assert "period" not in parse_qs(urlparse(visit.page.url).query)
    visit.check_clean()


def test_a_village_profile_draws_its_countys_last_years(visit, api):
    village = api.get(
        "/priorities", params={"province": "11", "service_type": SERVICE, "top": 1}, timeout=900
    ).json()["villages"][0]
    visit.open(f"/maps/settlements/{village['settlement_code']}")
    visit.page.wait_for_selector("#am-county-trend[data-ready=true]", timeout=900_000)
    service = visit.page.get_attribute("#am-county-trend", "data-service")
    marks = visit.js(
        "Array.from(document.querySelectorAll('#am-county-trend .am-spark-mark'))"
        ".map(m => [m.dataset.period, m.dataset.class])"
    )
    answer = api.get(
        "/trends",
        params={
            "periods": "1401..1404",
            "level": "county",
            "province": "11",
            "service_type": service,
            "measures": "active_centres,saturated_counties",
        },
        timeout=900,
    ).json()
    county = village["county_code"]
    assert marks == [[r["period"], r["class"] or ""] for r in answer["rows"] if r["unit_code"] == county]
    assert len(marks) == 4
    visit.shot("settlement-county-trend", SHOTS)
    visit.check_clean()
