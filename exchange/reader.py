"""The reading process: opens one user file, in a child process, and answers in plain JSON.

Run in a child process forked by the zygote (``serve``, started by ``exchange.sandbox``), or as
``python -m exchange.reader``; the server imports only its configuration, never runs ``main``.
Before it touches the file it leaves the network (a network namespace of its own where the
system allows it, and GDAL's network options off either way), limits its own memory, CPU time
and file writes, and registers only the allowed GDAL drivers. It then sniffs what the file
really is, checks the structural limits (zip entries and ratios, XML DTDs, JSON depth, rows,
vertices, geometry nesting) and reads it. A crash or hang here kills only this process; the
server turns that into a refusal with a reason.

The answer is JSON (never pickle): a refusal ``{"refused": reason, "message": ...}`` or the
columns, WKB geometries (base64) and CRS of what the file held.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime as dt
import json
import math
import os
import re
import resource
import sys
import zipfile
from pathlib import Path

from exchange.kinds import ALLOWED_GDAL_DRIVERS, SUFFIX_FORMAT

#: GDAL's configuration while reading: no network, no side files.
GDAL_ENV = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".amayesh-no-network",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/amayesh-no-network",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_PAM_ENABLED": "NO",
    "PROJ_NETWORK": "OFF",
    "OSR_USE_ETMERC": "NO",
    "OGR_GEOJSON_MAX_OBJ_SIZE": "0",
}

_NAMES = {
    "gpkg": "a GeoPackage",
    "geojson": "GeoJSON",
    "csv": "CSV",
    "xlsx": "an XLSX workbook",
    "shp": "a shapefile",
}


class Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- the process ---------------------------------------------------------------------------


def leave_network() -> bool:
    """Move this process into a network namespace of its own (no interfaces up): no connection
    can leave it. Needs privileges some systems do not give; GDAL's options stay off anyway."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(0x40000000) == 0  # CLONE_NEWNET
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return False


def limit_self(memory_mb: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The reader writes nothing but its answer (a pipe); SQLite may need a small side file.
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 * 2**20, 4 * 2**20))


def gdal_environment(all_drivers: list[str]) -> dict[str, str]:
    skip = [d for d in all_drivers if d not in ALLOWED_GDAL_DRIVERS]
    # Raster and combined drivers that open other datasets or the network, whatever the list says.
    skip += ["VRT", "OGR_VRT", "WMS", "WMTS", "WFS", "OAPIF", "OGCAPI", "MBTiles", "PMTiles", "HTTP", "CSW"]
    return {**GDAL_ENV, "GDAL_SKIP": " ".join(d.replace(" ", "_") for d in skip), "OGR_SKIP": ",".join(skip)}


# --- sniffing ------------------------------------------------------------------------------


