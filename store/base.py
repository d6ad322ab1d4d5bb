"""The storage interface every store implements."""

from __future__ import annotations

import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.activities import FIELDS as ACTIVITY_FIELDS
from geo.applications import FIELDS as APPLICATION_FIELDS
from geo.crs import STORAGE_CRS, require_crs
from geo.errors import ActivityNotFound, ApplicationNotFound, PreconditionFailed

# The store's errors are in the one family of geo.errors; named here too for the store's users.
from geo.errors import NoSpace as NoSpace
from geo.errors import ScenarioNotFound as ScenarioNotFound
from geo.errors import StoreError as StoreError
from geo.schema import Layer, check_values, conform, layer

Frame: TypeAlias = gpd.GeoDataFrame | pd.DataFrame

#: Room a write to a file store needs beyond its copy: the new rows and SQLite's journal.
WRITE_HEADROOM = 16 * 2**20


def room_for_a_write(store_bytes: int) -> int:
    """Free bytes a write to a file store of ``store_bytes`` needs: the working copy of the
    store, as much again for the layers it rewrites, and a margin."""
    return 2 * store_bytes + WRITE_HEADROOM


def megabytes(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def ensure_space(folder, needed: int, what: str) -> None:
    """Refuse before starting, with the figures, when ``folder``'s disk has less than ``needed``
    bytes free: a disk that fills half-way through costs the user a wait and a failure."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise NoSpace(
            f"{what} needs about {megabytes(needed)} free in {folder}, and {megabytes(free)} is free; "
            "nothing was written. Free space there and try again."
        )


#: A saved scenario: ``id``, ``name``, ``owner`` (a user name; sign-in will tie it to users),
#: ``created_at`` (ISO 8601, UTC), ``description``, ``copied_from`` (an id or None) and
#: ``payload`` (the changes, a JSON object; see ``geo.scenarios``).
SCENARIO_FIELDS = ("id", "name", "owner", "created_at", "description", "copied_from", "payload")


class Transaction(ABC):
    """Writes that take effect together when the ``with`` block ends, or not at all."""

    @abstractmethod
    def write_layer(self, name: str, frame: Frame) -> None:
        """Replace layer ``name`` with ``frame``."""

    @abstractmethod
    def append(self, name: str, frame: Frame) -> None:
        """Add the rows of ``frame`` to layer ``name`` (created if absent)."""


#: Below this many rows a frame's repeated strings are left as they are (a thousand copies of a
#: short string weigh about 60 KB).
SHARE_MIN_ROWS = 1000


def share_repeated_strings(
    frame: Frame, pool: dict[str, str] | None = None, min_rows: int | None = None
) -> Frame:
    """``frame`` with each text column's equal strings held as one object.

    A driver reads every cell of a text column as a string of its own: 99,654 settlements kept
    99,654 copies of two words in ``kind`` and of 31 province codes; over the layers a snapshot
    holds, about 70 MB of copies. The values, their order and the missing cells are unchanged
    (only columns whose every present value is a string are touched). ``pool`` (a dict of strings
    to themselves) shares them across frames too: the chunks of one layer as they are read.
    A frame of fewer than ``min_rows`` rows (``SHARE_MIN_ROWS``) is returned as it is: its copies
    weigh less than the work (a small store's thirteen layers read 30 % faster)."""
    if len(frame) < (SHARE_MIN_ROWS if min_rows is None else min_rows):
        return frame
    for column in frame.columns:
        values = frame[column].to_numpy()
        if values.dtype != object or len(values) < 2:
            continue
        if pd.api.types.infer_dtype(values, skipna=True) != "string":
            continue
        codes, uniques = pd.factorize(values)
        if len(uniques) == len(values):
            continue  # nothing repeated (keys, most names)
        if pool is not None:
            uniques = [pool.setdefault(u, u) for u in uniques]
        shared = np.asarray(uniques, dtype=object).take(codes)
        missing = codes < 0
        if missing.any():
            shared[missing] = values[missing]  # None stays None and NaN NaN
        frame[column] = pd.Series(shared, index=frame.index, dtype=object)  # kept object: not inferred
    return frame


class Store(ABC):
    """A set of named layers (see ``geo.schema.LAYERS``)."""

    @abstractmethod
    def list_layers(self) -> list[str]:
        """Names of the layers present, in schema order."""

    @abstractmethod
    def count(self, name: str) -> int:
        """Number of rows in layer ``name``."""

    @abstractmethod
    def _read(self, spec: Layer, bbox: tuple[float, float, float, float] | None) -> Frame: ...

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A transaction: every write inside lands together, or none does."""

    @abstractmethod
    def version(self) -> str:
        """A token that changes whenever a transaction commits (for caches of the layers)."""

    def read_layer(self, name: str, bbox: tuple[float, float, float, float] | None = None) -> Frame:
        """Read layer ``name`` (optionally only features intersecting ``bbox``, lon/lat)."""
        spec = layer(name)
        if name not in self.list_layers():
            raise StoreError(f"layer {name!r} is not in the store; build the demo or import it first")
        frame = self._read(spec, bbox)
        out = conform(frame, spec)
        return share_repeated_strings(out.sort_values(spec.key.split(","), ignore_index=True))

    def read_layers(self) -> dict[str, Frame]:
        """Every layer present, by name in schema order: as ``read_layer`` reads each, the store
        listed once (a snapshot reads them all after each commit)."""
        out = {}
        for name in self.list_layers():
            spec = layer(name)
            out[name] = share_repeated_strings(
                conform(self._read(spec, None), spec).sort_values(spec.key.split(","), ignore_index=True)
            )
        return out

    def write_layer(self, name: str, frame: Frame) -> None:
        with self.transaction() as tx:
            tx.write_layer(name, frame)

    def append(self, name: str, frame: Frame) -> None:
        with self.transaction() as tx:
            tx.append(name, frame)

    def select_keys(
        self, name: str, where, sortby: tuple[tuple[str, bool], ...] = (), provinces=None
    ) -> list | None:
        """The keys of the rows of ``name`` passing ``where`` (a ``geo.filtering`` tree), sorted,
        among the rows of ``provinces`` (None: all).

        ``None`` where the store cannot evaluate filters itself: the caller then filters its
        in-memory copy (``geo.filtering.mask_from_filter``), with the same result.
        """
        return None

    def close(self) -> None:  # noqa: B027 - a no-op unless the store holds connections
        """Release connections; the store may not be used afterwards."""

    # ---- scenarios: named sets of changes, kept beside the layers -----------------------------
    # Saving or deleting a scenario is not a layer commit: ``version()`` does not change, so
    # readers' cached layers and analyses stay valid.

    @abstractmethod
    def save_scenario(self, scenario: dict) -> None:
        """Store a new scenario (``SCENARIO_FIELDS``); an existing id is refused."""

    @abstractmethod
    def scenario(self, scenario_id: str) -> dict:
        """The scenario with this id; ``ScenarioNotFound`` if there is none."""

    @abstractmethod
    def list_scenarios(self, owner: str | None = None) -> list[dict]:
        """Scenarios (newest first), optionally only one owner's."""

    @abstractmethod
    def delete_scenario(self, scenario_id: str) -> None:
        """Delete a scenario; ``ScenarioNotFound`` if there is none."""

    # ---- licence applications: the officers' register, beside the layers ----------------------
    # Like scenarios, an application's edits are no layer commit; only an approval, which adds
    # the licence to ``ngos`` in the same transaction, is. Every edit names the version it was
    # based on and is refused (``PreconditionFailed``) if the stored one has moved on.
    # ``provinces`` (None: all) limits what a call may see or change, as row-level security does
    # in PostGIS.

    @abstractmethod
    def add_applications(self, rows: list[dict]) -> None:
        """Store new applications (``geo.applications.FIELDS``); an existing id is refused."""

    def list_applications(self, provinces=None) -> list[dict]:
        """Applications, newest received first."""
        with self._reading_applications() as conn:
            return self._select_applications(conn, provinces)

    def application(self, application_id: str, provinces=None) -> dict:
        """One application; ``ApplicationNotFound`` if there is none the caller may see."""
        with self._reading_applications() as conn:
            return self._the_application(conn, application_id, provinces)

    def update_application(
        self,
        application_id: str,
        version: int,
        changes: dict,
        provinces=None,
        licence: gpd.GeoDataFrame | None = None,
    ) -> dict:
        """Apply ``changes`` to the application if it is still at ``version``; the new row.

        With ``licence`` (one ``ngos`` row), the licence joins the registry in the same
        transaction (a layer commit), or neither happens."""
        with self._writing_application(licence) as conn:
            current = self._the_application(conn, application_id, provinces)
            new = encode_application({**current, **changes, "version": version + 1})
            if not self._set_application(conn, new, version):
                raise PreconditionFailed(
                    f"application {application_id} was changed by somebody else (it is at version "
                    f"{current['version']}, the edit was based on {version}); reload it and decide again"
                )
        return decode_application(new)

    def _the_application(self, conn: Any, application_id: str, provinces) -> dict:
        rows = self._select_applications(conn, provinces, application_id)
        if not rows:
            raise ApplicationNotFound(f"no licence application {application_id!r}")
        return rows[0]

    # What each store says its own way: a connection to read, one to write (with the licence of an
    # approval appended in the same transaction), the selection, and the compare-and-set.

    @abstractmethod
    def _reading_applications(self) -> AbstractContextManager[Any]:
        """A connection to read applications from (the store's own kind)."""

    @abstractmethod
    def _writing_application(self, licence: gpd.GeoDataFrame | None) -> AbstractContextManager[Any]:
        """A connection in which to change one application; with ``licence``, the licence is
        appended to ``ngos`` in the same transaction, committed with it or not at all."""

    @abstractmethod
    def _select_applications(self, conn: Any, provinces, application_id: str | None = None) -> list[dict]:
        """Applications ``provinces`` may see (None: all), decoded, newest received first; only
        ``application_id`` where given; none where the store has no applications table."""

    @abstractmethod
    def _set_application(self, conn: Any, row: dict, version: int) -> bool:
        """Write ``row`` (encoded) over its application if that is still at ``version``; whether
        it was."""

    # ---- programme activities: the 3W register of the capacity-building programme -----------
    # Beside the layers like the applications: no layer commit. Each edit names the version it
    # was based on (compare-and-set); ``provinces`` (None: all) limits what a call may see or
    # change. The place, the licence and the values are checked before (``geo.activities``); the
    # tables' own constraints refuse an unknown status or kind, negative counts and an end
    # before the start whatever the caller.

    @abstractmethod
    def add_activities(self, rows: list[dict]) -> None:
        """Store new activities (``geo.activities.FIELDS``) together, or none; an existing id is
        refused (``AlreadyExists``)."""

    @abstractmethod
    def _select_activities(self, provinces, activity_id: str | None = None) -> list[dict]:
        """Activities ``provinces`` may see (None: all), decoded, by start date (newest first)
        and id; only ``activity_id`` where given; none where the store has no activities table."""

    @abstractmethod
    def _set_activity(self, row: dict, version: int, provinces) -> bool:
        """Write ``row`` (encoded) over its activity if that is still at ``version`` and in
        ``provinces``; whether it was."""

    @abstractmethod
    def _delete_activity(self, activity_id: str, version: int, provinces) -> bool:
        """Delete the activity if it is still at ``version`` and in ``provinces``; whether it was."""

    def list_activities(self, provinces=None) -> list[dict]:
        """Activities of ``provinces`` (None: all), newest start first."""
        return self._select_activities(provinces)

    def activity(self, activity_id: str, provinces=None) -> dict:
        """One activity; ``ActivityNotFound`` if there is none the caller may see."""
        rows = self._select_activities(provinces, activity_id)
        if not rows:
            raise ActivityNotFound(f"no activity {activity_id!r}")
        return rows[0]

    def update_activity(self, activity_id: str, version: int, changes: dict, provinces=None) -> dict:
        """Apply ``changes`` to the activity if it is still at ``version``; the new row."""
        current = self.activity(activity_id, provinces)
        new = encode_activity({**current, **changes, "activity_id": activity_id, "version": version + 1})
        if not self._set_activity(new, version, provinces):
            raise PreconditionFailed(
                f"activity {activity_id} was changed by somebody else (the edit was based on version "
                f"{version}); reload it and edit again"
            )
        return decode_activity(new)

    def delete_activity(self, activity_id: str, version: int, provinces=None) -> dict:
        """Delete the activity if it is still at ``version``; the row deleted."""
        current = self.activity(activity_id, provinces)
        if not self._delete_activity(activity_id, version, provinces):
            raise PreconditionFailed(
                f"activity {activity_id} was changed by somebody else (the deletion was based on "
                f"version {version}); reload it"
            )
        return current

    def layer_counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in self.list_layers()}


def encode_application(row: dict) -> dict:
    """An application as stored: every field, the check as JSON text."""
    out = {f: row.get(f) for f in APPLICATION_FIELDS}
    if out["check_result"] is not None and not isinstance(out["check_result"], str):
        out["check_result"] = json.dumps(out["check_result"], ensure_ascii=False, allow_nan=False)
    out["synthetic"] = bool(out["synthetic"])
    out["version"] = int(out["version"] or 1)
    return out


def decode_application(row: dict) -> dict:
    out: dict[str, Any] = {f: row.get(f) for f in APPLICATION_FIELDS}
    if isinstance(out["check_result"], str):
        out["check_result"] = json.loads(out["check_result"])
    out["synthetic"] = bool(out["synthetic"])
    out["capacity"] = int(out["capacity"])
    out["version"] = int(out["version"])
    for f in ("lon", "lat"):
        out[f] = float(out[f])
    return out


def encode_activity(row: dict) -> dict:
    """An activity as stored: every field, counts as int, dates as ISO text, a flag as bool."""
    out = {f: row.get(f) for f in ACTIVITY_FIELDS}
    for f in ("households", "persons", "version"):
        out[f] = int(out[f] or (1 if f == "version" else 0))
    for f in ("start_date", "end_date"):
        value = out[f]
        if value is not None and not isinstance(value, str):
            out[f] = value.isoformat()[:10]
    out["synthetic"] = bool(out["synthetic"])
    return out


def decode_activity(row: dict) -> dict:
    out = encode_activity(row)
    for f in ("start_date", "end_date"):
        if out[f] is not None:
            out[f] = str(out[f])[:10]
    return out


def validate_frame(name: str, frame: Frame) -> Frame:
    """Conform ``frame`` to the schema of ``name`` and check its CRS and key; return the result."""
    spec = layer(name)
    if spec.geometry_type is not None:
        if not isinstance(frame, gpd.GeoDataFrame):
            raise StoreError(f"{name} needs a geometry column")
        require_crs(frame, STORAGE_CRS, name=name)
        if frame.geometry.isna().any() or frame.geometry.is_empty.any():
            raise StoreError(f"{name}: empty or missing geometries")
    out = conform(frame, spec)
    check_values(out, spec)
    check_unique_key(spec, out)
    return out


def check_unique_key(spec: Layer, frame: pd.DataFrame) -> None:
    keys = spec.key.split(",")
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        sample = frame.loc[dup, keys].head(3).to_dict("records")
        raise StoreError(f"{spec.name}: duplicate {spec.key} values, e.g. {sample}")
