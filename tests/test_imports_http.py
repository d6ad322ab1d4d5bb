"""Imports through the browser's HTTP API: upload, preview, rejected rows, confirm, cancel, undo.

A small world of two provinces (00: county 0001, 01: county 0002) in a real store (GeoPackage,
and PostGIS where marked); files are made here, uploaded as multipart forms and read by the
sandboxed reader. A licensing officer of province 00 imports only NGO rows of 00.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geo.schema import DEFAULT_SERVICE_TYPES
from services.settings import Settings
from store import open_store
from store.accounts import Accounts
from tests.conftest import TEST_PASSWORD, bearer
from tests.small_world import layers as small_layers
from tests.test_hostile_files import CORPUS_RUNS, corpus, listener, test_limits, world_store  # noqa: F401  (fixtures)

USERS = {
    "admin": ("i_admin", "admin", ()),
    "officer": ("i_officer", "licensing_officer", ("00",)),
    "planner": ("i_planner", "planner", ()),
    "director": ("i_director", "provincial_director", ("00",)),
}


def two_provinces() -> dict[str, pd.DataFrame]:
    """The small world with county 0002 (خمین) moved into its second province, 01."""
    out = small_layers()
    assert "01" in set(out["provinces"]["province_code"])
    for name in ("counties", "settlements", "ngos", "target_areas"):
        frame = out[name]
        frame.loc[frame["county_code"] == "0002", "province_code"] = "01"
    return out


def make_store(url: str, store=None) -> None:
    store = store or open_store(url)
    with store.transaction() as tx:
        for name, frame in two_provinces().items():
            tx.write_layer(name, frame)


def tokens_for(url: str) -> dict[str, str]:
    accounts = Accounts(url)
    try:
        out = {}
        for key, (name, role, provinces) in USERS.items():
            if accounts.get(name) is None:
                accounts.add(name, TEST_PASSWORD, role, provinces, actor="tests")
            out[key] = accounts.issue_token(name, days=1, actor="tests")[1]
        return out
    finally:
        accounts.close()


@pytest.fixture(scope="module")
def world_template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The two-province store and its users, written once: each test gets a copy of its folder."""
    folder = tmp_path_factory.mktemp("template")
    url = str(folder / "world.gpkg")
    make_store(url)
    return folder, tokens_for(url)


@pytest.fixture
def world(tmp_path, world_template):
    folder, tokens = world_template
    shutil.copytree(folder, tmp_path / "store")
    url = str(tmp_path / "store" / "world.gpkg")
    app = create_app(
        Settings(
            store=url,
            prepare_tiles=False,
            imports_dir=tmp_path / "private",
            versions_dir=tmp_path / "versions",
        )
    )
    clients = {
        k: TestClient(app, raise_server_exceptions=False, headers=bearer(t)) for k, t in tokens.items()
    }
    yield {"app": app, "url": url, "clients": clients, "tmp": tmp_path, "store": app.state.snapshots.store}
    app.state.imports.close()


def registry(rows: list[dict]) -> bytes:
    """A provincial registry as an officer keeps it: Persian headers, Persian digits, Jalali dates."""
    buf = io.BytesIO()
    pd.DataFrame(rows).to_excel(buf, index=False)
    return buf.getvalue()


def row(
    licence: str, name: str, county: str, village: str = "", lon: str = "", lat: str = "", **extra
) -> dict:
    out = {
        "شماره مجوز": licence,
        "نام": name,
        "نوع خدمت": "توانبخشی",
        "ظرفیت": "۳۰",
        "وضعیت مجوز": "فعال",
        "تاریخ صدور": "۱۴۰۲/۰۱/۱۵",
        "تاریخ انقضا": "۱۴۰۶/۰۱/۱۵",
        "شهرستان": county,
        "روستا یا شهر": village,
        "طول جغرافیایی": lon,
        "عرض جغرافیایی": lat,
    }
    out.update(extra)
    return out


def upload(client: TestClient, content: bytes, name: str = "registry.xlsx", layer: str = "ngos", **kw):
    return client.post(f"/imports?layer={layer}", files={"file": (name, content)}, **kw)


