"""Evaluations of centres: kept with history in both stores, imported all or nothing with every
rejected row's reason, audited, read per centre and as rankings by province, scoped to the
caller's provinces. On the small world (``tests/small_world.py``: its evaluations are there)."""

from __future__ import annotations

import datetime as dt
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

SCALE = demo_norms().ratings


def _write(store, layers=None) -> None:
    if layers is None and not hasattr(store, "engine") and not store.path.exists():  # a new GeoPackage
        small_world.gpkg(store.path)
        return
    with store.transaction() as tx:
        for name, frame in (layers or small_world.layers()).items():
            tx.write_layer(name, frame)


# ---- both stores ------------------------------------------------------------------------------


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request, tmp_path):
    if request.param == "gpkg":
        yield open_store(str(tmp_path / "store.gpkg"))
        return
    yield request.getfixturevalue("postgis_store")


def test_evaluations_are_kept_with_their_history_in_both_stores(store):
    _write(store)
    back = store.read_layer("ngo_evaluations")
    assert len(back) == 6
    first = back[back["licence_no"] == "SYN-00000"]
    assert first["grade"].tolist() == ["A", "B"]  # both kept, oldest first
    assert first["evaluated_on"].dt.date.tolist() == [dt.date(2024, 5, 1), dt.date(2025, 1, 10)]
    assert back["synthetic"].all()
    # a later evaluation is appended beside them; the earlier ones stay
    later = small_world.evaluations().iloc[[0]].assign(evaluated_on=pd.Timestamp("2025-12-01"), grade="C")
    store.append("ngo_evaluations", later)
    assert store.read_layer("ngo_evaluations").query("licence_no == 'SYN-00000'")["grade"].tolist() == [
        "A",
        "B",
        "C",
    ]


@pytest.mark.postgis
def test_postgis_shows_a_province_its_own_evaluations_only(postgis_store, postgis_url):
    from store.postgis import PostGISStore
    from tests.conftest import service_role_url

    _write(postgis_store)
    # as the service's own role (not the owner): row-level security holds
    service = PostGISStore(service_role_url(postgis_url))
    try:
        mine = service.read_layer_in_provinces("ngo_evaluations", {"00"})
        assert set(mine["province_code"]) == {"00"} and len(mine) == 4
        theirs = service.read_layer_in_provinces("ngo_evaluations", {"01"})
        assert set(theirs["licence_no"]) == {"SYN-00010", "SYN-00011"}
    finally:
        service.engine.dispose()


# ---- the check of an import -------------------------------------------------------------------

TODAY = dt.date(2026, 6, 1)


def _rows(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["licence_no", "evaluated_on", "grade", "evaluator", "note"])


def test_every_wrong_row_is_rejected_with_its_reason_and_nothing_is_accepted(store):
    _write(store)
    raw = _rows(
        ("SYN-00001", "2026-01-15", "a", "بازرس استان", None),  # right: grade a is A
        ("SYN-99999", "2026-01-15", "A", None, None),  # unknown centre
        ("SYN-00002", "2026-01-15", "E", None, None),  # unknown grade
        ("SYN-00003", "2026-07-01", "B", None, None),  # after today
        ("SYN-00003", "15/15/2026", "B", None, None),  # malformed date
        ("SYN-00005", "2026-02-01", "C", None, None),
        ("SYN-00005", "2026-02-01", "D", None, None),  # the same centre and day twice
        ("SYN-00000", "2025-01-10", "A", None, None),  # already recorded: history is not rewritten
    )
    result = check_rows(store, "ngo_evaluations", raw, ratings=SCALE, today=TODAY)
    assert result.frame is None  # all or nothing
    reasons = sorted({(int(r.row), r.reason) for r in result.rejected.itertuples()})
    assert reasons == [
        (2, "unknown_centre"),
        (3, "unknown_grade"),
        (4, "future_date"),
        (5, "bad_date"),
        (6, "duplicate_key"),
        (7, "duplicate_key"),
        (8, "evaluation_exists"),
    ]
    # the one right row is what would be written: its grade in the scale's spelling, its
    # province the centre's
    assert result.accepted["licence_no"].tolist() == ["SYN-00001"]
    assert result.accepted[["grade", "province_code"]].values.tolist() == [["A", "00"]]


