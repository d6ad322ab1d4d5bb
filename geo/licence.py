"""The licence check: judge a proposed NGO (point, service type, capacity) against the analysis.

It reuses what ``geo.recompute.analyse`` computed (saturation, demand, access, flags) and the
spatial indexes of a ``LicenceIndex`` built once with it, so a check takes a few milliseconds.
Its verdict comes with reasons in words and figures, in Persian and English.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.access import AccessResult, active_ngos, gaussian_decay, locate
from geo.catalogue import DELIVERY_MODES
from geo.decisions import AnalysisInputError, check_service_type, fa_number
from geo.distance import Located, TravelCost, ground_distance
from geo.measures import classify
from geo.norms import Norms
from geo.ratings import UNRATED, effective_capacity

#: How many of the nearest flagged places the licence check compares the proposal with.
BETTER_PLACE_CANDIDATES = 200


@dataclass
class LicenceCheck:
    verdict: str  # welcome, acceptable or saturated
    county_code: str
    province_code: str
    service_type: str
    capacity: int
    lon: float
    lat: float
    catchment_km: float
    saturation_before: dict
    saturation_after: dict
    same_type_nearby: list[dict]  # the ten nearest
    same_type_in_catchment: int
    newly_covered_target_population: int
    underserved_access_changes: list[dict]
    better_places: list[dict]
    #: one sentence saying why the verdict is what it is
    summary_en: str = ""
    summary_fa: str = ""
    reasons_en: list[str] = field(default_factory=list)
    reasons_fa: list[str] = field(default_factory=list)
    #: "straight" (catchment in km) or "roads" (catchment in minutes, ``catchment_min``)
    travel: str = "straight"
    catchment_min: float | None = None
    #: on roads: the proposed place is far from any road, so its trips are straight lines
    road_fallback: bool = False
    #: with a rating scale in the norms: the grades of the same-type centres in the catchment
    #: (grade -> centres, ``unrated`` for those never evaluated), and whether capacity was
    #: weighted by rating (the county's figures and the proposed centre's then count effective
    #: capacity; a new centre counts as unrated)
    ratings_in_catchment: dict | None = None
    capacity_weighted_by_rating: bool = False
    #: the capacity the proposed centre counts for (its capacity × the unrated weight when
    #: capacity is weighted by rating, else its capacity)
    counted_capacity: int | None = None
    #: how the proposed centre is assumed to deliver (``geo.catalogue``): the asked mode or its
    #: service's main one; and the reach the check used (km, or minutes on roads; None: remote,
    #: the whole province)
    delivery_mode: str = "centre"
    reach_km: float | None = None
    reach_min: float | None = None


@dataclass(frozen=True)
class LicenceIndex:
    """The spatial indexes a licence check needs, built once per analysis."""

    places: Located  # the settlements, ready for distances
    place_tree: cKDTree
    #: per service type: its active centres located, their tree and their rows
    providers: Mapping[str, tuple[Located, cKDTree, pd.DataFrame]]
    county_tree: shapely.STRtree
    county_codes: np.ndarray
    #: per service type: positions of the settlements flagged for it, sorted
    flagged_positions: Mapping[str, np.ndarray]
    lonlat: np.ndarray
    #: per service type, aligned with ``flagged_positions``: the uncovered target population a
    #: centre at that flagged place would reach (what a licence there would newly cover).
    #: Worked out for a service at the first check that needs it, and kept: an analysis whose
    #: measures nobody checks a licence against need not sum every flagged neighbourhood.
    gains: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def flagged_gain(self, analysis: Analysis, service_type: str) -> np.ndarray:
        """The uncovered target population within the catchment of each settlement flagged for
        ``service_type`` (aligned with ``flagged_positions``), by the analysis' travel cost."""
        found = self.gains.get(service_type)
        if found is not None:  # made already: no wait behind another service's first check
            return found
        with self.lock:  # two checks at once sum it once
            if service_type not in self.gains:
                positions = self.flagged_positions.get(service_type, np.zeros(0, dtype="int64"))
                uncovered = np.where(
                    analysis.access.covered[service_type].to_numpy(),
                    0.0,
                    analysis.demand[service_type].to_numpy(dtype="float64"),
                )
                catchment = analysis.norms.services[service_type].catchment(analysis.travel.unit)
                self.gains[service_type] = analysis.travel.sum_within(
                    self.places.take(positions), self.places, uncovered, catchment
                )
            return self.gains[service_type]


