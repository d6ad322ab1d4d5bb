"""The service catalogue: an administrator's services, delivery modes and their reach.

By hand: what a catalogue may say (and the reasons it is refused), how each delivery mode counts
in access (outreach within its own reach, remote across its province whatever the distance) and
that the figures split back into their modes exactly. Then the check of issue 24: a catalogue
with a ninth service and a mode change, imported through the service, runs through an import, the
analysis, the API, the OGC collections, the tiles and the pages without a change of code.
"""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geo.access import access_measures
from geo.decisions import underserved_flags
from geo.errors import ConfigurationError, NormsRejected, UnknownServiceError
from geo.geodesic import distances
from geo.norms import Norms
from geo.schema import DEFAULT_SERVICE_TYPES
from services import catalogue as C
from services.settings import Settings
from store import open_store
from tests import analysis_world as world
from tests.conftest import bearer, make_users
from tests.small_world import layers as small_layers
from tests.test_imports_http import wait

ROOT = Path(__file__).resolve().parents[1]
NORMS_TEXT = (ROOT / "config" / "norms.toml").read_text(encoding="utf-8")

NINTH = """
[services.respite_care]
label_fa = "مراقبت موقت"
label_en = "Respite care"
modes = ["centre", "home"]
provider_kinds = ["ngo", "volunteer_group"]
reach_km = { home = 40 }
reach_min = { home = 50 }
catchment_km = 25
catchment_min = 35
norm_per_10k = 300
min_population = 200
max_distance_km = 30
max_travel_min = 40
min_access_share = 0.5

[costs.services.respite_care]
new_centre = 900
per_place = 12
increase_per_place = 8
"""


def norms_text(
    *,
    version: str = "2026.9-test",
    travel: str = "straight",
    ninth: bool = True,
    remote_counselling: bool = True,
) -> str:
    """The shipped norms file, edited as an administrator would: a new version, the travel, a
    ninth service, counselling delivered remotely only (a mode change)."""
    text = re.sub(r'^version = ".*"$', f'version = "{version}"', NORMS_TEXT, count=1, flags=re.M)
    text = re.sub(r'^travel = ".*"$', f'travel = "{travel}"', text, count=1, flags=re.M)
    if remote_counselling:
        text = text.replace("[services.counselling]\n", '[services.counselling]\nmodes = ["remote"]\n', 1)
    return text + (NINTH if ninth else "")


def norms_of(text: str) -> Norms:
    return Norms.from_dict(tomllib.loads(text))


# ---- what a catalogue may say ------------------------------------------------------------------


def test_the_default_catalogue_is_todays_eight_services():
    norms = world.demo_norms()
    assert norms.service_types == dict(DEFAULT_SERVICE_TYPES)
    assert norms.services["home_care"].modes == ("home",)
    assert norms.services["counselling"].modes == ("centre", "remote")
    # a mode not given a reach reaches as far as the catchment
    rehab = norms.services["rehabilitation"]
    assert rehab.reach("outreach", "m") == rehab.catchment("m") == 30_000
    assert rehab.reach("remote", "m") == float("inf")


