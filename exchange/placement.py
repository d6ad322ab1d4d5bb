"""Where a registry row without coordinates stands: the settlement it names, by code or by name.

Most rows of a provincial registry give an address, a village and a county, not coordinates. A
row is placed at a settlement of the store: by its ``settlement_code``, or by a village or city
name in its county (``geo.names.match_settlements``; an ambiguous name is rejected with its
candidates). ``position_source`` says how each point was obtained. A row that names neither is
rejected: it is never put at a county's centroid.

Also here: the same centre twice in a file (or already stored under another licence number),
found by its normalised name in the same settlement.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from exchange.validation import is_missing, label_map
from geo.catalogue import labels_of
from geo.names import match_each, match_settlements, normalize_name
from geo.schema import DEFAULT_SERVICE_TYPES

#: Columns that may hold a settlement's name (after ``exchange.templates.rename_headers``).
NAME_COLUMNS = ("settlement_name", "village", "city", "settlement")
LON = ("lon", "lng", "long", "longitude", "x")
LAT = ("lat", "latitude", "y")
_DIGITS = str.maketrans(
    {**{chr(0x06F0 + i): str(i) for i in range(10)}, **{chr(0x0660 + i): str(i) for i in range(10)}}
)

Rejection = tuple[int, str, str, str, str]  # row (1 = first), field, value, reason, message


def _code(v: object, width: int | None = None) -> str | None:
    if is_missing(v):
        return None
    text = str(v).translate(_DIGITS).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a spreadsheet's number
        text = text[:-2]
    if width and text.isdigit():
        text = text.zfill(width)
    return text


def county_codes(raw: pd.DataFrame, counties: pd.DataFrame) -> pd.Series:
    """Each row's county code: its ``county_code`` (zeros restored), or its ``county_name``
    matched among the store's counties; missing where neither gives a known county."""
    known = set(counties["county_code"])
    out = pd.Series(None, index=raw.index, dtype="object")
    if "county_code" in raw.columns:
        codes = raw["county_code"].map(lambda v: _code(v, 4))
        out = codes.where(codes.isin(known), None)
    if "county_name" in raw.columns:
        need = out.isna() & ~raw["county_name"].map(is_missing)
        if need.any():
            m = match_each(
                raw.loc[need, "county_name"].astype(str),
                pd.Series(counties["name_fa"].to_numpy(), index=counties["county_code"].to_numpy()),
            )
            out.loc[need] = m["right"].where(m["status"] == "matched", None)
    return out


def place_rows(
    raw: pd.DataFrame, settlements: pd.DataFrame, counties: pd.DataFrame
) -> tuple[pd.DataFrame, list[Rejection]]:
    """Give rows without coordinates the point of the settlement they name.

    ``raw`` is a table as read (``lon``/``lat`` columns may be absent or empty). Returns the rows
    with ``lon``, ``lat``, ``settlement_code`` (and ``county_code`` where a settlement gave it)
    filled and ``position_source`` set, and the rejections of rows that could not be placed.
    """
    data = raw.copy()
    lon = next((c for c in LON if c in data.columns), None)
    lat = next((c for c in LAT if c in data.columns), None)
    if lon is None or lat is None:
        lon, lat = "lon", "lat"
        data[lon] = None
        data[lat] = None
    data[lon] = data[lon].astype(object)
    data[lat] = data[lat].astype(object)
    has_point = ~(data[lon].map(is_missing) & data[lat].map(is_missing))
    source = data["position_source"] if "position_source" in data.columns else None
    data["position_source"] = pd.Series(np.where(has_point, "file", None), index=data.index, dtype="object")
    if source is not None:  # a file exported by us says how its points were obtained
        given = ~source.map(is_missing) & has_point
        data.loc[given, "position_source"] = source[given].astype(str).str.strip()
    rejections: list[Rejection] = []
    need = ~has_point
    if not need.any():
        return data, rejections
    rows = pd.Series(np.arange(1, len(data) + 1), index=data.index)
    points = settlements.set_index("settlement_code")
    if "settlement_code" not in data.columns:
        data["settlement_code"] = None
    data["settlement_code"] = data["settlement_code"].map(_code).astype(object)
    counties_of = county_codes(data, counties)
    name_col = next((c for c in NAME_COLUMNS if c in data.columns), None)
    by_code = need & data["settlement_code"].notna()
    xs = pd.Series(points.geometry.x.to_numpy(), index=points.index)
    ys = pd.Series(points.geometry.y.to_numpy(), index=points.index)
    if by_code.any():
        codes = data.loc[by_code, "settlement_code"]
        known = codes.isin(points.index)
        for i in codes.index[~known]:
            rejections.append(
                (
                    int(rows[i]),
                    "settlement_code",
                    codes[i],
                    "unknown_settlement",
                    f"row {rows[i]}: no settlement with code {codes[i]}",
                )
            )
        hit = codes[known]
        data.loc[hit.index, lon] = xs.reindex(hit).to_numpy()
        data.loc[hit.index, lat] = ys.reindex(hit).to_numpy()
        data.loc[hit.index, "position_source"] = "settlement_code"
        no_county = hit.index[counties_of[hit.index].isna().to_numpy()]
        if len(no_county):
            if "county_code" not in data.columns:
                data["county_code"] = None
            data["county_code"] = data["county_code"].astype(object)
            data.loc[no_county, "county_code"] = points["county_code"].reindex(hit[no_county]).to_numpy()
    by_name = need & ~by_code
    if name_col is not None:
        named = by_name & ~data[name_col].map(is_missing)
    else:
        named = pd.Series(False, index=data.index)
    for i in data.index[by_name & ~named]:
        rejections.append(
            (
                int(rows[i]),
                "lon/lat",
                "",
                "no_position",
                f"row {rows[i]}: no coordinates, settlement code or village/city name with its county",
            )
        )
    if named.any():
        without_county = named & counties_of.isna()
        for i in data.index[without_county]:
            rejections.append(
                (
                    int(rows[i]),
                    "county_code",
                    str(data.at[i, name_col]),
                    "county_needed",
                    f"row {rows[i]}: the village/city {data.at[i, name_col]!r} needs its county "
                    "(county_code or county_name) to be found",
                )
            )
        ask = named & counties_of.notna()
        if ask.any():
            queries = pd.DataFrame({"name": data.loc[ask, name_col], "county_code": counties_of[ask]})
            found = match_settlements(queries, settlements)
            matched = found.index[(found["status"] == "matched").to_numpy()]
            codes = found.loc[matched, "settlement_code"]
            data.loc[matched, lon] = xs.reindex(codes).to_numpy()
            data.loc[matched, lat] = ys.reindex(codes).to_numpy()
            data.loc[matched, "settlement_code"] = codes.to_numpy()
            data.loc[matched, "position_source"] = "settlement_name"
            for i in found.index[(found["status"] != "matched").to_numpy()]:
                name = str(data.at[i, name_col])
                if found.at[i, "status"] == "ambiguous":
                    listed = "; ".join(f"{c} {n}" for c, n in found.at[i, "candidates"])
                    rejections.append(
                        (
                            int(rows[i]),
                            name_col,
                            name,
                            "ambiguous_settlement",
                            f"row {rows[i]}: several settlements of county {counties_of[i]} are called "
                            f"{name!r}: give the settlement_code of one of: {listed}",
                        )
                    )
                else:
                    rejections.append(
                        (
                            int(rows[i]),
                            name_col,
                            name,
                            "unknown_settlement",
                            f"row {rows[i]}: no settlement called {name!r} in county {counties_of[i]}",
                        )
                    )
    return data, rejections