def licence_index(
    settlements: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    ngos: gpd.GeoDataFrame,
    demand: pd.DataFrame,
    access: AccessResult,
    flags: pd.DataFrame,
    norms: Norms,
    travel=None,
    places: Located | None = None,
    located: Located | None = None,
) -> LicenceIndex:
    """Build the indexes of the licence check; ``settlements`` has a 0..n-1 index. ``travel``
    is the analysis' cost (default: the norms' straight line), ``places`` the settlements as
    located for it, ``located`` the active centres (both located here when not given)."""
    from geo.access import default_travel

    travel = travel or default_travel(norms)
    active = active_ngos(ngos).reset_index(drop=True)
    # located once; each service's centres are taken from it (without ``take``'s link to the
    # whole set, as ``locate`` of a service's rows gave them before)
    located = located if located is not None else locate(active)
    codes, services = pd.factorize(active["service_type"])
    providers = {}
    code_of = {service: k for k, service in enumerate(services)}
    for service in norms.services:
        if service not in code_of:
            continue
        at = np.flatnonzero(codes == code_of[service])
        loc = Located(located.xy[at], located.k[at], located.ll[at])
        providers[service] = (loc, cKDTree(loc.xy, copy_data=False), active.take(at).reset_index(drop=True))
    places = places if places is not None else locate(settlements)
    flagged_positions = {
        service: np.sort(settlements.index.get_indexer(group.index))
        for service, group in flags.groupby("service_type")
    }
    return LicenceIndex(
        places=places,
        place_tree=cKDTree(places.xy, copy_data=False),  # the points' own array: no copy of it
        providers=providers,
        county_tree=shapely.STRtree(counties.geometry.to_numpy()),
        county_codes=counties["county_code"].to_numpy(),
        flagged_positions=flagged_positions,
        lonlat=np.column_stack([settlements.geometry.x.to_numpy(), settlements.geometry.y.to_numpy()]),
    )


def county_at(index: LicenceIndex, lon: float, lat: float) -> str | None:
    """The code of the county holding (lon, lat), or None outside every county."""
    hits = index.county_tree.query(shapely.Point(lon, lat), predicate="within")
    return None if len(hits) == 0 else str(index.county_codes[int(hits[0])])


class Analysis(Protocol):
    """What the licence check reads of an analysis (``geo.recompute.Analysis`` has it all).

    Stated here, so that the check depends on the shape of an analysis and not on the module that
    makes one (which itself builds its ``LicenceIndex`` with this module).
    """

    @property
    def norms(self) -> Norms: ...
    @property
    def settlements(self) -> gpd.GeoDataFrame: ...
    @property
    def demand(self) -> pd.DataFrame: ...
    @property
    def access(self) -> AccessResult: ...
    @property
    def saturation(self) -> pd.DataFrame: ...
    @property
    def licence_index(self) -> LicenceIndex: ...
    @property
    def travel(self) -> TravelCost: ...


