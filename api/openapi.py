"""The OpenAPI document, made to tell the truth: OpenAPI 3.0 (as the ``oas30`` conformance class
says), the media types each operation really answers with, every error status with its
problem+json schema, and a schema per collection for its features and feature collections.

FastAPI writes OpenAPI 3.1 from the routes; ``openapi_document`` adds what the routes cannot say
and converts the result to 3.0 (``nullable`` for null types, one ``example``, boolean
``exclusiveMinimum``).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.collections import COLLECTIONS, Collection
from api.guard import HEAVY_PATHS, HEAVY_PREFIXES
from api.routers.features import HTML_PATHS
from api.schemas import CATALOGUE_ENUM
from api.security import requirement_of

GEOJSON = "application/geo+json"
PROBLEM = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GPKG = "application/geopackage+sqlite3"
MVT = "application/vnd.mapbox-vector-tile"
SCHEMA_JSON = "application/schema+json"

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details: a message a person can act on",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "detail_fa": {"type": "string", "description": "the same in Persian (a refused parameter: always)"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

STATUS_TEXT = {
    400: "A parameter is unknown or has a value the service cannot use",
    404: "No such collection, feature or resource",
    405: "The method is not allowed on this resource (see the Allow header)",
    409: "The store is not ready for this request (e.g. a layer is missing)",
    412: "The application was changed since its ETag was read (If-Match is stale): reload it",
    413: "The request body or the asked-for export is too large",
    429: "Too many heavy requests from this client at once (see Retry-After)",
    503: "The service is busy with heavy requests (see Retry-After)",
    401: "No, an invalid or an expired credential: sign in, or send Authorization: Bearer amy_…",
    403: "The caller's role or provinces do not allow this",
    422: "The request body is not valid",
    428: "An edit needs If-Match with the ETag of what it changes, as last read",
    500: "The service failed; the error is logged",
}

LINK_SCHEMA = {
    "type": "object",
    "required": ["rel", "href"],
    "properties": {
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "href": {"type": "string"},
        "title": {"type": "string"},
        "templated": {"type": "boolean"},
    },
}

GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "A GeoJSON geometry (CRS84 unless the crs parameter asks for another CRS)",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {
            "type": "string",
            "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"],
        },
        "coordinates": {"type": "array"},
    },
}

_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date", "description": "date, ISO 8601 (YYYY-MM-DD)"},
}


def _name(c: Collection) -> str:
    return "".join(part.capitalize() for part in c.id.replace("_", "-").split("-"))


def _ref(schema: str) -> dict:
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{schema}"}


def properties_schema(c: Collection) -> dict:
    """The ``properties`` of a feature of ``c``: every property, its type, null where it may be."""
    props = {}
    for p in c.properties:
        schema = dict(_TYPES[p.type])
        schema["description"] = p.description + (
            " (" + schema["description"] + ")" if "description" in _TYPES[p.type] else ""
        )
        if p.enum:
            schema["enum"] = list(p.enum)
        # Numbers can be missing (no centre in reach, no target population): null.
        if p.nullable or p.type in ("number", "date"):
            schema["nullable"] = True
        props[p.name] = schema
    return {
        "type": "object",
        "required": [p.name for p in c.properties if not p.roads_only],
        "properties": props,
        "additionalProperties": False,
    }


def feature_schema(c: Collection) -> dict:
    name = _name(c)
    return {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string", "description": f"the feature id ({c.key})"},
            "geometry": _ref("Geometry"),
            "properties": _ref(f"{name}Properties"),
            "links": {"type": "array", "items": _ref("OgcLink")},
        },
    }


def feature_collection_schema(c: Collection) -> dict:
    name = _name(c)
    return {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string"},
            "links": {"type": "array", "items": _ref("OgcLink")},
            "features": {"type": "array", "items": _ref(f"{name}Feature")},
        },
    }


QUERYABLE_SCHEMA = {
    "type": "object",
    "description": "the JSON Schema of one queryable property",
    "properties": {
        "type": {"type": "string", "enum": ["string", "integer", "number", "boolean"]},
        "format": {"type": "string", "description": "date, or geometry-<type> for the geometry"},
        "description": {"type": "string"},
        "enum": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


def queryables_schema(c: Collection) -> dict:
    """The queryables document of ``c``: a JSON Schema (2020-12) naming every property that
    ``filter=``, ``sortby=`` and the equality parameters take, and the geometry."""
    from api.query import GEOMETRY

    names = [p.name for p in c.properties] + [GEOMETRY]
    return {
        "type": "object",
        "description": f"The queryables of {c.id}: a JSON Schema of its filterable properties",
        "required": ["$schema", "$id", "type", "title", "properties", "additionalProperties"],
        "properties": {
            "$schema": {"type": "string", "enum": ["https://json-schema.org/draft/2020-12/schema"]},
            "$id": {"type": "string", "description": "this document's address"},
            "type": {"type": "string", "enum": ["object"]},
            "title": {"type": "string"},
            "properties": {
                "type": "object",
                "required": names,
                "properties": {n: _ref("Queryable") for n in names},
                "additionalProperties": False,
            },
            "additionalProperties": {"type": "boolean", "enum": [False]},
        },
        "additionalProperties": False,
    }


CATALOGUE_MARK = next(iter(CATALOGUE_ENUM))


def with_catalogue(doc: dict, services: tuple[str, ...]) -> dict:
    """The document as the catalogue ``services`` (``Norms.services``) makes it: the service
    types as the enum of every schema marked ``x-amayesh-catalogue``, and each collection's
    properties per service (``Collection.for_services``). ``doc`` is not changed."""
    out = copy.deepcopy(doc)

    def fill(node: Any) -> None:
        if isinstance(node, dict):
            if node.get(CATALOGUE_MARK) == "services":
                branches = [
                    b for b in node.get("anyOf", ()) if isinstance(b, dict) and b.get("type") == "string"
                ]
                for target in branches or [node]:
                    target["enum"] = list(services)
            for value in node.values():
                fill(value)
        elif isinstance(node, list):
            for value in node:
                fill(value)

    fill(out)
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    for c in COLLECTIONS.values():
        made = c.for_services(services)
        name = _name(c)
        schemas[f"{name}Properties"] = properties_schema(made)
        if f"{name}Queryables" in schemas:
            schemas[f"{name}Queryables"] = queryables_schema(made)
    return out


def _get(doc: dict, path: str) -> dict | None:
    """The GET operation of ``path`` in the document (None if the app has none)."""
    return doc["paths"].get(path, {}).get("get")


def _problem_responses(op: dict, statuses: list[int]) -> None:
    responses = op.setdefault("responses", {})
    for status in statuses:
        responses[str(status)] = {
            "description": STATUS_TEXT[status],
            "content": {PROBLEM: {"schema": _ref("Problem")}},
        }


def _content(op: dict, status: str, content: dict) -> None:
    op["responses"].setdefault(status, {"description": "OK"})["content"] = content


def openapi_document(app: FastAPI) -> dict:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        license_info=app.license_info,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's own validation error schemas: replaced by Problem.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["OgcLink"] = LINK_SCHEMA
    schemas["Geometry"] = GEOMETRY_SCHEMA
    schemas["Queryable"] = QUERYABLE_SCHEMA
    schemas["Collection"] = {
        "type": "object",
        "required": ["id", "title", "links", "crs", "storageCrs", "itemType"],
        "properties": {
            "id": {"type": "string", "enum": list(COLLECTIONS)},
            "title": {"type": "string"},
            "title_fa": {"type": "string"},
            "description": {"type": "string"},
            "synthetic": {"type": "string", "enum": ["none", "partial", "all"]},
            "itemType": {"type": "string", "enum": ["feature"]},
            "crs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "storageCrs": {"type": "string"},
            "filters": {"type": "object", "additionalProperties": {"type": "string"}},
            "extent": {"type": "object"},
            "links": {"type": "array", "items": _ref("OgcLink")},
        },
    }
    one_collection = _get(doc, "/collections/{collection_id}")
    if one_collection is not None:
        _content(
            one_collection,
            "200",
            {"application/json": {"schema": _ref("Collection")}},
        )
    all_collections = _get(doc, "/collections")
    if all_collections is not None:
        _content(
            all_collections,
            "200",
            {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["links", "collections"],
                        "properties": {
                            "links": {"type": "array", "items": _ref("OgcLink")},
                            "crs": {"type": "array", "items": {"type": "string"}},
                            "collections": {
                                "type": "array",
                                "items": _ref("Collection"),
                            },
                        },
                    }
                }
            },
        )
    operation_ids: dict[str, str] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            operation_ids[f"{method} {path}"] = op.get("operationId", "")
    for c in COLLECTIONS.values():
        name = _name(c)
        schemas[f"{name}Properties"] = properties_schema(c)
        schemas[f"{name}Feature"] = feature_schema(c)
        schemas[f"{name}FeatureCollection"] = feature_collection_schema(c)
        items = _get(doc, f"/collections/{c.id}/items")
        if items is not None:
            _content(
                items,
                "200",
                {
                    GEOJSON: {"schema": _ref(f"{name}FeatureCollection")},
                    "text/html": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                    GPKG: {"schema": {"type": "string", "format": "binary"}},
                },
            )
            item_id = operation_ids.get(f"get /collections/{c.id}/items/{{feature_id}}")
            if item_id:
                items["responses"]["200"]["links"] = {
                    "FirstFeature": {
                        "operationId": item_id,
                        "parameters": {"feature_id": "$response.body#/features/0/id"},
                        "description": "the first feature of the page",
                    }
                }
        one = _get(doc, f"/collections/{c.id}/items/{{feature_id}}")
        if one is not None:
            _content(
                one,
                "200",
                {
                    GEOJSON: {"schema": _ref(f"{name}Feature")},
                    "text/html": {"schema": {"type": "string"}},
                },
            )
        queryables = _get(doc, f"/collections/{c.id}/queryables")
        if queryables is not None:
            schemas[f"{name}Queryables"] = queryables_schema(c)
            _content(
                queryables,
                "200",
                {SCHEMA_JSON: {"schema": _ref(f"{name}Queryables")}},
            )
    # OGC API Features, HTML encoding: these resources answer a page for a person with f=html (or
    # Accept: text/html), beside their JSON.
    html_paths = [*HTML_PATHS, *(f"/collections/{c.id}/queryables" for c in COLLECTIONS.values())]
    for path in html_paths:
        op = _get(doc, path)
        if op is not None:
            ok = op["responses"].setdefault("200", {"description": "OK"})
            ok.setdefault("content", {})["text/html"] = {"schema": {"type": "string"}}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            has_body = "requestBody" in op
            op["responses"].pop("422", None)
            statuses = [400, 500]
            # Unknown collections, features, provinces or settlements are 404s, also by query.
            if path != "/conformance" and not path.startswith("/tileMatrixSets"):
                statuses.append(404)
            if path not in ("/conformance", "/openapi.json") and not path.startswith("/tileMatrixSets"):
                statuses.append(409)
            if has_body:
                statuses.append(422)
            heavy = path in HEAVY_PATHS or path.startswith(HEAVY_PREFIXES) or path.endswith("/items")
            if heavy or "/compare/" in path:
                statuses += [429, 503]
            if has_body or path.endswith("/items") or path in ("/priorities", "/saturation"):
                statuses.append(413)
            if "if-match" in {str(p.get("name", "")).lower() for p in op.get("parameters", [])}:
                statuses += [412, 428]
            rule = requirement_of(method.upper(), path)
            if rule is not None and not rule.public:
                # Who may call it, as the service enforces it (api.security.POLICY; the security
                # schemes are published by api.security.publish_requirements).
                statuses += [401, 403]
                op["description"] = (
                    (op.get("description") or "").rstrip() + f"\n\nWho may call it: {rule.describe()}."
                ).lstrip()
            _problem_responses(op, statuses)
            if rule is not None and rule.page and not rule.public:
                # A page asked for without a session goes to the sign-in page; a person refused
                # a page (Accept: text/html) reads a sentence in the page's language.
                op["responses"]["303"] = {
                    "description": "Not signed in: to the sign-in page, then back",
                    "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                }
                op["responses"]["403"]["content"]["text/html"] = {"schema": {"type": "string"}}
            if path.endswith(".mvt") or "/tiles/WebMercatorQuad/{" in path:
                _content(op, "200", {MVT: {"schema": {"type": "string", "format": "binary"}}})
            crs_header = path.startswith("/collections/") and "/items" in path
            if crs_header:
                op["responses"]["200"]["headers"] = {
                    "Content-Crs": {
                        "description": "the CRS of the coordinates, as <URI>",
                        "schema": {"type": "string"},
                    }
                }
    return to_openapi30(doc)


def to_openapi30(doc: dict) -> dict:
    """An OpenAPI 3.1 document (as FastAPI writes it) as OpenAPI 3.0.3."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    info = out.get("info", {})
    summary = info.pop("summary", None)
    if summary and "description" in info:
        info["description"] = f"{summary}. {info['description']}"
    licence = info.get("license")
    if licence and "identifier" in licence:
        licence.pop("identifier")
        licence["url"] = "https://www.gnu.org/licenses/gpl-3.0.html"
    for item in out.get("paths", {}).values():
        for op in item.values():
            for param in op.get("parameters", []):
                if "schema" in param:
                    # An optional parameter is absent, never null: no "nullable" on parameters.
                    param["schema"] = _schema30(param["schema"])
                    param["schema"].pop("nullable", None)
                # 3.0 parameter examples are a map of Example objects: keep a single example.
                examples = param.pop("examples", None)
                if isinstance(examples, list) and examples:
                    param["example"] = examples[0]
                elif isinstance(examples, dict) and examples:
                    param["examples"] = examples
            body = op.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "schema" in media:
                    media["schema"] = _schema30(media["schema"])
            for response in op.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = _schema30(media["schema"])
                for header in response.get("headers", {}).values():
                    if "schema" in header:
                        header["schema"] = _schema30(header["schema"])
    schemas = out.get("components", {}).get("schemas", {})
    for key, schema in list(schemas.items()):
        schemas[key] = _schema30(schema)
    return out