def wait(client: TestClient, job_id: str, lang: str = "en") -> dict:
    deadline = time.monotonic() + 120
    while True:
        body = client.get(f"/imports/{job_id}?lang={lang}").json()
        if body["state"] not in ("uploading", "reading", "checking"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


def test_preview_places_rows_by_village_and_confirm_writes_all(world):
    admin = world["clients"]["admin"]
    store = world["store"]
    before = store.read_layer("ngos")
    content = registry(
        [
            row("N-1", "مرکز یک", "اراک", "کمیجان"),  # placed by name
            row("N-2", "مرکز دو", "اراک", lon="۴۹٫۵".replace("٫", "."), lat="34.5"),  # from the file
            row("N-3", "مرکز سه", "خمین", "ده شرقی ۱"),  # Persian digit in the name
            row("N-4", "مرکز چهار", "خمین", "ناکجاآباد"),  # unknown village
            row("N-5", "مرکز پنج", "", "کمیجان"),  # no county
            row("N-6", "مرکز شش", "اراک"),  # nothing to place it by
        ]
    )
    r = upload(admin, content)
    assert r.status_code == 202, r.text
    job = wait(admin, r.json()["id"])
    assert job["state"] == "ready" and not job["can_confirm"]
    reasons = {x["row"]: x["reason"] for x in job["rejected_rows"]}
    assert reasons == {4: "unknown_settlement", 5: "county_needed", 6: "no_position"}
    assert job["counts"] == {"rows": 6, "added": 3, "updated": 0, "unchanged": 0, "rejected": 3}
    fa = admin.get(f"/imports/{job['id']}?lang=fa").json()["rejected_rows"]
    assert all(re.search("[\u0600-\u06ff]", x["text"]) for x in fa)
    # Each row's field as the template's headers (the user's own sheet) name it, in each language.
    fields = {x["row"]: (x["field"], x["field_label"]) for x in fa}
    assert fields[4] == ("settlement_name", "روستا یا شهر")
    en = {x["row"]: x["field_label"] for x in job["rejected_rows"]}
    assert en[4] == "Village or city"
    rows = admin.get(f"/imports/{job['id']}/rows").json()
    placed = {f["properties"]["licence_no"]: f["properties"]["position_source"] for f in rows["features"]}
    assert placed == {"N-1": "settlement_name", "N-2": "file", "N-3": "settlement_name"}
    settlements = store.read_layer("settlements").set_index("name_fa")
    n1 = next(f for f in rows["features"] if f["properties"]["licence_no"] == "N-1")
    assert n1["geometry"]["coordinates"] == pytest.approx(
        [settlements.geometry["کمیجان"].x, settlements.geometry["کمیجان"].y]
    )
    # Nothing is written while a row is rejected.
    refused = admin.post(f"/imports/{job['id']}/confirm")
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert len(store.read_layer("ngos")) == len(before)
    # The rejected rows come back as a workbook that imports again once fixed.
    x = admin.get(f"/imports/{job['id']}/rejected.xlsx?lang=en")
    assert x.status_code == 200
    fix = pd.read_excel(io.BytesIO(x.content), dtype=str)
    assert list(fix["ردیف (row)"]) == ["4", "5", "6"]
    fix.loc[0, "روستا یا شهر (settlement_name)"] = "ده شرقی ۲"
    fix.loc[1, "شهرستان (county_name)"] = "اراک"
    fix.loc[2, "کد آبادی (settlement_code)"] = "0001010100000003"
    admin.post(f"/imports/{job['id']}/cancel")
    from exchange.templates import rename_headers

    fix = rename_headers(
        fix.drop(columns=["ردیف (row)", "دلیل (rejected_reason)", "پیام (rejected_message)"]), "ngos"
    )
    good = rename_headers(pd.read_excel(io.BytesIO(content), dtype=str)[:3], "ngos")
    fixed = pd.concat([good, fix], ignore_index=True)  # headers as column names this time
    buf = io.BytesIO()
    fixed.to_excel(buf, index=False)
    again = wait(admin, upload(admin, buf.getvalue()).json()["id"])
    assert again["rejected_rows"] == [] and again["can_confirm"], again["rejected_rows"]
    assert again["counts"]["added"] == 6
    done = admin.post(f"/imports/{again['id']}/confirm")
    assert done.status_code == 200, done.text
    after = store.read_layer("ngos").set_index("licence_no")
    assert len(after) == len(before) + 6
    assert after.loc["N-6", "position_source"] == "settlement_code"
    assert after.loc["N-6", "settlement_code"] == "0001010100000003"
    assert after.loc["N-1", "issued_on"] == pd.Timestamp("2023-04-04")  # 1402/01/15
    # The audit trail names who, the file's checksum and the counts.
    accounts = Accounts(world["url"])
    audit = [a for a in accounts.audit_rows() if a["action"] == "import.http"]
    accounts.close()
    assert audit and audit[-1]["actor"] == "i_admin" and again["sha256"] in audit[-1]["new_value"]
    # The uploaded files are gone; the private folder holds no upload.
    private = world["tmp"] / "private"
    assert not [p for p in private.rglob("upload*")]
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    # A second upload of the same file changes nothing.
    same = wait(admin, upload(admin, buf.getvalue()).json()["id"])
    assert same["counts"]["unchanged"] == 6 and same["counts"]["added"] == 0
    # One centre's capacity changed: that row is an update, the others unchanged.
    admin.post(f"/imports/{same['id']}/cancel")
    changed = fixed.copy()
    changed.loc[0, "capacity"] = "۴۵"
    buf = io.BytesIO()
    changed.to_excel(buf, index=False)
    update = wait(admin, upload(admin, buf.getvalue()).json()["id"])
    assert {k: update["counts"][k] for k in ("added", "updated", "unchanged")} == {
        "added": 0,
        "updated": 1,
        "unchanged": 5,
    }


def test_undo_restores_the_saved_version(world):
    admin = world["clients"]["admin"]
    store = world["store"]
    before = store.read_layer("ngos")
    job = wait(admin, upload(admin, registry([row("U-1", "مرکز", "اراک", "کمیجان")])).json()["id"])
    record = admin.post(f"/imports/{job['id']}/confirm").json()
    assert len(store.read_layer("ngos")) == len(before) + 1
    listed = admin.get("/imports").json()["recent"]
    assert listed[0]["id"] == record["id"]
    # An officer may not undo.
    assert world["clients"]["officer"].post(f"/imports/{record['id']}/undo").status_code == 403
    undone = admin.post(f"/imports/{record['id']}/undo")
    assert undone.status_code == 200, undone.text
    restored = store.read_layer("ngos")
    assert sorted(restored["licence_no"]) == sorted(before["licence_no"])
    assert admin.post(f"/imports/{record['id']}/undo").status_code == 409


def test_officer_imports_only_ngo_rows_of_own_provinces(world):
    officer = world["clients"]["officer"]
    store = world["store"]
    before = store.read_layer("ngos")
    job = wait(
        officer,
        upload(
            officer,
            registry([row("O-1", "مرکز", "اراک", "کمیجان"), row("O-2", "مرکز دیگر", "خمین", "ده شرقی 1")]),
        ).json()["id"],
    )
    assert [(x["row"], x["reason"]) for x in job["rejected_rows"]] == [(2, "other_province")]
    assert officer.post(f"/imports/{job['id']}/confirm").status_code == 409
    assert len(store.read_layer("ngos")) == len(before)
    # Updating a licence of another province is refused too.
    other = before[before["province_code"] == "01"]["licence_no"].iloc[0]
    job2 = wait(officer, upload(officer, registry([row(other, "مرکز", "اراک", "کمیجان")])).json()["id"])
    assert {x["reason"] for x in job2["rejected_rows"]} == {"other_province"}
    # ... however it is spelled: with Arabic kaf and yeh for the stored Persian ones (the check
    # compared the raw text, the validation then stored the Persian letters: an update of the
    # other province's centre)
    ngos = store.read_layer("ngos")
    ngos.loc[ngos["licence_no"] == other, "licence_no"] = "کی-۷"
    store.write_layer("ngos", ngos)
    job3 = wait(officer, upload(officer, registry([row("كي-۷", "مرکز", "اراک", "کمیجان")])).json()["id"])
    assert [(x["row"], x["reason"]) for x in job3["rejected_rows"]] == [(1, "other_province")]
    # Only NGO rows: another layer is forbidden, and so is another user's job.
    assert (
        upload(
            officer,
            b"county_code,service_type,target_population\n0001,rehabilitation,5\n",
            "n.csv",
            "county_needs",
        ).status_code
        == 403
    )
    assert world["clients"]["admin"].get(f"/imports/{job['id']}").status_code == 200
    admin_job = upload(world["clients"]["admin"], registry([row("A-1", "مرکز", "اراک", "کمیجان")])).json()[
        "id"
    ]
    assert officer.get(f"/imports/{admin_job}").status_code == 404
    assert officer.post(f"/imports/{admin_job}/cancel").status_code == 404
    # Planners and directors hold no import right.
    for who in ("planner", "director"):
        assert upload(world["clients"][who], registry([row("P-1", "م", "اراک", "کمیجان")])).status_code == 403
        assert world["clients"][who].get("/import-templates/ngos").status_code == 403
    # The officer's template lists their provinces' counties only.
    t = officer.get("/import-templates/ngos")
    assert t.status_code == 200
    codes = pd.read_excel(io.BytesIO(t.content), sheet_name="codes", dtype=str)
    assert list(codes["کد شهرستان"].dropna()) == ["0001"]


def test_duplicates_are_rejected_not_stored_twice(world):
    admin = world["clients"]["admin"]
    stored = world["store"].read_layer("ngos").dropna(subset=["settlement_code"]).iloc[0]
    settlement = (
        world["store"].read_layer("settlements").set_index("settlement_code").loc[stored["settlement_code"]]
    )
    county = "اراک" if settlement["county_code"] == "0001" else "خمین"
    other = next(t for t in DEFAULT_SERVICE_TYPES if t != stored["service_type"])
    same_service = {"نوع خدمت": DEFAULT_SERVICE_TYPES[stored["service_type"]][0]}
    other_service = {"نوع خدمت": DEFAULT_SERVICE_TYPES[other][0]}
    job = wait(
        admin,
        upload(
            admin,
            registry(
                [
                    row("D-1", "مرکز امید", "اراک", "کمیجان"),
                    row("D-2", "مركز اميد", "اراک", "کمیجان"),  # Arabic letters: the same name
                    row("D-3", "مرکز سه", "اراک", "کمیجان"),
                    row("D-3", "مرکز چهار", "اراک", "اراک"),  # the same licence twice
                    # stored already: the same name, place and service
                    row("D-5", stored["name_fa"], county, settlement["name_fa"], **same_service),
                    # the same name and place for another service: a second licence, not a duplicate
                    row("D-6", stored["name_fa"], county, settlement["name_fa"], **other_service),
                ]
            ),
        ).json()["id"],
    )
    got = sorted((x["row"], x["reason"]) for x in job["rejected_rows"])
    assert got == [
        (1, "duplicate_centre"),
        (2, "duplicate_centre"),
        (3, "duplicate_key"),
        (4, "duplicate_key"),
        (5, "duplicate_centre"),
    ]


def test_ambiguous_village_lists_its_candidates(world, tmp_path):
    from exchange.placement import place_rows

    settlements = world["store"].read_layer("settlements")
    twin = settlements[settlements["name_fa"] == "کمیجان"].copy()
    twin["settlement_code"] = "0001010100000099"
    both = pd.concat([settlements, twin], ignore_index=True)
    counties = world["store"].read_layer("counties")
    raw = pd.DataFrame({"name_fa": ["م"], "county_name": ["اراک"], "settlement_name": ["كميجان"]})
    placed, rejected = place_rows(raw, both, counties)
    assert [r[3] for r in rejected] == ["ambiguous_settlement"]
    assert "0001000002" in rejected[0][4] and "0001010100000099" in rejected[0][4]
    assert placed["lon"].isna().all()  # never placed at a guess


def test_cancel_and_expiry_delete_the_file(world):
    admin = world["clients"]["admin"]
    service = world["app"].state.imports
    job = wait(admin, upload(admin, registry([row("C-1", "م", "اراک", "کمیجان")])).json()["id"])
    folder = world["tmp"] / "private" / job["id"]
    assert folder.is_dir() and any(folder.iterdir())
    assert admin.post(f"/imports/{job['id']}/cancel").status_code == 200
    assert not folder.exists()
    assert admin.post(f"/imports/{job['id']}/confirm").status_code == 409
    job2 = wait(admin, upload(admin, registry([row("C-2", "م", "اراک", "کمیجان")])).json()["id"])
    assert (world["tmp"] / "private" / job2["id"]).is_dir()
    assert service.sweep(now=time.time() + service.ttl + 1) >= 1
    assert not (world["tmp"] / "private" / job2["id"]).exists()
    assert admin.get(f"/imports/{job2['id']}").status_code == 404


@pytest.mark.parametrize("when", ["reading", "checking"])
def test_an_import_cancelled_while_it_is_read_or_checked_stays_cancelled(world, when):
    """Cancelled while its file is still read or checked, an import stays cancelled: the analysis
    ends without a preview and it cannot be confirmed (it came back "ready" and could be written
    after its cancel was in the audit log; or "refused", holding one of the user's open slots)."""
    admin = world["clients"]["admin"]
    service = world["app"].state.imports
    store = world["store"]
    before = len(store.read_layer("ngos"))
    original_limits, original_reference = service.limits, service.reference
    cancels: list[tuple[str, int]] = []

    def cancel_now():
        job = next(j for j in service.jobs.values() if j.state in ("reading", "checking"))
        cancels.append((job.state, admin.post(f"/imports/{job.id}/cancel").status_code))

    if when == "reading":  # the limits are asked for as the reading starts
        service.limits = lambda: (cancel_now(), original_limits())[1]
    else:  # the store's layers as the check starts
        service.reference = lambda version: (
            cancel_now(),
            original_reference(version) if original_reference else {},
        )[1]
    job_id = upload(admin, registry([row("C-9", "م", "اراک", "کمیجان")])).json()["id"]
    job = service.jobs[job_id]
    deadline = time.monotonic() + 60
    while job.seconds is None:  # the analysis has ended
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert cancels == [(when, 200)]
    body = admin.get(f"/imports/{job_id}").json()
    assert body["state"] == "cancelled" and job.frame is None and job.rejected is None
    assert admin.post(f"/imports/{job_id}/confirm").status_code == 409
    assert len(store.read_layer("ngos")) == before


def test_a_cancel_during_a_confirm_waits_and_finds_it_confirmed(world):
    """A cancel that arrives while the import is being written waits for the write and is
    refused (409, confirmed already); before, it was logged as a cancel and the layer was
    written after it (or the confirm failed on the preview the cancel had dropped)."""
    import threading

    admin = world["clients"]["admin"]
    service = world["app"].state.imports
    job_id = wait(admin, upload(admin, registry([row("C-8", "م", "اراک", "کمیجان")])).json()["id"])["id"]
    original, actions, outcome = service.audit, [], {}

    def cancel() -> None:
        outcome["cancel"] = admin.post(f"/imports/{job_id}/cancel").status_code

    def audit(who, action, *rest):
        actions.append(action)
        if action == "import.http":  # the layer is written; the confirm has not ended
            canceller = threading.Thread(target=cancel)
            canceller.start()
            canceller.join(0.5)
            outcome["waited"] = canceller.is_alive()
        return original(who, action, *rest)

    service.audit = audit
    confirmed = admin.post(f"/imports/{job_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    deadline = time.monotonic() + 30
    while "cancel" not in outcome:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert outcome == {"waited": True, "cancel": 409}
    assert "import.cancel" not in actions
    assert admin.get(f"/imports/{job_id}").json()["state"] == "confirmed"


def test_upload_size_is_refused_before_the_body_is_read(tmp_path):
    url = str(tmp_path / "w.gpkg")
    make_store(url)
    app = create_app(Settings(store=url, prepare_tiles=False, max_upload_mb=1, imports_dir=tmp_path / "p"))
    client = TestClient(app, raise_server_exceptions=False, headers=bearer(tokens_for(url)["admin"]))
    seen = []

    def body():
        for _ in range(40):
            seen.append(1)
            yield b"x" * 65_536

    # Declared too large: refused by its Content-Length, the body never read.
    r = client.post(
        "/imports?layer=ngos",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(3 * 2**20)},
    )
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert len(seen) <= 1
    # Not declared (chunked): counted while it streams.
    big = os.urandom(2 * 2**20)
    r = upload(client, big, "big.csv")
    assert r.status_code == 413
    assert not [p for p in (tmp_path / "p").rglob("upload*")]
    app.state.imports.close()


def test_cookie_uploads_need_the_csrf_token(world):
    from tests.test_security import TEST_USERS  # noqa: F401  (the same sign-in as every page)

    app = world["app"]
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    r = client.post(
        "/sign-in",
        data={"username": "i_admin", "password": TEST_PASSWORD, "next": "/maps/import"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/maps/import")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    content = registry([row("S-1", "م", "اراک", "کمیجان")])
    assert upload(client, content).status_code == 403
    assert upload(client, content, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    ok = upload(client, content, headers={"X-CSRF-Token": token})
    assert ok.status_code == 202
    job = wait(client, ok.json()["id"])
    for action in ("confirm", "cancel"):
        assert client.post(f"/imports/{job['id']}/{action}").status_code == 403
    assert client.post(f"/imports/{job['id']}/confirm", headers={"X-CSRF-Token": token}).status_code == 200
    en = client.get("/maps/import?lang=en")
    assert 'dir="ltr"' in en.text and "Import data" in en.text


def test_template_workbook(world):
    from openpyxl import load_workbook

    r = world["clients"]["admin"].get("/import-templates/ngos")
    assert r.status_code == 200
    path = world["tmp"] / "t.xlsx"
    path.write_bytes(r.content)
    wb = load_workbook(path)
    sheet = wb["ngos"]
    headers = [c.value for c in sheet[1]]
    assert "شمارهٔ مجوز (licence_no)" in headers and "روستا یا شهر (settlement_name)" in headers
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert any("codes!" in f for f in lists.values()) and len(lists) >= 4
    codes = pd.read_excel(path, sheet_name="codes", dtype=str)
    assert {"rehabilitation", "active"} <= set(codes.iloc[:, 0].dropna()) | set(codes.iloc[:, 4].dropna())
    assert set(codes["کد استان"].dropna()) == {"00", "01"}
    assert {"centre", "remote"} <= set(codes["کد شیوهٔ ارائه"].dropna())
    # The template filled in imports as it is.
    sheet.append(
        [
            "T-1",
            "مرکز الگو",
            "rehabilitation",
            "در مرکز",  # the delivery mode, by its Persian name
            "۱۲",
            "active",
            "۱۴۰۳/۰۵/۰۱",
            None,
            "0001",
            None,
            None,
            "کمیجان",
        ]
    )
    wb.save(path)
    job = wait(
        world["clients"]["admin"], upload(world["clients"]["admin"], path.read_bytes(), "t.xlsx").json()["id"]
    )
    assert job["rejected_rows"] == [] and job["counts"]["added"] == 1


def test_openapi_declares_the_import_routes(world):
    doc = world["clients"]["admin"].get("/openapi.json").json()
    post = doc["paths"]["/imports"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert post["x-amayesh-requires"]["roles"] == ["admin", "licensing_officer"]
    assert doc["paths"]["/imports/{import_id}/undo"]["post"]["x-amayesh-requires"]["roles"] == ["admin"]


@pytest.mark.postgis
def test_confirm_and_undo_on_postgis_as_the_service_role(tmp_path, postgis_store, postgis_url):
    from tests.conftest import service_role_url

    make_store(postgis_url, postgis_store)
    url = service_role_url(postgis_url)
    app = create_app(
        Settings(store=url, prepare_tiles=False, imports_dir=tmp_path / "p", versions_dir=tmp_path / "v")
    )
    tokens = tokens_for(url)
    # The lifespan closes the app's store and account connections at the end.
    with TestClient(app, raise_server_exceptions=False, headers=bearer(tokens["admin"])) as admin:
        officer = TestClient(app, raise_server_exceptions=False, headers=bearer(tokens["officer"]))
        confirm_and_undo(admin, officer, postgis_store)


def confirm_and_undo(admin: TestClient, officer: TestClient, postgis_store) -> None:
    before = postgis_store.read_layer("ngos")
    job = wait(officer, upload(officer, registry([row("PG-1", "مرکز", "اراک", "کمیجان")])).json()["id"])
    assert job["can_confirm"], job["rejected_rows"]
    done = officer.post(f"/imports/{job['id']}/confirm")
    assert done.status_code == 200, done.text
    after = postgis_store.read_layer("ngos")
    assert len(after) == len(before) + 1
    assert after.set_index("licence_no").loc["PG-1", "position_source"] == "settlement_name"
    undone = admin.post(f"/imports/{done.json()['id']}/undo")
    assert undone.status_code == 200, undone.text
    assert sorted(postgis_store.read_layer("ngos")["licence_no"]) == sorted(before["licence_no"])


def test_a_rows_file_rejected_whole_writes_nothing(world):
    admin = world["clients"]["admin"]
    r = upload(admin, b"\xff\xfe<\x00?\x00x\x00m\x00l\x00", "registry.csv")
    job = wait(admin, r.json()["id"])
    assert job["state"] == "refused" and job["rejected_rows"][0]["row"] is None
    assert admin.post(f"/imports/{job['id']}/confirm").status_code == 409


#: Corpus cases that are no uploadable file: a URL or GDAL path, a pipe, a device (the command
#: line's test covers them), and a 201 MB file (the size limit is tested by its Content-Length).
NOT_UPLOADED = {"url_path", "vsicurl_path", "vsizip_path", "fifo", "device", "too_large_file"}


@pytest.mark.slow
@pytest.mark.parametrize(("world_store", "selection"), CORPUS_RUNS, indirect=["world_store"])
def test_hostile_corpus_through_http_is_refused_whole(
    world_store,  # noqa: F811
    selection,
    listener,  # noqa: F811
    test_limits,  # noqa: F811
    tmp_path,
):
    from tests.hostile_corpus import Context

    kind, url, store = world_store
    secret = tmp_path / "host-secret.txt"
    secret.write_text(f"AMAYESH-HOST-SECRET-{os.urandom(8).hex()}\n")
    ctx = Context(folder=tmp_path / "corpus", port=listener.port, secret=secret)
    ctx.folder.mkdir()
    app = create_app(
        Settings(store=url, prepare_tiles=False, imports_dir=tmp_path / "p", versions_dir=tmp_path / "v")
    )
    with TestClient(app, raise_server_exceptions=False, headers=bearer(tokens_for(url)["admin"])) as admin:
        upload_the_corpus(admin, kind, url, store, ctx, secret, listener, tmp_path, corpus(selection))


def upload_the_corpus(admin, kind, url, store, ctx, secret, listener, tmp_path, cases) -> None:  # noqa: F811
    from tests.test_hostile_files import host_markers, store_bytes

    version, counts = store.version(), store.layer_counts()
    results, mismatched, errors = [], [], []
    for case in cases:
        if case.name in NOT_UPLOADED:
            continue
        path, layer, _ = case.build(ctx)
        r = admin.post(f"/imports?layer={layer}", files={"file": (Path(path).name, Path(path).read_bytes())})
        if r.status_code >= 500:
            errors.append((case.name, r.status_code, r.text[:200]))
            continue
        if r.status_code == 413:
            results.append((case.name, {"file_too_large"}))
            continue
        assert r.status_code == 202, (case.name, r.text)
        job = wait(admin, r.json()["id"])
        assert job["state"] in ("refused", "ready"), (case.name, job["state"])
        assert not job["can_confirm"] and job["rejected_rows"], case.name
        reasons = {x["reason"] for x in job["rejected_rows"]}
        assert all(x["text"] for x in job["rejected_rows"])
        confirm = admin.post(f"/imports/{job['id']}/confirm")
        assert confirm.status_code == 409, (case.name, confirm.text)
        assert admin.post(f"/imports/{job['id']}/cancel").status_code == 200  # the file deleted
        results.append((case.name, reasons))
        if case.reason not in reasons:
            mismatched.append((case.name, case.reason, reasons))
    assert errors == []
    assert mismatched == [], mismatched
    assert len(results) == len([c for c in cases if c.name not in NOT_UPLOADED])
    assert store.version() == version and store.layer_counts() == counts  # 0 partial writes
    held = store_bytes(kind, url)
    assert not any(marker in held for marker in host_markers(secret))
    assert listener.connections == 0
    assert not [p for p in (tmp_path / "p").rglob("upload*") if p.stat().st_size]


def test_a_check_takes_places_and_counties_from_the_loaded_snapshot(world):
    """An upload's check reads the settlements and counties from the service's snapshot when it is
    of the store's version (not again from the store), and never the registry, whose statuses a
    snapshot reads as of its day."""
    admin, store = world["clients"]["admin"], world["store"]
    snapshots = world["app"].state.snapshots
    version = store.version()
    snap = snapshots.current()
    held = snapshots.stored_layers(version)
    assert "ngos" not in held and {"settlements", "counties"} <= set(held)
    assert held["settlements"] is snap.layers["settlements"]
    pd.testing.assert_frame_equal(held["settlements"], store.read_layer("settlements"))
    assert snapshots.stored_layers("another version") == {}
    # The country's outline is made once per snapshot, as the store's provinces give it.
    from exchange.imports import iran_outline

    assert held["iran"] is snapshots.stored_layers(version)["iran"]
    assert held["iran"].equals(iran_outline(store))
    # A village known to the snapshot only (renamed in memory) places a row: the check used it.
    renamed = snap.layers["settlements"].copy()
    renamed.loc[renamed["name_fa"] == "کمیجان", "name_fa"] = "کمیجان نو"
    snap.layers["settlements"] = renamed
    job = wait(admin, upload(admin, registry([row("N-9", "مرکز نه", "اراک", "کمیجان نو")])).json()["id"])
    assert job["rejected_rows"] == [] and job["counts"]["added"] == 1
    # After a write the snapshot is of an older version: nothing is taken from it.
    assert admin.post(f"/imports/{job['id']}/confirm").status_code == 200
    assert store.version() != version and snapshots.stored_layers(store.version()) == {}


def test_the_registry_read_by_a_check_serves_the_next_check_until_the_store_changes(world):
    """The registry as stored (not the snapshot's, whose statuses are as of its day) is read by
    the first check at a store version and reused by the next at that version; after a write,
    a check reads it again and sees the write."""
    admin, store = world["clients"]["admin"], world["store"]
    intake = world["app"].state.imports
    first = wait(admin, upload(admin, registry([row("N-9", "مرکز نه", "اراک", "کمیجان")])).json()["id"])
    version, held = intake._registry
    assert version == store.version()
    pd.testing.assert_frame_equal(held, store.read_layer("ngos"))
    again = wait(admin, upload(admin, registry([row("N-9", "مرکز نه", "اراک", "کمیجان")])).json()["id"])
    assert intake._registry[1] is held  # not read again
    assert again["counts"] == first["counts"] and first["counts"]["added"] == 1
    assert admin.post(f"/imports/{first['id']}/confirm").status_code == 200
    third = wait(admin, upload(admin, registry([row("N-9", "مرکز نه", "اراک", "کمیجان")])).json()["id"])
    assert intake._registry[0] == store.version() != version
    assert third["counts"]["added"] == 0 and third["counts"]["unchanged"] == 1


@pytest.mark.parametrize(
    ("fld", "reason", "label"),
    [
        ("geometry", "coordinates_swapped", "مکان"),
        ("geometry", "outside_iran", "مکان"),
        ("capacity", "required_missing", "ظرفیت"),
        ("lon/lat", "invalid_geometry", None),
        ("licence_no", "duplicate_key", None),
    ],
)
def test_a_persian_rejection_names_its_field_as_the_template_does(fld, reason, label):
    """Found walking an import in Persian: a location refused read «geometry» in a Persian
    sentence. Each field is named in Persian, as the template's headers name it."""
    import re

    from exchange.templates import field_label
    from services.intake import message_fa

    text = message_fa(3, fld, "34.09, 49.69", reason, "")
    assert text.startswith("ردیف ۳: " + (label or field_label(fld, "fa")) + " «34.09, 49.69»: ")
    assert not re.search(r"[A-Za-z]", text.replace("34.09, 49.69", "")), text
