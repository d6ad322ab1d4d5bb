"""The licence check's HTTP answer is the same bytes as before its serialisation was cut down.

The route used to turn a check into JSON with ``dataclasses.asdict`` (a deep copy), a walk
making it JSON-safe, and per-request lookups of the synthetic notice and of the caller's
centres. ``reference_answer`` below is that pipeline, kept verbatim as the oracle: the route's
answer (and ``licence_answer`` for a role the route refuses today) must equal it byte for byte,
for an administrator, a province-scoped officer and a view without the exact-location right.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import types

import numpy as np
import pytest

from api.routers.assessments import licence_answer
from geo.schema import DEFAULT_SERVICE_TYPES
from services.scope import COARSENING, Scope, view
from tests.conftest import TEST_PASSWORD, bearer
from tests.small_world import OTHER_PROVINCE, PROVINCE


def _json_safe(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def _scope_check(check: dict, snap) -> dict:
    scope = getattr(snap, "scope", None)
    if scope is None:
        return check
    assert scope.allows(check["province_code"])
    provinces_of = snap.layer("ngos").set_index("licence_no")
    nearby = []
    for centre in check["same_type_nearby"]:
        if centre["licence_no"] not in provinces_of.index:
            continue
        if not scope.exact:
            where = provinces_of.geometry.loc[centre["licence_no"]]
            centre = {**centre, "lon": float(where.x), "lat": float(where.y)}
            step = COARSENING.distance
            centre["distance_km"] = float(round(centre["distance_km"] / step) * step)
            if centre.get("travel_min") is not None:
                centre["travel_min"] = float(round(centre["travel_min"] / step) * step)
        nearby.append(centre)
    check["same_type_nearby"] = nearby
    check["better_places"] = [p for p in check["better_places"] if scope.allows(p["county_code"])]
    check["underserved_access_changes"] = [
        c for c in check["underserved_access_changes"] if scope.allows(str(c.get("settlement_code", ""))[:2])
    ]
    return check


def _notice(snap):
    from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA

    if "layer_info" not in snap.layers:
        return None
    info = snap.layers["layer_info"].set_index("layer")["synthetic"]
    synthetic = [name for name, how in info.items() if how != "none"]
    if not synthetic:
        return None
    return {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN, "synthetic_layers": synthetic}


def reference_answer(check, snap) -> bytes:
    """The route's answer as it was made before (asdict, json_safe, per-request lookups)."""
    answer = {
        **_scope_check(dataclasses.asdict(check), snap),
        "as_of": snap.as_of.isoformat(),
        "notice": _notice(snap),
    }
    return json.dumps(_json_safe(answer), ensure_ascii=False, allow_nan=False).encode("utf-8")


def places(small_layers, province: str | None = None) -> list[tuple[float, float, str, int]]:
    """Every settlement of ``province`` (all: None) with each default service type in turn."""
    s = small_layers["settlements"]
    if province is not None:
        s = s[s["province_code"] == province]
    services = list(DEFAULT_SERVICE_TYPES)
    return [
        (float(p.x), float(p.y), services[k % len(services)], 10 + 7 * k) for k, p in enumerate(s.geometry)
    ]


@pytest.fixture(scope="module")
def officer(small_store) -> dict[str, str]:
    from store.accounts import Accounts

    accounts = Accounts(str(small_store.path))
    try:
        if accounts.get("a_officer_00") is None:
            accounts.add("a_officer_00", TEST_PASSWORD, "licensing_officer", (PROVINCE,), actor="tests")
        return bearer(accounts.issue_token("a_officer_00", days=1, actor="tests")[1])
    finally:
        accounts.close()


def nested_dataclasses(value) -> list:
    if dataclasses.is_dataclass(value):
        return [value]
    if isinstance(value, dict):
        return [d for v in value.values() for d in nested_dataclasses(v)]
    if isinstance(value, list | tuple):
        return [d for v in value for d in nested_dataclasses(v)]
    return []


