"""Delegation: which existing centres should serve which underserved villages, by outreach or a branch.

The unserved target population of the places flagged for a service is assigned to active
centres of that service with spare capacity, within the service's outreach distance
(``outreach_km`` in the norms), as a transportation problem: serve as many persons as the
spare capacity allows, and among such plans the one with the fewest capacity-kilometres (each
unserved person costs more than the longest trip, so serving wins over distance). Solved as a
linear programme by HiGHS (``scipy.optimize.linprog``); with whole-number supplies and demands
its optimal vertex is whole too (the constraint matrix is totally unimodular).

Capacity counts persons a centre can serve at a time; the norm says how much of it a target
population needs (``norm_per_10k`` per 10,000 target persons). Demand for capacity is
therefore target persons × the norm's rate, and that is what is assigned.

Rules, where the data do not say:

* **Unserved target persons of a flagged place**: all its target population when it is
  flagged because its nearest centre is too far; otherwise the part its access does not cover,
  target population × (1 − access / norm), rounded. The capacity they need is that × the
  norm's rate, rounded up (anyone unserved needs a place).
* **Spare capacity of a centre**: capacity minus the capacity its catchment already uses. The
  registry has no count of persons served, so it is estimated: each place's need for capacity
  (target persons × the norm's rate) is shared among the centres within its catchment in
  proportion to capacity × distance decay (the Gaussian of the E2SFCA), and a centre's load is
  the sum of its shares (a Huff-type allocation, as in the three-step floating catchment of
  Wan et al. 2012); spare = capacity − load where positive. Where an NGO frame carries a
  ``served`` column (persons served, from the registry), that figure is the load instead.
* **Well-rated centres first**: with a rating scale in the norms, each trip costs, beside its
  distance, ``GRADE_STEP_KM`` (a metre; ``GRADE_STEP_MIN`` on roads) per grade below the best,
  an unrated centre counting as one grade below the worst. The step is far below the precision
  of any trip, so it never sends a village farther; among centres at the same distance the
  better-rated one serves. With ``weight_capacity_by_rating`` on, a centre's capacity (and so
  its spare capacity) is its effective capacity too. The plan's summary says both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geo.access import gaussian_decay
from geo.costs import check_budget
from geo.decisions import AnalysisInputError, check_service_type
from geo.distance import Located
from geo.siting import check_pair_count, travel_of

#: the tie-break of a grade step, in the transport's cost unit (km in a straight line, minutes
#: on roads): a metre or, on roads, six hundredths of a second per grade below the best
GRADE_STEP_KM = 0.001
GRADE_STEP_MIN = 0.001


def huff_load(
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    weight: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray:
    """Persons each centre serves when every place's demand is shared among the centres in reach
    in proportion to capacity × decay weight. ``weight`` is the decay of each pair."""
    attraction = capacity[pairs_j] * weight
    per_place = np.bincount(pairs_i, weights=attraction, minlength=len(demand))
    share = np.divide(
        attraction, per_place[pairs_i], out=np.zeros(len(attraction)), where=per_place[pairs_i] > 0
    )
    return np.bincount(pairs_j, weights=demand[pairs_i] * share, minlength=len(capacity))


def transport(
    supply: np.ndarray,
    demand: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    cost: np.ndarray,
    unserved_cost: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost assignment of ``demand`` (per place i) to ``supply`` (per centre j) over the pairs.

    Minimises Σ cost·flow + ``unserved_cost`` · Σ unserved, with unserved_cost above every
    pair's cost so that the most persons possible are served. Returns (flow per pair,
    unserved per place).
    """
    from scipy.optimize import linprog  # on first use: 12 MB a server need not hold

    n, m, k = len(demand), len(supply), len(pairs_i)
    if k == 0:
        return np.zeros(0), np.asarray(demand, dtype="float64").copy()
    if unserved_cost is None:
        unserved_cost = 10.0 * (float(cost.max()) + 1.0)
    c = np.concatenate([cost, np.full(n, unserved_cost)])
    rows = np.arange(k)
    a_eq = sp.hstack(
        [sp.csr_matrix((np.ones(k), (pairs_i, rows)), shape=(n, k)), sp.identity(n, format="csr")],
        format="csr",
    )
    a_ub = sp.hstack(
        [sp.csr_matrix((np.ones(k), (pairs_j, rows)), shape=(m, k)), sp.csr_matrix((m, n))], format="csr"
    )
    res = linprog(c, A_ub=a_ub, b_ub=supply, A_eq=a_eq, b_eq=demand, bounds=(0, None), method="highs")
    if res.status != 0:  # pragma: no cover - the programme is always feasible (unserved absorbs all)
        raise AnalysisInputError(f"the assignment could not be solved: {res.message}")
    x = res.x
    return x[:k], x[k:]


