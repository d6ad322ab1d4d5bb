"""GeoNames places into official settlements: known faults dropped, large places not taken as
villages on their Persian name alone."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from demo.national import LARGE_PLACE_VILLAGE_CHECK, match_places
from demo.sources import FAULTY_PLACES, drop_faulty_places
from geo.names import initials_agree


@pytest.mark.parametrize(
    ("fa", "latin", "agree"),
    [
        ("اورین", "Ovrīn", True),
        ("سعیداباد", "Sa‘īdābād", True),
        ("خاورشهر", "Khāvar Shahr", True),
        ("الارد", "Ālārd", True),
        ("شهرک مهندسی زراعی", "Shahrak-e Mohandesī-ye Zerā‘ī", True),
        ("مراغه", "Marāgheh", True),
        ("خوشاب", "Jālq", False),
        ("جالق", "Khūshāb", False),
        ("خوشاب", None, True),
    ],
)
def test_initials_agree(fa, latin, agree):
    assert initials_agree(fa, latin) is agree


def world(population: int) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    counties = gpd.GeoDataFrame(
        {"county_code": ["1106"], "name_fa": ["سراوان"]}, geometry=[box(62, 27, 63, 28)], crs=4326
    )
    settlements = pd.DataFrame(
        {
            "settlement_code": ["1106000001", "1106010001414117", "1106010001414118"],
            "kind": ["city", "village", "village"],
            "name_fa": ["جالق", "خوشاب", "اورین"],
            "county_code": "1106",
        }
    )
    places = gpd.GeoDataFrame(
        {
            "geonameid": [1160907, 2],
            "name": ["Jālq", "Ovrīn"],
            "name_fa": ["خوشاب", "اورین"],
            "population": [population, population],
        },
        geometry=[Point(62.71, 27.60), Point(62.5, 27.5)],
        crs=4326,
    )
    return places, settlements, counties


def test_a_large_place_is_not_a_village_on_its_persian_name_alone():
    places, settlements, counties = world(18_098)
    pairs = match_places(places, settlements, counties).set_index("geonameid")["settlement_code"]
    assert 1160907 not in pairs.index  # Jālq is not the village خوشاب
    assert pairs[2] == "1106010001414118"  # Ovrīn is the village اورین: both names agree


def test_a_small_place_is_matched_by_its_persian_name():
    places, settlements, counties = world(LARGE_PLACE_VILLAGE_CHECK - 1)
    pairs = match_places(places, settlements, counties).set_index("geonameid")["settlement_code"]
    assert pairs[1160907] == "1106010001414117"


def test_known_faulty_places_are_dropped():
    places = pd.DataFrame({"geonameid": [124877, 124878, 7], "name_fa": ["مراغه", "مراغه", "تبریز"]})
    assert drop_faulty_places(places)["geonameid"].tolist() == [124877, 7]
    assert 124878 in FAULTY_PLACES


def test_the_reference_places_hold_one_maragheh(reference):
    maragheh = reference.places[reference.places["name_fa"] == "مراغه"]
    assert maragheh["geonameid"].tolist() == [124877]
    assert maragheh.geometry.iloc[0].y == pytest.approx(37.39, abs=0.01)  # East Azerbaijan
