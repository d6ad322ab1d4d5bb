"""More than one server process on one PostGIS store (issue #27): a change made through one
process is seen by every other at its next request.

Each process holds its own copy of the layers and of the analysis in memory and checks the
store's version (its commit counter) on every request. Two real servers (``python -m cli serve``
on two free ports) share the small hand-built world in PostGIS, connected as the service's own
database role, the second with ``--workers 2`` (two worker processes on one port, both shown
answering); real users call them over HTTP: an import confirmed through one, a licence decision
made through one and a session or token revoked are seen by the other at its next request.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, TEST_PASSWORD, TEST_USERS, bearer, free_port, make_users, service_role_url
from tests.test_imports_http import registry, row, wait

# Three servers start for the module (about 15 s of CPU): left out of make test-fast, as the
# other tests that run or kill processes of the service are.
pytestmark = [pytest.mark.postgis, pytest.mark.processes]

#: the city the imported NGO is placed at (by its name), in county اراک of the small world
KAMIJAN = "0001000002"
#: a point inside county 0001 of the small world, for a licence application
POINT = {"lon": 49.7, "lat": 34.3}
START_SECONDS = 60
TIMEOUT = httpx.Timeout(60)


@contextlib.contextmanager
def serving(store_url: str, tmp: Path, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen]]:
    """``amayesh serve`` on a free port of 127.0.0.1, as a user starts it; stopped on the way out."""
    port = free_port()
    env = {
        **os.environ,
        "AMAYESH_PREPARE_TILES": "false",
        "AMAYESH_IMPORTS_DIR": str(tmp / f"imports-{port}"),
        "AMAYESH_VERSIONS_DIR": str(tmp / f"versions-{port}"),
    }
    command = [sys.executable, "-m", "cli", "--store", store_url, "serve", "--port", str(port), "--quiet"]
    log = (tmp / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [*command, "--workers", str(workers)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def wait_until_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            httpx.get(base + "/conformance", timeout=2)
            return
        except httpx.TransportError:
            assert proc.poll() is None, f"the server at {base} stopped"
            assert time.monotonic() < deadline, f"the server at {base} did not start"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def world(postgis_url) -> Iterator[dict]:
    """The small world in PostGIS, the URL of the service's role, and a token per test user."""
    from store.postgis import PostGISStore
    from tests import small_world
    from tests.conftest import module_database

    postgis_url = module_database(postgis_url, "workers")
    store = PostGISStore(postgis_url)
    store.drop_all()
    small_world.write(store)
    try:
        yield {"url": service_role_url(postgis_url), "tokens": make_users(postgis_url), "owner": postgis_url}
    finally:
        store.drop_all()
        store.engine.dispose()


@pytest.fixture(scope="module")
def servers(world, tmp_path_factory) -> Iterator[dict]:
    """Two servers on the same store, started at once: A (one process) and B (``--workers 2``)."""
    tmp = tmp_path_factory.mktemp("workers")
    with serving(world["url"], tmp) as (a, proc_a), serving(world["url"], tmp, workers=2) as (b, proc_b):
        wait_until_up(a, proc_a)
        wait_until_up(b, proc_b)
        yield {"a": a, "b": b, "b_proc": proc_b}


@pytest.fixture(scope="module")
def two(world, servers) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """A client of A and one of B, each signed in as the admin (an API token)."""
    admin = bearer(world["tokens"]["admin"])
    with (
        httpx.Client(base_url=servers["a"], headers=admin, timeout=TIMEOUT) as a,
        httpx.Client(base_url=servers["b"], headers=admin, timeout=TIMEOUT) as b,
    ):
        yield a, b


def ngo_count(client: httpx.Client) -> int:
    r = client.get("/collections/ngos/items?limit=1")
    assert r.status_code == 200, r.text
    return r.json()["numberMatched"]


def nearest_rehabilitation(client: httpx.Client) -> str | None:
    r = client.get(f"/settlements/{KAMIJAN}")
    assert r.status_code == 200, r.text
    nearest = r.json()["services"]["rehabilitation"]["nearest_ngo"]
    return nearest and nearest["licence_no"]


def test_an_import_confirmed_through_one_process_is_seen_by_the_other(two):
    a, b = two
    before, nearest = ngo_count(b), nearest_rehabilitation(b)  # B holds its snapshot and analysis
    assert nearest != "W-1"
    content = registry([row("W-1", "مرکز کمیجان", "اراک", "کمیجان")])  # rehabilitation, placed by name
    made = a.post("/imports?layer=ngos", files={"file": ("registry.xlsx", content)})
    assert made.status_code == 202, made.text
    job = wait(a, made.json()["id"])  # type: ignore[arg-type]  (an httpx client serves as well)
    assert job["can_confirm"], job["rejected_rows"]
    done = a.post(f"/imports/{job['id']}/confirm")
    assert done.status_code == 200, done.text
    # B's very next requests: the new NGO, and the analysis computed with it.
    assert ngo_count(b) == before + 1
    assert b.get("/collections/ngos/items/W-1").status_code == 200
    assert nearest_rehabilitation(b) == "W-1"