#: The most centre–place pairs a delegation under a budget takes: each pair is a yes/no choice
#: in a mixed-integer programme (a province's, not the country's).
BUDGET_MAX_PAIRS = 20_000


def transport_within_budget(
    supply: np.ndarray,
    demand: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    cost: np.ndarray,
    line_cost: np.ndarray,
    budget: float,
    *,
    unserved_cost: float | None = None,
    time_limit: float = 60.0,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``transport`` with a budget on the lines used: a pair that carries any flow costs
    ``line_cost`` (money, e.g. its outreach km × the cost per km), and the lines used cost at
    most ``budget`` in all (a fixed-charge transportation problem, solved as a mixed-integer
    programme by HiGHS).

    Variables: whole flows x_k ≥ 0, unserved u_i ≥ 0, open o_k ∈ {0, 1}; x_k ≤ min(demand_i,
    supply_j) · o_k; Σ line_cost_k o_k ≤ budget. Returns (flow per pair, unserved per place,
    whether the solver proved it optimal: False when the time limit stopped it at its best).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp  # on first use: 12 MB a server need not hold

    n, m, k = len(demand), len(supply), len(pairs_i)
    demand = np.asarray(demand, dtype="float64")
    if k == 0:
        return np.zeros(0), demand.copy(), True
    if unserved_cost is None:
        unserved_cost = 10.0 * (float(cost.max()) + 1.0)
    c = np.concatenate([cost, np.full(n, unserved_cost), np.zeros(k)])
    rows = np.arange(k)
    place = sp.csr_matrix((np.ones(k), (pairs_i, rows)), shape=(n, k))
    centre = sp.csr_matrix((np.ones(k), (pairs_j, rows)), shape=(m, k))
    big = np.minimum(demand[pairs_i], np.asarray(supply, dtype="float64")[pairs_j])
    constraints = [
        LinearConstraint(
            sp.hstack([place, sp.identity(n), sp.csr_matrix((n, k))], format="csr"), demand, demand
        ),
        LinearConstraint(sp.hstack([centre, sp.csr_matrix((m, n + k))], format="csr"), -np.inf, supply),
        # x_k − big_k o_k ≤ 0
        LinearConstraint(
            sp.hstack([sp.identity(k), sp.csr_matrix((k, n)), sp.diags(-big)], format="csr"), -np.inf, 0.0
        ),
        LinearConstraint(
            sp.csr_matrix(np.concatenate([np.zeros(k + n), line_cost])[None, :]), -np.inf, float(budget)
        ),
    ]
    integrality = np.concatenate([np.ones(k), np.zeros(n), np.ones(k)])
    upper = np.concatenate([big, demand, np.ones(k)])
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, upper),
        options={"time_limit": time_limit, "disp": False},
    )
    if res.x is None:
        raise AnalysisInputError("the delegation under a budget found no plan in the time allowed")
    x = np.rint(res.x)
    flow = np.where(x[n + k :] > 0, x[:k], 0.0)  # a line not opened carries nothing
    return flow, demand - np.bincount(pairs_i, weights=flow, minlength=n), res.status == 0


@dataclass
class DelegationPlan:
    """Per centre (which places, how many persons, how far), per place (which centre, or still
    unserved), and the place–centre lines for the map."""

    centres: pd.DataFrame
    places: pd.DataFrame
    lines: gpd.GeoDataFrame
    summary: dict


def unserved_target_population(analysis, service_type: str) -> pd.Series:
    """Unserved target persons of each place flagged for ``service_type`` (index: settlement positions)."""
    flags = analysis.flags[analysis.flags["service_type"] == service_type]
    demand = analysis.demand[service_type].reindex(flags.index).to_numpy(dtype="float64")
    share = np.clip(flags["access_share"].to_numpy(dtype="float64"), 0.0, 1.0)
    unserved = np.where(flags["too_far"].to_numpy(dtype=bool), demand, np.rint(demand * (1.0 - share)))
    return pd.Series(unserved.astype("int64"), index=flags.index)


