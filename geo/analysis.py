"""The whole analysis in one call, and the licence check that reuses it.

``analyse`` recomputes every measure and flag from the layers; the result keeps the arrays and
spatial indexes that make a licence check a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.access import (
    AccessResult,
    access_measures,
    active_ngos,
    default_travel,
    demand_at_settlements,
    gaussian_decay,
    locate,
    norms_for,
)
from geo.crs import METRIC_CRS
from geo.decisions import (
    AnalysisInputError,
    LicenceCheck,
    check_service_type,
    fa_number,
    underserved_flags,
    village_priorities,
)
from geo.distance import Located, StraightLine, ground_distance
from geo.measures import classify, concentration, saturation, settlement_tier
from geo.norms import Norms
from geo.schema import SERVICE_TYPES


@dataclass
class Analysis:
    norms: Norms
    settlements: gpd.GeoDataFrame
    tier: pd.Series
    demand: pd.DataFrame
    access: AccessResult
    in_target_area: pd.Series
    saturation: pd.DataFrame
    concentration: pd.DataFrame
    concentration_by_province: pd.DataFrame
    flags: pd.DataFrame
    counties: gpd.GeoDataFrame
    ngos: gpd.GeoDataFrame  # active licences
    _places: Located
    _place_tree: cKDTree
    _providers: Mapping[str, tuple[Located, cKDTree, pd.DataFrame]]
    _county_tree: shapely.STRtree
    _flagged_positions: Mapping[str, np.ndarray]
    #: per service type, aligned with ``_flagged_positions``: the uncovered target population a
    #: centre at that flagged place would reach (what a licence there would newly cover)
    _flagged_gain: Mapping[str, np.ndarray]
    _lonlat: np.ndarray
    #: the travel cost every measure used (``StraightLine`` or ``geo.roads.RoadNetwork``); its
    #: ``unit`` is that of the norms' catchments it was given (``norms.unit``)
    travel: StraightLine | object = None

    @property
    def unit(self) -> str:
        return self.norms.unit

    def catchment(self, service_type: str) -> float:
        """The catchment of a service in the travel cost's unit (metres or minutes)."""
        return self.norms.services[service_type].catchment(self.unit)

    # ---- views -------------------------------------------------------------------------------

    def settlement_access(self) -> pd.DataFrame:
        """Long table: per settlement and service type, demand, nearest, count, access, flag."""
        s = self.settlements
        frames = []
        flagged = set(zip(self.flags["settlement_code"], self.flags["service_type"], strict=True))
        for service, norm in self.norms.services.items():
            share = self.access.access[service] / (norm.norm_per_10k / 1e4)
            frames.append(
                pd.DataFrame(
                    {
                        "settlement_code": s["settlement_code"].to_numpy(),
                        "service_type": service,
                        "target_population": self.demand[service].to_numpy(),
                        "nearest_km": self.access.nearest_m[service].to_numpy() / 1000.0,
                        "nearest_min": (
                            self.access.nearest_min[service].to_numpy()
                            if self.access.nearest_min is not None
                            else np.nan
                        ),
                        "road_fallback": (
                            self.access.fallback[service].to_numpy()
                            if self.access.fallback is not None
                            else False
                        ),
                        "nearest_licence_no": self.access.nearest_ngo[service].to_numpy(),
                        "ngos_in_catchment": self.access.count_within[service].to_numpy(),
                        "access": self.access.access[service].to_numpy(),
                        "access_share": share.to_numpy(),
                        "flagged": [(c, service) in flagged for c in s["settlement_code"]],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def priorities(self, **kwargs) -> pd.DataFrame:
        return village_priorities(
            self.settlements,
            self.demand,
            self.access.nearest_m,
            self.access.access,
            self.in_target_area,
            self.flags,
            self.norms,
            nearest_min=self.access.nearest_min,
            **kwargs,
        )

    # ---- licence check ----------------------------------------------------------------------

    def county_at(self, lon: float, lat: float) -> str | None:
        point = shapely.Point(lon, lat)
        hits = self._county_tree.query(point, predicate="within")
        return None if len(hits) == 0 else str(self.counties["county_code"].iloc[int(hits[0])])

    def check_licence(self, lon: float, lat: float, service_type: str, capacity: int) -> LicenceCheck:
        """Judge a proposed licence: a new NGO of ``service_type`` and ``capacity`` at (lon, lat).

        Verdict: *welcome* when its county is underserved for the service, or when the target
        population it would newly cover (people in its catchment who have no such centre in
        reach) is at least its capacity; *saturated* when its county would be saturated after it
        and it would newly cover less than a tenth of its capacity; otherwise *acceptable*.
        """
        check_service_type(service_type)
        if not (np.isfinite(lon) and np.isfinite(lat)):
            raise AnalysisInputError("longitude and latitude must be numbers")
        if isinstance(capacity, bool) or int(capacity) != capacity or capacity <= 0:
            raise AnalysisInputError(f"capacity must be a positive whole number, not {capacity}")
        capacity = int(capacity)
        county = self.county_at(lon, lat)
        if county is None:
            raise AnalysisInputError(f"the point ({lon:.5f}, {lat:.5f}) is outside Iran's counties")
        norm = self.norms.services[service_type]
        catchment = norm.catchment(self.unit)
        fa_label, en_label = SERVICE_TYPES[service_type]
        here = Located.from_lonlat(np.array([lon]), np.array([lat]))

        # The county's saturation before and after.
        before = self.saturation.loc[(county, service_type)]
        after_capacity = int(before["capacity"]) + capacity
        target = int(before["target_population"])
        per_10k_after = 1e4 * after_capacity / target if target else float("nan")
        ratio_after = per_10k_after / norm.norm_per_10k
        class_after = classify(pd.Series([ratio_after]), self.norms).iloc[0]
        sat_before = _saturation_dict(before)
        sat_after = {
            **sat_before,
            "ngos": int(before["ngos"]) + 1,
            "capacity": after_capacity,
            "capacity_per_10k": per_10k_after,
            "ratio_to_norm": ratio_after,
            "class": class_after,
        }

        # Settlements in the new centre's catchment (by the travel cost; symmetric).
        idx, cost = self.travel.within(here, self._places, catchment, tree=self._place_tree)
        order = np.argsort(idx, kind="stable")
        idx, cost = idx[order], cost[order]
        demand = self.demand[service_type].to_numpy(dtype="float64")
        covered = self.access.covered[service_type].to_numpy()
        newly = int(demand[idx][~covered[idx]].sum())

        # Access change: E2SFCA ratios of existing centres do not change when one is added.
        weight = gaussian_decay(catchment)(cost)
        weighted_demand = float((demand[idx] * weight).sum())
        ratio_new = capacity / weighted_demand if weighted_demand > 0 else 0.0
        access_before = self.access.access[service_type].to_numpy()
        per_person_norm = norm.norm_per_10k / 1e4
        flagged_pos = self._flagged_positions.get(service_type, np.zeros(0, dtype="int64"))
        is_flagged = np.zeros(len(self.settlements), dtype=bool)
        is_flagged[flagged_pos] = True
        hit = is_flagged[idx]
        changes = []
        codes = self.settlements["settlement_code"].to_numpy()
        names = self.settlements["name_fa"].to_numpy()
        hit_n = np.flatnonzero(hit)
        hit_fields = self._cost_fields(cost[hit_n], idx[hit_n], here)
        for f, n in enumerate(hit_n):
            pos = int(idx[n])
            a0 = access_before[pos]
            a1 = a0 + ratio_new * weight[n]
            changes.append(
                {
                    "settlement_code": codes[pos],
                    "name_fa": names[pos],
                    **hit_fields[f],
                    "access_share_before": a0 / per_person_norm,
                    "access_share_after": a1 / per_person_norm,
                }
            )
        changes.sort(
            key=lambda c: (-(c["access_share_after"] - c["access_share_before"]), c["settlement_code"])
        )

        # Same-type active centres in the catchment.
        same = []
        n_same = 0
        located, tree, frame = self._providers.get(service_type, (None, None, None))
        if tree is not None:
            near, d = self.travel.within(here, located, catchment, tree=tree)
            n_same = len(near)
            # Only the ten nearest are listed.
            near, d = near[:10], d[:10]
            fields = self._cost_fields(d, near, here, located)
            for f, n in enumerate(near):
                row = frame.iloc[int(n)]
                same.append(
                    {
                        "licence_no": row["licence_no"],
                        "name_fa": row["name_fa"],
                        "capacity": int(row["capacity"]),
                        **fields[f],
                        "lon": float(row.geometry.x),
                        "lat": float(row.geometry.y),
                    }
                )

        better = self._better_places(here, service_type, catchment, newly, county)

        if sat_before["class"] == "underserved" or newly >= capacity:
            verdict = "welcome"
        elif class_after == "saturated" and newly < 0.1 * capacity:
            verdict = "saturated"
        else:
            verdict = "acceptable"
        en, fa = _licence_reasons(
            verdict,
            en_label,
            fa_label,
            sat_before,
            sat_after,
            n_same,
            newly,
            changes,
            better,
            self._catchment_words(norm),
        )
        return LicenceCheck(
            verdict=verdict,
            county_code=county,
            province_code=county[:2],
            service_type=service_type,
            capacity=capacity,
            lon=float(lon),
            lat=float(lat),
            catchment_km=norm.catchment_km,
            saturation_before=sat_before,
            saturation_after=sat_after,
            same_type_nearby=same,
            same_type_in_catchment=n_same,
            newly_covered_target_population=newly,
            underserved_access_changes=changes[:20],
            better_places=better,
            reasons_en=en,
            reasons_fa=fa,
            travel=self.norms.travel,
            catchment_min=norm.catchment_min if self.unit == "min" else None,
            road_fallback=bool(self.unit == "min" and self.travel.snap(here).fallback[0]),
        )

    def catchment_area(self, lon: float, lat: float, service_type: str):
        """The catchment of a centre at (lon, lat) as an area (lon/lat): on roads the travel-time
        area (``geo.roads.isochrone``), in a straight line the circle of the catchment."""
        check_service_type(service_type)
        here = Located.from_lonlat(np.array([lon]), np.array([lat]))
        catchment = self.catchment(service_type)
        if self.unit == "min":
            from geo.roads import isochrone

            return isochrone(self.travel, here, catchment)
        from geo.roads import _to_lonlat

        radius = catchment / self.norms.detour_factor * here.k[0]
        circle = shapely.buffer(shapely.points(here.xy[0]), radius, quad_segs=16)
        to_lonlat = _to_lonlat()
        return shapely.transform(circle, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1])))

    def _catchment_words(self, norm) -> tuple[str, str]:
        if self.unit == "min":
            return f"{norm.catchment_min:.0f} min by road", f"{fa_number(norm.catchment_min)} دقیقه راه"
        return f"{norm.catchment_km:.0f} km", f"{fa_number(norm.catchment_km)} کیلومتر"

    def _cost_fields(self, cost, pos, here, located=None) -> list[dict]:
        """Trips' costs for an answer: ``distance_km`` (in a straight line: the travel distance,
        × detour; on roads: the ground distance) and, on roads, ``travel_min``."""
        cost = np.asarray(cost, dtype="float64")
        if self.unit != "min":
            return [{"distance_km": round(float(c) / 1000.0, 2)} for c in cost]
        where = self._places if located is None else located
        pos = np.asarray(pos, dtype="int64")
        ground = ground_distance(where, pos, here, np.zeros(len(pos), dtype="int64"))
        return [
            {"distance_km": round(float(g) / 1000.0, 2), "travel_min": round(float(c), 1)}
            for g, c in zip(ground, cost, strict=True)
        ]

    def _better_places(
        self, here: Located, service_type: str, catchment: float, newly: int, county: str
    ) -> list[dict]:
        """Up to five flagged places nearby where the same licence would newly cover more people."""
        pos = self._flagged_positions.get(service_type, np.zeros(0, dtype="int64"))
        if len(pos) == 0:
            return []
        d = ground_distance(self._places, pos, here, np.zeros(len(pos), dtype="int64"))
        gains = np.rint(self._flagged_gain[service_type]).astype("int64")
        nearest = np.argsort(d, kind="stable")[:BETTER_PLACE_CANDIDATES]
        nearest = nearest[gains[nearest] > newly]
        codes = self.settlements["settlement_code"].to_numpy()
        # Most people newly covered first, then the nearer, then the smaller code.
        order = np.lexsort((codes[pos[nearest]], d[nearest], -gains[nearest]))
        out = []
        for n in nearest[order][:5]:
            p = int(pos[n])
            out.append(
                {
                    "settlement_code": codes[p],
                    "name_fa": self.settlements["name_fa"].iat[p],
                    "county_code": self.settlements["county_code"].iat[p],
                    "lon": float(self._lonlat[p, 0]),
                    "lat": float(self._lonlat[p, 1]),
                    "distance_km": round(float(d[n]) / 1000.0, 2),
                    "newly_covered_target_population": int(gains[n]),
                }
            )
        return out


