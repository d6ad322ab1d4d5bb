"""The HTTP service on the small hand-built store: every route family, in a few seconds.

The same checks on the national demo are in ``test_http.py`` (marked ``realdata``); here the
answers are compared with the analysis computed directly from the same small store.
"""

from __future__ import annotations

import math
import shutil

import mapbox_vector_tile
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from geo.errors import UnknownProvinceError
from maps.tiles import BUFFER, EXTENT, tile_bounds
from services.loading import analysis_from_store, load_norms, travel_for
from services.scope import COARSENING
from services.settings import Settings
from tests import small_world
from tests.conftest import bearer, make_users


@pytest.fixture(scope="module")
def analysis(small_store):
    settings = Settings()
    norms = load_norms(settings.norms)
    # the same travel cost as the service's (the norms choose roads: the reference road network)
    return analysis_from_store(small_store, norms, travel_for(settings, norms))


def test_landing_counts_the_small_world(small_client, small_layers):
    body = small_client.get("/").json()
    counts = {layer["name"]: layer["count"] for layer in body["layers"]}
    assert counts == {name: len(f) for name, f in small_layers.items() if name != "layer_info"}
    assert "ساختگی" in body["notice_fa"] and "OpenStreetMap" in body["attribution"]
    ids = [c["id"] for c in small_client.get("/collections").json()["collections"]]
    assert {"settlements", "ngos", "saturation", "flags", "priorities"} <= set(ids)


def test_paging_walks_every_feature_once(small_client, small_layers):
    url = "/collections/settlements/items?county=0001&limit=3"
    seen = []
    while url:
        body = small_client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
    s = small_layers["settlements"]
    expected = set(s.loc[s["county_code"] == "0001", "settlement_code"])
    assert len(seen) == len(set(seen)) == len(expected) == body["numberMatched"]
    assert set(seen) == expected


def test_bbox_and_filters(small_client, small_layers):
    body = small_client.get("/collections/ngos/items?bbox=49.6,34.0,49.8,34.2&status=active").json()
    ngos = small_layers["ngos"].cx[49.6:49.8, 34.0:34.2]
    assert body["numberMatched"] == (ngos["status"] == "active").sum() == 4  # Arak city's active centres
    for f in body["features"]:
        x, y = f["geometry"]["coordinates"]
        assert 49.6 <= x <= 49.8 and 34.0 <= y <= 34.2 and f["properties"]["status"] == "active"


def test_one_feature_and_its_absence(small_client):
    f = small_client.get("/collections/counties/items/0002").json()
    assert f["properties"]["name_fa"] == "خمین" and f["geometry"]["type"] == "MultiPolygon"
    missing = small_client.get("/collections/counties/items/9999")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-feature"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/collections/nowhere/items", 404),
        ("/collections/ngos/items?bbox=1,2,3", 400),
        ("/collections/ngos/items?bbox=52,36,51,35", 400),
        ("/collections/ngos/items?service_type=juggling", 400),
        ("/collections/ngos/items?limit=0", 400),  # OGC API Features: a bad parameter value is a 400
        ("/tiles/settlements/3/9/9.mvt", 400),
        ("/tiles/rivers/3/1/1.mvt", 404),
        ("/priorities?weights=beauty:1", 400),
        ("/settlements/12", 400),
        ("/settlements/0000000000", 404),
        ("/concentration?province=99", 404),
    ],
)
def test_bad_requests_get_problem_json(small_client, url, status):
    response = small_client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status and "Traceback" not in response.text


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx", "gpkg"])
def test_exports_open_in_gdal_with_the_same_row_count(small_client, tmp_path, fmt):
    response = small_client.get(f"/collections/ngos/items?county=0001&f={fmt}")
    assert response.status_code == 200
    path = tmp_path / f"ngos.{fmt}"
    path.write_bytes(response.content)
    matched = small_client.get("/collections/ngos/items?county=0001&limit=1").json()["numberMatched"]
    assert pyogrio.read_info(path)["features"] == matched > 0