def check_licence(
    analysis: Analysis,
    lon: float,
    lat: float,
    service_type: str,
    capacity: int,
    delivery_mode: str | None = None,
    graded_in: frozenset[str] | None = None,
) -> LicenceCheck:
    """Judge a proposed licence: a new NGO of ``service_type`` and ``capacity`` at (lon, lat).

    Verdict: *welcome* when its county is underserved for the service, or when the target
    population it would newly cover (people in its catchment who have no such centre in
    reach) is at least its capacity; *saturated* when its county would be saturated after it
    and it would newly cover less than a tenth of its capacity; otherwise *acceptable*.

    ``delivery_mode`` (default: the service's main mode, ``geo.catalogue``) decides its reach:
    a centre's catchment, an outreach, community or home provider's own reach, or for a remote
    one the whole province of the place, distance apart. The answer says which it assumed.
    Better places are ranked for the service's catchment: none are listed for another reach.

    ``graded_in``: the provinces whose centres' grades the answer may tell (None: every one);
    the same-type centres of other provinces in reach are counted under ``OTHER_PROVINCES``
    instead of their grade (an officer of one province is not told another's evaluations).
    """
    check_service_type(service_type, analysis.norms.services)
    norm = analysis.norms.services[service_type]
    mode = delivery_mode or norm.main_mode
    if mode not in norm.modes:
        raise AnalysisInputError(
            f"{service_type} is delivered {', '.join(norm.modes)}, not {mode}", code="mode-not-offered"
        )
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise AnalysisInputError("longitude and latitude must be numbers")
    if isinstance(capacity, bool) or int(capacity) != capacity or capacity <= 0:
        raise AnalysisInputError(f"capacity must be a positive whole number, not {capacity}")
    capacity = int(capacity)
    ix = analysis.licence_index
    county = county_at(ix, lon, lat)
    if county is None:
        raise AnalysisInputError(
            f"the point ({lon:.5f}, {lat:.5f}) is outside Iran's counties", code="outside-counties"
        )
    unit = analysis.norms.unit
    remote = mode == "remote"
    catchment = norm.reach(mode, unit)
    travel = analysis.travel
    fa_label, en_label = norm.label_fa, norm.label_en
    here = Located.from_lonlat(np.array([lon]), np.array([lat]))

    # What the proposed centre counts for: with capacity weighted by rating, a new centre has no
    # evaluation yet and counts as unrated.
    scale = analysis.norms.ratings
    weighted = scale is not None and analysis.norms.weights_capacity
    counted = capacity
    if weighted:
        assert scale is not None
        counted = int(effective_capacity(pd.Series([capacity]), pd.Series([None]), scale).iloc[0])

    # The county's saturation before and after.
    before = analysis.saturation.loc[(county, service_type)]
    after_capacity = int(before["capacity"]) + counted
    target = int(before["target_population"])
    per_10k_after = 1e4 * after_capacity / target if target else float("nan")
    ratio_after = per_10k_after / norm.norm_per_10k
    class_after = classify(pd.Series([ratio_after]), analysis.norms).iloc[0]
    sat_before = _saturation_dict(before)
    sat_after = {
        **sat_before,
        "ngos": int(before["ngos"]) + 1,
        "capacity": after_capacity,
        **(
            {
                "licensed_capacity": sat_before["licensed_capacity"] + capacity,
                "rating_deduction": sat_before["rating_deduction"] + capacity - counted,
            }
            if "licensed_capacity" in sat_before
            else {}
        ),
        **(
            {"centre_capacity": sat_before["centre_capacity"] + counted}
            if "centre_capacity" in sat_before
            else {}
        ),
        "capacity_per_10k": per_10k_after,
        "ratio_to_norm": ratio_after,
        "class": class_after,
    }

    # Settlements in the new centre's reach (by the travel cost; trips are symmetric); a remote
    # one reaches its province's places, each at weight 1.
    if remote:
        province_of = analysis.settlements["province_code"].to_numpy(dtype=object)
        idx = np.flatnonzero(province_of == county[:2])
        cost = np.zeros(len(idx))
    else:
        idx, cost = travel.within(here, ix.places, catchment, tree=ix.place_tree)
        order = np.argsort(idx, kind="stable")
        idx, cost = idx[order], cost[order]
    demand = analysis.demand[service_type].to_numpy(dtype="float64")
    covered = analysis.access.covered[service_type].to_numpy()
    newly = int(demand[idx][~covered[idx]].sum())

    # Access change: E2SFCA ratios of existing centres do not change when one is added.
    weight = np.ones(len(idx)) if remote else gaussian_decay(catchment)(cost)
    weighted_demand = float((demand[idx] * weight).sum())
    ratio_new = counted / weighted_demand if weighted_demand > 0 else 0.0
    access_before = analysis.access.access[service_type].to_numpy()
    per_person_norm = norm.per_person
    flagged_pos = ix.flagged_positions.get(service_type, np.zeros(0, dtype="int64"))
    is_flagged = np.zeros(len(analysis.settlements), dtype=bool)
    is_flagged[flagged_pos] = True
    hit = is_flagged[idx]
    changes = []
    codes = analysis.settlements["settlement_code"].to_numpy()
    names = analysis.settlements["name_fa"].to_numpy()
    hit_n = np.flatnonzero(hit)
    if remote and len(hit_n):
        # Distance apart, the answer says how far each place is all the same: on the ground ×
        # the detour (no trip is made, so no minutes on roads).
        ground = ground_distance(ix.places, idx[hit_n], here, np.zeros(len(hit_n), dtype="int64"))
        cost = cost.copy()
        cost[hit_n] = ground * analysis.norms.detour_factor if unit == "m" else np.nan
    hit_fields = _cost_fields(analysis, cost[hit_n], idx[hit_n], here, ix.places)
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
    changes.sort(key=lambda c: (-(c["access_share_after"] - c["access_share_before"]), c["settlement_code"]))

    # Same-type active centres in the reach (remote: the province's).
    same = []
    n_same = 0
    grades_near: list[str | None] = []
    if service_type in ix.providers:
        located, tree, frame = ix.providers[service_type]
        if remote:
            near = np.flatnonzero(frame["province_code"].to_numpy(dtype=object) == county[:2])
            d = (
                ground_distance(located, near, here, np.zeros(len(near), dtype="int64"))
                * analysis.norms.detour_factor
            )
            order = np.argsort(d, kind="stable")
            near, d = near[order], d[order]
            if unit == "min":
                d = np.full(len(near), np.nan)
        else:
            near, d = travel.within(here, located, catchment, tree=tree)
        n_same = len(near)
        if "grade" in frame.columns:
            grades_near = [frame["grade"].iat[int(n)] for n in near]
            if graded_in is not None:
                province = frame["province_code"].to_numpy(dtype=object)
                grades_near = [
                    g if province[int(n)] in graded_in else OTHER_PROVINCES
                    for g, n in zip(grades_near, near, strict=True)
                ]
        # Only the ten nearest are listed.
        near, d = near[:10], d[:10]
        fields = _cost_fields(analysis, d, near, here, located)
        for f, n in enumerate(near):
            row = frame.iloc[int(n)]
            same.append(
                {
                    "licence_no": row["licence_no"],
                    "name_fa": row["name_fa"],
                    "capacity": int(row["capacity"]),
                    **_rating_fields(row),
                    **fields[f],
                    "lon": float(row.geometry.x),
                    "lat": float(row.geometry.y),
                }
            )

    same_reach = not remote and catchment == norm.catchment(unit)
    better = _better_places(analysis, here, service_type, catchment, newly, county) if same_reach else []

    if sat_before["class"] == "underserved" or newly >= capacity:
        verdict = "welcome"
    elif class_after == "saturated" and newly < 0.1 * capacity:
        verdict = "saturated"
    else:
        verdict = "acceptable"
    reach_words = _reach_words(norm, mode, unit)
    summary_en, summary_fa = _licence_summary(
        verdict, en_label, fa_label, sat_before, class_after, newly, capacity, reach_words
    )
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
        reach_words,
    )
    ratings = None
    if scale is not None:
        ratings = {g: 0 for g in (*scale.codes, UNRATED)}
        if graded_in is not None:
            ratings[OTHER_PROVINCES] = 0
        for g in grades_near:
            ratings[g if isinstance(g, str) and g in ratings else UNRATED] += 1
        en.append(_ratings_reason_en(ratings, n_same, weighted, capacity, counted))
        fa.append(_ratings_reason_fa(ratings, n_same, weighted, capacity, counted))
        if "licensed_capacity" in sat_before:
            lic, ded = sat_before["licensed_capacity"], sat_before["rating_deduction"]
            en.append(
                f"the county's {en_label.lower()} capacity counted today: {sat_before['capacity']:,} = "
                f"{lic:,} licensed − {ded:,} for ratings"
            )
            fa.append(
                f"ظرفیت {fa_label} شهرستان که امروز شمرده می‌شود: {fa_number(sat_before['capacity'])} = "
                f"{fa_number(lic)} ظرفیت مجوز − {fa_number(ded)} بابت رتبه‌ها"
            )
    # Last: the delivery mode the check assumed, and its reach.
    mode_fa, mode_en = DELIVERY_MODES[mode]
    en.append(f"assumed delivered {mode_en.lower()} ({mode}): serves {reach_words[0]}")
    fa.append(f"با فرض ارائهٔ «{mode_fa}»: خدمت {reach_words[2]}")
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
        summary_en=summary_en,
        summary_fa=summary_fa,
        reasons_en=en,
        reasons_fa=fa,
        travel=analysis.norms.travel,
        catchment_min=norm.catchment_min if unit == "min" else None,
        road_fallback=bool(travel.fallback(here)[0]),
        ratings_in_catchment=ratings,
        capacity_weighted_by_rating=weighted,
        counted_capacity=counted,
        delivery_mode=mode,
        reach_km=None if remote else round(norm.reach(mode, "m") / 1000.0, 3),
        reach_min=None if remote or unit != "min" else norm.reach(mode, "min"),
    )


