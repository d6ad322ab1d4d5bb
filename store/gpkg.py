"""The embedded store: one GeoPackage file, no server.

A transaction works on a copy of the file and replaces the original atomically
(``os.replace``) when it commits, so readers always see a complete store and a crash or kill
half-way leaves the file as it was. Writers take an exclusive lock on ``<file>.lock``.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import (
    AlreadyExists,
    NoSpace,
    ScenarioNotFound,
    SchemaError,
    StoreError,
)
from geo.schema import LAYERS, Layer, layer
from store.base import (
    ACTIVITY_FIELDS,
    APPLICATION_FIELDS,
    SCENARIO_FIELDS,
    Frame,
    Store,
    Transaction,
    check_unique_key,
    decode_activity,
    decode_application,
    encode_activity,
    encode_application,
    ensure_space,
    megabytes,
    room_for_a_write,
    share_repeated_strings,
    validate_frame,
)
from store.geopackage import NotAGeoPackageTable, read_table

#: Bookkeeping tables, registered in ``gpkg_contents`` as attribute tables.
_META_SQL = "CREATE TABLE IF NOT EXISTS amayesh_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
_SCENARIOS_SQL = (
    "CREATE TABLE IF NOT EXISTS scenarios (id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, "
    "created_at TEXT NOT NULL, description TEXT, copied_from TEXT, payload TEXT NOT NULL)"
)


_APPLICATIONS_SQL = (
    "CREATE TABLE IF NOT EXISTS licence_applications ("
    "application_id TEXT PRIMARY KEY, applicant TEXT NOT NULL, service_type TEXT NOT NULL, "
    "capacity INTEGER NOT NULL CHECK (capacity > 0), lon REAL NOT NULL, lat REAL NOT NULL, "
    "county_code TEXT NOT NULL, province_code TEXT NOT NULL, received_at TEXT NOT NULL, "
    "decided_at TEXT, status TEXT NOT NULL, check_verdict TEXT, check_result TEXT, "
    "decision_reason TEXT, decided_by TEXT, created_by TEXT NOT NULL, licence_no TEXT, "
    "synthetic INTEGER NOT NULL, version INTEGER NOT NULL)"
)


_ACTIVITIES_SQL = (
    "CREATE TABLE IF NOT EXISTS programme_activities ("
    "activity_id TEXT PRIMARY KEY, organisation TEXT NOT NULL CHECK (organisation <> ''), "
    "organisation_kind TEXT NOT NULL CHECK (organisation_kind IN ('ngo', 'partner', 'campaign')), "
    "licence_no TEXT, service_type TEXT NOT NULL, "
    "place_kind TEXT NOT NULL CHECK (place_kind IN ('target_area', 'settlement', 'county')), "
    "place_code TEXT NOT NULL, target_code TEXT, county_code TEXT NOT NULL, province_code TEXT NOT NULL, "
    "start_date TEXT NOT NULL, end_date TEXT CHECK (end_date IS NULL OR end_date >= start_date), "
    "households INTEGER NOT NULL CHECK (households >= 0), persons INTEGER NOT NULL CHECK (persons >= 0), "
    "status TEXT NOT NULL CHECK (status IN ('planned', 'ongoing', 'completed', 'suspended', 'cancelled')), "
    "notes TEXT, created_by TEXT NOT NULL, updated_at TEXT NOT NULL, synthetic INTEGER NOT NULL, "
    "version INTEGER NOT NULL, "
    "CHECK (organisation_kind <> 'ngo' OR licence_no IS NOT NULL))"
)


def _ogr():
    """pyogrio (GDAL), imported when first needed: reading a whole layer does not need it
    (``store.geopackage``), and loading GDAL costs a process about 100 MB."""
    import pyogrio

    return pyogrio


def _register(conn: sqlite3.Connection, table: str, description: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
        "VALUES (?, 'attributes', ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        (table, table, description),
    )


def _bump_commits(path: Path) -> None:
    """Count layer commits inside the file, so that ``version()`` can tell them from scenario writes."""
    with sqlite3.connect(path) as conn:
        conn.execute(_META_SQL)
        _register(conn, "amayesh_meta", "bookkeeping of Amayesh: the commit counter")
        conn.execute(
            "INSERT INTO amayesh_meta (key, value) VALUES ('commits', 1) "
            "ON CONFLICT(key) DO UPDATE SET value = value + 1"
        )
    conn.close()


class _GpkgTransaction(Transaction):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _layers(self) -> list[str]:
        if not self.path.exists():
            return []
        return [str(n) for n in _ogr().list_layers(self.path)[:, 0]]

    def write_layer(self, name: str, frame: Frame) -> None:
        out = validate_frame(name, frame)
        _write(self.path, layer(name), out, append=False)

    def append(self, name: str, frame: Frame) -> None:
        spec = layer(name)
        out = validate_frame(name, frame)
        if name in self._layers():
            existing = _ogr().read_dataframe(
                self.path, layer=name, columns=spec.key.split(","), read_geometry=False
            )
            check_unique_key(spec, pd.concat([existing, out[spec.key.split(",")]], ignore_index=True))
            _write(self.path, spec, out, append=True)
        else:
            _write(self.path, spec, out, append=False)


def _has_table(conn: sqlite3.Connection | None, name: str) -> bool:
    """Whether the file behind ``conn`` (None: no file yet) holds the table ``name``."""
    return (
        conn is not None
        and conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        is not None
    )


def _write(path: Path, spec: Layer, frame: Frame, *, append: bool) -> None:
    frame = frame.reset_index(drop=True)
    # GeoPackage has no nullable integer or boolean type that pyogrio maps back; store them as
    # plain columns and let ``conform`` restore the dtypes on read.
    for col in spec.columns:
        if col.dtype == "int" and frame[col.name].isna().any():
            frame[col.name] = frame[col.name].astype("float64")
        elif col.dtype == "int":
            frame[col.name] = frame[col.name].astype("int64")
        elif col.dtype == "bool":
            frame[col.name] = frame[col.name].astype(bool)
    kwargs = {"layer": spec.name, "driver": "GPKG", "append": append}
    if spec.geometry_type:
        kwargs["geometry_type"] = spec.geometry_type
    else:
        frame = pd.DataFrame(frame)
    _unsynced()
    _ogr().write_dataframe(frame, path, **kwargs)


@functools.cache
def _unsynced() -> None:
    """GDAL's SQLite writes without a sync per commit (``OGR_SQLITE_SYNCHRONOUS=OFF``, for the
    process): every GeoPackage GDAL writes here is a transaction's private copy, synced once
    before it replaces the store (``GeoPackageStore.transaction``), or an export, made again if
    lost. A layer's write takes 10 ms less (a third of writing the small world's 13 layers)."""
    _ogr().set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})


class GeoPackageStore(Store):
    """Layers in one GeoPackage file at ``path``."""

    #: ``version()`` is a stat: cheap enough to call on the event loop.
    version_is_cheap = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._version: tuple[tuple[int, int, int], str] | None = None

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    def list_layers(self) -> list[str]:
        if not self.path.exists():
            return []
        # A GeoPackage lists its tables in gpkg_contents (GDAL lists the same): one query is a
        # fraction of GDAL opening the file, and every read asks. A file that is no SQLite
        # database gets GDAL's own error, as before.
        try:
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as conn:
                present = {str(row[0]) for row in conn.execute("SELECT table_name FROM gpkg_contents")}
        except sqlite3.Error:
            present = {str(n) for n in _ogr().list_layers(self.path)[:, 0]}
        return [name for name in LAYERS if name in present]

    def version(self) -> str:
        # Every commit replaces the file (a new inode) and bumps a counter inside it; a scenario
        # written in place changes the file's time but neither of those, so it is no new version.
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "empty"
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._version
        if cached is not None and cached[0] == key:
            return cached[1]
        commits = None
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
                row = conn.execute("SELECT value FROM amayesh_meta WHERE key = 'commits'").fetchone()
            conn.close()
            commits = None if row is None else int(row[0])
        except sqlite3.Error:
            pass
        version = (
            f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}" if commits is None else f"{st.st_ino}-c{commits}"
        )
        self._version = (key, version)
        return version

    def count(self, name: str) -> int:
        layer(name)
        if name not in self.list_layers():
            raise StoreError(f"layer {name!r} is not in the store")
        return int(_ogr().read_info(self.path, layer=name, force_feature_count=True)["features"])

    def _read(self, spec: Layer, bbox: tuple[float, float, float, float] | None) -> Frame:
        if bbox is None:
            # SQLite alone, chunk by chunk, each chunk's repeated strings shared as it comes (with
            # the earlier chunks'), so that their copies are freed before the next is read
            pool: dict[str, str] = {}
            try:
                frame = read_table(
                    self.path, spec.name, self.READ_CHUNK, lambda part: share_repeated_strings(part, pool)
                )
            except NotAGeoPackageTable:
                frame = self._read_with_gdal(spec)
        else:
            frame = _ogr().read_dataframe(self.path, layer=spec.name, bbox=bbox)
        if spec.geometry_type is not None and not isinstance(frame, gpd.GeoDataFrame):
            raise StoreError(f"{spec.name} has no geometry in {self.path}")
        return frame

    #: Features read per call or fetched per chunk: a service thread reloading 100,000
    #: settlements lets other threads run between chunks.
    READ_CHUNK = 5000

    def _read_with_gdal(self, spec: Layer) -> Frame:
        """The layer read by GDAL, for a table this module's SQLite reader does not know."""
        pool: dict[str, str] = {}
        if spec.geometry_type is None:
            return _ogr().read_dataframe(self.path, layer=spec.name, read_geometry=False)
        parts = [
            share_repeated_strings(
                _ogr().read_dataframe(self.path, layer=spec.name, max_features=self.READ_CHUNK), pool
            )
        ]
        while len(parts[-1]) == self.READ_CHUNK:
            start = self.READ_CHUNK * len(parts)
            parts.append(
                share_repeated_strings(
                    _ogr().read_dataframe(
                        self.path, layer=spec.name, skip_features=start, max_features=self.READ_CHUNK
                    ),
                    pool,
                )
            )
        if len(parts) == 1:
            return parts[0]
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Copies left by a writer that was killed: nobody else can be using them now.
            for stale in self.path.parent.glob(f".{self.path.stem}.*.tmp.gpkg"):
                stale.unlink(missing_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{self.path.stem}.", suffix=".tmp.gpkg", dir=self.path.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                size = self.path.stat().st_size if self.path.exists() else 0
                ensure_space(self.path.parent, room_for_a_write(size), "a write to the store")
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                    mode = stat.S_IMODE(self.path.stat().st_mode)
                else:
                    tmp.unlink()
                    umask = os.umask(0)
                    os.umask(umask)
                    mode = 0o666 & ~umask
                yield _GpkgTransaction(tmp)
                if tmp.exists():
                    _bump_commits(tmp)
                    # The copy is made private (mkstemp); the store keeps the mode it had.
                    os.chmod(tmp, mode)
                    with open(tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
                    os.replace(tmp, self.path)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                raise NoSpace(
                    f"the disk under {self.path.parent} filled up during a write to the store; nothing "
                    f"was written (the store is as it was). A write needs about "
                    f"{megabytes(room_for_a_write(size))} free there: free space and try again."
                ) from err
            finally:
                tmp.unlink(missing_ok=True)
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ---- scenarios ---------------------------------------------------------------------------

    @contextmanager
    def _in_place(self, write: bool) -> Iterator[sqlite3.Connection]:
        """A connection to the file itself for the tables beside the layers (scenarios, licence
        applications): written in place under the layers' lock, no layer commit."""
        if not self.path.exists():
            if not write:
                yield None  # type: ignore[misc]  # readers check for None: no file, no scenarios
                return
            raise StoreError(f"{self.path} holds no layers; build the demo or import them first")
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            # Writers take the layers' lock: a layer transaction copies the file, and a scenario
            # written into the original meanwhile would be lost when the copy replaces it.
            if write:
                fcntl.flock(lock, fcntl.LOCK_EX)
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                if write:
                    with conn:
                        conn.execute(_SCENARIOS_SQL)
                        _register(conn, "scenarios", "saved planning scenarios (changes as JSON)")
                yield conn
                conn.commit()
            finally:
                conn.close()
                if write:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _row(row) -> dict:
        out = dict(zip(SCENARIO_FIELDS, row, strict=True))
        out["payload"] = json.loads(out["payload"])
        return out

    def save_scenario(self, scenario: dict) -> None:
        values = [scenario.get(f) for f in SCENARIO_FIELDS]
        values[-1] = json.dumps(scenario["payload"], ensure_ascii=False)
        with self._in_place(write=True) as conn:
            try:
                conn.execute(
                    f"INSERT INTO scenarios ({', '.join(SCENARIO_FIELDS)}) VALUES (?,?,?,?,?,?,?)", values
                )
            except sqlite3.IntegrityError as err:
                raise AlreadyExists(f"a scenario with id {scenario.get('id')!r} exists already") from err

    def _has_scenarios(self, conn) -> bool:
        return _has_table(conn, "scenarios")

    def scenario(self, scenario_id: str) -> dict:
        with self._in_place(write=False) as conn:
            row = None
            if self._has_scenarios(conn):
                row = conn.execute(
                    f"SELECT {', '.join(SCENARIO_FIELDS)} FROM scenarios WHERE id = ?", (scenario_id,)
                ).fetchone()
        if row is None:
            raise ScenarioNotFound(f"no scenario {scenario_id!r}")
        return self._row(row)

    def list_scenarios(self, owner: str | None = None) -> list[dict]:
        with self._in_place(write=False) as conn:
            if not self._has_scenarios(conn):
                return []
            sql = f"SELECT {', '.join(SCENARIO_FIELDS)} FROM scenarios"
            args: tuple = ()
            if owner is not None:
                sql += " WHERE owner = ?"
                args = (owner,)
            rows = conn.execute(sql + " ORDER BY created_at DESC, id", args).fetchall()
        return [self._row(r) for r in rows]

    def delete_scenario(self, scenario_id: str) -> None:
        with self._in_place(write=True) as conn:
            gone = conn.execute("DELETE FROM scenarios WHERE id = ?", (scenario_id,)).rowcount
        if not gone:
            raise ScenarioNotFound(f"no scenario {scenario_id!r}")

    # ---- licence applications ----------------------------------------------------------------

    @staticmethod
    def _ensure_applications(conn: sqlite3.Connection) -> None:
        conn.execute(_APPLICATIONS_SQL)
        _register(conn, "licence_applications", "licence applications and their decisions")

    def add_applications(self, rows: list[dict]) -> None:
        values = [tuple(encode_application(r).values()) for r in rows]
        marks = ",".join("?" * len(APPLICATION_FIELDS))
        with self._in_place(write=True) as conn:
            self._ensure_applications(conn)
            try:
                conn.executemany(
                    f"INSERT INTO licence_applications ({', '.join(APPLICATION_FIELDS)}) VALUES ({marks})",
                    values,
                )
            except sqlite3.IntegrityError as err:
                conn.rollback()
                raise AlreadyExists(f"an application with one of these ids exists already: {err}") from err

    def _select_applications(self, conn, provinces, application_id: str | None = None) -> list[dict]:
        if not _has_table(conn, "licence_applications"):
            return []
        conditions: list[str] = []
        args: list = []
        if application_id is not None:
            conditions.append("application_id = ?")
            args.append(application_id)
        if provinces is not None:
            codes = sorted(provinces)
            conditions.append(f"province_code IN ({','.join('?' * len(codes))})")
            args.extend(codes)
        sql = f"SELECT {', '.join(APPLICATION_FIELDS)} FROM licence_applications"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        rows = conn.execute(sql + " ORDER BY received_at DESC, application_id", args).fetchall()
        return [decode_application(dict(zip(APPLICATION_FIELDS, r, strict=True))) for r in rows]

    def _reading_applications(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._in_place(write=False)

    @contextmanager
    def _writing_application(self, licence: gpd.GeoDataFrame | None) -> Iterator[sqlite3.Connection]:
        if licence is None:
            with self._in_place(write=True) as conn:
                yield conn
            return
        # An approval: the licence and the decision land in one commit of the file, or neither.
        with self.transaction() as tx:
            assert isinstance(tx, _GpkgTransaction)
            tx.append("ngos", licence)
            conn = sqlite3.connect(tx.path, timeout=30)
            try:
                with conn:
                    yield conn
            finally:
                conn.close()

    @staticmethod
    def _set_application(conn: sqlite3.Connection, row: dict, version: int) -> bool:
        fields = [f for f in APPLICATION_FIELDS if f != "application_id"]
        sets = ", ".join(f"{f} = ?" for f in fields)
        return bool(
            conn.execute(
                f"UPDATE licence_applications SET {sets} WHERE application_id = ? AND version = ?",
                (*(row[f] for f in fields), row["application_id"], version),
            ).rowcount
        )

    # ---- programme activities ----------------------------------------------------------------

    def add_activities(self, rows: list[dict]) -> None:
        values = [tuple(encode_activity(r).values()) for r in rows]
        marks = ",".join("?" * len(ACTIVITY_FIELDS))
        with self._in_place(write=True) as conn:
            conn.execute(_ACTIVITIES_SQL)
            _register(conn, "programme_activities", "activities of the capacity-building programme (3W)")
            try:
                conn.executemany(
                    f"INSERT INTO programme_activities ({', '.join(ACTIVITY_FIELDS)}) VALUES ({marks})",
                    values,
                )
            except sqlite3.IntegrityError as err:
                conn.rollback()
                if "UNIQUE" in str(err):
                    raise AlreadyExists(f"an activity with one of these ids exists already: {err}") from err
                raise SchemaError(f"an activity breaks a rule of the register: {err}") from err

    @staticmethod
    def _where(provinces, activity_id: str | None) -> tuple[str, list]:
        conditions: list[str] = ["activity_id = ?"] if activity_id is not None else []
        args: list = [activity_id] if activity_id is not None else []
        if provinces is not None:
            codes = sorted(provinces)
            conditions.append(f"province_code IN ({','.join('?' * len(codes))})")
            args.extend(codes)
        return (" WHERE " + " AND ".join(conditions)) if conditions else "", args

    def _select_activities(self, provinces, activity_id: str | None = None) -> list[dict]:
        with self._in_place(write=False) as conn:
            if not _has_table(conn, "programme_activities"):
                return []
            where, args = self._where(provinces, activity_id)
            rows = conn.execute(
                f"SELECT {', '.join(ACTIVITY_FIELDS)} FROM programme_activities{where} "
                "ORDER BY start_date DESC, activity_id",
                args,
            ).fetchall()
        return [decode_activity(dict(zip(ACTIVITY_FIELDS, r, strict=True))) for r in rows]

    def _set_activity(self, row: dict, version: int, provinces) -> bool:
        fields = [f for f in ACTIVITY_FIELDS if f != "activity_id"]
        where, args = self._where(provinces, row["activity_id"])
        with self._in_place(write=True) as conn:
            try:
                return bool(
                    conn.execute(
                        f"UPDATE programme_activities SET {', '.join(f'{f} = ?' for f in fields)}"
                        f"{where} AND version = ?",
                        (*(row[f] for f in fields), *args, version),
                    ).rowcount
                )
            except sqlite3.IntegrityError as err:
                conn.rollback()
                raise SchemaError(f"the activity breaks a rule of the register: {err}") from err

    def _delete_activity(self, activity_id: str, version: int, provinces) -> bool:
        where, args = self._where(provinces, activity_id)
        with self._in_place(write=True) as conn:
            return bool(
                conn.execute(
                    f"DELETE FROM programme_activities{where} AND version = ?", (*args, version)
                ).rowcount
            )
