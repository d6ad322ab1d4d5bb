"""The settlement matcher (``geo.gazetteer``) on hand-built counties whose answers are known.

Two square counties side by side, 0.5° each, with rural districts whose villages lie in known
corners; gazetteer places are put where the answer needs them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, box

from demo.national import snap_places_to_counties
from geo.crs import STORAGE_CRS
from geo.gazetteer import (
    approximate_positions,
    duplicate_places,
    latin_skeleton,
    match_settlements,
    name_key,
    name_variants,
    persian_skeleton,
    within_one_edit,
)


def counties() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"county_code": ["0001", "0002"], "name_fa": ["اراک", "کمیجان"]},
        geometry=[box(50.0, 34.0, 50.5, 34.5), box(50.5, 34.0, 51.0, 34.5)],
        crs=STORAGE_CRS,
    )


def official(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(code, name, kind) → the official list; a village's rural district is its first 10 digits."""
    return pd.DataFrame(
        {
            "settlement_code": [c for c, _, _ in rows],
            "name_fa": [n for _, n, _ in rows],
            "kind": [k for _, _, k in rows],
            "county_code": [c[:4] for c, _, _ in rows],
            "province_code": "00",
            "rural_district_code": [c[:10] if k == "village" else None for c, _, k in rows],
        }
    )


def gazetteer(
    rows: list[tuple[int, str, float, float]], latin: dict[int, str] | None = None
) -> gpd.GeoDataFrame:
    latin = latin or {}
    return gpd.GeoDataFrame(
        {
            "name_fa": [n for _, n, _, _ in rows],
            "names_fa_all": [None] * len(rows),
            "name_en": [latin.get(i, "") for i, _, _, _ in rows],
            "names_latin_all": [None] * len(rows),
            "coord_decimals": 5,
            "geonames_id": np.nan,
        },
        geometry=[Point(x, y) for _, _, x, y in rows],
        index=pd.Index([i for i, _, _, _ in rows], name="wof_id"),
        crs=STORAGE_CRS,
    )


def village(county: str, rd: int, n: int) -> str:
    return f"{county}0101{rd:02d}{n:06d}"


def status(result, code):
    return result.settlements.loc[code]


# ------------------------------------------------------------------------------------------
# Names
# ------------------------------------------------------------------------------------------


def test_letter_and_spacing_variants_share_a_key():
    assert name_key("علی اباد") == name_key("عليآباد") == name_key("علی‌آباد")
    assert name_key("نساء") == name_key("نسا")
    assert name_key("كلاته سيّد") == name_key("کلاته سید")


def test_qualifier_number_and_prefix_variants():
    assert name_key("حسن آباد علیا") in name_variants("حسن آباد بالا")
    assert name_key("حسن آباد سفلی") in name_variants("حسن‌آباد پایین")
    assert name_key("چاه 2") in name_variants("چاه دو")
    assert name_key("نو") in name_variants("ده نو")
    # A bracketed alternative is a name of its own.
    assert name_key("(اسلامیه)") == name_key("اسلامیه")
    assert name_key("کلوییم") in name_variants("(کلوییم)کلوییم")
    # A farm's name is not the village's.
    assert name_key("رضوان") not in name_variants("مزرعه رضوان")


def test_latin_skeletons_meet_the_persian_ones():
    assert latin_skeleton("Ḩasanābād") == persian_skeleton("حسن آباد") == "hsnbd"
    assert latin_skeleton("Qal`eh-ye Now") == persian_skeleton("قلعه نو")
    assert latin_skeleton("Khoshab") == persian_skeleton("خوشاب")
    assert latin_skeleton("Jālq") != persian_skeleton("خوشاب")
    assert persian_skeleton("چاه 2") == ""  # numbered names are not matched by sound


def test_one_edit():
    assert within_one_edit("abcde", "abxde")
    assert within_one_edit("abcde", "abde")
    assert within_one_edit("abcde", "abdce")
    assert not within_one_edit("abcde", "axcye")
    assert not within_one_edit("abc", "bca")


# ------------------------------------------------------------------------------------------
# Matching
# ------------------------------------------------------------------------------------------


