"""The siting models solved on arrays: ``mclp``, ``p_median`` and ``capacitated_siting``.

Each checks its method, chooses how to solve and says what its answer is:

* the mixed-integer programme (``models.py``) for ``exact``, and for ``auto`` on small instances
  (≤ ``EXACT_MAX_PAIRS`` pairs and ``EXACT_MAX_CANDIDATES`` candidates; a quarter of each for the
  capacitated models), under the time limit: labelled ``exact`` only when HiGHS proved it optimal,
  ``incumbent`` for its best when the time limit stopped it. For the uncapacitated models a
  stopped solver's answer is compared with the greedy's, and the better one kept;
* the greedy (``greedy.py``) otherwise, labelled ``greedy``.

The bound reported is the tightest proven: HiGHS's dual bound, the Lagrangian and the trivial
bounds (``bounds.py``) for the uncapacitated models, the LP relaxation for the capacitated ones;
the gap is measured to it. ``plan.py`` calls these with the arrays of an analysis.

``mclp`` and ``p_median`` take a budget (``cost`` per candidate, ``budget``): the programme gets
Σ c_j y_j ≤ B with ``p`` the most sites, the greedy picks by gain per cost and keeps the best
single affordable site if it is better (Khuller, Moss & Naor 1999), and the bounds are those of
the most sites the budget buys at the cheapest (still valid: the budget only restricts).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from geo.decisions import AnalysisInputError
from geo.siting.bounds import _lagrangian_bound, _relative_gap, _trivial_upper_bound
from geo.siting.greedy import _greedy_budgeted, _greedy_capacitated, _greedy_max_benefit, _order_by_gain
from geo.siting.models import (
    _chosen_from_y,
    _flow_value,
    _milp_mclp,
    _milp_outcome,
    _milp_savings,
    _solve_flow,
)
from geo.siting.problem import (
    EXACT_MAX_CANDIDATES,
    EXACT_MAX_PAIRS,
    GAP_TOLERANCE,
    METHODS,
    SitingSolution,
    _assign_best,
    _assign_value,
    _benefit_matrix,
    _Flow,
)


def _check_budget(cost, budget, m: int):
    """Site costs and a budget as arrays the solvers take (``None, None`` when no budget)."""
    if budget is None:
        return None, None
    budget = float(budget)
    if not np.isfinite(budget) or budget < 0:
        raise AnalysisInputError(f"the budget must be a cost of zero or more, not {budget!r}")
    if cost is None:
        raise AnalysisInputError("a budget needs each candidate's cost")
    cost = np.asarray(cost, dtype="float64")
    if cost.shape != (m,) or not np.isfinite(cost).all() or (cost < 0).any():
        raise AnalysisInputError("candidate costs must be one cost of zero or more per candidate")
    return cost, budget


def _budget_details(cost, budget, chosen) -> dict:
    if budget is None:
        return {}
    return {"budget": budget, "cost_spent": float(cost[chosen].sum()) if len(chosen) else 0.0}


def _solve_max_benefit(benefit, p, method, time_limit, exact, cost=None, budget=None):
    """Exact (``exact``: a callable returning chosen, objective, its bound and whether the solver
    proved it optimal) for ``exact``, and for ``auto`` on small instances; otherwise, or when the
    solver stops at its time limit, the greedy too, with the Lagrangian bound.

    The method reported says what the answer is: ``exact`` only when the solver proved it,
    ``incumbent`` for the solver's best when its time ran out, ``greedy`` for the greedy's. The
    bound is the tightest of the solver's, the Lagrangian and the trivial one."""
    m = benefit.shape[1]
    p = min(p, m)
    most = p
    if budget is not None:
        # No more sites than the budget buys at the cheapest: the cardinality bounds hold for it.
        cheapest = float(cost.min()) if m else 0.0
        most = p if cheapest <= 0 else int(min(p, np.floor(budget / cheapest + 1e-9)))

    def greedy():
        if budget is None:
            return _greedy_max_benefit(benefit, p)
        return _greedy_budgeted(benefit, p, cost, budget)

    def ordered(chosen):
        chosen, gains = _order_by_gain(benefit, chosen)
        if budget is not None:  # a site that gains nothing only spends
            keep = gains > 0
            chosen, gains = chosen[keep], gains[keep]
        return chosen, gains

    trivial = _trivial_upper_bound(benefit, most)
    small = benefit.nnz <= EXACT_MAX_PAIRS and m <= EXACT_MAX_CANDIDATES
    if method == "exact" or (method == "auto" and small):
        got = exact()
        if got is not None:
            ex_chosen, ex_value, ex_bound, proven = got
            if proven:
                chosen, gains = ordered(ex_chosen)
                return chosen, gains, ex_value, ex_value, "exact"
            # Stopped by the time limit: the better of its incumbent and the greedy.
            chosen, gains, value = greedy()
            best = max(value, ex_value)
            bound = min(ex_bound, _lagrangian_bound(benefit, most, best), trivial)
            if ex_value >= value:
                chosen, gains = ordered(ex_chosen)
                return chosen, gains, ex_value, max(bound, ex_value), "incumbent"
            return chosen, gains, value, max(bound, value), "greedy"
    chosen, gains, value = greedy()
    bound = min(_lagrangian_bound(benefit, most, value), trivial) if most > 0 and benefit.nnz else 0.0
    return chosen, gains, value, max(bound, value), "greedy"


