"""How the recompute grows with the number of settlements: 100,000, 300,000 and 1,000,000.

Run:  .venv/bin/python bench/bench_scaling.py [--store var/amayesh.gpkg] [--sizes 100000 300000 1000000]
      [--runs 3] [--seed 27] [--code-order] [--profile] [--out bench/results/scaling.json]

Issue #27 asks for linear growth of the recompute of every measure for all services
(``geo.recompute.analyse``) past the national scale. For each size n a settlement layer of n points
is made from the store's settlements, deterministically (``numpy.random.default_rng(--seed)``):

* every settlement once when n is at least their number, the rest drawn with replacement
  (all n drawn with replacement when n is smaller);
* the first copy of a settlement stays where it is; every further copy is moved a few km (uniform
  in a disc of 5 km) to a place inside its own county's polygon (up to 8 draws; if none falls
  inside, the copy stays on the original point), keeping its county and province codes, kind and
  names, under a code of its own (``<settlement_code>-<k>``);
* the rows are in the order drawn (from n at least the store's number on: the store's settlements
  in the store's order, then the copies);
  with ``--code-order`` the layer is sorted by settlement code (the order a store built in code
  order returns), which the recompute's stable sorts of the codes find linear work;
* each settlement's population is SPLIT between its copies (integer shares differing by at most
  one), so that every settlement's, county's and province's total stays the store's: the same
  country with denser settlements. An unknown population stays unknown on each copy.

The NGOs, county needs, counties and target areas stay the store's; the norms are
config/norms.toml on the straight line (``travel = "straight"``), the cost that scales past the
road network's reach.

Measured per size: the first call (cold) and the median of ``--runs`` warm calls, wall and CPU
(``time.process_time``) seconds; the number of flags; the growth of the process's PEAK resident
memory (``ru_maxrss``) over that size's layer building and recomputes (the peak only grows: a size
that needs less than an earlier one shows 0); with ``--profile``, one more recompute at the largest
size under cProfile (its excerpt printed, its top functions by own time kept). Across the
sizes: ``exponent``, the least-squares slope of log(CPU median) on log(n) (1 is linear growth), and
``ratio``, CPU median at the largest n over that at the smallest, beside ``n_ratio``.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import json
import math
import pstats
import resource
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.recompute import analyse  # noqa: E402
from services.loading import load_norms  # noqa: E402
from store import open_store  # noqa: E402

JITTER_KM = 5.0
TRIES = 8
KM_PER_DEGREE = 111.32


def rss_mb() -> float:
    """The process's peak resident memory so far, MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def denser(
    settlements: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, n: int, seed: int
) -> tuple[gpd.GeoDataFrame, int]:
    """``n`` settlements made from ``settlements`` as the module says; with the number of further
    copies that found no place inside their county and stayed on the original point."""
    rng = np.random.default_rng(seed)
    base = settlements.reset_index(drop=True)
    count = len(base)
    if n >= count:
        pick = np.concatenate([np.arange(count), rng.integers(0, count, n - count)])
    else:
        pick = rng.integers(0, count, n)
    # The k-th copy of each original (0 for the first, in the order drawn).
    order = np.argsort(pick, kind="stable")
    sorted_pick = pick[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_pick)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(sorted_pick)]))
    copy = np.empty(n, dtype="int64")
    copy[order] = np.arange(n) - run_start
    copies = np.bincount(pick, minlength=count)[pick]

    out = base.iloc[pick].reset_index(drop=True)
    x0 = out.geometry.x.to_numpy()
    y0 = out.geometry.y.to_numpy()
    x, y = x0.copy(), y0.copy()
    polygon = counties.set_index("county_code").geometry
    shapely.prepare(polygon.to_numpy())
    own = polygon.reindex(out["county_code"]).to_numpy()
    todo = np.flatnonzero((copy > 0) & pd.notna(own))
    for _ in range(TRIES):
        if not len(todo):
            break
        r = JITTER_KM * np.sqrt(rng.random(len(todo)))
        a = 2 * np.pi * rng.random(len(todo))
        dy = r * np.sin(a) / KM_PER_DEGREE
        dx = r * np.cos(a) / (KM_PER_DEGREE * np.cos(np.radians(y0[todo])))
        nx, ny = x0[todo] + dx, y0[todo] + dy
        inside = shapely.contains_xy(own[todo], nx, ny)
        x[todo[inside]], y[todo[inside]] = nx[inside], ny[inside]
        todo = todo[~inside]
    out["geometry"] = gpd.points_from_xy(x, y, crs=base.crs)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=base.crs)

    codes = out["settlement_code"].astype(str).to_numpy()
    suffix = np.where(copy > 0, "-" + copy.astype(str), "")
    out["settlement_code"] = np.char.add(codes.astype(object).astype(str), suffix.astype(str))
    pop = out["population"]
    known = pop.notna().to_numpy()
    p = pop.fillna(0).to_numpy(dtype="int64")
    share = p // copies + (copy < p % copies)
    out["population"] = pd.array(np.where(known, share, 0), dtype="Int64")
    out.loc[~known, "population"] = pd.NA
    return out, len(todo)


