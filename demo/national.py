"""The real layers: provinces, counties and the official settlements, joined to maps and census.

Pure functions over frames read by ``demo.sources``; the synthetic parts (positions and
populations that are not public) are in ``demo.synthetic``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from geo.admin import (
    dissolve_by,
    longest_border_neighbour,
    match_counties,
    province_code_from_iso,
    share_parent_population,
)
from geo.apportion import largest_remainder
from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.names import initials_agree, match_names, normalize_name, normalize_text

#: Official counties that have no OpenStreetMap county of their own name, and the OSM counties
#: (by Persian name, without prefix) whose area they cover. OSM tags the area of پلدختر as
#: «شهرستان معمولان» (see the reference data README).
BOUNDARY_OVERRIDES = {"1508": ("معمولان",)}

#: Persons per official village added to the known-places population when sharing a parent
#: county's census figure with its children: villages carry the rural population that GeoNames
#: (places of 500 or more) mostly misses.
RURAL_WEIGHT_PER_VILLAGE = 300


def read_county_parents() -> pd.DataFrame:
    """The counties created after the 1395 census and the county their people were counted in."""
    with (resources.files("demo") / "county_parents.csv").open("rb") as fh:
        return pd.read_csv(fh, dtype=str)


@dataclass(frozen=True)
class CountyJoin:
    counties: gpd.GeoDataFrame  # the official counties with boundary and population
    match: pd.DataFrame  # the name matcher's answer per official county
    folded: pd.DataFrame  # OSM counties folded into an official one, and into which


def build_provinces(
    osm_provinces: gpd.GeoDataFrame, official: pd.DataFrame, counties: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Official provinces with OSM boundaries and the population of their counties."""
    m = match_names(
        pd.Series(official["name"].to_numpy(), index=official["province_code"].to_numpy()),
        osm_provinces["name_fa"],
    )
    if (m["status"] != "matched").any():
        bad = m.index[m["status"] != "matched"].tolist()
        raise ValueError(f"provinces not matched to a boundary: {bad}")
    osm = osm_provinces.loc[m["right"].astype(int).to_numpy()]
    population = counties.groupby("province_code")["population"].sum()
    codes = official["province_code"].to_numpy()
    return gpd.GeoDataFrame(
        {
            "province_code": codes,
            "name_fa": official["name"].map(normalize_text).to_numpy(),
            "name_en": osm["name_en"].to_numpy(),
            "population": population.reindex(codes).to_numpy(),
        },
        geometry=osm.geometry.to_numpy(),
        crs=STORAGE_CRS,
    ).sort_values("province_code", ignore_index=True)