def _uncapacitated_answer(model, method, benefit, chosen, gains, objective, bound, started, details):
    """The answer of MCLP or the p-median: its gap to the bound (optimal within ``GAP_TOLERANCE``),
    the seconds since ``started``, and each place's best chosen site on ``benefit``."""
    gap = _relative_gap(objective, bound)
    return SitingSolution(
        model=model,
        method=method,
        chosen=chosen,
        gain=gains,
        objective=objective,
        bound=bound,
        gap=gap,
        optimal=gap <= GAP_TOLERANCE,
        seconds=time.perf_counter() - started,
        assigned=_assign_best(benefit, chosen),
        details=details,
    )


def mclp(
    weight: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    n_candidates: int,
    p: int,
    *,
    covered: np.ndarray | None = None,
    method: str = "auto",
    time_limit: float = 60.0,
    cost: np.ndarray | None = None,
    budget: float | None = None,
) -> SitingSolution:
    """Maximal covering: ``p`` candidates covering the most demand not yet covered.

    Parameters
    ----------
    weight
        Demand per demand point.
    pairs_i, pairs_j
        Demand point and candidate of every pair within the coverage radius.
    n_candidates
        Number of candidates (``pairs_j`` < it).
    p
        New sites to choose.
    covered
        Demand points already covered by existing centres (they count as covered and add
        nothing to a new site).
    cost, budget
        Each candidate's cost and the most the sites may cost in all (Σ cost ≤ budget); ``p``
        is then the most sites, not their number. None: no budget.
    """
    started = time.perf_counter()
    cost, budget = _check_budget(cost, budget, n_candidates)
    weight = np.asarray(weight, dtype="float64")
    n = len(weight)
    covered = np.zeros(n, dtype=bool) if covered is None else np.asarray(covered, dtype=bool)
    open_weight = np.where(covered, 0.0, weight)
    already = float(weight[covered].sum())
    benefit = _benefit_matrix(n, n_candidates, pairs_i, pairs_j, open_weight[pairs_i])

    def exact():
        # Only places some candidate reaches and with demand left enter the programme.
        rows = np.flatnonzero(np.asarray(benefit.sum(axis=1)).ravel() > 0)
        cov = (benefit[rows] > 0).astype("float64").tocsr()
        res, m = _milp_mclp(open_weight[rows], cov, min(p, n_candidates), time_limit, cost, budget)
        if res.x is None:
            return None
        value = float(open_weight[rows] @ np.minimum(cov @ np.rint(res.x[:m]), 1.0))
        return _chosen_from_y(res.x[:m]), value, *_milp_outcome(res, value)

    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    chosen, gains, value, bound, used = _solve_max_benefit(
        benefit, p, method, time_limit, exact, cost, budget
    )
    details = {
        "covered_before": already,
        "covered_after": already + value,
        "demand_total": float(weight.sum()),
        **_budget_details(cost, budget, chosen),
    }
    return _uncapacitated_answer("mclp", used, benefit, chosen, gains, value, bound, started, details)


def p_median(
    weight: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    pairs_cost: np.ndarray,
    n_candidates: int,
    p: int,
    *,
    base_cost: np.ndarray | None = None,
    cap: float | None = None,
    method: str = "auto",
    time_limit: float = 60.0,
    cost: np.ndarray | None = None,
    budget: float | None = None,
) -> SitingSolution:
    """p-median with existing centres fixed: ``p`` candidates minimising Σ w_i · cost_i.

    ``base_cost`` is each demand point's cost to its nearest existing centre (``inf`` if none);
    costs are capped at ``cap`` (default: above every pair's cost, so that every place is
    assigned). ``objective`` is the total weighted cost after the new sites; ``bound`` a
    lower bound on it. ``cost`` and ``budget`` (money, not travel): each candidate's cost and
    the most the sites may cost in all; ``p`` is then the most sites.
    """
    started = time.perf_counter()
    money, budget = _check_budget(cost, budget, n_candidates)
    weight = np.asarray(weight, dtype="float64")
    pairs_cost = np.asarray(pairs_cost, dtype="float64")
    n = len(weight)
    if cap is None:
        cap = float(pairs_cost.max()) * 2.0 + 1.0 if len(pairs_cost) else 1.0
    base = np.full(n, np.inf) if base_cost is None else np.asarray(base_cost, dtype="float64")
    c0 = np.minimum(base, cap)
    savings = weight[pairs_i] * (c0[pairs_i] - pairs_cost)
    keep = savings > 0
    si, sj, sv = pairs_i[keep], pairs_j[keep], savings[keep]
    benefit = _benefit_matrix(n, n_candidates, si, sj, sv)
    total_before = float(weight @ c0)

    def exact():
        res = _milp_savings(n, n_candidates, si, sj, sv, min(p, n_candidates), time_limit, money, budget)
        if res.x is None:
            return None
        chosen = _chosen_from_y(res.x[:n_candidates])
        value = float(_assign_value(benefit, chosen))
        return chosen, value, *_milp_outcome(res, value)

    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    chosen, gains, saved, bound, used = _solve_max_benefit(
        benefit, p, method, time_limit, exact, money, budget
    )
    objective = total_before - saved
    lower = total_before - bound
    details = {
        "cost_before": total_before,
        "cost_after": objective,
        "cap": cap,
        **_budget_details(money, budget, chosen),
    }
    return _uncapacitated_answer("pmedian", used, benefit, chosen, gains, objective, lower, started, details)


