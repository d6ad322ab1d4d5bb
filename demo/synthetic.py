"""Generators of the demo's synthetic data. Every value made here is labelled synthetic.

What is not public is generated deterministically from a seed: positions of settlements GeoNames
does not give, their populations (so that each county sums to its census population), the NGO
registry, the 500 target neighbourhoods and county target populations. The generators follow
the real data where it exists (places cluster where real places are; NGOs crowd into cities as
the Behzisti review describes; needs follow the census age structure and unemployment) but
the figures are not facts and must never be presented as such.

Each county draws from its own random stream (``SeedSequence([seed, county_code])``), so a
county's synthetic data does not change when another county's input changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from demo.national import allocate_population
from geo.apportion import largest_remainder
from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.decisions import fa_number
from geo.gazetteer import approximate_positions
from geo.measures import settlement_tier
from geo.sampling import sample_inside
from geo.schema import DEFAULT_SERVICE_TYPES

DEFAULT_SEED = 1404


def county_rng(seed: int, county_code: str, stream: int) -> np.random.Generator:
    """The random stream of one county for one generator (``stream``)."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, int(county_code)]))


def _inside_centres(polygon: shapely.Geometry, centres: np.ndarray) -> np.ndarray:
    """``centres`` with those outside ``polygon`` (a real point just off a coast keeps its place
    as a settlement) moved to the nearest point 50 m inside it, so that draws around them can
    fall back on a point inside."""
    out = centres.copy()
    outside = ~shapely.contains_xy(polygon, centres[:, 0], centres[:, 1])
    if outside.any():
        inner = polygon.buffer(-50.0)
        inner = inner if not inner.is_empty else polygon
        for i in np.flatnonzero(outside):
            p = shapely.ops.nearest_points(inner, shapely.Point(*centres[i]))[0]
            out[i] = (p.x, p.y)
    return out


# --------------------------------------------------------------------------------------------
# Settlements
# --------------------------------------------------------------------------------------------

#: Synthetic population weights: log-normal medians and spreads by kind. A village's median
#: (250) is near the 1395 average of inhabited villages; towns GeoNames does not list are small.
POPULATION_WEIGHTS = {"city": (9000.0, 0.7), "village": (250.0, 1.1)}
#: Persons every synthetic settlement keeps at least, when GeoNames figures must be scaled down.
POPULATION_FLOOR = 20


def place_settlements(
    settlements: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    real: gpd.GeoDataFrame,
    seed: int = DEFAULT_SEED,
) -> gpd.GeoDataFrame:
    """Give every official settlement a point and a population.

    Parameters
    ----------
    settlements
        ``official_settlements`` output.
    counties
        The county layer (``county_code``, ``population``, geometry).
    real
        The real points (``demo.national.real_positions``), indexed by settlement code:
        ``position_source``, ``position_precision``, ``match_method``, ``gazetteer_id``,
        ``geonameid``, ``name_en``, ``known_population`` (GeoNames, where it gives one).

    Notes
    -----
    Positions: a settlement with a real point keeps it. The others are placed near the real
    points of their rural district (دهستان), else of their district (بخش), else of their county
    (``geo.gazetteer.approximate_positions``), never at a random point of the county; their
    ``position_source`` says which (``near_rural_district``, ``near_district``, ``near_county``)
    and their ``position_precision`` is ``approximate``.

    Populations: GeoNames figures where known; the rest of the county's census population is
    spread over the other settlements by log-normal weights (``POPULATION_WEIGHTS``), so that
    each county sums exactly to its census population (``synthetic`` shares: the census gives
    no village populations). Where GeoNames figures (mixed vintages) exceed what the county can
    hold, they are scaled down (``geonames_scaled``).
    """
    s = settlements.set_index("settlement_code", drop=False)
    approx = approximate_positions(
        settlements[["settlement_code", "county_code", "rural_district_code"]],
        real.geometry,
        counties,
        seed=seed,
    )
    geometry = pd.concat([real.geometry.to_crs(STORAGE_CRS), approx.geometry]).reindex(s.index)
    r = real.reindex(s.index)
    pos_source = r["position_source"].astype(object)
    pos_source[approx.index] = "near_" + approx["placed_by"]
    precision = r["position_precision"].astype(object)
    precision[approx.index] = "approximate"

    population = np.zeros(len(s), dtype="int64")
    pop_source = np.empty(len(s), dtype=object)
    known_all = r["known_population"]
    pos_of = pd.Series(np.arange(len(s)), index=s.index)
    county_pop = counties.set_index("county_code")["population"]
    for code, idx in s.groupby("county_code").groups.items():
        rng = county_rng(seed, code, stream=1)
        rows = s.loc[idx]
        known_mask = known_all.loc[idx].notna().to_numpy()
        kinds = rows["kind"][~known_mask].to_numpy()
        medians = np.array([POPULATION_WEIGHTS[k][0] for k in kinds])
        spreads = np.array([POPULATION_WEIGHTS[k][1] for k in kinds])
        synth_w = medians * np.exp(spreads * rng.standard_normal(len(kinds)))
        known = known_all.loc[idx][known_mask].astype("int64").to_numpy()
        known_pop, synth_pop, scaled = allocate_population(
            int(county_pop[code]), known, synth_w, POPULATION_FLOOR
        )
        pos = pos_of.loc[idx].to_numpy()
        population[pos[known_mask]] = known_pop
        population[pos[~known_mask]] = synth_pop
        pop_source[pos[known_mask]] = "geonames_scaled" if scaled else "geonames"
        pop_source[pos[~known_mask]] = "synthetic"

    out = gpd.GeoDataFrame(
        {
            "settlement_code": s["settlement_code"].to_numpy(),
            "kind": s["kind"].to_numpy(),
            "name_fa": s["name_fa"].to_numpy(),
            "name_en": r["name_en"].to_numpy(),
            "county_code": s["county_code"].to_numpy(),
            "province_code": s["province_code"].to_numpy(),
            "rural_district_code": s["rural_district_code"].to_numpy(),
            "population": population,
            "population_source": pop_source,
            "position_source": pos_source.to_numpy(),
            "position_precision": precision.to_numpy(),
            "match_method": r["match_method"].to_numpy(),
            "gazetteer_id": r["gazetteer_id"].astype("Int64").to_numpy(),
            "geonameid": r["geonameid"].astype("Int64").to_numpy(),
        },
        geometry=geometry.to_numpy(),
        crs=STORAGE_CRS,
    )
    return out.sort_values("settlement_code", ignore_index=True)


