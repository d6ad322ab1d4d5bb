"""OGC API – Features Parts 1-3 on the national demo, on both stores.

Expected answers are computed here from the demo's layers with plain pandas and Python (not with
``geo.filtering``), and every filter and sort runs on the GeoPackage store (evaluated in memory)
and on PostGIS (pushed down as SQL with bound parameters): both must give these answers.
"""

from __future__ import annotations

import json
import math
from datetime import date

import pandas as pd
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from services.settings import Settings
from tests.conftest import bearer, make_users

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def client(demo):
    admin = bearer(make_users(str(demo["store"].path))["admin"])  # every data route needs sign-in
    return TestClient(
        create_app(Settings(store=str(demo["store"].path), prepare_tiles=False)),
        raise_server_exceptions=False,
        headers=admin,
    )


@pytest.fixture(scope="module")
def pg_client(demo, postgis_url, tmp_path_factory):
    """The service on a PostGIS store holding the same layers as the demo."""
    from store.postgis import PostGISStore
    from tests.conftest import postgis_demo_database

    postgis_url = postgis_demo_database(tmp_path_factory, demo, postgis_url, "ogc")
    admin = bearer(make_users(postgis_url)["admin"])
    with TestClient(
        create_app(Settings(store=postgis_url, prepare_tiles=False)),
        raise_server_exceptions=False,
        headers=admin,
    ) as pg:
        pg.store_url = postgis_url  # the module's own database (``postgis_demo_database``)
        yield pg
    store = PostGISStore(postgis_url)
    store.drop_all()
    store.close()


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def any_client(request):
    """The client of either store (PostGIS marks the test as needing the server)."""
    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
        return request.getfixturevalue("pg_client")
    return request.getfixturevalue("client")


def all_ids(client, collection: str, **params) -> list[str]:
    """Every matching feature id, in the server's order (the f=geojson download has them all)."""
    response = client.get(f"/collections/{collection}/items", params={**params, "f": "geojson"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return [f["id"] for f in response.json()["features"]]


def problem(response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text
    return response.json()["detail"]


# ---- Part 1: Core ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/collections/ngos/items?foo=bar",
        "/collections/ngos/items/SYN-1?foo=bar",
        "/collections/ngos?foo=bar",
        "/collections?foo=bar",
        "/conformance?foo=bar",
        "/?foo=bar",
        "/priorities?foo=bar",
        "/tiles/settlements/5/20/12.mvt?foo=bar",
        "/collections/ngos/queryables?foo=bar",
    ],
)
def test_unknown_parameters_are_refused_naming_the_allowed_ones(client, url):
    detail = problem(client.get(url))
    assert "unknown query parameter foo" in detail
    if "/items?" in url:
        assert "bbox" in detail and "filter" in detail and "service_type" in detail


def test_a_filter_of_another_collection_is_unknown_there(client):
    detail = problem(client.get("/collections/settlements/items?service_type=kindergarten"))
    assert "service_type" in detail and "kind" in detail and "province" in detail


@pytest.mark.parametrize(
    "url",
    [
        "/collections/ngos/items?limit=0",
        "/collections/ngos/items?limit=abc",
        "/collections/ngos/items?status=sleeping",
        "/collections/ngos/items?province=7",
        "/collections/ngos/items?datetime=yesterday",
        "/collections/ngos/items?datetime=2024-05-01/2024-01-01",
        "/collections/ngos/items?bbox=1,2,3,4,5",
        "/collections/ngos/items?sortby=beauty",
        "/collections/ngos/items?crs=EPSG:2056",
        "/collections/ngos/items?f=pdf",
        "/collections/counties/items?datetime=2024-01-01",  # counties have no dates
    ],
)
def test_bad_values_are_400(client, url):
    problem(client.get(url))


def test_six_number_bbox_equals_four(client):
    four = all_ids(client, "ngos", bbox="51.2,35.6,51.5,35.8")
    six = all_ids(client, "ngos", bbox="51.2,35.6,-100,51.5,35.8,5000")
    assert four and four == six


def licences_valid(ngos: pd.DataFrame, start: date | None, end: date | None) -> list[str]:
    """Licences whose [issued_on, expires_on] (open where missing) meets [start, end]."""
    out = []
    for row in ngos.itertuples():
        issued = None if pd.isna(row.issued_on) else row.issued_on.date()
        expires = None if pd.isna(row.expires_on) else row.expires_on.date()
        if end is not None and issued is not None and issued > end:
            continue
        if start is not None and expires is not None and expires < start:
            continue
        out.append(row.licence_no)
    return sorted(out)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024-01-01T00:00:00Z/..", date(2024, 1, 1), None),
        ("../2015-06-30", None, date(2015, 6, 30)),
        ("2020-03-01/2020-03-31T23:59:59Z", date(2020, 3, 1), date(2020, 3, 31)),
        ("2031-01-01", date(2031, 1, 1), date(2031, 1, 1)),
    ],
)
def test_datetime_selects_licences_valid_then(any_client, demo, value, start, end):
    expected = licences_valid(demo["layers"]["ngos"], start, end)
    got = sorted(all_ids(any_client, "ngos", datetime=value))
    assert 0 < len(got) < len(demo["layers"]["ngos"])
    assert got == expected


