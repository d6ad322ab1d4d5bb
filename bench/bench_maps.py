"""The national map page in headless Chromium: load time, bytes transferred, JavaScript heap.

    python bench/bench_maps.py --store var/amayesh.gpkg [--runs 7] [--province 07]
        [--out bench/results/maps.json]

Each run opens the page in a new browser context (empty cache) against a warm server, with
every settlement (vector tiles) and every NGO (clustered in the page) available. It records
- load: from navigation start until the page's data is in and the first view's settlement
  tiles are drawn (``performance.now()`` in the page, see ``data-loaded-ms``);
- bytes: encoded bytes of every response (Chrome DevTools Protocol, Network.loadingFinished);
- heap: JSHeapUsedSize after the load and a garbage collection (Performance.getMetrics).
It also loads the licence check and priorities pages of one province (``--province``) once each.
Medians go to bench/results/maps.json (``--out``). Targets (issue 6): load < 1.5 s, < 2 MB, < 100 MB heap.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server import ROOT, running
from tests.test_maps import CHROMIUM, CHROMIUM_ARGS


def measure(browser, url: str, ready: str, headers: dict[str, str]) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 850}, extra_http_headers=headers)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Performance.enable")
    sizes: list[int] = []
    cdp.on("Network.loadingFinished", lambda e: sizes.append(int(e["encodedDataLength"])))
    page.goto(url)
    page.wait_for_selector(ready, timeout=60_000)
    page.wait_for_load_state("networkidle")
    load_ms = page.evaluate("Number(document.body.dataset.loadedMs || performance.now())")
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    out = {
        "load_s": load_ms / 1000.0,
        "bytes": sum(sizes),
        "requests": len(sizes),
        "heap_mb": metrics["JSHeapUsedSize"] / 2**20,
    }
    context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--province", default="07", help="the province of the licence and priorities pages")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "maps.json")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with running(args.store) as (base, headers), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        national = f"{base}/maps/national"
        measure(browser, national, "body[data-loaded-ms]", headers)  # warm the server's caches
        runs = [measure(browser, national, "body[data-loaded-ms]", headers) for _ in range(args.runs)]
        others = {
            name: measure(
                browser, f"{base}/maps/{name}?province={args.province}", "body[data-ready=true]", headers
            )
            for name in ("licence", "priorities")
        }
        browser.close()

    result = {
        "runs": args.runs,
        "national": {
            key: {"median": statistics.median(r[key] for r in runs), "max": max(r[key] for r in runs)}
            for key in ("load_s", "bytes", "requests", "heap_mb")
        },
        "licence": others["licence"],
        "priorities": others["priorities"],
        "targets": {"load_s": 1.5, "bytes": 2_000_000, "heap_mb": 100},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    n = result["national"]
    print(
        f"national map, {args.runs} cold loads: load {n['load_s']['median']:.2f} s median "
        f"({n['load_s']['max']:.2f} max), {n['bytes']['median'] / 1e6:.2f} MB in "
        f"{n['requests']['median']:.0f} requests, JS heap {n['heap_mb']['median']:.1f} MB"
    )
    for name in ("licence", "priorities"):
        r = others[name]
        print(f"{name}: {r['load_s']:.2f} s, {r['bytes'] / 1e6:.2f} MB, heap {r['heap_mb']:.1f} MB")


if __name__ == "__main__":
    main()
