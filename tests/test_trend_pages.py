"""The trends on the pages, without a browser, on the small test store: the monitoring page's
trend table (figures equal to ``GET /trends``), its chart (one bar per period, heights in
proportion to the share) and downloads; the national map's period selector and its words, in
Persian and English. The browser tests are in ``test_trends_browser.py``."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlparse

import jdatetime
import pytest

from maps.i18n import strings
from maps.pages import build_page
from tests.test_pages import context

LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٫", "0123456789.")


def cells(html: str, period: str) -> dict[str, str]:
    row = re.search(rf'<tr data-period="{period}">(.*?)</tr>', html, re.S).group(1)
    return dict(re.findall(r'<td data-m="(\w+)">([^<]*)</td>', row))


@pytest.mark.parametrize(("lang", "kind", "count"), [("fa", "year", 5), ("en", "quarter", 8)])
def test_monitoring_trend_table_holds_the_figures_of_trends(small_client, lang, kind, count):
    page = small_client.get("/maps/monitoring", params={"lang": lang, "trend": kind, "deadline_days": 20})
    assert page.status_code == 200
    html = page.text
    csv = re.search(r'id="am-trend-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(csv).query)
    assert query["level"] == ["country"] and query["f"] == ["csv"] and query["deadline_days"] == ["20"]
    periods = query["periods"][0].split(",")
    # The as-of day of the small store is 2025-03-21, 1 Farvardin 1404: its year (or quarter) last.
    assert periods[-1] == ("1404" if kind == "year" else "1404Q1") and len(periods) == count
    answer = small_client.get(
        "/trends", params={"periods": query["periods"][0], "level": "country", "deadline_days": 20}
    ).json()
    assert [r["period"] for r in answer["rows"]] == periods
    for r in answer["rows"]:
        shown = cells(html, r["period"])
        for m in ("active_centres", "issued", "expired", "decided"):
            assert int(shown[m].translate(LATIN)) == r[m]
        if r["share_in_time"] is None:
            assert shown["share_in_time"] == "—"
        else:
            assert float(shown["share_in_time"].translate(LATIN).rstrip(" ٪%")) == round(
                100 * r["share_in_time"], 1
            )
    # One bar per period, in the table's order; a bar's height is its share of the plot's.
    marks = re.findall(
        r'<g class="am-mark( am-empty)?" data-period="([^"]+)">.*?<rect [^>]*height="([0-9.]+)"', html, re.S
    )
    assert [m[1] for m in marks] == periods
    grid = [float(y) for y in re.findall(r'<line class="am-grid"[^>]* y1="([0-9.]+)"', html)]
    plot = max(grid) - min(grid)
    for (empty, _, height), r in zip(marks, answer["rows"], strict=True):
        share = r["share_in_time"]
        assert bool(empty) == (share is None)
        assert float(height) == pytest.approx(0 if share is None else plot * share, abs=0.06)
    # The page's words, in its language; the download links of both formats.
    t = strings(lang)
    for key in (
        "trend_title",
        "trend_active",
        "trend_issued",
        "trend_expired",
        "trend_decided",
        "trend_share",
    ):
        assert t[key] in html
    assert 'id="am-trend-xlsx"' in html and "f=xlsx" in html
    assert small_client.get(csv).status_code == 200
    # The language switch keeps the choice of periods.
    assert f"trend={kind}" in re.search(r'id="am-lang" href="([^"]+)"', html).group(1)


def test_monitoring_refuses_an_unknown_kind_of_period(small_client):
    answer = small_client.get("/maps/monitoring", params={"trend": "week"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_national_map_offers_the_as_of_day_and_four_jalali_years(lang):
    html = build_page("national", lang, context(period="1402"))
    select = re.search(r'<select id="am-period" name="period">(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?>\s*([^<]*?)\s*</option>', select)
    # The context's as-of day is today: its Jalali year and the three before.
    year = jdatetime.date.fromgregorian(date=dt.date.today()).year
    assert [o[0] for o in options] == ["", str(year), str(year - 1), str(year - 2), str(year - 3)]
    assert [o[0] for o in options if o[1]] == ["1402"]  # the address's period is chosen
    if lang == "fa":
        assert options[0][2].startswith("وضعیت در ") and options[0][2].endswith("(تاریخ مبنا)")
        assert (
            options[2][2]
            == f"وضعیت در پایان {str(year - 1).translate(str.maketrans('0123456789', '۰۱۲۳۴۵۶۷۸۹'))}"
        )
        assert "دوره" in html
    else:
        assert options[0][2].startswith("As of ") and options[2][2] == f"Status at the end of {year - 1}"
        assert ">Period<" in html or "Period\n" in html
    # The script's words for the period view are in the page's catalogue, in its language.
    t = strings(lang)
    for key in (
        "period_end",
        "period_partial",
        "period_loading",
        "period_legend",
        "period_table_note",
        "spark_title",
    ):
        assert json.dumps(t[key])[1:-1].replace("'", "\\u0027") in html


def test_the_national_map_takes_a_period_in_its_address(small_client):
    assert small_client.get("/maps/national", params={"period": "۱۴۰۲"}).status_code == 200
    bad = small_client.get("/maps/national", params={"period": "1402Q1"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")


def test_the_trend_downloads_are_linked_only_for_the_export_right(small_client, small_store):
    """/trends?f=csv needs the export right: an officer without it sees the table, no links."""
    from tests.conftest import bearer, make_users

    officer = bearer(make_users(str(small_store.path))["licensing_officer"])
    html = small_client.get("/maps/monitoring", headers=officer).text
    assert 'id="am-trend-table"' in html
    assert 'id="am-trend-csv"' not in html and 'id="am-trend-xlsx"' not in html
    refused = small_client.get("/trends", params={"level": "country", "f": "csv"}, headers=officer)
    assert refused.status_code == 403  # what the link would have met


def test_the_priorities_page_offers_the_periods_too():
    html = build_page("priorities", "fa", context(period="1402"))
    select = re.search(r'<select id="am-period" name="period">(.*?)</select>', html, re.S).group(1)
    chosen = re.findall(r'<option value="([^"]*)" selected>', select)
    assert chosen == ["1402"] and "وضعیت در پایان ۱۴۰۲" in select
