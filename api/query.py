"""What an items request asks for, read from its parameters and checked: the edge of OGC API Features.

Parts 1-3: ``bbox`` (4 or 6 numbers, in ``bbox-crs``), ``datetime`` (an instant or an interval
with open ends ``..``), ``filter`` in CQL2 text or JSON (``filter-lang``, ``filter-crs``),
``sortby`` and ``crs``. CQL2 is parsed by pygeofilter into its syntax tree, which is then turned
into the small tree of ``geo.filtering`` node by node: a node type that is not listed here, a
property that is not a queryable of the collection or a literal of the wrong type is refused
with a 400 naming what is allowed. Nothing of the user's text is executed or pasted into SQL.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from functools import lru_cache

import pyproj
import shapely
from shapely.geometry import shape

from api.collections import Collection, Property
from api.deps import BadParameter
from geo import filtering as F

# ---- coordinate reference systems (Part 2) ---------------------------------------------------

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: The CRS the service can answer in: WGS 84 (lon/lat and, for EPSG:4326, lat/lon), Web
#: Mercator and the UTM zones that cover Iran (38N-41N).
SUPPORTED_CRS = {
    CRS84: "OGC:CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326": "EPSG:4326",
    "http://www.opengis.net/def/crs/EPSG/0/3857": "EPSG:3857",
    **{f"http://www.opengis.net/def/crs/EPSG/0/{code}": f"EPSG:{code}" for code in range(32638, 32642)},
}
#: ``[EPSG:4326]`` and ``EPSG:4326`` are accepted as short forms of the URIs.
_SHORT = re.compile(r"^\[?(EPSG|OGC):(\d+|CRS84)\]?$", re.IGNORECASE)


def crs_uri(value: str | None, parameter: str) -> str:
    """The canonical URI of a supported CRS, or a 400 naming the supported ones."""
    if value is None or value == "":
        return CRS84
    uri = value.strip()
    short = _SHORT.match(uri)
    if short:
        authority, code = short.group(1).upper(), short.group(2).upper()
        uri = CRS84 if code == "CRS84" else f"http://www.opengis.net/def/crs/{authority}/0/{code}"
    uri = uri.replace("https://", "http://")
    if uri not in SUPPORTED_CRS:
        raise BadParameter(f"{parameter} {value!r} is not supported; one of: {', '.join(SUPPORTED_CRS)}")
    return uri


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    # Authority axis order on purpose: EPSG:4326 coordinates are latitude, longitude (Part 2).
    return pyproj.Transformer.from_crs(SUPPORTED_CRS[source], SUPPORTED_CRS[target], always_xy=False)


def transform(geometry: shapely.Geometry, source: str, target: str) -> shapely.Geometry:
    """``geometry`` from CRS ``source`` to ``target`` (URIs), in each CRS's own axis order."""
    if source == target:
        return geometry
    t = _transformer(source, target)
    return shapely.transform(geometry, lambda xy: _stack(*t.transform(xy[:, 0], xy[:, 1])))


def transform_array(geoms, target: str):
    """CRS84 geometries (an array) in ``target``."""
    if target == CRS84:
        return geoms
    t = _transformer(CRS84, target)
    return shapely.transform(geoms, lambda xy: _stack(*t.transform(xy[:, 0], xy[:, 1])))


def _stack(x, y):
    import numpy as np

    return np.column_stack([x, y])


# ---- bbox and datetime (Part 1) -------------------------------------------------------------


