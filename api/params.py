"""Query parameters a route does not declare are refused (OGC API Features Core, /req/core/query-param-unknown).

The check reads the parameters each route declares (its own and its dependencies'), so a new
route or parameter needs nothing here; a 400 names the parameters the route accepts.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from api.deps import BadParameter

_ALLOWED: dict[int, frozenset[str]] = {}


class QueryParameters:
    """Query parameters declared as FastAPI declares them (``Annotated[..., Query(...)]``) but
    read in one validation of one model, not field by field.

    FastAPI reads each declared query parameter on its own at every request (its aliases, whether
    its type is a sequence, then its own validation): for the 27 of an items page about 0.6 ms of
    CPU a request, a quarter of the page's. One pydantic model of the same fields validates them
    all in a few microseconds, with the same values, defaults and errors (raised as FastAPI raises
    them, under ``("query", name)``). The route documents them as FastAPI would have (its own
    document of the same declarations) and the unknown-parameter check reads their names."""

    def __init__(self, name: str, parameters: Sequence[inspect.Parameter]) -> None:
        fields: dict[str, Any] = {
            p.name: (p.annotation, None if p.default is inspect.Parameter.empty else p.default)
            for p in parameters
        }
        self.model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="ignore"), **fields)
        self.names = frozenset(f.alias or n for n, f in self.model.model_fields.items())
        self.openapi = _Documented(parameters)

    def read(self, request: Request) -> dict[str, Any]:
        """The parameters' values by their Python names (defaults for those not sent)."""
        try:
            return dict(self.model.model_validate(dict(request.query_params)))
        except ValidationError as err:
            errors = err.errors(include_url=False)
            raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None


class _Documented(Mapping):
    """``{"parameters": [...]}`` for a route's ``openapi_extra``, made when a document is first
    made (FastAPI's document of 27 declarations takes about 30 ms: not at every import of the
    routes), and a copy of it for each document."""

    def __init__(self, parameters: Sequence[inspect.Parameter]) -> None:
        self._declared = list(parameters)
        self._made: list[dict] | None = None

    def __getitem__(self, key: str) -> list[dict]:
        if key != "parameters":
            raise KeyError(key)
        if self._made is None:
            self._made = _documented(self._declared)
        return copy.deepcopy(self._made)

    def __iter__(self) -> Iterator[str]:
        return iter(("parameters",))

    def __len__(self) -> int:
        return 1


def _documented(parameters: Sequence[inspect.Parameter]) -> list[dict]:
    """The OpenAPI parameter objects FastAPI writes for these declarations (from its own document
    of a route that declares them)."""

    def endpoint(**kwargs):  # pragma: no cover - never called
        return None

    endpoint.__signature__ = inspect.Signature(list(parameters))  # type: ignore[attr-defined]
    app = FastAPI()
    app.add_api_route("/", endpoint, methods=["GET"])
    return app.openapi()["paths"]["/"]["get"].get("parameters", [])


def allowed_parameters(route) -> frozenset[str]:
    """The query parameter names ``route`` declares (and those its endpoint reads itself)."""
    key = id(route)
    if key not in _ALLOWED:
        names: set[str] = set(getattr(route.endpoint, "query_names", ()))
        todo = [route.dependant]
        while todo:
            dependant = todo.pop()
            names.update(p.alias for p in dependant.query_params)
            todo.extend(dependant.dependencies)
        _ALLOWED[key] = frozenset(names)
    return _ALLOWED[key]


async def reject_unknown_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    allowed = allowed_parameters(route)
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise BadParameter(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"this resource accepts: {accepted}"
        )
    # A service type is one of the catalogue's (the norms in force, which an administrator may
    # change while the service runs): refused by name on every route that takes one.
    if "service_type" in allowed and "service_type" in request.query_params:
        from api.deps import national_snapshot

        norms = (await national_snapshot(request)).norms
        for value in request.query_params.getlist("service_type"):
            norms.check_service(value)
