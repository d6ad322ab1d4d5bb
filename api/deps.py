"""Dependencies shared by the routers: the current snapshot and common query parameters."""

from __future__ import annotations

import functools
import inspect
import json
import math
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from starlette.responses import FileResponse

from geo.errors import BadParameter as BadParameter
from geo.schema import LAYERS, columns_of
from services import exporter
from services.snapshot import Snapshot

MAX_LIMIT = 1000


async def snapshot(request: Request) -> Snapshot:
    """The current snapshot as the caller may see it: their provinces, NGO positions generalised
    unless their role has the exact-location right (``services.scope``)."""
    from api.security import current_user
    from services.scope import scope_of, view

    return view(await national_snapshot(request), scope_of(current_user(request)))


def require_export(request: Request) -> None:
    """Downloads (csv, xlsx, gpkg, geojson) need the export right."""
    from api.security import RIGHTS, Forbidden, current_user, has_right

    user = current_user(request)
    if not has_right(user, "export"):
        role = user.role if user else "public"
        raise Forbidden(
            f"the role {role} may not download exports (needs: {', '.join(RIGHTS['export'])})", code="role"
        )


async def snapshot_in_period(
    request: Request,
    period: Annotated[
        str | None,
        Query(
            max_length=40,
            description="a Jalali period (1402, 1402Q4, 1402-12): the analysis with the licences as "
            "their dates make them at the period's end (default: the service's as-of day)",
            examples=["1402"],
        ),
    ] = None,
) -> Snapshot:
    """``snapshot``, at the end of a Jalali ``period`` if one is asked: the registry's statuses on
    that day (``Snapshots.at``; a period not over at the as-of day is read at the as-of day)."""
    from api.security import current_user
    from geo.errors import BadPeriod
    from geo.periods import parse_period
    from maps.i18n import jalali_date
    from services.scope import scope_of, view

    national = await national_snapshot(request)
    if period is not None:
        asked = parse_period(period)
        if asked.start > national.as_of:
            raise BadPeriod(
                f"the period {asked.id} starts after the service's as-of day {national.as_of.isoformat()}",
                f"دورهٔ {asked.label_fa} پس از تاریخ مبنای سامانه ({jalali_date(national.as_of, 'fa')}) آغاز می‌شود",
            )
        day = min(asked.end, national.as_of)
        national = await run_in_threadpool(request.app.state.snapshots.at, national, day)
    return view(national, scope_of(current_user(request)))


async def national_snapshot(request: Request) -> Snapshot:
    """The whole snapshot: only for answers that are aggregates by design (the public view)."""
    # Async, so that the cheap version check (a GeoPackage's stat) does not cost a trip through
    # the thread pool; loading the layers (and PostGIS's version query) runs in a thread, never
    # on the event loop.
    snaps = request.app.state.snapshots
    snap = snaps.fresh()
    if snap is None:
        snap = await run_in_threadpool(snaps.current)
    return snap


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    """``minLon,minLat,maxLon,maxLat`` in WGS 84, checked."""
    if bbox is None:
        return None
    parts = bbox.split(",")
    if len(parts) != 4:
        raise BadParameter("bbox must be four numbers: minLon,minLat,maxLon,maxLat")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise BadParameter(f"bbox must be numbers, not {bbox!r}") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise BadParameter("bbox must be finite numbers")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise BadParameter("bbox is out of range: longitudes -180..180, latitudes -90..90")
    if minx > maxx or miny > maxy:
        raise BadParameter("bbox is inverted: give minLon,minLat,maxLon,maxLat")
    return minx, miny, maxx, maxy


BBox = Annotated[
    str | None, Query(description="minLon,minLat,maxLon,maxLat (WGS 84)", examples=["51,35,52,36"])
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"features per page (at most {MAX_LIMIT})")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="features to skip")]
Format = Annotated[
    str | None,
    Query(
        pattern="^(json|geojson|csv|xlsx|gpkg)$",
        description="json (GeoJSON page, default); geojson, csv, xlsx or gpkg: download every matching feature",
    ),
]


#: Columns the layers' schema types as dates (no time of day): written YYYY-MM-DD, as declared.
DATE_COLUMNS = frozenset(col.name for spec in LAYERS.values() for col in spec.columns if col.dtype == "date")