def test_a_download_leaves_no_file_behind_however_it_ends(small_client, tmp_path, monkeypatch):
    """An export's file is removed when its answer ends: sent whole, a part of it sent, a Range
    refused (416, 400: the file stayed before, a request at a time)."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def left() -> list[str]:
        return sorted(p.name for p in tmp_path.glob("amayesh-*"))

    url = "/collections/ngos/items?f=xlsx"
    assert small_client.get(url).status_code == 200
    for ranged, status in (
        ("bytes=0-9", 206),
        ("bytes=999999999-", 416),
        ("bytes=abc", 400),
        ("bytes=5-1", 400),
    ):
        assert small_client.get(url, headers={"Range": ranged}).status_code == status, ranged
        assert left() == [], ranged


def test_licence_check_endpoint_equals_the_core(small_client, analysis):
    body = {"lon": 50.5, "lat": 34.7, "service_type": "rehabilitation", "capacity": 20}
    answer = small_client.post("/licence-checks", json=body).json()
    direct = analysis.check_licence(50.5, 34.7, "rehabilitation", 20)
    assert answer["verdict"] == direct.verdict
    assert answer["county_code"] == "0002"
    assert answer["newly_covered_target_population"] == direct.newly_covered_target_population
    assert answer["same_type_in_catchment"] == direct.same_type_in_catchment
    outside = small_client.post("/licence-checks", json={**body, "lon": 10.0, "lat": 10.0})
    assert outside.status_code == 400 and "outside Iran" in outside.json()["detail"]


def test_priorities_follow_the_core_and_export(small_client, analysis, tmp_path):
    answer = small_client.get("/priorities?province=00&service_type=rehabilitation&top=5").json()
    direct = analysis.priorities(province="00", service_type="rehabilitation", top=5)
    assert [v["settlement_code"] for v in answer["villages"]] == direct["settlement_code"].tolist()
    assert [v["rank"] for v in answer["villages"]] == [1, 2, 3, 4, 5]
    response = small_client.get("/priorities?province=00&top=4&f=xlsx")
    path = tmp_path / "p.xlsx"
    path.write_bytes(response.content)
    assert pd.read_excel(path)["rank"].tolist() == [1, 2, 3, 4]


def test_plain_json_writes_the_bytes_of_the_encoder_path():
    """Answers written at once (``api.deps.plain_json``) are the bytes FastAPI's encoder and
    Starlette's JSONResponse make, values json cannot write itself included; a download passes."""
    import datetime as dt
    import enum

    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse, Response
    from pydantic import BaseModel

    from api.deps import plain_json

    class Kind(enum.StrEnum):
        village = "village"

    class Part(BaseModel):
        name: str
        at: dt.date

    answer = {
        "name_fa": "روستای الف",
        "n": 3,
        "share": 0.125,
        "none": None,
        "day": dt.date(2025, 3, 21),
        "kind": Kind.village,
        "codes": ("07", "23"),
        "one": {"x"},
        "parts": [Part(name="ب", at=dt.date(2024, 1, 2))],
        "nested": [{"a": [1, 2.5, "ج"]}],
    }
    made = plain_json(lambda: answer)()
    assert made.media_type == "application/json"
    assert made.body == JSONResponse(jsonable_encoder(answer)).body
    with pytest.raises(ValueError):  # no NaN, as JSONResponse
        plain_json(lambda: {"x": math.nan})()
    download = Response(b"a,b\n", media_type="text/csv")
    assert plain_json(lambda: download)() is download


@pytest.mark.parametrize(
    "url",
    [
        "/priorities?province=00&top=5",
        "/saturation",
        "/saturation?service_type=kindergarten",
        "/volunteers/groups",
    ],
)
def test_answers_written_at_once_read_as_before(small_client, url):
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    response = small_client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.content == JSONResponse(jsonable_encoder(response.json())).body


def test_one_settlement_is_its_row_of_the_settlement_access_table(small_client, analysis):
    flagged = analysis.flags[analysis.flags["service_type"] == "rehabilitation"]
    code = flagged["settlement_code"].iloc[0]
    place = small_client.get(f"/settlements/{code}").json()
    assert place["settlement"]["id"] == code and place["county"]["county_code"] == code[:4]
    table = analysis.settlement_access([code]).set_index("service_type")
    assert set(place["services"]) == set(table.index)
    for service, row in table.iterrows():
        got = place["services"][service]
        assert got["target_population"] == row["target_population"]
        assert got["ngos_in_catchment"] == row["ngos_in_catchment"]
        assert got["flagged"] == row["flagged"]
        assert got["access_share_of_norm"] == pytest.approx(row["access_share"])
        if math.isfinite(row["nearest_km"]):
            assert got["nearest_km"] == pytest.approx(row["nearest_km"])
            assert got["nearest_ngo"]["licence_no"] == row["nearest_licence_no"]
    assert place["services"]["rehabilitation"]["flagged"] is True
    assert "km" in place["services"]["rehabilitation"]["reason_en"]


