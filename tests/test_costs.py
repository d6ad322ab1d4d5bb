"""Costs: the cost table in the norms, a scenario's cost items, and the comparison's cost."""

from __future__ import annotations

import copy
import tomllib

import pytest

from geo.costs import COST_COLUMNS, cost_summary, scenario_costs, total_cost
from geo.decisions import AnalysisInputError
from geo.errors import ConfigurationError
from geo.norms import CostTable, Norms, ServiceCost
from geo.schema import DEFAULT_SERVICE_TYPES
from tests import analysis_world as world
from tests.analysis_world import ROOT


def _raw() -> dict:
    return tomllib.loads((ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))


def test_the_shipped_cost_table_is_read_and_says_it_is_synthetic():
    text = (ROOT / "config" / "norms.toml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    costs = Norms.from_dict(_raw()).costs
    assert costs is not None and costs.synthetic is True
    assert costs.currency == "million rials"
    assert set(costs.services) == set(DEFAULT_SERVICE_TYPES)
    rehab = costs.services["rehabilitation"]
    raw = _raw()["costs"]["services"]["rehabilitation"]
    assert rehab.new_centre_cost(40) == raw["new_centre"] + 40 * raw["per_place"]
    assert "synthetic" in costs.label("2026.1")


def test_a_norms_file_without_costs_prices_nothing():
    raw = _raw()
    del raw["costs"]
    assert Norms.from_dict(raw).costs is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["services"]["rehabilitation"].update(per_place=-1), "costs.services.rehabilitation.per_place"),
        (lambda c: c.update(outreach_per_km=-0.5), "costs.outreach_per_km"),
        (lambda c: c["services"].update(swimming={"new_centre": 1, "per_place": 1, "increase_per_place": 1}),
         "unknown ['swimming']"),
        (lambda c: c["services"].pop("kindergarten"), "missing ['kindergarten']"),
        (lambda c: c["services"]["counselling"].pop("new_centre"), "costs.services.counselling"),
        (lambda c: c.update(volunteer_group="cheap"), "costs.volunteer_group must be a number"),
        (lambda c: c.update(synthetic="yes"), "costs.synthetic"),
        (lambda c: c.pop("currency"), "currency"),
        (lambda c: c.update(per_trip=3), "unknown entries ['per_trip']"),
    ],
)  # fmt: skip
def test_a_wrong_cost_table_is_refused_by_name(change, message):
    raw = copy.deepcopy(_raw())
    change(raw["costs"])
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Norms.from_dict(raw)


# ---- a scenario's cost items ----------------------------------------------------------------


def _table() -> CostTable:
    """Round figures for hand computation (not the shipped table)."""
    services = {
        s: ServiceCost(new_centre=100.0, per_place=1.0, increase_per_place=1.0) for s in DEFAULT_SERVICE_TYPES
    }
    services["rehabilitation"] = ServiceCost(new_centre=1000.0, per_place=10.0, increase_per_place=7.0)
    services["kindergarten"] = ServiceCost(new_centre=500.0, per_place=4.0, increase_per_place=3.0)
    return CostTable(
        currency="million rials",
        synthetic=True,
        services=services,
        outreach_per_trip=50.0,
        outreach_per_km=2.0,
        volunteer_group=80.0,
    )


def _small():
    s = world.settlements([(49.5, 34.5), (50.5, 34.5), (49.8, 34.2), (49.5, 34.6)], [1000, 900, 800, 700])
    n = world.ngos(
        [(49.5, 34.5), (50.5, 34.5)], ["rehabilitation", "kindergarten"], [20, 30], ["S0000", "S0001"]
    )
    return s, n


