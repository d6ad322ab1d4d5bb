"""The collections the service publishes (OGC API – Features): layers and analysis results.

Each collection says how to build its frame from a snapshot, which column identifies a feature
and which query parameters filter it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import geopandas as gpd

from api.scope import restrict
from api.snapshot import Snapshot
from geo.decisions import flag_reasons
from geo.schema import LAYERS, LICENCE_STATUSES, SERVICE_TYPES, SETTLEMENT_KINDS


@dataclass(frozen=True)
class Filter:
    column: str
    description: str
    choices: tuple[str, ...] | None = None


PROVINCE = Filter("province_code", "province code (2 digits), e.g. 07")
COUNTY = Filter("county_code", "county code (4 digits), e.g. 0707")
SERVICE = Filter("service_type", "service type", tuple(SERVICE_TYPES))


@dataclass(frozen=True)
class Collection:
    id: str
    title_fa: str
    title_en: str
    description: str
    key: str
    build: Callable[[Snapshot], gpd.GeoDataFrame]
    filters: Mapping[str, Filter]
    synthetic: str  # none, partial or all

    def frame(self, snapshot: Snapshot) -> gpd.GeoDataFrame:
        def build() -> gpd.GeoDataFrame:
            out = self.build(snapshot)
            scope = getattr(snapshot, "scope", None)  # a restricted view (api.scope)
            return out if scope is None else restrict(out, scope).reset_index(drop=True)

        return snapshot.cached(f"collection:{self.id}", build)


def _layer(name: str) -> Callable[[Snapshot], gpd.GeoDataFrame]:
    return lambda snap: snap.layer(name)


def _saturation(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    sat = a.saturation.reset_index()
    counties = snap.layer("counties")[["county_code", "province_code", "name_fa", "name_en", "geometry"]]
    out = counties.merge(sat, on="county_code")
    out.insert(0, "id", out["county_code"] + "-" + out["service_type"])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def _settlement_access(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    s = a.settlements
    out = s[
        ["settlement_code", "name_fa", "name_en", "kind", "county_code", "province_code", "population"]
    ].copy()
    for service in a.norms.services:
        out[f"{service}_nearest_km"] = (a.access.nearest_m[service] / 1000.0).round(3)
        if a.access.nearest_min is not None:
            # The travel-time layer: minutes by road to the nearest active centre.
            out[f"{service}_nearest_min"] = a.access.nearest_min[service].round(1)
            out[f"{service}_road_fallback"] = a.access.fallback[service].to_numpy()
        out[f"{service}_access_share"] = a.access_share[service].round(4)
    flagged = a.flags.groupby("settlement_code").size()
    out["flagged_services"] = out["settlement_code"].map(flagged).fillna(0).astype("int64")
    out["in_target_area"] = a.in_target_area.to_numpy()
    return gpd.GeoDataFrame(out, geometry=s.geometry, crs=4326)


def _flags(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    flags = a.flags.reset_index(drop=True)
    where = a.settlements.set_index("settlement_code")
    out = flags.join(flag_reasons(flags))
    out.insert(0, "id", out["settlement_code"] + "-" + out["service_type"])
    out.insert(2, "name_fa", where["name_fa"].reindex(out["settlement_code"]).to_numpy())
    out["county_code"] = where["county_code"].reindex(out["settlement_code"]).to_numpy()
    out["province_code"] = where["province_code"].reindex(out["settlement_code"]).to_numpy()
    geometry = where.geometry.reindex(out["settlement_code"]).to_numpy()
    return gpd.GeoDataFrame(out, geometry=geometry, crs=4326)


def _priorities(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    ranked = a.priorities(top=50)
    where = a.settlements.set_index("settlement_code").geometry
    return gpd.GeoDataFrame(ranked, geometry=where.reindex(ranked["settlement_code"]).to_numpy(), crs=4326)


def _layer_collection(
    name: str, filters: Mapping[str, Filter], description: str, synthetic: str
) -> Collection:
    spec = LAYERS[name]
    return Collection(
        name, spec.title_fa, spec.title_en, description, spec.key, _layer(name), filters, synthetic
    )


COLLECTIONS: Mapping[str, Collection] = {
    c.id: c
    for c in (
        _layer_collection(
            "provinces", {}, "The 31 provinces: OpenStreetMap boundaries, 1395 census population.", "none"
        ),
        _layer_collection(
            "counties",
            {"province": PROVINCE},
            "The 448 official counties: Statistical Centre codes, OSM boundaries, 1395 census population.",
            "none",
        ),
        _layer_collection(
            "settlements",
            {
                "province": PROVINCE,
                "county": COUNTY,
                "kind": Filter("kind", "city or village", tuple(SETTLEMENT_KINDS)),
            },
            "Official cities and villages. Points and populations are GeoNames where matched, otherwise "
            "SYNTHETIC (see position_source, population_source).",
            "partial",
        ),
        _layer_collection(
            "ngos",
            {
                "province": PROVINCE,
                "county": COUNTY,
                "service_type": SERVICE,
                "status": Filter("status", "licence status", tuple(LICENCE_STATUSES)),
            },
            "The NGO registry. In the demo it is SYNTHETIC.",
            "all",
        ),
        _layer_collection(
            "target_areas",
            {
                "province": PROVINCE,
                "county": COUNTY,
                "kind": Filter("kind", "urban or rural", ("urban", "rural")),
            },
            "The 500 target neighbourhoods. In the demo they are SYNTHETIC.",
            "all",
        ),
        Collection(
            "saturation",
            "اشباع خدمات در شهرستان‌ها",
            "Saturation per county and service type",
            "Capacity per 10,000 target persons against the norm and the national median, with its class. "
            "Feature id: <county_code>-<service_type>.",
            "id",
            _saturation,
            {
                "province": PROVINCE,
                "county": COUNTY,
                "service_type": SERVICE,
                "class": Filter("class", "saturation class", ("saturated", "balanced", "underserved")),
            },
            "all",
        ),
        Collection(
            "settlement-access",
            "دسترسی سکونتگاه‌ها",
            "Access per settlement",
            "Per settlement and service type: distance to the nearest active centre (km) and E2SFCA access "
            "as a share of the norm; how many services flag it.",
            "settlement_code",
            _settlement_access,
            {
                "province": PROVINCE,
                "county": COUNTY,
                "kind": Filter("kind", "city or village", tuple(SETTLEMENT_KINDS)),
            },
            "all",
        ),
        Collection(
            "flags",
            "سکونتگاه‌های کم‌برخوردار",
            "Underserved flags",
            "Small towns and villages flagged per service type, with the reasons in Persian and English. "
            "Feature id: <settlement_code>-<service_type>.",
            "id",
            _flags,
            {"province": PROVINCE, "county": COUNTY, "service_type": SERVICE},
            "all",
        ),
        Collection(
            "priorities",
            "اولویت روستاها",
            "Village priorities",
            "The 50 highest-priority villages of each province under the default weights, with the "
            "breakdown of the score (GET /priorities for other weights).",
            "settlement_code",
            _priorities,
            {"province": PROVINCE, "county": COUNTY},
            "all",
        ),
    )
}