#: How many of the nearest flagged places the licence check compares the proposal with.
BETTER_PLACE_CANDIDATES = 200


def _saturation_dict(row: pd.Series) -> dict:
    return {
        "target_population": int(row["target_population"]),
        "ngos": int(row["ngos"]),
        "capacity": int(row["capacity"]),
        "capacity_per_10k": float(row["capacity_per_10k"]),
        "norm_per_10k": float(row["norm_per_10k"]),
        "ratio_to_norm": float(row["ratio_to_norm"]),
        "national_median_per_10k": float(row["national_median_per_10k"]),
        "class": str(row["class"]),
    }


_CLASS_FA = {"saturated": "اشباع", "balanced": "متعادل", "underserved": "کم‌برخوردار"}
_VERDICT_FA = {"welcome": "مطلوب", "acceptable": "قابل قبول", "saturated": "اشباع"}


def _licence_reasons(verdict, en_label, fa_label, before, after, same, newly, changes, better, catchment):
    """``same``: how many same-type centres are in the catchment."""
    within_en, within_fa = catchment
    en = [
        f"verdict: {verdict}",
        f"county {en_label.lower()} capacity {before['capacity_per_10k']:.0f} per 10,000 target persons "
        f"({before['ratio_to_norm']:.2f} of the norm {before['norm_per_10k']:.0f}; national median "
        f"{before['national_median_per_10k']:.0f}): {before['class']}; after this licence "
        f"{after['capacity_per_10k']:.0f} ({after['ratio_to_norm']:.2f} of norm): {after['class']}",
        f"{same} active {en_label.lower()} centres within {within_en}",
        f"would newly cover {newly:,} target persons who have no such centre within {within_en}",
    ]
    fa = [
        f"نتیجه: {_VERDICT_FA[verdict]}",
        f"ظرفیت {fa_label} شهرستان {fa_number(before['capacity_per_10k'])} به ازای هر ۱۰٬۰۰۰ نفر جمعیت هدف "
        f"({fa_number(before['ratio_to_norm'], 2)} برابر هنجار): {_CLASS_FA[before['class']]}؛ پس از این مجوز "
        f"{fa_number(after['capacity_per_10k'])}: {_CLASS_FA[after['class']]}",
        f"{fa_number(same)} مرکز فعال {fa_label} در شعاع {within_fa}",
        f"پوشش تازهٔ {fa_number(newly)} نفر از جمعیت هدف که در این شعاع مرکزی ندارند",
    ]
    if changes:
        en.append(f"raises access of {len(changes)} underserved places in reach")
        fa.append(f"افزایش دسترسی {fa_number(len(changes))} سکونتگاه کم‌برخوردار در این شعاع")
    if better:
        b = better[0]
        en.append(
            f"{len(better)} underserved places nearby would gain more, e.g. {b['name_fa']} "
            f"({b['distance_km']:.0f} km away, {b['newly_covered_target_population']:,} persons newly covered)"
        )
        fa.append(
            f"{fa_number(len(better))} سکونتگاه کم‌برخوردار نزدیک سود بیشتری می‌برند، مانند {b['name_fa']} "
            f"({fa_number(b['distance_km'])} کیلومتر دورتر، پوشش {fa_number(b['newly_covered_target_population'])} نفر)"
        )
    return en, fa


