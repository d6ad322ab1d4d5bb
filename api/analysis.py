"""Glue between the store and the analysis core, shared by the command line and the HTTP API."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from geo.analysis import Analysis, analyse
from geo.errors import SchemaError
from geo.names import match_names
from geo.norms import Norms
from store.base import Store, StoreError

REQUIRED = ("counties", "settlements", "ngos", "county_needs")


def load_norms(path: Path) -> Norms:
    """Read the norms file (TOML); a missing or malformed file is a clear ``SchemaError``."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"norms file {path} not found (set AMAYESH_NORMS)") from None
    except tomllib.TOMLDecodeError as err:
        raise SchemaError(f"norms file {path} is not valid TOML: {err}") from err
    return Norms.from_dict(raw)


def travel_for(settings, norms: Norms):
    """The travel cost the norms choose: None for the straight line, else the road network of
    the settings' roads file (``AMAYESH_ROADS``), on Dask if ``AMAYESH_DASK_SCHEDULER`` is set."""
    if norms.travel != "roads":
        return None
    from exchange.roads import road_network, roads_path

    return road_network(
        roads_path(settings.data_dir, settings.roads),
        norms,
        class_column=settings.roads_class_column,
        layer=settings.roads_layer,
        dask_scheduler=settings.dask_scheduler,
    )


def analysis_from_store(store: Store, norms: Norms, travel=None) -> Analysis:
    """Recompute the analysis from the store's current layers (``travel``: see ``travel_for``)."""
    present = store.list_layers()
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        raise StoreError(f"the analysis needs the layers {', '.join(missing)}; build the demo or import them")
    target_areas = store.read_layer("target_areas") if "target_areas" in present else None
    return analyse(
        store.read_layer("settlements"),
        store.read_layer("ngos"),
        store.read_layer("county_needs"),
        store.read_layer("counties"),
        target_areas,
        norms,
        travel,
    )


def province_code(store: Store, province: str) -> str:
    """A province given by its 2-digit code or its Persian or English name."""
    provinces = pd.DataFrame(store.read_layer("provinces")) if "provinces" in store.list_layers() else None
    if province.isdigit():
        code = province.zfill(2)
        if provinces is not None and code not in set(provinces["province_code"]):
            raise SchemaError(f"no province with code {code}")
        return code
    if provinces is None:
        raise SchemaError("give the province as its 2-digit code: the store has no provinces layer")
    for column in ("name_fa", "name_en"):
        m = match_names(
            pd.Series([province]), pd.Series(provinces[column].to_numpy(), index=provinces["province_code"])
        )
        if m["status"].iloc[0] == "matched":
            return str(m["right"].iloc[0])
    raise SchemaError(f"no province called {province!r}")