def build_counties(
    official: pd.DataFrame,
    osm_counties: gpd.GeoDataFrame,
    census_population: pd.Series,
    parents: pd.DataFrame,
    places: gpd.GeoDataFrame,
    villages_per_county: pd.Series,
) -> CountyJoin:
    """Give every official county a boundary and a population.

    * Boundaries: the OSM county matched by name; OSM counties the official list does not know
      (created later) are folded into the official county of their province with which they
      share the longest border; ``BOUNDARY_OVERRIDES`` names the known exception.
    * Population: the 1395 census figure; a county created after the census shares its parent's
      figure (``parents``) in proportion to the population of GeoNames places inside each
      boundary plus ``RURAL_WEIGHT_PER_VILLAGE`` per official village.
    """
    osm = osm_counties.copy()
    osm["province_code"] = province_code_from_iso(osm["iso_province"])
    match = match_counties(official, osm)
    owner = pd.Series(pd.NA, index=osm.index, dtype="object")
    by_rel = pd.Series(osm.index, index=osm["osm_rel_id"].to_numpy())
    for code, rel in zip(match["county_code"], match["osm_rel_id"], strict=True):
        if pd.notna(rel):
            owner[by_rel[int(rel)]] = code
    osm_keys = osm["name"].map(normalize_name)
    for code, names in BOUNDARY_OVERRIDES.items():
        for name in names:
            hit = osm.index[(osm_keys == normalize_name(name)) & owner.isna()]
            owner[hit] = code

    orphans = osm[owner.isna()]
    owned = osm[owner.notna()].assign(county_code=owner[owner.notna()])
    nearest = longest_border_neighbour(orphans, owned, "province_code")
    owner[orphans.index] = owned.loc[nearest.to_numpy(), "county_code"].to_numpy()
    folded = pd.DataFrame(
        {
            "osm_rel_id": orphans["osm_rel_id"].to_numpy(),
            "osm_name": orphans["name"].to_numpy(),
            "into_county_code": owner[orphans.index].to_numpy(),
        }
    )
    override_codes = set(BOUNDARY_OVERRIDES)
    missing = set(official["county_code"]) - set(owner.dropna())
    if missing:
        raise ValueError(f"official counties without a boundary: {sorted(missing)}")

    geometry = dissolve_by(osm, owner.astype(str))
    boundary_source = osm.groupby(owner.astype(str))["osm_rel_id"].agg(
        lambda s: "+".join(str(int(v)) for v in sorted(s))
    )
    counties = gpd.GeoDataFrame(
        {
            "county_code": official["county_code"].to_numpy(),
            "province_code": official["province_code"].to_numpy(),
            "name_fa": official["name"].map(normalize_text).to_numpy(),
        },
        geometry=geometry.reindex(official["county_code"]).to_numpy(),
        crs=STORAGE_CRS,
    )
    # English names come from the matched OSM county, not from folded or overriding ones.
    name_en = pd.Series(osm["name_en"].to_numpy(), index=osm["osm_rel_id"].to_numpy())
    rel = match.set_index("county_code")["osm_rel_id"]
    counties["name_en"] = [
        name_en.get(int(rel[c])) if pd.notna(rel.get(c)) else None for c in counties["county_code"]
    ]
    counties["boundary_source"] = counties["county_code"].map(boundary_source)
    counties.loc[counties["county_code"].isin(override_codes), "name_en"] = None

    # Population: census, shared with children in proportion to a settlement proxy.
    inside = gpd.sjoin(
        places[["population", "geometry"]],
        counties[["county_code", "geometry"]],
        predicate="within",
        how="inner",
    )
    proxy = inside.groupby("county_code")["population"].sum().reindex(counties["county_code"]).fillna(0)
    proxy = proxy + RURAL_WEIGHT_PER_VILLAGE * villages_per_county.reindex(proxy.index).fillna(0)
    population = census_population.reindex(counties["county_code"])
    shared = share_parent_population(
        population, parents.set_index("county_code")["parent_county_code"], proxy
    )
    counties["population"] = shared["population"].to_numpy()
    counties["population_source"] = shared["source"].to_numpy()
    counties["parent_county_code"] = counties["county_code"].map(
        parents.set_index("county_code")["parent_county_code"]
    )
    counties = counties.sort_values("county_code", ignore_index=True)
    return CountyJoin(counties=counties, match=match, folded=folded)


def census_population(census_age_sex: pd.DataFrame) -> pd.Series:
    """Total 1395 population per county code from the age-sex table."""
    total = census_age_sex.assign(total=census_age_sex["male"] + census_age_sex["female"])
    return total.groupby("county_code")["total"].sum()