def sniff(path: Path, limits: dict) -> str:
    """What the file really is, from its bytes: shp, gpkg, geojson, csv, xlsx (or refused)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head:
        raise Refused("format", f"{path.name} is empty")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _sniff_zip(path, limits)
    if head.startswith(b"SQLite format 3\x00"):
        if len(head) >= 72 and head[68:72] in (b"GPKG", b"GP10", b"GP11"):
            return "gpkg"
        raise Refused("format", f"{path.name} is an SQLite database, not a GeoPackage")
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shp"
    text = head
    for bom in (b"\xef\xbb\xbf",):
        if text.startswith(bom):
            text = text[len(bom) :]
    if text.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in text:
        raise Refused("format", f"{path.name} is neither a known geodata format nor UTF-8 text")
    stripped = text.lstrip()
    if stripped.startswith(b"<"):
        raise Refused(
            "format",
            f"{path.name} holds XML (such as an OGR VRT or GML); Amayesh reads shapefiles, GeoPackage, "
            "GeoJSON, CSV and XLSX only",
        )
    if stripped.startswith((b"{", b"[")):
        return "geojson"
    return "csv"


def _sniff_zip(path: Path, limits: dict) -> str:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise Refused("format", f"{path.name} is not a readable zip: {err}") from None
    with zf:
        infos = zf.infolist()
        check_zip(path.name, infos, os.path.getsize(path), limits)
        names = {i.filename for i in infos}
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.lower().endswith(".shp") for n in names):
            return "shp"
    raise Refused("format", f"{path.name} is a zip holding neither a shapefile nor an XLSX workbook")


def check_zip(name: str, infos: list[zipfile.ZipInfo], packed: int, limits: dict) -> None:
    if len(infos) > limits["max_zip_entries"]:
        raise Refused(
            "zip_entries",
            f"{name} holds {len(infos):,} entries; at most {limits['max_zip_entries']:,} are accepted",
        )
    total = 0
    for info in infos:
        fname = info.filename
        if fname.startswith(("/", "\\")) or ".." in Path(fname).parts or ":" in fname:
            raise Refused("format", f"{name} holds an entry with an unsafe path: {fname!r}")
        if info.flag_bits & 0x1:
            raise Refused("format", f"{name} holds an encrypted entry: {fname!r}")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 2**20 and ratio > limits["max_zip_ratio"]:
            raise Refused(
                "zip_bomb",
                f"{fname} in {name} unpacks {ratio:,.0f} times its packed size (at most "
                f"{limits['max_zip_ratio']:,.0f} is accepted): a zip bomb",
            )
    if total > limits["max_unzipped_mb"] * 2**20:
        raise Refused(
            "zip_bomb",
            f"{name} unpacks to {total / 2**20:,.0f} MB; at most {limits['max_unzipped_mb']:,.0f} MB is accepted",
        )
    if total > 2**20 and total / max(packed, 1) > limits["max_zip_ratio"]:
        raise Refused(
            "zip_bomb",
            f"{name} unpacks {total / max(packed, 1):,.0f} times its size (at most "
            f"{limits['max_zip_ratio']:,.0f}): a zip bomb",
        )


def resolve_kind(path: Path, sniffed: str, fmt: str | None) -> str:
    """The sniffed kind, provided the name (or the format asked for) says the same."""
    claimed = fmt or SUFFIX_FORMAT.get(path.suffix.lower())
    if claimed is None:
        raise Refused(
            "format",
            f"cannot tell the format of {path.name}; use .gpkg, .geojson, .csv, .xlsx, .shp or .zip",
        )
    if path.suffix.lower() == ".zip" and sniffed == "xlsx" and fmt is None:
        claimed = "xlsx"
    if claimed != sniffed:
        raise Refused(
            "format",
            f"{path.name} is named as {_NAMES.get(claimed, claimed)} but holds {_NAMES[sniffed]}; "
            "refused (the content decides, not the name)",
        )
    return sniffed


# --- structure checks ----------------------------------------------------------------------


_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def check_xlsx_xml(path: Path) -> None:
    """Refuse any DTD or entity declaration in the workbook's XML parts (billion laughs, XXE)."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            with zf.open(info) as fh:
                head = fh.read(8192)
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                head = head.decode("utf-16", errors="replace").encode("utf-8")
            if _DTD.search(head):
                raise Refused(
                    "xml_dtd",
                    f"{info.filename} in {path.name} declares a DTD or entities; workbooks with DTDs "
                    "are refused (they can expand without bound or read files)",
                )


def json_depth(value: object, limit: int) -> int:
    """The nesting depth of a parsed JSON value (iterative: no recursion to exhaust)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


_URN_CRS = re.compile(
    r"^(urn:ogc:def:crs:(EPSG::\d+|OGC:1\.3:CRS84|OGC::CRS84)|EPSG:\d+|"
    r"https?://www\.opengis\.net/def/crs/(EPSG/0/\d+|OGC/1\.3/CRS84))$",
    re.IGNORECASE,
)


def check_geojson(path: Path, limits: dict) -> None:
    """Parse the document ourselves first: its depth, and a ``crs`` that names, never links."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("format", f"{path.name} is not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise Refused(
            "json_too_deep", f"{path.name} nests deeper than {limits['max_json_depth']} levels"
        ) from None
    except ValueError as err:
        raise Refused("format", f"{path.name} is not valid JSON: {err}") from None
    depth = json_depth(doc, limits["max_json_depth"])
    if depth > limits["max_json_depth"]:
        raise Refused(
            "json_too_deep",
            f"{path.name} nests {depth}+ levels deep; at most {limits['max_json_depth']} are accepted",
        )
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise Refused("format", f"{path.name} is JSON but not a GeoJSON Feature or FeatureCollection")
    for holder in [doc, *(f for f in doc.get("features", []) or [] if isinstance(f, dict))]:
        crs = holder.get("crs")
        if crs is None:
            continue
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if not (isinstance(crs, dict) and crs.get("type") == "name" and isinstance(name, str)):
            raise Refused(
                "crs_link",
                f"{path.name}: its crs is a {crs.get('type') if isinstance(crs, dict) else 'malformed'} "
                "member, not a name; linked CRS definitions are never fetched",
            )
        if not _URN_CRS.match(name.strip()):
            raise Refused(
                "crs_link",
                f"{path.name}: crs {name[:80]!r} is not an EPSG or OGC CRS name; it is not looked up",
            )


