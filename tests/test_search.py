"""The place search of the map pages (``maps.search``): official places first, then the
gazetteer's places outside the official list, labelled as such."""

from __future__ import annotations

import pandas as pd

from maps.search import search_index, search_places


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
