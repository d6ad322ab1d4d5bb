"""What the map pages draw, shaped for the browser: small, simplified, ready to style.

Pure functions: frames and norms in, plain dicts and frames out; the HTTP layer caches and
serves them. Polygons are simplified as a coverage (shared borders stay shared, no slivers or
gaps) and rounded to 0.001° (about 100 m), which is finer than the simplification; the
country's 448 counties then weigh about 120 KB gzipped instead of several MB.
"""

from __future__ import annotations

import functools
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.norms import Norms

#: Simplification of county and province outlines on the maps, in metres.
SIMPLIFY_M = 1000.0
#: Rounding of coordinates sent to the browser, in degrees.
PRECISION_DEG = 0.001


def saturation_breaks(norms: Norms) -> list[float]:
    """Class breaks of the saturation choropleth (ratio of capacity to the norm).

    Three shades below the norms' *underserved* threshold, one for *balanced*, two above the
    *saturated* threshold, so the legend agrees with the classes the analysis reports.
    """
    u, s = norms.underserved_below, norms.saturated_at
    return [round(u / 3, 3), round(2 * u / 3, 3), u, s, 2 * s]


def access_class(share: pd.Series | np.ndarray, reachable: pd.Series | np.ndarray) -> np.ndarray:
    """0: no centre within reach, 1: under half the norm, 2: half to the norm, 3: the norm or more."""
    share = np.asarray(share, dtype="float64")
    out = np.where(share >= 1.0, 3, np.where(share >= 0.5, 2, 1))
    return np.where(np.asarray(reachable, dtype=bool), out, 0).astype("int8")


def simplified(
    frame: gpd.GeoDataFrame, tolerance_m: float = SIMPLIFY_M, coverage: bool = True
) -> gpd.GeoSeries:
    """Outlines simplified; a ``coverage`` (counties, provinces) is simplified together, so
    neighbours keep one shared border."""
    metric = frame.geometry.to_crs(METRIC_CRS).to_numpy()
    if coverage:
        simple = shapely.coverage_simplify(metric, tolerance_m)
    else:
        simple = shapely.simplify(metric, tolerance_m, preserve_topology=True)
    out = gpd.GeoSeries(simple, index=frame.index, crs=METRIC_CRS).to_crs(STORAGE_CRS)
    out = shapely.set_precision(out.to_numpy(), PRECISION_DEG)
    return gpd.GeoSeries(shapely.make_valid(out), index=frame.index, crs=STORAGE_CRS)


def _feature_collection(frame: gpd.GeoDataFrame) -> dict:
    return json.loads(frame.to_json(drop_id=True, na="null"))


def boundaries(
    provinces: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    saturation: pd.DataFrame,
    norms: Norms,
) -> dict:
    """Provinces and counties for the choropleth, each county with its saturation per service.

    ``saturation`` is the analysis table indexed by (county_code, service_type). A county
    property ``sat`` maps service type to [ratio to norm, capacity per 10k, capacity, NGOs,
    target population, class]; ``None`` ratios mean no target population.
    """
    sat = saturation.reset_index().rename(columns={"class": "klass"})
    per_county: dict[str, dict] = {}
    for row in sat.itertuples(index=False):
        ratio = float(row.ratio_to_norm)
        per_county.setdefault(row.county_code, {})[row.service_type] = [
            round(ratio, 3) if math.isfinite(ratio) else None,
            round(float(row.capacity_per_10k), 1) if math.isfinite(row.capacity_per_10k) else None,
            int(row.capacity),
            int(row.ngos),
            int(row.target_population),
            row.klass,
        ]
    c = counties[["county_code", "province_code", "name_fa", "name_en", "population"]].copy()
    c["sat"] = c["county_code"].map(lambda code: per_county.get(code, {}))
    c = gpd.GeoDataFrame(c, geometry=simplified(counties), crs=STORAGE_CRS)
    p = provinces[["province_code", "name_fa", "name_en", "population"]].copy()
    p = gpd.GeoDataFrame(p, geometry=simplified(provinces), crs=STORAGE_CRS)
    bounds = {
        row.province_code: [round(v, 3) for v in row.geometry.bounds] for row in p.itertuples(index=False)
    }
    return {
        "provinces": _feature_collection(p),
        "counties": _feature_collection(c),
        "province_bounds": bounds,
        "breaks": saturation_breaks(norms),
        "norms_version": norms.version,
        "detour_factor": norms.detour_factor,
        "norms": {
            name: {"norm_per_10k": n.norm_per_10k, "catchment_km": n.catchment_km}
            for name, n in norms.services.items()
        },
    }


def ngo_points(ngos: gpd.GeoDataFrame, service_types: list[str]) -> dict:
    """Every NGO as columns (not features): the page clusters them itself.

    About 25 bytes an NGO once gzipped; a popup asks the API for the rest.
    """
    kinds = {name: i for i, name in enumerate(service_types)}
    return {
        "service_types": service_types,
        "id": ngos["licence_no"].tolist(),
        "lon": np.round(ngos.geometry.x.to_numpy(), 4).tolist(),
        "lat": np.round(ngos.geometry.y.to_numpy(), 4).tolist(),
        "type": ngos["service_type"].map(kinds).astype("int64").tolist(),
        "capacity": ngos["capacity"].astype("int64").tolist(),
        "province": ngos["province_code"].tolist(),
        "active": (ngos["status"] == "active").astype("int64").tolist(),
        "synthetic": bool(ngos["synthetic"].all()) if "synthetic" in ngos else False,
    }


def settlement_access(
    settlements: gpd.GeoDataFrame,
    access_share: pd.DataFrame,
    reachable: pd.DataFrame,
    flags: pd.DataFrame,
    norms: Norms,
) -> gpd.GeoDataFrame:
    """Settlements with one character per service type for the tiles to carry.

    ``acc``: the access class (``access_class``) per service, in the order of ``norms.services``;
    ``flg``: ``1`` where the settlement is flagged as underserved for that service. A tile then
    styles any chosen service without a round trip. ``access_share`` is E2SFCA access as a share
    of the norm (``Norms.access_share``) and ``reachable`` whether a centre is within the
    catchment, both settlements × service types.
    """
    services = list(norms.services)
    columns = []
    for name in services:
        columns.append(access_class(access_share[name].to_numpy(), reachable[name].to_numpy()).astype(str))
    acc = functools.reduce(np.char.add, columns)
    flagged = set(zip(flags["settlement_code"], flags["service_type"], strict=True))
    codes = settlements["settlement_code"].to_numpy()
    flg = ["".join("1" if (code, s) in flagged else "0" for s in services) for code in codes]
    out = settlements[["settlement_code", "kind", "population"]].copy()
    out["acc"] = acc
    out["flg"] = flg
    out["nflg"] = [f.count("1") for f in flg]
    # Which points a full tile keeps: flagged places count for more than their population.
    out["weight"] = out["population"].astype("float64") * (1 + out["nflg"])
    return gpd.GeoDataFrame(out, geometry=settlements.geometry, crs=settlements.crs)