def test_a_ninth_service_and_a_mode_change_are_read_from_the_file():
    norms = norms_of(norms_text())
    assert list(norms.services)[-1] == "respite_care"
    s = norms.services["respite_care"]
    assert (s.label_fa, s.label_en, s.main_mode) == ("مراقبت موقت", "Respite care", "centre")
    assert s.reach("home", "m") == 40_000 and s.reach("home", "min") == 50
    assert s.reach("centre", "m") == 25_000
    assert norms.services["counselling"].remote_only
    assert norms.costs is not None and norms.costs.services["respite_care"].new_centre == 900


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace('label_fa = "مراقبت موقت"\n', ""), "label_fa must name the service"),
        (
            lambda t: t.replace('modes = ["centre", "home"]', 'modes = ["centre", "teleport"]'),
            "modes must list",
        ),
        (lambda t: t.replace('modes = ["centre", "home"]', "modes = []"), "modes must list"),
        (lambda t: t.replace("reach_km = { home = 40 }", "reach_km = { remote = 40 }"), "a reach is set for"),
        (lambda t: t.replace("reach_km = { home = 40 }", "reach_km = { home = -1 }"), "positive number"),
        (lambda t: t.replace("[services.respite_care]", "[services.Respite-Care]"), "short lower-case code"),
        (
            lambda t: t.replace(
                "[costs.services.respite_care]\nnew_centre = 900\nper_place = 12\nincrease_per_place = 8\n",
                "",
            ),
            "missing ['respite_care']",
        ),
    ],
)
def test_a_catalogue_that_cannot_be_used_is_refused_with_its_reason(edit, reason):
    with pytest.raises(ConfigurationError, match=re.escape(reason)):
        norms_of(edit(norms_text()))
    with pytest.raises(NormsRejected, match=re.escape(reason)):
        C.parse(edit(norms_text()).encode())


def test_the_api_offers_the_catalogues_modes():
    import typing

    from api.schemas import DeliveryMode
    from geo.catalogue import DELIVERY_MODES

    assert typing.get_args(DeliveryMode) == tuple(DELIVERY_MODES)


def test_an_unknown_service_is_refused_by_name():
    norms = world.demo_norms()
    with pytest.raises(UnknownServiceError) as err:
        norms.check_service("juggling")
    assert "juggling" in err.value.user_message and "home_care" in err.value.user_message
    assert "juggling" in err.value.message_fa


def test_hostile_norms_files_are_refused_not_read():
    for content, reason in [
        (b"x" * (C.MAX_BYTES + 1), "larger than"),
        (b"\xff\xfe\x00v", "not UTF-8"),
        (b"version = '1'\n\x00", "NUL"),
        (b"a = " + b"[" * 100_000 + b"]" * 100_000, "nests tables or arrays too deeply"),
        (b"version = ", "not valid TOML"),
    ]:
        with pytest.raises(NormsRejected, match=reason):
            C.parse(content)


# ---- delivery modes in the measures, by hand ---------------------------------------------------


def _line_world(service_modes: dict, ngo_rows: list[tuple], places: list[tuple], version="t"):
    """Places on the parallel 34.5 °N (lon, province, target persons) and centres (lon, province,
    service, capacity, mode) with the norms' detour 1: straight-line metres are ground metres."""
    raw = tomllib.loads(NORMS_TEXT)
    raw.update(travel="straight", detour_factor=1.0, version=version)
    for service, values in service_modes.items():
        raw["services"][service].update(values)
    norms = Norms.from_dict(raw)
    settlements = world.settlements([(x, 34.5) for x, _, _ in places], [1000] * len(places))
    settlements["province_code"] = [p for _, p, _ in places]
    ngos = world.ngos(
        [(x, 34.5) for x, *_ in ngo_rows],
        [r[2] for r in ngo_rows],
        [r[3] for r in ngo_rows],
        [None] * len(ngo_rows),
    )
    ngos["province_code"] = [r[1] for r in ngo_rows]
    ngos["delivery_mode"] = [r[4] for r in ngo_rows]
    demand = pd.DataFrame({s: np.zeros(len(places)) for s in norms.services})
    for service in {r[2] for r in ngo_rows}:
        demand[service] = [float(d) for *_, d in places]
    return norms, settlements, ngos, demand


def _km(lon_a: float, lon_b: float) -> float:
    ll = np.radians([[lon_a, 34.5], [lon_b, 34.5]])
    return float(distances(ll[:1], ll[1:])[0]) / 1000


