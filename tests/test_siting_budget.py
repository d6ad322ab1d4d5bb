"""Siting under a budget: the knapsack row Σ c_j y_j ≤ B held to an independent PuLP model, the
budgeted greedy (gain per cost, then the best single affordable site) kept within the budget
and its bound, and the budget carried from the norms' cost table through the plan, HTTP and CLI."""

from __future__ import annotations

import time

import numpy as np
import pulp
import pytest

from geo.decisions import AnalysisInputError
from geo.siting import mclp, p_median, pairs_from_cost_matrix

#: Khuller, Moss & Naor (1999): the ratio greedy, with the best single affordable set, covers at
#: least (1 − 1/e) / 2 of the optimum under a budget alone.
GREEDY_GUARANTEE = (1 - 1 / np.e) / 2


def _solver():
    return pulp.HiGHS(msg=False)


def _pulp_mclp(w, cover, covered, cost, budget, k) -> float:
    """Budgeted maximal covering written from its definition, solved by PuLP's HiGHS."""
    n, m = cover.shape
    prob = pulp.LpProblem("budgeted_mclp", pulp.LpMaximize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(m)]
    z = [pulp.LpVariable(f"z{i}", cat="Binary") for i in range(n)]
    prob += pulp.lpSum(float(w[i]) * z[i] for i in range(n) if not covered[i])
    for i in range(n):
        prob += z[i] <= pulp.lpSum(y[j] for j in range(m) if cover[i, j])
    prob += pulp.lpSum(float(cost[j]) * y[j] for j in range(m)) <= float(budget)
    prob += pulp.lpSum(y) <= k
    assert prob.solve(_solver()) == pulp.LpStatusOptimal
    return float(pulp.value(prob.objective) or 0.0)


def _pulp_p_median(w, d, base, cap, cost, budget, k) -> float:
    """Budgeted p-median with existing centres: each place to a chosen candidate or to today's
    nearest centre (costs capped at ``cap``), written from its definition."""
    n, m = d.shape
    prob = pulp.LpProblem("budgeted_pmedian", pulp.LpMinimize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(m)]
    x = [[pulp.LpVariable(f"x{i}_{j}", lowBound=0, upBound=1) for j in range(m)] for i in range(n)]
    x0 = [pulp.LpVariable(f"x0_{i}", lowBound=0, upBound=1) for i in range(n)]
    prob += pulp.lpSum(
        float(w[i]) * (min(base[i], cap) * x0[i] + pulp.lpSum(min(d[i, j], cap) * x[i][j] for j in range(m)))
        for i in range(n)
    )
    for i in range(n):
        prob += x0[i] + pulp.lpSum(x[i]) == 1
        for j in range(m):
            prob += x[i][j] <= y[j]
    prob += pulp.lpSum(float(cost[j]) * y[j] for j in range(m)) <= float(budget)
    prob += pulp.lpSum(y) <= k
    assert prob.solve(_solver()) == pulp.LpStatusOptimal
    return float(pulp.value(prob.objective))


def _instance(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 41))
    m = int(rng.integers(5, 16))
    w = rng.integers(1, 100, size=n).astype(float)
    xy_places = rng.uniform(0, 10, size=(n, 2))
    xy_cand = rng.uniform(0, 10, size=(m, 2))
    d = np.linalg.norm(xy_places[:, None, :] - xy_cand[None, :, :], axis=2)
    cost = rng.integers(5, 60, size=m).astype(float)
    # A budget between one cheap site and about half of all of them.
    budget = float(rng.uniform(cost.min(), 0.5 * cost.sum()))
    covered = rng.random(n) < 0.2
    k = int(rng.integers(1, m + 1))
    return rng, w, d, cost, budget, covered, k


SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_budgeted_mclp_equals_pulp_and_the_greedy_keeps_to_the_budget(seed):
    _, w, d, cost, budget, covered, k = _instance(seed)
    cover = d <= 2.5
    i, j = np.nonzero(cover)
    m = d.shape[1]
    for most in (k, m):  # the count binding or not
        started = time.perf_counter()
        theirs = _pulp_mclp(w, cover, covered, cost, budget, most)
        ours = mclp(w, i, j, m, most, covered=covered, method="exact", cost=cost, budget=budget)
        assert time.perf_counter() - started < 10
        assert ours.method == "exact" and ours.optimal
        assert ours.objective == pytest.approx(theirs, abs=1e-9)
        spent = cost[ours.chosen].sum()
        assert spent <= budget + 1e-9 and len(ours.chosen) <= most
        assert ours.details["budget"] == budget and ours.details["cost_spent"] == pytest.approx(spent)
        # The objective recomputed from the sites chosen.
        reached = cover[:, ours.chosen].any(axis=1) & ~covered
        assert w[reached].sum() == pytest.approx(ours.objective)

        greedy = mclp(w, i, j, m, most, covered=covered, method="greedy", cost=cost, budget=budget)
        assert cost[greedy.chosen].sum() <= budget + 1e-9 and len(greedy.chosen) <= most
        assert greedy.details["cost_spent"] == pytest.approx(cost[greedy.chosen].sum())
        assert greedy.objective <= theirs + 1e-9 <= greedy.bound + 1e-6
        g_reached = cover[:, greedy.chosen].any(axis=1) & ~covered
        assert w[g_reached].sum() == pytest.approx(greedy.objective)
        if most == m:  # the budget alone: Khuller, Moss & Naor's guarantee
            assert greedy.objective >= GREEDY_GUARANTEE * theirs - 1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_budgeted_p_median_equals_pulp(seed):
    rng, w, d, cost, budget, _, k = _instance(seed)
    n, m = d.shape
    # Some places have a centre today at some distance; the others none.
    base = np.where(rng.random(n) < 0.4, rng.uniform(0, 8, size=n), np.inf)
    cap = 6.0
    i, j, c = pairs_from_cost_matrix(d, cap)
    theirs = _pulp_p_median(w, d, base, cap, cost, budget, k)
    ours = p_median(w, i, j, c, m, k, base_cost=base, cap=cap, method="exact", cost=cost, budget=budget)
    assert ours.optimal
    assert ours.objective == pytest.approx(theirs, rel=1e-9, abs=1e-7)
    assert cost[ours.chosen].sum() <= budget + 1e-9 and len(ours.chosen) <= k
    greedy = p_median(w, i, j, c, m, k, base_cost=base, cap=cap, method="greedy", cost=cost, budget=budget)
    assert cost[greedy.chosen].sum() <= budget + 1e-9
    assert greedy.bound - 1e-6 <= theirs <= greedy.objective + 1e-9


def _three():
    # Candidate 0 reaches places 0 and 1 (20 persons) for 10; candidate 1 place 2 (15) for 4;
    # candidate 2 place 3 (12) for 5.
    w = np.array([10.0, 10.0, 15.0, 12.0])
    i, j = np.array([0, 1, 2, 3]), np.array([0, 0, 1, 2])
    return w, i, j, np.array([10.0, 4.0, 5.0])


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_the_budget_changes_the_choice_by_hand(method):
    w, i, j, cost = _three()
    # Two sites, no budget: 0 and 1, 20 + 15 = 35 persons (cost 14).
    free = mclp(w, i, j, 3, 2, method=method)
    assert sorted(free.chosen.tolist()) == [0, 1] and free.objective == 35
    # A budget of 9: candidate 0 (10) is out of reach; 1 and 2 cost 9 and reach 15 + 12 = 27.
    tight = mclp(w, i, j, 3, 2, method=method, cost=cost, budget=9)
    assert sorted(tight.chosen.tolist()) == [1, 2] and tight.objective == 27
    assert tight.details == {**tight.details, "budget": 9.0, "cost_spent": 9.0}
    # A budget of 14 buys the unbudgeted choice again (35); the greedy, by persons per cost
    # (3.75 for 1, 2.4 for 2, 2 for 0), takes 1 and 2 (27), which beats 0 alone (20).
    fourteen = mclp(w, i, j, 3, 2, method=method, cost=cost, budget=14)
    expected = [0, 1] if method == "exact" else [1, 2]
    assert sorted(fourteen.chosen.tolist()) == expected
    assert fourteen.objective == (35 if method == "exact" else 27) <= fourteen.bound
    # 3 sites allowed, 19 buys all three (47).
    assert mclp(w, i, j, 3, 3, method=method, cost=cost, budget=19).objective == 47
    # A budget below every site: no site, nothing covered, nothing spent.
    none = mclp(w, i, j, 3, 2, method=method, cost=cost, budget=3)
    assert len(none.chosen) == 0 and none.objective == 0 and none.details["cost_spent"] == 0


def test_the_greedy_keeps_the_best_single_affordable_site():
    # Ratio greedy alone takes the cheap site (2 persons for 1: ratio 2) and can then afford
    # nothing else; the dear site alone (100 persons for 100) is worth fifty times more.
    w = np.array([2.0, 100.0])
    i, j = np.array([0, 1]), np.array([0, 1])
    greedy = mclp(w, i, j, 2, 2, method="greedy", cost=np.array([1.0, 100.0]), budget=100)
    assert greedy.chosen.tolist() == [1] and greedy.objective == 100


