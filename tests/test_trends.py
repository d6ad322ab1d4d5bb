"""Trends by Jalali period (``geo.trends``, ``services.trends``, ``GET /trends``).

The figures are recomputed here without the code under test: a plain loop over hand-written
registry and register rows, whose dates sit on the quarters' boundaries (issued on a quarter's
first day, expired on its last day, decided exactly at the deadline and one second after, received
one second either side of Tehran's midnight). The quarter boundaries are written out by hand
(``tests/test_periods.py`` derives them from the calendar's rule).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import shutil
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo import applications as A
from geo.periods import parse_periods
from geo.trends import DATE_MEASURES, trends
from tests.conftest import TEST_PASSWORD, bearer, make_users
from tests.small_world import OTHER_PROVINCE, PROVINCE

D = dt.date
TEHRAN = ZoneInfo("Asia/Tehran")
#: 1403's quarters (and 1402's last): first and last day, by hand
QUARTERS = {
    "1402Q4": (D(2023, 12, 22), D(2024, 3, 19)),
    "1403Q1": (D(2024, 3, 20), D(2024, 6, 20)),
    "1403Q2": (D(2024, 6, 21), D(2024, 9, 21)),
    "1403Q3": (D(2024, 9, 22), D(2024, 12, 20)),
    "1403Q4": (D(2024, 12, 21), D(2025, 3, 20)),
}
AS_OF = D(2025, 6, 1)
DEADLINE = 30


def _ngo(no, province, county, status, issued, expires, capacity, synthetic=False, service="rehabilitation"):
    return {
        "licence_no": no,
        "status": status,
        "issued_on": pd.Timestamp(issued) if issued else pd.NaT,
        "expires_on": pd.Timestamp(expires) if expires else pd.NaT,
        "capacity": capacity,
        "service_type": service,
        "province_code": province,
        "county_code": county,
        "synthetic": synthetic,
    }


REGISTRY = pd.DataFrame(
    [
        _ngo("A", "11", "1101", "active", "2024-06-21", "2029-06-21", 10),  # issued on Q2's first day
        _ngo("B", "11", "1101", "expired", "2019-09-22", "2024-09-21", 20),  # expires on Q2's last day
        _ngo("C", "11", "1102", "active", "2024-06-20", "2029-06-20", 30),  # issued on Q1's last day
        _ngo("D", "12", "1201", "suspended", "2020-01-01", "2030-01-01", 40),  # never active
        _ngo("E", "12", "1201", "active", None, None, 5, synthetic=True),  # no dates: as recorded
        _ngo("F", "11", "1102", "active", "2024-09-22", "2025-03-20", 7, service="kindergarten"),
        _ngo("G", "11", "1101", "active", "2025-03-21", "2030-03-21", 9),  # 1404's first day
    ]
)


def _app(i, province, county, received, decided, synthetic=False):
    return {f: None for f in A.FIELDS} | {
        "application_id": f"T-{i}",
        "service_type": "rehabilitation",
        "capacity": 10,
        "province_code": province,
        "county_code": county,
        "received_at": received,
        "decided_at": decided,
        "status": "approved" if decided else "received",
        "synthetic": synthetic,
        "version": 1,
    }


REGISTER = pd.DataFrame(
    [
        # 00:00 of Q2's first day in Tehran; decided exactly at the deadline
        _app(1, "11", "1101", "2024-06-20T20:30:00Z", "2024-07-20T20:30:00Z"),
        # one second earlier: 23:59:59 of Q1's last day; decided one second after the deadline
        _app(2, "11", "1101", "2024-06-20T20:29:59Z", "2024-07-20T20:30:00Z"),
        _app(3, "12", None, "2024-08-01T08:00:00Z", None),  # open; no county
        # decided at 23:59:59 of Q2's last day in Tehran, in time
        _app(4, "12", "1201", "2024-09-01T10:00:00Z", "2024-09-21T20:29:59Z", synthetic=True),
        # decided one second later: Q3, in time
        _app(5, "12", "1201", "2024-09-01T10:00:00Z", "2024-09-21T20:30:00Z"),
        # received on Q4's last day in Tehran, decided in 1404
        _app(6, "11", "1102", "2025-03-20T12:00:00Z", "2025-04-10T09:00:00Z"),
    ]
)


# ---- the plain second way ------------------------------------------------------------------------


def tehran(moment: str | None) -> dt.date | None:
    if moment is None or pd.isna(moment):
        return None
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(TEHRAN).date()


def active_on(row, day: dt.date) -> bool:
    """The status rule in words: without dates, as recorded; issued after the day, not yet; expired
    on or before it, no; otherwise active unless suspended or pending."""
    if pd.isna(row["issued_on"]) or pd.isna(row["expires_on"]):
        return row["status"] == "active"
    if row["issued_on"].date() > day or row["expires_on"].date() <= day:
        return False
    return row["status"] not in ("suspended", "pending")


def unit(row, level):
    if level == "country":
        return "IR"
    if level == "province":
        return row["province_code"]
    return row["county_code"]


def by_loop(level: str, period: str) -> dict[str, dict[str, int]]:
    """Every measure of ``period`` per unit, one row at a time."""
    start, end = QUARTERS[period]
    day = min(end, AS_OF)
    out: dict[str, dict[str, int]] = {}

    def add(u, m, n=1):
        if u is None or pd.isna(u):  # an application without a county counts in no county
            return
        out.setdefault(u, dict.fromkeys(DATE_MEASURES, 0))[m] += n

    for _, r in REGISTRY.iterrows():
        u = unit(r, level)
        out.setdefault(u, dict.fromkeys(DATE_MEASURES, 0))
        if active_on(r, day):
            add(u, "active_centres")
            add(u, "active_capacity", r["capacity"])
        if pd.notna(r["issued_on"]) and start <= r["issued_on"].date() <= end:
            add(u, "issued")
        if pd.notna(r["expires_on"]) and start <= r["expires_on"].date() <= day:
            add(u, "expired")
    for _, r in REGISTER.iterrows():
        u = unit(r, level)
        received = tehran(r["received_at"])
        if start <= received <= end:
            add(u, "received")
        decided = tehran(r["decided_at"])
        if decided is not None and start <= decided <= end:
            add(u, "decided")
            at = dt.datetime.fromisoformat(r["decided_at"].replace("Z", "+00:00"))
            since = dt.datetime.fromisoformat(r["received_at"].replace("Z", "+00:00"))
            add(u, "decided_in_time" if at - since <= dt.timedelta(days=DEADLINE) else "decided_late")
    return out


def computed(level: str, periods="1402Q4..1403Q4", **kw) -> pd.DataFrame:
    return trends(
        REGISTRY, REGISTER, parse_periods(periods), as_of=AS_OF, level=level, deadline_days=DEADLINE, **kw
    )


# ---- geo.trends ----------------------------------------------------------------------------------


def test_the_boundaries_by_hand():
    t = computed("province").set_index(["period", "unit_code"])
    q2 = t.loc[("1403Q2", "11")]
    # A issued on Q2's first day; B expired on its last; at its end A and C are active (F not yet)
    assert (q2["issued"], q2["expired"], q2["active_centres"], q2["active_capacity"]) == (1, 1, 2, 40)
    # application 1 received at Tehran's midnight opening Q2, application 2 a second before (Q1);
    # both decided in Q2: 1 exactly at its deadline (in time), 2 a second after it (late)
    assert (q2["received"], q2["decided"], q2["decided_in_time"], q2["decided_late"]) == (1, 2, 1, 1)
    assert q2["share_in_time"] == 0.5
    assert t.loc[("1403Q1", "11"), "received"] == 1 and t.loc[("1403Q1", "11"), "issued"] == 1  # C
    q2_12 = t.loc[("1403Q2", "12")]
    # D suspended, E without dates (as recorded): one active centre of 5 persons, synthetic
    assert (q2_12["active_centres"], q2_12["active_capacity"]) == (1, 5) and q2_12["synthetic"]
    # 3, 4 and 5 received in Q2; 4 decided at 23:59:59 of Q2's last day, 5 a second later in Q3
    assert (q2_12["received"], q2_12["decided"], q2_12["decided_in_time"]) == (3, 1, 1)
    assert t.loc[("1403Q3", "12"), "decided_in_time"] == 1
    q4 = t.loc[("1403Q4", "11")]
    # F expires on 1403's last day (1403-12-30 = 2025-03-20, a leap Esfand); G is issued a day later
    assert (q4["expired"], q4["issued"], q4["active_centres"]) == (1, 0, 2)
    assert not t.loc[("1403Q1", "11"), "synthetic"]  # no synthetic row contributed


@pytest.mark.parametrize("level", ["country", "province", "county"])
def test_every_figure_matches_a_plain_loop(level):
    t = computed(level)
    assert list(t["period"].unique()) == list(QUARTERS)
    for period in QUARTERS:
        expected = by_loop(level, period)
        got = t[t["period"] == period].set_index("unit_code")
        assert set(got.index) == set(expected), (period, level)
        for u, figures in expected.items():
            for m, n in figures.items():
                assert got.loc[u, m] == n, (period, level, u, m)


def test_changes_against_the_previous_quarter_and_a_year_earlier():
    t = computed("province", periods="1403Q2..1403Q4", compare=("previous", "year_before"))
    for _, row in t.iterrows():
        before = QUARTERS_BEFORE[row["period"]]
        prev = by_loop("province", before).get(row["unit_code"], dict.fromkeys(DATE_MEASURES, 0))
        for m in DATE_MEASURES:
            assert row[f"{m}_vs_previous"] == row[m] - prev[m], (row["period"], m)
    # a year before 1403Q2 (1402Q2) nothing was issued or received; A, B and D/E stood
    q2 = t.set_index(["period", "unit_code"]).loc[("1403Q2", "11")]
    assert q2["issued_vs_year_before"] == 1 and q2["received_vs_year_before"] == 1
    assert q2["active_centres_vs_year_before"] == 2 - 1  # B alone was active at the end of 1402Q2


QUARTERS_BEFORE = {"1403Q2": "1403Q1", "1403Q3": "1403Q2", "1403Q4": "1403Q3"}


def test_units_without_rows_show_zeros_and_service_types_split():
    t = computed("province", periods="1403Q2", units=["11", "12", "13"])
    assert t.set_index("unit_code").loc["13", list(DATE_MEASURES)].sum() == 0
    s = computed("province", periods="1403Q3", by_service=True).set_index(["unit_code", "service_type"])
    assert s.loc[("11", "kindergarten"), "issued"] == 1  # F
    assert s.loc[("11", "rehabilitation"), "issued"] == 0
    assert s.loc[("11", "kindergarten"), "active_capacity"] == 7


def test_a_period_not_over_reads_its_stock_at_the_as_of_day():
    t = trends(
        REGISTRY, REGISTER, parse_periods("1403Q2,1403Q3"), as_of=D(2024, 8, 1), level="country"
    ).set_index("period")
    assert t.loc["1403Q2", "partial"] and t.loc["1403Q3", "partial"]
    # on 2024-08-01: A, B and C active (B's expiry of 2024-09-21 has not happened yet)
    assert t.loc["1403Q2", "active_centres"] == 4 and t.loc["1403Q2", "expired"] == 0  # + E


def test_monitoring_still_judges_the_deadline_the_same_way():
    # decision_clock is shared: exactly at the deadline is in time, a second after is late
    table = A.timeliness(REGISTER.iloc[:2], AS_OF, deadline_days=DEADLINE)
    assert table["decided_in_time"].sum() == 1 and table["decided"].sum() == 2


# ---- services.trends on both stores --------------------------------------------------------------


def _apps_in_small_world():
    rows = []
    for i, (province, county, received, decided) in enumerate(
        [
            (PROVINCE, "0001", "2024-06-20T20:30:00Z", "2024-07-20T20:30:00Z"),
            (PROVINCE, "0002", "2024-06-20T20:29:59Z", "2024-07-20T20:30:01Z"),
            (OTHER_PROVINCE, "0101", "2024-07-01T08:00:00Z", "2024-07-10T08:00:00Z"),
            (OTHER_PROVINCE, "0101", "2024-07-02T08:00:00Z", None),
        ]
    ):
        rows.append(
            {f: None for f in A.FIELDS}
            | {
                "application_id": f"P-{i}",
                "applicant": "t",
                "service_type": "rehabilitation",
                "capacity": 10,
                "lon": 49.7,
                "lat": 34.3,
                "county_code": county,
                "province_code": province,
                "received_at": received,
                "decided_at": decided,
                "status": "approved" if decided else "received",
                "created_by": "t",
                "synthetic": True,
                "version": 1,
            }
        )
    return rows


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def world_store(request, tmp_path, small_layers):
    if request.param == "gpkg":
        from store import open_store

        store = open_store(str(tmp_path / "t.gpkg"))
    else:
        store = request.getfixturevalue("postgis_store")
    with store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    store.add_applications(_apps_in_small_world())
    return store


def test_the_service_counts_the_store_as_the_loop_does(world_store):
    from services.loading import load_norms
    from services.scope import Scope
    from services.settings import Settings
    from services.snapshot import Snapshots
    from services.trends import trend_answer

    norms = dataclasses.replace(load_norms(Settings().norms), travel="straight")
    snap = Snapshots(world_store, norms).current()
    national = trend_answer(snap, Scope(None, True), parse_periods("1403Q1..1403Q2"), level="county")
    t = national.table.set_index(["period", "unit_code"])
    # received: 1 in Q2 (0001, midnight), 1 in Q1 (0002, a second before); 0101 two in Q2
    assert t.loc[("1403Q2", "0001"), "received"] == 1 and t.loc[("1403Q1", "0002"), "received"] == 1
    assert t.loc[("1403Q2", "0001"), "decided_in_time"] == 1  # exactly at the deadline
    assert t.loc[("1403Q2", "0002"), "decided_late"] == 1  # a second after it
    assert t.loc[("1403Q2", "0101"), ["received", "decided"]].tolist() == [2, 1]
    # the registry: every licence of the small world but two was issued on 2021-03-21 for 5 years
    ngos = world_store.read_layer("ngos")
    stock = ngos[(ngos["issued_on"] <= "2024-09-21") & (ngos["expires_on"] > "2024-09-21")]
    stock = stock[~stock["status"].isin(["suspended", "pending"])]
    assert t.xs("1403Q2")["active_centres"].sum() == len(stock)
    assert national.synthetic and national.country_en == "Iran"
    # a caller of province 00: only its counties, and its country is the sum of its own
    mine = trend_answer(snap, Scope(frozenset({PROVINCE}), True), parse_periods("1403Q2"), level="country")
    row = mine.table.iloc[0]
    assert len(mine.table) == 1 and row["received"] == 1 and row["decided"] == 2
    assert mine.country_en == "Sum of the provinces 00"
    counties = trend_answer(snap, Scope(frozenset({PROVINCE}), True), parse_periods("1403Q2"), level="county")
    assert set(counties.table["unit_code"]) == {"0001", "0002"}


# ---- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trends_client(small_store, tmp_path_factory):
    """The service on a copy of the small store with four applications in its register."""
    from api.app import create_app
    from services.settings import Settings
    from store import open_store
    from store.accounts import Accounts

    path = tmp_path_factory.mktemp("trends") / "small.gpkg"
    shutil.copyfile(small_store.path, path)
    open_store(str(path)).add_applications(_apps_in_small_world())
    tokens = make_users(str(path))
    accounts = Accounts(str(path))
    try:
        for name, role in (("tr_officer_00", "licensing_officer"), ("tr_director_00", "provincial_director")):
            if accounts.get(name) is None:
                accounts.add(name, TEST_PASSWORD, role, (PROVINCE,), actor="tests")
            tokens[f"{role}_00"] = accounts.issue_token(name, days=1, actor="tests")[1]
    finally:
        accounts.close()
    app = create_app(Settings(store=str(path), prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(tokens["admin"])) as client:
        client.tokens = tokens  # type: ignore[attr-defined]
        yield client


def test_trends_answer_json(trends_client):
    r = trends_client.get("/trends?periods=1403Q1..1403Q2&level=province")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["id"] for p in body["periods"]] == ["1403Q1", "1403Q2"]
    assert body["periods"][1]["label_fa"] == "فصل ۲ ۱۴۰۳" and body["periods"][1]["start"] == "2024-06-21"
    rows = {(r["period"], r["unit_code"]): r for r in body["rows"]}
    assert set(rows) == {(p, u) for p in ("1403Q1", "1403Q2") for u in (PROVINCE, OTHER_PROVINCE)}
    q2 = rows[("1403Q2", PROVINCE)]
    assert (q2["received"], q2["decided"], q2["decided_in_time"], q2["decided_late"]) == (1, 2, 1, 1)
    assert q2["name_en"] == "Test province" and q2["synthetic"] is True
    assert body["synthetic"] is True and body["notice"]["fa"]
    assert body["numberReturned"] == 4
    assert trends_client.get("/trends?period=1403Q2").json()["numberReturned"] == 2
    ranged = trends_client.get("/trends?from=1403Q1&to=1403Q2").json()
    assert [p["id"] for p in ranged["periods"]] == ["1403Q1", "1403Q2"]


def test_trends_downloads_are_readable(trends_client):
    csv = trends_client.get("/trends?periods=1402..1403&level=county&f=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.content.decode("utf-8-sig")), comment="#", dtype={"unit_code": str})
    assert sorted(table["unit_code"].unique()) == ["0001", "0002", "0101"]
    assert len(table) == 2 * 3 and table.loc[table["period"] == 1403, "received"].sum() == 4
    xlsx = trends_client.get("/trends?periods=1402..1403&f=xlsx")
    assert xlsx.status_code == 200
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    data = next(frame for name, frame in sheets.items() if name != "about")
    assert len(data) == 2 * 2 and data["decided"].sum() == 3


def test_a_scoped_caller_sees_their_province_only(trends_client):
    for role in ("licensing_officer_00", "provincial_director_00"):
        headers = bearer(trends_client.tokens[role])
        for level in ("province", "county", "country"):
            r = trends_client.get(f"/trends?periods=1402..1403&level={level}", headers=headers)
            assert r.status_code == 200, r.text
            codes = {row["unit_code"] for row in r.json()["rows"]}
            assert codes == {"province": {PROVINCE}, "county": {"0001", "0002"}, "country": {"IR"}}[level]
            # nothing of province 01 by name either (its county is Hamsayeh, همسایه)
            assert "Neighbour" not in r.text and "Hamsayeh" not in r.text and "همسایه" not in r.text
        country = trends_client.get("/trends?period=1403&level=country", headers=headers).json()
        assert country["country"]["en"] == "Sum of the provinces 00"
        assert country["rows"][0]["received"] == 2  # province 01's two are not in it
        refused = trends_client.get(f"/trends?period=1403&province={OTHER_PROVINCE}", headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "outside-provinces"
    # an officer has no export right; a director has
    officer = bearer(trends_client.tokens["licensing_officer_00"])
    assert trends_client.get("/trends?period=1403&f=csv", headers=officer).status_code == 403


def test_bad_periods_are_400_problems_in_both_languages(trends_client):
    for query in ("period=1403Q5", "periods=1403..1402", "periods=1390..1440", "period=1403&from=1402"):
        r = trends_client.get(f"/trends?{query}")
        assert r.status_code == 400, query
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["code"] == "bad-period" and body["detail"] and body["detail_fa"], query
    r = trends_client.get("/trends?periods=1400Q1..1403Q4&measures=flagged_places")
    assert r.status_code == 400 and r.json()["code"] == "too-many-periods"
    assert "at most 8 periods" in r.json()["detail"]
    assert trends_client.get("/trends?period=1403&measures=nonsense").status_code == 400
    assert trends_client.get("/trends?period=1403&compare=sideways").status_code == 400
    # the first period there is, compared with the one before it: an answer of zeros, not a fault
    first = trends_client.get("/trends?period=1301-01&compare=previous,year_before&level=country")
    assert first.status_code == 200 and first.json()["rows"][0]["active_centres_vs_year_before"] == 0


def test_the_analysis_at_the_as_of_day_is_the_services_own(trends_client):
    """The period holding the as-of day (2025-03-21: 1404) gives /saturation's classes."""
    sat = trends_client.get("/saturation?service_type=rehabilitation").json()["rows"]
    r = trends_client.get("/trends?period=1404&level=county&service_type=rehabilitation&measures=all")
    assert r.status_code == 200, r.text
    rows = {row["unit_code"]: row for row in r.json()["rows"]}
    for s in sat:
        assert rows[s["county_code"]]["class"] == s["class"]
        assert rows[s["county_code"]]["target_population"] == s["target_population"]
        share = 1 - s["target_out_of_reach"] / s["target_population"]
        assert rows[s["county_code"]]["access_share"] == pytest.approx(share, abs=1e-4)