def test_a_licence_decision_made_through_one_process_is_seen_by_the_other(two):
    a, b = two
    body = {"applicant": "انجمن نمونه", "service_type": "home_care", "capacity": 30, **POINT}
    made = a.post("/licence-applications", json=body)
    assert made.status_code == 201, made.text
    aid = made.json()["application_id"]
    url = f"/licence-applications/{aid}"
    seen = b.get(url)
    assert seen.status_code == 200 and seen.headers["etag"] == f'"{aid}.v1"'
    checked = a.post(f"{url}/check", headers={"If-Match": f'"{aid}.v1"'})
    assert checked.status_code == 200, checked.text
    seen = b.get(url)
    assert seen.json()["status"] == "checked" and seen.headers["etag"] == f'"{aid}.v2"'
    # B refuses an edit from the ETag it handed out before A's check.
    assert b.patch(url, json={"capacity": 31}, headers={"If-Match": f'"{aid}.v1"'}).status_code == 412
    before = ngo_count(b)
    decided = a.post(
        f"{url}/decision",
        json={"decision": "approved", "reason": "needed here"},
        headers={"If-Match": checked.headers["etag"]},
    )
    assert decided.status_code == 200, decided.text
    seen = b.get(url)
    assert seen.json()["status"] == "approved" and seen.headers["etag"] == f'"{aid}.v3"'
    # Approval adds the licence to the NGO layer: B's next request has it.
    assert ngo_count(b) == before + 1
    licence = b.get(f"/collections/ngos/items/LIC-{aid}")
    assert licence.status_code == 200 and licence.json()["properties"]["service_type"] == "home_care"


def test_a_session_or_token_revoked_through_one_process_is_refused_by_the_other(two, world):
    from cli.main import main

    a, b = two
    who = TEST_USERS["planner"][0]
    signed = httpx.post(
        f"{a.base_url}/sign-in",
        data={"username": who, "password": TEST_PASSWORD, "next": "/me"},
        follow_redirects=False,
        timeout=TIMEOUT,
    )
    assert signed.status_code == 303, signed.text
    # The cookie is Secure (https only): sent by hand to the plain-http test servers.
    cookie = {"Cookie": signed.headers["set-cookie"].split(";", 1)[0]}
    with httpx.Client(base_url=str(b.base_url), timeout=TIMEOUT) as browser_b:
        assert browser_b.get("/me", headers=cookie).json()["username"] == who
        ended = a.delete(f"/users/{who}/sessions")
        assert ended.status_code == 200 and ended.json()["ended"] >= 1
        assert browser_b.get("/me", headers=cookie).status_code == 401
        # A token revoked by the command line (there is no HTTP route for it) is refused by both.
        from store.accounts import Accounts

        accounts = Accounts(world["owner"])
        try:
            token_id, token = accounts.issue_token(who, label="workers", days=1, actor="tests")
        finally:
            accounts.close()
        assert browser_b.get("/me", headers=bearer(token)).status_code == 200
        assert main(["--store", world["owner"], "users", "revoke-token", token_id]) == 0
        assert browser_b.get("/me", headers=bearer(token)).status_code == 401
        assert httpx.get(f"{a.base_url}/me", headers=bearer(token), timeout=TIMEOUT).status_code == 401


# ---- --workers 2 on one port ----------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The worker processes uvicorn spawned (not multiprocessing's resource tracker)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"spawn_main" in cmdline:
            out.append(int(entry.name))
    return out


def connected(pid: int, port: int) -> int:
    """How many established connections to ``port`` process ``pid`` holds (its accepted sockets)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


def test_two_workers_on_one_port_both_answer_and_see_each_others_changes(world, servers):
    """B runs ``--workers 2``: two worker processes accept its connections, and a change made on
    a connection to one is seen on a connection to the other."""
    admin = bearer(world["tokens"]["admin"])
    base, proc = servers["b"], servers["b_proc"]
    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + START_SECONDS
    while len(workers := children(proc.pid)) < 2:
        assert time.monotonic() < deadline, "uvicorn did not start two workers"
        time.sleep(0.2)
    assert len(workers) == 2
    # Keep-alive connections, each opened with a request, until both workers hold one.
    clients: list[httpx.Client] = []
    try:
        for _ in range(60):
            client = httpx.Client(base_url=base, headers=admin, timeout=TIMEOUT)
            clients.append(client)
            assert client.get("/conformance").status_code == 200
            if all(connected(pid, port) for pid in workers):
                break
        held = {pid: connected(pid, port) for pid in workers}
        assert all(held.values()), held
        body = {"applicant": "انجمن دو", "service_type": "rehabilitation", "capacity": 20, **POINT}
        made = clients[0].post("/licence-applications", json=body)
        assert made.status_code == 201, made.text
        url = f"/licence-applications/{made.json()['application_id']}"
        for client in clients:
            assert client.get(url).headers["etag"] == made.headers["etag"]
    finally:
        for client in clients:
            client.close()
