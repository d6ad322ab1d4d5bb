"""One and two server processes on one PostGIS store (issue #27): throughput, latency and memory
of ``amayesh serve --workers 1`` against ``--workers 2``.

Run:  .venv/bin/python bench/bench_workers.py --store postgresql://…  [--seconds 15]
          [--connections 1 4 20] [--client wrk|python] [--out bench/results/workers.json]
      .venv/bin/python bench/bench_workers.py --build-into postgresql://…/empty_database

``--store`` is a PostGIS store that holds the national demo already (or any world); with
``--build-into`` instead the bench first builds the national demo into that database (it must
hold no layers) with ``amayesh build-demo``, as the README documents, about a minute.

Both servers are started on the same store, as a user starts them (``python -m cli serve``, the
admin's API token of ``bench/server.py``), and kept up side by side: an idle server costs memory,
not CPU. Each worker process of each server is warmed outside the timings on a connection of its
own (its layers loaded, its analysis computed, its low-zoom tiles prepared). Then for every
number of connections and every scenario the two servers are measured back to back, alternating
which goes first, so that a change in the machine's load (others share its two cores) falls on
both. The scenarios, each a fixed list of requests cycled by wrk (or an asyncio client):

* ``light_read``: ``GET /collections/ngos/items?limit=50&province=P`` over every province;
* ``licence_check``: ``POST /licence-checks`` at random settlements, services and capacities;
* ``mixed``: half light reads, a quarter licence checks, a quarter pages of 100 settlements at
  random offsets, shuffled.

Reported per server and scenario: requests per second, median and p95 latency, non-2xx answers
and the CPU seconds the server's processes used; per scenario the ratio 2 workers / 1 worker of
each; per server the resident memory (psutil: the sum over the server process and its workers)
after the warm-up and after the load; the load average before and after. Only loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_http import drive, summarise  # noqa: E402
from bench.server import admin_headers, serving  # noqa: E402
from geo.schema import DEFAULT_SERVICE_TYPES  # noqa: E402

SERVICES = list(DEFAULT_SERVICE_TYPES)
SCENARIOS = ("light_read", "licence_check", "mixed")
Request = tuple[str, str, dict | None]
#: what a worker is asked first, before any timing: its layers loaded and its analysis computed
#: (then the first request of each scenario, see ``warm_requests``)
FIRST: Request = ("GET", "/collections/flags/items?limit=1", None)


def is_postgis(url: str) -> bool:
    return url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def build_demo(url: str) -> None:
    """The national demo built into the empty PostGIS database ``url`` (``amayesh build-demo``)."""
    from store import open_store

    if open_store(url).list_layers():
        raise SystemExit(f"{url} holds layers already: pass it as --store")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "cli", "--store", url, "build-demo", "--no-shapefiles"]
        cmd += ["--match-report", str(Path(tmp) / "match.csv")]
        subprocess.run(cmd, cwd=ROOT, check=True)


def request_lists(store: str, seed: int = 7) -> dict[str, list[Request]]:
    """The requests of each scenario, the same for both servers."""
    from store import open_store

    settlements = open_store(store).read_layer("settlements")
    rng = random.Random(seed)
    provinces = sorted(settlements["province_code"].unique())
    light: list[Request] = [
        ("GET", f"/collections/ngos/items?limit=50&province={p}", None) for p in provinces
    ]
    # A licence check refuses a point outside every county (400): a few settlements lie in the gaps
    # between the counties' boundaries, and are left out here.
    counties = open_store(store).read_layer("counties")[["geometry"]]
    inside = settlements[["geometry"]].sjoin(counties, predicate="within").index.unique()
    settlements = settlements.loc[inside]
    places = settlements.sample(min(1000, len(settlements)), random_state=seed).geometry
    checks: list[Request] = [
        (
            "POST",
            "/licence-checks",
            {"lon": p.x, "lat": p.y, "service_type": rng.choice(SERVICES), "capacity": rng.randint(10, 100)},
        )
        for p in places
    ]
    pages: list[Request] = [
        (
            "GET",
            f"/collections/settlements/items?limit=100&offset={rng.randrange(max(1, len(settlements) - 100))}",
            None,
        )
        for _ in range(250)
    ]
    mixed = [rng.choice(light) for _ in range(500)] + rng.sample(checks, min(250, len(checks))) + pages
    rng.shuffle(mixed)
    return {"light_read": light, "licence_check": checks, "mixed": mixed}


# ---- the server's processes -------------------------------------------------------------------


def workers_of(server: psutil.Process, expected: int, timeout: float = 60) -> list[psutil.Process]:
    """The processes that answer requests: the server itself with one worker, else the worker
    processes uvicorn spawned (not multiprocessing's resource tracker)."""
    if expected == 1:
        return [server]
    deadline = time.monotonic() + timeout
    while True:
        found = [p for p in server.children() if any("spawn_main" in part for part in p.cmdline())]
        if len(found) >= expected:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"uvicorn started {len(found)} workers, not {expected}")
        time.sleep(0.2)


