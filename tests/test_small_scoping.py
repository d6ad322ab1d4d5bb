"""Scoping and protected locations in the fast loop, on the small world's two provinces.

A licensing officer and a provincial director of province 00 ask every data route once; no
answer may hold a code of province 01 (the national matrix of ``tests/test_scoping.py`` does
the same with 5,000 requests on the national demo). The director (no exact-location right) gets
no centre's true position, and the licence check answers such a role from generalised positions.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest
from scipy.spatial import cKDTree

from geo.errors import Forbidden
from services.scope import CLEARANCE_M, Scope, generalised_positions, view
from tests.conftest import TEST_PASSWORD, bearer
from tests.small_world import OTHER_PROVINCE, PROVINCE
from tests.test_locations import coordinates, xyz
from tests.test_scoping import World, codes_in, tile_of


@pytest.fixture(scope="module")
def scoped(small_store) -> dict[str, dict[str, str]]:
    """Bearer headers of an officer and a director of province 00 (the small world's first)."""
    from store.accounts import Accounts

    accounts = Accounts(str(small_store.path))
    try:
        out = {}
        for name, role in (("s_officer_00", "licensing_officer"), ("s_director_00", "provincial_director")):
            if accounts.get(name) is None:
                accounts.add(name, TEST_PASSWORD, role, (PROVINCE,), actor="tests")
            out[role] = bearer(accounts.issue_token(name, days=1, actor="tests")[1])
        return out
    finally:
        accounts.close()


def data_routes(layers) -> list[tuple[str, str, dict | None]]:
    """(method, url, body) of every route that answers with data, asked about both provinces."""
    s = layers["settlements"]
    other = s[s["province_code"] == OTHER_PROVINCE].iloc[0]
    mine = s[s["province_code"] == PROVINCE].iloc[3]
    out: list[tuple[str, str, dict | None]] = []
    for coll in ("provinces", "counties", "settlements", "ngos", "target_areas", "saturation",
                 "settlement-access", "flags", "priorities"):  # fmt: skip
        out.append(("GET", f"/collections/{coll}/items?limit=1000", None))
        out.append(("GET", f"/collections/{coll}/items?f=csv", None))
        out.append(("GET", f"/collections/{coll}/items?bbox=51,34,52,35", None))
    for p in (PROVINCE, OTHER_PROVINCE):
        out += [
            ("GET", f"/saturation?province={p}", None),
            ("GET", f"/priorities?province={p}&top=50", None),
            ("GET", f"/concentration?province={p}", None),
            ("GET", f"/licence-applications?province={p}", None),
            ("GET", f"/activities?province={p}", None),
            ("GET", f"/programme/progress?province={p}", None),
            ("GET", f"/maps/activities?province={p}", None),
        ]
    # the activities register: an entry in each province (the officer's outside theirs is
    # refused), then every reading route and download of the register, progress and gaps
    for target in ("T-001", "T-003"):
        entry = {"organisation": "گروه", "organisation_kind": "partner", "service_type": "counselling",
                 "place_kind": "target_area", "place_code": target, "start_date": "2024-06-01",
                 "households": 5, "persons": 15, "status": "ongoing"}  # fmt: skip
        out.append(("POST", "/activities", entry))
    out += [
        ("GET", "/activities?limit=1000", None),
        ("GET", "/activities?f=csv", None),
        ("GET", "/activities?f=xlsx", None),
        ("GET", "/programme/progress", None),
        ("GET", "/programme/progress?level=province&f=csv", None),
        ("GET", "/programme/progress?level=neighbourhood&f=xlsx", None),
        ("GET", "/programme/progress-over-time?periods=1403..1404", None),
        ("GET", "/programme/progress-over-time?periods=1403Q1..1404Q2&f=csv", None),
        ("GET", "/programme/gaps", None),
        ("GET", "/programme/gaps?f=csv", None),
        ("GET", "/maps/activities", None),
        ("GET", "/maps/activities?target=T-003", None),
    ]
    out += [
        ("GET", "/saturation", None),
        ("GET", "/saturation?period=1399", None),
        ("GET", "/collections/flags/items?period=1399", None),
        ("GET", "/saturation?service_type=rehabilitation&f=csv", None),
        ("GET", "/priorities?top=50", None),
        ("GET", "/maps/data/boundaries.json", None),
        ("GET", "/maps/data/ngos.json", None),
        ("GET", "/maps/data/target-areas.json", None),
        ("GET", "/maps/data/search?q=همسایه", None),
        ("GET", f"/maps/data/search?q={other['settlement_code'][:4]}", None),
        ("GET", f"/settlements/{other['settlement_code']}", None),
        ("GET", f"/settlements/{mine['settlement_code']}", None),
        ("GET", "/licence-monitoring", None),
        ("GET", "/ngos/SYN-00000/evaluations", None),
        ("GET", "/ngos/SYN-00010/evaluations", None),
        ("GET", "/ratings/rankings", None),
        ("GET", "/ratings/rankings?f=csv&lang=en", None),
        ("GET", "/ratings/rankings?service_type=rehabilitation", None),
        ("GET", "/volunteers/groups", None),
        ("GET", "/volunteers/summary", None),
        ("GET", "/volunteers/summary?f=csv&lang=en", None),
        ("GET", "/hierarchy/versions/v2/reaggregate?table=population", None),
        ("GET", "/hierarchy/versions/v2/reaggregate?table=county_needs&f=csv", None),
        ("GET", "/collections/ngos/items/SYN-00010", None),
        ("GET", f"/collections/settlements/items/{other['settlement_code']}", None),
    ]
    for z in (6, 8, 10):
        x, y = tile_of(float(other.geometry.x), float(other.geometry.y), z)
        for layer in ("settlements", "ngos", "counties", "provinces", "target_areas"):
            out.append(("GET", f"/tiles/{layer}/{z}/{x}/{y}.mvt", None))
    for lon, lat in (
        (float(other.geometry.x), float(other.geometry.y)),
        (float(mine.geometry.x), float(mine.geometry.y)),
    ):
        out.append(
            (
                "POST",
                "/licence-checks",
                {"lon": lon, "lat": lat, "service_type": "rehabilitation", "capacity": 30},
            )
        )
        out.append(("GET", f"/catchment-areas?lon={lon}&lat={lat}&service_type=rehabilitation", None))
    return out


@pytest.mark.parametrize("role", ["licensing_officer", "provincial_director"])
def test_a_user_of_one_province_sees_nothing_of_the_other(small_client, small_layers, scoped, role):
    world = World(small_layers)
    leaks, answered, refused = [], 0, 0
    for method, url, body in data_routes(small_layers):
        response = small_client.request(method, url, json=body, headers=scoped[role])
        assert response.status_code < 500, (url, response.text[:300])
        if response.status_code in (401, 403, 404):
            refused += 1
            continue
        answered += 1
        for key, value in codes_in(response, world):
            if world.province(key, value) not in (PROVINCE, None):
                leaks.append((url, key, value))
    assert leaks == []
    assert answered > 30 and refused >= 5
    # The same routes do show province 01 to an administrator: the check can fail.
    admin_codes = [
        world.province(k, v)
        for method, url, body in data_routes(small_layers)
        for k, v in codes_in(small_client.request(method, url, json=body), world)
    ]
    assert admin_codes.count(OTHER_PROVINCE) > 30


def test_places_outside_the_callers_provinces_are_refused(small_client, small_layers, scoped):
    s = small_layers["settlements"].set_index("settlement_code")
    city = s.loc["0101000001"].geometry
    officer = scoped["licensing_officer"]
    area = f"/catchment-areas?lon={city.x}&lat={city.y}&service_type=rehabilitation"
    assert small_client.get(area, headers=officer).status_code == 403
    assert small_client.get(area).status_code == 200  # an administrator
    body = {"lon": city.x, "lat": city.y, "service_type": "rehabilitation", "capacity": 20}
    assert small_client.post("/licence-checks", json=body, headers=officer).status_code == 403
    assert (
        small_client.get("/saturation?province=01", headers=scoped["provincial_director"]).status_code == 403
    )
    cities = small_client.get("/maps/data/boundaries.json", headers=scoped["provincial_director"]).json()[
        "cities"
    ]
    assert "0101000001" not in cities["code"] and "0001000001" in cities["code"]
    assert "0101000001" in small_client.get("/maps/data/boundaries.json").json()["cities"]["code"]


def test_a_director_gets_no_true_centre_position(small_client, small_layers, scoped):
    ngos = small_layers["ngos"]
    tree = cKDTree(xyz(ngos.geometry.x, ngos.geometry.y))
    director = scoped["provincial_director"]
    found = []
    for url in (
        "/collections/ngos/items?limit=1000",
        "/collections/ngos/items?f=csv",
        "/collections/ngos/items?f=geojson",
        "/maps/data/ngos.json",
        "/collections/ngos/items/SYN-00000",
    ):
        response = small_client.get(url, headers=director)
        assert response.status_code == 200, url
        found += coordinates(response)
    assert len(found) > 2 * len(ngos[ngos["province_code"] == PROVINCE])
    d, _ = tree.query(xyz(*np.array(found).T), k=1)
    assert d.min() >= CLEARANCE_M * 0.999
    # An administrator's answers hold them: the scan can fail.
    exact = coordinates(small_client.get("/collections/ngos/items?limit=1000"))
    assert (tree.query(xyz(*np.array(exact).T), k=1)[0] < 1).all()


def test_the_licence_check_of_a_role_without_the_exact_location_right(small_client):
    """No role holding the licence check lacks the exact-location right today; should one, its
    answer names centres at their generalised positions, with distances from those, rounded."""
    from api.routers.assessments import scope_check

    snap = small_client.app.state.snapshots.current()
    generalised = view(snap, Scope(frozenset({PROVINCE}), exact=False))
    lon, lat = 49.70, 34.10  # in Arak, beside its centres
    check = generalised.analysis().check_licence(lon, lat, "rehabilitation", 30)
    answer = scope_check(asdict(check), generalised)
    ngos = snap.layer("ngos").set_index("licence_no")
    glon, glat = generalised_positions(ngos.geometry.x.to_numpy(), ngos.geometry.y.to_numpy())
    where = dict(zip(ngos.index, zip(glon, glat, strict=True), strict=True))
    nearby = answer["same_type_nearby"]
    assert nearby and all(c["licence_no"] in ngos.index for c in nearby)
    for centre in nearby:
        assert (centre["lon"], centre["lat"]) == pytest.approx(where[centre["licence_no"]])
        true = ngos.geometry.loc[centre["licence_no"]]
        gap = np.linalg.norm(xyz([true.x], [true.y]) - xyz([centre["lon"]], [centre["lat"]]))
        assert gap >= CLEARANCE_M * 0.999
        assert centre["distance_km"] % 5 == 0 and (centre.get("travel_min") or 0) % 5 == 0
    exact = snap.analysis().check_licence(lon, lat, "rehabilitation", 30)
    assert [c["licence_no"] for c in exact.same_type_nearby] != [] and {
        (c["lon"], c["lat"]) for c in exact.same_type_nearby
    }.isdisjoint({(c["lon"], c["lat"]) for c in nearby})
    # A place in another province is refused, and the route refuses directors outright.
    elsewhere = generalised.analysis().check_licence(51.45, 34.45, "rehabilitation", 30)
    with pytest.raises(Forbidden):
        scope_check(asdict(elsewhere), generalised)
    assert math.isfinite(answer["newly_covered_target_population"])
