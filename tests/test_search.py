"""The place search of the map pages (``maps.search``): official places first, then the
gazetteer's places outside the official list, labelled as such."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.search import latin_digits, search_index, search_key, search_places
from tests.conftest import examples


def frames():
    provinces = pd.DataFrame(
        {"province_code": ["00"], "name_fa": ["مرکزی"], "name_en": ["Markazi"], "population": [1_400_000]}
    )
    counties = pd.DataFrame(
        {
            "county_code": ["0001"],
            "province_code": ["00"],
            "name_fa": ["اراک"],
            "name_en": ["Arak"],
            "population": [590_000],
        }
    )
    settlements = pd.DataFrame(
        {
            "settlement_code": ["0001010001", "0001010001000001"],
            "county_code": ["0001", "0001"],
            "name_fa": ["اراک", "کرهرود"],
            "name_en": ["Arak", None],
            "population": [520_000, 900],
        }
    )
    places = pd.DataFrame(
        {
            "gazetteer_id": [1225885345, 421187649],
            "county_code": ["0001", None],
            "province_code": ["00", None],
            "name_fa": ["کرهرود سفلی", None],
            "name_en": ["Karahrud-e Sofla", "Senijan"],
        }
    )
    return provinces, counties, settlements, places


def test_unofficial_places_come_after_the_official_ones():
    hits = search_places("كرهرود", search_index(*frames()))  # Arabic kaf, as a keyboard may type it
    assert [h["kind"] for h in hits] == ["settlement", "place"]
    place = hits[1]
    assert place["code"] == "1225885345" and place["province_code"] == "00" and place["population"] == 0


def test_a_place_with_only_a_latin_name_is_found():
    hits = search_places("senij", search_index(*frames()))
    assert len(hits) == 1 and hits[0]["kind"] == "place" and hits[0]["name_fa"] == ""
    assert hits[0]["province_code"] is None


def test_without_gazetteer_places_the_search_still_works():
    provinces, counties, settlements, _ = frames()
    hits = search_places("اراک", search_index(provinces, counties, settlements))
    assert [h["kind"] for h in hits] == ["county", "settlement"]
    assert hits[0]["province_code"] == "00"


def folded_step_by_step(text) -> str:
    """The search key as its rules say, one rule after the other (the fast fold is held to it)."""
    if not isinstance(text, str):
        return ""
    text = latin_digits(text)
    for arabic, persian in {
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
        "ة": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ۀ": "ه",
    }.items():
        text = text.replace(arabic, persian)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))  # diacritics
    text = re.sub("[\u200c\u200d\u064b-\u065f\u0670\u0640]", "", text)  # ZWNJ, ZWJ, harakat, tatweel
    return re.sub(r"[\s\-\u200c]+", "", text)


TEXTS = st.text(
    st.one_of(
        st.characters(min_codepoint=0x600, max_codepoint=0x6FF),  # Arabic script
        st.characters(min_codepoint=0x300, max_codepoint=0x36F),  # Latin diacritics
        st.sampled_from(" \t\u00a0\u2003\u200c\u200d-ـÀÉöçßİﻻ۰۱۹٫٬"),
        st.characters(),
    ),
    max_size=16,
)


@settings(max_examples=examples(400), deadline=None)
@given(text=TEXTS)
def test_the_search_key_folds_by_its_rules(text):
    assert search_key(text) == folded_step_by_step(text)


def test_names_are_folded_alike_typed_either_way():
    assert search_key("علي‌آباد كهنه") == search_key("علی آباد-کهنه") == "علیابادکهنه"
    assert search_key("Karahrūd-e Soflā") == "karahrudesofla"
    assert search_key("۱۲۳٫۵") == "123.5" and search_key(None) == ""
    index = search_index(*frames())
    assert index["settlement"]["key_en"].tolist() == ["arak", ""]
