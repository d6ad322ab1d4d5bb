"""The collections the service publishes (OGC API – Features): layers and analysis results.

Each collection says how to build its frame from a snapshot, which column identifies a feature
and which query parameters filter it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import geopandas as gpd

from geo.decisions import CRITERIA, flag_reasons
from geo.measures import SATURATION_CLASSES
from geo.schema import (
    COUNTIES,
    COUNTY_NEEDS,
    LAYERS,
    NGOS,
    SETTLEMENTS,
    TARGET_AREAS,
    Column,
    Layer,
    columns_of,
)
from services.scope import coarse, coarsening, restrict
from services.snapshot import Snapshot


@dataclass(frozen=True)
class Filter:
    column: str
    description: str
    choices: tuple[str, ...] | None = None
    #: the regular expression the whole value must match
    pattern: str | None = None


def _filter(column: Column, description: str | None = None) -> Filter:
    """A filter on a layer's column: its allowed values and pattern as ``geo.schema`` declares them."""
    pattern = None if column.pattern is None else f"^{column.pattern}$"
    return Filter(column.name, description or column.description, column.choices, pattern)


PROVINCE = _filter(SETTLEMENTS.column("province_code"), "province code (2 digits), e.g. 07")
COUNTY = _filter(SETTLEMENTS.column("county_code"), "county code (4 digits), e.g. 0707")
SERVICE = _filter(NGOS.column("service_type"), "service type")


@dataclass(frozen=True)
class Property:
    """A property of a collection's features, as queryables and the OpenAPI document describe it."""

    name: str
    type: str  # string, integer, number, boolean, date
    description: str
    enum: tuple[str, ...] | None = None
    nullable: bool = False
    #: present only when the norms choose travel on roads
    roads_only: bool = False
    #: one property per service of the catalogue: ``name`` and ``description`` say ``{service}``
    per_service: bool = False
    #: its values are the catalogue's service types (the enum is the norms', not the code's)
    catalogue: bool = False


_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "date": "date"}


def _column(spec: Layer, name: str, description: str | None = None) -> Property:
    """The property of a layer's column: its type, allowed values and nullability as ``geo.schema``
    declares them, described as the collection words it where ``description`` is given."""
    c = spec.column(name)
    return Property(
        c.name,
        _JSON_TYPES.get(c.dtype, "string"),
        description or c.description,
        c.choices,
        c.nullable,
        catalogue=c.name == "service_type",
    )


def _layer_properties(name: str) -> tuple[Property, ...]:
    return tuple(_column(LAYERS[name], c.name) for c in LAYERS[name].columns)


def _p(name: str, type_: str, description: str, **kw) -> Property:
    return Property(name, type_, description, **kw)


# Columns of the layers that the analysis results carry over, and properties several results share.
_CODES = (_column(SETTLEMENTS, "county_code"), _column(SETTLEMENTS, "province_code"))
_SERVICE = _column(NGOS, "service_type", "service type")
_SETTLEMENT = (
    _column(SETTLEMENTS, "settlement_code", "Statistical Centre settlement code"),
    _column(SETTLEMENTS, "name_fa", "Persian name"),
)
_POPULATION = _column(SETTLEMENTS, "population", "resident population")
_IN_TARGET_AREA = _p("in_target_area", "boolean", "inside a target neighbourhood")
_REASONS = (_p("reason_en", "string", "why, in English"), _p("reason_fa", "string", "why, in Persian"))


@dataclass(frozen=True)
class Collection:
    id: str
    title_fa: str
    title_en: str
    description: str
    key: str
    build: Callable[[Snapshot], gpd.GeoDataFrame]
    filters: Mapping[str, Filter]
    synthetic: str  # none, partial or all
    properties: tuple[Property, ...] = ()
    #: (start, end) properties giving each feature's time interval, for ``datetime``
    temporal: tuple[str, str] | None = None
    #: ``description`` in Persian, for the HTML pages
    description_fa: str = ""

    @property
    def is_layer(self) -> bool:
        """A stored layer (a table in PostGIS), not a result computed from the layers."""
        return self.id in LAYERS

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def for_services(self, services: Mapping) -> Collection:
        """This collection as the catalogue ``services`` (``Norms.services``) makes it: one
        property per service where the properties go per service, and the service types as the
        enum of a service type property."""
        return _for_services(self, tuple(services))

    def frame(self, snapshot: Snapshot) -> gpd.GeoDataFrame:
        def build() -> gpd.GeoDataFrame:
            out = self.build(snapshot)
            scope = getattr(snapshot, "scope", None)  # a restricted view (services.scope)
            return out if scope is None else restrict(out, scope).reset_index(drop=True)

        return snapshot.cached(f"collection:{self.id}", build)