def test_an_outreach_provider_serves_within_its_own_reach_and_the_supply_splits_back():
    # Rehabilitation: catchment 30 km, outreach reach 60 km. One provider at 49.0 °E; places
    # at about 20, 45 and 70 km east of it.
    lons = [49.22, 49.49, 49.765]
    km = [_km(49.0, x) for x in lons]
    assert 15 < km[0] < 30 < km[1] < 60 < km[2]
    places = [(x, "00", d) for x, d in zip(lons, (300, 500, 700), strict=True)]
    for mode, reached in (("outreach", [True, True, False]), ("centre", [True, False, False])):
        norms, s, n, demand = _line_world(
            {"rehabilitation": {"reach_km": {"outreach": 60}}},
            [(49.0, "00", "rehabilitation", 80, mode)],
            places,
        )
        acc = access_measures(s, n, demand, norms)
        a = acc.access["rehabilitation"].to_numpy()
        assert list(a > 0) == reached
        assert list(acc.covered["rehabilitation"]) == reached
        reach = 60_000.0 if mode == "outreach" else 30_000.0
        # By hand: W = exp(-d²/2σ²), σ = reach / 2; R = S / Σ P W; A = R W.
        d = np.array(km) * 1000
        w = np.where(d <= reach, np.exp(-(d**2) / (2 * (reach / 2) ** 2)), 0.0)
        r = 80 / (np.array([300, 500, 700]) * w).sum()
        assert a == pytest.approx(r * w, rel=1e-4)  # the kernel's fast ground distance
        # E2SFCA keeps the supply: Σ A × P gives back the provider's capacity exactly.
        assert float((a * np.array([300, 500, 700])).sum()) == pytest.approx(80.0, rel=1e-9)
        assert list(acc.reached["rehabilitation"]) == (reached if mode == "outreach" else [False] * 3)


def test_a_remote_provider_serves_its_whole_province_whatever_the_distance():
    # Counselling delivered remotely only: 100 places for province 00's 400 target persons.
    places = [(49.1, "00", 100), (50.9, "00", 300), (51.5, "01", 250)]
    norms, s, n, demand = _line_world(
        {"counselling": {"modes": ["remote"]}}, [(49.05, "00", "counselling", 100, "remote")], places
    )
    acc = access_measures(s, n, demand, norms)
    assert list(acc.access["counselling"]) == pytest.approx([0.25, 0.25, 0.0])
    assert list(acc.covered["counselling"]) == [True, True, False]
    assert np.isinf(acc.nearest_m["counselling"]).all()  # no centre to travel to
    # Distance never flags a service delivered only remotely; access still does.
    tier = pd.Series(["village"] * 3)
    flags = underserved_flags(
        s,
        tier,
        acc.nearest_m,
        norms.access_share(acc.access),
        pd.Series([False] * 3),
        norms,
        reached=acc.reached,
    )
    mine = flags[flags["service_type"] == "counselling"].set_index("settlement_code")
    assert not mine["too_far"].any()
    share = 0.25 / norms.services["counselling"].per_person
    expected_low = share < norms.services["counselling"].min_access_share
    assert set(mine.index) == ({"S0000", "S0001", "S0002"} if expected_low else {"S0002"})


def test_modes_of_one_service_add_up_exactly():
    places = [(49.1, "00", 200), (49.3, "00", 300), (50.5, "00", 500)]
    rows = [(49.12, "00", "counselling", 60, "centre"), (49.9, "00", "counselling", 40, "remote")]
    both = _line_world({}, rows, places)
    centre = _line_world({}, rows[:1], places)
    remote = _line_world({}, rows[1:], places)

    def access(norms, s, n, demand):
        return access_measures(s, n, demand, norms).access["counselling"].to_numpy()

    a, a_centre, a_remote = access(*both), access(*centre), access(*remote)
    assert a == pytest.approx(a_centre + a_remote, rel=1e-12)
    assert a_remote == pytest.approx([0.04] * 3)  # 40 places / 1,000 persons
    # Σ A × P = every place of both (the centre's catchment holds demand)
    assert float((a * np.array([200, 300, 500])).sum()) == pytest.approx(100.0, rel=1e-9)


# ---- the check of issue 24: a ninth service and a mode change, end to end ----------------------


