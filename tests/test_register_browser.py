"""The register and monitoring pages in Debian's Chromium, as a licensing officer of Sistan and
Baluchestan (11) uses them: register an application, run its check, record a decision; then the
monitoring page. Screenshots go to ``AMAYESH_SHOTS`` (default tests/artifacts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD, TEST_USERS
from tests.test_maps import ARTIFACTS, Visit

pytestmark = [pytest.mark.realdata, pytest.mark.browser]

SHOTS = Path(os.environ.get("AMAYESH_SHOTS", ARTIFACTS))
ZAHEDAN = (29.4963, 60.8629)  # lat, lon: in province 11


@pytest.fixture
def officer(browser, server, demo_tokens):
    v = Visit(browser, server)
    v.sign_in(TEST_USERS["licensing_officer"][0], TEST_PASSWORD)
    yield v
    v.close()


def test_an_officer_registers_checks_and_decides_an_application(officer):
    page = officer.page
    officer.open("/maps/register")
    ids = page.locator("#am-applications tbody tr td:first-child").all_inner_texts()
    assert sum(code.startswith("SYN-A-11-") for code in ids) == 24  # the demo's synthetic ones in 11
    assert all(code.split("-")[2] == "11" for code in ids)  # and nothing of another province
    assert page.locator(".am-demo").is_visible()  # synthetic rows: the notice is on screen
    officer.shot("register-list", SHOTS)

    # Register a new application at Zahedan: the page opens it, received.
    page.fill("#am-new-applicant", "انجمن توانبخشی نمونهٔ آزمون")
    page.select_option("#am-new-service", "rehabilitation")
    page.fill("#am-new-capacity", "۴۰")  # Persian digits are read
    page.fill("#am-new-lat", str(ZAHEDAN[0]))
    page.fill("#am-new-lon", str(ZAHEDAN[1]))
    with page.expect_navigation():
        page.click("#am-register")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#am-app-status").inner_text() == "دریافت‌شده"
    app_id = page.locator("#am-application").get_attribute("data-id")
    assert app_id and app_id.split("-")[2] == "11"

    # Run the licence check: stored with the application, verdict on screen.
    with page.expect_navigation():
        page.click("#am-run-check")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#am-app-status").inner_text() == "بررسی‌شده"
    assert page.locator("#am-app-verdict").inner_text() in ("مطلوب", "قابل‌قبول", "اشباع")
    assert page.locator(".am-reasons li").count() >= 1

    # A colleague decides meanwhile (their edit moves the version): this page's decision is refused
    # with a clear message, not written over theirs.
    etag = page.locator("#am-application").get_attribute("data-etag")
    assert etag and etag.endswith('.v2"')
    status = page.evaluate(
        """async ([id, etag]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/licence-applications/${id}`, {method: 'PATCH', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json', 'If-Match': etag, 'X-CSRF-Token': csrf},
              body: JSON.stringify({capacity: 45})});
            await r.text();
            return r.status;
        }""",
        [app_id, etag],
    )
    assert status == 200
    page.select_option("#am-decision", "refused")
    page.fill("#am-reason", "ظرفیت کافی در شهرستان وجود دارد")
    page.click("#am-decide")
    page.wait_for_function("() => document.getElementById('am-message').textContent.includes('دوباره')")
    assert "کس دیگری" in page.locator("#am-message").inner_text()
    assert officer.errors == [
        "Failed to load resource: the server responded with a status of 412 (Precondition Failed)"
    ]
    officer.errors.clear()  # that refusal was the point

    # Reloaded, the officer checks again and records the decision.
    officer.open(f"/maps/register?id={app_id}")
    assert page.locator("#am-app-status").inner_text() == "دریافت‌شده"  # the edit asked for a new check
    with page.expect_navigation():
        page.click("#am-run-check")
    page.wait_for_selector("body[data-ready=true]")
    page.select_option("#am-decision", "refused")
    page.fill("#am-reason", "ظرفیت کافی در شهرستان وجود دارد")
    with page.expect_navigation():
        page.click("#am-decide")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#am-app-status").inner_text() == "رد شده"
    assert page.locator("#am-app-reason").inner_text() == "ظرفیت کافی در شهرستان وجود دارد"
    assert page.locator("#am-decision-form").count() == 0  # a decision is final
    officer.shot("register-decision", SHOTS)
    officer.check_clean()


def test_the_monitoring_page_shows_the_officers_province(officer, demo):
    page = officer.page
    page.goto(officer.base + "/maps/monitoring")
    provinces = set(page.locator("#am-timeliness tbody td:first-child").all_inner_texts())
    names = demo["layers"]["provinces"].set_index("province_code")["name_fa"]
    assert provinces == {names["11"]}
    years = page.locator("#am-by-year tbody tr").all_inner_texts()
    assert any(y.startswith("۱۴۰۲") for y in years) and any(y.startswith("۱۴۰۳") for y in years)
    assert page.locator(".am-demo").is_visible()
    officer.shot("monitoring", SHOTS)
    officer.check_clean()