# --- geometries ----------------------------------------------------------------------------


def geometry_depth(geom, limit: int) -> int:
    import shapely

    deepest = 0
    stack = [(geom, 0)]
    while stack:
        g, depth = stack.pop()
        tid = shapely.get_type_id(g)
        if tid in (4, 5, 6, 7):  # Multi*, GeometryCollection
            deepest = max(deepest, depth + 1)
            if deepest > limit:
                return deepest
            if tid == 7:
                stack.extend((p, depth + 1) for p in shapely.get_parts(g))
    return deepest


def check_geometries(geoms, name: str, limits: dict) -> None:
    import numpy as np
    import shapely

    counts = shapely.get_num_coordinates(geoms)
    if len(counts) and counts.max() > limits["max_vertices_per_feature"]:
        i = int(np.argmax(counts))
        raise Refused(
            "too_many_vertices",
            f"{name}: feature {i + 1} has {int(counts[i]):,} vertices; at most "
            f"{limits['max_vertices_per_feature']:,} per feature are accepted",
        )
    if counts.sum() > limits["max_vertices_per_file"]:
        raise Refused(
            "too_many_vertices",
            f"{name} holds {int(counts.sum()):,} vertices; at most {limits['max_vertices_per_file']:,} "
            "per file are accepted",
        )
    for i in np.flatnonzero(shapely.get_type_id(geoms) == 7):
        if geometry_depth(geoms[i], limits["max_geometry_depth"]) > limits["max_geometry_depth"]:
            raise Refused(
                "geometry_too_deep",
                f"{name}: feature {i + 1} nests geometry collections more than "
                f"{limits['max_geometry_depth']} deep",
            )


# --- reading -------------------------------------------------------------------------------


def _has_calamine() -> bool:
    try:
        import python_calamine  # noqa: F401
    except ImportError:  # pragma: no cover - an install without it reads with openpyxl
        return False
    return True


def read(path: Path, kind: str, layer: str | None, limits: dict):
    if kind == "csv":
        import pandas as pd

        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                encoding="utf-8-sig",
                nrows=limits["max_rows"] + 1,
            ).replace("", None)
        except UnicodeDecodeError:
            raise Refused("format", f"{path.name} is not UTF-8 text") from None
        return _rows(frame, path, limits), None, None
    if kind == "xlsx":
        import pandas as pd

        check_xlsx_xml(path)
        # calamine (Rust) reads a 50,000-row sheet ten times faster than openpyxl; the XML was
        # checked above (no DTD, no entities) and the zip before that (entries, ratios).
        engine = "calamine" if _has_calamine() else "openpyxl"
        frame = pd.read_excel(path, dtype=object, engine=engine, nrows=limits["max_rows"] + 1)
        frame = frame.astype(object).where(frame.notna(), None)
        return _rows(frame, path, limits), None, None
    import pyogrio

    if kind == "geojson":
        check_geojson(path, limits)
        source = str(path)
    elif kind == "shp":
        source = shapefile_source(path, limits)
    else:
        source = str(path)
    layers = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    if layer is None:
        if len(layers) != 1:
            raise Refused("layer", f"{path.name} holds several layers ({', '.join(layers)}); say which one")
        layer = layers[0]
    elif layer not in layers:
        raise Refused("layer", f"{path.name} has no layer {layer!r} (it has {', '.join(layers)})")
    info = pyogrio.read_info(source, layer=layer)
    if info["driver"] not in ALLOWED_GDAL_DRIVERS:  # pragma: no cover - the skip list prevents it
        raise Refused("format", f"{path.name} was opened by GDAL's {info['driver']} driver; refused")
    frame = pyogrio.read_dataframe(source, layer=layer, max_features=limits["max_rows"] + 1)
    _rows(frame, path, limits)
    crs = None
    geoms = None
    if hasattr(frame, "geometry") and frame.geometry.name in frame.columns:
        crs = frame.crs.to_wkt() if frame.crs is not None else None
        geoms = frame.geometry.to_numpy()
        check_geometries(geoms, path.name, limits)
        frame = frame.drop(columns=frame.geometry.name)
    return frame, geoms, crs


