"""Where to license next: maximal covering (MCLP) and p-median over candidate places.

The maths works on arrays: demand weights per demand point, and the (demand point, candidate)
pairs within reach with their travel costs, as a sparse matrix. Existing centres are kept fixed:
in the uncapacitated models they enter as the demand they already cover (MCLP) or as each
demand point's cost to its nearest centre (p-median); in the capacitated models as facilities
that are always open, with their capacity. ``site_centres`` builds those arrays from an
analysis (the plumbing) and turns the answer back into frames.

Three ways to solve, reported in the result:

* ``exact``: a mixed-integer programme solved by HiGHS (``scipy.optimize.milp``), with HiGHS's
  own dual bound and gap when a time limit stops it;
* ``greedy``: the classic greedy for these submodular objectives (lazy evaluation), with an
  upper bound from a Lagrangian relaxation (subgradient) for the uncapacitated models or from
  the LP relaxation (HiGHS) for the capacitated ones; the gap to that bound is reported;
* ``auto``: the exact programme on small instances (≤ ``EXACT_MAX_PAIRS`` pairs), keeping the
  better of its answer and the greedy's if the time limit stops it; greedy and its bound on
  larger ones.

Models (weights ``w``, pairs ``(i, j)`` within reach, ``p`` new sites):

* MCLP: maximise the demand newly covered, Σ w_i z_i with z_i ≤ Σ_j y_j (Church & ReVelle 1974);
* p-median: minimise Σ w_i · cost to the nearest open centre, where each demand point's cost
  is capped (a place farther than ``cap`` from every centre counts as ``cap``); written as the
  savings over today's costs c0_i, maximise Σ w_i (c0_i − d_ij) x_ij with x_ij ≤ y_j;
* capacitated MCLP: maximise the persons served, Σ a_ij ≤ w_i per place and ≤ capacity per open
  centre (Current & Storbeck 1988), new and existing centres alike;
* capacitated p-median: each place assigned whole to one centre (x_ij binary, single sourcing
  as in spopt) with Σ_i w_i x_ij ≤ capacity, or left unassigned at cost ``cap``.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numba as nb
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.spatial import cKDTree

from geo.decisions import AnalysisInputError, check_service_type, fa_number
from geo.distance import Located, StraightLine, search_radius

MODELS = ("mclp", "pmedian")
METHODS = ("auto", "exact", "greedy")
#: ``auto`` solves exactly when the instance has at most this many pairs and candidates.
EXACT_MAX_PAIRS = 400_000
EXACT_MAX_CANDIDATES = 20_000
#: The most place–candidate pairs a model takes (about 150 MB at the peak; a few seconds).
MAX_PAIRS = 2_500_000
#: Gaps below this (relative) count as optimal.
GAP_TOLERANCE = 1e-9


@dataclass
class SitingSolution:
    """The answer of a siting model on arrays.

    ``chosen`` are candidate indices in the order the greedy picked them (for ``exact``, by
    decreasing marginal gain); ``gain`` the objective gained by each in that order.
    ``objective`` is the model's objective as the model states it (covered demand for MCLP,
    total weighted cost for p-median, served persons for capacitated MCLP); ``bound`` the best
    proven bound on it (upper for maximising models, lower for p-median), ``gap`` their
    relative difference (0 when optimal).
    """

    model: str
    method: str
    chosen: np.ndarray
    gain: np.ndarray
    objective: float
    bound: float
    gap: float
    optimal: bool
    seconds: float
    #: per demand point: the chosen candidate serving it (-1: none of the new ones)
    assigned: np.ndarray
    #: model-specific figures (baseline objective, persons served by new sites, …)
    details: dict = field(default_factory=dict)


def _relative_gap(value: float, bound: float) -> float:
    if not np.isfinite(bound):
        return float("inf")
    scale = max(abs(bound), abs(value), 1e-12)
    return max(0.0, abs(bound - value) / scale)


# --------------------------------------------------------------------------------------------
# Instances from a cost matrix (for tests and for anyone with their own matrix)
# --------------------------------------------------------------------------------------------


def pairs_from_cost_matrix(cost: np.ndarray, max_cost: float = np.inf):
    """The (demand, candidate, cost) pairs of a dense matrix with cost ≤ ``max_cost``."""
    cost = np.asarray(cost, dtype="float64")
    i, j = np.nonzero(cost <= max_cost)
    return i.astype("int64"), j.astype("int64"), cost[i, j]


# --------------------------------------------------------------------------------------------
# The shared core: maximise Σ_i max_{j ∈ S} b_ij over |S| = p (MCLP and p-median savings)
# --------------------------------------------------------------------------------------------


def _benefit_matrix(n: int, m: int, i: np.ndarray, j: np.ndarray, b: np.ndarray) -> sp.csc_matrix:
    keep = b > 0
    return sp.csc_matrix((b[keep], (i[keep], j[keep])), shape=(n, m))


def _greedy_max_benefit(benefit: sp.csc_matrix, p: int):
    """Greedy with lazy evaluation: the candidate adding most to Σ_i max_j b_ij, p times.

    Marginal gains only fall as sites are added (the objective is submodular), so a stale gain
    is an upper bound and a candidate whose fresh gain still tops the heap is the best.
    """
    n, m = benefit.shape
    current = np.zeros(n)
    indptr, rows, vals = benefit.indptr, benefit.indices, benefit.data
    gains = np.asarray(benefit.sum(axis=0)).ravel()
    heap = [(-g, c) for c, g in enumerate(gains) if g > 0]
    heapq.heapify(heap)
    fresh = np.full(m, -1)
    chosen, gained = [], []
    for step in range(min(p, m)):
        while heap:
            neg, c = heapq.heappop(heap)
            if fresh[c] == step:
                break
            r = rows[indptr[c] : indptr[c + 1]]
            g = float(np.maximum(vals[indptr[c] : indptr[c + 1]] - current[r], 0.0).sum())
            fresh[c] = step
            heapq.heappush(heap, (-g, c))
        else:
            break
        if -neg <= 0:
            break
        r = rows[indptr[c] : indptr[c + 1]]
        current[r] = np.maximum(current[r], vals[indptr[c] : indptr[c + 1]])
        chosen.append(c)
        gained.append(-neg)
    return np.array(chosen, dtype="int64"), np.array(gained), float(current.sum())


def _lagrangian_bound(benefit: sp.csc_matrix, p: int, lower: float, iterations: int = 200) -> float:
    """Upper bound on max Σ_i max_{j∈S} b_ij, |S| ≤ p, by relaxing Σ_j x_ij ≤ 1 (λ_i ≥ 0).

    L(λ) = Σ_i λ_i + the p largest of Σ_i max(0, b_ij − λ_i); minimised by subgradient steps
    (Polyak's rule towards ``lower``, the greedy's value). Every L(λ) is a valid bound.
    """
    n, m = benefit.shape
    if m == 0 or n == 0 or benefit.nnz == 0:
        return 0.0
    # Large instances get fewer steps (about 10⁸ pair visits in all): a weaker, still valid bound.
    iterations = int(np.clip(1e8 / benefit.nnz, 40, iterations))
    return float(
        _lagrangian_kernel(
            benefit.indptr.astype(np.int64),
            benefit.indices.astype(np.int64),
            benefit.data.astype(np.float64),
            n,
            min(p, m),
            float(lower),
            iterations,
            GAP_TOLERANCE,
        )
    )


@nb.njit(cache=True)
def _lagrangian_kernel(indptr, rows, vals, n, p, lower, iterations, tolerance):  # pragma: no cover - compiled
    m = len(indptr) - 1
    lam = np.zeros(n)
    # Start from each place's best benefit halved: between "all open" and "nothing relaxed".
    for j in range(m):
        for t in range(indptr[j], indptr[j + 1]):
            if vals[t] > lam[rows[t]]:
                lam[rows[t]] = vals[t]
    lam *= 0.5
    best = np.inf
    theta = 1.0
    since = 0
    column = np.zeros(m)
    grad = np.zeros(n)
    for _ in range(iterations):
        for j in range(m):
            total = 0.0
            for t in range(indptr[j], indptr[j + 1]):
                r = vals[t] - lam[rows[t]]
                if r > 0:
                    total += r
            column[j] = total
        top = np.argsort(-column)[:p]
        value = lam.sum() + column[top].sum()
        if value < best - 1e-12 * max(1.0, abs(value)):
            best = value
            since = 0
        else:
            since += 1
            if since >= 15:
                theta /= 2
                since = 0
        if best - lower <= tolerance * max(1.0, abs(best)) or theta < 1e-4:
            break
        grad[:] = 1.0
        for j in top:
            for t in range(indptr[j], indptr[j + 1]):
                if vals[t] > lam[rows[t]]:
                    grad[rows[t]] -= 1.0
        norm2 = (grad * grad).sum()
        if norm2 == 0:
            break
        step = theta * (value - lower) / norm2
        for i in range(n):
            lam[i] = max(lam[i] - step * grad[i], 0.0)
    return best


# --------------------------------------------------------------------------------------------
# Uncapacitated MCLP and p-median
# --------------------------------------------------------------------------------------------


def _milp_mclp(weight, coverage: sp.csr_matrix, p: int, time_limit: float):
    n, m = coverage.shape
    # Variables: y (m candidates, binary), z (n places, continuous 0..1: integral once y is).
    c = np.concatenate([np.zeros(m), -weight])
    link = sp.hstack([-coverage, sp.identity(n)], format="csr")  # z_i − Σ_j a_ij y_j ≤ 0
    count = sp.csr_matrix(np.concatenate([np.ones(m), np.zeros(n)])[None, :])
    constraints = [LinearConstraint(link, -np.inf, 0.0), LinearConstraint(count, p, p)]
    integrality = np.concatenate([np.ones(m), np.zeros(n)])
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    return res, m


def _milp_savings(n, m, pi, pj, savings, p, time_limit):
    k = len(pi)
    # Variables: y (m, binary), x (k pairs, 0..1).
    c = np.concatenate([np.zeros(m), -savings])
    rows = np.arange(k)
    link = sp.hstack(
        [sp.csr_matrix((-np.ones(k), (rows, pj)), shape=(k, m)), sp.identity(k, format="csr")], format="csr"
    )  # x_ij − y_j ≤ 0
    once = sp.hstack([sp.csr_matrix((n, m)), sp.csr_matrix((np.ones(k), (pi, rows)), shape=(n, k))])
    count = sp.csr_matrix(np.concatenate([np.ones(m), np.zeros(k)])[None, :])
    res = milp(
        c,
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(once, -np.inf, 1.0),
            LinearConstraint(count, p, p),
        ],
        integrality=np.concatenate([np.ones(m), np.zeros(k)]),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    return res


def _chosen_from_y(y: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.rint(y) > 0.5).astype("int64")


def _order_by_gain(benefit: sp.csc_matrix, chosen: np.ndarray):
    """Order a set of sites as the greedy would walk it, with each one's marginal gain."""
    sub = benefit[:, chosen]
    order, gains, _ = _greedy_max_benefit(sub.tocsc(), len(chosen))
    rest = np.setdiff1d(np.arange(len(chosen)), order)
    order = np.concatenate([order, rest])
    gains = np.concatenate([gains, np.zeros(len(rest))])
    return chosen[order], gains


