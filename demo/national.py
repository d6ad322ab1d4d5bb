"""The real layers: provinces, counties and the official settlements, joined to maps and census.

Pure functions over frames read by ``demo.sources``; the synthetic parts (positions and
populations that are not public) are in ``demo.synthetic``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from demo.sources import Reference
from geo.admin import (
    dissolve_by,
    longest_border_neighbour,
    match_counties,
    province_code_from_iso,
    share_parent_population,
)
from geo.apportion import largest_remainder
from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.errors import ReferenceDataError
from geo.gazetteer import (
    CONFIDENCE,
    DEFAULT_TOLERANCE_M,
    SettlementMatch,
    match_settlements,
    nearest_county_part,
)
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


def join_reference_counties(ref: Reference) -> CountyJoin:
    """``build_counties`` on the reference data as read by ``demo.sources.read_reference``."""
    o = ref.official
    return build_counties(
        o.counties,
        ref.counties,
        census_population(ref.census_age_sex),
        read_county_parents(),
        ref.places,
        o.villages.groupby("county_code").size(),
    )


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
#: A place this close to its county keeps its own point (borders and coasts are approximate).
KEEP_MAX_METRES = DEFAULT_TOLERANCE_M


def snap_places_to_counties(places: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Take in places that lie just outside every county (coastal towns, islands).

    County boundaries are clipped to the Natural Earth land outline, so a port such as Bandar
    Abbas can fall a few hundred metres into the sea. Distances are measured to each part of a
    county (an island county is its islands, not the mainland). A place within
    ``KEEP_MAX_METRES`` of a part keeps its point; one within ``SNAP_MAX_METRES`` is moved just
    inside the nearest part (never onto another part); farther ones are dropped. Adds a boolean
    column ``snapped`` (moved).
    """
    places_m = places.to_crs(METRIC_CRS)
    counties_m = counties[["county_code", "geometry"]].to_crs(METRIC_CRS)
    nearest = nearest_county_part(places_m.geometry, counties_m, SNAP_MAX_METRES)
    keep = nearest["county_code"].notna()
    move = keep & (nearest["outside_m"] > KEEP_MAX_METRES)
    geoms = places_m.geometry.copy()
    parts = counties_m.explode(index_parts=False).reset_index(drop=True)
    for idx in nearest.index[move]:
        here = parts[parts["county_code"] == nearest.at[idx, "county_code"]]
        part = here.geometry.iloc[int(np.argmin(here.geometry.distance(geoms[idx]).to_numpy()))]
        # The nearest point at least 50 m inside that part (an island too small for that: its
        # nearest point).
        inner = part.buffer(-50.0)
        target = inner if not inner.is_empty else part
        geoms[idx] = shapely.ops.nearest_points(target, geoms[idx])[0]
    out = places_m.assign(geometry=geoms, snapped=move.to_numpy())[keep.to_numpy()]
    return out.to_crs(places.crs)


#: A GeoNames (cities500) match and a gazetteer match farther apart than this disagree; the
#: GeoNames one, which a population and a unique name in its county back, is kept. A town's
#: point may be anywhere in its built-up area, so a town's limit grows with its size.
AGREE_METRES = 3_000.0
#: Persons per km² of a built-up area, to size a town for ``agree_metres``.
TOWN_DENSITY_PER_KM2 = 10_000.0


def agree_metres(population: float | None) -> float:
    """How far apart two points of one place may be: ``AGREE_METRES``, or the radius of a town's
    built-up area at ``TOWN_DENSITY_PER_KM2`` (Tehran, 7.2 million: 15 km) where larger."""
    if population is None or not np.isfinite(population) or population <= 0:
        return AGREE_METRES
    return max(AGREE_METRES, 1_000.0 * float(np.sqrt(population / TOWN_DENSITY_PER_KM2 / np.pi)))


