"""Features written for items pages (``api.deps``): byte for byte what ``json.dumps`` makes of
``feature_collection``, the readable path, however they are written and read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples


def test_packed_feature_texts_read_back_as_the_features_across_chunks():
    """Items pages join slices of UTF-8 buffers (``api.deps.FeatureTexts``): every feature,
    across the buffers and in any order of first reading, reads back as ``feature_collection``
    makes it, and only the rows read are made."""
    import json as _json

    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point

    from api.deps import _FEATURE_CHUNK, feature_collection, feature_strings

    n = _FEATURE_CHUNK + 7
    frame = gpd.GeoDataFrame(
        {"code": [f"c{i}" for i in range(n)], "name_fa": ["روستای " + "ا" * (i % 5) for i in range(n)]},
        geometry=[Point(50 + i * 1e-4, 30) for i in range(n)],
        crs=4326,
    )
    texts = feature_strings(frame, "code")
    assert len(texts) == n
    assert _json.loads(texts.array([5, 2]))[1]["id"] == "c2" and texts.rows_made == 2  # a page: its rows
    positions = np.array([0, _FEATURE_CHUNK - 1, _FEATURE_CHUNK, n - 1, 3, 2, n - 1])
    expected = [feature_collection(frame, "code")[i] for i in positions]
    assert texts.array(positions) == _json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert texts.rows_made == 7  # each row made once, a repeated one included
    assert texts[4].decode() == _json.dumps(
        feature_collection(frame, "code")[4], ensure_ascii=False, separators=(",", ":")
    )
    assert texts.rows_made == 8
    assert _json.loads(texts.array([])) == []


def test_feature_texts_read_by_many_threads_at_once_are_each_the_feature():
    """Pages read at once by the service's threads while their rows are being made: every page is
    its features, byte for byte, and each row is made once."""
    import json as _json
    from concurrent.futures import ThreadPoolExecutor

    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point

    from api.deps import feature_collection, feature_strings

    n = 3000
    frame = gpd.GeoDataFrame(
        {"code": [f"c{i}" for i in range(n)], "name_fa": ["آبادی " + "ب" * (i % 7) for i in range(n)]},
        geometry=[Point(50 + i * 1e-4, 30 + i * 1e-5) for i in range(n)],
        crs=4326,
    )
    want = [
        _json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in feature_collection(frame, "code")
    ]
    texts = feature_strings(frame, "code")
    texts.chunk = 256  # many buffers
    rng = np.random.default_rng(5)
    pages = [rng.choice(n, 100) for _ in range(200)]

    def read(page):
        return texts.array(page) == ("[" + ",".join(want[i] for i in page) + "]").encode()

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(read, pages))
    assert texts.rows_made == len(np.unique(np.concatenate(pages)))
    assert sum(len(b) for b in texts._buffers.values()) == sum(
        len(want[i].encode()) for i in np.unique(np.concatenate(pages))
    )


def test_dates_in_json_are_their_days_and_missing_ones_null():
    """``api.deps.json_records`` writes a date column as YYYY-MM-DD (as ``strftime`` does) and a
    missing date as null, zone-less or not; a column not named as a date keeps its ISO time."""
    import pandas as pd

    from api.deps import json_records

    days = pd.to_datetime(["1899-12-31", None, "2024-02-29 23:59:59", "2262-04-11"], format="ISO8601")
    frame = pd.DataFrame(
        {
            "issued_on": days,
            "expires_on": days.tz_localize("Asia/Tehran"),
            "other": pd.to_datetime(["2020-01-02 03:04:05"] * 4),
        }
    )
    records = json_records(frame)
    assert [r["issued_on"] for r in records] == ["1899-12-31", None, "2024-02-29", "2262-04-11"]
    assert [r["expires_on"] for r in records] == ["1899-12-31", None, "2024-02-29", "2262-04-11"]
    assert records[0]["other"].startswith("2020-01-02T03:04:05")
    assert json_records(frame.iloc[[1]]) == [
        {"issued_on": None, "expires_on": None, "other": records[1]["other"]}
    ]


def test_serialised_features_are_json_dumps_of_the_features_byte_for_byte():
    """``api.deps.feature_texts`` writes points itself and splices other geometries: the bytes
    are what ``json.dumps`` makes of ``feature_collection``, for every kind of geometry."""
    import json as _json

    import geopandas as gpd
    from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

    from api.deps import feature_collection, feature_texts

    geometries = [
        Point(49.84253, 34.10263),
        Point(0.1 + 0.2, 1e-7),  # the float 0.30000000000000004 and an exponent
        Point(51, 35),  # whole numbers
        Point(51, float("nan")),  # no number: null, as GEOS writes it
        Point(),  # empty
        None,
        Point(50.5, 33.25, 1200.0),  # with a height
        box(49.0, 34.0, 49.5, 34.123456789),
        MultiPolygon([Polygon([(50, 30), (50.1, 30), (50.1, 30.3333333333)])]),
        LineString([(50, 30), (51.000000001, 31)]),
    ]
    frame = gpd.GeoDataFrame(
        {"code": [f"c{i}" for i in range(len(geometries))], "name_fa": ["ده «نو»"] * len(geometries)},
        geometry=geometries,
        crs=4326,
    )
    expected = [
        _json.dumps(f, ensure_ascii=False, separators=(",", ":")).encode()
        for f in feature_collection(frame, "code")
    ]
    assert feature_texts(frame, "code") == expected


_ROWS = 12


@st.composite
def _property_frames(draw):
    """Frames of every kind of column an items page writes: texts (any character but lone
    surrogates, missing ones as None or NaN), integers, nullable integers and booleans, booleans,
    numbers with a fraction, a date column and an object column holding another kind of value."""
    import datetime as dt

    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from shapely.geometry import Point

    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
    n = _ROWS
    texts = draw(st.lists(st.one_of(text, st.none()), min_size=n, max_size=n))
    ints = draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
    maybe_ints = draw(st.lists(st.one_of(st.integers(-(10**9), 10**9), st.none()), min_size=n, max_size=n))
    maybe_bools = draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=n, max_size=n))
    floats = draw(
        st.lists(
            st.one_of(st.floats(-1e7, 1e7, allow_nan=False), st.just(float("nan"))), min_size=n, max_size=n
        )
    )
    days = draw(
        st.lists(
            st.one_of(st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)), st.none()), min_size=n, max_size=n
        )
    )
    others = draw(
        st.lists(st.one_of(text, st.none(), st.just(float("nan")), st.integers(0, 9)), min_size=n, max_size=n)
    )
    frame = pd.DataFrame(
        {
            "code": [f"c{i}" for i in range(n)],
            "name_fa": pd.array(
                [float("nan") if t is None and i % 2 else t for i, t in enumerate(texts)], dtype="str"
            ),
            "population": np.array(ints, dtype="int64"),
            "gazetteer_id": pd.array(maybe_ints, dtype="Int64"),
            "verified": pd.array(maybe_bools, dtype="boolean"),
            "synthetic": np.array([i % 3 == 0 for i in range(n)]),
            "share": np.array(floats, dtype="float64"),
            "issued_on": pd.to_datetime(pd.Series(days, dtype=object)),
            "note": pd.Series(others, dtype=object),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=[Point(50 + i * 1e-3, 30 - i * 1e-3) for i in range(n)], crs=4326)


@given(frame=_property_frames(), rows=st.lists(st.integers(0, _ROWS - 1), min_size=1, max_size=_ROWS))
@settings(max_examples=examples(200), deadline=None)
def test_items_written_column_by_column_are_json_dumps_of_the_features(frame, rows):
    """An items page writes texts, integers and booleans a column at a time and leaves the other
    columns to ``json_records``: byte for byte what ``json.dumps`` makes of ``feature_collection``
    (the readable path), for the whole frame and for pages of any rows in any order."""
    import json as _json

    import numpy as np

    from api.deps import feature_collection, feature_strings, feature_texts

    want = [
        _json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in feature_collection(frame, "code")
    ]
    assert feature_texts(frame, "code") == [w.encode() for w in want]
    page = feature_strings(frame, "code").array(np.array(rows))
    assert page == ("[" + ",".join(want[i] for i in rows) + "]").encode()


def test_columns_named_other_than_by_a_text_are_written_as_before():
    """Column names that pandas writes its own way (a day, a number, the same name twice once
    written) and an empty frame: as the readable path writes them."""
    import json as _json

    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from api.deps import feature_collection, feature_texts

    frame = gpd.GeoDataFrame(
        {"code": ["a", "b"], 1: ["x", "y"], "1": ["p", "q"], pd.Timestamp("2020-01-01"): [3, 4]},
        geometry=[Point(50, 30), Point(51, 31)],
        crs=4326,
    )
    want = [
        _json.dumps(f, ensure_ascii=False, separators=(",", ":")).encode()
        for f in feature_collection(frame, "code")
    ]
    assert feature_texts(frame, "code") == want
    assert feature_texts(frame.iloc[:0][["geometry"]], "code") == []
