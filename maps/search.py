"""Place search for the map pages: settlements, counties and provinces by name or code.

Names match in Persian or English, whatever the keyboard: Arabic yeh and kaf are read as the
Persian letters, the zero-width non-joiner and diacritics are ignored, and codes may be typed in
Persian or Arabic-Indic digits.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

import numpy as np
import pandas as pd

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ۀ": "ه"})
_IGNORED = re.compile("[\u200c\u200d\u064b-\u065f\u0670\u0640]")


def latin_digits(text: str) -> str:
    """``text`` with Persian and Arabic-Indic digits as 0-9 (the Persian decimal and thousands
    separators as ``.`` and nothing)."""
    return text.translate(_DIGITS).replace("٫", ".").replace("٬", "")


def search_key(text: object) -> str:
    """A name folded for matching: lower case, Persian letters, no ZWNJ, diacritics or spaces."""
    if not isinstance(text, str):
        return ""
    return unicodedata.normalize("NFKD", text.translate(_FOLD).casefold()).translate(_dropped())


#: Persian and Arabic-Indic digits as 0-9 (``latin_digits``) and Arabic letters as Persian, at once.
_FOLD = {**_DIGITS, ord("٫"): ".", ord("٬"): None, **_LETTERS}


@functools.cache
def _dropped() -> dict[int, None]:
    """What a search key leaves out, as a table ``str.translate`` deletes by: every combining
    character of Unicode (diacritics), the characters of ``_IGNORED``, white space and hyphens.
    Made once (0.2 s)."""
    ignored = {chr(c) for c in range(0x600, 0x2100) if _IGNORED.match(chr(c))} | {"-"}
    table: dict[int, None] = {}
    for c in range(sys.maxunicode + 1):
        ch = chr(c)
        if unicodedata.combining(ch) or ch.isspace() or ch in ignored:  # isspace: what re's \s is
            table[c] = None
    return table


def _keys(names: pd.Series) -> np.ndarray:
    """``search_key`` of each name, each distinct name folded once."""
    keys = {name: search_key(name) for name in names.unique()}
    return names.map(keys).to_numpy()


#: What the search finds, in the order hits of equal rank are listed: ``place`` is a gazetteer
#: place that matches no official settlement (unofficial; the ``gazetteer_places`` layer).
KINDS = (
    ("province", "province_code"),
    ("county", "county_code"),
    ("settlement", "settlement_code"),
    ("place", "gazetteer_id"),
)


def search_index(
    provinces: pd.DataFrame,
    counties: pd.DataFrame,
    settlements: pd.DataFrame,
    places: pd.DataFrame | None = None,
) -> dict:
    """The places with their names folded once (``search_key``), for ``search_places``."""
    out = {}
    frames = (provinces, counties, settlements, places)
    for (kind, code_col), frame in zip(KINDS, frames, strict=True):
        if frame is None:
            continue
        en = frame["name_en"] if "name_en" in frame else pd.Series(None, index=frame.index)
        fa = frame["name_fa"].fillna("")
        population = frame["population"] if "population" in frame else pd.Series(0, index=frame.index)
        out[kind] = pd.DataFrame(
            {
                "code": frame[code_col].astype(str).to_numpy(),
                "name_fa": fa.to_numpy(),
                "name_en": en.to_numpy(),
                "province_code": frame["province_code"].to_numpy()
                if "province_code" in frame
                else frame[code_col].astype(str).str[:2].to_numpy(),
                "county_code": frame["county_code"].to_numpy() if "county_code" in frame else None,
                "population": population.fillna(0).astype("int64").to_numpy(),
                "key_fa": _keys(fa),
                "key_en": _keys(en),
            }
        )
    return out


def search_places(query: str, index: dict, limit: int = 10) -> list[dict]:
    """Places whose name starts with or contains ``query``, or whose code starts with it.

    Exact names first, then names that start with the query, then those that only contain it;
    provinces before counties before settlements; larger populations first. Each hit has
    ``kind``, ``code``, ``name_fa``, ``name_en``, ``province_code``, ``county_code`` and
    ``population``. ``index`` is ``search_index``.
    """
    key = search_key(query)
    if not key:
        return []
    hits = []
    for kind, _ in KINDS:
        if kind not in index:
            continue
        frame = index[kind]
        if key.isdigit():
            score = np.where(frame["code"].str.startswith(key), 2, 0)
        else:
            fa, en = frame["key_fa"], frame["key_en"]
            exact = (fa == key) | (en == key)
            start = fa.str.startswith(key) | en.str.startswith(key)
            inside = fa.str.contains(key, regex=False) | en.str.contains(key, regex=False)
            score = np.where(exact, 3, np.where(start, 2, np.where(inside, 1, 0)))
        found = frame[score > 0].assign(match=score[score > 0])
        found = found.sort_values(["match", "population"], ascending=[False, False]).head(limit)
        for row in found.itertuples(index=False):
            hits.append(
                {
                    "kind": kind,
                    "code": row.code,
                    "name_fa": row.name_fa,
                    "name_en": row.name_en if isinstance(row.name_en, str) and row.name_en else None,
                    "province_code": row.province_code if isinstance(row.province_code, str) else None,
                    "county_code": row.county_code if isinstance(row.county_code, str) else None,
                    "population": int(row.population),
                    "match": int(row.match),
                }
            )
    order = {kind: i for i, (kind, _) in enumerate(KINDS)}
    hits.sort(key=lambda h: (-h["match"], order[h["kind"]], -h["population"]))
    return hits[:limit]