def test_a_right_file_is_accepted_whole_with_the_centres_provinces(store):
    _write(store)
    raw = _rows(("SYN-00001", "2026-01-15", "A", "x", "ok"), ("SYN-00011", "1404-10-20", "b", None, None))
    result = check_rows(store, "ngo_evaluations", raw, ratings=SCALE, today=TODAY)
    assert result.ok, result.rejected
    frame = result.frame
    assert frame["province_code"].tolist() == ["00", "01"]
    assert frame["grade"].tolist() == ["A", "B"]
    # a Jalali date is read as one: 1404/10/20 is 10 January 2026
    assert frame["evaluated_on"].dt.date.tolist() == [dt.date(2026, 1, 15), dt.date(2026, 1, 10)]
    assert not frame["synthetic"].any()


def test_an_officer_may_not_import_evaluations_of_another_provinces_centre(store):
    _write(store)
    raw = _rows(("SYN-00001", "2026-01-15", "A", None, None), ("SYN-00010", "2026-01-15", "A", None, None))
    result = check_rows(
        store, "ngo_evaluations", raw, ratings=SCALE, today=TODAY, provinces=frozenset({"00"})
    )
    assert [(int(r.row), r.reason) for r in result.rejected.itertuples()] == [(2, "other_province")]
    # ... however its licence number is spelled (Arabic kaf and yeh for the stored Persian ones)
    layers = small_world.layers()
    ngos = layers["ngos"]
    ngos.loc[ngos["licence_no"] == "SYN-00010", "licence_no"] = "کی-۱۰"
    _write(store, layers)
    raw = _rows(("\u0643\u064a-۱۰", "2026-01-15", "A", None, None))
    result = check_rows(
        store, "ngo_evaluations", raw, ratings=SCALE, today=TODAY, provinces=frozenset({"00"})
    )
    assert [(int(r.row), r.reason) for r in result.rejected.itertuples()] == [(1, "other_province")]


def test_without_a_scale_evaluations_cannot_be_imported(store):
    from geo.errors import InputError

    _write(store)
    with pytest.raises(InputError, match=r"no rating scale \(\[ratings\]\)"):
        check_rows(
            store, "ngo_evaluations", _rows(("SYN-00001", "2026-01-15", "A", None, None)), ratings=None
        )


# ---- over HTTP: import, audit, history, rankings, scoping -------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluations")
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


def test_the_history_of_a_centre_by_hand(world):
    body = world["clients"]["admin"].get("/ngos/SYN-00000/evaluations").json()
    # the small world's registry is read at 2025-03-21: SYN-00000 is B since 2025-01-10
    assert body["as_of"] == "2025-03-21"
    assert [(e["evaluated_on"], e["grade"]) for e in body["evaluations"]] == [
        ("2024-05-01", "A"),
        ("2025-01-10", "B"),
    ]
    assert (body["grade"], body["graded_on"], body["weight"]) == ("B", "2025-01-10", 0.9)
    assert (body["licensed_capacity"], body["effective_capacity"]) == (40, 36)
    assert body["evaluations"][1]["grade_fa"].startswith("خوب")
    assert body["scale"]["synthetic"] is True and [g["grade"] for g in body["scale"]["grades"]] == list(
        "ABCD"
    )
    assert body["notice"] is not None  # synthetic data, said so
    # SYN-00006 was evaluated after the as-of day: listed, not counted
    later = world["clients"]["admin"].get("/ngos/SYN-00006/evaluations").json()
    assert later["grade"] is None and later["evaluations"][0]["counts_on_as_of"] is False
    missing = world["clients"]["admin"].get("/ngos/NO-SUCH/evaluations")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-centre"
    assert "detail_fa" in missing.json()


def test_rankings_by_province_by_hand(world):
    # As of 2025-03-21, active centres. Province 00: 245 places; SYN-00000 B 40 → 36 (−4),
    # SYN-00004 C 20 → 14 (−6), the rest unrated (185): 235 of 245. Province 01: SYN-00010 D
    # 30 → 12 (−18), SYN-00011 B 20 → 18 (−2): 30 of 50.
    body = world["clients"]["admin"].get("/ratings/rankings").json()
    rows = {r["province_code"]: r for r in body["rows"]}
    assert [r["province_code"] for r in body["rows"]] == ["00", "01"]
    assert (rows["00"]["places"], rows["00"]["effective"], rows["00"]["rank"]) == (245, 235, 1)
    assert (rows["01"]["places"], rows["01"]["effective"], rows["01"]["rank"]) == (50, 30, 2)
    assert rows["00"]["mean_weight"] == pytest.approx(235 / 245)
    places = {g["grade"]: g["places"] for g in rows["00"]["grades"]}
    assert places == {"A": 0, "B": 40, "C": 20, "D": 0, "unrated": 185}
    assert sum(places.values()) == rows["00"]["places"]
    words = {w["province_code"]: w["en"] for w in body["split_words"]}
    assert words["01"] == "capacity 30 = 50 licensed − 20 for ratings (B −2, D −18)"
    split = pd.DataFrame(body["split"])
    assert (split["licensed"] - split["deduction"] == split["effective"]).all()
    assert split.groupby("province_code")["effective"].sum().to_dict() == {"00": 235, "01": 30}
    # one service: rehabilitation (SYN-00000 B 40, SYN-00004 C 20, SYN-00006 15 in 00; SYN-00010 D 30 in 01)
    rehab = world["clients"]["admin"].get("/ratings/rankings?service_type=rehabilitation").json()
    assert {r["province_code"]: (r["places"], r["effective"]) for r in rehab["rows"]} == {
        "00": (75, 65),
        "01": (30, 12),
    }
    csv = world["clients"]["admin"].get("/ratings/rankings?f=csv&lang=en")
    assert csv.status_code == 200 and "Places at unrated" in csv.text and "Mean weight" in csv.text
    assert "# scale: norms" in csv.text and "synthetic" in csv.text
    persian = world["clients"]["admin"].get("/ratings/rankings?f=csv").text
    assert "جای رتبهٔ B" in persian and "میانگین وزن" in persian


