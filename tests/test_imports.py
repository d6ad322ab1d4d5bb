"""Imports and exports on real files in every format, into both stores, all or nothing."""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from exchange.exports import export_layer
from exchange.imports import ImportRejected, import_file, validate_file, write_report
from exchange.validation import REASONS, parse_date
from tests.conftest import examples

ARAK = (49.69, 34.09)  # inside county 0001 (Arak; of the small world too)


def write_base(store, small_layers) -> None:
    with store.transaction() as tx:
        tx.write_layer("provinces", small_layers["provinces"])
        tx.write_layer("counties", small_layers["counties"])
        tx.write_layer("ngos", small_layers["ngos"])


@pytest.fixture(scope="module")
def base_gpkg(tmp_path_factory, small_layers) -> Path:
    """The GeoPackage of ``base_store``, written once: each test gets a copy of the file."""
    from store import open_store

    path = tmp_path_factory.mktemp("base") / "base.gpkg"
    write_base(open_store(str(path)), small_layers)
    return path


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def base_store(request, small_layers, tmp_path):
    """A store holding the small world's province and counties (and its NGOs), nothing else."""
    if request.param == "gpkg":
        from store import open_store

        path = tmp_path / "base.gpkg"
        shutil.copyfile(request.getfixturevalue("base_gpkg"), path)
        return open_store(str(path))
    store = request.getfixturevalue("postgis_store")
    write_base(store, small_layers)
    return store


def ngo_rows() -> list[dict]:
    """One good row, then one row per reason a point row can be rejected for (row numbers 2..)."""
    good = {
        "licence_no": "T-1",
        "name_fa": "مركز توانبخشي اميد",  # Arabic kaf and yeh: stored as Persian
        "service_type": "توانبخشی",  # a Persian label is accepted
        "capacity": "40",
        "status": "Active",
        "issued_on": "1402/01/15",  # Jalali
        "expires_on": "2028-04-04",
        "county_code": "1",  # a spreadsheet lost the leading zeros of 0001
        "lon": ARAK[0],
        "lat": ARAK[1],
    }
    bad = [
        ("unknown_service_type", {"service_type": "juggling"}),
        ("unknown_status", {"status": "zombie"}),
        ("wrong_type", {"capacity": "many"}),
        ("value_out_of_range", {"capacity": "0"}),
        ("unknown_county", {"county_code": "9999"}),
        ("bad_date", {"issued_on": "1402/13/40"}),
        ("dates_order", {"issued_on": "2024-01-01", "expires_on": "2023-01-01"}),
        ("required_missing", {"name_fa": ""}),
        ("coordinates_swapped", {"lon": ARAK[1], "lat": ARAK[0]}),
        ("outside_iran", {"lon": 2.35, "lat": 48.85}),
        ("empty_geometry", {"lon": None, "lat": None}),
        ("duplicate_key", {"licence_no": "T-dup"}),
        ("duplicate_key", {"licence_no": "T-dup"}),
    ]
    rows = [good]
    for i, (_, change) in enumerate(bad):
        rows.append({**good, "licence_no": f"T-{i + 2}", **change})
    expected = {(i + 2, reason) for i, (reason, _) in enumerate(bad)}
    return rows, expected


def write_points(rows: list[dict], path: Path) -> Path:
    """Write rows as a user would hand them over, in the format of ``path``'s suffix."""
    table = pd.DataFrame(rows)
    suffix = path.suffix
    if suffix in (".csv", ".xlsx"):
        table = table.astype(object).where(table.notna(), None)
        if suffix == ".csv":
            table.to_csv(path, index=False)
        else:
            table.to_excel(path, index=False)
        return path
    geometry = [Point(r["lon"], r["lat"]) if r["lon"] is not None else None for r in rows]
    gdf = gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]).astype(str).replace("", None), geometry=geometry, crs=4326
    )
    if suffix == ".zip":
        shp_dir = path.with_suffix("")
        shp_dir.mkdir()
        write_points(rows, shp_dir / "ngos.shp")
        with zipfile.ZipFile(path, "w") as zf:
            for f in shp_dir.iterdir():
                zf.write(f, f.name)
        return path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL shortens field names for shapefiles
        pyogrio.write_dataframe(gdf, path, **({"encoding": "UTF-8"} if suffix == ".shp" else {}))
    return path