def delegate(
    analysis,
    service_type: str,
    *,
    province: str | None = None,
    outreach_km: float | None = None,
    outreach_min: float | None = None,
    budget: float | None = None,
    time_limit: float = 60.0,
) -> DelegationPlan:
    """Assign the capacity the unserved target population of flagged places needs to centres
    with spare capacity.

    Places and centres are those of ``province`` (or the whole country); ``outreach_km``
    overrides the norm's outreach distance (``outreach_min``, minutes, when the analysis
    travels on roads). Trips are costed with the analysis' travel cost; ``km`` columns are
    kilometres of travel (on roads, along the fastest route and its off-road legs; in a
    straight line, ground distance × detour), ``minutes`` the time on roads.

    With the norms' cost table each line (a centre serving a place) costs its km × the outreach
    cost per km, once (``outreach_cost`` in the summary; the plan has no trip count, so no cost
    per trip). ``budget`` caps that cost: the lines are then chosen under it
    (``transport_within_budget``, within ``time_limit`` seconds), for up to
    ``BUDGET_MAX_PAIRS`` centre–place pairs.
    """
    started = time.perf_counter()
    check_service_type(service_type, analysis.norms.services)
    norm = analysis.norms.services[service_type]
    travel = travel_of(analysis)
    unit = travel.unit
    if unit == "min":
        if outreach_km is not None:
            raise AnalysisInputError("on roads the outreach is a travel time: give outreach_min")
        reach = float(outreach_min) if outreach_min is not None else norm.outreach("min")
    else:
        if outreach_min is not None:
            raise AnalysisInputError("on the straight line the outreach is a distance: give outreach_km")
        reach = 1000.0 * outreach_km if outreach_km is not None else norm.outreach_m
    if reach <= 0:
        raise AnalysisInputError("the outreach must be positive")
    per_unit = 1000.0 if unit == "m" else 1.0  # transport costs: km or minutes
    s = analysis.settlements
    unserved = unserved_target_population(analysis, service_type)
    place_pos = s.index.get_indexer(unserved.index)
    if province is not None:
        keep = (s["province_code"].to_numpy()[place_pos] == province) if len(place_pos) else np.zeros(0, bool)
        place_pos, unserved = place_pos[keep], unserved[keep]
    rate = norm.per_person
    persons = unserved.to_numpy(dtype="float64")
    need = np.ceil(persons * rate)
    has_need = need > 0
    place_pos, need, persons = place_pos[has_need], need[has_need], persons[has_need]

    providers = analysis.licence_index.providers.get(service_type)
    if providers is None:
        # No centre of this service anywhere: nothing to delegate to (an empty plan, not an error).
        centres_all = pd.DataFrame(
            columns=["licence_no", "name_fa", "capacity", "county_code", "province_code"]
        )
        located = Located(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)))
    else:
        located, _, centres_all = providers
    capacity = centres_all["capacity"].to_numpy(dtype="float64")
    # Load of every centre from the demand of every settlement within its catchment.
    catchment = norm.catchment(unit)
    demand_all = analysis.demand[service_type].to_numpy(dtype="float64") * rate
    li, lj, lc = travel.pairs(analysis.licence_index.places, located, catchment)
    load = huff_load(li, lj, gaussian_decay(catchment)(lc), demand_all, capacity)
    rule = "huff_allocation"
    if "served" in centres_all.columns:
        known = centres_all["served"].notna().to_numpy()
        load[known] = centres_all["served"].to_numpy(dtype="float64")[known]
        rule = "registry_served" if known.all() else "registry_served_else_huff_allocation"
    spare = np.floor(np.maximum(capacity - load, 0.0))
    centre_pos = np.flatnonzero(spare > 0)
    if province is not None:
        centre_pos = centre_pos[centres_all["province_code"].to_numpy()[centre_pos] == province]

    places = analysis.licence_index.places.take(place_pos)
    centres = located.take(centre_pos)
    check_pair_count(places, centres, travel.reach_m(reach), "delegation")
    pi, pj, pc = travel.pairs(places, centres, reach)
    table = analysis.norms.costs
    check_budget(budget, table)
    scale = analysis.norms.ratings
    grade_rank = np.zeros(len(centres_all), dtype="float64")
    if scale is not None and "grade" in centres_all.columns:
        grade_rank = np.array(
            [scale.rank(g if isinstance(g, str) else None) for g in centres_all["grade"]], "float64"
        )
    step = GRADE_STEP_MIN if unit == "min" else GRADE_STEP_KM
    pair_cost = pc / per_unit + step * grade_rank[centre_pos][pj]
    proven = True
    if budget is None:
        flow, _ = transport(spare[centre_pos], need, pi, pj, pair_cost)
    else:
        if len(pi) > BUDGET_MAX_PAIRS:
            raise AnalysisInputError(
                f"delegation under a budget: {len(pi):,} centre–place pairs, more than {BUDGET_MAX_PAIRS:,}; "
                "choose a province or a shorter outreach"
            )
        pair_km = travel.route_metres(places, centres, pi, pj, reach) / 1000.0
        flow, _, proven = transport_within_budget(
            spare[centre_pos],
            need,
            pi,
            pj,
            pair_cost,
            pair_km * table.outreach_per_km,
            budget,
            time_limit=time_limit,
        )
    flow = np.rint(flow)
    used = flow > 0
    fi, fj, fk = pi[used], pj[used], flow[used]
    # Kilometres of travel: on roads, along the fastest route (beside its minutes); in a
    # straight line, the ground distance × detour the transport was costed on.
    fc = travel.route_metres(places, centres, fi, fj, reach) / 1000.0
    fm = pc[used] if unit == "min" else np.full(len(fi), np.nan)

    codes = s["settlement_code"].to_numpy()
    names = s["name_fa"].to_numpy()
    lonlat = analysis.licence_index.lonlat
    licence = centres_all["licence_no"].to_numpy()
    centre_lon = centres_all.geometry.x.to_numpy() if len(centres_all) else np.zeros(0)
    centre_lat = centres_all.geometry.y.to_numpy() if len(centres_all) else np.zeros(0)
    cp = centre_pos[fj]
    lines = gpd.GeoDataFrame(
        {
            "settlement_code": codes[place_pos[fi]],
            "name_fa": names[place_pos[fi]],
            "licence_no": licence[cp],
            "centre_name_fa": centres_all["name_fa"].to_numpy()[cp],
            "capacity": fk.astype("int64"),
            "km": np.round(fc, 2),
            "minutes": np.round(fm, 1),
            "place_lon": lonlat[place_pos[fi], 0],
            "place_lat": lonlat[place_pos[fi], 1],
            "centre_lon": centre_lon[cp],
            "centre_lat": centre_lat[cp],
        },
        geometry=gpd.GeoSeries.from_xy(lonlat[place_pos[fi], 0], lonlat[place_pos[fi], 1]).shortest_line(
            gpd.GeoSeries.from_xy(centre_lon[cp], centre_lat[cp])
        )
        if len(fi)
        else gpd.GeoSeries([], dtype="geometry"),
        crs=4326,
    )

    assigned_place = np.bincount(fi, weights=fk, minlength=len(place_pos))
    person_km = np.bincount(fi, weights=fk * fc, minlength=len(place_pos))
    main = lines.sort_values(["settlement_code", "capacity", "licence_no"], ascending=[True, False, True])
    main = main.drop_duplicates("settlement_code").set_index("settlement_code")
    place_codes = codes[place_pos]
    places_frame = pd.DataFrame(
        {
            "settlement_code": place_codes,
            "name_fa": names[place_pos],
            "county_code": s["county_code"].to_numpy()[place_pos],
            "province_code": s["province_code"].to_numpy()[place_pos],
            "lon": lonlat[place_pos, 0],
            "lat": lonlat[place_pos, 1],
            "target_population_unserved": persons.astype("int64"),
            "capacity_needed": need.astype("int64"),
            "assigned": assigned_place.astype("int64"),
            "still_needed": (need - assigned_place).astype("int64"),
            "licence_no": main["licence_no"].reindex(place_codes).to_numpy(),
            "centres": np.bincount(fi, minlength=len(place_pos)),
            "mean_km": np.divide(
                person_km, assigned_place, out=np.full(len(place_pos), np.nan), where=assigned_place > 0
            ),
        }
    ).sort_values(["still_needed", "settlement_code"], ascending=[False, True], ignore_index=True)

    assigned_centre = np.bincount(fj, weights=fk, minlength=len(centre_pos))
    centre_km = np.bincount(fj, weights=fk * fc, minlength=len(centre_pos))
    centre_places = lines.groupby("licence_no")["settlement_code"].agg(list)
    centres_frame = pd.DataFrame(
        {
            "licence_no": licence[centre_pos],
            "name_fa": centres_all["name_fa"].to_numpy()[centre_pos],
            "county_code": centres_all["county_code"].to_numpy()[centre_pos],
            "province_code": centres_all["province_code"].to_numpy()[centre_pos],
            "lon": centre_lon[centre_pos],
            "lat": centre_lat[centre_pos],
            "capacity": capacity[centre_pos].astype("int64"),
            **_centre_ratings(centres_all, centre_pos),
            "load": np.rint(load[centre_pos]).astype("int64"),
            "spare": spare[centre_pos].astype("int64"),
            "assigned": assigned_centre.astype("int64"),
            "spare_after": (spare[centre_pos] - assigned_centre).astype("int64"),
            "places": np.bincount(fj, minlength=len(centre_pos)),
            "mean_km": np.divide(
                centre_km, assigned_centre, out=np.full(len(centre_pos), np.nan), where=assigned_centre > 0
            ),
        }
    )
    centres_frame["settlement_codes"] = (
        centres_frame["licence_no"].map(centre_places).apply(lambda v: v if isinstance(v, list) else [])
    )
    centres_frame = centres_frame.sort_values(
        ["assigned", "licence_no"], ascending=[False, True], ignore_index=True
    )
    summary = {
        "service_type": service_type,
        "province_code": province,
        "outreach_km": reach / 1000.0 if unit == "m" else None,
        "outreach_min": reach if unit == "min" else None,
        "places": len(place_pos),
        "norm_per_10k": norm.norm_per_10k,
        "target_population_unserved": int(persons.sum()),
        "capacity_needed": int(need.sum()),
        "assigned": int(flow.sum()),
        "still_needed": int(need.sum() - flow.sum()),
        "centres_with_spare": len(centre_pos),
        "spare_capacity": int(spare[centre_pos].sum()),
        "centres_used": int((assigned_centre > 0).sum()),
        "capacity_km": float((fk * fc).sum()),
        "spare_rule": rule,
        "travel": type(travel).__name__,
        "norms_version": analysis.norms.version,
        "seconds": time.perf_counter() - started,
        "budget": None if budget is None else float(budget),
        "budget_optimal": None if budget is None else proven,
        "outreach_cost": None if table is None else float(fc.sum() * table.outreach_per_km),
        "cost_currency": None if table is None else table.currency,
        "cost_table": None if table is None else table.label(analysis.norms.version),
        "costs_synthetic": None if table is None else table.synthetic,
        **_ratings_summary(analysis.norms, unit),
    }
    return DelegationPlan(centres=centres_frame, places=places_frame, lines=lines, summary=summary)