# --------------------------------------------------------------------------------------------
# NGO registry
# --------------------------------------------------------------------------------------------

#: How much more an inhabitant of each tier attracts an NGO than the national average. These
#: multipliers produce the crowding into large and mid-size cities that the Behzisti review
#: describes; they are assumptions of the demo, not measurements.
TIER_PULL = {"metropolis": 1.7, "large_city": 1.9, "mid_city": 1.5, "small_town": 0.55, "village": 0.12}

#: Share of each service type in the registry and the (median, spread) of its capacity.
SERVICE_MIX = {
    "kindergarten": (0.30, 60, 0.4),
    "rehabilitation": (0.14, 45, 0.5),
    "counselling": (0.14, 150, 0.6),
    "elderly_care": (0.10, 40, 0.5),
    "addiction_treatment": (0.11, 35, 0.5),
    "child_care": (0.06, 25, 0.5),
    "home_care": (0.08, 80, 0.6),
    "employment": (0.07, 100, 0.6),
}

#: Licence statuses among registered NGOs (expired and active follow from the dates).
STATUS_SHARES = {"pending": 0.06, "suspended": 0.04}

#: Licences run five years; the registry is drawn as of this day (1404-01-01).
LICENCE_YEARS = 5
AS_OF = pd.Timestamp("2025-03-21")

_NAME_WORDS = ("امید", "مهر", "نیک‌اندیشان", "آوای", "یاس", "همراه", "نوید", "بهار", "رویش", "سپیده")


