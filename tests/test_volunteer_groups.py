"""Volunteer groups: kept in both stores (one row per group and speciality, under row-level
security by province on PostGIS), imported all or nothing with every rejected row's reason,
audited, listed and summed per county for the caller's provinces only, their places generalised
for roles without the exact-location right. On the small world (``tests/small_world.py``: its
groups are there); figures computed on paper."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from exchange.imports import check_rows
from services.settings import Settings
from store import open_store
from store.accounts import Accounts
from tests import small_world
from tests.analysis_world import demo_norms
from tests.conftest import bearer
from tests.test_imports_http import tokens_for, upload, wait

VOLUNTEERS = demo_norms().volunteers
V001_VILLAGE = "0001010100000001"


def _write(store, layers=None) -> None:
    if layers is None and not hasattr(store, "engine") and not store.path.exists():  # a new GeoPackage
        small_world.gpkg(store.path)
        return
    with store.transaction() as tx:
        for name, frame in (layers or small_world.layers()).items():
            tx.write_layer(name, frame)


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request, tmp_path):
    if request.param == "gpkg":
        yield open_store(str(tmp_path / "store.gpkg"))
        return
    yield request.getfixturevalue("postgis_store")


def test_groups_are_kept_one_row_per_speciality_in_both_stores(store):
    _write(store)
    back = store.read_layer("volunteer_groups").sort_values(["group_id", "speciality"], ignore_index=True)
    assert back[["group_id", "speciality", "members"]].values.tolist() == [
        ["V001", "doctor", 4],
        ["V001", "psychologist", 2],
        ["V002", "social_worker", 6],
        ["V003", "general", 10],
        ["V101", "doctor", 3],
    ]
    assert back["active"].tolist() == [True, True, True, False, True]
    v003 = back[back["group_id"] == "V003"].iloc[0]
    assert (v003["lon"], v003["lat"]) == (49.4, 34.6) and v003["settlement_code"] is None
    assert back.loc[back["group_id"] == "V002", "lon"].isna().all()
    assert back["synthetic"].all()


@pytest.mark.postgis
def test_postgis_shows_a_province_its_own_groups_only(postgis_store, postgis_url):
    from store.postgis import PostGISStore
    from tests.conftest import service_role_url

    _write(postgis_store)
    service = PostGISStore(service_role_url(postgis_url))
    try:
        mine = service.read_layer_in_provinces("volunteer_groups", {"00"})
        assert set(mine["group_id"]) == {"V001", "V002", "V003"}
        theirs = service.read_layer_in_provinces("volunteer_groups", {"01"})
        assert set(theirs["group_id"]) == {"V101"}
    finally:
        service.engine.dispose()


# ---- the check of an import -------------------------------------------------------------------

COLUMNS = [
    "group_id",
    "name_fa",
    "county_code",
    "settlement_code",
    "lon",
    "lat",
    "speciality",
    "members",
    "active",
]


def _rows(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def test_every_wrong_row_is_rejected_with_its_reason_and_nothing_is_accepted(store):
    _write(store)
    raw = _rows(
        ("N1", "گروه ۱", "0001", V001_VILLAGE, None, None, "Doctor", 5, True),  # right ("Doctor": doctor)
        ("N2", "گروه ۲", "0009", None, None, None, "doctor", 5, True),  # unknown county
        ("N3", "گروه ۳", "0002", V001_VILLAGE, None, None, "doctor", 5, True),  # village of 0001
        ("N4", "گروه ۴", "0001", None, None, None, "astronaut", 5, True),  # unknown speciality
        ("N5", "گروه ۵", "0001", None, None, None, "doctor", -2, True),  # negative members
        ("N6", "گروه ۶", "0001", None, None, None, "doctor", 1, True),
        ("N6", "گروه ۶", "0001", None, None, None, "doctor", 2, True),  # the same group and speciality
        ("N7", "گروه ۷", "0001", None, None, None, "doctor", 1, True),
        ("N7", "گروه هفت", "0001", None, None, None, "general", 1, True),  # its name differs
        ("N8", "گروه ۸", "0001", None, 49.5, None, "doctor", 1, True),  # half a point
    )
    result = check_rows(store, "volunteer_groups", raw, volunteers=VOLUNTEERS)
    assert result.frame is None  # all or nothing
    reasons = sorted({(int(r.row), r.reason) for r in result.rejected.itertuples()})
    assert reasons == [
        (2, "unknown_county"),
        (3, "unknown_settlement"),
        (4, "unknown_speciality"),
        (5, "value_out_of_range"),
        (6, "duplicate_key"),
        (7, "duplicate_key"),
        (9, "group_inconsistent"),
        (10, "half_point"),
    ]
    assert result.accepted["group_id"].tolist() == ["N1", "N7"]
    first = result.accepted.iloc[0]
    assert (first["speciality"], first["province_code"]) == ("doctor", "00")


def test_an_officer_may_not_import_another_provinces_group(store):
    _write(store)
    raw = _rows(
        ("N1", "گروه ۱", "0001", None, None, None, "doctor", 5, True),
        ("N2", "گروه ۲", "0101", None, None, None, "doctor", 5, True),  # a county of 01
        ("V101", "پزشکان همسایه", "0001", None, None, None, "general", 5, True),  # 01's group id
    )
    result = check_rows(store, "volunteer_groups", raw, volunteers=VOLUNTEERS, provinces=frozenset({"00"}))
    assert sorted((int(r.row), r.reason) for r in result.rejected.itertuples()) == [
        (2, "other_province"),
        (3, "other_province"),
    ]


def test_without_volunteer_norms_groups_cannot_be_imported(store):
    from geo.errors import InputError

    _write(store)
    with pytest.raises(InputError, match=r"no \[volunteers\] table"):
        check_rows(store, "volunteer_groups", _rows(("N1", "x", "0001", None, None, None, "doctor", 1, True)))


# ---- over HTTP: list, summary, import, scoping ------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("volunteers")
    url = str(folder / "world.gpkg")
    _write(open_store(url))
    tokens = tokens_for(url)  # an admin, an officer and a director of province 00, a planner
    app = create_app(
        Settings(
            store=url, prepare_tiles=False, imports_dir=folder / "private", versions_dir=folder / "versions"
        )
    )
    clients = {
        k: TestClient(app, raise_server_exceptions=False, headers=bearer(t)) for k, t in tokens.items()
    }
    yield {"app": app, "url": url, "clients": clients}
    app.state.imports.close()


def _xlsx(rows: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    rows.to_excel(buf, index=False)
    return buf.getvalue()


def test_the_groups_by_hand(world):
    body = world["clients"]["admin"].get("/volunteers/groups").json()
    groups = {g["group_id"]: g for g in body["groups"]}
    assert list(groups) == ["V001", "V002", "V003", "V101"]
    v001 = groups["V001"]
    assert v001["members"] == {"doctor": 4, "psychologist": 2} and v001["members_total"] == 6
    assert (v001["placed"], v001["settlement_code"]) == ("settlement", V001_VILLAGE)
    # at the village's point (0.09 east of 49.1, 34.3 + 0.05)
    assert (v001["lon"], v001["lat"]) == pytest.approx((49.19, 34.35))
    # 4 doctors: rehabilitation 2, elderly care 2, home care 4; 2 psychologists: counselling 4,
    # addiction 1
    assert v001["places"] == {
        "addiction_treatment": 1,
        "counselling": 4,
        "elderly_care": 2,
        "home_care": 4,
        "rehabilitation": 2,
    }
    assert groups["V002"]["placed"] == "county" and groups["V002"]["lon"] is None
    assert groups["V003"]["active"] is False and groups["V003"]["places"] == {}
    assert groups["V003"]["placed"] == "point" and groups["V003"]["position_generalised"] is False
    assert body["norms"]["synthetic"] is True and body["norms"]["count_as_supply"] is False
    assert body["notice"] is not None  # synthetic data, said so


def test_the_summary_per_county_by_hand(world):
    body = world["clients"]["admin"].get("/volunteers/summary").json()
    rows = {r["county_code"]: r for r in body["rows"]}
    assert list(rows) == ["0001", "0002", "0101"]
    a = rows["0001"]
    assert (a["groups"], a["active_groups"], a["members"], a["active_members"]) == (2, 1, 16, 6)
    assert (a["placed_groups"], a["county_level_groups"], a["places"]) == (2, 0, 13)
    assert a["members_by_speciality"]["general"] == 10
    b = rows["0002"]
    assert (b["county_level_groups"], b["places"]) == (1, 12)  # 6 social workers: 6 + 3 + 3
    assert b["places_by_service"]["child_care"] == 3
    for r in body["rows"]:
        assert sum(r["places_by_service"].values()) == r["places"]
        assert sum(r["members_by_speciality"].values()) == r["members"]
    t = body["totals"]
    assert (t["groups"], t["active_groups"], t["members"], t["active_members"], t["places"]) == (
        4,
        3,
        25,
        15,
        32,
    )
    csv = world["clients"]["admin"].get("/volunteers/summary?f=csv").text
    assert "اعضا: پزشک" in csv and "ظرفیت داوطلبان: مراقبت در منزل" in csv
    english = world["clients"]["admin"].get("/volunteers/summary?f=csv&lang=en").text
    assert "Members: Doctor" in english and "# norms: norms" in english and "synthetic" in english


def test_a_scoped_role_sees_its_provinces_groups_only_and_places_generalised(world):
    officer = world["clients"]["officer"].get("/volunteers/groups").json()
    assert {g["group_id"] for g in officer["groups"]} == {"V001", "V002", "V003"}
    v001 = next(g for g in officer["groups"] if g["group_id"] == "V001")
    assert v001["settlement_code"] == V001_VILLAGE  # officers hold exact_location
    director = world["clients"]["director"]
    body = director.get("/volunteers/groups").json()
    assert {g["group_id"] for g in body["groups"]} == {"V001", "V002", "V003"}
    assert "V101" not in director.get("/volunteers/groups").text
    seen = {g["group_id"]: g for g in body["groups"]}
    # a director has no exact-location right: a placed group stands at a generalised position
    for gid in ("V001", "V003"):
        g = seen[gid]
        assert g["position_generalised"] is True and g["settlement_code"] is None
        assert g["placed"] == "point"
    assert (seen["V001"]["lon"], seen["V001"]["lat"]) != pytest.approx((49.19, 34.35))
    assert (seen["V003"]["lon"], seen["V003"]["lat"]) != pytest.approx((49.4, 34.6))
    # on the 0.125° grid, as a centre's
    assert round(seen["V001"]["lon"] / 0.125, 6) == round(seen["V001"]["lon"] / 0.125)
    summary = director.get("/volunteers/summary").json()
    assert {r["county_code"] for r in summary["rows"]} == {"0001", "0002"}
    assert summary["totals"]["groups"] == 3
    # downloads need the export right, which officers do not hold
    assert world["clients"]["officer"].get("/volunteers/summary?f=csv").status_code == 403
    assert director.get("/volunteers/summary?f=xlsx").status_code == 200
    anonymous = TestClient(world["app"], raise_server_exceptions=False)
    assert anonymous.get("/volunteers/groups").status_code == 401
    assert anonymous.get("/volunteers/summary").status_code == 401


def test_an_officer_imports_groups_of_own_province_audited(world):
    officer, admin = world["clients"]["officer"], world["clients"]["admin"]
    rows = pd.DataFrame(
        {
            "شناسهٔ گروه": ["N10", "N11"],
            "نام": ["گروه تازه", "گروه دیگر"],
            "کد شهرستان": ["0002", "0101"],
            "تخصص": ["facilitator", "doctor"],
            "شمار اعضا": [12, 3],
            "فعال": [True, True],
        }
    )
    job = wait(officer, upload(officer, _xlsx(rows), "groups.xlsx", "volunteer_groups").json()["id"])
    assert [(r["row"], r["reason"]) for r in job["rejected_rows"]] == [(2, "other_province")]
    assert "استان" in job["rejected_rows"][0]["message_fa"]
    assert officer.post(f"/imports/{job['id']}/confirm").status_code == 409  # nothing written
    store = world["app"].state.snapshots.store
    assert len(store.read_layer("volunteer_groups")) == 5
    good = wait(
        officer, upload(officer, _xlsx(rows.iloc[[0]]), "groups.xlsx", "volunteer_groups").json()["id"]
    )
    assert good["state"] == "ready" and good["counts"]["added"] == 1, good
    record = officer.post(f"/imports/{good['id']}/confirm")
    assert record.status_code == 200, record.text
    stored = store.read_layer("volunteer_groups")
    assert len(stored) == 6
    new = stored[stored["group_id"] == "N10"].iloc[0]
    assert (new["speciality"], new["members"], new["province_code"], bool(new["synthetic"])) == (
        "facilitator",
        12,
        "00",
        False,
    )
    accounts = Accounts(world["url"])
    try:
        audit = [r for r in accounts.audit_rows() if r["target"] == "layer:volunteer_groups"]
    finally:
        accounts.close()
    assert any(r["action"] == "import.http" and r["actor"] == "i_officer" for r in audit)
    # the new group is listed; a planner holds no import right; the template lists specialities
    listed = {g["group_id"] for g in officer.get("/volunteers/groups").json()["groups"]}
    assert "N10" in listed
    assert upload(world["clients"]["planner"], _xlsx(rows), "g.xlsx", "volunteer_groups").status_code == 403
    template = admin.get("/import-templates/volunteer_groups")
    assert template.status_code == 200
    codes = pd.read_excel(io.BytesIO(template.content), sheet_name="codes", dtype=str)
    assert codes["تخصص"].dropna().tolist()[:3] == ["doctor", "psychologist", "social_worker"]


def test_the_command_line_imports_groups_all_or_nothing(tmp_path, capsys):
    from cli.main import main

    url = str(tmp_path / "cli.gpkg")
    _write(open_store(url))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "group_id,name_fa,county_code,speciality,members,active\n"
        "N1,گروه,0001,doctor,3,true\nN2,گروه دو,0001,astronaut,3,true\n",
        encoding="utf-8",
    )
    code = main(
        [
            "--store",
            url,
            "import",
            "volunteer_groups",
            str(bad),
            "--append",
            "--rejected",
            str(tmp_path / "r.csv"),
        ]
    )
    assert code == 3
    assert "unknown_speciality" in capsys.readouterr().err
    assert len(open_store(url).read_layer("volunteer_groups")) == 5  # nothing written
    good = tmp_path / "good.csv"
    good.write_text(
        "group_id,name_fa,county_code,speciality,members,active\nN1,گروه,0001,doctor,3,true\n",
        encoding="utf-8",
    )
    assert main(["--store", url, "import", "volunteer_groups", str(good), "--append"]) == 0
    stored = open_store(url).read_layer("volunteer_groups")
    assert len(stored) == 6
    assert stored.loc[stored["group_id"] == "N1", ["province_code", "members"]].values.tolist() == [["00", 3]]


@pytest.mark.postgis
def test_on_postgis_the_service_role_imports_groups_into_a_store_made_before_them(
    postgis_store, postgis_url, tmp_path
):
    from tests.conftest import SERVICE_ROLE, service_role_url

    # a deployment made before volunteer groups existed: no volunteer_groups table
    layers = {k: v for k, v in small_world.layers().items() if k != "volunteer_groups"}
    _write(postgis_store, layers)
    url = service_role_url(postgis_url)  # the owner's setup makes the table and grants on it
    tokens = tokens_for(postgis_url)
    app = create_app(
        Settings(
            store=url, prepare_tiles=False, imports_dir=tmp_path / "private", versions_dir=tmp_path / "v"
        )
    )
    store = app.state.snapshots.store
    try:
        assert store.engine.url.username == SERVICE_ROLE
        with TestClient(app, raise_server_exceptions=False, headers=bearer(tokens["officer"])) as officer:
            rows = pd.DataFrame(
                {
                    "group_id": ["N1"],
                    "name_fa": ["گروه"],
                    "county_code": ["0001"],
                    "speciality": ["doctor"],
                    "members": [3],
                    "active": [True],
                }
            )
            job = wait(officer, upload(officer, _xlsx(rows), "g.xlsx", "volunteer_groups").json()["id"])
            assert job["state"] == "ready", job
            confirmed = officer.post(f"/imports/{job['id']}/confirm")
            assert confirmed.status_code == 200, confirmed.text
            assert [g["group_id"] for g in officer.get("/volunteers/groups").json()["groups"]] == ["N1"]
            stored = store.read_layer_in_provinces("volunteer_groups", ["00"])
            assert stored[["group_id", "members", "province_code"]].values.tolist() == [["N1", 3, "00"]]
    finally:
        app.state.imports.close()
        store.close()


def test_a_generalised_place_says_no_more_than_a_centres_does():
    """Attack: a director's groups stand on grid nodes at least the clearance from every true
    place, and the analysis a director is answered from places the groups there too."""
    from services.scope import CLEARANCE_M, GRID_DEG, generalise_volunteers
    from tests.test_locations import xyz

    layers = small_world.layers()
    groups, settlements = layers["volunteer_groups"], layers["settlements"]
    out = generalise_volunteers(groups, groups, settlements)
    placed = out.dropna(subset=["lon"])
    assert set(placed["group_id"]) == {"V001", "V003", "V101"}  # V002 is county level
    assert out["settlement_code"].isna().all() and out["position_generalised"].all()
    for lon in (*placed["lon"], *placed["lat"]):
        assert abs(lon / GRID_DEG - round(lon / GRID_DEG)) < 1e-6
    from geo.volunteers import group_places

    true = group_places(groups, settlements).dropna(subset=["lon"])
    import numpy as np
    from scipy.spatial import cKDTree

    tree = cKDTree(xyz(true["lon"].to_numpy(), true["lat"].to_numpy()))
    nearest, _ = tree.query(xyz(placed["lon"].to_numpy(), placed["lat"].to_numpy()))
    assert (np.asarray(nearest) >= CLEARANCE_M).all()
