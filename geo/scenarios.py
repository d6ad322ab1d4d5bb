"""What-if scenarios: a named set of changes on top of today's data, applied and compared.

A scenario's changes (its JSON payload) are:

* ``licences_added``: new centres, ``{"service_type", "capacity", "lon", "lat"}`` with an
  optional ``settlement_code`` and ``name_fa`` (from a siting result or by hand);
* ``licences_closed``: licence numbers that stop counting (as if no longer active);
* ``licences_resized``: ``{"licence_no", "capacity"}``;
* ``norms``: changes to the norms, ``{"services": {"rehabilitation": {"catchment_km": 40}},
  "saturated_at": 1.3, "underserved_below": 0.7}``;
* ``delegations``: ``{"licence_no", "settlement_code", "persons"}``: a centre serves
  ``persons`` of a village by outreach or a branch. Modelled as an outreach point at the
  village with that capacity, taken from the centre's (capacity moves, the total stays).

``apply_changes`` turns today's NGO layer and norms into the scenario's; the analysis is then
recomputed on them. ``compare`` sets two analyses side by side: per county and service type the
saturation class, capacity, people newly covered and access; nationally and per province the
equity of access (Gini and Theil of E2SFCA access per target person, the Theil index split
into between and within provinces).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.decisions import AnalysisInputError, check_service_type
from geo.gazetteer import DEFAULT_TOLERANCE_M, nearest_county_part
from geo.norms import Norms

CHANGE_KINDS = ("licences_added", "licences_closed", "licences_resized", "norms", "delegations")
NORM_FIELDS = (
    "catchment_km",
    "norm_per_10k",
    "min_population",
    "max_distance_km",
    "min_access_share",
    "outreach_km",
    "catchment_min",
    "max_travel_min",
    "outreach_min",
)
#: licence numbers of the centres a scenario adds, and of delegated outreach points
ADDED_PREFIX = "PLAN-"
OUTREACH_PREFIX = "OUTREACH-"


#: Largest capacity, persons or norm figure a scenario may state.
LARGEST = 1_000_000


def _number(
    value, what: str, *, positive: bool = True, low: float = -LARGEST, high: float = LARGEST
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise AnalysisInputError(f"{what} must be a number, not {value!r}")
    if positive and value <= 0:
        raise AnalysisInputError(f"{what} must be positive, not {value!r}")
    if not low <= value <= high:
        raise AnalysisInputError(f"{what} must be between {low:g} and {high:g}, not {value!r}")
    return float(value)


def _items(changes: Mapping, kind: str) -> list:
    value = changes.get(kind) or []
    if not isinstance(value, list):
        raise AnalysisInputError(f"{kind} must be a list")
    return value


def _text(value, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 200):
        raise AnalysisInputError(f"{what} must be text of at most 200 characters")
    return value


def check_changes(changes: Mapping, services: Iterable[str] | None = None) -> dict:
    """A scenario's changes, checked and normalised; ``AnalysisInputError`` names what is wrong.

    ``services``: the catalogue's service types (``Norms.services``); without them a service
    type is only checked for its form (a saved scenario is checked again when it is analysed).
    """
    if not isinstance(changes, Mapping):
        raise AnalysisInputError("a scenario's changes must be an object")
    unknown = set(changes) - set(CHANGE_KINDS)
    if unknown:
        raise AnalysisInputError(
            f"unknown kinds of change: {', '.join(sorted(unknown))}; known: {', '.join(CHANGE_KINDS)}"
        )
    out: dict = {kind: [] for kind in CHANGE_KINDS if kind != "norms"}
    out["norms"] = {}
    for n, add in enumerate(_items(changes, "licences_added")):
        where = f"licences_added[{n}]"
        if not isinstance(add, Mapping):
            raise AnalysisInputError(f"{where} must be an object")
        check_service_type(str(add.get("service_type")), services)
        capacity = _number(add.get("capacity"), f"{where}.capacity")
        if capacity != int(capacity):
            raise AnalysisInputError(f"{where}.capacity must be a whole number")
        lon = _number(add.get("lon"), f"{where}.lon", positive=False, low=-180, high=180)
        lat = _number(add.get("lat"), f"{where}.lat", positive=False, low=-90, high=90)
        out["licences_added"].append(
            {
                "service_type": add["service_type"],
                "capacity": int(capacity),
                "lon": lon,
                "lat": lat,
                "settlement_code": _text(add.get("settlement_code"), f"{where}.settlement_code"),
                "name_fa": _text(add.get("name_fa"), f"{where}.name_fa"),
            }
        )
    for n, licence in enumerate(_items(changes, "licences_closed")):
        if not isinstance(licence, str) or not licence:
            raise AnalysisInputError(f"licences_closed[{n}] must be a licence number")
        out["licences_closed"].append(licence)
    for n, resize in enumerate(_items(changes, "licences_resized")):
        where = f"licences_resized[{n}]"
        if not isinstance(resize, Mapping) or not isinstance(resize.get("licence_no"), str):
            raise AnalysisInputError(f"{where} needs a licence_no")
        capacity = _number(resize.get("capacity"), f"{where}.capacity")
        out["licences_resized"].append({"licence_no": resize["licence_no"], "capacity": int(capacity)})
    for n, d in enumerate(_items(changes, "delegations")):
        where = f"delegations[{n}]"
        if not isinstance(d, Mapping) or not isinstance(d.get("licence_no"), str):
            raise AnalysisInputError(f"{where} needs a licence_no")
        if not isinstance(d.get("settlement_code"), str):
            raise AnalysisInputError(f"{where} needs a settlement_code")
        persons = _number(d.get("persons"), f"{where}.persons")
        out["delegations"].append(
            {"licence_no": d["licence_no"], "settlement_code": d["settlement_code"], "persons": int(persons)}
        )
    norms = changes.get("norms") or {}
    if not isinstance(norms, Mapping):
        raise AnalysisInputError("norms changes must be an object")
    for key, value in norms.items():
        if key == "services":
            if not isinstance(value, Mapping):
                raise AnalysisInputError("norms.services must be an object")
            for service, fields in value.items():
                check_service_type(service, services)
                if not isinstance(fields, Mapping) or set(fields) - set(NORM_FIELDS):
                    raise AnalysisInputError(f"norms.services.{service}: fields are {', '.join(NORM_FIELDS)}")
                for name, v in fields.items():
                    _number(v, f"norms.services.{service}.{name}", positive=name != "min_access_share", low=0)
                out["norms"].setdefault("services", {})[service] = dict(fields)
        elif key in ("saturated_at", "detour_factor"):
            out["norms"][key] = _number(value, f"norms.{key}", low=1, high=10)
        elif key == "underserved_below":
            out["norms"][key] = _number(value, f"norms.{key}", high=1)
        else:
            raise AnalysisInputError(f"norms.{key} cannot be changed by a scenario")
    return out


def norms_with(norms: Norms, changes: Mapping) -> Norms:
    """The norms with a scenario's ``norms`` changes."""
    if not changes:
        return norms
    services = dict(norms.services)
    for service, fields in (changes.get("services") or {}).items():
        services[service] = dataclasses.replace(services[service], **fields)
    top = {k: v for k, v in changes.items() if k != "services"}
    out = dataclasses.replace(norms, services=services, **top)
    if not 0 < out.underserved_below <= 1 <= out.saturated_at:
        raise AnalysisInputError("the norms need 0 < underserved_below ≤ 1 ≤ saturated_at")
    if out.detour_factor < 1:
        raise AnalysisInputError("the detour factor must be at least 1")
    return out