def _rating_fields(row: pd.Series) -> dict:
    """A counted centre's grade (None: unrated) and, when capacity is weighted, its licence's."""
    if "grade" not in row.index:
        return {}
    grade = row["grade"]
    out: dict = {"grade": grade if isinstance(grade, str) else None}
    if "licensed_capacity" in row.index and int(row["licensed_capacity"]) != int(row["capacity"]):
        out["licensed_capacity"] = int(row["licensed_capacity"])
    return out


#: The histogram's key for same-type centres of provinces whose grades the caller is not told.
OTHER_PROVINCES = "other_provinces"
_GRADE_FA = {UNRATED: "بی‌ارزیابی", OTHER_PROVINCES: "در استان‌های دیگر"}
_GRADE_EN = {OTHER_PROVINCES: "in other provinces"}


def _ratings_reason_en(ratings: dict, n: int, weighted: bool, capacity: int, counted: int) -> str:
    counts = ", ".join(f"{_GRADE_EN.get(g, g)} {k}" for g, k in ratings.items() if k) or "none"
    text = f"ratings of the {n:,} same-type centres in the catchment: {counts}"
    if weighted:
        text += (
            f"; capacity is weighted by rating, so they count their effective capacity, and the "
            f"proposed centre (not yet evaluated) counts {counted:,} of its {capacity:,} places"
        )
    return text