def parse_bbox(bbox: str | None, bbox_crs: str | None = None) -> shapely.Geometry | None:
    """The area of ``bbox`` (4 numbers, or 6 with heights, which are ignored) as CRS84 polygon."""
    if bbox is None:
        if bbox_crs is not None:
            raise BadParameter("bbox-crs is given without bbox")
        return None
    crs = crs_uri(bbox_crs, "bbox-crs")
    parts = bbox.split(",")
    if len(parts) not in (4, 6):
        raise BadParameter(
            "bbox must be four numbers (minLon,minLat,maxLon,maxLat) or six with heights "
            "(minLon,minLat,minHeight,maxLon,maxLat,maxHeight)"
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise BadParameter(f"bbox must be numbers, not {bbox!r}") from None
    if not all(math.isfinite(v) for v in numbers):
        raise BadParameter("bbox must be finite numbers")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    if crs in (CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326"):
        lon = (minx, maxx) if crs == CRS84 else (miny, maxy)
        lat = (miny, maxy) if crs == CRS84 else (minx, maxx)
        if not (all(-180 <= v <= 180 for v in lon) and all(-90 <= v <= 90 for v in lat)):
            raise BadParameter("bbox is out of range: longitudes -180..180, latitudes -90..90")
    if minx > maxx or miny > maxy:
        raise BadParameter("bbox is inverted: give the lower corner first, then the upper corner")
    box = shapely.box(minx, miny, maxx, maxy)
    if crs != CRS84:
        # Edges of a projected box are curves in lon/lat: follow them closely.
        step = max(maxx - minx, maxy - miny) / 64 or 1.0
        box = transform(shapely.segmentize(box, step), crs, CRS84)
    return box


_OPEN = ("", "..")


def _instant(text: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadParameter(
            f"datetime {text!r} is not RFC 3339: use 2024-01-01, 2024-01-01T00:00:00Z, "
            "or an interval such as 2024-01-01/.. or ../2024-12-31T23:59:59Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadParameter(f"{name} must be a date such as 2024-01-31, not {value!r}") from None


def parse_datetime(value: str, temporal: tuple[str, str]) -> F.Filter | None:
    """The features whose validity (``temporal`` start, end properties) meets the instant or interval.

    A missing start or end date is an open end of the feature's interval. The layers hold dates,
    so an instant counts by its (UTC) day.
    """
    value = value.strip()
    if "/" in value:
        first, _, second = value.partition("/")
        start = None if first in _OPEN else _instant(first)
        end = None if second in _OPEN else _instant(second)
        if start is not None and end is not None and start > end:
            raise BadParameter(f"datetime interval {value!r} ends before it starts")
    elif value in _OPEN:
        raise BadParameter("datetime must be an instant or an interval, not empty or '..'")
    else:
        start = end = _instant(value)
    begin, finish = (F.Prop(name) for name in temporal)
    parts: list[F.Filter] = []
    if end is not None:  # the feature starts no later than the interval ends
        parts.append(F.Or((F.IsNull(begin), F.Compare("<=", begin, F.Lit(end)))))
    if start is not None:  # and ends no earlier than it starts
        parts.append(F.Or((F.IsNull(finish), F.Compare(">=", finish, F.Lit(start)))))
    return F.And(tuple(parts)) if parts else None


# ---- sortby ---------------------------------------------------------------------------------


def parse_sortby(value: str | None, c: Collection) -> tuple[tuple[str, bool], ...]:
    """``+name,-other`` as (property, ascending) pairs; only the collection's properties."""
    if not value:
        return ()
    keys = []
    for raw in value.split(","):
        item = raw.strip()
        ascending = not item.startswith("-")
        name = item.lstrip("+-").strip()
        if " " in name:  # "name DESC" / "name ASC" as some clients write it
            name, _, direction = name.partition(" ")
            ascending = direction.strip().upper() != "DESC"
        if c.property(name) is None:
            raise BadParameter(
                f"cannot sort {c.id} by {name!r}; sortable properties: "
                + ", ".join(p.name for p in c.properties)
            )
        keys.append((name, ascending))
    return tuple(keys)


# ---- CQL2 (Part 3) --------------------------------------------------------------------------

FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text")
GEOMETRY = "geometry"


def parse_filter(text: str, lang: str | None, filter_crs: str | None, c: Collection) -> F.Filter:
    """A CQL2 filter (text or JSON) on collection ``c`` as a checked ``geo.filtering`` tree."""
    from pygeofilter.parsers.cql2_json import parse as parse_json
    from pygeofilter.parsers.cql2_text import parse as parse_text

    lang = lang or "cql2-text"
    if lang == "cql-text":  # the drafts' name, still sent by GDAL's OAPIF driver
        lang = "cql2-text"
    if lang not in FILTER_LANGS:
        raise BadParameter(f"filter-lang {lang!r} is not supported; one of: {', '.join(FILTER_LANGS)}")
    crs = crs_uri(filter_crs, "filter-crs")
    if not text.strip():
        raise BadParameter("filter is empty")
    try:
        tree = parse_json(_normalise_json(json.loads(text))) if lang == "cql2-json" else parse_text(text)
    except BadParameter:
        raise
    except Exception as err:  # lark and json errors: the message says where the text went wrong
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BadParameter(f"filter is not valid {lang}: {first[:200]}") from None
    return _Converter(c, crs).condition(tree)


def _normalise_json(node):
    """CQL2 JSON 1.0 where pygeofilter expects its draft: ``{"bbox": [...]}`` as a GeoJSON polygon
    (pygeofilter reads bbox corners wrongly) and ``between`` with three arguments."""
    if isinstance(node, dict):
        if str(node.get("op", "")).lower() == "between" and len(node.get("args", ())) == 3:
            prop, low, high = node["args"]
            return {"op": "between", "args": [_normalise_json(prop), [low, high]]}
        if set(node) == {"bbox"} and isinstance(node["bbox"], list):
            b = node["bbox"]
            if len(b) == 6:
                b = [b[0], b[1], b[3], b[4]]
            if len(b) != 4 or not all(isinstance(v, (int, float)) for v in b):
                raise BadParameter("a bbox in a filter is four numbers")
            minx, miny, maxx, maxy = b
            return {
                "type": "Polygon",
                "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]],
            }
        return {k: _normalise_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise_json(v) for v in node]
    return node


class _Converter:
    def __init__(self, c: Collection, crs: str) -> None:
        self.c = c
        self.crs = crs

    def unsupported(self, node) -> BadParameter:
        name = type(node).__name__
        return BadParameter(
            f"the filter uses {name}, which this service does not support; supported: comparisons "
            "(=, <>, <, <=, >, >=), AND, OR, NOT, LIKE, IN, BETWEEN, IS NULL, CASEI and the spatial "
            "predicates S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES, S_CROSSES, "
            "S_OVERLAPS, S_EQUALS with POINT, LINESTRING, POLYGON, MULTI* or BBOX literals"
        )

    def condition(self, node) -> F.Filter:
        from pygeofilter import ast

        if isinstance(node, ast.And):
            return F.And((self.condition(node.lhs), self.condition(node.rhs)))
        if isinstance(node, ast.Or):
            return F.Or((self.condition(node.lhs), self.condition(node.rhs)))
        if isinstance(node, ast.Not):
            return F.Not(self.condition(node.sub_node))
        if isinstance(node, ast.Comparison):
            left, right = self.operand(node.lhs), self.operand(node.rhs)
            left, right = self.typed(left, right), self.typed(right, left)
            return F.Compare(node.op.value, left, right)
        if isinstance(node, ast.Between):
            prop = self.prop(node.lhs)
            low, high = (self.typed(self.literal(v), prop) for v in (node.low, node.high))
            return F.Between(prop, low, high, bool(node.not_))
        if isinstance(node, ast.Like):
            prop = self.prop(node.lhs)
            pattern = self.operand(node.pattern)
            if (
                self.c.property(prop.name).type != "string"
                or not isinstance(pattern, F.Lit)
                or not isinstance(pattern.value, str)
            ):
                raise BadParameter(f"LIKE needs a text property and a text pattern ({prop.name})")
            casei = prop.casei or pattern.casei or bool(node.nocase)
            return F.Like(F.Prop(prop.name, casei), pattern.value, bool(node.not_))
        if isinstance(node, ast.In):
            prop = self.prop(node.lhs)
            values = tuple(self.typed(self.literal(v), prop) for v in node.sub_nodes)
            return F.In(prop, values, bool(node.not_))
        if isinstance(node, ast.IsNull):
            return F.IsNull(self.prop(node.lhs), bool(node.not_))
        if isinstance(node, ast.SpatialComparisonPredicate):
            return self.spatial(node)
        if isinstance(node, ast.BBox):
            return self.spatial_parts(
                "intersects", node.lhs, shapely.box(node.minx, node.miny, node.maxx, node.maxy)
            )
        raise self.unsupported(node)

    def spatial(self, node) -> F.Filter:
        from pygeofilter import ast

        op = node.op.value.lower()
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            op = {"within": "contains", "contains": "within"}.get(op, op)
        return self.spatial_parts(op, lhs, self.geometry(rhs))

    def spatial_parts(self, op: str, lhs, geometry: shapely.Geometry) -> F.Filter:
        from pygeofilter import ast

        if not isinstance(lhs, ast.Attribute) or lhs.name != GEOMETRY:
            raise BadParameter(f"spatial predicates compare the property {GEOMETRY!r} with a geometry")
        if op not in F.SPATIAL_OPS:
            raise self.unsupported(lhs)
        return F.Spatial(op, geometry)

    def geometry(self, node) -> shapely.Geometry:
        from pygeofilter import ast, values

        if isinstance(node, values.Geometry):
            try:
                geom = shape(node.geometry)
            except Exception:
                raise BadParameter("a geometry in the filter is not valid") from None
        elif isinstance(node, ast.Function) and node.name.lower() == "bbox":
            args = list(node.arguments)
            if len(args) == 6:
                args = [args[0], args[1], args[3], args[4]]
            if len(args) != 4 or not all(isinstance(a, (int, float)) for a in args):
                raise BadParameter("BBOX in a filter takes four numbers")
            geom = shapely.box(*args)
        else:
            raise BadParameter("the second argument of a spatial predicate must be a geometry literal")
        coords = shapely.get_coordinates(geom)
        if geom.is_empty or not math.isfinite(float(abs(coords).sum())):
            raise BadParameter("a geometry in the filter is empty or has non-finite coordinates")
        if self.crs != CRS84:
            geom = transform(geom, self.crs, CRS84)
        return geom

    def prop(self, node) -> F.Prop:
        operand = self.operand(node)
        if not isinstance(operand, F.Prop):
            raise BadParameter("the left side of LIKE, IN, BETWEEN and IS NULL must be a property")
        return operand

    def operand(self, node) -> F.Operand:
        from pygeofilter import ast

        if isinstance(node, ast.Attribute):
            if self.c.property(node.name) is None:
                raise BadParameter(
                    f"{self.c.id} has no queryable {node.name!r}; queryables: "
                    + ", ".join([*(p.name for p in self.c.properties), GEOMETRY])
                )
            return F.Prop(node.name)
        if isinstance(node, ast.Function) and node.name.lower() == "lower" and len(node.arguments) == 1:
            inner = self.operand(node.arguments[0])  # CASEI(x)
            if isinstance(inner, F.Prop):
                return F.Prop(inner.name, casei=True)
            if isinstance(inner.value, str):
                return F.Lit(inner.value, casei=True)
        return self.literal(node)

    def literal(self, node) -> F.Lit:
        if isinstance(node, bool | int | float | str | date):
            if isinstance(node, float) and not math.isfinite(node):
                raise BadParameter("numbers in a filter must be finite")
            return F.Lit(node)
        raise self.unsupported(node)

    def typed(self, operand: F.Operand, other: F.Operand) -> F.Operand:
        """A literal checked against (and made of) the type of the property it is compared with."""
        if not isinstance(operand, F.Lit) or not isinstance(other, F.Prop):
            return operand
        prop: Property = self.c.property(other.name)
        value = operand.value
        kind = prop.type
        if kind == "date" and isinstance(value, str):
            # A quoted ISO date, as GDAL writes date constants; CQL2 proper writes DATE('…').
            value = parse_date(value, prop.name)
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int | float) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "date": isinstance(value, date),
        }[kind]
        if not ok:
            raise BadParameter(
                f"{prop.name} is a {kind}; {value!r} cannot be compared with it"
                + (" (write DATE('2024-01-01'))" if kind == "date" else "")
            )
        if kind == "date" and isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
        return F.Lit(value, operand.casei or other.casei)
