"""The service's request and response models, in one place (named for their role)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from geo.schema import SERVICE_TYPES

ServiceType = Enum("ServiceType", {name: name for name in SERVICE_TYPES}, type=str)


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


class LicenceCheckRequest(BaseModel):
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