def test_a_scoped_role_sees_its_provinces_evaluations_only(world):
    for who in ("officer", "director"):
        client = world["clients"][who]
        assert client.get("/ngos/SYN-00000/evaluations").status_code == 200
        other = client.get("/ngos/SYN-00010/evaluations")
        assert other.status_code == 404, who  # as if it did not exist
        assert "SYN-00010" not in other.text  # the answer names no centre of another province
        body = client.get("/ratings/rankings").json()
        assert {r["province_code"] for r in body["rows"]} == {"00"}
        assert {s["province_code"] for s in body["split"]} == {"00"}
    # downloads need the export right, which officers do not hold
    assert world["clients"]["officer"].get("/ratings/rankings?f=csv").status_code == 403
    assert world["clients"]["director"].get("/ratings/rankings?f=csv").status_code == 200
    anonymous = TestClient(world["app"], raise_server_exceptions=False)
    assert anonymous.get("/ratings/rankings").status_code == 401


def test_an_officer_imports_evaluations_of_own_province_audited(world):
    officer, admin = world["clients"]["officer"], world["clients"]["admin"]
    rows = pd.DataFrame(
        {
            "شمارهٔ مجوز": ["SYN-00001", "SYN-00010"],
            "تاریخ ارزیابی": ["1404/10/25", "1404/10/25"],
            "رتبه": ["C", "A"],
            "ارزیاب": ["اداره بهزیستی", "x"],
        }
    )
    job = wait(officer, upload(officer, _xlsx(rows), "evaluations.xlsx", "ngo_evaluations").json()["id"])
    assert [(r["row"], r["reason"]) for r in job["rejected_rows"]] == [(2, "other_province")]
    assert "استان" in job["rejected_rows"][0]["message_fa"]
    assert officer.post(f"/imports/{job['id']}/confirm").status_code == 409  # nothing written
    store = world["app"].state.snapshots.store
    assert len(store.read_layer("ngo_evaluations")) == 6
    good = wait(
        officer, upload(officer, _xlsx(rows.iloc[[0]]), "evaluations.xlsx", "ngo_evaluations").json()["id"]
    )
    assert good["state"] == "ready" and good["counts"]["added"] == 1, good
    record = officer.post(f"/imports/{good['id']}/confirm")
    assert record.status_code == 200, record.text
    stored = store.read_layer("ngo_evaluations")
    assert len(stored) == 7
    new = stored[stored["licence_no"] == "SYN-00001"].iloc[0]
    assert (new["grade"], new["evaluated_on"].date(), new["province_code"]) == (
        "C",
        dt.date(2026, 1, 15),
        "00",
    )
    accounts = Accounts(world["url"])
    try:
        audit = [r for r in accounts.audit_rows() if r["target"] == "layer:ngo_evaluations"]
    finally:
        accounts.close()
    assert any(r["action"] == "import.http" and r["actor"] == "i_officer" for r in audit)
    # the same evaluation again is refused: history is not rewritten
    again = wait(
        officer, upload(officer, _xlsx(rows.iloc[[0]]), "again.xlsx", "ngo_evaluations").json()["id"]
    )
    assert [r["reason"] for r in again["rejected_rows"]] == ["evaluation_exists"]
    # a planner or a director holds no import right; the template lists the grades
    assert upload(world["clients"]["planner"], _xlsx(rows), "e.xlsx", "ngo_evaluations").status_code == 403
    template = admin.get("/import-templates/ngo_evaluations")
    assert template.status_code == 200
    codes = pd.read_excel(io.BytesIO(template.content), sheet_name="codes", dtype=str)
    assert codes["رتبه"].dropna().tolist() == ["A", "B", "C", "D"]


