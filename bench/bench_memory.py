"""The server's resident memory on a store: after start, the analysis, the tiles and rounds of load.

Run:  .venv/bin/python bench/bench_memory.py [--store var/amayesh.gpkg] [--rounds 5] [--requests 600]
      [--connections 8] [--tolerance-mb 40] [--max-mb 600] [--out bench/results/memory.json]

Starts ``amayesh serve`` (one worker) on the store as a user does (``bench/server.py``) and reads
the server process's resident set (psutil) after each stage:

* ``start``: the service answers (no layers read yet);
* ``analysis``: the first page of the flags collection (reads the layers, computes the analysis
  with the norms' travel, serialises the flags);
* ``tiles``: the low-zoom tiles prepared (the server does that in a thread after each load);
* ``round_1`` … ``round_N``: after each round of the same mixed load (pages of settlements at
  fixed offsets, NGOs by province, flags pages, settlement tiles z6–z12, licence checks, village
  priorities with varied weights), sent by an asyncio httpx client over ``--connections``
  connections.

The first round fills what the load fills (per-parameter caches, tiles made on demand); the later
rounds send the same requests again, so a server that does not leak stays flat. The bench fails
(exit status 1) when the resident set after the last round exceeds that after the first by more
than ``--tolerance-mb``, or when the resident set after the analysis and tiles exceeds
``--max-mb`` (0: not checked). Writes its figures to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server import admin_headers, serving  # noqa: E402
from geo.schema import DEFAULT_SERVICE_TYPES  # noqa: E402

SERVICES = tuple(DEFAULT_SERVICE_TYPES)  # the default catalogue's (the demo's)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def tree_rss_mb(process: psutil.Process) -> float:
    """The resident memory of the server and its children (export workers, the file reader)."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss / 2**20
    return total


def load_requests(store: str, n: int) -> list[tuple[str, str, dict | None]]:
    """A fixed mix of ``n`` requests, the same every round (drawn with fixed seeds)."""
    from store import open_store

    settlements = open_store(store).read_layer("settlements")
    rng = random.Random(27)
    count = len(settlements)
    provinces = sorted(settlements["province_code"].unique())
    places = settlements.sample(min(n, len(settlements)), random_state=27).geometry
    points = [(p.x, p.y) for p in places]
    out: list[tuple[str, str, dict | None]] = []
    for k in range(n):
        kind = k % 6
        lon, lat = points[k % len(points)]
        if kind == 0:
            offset = rng.randrange(0, max(1, count - 100)) if count > 100 else 0
            out.append(("GET", f"/collections/settlements/items?limit=100&offset={offset}", None))
        elif kind == 1:
            province = rng.choice(provinces)
            out.append(("GET", f"/collections/ngos/items?limit=100&province={province}&status=active", None))
        elif kind == 2:
            offset = rng.randrange(0, 2000) if count > 100 else 0
            out.append(("GET", f"/collections/flags/items?limit=50&offset={offset}", None))
        elif kind == 3:
            z, x, y = tile_of(lon, lat, rng.randint(6, 12))
            out.append(("GET", f"/tiles/settlements/{z}/{x}/{y}.mvt", None))
        elif kind == 4:
            body = {
                "lon": lon,
                "lat": lat,
                "service_type": rng.choice(SERVICES),
                "capacity": rng.randint(10, 100),
            }
            out.append(("POST", "/licence-checks", body))
        else:
            province = rng.choice(provinces)
            weights = f"need:{rng.randint(1, 5)},gap:{rng.randint(1, 5)},distance:{rng.randint(1, 5)}"
            out.append(("GET", f"/priorities?province={province}&top=20&weights={weights}", None))
    return out


async def drive(base: str, requests, connections: int, headers: dict[str, str]) -> dict:
    """Send every request once over ``connections`` connections; status counts and seconds."""
    queue: asyncio.Queue = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    statuses: dict[str, int] = {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300, headers=headers) as client:

        async def worker() -> None:
            while True:
                try:
                    method, url, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                response = await client.request(method, url, json=body)
                key = str(response.status_code)
                statuses[key] = statuses.get(key, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
    return {"seconds": time.perf_counter() - started, "statuses": statuses}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the same load")
    parser.add_argument("--requests", type=int, default=600, help="requests per round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--tolerance-mb", type=float, default=40, help="growth allowed from the first round to the last"
    )
    parser.add_argument(
        "--max-mb", type=float, default=600, help="most resident memory after analysis and tiles (0: any)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "memory.json")
    args = parser.parse_args()

    headers = admin_headers(args.store)
    requests = load_requests(args.store, args.requests)
    stages: dict[str, dict] = {}
    with serving(args.store) as (base, server):
        process = psutil.Process(server.pid)

        def record(stage: str, **extra) -> None:
            stages[stage] = {"rss_mb": rss_mb(process), "tree_rss_mb": tree_rss_mb(process), **extra}
            print(json.dumps({stage: stages[stage]}), flush=True)

        record("start")
        t = time.perf_counter()
        httpx.get(base + "/collections/flags/items?limit=1", headers=headers, timeout=600).raise_for_status()
        record("analysis", seconds=time.perf_counter() - t)
        deadline = time.monotonic() + 600
        while not httpx.get(base + "/", headers=headers, timeout=60).json()["tiles_prepared"]:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not prepare its tiles")
            time.sleep(0.5)
        record("tiles", seconds=time.perf_counter() - t)
        for k in range(1, args.rounds + 1):
            outcome = asyncio.run(drive(base, requests, args.connections, headers))
            record(f"round_{k}", **outcome)

    rounds = [stages[f"round_{k}"]["rss_mb"] for k in range(1, args.rounds + 1)]
    growth = rounds[-1] - rounds[0]
    after_tiles = stages["tiles"]["rss_mb"]
    failures = []
    if growth > args.tolerance_mb:
        failures.append(
            f"grew {growth:.0f} MB from the first round to the last (tolerance {args.tolerance_mb:.0f})"
        )
    if args.max_mb and after_tiles > args.max_mb:
        failures.append(f"{after_tiles:.0f} MB after the analysis and tiles (at most {args.max_mb:.0f})")
    errors = sum(
        n
        for k in range(1, args.rounds + 1)
        for s, n in stages[f"round_{k}"]["statuses"].items()
        if s[0] == "5"
    )
    if errors:
        failures.append(f"{errors} answers 5xx under load")
    summary = {
        "store": args.store,
        "rounds": args.rounds,
        "requests_per_round": args.requests,
        "connections": args.connections,
        "stages": stages,
        "rss_mb_after_tiles": after_tiles,
        "rss_mb_after_load": rounds[-1],
        "growth_mb_first_to_last_round": growth,
        "tolerance_mb": args.tolerance_mb,
        "max_mb": args.max_mb,
        "failures": failures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
