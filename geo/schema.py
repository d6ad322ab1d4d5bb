"""The layers of Amayesh and their columns: one place that says what a county, a settlement, an NGO is.

Every store, import, export and map reads its column names, types and key from here. Shapefile
field names (at most 10 characters) are declared beside each column so that exports for desktop
GIS are predictable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo.catalogue import DEFAULT_SERVICES, DELIVERY_MODES, SERVICE_CODE
from geo.errors import SchemaError, UnknownLayerError


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # one of: str, int, float, bool, date, datetime
    description: str
    shp: str | None = None  # shapefile field name when ``name`` is longer than 10 characters
    nullable: bool = False
    choices: tuple[str, ...] | None = None  # the only values allowed
    minimum: int | None = None  # the smallest value allowed
    pattern: str | None = None  # a regular expression the whole value must match

    @property
    def shp_name(self) -> str:
        return self.shp or self.name


@dataclass(frozen=True)
class Layer:
    name: str
    title_fa: str
    title_en: str
    key: str
    geometry_type: str | None  # "Point", "MultiPolygon", or None for a table
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


#: The default catalogue's services: code -> (Persian label, English label). The services in use
#: are the norms' (``Norms.service_types``, ``geo.catalogue``): a deployment may add or rename
#: them; these are what a new norms file starts from and what the demo draws.
DEFAULT_SERVICE_TYPES: Mapping[str, tuple[str, str]] = {
    code: (fa, en) for code, (fa, en, _, _) in DEFAULT_SERVICES.items()
}

LICENCE_STATUSES: Mapping[str, tuple[str, str]] = {
    "active": ("فعال", "Active"),
    "suspended": ("تعلیق", "Suspended"),
    "expired": ("منقضی", "Expired"),
    "pending": ("در دست بررسی", "Pending"),
}

SETTLEMENT_KINDS: Mapping[str, tuple[str, str]] = {
    "city": ("شهر", "City"),
    "village": ("روستا", "Village"),
}

#: ``imported`` marks values that came from a user's own file (see ``amayesh import``).
POSITION_SOURCES = (
    "gazetteer",  # a real point: the settlement matched to a Who's On First / GeoNames place
    "geonames",  # a real point: matched to a GeoNames city (cities500), which gives a population
    "correction",  # a real point an administrator gave (corrections file)
    "near_rural_district",  # approximate: near the matched villages of its rural district
    "near_district",  # approximate: near the matched settlements of its district
    "near_county",  # approximate: near the matched settlements of its county
    "synthetic",  # drawn at random inside its county (older demo builds)
    "imported",  # from a user's settlement table
)
#: How far a settlement's point may be from the real place: ``exact`` (a gazetteer point given
#: to 3 or more decimals), ``low`` (given to 1–2 decimals: 1–10 km), ``approximate`` (not a real
#: point: placed near its neighbours).
POSITION_PRECISIONS = ("exact", "low", "approximate")
#: How a centre's point was obtained: from the file's coordinates, or from the settlement its
#: row names by code or by name (never a county's centroid).
NGO_POSITION_SOURCES = ("file", "settlement_code", "settlement_name", "synthetic")
#: ``synthetic``: the county's 1395 census population shared among its settlements by drawn
#: weights (the census published no village figures); ``geonames``: GeoNames' figure.
POPULATION_SOURCES = ("geonames", "geonames_scaled", "synthetic", "imported")
COUNTY_POPULATION_SOURCES = ("census_1395", "census_1395_parent_share", "imported")

_province_code = Column(
    "province_code", "str", "Statistical Centre province code, 2 digits", "prov_code", pattern=r"\d{2}"
)
_county_code = Column(
    "county_code", "str", "Statistical Centre county code, 4 digits", "cnty_code", pattern=r"\d{4}"
)
_synthetic = Column("synthetic", "bool", "True where the row is generated demo data, not real", "synthetic")

#: A service type: one of the catalogue's (the norms' ``[services]``), checked against it where a
#: file or a request names one; the store only holds the code's shape.
_service_type = Column(
    "service_type",
    "str",
    "a service of the catalogue (the norms' [services])",
    "service",
    pattern=SERVICE_CODE,
)

PROVINCES = Layer(
    "provinces",
    "استان‌ها",
    "Provinces",
    "province_code",
    "MultiPolygon",
    (
        _province_code,
        Column("name_fa", "str", "Persian name"),
        Column("name_en", "str", "English name"),
        Column("population", "int", "1395 (2016) census population", "population", minimum=0),
    ),
)

COUNTIES = Layer(
    "counties",
    "شهرستان‌ها",
    "Counties",
    "county_code",
    "MultiPolygon",
    (
        _county_code,
        _province_code,
        Column("name_fa", "str", "Persian name (official list)"),
        Column("name_en", "str", "English name (OpenStreetMap)", nullable=True),
        Column(
            "population", "int", "1395 census population (see population_source)", "population", minimum=0
        ),
        Column(
            "population_source",
            "str",
            "census_1395, or census_1395_parent_share for counties created after the census",
            "pop_src",
            choices=COUNTY_POPULATION_SOURCES,
        ),
        Column(
            "parent_county_code",
            "str",
            "for counties created after 1395: the county their population was counted in",
            "parent",
            nullable=True,
        ),
        Column(
            "boundary_source",
            "str",
            "which OpenStreetMap counties make up the boundary (relation ids, '+'-joined)",
            "bnd_src",
        ),
    ),
)

SETTLEMENTS = Layer(
    "settlements",
    "سکونتگاه‌ها",
    "Settlements",
    "settlement_code",
    "Point",
    (
        Column("settlement_code", "str", "Statistical Centre code (10 digits city, 16 village)", "code"),
        Column("kind", "str", "city or village", "kind", choices=tuple(SETTLEMENT_KINDS)),
        Column("name_fa", "str", "Persian name (official list)"),
        Column("name_en", "str", "English name where GeoNames gives one", nullable=True),
        _county_code,
        _province_code,
        Column(
            "rural_district_code",
            "str",
            "rural district (دهستان) code, villages only",
            "rd_code",
            nullable=True,
        ),
        Column("population", "int", "resident population (see population_source)", "population", minimum=0),
        Column(
            "population_source",
            "str",
            "geonames, geonames_scaled or synthetic",
            "pop_src",
            choices=POPULATION_SOURCES,
        ),
        Column(
            "position_source",
            "str",
            "gazetteer, geonames or correction (real point); near_rural_district, near_district or "
            "near_county (approximate: placed near the matched settlements of that unit); imported",
            "pos_src",
            choices=POSITION_SOURCES,
        ),
        Column(
            "position_precision",
            "str",
            "exact, low (a point given to 1-2 decimals) or approximate (not a real point)",
            "pos_prec",
            nullable=True,
            choices=POSITION_PRECISIONS,
        ),
        Column(
            "match_method",
            "str",
            "how the official settlement was matched to its place (exact, variant, latin, fuzzy, "
            "rural_district, prominence, geonames_cities, correction)",
            "match_mth",
            nullable=True,
        ),
        Column("gazetteer_id", "int", "Who's On First id of the matched place", "gaz_id", nullable=True),
        Column("geonameid", "int", "GeoNames id of the matched place", "geonameid", nullable=True),
    ),
)

NGOS = Layer(
    "ngos",
    "سازمان‌های مردم‌نهاد",
    "NGOs",
    "licence_no",
    "Point",
    (
        Column("licence_no", "str", "licence number", "licence_no"),
        Column("name_fa", "str", "Persian name"),
        _service_type,
        Column("capacity", "int", "persons the centre can serve", "capacity", minimum=1),
        Column("status", "str", "one of LICENCE_STATUSES", "status", choices=tuple(LICENCE_STATUSES)),
        Column("issued_on", "date", "licence issue date (Gregorian)", "issued_on", nullable=True),
        Column("expires_on", "date", "licence expiry date (Gregorian)", "expires_on", nullable=True),
        _county_code,
        _province_code,
        Column("settlement_code", "str", "settlement the centre belongs to", "settl_code", nullable=True),
        _synthetic,
        Column(
            "position_source",
            "str",
            "how the point was obtained: file, settlement_code, settlement_name or synthetic",
            "pos_src",
            nullable=True,
            choices=NGO_POSITION_SOURCES,
        ),
        Column(
            "delivery_mode",
            "str",
            "how the centre delivers its service (geo.catalogue.DELIVERY_MODES; empty: the service's main mode)",
            "mode",
            nullable=True,
            choices=tuple(DELIVERY_MODES),
        ),
    ),
)

TARGET_AREAS = Layer(
    "target_areas",
    "محله‌های هدف",
    "Target neighbourhoods",
    "target_code",
    "MultiPolygon",
    (
        Column("target_code", "str", "target area identifier", "target_cd"),
        Column("name_fa", "str", "Persian name"),
        Column(
            "kind",
            "str",
            "urban (part of a city) or rural (cluster of villages)",
            "kind",
            choices=("urban", "rural"),
        ),
        _county_code,
        _province_code,
        Column("households", "int", "households in the area", "households", minimum=0),
        _synthetic,
        Column(
            "households_in_need",
            "int",
            "households in need of the capacity-building programme (its progress is measured against it)",
            "hh_need",
            nullable=True,
            minimum=0,
        ),
    ),
)

COUNTY_NEEDS = Layer(
    "county_needs",
    "جمعیت هدف شهرستان‌ها",
    "County target populations",
    "county_code,service_type",
    None,
    (
        _county_code,
        _service_type,
        Column("target_population", "int", "persons needing this service", "target_pop", minimum=0),
        _synthetic,
    ),
)

#: Evaluations of centres, with their history: one row per centre and day evaluated. The grade is
#: one of the norms' scale (``[ratings]``, checked at import); the province is the centre's.
NGO_EVALUATIONS = Layer(
    "ngo_evaluations",
    "ارزیابی مراکز",
    "Evaluations of centres",
    "licence_no,evaluated_on",
    None,
    (
        Column("licence_no", "str", "licence number of the centre evaluated", "licence_no"),
        Column("evaluated_on", "date", "the day of the evaluation (Gregorian)", "eval_on"),
        Column("grade", "str", "its grade on the norms' scale ([ratings], e.g. A-D)", "grade"),
        Column(
            "evaluator",
            "str",
            "who evaluated it (an office, an inspector, a source)",
            "evaluator",
            nullable=True,
        ),
        Column("note", "str", "the evaluator's note", "note", nullable=True),
        # the centre's province, filled from the registry at import (a row naming no known centre
        # is refused there, so a stored row always has one)
        Column(
            "province_code",
            "str",
            "the centre's province (from the registry)",
            "prov_code",
            nullable=True,
            pattern=r"\d{2}",
        ),
        _synthetic,
    ),
)

#: The volunteer network: one row per volunteer group and speciality (its members of that
#: speciality), so members per speciality, group and county are sums of rows. A group is placed
#: at its own point (lon/lat), else at its settlement, else known by its county only
#: (``geo.volunteers``). Its name, place and ``active`` are the group's, the same on each of its
#: rows; the speciality is one of the norms' (``[volunteers]``, checked at import). Its exact
#: place is as sensitive as a centre's: coarsened like a centre's for roles without the right.
VOLUNTEER_GROUPS = Layer(
    "volunteer_groups",
    "گروه‌های داوطلب",
    "Volunteer groups",
    "group_id,speciality",
    None,
    (
        Column("group_id", "str", "the group's identifier", "group_id"),
        Column("speciality", "str", "a speciality of the norms ([volunteers], e.g. doctor)", "special"),
        Column("name_fa", "str", "the group's Persian name"),
        _county_code,
        _province_code,
        Column("settlement_code", "str", "the settlement it works in (or none)", "settl_code", nullable=True),
        Column("lon", "float", "its own point's longitude (WGS 84; or none)", "lon", nullable=True),
        Column("lat", "float", "its own point's latitude (WGS 84; or none)", "lat", nullable=True),
        Column("members", "int", "its members of this speciality", "members", minimum=0),
        Column("active", "bool", "whether the group is active (an inactive group counts nothing)", "active"),
        _synthetic,
    ),
)

LAYER_INFO = Layer(
    "layer_info",
    "منشأ لایه‌ها",
    "Layer provenance",
    "layer",
    None,
    (
        Column("layer", "str", "layer name"),
        Column("title_fa", "str", "Persian title"),
        Column("title_en", "str", "English title"),
        Column("source", "str", "where the data comes from"),
        Column("licence", "str", "licence of the source"),
        Column("synthetic", "str", "none, partial or all: how much of the layer is generated"),
        Column("built_at", "datetime", "when the layer was written (UTC)"),
        Column(
            "as_of",
            "date",
            "the day the layer's contents describe (the licence registry's as-of date)",
            nullable=True,
        ),
    ),
)

#: The norms and service catalogue an administrator imported through the service, every version
#: kept: the newest is in force (over the norms file the service started with). Written whole by
#: ``services.catalogue``; never edited in place.
NORMS_VERSIONS = Layer(
    "norms_versions",
    "نسخه‌های هنجارها و فهرست خدمات",
    "Norms and service catalogue versions",
    "version",
    None,
    (
        Column("version", "str", "the norms' version (its `version`)"),
        Column("text", "str", "the norms file as imported (TOML)"),
        Column("imported_at", "datetime", "when it was imported (UTC)"),
        Column("imported_by", "str", "who imported it"),
        Column("services", "int", "how many services its catalogue has", minimum=1),
    ),
)

#: Gazetteer places that match no official settlement: findable in the place search, labelled
#: unofficial, never counted as settlements.
GAZETTEER_PLACES = Layer(
    "gazetteer_places",
    "مکان‌های بیرون از فهرست رسمی",
    "Places outside the official list",
    "gazetteer_id",
    "Point",
    (
        Column("gazetteer_id", "int", "Who's On First id", "gaz_id"),
        Column("name_fa", "str", "Persian name (gazetteer)", nullable=True),
        Column("name_en", "str", "Latin name (gazetteer)", nullable=True),
        Column(
            "county_code",
            "str",
            "the county it lies in or near",
            "cnty_code",
            nullable=True,
            pattern=r"\d{4}",
        ),
        Column("province_code", "str", "its county's province", "prov_code", nullable=True, pattern=r"\d{2}"),
        Column(
            "feature_code",
            "str",
            "GeoNames feature code (PPL, PPLF farm, PPLL locality…)",
            "feat_code",
            nullable=True,
        ),
        Column(
            "position_precision",
            "str",
            "exact, or low (1-2 decimals)",
            "pos_prec",
            nullable=True,
            choices=POSITION_PRECISIONS,
        ),
    ),
)

#: How a change's share was obtained (``geo.hierarchy``).
SHARE_BASES = ("population", "area", "given")
_version_id = Column(
    "version_id",
    "str",
    "division version id (lower-case letters, digits, '-')",
    "version",
    pattern=r"[a-z0-9][a-z0-9-]{0,62}",
)

#: Versions of the administrative divisions (reference tables, not scoped by province).
HIERARCHY_VERSIONS = Layer(
    "hierarchy_versions",
    "نسخه‌های تقسیمات کشوری",
    "Division versions",
    "version_id",
    None,
    (
        _version_id,
        Column("name_fa", "str", "Persian name"),
        Column("name_en", "str", "English name", nullable=True),
        Column("valid_from", "date", "first day the divisions are in force (Gregorian)", "valid_from"),
        Column("valid_to", "date", "last day in force (Gregorian); empty: open", "valid_to", nullable=True),
        Column(
            "base_version_id",
            "str",
            "the version it was made from by its changes; empty: a first version",
            "base",
            nullable=True,
        ),
        Column("source", "str", "where the list comes from, and what is estimated in it"),
    ),
)

HIERARCHY_UNITS = Layer(
    "hierarchy_units",
    "شهرستان‌های هر نسخه",
    "Counties of each division version",
    "version_id,county_code",
    None,
    (
        _version_id,
        _county_code,
        _province_code,
        Column("name_fa", "str", "Persian name"),
        Column("name_en", "str", "English name", nullable=True),
        Column(
            "parent_county_code",
            "str",
            "where it changed: the county (or counties, '+'-joined) of the base version it comes from",
            "parent",
            nullable=True,
        ),
    ),
)

HIERARCHY_CHANGES = Layer(
    "hierarchy_changes",
    "تغییرات تقسیمات",
    "Division changes",
    "version_id,county_code,from_county_code",
    None,
    (
        _version_id,
        Column("county_code", "str", "the county of the version", "cnty_code", pattern=r"\d{4}"),
        Column("from_county_code", "str", "a county of the base version", "from_code", pattern=r"\d{4}"),
        Column("share", "float", "the part of the base county that goes to it (0-1]", "share"),
        Column("share_basis", "str", "population, area or given", "basis", choices=SHARE_BASES),
        Column(
            "source", "str", "how the share was obtained (an estimate, a decree…)", "source", nullable=True
        ),
    ),
)

#: Where a version's counties differ from the counties layer: their boundaries (the new counties
#: and what their parents keep), so that a village can be placed in them.
HIERARCHY_BOUNDARIES = Layer(
    "hierarchy_boundaries",
    "مرز شهرستان‌های تغییریافته",
    "Boundaries of changed counties",
    "version_id,county_code",
    "MultiPolygon",
    (
        _version_id,
        Column("county_code", "str", "the county of the version", "cnty_code", pattern=r"\d{4}"),
        Column("source", "str", "where the boundary comes from", "source", nullable=True),
    ),
)

LAYERS: Mapping[str, Layer] = {
    layer.name: layer
    for layer in (
        PROVINCES,
        COUNTIES,
        SETTLEMENTS,
        NGOS,
        TARGET_AREAS,
        COUNTY_NEEDS,
        NGO_EVALUATIONS,
        VOLUNTEER_GROUPS,
        LAYER_INFO,
        NORMS_VERSIONS,
        GAZETTEER_PLACES,
        HIERARCHY_VERSIONS,
        HIERARCHY_UNITS,
        HIERARCHY_CHANGES,
        HIERARCHY_BOUNDARIES,
    )
}


def layer(name: str) -> Layer:
    """Return the ``Layer`` called ``name`` or raise ``UnknownLayerError``."""
    try:
        return LAYERS[name]
    except KeyError:
        known = ", ".join(LAYERS)
        raise UnknownLayerError(f"unknown layer {name!r}; known layers: {known}") from None


_PANDAS_DTYPES = {
    "str": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[ms]",
    "datetime": "datetime64[ms, UTC]",
}


def columns_of(frame: pd.DataFrame, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """The columns ``names`` of ``frame`` (with its index), holding the frame's own arrays.

    Selecting a list of columns (``frame[names]``) copies each one (pandas 3): for the national
    settlements 0.8 MB a column, kept twice where a view of the layer is kept beside it. With
    pandas' copy-on-write, writing to the result still leaves ``frame`` as it was."""
    return pd.DataFrame({name: frame[name] for name in names}, copy=False)


