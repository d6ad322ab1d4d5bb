"""Imports of a user's layer into a store: all rows or none, with a report of every rejected row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from exchange.boundary import read_untrusted
from exchange.formats import ImportFileError, neutralise_formulas
from exchange.limits import Limits, get_limits
from exchange.placement import county_codes, duplicate_centres, place_rows
from exchange.templates import rename_headers
from exchange.validation import ValidationResult, cell_text, is_missing, validate_import
from geo.crs import IRAN_BOUNDS
from geo.errors import ImportRejected as ImportRejected
from geo.errors import InputError
from geo.norms import RatingScale, VolunteerNorms
from geo.ratings import evaluation_rejections, normalise_grades
from geo.schema import layer
from geo.shapes import GeometryLimits
from geo.volunteers import volunteer_rejections
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
        return outline_of(store.read_layer("provinces"))
    return shapely.box(*IRAN_BOUNDS)


def outline_of(provinces: gpd.GeoDataFrame) -> shapely.Geometry:
    """The country's outline from its provinces (simplified to about 500 m: 0.14 s to make)."""
    return shapely.union_all(shapely.simplify(provinces.geometry.to_numpy(), 0.005))


def geometry_limits(limits: Limits) -> GeometryLimits:
    return GeometryLimits(
        max_vertices=limits.max_vertices_per_feature,
        max_depth=limits.max_geometry_depth,
        county_tolerance_m=limits.county_tolerance_m,
        area_km2=dict(limits.area_km2),
    )


def file_refused(layer_name: str, name: str, err: ImportFileError) -> ValidationResult:
    """The result of a file refused as a whole (``row`` empty)."""
    rejected = pd.DataFrame(
        [(None, "file", name, err.reason, err.user_message)],
        columns=["row", "field", "value", "reason", "message"],
    ).astype({"row": "Int64"})
    return ValidationResult(layer(layer_name).name, None, rejected, rejected.iloc[:0], 0)


def read_rows(
    path: Path, layer_name: str, *, source_layer: str | None = None, limits: Limits | None = None
) -> pd.DataFrame:
    """What the file holds, read through the import boundary, with its headers named by the
    layer's columns (``exchange.templates.rename_headers``); ``ImportFileError`` if refused."""
    layer(layer_name)
    raw = read_untrusted(path, layer=source_layer, limits=limits or get_limits())
    return rename_headers(_without_trailing_blanks(raw), layer_name)


def _without_trailing_blanks(raw: pd.DataFrame) -> pd.DataFrame:
    """Without the empty rows at the end of a sheet (a template's formatted but unused rows);
    empty rows between data rows stay, so that row numbers are the sheet's."""
    if isinstance(raw, gpd.GeoDataFrame) or raw.empty:
        return raw
    cells = raw.to_numpy(dtype=object)
    end = len(cells)
    while end and all(map(is_missing, cells[end - 1])):  # from the end: a sheet's data ends there
        end -= 1
    return raw.iloc[:end]


