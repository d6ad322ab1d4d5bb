"""Demand at settlements and spatial access to services (nearest centre, counts, E2SFCA).

The maths works on arrays (``e2sfca_from_pairs``); the functions around it turn frames into
arrays and back, aligned with the settlements' index. The settlement–provider pairs within the
largest catchment are found once and reused for every service type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.apportion import largest_remainder_by_group
from geo.distance import Located, StraightLine
from geo.errors import SchemaError
from geo.located import settle_edges
from geo.norms import Norms


def code_ranks(codes: np.ndarray) -> np.ndarray:
    """Each code's rank among ``codes`` in sorted order (equal codes, equal ranks): one sort of
    the strings, shared by whoever orders settlements by code (``analyse`` makes it once)."""
    codes = np.asarray(codes, dtype=object)
    order = np.argsort(codes, kind="stable")
    ranks = np.empty(len(codes), dtype="int64")
    ranks[order] = np.cumsum(np.r_[True, codes[order][1:] != codes[order][:-1]]) - 1
    return ranks


def demand_at_settlements(
    settlements: pd.DataFrame, county_needs: pd.DataFrame, ranks: np.ndarray | None = None
) -> pd.DataFrame:
    """Spread each county's target population over its settlements in proportion to population.

    Returns a frame aligned with ``settlements`` with one integer column per service type; each
    county's column sums exactly to its ``county_needs`` figure (Hamilton's largest remainders,
    ties to the smaller settlement code). A county whose settlements all have no people
    spreads its figure evenly.
    """
    needs = county_needs.pivot_table(
        index="county_code", columns="service_type", values="target_population", aggfunc="sum"
    ).fillna(0)
    group = pd.Categorical(settlements["county_code"], categories=needs.index).codes.astype("int64")
    pop = settlements["population"].to_numpy(dtype="float64")
    # Ties go to the smaller settlement code, so that row order changes nothing.
    # (``ranks``: ``code_ranks`` of the settlement codes, when the caller has them)
    position = ranks if ranks is not None else code_ranks(settlements["settlement_code"].to_numpy())
    out = np.zeros((len(pop), len(needs.columns)), dtype="int64")
    for c, service in enumerate(needs.columns):
        out[:, c] = largest_remainder_by_group(needs[service].to_numpy(dtype="int64"), pop, group, position)
    return pd.DataFrame(out, index=settlements.index, columns=list(needs.columns))


def gaussian_decay(catchment_m: float) -> Callable[[np.ndarray], np.ndarray]:
    """Distance decay W(d) = exp(-d²/2σ²) with σ = half the catchment (W = 0.135 at its edge)."""
    sigma = catchment_m / 2.0

    def weight(d: np.ndarray) -> np.ndarray:
        return np.exp(-(np.asarray(d, dtype="float64") ** 2) / (2.0 * sigma**2))

    return weight


def e2sfca_from_pairs(
    i: np.ndarray,
    j: np.ndarray,
    weight: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Enhanced two-step floating catchment (Luo & Qi 2009) from the pairs within a catchment.

    Step 1: each provider's ratio R_j = S_j / Σ_i P_i W(d_ij).
    Step 2: each place's access A_i = Σ_j R_j W(d_ij).

    Parameters
    ----------
    i, j, weight
        The demand–provider pairs inside the catchment and their decay weights.
    demand, supply
        P_i per demand location, S_j per provider.

    Returns
    -------
    (access, ratio)
        A_i per demand location (supply per person) and R_j per provider (0 where no demand
        lies in its catchment).
    """
    weighted_demand = np.bincount(j, weights=demand[i] * weight, minlength=len(supply))
    ratio = np.divide(supply, weighted_demand, out=np.zeros(len(supply)), where=weighted_demand > 0)
    access = np.bincount(i, weights=ratio[j] * weight, minlength=len(demand))
    return access, ratio


