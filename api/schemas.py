"""The service's request and response models, in one place (named for their role)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from starlette.responses import Response

from api.deps import MEDIA
from geo.catalogue import SERVICE_CODE

#: A service type of the catalogue (the norms' ``[services]``, which an administrator may change
#: while the service runs): a code here, checked against the catalogue by the route
#: (``api.deps.catalogued``); the OpenAPI document lists the catalogue's codes as its ``enum``
#: (``api.openapi``: every schema marked ``x-amayesh-catalogue``).
CATALOGUE_ENUM = {"x-amayesh-catalogue": "services"}
DeliveryMode = Literal["centre", "outreach", "community", "home", "remote"]
ServiceType = Annotated[str, Field(pattern=f"^{SERVICE_CODE}$", json_schema_extra=dict(CATALOGUE_ENUM))]


class RequestBody(BaseModel):
    """A request body: a field it does not declare is refused (422) by name, never dropped in
    silence (a misspelt ``outreach_min`` would otherwise give the default's answer)."""

    model_config = ConfigDict(extra="forbid")


ProvinceCode = Annotated[
    str | None, Field(pattern=r"^\d{2}$", description="province code (2 digits); none: whole country")
]


class Link(BaseModel):
    rel: str
    type: str
    href: str
    title: str | None = None


class LayerSummary(BaseModel):
    name: str
    title_fa: str
    title_en: str
    count: int
    synthetic: str | None = None
    source: str | None = None


class Landing(BaseModel):
    title: str
    description: str
    links: list[Link]
    layers: list[LayerSummary]
    attribution: str
    notice_fa: str
    notice_en: str
    tiles_prepared: bool
    #: the day licence statuses are read at (ISO date), and where it came from
    as_of: str
    as_of_source: str


class LicenceCheckRequest(RequestBody):
    """A proposed licence: where, which service, how many persons it can serve."""

    lon: float = Field(ge=-180, le=180, description="longitude (WGS 84)", examples=[57.3])
    lat: float = Field(ge=-90, le=90, description="latitude (WGS 84)", examples=[27.2])
    service_type: ServiceType = Field(description="service type", examples=["rehabilitation"])
    capacity: int = Field(gt=0, le=100_000, description="persons the centre can serve", examples=[40])
    delivery_mode: DeliveryMode = Field(
        None, description="how it would deliver (absent: the service's main mode in the catalogue)"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"lon": 57.3, "lat": 27.2, "service_type": "rehabilitation", "capacity": 40}]
        }
    }


class SitingRequest(RequestBody):
    """Where ``k`` new centres of a service would serve its target population best."""

    service_type: ServiceType = Field(description="service type", examples=["rehabilitation"])
    province: ProvinceCode = None
    k: int = Field(ge=1, le=1000, description="new sites to propose", examples=[10])
    model: Literal["mclp", "pmedian"] = Field(
        "mclp", description="mclp: cover the most target persons; pmedian: least travel to the nearest centre"
    )
    method: Literal["auto", "exact", "greedy"] = Field(
        "auto",
        description="exact (HiGHS MILP), greedy (with a bound and the gap), auto (greedy, then exact if small)",
    )
    candidates: list[Annotated[str, Field(pattern=r"^\d{10}(\d{6})?$")]] | None = Field(
        None, max_length=20_000, description="settlement codes to choose from (default: the flagged places)"
    )
    capacitated: bool = Field(False, description="respect centre capacities")
    capacity: int | None = Field(None, gt=0, le=100_000, description="capacity of each new centre")
    cap_km: float | None = Field(
        None, gt=0, le=300, description="p-median, straight line: distances beyond count as this (km)"
    )
    cap_min: float | None = Field(
        None, gt=0, le=600, description="p-median, on roads: travel times beyond count as this (minutes)"
    )
    time_limit: float = Field(
        5.0, ge=1, le=5, description="seconds the exact solver may take (the command line allows more)"
    )
    budget: float | None = Field(
        None,
        le=1e12,
        description=(
            "the most the new centres may cost in all, in the norms' cost table's currency (million "
            "rials); k is then the most sites. A negative budget, or one below a single new centre, "
            "is refused"
        ),
    )

    model_config = {
        "json_schema_extra": {"examples": [{"service_type": "rehabilitation", "province": "11", "k": 10}]}
    }


class SitingJobRequest(SitingRequest):
    """A siting solved as a job, with up to ten minutes for the exact solver to prove its answer."""

    time_limit: float = Field(
        60.0, ge=1, le=600, description="seconds the exact solver may take (a job may take up to 600)"
    )


class DelegationRequest(RequestBody):
    """Which centres with spare capacity should serve which underserved villages."""

    service_type: ServiceType = Field(description="service type", examples=["rehabilitation"])
    province: ProvinceCode = None
    outreach_km: float | None = Field(
        None,
        gt=0,
        le=300,
        description="straight line: farthest outreach in km (default: the norm's outreach_km)",
    )
    outreach_min: float | None = Field(
        None,
        gt=0,
        le=600,
        description="on roads: farthest outreach in travel minutes (default: the norm's outreach_min)",
    )
    budget: float | None = Field(
        None,
        le=1e12,
        description=(
            "the most the outreach lines may cost in all (each its km × the cost per km of the norms' "
            "cost table, in million rials); for a province. A negative budget is refused"
        ),
    )


class ScenarioCreate(RequestBody):
    """A named set of changes: licences added/closed/resized, norm changes, delegations."""

    name: str = Field(min_length=1, max_length=200, examples=["Five new rehabilitation centres in Sistan"])
    owner: str | None = Field(
        None, max_length=200, description="ignored: the signed-in user is recorded as the scenario's author"
    )
    description: str | None = Field(None, max_length=4000)
    changes: dict = Field(
        description="licences_added, licences_closed, licences_resized, norms, delegations (see README)",
        examples=[
            {
                "licences_added": [
                    {"service_type": "rehabilitation", "capacity": 40, "lon": 60.86, "lat": 29.5}
                ],
                "licences_closed": [],
            }
        ],
    )


class ScenarioCopy(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=200)
    owner: str | None = Field(
        None, max_length=200, description="ignored: the copy's author is the signed-in user"
    )


class ScenarioPublic(BaseModel):
    id: str
    name: str
    owner: str
    created_at: str = Field(description="ISO 8601, UTC")
    description: str | None = None
    copied_from: str | None = None
    changes: dict


# ---- answers ---------------------------------------------------------------------------------
#
# What the routes answer, declared in the OpenAPI document with ``responses={200: {"model": …}}``
# (``api.schemas.declared``): the routes build their answers themselves, these models only
# describe them (no filtering, no coercion). A key an answer has and its model does not is a
# mistake of the model: ``extra="forbid"`` publishes ``additionalProperties: false`` and the
# tests validate real answers against the document (tests/test_contract.py).


class Answer(BaseModel):
    """An answer of the service, as the document declares it (every key it may carry)."""

    model_config = ConfigDict(extra="forbid")


def declared(
    model: type[BaseModel], description: str = "OK", status: int = 200, headers: dict | None = None
) -> dict:
    """``responses=`` of a route whose answer ``model`` describes (and does not make)."""
    out: dict = {"model": model, "description": description}
    if headers:
        out["headers"] = headers
    return {status: out}


class GeoJSONResponse(Response):
    """A GeoJSON answer (``response_class`` of a route that builds its own response: it names the
    media type its declared model is published under)."""

    media_type = MEDIA["geojson"]