@pytest.fixture
def served(tmp_path):
    """The small world in a GeoPackage store, served with straight-line norms (the file it
    started with), and a client per role."""
    url = str(tmp_path / "world.gpkg")
    store = open_store(url)
    with store.transaction() as tx:
        for name, frame in small_layers().items():
            tx.write_layer(name, frame)
    started = tmp_path / "norms.toml"
    started.write_text(
        norms_text(version="2026.1-straight", ninth=False, remote_counselling=False), encoding="utf-8"
    )
    app = create_app(
        Settings(
            store=url,
            norms=started,
            prepare_tiles=False,
            imports_dir=tmp_path / "private",
            versions_dir=tmp_path / "versions",
        )
    )
    tokens = make_users(url)
    clients = {
        k: TestClient(app, raise_server_exceptions=False, headers=bearer(t)) for k, t in tokens.items()
    }
    yield {"app": app, "clients": clients, "store": app.state.snapshots.store}
    app.state.imports.close()


def _post_norms(client: TestClient, text: str):
    return client.post("/catalogue", files={"file": ("norms.toml", text.encode("utf-8"), "application/toml")})


def _check(client: TestClient, service: str, mode: str | None = None):
    """A licence check of 30 places at (49.5, 34.4), in ``mode`` when given."""
    body = {"lon": 49.5, "lat": 34.4, "service_type": service, "capacity": 30}
    return client.post("/licence-checks", json=body | ({"delivery_mode": mode} if mode else {}))


