"""The HTTP API on the national demo: OGC API – Features, vector tiles, analysis, exports, errors."""

from __future__ import annotations

import gzip
import shutil
import time

import mapbox_vector_tile
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
import shapely.geometry
from fastapi.testclient import TestClient

from api.app import create_app
from maps.tiles import tile_bounds
from services.settings import Settings
from tests.conftest import bearer, make_users

pytestmark = pytest.mark.realdata

#: Every collection the service publishes, in order: the layers, then the analysis results.
ALL_COLLECTIONS = [
    "provinces",
    "counties",
    "settlements",
    "ngos",
    "target_areas",
    "saturation",
    "settlement-access",
    "flags",
    "priorities",
]


@pytest.fixture(scope="module")
def client(demo, admin_headers):
    settings = Settings(store=str(demo["store"].path), prepare_tiles=False)
    return TestClient(create_app(settings), raise_server_exceptions=False, headers=admin_headers)


# ---- OGC API – Features ----------------------------------------------------------------------


def test_landing_conformance_and_collections(client):
    landing = client.get("/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    ids = [c["id"] for c in client.get("/collections").json()["collections"]]
    assert ids == ALL_COLLECTIONS
    assert client.get("/collections/ngos").json()["synthetic"] == "all"
    paths = client.get("/openapi.json").json()["paths"]
    assert all(f"/collections/{name}/items" in paths for name in ALL_COLLECTIONS)


def test_paging_walks_every_feature_once(client, demo):
    url = "/collections/settlements/items?county=0707&limit=500"
    seen, pages = [], 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("application/geo+json")
        body = page.json()
        seen += [f["id"] for f in body["features"]]
        assert body["numberReturned"] == len(body["features"])
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    settlements = demo["layers"]["settlements"]
    expected = settlements.loc[settlements["county_code"] == "0707", "settlement_code"]
    assert body["numberMatched"] == len(expected) == len(seen) == len(set(seen))
    assert set(seen) == set(expected)
    assert pages == -(-len(expected) // 500)


def test_bbox_and_filters(client):
    body = client.get(
        "/collections/ngos/items?bbox=51.2,35.6,51.5,35.8&service_type=kindergarten&status=active&limit=1000"
    ).json()
    assert body["numberMatched"] > 0
    for f in body["features"]:
        x, y = f["geometry"]["coordinates"]
        assert 51.2 <= x <= 51.5 and 35.6 <= y <= 35.8
        assert f["properties"]["service_type"] == "kindergarten" and f["properties"]["status"] == "active"
    sat = client.get("/collections/saturation/items?province=11&class=underserved&limit=1000").json()
    assert all(
        f["properties"]["class"] == "underserved" and f["id"].startswith("11") for f in sat["features"]
    )


def test_one_feature_and_its_absence(client):
    f = client.get("/collections/counties/items/0707").json()
    assert f["properties"]["name_fa"] == "شیراز" and f["geometry"]["type"] == "MultiPolygon"
    missing = client.get("/collections/counties/items/9999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/collections/nowhere/items", 404),
        ("/collections/ngos/items?bbox=1,2,3", 400),
        ("/collections/ngos/items?bbox=52,36,51,35", 400),  # inverted
        ("/collections/ngos/items?bbox=0,0,200,10", 400),  # out of range
        ("/collections/ngos/items?bbox=a,b,c,d", 400),
        ("/collections/ngos/items?limit=many", 400),
        ("/collections/ngos/items?limit=0", 400),
        ("/collections/ngos/items?offset=-1", 400),
        ("/collections/ngos/items?service_type=juggling", 400),
        ("/collections/counties/items?status=active", 400),
        ("/collections/ngos/items?f=pdf", 400),
        ("/tiles/settlements/3/9/9.mvt", 400),
        ("/tiles/rivers/3/1/1.mvt", 404),
        ("/priorities?weights=need", 400),
        ("/priorities?weights=beauty:1", 400),
        ("/priorities?province=7x", 400),
        ("/settlements/12", 400),
        ("/settlements/0000000000", 404),
    ],
)
def test_bad_requests_get_problem_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    assert "Traceback" not in response.text


