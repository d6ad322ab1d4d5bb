"""Versions of the county divisions: reading them from a store or a snapshot, importing a new
version from a user's file (all or nothing, with a report, audited), and carrying a county table
from one version to another.

Both doors use it: ``amayesh import-hierarchy`` and ``POST /hierarchy/versions``. A new version
is added beside the others in one transaction (its units and changes appended, the versions'
list rewritten with the base version closed the day before the new one begins); nothing is
written when any row is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from exchange.formats import ImportFileError, neutralise_formulas
from exchange.hierarchy import parse_division_rows, read_division_file, template_rows
from exchange.limits import Limits
from geo.errors import HierarchyRejected as HierarchyRejected
from geo.errors import InputError, StoreError
from geo.hierarchy import (
    VERSION_ID,
    Hierarchy,
    county_of,
    problems_frame,
    reaggregate,
    validate_versions,
    version_from_rows,
)
from maps.i18n import jalali_date
from store.backup import frame_checksum
from store.base import Store

LAYER_NAMES = ("hierarchy_versions", "hierarchy_units", "hierarchy_changes")

#: Reason code -> Persian explanation (the English ones: ``geo.hierarchy.REASONS`` and the
#: import boundary's ``exchange.boundary.FILE_REASONS``).
REASONS_FA = {
    "bad_code": "کد شهرستان چهار رقم است: دو رقم استان و دو رقم شهرستان",
    "duplicate_code": "این کد بیش از یک بار آمده است",
    "unknown_province": "دو رقم نخست کد، استان شناخته‌ای نیست",
    "required_missing": "مقدار لازم خالی است",
    "unknown_parent": "شهرستان مادر در نسخهٔ پایه نیست",
    "no_parent": "شهرستانی که در نسخهٔ پایه نیست شهرستان مادر می‌خواهد",
    "code_taken": "این کد از آنِ شهرستانی از نسخهٔ پایه است که می‌ماند؛ شهرستان تازه کد تازه می‌خواهد",
    "bad_share": "سهم عددی بیش از صفر و حداکثر یک است (ادغام سهم نمی‌خواهد)",
    "share_missing": "شهرستانی که میان چند ردیف بخش شده در هر ردیف سهم می‌خواهد",
    "shares_sum": "جمع سهم‌های این شهرستانِ نسخهٔ پایه یک نیست",
    "unit_dropped": "شهرستانی از نسخهٔ پایه نه مانده و نه به شهرستان دیگری رسیده است",
    "bad_date": "تاریخ شمسی یا میلادی درستی نیست",
    "dates_differ": "همهٔ ردیف‌های یک نسخه یک تاریخ آغاز دارند",
    "dates_order": "نسخه باید پس از نسخهٔ پایه‌اش آغاز شود",
    "bad_version_id": "شناسهٔ نسخه از حروف کوچک لاتین، رقم و خط تیره است",
    "version_exists": "نسخه‌ای با این شناسه هست",
    "unknown_base": "نسخهٔ پایه نیست",
    "cycle": "نسخه نمی‌تواند پایهٔ خودش باشد",
    "empty_version": "فایل هیچ شهرستانی ندارد",
    "missing_column": "ستون لازم در فایل نیست",
    "format": "قالب فایل پذیرفته نیست",
}
_DIGITS_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_FIELDS_FA = {
    "code": "کد شهرستان",
    "name_fa": "نام",
    "parent": "شهرستان مادر",
    "valid_from": "معتبر از",
    "share": "سهم",
    "version_id": "شناسهٔ نسخه",
    "base_version_id": "نسخهٔ پایه",
    "file": "فایل",
}


def _rejected(problems: pd.DataFrame, rows: int) -> HierarchyRejected:
    return HierarchyRejected(with_persian(problems), rows)


def with_persian(problems: pd.DataFrame) -> pd.DataFrame:
    """The problems with a Persian message beside the English one."""
    out = problems.copy()
    out["message_fa"] = [
        f"{'فایل' if pd.isna(r.row) else 'ردیف ' + str(int(r.row)).translate(_DIGITS_FA)}: "
        f"{_FIELDS_FA.get(r.field, r.field)}{' «' + r.value + '»' if r.value else ''}: "
        f"{REASONS_FA.get(r.reason, r.reason)}"
        for r in out.itertuples()
    ]
    return out


def hierarchy_from_layers(layers: Mapping[str, pd.DataFrame]) -> Hierarchy | None:
    """The versions held by a snapshot's or a store's layers (None: the store has none)."""
    if any(name not in layers for name in LAYER_NAMES):
        return None
    return Hierarchy(layers["hierarchy_versions"], layers["hierarchy_units"], layers["hierarchy_changes"])


def hierarchy_of_store(store: Store) -> Hierarchy | None:
    present = store.list_layers()
    if any(name not in present for name in LAYER_NAMES):
        return None
    return hierarchy_from_layers({name: store.read_layer(name) for name in LAYER_NAMES})


def require(hierarchy: Hierarchy | None) -> Hierarchy:
    if hierarchy is None:
        raise StoreError(
            "the store holds no division versions; build the demo, or import a first version "
            "(amayesh import-hierarchy)",
            code="no-hierarchy",
        )
    return hierarchy


def latest_open(hierarchy: Hierarchy) -> str:
    """The version a new one is made from by default: the open one that began last."""
    versions = hierarchy.versions
    open_ = versions[versions["valid_to"].isna()]
    pool = open_ if len(open_) else versions
    return str(pool.sort_values(["valid_from", "version_id"]).iloc[-1]["version_id"])


@dataclass(frozen=True)
class ImportedVersion:
    version_id: str
    base_version_id: str
    valid_from: dt.date
    units: int
    changes: int
    closed_base: bool
    record: dict


def check_division_file(
    store: Store,
    path: Path,
    *,
    version_id: str,
    name_fa: str,
    name_en: str | None,
    base: str | None,
    limits: Limits | None = None,
) -> tuple[Hierarchy, pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Read and check a division file against the store's versions.

    Returns the current hierarchy, the new version's row, units and changes, and the number of
    rows; raises ``HierarchyRejected`` with every problem (nothing is written)."""
    hierarchy = require(hierarchy_of_store(store))
    base = base or latest_open(hierarchy)
    try:
        raw = read_division_file(path, limits)
    except ImportFileError as err:
        problem = (None, "file", Path(path).name, err.reason, err.user_message)
        raise _rejected(problems_frame([problem]), 0) from None
    rows, problems = parse_division_rows(raw)
    found = list(problems.itertuples(index=False, name=None))
    if not VERSION_ID.match(version_id or ""):
        found.append(
            (None, "version_id", version_id, "bad_version_id", f"version id {version_id!r} is not valid")
        )
    if version_id in set(hierarchy.versions["version_id"]):
        found.append(
            (None, "version_id", version_id, "version_exists", f"a version {version_id!r} exists already")
        )
    if not (name_fa or "").strip():
        found.append(
            (None, "name_fa", "", "required_missing", "the version needs a Persian name (--name-fa)")
        )
    if base not in set(hierarchy.versions["version_id"]):
        found.append((None, "base_version_id", base, "unknown_base", f"no base version {base!r}"))
        raise _rejected(problems_frame(found), len(rows))
    provinces = set(hierarchy.units["province_code"])
    if "provinces" in store.list_layers():
        provinces |= set(store.read_layer("provinces")["province_code"])
    units, changes, version_problems = version_from_rows(
        rows, hierarchy.units_of(base), provinces, version_id
    )
    found += list(version_problems.itertuples(index=False, name=None))
    days = [d for d in rows["valid_from"] if d is not None and not pd.isna(d)] if len(rows) else []
    valid_from = pd.Series(days).mode().min() if days else None
    version = pd.DataFrame(
        [
            {
                "version_id": version_id,
                "name_fa": (name_fa or "").strip(),
                "name_en": (name_en or "").strip() or None,
                "valid_from": valid_from,
                "valid_to": None,
                "base_version_id": base,
                "source": f"imported from {Path(path).name}",
            }
        ]
    )
    if valid_from is not None:
        ordered = validate_versions(
            pd.concat([hierarchy.versions, version], ignore_index=True).assign(
                row=[None] * len(hierarchy.versions) + [None]
            )
        )
        found += [p for p in ordered.itertuples(index=False, name=None) if p[3] == "dates_order"]
    problems = problems_frame(found).drop_duplicates(
        subset=["row", "field", "value", "reason"], ignore_index=True
    )
    if len(problems):
        raise _rejected(problems, len(rows))
    changes = changes.drop(columns="row").assign(source=f"imported from {Path(path).name}")
    return hierarchy, version, units.drop(columns="row"), changes, len(rows)