def test_scenario_costs_by_hand():
    s, n = _small()
    changes = {
        "licences_added": [
            {"service_type": "rehabilitation", "capacity": 15, "lon": 49.8, "lat": 34.2, "settlement_code": "S0002"},
            {"service_type": "kindergarten", "capacity": 8, "lon": 50.7, "lat": 34.7},
        ],
        "licences_resized": [{"licence_no": "L0000", "capacity": 26}, {"licence_no": "L0001", "capacity": 25}],
        "licences_closed": ["L0001"],
        "delegations": [{"licence_no": "L0000", "settlement_code": "S0003", "persons": 5}],
    }  # fmt: skip
    items = scenario_costs(changes, _table(), n, s, counties=world.counties(), detour_factor=1.3)
    assert list(items.columns) == COST_COLUMNS
    got = {(r.action, r.licence_no): r for r in items.itertuples()}
    # New rehabilitation centre of 15 places: 1000 + 15 × 10 = 1150.
    assert got["new_centre", "PLAN-0001"].cost == 1000 and got["new_places", "PLAN-0001"].cost == 150
    # New kindergarten of 8 places: 500 + 8 × 4 = 532; its province from the county its point is in.
    assert got["new_centre", "PLAN-0002"].cost == 500 and got["new_places", "PLAN-0002"].cost == 32
    assert got["new_places", "PLAN-0002"].province_code == "00"
    # L0000 from 20 to 26 places: 6 × 7 = 42; L0001 from 30 to 25 and closed: nothing.
    assert got["capacity_increase", "L0000"].quantity == 6 and got["capacity_increase", "L0000"].cost == 42
    assert got["capacity_decrease", "L0001"].quantity == 5 and got["capacity_decrease", "L0001"].cost == 0
    assert got["closure", "L0001"].cost == 0
    # Outreach from (49.5, 34.5) to (49.5, 34.6): 11.0932 km on the ellipsoid (pyproj's Geod:
    # 11,093.236 m) × detour 1.3 = 14.4212 km × 2 per km = 28.842.
    outreach = got["outreach", "L0000"]
    assert outreach.quantity == pytest.approx(11.093236 * 1.3, abs=1e-3)
    assert outreach.cost == pytest.approx(28.842, abs=5e-3)
    assert outreach.settlement_code == "S0003"
    # 1150 + 532 + 42 + 0 + 0 + 28.842 = 1752.842
    assert total_cost(items) == pytest.approx(1752.842, abs=5e-3)
    assert (items["cost"] == items["quantity"] * items["unit_cost"]).all()


def test_no_changes_cost_nothing_and_unknown_licences_are_named():
    s, n = _small()
    assert total_cost(scenario_costs({}, _table(), n, s)) == 0
    with pytest.raises(AnalysisInputError, match="NOPE"):
        scenario_costs({"licences_resized": [{"licence_no": "NOPE", "capacity": 3}]}, _table(), n, s)
    with pytest.raises(AnalysisInputError, match="S9999"):
        scenario_costs(
            {"delegations": [{"licence_no": "L0000", "settlement_code": "S9999", "persons": 1}]},
            _table(),
            n,
            s,
        )


def test_cost_per_newly_covered_person():
    assert cost_summary(100.0, 1100.0, 250) == {
        "cost_a": 100.0,
        "cost_b": 1100.0,
        "cost_difference": 1000.0,
        "cost_per_newly_covered": 4.0,
    }
    assert cost_summary(0.0, 500.0, 0)["cost_per_newly_covered"] is None


# ---- the comparison over HTTP, on the small store --------------------------------------------

#: The shipped (synthetic) cost table's figures this test computes with, written out; the test
#: first checks the table still says them.
REHAB = {"new_centre": 9000, "per_place": 45, "increase_per_place": 30}
KINDERGARTEN = {"new_centre": 6000, "per_place": 30, "increase_per_place": 20}
PER_KM = 0.4
DETOUR = 1.3


