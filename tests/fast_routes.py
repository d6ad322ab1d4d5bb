"""Each route's dependency tree built once per test process, not once per app (tests only).

FastAPI builds an included route's dependency tree (``get_dependant``: the signature of the
endpoint and of every dependency, a pydantic field per parameter) lazily, on each app's first
request, for every route of every router the app includes: about 110 routes, a few hundred
milliseconds per app. The service builds one app per process, so it pays that once; the tests
build an app per store, hundreds of times. The tree is a pure function of the route's path, its
endpoint and the dependencies around it (the same module-level functions in every app), so the
tests build it once and let every app reuse it. What stays per app is all that is per app: the
request handler, the app whose ``dependency_overrides`` it reads, the body and response fields.

A dependency with a concurrency limit (``Depends(max_concurrency=...)``) carries its own
counter: a route with one is built per app, as FastAPI does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import params, routing

#: FastAPI's own step (a private function: a FastAPI without it leaves the tests as they were).
_original = getattr(routing, "_build_dependant_with_parameterless_dependencies", None)
_built: dict[tuple, tuple] = {}
_lock = threading.Lock()


def _key(path: str, call: Callable[..., Any], dependencies: Sequence[params.Depends]) -> tuple | None:
    parts = []
    for depends in dependencies:
        if depends.max_concurrency is not None or getattr(depends, "_concurrency", None) is not None:
            return None
        scopes = tuple(getattr(depends, "scopes", None) or ())
        parts.append((type(depends), depends.dependency, depends.use_cache, depends.scope, scopes))
    key = (path, call, tuple(parts))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def shared_dependant(*, path: str, call: Callable[..., Any], dependencies: Sequence[params.Depends]):
    """``_build_dependant_with_parameterless_dependencies``, built once per path, endpoint and
    dependencies (the body parameters' list is copied: callers may not share it)."""
    assert _original is not None  # installed only where FastAPI has the step
    key = _key(path, call, dependencies)
    if key is None:
        return _original(path=path, call=call, dependencies=dependencies)
    found = _built.get(key)
    if found is None:
        with _lock:
            found = _built.get(key)
            if found is None:
                found = _built[key] = _original(path=path, call=call, dependencies=dependencies)
    dependant, body_params, embed = found
    return dependant, list(body_params), embed


def install() -> bool:
    """Share the trees from now on; False (and nothing changed) where FastAPI has no such step."""
    if _original is None:
        return False
    routing._build_dependant_with_parameterless_dependencies = shared_dependant  # type: ignore[assignment]
    return True


def built() -> int:
    """How many dependency trees are kept (for the test that proves the sharing)."""
    return len(_built)