def test_a_wrong_budget_is_refused():
    w, i, j, cost = _three()
    with pytest.raises(AnalysisInputError, match="zero or more"):
        mclp(w, i, j, 3, 2, cost=cost, budget=-1)
    with pytest.raises(AnalysisInputError, match="each candidate's cost"):
        mclp(w, i, j, 3, 2, budget=10)
    with pytest.raises(AnalysisInputError, match="one cost"):
        mclp(w, i, j, 3, 2, cost=cost[:2], budget=10)


# ---- through the plan, HTTP and the command line ------------------------------------------------


def _world_analysis(norms=None):
    from geo.recompute import analyse
    from tests import analysis_world as world

    s, n, need = world.random_world(3, n_places=80, n_ngos=6)
    return analyse(s, n, need, world.counties(), None, norms or world.demo_norms())


@pytest.mark.parametrize("model", ["mclp", "pmedian"])
def test_site_centres_keeps_to_a_budget_priced_by_the_norms(model):
    from geo.siting import site_centres

    a = _world_analysis()
    price = a.norms.costs.services["rehabilitation"]
    per_site = price.new_centre + 30 * price.per_place  # 9000 + 30 × 45 = 10,350 (synthetic)
    free = site_centres(a, "rehabilitation", 4, model=model, capacity=30, method="exact")
    assert free.summary["budget"] is None and free.summary["cost_per_site"] == per_site
    assert free.summary["cost_spent"] == per_site * free.summary["new_sites"]
    assert free.summary["costs_synthetic"] is True and "synthetic" in free.summary["cost_table"]
    # Two and a half sites' worth: at most two.
    budget = 2.5 * per_site
    kept = site_centres(a, "rehabilitation", 4, model=model, capacity=30, method="exact", budget=budget)
    assert kept.summary["budget"] == budget and kept.summary["new_sites"] <= 2
    assert kept.summary["cost_spent"] == per_site * kept.summary["new_sites"] <= budget
    two = site_centres(a, "rehabilitation", 2, model=model, capacity=30, method="exact")
    assert kept.summary["objective"] == pytest.approx(two.summary["objective"])
    # Capacitated: the budget cuts k to the sites it buys (every site costs the same).
    cap = site_centres(
        a, "rehabilitation", 4, model=model, province="00", capacity=30, capacitated=True, budget=budget
    )
    assert cap.summary["new_sites"] == 2 and cap.summary["cost_spent"] == 2 * per_site


def test_site_centres_refuses_a_budget_it_cannot_keep_in_both_languages():
    from geo.errors import BadBudget
    from geo.siting import site_centres
    from tests import analysis_world as world

    a = _world_analysis()
    with pytest.raises(BadBudget, match="zero or more") as negative:
        site_centres(a, "rehabilitation", 2, capacity=30, budget=-5)
    assert negative.value.message_fa.endswith("نه منفی ۵")  # said in words: a minus sign turns around in RTL
    with pytest.raises(BadBudget, match="buys no new rehabilitation centre") as small:
        site_centres(a, "rehabilitation", 2, capacity=30, budget=10_000)  # one costs 10,350
    assert "میلیون ریال" in small.value.message_fa
    raw_norms = world.demo_norms()
    import dataclasses

    bare = _world_analysis(dataclasses.replace(raw_norms, costs=None))
    with pytest.raises(BadBudget, match="no cost table"):
        site_centres(bare, "rehabilitation", 2, budget=50_000)
    unpriced = site_centres(bare, "rehabilitation", 2)
    assert unpriced.summary["cost_spent"] is None and unpriced.summary["cost_table"] is None


def test_the_siting_route_and_command_line_take_a_budget(small_client, small_store, capsys):
    body = {"service_type": "rehabilitation", "province": "00", "k": 3, "capacity": 30, "method": "exact"}
    got = small_client.post("/plans/siting", json={**body, "budget": 25_000})
    assert got.status_code == 200, got.text
    s = got.json()["summary"]
    assert s["budget"] == 25_000 and s["new_sites"] <= 2
    assert s["cost_spent"] == s["new_sites"] * 10_350 <= 25_000
    assert s["cost_currency"] == "million rials" and s["costs_synthetic"] is True
    bad = small_client.post("/plans/siting", json={**body, "budget": -1})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    problem = bad.json()
    assert "zero or more" in problem["detail"] and "بودجه" in problem["detail_fa"]
    below = small_client.post("/plans/siting", json={**body, "budget": 100})
    assert below.status_code == 400 and "مرکز تازه" in below.json()["detail_fa"]

    from cli.main import main

    code = main(
        ["--store", str(small_store.path), "site", "--service", "rehabilitation", "--province", "00",
         "--k", "3", "--capacity", "30", "--method", "exact", "--budget", "25000"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "of a budget of 25,000" in out and "synthetic" in out