def test_the_analysis_at_an_earlier_period_end_reads_the_statuses_of_that_day(trends_client):
    """At the end of 1399 only the licence issued in 2017 was active: the analysis of a registry
    with that status set by hand gives the same classes and flags."""
    from services.loading import analysis_from_layers
    from services.scope import Scope
    from services.trends import trend_answer

    snap = trends_client.app.state.snapshots.current()
    answer = trend_answer(
        snap,
        Scope(None, True),
        parse_periods("1399"),
        level="county",
        measures=["flagged_places"],
        by_service=True,
    )
    ngos = snap._store.read_layer("ngos")
    issued = pd.to_datetime(ngos["issued_on"])
    by_hand = ngos.assign(
        status=["active" if d.year == 2017 else "pending" for d in issued.fillna(pd.Timestamp(2030, 1, 1))]
    )
    assert (by_hand["status"] == "active").sum() == 1
    a = analysis_from_layers(
        {**snap.layers, "ngos": by_hand}, snap.norms, snap.analysis().travel, D(2021, 3, 20)
    )
    county_of = a.settlements.set_index("settlement_code")["county_code"]
    expected = (
        a.flags.assign(county=a.flags["settlement_code"].map(county_of))
        .groupby(["county", "service_type"])
        .size()
    )
    got = answer.table.set_index(["unit_code", "service_type"])["flagged_places"]
    for (county, service), n in got.items():
        assert n == expected.get((county, service), 0), (county, service)
    # with a single centre, more places are flagged than at the as-of day
    now = trend_answer(
        snap, Scope(None, True), parse_periods("1404"), level="country", measures=["flagged_places"]
    )
    assert got.sum() > now.table["flagged_places"].sum()