def import_division_version(
    store: Store,
    path: Path,
    *,
    version_id: str,
    name_fa: str,
    name_en: str | None,
    base: str | None,
    actor: str,
    audit: Callable[..., None],
    via: str,
    limits: Limits | None = None,
) -> ImportedVersion:
    """Import a new division version from ``path``: every row or none; audited either way.

    ``audit(actor, action, target, old, new)`` records one row of the audit trail (``via``: cli
    or http). ``HierarchyRejected`` lists every problem; the store is untouched then."""
    sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None
    try:
        hierarchy, version, units, changes, n = check_division_file(
            store, path, version_id=version_id, name_fa=name_fa, name_en=name_en, base=base, limits=limits
        )
    except HierarchyRejected as err:
        audit(
            actor,
            f"import.hierarchy.{via}.rejected",
            f"hierarchy:{version_id}",
            None,
            {
                "file": Path(path).name,
                "file_sha256": sha256,
                "rejected_rows": int(err.problems["row"].nunique()),
            },
        )
        raise
    base_id = str(version["base_version_id"].iloc[0])
    valid_from = pd.Timestamp(version["valid_from"].iloc[0])
    versions = hierarchy.versions.copy()
    is_base = versions["version_id"] == base_id
    closed = bool(versions.loc[is_base, "valid_to"].isna().any())
    if closed:
        versions.loc[is_base, "valid_to"] = valid_from - pd.Timedelta(days=1)
    before = frame_checksum(hierarchy.versions)
    new_versions = pd.concat([versions, version], ignore_index=True)
    with store.transaction() as tx:
        tx.write_layer("hierarchy_versions", new_versions)
        tx.append("hierarchy_units", units)
        if len(changes):
            tx.append("hierarchy_changes", changes)
    record = {
        "version_id": version_id,
        "base_version_id": base_id,
        "valid_from": valid_from.date().isoformat(),
        "file": Path(path).name,
        "file_sha256": sha256,
        "rows": n,
        "units": len(units),
        "changes": len(changes),
        "closed_base": closed,
        "by": actor,
        "via": via,
    }
    audit(actor, f"import.hierarchy.{via}", f"hierarchy:{version_id}", {"versions_sha256": before}, record)
    return ImportedVersion(version_id, base_id, valid_from.date(), len(units), len(changes), closed, record)


