"""Province scoping: a matrix of roles × every route × own/other province, on both stores.

By default (``make test``, ``make test-fast`` leaves the national demo out) each store is walked by
the seeded *sample*: every user of ``USERS`` (every role) asks every route of ``requests_for``
once, about one of its own provinces or another's (each route both ways per scoped role), the
province and the route's variable parts drawn from the seed named in the test id. The *full*
matrix, 5,000 requests on the PostGIS store (the sample's and 4,412 randomized ones, in seeded
parts), is marked ``full_matrix``: ``make test`` (hence CI) runs it, ``-m "not full_matrix"``
leaves it out.

Every answer a scoped user (licensing officer, provincial director) gets is searched for codes
that name a province: ``province_code``, ``county_code``, ``settlement_code``, ``licence_no``,
``target_code`` (mapped to their province), in JSON, GeoJSON, vector tiles, CSV, XLSX, GeoPackage
and the pages. Not one may belong to a province outside the user's.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import mapbox_vector_tile
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import POLICY
from services.settings import Settings
from store.accounts import Accounts
from tests.conftest import TEST_PASSWORD, bearer

pytestmark = pytest.mark.realdata

#: Requests of the full matrix, run on the PostGIS store only (the multi-user deployment, where
#: row-level security also holds): 5,000 by default (the issue's figure); AMAYESH_MATRIX_REQUESTS
#: changes it; the PostGIS sample's requests count among them. Each request costs about 70 ms on
#: the national demo, so the randomized rest is cut in PARTS
#: (a seed each) that pytest-xdist's workers share.
REQUESTS = int(os.environ.get("AMAYESH_MATRIX_REQUESTS", "5000"))
PARTS = 5
#: Users of the matrix: role and provinces (None: national, "anonymous": no credentials).
USERS = {
    "anonymous": ("public", None),
    "m_admin": ("admin", None),
    "m_planner": ("planner", None),
    "m_officer_11": ("licensing_officer", ("11",)),
    "m_officer_07_23": ("licensing_officer", ("07", "23")),
    "m_director_11": ("provincial_director", ("11",)),
    "m_director_09": ("provincial_director", ("09",)),
}
CODE_KEYS = (
    "province_code",
    "county_code",
    "settlement_code",
    "licence_no",
    "target_code",
    "province",
    "application_id",
    "unit_code",  # trends: a province's or a county's code (the country is "IR")
)
#: Reference tables every signed-in role reads whole: the versions of the county divisions (the
#: counties of each version name every province; they hold no figure).
REFERENCE_ROUTES = (
    "/hierarchy/versions/{version_id}",
    "/hierarchy/template.csv",
    "/catalogue",
    "/catalogue/norms.toml",
)
#: An upload in the matrix: the body is a file (multipart), not JSON.
UPLOAD = "__upload__"
NO_JOB = "matrixNoSuchImport0000"
TILED = ("settlements", "ngos", "counties", "provinces", "target_areas", "settlement-access")


def matrix_tokens(store_url: str) -> dict[str, str]:
    accounts = Accounts(store_url)
    tokens = {}
    try:
        for username, (role, provinces) in USERS.items():
            if role == "public":
                continue
            if accounts.get(username) is None:
                accounts.add(username, TEST_PASSWORD, role, provinces or (), actor="tests")
            tokens[username] = accounts.issue_token(username, days=1, actor="tests")[1]
    finally:
        accounts.close()
    return tokens


class World:
    """What the matrix needs to know about the data: codes per province and their provinces."""

    def __init__(self, layers: dict[str, pd.DataFrame]) -> None:
        self.provinces = sorted(layers["provinces"]["province_code"])
        self.province_of: dict[str, str] = {}
        for name, key in (("ngos", "licence_no"), ("target_areas", "target_code")):
            frame = layers[name]
            self.province_of.update(zip(frame[key], frame["province_code"], strict=True))
        self.samples: dict[str, dict[str, list[str]]] = {}
        rng = random.Random(7)
        for p in self.provinces:

            def pick(name, key, n=4, p=p):
                frame = layers[name]
                codes = frame.loc[frame["province_code"] == p, key].tolist()
                return rng.sample(codes, min(n, len(codes)))

            settlements = layers["settlements"]
            here = settlements[settlements["province_code"] == p]
            points = here.sample(min(6, len(here)), random_state=int(p))
            self.samples[p] = {
                "county": pick("counties", "county_code"),
                "settlement": pick("settlements", "settlement_code", 8),
                "ngo": pick("ngos", "licence_no", 6),
                "target": pick("target_areas", "target_code", 3),
                "points": [(float(g.x), float(g.y)) for g in points.geometry],
                "bbox": [
                    round(v, 3) for v in layers["provinces"].set_index("province_code").loc[p].geometry.bounds
                ],
            }

    def province(self, key: str, value) -> str | None:
        value = str(value)
        if key in ("province_code", "province"):
            return value[:2]
        if key in ("county_code", "settlement_code"):
            return value[:2]
        if key == "application_id":  # SYN-A-<province>-<serial> or A-<day>-<province>-<hex>
            return value.split("-")[2]
        if key == "unit_code":
            return value[:2] if re.fullmatch(r"\d{2}|\d{4}", value) else None
        return self.province_of.get(value)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def requests_for(world: World, p: str, rng: random.Random) -> list[tuple[str, str, str, dict | None]]:
    """(policy key path, method, url, json body) of every route, for province ``p``."""
    s = world.samples[p]
    county, settlement = rng.choice(s["county"]), rng.choice(s["settlement"])
    ngo = rng.choice(s["ngo"]) if s["ngo"] else "none"
    target = rng.choice(s["target"]) if s["target"] else "none"
    lon, lat = rng.choice(s["points"])
    z = rng.choice((6, 7, 8, 9, 10))
    x, y = tile_of(lon, lat, z)
    service = rng.choice(("rehabilitation", "kindergarten", "elderly_care", None))
    svc = f"&service_type={service}" if service else ""
    items = "/collections/{collection_id}/items"
    one = "/collections/{collection_id}/items/{feature_id}"
    fmt = rng.choice(("csv", "xlsx", "gpkg", "geojson"))
    application = f"SYN-A-{p}-{rng.randint(1, 24):04d}"  # the demo's synthetic applications
    activity_id = f"SYN-ACT-{p}-{rng.randint(1, 6):04d}"  # the demo's synthetic activities
    activity = {
        "organisation": "matrix",
        "organisation_kind": "partner",
        "service_type": "counselling",
        "place_kind": "target_area",
        "place_code": target,
        "start_date": "2024-06-01",
        "households": 2,
        "persons": 6,
        "status": "ongoing",
    }
    bbox = ",".join(str(v) for v in s["bbox"])
    coll = rng.choice(
        (
            "counties",
            "settlements",
            "ngos",
            "target_areas",
            "saturation",
            "settlement-access",
            "flags",
            "priorities",
        )
    )
    feature = {
        "provinces": p,
        "counties": county,
        "settlements": settlement,
        "ngos": ngo,
        "target_areas": target,
        "saturation": f"{county}-rehabilitation",
        "settlement-access": settlement,
    }
    fcoll = rng.choice(list(feature))
    return [
        ("/", "GET", "/", None),
        ("/conformance", "GET", "/conformance", None),
        ("/health", "GET", "/health", None),
        ("/me", "GET", "/me", None),
        ("/collections", "GET", "/collections", None),
        ("/collections/{collection_id}", "GET", f"/collections/{coll}", None),
        (items, "GET", f"{items.replace('{collection_id}', coll)}?province={p}&limit=40", None),
        (
            items,
            "GET",
            f"{items.replace('{collection_id}', coll)}?limit=60&offset={rng.randrange(0, 200)}",
            None,
        ),
        (
            items,
            "GET",
            f"/collections/{rng.choice(('ngos', 'settlements', 'target_areas'))}/items?bbox={bbox}&limit=80",
            None,
        ),
        (items, "GET", f"/collections/ngos/items?county={county}&f={fmt}", None),
        (items, "GET", "/collections/provinces/items?limit=40", None),
        (one, "GET", f"/collections/{fcoll}/items/{feature[fcoll]}", None),
        ("/tiles/{collection}/{z}/{x}/{y}.mvt", "GET", f"/tiles/{rng.choice(TILED)}/{z}/{x}/{y}.mvt", None),
        (
            "/licence-checks",
            "POST",
            "/licence-checks",
            {"lon": lon, "lat": lat, "service_type": service or "rehabilitation", "capacity": 30},
        ),
        ("/priorities", "GET", f"/priorities?province={p}&top=5{svc}", None),
        ("/priorities", "GET", "/priorities?top=3", None),
        ("/priorities", "GET", f"/priorities?province={p}&top=20&f=csv", None),
        ("/saturation", "GET", f"/saturation?province={p}{svc}", None),
        ("/saturation", "GET", "/saturation?service_type=rehabilitation", None),
        # the analysis at a period's end: one period, so that its snapshots are made once
        ("/saturation", "GET", f"/saturation?period=1402{rng.choice(('', f'&province={p}'))}", None),
        ("/concentration", "GET", f"/concentration?province={p}", None),
        ("/concentration", "GET", "/concentration", None),
        ("/settlements/{code}", "GET", f"/settlements/{settlement}", None),
        (
            "/catchment-areas",
            "GET",
            f"/catchment-areas?lon={lon}&lat={lat}&service_type={service or 'rehabilitation'}",
            None,
        ),
        ("/maps/data/boundaries.json", "GET", "/maps/data/boundaries.json", None),
        ("/maps/data/ngos.json", "GET", "/maps/data/ngos.json", None),
        ("/maps/data/target-areas.json", "GET", "/maps/data/target-areas.json", None),
        ("/maps/data/public.json", "GET", "/maps/data/public.json", None),
        (
            "/maps/data/public-table",
            "GET",
            f"/maps/data/public-table?f={rng.choice(('csv', 'xlsx'))}&level={rng.choice(('county', 'province'))}",
            None,
        ),
        ("/maps/data/search", "GET", f"/maps/data/search?q={rng.choice(('تهران', 'Shiraz', county))}", None),
        ("/maps/settlements/{code}", "GET", f"/maps/settlements/{settlement}", None),
        ("/collections/{collection_id}/queryables", "GET", f"/collections/{coll}/queryables", None),
        ("/tileMatrixSets", "GET", "/tileMatrixSets", None),
        ("/tileMatrixSets/WebMercatorQuad", "GET", "/tileMatrixSets/WebMercatorQuad", None),
        ("/collections/{collection_id}/tiles", "GET", f"/collections/{rng.choice(TILED)}/tiles", None),
        (
            "/collections/{collection_id}/tiles/WebMercatorQuad",
            "GET",
            f"/collections/{rng.choice(TILED)}/tiles/WebMercatorQuad",
            None,
        ),
        (
            "/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json",
            "GET",
            f"/collections/{rng.choice(TILED)}/tiles/WebMercatorQuad/tilejson.json",
            None,
        ),
        (
            "/collections/{collection_id}/tiles/WebMercatorQuad/{tile_matrix}/{tile_row}/{tile_col}",
            "GET",
            f"/collections/{rng.choice(TILED)}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            None,
        ),
        (
            "/maps/{page}",
            "GET",
            # Each new address renders a page (folium, ~0.1-1 s): a few addresses per user.
            rng.choice(("/maps/national", "/maps/licence?lang=en", f"/maps/priorities?province={p}")),
            None,
        ),
        ("/maps", "GET", "/maps", None),
        ("/maps/register", "GET", f"/maps/register?lang={rng.choice(('fa', 'en'))}", None),
        ("/maps/monitoring", "GET", "/maps/monitoring", None),
        ("/licence-applications", "GET", f"/licence-applications?province={p}&limit=20", None),
        ("/licence-applications", "GET", "/licence-applications?limit=30", None),
        (
            "/licence-applications",
            "POST",
            "/licence-applications",
            {"applicant": "matrix", "service_type": "counselling", "capacity": 10, "lon": lon, "lat": lat},
        ),
        ("/licence-applications/{application_id}", "GET", f"/licence-applications/{application}", None),
        # Edits without If-Match: 428 in the officer's provinces, 404 elsewhere (never a change).
        (
            "/licence-applications/{application_id}",
            "PATCH",
            f"/licence-applications/{application}",
            {"capacity": 5},
        ),
        (
            "/licence-applications/{application_id}/check",
            "POST",
            f"/licence-applications/{application}/check",
            None,
        ),
        (
            "/licence-applications/{application_id}/decision",
            "POST",
            f"/licence-applications/{application}/decision",
            {"decision": "refused", "reason": "matrix"},
        ),
        ("/licence-monitoring", "GET", f"/licence-monitoring?f={rng.choice(('json', 'csv'))}", None),
        # the programme's activities register: entries at a target neighbourhood of p (outside an
        # officer's provinces: 403), the demo's synthetic activities of p, edits without If-Match
        # (428 in the officer's provinces, 404 elsewhere: never a change), progress, gaps, the page
        ("/activities", "GET", f"/activities?province={p}&limit=50", None),
        ("/activities", "GET", f"/activities?f={rng.choice(('json', 'csv', 'xlsx'))}&limit=100", None),
        ("/activities", "POST", "/activities", activity),
        ("/activities/{activity_id}", "GET", f"/activities/{activity_id}", None),
        ("/activities/{activity_id}", "PATCH", f"/activities/{activity_id}", {"households": 1}),
        ("/activities/{activity_id}", "DELETE", f"/activities/{activity_id}", None),
        ("/activity-template", "GET", f"/activity-template?f={rng.choice(('csv', 'xlsx'))}", None),
        (
            "/activity-imports",
            "POST",
            "/activity-imports",
            {
                UPLOAD: (
                    "organisation,organisation_kind,service_type,place_kind,place_code,start_date,households,persons,status\n"
                    f"matrix,partner,employment,target_area,{target},2024-06-01,3,9,ongoing\n"
                ).encode()
            },
        ),
        ("/programme/progress", "GET", f"/programme/progress?province={p}", None),
        (
            "/programme/progress",
            "GET",
            f"/programme/progress?level={rng.choice(('province', 'neighbourhood'))}&f={rng.choice(('json', 'csv', 'xlsx'))}",
            None,
        ),
        (
            "/programme/progress-over-time",
            "GET",
            f"/programme/progress-over-time?periods=1402..1403{rng.choice(('', f'&province={p}'))}"
            f"&f={rng.choice(('json', 'csv'))}",
            None,
        ),
        (
            "/programme/gaps",
            "GET",
            f"/programme/gaps?f={rng.choice(('json', 'csv'))}{rng.choice(('', f'&province={p}'))}",
            None,
        ),
        (
            "/maps/activities",
            "GET",
            f"/maps/activities?lang={rng.choice(('fa', 'en'))}{rng.choice(('', f'&target={target}'))}",
            None,
        ),
        # trends by Jalali period: counted from dates at every level; with the analysis's measures
        # (a recompute per period and kind of positions, cached) on three years
        (
            "/trends",
            "GET",
            f"/trends?level={rng.choice(('country', 'province', 'county'))}&periods=1401..1403"
            f"{rng.choice(('', f'&province={p}'))}{svc}&f={rng.choice(('json', 'csv'))}"
            + rng.choice(("", "", "&measures=all", "&compare=previous,year_before")),
            None,
        ),
        ("/maps/public", "GET", f"/maps/public?lang={rng.choice(('fa', 'en'))}", None),
        # imports through the browser: an upload of one row of province p (an officer of another
        # province gets it rejected), and a job id nobody has (404 for every role that may import)
        ("/maps/import", "GET", f"/maps/import?lang={rng.choice(('fa', 'en'))}", None),
        ("/import-templates/{layer_name}", "GET", "/import-templates/ngos", None),
        ("/imports", "GET", "/imports", None),
        (
            "/imports",
            "POST",
            "/imports?layer=ngos",
            {
                UPLOAD: (
                    "licence_no,name_fa,service_type,capacity,status,county_code,lon,lat\n"
                    f"M-{p}-{rng.randrange(10**6)},matrix,rehabilitation,10,active,{county},{lon},{lat}\n"
                ).encode()
            },
        ),
        # versions of the divisions: reference tables every role reads whole (REFERENCE_ROUTES);
        # a county table carried to a version holds the caller's provinces only
        ("/hierarchy/versions", "GET", "/hierarchy/versions", None),
        (
            "/hierarchy/versions/{version_id}",
            "GET",
            f"/hierarchy/versions/{rng.choice(('census-1395', 'official-448', 'osm-2025'))}"
            f"?f={rng.choice(('json', 'csv'))}",
            None,
        ),
        ("/hierarchy/template.csv", "GET", "/hierarchy/template.csv", None),
        # the service catalogue and the norms in force: reference, the same for every role
        ("/catalogue", "GET", "/catalogue", None),
        ("/catalogue/norms.toml", "GET", "/catalogue/norms.toml", None),
        # evaluations of centres: a centre's history (404 outside the caller's provinces) and the
        # rankings by rating (the caller's provinces only)
        ("/ngos/{licence_no}/evaluations", "GET", f"/ngos/{ngo}/evaluations", None),
        (
            "/ratings/rankings",
            "GET",
            f"/ratings/rankings?f={rng.choice(('json', 'csv'))}{svc}",
            None,
        ),
        # the volunteer network: the caller's provinces' groups, and volunteers per county
        ("/volunteers/groups", "GET", "/volunteers/groups", None),
        (
            "/volunteers/summary",
            "GET",
            f"/volunteers/summary?f={rng.choice(('json', 'csv'))}&lang={rng.choice(('fa', 'en'))}",
            None,
        ),
        ("/hierarchy/settlements/{code}", "GET", f"/hierarchy/settlements/{settlement}", None),
        (
            "/hierarchy/versions/{version_id}/reaggregate",
            "GET",
            f"/hierarchy/versions/{rng.choice(('census-1395', 'osm-2025'))}/reaggregate"
            f"?table={rng.choice(('population', 'county_needs'))}&province={p}&f={rng.choice(('json', 'csv'))}",
            None,
        ),
        *(
            (f"/imports/{{import_id}}{tail}", method, f"/imports/{NO_JOB}{tail}", None)
            for method, tail in (
                ("GET", ""),
                ("GET", "/rows"),
                ("GET", "/rejected.xlsx"),
                ("POST", "/confirm"),
                ("POST", "/cancel"),
                ("POST", "/undo"),
            )
        ),
    ]


def codes_in(response, world: World) -> list[tuple[str, str]]:
    """(key, value) of every province-naming code in an answer, whatever its format."""
    kind = response.headers.get("content-type", "")
    found: list[tuple[str, str]] = []

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "province_bounds":
                    found.extend(("province_code", code) for code in v)
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif (
            key in CODE_KEYS
            and value not in (None, "")  # TileJSON lists field names with empty descriptions
            and (key != "province" or re.fullmatch(r"\d{2}", str(value)))
        ):
            found.append((key, str(value)))

    if "json" in kind:
        body = response.json()
        if isinstance(body, dict) and "service_types" in body and "id" in body:  # ngos.json columns
            found.extend(("licence_no", v) for v in body["id"])
        walk(body)
    elif "mapbox-vector-tile" in kind:
        walk(mapbox_vector_tile.decode(response.content))
    elif kind.startswith("text/csv") or "spreadsheetml" in kind or "geopackage" in kind:
        if kind.startswith("text/csv"):
            lines = response.content.decode("utf-8-sig").splitlines(keepends=True)
            while lines and lines[0].startswith("#"):  # the record of how the table was made
                lines.pop(0)
            frame = pd.read_csv(io.StringIO("".join(lines)), dtype=str)
        elif "spreadsheetml" in kind:
            frame = pd.read_excel(io.BytesIO(response.content), engine="calamine", dtype=str)
        else:
            with tempfile.NamedTemporaryFile(suffix=".gpkg") as fh:
                Path(fh.name).write_bytes(response.content)
                frame = pyogrio.read_dataframe(fh.name, read_geometry=False)
        for key in CODE_KEYS:
            if key in frame.columns:
                found.extend((key, str(v)) for v in frame[key].dropna())
    elif kind.startswith("text/html"):
        found.extend(("province_code", c) for c in re.findall(r'<option value="(\d{2})"', response.text))
        found.extend(("province_code", c) for c in re.findall(r'"code":\s*"(\d{2})"', response.text))
    return found


def province_for(world: World, provinces, own: bool, rng: random.Random) -> str:
    """One of the user's provinces (``own``), else one of the others (any for a national user)."""
    if own and provinces is not None:
        return rng.choice(provinces)
    return rng.choice([q for q in world.provinces if q not in (provinces or ())])