@dataclass(frozen=True)
class RealPositions:
    """The real points of the official settlements and how each was found.

    Attributes
    ----------
    points
        Indexed by settlement code, the settlements with a real point: ``position_source``
        (gazetteer, geonames, correction), ``position_precision`` (exact, or low for points
        given to 1–2 decimals), ``match_method``, ``gazetteer_id``, ``geonameid``, ``name_en``,
        ``known_population`` (GeoNames figure, where there is one) and the point.
    match
        ``geo.gazetteer.match_settlements`` on the gazetteer.
    report
        One row per official settlement: the match report (see ``match_report``).
    geonames_agreement
        Of the settlements that both the GeoNames cities500 matcher and the gazetteer matcher
        placed, the share placed at the same place (``agree_metres`` apart at most).
    """

    points: gpd.GeoDataFrame
    match: SettlementMatch
    report: pd.DataFrame
    geonames_agreement: float  # share of the GeoNames cities' matches the gazetteer agrees with


def reference_positions(
    ref: Reference, counties: gpd.GeoDataFrame, corrections: Path | None
) -> tuple[pd.DataFrame, RealPositions]:
    """The official settlements of the reference data and their real points (``real_positions``
    on the gazetteer and the snapped GeoNames cities, with the corrections file applied)."""
    places = snap_places_to_counties(ref.places, counties)
    settlements = official_settlements(ref.official.cities, ref.official.villages)
    real = real_positions(settlements, counties, ref.gazetteer, places, read_corrections(corrections))
    return settlements, real


def read_corrections(path: Path | None) -> pd.DataFrame:
    """An administrator's corrections: ``settlement_code`` with ``lon``/``lat`` or ``gazetteer_id``.

    Raises ``ReferenceDataError`` naming each line that cannot be used.
    """
    cols = ["settlement_code", "lon", "lat", "gazetteer_id"]
    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=cols)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    missing = {"settlement_code"} - set(frame.columns)
    if missing or not ({"lon", "lat"} <= set(frame.columns) or "gazetteer_id" in frame.columns):
        raise ReferenceDataError(
            f"{path}: the corrections file needs settlement_code and lon, lat or gazetteer_id columns"
        )
    for c in cols:
        if c not in frame:
            frame[c] = ""
    bad = []
    for i, row in frame.iterrows():
        has_point = row["lon"].strip() and row["lat"].strip()
        if not row["settlement_code"].strip().isdigit() or not (has_point or row["gazetteer_id"].strip()):
            bad.append(i + 2)
            continue
        if has_point:
            try:
                lon, lat = float(row["lon"]), float(row["lat"])
            except ValueError:
                bad.append(i + 2)
                continue
            if not (43.0 <= lon <= 64.0 and 24.0 <= lat <= 40.5):
                bad.append(i + 2)
    if bad:
        raise ReferenceDataError(
            f"{path}: lines {', '.join(map(str, bad))} need a settlement code and a point in Iran "
            "(lon, lat in WGS 84) or a gazetteer id"
        )
    return frame[cols]


