"""Checking a user's layer before it is imported: every rejected row with its reason.

``validate_import`` takes what a file held (a GeoDataFrame, or a DataFrame with ``lon``/``lat``
or ``wkt`` columns for tables) and returns either a frame that conforms to the layer's schema or
the full list of rejections. It never writes anything: the caller imports all or nothing.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import jdatetime
import numpy as np
import pandas as pd
import shapely
from pandas.api.types import infer_dtype
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.catalogue import DELIVERY_MODES, labels_of
from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.names import match_each, normalize_name, normalize_text
from geo.schema import (
    DEFAULT_SERVICE_TYPES,
    LICENCE_STATUSES,
    SETTLEMENT_KINDS,
    Column,
    Layer,
    conform,
    layer,
)
from geo.shapes import GeometryLimits, area_km2, non_finite, outside_county, wkt_problem

#: Reason codes of a rejection, and what each means.
REASONS: Mapping[str, str] = {
    "crs_missing": "the file does not say its coordinate reference system",
    "crs_unknown": "the coordinate reference system is not one we know",
    "missing_column": "a required column is absent",
    "required_missing": "a required value is empty",
    "wrong_type": "the value is not of the column's type",
    "value_out_of_range": "the value is below the allowed minimum",
    "bad_format": "the value does not have the required format",
    "unknown_service_type": "not a service of the catalogue (the norms' [services])",
    "mode_not_offered": "the service is not delivered in this mode (the catalogue's modes)",
    "unknown_status": "not a known licence status",
    "unknown_value": "not one of the allowed values",
    "unknown_county": "no such county (by code or name)",
    "bad_date": "not a Jalali or Gregorian date",
    "dates_order": "the expiry date is not after the issue date",
    "duplicate_key": "the key appears more than once in the file",
    "key_exists": "the key is already in the store (append)",
    "empty_geometry": "no geometry",
    "invalid_geometry": "the geometry is not valid",
    "geometry_type": "the geometry is not of the layer's type",
    "unrepairable_polygon": "the polygon is invalid and repairing it would change its area by 0.1% or more",
    "coordinates_swapped": "longitude and latitude are swapped",
    "outside_iran": "the location is outside Iran",
    "non_finite_coordinates": "a coordinate is NaN or infinite",
    "too_many_vertices": "the geometry has more vertices than the limit per feature",
    "geometry_too_deep": "the geometry nests collections deeper than the limit",
    "outside_county": "the polygon reaches beyond its county (more than the tolerance)",
    "implausible_area": "the polygon is far smaller or larger than such an area can be",
    "no_position": "no coordinates, settlement code or village/city name with its county",
    "unknown_settlement": "no settlement of that code, or of that name in the county",
    "ambiguous_settlement": "several settlements of the county have that name (candidates listed)",
    "county_needed": "a village or city name needs its county",
    "duplicate_centre": "the same centre (name, settlement and service) twice, or already stored under another licence",
    "other_province": "a row of a province outside the user's",
    "unknown_centre": "no centre with this licence number in the registry",
    "unknown_grade": "not a grade of the norms' scale",
    "future_date": "the evaluation's date is in the future",
    "evaluation_exists": "this centre's evaluation of that day is already recorded",
    "unknown_speciality": "not a speciality of the norms",
    "group_inconsistent": "the same group's rows differ in its name, place or whether it is active",
    "half_point": "a point needs both longitude and latitude",
}

#: A polygon is repaired only when that changes its area by less than this share.
REPAIR_TOLERANCE = 0.001

# Values a user's file may leave out, per layer, and what they become.
_DEFAULTS: Mapping[str, Mapping[str, object]] = {
    "counties": {"population_source": "imported", "boundary_source": "imported", "parent_county_code": None},
    "settlements": {"population_source": "imported", "position_source": "imported"},
    "ngos": {"synthetic": False, "position_source": "file"},
    "target_areas": {"synthetic": False},
    "county_needs": {"synthetic": False},
    "ngo_evaluations": {"synthetic": False},
    "volunteer_groups": {"synthetic": False, "settlement_code": None, "lon": None, "lat": None},
}

_LABELS = {
    "service_type": ("unknown_service_type", DEFAULT_SERVICE_TYPES),  # the catalogue's, given
    "delivery_mode": ("unknown_value", DELIVERY_MODES),
    "status": ("unknown_status", LICENCE_STATUSES),
    "kind": (
        "unknown_value",
        {**SETTLEMENT_KINDS, "urban": ("شهری", "Urban"), "rural": ("روستایی", "Rural")},
    ),
}
_LON = ("lon", "lng", "long", "longitude", "x")
_LAT = ("lat", "latitude", "y")
_TRUE = {"true", "1", "yes", "y", "t", "بله", "درست"}
_FALSE = {"false", "0", "no", "n", "f", "خیر", "نادرست"}
_DIGITS = str.maketrans(
    {**{chr(0x06F0 + i): str(i) for i in range(10)}, **{chr(0x0660 + i): str(i) for i in range(10)}}
)
_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
# Spreadsheet formula neutralisation written by our exports: "'=..." is read back as "=...".
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")
#: The reason of an empty cell in ``_parse_column`` (reported only where a value is required).
_EMPTY = "empty"


@dataclass
class ValidationResult:
    """The outcome of ``validate_import``: a conforming frame, or the rows that were rejected."""

    layer: str
    frame: pd.DataFrame | None
    rejected: pd.DataFrame
    repaired: pd.DataFrame
    rows: int = 0
    notes: list[str] = field(default_factory=list)
    #: The rows as checked, after NGO rows were placed by settlement (``exchange.placement``).
    placed: pd.DataFrame | None = None
    #: When rows were rejected: the other rows, conformed (indexed by row - 1), for a preview.
    accepted: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return self.rejected.empty


class _Report:
    def __init__(self) -> None:
        self.rejected: list[tuple] = []
        self.repaired: list[tuple] = []

    def reject(self, row: int | None, fld: str, value: object, reason: str, message: str) -> None:
        self.rejected.append((row, fld, _show(value), reason, message))

    def repair(self, row: int, fld: str, value: object, message: str) -> None:
        self.repaired.append((row, fld, _show(value), "repaired", message))

    def file_level(self) -> bool:
        """Whether the file as a whole was refused (then rows are not checked one by one)."""
        return any(r[0] is None for r in self.rejected)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        cols = ["row", "field", "value", "reason", "message"]
        rej = pd.DataFrame(self.rejected, columns=cols).astype({"row": "Int64"})
        rep = pd.DataFrame(self.repaired, columns=cols).astype({"row": "Int64"})
        return rej.sort_values(["row", "field"], kind="stable", ignore_index=True), rep


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_date(value: object) -> pd.Timestamp | None:
    """Parse a Jalali (year before 1700) or Gregorian date; ``None`` if it is neither.

    Accepts ``YYYY-MM-DD``, ``YYYY/MM/DD`` and ``YYYY.MM.DD`` with Latin or Persian digits, and
    datetime values as spreadsheets and GDAL give them (a year before 1700 is read as Jalali
    there too: no licence was issued in 1402 AD).
    """
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "year"):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return None
        if ts.year >= 1700:
            return ts.normalize().tz_localize(None)
        # A reader (GDAL, a spreadsheet) took a Jalali date for a Gregorian one: 1402-01-15.
        y, mo, d = ts.year, ts.month, ts.day
    else:
        m = _DATE.match(str(value).translate(_DIGITS))
        if not m:
            return None
        y, mo, d = (int(g) for g in m.groups())
    try:
        if y < 1700:
            g = jdatetime.date(y, mo, d).togregorian()
            return pd.Timestamp(g.year, g.month, g.day)
        return pd.Timestamp(y, mo, d)
    except ValueError:
        return None


def label_map(choices: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    out = {}
    for code, (fa, en) in choices.items():
        for label in (code, fa, en):
            out[normalize_name(label).lower()] = code
    return out


def validate_import(
    raw: pd.DataFrame,
    layer_name: str,
    *,
    counties: pd.DataFrame | None = None,
    existing_keys: pd.DataFrame | None = None,
    iran: shapely.Geometry | None = None,
    county_shapes: gpd.GeoSeries | None = None,
    limits: GeometryLimits | None = None,
    services: Mapping | None = None,
) -> ValidationResult:
    """Check a user's rows for layer ``layer_name`` and conform them to the schema.

    Parameters
    ----------
    raw
        What the file held, one row per record. Spatial layers: a GeoDataFrame with a CRS, or a
        table with ``lon``/``lat`` (WGS 84) or ``wkt`` columns.
    counties
        The store's counties (``county_code``, ``name_fa``, ``province_code``): county codes are
        checked against them, and a ``county_name`` column is matched to them by name.
    existing_keys
        Keys already in the store, when appending.
    iran
        Iran's outline (lon/lat); locations outside it (allowing a 10 km margin) are refused.
    county_shapes
        The store's county boundaries (lon/lat, indexed by county code): a polygon must lie
        within the county it names, up to ``limits.county_tolerance_m``.
    limits
        Vertices and nesting per feature, the county tolerance and plausible areas per layer.
    services
        The catalogue (``Norms.services``): a service type must be one of its codes or names,
        and a delivery mode one of its service's modes. Default: the default catalogue.

    Returns
    -------
    ValidationResult
        ``frame`` conforms to the schema when ``rejected`` is empty; otherwise ``frame`` is
        ``None`` and ``rejected`` lists every row, field, value and reason (see ``REASONS``).
    """
    spec = layer(layer_name)
    limits = limits or GeometryLimits()
    report = _Report()
    data = raw.copy()
    data.columns = [str(c).strip().lower() for c in data.columns]
    data = data.reset_index(drop=True)
    # Shapefiles cut field names to 10 characters: accept our own short names and GDAL's cuts.
    renames = {}
    for col in spec.columns:
        if col.name not in data.columns:
            for alias in (col.shp_name, col.name[:10]):
                if alias in data.columns and alias not in spec.column_names:
                    renames[alias] = col.name
                    break
    data = data.rename(columns=renames)
    rows = pd.Series(np.arange(1, len(data) + 1), index=data.index)
    notes: list[str] = []

    geometry = None
    if spec.geometry_type is not None:
        geometry, data = _geometry_of(data, report, notes, limits)

    if not report.file_level():
        _defaults(data, spec, counties)
        missing = [c.name for c in spec.columns if c.name not in data.columns and not c.nullable]
        for name in missing:
            report.reject(None, name, "", "missing_column", f"the file has no column {name!r}")
        for c in spec.columns:
            if c.nullable and c.name not in data.columns:
                data[c.name] = None

    if not report.file_level():
        names = DEFAULT_SERVICE_TYPES if services is None else labels_of(services)
        for col in spec.columns:
            data[col.name] = _parse_column(data[col.name], col, rows, report, names)
        if counties is not None and "county_code" in spec.column_names:
            _check_counties(data, rows, counties, report)
        if spec.name == "ngos" and services is not None:
            _check_modes(data, rows, services, report)
        if spec.name == "ngos":
            bad = (
                data["issued_on"].notna()
                & data["expires_on"].notna()
                & (data["expires_on"] <= data["issued_on"])
            )
            for i in data.index[bad]:
                report.reject(
                    rows[i],
                    "expires_on",
                    data.at[i, "expires_on"].date(),
                    "dates_order",
                    f"row {rows[i]}: expires_on {data.at[i, 'expires_on'].date()} is not after "
                    f"issued_on {data.at[i, 'issued_on'].date()}",
                )
        _check_keys(data, spec, rows, existing_keys, report)
        if geometry is not None:
            geometry = _check_geometry(geometry, spec, rows, iran, report, limits)
            _check_extent(data, geometry, spec, rows, county_shapes, limits, report)

    rejected, repaired = report.frames()
    if not rejected.empty:
        out = ValidationResult(spec.name, None, rejected, repaired, len(raw), notes)
        if not report.file_level():
            out.accepted = _accepted(data, geometry, rows, rejected, spec)
        return out
    if geometry is not None:
        data = gpd.GeoDataFrame(data, geometry=geometry.to_numpy(), crs=STORAGE_CRS)
    return ValidationResult(spec.name, conform(data, spec), rejected, repaired, len(raw), notes)


def _accepted(
    data: pd.DataFrame, geometry: gpd.GeoSeries | None, rows: pd.Series, rejected: pd.DataFrame, spec: Layer
) -> pd.DataFrame | None:
    """The rows that were not rejected, conformed (what they would write): a preview's map."""
    keep = ~rows.isin(set(rejected["row"].dropna().astype(int))).to_numpy()
    if not keep.any():
        return None
    part = data[keep]
    if geometry is not None:
        part = gpd.GeoDataFrame(part, geometry=geometry[keep].to_numpy(), crs=STORAGE_CRS)
    try:
        return conform(part, spec)
    except (ValueError, TypeError):  # a value that only a rejected row's neighbour explains
        return None


