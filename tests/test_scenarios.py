"""Scenarios: changes applied to the layers, comparison, equity against PySAL, storage in both stores."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.decisions import AnalysisInputError
from geo.recompute import analyse
from geo.scenarios import (
    ADDED_PREFIX,
    OUTREACH_PREFIX,
    apply_changes,
    check_changes,
    compare,
    equity,
    gini,
    theil,
    theil_split,
)
from geo.schema import DEFAULT_SERVICE_TYPES
from store.base import ScenarioNotFound, StoreError
from tests import analysis_world as world
from tests.conftest import examples

NORMS = world.demo_norms()


@pytest.fixture(scope="module")
def pysal():
    """PySAL's inequality measures, imported only where a test compares with them (about 1 s)."""
    from inequality.gini import Gini
    from inequality.theil import Theil, TheilD

    return {"Gini": Gini, "Theil": Theil, "TheilD": TheilD}


# ---- equity against PySAL inequality --------------------------------------------------------


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(st.just(0.0), st.floats(1e-6, 5)), st.integers(0, 40), st.integers(0, 3)),
        min_size=2,
        max_size=40,
    )
)
def test_gini_and_theil_equal_pysal_on_repeated_persons(pysal, rows):
    x = np.array([r[0] for r in rows])
    w = np.array([r[1] for r in rows])
    g = np.array([r[2] for r in rows])
    people = np.repeat(x, w)
    groups = np.repeat(g, w)
    if len(people) < 2 or people.sum() == 0:
        return
    assert gini(x, w) == pytest.approx(pysal["Gini"](people).g, abs=1e-9)
    assert theil(x, w) == pytest.approx(float(np.squeeze(pysal["Theil"](people).T)), abs=1e-9)
    t, between, within = theil_split(x, w, g)
    ref = pysal["TheilD"](people, groups)
    assert t == pytest.approx(float(np.squeeze(ref.T)), abs=1e-9)
    assert between == pytest.approx(float(np.squeeze(ref.bg)), abs=1e-9)
    assert within == pytest.approx(float(np.squeeze(ref.wg)), abs=1e-9)


def test_gini_by_hand():
    # Two persons with 0 and 1: G = 1/2; four persons, one holding everything: G = 3/4.
    assert gini(np.array([0.0, 1.0]), np.array([1, 1])) == pytest.approx(0.5)
    assert gini(np.array([0.0, 4.0]), np.array([3, 1])) == pytest.approx(0.75)
    assert gini(np.array([2.0, 2.0]), np.array([5, 7])) == 0.0
    assert theil(np.array([2.0, 2.0]), np.array([5, 7])) == pytest.approx(0.0)


def _world():
    # County 0001: a town with a small rehabilitation centre, a village 61 km north of it (79 km
    # of travel) and another 38 km south-west (50 km of travel), both out of the 30 km reach.
    # County 0002: a town with a big centre.
    points = [(49.5, 34.3), (49.5, 34.85), (50.5, 34.5), (49.1, 34.2)]
    s = world.settlements(points, [30_000, 800, 20_000, 900], kinds=["city", "village", "city", "village"])
    n = world.ngos(
        [(49.5, 34.3), (50.5, 34.5)], ["rehabilitation", "rehabilitation"], [4, 400], ["S0000", "S0002"]
    )
    need = world.needs({"0001": {"rehabilitation": 400}, "0002": {"rehabilitation": 300}})
    return s, n, need


def test_equity_per_province_and_nation_equals_pysal(pysal):
    s, n, need = _world()
    s.loc[[2, 3], "province_code"] = "01"
    a = analyse(s, n, need, world.counties(), None, NORMS)
    eq = equity(a, ["rehabilitation"]).set_index(["scope", "province_code"])
    x = a.access.access["rehabilitation"].to_numpy()
    w = a.demand["rehabilitation"].to_numpy()
    people = np.repeat(x, w)
    nat = eq.loc[("national", None)] if ("national", None) in eq.index else eq.xs("national").iloc[0]
    assert nat["gini"] == pytest.approx(pysal["Gini"](people).g, abs=1e-9)
    ref = pysal["TheilD"](people, np.repeat(s["province_code"].to_numpy(), w))
    assert nat["theil_between_provinces"] == pytest.approx(float(np.squeeze(ref.bg)), abs=1e-9)
    assert nat["theil_within_provinces"] == pytest.approx(float(np.squeeze(ref.wg)), abs=1e-9)
    prov = eq.xs("province")
    keep = s["province_code"].to_numpy() == "01"
    assert prov.loc["01", "gini"] == pytest.approx(pysal["Gini"](np.repeat(x[keep], w[keep])).g, abs=1e-9)


