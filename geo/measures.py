"""Roll-ups, saturation and concentration: where capacity sits against need.

Functions take layers as frames and return frames indexed by what they measure (county and
service type, province and tier, …).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.norms import Norms

#: Settlement tiers by population: (lower bound, tier) from the top; cities below the last bound
#: are small towns, and every village is a village.
TIER_BREAKS = ((1_000_000, "metropolis"), (250_000, "large_city"), (50_000, "mid_city"))
TIERS = ("metropolis", "large_city", "mid_city", "small_town", "village")
SATURATION_CLASSES = ("saturated", "balanced", "underserved")


def settlement_tier(population: pd.Series, kind: pd.Series) -> pd.Series:
    """Tier of each settlement: metropolis (>1M), large city (250k–1M), mid city (50k–250k),
    small town (a city under 50k) or village."""
    city = (kind == "city").to_numpy()
    people = population.to_numpy()
    names = np.full(len(people), "village", dtype=object)
    names[city] = "small_town"
    for floor, name in reversed(TIER_BREAKS):
        names[city & (people >= floor)] = name
    return pd.Series(names, index=population.index, dtype="object")


def ngo_rollup(
    ngos: pd.DataFrame, by: str = "county_code", statuses: tuple[str, ...] = ("active",)
) -> pd.DataFrame:
    """NGO count and capacity per ``by`` (county_code or province_code) and service type.

    Only licences whose status is in ``statuses`` count (active by default).
    """
    keep = ngos[ngos["status"].isin(statuses)]
    sums = {"ngos": ("licence_no", "size"), "capacity": ("capacity", "sum")}
    if "licensed_capacity" in keep.columns:
        sums["licensed_capacity"] = ("licensed_capacity", "sum")
    out = keep.groupby([by, "service_type"]).agg(**sums)
    return out.astype("int64")


def settlement_rollup(settlements: pd.DataFrame, target_areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per county: cities, villages, population, and target areas."""
    out = settlements.groupby("county_code").agg(
        cities=("kind", lambda k: int((k == "city").sum())),
        villages=("kind", lambda k: int((k == "village").sum())),
        population=("population", "sum"),
    )
    if target_areas is not None:
        out["target_areas"] = (
            target_areas.groupby("county_code").size().reindex(out.index).fillna(0).astype("int64")
        )
    return out


