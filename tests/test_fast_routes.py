"""The tests' shared dependency trees (tests/fast_routes.py): built once, and nothing per app shared."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import _IncludedRouter
from fastapi.testclient import TestClient

from tests import fast_routes


def who() -> str:
    return "real"


def gate() -> None:
    return None


router = APIRouter()


@router.get("/who")
def answer(name: Annotated[str, Depends(who)], n: int = 1) -> dict:
    return {"name": name, "n": n}


def app_of() -> FastAPI:
    # as api.app.create_app does: app-level dependencies made anew for each app
    app = FastAPI(dependencies=[Depends(gate)])
    app.include_router(router)
    return app


def dependant_of(app: FastAPI):
    (included,) = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    (context,) = included.effective_candidates()
    return context.dependant


def test_two_apps_share_the_tree_and_keep_their_own_overrides():
    assert dependant_of(app_of()).call is not None  # the patch is installed by tests/conftest.py
    first, second = app_of(), app_of()
    second.dependency_overrides[who] = lambda: "override"
    a = TestClient(first).get("/who?n=3")
    b = TestClient(second).get("/who?n=4")
    assert a.json() == {"name": "real", "n": 3}
    assert b.json() == {"name": "override", "n": 4}
    assert dependant_of(first) is dependant_of(second)
    # a query parameter is still checked per request
    assert TestClient(first).get("/who?n=x").status_code == 422


def test_a_dependency_with_a_concurrency_limit_is_built_per_app():
    limited = APIRouter()

    @limited.get("/limited")
    def limited_answer() -> dict:
        return {"ok": True}

    def make() -> FastAPI:
        app = FastAPI(dependencies=[Depends(gate, max_concurrency=1)])
        app.include_router(limited)
        return app

    before = fast_routes.built()
    first, second = make(), make()
    assert TestClient(first).get("/limited").json() == {"ok": True}
    assert TestClient(second).get("/limited").json() == {"ok": True}
    assert dependant_of(first) is not dependant_of(second)
    assert fast_routes.built() == before