def test_saturation_and_concentration(small_client, analysis):
    sat = small_client.get("/saturation?service_type=kindergarten").json()
    assert sat["numberReturned"] == len(small_world.COUNTIES)
    want = analysis.saturation.xs("kindergarten", level="service_type")["class"]
    assert {r["county_code"]: r["class"] for r in sat["rows"]} == want.to_dict()
    tiers = small_client.get("/concentration?province=00").json()["tiers"]
    assert {t["tier"] for t in tiers} <= {"metropolis", "large_city", "mid_city", "small_town", "village"}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def test_tiles_hold_the_settlements_of_their_extent(small_client, small_layers):
    merc = small_layers["settlements"].to_crs(3857)
    for z in (6, 9):
        z, x, y = tile_of(49.69, 34.09, z)
        response = small_client.get(f"/tiles/settlements/{z}/{x}/{y}.mvt")
        assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        got = {
            f["properties"]["settlement_code"]
            for f in mapbox_vector_tile.decode(response.content)["settlements"]["features"]
        }
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        inside = merc[merc.geometry.within(shapely.box(minx, miny, maxx, maxy))]["settlement_code"]
        pad = (maxx - minx) * BUFFER / EXTENT  # a tile carries a margin of 64 of its 4096 units
        near = merc[merc.geometry.within(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))]
        assert set(inside) <= got <= set(near["settlement_code"]) and inside.size
    assert small_client.get("/tiles/settlements/8/0/0.mvt").content == b""


def test_results_follow_the_store_after_an_import(small_store, tmp_path):
    from exchange.imports import import_file
    from store import open_store

    path = tmp_path / "copy.gpkg"
    shutil.copyfile(small_store.path, path)
    client = TestClient(
        create_app(Settings(store=str(path), prepare_tiles=False)),
        headers=bearer(make_users(str(path))["admin"]),
    )
    before = client.get("/collections/ngos/items?county=0002&limit=1").json()["numberMatched"]
    rows = client.get("/saturation?service_type=rehabilitation").json()["rows"]
    cap_before = next(r for r in rows if r["county_code"] == "0002")["capacity"]
    csv = tmp_path / "new.csv"
    row = {"licence_no": "NEW-1", "name_fa": "مرکز تازه", "service_type": "rehabilitation", "capacity": 77}
    row |= {"status": "active", "issued_on": "1403/01/01", "expires_on": "1408/01/01"}
    row |= {"county_code": "0002", "lon": 50.6, "lat": 34.7}
    pd.DataFrame([row]).to_csv(csv, index=False)
    import_file(open_store(str(path)), "ngos", csv, mode="append")
    assert client.get("/collections/ngos/items?county=0002&limit=1").json()["numberMatched"] == before + 1
    rows = client.get("/saturation?service_type=rehabilitation").json()["rows"]
    assert next(r for r in rows if r["county_code"] == "0002")["capacity"] == cap_before + 77


def test_the_small_world_is_written_quickly(tmp_path):
    import time

    from store import open_store

    started = time.perf_counter()
    small_world.write(open_store(str(tmp_path / "s.gpkg")))
    assert time.perf_counter() - started < 5  # well under a second on an idle machine


def test_low_zoom_tiles_are_prepared_into_this_apps_cache(small_store):
    import time

    from api.routers.tiles import plain, source

    app = create_app(Settings(store=str(small_store.path)))
    other = create_app(Settings(store=str(small_store.path), prepare_tiles=False))
    client = TestClient(app, headers=bearer(make_users(str(small_store.path))["admin"]))
    deadline = time.monotonic() + 60
    while not client.get("/").json()["tiles_prepared"]:
        assert time.monotonic() < deadline, "tiles were not prepared"
        time.sleep(0.1)
    snap = app.state.snapshots.current()
    z, x, y = tile_of(49.69, 34.09, 7)
    cached = app.state.caches.tiles.get((snap.version, "settlements", z, x, y))
    assert cached is not None and plain(cached) == source(snap, "settlements").tile(z, x, y)
    assert other.state.caches.tiles.get((snap.version, "settlements", z, x, y)) is None  # per app


