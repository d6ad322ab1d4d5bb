"""Protected locations: without the exact-location right no answer holds a centre's true position.

Every answer that carries NGO positions (GeoJSON items and pages of them, single items, exports
in every format, vector tiles, the map's column file) is fetched as a provincial director of all
31 provinces (no exact-location right) and every coordinate in it is measured against every true
centre: none may lie within 1 km. The same scan on a planner's answers finds them (so the scan
can fail).
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from scipy.spatial import cKDTree

from api.app import create_app
from maps.tiles import tile_bounds
from services.scope import CLEARANCE_M, generalised_positions
from services.settings import Settings
from store.accounts import Accounts
from tests.conftest import TEST_PASSWORD, bearer

pytestmark = pytest.mark.realdata

R = 6_371_008.8
ALL = [f"{i:02d}" for i in range(31)]


def xyz(lon, lat) -> np.ndarray:
    lon, lat = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]) * R


def lonlat_of_tile(z, x, y, px, py, extent=4096) -> tuple[float, float]:
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    mx, my = minx + px / extent * (maxx - minx), miny + py / extent * (maxy - miny)
    return math.degrees(mx / 6378137.0), math.degrees(2 * math.atan(math.exp(my / 6378137.0)) - math.pi / 2)


def coordinates(response) -> list[tuple[float, float]]:
    kind = response.headers.get("content-type", "")
    out: list[tuple[float, float]] = []

    def walk(value, key=None):
        if isinstance(value, dict):
            if value.get("type") == "Point" and "coordinates" in value:
                out.append(tuple(value["coordinates"][:2]))
            if "lon" in value and "lat" in value and isinstance(value["lon"], (int, float)):
                out.append((value["lon"], value["lat"]))
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    if "json" in kind:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("lon"), list):  # the map's column file
            out.extend(zip(body["lon"], body["lat"], strict=True))
        walk(body)
    elif kind.startswith("text/csv") or "spreadsheetml" in kind:
        frame = (
            pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig")
            if kind.startswith("text/csv")
            else pd.read_excel(io.BytesIO(response.content))
        )
        assert {"lon", "lat"} <= set(frame.columns), frame.columns
        out.extend(zip(frame["lon"], frame["lat"], strict=True))
    elif "geopackage" in kind:
        with tempfile.NamedTemporaryFile(suffix=".gpkg") as fh:
            Path(fh.name).write_bytes(response.content)
            frame = pyogrio.read_dataframe(fh.name)
        out.extend(zip(frame.geometry.x, frame.geometry.y, strict=True))
    return out


def tile_coordinates(response, z, x, y) -> list[tuple[float, float]]:
    out = []
    for layer in mapbox_vector_tile.decode(response.content).values():
        for f in layer["features"]:
            g = f["geometry"]
            points = [g["coordinates"]] if g["type"] == "Point" else g["coordinates"]
            out.extend(lonlat_of_tile(z, x, y, px, py, layer["extent"]) for px, py in points)
    return out


def answers(client: TestClient, ngos: pd.DataFrame):
    """Every answer that carries NGO positions: (label, response, z/x/y for tiles)."""
    offset = 0
    while True:
        r = client.get(f"/collections/ngos/items?limit=1000&offset={offset}")
        yield "items", r, None
        if offset + 1000 >= r.json()["numberMatched"]:
            break
        offset += 1000
    for fmt in ("geojson", "gpkg", "csv"):
        yield f"export {fmt}", client.get(f"/collections/ngos/items?f={fmt}"), None
    yield "export xlsx", client.get("/collections/ngos/items?f=xlsx&province=23"), None
    for code in ngos["licence_no"].sample(200, random_state=1):
        yield "item", client.get(f"/collections/ngos/items/{code}"), None
    yield "map data", client.get("/maps/data/ngos.json"), None
    tiles = set()
    for z in (5, 6, 7):
        n = 1 << z
        for x in range(int((44 + 180) / 360 * n), int((64 + 180) / 360 * n) + 1):
            for y in range(
                int((1 - math.asinh(math.tan(math.radians(40))) / math.pi) / 2 * n),
                int((1 - math.asinh(math.tan(math.radians(25))) / math.pi) / 2 * n) + 1,
            ):
                tiles.add((z, x, y))
    for g in ngos.geometry.sample(300, random_state=2):
        for z in (9, 11, 13):
            n = 1 << z
            tiles.add(
                (
                    z,
                    int((g.x + 180) / 360 * n),
                    int((1 - math.asinh(math.tan(math.radians(g.y))) / math.pi) / 2 * n),
                )
            )
    for z, x, y in sorted(tiles):
        yield "tile", client.get(f"/tiles/ngos/{z}/{x}/{y}.mvt"), (z, x, y)
    yield "error", client.get("/collections/ngos/items/SYN-NOPE"), None


def scan(client, ngos) -> dict:
    tree = cKDTree(xyz(ngos.geometry.x, ngos.geometry.y))
    stats = {"responses": 0, "coordinates": 0, "within_1km": 0, "min_m": float("inf"), "by": {}}
    for label, response, tile in answers(client, ngos):
        assert response.status_code in (200, 404), (label, response.status_code, response.text[:200])
        found = tile_coordinates(response, *tile) if tile else coordinates(response)
        stats["responses"] += 1
        stats["by"][label] = stats["by"].get(label, 0) + len(found)
        if not found:
            continue
        lon, lat = np.array(found, dtype=float).T
        d, _ = tree.query(xyz(lon, lat), k=1)
        stats["coordinates"] += len(found)
        stats["within_1km"] += int((d < 1000).sum())
        stats["min_m"] = min(stats["min_m"], float(d.min()))
    return stats


@pytest.fixture(scope="module")
def clients(demo):
    store = str(demo["store"].path)
    accounts = Accounts(store)
    for username, role in (("loc_director", "provincial_director"), ("loc_planner", "planner")):
        if accounts.get(username) is None:
            accounts.add(username, TEST_PASSWORD, role, ALL if role == "provincial_director" else ())
    tokens = {u: accounts.issue_token(u, days=1)[1] for u in ("loc_director", "loc_planner")}
    accounts.close()
    app = create_app(Settings(store=store, prepare_tiles=False))
    return {u: TestClient(app, raise_server_exceptions=False, headers=bearer(t)) for u, t in tokens.items()}


def test_no_answer_holds_a_true_position_without_the_right(clients, demo):
    ngos = demo["layers"]["ngos"]
    stats = scan(clients["loc_director"], ngos)
    print("generalised:", json.dumps(stats))
    assert stats["coordinates"] > 100_000
    assert stats["by"]["items"] == len(ngos) and stats["by"]["map data"] == len(ngos)
    assert stats["within_1km"] == 0
    assert stats["min_m"] >= 1000


def test_the_scan_finds_true_positions_where_they_are_allowed(clients, demo):
    ngos = demo["layers"]["ngos"]
    stats = scan(clients["loc_planner"], ngos)
    print("exact:", json.dumps(stats))
    assert stats["within_1km"] > 0.9 * stats["coordinates"]


def test_generalised_positions_are_deterministic_and_clear(demo, clients):
    ngos = demo["layers"]["ngos"]
    lon, lat = ngos.geometry.x.to_numpy(), ngos.geometry.y.to_numpy()
    a, b = generalised_positions(lon, lat), generalised_positions(lon, lat)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    d, _ = cKDTree(xyz(lon, lat)).query(xyz(*a), k=1)
    assert d.min() >= CLEARANCE_M * 0.999
    shift = np.linalg.norm(xyz(lon, lat) - xyz(*a), axis=1)
    print(
        f"generalisation shift: median {np.median(shift) / 1000:.1f} km, 95th {np.percentile(shift, 95) / 1000:.1f} km"
    )
    first = clients["loc_director"].get("/collections/ngos/items?limit=50").json()
    again = clients["loc_director"].get("/collections/ngos/items?limit=50").json()
    assert [f["geometry"] for f in first["features"]] == [f["geometry"] for f in again["features"]]
    assert all(f["properties"]["position_generalised"] for f in first["features"])