def _schema30(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_schema30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    s = {
        k: _schema30(v) if k not in ("enum", "default", "example", "const") else v for k, v in schema.items()
    }
    for key in ("anyOf", "oneOf"):
        options = s.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            s.pop(key)
            if len(rest) == 1:
                only = rest[0]
                if "$ref" in only:
                    s["allOf"] = [only]
                else:
                    s.update({k: v for k, v in only.items() if k not in s})
            else:
                s[key] = rest
            s["nullable"] = True
    if isinstance(s.get("type"), list):
        types = [t for t in s["type"] if t != "null"]
        if len(types) < len(s["type"]):
            s["nullable"] = True
        s["type"] = types[0] if len(types) == 1 else types
    if "const" in s:
        s["enum"] = [s.pop("const")]
    if "examples" in s:
        examples = s.pop("examples")
        if isinstance(examples, list) and examples:
            s["example"] = examples[0]
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(s.get(bound), int | float) and not isinstance(s.get(bound), bool):
            s["minimum" if bound == "exclusiveMinimum" else "maximum"] = s[bound]
            s[bound] = True
    s.pop("contentMediaType", None)
    s.pop("$schema", None)
    return s


#: The media type of the OpenAPI document, as the landing page's service-desc link names it.
OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"


#: ``openapi_document`` of the apps this process built, by what they were made of: a service builds
#: one app, its tests hundreds alike (1.7 s a document on the development machine; a copy 0.05 s)
_DOCUMENTS: dict[tuple, dict] = {}


def _made_of(app: FastAPI) -> tuple:
    """What ``openapi_document`` reads of ``app``: its title and texts, and each route's path,
    methods, endpoint code and the settings of its operation."""
    routes = []
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        operation = tuple(
            repr(getattr(route, name, None))
            for name in (
                "response_model", "status_code", "include_in_schema", "summary", "description", "tags",
                "operation_id", "responses", "openapi_extra", "deprecated", "dependencies",
                "response_class", "name",
            )
        )  # fmt: skip
        code = getattr(endpoint, "__code__", None)
        routes.append((type(route).__name__, getattr(route, "path", None), repr(getattr(route, "methods", None)),
                       code, repr(getattr(endpoint, "__annotations__", None)), operation))  # fmt: skip
    return (app.title, app.version, app.summary, app.description, repr(app.license_info), tuple(routes))


def install(app: FastAPI) -> None:
    """Serve ``openapi_document`` at /openapi.json (built once), as ``OPENAPI_MEDIA``."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    def openapi() -> dict:
        if app.openapi_schema is None:
            key = _made_of(app)
            if key not in _DOCUMENTS:
                if len(_DOCUMENTS) > 4:
                    _DOCUMENTS.clear()
                _DOCUMENTS[key] = openapi_document(app)
            app.openapi_schema = copy.deepcopy(_DOCUMENTS[key])  # its callers complete it in place
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    #: the document per catalogue (few: a catalogue changes rarely)
    made: dict[tuple[str, ...], dict] = {}

    async def document(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        # The services of the norms in force, not the snapshot: the document does not wait for
        # the national layers to be read and analysed (a client's first call after a start).
        snaps = request.app.state.snapshots
        snap = snaps.fresh()
        norms = snap.norms if snap is not None else await run_in_threadpool(snaps.norms_now)
        services = tuple(norms.services)
        doc = made.get(services)
        if doc is None:
            if len(made) > 8:
                made.clear()
            doc = made[services] = with_catalogue(app.openapi(), services)
        return JSONResponse(doc, media_type=OPENAPI_MEDIA)

    app.add_route("/openapi.json", document, methods=["GET"], include_in_schema=False)
