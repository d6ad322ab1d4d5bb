"""Reading and writing the exchange formats."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from exchange.kinds import FORMATS, SUFFIX_FORMAT
from exchange.shapefiles import write_shapefile
from geo.errors import ImportFileError as ImportFileError


def _ogr():
    """pyogrio (GDAL), imported at the first file written: loading it costs about 100 MB."""
    import pyogrio

    return pyogrio


#: Text cells that a spreadsheet would run as a formula begin with one of these.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def format_of(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", "format")
        return fmt
    try:
        return SUFFIX_FORMAT[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(
            f"cannot tell the format of {path.name}; use .gpkg, .geojson, .csv, .xlsx, .shp or .zip",
            "format",
        ) from None


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``…) with ``'``."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
            )
    return out


#: The most characters a spreadsheet cell holds.
XLSX_CELL_LIMIT = 32_767


def tabular(frame: pd.DataFrame, *, cell_limit: int | None = None) -> pd.DataFrame:
    """A layer as a plain table: points as lon/lat, other geometries as WKT; formulas neutralised.

    With ``cell_limit`` (spreadsheets), polygons whose WKT would not fit in a cell are given as
    the lon/lat of a point inside them instead, for every row (a boundary cut short would be
    worse than none); such a table re-imports only as points.
    """
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        wkt = None
        if len(geoms) and not (geoms.geom_type == "Point").all():
            wkt = shapely.to_wkt(geoms.to_numpy(), rounding_precision=9, trim=True)
            if cell_limit and max(len(w) for w in wkt) > cell_limit:
                wkt = None
                geoms = geoms.representative_point()
        if wkt is None:
            table["lon"] = geoms.x.round(9)
            table["lat"] = geoms.y.round(9)
        else:
            table["wkt"] = wkt
    else:
        table = pd.DataFrame(frame)
    for col in table.columns:
        if pd.api.types.is_datetime64_any_dtype(table[col]):
            if getattr(table[col].dt, "tz", None) is not None:
                table[col] = table[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                table[col] = table[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_extension_array_dtype(table[col]):
            table[col] = table[col].astype(object).where(table[col].notna(), None)
    return neutralise_formulas(table.astype(object).where(table.notna(), None)).replace({np.nan: None})


def write_file(frame: pd.DataFrame, path: Path, *, layer: str, fmt: str | None = None) -> Path:
    """Write a layer to ``path`` in the format its suffix (or ``fmt``) names."""
    path = Path(path)
    kind = format_of(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        tabular(frame).to_csv(path, index=False, encoding="utf-8-sig")
    elif kind == "xlsx":
        tabular(frame, cell_limit=XLSX_CELL_LIMIT).to_excel(
            path, index=False, sheet_name=layer[:31], engine="openpyxl"
        )
    elif kind == "shp":
        write_shapefile(layer, frame, path)
    else:
        driver = "GPKG" if kind == "gpkg" else "GeoJSON"
        if path.exists():
            path.unlink()
        out = frame.copy()
        for col in out.columns:
            if str(out[col].dtype) == "boolean":
                out[col] = out[col].astype(object).where(out[col].notna(), None)
        kwargs = {"layer": layer} if kind == "gpkg" else {}
        if isinstance(out, gpd.GeoDataFrame):
            _ogr().write_dataframe(out, path, driver=driver, **kwargs)
        else:
            _ogr().write_dataframe(pd.DataFrame(out), path, driver=driver, **kwargs)
    return path
