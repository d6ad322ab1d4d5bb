"""The import boundary: a user's file is read in a separate, limited process, never in ours.

``read_untrusted`` refuses names that are URLs or GDAL virtual paths, anything that is not a
regular file, and files over the size limit; it then runs ``exchange.reader`` in a child
process (forked from a warm parent, ``exchange.sandbox``; its own network namespace where the system allows, GDAL with only the allowed drivers
and no network, limits on address space, CPU time and file writes, a wall-clock timeout) and
rebuilds a (Geo)DataFrame from the child's JSON answer. A crash, a hang or an exhausted limit
in the child is a refusal with a reason (``ImportFileError``), never a dead or stuck server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from exchange import sandbox
from exchange.formats import ImportFileError
from exchange.limits import Limits, get_limits
from exchange.reader import gdal_environment

#: Reasons a file is refused as a whole (the row-level ones are ``validation.REASONS``).
FILE_REASONS = {
    "file": "the file does not exist or cannot be opened",
    "format": "not a shapefile, GeoPackage, GeoJSON, CSV or XLSX by its content, or named as another",
    "layer": "the GeoPackage holds several layers (say which) or not the one named",
    "remote_source": "a URL or a GDAL virtual path (/vsi…) instead of a local file",
    "file_too_large": "the file is larger than AMAYESH_MAX_FILE_MB",
    "zip_entries": "the zip holds more entries than AMAYESH_MAX_ZIP_ENTRIES",
    "zip_bomb": "the zip unpacks beyond AMAYESH_MAX_ZIP_RATIO or AMAYESH_MAX_UNZIPPED_MB",
    "xml_dtd": "the workbook's XML declares a DTD or entities",
    "json_too_deep": "the JSON nests deeper than AMAYESH_MAX_JSON_DEPTH",
    "crs_link": "the GeoJSON crs is a link or a name that is not an EPSG/OGC CRS",
    "too_many_rows": "more rows than AMAYESH_MAX_ROWS",
    "too_many_vertices": "a feature or the file has more vertices than the limits",
    "geometry_too_deep": "geometry collections nest deeper than AMAYESH_MAX_GEOMETRY_DEPTH",
    "read_timeout": "reading took longer than the CPU or wall-clock limit; the reader was stopped",
    "read_crashed": "the file crashed the reading process",
    "too_large": "reading needs more memory than AMAYESH_READER_MEMORY_MB",
    "read_failed": "the reading process failed without an answer",
}


@dataclass
class ReadStats:
    """How the last read went (for tests and logs)."""

    seconds: float = 0.0
    isolated: bool | None = None
    returncode: int | None = None


LAST = ReadStats()


def check_source(path: str | os.PathLike[str], limits: Limits) -> Path:
    """The checks made before any byte of the file is read."""
    text = os.fspath(path)
    lowered = text.lower()
    if "://" in text or "/vsi" in lowered or lowered.startswith(("vsi", "http:", "https:", "ftp:")):
        raise ImportFileError(
            f"{text[:200]} is a URL or a GDAL virtual path; only local files are imported", "remote_source"
        )
    p = Path(text)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ImportFileError(f"no such file: {p}", "file") from None
    except OSError as err:
        raise ImportFileError(f"cannot read {p}: {err.strerror}", "file") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImportFileError(f"{p.name} is not a regular file", "format")
    if st.st_size > limits.max_file_mb * 2**20:
        raise ImportFileError(
            f"{p.name} is {st.st_size / 2**20:,.1f} MB; at most {limits.max_file_mb:,.0f} MB is accepted "
            "(AMAYESH_MAX_FILE_MB)",
            "file_too_large",
        )
    return p


def _drivers() -> list[str]:
    import pyogrio

    return sorted(pyogrio.list_drivers())


def read_untrusted(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    fmt: str | None = None,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """Read a user's file through the boundary; ``ImportFileError`` (with a reason) if refused."""
    limits = limits or get_limits()
    p = check_source(path, limits)
    request = {
        "path": str(p.resolve()),
        "layer": layer,
        "fmt": fmt,
        "limits": limits.model_dump(),
        "drivers": _drivers(),
    }
    started = time.monotonic()
    try:
        done = sandbox.run(
            json.dumps(request).encode("utf-8"),
            limits.reader_timeout_seconds,
            gdal_environment(request["drivers"]),
        )
    except sandbox.ReaderTimeout:
        LAST.seconds, LAST.returncode = time.monotonic() - started, None
        raise ImportFileError(
            f"reading {p.name} took longer than {limits.reader_timeout_seconds:,.0f} s; it was stopped "
            "(AMAYESH_READER_TIMEOUT_SECONDS)",
            "read_timeout",
        ) from None
    LAST.seconds, LAST.returncode = time.monotonic() - started, done.returncode
    if done.returncode != 0 or not done.out:
        raise _died(p, done.returncode, done.err, limits)
    try:
        reply = json.loads(done.out.decode("utf-8"), object_hook=_decode_special)
    except (ValueError, UnicodeDecodeError):
        raise ImportFileError(f"the reader of {p.name} gave no readable answer", "read_failed") from None
    LAST.isolated = reply.get("isolated")
    if "refused" in reply:
        raise ImportFileError(str(reply.get("message")), str(reply["refused"]))
    return _frame(reply)


def _died(p: Path, code: int | None, err: bytes, limits: Limits) -> ImportFileError:
    if code is not None and code < 0:
        sig = signal.Signals(-code)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return ImportFileError(
                f"reading {p.name} used more than {limits.reader_cpu_seconds} s of CPU; it was stopped "
                "(AMAYESH_READER_CPU_SECONDS)",
                "read_timeout",
            )
        return ImportFileError(
            f"{p.name} crashed the reader ({sig.name}); the file is refused and nothing was written",
            "read_crashed",
        )
    tail = err.decode("utf-8", errors="replace").strip().splitlines()[-1:] if err else []
    if tail and "MemoryError" in tail[0]:
        return ImportFileError(
            f"reading {p.name} needs more than {limits.reader_memory_mb:,} MB (AMAYESH_READER_MEMORY_MB)",
            "too_large",
        )
    return ImportFileError(
        f"the reader of {p.name} failed (exit {code}){': ' + tail[0][:200] if tail else ''}", "read_failed"
    )


def _decode_special(obj: dict) -> object:
    if len(obj) == 1:
        if "$t" in obj:
            return pd.Timestamp(obj["$t"])
        if "$b" in obj:
            return base64.b64decode(obj["$b"])
    return obj


def _frame(reply: dict) -> pd.DataFrame:
    data = {name: pd.Series(values, dtype=object) for name, values in reply["columns"]}
    frame = pd.DataFrame(data, index=pd.RangeIndex(reply["rows"]))
    if reply["geometry"] is None:
        return frame
    import geopandas as gpd
    import shapely

    wkb = [None if b is None else base64.b64decode(b) for b in reply["geometry"]]
    geoms = shapely.from_wkb(wkb)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=reply["crs"])
