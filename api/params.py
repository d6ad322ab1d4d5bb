"""Query parameters a route does not declare are refused (OGC API Features Core, /req/core/query-param-unknown).

The check reads the parameters each route declares (its own and its dependencies'), so a new
route or parameter needs nothing here; a 400 names the parameters the route accepts.
"""

from __future__ import annotations

from fastapi import Request

from api.deps import BadParameter

_ALLOWED: dict[int, frozenset[str]] = {}


def allowed_parameters(route) -> frozenset[str]:
    """The query parameter names ``route`` declares."""
    key = id(route)
    if key not in _ALLOWED:
        names: set[str] = set()
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
