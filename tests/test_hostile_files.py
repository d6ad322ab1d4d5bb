"""The hostile corpus through the command line, on both stores; and a mutation fuzz of real files.

Each crafted file (``tests/hostile_corpus.py``, generated here, never committed) must be refused
whole with its reason: the command exits 3, prints the reason and writes the rejection report;
the store is unchanged (same version token, same counts); no byte of a host file reaches any
store; the listener on 127.0.0.1 the files point at receives no connection; nothing crashes or
hangs. The figures are written to ``tests/artifacts/hostile-<store>[-sample].json``.

The GeoPackage store gets the seeded sample (one case of every attack family, the seed named in
the test id); the whole corpus runs on the PostGIS store behind the ``full_matrix`` marker
(``make test``, so CI, runs it).
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box

from exchange.boundary import FILE_REASONS
from exchange.imports import validate_file
from exchange.limits import get_limits
from exchange.validation import REASONS
from geo.crs import STORAGE_CRS
from tests.hostile_corpus import (
    CASES,
    FAMILIES,
    INSIDE,
    SAMPLE_SEED,
    Context,
    _ngos_xlsx,
    _point_geojson,
    _shapefile,
    ngo_row,
    sample_cases,
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: No single file may take longer than this, whatever it holds (the reader's own limits are lower).
CASE_SECONDS = 90


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener():
    lis = Listener()
    # The listener works: a connection to it is counted (then the count is reset).
    with socket.create_connection(("127.0.0.1", lis.port), timeout=2):
        pass
    deadline = time.monotonic() + 5
    while lis.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lis.connections == 1
    lis.connections = 0
    yield lis
    lis.close()


def tiny_world() -> dict[str, gpd.GeoDataFrame]:
    """One province of two counties inside Iran, and one NGO."""
    provinces = gpd.GeoDataFrame(
        {"province_code": ["00"], "name_fa": ["آزمون"], "name_en": ["Test"], "population": [1000]},
        geometry=[box(50.5, 34.5, 52.5, 35.5)],
        crs=STORAGE_CRS,
    )
    counties = gpd.GeoDataFrame(
        {
            "county_code": ["0001", "0002"],
            "province_code": ["00", "00"],
            "name_fa": ["الف", "ب"],
            "name_en": ["Alef", "Be"],
            "population": [600, 400],
            "population_source": ["census_1395", "census_1395"],
            "parent_county_code": [None, None],
            "boundary_source": ["1", "2"],
        },
        geometry=[box(50.5, 34.5, 51.5, 35.5), box(51.5, 34.5, 52.5, 35.5)],
        crs=STORAGE_CRS,
    )
    row = ngo_row(licence_no="BASE-1")
    ngos = gpd.GeoDataFrame(
        {
            **{k: [v] for k, v in row.items() if k not in ("lon", "lat", "issued_on", "expires_on")},
            "capacity": [40],
            "issued_on": [pd.Timestamp("2023-04-04")],
            "expires_on": [pd.Timestamp("2028-04-04")],
            "province_code": ["00"],
            "settlement_code": [None],
            "synthetic": [True],
        },
        geometry=[Point(*INSIDE)],
        crs=STORAGE_CRS,
    )
    return {"provinces": provinces, "counties": counties, "ngos": ngos}


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def world_store(request, tmp_path):
    if request.param == "gpkg":
        from store import open_store

        url = str(tmp_path / "store" / "world.gpkg")
        store = open_store(url)
    else:
        store = request.getfixturevalue("postgis_store")
        url = request.getfixturevalue("postgis_url")
    with store.transaction() as tx:
        for name, frame in tiny_world().items():
            tx.write_layer(name, frame)
    return request.param, url, store


#: (store, selection) of the corpus tests: the sample on the GeoPackage store, the whole corpus on
#: PostGIS (a PostGIS sample beside it would repeat a subset: the corpus's time is in two cases, the
#: recursive view that runs into the reader's CPU limit and the 2,000,000-vertex WKT, both kept by
#: any sample, so the sample saves a second or two and no more).
CORPUS_RUNS = [
    pytest.param(
        "gpkg", "sample", id=f"gpkg-sample-one-of-each-of-{len(FAMILIES)}-families-seed{SAMPLE_SEED}"
    ),
    pytest.param(
        "postgis",
        "full",
        marks=[pytest.mark.postgis, pytest.mark.full_matrix],
        id=f"postgis-full-corpus-{len(CASES)}-cases",
    ),
]


def corpus(selection: str) -> list:
    """The cases of a run: the whole corpus, or one of every family (``sample_cases``)."""
    return list(CASES) if selection == "full" else sample_cases(CASES)


@pytest.fixture
def test_limits(monkeypatch):
    """The reader's CPU and wall-clock limits made short, so that a hang costs seconds here."""
    monkeypatch.setenv("AMAYESH_READER_CPU_SECONDS", "5")
    monkeypatch.setenv("AMAYESH_READER_TIMEOUT_SECONDS", "30")
    get_limits.cache_clear()
    yield get_limits()
    get_limits.cache_clear()


