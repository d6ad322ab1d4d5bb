import pandas as pd
import pytest

from geo.names import match_names, normalize_name


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("كرمانشاه", "کرمانشاه"),  # Arabic kaf
        ("ميانه", "میانه"),  # Arabic yeh
        ("بندر ماهشهر", "بندرماهشهر"),  # spaces
        ("اسلام‌آباد غرب", "اسلام آباد غرب"),  # ZWNJ against space
        ("اسلام‌آباد غرب", "اسلامآبادغرب"),
        ("قَصَبِهِ", "قصبه"),  # diacritics
        ("آبادان", "ابادان"),  # alef madda
        ("أهواز", "اهواز"),  # hamza on alef
        ("ئیلام", "ایلام"),  # Kurdish spelling with initial hamza seat
        ("رضوانشهر", "رضوان\u200cشهر"),
        ("شهرستان آبادان", "آبادان"),  # the county prefix
        ("شهرستان‌آبادان", "آبادان"),  # prefix glued with ZWNJ
        ("استان تهران", "تهران"),
        ("شهرستان ویژه تهران", "تهران"),
        ("چاه‌بهار", "چابهار"),  # alias
        ("چاه بهار", "چابهار"),
        ("بینالود", "طرقبه شاندیز"),  # alias
        ("شهرستان بینالود", "طرقبه‌شاندیز"),
        ("منطقه ۱۲", "منطقه 12"),  # Persian digits
        ("بابل\u200f", "بابل"),  # a stray right-to-left mark
    ],
)
def test_same_place_same_key(a, b):
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("شهربابک", "بابک"),  # a leading «شهر» is part of the name
        ("شهرکرد", "کرد"),
        ("آستانه اشرفیه", "اشرفیه"),  # «استان» letters inside a word are not a prefix
        ("کرج", "کرخ"),
        ("بم", "بمپور"),
    ],
)
def test_different_places_different_keys(a, b):
    assert normalize_name(a) != normalize_name(b)


def test_shahr_babak_keeps_its_shahr():
    assert normalize_name("شهرستان شهربابک") == normalize_name("شهربابک") == "شهربابک"


def test_empty_and_missing_names():
    assert normalize_name(None) == ""
    assert normalize_name("  ") == ""


def test_match_names_statuses_and_groups():
    left = pd.Series(["كرج", "علی آباد", "بم", "تبریز"], index=["a", "b", "c", "d"])
    right = pd.Series(["کرج", "علی‌آباد", "علي اباد", "بم", "تبریز"], index=[1, 2, 3, 4, 5])
    left_group = pd.Series(["30", "30", "08", "03"], index=left.index)
    right_group = pd.Series(["30", "30", "30", "30", "03"], index=right.index)
    m = match_names(left, right, left_group, right_group)
    assert m.loc["a", "status"] == "matched" and m.loc["a", "right"] == 1
    assert m.loc["b", "status"] == "ambiguous" and pd.isna(m.loc["b", "right"])
    # بم exists on the right, but in another province.
    assert m.loc["c", "status"] == "unmatched"
    assert m.loc["d", "right"] == 5


@pytest.mark.realdata
def test_county_matcher_equals_the_crosswalk(reference, data_dir):
    from geo.admin import match_counties, province_code_from_iso

    osm = reference.counties.assign(province_code=province_code_from_iso(reference.counties["iso_province"]))
    result = match_counties(reference.official.counties, osm)
    crosswalk = pd.read_csv(data_dir / "county_crosswalk.csv", dtype={"sci_code": str})
    expected = crosswalk.set_index("sci_code")["osm_rel_id"].astype("Int64")
    got = result.set_index("county_code")["osm_rel_id"].reindex(expected.index)
    assert (result["status"] == "matched").sum() >= 447
    pd.testing.assert_series_equal(got, expected, check_names=False)
    unmatched = reference.official.counties.loc[result["status"] != "matched", "name"].tolist()
    assert unmatched == ["پلدختر"]