def _assign_best(benefit: sp.csc_matrix, chosen: np.ndarray) -> np.ndarray:
    """Per demand point, the chosen candidate with the largest benefit (-1 if none)."""
    n = benefit.shape[0]
    out = np.full(n, -1, dtype="int64")
    if len(chosen) == 0:
        return out
    sub = benefit[:, chosen].tocsr()
    best = np.asarray(sub.max(axis=1).todense()).ravel()
    arg = np.asarray(sub.argmax(axis=1)).ravel()
    has = best > 0
    out[has] = chosen[arg[has]]
    return out


def _trivial_upper_bound(benefit: sp.csc_matrix, p: int) -> float:
    """An upper bound that needs no solver: every place at its best candidate, and no more than
    the ``p`` largest candidate totals. A reported bound is never weaker than this (for the
    p-median it is every place at its cheapest cost: a lower bound of at least zero)."""
    if benefit.nnz == 0:
        return 0.0
    best_per_place = float(benefit.max(axis=1).toarray().sum())
    per_candidate = np.sort(np.asarray(benefit.sum(axis=0)).ravel())
    return min(best_per_place, float(per_candidate[-p:].sum()) if p > 0 else 0.0)


def _solve_max_benefit(benefit, p, method, time_limit, exact):
    """Exact (``exact``: a callable returning chosen, objective, its bound and whether the solver
    proved it optimal) for ``exact``, and for ``auto`` on small instances; otherwise, or when the
    solver stops at its time limit, the greedy too, with the Lagrangian bound.

    The method reported says what the answer is: ``exact`` only when the solver proved it,
    ``incumbent`` for the solver's best when its time ran out, ``greedy`` for the greedy's. The
    bound is the tightest of the solver's, the Lagrangian and the trivial one."""
    m = benefit.shape[1]
    p = min(p, m)
    trivial = _trivial_upper_bound(benefit, p)
    small = benefit.nnz <= EXACT_MAX_PAIRS and m <= EXACT_MAX_CANDIDATES
    if method == "exact" or (method == "auto" and small):
        got = exact()
        if got is not None:
            ex_chosen, ex_value, ex_bound, proven = got
            if proven:
                chosen, gains = _order_by_gain(benefit, ex_chosen)
                return chosen, gains, ex_value, ex_value, "exact"
            # Stopped by the time limit: the better of its incumbent and the greedy.
            chosen, gains, value = _greedy_max_benefit(benefit, p)
            best = max(value, ex_value)
            bound = min(ex_bound, _lagrangian_bound(benefit, p, best), trivial)
            if ex_value >= value:
                chosen, gains = _order_by_gain(benefit, ex_chosen)
                return chosen, gains, ex_value, max(bound, ex_value), "incumbent"
            return chosen, gains, value, max(bound, value), "greedy"
    chosen, gains, value = _greedy_max_benefit(benefit, p)
    bound = min(_lagrangian_bound(benefit, p, value), trivial) if len(chosen) else 0.0
    return chosen, gains, value, max(bound, value), "greedy"


