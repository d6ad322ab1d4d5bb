"""The programme page in Debian's Chromium, as a licensing officer of Sistan and Baluchestan (11)
uses it: open a target neighbourhood, enter an activity with Jalali dates, and see the
neighbourhood's progress change. Screenshots go to ``AMAYESH_SHOTS`` (default tests/artifacts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD, TEST_USERS
from tests.test_maps import ARTIFACTS, Visit

pytestmark = [pytest.mark.realdata, pytest.mark.browser]

SHOTS = Path(os.environ.get("AMAYESH_SHOTS", ARTIFACTS))
FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa(n: int) -> str:
    return f"{n:,}".replace(",", "٬").translate(FA_DIGITS)


@pytest.fixture
def officer(browser, server, demo_tokens):
    v = Visit(browser, server)
    v.sign_in(TEST_USERS["licensing_officer"][0], TEST_PASSWORD)
    yield v
    v.close()


def test_an_officer_enters_an_activity_and_sees_the_neighbourhoods_progress_change(officer, api):
    # A neighbourhood of 11 nobody has reached yet, with 7 households in need or more (by the
    # API, as an admin): the demo leaves about a third of them without activity.
    progress = api.get("/programme/progress?province=11").json()
    room = [
        n
        for n in progress["neighbourhoods"]
        if n["households_in_need"] and n["households_in_need"] >= 7 and n["households_reached"] == 0
    ]
    assert room, "the demo has neighbourhoods in 11 not yet reached"
    target = room[0]
    code, before = target["target_code"], target["households_reached"]
    page = officer.page
    officer.open("/maps/activities")
    # the officer's province only, the demo's activities labelled synthetic, the map drawn
    assert page.locator(".am-demo").is_visible()
    codes = page.locator("#am-neighbourhood-progress tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.code)"
    )
    assert codes and all(c in {n["target_code"] for n in progress["neighbourhoods"]} for c in codes)
    # each neighbourhood an outline, and below street zoom a dot of its colour too
    n = len(progress["neighbourhoods"])
    assert page.locator("#am-activity-map path.am-target-area").count() == n
    assert page.locator("#am-activity-map path.am-target-dot").count() == n
    page.wait_for_function(  # and the provinces' outlines, once the boundaries have come
        f"() => document.querySelectorAll('#am-activity-map path').length > {2 * n}", timeout=60_000
    )
    officer.shot("activities-list", SHOTS)

    officer.open(f"/maps/activities?target={code}")
    assert page.locator("#am-target-reached").inner_text() == fa(before)
    assert page.locator("#am-act-place").input_value() == code  # the form is set to this neighbourhood
    page.fill("#am-act-organisation", "انجمن همیاری محلهٔ آزمون")
    page.select_option("#am-act-service", "employment")
    page.fill("#am-act-start", "۱۴۰۳/۰۷/۰۱")  # Jalali, Persian digits: 2024-09-22
    page.fill("#am-act-households", "۷")
    page.fill("#am-act-persons", "۲۵")
    with page.expect_navigation():
        page.click("#am-act-save")
    page.wait_for_selector("body[data-ready=true]")
    # The neighbourhood's progress changed: 0 → 7 households reached, on the page and in the API.
    after = api.get("/programme/progress?province=11").json()
    now = {n["target_code"]: n for n in after["neighbourhoods"]}[code]
    assert before == 0 and now["households_reached"] == 7
    assert page.locator("#am-target-reached").inner_text() == fa(7)
    assert page.locator("#am-target-share").inner_text() != "—"
    assert after["totals"]["households_reached"] == progress["totals"]["households_reached"] + 7
    rows = page.locator("#am-target-activities tbody tr").all_inner_texts()
    assert any("انجمن همیاری محلهٔ آزمون" in r and "۱ مهر ۱۴۰۳" in r for r in rows)
    stored = [
        a for a in api.get(f"/activities?target_code={code}").json()["activities"] if a["persons"] == 25
    ]
    assert stored and stored[0]["start_date"] == "2024-09-22" and stored[0]["created_by"] == "t_officer"
    officer.shot("activities-entered", SHOTS)

    # A date that is no Jalali date is said in Persian, nothing is sent.
    page.fill("#am-act-organisation", "انجمن دوم")
    page.fill("#am-act-start", "۱۴۰۳/۱۳/۰۱")
    page.click("#am-act-save")
    assert "۱۴۰۳/۰۷/۰۱" in page.locator("#am-act-message").inner_text()
    officer.check_clean()

    # A row the service refuses is said in Persian, its field by the form's label, not its column.
    page.select_option("#am-act-kind", "ngo")
    page.fill("#am-act-licence", "NO-SUCH-LICENCE")
    page.fill("#am-act-start", "۱۴۰۳/۰۷/۰۱")
    page.click("#am-act-save")
    message = page.locator("#am-act-message")
    page.wait_for_function(
        "el => el.classList.contains('am-error') && !el.textContent.includes('…')",
        arg=message.element_handle(),
    )
    text = message.inner_text()
    assert "هیچ سازمانی در فهرست مجوزها این شماره مجوز را ندارد" in text and "ردیف ۱: شمارهٔ مجوز" in text
    assert "licence_no" not in text, text
    # the refusal is the only thing the console reports: the 422 of that entry
    assert officer.outside == [] and len(officer.errors) == 1 and "422" in officer.errors[0], officer.errors