def tree(server: psutil.Process) -> list[psutil.Process]:
    return [server, *server.children(recursive=True)]


def memory(server: psutil.Process) -> dict:
    """Resident memory of the server's processes (MB): the sum, and each process's."""
    each = {}
    for p in tree(server):
        try:
            each[p.pid] = p.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return {"rss_mb": sum(each.values()), "processes": len(each), "rss_mb_each": sorted(each.values())}


def cpu_seconds(server: psutil.Process) -> float:
    total = 0.0
    for p in tree(server):
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def warm_requests(requests: dict[str, list[Request]]) -> list[Request]:
    pages = [r for r in requests["mixed"] if "/settlements/" in r[1]]
    return [FIRST, *(requests[name][0] for name in SCENARIOS), *pages[:1]]


def warm(base: str, headers: dict[str, str], workers: list[psutil.Process], asks: list[Request]) -> None:
    """Warm every worker on a connection it accepted: keep-alive connections are opened until
    each worker holds one (seen from its sockets), then each asks ``asks`` and waits
    for its low-zoom tiles."""
    host, port = base.removeprefix("http://").split(":")
    owner: dict[int, http.client.HTTPConnection] = {}
    opened = []
    try:
        for _ in range(100):
            conn = http.client.HTTPConnection(host, int(port), timeout=600)
            opened.append(conn)
            conn.request("GET", "/conformance", headers=headers)
            conn.getresponse().read()
            local = conn.sock.getsockname()[1]
            for w in workers:
                if w.pid not in owner and any(
                    c.raddr and c.raddr.port == local for c in w.net_connections(kind="tcp")
                ):
                    owner[w.pid] = conn
            if len(owner) == len(workers):
                break
        else:
            raise SystemExit(f"only {len(owner)} of {len(workers)} workers accepted a connection")
        # At once, one thread per worker: uvicorn closes a connection idle for 5 s.
        with ThreadPoolExecutor(len(owner)) as pool:
            list(pool.map(lambda conn: warm_one(conn, headers, asks), owner.values()))
    finally:
        for conn in opened:
            conn.close()


def warm_one(conn: http.client.HTTPConnection, headers: dict[str, str], asks: list[Request]) -> None:
    for method, path, body in asks:
        ask(conn, method, path, headers, body)
    deadline = time.monotonic() + 600
    while not json.loads(ask(conn, "GET", "/", headers))["tiles_prepared"]:
        if time.monotonic() > deadline:
            raise SystemExit("a worker did not prepare its tiles")
        time.sleep(1)


def ask(conn: http.client.HTTPConnection, method: str, path: str, headers: dict, body=None) -> bytes:
    h = {**headers, "Accept": "application/json"}
    data = None
    if body is not None:
        h["Content-Type"] = "application/json"
        data = json.dumps(body)
    conn.request(method, path, body=data, headers=h)
    response = conn.getresponse()
    content = response.read()
    if response.status != 200:
        raise SystemExit(f"warm-up {method} {path}: {response.status} {content[:300]!r}")
    return content


# ---- the load ---------------------------------------------------------------------------------


