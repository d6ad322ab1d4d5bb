"""The public needs map's figures: no cell with one or two centres shows a value, and no value
suppressed in a county comes back as a province total minus the counties shown."""

from __future__ import annotations

import html
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from geo.disclosure import COMPLEMENT, FEW_CENTRES, MIN_CENTRES, SHOWN, public_cells, remainder_centres
from geo.measures import saturation
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA
from tests import analysis_world as world

NORMS = world.demo_norms()


def table(rows):
    """A saturation table from (county, target persons, [capacities of its centres])."""
    need = pd.DataFrame(
        [(c, "rehabilitation", t) for c, t, _ in rows],
        columns=["county_code", "service_type", "target_population"],
    )
    centres = [(c, cap) for c, _, caps in rows for cap in caps]
    ngos = pd.DataFrame(
        {
            "licence_no": [f"L{i}" for i in range(len(centres))],
            "status": "active",
            "county_code": [c for c, _ in centres],
            "service_type": "rehabilitation",
            "capacity": [cap for _, cap in centres],
        }
    )
    return saturation(need, ngos, NORMS)


def test_one_centre_is_hidden_and_its_province_total_cannot_give_it_back():
    # Province 01: A has one centre of 40 places, B five (200), C four (300), D none.
    sat = table(
        [("0101", 4_000, [40]), ("0102", 8_000, [40] * 5), ("0103", 9_000, [75] * 4), ("0104", 1_000, [])]
    )
    counties, provinces = public_cells(sat, NORMS)
    c = counties.set_index("county_code")
    assert c.loc["0101", "suppressed"] == FEW_CENTRES
    assert c.loc["0101", ["capacity", "ngos", "ratio_to_norm"]].isna().all()
    assert c.loc["0101", "class"] == "underserved"  # the band stays
    assert c.loc["0101", "target_population"] == 4_000  # persons are not a centre's figure
    # the smallest county with three centres or more is hidden beside it
    assert c.loc["0102", "suppressed"] == COMPLEMENT
    assert math.isnan(c.loc["0102", "capacity"])
    assert c.loc["0103", "suppressed"] == SHOWN and c.loc["0103", "capacity"] == 300
    assert c.loc["0104", "suppressed"] == SHOWN and c.loc["0104", "capacity"] == 0  # nothing to hide
    p = provinces.set_index("province_code").loc["01"]
    assert p["capacity"] == 540 and p["ngos"] == 10
    # the attack: province total minus the counties shown holds six centres, not one
    remainder = p["capacity"] - counties["capacity"].fillna(0).sum()
    assert remainder == 240 != 40


def test_a_province_with_two_centres_hides_its_own_total():
    sat = table([("0201", 5_000, [30]), ("0202", 5_000, [50]), ("0203", 5_000, [])])
    counties, provinces = public_cells(sat, NORMS)
    assert counties["capacity"].isna().sum() == 2
    p = provinces.set_index("province_code").loc["02"]
    assert p["suppressed"] == FEW_CENTRES
    assert math.isnan(p["capacity"]) and math.isnan(p["ratio_to_norm"]) and math.isnan(p["ngos"])
    assert p["class"] is not None


def check_no_small_cell_and_no_differencing(
    sat: pd.DataFrame, counties: pd.DataFrame, provinces: pd.DataFrame
):
    true = sat.reset_index()
    assert (true["county_code"].to_numpy() == counties["county_code"].to_numpy()).all()
    small = (true["ngos"] > 0) & (true["ngos"] < MIN_CENTRES)
    shown = counties[["capacity", "ngos", "ratio_to_norm"]].notna().any(axis=1)
    assert not (small & shown).any(), "a cell with 1-2 centres shows a value"
    p_small = (provinces["ngos"].isna()) | (provinces["ngos"] >= MIN_CENTRES) | (provinces["ngos"] == 0)
    assert p_small.all()
    # Differencing: province total minus the shown counties isolates the hidden counties
    # together; they must hold no centre, or at least MIN_CENTRES + 1 (never one or two cells'
    # worth below the threshold).
    behind = remainder_centres(counties, true["ngos"])
    published = provinces.set_index(["province_code", "service_type"])["capacity"].notna()
    for key, centres in behind.items():
        if published.get(key, False):
            assert centres == 0 or centres >= MIN_CENTRES, (key, centres)
            capacity = provinces.set_index(["province_code", "service_type"]).loc[key, "capacity"]
            hidden = true[(true["county_code"].str[:2] == key[0]) & (true["service_type"] == key[1])]
            shown_sum = counties.loc[hidden.index, "capacity"].fillna(0).sum()
            alone = hidden[small.loc[hidden.index]]
            if len(alone) == 1:
                assert capacity - shown_sum != alone["capacity"].iloc[0] or alone["capacity"].iloc[0] == 0


