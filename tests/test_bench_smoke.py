"""Every bench runs as bench/README.md documents it, on a tiny world, so that none can rot.

Each test starts ``bench/bench_<name>.py`` in a new interpreter with ``--store`` on the small
hand-built world (``tests/small_world.py``) and the options that make it quick, writes its figures
to ``--out`` in a temporary folder (never over ``bench/results``) and checks that the JSON holds
the keys bench/README.md's tables are filled from, as finite positive numbers. The figures
themselves mean nothing on 19 settlements: only that the bench still runs to its end.

The small world has no road network of its own; a grid of roads over its three counties (one
primary road east–west, the rest secondary) is written next to the store and given to the
benches as ``AMAYESH_ROADS``, as a user points the service at another roads file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString

from geo.schema import DEFAULT_SERVICE_TYPES
from store import open_store
from tests import small_world

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.bench


@pytest.fixture(scope="module")
def roads(tmp_path_factory) -> Path:
    """A grid of roads every 0.1° over the small world's counties (49–52 °E, 34–35 °N)."""
    lons = [49.0 + 0.1 * i for i in range(31)]
    lats = [34.0 + 0.1 * j for j in range(11)]
    lines, classes = [], []
    for j, lat in enumerate(lats):
        for a, b in pairwise(lons):
            lines.append(LineString([(a, lat), (b, lat)]))
            classes.append("primary" if j == 5 else "secondary")
    for lon in lons:
        for a, b in pairwise(lats):
            lines.append(LineString([(lon, a), (lon, b)]))
            classes.append("secondary")
    path = tmp_path_factory.mktemp("roads") / "roads.gpkg"
    gpd.GeoDataFrame({"road_class": classes}, geometry=lines, crs=4326).to_file(path)
    return path


def smoke_world() -> dict[str, pd.DataFrame]:
    """The small world as the national demo is in the ways the benches rely on: every service
    has active centres (the roads bench locates each service's), and every settlement has some
    target population, fifty times the small world's (PySAL ``access``, the analysis bench's
    reference, divides by the demand within a centre's reach)."""
    layers = small_world.layers()
    layers["county_needs"]["target_population"] *= 50
    ngos = layers["ngos"]
    active = ngos[ngos["status"] == "active"]
    missing = [s for s in DEFAULT_SERVICE_TYPES if s not in set(active["service_type"])]
    extra = active.iloc[[0] * len(missing)].copy()
    extra["licence_no"] = [f"SYN-9{k:04d}" for k in range(len(missing))]
    extra["service_type"] = missing
    layers["ngos"] = pd.concat([ngos, extra], ignore_index=True)
    return layers


@pytest.fixture
def store(tmp_path) -> Path:
    """The smoke world in a fresh GeoPackage (a bench may add its admin account to it)."""
    layers = smoke_world()
    path = tmp_path / "small.gpkg"
    with open_store(str(path)).transaction() as tx:
        for name, frame in layers.items():
            tx.write_layer(name, frame)
    return path


