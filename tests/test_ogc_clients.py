"""GIS clients against a running service: GDAL's OAPIF driver and OWSLib filter and sort on the server.

The service's access log shows what the clients asked for: the filters must reach the server as
``filter=`` (CQL2) and ``bbox=``, not be evaluated by the client on every downloaded feature.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

import pyogrio
import pytest
import shapely

pytestmark = pytest.mark.realdata


@pytest.fixture(autouse=True)
def gdal_signed_in(admin_headers):
    """GDAL sends the admin's API token, as a program would (every data route needs sign-in)."""
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def requests_in_log(log, since: int) -> list[str]:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[since:]
    return [unquote_plus(line) for line in lines if '"GET ' in line]


def test_gdal_pushes_attribute_and_spatial_filters_to_the_server(server, server_log, demo):
    ngos = demo["layers"]["ngos"]
    box = (51.2, 35.6, 51.5, 35.8)
    inside = shapely.intersects(ngos.geometry.to_numpy(), shapely.box(*box))
    expected = ngos[(ngos["service_type"] == "kindergarten") & (ngos["capacity"] > 40) & inside]
    assert len(expected) > 0
    since = len(server_log.read_text().splitlines())
    frame = pyogrio.read_dataframe(
        f"OAPIF:{server}", layer="ngos", where="service_type = 'kindergarten' AND capacity > 40", bbox=box
    )
    assert sorted(frame["licence_no"]) == sorted(expected["licence_no"])
    asked = [r for r in requests_in_log(server_log, since) if "/collections/ngos/items" in r]
    assert asked, "GDAL did not read the items"
    # The attribute filter went to the server as CQL2 text, and the spatial filter as bbox.
    assert any("filter=" in r and "kindergarten" in r for r in asked), asked
    assert any("bbox=51.2" in r for r in asked), asked
    # Past the first small page GDAL reads to learn the fields, it asked only for matching features.
    reads = [r for r in asked if "bbox=" in r]
    assert reads and all("filter=" in r for r in reads), asked


def test_owslib_filters_and_sorts_on_the_server(server, demo, admin_headers):
    from owslib.ogcapi.features import Features

    api = Features(server, headers=admin_headers)
    queryables = api.collection_queryables("ngos")
    assert "service_type" in queryables["properties"]
    body = api.collection_items(
        "ngos",
        filter="status = 'suspended' AND province_code = '07'",
        sortby=("capacity", "desc"),
        limit=1000,
    )
    ngos = demo["layers"]["ngos"]
    want = ngos[(ngos["status"] == "suspended") & (ngos["province_code"] == "07")]
    assert body["numberMatched"] == len(want) == len(body["features"]) > 0
    capacities = [f["properties"]["capacity"] for f in body["features"]]
    assert capacities == sorted(want["capacity"], reverse=True)
    as_json = api.collection_items(
        "ngos",
        filter='{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [51.2, 35.6, 51.5, 35.8]}]}',
        limit=1,
        **{"filter-lang": "cql2-json"},
    )
    inside = shapely.intersects(ngos.geometry.to_numpy(), shapely.box(51.2, 35.6, 51.5, 35.8))
    assert as_json["numberMatched"] == int(inside.sum())
