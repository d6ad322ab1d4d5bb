"""Latency and throughput of the HTTP API under concurrent load from a second process.

Run:  .venv/bin/python bench/bench_http.py [--store var/amayesh.gpkg] [--connections 20] [--requests 3000]
      [--seconds 20] [--client wrk|python] [--out bench/results/http.json]

Starts the service on 127.0.0.1 (a child process, one uvicorn worker unless --workers), warms
it, then drives each scenario from this process with N concurrent connections, a bounded number
of requests and a time limit. Reports median, p95 and throughput per scenario and writes
bench/results/http.json (``--out``). Only loopback addresses are used.

Two scenarios measure the HTTP overhead against a peer of the same run (issue #27):
``/health`` driven exactly as the items page (same client, connections and seconds) gives
``items_p95_over_health_p95`` (the first pass after the start, features serialised as pages
first ask for them) and ``items_again_p95_over_health_p95`` (the same pages again); and the licence checks sent one after another on one keep-alive
connection by a python client, which reads each answer's ``Server-Timing: check;dur=<ms>`` (the
check's own time in the server), give ``overhead_median_ms``, the median over requests of the
HTTP latency less the check's time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server import running  # noqa: E402
from geo.schema import DEFAULT_SERVICE_TYPES  # noqa: E402


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


async def drive(
    base: str,
    requests: list[tuple[str, str, dict | None]],
    connections: int,
    limit_s: float,
    headers: dict[str, str],
):
    """Send the requests over ``connections`` concurrent connections; latencies in seconds."""
    queue: asyncio.Queue = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    latencies: list[float] = []
    errors = 0
    bytes_in = []
    deadline = time.perf_counter() + limit_s
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers=headers) as client:

        async def worker():
            nonlocal errors
            while time.perf_counter() < deadline:
                try:
                    method, url, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                response = await client.request(method, url, json=body)
                latencies.append(time.perf_counter() - t)
                bytes_in.append(len(response.content))
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed, bytes_in


def summarise(name: str, latencies, errors, elapsed, bytes_in) -> dict:
    ms = np.array(latencies) * 1000
    return {
        "scenario": name,
        "requests": len(ms),
        "errors": errors,
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "throughput_rps": len(ms) / elapsed,
        "largest_response_kb": max(bytes_in) / 1024,
    }


def sequential(base: str, requests, limit_s: float, headers: dict[str, str]) -> dict:
    """Send ``requests`` one after another on one keep-alive connection (at most ``limit_s``
    seconds); the HTTP latency of each beside the check's own time its ``Server-Timing`` reports."""
    latencies, checks, bytes_in = [], [], []
    errors = 0
    refused: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        started = time.perf_counter()
        deadline = started + limit_s
        for method, url, body in requests:
            if time.perf_counter() > deadline:
                break
            t = time.perf_counter()
            response = client.request(method, url, json=body)
            latency = time.perf_counter() - t
            if response.status_code != 200:
                errors += 1
                code = f"{response.status_code} {response.json().get('code', '')}".strip()
                refused[code] = refused.get(code, 0) + 1
                continue
            timing = response.headers.get("server-timing", "")
            name, _, dur = timing.partition(";dur=")
            if name != "check":
                raise SystemExit(f"{url}: no Server-Timing check;dur=… in the answer ({timing!r})")
            latencies.append(latency)
            checks.append(float(dur) / 1000)
            bytes_in.append(len(response.content))
        elapsed = time.perf_counter() - started
    out = summarise("", latencies, errors, elapsed, bytes_in)
    check_ms, http_ms = np.array(checks) * 1000, np.array(latencies) * 1000
    return {
        **{k: v for k, v in out.items() if k != "scenario"},
        "check_median_ms": float(np.median(check_ms)),
        "check_p95_ms": float(np.percentile(check_ms, 95)),
        "overhead_median_ms": float(np.median(http_ms - check_ms)),
        "overhead_p95_ms": float(np.percentile(http_ms - check_ms, 95)),
        "error_statuses": refused,  # status and problem code -> answers, left out of the figures
    }


#: the tiled layers the map pages draw, and the zooms they use (issue #27: z3-z12)
PAGE_TILES = ("settlements", "settlement-access", "ngos", "counties")
PAGE_ZOOMS = range(3, 13)


def cold_tiles(base: str, places, headers: dict[str, str], per_zoom: int, rng: random.Random) -> dict:
    """Each layer's tiles at each zoom the pages use, asked once each and one at a time on one
    connection (no queue behind other requests), at distinct tiles over settlements: per layer and
    zoom, the median and p95 of the latency (ms). The service has prepared its low-zoom tiles
    (``bench.server.running`` waits for them), as it does after every start."""
    by_layer: dict[str, dict[str, dict]] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for layer in PAGE_TILES:
            by_layer[layer] = {}
            for z in PAGE_ZOOMS:
                tiles = list(dict.fromkeys(tile_of(p.x, p.y, z) for p in places.geometry))
                rng.shuffle(tiles)
                latencies = []
                for t in tiles[:per_zoom]:
                    started = time.perf_counter()
                    response = client.get("/tiles/{}/{}/{}/{}.mvt".format(layer, *t))
                    latencies.append(1000 * (time.perf_counter() - started))
                    if response.status_code not in (200, 204):
                        raise SystemExit(f"tile {layer} {t}: {response.status_code}")
                by_layer[layer][str(z)] = {
                    "tiles": len(latencies),
                    "median_ms": float(np.median(latencies)),
                    "p95_ms": float(np.percentile(latencies, 95)),
                }
    return by_layer


