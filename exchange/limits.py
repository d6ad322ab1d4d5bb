"""Limits on what a user's file may hold, and on the process that reads it.

Every figure can be changed in the environment (``AMAYESH_`` + the upper-case field name, e.g.
``AMAYESH_MAX_ROWS=500000``); README.md ("Limits") lists them. A file beyond a limit is refused
as a whole, with a reason, before it can cost the server memory or time.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMAYESH_", extra="ignore")

    #: The largest file accepted (a zipped shapefile counts its zip).
    max_file_mb: float = Field(200.0, gt=0)
    #: Zips (zipped shapefiles, XLSX): the most entries, the largest total size once unpacked,
    #: and the largest unpacked/packed ratio of any entry and of the whole.
    max_zip_entries: int = Field(200, gt=0)
    max_unzipped_mb: float = Field(1000.0, gt=0)
    max_zip_ratio: float = Field(200.0, gt=1)
    #: Rows (features) per file.
    max_rows: int = Field(200_000, gt=0)
    #: Vertices of one feature, and of the whole file.
    max_vertices_per_feature: int = Field(200_000, gt=0)
    max_vertices_per_file: int = Field(5_000_000, gt=0)
    #: How deep geometries may nest (a MultiPolygon is 1, a collection inside a collection 2…).
    max_geometry_depth: int = Field(4, ge=1)
    #: How deep a JSON document may nest (GeoJSON of a MultiPolygon feature is about 7).
    max_json_depth: int = Field(64, ge=8)
    #: Characters in one CSV or XLSX cell (a county boundary's WKT can be long).
    max_cell_chars: int = Field(20_000_000, gt=0)
    #: The reading process: address space (MB), CPU seconds, and wall-clock seconds before it is
    #: killed and the file refused.
    reader_memory_mb: int = Field(3072, ge=512)
    reader_cpu_seconds: int = Field(120, ge=1)
    reader_timeout_seconds: float = Field(180.0, gt=0)
    #: Polygons must lie within their county, allowing this much (metres) for generalised edges.
    county_tolerance_m: float = Field(500.0, ge=0)
    #: Plausible areas per polygon layer (km²): smaller or larger is refused.
    area_km2: dict[str, tuple[float, float]] = {
        "provinces": (100.0, 400_000.0),
        "counties": (1.0, 250_000.0),
        "target_areas": (0.0001, 2_000.0),
    }


@lru_cache
def get_limits() -> Limits:
    return Limits()