def _centre_ratings(centres: pd.DataFrame, pos: np.ndarray) -> dict:
    """The delegated centres' grades (None: unrated) and, when capacity is weighted by rating,
    their licensed capacity (``capacity`` is then the effective one)."""
    if "grade" not in centres.columns:
        return {}
    grades = centres["grade"].to_numpy()[pos]
    out: dict = {"grade": np.array([g if isinstance(g, str) else None for g in grades], dtype="object")}
    if "licensed_capacity" in centres.columns:
        out["licensed_capacity"] = centres["licensed_capacity"].to_numpy()[pos].astype("int64")
    return out


def _ratings_summary(norms, unit: str) -> dict:
    """How the plan used the ratings, in words (English and Persian)."""
    scale = norms.ratings
    if scale is None:
        return {"rating_preference": None, "rating_preference_fa": None, "capacity_weighted_by_rating": False}
    order = " > ".join(scale.codes)
    en = (
        f"better-rated centres are preferred: among centres at the same distance the better grade serves "
        f"({order} > unrated)"
    )
    fa = (
        f"مراکز با رتبهٔ بهتر ترجیح دارند: از میان مراکز هم‌فاصله، مرکز با رتبهٔ بهتر خدمت می‌دهد "
        f"({' > '.join(scale.codes)} > بی‌ارزیابی)"
    )
    if norms.weights_capacity:
        en += "; capacity is weighted by rating, so spare capacity is that of the effective capacity"
        fa += "؛ ظرفیت به رتبه وزن داده می‌شود، پس ظرفیت خالی از ظرفیت مؤثر حساب می‌شود"
    return {
        "rating_preference": en,
        "rating_preference_fa": fa,
        "capacity_weighted_by_rating": norms.weights_capacity,
    }