@pytest.mark.parametrize("route", ["/priorities", "/saturation", "/concentration"])
def test_an_unknown_province_is_a_404_that_lists_the_codes(small_client, route):
    response = small_client.get(f"{route}?province=99")
    assert response.status_code == 404 and response.json()["code"] == "unknown-province"
    assert "00 Test province" in response.json()["detail"]


def test_answers_about_synthetic_data_say_so(small_client):
    check = small_client.post(
        "/licence-checks", json={"lon": 49.7, "lat": 34.1, "service_type": "kindergarten", "capacity": 30}
    ).json()
    ranked = small_client.get("/priorities?province=00&top=3").json()
    place = small_client.get("/settlements/0001000001").json()
    for answer in (check, ranked, place):
        assert "ساختگی" in answer["notice"]["fa"] and "synthetic" in answer["notice"]["en"]
        assert "ngos" in answer["notice"]["synthetic_layers"]


def test_the_command_line_takes_a_province_by_code_or_name(small_store):
    from services.loading import province_code

    for asked in ("00", "0", "استان آزمون", "Test province", "test PROVINCE"):
        assert province_code(small_store, asked) == "00", asked
    with pytest.raises(UnknownProvinceError, match="no province"):
        province_code(small_store, "Atlantis")


@pytest.fixture(scope="module")
def director_00(small_store) -> dict[str, str]:
    """A provincial director of the small world's province (00): no exact-location right."""
    from store.accounts import Accounts

    accounts = Accounts(str(small_store.path))
    try:
        if accounts.get("t_director_00") is None:
            accounts.add(
                "t_director_00", "correct horse battery staple", "provincial_director", ("00",), actor="tests"
            )
        return bearer(accounts.issue_token("t_director_00", label="tests", days=1, actor="tests")[1])
    finally:
        accounts.close()


def on_step(value: float | None, step: float = 5.0) -> bool:
    if value is None or not math.isfinite(value):
        return True
    return abs(value / step - round(value / step)) < 1e-6


@pytest.fixture(scope="module")
def generalised(small_client):
    """The analysis a role without the exact-location right is answered from: every centre at
    its generalised position (``services.scope.generalised_analysis``)."""
    from services.scope import generalised_analysis

    return generalised_analysis(small_client.app.state.snapshots.current())


