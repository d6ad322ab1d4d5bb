"""Official settlements at their real places: the official list matched to a gazetteer of places.

The official division list (Statistical Centre codes, 1,554 cities and 98,100 villages) has no
coordinates; a gazetteer (Who's On First / GeoNames: 72,681 populated places of Iran, most with
every Persian and Latin spelling) has coordinates but no official codes. ``match_settlements``
pairs the two, county by county, and says for every official settlement how sure it is.

The rules, in the order they are tried (each tier only sees what the tiers before it left):

``exact``
    The normalised Persian name (``geo.names.normalize_name``, with hamza dropped) of the
    settlement equals one of the place's Persian names.
``variant``
    The usual spellings of one name: «علیا»/«بالا» and «سفلی»/«پایین» (and «وسطی»/«میانی»),
    numbers as digits or words («۲», «دو»), a leading «ده» or «قلعه» dropped, the parts of an
    official name with an alternative in brackets or after a slash («(اسلامیه)»).
``latin``
    For places without a Persian name: the consonant skeleton of a Latin spelling
    ("Qal`eh Now" → qlhn) equals the skeleton of the official Persian name.
``fuzzy``
    One edit apart (a letter added, dropped, changed or two swapped), for names of five or more
    letters whose digits agree.
``rural_district``
    Namesakes («حسن‌آباد» twice in a county) are told apart by their rural district (دهستان):
    the villages of one rural district lie together, so a namesake goes to the place that is
    clearly nearest to the villages of its rural district already matched, and only when that
    place is in turn clearly nearest to it.

A pair is made only where it is the only candidate on both sides: one place is never given to
two settlements and an ambiguous name stays unmatched (with its candidates listed), never
guessed. A place is a candidate for the settlements of the county polygons it lies in, or lies
within ``tolerance_m`` of (borders and coasts are approximate); a county of several parts
(islands) is measured part by part.

Pure: frames in, frames out. Positions are measured in ``geo.crs.METRIC_CRS``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.names import normalize_name
from geo.sampling import sample_inside

#: How sure each method is that the place is the settlement (shown in the match report).
CONFIDENCE = {
    "exact": 0.95,
    "variant": 0.85,
    "latin": 0.75,
    "fuzzy": 0.7,
    "rural_district": 0.7,
    "prominence": 0.8,
    "correction": 1.0,
}
METHODS = tuple(CONFIDENCE)

#: How far outside its county polygon a place may lie and still be a candidate for it.
DEFAULT_TOLERANCE_M = 2_000.0

#: A namesake goes to the nearest place only if the next one is at least this many times farther.
TIEBREAK_RATIO = 1.5
#: ... and only if the place lies within this distance of the rural district's matched villages
#: (or within twice their spread, where that is larger).
TIEBREAK_MAX_M = 20_000.0

#: Names of at least this many letters may be matched one edit apart.
FUZZY_MIN_LETTERS = 5

_QUALIFIERS = {
    "بالا": "علیا",
    "علیا": "علیا",
    "اعلی": "علیا",
    "پایین": "سفلی",
    "پائین": "سفلی",
    "سفلی": "سفلی",
    "وسطی": "وسطی",
    "میانی": "وسطی",
    "وسط": "وسطی",
}
_NUMBER_WORDS = {
    "یک": "1",
    "دو": "2",
    "سه": "3",
    "چهار": "4",
    "پنج": "5",
    "شش": "6",
    "هفت": "7",
    "هشت": "8",
    "نه": "9",
    "ده": "10",
}
#: Leading words a map may write or leave out: «ده نو» is «نو»'s village, «قلعه» a fortified one,
#: «کلاته» a hamlet (keys: «آ» is folded to «ا»). Not «مزرعه» or «شهرک»: the farm or the new
#: estate of a village is another place than the village.
_DROPPABLE_PREFIXES = ("ده", "قلعه", "کلاته", "ابادی", "روستای")
_BRACKETS = re.compile(r"[()\[\]{}/\\]")
_DIGITS = re.compile(r"\d+")
_HAMZA = str.maketrans({"ء": None})


@functools.lru_cache(maxsize=400_000)
def name_key(name: str | None) -> str:
    """The exact comparison key of a settlement name: ``normalize_name`` without hamza (نساء = نسا)."""
    return normalize_name(name).translate(_HAMZA)


def _words(name: str) -> list[str]:
    # Word-level forms before the key folds the spaces away: «حسن آباد 2» → ["حسن", "آباد", "2"].
    text = unicodedata.normalize("NFKC", name).replace("\u200c", " ")
    text = _DIGITS.sub(lambda m: f" {m.group(0)} ", text)
    return [w for w in re.split(r"[\s\-_,.،]+", text) if w]


@functools.lru_cache(maxsize=400_000)
def name_variants(name: str | None) -> frozenset[str]:
    """Keys of the usual other spellings of ``name`` (not including its exact key).

    >>> sorted(name_variants("حسن آباد بالا")) == sorted({name_key("حسن آباد علیا")})
    True
    """
    if not name or not isinstance(name, str):
        return frozenset()
    parts = [name]
    if _BRACKETS.search(name):
        # «(کلوییم)کلوییم», «آجرپزی ایران/علی آباد2»: each part is a name of its own.
        parts += [p for p in _BRACKETS.split(name) if p.strip()]
        parts.append(_BRACKETS.sub(" ", name))
    out: set[str] = set()
    for part in parts:
        words = [name_key(w) for w in _words(part)]
        words = [w for w in words if w]
        if not words:
            continue
        forms = [words]
        # «ده» leading a name is a village («ده نو»), not the number ten.
        canon = [
            w if i == 0 and w in _DROPPABLE_PREFIXES else _NUMBER_WORDS.get(w, _QUALIFIERS.get(w, w))
            for i, w in enumerate(words)
        ]
        forms.append(canon)
        if len(canon) > 1 and canon[0] in _DROPPABLE_PREFIXES:
            forms.append(canon[1:])
        for form in forms:
            out.add("".join(form))
    out.discard("")
    out.discard(name_key(name))
    return frozenset(out)


# --------------------------------------------------------------------------------------------
# Latin spellings: a consonant skeleton that Persian and Latin spellings of one name share.
# Short vowels are not written in Persian and long ones are written with letters that are also
# consonants (و v, ی y), so the skeleton keeps consonants only and folds letters that sound alike.
# --------------------------------------------------------------------------------------------

_FA_SKELETON = str.maketrans(
    {
        "ب": "b",
        "پ": "p",
        "ت": "t",
        "ط": "t",
        "ث": "s",
        "س": "s",
        "ص": "s",
        "ج": "j",
        "چ": "c",
        "ح": "h",
        "ه": "h",
        "خ": "x",
        "د": "d",
        "ذ": "z",
        "ز": "z",
        "ض": "z",
        "ظ": "z",
        "ر": "r",
        "ژ": "Z",
        "ش": "S",
        "غ": "q",
        "ق": "q",
        "ف": "f",
        "ک": "k",
        "گ": "g",
        "ل": "l",
        "م": "m",
        "ن": "n",
        **{c: None for c in "اآعءوی"},
    }
)
_LATIN_DIGRAPHS = (("kh", "x"), ("sh", "S"), ("ch", "c"), ("zh", "Z"), ("gh", "q"))
_LATIN_SKELETON = str.maketrans(
    {
        "q": "q",
        "k": "k",
        "c": "k",
        "x": "x",
        **{c: None for c in "aeiouyvw'`"},
    }
)
_COLLAPSE = re.compile(r"(.)\1+")
_LATIN_QUOTES = re.compile(r"[‘’ʿʾ`´']")

_LATIN_QUALIFIERS = {
    "bala": "olya",
    "olya": "olya",
    "oliya": "olya",
    "ulya": "olya",
    "pain": "sofla",
    "paein": "sofla",
    "payin": "sofla",
    "paeen": "sofla",
    "sofla": "sofla",
    "sufla": "sofla",
    "vosta": "vosta",
    "vasat": "vosta",
    "miyani": "vosta",
    "miani": "vosta",
    "ye": "",
    "e": "",
}


@functools.lru_cache(maxsize=400_000)
def persian_skeleton(name: str | None) -> str:
    """Consonant skeleton of a Persian name (``"حسن آباد"`` → ``"hsnbd"``); «بالا» reads as «علیا»
    and «پایین» as «سفلی», as ``latin_skeleton`` reads "Bālā" and "Pā'īn"."""
    if not name or not isinstance(name, str):
        return ""
    words = [_QUALIFIERS.get(w, w) for w in (name_key(w) for w in _words(name))]
    key = "".join(words)
    if not key or any(ch.isdigit() for ch in key):
        return ""
    return _COLLAPSE.sub(r"\1", key.translate(_FA_SKELETON))


@functools.lru_cache(maxsize=400_000)
def latin_skeleton(name: str | None) -> str:
    """Consonant skeleton of a Latin spelling (``"Ḩasanābād"`` → ``"hsnbd"``)."""
    if not name or not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKD", name)
    if not text.isascii():  # no ASCII character is a combining mark
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _LATIN_QUOTES.sub("", text.lower())
    if any(ch.isdigit() for ch in text):
        return ""
    # The qualifiers as their Persian canonical forms read (علیا, سفلی, وسطی).
    words = [_LATIN_QUALIFIERS.get(w, w) for w in re.split(r"[^a-z]+", text)]
    text = "".join(words)
    for digraph, letter in _LATIN_DIGRAPHS:
        text = text.replace(digraph, letter)
    return _COLLAPSE.sub(r"\1", text.translate(_LATIN_SKELETON))


def within_one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are at most one edit apart (insert, delete, substitute, swap two)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@functools.lru_cache(maxsize=400_000)
def _deletions(key: str) -> tuple[str, ...]:
    return tuple(sorted({key} | {key[:i] + key[i + 1 :] for i in range(len(key))}))


# --------------------------------------------------------------------------------------------
# Where each place may belong
# --------------------------------------------------------------------------------------------


def locate_places(
    places: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> pd.DataFrame:
    """The counties each place may belong to: those it lies in, or lies within ``tolerance_m`` of.

    Parameters
    ----------
    places
        Points, indexed by place id.
    counties
        ``county_code`` and polygons.

    Returns
    -------
    pandas.DataFrame
        One row per (place, county) candidate: ``place``, ``county_code``, ``outside_m`` (0 inside).
        A place within the tolerance of several counties but inside one keeps only that one.
    """
    pm = places.geometry.to_crs(METRIC_CRS)
    cm = counties[["county_code", "geometry"]].to_crs(METRIC_CRS)
    # Part by part, so that an island county's distance is to its nearest island.
    parts = cm.explode(index_parts=False).reset_index(drop=True)
    tree = shapely.STRtree(parts.geometry.to_numpy())
    pts = pm.to_numpy()
    p_idx, c_idx = tree.query(pts, predicate="dwithin", distance=tolerance_m)
    d = shapely.distance(pts[p_idx], parts.geometry.to_numpy()[c_idx])
    cand = pd.DataFrame(
        {
            "place": pm.index.to_numpy()[p_idx],
            "county_code": parts["county_code"].to_numpy()[c_idx],
            "outside_m": d,
        }
    )
    cand = cand.groupby(["place", "county_code"], as_index=False)["outside_m"].min()
    inside = cand[cand["outside_m"] == 0.0]["place"].unique()
    cand = cand[~cand["place"].isin(inside) | (cand["outside_m"] == 0.0)]
    return cand.reset_index(drop=True)


def nearest_county_part(
    points: gpd.GeoSeries, counties: gpd.GeoDataFrame, max_distance_m: float
) -> pd.DataFrame:
    """The nearest county of each point within ``max_distance_m``, measured part by part.

    Returns ``county_code`` and ``outside_m`` indexed like ``points`` (missing beyond the limit).
    """
    cand = locate_places(gpd.GeoDataFrame(geometry=points), counties, max_distance_m)
    cand = cand.sort_values(["place", "outside_m", "county_code"]).drop_duplicates("place")
    return cand.set_index("place")[["county_code", "outside_m"]].reindex(points.index)


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementMatch:
    """What ``match_settlements`` found.

    Attributes
    ----------
    settlements
        One row per official settlement, indexed by ``settlement_code``: ``status`` (matched,
        ambiguous, unmatched), ``place`` (the gazetteer id), ``method``, ``confidence``,
        ``place_name`` (the gazetteer name that matched), ``outside_m`` (how far the point lies
        outside the county, 0 inside) and ``candidates`` (of an ambiguous one: ``id:name``,
        ``;``-joined).
    unofficial
        The gazetteer ids of the places that matched no official settlement.
    duplicates
        Places the gazetteer lists twice (``duplicate_places``): each id and the id kept.
    """

    settlements: pd.DataFrame
    unofficial: pd.Index
    duplicates: pd.Series


def _left_keys(settlements: pd.DataFrame, tier: str) -> pd.DataFrame:
    names = settlements["name_fa"]
    if tier == "exact":
        keys = names.map(lambda n: [name_key(n)])
    elif tier == "variant":
        # The exact key too: «نو» meets the map's «ده نو» through the map's variant.
        keys = names.map(lambda n: sorted(name_variants(n) | {name_key(n)}))
    elif tier == "latin":
        keys = names.map(lambda n: sorted({persian_skeleton(n)} | {persian_skeleton(v) for v in _parts(n)}))
    else:  # fuzzy: exact keys, joined through their deletions below
        keys = names.map(lambda n: [name_key(n)])
    out = pd.DataFrame(
        {
            "settlement_code": settlements["settlement_code"].to_numpy(),
            "county_code": settlements["county_code"].to_numpy(),
            "key": keys.to_numpy(),
        }
    ).explode("key")
    out = out[out["key"].notna() & (out["key"] != "")]
    if tier == "latin":
        out = out[out["key"].str.len() >= 3]
    return out.drop_duplicates()


def _parts(name: str | None) -> list[str]:
    if not name or not isinstance(name, str) or not _BRACKETS.search(name):
        return []
    return [p for p in _BRACKETS.split(name) if p.strip()]


def _split_names(value: object) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    return [v for v in value.split("|") if v.strip()]


def _right_keys(places: pd.DataFrame, tier: str) -> pd.DataFrame:
    if tier in ("exact", "fuzzy"):
        keys = [
            sorted({name_key(n) for n in [fa, *_split_names(alls)]} - {""})
            for fa, alls in zip(places["name_fa"], places["names_fa_all"], strict=True)
        ]
    elif tier == "variant":
        keys = [
            sorted(
                set().union(
                    *[
                        name_variants(n) | {name_key(n)}
                        for n in [fa, *_split_names(alls)]
                        if isinstance(n, str)
                    ]
                )
                - {""}
            )
            for fa, alls in zip(places["name_fa"], places["names_fa_all"], strict=True)
        ]
    else:  # latin: the consonant skeletons of every Latin spelling
        keys = [
            sorted({latin_skeleton(n) for n in [en, *_split_names(alls)]} - {""})
            for en, alls in zip(places["name_en"], places["names_latin_all"], strict=True)
        ]
    out = pd.DataFrame({"place": places.index.to_numpy(), "key": keys}).explode("key")
    out = out[out["key"].notna() & (out["key"] != "")]
    if tier == "latin":
        out = out[out["key"].str.len() >= 3]
    return out.drop_duplicates()


def _candidate_pairs(left: pd.DataFrame, right: pd.DataFrame, tier: str) -> pd.DataFrame:
    """(settlement, place) pairs whose keys meet inside a county the place may belong to."""
    if tier != "fuzzy":
        pairs = left.merge(right, on=["county_code", "key"])
        pairs["place_key"] = pairs["key"]
        return pairs[_PAIR_COLUMNS]
    # One edit apart: keys that share a deletion, checked exactly afterwards.
    pairs = left.merge(right.rename(columns={"key": "place_key"}), on=["county_code", "d"])
    pairs = pairs.drop(columns="d").drop_duplicates()
    digits = re.compile(r"\d+")
    ok = [
        within_one_edit(a, b) and digits.findall(a) == digits.findall(b)
        for a, b in zip(pairs["key"], pairs["place_key"], strict=True)
    ]
    return pairs[np.asarray(ok, dtype=bool)][_PAIR_COLUMNS]


def _unique_pairs(pairs: pd.DataFrame) -> tuple[pd.DataFrame, set[str], set[object]]:
    """Pairs that are each side's only candidate, and the settlements and places left contested."""
    # A place inside one candidate county is not a candidate for a neighbour it only lies near.
    best = pairs.groupby("place")["outside_m"].transform("min")
    pairs = pairs[pairs["outside_m"] == best]
    per_settlement = pairs.groupby("settlement_code")["place"].nunique()
    per_place = pairs.groupby("place")["settlement_code"].nunique()
    one = pairs[
        pairs["settlement_code"].map(per_settlement).eq(1).to_numpy()
        & pairs["place"].map(per_place).eq(1).to_numpy()
    ]
    one = one.drop_duplicates("settlement_code")
    contested_s = set(pairs["settlement_code"]) - set(one["settlement_code"])
    contested_p = set(pairs["place"]) - set(one["place"])
    return one, contested_s, contested_p


