"""Imports of a user's layer into a store: all rows or none, with a report of every rejected row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import shapely

from exchange.boundary import read_untrusted
from exchange.formats import ImportFileError, neutralise_formulas
from exchange.limits import Limits, get_limits
from exchange.validation import ValidationResult, validate_import
from geo.crs import IRAN_BOUNDS
from geo.errors import ImportRejected as ImportRejected
from geo.errors import InputError
from geo.schema import layer
from geo.shapes import GeometryLimits
from store.base import Store


@dataclass
class ImportOutcome:
    layer: str
    mode: str
    rows: int
    result: ValidationResult


def iran_outline(store: Store) -> shapely.Geometry:
    """Iran's outline from the store's provinces, or its bounding box before any are loaded."""
    if "provinces" in store.list_layers():
        provinces = store.read_layer("provinces")
        return shapely.union_all(shapely.simplify(provinces.geometry.to_numpy(), 0.005))
    return shapely.box(*IRAN_BOUNDS)


def geometry_limits(limits: Limits) -> GeometryLimits:
    return GeometryLimits(
        max_vertices=limits.max_vertices_per_feature,
        max_depth=limits.max_geometry_depth,
        county_tolerance_m=limits.county_tolerance_m,
        area_km2=dict(limits.area_km2),
    )


def validate_file(
    store: Store,
    layer_name: str,
    path: Path,
    *,
    mode: str = "replace",
    source_layer: str | None = None,
    limits: Limits | None = None,
) -> ValidationResult:
    """Read ``path`` through the import boundary and check it for ``layer_name`` against the
    store's current contents."""
    limits = limits or get_limits()
    spec = layer(layer_name)
    if mode not in ("replace", "append"):
        raise InputError(f"mode must be replace or append, not {mode!r}")
    try:
        raw = read_untrusted(path, layer=source_layer, limits=limits)
    except ImportFileError as err:
        rejected = pd.DataFrame(
            [(None, "file", Path(path).name, err.reason, err.user_message)],
            columns=["row", "field", "value", "reason", "message"],
        ).astype({"row": "Int64"})
        empty = rejected.iloc[:0]
        return ValidationResult(spec.name, None, rejected, empty, 0)
    present = store.list_layers()
    counties = county_shapes = None
    if "county_code" in spec.column_names and spec.name != "counties" and "counties" in present:
        stored = store.read_layer("counties")
        counties = pd.DataFrame(stored[["county_code", "name_fa", "province_code"]])
        if spec.geometry_type not in (None, "Point"):
            county_shapes = stored.set_index("county_code").geometry
    existing = None
    if mode == "append" and spec.name in present:
        existing = pd.DataFrame(store.read_layer(spec.name)[spec.key.split(",")])
    iran = iran_outline(store) if spec.geometry_type else None
    return validate_import(
        raw,
        spec.name,
        counties=counties,
        existing_keys=existing,
        iran=iran,
        county_shapes=county_shapes,
        limits=geometry_limits(limits),
    )


def import_file(
    store: Store,
    layer_name: str,
    path: Path,
    *,
    mode: str = "replace",
    source_layer: str | None = None,
    limits: Limits | None = None,
) -> ImportOutcome:
    """Import ``path`` into layer ``layer_name``: every row, or none and ``ImportRejected``."""
    result = validate_file(store, layer_name, path, mode=mode, source_layer=source_layer, limits=limits)
    if not result.ok:
        raise ImportRejected(result)
    with store.transaction() as tx:
        if mode == "replace":
            tx.write_layer(layer_name, result.frame)
        else:
            tx.append(layer_name, result.frame)
    return ImportOutcome(layer_name, mode, len(result.frame), result)


def write_report(result: ValidationResult, path: Path) -> Path:
    """The rejected and repaired rows as CSV (UTF-8 with BOM, so that Excel shows Persian)."""
    report = pd.concat([result.rejected, result.repaired], ignore_index=True)
    neutralise_formulas(report.astype(object)).to_csv(path, index=False, encoding="utf-8-sig")
    return Path(path)
