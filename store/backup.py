"""``amayesh backup`` and ``amayesh restore``: the layers, the accounts and the audit trail.

A backup is a folder:

* GeoPackage store: ``layers.gpkg`` and ``accounts.sqlite``, copied with SQLite's online backup
  API (a consistent copy even while the service reads);
* PostGIS store: ``database.dump``, ``pg_dump --format=custom`` of the whole database (layers,
  accounts, audit, row-level security policies), restored with ``pg_restore``;
* ``manifest.json``: per layer, for the licence applications, the programme activities and the audit table, the row count and a SHA-256 of its rows
  in key order (attributes and WKB geometry). ``restore`` recomputes them on the restored store
  and fails if any differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import shapely
import sqlalchemy as sa

from geo.errors import BackupError
from store.accounts import Accounts, accounts_url
from store.factory import open_store


def _is_postgis(url: str) -> bool:
    return url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def _libpq(url: str) -> str:
    """A URL pg_dump/pg_restore understand (no SQLAlchemy driver suffix)."""
    parsed = sa.engine.make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def frame_checksum(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    attrs = frame.drop(columns=[frame.geometry.name]) if hasattr(frame, "geometry") else frame
    digest.update(attrs.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S").encode("utf-8"))
    if hasattr(frame, "geometry"):
        for wkb in shapely.to_wkb(frame.geometry.to_numpy(), hex=True, output_dimension=2):
            digest.update((wkb or "").encode("ascii"))
    return digest.hexdigest()


def manifest(store_url: str) -> dict:
    """Row counts and checksums of every layer, of the licence applications and programme
    activities, and of the audit table."""
    store = open_store(store_url)
    out: dict[str, dict] = {}
    try:
        for name in store.list_layers():
            frame = store.read_layer(name)
            out[name] = {"rows": len(frame), "sha256": frame_checksum(frame)}
        applications = pd.DataFrame(store.list_applications())
        if len(applications):
            applications["check_result"] = applications["check_result"].map(
                lambda c: None if c is None else json.dumps(c, sort_keys=True, ensure_ascii=False)
            )
            applications = applications.sort_values("application_id", ignore_index=True)
        out["licence_applications"] = {"rows": len(applications), "sha256": frame_checksum(applications)}
        activities = pd.DataFrame(store.list_activities())
        if len(activities):
            activities = activities.sort_values("activity_id", ignore_index=True)
        out["programme_activities"] = {"rows": len(activities), "sha256": frame_checksum(activities)}
    finally:
        store.close()
    accounts = Accounts(store_url)
    try:
        rows = pd.DataFrame(accounts.audit_rows())
    finally:
        accounts.close()
    if len(rows):
        rows["at"] = pd.to_datetime(rows["at"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    out["amayesh_audit"] = {"rows": len(rows), "sha256": frame_checksum(rows)}
    return out


def _sqlite_copy(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)


def backup(store_url: str, folder: Path) -> dict:
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty; give a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    Accounts(store_url).ensure()
    if _is_postgis(store_url):
        if shutil.which("pg_dump") is None:
            raise BackupError("pg_dump is not installed (Debian: postgresql-client)")
        run = subprocess.run(
            ["pg_dump", "--format=custom", "--file", str(folder / "database.dump"), _libpq(store_url)],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise BackupError(f"pg_dump failed: {run.stderr.strip()[:500]}")
    else:
        path = Path(store_url.removeprefix("gpkg://"))
        if not path.exists():
            raise BackupError(f"no store at {path}")
        _sqlite_copy(path, folder / "layers.gpkg")
        _sqlite_copy(Path(accounts_url(store_url).removeprefix("sqlite:///")), folder / "accounts.sqlite")
    tables = manifest(store_url)
    info = {
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": "postgis" if _is_postgis(store_url) else "geopackage",
        "tables": tables,
    }
    (folder / "manifest.json").write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
    return info


def restore(folder: Path, store_url: str, *, force: bool = False) -> dict:
    """Restore a backup into ``store_url`` (which must be empty unless ``force``) and verify it."""
    folder = Path(folder)
    info = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    store = open_store(store_url)
    try:
        if store.list_layers() and not force:
            raise BackupError("the target store is not empty; restore into a new one or pass --force")
    finally:
        store.close()
    if _is_postgis(store_url):
        if info["store"] != "postgis":
            raise BackupError("this backup is of a GeoPackage store; restore it into a GeoPackage path")
        run = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                "--dbname",
                _libpq(store_url),
                str(folder / "database.dump"),
            ],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise BackupError(f"pg_restore failed: {run.stderr.strip()[:500]}")
    else:
        if info["store"] != "geopackage":
            raise BackupError("this backup is of a PostGIS store; restore it into a postgresql:// URL")
        path = Path(store_url.removeprefix("gpkg://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            staged = Path(tmp) / path.name
            _sqlite_copy(folder / "layers.gpkg", staged)
            os.replace(staged, path)
        _sqlite_copy(folder / "accounts.sqlite", Path(accounts_url(store_url).removeprefix("sqlite:///")))
    now = manifest(store_url)
    differ = [name for name in set(info["tables"]) | set(now) if info["tables"].get(name) != now.get(name)]
    if differ:
        raise BackupError(f"the restored store differs from the backup in: {', '.join(sorted(differ))}")
    return now
