"""The volunteer network, pure part: the specialities and factors in the norms, where a group
counts, the places its members supply and the totals that split back into their parts, on a
world built by hand (figures computed on paper)."""

from __future__ import annotations

import copy
import tomllib

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import ConfigurationError
from geo.norms import Norms
from geo.volunteers import (
    capacity_words,
    county_summary,
    county_volunteer_capacity,
    group_places,
    located_supply,
    member_places,
    network_totals,
    volunteer_supply,
)
from tests import analysis_world as world
from tests.conftest import examples


def _raw() -> dict:
    return tomllib.loads((world.ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))


def _vnorms(**changes):
    raw = _raw()
    raw["volunteers"].update(changes)
    v = Norms.from_dict(raw).volunteers
    assert v is not None
    return v


def groups(rows) -> pd.DataFrame:
    """rows: (group_id, county, settlement or None, point or None, speciality, members, active)."""
    return pd.DataFrame(
        [
            {
                "group_id": g,
                "name_fa": f"گروه {g}",
                "county_code": c,
                "settlement_code": s,
                "speciality": sp,
                "members": m,
                "active": a,
                "province_code": "00",
                "synthetic": False,
                "lon": None if p is None else p[0],
                "lat": None if p is None else p[1],
            }
            for g, c, s, p, sp, m, a in rows
        ],
        columns=[
            "group_id", "name_fa", "county_code", "settlement_code", "speciality", "members",
            "active", "province_code", "synthetic", "lon", "lat",
        ],
    )  # fmt: skip


# Two villages: S0000 in county 0001 at (49.5, 34.5), S0001 in county 0002 at (50.5, 34.5).
SETTLEMENTS = world.settlements([(49.5, 34.5), (50.5, 34.5)], [10_000, 1_000])

# G1 at village S0000: 3 doctors, 5 psychologists. G2 a point in 0002: 7 general, 2 doctors.
# G3 county 0001 only: 4 social workers. G4 inactive at S0001: 10 doctors.
WORLD = groups(
    [
        ("G1", "0001", "S0000", None, "doctor", 3, True),
        ("G1", "0001", "S0000", None, "psychologist", 5, True),
        ("G2", "0002", None, (50.7, 34.2), "general", 7, True),
        ("G2", "0002", None, (50.7, 34.2), "doctor", 2, True),
        ("G3", "0001", None, None, "social_worker", 4, True),
        ("G4", "0002", "S0001", None, "doctor", 10, False),
    ]
)


# ---- the norms -------------------------------------------------------------------------------


def test_the_shipped_specialities_are_read_off_by_default_and_say_they_are_synthetic():
    text = (world.ROOT / "config" / "norms.toml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text.split("[volunteers]")[0].rsplit("# The volunteer network", 1)[1]
    norms = Norms.from_dict(_raw())
    v = norms.volunteers
    assert v is not None and v.synthetic is True and v.count_as_supply is False
    assert norms.counts_volunteers is False
    assert v.codes == (
        "doctor",
        "psychologist",
        "social_worker",
        "rehabilitation_therapist",
        "facilitator",
        "general",
    )
    assert all(s.fa and s.en and s.places for s in v.specialities.values())
    assert v.factor("doctor", "home_care") == 1.0
    assert v.factor("doctor", "kindergarten") == 0.0  # not supplied
    assert v.factor("astronaut", "home_care") == 0.0
    assert "synthetic" in v.label("2026.1")


def test_a_norms_file_without_volunteers_counts_none():
    raw = _raw()
    del raw["volunteers"]
    norms = Norms.from_dict(raw)
    assert norms.volunteers is None and norms.counts_volunteers is False


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"colour": "red"}, "unknown entries ['colour']"),
        ({"specialities": {}}, "[volunteers.specialities.<speciality>]"),
        ({"count_as_supply": "yes"}, "volunteers.count_as_supply must be true or false"),
        ({"synthetic": 1}, "volunteers.synthetic must be true or false"),
        (
            {"specialities": {"Doctor": {"fa": "پزشک", "en": "Doctor", "places": {}}}},
            "volunteers.specialities.Doctor",
        ),
        ({"specialities": {"doctor": {"fa": "پزشک", "en": "Doctor"}}}, "needs exactly fa, en, places"),
        ({"specialities": {"doctor": {"fa": " ", "en": "Doctor", "places": {}}}}, "doctor.fa"),
        (
            {"specialities": {"doctor": {"fa": "پزشک", "en": "Doctor", "places": {"surgery": 1}}}},
            "unknown services ['surgery']",
        ),
        (
            {"specialities": {"doctor": {"fa": "پزشک", "en": "Doctor", "places": {"home_care": -1}}}},
            "volunteers.specialities.doctor.places.home_care",
        ),
        (
            {"specialities": {"doctor": {"fa": "پزشک", "en": "Doctor", "places": {"home_care": "1"}}}},
            "must be a number",
        ),
        (
            {"specialities": {"doctor": {"fa": "پزشک", "en": "Doctor", "places": [1]}}},
            "doctor.places must be a table",
        ),
    ],
)
def test_wrong_volunteer_norms_are_refused_by_name(change, named):
    raw = copy.deepcopy(_raw())
    raw["volunteers"].update(change)
    with pytest.raises(ConfigurationError) as err:
        Norms.from_dict(raw)
    assert named in str(err.value)