# ---- changes ----------------------------------------------------------------------------------


def test_check_changes_refuses_what_it_cannot_apply():
    with pytest.raises(AnalysisInputError, match="unknown kinds"):
        check_changes({"licences_moved": []})
    with pytest.raises(AnalysisInputError, match="capacity"):
        check_changes(
            {"licences_added": [{"service_type": "rehabilitation", "capacity": -3, "lon": 50, "lat": 34}]}
        )
    # without the catalogue only a code's form is checked; with it, a service it lacks is named
    with pytest.raises(AnalysisInputError, match="not a service type code"):
        check_changes({"licences_added": [{"service_type": "X!", "capacity": 3, "lon": 50, "lat": 34}]})
    with pytest.raises(AnalysisInputError, match="unknown service type 'juggling'"):
        check_changes(
            {"licences_added": [{"service_type": "juggling", "capacity": 3, "lon": 50, "lat": 34}]},
            services=tuple(DEFAULT_SERVICE_TYPES),
        )
    with pytest.raises(AnalysisInputError, match="fields are"):
        check_changes({"norms": {"services": {"rehabilitation": {"radius": 3}}}})
    with pytest.raises(AnalysisInputError, match="cannot be changed"):
        check_changes({"norms": {"version": "x"}})


def test_apply_changes_adds_closes_resizes_delegates_and_changes_norms():
    s, n, _ = _world()
    changes = {
        "licences_added": [{"service_type": "rehabilitation", "capacity": 30, "lon": 49.5, "lat": 34.85}],
        "licences_resized": [{"licence_no": "L0001", "capacity": 300}],
        "delegations": [{"licence_no": "L0001", "settlement_code": "S0003", "persons": 20}],
        "norms": {"services": {"rehabilitation": {"catchment_km": 40}}, "saturated_at": 1.5},
    }
    ngos, norms = apply_changes(n, s, world.counties(), NORMS, changes)
    by = ngos.set_index("licence_no")
    assert by.at[f"{ADDED_PREFIX}0001", "county_code"] == "0001"
    assert by.at[f"{ADDED_PREFIX}0001", "capacity"] == 30
    assert by.at["L0001", "capacity"] == 300 - 20  # resized, then 20 persons delegated out
    assert by.at[f"{OUTREACH_PREFIX}0001", "capacity"] == 20
    assert by.at[f"{OUTREACH_PREFIX}0001", "county_code"] == "0001"  # the village's county
    assert by.at[f"{OUTREACH_PREFIX}0001", "geometry"].equals(s.geometry.iloc[3])
    assert norms.services["rehabilitation"].catchment_km == 40 and norms.saturated_at == 1.5
    assert NORMS.services["rehabilitation"].catchment_km == 30  # today's norms untouched
    closed, _ = apply_changes(n, s, world.counties(), NORMS, {"licences_closed": ["L0000"]})
    assert closed["licence_no"].tolist() == ["L0001"]
    with pytest.raises(AnalysisInputError, match="no licence"):
        apply_changes(n, s, world.counties(), NORMS, {"licences_closed": ["L9999"]})
    with pytest.raises(AnalysisInputError, match="more than the capacity"):
        apply_changes(
            n, s, world.counties(), NORMS,
            {"delegations": [{"licence_no": "L0000", "settlement_code": "S0001", "persons": 5}]},
        )  # fmt: skip