@dataclass
class AccessResult:
    """Per settlement and service type: nearest centre, count in catchment, E2SFCA access.

    ``nearest_cost`` is in the travel cost's ``unit`` (metres in a straight line, minutes on
    roads); ``nearest_m`` is always metres (the straight line × detour, or along the route).
    """

    nearest_m: pd.DataFrame  # settlements × service types
    #: the nearest active centre's position in ``licences`` (-1: none), settlements × service types
    nearest_position: pd.DataFrame
    #: the licence numbers of the centres the measures counted, in their order
    licences: np.ndarray
    count_within: pd.DataFrame
    access: pd.DataFrame  # capacity per target person
    covered: pd.DataFrame  # bool: inside at least one catchment
    ratio: pd.Series  # R_j per NGO (licence_no index)
    nearest_cost: pd.DataFrame | None = None
    unit: str = "m"
    #: bool: the nearest centre was reached by the straight-line fallback (far from a road)
    fallback: pd.DataFrame | None = None
    #: bool: served by a provider of another mode than ``centre`` (``geo.catalogue``): within an
    #: outreach, community or home provider's own reach (where the norms give the mode one), or
    #: in the province of a remote one. Distance to the nearest centre then does not make the
    #: place too far.
    reached: pd.DataFrame | None = None

    def nearest_licences(self, service: str, rows: np.ndarray | None = None) -> np.ndarray:
        """The licence number of the nearest active centre of ``service`` (None where there is
        none), for every settlement or those at the positions ``rows``."""
        at = self.nearest_position[service].to_numpy()
        if rows is not None:
            at = at[rows]
        out = np.full(len(at), None, dtype=object)
        found = at >= 0
        out[found] = self.licences[at[found]]
        return out

    @property
    def nearest_ngo(self) -> pd.DataFrame:
        """The licence number of the nearest active centre, settlements × service types (made
        when asked: kept as positions, 3 MB nationally instead of 6)."""
        positions = self.nearest_position
        return pd.DataFrame(
            {service: self.nearest_licences(service) for service in positions.columns}, index=positions.index
        )

    @property
    def nearest_min(self) -> pd.DataFrame | None:
        """Minutes to the nearest centre (roads), or None in a straight line."""
        return self.nearest_cost if self.unit == "min" else None


def active_ngos(ngos: pd.DataFrame) -> pd.DataFrame:
    return ngos[ngos["status"] == "active"]


def delivery_modes(ngos: pd.DataFrame, norms: Norms) -> np.ndarray:
    """Each centre's delivery mode: its own (``delivery_mode``) or its service's main mode."""
    main = ngos["service_type"].map({code: s.main_mode for code, s in norms.services.items()})
    if "delivery_mode" not in ngos.columns:
        return main.fillna("centre").to_numpy(dtype=object)
    return (
        ngos["delivery_mode"]
        .where(ngos["delivery_mode"].notna(), main)
        .fillna("centre")
        .to_numpy(dtype=object)
    )


def locate(frame: gpd.GeoDataFrame) -> Located:
    return Located.from_lonlat(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())


def default_travel(norms: Norms):
    """The straight-line cost of the norms; roads need the network, which the caller reads."""
    if norms.travel == "roads":
        raise SchemaError(
            'the norms choose travel = "roads": pass the road network (geo.roads.RoadNetwork) as travel'
        )
    return StraightLine(norms.detour_factor)


def norms_for(norms: Norms, travel) -> Norms:
    """The norms with ``travel`` set to the cost actually used (its unit decides the catchments)."""
    kind = "roads" if travel.unit == "min" else "straight"
    if norms.travel == kind:
        return norms
    if kind == "roads" and any(s.catchment_min is None for s in norms.services.values()):
        raise SchemaError("a road network needs catchment_min and max_travel_min in the norms")
    return replace(norms, travel=kind)