def check_rows(
    store: Store,
    layer_name: str,
    raw: pd.DataFrame,
    *,
    mode: str = "replace",
    limits: Limits | None = None,
    provinces: frozenset[str] | None = None,
    cache: dict | None = None,
    ratings: RatingScale | None = None,
    today: dt.date | None = None,
    new_evaluations: bool = True,
    volunteers: VolunteerNorms | None = None,
    services: Mapping | None = None,
) -> ValidationResult:
    """Check rows read from a file for ``layer_name`` against the store's current contents.

    ``services`` is the catalogue (``Norms.services``) a service type and a delivery mode are
    checked against (default: the default catalogue's service types, modes unchecked).

    NGO rows without coordinates are placed at the settlement they name (``exchange.placement``);
    the same centre twice is rejected; with ``provinces`` (a licensing officer's), a row of
    another province is rejected. ``result.placed`` holds the rows as placed. ``cache`` (a dict)
    keeps the layers read from the store for a second call on the same store version.

    Evaluations (``ngo_evaluations``) need the norms' scale (``ratings``): each row's centre must
    be in the registry (and in ``provinces``), its grade on the scale, its date not after
    ``today`` (Tehran's day by default) and not already recorded for the centre; its province is
    the centre's. ``new_evaluations=False`` restores or replaces the layer whole (a saved
    version, ``--replace``): rows already recorded are then no fault, and without a scale the
    grades are not checked.

    Volunteer groups (``volunteer_groups``) need the norms' specialities (``volunteers``): each
    row's county must be known (and, with ``provinces``, one of them), its speciality one of the
    norms', its settlement one of its county, its members zero or more, the same group and
    speciality once, and a group's rows must agree (``geo.volunteers.volunteer_rejections``).
    """

    def stored(name: str):
        if cache is None:
            return store.read_layer(name)
        if name not in cache:
            cache[name] = store.read_layer(name)
        return cache[name]

    limits = limits or get_limits()
    spec = layer(layer_name)
    if mode not in ("replace", "append"):
        raise InputError(f"mode must be replace or append, not {mode!r}")
    present = store.list_layers()
    counties = county_shapes = None
    stored_counties = None
    if "county_code" in spec.column_names and spec.name != "counties" and "counties" in present:
        stored_counties = stored("counties")
        counties = pd.DataFrame(stored_counties[["county_code", "name_fa", "province_code"]])
        if spec.geometry_type not in (None, "Point"):
            county_shapes = stored_counties.set_index("county_code").geometry
    extra: list[tuple] = []
    data = raw
    if spec.name == "ngos" and not isinstance(raw, gpd.GeoDataFrame):
        if "settlements" in present and counties is not None:
            settlements = stored("settlements")[["settlement_code", "name_fa", "county_code", "geometry"]]
            data, extra = place_rows(raw, settlements, counties)
        stored_ngos = stored("ngos") if "ngos" in present else None
        extra += duplicate_centres(data, stored_ngos, services)
        if provinces is not None and counties is not None:
            extra += _other_provinces(data, counties, provinces, stored_ngos)
    evaluations = spec.name == "ngo_evaluations"
    if evaluations:
        if ratings is None and new_evaluations:
            raise InputError("the norms have no rating scale ([ratings]): evaluations cannot be imported")
        stored_ngos = stored("ngos") if "ngos" in present else None
        data = pd.DataFrame(raw).copy()
        data.columns = [str(c).strip().lower() for c in data.columns]
        for name in ("licence_no", "grade"):
            if name not in data.columns:
                data[name] = None
        data["licence_no"] = data["licence_no"].map(lambda v: None if pd.isna(v) else cell_text(v))
        if ratings is not None:
            data["grade"] = normalise_grades(data["grade"], ratings)
        province_of = (
            {}
            if stored_ngos is None
            else dict(zip(stored_ngos["licence_no"], stored_ngos["province_code"], strict=True))
        )
        data["province_code"] = data["licence_no"].map(province_of)
    volunteer_groups = spec.name == "volunteer_groups"
    if volunteer_groups:
        if volunteers is None and new_evaluations:
            raise InputError("the norms have no [volunteers] table: volunteer groups cannot be imported")
        data = pd.DataFrame(raw).copy()
        data.columns = [str(c).strip().lower() for c in data.columns]
        if "speciality" in data.columns:
            data["speciality"] = data["speciality"].map(
                lambda v: None if pd.isna(v) else str(v).strip().lower()
            )
        if "group_id" in data.columns:
            data["group_id"] = data["group_id"].map(lambda v: None if pd.isna(v) else cell_text(v))
        if provinces is not None and counties is not None:
            extra += _other_provinces(data, counties, provinces, None)
    existing = None
    if mode == "append" and spec.name in present:
        existing = pd.DataFrame(stored(spec.name)[spec.key.split(",")])
    if spec.geometry_type and cache is not None and "iran" not in cache:
        cache["iran"] = iran_outline(store)
    iran = (cache["iran"] if cache is not None else iran_outline(store)) if spec.geometry_type else None
    result = validate_import(
        data,
        spec.name,
        counties=counties,
        existing_keys=existing,
        iran=iran,
        county_shapes=county_shapes,
        limits=geometry_limits(limits),
        services=services,
    )
    result.placed = data
    if evaluations:
        parsed = result.frame if result.frame is not None else result.accepted
        dates = pd.Series(pd.NaT, index=data.index, dtype="datetime64[ms]")
        if parsed is not None:
            dates.loc[parsed.index] = parsed["evaluated_on"].to_numpy()
        checked = data.assign(evaluated_on=dates)
        extra += evaluation_rejections(
            checked,
            stored("ngos") if "ngos" in present else None,
            ratings,
            today=today or tehran_today(),
            stored=stored(spec.name) if spec.name in present and new_evaluations else None,
            provinces=provinces,
        )
    if volunteer_groups:
        extra += volunteer_rejections(
            data,
            volunteers,
            stored("settlements") if "settlements" in present else None,
            stored=stored(spec.name) if spec.name in present else None,
            provinces=provinces,
        )
    if extra:
        placed_rows = {
            r[0]
            for r in extra
            if r[3] in ("no_position", "unknown_settlement", "ambiguous_settlement", "county_needed")
        }
        rejected = result.rejected
        keep = ~(rejected["row"].isin(placed_rows) & (rejected["reason"] == "empty_geometry"))
        more = pd.DataFrame(extra, columns=["row", "field", "value", "reason", "message"]).astype(
            {"row": "Int64"}
        )
        result.rejected = pd.concat([rejected[keep], more], ignore_index=True).sort_values(
            ["row", "field"], kind="stable", ignore_index=True
        )
        if result.frame is not None:
            result.accepted = result.frame
        result.frame = None
    if result.accepted is not None:
        bad = set(result.rejected["row"].dropna().astype(int))
        accepted = result.accepted[~(result.accepted.index.to_series() + 1).isin(bad).to_numpy()]
        result.accepted = accepted.reset_index(drop=True) if len(accepted) else None
    return result


