"""Imports as jobs: a checked file written into the store, the layer's previous version kept, and
both outcomes (written or refused) in the audit trail.

Checking a file is ``exchange.imports.validate_file`` (all or nothing, with the rejected rows);
this module does what follows a verdict, for any door that runs an import.
"""

from __future__ import annotations

import errno
import getpass
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from exchange.exports import export_layer
from geo.errors import NoSpace
from geo.schema import layer as layer_spec
from services.settings import Settings
from store.accounts import Accounts
from store.backup import frame_checksum
from store.base import Store


@dataclass(frozen=True)
class Imported:
    """What an import did: the rows the layer holds now, how many were added and updated, and where
    the previous version was saved (None: there was none)."""

    rows: int
    added: int
    updated: int
    saved: Path | None


def previous_version(store: Store, layer_name: str, settings: Settings) -> Path | None:
    """Save the layer as it is before an import (``amayesh import LAYER <file> --replace`` restores it)."""
    if layer_name not in store.list_layers():
        return None
    folder = settings.versions_dir or (
        Path(settings.store).parent / "versions"
        if not settings.store.startswith("postgres")
        else Path("var/versions")
    )
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{layer_name}-{stamp}.gpkg"
    try:
        return export_layer(store, layer_name, target)
    except OSError as err:
        target.unlink(missing_ok=True)
        if err.errno != errno.ENOSPC:
            raise
        raise NoSpace(
            f"the disk under {folder} filled up while the layer {layer_name} was saved before the "
            "import; nothing was imported. Free space there and try again."
        ) from err


def audit(settings: Settings, *record) -> None:
    """One audit row, on a connection opened and closed for it."""
    accounts = Accounts(settings.store)
    try:
        accounts.record(*record)
    finally:
        accounts.close()


def record_refusal(
    settings: Settings, actor: str, mode: str, layer_name: str, file: Path, rejected: int
) -> None:
    """The audit row of a refused import (the file was checked and nothing was written)."""
    audit(
        settings,
        None,
        actor,
        f"import.{mode}.rejected",
        f"layer:{layer_name}",
        None,
        {"file": str(file), "rejected_rows": rejected},
    )


def apply_import(
    settings: Settings, store: Store, layer_name: str, frame: pd.DataFrame, mode: str, actor: str, file: Path
) -> Imported:
    """Write a checked ``frame`` into ``layer_name`` (``mode``: replace, append, or update by key)
    in one transaction, after saving the layer's previous version; audit what was written."""
    present = layer_name in store.list_layers()
    before = store.read_layer(layer_name) if present else None
    saved = previous_version(store, layer_name, settings)
    added, updated = len(frame), 0
    keys = layer_spec(layer_name).key.split(",")
    if mode == "update" and before is not None and len(before):
        incoming = pd.MultiIndex.from_frame(frame[keys].astype(str))
        stored = pd.MultiIndex.from_frame(before[keys].astype(str))
        updated = int(incoming.isin(stored).sum())
        added = len(frame) - updated
        kept = before[~stored.isin(incoming)]
        frame = pd.concat([kept, frame], ignore_index=True)
    with store.transaction() as tx:
        if mode == "append":
            tx.append(layer_name, frame)
        else:
            tx.write_layer(layer_name, frame)
    after = store.read_layer(layer_name)
    store.close()
    audit(
        settings,
        None,
        actor,
        f"import.{mode}",
        f"layer:{layer_name}",
        None
        if before is None
        else {"rows": len(before), "sha256": frame_checksum(before), "saved_as": str(saved)},
        {
            "rows": len(after),
            "sha256": frame_checksum(after),
            "file": str(file),
            "added": added,
            "updated": updated,
            "by": os.environ.get("SUDO_USER") or getpass.getuser(),
        },
    )
    return Imported(rows=len(after), added=added, updated=updated, saved=saved)
