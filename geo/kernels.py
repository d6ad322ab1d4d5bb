"""Compiled kernels (numba) for the straight-line E2SFCA on the whole country.

The pairs of settlements and providers within a catchment are never stored: the settlements
are bucketed once in a grid of cells half a catchment wide, and the E2SFCA walks the 5×5 cells
around each provider once, computing ground costs and decay weights on the fly (on the geodesic
for the pairs at the catchment's edge, as ``geo.located.settle_edges`` does). A provider's own
places are held while it is walked: their weighted demand gives its ratio, which is then added
into each of them, so both steps come from one walk. The answer is the same as
``geo.access.e2sfca_from_pairs`` on the pairs from ``StraightLine.pairs`` (tests hold them to
1e-12) without the memory of ten million pairs.
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


#: The queries are split into this many parts for the threads (a dense city's queries take
#: longer; more parts than threads even out the load).
_PARTS = 64


@nb.njit(inline="always")
def _cost2(pxy, pk, pll, p, qx, qy, kq, qll, q, search2, edge_lo2, edge_hi2, detour, detour2):
    """The squared cost from query ``q`` to point ``p``, or infinity beyond the search radius:
    the projected distance over the mean of the two scale factors, times the detour; within the
    catchment's edge band (``edge_lo2``–``edge_hi2``) the geodesic's."""
    dx = pxy[p, 0] - qx
    dy = pxy[p, 1] - qy
    d2 = dx * dx + dy * dy
    if d2 > search2:
        return np.inf
    k = 0.5 * (pk[p] + kq)
    cost2 = d2 / (k * k) * detour2
    if edge_lo2 <= cost2 <= edge_hi2:
        cost = inverse(pll[p, 0], pll[p, 1], qll[q, 0], qll[q, 1]) * detour
        cost2 = cost * cost
    return cost2


@nb.njit(inline="always")
def _candidates(qxy, q, starts, x0, y0, cell, nx, ny):
    """How many points lie in the cells around query ``q`` (the most it can find)."""
    cx = int((qxy[q, 0] - x0) // cell)
    cy = int((qxy[q, 1] - y0) // cell)
    total = 0
    for ax in range(max(cx - REACH, 0), min(cx + REACH + 1, nx)):
        first = ax * ny + max(cy - REACH, 0)
        last = ax * ny + min(cy + REACH + 1, ny)
        if last > first:
            total += starts[last] - starts[first]
    return total


@nb.njit(parallel=True, cache=True, nogil=True)
def _sums(qxy, qk, qll, pxy, pk, pll, values, starts, x0, y0, cell, nx, ny, catchment, detour, margin):
    """For each query point q: Σ values[p] over the points p within the catchment. The points
    come in the grid's order (cell by cell), so the cells of a column next to each other are read
    from memory in one run. Costs are compared squared: no square root but at the edge."""
    m = qxy.shape[0]
    total = np.zeros(m)
    search2 = (REACH * cell) ** 2
    within2 = catchment * catchment
    edge_lo2 = (catchment * (1.0 - margin)) ** 2
    edge_hi2 = (catchment * (1.0 + margin)) ** 2
    for part in nb.prange(_PARTS):
        for q in range(part * m // _PARTS, (part + 1) * m // _PARTS):
            qx, qy, kq = qxy[q, 0], qxy[q, 1], qk[q]
            cx = int((qx - x0) // cell)
            cy = int((qy - y0) // cell)
            acc = 0.0
            for ax in range(max(cx - REACH, 0), min(cx + REACH + 1, nx)):
                first = ax * ny + max(cy - REACH, 0)
                last = ax * ny + min(cy + REACH + 1, ny)
                for p in range(starts[first], starts[max(last, first)]):
                    cost2 = _cost2(
                        pxy,
                        pk,
                        pll,
                        p,
                        qx,
                        qy,
                        kq,
                        qll,
                        q,
                        search2,
                        edge_lo2,
                        edge_hi2,
                        detour,
                        detour * detour,
                    )
                    if cost2 <= within2:
                        acc += values[p]
            total[q] = acc
    return total


@nb.njit(parallel=True, cache=True, nogil=True)
def _e2sfca(
    qxy,
    qk,
    qll,
    supply,
    pxy,
    pk,
    pll,
    demand,
    starts,
    x0,
    y0,
    cell,
    nx,
    ny,
    catchment,
    detour,
    inv2s2,
    margin,
    threads,
):
    """Both steps of the E2SFCA in one walk over the providers (the queries q): a provider's
    places within its catchment (in the grid's order) are held with their costs, weighed in one
    vectorised loop, their weighted demand gives the provider's ratio R = supply / Σ demand · W,
    and R · W is added to each of those places' access (and 1 to its count of providers). Each
    thread adds into its own row of the access and the counts; the rows are summed at the end."""
    m = qxy.shape[0]
    n = pxy.shape[0]
    ratio = np.zeros(m)
    access = np.zeros((threads, n))
    count = np.zeros((threads, n), np.int64)
    search2 = (REACH * cell) ** 2
    within2 = catchment * catchment
    edge_lo2 = (catchment * (1.0 - margin)) ** 2
    edge_hi2 = (catchment * (1.0 + margin)) ** 2
    for part in nb.prange(_PARTS):
        t = nb.get_thread_id()
        lo, hi = part * m // _PARTS, (part + 1) * m // _PARTS
        most = 0  # buffers as long as the most candidates any of the part's providers has
        for q in range(lo, hi):
            most = max(most, _candidates(qxy, q, starts, x0, y0, cell, nx, ny))
        hits = np.empty(most, np.int64)
        costs2 = np.empty(most)
        demands = np.empty(most)
        for q in range(lo, hi):
            qx, qy, kq = qxy[q, 0], qxy[q, 1], qk[q]
            cx = int((qx - x0) // cell)
            cy = int((qy - y0) // cell)
            held = 0
            for ax in range(max(cx - REACH, 0), min(cx + REACH + 1, nx)):
                first = ax * ny + max(cy - REACH, 0)
                last = ax * ny + min(cy + REACH + 1, ny)
                for p in range(starts[first], starts[max(last, first)]):
                    cost2 = _cost2(
                        pxy,
                        pk,
                        pll,
                        p,
                        qx,
                        qy,
                        kq,
                        qll,
                        q,
                        search2,
                        edge_lo2,
                        edge_hi2,
                        detour,
                        detour * detour,
                    )
                    if cost2 <= within2:
                        hits[held] = p
                        costs2[held] = cost2
                        demands[held] = demand[p]
                        held += 1
            weighted = 0.0
            for i in range(held):  # the weights, in place of the costs: one vectorised loop
                costs2[i] = exp_neg(costs2[i] * inv2s2)
            for i in range(held):
                weighted += demands[i] * costs2[i]
            r = supply[q] / weighted if weighted > 0.0 else 0.0
            ratio[q] = r
            for i in range(held):
                access[t, hits[i]] += r * costs2[i]
                count[t, hits[i]] += 1
    return access.sum(axis=0), ratio, count.sum(axis=0)


def _cell(a: Located, b: Located, radius_m: float, detour: float) -> float:
    """A cell ``REACH`` times narrower than the largest projected distance that can still be
    within ``radius_m`` of travel (so the cells ``REACH`` around a point hold every candidate)."""
    return search_radius(radius_m, detour, max(a.k.max(), b.k.max())) / REACH


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
    grid = Grid.of(places, _cell(places, providers, catchment_m, detour))
    # σ = catchment / 2: cost² / 2σ² is at most 2 within the catchment, inside exp_neg's range
    inv2s2 = 1.0 / (2.0 * (catchment_m / 2.0) ** 2)
    in_grid, ratio, in_grid_count = _e2sfca(
        providers.xy,
        providers.k,
        providers.ll,
        np.asarray(supply, dtype="float64"),
        grid.xy,
        grid.k,
        grid.ll,
        np.asarray(demand, dtype="float64")[grid.order],
        grid.starts,
        grid.x0,
        grid.y0,
        grid.cell,
        grid.nx,
        grid.ny,
        catchment_m,
        detour,
        inv2s2,
        edge_margin(catchment_m / detour),
        nb.get_num_threads(),
    )
    access, count = np.empty(n), np.empty(n, dtype="int64")
    access[grid.order], count[grid.order] = in_grid, in_grid_count
    return access, ratio, count


def sum_within(
    queries: Located, points: Located, values: np.ndarray, radius_m: float, detour: float = 1.0
) -> np.ndarray:
    """For each query point, the sum of ``values`` of the points within ``radius_m`` of travel."""
    if len(queries) == 0 or len(points) == 0:
        return np.zeros(len(queries))
    grid = Grid.of(points, _cell(queries, points, radius_m, detour))
    return _sums(
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
        edge_margin(radius_m / detour),
    )


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