def _milp_outcome(res, value: float) -> tuple[float, bool]:
    """The bound a stopped or finished MILP (minimising the negated benefit) proves on the
    benefit, and whether it proved its answer optimal (status 0); no dual bound: none proven."""
    if res.status == 0:
        return value, True
    dual = getattr(res, "mip_dual_bound", None)
    return (-float(dual) if dual is not None and np.isfinite(dual) else np.inf), False


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
    """
    started = time.perf_counter()
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
        res, m = _milp_mclp(open_weight[rows], cov, min(p, n_candidates), time_limit)
        if res.x is None:
            return None
        value = float(open_weight[rows] @ np.minimum(cov @ np.rint(res.x[:m]), 1.0))
        return _chosen_from_y(res.x[:m]), value, *_milp_outcome(res, value)

    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    chosen, gains, value, bound, used = _solve_max_benefit(benefit, p, method, time_limit, exact)
    gap = _relative_gap(value, bound)
    return SitingSolution(
        model="mclp",
        method=used,
        chosen=chosen,
        gain=gains,
        objective=value,
        bound=bound,
        gap=gap,
        optimal=gap <= GAP_TOLERANCE,
        seconds=time.perf_counter() - started,
        assigned=_assign_best(benefit, chosen),
        details={
            "covered_before": already,
            "covered_after": already + value,
            "demand_total": float(weight.sum()),
        },
    )


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
) -> SitingSolution:
    """p-median with existing centres fixed: ``p`` candidates minimising Σ w_i · cost_i.

    ``base_cost`` is each demand point's cost to its nearest existing centre (``inf`` if none);
    costs are capped at ``cap`` (default: above every pair's cost, so that every place is
    assigned). ``objective`` is the total weighted cost after the new sites; ``bound`` a
    lower bound on it.
    """
    started = time.perf_counter()
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
        res = _milp_savings(n, n_candidates, si, sj, sv, min(p, n_candidates), time_limit)
        if res.x is None:
            return None
        chosen = _chosen_from_y(res.x[:n_candidates])
        value = float(_assign_value(benefit, chosen))
        return chosen, value, *_milp_outcome(res, value)

    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    chosen, gains, saved, bound, used = _solve_max_benefit(benefit, p, method, time_limit, exact)
    objective = total_before - saved
    lower = total_before - bound
    gap = _relative_gap(objective, lower)
    return SitingSolution(
        model="pmedian",
        method=used,
        chosen=chosen,
        gain=gains,
        objective=objective,
        bound=lower,
        gap=gap,
        optimal=gap <= GAP_TOLERANCE,
        seconds=time.perf_counter() - started,
        assigned=_assign_best(benefit, chosen),
        details={"cost_before": total_before, "cost_after": objective, "cap": cap},
    )


def _assign_value(benefit: sp.csc_matrix, chosen: np.ndarray) -> float:
    if len(chosen) == 0:
        return 0.0
    return float(np.asarray(benefit[:, chosen].tocsr().max(axis=1).todense()).sum())


# --------------------------------------------------------------------------------------------
# Capacitated MCLP and p-median
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flow:
    """Pairs of a capacitated instance over facilities = existing (fixed) + candidates."""

    n: int
    n_existing: int
    n_candidates: int
    i: np.ndarray
    f: np.ndarray  # facility index: existing first, then candidates
    cost: np.ndarray
    capacity: np.ndarray  # per facility


def _flow_programme(flow: _Flow, weight, model, p, cap, relax, fixed=None):
    """The capacitated programme; ``fixed`` (bool per candidate) fixes y; ``relax`` drops integrality.

    Variables: y (candidates), then per pair a_k (persons for MCLP, fraction for p-median),
    then for p-median u_i (unassigned fraction).
    """
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
    weight = np.asarray(weight, dtype="float64")
    e, m = flow.n_existing, flow.n_candidates
    p = min(p, m)
    baseline = _solve_flow(flow, weight, model, 0, cap, fixed=np.zeros(m, dtype=bool), time_limit=time_limit)
    base_value = _flow_value(baseline, model)
    maximise = model == "mclp"

    def value_of(chosen):
        fixed = np.zeros(m, dtype=bool)
        fixed[chosen] = True
        return _flow_value(
            _solve_flow(flow, weight, model, p, cap, fixed=fixed, time_limit=time_limit), model
        )

    small = len(flow.i) <= EXACT_MAX_PAIRS // 4 and m <= EXACT_MAX_CANDIDATES // 4
    used = "greedy"
    if method == "exact" or (method == "auto" and small):
        res = _solve_flow(flow, weight, model, p, cap, time_limit=time_limit)
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
                relaxed = _solve_flow(flow, weight, model, p, cap, relax=True, time_limit=time_limit)
                bound = _flow_value(relaxed, model) if relaxed.status == 0 else (np.inf if maximise else 0.0)
        x = res.x
    else:
        chosen = _greedy_capacitated(flow, weight, model, p, cap, baseline)
        value = value_of(chosen)
        relaxed = _solve_flow(flow, weight, model, p, cap, relax=True, time_limit=time_limit)
        bound = _flow_value(relaxed, model) if relaxed.status == 0 else (np.inf if maximise else -np.inf)
        fixed = np.zeros(m, dtype=bool)
        fixed[chosen] = True
        x = _solve_flow(flow, weight, model, p, cap, fixed=fixed, time_limit=time_limit).x
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


def _greedy_capacitated(flow: _Flow, weight, model, p, cap, baseline) -> np.ndarray:
    """Greedy for the capacitated models: p times, the candidate whose capacity, filled
    nearest-first from the demand still unserved, gains most (lazily re-evaluated: gains only
    fall as demand is served)."""
    e, m, n = flow.n_existing, flow.n_candidates, flow.n
    k = len(flow.i)
    x = baseline.x
    # Demand the existing centres leave over, and the saving per unit of serving it.
    if model == "mclp":
        served = np.bincount(flow.i, weights=x[m : m + k], minlength=n)
        residual = np.maximum(weight - served, 0.0)
        unit = np.ones(k)
    else:
        residual = weight * x[m + k :]  # unassigned, at cost cap
        unit = cap - flow.cost
    cand = flow.f >= e
    ci, cj, cu, cc = flow.i[cand], flow.f[cand] - e, unit[cand], flow.cost[cand]
    order = np.lexsort((cc, cj))
    ci, cj, cu = ci[order], cj[order], cu[order]
    starts = np.searchsorted(cj, np.arange(m + 1))
    capacity = flow.capacity[e:]

    def fill(j):
        s, t = starts[j], starts[j + 1]
        filled = np.minimum(np.cumsum(residual[ci[s:t]]), capacity[j])
        take = np.diff(np.concatenate([[0.0], filled]))
        return float((take * cu[s:t]).sum()), take

    heap = [(-fill(j)[0], j) for j in range(m)]
    heapq.heapify(heap)
    chosen: list[int] = []
    step = 0
    fresh = np.full(m, -1)
    while heap and len(chosen) < p:
        neg, j = heapq.heappop(heap)
        if fresh[j] != step:
            gain, _ = fill(j)
            fresh[j] = step
            heapq.heappush(heap, (-gain, j))
            continue
        if -neg <= 0:
            heapq.heappush(heap, (neg, j))
            break
        _, take = fill(j)
        s, t = starts[j], starts[j + 1]
        np.subtract.at(residual, ci[s:t], take)
        np.maximum(residual, 0.0, out=residual)
        chosen.append(j)
        step += 1
    if len(chosen) < p:  # nothing left to gain: fill with the largest remaining capacities
        rest = [j for j in np.argsort(-capacity, kind="stable") if j not in set(chosen)]
        chosen.extend(rest[: p - len(chosen)])
    return np.array(chosen, dtype="int64")


# --------------------------------------------------------------------------------------------
# From the analysis: candidates, demand and existing centres of a service type
# --------------------------------------------------------------------------------------------

SITE_COLUMNS = [
    "rank",
    "settlement_code",
    "name_fa",
    "county_code",
    "province_code",
    "kind",
    "population",
    "capacity",
    "gain",
    "target_population_reached",
    "lon",
    "lat",
]


@dataclass
class SitingPlan:
    """A siting answer in the terms of the data: proposed sites and a summary."""

    sites: gpd.GeoDataFrame
    summary: dict
    #: per demand settlement newly served by a proposed site: settlement_code, site_code, km, persons
    assignments: pd.DataFrame


def travel_of(analysis) -> StraightLine:
    """The travel cost the analysis used (``StraightLine``, or ``geo.roads.RoadNetwork`` in minutes)."""
    return getattr(analysis, "travel", None) or StraightLine(analysis.norms.detour_factor)


def _subset(located: Located, idx: np.ndarray) -> Located:
    return located.take(idx)


def check_pair_count(origins: Located, destinations: Located, radius_m: float, what: str) -> int:
    """Refuse an instance whose pairs within ``radius_m`` would not fit in memory.

    Counts the pairs within the radius as the crow flies (a travel cost is never shorter, so
    this bounds the pairs of any travel cost) without storing them.
    """
    if len(origins) == 0 or len(destinations) == 0:
        return 0
    k_max = max(origins.k.max(), destinations.k.max())
    small, large = (origins, destinations) if len(origins) <= len(destinations) else (destinations, origins)
    counts = cKDTree(large.xy).query_ball_point(
        small.xy, search_radius(radius_m, 1.0, k_max), return_length=True
    )
    total = int(np.sum(counts))
    if total > MAX_PAIRS:
        raise AnalysisInputError(
            f"{what}: about {total:,} pairs within {radius_m / 1000:g} km, more than {MAX_PAIRS:,}; "
            "choose a province, fewer candidates or a shorter distance"
        )
    return total


def site_centres(
    analysis,
    service_type: str,
    k: int,
    *,
    model: str = "mclp",
    province: str | None = None,
    candidates: list[str] | None = None,
    capacity: int | None = None,
    capacitated: bool = False,
    cap_km: float | None = None,
    cap_min: float | None = None,
    method: str = "auto",
    time_limit: float = 60.0,
) -> SitingPlan:
    """Where ``k`` new centres of ``service_type`` would serve the target population best.

    Candidates are the settlements flagged as underserved for the service (in ``province``, or
    the whole country), or the given settlement codes. Demand is the target population of the
    service at every settlement of the province (or country); the active centres of the
    service stay where they are. ``model`` is ``mclp`` (cover the most target persons within
    the catchment) or ``pmedian`` (least total travel to the nearest centre, capped at
    ``cap_km``, default twice the norm's maximum distance; on roads ``cap_min``, default twice
    the norm's ``max_travel_min``). Travel is the analysis' cost (minutes on roads); the
    assignments give kilometres of travel (straight line × detour) and, on roads, minutes.
    ``capacitated`` limits what each
    centre serves to its capacity (new ones: ``capacity``, default the median of the service's
    active centres); demand is then counted in capacity (target persons × the norm's
    ``norm_per_10k`` / 10,000) and the objective is capacity used.
    """
    check_service_type(service_type)
    if capacitated and province is None:
        raise AnalysisInputError("the capacitated models run for one province: choose a province")
    if model not in MODELS:
        raise AnalysisInputError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise AnalysisInputError(f"the number of new sites must be a positive whole number, not {k}")
    k = int(k)
    norm = analysis.norms.services[service_type]
    travel = travel_of(analysis)
    s = analysis.settlements
    codes = s["settlement_code"].to_numpy()
    in_scope = (
        np.ones(len(s), dtype=bool) if province is None else (s["province_code"] == province).to_numpy()
    )
    if province is not None and not in_scope.any():
        raise AnalysisInputError(f"no settlements in province {province!r}")
    if candidates is None:
        flagged = analysis.flags[analysis.flags["service_type"] == service_type]
        cand = np.sort(s.index.get_indexer(flagged.index))
        cand = cand[in_scope[cand]]
        source = "flagged"
    else:
        position = pd.Series(np.arange(len(s)), index=codes)
        unknown = [c for c in candidates if c not in position.index]
        if unknown:
            raise AnalysisInputError(
                f"unknown settlement codes among the candidates: {', '.join(unknown[:5])}"
            )
        cand = np.unique(position.loc[list(candidates)].to_numpy())
        source = "given"
    if len(cand) == 0:
        raise AnalysisInputError(f"no candidate places for {service_type} in this area")
    demand_idx = np.flatnonzero(in_scope)
    weight = analysis.demand[service_type].to_numpy(dtype="float64")[demand_idx]
    places = _subset(analysis.licence_index.places, demand_idx)
    sites = _subset(analysis.licence_index.places, cand)
    providers = analysis.licence_index.providers.get(service_type)
    existing_capacity = providers[2]["capacity"].to_numpy(dtype="float64") if providers else np.zeros(0)
    if capacity is None:
        capacity = int(np.median(existing_capacity)) if len(existing_capacity) else 50
    if capacity <= 0:
        raise AnalysisInputError(f"capacity must be positive, not {capacity}")
    unit = travel.unit
    catchment = norm.catchment(unit)
    if unit == "min":
        if cap_km is not None:
            raise AnalysisInputError("on roads the p-median cap is a travel time: give cap_min")
        cap_m = float(cap_min) if cap_min is not None else 2.0 * norm.max_cost("min")
    else:
        if cap_min is not None:
            raise AnalysisInputError("on the straight line the p-median cap is a distance: give cap_km")
        cap_m = 1000.0 * (cap_km if cap_km is not None else 2.0 * norm.max_distance_km)
    reach = catchment if model == "mclp" else cap_m

    check_pair_count(places, sites, travel.reach_m(reach) if unit == "min" else reach, "siting")
    pi, pj, pc = travel.pairs(places, sites, reach)
    if (capacitated or method == "exact") and len(pi) > EXACT_MAX_PAIRS:
        what = "the capacitated models" if capacitated else "the exact solver"
        raise AnalysisInputError(
            f"this instance has {len(pi):,} place–candidate pairs; {what} take at most {EXACT_MAX_PAIRS:,} "
            "(choose a province, fewer candidates or a smaller cap_km; the greedy method has no limit)"
        )
    if capacitated:
        # Capacity serves a share of the target persons (the norm's rate): demand in capacity units.
        need = weight * norm.per_person
        ei, ej, ec = (np.zeros(0, dtype="int64"),) * 2 + (np.zeros(0),)
        if providers:
            ei, ej, ec = travel.pairs(places, providers[0], reach)
        e = len(existing_capacity)
        flow = _Flow(
            n=len(demand_idx),
            n_existing=e,
            n_candidates=len(cand),
            i=np.concatenate([ei, pi]).astype("int64"),
            f=np.concatenate([ej, pj + e]).astype("int64"),
            cost=np.concatenate([ec, pc]),
            capacity=np.concatenate([existing_capacity, np.full(len(cand), float(capacity))]),
        )
        sol = capacitated_siting(model, need, flow, k, cap=cap_m, method=method, time_limit=time_limit)
    elif model == "mclp":
        covered = analysis.access.covered[service_type].to_numpy()[demand_idx]
        sol = mclp(weight, pi, pj, len(cand), k, covered=covered, method=method, time_limit=time_limit)
    else:
        nearest = analysis.access.nearest_cost if unit == "min" else analysis.access.nearest_m
        base = nearest[service_type].to_numpy()[demand_idx]
        sol = p_median(
            weight, pi, pj, pc, len(cand), k, base_cost=base, cap=cap_m, method=method, time_limit=time_limit
        )

    chosen = cand[sol.chosen]
    lonlat = analysis.licence_index.lonlat
    reached = _reached(pi, pj, weight, sol.chosen, len(cand))
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "settlement_code": codes[chosen],
            "name_fa": s["name_fa"].to_numpy()[chosen],
            "county_code": s["county_code"].to_numpy()[chosen],
            "province_code": s["province_code"].to_numpy()[chosen],
            "kind": s["kind"].to_numpy()[chosen],
            "population": s["population"].to_numpy()[chosen],
            "capacity": int(capacity),
            "gain": sol.gain,
            "target_population_reached": reached,
            "lon": lonlat[chosen, 0],
            "lat": lonlat[chosen, 1],
        }
    )
    sites_frame = gpd.GeoDataFrame(frame, geometry=s.geometry.to_numpy()[chosen], crs=s.crs)
    hit = sol.assigned >= 0
    # Distance from each newly served place to its site, for the map's lines.
    a_i = np.flatnonzero(hit)
    a_j = sol.assigned[hit]
    # Each (place, site) pair once: the sparse matrix of costs answers the lookups.
    pair_cost = sp.csr_matrix((pc + 1e-9, (pi, pj)), shape=(len(demand_idx), len(cand)))
    cost = np.asarray(pair_cost[a_i, a_j]).ravel() - 1e-9
    if unit == "min":
        # Kilometres along the fastest route (its minutes are the cost).
        km = travel.route_metres(places, sites, a_i, a_j, reach) / 1000.0
        minutes = cost
    else:
        km, minutes = (cost + 1e-9) / 1000.0, np.full(len(a_i), np.nan)
    assignments = pd.DataFrame(
        {
            "settlement_code": codes[demand_idx[a_i]],
            "site_code": codes[cand[a_j]],
            "km": km,
            "minutes": minutes,
            "target_population": weight[a_i],
        }
    )
    summary = {
        "service_type": service_type,
        "province_code": province,
        "model": ("capacitated_" if capacitated else "") + model,
        "method": sol.method,
        "new_sites": len(chosen),
        "candidates": len(cand),
        "candidate_source": source,
        "demand_points": len(demand_idx),
        "pairs": len(pi),
        "existing_centres": len(existing_capacity),
        "capacity_per_new_site": int(capacity),
        "catchment_km": norm.catchment_km,
        "cap_km": cap_m / 1000.0 if model == "pmedian" and unit == "m" else None,
        "catchment_min": norm.catchment_min if unit == "min" else None,
        "cap_min": cap_m if model == "pmedian" and unit == "min" else None,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "optimal": sol.optimal,
        "seconds": sol.seconds,
        "target_population": float(weight.sum()),
        "travel": type(travel).__name__,
        "norms_version": analysis.norms.version,
        **_border_notes(province, capacitated),
        **sol.details,
    }
    return SitingPlan(sites=sites_frame, summary=summary, assignments=assignments)


def _border_notes(province: str | None, capacitated: bool) -> dict[str, str | None]:
    """What a province's siting counts at its border, said in the answer (None: the country)."""
    if province is None:
        return {"border_note_en": None, "border_note_fa": None}
    en = (
        f"Only the target persons of province {province} count; active centres of neighbouring "
        "provinces within reach count as serving them"
    )
    fa = (
        f"فقط جمعیت هدف استان {fa_number(int(province))} شمرده شده است؛ مراکز فعال استان‌های همسایه که در دسترس‌اند "
        "خدمت‌رسان به آن‌ها به حساب آمده‌اند"
    )
    if capacitated:
        en += " with their whole capacity, though they also serve their own province"
        fa += "، با همهٔ ظرفیتشان، هرچند به استان خود نیز خدمت می‌دهند"
    return {"border_note_en": en + ".", "border_note_fa": fa + "."}


def _reached(pi, pj, weight, chosen, m) -> np.ndarray:
    """Target persons within reach of each chosen site (whether or not already covered)."""
    per = np.bincount(pj, weights=weight[pi], minlength=m)
    return np.rint(per[chosen]).astype("int64") if len(chosen) else np.zeros(0, dtype="int64")