def test_geojson_download_has_the_real_ids(client, demo):
    body = client.get("/collections/ngos/items?province=07&f=geojson").json()
    ngos = demo["layers"]["ngos"]
    expected = ngos.loc[ngos["province_code"] == "07", "licence_no"].tolist()
    assert [f["id"] for f in body["features"]] == expected
    assert all(f["id"] == f["properties"]["licence_no"] for f in body["features"])


def test_items_as_html_right_to_left(client, demo):
    for response in (
        client.get("/collections/counties/items?province=07&limit=5&f=html"),
        client.get("/collections/counties/items?province=07&limit=5", headers={"Accept": "text/html"}),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert 'dir="rtl"' in page and 'lang="fa"' in page
        assert page.count('<tr data-id="07') == 5  # five counties of Fars, one row each
        assert 'rel="next"' in page
        assert "<script" not in page and "http://" not in page.replace("http://testserver", "")
    one = client.get("/collections/counties/items/0707?f=html")
    assert one.status_code == 200 and "شیراز" in one.text


# ---- Part 3: queryables and CQL2 ---------------------------------------------------------------


def test_queryables_are_a_json_schema_per_collection(client):
    for cid in ("ngos", "settlements", "saturation", "flags"):
        response = client.get(f"/collections/{cid}/queryables")
        assert response.headers["content-type"] == "application/schema+json"
        schema = response.json()
        assert schema["type"] == "object" and schema["$id"].endswith(f"/collections/{cid}/queryables")
        props = schema["properties"]
        assert "province_code" in props and "geometry" in props
    ngo = client.get("/collections/ngos/queryables").json()["properties"]
    assert ngo["service_type"]["enum"][0] == "rehabilitation"
    assert ngo["issued_on"] == {
        "type": "string",
        "format": "date",
        "description": ngo["issued_on"]["description"],
    }
    assert ngo["capacity"]["type"] == "integer"
    assert ngo["geometry"]["format"] == "geometry-point"
    links = client.get("/collections/ngos").json()["links"]
    assert any(link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables" for link in links)


def _ngos(demo):
    return demo["layers"]["ngos"]


def _inside(frame, geometry) -> pd.Series:
    return pd.Series(shapely.intersects(frame.geometry.to_numpy(), geometry), index=frame.index)


#: (collection, CQL2 text, CQL2 JSON or None, expected rows from the layer with plain pandas)
CASES = [
    (
        "ngos",
        "service_type = 'kindergarten' AND capacity > 40",
        {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "service_type"}, "kindergarten"]},
                {"op": ">", "args": [{"property": "capacity"}, 40]},
            ],
        },
        lambda f: (f["service_type"] == "kindergarten") & (f["capacity"] > 40),
    ),
    (
        "ngos",
        "status IN ('suspended', 'expired') OR capacity <= 5",
        {
            "op": "or",
            "args": [
                {"op": "in", "args": [{"property": "status"}, ["suspended", "expired"]]},
                {"op": "<=", "args": [{"property": "capacity"}, 5]},
            ],
        },
        lambda f: f["status"].isin(["suspended", "expired"]) | (f["capacity"] <= 5),
    ),
    (
        "ngos",
        "capacity BETWEEN 10 AND 20 AND NOT (province_code = '07')",
        {
            "op": "and",
            "args": [
                {"op": "between", "args": [{"property": "capacity"}, 10, 20]},
                {"op": "not", "args": [{"op": "=", "args": [{"property": "province_code"}, "07"]}]},
            ],
        },
        lambda f: f["capacity"].between(10, 20) & (f["province_code"] != "07"),
    ),
    (
        "ngos",
        "issued_on IS NULL AND NOT (expires_on IS NOT NULL)",
        {
            "op": "and",
            "args": [
                {"op": "isNull", "args": [{"property": "issued_on"}]},
                {
                    "op": "not",
                    "args": [{"op": "not", "args": [{"op": "isNull", "args": [{"property": "expires_on"}]}]}],
                },
            ],
        },
        lambda f: f["issued_on"].isna() & f["expires_on"].isna(),
    ),
    (
        "ngos",
        "issued_on >= DATE('2022-01-01') AND expires_on < DATE('2028-01-01')",
        {
            "op": "and",
            "args": [
                {"op": ">=", "args": [{"property": "issued_on"}, {"date": "2022-01-01"}]},
                {"op": "<", "args": [{"property": "expires_on"}, {"date": "2028-01-01"}]},
            ],
        },
        lambda f: (
            (f["issued_on"] >= pd.Timestamp("2022-01-01")) & (f["expires_on"] < pd.Timestamp("2028-01-01"))
        ),
    ),
    (
        "ngos",
        "S_INTERSECTS(geometry, BBOX(51.2, 35.6, 51.5, 35.8)) AND status <> 'active'",
        {
            "op": "and",
            "args": [
                {
                    "op": "s_intersects",
                    "args": [{"property": "geometry"}, {"bbox": [51.2, 35.6, 51.5, 35.8]}],
                },
                {"op": "<>", "args": [{"property": "status"}, "active"]},
            ],
        },
        lambda f: _inside(f, shapely.box(51.2, 35.6, 51.5, 35.8)) & (f["status"] != "active"),
    ),
    (
        "settlements",
        "S_WITHIN(geometry, POLYGON((51 35, 52.5 35, 52.5 36.5, 51 35))) AND kind = 'city'",
        {
            "op": "and",
            "args": [
                {
                    "op": "s_within",
                    "args": [
                        {"property": "geometry"},
                        {"type": "Polygon", "coordinates": [[[51, 35], [52.5, 35], [52.5, 36.5], [51, 35]]]},
                    ],
                },
                {"op": "=", "args": [{"property": "kind"}, "city"]},
            ],
        },
        lambda f: (
            pd.Series(
                shapely.within(f.geometry.to_numpy(), shapely.Polygon([(51, 35), (52.5, 35), (52.5, 36.5)])),
                index=f.index,
            )
            & (f["kind"] == "city")
        ),
    ),
    (
        "counties",
        "S_INTERSECTS(geometry, POINT(52.53 29.61))",
        {
            "op": "s_intersects",
            "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [52.53, 29.61]}],
        },
        lambda f: _inside(f, shapely.Point(52.53, 29.61)),
    ),
    (
        "settlements",
        "CASEI(name_en) LIKE CASEI('%abad') AND population >= 1000",
        {
            "op": "and",
            "args": [
                {
                    "op": "like",
                    "args": [
                        {"op": "casei", "args": [{"property": "name_en"}]},
                        {"op": "casei", "args": ["%abad"]},
                    ],
                },
                {"op": ">=", "args": [{"property": "population"}, 1000]},
            ],
        },
        lambda f: (
            f["name_en"].str.lower().str.endswith("abad").fillna(False).astype(bool)
            & (f["population"] >= 1000)
        ),
    ),
    (
        "counties",
        "parent_county_code IS NOT NULL AND parent_county_code <> county_code",
        None,
        lambda f: f["parent_county_code"].notna() & (f["parent_county_code"] != f["county_code"]),
    ),
    (
        "settlements",
        "name_fa LIKE 'شهر%' OR name_fa LIKE '_باد'",
        None,
        lambda f: f["name_fa"].str.startswith("شهر") | f["name_fa"].str.fullmatch(".باد"),
    ),
]


