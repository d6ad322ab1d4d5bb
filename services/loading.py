"""Loading what the analysis needs, for the command line and the HTTP API: the norms file, the
layers (from a store, or a snapshot in memory) and a province given by its code or name."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from geo.errors import ConfigurationError, InputError, UnknownProvinceError
from geo.licences import status_at
from geo.names import match_names
from geo.norms import Norms
from geo.recompute import Analysis, analyse
from store.base import Store, StoreError

REQUIRED = ("counties", "settlements", "ngos", "county_needs")


def load_norms(path: Path) -> Norms:
    """Read the norms file (TOML); a missing or malformed file is a clear ``ConfigurationError``."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"norms file {path} not found (set AMAYESH_NORMS)") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"norms file {path} is not valid TOML: {err}") from err
    return Norms.from_dict(raw)


def registry_as_of(layer_info: pd.DataFrame | None) -> dt.date | None:
    """The licence registry's as-of date recorded in ``layer_info`` (the ``ngos`` row), if any."""
    if layer_info is None or "as_of" not in layer_info.columns:
        return None
    rows = layer_info.loc[layer_info["layer"] == "ngos", "as_of"].dropna()
    return pd.Timestamp(rows.iloc[0]).date() if len(rows) else None


def resolve_as_of(setting: dt.date | None, layer_info: pd.DataFrame | None) -> tuple[dt.date, str]:
    """The day licence statuses are read at, and where it came from.

    The setting (``AMAYESH_AS_OF``) wins; otherwise the registry's own as-of date from
    ``layer_info`` (statuses then match the registry as drawn); otherwise today.
    Returns ``(day, source)`` with source ``setting``, ``registry`` or ``today``.
    """
    if setting is not None:
        return setting, "setting"
    registry = registry_as_of(layer_info)
    if registry is not None:
        return registry, "registry"
    return dt.date.today(), "today"


def ngos_as_of(ngos: pd.DataFrame, as_of: dt.date, fixed: bool = False) -> pd.DataFrame:
    """``ngos`` with each licence's ``status`` as the dates make it on ``as_of``; on a ``fixed``
    day (not today's) decisions recorded after it keep their status (``status_at``)."""
    out = ngos.copy()
    out["status"] = status_at(ngos, as_of, fixed=fixed)
    return out


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


def analysis_from_layers(
    layers: Mapping[str, pd.DataFrame], norms: Norms, travel=None, as_of: dt.date | None = None
) -> Analysis:
    """Recompute the analysis from layers by name (``target_areas`` is optional; ``travel``:
    see ``travel_for``), licence statuses at ``as_of`` (by default the registry's as-of date in
    ``layer_info``, or today; see ``resolve_as_of``)."""
    missing = [name for name in REQUIRED if name not in layers]
    if missing:
        raise StoreError(f"the analysis needs the layers {', '.join(missing)}; build the demo or import them")
    day, source = resolve_as_of(as_of, layers.get("layer_info"))
    result = analyse(
        layers["settlements"],
        ngos_as_of(layers["ngos"], day, fixed=source != "today"),
        layers["county_needs"],
        layers["counties"],
        layers.get("target_areas"),
        norms,
        travel,
        evaluations=layers.get("ngo_evaluations"),
        as_of=day,
        volunteer_groups=layers.get("volunteer_groups"),
    )
    result.as_of = day
    result.as_of_fixed = source != "today"
    return result


def analysis_from_store(store: Store, norms: Norms, travel=None, as_of: dt.date | None = None) -> Analysis:
    """Recompute the analysis from the current layers of ``store`` (``travel``: see
    ``travel_for``; statuses at ``as_of``)."""
    present = store.list_layers()
    wanted = [
        name
        for name in (*REQUIRED, "target_areas", "layer_info", "ngo_evaluations", "volunteer_groups")
        if name in present
    ]
    return analysis_from_layers({name: store.read_layer(name) for name in wanted}, norms, travel, as_of)


def province_code(store: Store, province: str) -> str:
    """A province given by its 2-digit code or its Persian or English name."""
    provinces = pd.DataFrame(store.read_layer("provinces")) if "provinces" in store.list_layers() else None
    if province.isdigit():
        code = province.zfill(2)
        if provinces is not None and code not in set(provinces["province_code"]):
            raise UnknownProvinceError(f"no province with code {code}")
        return code
    if provinces is None:
        raise InputError("give the province as its 2-digit code: the store has no provinces layer")
    for column in ("name_fa", "name_en"):
        names = provinces[column].astype(str)
        asked = province
        if column == "name_en":  # "Fars", "fars" and "FARS" are one province
            names, asked = names.str.lower(), province.lower()
        m = match_names(pd.Series([asked]), pd.Series(names.to_numpy(), index=provinces["province_code"]))
        if m["status"].iloc[0] == "matched":
            return str(m["right"].iloc[0])
    raise UnknownProvinceError(f"no province called {province!r}")