def analyse(
    settlements: gpd.GeoDataFrame,
    ngos: gpd.GeoDataFrame,
    county_needs: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    target_areas: gpd.GeoDataFrame | None,
    norms: Norms,
    travel=None,
) -> Analysis:
    """Recompute every measure and flag from the layers.

    ``travel`` is the cost every measure uses: by default the norms' straight line; with the
    norms' ``travel = "roads"`` pass the ``geo.roads.RoadNetwork`` (its unit, minutes, then
    decides the catchments and flag rules used).
    """
    travel = travel or default_travel(norms)
    norms = norms_for(norms, travel)
    settlements = settlements.reset_index(drop=True)
    tier = settlement_tier(settlements["population"], settlements["kind"])
    demand = demand_at_settlements(settlements, county_needs)
    places = locate(settlements)
    acc = access_measures(settlements, ngos, demand, norms, travel, places)
    if target_areas is not None and len(target_areas):
        tree = shapely.STRtree(target_areas.geometry.to_numpy())
        hit, _ = tree.query(settlements.geometry.to_numpy(), predicate="within")
        in_target = pd.Series(False, index=settlements.index)
        in_target.iloc[np.unique(hit)] = True
    else:
        in_target = pd.Series(False, index=settlements.index)
    sat = saturation(county_needs, ngos, norms)
    conc = concentration(settlements, ngos, demand, tier=tier)
    conc_p = concentration(settlements, ngos, demand, by_province=True, tier=tier)
    flags = underserved_flags(
        settlements,
        tier,
        acc.nearest_m,
        acc.access,
        in_target,
        norms,
        nearest_min=acc.nearest_min,
        fallback=acc.fallback,
    )
    active = active_ngos(ngos).reset_index(drop=True)
    providers = {}
    for service in norms.services:
        sub = active[active["service_type"] == service].reset_index(drop=True)
        if len(sub):
            loc = locate(sub)
            providers[service] = (loc, cKDTree(loc.xy), sub)
    flagged_positions = {
        service: np.sort(settlements.index.get_indexer(group.index))
        for service, group in flags.groupby("service_type")
    }
    flagged_gain = {}
    for service, positions in flagged_positions.items():
        uncovered = np.where(acc.covered[service].to_numpy(), 0.0, demand[service].to_numpy(dtype="float64"))
        queries = places.take(positions)
        catchment = norms.services[service].catchment(norms.unit)
        flagged_gain[service] = travel.sum_within(queries, places, uncovered, catchment)
    return Analysis(
        norms=norms,
        settlements=settlements,
        tier=tier,
        demand=demand,
        access=acc,
        in_target_area=in_target,
        saturation=sat,
        concentration=conc,
        concentration_by_province=conc_p,
        flags=flags,
        counties=counties.reset_index(drop=True),
        ngos=active,
        _places=places,
        _place_tree=cKDTree(places.xy),
        _providers=providers,
        _county_tree=shapely.STRtree(counties.geometry.to_numpy()),
        _flagged_positions=flagged_positions,
        _flagged_gain=flagged_gain,
        _lonlat=np.column_stack([settlements.geometry.x.to_numpy(), settlements.geometry.y.to_numpy()]),
        travel=travel,
    )


__all__ = ["METRIC_CRS", "Analysis", "analyse"]
