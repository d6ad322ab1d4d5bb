"""The licence register: applications, checks, decisions with If-Match, approval into the registry,
scoping by province, audit, and licence monitoring — on the GeoPackage and on PostGIS."""

from __future__ import annotations

import datetime as dt
import io
import threading

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo import applications as A
from geo.errors import ApplicationNotFound, InvalidTransition, PreconditionFailed

PASSWORD = "correct horse battery staple"
#: users of the small world (province 00) and of a province it does not have (01)
USERS = {
    "officer00": ("licensing_officer", ["00"]),
    "officer01": ("licensing_officer", ["01"]),
    "planner": ("planner", []),
    "director00": ("provincial_director", ["00"]),
    "admin": ("admin", []),
}
POINT = {"lon": 49.7, "lat": 34.3}  # inside county 0001 of the small world


def tokens_for(store_url: str) -> dict[str, dict[str, str]]:
    from store.accounts import Accounts

    accounts = Accounts(store_url)
    out = {}
    try:
        for name, (role, provinces) in USERS.items():
            if accounts.get(name) is None:
                accounts.add(name, PASSWORD, role, provinces, actor="tests")
            out[name] = {"Authorization": f"Bearer {accounts.issue_token(name, days=1, actor='tests')[1]}"}
    finally:
        accounts.close()
    return out


def small_gpkg(tmp_path, small_layers) -> str:
    from store import open_store

    path = str(tmp_path / "register.gpkg")
    store = open_store(path)
    with store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    return path


