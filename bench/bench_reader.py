"""The cost of reading a user's file through the import boundary: warm (a child forked from the
zygote, ``exchange.sandbox``) against cold (a new interpreter per file, as before).

Files are generated here (synthetic rows, nothing from the demo): a 10-row CSV, a 25,000-row
NGO-registry CSV and a 25,000-point GeoPackage (``--rows``). Medians over 15 reads of each
(``--repeats``), in one process. Writes ``bench/results/reader.json`` (``--out``).

    .venv/bin/python bench/bench_reader.py [--rows 25000] [--repeats 15] [--out bench/results/reader.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange import sandbox  # noqa: E402
from exchange.boundary import read_untrusted  # noqa: E402

REPEATS = 15


def registry(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "licence_no": [f"B-{i:06d}" for i in range(n)],
            "name_fa": [f"مرکز آزمایشی {i}" for i in range(n)],
            "service_type": rng.choice(["rehabilitation", "elderly_care", "child_care"], n),
            "capacity": rng.integers(5, 200, n),
            "issued_on": "1402/01/15",
            "expires_on": "2028-04-04",
            "county_code": rng.integers(1, 400, n).astype(str),
            "lon": rng.uniform(46, 60, n).round(5),
            "lat": rng.uniform(27, 38, n).round(5),
        }
    )


def files(folder: Path, rows: int = 25_000) -> dict[str, Path]:
    small = folder / "small.csv"
    registry(10).to_csv(small, index=False)
    big = folder / "registry.csv"
    table = registry(rows)
    table.to_csv(big, index=False)
    gpkg = folder / "registry.gpkg"
    gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(table.lon, table.lat), crs=4326
    ).to_file(gpkg, layer="ngos")
    return {"10-row CSV": small, f"{rows:,}-row CSV": big, f"{rows:,}-point GeoPackage": gpkg}


def median_seconds(path: Path, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read_untrusted(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=25_000, help="rows of the large CSV and GeoPackage")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="reads of each file (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reader.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = files(Path(tmp), args.rows)
        started = time.perf_counter()
        read_untrusted(paths["10-row CSV"])
        first = time.perf_counter() - started  # includes starting the zygote
        for name, path in paths.items():
            warm = median_seconds(path, args.repeats)
            sandbox.COLD = True
            cold = median_seconds(path, args.repeats)
            sandbox.COLD = False
            results.append(
                {"file": name, "warm_s": round(warm, 4), "cold_s": round(cold, 4), "ratio": cold / warm}
            )
            print(f"{name:26} warm {warm * 1000:7.1f} ms   cold {cold * 1000:7.1f} ms   {cold / warm:5.1f}×")
    print(f"first read of a fresh process (starts the zygote): {first * 1000:.0f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"repeats": args.repeats, "first_read_s": round(first, 3), "files": results}, indent=1)
    )


if __name__ == "__main__":
    main()