def host_markers(secret: Path) -> list[bytes]:
    first = Path("/etc/passwd").read_text().splitlines()[0].encode()
    return [first, secret.read_bytes().strip()]


def store_bytes(kind: str, url: str) -> bytes:
    """Everything the store holds, as bytes: the GeoPackage file, or every table's rows as text."""
    if kind == "gpkg":
        path = Path(url)
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            parts = [
                conn.execute(
                    sa.text(f"SELECT coalesce(string_agg(t::text, chr(10)), '') FROM \"{t}\" t")
                ).scalar()
                for t in list(tables)
            ]
    finally:
        engine.dispose()
    return "\n".join(parts).encode("utf-8")


def test_the_sample_holds_one_case_of_every_family():
    sample = sample_cases(CASES)
    assert sorted(c.family for c in sample) == FAMILIES and len(FAMILIES) == 20
    assert sample == sample_cases(CASES) and len(CASES) == 41  # seeded: the same every run
    assert {c.name for c in sample} != {c.name for c in sample_cases(CASES, SAMPLE_SEED + 1)}


@pytest.mark.slow
@pytest.mark.parametrize(("world_store", "selection"), CORPUS_RUNS, indirect=["world_store"])
def test_hostile_corpus_is_refused_whole_on_both_stores(
    world_store, selection, listener, test_limits, tmp_path, capsys
):
    from cli.main import main

    kind, url, store = world_store
    cases = corpus(selection)
    secret = tmp_path / "host-secret.txt"
    secret.write_text(f"AMAYESH-HOST-SECRET-{uuid.uuid4().hex}\n")
    markers = host_markers(secret)
    ctx = Context(folder=tmp_path / "corpus", port=listener.port, secret=secret)
    ctx.folder.mkdir()
    version = store.version()
    counts = store.layer_counts()
    figures = {"store": kind, "selection": selection, "cases": len(cases), "results": []}
    failures = []
    for case in cases:
        path, layer, extra = case.build(ctx)
        report = tmp_path / "reports" / f"{case.name}.rejected.csv"
        report.parent.mkdir(exist_ok=True)
        started = time.monotonic()
        code = main(["--store", url, "import", layer, path, "--report", str(report), *extra])
        seconds = time.monotonic() - started
        err = capsys.readouterr().err
        reasons = set(pd.read_csv(report, encoding="utf-8-sig")["reason"]) if report.exists() else set()
        figures["results"].append(
            {
                "case": case.name,
                "what": case.what,
                "exit": code,
                "reasons": sorted(reasons),
                "seconds": round(seconds, 2),
            }
        )
        problems = []
        if code != 3:
            problems.append(f"exit {code}")
        if case.reason not in reasons:
            problems.append(f"report reasons {sorted(reasons)}")
        if case.reason not in err:
            problems.append("reason not shown")
        if seconds > CASE_SECONDS:
            problems.append(f"took {seconds:.0f} s")
        if store.version() != version:
            problems.append("store changed")
        if problems:
            failures.append(f"{case.name}: {', '.join(problems)}\n{err[-600:]}")
    assert store.layer_counts() == counts
    held = store_bytes(kind, url)
    host_bytes = sum(held.count(m) * len(m) for m in markers)
    figures.update(
        outgoing_connections=listener.connections,
        host_bytes_in_store=host_bytes,
        crashes=0,  # an exception out of main() fails this test before it gets here
        hangs=sum(r["seconds"] > CASE_SECONDS for r in figures["results"]),
        slowest_seconds=max(r["seconds"] for r in figures["results"]),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"hostile-{kind}.json" if selection == "full" else f"hostile-{kind}-sample.json"
    (ARTIFACTS / name).write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    assert not failures, "\n".join(failures)
    assert listener.connections == 0
    assert host_bytes == 0


def test_an_import_keeps_the_store_files_mode(tmp_path):
    from store import open_store

    path = tmp_path / "mode.gpkg"
    store = open_store(str(path))
    with store.transaction() as tx:
        tx.write_layer("provinces", tiny_world()["provinces"])
    os.chmod(path, 0o644)
    with store.transaction() as tx:
        tx.write_layer("counties", tiny_world()["counties"])
    assert path.stat().st_mode & 0o777 == 0o644
    os.chmod(path, 0o640)
    with store.transaction() as tx:
        tx.write_layer("ngos", tiny_world()["ngos"])
    assert path.stat().st_mode & 0o777 == 0o640


# --- mutation fuzz --------------------------------------------------------------------------


def seed_files(folder: Path) -> list[tuple[Path, str]]:
    """Small real files of every format, each importable as it is."""
    ctx = Context(folder=folder, port=9, secret=folder / "none")
    seeds = []
    csv = folder / "ngos.csv"
    pd.DataFrame([ngo_row(licence_no=f"F-{i}") for i in range(5)]).to_csv(csv, index=False)
    seeds.append((csv, "ngos"))
    seeds.append((_point_geojson(ctx, "ngos.geojson"), "ngos"))
    seeds.append((_ngos_xlsx(ctx, "ngos.xlsx"), "ngos"))
    gpkg = folder / "ngos.gpkg"
    rows = pd.DataFrame([ngo_row(licence_no=f"G-{i}") for i in range(5)])
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(rows.drop(columns=["lon", "lat"]), geometry=[Point(*INSIDE)] * 5, crs=4326), gpkg
    )
    seeds.append((gpkg, "ngos"))
    import zipfile

    shp_zip = folder / "ngos.zip"
    with zipfile.ZipFile(shp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in _shapefile(ctx, "seed"):
            zf.write(part, part.name)
    seeds.append((shp_zip, "ngos"))
    areas = folder / "areas.csv"
    pd.DataFrame(
        [
            {
                "target_code": "A-1",
                "name_fa": "محله",
                "kind": "urban",
                "county_code": "0001",
                "households": "10",
                "wkt": box(51.0, 35.0, 51.01, 35.01).wkt,
            }
        ]
    ).to_csv(areas, index=False)
    seeds.append((areas, "target_areas"))
    return seeds


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    how = rng.choice(["flip", "flip", "truncate", "duplicate", "insert"])
    buf = bytearray(data)
    if how == "flip":
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif how == "truncate":
        del buf[rng.randrange(1, len(buf)) :]
    elif how == "duplicate":
        i, j = sorted(rng.sample(range(len(buf)), 2))
        buf[j:j] = buf[i:j][:4096]
    else:
        i = rng.randrange(len(buf))
        buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(buf), how


@pytest.mark.slow
def test_mutation_fuzz_every_outcome_is_success_or_a_refusal_with_a_reason(tmp_path, test_limits):
    """Byte flips, truncations, duplications and insertions of real small files (seeded)."""
    from store import open_store

    store = open_store(str(tmp_path / "fuzz.gpkg"))
    with store.transaction() as tx:
        for name, frame in tiny_world().items():
            tx.write_layer(name, frame)
    seeds = seed_files(tmp_path)
    for path, layer in seeds:  # every seed is good as it is
        assert validate_file(store, layer, path).ok, path.name
    n = int(os.environ.get("AMAYESH_FUZZ_CASES", "200"))
    rng = random.Random(1404)
    cases = []
    folder = tmp_path / "mutants"
    folder.mkdir()
    for i in range(n):
        path, layer = seeds[i % len(seeds)]
        data, how = mutate(path.read_bytes(), rng)
        target = folder / f"{i:04d}-{how}{path.suffix}"
        target.write_bytes(data)
        cases.append((target, layer))
    known = set(REASONS) | set(FILE_REASONS)

    def run(case):
        target, layer = case
        started = time.monotonic()
        result = validate_file(store, layer, target)  # an exception here fails the test
        return target.name, result, time.monotonic() - started

    outcomes = {"accepted": 0, "refused": 0}
    reasons: dict[str, int] = {}
    with ThreadPoolExecutor(2) as pool:
        for name, result, seconds in pool.map(run, cases):
            assert seconds < CASE_SECONDS, name
            if result.ok:
                outcomes["accepted"] += 1
                continue
            outcomes["refused"] += 1
            assert set(result.rejected["reason"]) <= known, (name, set(result.rejected["reason"]))
            assert (result.rejected["message"].astype(str).str.len() > 0).all(), name
            for r in result.rejected["reason"]:
                reasons[r] = reasons.get(r, 0) + 1
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hostile-fuzz.json").write_text(
        json.dumps({"cases": n, **outcomes, "reasons": reasons}, indent=1)
    )
    assert outcomes["accepted"] + outcomes["refused"] == n
    assert outcomes["refused"] > 0