def _iso(values: pd.Series) -> str | None:
    """``"ISO8601"`` for a column of text (a GeoPackage's dates and times, read as SQLite holds
    them: with or without fractions of a second, row by row), else None (pandas infers)."""
    return "ISO8601" if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values) else None


def conform(frame: pd.DataFrame, spec: Layer) -> pd.DataFrame:
    """Return ``frame`` with exactly the columns of ``spec``, in order and with their dtypes.

    Raises ``SchemaError`` naming the missing columns, and for non-nullable columns with missing
    values. A nullable column that the frame lacks is taken as empty: a store or a file made
    before the column was added still reads.
    """
    missing = [c.name for c in spec.columns if c.name not in frame.columns and not c.nullable]
    if missing:
        raise SchemaError(f"{spec.name}: missing columns {', '.join(missing)}")
    columns: dict[str, object] = {}
    for col in spec.columns:
        values = (
            frame[col.name]
            if col.name in frame.columns
            else pd.Series(None, index=frame.index, dtype="object")
        )
        if col.dtype == "str":  # every missing value (NaN, NA, None) as None
            missing_values = values.isna().to_numpy()
            if values.dtype != object or missing_values.any():
                text = values.to_numpy(dtype=object, copy=True)
                text[missing_values] = None
                values = pd.Series(text, index=frame.index, dtype=object, copy=False)
        elif col.dtype == "date":
            values = pd.to_datetime(values, format=_iso(values)).astype("datetime64[ms]")
        elif col.dtype == "datetime":
            values = pd.to_datetime(values, utc=True, format=_iso(values)).astype("datetime64[ms, UTC]")
        else:
            values = values.astype(_PANDAS_DTYPES[col.dtype])
        if not col.nullable and values.isna().any():
            bad = values[values.isna()].index[:5].tolist()
            raise SchemaError(f"{spec.name}.{col.name} has missing values (rows {bad})")
        columns[col.name] = values
    # one frame made from the columns at once (setting them one by one copied the frame's blocks
    # each time: a fifth of reading a small layer)
    out = pd.DataFrame(columns, index=frame.index, copy=False)
    if spec.geometry_type is None:
        return out
    gdf = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs)
    if spec.geometry_type == "MultiPolygon":
        from shapely import MultiPolygon, Polygon

        gdf["geometry"] = [MultiPolygon([g]) if isinstance(g, Polygon) else g for g in gdf.geometry]
        gdf = gdf.set_geometry("geometry", crs=frame.crs)
    return gdf


def check_values(frame: pd.DataFrame, spec: Layer) -> None:
    """Raise ``SchemaError`` for values the schema forbids (choices, minimums, patterns)."""
    for col in spec.columns:
        if col.choices is None and col.minimum is None and col.pattern is None:
            continue  # nothing to check (most columns): not a copy of the column each time
        values = frame[col.name].dropna()
        bad = pd.Series(False, index=values.index)
        rule = ""
        if col.choices is not None:
            bad |= ~values.isin(col.choices)
            rule = f"one of {', '.join(col.choices)}"
        if col.minimum is not None:
            bad |= values < col.minimum
            rule = f"at least {col.minimum}"
        if col.pattern is not None:
            bad |= ~values.astype(str).str.fullmatch(col.pattern)
            rule = f"matching {col.pattern}"
        if bad.any():
            sample = values[bad].head(3).tolist()
            raise SchemaError(f"{spec.name}.{col.name} must be {rule}; got {sample}")