def _days(values: pd.Series) -> pd.Series:
    """A date column as YYYY-MM-DD texts, None where missing (``dt.strftime("%Y-%m-%d")`` of a
    zone-less column, written by NumPy: a tenth of the time)."""
    if getattr(values.dtype, "tz", None) is not None:
        return values.dt.strftime("%Y-%m-%d")
    days = np.datetime_as_string(values.to_numpy(), unit="D").astype(object)
    days[values.isna().to_numpy()] = None
    return pd.Series(days, index=values.index, dtype=object)


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-safe dicts (NaN and NaT become null; dates YYYY-MM-DD, date-times ISO 8601)."""
    if frame.empty:
        return []
    dates = [c for c in frame.columns if c in DATE_COLUMNS and pd.api.types.is_datetime64_any_dtype(frame[c])]
    if dates:
        frame = frame.assign(**{c: _days(frame[c]) for c in dates})
    return json.loads(
        frame.to_json(orient="records", date_format="iso", force_ascii=False, double_precision=10)
    )


def feature_collection(frame: gpd.GeoDataFrame, key: str) -> list[dict]:
    props = frame.drop(columns=frame.geometry.name)
    records = json_records(props)
    geoms = frame.geometry.to_numpy()
    import shapely

    geometries = [json.loads(g) if g is not None else None for g in shapely.to_geojson(geoms)]
    return [
        {"type": "Feature", "id": rec[key], "geometry": geom, "properties": rec}
        for rec, geom in zip(records, geometries, strict=True)
    ]


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` without making an encoder per call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def feature_texts(frame: gpd.GeoDataFrame, key: str) -> list[bytes]:
    """``feature_collection``'s features serialised, byte for byte as ``json.dumps`` writes them
    (compact, UTF-8), without building each feature as a dict of dicts first: a point's
    geometry is written straight from its coordinates (the shortest form of each, as Python
    writes a float); other geometries go through GEOS's GeoJSON and ``json`` as before."""
    properties = _properties(frame)
    rows = np.arange(len(properties))
    return _feature_texts(properties, frame.geometry.to_numpy(), key, rows, _column_writers(properties))


