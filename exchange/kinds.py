"""The file kinds Amayesh exchanges, named once (standard library only: the reading process
imports this before GDAL loads)."""

from __future__ import annotations

#: The formats a layer is imported from and exported to.
FORMATS = ("gpkg", "geojson", "csv", "xlsx", "shp")

#: The format a file's suffix claims (the reader checks the claim against the content).
SUFFIX_FORMAT = {
    ".gpkg": "gpkg",
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".shp": "shp",
    ".zip": "shp",
}

#: The only GDAL drivers the reading process registers; every other one is skipped.
ALLOWED_GDAL_DRIVERS = ("ESRI Shapefile", "GPKG", "GeoJSON")