def test_a_director_sees_distances_and_access_rounded(small_client, director_00, analysis, generalised):
    """Exact distances or access shares from a few villages would give a centre's position away:
    a role without the exact-location right gets figures computed from the generalised positions,
    distances in multiples of 5 (km and minutes) and access shares in multiples of 0.05, everywhere."""
    flagged = analysis.flags[analysis.flags["service_type"] == "rehabilitation"]
    code = flagged["settlement_code"].iloc[0]
    exact = small_client.get(f"/settlements/{code}").json()["services"]
    rough = small_client.get(f"/settlements/{code}", headers=director_00).json()["services"]

    by_service = generalised.settlement_access([code]).set_index("service_type")
    moved = 0
    for service, e in exact.items():
        g = by_service.loc[service]
        e = {
            **e,
            "nearest_km": float(g["nearest_km"]),
            "nearest_min": float(g["nearest_min"]) if e["nearest_min"] is not None else None,
            "access_share_of_norm": float(g["access_share"]),
        }
        r = rough[service]
        for key in ("nearest_km", "nearest_min"):
            if e[key] is None or not math.isfinite(e[key]):
                continue
            assert on_step(r[key]) and abs(r[key] - e[key]) <= 2.5, (service, key, e[key], r[key])
            moved += r[key] != e[key]
        share, exact_share = r["access_share_of_norm"], e["access_share_of_norm"]
        if exact_share is not None:
            assert on_step(share, 0.05) and abs(share - exact_share) <= 0.025 + 1e-9
        assert r["target_population"] == e["target_population"]  # nothing else changes
    assert moved > 0  # the exact figures are not all multiples of 5 already
    steps = small_client.get(f"/settlements/{code}", headers=director_00).json()
    assert (steps["distance_step"], steps["share_step"]) == (5.0, 0.05)
    assert small_client.get(f"/settlements/{code}").json()["distance_step"] is None
    if rough["rehabilitation"]["reason_en"]:
        assert "about" in rough["rehabilitation"]["reason_en"]
    assert "about" not in exact["rehabilitation"]["reason_en"]

    def items(path: str, headers=None) -> list[dict]:
        body = small_client.get(path, headers=headers).json()
        return [f["properties"] for f in body["features"]]

    flags_exact = items("/collections/flags/items?limit=1000")
    flags_rough = items("/collections/flags/items?limit=1000", director_00)
    own = generalised.flags[generalised.flags["settlement_code"].str[:2] == small_world.PROVINCE]
    assert len(flags_rough) == len(own) and len(flags_exact) > len(own) > 0
    assert all(on_step(f["nearest_km"]) and on_step(f["nearest_min"]) for f in flags_rough)
    assert all(on_step(f["access_share"], 0.05) for f in flags_rough)
    assert not all(on_step(f["nearest_km"]) for f in flags_exact)
    assert not all(on_step(f["access_share"], 0.05) for f in flags_exact)
    access = items("/collections/settlement-access/items?limit=1000", director_00)
    assert all(on_step(p["rehabilitation_nearest_km"]) for p in access)
    assert all(on_step(p.get("rehabilitation_nearest_min")) for p in access)
    assert all(on_step(p["rehabilitation_access_share"], 0.05) for p in access)

    url = "/priorities?province=00&service_type=rehabilitation&top=10"
    ranked = small_client.get(url, headers=director_00).json()["villages"]
    direct = generalised.priorities(
        province="00", service_type="rehabilitation", top=10, coarsening=COARSENING
    )
    assert [v["settlement_code"] for v in ranked] == direct["settlement_code"].tolist()
    assert [v["distance"] for v in ranked] == pytest.approx(direct["distance"].tolist())
    assert [v["gap"] for v in ranked] == pytest.approx(direct["gap"].tolist())
    assert all(on_step(1 - v["gap"], 0.05) for v in ranked if v["gap"] > 0)
    limit = analysis.norms.services["rehabilitation"].max_travel_min
    assert all(on_step(round(v["distance"] * 2 * limit, 6)) for v in ranked if v["distance"] < 1)

    # Tiles differ per role: no shared cache may keep one for the next caller.
    tile = small_client.get("/tiles/ngos/5/20/12.mvt", headers=director_00)
    assert tile.status_code == 200
    assert tile.headers["cache-control"].startswith("private")
    assert "Authorization" in tile.headers["vary"] and "Cookie" in tile.headers["vary"]

    # NGO records do not say which settlement a centre stands in; exact roles still see it.
    ngos_rough = items("/collections/ngos/items?limit=1000", director_00)
    ngos_exact = items("/collections/ngos/items?limit=1000")
    assert ngos_rough and all(p["settlement_code"] is None for p in ngos_rough)
    assert any(p["settlement_code"] for p in ngos_exact)


def test_the_top_bar_links_only_the_pages_the_caller_may_open(small_client, director_00):
    def linked(headers=None) -> set[str]:
        html = small_client.get("/maps/priorities?province=00", headers=headers).text
        return {p for p in ("national", "licence", "priorities", "plan") if f'data-page="{p}"' in html}

    assert linked() == {"national", "licence", "priorities", "plan"}  # admin
    assert linked(director_00) == {"national", "priorities"}
    # and the pages left out are indeed refused
    assert small_client.get("/maps/plan", headers=director_00).status_code == 403
    assert small_client.get("/maps/licence", headers=director_00).status_code == 403


def test_an_items_filter_asked_again_is_answered_from_its_kept_positions(small_client):
    """The rows an items filter selects are kept per snapshot (read-only, in the bounded cache):
    the same filter again answers the same features, another filter its own."""
    snap = small_client.app.state.snapshots.current()
    first = small_client.get("/collections/settlements/items?kind=village&limit=1000").json()
    kept = [
        v
        for k, (v, _) in snap.small._items.items()
        if str(k).startswith("positions:settlements:") and "'village'" in str(k)
    ]
    assert len(kept) == 1 and not kept[0].flags.writeable
    assert first["numberMatched"] == len(kept[0]) > 0
    towns = small_client.get("/collections/settlements/items?kind=city&limit=1000").json()
    again = small_client.get("/collections/settlements/items?kind=village&limit=1000").json()
    assert again["features"] == first["features"]
    kinds = {f["properties"]["kind"] for f in first["features"]} | {
        "town:" + f["properties"]["kind"] for f in towns["features"]
    }
    assert kinds == {"village", "town:city"}
    everything = small_client.get("/collections/settlements/items?limit=1000").json()
    assert everything["numberMatched"] == first["numberMatched"] + towns["numberMatched"] + sum(
        1 for f in everything["features"] if f["properties"]["kind"] not in ("village", "city")
    )