def run_wrk(base: str, requests, connections: int, seconds: int, headers: dict[str, str]) -> dict:
    """Drive ``requests`` (cycled) with wrk for ``seconds``; its Lua script prints the summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        for method, url, body in requests:
            fh.write(f"{method} {url} {json.dumps(body) if body else ''}\n")
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(ROOT / "bench" / "wrk_requests.lua"),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"REQUESTS": fh.name, "AUTHORIZATION": headers["Authorization"], "PATH": "/usr/bin:/bin"},
    )
    Path(fh.name).unlink()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator: wrk (Debian package, C) or an asyncio httpx client",
    )
    parser.add_argument("--seconds", type=int, default=20, help="duration of each wrk scenario")
    parser.add_argument(
        "--tiles-per-zoom", type=int, default=40, help="distinct cold tiles per layer and zoom, one at a time"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "http.json")
    args = parser.parse_args()

    with running(args.store, args.workers) as (base, headers):
        from store import open_store

        settlements = open_store(args.store).read_layer("settlements")
        rng = random.Random(7)
        # Warm every worker: snapshot, analysis, serialised features.
        for _ in range(4 * args.workers):
            httpx.get(base + "/collections/settlements/items?limit=1", headers=headers, timeout=300)
            httpx.get(base + "/collections/ngos/items?limit=1", headers=headers, timeout=300)
            httpx.post(
                base + "/licence-checks",
                json={"lon": 51.4, "lat": 35.7, "service_type": "kindergarten", "capacity": 30},
                headers=headers,
                timeout=300,
            )

        n = args.requests
        matched = httpx.get(base + "/collections/settlements/items?limit=1", headers=headers).json()[
            "numberMatched"
        ]
        items = [
            (
                "GET",
                f"/collections/settlements/items?limit=100&offset={rng.randrange(0, max(1, matched - 100))}",
                None,
            )
            for _ in range(n // 2)
        ]
        provinces = sorted(settlements["province_code"].unique())
        items += [
            ("GET", f"/collections/ngos/items?limit=100&province={rng.choice(provinces)}&status=active", None)
            for _ in range(n - n // 2)
        ]
        rng.shuffle(items)

        places = settlements.sample(min(600, len(settlements)), random_state=7)
        tile_urls = [
            "/tiles/settlements/{}/{}/{}.mvt".format(*tile_of(p.x, p.y, rng.randint(6, 12)))
            for p in places.geometry
        ]
        cold = [("GET", u, None) for u in dict.fromkeys(tile_urls)]
        warm = [("GET", rng.choice(tile_urls), None) for _ in range(n)]
        services = list(DEFAULT_SERVICE_TYPES)  # the default catalogue's (the demo's)
        checks = [
            (
                "POST",
                "/licence-checks",
                {
                    "lon": p.x,
                    "lat": p.y,
                    "service_type": rng.choice(services),
                    "capacity": rng.randint(10, 100),
                },
            )
            for p in settlements.sample(min(n, 1000, len(settlements)), random_state=8).geometry
        ]

        health = [("GET", "/health", None)] * n

        results = []
        for name, reqs in (
            # the first pass after the start: each page's features are serialised as it first asks
            # for them (the list is cycled: later requests find them made)
            ("items page of 100 features", items),
            # driven as the items page, right after it, in the same run
            ("/health, the peer of the items page", health),
            # the same pages again: every feature made
            ("items page of 100 features, again", items),
            ("settlement tiles z6-z12, first request of each tile", cold),
            ("settlement tiles z6-z12, repeated", warm),
            ("licence check", checks),
        ):
            if args.client == "wrk" and "first request" not in name:
                results.append(
                    {"scenario": name, **run_wrk(base, reqs, args.connections, args.seconds, headers)}
                )
            else:
                out = asyncio.run(drive(base, reqs, args.connections, 120, headers))
                results.append(summarise(name, *out))
            print(json.dumps(results[-1]))
        # The check's overhead over HTTP: one connection, one request at a time (a python client,
        # as wrk cannot read each answer's Server-Timing), the same places and services.
        results.append(
            {"scenario": "licence check, one connection", **sequential(base, checks, args.seconds, headers)}
        )
        print(json.dumps(results[-1]))
        # Cold tiles one at a time, per layer and zoom, after the scenarios above: the repeated
        # tile scenario asked settlement tiles z6-z12 only, at other places.
        tiles = cold_tiles(
            base,
            settlements.sample(min(2000, len(settlements)), random_state=9),
            headers,
            args.tiles_per_zoom,
            rng,
        )
        worst = max(z["p95_ms"] for zooms in tiles.values() for z in zooms.values())
        print(json.dumps({"cold tiles, worst p95 ms of a layer and zoom": worst}))
        by_name = {r["scenario"]: r for r in results}
        summary = {
            "connections": args.connections,
            "workers": args.workers,
            "client": args.client,
            # issue #27's goals: ≤ 2 and ≤ 10 ms
            "items_p95_over_health_p95": by_name["items page of 100 features"]["p95_ms"]
            / by_name["/health, the peer of the items page"]["p95_ms"],
            "items_again_p95_over_health_p95": by_name["items page of 100 features, again"]["p95_ms"]
            / by_name["/health, the peer of the items page"]["p95_ms"],
            "licence_overhead_median_ms": by_name["licence check, one connection"]["overhead_median_ms"],
            # and ≤ 30 ms at every zoom the pages use
            "cold_tiles_worst_p95_ms": worst,
            "cold_tiles_one_at_a_time": tiles,
            "scenarios": results,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
