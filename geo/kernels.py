"""Compiled kernels (numba) for the straight-line E2SFCA on the whole country.

The pairs of settlements and providers within a catchment are never stored: both sets are
bucketed once in a grid of catchment-sized cells, and each step of the E2SFCA walks the 3×3
cells around a point, computing ground costs and decay weights on the fly (on the geodesic for
the pairs at the catchment's edge, as ``geo.located.settle_edges`` does). The answer is the
same as ``geo.access.e2sfca_from_pairs`` on the pairs from ``StraightLine.pairs`` (tests hold
them to 1e-12) without the memory of ten million pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from geo.geodesic import edge_margin, inverse
from geo.located import Located, search_radius


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


@nb.njit(cache=True, nogil=True)
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


@nb.njit(parallel=True, cache=True, nogil=True)
def _gather(
    qxy, qk, qll, pxy, pk, pll, values, starts, x0, y0, cell, nx, ny, catchment, detour, inv2s2, margin
):
    """For each query point q: Σ values[p] · W(cost(q, p)) over points p within the catchment,
    and how many such p there are. Within ``margin`` (relative) of the catchment's edge, the
    cost is the geodesic's. The points come in the grid's order (cell by cell), so a cell's
    points are read from memory in one run; with ``inv2s2`` 0 every weight is 1."""
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
                for p in range(starts[c], starts[c + 1]):
                    dx = pxy[p, 0] - qxy[q, 0]
                    dy = pxy[p, 1] - qxy[q, 1]
                    d2 = dx * dx + dy * dy
                    if d2 <= search2:
                        cost = math.sqrt(d2) / (0.5 * (pk[p] + qk[q])) * detour
                        if abs(cost - catchment) <= catchment * margin:
                            cost = inverse(pll[p, 0], pll[p, 1], qll[q, 0], qll[q, 1]) * detour
                        if cost <= catchment:
                            acc += values[p] if inv2s2 == 0.0 else values[p] * math.exp(-cost * cost * inv2s2)
                            hits += 1
        total[q] = acc
        count[q] = hits
    return total, count


def _cell_and_bounds(a: Located, b: Located, radius_m: float, detour: float):
    """A cell as wide as the largest projected distance that can still be within ``radius_m``
    of travel (so the 3×3 cells around a point hold every candidate), and bounds holding both
    point sets with a cell to spare."""
    cell = search_radius(radius_m, detour, max(a.k.max(), b.k.max()))
    both = np.vstack([a.xy, b.xy])
    return cell, (*(both.min(axis=0) - cell), *(both.max(axis=0) + cell))


def _weighted_sums(
    queries: Located,
    points: Located,
    values: np.ndarray,
    grid: Grid,
    radius_m: float,
    detour: float,
    inv2s2: float,
):
    """Per query: Σ values · exp(-cost² · inv2s2) over points within ``radius_m``, and their count."""
    o = grid.order  # the points in the grid's order: the kernel reads each cell's in one run
    return _gather(
        queries.xy,
        queries.k,
        queries.ll,
        np.ascontiguousarray(points.xy[o]),
        points.k[o],
        np.ascontiguousarray(points.ll[o]),
        np.asarray(values, dtype="float64")[o],
        grid.starts,
        grid.x0,
        grid.y0,
        grid.cell,
        grid.nx,
        grid.ny,
        radius_m,
        detour,
        inv2s2,
        edge_margin(radius_m / detour),
    )


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
    cell, bounds = _cell_and_bounds(places, providers, catchment_m, detour)
    inv2s2 = 1.0 / (2.0 * (catchment_m / 2.0) ** 2)
    place_grid = Grid.build(places.xy, bounds, cell)
    weighted_demand, _ = _weighted_sums(providers, places, demand, place_grid, catchment_m, detour, inv2s2)
    supply = np.asarray(supply, dtype="float64")
    ratio = np.divide(supply, weighted_demand, out=np.zeros(m), where=weighted_demand > 0)
    provider_grid = Grid.build(providers.xy, bounds, cell)
    access, count = _weighted_sums(places, providers, ratio, provider_grid, catchment_m, detour, inv2s2)
    return access, ratio, count


def sum_within(
    queries: Located, points: Located, values: np.ndarray, radius_m: float, detour: float = 1.0
) -> np.ndarray:
    """For each query point, the sum of ``values`` of the points within ``radius_m`` of travel."""
    if len(queries) == 0 or len(points) == 0:
        return np.zeros(len(queries))
    cell, bounds = _cell_and_bounds(queries, points, radius_m, detour)
    grid = Grid.build(points.xy, bounds, cell)
    # No decay (inv2s2 = 0): every point within the radius counts in full.
    total, _ = _weighted_sums(queries, points, values, grid, radius_m, detour, 0.0)
    return total