def _geometry_of(
    data: pd.DataFrame, report: _Report, notes: list[str], limits: GeometryLimits
) -> tuple[gpd.GeoSeries | None, pd.DataFrame]:
    """The geometry of the rows, and the rows without the columns it was made of."""
    if isinstance(data, gpd.GeoDataFrame) and data.geometry.name in data.columns:
        if data.crs is None:
            report.reject(
                None,
                "geometry",
                "",
                "crs_missing",
                "the file does not say its coordinate reference system (a shapefile needs its .prj)",
            )
            return None, data
        try:
            crs = CRS.from_user_input(data.crs)
        except CRSError:
            report.reject(None, "geometry", str(data.crs), "crs_unknown", f"unknown CRS {data.crs}")
            return None, data
        geoms = data.geometry
        if not crs.equals(STORAGE_CRS):
            notes.append(f"reprojected from {crs.to_string()} to EPSG:4326")
            geoms = geoms.to_crs(STORAGE_CRS)
        plain = pd.DataFrame(data.drop(columns=data.geometry.name))
        return gpd.GeoSeries(geoms.to_numpy(), index=data.index, crs=STORAGE_CRS), plain
    lon = next((c for c in _LON if c in data.columns), None)
    lat = next((c for c in _LAT if c in data.columns), None)
    if lon and lat:
        x = pd.to_numeric(
            data[lon].map(lambda v: str(v).translate(_DIGITS) if v is not None else v), errors="coerce"
        )
        y = pd.to_numeric(
            data[lat].map(lambda v: str(v).translate(_DIGITS) if v is not None else v), errors="coerce"
        )
        xs, ys = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
        finite = np.isfinite(xs) & np.isfinite(ys)
        geoms = np.full(len(xs), None, dtype=object)
        geoms[finite] = shapely.points(xs[finite], ys[finite])
        blank = data[lon].map(is_missing) & data[lat].map(is_missing)  # reported as empty_geometry
        for i in np.flatnonzero(~finite & ~blank.to_numpy()):
            report.reject(
                int(i) + 1,
                f"{lon}/{lat}",
                f"{data[lon].iloc[i]}, {data[lat].iloc[i]}",
                "invalid_geometry",
                f"row {i + 1}: coordinates are not numbers",
            )
        return gpd.GeoSeries(geoms, index=data.index, crs=STORAGE_CRS), data.drop(columns=[lon, lat])
    if "wkt" in data.columns:
        geoms = []
        for i, text in enumerate(data["wkt"]):
            if isinstance(text, str) and text.strip():
                # Look at the text before GEOS parses it: deep nesting crashes its reader.
                problem = wkt_problem(text, limits.max_depth, limits.max_vertices)
                if problem is not None:
                    geoms.append(None)
                    report.reject(i + 1, "wkt", text, problem[0], f"row {i + 1}: {problem[1]}")
                    continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # NaN coordinates: reported below
                    geoms.append(shapely.from_wkt(text) if isinstance(text, str) and text.strip() else None)
            except shapely.errors.GEOSException:
                geoms.append(None)
                report.reject(i + 1, "wkt", text, "invalid_geometry", f"row {i + 1}: not well-known text")
        return gpd.GeoSeries(geoms, index=data.index, crs=STORAGE_CRS), data.drop(columns=["wkt"])
    report.reject(
        None,
        "geometry",
        "",
        "missing_column",
        "the file has no geometry: give lon and lat columns (WGS 84) or a wkt column",
    )
    return None, data