def random_walk(world: World, n: int, rng: random.Random):
    """The full matrix's asks: ``n`` of (user, request), user, own/other and route drawn at random."""
    for _ in range(n):
        name = rng.choice(list(USERS))
        provinces = USERS[name][1]
        p = province_for(world, provinces, provinces is not None and rng.random() < 0.5, rng)
        yield name, rng.choice(requests_for(world, p, rng))


def covering_walk(world: World, rng: random.Random):
    """The sample's asks: every user asks every route of ``requests_for`` once. A scoped user asks
    about its own provinces and about another's on alternate routes, the two users of a role
    the other way round, so that each role asks every route about both; the province and the
    route's variable parts come from ``rng``."""
    routes = len(requests_for(world, world.provinces[0], random.Random(0)))
    for u, (name, (_, provinces)) in enumerate(USERS.items()):
        for i in range(routes):
            p = province_for(world, provinces, (i + u) % 2 == 0, rng)
            yield name, requests_for(world, p, rng)[i]


def covering_size(world: World) -> int:
    return len(USERS) * len(requests_for(world, world.provinces[0], random.Random(0)))


def run_matrix(app, world: World, tokens: dict[str, str], asks) -> dict:
    clients = {
        name: TestClient(
            app, raise_server_exceptions=False, headers=bearer(tokens[name]) if name in tokens else {}
        )
        for name in USERS
    }
    stats = Counter()
    spent = Counter()  # seconds per route, printed: where the matrix's time goes
    routes_seen = set()
    asked_by = set()  # (user, method, route template): the sample's coverage
    leaks = []
    started = time.perf_counter()
    for name, (template, method, url, body) in asks:
        role, provinces = USERS[name]
        asked = time.perf_counter()
        if body is not None and UPLOAD in body:
            files = {"file": ("registry.csv", body[UPLOAD])}
            response = clients[name].request(method, url, files=files, follow_redirects=False)
        else:
            response = clients[name].request(method, url, json=body, follow_redirects=False)
        stats["requests"] += 1
        spent[(method, template)] += time.perf_counter() - asked
        if stats["requests"] % 500 == 0:
            print(f"  {stats['requests']} requests, {time.perf_counter() - started:.0f} s", flush=True)
        stats[f"status {response.status_code}"] += 1
        routes_seen.add((method, template))
        asked_by.add((name, method, template))
        assert response.status_code < 500, (name, url, response.text[:300])
        assert b"Traceback" not in response.content
        if role == "public":
            # per-collection OGC paths are in the policy as concrete paths
            need = POLICY.get((method, template)) or POLICY[(method, concrete(template, url))]
            assert need.public or response.status_code in (401, 303), (url, response.status_code)
        if response.status_code != 200:
            continue
        stats["answered"] += 1
        codes = codes_in(response, world)
        stats["codes checked"] += len(codes)
        if provinces is None:
            continue
        stats["scoped answers"] += 1
        for key, value in codes:
            where = world.province(key, value)
            public = template in ("/maps/data/public.json", "/maps/data/public-table", *REFERENCE_ROUTES)
            if where is not None and where not in provinces and not public:
                leaks.append((name, url, key, value))
    stats["seconds"] = round(time.perf_counter() - started, 1)
    stats["routes"] = len(routes_seen)
    stats["leaks"] = len(leaks)
    print("slowest routes:", [(f"{m} {t}", round(sec, 1)) for (m, t), sec in spent.most_common(8)])
    return {"stats": stats, "leaks": leaks[:20], "routes": routes_seen, "asked_by": asked_by}