def match_places(
    places: gpd.GeoDataFrame, settlements: pd.DataFrame, counties: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Match GeoNames places to official settlements by normalised name inside the same county.

    Cities are matched first; places left over are then matched to villages. A name that is
    ambiguous within a county (several villages called «علی آباد») is not matched.

    Returns
    -------
    pandas.DataFrame
        One row per matched place: ``geonameid``, ``settlement_code``.
    """
    columns = ["geonameid", "name_fa", "population", "geometry"] + (["name"] if "name" in places else [])
    located = gpd.sjoin(
        places[columns],
        counties[["county_code", "geometry"]],
        predicate="within",
        how="inner",
    ).drop(columns="index_right")
    located = located[located["name_fa"].notna()]
    # GeoNames lists some places twice (a city and its seat, two vintages): keep the larger.
    located = (
        located.assign(key=located["name_fa"].map(normalize_name))
        .sort_values(["population", "geonameid"], ascending=[False, True])
        .drop_duplicates(["county_code", "key"])
        .drop(columns="key")
        .set_index("geonameid")
    )
    pairs = []
    remaining = located
    for kind in ("city", "village"):
        cand = settlements[settlements["kind"] == kind]
        # A place this large is a town, not a village of the same name (آباده the city is
        # not اباده the village).
        askers = remaining if kind == "city" else remaining[remaining["population"] < MAX_VILLAGE_POPULATION]
        m = match_names(
            askers["name_fa"],
            pd.Series(cand["name_fa"].to_numpy(), index=cand["settlement_code"].to_numpy()),
            askers["county_code"],
            pd.Series(cand["county_code"].to_numpy(), index=cand["settlement_code"].to_numpy()),
        )
        hit = m[m["status"] == "matched"]
        if kind == "village" and "name" in askers:
            # A place of a town's size is not taken as a village on the strength of its Persian
            # name alone: its GeoNames (Latin) name must agree (Jālq is not the village خوشاب).
            big = askers.loc[hit.index, "population"] >= LARGE_PLACE_VILLAGE_CHECK
            names = askers.loc[hit.index, ["name_fa", "name"]].itertuples(index=False)
            agree = [initials_agree(fa, latin) for fa, latin in names]
            hit = hit[~big.to_numpy() | np.asarray(agree, dtype=bool)]
        pairs.append(pd.DataFrame({"geonameid": hit.index, "settlement_code": hit["right"].to_numpy()}))
        remaining = remaining.drop(index=hit.index)
    county_keys = counties.set_index("county_code")["name_fa"].map(normalize_name)
    pairs.append(_match_large_places(remaining, settlements, pd.concat(pairs), county_keys))
    return pd.concat(pairs, ignore_index=True)


#: No village of the official list has more people than this; larger places are towns.
MAX_VILLAGE_POPULATION = 20_000

#: A place this large is matched to a village only if its GeoNames Latin name agrees with the
#: village's Persian name (``geo.names.initials_agree``); a name match alone is not enough.
LARGE_PLACE_VILLAGE_CHECK = 10_000

#: A GeoNames place this large that found no name match is taken as its county's namesake city.
NAMESAKE_MIN_POPULATION = 50_000


def _match_large_places(
    remaining: pd.DataFrame,
    settlements: pd.DataFrame,
    taken: pd.DataFrame,
    county_keys: pd.Series,
) -> pd.DataFrame:
    """Second chance for large places whose GeoNames Persian name is odd.

    GeoNames spells some large cities with a qualifier («قصبه کرج») or an old name (Mashhad as
    «سناباد»). A place of at least ``NAMESAKE_MIN_POPULATION`` is matched to the unmatched city of
    its county whose key its own key contains, or else to the city that shares the county's name
    (the county seat, as a rule).
    """
    cities = settlements[
        (settlements["kind"] == "city") & ~settlements["settlement_code"].isin(taken["settlement_code"])
    ]
    cities = cities.assign(key=cities["name_fa"].map(normalize_name))
    large = remaining[remaining["population"] >= NAMESAKE_MIN_POPULATION]
    large = large.sort_values("population", ascending=False)
    out, used = [], set()
    for gid, place in large.iterrows():
        here = cities[(cities["county_code"] == place["county_code"]) & ~cities["settlement_code"].isin(used)]
        key = normalize_name(place["name_fa"])
        inside = here[[len(k) >= 3 and k in key for k in here["key"]]]
        if len(inside) != 1:
            inside = here[here["key"] == county_keys.get(place["county_code"])]
        if len(inside) == 1:
            code = inside["settlement_code"].iloc[0]
            used.add(code)
            out.append((gid, code))
    return pd.DataFrame(out, columns=["geonameid", "settlement_code"])


def official_settlements(cities: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """The official cities and villages in one frame with the settlement layer's identity columns."""
    c = cities.assign(kind="city", rural_district_code=None)
    v = villages.assign(kind="village")
    cols = ["settlement_code", "kind", "name", "county_code", "province_code", "rural_district_code"]
    out = pd.concat([c[cols], v[cols]], ignore_index=True).rename(columns={"name": "name_fa"})
    out["name_fa"] = out["name_fa"].map(normalize_text)
    return out


def allocate_population(
    county_population: int,
    known: np.ndarray,
    synthetic_weights: np.ndarray,
    floor_per_synthetic: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Split a county's census population between known and synthetic settlement populations.

    Known (GeoNames) figures are kept as they are when they leave at least
    ``floor_per_synthetic`` persons for each synthetic settlement; otherwise they are scaled
    down to leave exactly that. The rest is spread over the synthetic settlements in
    proportion to ``synthetic_weights``. Both parts are integers and sum to ``county_population``.

    Returns
    -------
    (known_population, synthetic_population, scaled)
    """
    known = np.asarray(known, dtype="int64")
    reserve = floor_per_synthetic * len(synthetic_weights)
    if len(synthetic_weights) == 0:
        reserve = 0
    available = county_population - reserve
    scaled = known.sum() > available
    if scaled:
        known = largest_remainder(max(available, 0), known.astype("float64"))
    rest = county_population - int(known.sum())
    synthetic = largest_remainder(rest, synthetic_weights) if len(synthetic_weights) else np.zeros(0, "int64")
    if len(synthetic_weights) == 0 and rest:
        known = largest_remainder(county_population, known.astype("float64"))
        scaled = True
    return known, synthetic, bool(scaled)


#: How far off the land outline a GeoNames place may lie and still be taken in (coastal towns).
SNAP_MAX_METRES = 10_000.0


def snap_places_to_counties(places: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Move places that lie just outside every county (coastal towns) onto the nearest county.

    County boundaries are clipped to the Natural Earth land outline, so a port such as Bandar
    Abbas can fall a few hundred metres into the sea. A place within ``SNAP_MAX_METRES`` of a
    county is moved to a point just inside it; farther ones are dropped. Adds a boolean column
    ``snapped``.
    """
    places_m = places.to_crs(METRIC_CRS)
    counties_m = counties[["county_code", "geometry"]].to_crs(METRIC_CRS)
    inside = gpd.sjoin(places_m[["geometry"]], counties_m, predicate="within", how="inner").index
    outside = places_m.loc[~places_m.index.isin(inside), ["geometry"]]
    near = gpd.sjoin_nearest(outside, counties_m, max_distance=SNAP_MAX_METRES, how="inner")
    near = near[~near.index.duplicated()]
    geoms = places_m.geometry.copy()
    by_code = counties_m.set_index("county_code").geometry
    for idx, code in near["county_code"].items():
        poly = by_code[code]
        edge = shapely.ops.nearest_points(poly, geoms[idx])[0]
        inner = shapely.point_on_surface(poly)
        # Step 50 m from the edge towards the interior; fall back to an interior point.
        step = np.array([inner.x - edge.x, inner.y - edge.y])
        step = 50.0 * step / max(np.hypot(*step), 1e-9)
        moved = shapely.Point(edge.x + step[0], edge.y + step[1])
        geoms[idx] = moved if poly.contains(moved) else inner
    keep = places_m.index.isin(inside) | places_m.index.isin(near.index)
    out = places_m.assign(geometry=geoms, snapped=places_m.index.isin(near.index))[keep]
    return out.to_crs(places.crs)