def test_the_monitoring_page_ranks_the_callers_provinces_in_persian(world):
    names = {p: v[0] for p, v in small_world.PROVINCES.items()}
    page = world["clients"]["admin"].get("/maps/monitoring").text
    assert "رتبهٔ مراکز به تفکیک استان" in page
    card = page.split('id="am-rankings"', 1)[1].split("</table>", 1)[0]
    # 00 (235 of 245 places, 0.959) before 01 (30 of 50, 0.600), in Persian digits
    assert card.index(names["00"]) < card.index(names["01"])
    assert "۰٫۹۵۹" in card or "۰.۹۵۹" in card
    assert "۲۴۵" in card and "۲۳۵" in card
    assert "ساختگی" in page.split('id="am-ratings"', 1)[1].split("</section>", 1)[0]  # said synthetic
    # a director of 00 sees 00 only
    scoped = world["clients"]["director"].get("/maps/monitoring").text
    card = scoped.split('id="am-rankings"', 1)[1].split("</table>", 1)[0]
    assert names["00"] in card and names["01"] not in card
    english = world["clients"]["admin"].get("/maps/monitoring?lang=en").text
    assert "Ratings of centres by province" in english and "synthetic, illustrative" in english


def test_an_admin_undoes_an_evaluations_import(world):
    admin = world["clients"]["admin"]
    store = world["app"].state.snapshots.store
    before = len(store.read_layer("ngo_evaluations"))
    rows = pd.DataFrame({"licence_no": ["SYN-00002"], "evaluated_on": ["2026-02-01"], "grade": ["D"]})
    job = wait(admin, upload(admin, _xlsx(rows), "undo.xlsx", "ngo_evaluations").json()["id"])
    assert job["state"] == "ready", job
    record = admin.post(f"/imports/{job['id']}/confirm").json()
    assert len(store.read_layer("ngo_evaluations")) == before + 1
    undone = admin.post(f"/imports/{record['id']}/undo")
    assert undone.status_code == 200, undone.text
    back = store.read_layer("ngo_evaluations")
    assert len(back) == before and "SYN-00002" not in set(back["licence_no"])


def test_the_command_line_imports_evaluations_all_or_nothing(tmp_path, capsys):
    from cli.main import main

    url = str(tmp_path / "cli.gpkg")
    _write(open_store(url))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "licence_no,evaluated_on,grade\nSYN-00001,2026-01-15,A\nSYN-00001,2026-01-20,Z\n", encoding="utf-8"
    )
    code = main(
        [
            "--store",
            url,
            "import",
            "ngo_evaluations",
            str(bad),
            "--append",
            "--rejected",
            str(tmp_path / "r.csv"),
        ]
    )
    assert code == 3
    assert "unknown_grade" in capsys.readouterr().err
    assert len(open_store(url).read_layer("ngo_evaluations")) == 6  # nothing written
    good = tmp_path / "good.csv"
    good.write_text("licence_no,evaluated_on,grade\nSYN-00001,2026-01-15,A\n", encoding="utf-8")
    assert main(["--store", url, "import", "ngo_evaluations", str(good), "--append"]) == 0
    stored = open_store(url).read_layer("ngo_evaluations")
    assert len(stored) == 7
    assert stored.loc[stored["licence_no"] == "SYN-00001", "province_code"].tolist() == ["00"]


@pytest.mark.postgis
def test_on_postgis_the_service_role_imports_evaluations_into_a_store_made_before_them(
    postgis_store, postgis_url, tmp_path
):
    from tests.conftest import SERVICE_ROLE, service_role_url

    # a deployment made before evaluations existed: no ngo_evaluations table
    layers = {k: v for k, v in small_world.layers().items() if k != "ngo_evaluations"}
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
            rows = pd.DataFrame({"licence_no": ["SYN-00001"], "evaluated_on": ["2026-01-15"], "grade": ["B"]})
            job = wait(officer, upload(officer, _xlsx(rows), "e.xlsx", "ngo_evaluations").json()["id"])
            assert job["state"] == "ready", job
            confirmed = officer.post(f"/imports/{job['id']}/confirm")
            assert confirmed.status_code == 200, confirmed.text
            assert officer.get("/ngos/SYN-00001/evaluations").json()["evaluations"][0]["grade"] == "B"
            stored = store.read_layer_in_provinces("ngo_evaluations", ["00"])
            assert stored[["licence_no", "grade", "province_code"]].values.tolist() == [
                ["SYN-00001", "B", "00"]
            ]
    finally:
        app.state.imports.close()
        store.close()
