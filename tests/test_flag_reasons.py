"""The reasons of the flags in words: written a column at a time (``flag_reasons``), they are the
reasons the readable path writes one flag at a time (``flag_reasons_by_row``), word for word, on
every branch (by road, in a straight line, none in the country, low access just below its
minimum, inside a target neighbourhood), exact and approximate; and they read as written by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.decisions import flag_reasons, flag_reasons_by_row
from tests import analysis_world as world
from tests.conftest import examples

NAN = math.nan


def flags(rows: list[dict], roads: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if not roads:
        frame = frame.drop(columns=["nearest_min", "max_travel_min", "road_fallback"])
    return frame


def row(**changes) -> dict:
    base = {
        "settlement_code": "S1",
        "service_type": "rehabilitation",
        "nearest_km": 63.4,
        "max_distance_km": 30.0,
        "nearest_min": 71.6,
        "max_travel_min": 45.0,
        "road_fallback": False,
        "access_share": 0.1234,
        "min_access_share": 0.5,
        "in_target_area": False,
        "too_far": True,
        "low_access": True,
    }
    return {**base, **changes}


def test_reasons_read_as_written_by_hand():
    frame = flags(
        [
            row(),
            row(road_fallback=True, low_access=False, in_target_area=True),
            row(nearest_min=NAN, nearest_km=NAN, too_far=True, low_access=False),
            row(too_far=False, access_share=0.4967),  # 0.50 would read as meeting the minimum
            row(max_travel_min=NAN, nearest_km=1234.5, access_share=0.0, in_target_area=True),
            row(service_type="no_such_service", max_travel_min=NAN, low_access=False),
        ]
    )
    got = flag_reasons(frame)
    assert got["reason_en"].tolist() == [
        "nearest rehabilitation centre 72 min by road (63 km) (norm: within 45 min); "
        "access 0.12 of norm (minimum 0.50)",
        "nearest rehabilitation centre 72 min in a straight line (63 km) (norm: within 45 min); "
        "inside a target neighbourhood",
        "nearest rehabilitation centre none in the country (norm: within 45 min)",
        "access 0.497 of norm (minimum 0.50)",
        "nearest rehabilitation centre 1234 km (norm: within 30 km); access 0.00 of norm (minimum 0.50); "
        "inside a target neighbourhood",
        "nearest no_such_service centre 63 km (norm: within 30 km)",
    ]
    assert got["reason_fa"].iloc[0] == (
        "نزدیک‌ترین مرکز توانبخشی: ۷۲ دقیقه از راه (۶۳ کیلومتر) (هنجار: تا ۴۵ دقیقه)؛ "
        "دسترسی ۰٫۱۲ برابر هنجار (حداقل ۰٫۵۰)"
    )
    assert got["reason_fa"].iloc[4].startswith("نزدیک‌ترین مرکز توانبخشی: ۱٬۲۳۴ کیلومتر")
    about = flag_reasons(frame.iloc[:1], approximate=True)
    assert about["reason_en"].iloc[0] == (
        "nearest rehabilitation centre about 72 min by road (63 km) (norm: within 45 min); "
        "access about 0.12 of norm (minimum 0.50)"
    )
    assert "حدود ۷۲ دقیقه" in about["reason_fa"].iloc[0]


def test_equal_reasons_are_one_object_and_the_index_is_kept():
    frame = flags([row(), row(settlement_code="S2"), row(nearest_km=99.0)]).set_axis([7, 3, 5])
    got = flag_reasons(frame)
    assert got.index.tolist() == [7, 3, 5]
    assert got["reason_en"].iloc[0] is got["reason_en"].iloc[1]
    assert got["reason_fa"].iloc[0] is got["reason_fa"].iloc[1]
    assert flag_reasons(frame.iloc[:0]).empty


figures = st.one_of(
    st.floats(0, 5000, allow_nan=False),
    st.sampled_from([NAN, math.inf, 0.0, 0.5, 2.5, 1000.0, 999.5, 1e6]),
)
shares = st.one_of(
    st.floats(0, 3, allow_nan=False),
    # just below the minimum, where two decimals would round up to it
    st.floats(0.49, 0.5, allow_nan=False, exclude_max=True),
    st.sampled_from([NAN, 0.495, 0.4949999, 0.49999, 1500.25]),
)
flag_rows = st.builds(
    row,
    service_type=st.sampled_from(["rehabilitation", "elderly_care", "kindergarten", "unknown_one"]),
    nearest_km=figures,
    max_distance_km=st.sampled_from([30.0, 12.5, 100.0]),
    nearest_min=figures,
    max_travel_min=st.sampled_from([45.0, 60.0, NAN]),
    road_fallback=st.booleans(),
    access_share=shares,
    min_access_share=st.sampled_from([0.5, 0.25, 0.333]),
    in_target_area=st.booleans(),
    too_far=st.booleans(),
    low_access=st.booleans(),
)


@settings(max_examples=examples(200), deadline=None)
@given(rows=st.lists(flag_rows, min_size=1, max_size=12), roads=st.booleans(), approximate=st.booleans())
def test_the_columns_write_what_the_rows_write(rows, roads, approximate):
    frame = flags(rows, roads)
    got = flag_reasons(frame, approximate=approximate)
    expected = flag_reasons_by_row(frame, approximate=approximate)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("approximate", [False, True])
def test_the_catalogues_names_are_used(approximate):
    rehabilitation = world.demo_norms().services["rehabilitation"]
    services = {"day_care": replace(rehabilitation, label_fa="مراقبت روزانه", label_en="Day Care")}
    frame = flags([row(service_type="day_care")])
    got = flag_reasons(frame, approximate=approximate, services=services)
    assert "nearest day care centre" in got["reason_en"].iloc[0]
    assert "نزدیک‌ترین مرکز مراقبت روزانه" in got["reason_fa"].iloc[0]
    pd.testing.assert_frame_equal(got, flag_reasons_by_row(frame, approximate=approximate, services=services))