def _defaults(data: pd.DataFrame, spec: Layer, counties: pd.DataFrame | None) -> None:
    for name, value in _DEFAULTS.get(spec.name, {}).items():
        if name not in data.columns:
            data[name] = value
    if (
        "county_code" in spec.column_names
        and "county_code" not in data.columns
        and "county_name" in data.columns
    ):
        data["county_code"] = None  # filled from the name in _check_counties
    if "province_code" in spec.column_names and "province_code" not in data.columns and counties is not None:
        data["province_code"] = None  # filled from the county in _check_counties


def _parse_column(
    values: pd.Series,
    col: Column,
    rows: pd.Series,
    report: _Report,
    services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES,
) -> pd.Series:
    # A registry repeats its values (service types, statuses, dates, counties): each distinct
    # text or number is checked and parsed once.
    cells = values.to_numpy(dtype=object)
    parse = _parse_texts if infer_dtype(cells, skipna=True) in ("string", "empty") else _parse_cells
    return parse(cells, values.index, rows.to_numpy(), _rules(col, services), report)


@dataclass(frozen=True)
class _Rules:
    """How a column's cells are read: the labels that name its codes, the digits of a code (a
    spreadsheet drops its leading zeros) and whether it must be given."""

    col: Column
    labels: dict[str, str] | None
    width: int | None
    required: bool

    def parse(self, value: object) -> tuple[object, str | None]:
        """A cell's value and None, or None and why it was refused (``_EMPTY``: it is missing)."""
        return (None, _EMPTY) if is_missing(value) else _parse_value(value, self.col, self.labels, self.width)

    def reject(self, report: _Report, n: int, value: object, reason: str) -> None:
        """Report row ``n``'s cell ``value``, refused for ``reason`` (``_EMPTY``: only if required)."""
        name = self.col.name
        if reason is _EMPTY:
            if self.required:
                report.reject(n, name, "", "required_missing", f"row {n}: {name} is empty")
        else:
            report.reject(n, name, value, reason, f"row {n}: {name} = {_show(value)!r}: {REASONS[reason]}")


