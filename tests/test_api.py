"""The service and the command line, run for real: a uvicorn process and the ``amayesh`` command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from services.settings import Settings
from tests.conftest import bearer, make_users


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_missing_reference_data_is_a_clear_error(tmp_path):
    result = run_cli(
        "--data-dir", str(tmp_path / "nowhere"), "--store", str(tmp_path / "s.gpkg"), "build-demo"
    )
    assert result.returncode == 2
    assert "nowhere does not exist" in result.stderr
    assert "AMAYESH_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_incomplete_reference_data_names_each_missing_file(tmp_path):
    (tmp_path / "census1395_county_age_sex.csv").write_text("x\n")
    result = run_cli("--data-dir", str(tmp_path), "--store", str(tmp_path / "s.gpkg"), "build-demo")
    assert result.returncode == 2
    for name in ("counties_osm.gpkg", "places_geonames.gpkg", "provinces_osm.geojson"):
        assert name in result.stderr
    assert "census1395_county_age_sex.csv" not in result.stderr.split("lacks")[1].split(".")[0]


def test_layers_on_an_empty_store(tmp_path):
    result = run_cli("--store", str(tmp_path / "empty.gpkg"), "layers")
    assert result.returncode == 1
    assert "build-demo" in result.stdout


def test_landing_lists_layers_and_counts(small_store, small_layers):
    client = TestClient(
        create_app(Settings(store=str(small_store.path), prepare_tiles=False)),
        headers=bearer(make_users(str(small_store.path))["admin"]),
    )
    body = client.get("/").json()
    counts = {layer["name"]: layer["count"] for layer in body["layers"]}
    assert counts == {k: len(v) for k, v in small_layers.items() if k != "layer_info"}
    by_name = {layer["name"]: layer for layer in body["layers"]}
    assert by_name["ngos"]["synthetic"] == "all"
    assert "OpenStreetMap" in body["attribution"]
    assert "ساختگی" in body["notice_fa"]


def test_errors_are_problem_json(small_store):
    settings = Settings(store=str(small_store.path), prepare_tiles=False)
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/licence-checks", {"lon": 50.1, "lat": 34.1, "service_type": "rehabilitation", "capacity": 5}),
        ("/plans/delegation", {"service_type": "rehabilitation"}),
        ("/plans/siting", {"service_type": "rehabilitation", "k": 1}),
        ("/scenarios", {"name": "s", "changes": {}}),
    ],
)
def test_a_body_field_the_route_does_not_declare_is_refused_by_name(small_client, path, body):
    good = small_client.post(path, json=body)
    assert good.status_code < 400, good.text
    bad = small_client.post(path, json={**body, "outreach_mins": 30})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "outreach_mins" in bad.json()["detail"] or "outreach_mins" in bad.text


@pytest.mark.realdata
def test_serve_answers_on_loopback(demo, tmp_path, admin_headers):
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--store", str(demo["store"].path), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90  # a loaded 2-core machine imports slowly
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2, headers=admin_headers)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.2)
        assert response.status_code == 200
        counts = {layer["name"]: layer["count"] for layer in response.json()["layers"]}
        assert counts["settlements"] == demo["report"].counts["settlements"]
        assert counts["counties"] == 448
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.mark.realdata
def test_analysis_commands_on_the_demo(demo, tmp_path):
    store = str(demo["store"].path)
    result = run_cli("--store", store, "analyse", "--out", str(tmp_path / "out"), "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert "Concentration by settlement tier" in result.stdout
    for name in ("saturation", "flags", "concentration", "concentration_by_province", "settlement_access"):
        assert (tmp_path / "out" / f"{name}.csv").stat().st_size > 0
    saturation = pd.read_csv(tmp_path / "out" / "saturation.csv", encoding="utf-8-sig")
    assert len(saturation) == 448 * 8
    assert set(saturation["class"]) <= {"saturated", "balanced", "underserved"}

    out = tmp_path / "priorities.xlsx"
    result = run_cli(
        "--store",
        store,
        "priorities",
        "--province",
        "سیستان و بلوچستان",
        "--service",
        "rehabilitation",
        "--top",
        "10",
        "--out",
        str(out),
        "--weights",
        "need=1,gap=1",
    )
    assert result.returncode == 0, result.stderr
    ranked = pd.read_excel(out, dtype={"province_code": str})
    assert ranked["rank"].tolist() == list(range(1, 11))
    assert (ranked["province_code"] == "11").all()
    assert ranked["score"].is_monotonic_decreasing

    result = run_cli(
        "--store",
        store,
        "check-licence",
        "--lon",
        "57.3",
        "--lat",
        "27.2",
        "--service",
        "rehabilitation",
        "--capacity",
        "40",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["verdict"] in {"welcome", "acceptable", "saturated"}
    assert answer["county_code"][:2] == answer["province_code"]
    assert len(answer["county_code"]) == 4
    assert len(answer["better_places"]) <= 5

    result = run_cli(
        "--store",
        store,
        "check-licence",
        "--lon",
        "10",
        "--lat",
        "10",
        "--service",
        "rehabilitation",
        "--capacity",
        "40",
    )
    assert result.returncode == 2
    assert "outside Iran" in result.stderr and "Traceback" not in result.stderr


def test_the_contract_declares_who_may_call_each_operation(small_client):
    from api.security import requirement_of

    doc = small_client.get("/openapi.json").json()
    checked = 0
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            rule = requirement_of(method.upper(), path)
            assert rule is not None, f"{method} {path}"
            needs_sign_in = not rule.public
            assert ("401" in op["responses"]) == needs_sign_in, f"{method} {path}"
            assert ("403" in op["responses"]) == needs_sign_in, f"{method} {path}"
            if needs_sign_in:
                assert "Who may call it" in op["description"] and rule.right in op["description"]
                problem = op["responses"]["403"]["content"]["application/problem+json"]["schema"]
                assert problem["$ref"].endswith("/Problem")
                checked += 1
    assert checked >= 60


def test_a_limit_above_the_maximum_gives_the_maximum(small_client):
    # OGC API Features (/req/core/fc-limit-response-1): no error, the maximum is used instead.
    from api.deps import MAX_LIMIT

    got = small_client.get("/collections/settlements/items", params={"limit": 100_000})
    assert got.status_code == 200
    body = got.json()
    assert body["numberReturned"] == min(MAX_LIMIT, body["numberMatched"])
    assert small_client.get("/collections/settlements/items", params={"limit": 0}).status_code == 400


def test_head_answers_as_get_without_a_body(small_client, small_store):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from services.settings import Settings

    for path in ("/collections/settlements/items?limit=3", "/health", "/collections"):
        got, head = small_client.get(path), small_client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    # The same rights as GET: without credentials a data route refuses HEAD too.
    anonymous = TestClient(create_app(Settings(store=str(small_store.path), prepare_tiles=False)))
    assert anonymous.head("/collections/settlements/items").status_code == 401
    refused = small_client.post("/collections/settlements/items")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


def test_every_collection_declares_its_extent(small_client, small_layers):
    # GDAL and QGIS read the extent instead of paging through every feature to find it.
    from api.routers.features import GEOMETRY_OF

    listed = small_client.get("/collections").json()["collections"]
    assert {c["id"] for c in listed} >= set(GEOMETRY_OF)
    for c in listed:
        bbox = c["extent"]["spatial"]["bbox"][0]
        source = GEOMETRY_OF.get(c["id"], c["id"])
        assert bbox == pytest.approx(list(small_layers[source].total_bounds)), c["id"]


def test_dates_arrive_as_dates(small_client):
    doc = small_client.get("/openapi.json").json()
    declared = doc["components"]["schemas"]["NgosProperties"]["properties"]["issued_on"]
    assert declared["format"] == "date"
    features = small_client.get("/collections/ngos/items", params={"limit": 100}).json()["features"]
    issued = [f["properties"]["issued_on"] for f in features]
    assert "2021-03-21" in issued and all(d is None or len(d) == 10 for d in issued)


def test_the_openapi_document_is_served_as_its_link_says(small_client):
    landing = small_client.get("/").json()
    link = next(x for x in landing["links"] if x["rel"] == "service-desc")
    got = small_client.get("/openapi.json")
    assert got.status_code == 200 and got.headers["content-type"] == link["type"]
    assert got.json()["openapi"].startswith("3.0")
    anonymous_head = small_client.head("/openapi.json")
    assert anonymous_head.status_code == 200 and anonymous_head.content == b""


def test_a_settlement_says_why_each_service_is_flagged_or_not(small_client, small_layers):
    codes = small_layers["settlements"]["settlement_code"].tolist()
    seen_not_flagged = 0
    for code in codes[:10]:
        services = small_client.get(f"/settlements/{code}").json()["services"]
        for s in services.values():
            # Every row carries its reason in both languages, flagged or not.
            assert s["reason_en"] and s["reason_fa"]
            if not s["flagged"]:
                seen_not_flagged += 1
                assert any(
                    w in s["reason_en"]
                    for w in ("a city", "below this service's minimum", "target persons", "within the norm")
                )
    assert seen_not_flagged > 0