def access_measures(
    settlements: gpd.GeoDataFrame,
    ngos: gpd.GeoDataFrame,
    demand: pd.DataFrame,
    norms: Norms,
    travel=None,
    places: Located | None = None,
    volunteers: pd.DataFrame | None = None,
    where: Located | None = None,
) -> AccessResult:
    """Nearest active NGO, NGOs within the catchment and E2SFCA access, per service type.

    Costs come from ``travel``: ground metres × the norms' detour factor (``StraightLine``, the
    default when the norms say ``travel = "straight"``) or minutes on roads
    (``geo.roads.RoadNetwork``); catchments are the norms' in that unit. Only active licences
    count. ``demand`` comes from ``demand_at_settlements``.

    ``volunteers`` (``geo.volunteers.located_supply``: ``service_type``, ``lon``, ``lat``,
    ``places``) are volunteer groups' places at their points: they enter E2SFCA as providers
    beside the centres (sharing the same demand), so access counts them; the nearest centre, the
    centres within the catchment and what counts as covered stay the centres' (a volunteer group
    is no centre). ``ratio`` stays per centre.
    """
    travel = travel or default_travel(norms)
    unit = travel.unit
    providers = active_ngos(ngos)
    places = places if places is not None else locate(settlements)
    if where is None:  # the active centres located (``where``, when the caller has them)
        where = (
            locate(providers) if len(providers) else Located(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)))
        )
    service_of = providers["service_type"].to_numpy()
    capacity = providers["capacity"].to_numpy(dtype="float64")
    licence = providers["licence_no"].to_numpy()
    n = len(settlements)

    cols = list(norms.services)
    nearest_m = np.full((n, len(cols)), np.inf)
    nearest_cost = np.full((n, len(cols)), np.inf)
    fallback = np.zeros((n, len(cols)), dtype=bool)
    nearest_at = np.full((n, len(cols)), -1, dtype="int32")
    # 32 bits: counts of centres (a few thousand at most); 64 held 3 MB more nationally
    count = np.zeros((n, len(cols)), dtype="int32")
    access = np.zeros((n, len(cols)))
    ratio = np.zeros(len(providers))
    mode_of = delivery_modes(providers, norms)
    province_of = providers["province_code"].to_numpy(dtype=object) if "province_code" in providers else None
    place_province = (
        settlements["province_code"].to_numpy(dtype=object) if "province_code" in settlements else None
    )
    reached = np.zeros((n, len(cols)), dtype=bool)
    for c, (service, norm) in enumerate(norms.services.items()):
        of_service = service_of == service
        need = demand[service].to_numpy(dtype="float64") if service in demand else np.zeros(n)
        extra = _volunteers_of(volunteers, service)
        # Remote providers serve their province whatever the distance.
        remote = np.flatnonzero(of_service & (mode_of == "remote"))
        if remote.size and province_of is not None and place_province is not None:
            a, r, hit = _remote(place_province, province_of[remote], need, capacity[remote])
            access[:, c] += a
            ratio[remote] = r
            reached[:, c] |= hit
        sub = np.flatnonzero(of_service & (mode_of != "remote"))
        if sub.size == 0:
            if extra is not None:
                a, _ = _e2sfca(travel, places, extra[0], need, extra[1], norm.catchment(unit), n)
                access[:, c] += a
            continue
        sub_loc = where.take(sub)
        nearest, cost, metres, fb = travel.nearest_route(places, sub_loc)
        if unit == "m" and len(sub_loc):
            # The flag rule's limit (and its relaxed form in target areas) is decided on the geodesic.
            limit = norm.max_cost("m")
            at = np.flatnonzero(nearest >= 0)
            cost[at] = settle_edges(
                cost[at],
                places,
                at,
                sub_loc,
                nearest[at],
                (limit, limit * norms.target_distance_factor),
                getattr(travel, "detour", 1.0),
            )
            metres = cost
        nearest_cost[:, c] = cost
        nearest_m[:, c] = metres
        fallback[:, c] = fb
        nearest_at[:, c] = np.where(nearest >= 0, sub[np.maximum(nearest, 0)], -1)
        # Each mode's providers within their own reach (a centre's is the catchment): one
        # E2SFCA per mode, summed. Volunteers share the centres' catchment and demand.
        modes = list(dict.fromkeys(mode_of[sub]))
        if extra is not None and "centre" not in modes:
            a, _ = _e2sfca(travel, places, extra[0], need, extra[1], norm.catchment(unit), n)
            access[:, c] += a
        for mode in modes:
            group = sub[mode_of[sub] == mode]
            group_loc = where.take(group)
            reach = norm.reach(mode, unit)
            if extra is not None and mode == "centre":
                counts = _counts_within(travel, places, group_loc, reach, n)
                both = _joined(group_loc, extra[0])
                a, r = _e2sfca(travel, places, both, need, np.r_[capacity[group], extra[1]], reach, n)
                r = r[: group.size]
            elif hasattr(travel, "e2sfca"):
                # Fused: same scores as through the pairs, without holding them.
                a, r, counts = travel.e2sfca(places, group_loc, need, capacity[group], reach)
            else:
                # Any other travel cost: pairs within this mode's own reach.
                pi, pj, pc = travel.pairs(places, group_loc, reach, origin_tree=cKDTree(places.xy))
                counts = np.bincount(pi, minlength=n)
                a, r = e2sfca_from_pairs(pi, pj, gaussian_decay(reach)(pc), need, capacity[group])
            count[:, c] += np.asarray(counts, dtype="int32")
            access[:, c] += a
            ratio[group] = r
            if mode != "centre" and norm.own_reach(mode, unit):
                # served within the mode's own reach; a mode without one is held to the
                # centres' flag rule, as today's registry is
                reached[:, c] |= np.asarray(counts) > 0
    index = settlements.index
    count_frame = pd.DataFrame(count, index=index, columns=cols)
    reached_frame = pd.DataFrame(reached, index=index, columns=cols)
    return AccessResult(
        nearest_m=pd.DataFrame(nearest_m, index=index, columns=cols),
        nearest_position=pd.DataFrame(nearest_at, index=index, columns=cols),
        licences=licence,
        count_within=count_frame,
        access=pd.DataFrame(access, index=index, columns=cols),
        covered=(count_frame > 0) | reached_frame,
        ratio=pd.Series(ratio, index=licence),
        nearest_cost=pd.DataFrame(nearest_cost, index=index, columns=cols),
        unit=unit,
        fallback=pd.DataFrame(fallback, index=index, columns=cols),
        reached=reached_frame,
    )


