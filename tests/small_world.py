"""A small store built by hand from the analysis world: two provinces, three counties, 19 settlements.

The national demo takes 15 s to build and needs the reference data; this world is written to a
GeoPackage in well under a second, so the service, the exports and the imports are tested on a
real store in seconds. The places sit where ``tests/analysis_world.py`` puts them (near Arak,
49–51 °E, 34–35 °N); a second province (01, one county east of them, 51–52 °E) has a city, four
villages and two centres of its own, so that province scoping is proven in the fast tests: a
user of province 00 must never see anything of 01. Codes follow the official formats so every
route accepts them.
Figures are made up and marked synthetic where the schema has a column for it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, box

from geo.schema import DEFAULT_SERVICE_TYPES, LAYERS
from tests import analysis_world as world

PROVINCE = "00"
#: the second province: a user of PROVINCE must see nothing of it
OTHER_PROVINCE = "01"
PROVINCES = {
    PROVINCE: ("استان آزمون", "Test province"),
    OTHER_PROVINCE: ("استان همسایه", "Neighbour province"),
}
#: county code -> (Persian name, English name, boundary)
COUNTIES = {
    "0001": ("اراک", "Arak", box(49.0, 34.0, 50.0, 35.0)),
    "0002": ("خمین", "Khomein", box(50.0, 34.0, 51.0, 35.0)),
    "0101": ("همسایه", "Hamsayeh", box(51.0, 34.0, 52.0, 35.0)),
}
#: (code, kind, Persian name, lon, lat, population); cities have 10-digit codes, villages 16
SETTLEMENTS = [
    ("0001000001", "city", "اراک", 49.69, 34.09, 520_000),
    ("0002000001", "city", "خمین", 50.07, 34.14, 60_000),
    ("0001000002", "city", "کمیجان", 49.32, 34.72, 16_000),
    *[
        (f"00010101{i:08d}", "village", f"ده غربی {i}", 49.1 + 0.09 * i, 34.3 + 0.05 * (i % 3), 180 + 90 * i)
        for i in range(1, 7)
    ],
    *[
        (f"00020101{i:08d}", "village", f"ده شرقی {i}", 50.2 + 0.12 * i, 34.6 + 0.04 * (i % 4), 150 + 110 * i)
        for i in range(1, 6)
    ],
    # the other province: a city large enough for the map's city names, and four villages
    ("0101000001", "city", "شهر همسایه", 51.45, 34.45, 150_000),
    *[
        (
            f"01010101{i:08d}",
            "village",
            f"ده همسایه {i}",
            51.2 + 0.14 * i,
            34.3 + 0.08 * (i % 3),
            400 + 60 * i,
        )
        for i in range(1, 5)
    ],
]


def _multi(polygon) -> MultiPolygon:
    return MultiPolygon([polygon])


def layers() -> dict[str, pd.DataFrame]:
    """Every layer of the store, conforming to ``geo.schema``."""
    s = pd.DataFrame(SETTLEMENTS, columns=["settlement_code", "kind", "name_fa", "lon", "lat", "population"])
    s["county_code"] = s["settlement_code"].str[:4]
    settlements = gpd.GeoDataFrame(
        {
            "settlement_code": s["settlement_code"],
            "kind": s["kind"],
            "name_fa": s["name_fa"],
            "name_en": ["Arak", "Khomein", "Komijan"] + [None] * (len(s) - 3),
            "county_code": s["county_code"],
            "province_code": s["settlement_code"].str[:2],
            "rural_district_code": [
                None if k == "city" else c[:10] for k, c in zip(s["kind"], s["settlement_code"], strict=True)
            ],
            "population": s["population"],
            "population_source": ["geonames"] * 3 + ["synthetic"] * (len(s) - 3),
            "position_source": ["geonames"] * 3 + ["synthetic"] * (len(s) - 3),
            "geonameid": pd.array([143083, 133037, 128226] + [None] * (len(s) - 3), dtype="Int64"),
        },
        geometry=[Point(x, y) for x, y in zip(s["lon"], s["lat"], strict=True)],
        crs=4326,
    )
    pop = settlements.groupby("county_code")["population"].sum()
    counties = gpd.GeoDataFrame(
        {
            "county_code": list(COUNTIES),
            "province_code": [c[:2] for c in COUNTIES],
            "name_fa": [v[0] for v in COUNTIES.values()],
            "name_en": [v[1] for v in COUNTIES.values()],
            "population": [int(pop[c]) for c in COUNTIES],
            "population_source": "census_1395",
            "parent_county_code": None,
            "boundary_source": ["1", "2", "3"],
        },
        geometry=[_multi(v[2]) for v in COUNTIES.values()],
        crs=4326,
    )
    provinces = gpd.GeoDataFrame(
        {
            "province_code": list(PROVINCES),
            "name_fa": [v[0] for v in PROVINCES.values()],
            "name_en": [v[1] for v in PROVINCES.values()],
            "population": [int(pop[[c for c in COUNTIES if c[:2] == p]].sum()) for p in PROVINCES],
        },
        geometry=[
            _multi(shapely.union_all([v[2] for c, v in COUNTIES.items() if c[:2] == p])) for p in PROVINCES
        ],
        crs=4326,
    )
    # Centres: crowded in the cities, none in the villages of the east; one expired, one pending;
    # two in the other province.
    where = [0, 0, 0, 0, 1, 1, 2, 3, 0, 1, 14, 16]
    services = [
        "rehabilitation",
        "kindergarten",
        "elderly_care",
        "counselling",
        "rehabilitation",
        "kindergarten",
        "rehabilitation",
        "home_care",
        "rehabilitation",
        "employment",
        "rehabilitation",
        "kindergarten",
    ]
    statuses = ["active"] * 8 + ["expired", "pending", "active", "active"]
    base = world.ngos(
        [
            (settlements.geometry.iloc[k].x + 0.003 * n, settlements.geometry.iloc[k].y)
            for n, k in enumerate(where)
        ],
        services,
        [40, 60, 25, 30, 20, 45, 15, 10, 35, 50, 30, 20],
        settlements["settlement_code"].iloc[where].tolist(),
        statuses,
    )
    issued = pd.to_datetime(["2021-03-21"] * 8 + ["2017-05-01", None] + ["2021-03-21"] * 2)
    ngos = gpd.GeoDataFrame(
        {
            "licence_no": [f"SYN-{i:05d}" for i in range(len(base))],
            "name_fa": base["name_fa"],
            "service_type": base["service_type"],
            "capacity": base["capacity"],
            "status": base["status"],
            "issued_on": issued,
            "expires_on": issued + pd.DateOffset(years=5),
            "county_code": settlements["county_code"].iloc[where].to_numpy(),
            "province_code": settlements["province_code"].iloc[where].to_numpy(),
            "settlement_code": base["settlement_code"],
            "synthetic": True,
        },
        geometry=base.geometry,
        crs=4326,
    )
    target_areas = gpd.GeoDataFrame(
        {
            "target_code": ["T-001", "T-002", "T-003"],
            "name_fa": ["محلهٔ هدف اراک", "روستاهای هدف خمین", "روستاهای هدف همسایه"],
            "kind": ["urban", "rural", "rural"],
            "county_code": ["0001", "0002", "0101"],
            "province_code": [PROVINCE, PROVINCE, OTHER_PROVINCE],
            "households": [1200, 300, 250],
            "households_in_need": [60, 30, 25],
            "synthetic": True,
        },
        geometry=[
            _multi(box(49.67, 34.07, 49.71, 34.11)),
            _multi(box(50.3, 34.55, 50.65, 34.8)),
            _multi(box(51.3, 34.25, 51.6, 34.5)),
        ],
        crs=4326,
    )
    # Target population: a small share of the people per service, ten times more in the east.
    rate = {"0001": 0.0004, "0002": 0.004, "0101": 0.002}
    county_needs = pd.DataFrame(
        [
            (c, service, round(pop[c] * rate[c] * (1 + k / 10)), True)
            for c in COUNTIES
            for k, service in enumerate(DEFAULT_SERVICE_TYPES)
        ],
        columns=["county_code", "service_type", "target_population", "synthetic"],
    )
    built_at = pd.Timestamp("2026-01-01T00:00:00Z")
    synthetic = {"provinces": "none", "counties": "none", "settlements": "partial"}
    synthetic |= {name: "none" for name in HIERARCHY}
    out: dict[str, pd.DataFrame] = {
        "provinces": provinces,
        "counties": counties,
        "settlements": settlements,
        "ngos": ngos,
        "target_areas": target_areas,
        "county_needs": county_needs,
        "ngo_evaluations": evaluations(),
        "volunteer_groups": volunteer_groups(),
        **hierarchy(),
    }
    out["layer_info"] = pd.DataFrame(
        [
            (
                name,
                LAYERS[name].title_fa,
                LAYERS[name].title_en,
                "tests/small_world.py",
                "GPL-3.0",
                synthetic.get(name, "all"),
                built_at,
                # the registry's own date: its statuses are read as recorded
                pd.Timestamp("2025-03-21") if name == "ngos" else pd.NaT,
            )
            for name in out
        ],
        columns=["layer", "title_fa", "title_en", "source", "licence", "synthetic", "built_at", "as_of"],
    )
    return out


def volunteer_groups() -> pd.DataFrame:
    """Synthetic volunteer groups, one row per group and speciality: V001 at the village
    0001010100000001 (4 doctors, 2 psychologists), V002 known by its county 0002 only (6 social
    workers), V003 at its own point in 0001 but inactive (10 general); V101 in the other province
    at the village 0101010100000001 (3 doctors)."""
    rows = [
        ("V001", "doctor", "گروه پزشکان اراک", "0001", PROVINCE, "0001010100000001", None, None, 4, True),
        (
            "V001",
            "psychologist",
            "گروه پزشکان اراک",
            "0001",
            PROVINCE,
            "0001010100000001",
            None,
            None,
            2,
            True,
        ),
        ("V002", "social_worker", "مددکاران خمین", "0002", PROVINCE, None, None, None, 6, True),
        ("V003", "general", "داوطلبان کمیجان", "0001", PROVINCE, None, 49.4, 34.6, 10, False),
        ("V101", "doctor", "پزشکان همسایه", "0101", OTHER_PROVINCE, "0101010100000001", None, None, 3, True),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "group_id", "speciality", "name_fa", "county_code", "province_code", "settlement_code",
            "lon", "lat", "members", "active",
        ],
    )  # fmt: skip
    frame["synthetic"] = True
    return frame


def evaluations() -> pd.DataFrame:
    """Synthetic evaluations: SYN-00000 A then B, SYN-00004 C (province 00); SYN-00010 D and
    SYN-00011 B (province 01); SYN-00006 evaluated after the registry's date (2025-03-21)."""
    return pd.DataFrame(
        {
            "licence_no": ["SYN-00000", "SYN-00000", "SYN-00004", "SYN-00006", "SYN-00010", "SYN-00011"],
            "evaluated_on": pd.to_datetime(
                ["2024-05-01", "2025-01-10", "2024-11-01", "2025-06-01", "2024-07-01", "2025-03-01"]
            ),
            "grade": ["A", "B", "C", "D", "D", "B"],
            "evaluator": "tests/small_world.py",
            "note": None,
            "province_code": [PROVINCE] * 4 + [OTHER_PROVINCE] * 2,
            "synthetic": True,
        }
    )


