"""Versions of the county divisions: figures carried through splits and merges with their sums,
a village's history, the checks of a version, the import of a file (all or nothing), the routes.

The expected figures are worked out by hand in the comments, or by a second, simpler way
(splitting each county on its own), never read off the code's answers.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geo.errors import InputError, NotFoundError
from geo.hierarchy import (
    Hierarchy,
    county_of,
    reaggregate,
    settlement_history,
    validate_version,
    validate_versions,
    version_from_rows,
)
from tests.conftest import bearer, examples, make_users

# ---- a hand-built tree of versions ------------------------------------------------------------
#
# v1: 0101 (A), 0102 (C), 0103 (D), 0104 (X)
# v2 from v1: A split into A (0.6) and B = 0105 (0.4); C + D merged into C; X unchanged
# v3 from v2: B merged back into A (a chain)
# w2 from v1: X split into X (0.5) and Y = 0106 (0.5) (a sibling of v2)

A, C, D, X, B, Y = "0101", "0102", "0103", "0104", "0105", "0106"


def _versions(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["version_id", "name_fa", "name_en", "valid_from", "valid_to", "base_version_id", "source"],
    ).assign(
        valid_from=lambda f: pd.to_datetime(f["valid_from"]), valid_to=lambda f: pd.to_datetime(f["valid_to"])
    )


def _units(version_id: str, codes: list[str], parents: dict[str, str] | None = None) -> pd.DataFrame:
    parents = parents or {}
    return pd.DataFrame(
        {
            "version_id": version_id,
            "county_code": codes,
            "province_code": [c[:2] for c in codes],
            "name_fa": [f"شهرستان {c}" for c in codes],
            "name_en": None,
            "parent_county_code": [parents.get(c) for c in codes],
        }
    )


def _changes(version_id: str, rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(version_id, new, old, share, "given", None) for new, old, share in rows],
        columns=["version_id", "county_code", "from_county_code", "share", "share_basis", "source"],
    )


def tree(split: float = 0.6) -> Hierarchy:
    versions = _versions(
        ("v1", "یک", "one", "2016-09-22", "2020-03-19", None, "hand"),
        ("v2", "دو", "two", "2020-03-20", "2023-03-20", "v1", "hand"),
        ("v3", "سه", "three", "2023-03-21", None, "v2", "hand"),
        ("w2", "دو دیگر", "two other", "2021-03-21", None, "v1", "hand"),
    )
    units = pd.concat(
        [
            _units("v1", [A, C, D, X]),
            _units("v2", [A, C, X, B], {B: A, C: f"{C}+{D}"}),
            _units("v3", [A, C, X], {A: f"{A}+{B}"}),
            _units("w2", [A, C, D, X, Y], {Y: X}),
        ],
        ignore_index=True,
    )
    changes = pd.concat(
        [
            _changes("v2", [(A, A, split), (B, A, 1 - split), (C, C, 1.0), (C, D, 1.0)]),
            _changes("v3", [(A, A, 1.0), (A, B, 1.0)]),
            _changes("w2", [(X, X, 0.5), (Y, X, 0.5)]),
        ],
        ignore_index=True,
    )
    return Hierarchy(versions, units, changes)


def test_a_split_and_a_merge_by_hand():
    h = tree()
    figures = pd.DataFrame({"people": [10, 3, 5, 7], "rate": [1.5, 2.0, 4.0, 0.25]}, index=[A, C, D, X])
    out = reaggregate(figures, "v1", "v2", h)
    # A's 10 people: 6 stay (0.6), 4 go to B; C gets its 3 and D's 5; X keeps its 7.
    assert out["people"].to_dict() == {A: 6, C: 8, X: 7, B: 4}
    assert out["people"].dtype == np.int64
    # A's 1.5 → 0.9 and 0.6; C: 2.0 + 4.0.
    assert out["rate"].to_dict() == pytest.approx({A: 0.9, C: 6.0, X: 0.25, B: 0.6})
    assert out["people"].sum() == 25 and out["rate"].sum() == pytest.approx(7.75)
    # Back to v1: B goes back whole into A (10 again); the merged C (8) is shared between C and D
    # by the weights given (their v1 people, 3 and 5): 3 and 5.
    back = reaggregate(out, "v2", "v1", h, weights=figures["people"])
    assert back["people"].to_dict() == {A: 10, C: 3, D: 5, X: 7}
    # Without weights, by the shares (1 and 1): halves, 4 and 4.
    assert reaggregate(out, "v2", "v1", h)["people"].to_dict() == {A: 10, C: 4, D: 4, X: 7}


def test_rounding_keeps_whole_numbers_and_their_sum():
    # A's 7 people split 0.6/0.4: quotas 4.2 and 2.8 → 4 and 3 (the larger remainder gets the unit).
    out = reaggregate(pd.DataFrame({"people": [7, 0, 0, 0]}, index=[A, C, D, X]), "v1", "v2", tree())
    assert (out.loc[A, "people"], out.loc[B, "people"]) == (4, 3)


def test_shares_within_the_tolerance_still_keep_float_totals():
    # 0.6 + 0.3999995 is within 10⁻⁶ of 1: accepted, and 1,000,000.0 still sums to 1,000,000.0
    # (not 999,999.5): each part is its share of the shares' sum.
    h = tree(0.6)
    h.changes.loc[(h.changes["version_id"] == "v2") & (h.changes["county_code"] == B), "share"] = 0.3999995
    assert validate_version(h.units_of("v2"), h.changes_of("v2"), h.units_of("v1"), {"01"}).empty
    out = reaggregate(pd.DataFrame({"rate": [1e6, 0.0, 0.0, 0.0]}, index=[A, C, D, X]), "v1", "v2", h)
    assert out["rate"].sum() == pytest.approx(1e6, rel=1e-15)
    assert out.loc[B, "rate"] == pytest.approx(1e6 * 0.3999995 / 0.9999995, rel=1e-12)


def test_a_chain_of_versions_and_a_sibling():
    h = tree()
    figures = pd.DataFrame({"people": [10, 3, 5, 7]}, index=[A, C, D, X])
    # v1 → v3: A split then merged back is A again (10); C and D merged (8).
    assert reaggregate(figures, "v1", "v3", h)["people"].to_dict() == {A: 10, C: 8, X: 7}
    # v2 → w2 goes up to v1 and down: v2's B (4) back into A, C (8) by shares 4/4, X split 3/4
    # (7 × 0.5 = 3.5 each: the tie goes to the first, X).
    v2 = pd.DataFrame({"people": [6, 8, 7, 4]}, index=[A, C, X, B])
    assert reaggregate(v2, "v2", "w2", h)["people"].to_dict() == {A: 10, C: 4, D: 4, X: 4, Y: 3}
    assert h.lineage("v3") == ["v3", "v2", "v1"]


def test_figures_of_another_version_or_not_numbers_are_refused():
    h = tree()
    with pytest.raises(InputError, match="not in version v1"):
        reaggregate(pd.DataFrame({"people": [1]}, index=[B]), "v1", "v2", h)
    with pytest.raises(InputError, match="only numbers"):
        reaggregate(pd.DataFrame({"name": ["x"]}, index=[A]), "v1", "v2", h)
    with pytest.raises(NotFoundError, match="no division version 'v9'"):
        reaggregate(pd.DataFrame({"people": [1]}, index=[A]), "v1", "v9", h)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(st.integers(0, 10**9), min_size=4, max_size=4),
    signed=st.lists(st.integers(-(10**6), 10**6), min_size=4, max_size=4),
    rates=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=4, max_size=4),
    split=st.floats(0.001, 0.999),
    target=st.sampled_from(["v2", "v3", "w2"]),
)
def test_sums_are_kept_exactly_for_any_figures(people, signed, rates, split, target):
    h = tree(split)
    figures = pd.DataFrame({"people": people, "signed": signed, "rate": rates}, index=[A, C, D, X])
    out = reaggregate(figures, "v1", target, h)
    assert out["people"].sum() == sum(people) and out["signed"].sum() == sum(signed)
    assert out["rate"].sum() == pytest.approx(sum(rates), rel=1e-12, abs=1e-9)
    assert (out["people"] >= 0).all()
    if target == "v2":
        # A second way: A alone, split by the share, each part within one person of its quota.
        assert abs(out.loc[B, "people"] - (1 - split) * people[0]) < 1
        assert out.loc[C, "people"] == people[1] + people[2]
        # And back: the split parts merge into A exactly.
        assert reaggregate(out, "v2", "v1", h).loc[A, "people"] == people[0]


# ---- a village's history ----------------------------------------------------------------------


def test_a_village_follows_its_county_into_the_new_one():
    h = tree()
    # A is the square 0–2 °E; in v2, B is its eastern part (1–2 °E).
    shapes = {"v2": gpd.GeoSeries({A: box(0, 0, 1, 1), B: box(1, 0, 2, 1)}, crs=4326)}
    villages = gpd.GeoDataFrame(
        {"settlement_code": ["west", "east", "in_d"], "county_code": [A, A, D]},
        geometry=[Point(0.5, 0.5), Point(1.5, 0.5), Point(5, 5)],
        crs=4326,
    )
    out = county_of(villages, "v1", "v2", h, shapes)
    assert out["county_code"].tolist() == [A, B, C]
    assert out["method"].tolist() == ["boundary", "boundary", "change"]
    # Without boundaries, a split county's villages go to the part with the largest share (A, 0.6).
    plain = county_of(villages, "v1", "v2", h)
    assert plain["county_code"].tolist() == [A, A, C]
    assert plain["method"].tolist()[:2] == ["largest_share", "largest_share"]
    # Its history, in every version: the eastern village is in A, then B, then A again (v3 merged
    # B back); in w2 (a sibling of v2) it is in A.
    history = settlement_history(villages, "v1", h, shapes).set_index("settlement_code")
    assert history.loc["east"].to_dict() == {"v1": A, "v2": B, "w2": A, "v3": A}
    assert history.loc["in_d"].to_dict() == {"v1": D, "v2": C, "w2": D, "v3": C}
    # Known in v2, the village goes back to v1's A.
    known = villages.assign(county_code=[A, B, C])
    assert county_of(known, "v2", "v1", h)["county_code"].tolist()[:2] == [A, A]


# ---- checks of a version ----------------------------------------------------------------------


def _reasons(problems: pd.DataFrame) -> set[tuple]:
    return set(
        zip(
            problems["row"].astype(object).where(problems["row"].notna(), None),
            problems["reason"],
            strict=True,
        )
    )


def test_a_sound_version_has_no_problems():
    h = tree()
    assert validate_version(h.units_of("v2"), h.changes_of("v2"), h.units_of("v1"), {"01"}).empty
    assert validate_versions(h.versions).empty


def test_each_refusal_of_a_version():
    h = tree()
    base = h.units_of("v1")
    bad_units = pd.concat([h.units_of("v2"), _units("v2", ["12", "9905", X])], ignore_index=True).assign(
        row=range(1, 8)
    )
    changes = _changes("v2", [(A, A, 0.6), (B, A, 0.3), (C, C, 1.0), (C, D, 1.0), (B, "0199", 1.5)])
    problems = validate_version(bad_units, changes.assign(row=[1, 4, 2, 2, 4]), base, {"01"})
    reasons = set(problems["reason"])
    assert {
        "bad_code",
        "unknown_province",
        "duplicate_code",
        "unknown_parent",
        "bad_share",
        "shares_sum",
    } <= reasons
    assert (7, "duplicate_code") in _reasons(problems) and (3, "duplicate_code") in _reasons(problems)
    assert (5, "bad_code") in _reasons(problems) and (6, "unknown_province") in _reasons(problems)
    # A's shares are 0.6 + 0.3: the rows that give them out are named.
    assert {(1, "shares_sum"), (4, "shares_sum")} <= _reasons(problems)
    # D neither kept nor given: its figures would vanish.
    dropped = validate_version(h.units_of("v2"), changes.iloc[:3], base, {"01"})
    assert "unit_dropped" in set(dropped["reason"])
    # A new county without a parent.
    orphan = pd.concat([h.units_of("w2"), _units("w2", ["0107"])], ignore_index=True)
    assert "no_parent" in set(validate_version(orphan, h.changes_of("w2"), base, {"01"})["reason"])


def test_each_refusal_of_the_list_of_versions():
    versions = _versions(
        ("v1", "یک", None, "2020-01-01", "2019-01-01", None, "s"),  # ends before it begins
        ("v2", "دو", None, "2018-01-01", None, "v1", "s"),  # begins before its base
        ("a", "الف", None, "2021-01-01", None, "b", "s"),  # a and b: a cycle
        ("b", "ب", None, "2022-01-01", None, "a", "s"),
        ("Bad Id", "بد", None, "2022-01-01", None, "v9", "s"),  # bad id, unknown base
    )
    reasons = set(validate_versions(versions)["reason"])
    assert reasons == {"dates_order", "cycle", "bad_version_id", "unknown_base"}


def test_rows_of_a_file_make_a_version():
    base = _units("v1", [A, C, D, X])
    rows = pd.DataFrame(
        {
            "row": [1, 2, 3],
            "code": [A, B, C],
            "name_fa": ["الف", "ب", "ج"],
            "name_en": None,
            "parent": [A, A, f"{C}+{D}"],
            "share": [0.6, 0.4, None],
        }
    )
    units, changes, problems = version_from_rows(rows, base, {"01"}, "v2")
    assert problems.empty, problems
    assert sorted(units["county_code"]) == sorted([A, B, C, X])  # X carried over, D merged away
    got = {(r.county_code, r.from_county_code): r.share for r in changes.itertuples()}
    assert got == {(A, A): 0.6, (B, A): 0.4, (C, C): 1.0, (C, D): 1.0}
    # A parent split between rows needs every share; a new county taking a code still in use.
    rows2 = rows.assign(share=[None, None, None], code=[A, X, C], parent=[A, A, C])
    _, _, problems = version_from_rows(rows2, base, {"01"}, "v2")
    assert {(1, "share_missing"), (2, "share_missing"), (2, "code_taken")} <= _reasons(problems)


# ---- the import: a real file, all or nothing, on a real store --------------------------------


@pytest.fixture
def world(tmp_path, small_store):
    """A copy of the small store (its versions v1 and v2), with the test users."""
    path = tmp_path / "store" / "small.gpkg"
    path.parent.mkdir()
    shutil.copyfile(small_store.path, path)
    from store import open_store

    return {"path": path, "store": open_store(str(path)), "tokens": make_users(str(path))}


GOOD = (
    "code,name_fa,name_en,parent,valid_from,share\n"
    "0001,اراک,Arak,0001,۱۴۰۳/۰۱/۰۱,0.8\n"
    "4,اراک شمالی,North Arak,0001,1403/01/01,0.2\n"
)
#: One problem per row: a bad code, an unknown parent, shares not summing to 1 (0.5 + 0.2 of
#: 0002), a code twice, a date that is none.
BAD = (
    "code,name_fa,name_en,parent,valid_from,share\n"
    "12345,بد,,0001,1403/01/01,\n"
    "0005,بی‌مادر,,0999,1403/01/01,\n"
    "0006,نیمه,,0002,1403/01/01,0.5\n"
    "0006,دوباره,,0002,1403/01/01,0.2\n"
    "0007,بی‌تاریخ,,0101,1403/13/45,\n"
)


def _rows(store, name):
    return store.read_layer(name)


def test_an_import_is_all_or_nothing_with_a_report(world, tmp_path):
    from services.hierarchy import HierarchyRejected, hierarchy_of_store, import_division_version

    store = world["store"]
    before = {n: _rows(store, n) for n in ("hierarchy_versions", "hierarchy_units", "hierarchy_changes")}
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    log: list[tuple] = []
    with pytest.raises(HierarchyRejected) as refused:
        import_division_version(
            store,
            bad,
            version_id="v3",
            name_fa="سه",
            name_en=None,
            base=None,
            actor="t",
            audit=lambda *a: log.append(a),
            via="cli",
        )
    got = _reasons(refused.value.problems)
    assert {(1, "bad_code"), (2, "unknown_parent"), (3, "duplicate_code"), (4, "duplicate_code")} <= got
    assert {(3, "shares_sum"), (4, "shares_sum"), (5, "bad_date")} <= got
    assert refused.value.problems["message_fa"].str.startswith("ردیف").all()
    for name, frame in before.items():  # nothing written
        pd.testing.assert_frame_equal(_rows(store, name), frame)
    assert log[-1][1] == "import.hierarchy.cli.rejected" and log[-1][4]["rejected_rows"] == 5

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    done = import_division_version(
        store,
        good,
        version_id="v3",
        name_fa="سه",
        name_en="three",
        base=None,
        actor="t",
        audit=lambda *a: log.append(a),
        via="cli",
    )
    # Made from the open version (v2), which now ends the day before 1403/01/01 (2024-03-20).
    assert (done.base_version_id, str(done.valid_from), done.closed_base) == ("v2", "2024-03-20", True)
    h = hierarchy_of_store(store)
    v2 = h.version("v2")
    assert str(pd.Timestamp(v2["valid_to"]).date()) == "2024-03-19"
    assert sorted(h.units_of("v3")["county_code"]) == ["0001", "0002", "0003", "0004", "0101"]
    figures = pd.DataFrame({"people": [100, 50, 20, 30]}, index=["0001", "0002", "0003", "0101"])
    carried = reaggregate(figures, "v2", "v3", h)["people"].to_dict()
    assert carried == {"0001": 80, "0002": 50, "0003": 20, "0004": 20, "0101": 30}
    assert log[-1][1] == "import.hierarchy.cli"


def test_a_file_that_is_not_a_table_is_refused_whole(world, tmp_path):
    from services.hierarchy import HierarchyRejected, import_division_version

    odd = tmp_path / "divisions.geojson"
    odd.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    missing = tmp_path / "no-parent-column.csv"
    missing.write_text("code,name_fa,valid_from\n0004,x,1403/01/01\n", encoding="utf-8")
    for path, reason in ((odd, "format"), (missing, "missing_column")):
        with pytest.raises(HierarchyRejected) as refused:
            import_division_version(
                world["store"],
                path,
                version_id="v3",
                name_fa="x",
                name_en=None,
                base=None,
                actor="t",
                audit=lambda *a: None,
                via="cli",
            )
        problems = refused.value.problems
        assert problems["row"].isna().all() and reason in set(problems["reason"])


# ---- HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def client(world):
    from api.app import create_app
    from services.settings import Settings

    app = create_app(Settings(store=str(world["path"]), prepare_tiles=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_a_planner_reads_the_versions(small_client, small_store):
    planner = bearer(make_users(str(small_store.path))["planner"])
    answer = small_client.get("/hierarchy/versions", headers=planner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [v["version_id"] for v in body["versions"]] == ["v1", "v2"]
    assert [v["counties"] for v in body["versions"]] == [3, 4]
    # 2016-09-22 is 1 Mehr 1395, 2022-03-21 is 1 Farvardin 1401 (Jalali on screen).
    assert [v["valid_from_fa"] for v in body["versions"]] == ["۱ مهر ۱۳۹۵", "۱ فروردین ۱۴۰۱"]
    assert body["figures_version"] == "v1"  # the store's counties are v1's
    one = small_client.get("/hierarchy/versions/v2", headers=planner).json()
    assert {(c["county_code"], c["from_county_code"], c["share"]) for c in one["changes"]} == {
        ("0002", "0002", 0.7),
        ("0003", "0002", 0.3),
    }
    csv = small_client.get("/hierarchy/versions/v2?f=csv", headers=planner)
    assert csv.headers["content-type"].startswith("text/csv") and "0003" in csv.text
    missing = small_client.get("/hierarchy/versions/v9", headers=planner)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_a_county_table_carried_to_a_version_keeps_its_sums(small_client, small_store, small_layers):
    tokens = make_users(str(small_store.path))
    body = small_client.get(
        "/hierarchy/versions/v2/reaggregate?table=population", headers=bearer(tokens["planner"])
    ).json()
    counties = small_layers["counties"].set_index("county_code")["population"]
    rows = {r["county_code"]: r["population"] for r in body["rows"]}
    # خمین's people split 70/30 (by largest remainders: within one person of each quota).
    assert rows["0002"] + rows["0003"] == counties["0002"]
    assert abs(rows["0003"] - 0.3 * counties["0002"]) < 1
    assert body["totals"]["population"] == counties.sum() == sum(rows.values())
    needs = small_client.get(
        "/hierarchy/versions/v2/reaggregate?table=county_needs", headers=bearer(tokens["planner"])
    ).json()
    assert needs["totals"]["target_population"] == small_layers["county_needs"]["target_population"].sum()


def test_a_director_carries_only_the_figures_of_their_provinces(client, world, small_layers):
    from store.accounts import Accounts
    from tests.conftest import TEST_PASSWORD

    accounts = Accounts(str(world["path"]))
    try:
        accounts.add("d00", TEST_PASSWORD, "provincial_director", ("00",), actor="tests")
        token = accounts.issue_token("d00", days=1, actor="tests")[1]
    finally:
        accounts.close()
    body = client.get("/hierarchy/versions/v2/reaggregate?table=population", headers=bearer(token)).json()
    counties = small_layers["counties"].set_index("county_code")["population"]
    assert {r["county_code"] for r in body["rows"]} == {"0001", "0002", "0003"}  # not 0101 (01)
    # Its totals are its province's: 0101's people count nowhere in its answer.
    assert body["totals"]["population"] == counties[["0001", "0002"]].sum()
    other = client.get("/hierarchy/versions/v2/reaggregate?province=01", headers=bearer(token))
    assert other.status_code == 403


def test_a_village_s_history_through_the_http_api(client, world, small_layers):
    from tests.small_world import SPLIT_AT_LON

    villages = small_layers["settlements"]
    villages = villages[villages["county_code"] == "0002"]
    east = villages[villages.geometry.x > SPLIT_AT_LON]
    west = villages[villages.geometry.x < SPLIT_AT_LON]
    assert len(east) == 3 and len(west) == 3  # ده شرقی 3–5 east of 50.5 °E; خمین and 1–2 west
    planner = bearer(world["tokens"]["planner"])
    for frame, v2 in ((east, "0003"), (west, "0002")):
        for code in frame["settlement_code"]:
            body = client.get(f"/hierarchy/settlements/{code}", headers=planner).json()
            got = {v["version_id"]: (v["county_code"], v["method"]) for v in body["versions"]}
            assert got == {"v1": ("0002", "unchanged"), "v2": (v2, "boundary")}, (code, body)
            assert body["known_version"] == "v1"
    # A settlement outside the caller's provinces is unknown to them, as on /settlements/{code}.
    from store.accounts import Accounts
    from tests.conftest import TEST_PASSWORD

    accounts = Accounts(str(world["path"]))
    try:
        accounts.add("o00", TEST_PASSWORD, "licensing_officer", ("00",), actor="tests")
        officer = bearer(accounts.issue_token("o00", days=1, actor="tests")[1])
    finally:
        accounts.close()
    theirs = small_layers["settlements"].query("province_code == '01'")["settlement_code"].iloc[0]
    assert client.get(f"/hierarchy/settlements/{theirs}", headers=officer).status_code == 404
    mine = east["settlement_code"].iloc[0]
    assert (
        client.get(f"/hierarchy/settlements/{mine}", headers=officer).json()["versions"][1]["county_code"]
        == "0003"
    )


def test_only_an_admin_imports_and_a_bad_file_changes_nothing(client, world):
    tokens = world["tokens"]
    files = {"file": ("divisions.csv", GOOD.encode("utf-8"), "text/csv")}
    url = "/hierarchy/versions?id=v3&name_fa=%D8%B3%D9%87"
    officer = client.post(url, files=files, headers=bearer(tokens["licensing_officer"]))
    assert officer.status_code == 403
    assert officer.headers["content-type"] == "application/problem+json" and officer.json()["code"] == "role"
    admin = bearer(tokens["admin"])
    refused = client.post(url, files={"file": ("bad.csv", BAD.encode("utf-8"), "text/csv")}, headers=admin)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    problems = refused.json()["problems"]
    assert {(p["row"], p["reason"]) for p in problems} >= {
        (1, "bad_code"),
        (2, "unknown_parent"),
        (5, "bad_date"),
    }
    assert all(p["message_fa"] for p in problems)
    assert [v["version_id"] for v in client.get("/hierarchy/versions", headers=admin).json()["versions"]] == [
        "v1",
        "v2",
    ]
    made = client.post(url, files=files, headers=admin)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/hierarchy/versions/v3"
    assert made.json()["version"]["counties"] == 5 and made.json()["closed_base"] is True
    listed = client.get("/hierarchy/versions", headers=admin).json()["versions"]
    assert [v["version_id"] for v in listed] == ["v1", "v2", "v3"]
    again = client.post(url, files=files, headers=admin)  # the same id twice
    assert again.status_code == 422 and "version_exists" in {p["reason"] for p in again.json()["problems"]}
    from store.accounts import Accounts

    accounts = Accounts(str(world["path"]))
    try:
        actions = [r["action"] for r in accounts.audit_rows()]
    finally:
        accounts.close()
    assert "import.hierarchy.http" in actions and "import.hierarchy.http.rejected" in actions


# ---- the national demo ------------------------------------------------------------------------


@pytest.mark.realdata
def test_the_demo_has_three_versions_with_the_same_people(demo, reference):
    from services.hierarchy import hierarchy_from_layers

    layers = demo["layers"]
    h = hierarchy_from_layers(layers)
    counts = h.units.groupby("version_id").size().to_dict()
    assert counts["census-1395"] == 429 and counts["official-448"] == 448
    new = h.units[
        (h.units["version_id"] == "osm-2025")
        & ~h.units["county_code"].isin(layers["counties"]["county_code"])
    ]
    assert counts["osm-2025"] == 448 + len(new) and len(new) == len(demo["report"].folded_counties) >= 25
    provinces = set(layers["provinces"]["province_code"])
    for vid in ("census-1395", "official-448", "osm-2025"):
        base = h.base_of(vid)
        assert validate_version(
            h.units_of(vid), h.changes_of(vid), None if base is None else h.units_of(base), provinces
        ).empty
    population = layers["counties"].set_index("county_code")[["population"]]
    total = int(population["population"].sum())
    assert total == 79_926_270
    census = reaggregate(population, "official-448", "census-1395", h)
    osm = reaggregate(population, "official-448", "osm-2025", h)
    assert int(census["population"].sum()) == int(osm["population"].sum()) == total
    # The census's own figures come back: each parent county is its children's sum again.
    from demo.national import census_population

    counted = census_population(reference.census_age_sex)
    assert census["population"].to_dict() == counted.reindex(census.index).to_dict()
    children = layers["counties"].dropna(subset=["parent_county_code"])
    for parent, kids in children.groupby("parent_county_code"):
        assert (
            census.loc[parent, "population"]
            == population.loc[[parent, *kids["county_code"]], "population"].sum()
        )
    # A village follows its county: one of a post-census county is in its parent in 1395, and one
    # inside a newer OSM county's boundary moves into it (the stored boundaries decide).
    import shapely

    from services.hierarchy import boundaries_by_version

    settlements = layers["settlements"]
    zarghan = settlements[settlements["county_code"] == "0730"].iloc[:5]  # زرقان, counted in شیراز
    in_1395 = county_of(zarghan, "official-448", "census-1395", h)
    assert set(in_1395["county_code"]) == {"0707"} and set(in_1395["method"]) == {"change"}
    boundaries = boundaries_by_version(layers)
    new_codes = set(new["county_code"])
    parents = set(h.changes_of("osm-2025")["from_county_code"])
    moving = settlements[settlements["county_code"].isin(parents)]
    where = county_of(moving, "official-448", "osm-2025", h, boundaries)
    moved = where["county_code"].isin(new_codes)
    assert moved.sum() > 100
    shapes = boundaries["osm-2025"]
    for code, group in moving[moved.to_numpy()].groupby(where["county_code"][moved]):
        x, y = group.geometry.x.to_numpy(), group.geometry.y.to_numpy()
        assert shapely.contains_xy(shapes[code], x, y).all(), code  # each inside its new boundary
    assert set(where["method"]) <= {"boundary", "largest_share"}
    assert set(h.changes_of("osm-2025")["share_basis"]) <= {"population", "area"}
    assert h.changes_of("osm-2025")["source"].str.startswith("estimate").all()


@pytest.mark.postgis
def test_the_service_role_reads_every_version_and_imports_one(postgis_store, postgis_url, tmp_path):
    """PostGIS: the versions are reference tables (no row-level security: read whole with no
    provinces set), and the service's own role may add a version (an administrator's import)."""
    import sqlalchemy as sa

    from services.hierarchy import hierarchy_of_store, import_division_version
    from store.postgis import PostGISStore
    from tests import small_world
    from tests.conftest import service_role_url

    small_world.write(postgis_store)
    url = service_role_url(postgis_url)
    service = PostGISStore(url)
    try:
        with service.engine.connect() as conn:  # amayesh.provinces unset: no province's rows
            assert conn.execute(sa.text("SELECT count(*) FROM ngos")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM hierarchy_units")).scalar() == 7
        good = tmp_path / "good.csv"
        good.write_text(GOOD, encoding="utf-8")
        done = import_division_version(
            service,
            good,
            version_id="v3",
            name_fa="سه",
            name_en=None,
            base="v2",
            actor="t",
            audit=lambda *a: None,
            via="http",
        )
        assert done.units == 5
        assert sorted(hierarchy_of_store(postgis_store).units_of("v3")["county_code"]) == [
            "0001",
            "0002",
            "0003",
            "0004",
            "0101",
        ]
    finally:
        service.close()


def test_the_command_line_imports_a_version_and_reports_a_refused_file(world, tmp_path, monkeypatch, capsys):
    import io

    from cli.main import main
    from tests.conftest import TEST_PASSWORD

    store = str(world["path"])
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    args = ["--store", store, "import-hierarchy", "--id", "v3", "--name-fa", "سه", "--password-stdin"]
    # A planner is no admin: refused before the file is read.
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    with pytest.raises(SystemExit, match="not an admin"):
        main([*args, str(bad), "--user", "t_planner"])
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert main([*args, str(bad), "--user", "t_admin"]) == 3
    report = pd.read_csv(tmp_path / "bad.rejected.csv", dtype=str, encoding="utf-8-sig")
    assert {"bad_code", "unknown_parent", "duplicate_code", "shares_sum", "bad_date"} <= set(report["reason"])
    assert "message_fa" in report.columns
    assert "bad_date" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert main([*args, str(good), "--user", "t_admin"]) == 0
    assert "Imported division version v3 (from v2" in capsys.readouterr().out
    from services.hierarchy import hierarchy_of_store
    from store import open_store

    assert "v3" in set(hierarchy_of_store(open_store(store)).versions["version_id"])


def test_the_template_reads_back_and_a_workbook_imports(client, world, tmp_path):
    import io

    from exchange.hierarchy import parse_division_rows
    from services.hierarchy import hierarchy_of_store, import_division_version

    answer = client.get("/hierarchy/template.csv", headers=bearer(world["tokens"]["planner"]))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    raw = pd.read_csv(io.StringIO(answer.content.decode("utf-8-sig")), dtype=str)
    assert raw.columns[0] == "کد شهرستان (code)"
    rows, problems = parse_division_rows(raw)
    assert problems.empty, problems
    # 1404/01/01 is 2025-03-21; the shares of 0707 are 0.9 and 0.1.
    assert rows["valid_from"].dt.strftime("%Y-%m-%d").tolist() == ["2025-03-21"] * 2
    assert rows["share"].tolist() == [0.9, 0.1] and rows["parent"].tolist() == ["0707", "0707"]
    # The same rows of the small world as a workbook with the Persian labels alone as headers.
    book = tmp_path / "divisions.xlsx"
    pd.DataFrame(
        {
            "کد شهرستان": ["0001", "0004"],
            "نام": ["اراک", "اراک شمالی"],
            "شهرستان مادر": ["0001", "0001"],
            "معتبر از": ["2024-03-20", "2024-03-20"],
            "سهم": ["80%", "20%"],
        }
    ).to_excel(book, index=False)
    done = import_division_version(
        world["store"], book, version_id="v3", name_fa="سه", name_en=None, base=None, actor="t",
        audit=lambda *a: None, via="cli",
    )  # fmt: skip
    assert str(done.valid_from) == "2024-03-20"
    got = hierarchy_of_store(world["store"]).changes_of("v3")
    assert dict(zip(got["county_code"], got["share"], strict=True)) == {"0001": 0.8, "0004": 0.2}