def test_a_director_gets_the_analysis_of_their_province_from_generalised_positions(trends_client):
    """A director (no exact-location right) is answered from generalised positions: the same
    figures as the generalised analysis of ``services.scope`` gives, access in 0.05 steps."""
    from services.scope import generalised_analysis

    headers = bearer(trends_client.tokens["provincial_director_00"])
    r = trends_client.get(
        "/trends?period=1404&level=county&measures=flagged_places,access_share", headers=headers
    )
    assert r.status_code == 200, r.text
    rows = {row["unit_code"]: row for row in r.json()["rows"]}
    assert set(rows) == {"0001", "0002"}
    a = generalised_analysis(trends_client.app.state.snapshots.current())
    county_of = a.settlements.set_index("settlement_code")["county_code"]
    flagged = a.flags["settlement_code"].map(county_of).value_counts()
    sat = (
        a.saturation.reset_index().groupby("county_code")[["target_population", "target_out_of_reach"]].sum()
    )
    for county, row in rows.items():
        assert row["flagged_places"] == flagged.get(county, 0)
        share = 1 - sat.loc[county, "target_out_of_reach"] / sat.loc[county, "target_population"]
        assert row["access_share"] == pytest.approx(round(share / 0.05) * 0.05, abs=1e-9)


def test_the_command_line_writes_the_table(small_store, tmp_path, capsys):
    from cli.main import main

    path = tmp_path / "small.gpkg"
    shutil.copyfile(small_store.path, path)
    out = tmp_path / "trends.csv"
    assert (
        main(
            [
                "--store",
                str(path),
                "trends",
                "--periods",
                "1399..1401",
                "--level",
                "province",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out, dtype={"unit_code": str})
    assert list(table["period"]) == [1399, 1399, 1400, 1400, 1401, 1401]
    # 1400: the eight licences of province 00 issued on 2021-03-21 (1400-01-01), two of 01
    issued = table[table["period"] == 1400].set_index("unit_code")["issued"]
    assert issued.to_dict() == {PROVINCE: 8, OTHER_PROVINCE: 2}
    assert main(["--store", str(path), "trends", "--periods", "1403Q5"]) == 2
    assert "1403Q2" in capsys.readouterr().err


# ---- the analysis routes at a period's end (``period``) ------------------------------------------


def test_saturation_priorities_and_ogc_answer_at_a_periods_end(trends_client):
    """``/saturation?period=1399`` is the analysis with 1399's statuses (set by hand here: only the
    licence issued in 2017 was active), and the OGC collection and ``/priorities`` follow it."""
    from geo.recompute import analyse

    snap = trends_client.app.state.snapshots.current()
    ngos = snap._store.read_layer("ngos")
    issued = pd.to_datetime(ngos["issued_on"]).fillna(pd.Timestamp(2030, 1, 1))
    by_hand = ngos.assign(status=["active" if d.year == 2017 else "pending" for d in issued])
    L = snap.layers
    a = analyse(
        L["settlements"],
        by_hand,
        L["county_needs"],
        L["counties"],
        L["target_areas"],
        snap.norms,
        snap.analysis().travel,
    )
    expected = a.saturation.reset_index().set_index(["county_code", "service_type"])

    then = trends_client.get("/saturation?period=1399")
    now = trends_client.get("/saturation")
    assert then.status_code == 200 and now.status_code == 200, then.text
    assert then.json()["as_of"] == "2021-03-20"  # 1399's last day
    rows = {(r["county_code"], r["service_type"]): r for r in then.json()["rows"]}
    assert rows.keys() == set(expected.index)
    for key, row in rows.items():
        assert row["class"] == expected.loc[key, "class"], key
        assert row["capacity"] == expected.loc[key, "capacity"], key
    assert [r["class"] for r in then.json()["rows"]] != [r["class"] for r in now.json()["rows"]]

    ogc = trends_client.get("/collections/saturation/items?period=1399&limit=1000").json()
    assert {
        (f["properties"]["county_code"], f["properties"]["service_type"]): f["properties"]["class"]
        for f in ogc["features"]
    } == {k: r["class"] for k, r in rows.items()}
    flagged = trends_client.get("/collections/flags/items?period=1399&limit=1").json()["numberMatched"]
    assert (
        flagged
        == len(a.flags)
        > trends_client.get("/collections/flags/items?limit=1").json()["numberMatched"]
    )
    top = trends_client.get("/priorities?period=1399&service_type=rehabilitation").json()
    assert top["as_of"] == "2021-03-20"


def test_the_trends_and_a_periods_routes_share_the_analysis_of_that_day(trends_client):
    """The analysis at 1399's end is made once: the trends' table, ``/saturation?period=1399`` and
    the period's flags are answered from the same snapshot of that day and its one analysis; a
    director's trends at that day are the generalised analysis of that snapshot (centres and
    volunteer groups at their generalised positions), as the current period's are."""
    from services.scope import generalised_analysis

    snaps = trends_client.app.state.snapshots
    current = snaps.current()
    snaps._days.clear()
    trends_client.app.state.caches.trends.clear()
    r = trends_client.get("/trends?period=1399&level=county&measures=flagged_places")
    assert r.status_code == 200, r.text
    day = D(2021, 3, 20)
    kept = snaps._days[(current.version, day)]
    made = kept._analysis
    assert made is not None  # the trends asked the kept snapshot of the day for its analysis
    assert trends_client.get("/saturation?period=1399").status_code == 200
    assert trends_client.get("/collections/flags/items?period=1399&limit=1").status_code == 200
    assert snaps._days[(current.version, day)] is kept and kept._analysis is made
    county_of = made.settlements.set_index("settlement_code")["county_code"]
    flagged = made.flags["settlement_code"].map(county_of).value_counts()
    rows = {row["unit_code"]: row for row in r.json()["rows"]}
    assert {c: row["flagged_places"] for c, row in rows.items()} == {c: flagged.get(c, 0) for c in rows}

    headers = bearer(trends_client.tokens["provincial_director_00"])
    r = trends_client.get("/trends?period=1399&level=county&measures=flagged_places", headers=headers)
    assert r.status_code == 200, r.text
    g = generalised_analysis(kept)
    assert "volunteer_groups" in kept.layers and g is kept._cache["analysis:generalised"]
    flagged = g.flags["settlement_code"].map(g.settlements.set_index("settlement_code")["county_code"])
    counts = flagged.value_counts()
    assert {row["unit_code"]: row["flagged_places"] for row in r.json()["rows"]} == {
        c: counts.get(c, 0) for c in ("0001", "0002")
    }


def test_every_snapshot_and_day_analyses_on_one_travel_cost_made_once(small_store):
    """The service's travel cost (on roads, the road network with its places' attachment) is
    made once and shared by the current analysis, an earlier day's and the generalised ones."""
    from geo.distance import StraightLine
    from services.scope import generalised_analysis
    from services.snapshot import Snapshots
    from tests import analysis_world as world

    made = []

    def travel():
        made.append(StraightLine(1.2))
        return made[-1]

    snaps = Snapshots(small_store, world.demo_norms(), travel=travel)
    current = snaps.current()
    earlier = snaps.at(current, D(2021, 3, 20))
    analyses = [
        generalised_analysis(earlier),
        current.analysis(),
        generalised_analysis(current),
        earlier.analysis(),
    ]
    assert len(made) == 1
    assert all(a.travel is made[0] for a in analyses)


def test_a_period_is_read_within_the_callers_provinces_and_refused_after_the_as_of_day(trends_client):
    officer = bearer(trends_client.tokens[f"licensing_officer_{PROVINCE}"])
    rows = trends_client.get("/saturation?period=1399", headers=officer).json()["rows"]
    assert rows and {r["county_code"][:2] for r in rows} == {PROVINCE}
    other = trends_client.get(f"/saturation?period=1399&province={OTHER_PROVINCE}", headers=officer)
    assert other.status_code == 403
    for period, words in (("1410", "starts after"), ("1399Q9", "")):
        r = trends_client.get(f"/saturation?period={period}")
        assert r.status_code == 400 and r.json()["code"] == "bad-period", r.text
        assert words in r.json()["detail"] and r.json()["detail_fa"]
    # The period at the as-of day is the service's own snapshot: no recompute.
    snaps = trends_client.app.state.snapshots
    current = snaps.current()
    assert snaps.at(current, current.as_of) is current


def test_only_the_last_two_days_are_kept(trends_client):
    from services.snapshot import DAY_SNAPSHOTS

    snaps = trends_client.app.state.snapshots
    current = snaps.current()
    days = [D(2020, 3, 19), D(2021, 3, 20), D(2022, 3, 20)]
    made = [snaps.at(current, d) for d in days]
    assert snaps.at(current, days[-1]) is made[-1]  # kept
    assert len(snaps._days) == DAY_SNAPSHOTS == 2
    assert snaps.at(current, days[0]) is not made[0]  # dropped, made again
    assert made[0].as_of == days[0] and made[0].as_of_source == "period" and not made[0].fixed_day
