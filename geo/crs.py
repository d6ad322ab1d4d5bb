"""The coordinate reference systems Amayesh uses, chosen once.

Storage and exchange use WGS 84 lon/lat (EPSG:4326). Lengths and areas are never computed in
degrees: they are computed in ``METRIC_CRS``, a Lambert conformal conic fitted to Iran (standard
parallels 27°N and 37°N, centre 32.5°N 54°E). Over Iran's extent (25°N–40°N, 44°E–63.5°E) its
scale error stays under about 1%, which is small beside the error of straight-line travel
distances themselves.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from geo.errors import CRSMismatchError

STORAGE_CRS = CRS.from_epsg(4326)
#: The standard parallels of ``METRIC_CRS`` (degrees).
METRIC_PARALLELS = (27.0, 37.0)
METRIC_CRS = CRS.from_proj4(
    f"+proj=lcc +lat_1={METRIC_PARALLELS[0]:g} +lat_2={METRIC_PARALLELS[1]:g} +lat_0=32.5 +lon_0=54 "
    "+x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
)

#: A generous bounding box of Iran (lon/lat), for sanity checks of input coordinates.
IRAN_BOUNDS = (44.0, 25.0, 63.5, 40.0)


def require_crs(gdf: gpd.GeoDataFrame, crs: CRS = STORAGE_CRS, *, name: str = "layer") -> None:
    """Raise ``CRSMismatchError`` unless ``gdf`` is in ``crs``."""
    if gdf.crs is None:
        raise CRSMismatchError(f"{name} has no coordinate reference system")
    if not CRS.from_user_input(gdf.crs).equals(crs):
        raise CRSMismatchError(
            f"{name} is in {CRS.from_user_input(gdf.crs).to_string()}, expected {crs.to_string()}"
        )


def to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Project lon/lat data into ``METRIC_CRS`` for measuring."""
    require_crs(gdf)
    return gdf.to_crs(METRIC_CRS)