FORMATS = [".csv", ".xlsx", ".geojson", ".gpkg", ".shp", ".zip"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_rejection_reason_is_reported_and_nothing_is_written(base_store, tmp_path, suffix):
    rows, expected = ngo_rows()
    path = write_points(rows, tmp_path / f"ngos{suffix}")
    before = base_store.read_layer("ngos")
    with pytest.raises(ImportRejected) as info:
        import_file(base_store, "ngos", path, mode="replace")
    rejected = info.value.result.rejected
    got = {(int(r), reason) for r, reason in zip(rejected["row"], rejected["reason"], strict=True)}
    assert got == expected
    assert (rejected["message"].str.len() > 0).all()
    assert set(rejected["reason"]) <= set(REASONS)
    pd.testing.assert_frame_equal(base_store.read_layer("ngos"), before)
    report = write_report(info.value.result, tmp_path / "report.csv")
    back = pd.read_csv(report, encoding="utf-8-sig")
    assert len(back) == len(rejected)


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_clean_file_imports_and_is_normalised(base_store, small_layers, tmp_path, suffix):
    rows, _ = ngo_rows()
    path = write_points(rows[:1], tmp_path / f"ngos{suffix}")
    outcome = import_file(base_store, "ngos", path, mode="append")
    assert outcome.rows == 1
    got = base_store.read_layer("ngos").set_index("licence_no").loc["T-1"]
    assert got["name_fa"] == "مرکز توانبخشی امید"
    assert got["service_type"] == "rehabilitation"
    assert got["status"] == "active"
    assert got["issued_on"] == pd.Timestamp("2023-04-04")  # 1402/01/15
    assert got["county_code"] == "0001" and got["province_code"] == "00"
    assert not got["synthetic"]
    assert base_store.count("ngos") == 1 + len(small_layers["ngos"])


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_codes_in_persian_or_arabic_digits_are_read_as_their_codes(base_store, tmp_path, suffix):
    """A registry typed in Persian writes its county codes in Persian digits (or Arabic-Indic
    ones), often without the leading zeros: each is the county it names."""
    good = ngo_rows()[0][0]
    rows = [
        {**good, "licence_no": "D-1", "county_code": "۰۰۰۱"},  # Persian digits
        {**good, "licence_no": "D-2", "county_code": "١"},  # Arabic-Indic, zeros lost
        {**good, "licence_no": "D-3", "county_code": "۰۰۰۲", "lon": 50.5, "lat": 34.5},
    ]
    path = write_points(rows, tmp_path / f"ngos{suffix}")
    assert import_file(base_store, "ngos", path, mode="append").rows == 3
    got = base_store.read_layer("ngos").set_index("licence_no")["county_code"]
    assert got[["D-1", "D-2", "D-3"]].tolist() == ["0001", "0001", "0002"]


def test_shapefile_without_prj_is_refused_not_guessed(base_store, tmp_path):
    rows, _ = ngo_rows()
    shp = write_points(rows[:1], tmp_path / "ngos.shp")
    shp.with_suffix(".prj").unlink()
    result = validate_file(base_store, "ngos", shp)
    assert result.rejected["reason"].tolist() == ["crs_missing"]
    assert ".prj" in result.rejected["message"].iloc[0]
    zipped = tmp_path / "ngos.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for f in tmp_path.glob("ngos.*"):
            if f.suffix != ".zip":
                zf.write(f, f.name)
    assert validate_file(base_store, "ngos", zipped).rejected["reason"].tolist() == ["crs_missing"]


def test_missing_columns_and_unreadable_files(base_store, tmp_path):
    rows, _ = ngo_rows()
    path = tmp_path / "ngos.csv"
    pd.DataFrame(rows[:1]).drop(columns=["capacity", "status"]).to_csv(path, index=False)
    result = validate_file(base_store, "ngos", path)
    assert set(zip(result.rejected["field"], result.rejected["reason"], strict=False)) == {
        ("capacity", "missing_column"),
        ("status", "missing_column"),
    }
    junk = tmp_path / "ngos.gpkg"
    junk.write_bytes(b"not a geopackage")
    assert validate_file(base_store, "ngos", junk).rejected["reason"].tolist() == ["format"]
    no_geom = tmp_path / "nogeom.csv"
    pd.DataFrame(rows[:1]).drop(columns=["lon", "lat"]).to_csv(no_geom, index=False)
    assert validate_file(base_store, "ngos", no_geom).rejected["reason"].tolist() == ["missing_column"]


def test_key_exists_on_append_but_not_on_replace(base_store, tmp_path):
    existing = base_store.read_layer("ngos").iloc[:1]
    rows, _ = ngo_rows()
    path = write_points([{**rows[0], "licence_no": existing["licence_no"].iloc[0]}], tmp_path / "ngos.csv")
    result = validate_file(base_store, "ngos", path, mode="append")
    assert result.rejected["reason"].tolist() == ["key_exists"]
    import_file(base_store, "ngos", path, mode="replace")
    assert base_store.count("ngos") == 1


def test_key_exists_names_every_part_of_a_composite_key(base_store, tmp_path):
    needs = pd.DataFrame(
        {
            "county_code": ["0001", "0001"],
            "service_type": ["kindergarten", "elderly_care"],
            "target_population": [120, 80],
        }
    )
    first = tmp_path / "needs.csv"
    needs.to_csv(first, index=False)
    import_file(base_store, "county_needs", first)
    again = tmp_path / "again.csv"
    pd.concat([needs.iloc[1:], needs.iloc[:1].assign(service_type="counselling")]).to_csv(again, index=False)
    rejected = validate_file(base_store, "county_needs", again, mode="append").rejected
    assert rejected[["row", "reason", "value"]].values.tolist() == [[1, "key_exists", "0001|elderly_care"]]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_rows_at_the_end_are_not_rows_but_blank_rows_between_are(base_store, tmp_path, suffix):
    """A template's formatted but unused rows at the end are dropped; an empty row between two
    filled ones keeps its number, so that the report's row numbers are the sheet's."""
    rows, _ = ngo_rows()
    blank = dict.fromkeys(rows[0])
    spaces = {k: "  " for k in rows[0]}
    table = [rows[0], blank, {**rows[0], "licence_no": "T-2"}, blank, spaces, blank]
    result = validate_file(base_store, "ngos", write_points(table, tmp_path / f"ngos{suffix}"))
    assert result.rows == 3
    assert set(result.rejected["row"]) == {2}


def test_reprojected_from_web_mercator(base_store, tmp_path):
    rows, _ = ngo_rows()
    gdf = gpd.GeoDataFrame(
        pd.DataFrame(rows[:1]).drop(columns=["lon", "lat"]), geometry=[Point(*ARAK)], crs=4326
    ).to_crs(3857)
    path = tmp_path / "ngos.gpkg"
    gdf.to_file(path)
    outcome = import_file(base_store, "ngos", path, mode="replace")
    assert any("EPSG:3857" in n for n in outcome.result.notes)
    got = base_store.read_layer("ngos").geometry.iloc[0]
    assert got.x == pytest.approx(ARAK[0], abs=1e-9) and got.y == pytest.approx(ARAK[1], abs=1e-9)


def test_county_names_are_matched_with_the_name_matcher(base_store, tmp_path):
    rows, _ = ngo_rows()
    named = [{**rows[0], "county_code": None, "county_name": "شهرستان  اراك"}]
    named.append({**rows[0], "licence_no": "T-9", "county_code": None, "county_name": "ناکجاآباد"})
    path = write_points(named, tmp_path / "ngos.csv")
    result = validate_file(base_store, "ngos", path)
    assert result.rejected[["row", "reason"]].values.tolist() == [[2, "unknown_county"]]
    path = write_points(named[:1], tmp_path / "one.csv")
    import_file(base_store, "ngos", path)
    assert base_store.read_layer("ngos")["county_code"].tolist() == ["0001"]


def square(x: float, y: float, d: float = 0.01) -> Polygon:
    return Polygon([(x, y), (x + d, y), (x + d, y + d), (x, y + d)])


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_polygons_repaired_only_when_the_area_barely_changes(base_store, tmp_path, suffix):
    x, y = ARAK
    bowtie = Polygon([(x, y), (x + 0.01, y + 0.01), (x + 0.01, y), (x, y + 0.01)])
    # A square with a one-point spike: invalid (self-touching ring) but repairable without area change.
    spiky = Polygon(
        [
            (x, y),
            (x + 0.01, y),
            (x + 0.01, y + 0.01),
            (x + 0.005, y + 0.01),
            (x + 0.005, y + 0.02),
            (x + 0.005, y + 0.01),
            (x, y + 0.01),
        ]
    )
    assert not spiky.is_valid and not bowtie.is_valid
    geoms = [square(x, y), spiky, bowtie, LineString([(x, y), (x + 0.01, y)]), Polygon()]
    frame = gpd.GeoDataFrame(
        {
            "target_code": [f"U-{i}" for i in range(5)],
            "name_fa": ["محله"] * 5,
            "kind": ["urban", "شهری", "rural", "urban", "urban"],
            "county_code": ["0001"] * 5,
            "households": [100] * 5,
        },
        geometry=geoms,
        crs=4326,
    )
    path = tmp_path / f"areas{suffix}"
    if suffix == ".csv":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["wkt"] = [g.wkt if not g.is_empty else "" for g in geoms]
        table.loc[4, "wkt"] = "POLYGON ((not wkt"
        table.to_csv(path, index=False)
    else:
        pyogrio.write_dataframe(frame, path, geometry_type="Unknown")
    result = validate_file(base_store, "target_areas", path)
    reasons = dict(zip(result.rejected["row"].astype(int), result.rejected["reason"], strict=True))
    assert reasons[3] == "unrepairable_polygon"
    assert reasons[4] == "geometry_type"
    assert reasons[5] == ("invalid_geometry" if suffix == ".csv" else "empty_geometry")
    assert 2 not in reasons and result.repaired["row"].tolist() == [2]
    # Without the bad rows the file imports, the spiky polygon repaired.
    good = tmp_path / f"good{suffix}"
    if suffix == ".csv":
        pd.read_csv(path).iloc[:2].to_csv(good, index=False)
    else:
        pyogrio.write_dataframe(frame.iloc[:2], good, geometry_type="Unknown")
    outcome = import_file(base_store, "target_areas", good)
    assert outcome.rows == 2 and len(outcome.result.repaired) == 1
    stored = base_store.read_layer("target_areas")
    assert stored.geometry.is_valid.all()
    assert stored.geometry.iloc[1].area == pytest.approx(square(x, y).area, rel=1e-3)


def test_parse_date_jalali_and_gregorian():
    assert parse_date("1402/01/15") == pd.Timestamp("2023-04-04")
    assert parse_date("۱۴۰۲/۰۱/۱۵") == pd.Timestamp("2023-04-04")
    assert parse_date("1403-12-30") == pd.Timestamp("2025-03-20")  # leap year 1403
    assert parse_date("1404-12-30") is None  # 1404 is not a leap year
    assert parse_date("2024-02-29") == pd.Timestamp("2024-02-29")
    assert parse_date("2023-02-29") is None
    assert parse_date("yesterday") is None


ROUND_TRIPS = [
    (name, suffix)
    for name in ("ngos", "target_areas", "county_needs")
    for suffix in (".gpkg", ".geojson", ".csv", ".xlsx")
    if not (name == "county_needs" and suffix == ".geojson")  # GeoJSON is for features
]


@pytest.mark.parametrize(("name", "suffix"), ROUND_TRIPS)
def test_export_then_import_gives_the_same_layer(base_store, small_layers, tmp_path, suffix, name):
    layer = small_layers[name]
    with base_store.transaction() as tx:
        tx.write_layer(name, layer)
    original = base_store.read_layer(name)
    path = export_layer(base_store, name, tmp_path / f"{name}{suffix}")
    import_file(base_store, name, path, mode="replace")
    back = base_store.read_layer(name)
    attrs = [c for c in original.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(back[attrs]), pd.DataFrame(original[attrs]))
    if "geometry" in original:
        assert back.geometry.geom_equals_exact(original.geometry, tolerance=1e-9).all()


def test_exports_neutralise_formulas_and_reimport_them_intact(base_store, tmp_path):
    rows, _ = ngo_rows()
    rows = [
        {**rows[0], "name_fa": '=HYPERLINK("http://x")'},
        {**rows[0], "licence_no": "+98", "name_fa": "@SUM(A1)"},
    ]
    import_file(base_store, "ngos", write_points(rows, tmp_path / "in.csv"))
    for suffix in (".csv", ".xlsx"):
        path = export_layer(base_store, "ngos", tmp_path / f"out{suffix}")
        if suffix == ".csv":
            raw = path.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
            table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        else:
            table = pd.read_excel(path, dtype=str)
        assert set(table["name_fa"]) == {'\'=HYPERLINK("http://x")', "'@SUM(A1)"}
        assert "'+98" in set(table["licence_no"])
        import_file(base_store, "ngos", path)
        assert set(base_store.read_layer("ngos")["name_fa"]) == {'=HYPERLINK("http://x")', "@SUM(A1)"}


def test_exports_open_in_gdal_with_the_same_row_count(base_store, small_layers, tmp_path):
    for suffix in (".gpkg", ".geojson", ".csv", ".xlsx", ".shp"):
        path = export_layer(base_store, "counties", tmp_path / f"counties{suffix}")
        assert pyogrio.read_info(path)["features"] == len(small_layers["counties"]), suffix


@pytest.mark.realdata
def test_real_boundaries_export_to_xlsx_as_a_point_inside(demo, tmp_path):
    path = export_layer(demo["store"], "counties", tmp_path / "counties.xlsx")
    assert pyogrio.read_info(path)["features"] == 448
    # Boundaries do not fit in a spreadsheet cell: the XLSX gives a point inside each county.
    table = pd.read_excel(tmp_path / "counties.xlsx")
    assert {"lon", "lat"} <= set(table.columns) and "wkt" not in table.columns


@pytest.mark.parametrize(
    ("field", "lang", "label"),
    [
        ("settlement_name", "fa", "روستا یا شهر"),
        ("settlement_name", "en", "Village or city"),
        ("lon/lat", "fa", "طول جغرافیایی/عرض جغرافیایی"),
        ("county_code,service_type", "fa", "کد شهرستان، نوع خدمت"),
        ("county_code,service_type", "en", "County code, Service type"),
        ("geometry", "fa", "مکان"),
        ("no_such_column", "fa", "no_such_column"),
        (None, "fa", None),
    ],
)
def test_a_rejections_field_is_named_as_the_templates_headers_name_it(field, lang, label):
    from exchange.templates import field_label

    assert field_label(field, lang) == label


def test_a_multipoint_of_one_point_is_its_point_and_of_two_is_refused(base_store, tmp_path):
    """A GeoJSON's centres as MultiPoints: one point is taken as that point; two are refused as the
    wrong type, an empty one as empty, one outside Iran as outside (rows 2..4)."""
    import json

    from shapely.geometry import mapping

    good = ngo_rows()[0][0]
    shapes = [
        MultiPoint([ARAK]),
        MultiPoint([ARAK, (ARAK[0] + 0.01, ARAK[1])]),
        MultiPoint(),
        MultiPoint([(2.35, 48.85)]),
    ]
    features = [
        {
            "type": "Feature",
            "properties": {
                **{k: v for k, v in good.items() if k not in ("lon", "lat")},
                "licence_no": f"M-{n}",
            },
            "geometry": mapping(shape) if not shape.is_empty else {"type": "MultiPoint", "coordinates": []},
        }
        for n, shape in enumerate(shapes)
    ]
    path = tmp_path / "multi.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = validate_file(base_store, "ngos", path)
    reasons = result.rejected.set_index("row")["reason"].to_dict()
    assert reasons == {2: "geometry_type", 3: "empty_geometry", 4: "outside_iran"}
    assert result.accepted is not None and result.accepted["licence_no"].tolist() == ["M-0"]
    assert result.accepted.geometry.iloc[0].equals(Point(ARAK))


# ---- the two ways of parsing a column agree ----------------------------------------------------

#: texts a registry's cells hold: codes that lost their zeros, Persian digits, labels in both
#: languages, Arabic letters, dates both ways, formulas neutralised by a quote, blanks
_CELL_TEXTS = [
    "1",
    "0001",
    "۰۰۰۱",
    "12",
    " 40 ",
    "4,000",
    "0",
    "-3",
    "1.5",
    "many",
    "nan",
    "inf",
    "rehabilitation",
    "توانبخشی",
    "توانبخشي",
    "Active",
    "active ",
    "zombie",
    "true",
    "خیر",
    "1402/01/15",
    "2024-01-01",
    "۱۴۰۲/۱۳/۴۰",
    "'=cmd|' /C calc'!A0",
    "'-1",
    "کرج",
    "  ",
    "",
    "مركز اميد",
    "e\u0301",
    "\u200c",
]


@settings(max_examples=examples(200), deadline=None)
@given(
    cells=st.lists(st.one_of(st.sampled_from(_CELL_TEXTS), st.none(), st.just(float("nan"))), max_size=30),
    column=st.sampled_from(
        [
            ("ngos", "service_type"),
            ("ngos", "status"),
            ("ngos", "capacity"),
            ("ngos", "county_code"),
            ("ngos", "issued_on"),
            ("ngos", "name_fa"),
            ("settlements", "population"),
            ("settlements", "settlement_code"),
            ("ngos", "synthetic"),
        ]
    ),
)
def test_text_cells_parse_as_cells_of_any_kind(cells, column):
    """A CSV's column (text only) takes the fast path (``_parse_texts``): it gives the values and
    the rejections, in order, that the path for a spreadsheet's mixed cells gives."""
    import numpy as np

    from exchange import validation as V
    from geo.schema import layer

    col = next(c for c in layer(column[0]).columns if c.name == column[1])
    values = pd.Series(np.array(cells, dtype=object), index=range(5, 5 + len(cells)), dtype=object)
    rows = pd.Series(np.arange(1, len(cells) + 1), index=values.index)
    fast, slow = V._Report(), V._Report()
    got = V._parse_column(values, col, rows, fast)
    cells = values.to_numpy(dtype=object)
    want = V._parse_cells(cells, values.index, rows.to_numpy(), V._rules(col), slow)
    pd.testing.assert_series_equal(got, want)
    assert fast.rejected == slow.rejected
