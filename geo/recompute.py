"""The whole analysis recomputed from the layers in one call: ``analyse`` returns an ``Analysis``.

The result holds every measure and flag, the access share of each settlement (computed once,
here) and the indexes that make a licence check (``geo.licence``) take a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.access import (
    AccessResult,
    access_measures,
    active_ngos,
    code_ranks,
    default_travel,
    demand_at_settlements,
    locate,
    norms_for,
)
from geo.crs import METRIC_CRS
from geo.decisions import Coarsening, check_service_type, underserved_flags, village_priorities
from geo.distance import Located, StraightLine, TravelCost
from geo.licence import LicenceCheck, LicenceIndex, check_licence, county_at, licence_index
from geo.measures import (
    concentration,
    national_concentration,
    need_rank,
    out_of_reach,
    saturation,
    settlement_tier,
)
from geo.norms import Norms
from geo.ratings import capacity_split, weigh_capacity, with_ratings
from geo.volunteers import county_volunteer_capacity, located_supply, volunteer_supply


@dataclass
class Analysis:
    norms: Norms
    settlements: gpd.GeoDataFrame
    tier: pd.Series
    demand: pd.DataFrame
    access: AccessResult
    #: E2SFCA access as a share of each service's norm (1.0 = the norm), settlements × services
    access_share: pd.DataFrame
    in_target_area: pd.Series
    saturation: pd.DataFrame
    concentration: pd.DataFrame
    concentration_by_province: pd.DataFrame
    flags: pd.DataFrame
    counties: gpd.GeoDataFrame
    ngos: gpd.GeoDataFrame  # active licences
    licence_index: LicenceIndex
    #: the day the licence statuses were read at, when the caller stated one
    as_of: dt.date | None = None
    #: whether that day is fixed (a stated day, not today's): decisions recorded after it count
    as_of_fixed: bool = False
    #: the travel cost every measure used (``StraightLine``, or ``geo.roads.RoadNetwork`` in
    #: minutes); siting, delegation and scenarios reuse it. Its unit is ``norms.unit``.
    travel: TravelCost = field(default_factory=StraightLine)
    #: the volunteer groups' places per group, speciality and service
    #: (``geo.volunteers.volunteer_supply``) when the norms count them; None otherwise
    volunteer_supply: pd.DataFrame | None = None

    @property
    def counts_volunteers(self) -> bool:
        """Whether the measures counted volunteer places beside the centres' (the norms' option)."""
        return self.norms.counts_volunteers and self.volunteer_supply is not None

    @property
    def weights_capacity(self) -> bool:
        """Whether every measure counted capacity weighted by rating (the norms' option)."""
        return self.norms.weights_capacity

    def capacity_split(self, by: str | list[str] | None = None) -> pd.DataFrame:
        """The active centres' capacity split per grade (``geo.ratings.capacity_split``), per
        ``by``; ``effective`` is what the measures counted when capacity is weighted by rating.
        Empty where the norms have no rating scale."""
        if self.norms.ratings is None or "effective_capacity" not in self.ngos.columns:
            return pd.DataFrame(columns=["grade", "weight", "centres", "licensed", "deduction", "effective"])
        return capacity_split(self.ngos, self.norms.ratings, by)

    @property
    def unit(self) -> str:
        """``"m"`` (straight line) or ``"min"`` (roads): the unit of every cost and catchment."""
        return self.norms.unit

    def catchment(self, service_type: str) -> float:
        """The catchment of a service in the travel cost's unit (metres or minutes)."""
        return self.norms.services[service_type].catchment(self.unit)

    def catchment_area(self, lon: float, lat: float, service_type: str):
        """The catchment of a centre at (lon, lat) as an area (lon/lat): on roads the travel-time
        area (``geo.roads.isochrone``), in a straight line the circle of the catchment."""
        from geo.roads import RoadNetwork, _to_lonlat, isochrone

        check_service_type(service_type, self.norms.services)
        here = Located.from_lonlat(np.array([lon]), np.array([lat]))
        catchment = self.catchment(service_type)
        if isinstance(self.travel, RoadNetwork):
            return isochrone(self.travel, here, catchment)
        radius = catchment / self.norms.detour_factor * here.k[0]
        circle = shapely.buffer(shapely.points(here.xy[0]), radius, quad_segs=16)
        to_lonlat = _to_lonlat()
        return shapely.transform(circle, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1])))

    # ---- views -------------------------------------------------------------------------------

    def settlement_access(self, codes: Sequence[str] | None = None) -> pd.DataFrame:
        """Long table: per settlement and service type, demand, nearest, count, access, flag.

        With ``codes``, only those settlements (in the settlements' order); unknown codes are
        left out.
        """
        s = self.settlements
        rows = np.arange(len(s)) if codes is None else np.flatnonzero(s["settlement_code"].isin(codes))
        code = s["settlement_code"].to_numpy()[rows]
        flags = self.flags if codes is None else self.flags[self.flags["settlement_code"].isin(code)]
        flagged = set(zip(flags["settlement_code"], flags["service_type"], strict=True))
        frames = []
        for service in self.norms.services:
            frames.append(
                pd.DataFrame(
                    {
                        "settlement_code": code,
                        "service_type": service,
                        "target_population": self.demand[service].to_numpy()[rows],
                        "nearest_km": self.access.nearest_m[service].to_numpy()[rows] / 1000.0,
                        "nearest_min": (
                            self.access.nearest_min[service].to_numpy()[rows]
                            if self.access.nearest_min is not None
                            else np.nan
                        ),
                        "road_fallback": (
                            self.access.fallback[service].to_numpy()[rows]
                            if self.access.fallback is not None
                            else False
                        ),
                        "nearest_licence_no": self.access.nearest_licences(service, rows),
                        "ngos_in_catchment": self.access.count_within[service].to_numpy()[rows],
                        "access": self.access.access[service].to_numpy()[rows],
                        "access_share": self.access_share[service].to_numpy()[rows],
                        "flagged": [(c, service) in flagged for c in code],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def priorities(
        self,
        *,
        province: str | None = None,
        service_type: str | None = None,
        weights: Mapping[str, float] | None = None,
        top: int | None = 50,
        coarsening: Coarsening | None = None,
    ) -> pd.DataFrame:
        """Villages ranked per province (``geo.decisions.village_priorities`` on this analysis);
        ``coarsening`` rounds distances and access first (roles without the exact-location right)."""
        return village_priorities(
            self.settlements,
            self.demand,
            self.access.nearest_m,
            self.access_share,
            self.in_target_area,
            self.flags,
            self.norms,
            nearest_min=self.access.nearest_min,
            province=province,
            service_type=service_type,
            weights=weights,
            top=top,
            coarsening=coarsening,
        )

    # ---- licence check ----------------------------------------------------------------------

    def county_at(self, lon: float, lat: float) -> str | None:
        return county_at(self.licence_index, lon, lat)

    def check_licence(
        self,
        lon: float,
        lat: float,
        service_type: str,
        capacity: int,
        delivery_mode: str | None = None,
        graded_in: frozenset[str] | None = None,
    ) -> LicenceCheck:
        """Judge a proposed licence (``geo.licence.check_licence`` on this analysis)."""
        return check_licence(self, lon, lat, service_type, capacity, delivery_mode, graded_in)


def analyse(
    settlements: gpd.GeoDataFrame,
    ngos: gpd.GeoDataFrame,
    county_needs: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    target_areas: gpd.GeoDataFrame | None,
    norms: Norms,
    travel=None,
    evaluations: pd.DataFrame | None = None,
    as_of: dt.date | None = None,
    volunteer_groups: pd.DataFrame | None = None,
) -> Analysis:
    """Recompute every measure and flag from the layers.

    ``travel`` is the cost every measure uses: by default the norms' straight line; with the
    norms' ``travel = "roads"`` pass the ``geo.roads.RoadNetwork`` (its unit, minutes, then
    decides the catchments and flag rules used).

    With a rating scale in the norms, each centre carries its grade on ``as_of`` (its latest
    evaluation on or before it, from ``evaluations``; ``geo.ratings.with_ratings``); with
    ``weight_capacity_by_rating`` on, every measure counts its effective capacity (licensed ×
    the grade's weight) and keeps the licensed figure beside it.

    With ``[volunteers]`` in the norms and ``volunteer_groups``, each group's places are worked
    out (``geo.volunteers.volunteer_supply``); with ``count_as_supply`` on, saturation counts every
    group in its county (``centre_capacity`` + ``volunteer_capacity``) and access (so the flags
    that read it) counts the groups placed at a point or a settlement. Nearest-centre distances
    stay the centres'.
    """
    if norms.ratings is not None:
        ngos = with_ratings(ngos, evaluations, norms.ratings, as_of)
        if norms.weights_capacity:
            ngos = weigh_capacity(ngos)
    travel = travel or default_travel(norms)
    norms = norms_for(norms, travel)
    settlements = settlements.reset_index(drop=True)
    counties = counties.reset_index(drop=True)
    tier = settlement_tier(settlements["population"], settlements["kind"])
    ranks = code_ranks(settlements["settlement_code"].to_numpy())  # one sort of the codes
    demand = demand_at_settlements(settlements, county_needs, ranks)
    # a service of the catalogue whose target population no county records yet (just added):
    # nobody to serve anywhere, so nothing is flagged for it; its centres still count
    unrecorded = [service for service in norms.services if service not in demand.columns]
    if unrecorded:
        demand = demand.assign(**dict.fromkeys(unrecorded, 0))
    places = locate(settlements)
    # Worked out only when counted: with the option off the analysis costs what it did before.
    supply = None
    counts = norms.volunteers is not None and norms.counts_volunteers
    if counts and volunteer_groups is not None and len(volunteer_groups):
        assert norms.volunteers is not None
        supply = volunteer_supply(volunteer_groups, settlements, norms.volunteers)
    counted = supply
    located = locate(active_ngos(ngos))  # once, for the measures and the licence check
    acc = access_measures(
        settlements,
        ngos,
        demand,
        norms,
        travel,
        places,
        volunteers=None if counted is None else located_supply(counted),
        where=located,
    )
    share = norms.access_share(acc.access)
    if target_areas is not None and len(target_areas):
        tree = shapely.STRtree(target_areas.geometry.to_numpy())
        hit, _ = tree.query(settlements.geometry.to_numpy(), predicate="within")
        in_target = pd.Series(False, index=settlements.index)
        in_target.iloc[np.unique(hit)] = True
    else:
        in_target = pd.Series(False, index=settlements.index)
    sat = need_rank(
        saturation(
            county_needs, ngos, norms, None if counted is None else county_volunteer_capacity(counted)
        ),
        out_of_reach(demand, acc.covered, settlements["county_code"]),
    )
    conc_p = concentration(settlements, ngos, demand, by_province=True, tier=tier)
    conc = national_concentration(conc_p)
    flags = underserved_flags(
        settlements,
        tier,
        acc.nearest_m,
        share,
        in_target,
        norms,
        demand=demand,
        nearest_min=acc.nearest_min,
        fallback=acc.fallback,
        reached=acc.reached,
        code_rank=ranks,
    )
    return Analysis(
        norms=norms,
        settlements=settlements,
        tier=tier,
        demand=demand,
        access=acc,
        access_share=share,
        in_target_area=in_target,
        saturation=sat,
        concentration=conc,
        concentration_by_province=conc_p,
        flags=flags,
        counties=counties,
        ngos=active_ngos(ngos).reset_index(drop=True),
        licence_index=licence_index(
            settlements, counties, ngos, demand, acc, flags, norms, travel, places, located
        ),
        travel=travel,
        volunteer_supply=supply,
    )


__all__ = ["METRIC_CRS", "Analysis", "analyse"]