def tehran_today() -> dt.date:
    """Today's date in Iran (UTC+03:30, no daylight saving since 2022): what "in the future"
    means to a user typing an evaluation's date."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3, minutes=30)).date()


def _other_provinces(
    data: pd.DataFrame, counties: pd.DataFrame, provinces: frozenset[str], stored: pd.DataFrame | None
) -> list[tuple]:
    """Rows a licensing officer may not import: another province's, or a licence number that
    belongs to a centre of another province."""
    province_of = counties.set_index("county_code")["province_code"]
    codes = county_codes(data, counties)
    out = []
    for n, (_i, code) in enumerate(codes.items(), start=1):
        if code is not None and not pd.isna(code) and province_of[code] not in provinces:
            out.append(
                (
                    n,
                    "county_code",
                    str(code),
                    "other_province",
                    f"row {n}: county {code} is in province {province_of[code]}, not one of yours "
                    f"({', '.join(sorted(provinces))})",
                )
            )
    if stored is not None and "licence_no" in data.columns:
        theirs = set(stored.loc[~stored["province_code"].isin(provinces), "licence_no"])
        for n, value in enumerate(data["licence_no"], start=1):
            # as validation will store it: a number spelled with Arabic kaf or yeh, or quoted as a
            # formula, is the same centre's
            text = (
                None if value is None or (isinstance(value, float) and pd.isna(value)) else cell_text(value)
            )
            if text in theirs:
                out.append(
                    (
                        n,
                        "licence_no",
                        text,
                        "other_province",
                        f"row {n}: licence {text} belongs to a centre outside your provinces",
                    )
                )
    return out


def validate_file(
    store: Store,
    layer_name: str,
    path: Path,
    *,
    mode: str = "replace",
    source_layer: str | None = None,
    limits: Limits | None = None,
    ratings: RatingScale | None = None,
    new_evaluations: bool = True,
    volunteers: VolunteerNorms | None = None,
    services: Mapping | None = None,
) -> ValidationResult:
    """Read ``path`` through the import boundary and check it for ``layer_name`` against the
    store's current contents (evaluations: see ``check_rows``)."""
    limits = limits or get_limits()
    layer(layer_name)
    if mode not in ("replace", "append"):
        raise InputError(f"mode must be replace or append, not {mode!r}")
    try:
        raw = read_rows(path, layer_name, source_layer=source_layer, limits=limits)
    except ImportFileError as err:
        return file_refused(layer_name, Path(path).name, err)
    return check_rows(
        store,
        layer_name,
        raw,
        mode=mode,
        limits=limits,
        ratings=ratings,
        new_evaluations=new_evaluations,
        volunteers=volunteers,
        services=services,
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