def _service_of(frame: pd.DataFrame, services: Mapping | None = None) -> pd.Series:
    """Each row's service type as its code, whether the file gives the code or a label of the
    catalogue (``services``, ``Norms.services``; default: the default catalogue's)."""
    if "service_type" not in frame.columns:
        return pd.Series("", index=frame.index)
    codes = label_map(DEFAULT_SERVICE_TYPES if services is None else labels_of(services))
    return frame["service_type"].map(
        lambda v: codes.get(normalize_name(v).lower(), normalize_name(v)) if isinstance(v, str) else ""
    )


def duplicate_centres(
    data: pd.DataFrame, stored: pd.DataFrame | None, services: Mapping | None = None
) -> list[Rejection]:
    """The same centre twice: one normalised name in one settlement for one service type, in two
    rows of the file or in a row and a stored centre of another licence number. (One NGO may hold
    licences for two services at one place; those are two licences, not a duplicate.)"""
    if "name_fa" not in data.columns or "settlement_code" not in data.columns:
        return []
    rows = pd.Series(np.arange(1, len(data) + 1), index=data.index)
    key = data["name_fa"].map(lambda v: normalize_name(v) if isinstance(v, str) else "")
    where = data["settlement_code"].map(_code)
    usable = (key != "") & where.notna()
    pair = key + "|" + where.fillna("") + "|" + _service_of(data, services)
    out: list[Rejection] = []

    def duplicate(i, message: str) -> Rejection:
        return (
            int(rows[i]),
            "name_fa",
            str(data.at[i, "name_fa"]),
            "duplicate_centre",
            f"row {rows[i]}: {message}",
        )

    dup = pair.duplicated(keep=False) & usable
    for _, idx in pair[dup].groupby(pair[dup]).groups.items():
        listed = ", ".join(str(rows[i]) for i in idx)
        for i in idx:
            out.append(
                duplicate(
                    i, f"the same centre ({data.at[i, 'name_fa']}, settlement {where[i]}) is in rows {listed}"
                )
            )
    if stored is not None and len(stored) and "licence_no" in data.columns:
        s_key = (
            stored["name_fa"].map(normalize_name)
            + "|"
            + stored["settlement_code"].fillna("")
            + "|"
            + _service_of(stored, services)
        )
        s_key = s_key[stored["settlement_code"].notna()]
        licence_of = dict(zip(s_key, stored.loc[s_key.index, "licence_no"], strict=True))
        mine = data["licence_no"].map(_code)
        for i in data.index[usable & ~dup]:
            other = licence_of.get(pair[i])
            if other is not None and other != mine[i]:
                out.append(
                    duplicate(
                        i,
                        f"{data.at[i, 'name_fa']} in settlement {where[i]} is already stored as licence {other}",
                    )
                )
    return out
