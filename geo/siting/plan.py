"""Siting on an analysis: ``site_centres`` builds the arrays and turns the answer into frames.

The plumbing around the solvers (``solve.py``): the candidates (the settlements flagged for a
service, or given ones), the demand (the service's target population), the existing centres with
their capacities and the travel cost all come from an ``Analysis``; an instance whose pairs would
not fit in memory is refused first (``check_pair_count``, which ``geo.delegation`` uses too, as it
does ``travel_of``). The answer comes back as a ``SitingPlan``: the proposed sites, the places each
newly serves with the travel to it, and a summary saying what was solved, how, and what a
province's siting counts at its border.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.costs import check_budget
from geo.decisions import AnalysisInputError, check_service_type, fa_number
from geo.distance import Located, StraightLine, search_radius
from geo.errors import BadBudget
from geo.siting.problem import EXACT_MAX_PAIRS, MAX_PAIRS, METHODS, MODELS, _Flow
from geo.siting.solve import capacitated_siting, mclp, p_median

SITE_COLUMNS = [
    "rank",
    "settlement_code",
    "name_fa",
    "county_code",
    "province_code",
    "kind",
    "population",
    "capacity",
    "gain",
    "target_population_reached",
    "lon",
    "lat",
]


@dataclass
class SitingPlan:
    """A siting answer in the terms of the data: proposed sites and a summary."""

    sites: gpd.GeoDataFrame
    summary: dict
    #: per demand settlement newly served by a proposed site: settlement_code, site_code, km, persons
    assignments: pd.DataFrame


def travel_of(analysis) -> StraightLine:
    """The travel cost the analysis used (``StraightLine``, or ``geo.roads.RoadNetwork`` in minutes)."""
    return getattr(analysis, "travel", None) or StraightLine(analysis.norms.detour_factor)


def _subset(located: Located, idx: np.ndarray) -> Located:
    return located.take(idx)


def check_pair_count(origins: Located, destinations: Located, ground_m: float, what: str) -> int:
    """Refuse an instance whose pairs within ``ground_m`` on the ground would not fit in memory.

    ``ground_m`` is the farthest ground distance a pair within the travel cost can span: the
    travel's ``reach_m`` (a straight line's cost ÷ its detour; on roads, the fastest road's).
    Counts the pairs within it as the crow flies, without storing them: a bound on the pairs
    the travel cost will keep.
    """
    if len(origins) == 0 or len(destinations) == 0:
        return 0
    k_max = max(origins.k.max(), destinations.k.max())
    small, large = (origins, destinations) if len(origins) <= len(destinations) else (destinations, origins)
    counts = cKDTree(large.xy).query_ball_point(
        small.xy, search_radius(ground_m, 1.0, k_max), return_length=True
    )
    total = int(np.sum(counts))
    if total > MAX_PAIRS:
        raise AnalysisInputError(
            f"{what}: about {total:,} pairs within {ground_m / 1000:g} km as the crow flies, "
            f"more than {MAX_PAIRS:,}; "
            "choose a province, fewer candidates or a shorter distance"
        )
    return total


def site_centres(
    analysis,
    service_type: str,
    k: int,
    *,
    model: str = "mclp",
    province: str | None = None,
    candidates: list[str] | None = None,
    capacity: int | None = None,
    capacitated: bool = False,
    cap_km: float | None = None,
    cap_min: float | None = None,
    method: str = "auto",
    time_limit: float = 60.0,
    budget: float | None = None,
) -> SitingPlan:
    """Where ``k`` new centres of ``service_type`` would serve the target population best.

    Candidates are the settlements flagged as underserved for the service (in ``province``, or
    the whole country), or the given settlement codes. Demand is the target population of the
    service at every settlement of the province (or country); the active centres of the
    service stay where they are. ``model`` is ``mclp`` (cover the most target persons within
    the catchment) or ``pmedian`` (least total travel to the nearest centre, capped at
    ``cap_km``, default twice the norm's maximum distance; on roads ``cap_min``, default twice
    the norm's ``max_travel_min``). Travel is the analysis' cost (minutes on roads); the
    assignments give kilometres of travel (straight line × detour) and, on roads, minutes.
    ``capacitated`` limits what each
    centre serves to its capacity (new ones: ``capacity``, default the median of the service's
    active centres); demand is then counted in capacity (target persons × the norm's
    ``norm_per_10k`` / 10,000) and the objective is capacity used.

    ``budget`` (in the norms' cost table's currency) caps what the new centres cost: each costs
    the service's new-centre cost for ``capacity`` places, and ``k`` becomes the most sites.
    Every candidate then costs the same, so for the capacitated models the budget is exactly
    ``k`` cut to the sites it buys. With a cost table the summary says what the sites cost
    (``cost_spent``) and which table priced them, budget or not.
    """
    check_service_type(service_type, analysis.norms.services)
    if capacitated and province is None:
        raise AnalysisInputError("the capacitated models run for one province: choose a province")
    if model not in MODELS:
        raise AnalysisInputError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise AnalysisInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise AnalysisInputError(f"the number of new sites must be a positive whole number, not {k}")
    k = int(k)
    norm = analysis.norms.services[service_type]
    # New sites deliver in the service's first mode that has a place (``geo.catalogue``): a centre,
    # or an outreach, community or home base, each within its own reach.
    mode = next((m for m in norm.modes if m != "remote"), None)
    if mode is None:
        raise AnalysisInputError(
            f"{service_type} is delivered only remotely: no place to choose for it (distance does not matter)",
            code="remote-only",
        )
    travel = travel_of(analysis)
    s = analysis.settlements
    codes = s["settlement_code"].to_numpy()
    in_scope = (
        np.ones(len(s), dtype=bool) if province is None else (s["province_code"] == province).to_numpy()
    )
    if province is not None and not in_scope.any():
        raise AnalysisInputError(f"no settlements in province {province!r}")
    if candidates is None:
        flagged = analysis.flags[analysis.flags["service_type"] == service_type]
        cand = np.sort(s.index.get_indexer(flagged.index))
        cand = cand[in_scope[cand]]
        source = "flagged"
    else:
        position = pd.Series(np.arange(len(s)), index=codes)
        unknown = [c for c in candidates if c not in position.index]
        if unknown:
            raise AnalysisInputError(
                f"unknown settlement codes among the candidates: {', '.join(unknown[:5])}"
            )
        cand = np.unique(position.loc[list(candidates)].to_numpy())
        source = "given"
    if len(cand) == 0:
        raise AnalysisInputError(f"no candidate places for {service_type} in this area")
    demand_idx = np.flatnonzero(in_scope)
    weight = analysis.demand[service_type].to_numpy(dtype="float64")[demand_idx]
    places = _subset(analysis.licence_index.places, demand_idx)
    sites = _subset(analysis.licence_index.places, cand)
    providers = analysis.licence_index.providers.get(service_type)
    existing_capacity = providers[2]["capacity"].to_numpy(dtype="float64") if providers else np.zeros(0)
    if capacity is None:
        capacity = int(np.median(existing_capacity)) if len(existing_capacity) else 50
    if capacity <= 0:
        raise AnalysisInputError(f"capacity must be positive, not {capacity}")
    per_site = _cost_per_site(analysis.norms, service_type, capacity, budget)
    site_cost = None
    if budget is not None and per_site is not None:  # a budget has a price per site
        site_cost = per_site
        if capacitated and per_site > 0:
            k = min(k, int(np.floor(budget / per_site + 1e-9)))
    unit = travel.unit
    catchment = norm.reach(mode, unit)
    if unit == "min":
        if cap_km is not None:
            raise AnalysisInputError("on roads the p-median cap is a travel time: give cap_min")
        cap_m = float(cap_min) if cap_min is not None else 2.0 * norm.max_cost("min")
    else:
        if cap_min is not None:
            raise AnalysisInputError("on the straight line the p-median cap is a distance: give cap_km")
        cap_m = 1000.0 * (cap_km if cap_km is not None else 2.0 * norm.max_distance_km)
    reach = catchment if model == "mclp" else cap_m

    check_pair_count(places, sites, travel.reach_m(reach), "siting")
    pi, pj, pc = travel.pairs(places, sites, reach)
    if (capacitated or method == "exact") and len(pi) > EXACT_MAX_PAIRS:
        what = "the capacitated models" if capacitated else "the exact solver"
        raise AnalysisInputError(
            f"this instance has {len(pi):,} place–candidate pairs; {what} take at most {EXACT_MAX_PAIRS:,} "
            "(choose a province, fewer candidates or a smaller cap_km; the greedy method has no limit)"
        )
    costs = None if site_cost is None else np.full(len(cand), site_cost)
    if capacitated:
        # Capacity serves a share of the target persons (the norm's rate): demand in capacity units.
        need = weight * norm.per_person
        ei, ej, ec = (np.zeros(0, dtype="int64"),) * 2 + (np.zeros(0),)
        if providers:
            ei, ej, ec = travel.pairs(places, providers[0], reach)
        e = len(existing_capacity)
        flow = _Flow(
            n=len(demand_idx),
            n_existing=e,
            n_candidates=len(cand),
            i=np.concatenate([ei, pi]).astype("int64"),
            f=np.concatenate([ej, pj + e]).astype("int64"),
            cost=np.concatenate([ec, pc]),
            capacity=np.concatenate([existing_capacity, np.full(len(cand), float(capacity))]),
        )
        sol = capacitated_siting(model, need, flow, k, cap=cap_m, method=method, time_limit=time_limit)
    elif model == "mclp":
        covered = analysis.access.covered[service_type].to_numpy()[demand_idx]
        sol = mclp(
            weight,
            pi,
            pj,
            len(cand),
            k,
            covered=covered,
            method=method,
            time_limit=time_limit,
            cost=costs,
            budget=budget,
        )
    else:
        nearest = analysis.access.nearest_cost if unit == "min" else analysis.access.nearest_m
        base = nearest[service_type].to_numpy()[demand_idx]
        sol = p_median(
            weight,
            pi,
            pj,
            pc,
            len(cand),
            k,
            base_cost=base,
            cap=cap_m,
            method=method,
            time_limit=time_limit,
            cost=costs,
            budget=budget,
        )

    chosen = cand[sol.chosen]
    lonlat = analysis.licence_index.lonlat
    reached = _reached(pi, pj, weight, sol.chosen, len(cand))
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "settlement_code": codes[chosen],
            "name_fa": s["name_fa"].to_numpy()[chosen],
            "county_code": s["county_code"].to_numpy()[chosen],
            "province_code": s["province_code"].to_numpy()[chosen],
            "kind": s["kind"].to_numpy()[chosen],
            "population": s["population"].to_numpy()[chosen],
            "capacity": int(capacity),
            "gain": sol.gain,
            "target_population_reached": reached,
            "lon": lonlat[chosen, 0],
            "lat": lonlat[chosen, 1],
        }
    )
    sites_frame = gpd.GeoDataFrame(frame, geometry=s.geometry.to_numpy()[chosen], crs=s.crs)
    hit = sol.assigned >= 0
    # Distance from each newly served place to its site, for the map's lines.
    a_i = np.flatnonzero(hit)
    a_j = sol.assigned[hit]
    # Each (place, site) pair once: its cost found by the pair's key among the sorted keys (a
    # sparse matrix's lookup answered a sparse matrix for some selections, and the service a 500).
    cost = pair_lookup(pi, pj, pc, len(cand), a_i, a_j)
    if unit == "min":
        # Kilometres along the fastest route (its minutes are the cost).
        km = travel.route_metres(places, sites, a_i, a_j, reach) / 1000.0
        minutes = cost
    else:
        km, minutes = cost / 1000.0, np.full(len(a_i), np.nan)
    assignments = pd.DataFrame(
        {
            "settlement_code": codes[demand_idx[a_i]],
            "site_code": codes[cand[a_j]],
            "km": km,
            "minutes": minutes,
            "target_population": weight[a_i],
        }
    )
    summary = {
        "service_type": service_type,
        "province_code": province,
        "model": ("capacitated_" if capacitated else "") + model,
        "method": sol.method,
        "new_sites": len(chosen),
        "candidates": len(cand),
        "candidate_source": source,
        "demand_points": len(demand_idx),
        "pairs": len(pi),
        "existing_centres": len(existing_capacity),
        "capacity_per_new_site": int(capacity),
        "catchment_km": norm.catchment_km,
        "delivery_mode": mode,
        "reach_km": norm.reach(mode, "m") / 1000.0,
        "reach_min": norm.reach(mode, "min") if unit == "min" else None,
        "cap_km": cap_m / 1000.0 if model == "pmedian" and unit == "m" else None,
        "catchment_min": norm.catchment_min if unit == "min" else None,
        "cap_min": cap_m if model == "pmedian" and unit == "min" else None,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "optimal": sol.optimal,
        "seconds": sol.seconds,
        "target_population": float(weight.sum()),
        "travel": type(travel).__name__,
        "norms_version": analysis.norms.version,
        **_border_notes(province, capacitated),
        **sol.details,
        **_cost_notes(analysis.norms, per_site, len(chosen), budget),
    }
    return SitingPlan(sites=sites_frame, summary=summary, assignments=assignments)


def _cost_per_site(norms, service_type: str, capacity: int, budget: float | None) -> float | None:
    """What one new centre costs by the norms' cost table (None without one); a budget it cannot
    price or that buys no centre is refused, in both languages."""
    table = norms.costs
    check_budget(budget, table)
    if table is None:
        return None
    per_site = table.services[service_type].new_centre_cost(capacity)
    if budget is not None and per_site > budget:
        raise BadBudget(
            f"a budget of {budget:,.0f} {table.currency} buys no new {service_type} centre: one of "
            f"{capacity} places costs {per_site:,.0f}",
            f"بودجهٔ {fa_number(budget)} {_currency_fa(table.currency)} هیچ مرکز تازه‌ای نمی‌خرد: "
            f"یک مرکز با ظرفیت {fa_number(capacity)} نفر {fa_number(per_site)} "
            f"{_currency_fa(table.currency)} هزینه دارد",
        )
    return per_site


def _currency_fa(currency: str) -> str:
    return {"million rials": "میلیون ریال", "rials": "ریال", "tomans": "تومان"}.get(currency, currency)


def _cost_notes(norms, per_site: float | None, sites: int, budget: float | None) -> dict:
    """What the proposed sites cost and which table priced them (None without a cost table)."""
    table = norms.costs
    if table is None or per_site is None:
        return dict.fromkeys(
            ("budget", "cost_per_site", "cost_spent", "cost_currency", "cost_table", "costs_synthetic")
        )
    return {
        "budget": None if budget is None else float(budget),
        "cost_per_site": per_site,
        "cost_spent": per_site * sites,
        "cost_currency": table.currency,
        "cost_table": table.label(norms.version),
        "costs_synthetic": table.synthetic,
    }


def _border_notes(province: str | None, capacitated: bool) -> dict[str, str | None]:
    """What a province's siting counts at its border, said in the answer (None: the country)."""
    if province is None:
        return {"border_note_en": None, "border_note_fa": None}
    en = (
        f"Only the target persons of province {province} count; active centres of neighbouring "
        "provinces within reach count as serving them"
    )
    fa = (
        f"فقط جمعیت هدف استان {fa_number(int(province))} شمرده شده است؛ مراکز فعال استان‌های همسایه که در دسترس‌اند "
        "خدمت‌رسان به آن‌ها به حساب آمده‌اند"
    )
    if capacitated:
        en += " with their whole capacity, though they also serve their own province"
        fa += "، با همهٔ ظرفیتشان، هرچند به استان خود نیز خدمت می‌دهند"
    return {"border_note_en": en + ".", "border_note_fa": fa + "."}


def _reached(pi, pj, weight, chosen, m) -> np.ndarray:
    """Target persons within reach of each chosen site (whether or not already covered)."""
    per = np.bincount(pj, weights=weight[pi], minlength=m)
    return np.rint(per[chosen]).astype("int64") if len(chosen) else np.zeros(0, dtype="int64")


def pair_lookup(
    pi: np.ndarray, pj: np.ndarray, values: np.ndarray, n_cols: int, want_i: np.ndarray, want_j: np.ndarray
) -> np.ndarray:
    """``values`` of the pairs ``(want_i, want_j)`` among the distinct pairs ``(pi, pj)``; every
    wanted pair must be one of them."""
    keys = pi.astype(np.int64) * n_cols + pj
    order = np.argsort(keys, kind="stable")
    wanted = np.asarray(want_i, dtype=np.int64) * n_cols + np.asarray(want_j, dtype=np.int64)
    at = np.searchsorted(keys[order], wanted)
    found = order[np.minimum(at, len(order) - 1)] if len(order) else np.zeros(0, dtype=np.int64)
    if len(wanted) and not (len(order) and np.array_equal(keys[found], wanted)):
        raise ValueError("a wanted pair is not among the pairs")
    return np.asarray(values, dtype=float)[found] if len(wanted) else np.zeros(0)