def _rows(frame, path: Path, limits: dict):
    if len(frame) > limits["max_rows"]:
        raise Refused(
            "too_many_rows",
            f"{path.name} holds more than {limits['max_rows']:,} rows; split it or raise AMAYESH_MAX_ROWS",
        )
    if "wkt" in [str(c).strip().lower() for c in frame.columns]:
        col = next(c for c in frame.columns if str(c).strip().lower() == "wkt")
        _parse_wkt_here(frame[col], path, limits)
    return frame


def _parse_wkt_here(values, path: Path, limits: dict) -> None:
    """Parse the WKT cells that pass the structural pre-check here, in this process: a parser
    that would crash on one crashes the reader, not the server, and the file is refused."""
    import shapely

    from geo.shapes import wkt_problem

    for text in values:
        if (
            isinstance(text, str)
            and text.strip()
            and wkt_problem(text, limits["max_geometry_depth"], limits["max_vertices_per_feature"]) is None
        ):
            with contextlib.suppress(shapely.errors.GEOSException):
                shapely.from_wkt(text)


def shapefile_source(path: Path, limits: dict) -> str:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            shps = [n for n in names if n.lower().endswith(".shp")]
            if len(shps) != 1:
                raise Refused("format", f"{path.name} must hold exactly one .shp (it holds {len(shps)})")
            with zf.open(shps[0]) as fh:
                if fh.read(4) != b"\x00\x00\x27\x0a":
                    raise Refused("format", f"{shps[0]} in {path.name} is not a shapefile")
        stem = shps[0][:-4]
        if not any(n.lower() == (stem + ".prj").lower() for n in names):
            raise Refused(
                "crs_missing",
                f"{shps[0]} in {path.name} has no .prj: its coordinate reference system is unknown, "
                "and Amayesh does not guess it. Add the .prj that came with the data.",
            )
        return f"/vsizip/{path}/{shps[0]}"
    siblings = {p.name.lower(): p for p in path.parent.glob(path.stem + ".*")}
    if (path.stem + ".prj").lower() not in siblings:
        raise Refused(
            "crs_missing",
            f"{path.name} has no .prj beside it: its coordinate reference system is unknown, and "
            "Amayesh does not guess it. Add the .prj that came with the data.",
        )
    for ext in (".shx", ".dbf", ".prj"):
        side = siblings.get((path.stem + ext).lower())
        if side is not None and not side.is_file():
            raise Refused("format", f"{side.name} beside {path.name} is not a regular file")
    return str(path)


# --- the answer ----------------------------------------------------------------------------


def encode_value(v: object) -> object:
    import numpy as np
    import pandas as pd

    if v is None:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, str):
        return v
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        ts = pd.Timestamp(v)
        return None if pd.isna(ts) else {"$t": ts.isoformat()}
    if isinstance(v, bytes):
        return {"$b": base64.b64encode(v).decode("ascii")}
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def answer(frame, geoms, crs, kind: str) -> dict:
    import shapely

    columns = []
    for col in frame.columns:
        # text (every filled cell of a CSV) as it is: a call for each cost 2 s a national file
        values = [v if type(v) is str else encode_value(v) for v in frame[col].tolist()]
        columns.append([str(col), values])
    out = {"kind": kind, "rows": len(frame), "columns": columns, "crs": crs, "geometry": None}
    if geoms is not None:
        wkb = shapely.to_wkb(geoms)
        out["geometry"] = [None if b is None else base64.b64encode(b).decode("ascii") for b in wkb]
    return out


