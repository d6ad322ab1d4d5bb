"""A corpus of crafted files, generated (never committed), each with the refusal it must get.

Every builder writes its file under ``folder`` and returns ``(path, layer, reason, cli_args)``.
Files that could reach the network point at ``http://127.0.0.1:{port}``, a listener the tests
own: it must never see a connection. Files that could read host files point at ``/etc/passwd``
and at ``secret`` (a file with a random marker): neither may ever reach a store.
"""

from __future__ import annotations

import io
import json
import os
import random
import sqlite3
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import Point, box

#: A point inside the tiny test world's county 0001 (and its province); 0002 lies east of it.
INSIDE = (51.0, 35.0)


@dataclass
class Context:
    folder: Path
    port: int
    secret: Path


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Context], tuple[str, str, list[str]]]  # path, layer, extra CLI args
    reason: str
    what: str

    @property
    def family(self) -> str:
        """The attack the case is one of (``FAMILIES``): its reason, but for the many ``format`` ones."""
        return FORMAT_FAMILIES.get(self.name, self.reason)


def ngo_row(**change) -> dict:
    row = {
        "licence_no": "H-1",
        "name_fa": "مرکز امید",
        "service_type": "rehabilitation",
        "capacity": "40",
        "status": "active",
        "issued_on": "1402/01/15",
        "expires_on": "2028-04-04",
        "county_code": "0001",
        "lon": INSIDE[0],
        "lat": INSIDE[1],
    }
    row.update(change)
    return row


def area_row(wkt: str, **change) -> dict:
    row = {
        "target_code": "TA-1",
        "name_fa": "محله",
        "kind": "urban",
        "county_code": "0001",
        "households": "120",
        "wkt": wkt,
    }
    row.update(change)
    return row


def _csv(ctx: Context, name: str, rows: list[dict]) -> Path:
    path = ctx.folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _vrt(source: str) -> str:
    return (
        '<OGRVRTDataSource><OGRVRTLayer name="ngos">'
        f"<SrcDataSource>{source}</SrcDataSource>"
        "<GeometryType>wkbPoint</GeometryType><LayerSRS>EPSG:4326</LayerSRS>"
        '<GeometryField encoding="PointFromColumns" x="field_1" y="field_2"/>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    )


def _point_geojson(ctx: Context, name: str, extra: dict | None = None, coords=None) -> Path:
    row = ngo_row()
    props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": coords or [row["lon"], row["lat"]]},
            }
        ],
        **(extra or {}),
    }
    path = ctx.folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _ngos_xlsx(ctx: Context, name: str) -> Path:
    path = ctx.folder / name
    pd.DataFrame([ngo_row()]).to_excel(path, index=False)
    return path