def header(description: str, required: bool = True) -> dict:
    """A response header for ``declared(..., headers=…)``."""
    return {"description": description, "required": required, "schema": {"type": "string"}}


def upload_body(description: str) -> dict:
    """``openapi_extra=`` of a route that takes one uploaded file (multipart ``file``)."""
    file = {"type": "string", "format": "binary", "description": description}
    schema = {"type": "object", "required": ["file"], "properties": {"file": file}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def declared_media(media: dict[str, dict], description: str = "OK", status: int = 200) -> dict:
    """``responses=`` of a route that answers the media types ``media`` (type -> schema)."""
    return {status: {"description": description, "content": {k: {"schema": v} for k, v in media.items()}}}


#: a file to download (XLSX, GeoPackage, PDF, PNG, MVT)
BINARY = {"type": "string", "format": "binary"}
#: text: HTML, CSV
TEXT = {"type": "string"}

#: A download as GDAL writes GeoJSON (``name`` and ``crs`` members beside the features)
EXPORT_GEOJSON = {
    "type": "object",
    "description": "every matching row as a GeoJSON FeatureCollection (written by GDAL)",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "properties"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "properties": {"type": "object", "description": "the row's columns"},
                    "geometry": {"type": "object", "nullable": True},
                },
            },
        },
    },
}
#: the download media types of ``f=`` and their schemas
DOWNLOADS = {
    "geojson": (MEDIA["geojson"], EXPORT_GEOJSON),
    "csv": (MEDIA["csv"].split(";")[0], {**TEXT, "description": "UTF-8 with a byte-order mark"}),
    "xlsx": (MEDIA["xlsx"], BINARY),
    "gpkg": (MEDIA["gpkg"], BINARY),
}


def map_data(model: type[BaseModel]) -> dict:
    """``responses=`` of the map pages' data: the model, or 304 when If-None-Match has its ETag."""
    etag = header("the data's version (send it as If-None-Match to revalidate)")
    return {
        **declared(model, headers={"ETag": etag}),
        304: {
            "description": "Not modified: the copy whose ETag was sent is current",
            "headers": {"ETag": etag},
        },
    }


def with_downloads(model: type[BaseModel], formats: tuple[str, ...], description: str = "OK") -> dict:
    """``responses=`` of a route that answers ``model`` as JSON, or a download with ``f=``."""
    out = declared(model, description)
    out[200]["content"] = {DOWNLOADS[f][0]: {"schema": DOWNLOADS[f][1]} for f in formats}
    return out


