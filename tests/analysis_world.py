"""A tiny world, built by hand, for analysis tests: two counties side by side near Arak."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from geo.norms import Norms
from geo.schema import DEFAULT_SERVICE_TYPES

ROOT = Path(__file__).resolve().parents[1]


def demo_norms(**changes) -> Norms:
    """The shipped norms; the hand-built worlds have no roads, so travel is the straight line
    unless a test says otherwise."""
    raw = tomllib.loads((ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))
    raw["travel"] = "straight"
    raw.update(changes)
    return Norms.from_dict(raw)


def counties() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"county_code": ["0001", "0002"], "province_code": ["00", "00"], "name_fa": ["الف", "ب"]},
        geometry=[box(49.0, 34.0, 50.0, 35.0), box(50.0, 34.0, 51.0, 35.0)],
        crs=4326,
    )


def settlements(
    points: list[tuple[float, float]], populations: list[int], kinds=None, counties_=None
) -> gpd.GeoDataFrame:
    n = len(points)
    kinds = kinds or ["village"] * n
    county = counties_ or ["0001" if x < 50 else "0002" for x, _ in points]
    return gpd.GeoDataFrame(
        {
            "settlement_code": [f"S{i:04d}" for i in range(n)],
            "kind": kinds,
            "name_fa": [f"ده {i}" for i in range(n)],
            "county_code": county,
            "province_code": "00",
            "population": populations,
        },
        geometry=[Point(p) for p in points],
        crs=4326,
    )


def ngos(
    points: list[tuple[float, float]], service_types, capacities, settlement_codes, statuses=None
) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "licence_no": [f"L{i:04d}" for i in range(n)],
            "name_fa": [f"مرکز {i}" for i in range(n)],
            "service_type": service_types,
            "capacity": capacities,
            "status": statuses or ["active"] * n,
            "county_code": ["0001" if x < 50 else "0002" for x, _ in points],
            "province_code": "00",
            "settlement_code": settlement_codes,
        },
        geometry=[Point(p) for p in points],
        crs=4326,
    )


def needs(per_county: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = [
        (county, service, per_county.get(county, {}).get(service, 0))
        for county in ("0001", "0002")
        for service in DEFAULT_SERVICE_TYPES
    ]
    return pd.DataFrame(rows, columns=["county_code", "service_type", "target_population"])


def random_world(seed: int, n_places: int = 60, n_ngos: int = 15):
    rng = np.random.default_rng(seed)
    pts = [tuple(p) for p in rng.uniform([49.05, 34.05], [50.95, 34.95], size=(n_places, 2))]
    pops = rng.integers(50, 5000, size=n_places).tolist()
    s = settlements(pts, pops)
    where = rng.integers(0, n_places, size=n_ngos)
    ngo_pts = [(pts[k][0] + rng.normal(0, 0.01), pts[k][1] + rng.normal(0, 0.01)) for k in where]
    ngo_pts = [(min(max(x, 49.01), 50.99), min(max(y, 34.01), 34.99)) for x, y in ngo_pts]
    types = rng.choice(["rehabilitation", "kindergarten"], size=n_ngos).tolist()
    caps = rng.integers(5, 80, size=n_ngos).tolist()
    n = ngos(ngo_pts, types, caps, [f"S{k:04d}" for k in where])
    need = needs(
        {
            c: {"rehabilitation": int(rng.integers(100, 3000)), "kindergarten": int(rng.integers(100, 3000))}
            for c in ("0001", "0002")
        }
    )
    return s, n, need