#: The least a last solver call of a capacitated siting gets once its time limit is spent (an
#: LP with the sites fixed: milliseconds to a second).
LAST_CALL_S = 1.0


def capacitated_siting(
    model: str,
    weight: np.ndarray,
    flow: _Flow,
    p: int,
    *,
    cap: float = 0.0,
    method: str = "auto",
    time_limit: float = 60.0,
) -> SitingSolution:
    """Capacitated MCLP (``model="mclp"``) or p-median (``"pmedian"``) with existing centres fixed.

    Greedy here adds, p times, the candidate whose capacity filled nearest-first from the
    demand still unserved gains most; the chosen set is then valued exactly (an LP with the
    sites fixed) and bounded by the LP relaxation.
    """
    started = time.perf_counter()
    deadline = started + time_limit

    def left() -> float:
        """What the time limit leaves for the next solver call: the limit holds for the whole
        solve, not each of its two to four calls (at least ``LAST_CALL_S`` for a last LP)."""
        return max(min(LAST_CALL_S, time_limit), deadline - time.perf_counter())

    weight = np.asarray(weight, dtype="float64")
    e, m = flow.n_existing, flow.n_candidates
    p = min(p, m)
    baseline = _solve_flow(flow, weight, model, 0, cap, fixed=np.zeros(m, dtype=bool), time_limit=left())
    if baseline.x is None:
        raise AnalysisInputError(
            "the solver could not value today's centres in the time allowed; give it more time"
        )
    base_value = _flow_value(baseline, model)
    maximise = model == "mclp"

    small = len(flow.i) <= EXACT_MAX_PAIRS // 4 and m <= EXACT_MAX_CANDIDATES // 4
    used = "greedy"
    if method == "exact" or (method == "auto" and small):
        res = _solve_flow(flow, weight, model, p, cap, time_limit=left())
        if res.x is None:
            raise AnalysisInputError("the solver found no plan in the time allowed; try method=greedy")
        chosen = _chosen_from_y(res.x[:m])
        value = _flow_value(res, model)
        dual = getattr(res, "mip_dual_bound", None)
        if res.status == 0:
            bound, used = value, "exact"
        else:
            # Stopped by the time limit: its best so far, bounded by its dual bound (none: the
            # LP relaxation), never called exact.
            used = "incumbent"
            if dual is not None and np.isfinite(dual):
                bound = -float(dual) if maximise else float(dual)
            else:
                relaxed = _solve_flow(flow, weight, model, p, cap, relax=True, time_limit=left())
                bound = _flow_value(relaxed, model) if relaxed.status == 0 else (np.inf if maximise else 0.0)
        x = res.x
    else:
        chosen = _greedy_capacitated(flow, weight, model, p, cap, baseline)
        fixed = np.zeros(m, dtype=bool)
        fixed[chosen] = True
        valued = _solve_flow(flow, weight, model, p, cap, fixed=fixed, time_limit=left())
        if valued.x is None:
            raise AnalysisInputError(
                "the solver could not value the plan in the time allowed; give it more time"
            )
        value = _flow_value(valued, model)
        relaxed = _solve_flow(flow, weight, model, p, cap, relax=True, time_limit=left())
        bound = _flow_value(relaxed, model) if relaxed.status == 0 else (np.inf if maximise else -np.inf)
        x = valued.x
    # Marginal gains in the order of decreasing contribution: what each site's pairs carry.
    k = len(flow.i)
    amount = x[m : m + k] * (1.0 if maximise else weight[flow.i])
    per_site = np.bincount(flow.f, weights=amount, minlength=e + m)[e:]
    order = chosen[np.argsort(-per_site[chosen], kind="stable")]
    assigned = np.full(flow.n, -1, dtype="int64")
    is_new = (flow.f >= e) & (amount > 1e-9)
    if is_new.any():
        best = pd.DataFrame({"i": flow.i[is_new], "j": flow.f[is_new] - e, "a": amount[is_new]})
        top = best.sort_values(["i", "a"], ascending=[True, False]).drop_duplicates("i")
        assigned[top["i"].to_numpy()] = top["j"].to_numpy()
    gap = _relative_gap(value, bound)
    return SitingSolution(
        model=f"capacitated_{model}",
        method=used,
        chosen=order,
        gain=per_site[order],
        objective=value,
        bound=bound,
        gap=gap,
        optimal=gap <= 1e-7,
        seconds=time.perf_counter() - started,
        assigned=assigned,
        details={"baseline": base_value, "persons_at_new_sites": float(per_site[chosen].sum())},
    )