def generate_ngos(
    settlements: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    n: int = 25_000,
    seed: int = DEFAULT_SEED,
) -> gpd.GeoDataFrame:
    """Generate a synthetic NGO registry of about ``n`` licences.

    Each county gets a share of ``n`` in proportion to its settlements' population weighted by
    ``TIER_PULL``; within the county each NGO belongs to a settlement drawn with the same
    weights and stands near it (spread grows with the settlement's size, always inside the
    county). Service type and capacity follow ``SERVICE_MIX``; the current licence was issued in the
    6.5 years before ``AS_OF`` and runs ``LICENCE_YEARS``; status follows the dates (active or
    expired), with ``STATUS_SHARES`` pending (no dates yet) or suspended.
    """
    s = settlements.assign(tier=settlement_tier(settlements["population"], settlements["kind"]))
    s = s.to_crs(METRIC_CRS)
    weight = s["population"].to_numpy(dtype="float64") * s["tier"].map(TIER_PULL).to_numpy()
    s["weight"] = weight
    per_county = s.groupby("county_code")["weight"].sum()
    counts = pd.Series(largest_remainder(n, per_county.to_numpy()), index=per_county.index)
    counties_m = counties.to_crs(METRIC_CRS).set_index("county_code").geometry
    types = list(SERVICE_MIX)
    type_p = np.array([SERVICE_MIX[t][0] for t in types])
    type_p = type_p / type_p.sum()

    frames = []
    for code, k in counts.items():
        if k == 0:
            continue
        rng = county_rng(seed, code, stream=2)
        here = s[s["county_code"] == code]
        p = here["weight"].to_numpy() / here["weight"].sum()
        pick = rng.choice(len(here), size=k, p=p)
        chosen = here.iloc[pick]
        centres = _inside_centres(counties_m[code], np.column_stack([chosen.geometry.x, chosen.geometry.y]))
        spread = np.clip(2.5 * np.sqrt(chosen["population"].to_numpy(dtype="float64")), 200, 8_000)
        xy = sample_inside(rng, counties_m[code], centres, spread)
        service = np.array(types)[rng.choice(len(types), size=k, p=type_p)]
        med = np.array([SERVICE_MIX[t][1] for t in service])
        spr = np.array([SERVICE_MIX[t][2] for t in service])
        capacity = np.maximum(5, np.round(med * np.exp(spr * rng.standard_normal(k)))).astype(int)
        issued = AS_OF - pd.to_timedelta(rng.integers(0, int(6.5 * 365), size=k), unit="D")
        expires = issued + pd.DateOffset(years=LICENCE_YEARS)
        status = np.where(expires > AS_OF, "active", "expired").astype(object)
        u = rng.random(k)
        pending = u < STATUS_SHARES["pending"]
        suspended = ~pending & (u < STATUS_SHARES["pending"] + STATUS_SHARES["suspended"])
        status[pending] = "pending"
        status[suspended & (status == "active")] = "suspended"
        word = np.array(_NAME_WORDS)[rng.integers(0, len(_NAME_WORDS), size=k)]
        names = [
            f"{DEFAULT_SERVICE_TYPES[t][0]} {w} {place}"
            for t, w, place in zip(service, word, chosen["name_fa"], strict=True)
        ]
        frames.append(
            gpd.GeoDataFrame(
                {
                    "name_fa": names,
                    "service_type": service,
                    "capacity": capacity,
                    "status": status,
                    "issued_on": pd.Series(issued).where(~pending).to_numpy(),
                    "expires_on": pd.Series(expires).where(~pending).to_numpy(),
                    "county_code": code,
                    "province_code": chosen["province_code"].to_numpy(),
                    "settlement_code": chosen["settlement_code"].to_numpy(),
                    "synthetic": True,
                },
                geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                crs=METRIC_CRS,
            )
        )
    ngos = pd.concat(frames, ignore_index=True)
    ngos = ngos.sort_values(
        ["county_code", "settlement_code", "service_type"], kind="stable", ignore_index=True
    )
    # One name is one centre of a settlement (the import refuses the same name twice there): a
    # second licence drawn with the same name is that NGO's branch 2, 3, ...
    branch = ngos.groupby(["settlement_code", "name_fa"]).cumcount() + 1
    later = branch > 1
    ngos.loc[later, "name_fa"] = [
        f"{name} (شعبه {fa_number(b)})"
        for name, b in zip(ngos.loc[later, "name_fa"], branch[later], strict=True)
    ]
    # Licence numbers say they are synthetic: SYN-<province>-<serial>.
    serial = ngos.groupby("province_code").cumcount() + 1
    ngos.insert(
        0, "licence_no", [f"SYN-{p}-{i:05d}" for p, i in zip(ngos["province_code"], serial, strict=True)]
    )
    return ngos.to_crs(STORAGE_CRS)


# --------------------------------------------------------------------------------------------
# Target neighbourhoods
# --------------------------------------------------------------------------------------------

#: Share of the 500 target areas that are parts of cities (the rest are clusters of villages).
URBAN_SHARE = 0.6
PERSONS_PER_HOUSEHOLD = 3.3


def county_deprivation(census_unemployment: pd.DataFrame) -> pd.Series:
    """Unemployment rate per county code from the 1395 census table (unemployed / active)."""
    edu = [
        c
        for c in census_unemployment.columns
        if c not in ("province_name", "province_code", "county_name", "county_code", "gender", "status")
    ]
    t = census_unemployment.assign(n=census_unemployment[edu].sum(axis=1))
    t = t.pivot_table(index="county_code", columns="status", values="n", aggfunc="sum")
    return (t["Unemployed"] / t["Active"]).rename("unemployment_rate")


