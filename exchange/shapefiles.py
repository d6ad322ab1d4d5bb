"""Shapefile export for desktop GIS users.

Field names are the schema's 10-character ``shp`` names; text is UTF-8 with a ``.cpg`` file so
that Persian names survive in QGIS and ArcGIS.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from geo.schema import conform, layer

#: The files that make up one shapefile.
SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def write_shapefile(name: str, frame: gpd.GeoDataFrame, path: Path) -> Path:
    """Write layer ``name`` to the shapefile ``path`` (``.shp``, with .cpg, .prj, .dbf, .shx)."""
    spec = layer(name)
    if spec.geometry_type is None:
        raise ValueError(f"{name} has no geometry; shapefiles need one")
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    # conformed first: a nullable column the frame lacks (a layer written before it was added) is empty
    renamed = conform(frame, spec).rename(columns={c.name: c.shp_name for c in spec.columns})
    for col in spec.columns:
        if col.dtype == "int" and renamed[col.shp_name].isna().any():
            renamed[col.shp_name] = renamed[col.shp_name].astype("float64")
        elif col.dtype == "bool":
            renamed[col.shp_name] = renamed[col.shp_name].astype("int64")
        elif col.dtype == "date":
            renamed[col.shp_name] = renamed[col.shp_name].dt.date
    for ext in SIDECARS:
        path.with_suffix(ext).unlink(missing_ok=True)
    import pyogrio  # GDAL, loaded at the first file written

    pyogrio.write_dataframe(
        renamed, path, driver="ESRI Shapefile", encoding="UTF-8", geometry_type=spec.geometry_type
    )
    return path