@pytest.mark.parametrize("seed", range(25))
def test_random_provinces_leak_no_small_cell(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for province in range(4):
        for county in range(int(rng.integers(1, 7))):
            k = int(rng.choice([0, 1, 1, 2, 3, 4, 7]))
            rows.append(
                (
                    f"{province:02d}{county:02d}",
                    int(rng.integers(0, 20_000)),
                    rng.integers(10, 120, k).tolist(),
                )
            )
    sat = table(rows)
    counties, provinces = public_cells(sat, NORMS)
    check_no_small_cell_and_no_differencing(sat, counties, provinces)


def test_the_public_data_and_downloads_of_the_small_world(small_client):
    """Anonymous: the data and both downloads give the same (suppressed) figures."""
    anonymous = {"Authorization": "", "Cookie": ""}
    data = small_client.get("/maps/data/public.json", headers=anonymous)
    assert data.status_code == 200
    body = data.json()
    assert "capacity" in body["fields"] and "suppressed" in body["fields"]
    i_cap, i_ngos, i_sup = (body["fields"].index(k) for k in ("capacity", "ngos", "suppressed"))
    for level in ("counties", "provinces"):
        for f in body[level]["features"]:
            for cell in f["properties"]["figures"].values():
                if cell[i_sup] != SHOWN:
                    assert cell[i_cap] is None and cell[i_ngos] is None
                else:
                    assert cell[i_ngos] == 0 or cell[i_ngos] >= MIN_CENTRES
    service = next(iter(body["services"]))
    # The page credits the sources in its own language, below its tables and on its map.
    for lang, credit, other in (("fa", ATTRIBUTION_FA, ATTRIBUTION), ("en", ATTRIBUTION, ATTRIBUTION_FA)):
        page = small_client.get(f"/maps/public?lang={lang}", headers=anonymous).text
        assert html.escape(credit) in page and html.escape(other) not in page
        config = json.loads(page.split("window.AMAYESH_PUBLIC = ")[1].split(";</script>")[0])
        assert config["attribution"] == credit
    for lang in ("fa", "en"):
        csv = small_client.get(
            f"/maps/data/public-table?f=csv&level=county&service_type={service}&lang={lang}",
            headers=anonymous,
        )
        assert csv.status_code == 200, csv.text
        assert csv.headers["content-type"].startswith("text/csv")
        text = csv.content.decode("utf-8-sig")
        assert ("ساختگی" if lang == "fa" else "synthetic") in text.lower()  # the label stays
        rows = pd.read_csv(io.StringIO(text), comment="#")
        counties = {
            f["properties"]["county_code"]: f["properties"]["figures"].get(service)
            for f in body["counties"]["features"]
        }
        assert len(rows) == sum(v is not None for v in counties.values())
        xlsx = small_client.get(
            f"/maps/data/public-table?f=xlsx&level=province&service_type={service}&lang={lang}",
            headers=anonymous,
        )
        assert xlsx.status_code == 200
        sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
        assert len(sheets) == 2  # the table and "about", with the rule
        about = next(iter(v for k, v in sheets.items() if k == "about"))
        assert about.astype(str).apply(lambda c: c.str.contains(str(MIN_CENTRES))).any().any()

    # Each file is kept with the snapshot once made: asked again it is the same; another
    # language, level, service or format is another file.
    def get(**q):
        query = "&".join(f"{k}={v}" for k, v in {"f": "csv", "level": "county", "lang": "fa", **q}.items())
        answer = small_client.get(f"/maps/data/public-table?{query}", headers=anonymous)
        assert answer.status_code == 200
        return answer.content

    first = get(service_type=service)
    assert get(service_type=service) == first
    others = [
        get(service_type=service, lang="en"),
        get(service_type=service, level="province"),
        get(),
        get(f="xlsx"),
    ]
    assert all(other != first for other in others) and len(set(others)) == len(others)


@pytest.mark.realdata
def test_the_national_demo_shows_no_centre_and_no_difference_gives_one_back(demo):
    from pathlib import Path

    from fastapi.testclient import TestClient

    from api.app import create_app
    from services.loading import analysis_from_store, load_norms, travel_for
    from services.settings import Settings

    settings = Settings(store=str(demo["store"].path), prepare_tiles=False)
    norms = load_norms(Path(__file__).resolve().parents[1] / "config" / "norms.toml")
    sat = analysis_from_store(demo["store"], norms, travel_for(settings, norms)).saturation
    single = int((sat["ngos"] == 1).sum())
    assert single > 500  # the cells that gave one centre's exact capacity (703 of 3,584 in the issue)
    counties, provinces = public_cells(sat, norms)
    check_no_small_cell_and_no_differencing(sat, counties, provinces)
    # what the service publishes is that
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    body = client.get("/maps/data/public.json").json()
    i_cap, i_sup = body["fields"].index("capacity"), body["fields"].index("suppressed")
    published = {
        (f["properties"]["county_code"], service): cell
        for f in body["counties"]["features"]
        for service, cell in f["properties"]["figures"].items()
    }
    for row in counties.itertuples(index=False):
        cell = published[(row.county_code, row.service_type)]
        assert cell[i_sup] == row.suppressed
        assert (cell[i_cap] is None) == math.isnan(row.capacity)