def test_compare_by_hand_a_new_licence_at_an_uncovered_village():
    s, n, need = _world()
    today = analyse(s, n, need, world.counties(), None, NORMS)
    assert not today.access.covered["rehabilitation"].iloc[1]  # the village is out of reach
    ngos, norms = apply_changes(
        n, s, world.counties(), NORMS,
        {"licences_added": [{"service_type": "rehabilitation", "capacity": 6, "lon": 49.5, "lat": 34.85}]},
    )  # fmt: skip
    plan = analyse(s, ngos, need, world.counties(), None, norms)
    c = compare(today, plan, ["rehabilitation"])
    row = c.counties.set_index("county_code").loc["0001"]
    village_need = today.demand["rehabilitation"].iloc[1]
    assert row["newly_covered"] == village_need
    assert c.summary["newly_covered"] == village_need
    # County 0001: capacity 4 → 10 for 400 target persons: 100 → 250 per 10k, the norm being 250.
    assert (row["capacity_a"], row["capacity_b"]) == (4, 10)
    assert row["class_a"] == "underserved" and row["class_b"] == "balanced" and row["class_changed"]
    assert c.summary["class_changes"] == {"underserved→balanced": 1}
    assert row["access_change"] > 0
    # County 0002 is untouched.
    other = c.counties.set_index("county_code").loc["0002"]
    assert other["newly_covered"] == 0 and not other["class_changed"] and other["access_change"] == 0
    nat = c.equity[c.equity["scope"] == "national"].iloc[0]
    assert nat["gini_change"] == pytest.approx(nat["gini_b"] - nat["gini_a"])
    assert nat["gini_b"] < nat["gini_a"]  # the village gains access: more equal


# ---- storage in both stores -------------------------------------------------------------------


def _record(i: int, owner: str = "planner") -> dict:
    return {
        "id": f"s{i}",
        "name": f"سناریو {i}",
        "owner": owner,
        "created_at": f"2026-11-30T06:0{i}:00.000000Z",
        "description": None,
        "copied_from": None,
        "payload": {"licences_closed": ["L0001"], "note": "آزمون"},
    }


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def any_store(request, tmp_path, tiny_counties):
    if request.param == "gpkg":
        from store.gpkg import GeoPackageStore

        store = GeoPackageStore(tmp_path / "s.gpkg")
    else:
        store = request.getfixturevalue("postgis_store")
    store.write_layer("counties", tiny_counties)
    return store