def concrete(template: str, url: str) -> str:
    """The policy path of a per-collection OGC route: the template with the URL's collection."""
    return template.replace("{collection_id}", url.split("?")[0].split("/")[2], 1)


def _generic(path: str) -> str:
    return re.sub(r"^/collections/[a-z_-]+/(items|queryables)", r"/collections/{collection_id}/\1", path)


def check(result, requests: int) -> None:
    stats = result["stats"]
    print(dict(stats))
    assert stats["requests"] >= requests
    assert result["leaks"] == [], result["leaks"]
    # Every route of the policy was exercised, but signing in and out (tested in test_security).
    # Planning (siting, delegation, scenarios) is for national roles only and the account routes
    # for administrators: scoped roles are refused them outright (tests/test_security.py), so
    # they have no province to leak.
    # One items, item and queryables path per collection (OGC): counted as their common template.
    wanted = {
        (m, _generic(p))
        for (m, p), need in POLICY.items()
        if p not in ("/sign-in", "/sign-out") and need.right not in ("plan", "admin")
    }
    assert wanted <= result["routes"], wanted - result["routes"]
    # About a quarter of the requests are answered to a scoped user, each with dozens of codes.
    assert stats["scoped answers"] > requests / 5 and stats["codes checked"] > 20 * requests