def _properties(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """The frame's columns but its geometry, as a plain DataFrame holding the same columns (no copy:
    taking rows from it is cheaper than from the GeoDataFrame)."""
    return columns_of(frame, [c for c in frame.columns if c != frame.geometry.name])


#: How ``json.dumps(..., ensure_ascii=False)`` writes a text (the C function where there is one).
_TEXT = json.encoder.encode_basestring


class _NotMissing(Exception):
    """A value of a column of texts that is neither a text nor missing."""


def _null(value) -> str:
    """``null`` for a missing value (None, NA, NaN); ``_NotMissing`` for any other."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "null"
    raise _NotMissing


def _column_writer(properties: pd.DataFrame, name: str) -> Callable[[np.ndarray], list[str]] | None:
    """What writes the column ``name``'s values at given rows as compact JSON texts, each as
    ``json.dumps`` writes the value ``json_records`` makes of it. Texts, integers and booleans
    (missing ones null) are written here, a value at a time, from the column's own array (taken
    once, not copied), without pandas's JSON writer and ``json.loads``, and so are the layers'
    dates. None for any other column (numbers with a fraction, other objects): those go through
    ``json_records`` together, so their values are written exactly as before."""
    column = properties[name]
    dtype = column.dtype

    def as_before(rows: np.ndarray) -> list[str]:
        return [_COMPACT(r[name]) for r in json_records(properties[[name]].take(rows))]

    if name in DATE_COLUMNS and dtype.kind == "M" and getattr(dtype, "tz", None) is None:
        moments = column.to_numpy()

        def days(rows: np.ndarray) -> list[str]:  # as ``_days`` writes them: YYYY-MM-DD
            taken = moments[rows]
            out = np.char.add(np.char.add('"', np.datetime_as_string(taken, unit="D")), '"').astype(object)
            out[np.isnat(taken)] = "null"
            return out.tolist()

        return days
    if not isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biu":
        plain = column.to_numpy()
        if dtype.kind == "b":
            return lambda rows: ["true" if v else "false" for v in plain[rows].tolist()]
        return lambda rows: [str(v) for v in plain[rows].tolist()]
    if isinstance(dtype, pd.BooleanDtype) or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu"  # Int64 …
    ):
        array = column.array
        word = (lambda v: "true" if v else "false") if isinstance(dtype, pd.BooleanDtype) else str
        data, mask = getattr(array, "_data", None), getattr(array, "_mask", None)
        if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):  # pandas' masked arrays
            return lambda rows: [
                "null" if m else word(v)
                for v, m in zip(data[rows].tolist(), mask[rows].tolist(), strict=True)
            ]
        return lambda rows: [  # another array of them (sparse, say)
            "null" if v is None else word(v)
            for v in array.take(rows).to_numpy(dtype=object, na_value=None).tolist()
        ]
    if isinstance(dtype, np.dtypes.ObjectDType) or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "python"  # Python's own strings
    ):
        objects = np.asarray(column.array, dtype=object)

        def texts(rows: np.ndarray) -> list[str]:
            try:
                return [_TEXT(v) if isinstance(v, str) else _null(v) for v in objects[rows].tolist()]
            except _NotMissing:  # another kind of object: as before
                return as_before(rows)

        return texts
    return None


@dataclass(frozen=True)
class _Writers:
    """How a frame's rows are written: each column's name, that name as JSON and its writer
    (``_column_writer``), and the columns without one, written by ``json_records`` together."""

    columns: list[tuple[str, str, Callable[[np.ndarray], list[str]] | None]]
    rest: pd.DataFrame | None


def _column_writers(properties: pd.DataFrame) -> _Writers | None:
    """The writers of ``properties``' columns; None when a name is not a text or two are the
    same (pandas writes such names its own way: the frame is then written whole)."""
    names = list(properties.columns)
    if not all(isinstance(name, str) for name in names) or len(set(names)) < len(names):
        return None
    columns = [(name, _TEXT(name), _column_writer(properties, name)) for name in names]
    rest = [name for name, _, write in columns if write is None]
    return _Writers(columns, columns_of(properties, rest) if rest else None)


def _json_value(value) -> str:
    """A value of ``json_records`` as ``json.dumps`` writes it (the common kinds without the encoder)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is float:
        return float.__repr__(value) if math.isfinite(value) else _COMPACT(value)
    if kind is int:
        return int.__repr__(value)
    if kind is str:
        return _TEXT(value)
    return _COMPACT(value)


def _plain_points(geoms: np.ndarray) -> np.ndarray:
    """Which geometries are points of two finite coordinates (written straight from their x and
    y; a NaN would be written as no JSON has it)."""
    import shapely

    present = ~shapely.is_missing(geoms)
    point = present & (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms) & ~shapely.has_z(geoms)
    at = np.flatnonzero(point)
    point[at] = np.isfinite(shapely.get_x(geoms[at])) & np.isfinite(shapely.get_y(geoms[at]))
    return point


def _feature_texts(
    properties: pd.DataFrame,
    geoms: np.ndarray,
    key: str,
    rows: np.ndarray,
    writers: _Writers | None,
    points: np.ndarray | None = None,
) -> list[bytes]:
    """The features of ``properties``' rows at ``rows`` with their geometries ``geoms`` (already
    taken at ``rows``), serialised as ``feature_texts`` says; ``writers`` are
    ``_column_writers(properties)``, ``points`` ``_plain_points(geoms)`` when the caller keeps it."""
    import shapely

    if not len(rows):
        return []
    if writers is not None:
        if key not in properties.columns:
            raise KeyError(key)
        whole = json_records(writers.rest.take(rows)) if writers.rest is not None else []
        values = {
            name: write(rows) if write is not None else [_json_value(r[name]) for r in whole]
            for name, _, write in writers.columns
        }
        members = [[f"{label}:{v}" for v in values[name]] for name, label, _ in writers.columns]
        records = [",".join(row) for row in zip(*members, strict=True)] if members else [""] * len(rows)
        ids = values[key]
    else:  # names pandas writes its own way (dates, numbers) or the same twice: as a whole
        whole = json_records(properties.take(rows))
        ids = [_COMPACT(r[key]) for r in whole]
        records = [_COMPACT(r)[1:-1] for r in whole]
    texts: list[str] = ["null"] * len(geoms)
    point = _plain_points(geoms) if points is None else points
    at = np.flatnonzero(point)
    for i, x, y in zip(
        at.tolist(), shapely.get_x(geoms[at]).tolist(), shapely.get_y(geoms[at]).tolist(), strict=True
    ):
        texts[i] = f'{{"type":"Point","coordinates":[{x!r},{y!r}]}}'
    shapes = np.flatnonzero(~point & ~shapely.is_missing(geoms)) if len(at) < len(geoms) else at[:0]
    for i, g in zip(shapes.tolist(), shapely.to_geojson(geoms[shapes]), strict=True):
        texts[i] = _COMPACT(json.loads(g))
    return [
        f'{{"type":"Feature","id":{i},"geometry":{geom},"properties":{{{rec}}}}}'.encode()
        for i, rec, geom in zip(ids, records, texts, strict=True)
    ]


MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
}


def check_export_size(frame: pd.DataFrame, settings) -> None:
    """Refuse (413) an export beyond the rows or vertices one request may ask for."""
    rows = len(frame)
    if rows > settings.max_export_rows:
        raise HTTPException(
            413,
            f"the export would hold {rows:,} rows; at most {settings.max_export_rows:,} per request "
            "(AMAYESH_MAX_EXPORT_ROWS): filter it by province or county",
        )
    if isinstance(frame, gpd.GeoDataFrame) and rows:
        import shapely

        vertices = int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum())
        if vertices > settings.max_export_vertices:
            raise HTTPException(
                413,
                f"the export would hold {vertices:,} vertices; at most {settings.max_export_vertices:,} "
                "per request (AMAYESH_MAX_EXPORT_VERTICES): filter it by province or county",
            )


class TempFileResponse(FileResponse):
    """A file written for one answer, in a folder of its own that is removed when the answer
    ends however it ends: sent whole, a ``Range`` refused (400, 416: Starlette then skips a
    background task, and the file stayed), or the client gone."""

    def __init__(self, path: Path, folder: Path, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.folder = folder

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def written_file(prefix: str, name: str, write: Callable[[Path], Path], media_type: str) -> TempFileResponse:
    """``write(path)`` into a new folder and the file as the answer (``TempFileResponse``); a
    write that fails leaves no folder behind."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path = write(folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return TempFileResponse(path, folder, media_type=media_type, filename=path.name)


def download(frame: pd.DataFrame, name: str, fmt: str, settings=None) -> Response:
    """The frame as a file, written by the same export code the command line uses (in a worker
    process: the C code of the writers would hold the event loop's lock)."""
    if settings is not None:
        check_export_size(frame, settings)
    return written_file(
        "amayesh-export-",
        f"{name}.{fmt}",
        lambda path: exporter.write(frame, path, layer=name.replace("-", "_")),
        MEDIA[fmt],
    )


def filter_mask(
    frame: pd.DataFrame,
    filters: dict[str, tuple[str, str | None, tuple[str, ...] | None]],
    cache: Callable[[str, Callable[[], object]], object] | None = None,
) -> np.ndarray:
    """The rows passing equality filters ``{param: (column, value, choices)}``; unknown values refused.

    ``cache`` (a snapshot's ``small.get_or_build``, bounded in bytes) keeps each column's
    equality mask for later requests.
    """
    mask = np.ones(len(frame), dtype=bool)
    for param, (column, value, choices) in filters.items():
        if value is None:
            continue
        if choices is not None and value not in choices:
            raise BadParameter(f"unknown {param} {value!r}; one of: {', '.join(choices)}")

        def equal(column=column, value=value):
            return (frame[column] == value).to_numpy()

        mask &= cache(f"mask:{id(frame)}:{column}={value}", equal) if cache else equal()
    return mask


#: Features are packed in buffers of this many rows' places (a buffer holds the rows of its part
#: of the frame that have been read, in the order they were first asked for).
_FEATURE_CHUNK = 4096


class FeatureTexts:
    """Every row of a frame as a serialised GeoJSON Feature, made when a page first asks for that
    row and kept. The features are packed in UTF-8 buffers, one per ``chunk`` rows of the frame,
    with each row's start and end, so that a page is a join of slices: UTF-8 and one buffer hold
    the national flags in 74 MB where a Python string per feature took 140 MB (Persian text is two
    bytes a character either way, but str stores a whole string at the width of its widest
    character). A page makes only its own rows that are not made yet (about 4 ms for 100): the
    first pages after a load no longer wait behind a whole chunk of 4,096 made at once (70 ms),
    and a province's NGOs, spread over the frame, make only themselves."""

    def __init__(self, frame: gpd.GeoDataFrame, key: str, chunk: int = _FEATURE_CHUNK) -> None:
        self.key = key
        self.chunk = chunk
        self._properties = _properties(frame)
        # (``_column_writers``, ``_plain_points``), made at the first page
        self._writers: tuple | None = None
        self._geoms = frame.geometry.to_numpy()
        self._buffers: dict[int, bytearray] = {}
        # A row's slice of its chunk's buffer; start -1: not made. The end is written before the
        # start, so a reader that sees a start sees the whole row.
        self._start = np.full(len(frame), -1, dtype="int64")
        self._end = np.zeros(len(frame), dtype="int64")
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._geoms)

    @property
    def rows_made(self) -> int:
        return int(np.count_nonzero(self._start >= 0))

    def _make(self, positions: np.ndarray) -> None:
        with self._lock:
            ascending = len(positions) < 2 or bool((positions[1:] > positions[:-1]).all())
            rows = positions if ascending else np.unique(positions)  # a page is mostly in order
            rows = rows[self._start[rows] < 0]
            if not len(rows):
                return
            if self._writers is None:
                self._writers = (_column_writers(self._properties), _plain_points(self._geoms))
            writers, points = self._writers
            texts = _feature_texts(self._properties, self._geoms[rows], self.key, rows, writers, points[rows])
            lengths = np.fromiter(map(len, texts), dtype="int64", count=len(texts))
            chunks = rows // self.chunk
            for c in np.unique(chunks).tolist():  # one or two for a page
                at = np.flatnonzero(chunks == c)
                data = self._buffers.setdefault(c, bytearray())
                ends = len(data) + np.cumsum(lengths[at])
                data += b"".join([texts[k] for k in at.tolist()])
                self._end[rows[at]] = ends
                self._start[rows[at]] = ends - lengths[at]

    def __getitem__(self, i: int) -> bytearray:
        i = int(i)
        if self._start[i] < 0:
            self._make(np.array([i]))
        return self._buffers[i // self.chunk][self._start[i] : self._end[i]]

    def array(self, positions) -> bytes:
        """The features at ``positions`` as a JSON array (UTF-8)."""
        positions = np.asarray(positions, dtype="int64")
        if len(positions) and (self._start[positions] < 0).any():
            self._make(positions)
        chunk, buffers, start, end = self.chunk, self._buffers, self._start, self._end
        return b"[" + b",".join([buffers[i // chunk][start[i] : end[i]] for i in positions.tolist()]) + b"]"


def feature_strings(frame: gpd.GeoDataFrame, key: str) -> FeatureTexts:
    """Every row as a serialised GeoJSON Feature (``FeatureTexts``), each made when first read."""
    return FeatureTexts(frame, key)


def catalogued(snap, service_type: str | None) -> str | None:
    """``service_type`` if the catalogue of ``snap``'s norms has it (None stays None); an
    ``UnknownServiceError`` (400, in both languages) naming it and the catalogue's otherwise."""
    if service_type is None:
        return None
    return snap.norms.check_service(service_type)


def plain_json(endpoint: Callable) -> Callable:
    """An endpoint whose dict or list answer is written as JSON at once: the bytes Starlette's
    ``JSONResponse`` writes (compact, UTF-8, no NaN), without FastAPI's ``jsonable_encoder`` walk
    of every value first, which costs five to six times the dump itself on a national answer
    (189 ms against 38 for the 2.2 MB of ``/priorities``). What ``json`` cannot write itself (a
    date, a set, a model) still goes through the encoder. Any other answer (a download) is
    returned as it is. For synchronous endpoints answering 200 (a ``Response`` is sent as given)."""
    if inspect.iscoroutinefunction(endpoint):  # pragma: no cover - a programming error
        raise TypeError("plain_json is for synchronous endpoints")

    @functools.wraps(endpoint)
    def answer(*args, **kwargs):
        out = endpoint(*args, **kwargs)
        if not isinstance(out, (dict, list)):
            return out
        body = json.dumps(
            out, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=jsonable_encoder
        )
        return Response(body.encode("utf-8"), media_type="application/json")

    return answer
