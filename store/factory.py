"""Choosing the store from one setting."""

from __future__ import annotations

from store.base import Store, StoreError


def open_store(url: str) -> Store:
    """Open the store named by ``url``.

    * ``postgresql://user:pass@host:port/db`` (or ``postgresql+psycopg://``): the PostGIS store;
    * ``gpkg:///path/to/file.gpkg`` or a plain path: the embedded GeoPackage store.
    """
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        try:
            from store.postgis import PostGISStore
        except ImportError as err:
            raise StoreError(
                "The PostGIS store is not available in this version; use a GeoPackage path"
            ) from err
        return PostGISStore(url)
    path = url.removeprefix("gpkg://")
    if not path:
        raise StoreError("empty store setting: give a GeoPackage path or a postgresql:// URL")
    from store.gpkg import GeoPackageStore

    return GeoPackageStore(path)