def _rules(col: Column, services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES) -> _Rules:
    if col.name == "service_type":
        labels: dict[str, str] | None = label_map(services)
    else:
        labels = label_map(_LABELS[col.name][1]) if col.name in _LABELS and col.choices else None
    fixed = re.fullmatch(r"\\d\{(\d+)\}", col.pattern) if col.dtype == "str" and col.pattern else None
    required = not col.nullable and col.name not in ("county_code", "province_code")
    return _Rules(col, labels, int(fixed.group(1)) if fixed else None, required)


def _parse_cells(
    cells: np.ndarray, index: pd.Index, numbers: np.ndarray, rules: _Rules, report: _Report
) -> pd.Series:
    """``_parse_column`` of cells of any kind (a spreadsheet's numbers, dates, booleans and text):
    each distinct value of each type parsed once."""
    memo: dict[tuple[type, object], tuple[object, str | None]] = {}
    out = np.full(len(cells), None, dtype=object)
    for j, v in enumerate(cells):
        key = (type(v), v) if isinstance(v, (str, int, float)) else None  # a tuple: faster than a union
        found = memo.get(key) if key is not None else None
        if found is None:
            found = rules.parse(v)
            if key is not None and found[1] is not _EMPTY:  # NaN is never equal to itself: not kept
                memo[key] = found
        parsed, reason = found
        if reason is None:
            out[j] = parsed
        else:
            rules.reject(report, numbers[j], v, reason)
    return pd.Series(out, index=index, dtype="object")


