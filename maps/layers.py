"""What the map pages draw, shaped for the browser: small, simplified, ready to style.

Pure functions: frames and norms in, plain dicts and frames out; the HTTP layer caches and
serves them. Polygons are simplified as a coverage (shared borders stay shared, no slivers or
gaps) and rounded to 0.001° (about 100 m), which is finer than the simplification; the
country's 448 counties then weigh about 120 KB gzipped instead of several MB. The outlines'
simplification and label points depend on the outlines alone: they are remembered for the last
``OUTLINES_KEPT`` distinct sets of outlines (by their content), so the maps of another day or
another role's view do not simplify the country again (0.9 s for its counties and provinces).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.norms import Norms
from geo.schema import columns_of

#: Simplification of county and province outlines on the maps, in metres.
SIMPLIFY_M = 1000.0
#: Rounding of coordinates sent to the browser, in degrees.
PRECISION_DEG = 0.001
#: Sets of outlines whose simplification and label points are remembered (each well under 1 MB).
OUTLINES_KEPT = 16
_outlines: OrderedDict[tuple, object] = OrderedDict()
_outlines_lock = threading.Lock()


def _by_outlines(what: tuple, frame: gpd.GeoDataFrame, make: Callable[[], object]) -> object:
    """``make()``, remembered by ``what`` and the content of ``frame``'s outlines (their WKB and
    CRS: hashing the national counties takes 20 ms, simplifying them 500)."""
    digest = hashlib.blake2b(str(frame.crs).encode(), digest_size=16)
    for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
        digest.update(b"-" if wkb is None else wkb)
    key = (*what, len(frame), digest.digest())
    with _outlines_lock:
        if key in _outlines:
            _outlines.move_to_end(key)
            return _outlines[key]
    value = make()
    with _outlines_lock:
        _outlines[key] = value
        while len(_outlines) > OUTLINES_KEPT:
            _outlines.popitem(last=False)
    return value


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

    def make() -> np.ndarray:
        metric = frame.geometry.to_crs(METRIC_CRS).to_numpy()
        if coverage:
            simple = shapely.coverage_simplify(metric, tolerance_m)
        else:
            simple = shapely.simplify(metric, tolerance_m, preserve_topology=True)
        out = gpd.GeoSeries(simple, crs=METRIC_CRS).to_crs(STORAGE_CRS)
        return shapely.make_valid(shapely.set_precision(out.to_numpy(), PRECISION_DEG))

    made = _by_outlines(("simplified", tolerance_m, coverage), frame, make)
    assert isinstance(made, np.ndarray)
    return gpd.GeoSeries(made.copy(), index=frame.index, crs=STORAGE_CRS)


def _feature_collection(frame: gpd.GeoDataFrame) -> dict:
    return json.loads(frame.to_json(drop_id=True, na="null"))


def village_reach(
    settlements: pd.DataFrame, reachable: pd.DataFrame, flags: pd.DataFrame, services: list[str]
) -> pd.DataFrame:
    """Per county and service type: villages, villages with no centre within reach, flagged places.

    Indexed by (county_code, service_type), columns ``villages``, ``villages_out_of_reach`` and
    ``flagged``. A county can have capacity to spare on average (saturated) while most of its
    villages have no centre within reach: the capacity sits in its towns.
    """
    village = (settlements["kind"] == "village").to_numpy()
    county = settlements["county_code"].to_numpy()
    frames = []
    for service in services:
        out = ~reachable[service].to_numpy(dtype=bool) & village
        frames.append(pd.DataFrame({"county_code": county, "service_type": service, "v": village, "o": out}))
    long = pd.concat(frames, ignore_index=True)
    table = long.groupby(["county_code", "service_type"]).agg(
        villages=("v", "sum"), villages_out_of_reach=("o", "sum")
    )
    flagged = (
        flags.groupby(["county_code", "service_type"]).size() if len(flags) else pd.Series(dtype="int64")
    )
    table["flagged"] = flagged.reindex(table.index).fillna(0).astype("int64")
    return table.astype("int64")


def _share(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


def boundaries(
    provinces: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    saturation: pd.DataFrame,
    norms: Norms,
    reach: pd.DataFrame | None = None,
) -> dict:
    """Provinces and counties for the choropleth, each county with its saturation per service.

    ``saturation`` is the analysis table indexed by (county_code, service_type). A county
    property ``sat`` maps service type to [ratio to norm, capacity per 10k, capacity, NGOs,
    target population, class, villages, villages out of reach, flagged places, share of target
    persons out of reach, need rank (``geo.measures.need_rank``, 0 if not ranked), and, where the
    norms count volunteers, the centres' capacity and the volunteers' (they add up to capacity)]; ``None``
    ratios mean no target population. ``reach`` is ``village_reach`` (zeros without it). Every county
    and province carries ``label``: [lon, lat] of a point inside it, where its name is written.
    """
    sat = saturation.reset_index().rename(columns={"class": "klass"})
    keys = pd.MultiIndex.from_arrays([sat["county_code"], sat["service_type"]])
    reached = (
        reach.reindex(keys).fillna(0).astype("int64").to_numpy().tolist()
        if reach is not None
        else [[0, 0, 0]] * len(sat)
    )
    per_county: dict[str, dict] = {}
    for row, r in zip(sat.itertuples(index=False), reached, strict=True):
        ratio = float(row.ratio_to_norm)
        per_county.setdefault(row.county_code, {})[row.service_type] = [
            round(ratio, 3) if math.isfinite(ratio) else None,
            round(float(row.capacity_per_10k), 1) if math.isfinite(row.capacity_per_10k) else None,
            int(row.capacity),
            int(row.ngos),
            int(row.target_population),
            row.klass,
            *(int(v) for v in r),
            _share(getattr(row, "share_out_of_reach", float("nan"))),
            int(getattr(row, "need_rank", 0)),
            # volunteers counted (geo.volunteers): capacity = the centres' + the volunteers'
            *(
                [int(row.centre_capacity), int(row.volunteer_capacity)]
                if hasattr(row, "volunteer_capacity")
                else []
            ),
        ]
    c = counties[["county_code", "province_code", "name_fa", "name_en", "population"]].copy()
    c["sat"] = c["county_code"].map(lambda code: per_county.get(code, {}))
    c["label"] = label_points(counties)
    c = gpd.GeoDataFrame(c, geometry=simplified(counties), crs=STORAGE_CRS)
    p = provinces[["province_code", "name_fa", "name_en", "population"]].copy()
    p["label"] = label_points(provinces)
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
            name: {
                "norm_per_10k": n.norm_per_10k,
                "catchment_km": n.catchment_km,
                "min_access_share": n.min_access_share,
            }
            for name, n in norms.services.items()
        },
    }


def label_points(frame: gpd.GeoDataFrame) -> list[list[float]]:
    """Where to write each polygon's name: the centre of its largest inscribed circle (the
    most room for the words), as [lon, lat] rounded like the outlines."""

    def make() -> list[list[float]]:
        metric = frame.geometry.to_crs(METRIC_CRS)
        xy = np.array([shapely.maximum_inscribed_circle(g, 500.0).coords[0] for g in metric])
        lonlat = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=METRIC_CRS).to_crs(STORAGE_CRS)
        return [[round(pt.x, 3), round(pt.y, 3)] for pt in lonlat]

    made = _by_outlines(("labels",), frame, make)
    assert isinstance(made, list)
    return [list(point) for point in made]


def city_labels(settlements: pd.DataFrame, min_population: int = 100_000) -> dict:
    """The cities whose names the map writes, largest first, as columns."""
    big = settlements[(settlements["kind"] == "city") & (settlements["population"] >= min_population)]
    big = big.sort_values("population", ascending=False)
    return {
        "code": big["settlement_code"].tolist(),
        "name_fa": big["name_fa"].tolist(),
        "name_en": [n if isinstance(n, str) and n else None for n in big["name_en"]],
        "population": big["population"].astype("int64").tolist(),
        "lon": np.round(big.geometry.x.to_numpy(), 4).tolist(),
        "lat": np.round(big.geometry.y.to_numpy(), 4).tolist(),
    }


def ngo_points(ngos: gpd.GeoDataFrame, service_types: list[str]) -> dict:
    """Every NGO as columns (not features): the page clusters them itself.

    About 25 bytes an NGO once gzipped; a popup asks the API for the rest. ``service_types``
    are the catalogue's; a centre of a service it lacks has type -1.
    """
    kinds = {name: i for i, name in enumerate(service_types)}
    return {
        "service_types": service_types,
        "id": ngos["licence_no"].tolist(),
        "lon": np.round(ngos.geometry.x.to_numpy(), 4).tolist(),
        "lat": np.round(ngos.geometry.y.to_numpy(), 4).tolist(),
        "type": ngos["service_type"].map(kinds).fillna(-1).astype("int64").tolist(),
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
    out = columns_of(settlements, ["settlement_code", "kind", "population"])
    out["acc"] = acc
    out["flg"] = flg
    out["nflg"] = [f.count("1") for f in flg]
    # Which points a full tile keeps: flagged places count for more than their population.
    out["weight"] = out["population"].astype("float64") * (1 + out["nflg"])
    # copy=False: the frame is this function's own (a copy held its rows twice while it was made)
    return gpd.GeoDataFrame(out, geometry=settlements.geometry, crs=settlements.crs, copy=False)