def main() -> int:
    # Our answer goes to a private copy of stdout; GDAL's chatter goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    request = json.loads(sys.stdin.read())
    limits = request["limits"]
    isolated = leave_network()
    os.environ.update(gdal_environment(request["drivers"]))
    limit_self(limits["reader_memory_mb"], limits["reader_cpu_seconds"])
    path = Path(request["path"])
    try:
        kind = resolve_kind(path, sniff(path, limits), request.get("fmt"))
        frame, geoms, crs = read(path, kind, request.get("layer"), limits)
        reply = answer(frame, geoms, crs, kind)
    except Refused as err:
        reply = {"refused": err.reason, "message": err.message}
    except MemoryError:
        reply = {
            "refused": "too_large",
            "message": f"reading {path.name} needs more than {limits['reader_memory_mb']:,} MB",
        }
    except RecursionError:
        reply = {"refused": "geometry_too_deep", "message": f"{path.name} nests too deep to read"}
    except zipfile.BadZipFile as err:
        reply = {"refused": "format", "message": f"cannot read {path.name}: {err}"}
    except Exception as err:  # anything a reader raises on a malformed file
        first = (str(err).splitlines() or [type(err).__name__])[0][:300]
        reply = {"refused": "format", "message": f"cannot read {path.name}: {first}"}
    reply["isolated"] = isolated
    json.dump(reply, out, ensure_ascii=False, allow_nan=True)
    out.flush()
    return 0


# --- the zygote ------------------------------------------------------------------------------

#: What every reading child needs, imported once by the zygote (GDAL loads here, after the
#: zygote's environment has put the drivers that are not allowed in GDAL_SKIP).
WARM_MODULES = ("numpy", "pandas", "pyogrio", "shapely", "openpyxl", "python_calamine", "geo.shapes")


def serve(control_fd: int) -> int:
    """Fork one reading child per request from ``exchange.sandbox`` until the socket closes.

    A request is ``{"run": n}`` with the child's stdin, stdout and stderr as passed descriptors,
    or ``{"kill": n}``; the zygote answers every run with ``{"id": n, "ended": exit code}``
    (negative: the signal; null: it could not start the child) when child ``n`` ends. The
    zygote itself never opens a user's file.
    """
    import importlib
    import select
    import signal
    import socket

    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            if name != "python_calamine":  # optional: XLSX falls back to openpyxl
                raise
    import pyogrio

    pyogrio.list_drivers()  # registers the allowed drivers now, once
    control = socket.socket(fileno=control_fd)
    me = os.getpid()
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (request number, pid)
    by_number: dict[int, int] = {}  # request number -> pidfd
    poll = select.poll()
    poll.register(control, select.POLLIN)

    def ended(number: int, code: int | None) -> None:
        control.send(json.dumps({"id": number, "ended": code}).encode())

    while True:
        for ready_fd, _ in poll.poll():
            if ready_fd == control.fileno():
                data, fds, _, _ = socket.recv_fds(control, 4096, 3)
                if not data:  # the server is gone: so are its reads
                    for pidfd in children:
                        with contextlib.suppress(OSError):
                            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                    return 0
                msg = json.loads(data)
                if "run" in msg:
                    number = msg["run"]
                    started = len(fds) == 3 and _fork_child(control, fds, list(children), me)
                    for fd in fds:
                        os.close(fd)
                    if not started:
                        ended(number, None)
                        continue
                    pidfd, pid = started
                    children[pidfd] = (number, pid)
                    by_number[number] = pidfd
                    poll.register(pidfd, select.POLLIN)
                else:
                    for fd in fds:
                        os.close(fd)
                    if msg.get("kill") in by_number:
                        with contextlib.suppress(OSError):
                            signal.pidfd_send_signal(by_number[msg["kill"]], signal.SIGKILL)
            else:
                number, pid = children.pop(ready_fd)
                by_number.pop(number, None)
                poll.unregister(ready_fd)
                _, status = os.waitpid(pid, 0)
                os.close(ready_fd)
                ended(number, os.waitstatus_to_exitcode(status))


def _fork_child(control, fds: list[int], siblings: list[int], zygote: int) -> tuple[int, int] | None:
    """Fork the reading child; (its pidfd, its pid), or None if the system refused."""
    import signal

    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:
        _child(control, fds, siblings, zygote)
    try:
        return os.pidfd_open(pid), pid
    except OSError:  # no pidfd: the child cannot be watched, so it may not run
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None


def _child(control, fds: list[int], siblings: list[int], zygote: int) -> None:
    """In the forked child: take the passed pipes as stdin/stdout/stderr, read, exit."""
    import signal

    code = 1
    try:
        # End with the zygote: a child nobody waits for must not outlive it.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != zygote:
            os._exit(1)
        control.close()
        for pidfd in siblings:
            os.close(pidfd)
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        code = main()
    except BaseException:  # whatever happens, this process must end here
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