#: A GeoJSON geometry: the document's ``Geometry`` schema (api/openapi.py)
GeometryRef = Annotated[dict, WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/Geometry"}]})]


class Feature(Answer):
    """A GeoJSON Feature."""

    type: Literal["Feature"]
    id: str | int | None = Field(None, description="the feature's id, where it has one")
    geometry: GeometryRef | None = Field(description="CRS84 longitude/latitude; null: no position")
    properties: dict[str, Any] = Field(description="the feature's properties")


class FeatureCollection(Answer):
    """A GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class Notice(Answer):
    """The synthetic-data notice: present while a layer the answer rests on is synthetic."""

    fa: str = Field(description="the notice in Persian")
    en: str = Field(description="the notice in English")
    synthetic_layers: list[str] | None = Field(None, description="the synthetic layers the answer rests on")


AsOf = Annotated[str, Field(description="the day licence statuses are read at (YYYY-MM-DD)")]
NoticeField = Annotated[Notice | None, Field(description="null: nothing the answer rests on is synthetic")]


class Health(Answer):
    status: Literal["ok"] = Field(description="the service answers")


class Conformance(Answer):
    conformsTo: list[str] = Field(description="URIs of the conformance classes the service implements")


# ---- tiles metadata (OGC API – Tiles, TileJSON) ----


class TileMatrix(Answer):
    id: str = Field(description="the zoom level")
    scaleDenominator: float
    cellSize: float = Field(description="metres per pixel at the equator")
    cornerOfOrigin: Literal["topLeft"]
    pointOfOrigin: list[float] = Field(description="x, y of the origin (EPSG:3857 metres)")
    tileWidth: int
    tileHeight: int
    matrixWidth: int
    matrixHeight: int


class TileMatrixSet(Answer):
    """A tile matrix set (OGC Two Dimensional Tile Matrix Set 2.0)."""

    id: str
    title: str
    uri: str
    crs: str
    orderedAxes: list[str]
    wellKnownScaleSet: str
    tileMatrices: list[TileMatrix] = Field(description="one per zoom level, 0 to the deepest")


class OgcLinkModel(Answer):
    rel: str
    type: str | None = None
    href: str
    title: str | None = None
    templated: bool | None = None


class TileMatrixSetRef(Answer):
    id: str
    title: str
    uri: str
    links: list[OgcLinkModel]


class TileMatrixSets(Answer):
    tileMatrixSets: list[TileMatrixSetRef] = Field(description="the tiling schemes of the tiles")


class TileLayer(Answer):
    id: str = Field(description="the layer's name inside each tile")
    dataType: Literal["vector"]
    geometryType: Literal["points", "polygons"]
    propertiesSchema: dict[str, Any] = Field(
        description="a JSON Schema of the properties each feature carries"
    )


class BoundingBox(Answer):
    lowerLeft: list[float]
    upperRight: list[float]
    crs: str


class TileSet(Answer):
    """A collection's vector tileset in WebMercatorQuad."""

    title: str
    dataType: Literal["vector"]
    crs: str
    tileMatrixSetURI: str
    links: list[OgcLinkModel] = Field(description="self, the tiling scheme, the tile template, TileJSON")
    layers: list[TileLayer]
    boundingBox: BoundingBox | None = Field(None, description="the extent of the layer (CRS84), if not empty")


class TileSetRef(Answer):
    title: str
    dataType: Literal["vector"]
    crs: str
    tileMatrixSetURI: str
    links: list[OgcLinkModel]


class TileSets(Answer):
    links: list[OgcLinkModel]
    tilesets: list[TileSetRef]


class VectorLayer(Answer):
    id: str
    fields: dict[str, str] = Field(description="the properties of the features (names; no types)")
    minzoom: int
    maxzoom: int


class TileJSON(Answer):
    """TileJSON 3.0.0 of a collection's vector tiles."""

    tilejson: Literal["3.0.0"]
    name: str
    scheme: Literal["xyz"]
    tiles: list[str] = Field(description="the URL template of the tiles")
    minzoom: int
    maxzoom: int
    vector_layers: list[VectorLayer]
    bounds: list[float] | None = Field(None, description="west, south, east, north (CRS84), if not empty")


# ---- analysis ----


class CapacitySplit(Answer):
    """How a county's capacity splits back into its parts when the norms weight it by rating or
    count volunteers (all none otherwise)."""

    licensed_capacity: int | None = Field(
        None, description="capacity weighted by rating: the licensed places (capacity = licensed − deduction)"
    )
    rating_deduction: int | None = Field(None, description="capacity weighted by rating: places not counted")
    centre_capacity: int | None = Field(
        None, description="volunteers counted: the centres' places (capacity = centres + volunteers)"
    )
    volunteer_capacity: int | None = Field(
        None, description="volunteers counted: the volunteer groups' places in the county"
    )


class SaturationFigures(CapacitySplit):
    """A county's saturation for one service type."""

    target_population: int
    ngos: int = Field(description="active centres of the service in the county")
    capacity: int = Field(description="their capacity (persons)")
    capacity_per_10k: float | None = Field(description="capacity per 10,000 target persons")
    norm_per_10k: float = Field(description="the norm's adequate capacity per 10,000")
    ratio_to_norm: float | None = Field(
        description="capacity_per_10k / norm_per_10k; null: no target population"
    )
    national_median_per_10k: float | None
    class_: Literal["underserved", "balanced", "saturated"] | None = Field(alias="class")


class NearbyCentre(Answer):
    """A same-type active centre in the catchment of the proposed place (for roles without the
    exact-location right: its generalised position, distances rounded to 5 km / 5 min)."""

    licence_no: str
    name_fa: str | None
    capacity: int
    grade: str | None = Field(None, description="its current grade (null: not evaluated)")
    licensed_capacity: int | None = Field(
        None, description="capacity weighted by rating: its licensed places"
    )
    distance_km: float = Field(description="ground distance from the proposed place")
    travel_min: float | None = Field(None, description="on roads: minutes of travel")
    lon: float
    lat: float


class AccessChange(Answer):
    """The change of access of an underserved place in reach of the proposed centre."""

    settlement_code: str
    name_fa: str | None
    distance_km: float = Field(description="from the proposed place")
    travel_min: float | None = Field(None, description="on roads: minutes from the proposed place")
    access_share_before: float = Field(description="access as a share of the norm, before")
    access_share_after: float = Field(description="access as a share of the norm, with the centre")


class BetterPlace(Answer):
    """A nearby underserved place where the same licence would newly cover more target persons."""

    settlement_code: str
    name_fa: str | None
    county_code: str
    lon: float
    lat: float
    distance_km: float = Field(description="from the proposed place")
    newly_covered_target_population: int


class LicenceCheckAnswer(Answer):
    """The verdict on a proposed licence, with the figures and the reasons."""

    verdict: Literal["welcome", "acceptable", "saturated"]
    county_code: str
    province_code: str
    service_type: str
    capacity: int
    lon: float
    lat: float
    catchment_km: float
    saturation_before: SaturationFigures
    saturation_after: SaturationFigures = Field(description="with the proposed capacity added")
    same_type_nearby: list[NearbyCentre] = Field(description="the nearest same-type centres (up to ten)")
    same_type_in_catchment: int
    newly_covered_target_population: int = Field(
        description="target persons in its catchment who have no such centre in reach today"
    )
    underserved_access_changes: list[AccessChange]
    better_places: list[BetterPlace] = Field(description="up to five, in the same province, apart")
    summary_en: str = Field(description="one sentence saying why the verdict is what it is")
    summary_fa: str
    reasons_en: list[str]
    reasons_fa: list[str]
    travel: Literal["straight", "roads"]
    catchment_min: float | None = Field(description="on roads: the catchment in minutes")
    delivery_mode: DeliveryMode = Field(description="the delivery mode the check assumed (geo.catalogue)")
    reach_km: float | None = Field(description="the reach it used, km of travel (null: remote, the province)")
    reach_min: float | None = Field(description="on roads: the reach in minutes")
    road_fallback: bool = Field(description="on roads: the place is far from any road (straight line)")
    ratings_in_catchment: dict[str, int] | None = Field(
        None,
        description="grade -> same-type centres in the catchment ('unrated': never evaluated; "
        "'other_provinces': centres of provinces not the caller's, whose grades are not told)",
    )
    capacity_weighted_by_rating: bool = False
    counted_capacity: int | None = Field(None, description="the places the proposed centre counts for")
    as_of: AsOf | None = None
    notice: NoticeField = None


class CatchmentProperties(Answer):
    service_type: str
    travel: Literal["straight", "roads"]
    catchment_km: float
    catchment_min: float | None = Field(description="on roads: the catchment in minutes")
    road_fallback: bool = Field(description="the place is far from any road: a straight-line circle")


class CatchmentFeature(Feature):
    """The catchment of a centre at a place: its travel-time area on roads, else its circle."""

    geometry: GeometryRef | None = Field(description="the catchment area (CRS84)")
    properties: CatchmentProperties  # type: ignore[assignment]


class PriorityRow(Answer):
    """A village ranked by the director's priority score, with the breakdown per criterion."""

    rank: int
    settlement_code: str
    name_fa: str | None
    county_code: str
    province_code: str
    population: int
    target_population: int
    score: float = Field(description="sum of the *_points, 0–1")
    need_points: float
    gap_points: float
    distance_points: float
    population_points: float
    target_area_points: float
    need: float = Field(description="criterion scaled 0–1 within the province")
    gap: float
    distance: float
    population_score: float
    target_area: float
    flagged: bool
    reason_en: str | None = Field(
        description="why it is flagged, or why not (a city, too small, within the norm)"
    )
    reason_fa: str | None = Field(description="the same in Persian")


class PriorityFeature(Feature):
    properties: PriorityRow  # type: ignore[assignment]


class Priorities(Answer):
    as_of: AsOf
    weights: dict[str, float] = Field(description="the weights used, per criterion, summing to 1")
    numberReturned: int
    villages: list[PriorityRow]
    features: list[PriorityFeature] = Field(description="the same villages as GeoJSON Features")
    notice: NoticeField


class SaturationRow(CapacitySplit):
    county_code: str
    service_type: str
    target_population: int
    ngos: int
    capacity: int
    capacity_per_10k: float | None
    norm_per_10k: float
    ratio_to_norm: float | None
    national_median_per_10k: float | None
    class_: Literal["underserved", "balanced", "saturated"] | None = Field(alias="class")
    target_out_of_reach: float | None = Field(
        description="target persons beyond every catchment of the service"
    )
    share_out_of_reach: float | None = Field(description="their share of the county's target population")
    capacity_gap: float | None = Field(description="capacity short of the norm (0 when it meets it)")
    need_rank: int | None = Field(
        description="rank by need within the service: ratio to the norm, then share out of reach, then gap"
    )


class SaturationAnswer(Answer):
    as_of: AsOf
    norms_version: str
    numberReturned: int
    rows: list[SaturationRow] = Field(description="one per county and service type")
    notice: NoticeField


class ConcentrationTier(Answer):
    tier: Literal["metropolis", "large_city", "mid_city", "small_town", "village"]
    ngos: int
    capacity: int
    target_population: int
    ngos_share: float | None
    capacity_share: float | None
    target_population_share: float | None
    lq_ngos: float | None = Field(description="location quotient: share of NGOs / share of target population")
    lq_capacity: float | None


class Concentration(Answer):
    as_of: AsOf
    province_code: str | None = Field(description="null: the whole country")
    tiers: list[ConcentrationTier]
    notice: NoticeField


class NearestNgo(Answer):
    licence_no: str
    name_fa: str | None
    capacity: int


class SettlementService(Answer):
    """A settlement's figures for one service type."""

    label_fa: str
    label_en: str
    target_population: int
    nearest_km: float | None = Field(description="to the nearest active centre; null: none")
    nearest_min: float | None = Field(description="on roads: minutes to it")
    road_fallback: bool
    nearest_ngo: NearestNgo | None = Field(description="named only when it is in the caller's provinces")
    ngos_in_catchment: int
    catchment_km: float
    catchment_min: float | None
    access_share_of_norm: float | None
    flagged: bool
    reason_en: str | None
    reason_fa: str | None


class CountyName(Answer):
    county_code: str
    name_fa: str | None
    name_en: str | None


class SettlementAnswer(Answer):
    """One settlement with everything known about it."""

    as_of: AsOf
    settlement: Annotated[
        dict, WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/SettlementsFeature"}]})
    ]
    county: CountyName
    tier: Literal["metropolis", "large_city", "mid_city", "small_town", "village"]
    in_target_area: bool
    distance_step: float | None = Field(description="distances are multiples of it (null: exact)")
    share_step: float | None = Field(description="access shares are multiples of it (null: exact)")
    services: dict[str, SettlementService] = Field(description="per service type")
    notice: NoticeField


# ---- the licence register and monitoring ----

ApplicationStatus = Literal["received", "checked", "approved", "refused", "withdrawn"]


class ApplicationSummary(Answer):
    """A licence application as the register lists it (without its stored check)."""

    application_id: str
    applicant: str
    service_type: str
    capacity: int
    lon: float
    lat: float
    county_code: str = Field(description="found from the point")
    province_code: str
    received_at: str = Field(description="ISO 8601, UTC")
    decided_at: str | None = Field(description="ISO 8601, UTC; null: not decided")
    status: ApplicationStatus
    status_fa: str = Field(description="the status in Persian")
    check_verdict: Literal["welcome", "acceptable", "saturated"] | None = Field(
        description="the stored check's verdict; null before a check"
    )
    decision_reason: str | None
    decided_by: str | None
    created_by: str | None
    licence_no: str | None = Field(description="the licence issued on approval (LIC-<application id>)")
    synthetic: bool = Field(description="made up by the demo, not a real application")
    version: int = Field(description='raised by every edit; the ETag is "<id>.v<version>"')
    notice: Notice | None = Field(None, description="present on a synthetic application")


class Application(ApplicationSummary):
    """One licence application with its stored licence check (send its ETag with If-Match to edit)."""

    check_result: LicenceCheckAnswer | None = Field(description="the stored licence check; null before one")


class ApplicationList(Answer):
    numberMatched: int
    numberReturned: int
    applications: list[ApplicationSummary] = Field(description="newest first")
    synthetic: bool = Field(description="some of those listed are synthetic (the demo's)")


class TimelinessRow(Answer):
    province_code: str
    jalali_month: str = Field(description="the Jalali month of receipt, YYYY-MM")
    received: int
    decided: int
    decided_in_time: int = Field(description="decided within deadline_days")
    open_overdue: int = Field(description="still open past the deadline")
    share_in_time: float | None = Field(description="decided_in_time / (decided + open_overdue)")
    synthetic: bool


class LicenceRow(Answer):
    """An active licence that expires soon, or whose expiry has passed."""

    licence_no: str
    name_fa: str | None
    service_type: str
    capacity: int | None
    county_code: str | None
    province_code: str | None
    expires_on: str | None = Field(description="ISO 8601")
    synthetic: bool | None
    days_left: int | None = Field(None, description="expiring: days until the expiry")
    days_overdue: int | None = Field(None, description="expired but active: days since the expiry")


class JalaliYearShare(Answer):
    jalali_year: str
    share_in_time: float | None


class Monitoring(Answer):
    """The monitoring tables of the caller's provinces on the service's as-of day."""

    today: str = Field(description="the as-of day (YYYY-MM-DD)")
    within_days: int
    deadline_days: int
    by_year: list[JalaliYearShare]
    timeliness: list[TimelinessRow] = Field(description="per province and Jalali month of receipt")
    expiring: list[LicenceRow] = Field(description="active licences expiring within within_days")
    expired_active: list[LicenceRow] = Field(description="licences past their expiry still recorded active")
    synthetic: bool
    notice: Notice | None


# ---- trends by Jalali period (GET /trends) ------------------------------------------------------

_TREND_MEASURES = {
    "active_centres": "licences active at the period's end (at the as-of day if the period is not over)",
    "active_capacity": "their capacity (persons)",
    "issued": "licences issued in the period",
    "expired": "licences whose expiry fell in the period (up to the as-of day)",
    "received": "applications received in the period (by their day in Tehran)",
    "decided": "applications decided in the period",
    "decided_in_time": "of those, decided within deadline_days of their receipt",
    "decided_late": "of those, decided after the deadline",
}


class PeriodInfo(Answer):
    """A Jalali period of the answer."""

    id: str = Field(description="1403, 1403Q2 or 1403-07", examples=["1403Q2"])
    kind: Literal["year", "quarter", "month"]
    label_fa: str = Field(examples=["فصل ۲ ۱۴۰۳"])
    label_en: str = Field(examples=["1403 Q2"])
    start: str = Field(description="the first day (Gregorian, YYYY-MM-DD)")
    end: str = Field(description="the last day, included (Gregorian, YYYY-MM-DD)")
    partial: bool = Field(description="not over at the as-of day: its stock is read at the as-of day")


class _TrendRowBase(Answer):
    """One period and unit (and service type): the measures asked for."""

    period: str
    kind: Literal["year", "quarter", "month"]
    label_fa: str
    label_en: str
    start: str
    end: str
    partial: bool
    level: Literal["country", "province", "county"]
    unit_code: str = Field(
        description="IR (the country, or the sum of the caller's provinces), a province or a county"
    )
    name_fa: str | None
    name_en: str | None
    service_type: str | None = Field(None, description="with by_service=true")
    active_centres: int | None = Field(None, description=_TREND_MEASURES["active_centres"])
    active_capacity: int | None = Field(None, description=_TREND_MEASURES["active_capacity"])
    issued: int | None = Field(None, description=_TREND_MEASURES["issued"])
    expired: int | None = Field(None, description=_TREND_MEASURES["expired"])
    received: int | None = Field(None, description=_TREND_MEASURES["received"])
    decided: int | None = Field(None, description=_TREND_MEASURES["decided"])
    decided_in_time: int | None = Field(None, description=_TREND_MEASURES["decided_in_time"])
    decided_late: int | None = Field(None, description=_TREND_MEASURES["decided_late"])
    share_in_time: float | None = Field(None, description="decided_in_time / decided")
    underserved_counties: int | None = Field(
        None, description="county × service pairs underserved at the period's end"
    )
    balanced_counties: int | None = Field(None, description="county × service pairs balanced")
    saturated_counties: int | None = Field(None, description="county × service pairs saturated")
    flagged_places: int | None = Field(None, description="underserved places flagged (place × service)")
    target_population: int | None = Field(None, description="target persons")
    access_share: float | None = Field(
        None,
        description="share of the target persons with a centre within reach (0.05 steps without exact locations)",
    )
    # ``class`` is a Python keyword: the field is named ``saturation_class`` and published as ``class``
    saturation_class: Literal["underserved", "balanced", "saturated"] | None = Field(
        None, alias="class", description="a county's saturation class (county level, one service type)"
    )
    synthetic: bool = Field(description="a synthetic (made-up) row contributed to this row's figures")


#: with the changes ``compare=`` asks for: ``<measure>_vs_previous``, ``<measure>_vs_year_before``
TrendRow = create_model(
    "TrendRow",
    __base__=_TrendRowBase,
    __doc__=_TrendRowBase.__doc__,
    **{
        f"{measure}_vs_{kind}": (
            int | None,
            Field(None, description=f"{measure} minus that of {what} (compare={kind})"),
        )
        for measure in _TREND_MEASURES
        for kind, what in (
            ("previous", "the previous period"),
            ("year_before", "the same period a year earlier"),
        )
    },
)


class TrendCountry(Answer):
    fa: str
    en: str


class Trends(Answer):
    """Figures by Jalali period for the caller's provinces, counted from the registry's and the
    register's own dates (and the analysis at each period's end where asked)."""

    as_of: AsOf
    level: Literal["country", "province", "county"]
    periods: list[PeriodInfo]
    country: TrendCountry = Field(description="what the country level is: Iran, or the sum of your provinces")
    measures: list[str]
    deadline_days: int
    numberReturned: int
    rows: list[TrendRow]
    synthetic: bool
    notice: NoticeField


# ---- accounts ----


class Me(Answer):
    username: str
    role: Literal["admin", "planner", "licensing_officer", "provincial_director"]
    provinces: list[str] | None = Field(description="the assigned provinces; null: national")
    rights: list[str] = Field(description="what the role may do (api.security.RIGHTS)")
    via: Literal["session", "token"] = Field(description="how the caller signed in")


class SessionInfo(Answer):
    session: str = Field(description="the first 12 characters of the session's hash")
    created_at: str
    expires_at: str
    ended_at: str | None
    client: str | None = Field(description="the address and browser it began from")
    live: bool


class UserSessions(Answer):
    username: str
    sessions: list[SessionInfo] = Field(description="the live sessions, newest first")


class SessionsEnded(Answer):
    username: str
    ended: int = Field(description="sessions ended")


# ---- the map pages' data ----


class NgoColumns(Answer):
    """Every NGO the caller may see, as columns (one entry per centre in each list)."""

    service_types: list[str] = Field(description="`type` indexes this list")
    id: list[str] = Field(description="licence numbers")
    lon: list[float]
    lat: list[float]
    type: list[int]
    capacity: list[int]
    province: list[str]
    active: list[int] = Field(description="1: an active licence on the as-of day")
    synthetic: bool


class CityLabels(Answer):
    """The cities named on the map, as columns."""

    code: list[str]
    name_fa: list[str]
    name_en: list[str | None]
    population: list[int]
    lon: list[float]
    lat: list[float]


class ServiceNorm(Answer):
    norm_per_10k: float
    catchment_km: float
    min_access_share: float


class Boundaries(Answer):
    """Provinces and counties (simplified) with their saturation per service, for the maps."""

    provinces: FeatureCollection = Field(
        description="properties: province_code, name_fa, name_en, population, label ([lon, lat])"
    )
    counties: FeatureCollection = Field(
        description="properties: county_code, province_code, name_fa, name_en, population, label, and "
        "sat: service type -> [ratio to norm, capacity per 10k, capacity, NGOs, target population, "
        "class, villages, villages out of reach, flagged places]"
    )
    province_bounds: dict[str, list[float]] = Field(description="province code -> [west, south, east, north]")
    breaks: list[float] = Field(description="the saturation ramp's breaks (ratio to norm)")
    norms_version: str
    detour_factor: float
    norms: dict[str, ServiceNorm]
    cities: CityLabels
    as_of: AsOf


class ServiceLabel(Answer):
    fa: str
    en: str


class PublicNeeds(Answer):
    """The public needs map's data: aggregates per province and county, no centre."""

    fields: list[str] = Field(description="the order of each `figures` list")
    min_centres: int = Field(
        description="a cell of fewer centres shows no capacity, count or ratio (suppressed: few_centres)"
    )
    services: dict[str, ServiceLabel]
    breaks: list[float]
    underserved_below: float = Field(description="ratio to the norm below which a county is underserved")
    saturated_at: float = Field(description="ratio to the norm from which a county is saturated")
    norms_version: str
    provinces: FeatureCollection = Field(
        description="properties: province_code, name_fa, name_en, figures (service type -> list of `fields`)"
    )
    counties: FeatureCollection = Field(
        description="properties: county_code, province_code, name_fa, name_en, figures"
    )
    synthetic: str
    attribution: str


class SearchPlace(Answer):
    """A place found by name or code."""

    kind: Literal["province", "county", "settlement", "place"] = Field(
        description="place: a gazetteer place outside the official list (never counted as a settlement)"
    )
    code: str = Field(description="its code (a place: its gazetteer id)")
    name_fa: str | None
    name_en: str | None
    province_code: str | None
    county_code: str | None
    population: int
    match: int = Field(description="how well it matched (higher first)")
    lon: float = Field(description="its point, or a point inside it")
    lat: float
    bbox: list[float] | None = Field(None, description="west, south, east, north (not for a place)")
    county_fa: str | None = Field(None, description="the name of its county")
    county_en: str | None = None
    unofficial: bool | None = Field(None, description="true for a gazetteer place")


class SearchAnswer(Answer):
    query: str
    numberReturned: int
    places: list[SearchPlace]


# ---- planning ----


class Priced(Answer):
    """What an answer that prices something says of its prices (all none without a cost table)."""

    cost_currency: str | None = Field(None, description="the cost table's currency")
    cost_table: str | None = Field(None, description="which cost table priced the answer")
    costs_synthetic: bool | None = Field(
        None, description="the cost table's figures are synthetic demo figures"
    )


class SitingSummary(Priced):
    service_type: str
    province_code: str | None
    model: Literal["mclp", "pmedian", "capacitated_mclp", "capacitated_pmedian"]
    method: str = Field(description="how it was solved (exact, greedy, …)")
    new_sites: int
    candidates: int
    candidate_source: str
    demand_points: int
    pairs: int
    existing_centres: int
    capacity_per_new_site: int
    catchment_km: float
    delivery_mode: DeliveryMode = Field(
        description="how the new sites deliver (the service's first mode with a place)"
    )
    reach_km: float = Field(description="how far a new site serves, km of travel")
    reach_min: float | None = Field(description="on roads: the same in minutes")
    cap_km: float | None
    catchment_min: float | None
    cap_min: float | None
    objective: float
    bound: float | None = Field(description="a proven bound on the optimum")
    gap: float | None = Field(description="relative gap between objective and bound")
    optimal: bool = Field(description="proven optimal by the solver")
    seconds: float
    target_population: float
    travel: str
    norms_version: str
    border_note_en: str | None = Field(description="what a province's siting counts at its border")
    border_note_fa: str | None
    covered_before: float | None = Field(None, description="mclp: target persons covered before")
    covered_after: float | None = Field(None, description="mclp: and after")
    demand_total: float | None = Field(None, description="mclp: all target persons")
    cost_before: float | None = Field(None, description="p-median: travel cost before")
    cost_after: float | None = Field(None, description="p-median: and after")
    cap: float | None = Field(None, description="p-median: the cap on a distance or time")
    baseline: float | None = Field(None, description="capacitated: persons served before")
    persons_at_new_sites: float | None = Field(None, description="capacitated: persons at the new sites")
    budget: float | None = Field(None, description="the budget the sites kept to (none: no budget)")
    cost_per_site: float | None = Field(
        None, description="what one new centre of this capacity costs by the cost table (none: no table)"
    )
    cost_spent: float | None = Field(None, description="what the proposed sites cost in all")


class Site(Answer):
    rank: int
    settlement_code: str
    name_fa: str | None
    county_code: str
    province_code: str
    kind: str
    population: int
    capacity: int
    gain: float = Field(description="what the site adds to the objective")
    target_population_reached: int
    lon: float
    lat: float


class SiteFeature(Feature):
    properties: Site  # type: ignore[assignment]


class SiteFeatures(FeatureCollection):
    features: list[SiteFeature]  # type: ignore[assignment]


class SitingAnswer(Answer):
    summary: SitingSummary
    sites: list[Site]
    features: SiteFeatures
    assignments: int = Field(description="demand points assigned to a site")


class JobProblem(Answer):
    status: int = Field(description="the HTTP status the request would have answered")
    code: str = Field(description="the problem's stable code (as in problem+json)")
    detail: str = Field(description="what went wrong, in words a person can act on")


class SitingJob(Answer):
    """A siting solved as a job: its state, the share of its time limit used, its answer when done."""

    id: str = Field(description="the job's id (j- and 16 hex digits)")
    kind: Literal["siting"]
    state: Literal["queued", "running", "done", "failed"]
    request: dict = Field(description="the siting asked for (the body of POST /plans/siting/jobs)")
    time_limit: float = Field(description="seconds the exact solver may take")
    created_at: str | None = Field(description="when it was asked (UTC, ISO 8601)")
    started_at: str | None = Field(description="when its solve began")
    finished_at: str | None = Field(description="when it ended")
    seconds: float = Field(description="how long it has run")
    progress: float = Field(
        ge=0, le=1, description="share of its time limit used (it may end sooner, proved); 1 when ended"
    )
    result: SitingAnswer | None = Field(description="the answer POST /plans/siting would give, when done")
    error: JobProblem | None = Field(description="why it failed, when it failed")


class SitingJobList(Answer):
    jobs: list[SitingJob] = Field(description="the caller's jobs, newest first")


class DelegationSummary(Priced):
    service_type: str
    province_code: str | None
    outreach_km: float | None
    outreach_min: float | None
    places: int
    norm_per_10k: float
    target_population_unserved: int
    capacity_needed: int
    assigned: int
    still_needed: int
    centres_with_spare: int
    spare_capacity: int
    centres_used: int
    capacity_km: float
    spare_rule: str
    travel: str
    norms_version: str
    seconds: float
    budget: float | None = Field(None, description="the budget the outreach lines kept to (none: no budget)")
    budget_optimal: bool | None = Field(
        None, description="under a budget: proven optimal (false: the solver's best when its time ran out)"
    )
    outreach_cost: float | None = Field(
        None, description="what the outreach lines cost: their km × the cost per km (none: no cost table)"
    )
    rating_preference: str | None = Field(None, description="how the plan prefers well-rated centres")
    rating_preference_fa: str | None = None
    capacity_weighted_by_rating: bool = False


class DelegatingCentre(Answer):
    licence_no: str
    name_fa: str | None
    county_code: str
    province_code: str
    lon: float
    lat: float
    capacity: int
    grade: str | None = Field(None, description="its current grade (null: not evaluated)")
    licensed_capacity: int | None = Field(None, description="its licensed places (capacity: effective)")
    load: int
    spare: int
    assigned: int
    spare_after: int
    places: int
    mean_km: float | None
    settlement_codes: list[str]


class DelegatedPlace(Answer):
    settlement_code: str
    name_fa: str | None
    county_code: str
    province_code: str
    lon: float
    lat: float
    target_population_unserved: int
    capacity_needed: int
    assigned: int
    still_needed: int
    licence_no: str | None = Field(description="the centre serving most of it")
    centres: int
    mean_km: float | None


class DelegationLine(Answer):
    settlement_code: str
    name_fa: str | None
    licence_no: str
    centre_name_fa: str | None
    capacity: int
    km: float
    minutes: float | None
    place_lon: float
    place_lat: float
    centre_lon: float
    centre_lat: float
    id: int


class DelegationLineFeature(Feature):
    properties: DelegationLine  # type: ignore[assignment]


class DelegationLines(FeatureCollection):
    features: list[DelegationLineFeature]  # type: ignore[assignment]


class DelegationAnswer(Answer):
    summary: DelegationSummary
    centres: list[DelegatingCentre]
    places: list[DelegatedPlace]
    lines: DelegationLines = Field(description="centre to place, one per assignment")


class ScenarioList(Answer):
    scenarios: list[ScenarioPublic] = Field(description="newest first")


class ScenarioRefAnswer(Answer):
    id: str
    name: str
    owner: str | None
    created_at: str | None


class ComparisonSummary(Priced):
    services: list[str]
    counties_changing_class: int
    class_changes: dict[str, int] = Field(description="'a->b' class moves and how many counties made them")
    newly_covered: int
    no_longer_covered: int
    capacity_a: int
    capacity_b: int
    province_code: str | None = None
    cost_a: float | None = Field(
        None, description="what side a's changes cost (none: the norms price nothing)"
    )
    cost_b: float | None = Field(None, description="what side b's changes cost")
    cost_difference: float | None = Field(None, description="cost_b − cost_a")
    cost_per_newly_covered: float | None = Field(
        None, description="cost_difference per target person newly covered (none when nobody is)"
    )


class ComparedCounty(Answer):
    county_code: str
    service_type: str
    province_code: str
    target_population: int
    ngos_a: int
    capacity_a: int
    ratio_to_norm_a: float | None
    class_a: str | None
    ngos_b: int
    capacity_b: int
    ratio_to_norm_b: float | None
    class_b: str | None
    class_changed: bool
    covered_share_a: float | None
    covered_share_b: float | None
    newly_covered: int
    no_longer_covered: int
    access_share_a: float | None
    access_share_b: float | None
    access_change: float | None


class ComparedEquity(Answer):
    scope: Literal["national", "province"]
    province_code: str | None
    service_type: str
    target_population: int
    mean_access_share_a: float | None
    gini_a: float | None
    theil_a: float | None
    theil_between_provinces_a: float | None
    theil_within_provinces_a: float | None
    mean_access_share_b: float | None
    gini_b: float | None
    theil_b: float | None
    theil_between_provinces_b: float | None
    theil_within_provinces_b: float | None
    gini_change: float | None
    theil_change: float | None
    mean_access_share_change: float | None


class CostItem(Answer):
    """One priced change of a scenario: quantity × unit_cost = cost."""

    side: Literal["a", "b"]
    action: Literal[
        "new_centre", "new_places", "capacity_increase", "capacity_decrease", "closure", "outreach"
    ]
    licence_no: str = Field(description="the licence (PLAN-… for a centre the scenario adds)")
    settlement_code: str | None
    service_type: str
    province_code: str | None
    quantity: float
    unit: Literal["centre", "place", "km"]
    unit_cost: float
    cost: float


class Comparison(Answer):
    a: ScenarioRefAnswer
    b: ScenarioRefAnswer
    summary: ComparisonSummary
    counties: list[ComparedCounty]
    equity: list[ComparedEquity]
    costs: list[CostItem] = Field([], description="each side's priced changes (empty without a cost table)")
    notice: str


# ---- imports ----


class ImportRecord(Answer):
    """A confirmed import (undone_by/undone_at once undone)."""

    id: str
    layer: str
    by: str
    role: str
    at: str
    file: str
    file_sha256: str | None
    counts: dict[str, int] = Field(description="added, updated, unchanged")
    rows_before: int | None
    rows_after: int
    before_sha256: str | None
    after_sha256: str
    saved_as: str | None = Field(description="the saved previous version of the layer")
    undone_by: str | None
    undone_at: str | None


class ImportJob(Answer):
    """An import's state and counts."""

    id: str
    layer: str
    filename: str
    state: Literal["uploading", "reading", "checking", "ready", "refused", "failed", "confirmed", "cancelled"]
    size: int | None
    sha256: str | None
    rows_read: int | None
    rows_checked: int | None
    counts: dict[str, int] = Field(description="rows, added, updated, unchanged, rejected")
    can_confirm: bool
    created_at: str
    seconds: float | None
    record: ImportRecord | None = Field(description="once confirmed")


class RejectedRow(Answer):
    row: int | None = Field(description="the row in the file (null: the whole file)")
    field: str | None
    field_label: str | None = Field(
        description="the field as the template's headers name it, in the asked language"
    )
    value: Any = Field(description="the value as it was in the file")
    reason: str = Field(description="a code")
    message: str
    message_fa: str
    text: str = Field(description="the message in the asked language")


class ImportLinks(Answer):
    self: str
    rows: str
    rejected: str
    confirm: str
    cancel: str


class ImportPreview(ImportJob):
    """An import's progress and preview: counts, the rejected rows with reasons, links."""

    rejected_rows: list[RejectedRow]
    links: ImportLinks


class ImportList(Answer):
    layers: list[str] = Field(description="the layers the caller may import")
    open: list[ImportJob]
    recent: list[ImportRecord] = Field(description="confirmed imports, newest first")


class ImportRows(FeatureCollection):
    """The rows an import would write (``change`` in each feature's properties)."""

    numberMatched: int
    numberReturned: int


# ---- versions of the divisions ----


class HierarchyVersion(Answer):
    """A version of the county divisions."""

    version_id: str
    name_fa: str
    name_en: str | None
    valid_from: str = Field(description="first day in force (YYYY-MM-DD, Gregorian)")
    valid_to: str | None = Field(description="last day in force; null: open")
    valid_from_fa: str = Field(description="valid_from in the Jalali calendar, as the pages write it")
    valid_to_fa: str | None = Field(description="valid_to in the Jalali calendar; null: open")
    base_version_id: str | None = Field(description="the version it was made from; null: a first version")
    source: str = Field(description="where the list comes from, and what in it is estimated")
    counties: int
    changes: int = Field(description="change rows from its base version")


class HierarchyVersions(Answer):
    numberReturned: int
    versions: list[HierarchyVersion] = Field(description="oldest first")
    figures_version: str | None = Field(
        description="the version the store's county figures (counties, county_needs) are in; null: none matches"
    )


class HierarchyUnit(Answer):
    county_code: str
    province_code: str
    name_fa: str
    name_en: str | None
    parent_county_code: str | None = Field(
        description="where it changed: the county (or counties, '+'-joined) of the base version it comes from"
    )


class HierarchyChange(Answer):
    county_code: str = Field(description="the county of this version")
    from_county_code: str = Field(description="a county of the base version")
    share: float = Field(description="the part of the base county that goes to it")
    share_basis: Literal["population", "area", "given"]
    source: str | None = Field(description="how the share was obtained (estimates say so)")


class HierarchyVersionDetail(Answer):
    version: HierarchyVersion
    units: list[HierarchyUnit]
    changes: list[HierarchyChange]


class ReaggregatedRow(Answer):
    county_code: str
    province_code: str | None
    name_fa: str | None
    service_type: str | None = Field(None, description="county_needs: one row per county and service")
    population: int | None = Field(None, description="table population: the 1395 census figure carried over")
    target_population: int | None = Field(None, description="table county_needs (synthetic in the demo)")


class Reaggregated(Answer):
    """A county table of the store carried to another version of the divisions, totals kept."""

    table: Literal["population", "county_needs"]
    from_version: str = Field(description="the version the store's figures are in")
    to_version: str
    totals: dict[str, int] = Field(description="the column totals, the same in both versions")
    numberReturned: int
    rows: list[ReaggregatedRow]
    notice: NoticeField


class HierarchyProblem(Answer):
    row: int | None = Field(description="the row in the file (1 = the first data row; null: the whole file)")
    field: str
    value: str
    reason: str = Field(description="a code (README: Administrative divisions and their versions)")
    message: str
    message_fa: str


class HierarchyImported(Answer):
    """A division version imported from a file."""

    version: HierarchyVersion
    closed_base: bool = Field(description="the base version was open and now ends the day before")
    record: dict[str, Any] = Field(description="what the audit trail recorded")


class SettlementInVersion(Answer):
    version_id: str
    name_fa: str
    name_en: str | None
    valid_from: str
    valid_to: str | None
    county_code: str = Field(description="the settlement's county in this version")
    county_name_fa: str | None
    county_name_en: str | None
    method: Literal["unchanged", "change", "boundary", "largest_share"] = Field(
        description="how it was found: its county unchanged, the changes leaving one county, the "
        "boundary holding it (a split with boundaries), else the part that took the largest share"
    )


class SettlementHistory(Answer):
    """A settlement's county in every version of the divisions."""

    settlement_code: str
    name_fa: str
    known_version: str = Field(description="the version its recorded county is in")
    versions: list[SettlementInVersion] = Field(description="oldest first")


# ---- evaluations of centres (api/routers/evaluations.py) ---------------------------------------


class RatingGrade(Answer):
    grade: str
    fa: str = Field(description="what the grade means, in Persian")
    en: str
    weight: float = Field(description="the share of licensed capacity the grade counts for")


class RatingScaleAnswer(Answer):
    """The norms' evaluation scale, best grade first."""

    grades: list[RatingGrade]
    unrated_weight: float = Field(description="what a centre never evaluated counts as")
    weight_capacity_by_rating: bool = Field(description="whether the measures count effective capacity")
    synthetic: bool = Field(description="the weights are synthetic demo figures")
    label: str


class EvaluationRecord(Answer):
    evaluated_on: str = Field(description="the day of the evaluation (YYYY-MM-DD, Gregorian)")
    grade: str
    grade_fa: str | None
    grade_en: str | None
    evaluator: str | None
    note: str | None
    synthetic: bool
    counts_on_as_of: bool = Field(description="on or before the as-of day: known then")


class CentreEvaluations(Answer):
    """A centre's evaluations, oldest first, and its grade on the as-of day."""

    licence_no: str
    name_fa: str | None
    service_type: str
    province_code: str
    county_code: str
    as_of: AsOf
    grade: str | None = Field(description="its grade on the as-of day (null: not evaluated by then)")
    graded_on: str | None
    weight: float
    licensed_capacity: int
    effective_capacity: int = Field(description="licensed capacity × the grade's weight, whole places")
    evaluations: list[EvaluationRecord]
    scale: RatingScaleAnswer
    notice: NoticeField = None


class GradePlaces(Answer):
    grade: str = Field(description="a grade, or 'unrated'")
    places: int = Field(description="licensed places of the province's centres at this grade")
    share: float | None = Field(description="their share of the province's places")


class RankingRow(Answer):
    rank: int
    province_code: str
    province_fa: str | None
    province_en: str | None
    centres: int
    rated_centres: int
    places: int = Field(description="licensed places (the grades' places add up to it)")
    effective: int = Field(description="places counted with capacity weighted by rating")
    mean_weight: float | None = Field(description="effective ÷ licensed places")
    grades: list[GradePlaces]


class SplitRow(Answer):
    province_code: str
    province_fa: str | None
    province_en: str | None
    grade: str
    weight: float
    centres: int
    licensed: int
    deduction: int = Field(description="places not counted for the grade")
    effective: int = Field(description="licensed − deduction")


class ProvinceSplitWords(Answer):
    province_code: str
    en: str
    fa: str


class Rankings(Answer):
    """Provinces ranked by their centres' ratings, and the capacity split per grade."""

    as_of: AsOf
    norms_version: str
    service_type: str | None
    numberReturned: int
    rows: list[RankingRow]
    split: list[SplitRow]
    split_words: list[ProvinceSplitWords]
    scale: RatingScaleAnswer
    notice: NoticeField


# ---- the programme's activities register (api/routers/activities.py) ----------------------------


class Activity(Answer):
    """One activity of the programme (send its ETag with If-Match to edit or delete it)."""

    activity_id: str
    organisation: str
    organisation_kind: str = Field(description="ngo (of the registry), partner or campaign")
    licence_no: str | None = Field(description="the registry NGO's licence, for an ngo")
    service_type: str
    place_kind: str = Field(description="target_area, settlement or county")
    place_code: str
    target_code: str | None = Field(description="the target neighbourhood, when the place is one")
    county_code: str
    province_code: str
    start_date: str = Field(description="YYYY-MM-DD (Gregorian)")
    end_date: str | None = Field(description="YYYY-MM-DD (Gregorian); null while it runs")
    households: int = Field(description="households reached")
    persons: int = Field(description="persons reached")
    status: str = Field(description="planned, ongoing, completed, suspended or cancelled")
    notes: str | None
    created_by: str
    updated_at: str = Field(description="ISO 8601, UTC")
    synthetic: bool
    version: int
    status_fa: str
    organisation_kind_fa: str
    place_kind_fa: str
    notice: Notice | None = None


class ActivityList(Answer):
    numberMatched: int
    numberReturned: int
    activities: list[Activity] = Field(description="newest start first")
    synthetic: bool = Field(description="some of those listed are synthetic (the demo's)")
    notice: Notice | None


class ActivityImport(Answer):
    imported: int = Field(description="activities entered (every row of the file)")
    activity_ids: list[str]
    file: str


class NeighbourhoodProgress(Answer):
    """A target neighbourhood's progress (see the counting rule)."""

    target_code: str
    name_fa: str
    county_code: str
    province_code: str
    households_in_need: int | None
    households_reported: int = Field(description="the plain sum of its counted activities' households")
    households_reached: int = Field(description="by the counting rule, at most households_in_need")
    capped: bool = Field(description="households_reported exceeds households_reached")
    share_reached: float | None
    activities_planned: int
    activities_ongoing: int
    activities_completed: int
    activities_suspended: int
    activities_cancelled: int
    activities: int
    services: str = Field(description="service types of its counted activities, comma-joined")


class ProvinceProgress(Answer):
    province_code: str
    neighbourhoods: int
    neighbourhoods_reached: int
    households_in_need: int | None
    households_reached: int
    share_reached: float | None
    activities_planned: int
    activities_ongoing: int
    activities_completed: int
    activities_suspended: int
    activities_cancelled: int
    activities: int = Field(description="all its activities, at any place")


class ProgressTotals(Answer):
    neighbourhoods: int
    neighbourhoods_reached: int
    households_in_need: int | None
    households_reached: int
    share_reached: float | None
    activities: int


class ProgrammeProgress(Answer):
    totals: ProgressTotals
    provinces: list[ProvinceProgress]
    neighbourhoods: list[NeighbourhoodProgress]
    counting_rule: str
    synthetic: bool
    notice: Notice | None


class PeriodProgress(Answer):
    period: str = Field(description="a Jalali period: 1403, 1403Q2 or 1403-07")
    period_fa: str
    period_end: str = Field(description="its last day, YYYY-MM-DD")
    unit: str = Field(description="a province code, or all")
    province_code: str | None
    households_in_need: int | None
    households_reached: int
    share_reached: float | None
    activities_started: int
    activities_running: int


class ProgressOverTime(Answer):
    periods: list[str]
    rows: list[PeriodProgress]
    synthetic: bool
    notice: Notice | None


class Gap(Answer):
    target_code: str
    name_fa: str
    county_code: str
    province_code: str
    no_activity: bool = Field(description="no ongoing or completed activity there")
    missing_services: str = Field(description="service types with none, comma-joined")
    services_missing: int


class ProgrammeGaps(Answer):
    neighbourhoods: int
    without_activity: int
    gaps: list[Gap]
    synthetic: bool
    notice: Notice | None


# ---- the volunteer network (api/routers/volunteers.py) -------------------------------------------


class VolunteerSpeciality(Answer):
    speciality: str
    fa: str
    en: str
    places: dict[str, float] = Field(description="service -> places one active member counts for")


class VolunteerNormsAnswer(Answer):
    """The norms' specialities and whether volunteers count as supply."""

    specialities: list[VolunteerSpeciality]
    count_as_supply: bool = Field(description="whether saturation, access and flags count volunteers")
    synthetic: bool = Field(description="the factors are synthetic demo figures")
    label: str


class VolunteerGroup(Answer):
    group_id: str
    name_fa: str
    county_code: str
    province_code: str
    settlement_code: str | None = Field(description="null: no settlement, or hidden from the caller")
    placed: Literal["point", "settlement", "county"] = Field(
        description="where it counts: its point, its settlement's point, or its county only"
    )
    lon: float | None = Field(description="null: a county-level group")
    lat: float | None
    position_generalised: bool = Field(description="the place is the generalised position of the true one")
    active: bool
    members: dict[str, int] = Field(description="speciality -> members")
    members_total: int
    places: dict[str, int] = Field(description="service -> places it supplies (none while inactive)")
    synthetic: bool


class VolunteerGroups(Answer):
    """The volunteer groups of the caller's provinces."""

    as_of: AsOf
    norms_version: str
    numberReturned: int
    groups: list[VolunteerGroup]
    norms: VolunteerNormsAnswer
    notice: NoticeField


class VolunteerCountyRow(Answer):
    county_code: str
    county_fa: str | None
    province_code: str | None
    groups: int
    active_groups: int
    members: int
    active_members: int
    placed_groups: int = Field(description="groups at a point or a settlement (counted in access too)")
    county_level_groups: int = Field(description="groups known by their county only (saturation only)")
    places: int = Field(description="volunteer places, every service (the services' places add up to it)")
    members_by_speciality: dict[str, int]
    places_by_service: dict[str, int]


class VolunteerSummary(Answer):
    """Volunteers per county of the caller's, and their totals."""

    as_of: AsOf
    norms_version: str
    numberReturned: int
    rows: list[VolunteerCountyRow]
    totals: dict[str, int] = Field(description="groups, members, active members, per speciality, places")
    norms: VolunteerNormsAnswer
    notice: NoticeField


class CatalogueLabel(BaseModel):
    fa: str
    en: str


class CatalogueService(BaseModel):
    code: str = Field(description="the service type's code")
    label_fa: str
    label_en: str
    modes: list[str] = Field(description="how it is delivered; the first is its main mode")
    main_mode: str
    provider_kinds: list[str]
    reach: dict[str, float | None] = Field(description="mode -> how far its providers serve (null: remote)")
    reach_unit: Literal["km", "min"]
    catchment_km: float
    norm_per_10k: float
    min_population: float
    max_distance_km: float
    min_access_share: float


class CatalogueVersion(BaseModel):
    version: str
    imported_at: str
    imported_by: str
    services: int


class Catalogue(BaseModel):
    """The service catalogue in force and the versions an administrator imported."""

    version: str = Field(description="the norms' version")
    source: Literal["file", "imported"] = Field(description="the norms file, or an imported version")
    imported_at: str | None
    imported_by: str | None
    travel: str
    services: list[CatalogueService]
    modes: dict[str, CatalogueLabel]
    provider_kinds: dict[str, CatalogueLabel]
    versions: list[CatalogueVersion]