def _blob(rng: np.random.Generator, centre: np.ndarray, radius: float, vertices: int = 14) -> shapely.Polygon:
    """An irregular star-shaped polygon around ``centre`` (metric coordinates)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, vertices))
    radii = radius * rng.uniform(0.6, 1.3, vertices)
    ring = np.column_stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)])
    return shapely.Polygon(ring).buffer(0)


def generate_target_areas(
    settlements: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    unemployment_rate: pd.Series,
    n: int = 500,
    seed: int = DEFAULT_SEED,
) -> gpd.GeoDataFrame:
    """Generate ``n`` target neighbourhoods: deprived parts of cities and clusters of villages.

    Counties are chosen with weight population × unemployment rate (1395 census), so areas
    gather where the census shows more unemployment. An urban area is an irregular polygon of
    0.5–1.5 km radius near a city of at least 20,000 people; a rural area is the hull of a
    village and its nearest neighbours (3 to 8 villages) widened by 1 km. Every polygon is
    clipped to its county. Households: population covered / ``PERSONS_PER_HOUSEHOLD`` (rural),
    or a density draw over the polygon (urban).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    s = settlements.to_crs(METRIC_CRS)
    counties_m = counties.to_crs(METRIC_CRS).set_index("county_code")
    rate = unemployment_rate.reindex(counties_m.index)
    # Counties created after the census take their parent's rate.
    parent = counties_m["parent_county_code"].dropna()
    rate[parent.index] = unemployment_rate.reindex(parent.to_numpy()).to_numpy()
    rate = rate.fillna(rate.median())
    n_urban = round(n * URBAN_SHARE)

    cities = s[(s["kind"] == "city") & (s["population"] >= 20_000)]
    cw = (
        cities["population"].to_numpy(dtype="float64") ** 0.8 * rate.reindex(cities["county_code"]).to_numpy()
    )
    pick = rng.choice(len(cities), size=n_urban, p=cw / cw.sum())
    rows = []
    for i in pick:
        city = cities.iloc[i]
        poly = counties_m.geometry[city["county_code"]]
        radius = float(np.clip(8 * np.sqrt(city["population"]), 1_000, 9_000))
        centre = sample_inside(
            rng, poly, _inside_centres(poly, np.array([[city.geometry.x, city.geometry.y]])), radius / 2
        )[0]
        area = _blob(rng, centre, rng.uniform(500, 1_500)).intersection(poly)
        density = rng.uniform(40, 120)  # persons per hectare in a dense deprived quarter
        households = int(area.area / 10_000 * density / PERSONS_PER_HOUSEHOLD)
        rows.append(
            (
                "urban",
                city["county_code"],
                city["province_code"],
                f"محله هدف {city['name_fa']}",
                max(households, 50),
                area,
            )
        )

    villages = s[s["kind"] == "village"]
    vw = villages["population"].to_numpy(dtype="float64").clip(1) ** 0.5
    vw = vw * rate.reindex(villages["county_code"]).to_numpy() ** 2
    seeds = rng.choice(len(villages), size=n - n_urban, replace=False, p=vw / vw.sum())
    for i in seeds:
        v = villages.iloc[i]
        same = villages[villages["county_code"] == v["county_code"]]
        k = int(rng.integers(3, 9))
        d = np.hypot(same.geometry.x - v.geometry.x, same.geometry.y - v.geometry.y)
        members = same.iloc[np.argsort(d.to_numpy(), kind="stable")[:k]]
        poly = counties_m.geometry[v["county_code"]]
        area = shapely.MultiPoint(list(members.geometry)).convex_hull.buffer(1_000).intersection(poly)
        households = int(members["population"].sum() / PERSONS_PER_HOUSEHOLD)
        rows.append(
            (
                "rural",
                v["county_code"],
                v["province_code"],
                f"خوشه روستایی {v['name_fa']}",
                max(households, 10),
                area,
            )
        )

    out = gpd.GeoDataFrame(
        rows,
        columns=["kind", "county_code", "province_code", "name_fa", "households", "geometry"],
        geometry="geometry",
        crs=METRIC_CRS,
    )
    out.insert(0, "target_code", [f"TA-{i + 1:03d}" for i in range(len(out))])
    out["synthetic"] = True
    out = out.to_crs(STORAGE_CRS)
    # Straight edges in the metric CRS are not straight in lon/lat: clip again in storage CRS so
    # that every area lies inside its county as stored.
    county_geoms = counties.set_index("county_code").geometry
    out["geometry"] = shapely.make_valid(
        shapely.intersection(out.geometry.to_numpy(), county_geoms.reindex(out["county_code"]).to_numpy())
    )
    return out


#: Households in deprived neighbourhoods the capacity-building programme speaks of (issue #25).
PROGRAMME_HOUSEHOLDS = 13_000


def households_in_need(households: pd.Series, total: int = PROGRAMME_HOUSEHOLDS) -> pd.Series:
    """The programme's ``total`` households in need shared among the target neighbourhoods in
    proportion to the square root of their households (a large quarter has more households in
    need, but not in proportion: the programme picks the most deprived part of it), by largest
    remainder (the parts sum to ``total``), at most a neighbourhood's households. A synthetic
    figure: no list of households in need is public."""
    parts = largest_remainder(total, np.sqrt(households.to_numpy(dtype="float64")))
    return pd.Series(np.minimum(parts, households.to_numpy()), index=households.index, dtype="int64")


# --------------------------------------------------------------------------------------------
# Programme activities (who does what where)
# --------------------------------------------------------------------------------------------

#: Services the capacity-building programme brings to its neighbourhoods.
PROGRAMME_SERVICES = ("counselling", "employment", "child_care", "home_care", "kindergarten")
#: Share of target neighbourhoods the demo gives activities (the rest are the map's gaps).
ACTIVE_SHARE = 0.7
#: Activity statuses and their shares in the demo.
ACTIVITY_STATUSES = (("ongoing", 0.45), ("completed", 0.25), ("planned", 0.2), ("suspended", 0.05))
ACTIVITY_STATUSES += (("cancelled", 0.05),)


