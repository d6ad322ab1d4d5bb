"""The whole analysis recomputed from the layers in one call: ``analyse`` returns an ``Analysis``.

The result holds every measure and flag, the access share of each settlement (computed once,
here) and the indexes that make a licence check (``geo.licence``) take a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.access import AccessResult, access_measures, active_ngos, demand_at_settlements
from geo.crs import METRIC_CRS
from geo.decisions import underserved_flags, village_priorities
from geo.distance import StraightLine
from geo.licence import LicenceCheck, LicenceIndex, check_licence, county_at, licence_index
from geo.measures import concentration, saturation, settlement_tier
from geo.norms import Norms


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
    #: the travel cost every distance above was measured with (siting and delegation reuse it)
    travel: StraightLine | None = None
    #: the day the licence statuses were read at, when the caller stated one
    as_of: dt.date | None = None

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
                        "nearest_licence_no": self.access.nearest_ngo[service].to_numpy()[rows],
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
    ) -> pd.DataFrame:
        """Villages ranked per province (``geo.decisions.village_priorities`` on this analysis)."""
        return village_priorities(
            self.settlements,
            self.demand,
            self.access.nearest_m,
            self.access_share,
            self.in_target_area,
            self.flags,
            self.norms,
            province=province,
            service_type=service_type,
            weights=weights,
            top=top,
        )

    # ---- licence check ----------------------------------------------------------------------

    def county_at(self, lon: float, lat: float) -> str | None:
        return county_at(self.licence_index, lon, lat)

    def check_licence(self, lon: float, lat: float, service_type: str, capacity: int) -> LicenceCheck:
        """Judge a proposed licence (``geo.licence.check_licence`` on this analysis)."""
        return check_licence(self, lon, lat, service_type, capacity)


def analyse(
    settlements: gpd.GeoDataFrame,
    ngos: gpd.GeoDataFrame,
    county_needs: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    target_areas: gpd.GeoDataFrame | None,
    norms: Norms,
    travel: StraightLine | None = None,
) -> Analysis:
    """Recompute every measure and flag from the layers."""
    travel = travel or StraightLine(norms.detour_factor)
    settlements = settlements.reset_index(drop=True)
    counties = counties.reset_index(drop=True)
    tier = settlement_tier(settlements["population"], settlements["kind"])
    demand = demand_at_settlements(settlements, county_needs)
    acc = access_measures(settlements, ngos, demand, norms, travel)
    share = norms.access_share(acc.access)
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
    flags = underserved_flags(settlements, tier, acc.nearest_m, share, in_target, norms, demand)
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
        licence_index=licence_index(settlements, counties, ngos, demand, acc, flags, norms),
        travel=travel,
    )


__all__ = ["METRIC_CRS", "Analysis", "analyse"]
