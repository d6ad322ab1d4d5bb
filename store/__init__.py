"""Persistence behind one small interface.

``open_store(url)`` picks the implementation from one setting: a file path (or ``gpkg:`` URL)
gives the embedded GeoPackage store; a ``postgresql://`` URL the PostGIS store.
"""

from store.base import Store, StoreError, Transaction
from store.factory import open_store

__all__ = ["Store", "StoreError", "Transaction", "open_store"]