_BY_SERVICES: dict[tuple[str, tuple[str, ...]], Collection] = {}


def _for_services(c: Collection, services: tuple[str, ...]) -> Collection:
    found = _BY_SERVICES.get((c.id, services))
    if found is not None:
        return found
    if len(_BY_SERVICES) > 512:  # catalogues change rarely; a bound all the same
        _BY_SERVICES.clear()
    props: list[Property] = []
    for p in c.properties:
        if p.per_service:
            props.extend(
                replace(
                    p,
                    name=p.name.format(service=s),
                    description=p.description.format(service=s),
                    per_service=False,
                )
                for s in services
            )
        elif p.catalogue:
            props.append(replace(p, enum=services))
        else:
            props.append(p)
    filters = {
        name: replace(f, choices=services) if f.column == "service_type" else f
        for name, f in c.filters.items()
    }
    made = _BY_SERVICES[(c.id, services)] = replace(c, properties=tuple(props), filters=filters)
    return made


def _layer(name: str) -> Callable[[Snapshot], gpd.GeoDataFrame]:
    return lambda snap: snap.layer(name)


def _saturation(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    sat = a.saturation.reset_index()
    counties = snap.layer("counties")[["county_code", "province_code", "name_fa", "name_en", "geometry"]]
    out = counties.merge(sat, on="county_code")
    out.insert(0, "id", out["county_code"] + "-" + out["service_type"])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def _settlement_access(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    s = a.settlements
    out = columns_of(
        s, ["settlement_code", "name_fa", "name_en", "kind", "county_code", "province_code", "population"]
    )
    for service in a.norms.services:
        out[f"{service}_nearest_km"] = (a.access.nearest_m[service] / 1000.0).round(3)
        if a.access.nearest_min is not None:
            # The travel-time layer: minutes by road to the nearest active centre.
            out[f"{service}_nearest_min"] = a.access.nearest_min[service].round(1)
            out[f"{service}_road_fallback"] = a.access.fallback[service].to_numpy()
        out[f"{service}_access_share"] = a.access_share[service].round(4)
    flagged = a.flags.groupby("settlement_code").size()
    out["flagged_services"] = out["settlement_code"].map(flagged).fillna(0).astype("int64")
    out["in_target_area"] = a.in_target_area.to_numpy()
    # copy=False: the frame is this function's own; a copy would hold its 99,654 rows twice
    # while it is made (and leave the first copy's pages scattered).
    return gpd.GeoDataFrame(coarse(out, snap), geometry=s.geometry, crs=4326, copy=False)


def _flags(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    flags = coarse(a.flags.reset_index(drop=True), snap)
    where = a.settlements.set_index("settlement_code")
    reasons = flag_reasons(flags, approximate=coarsening(snap) is not None, services=a.norms.services)
    # The reasons are added as columns, not joined: a join copied the analysis's columns (6 MB
    # for the national flags) where the added columns leave them shared with ``a.flags``.
    out = flags.copy(deep=False)
    out["reason_en"], out["reason_fa"] = reasons["reason_en"], reasons["reason_fa"]
    out.insert(0, "id", out["settlement_code"] + "-" + out["service_type"])
    out.insert(2, "name_fa", where["name_fa"].reindex(out["settlement_code"]).to_numpy())
    out["county_code"] = where["county_code"].reindex(out["settlement_code"]).to_numpy()
    out["province_code"] = where["province_code"].reindex(out["settlement_code"]).to_numpy()
    geometry = where.geometry.reindex(out["settlement_code"]).to_numpy()
    return gpd.GeoDataFrame(out, geometry=geometry, crs=4326, copy=False)  # its own frame, not copied


def _priorities(snap: Snapshot) -> gpd.GeoDataFrame:
    a = snap.analysis()
    ranked = a.priorities(top=50, coarsening=coarsening(snap))
    where = a.settlements.set_index("settlement_code").geometry
    return gpd.GeoDataFrame(ranked, geometry=where.reindex(ranked["settlement_code"]).to_numpy(), crs=4326)


def _layer_collection(
    name: str,
    filters: Mapping[str, Filter],
    description: str,
    synthetic: str,
    temporal: tuple[str, str] | None = None,
    *,
    description_fa: str,
) -> Collection:
    spec = LAYERS[name]
    return Collection(
        name,
        spec.title_fa,
        spec.title_en,
        description,
        spec.key,
        _layer(name),
        filters,
        synthetic,
        _layer_properties(name),
        temporal,
        description_fa,
    )


_SATURATION_PROPERTIES = (
    _p("id", "string", "<county_code>-<service_type>"),
    *_CODES,
    _column(COUNTIES, "name_fa", "county name, Persian"),
    _column(COUNTIES, "name_en", "county name, English"),
    _SERVICE,
    _column(COUNTY_NEEDS, "target_population", "persons needing the service in the county"),
    _p("ngos", "integer", "active NGOs of the service in the county"),
    _p("capacity", "integer", "their capacity (persons)"),
    _p("capacity_per_10k", "number", "capacity per 10,000 target persons", nullable=True),
    _p("norm_per_10k", "number", "the norm per 10,000 target persons"),
    _p("ratio_to_norm", "number", "capacity_per_10k / norm_per_10k", nullable=True),
    _p("national_median_per_10k", "number", "national median of capacity_per_10k"),
    _p("class", "string", "saturation class", enum=SATURATION_CLASSES),
    _p("target_out_of_reach", "integer", "target persons with no centre of the service within reach"),
    _p("share_out_of_reach", "number", "target_out_of_reach / target_population", nullable=True),
    _p("capacity_gap", "number", "places missing to reach the norm (negative: above it)", nullable=True),
    _p(
        "need_rank",
        "integer",
        "rank among counties for the service, most underserved first (ratio to norm, then "
        "share_out_of_reach, then capacity_gap)",
    ),
)

_ACCESS_PROPERTIES = (
    _column(SETTLEMENTS, "settlement_code"),
    _column(SETTLEMENTS, "name_fa", "Persian name"),
    _column(SETTLEMENTS, "name_en", "English name"),
    _column(SETTLEMENTS, "kind"),
    *_CODES,
    _POPULATION,
    _p(
        "{service}_nearest_km",
        "number",
        "km to the nearest active {service} centre",
        nullable=True,
        per_service=True,
    ),
    _p(
        "{service}_nearest_min",
        "number",
        "minutes by road to the nearest active {service} centre",
        nullable=True,
        roads_only=True,
        per_service=True,
    ),
    _p(
        "{service}_road_fallback",
        "boolean",
        "the {service} trip is a straight-line fallback (far from any road)",
        roads_only=True,
        per_service=True,
    ),
    _p(
        "{service}_access_share", "number", "E2SFCA {service} access as a share of the norm", per_service=True
    ),
    _p("flagged_services", "integer", "services for which the settlement is flagged underserved"),
    _IN_TARGET_AREA,
)

_FLAG_PROPERTIES = (
    _p("id", "string", "<settlement_code>-<service_type>"),
    *_SETTLEMENT,
    _SERVICE,
    _POPULATION,
    _p("target_population", "number", "the place's target population for the service"),
    _p("nearest_km", "number", "km to the nearest active centre", nullable=True),
    _p("max_distance_km", "number", "the distance above which a place is too far"),
    _p(
        "nearest_min",
        "number",
        "minutes by road to the nearest active centre",
        nullable=True,
        roads_only=True,
    ),
    _p(
        "max_travel_min",
        "number",
        "the travel time above which a place is too far",
        nullable=True,
        roads_only=True,
    ),
    _p("road_fallback", "boolean", "the trip is a straight-line fallback", roads_only=True),
    _p("access_share", "number", "access as a share of the norm"),
    _p("min_access_share", "number", "the share below which access is low"),
    _IN_TARGET_AREA,
    _p("too_far", "boolean", "flagged for distance"),
    _p("low_access", "boolean", "flagged for low access"),
    *_REASONS,
    *_CODES,
)

_PRIORITY_PROPERTIES = (
    _p("rank", "integer", "rank within the province"),
    *_SETTLEMENT,
    *_CODES,
    _POPULATION,
    _p("target_population", "integer", "persons needing a service"),
    _p("score", "number", "priority score, 0-100"),
    *(_p(f"{c}_points", "number", f"points from {c}") for c in CRITERIA),
    _p("need", "number", "need criterion, 0-1"),
    _p("gap", "number", "gap criterion, 0-1"),
    _p("distance", "number", "distance criterion, 0-1"),
    _p("population_score", "number", "population criterion, 0-1"),
    _p("target_area", "number", "target area criterion, 0-1"),
    _p("flagged", "boolean", "flagged underserved for some service"),
    *_REASONS,
)


COLLECTIONS: Mapping[str, Collection] = {
    c.id: c
    for c in (
        _layer_collection(
            "provinces",
            {},
            "The 31 provinces: OpenStreetMap boundaries, 1395 census population.",
            "none",
            description_fa="۳۱ استان: مرزها از اوپن‌استریت‌مپ، جمعیت سرشماری ۱۳۹۵.",
        ),
        _layer_collection(
            "counties",
            {"province": PROVINCE},
            "The 448 official counties: Statistical Centre codes, OSM boundaries, 1395 census population.",
            "none",
            description_fa="۴۴۸ شهرستان رسمی: کدهای مرکز آمار، مرزها از اوپن‌استریت‌مپ، جمعیت سرشماری ۱۳۹۵.",
        ),
        _layer_collection(
            "settlements",
            {
                "province": PROVINCE,
                "county": COUNTY,
                "kind": _filter(SETTLEMENTS.column("kind")),
            },
            "Official cities and villages. Points and populations are GeoNames where matched, otherwise "
            "SYNTHETIC (see position_source, population_source).",
            "partial",
            description_fa="شهرها و روستاهای رسمی. جای نقطه و جمعیت هر جا که در نقشه‌ها یافت شد واقعی "
            "است، وگرنه ساختگی (منشأ موقعیت و منشأ جمعیت را ببینید).",
        ),
        _layer_collection(
            "ngos",
            {
                "province": PROVINCE,
                "county": COUNTY,
                "service_type": SERVICE,
                "status": _filter(NGOS.column("status"), "licence status"),
            },
            "The NGO registry. In the demo it is SYNTHETIC. Each licence is valid from issued_on to "
            "expires_on (datetime selects the licences valid at an instant or during an interval).",
            "all",
            temporal=("issued_on", "expires_on"),
            description_fa="دفتر مجوزهای سازمان‌های مردم‌نهاد؛ در نسخهٔ نمایشی ساختگی است. هر مجوز از "
            "تاریخ صدور تا تاریخ انقضا معتبر است.",
        ),
        _layer_collection(
            "target_areas",
            {
                "province": PROVINCE,
                "county": COUNTY,
                "kind": _filter(TARGET_AREAS.column("kind"), "urban or rural"),
            },
            "The 500 target neighbourhoods. In the demo they are SYNTHETIC.",
            "all",
            description_fa="۵۰۰ محلهٔ هدف؛ در نسخهٔ نمایشی ساختگی‌اند.",
        ),
        Collection(
            "saturation",
            "اشباع خدمات در شهرستان‌ها",
            "Saturation per county and service type",
            "Capacity per 10,000 target persons against the norm and the national median, with its class. "
            "Feature id: <county_code>-<service_type>.",
            "id",
            _saturation,
            {
                "province": PROVINCE,
                "county": COUNTY,
                "service_type": SERVICE,
                "class": Filter("class", "saturation class", SATURATION_CLASSES),
            },
            "all",
            _SATURATION_PROPERTIES,
            description_fa="ظرفیت به ازای ۱۰٬۰۰۰ نفر جمعیت هدف در برابر هنجار و میانهٔ کشوری، با وضعیت "
            "اشباع هر شهرستان در هر خدمت.",
        ),
        Collection(
            "settlement-access",
            "دسترسی سکونتگاه‌ها",
            "Access per settlement",
            "Per settlement and service type: distance to the nearest active centre (km) and E2SFCA access "
            "as a share of the norm; how many services flag it.",
            "settlement_code",
            _settlement_access,
            {
                "province": PROVINCE,
                "county": COUNTY,
                "kind": _filter(SETTLEMENTS.column("kind")),
            },
            "all",
            _ACCESS_PROPERTIES,
            description_fa="برای هر سکونتگاه و هر خدمت: فاصله تا نزدیک‌ترین مرکز فعال و دسترسی نسبت به "
            "هنجار؛ و شمار خدمت‌هایی که آن را نیازمند توجه می‌دانند.",
        ),
        Collection(
            "flags",
            "سکونتگاه‌های کم‌برخوردار",
            "Underserved flags",
            "Small towns and villages flagged per service type, with the reasons in Persian and English. "
            "Feature id: <settlement_code>-<service_type>.",
            "id",
            _flags,
            {"province": PROVINCE, "county": COUNTY, "service_type": SERVICE},
            "all",
            _FLAG_PROPERTIES,
            description_fa="شهرهای کوچک و روستاهای نیازمند توجه در هر خدمت، با دلیل به فارسی و انگلیسی.",
        ),
        Collection(
            "priorities",
            "اولویت روستاها",
            "Village priorities",
            "The 50 highest-priority villages of each province under the default weights, with the "
            "breakdown of the score (GET /priorities for other weights).",
            "settlement_code",
            _priorities,
            {"province": PROVINCE, "county": COUNTY},
            "all",
            _PRIORITY_PROPERTIES,
            description_fa="۵۰ روستای با بیشترین اولویت در هر استان با وزن‌های پیش‌فرض، با سهم هر معیار "
            "در امتیاز.",
        ),
    )
}