def _rezip(src: Path, dst: Path, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for fname, data in (add or {}).items():
            zout.writestr(fname, data)
    return dst


def _sheet_with_dtd(ctx: Context, name: str, dtd: str) -> Path:
    good = _ngos_xlsx(ctx, "good-" + name)
    with zipfile.ZipFile(good) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    head, _, rest = sheet.partition("?>")
    return _rezip(good, ctx.folder / name, {"xl/worksheets/sheet1.xml": (head + "?>" + dtd + rest).encode()})


def _shapefile(ctx: Context, stem: str) -> list[Path]:
    row = ngo_row()
    gdf = gpd.GeoDataFrame(
        pd.DataFrame([row]).drop(columns=["lon", "lat"]), geometry=[Point(*INSIDE)], crs=4326
    )
    folder = ctx.folder / f"{stem}-parts"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL shortens field names for shapefiles
        pyogrio.write_dataframe(gdf, folder / "ngos.shp", encoding="UTF-8")
    return sorted(folder.iterdir())


def _area_gpkg(ctx: Context, name: str, geom) -> Path:
    row = area_row("")
    del row["wkt"]
    gdf = gpd.GeoDataFrame(pd.DataFrame([row]), geometry=[geom], crs=4326)
    path = ctx.folder / name
    pyogrio.write_dataframe(gdf, path, layer="target_areas", geometry_type="Unknown")
    return path


def _circle(n: int, r: float = 0.01):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    xy = np.c_[INSIDE[0] + r * np.cos(t), INSIDE[1] + r * np.sin(t)]
    return shapely.Polygon(np.vstack([xy, xy[:1]]))


# --- the cases ----------------------------------------------------------------------------


def vrt_passwd(ctx):
    path = ctx.folder / "registry.geojson"
    path.write_text(_vrt("CSV:/etc/passwd"))
    return str(path), "ngos", []


def vrt_secret_as_csv(ctx):
    path = ctx.folder / "registry.csv"
    path.write_text(_vrt(f"CSV:{ctx.secret}"))
    return str(path), "ngos", []


def vrt_vsicurl(ctx):
    path = ctx.folder / "remote.geojson"
    path.write_text(_vrt(f"/vsicurl/http://127.0.0.1:{ctx.port}/ngos.csv"))
    return str(path), "ngos", []


def vrt_as_shp(ctx):
    path = ctx.folder / "ngos.shp"
    path.write_text(_vrt("CSV:/etc/passwd"))
    path.with_suffix(".prj").write_text('GEOGCS["WGS 84"]')
    return str(path), "ngos", []


def vrt_in_zip(ctx):
    path = ctx.folder / "ngos-vrt.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ngos.shp", _vrt("CSV:/etc/passwd"))
        zf.writestr("ngos.prj", 'GEOGCS["WGS 84"]')
    return str(path), "ngos", []


def geojson_crs_link(ctx):
    crs = {"type": "link", "properties": {"href": f"http://127.0.0.1:{ctx.port}/crs.wkt", "type": "ogcwkt"}}
    return str(_point_geojson(ctx, "crs-link.geojson", {"crs": crs})), "ngos", []


def geojson_crs_url_name(ctx):
    crs = {"type": "name", "properties": {"name": f"http://127.0.0.1:{ctx.port}/crs.wkt"}}
    return str(_point_geojson(ctx, "crs-url.geojson", {"crs": crs})), "ngos", []


def geojson_crs_vsi_name(ctx):
    crs = {"type": "name", "properties": {"name": f"/vsicurl/http://127.0.0.1:{ctx.port}/crs"}}
    return str(_point_geojson(ctx, "crs-vsi.geojson", {"crs": crs})), "ngos", []


def url_path(ctx):
    return f"http://127.0.0.1:{ctx.port}/ngos.geojson", "ngos", []


def vsicurl_path(ctx):
    return f"/vsicurl/http://127.0.0.1:{ctx.port}/ngos.csv", "ngos", []


def vsizip_path(ctx):
    return "/vsizip//etc/passwd.zip/passwd.csv", "ngos", []


def deep_wkt(ctx):
    wkt = "GEOMETRYCOLLECTION (" * 30_000 + "POINT (51 35)" + ")" * 30_000
    return str(_csv(ctx, "deep.csv", [area_row(wkt)])), "target_areas", []


def deep_geojson(ctx):
    geom: dict = {"type": "Point", "coordinates": list(INSIDE)}
    text = '{"type":"GeometryCollection","geometries":[' * 30_000 + json.dumps(geom) + "]}" * 30_000
    props = json.dumps({k: v for k, v in area_row("").items() if k != "wkt"})
    path = ctx.folder / "deep.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        + props
        + ',"geometry":'
        + text
        + "}]}"
    )
    return str(path), "target_areas", []


def deep_json_properties(ctx):
    nested: object = "x"
    for _ in range(100):
        nested = {"a": nested}
    return str(_point_geojson(ctx, "deep-props.geojson", {"extra": nested})), "ngos", []


def gpkg_nested_collection(ctx):
    geom = _circle(8)
    for _ in range(10):
        geom = shapely.GeometryCollection([geom])
    return str(_area_gpkg(ctx, "nested.gpkg", geom)), "target_areas", []


