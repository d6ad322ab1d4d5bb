"""Splitting whole numbers in proportion to weights so that the parts sum back exactly.

Hamilton's method of largest remainders, written once: floor the exact quotas, then hand the
units still missing to the largest fractional parts. People, target populations and NGO counts
are whole numbers; a split that rounds each part alone loses or invents some.
"""

from __future__ import annotations

import numba as nb
import numpy as np


def largest_remainder_by_group(
    totals: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    tiebreak: np.ndarray | None = None,
) -> np.ndarray:
    """Split each group's integer total over its members in proportion to their weights.

    Parameters
    ----------
    totals
        One non-negative integer per group.
    weights
        One finite non-negative weight per member.
    groups
        Each member's group (a position in ``totals``); ``-1``: no group, the member gets 0.
    tiebreak
        Equal fractional parts go to the smaller ``tiebreak`` first (default: the earlier member).

    Returns
    -------
    numpy.ndarray
        Integer parts aligned with ``weights``; each group's parts sum to its total. A group
        whose weights are all zero is split evenly.
    """
    totals = np.asarray(totals, dtype="int64")
    weights = np.asarray(weights, dtype="float64")
    groups = np.asarray(groups, dtype="int64")
    n, n_groups = len(weights), len(totals)
    known = groups >= 0
    g = np.maximum(groups, 0)
    weight_sum = np.bincount(g[known], weights=weights[known], minlength=n_groups)
    size = np.bincount(g[known], minlength=n_groups)
    even = weight_sum[g] == 0
    numerator = np.where(even, 1.0, weights)
    denominator = np.where(even, np.maximum(size[g], 1), weight_sum[g])
    quota = np.where(known, totals[g] * (numerator / np.where(denominator == 0, 1, denominator)), 0.0)
    parts = np.floor(quota).astype("int64")
    short = totals - np.bincount(g[known], weights=parts[known], minlength=n_groups).astype("int64")
    if tiebreak is None:
        tiebreak = np.arange(n)
    # The members of each group in tiebreak order (those of no group left out), then within
    # each group the largest fractional parts take the units still missing.
    members = np.lexsort((tiebreak, groups))[np.count_nonzero(~known) :]
    starts = np.r_[0, np.cumsum(size)]
    _give_remainders(members, starts, quota - parts, short, parts)
    return parts


@nb.njit(cache=True, nogil=True)
def _give_remainders(members, starts, fraction, short, parts):
    """One more unit to each of the ``short[g]`` members of group ``g`` with the largest
    ``fraction`` (``members[starts[g]:starts[g + 1]]``, in tiebreak order: a stable sort keeps
    it among equal fractions)."""
    for g in range(len(starts) - 1):
        group = members[starts[g] : starts[g + 1]]
        if short[g] <= 0 or len(group) == 0:
            continue
        ranked = group[np.argsort(-fraction[group], kind="mergesort")]
        for r in range(min(short[g], len(group))):
            parts[ranked[r]] += 1


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split the integer ``total`` in proportion to ``weights`` so that the parts sum to ``total``.

    Ties go to the earlier position, so the result is deterministic. Zero weights get zero
    unless every weight is zero, in which case the split is even.
    """
    weights = np.asarray(weights, dtype="float64")
    if total < 0:
        raise ValueError("total must be non-negative")
    if len(weights) == 0:
        if total:
            raise ValueError("cannot split a positive total over no parts")
        return np.zeros(0, dtype="int64")
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError("weights must be finite and non-negative")
    return largest_remainder_by_group(np.array([total]), weights, np.zeros(len(weights), dtype="int64"))