def saturation(
    county_needs: pd.DataFrame,
    ngos: pd.DataFrame,
    norms: Norms,
    volunteer_capacity: pd.Series | None = None,
) -> pd.DataFrame:
    """Capacity per 10,000 target persons per county and service type, against the norm.

    Returns a frame indexed by (county_code, service_type) with ``target_population``,
    ``ngos``, ``capacity``, ``capacity_per_10k``, ``norm_per_10k``, ``ratio_to_norm``,
    ``national_median_per_10k`` (median over counties of that service type) and ``class``
    (saturated ≥ ``norms.saturated_at`` × norm, underserved < ``norms.underserved_below`` × norm,
    otherwise balanced). A county with no target population for a type is balanced with NaN
    figures. When the norms weight capacity by rating (``ngos`` then carries
    ``licensed_capacity``, ``geo.ratings.weigh_capacity``), ``capacity`` is the effective capacity
    and two columns split it: ``licensed_capacity`` − ``rating_deduction`` = ``capacity``.

    When the norms count volunteers (``count_as_supply``) and ``volunteer_capacity`` (places per
    county and service, ``geo.volunteers.county_volunteer_capacity``) is given, ``capacity`` is
    the centres' (licensed, or weighted by rating) plus the volunteers', split in two columns:
    ``centre_capacity`` + ``volunteer_capacity`` = ``capacity``. (With ratings too, the centres'
    part splits again: ``licensed_capacity`` − ``rating_deduction`` = ``centre_capacity``.)
    """
    need = county_needs.set_index(["county_code", "service_type"])["target_population"].astype("int64")
    supply = ngo_rollup(ngos).reindex(need.index).fillna(0).astype("int64")
    out = pd.DataFrame({"target_population": need, "ngos": supply["ngos"], "capacity": supply["capacity"]})
    weighted = norms.weights_capacity and "licensed_capacity" in supply.columns
    volunteers = None
    if norms.counts_volunteers and volunteer_capacity is not None:
        volunteers = volunteer_capacity.reindex(need.index).fillna(0).astype("int64")
        out["capacity"] = supply["capacity"] + volunteers
    with np.errstate(divide="ignore", invalid="ignore"):
        per_10k = np.where(
            out["target_population"] > 0, 1e4 * out["capacity"] / out["target_population"], np.nan
        )
    out["capacity_per_10k"] = per_10k
    norm = pd.Series({s: n.norm_per_10k for s, n in norms.services.items()})
    out["norm_per_10k"] = out.index.get_level_values("service_type").map(norm).to_numpy(dtype="float64")
    out["ratio_to_norm"] = out["capacity_per_10k"] / out["norm_per_10k"]
    out["national_median_per_10k"] = out.groupby(level="service_type")["capacity_per_10k"].transform("median")
    out["class"] = classify(out["ratio_to_norm"], norms)
    if weighted:
        out["licensed_capacity"] = supply["licensed_capacity"]
        out["rating_deduction"] = supply["licensed_capacity"] - supply["capacity"]
    if volunteers is not None:
        out["centre_capacity"] = supply["capacity"]
        out["volunteer_capacity"] = volunteers
    return out


def out_of_reach(demand: pd.DataFrame, covered: pd.DataFrame, county_code: pd.Series) -> pd.DataFrame:
    """Target persons with no centre within reach, per county and service type.

    ``demand`` and ``covered`` are settlements × service types (target persons, and whether the
    settlement lies inside at least one catchment); ``county_code`` the settlements' counties.
    Returns a frame indexed by (county_code, service_type) with ``target_out_of_reach``.
    """
    services = [s for s in demand.columns if s in covered.columns]
    outside = demand[services].where(~covered[services].astype(bool), 0)
    per_county = outside.groupby(county_code.to_numpy()).sum()
    per_county.index.name = "county_code"
    long = per_county.stack()
    long.index.names = ["county_code", "service_type"]
    return long.astype("int64").to_frame("target_out_of_reach")


def need_rank(saturation: pd.DataFrame, unreached: pd.DataFrame | None = None) -> pd.DataFrame:
    """``saturation`` with the counties ranked per service type, most underserved first.

    The rank orders by what matters, in turn: the ratio to the norm (lower first), then the
    share of the county's target persons with no centre within reach (``unreached``, from
    ``out_of_reach``; larger first), then the capacity gap to the norm (places missing: norm
    per 10,000 × target persons / 10,000 − capacity; larger first), and only then the code. A
    county without target persons for a service comes last. Adds ``target_out_of_reach``,
    ``share_out_of_reach``, ``capacity_gap`` and ``need_rank`` (1, 2, … within each service type).
    """
    out = saturation.copy()
    if unreached is not None:
        far = unreached["target_out_of_reach"].reindex(out.index).fillna(0)
    else:
        far = pd.Series(0, index=out.index)
    out["target_out_of_reach"] = far.astype("int64")
    target = out["target_population"].astype("float64")
    out["share_out_of_reach"] = (out["target_out_of_reach"] / target.where(target > 0)).astype("float64")
    out["capacity_gap"] = out["norm_per_10k"] * target / 1e4 - out["capacity"]
    keys = pd.DataFrame(
        {
            "service_type": out.index.get_level_values("service_type"),
            "no_need": out["ratio_to_norm"].isna().to_numpy(),
            "ratio": out["ratio_to_norm"].fillna(np.inf).to_numpy(),
            "far": -out["share_out_of_reach"].fillna(0).to_numpy(),
            "gap": -out["capacity_gap"].fillna(0).to_numpy(),
            "code": out.index.get_level_values("county_code"),
            "pos": np.arange(len(out)),
        }
    )
    keys = keys.sort_values(["service_type", "no_need", "ratio", "far", "gap", "code"], kind="mergesort")
    rank = keys.groupby("service_type").cumcount() + 1
    values = np.empty(len(out), dtype="int64")
    values[keys["pos"].to_numpy()] = rank.to_numpy()
    out["need_rank"] = values
    return out


