"""The volunteer split downstream: saturation's JSON, CSV and XLSX say "capacity = licensed +
volunteers" (Persian first), the national map's county data carries the two parts, and the
map's words exist in both languages. On the small world with the norms counting volunteers."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from maps.i18n import strings
from services.settings import Settings
from tests import small_world
from tests.analysis_world import ROOT
from tests.conftest import bearer
from tests.test_imports_http import tokens_for


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("volunteer-exports")
    norms = folder / "norms.toml"
    text = (ROOT / "config" / "norms.toml").read_text(encoding="utf-8")
    on, n = re.subn(r"(?m)^count_as_supply = false$", "count_as_supply = true", text)
    assert n == 1
    norms.write_text(on.replace('travel = "roads"', 'travel = "straight"', 1), encoding="utf-8")
    url = str(folder / "world.gpkg")
    small_world.gpkg(url)
    tokens = tokens_for(url)
    app = create_app(Settings(store=url, norms=norms, prepare_tiles=False, imports_dir=folder / "imp"))
    yield TestClient(app, raise_server_exceptions=False, headers=bearer(tokens["admin"]))
    app.state.imports.close()


def test_saturation_splits_capacity_by_hand(client):
    rows = pd.DataFrame(client.get("/saturation").json()["rows"]).set_index(["county_code", "service_type"])
    assert (rows["centre_capacity"] + rows["volunteer_capacity"] == rows["capacity"]).all()
    # V002 (6 social workers, county 0002 only): counselling 6; V001 (4 doctors, 2 psychologists
    # at a village of 0001): home care 4, counselling 4; V003 is inactive: nothing
    assert rows.loc[("0002", "counselling"), "volunteer_capacity"] == 6
    assert rows.loc[("0001", "home_care"), "volunteer_capacity"] == 4
    assert rows.loc[("0001", "counselling"), "volunteer_capacity"] == 4
    assert rows.loc[("0101", "rehabilitation"), "volunteer_capacity"] == 2  # V101: 3 doctors × 0.5
    assert rows["volunteer_capacity"].sum() == 13 + 12 + 7


def test_the_csv_and_xlsx_say_capacity_equals_licensed_plus_volunteers(client):
    persian = client.get("/saturation?f=csv&lang=fa&service_type=counselling").text
    assert "ظرفیت مراکز" in persian and "ظرفیت داوطلبان" in persian and "ظرفیت و اجزای آن" in persian
    assert "ظرفیت مراکز + ۶ داوطلبان" in persian
    english = client.get("/saturation?f=csv&lang=en&service_type=counselling").text
    line = next(x for x in english.splitlines() if x.startswith("0002,"))
    assert re.search(r"capacity (\d[\d,]*) = (\d[\d,]*) licensed \+ 6 volunteers", line)
    book = client.get("/saturation?f=xlsx&lang=en&service_type=counselling")
    table = pd.read_excel(io.BytesIO(book.content), sheet_name=0)
    assert {"Centres' capacity", "Volunteers' capacity", "Capacity and its parts"} <= set(table.columns)
    assert (table["Centres' capacity"] + table["Volunteers' capacity"] == table["Capacity"]).all()


def test_the_national_maps_county_data_carries_both_parts(client):
    counties = client.get("/maps/data/boundaries.json").json()["counties"]["features"]
    sat = {f["properties"]["county_code"]: f["properties"]["sat"] for f in counties}
    v = sat["0002"]["counselling"]
    assert len(v) == 13 and v[12] == 6 and v[11] + v[12] == v[2]


def test_the_maps_words_in_both_languages():
    fa, en = strings("fa"), strings("en")
    assert fa["capacity_split_volunteers"] == "{total} = {centres} ظرفیت مراکز + {volunteers} داوطلبان"
    assert en["capacity_split_volunteers"] == "{total} = {centres} licensed + {volunteers} volunteers"
    assert fa["volunteer_groups"] == "گروه‌های داوطلب" and en["volunteer_groups"] == "Volunteer groups"


def test_a_role_without_exact_places_is_answered_from_generalised_groups(client):
    """The analysis such a role's access and flags come from places every group where the role
    sees it (a grid node), so no access figure rests on a group's true place."""
    from services.scope import GRID_DEG, Scope, view

    snap = client.app.state.snapshots.current()
    exact = snap.analysis().volunteer_supply
    generalised = view(snap, Scope(frozenset({"00"}), exact=False)).analysis().volunteer_supply
    placed = generalised[generalised["placed"] != "county"]
    assert len(placed) and (placed["placed"] == "point").all()
    for value in (*placed["lon"], *placed["lat"]):
        assert abs(value / GRID_DEG - round(value / GRID_DEG)) < 1e-6
    # the same places counted, only moved: the saturation split is the same
    assert generalised["places"].sum() == exact["places"].sum()
    assert not exact[exact["placed"] != "county"]["lon"].isin(placed["lon"]).all()
