"""Schemathesis against our OpenAPI document: the running service fuzzed as a user fuzzes it,
and the planning routes probed in process, both on the small hand-built world
(``tests/small_world.py``): the same routes, document and checks as on the national demo, whose
answers took most of the time (280 of CI's seconds; here about 100)."""

from __future__ import annotations

import pytest

from api.app import create_app
from services.settings import Settings
from tests.conftest import bearer, make_users

pytestmark = pytest.mark.slow


def test_schemathesis_all_checks_all_phases(small_server, tmp_path):
    """Schemathesis, as a user runs it, against the running service: every check (status codes,
    content types, response schemas, headers, negative data rejected, 405 with Allow, ...) in every
    phase (examples, coverage, fuzzing, and stateful through the OpenAPI links), 0 failures.

    The planning routes are left out (see the option below). tests/schemathesis.toml says which
    statuses a schema-valid request may get (a filter string that is not CQL2 is a 400); the
    response time limit allows for a loaded CI machine.
    """
    import subprocess
    import sys
    from pathlib import Path

    server, token = small_server
    st = Path(sys.executable).with_name("st")
    config = Path(__file__).with_name("schemathesis.toml")
    result = subprocess.run(
        [
            str(st),
            "--config-file",
            str(config),
            "run",
            f"{server}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "5",
            "--workers",
            "1",
            "--request-timeout",
            "120",
            "--max-response-time",
            "120",
            "--seed",
            "1",
            # signed in as an admin (API token): every route needs credentials
            "--header",
            f"Authorization: Bearer {token}",
            # The planning routes (/plans, /scenarios) write scenarios into the demo's store, which
            # other tests read: they are probed in process below (no 5xx, answers as declared).
            # The sign-in form routes answer HTML forms and redirects (tests/test_security.py).
            "--exclude-path-regex",
            "^/(plans|scenarios|sign-in|sign-out)",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    summary = result.stdout[-20000:]
    assert result.returncode == 0, summary
    assert "failures" not in summary.splitlines()[-1] or " 0 failures" in summary.splitlines()[-1], summary
    assert "Stateful" in summary and "✅ Stateful" in summary, summary


def test_schemathesis_planning_routes_no_server_error(tmp_path, small_layers):
    """The planning routes, left out of the run above, probed in process: never a 5xx or a trace,
    and every 2xx answer as the document declares it (status, media type, schema). On a small
    hand-built world of the test's own (the scenarios it saves stay there)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from store import open_store

    path = str(tmp_path / "small.gpkg")
    store = open_store(path)
    with store.transaction() as tx:
        for name, frame in small_layers.items():
            tx.write_layer(name, frame)
    store.close()
    admin_headers = bearer(make_users(path)["admin"])
    app = create_app(Settings(store=path))
    # The document reads only the norms in force now, but an app's first request still starts
    # its machinery on a loaded 2-core machine: more than schemathesis's 10 s once (CI, 2026-12-05).
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, timeout=300)
    failures = []

    def probe(label, strategy):
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def run(case):
            response = case.call(headers=admin_headers, timeout=300)  # a loaded CI machine
            if response.status_code >= 500:
                failures.append(
                    (label, case.path, case.query, case.body, response.status_code, response.content[:300])
                )
            assert b"Traceback" not in response.content
            if response.status_code < 300:
                case.operation.validate_response(response)

        return run

    # Starting a siting job is left out: each would solve a siting for up to ten minutes beside
    # the tests (tests/test_plan_jobs.py holds it to the direct siting).
    operations = [
        op.ok()
        for op in schema.get_all_operations()
        if op.ok().path.startswith(("/plans", "/scenarios"))
        and (op.ok().method.upper(), op.ok().path) != ("POST", "/plans/siting/jobs")
    ]
    # siting, delegation, the six scenario operations, and a person's siting jobs (list, one)
    assert len(operations) == 10
    for op in operations:
        probe(op.label, op.as_strategy())()
    assert failures == []
