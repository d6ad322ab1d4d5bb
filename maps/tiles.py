"""Mapbox vector tiles (Web Mercator XYZ) of the dense layers, simplified and thinned per zoom.

A tile holds only what a map needs: a few properties per feature, polygons simplified to a
pixel at the tile's zoom and clipped to it (with a small buffer), and at most
``MAX_FEATURES`` points, the largest kept, so that no tile grows past a few hundred kilobytes.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.schema import columns_of

EXTENT = 4096
BUFFER = 64  # tile units of margin around a tile, so lines and labels do not break at its edge
MAX_FEATURES = 4000
#: the deepest zoom whose simplified layer is kept whole (``TileSource._geometries_at``): the
#: service prepares every tile down to it (``api.routers.tiles.PREPARED_ZOOMS``)
KEPT_ZOOM = 8
WORLD = 20037508.342789244
MAX_ZOOM = 22


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds of tile z/x/y."""
    size = 2 * WORLD / (1 << z)
    minx = -WORLD + x * size
    maxy = WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def tiles_covering(bounds: Sequence[float], z: int) -> tuple[range, range]:
    """The x and y ranges of the zoom-``z`` tiles that cover ``bounds`` (minLon, minLat, maxLon, maxLat)."""
    minx, miny, maxx, maxy = bounds
    n = 1 << z

    def tx(lon: float) -> int:
        return min(max(int((lon + 180) / 360 * n), 0), n - 1)

    def ty(lat: float) -> int:
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return min(max(int(y), 0), n - 1)

    return range(tx(minx), tx(maxx) + 1), range(ty(maxy), ty(miny) + 1)


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)