def match_settlements(
    settlements: pd.DataFrame,
    places: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> SettlementMatch:
    """Match official settlements to gazetteer places, county by county.

    Parameters
    ----------
    settlements
        The official list: ``settlement_code``, ``kind`` (city, village), ``name_fa``,
        ``county_code``, ``rural_district_code`` (villages).
    places
        The gazetteer, indexed by place id: ``name_fa``, ``names_fa_all`` and
        ``names_latin_all`` (``|``-separated variants), ``name_en``, point geometry.
    counties
        ``county_code`` and the official county polygons.
    tolerance_m
        How far outside a county polygon a place may lie and still be matched in it.

    Returns
    -------
    SettlementMatch
    """
    for col in ("name_fa", "names_fa_all", "names_latin_all", "name_en"):
        if col not in places:
            places = places.assign(**{col: None})
    located = locate_places(places, counties, tolerance_m)
    places = places[places.index.isin(located["place"].unique())]
    duplicates = duplicate_places(places)
    places = places[~places.index.isin(duplicates.index)]
    located = located[located["place"].isin(places.index)]
    keys = _key_tables(settlements, places, located)
    cities = settlements[settlements["kind"] == "city"]
    villages = settlements[settlements["kind"] != "city"]

    # Cities first: a town and a village of its name often share a county, and the gazetteer's
    # place of that name is the town.
    xy = _xy(places)  # where each place lies, in metres: projected once for every tier and round
    city_found, city_contested = _match_tiers(cities, xy, keys, taken=set())
    taken = set(city_found["place"])
    prominent = _prominence_tiebreak(city_contested[~city_contested["place"].isin(taken)], places)
    city_found = pd.concat([city_found, prominent.assign(method="prominence")], ignore_index=True)
    taken |= set(city_found["place"])

    units = settlements.set_index("settlement_code")["rural_district_code"]
    # Two rounds: what the first places gives the looser tiers and the namesakes of the second
    # more rural districts to stand near.
    village_found = pd.DataFrame(columns=[*_PAIR_COLUMNS, "method"])
    for _ in range(2):
        todo = villages[~villages["settlement_code"].isin(village_found["settlement_code"])]
        found, village_contested = _match_tiers(todo, xy, keys, taken=taken, units=units, prior=village_found)
        taken |= set(found["place"])
        village_found = pd.concat([village_found, found], ignore_index=True)
        village_contested = village_contested[~village_contested["place"].isin(taken)]
        tie = _rural_district_tiebreak(village_contested, village_found, settlements, xy)
        taken |= set(tie["place"])
        village_found = pd.concat([village_found, tie.assign(method="rural_district")], ignore_index=True)
    matched = pd.concat([city_found, village_found], ignore_index=True)
    contested = pd.concat([city_contested, village_contested], ignore_index=True)
    contested = contested[~contested["place"].isin(set(matched["place"]))]

    result = _result_frame(settlements, matched, contested, places)
    unofficial = places.index[~places.index.isin(matched["place"])]
    return SettlementMatch(settlements=result, unofficial=unofficial, duplicates=duplicates)


#: Two gazetteer places with the same name this close together are one place listed twice.
DUPLICATE_M = 3_000.0


def duplicate_places(places: gpd.GeoDataFrame, within_m: float = DUPLICATE_M) -> pd.Series:
    """Places the gazetteer lists twice: the same normalised name within ``within_m`` of each other.

    Returns
    -------
    pandas.Series
        Indexed by the id of each duplicate, the id of the place kept in its stead: the one
        given with the most decimals, then with a GeoNames id, then the smallest id.
    """
    if places.empty:
        return pd.Series(dtype="object")
    pm = places.geometry.to_crs(METRIC_CRS).to_numpy()
    tree = shapely.STRtree(pm)
    a, b = tree.query(pm, predicate="dwithin", distance=within_m)
    keep = a < b
    a, b = a[keep], b[keep]
    keys = [
        {name_key(n) for n in [fa, *_split_names(alls)]} - {""}
        for fa, alls in zip(places["name_fa"], places["names_fa_all"], strict=True)
    ]
    latin = [latin_skeleton(n) for n in places["name_en"]]
    same = np.asarray(
        [
            bool(keys[i] & keys[j]) or (len(latin[i]) >= 3 and latin[i] == latin[j])
            for i, j in zip(a, b, strict=True)
        ],
        dtype=bool,
    )
    parent = list(range(len(places)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a[same], b[same], strict=True):
        ri, rj = find(int(i)), int(find(int(j)))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([find(i) for i in range(len(places))])
    decimals = places["coord_decimals"].to_numpy() if "coord_decimals" in places else np.zeros(len(places))
    has_gn = (
        places["geonames_id"].notna().to_numpy() if "geonames_id" in places else np.zeros(len(places), bool)
    )
    order = pd.DataFrame(
        {
            "root": roots,
            "dec": -np.asarray(decimals, dtype=float),
            "gn": ~has_gn,
            "id": places.index.to_numpy(),
        }
    ).sort_values(["root", "dec", "gn", "id"])
    first = order.drop_duplicates("root").set_index("root")["id"]
    kept = pd.Series(first.reindex(roots).to_numpy(), index=places.index)
    return kept[kept.index != kept.to_numpy()]


_PAIR_COLUMNS = ["settlement_code", "place", "county_code", "outside_m", "key", "place_key"]


def _match_tiers(
    settlements: pd.DataFrame,
    xy: pd.DataFrame,
    keys: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
    taken: set[object],
    units: pd.Series | None = None,
    prior: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The name tiers, each on what the ones before left; the unique pairs and the contested ones.

    ``keys`` holds, per tier, the (settlement, county, key) and (place, county, key) tables of
    every candidate (``_key_tables``); each tier keeps the rows still free. With ``units`` (the
    rural district of each settlement), a looser tier (variant, latin, fuzzy) only pairs a settlement
    with a place near the villages of its rural district that the strict tiers placed: a
    skeleton or a one-letter difference is weak evidence alone. ``prior`` are the pairs of an
    earlier round (they place rural districts too). ``xy``: every place's metric position (``_xy``).
    """
    remaining = set(settlements["settlement_code"])
    taken = set(taken)
    contested_s: set[str] = set()
    contested_p: set[object] = set()
    found: list[pd.DataFrame] = [pd.DataFrame(columns=[*_PAIR_COLUMNS, "method"])]
    candidates: list[pd.DataFrame] = [pd.DataFrame(columns=_PAIR_COLUMNS)]
    for tier in ("exact", "variant", "latin", "fuzzy"):
        left, right = keys[tier]
        left = left[left["settlement_code"].isin(remaining - contested_s)]
        right = right[~right["place"].isin(taken | contested_p)]
        pairs = _candidate_pairs(left, right, tier)
        if units is not None and tier != "exact" and len(pairs):
            centres, limits = _unit_centres(
                pd.concat([*found, *([] if prior is None else [prior])], ignore_index=True), units, xy
            )
            pairs = pairs[_near_unit(pairs, units, centres, limits, xy)]
        if pairs.empty:
            continue
        one, cs, cp = _unique_pairs(pairs)
        found.append(one.assign(method=tier))
        if tier in ("exact", "variant"):
            # Namesakes: left for the rural districts (or, for towns, prominence) to tell apart.
            candidates.append(pairs[pairs["settlement_code"].isin(cs)])
            contested_s |= cs
            contested_p |= cp
        taken |= set(one["place"])
        remaining -= set(one["settlement_code"])
    return (
        pd.concat([f for f in found if len(f)] or found[:1], ignore_index=True),
        pd.concat([c for c in candidates if len(c)] or candidates[:1], ignore_index=True),
    )


def _key_tables(
    settlements: pd.DataFrame, places: pd.DataFrame, located: pd.DataFrame
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per tier: every settlement's keys, and every place's keys in each county it may belong to."""
    out: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for tier in ("exact", "variant", "latin", "fuzzy"):
        if tier == "fuzzy":  # the exact keys (made once), joined through their deletions
            left, right = out["exact"]
            left = left[left["key"].str.len() >= FUZZY_MIN_LETTERS]
            right = right[right["key"].str.len() >= FUZZY_MIN_LETTERS - 1]
            left = left.assign(d=left["key"].map(_deletions)).explode("d")
            right = right.assign(d=right["key"].map(_deletions)).explode("d")
        else:
            left = _left_keys(settlements, tier)
            right = _right_keys(places, tier).merge(located, on="place")
        out[tier] = (left, right)
    return out


#: Gazetteer feature codes of seats of government (GeoNames): a town, not a village.
SEAT_CODES = ("PPLC", "PPLA", "PPLA2", "PPLA3", "PPLA4")
#: A place with at least this many people is a town (where the gazetteer gives a population).
TOWN_POPULATION = 5_000


def _prominence_tiebreak(contested: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """A town whose name several places bear goes to the only one that is a seat or a town."""
    if contested.empty:
        return contested.iloc[0:0][_PAIR_COLUMNS]
    code = places["feature_code"] if "feature_code" in places else pd.Series("", index=places.index)
    pop = places["population"] if "population" in places else pd.Series(np.nan, index=places.index)
    prominent = code.isin(SEAT_CODES) | (pop.fillna(0) >= TOWN_POPULATION)
    c = contested.drop_duplicates(["settlement_code", "place"])
    c = c[c["place"].map(prominent).fillna(False).astype(bool)]
    per_settlement = c.groupby("settlement_code")["place"].nunique()
    per_place = c.groupby("place")["settlement_code"].nunique()
    one = c[c["settlement_code"].map(per_settlement).eq(1) & c["place"].map(per_place).eq(1)]
    return one[_PAIR_COLUMNS].reset_index(drop=True)


def _xy(places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each place's ``x`` and ``y`` in ``METRIC_CRS``, indexed like ``places``."""
    pm = places.geometry.to_crs(METRIC_CRS)
    return pd.DataFrame({"x": pm.x.to_numpy(), "y": pm.y.to_numpy()}, index=places.index)


def _unit_centres(
    found: pd.DataFrame, units: pd.Series, xy: pd.DataFrame
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """Where the matched villages of each rural district lie: their median point, and how far
    from it a namesake may be (``TIEBREAK_MAX_M`` or twice their median spread)."""
    if found.empty:
        return {}, {}
    m = found.assign(rd=found["settlement_code"].map(units)).dropna(subset=["rd"]).join(xy, on="place")
    centre = m.groupby("rd")[["x", "y"]].median()
    m = m.join(centre.add_suffix("_c"), on="rd")
    spread = np.hypot(m["x"] - m["x_c"], m["y"] - m["y_c"]).groupby(m["rd"]).median()
    centres = {rd: (x, y) for rd, x, y in zip(centre.index, centre["x"], centre["y"], strict=True)}
    limits = {rd: max(TIEBREAK_MAX_M, 2.0 * float(s)) for rd, s in spread.items()}
    return centres, limits


def _near_unit(
    pairs: pd.DataFrame,
    units: pd.Series,
    centres: dict[str, tuple[float, float]],
    limits: dict[str, float],
    xy: pd.DataFrame,
) -> np.ndarray:
    """Whether each pair's place lies within its settlement's rural district limit."""
    rd = pairs["settlement_code"].map(units).to_numpy()
    p = xy.reindex(pairs["place"].to_numpy())
    ok = np.zeros(len(pairs), dtype=bool)
    for i, (r, x, y) in enumerate(zip(rd, p["x"].to_numpy(), p["y"].to_numpy(), strict=True)):
        if isinstance(r, str) and r in centres:
            cx, cy = centres[r]
            ok[i] = np.hypot(x - cx, y - cy) <= limits[r]
    return ok


def _rural_district_tiebreak(
    contested: pd.DataFrame,
    matched: pd.DataFrame,
    settlements: pd.DataFrame,
    xy: pd.DataFrame,
) -> pd.DataFrame:
    """Settle namesakes by the rural district whose matched villages lie clearly nearest (``xy``:
    every place's metric position, ``_xy``)."""
    cols = ["settlement_code", "place", "county_code", "outside_m", "key", "place_key"]
    if contested.empty or matched.empty:
        return contested.iloc[0:0][cols]
    rd_of = settlements.set_index("settlement_code")["rural_district_code"]
    centres, limits = _unit_centres(matched, rd_of, xy)

    pairs = contested.drop_duplicates(["settlement_code", "place"])
    pairs = pairs.assign(rd=pairs["settlement_code"].map(rd_of)).join(xy, on="place")
    # Who wants each place (a namesake of unknown whereabouts makes the place undecidable).
    wanted_by: dict[object, list[tuple[str, object]]] = {}
    options: dict[str, list[tuple[float, object, pd.Series]]] = {}
    for row in pairs.itertuples(index=False):
        wanted_by.setdefault(row.place, []).append((row.settlement_code, row.rd))
        if isinstance(row.rd, str) and row.rd in centres:
            cx, cy = centres[row.rd]
            options.setdefault(row.settlement_code, []).append(
                (float(np.hypot(row.x - cx, row.y - cy)), row.place, row)
            )

    out = []
    taken: set[object] = set()
    done: set[str] = set()
    for _ in range(3):
        changed = False
        for code in sorted(options):
            if code in done:
                continue
            opts = sorted((o for o in options[code] if o[1] not in taken), key=lambda o: o[0])
            if not opts:
                continue
            d, place, row = opts[0]
            if d > limits[row.rd] or (len(opts) > 1 and opts[1][0] < TIEBREAK_RATIO * max(d, 1.0)):
                continue
            rivals = [(c, r) for c, r in wanted_by[place] if c != code and c not in done]
            if any(not isinstance(r, str) or r == row.rd or r not in centres for _, r in rivals):
                continue
            if any(
                np.hypot(centres[str(r)][0] - row.x, centres[str(r)][1] - row.y)
                < TIEBREAK_RATIO * max(d, 1.0)
                for _, r in rivals
            ):
                continue
            out.append(row)
            taken.add(place)
            done.add(code)
            changed = True
        if not changed:
            break
    if not out:
        return contested.iloc[0:0][cols]
    return pd.DataFrame(out)[cols].reset_index(drop=True)


def _result_frame(
    settlements: pd.DataFrame, matched: pd.DataFrame, contested: pd.DataFrame, places: pd.DataFrame
) -> pd.DataFrame:
    res = pd.DataFrame(index=pd.Index(settlements["settlement_code"].to_numpy(), name="settlement_code"))
    m = matched.drop_duplicates("settlement_code").set_index("settlement_code")
    res["place"] = m["place"]
    res["method"] = m["method"]
    res["confidence"] = m["method"].map(CONFIDENCE)
    name = places["name_fa"].where(places["name_fa"].notna() & (places["name_fa"] != ""), places["name_en"])
    res["place_name"] = res["place"].map(name)
    res["outside_m"] = m["outside_m"]
    res["status"] = np.where(res["place"].notna(), "matched", "unmatched")
    amb = contested[~contested["settlement_code"].isin(m.index)]
    if len(amb):
        listed = amb.drop_duplicates(["settlement_code", "place"]).assign(
            label=lambda f: f["place"].astype(str) + ":" + f["place"].map(name).fillna("").astype(str)
        )
        cands = listed.groupby("settlement_code")["label"].agg(lambda s: ";".join(sorted(s)))
        res["candidates"] = cands
        res.loc[res.index.isin(cands.index), "status"] = "ambiguous"
    else:
        res["candidates"] = None
    return res


# --------------------------------------------------------------------------------------------
# Points for what is not matched
# --------------------------------------------------------------------------------------------


def approximate_positions(
    settlements: pd.DataFrame,
    known: gpd.GeoSeries,
    counties: gpd.GeoDataFrame,
    *,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Approximate points for settlements without a real one, near the real ones of their unit.

    Each settlement without a point goes near the real points of its rural district (دهستان);
    where none of its rural district is known, near those of its district (بخش: the first six
    digits of the rural district code, or of a city's code); else near those of its county; else
    at a point inside the county. The offset is drawn (deterministically from ``seed`` and the
    settlement code) from a normal with the unit's own spread, kept inside the county.

    Parameters
    ----------
    settlements
        ``settlement_code``, ``county_code``, ``rural_district_code``.
    known
        Real points, indexed by ``settlement_code`` (storage CRS).
    counties
        ``county_code`` and polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by the settlement codes that had no point: ``placed_by`` (rural_district,
        district, county) and the point (storage CRS).
    """
    todo = settlements[~settlements["settlement_code"].isin(known.index)]
    if todo.empty:
        return gpd.GeoDataFrame({"placed_by": []}, geometry=[], crs=STORAGE_CRS)
    km = known.to_crs(METRIC_CRS)
    k = pd.DataFrame({"x": km.x.to_numpy(), "y": km.y.to_numpy()}, index=km.index)
    info = settlements.set_index("settlement_code")
    k["county"] = info["county_code"].reindex(k.index).to_numpy()
    k["rural_district"] = info["rural_district_code"].reindex(k.index).to_numpy()
    k["district"] = _district_of(info.reindex(k.index))

    t = todo.set_index("settlement_code")
    t = t.assign(rural_district=t["rural_district_code"], district=_district_of(t), county=t["county_code"])
    cx = pd.Series(np.nan, index=t.index)
    cy = pd.Series(np.nan, index=t.index)
    sigma = pd.Series(np.nan, index=t.index)
    placed_by = pd.Series(None, index=t.index, dtype="object")
    for level in ("rural_district", "district", "county"):
        g = k.dropna(subset=[level]).groupby(level)
        centre = g[["x", "y"]].median()
        d2 = (k[["x", "y"]] - centre.reindex(k[level]).to_numpy()).pow(2).sum(axis=1)
        spread = np.sqrt(d2.groupby(k[level]).mean())
        free = placed_by.isna() & t[level].isin(centre.index)
        keys = t.loc[free, level]
        cx[free] = centre["x"].reindex(keys).to_numpy()
        cy[free] = centre["y"].reindex(keys).to_numpy()
        sigma[free] = np.clip(spread.reindex(keys).fillna(0.0).to_numpy(), 1_000.0, 8_000.0)
        placed_by[free] = level
    polys = counties[["county_code", "geometry"]].to_crs(METRIC_CRS).set_index("county_code").geometry
    x = np.empty(len(t))
    y = np.empty(len(t))
    pos = pd.Series(np.arange(len(t)), index=t.index)
    for code, idx in t.groupby("county_code").groups.items():
        poly = polys[code]
        shapely.prepare(poly)
        i = pos[idx].to_numpy()
        none = placed_by.iloc[i].isna().to_numpy()
        if none.any():  # nothing of this county is known: around a point inside it
            p = shapely.point_on_surface(poly)
            cx.iloc[i[none]], cy.iloc[i[none]], sigma.iloc[i[none]] = p.x, p.y, 3_000.0
            placed_by.iloc[i[none]] = "county"
        # One random stream per county: a county's points do not move when another's input does.
        rng = np.random.default_rng([seed, int(code)])
        centres = np.column_stack([cx.iloc[i].to_numpy(), cy.iloc[i].to_numpy()])
        s = sigma.iloc[i].to_numpy()
        # Still outside after the draws: the centre if it is inside, else a point inside the county.
        fallback = centres.copy()
        outside = ~shapely.contains_xy(poly, centres[:, 0], centres[:, 1])
        if outside.any():
            p = shapely.point_on_surface(poly)
            fallback[outside] = (p.x, p.y)
        out = sample_inside(rng, poly, centres, s, fallback=fallback)
        x[i], y[i] = out[:, 0], out[:, 1]
    return gpd.GeoDataFrame(
        {"placed_by": placed_by.to_numpy()}, geometry=gpd.points_from_xy(x, y), crs=METRIC_CRS, index=t.index
    ).to_crs(STORAGE_CRS)


def _district_of(frame: pd.DataFrame) -> pd.Series:
    """The district (بخش) code of each settlement: 6 digits of its rural district or city code."""
    rd = (
        frame["rural_district_code"] if "rural_district_code" in frame else pd.Series(None, index=frame.index)
    )
    code = pd.Series(frame.index.astype(str), index=frame.index)
    out = rd.where(rd.notna(), code)
    return out.map(lambda c: c[:6] if isinstance(c, str) and len(c) >= 6 else None)
