"""Administrative divisions that keep their versions: county lists with validity dates, the
changes between them, and figures carried from one version to another with their sums kept.

A *version* is a list of counties in force from ``valid_from`` (to ``valid_to``, or open), made
from its *base* version by *changes*: rows ``county_code ← from_county_code`` with the ``share``
of the old unit that goes to the new one (``share_basis``: ``population``, ``area`` or
``given``). A unit of a version without change rows is the unit of the same code in the base,
unchanged. So a split A → A, B is two rows (A ← A 0.6, B ← A 0.4), a merge C + D → C two rows
(C ← C 1, C ← D 1). The versions form a tree through their bases (the 1395 census divisions,
the official list made from them, later splits made from that); county codes keep their meaning
across versions.

Every function here is pure: frames in, frames out. The layers that hold versions, units and
changes are declared in ``geo.schema``; reading and checking a user's file is ``exchange``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.apportion import largest_remainder_by_group
from geo.errors import InputError, NotFoundError
from geo.schema import SHARE_BASES as SHARE_BASES

#: Shares of one old unit must sum to 1 within this.
SHARE_TOLERANCE = 1e-6
#: A version's id: lower-case letters, digits and '-', as in URLs.
VERSION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
COUNTY_CODE = re.compile(r"^\d{4}$")
#: Columns of a list of problems (as an import's report of rejected rows).
PROBLEM_COLUMNS = ["row", "field", "value", "reason", "message"]

#: Reason code -> what it means (English; the Persian ones are ``services.hierarchy``'s).
REASONS: Mapping[str, str] = {
    "bad_code": "a county code is 4 digits: the province's 2 and the county's 2",
    "duplicate_code": "the code appears more than once in the version",
    "unknown_province": "the code's first two digits are no known province",
    "required_missing": "a required value is empty",
    "unknown_parent": "the parent is no county of the base version",
    "no_parent": "a county that is not in the base version needs its parent",
    "code_taken": "the code is a county of the base version that goes on: a new county needs a new code",
    "bad_share": "a share is a number above 0 and at most 1 (a merge moves whole counties: no share)",
    "share_missing": "a county of the base version split between several counties needs a share in each",
    "shares_sum": "the shares given out of a county of the base version do not sum to 1",
    "unit_dropped": "a county of the base version is neither kept nor given to another county",
    "bad_date": "not a Jalali or Gregorian date",
    "dates_differ": "every row of a version has the same valid_from",
    "dates_order": "a version begins after its base version, and ends after it begins",
    "bad_version_id": "a version id is lower-case letters, digits and '-' (at most 63)",
    "version_exists": "a version with this id exists already",
    "unknown_base": "the base version does not exist",
    "cycle": "a version cannot be its own base, directly or through others",
    "empty_version": "the file holds no county",
}


@dataclass(frozen=True)
class Hierarchy:
    """The stored versions, their units and the changes between them (the layers
    ``hierarchy_versions``, ``hierarchy_units`` and ``hierarchy_changes``)."""

    versions: pd.DataFrame
    units: pd.DataFrame
    changes: pd.DataFrame

    def version(self, version_id: str) -> pd.Series:
        rows = self.versions[self.versions["version_id"] == version_id]
        if rows.empty:
            known = ", ".join(self.versions["version_id"].astype(str))
            raise NotFoundError(
                f"no division version {version_id!r}; the versions: {known or 'none'}",
                code="unknown-version",
            )
        return rows.iloc[0]

    def base_of(self, version_id: str) -> str | None:
        base = self.version(version_id)["base_version_id"]
        return None if base is None or pd.isna(base) else str(base)

    def units_of(self, version_id: str) -> pd.DataFrame:
        self.version(version_id)
        out = self.units[self.units["version_id"] == version_id]
        return out.sort_values("county_code", ignore_index=True)

    def changes_of(self, version_id: str) -> pd.DataFrame:
        self.version(version_id)
        out = self.changes[self.changes["version_id"] == version_id]
        return out.sort_values(["county_code", "from_county_code"], ignore_index=True)

    def lineage(self, version_id: str) -> list[str]:
        """``version_id`` and its bases, the version first, the root last."""
        out = [version_id]
        seen = {version_id}
        while (base := self.base_of(out[-1])) is not None:
            if base in seen:
                raise InputError(f"the versions {' → '.join([*out, base])} form a cycle", code="cycle")
            out.append(base)
            seen.add(base)
        return out


# ---- problems --------------------------------------------------------------------------------


def _problem(row, field: str, value, reason: str, message: str) -> tuple:
    shown = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)[:80]
    return (None if row is None or pd.isna(row) else int(row), field, shown, reason, message)


def problems_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """Problems as a report: ``row`` (1 = the first data row; empty: the whole version), field,
    value, reason code and message, sorted by row."""
    out = pd.DataFrame(list(rows), columns=PROBLEM_COLUMNS).astype({"row": "Int64"})
    return out.sort_values(["row", "field"], kind="stable", na_position="first", ignore_index=True)


def _rows_of(frame: pd.DataFrame) -> pd.Series:
    """The file row of each line of ``frame`` (its ``row`` column), or None."""
    if "row" in frame.columns:
        return frame["row"]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


# ---- checking a version ----------------------------------------------------------------------


def transfer_matrix(units: pd.DataFrame, changes: pd.DataFrame, base_codes: Iterable[str]) -> pd.DataFrame:
    """Where each county of the base goes: rows ``from_county_code``, ``county_code``, ``share``.

    The change rows, and the identity (share 1) for every unit without change rows that the base
    holds under the same code."""
    base = set(base_codes)
    changed = set(changes["county_code"])
    same = sorted(c for c in units["county_code"] if c not in changed and c in base)
    identity = pd.DataFrame({"from_county_code": same, "county_code": same, "share": 1.0})
    moves = pd.DataFrame(changes[["from_county_code", "county_code", "share"]]).astype({"share": "float64"})
    return pd.concat([moves, identity], ignore_index=True)


def validate_version(
    units: pd.DataFrame,
    changes: pd.DataFrame,
    base_units: pd.DataFrame | None,
    provinces: Iterable[str],
) -> pd.DataFrame:
    """Every problem of a version, each with its row where the rows came from a file.

    Parameters
    ----------
    units
        ``county_code``, ``province_code``, ``name_fa`` (and a ``row`` column for a file's rows).
    changes
        ``county_code``, ``from_county_code``, ``share``, ``share_basis`` (and ``row``).
    base_units
        The units of the base version (``county_code``); None for a first version, which has
        no changes.
    provinces
        The known province codes.

    Returns
    -------
    pandas.DataFrame
        ``PROBLEM_COLUMNS``; empty when the version is sound: codes of 4 digits, unique, in a
        known province (their first two digits); parents in the base version; shares above 0,
        at most 1, those of each base county summing to 1; every county of the base kept or
        given away, every new county with a parent.
    """
    known_provinces = set(provinces)
    found: list[tuple] = []
    unit_rows = _rows_of(units)
    codes = units["county_code"]
    for i, code in codes.items():
        row = unit_rows[i]
        if code is None or pd.isna(code) or not COUNTY_CODE.match(str(code)):
            found.append(
                _problem(row, "code", code, "bad_code", f"county code {code!r}: {REASONS['bad_code']}")
            )
            continue
        province = units.at[i, "province_code"] if "province_code" in units.columns else str(code)[:2]
        if province not in known_provinces or str(code)[:2] != province:
            found.append(
                _problem(
                    row,
                    "code",
                    code,
                    "unknown_province",
                    f"county {code}: {str(code)[:2]} is no known province",
                )
            )
        name = units.at[i, "name_fa"] if "name_fa" in units.columns else None
        if name is None or pd.isna(name) or not str(name).strip():
            found.append(
                _problem(row, "name_fa", "", "required_missing", f"county {code} has no Persian name")
            )
    duplicated = codes[codes.duplicated(keep=False) & codes.notna()]
    for i, code in duplicated.items():
        others = ", ".join(str(r) for r in unit_rows[codes == code] if r is not None and not pd.isna(r))
        found.append(
            _problem(
                unit_rows[i],
                "code",
                code,
                "duplicate_code",
                f"county {code} appears more than once" + (f" (rows {others})" if others else ""),
            )
        )
    if base_units is None:
        if len(changes):
            found.append(_problem(None, "parent", "", "unknown_base", "a first version has no changes"))
        return problems_frame(found)

    base_codes = set(base_units["county_code"])
    change_rows = _rows_of(changes)
    shares = pd.to_numeric(changes["share"], errors="coerce")
    for i, ch in changes.iterrows():
        row = change_rows[i]
        if ch["from_county_code"] not in base_codes:
            found.append(
                _problem(
                    row,
                    "parent",
                    ch["from_county_code"],
                    "unknown_parent",
                    f"county {ch['county_code']}: parent {ch['from_county_code']} is no county of the base version",
                )
            )
        s = shares[i]
        if not (np.isfinite(s) and 0 < s <= 1 + SHARE_TOLERANCE):
            found.append(
                _problem(
                    row,
                    "share",
                    ch["share"],
                    "bad_share",
                    f"county {ch['county_code']}: share {ch['share']!r}: {REASONS['bad_share']}",
                )
            )
    version_codes = set(codes.dropna())
    changed = set(changes["county_code"])
    for i, code in codes.items():
        if code in version_codes and code not in changed and code not in base_codes:
            found.append(
                _problem(
                    unit_rows[i],
                    "parent",
                    "",
                    "no_parent",
                    f"county {code} is not in the base version: name its parent",
                )
            )
    # Where each base county goes: its shares must sum to 1 (0: it would vanish with its figures).
    moves = transfer_matrix(units, changes, base_codes)
    moves = moves[moves["from_county_code"].isin(base_codes)]
    given = pd.to_numeric(moves["share"], errors="coerce").groupby(moves["from_county_code"]).sum()
    given = given.reindex(sorted(base_codes), fill_value=0.0)
    by_from = changes.groupby("from_county_code").groups
    for code, total in given.items():
        if abs(total - 1.0) <= SHARE_TOLERANCE:
            continue
        rows = [change_rows[i] for i in by_from.get(code, [])]
        if total == 0:
            found.append(
                _problem(
                    None,
                    "parent",
                    code,
                    "unit_dropped",
                    f"county {code} of the base version is neither kept nor given to another county",
                )
            )
            continue
        message = f"the shares of county {code} sum to {total:.6g}, not 1"
        keeps_own = ((changes["from_county_code"] == code) & (changes["county_code"] == code)).any()
        if total < 1 and not keeps_own:
            message += f" (if {code} keeps the rest, give it a row of its own with the share it keeps)"
        for row in rows or [None]:
            found.append(_problem(row, "share", code, "shares_sum", message))
    return problems_frame(found)


def version_from_rows(
    rows: pd.DataFrame, base_units: pd.DataFrame, provinces: Iterable[str], version_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A new version from the rows of a user's file, made from ``base_units``.

    Each row is a county that is new or changed: ``code``, ``name_fa``, ``name_en``, ``parent``
    (the county of the base version it comes from; several joined with ``+`` for a merge; empty:
    the county of the same code), ``share`` (the part of the parent it takes: needed where a parent
    is split between several rows; a merge moves whole counties). Counties of the base version that
    no row names go on unchanged. A row keeps its file row number (``row``, 1 = the first).

    Returns
    -------
    (units, changes, problems)
        The units and changes of the version (with ``row``), and every problem found
        (``PROBLEM_COLUMNS``; empty when the version is sound).
    """
    base = base_units.set_index("county_code")
    base_codes = set(base.index)
    found: list[tuple] = []
    if rows.empty:
        found.append(_problem(None, "code", "", "empty_version", REASONS["empty_version"]))
    parents: dict[int, list[str]] = {}
    for i, r in rows.iterrows():
        code = r["code"]
        text = r.get("parent")
        if text is None or pd.isna(text) or not str(text).strip():
            if code in base_codes:
                parents[i] = [code]
            else:
                found.append(
                    _problem(
                        r["row"],
                        "parent",
                        "",
                        "no_parent",
                        f"row {r['row']}: county {code} is not in the base version: name its parent",
                    )
                )
                parents[i] = []
            continue
        named = [p.strip().zfill(4) if p.strip().isdigit() else p.strip() for p in str(text).split("+")]
        parents[i] = []
        for p in named:
            if p not in base_codes:
                found.append(
                    _problem(
                        r["row"],
                        "parent",
                        p,
                        "unknown_parent",
                        f"row {r['row']}: parent {p} is no county of the base version",
                    )
                )
            else:
                parents[i].append(p)
        if (
            len(named) > 1
            and r.get("share") is not None
            and not pd.isna(r.get("share"))
            and float(r["share"]) != 1.0
        ):
            found.append(
                _problem(
                    r["row"],
                    "share",
                    r["share"],
                    "bad_share",
                    f"row {r['row']}: a merge moves whole counties: leave its share empty",
                )
            )

    # Shares: a parent named by one row alone gives all of itself; split between rows, each says.
    uses: dict[str, list[int]] = {}
    for i, named in parents.items():
        for p in named:
            uses.setdefault(p, []).append(i)
    change_rows = []
    for i, named in parents.items():
        r = rows.loc[i]
        given = r.get("share")
        given = None if given is None or pd.isna(given) else float(given)
        for p in named:
            share, basis = given, "given"
            if len(named) > 1:
                share = 1.0
            elif share is None:
                if len(uses[p]) > 1:
                    found.append(
                        _problem(
                            r["row"],
                            "share",
                            "",
                            "share_missing",
                            f"row {r['row']}: county {p} is split between rows {', '.join(str(rows.at[j, 'row']) for j in uses[p])}: give each its share",
                        )
                    )
                    continue
                share = 1.0
            if p == r["code"] and share == 1.0 and len(named) == 1:
                continue  # the same county, renamed or not: no change
            change_rows.append((r["row"], version_id, r["code"], p, share, basis))
    changes = pd.DataFrame(
        change_rows, columns=["row", "version_id", "county_code", "from_county_code", "share", "share_basis"]
    )
    named_codes = set(rows["code"].dropna())
    referenced = set(uses)
    kept = base[~base.index.isin(named_codes)].reset_index()
    # A base county that goes on unchanged while a row takes its code for another county.
    for i, r in rows.iterrows():
        code = r["code"]
        if code in base_codes and code not in referenced and code not in parents.get(i, []):
            found.append(
                _problem(
                    r["row"],
                    "code",
                    code,
                    "code_taken",
                    f"row {r['row']}: county {code} of the base version goes on unchanged: a new county "
                    f"needs a new code (or name {code} among its parents)",
                )
            )
    carried = kept[~kept["county_code"].isin(referenced - named_codes)] if len(kept) else kept
    new = pd.DataFrame(
        {
            "row": rows["row"].to_numpy(),
            "county_code": rows["code"].to_numpy(),
            "province_code": [str(c)[:2] if isinstance(c, str) else None for c in rows["code"]],
            "name_fa": rows["name_fa"].to_numpy(),
            "name_en": rows["name_en"].to_numpy() if "name_en" in rows.columns else None,
            "parent_county_code": [
                "+".join(parents.get(i, []))
                if parents.get(i) and parents[i] != [rows.at[i, "code"]]
                else None
                for i in rows.index
            ],
        }
    )
    carried = pd.DataFrame(
        {
            "row": None,
            "county_code": carried["county_code"].to_numpy(),
            "province_code": carried["province_code"].to_numpy(),
            "name_fa": carried["name_fa"].to_numpy(),
            "name_en": carried["name_en"].to_numpy() if "name_en" in carried.columns else None,
            "parent_county_code": None,
        }
    )
    units = pd.concat([carried, new], ignore_index=True)
    units.insert(0, "version_id", version_id)
    units = units.sort_values("county_code", ignore_index=True, key=lambda s: s.astype(str))
    checked = validate_version(units, changes, base_units, provinces)
    # A row refused for its code or parent already says so; the sums then follow from it.
    problems = problems_frame(found + list(checked.itertuples(index=False, name=None)))
    problems = problems.drop_duplicates(subset=["row", "field", "value", "reason"], ignore_index=True)
    # A row whose parents are all unknown has none left: saying so again adds nothing.
    unknown = set(problems.loc[problems["reason"] == "unknown_parent", "row"].dropna())
    again = (problems["reason"] == "no_parent") & problems["row"].isin(unknown)
    return units, changes, problems[~again.to_numpy()].reset_index(drop=True)


def validate_versions(versions: pd.DataFrame) -> pd.DataFrame:
    """Problems of the list of versions: ids, bases that exist, no cycles, dates in order."""
    found: list[tuple] = []
    rows = _rows_of(versions)
    ids = versions["version_id"]
    for i, vid in ids.items():
        if not isinstance(vid, str) or not VERSION_ID.match(vid):
            found.append(
                _problem(
                    rows[i],
                    "version_id",
                    vid,
                    "bad_version_id",
                    f"version id {vid!r}: {REASONS['bad_version_id']}",
                )
            )
    for i, vid in ids[ids.duplicated(keep="first")].items():
        found.append(
            _problem(rows[i], "version_id", vid, "version_exists", f"a version {vid!r} exists already")
        )
    by_id = versions.drop_duplicates("version_id").set_index("version_id")
    for i, v in versions.iterrows():
        start, end = v["valid_from"], v.get("valid_to")
        if end is not None and not pd.isna(end) and pd.Timestamp(end) <= pd.Timestamp(start):
            found.append(
                _problem(
                    rows[i],
                    "valid_to",
                    end,
                    "dates_order",
                    f"version {v['version_id']} ends ({pd.Timestamp(end).date()}) before it begins ({pd.Timestamp(start).date()})",
                )
            )
        base = v.get("base_version_id")
        if base is None or pd.isna(base):
            continue
        if base not in by_id.index:
            found.append(
                _problem(
                    rows[i],
                    "base_version_id",
                    base,
                    "unknown_base",
                    f"version {v['version_id']}: no base version {base!r}",
                )
            )
            continue
        if pd.Timestamp(by_id.at[base, "valid_from"]) >= pd.Timestamp(start):
            found.append(
                _problem(
                    rows[i],
                    "valid_from",
                    pd.Timestamp(start).date(),
                    "dates_order",
                    f"version {v['version_id']} begins {pd.Timestamp(start).date()}, not after its base {base} ({pd.Timestamp(by_id.at[base, 'valid_from']).date()})",
                )
            )
        seen, at = {v["version_id"]}, base
        while at is not None and not pd.isna(at) and at in by_id.index:
            if at in seen:
                found.append(
                    _problem(
                        rows[i],
                        "base_version_id",
                        base,
                        "cycle",
                        f"version {v['version_id']} is its own base through {at}",
                    )
                )
                break
            seen.add(at)
            at = by_id.at[at, "base_version_id"]
    return problems_frame(found)


# ---- carrying figures between versions -------------------------------------------------------


def _steps(hierarchy: Hierarchy, from_version: str, to_version: str) -> list[tuple[str, bool]]:
    """The changes to walk from one version to another: (version whose changes, forward?).

    Up from ``from_version`` to the nearest common base (each step backwards through that
    version's changes), then down to ``to_version`` (forwards)."""
    up = hierarchy.lineage(from_version)
    down = hierarchy.lineage(to_version)
    common = next((v for v in up if v in set(down)), None)
    if common is None:
        raise InputError(
            f"the versions {from_version} and {to_version} share no base: figures cannot be carried between them",
            code="unrelated-versions",
        )
    backwards = [(v, False) for v in up[: up.index(common)]]
    forwards = [(v, True) for v in reversed(down[: down.index(common)])]
    return backwards + forwards


def step_transfer(
    hierarchy: Hierarchy, version_id: str, forward: bool, weights: pd.Series | None = None
) -> pd.DataFrame:
    """One step's ``source``, ``target``, ``share``: the shares of each source sum to 1.

    Forwards (base → version) these are the change rows and the identities. Backwards (version
    → base) a new county goes back whole to the county it was split from; a county made of
    several (a merge) is shared among them in proportion to ``share × weights`` of each (the
    base counties' figure that is known, such as their population; without it, to ``share``).
    """
    base = hierarchy.base_of(version_id)
    if base is None:
        raise InputError(f"version {version_id} has no base version", code="unrelated-versions")
    moves = transfer_matrix(
        hierarchy.units_of(version_id),
        hierarchy.changes_of(version_id),
        hierarchy.units_of(base)["county_code"],
    )
    if forward:
        return moves.rename(columns={"from_county_code": "source", "county_code": "target"})
    back = moves.rename(columns={"county_code": "source", "from_county_code": "target"})
    w = back["share"].astype("float64")
    if weights is not None:
        w = w * back["target"].map(weights).astype("float64").fillna(0.0).to_numpy()
    total = w.groupby(back["source"]).transform("sum")
    # Weights of zero for every part: fall back to the shares themselves.
    plain = back["share"] / back["share"].groupby(back["source"]).transform("sum")
    back["share"] = np.where(total > 0, w / total.where(total > 0, 1.0), plain)
    return back


def _carry(figures: pd.DataFrame, moves: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """Figures of the sources (index) carried to the targets through ``moves``."""
    idx = pd.Index(figures.index)
    position = pd.Series(np.arange(len(idx)), index=idx)
    moves = moves[moves["source"].isin(idx)]
    groups = position.reindex(moves["source"]).to_numpy().astype("int64")
    target_pos = pd.Series(np.arange(len(targets)), index=targets).reindex(moves["target"]).to_numpy()
    if np.isnan(target_pos).any():  # pragma: no cover - validate_version rules it out
        raise InputError("a change names a county the version does not hold")
    target_pos = target_pos.astype("int64")
    shares = moves["share"].to_numpy(dtype="float64")
    # Shares sum to 1 within SHARE_TOLERANCE: made to sum to 1 exactly, so floats keep their totals too.
    total = np.bincount(groups, weights=shares, minlength=len(idx))
    shares = shares / np.where(total > 0, total, 1.0)[groups]
    out = {}
    for col in figures.columns:
        values = figures[col]
        if pd.api.types.is_integer_dtype(values):
            v = values.to_numpy(dtype="int64")
            # Whole numbers split by largest remainders, each source on its own: every source's
            # parts sum to it, so every total is kept exactly (a negative figure by its size).
            parts = largest_remainder_by_group(np.abs(v), shares, groups) * np.sign(v)[groups]
            out[col] = np.bincount(target_pos, weights=parts, minlength=len(targets)).round().astype("int64")
        else:
            v = values.to_numpy(dtype="float64")
            out[col] = np.bincount(target_pos, weights=v[groups] * shares, minlength=len(targets))
    return pd.DataFrame(out, index=pd.Index(targets, name="county_code"))


def reaggregate(
    figures: pd.DataFrame,
    from_version: str,
    to_version: str,
    hierarchy: Hierarchy,
    weights: pd.Series | None = None,
) -> pd.DataFrame:
    """County figures of one version carried to another, totals kept.

    Parameters
    ----------
    figures
        Indexed by the county codes of ``from_version``, numeric columns only. A county of the
        version missing from it counts as 0.
    from_version, to_version
        Version ids of ``hierarchy``; any two with a common base.
    hierarchy
        The versions, units and changes.
    weights
        Going back through a merge: the figure that shares a merged county among its old parts
        (indexed by county code, e.g. population in the base version). Default: their shares.

    Returns
    -------
    pandas.DataFrame
        Indexed by the county codes of ``to_version`` (``county_code``), the same columns.
        Whole-number columns stay whole and every column's total is kept: exactly for whole
        numbers (largest remainders at each step), up to rounding for the others.
    """
    hierarchy.version(to_version)
    bad = [
        c
        for c in figures.columns
        if not (pd.api.types.is_numeric_dtype(figures[c]) and not pd.api.types.is_bool_dtype(figures[c]))
    ]
    if bad:
        raise InputError(f"only numbers can be carried between versions; not {', '.join(map(str, bad))}")
    if figures.isna().any().any():
        raise InputError("the figures have missing values: fill them (0) or drop those columns first")
    units = list(hierarchy.units_of(from_version)["county_code"])
    unknown = sorted(set(figures.index) - set(units))
    if unknown:
        raise InputError(
            f"counties {', '.join(map(str, unknown[:10]))} are not in version {from_version}",
            code="unknown-county",
        )
    ints = [c for c in figures.columns if pd.api.types.is_integer_dtype(figures[c])]
    current = figures.reindex(units, fill_value=0)
    current = current.astype({c: "int64" for c in ints})
    for version_id, forward in _steps(hierarchy, from_version, to_version):
        moves = step_transfer(hierarchy, version_id, forward, weights)
        after = version_id if forward else hierarchy.base_of(version_id)
        assert after is not None
        current = _carry(current, moves, list(hierarchy.units_of(after)["county_code"]))
    current.index.name = "county_code"
    return current


# ---- a settlement's history ------------------------------------------------------------------


def county_of(
    settlements: gpd.GeoDataFrame | pd.DataFrame,
    from_version: str,
    to_version: str,
    hierarchy: Hierarchy,
    shapes: Mapping[str, gpd.GeoSeries] | None = None,
) -> pd.DataFrame:
    """The county of each settlement in ``to_version``, from its county in ``from_version``.

    A settlement follows its county through each change: where the county goes whole to one
    county, there; where it was split, into the part whose boundary holds the settlement
    (``shapes``: per version id, the boundaries of its counties indexed by code, lon/lat), or,
    without a boundary, into the part that took the largest share.

    Parameters
    ----------
    settlements
        ``settlement_code``, ``county_code`` (in ``from_version``) and, for ``shapes``, points.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``settlements``: ``county_code`` in ``to_version`` and ``method``
        (``unchanged``, ``change`` where the changes leave one county, ``boundary``,
        ``largest_share``: the last step that decided).
    """
    county = settlements["county_code"].astype(object).copy()
    method = pd.Series("unchanged", index=settlements.index, dtype=object)
    points = settlements.geometry if isinstance(settlements, gpd.GeoDataFrame) else None
    for version_id, forward in _steps(hierarchy, from_version, to_version):
        moves = step_transfer(hierarchy, version_id, forward)
        moves = moves[moves["share"] > 0]
        after = version_id if forward else hierarchy.base_of(version_id)
        assert after is not None
        counts = moves.groupby("source").size()
        single = moves[moves["source"].map(counts) == 1].set_index("source")["target"]
        goes = county.map(single)
        changed_here = goes.notna() & (goes != county)
        county = county.where(goes.isna(), goes)
        method[changed_here] = "change"
        several = county.isin(counts.index[counts > 1])
        if not several.any():
            continue
        boundary = None if shapes is None else shapes.get(after)
        before = county.copy()
        for source, options in moves[moves["source"].isin(set(before[several]))].groupby("source"):
            members = before.index[(before == source).to_numpy()]
            chosen = pd.Series(None, index=members, dtype=object)
            if boundary is not None and points is not None:
                where = points.loc[members].to_numpy()
                for target in options["target"]:
                    if target in boundary.index:
                        hit = chosen.isna().to_numpy() & shapely.covers(boundary[target], where)
                        chosen[hit] = target
                method[chosen.index[chosen.notna()]] = "boundary"
            rest = chosen.index[chosen.isna()]
            largest = options.sort_values(["share", "target"], ascending=[False, True])["target"].iloc[0]
            chosen[rest] = largest
            method[rest] = "largest_share"
            county[members] = chosen
    return pd.DataFrame({"county_code": county, "method": method}, index=settlements.index)


def settlement_history(
    settlements: gpd.GeoDataFrame | pd.DataFrame,
    known_version: str,
    hierarchy: Hierarchy,
    shapes: Mapping[str, gpd.GeoSeries] | None = None,
) -> pd.DataFrame:
    """Each settlement's county in every version (columns: version ids, oldest first)."""
    order = hierarchy.versions.sort_values(["valid_from", "version_id"])["version_id"]
    out = pd.DataFrame(index=settlements.index)
    for version_id in order:
        try:
            out[version_id] = county_of(settlements, known_version, version_id, hierarchy, shapes)[
                "county_code"
            ]
        except InputError:  # a version of another tree
            out[version_id] = None
    if "settlement_code" in settlements.columns:
        out.insert(0, "settlement_code", settlements["settlement_code"])
    return out
