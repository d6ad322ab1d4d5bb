"""A new version of the county divisions from a user's file (CSV or XLSX): read through the
import boundary, its headers named, its cells parsed; what the rows mean is ``geo.hierarchy``'s.

The file has one row per county that is new or changed: ``code``, ``name_fa``, ``name_en``,
``parent`` (the county of the base version it comes from; several joined with ``+`` for a
merge), ``valid_from`` (Jalali ``1403/07/01`` or Gregorian ``2024-09-22``, Persian digits
welcome; the same in every row) and, where a county is split between rows, ``share``. Headers
may be these names, or the Persian or English labels of ``LABELS``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from exchange.boundary import read_untrusted
from exchange.formats import ImportFileError, neutralise_formulas
from exchange.limits import Limits, get_limits
from exchange.validation import is_missing, parse_date
from geo.hierarchy import PROBLEM_COLUMNS, REASONS, problems_frame
from geo.names import normalize_name, normalize_text

#: The columns of a division file, with their Persian and English labels (the template's headers).
LABELS: Mapping[str, tuple[str, str]] = {
    "code": ("کد شهرستان", "County code"),
    "name_fa": ("نام", "Name"),
    "name_en": ("نام انگلیسی", "English name"),
    "parent": ("شهرستان مادر", "Parent county"),
    "valid_from": ("معتبر از", "Valid from"),
    "share": ("سهم", "Share"),
}
REQUIRED = ("code", "name_fa", "parent", "valid_from")
#: Reasons of a file refused as a whole or a cell that cannot be read, beside ``geo.hierarchy.REASONS``.
FILE_REASONS: Mapping[str, str] = {
    "missing_column": "a required column is absent",
    "format": "a division file is a CSV or XLSX table",
}
_DIGITS = str.maketrans(
    {**{chr(0x06F0 + i): str(i) for i in range(10)}, **{chr(0x0660 + i): str(i) for i in range(10)}}
)
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")
_PAREN = re.compile(r"\(([A-Za-z_]+)\)\s*$")


def template_rows() -> pd.DataFrame:
    """The template: the headers (``label (column)``) and two example rows, a split of 0707 (Shiraz)."""
    headers = [f"{LABELS[c][0]} ({c})" for c in LABELS]
    rows = [
        ["0707", "شیراز", "Shiraz", "0707", "1404/01/01", "0.9"],
        ["0738", "شهرستان نمونه", "Example county", "0707", "1404/01/01", "0.1"],
    ]
    return pd.DataFrame(rows, columns=headers)


def _column_of(header: object) -> str | None:
    text = str(header).strip()
    found = _PAREN.search(text)
    if found and found.group(1).lower() in LABELS:
        return found.group(1).lower()
    if text.lower() in LABELS:
        return text.lower()
    for column, (fa, en) in LABELS.items():
        if text.lower() == en.lower() or normalize_name(text) == normalize_name(fa):
            return column
    return None


def _text(value: object) -> str | None:
    if is_missing(value):
        return None
    return normalize_text(_NEUTRALISED.sub("", str(value))).translate(_DIGITS)


def _code(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d+(\.0+)?", text):  # a spreadsheet's number: 705 or 705.0 is 0705
        text = text.split(".")[0].zfill(4)
    return text


def read_division_file(path: Path, limits: Limits | None = None) -> pd.DataFrame:
    """The file's rows as text, through the import boundary; ``ImportFileError`` if refused."""
    name = Path(path).name.lower()
    if not name.endswith((".csv", ".xlsx")):
        raise ImportFileError("a division file is a CSV or XLSX table (.csv, .xlsx)", "format")
    raw = read_untrusted(path, limits=limits or get_limits())
    if "geometry" in raw.columns:  # pragma: no cover - CSV and XLSX are read as tables
        raise ImportFileError("a division file is a table without geometry", "format")
    return raw


def parse_division_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of a division file as ``geo.hierarchy.version_from_rows`` takes them, and the
    problems of the cells (``PROBLEM_COLUMNS``).

    Columns named by ``LABELS``; empty rows at the end dropped; codes with their leading zeros
    restored; dates read as Jalali or Gregorian; shares as numbers (Persian digits, ``40%``)."""
    renamed = {}
    for header in raw.columns:
        column = _column_of(header)
        if column is not None and column not in renamed.values():
            renamed[header] = column
    data = raw.rename(columns=renamed)
    data = data[[c for c in LABELS if c in data.columns]]
    found: list[tuple] = []
    for column in REQUIRED:
        if column not in data.columns:
            label = f"{LABELS[column][0]} ({column})"
            found.append((None, column, "", "missing_column", f"the file has no column {label}"))
    if found:
        return pd.DataFrame(columns=["row", *LABELS]), problems_frame(found)
    filled = data.apply(lambda col: col.map(lambda v: not is_missing(v)))
    used = filled.any(axis=1).to_numpy()
    last = int(used.nonzero()[0].max()) + 1 if used.any() else 0
    data = data.iloc[:last].reset_index(drop=True)
    rows = pd.DataFrame({"row": range(1, len(data) + 1)})
    rows["code"] = data["code"].map(_code)
    rows["name_fa"] = data["name_fa"].map(_text)
    rows["name_en"] = data["name_en"].map(_text) if "name_en" in data.columns else None
    rows["parent"] = data["parent"].map(
        lambda v: None if _text(v) is None else "+".join(_code(p) or "" for p in str(_text(v)).split("+"))
    )
    dates, shares = [], []
    for i in data.index:
        n = i + 1
        value = data.at[i, "valid_from"]
        day = None if is_missing(value) else parse_date(_text(value))
        if is_missing(value):
            found.append((n, "valid_from", "", "required_missing", f"row {n}: valid_from is empty"))
        elif day is None:
            found.append(
                (
                    n,
                    "valid_from",
                    str(value),
                    "bad_date",
                    f"row {n}: valid_from {value!r}: {REASONS['bad_date']}",
                )
            )
        dates.append(day)
        raw_share = data.at[i, "share"] if "share" in data.columns else None
        text = _text(raw_share)
        share = None
        if text is not None:
            try:
                share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
            except ValueError:
                found.append(
                    (
                        n,
                        "share",
                        str(raw_share),
                        "bad_share",
                        f"row {n}: share {raw_share!r}: {REASONS['bad_share']}",
                    )
                )
        shares.append(share)
    rows["valid_from"] = dates
    rows["share"] = shares
    known = [d for d in dates if d is not None]
    if known:
        usual = pd.Series(known).mode().min()
        for n, day in zip(rows["row"], dates, strict=True):
            if day is not None and day != usual:
                found.append(
                    (
                        n,
                        "valid_from",
                        str(day.date()),
                        "dates_differ",
                        f"row {n}: valid_from {day.date()} differs from the other rows' {usual.date()}: "
                        f"{REASONS['dates_differ']}",
                    )
                )
    return rows, problems_frame(found)


def write_division_report(problems: pd.DataFrame, path: Path) -> Path:
    """The problems as CSV (UTF-8 with BOM, formulas neutralised), as the other imports' reports."""
    report = problems[[c for c in problems.columns if c in (*PROBLEM_COLUMNS, "message_fa")]]
    neutralise_formulas(report.astype(object)).to_csv(path, index=False, encoding="utf-8-sig")
    return Path(path)
