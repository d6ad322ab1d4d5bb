"""The service's request and response models, in one place (named for their role)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from geo.schema import SERVICE_TYPES

ServiceType = Enum("ServiceType", {name: name for name in SERVICE_TYPES}, type=str)


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
