"""Delegation: the transportation programme and the spare-capacity rule on cases checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from geo.decisions import AnalysisInputError
from geo.delegation import delegate, huff_load, transport, unserved_target_population
from geo.recompute import analyse
from tests import analysis_world as world


def test_transport_by_hand():
    # Centre 0 (10 spare) reaches places 0 (cost 1) and 1 (cost 2); centre 1 (5 spare) reaches
    # places 1 (cost 1) and 2 (cost 3). Demands 8, 6, 4: at most 15 can be served, which needs
    # centre 0 full (8 + 2); centre 1 then sends 4 to place 1 and 1 to place 2: cost 12 + 7.
    flow, left = transport(
        np.array([10.0, 5.0]),
        np.array([8.0, 6.0, 4.0]),
        np.array([0, 1, 1, 2]),
        np.array([0, 0, 1, 1]),
        np.array([1.0, 2.0, 1.0, 3.0]),
    )
    assert flow.tolist() == pytest.approx([8, 2, 4, 1])
    assert left.tolist() == pytest.approx([0, 0, 3])


def test_transport_prefers_serving_to_distance():
    # One centre of 5 spare; a near place needing 3 and a far one needing 5: serve 5 in all,
    # the near place fully first.
    flow, left = transport(
        np.array([5.0]), np.array([3.0, 5.0]), np.array([0, 1]), np.array([0, 0]), np.array([1.0, 50.0])
    )
    assert flow.tolist() == pytest.approx([3, 2])
    assert left.tolist() == pytest.approx([0, 3])


def test_huff_load_by_hand():
    # Place 0 (100 persons) reaches both centres (capacities 10 and 30, same decay): 25 and 75.
    # Place 1 (20 persons) reaches only centre 0: all 20 to it.
    load = huff_load(
        np.array([0, 0, 1]),
        np.array([0, 1, 0]),
        np.array([1.0, 1.0, 0.5]),
        np.array([100.0, 20.0]),
        np.array([10.0, 30.0]),
    )
    assert load.tolist() == pytest.approx([45, 75])


def _world(served=None):
    # A town with two rehabilitation centres (capacity 1,000 each) and villages 35-45 km away
    # (too far: flagged); one village 90 km away, beyond the 60 km outreach. The norm (250 per
    # 10,000) asks for 1 place per 40 target persons.
    points = [(49.50, 34.50), (49.50, 34.82), (49.90, 34.50), (49.50, 34.10), (50.50, 34.50)]
    s = world.settlements(points, [40_000, 900, 800, 700, 600], kinds=["city"] + ["village"] * 4)
    n = world.ngos([(49.50, 34.50), (49.51, 34.51)], ["rehabilitation"] * 2, [1000, 1000], ["S0000", "S0000"])
    if served is not None:
        n["served"] = served
    need = world.needs({"0001": {"rehabilitation": 50_000}, "0002": {"rehabilitation": 2_000}})
    return analyse(s, n, need, world.counties(), None, world.demo_norms())


def test_delegate_assigns_unserved_villages_to_spare_capacity():
    a = _world()
    plan = delegate(a, "rehabilitation")
    unserved = unserved_target_population(a, "rehabilitation")
    codes = a.settlements["settlement_code"]
    flagged = set(codes.iloc[unserved.index])
    assert flagged == {"S0001", "S0002", "S0003", "S0004"}
    # Too far: all their target population is unserved; they need 1 place per 40 of them.
    assert unserved.tolist() == a.demand["rehabilitation"].iloc[unserved.index].tolist()
    places = plan.places.set_index("settlement_code")
    assert places["capacity_needed"].tolist() == np.ceil(places["target_population_unserved"] / 40).tolist()
    # S0004 lies about 90 km of travel away: beyond the outreach, still unserved.
    assert places.at["S0004", "assigned"] == 0
    assert places.at["S0004", "still_needed"] == places.at["S0004", "capacity_needed"] > 0
    # Spare = capacity minus the Huff load. Only the town lies within the centres' 30 km
    # catchment, so its need (target persons / 40) is the whole load, shared by the two.
    centres = plan.centres.set_index("licence_no")
    town = a.demand["rehabilitation"].iloc[0] / 40
    assert plan.summary["spare_rule"] == "huff_allocation"
    assert centres["load"].sum() == pytest.approx(town, abs=1)
    assert ((centres["capacity"] - centres["load"] - centres["spare"]).abs() <= 1).all()
    # The others are served in full: the spare capacity (about 2,000 − 1,180) is plenty.
    assert centres["spare"].sum() > places.loc[["S0001", "S0002", "S0003"], "capacity_needed"].sum()
    for code in ("S0001", "S0002", "S0003"):
        assert places.at[code, "still_needed"] == 0
        assert places.at[code, "assigned"] == places.at[code, "capacity_needed"]
    assert (plan.lines["km"] <= 60).all()
    assert (centres["assigned"] <= centres["spare"]).all()
    assert centres["assigned"].sum() == plan.summary["assigned"] == plan.lines["capacity"].sum()


def test_delegate_uses_the_registry_figure_and_stops_at_capacity():
    a = _world(served=[997, 998])  # 3 and 2 places left
    plan = delegate(a, "rehabilitation")
    assert plan.summary["spare_rule"] == "registry_served"
    assert plan.summary["spare_capacity"] == 5
    assert plan.summary["assigned"] == 5
    assert plan.summary["still_needed"] == plan.summary["capacity_needed"] - 5
    # With only 5 places to give, the nearest village gets them (fewest place-km).
    assert plan.lines["capacity"].sum() == 5
    assert plan.lines["settlement_code"].unique().tolist() == [
        plan.lines.sort_values("km")["settlement_code"].iloc[0]
    ]


def test_delegate_outreach_override_and_errors():
    a = _world()
    none = delegate(a, "rehabilitation", outreach_km=5)
    assert none.summary["assigned"] == 0 and none.lines.empty
    assert none.summary["still_needed"] == none.summary["capacity_needed"]
    with pytest.raises(AnalysisInputError):
        delegate(a, "unknown_service")
    with pytest.raises(AnalysisInputError, match="positive"):
        delegate(a, "rehabilitation", outreach_km=0)


def test_the_outreach_is_given_in_the_unit_of_the_travel_cost():
    a = _world()  # the straight line: the outreach is a distance
    with pytest.raises(AnalysisInputError, match="give outreach_km"):
        delegate(a, "rehabilitation", outreach_min=30)
    assert delegate(a, "rehabilitation", outreach_km=500).summary["outreach_km"] == 500


# ---- under a budget ---------------------------------------------------------------------------


def test_transport_within_budget_by_hand():
    from geo.delegation import transport_within_budget

    # The instance of test_transport_by_hand, each line costing 5 to run. A budget of 10 runs two
    # lines: centre 0 → place 0 (8) and centre 1 → place 1 (5) serve 13, the most two lines can
    # (8 + 4 = 12, 6 + 4 = 10, 8 + 2 = 10 otherwise).
    args = (
        np.array([10.0, 5.0]),
        np.array([8.0, 6.0, 4.0]),
        np.array([0, 1, 1, 2]),
        np.array([0, 0, 1, 1]),
        np.array([1.0, 2.0, 1.0, 3.0]),
        np.full(4, 5.0),
    )
    flow, left, proven = transport_within_budget(*args, 10.0)
    assert proven
    assert flow.tolist() == pytest.approx([8, 0, 5, 0])
    assert left.tolist() == pytest.approx([0, 1, 4])
    # A budget for all four lines gives the plan without a budget.
    flow, left, _ = transport_within_budget(*args, 20.0)
    assert flow.tolist() == pytest.approx([8, 2, 4, 1]) and left.tolist() == pytest.approx([0, 0, 3])
    # Nothing to spend: nothing served.
    flow, left, _ = transport_within_budget(*args, 0.0)
    assert flow.sum() == 0 and left.tolist() == [8, 6, 4]


@pytest.mark.parametrize("seed", range(6))
def test_transport_within_budget_equals_pulp(seed):
    import pulp

    from geo.delegation import transport_within_budget

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(5, 15)), int(rng.integers(2, 6))
    demand = rng.integers(1, 20, size=n).astype(float)
    supply = rng.integers(5, 40, size=m).astype(float)
    reach = rng.random((n, m)) < 0.5
    pi, pj = np.nonzero(reach)
    cost = rng.uniform(1, 60, size=len(pi)).round(2)
    line_cost = rng.uniform(1, 20, size=len(pi)).round(2)
    budget = float(rng.uniform(0.2, 0.6) * line_cost.sum())
    unserved_cost = 10.0 * (cost.max() + 1.0)
    flow, left, proven = transport_within_budget(supply, demand, pi, pj, cost, line_cost, budget)
    assert proven
    ours = float(cost @ flow + unserved_cost * left.sum())

    prob = pulp.LpProblem("fixed_charge", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{k}", lowBound=0, cat="Integer") for k in range(len(pi))]
    o = [pulp.LpVariable(f"o{k}", cat="Binary") for k in range(len(pi))]
    u = [pulp.LpVariable(f"u{i}", lowBound=0) for i in range(n)]
    prob += pulp.lpSum(cost[k] * x[k] for k in range(len(pi))) + unserved_cost * pulp.lpSum(u)
    for i in range(n):
        prob += pulp.lpSum(x[k] for k in range(len(pi)) if pi[k] == i) + u[i] == demand[i]
    for j in range(m):
        prob += pulp.lpSum(x[k] for k in range(len(pi)) if pj[k] == j) <= supply[j]
    for k in range(len(pi)):
        prob += x[k] <= demand[pi[k]] * o[k]
    prob += pulp.lpSum(line_cost[k] * o[k] for k in range(len(pi))) <= budget
    assert prob.solve(pulp.HiGHS(msg=False)) == pulp.LpStatusOptimal
    assert ours == pytest.approx(pulp.value(prob.objective), rel=1e-9)
    # Within the budget, the supplies and the demands.
    assert line_cost[flow > 0].sum() <= budget + 1e-9
    assert (np.bincount(pj, weights=flow, minlength=m) <= supply + 1e-9).all()
    assert (left >= -1e-9).all()


def test_delegate_keeps_to_a_budget_and_prices_its_lines():
    from geo.errors import BadBudget

    a = _world()
    per_km = a.norms.costs.outreach_per_km
    free = delegate(a, "rehabilitation")
    s = free.summary
    assert s["budget"] is None and s["costs_synthetic"] is True
    assert s["outreach_cost"] == pytest.approx(free.lines["km"].sum() * per_km, abs=0.01)
    # Half of what the plan's lines cost: fewer lines, fewer places served, within the budget.
    budget = s["outreach_cost"] / 2
    kept = delegate(a, "rehabilitation", budget=budget)
    k = kept.summary
    assert k["budget"] == budget and k["budget_optimal"] is True
    assert k["outreach_cost"] <= budget + 1e-6
    assert len(kept.lines) < len(free.lines) and k["assigned"] < s["assigned"]
    assert delegate(a, "rehabilitation", budget=0).summary["assigned"] == 0
    with pytest.raises(BadBudget, match="zero or more"):
        delegate(a, "rehabilitation", budget=-1)


def test_the_delegation_route_takes_a_budget(small_client):
    # The small store travels on roads; 200 minutes reach the villages of the east.
    body = {"service_type": "rehabilitation", "province": "00", "outreach_min": 200}
    free = small_client.post("/plans/delegation", json=body)
    assert free.status_code == 200, free.text
    s = free.json()["summary"]
    cost = s["outreach_cost"]
    assert cost > 0 and s["assigned"] > 0
    got = small_client.post("/plans/delegation", json={**body, "budget": cost / 2})
    assert got.status_code == 200, got.text
    half = got.json()["summary"]
    assert half["budget"] == cost / 2 and half["outreach_cost"] <= cost / 2 + 1e-6
    assert half["assigned"] < s["assigned"]
    bad = small_client.post("/plans/delegation", json={**body, "budget": -3})
    assert bad.status_code == 400 and "بودجه" in bad.json()["detail_fa"]


def test_the_command_line_delegates_under_a_budget(small_store, capsys):
    from cli.main import main

    code = main(
        ["--store", str(small_store.path), "delegate", "--service", "rehabilitation", "--province", "00",
         "--outreach-min", "200", "--budget", "50"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "of a budget of 50" in out and "synthetic" in out


def test_a_service_with_no_centres_delegates_nothing_and_says_why(small_client):
    """Child care has no centre in the small world: nothing to delegate to, an empty plan (not a
    server error), its unserved places still counted."""
    got = small_client.post("/plans/delegation", json={"service_type": "child_care"})
    assert got.status_code == 200, got.text
    body = got.json()
    s = body["summary"]
    assert body["centres"] == [] and body["lines"]["features"] == []
    assert s["centres_with_spare"] == 0 and s["assigned"] == 0
    assert s["capacity_needed"] > 0 and s["still_needed"] == s["capacity_needed"]
