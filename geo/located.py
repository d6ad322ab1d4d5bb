"""Points ready for distance queries: projected once into ``geo.crs.METRIC_CRS`` with the
projection's scale factor at each point, and the ground distance between them.

The floor under the travel costs (``geo.distance``) and the compiled kernels (``geo.kernels``):
both measure with these, and neither needs the other to do so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from pyproj import Proj

from geo.crs import METRIC_CRS, METRIC_PARALLELS
from geo.geodesic import distances, edge_margin

_PROJ = Proj(METRIC_CRS)
#: the first eccentricity of the WGS 84 ellipsoid, from its flattening (1 / 298.257223563)
_FLATTENING = 1.0 / 298.257223563
_ECC = float(np.sqrt(_FLATTENING * (2.0 - _FLATTENING)))


def _lcc_scale(lat_deg: np.ndarray) -> np.ndarray:
    """The scale factor of ``METRIC_CRS`` (Lambert conformal conic, two standard parallels, on
    the WGS 84 ellipsoid) at latitudes ``lat_deg``: k = n·ρ / (a·m), after Snyder (1987),
    *Map projections: a working manual*, eq. 14-15, 15-9 and 15-10. The same at every longitude
    and in every direction (conformal); equal to PROJ's ``get_factors`` to 1e-12."""
    e = _ECC

    def m(phi):
        return np.cos(phi) / np.sqrt(1 - (e * np.sin(phi)) ** 2)

    def t(phi):
        return np.tan(np.pi / 4 - phi / 2) / ((1 - e * np.sin(phi)) / (1 + e * np.sin(phi))) ** (e / 2)

    p1, p2 = np.radians(METRIC_PARALLELS)
    n = (np.log(m(p1)) - np.log(m(p2))) / (np.log(t(p1)) - np.log(t(p2)))
    big_f = m(p1) / (n * t(p1) ** n)
    phi = np.radians(np.asarray(lat_deg, dtype="float64"))
    # ρ = a·F·tⁿ, so k = n·F·tⁿ / m: the semi-major axis cancels
    return n * big_f * t(phi) ** n / m(phi)


@dataclass(frozen=True)
class Located:
    """Points ready for distance queries: projected coordinates and their scale factors."""

    xy: np.ndarray  # (n, 2) metres in METRIC_CRS
    k: np.ndarray  # (n,) scale factor of the projection at each point
    #: (n, 2) longitude and latitude in radians, for the geodesic at a catchment's edge (worked
    #: out from ``xy`` when not given)
    ll: np.ndarray = field(default=None, compare=False, repr=False)  # type: ignore[arg-type]
    #: for a subset made by ``take``: the full set and the positions taken (lets a road network
    #: reuse what it worked out for the full set)
    parent: Located | None = field(default=None, compare=False, repr=False)
    index: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: the points bucketed in cells, by cell size (``geo.kernels.Grid.of``), made when first used
    grids: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.ll is None:
            xy = np.asarray(self.xy, dtype="float64").reshape(-1, 2)
            lon, lat = _PROJ(xy[:, 0], xy[:, 1], inverse=True)
            object.__setattr__(self, "ll", np.radians(np.column_stack([lon, lat])))

    def take(self, idx: np.ndarray) -> Located:
        idx = np.asarray(idx, dtype="int64")
        return Located(self.xy[idx], self.k[idx], self.ll[idx], parent=self, index=idx)

    @classmethod
    def from_lonlat(cls, lon: np.ndarray, lat: np.ndarray) -> Located:
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        if lon.size == 0:  # pyproj refuses empty arrays; no place is a valid set of places
            return cls(np.empty((0, 2)), np.empty(0), np.empty((0, 2)))
        x, y = _PROJ(lon, lat)
        k = _lcc_scale(lat)
        return cls(np.column_stack([x, y]), np.atleast_1d(k), np.radians(np.column_stack([lon, lat])))

    def __len__(self) -> int:
        return len(self.xy)