def test_malformed_json_is_a_4xx(client):
    response = client.post(
        "/licence-checks", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


# ---- exports ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx", "gpkg"])
def test_exports_open_in_gdal_with_the_same_row_count(client, tmp_path, fmt):
    matched = client.get("/collections/ngos/items?province=07&limit=1").json()["numberMatched"]
    response = client.get(f"/collections/ngos/items?province=07&f={fmt}")
    assert response.status_code == 200
    path = tmp_path / f"ngos.{fmt}"
    path.write_bytes(response.content)
    assert pyogrio.read_info(path)["features"] == matched
    if fmt == "csv":
        assert response.content.startswith(b"\xef\xbb\xbf")


def test_analysis_results_export_too(client, tmp_path):
    response = client.get("/priorities?province=11&top=20&f=xlsx")
    path = tmp_path / "p.xlsx"
    path.write_bytes(response.content)
    table = pd.read_excel(path)
    assert table["rank"].tolist() == list(range(1, 21))


# ---- analysis --------------------------------------------------------------------------------


def test_licence_check_endpoint_equals_the_core(client, demo):
    body = {"lon": 57.3, "lat": 27.2, "service_type": "rehabilitation", "capacity": 40}
    answer = client.post("/licence-checks", json=body).json()
    from services.loading import analysis_from_store, load_norms, travel_for

    norms = load_norms(Settings().norms)
    direct = analysis_from_store(demo["store"], norms, travel_for(Settings(), norms)).check_licence(
        57.3, 27.2, "rehabilitation", 40
    )
    assert answer["verdict"] == direct.verdict
    assert answer["newly_covered_target_population"] == direct.newly_covered_target_population
    assert [p["settlement_code"] for p in answer["better_places"]] == [
        p["settlement_code"] for p in direct.better_places
    ]
    outside = client.post("/licence-checks", json={**body, "lon": 10.0, "lat": 10.0})
    assert outside.status_code == 400 and "outside Iran" in outside.json()["detail"]


def test_priorities_saturation_concentration_and_one_settlement(client):
    p = client.get(
        "/priorities?province=11&service_type=rehabilitation&weights=need:0,gap:0,distance:1,population:0,target_area:0&top=5"
    ).json()
    assert p["weights"]["distance"] == pytest.approx(1.0)
    partial = client.get("/priorities?province=11&weights=distance:1&top=1").json()["weights"]
    assert partial["distance"] == pytest.approx(1 / 1.8)  # the others keep their defaults (0.8 in all)
    assert [v["rank"] for v in p["villages"]] == [1, 2, 3, 4, 5]
    assert all(v["province_code"] == "11" for v in p["villages"])
    scores = [v["score"] for v in p["villages"]]
    assert scores == sorted(scores, reverse=True)
    sat = client.get("/saturation?province=11&service_type=kindergarten").json()
    assert sat["numberReturned"] == 23 and all(r["service_type"] == "kindergarten" for r in sat["rows"])
    conc = client.get("/concentration").json()["tiers"]
    assert [t["tier"] for t in conc] == ["metropolis", "large_city", "mid_city", "small_town", "village"]
    assert conc[-1]["lq_ngos"] < 1 < conc[1]["lq_ngos"]
    code = p["villages"][0]["settlement_code"]
    place = client.get(f"/settlements/{code}").json()
    assert place["settlement"]["id"] == code
    assert place["services"]["rehabilitation"]["flagged"] is True
    assert "km" in place["services"]["rehabilitation"]["reason_en"]


def test_results_follow_the_store_after_an_import(demo, tmp_path):
    from exchange.imports import import_file
    from store import open_store

    path = tmp_path / "copy.gpkg"
    shutil.copyfile(demo["store"].path, path)
    client = TestClient(
        create_app(Settings(store=str(path))),
        raise_server_exceptions=False,
        headers=bearer(make_users(str(path))["admin"]),
    )
    before = client.get("/collections/ngos/items?county=1123&limit=1").json()["numberMatched"]
    sat_before = client.get("/saturation?service_type=rehabilitation").json()["rows"]
    cap_before = next(r for r in sat_before if r["county_code"] == "1123")["capacity"]
    csv = tmp_path / "new.csv"
    pd.DataFrame(
        [
            {
                "licence_no": "NEW-1",
                "name_fa": "مرکز تازه",
                "service_type": "rehabilitation",
                "capacity": 77,
                "status": "active",
                "issued_on": "1403/01/01",
                "expires_on": "1408/01/01",
                "county_code": "1123",
                "lon": 61.25,
                "lat": 26.65,
            }
        ]
    ).to_csv(csv, index=False)
    import_file(open_store(str(path)), "ngos", csv, mode="append")
    after = client.get("/collections/ngos/items?county=1123&limit=1").json()["numberMatched"]
    assert after == before + 1
    sat_after = client.get("/saturation?service_type=rehabilitation").json()["rows"]
    assert next(r for r in sat_after if r["county_code"] == "1123")["capacity"] == cap_before + 77


# ---- vector tiles ----------------------------------------------------------------------------


#: Tehran's Statistical Centre code (the city).
TEHRAN_CODE = "2301021576"


def tiles_around(lon: float, lat: float, zooms):
    import math

    for z in zooms:
        n = 1 << z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        yield z, x, y


@pytest.mark.parametrize("collection", ["settlements", "ngos", "counties"])
def test_tiles_hold_the_features_of_their_extent(client, demo, collection):
    # Around Tehran's own point (the city's settlement), so that every zoom's tile holds it.
    s = demo["layers"]["settlements"]
    tehran = s[(s["settlement_code"] == TEHRAN_CODE)].geometry.iloc[0]
    for z, x, y in tiles_around(tehran.x, tehran.y, range(4, 13)):
        response = client.get(f"/tiles/{collection}/{z}/{x}/{y}.mvt")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert len(response.content) < 500_000, (z, len(response.content))
        decoded = mapbox_vector_tile.decode(response.content)
        features = decoded[collection]["features"]
        assert features, (collection, z)
        for feature in features[:50]:
            if feature["geometry"]["type"] == "Point":
                px, py = feature["geometry"]["coordinates"]
                assert -64 <= px <= 4096 + 64 and -64 <= py <= 4096 + 64
    # The Tehran tile at z12 holds every settlement whose point falls in it.
    z, x, y = next(tiles_around(tehran.x, tehran.y, [12]))
    decoded = mapbox_vector_tile.decode(client.get(f"/tiles/settlements/{z}/{x}/{y}.mvt").content)
    got = {
        f["properties"]["settlement_code"] for f in decoded.get("settlements", {"features": []})["features"]
    }
    merc = demo["layers"]["settlements"].to_crs(3857)
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    inside = merc[merc.geometry.within(shapely.box(minx, miny, maxx, maxy))]["settlement_code"]
    assert set(inside) <= got


def test_low_zoom_tiles_are_prepared_ahead_and_equal_tiles_made_on_demand(demo, client, admin_headers):
    prepared = TestClient(
        create_app(Settings(store=str(demo["store"].path))),
        raise_server_exceptions=False,
        headers=dict(admin_headers),
    )
    deadline = time.monotonic() + 180
    while not prepared.get("/").json()["tiles_prepared"]:
        assert time.monotonic() < deadline, "tiles were not prepared"
        time.sleep(0.5)
    snap = prepared.app.state.snapshots.current()
    z, x, y = next(tiles_around(51.39, 35.69, [7]))
    cached = prepared.app.state.caches.tiles.get((snap.version, "settlements", z, x, y))
    from api.routers.tiles import source

    # A dense tile is kept gzipped only (its plain form is several times larger and rarely asked for).
    assert cached is not None and cached[0] is None and len(gzip.decompress(cached[1])) < 500_000
    tile = source(snap, "settlements").tile(z, x, y)
    assert gzip.decompress(cached[1]) == tile
    served = prepared.get(f"/tiles/settlements/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
    assert served.headers["content-encoding"] == "gzip" and served.content == tile
    unzipped = prepared.get(f"/tiles/settlements/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in unzipped.headers and unzipped.content == tile


def test_an_empty_tile_is_an_empty_answer(client):
    response = client.get("/tiles/settlements/8/0/0.mvt")  # the Pacific
    assert response.status_code == 200 and response.content == b""


# ---- a GIS client: GDAL's OAPIF driver against a running server -------------------------------


def test_gdal_oapif_lists_and_reads_every_collection(server, admin_headers):
    # GDAL sends the API token as a program would.
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    source = f"OAPIF:{server}"
    layers = [str(name) for name in pyogrio.list_layers(source)[:, 0]]
    assert layers == ALL_COLLECTIONS
    for name in layers:
        frame = pyogrio.read_dataframe(source, layer=name, max_features=25)
        assert 0 < len(frame) <= 25, name
        assert frame.crs == pyproj.CRS("OGC:CRS84")  # the storageCrs each collection declares
        assert frame.geometry.notna().all()
    # A whole collection through GDAL's paging.
    provinces = pyogrio.read_dataframe(source, layer="provinces")
    assert len(provinces) == 31 and "تهران" in set(provinces["name_fa"])
    target = pyogrio.read_dataframe(source, layer="target_areas")
    assert len(target) == 500
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


@pytest.mark.postgis
def test_the_api_answers_the_same_on_postgis(demo, postgis_store, postgis_url, client):
    with postgis_store.transaction() as tx:
        for name, frame in demo["layers"].items():
            tx.write_layer(name, frame)
    headers = bearer(make_users(postgis_url)["admin"])
    with TestClient(
        create_app(Settings(store=postgis_url)), raise_server_exceptions=False, headers=headers
    ) as pg:
        compare_stores(pg, client)


def compare_stores(pg, client):
    for url in (
        "/collections/settlements/items?county=0707&limit=100",
        "/collections/ngos/items?bbox=51.2,35.6,51.5,35.8&limit=50",
        "/collections/saturation/items?province=11&limit=20",
        "/saturation?province=07&service_type=rehabilitation",
        "/priorities?province=11&top=5",
    ):
        a, b = pg.get(url).json(), client.get(url).json()
        for body in (a, b):
            body.pop("timeStamp", None)
            body.pop("links", None)
        assert a == b, url
    body = {"lon": 57.3, "lat": 27.2, "service_type": "rehabilitation", "capacity": 40}
    assert pg.post("/licence-checks", json=body).json() == client.post("/licence-checks", json=body).json()
    assert (
        pg.get("/tiles/settlements/8/167/104.mvt").content
        == client.get("/tiles/settlements/8/167/104.mvt").content
    )


def test_travel_on_roads_in_the_answers(client):
    """The shipped norms travel on roads: minutes beside kilometres, and the catchment area."""
    body = {"lon": 57.3, "lat": 27.2, "service_type": "rehabilitation", "capacity": 40}
    check = client.post("/licence-checks", json=body).json()
    assert check["travel"] == "roads" and check["catchment_min"] == 45
    assert all(n["travel_min"] <= 45 for n in check["same_type_nearby"])
    area = client.get("/catchment-areas", params={"lon": 57.3, "lat": 27.2, "service_type": "rehabilitation"})
    assert area.status_code == 200 and area.headers["content-type"].startswith("application/geo+json")
    feature = area.json()
    shape = shapely.geometry.shape(feature["geometry"])
    assert shape.is_valid and shape.contains(shapely.Point(57.3, 27.2))
    assert feature["properties"]["catchment_min"] == 45
    outside = client.get("/catchment-areas", params={"lon": 10, "lat": 10, "service_type": "rehabilitation"})
    assert outside.status_code == 400 and outside.headers["content-type"] == "application/problem+json"
    items = client.get("/collections/settlement-access/items", params={"limit": 5}).json()
    props = items["features"][0]["properties"]
    assert "rehabilitation_nearest_min" in props and "rehabilitation_road_fallback" in props
    code = props["settlement_code"]
    one = client.get(f"/settlements/{code}").json()["services"]["rehabilitation"]
    assert one["nearest_min"] == pytest.approx(props["rehabilitation_nearest_min"], abs=0.051)
    assert one["catchment_min"] == 45
