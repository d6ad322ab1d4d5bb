"""The programme's activities register as both doors use it: entry, import, progress, gaps.

Entries and imports are checked against the national layers (the place exists, a registry NGO's
licence is in the registry; ``geo.activities.check_activities``) and against the caller's
provinces, then stored together or not at all. An import reports every refused row with its
reason in Persian and English (``ActivityRejected``); nothing is written then.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath

import pandas as pd

from geo import activities as AC
from geo.errors import ActivityRejected, Forbidden, ImportFileError
from services.snapshot import Snapshot
from store.base import Store

#: The largest file and the most rows an import takes (the programme's 500 neighbourhoods with a
#: few activities each fit many times over).
MAX_IMPORT_BYTES = 5 * 2**20
MAX_IMPORT_ROWS = 5_000
#: Columns of the import template, with what to write in each (Persian, English).
TEMPLATE_HELP: dict[str, tuple[str, str]] = {
    "organisation": ("نام سازمان", "the organisation's name"),
    "organisation_kind": ("ngo، partner یا campaign", "ngo (registry NGO), partner or campaign"),
    "licence_no": ("شماره مجوز، برای ngo", "licence number, for an ngo"),
    "service_type": ("نوع خدمت (کد)", "service type code"),
    "place_kind": ("target_area، settlement یا county", "target_area, settlement or county"),
    "place_code": ("کد محله هدف، سکونتگاه یا شهرستان", "code of the neighbourhood, settlement or county"),
    "start_date": ("تاریخ شروع میلادی YYYY-MM-DD", "start date, Gregorian YYYY-MM-DD"),
    "end_date": ("تاریخ پایان میلادی (اختیاری)", "end date, Gregorian (optional)"),
    "households": ("خانوارهای برخوردار", "households reached"),
    "persons": ("نفرهای برخوردار", "persons reached"),
    "status": ("planned، ongoing، completed، suspended یا cancelled", "planned, ongoing, completed, ..."),
    "notes": ("یادداشت (اختیاری)", "notes (optional)"),
}


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def places(national: Snapshot) -> pd.DataFrame:
    """Every place an activity may name, from the national layers, indexed by kind and code
    (``geo.activities.place_index``; cached per snapshot: one activity is checked at a time)."""

    def build() -> pd.DataFrame:
        return AC.place_index(
            AC.places_from_layers(
                national.layer("target_areas"), national.layer("settlements"), national.layer("counties")
            )
        )

    out = national.cached("activity-places", build)
    assert isinstance(out, pd.DataFrame)
    return out


def licences(national: Snapshot, provinces=None) -> frozenset[str]:
    """The registry's licence numbers of centres in ``provinces`` (None: every one; cached per
    snapshot): a caller of some provinces names only their centres, and another province's
    number is refused as an unknown one is (else the answer told which numbers exist there)."""
    wanted = None if provinces is None else tuple(sorted(provinces))

    def build() -> frozenset[str]:
        ngos = national.layer("ngos")
        if wanted is not None:
            ngos = ngos[ngos["province_code"].isin(wanted)]
        return frozenset(ngos["licence_no"].astype(str))

    out = national.cached(f"activity-licences:{wanted}", build)
    assert isinstance(out, frozenset)
    return out


def _outside(rows: list[dict], provinces) -> pd.DataFrame:
    """Problems of the rows whose place is outside ``provinces`` (None: none)."""
    found = [
        (
            i,
            "place_code",
            row.get("place_code"),
            "the place is outside your provinces",
            "این مکان در استان‌های شما نیست",
        )
        for i, row in enumerate(rows)
        if provinces is not None and row.get("province_code") not in (None, *provinces)
    ]
    return pd.DataFrame(found, columns=AC.PROBLEM_COLUMNS)


def checked(national: Snapshot, given: list[Mapping], provinces) -> tuple[list[dict], pd.DataFrame]:
    """The rows resolved, and their problems (values, places, licences, provinces), by row."""
    rows, problems = AC.check_activities(
        given, places(national), licences(national, provinces), national.norms.services
    )
    problems = pd.concat([problems, _outside(rows, provinces)], ignore_index=True)
    return rows, problems.sort_values(["row"], kind="stable", ignore_index=True)


def new_id(province: str) -> str:
    return f"ACT-{dt.datetime.now(dt.UTC):%Y%m%d}-{province}-{secrets.token_hex(3).upper()}"


def create_many(store: Store, national: Snapshot, given: list[Mapping], provinces, actor: str) -> list[dict]:
    """An import: every row stored, or none and every problem reported (``ActivityRejected``);
    a row outside ``provinces`` is one of the problems."""
    return create(store, national, given, provinces, actor, entry=False)


def create(
    store: Store, national: Snapshot, given: list[Mapping], provinces, actor: str, *, entry: bool = True
) -> list[dict]:
    """Store ``given`` activities, all or none; the stored rows. An ``entry`` (one activity from
    the form) whose place is outside ``provinces`` is refused as forbidden (403), as an
    application outside them is."""
    rows, problems = checked(national, given, provinces)
    if entry and not problems.empty and (problems["reason"] == "the place is outside your provinces").any():
        raise Forbidden("the activity's place is outside your provinces", code="outside-provinces")
    if not problems.empty:
        raise ActivityRejected(problems, len(given))
    at = now_utc()
    out = [
        {**row, "activity_id": new_id(row["province_code"]), "created_by": actor, "updated_at": at}
        | {"synthetic": False, "version": 1}
        for row in rows
    ]
    store.add_activities(out)
    return out


def edit(
    store: Store, national: Snapshot, activity_id: str, version: int, changes: Mapping, provinces, actor: str
) -> tuple[dict, dict]:
    """Apply ``changes`` (``GIVEN`` fields) to an activity of ``provinces`` at ``version``: the old
    and the new row. The result is checked whole, as a new entry is, and must stay in ``provinces``."""
    old = store.activity(activity_id, provinces)
    merged = {f: old.get(f) for f in AC.GIVEN} | {k: v for k, v in changes.items() if k in AC.GIVEN}
    rows, problems = checked(national, [merged], provinces)
    if not problems.empty and (problems["reason"] == "the place is outside your provinces").any():
        raise Forbidden("the activity's place would be outside your provinces", code="outside-provinces")
    if not problems.empty:
        raise ActivityRejected(problems, 1)
    new = store.update_activity(
        activity_id, version, {**rows[0], "updated_at": now_utc(), "created_by": old["created_by"]}, provinces
    )
    return old, new


def read_table(name: str, content: bytes) -> list[dict]:
    """The rows of an uploaded CSV (UTF-8, with or without BOM) or XLSX, as text; a file that
    cannot be read is refused whole (``ImportFileError``, with the reason)."""
    suffix = PurePath(name or "").suffix.lower()
    if len(content) > MAX_IMPORT_BYTES:
        raise ImportFileError(
            f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MB; split it", reason="too-large"
        )
    if suffix == ".xlsx":
        frame = _read_untrusted(content, ".xlsx")
    elif suffix in (".csv", ".txt", ""):
        # the template's help lines open with "#"; a "#" inside a value stays (no comment=)
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ImportFileError("the file could not be read as a CSV (UTF-8)", reason="unreadable") from err
        lines = [x for x in text.splitlines(keepends=True) if not x.startswith("#")]
        frame = _read_untrusted("".join(lines).encode("utf-8"), ".csv")
    else:
        raise ImportFileError("send a CSV or XLSX file (the template's columns)", reason="format")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [
        c
        for c in ("organisation", "organisation_kind", "service_type", "place_kind", "place_code")
        if c not in frame.columns
    ]
    if missing:
        raise ImportFileError(f"the file lacks the template's columns {', '.join(missing)}", reason="columns")
    if len(frame) == 0:
        raise ImportFileError("the file has no rows", reason="empty")
    if len(frame) > MAX_IMPORT_ROWS:
        raise ImportFileError(f"the file has more than {MAX_IMPORT_ROWS:,} rows; split it", reason="too-many")
    frame = frame.astype(object).where(frame.notna(), None)
    return [dict(r) for r in frame.to_dict("records")]


def _read_untrusted(content: bytes, suffix: str) -> pd.DataFrame:
    """A user's table read through the import boundary (``exchange.boundary``: a separate reader
    process with a time and memory limit, the workbook's zip and XML checked first), as text."""
    from exchange.boundary import read_untrusted

    with tempfile.TemporaryDirectory(prefix="amayesh-activities-") as folder:  # made 0700
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        frame = read_untrusted(path)
    frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    return frame.astype(object).where(frame.notna(), None).map(_as_text)