#: The division versions of the small world: its three counties (``v1``), then 0002 (خمین) split
#: into 0002 (70 %) and a new 0003 (30 %, its eastern half, lon 50.5–51) from 1401/01/01 (``v2``).
HIERARCHY = ("hierarchy_versions", "hierarchy_units", "hierarchy_changes", "hierarchy_boundaries")
SPLIT_SHARE = 0.3
SPLIT_AT_LON = 50.5


def hierarchy() -> dict[str, pd.DataFrame]:
    versions = pd.DataFrame(
        {
            "version_id": ["v1", "v2"],
            "name_fa": ["تقسیمات آزمون", "تقسیمات آزمون پس از بخش خمین"],
            "name_en": ["Test divisions", "Test divisions after Khomein's split"],
            "valid_from": pd.to_datetime(["2016-09-22", "2022-03-21"]),
            "valid_to": pd.to_datetime(["2022-03-20", None]),
            "base_version_id": [None, "v1"],
            "source": "tests/small_world.py",
        }
    )
    base = [(c, c[:2], v[0], v[1], None) for c, v in COUNTIES.items()]
    units = pd.DataFrame(
        [("v1", *u) for u in base]
        + [("v2", *u) for u in base]
        + [("v2", "0003", "00", "خمین شرقی", "East Khomein", "0002")],
        columns=["version_id", "county_code", "province_code", "name_fa", "name_en", "parent_county_code"],
    )
    changes = pd.DataFrame(
        {
            "version_id": "v2",
            "county_code": ["0002", "0003"],
            "from_county_code": "0002",
            "share": [1 - SPLIT_SHARE, SPLIT_SHARE],
            "share_basis": "given",
            "source": "tests/small_world.py",
        }
    )
    boundaries = gpd.GeoDataFrame(
        {"version_id": "v2", "county_code": ["0002", "0003"], "source": "tests/small_world.py"},
        geometry=[_multi(box(50.0, 34.0, SPLIT_AT_LON, 35.0)), _multi(box(SPLIT_AT_LON, 34.0, 51.0, 35.0))],
        crs=4326,
    )
    return {
        "hierarchy_versions": versions,
        "hierarchy_units": units,
        "hierarchy_changes": changes,
        "hierarchy_boundaries": boundaries,
    }


_TEMPLATE: list[Path] = []  # the GeoPackage written once in this process (each worker its own)


def gpkg(path: str | os.PathLike[str]):
    """A GeoPackage store at ``path`` (a new file) holding the small world: a copy of one this
    process wrote with ``write`` once, for tests whose subject is not the writing (0.3 s each)."""
    from store import open_store

    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="amayesh-small-world-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        write(open_store(str(folder / "small.gpkg")))
        _TEMPLATE.append(folder / "small.gpkg")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], path)
    return open_store(str(path))


def write(store) -> dict[str, pd.DataFrame]:
    """Write the small world into ``store`` (one transaction); returns the layers written."""
    frames = layers()
    with store.transaction() as tx:
        for name, frame in frames.items():
            tx.write_layer(name, frame)
    return frames


__all__ = ["COUNTIES", "OTHER_PROVINCE", "PROVINCE", "PROVINCES", "gpkg", "layers", "write"]
