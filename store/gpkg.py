"""The embedded store: one GeoPackage file, no server.

A transaction works on a copy of the file and replaces the original atomically
(``os.replace``) when it commits, so readers always see a complete store and a crash or kill
half-way leaves the file as it was. Writers take an exclusive lock on ``<file>.lock``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.schema import LAYERS, Layer, layer
from store.base import Frame, Store, StoreError, Transaction, check_unique_key, validate_frame


class _GpkgTransaction(Transaction):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _layers(self) -> list[str]:
        if not self.path.exists():
            return []
        return [str(n) for n in pyogrio.list_layers(self.path)[:, 0]]

    def write_layer(self, name: str, frame: Frame) -> None:
        out = validate_frame(name, frame)
        _write(self.path, layer(name), out, append=False)

    def append(self, name: str, frame: Frame) -> None:
        spec = layer(name)
        out = validate_frame(name, frame)
        if name in self._layers():
            existing = pyogrio.read_dataframe(
                self.path, layer=name, columns=spec.key.split(","), read_geometry=False
            )
            check_unique_key(spec, pd.concat([existing, out[spec.key.split(",")]], ignore_index=True))
            _write(self.path, spec, out, append=True)
        else:
            _write(self.path, spec, out, append=False)


def _write(path: Path, spec: Layer, frame: Frame, *, append: bool) -> None:
    frame = frame.reset_index(drop=True)
    # GeoPackage has no nullable integer or boolean type that pyogrio maps back; store them as
    # plain columns and let ``conform`` restore the dtypes on read.
    for col in spec.columns:
        if col.dtype == "int" and frame[col.name].isna().any():
            frame[col.name] = frame[col.name].astype("float64")
        elif col.dtype == "int":
            frame[col.name] = frame[col.name].astype("int64")
        elif col.dtype == "bool":
            frame[col.name] = frame[col.name].astype(bool)
    kwargs = {"layer": spec.name, "driver": "GPKG", "append": append}
    if spec.geometry_type:
        kwargs["geometry_type"] = spec.geometry_type
    else:
        frame = pd.DataFrame(frame)
    pyogrio.write_dataframe(frame, path, **kwargs)


class GeoPackageStore(Store):
    """Layers in one GeoPackage file at ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    def list_layers(self) -> list[str]:
        if not self.path.exists():
            return []
        present = {str(n) for n in pyogrio.list_layers(self.path)[:, 0]}
        return [name for name in LAYERS if name in present]

    def version(self) -> str:
        # Every commit replaces the file (a new inode), so this changes with each transaction.
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "empty"
        return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"

    def count(self, name: str) -> int:
        layer(name)
        if name not in self.list_layers():
            raise StoreError(f"layer {name!r} is not in the store")
        return int(pyogrio.read_info(self.path, layer=name, force_feature_count=True)["features"])

    def _read(self, spec: Layer, bbox: tuple[float, float, float, float] | None) -> Frame:
        if spec.geometry_type is None:
            return pyogrio.read_dataframe(self.path, layer=spec.name, read_geometry=False)
        frame = pyogrio.read_dataframe(self.path, layer=spec.name, bbox=bbox)
        if not isinstance(frame, gpd.GeoDataFrame):  # pragma: no cover - defensive
            raise StoreError(f"{spec.name} has no geometry in {self.path}")
        return frame

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Copies left by a writer that was killed: nobody else can be using them now.
            for stale in self.path.parent.glob(f".{self.path.stem}.*.tmp.gpkg"):
                stale.unlink(missing_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{self.path.stem}.", suffix=".tmp.gpkg", dir=self.path.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                    mode = stat.S_IMODE(self.path.stat().st_mode)
                else:
                    tmp.unlink()
                    umask = os.umask(0)
                    os.umask(umask)
                    mode = 0o666 & ~umask
                yield _GpkgTransaction(tmp)
                if tmp.exists():
                    # The copy is made private (mkstemp); the store keeps the mode it had.
                    os.chmod(tmp, mode)
                    with open(tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
                    os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
                fcntl.flock(lock, fcntl.LOCK_UN)
