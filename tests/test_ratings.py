"""Evaluations of centres: the scale in the norms, each centre's grade on a day, effective
capacity and its split, and the rankings per province, on a world built by hand."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import ConfigurationError
from geo.norms import Norms
from geo.ratings import (
    UNRATED,
    capacity_split,
    current_grades,
    effective_capacity,
    rating_rankings,
    split_words,
    weigh_capacity,
    with_ratings,
)
from tests.analysis_world import ROOT
from tests.conftest import examples


def _raw() -> dict:
    return tomllib.loads((ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))


def _scale(**changes):
    raw = _raw()
    raw["ratings"].update(changes)
    scale = Norms.from_dict(raw).ratings
    assert scale is not None
    return scale


# ---- the scale in the norms ------------------------------------------------------------------


def test_the_shipped_scale_is_read_off_by_default_and_says_it_is_synthetic():
    text = (ROOT / "config" / "norms.toml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    norms = Norms.from_dict(_raw())
    scale = norms.ratings
    assert scale is not None and scale.synthetic is True
    assert scale.codes == ("A", "B", "C", "D")
    assert [scale.grades[g].weight for g in scale.codes] == [1.0, 0.9, 0.7, 0.4]
    assert all(scale.grades[g].fa and scale.grades[g].en for g in scale.codes)
    assert scale.weight_capacity_by_rating is False and norms.weights_capacity is False
    assert scale.weight(None) == 1.0 == scale.unrated_weight
    assert scale.rank("A") == 0 and scale.rank("D") == 3 and scale.rank(None) == 4
    assert "synthetic" in scale.label("2026.1")


def test_a_norms_file_without_ratings_rates_nothing():
    raw = _raw()
    del raw["ratings"]
    norms = Norms.from_dict(raw)
    assert norms.ratings is None and norms.weights_capacity is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["grades"]["B"].update(weight=1.2), "ratings.grades.B.weight must be a share"),
        (lambda r: r["grades"]["C"].update(weight="high"), "ratings.grades.C.weight must be a number"),
        (lambda r: r["grades"]["D"].update(weight=0.95), "a worse grade's weight cannot exceed"),
        (lambda r: r["grades"]["A"].pop("fa"), "[ratings.grades.A] needs exactly fa, en, weight"),
        (lambda r: r["grades"]["A"].update(en=" "), "ratings.grades.A.en must say what the grade means"),
        (lambda r: r.update(grades={}), "needs a [ratings.grades.<grade>] table"),
        (lambda r: r.update(weight_capacity_by_rating="yes"), "ratings.weight_capacity_by_rating must be"),
        (lambda r: r.update(synthetic=1), "ratings.synthetic must be true or false"),
        (lambda r: r.update(unrated_weight=-0.1), "ratings.unrated_weight must be a share"),
        (lambda r: r.update(unrated="C"), "unknown entries ['unrated']"),
    ],
)  # fmt: skip
def test_a_wrong_scale_is_refused_by_name(change, message):
    raw = copy.deepcopy(_raw())
    change(raw["ratings"])
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Norms.from_dict(raw)


def test_the_option_turns_on():
    raw = _raw()
    raw["ratings"]["weight_capacity_by_rating"] = True
    assert Norms.from_dict(raw).weights_capacity is True


# ---- a world built by hand -------------------------------------------------------------------
# Province 01: L1 (100 places) graded A in 2025 then C in March 2026; L2 (200) B; L3 (120) never
# evaluated. Province 02: L4 (25) B, L5 (15) C, L6 (50) graded D only in July 2026.
# As of 1 June 2026 (weights A 1.0, B 0.9, C 0.7, D 0.4, unrated 1.0):
#   L1 C 100 × 0.7 = 70 (−30)   L2 B 200 × 0.9 = 180 (−20)   L3 unrated 120 (−0)
#   L4 B 25 × 0.9 = 22.5 → 23 (−2)   L5 C 15 × 0.7 = 10.5 → 11 (−4)   L6 unrated 50 (−0)
#   01: 420 licensed − 50 = 370;  02: 90 − 6 = 84;  all: 510 − 56 = 454.

JUNE = dt.date(2026, 6, 1)


def _ngos() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "licence_no": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "service_type": ["rehabilitation"] * 3 + ["rehabilitation", "kindergarten", "rehabilitation"],
            "capacity": pd.array([100, 200, 120, 25, 15, 50], dtype="Int64"),
            "province_code": ["01", "01", "01", "02", "02", "02"],
        }
    )


def _evaluations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "licence_no": ["L1", "L1", "L2", "L4", "L5", "L6"],
            "evaluated_on": pd.to_datetime(
                ["2025-01-10", "2026-03-01", "2026-02-01", "2026-01-15", "2026-05-31", "2026-07-01"]
            ),
            "grade": ["A", "C", "B", "B", "C", "D"],
        }
    )


def test_the_current_grade_is_the_latest_on_or_before_the_day():
    ngos = _ngos()
    june = current_grades(ngos["licence_no"], _evaluations(), JUNE)
    assert june["grade"].tolist() == ["C", "B", None, "B", "C", None]
    assert june.loc[0, "evaluated_on"] == pd.Timestamp("2026-03-01")
    assert pd.isna(june.loc[2, "evaluated_on"])
    # a year earlier L1 was A, and nothing else had been evaluated
    before = current_grades(ngos["licence_no"], _evaluations(), dt.date(2025, 6, 1))
    assert before["grade"].tolist() == ["A", None, None, None, None, None]
    # on the day of an evaluation it counts
    assert current_grades(ngos["licence_no"], _evaluations(), dt.date(2026, 7, 1))["grade"].iloc[5] == "D"
    assert current_grades(ngos["licence_no"], None, JUNE)["grade"].isna().all()


def test_effective_capacity_by_hand_halves_up_in_exact_arithmetic():
    scale = _scale()
    grades = pd.Series(["C", "B", None, "B", "C", None])
    got = effective_capacity(_ngos()["capacity"], grades, scale)
    assert got.tolist() == [70, 180, 120, 23, 11, 50]
    # 0.7 × 45 is 31.499999999999996 in binary floating point: the exact 31.5 counts 32
    assert 0.7 * 45 < 31.5
    assert effective_capacity(pd.Series([45, 85]), pd.Series(["C", "C"]), scale).tolist() == [32, 60]
    # an unrated centre counts as the scale says
    assert effective_capacity(_ngos()["capacity"], grades, _scale(unrated_weight=0.5)).tolist()[2] == 60


def test_the_split_adds_back_exactly_per_grade_and_province():
    scale = _scale()
    rated = with_ratings(_ngos(), _evaluations(), scale, JUNE)
    assert rated["effective_capacity"].tolist() == [70, 180, 120, 23, 11, 50]
    assert rated["licensed_capacity"].tolist() == [100, 200, 120, 25, 15, 50]
    assert rated["rating_weight"].tolist() == [0.7, 0.9, 1.0, 0.9, 0.7, 1.0]
    whole = capacity_split(rated, scale)
    assert whole[["grade", "centres", "licensed", "deduction", "effective"]].values.tolist() == [
        ["B", 2, 225, 22, 203],
        ["C", 2, 115, 34, 81],
        [UNRATED, 2, 170, 0, 170],
    ]
    assert (whole["licensed"] - whole["deduction"] == whole["effective"]).all()
    assert (whole["licensed"].sum(), whole["deduction"].sum(), whole["effective"].sum()) == (510, 56, 454)
    per = capacity_split(rated, scale, by="province_code")
    one = per[per["province_code"] == "01"]
    assert (one["licensed"].sum(), one["deduction"].sum(), one["effective"].sum()) == (420, 50, 370)
    assert dict(zip(one["grade"], one["deduction"], strict=True)) == {"B": 20, "C": 30, UNRATED: 0}
    two = per[per["province_code"] == "02"]
    assert (two["licensed"].sum(), two["deduction"].sum(), two["effective"].sum()) == (90, 6, 84)
    # every province's rows add back to the whole
    assert per.groupby("grade")["effective"].sum().to_dict() == {"B": 203, "C": 81, UNRATED: 170}
    en, fa = split_words(one)
    assert en == "capacity 370 = 420 licensed − 50 for ratings (B −20, C −30)"
    assert fa.startswith("ظرفیت ۳۷۰ = ۴۲۰ ظرفیت مجوز − ۵۰ بابت رتبه‌ها")


def test_weighing_capacity_keeps_the_licensed_figure_beside_it():
    rated = with_ratings(_ngos(), _evaluations(), _scale(), JUNE)
    weighed = weigh_capacity(rated)
    assert weighed["capacity"].tolist() == [70, 180, 120, 23, 11, 50]
    assert weighed["licensed_capacity"].sum() - weighed["capacity"].sum() == 56
    assert rated["capacity"].tolist() == [100, 200, 120, 25, 15, 50]  # the input is untouched


def test_rankings_per_province_by_hand():
    scale = _scale()
    june = rating_rankings(with_ratings(_ngos(), _evaluations(), scale, JUNE), scale)
    # 02: 84 / 90 = 0.933… ranks before 01: 370 / 420 = 0.881…
    assert june["province_code"].tolist() == ["02", "01"]
    assert june["rank"].tolist() == [1, 2]
    one = june.set_index("province_code").loc["01"]
    assert (one["centres"], one["rated_centres"], one["places"], one["effective"]) == (3, 2, 420, 370)
    assert [one[f"places_{g}"] for g in ("A", "B", "C", "D", UNRATED)] == [0, 200, 100, 0, 120]
    assert sum(one[f"places_{g}"] for g in ("A", "B", "C", "D", UNRATED)) == one["places"]
    assert one["share_B"] == pytest.approx(200 / 420)
    assert one["share_unrated"] == pytest.approx(120 / 420)
    assert one["mean_weight"] == pytest.approx(370 / 420)
    # in August L6 is D: 02 counts 23 + 11 + 20 = 54 of 90 (0.6) and falls behind 01
    august = rating_rankings(with_ratings(_ngos(), _evaluations(), scale, dt.date(2026, 8, 1)), scale)
    assert august["province_code"].tolist() == ["01", "02"]
    assert august.set_index("province_code").loc["02", "effective"] == 54
    # of one service: only 02's kindergarten L5 (C, 11 of 15)
    kg = rating_rankings(with_ratings(_ngos(), _evaluations(), scale, JUNE), scale, "kindergarten")
    assert kg[["province_code", "places", "effective", "places_C"]].values.tolist() == [["02", 15, 11, 15]]


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5000), st.sampled_from(["A", "B", "C", "D", None])), min_size=1, max_size=40
    )
)
def test_the_split_always_adds_back_and_stays_within_half_a_place(centres):
    scale = _scale(unrated_weight=0.85)
    ngos = pd.DataFrame(
        {
            "licence_no": [f"L{i}" for i in range(len(centres))],
            "capacity": [c for c, _ in centres],
            "province_code": ["01" if i % 2 else "02" for i in range(len(centres))],
        }
    )
    grades = pd.Series([g for _, g in centres])
    rated = ngos.assign(
        grade=grades,
        licensed_capacity=ngos["capacity"],
        effective_capacity=effective_capacity(ngos["capacity"], grades, scale),
    )
    exact = [c * scale.weight(g) for c, g in centres]
    assert all(abs(e - x) <= 0.5 + 1e-9 for e, x in zip(rated["effective_capacity"], exact, strict=True))
    split = capacity_split(rated, scale, by="province_code")
    assert split["licensed"].sum() == ngos["capacity"].sum()
    assert split["effective"].sum() == rated["effective_capacity"].sum()
    assert (split["licensed"] - split["deduction"] == split["effective"]).all()
    assert (split["deduction"] >= 0).all()
