"""The volunteer network for both doors: the groups the caller may see, and a summary per county.

Both read a snapshot as the caller may see it (``services.scope.view``): a province-scoped role's
snapshot holds only its provinces' groups, and a role without the exact-location right sees a
placed group at the generalised position of its place, without its settlement code (a group's
exact place is as sensitive as a centre's). Places are those of ``geo.volunteers``.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from geo.errors import ConfigurationError
from geo.norms import VolunteerNorms
from geo.volunteers import county_summary, group_places, network_totals, volunteer_supply
from services.snapshot import Snapshot


def volunteer_norms(snap: Snapshot) -> VolunteerNorms:
    """The norms' ``[volunteers]``; a clear error where the norms have none."""
    if snap.norms.volunteers is None:
        raise ConfigurationError("the norms have no [volunteers] table: volunteer groups are not counted")
    return snap.norms.volunteers


def norms_answer(norms: VolunteerNorms, version: str) -> dict:
    """The specialities as an answer shows them: names and places per active member."""
    return {
        "specialities": [
            {"speciality": s.code, "fa": s.fa, "en": s.en, "places": dict(s.places)}
            for s in norms.specialities.values()
        ],
        "count_as_supply": norms.count_as_supply,
        "synthetic": norms.synthetic,
        "label": norms.label(version),
    }


def groups_of(snap: Snapshot) -> pd.DataFrame:
    """The volunteer groups' rows the caller may see (empty where there are none)."""
    frame = snap.layers.get("volunteer_groups")
    if frame is None:
        from geo.schema import LAYERS

        return pd.DataFrame(columns=LAYERS["volunteer_groups"].column_names)
    return pd.DataFrame(frame)


def group_list(snap: Snapshot) -> list[dict]:
    """One entry per group: its name, county, place (``placed``: point, settlement or county;
    ``lon``/``lat`` where placed), whether active, members per speciality and in all, and the
    places it supplies per service (nothing where inactive). Groups in id order; made once per
    snapshot (a caller's view is a snapshot of its own)."""
    return cast(list[dict], snap.cached("volunteers:groups", lambda: _group_list(snap)))


def _group_list(snap: Snapshot) -> list[dict]:
    norms = volunteer_norms(snap)
    rows = groups_of(snap)
    if not len(rows):
        return []
    rows = rows.assign(group_id=rows["group_id"].astype(str), speciality=rows["speciality"].astype(str))
    rows = rows.sort_values(["group_id", "speciality"], kind="stable", ignore_index=True)
    settlements = snap.layer("settlements")
    where = group_places(rows, settlements)
    supply = volunteer_supply(rows, settlements, norms)
    places: dict[str, dict[str, int]] = {}
    per_service = supply.groupby(["group_id", "service_type"], sort=True)["places"].sum()
    for (group_id, service), p in per_service.items():
        if p:
            places.setdefault(str(group_id), {})[str(service)] = int(p)
    members: dict[str, dict[str, int]] = {}
    for group_id, speciality, m in zip(rows["group_id"], rows["speciality"], rows["members"], strict=True):
        members.setdefault(group_id, {})[speciality] = int(m)
    first = ~rows["group_id"].duplicated()
    head = rows[first.to_numpy()]
    at = where[first.to_numpy()]
    generalised = (
        head["position_generalised"].fillna(False).astype(bool).to_numpy()
        if "position_generalised" in head
        else np.zeros(len(head), dtype=bool)
    )
    at_placed = at["placed"].to_numpy()
    at_lon, at_lat = at["lon"].to_numpy(), at["lat"].to_numpy()
    out = []
    for k, r in enumerate(head.itertuples(index=False)):
        placed = str(at_placed[k])
        settlement = getattr(r, "settlement_code", None)
        out.append(
            {
                "group_id": r.group_id,
                "name_fa": r.name_fa,
                "county_code": r.county_code,
                "province_code": r.province_code,
                "settlement_code": settlement if isinstance(settlement, str) else None,
                "placed": placed,
                "lon": None if placed == "county" else round(float(at_lon[k]), 6),
                "lat": None if placed == "county" else round(float(at_lat[k]), 6),
                "position_generalised": bool(generalised[k]),
                "active": bool(r.active),
                "members": members[r.group_id],
                "members_total": sum(members[r.group_id].values()),
                "places": places.get(r.group_id, {}),
                "synthetic": bool(r.synthetic),
            }
        )
    return out


def summary(snap: Snapshot) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per county of the caller's (``geo.volunteers.county_summary``, with the county's and the
    province's names), and the totals of those counties; made once per snapshot."""
    return cast(
        tuple[pd.DataFrame, dict[str, int]], snap.cached("volunteers:summary", lambda: _summary(snap))
    )


def _summary(snap: Snapshot) -> tuple[pd.DataFrame, dict[str, int]]:
    norms = volunteer_norms(snap)
    rows = groups_of(snap)
    table = county_summary(rows, snap.layer("settlements"), norms).reset_index()
    counties = snap.layer("counties").set_index("county_code")
    table.insert(1, "county_fa", table["county_code"].map(counties["name_fa"]))
    table.insert(2, "province_code", table["county_code"].map(counties["province_code"]))
    totals = (
        network_totals(rows, norms.codes)
        if len(rows)
        else {
            "groups": 0,
            "active_groups": 0,
            "members": 0,
            "active_members": 0,
            **{f"members_{c}": 0 for c in norms.codes},
        }
    )
    totals["places"] = int(table["places"].sum()) if len(table) else 0
    return table, totals


__all__ = ["group_list", "groups_of", "norms_answer", "summary", "volunteer_norms"]
