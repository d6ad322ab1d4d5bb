"""Planning glue shared by the command line and the HTTP API: scenarios in the store, their
analyses, comparisons and the comparison workbook.

A scenario is referred to by its id; ``today`` is the current data without changes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from geo.costs import COST_COLUMNS, cost_summary, scenario_costs, total_cost
from geo.decisions import AnalysisInputError, check_service_type
from geo.recompute import Analysis, analyse
from geo.scenarios import Comparison, apply_changes, check_changes, compare
from geo.schema import DEFAULT_SERVICE_TYPES
from maps.i18n import words
from services.loading import ngos_as_of
from services.tables import HEADERS
from store.base import Store

TODAY = "today"
#: Who owns a scenario until sign-in says who the user is.
DEFAULT_OWNER = "anonymous"
REQUIRED = ("counties", "settlements", "ngos", "county_needs")


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: The longest scenario name.
NAME_CHARS = 200


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_CHARS:
        raise AnalysisInputError(f"a scenario needs a name of 1 to {NAME_CHARS} characters")
    return name


def copy_name(name: str) -> str:
    """The default name of a copy: the original's with " (copy)", the original's cut short (with
    "…") where both would pass the longest name."""
    suffix = " (copy)"
    if len(name) + len(suffix) <= NAME_CHARS:
        return name + suffix
    return name[: NAME_CHARS - len(suffix) - 1].rstrip() + "…" + suffix


def create_scenario(
    store: Store,
    name: str,
    changes: Mapping,
    *,
    owner: str | None = None,
    description: str | None = None,
    copied_from: str | None = None,
    services: Iterable[str] | None = None,
) -> dict:
    """Check the changes (against the catalogue's ``services`` when given) and save a new
    scenario; returns it."""
    record = {
        "id": "s-" + secrets.token_hex(6),
        "name": _check_name(name),
        "owner": (owner or DEFAULT_OWNER).strip() or DEFAULT_OWNER,
        "created_at": now_utc(),
        "description": description,
        "copied_from": copied_from,
        "payload": check_changes(changes, services),
    }
    store.save_scenario(record)
    return record


def copy_scenario(
    store: Store, scenario_id: str, *, name: str | None = None, owner: str | None = None
) -> dict:
    """A new scenario with the same changes (a starting point to adjust)."""
    original = store.scenario(scenario_id)
    return create_scenario(
        store,
        name or copy_name(original["name"]),
        original["payload"],
        owner=owner or original["owner"],
        description=original.get("description"),
        copied_from=scenario_id,
    )


def payload_key(payload: Mapping) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _registry(layers: Mapping[str, pd.DataFrame], today: Analysis) -> pd.DataFrame:
    """The registry a scenario changes: today's, its statuses read at today's day."""
    if today.as_of is None:
        return layers["ngos"]
    return ngos_as_of(layers["ngos"], today.as_of, fixed=today.as_of_fixed)


def scenario_cost_items(
    layers: Mapping[str, pd.DataFrame], today: Analysis, payload: Mapping
) -> pd.DataFrame:
    """A scenario's cost items priced with the norms' cost table (``geo.costs.scenario_costs``);
    none when the norms have no cost table."""
    if today.norms.costs is None:
        return pd.DataFrame(columns=COST_COLUMNS)
    return scenario_costs(
        payload,
        today.norms.costs,
        _registry(layers, today),
        layers["settlements"],
        counties=layers["counties"],
        detour_factor=today.norms.detour_factor,
    )


def scenario_analysis(layers: Mapping[str, pd.DataFrame], today: Analysis, payload: Mapping) -> Analysis:
    """The analysis recomputed on the layers as the scenario changes them, with the licence
    statuses of ``today``'s day (both sides of a comparison read the same day)."""
    missing = [n for n in REQUIRED if n not in layers]
    if missing:
        raise AnalysisInputError(f"the analysis needs the layers {', '.join(missing)}")
    ngos, norms = apply_changes(
        _registry(layers, today), layers["settlements"], layers["counties"], today.norms, payload
    )
    result = analyse(
        layers["settlements"],
        ngos,
        layers["county_needs"],
        layers["counties"],
        layers.get("target_areas"),
        norms,
        travel=today.travel,
    )
    result.as_of = today.as_of
    result.as_of_fixed = today.as_of_fixed
    return result


class AnalysisCache:
    """The last few scenario analyses (each holds tens of MB for the whole country)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[str, Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, build: Callable[[], Analysis]) -> Analysis:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def resolve(
    store: Store,
    layers: Mapping[str, pd.DataFrame],
    today: Analysis,
    ref: str,
    cache: AnalysisCache | None = None,
) -> tuple[dict, Analysis]:
    """The scenario named by ``ref`` (an id or ``today``) and its analysis."""
    if ref == TODAY:
        return {"id": TODAY, "name": "today", "owner": None, "payload": {}}, today
    record = store.scenario(ref)
    payload = record["payload"]

    def build() -> Analysis:
        return scenario_analysis(layers, today, payload)

    analysis = cache.get(f"{today.as_of}|{payload_key(payload)}", build) if cache else build()
    return record, analysis


def compare_refs(
    store: Store,
    layers: Mapping[str, pd.DataFrame],
    today: Analysis,
    a: str,
    b: str,
    *,
    service_type: str | None = None,
    province: str | None = None,
    cache: AnalysisCache | None = None,
) -> tuple[dict, dict, Comparison]:
    """Compare scenario ``b`` with ``a`` (either may be ``today``)."""
    services = None
    if service_type is not None:
        services = [check_service_type(service_type, today.norms.services)]
    rec_a, an_a = resolve(store, layers, today, a, cache)
    rec_b, an_b = resolve(store, layers, today, b, cache)
    result = compare(an_a, an_b, services)
    sides = [
        scenario_cost_items(layers, today, rec["payload"]).assign(side=side)
        for side, rec in (("a", rec_a), ("b", rec_b))
    ]
    sides = [frame for frame in sides if len(frame)]
    items = pd.concat(sides, ignore_index=True) if sides else pd.DataFrame(columns=["side", *COST_COLUMNS])
    items = items[["side", *COST_COLUMNS]]
    items = items[items["service_type"].isin(result.summary["services"])]
    if province is not None:
        counties = result.counties[result.counties["province_code"] == province]
        eq = result.equity[
            (result.equity["scope"] == "national") | (result.equity["province_code"] == province)
        ]
        items = items[items["province_code"] == province]
        result = Comparison(
            counties=counties.reset_index(drop=True), equity=eq.reset_index(drop=True), summary=result.summary
        )
        result.summary = {**result.summary, **_totals(counties), "province_code": province}
    result.costs = items.reset_index(drop=True)
    result.summary = {**result.summary, **_costs(today, result.costs, result.summary["newly_covered"])}
    return _public(rec_a), _public(rec_b), result


def _costs(today: Analysis, items: pd.DataFrame, newly_covered: int) -> dict:
    """The comparison's cost figures (None without a cost table): each side's total, the
    difference, the cost per newly covered target person, and which table priced them."""
    table = today.norms.costs
    if table is None:
        return {k: None for k in (*COST_SUMMARY_KEYS, "cost_currency", "cost_table", "costs_synthetic")}
    side = {s: total_cost(items[items["side"] == s]) for s in ("a", "b")}
    return {
        **cost_summary(side["a"], side["b"], newly_covered),
        "cost_currency": table.currency,
        "cost_table": table.label(today.norms.version),
        "costs_synthetic": table.synthetic,
    }


COST_SUMMARY_KEYS = ("cost_a", "cost_b", "cost_difference", "cost_per_newly_covered")


def _totals(counties: pd.DataFrame) -> dict:
    changed = counties[counties["class_changed"]]
    return {
        "counties_changing_class": len(changed),
        "class_changes": {
            f"{x}→{y}": int(n) for (x, y), n in changed.groupby(["class_a", "class_b"]).size().items()
        },
        "newly_covered": int(counties["newly_covered"].sum()),
        "no_longer_covered": int(counties["no_longer_covered"].sum()),
        "capacity_a": int(counties["capacity_a"].sum()),
        "capacity_b": int(counties["capacity_b"].sum()),
    }


def _public(record: dict) -> dict:
    return {k: record.get(k) for k in ("id", "name", "owner", "created_at")}


def _fa(key: str) -> str:
    return words(key)[0]


#: The comparison workbook's words in Persian (``lang="fa"``): headers and summary items, with
#: "(پایه)" / "(سناریو)" for the base (a) and the scenario (b); English keeps the column codes.
#: A word the plan page or the downloads say too is theirs.
COMPARISON_HEADERS_FA = {
    "county_code": HEADERS["county_code"][0],
    "county_name_fa": _fa("county"),
    "county_name_en": "نام انگلیسی شهرستان",
    "province_code": HEADERS["province_code"][0],
    "service_type": _fa("service"),
    "scope": "گستره",
    "target_population": HEADERS["target_population"][0],
    "ngos": HEADERS["ngos"][0],
    "capacity": _fa("capacity"),
    "ratio_to_norm": _fa("ratio_to_norm"),
    "class": _fa("class"),
    "class_changed": _fa("class_change"),
    "covered_share": "سهم جمعیت هدف در پوشش",
    "newly_covered": _fa("newly_covered_short"),
    "no_longer_covered": "دیگر در پوشش نیست",
    "access_share": _fa("access_share"),
    "access_change": _fa("access_change"),
    "gini": _fa("gini"),
    "theil": _fa("theil"),
    "theil_between_provinces": _fa("theil_between"),
    "theil_within_provinces": "تایل درون استان‌ها",
    "mean_access_share": "میانگین دسترسی نسبت به هنجار",
    "gini_change": "تغییر ضریب جینی",
    "theil_change": "تغییر شاخص تایل",
    "mean_access_share_change": "تغییر میانگین دسترسی",
    "services": "خدمات",
    "counties_changing_class": _fa("counties_changing"),
    "class_changes": "تغییرهای وضعیت",
    "notice": "یادآوری",
    "item": "مورد",
    "value": "مقدار",
    "a": _fa("compare_a"),
    "b": _fa("compare_b"),
    "cost_a": _fa("cost_a"),
    "cost_b": _fa("cost_b"),
    "cost_difference": _fa("cost_difference"),
    "cost_per_newly_covered": _fa("cost_per_newly_covered"),
    "cost_currency": _fa("cost_currency"),
    "cost_table": _fa("cost_table"),
    "costs_synthetic": _fa("costs_synthetic"),
    "side": _fa("cost_side"),
    "action": _fa("cost_action"),
    "licence_no": _fa("licence_no"),
    "settlement_code": HEADERS["settlement_code"][0],
    "quantity": _fa("cost_quantity"),
    "unit": _fa("cost_unit"),
    "unit_cost": _fa("unit_cost"),
    "cost": _fa("cost"),
}
_SIDES_FA = {"_a": " (پایه)", "_b": " (سناریو)"}
_SHEETS_FA = {"summary": "خلاصه", "counties": "شهرستان‌ها", "equity": "برابری دسترسی", "costs": _fa("costs")}
_ACTIONS_FA = {
    a: _fa(f"action_{a}")
    for a in ("new_centre", "new_places", "capacity_increase", "capacity_decrease", "closure", "outreach")
}
_UNITS_FA = {"centre": "مرکز", "place": "ظرفیت", "km": "کیلومتر"}
_CLASSES_FA = {c: _fa(f"class_{c}") for c in ("underserved", "balanced", "saturated")}
_SCOPES_FA = {"national": _fa("national"), "province": "استانی"}


def _header_fa(column: str) -> str:
    if column in COMPARISON_HEADERS_FA:
        return COMPARISON_HEADERS_FA[column]
    base, side = column[:-2], column[-2:]
    if side in _SIDES_FA and base in COMPARISON_HEADERS_FA:
        return COMPARISON_HEADERS_FA[base] + _SIDES_FA[side]
    return column


def _persian(frame: pd.DataFrame, labels: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """A comparison table with Persian headers and Persian labels for its coded values."""
    out = frame.copy()
    for column in out.columns:
        if column.startswith("class_") and column != "class_changed" and column != "class_changes":
            out[column] = out[column].map(lambda v: _CLASSES_FA.get(v, v))
    if "class_changed" in out:
        out["class_changed"] = out["class_changed"].map({True: "بله", False: "نه"})
    if "service_type" in out:
        out["service_type"] = out["service_type"].map(lambda v: labels.get(v, (v,))[0])
    if "scope" in out:
        out["scope"] = out["scope"].map(lambda v: _SCOPES_FA.get(v, v))
    if "action" in out:
        out["action"] = out["action"].map(lambda v: _ACTIONS_FA.get(v, v))
        out["unit"] = out["unit"].map(lambda v: _UNITS_FA.get(v, v))
        out["side"] = out["side"].map({"a": COMPARISON_HEADERS_FA["a"], "b": COMPARISON_HEADERS_FA["b"]})
    return out.rename(columns={c: _header_fa(c) for c in out.columns})


def comparison_workbook(
    result: Comparison,
    a: dict,
    b: dict,
    counties: pd.DataFrame,
    path: Path,
    notice: str = "",
    *,
    lang: str = "en",
    labels: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES,
) -> Path:
    """The comparison as an XLSX workbook: summary, counties, equity, costs (each side's priced
    changes; names in Persian and English); in Persian (``lang="fa"``) its sheets, headers, classes and service types too."""
    from exchange.formats import tabular

    names = counties[["county_code", "name_fa", "name_en"]].rename(
        columns={"name_fa": "county_name_fa", "name_en": "county_name_en"}
    )
    table = result.counties.merge(names, on="county_code", how="left")
    first = ["county_code", "county_name_fa", "county_name_en", "province_code", "service_type"]
    table = table[first + [c for c in table.columns if c not in first]]
    fa = lang == "fa"

    def named(record: dict) -> str:
        name = "وضع کنونی" if fa and record["id"] == TODAY else record["name"]
        return f"{name} ({record['id']})"

    def value(key: str, v: object) -> object:
        if fa and key == "class_changes" and isinstance(v, dict):
            v = {"→".join(_CLASSES_FA.get(c, c) for c in change.split("→")): n for change, n in v.items()}
        if fa and key == "services" and isinstance(v, list):
            v = [labels.get(code, (code,))[0] for code in v]
        return json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v

    items = [("a", named(a)), ("b", named(b)), *((k, value(k, v)) for k, v in result.summary.items())]
    items.append(("notice", notice))
    if fa:
        items = [(_header_fa(k), v) for k, v in items]
    summary = pd.DataFrame(items, columns=["item", "value"])
    sheets = {"summary": summary, "counties": table, "equity": result.equity}
    if result.costs is not None:
        sheets["costs"] = result.costs
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for sheet, frame in sheets.items():
            out = _persian(frame, labels) if fa else frame
            tabular(out).to_excel(xl, sheet_name=_SHEETS_FA[sheet] if fa else sheet, index=False)
    return path


@dataclass(frozen=True)
class SitingOptions:
    """How to site: the options of ``geo.siting.site_centres`` beyond the service, the number
    of sites and where. Both interfaces read them from what they were given (``of``)."""

    model: str = "mclp"
    capacity: int | None = None
    capacitated: bool = False
    cap_km: float | None = None
    cap_min: float | None = None
    method: str = "auto"
    time_limit: float = 60.0
    #: the most the new centres may cost, in the norms' cost table's currency (None: no budget)
    budget: float | None = None

    @classmethod
    def of(cls, given: object) -> SitingOptions:
        """The options carried as attributes of ``given``: an HTTP request's body, the command
        line's arguments."""
        return cls(**{f.name: getattr(given, f.name) for f in fields(cls)})


def site(
    analysis: Analysis,
    service_type: str,
    k: int,
    options: SitingOptions,
    province: str | None = None,
    candidates: list[str] | None = None,
):
    """Site ``k`` new centres of ``service_type`` (``geo.siting.site_centres``) with ``options``."""
    from geo.siting import site_centres

    chosen = {f.name: getattr(options, f.name) for f in fields(SitingOptions)}
    return site_centres(analysis, service_type, k, province=province, candidates=candidates, **chosen)
