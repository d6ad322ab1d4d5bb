"""Where to license next: maximal covering (MCLP) and p-median over candidate places.

Models (weights ``w``, pairs ``(i, j)`` within reach, ``p`` new sites), the existing centres
kept fixed:

* MCLP: maximise the demand newly covered, Σ w_i z_i with z_i ≤ Σ_j y_j (Church & ReVelle 1974);
* p-median: minimise Σ w_i · cost to the nearest open centre, where each demand point's cost
  is capped (a place farther than ``cap`` from every centre counts as ``cap``); written as the
  savings over today's costs c0_i, maximise Σ w_i (c0_i − d_ij) x_ij with x_ij ≤ y_j;
* capacitated MCLP: maximise the persons served, Σ a_ij ≤ w_i per place and ≤ capacity per open
  centre (Current & Storbeck 1988), new and existing centres alike;
* capacitated p-median: each place assigned whole to one centre (x_ij binary, single sourcing
  as in spopt) with Σ_i w_i x_ij ≤ capacity, or left unassigned at cost ``cap``.

Three ways to solve, reported in the result: ``exact`` (the mixed-integer programme, HiGHS),
``greedy`` (with a proven bound and the gap to it), and ``auto`` (exact on small instances).

The package, each module readable alone, in the order they build on each other:

* ``problem.py``: the inputs on arrays (pairs, the benefit matrix, the capacitated ``_Flow``),
  the answer (``SitingSolution``) and the limits;
* ``greedy.py``: the greedy heuristics; ``bounds.py``: the Lagrangian and trivial bounds and the
  gap; ``models.py``: the mixed-integer programmes;
* ``solve.py``: ``mclp``, ``p_median`` and ``capacitated_siting``, which choose among those,
  keep to the time limit and label the answer ``exact``, ``incumbent`` or ``greedy``;
* ``plan.py``: ``site_centres``, from an analysis to the arrays and back to frames.

Here are the names the rest of the project uses.
"""

from geo.siting.plan import SitingPlan, check_pair_count, site_centres, travel_of
from geo.siting.problem import SitingSolution, pairs_from_cost_matrix
from geo.siting.solve import capacitated_siting, mclp, p_median

__all__ = [
    "SitingPlan",
    "SitingSolution",
    "capacitated_siting",
    "check_pair_count",
    "mclp",
    "p_median",
    "pairs_from_cost_matrix",
    "site_centres",
    "travel_of",
]