def check_covering(result, world: World) -> None:
    """The sample asked every route of ``requests_for`` as every user (so as every role)."""
    check(result, covering_size(world))
    templates = {(method, template) for template, method, _, _ in requests_for(world, "11", random.Random(0))}
    wanted = {(name, method, template) for name in USERS for method, template in templates}
    assert wanted <= result["asked_by"], sorted(wanted - result["asked_by"])[:20]


@pytest.mark.parametrize("seed", [1404], ids=lambda seed: f"sample-every-route-by-every-user-seed{seed}")
def test_scoping_matrix_on_the_geopackage(demo, seed):
    store = str(demo["store"].path)
    tokens = matrix_tokens(store)
    app = create_app(Settings(store=store, prepare_tiles=False))
    world = World(demo["layers"])
    check_covering(run_matrix(app, world, tokens, covering_walk(world, random.Random(seed))), world)


@pytest.fixture(scope="module")
def matrix_postgis(demo, postgis_url, tmp_path_factory):
    """The national demo in a PostGIS database of this module's own (the sample and the full
    matrix's parts share it, one per worker); the URL of the service's own role."""
    from store.postgis import PostGISStore
    from tests.conftest import postgis_demo_database, service_role_url

    owner = postgis_demo_database(tmp_path_factory, demo, postgis_url, "scoping")
    store = PostGISStore(owner)
    yield service_role_url(owner)
    store.drop_all()
    store.engine.dispose()