def _ratings_reason_fa(ratings: dict, n: int, weighted: bool, capacity: int, counted: int) -> str:
    counts = "، ".join(f"{_GRADE_FA.get(g, g)} {fa_number(k)}" for g, k in ratings.items() if k) or "هیچ"
    text = f"رتبهٔ {fa_number(n)} مرکز هم‌نوع در حوزهٔ خدمت: {counts}"
    if weighted:
        text += (
            f"؛ ظرفیت به رتبه وزن داده می‌شود، پس ظرفیت مؤثرشان شمرده می‌شود و مرکز پیشنهادی "
            f"(هنوز ارزیابی‌نشده) {fa_number(counted)} از {fa_number(capacity)} جای خود را می‌شمارد"
        )
    return text


def _reach_words(norm, mode: str, unit: str) -> tuple[str, str, str]:
    """Where a provider of ``mode`` serves, as the sentences say it: English ("within 30 km"),
    Persian after "who have no centre …" ("تا ۳۰ کیلومتر") and after "centres …" ("در شعاع ۳۰
    کیلومتر"). A remote one serves its province, whatever the distance."""
    if mode == "remote":
        return "in the province, whatever the distance", "در استان", "در استان، هر فاصله‌ای"
    if mode == "centre":
        en, fa = _catchment_words(norm, unit)
    else:
        reach = norm.reach(mode, unit)
        if unit == "min":
            en, fa = f"{reach:.0f} min by road", f"{fa_number(reach)} دقیقه راه"
        else:
            en, fa = f"{reach / 1000:.0f} km", f"{fa_number(reach / 1000)} کیلومتر"
    return f"within {en}", f"تا {fa}", f"در شعاع {fa}"


def _catchment_words(norm, unit: str) -> tuple[str, str]:
    if unit == "min":
        return f"{norm.catchment_min:.0f} min by road", f"{fa_number(norm.catchment_min)} دقیقه راه"
    return f"{norm.catchment_km:.0f} km", f"{fa_number(norm.catchment_km)} کیلومتر"


