"""Exports of any layer, shared by the command line and the HTTP API."""

from __future__ import annotations

from pathlib import Path

from exchange.formats import write_file
from store.base import Store


def export_layer(store: Store, layer_name: str, path: Path, *, fmt: str | None = None) -> Path:
    """Write layer ``layer_name`` of ``store`` to ``path`` (GeoPackage, GeoJSON, CSV, XLSX or shapefile)."""
    return write_file(store.read_layer(layer_name), Path(path), layer=layer_name, fmt=fmt)