def test_the_compare_route_totals_a_scenarios_cost_by_hand(small_client):
    raw = _raw()
    assert raw["costs"]["services"]["rehabilitation"] == REHAB
    assert raw["costs"]["services"]["kindergarten"] == KINDERGARTEN
    assert raw["costs"]["outreach_per_km"] == PER_KM and raw["detour_factor"] == DETOUR
    changes = {
        "licences_added": [
            # 9000 + 30 × 45 = 10,350
            {"service_type": "rehabilitation", "capacity": 30, "lon": 50.56, "lat": 34.72,
             "settlement_code": "0002010100000003"},
            # 6000 + 20 × 30 = 6,600
            {"service_type": "kindergarten", "capacity": 20, "lon": 49.28, "lat": 34.40,
             "settlement_code": "0001010100000002"},
        ],
        # SYN-00000 (rehabilitation, 40 places) to 50: 10 × 30 = 300; SYN-00001 (kindergarten,
        # 60) to 40: nothing
        "licences_resized": [{"licence_no": "SYN-00000", "capacity": 50},
                             {"licence_no": "SYN-00001", "capacity": 40}],
        "licences_closed": ["SYN-00007"],  # home care: nothing
        # SYN-00004 (rehabilitation at 50.082, 34.14) to the village at 50.32, 34.64: 59.6268 km
        # on the ellipsoid (pyproj Geod: 59,626.763 m) × 1.3 = 77.5148 km × 0.4 = 31.006
        "delegations": [{"licence_no": "SYN-00004", "settlement_code": "0002010100000001", "persons": 5}],
    }  # fmt: skip
    made = small_client.post("/scenarios", json={"name": "هزینه‌ها", "changes": changes})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    try:
        got = small_client.get(f"/scenarios/today/compare/{sid}")
        assert got.status_code == 200, got.text
        data = got.json()
        s = data["summary"]
        # 10,350 + 6,600 + 300 + 0 + 0 + 31.006 = 17,281.006
        assert s["cost_a"] == 0
        assert s["cost_b"] == pytest.approx(17_281.006, abs=0.01)
        assert s["cost_difference"] == pytest.approx(17_281.006, abs=0.01)
        assert s["cost_currency"] == "million rials" and s["costs_synthetic"] is True
        assert "synthetic" in s["cost_table"]
        assert s["newly_covered"] > 0
        assert s["cost_per_newly_covered"] == pytest.approx(17_281.006 / s["newly_covered"], abs=0.01)
        items = data["costs"]
        assert {i["side"] for i in items} == {"b"}
        assert sum(i["cost"] for i in items) == pytest.approx(17_281.006, abs=0.01)
        outreach = next(i for i in items if i["action"] == "outreach")
        assert outreach["quantity"] == pytest.approx(77.5148, abs=1e-3)

        # One service: rehabilitation's items only, 10,350 + 300 + 31.006 = 10,681.006.
        rehab = small_client.get(f"/scenarios/today/compare/{sid}", params={"service_type": "rehabilitation"})
        rs = rehab.json()["summary"]
        assert rs["cost_b"] == pytest.approx(10_681.006, abs=0.01)
        if rs["newly_covered"]:
            assert rs["cost_per_newly_covered"] == pytest.approx(10_681.006 / rs["newly_covered"], abs=0.01)
        else:
            assert rs["cost_per_newly_covered"] is None

        # The scenario against itself: the same cost on both sides, nothing newly covered.
        same = small_client.get(f"/scenarios/{sid}/compare/{sid}").json()["summary"]
        assert same["cost_a"] == same["cost_b"] == pytest.approx(17_281.006, abs=0.01)
        assert same["cost_difference"] == 0 and same["cost_per_newly_covered"] is None

        # The workbook has a sheet of the costs, in Persian when asked.
        import io

        import openpyxl

        book = openpyxl.load_workbook(
            io.BytesIO(
                small_client.get(
                    f"/scenarios/today/compare/{sid}", params={"f": "xlsx", "lang": "fa"}
                ).content
            )
        )
        assert book.sheetnames[-1] == "هزینه‌ها"
        header, *rows = list(book.worksheets[-1].iter_rows(values_only=True))
        assert "هزینه" in header and len(rows) == len(items)
        summary = {r[0]: r[1] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
        assert summary["هزینهٔ سناریو"] == pytest.approx(17_281.006, abs=0.01)
    finally:
        small_client.delete(f"/scenarios/{sid}")