# ---- answers ----------------------------------------------------------------------------------


def version_summaries(hierarchy: Hierarchy) -> list[dict]:
    """Every version with its counts, oldest first."""
    out = []
    counts = hierarchy.units.groupby("version_id").size()
    changes = hierarchy.changes.groupby("version_id").size()
    for v in hierarchy.versions.sort_values(["valid_from", "version_id"]).itertuples():
        out.append(
            {
                "version_id": v.version_id,
                "name_fa": v.name_fa,
                "name_en": None if pd.isna(v.name_en) else v.name_en,
                "valid_from": pd.Timestamp(v.valid_from).date().isoformat(),
                "valid_to": None if pd.isna(v.valid_to) else pd.Timestamp(v.valid_to).date().isoformat(),
                "valid_from_fa": jalali_date(pd.Timestamp(v.valid_from).date(), "fa"),
                "valid_to_fa": None
                if pd.isna(v.valid_to)
                else jalali_date(pd.Timestamp(v.valid_to).date(), "fa"),
                "base_version_id": None if pd.isna(v.base_version_id) else v.base_version_id,
                "source": v.source,
                "counties": int(counts.get(v.version_id, 0)),
                "changes": int(changes.get(v.version_id, 0)),
            }
        )
    return out


def county_table_in_version(
    table: pd.DataFrame,
    hierarchy: Hierarchy,
    from_version: str,
    to_version: str,
    weights: pd.Series | None = None,
) -> pd.DataFrame:
    """A county table (``county_code`` and numeric columns; several rows per county, e.g. one per
    service type, with ``by``) carried to ``to_version``, with the counties' names there."""
    keys = [c for c in table.columns if c != "county_code" and not pd.api.types.is_numeric_dtype(table[c])]
    numbers = [c for c in table.columns if c not in keys and c != "county_code"]
    parts = []
    groups = table.groupby(keys, sort=True) if keys else [((), table)]
    for key, part in groups:
        figures = part.set_index("county_code")[numbers]
        carried = reaggregate(figures, from_version, to_version, hierarchy, weights).reset_index()
        key = key if isinstance(key, tuple) else (key,)
        for name, value in zip(keys, key, strict=True):
            carried.insert(1, name, value)
        parts.append(carried)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=table.columns)
    names = hierarchy.units_of(to_version).set_index("county_code")
    out.insert(1, "province_code", out["county_code"].map(names["province_code"]))
    out.insert(2, "name_fa", out["county_code"].map(names["name_fa"]))
    return out


