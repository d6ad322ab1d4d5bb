"""What a scenario costs: its changes priced with the norms' cost table.

``scenario_costs`` turns a scenario's changes (``geo.scenarios.check_changes``) into cost items,
one row per thing priced, ``quantity × unit_cost = cost``:

* a licence added: ``new_centre`` (1 centre at the service's fixed cost) and ``new_places``
  (its capacity at the service's cost per place);
* a licence resized up: ``capacity_increase`` (the places added over the registry's capacity, at
  the service's cost per place of an increase); resized down: ``capacity_decrease``, at no cost;
* a licence closed: ``closure``, at no cost (what a closure saves is not in the table);
* a delegation: ``outreach``, the delegation's distance at the cost per km.

A delegation in a scenario says which centre serves how many persons of which village, but not
how often anyone travels: it carries no trip count. It is therefore priced per km of its
distance, once: the centre to the village in a straight line (geodesic) times the norms' detour
factor, as the straight-line travel measures every trip; the cost per trip is not charged. A
volunteer group is priced in the table but no kind of change adds one yet.

``cost_summary`` sets two sides' totals beside the persons newly covered: the cost difference
and the cost per newly covered target person. Costs are in the table's currency; a synthetic
table's figures are demo assumptions, and every answer that reports them says so.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.decisions import AnalysisInputError, fa_number
from geo.errors import BadBudget
from geo.geodesic import distances
from geo.norms import CostTable
from geo.scenarios import ADDED_PREFIX, check_changes


def check_budget(budget: float | None, table: CostTable | None) -> None:
    """A plan's budget: a cost of zero or more that a cost table can price (refused otherwise,
    in both languages). ``None`` is no budget."""
    if budget is None:
        return
    if not np.isfinite(budget) or budget < 0:
        amount = fa_number(abs(budget), 0 if float(budget).is_integer() else 2)
        raise BadBudget(
            f"the budget must be a cost of zero or more, not {budget:g}",
            f"بودجه باید هزینه‌ای صفر یا بیشتر باشد، نه منفی {amount}"
            if np.isfinite(budget)
            else "بودجه باید هزینه‌ای صفر یا بیشتر باشد",
        )
    if table is None:
        raise BadBudget(
            "the norms have no cost table ([costs]): a budget cannot be priced",
            "هنجارها جدول هزینه ([costs]) ندارند: بودجه را نمی‌توان سنجید",
        )


COST_COLUMNS = [
    "action",
    "licence_no",
    "settlement_code",
    "service_type",
    "province_code",
    "quantity",
    "unit",
    "unit_cost",
    "cost",
]


def scenario_costs(
    changes: Mapping,
    costs: CostTable,
    ngos: pd.DataFrame,
    settlements: gpd.GeoDataFrame,
    *,
    counties: gpd.GeoDataFrame | None = None,
    detour_factor: float = 1.0,
) -> pd.DataFrame:
    """The cost items of a scenario's ``changes`` (columns ``COST_COLUMNS``).

    Parameters
    ----------
    changes
        The scenario's changes (checked again here).
    costs
        The cost table (``Norms.costs``).
    ngos
        The registry the scenario changes (capacities before it, points in lon/lat).
    settlements
        Settlements with ``settlement_code``, ``province_code`` and points in lon/lat.
    counties
        Counties with ``county_code``: the province of an added centre that names no known
        settlement is that of the county its point falls in (None when none).
    detour_factor
        Straight-line distance × this = a delegation's travel distance.
    """
    changes = check_changes(changes, costs.services)
    by_licence = ngos.drop_duplicates("licence_no").set_index("licence_no")
    places = settlements.drop_duplicates("settlement_code").set_index("settlement_code")
    rows: list[dict] = []

    def item(action, licence, settlement, service, province, quantity, unit, unit_cost) -> None:
        rows.append(
            {
                "action": action,
                "licence_no": licence,
                "settlement_code": settlement,
                "service_type": service,
                "province_code": province,
                "quantity": float(quantity),
                "unit": unit,
                "unit_cost": float(unit_cost),
                "cost": float(quantity) * float(unit_cost),
            }
        )

    def registered(licence: str, kind: str):
        if licence not in by_licence.index:
            raise AnalysisInputError(f"{kind}: no licence {licence} in the registry")
        return by_licence.loc[licence]

    for n, add in enumerate(changes["licences_added"], start=1):
        # The numbering apply_changes gives the added centres.
        licence = f"{ADDED_PREFIX}{n:04d}"
        price = costs.services[add["service_type"]]
        province = _province_of_point(add, places, counties)
        where = (licence, add["settlement_code"], add["service_type"], province)
        item("new_centre", *where, 1, "centre", price.new_centre)
        item("new_places", *where, add["capacity"], "place", price.per_place)
    for r in changes["licences_resized"]:
        centre = registered(r["licence_no"], "licences_resized")
        change = r["capacity"] - float(centre["capacity"])
        price = costs.services[centre["service_type"]]
        where = (
            r["licence_no"],
            centre.get("settlement_code"),
            centre["service_type"],
            centre["province_code"],
        )
        if change >= 0:
            item("capacity_increase", *where, change, "place", price.increase_per_place)
        else:
            item("capacity_decrease", *where, -change, "place", 0.0)
    for licence in changes["licences_closed"]:
        centre = registered(licence, "licences_closed")
        where = (licence, centre.get("settlement_code"), centre["service_type"], centre["province_code"])
        item("closure", *where, 1, "centre", 0.0)
    if changes["delegations"]:
        missing = [
            d["settlement_code"] for d in changes["delegations"] if d["settlement_code"] not in places.index
        ]
        if missing:
            raise AnalysisInputError(f"delegations: no settlement {', '.join(missing[:5])}")
        centres = [registered(d["licence_no"], "delegations") for d in changes["delegations"]]
        villages = places.loc[[d["settlement_code"] for d in changes["delegations"]]]
        km = _travel_km(gpd.GeoSeries([c.geometry for c in centres]), villages.geometry, detour_factor)
        for d, centre, (_, village), trip in zip(
            changes["delegations"], centres, villages.iterrows(), km, strict=True
        ):
            where = (d["licence_no"], d["settlement_code"], centre["service_type"], village["province_code"])
            item("outreach", *where, round(trip, 3), "km", costs.outreach_per_km)
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def _province_of_point(add: Mapping, places: pd.DataFrame, counties: gpd.GeoDataFrame | None) -> str | None:
    """An added centre's province: its settlement's, else that of the county its point is in."""
    code = add.get("settlement_code")
    if code is not None and code in places.index:
        return str(places.loc[code, "province_code"])
    if counties is None:
        return None
    point = shapely.Point(add["lon"], add["lat"])
    hit = shapely.STRtree(counties.geometry.to_numpy()).query(point, predicate="within")
    return str(counties["county_code"].iloc[int(hit[0])])[:2] if len(hit) else None


def _travel_km(a: gpd.GeoSeries, b: gpd.GeoSeries, detour_factor: float) -> np.ndarray:
    """Straight-line (geodesic) km between points in lon/lat, times the detour factor."""
    ll1 = np.radians(np.column_stack([a.x.to_numpy(), a.y.to_numpy()]))
    ll2 = np.radians(np.column_stack([b.x.to_numpy(), b.y.to_numpy()]))
    return distances(ll1, ll2) / 1000.0 * detour_factor


def total_cost(items: pd.DataFrame) -> float:
    """The total of a table of cost items."""
    return float(items["cost"].sum()) if len(items) else 0.0


def cost_summary(cost_a: float, cost_b: float, newly_covered: float) -> dict:
    """Two sides' costs beside the target persons side b newly covers: the difference
    (b − a) and the cost per newly covered person (None when nobody is newly covered)."""
    difference = cost_b - cost_a
    return {
        "cost_a": cost_a,
        "cost_b": cost_b,
        "cost_difference": difference,
        "cost_per_newly_covered": difference / newly_covered if newly_covered > 0 else None,
    }
