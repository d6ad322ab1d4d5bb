"""Bounds on the uncapacitated models proved without the exact solver, and the gap to them.

Both bound max Σ_i max_{j ∈ S} b_ij over |S| ≤ p from above (the benefit matrix of
``problem.py``): ``_lagrangian_bound`` relaxes "each place served once" with multipliers
λ_i ≥ 0 and lowers them by subgradient steps in a compiled kernel (numba);
``_trivial_upper_bound`` needs no solver at all. For the p-median, whose savings they bound,
``solve.py`` turns them into a lower bound on the cost. The capacitated models are bounded by
their LP relaxation instead (``models.py``). ``_relative_gap`` is the gap every answer reports.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

from geo.siting.problem import GAP_TOLERANCE


def _relative_gap(value: float, bound: float) -> float:
    if not np.isfinite(bound):
        return float("inf")
    scale = max(abs(bound), abs(value), 1e-12)
    return max(0.0, abs(bound - value) / scale)


def _trivial_upper_bound(benefit: sp.csc_matrix, p: int) -> float:
    """An upper bound that needs no solver: every place at its best candidate, and no more than
    the ``p`` largest candidate totals. A reported bound is never weaker than this (for the
    p-median it is every place at its cheapest cost: a lower bound of at least zero)."""
    if benefit.nnz == 0:
        return 0.0
    best_per_place = float(benefit.max(axis=1).toarray().sum())
    per_candidate = np.sort(np.asarray(benefit.sum(axis=0)).ravel())
    return min(best_per_place, float(per_candidate[-p:].sum()) if p > 0 else 0.0)


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
