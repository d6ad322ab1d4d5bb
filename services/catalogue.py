"""The service catalogue and norms in force, and their import by an administrator.

The service starts with the norms file (``config/norms.toml``, ``AMAYESH_NORMS``). An
administrator may import a new version of it through the service (``POST /catalogue``, or
``amayesh catalogue import``): it is checked whole, kept in the store (``norms_versions``, every
version) and is then in force for every process of the service at its next request: a snapshot
reads the newest stored version with the layers (``norms_in_force``). Nothing in the code names
the services: pages, filters, exports, schemas and the OpenAPI document follow the catalogue.

An import is refused, with every reason, when the file is not valid norms, when its version is
already recorded, when it drops a service that stored rows still name, or when a centre's
delivery mode is one its service would no longer be delivered in. It may not change the travel
cost or the road speeds: the road network is built from them when the service starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from geo.catalogue import DELIVERY_MODES, PROVIDER_KINDS
from geo.decisions import fa_number
from geo.errors import ConfigurationError, NormsRejected
from geo.norms import Norms
from store.base import Store

log = logging.getLogger("amayesh")

#: The largest norms file an import reads (a norms file is a few kilobytes).
MAX_BYTES = 256 * 1024

#: Stored layers whose rows name a service type: a catalogue may not drop a service they use.
USES = ("ngos", "county_needs")


def parse(content: bytes) -> tuple[Norms, str]:
    """The norms of a file's bytes, checked, and its text; ``NormsRejected`` says why not."""
    if len(content) > MAX_BYTES:
        raise NormsRejected(
            [(f"the file is larger than {MAX_BYTES // 1024} KB; a norms file is a few KB",
              f"پرونده از {fa_number(MAX_BYTES // 1024)} کیلوبایت بزرگ‌تر است؛ پروندهٔ هنجارها چند کیلوبایت است")]
        )  # fmt: skip
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise NormsRejected([("the file is not UTF-8 text", "پرونده متن UTF-8 نیست")]) from None
    if "\x00" in text:
        raise NormsRejected(
            [("the file is not text (it holds NUL bytes)", "پرونده متن نیست (بایت تهی دارد)")]
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise NormsRejected(
            [(f"the file is not valid TOML: {err}", f"پرونده TOML درستی نیست: {err}")]
        ) from None
    except RecursionError:
        raise NormsRejected(
            [
                (
                    "the file nests tables or arrays too deeply",
                    "جدول‌ها یا فهرست‌های پرونده بیش از اندازه تودرتو است",
                )
            ]
        ) from None
    try:
        return Norms.from_dict(raw), text
    except ConfigurationError as err:
        en = err.user_message.removeprefix("norms file: ")
        fa = err.message_fa or f"پروندهٔ هنجارها درست نیست: {en}"
        raise NormsRejected([(en, fa)]) from None
    except (TypeError, ValueError, AttributeError) as err:
        raise NormsRejected(
            [(f"an entry has the wrong kind of value: {err}", f"نوع مقدار یک ورودی نادرست است: {err}")]
        ) from None


def norms_in_force(versions: pd.DataFrame | None, started_with: Norms) -> Norms:
    """The newest imported norms (``norms_versions``), or the norms the service started with."""
    if versions is None or not len(versions):
        return started_with
    newest = versions.sort_values(["imported_at", "version"]).iloc[-1]
    try:
        return Norms.from_dict(tomllib.loads(str(newest["text"])))
    except (ConfigurationError, tomllib.TOMLDecodeError, TypeError, ValueError) as err:
        # Checked when imported; a store edited by hand is no reason to stop serving.
        log.error("the stored norms %s cannot be read (%s): the norms file is used", newest["version"], err)
        return started_with


def problems(
    new: Norms, running: Norms, layers: Mapping[str, pd.DataFrame], versions: pd.DataFrame | None
) -> list[tuple[str, str]]:
    """Why ``new`` cannot replace ``running`` over the stored ``layers``, in English and Persian
    (empty: it can)."""
    out: list[tuple[str, str]] = []
    if versions is not None and str(new.version) in set(versions["version"].astype(str)):
        out.append(
            (
                f"version {new.version} is already recorded: give the new norms a new version",
                f"نسخهٔ {new.version} پیش‌تر ثبت شده است: به هنجارهای تازه نسخهٔ تازه‌ای بدهید",
            )
        )
    if new.travel != running.travel or new.roads != running.roads:
        out.append(
            (
                "the travel cost and the road speeds ([roads], travel) cannot change through an import: "
                "the road network is built from them when the service starts; change the norms file "
                "and restart",
                "شیوهٔ سفر و سرعت راه‌ها (travel و [roads]) با بارگذاری عوض نمی‌شود: شبکهٔ راه‌ها هنگام "
                "آغاز سرویس از آن‌ها ساخته می‌شود؛ پروندهٔ هنجارها را عوض کنید و سرویس را دوباره راه بیندازید",
            )
        )
    for name in USES:
        frame = layers.get(name)
        if frame is None or "service_type" not in frame.columns:
            continue
        used = frame["service_type"].value_counts()
        for service, count in used.items():
            if service not in new.services:
                out.append(
                    (
                        f"{name}: {count} rows name the service {service}, which the new catalogue drops",
                        f"{name}: {fa_number(count)} ردیف خدمت {service} را دارند که فهرست تازه آن را ندارد",
                    )
                )
    ngos = layers.get("ngos")
    if ngos is not None and "delivery_mode" in ngos.columns:
        given = ngos[ngos["delivery_mode"].notna() & ngos["service_type"].isin(list(new.services))]
        for (service, mode), count in given.groupby(["service_type", "delivery_mode"]).size().items():
            if mode not in new.services[service].modes:
                offered = new.services[service].modes
                out.append(
                    (
                        f"ngos: {count} centres of {service} deliver {mode}, which the new catalogue no "
                        f"longer offers for it ({', '.join(offered)})",
                        f"ngos: {fa_number(count)} مرکز {service} به شیوهٔ {mode} ارائه می‌دهند که فهرست "
                        f"تازه برای آن ندارد ({'، '.join(offered)})",
                    )
                )
    return out


def record(new: Norms, text: str, actor: str, now: dt.datetime | None = None) -> pd.DataFrame:
    """The ``norms_versions`` row of an import."""
    return pd.DataFrame(
        {
            "version": [str(new.version)],
            "text": [text],
            "imported_at": [pd.Timestamp(now or dt.datetime.now(dt.UTC))],
            "imported_by": [actor],
            "services": [len(new.services)],
        }
    )


def import_norms(
    store: Store, content: bytes, actor: str, running: Norms, layers: Mapping[str, pd.DataFrame]
) -> Norms:
    """Check a norms file against what is stored and, when nothing is wrong, record it: every
    reason at once in a ``NormsRejected`` otherwise (nothing recorded)."""
    new, text = parse(content)
    versions = store.read_layer("norms_versions") if "norms_versions" in store.list_layers() else None
    wrong = problems(new, running, layers, versions)
    if wrong:
        raise NormsRejected(wrong)
    with store.transaction() as tx:
        tx.append("norms_versions", record(new, text, actor))
    return new


def store_norms(store: Store, started_with: Norms) -> Norms:
    """The norms in force for ``store``: its newest imported version, or ``started_with``."""
    present = "norms_versions" in store.list_layers()
    return norms_in_force(store.read_layer("norms_versions") if present else None, started_with)


def text_in_force(versions: pd.DataFrame | None, norms_file: Path) -> str:
    """The text of the norms in force: the newest imported version's, or the norms file's."""
    if versions is not None and len(versions):
        return str(versions.sort_values(["imported_at", "version"]).iloc[-1]["text"])
    return Path(norms_file).read_text(encoding="utf-8")


def describe(norms: Norms, versions: pd.DataFrame | None) -> dict:
    """The catalogue as ``GET /catalogue`` answers it."""
    unit = norms.unit
    history = []
    if versions is not None and len(versions):
        for row in versions.sort_values(["imported_at", "version"], ascending=False).itertuples():
            history.append(
                {
                    "version": row.version,
                    "imported_at": pd.Timestamp(row.imported_at).isoformat(),
                    "imported_by": row.imported_by,
                    "services": int(row.services),
                }
            )
    in_force = history[0] if history and history[0]["version"] == str(norms.version) else None
    return {
        "version": str(norms.version),
        "source": "imported" if in_force else "file",
        "imported_at": in_force["imported_at"] if in_force else None,
        "imported_by": in_force["imported_by"] if in_force else None,
        "travel": norms.travel,
        "services": [
            {
                "code": code,
                "label_fa": s.label_fa,
                "label_en": s.label_en,
                "modes": list(s.modes),
                "main_mode": s.main_mode,
                "provider_kinds": list(s.provider_kinds),
                "reach": {
                    mode: None
                    if mode == "remote"
                    else round(s.reach(mode, unit) / (1000.0 if unit == "m" else 1.0), 3)
                    for mode in s.modes
                },
                "reach_unit": "km" if unit == "m" else "min",
                "catchment_km": s.catchment_km,
                "norm_per_10k": s.norm_per_10k,
                "min_population": s.min_population,
                "max_distance_km": s.max_distance_km,
                "min_access_share": s.min_access_share,
            }
            for code, s in norms.services.items()
        ],
        "modes": {code: {"fa": fa, "en": en} for code, (fa, en) in DELIVERY_MODES.items()},
        "provider_kinds": {code: {"fa": fa, "en": en} for code, (fa, en) in PROVIDER_KINDS.items()},
        "versions": history,
    }


__all__ = ["MAX_BYTES", "describe", "import_norms", "norms_in_force", "parse", "problems", "text_in_force"]