def apply_changes(
    ngos: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    norms: Norms,
    changes: Mapping,
) -> tuple[gpd.GeoDataFrame, Norms]:
    """Today's NGO layer and norms turned into the scenario's (``changes`` from ``check_changes``)."""
    changes = check_changes(changes, norms.services)
    out = ngos.copy()
    licence = out["licence_no"]
    known = set(licence)
    for kind in ("licences_closed", "licences_resized", "delegations"):
        missing = sorted({c if isinstance(c, str) else c["licence_no"] for c in changes[kind]} - known)
        if missing:
            raise AnalysisInputError(f"{kind}: no licence {', '.join(missing[:5])} in the registry")
    closed = licence.isin(changes["licences_closed"])
    for r in changes["licences_resized"]:
        out.loc[licence == r["licence_no"], "capacity"] = r["capacity"]
    rows = []
    codes = settlements.set_index("settlement_code")
    county_tree = shapely.STRtree(counties.geometry.to_numpy())
    county_codes = counties["county_code"].to_numpy()
    for n, add in enumerate(changes["licences_added"], start=1):
        point = shapely.Point(add["lon"], add["lat"])
        hit = county_tree.query(point, predicate="within")
        if len(hit):
            county = str(county_codes[int(hit[0])])
        elif add.get("settlement_code") in codes.index:
            # A real settlement point may lie just off its clipped county (a coast): its county.
            county = str(codes.loc[add["settlement_code"], "county_code"])
        else:
            near = nearest_county_part(
                gpd.GeoSeries([point], crs=counties.crs), counties, DEFAULT_TOLERANCE_M
            )["county_code"].iloc[0]
            if not isinstance(near, str):
                raise AnalysisInputError(
                    f"licences_added[{n - 1}]: ({add['lon']}, {add['lat']}) is outside the counties"
                )
            county = near
        rows.append(
            {
                "licence_no": f"{ADDED_PREFIX}{n:04d}",
                "name_fa": add["name_fa"] or "مرکز پیشنهادی",
                "service_type": add["service_type"],
                "capacity": add["capacity"],
                "status": "active",
                "county_code": county,
                "province_code": county[:2],
                "settlement_code": add["settlement_code"],
                "geometry": point,
            }
        )
    by_licence = out.set_index("licence_no")
    for n, d in enumerate(changes["delegations"], start=1):
        if d["settlement_code"] not in codes.index:
            raise AnalysisInputError(f"delegations[{n - 1}]: no settlement {d['settlement_code']}")
        centre = by_licence.loc[d["licence_no"]]
        place = codes.loc[d["settlement_code"]]
        out.loc[licence == d["licence_no"], "capacity"] -= d["persons"]
        rows.append(
            {
                "licence_no": f"{OUTREACH_PREFIX}{n:04d}",
                "name_fa": f"{centre['name_fa']} (برون‌رسانی)",
                "service_type": centre["service_type"],
                "capacity": d["persons"],
                "status": centre["status"],
                "county_code": place["county_code"],
                "province_code": place["province_code"],
                "settlement_code": d["settlement_code"],
                "geometry": place.geometry,
            }
        )
    if (out["capacity"] < 0).any():
        over = out.loc[out["capacity"] < 0, "licence_no"].tolist()
        raise AnalysisInputError(f"delegations give away more than the capacity of {', '.join(over[:5])}")
    out = out[~closed]
    if rows:
        added = gpd.GeoDataFrame(rows, geometry="geometry", crs=ngos.crs)
        out = pd.concat([out, added], ignore_index=True)
    out = out[out["capacity"] > 0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=ngos.crs), norms_with(norms, changes["norms"])


