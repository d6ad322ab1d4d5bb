"""Import jobs: a user's file in through the browser, previewed, then confirmed or cancelled.

A job keeps the uploaded file in a private folder of its own (mode 0700, outside anything the
service serves; the file is never served back), reads it through the same sandboxed reader and
checks it with the same validation as ``amayesh import`` (``exchange.imports``), and keeps a
preview: the rows that would be added, updated and left unchanged, and the rejected rows with
their reasons in Persian and English. Confirming writes every row or none, in one transaction,
after saving the layer as it was (``versions/``) and before an audit record (who, the file's
SHA-256, the counts); an administrator can undo a confirmed import (the saved version is
restored if the layer has not changed since). Cancelling, confirming or the job's expiry delete
the file.

Rights: administrators import every layer; licensing officers only ``ngos`` and
``ngo_evaluations``, and only rows of their own provinces' centres (a row of another province is
rejected with its reason, nothing written). Evaluations keep their history: a centre's
evaluation of a day already recorded is refused, never overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from exchange.formats import ImportFileError, neutralise_formulas
from exchange.imports import check_rows, file_refused, read_rows, validate_file
from exchange.kinds import SUFFIX_FORMAT
from exchange.limits import Limits, get_limits
from exchange.templates import LABELS, TEMPLATE_COLUMNS, field_label, header_label
from exchange.validation import ValidationResult
from geo.errors import Forbidden, ImportConflict, ImportNotFound, NoSpace, TooManyImports
from geo.norms import Norms, RatingScale, VolunteerNorms
from geo.schema import LAYERS, layer
from geo.volunteers import VOLUNTEER_REASONS
from store.backup import frame_checksum
from store.base import Store

#: Layers a licensing officer may import (rows of their own provinces only).
OFFICER_LAYERS = ("ngos", "ngo_evaluations", "volunteer_groups")
#: Layers that can be imported through the browser (the reference layers come from the CLI).
BROWSER_LAYERS = tuple(TEMPLATE_COLUMNS)
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

#: Reason code -> Persian explanation (the English ones are ``exchange.validation.REASONS``).
REASONS_FA = {
    "crs_missing": "دستگاه مختصات فایل معلوم نیست",
    "crs_unknown": "دستگاه مختصات فایل شناخته نیست",
    "missing_column": "ستون لازم در فایل نیست",
    "required_missing": "مقدار لازم خالی است",
    "wrong_type": "مقدار از نوع این ستون نیست",
    "value_out_of_range": "مقدار کمتر از کمینهٔ مجاز است",
    "bad_format": "قالب مقدار درست نیست",
    "unknown_service_type": "نوع خدمت در فهرست خدمات نیست",
    "mode_not_offered": "این خدمت به این شیوه ارائه نمی‌شود (شیوه‌های فهرست خدمات)",
    "unknown_status": "وضعیت مجوز شناخته نیست",
    "unknown_value": "از مقدارهای مجاز نیست",
    "unknown_county": "شهرستانی با این کد یا نام نیست",
    "bad_date": "تاریخ شمسی یا میلادی درستی نیست",
    "dates_order": "تاریخ انقضا پس از تاریخ صدور نیست",
    "duplicate_key": "این شماره در فایل بیش از یک بار آمده است",
    "key_exists": "این شماره پیش‌تر ثبت شده است",
    "empty_geometry": "موقعیت ندارد",
    "invalid_geometry": "مختصات عدد نیست یا هندسه نادرست است",
    "geometry_type": "نوع هندسه با لایه نمی‌خواند",
    "unrepairable_polygon": "چندضلعی نادرست است و درست‌کردنش مساحت را تغییر می‌دهد",
    "coordinates_swapped": "طول و عرض جغرافیایی جابه‌جا نوشته شده‌اند",
    "outside_iran": "این موقعیت بیرون از ایران است",
    "non_finite_coordinates": "مختصات عدد متناهی نیست",
    "too_many_vertices": "هندسه بیش از حد رأس دارد",
    "geometry_too_deep": "هندسه بیش از حد تودرتو است",
    "outside_county": "چندضلعی از شهرستان خود بیرون می‌زند",
    "implausible_area": "مساحت چندضلعی پذیرفتنی نیست",
    "no_position": "نه مختصات دارد، نه کد آبادی، نه نام روستا یا شهر با شهرستانش",
    "unknown_settlement": "آبادی‌ای با این کد، یا با این نام در این شهرستان، نیست",
    "ambiguous_settlement": "چند آبادی این شهرستان این نام را دارند؛ کد آبادی یکی را بنویسید",
    "county_needed": "برای یافتن روستا یا شهر، شهرستان آن لازم است",
    "duplicate_centre": "همین مرکز (نام، آبادی و خدمت) دو بار آمده یا با شمارهٔ دیگری ثبت شده است",
    "other_province": "این ردیف از استانی بیرون از استان‌های شماست",
    "unknown_centre": "مرکزی با این شمارهٔ مجوز در فهرست نیست",
    "unknown_grade": "از رتبه‌های مقیاس هنجارها نیست",
    "future_date": "تاریخ ارزیابی در آینده است",
    "evaluation_exists": "ارزیابی این مرکز در این روز پیش‌تر ثبت شده است (سابقه بازنویسی نمی‌شود)",
    **{code: fa for code, (_en, fa) in VOLUNTEER_REASONS.items()},
    "format": "قالب فایل پذیرفته نیست",
    "remote_source": "فقط فایل محلی پذیرفته می‌شود",
    "file_too_large": "فایل بیش از اندازهٔ مجاز است",
    "too_many_rows": "فایل بیش از شمار مجاز ردیف دارد",
    "zip_entries": "فایل فشرده بیش از حد فایل دارد",
    "zip_bomb": "فایل فشرده بیش از حد مجاز باز می‌شود",
    "xml_dtd": "فایل اکسل DTD یا موجودیت XML دارد",
    "json_too_deep": "JSON بیش از حد تودرتو است",
    "crs_link": "دستگاه مختصات GeoJSON پیوند است",
    "read_timeout": "خواندن فایل بیش از حد طول کشید",
    "read_crashed": "فایل خواننده را از کار انداخت",
    "too_large": "خواندن فایل بیش از حافظهٔ مجاز می‌خواهد",
    "read_failed": "خواندن فایل ناکام ماند",
    "layer": "لایهٔ فایل معلوم نیست",
    "file": "فایل خوانده نشد",
}
_DIGITS_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def message_fa(row: Any, fld: str, value: str, reason: str, message: str) -> str:
    """The Persian message of a rejection (the English one is the validation's)."""
    text = REASONS_FA.get(reason, reason)
    if reason == "ambiguous_settlement" and "one of: " in message:
        text += ": " + message.split("one of: ", 1)[1]
    label = field_label(fld, "fa") or ""  # as the template's headers name it; the location: «مکان»
    where = "فایل" if row is None or pd.isna(row) else f"ردیف {str(int(row)).translate(_DIGITS_FA)}"
    shown = f" «{value}»" if value else ""
    return f"{where}: {label}{shown}: {text}"


@dataclass
class User:
    """Who acts: a user name, a role and (for scoped roles) their provinces."""

    username: str
    role: str
    provinces: frozenset[str] | None = None


@dataclass
class Job:
    id: str
    owner: str
    role: str
    provinces: frozenset[str] | None
    layer: str
    filename: str
    folder: Path
    path: Path
    created: float
    state: str = "uploading"  # uploading, reading, checking, ready, refused, failed, confirmed, cancelled
    size: int = 0
    sha256: str = ""
    rows_read: int | None = None
    rows_checked: int | None = None
    raw: pd.DataFrame | None = None
    rejected: pd.DataFrame | None = None
    frame: gpd.GeoDataFrame | pd.DataFrame | None = None  # the rows to write, with ``change``
    counts: dict[str, int] = field(default_factory=dict)
    store_version: str | None = None
    record: dict | None = None
    error: str | None = None
    seconds: float | None = None

    def summary(self) -> dict:
        """What a client is told about the job (never the file's path)."""
        return {
            "id": self.id,
            "layer": self.layer,
            "filename": self.filename,
            "state": self.state,
            "size": self.size,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_checked": self.rows_checked,
            "counts": self.counts,
            "can_confirm": self.state == "ready" and self.counts.get("rejected", 0) == 0,
            "created_at": dt.datetime.fromtimestamp(self.created, dt.UTC).isoformat(),
            "seconds": self.seconds,
            "record": self.record,
        }


class _Cancelled(Exception):
    """The job was cancelled while its analysis ran."""


class ImportJobs:
    """The import jobs of one service: their private folder, their states, the confirmed imports.

    Parameters
    ----------
    store
        The store the imports write to.
    folder
        The private folder for uploads (made 0700); its leftovers from an earlier run are deleted.
    versions
        Where the layer as it was before each import is saved.
    audit
        ``audit(actor, action, target, old, new)``: one row of the audit trail.
    ttl_seconds
        An unconfirmed job (and its file) is deleted this long after its upload.
    reference
        ``reference(store_version)``: layers already in memory exactly as the store holds them at
        that version (the service's snapshot), so a check need not read them again; ``{}`` when
        it has none.
    """

    def __init__(
        self,
        store: Store,
        folder: Path,
        versions: Path,
        audit: Callable[..., None],
        *,
        ttl_seconds: float = 3600.0,
        max_open_per_user: int = 5,
        limits: Callable[[], Limits] = get_limits,
        ratings: RatingScale | None = None,
        volunteers: VolunteerNorms | None = None,
        reference: Callable[[str], dict[str, pd.DataFrame]] | None = None,
        norms: Callable[[], Norms] | None = None,
    ) -> None:
        self.store = store
        self.folder = Path(folder)
        self.versions = Path(versions)
        self.audit = audit
        self.ttl = ttl_seconds
        self.max_open = max_open_per_user
        self.limits = limits
        self.reference = reference
        #: the norms' evaluation scale: what an evaluation's grade is checked against
        self.ratings = ratings
        #: the norms' volunteer specialities: what a volunteer group's rows are checked against
        self.volunteers = volunteers
        #: the norms in force (the service's snapshot's: an administrator may import new ones);
        #: when given, their scale, specialities and catalogue are what rows are checked against
        self.norms = norms
        self.jobs: dict[str, Job] = {}
        #: the registry as the store held it at a version, read by a check (a snapshot holds
        #: its statuses as of its day, not as stored): the next check at that version reuses it
        self._registry: tuple[str, pd.DataFrame | None] = ("", None)
        self._lock = threading.Lock()
        self._write = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amayesh-import")
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        for leftover in self.folder.iterdir():  # uploads of a process that ended
            if leftover.is_dir() and _ID.match(leftover.name):
                shutil.rmtree(leftover, ignore_errors=True)
        self._manifest = self.folder / "imports.json"

    # ---- rights ------------------------------------------------------------------------------

    @staticmethod
    def may_import(user: User, layer_name: str) -> bool:
        if user.role == "admin":
            return layer_name in BROWSER_LAYERS
        return user.role == "licensing_officer" and layer_name in OFFICER_LAYERS

    def _check_layer(self, user: User, layer_name: str) -> None:
        layer(layer_name)
        if layer_name not in BROWSER_LAYERS:
            raise Forbidden(
                f"{layer_name} is not imported through the browser (use `amayesh import`); "
                f"these are: {', '.join(BROWSER_LAYERS)}"
            )
        if not self.may_import(user, layer_name):
            raise Forbidden(
                f"the role {user.role} may not import {layer_name} (licensing officers: ngos, ngo_evaluations and volunteer_groups only)"
            )

    # ---- jobs --------------------------------------------------------------------------------

    def new_job(self, user: User, layer_name: str, filename: str) -> Job:
        """A job ready to receive its file (``receive``)."""
        self._check_layer(user, layer_name)
        self.sweep()
        with self._lock:
            open_jobs = [
                j
                for j in self.jobs.values()
                if j.owner == user.username
                and j.state in ("uploading", "reading", "checking", "ready", "refused")
            ]
            if len(open_jobs) >= self.max_open:
                raise TooManyImports(
                    f"you have {len(open_jobs)} imports open; confirm or cancel one first "
                    f"(at most {self.max_open})"
                )
            job_id = secrets.token_urlsafe(18)
            name = Path(str(filename or "upload")).name[-120:] or "upload"
            suffix = next(
                (s for s in sorted(SUFFIX_FORMAT, key=len, reverse=True) if name.lower().endswith(s)), ""
            )
            folder = self.folder / job_id
            folder.mkdir(mode=0o700)
            job = Job(
                id=job_id,
                owner=user.username,
                role=user.role,
                provinces=user.provinces,
                layer=layer_name,
                filename=name,
                folder=folder,
                path=folder / f"upload{suffix}",
                created=time.time(),
            )
            self.jobs[job_id] = job
        return job

    def receive(self, job: Job, chunks: Iterable[bytes], max_bytes: int) -> None:
        """Write the file's bytes, counting them: beyond ``max_bytes`` the job is dropped."""
        digest = hashlib.sha256()
        size = 0
        fd = os.open(job.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise ImportFileError(
                            f"the file is larger than {max_bytes / 2**20:,.0f} MB (AMAYESH_MAX_UPLOAD_MB)",
                            "file_too_large",
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as err:
            self._drop(job)
            if err.errno != errno.ENOSPC:
                raise
            raise NoSpace(
                f"the disk under the uploads folder is full after {size / 2**20:,.1f} MB of the file; "
                "nothing was kept. Ask the administrator to free space, then upload again."
            ) from err
        except BaseException:
            self._drop(job)
            raise
        job.size, job.sha256, job.state = size, digest.hexdigest(), "reading"

    def start(self, job: Job) -> None:
        """Read and check the job's file in the background (``analyse``)."""
        self._pool.submit(self.analyse, job)

    def analyse(self, job: Job) -> Job:
        """Read, place, validate and compare with the store: the job's preview."""
        started = time.perf_counter()
        try:
            self._advance(job, "reading")
            job.store_version = self.store.version()
            limits = self.limits()
            try:
                raw = read_rows(job.path, job.layer, limits=limits)
            except ImportFileError as err:
                self._preview(job, file_refused(job.layer, job.filename, err), None)
                self._advance(job, "refused")
                return job
            job.rows_read = len(raw)
            job.raw = raw
            self._advance(job, "checking")
            scoped = job.provinces if job.role != "admin" else None
            # The store's layers, read once for both checks below (or taken from the snapshot).
            layers: dict = dict(self.reference(job.store_version)) if self.reference else {}
            version, registry = self._registry
            if version == job.store_version and registry is not None:
                layers.setdefault("ngos", registry)
            norms = self.norms() if self.norms is not None else None
            result = check_rows(
                self.store,
                job.layer,
                raw,
                limits=limits,
                provinces=scoped,
                cache=layers,
                ratings=norms.ratings if norms is not None else self.ratings,
                volunteers=norms.volunteers if norms is not None else self.volunteers,
                services=norms.services if norms is not None else None,
            )
            job.rows_checked = len(raw)
            if "ngos" in layers and self.store.version() == job.store_version:  # read at that version
                self._registry = (job.store_version, layers["ngos"])
            rows = result.frame if result.ok else result.accepted
            self._preview(job, result, rows, layers.get(job.layer))
            self._advance(job, "ready" if not result.rejected["row"].isna().any() else "refused")
        except _Cancelled:
            self._forget_preview(job)  # cancelled while it was read or checked: it stays cancelled
        except Exception as err:  # a fault of ours: the job fails, the server goes on
            with self._lock:
                if job.state != "cancelled":
                    job.state, job.error = "failed", f"{type(err).__name__}: {err}"[:300]
            import logging

            logging.getLogger("amayesh").exception("import %s failed", job.id)
        finally:
            job.seconds = round(time.perf_counter() - started, 3)
        return job

    def _advance(self, job: Job, state: str) -> None:
        """Move ``job`` on to ``state`` unless it was cancelled meanwhile (``_Cancelled``): an
        analysis still running when its import is cancelled never brings the import back."""
        with self._lock:
            if job.state == "cancelled":
                raise _Cancelled
            job.state = state

    @staticmethod
    def _forget_preview(job: Job) -> None:
        job.raw, job.frame, job.rejected = None, None, None

    def _preview(
        self,
        job: Job,
        result: ValidationResult,
        frame: pd.DataFrame | None,
        stored: pd.DataFrame | None = None,
    ) -> None:
        rejected = result.rejected.copy()
        rejected["message_fa"] = [
            message_fa(r.row, r.field, r.value, r.reason, r.message) for r in rejected.itertuples()
        ]
        job.rejected = rejected
        counts = {"rows": int(result.rows), "added": 0, "updated": 0, "unchanged": 0}
        counts["rejected"] = int(rejected["row"].nunique()) if rejected["row"].notna().any() else 0
        if rejected["row"].isna().any():
            counts["rejected"] = int(result.rows) or 1
        if frame is not None and len(frame):
            spec = layer(job.layer)
            keys = spec.key.split(",")
            frame = frame.copy()
            change = pd.Series("added", index=frame.index, dtype=object)
            if stored is None and job.layer in self.store.list_layers():
                stored = self.store.read_layer(job.layer)
            if stored is not None:
                new_key = _keys(frame, keys)
                old_key = _keys(stored, keys)
                # Only the stored rows the file names are compared, as text: writing out every
                # stored row (99,654 settlements) took most of a small file's preview.
                named = old_key.isin(new_key).to_numpy()
                old_rows = pd.Series(_row_text(stored[named]), index=old_key[named].to_numpy())
                present = new_key.isin(old_key)
                same = present & (pd.Series(_row_text(frame), index=frame.index) == new_key.map(old_rows))
                change[present] = "updated"
                change[same] = "unchanged"
            frame["change"] = change.to_numpy()
            for kind in ("added", "updated", "unchanged"):
                counts[kind] = int((change == kind).sum())
        job.frame = frame
        job.counts = counts

    def get(self, job_id: str, user: User) -> Job:
        """The job, if ``user`` started it (or is an administrator); ``ImportNotFound`` otherwise."""
        self.sweep()
        job = self.jobs.get(job_id) if _ID.match(job_id or "") else None
        if job is None or (job.owner != user.username and user.role != "admin"):
            raise ImportNotFound(f"no import {job_id[:64]!r} of yours (never made, expired or cancelled)")
        if job.owner != user.username:  # an admin looking at another user's job: same rights apply
            self._check_layer(user, job.layer)
        return job

    def cancel(self, job_id: str, user: User) -> Job:
        job = self.get(job_id, user)
        # Not while a confirm writes (``_write``): a cancel then waits and finds it confirmed; and
        # after this no analysis moves the job on (``_lock``, ``_advance``).
        with self._write, self._lock:
            if job.state in ("confirmed", "cancelled"):
                raise ImportConflict(f"this import is {job.state} already")
            job.state = "cancelled"
        self._forget_preview(job)
        self._drop(job, keep_job=True)
        self.audit(user.username, "import.cancel", f"layer:{job.layer}", None, self._what(job))
        return job

    def confirm(self, job_id: str, user: User) -> dict:
        """Write every previewed row, or none: the layer merged by key, after saving it as it was."""
        job = self.get(job_id, user)
        if job.owner != user.username:
            raise ImportConflict("only the user who uploaded the file confirms its import")
        with self._write:
            if job.state != "ready":
                raise ImportConflict(f"this import is {job.state}, not ready to confirm")
            if job.counts.get("rejected"):
                raise ImportConflict(
                    f"{job.counts['rejected']} rows are rejected: nothing is written until every row is "
                    "right; download the rejected rows, fix them and upload the file again"
                )
            if job.frame is None or not len(job.frame):
                raise ImportConflict("the file holds no rows to write")
            if self.store.version() != job.store_version:
                raise ImportConflict(
                    "the data changed since this preview (another import or an approval); "
                    "upload the file again to see what it would change now"
                )
            spec = layer(job.layer)
            keys = spec.key.split(",")
            frame = job.frame.drop(columns=["change"])
            present = job.layer in self.store.list_layers()
            before = self.store.read_layer(job.layer) if present else None
            saved = self._save_version(job.layer) if present else None
            merged = frame
            if before is not None and len(before):
                kept = before[~_keys(before, keys).isin(_keys(frame, keys))]
                merged = pd.concat([kept, frame], ignore_index=True)
                if isinstance(frame, gpd.GeoDataFrame):
                    merged = gpd.GeoDataFrame(merged, geometry="geometry", crs=frame.crs)
            with self.store.transaction() as tx:
                tx.write_layer(job.layer, merged)
            after = self.store.read_layer(job.layer)
            record = {
                "id": job.id,
                "layer": job.layer,
                "by": user.username,
                "role": user.role,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "file": job.filename,
                "file_sha256": job.sha256,
                "counts": {k: job.counts.get(k, 0) for k in ("added", "updated", "unchanged")},
                "rows_before": None if before is None else len(before),
                "rows_after": len(after),
                "before_sha256": None if before is None else frame_checksum(before),
                "after_sha256": frame_checksum(after),
                "saved_as": None if saved is None else saved.name,
                "undone_by": None,
                "undone_at": None,
            }
            self.audit(
                user.username,
                "import.http",
                f"layer:{job.layer}",
                None
                if before is None
                else {"rows": len(before), "sha256": record["before_sha256"], "saved_as": str(saved)},
                {k: record[k] for k in ("file", "file_sha256", "counts", "rows_after", "after_sha256")},
            )
            self._remember(record)
            job.record = record
            job.state = "confirmed"
            self._drop(job, keep_job=True)
        return record

    def recent(self, user: User, limit: int = 20) -> list[dict]:
        """Confirmed imports, newest first: an administrator sees all, others their own."""
        records = self._records()
        if user.role != "admin":
            records = [r for r in records if r["by"] == user.username]
        return list(reversed(records))[:limit]

    def undo(self, import_id: str, user: User) -> dict:
        """Restore the layer as it was before import ``import_id`` (administrators only), if it has
        not changed since."""
        if user.role != "admin":
            raise Forbidden("only an administrator undoes an import")
        with self._write:
            records = self._records()
            record = next((r for r in records if r["id"] == import_id), None)
            if record is None:
                raise ImportNotFound(f"no confirmed import {import_id[:64]!r}")
            if record["undone_at"]:
                raise ImportConflict(f"this import was undone already by {record['undone_by']}")
            if record["saved_as"] is None:
                raise ImportConflict(
                    "the layer did not exist before this import: there is no version to restore"
                )
            current = self.store.read_layer(record["layer"])
            if frame_checksum(current) != record["after_sha256"]:
                raise ImportConflict(
                    "the layer changed after this import (a later import or an approved licence); "
                    "undo the later change first"
                )
            saved = self.versions / record["saved_as"]
            # a saved version is restored whole: its evaluations are recorded ones, not new
            result = validate_file(
                self.store,
                record["layer"],
                saved,
                limits=self.limits(),
                new_evaluations=False,
                services=self.norms().services if self.norms is not None else None,
            )
            if not result.ok or result.frame is None:
                raise ImportConflict(
                    f"the saved version {saved.name} cannot be read back: {len(result.rejected)} problems"
                )
            self._save_version(record["layer"])
            with self.store.transaction() as tx:
                tx.write_layer(record["layer"], result.frame)
            restored = self.store.read_layer(record["layer"])
            record["undone_by"] = user.username
            record["undone_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self.audit(
                user.username,
                "import.undo",
                f"layer:{record['layer']}",
                {"import": record["id"], "rows": len(current), "sha256": record["after_sha256"]},
                {"rows": len(restored), "sha256": frame_checksum(restored), "restored": record["saved_as"]},
            )
            self._write_records(records)
        return record

    # ---- what a preview shows ----------------------------------------------------------------

    def rows_geojson(self, job: Job, limit: int = 5000) -> dict:
        """The rows to write as GeoJSON (``change``: added, updated, unchanged)."""
        frame = job.frame
        if frame is None or not isinstance(frame, gpd.GeoDataFrame) or not len(frame):
            return {"type": "FeatureCollection", "features": [], "numberMatched": 0, "numberReturned": 0}
        shown = frame.head(limit)
        props = json.loads(
            pd.DataFrame(shown.drop(columns=shown.geometry.name)).to_json(
                orient="records", date_format="iso", force_ascii=False
            )
        )
        geoms = [json.loads(g) for g in shapely.to_geojson(shown.geometry.to_numpy())]
        features = [
            {"type": "Feature", "geometry": g, "properties": p} for g, p in zip(geoms, props, strict=True)
        ]
        return {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": len(frame),
            "numberReturned": len(features),
        }

    def rejected_rows(self, job: Job) -> list[dict]:
        if job.rejected is None:
            return []
        out = job.rejected.astype(object).where(job.rejected.notna(), None)
        return [
            {k: (int(v) if k == "row" and v is not None else v) for k, v in r.items()}
            for r in out.to_dict("records")
        ]

    def rejected_workbook(self, job: Job, path: Path, lang: str = "fa") -> Path:
        """The rejected rows as they were in the file, with their reasons, to fix and upload again."""
        if job.rejected is None:
            raise ImportConflict("this import has no preview yet")
        rejected = job.rejected
        text = "message_fa" if lang == "fa" else "message"
        reasons = (
            rejected.dropna(subset=["row"])
            .groupby("row")
            .agg({"reason": lambda s: "; ".join(dict.fromkeys(s)), text: lambda s: " | ".join(s)})
        )
        if job.raw is not None and len(reasons):
            rows = job.raw.iloc[[int(r) - 1 for r in reasons.index]].copy()
            rows = pd.DataFrame(rows.drop(columns=[c for c in ("geometry",) if c in rows.columns]))
            rows.columns = [header_label(str(c)) if str(c) in LABELS else str(c) for c in rows.columns]
            rows.insert(0, "ردیف (row)", reasons.index.astype(int).to_numpy())
            rows["دلیل (rejected_reason)"] = reasons["reason"].to_numpy()
            rows["پیام (rejected_message)"] = reasons[text].to_numpy()
        else:
            rows = rejected[["row", "field", "value", "reason", text]]
        for col in rows.columns:
            if pd.api.types.is_datetime64_any_dtype(rows[col]):
                rows[col] = rows[col].dt.strftime("%Y-%m-%d")
        neutralise_formulas(rows.astype(object)).to_excel(
            path, index=False, sheet_name="rejected", engine="openpyxl"
        )
        return path

    # ---- housekeeping ------------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """Delete jobs (and files) older than the time to live; the number deleted."""
        now = time.time() if now is None else now
        gone = 0
        with self._lock:
            for _job_id, job in list(self.jobs.items()):
                if now - job.created > self.ttl and job.state not in ("reading", "checking"):
                    self._drop(job)
                    gone += 1
        return gone

    def _drop(self, job: Job, keep_job: bool = False) -> None:
        """Delete the job's file and folder (and forget the job unless ``keep_job``)."""
        job.raw = None if not keep_job or job.state in ("confirmed", "cancelled") else job.raw
        shutil.rmtree(job.folder, ignore_errors=True)
        if not keep_job:
            self.jobs.pop(job.id, None)

    def _what(self, job: Job) -> dict:
        return {"import": job.id, "file": job.filename, "file_sha256": job.sha256, "counts": job.counts}

    def _save_version(self, layer_name: str) -> Path:
        from exchange.exports import export_layer

        self.versions.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return export_layer(self.store, layer_name, self.versions / f"{layer_name}-{stamp}.gpkg")

    def _records(self) -> list[dict]:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return json.loads(self._manifest.read_text(encoding="utf-8"))
        return []

    def _remember(self, record: dict) -> None:
        self._write_records([*self._records(), record][-500:])

    def _write_records(self, records: list[dict]) -> None:
        tmp = self._manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self._manifest)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for job in list(self.jobs.values()):
            self._drop(job)


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").map(str)


def _keys(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    out = _text(frame[keys[0]])
    for k in keys[1:]:
        out = out + "|" + _text(frame[k])
    return out


def _row_text(frame: pd.DataFrame) -> list[str]:
    """Each row's values as text (geometries to 7 decimals), to tell unchanged rows."""
    attrs = (
        pd.DataFrame(frame.drop(columns=[frame.geometry.name]))
        if isinstance(frame, gpd.GeoDataFrame)
        else frame
    )
    cols = [c for c in attrs.columns if c != "change"]
    joined = pd.Series("", index=attrs.index, dtype=object)
    for c in cols:
        joined = joined + _text(attrs[c]) + "\x1f"
    text = joined.tolist()
    if isinstance(frame, gpd.GeoDataFrame):
        wkt = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=7)
        text = [a + "\x1f" + (g or "") for a, g in zip(text, wkt, strict=True)]
    return text


def layers_for(user: User) -> list[str]:
    return [name for name in BROWSER_LAYERS if ImportJobs.may_import(user, name) and name in LAYERS]