def recursive_view_gpkg(ctx):
    path = ctx.folder / "loop.gpkg"
    gdf = gpd.GeoDataFrame(
        pd.DataFrame([ngo_row()]).drop(columns=["lon", "lat"]), geometry=[Point(*INSIDE)], crs=4326
    )
    pyogrio.write_dataframe(gdf, path, layer="ngos")
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE VIEW loop AS
          WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
          SELECT x AS fid, NULL AS geom, 'H-' || x AS licence_no FROM c WHERE x < 0;
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
          VALUES ('loop', 'features', 'loop', 4326);
        INSERT INTO gpkg_geometry_columns VALUES ('loop', 'geom', 'POINT', 4326, 0, 0);
        """
    )
    con.commit()
    con.close()
    return str(path), "ngos", ["--source-layer", "loop"]


def nan_polygon(ctx):
    wkt = "POLYGON ((51 35, 51.01 35, 51.01 nan, 51 35))"
    return str(_csv(ctx, "nan.csv", [area_row(wkt)])), "target_areas", []


def inf_polygon(ctx):
    wkt = "POLYGON ((51 35, 51.01 35, 51.01 inf, 51 35))"
    return str(_csv(ctx, "inf-area.csv", [area_row(wkt)])), "target_areas", []


def inf_point(ctx):
    return str(_csv(ctx, "inf.csv", [ngo_row(lon="inf")])), "ngos", []


def huge_number_geojson(ctx):
    path = ctx.folder / "huge-number.geojson"
    _point_geojson(ctx, "huge-number.geojson")
    path.write_text(path.read_text().replace(f"[{INSIDE[0]}, {INSIDE[1]}]", f"[1e400, {INSIDE[1]}]"))
    return str(path), "ngos", []


def xlsx_billion_laughs(ctx):
    lol = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    return str(_sheet_with_dtd(ctx, "laughs.xlsx", lol + "]>")), "ngos", []


def xlsx_xxe(ctx):
    dtd = f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{ctx.secret}"><!ENTITY n SYSTEM "http://127.0.0.1:{ctx.port}/x">]>'
    return str(_sheet_with_dtd(ctx, "xxe.xlsx", dtd)), "ngos", []


def xlsx_named_csv(ctx):
    path = _ngos_xlsx(ctx, "book.xlsx")
    target = ctx.folder / "book.csv"
    path.rename(target)
    return str(target), "ngos", []


def geojson_named_csv(ctx):
    path = _point_geojson(ctx, "points.geojson")
    target = ctx.folder / "points.csv"
    path.rename(target)
    return str(target), "ngos", []


def zip_bomb(ctx):
    path = ctx.folder / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in _shapefile(ctx, "bomb"):
            zf.write(part, part.name)
        zf.writestr("padding.bin", b"\0" * (64 * 2**20))
    return str(path), "ngos", []


def xlsx_bomb(ctx):
    good = _ngos_xlsx(ctx, "good-bomb.xlsx")
    return (
        str(_rezip(good, ctx.folder / "bomb.xlsx", {}, {"xl/media/pad.bin": b"\0" * (64 * 2**20)})),
        "ngos",
        [],
    )


def zip_many_entries(ctx):
    path = ctx.folder / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in _shapefile(ctx, "many"):
            zf.write(part, part.name)
        for i in range(5_000):
            zf.writestr(f"pad/{i}.txt", b"")
    return str(path), "ngos", []


def zip_traversal(ctx):
    path = ctx.folder / "traversal.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in _shapefile(ctx, "trav"):
            zf.write(part, "../../" + part.name)
    return str(path), "ngos", []


def too_many_rows(ctx):
    path = ctx.folder / "million.csv"
    n = 1_000_000
    frame = pd.DataFrame({"licence_no": [f"M-{i}" for i in range(n)], "lon": INSIDE[0], "lat": INSIDE[1]})
    frame.to_csv(path, index=False)
    return str(path), "ngos", []


def vertex_bomb_gpkg(ctx):
    return str(_area_gpkg(ctx, "vertices.gpkg", _circle(2_000_000))), "target_areas", []


def vertex_bomb_wkt(ctx):
    wkt = shapely.to_wkt(_circle(2_000_000), rounding_precision=6)
    return str(_csv(ctx, "vertices.csv", [area_row(wkt)])), "target_areas", []


def continent(ctx):
    return str(_csv(ctx, "continent.csv", [area_row(box(20, 0, 80, 60).wkt)])), "target_areas", []


def other_county(ctx):
    wkt = box(52.0, 34.9, 52.02, 34.92).wkt  # inside county 0002, labelled 0001
    return str(_csv(ctx, "elsewhere.csv", [area_row(wkt)])), "target_areas", []


def sqlite_not_gpkg(ctx):
    path = ctx.folder / "plain.gpkg"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    return str(path), "ngos", []


def mbtiles_as_gpkg(ctx):
    path = ctx.folder / "tiles.gpkg"
    con = sqlite3.connect(path)
    con.executescript(
        "PRAGMA application_id = 1297105496; CREATE TABLE metadata (name text, value text);"
        f"INSERT INTO metadata VALUES ('json', '{{\"url\": \"http://127.0.0.1:{ctx.port}/\"}}');"
    )
    con.commit()
    con.close()
    return str(path), "ngos", []


def fifo(ctx):
    path = ctx.folder / "pipe.csv"
    os.mkfifo(path)
    return str(path), "ngos", []


def device(ctx):
    return "/dev/zero", "ngos", []


def too_large_file(ctx):
    path = ctx.folder / "large.csv"
    with open(path, "wb") as fh:
        fh.truncate(201 * 2**20)  # sparse: costs no disk
    return str(path), "ngos", []


def utf16_csv(ctx):
    path = ctx.folder / "utf16.csv"
    buf = io.StringIO()
    pd.DataFrame([ngo_row()]).to_csv(buf, index=False)
    path.write_bytes(buf.getvalue().encode("utf-16"))
    return str(path), "ngos", []


def empty_file(ctx):
    path = ctx.folder / "empty.geojson"
    path.write_bytes(b"")
    return str(path), "ngos", []


def passwd_copy_as_csv(ctx):
    path = ctx.folder / "passwd.csv"
    path.write_bytes(Path("/etc/passwd").read_bytes())
    return str(path), "ngos", []


CASES = [
    Case("vrt_passwd", vrt_passwd, "format", "OGR VRT named .geojson reading /etc/passwd"),
    Case("vrt_secret_as_csv", vrt_secret_as_csv, "format", "OGR VRT named .csv reading a host file"),
    Case("vrt_vsicurl", vrt_vsicurl, "format", "OGR VRT with a /vsicurl/ source on the listener"),
    Case("vrt_as_shp", vrt_as_shp, "format", "OGR VRT named .shp with a .prj"),
    Case("vrt_in_zip", vrt_in_zip, "format", "zipped 'shapefile' whose .shp is an OGR VRT"),
    Case("geojson_crs_link", geojson_crs_link, "crs_link", "GeoJSON whose crs is a link to the listener"),
    Case("geojson_crs_url_name", geojson_crs_url_name, "crs_link", "GeoJSON whose crs name is a URL"),
    Case(
        "geojson_crs_vsi_name", geojson_crs_vsi_name, "crs_link", "GeoJSON whose crs name is a /vsicurl/ path"
    ),
    Case("url_path", url_path, "remote_source", "an http URL as the file"),
    Case("vsicurl_path", vsicurl_path, "remote_source", "a /vsicurl/ path as the file"),
    Case("vsizip_path", vsizip_path, "remote_source", "a /vsizip/ path as the file"),
    Case(
        "deep_wkt", deep_wkt, "geometry_too_deep", "GEOMETRYCOLLECTION nested 30,000 deep in CSV WKT (0.6 MB)"
    ),
    Case("deep_geojson", deep_geojson, "json_too_deep", "GeoJSON GeometryCollection nested 30,000 deep"),
    Case("deep_json_properties", deep_json_properties, "json_too_deep", "GeoJSON member nested 100 deep"),
    Case(
        "gpkg_nested_collection", gpkg_nested_collection, "geometry_too_deep", "GeoPackage collection 10 deep"
    ),
    Case(
        "recursive_view_gpkg",
        recursive_view_gpkg,
        "read_timeout",
        "GeoPackage layer that is a recursive view",
    ),
    Case("nan_polygon", nan_polygon, "non_finite_coordinates", "WKT polygon with nan"),
    Case("inf_polygon", inf_polygon, "non_finite_coordinates", "WKT polygon with inf"),
    Case("inf_point", inf_point, "invalid_geometry", "CSV point with lon=inf"),
    Case("huge_number_geojson", huge_number_geojson, "format", "GeoJSON coordinate 1e400"),
    Case("xlsx_billion_laughs", xlsx_billion_laughs, "xml_dtd", "XLSX sheet with a billion-laughs DTD"),
    Case("xlsx_xxe", xlsx_xxe, "xml_dtd", "XLSX sheet with external entities (host file, listener)"),
    Case("xlsx_named_csv", xlsx_named_csv, "format", "an XLSX named .csv"),
    Case("geojson_named_csv", geojson_named_csv, "format", "GeoJSON named .csv"),
    Case("zip_bomb", zip_bomb, "zip_bomb", "zipped shapefile with a 64 MB entry of zeros (ratio ~1000)"),
    Case("xlsx_bomb", xlsx_bomb, "zip_bomb", "XLSX with a 64 MB entry of zeros"),
    Case("zip_many_entries", zip_many_entries, "zip_entries", "zipped shapefile with 5,000 extra entries"),
    Case("zip_traversal", zip_traversal, "format", "zip entries named ../../"),
    Case("too_many_rows", too_many_rows, "too_many_rows", "CSV with 1,000,000 rows"),
    Case(
        "vertex_bomb_gpkg", vertex_bomb_gpkg, "too_many_vertices", "GeoPackage polygon of 2,000,000 vertices"
    ),
    Case("vertex_bomb_wkt", vertex_bomb_wkt, "too_many_vertices", "CSV WKT polygon of 2,000,000 vertices"),
    Case("continent", continent, "implausible_area", "target area the size of a continent"),
    Case("other_county", other_county, "outside_county", "target area in another county than it names"),
    Case("sqlite_not_gpkg", sqlite_not_gpkg, "format", "plain SQLite named .gpkg"),
    Case("mbtiles_as_gpkg", mbtiles_as_gpkg, "format", "MBTiles (SQLite) named .gpkg"),
    Case("fifo", fifo, "format", "a named pipe called .csv (would block a reader forever)"),
    Case("device", device, "format", "/dev/zero"),
    Case("too_large_file", too_large_file, "file_too_large", "201 MB file (sparse)"),
    Case("utf16_csv", utf16_csv, "format", "UTF-16 CSV"),
    Case("empty_file", empty_file, "format", "empty .geojson"),
    Case("passwd_copy_as_csv", passwd_copy_as_csv, "format", "/etc/passwd copied as a CSV"),
]

#: The attack families of the cases refused as ``format`` (every other case's family is its reason).
FORMAT_FAMILIES = {
    **dict.fromkeys(
        ("vrt_passwd", "vrt_secret_as_csv", "vrt_vsicurl", "vrt_as_shp", "vrt_in_zip"), "ogr_vrt"
    ),
    **dict.fromkeys(
        ("xlsx_named_csv", "geojson_named_csv", "sqlite_not_gpkg", "mbtiles_as_gpkg", "passwd_copy_as_csv"),
        "disguised_format",
    ),
    **dict.fromkeys(("huge_number_geojson", "utf16_csv", "empty_file"), "malformed_content"),
    "zip_traversal": "zip_traversal",
    **dict.fromkeys(("fifo", "device"), "special_file"),
}
FAMILIES = sorted({case.family for case in CASES})
#: The sample's seed: it picks one case of every family (``sample_cases``).
SAMPLE_SEED = 1404


def sample_cases(cases: list[Case], seed: int = SAMPLE_SEED) -> list[Case]:
    """One case of every attack family, drawn with ``seed`` (in the corpus's order)."""
    rng = random.Random(seed)
    chosen = {
        rng.choice([c.name for c in cases if c.family == family])
        for family in sorted({c.family for c in cases})
    }
    return [case for case in cases if case.name in chosen]