# --------------------------------------------------------------------------------------------
# Equity of access: Gini and Theil over target persons
# --------------------------------------------------------------------------------------------


def gini(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Gini index of ``values`` over a population where value i is held by ``weights[i]`` persons.

    With whole-number weights it equals the Gini of the values repeated that many times
    (PySAL ``inequality.gini.Gini``): G = (Σ_r (2r − N − 1) x_(r)) / (N Σ x) over the sorted
    repeated values, computed per group of equal values without repeating them.
    """
    x = np.asarray(values, dtype="float64")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype="float64")
    keep = w > 0
    x, w = x[keep], w[keep]
    total_w = w.sum()
    total = (w * x).sum()
    if total_w == 0 or total == 0:
        return 0.0
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    before = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    # Ranks r = before+1 … before+w: Σ r = w·before + w(w+1)/2.
    rank_sum = w * before + w * (w + 1) / 2.0
    return float(((2.0 * rank_sum - (total_w + 1) * w) * x).sum() / (total_w * total))


def theil(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Theil's T over persons: Σ_i w_i (x_i/μ) ln(x_i/μ) / N, with 0 · ln 0 = 0."""
    x = np.asarray(values, dtype="float64")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype="float64")
    n, total = w.sum(), (w * x).sum()
    if n == 0 or total == 0:
        return 0.0
    share = w * x / total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(x > 0, share * (np.log(x) - np.log(total / n)), 0.0)
    return float(terms.sum())