@dataclass
class TileSource:
    """One layer ready for tiling: geometry in Web Mercator, the properties a map needs, and a
    weight deciding which points are kept when a tile is full."""

    name: str
    frame: gpd.GeoDataFrame  # EPSG:3857; of points, only their properties once their x and y are taken
    properties: Sequence[str]
    weight: np.ndarray | None = None
    #: the points' x and y in Web Mercator, when ``frame`` holds their properties alone
    xy: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_layer(
        cls, name: str, frame: gpd.GeoDataFrame, properties: Sequence[str], weight: str | None = None
    ):
        w = None if weight is None else frame[weight].to_numpy(dtype="float64")
        geoms = frame.geometry.to_numpy()
        if len(geoms) and (shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all():
            # Points straight to their x and y in Web Mercator: no GEOS point made per feature.
            to_merc = pyproj.Transformer.from_crs(frame.crs, 3857, always_xy=True)
            x, y = to_merc.transform(shapely.get_x(geoms), shapely.get_y(geoms))
            return cls(name, columns_of(frame, properties), list(properties), w, xy=(x, y))
        merc = gpd.GeoDataFrame(
            columns_of(frame, properties),
            geometry=frame.geometry.to_crs(3857).to_numpy(),
            crs=3857,
            copy=False,
        )
        return cls(name, merc, list(properties), w)

    def __post_init__(self) -> None:
        if self.xy is not None:  # points given as their coordinates (``from_layer``)
            self.points = True
            self._x, self._y = (np.asarray(c, dtype="float64") for c in self.xy)
            self.xy = None
        else:
            geoms = self.frame.geometry.to_numpy()
            self.points = (
                bool(len(geoms)) and (shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all()
            )
            if self.points:
                self._x, self._y = shapely.get_x(geoms), shapely.get_y(geoms)
            else:
                self._tree = shapely.STRtree(geoms)
        if self.points:
            # Points are kept as their coordinates alone: the GEOS points of 99,654 settlements
            # (twice: settlements and settlement-access) took tens of MB for nothing.
            self.frame = columns_of(self.frame, self.properties)
        self._simplified: dict[int, np.ndarray] = {}
        self._prepared = False

    def _records(self, hit: np.ndarray) -> list[dict]:
        """The properties of the rows at ``hit``, missing values as None. Made per tile, not kept
        for the whole layer: a frame of boxed Python values per layer cost more than the layer."""
        props = self.frame[list(self.properties)].iloc[hit]
        return props.astype(object).where(props.notna(), None).to_dict("records")

    def _geometries_at(self, z: int, hit: np.ndarray) -> np.ndarray:
        """The geometries at ``hit`` simplified to a pixel of zoom ``z``. Up to ``KEPT_ZOOM`` the
        whole layer is simplified once per zoom and kept (a low-zoom tile holds most of it);
        deeper, only a tile's own geometries are (the same result: each is simplified alone),
        so a first tile at zoom 11 does not simplify every county of the country, and no
        near-full-resolution copy of the layer is kept per zoom."""
        pixel = 2 * WORLD / (1 << z) / EXTENT
        # Taken before ``_prepared`` is read: ``prepared()`` sets that first and then puts an empty
        # dict in place, so a copy made here while it runs goes into the dict it let go.
        simplified = self._simplified
        if z > KEPT_ZOOM or self._prepared:
            return shapely.simplify(self.frame.geometry.to_numpy()[hit], pixel, preserve_topology=True)
        kept = simplified.get(z)
        if kept is None:
            kept = simplified[z] = shapely.simplify(
                self.frame.geometry.to_numpy(), pixel, preserve_topology=True
            )
        return kept[hit]

    def prepared(self) -> None:
        """Its tiles down to ``KEPT_ZOOM`` are made and cached: the whole layer's simplified
        copies are let go (312,000 coordinates, 10 MB, for the national counties), and a tile the
        cache no longer holds is made from its own geometries, as deeper tiles are."""
        self._prepared = True
        self._simplified = {}

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The MVT of tile z/x/y (an empty bytes object when nothing falls in it)."""
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        margin = (maxx - minx) * BUFFER / EXTENT
        box = (minx - margin, miny - margin, maxx + margin, maxy + margin)
        if self.points:
            hit = np.flatnonzero(
                (self._x >= box[0]) & (self._x <= box[2]) & (self._y >= box[1]) & (self._y <= box[3])
            )
            if len(hit) > MAX_FEATURES and self.weight is not None:
                keep = np.argsort(-self.weight[hit], kind="stable")[:MAX_FEATURES]
                hit = np.sort(hit[keep])
            if len(hit) == 0:
                return b""
            # Into tile units, as the general path below does, and encoded directly.
            sx, sy = EXTENT / (maxx - minx), EXTENT / (maxy - miny)
            columns = [_plain_column(self.frame[p].iloc[hit]) for p in self.properties]
            return encode_points(
                self.name,
                ((self._x[hit] - minx) * sx).tolist(),
                ((self._y[hit] - miny) * sy).tolist(),
                list(self.properties),
                columns,
            )
        else:
            hit = np.sort(self._tree.query(shapely.box(*box), predicate="intersects"))
            geoms = shapely.clip_by_rect(self._geometries_at(z, hit), *box)
        if len(hit) == 0:
            return b""
        # Into tile units (y up; the encoder flips it to MVT's y down), in one vectorised step.
        sx, sy = EXTENT / (maxx - minx), EXTENT / (maxy - miny)
        geoms = shapely.transform(geoms, lambda xy: (xy - (minx, miny)) * (sx, sy))
        records = self._records(hit)
        features = [
            {"geometry": g, "properties": {k: _plain(v) for k, v in r.items() if v is not None}}
            for g, r in zip(geoms, records, strict=True)
            if g is not None and not g.is_empty
        ]
        if not features:
            return b""
        return mapbox_vector_tile.encode(
            [{"name": self.name, "features": features}],
            default_options={
                "extents": EXTENT,
                "y_coord_down": False,
            },
        )


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain_column(values: pd.Series) -> list:
    """A column's values as ``_plain`` makes each (missing ones None), in one pass."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        if not values.hasnans:
            return values.to_numpy().tolist()  # Python ints and bools already
    elif pd.api.types.is_float_dtype(values.dtype):
        array = values.to_numpy(dtype="float64")
        out = array.tolist()
        for i in np.flatnonzero(~np.isfinite(array)).tolist():
            out[i] = None
        return out
    out = values.astype(object).where(values.notna(), None).tolist()
    return [v if v is None or type(v) is str else _plain(v) for v in out]


# ---- a layer of points, encoded directly ---------------------------------------------------------
# Byte for byte what ``mapbox_vector_tile.encode`` makes of the same points and properties with
# ``y_coord_down=False`` (tests hold it to that), without building a shapely point and a protobuf
# object per feature: the MVT of a tile of 4,000 villages in a few milliseconds, not tens.


def _varint_of(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 as protobuf writes it: ten bytes
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


#: the varints of 0 … 2¹⁴ - 1 (one or two bytes): coordinates, indexes and lengths in a tile
_SMALL = tuple(_varint_of(v) for v in range(1 << 14))


def _varint(value: int) -> bytes:
    return _SMALL[value] if 0 <= value < 16384 else _varint_of(value)


def _delimited(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(payload)) + payload


def _value(value) -> bytes:
    """An MVT ``Value`` message (mapbox_vector_tile's choice of field per Python type)."""
    if isinstance(value, bool):
        return b"\x38" + _varint(int(value))
    if isinstance(value, str):
        return _delimited(0x0A, value.encode("utf-8"))
    if isinstance(value, int):
        return b"\x20" + _varint(value)
    return b"\x19" + struct.pack("<d", value)


def encode_points(name: str, xs: list[float], ys: list[float], keys: list[str], columns: list[list]) -> bytes:
    """The MVT (extent ``EXTENT``, y up) of one layer of points at tile units ``xs``, ``ys``
    with properties ``keys`` (``columns`` of plain values; None: left out)."""
    small, varint, plain_types = _SMALL, _varint, (str, bool, int, float)
    key_index: dict[str, int] = {}
    value_index: dict = {}
    bool_index: dict = {}
    values: list[bytes] = []
    features = []
    rows = zip(*columns, strict=True) if columns else iter([()] * len(xs))
    for x, y, row in zip(xs, ys, rows, strict=True):
        tags = []
        for k, v in zip(keys, row, strict=True):
            if v is None or not isinstance(v, plain_types):
                continue
            ki = key_index.get(k)
            if ki is None:
                ki = key_index[k] = len(key_index)
            seen = bool_index if v is True or v is False else value_index
            vi = seen.get(v)
            if vi is None:
                vi = seen[v] = len(values)
                values.append(_value(v))
            tags.append(small[ki])
            tags.append(small[vi] if vi < 16384 else varint(vi))
        gx, gy = round(x), EXTENT - round(y)
        zx, zy = (gx << 1) ^ (gx >> 31), (gy << 1) ^ (gy >> 31)
        geometry = (
            b"\x09"
            + (small[zx] if 0 <= zx < 16384 else varint(zx))
            + (small[zy] if 0 <= zy < 16384 else varint(zy))
        )
        packed = b"".join(tags)
        body = (
            (b"\x12" + varint(len(packed)) + packed if packed else b"")
            + b"\x18\x01\x22"
            + small[len(geometry)]
            + geometry
        )
        features.append(b"\x12" + varint(len(body)) + body)
    layer = bytearray(_delimited(0x0A, name.encode("utf-8")))
    layer += b"".join(features)
    for k in key_index:
        layer += _delimited(0x1A, k.encode("utf-8"))
    for v in values:
        layer += _delimited(0x22, v)
    layer += b"\x28" + _varint(EXTENT) + b"\x78\x02"
    return _delimited(0x1A, bytes(layer))
