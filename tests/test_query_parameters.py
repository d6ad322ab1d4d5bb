"""An items page reads its query parameters in one validation (``api.params.QueryParameters``):
the same values, defaults and errors as FastAPI's own reading of the same declarations, and the
same document."""

from __future__ import annotations

import inspect
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.collections import COLLECTIONS
from api.params import QueryParameters
from api.routers.features import _common_parameters
from tests.conftest import examples

#: Values worth sending to any parameter: valid and invalid numbers, choices, empty, odd text.
VALUES = [
    "",
    "0",
    "1",
    "-1",
    "10",
    "1001",
    "2.5",
    "x",
    "true",
    "no",
    "city",
    "village",
    "town",
    "07",
    "json",
    "html",
    "csv",
    "cql2-text",
    "cql-text",
    "EPSG:3857",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "-population,name_fa",
    "a,,b",
    "51,35,52,36",
    "روستا",
    "2024-01-01",
    "en",
    "fa",
    "de",
    "10000001",
]


def twin_apps(collection: str) -> TestClient:
    """One app, two routes of the same declarations: FastAPI reads one, ``QueryParameters`` the other."""
    parameters = _common_parameters(COLLECTIONS[collection])
    query = QueryParameters("Twin", parameters)
    app = FastAPI()

    def by_fastapi(**kwargs):
        return JSONResponse({"values": kwargs})

    by_fastapi.__signature__ = inspect.Signature(parameters)

    def by_model(request: Request):
        return JSONResponse({"values": query.read(request)})

    app.add_api_route("/fastapi", by_fastapi, methods=["GET"])
    app.add_api_route("/model", by_model, methods=["GET"])

    @app.exception_handler(RequestValidationError)
    async def errors(request, exc):
        return JSONResponse({"errors": list(exc.errors())}, status_code=422)

    return TestClient(app)


@pytest.mark.parametrize("collection", ["settlements", "ngos", "flags"])
def test_the_same_values_and_errors_as_fastapi_for_chosen_queries(collection):
    client = twin_apps(collection)
    queries = [
        "",
        "limit=100&offset=5000",
        "limit=0",
        "limit=x&offset=-1",
        "offset=10000001",
        "filter-lang=cql-text&filter=province_code%20%3D%20%2707%27",
        "filter-lang=sql",
        "sortby=-population,name_fa",
        "sortby=a,,b",
        "kind=city&kind=town",  # repeated: the last one counts, as FastAPI reads it
        "kind=town&kind=city",
        "population=12.5",
        "population=",
        "lang=en&f=html",
        "lang=de&f=pdf",
        "bbox-crs=EPSG:3857&bbox=1,2,3,4",
        "crs=EPSG:9999",
        "datetime=2024-01-01T00:00:00Z/..",
        "capacity=40&status=active&synthetic=true",
        "capacity=forty&synthetic=maybe&issued_on=2024-13-45",
        "name_fa=روستای%20نو",
    ]
    for q in queries:
        ours, theirs = client.get("/model?" + q), client.get("/fastapi?" + q)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), q
    assert client.get("/model?limit=x").status_code == 422  # (the comparison can fail)


@settings(max_examples=examples(120), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(QueryParameters("T", _common_parameters(COLLECTIONS["ngos"])).names)),
            st.sampled_from(VALUES),
        ),
        max_size=6,
    )
)
def test_the_same_values_and_errors_as_fastapi_for_any_query(pairs):
    client = _client()
    q = urlencode(pairs)
    ours, theirs = client.get("/model?" + q), client.get("/fastapi?" + q)
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), q


_CLIENTS: dict[str, TestClient] = {}


def _client() -> TestClient:
    if "ngos" not in _CLIENTS:
        _CLIENTS["ngos"] = twin_apps("ngos")
    return _CLIENTS["ngos"]


def test_the_items_route_documents_and_admits_the_parameters_it_reads(small_client):
    """The document lists each parameter as FastAPI's own document of the declarations does, and a
    parameter the route does not read is still refused by name."""
    operation = small_client.get("/openapi.json").json()["paths"]["/collections/ngos/items"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    query = QueryParameters("Doc", _common_parameters(COLLECTIONS["ngos"]))
    assert sorted(names) == sorted(query.names) and len(names) == len(set(names)) == 27
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query" and limit["schema"]["minimum"] == 1 and limit["schema"]["default"] == 10
    r = small_client.get("/collections/ngos/items?limits=5")
    assert r.status_code == 400 and "limits" in r.json()["detail"] and "limit" in r.json()["detail"]
    r = small_client.get("/collections/ngos/items?limit=0")
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert small_client.get("/collections/ngos/items?limit=1&capacity=40").status_code == 200