def bench(name: str, out: Path, *options: str, store: Path | None = None, roads: Path | None = None) -> dict:
    """Run ``bench/bench_<name>.py`` as bench/README.md documents it (on ``store``, with the roads
    file ``roads``), writing to ``out``; the JSON it wrote."""
    env = {**os.environ, **({"AMAYESH_ROADS": str(roads)} if roads else {})}
    cmd = [sys.executable, f"bench/bench_{name}.py", *(["--store", str(store)] if store else [])]
    cmd += [*options, "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text())


def positive(figures: dict, *keys: str) -> None:
    """Each key is in ``figures`` and a finite number above zero."""
    for key in keys:
        value = figures[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)


def test_bench_analysis(store, roads, tmp_path):
    options = ("--runs", "2", "--checks", "20", "--reference-runs", "1")
    out = bench("analysis", tmp_path / "analysis.json", *options, store=store, roads=roads)
    for travel in ("straight", "roads"):
        positive(
            out,
            *(f"{travel}_analyse_{figure}" for figure in ("cold_s", "median_s", "median_cpu_s")),
            f"{travel}_licence_check_median_ms",
            f"{travel}_licence_check_p95_ms",
            f"{travel}_flags",
        )
    positive(
        out,
        "peak_rss_mb",
        "e2sfca_ours_median_s",
        "e2sfca_ours_median_cpu_s",
        "e2sfca_ours_pairs_path_median_s",
        "e2sfca_access_median_s",
        "e2sfca_access_median_cpu_s",
        "2sfca_access_median_s",
        "e2sfca_speedup",
        "e2sfca_speedup_cpu",
        "pairs_30km",
    )
    assert 0 <= out["max_relative_difference"] < 1e-9


def test_bench_scaling(store, roads, tmp_path):
    out = bench(
        "scaling", tmp_path / "scaling.json", "--sizes", "400", "200", "--runs", "1", "--profile", store=store
    )
    assert [row["n"] for row in out["sizes"]] == [200, 400]
    for row in out["sizes"]:
        positive(row, "cold_s", "cold_cpu_s", "median_s", "median_cpu_s", "flags", "peak_rss_mb")
        # The populations are split between the copies: the country's total is the store's.
        assert row["population"] == out["store_population"]
        assert row["peak_rss_growth_mb"] >= 0
    positive(out, "ratio", "ratio_wall", "peak_rss_mb")
    assert out["n_ratio"] == 2.0
    # The profile is of the largest size only; its top function's share is its own time's.
    assert "profile" not in out["sizes"][0]
    top = out["sizes"][1]["profile"][0]
    positive(top, "calls", "tottime_s", "cumtime_s", "share")
    assert top["share"] <= 1.0 and top["tottime_s"] <= top["cumtime_s"] + 1e-9
    assert out["code_order"] is False
    # One size in code order: no exponent without two sizes.
    ordered = bench(
        "scaling", tmp_path / "ordered.json", "--sizes", "50", "--runs", "1", "--code-order", store=store
    )
    assert ordered["code_order"] is True and "exponent" not in ordered
    assert ordered["sizes"][0]["population"] == ordered["store_population"]
    assert math.isfinite(out["exponent"]) and math.isfinite(out["exponent_wall"])


def test_scaling_layer_is_the_same_country_denser():
    """The settlements the scaling bench makes: every original once, then copies inside their own
    county, each with a code of its own and a share of its original's population."""
    spec = importlib.util.spec_from_file_location("bench_scaling", ROOT / "bench" / "bench_scaling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    layers = small_world.layers()
    base = layers["settlements"].reset_index(drop=True)
    made, stayed = module.denser(base, layers["counties"], 10 * len(base), seed=3)
    assert len(made) == 10 * len(base) and made["settlement_code"].is_unique
    original = made["settlement_code"].str.split("-").str[0]
    # Every original is there once under its own code, at its own place.
    firsts = made[~made["settlement_code"].str.contains("-")].set_index("settlement_code")
    assert sorted(firsts.index) == sorted(base["settlement_code"])
    assert firsts.geometry.equals(base.set_index("settlement_code").geometry.loc[firsts.index])
    # Populations: each original's copies sum to it, and shares differ by at most one.
    by_original = made.groupby(original)["population"].agg(["sum", "min", "max"])
    expected = base.set_index("settlement_code")["population"]
    assert (by_original["sum"] == expected.loc[by_original.index]).all()
    assert (by_original["max"] - by_original["min"] <= 1).all()
    # Copies keep their county and lie inside it (or, if no draw fell inside, on the original).
    counties = layers["counties"].set_index("county_code").geometry
    copies = made[made["settlement_code"].str.contains("-")]
    inside = [counties[c].contains(p) for c, p in zip(copies["county_code"], copies.geometry, strict=True)]
    assert sum(inside) == len(copies) - stayed
    assert (
        copies["county_code"].to_numpy()
        == base.set_index("settlement_code").loc[original[copies.index], "county_code"].to_numpy()
    ).all()
    origin = base.set_index("settlement_code").geometry.loc[original[copies.index]]
    # Planar degrees: 5 km is under 0.06° of longitude at the small world's 34–35 °N.
    moved = shapely.distance(copies.geometry.to_numpy(), origin.to_numpy())
    assert (moved > 0).sum() == len(copies) - stayed and (moved < 5.0 / 80).all()


def test_bench_roads(store, roads, tmp_path):
    options = ("--runs", "2", "--checks", "20", "--dask-workers", "1")
    out = bench("roads", tmp_path / "roads.json", *options, store=store, roads=roads)
    positive(
        out,
        "graph_build_s",
        "analyse_roads_median_s",
        "analyse_straight_median_s",
        "licence_check_roads_median_ms",
        "licence_check_roads_p95_ms",
        "searches_in_process_median_s",
        "pairs_work_in_process_median_s",
        "searches_dask_1_workers_median_s",
        "pairs_work_dask_1_workers_median_s",
    )
    positive(out["graph"], "nodes", "edges", "km")
    assert out["dask_1_workers_identical"] is True


def test_bench_plans(store, roads, tmp_path):
    options = ("--runs", "1", "--sites", "2", "--national-sites", "3", "--spopt-timeout", "120")
    out = bench("plans", tmp_path / "plans.json", *options, store=store, roads=roads)
    assert out["province"] in small_world.PROVINCES
    positive(out["province_mclp_2_greedy"], "seconds", "objective", "bound", "candidates", "pairs")
    positive(out["province_mclp_2_exact"], "seconds", "objective")
    assert out["province_mclp_2_exact"]["optimal"] is True
    assert out["province_mclp_2_auto"]["method"] in ("exact", "greedy")
    spopt = out["province_mclp_2_spopt"]
    positive(spopt, "seconds", "objective", "ratio_to_exact", "ratio_to_greedy")
    assert spopt["objective_equal"] is True
    national = out["national_mclp_3_greedy"]
    positive(national, "seconds", "objective", "candidates", "pairs", "covered_after", "demand_total")
    positive(out["province_pmedian_2_greedy"], "seconds", "objective", "pairs")
    positive(out["national_delegation"], "seconds", "places", "centres_used")
    positive(out["national_comparison"], "compare_seconds", "apply_and_recompute_seconds", "rows")


def test_bench_reader(tmp_path):
    out = bench("reader", tmp_path / "reader.json", "--rows", "200", "--repeats", "1")
    positive(out, "first_read_s")
    assert [f["file"] for f in out["files"]] == ["10-row CSV", "200-row CSV", "200-point GeoPackage"]
    for figures in out["files"]:
        positive(figures, "warm_s", "cold_s", "ratio")


def test_bench_intake(store, roads, tmp_path):
    options = ("--rows", "200", "--repeats", "1")
    out = bench("intake", tmp_path / "intake.json", *options, store=store, roads=roads)
    positive(out, "seconds_median", "file_mb")
    assert out["counts"]["rows"] == 200
    assert sum(out["position_source"].values()) + out["counts"]["rejected"] == 200
    positive(out["small_preview_seconds_median"], "store", "snapshot")


def test_bench_http(store, roads, tmp_path):
    """With wrk where it is installed (CI installs it), else the asyncio client."""
    options = ("--requests", "60", "--connections", "4", "--seconds", "1", "--tiles-per-zoom", "2")
    out = bench("http", tmp_path / "http.json", *options, store=store, roads=roads)
    assert out["client"] == ("wrk" if shutil.which("wrk") else "python")
    scenarios = {s["scenario"]: s for s in out["scenarios"]}
    assert list(scenarios) == [
        "items page of 100 features",
        "/health, the peer of the items page",
        "items page of 100 features, again",
        "settlement tiles z6-z12, first request of each tile",
        "settlement tiles z6-z12, repeated",
        "licence check",
        "licence check, one connection",
    ]
    for scenario in out["scenarios"]:
        assert scenario["errors"] == 0, scenario
        positive(scenario, "requests", "median_ms", "p95_ms", "throughput_rps")
    # The HTTP overhead of a licence check (issue #27): the check's own time from the answers'
    # Server-Timing, and what HTTP adds to it, which is at least something.
    one = scenarios["licence check, one connection"]
    positive(one, "check_median_ms", "check_p95_ms", "overhead_median_ms", "overhead_p95_ms")
    assert one["check_median_ms"] < one["median_ms"]
    positive(
        out, "items_p95_over_health_p95", "items_again_p95_over_health_p95", "licence_overhead_median_ms"
    )
    for key, items in (("items_p95_over_health_p95", ""), ("items_again_p95_over_health_p95", ", again")):
        assert out[key] == pytest.approx(
            scenarios[f"items page of 100 features{items}"]["p95_ms"]
            / scenarios["/health, the peer of the items page"]["p95_ms"]
        )
    assert out["licence_overhead_median_ms"] == one["overhead_median_ms"]
    # cold tiles one at a time, every layer the pages draw at every zoom they use
    tiles = out["cold_tiles_one_at_a_time"]
    assert set(tiles) == {"settlements", "settlement-access", "ngos", "counties"}
    for zooms in tiles.values():
        assert list(zooms) == [str(z) for z in range(3, 13)]
        for figures in zooms.values():
            assert figures["tiles"] >= 1
            positive(figures, "median_ms", "p95_ms")
    assert out["cold_tiles_worst_p95_ms"] == max(z["p95_ms"] for zs in tiles.values() for z in zs.values())


def test_bench_health_under_load(store, roads, tmp_path):
    out = bench("health_under_load", tmp_path / "health.json", "--heavy", "5", store=store, roads=roads)
    assert out["import_exit"] == 0 and out["export_status"] == 200
    assert sum(out["statuses"].values()) == 6
    positive(out, "health_requests", "health_ms_median", "health_ms_p95", "health_ms_max", "export_seconds")


def test_bench_memory(store, roads, tmp_path):
    options = ("--rounds", "2", "--requests", "30", "--connections", "2", "--tolerance-mb", "200")
    out = bench("memory", tmp_path / "memory.json", *options, store=store, roads=roads)
    assert list(out["stages"]) == ["start", "analysis", "tiles", "round_1", "round_2"]
    for stage in out["stages"].values():
        positive(stage, "rss_mb", "tree_rss_mb")
        assert stage["tree_rss_mb"] >= stage["rss_mb"]
    for k in (1, 2):
        assert out["stages"][f"round_{k}"]["statuses"] == {"200": 30}
    assert out["failures"] == []
    assert out["rss_mb_after_tiles"] == out["stages"]["tiles"]["rss_mb"]
    assert out["growth_mb_first_to_last_round"] == pytest.approx(
        out["stages"]["round_2"]["rss_mb"] - out["stages"]["round_1"]["rss_mb"]
    )


@pytest.mark.postgis
def test_bench_memory_on_postgis(postgis_store, postgis_url, roads, tmp_path):
    """The same rounds on the smoke world in PostGIS: every answer 200, the stages in order."""
    with postgis_store.transaction() as tx:
        for name, frame in smoke_world().items():
            tx.write_layer(name, frame)
    options = ("--rounds", "2", "--requests", "30", "--connections", "2", "--tolerance-mb", "200")
    out = bench("memory", tmp_path / "memory.json", "--store", postgis_url, *options, roads=roads)
    assert out["store"] == postgis_url
    assert list(out["stages"]) == ["start", "analysis", "tiles", "round_1", "round_2"]
    assert [out["stages"][f"round_{k}"]["statuses"] for k in (1, 2)] == [{"200": 30}, {"200": 30}]
    assert out["failures"] == []
    positive(out, "rss_mb_after_tiles", "rss_mb_after_load")


def test_bench_memory_fails_past_its_bound(store, roads, tmp_path):
    """No server fits in 1 MB: the bench says so and exits 1 (as it does on growth under load)."""
    cmd = [sys.executable, "bench/bench_memory.py", "--store", str(store), "--rounds", "1"]
    cmd += ["--requests", "6", "--max-mb", "1", "--out", str(tmp_path / "memory.json")]
    env = {**os.environ, "AMAYESH_ROADS": str(roads)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr
    assert "after the analysis and tiles (at most 1)" in done.stderr
    out = json.loads((tmp_path / "memory.json").read_text())
    assert len(out["failures"]) == 1 and out["rss_mb_after_tiles"] > 1


@pytest.mark.browser
def test_bench_maps(store, roads, tmp_path):
    options = ("--runs", "1", "--province", small_world.PROVINCE)
    out = bench("maps", tmp_path / "maps.json", *options, store=store, roads=roads)
    for key in ("load_s", "bytes", "requests", "heap_mb"):
        positive(out["national"][key], "median", "max")
    for page in ("licence", "priorities"):
        positive(out[page], "load_s", "bytes", "requests", "heap_mb")


@pytest.mark.postgis
def test_bench_workers(postgis_store, postgis_url, roads, tmp_path):
    """One and two server processes on the smoke world in PostGIS, at 1 and 4 connections."""
    with postgis_store.transaction() as tx:
        for name, frame in smoke_world().items():
            tx.write_layer(name, frame)
    options = ("--seconds", "1", "--connections", "1", "4")
    out = bench("workers", tmp_path / "workers.json", "--store", postgis_url, *options, roads=roads)
    assert out["client"] == ("wrk" if shutil.which("wrk") else "python")
    assert out["layers"]["settlements"] == len(small_world.layers()["settlements"])
    assert len(out["load_average_before"]) == len(out["load_average_after"]) == 3
    measured = [f"{s}_c{c}" for c in (1, 4) for s in ("light_read", "licence_check", "mixed")]
    for key, workers in (("one_worker", 1), ("two_workers", 2)):
        server = out[key]
        assert server["workers"] == workers and len(set(server["worker_pids"])) == workers
        for memory in ("memory_after_warm", "memory_after_load"):
            # The sum over the server's processes: at least the server and its workers.
            assert server[memory]["processes"] >= (1 if workers == 1 else 3)
            assert server[memory]["rss_mb"] == pytest.approx(sum(server[memory]["rss_mb_each"]))
            positive(server[memory], "rss_mb")
        assert sorted(server["scenarios"]) == sorted(measured)
        for figures in server["scenarios"].values():
            assert figures["errors"] == 0, figures
            positive(figures, "requests", "median_ms", "p95_ms", "throughput_rps", "server_cpu_s")
            assert figures["median_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    for key in measured:
        one, two = out["one_worker"]["scenarios"][key], out["two_workers"]["scenarios"][key]
        ratio = out["ratio_two_to_one"][key]
        assert ratio["throughput"] == pytest.approx(two["throughput_rps"] / one["throughput_rps"])
        assert ratio["p95"] == pytest.approx(two["p95_ms"] / one["p95_ms"])
        positive(ratio, "throughput", "median", "p95")
    positive(out, "memory_ratio_after_load")
