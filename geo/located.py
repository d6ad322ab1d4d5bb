"""Points ready for distance queries: projected once into ``geo.crs.METRIC_CRS`` with the
projection's scale factor at each point, and the ground distance between them.

The floor under the travel costs (``geo.distance``) and the compiled kernels (``geo.kernels``):
both measure with these, and neither needs the other to do so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import Proj

from geo.crs import METRIC_CRS

_PROJ = Proj(METRIC_CRS)


@dataclass(frozen=True)
class Located:
    """Points ready for distance queries: projected coordinates and their scale factors."""

    xy: np.ndarray  # (n, 2) metres in METRIC_CRS
    k: np.ndarray  # (n,) scale factor of the projection at each point
    #: for a subset made by ``take``: the full set and the positions taken (lets a road network
    #: reuse what it worked out for the full set)
    parent: Located | None = field(default=None, compare=False, repr=False)
    index: np.ndarray | None = field(default=None, compare=False, repr=False)

    def take(self, idx: np.ndarray) -> Located:
        idx = np.asarray(idx, dtype="int64")
        return Located(self.xy[idx], self.k[idx], parent=self, index=idx)

    @classmethod
    def from_lonlat(cls, lon: np.ndarray, lat: np.ndarray) -> Located:
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        x, y = _PROJ(lon, lat)
        k = np.asarray(_PROJ.get_factors(lon, lat).meridional_scale, dtype="float64")
        return cls(np.column_stack([x, y]), np.atleast_1d(k))

    def __len__(self) -> int:
        return len(self.xy)


def ground_distance(a: Located, ia: np.ndarray, b: Located, ib: np.ndarray) -> np.ndarray:
    """Ground distances in metres between ``a[ia]`` and ``b[ib]`` (element-wise)."""
    d = np.hypot(*(a.xy[ia] - b.xy[ib]).T)
    return d / (0.5 * (a.k[ia] + b.k[ib]))


def search_radius(max_cost_m: float, detour: float, k_max: float) -> float:
    """The projected radius that holds every point within ``max_cost_m`` of travel.

    Travel cost is ground distance × ``detour``, and a projected distance is the ground distance
    times the scale factor (at most ``k_max`` over the points involved); the radius is widened
    by 1e-4 so that rounding never drops a point at the edge. Callers then keep exact costs.
    """
    return max_cost_m / detour * k_max * 1.0001