def test_an_administrators_answer_is_the_same_bytes(small_client, small_layers):
    snap = small_client.app.state.snapshots.current()
    a = snap.analysis()
    asked = places(small_layers)
    assert len(asked) == 19
    for lon, lat, service, capacity in asked:
        body = {"lon": lon, "lat": lat, "service_type": service, "capacity": capacity}
        response = small_client.post("/licence-checks", json=body)
        assert response.status_code == 200, response.text
        check = a.check_licence(lon, lat, service, capacity)
        # A shallow conversion is enough only if no field holds a dataclass of its own.
        assert nested_dataclasses([getattr(check, f.name) for f in dataclasses.fields(check)]) == []
        assert response.content == reference_answer(check, snap), body


def test_the_answers_hold_what_the_comparison_is_about(small_client, small_layers):
    """The comparison above is not vacuous: the answers hold centres, changes and the notice."""
    answers = [
        small_client.post(
            "/licence-checks", json={"lon": lon, "lat": lat, "service_type": service, "capacity": capacity}
        ).json()
        for lon, lat, service, capacity in places(small_layers)
    ]
    assert sum(len(x["same_type_nearby"]) for x in answers) >= 5
    assert sum(len(x["underserved_access_changes"]) for x in answers) > 0
    assert all(x["notice"] and "settlements" in x["notice"]["synthetic_layers"] for x in answers)


def test_an_officers_answer_is_the_same_bytes(small_client, small_layers, officer):
    snap = small_client.app.state.snapshots.current()
    mine = view(snap, Scope(frozenset({PROVINCE}), exact=True))
    for lon, lat, service, capacity in places(small_layers, PROVINCE):
        body = {"lon": lon, "lat": lat, "service_type": service, "capacity": capacity}
        response = small_client.post("/licence-checks", json=body, headers=officer)
        assert response.status_code == 200, response.text
        check = mine.analysis().check_licence(lon, lat, service, capacity, graded_in=frozenset({PROVINCE}))
        assert response.content == reference_answer(check, mine), body
    # The small world's provinces are too far apart for a check in 00 to reach 01's centres or
    # places: a check is given some of each, as a check on a border would hold them, and the
    # answer leaves them out as before.
    lon, lat = 49.70, 34.10
    check = mine.analysis().check_licence(lon, lat, "rehabilitation", 30)
    theirs = {**check.same_type_nearby[0], "licence_no": "SYN-00010", "lon": 51.48, "lat": 34.45}
    place = {"settlement_code": "0101010100000001", "name_fa": "روستا", "access_share_before": 0.1}
    better = {"county_code": "0101", "settlement_code": "0101000001", "newly_covered_target_population": 9}
    border = dataclasses.replace(
        check,
        same_type_nearby=[*check.same_type_nearby, theirs],
        underserved_access_changes=[place, *check.underserved_access_changes],
        better_places=[better, *check.better_places],
    )
    ours = licence_answer(border, mine)
    assert ours == reference_answer(border, mine)
    assert ours == reference_answer(check, mine)  # nothing of 01 is left
    assert b"SYN-00010" not in ours and b'"0101' not in ours


def test_a_generalised_answer_is_the_same_bytes(small_client, small_layers):
    """No role holding the route lacks the exact-location right today: its answer is compared
    through ``licence_answer``, the function the route answers with."""
    snap = small_client.app.state.snapshots.current()
    director = view(snap, Scope(frozenset({PROVINCE}), exact=False))
    moved = 0
    for lon, lat, service, capacity in places(small_layers, PROVINCE):
        check = director.analysis().check_licence(lon, lat, service, capacity)
        ours = licence_answer(check, director)
        assert ours == reference_answer(check, director)
        moved += len(json.loads(ours)["same_type_nearby"])
    assert moved > 0
    # The cached lookups of one view never serve another: the officer's view of the other
    # province answers with that province's centres only.
    other = view(snap, Scope(frozenset({OTHER_PROVINCE}), exact=False))
    s = small_layers["settlements"]
    p = s[s["province_code"] == OTHER_PROVINCE].geometry.iloc[0]
    check = other.analysis().check_licence(float(p.x), float(p.y), "rehabilitation", 30)
    ours = licence_answer(check, other)
    assert ours == reference_answer(check, other)
    assert [c["licence_no"] for c in json.loads(ours)["same_type_nearby"]] == ["SYN-00010"]