def generate_activities(
    target_areas: pd.DataFrame, ngos: pd.DataFrame, seed: int = DEFAULT_SEED
) -> list[dict]:
    """Synthetic activities of the programme: ``ACTIVE_SHARE`` of the target neighbourhoods get
    1–4 activities of ``PROGRAMME_SERVICES`` by a registry NGO of their county where it has one
    (else a partner or a campaign), started from 1402 to ``AS_OF``, each reaching a part of the
    neighbourhood's households in need; a few are at the neighbourhood's county. Each province
    draws from its own stream; every row is marked synthetic and its organisation says so."""
    import jdatetime

    start = pd.Timestamp(jdatetime.date(1402, 1, 1).togregorian())
    span_days = (AS_OF - start).days
    by_county = {c: g["licence_no"].tolist()[:20] for c, g in ngos.groupby("county_code")}
    statuses, shares = zip(*ACTIVITY_STATUSES, strict=True)
    rows: list[dict] = []
    for province, here in target_areas.sort_values("target_code").groupby("province_code", sort=True):
        rng = county_rng(seed, str(province), stream=6)  # stream 6: programme activities
        serial = 0
        for area in here.itertuples():
            if rng.random() >= ACTIVE_SHARE:
                continue
            need = int(area.households_in_need) if not pd.isna(area.households_in_need) else 20
            for _ in range(int(rng.integers(1, 5))):
                serial += 1
                kind = str(rng.choice(["ngo", "partner", "campaign"], p=[0.6, 0.3, 0.1]))
                licences = by_county.get(area.county_code, [])
                licence = (
                    str(licences[int(rng.integers(0, len(licences)))]) if kind == "ngo" and licences else None
                )
                if kind == "ngo" and licence is None:
                    kind = "partner"
                status = str(rng.choice(statuses, p=shares))
                began = start + pd.Timedelta(days=int(rng.integers(0, span_days)))
                if status == "planned":
                    began = AS_OF + pd.Timedelta(days=int(rng.integers(1, 90)))
                ended = None
                if status == "completed":
                    ended = min(began + pd.Timedelta(days=int(rng.integers(30, 365))), AS_OF)
                households = 0 if status == "planned" else int(rng.integers(1, max(2, need // 2 + 1)))
                at_county = rng.random() < 0.05
                name = {
                    "ngo": f"سازمان مردم‌نهاد نمونه (ساختگی) {fa_number(serial)}",
                    "partner": f"سازمان همکار نمونه (ساختگی) {fa_number(serial)}",
                    "campaign": f"پویش نمونه (ساختگی) {fa_number(serial)}",
                }[kind]
                rows.append(
                    {
                        "activity_id": f"SYN-ACT-{province}-{serial:04d}",
                        "organisation": name,
                        "organisation_kind": kind,
                        "licence_no": licence,
                        "service_type": str(rng.choice(PROGRAMME_SERVICES)),
                        "place_kind": "county" if at_county else "target_area",
                        "place_code": area.county_code if at_county else area.target_code,
                        "target_code": None if at_county else area.target_code,
                        "county_code": area.county_code,
                        "province_code": province,
                        "start_date": began.date().isoformat(),
                        "end_date": None if ended is None else ended.date().isoformat(),
                        "households": households,
                        "persons": int(households * rng.uniform(3.0, 4.5)),
                        "status": status,
                        "notes": "فعالیت ساختگی نمونه (synthetic demo activity)",
                        "created_by": "synthetic",
                        "updated_at": AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "synthetic": True,
                        "version": 1,
                    }
                )
    return rows


# --------------------------------------------------------------------------------------------
# County target populations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedRate:
    """Share of a census population group that needs a service (a demo assumption)."""

    service_type: str
    group: str  # a key of ``census_groups`` output
    rate: float
    basis: str  # the rationale, for the README and the data


NEED_RATES: tuple[NeedRate, ...] = (
    NeedRate("rehabilitation", "all", 0.022, "persons with a disability needing rehabilitation"),
    NeedRate("elderly_care", "age_65_plus", 0.100, "older people needing day or residential care"),
    NeedRate("child_care", "age_0_19", 0.006, "children without adequate family care"),
    NeedRate("addiction_treatment", "age_15_64", 0.022, "people with a substance use disorder"),
    NeedRate("counselling", "age_15_plus", 0.028, "adults seeking social counselling in a year"),
    NeedRate("home_care", "age_75_plus", 0.150, "frail elderly and disabled needing home care"),
    NeedRate("kindergarten", "age_0_4", 0.130, "pre-school children of families eligible for support"),
    NeedRate("employment", "unemployed", 0.280, "unemployed needing empowerment programmes"),
)


def census_groups(census_age_sex: pd.DataFrame, census_unemployment: pd.DataFrame) -> pd.DataFrame:
    """Population groups per county code from the 1395 census tables."""
    t = census_age_sex.assign(n=census_age_sex["male"] + census_age_sex["female"])
    lower = t["age_group"].str.extract(r"(\d+)")[0].astype(int)
    groups = {
        "all": lower >= 0,
        "age_0_4": lower < 5,
        "age_0_19": lower < 20,
        "age_15_64": (lower >= 15) & (lower < 65),
        "age_15_plus": lower >= 15,
        "age_65_plus": lower >= 65,
        "age_75_plus": lower >= 75,
    }
    out = pd.DataFrame(
        {g: t["n"].where(mask, 0).groupby(t["county_code"]).sum() for g, mask in groups.items()}
    )
    edu = [
        c
        for c in census_unemployment.columns
        if c not in ("province_name", "province_code", "county_name", "county_code", "gender", "status")
    ]
    un = census_unemployment[census_unemployment["status"] == "Unemployed"]
    out["unemployed"] = un[edu].sum(axis=1).groupby(un["county_code"]).sum().reindex(out.index).fillna(0)
    return out


def generate_county_needs(
    counties: gpd.GeoDataFrame, groups: pd.DataFrame, rates: tuple[NeedRate, ...] = NEED_RATES
) -> pd.DataFrame:
    """Target population per county and service type from census groups and ``rates``.

    Counties created after the census share their parent's figures in proportion to population
    (the same shares as the county layer), so each family of counties sums to the parent's
    census-based figure.
    """
    rows = []
    parents = counties.set_index("county_code")["parent_county_code"].dropna()
    pop = counties.set_index("county_code")["population"]
    families: dict[str, list[str]] = {}
    for child, parent in parents.items():
        families.setdefault(parent, [parent]).append(child)
    for rate in rates:
        base = np.floor(groups[rate.group] * rate.rate).astype("int64")
        need = base.reindex(pop.index)
        for parent, members in families.items():
            need[members] = largest_remainder(int(base[parent]), pop[members].to_numpy())
        for code, value in need.items():
            rows.append((code, rate.service_type, int(value)))
    out = pd.DataFrame(rows, columns=["county_code", "service_type", "target_population"])
    out["synthetic"] = True
    return out.sort_values(["county_code", "service_type"], ignore_index=True)


# --------------------------------------------------------------------------------------------
# Licence applications
# --------------------------------------------------------------------------------------------

#: Share of applications decided within the legal deadline by Jalali year of receipt: what the
#: organisation reports for 1402 (36–37 %) and 1403 (98 %). The demo draws its synthetic
#: applications to match; the figures of a deployment come from its own register.
IN_TIME_SHARE = {1402: 0.365, 1403: 0.98}
#: Of the decided applications: approved, refused, withdrawn.
DECISION_SHARES = (0.7, 0.25, 0.05)
#: Applications per province still open (received, not decided) on the demo's day.
OPEN_PER_PROVINCE = 3


def generate_applications(
    settlements: gpd.GeoDataFrame,
    per_province: int = 24,
    seed: int = DEFAULT_SEED,
    deadline_days: int = 30,
) -> list[dict]:
    """Synthetic licence applications received from the start of 1402 to ``AS_OF``.

    ``per_province`` in each province, at villages and small towns of it (as the review wants
    them); decided within ``deadline_days`` with the shares of ``IN_TIME_SHARE`` (the rest
    1–90 days late); those received in the last six weeks may still be open. Every one is marked
    synthetic, with an applicant name that says so. The last ``OPEN_PER_PROVINCE`` of each province
    arrive in the final fortnight and are still open.
    """
    import jdatetime

    start = pd.Timestamp(jdatetime.date(1402, 1, 1).togregorian())
    span_days = (AS_OF - start).days
    services = list(DEFAULT_SERVICE_TYPES)
    rows: list[dict] = []
    for province, here in settlements.groupby("province_code", sort=True):
        rng = county_rng(seed, str(province), stream=5)  # stream 5: applications
        if (here["kind"] == "village").any():
            here = here[here["kind"] == "village"]
        pick = rng.choice(len(here), size=per_province, replace=len(here) < per_province)
        received = start + pd.to_timedelta(np.sort(rng.integers(0, span_days, per_province)), unit="D")
        # The last few arrive in the demo's final fortnight and wait for an officer's decision.
        fresh = AS_OF - pd.to_timedelta(np.sort(rng.integers(1, 15, OPEN_PER_PROVINCE))[::-1], unit="D")
        received = received[: per_province - OPEN_PER_PROVINCE].append(pd.DatetimeIndex(fresh))
        received += pd.to_timedelta(rng.integers(8 * 3600, 14 * 3600, per_province), unit="s")
        for i, (where, at) in enumerate(zip(here.iloc[pick].itertuples(), received, strict=True)):
            year = jdatetime.date.fromgregorian(date=at.date()).year
            in_time = rng.random() < IN_TIME_SHARE.get(year, IN_TIME_SHARE[1403])
            delay = int(
                rng.integers(2, deadline_days + 1) if in_time else deadline_days + rng.integers(1, 91)
            )
            decided = at + pd.Timedelta(days=delay, hours=int(rng.integers(0, 5)))
            status = str(rng.choice(["approved", "refused", "withdrawn"], p=DECISION_SHARES))
            if decided > AS_OF or i >= per_province - OPEN_PER_PROVINCE:  # open on the demo's day
                status, decided = "received", None
            rows.append(
                {
                    "application_id": f"SYN-A-{province}-{i + 1:04d}",
                    "applicant": f"متقاضی نمونه (ساختگی) {i + 1}",
                    "service_type": services[int(rng.integers(0, len(services)))],
                    "capacity": int(rng.integers(2, 9) * 5),
                    "lon": round(float(where.geometry.x) + float(rng.normal(0, 0.004)), 6),
                    "lat": round(float(where.geometry.y) + float(rng.normal(0, 0.004)), 6),
                    "county_code": where.county_code,
                    "province_code": province,
                    "received_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "decided_at": None if decided is None else decided.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "status": status,
                    "check_verdict": None,
                    "check_result": None,
                    "decision_reason": None
                    if decided is None
                    else "تصمیم ساختگی نمونه (synthetic demo decision)",
                    "decided_by": None if decided is None else "synthetic",
                    "created_by": "synthetic",
                    "licence_no": None,
                    "synthetic": True,
                    "version": 1,
                }
            )
    return rows


#: Synthetic evaluations: the share of centres evaluated, and the grades' shares among them. THESE
#: ARE ILLUSTRATIVE ASSUMPTIONS: no published national totals of grades are in the reference data.
#: Each province's grade counts are drawn to these shares exactly (largest remainder), then dealt
#: to its centres at random; the grades follow the norms' scale (A-D).
EVALUATED_SHARE = 0.8
GRADE_SHARES = {"A": 0.25, "B": 0.40, "C": 0.25, "D": 0.10}


def generate_evaluations(ngos: pd.DataFrame, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Synthetic evaluations of the demo's centres, with history, labelled synthetic.

    Per province, ``EVALUATED_SHARE`` of its licences issued before 1402 (rounded) are evaluated; their latest
    grades are split to ``GRADE_SHARES`` exactly (largest remainder) and dealt at random. The
    latest evaluation falls in 1403 before ``AS_OF``; about half the evaluated centres also have
    an earlier one in 1402, one grade better or worse (or the same), so the history shows change.
    Deterministic for a seed.
    """
    import jdatetime

    from geo.apportion import largest_remainder

    grades = list(GRADE_SHARES)
    y1402 = pd.Timestamp(jdatetime.date(1402, 1, 1).togregorian())
    y1403 = pd.Timestamp(jdatetime.date(1403, 1, 1).togregorian())
    rows: list[dict] = []
    for province, here in ngos.groupby("province_code", sort=True):
        rng = county_rng(seed, str(province), stream=6)  # stream 6: evaluations
        # a centre is evaluated once it works: licensed before 1402 (a pending one is not)
        working = here[here["issued_on"].notna() & (pd.to_datetime(here["issued_on"]) < y1402)]
        licences = working["licence_no"].sort_values().to_numpy()
        n = round(EVALUATED_SHARE * len(licences))
        chosen = np.sort(rng.choice(len(licences), size=n, replace=False))
        counts = largest_remainder(n, np.array([GRADE_SHARES[g] for g in grades]))
        dealt = rng.permutation(np.repeat(np.arange(len(grades)), counts))
        latest_days = rng.integers(0, (AS_OF - y1403).days, n)
        earlier = rng.random(n) < 0.5
        shift = rng.integers(-1, 2, n)
        earlier_days = rng.integers(0, (y1403 - y1402).days, n)
        for k, (pos, grade) in enumerate(zip(chosen, dealt, strict=True)):
            licence = str(licences[pos])
            if earlier[k]:
                before = int(min(max(grade + shift[k], 0), len(grades) - 1))
                rows.append(
                    _evaluation(
                        licence, y1402 + pd.Timedelta(days=int(earlier_days[k])), grades[before], province
                    )
                )
            rows.append(
                _evaluation(licence, y1403 + pd.Timedelta(days=int(latest_days[k])), grades[grade], province)
            )
    return pd.DataFrame(
        rows,
        columns=["licence_no", "evaluated_on", "grade", "evaluator", "note", "province_code", "synthetic"],
    )


def _evaluation(licence: str, day: pd.Timestamp, grade: str, province) -> dict:
    return {
        "licence_no": licence,
        "evaluated_on": day,
        "grade": grade,
        "evaluator": "ارزیابی ساختگی نمونه (synthetic demo evaluation)",
        "note": None,
        "province_code": str(province),
        "synthetic": True,
    }


#: The volunteer network's published totals (the organisation's own figures): 11,000 volunteer
#: groups, 130,000 specialist volunteers and facilitators, 23,000 of them doctors, psychologists
#: and social workers, 107,000 active volunteers. The demo's groups are drawn to them exactly.
VOLUNTEER_TOTALS = {"groups": 11_000, "members": 130_000, "professionals": 23_000, "active_members": 107_000}
#: ILLUSTRATIVE ASSUMPTIONS (no published split): how the professionals and the others divide
#: among the specialities, and where a group is known (its settlement, a point of its own, or its
#: county only).
PROFESSIONAL_SHARES = {"doctor": 0.35, "psychologist": 0.35, "social_worker": 0.30}
OTHER_SHARES = {"rehabilitation_therapist": 0.10, "facilitator": 0.30, "general": 0.60}
VOLUNTEER_PLACES = {"settlement": 0.60, "point": 0.25, "county": 0.15}


def generate_volunteer_groups(
    counties: pd.DataFrame,
    settlements: pd.DataFrame,
    seed: int = DEFAULT_SEED,
    totals: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Synthetic volunteer groups drawn exactly to ``totals`` (``VOLUNTEER_TOTALS``), one row per
    group and speciality, labelled synthetic.

    Groups are shared among the counties by population (largest remainder); each has at least
    one member and the rest of the members are shared by drawn weights; the members' specialities
    are the exact totals per speciality (``PROFESSIONAL_SHARES`` of the professionals,
    ``OTHER_SHARES`` of the others) dealt at random. Groups are made inactive in a random order
    until their members make up exactly ``members − active_members`` (the last one taken is
    topped up from an active group, which keeps every total). A group sits at one of its county's
    settlements (drawn by population), at a point within about a kilometre of one, or in its
    county only (``VOLUNTEER_PLACES``). Deterministic for a seed.
    """
    from geo.apportion import largest_remainder

    t = dict(VOLUNTEER_TOTALS if totals is None else totals)
    n_groups, n_members = t["groups"], t["members"]
    inactive_members = n_members - t["active_members"]
    if not (0 < n_groups <= n_members and 0 <= t["professionals"] <= n_members and inactive_members >= 0):
        raise ValueError(f"volunteer totals do not fit together: {t}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))  # stream 7: volunteers
    counties = counties.sort_values("county_code").reset_index(drop=True)
    per_county = largest_remainder(n_groups, counties["population"].to_numpy(dtype="float64"))
    county_of = np.repeat(counties["county_code"].to_numpy(), per_county)
    province_of = np.repeat(counties["province_code"].to_numpy(), per_county)
    # members: one each, the rest by drawn weights (a few large groups, many small)
    weights = rng.lognormal(0.0, 0.8, n_groups)
    members = 1 + largest_remainder(n_members - n_groups, weights)
    # inactive groups: taken in a random order until their members reach the inactive total
    order = rng.permutation(n_groups)
    active = np.ones(n_groups, dtype=bool)
    taken = 0
    for g in order:
        if taken + members[g] > inactive_members:
            break
        active[g] = False
        taken += int(members[g])
    short = inactive_members - taken
    if short:
        # the group that did not fit takes the shortfall from an active group larger than it
        idle = np.flatnonzero(~active)
        donors = np.flatnonzero(active & (members > short))
        if not len(idle) or not len(donors):
            raise ValueError(f"volunteer totals cannot be drawn exactly with these groups: {t}")
        members[int(donors[rng.integers(len(donors))])] -= short
        members[int(idle[rng.integers(len(idle))])] += short
    # specialities: the exact totals, dealt at random to the members
    pro = largest_remainder(t["professionals"], np.array(list(PROFESSIONAL_SHARES.values())))
    rest = largest_remainder(n_members - t["professionals"], np.array(list(OTHER_SHARES.values())))
    codes = [*PROFESSIONAL_SHARES, *OTHER_SHARES]
    labels = rng.permutation(np.repeat(np.arange(len(codes)), np.r_[pro, rest]))
    group_of_member = np.repeat(np.arange(n_groups), members)
    counts = np.zeros((n_groups, len(codes)), dtype="int64")
    np.add.at(counts, (group_of_member, labels), 1)
    # places
    kinds = np.array(list(VOLUNTEER_PLACES))
    kind = kinds[rng.choice(len(kinds), size=n_groups, p=list(VOLUNTEER_PLACES.values()))]
    settlement_code = np.full(n_groups, None, dtype=object)
    lon = np.full(n_groups, np.nan)
    lat = np.full(n_groups, np.nan)
    by_county = {c: part for c, part in settlements.groupby("county_code", sort=False)}
    for g in range(n_groups):
        here = by_county.get(county_of[g])
        if kind[g] == "county" or here is None or not len(here):
            kind[g] = "county"
            continue
        pop = here["population"].to_numpy(dtype="float64") + 1.0
        pick = here.iloc[int(rng.choice(len(here), p=pop / pop.sum()))]
        if kind[g] == "settlement":
            settlement_code[g] = pick["settlement_code"]
        else:
            lon[g] = round(float(pick.geometry.x) + rng.uniform(-0.008, 0.008), 6)
            lat[g] = round(float(pick.geometry.y) + rng.uniform(-0.008, 0.008), 6)
    seq = pd.Series(county_of).groupby(county_of).cumcount().to_numpy() + 1
    group_id = [f"VG-{c}-{k:04d}" for c, k in zip(county_of, seq, strict=True)]
    g_idx, s_idx = np.nonzero(counts)
    out = pd.DataFrame(
        {
            "group_id": np.array(group_id, dtype=object)[g_idx],
            "speciality": np.array(codes, dtype=object)[s_idx],
            "name_fa": [f"گروه داوطلب ساختگی {group_id[g][3:]}" for g in g_idx],
            "county_code": county_of[g_idx],
            "province_code": province_of[g_idx],
            "settlement_code": settlement_code[g_idx],
            "lon": lon[g_idx],
            "lat": lat[g_idx],
            "members": counts[g_idx, s_idx],
            "active": active[g_idx],
            "synthetic": True,
        }
    )
    return out.sort_values(["group_id", "speciality"], ignore_index=True)