def _cost_fields(analysis: Analysis, cost, pos, here: Located, where: Located) -> list[dict]:
    """Trips' costs for an answer: ``distance_km`` (in a straight line: the travel distance,
    × detour; on roads: the ground distance) and, on roads, ``travel_min``."""
    cost = np.asarray(cost, dtype="float64")
    if analysis.norms.unit != "min":
        return [{"distance_km": round(float(c) / 1000.0, 2)} for c in cost]
    pos = np.asarray(pos, dtype="int64")
    ground = ground_distance(where, pos, here, np.zeros(len(pos), dtype="int64"))
    return [
        {"distance_km": round(float(g) / 1000.0, 2), "travel_min": round(float(c), 1)}
        for g, c in zip(ground, cost, strict=True)
    ]


def _better_places(
    analysis: Analysis, here: Located, service_type: str, catchment: float, newly: int, county: str
) -> list[dict]:
    """Up to five flagged places nearby where the same licence would newly cover more people.

    Only places in the same province (the same licensing office), and none within half a
    catchment radius of a better one already chosen, so the five serve different people.
    """
    ix = analysis.licence_index
    pos = ix.flagged_positions.get(service_type, np.zeros(0, dtype="int64"))
    in_province = analysis.settlements["province_code"].to_numpy()[pos] == county[:2]
    pos = pos[in_province]
    if len(pos) == 0:
        return []
    d = ground_distance(ix.places, pos, here, np.zeros(len(pos), dtype="int64"))
    gains = np.rint(ix.flagged_gain(analysis, service_type)[in_province]).astype("int64")
    nearest = np.argsort(d, kind="stable")[:BETTER_PLACE_CANDIDATES]
    nearest = nearest[gains[nearest] > newly]
    codes = analysis.settlements["settlement_code"].to_numpy()
    # Most people newly covered first, then the nearer, then the smaller code.
    order = np.lexsort((codes[pos[nearest]], d[nearest], -gains[nearest]))
    out: list[dict] = []
    chosen: list[int] = []
    detour = analysis.norms.detour_factor
    for n in nearest[order]:
        if len(out) == 5:
            break
        p = int(pos[n])
        if chosen:
            others = np.asarray(chosen, dtype="int64")
            gaps = ground_distance(ix.places, others, ix.places, np.full(len(others), p))
            if (gaps < catchment / detour / 2).any():
                continue
        chosen.append(p)
        out.append(
            {
                "settlement_code": codes[p],
                "name_fa": analysis.settlements["name_fa"].iat[p],
                "county_code": analysis.settlements["county_code"].iat[p],
                "lon": float(ix.lonlat[p, 0]),
                "lat": float(ix.lonlat[p, 1]),
                "distance_km": round(float(d[n]) / 1000.0, 2),
                "newly_covered_target_population": int(gains[n]),
            }
        )
    return out


def _saturation_dict(row: pd.Series) -> dict:
    return {
        "target_population": int(row["target_population"]),
        "ngos": int(row["ngos"]),
        "capacity": int(row["capacity"]),
        **(
            {
                "licensed_capacity": int(row["licensed_capacity"]),
                "rating_deduction": int(row["rating_deduction"]),
            }
            if "licensed_capacity" in row.index
            else {}
        ),
        **(
            {
                "centre_capacity": int(row["centre_capacity"]),
                "volunteer_capacity": int(row["volunteer_capacity"]),
            }
            if "volunteer_capacity" in row.index
            else {}
        ),
        "capacity_per_10k": float(row["capacity_per_10k"]),
        "norm_per_10k": float(row["norm_per_10k"]),
        "ratio_to_norm": float(row["ratio_to_norm"]),
        "national_median_per_10k": float(row["national_median_per_10k"]),
        "class": str(row["class"]),
    }


_CLASS_FA = {"saturated": "اشباع", "balanced": "متعادل", "underserved": "کم‌برخوردار"}
_CLASS_EN = {"underserved": "underserved", "balanced": "balanced", "saturated": "saturated"}


