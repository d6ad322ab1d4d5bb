"""The contract (issue #26): every answer of the OpenAPI document is declared with its schema, and
real answers, of every role that may call each operation, match what the document declares.

The first test reads the document alone: no operation may answer 2xx with no schema, an empty
schema ``{}``, or a bare ``type: object`` without properties, and every operation declares a 2xx
answer or a redirect with its ``Location``. The second calls the operations on the small world of
two provinces (``tests/test_imports_http.two_provinces``) as each role (the scoped ones hold
province 00) and validates each answer with schemathesis against the document: status, media
type, headers and body schema (``additionalProperties: false`` on the answers, so a key the
document does not name fails too).
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import requirement_of
from services.settings import Settings
from tests.conftest import SAMPLE, bearer
from tests.test_imports_http import make_store, registry, row, tokens_for, wait

#: Operations whose 2xx answer may stay free-form, each with the reason. None, today.
FREE_FORM_ALLOWED: dict[str, str] = {}

ROLES = {
    "admin": "admin",
    "planner": "planner",
    "licensing_officer": "officer",
    "provincial_director": "director",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: a point in county 0001 of province 00, the scoped roles' province
LON, LAT = 49.5, 34.5


def _resolve(doc: dict, schema: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def free_form(doc: dict, schema: dict | None) -> str | None:
    """Why ``schema`` says nothing of an answer, or None."""
    if schema is None:
        return "no schema"
    schema = _resolve(doc, schema)
    if not schema:
        return "an empty schema {}"
    if any(key in schema for key in ("allOf", "anyOf", "oneOf", "properties", "items", "enum")):
        return None
    if schema.get("type") == "object" and not isinstance(schema.get("additionalProperties"), dict):
        return "a bare object without properties"
    if "type" not in schema:
        return "no type"
    return None


def undeclared(doc: dict) -> list[str]:
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {path}"
            responses = op["responses"]
            ok = {s: r for s, r in responses.items() if s.startswith("2")}
            redirects = [
                r for s, r in responses.items() if s.startswith("3") and "Location" in r.get("headers", {})
            ]
            if not ok and not redirects:
                out.append(f"{label}: no 2xx answer and no redirect declared")
            for status, response in ok.items():
                content = response.get("content")
                if not content:
                    if status != "204":
                        out.append(f"{label} {status}: no content declared")
                    continue
                for media, body in content.items():
                    why = free_form(doc, body.get("schema"))
                    if why and label not in FREE_FORM_ALLOWED:
                        out.append(f"{label} {status} {media}: {why}")
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract")
    url = str(tmp / "store" / "world.gpkg")
    make_store(url)
    app = create_app(
        Settings(store=url, prepare_tiles=False, imports_dir=tmp / "private", versions_dir=tmp / "versions")
    )
    tokens = tokens_for(url)
    clients = {
        role: TestClient(app, raise_server_exceptions=False, headers=bearer(tokens[key]))
        for role, key in ROLES.items()
    }
    doc = clients["admin"].get("/openapi.json").json()
    yield {"app": app, "clients": clients, "doc": doc, "schema": schemathesis.openapi.from_dict(doc)}
    app.state.imports.close()


def test_every_answer_is_declared_with_its_schema(world):
    doc = world["doc"]
    assert doc["openapi"].startswith("3.0")
    world["schema"].validate()  # against the OpenAPI 3.0 meta-schema
    assert undeclared(doc) == []
    # the check itself finds what it is for
    broken = {
        "openapi": "3.0.3",
        "components": {"schemas": {"Free": {"type": "object"}}},
        "paths": {
            "/a": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {}}}}}}},
            "/b": {"get": {"responses": {"200": {"content": {"text/csv": {}}}}}},
            "/c": {"post": {"responses": {"200": {"description": "OK"}}}},
            "/d": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Free"}}}
                        }
                    }
                }
            },
            "/e": {"post": {"responses": {"303": {"description": "see other"}}}},
        },
    }
    assert len(undeclared(broken)) == 5


def test_the_downloads_and_redirects_are_declared(world):
    paths = world["doc"]["paths"]
    compare = paths["/scenarios/{a}/compare/{b}"]["get"]["responses"]["200"]["content"]
    assert set(compare) == {"application/json", XLSX}
    assert compare[XLSX]["schema"] == {"type": "string", "format": "binary"}
    sign_out = paths["/sign-out"]["post"]["responses"]
    assert "303" in sign_out and "Location" in sign_out["303"]["headers"]
    assert not [s for s in sign_out if s.startswith("2")]
    monitoring = paths["/licence-monitoring"]["get"]["responses"]["200"]["content"]
    assert set(monitoring) == {"application/json", "text/csv", XLSX}  # f= takes json, csv, xlsx only
    assert set(paths["/catchment-areas"]["get"]["responses"]["200"]["content"]) == {"application/geo+json"}
    assert set(paths["/imports/{import_id}/rows"]["get"]["responses"]["200"]["content"]) == {
        "application/geo+json"
    }


class Calls:
    """Calls every formerly free-form operation as one role; validates each answer."""

    def __init__(self, world, role: str):
        self.client = world["clients"][role]
        self.world = world
        self.role = role
        self.checked: list[str] = []

    def call(self, method: str, template: str, url: str | None = None, **kw):
        response = self.client.request(method, url or template, **kw)
        rule = requirement_of(method, template)
        assert rule is not None, template
        allowed = rule.public or self.role in rule.roles
        if allowed:
            assert response.status_code < 300, (
                self.role,
                method,
                url,
                response.status_code,
                response.text[:500],
            )
        else:
            assert response.status_code == 403, (self.role, method, url, response.status_code)
        # status, media type, headers and body against the document (a refused upload's request
        # body was never read by the transport: read it so that the response carries it)
        response.request.read()
        validate(self.world, method, template, response)
        self.checked.append(f"{method} {template} {response.status_code}")
        return response if allowed else None


#: The fast loop walks the answers of an unscoped and a scoped role; CI walks all four.
WALKED = ("admin", "licensing_officer") if SAMPLE else tuple(ROLES)


@pytest.mark.parametrize("role", WALKED)
def test_real_answers_match_the_document(world, role):
    c = Calls(world, role)
    for path in (
        "/conformance",
        "/health",
        "/tileMatrixSets",
        "/tileMatrixSets/WebMercatorQuad",
        "/me",
        "/maps/data/public.json",
        "/maps/data/boundaries.json",
        "/maps/data/ngos.json",
        "/maps/data/target-areas.json",
    ):
        c.call("GET", path)
    c.call("GET", "/maps/data/search", "/maps/data/search?q=arak")
    c.call("GET", "/maps/data/search", "/maps/data/search?q=0001")
    for collection in ("settlements", "ngos", "counties"):
        base = f"/collections/{collection}/tiles"
        c.call("GET", "/collections/{collection_id}/tiles", base)
        c.call("GET", "/collections/{collection_id}/tiles/WebMercatorQuad", base + "/WebMercatorQuad")
        c.call(
            "GET",
            "/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json",
            base + "/WebMercatorQuad/tilejson.json",
        )
    for collection in ("ngos", "settlement-access", "priorities"):
        c.call("GET", f"/collections/{collection}/queryables")
    # analysis
    body = {"lon": LON, "lat": LAT, "service_type": "rehabilitation", "capacity": 40}
    for service in ("rehabilitation", "counselling", "home_care"):
        c.call("POST", "/licence-checks", json={**body, "service_type": service})
        c.call("GET", "/catchment-areas", f"/catchment-areas?lon={LON}&lat={LAT}&service_type={service}")
    c.call("GET", "/priorities", "/priorities?province=00&top=5")
    c.call("GET", "/priorities", "/priorities?province=00&top=3&service_type=home_care")
    c.call("GET", "/saturation", "/saturation?province=00")
    c.call("GET", "/concentration", "/concentration?province=00")
    for code in ("0001000001", "0001010100000003"):
        c.call("GET", "/settlements/{code}", f"/settlements/{code}")
    if role in ("admin", "planner", "provincial_director"):  # exports
        for fmt in ("csv", "xlsx", "geojson"):
            c.call("GET", "/priorities", f"/priorities?province=00&top=3&f={fmt}")
            c.call("GET", "/saturation", f"/saturation?province=00&f={fmt}")
    # evaluations of centres: a centre's history, the rankings by rating (and their downloads)
    c.call("GET", "/ngos/{licence_no}/evaluations", "/ngos/SYN-00000/evaluations")
    c.call("GET", "/ratings/rankings")
    c.call("GET", "/ratings/rankings", "/ratings/rankings?service_type=rehabilitation")
    if role in ("admin", "planner", "provincial_director"):
        for fmt in ("csv", "xlsx"):
            c.call("GET", "/ratings/rankings", f"/ratings/rankings?f={fmt}")
    # the volunteer network: the groups, the summary per county (and its downloads)
    c.call("GET", "/volunteers/groups")
    c.call("GET", "/volunteers/summary")
    if role in ("admin", "planner", "provincial_director"):
        for fmt in ("csv", "xlsx"):
            c.call("GET", "/volunteers/summary", f"/volunteers/summary?f={fmt}")
    c.call("GET", "/licence-monitoring", "/licence-monitoring?within_days=3650")
    for fmt in ("csv", "xlsx"):
        c.call("GET", "/licence-monitoring", f"/licence-monitoring?f={fmt}")
    # accounts
    c.call("GET", "/users/{username}/sessions", "/users/i_admin/sessions")
    c.call("DELETE", "/users/{username}/sessions", "/users/i_planner/sessions")
    register(world, c)
    activities(world, c)
    plan(world, c)
    imports(world, c)
    # sign-out: a redirect to the sign-in page (its own redirect is not followed)
    out = c.client.post("/sign-out", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    validate(world, "POST", "/sign-out", out)
    assert len(c.checked) > 50


def register(world, c: Calls) -> None:
    """The licence register: the life of an application, as far as the role may take it."""
    admin = world["clients"]["admin"]
    body = {
        "applicant": "انجمن نمونه",
        "service_type": "rehabilitation",
        "capacity": 30,
        "lon": LON,
        "lat": LAT,
    }
    made = c.call("POST", "/licence-applications", json=body)
    if made is None:  # made by an administrator for the roles that only read the register
        made = admin.post("/licence-applications", json=body)
        assert made.status_code == 201
    aid = made.json()["application_id"]
    one = "/licence-applications/{application_id}"
    url = f"/licence-applications/{aid}"
    c.call("GET", "/licence-applications")
    got = c.call("GET", one, url)
    tag = got.headers["etag"] if got is not None else made.headers["etag"]
    edited = c.call("PATCH", one, url, json={"capacity": 35}, headers={"If-Match": tag})
    tag = edited.headers["etag"] if edited is not None else tag
    checked = c.call("POST", one + "/check", url + "/check", headers={"If-Match": tag})
    if checked is not None:
        assert checked.json()["check_result"]["verdict"] == checked.json()["check_verdict"]
        tag = checked.headers["etag"]
    decision = {"decision": "refused", "reason": "the county is saturated"}
    c.call("POST", one + "/decision", url + "/decision", json=decision, headers={"If-Match": tag})


def activities(world, c: Calls) -> None:
    """The programme's activities register: an entry, its reading, an edit, the downloads, the
    import, the progress and gaps, and the deletion, as far as the role may take them."""
    admin = world["clients"]["admin"]
    body = {
        "organisation": "انجمن نمونه",
        "organisation_kind": "partner",
        "service_type": "counselling",
        "place_kind": "target_area",
        "place_code": "T-001",
        "start_date": "2024-06-01",
        "households": 3,
        "persons": 9,
        "status": "ongoing",
    }
    made = c.call("POST", "/activities", json=body)
    if made is None:  # entered by an administrator for the roles that only read the register
        made = admin.post("/activities", json=body)
        assert made.status_code == 201
    one, url = "/activities/{activity_id}", f"/activities/{made.json()['activity_id']}"
    c.call("GET", "/activities")
    for fmt in ("csv", "xlsx"):
        c.call("GET", "/activities", f"/activities?f={fmt}")
        c.call("GET", "/activity-template", f"/activity-template?f={fmt}")
        c.call("GET", "/programme/progress", f"/programme/progress?level=province&f={fmt}")
        c.call(
            "GET",
            "/programme/progress-over-time",
            f"/programme/progress-over-time?periods=1403..1404&f={fmt}",
        )
        c.call("GET", "/programme/gaps", f"/programme/gaps?f={fmt}")
    tag = c.call("GET", one, url).headers["etag"]
    edited = c.call("PATCH", one, url, json={"households": 4}, headers={"If-Match": tag})
    tag = edited.headers["etag"] if edited is not None else tag
    rows = (
        "organisation,organisation_kind,service_type,place_kind,place_code,start_date,households,persons,status\n"
        "گروه,campaign,employment,target_area,T-001,2024-07-01,2,6,ongoing\n"
    )
    c.call("POST", "/activity-imports", files={"file": ("activities.csv", rows.encode())})
    c.call("GET", "/programme/progress")
    c.call("GET", "/programme/progress", "/programme/progress?province=00")
    c.call("GET", "/programme/progress-over-time", "/programme/progress-over-time?periods=1403Q1..1404Q1")
    c.call("GET", "/programme/gaps")
    c.call("DELETE", one, url, headers={"If-Match": tag})


def plan(world, c: Calls) -> None:
    """Siting (each model), delegation, and a scenario compared with today (JSON and XLSX)."""
    for extra in ({}, {"model": "pmedian"}, {"capacitated": True, "province": "01"}):
        c.call("POST", "/plans/siting", json={"service_type": "rehabilitation", "k": 2, **extra})
    for service in ("rehabilitation", "home_care"):
        c.call("POST", "/plans/delegation", json={"service_type": service})
    changes = {"licences_added": [{"service_type": "home_care", "capacity": 40, "lon": LON, "lat": LAT}]}
    made = world["clients"]["admin"].post("/scenarios", json={"name": "contract", "changes": changes})
    assert made.status_code == 201
    sid = made.json()["id"]
    c.call("GET", "/scenarios")
    compare = "/scenarios/{a}/compare/{b}"
    c.call("GET", compare, f"/scenarios/today/compare/{sid}")
    c.call("GET", compare, f"/scenarios/today/compare/{sid}?province=00&service_type=home_care")
    c.call("GET", compare, f"/scenarios/today/compare/{sid}?f=xlsx")


def imports(world, c: Calls) -> None:
    """An import with a rejected row (previewed, its rejected rows downloaded, cancelled) and a
    clean one (confirmed, then undone)."""
    bad = registry([row(f"C-{c.role}-1", "مرکز", "اراک", lon=str(LON), lat=str(LAT)), row("", "", "")])
    job = c.call("POST", "/imports", "/imports?layer=ngos", files={"file": ("bad.xlsx", bad)})
    c.call("GET", "/import-templates/{layer_name}", "/import-templates/ngos")
    c.call("GET", "/imports")
    if job is None:
        return
    jid = job.json()["id"]
    waited = wait(c.client, jid)
    assert waited["counts"]["rejected"] == 1 and not waited["can_confirm"], waited
    c.call("GET", "/imports/{import_id}", f"/imports/{jid}")
    c.call("GET", "/imports/{import_id}", f"/imports/{jid}?lang=en")
    c.call("GET", "/imports/{import_id}/rows", f"/imports/{jid}/rows")
    c.call("GET", "/imports/{import_id}/rejected.xlsx", f"/imports/{jid}/rejected.xlsx")
    c.call("POST", "/imports/{import_id}/cancel", f"/imports/{jid}/cancel")
    good = registry([row(f"C-{c.role}-2", "مرکز", "اراک", lon=str(LON), lat=str(LAT))])
    job = c.call("POST", "/imports", "/imports?layer=ngos", files={"file": ("good.xlsx", good)})
    jid = job.json()["id"]
    assert wait(c.client, jid)["can_confirm"]
    c.call("POST", "/imports/{import_id}/confirm", f"/imports/{jid}/confirm")
    c.call("GET", "/imports")
    c.call("POST", "/imports/{import_id}/undo", f"/imports/{jid}/undo")


def validate(world, method: str, template: str, response) -> None:
    """``response`` as the document declares it: status, media type, headers and body."""
    world["schema"][template][method].validate_response(response)
    declared = world["doc"]["paths"][template][method.lower()]["responses"][str(response.status_code)]
    media = response.headers.get("content-type", "").split(";")[0]
    assert (media in declared.get("content", {})) if response.content else not declared.get("content"), (
        template,
        response.status_code,
        media,
    )


def test_page_refusals_and_sign_in_redirects_are_declared(world):
    director = world["clients"]["provincial_director"]
    anonymous = TestClient(world["app"], raise_server_exceptions=False, follow_redirects=False)
    pages = [
        ("/maps/{page}", "/maps/plan"),
        ("/maps/{page}", "/maps/licence"),
        ("/maps/register", "/maps/register"),
        ("/maps/import", "/maps/import"),
    ]
    for template, url in pages:
        refused = director.get(url, headers={"Accept": "text/html"})
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html"), url
        validate(world, "GET", template, refused)
        as_program = director.get(url)  # a program is refused with problem+json
        assert as_program.status_code == 403, url
        validate(world, "GET", template, as_program)
        redirected = anonymous.get(url)
        assert redirected.status_code == 303 and redirected.headers["location"].startswith("/sign-in"), url
        validate(world, "GET", template, redirected)


def test_apps_built_alike_share_the_document_and_a_different_app_gets_its_own(small_store):
    """The OpenAPI document is built once per process for apps made alike (the tests make
    hundreds): each gets a copy equal to the one it would build; an app with another route gets
    its own document, with the route."""
    from api import openapi

    settings = Settings(store=str(small_store.path), prepare_tiles=False)
    first, second = create_app(settings), create_app(settings)
    doc = first.openapi()
    assert second.openapi() == doc and second.openapi() is not doc
    key = openapi._made_of(second)
    assert key == openapi._made_of(first)
    assert openapi.openapi_document(second) == openapi._DOCUMENTS[key]

    other = create_app(settings)

    @other.get("/an-extra-route", summary="only in this app")
    def extra() -> dict:
        return {}

    assert openapi._made_of(other) != key
    assert "/an-extra-route" in other.openapi()["paths"] and "/an-extra-route" not in doc["paths"]
