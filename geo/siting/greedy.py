"""The greedy heuristics: sites added one at a time, the one that gains most first.

For the uncapacitated models (the benefit matrix of ``problem.py``) the objective is submodular,
so marginal gains only fall as sites are added and the greedy evaluates them lazily;
``_order_by_gain`` walks any set of sites (the exact solver's too) in the greedy's order, with
each one's marginal gain. For the capacitated models (``problem._Flow``) a candidate's gain is
its capacity filled nearest-first from the demand still unserved. These give answers, not
proofs: the bounds that measure them are in ``bounds.py`` (and the LP relaxation in
``models.py``); ``solve.py`` decides when the greedy runs.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp

from geo.siting.problem import _Flow


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


def _greedy_budgeted(benefit: sp.csc_matrix, p: int, cost: np.ndarray, budget: float):
    """Greedy under a budget (Σ cost ≤ ``budget``) and at most ``p`` sites: the affordable
    candidate with the most gain per cost, lazily re-evaluated; then, as Khuller, Moss & Naor
    (1999) do for budgeted maximum coverage, the best single affordable site alone, and the
    better of the two kept (the ratio greedy alone can be arbitrarily bad: one cheap site of
    little gain may crowd out the one dear site worth all).

    A stale ratio is an upper bound (gains only fall as sites are added, costs stay), and a
    candidate that is unaffordable stays so (what is left of the budget only falls).
    """
    n, m = benefit.shape
    current = np.zeros(n)
    indptr, rows, vals = benefit.indptr, benefit.indices, benefit.data
    alone = np.asarray(benefit.sum(axis=0)).ravel()
    # A free site's ratio is infinite: a tiny cost keeps it first without dividing by zero.
    per = np.maximum(np.asarray(cost, dtype="float64"), 1e-12)
    heap = [(-alone[c] / per[c], c) for c in range(m) if alone[c] > 0 and cost[c] <= budget]
    heapq.heapify(heap)
    fresh = np.full(m, -1)
    last = np.zeros(m)  # each candidate's gain when last evaluated
    left = float(budget)
    chosen: list[int] = []
    gained: list[float] = []
    step = 0
    while heap and len(chosen) < p:
        _, c = heapq.heappop(heap)
        if cost[c] > left:
            continue
        r = rows[indptr[c] : indptr[c + 1]]
        if fresh[c] != step:
            g = float(np.maximum(vals[indptr[c] : indptr[c + 1]] - current[r], 0.0).sum())
            fresh[c] = step
            last[c] = g
            if g > 0:
                heapq.heappush(heap, (-g / per[c], c))
            continue
        g = last[c]
        current[r] = np.maximum(current[r], vals[indptr[c] : indptr[c + 1]])
        chosen.append(c)
        gained.append(g)
        left -= cost[c]
        step += 1
    value = float(current.sum())
    affordable = np.flatnonzero((cost <= budget) & (alone > 0))
    if p >= 1 and len(affordable):
        single = int(affordable[np.argmax(alone[affordable])])
        if alone[single] > value:
            return np.array([single], dtype="int64"), np.array([alone[single]]), float(alone[single])
    return np.array(chosen, dtype="int64"), np.array(gained, dtype="float64"), value


def _order_by_gain(benefit: sp.csc_matrix, chosen: np.ndarray):
    """Order a set of sites as the greedy would walk it, with each one's marginal gain."""
    sub = benefit[:, chosen]
    order, gains, _ = _greedy_max_benefit(sub.tocsc(), len(chosen))
    rest = np.setdiff1d(np.arange(len(chosen)), order)
    order = np.concatenate([order, rest])
    gains = np.concatenate([gains, np.zeros(len(rest))])
    return chosen[order], gains


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