def measure(
    n: int, layers: dict, norms, runs: int, seed: int, profile: bool = False, code_order: bool = False
) -> dict[str, object]:
    """The figures of one size."""
    before = rss_mb()
    started = time.perf_counter()
    settlements, stayed = denser(layers["settlements"], layers["counties"], n, seed)
    if code_order:
        settlements = settlements.sort_values("settlement_code", kind="stable").reset_index(drop=True)
    built_s = time.perf_counter() - started

    def run():
        return analyse(
            settlements,
            layers["ngos"],
            layers["county_needs"],
            layers["counties"],
            layers["target_areas"],
            norms,
        )

    t, c = time.perf_counter(), time.process_time()
    analysis = run()
    cold_s, cold_cpu_s = time.perf_counter() - t, time.process_time() - c
    flags = len(analysis.flags)
    del analysis
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    figures: dict[str, object] = {
        "n": n,
        "build_s": built_s,
        "jitter_fallbacks": stayed,
        "population": int(settlements["population"].sum()),
        "cold_s": cold_s,
        "cold_cpu_s": cold_cpu_s,
        "median_s": statistics.median(walls),
        "median_cpu_s": statistics.median(cpus),
        "flags": flags,
        "peak_rss_growth_mb": rss_mb() - before,
        "peak_rss_mb": rss_mb(),
    }
    if profile:
        figures["profile"] = profiled(run)
    gc.collect()
    return figures


def profiled(run, top: int = 20) -> list[dict[str, object]]:
    """One more recompute under cProfile (CPU time): its excerpt (cumulative time) printed, and the ``top``
    functions by own time kept, with their share of the profiled total."""
    # Timed in CPU seconds: on a shared machine wall-clock profiles count the waits for a core.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    run()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(30)
    print(text.getvalue())
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return [
        {
            "function": f"{Path(f).name}:{line}({name})",
            "calls": int(v[1]),
            "tottime_s": float(v[2]),
            "cumtime_s": float(v[3]),
            "share": float(v[2] / total) if total else 0.0,
        }
        for (f, line, name), v in rows
    ]


def slope(ns: list[int], ts: list[float]) -> float:
    """Least-squares slope of log t on log n."""
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="warm recomputes per size (median)")
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument(
        "--code-order",
        action="store_true",
        help="the layer sorted by settlement code (default: the store's, then the copies as drawn)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="one more recompute at the largest size under cProfile"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scaling.json")
    args = parser.parse_args()
    store = open_store(args.store)
    norms = dataclasses.replace(load_norms(ROOT / "config" / "norms.toml"), travel="straight")
    layers = {
        n: store.read_layer(n) for n in ("settlements", "ngos", "county_needs", "counties", "target_areas")
    }
    sizes = sorted(set(args.sizes))
    results: dict[str, object] = {
        "store_settlements": len(layers["settlements"]),
        "store_population": int(layers["settlements"]["population"].sum()),
        "ngos": len(layers["ngos"]),
        "runs": args.runs,
        "seed": args.seed,
        "code_order": args.code_order,
        "start_rss_mb": rss_mb(),
    }
    print(f"{'n':>10} {'cold s':>8} {'wall s':>8} {'CPU s':>8} {'CPU/1e5':>8} {'flags':>7} {'peak+ MB':>9}")
    rows = []
    for n in sizes:
        row = measure(
            n, layers, norms, args.runs, args.seed, args.profile and n == sizes[-1], args.code_order
        )
        rows.append(row)
        cpu = float(row["median_cpu_s"])  # type: ignore[arg-type]
        print(
            f"{n:>10,} {row['cold_s']:>8.2f} {row['median_s']:>8.2f} {cpu:>8.2f} "
            f"{cpu * 1e5 / n:>8.3f} {row['flags']:>7} {row['peak_rss_growth_mb']:>9.0f}",
            flush=True,
        )
    results["sizes"] = rows
    ns = [int(r["n"]) for r in rows]  # type: ignore[call-overload]
    cpus = [float(r["median_cpu_s"]) for r in rows]  # type: ignore[arg-type]
    walls = [float(r["median_s"]) for r in rows]  # type: ignore[arg-type]
    if len(rows) >= 2:
        results["exponent"] = slope(ns, cpus)
        results["exponent_wall"] = slope(ns, walls)
        results["ratio"] = cpus[-1] / cpus[0]
        results["ratio_wall"] = walls[-1] / walls[0]
        results["n_ratio"] = ns[-1] / ns[0]
        print(
            f"exponent {results['exponent']:.2f} (wall {results['exponent_wall']:.2f}); "
            f"CPU ×{results['ratio']:.2f} for n ×{results['n_ratio']:.2f}"
        )
    results["peak_rss_mb"] = rss_mb()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(math.isfinite(c) for c in cpus) else 1


if __name__ == "__main__":
    sys.exit(main())
