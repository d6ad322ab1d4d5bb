"""The cost of reading a user's file through the import boundary: warm (a child forked from the
zygote, ``exchange.sandbox``) against cold (a new interpreter per file, as before).

Files are generated here (synthetic rows, nothing from the demo): a 10-row CSV, a 25,000-row
NGO-registry CSV and a 25,000-point GeoPackage. Medians over repeated reads, in one process.
Writes ``bench/results/reader.json``.
"""

from __future__ import annotations

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


def files(folder: Path) -> dict[str, Path]:
    small = folder / "small.csv"
    registry(10).to_csv(small, index=False)
    big = folder / "registry.csv"
    table = registry(25_000)
    table.to_csv(big, index=False)
    gpkg = folder / "registry.gpkg"
    gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(table.lon, table.lat), crs=4326
    ).to_file(gpkg, layer="ngos")
    return {"10-row CSV": small, "25,000-row CSV": big, "25,000-point GeoPackage": gpkg}


def median_seconds(path: Path) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        read_untrusted(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = files(Path(tmp))
        started = time.perf_counter()
        read_untrusted(paths["10-row CSV"])
        first = time.perf_counter() - started  # includes starting the zygote
        for name, path in paths.items():
            warm = median_seconds(path)
            sandbox.COLD = True
            cold = median_seconds(path)
            sandbox.COLD = False
            results.append(
                {"file": name, "warm_s": round(warm, 4), "cold_s": round(cold, 4), "ratio": cold / warm}
            )
            print(f"{name:26} warm {warm * 1000:7.1f} ms   cold {cold * 1000:7.1f} ms   {cold / warm:5.1f}×")
    print(f"first read of a fresh process (starts the zygote): {first * 1000:.0f} ms")
    out = ROOT / "bench" / "results" / "reader.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"repeats": REPEATS, "first_read_s": round(first, 3), "files": results}, indent=1)
    )


if __name__ == "__main__":
    main()