def _parse_texts(
    cells: np.ndarray, index: pd.Index, numbers: np.ndarray, rules: _Rules, report: _Report
) -> pd.Series:
    """``_parse_cells`` of cells that are all text or missing (a CSV's), faster: the distinct texts
    found at C speed (``pd.factorize``), each parsed once; the same answers and reports, in order."""
    codes, distinct = pd.factorize(cells)  # None and NaN: code -1
    found = [rules.parse(v) for v in distinct]
    found.append((None, _EMPTY))  # at position -1: the missing cells
    parsed = np.empty(len(found), dtype=object)
    for k, (value, _) in enumerate(found):
        parsed[k] = value
    said = np.array([reason is not None for _, reason in found], dtype=bool)
    out = parsed[codes]
    for j in np.flatnonzero(said[codes]):
        rules.reject(report, numbers[j], cells[j], found[codes[j]][1])
    return pd.Series(out, index=index, dtype="object")


def _check_modes(data: pd.DataFrame, rows: pd.Series, services: Mapping, report: _Report) -> None:
    """A centre's delivery mode must be one its service is delivered in (``ServiceNorm.modes``)."""
    for i in data.index[data["delivery_mode"].notna() & data["service_type"].notna()]:
        service, mode = data.at[i, "service_type"], data.at[i, "delivery_mode"]
        offered = services[service].modes if service in services else ()
        if mode not in offered:
            report.reject(
                rows[i],
                "delivery_mode",
                mode,
                "mode_not_offered",
                f"row {rows[i]}: {service} is delivered {', '.join(offered)}, not {mode}",
            )


