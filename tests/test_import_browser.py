"""The import page in Debian's Chromium, as a licensing officer of Sistan and Baluchestan (11)
uses it: a provincial registry in Persian (Persian digits, Jalali dates, a third of its rows
without coordinates but with their village), one row rejected, fixed and uploaded again, then
confirmed; the new centres are then in the NGO map data and in the licence check. An
administrator undoes the import at the end (the demo store is shared by the session's tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.names import normalize_name
from tests.conftest import TEST_PASSWORD, TEST_USERS
from tests.test_maps import Visit

pytestmark = [pytest.mark.realdata, pytest.mark.browser]

_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def provincial_registry(demo, bad_village: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Nine centres of province 11: rows 1-3 placed by village name, 4-9 with coordinates."""
    settlements = demo["layers"]["settlements"]
    counties = demo["layers"]["counties"].set_index("county_code")
    here = settlements[settlements["province_code"] == "11"]
    key = here["name_fa"].map(normalize_name) + "|" + here["county_code"]
    unique = here[~key.duplicated(keep=False) & (here["kind"] == "village")]
    picked = unique.sample(9, random_state=11).reset_index(drop=True)
    licences = [f"BR-11-{i:03d}" for i in range(1, 10)]
    rows = []
    for i, place in picked.iterrows():
        by_name = i < 3
        rows.append(
            {
                "شماره مجوز": licences[i],
                "نام مرکز": f"مرکز توانبخشی آزمون {i + 1}".translate(_FA),
                "نوع خدمت": "توانبخشی",
                "ظرفیت": str(20 + i).translate(_FA),
                "وضعیت مجوز": "فعال",
                "تاریخ صدور": "۱۴۰۲/۰۳/۰۱",
                "تاریخ انقضا": "۱۴۰۷/۰۳/۰۱",
                "شهرستان": counties.loc[place["county_code"], "name_fa"],
                "روستا یا شهر": place["name_fa"] if by_name else "",
                "طول جغرافیایی": "" if by_name else f"{place.geometry.x + 0.001:.5f}".translate(_FA),
                "عرض جغرافیایی": "" if by_name else f"{place.geometry.y:.5f}",
            }
        )
    frame = pd.DataFrame(rows).rename(columns={"نام مرکز": "نام"})
    if bad_village:
        frame.loc[1, "روستا یا شهر"] = bad_village
    return frame, licences


def xlsx(frame: pd.DataFrame, path) -> str:
    frame.to_excel(path, index=False)
    return str(path)


def test_an_officer_imports_a_provincial_registry(browser, server, demo, demo_tokens, api, tmp_path):
    import httpx

    v = Visit(browser, server)
    v.sign_in(TEST_USERS["licensing_officer"][0], TEST_PASSWORD)
    page = v.page
    v.open("/maps/import")
    assert page.locator("html").get_attribute("dir") == "rtl"
    # the layers an officer may import, named in Persian, the registry first (its template below)
    from geo.schema import LAYERS
    from services.intake import BROWSER_LAYERS, OFFICER_LAYERS

    officer_layers = [LAYERS[n].title_fa for n in BROWSER_LAYERS if n in OFFICER_LAYERS]
    assert page.locator("#am-layer option").all_inner_texts() == officer_layers
    assert officer_layers[0] == "سازمان‌های مردم‌نهاد"
    with page.expect_download() as got:
        page.click("#am-template")
    template = pd.read_excel(got.value.path(), sheet_name="codes", dtype=str)
    assert set(template["کد استان"].dropna()) == {"11"}

    wrong, licences = provincial_registry(demo, "روستای ناموجود آزمون")
    page.set_input_files("#am-file", xlsx(wrong, tmp_path / "registry-11.xlsx"))
    page.click("#am-upload")
    page.wait_for_selector("#am-preview:not([hidden])", timeout=120_000)
    assert page.locator("#am-count-added").inner_text() == "۸"
    assert page.locator("#am-count-rejected").inner_text() == "۱"
    rejected = page.locator("#am-rejected tbody tr")
    assert rejected.count() == 1 and rejected.get_attribute("data-reason") == "unknown_settlement"
    assert "آبادی" in rejected.inner_text() and "۲" in rejected.inner_text()
    # the field as the template's Persian header names it, not the column's identifier
    assert rejected.locator("td").nth(1).inner_text() == "روستا یا شهر"
    assert page.locator("#am-confirm").is_disabled()
    page.wait_for_function("() => document.getElementById('am-import-map').dataset.points === '8'")
    progress = page.locator("#am-progress-text").inner_text()
    assert "۹" in progress  # rows read and checked
    with page.expect_download() as got:
        page.click("#am-rejected-download")
    back = pd.read_excel(got.value.path(), dtype=str)
    assert list(back["شمارهٔ مجوز (licence_no)"]) == [licences[1]]
    v.shot("import-rejected")
    page.click("#am-cancel")

    # The row fixed (its real village) and the file uploaded again: every row placed, confirmed.
    right, _ = provincial_registry(demo, None)
    page.set_input_files("#am-file", xlsx(right, tmp_path / "registry-11-fixed.xlsx"))
    page.click("#am-upload")
    page.wait_for_function(
        "() => !document.getElementById('am-preview').hidden"
        " && document.getElementById('am-count-added').textContent === '۹'",
        timeout=120_000,
    )
    assert page.locator("#am-rejected").is_hidden()
    assert page.locator("#am-confirm").is_enabled()
    page.click("#am-confirm")
    page.wait_for_function("() => document.getElementById('am-message').textContent === 'نوشته شد.'")
    v.shot("import-confirmed")
    assert v.outside == [] and v.errors == [], (v.outside, v.errors)
    v.close()

    # The new centres are in the NGO layer's map data and in the licence check.
    data = api.get("/maps/data/ngos.json").json()
    assert set(licences) <= set(data["id"])
    ngos = api.get("/collections/ngos/items", params={"province": "11", "limit": 1000}).json()["features"]
    mine = {f["id"]: f for f in ngos if f["id"] in licences}
    assert {f["properties"]["position_source"] for f in mine.values()} == {"settlement_name", "file"}
    lon, lat = mine[licences[0]]["geometry"]["coordinates"]
    check = api.post(
        "/licence-checks",
        json={"lon": lon + 0.01, "lat": lat, "service_type": "rehabilitation", "capacity": 20},
    ).json()
    assert licences[0] in {c["licence_no"] for c in check["same_type_nearby"]}

    # An administrator undoes it from the API (the page's button calls the same route).
    recent = api.get("/imports").json()["recent"]
    assert recent[0]["by"] == TEST_USERS["licensing_officer"][0]
    assert recent[0]["counts"]["added"] == 9
    undone = api.post(f"/imports/{recent[0]['id']}/undo")
    assert undone.status_code == 200, undone.text
    after = httpx.get(server + "/maps/data/ngos.json", headers=api.headers, timeout=60).json()
    assert not set(licences) & set(after["id"])
    assert np.isfinite(lon)