def _as_text(value: object) -> str | None:
    """A cell as the text a person typed: a whole number without ".0", a day as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    return str(value)


def template(kind: str) -> tuple[bytes, str, str]:
    """The import template: (content, media type, file name); XLSX has a sheet saying what each
    column holds, in both languages."""
    columns = list(AC.GIVEN)
    if kind == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            pd.DataFrame(columns=columns).to_excel(writer, sheet_name="activities", index=False)
            help_rows = [(c, *TEMPLATE_HELP[c]) for c in columns]
            pd.DataFrame(help_rows, columns=["column", "fa", "en"]).to_excel(
                writer, sheet_name="help", index=False
            )
        return (
            buffer.getvalue(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "activities-template.xlsx",
        )
    lines = "".join(f"# {c}: {TEMPLATE_HELP[c][1]}\n" for c in columns)
    return (
        ("\ufeff" + lines + ",".join(columns) + "\n").encode("utf-8"),
        "text/csv; charset=utf-8",
        "activities-template.csv",
    )


def frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    return AC.frame_of(rows)


def scoped_targets(national: Snapshot, provinces) -> pd.DataFrame:
    """The target neighbourhoods of ``provinces`` (None: all), without their outlines."""
    t = national.layer("target_areas")
    t = pd.DataFrame(t.drop(columns="geometry"))
    if provinces is not None:
        t = t[t["province_code"].isin(list(provinces))]
    return t.reset_index(drop=True)