def is_missing(v: object) -> bool:
    """Whether a cell of a user's file is empty: None, NaN/NA, or a string of white space."""
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def cell_text(v: object) -> str:
    """A text cell as it is stored: a neutralised formula's quote removed, Persian letters for
    Arabic yeh and kaf, NFC, trimmed (checks that compare a cell with stored values use it too)."""
    text = str(v)
    if text[:1] == "'":  # a spreadsheet's neutralised formula (_NEUTRALISED)
        text = _NEUTRALISED.sub("", text)
    return text.strip() if text.isascii() else normalize_text(text)  # ASCII: NFC already


def _parse_value(
    v: object, col: Column, labels: dict[str, str] | None, width: int | None = None
) -> tuple[object, str | None]:
    """``v`` parsed for ``col``, or the reason it cannot be; ``width``: the digits of a code."""
    if col.dtype == "str":
        text = cell_text(v)
        if width is not None and text.isdigit():  # a code: Persian or Arabic digits read as ASCII
            text = text.translate(_DIGITS).zfill(width)
        if labels is not None:
            code = labels.get(normalize_name(text).lower())
            return (code, None) if code else (None, _LABELS[col.name][0])
        if col.choices is not None and text not in col.choices:
            return None, "unknown_value"
        if col.pattern and not re.fullmatch(col.pattern, text):
            return None, "bad_format"
        return text, None
    if col.dtype in ("int", "float"):
        text = str(v).translate(_DIGITS).replace(",", "").strip()
        try:
            number = float(text)
        except ValueError:
            return None, "wrong_type"
        if not np.isfinite(number) or (col.dtype == "int" and number != int(number)):
            return None, "wrong_type"
        if col.minimum is not None and number < col.minimum:
            return None, "value_out_of_range"
        return (int(number) if col.dtype == "int" else number), None
    if col.dtype == "bool":
        if isinstance(v, bool | np.bool_):
            return bool(v), None
        text = str(v).strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, "wrong_type"
    if col.dtype in ("date", "datetime"):
        parsed = parse_date(v)
        return (parsed, None) if parsed is not None else (None, "bad_date")
    raise AssertionError(col.dtype)  # pragma: no cover


def _check_counties(data: pd.DataFrame, rows: pd.Series, counties: pd.DataFrame, report: _Report) -> None:
    known = counties.set_index("county_code")["province_code"]
    if "county_name" in data.columns:
        need = data["county_code"].isna() & data["county_name"].notna()
        if need.any():
            names = data.loc[need, "county_name"].astype(str)
            m = match_each(
                names, pd.Series(counties["name_fa"].to_numpy(), index=counties["county_code"].to_numpy())
            )
            ok = (m["status"] == "matched").to_numpy()
            data.loc[m.index[ok], "county_code"] = m["right"][ok].to_numpy()
            for i, status in m["status"][~ok].items():
                report.reject(
                    rows[i],
                    "county_name",
                    data.at[i, "county_name"],
                    "unknown_county",
                    f"row {rows[i]}: county name {data.at[i, 'county_name']!r} is {status}",
                )
    named_wrong = {r[0] for r in report.rejected if r[1] in ("county_code", "county_name")}
    codes = data["county_code"]
    empty = codes.isna()
    for i in codes.index[empty.to_numpy()]:
        if rows[i] not in named_wrong:
            report.reject(
                rows[i], "county_code", "", "required_missing", f"row {rows[i]}: county_code is empty"
            )
    unknown = ~empty & ~codes.isin(known.index)
    for i in codes.index[unknown.to_numpy()]:
        code = codes[i]
        report.reject(
            rows[i], "county_code", code, "unknown_county", f"row {rows[i]}: no county with code {code}"
        )
    if "province_code" in data.columns:
        fill = (~empty & ~unknown & data["province_code"].isna()).to_numpy()
        data["province_code"] = data["province_code"].astype(object)
        data.loc[fill, "province_code"] = known.reindex(codes[fill]).to_numpy()