def theil_split(values: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> tuple[float, float, float]:
    """Theil's T and its split into between-group and within-group parts (T = between + within)."""
    x = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    t = theil(x, w)
    n, total = w.sum(), (w * x).sum()
    if n == 0 or total == 0:
        return t, 0.0, t
    codes, inverse = np.unique(np.asarray(groups), return_inverse=True)
    group_total = np.bincount(inverse, weights=w * x, minlength=len(codes))
    group_n = np.bincount(inverse, weights=w, minlength=len(codes))
    s = group_total / total
    with np.errstate(divide="ignore", invalid="ignore"):
        between = float(np.where(s > 0, s * (np.log(s) + np.log(n) - np.log(group_n)), 0.0).sum())
    return t, between, t - between


def equity(analysis, services: list[str] | None = None) -> pd.DataFrame:
    """Equity of E2SFCA access per target person, per service type: nationally and per province.

    Rows: (``scope``, ``province_code``, ``service_type``) with ``gini``, ``theil``,
    ``target_population``, ``mean_access_share`` (of the norm) and, nationally,
    ``theil_between_provinces`` and ``theil_within_provinces``.
    """
    s = analysis.settlements
    # Whole-number province codes: sorting and grouping 100,000 strings per service is slow.
    group, names = pd.factorize(s["province_code"], sort=True)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1], True])
    rows = []
    for service in services or list(analysis.norms.services):
        x = analysis.access.access[service].to_numpy(dtype="float64")
        w = analysis.demand[service].to_numpy(dtype="float64")
        norm = analysis.norms.services[service].per_person
        t, between, within = theil_split(x, w, group)
        total_w = w.sum()
        rows.append(
            {
                "scope": "national",
                "province_code": None,
                "service_type": service,
                "target_population": int(total_w),
                "mean_access_share": float((w * x).sum() / total_w / norm) if total_w else np.nan,
                "gini": gini(x, w),
                "theil": t,
                "theil_between_provinces": between,
                "theil_within_provinces": within,
            }
        )
        for a, b in itertools.pairwise(bounds):
            idx = order[a:b]
            pw = w[idx].sum()
            rows.append(
                {
                    "scope": "province",
                    "province_code": names[group[idx[0]]],
                    "service_type": service,
                    "target_population": int(pw),
                    "mean_access_share": float((w[idx] * x[idx]).sum() / pw / norm) if pw else np.nan,
                    "gini": gini(x[idx], w[idx]),
                    "theil": theil(x[idx], w[idx]),
                    "theil_between_provinces": np.nan,
                    "theil_within_provinces": np.nan,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Comparison of two analyses (today or a scenario, against another)
# --------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """``counties``: per county and service type, before (a) and after (b); ``equity``: per
    scope and service, a and b; ``summary``: national totals; ``costs``: each side's cost items
    (``geo.costs``), set by whoever prices the two sides' changes."""

    counties: pd.DataFrame
    equity: pd.DataFrame
    summary: dict
    costs: pd.DataFrame | None = None


def compare(a, b, services: list[str] | None = None) -> Comparison:
    """Set analysis ``b`` beside analysis ``a`` (the same settlements and county needs)."""
    if len(a.settlements) != len(b.settlements) or not np.array_equal(
        a.settlements["settlement_code"].to_numpy(), b.settlements["settlement_code"].to_numpy()
    ):
        raise AnalysisInputError("the two analyses are not of the same settlements")
    services = services or list(a.norms.services)
    county, county_names = pd.factorize(a.settlements["county_code"], sort=True)
    n_county = len(county_names)
    frames = []
    for service in services:
        d = a.demand[service].to_numpy(dtype="float64")
        cov_a = a.access.covered[service].to_numpy()
        cov_b = b.access.covered[service].to_numpy()
        acc_a = a.access.access[service].to_numpy()
        acc_b = b.access.access[service].to_numpy()
        sums = {
            "demand": d,
            "newly_covered": np.where(cov_b & ~cov_a, d, 0.0),
            "no_longer_covered": np.where(cov_a & ~cov_b, d, 0.0),
            "covered_a": np.where(cov_a, d, 0.0),
            "covered_b": np.where(cov_b, d, 0.0),
            "access_a": d * acc_a,
            "access_b": d * acc_b,
        }
        g = pd.DataFrame(
            {k: np.bincount(county, weights=v, minlength=n_county) for k, v in sums.items()},
        )
        g.insert(0, "county_code", np.asarray(county_names))
        g["service_type"] = service
        frames.append(g)
    per = pd.concat(frames, ignore_index=True).set_index(["county_code", "service_type"])
    sat_a = a.saturation
    sat_b = b.saturation
    idx = sat_a.index.intersection(sat_b.index)
    idx = idx[idx.get_level_values("service_type").isin(services)]
    out = pd.DataFrame(index=idx)
    out["province_code"] = idx.get_level_values("county_code").str[:2]
    out["target_population"] = sat_a.loc[idx, "target_population"]
    for tag, sat in (("a", sat_a), ("b", sat_b)):
        out[f"ngos_{tag}"] = sat.loc[idx, "ngos"]
        out[f"capacity_{tag}"] = sat.loc[idx, "capacity"]
        out[f"ratio_to_norm_{tag}"] = sat.loc[idx, "ratio_to_norm"]
        out[f"class_{tag}"] = sat.loc[idx, "class"]
    out["class_changed"] = out["class_a"] != out["class_b"]
    per = per.reindex(idx).fillna(0.0)
    norm = pd.Series({s: a.norms.services[s].per_person for s in services})
    norm_b = pd.Series({s: b.norms.services[s].per_person for s in services})
    service_level = idx.get_level_values("service_type")
    dem = per["demand"].replace(0, np.nan)
    out["covered_share_a"] = per["covered_a"] / dem
    out["covered_share_b"] = per["covered_b"] / dem
    out["newly_covered"] = per["newly_covered"].astype("int64")
    out["no_longer_covered"] = per["no_longer_covered"].astype("int64")
    out["access_share_a"] = per["access_a"] / dem / service_level.map(norm).to_numpy()
    out["access_share_b"] = per["access_b"] / dem / service_level.map(norm_b).to_numpy()
    out["access_change"] = out["access_share_b"] - out["access_share_a"]
    out = out.reset_index()

    eq_a = equity(a, services)
    eq_b = equity(b, services)
    keys = ["scope", "province_code", "service_type"]
    eq = eq_a.merge(eq_b, on=keys, suffixes=("_a", "_b"))
    eq = eq.drop(columns=["target_population_b"]).rename(columns={"target_population_a": "target_population"})
    for m in ("gini", "theil", "mean_access_share"):
        eq[f"{m}_change"] = eq[f"{m}_b"] - eq[f"{m}_a"]

    summary = {
        "services": services,
        "counties_changing_class": int(out["class_changed"].sum()),
        "class_changes": {
            f"{x}→{y}": int(n)
            for (x, y), n in out[out["class_changed"]].groupby(["class_a", "class_b"]).size().items()
        },
        "newly_covered": int(out["newly_covered"].sum()),
        "no_longer_covered": int(out["no_longer_covered"].sum()),
        "capacity_a": int(out["capacity_a"].sum()),
        "capacity_b": int(out["capacity_b"].sum()),
    }
    return Comparison(counties=out, equity=eq, summary=summary)
