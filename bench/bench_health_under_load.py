"""Does the service keep answering ``GET /health`` while an export, an import and 20 heavy
requests run?

On a copy of a store (the import replaces its NGO layer with the same rows, so the server
reloads), with the server as a user starts it: one XLSX export of every settlement, one
``amayesh import`` in a separate process, and 20 heavy requests at once (priorities with
different weights, saturation and flag downloads, settlement pages, priority map pages), while
``/health`` is asked every 50 ms. Writes ``bench/results/health_under_load.json`` (``--out``).

    .venv/bin/python bench/bench_health_under_load.py [--store var/amayesh.gpkg] [--heavy 20]
        [--out bench/results/health_under_load.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server import running  # noqa: E402


def heavy_requests(store: str, n: int) -> list[str]:
    """``n`` heavy requests: analysis with varying parameters, downloads and map pages."""
    from store import open_store

    s = open_store(store)
    provinces = sorted(s.read_layer("provinces")["province_code"])
    villages = s.read_layer("settlements")
    codes = villages.loc[villages["kind"] == "village", "settlement_code"].head(50).tolist()
    out = []
    for i in range(n):
        p = provinces[i % len(provinces)]
        kind = i % 5
        if kind == 0:
            w = 0.1 + 0.05 * (i % 7)
            out.append(f"/priorities?province={p}&weights=need:{w:.2f},gap:0.3,distance:0.2&top=200")
        elif kind == 1:
            out.append(f"/saturation?province={p}&f=csv")
        elif kind == 2:
            out.append(f"/settlements/{codes[i % len(codes)]}")
        elif kind == 3:
            out.append(f"/collections/flags/items?province={p}&f=geojson")
        else:
            out.append(f"/maps/priorities?province={p}&lang=en&weights=need:0.{i % 9 + 1},gap:0.2")
    return out


async def measure(
    base: str, store: str, heavy: list[str], interval: float = 0.05, headers: dict | None = None
) -> dict:
    health: list[float] = []
    statuses: dict[str, int] = {}
    done = asyncio.Event()

    async def poll() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while not done.is_set():
                started = time.perf_counter()
                r = await client.get("/health")
                health.append(time.perf_counter() - started)
                assert r.status_code == 200
                await asyncio.sleep(interval)

    async def fetch(client: httpx.AsyncClient, url: str) -> tuple[str, int, float]:
        started = time.perf_counter()
        r = await client.get(url)
        if r.status_code in (429, 503):
            assert r.headers.get("retry-after"), url
        return url, r.status_code, time.perf_counter() - started

    async def load() -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            ngos_csv = Path(tmp) / "ngos.csv"
            subprocess.run(
                [sys.executable, "-m", "cli", "--store", store, "export", "ngos", str(ngos_csv)],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(
                base_url=base, timeout=600, limits=limits, headers=headers or {}
            ) as client:
                started = time.perf_counter()
                importer = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "cli",
                    "--store",
                    store,
                    "import",
                    "ngos",
                    str(ngos_csv),
                    cwd=ROOT,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                export = fetch(client, "/collections/settlements/items?f=xlsx")
                results = await asyncio.gather(export, *(fetch(client, u) for u in heavy))
                import_code = await importer.wait()
                elapsed = time.perf_counter() - started
        for url, code, _ in results:
            statuses[str(code)] = statuses.get(str(code), 0) + 1
            if code not in (200, 429, 503):
                raise SystemExit(f"{url} answered {code}")
        return {
            "import_exit": import_code,
            "export_seconds": round(results[0][2], 2),
            "export_status": results[0][1],
            "heavy_seconds_max": round(max(r[2] for r in results[1:]), 2),
            "load_seconds": round(elapsed, 2),
        }

    poller = asyncio.create_task(poll())
    await asyncio.sleep(0.3)
    figures = await load()
    await asyncio.sleep(0.3)
    done.set()
    await poller
    health_ms = sorted(h * 1000 for h in health)
    return {
        **figures,
        "heavy_requests": len(heavy),
        "statuses": statuses,
        "health_requests": len(health_ms),
        "health_ms_median": round(statistics.median(health_ms), 1),
        "health_ms_p95": round(health_ms[int(0.95 * (len(health_ms) - 1))], 1),
        "health_ms_max": round(health_ms[-1], 1),
    }


def run(store: str, n_heavy: int = 20, prepare_tiles: bool = True) -> dict:
    """Copy ``store`` (a GeoPackage), serve the copy, load it; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "load.gpkg"
        shutil.copyfile(store, copy)
        heavy = heavy_requests(str(copy), n_heavy)
        with running(str(copy)) as (base, headers):
            return asyncio.run(measure(base, str(copy), heavy, headers=headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--heavy", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "health_under_load.json")
    args = parser.parse_args()
    figures = run(args.store, args.heavy)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