def classify(ratio_to_norm: pd.Series, norms: Norms) -> pd.Series:
    cls = pd.Series("balanced", index=ratio_to_norm.index, dtype="object")
    cls[ratio_to_norm >= norms.saturated_at] = "saturated"
    cls[ratio_to_norm < norms.underserved_below] = "underserved"
    return cls


def concentration(
    settlements: pd.DataFrame,
    ngos: pd.DataFrame,
    demand: pd.DataFrame,
    by_province: bool = False,
    tier: pd.Series | None = None,
) -> pd.DataFrame:
    """Share of NGOs and capacity per settlement tier against the tier's share of target population.

    The location quotient LQ = (share of NGOs in the tier) / (share of target population in the
    tier): above 1 the tier has more than its share. Active licences only; an NGO belongs to the
    tier of its settlement.

    Returns a frame indexed by tier (or by province_code and tier with ``by_province``) with
    ``ngos``, ``capacity``, ``target_population``, their shares, ``lq_ngos`` and ``lq_capacity``.
    """
    if tier is None:
        tier = settlement_tier(settlements["population"], settlements["kind"])
    place = pd.DataFrame(
        {
            "settlement_code": settlements["settlement_code"].to_numpy(),
            "tier": tier.to_numpy(),
            "province_code": settlements["province_code"].to_numpy(),
            "target_population": demand.sum(axis=1).to_numpy(),
        }
    )
    active = ngos[ngos["status"] == "active"][["settlement_code", "capacity"]]
    located = active.merge(
        place[["settlement_code", "tier", "province_code"]], on="settlement_code", how="inner"
    )
    keys = ["province_code", "tier"] if by_province else ["tier"]
    supply = located.groupby(keys).agg(ngos=("capacity", "size"), capacity=("capacity", "sum"))
    need = place.groupby(keys)["target_population"].sum()
    full = (
        pd.MultiIndex.from_product([sorted(place["province_code"].unique()), TIERS], names=keys)
        if by_province
        else pd.Index(TIERS, name="tier")
    )
    out = pd.DataFrame(index=full)
    out["ngos"] = supply["ngos"].reindex(full).fillna(0).astype("int64")
    out["capacity"] = supply["capacity"].reindex(full).fillna(0).astype("int64")
    out["target_population"] = need.reindex(full).fillna(0).astype("int64")
    return _with_shares(out, by_province)


def national_concentration(by_province: pd.DataFrame) -> pd.DataFrame:
    """``concentration`` of the whole country from its table by province (the same figures as
    ``concentration(...)`` without ``by_province``, with no second pass over the layers)."""
    counts = by_province[["ngos", "capacity", "target_population"]].groupby(level="tier").sum()
    return _with_shares(counts.reindex(pd.Index(TIERS, name="tier")).fillna(0).astype("int64"), False)


def _with_shares(out: pd.DataFrame, by_province: bool) -> pd.DataFrame:
    """The counts' shares of their province (or of the country) and the location quotients."""
    for col in ("ngos", "capacity", "target_population"):
        total = out.groupby(level="province_code")[col].transform("sum") if by_province else out[col].sum()
        out[f"{col}_share"] = out[col] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        out["lq_ngos"] = out["ngos_share"] / out["target_population_share"]
        out["lq_capacity"] = out["capacity_share"] / out["target_population_share"]
    return out
