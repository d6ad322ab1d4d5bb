"""The programme's activities register over HTTP: entry, edits with If-Match, deletion, audit,
progress, gaps, downloads, the import (all or nothing) and scoping by province — on the
GeoPackage and on PostGIS.

The small world: target neighbourhoods T-001 (county 0001, province 00, 60 households in need),
T-002 (0002, province 00, 30) and T-003 (0101, province 01, 25).
"""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo.errors import SchemaError
from tests.test_applications import small_gpkg, tokens_for
from tests.test_hostile_files import listener  # noqa: F401 - a fixture


@pytest.fixture(scope="module")
def gpkg_service(tmp_path_factory, small_layers):
    from api.app import create_app
    from services.settings import Settings

    path = small_gpkg(tmp_path_factory.mktemp("activities"), small_layers)
    tokens = tokens_for(path)
    app = create_app(Settings(store=path, prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens, app


@pytest.fixture
def postgis_service(postgis_store, postgis_url, small_layers):
    from api.app import create_app
    from services.settings import Settings
    from tests.conftest import service_role_url

    with postgis_store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    tokens = tokens_for(postgis_url)
    app = create_app(Settings(store=service_role_url(postgis_url), prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens, app


def body(**over) -> dict:
    return {
        "organisation": "انجمن همیاری محله",
        "organisation_kind": "partner",
        "service_type": "counselling",
        "place_kind": "target_area",
        "place_code": "T-002",
        "start_date": "2025-01-10",
        "households": 12,
        "persons": 40,
        "status": "ongoing",
    } | over


def progress_of(client, headers, code: str) -> dict:
    r = client.get("/programme/progress", headers=headers)
    assert r.status_code == 200, r.text
    return {n["target_code"]: n for n in r.json()["neighbourhoods"]}[code]


def life_of_an_activity(client, tokens, app) -> None:
    officer = tokens["officer00"]
    before = progress_of(client, officer, "T-002")["households_reached"]
    r = client.post("/activities", json=body(), headers=officer)
    assert r.status_code == 201, r.text
    made = r.json()
    aid, url = made["activity_id"], f"/activities/{made['activity_id']}"
    assert made["province_code"] == "00" and made["target_code"] == "T-002" and made["county_code"] == "0002"
    assert made["status_fa"] == "در حال اجرا" and r.headers["etag"] == f'"{aid}.v1"'
    # T-002 needs 30 households: 12 more reached (capped at 30)
    after = progress_of(client, officer, "T-002")
    assert after["households_reached"] == min(30, before + 12)
    # Edits need If-Match: none 428, stale 412
    assert client.patch(url, json={"households": 20}, headers=officer).status_code == 428
    stale = client.patch(url, json={"households": 20}, headers={**officer, "If-Match": f'"{aid}.v9"'})
    assert stale.status_code == 412
    r = client.patch(url, json={"households": 20}, headers={**officer, "If-Match": f'"{aid}.v1"'})
    assert r.status_code == 200, r.text
    assert r.json()["households"] == 20 and r.json()["version"] == 2
    assert progress_of(client, officer, "T-002")["households_reached"] == min(30, before + 20)
    # an edit is checked whole: an end before the start is refused, in both languages
    r = client.patch(url, json={"end_date": "2024-01-01"}, headers={**officer, "If-Match": f'"{aid}.v2"'})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "end_date"
    assert r.json()["detail_fa"].startswith("فعالیت ثبت نشد")
    r = client.delete(url, headers={**officer, "If-Match": f'"{aid}.v2"'})
    assert r.status_code == 204
    assert client.get(url, headers=officer).status_code == 404
    assert progress_of(client, officer, "T-002")["households_reached"] == before
    trail = [row for row in app.state.accounts.audit_rows() if row["target"] == f"activity:{aid}"]
    assert [row["action"] for row in trail] == ["activity.create", "activity.edit", "activity.delete"]
    assert {row["actor"] for row in trail} == {"officer00"}
    assert '"households": 12' in trail[1]["old_value"] and '"households": 20' in trail[1]["new_value"]


def test_the_life_of_an_activity_on_the_geopackage(gpkg_service):
    life_of_an_activity(*gpkg_service)


@pytest.mark.postgis
def test_the_life_of_an_activity_on_postgis(postgis_service):
    life_of_an_activity(*postgis_service)


def scoping(client, tokens) -> None:
    officer, other = tokens["officer00"], tokens["officer01"]
    # an officer enters in their provinces only
    r = client.post("/activities", json=body(place_code="T-003"), headers=officer)
    assert r.status_code == 403 and r.json()["code"] == "outside-provinces"
    made = client.post("/activities", json=body(place_code="T-001"), headers=officer).json()
    # another province's officer neither sees nor changes it
    assert client.get(f"/activities/{made['activity_id']}", headers=other).status_code == 404
    etag = {"If-Match": f'"{made["activity_id"]}.v1"'}
    assert (
        client.patch(
            f"/activities/{made['activity_id']}", json={"households": 1}, headers={**other, **etag}
        ).status_code
        == 404
    )
    assert client.delete(f"/activities/{made['activity_id']}", headers={**other, **etag}).status_code == 404
    seen = client.get("/activities", headers=other).json()["activities"]
    assert all(a["province_code"] == "01" for a in seen)
    assert made["activity_id"] not in {a["activity_id"] for a in seen}
    # nor moves it out of their provinces
    r = client.patch(
        f"/activities/{made['activity_id']}", json={"place_code": "T-003"}, headers={**officer, **etag}
    )
    assert r.status_code == 403
    # progress and gaps are the caller's provinces' only; another province is refused
    codes = {
        n["target_code"] for n in client.get("/programme/progress", headers=officer).json()["neighbourhoods"]
    }
    assert codes == {"T-001", "T-002"}
    assert client.get("/programme/progress?province=01", headers=officer).status_code == 403
    assert {g["target_code"] for g in client.get("/programme/gaps", headers=other).json()["gaps"]} == {
        "T-003"
    }
    # a director reads but does not enter; a planner (the programme's manager) enters anywhere
    assert client.get("/activities", headers=tokens["director00"]).status_code == 200
    assert client.post("/activities", json=body(), headers=tokens["director00"]).status_code == 403
    r = client.post("/activities", json=body(place_code="T-003"), headers=tokens["planner"])
    assert r.status_code == 201 and r.json()["province_code"] == "01"
    assert client.get("/activities").status_code == 401


def test_activities_are_scoped_to_the_officers_provinces_on_the_geopackage(gpkg_service):
    client, tokens, _ = gpkg_service
    scoping(client, tokens)


@pytest.mark.postgis
def test_activities_are_scoped_to_the_officers_provinces_on_postgis(postgis_service):
    client, tokens, _ = postgis_service
    scoping(client, tokens)


def test_an_entry_is_checked_against_the_registry_and_the_places(gpkg_service):
    client, tokens, _ = gpkg_service
    admin = tokens["admin"]
    r = client.post("/activities", json=body(organisation_kind="ngo", licence_no="NOPE-1"), headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "licence_no"
    r = client.post("/activities", json=body(organisation_kind="ngo", licence_no="SYN-00001"), headers=admin)
    assert r.status_code == 201, r.text
    r = client.post("/activities", json=body(place_kind="settlement", place_code="nowhere"), headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "place_code"
    r = client.post("/activities", json=body(status="completed"), headers=admin)  # no end date
    assert r.status_code == 422 and "reason_fa" in r.json()["problems"][0]
    r = client.post("/activities", json=body(households=-1), headers=admin)
    assert r.status_code == 422
    # a county activity is in the register but reaches no neighbourhood
    r = client.post("/activities", json=body(place_kind="county", place_code="0001"), headers=admin)
    assert r.status_code == 201 and r.json()["target_code"] is None


def test_an_officer_names_only_centres_of_their_provinces(gpkg_service):
    """A licence number of another province's centre is refused to an officer exactly as a number
    that does not exist is (the answer told which numbers exist there, and linked a centre the
    officer may not see to their activity); a national role names any centre."""
    client, tokens, _ = gpkg_service
    officer = tokens["officer00"]
    unknown = client.post(
        "/activities", json=body(organisation_kind="ngo", licence_no="SYN-09999"), headers=officer
    )
    other = client.post(
        "/activities", json=body(organisation_kind="ngo", licence_no="SYN-00010"), headers=officer
    )
    assert unknown.status_code == other.status_code == 422
    assert [(p["field"], p["reason"]) for p in other.json()["problems"]] == [
        (p["field"], p["reason"]) for p in unknown.json()["problems"]
    ]
    own = client.post(
        "/activities", json=body(organisation_kind="ngo", licence_no="SYN-00001"), headers=officer
    )
    assert own.status_code == 201, own.text
    admin = client.post(
        "/activities", json=body(organisation_kind="ngo", licence_no="SYN-00010"), headers=tokens["admin"]
    )
    assert admin.status_code == 201, admin.text


def test_the_import_is_all_or_nothing_with_every_refused_row(gpkg_service):
    client, tokens, app = gpkg_service
    officer = tokens["officer00"]
    head = "organisation,organisation_kind,licence_no,service_type,place_kind,place_code,start_date,end_date,households,persons,status\n"
    good = "گروه الف,partner,,employment,target_area,T-001,2025-02-01,,5,15,ongoing\n"
    rows = (
        head
        + good
        + "گروه ب,campaign,,home_care,target_area,T-003,2025-02-01,,5,15,ongoing\n"  # row 1: province 01
        + "گروه ج,partner,,employment,target_area,T-001,2025-02-01,2025-01-01,5,15,completed\n"  # row 2: dates
        + "گروه د,partner,,unknown,county,0001,2025-02-01,,5,15,ongoing\n"  # row 3: service
    )
    count = len(client.get("/activities?limit=5000", headers=tokens["admin"]).json()["activities"])
    r = client.post("/activity-imports", files={"file": ("a.csv", rows.encode())}, headers=officer)
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert [(p["row"], p["field"]) for p in problems] == [
        (1, "place_code"),
        (2, "end_date"),
        (3, "service_type"),
    ]
    assert all(p["reason_fa"] for p in problems)
    assert len(client.get("/activities?limit=5000", headers=tokens["admin"]).json()["activities"]) == count
    # the template's columns; the good rows go in together, audited as one import
    template = client.get("/activity-template?f=xlsx", headers=officer)
    sheet = openpyxl.load_workbook(io.BytesIO(template.content))["activities"]
    assert [c.value for c in sheet[1]][:3] == ["organisation", "organisation_kind", "licence_no"]
    csv_template = client.get("/activity-template?f=csv", headers=officer).content.decode("utf-8-sig")
    assert csv_template.startswith("# organisation:")  # help lines, then the header the import reads
    hashed = good.replace("گروه الف", "گروه #2")  # a "#" inside a value is kept
    upload = (csv_template + good + hashed).encode()
    r = client.post("/activity-imports", files={"file": ("a.csv", upload)}, headers=officer)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    listed = client.get("/activities?limit=5000", headers=tokens["admin"]).json()["activities"]
    assert len(listed) == count + 2 and "گروه #2" in {a["organisation"] for a in listed}
    assert any(row["action"] == "activity.import" for row in app.state.accounts.audit_rows())
    # a file that is no table is refused whole
    r = client.post("/activity-imports", files={"file": ("a.pdf", b"%PDF")}, headers=officer)
    assert r.status_code == 400


def test_progress_downloads_and_over_time(gpkg_service):
    client, tokens, _ = gpkg_service
    planner = tokens["planner"]
    client.post(
        "/activities", json=body(place_code="T-001", households=6, start_date="2024-05-01"), headers=planner
    )
    r = client.get("/programme/progress?level=province&f=csv", headers=planner)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    table = pd.read_csv(
        io.StringIO("\n".join(x for x in lines if not x.startswith("#"))), dtype={"province_code": str}
    )
    assert set(table["province_code"]) == {"00", "01"}
    assert {"households_in_need", "households_reached", "share_reached"} <= set(table.columns)
    assert table.set_index("province_code").loc["00", "households_in_need"] == 90  # 60 + 30
    x = client.get("/programme/progress?level=neighbourhood&f=xlsx", headers=planner)
    frame = pd.read_excel(io.BytesIO(x.content), dtype={"target_code": str})
    assert sorted(frame["target_code"]) == ["T-001", "T-002", "T-003"]
    t = client.get("/programme/progress-over-time?periods=1403..1404", headers=planner).json()
    whole = {row["period"]: row for row in t["rows"] if row["unit"] == "all"}
    assert whole["1403"]["households_in_need"] == 115 and whole["1403"]["households_reached"] >= 6
    assert client.get("/programme/progress-over-time?periods=bad", headers=planner).status_code == 400


def test_the_gaps_of_a_service_in_a_province_without_neighbourhoods_are_none(gpkg_service):
    """A province with no target neighbourhood has no gaps of any service, in JSON and in a file
    (the empty table's column held no text, and picking a service in it was a server error)."""
    client, tokens, _ = gpkg_service
    planner = tokens["planner"]
    everywhere = client.get("/programme/gaps?service_type=kindergarten", headers=planner)
    assert everywhere.status_code == 200 and everywhere.json()["gaps"] != []
    r = client.get("/programme/gaps?province=49&service_type=kindergarten", headers=planner)
    assert r.status_code == 200, r.text
    assert r.json()["gaps"] == [] and r.json()["neighbourhoods"] == 0
    csv = client.get("/programme/gaps?province=49&service_type=kindergarten&f=csv", headers=planner)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert [x for x in csv.content.decode("utf-8-sig").splitlines() if not x.startswith("#")][1:] == []


def test_the_programme_page_in_persian(gpkg_service):
    client, tokens, _ = gpkg_service
    officer = tokens["officer00"]
    done = body(place_code="T-001", status="completed", start_date="2024-04-01", end_date="2024-09-22")
    assert client.post("/activities", json=done, headers=officer).status_code == 201
    assert client.post("/activities", json=body(place_code="T-001"), headers=officer).status_code == 201
    r = client.get("/maps/activities?target=T-001", headers=officer)
    assert r.status_code == 200 and 'dir="rtl"' in r.text
    assert "فعالیت‌های برنامه" in r.text and 'id="am-activity-form"' in r.text and 'id="am-target"' in r.text
    assert "T-003" not in r.text  # the other province's neighbourhood is not on the officer's page
    assert "۱۳ فروردین ۱۴۰۳ – ۱ مهر ۱۴۰۳" in r.text  # its dates in the Jalali calendar
    r = client.get("/maps/activities?lang=en", headers=tokens["director00"])
    assert r.status_code == 200 and 'id="am-activity-form"' not in r.text  # a director reads only


@pytest.mark.parametrize("store_kind", ["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_the_stores_refuse_what_the_register_forbids(store_kind, tmp_path, small_layers, request):
    if store_kind == "gpkg":
        from store import open_store

        store = open_store(small_gpkg(tmp_path, small_layers))
    else:
        store = request.getfixturevalue("postgis_store")
    row = {
        "activity_id": "T-ACT-1",
        "organisation": "x",
        "organisation_kind": "partner",
        "licence_no": None,
        "service_type": "counselling",
        "place_kind": "target_area",
        "place_code": "T-001",
        "target_code": "T-001",
        "county_code": "0001",
        "province_code": "00",
        "start_date": "2025-01-01",
        "end_date": None,
        "households": 1,
        "persons": 1,
        "status": "ongoing",
        "notes": None,
        "created_by": "t",
        "updated_at": "2025-01-01T00:00:00Z",
        "synthetic": False,
        "version": 1,
    }
    for bad in (
        {"households": -1},
        {"status": "done"},
        {"end_date": "2024-01-01"},
        {"organisation_kind": "ngo"},
    ):
        with pytest.raises(SchemaError):
            store.add_activities([row | bad | {"activity_id": "T-BAD"}])
    store.add_activities([row])
    assert [a["activity_id"] for a in store.list_activities(["00"])] == ["T-ACT-1"]
    assert store.list_activities(["01"]) == []
    assert store.update_activity("T-ACT-1", 1, {"households": 3})["version"] == 2
    from geo.errors import PreconditionFailed

    with pytest.raises(PreconditionFailed):
        store.update_activity("T-ACT-1", 1, {"households": 4})
    assert store.activity("T-ACT-1")["households"] == 3
    with pytest.raises(PreconditionFailed):
        store.delete_activity("T-ACT-1", 1)
    store.delete_activity("T-ACT-1", 2)
    assert store.list_activities() == []


def test_a_hostile_workbook_is_refused_whole_without_reading_the_host(gpkg_service, listener, tmp_path):  # noqa: F811
    """The activities import reads a workbook through the import boundary, as every import does:
    entity expansion, an external entity naming a host file or a local server, and a workbook
    padded to 64 MB inflated are refused by reason; nothing is entered, the file's secret is not
    in the answer, and nothing connected to the listener."""
    from tests.hostile_corpus import Context, xlsx_billion_laughs, xlsx_bomb, xlsx_xxe

    client, tokens, _ = gpkg_service
    officer = tokens["officer00"]
    secret = tmp_path / "host-secret.txt"
    secret.write_text("AMAYESH-HOST-SECRET-activities\n")
    ctx = Context(folder=tmp_path / "corpus", port=listener.port, secret=secret)
    ctx.folder.mkdir()
    count = len(client.get("/activities?limit=5000", headers=tokens["admin"]).json()["activities"])
    for build in (xlsx_billion_laughs, xlsx_xxe, xlsx_bomb, sheet_bomb):
        path, _, _ = build(ctx)
        with open(path, "rb") as f:
            r = client.post("/activity-imports", files={"file": ("a.xlsx", f.read())}, headers=officer)
        assert r.status_code in (400, 413), (build.__name__, r.status_code, r.text[:300])
        assert r.headers["content-type"] == "application/problem+json"
        assert "AMAYESH-HOST-SECRET" not in r.text and "Traceback" not in r.text
    assert listener.connections == 0
    assert len(client.get("/activities?limit=5000", headers=tokens["admin"]).json()["activities"]) == count


def sheet_bomb(ctx) -> tuple[str, str, list]:
    """A workbook of one good activity whose sheet inflates 100 MB (a comment of "a"s) from a
    fraction of a megabyte: read in the service's own process it was parsed whole, and entered."""
    import zipfile

    good = ctx.folder / "good-sheet.xlsx"
    row = {"organisation": "گروه", "organisation_kind": "partner", "service_type": "employment"}
    row |= {"place_kind": "target_area", "place_code": "T-001", "start_date": "2025-02-01"}
    pd.DataFrame([row | {"households": 5, "persons": 15, "status": "ongoing"}]).to_excel(good, index=False)
    bomb = ctx.folder / "sheet-bomb.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b"<!--" + b"a" * (100 * 2**20) + b"--></worksheet>")
            zout.writestr(info.filename, data)
    return str(bomb), "activities", []