def _check_keys(
    data: pd.DataFrame, spec: Layer, rows: pd.Series, existing: pd.DataFrame | None, report: _Report
) -> None:
    keys = spec.key.split(",")
    key_values = data[keys[0]].astype(object).where(data[keys[0]].notna(), "").map(str)
    for k in keys[1:]:
        key_values = key_values + "|" + data[k].astype(object).where(data[k].notna(), "").map(str)
    present = data[keys].notna().all(axis=1)
    dup = key_values.duplicated(keep=False) & present
    for value, idx in key_values[dup].groupby(key_values[dup]).groups.items():
        where = ", ".join(str(rows[i]) for i in idx)
        for i in idx:
            report.reject(
                rows[i],
                spec.key,
                value,
                "duplicate_key",
                f"row {rows[i]}: {spec.key} {value} also in rows {where}",
            )
    if existing is not None and len(existing):
        parts = existing[keys].astype(str)
        joined = parts[keys[0]]
        for k in keys[1:]:
            joined = joined + "|" + parts[k]
        stored = set(joined)
        numbers, texts = rows.to_numpy(), key_values.to_numpy()
        for j in np.flatnonzero((key_values.isin(stored) & present).to_numpy()):
            n, value = numbers[j], texts[j]
            report.reject(
                n, spec.key, value, "key_exists", f"row {n}: {spec.key} {value} is already in the store"
            )


def _check_geometry(
    geoms: gpd.GeoSeries,
    spec: Layer,
    rows: pd.Series,
    iran: shapely.Geometry | None,
    report: _Report,
    limits: GeometryLimits,
) -> gpd.GeoSeries:
    values = geoms.to_numpy(dtype=object).copy()
    present = ~shapely.is_missing(values)
    filled = np.where(present, values, shapely.Point())
    finite_bad = non_finite(filled)
    want_point = spec.geometry_type == "Point"
    margin = None
    if iran is not None:
        # 10 km of margin for coastal places and boundary generalisation.
        margin = (
            gpd.GeoSeries([iran], crs=STORAGE_CRS).to_crs(METRIC_CRS).buffer(10_000).to_crs(STORAGE_CRS)[0]
        )
        shapely.prepare(margin)
    already = {r[0] for r in report.rejected if r[1] in ("wkt",) or "/" in r[1]}
    numbers = rows.reindex(geoms.index).to_numpy()
    # The rows nothing is said of, found for all rows at once (a national layer: 100,000 rows);
    # the others go through the checks below one by one, in order, as each explains its reason.
    if want_point:
        single = (shapely.get_type_id(filled) == 4) & (shapely.get_num_geometries(filled) == 1)
        values[single] = shapely.get_geometry(filled[single], 0)  # a MultiPoint of one point
        filled = np.where(present, values, shapely.Point())
        quiet = present & ~shapely.is_empty(filled) & (shapely.get_type_id(filled) == 0) & ~finite_bad
        probes = filled
    else:
        quiet = (
            present
            & ~shapely.is_empty(filled)
            & np.isin(shapely.get_type_id(filled), (3, 6))  # Polygon, MultiPolygon
            & ~finite_bad
            & (shapely.get_num_coordinates(filled) <= limits.max_vertices)
        )
        quiet[quiet] = shapely.is_valid(filled[quiet])
        probes = np.full(len(filled), None, dtype=object)
        if margin is not None:
            probes[quiet] = shapely.point_on_surface(filled[quiet])  # as representative_point
    if margin is not None and quiet.any():
        quiet[quiet] = shapely.contains_xy(margin, shapely.get_x(probes[quiet]), shapely.get_y(probes[quiet]))
    if already:
        quiet &= ~np.isin(numbers, list(already))
    for position in np.flatnonzero(~quiet):
        g, row = values[position], numbers[position]
        if row in already:
            continue
        if g is None or g.is_empty:
            report.reject(row, "geometry", "", "empty_geometry", f"row {row}: no geometry")
            continue
        if want_point and g.geom_type == "MultiPoint" and len(g.geoms) == 1:
            g = g.geoms[0]
        if (want_point and g.geom_type != "Point") or (
            not want_point and g.geom_type not in ("Polygon", "MultiPolygon")
        ):
            report.reject(
                row,
                "geometry",
                g.geom_type,
                "geometry_type",
                f"row {row}: a {g.geom_type}, expected {spec.geometry_type}",
            )
            continue
        if finite_bad[position]:
            report.reject(
                row,
                "geometry",
                shapely.to_wkt(g, rounding_precision=6)[:80],
                "non_finite_coordinates",
                f"row {row}: a coordinate is NaN or infinite",
            )
            continue
        if not want_point and shapely.get_num_coordinates(g) > limits.max_vertices:
            report.reject(
                row,
                "geometry",
                g.geom_type,
                "too_many_vertices",
                f"row {row}: {shapely.get_num_coordinates(g):,} vertices; at most "
                f"{limits.max_vertices:,} per feature are accepted",
            )
            continue
        if not want_point and not g.is_valid:
            fixed = shapely.make_valid(g)
            polys = [
                p for p in getattr(fixed, "geoms", [fixed]) if p.geom_type in ("Polygon", "MultiPolygon")
            ]
            fixed = shapely.union_all(polys) if polys else shapely.Polygon()
            before = g.area  # the shoelace area the file describes
            change = abs(fixed.area - before) / before if before else 1.0
            if fixed.is_empty or change >= REPAIR_TOLERANCE:
                report.reject(
                    row,
                    "geometry",
                    shapely.is_valid_reason(g),
                    "unrepairable_polygon",
                    f"row {row}: invalid polygon ({shapely.is_valid_reason(g)}); repair would change "
                    f"its area by {change:.2%}",
                )
                continue
            report.repair(
                row,
                "geometry",
                shapely.is_valid_reason(g),
                f"row {row}: repaired an invalid polygon ({shapely.is_valid_reason(g)}); "
                f"area changed by {change:.4%}",
            )
            g = fixed
        if margin is not None:
            probe = g if want_point else g.representative_point()
            if not margin.contains(probe):
                swapped = shapely.Point(probe.y, probe.x)
                if margin.contains(swapped):
                    report.reject(
                        row,
                        "geometry",
                        f"{probe.x:.5f}, {probe.y:.5f}",
                        "coordinates_swapped",
                        f"row {row}: ({probe.x:.5f}, {probe.y:.5f}) lies outside Iran but "
                        "(lat, lon) read the other way round lies inside: swap the columns",
                    )
                else:
                    report.reject(
                        row,
                        "geometry",
                        f"{probe.x:.5f}, {probe.y:.5f}",
                        "outside_iran",
                        f"row {row}: ({probe.x:.5f}, {probe.y:.5f}) is outside Iran",
                    )
                continue
        values[position] = g
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs)


