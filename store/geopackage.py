"""Reading a whole table of a GeoPackage with SQLite alone, without GDAL.

A GeoPackage is an SQLite database whose geometries are blobs: a short header (``GP``, a
version, flags, the SRS id and an optional envelope) followed by standard WKB
(OGC GeoPackage 1.3, §2.1.3). Reading them needs SQLite and shapely's WKB reader, not GDAL:
loading GDAL and its libraries (pyogrio) costs the process about 100 MB of resident memory, more
than half of it private pages, and a service that only reads its store (the snapshot, the road
network) need not pay it. Writing, reading by bounding box, and files of other formats still go
through GDAL, loaded when first needed.

The frame has the table's columns in the file's order and the rows in the order of the table's
primary key (the order GDAL reads them in); the values as SQLite holds them, in columns of
Python objects (dates and times as ISO text, booleans as 0/1): ``geo.schema.conform`` gives the
layers their dtypes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

#: Bytes of the envelope after the 8-byte header, by the flags' envelope indicator (bits 1–3):
#: none, [minx, maxx, miny, maxy], with z, with m, with z and m; 5–7 are invalid.
_ENVELOPE_BYTES = (0, 32, 48, 48, 64)


class NotAGeoPackageTable(Exception):
    """The file or table cannot be read as a GeoPackage table here (the caller asks GDAL)."""


def wkb_of(blob: bytes | None) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (None for a missing geometry)."""
    if blob is None:
        return None
    if blob[:2] != b"GP" or len(blob) < 8:
        raise NotAGeoPackageTable("a geometry is not a GeoPackage geometry blob")
    indicator = (blob[3] >> 1) & 7
    if indicator >= len(_ENVELOPE_BYTES):
        raise NotAGeoPackageTable(f"a geometry blob has an invalid envelope indicator {indicator}")
    return blob[8 + _ENVELOPE_BYTES[indicator] :]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_table(
    path: Path,
    table: str,
    chunk: int = 5000,
    each: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame | gpd.GeoDataFrame:
    """The table ``table`` of the GeoPackage at ``path`` whole: a GeoDataFrame (its CRS from
    ``gpkg_spatial_ref_sys``) if the table has a geometry column, else a DataFrame. Rows are
    fetched ``chunk`` at a time and each chunk's frame passes through ``each`` (for example to
    share repeated strings before the next chunk is read).

    Raises ``NotAGeoPackageTable`` when the file is no GeoPackage this reader knows (no
    ``gpkg_contents``, an unknown SRS, a blob that is no GeoPackage geometry).
    """
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return _read(conn, table, chunk, each)
    except sqlite3.Error as err:
        raise NotAGeoPackageTable(str(err)) from err


def _read(conn: sqlite3.Connection, table: str, chunk: int, each) -> pd.DataFrame | gpd.GeoDataFrame:
    listed = conn.execute("SELECT data_type FROM gpkg_contents WHERE table_name = ?", (table,)).fetchone()
    if listed is None:
        raise NotAGeoPackageTable(f"{table} is not listed in gpkg_contents")
    info = conn.execute(
        f"PRAGMA table_info({_quoted(table)})"
    ).fetchall()  # cid, name, type, notnull, default, pk
    geometry = conn.execute(
        "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (table,)
    ).fetchone()
    keys = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
    geometry_column = geometry[0] if geometry is not None else None
    columns = [row[1] for row in info if row[1] not in keys and row[1] != geometry_column]
    crs = _crs(conn, geometry[1]) if geometry is not None else None
    selected = [*columns, *([geometry_column] if geometry_column else [])]
    order = f" ORDER BY {', '.join(_quoted(k) for k in keys)}" if keys else ""
    cursor = conn.execute(f"SELECT {', '.join(_quoted(c) for c in selected)} FROM {_quoted(table)}{order}")
    parts = list(_chunks(cursor, columns, geometry_column, crs, chunk, each))
    if not parts:
        parts = [_frame([], columns, geometry_column, crs)]
    if len(parts) == 1:
        return parts[0]
    joined = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(joined, crs=crs) if geometry_column else joined


def _chunks(cursor, columns, geometry_column, crs, chunk, each) -> Iterator[pd.DataFrame]:
    while rows := cursor.fetchmany(chunk):
        frame = _frame(rows, columns, geometry_column, crs)
        yield each(frame) if each is not None else frame


def _frame(rows: list[tuple], columns: list[str], geometry_column: str | None, crs):
    values = list(zip(*rows, strict=True)) if rows else [()] * (len(columns) + bool(geometry_column))
    data = {name: pd.Series(values[i], dtype=object) for i, name in enumerate(columns)}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    if geometry_column is None:
        return frame
    geometries = shapely.from_wkb([wkb_of(blob) for blob in values[len(columns)]])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries, index=frame.index, crs=crs), crs=crs)


def _crs(conn: sqlite3.Connection, srs_id: int):
    row = conn.execute(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
        (srs_id,),
    ).fetchone()
    if row is None:
        raise NotAGeoPackageTable(f"the SRS {srs_id} is not in gpkg_spatial_ref_sys")
    organization, code, definition = row
    if str(organization).upper() == "EPSG" and code is not None and int(code) > 0:
        return f"EPSG:{int(code)}"
    if srs_id in (-1, 0) or not definition or definition == "undefined":
        return None
    return definition
