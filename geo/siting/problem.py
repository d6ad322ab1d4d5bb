"""A siting problem on arrays, and the shape of its answer.

Every model comes down to arrays: demand weights per demand point, and the (demand point,
candidate) pairs within reach with their travel costs (``pairs_from_cost_matrix`` makes them from
a dense matrix, for tests and for anyone with their own matrix). The uncapacitated models share
one core, the benefit matrix (``_benefit_matrix``): choose ``p`` candidates ``S`` maximising
Σ_i max_{j ∈ S} b_ij, where b_ij is the demand candidate j newly covers at place i (MCLP) or the
weighted saving over the place's cost today (p-median); ``_assign_best`` and ``_assign_value``
read a set of sites off it. The capacitated models work on ``_Flow``: the pairs over the existing
centres and the candidates, with each one's capacity.

``SitingSolution`` is what every solver returns; its ``method`` says what the answer is
(``exact``, ``incumbent`` or ``greedy``, decided in ``solve.py``). The limits here are read by the
solvers and by ``plan.py``. This module imports nothing of the others in ``geo.siting``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

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


def pairs_from_cost_matrix(cost: np.ndarray, max_cost: float = np.inf):
    """The (demand, candidate, cost) pairs of a dense matrix with cost ≤ ``max_cost``."""
    cost = np.asarray(cost, dtype="float64")
    i, j = np.nonzero(cost <= max_cost)
    return i.astype("int64"), j.astype("int64"), cost[i, j]


def _benefit_matrix(n: int, m: int, i: np.ndarray, j: np.ndarray, b: np.ndarray) -> sp.csc_matrix:
    keep = b > 0
    return sp.csc_matrix((b[keep], (i[keep], j[keep])), shape=(n, m))


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


def _assign_value(benefit: sp.csc_matrix, chosen: np.ndarray) -> float:
    if len(chosen) == 0:
        return 0.0
    return float(np.asarray(benefit[:, chosen].tocsr().max(axis=1).todense()).sum())


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