def test_scenarios_are_saved_listed_and_deleted_without_a_new_version(any_store, tiny_counties):
    store = any_store
    version = store.version()
    store.save_scenario(_record(1))
    store.save_scenario(_record(2, owner="other"))
    assert store.version() == version  # cached layers stay valid
    got = store.scenario("s1")
    assert got == _record(1)
    assert [s["id"] for s in store.list_scenarios()] == ["s2", "s1"]  # newest first
    assert [s["id"] for s in store.list_scenarios(owner="other")] == ["s2"]
    with pytest.raises(StoreError, match="exists already"):
        store.save_scenario(_record(1))
    # A layer commit keeps the scenarios (the GeoPackage copies the file) and is a new version.
    store.write_layer("counties", tiny_counties)
    assert store.version() != version
    assert store.scenario("s2")["owner"] == "other"
    assert store.read_layer("counties")["county_code"].tolist() == ["0001", "0002"]
    store.delete_scenario("s1")
    with pytest.raises(ScenarioNotFound):
        store.scenario("s1")
    with pytest.raises(ScenarioNotFound):
        store.delete_scenario("s1")
    created = datetime.datetime.fromisoformat(store.scenario("s2")["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset() == datetime.timedelta(0)


def test_a_store_without_scenarios_lists_none(tmp_path):
    from store.gpkg import GeoPackageStore

    store = GeoPackageStore(tmp_path / "none.gpkg")
    assert store.list_scenarios() == []
    with pytest.raises(ScenarioNotFound):
        store.scenario("x")


@pytest.mark.parametrize(
    "changes",
    [
        {"licences_added": 5},
        {"licences_closed": "L0001"},
        {"licences_added": [{"service_type": "rehabilitation", "capacity": 10**12, "lon": 50, "lat": 34}]},
        {"licences_added": [{"service_type": "rehabilitation", "capacity": 3, "lon": 500, "lat": 34}]},
        {
            "licences_added": [
                {"service_type": "rehabilitation", "capacity": 3, "lon": 50, "lat": 34, "name_fa": 7}
            ]
        },
        {"delegations": [{"licence_no": "L0001", "settlement_code": "S0001", "persons": True}]},
        {"norms": {"saturated_at": 0.5}},
        {"norms": {"services": "rehabilitation"}},
        [],
    ],
)
def test_malformed_changes_are_refused_with_a_message(changes):
    with pytest.raises(AnalysisInputError):
        check_changes(changes)


@pytest.mark.parametrize("length", [1, 193, 194, 199, 200])
def test_a_copy_of_a_scenario_with_a_long_name_is_named_within_the_limit(tmp_path, tiny_counties, length):
    from services.plans import NAME_CHARS, copy_scenario, create_scenario
    from store.gpkg import GeoPackageStore

    store = GeoPackageStore(tmp_path / "s.gpkg")
    store.write_layer("counties", tiny_counties)
    name = ("سناریوی بلند " * 20)[:length].strip() or "س"
    original = create_scenario(store, name, {"licences_closed": ["L0001"]}, owner="t_planner")
    copy = copy_scenario(store, original["id"])
    assert len(copy["name"]) <= NAME_CHARS and copy["name"].endswith(" (copy)")
    assert copy["copied_from"] == original["id"] and copy["payload"] == original["payload"]
    if len(name) + len(" (copy)") <= NAME_CHARS:
        assert copy["name"] == f"{name} (copy)"
    else:
        assert copy["name"].startswith(name[:150]) and "…" in copy["name"]


def test_both_sides_of_a_comparison_read_the_same_day(small_layers):
    # On 1 Dey 1405 (2026-12-22) the small world's licences of 2021 have expired: today's analysis
    # and an empty scenario both read that day, so nothing changes between them.
    from services.loading import analysis_from_layers
    from services.plans import scenario_analysis

    day = datetime.date(2026, 12, 22)
    today = analysis_from_layers(small_layers, NORMS, as_of=day)
    assert (small_layers["ngos"]["status"] == "active").sum() > (today.ngos["status"] == "active").sum()
    same = scenario_analysis(small_layers, today, check_changes({}))
    result = compare(today, same)
    assert result.summary["capacity_a"] == result.summary["capacity_b"]
    assert result.summary["newly_covered"] == 0 and result.summary["no_longer_covered"] == 0
    assert result.summary["counties_changing_class"] == 0
    assert same.as_of == day


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_comparison_workbook_speaks_the_page_language(tmp_path, lang):
    """Asked in Persian, the workbook's sheets, headers, classes and service types are Persian
    (codes and names stay beside them); in English (programs) the column codes stay."""
    import openpyxl

    from maps.i18n import strings
    from services.plans import comparison_workbook

    s, n, need = _world()
    today = analyse(s, n, need, world.counties(), None, NORMS)
    added = {"service_type": "rehabilitation", "capacity": 6, "lon": 49.5, "lat": 34.85}
    ngos, norms = apply_changes(n, s, world.counties(), NORMS, {"licences_added": [added]})
    c = compare(today, analyse(s, ngos, need, world.counties(), None, norms), ["rehabilitation"])
    a, b = {"id": "today", "name": "today"}, {"id": "s1", "name": "یک مرکز"}
    counties = world.counties().assign(name_en=lambda f: "County " + f["county_code"])
    path = comparison_workbook(c, a, b, counties, tmp_path / "c.xlsx", "notice", lang=lang)
    book = openpyxl.load_workbook(path)
    text = strings(lang)
    counties_sheet = book.worksheets[1]
    header, *rows = list(counties_sheet.iter_rows(values_only=True))
    if lang == "en":
        assert book.sheetnames == ["summary", "counties", "equity"]
        assert header[:3] == ("county_code", "county_name_fa", "county_name_en")
        return
    assert book.sheetnames == ["خلاصه", "شهرستان‌ها", "برابری دسترسی"]
    for cell in header:  # every header is Persian
        assert not re.search(r"[A-Za-z]", cell), cell
    col = {h: i for i, h in enumerate(header)}
    row = next(r for r in rows if r[col["کد شهرستان"]] == "0001")
    assert row[col["وضعیت (پایه)"]] == text["class_underserved"]
    assert row[col["وضعیت (سناریو)"]] == text["class_balanced"]
    assert row[col["نوع خدمت"]] == text["service_rehabilitation"] and row[col["تغییر وضعیت"]] == "بله"
    summary = {r[0]: r[1] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert summary["پایه"] == "وضع کنونی (today)" and summary["سناریو"] == "یک مرکز (s1)"
    assert "کم‌برخوردار→متعادل" in summary["تغییرهای وضعیت"]
    equity_header = next(book.worksheets[2].iter_rows(values_only=True))
    assert not any(re.search(r"[A-Za-z]", h) for h in equity_header), equity_header
