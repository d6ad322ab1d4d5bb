"""One error family and one HTTP status table: every domain error is answered with its status."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import STATUS, status_of
from geo import errors as e
from services.settings import Settings

PACKAGES = ("geo", "store", "exchange", "services", "api", "cli", "maps", "demo")


def every_domain_error() -> set[type[e.AmayeshError]]:
    """Every subclass of ``AmayeshError`` defined anywhere in the project."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith(".__main__"):  # ``python -m cli`` runs the command line
                importlib.import_module(info.name)
    found, todo = set(), [e.AmayeshError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_domain_error_is_defined_in_geo_errors_and_has_a_status():
    errors = every_domain_error()
    assert len(errors) >= 15
    for cls in errors:
        assert cls.__module__ == "geo.errors", f"{cls.__qualname__} is defined in {cls.__module__}"
        status = next(STATUS[c] for c in cls.__mro__ if c in STATUS)
        assert status in (400, 401, 403, 404, 409, 412, 422, 428, 429, 503, 507), (
            f"{cls.__name__} falls through to {status}"
        )
        assert cls.code != e.AmayeshError.code or cls in (e.AmayeshError,)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (e.BadParameter("x"), 400),
        (e.AnalysisInputError("x"), 400),
        (e.ImportFileError("x", "format"), 400),
        (e.SchemaError("x"), 422),
        (e.UnknownSettlementError("x"), 404),
        (e.UnknownFeatureError("x"), 404),
        (e.UnknownProvinceError("x"), 404),
        (e.UnknownLayerError("x"), 404),
        (e.ScenarioNotFound("x"), 404),
        (e.AlreadyExists("x"), 409),
        (e.ApplicationNotFound("x"), 404),
        (e.InvalidTransition("x"), 409),
        (e.PreconditionFailed("x"), 412),
        (e.PreconditionRequired("x"), 428),
        (e.StoreError("x"), 503),
        (e.ConfigurationError("x"), 503),
        (e.AssetsMissing("x"), 503),
        (e.ReferenceDataError("x"), 503),
    ],
)
def test_status_table(error, status):
    assert status_of(error) == status


def test_old_import_places_still_name_the_same_classes():
    from api.deps import BadParameter
    from exchange.formats import ImportFileError
    from geo.decisions import AnalysisInputError
    from store.base import ScenarioNotFound, StoreError

    assert (BadParameter, ImportFileError, AnalysisInputError, StoreError, ScenarioNotFound) == (
        e.BadParameter,
        e.ImportFileError,
        e.AnalysisInputError,
        e.StoreError,
        e.ScenarioNotFound,
    )
    assert inspect.getmodule(StoreError).__name__ == "geo.errors"


def test_a_store_without_the_layers_is_a_server_fault_not_a_client_error(tmp_path):
    from tests.conftest import bearer, make_users

    client = TestClient(
        create_app(Settings(store=str(tmp_path / "empty.gpkg"), prepare_tiles=False)),
        raise_server_exceptions=False,
        headers=bearer(make_users(str(tmp_path / "empty.gpkg"))["admin"]),
    )
    for url in ("/settlements/0101010001", "/collections/settlements/items", "/priorities"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 503 and body["code"] == "store-error"
        assert "build the demo" in body["detail"]
    missing = client.get("/collections/villages")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-layer"