def run_wrk(base: str, requests: list[Request], connections: int, seconds: int, headers: dict) -> dict:
    """wrk with one thread (the load generator shares the cores), cycling ``requests``."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        for method, url, body in requests:
            fh.write(f"{method} {url} {json.dumps(body) if body else ''}\n")
    wrk = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    try:
        out = subprocess.run(
            [*wrk, "-s", str(ROOT / "bench" / "wrk_requests.lua"), base],
            capture_output=True,
            text=True,
            check=True,
            env={"REQUESTS": fh.name, "AUTHORIZATION": headers["Authorization"], "PATH": "/usr/bin:/bin"},
        )
    finally:
        Path(fh.name).unlink()
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_python(base: str, requests: list[Request], connections: int, seconds: int, headers: dict) -> dict:
    """The asyncio httpx client of bench_http, for ``seconds``, cycling ``requests``."""
    many = requests * (200_000 // len(requests) + 1)
    out = summarise("", *asyncio.run(drive(base, many, connections, seconds, headers)))
    return {k: out[k] for k in ("requests", "errors", "median_ms", "p95_ms", "max_ms", "throughput_rps")}


def measure(client: str, base, server, requests, connections, seconds, headers) -> dict:
    cpu = cpu_seconds(server)
    run = run_wrk if client == "wrk" else run_python
    figures = run(base, requests, connections, seconds, headers)
    figures["server_cpu_s"] = cpu_seconds(server) - cpu
    return figures


def ratios(one: dict, two: dict) -> dict:
    return {
        "throughput": two["throughput_rps"] / one["throughput_rps"],
        "median": two["median_ms"] / one["median_ms"],
        "p95": two["p95_ms"] / one["p95_ms"],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", help="a PostGIS store holding the national demo (or any world)")
    where.add_argument(
        "--build-into", help="an empty PostGIS database: build the national demo into it first"
    )
    parser.add_argument("--seconds", type=int, default=15, help="duration of each measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4, 20])
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator: wrk (Debian package, C) or an asyncio httpx client",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "workers.json")
    args = parser.parse_args()

    store = args.store or args.build_into
    if not is_postgis(store):
        raise SystemExit("more than one server process needs a PostGIS store (postgresql://…)")
    if args.build_into:
        build_demo(args.build_into)
    from store import open_store

    layers = open_store(store).layer_counts()
    requests = request_lists(store)
    headers = admin_headers(store)
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    servers: dict[int, dict] = {}
    with ExitStack() as stack:
        for n in (1, 2):
            base, proc = stack.enter_context(serving(store, n))
            process = psutil.Process(proc.pid)
            workers = workers_of(process, n)
            t = time.perf_counter()
            warm(base, headers, workers, warm_requests(requests))
            servers[n] = {
                "base": base,
                "process": process,
                "figures": {
                    "workers": n,
                    "worker_pids": [w.pid for w in workers],
                    "warm_s": time.perf_counter() - t,
                    "memory_after_warm": memory(process),
                    "scenarios": {},
                },
            }
            print(f"{n} worker(s) warm in {servers[n]['figures']['warm_s']:.1f} s", flush=True)
        comparison: dict[str, dict] = {}
        turn = 0
        for c in args.connections:
            for name in SCENARIOS:
                order = (1, 2) if turn % 2 == 0 else (2, 1)
                turn += 1
                for n in order:
                    s = servers[n]
                    figures = measure(
                        args.client, s["base"], s["process"], requests[name], c, args.seconds, headers
                    )
                    s["figures"]["scenarios"][f"{name}_c{c}"] = figures
                    print(f"{n} worker(s) {name} c={c}: {json.dumps(figures)}", flush=True)
                key = f"{name}_c{c}"
                comparison[key] = ratios(
                    servers[1]["figures"]["scenarios"][key], servers[2]["figures"]["scenarios"][key]
                )
        for s in servers.values():
            s["figures"]["memory_after_load"] = memory(s["process"])
    load_after = os.getloadavg()
    summary = {
        "date": started.isoformat(timespec="seconds"),
        "store": "PostGIS",
        "layers": layers,
        "cpu_count": os.cpu_count(),
        "client": args.client,
        "seconds": args.seconds,
        "connections": args.connections,
        "scenarios": list(SCENARIOS),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "one_worker": servers[1]["figures"],
        "two_workers": servers[2]["figures"],
        "ratio_two_to_one": comparison,
        "memory_ratio_after_load": servers[2]["figures"]["memory_after_load"]["rss_mb"]
        / servers[1]["figures"]["memory_after_load"]["rss_mb"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["ratio_two_to_one"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