@pytest.mark.parametrize(
    ("case", "lang"),
    [(i, "cql2-text") for i in range(len(CASES))]
    + [(i, "cql2-json") for i, case in enumerate(CASES) if case[2] is not None],
)
def test_cql2_filters_select_what_pandas_selects(any_client, demo, case, lang):
    collection, text, as_json, expected = CASES[case]
    frame = demo["layers"][collection]
    key = {"ngos": "licence_no", "settlements": "settlement_code", "counties": "county_code"}[collection]
    want = sorted(frame.loc[expected(frame).fillna(False).astype(bool), key])
    if lang == "cql2-text":
        got = all_ids(any_client, collection, filter=text)
    else:
        got = all_ids(any_client, collection, filter=json.dumps(as_json), **{"filter-lang": "cql2-json"})
    assert sorted(got) == want
    assert 0 < len(want) < len(frame), "a case should select some rows, not all"


def test_cql2_on_analysis_results(client, demo):
    body = client.get(
        "/collections/saturation/items",
        params={
            "filter": "class = 'underserved' AND ratio_to_norm < 0.5 AND province_code = '11'",
            "limit": 1000,
        },
    ).json()
    assert body["numberMatched"] == len(body["features"]) > 0
    for f in body["features"]:
        p = f["properties"]
        assert p["class"] == "underserved" and p["ratio_to_norm"] < 0.5 and p["province_code"] == "11"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"filter": "beauty = 1"}, "queryables"),
        ({"filter": "capacity = 'many'"}, "capacity is a integer"),
        ({"filter": "issued_on > 'soon'"}, "must be a date"),
        ({"filter": "this is not cql"}, "not valid cql2-text"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "not valid cql2-json"),
        ({"filter": "capacity = 1", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter-lang": "cql2-text"}, "need a filter"),
        ({"filter": "capacity + 1 = 2"}, "does not support"),
        ({"filter": "S_INTERSECTS(capacity, POINT(1 2))"}, "geometry"),
        ({"filter": "S_DWITHIN(geometry, POINT(51 35), 10, meters)"}, "not valid"),
    ],
)
def test_bad_filters_are_400_saying_why(client, params, says):
    detail = problem(client.get("/collections/ngos/items", params=params))
    assert says in detail


