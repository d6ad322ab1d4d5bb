"""Administrative divisions: joining the official county list to mapped boundaries.

The official list (Statistical Centre codes) has no geometry; OpenStreetMap has boundaries but
names spelt its own way and counties created after the official list. These functions match the
two, give every official county a boundary, and share census population with counties created
after the census.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.apportion import largest_remainder
from geo.crs import METRIC_CRS
from geo.names import match_names


def province_code_from_iso(iso: pd.Series) -> pd.Series:
    """Map OpenStreetMap ``ISO3166-2``-style codes (``IR-07``) to 2-digit province codes (``07``)."""
    return iso.str.removeprefix("IR-").str.zfill(2)


def match_counties(official: pd.DataFrame, osm: pd.DataFrame) -> pd.DataFrame:
    """Match official counties to OpenStreetMap counties by normalised name within the province.

    Parameters
    ----------
    official
        Columns ``county_code``, ``name`` and ``province_code``.
    osm
        Columns ``osm_rel_id``, ``name`` (with or without the «شهرستان» prefix) and
        ``province_code``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``official`` with ``county_code``, ``osm_rel_id`` (missing when unmatched) and
        ``status`` (matched / unmatched / ambiguous).
    """
    left = pd.Series(official["name"].to_numpy(), index=official.index)
    right = pd.Series(osm["name"].to_numpy(), index=osm["osm_rel_id"].to_numpy())
    result = match_names(
        left,
        right,
        pd.Series(official["province_code"].to_numpy(), index=official.index),
        pd.Series(osm["province_code"].to_numpy(), index=right.index),
    )
    return pd.DataFrame(
        {
            "county_code": official["county_code"],
            "osm_rel_id": result["right"].astype("Int64"),
            "status": result["status"],
        }
    )


def longest_border_neighbour(pieces: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, group: str) -> pd.Series:
    """For each of ``pieces``, the index of the target in the same ``group`` sharing the longest border.

    Used to fold counties that the official list does not know into the official county they
    were carved from. Lengths are measured in ``METRIC_CRS``; a piece touching no target of its
    group gets the nearest one.
    """
    pieces_m = pieces.to_crs(METRIC_CRS)
    targets_m = targets.to_crs(METRIC_CRS)
    out = {}
    for idx, piece in pieces_m.iterrows():
        candidates = targets_m[targets_m[group] == piece[group]]
        if candidates.empty:
            candidates = targets_m
        # Boundaries of neighbouring polygons rarely coincide exactly; buffer the piece's ring
        # slightly so that a shared border is measured as shared.
        ring = piece.geometry.boundary.buffer(50.0)
        shared = candidates.geometry.boundary.intersection(ring).length
        if shared.max() > 0:
            out[idx] = shared.idxmax()
        else:
            out[idx] = candidates.geometry.distance(piece.geometry).idxmin()
    return pd.Series(out, dtype=targets.index.dtype)


def share_parent_population(population: pd.Series, parents: pd.Series, weights: pd.Series) -> pd.DataFrame:
    """Share the census population of parent counties with the counties carved from them.

    Parameters
    ----------
    population
        Census population, indexed by county code; missing for counties created after the census.
    parents
        For each county created after the census (index), the code of the county its population
        was counted in (value).
    weights
        A population proxy per county code (for example the population of known places inside
        each boundary); a parent and its children share the parent's census figure in proportion
        to it.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``population`` with ``population`` (integer, complete) and ``source``
        (``census_1395`` or ``census_1395_parent_share``). The total is unchanged.
    """
    pop = population.astype("Float64").copy()
    source = pd.Series("census_1395", index=population.index, dtype="object")
    for parent, children in parents.groupby(parents).groups.items():
        family = [parent, *children]
        if pd.isna(pop.get(parent)):
            raise ValueError(f"parent county {parent} has no census population")
        parts = largest_remainder(int(pop[parent]), weights.reindex(family).fillna(0).to_numpy())
        pop[family] = parts
        source[family] = "census_1395_parent_share"
    if pop.isna().any():
        raise ValueError(f"counties without population or parent: {pop[pop.isna()].index.tolist()}")
    return pd.DataFrame({"population": pop.astype("int64"), "source": source})


def dissolve_by(gdf: gpd.GeoDataFrame, key: pd.Series) -> gpd.GeoSeries:
    """Union the geometries of ``gdf`` grouped by ``key`` (aligned with ``gdf``), as MultiPolygons."""
    geoms = {}
    for k, idx in key.groupby(key).groups.items():
        merged = shapely.union_all(gdf.geometry.loc[idx].to_numpy())
        merged = shapely.make_valid(merged)
        polys = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "Polygon"]
        geoms[k] = shapely.MultiPolygon(polys)
    return gpd.GeoSeries(geoms, crs=gdf.crs)