def _check_extent(
    data: pd.DataFrame,
    geoms: gpd.GeoSeries,
    spec: Layer,
    rows: pd.Series,
    county_shapes: gpd.GeoSeries | None,
    limits: GeometryLimits,
    report: _Report,
) -> None:
    """Polygons: a plausible area for the layer, and within the county they name."""
    if spec.geometry_type == "Point":
        return
    # Rows whose geometry is unusable are skipped; a polygon only placed outside Iran is measured.
    placed = ("outside_iran", "coordinates_swapped")
    rejected = {
        r[0] for r in report.rejected if (r[1] in ("geometry", "wkt") or "/" in r[1]) and r[3] not in placed
    }
    ok = np.array(
        [rows[i] not in rejected and g is not None and not g.is_empty for i, g in geoms.items()], dtype=bool
    )
    if not ok.any():
        return
    index = geoms.index[ok]
    shapes = geoms[ok].to_numpy()
    bounds = limits.area_km2.get(spec.name)
    if bounds is not None:
        low, high = bounds
        areas = area_km2(shapes)
        for i, a in zip(index, areas, strict=True):
            if not (low <= a <= high):
                report.reject(
                    rows[i],
                    "geometry",
                    f"{a:,.4f} km²",
                    "implausible_area",
                    f"row {rows[i]}: an area of {a:,.4f} km² is not plausible for {spec.name} "
                    f"(between {low:,} and {high:,} km²)",
                )
    if county_shapes is not None and "county_code" in data.columns and spec.name != "counties":
        codes = data.loc[index, "county_code"].to_numpy()
        beyond = outside_county(shapes, codes, county_shapes, limits.county_tolerance_m)
        for i, code in zip(index[beyond], codes[beyond], strict=True):
            report.reject(
                rows[i],
                "geometry",
                code,
                "outside_county",
                f"row {rows[i]}: the polygon reaches more than {limits.county_tolerance_m:,.0f} m outside "
                f"county {code}",
            )