def test_volunteers_must_be_a_table():
    raw = _raw()
    raw["volunteers"] = ["doctor"]
    with pytest.raises(ConfigurationError, match=r"\[volunteers\] must be a table"):
        Norms.from_dict(raw)


# ---- where a group counts ----------------------------------------------------------------------


def test_a_group_counts_at_its_point_else_its_settlement_else_its_county():
    where = group_places(WORLD, SETTLEMENTS)
    assert list(where["placed"]) == ["settlement", "settlement", "point", "point", "county", "settlement"]
    assert (where.loc[0, "lon"], where.loc[0, "lat"]) == (49.5, 34.5)
    assert (where.loc[2, "lon"], where.loc[2, "lat"]) == (50.7, 34.2)
    assert where.loc[4, ["lon", "lat"]].isna().all()
    # a point wins over the settlement; an unknown settlement code leaves the county
    both = groups([("X", "0001", "S0000", (49.1, 34.9), "doctor", 1, True)])
    assert group_places(both, SETTLEMENTS).loc[0, "lon"] == 49.1
    lost = groups([("Y", "0001", "S9999", None, "doctor", 1, True)])
    assert group_places(lost, SETTLEMENTS).loc[0, "placed"] == "county"


# ---- places ------------------------------------------------------------------------------------


def test_member_places_round_half_up_in_exact_arithmetic():
    members = pd.Series([0, 1, 3, 5, 7, 10])
    assert list(member_places(members, 0.5)) == [0, 1, 2, 3, 4, 5]  # 0.5 → 1, 1.5 → 2, 2.5 → 3
    assert list(member_places(members, 0.25)) == [0, 0, 1, 1, 2, 3]  # 0.75 → 1, 1.75 → 2, 2.5 → 3
    # 0.1 is one tenth: 5 × 0.1 = 0.5 rounds up to 1 (in binary floats it would be below 0.5)
    assert list(member_places(pd.Series([5, 15, 25]), 0.1)) == [1, 2, 3]
    assert list(member_places(pd.Series([35]), 0.3)) == [11]  # 10.5 → 11


def test_places_per_group_speciality_and_service_on_paper():
    v = _vnorms()
    supply = volunteer_supply(WORLD, SETTLEMENTS, v).set_index(["group_id", "speciality", "service_type"])
    p = supply["places"]
    # G1: 3 doctors → rehabilitation 1.5→2, elderly 1.5→2, home care 3; 5 psychologists →
    # counselling 10, addiction 2.5→3
    assert p[("G1", "doctor", "rehabilitation")] == 2
    assert p[("G1", "doctor", "elderly_care")] == 2
    assert p[("G1", "doctor", "home_care")] == 3
    assert p[("G1", "psychologist", "counselling")] == 10
    assert p[("G1", "psychologist", "addiction_treatment")] == 3
    # G2: 7 general → elderly 1.75→2, home care 2; 2 doctors → 1, 1, 2
    assert p[("G2", "general", "elderly_care")] == 2 and p[("G2", "general", "home_care")] == 2
    assert p[("G2", "doctor", "home_care")] == 2
    # G3: 4 social workers → counselling 4, child care 2, addiction 2 (county level)
    assert p[("G3", "social_worker", "counselling")] == 4
    assert supply.loc[("G3", "social_worker", "child_care"), "placed"] == "county"
    # G4 is inactive: its doctors count nothing
    assert (p.loc["G4"] == 0).all()
    assert ("G1", "doctor", "kindergarten") not in p.index


