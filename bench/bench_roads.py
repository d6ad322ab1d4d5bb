"""Benchmarks of travel on roads on the national demo.

Run:  .venv/bin/python bench/bench_roads.py [--store var/amayesh.gpkg] [--runs 7] [--checks 300]
      [--dask-workers 1 2] [--out bench/results/roads.json]

Writes bench/results/roads.json (``--out``). Measured:
* reading the roads file and building the graph (cold, once);
* full recomputation of every measure and flag for all 8 services on roads, warm, median of
  ``--runs`` (and the straight line on the same data, for comparison);
* one licence check on roads, median and p95 over 300 random places (``--checks``);
* the all-pairs-within-catchment work (E2SFCA of all 8 services: bounded searches and sums) in
  this process, and on a Dask LocalCluster of 1 and of 2 worker processes (one thread each;
  ``--dask-workers``),
  median of 3 after a warm-up; the answers are checked equal to the single-process ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.access import active_ngos, demand_at_settlements, locate  # noqa: E402
from geo.recompute import analyse  # noqa: E402
from services.loading import load_norms, travel_for  # noqa: E402
from services.settings import Settings  # noqa: E402
from store import open_store  # noqa: E402


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def all_services_e2sfca(network, places, providers, demand, norms):
    out = []
    for service, norm in norms.services.items():
        loc, capacity = providers[service]
        out.append(network.e2sfca(places, loc, demand[service], capacity, norm.catchment("min")))
    return out


def all_services_searches(network, providers, norms):
    """The bounded searches alone (the part that goes to the workers), for all 8 services."""
    out = []
    for service, norm in norms.services.items():
        nodes, _, _, offsets = network.snap(providers[service][0]).grouped()
        out.append(network.balls(nodes, offsets, norm.catchment("min")))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--checks", type=int, default=300, help="licence checks (random places)")
    parser.add_argument(
        "--dask-workers", type=int, nargs="*", default=[1, 2], help="the Dask clusters' sizes to measure"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "roads.json")
    args = parser.parse_args()
    store = open_store(args.store)
    norms = load_norms(ROOT / "config" / "norms.toml")
    norms = dataclasses.replace(norms, travel="roads")
    results: dict[str, object] = {}

    t = time.perf_counter()
    network = travel_for(Settings(), norms)
    results["graph_build_s"] = time.perf_counter() - t
    results["graph"] = network.graph.summary()
    names = ("settlements", "ngos", "county_needs", "counties", "target_areas")
    layers = [store.read_layer(n) for n in names]
    analysis = analyse(*layers, norms, network)  # warm: numba compiles (cached on disk) once
    results["analyse_roads_median_s"] = statistics.median(
        timed(lambda: analyse(*layers, norms, network), args.runs)
    )
    straight = dataclasses.replace(norms, travel="straight")
    analyse(*layers, straight)
    results["analyse_straight_median_s"] = statistics.median(
        timed(lambda: analyse(*layers, straight), args.runs)
    )
    results["flags_roads"] = len(analysis.flags)
    results["settlements_with_a_fallback_trip"] = int(analysis.access.fallback.any(axis=1).sum())

    rng = np.random.default_rng(7)
    sample = layers[0].sample(min(args.checks, len(layers[0])), random_state=7)
    services = list(norms.services)
    checks = []
    for k, point in enumerate(sample.geometry):
        t = time.perf_counter()
        analysis.check_licence(point.x, point.y, services[k % len(services)], int(rng.integers(10, 100)))
        checks.append(time.perf_counter() - t)
    results["licence_check_roads_median_ms"] = 1000 * statistics.median(checks)
    results["licence_check_roads_p95_ms"] = 1000 * float(np.percentile(checks, 95))

    # The all-pairs-within-catchment work, in process and on Dask.
    settlements, ngos = layers[0], layers[1]
    demand = demand_at_settlements(settlements, layers[2])
    places = locate(settlements)
    active = active_ngos(ngos)
    providers = {}
    for service in norms.services:
        sub = active[active["service_type"] == service]
        providers[service] = (locate(sub), sub["capacity"].to_numpy(dtype="float64"))
    demand = {s: demand[s].to_numpy(dtype="float64") for s in norms.services}
    want = all_services_e2sfca(network, places, providers, demand, norms)
    want_searches = all_services_searches(network, providers, norms)
    results["searches_in_process_median_s"] = statistics.median(
        timed(lambda: all_services_searches(network, providers, norms), 3)
    )
    results["pairs_work_in_process_median_s"] = statistics.median(
        timed(lambda: all_services_e2sfca(network, places, providers, demand, norms), 3)
    )
    from dask.distributed import Client, LocalCluster

    for workers in args.dask_workers:
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            remote = network.with_client(client)
            got = all_services_e2sfca(remote, places, providers, demand, norms)
            same = all(
                np.array_equal(a, b)
                for w, g in zip(want, got, strict=True)
                for a, b in zip(w, g, strict=True)
            )
            got = all_services_searches(remote, providers, norms)
            same &= all(
                np.array_equal(a, b)
                for w, g in zip(want_searches, got, strict=True)
                for a, b in zip(w, g, strict=True)
            )
            results[f"dask_{workers}_workers_identical"] = same
            results[f"searches_dask_{workers}_workers_median_s"] = statistics.median(
                timed(lambda remote=remote: all_services_searches(remote, providers, norms), 3)
            )
            results[f"pairs_work_dask_{workers}_workers_median_s"] = statistics.median(
                timed(lambda remote=remote: all_services_e2sfca(remote, places, providers, demand, norms), 3)
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        print(f"{key:>40}: {value:,.4g}" if isinstance(value, float) else f"{key:>40}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
