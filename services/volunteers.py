"""The volunteer network for both doors: the groups the caller may see, and a summary per county.

Both read a snapshot as the caller may see it (``services.scope.view``): a province-scoped role's
snapshot holds only its provinces' groups, and a role without the exact-location right sees a
placed group at the generalised position of its place, without its settlement code (a group's
exact place is as sensitive as a centre's). Places are those of ``geo.volunteers``.
"""

from __future__ import annotations

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
    places it supplies per service (nothing where inactive). Groups in id order."""
    norms = volunteer_norms(snap)
    rows = groups_of(snap)
    if not len(rows):
        return []
    settlements = snap.layer("settlements")
    where = group_places(rows, settlements)
    supply = volunteer_supply(rows, settlements, norms)
    places = supply.groupby(["group_id", "service_type"])["places"].sum()
    out = []
    frame = rows.assign(placed=where["placed"], plon=where["lon"], plat=where["lat"])
    for group_id, part in frame.groupby("group_id", sort=True):
        first = part.iloc[0]
        placed = str(first["placed"])
        members = {str(s): int(m) for s, m in zip(part["speciality"], part["members"], strict=True)}
        settlement = first.get("settlement_code")
        out.append(
            {
                "group_id": str(group_id),
                "name_fa": first["name_fa"],
                "county_code": first["county_code"],
                "province_code": first["province_code"],
                "settlement_code": settlement if isinstance(settlement, str) else None,
                "placed": placed,
                "lon": None if placed == "county" else round(float(first["plon"]), 6),
                "lat": None if placed == "county" else round(float(first["plat"]), 6),
                "position_generalised": bool(first.get("position_generalised", False)),
                "active": bool(first["active"]),
                "members": members,
                "members_total": sum(members.values()),
                "places": (
                    {str(s): int(p) for s, p in places.loc[str(group_id)].items() if p}
                    if str(group_id) in places.index.get_level_values(0)
                    else {}
                ),
                "synthetic": bool(first["synthetic"]),
            }
        )
    return out


def summary(snap: Snapshot) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per county of the caller's (``geo.volunteers.county_summary``, with the county's and the
    province's names), and the totals of those counties."""
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
