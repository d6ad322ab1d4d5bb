"""Compiled kernels (numba) for the straight-line E2SFCA on the whole country.

The pairs of settlements and providers within a catchment are never stored: both sets are
bucketed once in a grid of cells half a catchment wide, and each step of the E2SFCA walks the 5×5
cells around a point, computing ground costs and decay weights on the fly (on the geodesic for
the pairs at the catchment's edge, as ``geo.located.settle_edges`` does). The answer is the
same as ``geo.access.e2sfca_from_pairs`` on the pairs from ``StraightLine.pairs`` (tests hold
them to 1e-12) without the memory of ten million pairs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numba as nb
import numpy as np

# The kernels' threads (numba's OpenMP layer here) wait for work asleep, not spinning: by
# default a waiting thread spins, which cost the national recompute a fifth more CPU and the
# E2SFCA kernel an eighth (1.12 s against 0.94 s; 0.29 s against 0.26 s) with one core busy
# elsewhere, as on a service answering requests. Read by OpenMP when it starts, at the first
# kernel; an explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from geo.geodesic import edge_margin, inverse
from geo.located import Located, search_radius


@dataclass(frozen=True)
class Grid:
    """Points bucketed in square cells: ``order`` lists point indices cell by cell, and ``xy``,
    ``k`` and ``ll`` are the points' in that order (a cell's points are read in one run).

    The cells lie on multiples of their size, over the points' own box: one grid of a set of
    points serves any queries (a query outside the box finds the cells that exist near it)."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    order: np.ndarray
    starts: np.ndarray
    xy: np.ndarray
    k: np.ndarray
    ll: np.ndarray

    @classmethod
    def build(cls, points: Located, cell: float) -> Grid:
        lo, hi = _bounds(points.xy)
        x0, y0 = np.floor(lo / cell) * cell
        nx = int((hi[0] - x0) // cell) + 1
        ny = int((hi[1] - y0) // cell) + 1
        order, starts = _bucket(points.xy, x0, y0, cell, nx, ny)
        xy, ll = np.ascontiguousarray(points.xy[order]), np.ascontiguousarray(points.ll[order])
        return cls(float(x0), float(y0), cell, nx, ny, order, starts, xy, points.k[order], ll)

    @classmethod
    def of(cls, points: Located, cell: float) -> Grid:
        """The grid of ``points`` in cells of ``cell`` metres, made once and kept with them
        (the settlements' grid serves every service of the same catchment)."""
        grid = points.grids.get(cell)
        if grid is None:
            grid = points.grids[cell] = cls.build(points, cell)
        return grid


@nb.njit(cache=True, nogil=True)
def _bounds(xy):
    """The smallest and largest x and y of the points, in one pass (numpy's ``min(axis=0)`` over
    rows of two took 6 ms for 100,000 points, half of making their grid)."""
    lo = xy[0].copy()
    hi = xy[0].copy()
    for i in range(1, xy.shape[0]):
        for j in range(2):
            v = xy[i, j]
            if v < lo[j]:
                lo[j] = v
            elif v > hi[j]:
                hi[j] = v
    return lo, hi


@nb.njit(cache=True, nogil=True)
def _bucket(xy, x0, y0, cell, nx, ny):
    n = xy.shape[0]
    keys = np.empty(n, np.int64)
    for i in range(n):
        cx = int((xy[i, 0] - x0) // cell)
        cy = int((xy[i, 1] - y0) // cell)
        keys[i] = cx * ny + cy
    starts = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        starts[keys[i] + 1] += 1
    for c in range(nx * ny):
        starts[c + 1] += starts[c]
    # A counting sort: the points of a cell in their own order, as a stable sort by cell gives.
    order = np.empty(n, np.int64)
    filled = starts[:-1].copy()
    for i in range(n):
        order[filled[keys[i]]] = i
        filled[keys[i]] += 1
    return order, starts


#: A catchment spans this many cells: a point's candidates lie in the (2·REACH + 1)² cells
#: around it, an area 6.25 R² for a catchment R against 9 R² with cells as wide as R (a third
#: fewer candidates to reject; 20% less time on the national demo).
REACH = 2


#: exp(-t) by its Taylor series to degree 12, for 0 ≤ t ≤ 0.29 (error below 10⁻¹⁷): the
#: coefficients from the highest degree down, as Horner's scheme reads them.
_HORNER = tuple((-1.0) ** i / math.factorial(i) for i in range(12, -1, -1))
#: The largest argument ``exp_neg`` takes: a Gaussian decay with σ = catchment / 2 reaches 2 at
#: the catchment's edge.
EXP_NEG_MAX = 2.25


@nb.njit(inline="always")
def exp_neg(x):
    """exp(-x) for 0 ≤ x ≤ ``EXP_NEG_MAX``, as exp(-x/8)⁸ with exp(-x/8) by a polynomial: within
    2·10⁻¹⁵ of ``math.exp`` (relative), and with no call in it, so a loop over a run of
    arguments is vectorised (libm's ``exp`` is not: it took half of each E2SFCA pass)."""
    t = x * 0.125
    p = 0.0
    for c in _HORNER:
        p = p * t + c
    p = p * p
    p = p * p
    return p * p


#: Candidates within a catchment are weighed in runs of this many (per thread, on the stack of
#: the loop): the weights of a run are one vectorised loop.
_RUN = 256
#: The queries are split into this many parts for the threads (a dense city's queries take
#: longer; more parts than threads even out the load).
_PARTS = 64


@nb.njit(inline="always")
def _weigh_run(costs2, values, weights, n, inv2s2):
    """Σ values[i] · exp(-costs2[i] · inv2s2) over the first ``n`` of a run, summed in order."""
    for i in range(n):
        weights[i] = values[i] * exp_neg(costs2[i] * inv2s2)
    acc = 0.0
    for i in range(n):
        acc += weights[i]
    return acc


@nb.njit(parallel=True, cache=True, nogil=True)
def _gather(
    qxy, qk, qll, pxy, pk, pll, values, starts, x0, y0, cell, nx, ny, catchment, detour, inv2s2, margin
):
    """For each query point q: Σ values[p] · W(cost(q, p)) over points p within the catchment,
    and how many such p there are. Within ``margin`` (relative) of the catchment's edge, the
    cost is the geodesic's. The points come in the grid's order (cell by cell), so the cells of
    a column next to each other are read from memory in one run; with ``inv2s2`` 0 every weight
    is 1. Costs are compared squared: no square root but at the edge. The points within the
    catchment are kept in a run and weighed together (``_weigh_run``), in the order found
    (with no decay, they are added as found)."""
    m = qxy.shape[0]
    total = np.zeros(m)
    count = np.zeros(m, np.int64)
    search2 = (REACH * cell) ** 2
    within2 = catchment * catchment
    edge_lo2 = (catchment * (1.0 - margin)) ** 2
    edge_hi2 = (catchment * (1.0 + margin)) ** 2
    detour2 = detour * detour
    plain = inv2s2 == 0.0
    for part in nb.prange(_PARTS):
        run_costs2 = np.empty(_RUN)
        run_values = np.empty(_RUN)
        run_weights = np.empty(_RUN)
        for q in range(part * m // _PARTS, (part + 1) * m // _PARTS):
            qx, qy, kq = qxy[q, 0], qxy[q, 1], qk[q]
            cx = int((qx - x0) // cell)
            cy = int((qy - y0) // cell)
            acc = 0.0
            hits = 0
            held = 0
            for ax in range(max(cx - REACH, 0), min(cx + REACH + 1, nx)):
                first = ax * ny + max(cy - REACH, 0)
                last = ax * ny + min(cy + REACH + 1, ny)
                if last <= first:
                    continue
                for p in range(starts[first], starts[last]):
                    dx = pxy[p, 0] - qx
                    dy = pxy[p, 1] - qy
                    d2 = dx * dx + dy * dy
                    if d2 <= search2:
                        k = 0.5 * (pk[p] + kq)
                        cost2 = d2 / (k * k) * detour2
                        if edge_lo2 <= cost2 <= edge_hi2:
                            cost = inverse(pll[p, 0], pll[p, 1], qll[q, 0], qll[q, 1]) * detour
                            cost2 = cost * cost
                        if cost2 <= within2 and plain:
                            acc += values[p]
                            hits += 1
                        elif cost2 <= within2:
                            run_costs2[held] = cost2
                            run_values[held] = values[p]
                            held += 1
                            if held == _RUN:
                                acc += _weigh_run(run_costs2, run_values, run_weights, held, inv2s2)
                                hits += held
                                held = 0
            acc += _weigh_run(run_costs2, run_values, run_weights, held, inv2s2)
            total[q] = acc
            count[q] = hits + held
    return total, count


def _cell(a: Located, b: Located, radius_m: float, detour: float) -> float:
    """A cell ``REACH`` times narrower than the largest projected distance that can still be
    within ``radius_m`` of travel (so the cells ``REACH`` around a point hold every candidate)."""
    return search_radius(radius_m, detour, max(a.k.max(), b.k.max())) / REACH


def _weighted_sums(
    queries: Located,
    grid: Grid,
    values: np.ndarray,
    radius_m: float,
    detour: float,
    inv2s2: float,
):
    """Per query: Σ values · exp(-cost² · inv2s2) over the grid's points within ``radius_m``,
    and their count."""
    if radius_m * radius_m * inv2s2 > EXP_NEG_MAX:
        raise ValueError("the decay is too steep for exp_neg: σ must be at least a third of the radius")
    return _gather(
        queries.xy,
        queries.k,
        queries.ll,
        grid.xy,
        grid.k,
        grid.ll,
        np.asarray(values, dtype="float64")[grid.order],
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
    cell = _cell(places, providers, catchment_m, detour)
    inv2s2 = 1.0 / (2.0 * (catchment_m / 2.0) ** 2)
    weighted_demand, _ = _weighted_sums(providers, Grid.of(places, cell), demand, catchment_m, detour, inv2s2)
    supply = np.asarray(supply, dtype="float64")
    ratio = np.divide(supply, weighted_demand, out=np.zeros(m), where=weighted_demand > 0)
    provider_grid = Grid.build(providers, cell)
    access, count = _weighted_sums(places, provider_grid, ratio, catchment_m, detour, inv2s2)
    return access, ratio, count


def sum_within(
    queries: Located, points: Located, values: np.ndarray, radius_m: float, detour: float = 1.0
) -> np.ndarray:
    """For each query point, the sum of ``values`` of the points within ``radius_m`` of travel."""
    if len(queries) == 0 or len(points) == 0:
        return np.zeros(len(queries))
    grid = Grid.of(points, _cell(queries, points, radius_m, detour))
    # No decay (inv2s2 = 0): every point within the radius counts in full.
    total, _ = _weighted_sums(queries, grid, values, radius_m, detour, 0.0)
    return total


@nb.njit(parallel=True, cache=True, nogil=True)
def _nearest(qxy, pxy, order, starts, x0, y0, cell, nx, ny):
    """For each query, the nearest point in projected metres (``order`` maps the grid's order
    back to the points' positions; of equal distances the smaller position). Rings of cells
    around the query's cell are searched outwards until the best found is no farther than
    the ring just searched reaches: every cell beyond is at least that far."""
    m = qxy.shape[0]
    best = np.full(m, -1, np.int64)
    best_d2 = np.full(m, np.inf)
    for q in nb.prange(m):
        x, y = qxy[q, 0], qxy[q, 1]
        cx = int((x - x0) // cell)
        cy = int((y - y0) // cell)
        # the rings that can hold a cell of the grid at all
        far = max(abs(cx), abs(cx - (nx - 1)), abs(cy), abs(cy - (ny - 1)))
        found = -1
        found_d2 = np.inf
        for r in range(far + 1):
            for ax in range(max(cx - r, 0), min(cx + r, nx - 1) + 1):
                edge_x = ax == cx - r or ax == cx + r
                step = 1 if edge_x else 2 * r
                ay = cy - r
                while ay <= cy + r:
                    if 0 <= ay < ny:
                        c = ax * ny + ay
                        for p in range(starts[c], starts[c + 1]):
                            dx = pxy[p, 0] - x
                            dy = pxy[p, 1] - y
                            d2 = dx * dx + dy * dy
                            if d2 < found_d2 or (d2 == found_d2 and order[p] < found):
                                found_d2 = d2
                                found = order[p]
                    ay += step
            # cells of ring r + 1 and beyond lie at least r cells (and the query's offset in its
            # own cell) away; r · cell is a bound that holds wherever the query lies
            # (strictly: a point there as near as the best but of a smaller position wins)
            if found >= 0 and found_d2 < (r * cell) ** 2:
                break
        best[q] = found
        best_d2[q] = found_d2
    return best, best_d2


def nearest_straight_line(queries: Located, points: Located) -> np.ndarray:
    """The position of the nearest of ``points`` to each query in projected metres (-1 when
    there are no points), as ``scipy.spatial.cKDTree.query`` finds it, in a grid of cells."""
    m, n = len(queries), len(points)
    if n == 0:
        return np.full(m, -1, dtype="int64")
    if m == 0:
        return np.zeros(0, dtype="int64")
    lo, hi = _bounds(points.xy)
    # about one point a cell on average over the points' box (fastest on the national demo of
    # 1,100-5,200 centres a service: half the time of the tree), at least 1 km
    cell = max(float(np.sqrt(max((hi - lo).prod(), 1.0) / n)), 1000.0)
    grid = Grid.build(points, cell)
    found, _ = _nearest(
        queries.xy, grid.xy, grid.order, grid.starts, grid.x0, grid.y0, cell, grid.nx, grid.ny
    )
    return found
