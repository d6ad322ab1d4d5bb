"""Distances in metres for Iran, and the travel-cost step of the access measures.

Points are projected once into ``geo.crs.METRIC_CRS`` (a Lambert conformal conic fitted to
Iran). A conformal projection stretches lengths by its scale factor *k*, the same in every
direction at a point; dividing a projected distance by the mean *k* of its two ends gives the
ground distance to within 2.3e-7 at 10 km, 8.4e-6 at 60 km and 3.9e-4 at 400 km of the geodesic
on the WGS 84 ellipsoid. Where a limit decides (a pair in or out of a catchment, a place
farther than the norm), the pairs near the limit are measured on the geodesic itself
(``geo.located.settle_edges``, ``geo.geodesic``), so no pair falls on the wrong side.

``StraightLine`` is one travel cost: ground distance × a detour factor, in metres.
``geo.roads.RoadNetwork`` is the other, travel time on roads in minutes. Both answer the same
questions (``pairs``, ``nearest``, ``nearest_route``, ``within``, ``e2sfca``, ``sum_within``) in
their own ``unit`` (``"m"`` or ``"min"``); the norms give catchments in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree

from geo.located import Located, ground_distance, search_radius, settle_edges


class TravelCost(Protocol):
    """What the measures ask of a travel cost: ``StraightLine`` (metres) or
    ``geo.roads.RoadNetwork`` (minutes). Costs and ``max_cost`` are in ``unit``."""

    @property
    def unit(self) -> str: ...

    def pairs(
        self, origins: Located, destinations: Located, max_cost: float, origin_tree: cKDTree | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def nearest(self, origins: Located, destinations: Located) -> tuple[np.ndarray, np.ndarray]: ...

    def nearest_route(
        self, origins: Located, destinations: Located
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def within(
        self, here: Located, targets: Located, max_cost: float, tree: cKDTree | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def e2sfca(
        self, places: Located, providers: Located, demand, supply, catchment: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def sum_within(self, queries: Located, points: Located, values, max_cost: float) -> np.ndarray: ...

    def reach_m(self, cost: float) -> float:
        """The farthest ground distance (metres) a trip of ``cost`` can cover."""
        ...

    def route_metres(
        self, origins: Located, destinations: Located, i: np.ndarray, j: np.ndarray, max_cost: float
    ) -> np.ndarray:
        """Metres of travel of each pair (origins[i], destinations[j]) within ``max_cost``."""
        ...

    def fallback(self, here: Located) -> np.ndarray:
        """Whether each place is too far from the network and is reached in a straight line."""
        ...


@dataclass(frozen=True)
class StraightLine:
    """Travel cost = straight-line ground distance × ``detour`` (metres)."""

    detour: float = 1.0
    unit = "m"

    def reach_m(self, cost: float) -> float:
        """A straight line of ``cost`` metres of travel covers ``cost / detour`` on the ground."""
        return cost / self.detour

    def fallback(self, here: Located) -> np.ndarray:
        return np.zeros(len(here), dtype=bool)

    def pairs(
        self, origins: Located, destinations: Located, max_cost: float, origin_tree: cKDTree | None = None
    ):
        """Every (origin, destination) pair with cost ≤ ``max_cost``, as arrays (i, j, cost)."""
        if len(origins) == 0 or len(destinations) == 0:
            empty = np.zeros(0, dtype="int64")
            return empty, empty, np.zeros(0)
        k_max = max(origins.k.max(), destinations.k.max())
        # Search a little wider in projected metres, then keep exact ground costs.
        radius = search_radius(max_cost, self.detour, k_max)
        found = (origin_tree or cKDTree(origins.xy)).sparse_distance_matrix(
            cKDTree(destinations.xy), radius, output_type="ndarray"
        )
        i, j = found["i"], found["j"]
        cost = found["v"] / (0.5 * (origins.k[i] + destinations.k[j])) * self.detour
        # At the catchment's edge the geodesic decides.
        cost = settle_edges(cost, origins, i, destinations, j, (max_cost,), self.detour)
        keep = cost <= max_cost
        # The tree walk is deterministic for the same input, so the order of pairs is too.
        return i[keep], j[keep], cost[keep]

    def nearest(self, origins: Located, destinations: Located):
        """For each origin, the nearest destination and its cost (``inf``/-1 when there is none)."""
        n = len(origins)
        if len(destinations) == 0:
            return np.full(n, -1, dtype="int64"), np.full(n, np.inf)
        # The nearest in projected metres is the nearest on the ground but for ties within the
        # variation of k between the candidates (< 0.1% over 100 km), which changes no distance
        # by more than that. Found in a grid of cells (the compiled kernel), as a k-d tree would.
        from geo.kernels import nearest_straight_line

        idx = nearest_straight_line(origins, destinations)
        return idx, ground_distance(origins, np.arange(n), destinations, idx) * self.detour

    def route_metres(self, origins: Located, destinations: Located, i, j, max_cost: float) -> np.ndarray:
        """Metres of travel of each pair: the ground distance × detour (the geodesic's at ``max_cost``)."""
        cost = ground_distance(origins, i, destinations, j) * self.detour
        return settle_edges(cost, origins, i, destinations, j, (max_cost,), self.detour)

    def nearest_route(self, origins: Located, destinations: Located):
        """Nearest destination, cost, metres of travel and fallback flags (never, here)."""
        idx, cost = self.nearest(origins, destinations)
        return idx, cost, cost, np.zeros(len(origins), dtype=bool)

    def within(self, here: Located, targets: Located, max_cost: float, tree: cKDTree | None = None):
        """The targets within ``max_cost`` of the single place ``here``: (indices, costs), nearest first."""
        tree = tree or cKDTree(targets.xy)
        idx = np.asarray(
            tree.query_ball_point(
                here.xy[0], search_radius(max_cost, self.detour, max(here.k[0], targets.k.max()))
            ),
            dtype="int64",
        )
        idx.sort()
        at = np.zeros(len(idx), dtype="int64")
        cost = ground_distance(targets, idx, here, at) * self.detour
        cost = settle_edges(cost, targets, idx, here, at, (max_cost,), self.detour)
        keep = cost <= max_cost
        idx, cost = idx[keep], cost[keep]
        order = np.argsort(cost, kind="stable")
        return idx[order], cost[order]

    def e2sfca(self, places: Located, providers: Located, demand, supply, catchment: float):
        """E2SFCA (Gaussian decay, σ = catchment / 2) in the compiled kernel: (access, ratio, count)."""
        from geo.kernels import e2sfca_straight_line

        return e2sfca_straight_line(places, providers, demand, supply, catchment, self.detour)

    def sum_within(self, queries: Located, points: Located, values, max_cost: float) -> np.ndarray:
        """For each query place, the sum of ``values`` of the points within ``max_cost``."""
        from geo.kernels import sum_within

        return sum_within(queries, points, values, max_cost, self.detour)