def test_a_ninth_service_runs_through_import_analysis_api_ogc_tiles_and_pages(served):
    admin, planner = served["clients"]["admin"], served["clients"]["planner"]
    store = served["store"]
    before = admin.get("/catalogue").json()
    assert before["source"] == "file" and len(before["services"]) == 8
    # Who may import: administrators only; a bad file is refused with every reason, nothing kept.
    assert _post_norms(planner, norms_text()).status_code == 403
    bad = _post_norms(admin, norms_text().replace('modes = ["centre", "home"]', 'modes = ["teleport"]'))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "teleport" in bad.json()["detail"] and bad.json()["reasons"]
    # in Persian too: what is wrong, said in Persian around the entry's name
    assert "یک یا چند مورد" in bad.json()["detail_fa"] and len(bad.json()["reasons_fa"]) == 1
    roads = _post_norms(admin, norms_text(travel="roads"))
    assert roads.status_code == 422 and "road" in roads.json()["detail"]
    assert "شبکهٔ راه‌ها" in roads.json()["detail_fa"]
    assert "norms_versions" not in store.list_layers()

    done = _post_norms(admin, norms_text())
    assert done.status_code == 201, done.text
    now = admin.get("/catalogue").json()
    assert now["source"] == "imported" and now["version"] == "2026.9-test"
    assert [s["code"] for s in now["services"]][-1] == "respite_care"
    counselling = next(s for s in now["services"] if s["code"] == "counselling")
    assert counselling["modes"] == ["remote"] and counselling["reach"] == {"remote": None}
    assert _post_norms(admin, norms_text()).status_code == 422  # the same version again
    assert "respite_care" in admin.get("/catalogue/norms.toml").text

    # Import: a registry row of the ninth service (named in Persian) and its delivery mode; an
    # unknown service and a mode the service is not delivered in are refused by name.
    def registry(rows):
        buf = io.BytesIO()
        pd.DataFrame(rows).to_excel(buf, index=False)
        return buf.getvalue()

    base = {
        "ظرفیت": "40",
        "وضعیت مجوز": "فعال",
        "شهرستان": "اراک",
        "طول جغرافیایی": "49.5",
        "عرض جغرافیایی": "34.4",
    }
    rows = [
        {
            "شماره مجوز": "R-1",
            "نام": "مرکز موقت یک",
            "نوع خدمت": "مراقبت موقت",
            "شیوهٔ ارائه": "در منزل",
            **base,
        },
        {"شماره مجوز": "R-2", "نام": "مرکز دو", "نوع خدمت": "juggling", **base},
        {"شماره مجوز": "R-3", "نام": "مرکز سه", "نوع خدمت": "respite_care", "شیوهٔ ارائه": "remote", **base},
    ]
    job = wait(
        admin, admin.post("/imports?layer=ngos", files={"file": ("r.xlsx", registry(rows))}).json()["id"]
    )
    reasons = {(x["row"], x["reason"]) for x in job["rejected_rows"]}
    assert reasons == {(2, "unknown_service_type"), (3, "mode_not_offered")}
    assert any("juggling" in x["text"] for x in job["rejected_rows"])
    job = wait(
        admin, admin.post("/imports?layer=ngos", files={"file": ("r.xlsx", registry(rows[:1]))}).json()["id"]
    )
    assert job["can_confirm"], job["rejected_rows"]
    assert admin.post(f"/imports/{job['id']}/confirm").status_code == 200
    stored = store.read_layer("ngos").set_index("licence_no")
    assert (
        stored.loc["R-1", "service_type"] == "respite_care" and stored.loc["R-1", "delivery_mode"] == "home"
    )
    # The county's target persons for the new service: data, not code.
    needs = store.read_layer("county_needs")
    extra = pd.DataFrame(
        {
            "county_code": ["0001", "0002"],
            "service_type": "respite_care",
            "target_population": [900, 400],
            "synthetic": True,
        }
    )
    with store.transaction() as tx:
        tx.write_layer("county_needs", pd.concat([needs, extra], ignore_index=True))

    # Analysis and API.
    sat = admin.get("/saturation?service_type=respite_care").json()
    arak = next(r for r in sat["rows"] if r["county_code"] == "0001")
    assert arak["capacity"] == 40 and arak["target_population"] == 900
    unknown = admin.get("/saturation?service_type=juggling")
    assert unknown.status_code == 400 and "juggling" in unknown.json()["detail"]
    assert "juggling" in unknown.json()["detail_fa"]
    flags = admin.get("/collections/flags/items?service_type=counselling&limit=500").json()["features"]
    assert flags and not any(f["properties"]["too_far"] for f in flags)  # remote: never too far
    check = _check(admin, "respite_care")
    assert check.status_code == 200, check.text
    assert check.json()["delivery_mode"] == "centre" and check.json()["reach_km"] == 25
    assert "centre" in check.json()["reasons_en"][-1] and "در مرکز" in check.json()["reasons_fa"][-1]
    home = _check(admin, "respite_care", "home").json()
    assert home["delivery_mode"] == "home" and home["reach_km"] == 40 and home["better_places"] == []
    assert home["newly_covered_target_population"] >= check.json()["newly_covered_target_population"]
    remote = _check(admin, "counselling", "remote").json()
    assert remote["delivery_mode"] == "remote" and remote["reach_km"] is None, remote
    assert "in the province, whatever the distance" in remote["reasons_en"][-1]
    # the reasons read as sentences of the province, not of a radius
    assert any("مرکز فعال مشاوره و مددکاری در استان، هر فاصله‌ای" in r for r in remote["reasons_fa"])
    assert any("centres in the province, whatever the distance" in r for r in remote["reasons_en"])
    refused = _check(admin, "counselling", "centre")
    assert refused.status_code == 400 and "remote" in refused.json()["detail"]

    # Siting says the mode it places; a service delivered only remotely has no place to choose.
    siting = admin.post("/plans/siting", json={"service_type": "respite_care", "k": 1, "province": "00"})
    assert siting.status_code == 200, siting.text
    summary = siting.json()["summary"]
    assert summary["delivery_mode"] == "centre" and summary["reach_km"] == 25
    remote_siting = admin.post(
        "/plans/siting", json={"service_type": "counselling", "k": 1, "province": "00"}
    )
    assert remote_siting.status_code == 400 and "only remotely" in remote_siting.json()["detail"]

    # OGC collections, their queryables, the OpenAPI document.
    items = admin.get("/collections/ngos/items?service_type=respite_care").json()
    assert [f["properties"]["licence_no"] for f in items["features"]] == ["R-1"]
    assert admin.get("/collections/ngos/items?service_type=juggling").status_code == 400
    q = admin.get("/collections/settlement-access/queryables").json()["properties"]
    assert "respite_care_access_share" in q
    assert (
        "respite_care"
        in admin.get("/collections/ngos/queryables").json()["properties"]["service_type"]["enum"]
    )
    doc = admin.get("/openapi.json").json()
    enums = [
        p.get("schema", {})
        for p in doc["paths"]["/saturation"]["get"]["parameters"]
        if p["name"] == "service_type"
    ]
    assert any("respite_care" in str(e) for e in enums)
    assert (
        "respite_care_access_share"
        in doc["components"]["schemas"]["SettlementAccessProperties"]["properties"]
    )

    # Tiles: the centre in the NGO tile of its place, with its service.
    z = 10
    x = int((49.5 + 180) / 360 * 2**z)
    lat = np.radians(34.4)
    y = int((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * 2**z)
    tile = admin.get(f"/tiles/ngos/{z}/{x}/{y}.mvt")
    assert tile.status_code == 200
    found = [f["properties"] for f in mapbox_vector_tile.decode(tile.content)["ngos"]["features"]]
    assert any(p.get("service_type") == "respite_care" for p in found), found

    # Pages: the service by its Persian name, in the filters and the words of the page.
    page = admin.get("/maps/national?lang=fa")
    assert page.status_code == 200 and "مراقبت موقت" in page.text
    assert "Respite care" in admin.get("/maps/national?lang=en").text
    for office in ("/maps/register?lang=fa", "/maps/activities?lang=fa"):  # their service lists
        answer = admin.get(office)
        assert answer.status_code == 200 and "مراقبت موقت" in answer.text, office
    importing = admin.get("/maps/import?lang=fa")  # the administrator's catalogue card
    assert importing.status_code == 200 and 'data-code="respite_care"' in importing.text
    assert "در منزل (۴۰ کیلومتر)" in importing.text and "2026.9-test" in importing.text
    assert "am-catalogue" not in served["clients"]["planner"].get("/maps/import?lang=fa").text
    html = admin.get("/collections/ngos/items?f=html&service_type=respite_care")
    assert html.status_code == 200 and "R-1" in html.text


def test_the_command_line_shows_and_imports_a_catalogue(tmp_path, capsys, monkeypatch):
    from cli.main import main
    from store.accounts import Accounts
    from tests.conftest import TEST_PASSWORD

    url = str(tmp_path / "cli.gpkg")
    store = open_store(url)
    with store.transaction() as tx:
        for name, frame in small_layers().items():
            tx.write_layer(name, frame)
    accounts = Accounts(url)
    accounts.add("cli_admin", TEST_PASSWORD, "admin", (), actor="tests")
    accounts.close()
    started = tmp_path / "norms.toml"
    started.write_text(
        norms_text(version="2026.1-straight", ninth=False, remote_counselling=False), encoding="utf-8"
    )
    new = tmp_path / "new.toml"
    new.write_text(norms_text(), encoding="utf-8")
    common = ["--store", url, "--norms", str(started)]
    assert main([*common, "catalogue", "show"]) == 0
    assert len(__import__("json").loads(capsys.readouterr().out)["services"]) == 8
    # refused whole (a service that registry rows still name is dropped): nothing recorded
    dropped = tmp_path / "dropped.toml"
    dropped.write_text(
        norms_text()
        .replace("kindergarten", "nursery")
        .replace("[services.nursery]", '[services.nursery]\nlabel_fa = "مهد"\nlabel_en = "Nursery"'),
        encoding="utf-8",
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert (
        main([*common, "catalogue", "import", str(dropped), "--user", "cli_admin", "--password-stdin"]) == 1
    )
    assert "rows name the service kindergarten, which the new catalogue drops" in capsys.readouterr().err
    assert "norms_versions" not in store.list_layers()
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert main([*common, "catalogue", "import", str(new), "--user", "cli_admin", "--password-stdin"]) == 0
    assert "respite_care" in capsys.readouterr().out
    assert list(store.read_layer("norms_versions")["version"]) == ["2026.9-test"]
    assert (
        C.store_norms(store, norms_of(started.read_text(encoding="utf-8")))
        .services["counselling"]
        .remote_only
    )


@pytest.mark.postgis
def test_postgis_keeps_the_catalogue_and_upgrades_a_table_of_the_fixed_eight(postgis_store):
    store = postgis_store
    layers = small_layers()
    with store.transaction() as tx:
        for name, frame in layers.items():
            tx.write_layer(name, frame)
    # A registry table an earlier release made: the fixed list of eight, no delivery mode.
    with store.engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE "ngos" DROP COLUMN "delivery_mode"')
        conn.exec_driver_sql('ALTER TABLE "ngos" DROP CONSTRAINT "ngos_service_type_format"')
        eight = ", ".join(f"'{c}'" for c in DEFAULT_SERVICE_TYPES)
        conn.exec_driver_sql(
            f'ALTER TABLE "ngos" ADD CONSTRAINT "ngos_service_type_known" CHECK ("service_type" IN ({eight}))'
        )
    running = norms_of(norms_text(version="2026.1-straight", ninth=False, remote_counselling=False))
    new = C.import_norms(store, norms_text().encode(), "tests", running, {"ngos": layers["ngos"]})
    assert "respite_care" in new.services
    assert C.store_norms(store, running).version == "2026.9-test"
    with pytest.raises(NormsRejected, match="already recorded"):
        C.import_norms(store, norms_text().encode(), "tests", running, {})
    # The ninth service's centre, delivered at home, goes into the upgraded table.
    ngos = store.read_layer("ngos")
    extra = ngos.iloc[:1].copy()
    extra["licence_no"], extra["service_type"], extra["delivery_mode"] = "R-PG", "respite_care", "home"
    with store.transaction() as tx:
        tx.write_layer("ngos", pd.concat([ngos, extra], ignore_index=True))
    back = store.read_layer("ngos").set_index("licence_no")
    assert (back.loc["R-PG", "service_type"], back.loc["R-PG", "delivery_mode"]) == ("respite_care", "home")
    assert back["delivery_mode"].drop("R-PG").isna().all()


def test_the_openapi_document_names_the_norms_in_force_without_reading_the_layers(served):
    """/openapi.json lists the services of the newest imported norms, read alone from the store:
    a client's first call after a start does not wait for the national layers and their analysis.
    A service just added, with no county's target population yet, is analysed as nobody to serve
    (it was an unhandled KeyError, a 500, until its needs were written)."""
    app, store = served["app"], served["store"]
    started = app.state.snapshots.norms
    C.import_norms(store, norms_text().encode(), "tests", started, {"ngos": store.read_layer("ngos")})
    doc = served["clients"]["admin"].get("/openapi.json").json()
    enums = [
        p.get("schema", {})
        for p in doc["paths"]["/saturation"]["get"]["parameters"]
        if p["name"] == "service_type"
    ]
    assert any("respite_care" in str(e) for e in enums)
    assert app.state.snapshots._current is None  # no snapshot was loaded for the document
    # The new service has no target population recorded in any county yet: its analysis has
    # no one to serve (no saturation rows, nothing flagged), not an error.
    admin = served["clients"]["admin"]
    saturation = admin.get("/saturation?service_type=respite_care")
    assert saturation.status_code == 200 and saturation.json()["rows"] == [], saturation.text
    flags = admin.get("/collections/flags/items?service_type=respite_care").json()
    assert flags["numberMatched"] == 0
    # once the snapshot is loaded, the document names its services as before
    assert app.state.snapshots._current is not None
    again = served["clients"]["admin"].get("/openapi.json").json()
    assert (
        again["paths"]["/saturation"]["get"]["parameters"] == doc["paths"]["/saturation"]["get"]["parameters"]
    )