@pytest.fixture(scope="module")
def postgis_service(matrix_postgis):
    """The service on it as its own role (row-level security holds it to the user's provinces),
    started once for the module, so that the parts share its caches as one walk did; and the
    matrix users' tokens."""
    tokens = matrix_tokens(matrix_postgis)
    with TestClient(create_app(Settings(store=matrix_postgis, prepare_tiles=False))) as client:
        yield client.app, tokens


@pytest.mark.postgis
@pytest.mark.parametrize("seed", [1403], ids=lambda seed: f"sample-every-route-by-every-user-seed{seed}")
def test_scoping_matrix_on_postgis(demo, postgis_service, seed):
    app, tokens = postgis_service
    world = World(demo["layers"])
    check_covering(run_matrix(app, world, tokens, covering_walk(world, random.Random(seed))), world)


@pytest.mark.postgis
@pytest.mark.full_matrix
@pytest.mark.parametrize(
    "part",
    range(PARTS),
    ids=lambda part: f"full-{REQUESTS}-requests-part{part + 1}of{PARTS}-seed{1403 + part}",
)
def test_full_scoping_matrix_on_postgis(demo, postgis_service, part):
    """The full matrix: REQUESTS requests on PostGIS, the sample's (every route by every user, the
    test above) and the rest randomized, in PARTS parts (seeds 1403, 1404, ...); each part
    exercises every route and finds no leak."""
    app, tokens = postgis_service
    world = World(demo["layers"])
    n = -(-(REQUESTS - covering_size(world)) // PARTS)
    check(run_matrix(app, world, tokens, random_walk(world, n, random.Random(1403 + part))), n)


def test_public_data_is_aggregates_only(demo, demo_tokens):
    app = create_app(Settings(store=str(demo["store"].path), prepare_tiles=False))
    client = TestClient(app, raise_server_exceptions=False)
    data = client.get("/maps/data/public.json").json()
    assert len(data["counties"]["features"]) == 448 and len(data["provinces"]["features"]) == 31
    text = json.dumps(data)
    assert "licence_no" not in text and "SYN-" not in text
    geometry_types = {f["geometry"]["type"] for f in data["counties"]["features"]}
    assert geometry_types <= {"Polygon", "MultiPolygon"}
    page = client.get("/maps/public")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    assert client.get("/maps/public?lang=en").text.count('dir="ltr"') == 1
