"""The mixed-integer programmes of the models, written for HiGHS (``scipy.optimize``).

* MCLP (``_milp_mclp``): maximise Σ w_i z_i with z_i ≤ Σ_j a_ij y_j and Σ_j y_j = p
  (Church & ReVelle 1974); under a budget B with site costs c_j, Σ_j c_j y_j ≤ B and Σ_j y_j ≤ p
  instead (the knapsack row, as in budgeted maximum coverage; the p-median alike);
* p-median as savings over today's costs c0_i (``_milp_savings``): maximise
  Σ w_i (c0_i − d_ij) x_ij with x_ij ≤ y_j, Σ_j x_ij ≤ 1 and Σ_j y_j = p;
* capacitated MCLP and p-median (``_flow_programme`` over ``problem._Flow``): persons served,
  Σ a_ij ≤ w_i per place and ≤ capacity per open centre (Current & Storbeck 1988), or each place
  whole to one centre or to none at cost ``cap`` (single sourcing, as in spopt). Relaxed, it is
  the bound of the capacitated greedy; with the sites fixed, it values a set of sites.

Each returns scipy's result; ``_milp_outcome`` reads what a stopped or finished MILP proves and
``_chosen_from_y`` the sites it opened. Which programme runs when is ``solve.py``'s choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from geo.siting.problem import _Flow

if TYPE_CHECKING:
    from scipy.optimize import LinearConstraint


def _count_and_budget(m: int, k: int, p: int, cost, budget) -> list[LinearConstraint]:
    """Σ_j y_j = p; under a budget Σ_j c_j y_j ≤ B and p only an upper bound, Σ_j y_j ≤ p
    (the rest of the ``k`` variables are not sites)."""
    from scipy.optimize import LinearConstraint  # on first use: 12 MB a server need not hold

    count = sp.csr_matrix(np.concatenate([np.ones(m), np.zeros(k)])[None, :])
    if budget is None:
        return [LinearConstraint(count, p, p)]
    spend = sp.csr_matrix(np.concatenate([np.asarray(cost, dtype="float64"), np.zeros(k)])[None, :])
    return [LinearConstraint(count, 0, p), LinearConstraint(spend, -np.inf, float(budget))]


def _milp_mclp(weight, coverage: sp.csr_matrix, p: int, time_limit: float, cost=None, budget=None):
    from scipy.optimize import Bounds, LinearConstraint, milp  # on first use: 12 MB a server need not hold

    n, m = coverage.shape
    # Variables: y (m candidates, binary), z (n places, continuous 0..1: integral once y is).
    c = np.concatenate([np.zeros(m), -weight])
    link = sp.hstack([-coverage, sp.identity(n)], format="csr")  # z_i − Σ_j a_ij y_j ≤ 0
    constraints = [LinearConstraint(link, -np.inf, 0.0), *_count_and_budget(m, n, p, cost, budget)]
    integrality = np.concatenate([np.ones(m), np.zeros(n)])
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    return res, m


def _milp_savings(n, m, pi, pj, savings, p, time_limit, cost=None, budget=None):
    from scipy.optimize import Bounds, LinearConstraint, milp  # on first use: 12 MB a server need not hold

    k = len(pi)
    # Variables: y (m, binary), x (k pairs, 0..1).
    c = np.concatenate([np.zeros(m), -savings])
    rows = np.arange(k)
    link = sp.hstack(
        [sp.csr_matrix((-np.ones(k), (rows, pj)), shape=(k, m)), sp.identity(k, format="csr")], format="csr"
    )  # x_ij − y_j ≤ 0
    once = sp.hstack([sp.csr_matrix((n, m)), sp.csr_matrix((np.ones(k), (pi, rows)), shape=(n, k))])
    res = milp(
        c,
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(once, -np.inf, 1.0),
            *_count_and_budget(m, k, p, cost, budget),
        ],
        integrality=np.concatenate([np.ones(m), np.zeros(k)]),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    return res


def _chosen_from_y(y: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.rint(y) > 0.5).astype("int64")


def _milp_outcome(res, value: float) -> tuple[float, bool]:
    """The bound a stopped or finished MILP (minimising the negated benefit) proves on the
    benefit, and whether it proved its answer optimal (status 0); no dual bound: none proven."""
    if res.status == 0:
        return value, True
    dual = getattr(res, "mip_dual_bound", None)
    return (-float(dual) if dual is not None and np.isfinite(dual) else np.inf), False


def _flow_programme(flow: _Flow, weight, model, p, cap, relax, fixed=None):
    """The capacitated programme; ``fixed`` (bool per candidate) fixes y; ``relax`` drops integrality.

    Variables: y (candidates), then per pair a_k (persons for MCLP, fraction for p-median),
    then for p-median u_i (unassigned fraction).
    """
    from scipy.optimize import Bounds, LinearConstraint  # on first use: 12 MB a server need not hold

    n, e, m, k = flow.n, flow.n_existing, flow.n_candidates, len(flow.i)
    rows = np.arange(k)
    if model == "mclp":
        n_var = m + k
        c = np.concatenate([np.zeros(m), -np.ones(k)])
        place = sp.csr_matrix((np.ones(k), (flow.i, m + rows)), shape=(n, n_var))
        place_lo, place_hi = np.full(n, -np.inf), weight
        load_vals = np.ones(k)
    else:
        n_var = m + k + n
        c = np.concatenate([np.zeros(m), weight[flow.i] * flow.cost, weight * cap])
        place = sp.csr_matrix(
            (
                np.ones(k + n),
                (np.concatenate([flow.i, np.arange(n)]), np.concatenate([m + rows, m + k + np.arange(n)])),
            ),
            shape=(n, n_var),
        )
        place_lo = place_hi = np.ones(n)
        load_vals = weight[flow.i]
    # Σ_i load_ik − capacity_f · y_f ≤ 0 (candidates); ≤ capacity (existing).
    n_fac = e + m
    load = sp.csr_matrix((load_vals, (flow.f, m + rows)), shape=(n_fac, n_var)).tolil()
    for j in range(m):
        load[e + j, j] = -flow.capacity[e + j]
    load = load.tocsr()
    load_hi = np.concatenate([flow.capacity[:e], np.zeros(m)])
    constraints = [LinearConstraint(place, place_lo, place_hi), LinearConstraint(load, -np.inf, load_hi)]
    lower = np.zeros(n_var)
    upper = np.full(n_var, np.inf) if model == "mclp" else np.ones(n_var)
    upper[:m] = 1.0
    if fixed is not None:
        lower[:m] = upper[:m] = fixed.astype("float64")
    else:
        count = sp.csr_matrix((np.ones(m), (np.zeros(m, dtype="int64"), np.arange(m))), shape=(1, n_var))
        constraints.append(LinearConstraint(count, p, p))
    integrality = np.zeros(n_var)
    if not relax:
        integrality[:m] = 1
        if model == "pmedian":
            integrality[m:] = 1  # single sourcing: each place to one centre, or none
    return c, constraints, integrality, Bounds(lower, upper)


def _solve_flow(flow, weight, model, p, cap, *, relax=False, fixed=None, time_limit=60.0):
    from scipy.optimize import linprog, milp  # on first use: 12 MB a server need not hold

    c, constraints, integrality, bounds = _flow_programme(flow, weight, model, p, cap, relax, fixed)
    if relax or (fixed is not None and model == "mclp"):
        a_ub, b_ub, a_eq, b_eq = _to_linprog(constraints)
        res = linprog(
            c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=list(zip(bounds.lb, bounds.ub, strict=True)),
            method="highs", options={"time_limit": time_limit},
        )  # fmt: skip
        return res
    return milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=bounds,
        options={"time_limit": time_limit, "disp": False},
    )


def _to_linprog(constraints):
    ub_rows, ub_vals, eq_rows, eq_vals = [], [], [], []
    for con in constraints:
        a = sp.csr_matrix(con.A)
        lb, ub = np.broadcast_to(con.lb, a.shape[0]), np.broadcast_to(con.ub, a.shape[0])
        eq = lb == ub
        if eq.any():
            eq_rows.append(a[eq])
            eq_vals.append(ub[eq])
        up = ~eq & np.isfinite(ub)
        if up.any():
            ub_rows.append(a[up])
            ub_vals.append(ub[up])
        lo = ~eq & np.isfinite(lb)
        if lo.any():
            ub_rows.append(-a[lo])
            ub_vals.append(-lb[lo])
    a_ub = sp.vstack(ub_rows, format="csr") if ub_rows else None
    a_eq = sp.vstack(eq_rows, format="csr") if eq_rows else None
    return (
        a_ub,
        np.concatenate(ub_vals) if ub_vals else None,
        a_eq,
        np.concatenate(eq_vals) if eq_vals else None,
    )


def _flow_value(res, model) -> float:
    return -float(res.fun) if model == "mclp" else float(res.fun)