def real_positions(
    settlements: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    gazetteer: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    corrections: pd.DataFrame | None = None,
) -> RealPositions:
    """Real points for the official settlements: the gazetteer, GeoNames cities and corrections.

    * Every settlement is matched to the gazetteer (``geo.gazetteer.match_settlements``).
    * The GeoNames cities500 places matched by ``match_places`` (they carry populations) fill
      the settlements the gazetteer left, and win where the two disagree by more than
      ``agree_metres``, unless their place is another settlement's.
    * ``corrections`` (``read_corrections``) come last and win.
    """
    gpop = places.set_index("geonameid")["population"]
    gaz = gazetteer.copy()
    if "population" not in gaz:
        gaz["population"] = np.nan
    gaz["population"] = gaz["geonames_id"].map(gpop).combine_first(gaz["population"])
    match = match_settlements(settlements, gaz, counties)
    m = match.settlements
    hit = m[m["status"] == "matched"]
    g = gaz.loc[hit["place"].to_numpy()]
    points = gpd.GeoDataFrame(
        {
            "position_source": "gazetteer",
            "position_precision": np.where(g["coord_decimals"].fillna(5).to_numpy() <= 2, "low", "exact"),
            "match_method": hit["method"].to_numpy(),
            "gazetteer_id": g.index.to_numpy(),
            "geonameid": g["geonames_id"].astype("Int64").to_numpy(),
            "name_en": g["name_en"].to_numpy(),
            "place_name": g["name_fa"].where(g["name_fa"].fillna("") != "", g["name_en"]).to_numpy(),
        },
        geometry=g.geometry.to_numpy(),
        index=hit.index,
        crs=gazetteer.crs,
    ).to_crs(STORAGE_CRS)

    # GeoNames cities500: fill and settle disagreements.
    old = match_places(places, settlements, counties).set_index("settlement_code")["geonameid"]
    gn = places.set_index("geonameid")
    by_gn = pd.Series(gaz.index.to_numpy(), index=gaz["geonames_id"].to_numpy())
    by_gn = by_gn[by_gn.index.notna() & ~by_gn.index.duplicated()]
    owner = pd.Series(points.index.to_numpy(), index=points["gazetteer_id"].to_numpy())
    metric_old = gn.geometry.to_crs(METRIC_CRS)
    metric_new = points.geometry.to_crs(METRIC_CRS)

    # How far the gazetteer's own matches agree with the GeoNames cities' (the figure the build
    # reports): the same place, ``agree_metres`` apart at most.
    def same_place(code: str, gid: int) -> bool:
        return metric_new[code].distance(metric_old[gid]) <= agree_metres(gpop.get(gid))

    both = [(c, g) for c, g in old.items() if c in points.index]
    agree = sum(same_place(c, g) for c, g in both)
    agreement = agree / len(both) if both else 1.0
    replace = []
    for code, gid in old.items():
        wof = by_gn.get(float(gid))
        other = owner.get(wof) if wof is not None else None
        if other is not None and other != code:
            continue  # that place is another settlement's
        if code in points.index and same_place(code, gid):
            continue
        replace.append((code, gid, wof))
    if replace:
        rows = gpd.GeoDataFrame(
            {
                "position_source": "geonames",
                "position_precision": "exact",
                "match_method": "geonames_cities",
                "gazetteer_id": [wof for _, _, wof in replace],
                "geonameid": [int(gid) for _, gid, _ in replace],
                "name_en": [gn.at[gid, "name"] if "name" in gn else None for _, gid, _ in replace],
                "place_name": [gn.at[gid, "name_fa"] for _, gid, _ in replace],
            },
            geometry=[gn.geometry[gid] for _, gid, _ in replace],
            index=pd.Index([code for code, _, _ in replace]),
            crs=STORAGE_CRS,
        )
        points = pd.concat([points.drop(index=rows.index, errors="ignore"), rows])
    # A population where the GeoNames city matched to the settlement gives one (whichever
    # point it stands at: Tehran's gazetteer point is another GeoNames record of the same city).
    points["known_population"] = pd.Series(points.index, index=points.index).map(old.map(gpop))

    # An administrator's corrections.
    corrections = corrections if corrections is not None else read_corrections(None)
    fixes = []
    for row in corrections.itertuples(index=False):
        code = row.settlement_code.strip()
        if str(row.gazetteer_id).strip():
            gid = int(str(row.gazetteer_id).strip())
            if gid not in gaz.index:
                raise ReferenceDataError(
                    f"corrections: gazetteer id {gid} (settlement {code}) is not in the gazetteer"
                )
            fixes.append((code, gid, gaz.geometry.loc[gid]))
        else:
            fixes.append((code, None, shapely.Point(float(row.lon), float(row.lat))))
    if fixes:
        rows = gpd.GeoDataFrame(
            {
                "position_source": "correction",
                "position_precision": "exact",
                "match_method": "correction",
                "gazetteer_id": pd.array([gid for _, gid, _ in fixes], dtype="Int64"),
                "geonameid": pd.array([None] * len(fixes), dtype="Int64"),
                "name_en": points["name_en"].reindex([code for code, _, _ in fixes]).to_numpy(),
                "place_name": [gaz["name_fa"].get(gid) if gid is not None else None for _, gid, _ in fixes],
                "known_population": points["known_population"]
                .reindex([code for code, _, _ in fixes])
                .to_numpy(),
            },
            geometry=[geom for _, _, geom in fixes],
            index=pd.Index([code for code, _, _ in fixes]),
            crs=STORAGE_CRS,
        )
        points = pd.concat([points.drop(index=rows.index, errors="ignore"), rows])
    points = points[points.index.isin(settlements["settlement_code"])]
    report = match_report(settlements, match, points, gaz)
    return RealPositions(points=points, match=match, report=report, geonames_agreement=agreement)


