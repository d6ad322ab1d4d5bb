"""Planning end to end on the national demo: the HTTP API and the command line, on both stores."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cli.main import main
from geo.delegation import delegate
from geo.recompute import analyse
from geo.scenarios import compare
from geo.siting import site_centres
from services import plans
from services.loading import load_norms, travel_for
from services.settings import Settings
from tests.conftest import TEST_USERS

pytestmark = pytest.mark.realdata

ROOT = Path(__file__).resolve().parents[1]
PROVINCE = "11"  # Sistan and Baluchestan: the most flagged places for rehabilitation
SERVICE = "rehabilitation"


@pytest.fixture(scope="module")
def client(demo, admin_headers):
    settings = Settings(store=str(demo["store"].path), prepare_tiles=False)
    return TestClient(create_app(settings), raise_server_exceptions=False, headers=dict(admin_headers))


@pytest.fixture(scope="module")
def analysis(demo):
    layers = demo["layers"]
    norms = load_norms(ROOT / "config" / "norms.toml")
    return analyse(
        layers["settlements"],
        layers["ngos"],
        layers["county_needs"],
        layers["counties"],
        layers["target_areas"],
        norms,
        travel_for(Settings(), norms),
    )


def test_siting_endpoint_equals_the_core(client, analysis):
    body = {"service_type": SERVICE, "province": PROVINCE, "k": 4, "method": "exact"}
    got = client.post("/plans/siting", json=body)
    assert got.status_code == 200, got.text
    data = got.json()
    core = site_centres(analysis, SERVICE, 4, province=PROVINCE, method="exact")
    assert core.summary["optimal"] and core.summary["gap"] == 0
    # Over HTTP the solver has 5 s: optimal, the same sites; stopped early, within its bound.
    if data["summary"]["optimal"]:
        assert [s["settlement_code"] for s in data["sites"]] == core.sites["settlement_code"].tolist()
        assert data["summary"]["objective"] == core.summary["objective"]
    assert data["summary"]["objective"] <= core.summary["objective"] <= data["summary"]["bound"] + 1e-6
    assert len(data["features"]["features"]) == 4
    # The greedy answer on the same instance: no better, and its bound above the optimum.
    greedy = client.post("/plans/siting", json={**body, "method": "greedy"}).json()["summary"]
    assert greedy["objective"] <= core.summary["objective"] <= greedy["bound"] + 1e-6


def test_delegation_endpoint_equals_the_core(client, analysis):
    data = client.post("/plans/delegation", json={"service_type": SERVICE, "province": PROVINCE}).json()
    core = delegate(analysis, SERVICE, province=PROVINCE)
    for key in ("capacity_needed", "assigned", "still_needed", "spare_capacity", "centres_used"):
        assert data["summary"][key] == core.summary[key], key
    assert sum(f["properties"]["capacity"] for f in data["lines"]["features"]) == core.summary["assigned"]
    if core.summary["outreach_min"] is not None:  # on roads: within the outreach in minutes
        limit = core.summary["outreach_min"] + 0.05  # the lines' minutes are rounded to 0.1
        assert all(f["properties"]["minutes"] <= limit for f in data["lines"]["features"])
    else:
        assert all(f["properties"]["km"] <= core.summary["outreach_km"] for f in data["lines"]["features"])


def test_delegation_on_roads_is_steered_in_minutes(client, analysis):
    body = {"service_type": SERVICE, "province": PROVINCE}
    short = client.post("/plans/delegation", json={**body, "outreach_min": 20})
    long = client.post("/plans/delegation", json={**body, "outreach_min": 300})
    assert short.status_code == long.status_code == 200, (short.text, long.text)
    assert short.json()["summary"]["outreach_min"] == 20 and long.json()["summary"]["outreach_min"] == 300
    assert short.json()["summary"]["assigned"] < long.json()["summary"]["assigned"]
    assert (
        delegate(analysis, SERVICE, province=PROVINCE, outreach_min=20).summary["assigned"]
        == (short.json()["summary"]["assigned"])
    )
    # A distance on roads is refused with what to give instead; a field the body does not declare too.
    km = client.post("/plans/delegation", json={**body, "outreach_km": 60})
    assert km.status_code == 400 and "outreach_min" in km.json()["detail"]
    typo = client.post("/plans/delegation", json={**body, "outreach_mins": 300})
    assert typo.status_code == 422 and "outreach_mins" in typo.text


def test_scenarios_saved_copied_compared_downloaded_and_deleted(client, analysis, demo):
    sites = client.post("/plans/siting", json={"service_type": SERVICE, "province": PROVINCE, "k": 3}).json()[
        "sites"
    ]
    changes = {
        "licences_added": [
            {"service_type": SERVICE, "capacity": s["capacity"], "lon": s["lon"], "lat": s["lat"],
             "settlement_code": s["settlement_code"]}
            for s in sites
        ]
    }  # fmt: skip
    made = client.post("/scenarios", json={"name": "سه مرکز تازه", "owner": "tester", "changes": changes})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert made.json()["created_at"].endswith("Z")
    # the author is the signed-in user (the admin's token), not the free text sent
    assert made.json()["owner"] == TEST_USERS["admin"][0]
    assert (
        client.get(f"/scenarios/{sid}").json()["changes"]["licences_added"][0]["settlement_code"]
        == sites[0]["settlement_code"]
    )
    assert sid in [
        s["id"]
        for s in client.get("/scenarios", params={"owner": TEST_USERS["admin"][0]}).json()["scenarios"]
    ]
    copy = client.post(f"/scenarios/{sid}/copy", json={"name": "نسخهٔ دوم"})
    assert copy.status_code == 201 and copy.json()["copied_from"] == sid

    got = client.get(f"/scenarios/today/compare/{sid}", params={"service_type": SERVICE})
    assert got.status_code == 200, got.text
    data = got.json()
    # The same comparison computed here from the layers.
    layers = demo["layers"]
    after = plans.scenario_analysis(layers, analysis, changes)
    core = compare(analysis, after, [SERVICE])
    assert data["summary"]["newly_covered"] == core.summary["newly_covered"] > 0
    assert len(data["counties"]) == len(core.counties)
    nat = next(e for e in data["equity"] if e["scope"] == "national")
    ref = core.equity[core.equity["scope"] == "national"].iloc[0]
    assert nat["gini_b"] == pytest.approx(ref["gini_b"], abs=1e-9)  # JSON keeps 10 digits
    # Newly covered is what the new sites reach among people no centre reached.
    covered_a = analysis.access.covered[SERVICE].to_numpy()
    covered_b = after.access.covered[SERVICE].to_numpy()
    assert data["summary"]["newly_covered"] == int(
        analysis.demand[SERVICE].to_numpy()[covered_b & ~covered_a].sum()
    )
    # A scenario against its copy: nothing changes.
    same = client.get(
        f"/scenarios/{sid}/compare/{copy.json()['id']}", params={"service_type": SERVICE}
    ).json()
    assert same["summary"]["newly_covered"] == 0 and same["summary"]["counties_changing_class"] == 0

    xlsx = client.get(f"/scenarios/today/compare/{sid}", params={"service_type": SERVICE, "f": "xlsx"})
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["summary", "counties", "equity", "costs"]
    rows = list(book["counties"].iter_rows(values_only=True))
    assert rows[0][:3] == ("county_code", "county_name_fa", "county_name_en")
    assert len(rows) - 1 == len(data["counties"])

    assert client.delete(f"/scenarios/{sid}").status_code == 204
    gone = client.get(f"/scenarios/{sid}")
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    client.delete(f"/scenarios/{copy.json()['id']}")


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "words"),
    [
        ("post", "/scenarios", {"name": "x", "changes": {"licences_moved": []}}, 400, "unknown kinds"),
        ("post", "/scenarios", {"name": "x", "changes": {"licences_closed": ["NOPE"]}}, 201, None),
        ("get", "/scenarios/today/compare/s-000000000000", None, 404, "no scenario"),
        ("post", "/plans/siting", {"service_type": SERVICE, "k": 10, "method": "exact"}, 400, "pairs"),
        ("post", "/plans/siting", {"service_type": SERVICE, "province": "99", "k": 1}, 400, "no settlements"),
        ("post", "/plans/siting", {"service_type": SERVICE, "k": 0}, 422, None),
    ],
)
def test_planning_errors_are_problem_json(client, method, url, body, status, words):
    got = getattr(client, method)(url, **({"json": body} if body is not None else {}))
    assert got.status_code == status, got.text
    if status >= 400:
        assert got.headers["content-type"] == "application/problem+json"
        assert b"Traceback" not in got.content
        if words:
            assert words in got.json()["detail"]
    else:
        # A licence that does not exist is refused when the scenario is applied, not stored blindly.
        sid = got.json()["id"]
        bad = client.get(f"/scenarios/today/compare/{sid}")
        assert bad.status_code == 400 and "no licence NOPE" in bad.json()["detail"]
        client.delete(f"/scenarios/{sid}")


def test_kilometres_on_roads_are_along_the_roads_not_a_detour_factor(analysis):
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    assert analysis.access.unit == "min"
    lines = delegate(analysis, SERVICE, province=PROVINCE).lines
    assert len(lines) > 20
    ground = geod.inv(lines.place_lon, lines.place_lat, lines.centre_lon, lines.centre_lat)[2] / 1000.0
    ratio = lines["km"].to_numpy() / ground
    # A route is never shorter than the geodesic between its ends (to the rounding of km to 10 m),
    # and its length is its own, not the straight line times one factor.
    assert (lines["km"].to_numpy() >= ground - 0.006).all()
    assert ratio.std() > 0.05 and not np.allclose(ratio, analysis.norms.detour_factor, rtol=1e-3)
    plan = site_centres(analysis, SERVICE, 3, province=PROVINCE, method="greedy")
    a = plan.assignments.merge(
        plan.sites[["settlement_code", "lon", "lat"]].rename(columns={"settlement_code": "site_code"}),
        on="site_code",
    )
    here = analysis.settlements.set_index("settlement_code").loc[a.settlement_code]
    site_ground = geod.inv(here.geometry.x, here.geometry.y, a.lon, a.lat)[2] / 1000.0
    assert (a["km"].to_numpy() >= site_ground - 1e-3).all()
    assert not np.allclose(a["km"].to_numpy() / np.maximum(site_ground, 1e-9), analysis.norms.detour_factor)


def test_command_line_site_delegate_and_scenarios(demo, tmp_path, capsys):
    store = ["--store", str(demo["store"].path)]
    assert main([*store, "site", "--service", SERVICE, "--province", PROVINCE, "--k", "3", "--method", "greedy",
                 "--out", str(tmp_path / "sites.csv"), "--save-scenario", "CLI plan", "--owner", "cli"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "3 new rehabilitation sites" in out and "gap" in out
    sid = out.strip().splitlines()[-1].split()[3]
    assert (tmp_path / "sites.csv").read_text(encoding="utf-8-sig").count("\n") == 4
    assert (
        main([*store, "delegate", "--service", SERVICE, "--province", PROVINCE, "--out", str(tmp_path)]) == 0
    )
    assert "still needed" in capsys.readouterr().out
    assert (tmp_path / "delegation_places.csv").exists()
    assert main([*store, "scenario", "list", "--owner", "cli"]) == 0
    assert sid in capsys.readouterr().out
    assert main([*store, "scenario", "copy", sid, "--name", "copy"]) == 0
    copy = capsys.readouterr().out.split()[3]
    assert (
        main(
            [
                *store,
                "scenario",
                "compare",
                "today",
                sid,
                "--service",
                SERVICE,
                "--out",
                str(tmp_path / "c.xlsx"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "newly covered" in out and "cost table: norms" in out
    assert openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames == [
        "summary",
        "counties",
        "equity",
        "costs",
    ]
    for s in (sid, copy):
        assert main([*store, "scenario", "delete", s]) == 0
    assert main([*store, "scenario", "delete", sid]) == 2  # gone: a clear error, no traceback
    assert "no scenario" in capsys.readouterr().err


@pytest.mark.postgis
def test_planning_on_postgis_answers_as_on_the_geopackage(demo, postgis_store, postgis_url, client):
    with postgis_store.transaction() as tx:
        for name, frame in demo["layers"].items():
            tx.write_layer(name, frame)
    version = postgis_store.version()
    body = {"service_type": SERVICE, "province": PROVINCE, "k": 3, "method": "greedy"}
    from tests.conftest import bearer, make_users

    with TestClient(
        create_app(Settings(store=postgis_url, prepare_tiles=False)),
        raise_server_exceptions=False,
        headers=bearer(make_users(postgis_url)["admin"]),
    ) as pg:
        a, b = pg.post("/plans/siting", json=body).json(), client.post("/plans/siting", json=body).json()
        assert a["sites"] == b["sites"]
        d = {"service_type": SERVICE, "province": PROVINCE}
        assert (
            pg.post("/plans/delegation", json=d).json()["summary"]["assigned"]
            == (client.post("/plans/delegation", json=d).json()["summary"]["assigned"])
        )
        changes = {
            "licences_added": [
                {"service_type": SERVICE, "capacity": 40, "lon": s["lon"], "lat": s["lat"]}
                for s in a["sites"]
            ]
        }
        ids = []
        for c in (pg, client):
            made = c.post("/scenarios", json={"name": "both stores", "owner": "tester", "changes": changes})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        assert postgis_store.version() == version  # saving a scenario is not a layer commit
        got = [
            c.get(f"/scenarios/today/compare/{i}", params={"service_type": SERVICE}).json()
            for c, i in zip((pg, client), ids, strict=True)
        ]
        assert got[0]["summary"] == got[1]["summary"]
        assert got[0]["counties"] == got[1]["counties"]
        assert pg.get("/scenarios").json()["scenarios"][0]["owner"] == TEST_USERS["admin"][0]
        for c, i in zip((pg, client), ids, strict=True):
            assert c.delete(f"/scenarios/{i}").status_code == 204
    assert np.isfinite(got[0]["summary"]["newly_covered"])
