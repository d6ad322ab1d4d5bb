"""Compiled kernels (numba) for the straight-line E2SFCA on the whole country.

The pairs of settlements and providers within a catchment are never stored: both sets are
bucketed once in a grid of catchment-sized cells, and each step of the E2SFCA walks the 3×3
cells around a point, computing ground costs and decay weights on the fly. The answer is the
same as ``geo.access.e2sfca_from_pairs`` on the pairs from ``StraightLine.pairs`` (tests hold
them to 1e-12) without the memory of ten million pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from geo.distance import Located


@dataclass(frozen=True)
class Grid:
    """Points bucketed in square cells: ``order`` lists point indices cell by cell."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    order: np.ndarray
    starts: np.ndarray

    @classmethod
    def build(cls, xy: np.ndarray, bounds: tuple[float, float, float, float], cell: float) -> Grid:
        x0, y0, x1, y1 = bounds
        nx = int((x1 - x0) // cell) + 1
        ny = int((y1 - y0) // cell) + 1
        order, starts = _bucket(xy, x0, y0, cell, nx, ny)
        return cls(x0, y0, cell, nx, ny, order, starts)


@nb.njit(cache=True)
def _bucket(xy, x0, y0, cell, nx, ny):
    n = xy.shape[0]
    keys = np.empty(n, np.int64)
    for i in range(n):
        cx = int((xy[i, 0] - x0) // cell)
        cy = int((xy[i, 1] - y0) // cell)
        keys[i] = cx * ny + cy
    order = np.argsort(keys, kind="mergesort")
    starts = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        starts[keys[i] + 1] += 1
    for c in range(nx * ny):
        starts[c + 1] += starts[c]
    return order, starts


@nb.njit(parallel=True, cache=True)
def _gather(qxy, qk, pxy, pk, values, order, starts, x0, y0, cell, nx, ny, catchment, detour, inv2s2):
    """For each query point q: Σ values[p] · W(cost(q, p)) over points p within the catchment,
    and how many such p there are."""
    m = qxy.shape[0]
    total = np.zeros(m)
    count = np.zeros(m, np.int64)
    search2 = cell * cell
    for q in nb.prange(m):
        cx = int((qxy[q, 0] - x0) // cell)
        cy = int((qxy[q, 1] - y0) // cell)
        acc = 0.0
        hits = 0
        for ax in range(max(cx - 1, 0), min(cx + 2, nx)):
            for ay in range(max(cy - 1, 0), min(cy + 2, ny)):
                c = ax * ny + ay
                for t in range(starts[c], starts[c + 1]):
                    p = order[t]
                    dx = pxy[p, 0] - qxy[q, 0]
                    dy = pxy[p, 1] - qxy[q, 1]
                    d2 = dx * dx + dy * dy
                    if d2 <= search2:
                        cost = math.sqrt(d2) / (0.5 * (pk[p] + qk[q])) * detour
                        if cost <= catchment:
                            acc += values[p] * math.exp(-cost * cost * inv2s2)
                            hits += 1
        total[q] = acc
        count[q] = hits
    return total, count


def e2sfca_straight_line(
    places: Located,
    providers: Located,
    demand: np.ndarray,
    supply: np.ndarray,
    catchment_m: float,
    detour: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E2SFCA with straight-line costs × ``detour`` and Gaussian decay (σ = catchment / 2).

    Returns ``(access, ratio, count)``: access per place, supply ratio per provider and the
    number of providers within each place's catchment.
    """
    n, m = len(places), len(providers)
    if n == 0 or m == 0:
        return np.zeros(n), np.zeros(m), np.zeros(n, dtype="int64")
    k_max = max(places.k.max(), providers.k.max())
    # A cell as wide as the largest projected distance that can still be within the catchment,
    # so that the 3×3 cells around a point hold every candidate.
    cell = catchment_m / detour * k_max * 1.0001
    both = np.vstack([places.xy, providers.xy])
    bounds = (*(both.min(axis=0) - cell), *(both.max(axis=0) + cell))
    sigma = catchment_m / 2.0
    inv2s2 = 1.0 / (2.0 * sigma * sigma)
    demand = np.ascontiguousarray(demand, dtype="float64")
    supply = np.ascontiguousarray(supply, dtype="float64")
    pg = Grid.build(places.xy, bounds, cell)
    weighted_demand, _ = _gather(
        providers.xy,
        providers.k,
        places.xy,
        places.k,
        demand,
        pg.order,
        pg.starts,
        pg.x0,
        pg.y0,
        pg.cell,
        pg.nx,
        pg.ny,
        catchment_m,
        detour,
        inv2s2,
    )
    ratio = np.divide(supply, weighted_demand, out=np.zeros(m), where=weighted_demand > 0)
    qg = Grid.build(providers.xy, bounds, cell)
    access, count = _gather(
        places.xy,
        places.k,
        providers.xy,
        providers.k,
        ratio,
        qg.order,
        qg.starts,
        qg.x0,
        qg.y0,
        qg.cell,
        qg.nx,
        qg.ny,
        catchment_m,
        detour,
        inv2s2,
    )
    return access, ratio, count


def sum_within(
    queries: Located, points: Located, values: np.ndarray, radius_m: float, detour: float = 1.0
) -> np.ndarray:
    """For each query point, the sum of ``values`` of the points within ``radius_m`` of travel."""
    if len(queries) == 0 or len(points) == 0:
        return np.zeros(len(queries))
    k_max = max(queries.k.max(), points.k.max())
    cell = radius_m / detour * k_max * 1.0001
    both = np.vstack([queries.xy, points.xy])
    bounds = (*(both.min(axis=0) - cell), *(both.max(axis=0) + cell))
    grid = Grid.build(points.xy, bounds, cell)
    total, _ = _gather(
        queries.xy,
        queries.k,
        points.xy,
        points.k,
        np.ascontiguousarray(values, dtype="float64"),
        grid.order,
        grid.starts,
        grid.x0,
        grid.y0,
        grid.cell,
        grid.nx,
        grid.ny,
        radius_m,
        detour,
        0.0,  # no decay: every point within the radius counts in full
    )
    return total