def match_report(
    settlements: pd.DataFrame, match: SettlementMatch, points: gpd.GeoDataFrame, gazetteer: pd.DataFrame
) -> pd.DataFrame:
    """One row per official settlement: how it got its point, with both names where they differ."""
    s = settlements.set_index("settlement_code")
    m = match.settlements.reindex(s.index)
    p = points.reindex(s.index)
    xy = p.geometry
    out = pd.DataFrame(
        {
            "settlement_code": s.index,
            "province_code": s["province_code"].to_numpy(),
            "county_code": s["county_code"].to_numpy(),
            "rural_district_code": s["rural_district_code"].to_numpy(),
            "kind": s["kind"].to_numpy(),
            "official_name": s["name_fa"].to_numpy(),
            "status": np.where(p["position_source"].notna(), "matched", m["status"].fillna("unmatched")),
            "position_source": p["position_source"].to_numpy(),
            "method": p["match_method"].to_numpy(),
            "confidence": p["match_method"].map(CONFIDENCE).to_numpy(),
            "gazetteer_id": p["gazetteer_id"].astype("Int64").to_numpy(),
            "place_name": p["place_name"].to_numpy(),
            "place_name_en": p["gazetteer_id"].map(gazetteer["name_en"]).to_numpy(),
            "lon": [g.x if g is not None and not g.is_empty else None for g in xy],
            "lat": [g.y if g is not None and not g.is_empty else None for g in xy],
            "precision": p["position_precision"].to_numpy(),
            "outside_county_m": m["outside_m"].to_numpy(),
            "candidates": m["candidates"].to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def match_summary(report: pd.DataFrame) -> pd.DataFrame:
    """Per province (and in all): settlements matched, ambiguous and unmatched, by method."""
    r = report.assign(method=report["method"].fillna(report["status"]))
    by = pd.crosstab(r["province_code"], r["status"])
    for col in ("matched", "ambiguous", "unmatched"):
        if col not in by:
            by[col] = 0
    methods = pd.crosstab(r["province_code"], r["method"])
    out = by[["matched", "ambiguous", "unmatched"]].join(methods.add_prefix("by_"))
    out["settlements"] = out[["matched", "ambiguous", "unmatched"]].sum(axis=1)
    villages = r[r["kind"] == "village"]
    out["villages_matched"] = villages[villages["status"] == "matched"].groupby("province_code").size()
    out["villages"] = villages.groupby("province_code").size()
    out = out.fillna(0).astype("int64")
    out["village_match_rate"] = (out["villages_matched"] / out["villages"].clip(lower=1)).round(3)
    total = out.sum(numeric_only=True).to_frame("all").T
    total["village_match_rate"] = round(
        total["villages_matched"].iloc[0] / max(total["villages"].iloc[0], 1), 3
    )
    return pd.concat([out, total])


def unofficial_places(
    match: SettlementMatch, gazetteer: gpd.GeoDataFrame, counties: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """The gazetteer places that match no official settlement, with the county they lie in or near
    (the ``gazetteer_places`` layer: findable by name, never counted as settlements)."""
    g = gazetteer.loc[gazetteer.index.isin(match.unofficial)]
    near = nearest_county_part(g.geometry, counties, DEFAULT_TOLERANCE_M)
    province = counties.set_index("county_code")["province_code"]
    name_fa = g["name_fa"].where(g["name_fa"].fillna("").str.strip() != "", None)
    return gpd.GeoDataFrame(
        {
            "gazetteer_id": g.index.to_numpy(),
            "name_fa": name_fa.map(lambda n: normalize_text(n) if isinstance(n, str) else None).to_numpy(),
            "name_en": g["name_en"].where(g["name_en"].fillna("") != "", None).to_numpy(),
            "county_code": near["county_code"].to_numpy(),
            "province_code": near["county_code"].map(province).to_numpy(),
            "feature_code": g["feature_code"].where(g["feature_code"].fillna("") != "", None).to_numpy(),
            "position_precision": np.where(g["coord_decimals"].fillna(5).to_numpy() <= 2, "low", "exact"),
        },
        geometry=g.geometry.to_numpy(),
        crs=gazetteer.crs,
    ).to_crs(STORAGE_CRS)


# ---- versions of the divisions ---------------------------------------------------------------

#: The three versions of the demo: id, Persian and English names, valid from (Gregorian), source.
CENSUS_VERSION = "census-1395"
OFFICIAL_VERSION = "official-448"
OSM_VERSION = "osm-2025"
#: The official list's package gives no date: the Jalali year after the newest of its 19
#: post-census counties is assumed (1399/01/01), and said so in the version's source.
OFFICIAL_VALID_FROM = pd.Timestamp("2020-03-20")
#: The 1395 census counted the people of Mehr 1395 (1395/07/01 = 2016-09-22).
CENSUS_VALID_FROM = pd.Timestamp("2016-09-22")
#: The OpenStreetMap pull of the reference data (October 2025; 1404/07/09).
OSM_VALID_FROM = pd.Timestamp("2025-10-01")
OSM_SHARE_SOURCE = (
    "estimate: the population of the official settlements (partly synthetic village figures, "
    "partly approximate points) inside the OpenStreetMap boundary"
)
OSM_AREA_SOURCE = (
    "estimate: the area inside the OpenStreetMap boundaries (a new county of this split holds no "
    "official settlement point)"
)


def _days_before(day: pd.Timestamp) -> pd.Timestamp:
    return day - pd.Timedelta(days=1)


def _next_codes(province: str, taken: set[str], n: int) -> list[str]:
    """``n`` county codes of ``province`` not in ``taken``, above the highest one used."""
    used = [int(c[2:]) for c in taken if c[:2] == province]
    start = max(used, default=0) + 1
    if start + n - 1 > 99:
        raise ValueError(f"province {province} has no room for {n} more county codes")
    return [f"{province}{k:02d}" for k in range(start, start + n)]


def _polygons(shape: shapely.Geometry) -> shapely.MultiPolygon:
    """The polygons of ``shape`` (made valid) as one valid MultiPolygon."""
    fixed = shapely.make_valid(shape)
    polys = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
    merged = shapely.union_all(polys)
    return merged if merged.geom_type == "MultiPolygon" else shapely.MultiPolygon([merged])


def osm_splits(
    counties: gpd.GeoDataFrame,
    folded: pd.DataFrame,
    osm_counties: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoSeries]:
    """The OpenStreetMap counties newer than the official list, as splits of the official county
    each was folded into (``CountyJoin.folded``).

    A new county takes a code of its province above the official ones (made up here: no official
    code exists yet). Its share of the official county is the population of the official
    settlements inside its OpenStreetMap boundary, over that of the whole county (share basis
    ``population``); where a new county holds no settlement, the county's parts are shared by
    area (``area``). The official county keeps the rest.

    Returns
    -------
    (units, changes, boundaries)
        The new counties (``county_code``, ``province_code``, ``name_fa``, ``name_en``,
        ``parent_county_code``, ``osm_rel_id``), the change rows (``county_code``,
        ``from_county_code``, ``share``, ``share_basis``, ``source``) and the boundaries of the
        new counties and of what their parents keep, by code (lon/lat).
    """
    osm = osm_counties.set_index("osm_rel_id")
    official = counties.set_index("county_code")
    taken = set(counties["county_code"])
    units, changes, shapes = [], [], {}
    for into, group in folded.sort_values("osm_rel_id").groupby("into_county_code", sort=True):
        parent = official.loc[into]
        province = str(parent["province_code"])
        codes = _next_codes(province, taken, len(group))
        taken.update(codes)
        parts = [osm.geometry[int(rel)] for rel in group["osm_rel_id"]]
        rest = shapely.difference(parent.geometry, shapely.union_all(parts))
        pieces = {code: _polygons(shape) for code, shape in (*zip(codes, parts, strict=True), (into, rest))}
        for code, rel in zip(codes, group["osm_rel_id"], strict=True):
            name = normalize_text(str(osm.at[int(rel), "name"])).removeprefix("شهرستان").strip()
            name_en = osm.at[int(rel), "name_en"]
            units.append(
                (
                    code,
                    province,
                    name,
                    None if pd.isna(name_en) else str(name_en).removesuffix(" County"),
                    into,
                    int(rel),
                )
            )
        mine = settlements[settlements["county_code"] == into]
        x, y = mine.geometry.x.to_numpy(), mine.geometry.y.to_numpy()
        where = np.full(len(mine), into, dtype=object)
        for code in codes:
            where[shapely.contains_xy(pieces[code], x, y)] = code
        population = (
            pd.Series(mine["population"].to_numpy(dtype="float64"), index=where)
            .groupby(level=0)
            .sum()
            .reindex(list(pieces), fill_value=0.0)
        )
        if (population[codes] > 0).all():
            weights, basis, source = population, "population", OSM_SHARE_SOURCE
        else:
            metric = gpd.GeoSeries(list(pieces.values()), index=list(pieces), crs=STORAGE_CRS).to_crs(
                METRIC_CRS
            )
            weights, basis, source = metric.area, "area", OSM_AREA_SOURCE
        shares = weights / weights.sum()
        for code in pieces:
            changes.append((code, into, float(shares[code]), basis, source))
        shapes.update(pieces)
    unit_frame = pd.DataFrame(
        units,
        columns=["county_code", "province_code", "name_fa", "name_en", "parent_county_code", "osm_rel_id"],
    )
    change_frame = pd.DataFrame(
        changes, columns=["county_code", "from_county_code", "share", "share_basis", "source"]
    )
    return unit_frame, change_frame, gpd.GeoSeries(shapes, crs=STORAGE_CRS)


def division_versions(
    counties: gpd.GeoDataFrame,
    census: pd.Series,
    folded: pd.DataFrame,
    osm_counties: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame,
) -> dict[str, pd.DataFrame]:
    """The demo's three versions of the divisions: the 1395 census's 429 counties, the official
    list of 448 made from them by 19 splits, and the official list with the newer OpenStreetMap
    counties split off their official county.

    ``census`` is the 1395 population per census county code; ``counties`` the official counties
    as built (their ``parent_county_code`` and ``population`` give the census splits' shares).
    Returns the layers ``hierarchy_versions``, ``hierarchy_units``, ``hierarchy_changes`` and
    ``hierarchy_boundaries`` (the new counties' OpenStreetMap boundaries and what their official
    counties keep).
    """
    official = counties.sort_values("county_code", ignore_index=True)
    children = official[official["parent_county_code"].notna()]
    census_units = official[official["parent_county_code"].isna()]
    if set(census_units["county_code"]) != set(census.index):
        raise ValueError("the official counties without a parent are not the census's counties")
    name_en = official["name_en"].astype(object).where(official["name_en"].notna(), None)
    base_columns = {
        "province_code": official["province_code"],
        "name_fa": official["name_fa"],
        "name_en": name_en,
    }
    every = pd.DataFrame({"county_code": official["county_code"], **base_columns})

    census_rows = every[every["county_code"].isin(census_units["county_code"])].assign(
        version_id=CENSUS_VERSION, parent_county_code=None
    )
    official_rows = every.assign(
        version_id=OFFICIAL_VERSION, parent_county_code=official["parent_county_code"]
    )
    parent_source = (
        "estimate: the parent's 1395 census figure shared by the GeoNames places and 300 persons per "
        "official village inside each boundary (counties.population_source census_1395_parent_share)"
    )
    split = []
    population = official.set_index("county_code")["population"]
    for parent, kids in children.groupby("parent_county_code"):
        total = float(census[parent])
        for code in [parent, *kids["county_code"]]:
            split.append(
                (OFFICIAL_VERSION, code, parent, float(population[code]) / total, "population", parent_source)
            )

    new_units, osm_changes, shapes = osm_splits(official, folded, osm_counties, settlements)
    boundaries = gpd.GeoDataFrame(
        {
            "version_id": OSM_VERSION,
            "county_code": list(shapes.index),
            "source": [
                "OpenStreetMap boundary"
                if code in set(new_units["county_code"])
                else "the official county (its OpenStreetMap parts) without the counties split from it"
                for code in shapes.index
            ],
        },
        geometry=shapes.to_numpy(),
        crs=STORAGE_CRS,
    ).sort_values("county_code", ignore_index=True)
    osm_rows = pd.concat(
        [
            every.assign(version_id=OSM_VERSION, parent_county_code=None),
            new_units.drop(columns="osm_rel_id").assign(version_id=OSM_VERSION),
        ],
        ignore_index=True,
    )
    units = pd.concat([census_rows, official_rows, osm_rows], ignore_index=True)[
        ["version_id", "county_code", "province_code", "name_fa", "name_en", "parent_county_code"]
    ]
    changes = pd.concat(
        [
            pd.DataFrame(
                split,
                columns=["version_id", "county_code", "from_county_code", "share", "share_basis", "source"],
            ),
            osm_changes.assign(version_id=OSM_VERSION),
        ],
        ignore_index=True,
    )
    n_new = len(new_units)
    versions = pd.DataFrame(
        [
            (
                CENSUS_VERSION,
                "تقسیمات سرشماری ۱۳۹۵",
                "1395 census divisions",
                CENSUS_VALID_FROM,
                _days_before(OFFICIAL_VALID_FROM),
                None,
                f"Statistical Centre of Iran, 1395 census: the {len(census_units)} counties it counted (the "
                f"official list with the {len(children)} later counties in the county their people were "
                "counted in, demo/county_parents.csv)",
            ),
            (
                OFFICIAL_VERSION,
                f"فهرست رسمی {len(official)} شهرستان",
                f"Official list of {len(official)} counties",
                OFFICIAL_VALID_FROM,
                _days_before(OSM_VALID_FROM),
                CENSUS_VERSION,
                "official division list (django-iranian-cities 2.0.0, Statistical Centre codes); the source "
                "gives no date: 1399/01/01 is assumed",
            ),
            (
                OSM_VERSION,
                "شهرستان‌های جدید OSM",
                "Newer OpenStreetMap counties",
                OSM_VALID_FROM,
                None,
                OFFICIAL_VERSION,
                f"OpenStreetMap admin_level=5 (pull of October 2025): the official list and the {n_new} "
                "counties OpenStreetMap has and the list does not, each split from the official county it "
                "lies in. The counties are real; their codes are made up by Amayesh (above the official "
                "ones of the province) and their shares are estimates (see each change's source)",
            ),
        ],
        columns=["version_id", "name_fa", "name_en", "valid_from", "valid_to", "base_version_id", "source"],
    )
    return {
        "hierarchy_versions": versions,
        "hierarchy_units": units,
        "hierarchy_changes": changes,
        "hierarchy_boundaries": boundaries,
    }