def test_server_timing_names_the_checks_own_time(small_client):
    body = {"lon": 49.70, "lat": 34.10, "service_type": "rehabilitation", "capacity": 30}
    response = small_client.post("/licence-checks", json=body)
    header = response.headers["server-timing"]
    name, _, dur = header.partition(";dur=")
    assert name == "check"
    assert len(dur.split(".")[1]) == 3  # milliseconds, 3 decimals
    assert 0 < float(dur) < 10_000
    # not on other routes
    assert "server-timing" not in small_client.get("/health").headers


def test_a_non_finite_figure_is_null_as_before():
    """Where a figure is not finite (NaN minutes of a remote check, say) the answer says null,
    as the walk before did, and NumPy scalars are plain numbers."""

    @dataclasses.dataclass
    class Fake:
        province_code: str
        same_type_nearby: list
        better_places: list
        underserved_access_changes: list
        values: dict

    class Bare:
        """A national snapshot without layers (no notice), enough for ``licence_answer``."""

        scope = None
        as_of = dt.date(2025, 3, 21)
        layers = types.MappingProxyType({})

        def cached(self, key, build):
            return build()

    fake = Fake(
        "00",
        [{"licence_no": "X", "distance_km": np.float64(2.5), "travel_min": np.float64("nan")}],
        [],
        [{"settlement_code": np.str_("0001000001"), "n": np.int64(3), "ok": np.bool_(True)}],
        {"inf": float("inf"), "ratio": np.float32(0.5), "nested": [np.float64("-inf"), 1]},
    )
    ours = licence_answer(fake, Bare())
    assert ours == reference_answer(fake, Bare())
    assert json.loads(ours)["same_type_nearby"][0]["travel_min"] is None
    assert json.loads(ours)["values"] == {"inf": None, "ratio": 0.5, "nested": [None, 1]}
    clean = Fake("00", [], [], [{"n": np.int64(3), "ok": np.bool_(True), "x": np.float64(0.1)}], {})
    assert licence_answer(clean, Bare()) == reference_answer(clean, Bare())
    assert json.loads(licence_answer(clean, Bare()))["underserved_access_changes"] == [
        {"n": 3, "ok": True, "x": 0.1}
    ]


@pytest.mark.postgis
def test_an_officers_answer_is_the_same_bytes_on_postgis(postgis_store, postgis_url, small_layers, tmp_path):
    """On PostGIS a province's view reads its layers under row-level security: the cached
    centre positions are that view's, and the answer is the bytes the old pipeline made."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from services.settings import Settings
    from store.accounts import Accounts
    from tests.conftest import service_role_url

    with postgis_store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    url = service_role_url(postgis_url)
    accounts = Accounts(postgis_url)
    try:
        # kept from an earlier run in this database (accounts outlive the layers a test writes)
        if accounts.get("pg_officer_00") is None:
            accounts.add("pg_officer_00", TEST_PASSWORD, "licensing_officer", (PROVINCE,), actor="tests")
        token = accounts.issue_token("pg_officer_00", days=1, actor="tests")[1]
    finally:
        accounts.close()
    app = create_app(Settings(store=url, prepare_tiles=False, imports_dir=tmp_path / "private"))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as officer:
        snap = app.state.snapshots.current()
        mine = view(snap, Scope(frozenset({PROVINCE}), exact=True))
        asked = places(small_layers, PROVINCE)
        for lon, lat, service, capacity in asked:
            body = {"lon": lon, "lat": lat, "service_type": service, "capacity": capacity}
            response = officer.post("/licence-checks", json=body)
            assert response.status_code == 200, response.text
            check = mine.analysis().check_licence(
                lon, lat, service, capacity, graded_in=frozenset({PROVINCE})
            )
            assert response.content == reference_answer(check, mine), body
        assert sorted(mine.cached("licence:centre_positions", dict)) == [  # type: ignore[call-overload]
            f"SYN-0000{k}" for k in range(10)
        ]