def ground_distance(a: Located, ia: np.ndarray, b: Located, ib: np.ndarray) -> np.ndarray:
    """Ground distances in metres between ``a[ia]`` and ``b[ib]`` (element-wise): the projected
    distance over the mean scale factor of its ends, within ``geo.geodesic.edge_margin`` of the
    geodesic (8e-6 at 60 km). Where a limit decides, ``settle_edges`` makes it exact.

    Compiled, on every core past ``_GROUND_PARALLEL_FROM`` pairs, the same figures as NumPy's
    ``hypot(*(a.xy[ia] - b.xy[ib]).T) / (0.5 * (a.k[ia] + b.k[ib]))`` (both call the C library's
    ``hypot``) without its four gathered copies: 5 ms for 100,000 pairs became 0.5 ms."""
    ia, ib = np.asarray(ia), np.asarray(ib)
    if ia.dtype == bool or ib.dtype == bool:
        raise TypeError("ground_distance takes positions, not masks")
    ia, ib = ia.astype("int64", copy=False).reshape(-1), ib.astype("int64", copy=False).reshape(-1)
    if len(ia) != len(ib):
        raise ValueError(f"{len(ia)} places against {len(ib)}: the pairs must be as many on both sides")
    kernel = _ground_parallel if len(ia) >= _GROUND_PARALLEL_FROM else _ground_serial
    return kernel(a.xy, a.k, ia, b.xy, b.k, ib)


#: From this many pairs the distances are computed on every core (below it, starting the
#: threads costs more than it saves).
_GROUND_PARALLEL_FROM = 20_000


def _ground(axy, ak, ia, bxy, bk, ib):
    out = np.empty(len(ia))
    for t in nb.prange(len(ia)):
        i, j = ia[t], ib[t]
        out[t] = math.hypot(axy[i, 0] - bxy[j, 0], axy[i, 1] - bxy[j, 1]) / (0.5 * (ak[i] + bk[j]))
    return out


_ground_serial = nb.njit(cache=True, nogil=True)(_ground)
_ground_parallel = nb.njit(cache=True, nogil=True, parallel=True)(_ground)


def geodesic_distance(a: Located, ia: np.ndarray, b: Located, ib: np.ndarray) -> np.ndarray:
    """Geodesic distances in metres on the WGS 84 ellipsoid between ``a[ia]`` and ``b[ib]``."""
    return distances(a.ll[ia], b.ll[ib])


def settle_edges(
    cost: np.ndarray,
    a: Located,
    ia: np.ndarray,
    b: Located,
    ib: np.ndarray,
    edges,
    detour: float = 1.0,
) -> np.ndarray:
    """``cost`` (ground distance × ``detour``) with the pairs near any of the limits ``edges``
    (same unit) costed on the geodesic instead, so that ``cost <= edge`` is decided exactly.

    Only the pairs within ``geo.geodesic.edge_margin`` of an edge are recomputed (a few in a
    thousand of a catchment's pairs): elsewhere the fast distance cannot be on the wrong side.
    """
    cost = np.asarray(cost, dtype="float64")
    near = np.zeros(len(cost), dtype=bool)
    for edge in np.unique(np.asarray(edges, dtype="float64")):
        if np.isfinite(edge) and edge > 0:
            near |= np.abs(cost - edge) <= edge * edge_margin(edge / detour)
    if not near.any():
        return cost
    out = cost.copy()
    at = np.flatnonzero(near)
    out[at] = geodesic_distance(a, np.asarray(ia)[at], b, np.asarray(ib)[at]) * detour
    return out


def search_radius(max_cost_m: float, detour: float, k_max: float) -> float:
    """The projected radius that holds every point within ``max_cost_m`` of travel.

    Travel cost is ground distance × ``detour``, and a projected distance is the ground distance
    times the scale factor (at most ``k_max`` over the points involved); the radius is widened
    by the band in which the geodesic decides, and by 1e-4 more, so that neither rounding nor
    the fast distance's error drops a point at the edge. Callers then keep exact costs.
    """
    ground = max_cost_m / detour
    return ground * k_max * (1.0001 + edge_margin(ground))