def figures_version(hierarchy: Hierarchy, county_codes) -> str | None:
    """The version whose counties are exactly the store's (its county figures are in it): the
    latest such; None if none is."""
    codes = set(county_codes)
    matching = [
        v
        for v in hierarchy.versions.sort_values(["valid_from", "version_id"])["version_id"]
        if set(hierarchy.units_of(v)["county_code"]) == codes
    ]
    return matching[-1] if matching else None


#: The county tables of the store that can be carried between versions: whole numbers that add up.
TABLES = {"population": ("counties", ["population"]), "county_needs": ("county_needs", ["target_population"])}


@dataclass(frozen=True)
class Carried:
    rows: pd.DataFrame
    from_version: str
    totals: dict[str, int]


def reaggregate_table(
    hierarchy: Hierarchy,
    layers: Mapping[str, pd.DataFrame],
    table: str,
    from_version: str | None,
    to_version: str,
) -> Carried:
    """The store's county table ``table`` (``TABLES``) carried from ``from_version`` (the version
    the store's counties are in: ``figures_version``) to ``to_version``. ``layers`` are the
    caller's: a province-scoped view holds its provinces' figures only, and those of other
    provinces count as none."""
    hierarchy.version(to_version)
    if from_version is None:
        raise InputError(
            "the store's counties are those of no division version: import the version they are in first",
            code="no-figures-version",
        )
    layer_name, columns = TABLES[table]
    frame = pd.DataFrame(layers[layer_name])
    keys = ["county_code", *(["service_type"] if "service_type" in frame.columns else [])]
    figures = frame[keys + columns].astype({c: "int64" for c in columns})
    rows = county_table_in_version(figures, hierarchy, from_version, to_version)
    totals = {c: int(rows[c].sum()) for c in columns}
    return Carried(rows=rows, from_version=from_version, totals=totals)


def version_csv(hierarchy: Hierarchy, version_id: str, table: str) -> bytes:
    """A version's counties or changes as CSV (UTF-8 with BOM, formulas neutralised)."""
    frame = hierarchy.units_of(version_id) if table == "units" else hierarchy.changes_of(version_id)
    return table_csv(frame, [("version", version_id), ("table", table)])


def table_csv(frame: pd.DataFrame, about) -> bytes:
    """A table as CSV with ``#`` lines of how it was made first; names a user imported cannot
    run as spreadsheet formulas."""
    safe = neutralise_formulas(pd.DataFrame(frame).astype(object).where(frame.notna(), None))
    lines = "".join(f"# {k}: {v}\n" for k, v in about)
    return ("\ufeff" + lines + safe.to_csv(index=False)).encode("utf-8")


def template_csv() -> bytes:
    return ("\ufeff" + template_rows().to_csv(index=False)).encode("utf-8")


def problem_records(problems: pd.DataFrame) -> list[dict]:
    """The problems as JSON-safe records (row null for the whole file)."""
    out = []
    for r in problems.itertuples():
        out.append(
            {
                "row": None if pd.isna(r.row) else int(r.row),
                "field": str(r.field),
                "value": str(r.value),
                "reason": str(r.reason),
                "message": str(r.message),
                "message_fa": str(r.message_fa),
            }
        )
    return out


def boundaries_by_version(layers: Mapping[str, pd.DataFrame]) -> dict[str, gpd.GeoSeries]:
    """The stored boundaries of changed counties, per version (indexed by county code)."""
    frame = layers.get("hierarchy_boundaries")
    if frame is None or not len(frame):
        return {}
    return {
        str(v): gpd.GeoSeries(part.geometry.to_numpy(), index=part["county_code"].to_numpy(), crs=frame.crs)
        for v, part in frame.groupby("version_id")
    }


def settlement_in_versions(
    hierarchy: Hierarchy,
    settlement: gpd.GeoDataFrame,
    known_version: str,
    boundaries: Mapping[str, gpd.GeoSeries],
) -> list[dict]:
    """One settlement's county in every version, oldest first, and how it was found."""
    out = []
    for v in version_summaries(hierarchy):
        try:
            found = county_of(settlement, known_version, v["version_id"], hierarchy, boundaries)
        except InputError:  # a version of another tree: no way there
            continue
        code = str(found["county_code"].iloc[0])
        units = hierarchy.units_of(v["version_id"]).set_index("county_code")
        out.append(
            {
                "version_id": v["version_id"],
                "name_fa": v["name_fa"],
                "name_en": v["name_en"],
                "valid_from": v["valid_from"],
                "valid_to": v["valid_to"],
                "county_code": code,
                "county_name_fa": units["name_fa"].get(code),
                "county_name_en": None if pd.isna(units["name_en"].get(code)) else units["name_en"].get(code),
                "method": str(found["method"].iloc[0]),
            }
        )
    return out