def test_county_capacity_is_the_sum_of_its_groups_and_an_inactive_group_counts_nothing():
    supply = volunteer_supply(WORLD, SETTLEMENTS, _vnorms())
    cap = county_volunteer_capacity(supply)
    # 0001: G1 counselling 10 + G3 4 = 14; home care G1 3; addiction G1 3 + G3 2 = 5
    assert cap[("0001", "counselling")] == 14
    assert cap[("0001", "home_care")] == 3
    assert cap[("0001", "addiction_treatment")] == 5
    # 0002: home care G2 2 + 2 = 4 (G4's 10 doctors are inactive); elderly 2 + 1 = 3
    assert cap[("0002", "home_care")] == 4
    assert cap[("0002", "elderly_care")] == 3
    assert cap[("0002", "rehabilitation")] == 1
    assert cap.sum() == supply["places"].sum()


def test_only_placed_groups_give_located_supply():
    located = located_supply(volunteer_supply(WORLD, SETTLEMENTS, _vnorms()))
    assert set(located["group_id"]) == {"G1", "G2"}  # G3 county level, G4 inactive
    g2 = located[(located["group_id"] == "G2") & (located["service_type"] == "home_care")]
    assert list(g2["places"]) == [4] and (g2["lon"].item(), g2["lat"].item()) == (50.7, 34.2)


def test_network_totals_and_the_county_summary_split_back_exactly():
    v = _vnorms()
    totals = network_totals(WORLD, v.codes)
    assert totals["groups"] == 4 and totals["active_groups"] == 3
    assert totals["members"] == 31 and totals["active_members"] == 21
    assert totals["members_doctor"] == 15 and totals["members_general"] == 7
    assert totals["members_facilitator"] == 0
    assert sum(totals[f"members_{c}"] for c in v.codes) == totals["members"]
    summary = county_summary(WORLD, SETTLEMENTS, v)
    assert list(summary.index) == ["0001", "0002"]
    assert summary.loc["0001", "groups"] == 2 and summary.loc["0001", "county_level_groups"] == 1
    assert summary.loc["0002", "placed_groups"] == 2 and summary.loc["0002", "active_members"] == 9
    assert summary.loc["0001", "places_counselling"] == 14
    assert summary["members"].sum() == totals["members"]
    place_cols = [c for c in summary.columns if c.startswith("places_")]
    assert (summary[place_cols].sum(axis=1) == summary["places"]).all()


def test_capacity_in_words_persian_first():
    fa, en = capacity_words(380, 40)
    assert en == "capacity 420 = 380 licensed + 40 volunteers"
    assert fa == "ظرفیت ۴۲۰ = ۳۸۰ ظرفیت مراکز + ۴۰ داوطلبان"


@settings(deadline=None, max_examples=examples(60))
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(["0001", "0002"]),
            st.sampled_from(["doctor", "psychologist", "social_worker", "facilitator", "general"]),
            st.integers(0, 500),
            st.booleans(),
        ),
        min_size=1,
        max_size=25,
        unique_by=lambda r: (r[0], r[2]),
    )
)
def test_row_order_never_changes_the_figures_and_the_parts_add_up(rows):
    # a group's county and active flag are the group's: take them from its id
    built = groups(
        [
            (f"G{g}", "0001" if g % 2 else "0002", None, None, sp, m, g % 3 != 0)
            for g, _county, sp, m, _active in rows
        ]
    )
    v = _vnorms()
    a = county_volunteer_capacity(volunteer_supply(built, SETTLEMENTS, v))
    b = county_volunteer_capacity(volunteer_supply(built.iloc[::-1].reset_index(drop=True), SETTLEMENTS, v))
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())
    totals = network_totals(built, v.codes)
    assert sum(totals[f"members_{c}"] for c in v.codes) == totals["members"]
    summary = county_summary(built, SETTLEMENTS, v)
    assert summary["places"].sum() == a.sum()
    assert summary["groups"].sum() == totals["groups"]