def _licence_summary(verdict, en_label, fa_label, before, class_after, newly, capacity, catchment):
    """One sentence that says why the verdict is what it is, in the terms of the table beside it
    (so a "welcome" above a county that stays saturated does not read as a contradiction)."""
    ratio = before["ratio_to_norm"]
    within_en, to_fa, _ = catchment
    if verdict == "welcome" and before["class"] == "underserved":
        return (
            f"Welcome: the county has {ratio:.2f} of the norm for {en_label.lower()}, so it is underserved.",
            f"مطلوب: ظرفیت {fa_label} شهرستان {fa_number(ratio, 2)} برابر هنجار است؛ شهرستان کم‌برخوردار است.",
        )
    if verdict == "welcome":
        return (
            f"Welcome although the county is {_CLASS_EN[before['class']]} as a whole: the centre would newly "
            f"cover {newly:,} target persons who have no such centre {within_en}, at least "
            f"its capacity of {capacity:,}.",
            f"مطلوب، هرچند شهرستان روی هم رفته {_CLASS_FA[before['class']]} است: این مرکز {fa_number(newly)} "
            f"نفر از جمعیت هدف را که {to_fa} مرکزی ندارند تازه پوشش می‌دهد، "
            f"دست‌کم به اندازهٔ ظرفیتش ({fa_number(capacity)}).",
        )
    if verdict == "saturated":
        return (
            f"Saturated: the county would be saturated after this licence and the centre would newly cover "
            f"only {newly:,} target persons, under a tenth of its capacity of {capacity:,}.",
            f"اشباع: شهرستان پس از این مجوز اشباع می‌شود و این مرکز فقط {fa_number(newly)} نفر از جمعیت "
            f"هدف را تازه پوشش می‌دهد، کمتر از یک‌دهم ظرفیتش ({fa_number(capacity)}).",
        )
    return (
        f"Acceptable: the county would be {_CLASS_EN[class_after]} after this licence, and the centre would "
        f"newly cover {newly:,} target persons, fewer than its capacity of {capacity:,} but more than a "
        f"tenth of it.",
        f"پذیرفتنی: شهرستان پس از این مجوز {_CLASS_FA[class_after]} است و این مرکز {fa_number(newly)} نفر "
        f"از جمعیت هدف را تازه پوشش می‌دهد، کمتر از ظرفیتش ({fa_number(capacity)}) ولی بیش از یک‌دهم آن.",
    )


def _licence_reasons(verdict, en_label, fa_label, before, after, same, newly, changes, better, catchment):
    """``same``: how many same-type centres are in the reach; ``catchment``: where it serves, in
    words (``_reach_words``)."""
    within_en, _, in_fa = catchment
    en = [
        f"county {en_label.lower()} capacity {before['capacity_per_10k']:.0f} per 10,000 target persons "
        f"({before['ratio_to_norm']:.2f} of the norm {before['norm_per_10k']:.0f}; national median "
        f"{before['national_median_per_10k']:.0f}): {before['class']}; after this licence "
        f"{after['capacity_per_10k']:.0f} ({after['ratio_to_norm']:.2f} of norm): {after['class']}",
        f"{same} active {en_label.lower()} centres {within_en}",
        f"would newly cover {newly:,} target persons who have no such centre {within_en}",
    ]
    fa = [
        f"ظرفیت {fa_label} شهرستان {fa_number(before['capacity_per_10k'])} به ازای هر ۱۰٬۰۰۰ نفر جمعیت هدف "
        f"({fa_number(before['ratio_to_norm'], 2)} برابر هنجار {fa_number(before['norm_per_10k'])}؛ میانهٔ کشوری "
        f"{fa_number(before['national_median_per_10k'])}): {_CLASS_FA[before['class']]}؛ پس از این مجوز "
        f"{fa_number(after['capacity_per_10k'])} ({fa_number(after['ratio_to_norm'], 2)} برابر هنجار): "
        f"{_CLASS_FA[after['class']]}",
        f"{fa_number(same)} مرکز فعال {fa_label} {in_fa}",
        f"پوشش تازهٔ {fa_number(newly)} نفر از جمعیت هدف که آن‌جا مرکزی ندارند",
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