def cluster(county: str, rd: int, centre: tuple[float, float], names: list[str], first_id: int):
    """Villages of one rural district and their gazetteer places, around ``centre``."""
    off = [(0.01 * (i % 3), 0.01 * (i // 3)) for i in range(len(names))]
    vil = [(village(county, rd, i + 1), n, "village") for i, n in enumerate(names)]
    pl = [
        (first_id + i, n, centre[0] + dx, centre[1] + dy)
        for i, (n, (dx, dy)) in enumerate(zip(names, off, strict=True))
    ]
    return vil, pl


def test_unique_names_match_exactly_and_a_farm_stays_unmatched():
    vil, pl = cluster("0001", 1, (50.1, 34.1), ["اورین", "گلستان", "کوشک"], 100)
    vil.append((village("0001", 1, 9), "پاسگاه مرزی چشمه", "village"))
    pl.append((200, "چشمه", 50.12, 34.12))
    result = match_settlements(official(vil), gazetteer(pl), counties())
    r = result.settlements
    assert (r.loc[[v[0] for v in vil[:3]], "method"] == "exact").all()
    assert r.loc[[v[0] for v in vil[:3]], "place"].tolist() == [100, 101, 102]
    assert r.loc[village("0001", 1, 9), "status"] == "unmatched"
    assert 200 in result.unofficial


def test_a_place_in_another_county_is_not_a_candidate():
    vil = [(village("0001", 1, 1), "اورین", "village")]
    pl = [(1, "اورین", 50.8, 34.2)]  # inside county 0002, far from its border
    r = match_settlements(official(vil), gazetteer(pl), counties()).settlements
    assert r.iloc[0]["status"] == "unmatched"


def test_namesakes_in_one_county_are_told_apart_by_their_rural_districts():
    # Rural district 1 lies in the south-west corner, 2 in the north-east; each has a
    # «حسن آباد», and the gazetteer has one near each corner.
    v1, p1 = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان", "کوشک"], 100)
    v2, p2 = cluster("0001", 2, (50.4, 34.4), ["بیدک", "سرخه", "تازه کند"], 200)
    v1.append((village("0001", 1, 8), "حسن آباد", "village"))
    v2.append((village("0001", 2, 8), "حسن آباد", "village"))
    pl = [*p1, *p2, (301, "حسن‌آباد", 50.07, 34.04), (302, "حسن آباد", 50.42, 34.41)]
    r = match_settlements(official(v1 + v2), gazetteer(pl), counties()).settlements
    assert r.loc[village("0001", 1, 8), "place"] == 301
    assert r.loc[village("0001", 2, 8), "place"] == 302
    assert (r.loc[[village("0001", 1, 8), village("0001", 2, 8)], "method"] == "rural_district").all()


def test_namesakes_stay_ambiguous_when_nothing_tells_them_apart():
    # Two «حسن آباد» in one rural district and two places: no guess, both candidates listed.
    v, p = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان"], 100)
    v += [(village("0001", 1, 8), "حسن آباد", "village"), (village("0001", 1, 9), "حسن آباد", "village")]
    p += [(301, "حسن آباد", 50.06, 34.08), (302, "حسن آباد", 50.2, 34.2)]
    r = match_settlements(official(v), gazetteer(p), counties()).settlements
    for code in (village("0001", 1, 8), village("0001", 1, 9)):
        assert r.loc[code, "status"] == "ambiguous"
        assert pd.isna(r.loc[code, "place"])
        assert "301:" in r.loc[code, "candidates"] and "302:" in r.loc[code, "candidates"]


def test_a_namesake_goes_to_its_own_rural_district_not_the_neighbouring_one():
    # Only rural district 1 lists «کلاته نو»; the gazetteer has one near rural district 1 and
    # one near rural district 2 (the neighbour's hamlet that the official list names otherwise).
    v1, p1 = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان", "کوشک"], 100)
    v2, p2 = cluster("0001", 2, (50.4, 34.4), ["بیدک", "سرخه", "تازه کند"], 200)
    v1.append((village("0001", 1, 8), "کلاته نو", "village"))
    pl = [*p1, *p2, (301, "کلاته نو", 50.06, 34.07), (302, "کلاته نو", 50.41, 34.42)]
    r = match_settlements(official(v1 + v2), gazetteer(pl), counties()).settlements
    assert r.loc[village("0001", 1, 8), "place"] == 301


def test_one_place_is_never_given_to_two_settlements():
    v, p = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان"], 100)
    v += [(village("0001", 1, 8), "علی آباد", "village"), (village("0001", 1, 9), "عليآباد", "village")]
    p.append((301, "علی‌آباد", 50.06, 34.06))
    result = match_settlements(official(v), gazetteer(p), counties())
    places = result.settlements["place"].dropna()
    assert places.is_unique
    assert 301 not in places.to_numpy()


def test_latin_names_and_one_edit_need_their_rural_district_nearby():
    v, p = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان", "کوشک"], 100)
    v += [
        (village("0001", 1, 7), "خوشاب", "village"),  # the gazetteer has only a Latin name
        (village("0001", 1, 8), "قلعه سرخ", "village"),  # one letter apart from the gazetteer's
    ]
    p += [(301, "", 50.07, 34.06), (302, "قلعه سرح", 50.06, 34.08)]
    # Far from rural district 1 (30 km): a Latin namesake that must not be taken.
    v.append((village("0001", 1, 9), "بیدستان", "village"))
    p.append((303, "", 50.45, 34.45))
    r = match_settlements(
        official(v), gazetteer(p, latin={301: "Khvoshāb", 303: "Bīdestān"}), counties()
    ).settlements
    assert r.loc[village("0001", 1, 7), ["place", "method"]].tolist() == [301, "latin"]
    assert r.loc[village("0001", 1, 8), ["place", "method"]].tolist() == [302, "fuzzy"]
    assert r.loc[village("0001", 1, 9), "status"] == "unmatched"


def test_a_town_goes_before_a_village_of_its_name():
    rows = [("0001010001", "کوشک", "city"), (village("0001", 1, 1), "کوشک", "village")]
    pl = [(1, "کوشک", 50.2, 34.2)]
    r = match_settlements(official(rows), gazetteer(pl), counties()).settlements
    assert r.loc["0001010001", "place"] == 1
    assert r.loc[village("0001", 1, 1), "status"] != "matched"


def test_places_listed_twice_are_one_place():
    pl = gazetteer([(1, "اورین", 50.1, 34.1), (2, "اُورین", 50.105, 34.1), (3, "اورین", 50.4, 34.4)])
    dup = duplicate_places(pl)
    assert dup.to_dict() == {2: 1}


# ------------------------------------------------------------------------------------------
# An island county and the points of what is not matched
# ------------------------------------------------------------------------------------------


def island_counties() -> gpd.GeoDataFrame:
    mainland = box(50.0, 34.0, 50.5, 34.5)
    island = box(50.2, 33.5, 50.25, 33.55)  # 50 km south of the mainland
    return gpd.GeoDataFrame(
        {"county_code": ["0001", "0002"]},
        geometry=[MultiPolygon([mainland, island]), box(50.5, 34.0, 51.0, 34.5)],
        crs=STORAGE_CRS,
    )


def test_an_island_town_just_off_its_clipped_coast_keeps_its_point():
    town = Point(50.2255, 33.5565)  # about 700 m north of the island's clipped outline
    places = gpd.GeoDataFrame({"name": ["Kish"], "population": [40_000]}, geometry=[town], crs=STORAGE_CRS)
    snapped = snap_places_to_counties(places, island_counties())
    assert snapped.geometry.iloc[0].distance(town) < 1e-9
    rows = [("0001010001", "کیش", "city")]
    r = match_settlements(
        official(rows), gazetteer([(1, "کیش", town.x, town.y)]), island_counties()
    ).settlements
    assert r.loc["0001010001", "place"] == 1
    assert 0 < r.loc["0001010001", "outside_m"] < 2_000


def test_an_island_town_farther_off_moves_onto_its_island_not_the_mainland():
    town = Point(50.225, 33.6)  # about 5.5 km north of the island
    places = gpd.GeoDataFrame({"name": ["Kish"], "population": [40_000]}, geometry=[town], crs=STORAGE_CRS)
    moved = snap_places_to_counties(places, island_counties()).geometry.iloc[0]
    assert box(50.2, 33.5, 50.25, 33.55).contains(moved)


def test_unmatched_villages_go_near_their_rural_district():
    v1, p1 = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان", "کوشک"], 100)
    v2, p2 = cluster("0001", 2, (50.4, 34.4), ["بیدک", "سرخه", "تازه کند"], 200)
    lost = [(village("0001", 1, 9), "مزرعه ناپیدا", "village"), (village("0001", 3, 1), "پاسگاه", "village")]
    s = official(v1 + v2 + lost)
    known = gpd.GeoSeries(
        [Point(x, y) for _, _, x, y in p1 + p2], index=[c for c, _, _ in v1 + v2], crs=STORAGE_CRS
    )
    out = approximate_positions(s, known, counties(), seed=1)
    assert set(out.index) == {c for c, _, _ in lost}
    a = out.loc[village("0001", 1, 9)]
    assert a["placed_by"] == "rural_district"
    assert a.geometry.distance(Point(50.06, 34.055)) < 0.15  # near rural district 1, not 2
    # Rural district 3 has nothing known: its district (the same first six digits) then.
    assert out.loc[village("0001", 3, 1), "placed_by"] == "district"
    assert counties().geometry.iloc[0].contains(out.geometry).all()
    # Deterministic.
    again = approximate_positions(s, known, counties(), seed=1)
    assert again.geometry.geom_equals(out.geometry).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_approximate_points_stay_inside_their_county(seed):
    vil = [(village("0001", 1, i), f"ده {i}", "village") for i in range(1, 40)]
    known = gpd.GeoSeries([Point(50.01, 34.01)], index=[vil[0][0]], crs=STORAGE_CRS)  # in a corner
    out = approximate_positions(official(vil), known, counties(), seed=seed)
    assert counties().geometry.iloc[0].contains(out.geometry).all()


# ------------------------------------------------------------------------------------------
# Real positions: the gazetteer, the GeoNames cities and an administrator's corrections
# ------------------------------------------------------------------------------------------


def cities500(rows: list[tuple[int, str, str, int, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "geonameid": [g for g, _, _, _, _, _ in rows],
            "name_fa": [fa for _, fa, _, _, _, _ in rows],
            "name": [en for _, _, en, _, _, _ in rows],
            "population": [p for _, _, _, p, _, _ in rows],
        },
        geometry=[Point(x, y) for *_, x, y in rows],
        crs=STORAGE_CRS,
    )


def test_real_positions_with_corrections_and_the_report(tmp_path):
    from demo.national import match_summary, read_corrections, real_positions
    from services.settlements import write_match_report

    v, p = cluster("0001", 1, (50.05, 34.05), ["اورین", "گلستان", "کوشک"], 100)
    rows = [("0001010001", "اراک", "city"), *v, (village("0001", 1, 9), "مزرعه گمشده", "village")]
    gaz = gazetteer([*p, (300, "اراک", 50.3, 34.3)])
    gaz.loc[300, "geonames_id"] = 1001.0
    cities = cities500([(1001, "اراک", "Arak", 520_944, 50.301, 34.301)])
    path = tmp_path / "corrections.csv"
    path.write_text(
        "# notes\nsettlement_code,lon,lat,gazetteer_id\n"
        f"{village('0001', 1, 9)},50.11,34.12,\n{village('0001', 1, 2)},,,102\n",
        encoding="utf-8",
    )
    real = real_positions(official(rows), counties(), gaz, cities, read_corrections(path))
    pts = real.points
    assert pts.loc["0001010001", "position_source"] == "gazetteer"
    assert pts.loc["0001010001", "known_population"] == 520_944  # the same GeoNames place
    assert real.geonames_agreement == 1.0
    fixed = pts.loc[village("0001", 1, 9)]
    assert fixed["position_source"] == "correction" and fixed.geometry.equals(Point(50.11, 34.12))
    # A correction by gazetteer id: گلستان takes the place of کوشک.
    assert pts.loc[village("0001", 1, 2), "gazetteer_id"] == 102
    report = real.report.set_index("settlement_code")
    assert report.loc[village("0001", 1, 9), "method"] == "correction"
    assert match_summary(real.report).loc["all", "matched"] == 5
    out = tmp_path / "report.xlsx"
    write_match_report(real.report, out, unofficial=0)
    book = pd.read_excel(out, sheet_name=None, dtype=str)
    assert set(book) == {"provinces", "settlements"}
    assert len(book["settlements"]) == len(rows)


def test_a_far_cities500_point_wins_over_a_gazetteer_namesake(tmp_path):
    from demo.national import read_corrections, real_positions

    rows = [("0001010001", "کوشک", "city")]
    gaz = gazetteer([(1, "کوشک", 50.05, 34.05)])
    cities = cities500([(7, "کوشک", "Kushk", 40_000, 50.4, 34.4)])
    real = real_positions(official(rows), counties(), gaz, cities, read_corrections(None))
    pt = real.points.loc["0001010001"]
    assert pt["position_source"] == "geonames" and pt["geonameid"] == 7
    assert real.geonames_agreement == 0.0


@pytest.mark.parametrize(
    "body",
    [
        "settlement_code,lon,lat\n0001010001,10,10\n",  # outside Iran
        "settlement_code,lon,lat\nabc,50,34\n",  # not a code
        "settlement_code,lon,lat\n0001010001,,\n",  # neither point nor id
        "code,x,y\n0001010001,50,34\n",  # wrong columns
    ],
)
def test_a_bad_corrections_file_is_refused_with_its_lines(tmp_path, body):
    from demo.national import read_corrections
    from geo.errors import ReferenceDataError

    path = tmp_path / "c.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"c\.csv"):
        read_corrections(path)
