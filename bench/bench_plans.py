"""Benchmarks of the planning workbench on the national demo, against spopt where it can run.

Run:  .venv/bin/python bench/bench_plans.py [--store var/amayesh.gpkg] [--runs 5] [--spopt-timeout 600]
      [--sites 50] [--national-sites 200] [--out bench/results/plans.json]

Prints medians and writes them to bench/results/plans.json (``--out``). Measured, for
rehabilitation (the numbers of sites are ``--sites`` and ``--national-sites``, and name the keys):
* MCLP, 50 new sites in the province with the most flagged places: greedy with its Lagrangian
  bound, and the exact MILP (HiGHS); spopt's MCLP (PuLP + HiGHS) on the same reduced instance
  (the same places, candidates and coverage), its time including building its model;
* MCLP, 200 new sites over the whole country (greedy + bound; spopt's dense model of this
  instance does not fit);
* p-median, 50 sites in the province (greedy + bound);
* delegation for the whole country;
* a national scenario comparison (every service, every county, equity): the comparison of two
  analyses, and the whole request cold (apply the changes, recompute, compare).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.delegation import delegate  # noqa: E402
from geo.scenarios import compare  # noqa: E402
from geo.siting import site_centres, travel_of  # noqa: E402
from services import plans  # noqa: E402
from services.loading import analysis_from_store, load_norms, travel_for  # noqa: E402
from services.settings import Settings  # noqa: E402
from store import open_store  # noqa: E402

SERVICE = "rehabilitation"


def timed(fn, runs: int):
    out, value = [], None
    for _ in range(runs):
        t = time.perf_counter()
        value = fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), value


def reduced_instance(a, province: str):
    """The province's MCLP instance as spopt takes it: a dense cost matrix of the places that
    have uncovered demand and some candidate in reach, against the flagged candidates."""
    from geo.distance import Located

    s = a.settlements
    scope = np.flatnonzero((s["province_code"] == province).to_numpy())
    flagged = a.flags[a.flags["service_type"] == SERVICE]
    cand = np.sort(s.index.get_indexer(flagged.index))
    cand = cand[np.isin(cand, scope)]
    weight = np.where(a.access.covered[SERVICE].to_numpy()[scope], 0.0, a.demand[SERVICE].to_numpy()[scope])
    places = Located(a.licence_index.places.xy[scope], a.licence_index.places.k[scope])
    sites = Located(a.licence_index.places.xy[cand], a.licence_index.places.k[cand])
    radius = a.catchment(SERVICE)  # in the travel cost's unit: minutes on roads, metres in a line
    i, j, c = travel_of(a).pairs(places, sites, radius)
    rows = np.unique(i[weight[i] > 0])
    position = np.full(len(scope), -1)
    position[rows] = np.arange(len(rows))
    keep = position[i] >= 0
    cost = np.full((len(rows), len(cand)), radius * 10.0)
    cost[position[i[keep]], j[keep]] = c[keep]
    return cost, weight[rows], radius


def _spopt_run(cost, weight, radius, p, queue):
    import warnings

    import pulp
    from spopt.locate import MCLP

    warnings.simplefilter("ignore")
    t = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weight, service_radius=radius, p_facilities=p)
    model = model.solve(pulp.HiGHS(msg=False))
    queue.put((time.perf_counter() - t, float(pulp.value(model.problem.objective))))


def spopt_mclp(cost, weight, radius, p, timeout):
    queue = mp.Queue()
    proc = mp.Process(target=_spopt_run, args=(cost, weight, radius, p, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, None
    return queue.get() if not queue.empty() else (None, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=str(ROOT / "var" / "amayesh.gpkg"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spopt-timeout", type=float, default=600)
    parser.add_argument("--sites", type=int, default=50, help="new sites in the province (MCLP, p-median)")
    parser.add_argument("--national-sites", type=int, default=200, help="new sites in the whole country")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "plans.json")
    args = parser.parse_args()
    p, national_p = args.sites, args.national_sites
    store = open_store(args.store)
    norms = load_norms(ROOT / "config" / "norms.toml")
    # the norms' travel cost: the road network by default (travel = "roads")
    a = analysis_from_store(store, norms, travel_for(Settings(), norms))
    layers = {name: store.read_layer(name) for name in store.list_layers()}
    flagged = a.flags[a.flags["service_type"] == SERVICE]
    province = a.settlements.loc[flagged.index, "province_code"].value_counts().index[0]
    site_centres(a, SERVICE, 2, province=province, method="greedy")  # compile the kernels once
    out: dict = {"service_type": SERVICE, "province": province, "runs": args.runs}

    t, plan = timed(lambda: site_centres(a, SERVICE, p, province=province, method="greedy"), args.runs)
    out[f"province_mclp_{p}_greedy"] = {
        "seconds": t,
        **{k: plan.summary[k] for k in ("objective", "bound", "gap", "candidates", "pairs")},
    }
    t, plan = timed(lambda: site_centres(a, SERVICE, p, province=province, method="exact"), args.runs)
    out[f"province_mclp_{p}_exact"] = {
        "seconds": t,
        **{k: plan.summary[k] for k in ("objective", "bound", "gap", "optimal")},
    }
    t, plan = timed(lambda: site_centres(a, SERVICE, p, province=province, method="auto"), args.runs)
    out[f"province_mclp_{p}_auto"] = {
        "seconds": t,
        "method": plan.summary["method"],
        "gap": plan.summary["gap"],
    }

    cost, weight, radius = reduced_instance(a, province)
    spopt_t, spopt_obj = spopt_mclp(cost, weight, radius, p, args.spopt_timeout)
    exact = out[f"province_mclp_{p}_exact"]
    out[f"province_mclp_{p}_spopt"] = {
        "seconds": spopt_t,
        "objective": spopt_obj,
        "matrix": list(cost.shape),
        "objective_equal": None if spopt_obj is None else abs(spopt_obj - exact["objective"]) < 1e-6,
        "ratio_to_exact": None if spopt_t is None else spopt_t / exact["seconds"],
        "ratio_to_greedy": None if spopt_t is None else spopt_t / out[f"province_mclp_{p}_greedy"]["seconds"],
    }

    # A national siting on roads is refused (more place-site pairs within the road reach than the
    # limit: choose a province); the national run is in a straight line, its sites then go into
    # the scenario compared on roads below.
    straight = dataclasses.replace(norms, travel="straight")
    a_straight = analysis_from_store(store, straight, travel_for(Settings(), straight))
    t, plan = timed(lambda: site_centres(a_straight, SERVICE, national_p, method="greedy"), args.runs)
    out[f"national_mclp_{national_p}_greedy"] = {
        "travel": "straight",
        "seconds": t,
        **{
            k: plan.summary[k]
            for k in (
                "objective",
                "bound",
                "gap",
                "candidates",
                "pairs",
                "covered_before",
                "covered_after",
                "demand_total",
            )
        },
    }
    national_sites = plan.sites
    t, plan = timed(
        lambda: site_centres(a, SERVICE, p, province=province, model="pmedian", method="greedy"), args.runs
    )
    out[f"province_pmedian_{p}_greedy"] = {
        "seconds": t,
        **{k: plan.summary[k] for k in ("objective", "bound", "gap", "pairs")},
    }
    t, plan = timed(lambda: delegate(a, SERVICE), args.runs)
    out["national_delegation"] = {
        "seconds": t,
        **{k: plan.summary[k] for k in ("places", "capacity_needed", "assigned", "centres_used")},
    }

    changes = {
        "licences_added": [
            {"service_type": SERVICE, "capacity": int(r.capacity), "lon": float(r.lon), "lat": float(r.lat)}
            for r in national_sites.itertuples()
        ]
    }
    t_cold, after = timed(lambda: plans.scenario_analysis(layers, a, changes), max(1, args.runs // 2))
    t_cmp, result = timed(lambda: compare(a, after), args.runs)
    out["national_comparison"] = {
        "compare_seconds": t_cmp,
        "apply_and_recompute_seconds": t_cold,
        "cold_total_seconds": t_cold + t_cmp,
        "rows": len(result.counties),
        "newly_covered": result.summary["newly_covered"],
    }
    print(json.dumps(out, indent=2, ensure_ascii=False, default=float))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=float))


if __name__ == "__main__":
    main()