@pytest.fixture(scope="module")
def gpkg_service(tmp_path_factory, small_layers):
    """One service for the module's GeoPackage tests: each registers its own applications and
    asserts on them (and on differences), never on the register's totals."""
    from api.app import create_app
    from services.settings import Settings

    path = small_gpkg(tmp_path_factory.mktemp("register"), small_layers)
    tokens = tokens_for(path)
    app = create_app(Settings(store=path, prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens, app


@pytest.fixture
def postgis_service(postgis_store, postgis_url, small_layers):
    """The small world in PostGIS, the service connected as its own role (row-level security)."""
    from api.app import create_app
    from services.settings import Settings
    from tests.conftest import service_role_url

    with postgis_store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    tokens = tokens_for(postgis_url)
    url = service_role_url(postgis_url)
    app = create_app(Settings(store=url, prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens, app


def register(client, tokens, who="officer00", **extra) -> dict:
    body = {"applicant": "انجمن نمونه", "service_type": "rehabilitation", "capacity": 30, **POINT, **extra}
    r = client.post("/licence-applications", json=body, headers=tokens[who])
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == f'"{r.json()["application_id"]}.v1"'
    return r.json()


def life_of_an_application(client, tokens, app) -> None:
    officer = tokens["officer00"]
    made = register(client, tokens)
    aid, url = made["application_id"], f"/licence-applications/{made['application_id']}"
    assert made["status"] == "received" and made["county_code"] == "0001" and made["province_code"] == "00"
    assert made["synthetic"] is False
    # Edits need If-Match: none is 428, a stale one 412 (problem+json both).
    r = client.post(f"{url}/check", headers=officer)
    assert r.status_code == 428 and r.headers["content-type"] == "application/problem+json"
    r = client.post(f"{url}/check", headers={**officer, "If-Match": f'"{aid}.v7"'})
    assert r.status_code == 412 and "changed since" in r.json()["detail"]
    # No approval before a check.
    r = client.post(
        f"{url}/decision",
        json={"decision": "approved", "reason": "fine"},
        headers={**officer, "If-Match": f'"{aid}.v1"'},
    )
    assert r.status_code == 409
    r = client.post(f"{url}/check", headers={**officer, "If-Match": f'"{aid}.v1"'})
    assert r.status_code == 200, r.text
    checked = r.json()
    assert checked["status"] == "checked" and checked["version"] == 2
    assert checked["check_verdict"] in ("welcome", "acceptable", "saturated")
    assert checked["check_result"]["verdict"] == checked["check_verdict"]
    assert r.headers["etag"] == f'"{aid}.v2"'
    assert client.get(url, headers=officer).json()["check_result"] == checked["check_result"]
    # Approval: the licence joins the registry in the same commit.
    before = client.get("/collections/ngos/items?limit=1", headers=officer).json()["numberMatched"]
    r = client.post(
        f"{url}/decision",
        json={"decision": "approved", "reason": "نیاز منطقه تأیید شد"},
        headers={**officer, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["status"] == "approved" and decided["decided_by"] == "officer00"
    assert decided["licence_no"] == f"LIC-{aid}" and decided["decided_at"].endswith("Z")
    after = client.get("/collections/ngos/items?limit=1", headers=officer).json()["numberMatched"]
    assert after == before + 1
    licence = client.get(f"/collections/ngos/items/LIC-{aid}", headers=tokens["admin"]).json()
    assert (
        licence["properties"]["capacity"] == 30 and licence["properties"]["service_type"] == "rehabilitation"
    )
    assert licence["geometry"]["coordinates"] == pytest.approx([POINT["lon"], POINT["lat"]])
    stored = app.state.snapshots.store.read_layer("ngos").set_index("licence_no").loc[f"LIC-{aid}"]
    assert stored["status"] == "active" and stored["issued_on"].date() == dt.date.today()
    # A decision is final.
    r = client.post(
        f"{url}/decision",
        json={"decision": "refused", "reason": "again"},
        headers={**officer, "If-Match": f'"{aid}.v3"'},
    )
    assert r.status_code == 409
    # Every step is in the audit trail, with who did it and the old and new values.
    trail = [row for row in app.state.accounts.audit_rows() if row["target"] == f"licence_application:{aid}"]
    assert [row["action"] for row in trail] == [
        "application.create",
        "application.check",
        "application.approved",
    ]
    assert {row["actor"] for row in trail} == {"officer00"}
    assert '"received"' in trail[1]["old_value"] and '"checked"' in trail[1]["new_value"]


def test_the_life_of_an_application_on_the_geopackage(gpkg_service):
    life_of_an_application(*gpkg_service)


def test_a_checked_application_keeps_the_check_as_its_province_sees_it(gpkg_service):
    """Whoever runs an application's check, the register keeps it as the application's own
    province sees it: the check the province's officer gets at that place (before, an
    administrator's check kept every province's grades and centres for the officer to read)."""
    client, tokens, _ = gpkg_service
    made = register(client, tokens, who="admin")
    url = f"/licence-applications/{made['application_id']}"
    r = client.post(f"{url}/check", headers={**tokens["admin"], "If-Match": f'"{made["application_id"]}.v1"'})
    assert r.status_code == 200, r.text
    kept = client.get(url, headers=tokens["officer00"]).json()["check_result"]
    body = {"service_type": "rehabilitation", "capacity": 30, **POINT}
    officers = client.post("/licence-checks", json=body, headers=tokens["officer00"]).json()
    for field in (
        "verdict",
        "ratings_in_catchment",
        "same_type_nearby",
        "same_type_in_catchment",
        "reasons_fa",
    ):
        assert kept[field] == officers[field], field
    assert "other_provinces" in kept["ratings_in_catchment"]


@pytest.mark.postgis
def test_the_life_of_an_application_on_postgis(postgis_service):
    life_of_an_application(*postgis_service)


def concurrent_pairs(client, tokens, pairs: int = 8) -> None:
    """Two officers edit one application at once from the same ETag: one wins, the other gets 412
    and the winner's edit is what is stored (no lost update)."""
    officer = tokens["officer00"]
    for i in range(pairs):
        made = register(client, tokens, capacity=10 + i)
        url = f"/licence-applications/{made['application_id']}"
        tag = f'"{made["application_id"]}.v1"'
        barrier = threading.Barrier(2)
        answers: dict[int, object] = {}

        def edit(n: int, url=url, tag=tag, barrier=barrier, answers=answers) -> None:
            barrier.wait()
            answers[n] = client.patch(url, json={"capacity": 100 + n}, headers={**officer, "If-Match": tag})

        threads = [threading.Thread(target=edit, args=(n,)) for n in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(answers[n].status_code for n in (1, 2))
        assert codes == [200, 412], [answers[n].text for n in (1, 2)]
        winner = next(n for n in (1, 2) if answers[n].status_code == 200)
        stored = client.get(url, headers=officer).json()
        assert stored["capacity"] == 100 + winner and stored["version"] == 2


def test_concurrent_edits_never_lose_an_update_on_the_geopackage(gpkg_service):
    client, tokens, _ = gpkg_service
    concurrent_pairs(client, tokens)


@pytest.mark.postgis
def test_concurrent_edits_never_lose_an_update_on_postgis(postgis_service):
    client, tokens, _ = postgis_service
    concurrent_pairs(client, tokens)


def scoping(client, tokens) -> None:
    made = register(client, tokens)
    url = f"/licence-applications/{made['application_id']}"
    tag = {"If-Match": f'"{made["application_id"]}.v1"'}
    # Another province's officer neither sees nor changes it, nor registers in province 00.
    assert client.get(url, headers=tokens["officer01"]).status_code == 404
    assert client.get("/licence-applications", headers=tokens["officer01"]).json()["numberMatched"] == 0
    assert client.post(f"{url}/check", headers={**tokens["officer01"], **tag}).status_code == 404
    body = {"applicant": "x", "service_type": "rehabilitation", "capacity": 5, **POINT}
    assert client.post("/licence-applications", json=body, headers=tokens["officer01"]).status_code == 403
    assert client.get("/licence-applications?province=00", headers=tokens["officer01"]).status_code == 403
    # A planner reads the register but decides nothing; a director has no access to it.
    assert client.get(url, headers=tokens["planner"]).status_code == 200
    assert client.post(f"{url}/check", headers={**tokens["planner"], **tag}).status_code == 403
    assert client.get("/licence-applications", headers=tokens["director00"]).status_code == 403
    assert client.get(url).status_code == 401
    # A point outside every county is refused plainly.
    body["lon"], body["lat"] = 10.0, 10.0
    r = client.post("/licence-applications", json=body, headers=tokens["officer00"])
    assert r.status_code == 400 and "not inside any county" in r.json()["detail"]


def test_applications_are_scoped_to_the_officers_provinces_on_the_geopackage(gpkg_service):
    client, tokens, _ = gpkg_service
    scoping(client, tokens)


@pytest.mark.postgis
def test_applications_are_scoped_to_the_officers_provinces_on_postgis(postgis_service):
    client, tokens, _ = postgis_service
    scoping(client, tokens)


@pytest.mark.postgis
def test_the_postgis_store_scopes_applications_even_where_row_level_security_is_bypassed(
    postgis_service, postgis_store
):
    # ``postgis_store`` connects as the server's superuser, which row-level security never holds:
    # the store's own query must still keep to the provinces asked for.
    client, tokens, _ = postgis_service
    made = register(client, tokens)
    assert [a["application_id"] for a in postgis_store.list_applications(["01"])] == []
    assert made["application_id"] in {a["application_id"] for a in postgis_store.list_applications(["00"])}
    assert made["application_id"] in {a["application_id"] for a in postgis_store.list_applications()}
    with pytest.raises(ApplicationNotFound):
        postgis_store.application(made["application_id"], ["01"])


def test_the_store_refuses_a_stale_edit_and_an_unknown_id(tmp_path, small_layers):
    from store import open_store

    store = open_store(small_gpkg(tmp_path, small_layers))
    row = {f: None for f in A.FIELDS} | {
        "application_id": "T-1",
        "applicant": "a",
        "service_type": "kindergarten",
        "capacity": 5,
        "lon": 49.7,
        "lat": 34.3,
        "county_code": "0001",
        "province_code": "00",
        "received_at": "2025-01-01T08:00:00Z",
        "status": "received",
        "created_by": "t",
        "synthetic": False,
        "version": 1,
    }
    store.add_applications([row])
    version = store.version()
    assert store.update_application("T-1", 1, {"capacity": 6})["version"] == 2
    assert store.version() == version  # an edit is no layer commit: caches stay valid
    with pytest.raises(PreconditionFailed):
        store.update_application("T-1", 1, {"capacity": 7})
    assert store.application("T-1")["capacity"] == 6
    with pytest.raises(ApplicationNotFound):
        store.application("T-1", provinces=["01"])
    with pytest.raises(ApplicationNotFound):
        store.update_application("T-2", 1, {})
    # An approval whose licence the registry refuses (a duplicate number) changes nothing.
    from api.routers.applications import licence_row

    dup = licence_row(store.application("T-1"), "SYN-00000", dt.date(2025, 1, 2))
    with pytest.raises(Exception, match="duplicate"):
        store.update_application("T-1", 2, {"status": "approved"}, licence=dup)
    assert store.application("T-1")["status"] == "received"
    assert store.version() == version


def test_transitions():
    A.require_transition("received", "checked")
    A.require_transition("checked", "approved")
    for current, target in (("received", "approved"), ("approved", "refused"), ("withdrawn", "checked")):
        with pytest.raises(InvalidTransition):
            A.require_transition(current, target)


def test_timeliness_by_hand():
    """Three applications in province 00 in Farvardin 1404, deadline 30 days, on 1404-03-01:
    one decided on day 10 (in time), one on day 45 (late), one still open after 60 days (late);
    one in 02 received yesterday and open (not yet judged)."""
    day0 = "2025-03-21T08:00:00Z"  # 1 Farvardin 1404
    apps = pd.DataFrame(
        [
            {
                "province_code": "00",
                "received_at": day0,
                "decided_at": "2025-03-31T08:00:00Z",
                "synthetic": False,
            },
            {
                "province_code": "00",
                "received_at": day0,
                "decided_at": "2025-05-05T08:00:00Z",
                "synthetic": False,
            },
            {"province_code": "00", "received_at": day0, "decided_at": None, "synthetic": False},
            {
                "province_code": "02",
                "received_at": "2025-05-21T08:00:00Z",
                "decided_at": None,
                "synthetic": True,
            },
        ]
    )
    out = A.timeliness(apps, dt.date(2025, 5, 22), deadline_days=30).set_index("province_code")
    assert out.loc["00", "jalali_month"] == "1404-01"
    assert out.loc["00", ["received", "decided", "decided_in_time", "open_overdue"]].tolist() == [3, 2, 1, 1]
    assert out.loc["00", "share_in_time"] == pytest.approx(1 / 3, abs=1e-4)
    assert out.loc["02", "jalali_month"] == "1404-02"
    assert pd.isna(out.loc["02", "share_in_time"]) and out.loc["02", "synthetic"]


def test_expiring_and_expired_but_active_by_hand(small_layers):
    ngos = small_layers["ngos"].head(4).copy()
    ngos["status"] = ["active", "active", "active", "suspended"]
    ngos["expires_on"] = pd.to_datetime(["2025-01-10", "2025-02-15", "2024-12-01", "2025-01-05"])
    out = A.monitoring(ngos, pd.DataFrame(columns=list(A.FIELDS)), dt.date(2025, 1, 1), within_days=30)
    assert out["expiring"][["licence_no", "days_left"]].values.tolist() == [[ngos.iloc[0]["licence_no"], 9]]
    assert out["expired_active"][["licence_no", "days_overdue"]].values.tolist() == [
        [ngos.iloc[2]["licence_no"], 31]
    ]


def test_monitoring_downloads_on_the_geopackage(gpkg_service):
    client, tokens, _ = gpkg_service
    register(client, tokens)
    r = client.get("/licence-monitoring?within_days=3650", headers=tokens["director00"])
    assert r.status_code == 200
    data = r.json()
    assert data["timeliness"][0]["province_code"] == "00" and data["timeliness"][0]["received"] >= 1
    assert len(data["expiring"]) > 0  # the small world's licences run to 2026
    csv = client.get(
        "/licence-monitoring?f=csv&table=expiring&within_days=3650", headers=tokens["director00"]
    )
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("\ufeff# made")
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/licence-monitoring?f=xlsx", headers=tokens["planner"]).content)
    )
    assert book.sheetnames == ["timeliness", "expiring", "expired_active", "about"]
    assert client.get("/licence-monitoring").status_code == 401


def test_the_register_and_monitoring_pages_on_the_geopackage(gpkg_service):
    client, tokens, _ = gpkg_service
    made = register(client, tokens)
    page = client.get(f"/maps/register?id={made['application_id']}", headers=tokens["officer00"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="fa" dir="rtl">' in html and made["application_id"] in html
    assert (
        f'data-etag="&#34;{made["application_id"]}.v1&#34;"' in html
        or f"data-etag='\"{made['application_id']}.v1\"'" in html
    )
    assert "دریافت‌شده" in html and 'id="am-decision-form"' in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    # another province's officer: an empty list, and the application is not found
    other = client.get("/maps/register", headers=tokens["officer01"]).text
    assert made["application_id"] not in other
    assert (
        client.get(f"/maps/register?id={made['application_id']}", headers=tokens["officer01"]).status_code
        == 404
    )
    # a planner reads without the forms; a director may not open the register
    planner = client.get(
        f"/maps/register?id={made['application_id']}&lang=en", headers=tokens["planner"]
    ).text
    assert 'id="am-decision-form"' not in planner and "Licence applications" in planner
    assert client.get("/maps/register", headers=tokens["director00"]).status_code == 403
    monitoring = client.get("/maps/monitoring?within_days=3650", headers=tokens["director00"])
    assert monitoring.status_code == 200 and "پایش مجوزها" in monitoring.text
    assert 'id="am-expiring"' in monitoring.text and "SYN-0000" in monitoring.text
