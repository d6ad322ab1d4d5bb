"""Checks of a user's geometries that must come before (or instead of) trusting a parser.

(Only NumPy is imported at module level: the file-reading process uses ``wkt_problem``.)

``wkt_problem`` looks at well-known text as characters, before GEOS parses it: a collection
nested 30,000 deep crashes GEOS's recursive reader, and a 2-million-vertex polygon costs
gigabytes downstream. ``non_finite`` finds NaN or infinite coordinates; ``outside_county`` and
``area_km2`` tell whether a polygon is where and as large as it can plausibly be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd


@dataclass(frozen=True)
class GeometryLimits:
    """What one feature may be: vertices, nesting, distance outside its county, area per layer."""

    max_vertices: int = 200_000
    max_depth: int = 4
    county_tolerance_m: float = 500.0
    area_km2: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "provinces": (100.0, 400_000.0),
            "counties": (1.0, 250_000.0),
            "target_areas": (0.0001, 2_000.0),
        }
    )


def wkt_problem(text: str, max_depth: int, max_vertices: int) -> tuple[str, str] | None:
    """``(reason, message)`` if ``text`` nests or counts beyond the limits, else ``None``.

    Depth is counted in parentheses: a polygon is 2 deep, a multipolygon 3, each collection
    around it one more; ``max_depth`` collections/multi-parts are allowed (``max_depth + 2``
    parentheses). Vertices are counted as comma-separated positions.
    """
    raw = np.frombuffer(text.encode("utf-8", errors="replace"), dtype=np.uint8)
    step = (raw == ord("(")).astype(np.int32) - (raw == ord(")")).astype(np.int32)
    depth = int(np.cumsum(step).max()) if len(step) else 0
    if depth > max_depth + 2:
        return (
            "geometry_too_deep",
            f"the geometry nests {depth} levels of parentheses; at most {max_depth + 2} are accepted",
        )
    vertices = int(np.count_nonzero(raw == ord(","))) + int(np.count_nonzero(raw == ord("(")))
    if vertices > max_vertices:
        return (
            "too_many_vertices",
            f"the geometry has about {vertices:,} vertices; at most {max_vertices:,} per feature are accepted",
        )
    return None


def non_finite(geoms: np.ndarray) -> np.ndarray:
    """Whether each geometry has a NaN or infinite coordinate."""
    import shapely

    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    out = np.zeros(len(geoms), dtype=bool)
    out[index[bad]] = True
    return out


def area_km2(geoms: np.ndarray) -> np.ndarray:
    """Areas (km²) of lon/lat polygons, measured in the metric CRS."""
    import geopandas as gpd

    from geo.crs import METRIC_CRS, STORAGE_CRS

    return gpd.GeoSeries(geoms, crs=STORAGE_CRS).to_crs(METRIC_CRS).area.to_numpy() / 1e6


def outside_county(
    geoms: np.ndarray, county_codes: np.ndarray, counties: gpd.GeoSeries, tolerance_m: float
) -> np.ndarray:
    """Whether each polygon reaches more than ``tolerance_m`` outside the county it names.

    ``counties`` is indexed by county code (lon/lat). Rows whose county is unknown are False
    here (the county check reports them).
    """
    import geopandas as gpd
    import shapely

    from geo.crs import METRIC_CRS, STORAGE_CRS

    out = np.zeros(len(geoms), dtype=bool)
    codes = np.asarray(county_codes, dtype=object)
    known = np.array([c in counties.index for c in codes], dtype=bool)
    if not known.any():
        return out
    wanted = sorted({c for c in codes[known]})
    shells = gpd.GeoSeries(counties.loc[wanted].to_numpy(), index=wanted, crs=STORAGE_CRS).to_crs(METRIC_CRS)
    shells = shells.buffer(tolerance_m)
    mine = gpd.GeoSeries(geoms[known], crs=STORAGE_CRS).to_crs(METRIC_CRS).to_numpy()
    out[known] = ~shapely.covered_by(mine, shells.loc[codes[known]].to_numpy())
    return out