def test_filter_text_never_becomes_sql(pg_client):
    import sqlalchemy as sa

    for hostile in ("name_fa = '; DROP TABLE ngos; --'", "name_fa LIKE '%\" OR 1=1 --'"):
        assert all_ids(pg_client, "ngos", filter=hostile) == []
    engine = sa.create_engine(pg_client.store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ngos")).scalar() == 25_000
    engine.dispose()


def test_sortby_several_keys(any_client, demo):
    ngos = demo["layers"]["ngos"]
    rows = ngos[ngos["province_code"] == "11"]
    expected = [
        r.licence_no
        for r in sorted(rows.itertuples(), key=lambda r: (-r.capacity, r.service_type, r.licence_no))
    ]
    got = all_ids(any_client, "ngos", province="11", sortby="-capacity,+service_type")
    assert got == expected
    names = sorted(rows.itertuples(), key=lambda r: (r.name_fa, r.licence_no))
    assert all_ids(any_client, "ngos", province="11", sortby="name_fa") == [r.licence_no for r in names]


def test_paging_follows_the_sort_order(any_client, demo):
    first = any_client.get("/collections/settlements/items?sortby=-population&limit=3").json()
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = any_client.get(nxt.replace("http://testserver", "")).json()
    pops = [f["properties"]["population"] for f in first["features"] + second["features"]]
    top = demo["layers"]["settlements"]["population"].sort_values(ascending=False).head(6).tolist()
    assert pops == top


# ---- Part 2: CRS -------------------------------------------------------------------------------

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def test_collections_declare_their_crs(client):
    meta = client.get("/collections/ngos").json()
    assert meta["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert {f"{EPSG}4326", f"{EPSG}3857", f"{EPSG}32639"} <= set(meta["crs"])


@pytest.mark.parametrize("code", [4326, 3857, 32638, 32639, 32640, 32641])
def test_answers_in_another_crs(any_client, code):
    plain = any_client.get("/collections/ngos/items?province=07&limit=5").json()["features"]
    response = any_client.get(f"/collections/ngos/items?province=07&limit=5&crs={EPSG}{code}")
    assert response.headers["content-crs"] == f"<{EPSG}{code}>"
    moved = response.json()["features"]
    to = pyproj.Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # authority axis order
    for a, b in zip(plain, moved, strict=True):
        assert a["id"] == b["id"]
        x, y = to.transform(*a["geometry"]["coordinates"])
        assert b["geometry"]["coordinates"] == pytest.approx([x, y], rel=1e-9)
    if code == 4326:  # latitude first
        lon, lat = plain[0]["geometry"]["coordinates"]
        assert moved[0]["geometry"]["coordinates"] == pytest.approx([lat, lon])
    one = any_client.get(f"/collections/ngos/items/{plain[0]['id']}?crs={EPSG}{code}")
    assert one.headers["content-crs"] == f"<{EPSG}{code}>"
    assert one.json()["geometry"]["coordinates"] == pytest.approx(moved[0]["geometry"]["coordinates"])


def test_bbox_and_filter_in_other_crs(any_client):
    lonlat = all_ids(any_client, "ngos", bbox="51.2,35.6,51.5,35.8")
    latlon = all_ids(any_client, "ngos", bbox="35.6,51.2,35.8,51.5", **{"bbox-crs": f"{EPSG}4326"})
    to = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to.transform([51.2, 51.5], [35.6, 35.8])
    merc = all_ids(any_client, "ngos", bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": f"{EPSG}3857"})
    assert lonlat and lonlat == latlon == merc
    utm = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:32639", always_xy=True)
    ring = [
        utm.transform(x, y) for x, y in [(51.2, 35.6), (51.5, 35.6), (51.5, 35.8), (51.2, 35.8), (51.2, 35.6)]
    ]
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    in_utm = all_ids(
        any_client, "ngos", filter=f"S_INTERSECTS(geometry, {wkt})", **{"filter-crs": f"{EPSG}32639"}
    )
    # The UTM polygon's edges are straight in UTM, not in lon/lat: nearly the same set.
    assert len(set(in_utm) ^ set(lonlat)) <= max(2, math.ceil(0.01 * len(lonlat)))


# ---- OGC API – Tiles ---------------------------------------------------------------------------


def test_tiles_metadata_tilejson_and_the_same_tile(client):
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"] == f"{EPSG}3857" and len(tms["tileMatrices"]) == 23
    z8 = tms["tileMatrices"][8]
    assert z8["matrixWidth"] == 256 and z8["cellSize"] == pytest.approx(2 * 20037508.3427892 / 256 / 256)
    listed = client.get("/collections/settlements/tiles").json()["tilesets"]
    assert listed[0]["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    meta = client.get("/collections/settlements/tiles/WebMercatorQuad").json()
    assert meta["dataType"] == "vector" and meta["layers"][0]["id"] == "settlements"
    template = next(link["href"] for link in meta["links"] if link["rel"] == "item")
    assert template.endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    tilejson = client.get("/collections/settlements/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tilejson"] == "3.0.0" and tilejson["vector_layers"][0]["id"] == "settlements"
    west, south, east, north = tilejson["bounds"]
    assert 43 < west < east < 64 and 24 < south < north < 40  # Iran
    # Row before column in OGC API Tiles; x before y in the XYZ URL TileJSON gives: the same tile.
    z, x, y = 8, 167, 104
    ogc = client.get(template.replace("http://testserver", "").format(tileMatrix=z, tileRow=y, tileCol=x))
    xyz = client.get(tilejson["tiles"][0].replace("http://testserver", "").format(z=z, x=x, y=y))
    assert ogc.status_code == 200 and ogc.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert ogc.content == xyz.content and len(ogc.content) > 100
    links = client.get("/collections/settlements").json()["links"]
    assert any(link["rel"].endswith("/tilesets-vector") for link in links)
    assert client.get("/collections/saturation/tiles").status_code == 404


# ---- weights of /priorities ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "says"),
    [
        ("need:1,need:2", "given twice"),
        ("need:nan", "finite"),
        ("need:inf", "finite"),
        ("need:-1", "negative"),
        ("need:0,gap:0,distance:0,population:0,target_area:0", "positive"),
        ("beauty:1", "criteria: need"),
        ("need", "need:0.4"),
    ],
)
def test_bad_weights_are_400_saying_why(client, weights, says):
    assert says in problem(client.get("/priorities", params={"province": "11", "weights": weights}))


def test_huge_weights_rank_as_their_ratio(client):
    huge = client.get("/priorities?province=11&top=10&weights=need:1e308,gap:1e308").json()
    plain = client.get(
        "/priorities?province=11&top=10&weights=need:1,gap:1,distance:0,population:0,target_area:0"
    ).json()
    assert huge["weights"] == pytest.approx(plain["weights"]) and huge["weights"]["need"] == pytest.approx(
        0.5
    )
    assert [v["settlement_code"] for v in huge["villages"]] == [
        v["settlement_code"] for v in plain["villages"]
    ]
    assert max(v["score"] for v in huge["villages"]) > 0


# ---- a QGIS-style round trip: read the queryables, build CQL2 from them, filter on the server ----


@pytest.mark.parametrize("collection", ["ngos", "settlements", "target_areas", "counties"])
def test_queryables_to_cql2_round_trip(any_client, demo, collection):
    """As QGIS does: every queryable with a list of values, and every integer one, becomes a filter."""
    schema = any_client.get(f"/collections/{collection}/queryables").json()
    frame = demo["layers"][collection]
    key = {"ngos": "licence_no", "settlements": "settlement_code", "counties": "county_code"}.get(
        collection, "target_code"
    )
    tried = 0
    for name, prop in schema["properties"].items():
        if "enum" in prop:
            value = prop["enum"][0]
            text, want = f"{name} = '{value}'", frame[name] == value
        elif prop.get("type") == "integer":
            value = int(frame[name].median())
            text, want = f"{name} >= {value}", frame[name] >= value
        else:
            continue
        got = sorted(all_ids(any_client, collection, filter=text))
        assert got == sorted(frame.loc[want.fillna(False).astype(bool), key]), text
        tried += 1
    assert tried >= 1


# ---- the OpenAPI document ----------------------------------------------------------------------


def test_openapi_tells_the_truth(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.0")
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"
        in client.get("/conformance").json()["conformsTo"]
    )
    ngos = doc["paths"]["/collections/ngos/items"]["get"]
    names = {p["name"] for p in ngos["parameters"]}
    assert {"datetime", "service_type", "status", "filter", "sortby", "crs", "capacity"} <= names
    settlements = {p["name"] for p in doc["paths"]["/collections/settlements/items"]["get"]["parameters"]}
    assert "service_type" not in settlements and "datetime" not in settlements
    content = ngos["responses"]["200"]["content"]
    assert content["application/geo+json"]["schema"]["$ref"].endswith("/NgosFeatureCollection")
    assert {"text/html", "text/csv", "application/geopackage+sqlite3"} <= set(content)
    for status in ("400", "404", "500"):
        assert "application/problem+json" in ngos["responses"][status]["content"]
    assert "422" not in ngos["responses"]
    assert "422" in doc["paths"]["/licence-checks"]["post"]["responses"]
    props = doc["components"]["schemas"]["NgosProperties"]
    assert props["additionalProperties"] is False and props["properties"]["capacity"]["type"] == "integer"
    tile = doc["paths"]["/tiles/{collection}/{z}/{x}/{y}.mvt"]["get"]["responses"]["200"]["content"]
    assert list(tile) == ["application/vnd.mapbox-vector-tile"]
    assert "anyOf" not in json.dumps(doc) or '"type": "null"' not in json.dumps(doc)


def test_wrong_method_is_405_with_allow(client):
    response = client.post("/collections/ngos/items")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/problem+json"


def test_queryables_as_query_parameters(any_client, demo):
    """Part 3, queryables as query parameters: ?capacity=40&status=active is an equality filter."""
    ngos = demo["layers"]["ngos"]
    want = ngos[(ngos["capacity"] == 40) & (ngos["status"] == "active")]["licence_no"]
    assert all_ids(any_client, "ngos", capacity=40, status="active") == sorted(want) != []
    on_date = ngos["issued_on"].dropna().iloc[0]
    got = all_ids(any_client, "ngos", issued_on=on_date.strftime("%Y-%m-%d"))
    assert got == sorted(ngos.loc[ngos["issued_on"] == on_date, "licence_no"])
    assert "capacity" in problem(any_client.get("/collections/ngos/items?capacity=many"))