def _remote(
    place_province: np.ndarray, provider_province: np.ndarray, need: np.ndarray, supply: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remote providers serve their whole province, distance apart: each one's ratio is its
    capacity over its province's target persons, and a place's access the sum of its province's
    ratios. Returns (access per place, ratio per provider, places in a province with one)."""
    provinces, at = np.unique(np.r_[place_province, provider_province].astype(str), return_inverse=True)
    place_k, provider_k = at[: len(place_province)], at[len(place_province) :]
    demand = np.bincount(place_k, weights=need, minlength=len(provinces))
    ratio = np.divide(supply, demand[provider_k], out=np.zeros(len(supply)), where=demand[provider_k] > 0)
    per_province = np.bincount(provider_k, weights=ratio, minlength=len(provinces))
    served = np.bincount(provider_k, minlength=len(provinces)) > 0
    return per_province[place_k], ratio, served[place_k]


def _volunteers_of(volunteers: pd.DataFrame | None, service: str) -> tuple[Located, np.ndarray] | None:
    """The volunteer places of ``service``, located, and their places (None: there are none)."""
    if volunteers is None or not len(volunteers):
        return None
    rows = volunteers[(volunteers["service_type"] == service) & (volunteers["places"] > 0)]
    if not len(rows):
        return None
    where = Located.from_lonlat(rows["lon"].to_numpy(dtype="float64"), rows["lat"].to_numpy(dtype="float64"))
    return where, rows["places"].to_numpy(dtype="float64")


def _joined(a: Located, b: Located) -> Located:
    """Two sets of places as one, ``a``'s first."""
    return Located(np.vstack([a.xy, b.xy]), np.r_[a.k, b.k], np.vstack([a.ll, b.ll]))


def _e2sfca(travel, places: Located, providers: Located, need, supply, catchment: float, n: int):
    """E2SFCA access and ratio, through the fused kernel where the travel cost has one."""
    if hasattr(travel, "e2sfca"):
        a, r, _ = travel.e2sfca(places, providers, need, supply, catchment)
        return a, r
    pi, pj, cost = travel.pairs(places, providers, catchment, origin_tree=cKDTree(places.xy))
    return e2sfca_from_pairs(pi, pj, gaussian_decay(catchment)(cost), need, supply)


def _counts_within(travel, places: Located, providers: Located, catchment: float, n: int) -> np.ndarray:
    """How many of ``providers`` lie within ``catchment`` of each place."""
    if len(providers) == 0:
        return np.zeros(n, dtype="int64")
    if hasattr(travel, "e2sfca"):
        _, _, counts = travel.e2sfca(places, providers, np.zeros(n), np.ones(len(providers)), catchment)
        return np.asarray(counts, dtype="int64")
    pi, _, _ = travel.pairs(places, providers, catchment, origin_tree=cKDTree(places.xy))
    return np.bincount(pi, minlength=n)
