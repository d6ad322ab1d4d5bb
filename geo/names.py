"""Persian place-name normalisation and matching.

Official names (Statistical Centre lists) and map names (OpenStreetMap, GeoNames) spell the same
place differently: Arabic or Persian letter forms, zero-width non-joiners, diacritics, spaces, and
administrative prefixes. ``normalize_name`` folds those differences away; ``match_names`` pairs two
lists of names inside matching groups (a county is only matched inside its own province).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

import pandas as pd

# Arabic letter forms and their Persian equivalents.
_LETTERS = str.maketrans(
    {
        "ي": "ی",  # ARABIC YEH
        "ى": "ی",  # ALEF MAKSURA
        "ئ": "ی",
        "ك": "ک",  # ARABIC KAF
        "ۀ": "ه",
        "ة": "ه",
        "ھ": "ه",  # HEH DOACHASHMEE
        "ە": "ه",  # Kurdish AE
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        # Persian and Arabic-Indic digits to ASCII.
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        **{chr(0x0660 + i): str(i) for i in range(10)},
    }
)

# Zero-width characters, tatweel and bidi marks that never carry meaning in a name.
_INVISIBLE = re.compile("[\u200b\u200d-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u0640]")
_ZWNJ = "\u200c"
# Harakat, tanwin, shadda, sukun, superscript alef.
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)

# Administrative prefixes that map names carry and official names do not. A leading «شهر» is not
# among them: it is part of names such as شهربابک and شهرکرد.
PREFIXES = ("شهرستان", "استان", "ویژه")

#: Known aliases, as written; both sides are normalised before use.
ALIASES: Mapping[str, str] = {
    "چاه‌بهار": "چابهار",
    "بینالود": "طرقبه‌شاندیز",
}


def _fold_keep_hamza(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    # A ZWNJ separates words like a space does («شهرستان‌آبادان»); both vanish from the key.
    text = _INVISIBLE.sub("", text).replace(_ZWNJ, " ")
    return _DIACRITICS.sub("", text)


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).translate(_LETTERS)
    # A ZWNJ separates words like a space does («شهرستان‌آبادان»); both vanish from the key.
    text = _INVISIBLE.sub("", text).replace(_ZWNJ, " ")
    return _DIACRITICS.sub("", text)


@lru_cache(maxsize=262_144)
def _normalize_cached(name: str) -> str:
    return _normalize(name)


def normalize_name(name: str | None) -> str:
    """Return the comparison key of a Persian place name.

    Folds Arabic letter forms to Persian, removes ZWNJ and other invisible marks, diacritics,
    spaces and punctuation, strips the prefixes «شهرستان», «استان» and «ویژه», and resolves the
    known aliases.

    Parameters
    ----------
    name
        A place name in Persian (or Arabic) script; ``None`` or empty gives ``""``.

    Examples
    --------
    >>> normalize_name("شهرستان  كرمانشاه") == normalize_name("کرمانشاه")
    True
    """
    if not name or not isinstance(name, str):
        return ""
    # Registries and settlement lists repeat names: the key of each is computed once.
    return _normalize_cached(name)


def _normalize(name: str) -> str:
    # In Persian no word begins with «ئ»; Kurdish spellings (ئەھواز) use it as an alef.
    words = [w[1:] and "ا" + w[1:] if w.startswith("ئ") else w for w in _fold_keep_hamza(name).split()]
    words = [w.translate(_LETTERS) for w in words]
    while words and words[0] in PREFIXES:
        words = words[1:]
    # Only whole words are stripped: «آستانه اشرفیه» begins with the letters of «استان».
    key = _NOT_WORD.sub("", "".join(words))
    return _ALIAS_KEYS.get(key, key)


def _plain_key(name: str) -> str:
    return _NOT_WORD.sub("", "".join(_fold(name).split()))


_ALIAS_KEYS = {_plain_key(a): _plain_key(b) for a, b in ALIASES.items()}


def match_names(
    left: pd.Series,
    right: pd.Series,
    left_group: pd.Series | None = None,
    right_group: pd.Series | None = None,
) -> pd.DataFrame:
    """Pair names of ``left`` with names of ``right`` by their normalised keys.

    A pair is made only where the key is unique on both sides within the group, so an ambiguous
    name is reported, never guessed.

    Parameters
    ----------
    left, right
        Names, indexed by each side's identifier.
    left_group, right_group
        Optional group keys aligned with ``left`` and ``right`` (for example the province code);
        names are only compared within the same group.

    Returns
    -------
    pandas.DataFrame
        One row per ``left`` entry, indexed like ``left``, with columns ``key`` (normalised name),
        ``right`` (the matched identifier of ``right`` or missing) and ``status``: ``matched``,
        ``unmatched`` (no candidate) or ``ambiguous`` (several candidates on either side).
    """
    if left_group is None:
        left_group = pd.Series(0, index=left.index)
    if right_group is None:
        right_group = pd.Series(0, index=right.index)
    lk = pd.DataFrame({"group": left_group.to_numpy(), "key": left.map(normalize_name).to_numpy()})
    lk.index = left.index
    rk = pd.DataFrame(
        {"group": right_group.to_numpy(), "key": right.map(normalize_name).to_numpy()},
        index=right.index,
    )
    rk = rk[rk["key"] != ""]
    right_counts = rk.groupby(["group", "key"]).size()
    left_counts = lk.groupby(["group", "key"]).size()
    right_first = rk.reset_index(names="right").drop_duplicates(["group", "key"])
    right_first = right_first.set_index(["group", "key"])["right"]

    pairs = list(zip(lk["group"], lk["key"], strict=True))
    n_right = pd.Series([right_counts.get(p, 0) for p in pairs], index=lk.index)
    n_left = pd.Series([left_counts.get(p, 0) for p in pairs], index=lk.index)
    matched_id = pd.Series([right_first.get(p) for p in pairs], index=lk.index, dtype="object")

    status = pd.Series("unmatched", index=lk.index, dtype="object")
    status[(n_right == 1) & (n_left == 1) & (lk["key"] != "")] = "matched"
    status[(n_right > 1) | ((n_left > 1) & (n_right > 0))] = "ambiguous"
    matched_id[status != "matched"] = None
    return pd.DataFrame({"key": lk["key"], "right": matched_id, "status": status})


def match_each(names: pd.Series, right: pd.Series) -> pd.DataFrame:
    """``match_names`` for a column that may name one place many times (a registry's county):
    every row gets the answer of its name; only the right side can make a name ambiguous."""
    keys = names.map(normalize_name)
    first = names[~keys.duplicated()]
    answer = match_names(first, right)
    answer.index = keys[first.index].to_numpy()
    out = answer.reindex(keys.to_numpy())
    out.index = names.index
    return out


_TEXT_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})


def normalize_text(text: str) -> str:
    """Normalise Persian text for storage: Arabic yeh and kaf to Persian, NFC, trimmed.

    Unlike ``normalize_name`` this keeps the text readable (spaces, ZWNJ, hamza stay).
    """
    return unicodedata.normalize("NFC", text).translate(_TEXT_LETTERS).strip()


#: How the first letter of a Persian name may begin its Latin transliteration (GeoNames style).
_INITIALS = {
    "ا": "aāeēiīoōuū'‘’",
    "آ": "aā",
    "ع": "aāeēiīoōuū'‘’",
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ط": "tţ",
    "ث": "sş",
    "س": "sş",
    "ص": "sş",
    "ج": "j",
    "چ": "c",
    "ح": "hḩ",
    "ه": "h",
    "خ": "k",
    "د": "d",
    "ذ": "zẕ",
    "ز": "zẕ",
    "ض": "zẕ",
    "ظ": "zẓ",
    "ر": "r",
    "ژ": "z",
    "ش": "s",
    "غ": "gq",
    "ق": "qg",
    "ف": "f",
    "ک": "kc",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "و": "vwouū",
    "ی": "yieī",
}


def initials_agree(name_fa: str | None, name_latin: str | None) -> bool:
    """Whether a Latin name can be a transliteration of a Persian one, judged by the first letter.

    A weak second witness for a name match: «اورین» and "Ovrīn" agree, «خوشاب» and "Jālq" do not
    (GeoNames gives some places another place's Persian name). True when either name is missing
    or the Persian letter is not in the table.
    """
    if not name_fa or not name_latin:
        return True
    fa = normalize_text(str(name_fa)).strip()
    latin = str(name_latin).strip().lower()
    if not fa or not latin:
        return True
    allowed = _INITIALS.get(fa[0])
    return allowed is None or latin[0] in allowed


def match_settlements(
    queries: pd.DataFrame, settlements: pd.DataFrame, *, max_candidates: int = 5
) -> pd.DataFrame:
    """Find the settlement each query names, among the settlements of the query's county.

    A registry row often gives a village or city by name and its county instead of coordinates.
    The name is compared by its ``normalize_name`` key with the names of that county's
    settlements only; a key shared by several settlements of the county is ambiguous and never
    guessed. Several queries may name the same settlement (two centres in one village).

    Parameters
    ----------
    queries
        ``name`` and ``county_code`` per row (any index).
    settlements
        ``settlement_code``, ``name_fa``, ``county_code`` (and optionally ``kind``).
    max_candidates
        How many candidates an ambiguous answer lists.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``queries``: ``status`` (``matched``, ``ambiguous``, ``unmatched`` or
        ``no_name``), ``settlement_code`` (the match or missing) and ``candidates`` (a list of
        ``(settlement_code, name_fa)`` of an ambiguous name, else empty).
    """
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for code, name_fa, county in zip(
        settlements["settlement_code"].to_numpy(),
        settlements["name_fa"].to_numpy(),
        settlements["county_code"].astype(str).to_numpy(),
        strict=True,
    ):
        key = normalize_name(name_fa)
        if key:
            groups.setdefault((county, key), []).append((code, name_fa))
    status: list[str] = []
    codes: list[str | None] = []
    candidates: list[list[tuple[str, str]]] = []
    for name, county in zip(queries["name"], queries["county_code"], strict=True):
        key = normalize_name(name) if isinstance(name, str) else ""
        if not key:
            status.append("no_name")
            codes.append(None)
            candidates.append([])
            continue
        found = groups.get((str(county), key))
        if found is None:
            status.append("unmatched")
            codes.append(None)
            candidates.append([])
        elif len(found) == 1:
            status.append("matched")
            codes.append(found[0][0])
            candidates.append([])
        else:
            status.append("ambiguous")
            codes.append(None)
            candidates.append(found[:max_candidates])
    return pd.DataFrame(
        {
            "status": status,
            "settlement_code": pd.Series(codes, dtype="object").to_numpy(),
            "candidates": candidates,
        },
        index=queries.index,
    )
