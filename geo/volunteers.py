"""The volunteer network: where volunteer groups are, and the places their members supply.

A volunteer group is kept as one row per group and speciality (the ``volunteer_groups`` layer):
``group_id``, ``name_fa``, ``county_code``, ``settlement_code`` (or None), ``lon``/``lat`` (or None),
``speciality`` (a code of the norms' ``[volunteers]``), ``members`` of that speciality, ``active``
(the group's, the same on each of its rows) and ``synthetic``. One row per speciality keeps every
figure a plain column: members per speciality, per group and per county are sums of rows.

**Where a group counts.** A group with a point counts there; one with a settlement counts at the
settlement's point; one known only by its county counts in its county (``placed = "county"``).
Every group counts in its county's saturation; only a placed group (point or settlement) counts
in access (E2SFCA) and so in the flags that read access, because a catchment needs a place: a
county-level group is *not* spread over the county's settlements (that would invent where its
members work).

**Places.** One active member of a speciality counts for the norms' factor of places per service
(``VolunteerNorms.places``); an inactive group counts nothing. Places are counted per group,
speciality and service, to the nearest whole place (a half place up), in exact arithmetic on the
factor as written; so every total splits back into its parts exactly: a county's volunteer
places are the sum of its groups', a group's the sum of its specialities', and
``capacity = centre capacity + volunteer places`` in saturation.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from geo.decisions import fa_number
from geo.norms import VolunteerNorms

#: where a group counts: at its own point, at its settlement's point, or in its county only
PLACEMENTS = ("point", "settlement", "county")

#: the columns of ``volunteer_supply``
SUPPLY_COLUMNS = (
    "group_id",
    "speciality",
    "service_type",
    "county_code",
    "placed",
    "lon",
    "lat",
    "members",
    "places",
)


def _exact(value: float) -> Fraction:
    """A factor as the decimal it is written as (0.1 is one tenth, not its binary neighbour)."""
    return Fraction(str(float(value))).limit_denominator(10**6)


def member_places(members: pd.Series, factor: float) -> pd.Series:
    """``members`` × ``factor`` to the nearest whole place (halves up), in integers; int64."""
    exact = _exact(factor)
    counts = members.to_numpy(dtype="int64")
    out = (2 * counts * exact.numerator + exact.denominator) // (2 * exact.denominator)
    return pd.Series(out, index=members.index, dtype="int64")


def group_places(groups: pd.DataFrame, settlements: pd.DataFrame) -> pd.DataFrame:
    """Where each row's group counts: ``placed`` (``PLACEMENTS``), ``lon`` and ``lat`` (NaN for a
    county-level group), aligned with ``groups``.

    ``groups`` has ``settlement_code`` and ``lon``/``lat`` (NaN where the group has no point of
    its own); ``settlements`` has ``settlement_code`` and point ``geometry``. A point wins over a
    settlement; a settlement code that is not in ``settlements`` leaves the group at county level
    (the import refuses such a code, so this only happens to a store whose settlements changed).
    """
    n = len(groups)
    lon = (
        pd.to_numeric(groups["lon"], errors="coerce").to_numpy(dtype="float64")
        if "lon" in groups
        else np.full(n, np.nan)
    )
    lat = (
        pd.to_numeric(groups["lat"], errors="coerce").to_numpy(dtype="float64")
        if "lat" in groups
        else np.full(n, np.nan)
    )
    own = ~(np.isnan(lon) | np.isnan(lat))
    lon, lat = np.where(own, lon, np.nan), np.where(own, lat, np.nan)
    placed = np.where(own, "point", "county").astype(object)
    points = settlements[["settlement_code"]].assign(x=settlements.geometry.x, y=settlements.geometry.y)
    points = points.dropna(subset=["x", "y"]).drop_duplicates("settlement_code").set_index("settlement_code")
    codes = (
        groups["settlement_code"].astype(object).where(groups["settlement_code"].notna(), None)
        if "settlement_code" in groups
        else pd.Series(None, index=groups.index, dtype=object)
    )
    sx = codes.map(points["x"]).to_numpy(dtype="float64")
    sy = codes.map(points["y"]).to_numpy(dtype="float64")
    at_settlement = ~own & ~np.isnan(sx)
    lon[at_settlement], lat[at_settlement] = sx[at_settlement], sy[at_settlement]
    placed[at_settlement] = "settlement"
    return pd.DataFrame({"placed": placed, "lon": lon, "lat": lat}, index=groups.index)


def volunteer_supply(groups: pd.DataFrame, settlements: pd.DataFrame, norms: VolunteerNorms) -> pd.DataFrame:
    """The places each group supplies: one row per group, speciality and service it supplies.

    Columns ``SUPPLY_COLUMNS``: ``members`` of the speciality in the group (0 when the group is
    inactive: it counts nothing) and ``places`` (``member_places``). Rows of a speciality the
    norms do not know, or of a service the speciality does not supply, are not there.
    """
    where = group_places(groups, settlements)
    base = pd.DataFrame(
        {
            "group_id": groups["group_id"].astype(str).to_numpy(),
            "speciality": groups["speciality"].astype(str).to_numpy(),
            "county_code": groups["county_code"].astype(str).to_numpy(),
            "placed": where["placed"].to_numpy(),
            "lon": where["lon"].to_numpy(),
            "lat": where["lat"].to_numpy(),
            "members": np.where(
                groups["active"].astype(bool).to_numpy(), groups["members"].to_numpy(dtype="int64"), 0
            ),
        }
    )
    parts = []
    for code, speciality in norms.specialities.items():
        rows = base[base["speciality"] == code]
        if not len(rows):
            continue
        for service, factor in speciality.places.items():
            part = rows.assign(service_type=service)
            part["places"] = member_places(part["members"], factor)
            parts.append(part)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("members", "places") else "object")
                             for c in SUPPLY_COLUMNS})  # fmt: skip
    out = pd.concat(parts, ignore_index=True)[list(SUPPLY_COLUMNS)]
    return out.astype({"members": "int64", "places": "int64"})


def county_volunteer_capacity(supply: pd.DataFrame) -> pd.Series:
    """Volunteer places per (county_code, service_type): the sum of the groups' (int64)."""
    out = supply.groupby(["county_code", "service_type"])["places"].sum().astype("int64")
    out.name = "volunteer_capacity"
    return out


def located_supply(supply: pd.DataFrame) -> pd.DataFrame:
    """The placed part of ``supply`` (a point or a settlement) with places to give, for access:
    ``service_type``, ``lon``, ``lat``, ``places``, one row per group and service."""
    placed = supply[(supply["placed"] != "county") & (supply["places"] > 0)]
    out = placed.groupby(["group_id", "service_type", "lon", "lat"], as_index=False)["places"].sum()
    return out[["group_id", "service_type", "lon", "lat", "places"]]


def network_totals(groups: pd.DataFrame, specialities: tuple[str, ...] | None = None) -> dict[str, int]:
    """The network's figures: ``groups``, ``active_groups``, ``members``, ``active_members`` and
    ``members_<speciality>`` per speciality (those of ``specialities``, and any other present)."""
    members = groups["members"].astype("int64")
    active = groups["active"].astype(bool)
    per_group = groups.drop_duplicates("group_id")
    out = {
        "groups": int(per_group["group_id"].nunique()),
        "active_groups": int(per_group["active"].astype(bool).sum()),
        "members": int(members.sum()),
        "active_members": int(members[active].sum()),
    }
    by = members.groupby(groups["speciality"]).sum()
    for code in [*(specialities or ()), *sorted(set(by.index) - set(specialities or ()))]:
        out[f"members_{code}"] = int(by.get(code, 0))
    return out


def county_summary(groups: pd.DataFrame, settlements: pd.DataFrame, norms: VolunteerNorms) -> pd.DataFrame:
    """Per county: ``groups``, ``active_groups``, ``members``, ``active_members``, members per
    speciality (``members_<speciality>``), ``placed_groups`` (at a point or a settlement) and
    ``county_level_groups``, volunteer places per service (``places_<service>``, every service a
    speciality supplies) and in all (``places``). Indexed by ``county_code``, in code order."""
    services = sorted({s for sp in norms.specialities.values() for s in sp.places})
    columns = [
        "groups", "active_groups", "members", "active_members",
        *(f"members_{c}" for c in norms.codes),
        "placed_groups", "county_level_groups", *(f"places_{s}" for s in services), "places",
    ]  # fmt: skip
    if not len(groups):
        return pd.DataFrame(columns=columns, index=pd.Index([], name="county_code"), dtype="int64")
    members = groups["members"].astype("int64")
    active = groups["active"].astype(bool)
    county = groups["county_code"].astype(str)
    first = ~groups["group_id"].duplicated()
    where = group_places(groups, settlements)
    out = pd.DataFrame(
        {
            "groups": first.groupby(county).sum(),
            "active_groups": (first & active).groupby(county).sum(),
            "members": members.groupby(county).sum(),
            "active_members": members.where(active, 0).groupby(county).sum(),
            "county_level_groups": (first & (where["placed"] == "county")).groupby(county).sum(),
        }
    )
    out.index.name = "county_code"
    by_speciality = members.groupby([county, groups["speciality"].astype(str)]).sum().unstack(fill_value=0)
    for code in norms.codes:
        col = by_speciality[code] if code in by_speciality.columns else pd.Series(dtype="int64")
        out[f"members_{code}"] = col.reindex(out.index, fill_value=0)
    out["placed_groups"] = out["groups"] - out["county_level_groups"]
    supply = volunteer_supply(groups, settlements, norms)
    by_service = supply.pivot_table(
        index="county_code", columns="service_type", values="places", aggfunc="sum", fill_value=0
    )
    for service in services:
        col = by_service[service] if service in by_service.columns else pd.Series(dtype="int64")
        out[f"places_{service}"] = col.reindex(out.index, fill_value=0)
    out["places"] = out[[f"places_{s}" for s in services]].sum(axis=1)
    for col in columns:
        if col not in out.columns:
            out[col] = 0
    return out[columns].astype("int64")


def capacity_words(centres: int, volunteers: int) -> tuple[str, str]:
    """Capacity and its parts in words, Persian and English: "ظرفیت ۴۲۰ = ۳۸۰ ظرفیت مراکز + ۴۰
    داوطلبان" and "capacity 420 = 380 licensed + 40 volunteers"."""
    total = centres + volunteers
    fa = f"ظرفیت {fa_number(total)} = {fa_number(centres)} ظرفیت مراکز + {fa_number(volunteers)} داوطلبان"
    en = f"capacity {total:,} = {centres:,} licensed + {volunteers:,} volunteers"
    return fa, en


#: Why a volunteer group's row is refused (beyond the schema's own reasons: an unknown county is
#: ``unknown_county``, negative members ``value_out_of_range``, the same group and speciality
#: twice ``duplicate_key``).
VOLUNTEER_REASONS = {
    "unknown_speciality": ("not a speciality of the norms", "از تخصص‌های هنجارها نیست"),
    "unknown_settlement": (
        "no settlement of that code in the group's county",
        "آبادی‌ای با این کد در شهرستان گروه نیست",
    ),
    "group_inconsistent": (
        "the same group's rows differ in its name, place or whether it is active",
        "ردیف‌های یک گروه در نام، مکان یا فعال بودن با هم نمی‌خوانند",
    ),
    "half_point": ("a point needs both longitude and latitude", "نقطه هم طول و هم عرض جغرافیایی می‌خواهد"),
}

_GROUP_FIELDS = ("name_fa", "county_code", "settlement_code", "lon", "lat", "active")


def _value(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


def volunteer_rejections(
    rows: pd.DataFrame,
    norms: VolunteerNorms | None,
    settlements: pd.DataFrame | None,
    *,
    stored: pd.DataFrame | None = None,
    provinces: frozenset[str] | None = None,
) -> list[tuple[int, str, str, str, str]]:
    """What is wrong with volunteer group rows beyond their types: ``(row, field, value, reason,
    message)`` per problem, rows numbered from 1 in ``rows``' order.

    A row's speciality must be one of ``norms`` (None: not checked, as when a saved version is
    restored); its settlement (if any) a settlement of its county; its point both longitude and
    latitude or neither; a group's rows must agree on its name, place and ``active``; with
    ``provinces`` (a licensing officer's), a group id ``stored`` in another province is refused
    (the county of a row outside the provinces is refused by the caller, as for centres).
    """
    county_of = (
        {}
        if settlements is None
        else dict(zip(settlements["settlement_code"], settlements["county_code"], strict=True))
    )
    out: list[tuple[int, str, str, str, str]] = []
    seen: dict[str, tuple[int, tuple]] = {}
    theirs = set()
    if stored is not None and provinces is not None and len(stored):
        theirs = set(stored.loc[~stored["province_code"].astype(str).isin(provinces), "group_id"].astype(str))
    cols = {c: rows[c] if c in rows.columns else pd.Series(None, index=rows.index) for c in
            ("group_id", "speciality", *_GROUP_FIELDS)}  # fmt: skip
    for n, i in enumerate(rows.index, start=1):
        group = _value(cols["group_id"][i])
        group = None if group is None else str(group)
        speciality = _value(cols["speciality"][i])
        if speciality is not None and norms is not None and speciality not in norms.specialities:
            out.append(
                (n, "speciality", str(speciality), "unknown_speciality",
                 f"row {n}: speciality {speciality!r} is not one of {', '.join(norms.codes)}")
            )  # fmt: skip
        settlement = _value(cols["settlement_code"][i])
        county = _value(cols["county_code"][i])
        if settlement is not None and settlements is not None:
            settlement = str(settlement)
            if county_of.get(settlement) is None or (
                county is not None and county_of[settlement] != str(county)
            ):
                out.append(
                    (n, "settlement_code", settlement, "unknown_settlement",
                     f"row {n}: no settlement {settlement} in county {county}")
                )  # fmt: skip
        lon, lat = _value(cols["lon"][i]), _value(cols["lat"][i])
        if (lon is None) != (lat is None):
            out.append(
                (n, "lon" if lon is None else "lat", "", "half_point",
                 f"row {n}: a point needs both longitude and latitude")
            )  # fmt: skip
        if group is None:
            continue
        if group in theirs:
            out.append(
                (n, "group_id", group, "other_province",
                 f"row {n}: group {group} belongs to a province outside yours")
            )  # fmt: skip
        facts = tuple(_value(cols[c][i]) for c in _GROUP_FIELDS)
        facts = tuple(str(f) if f is not None else None for f in facts)
        if group in seen and seen[group][1] != facts:
            first = seen[group][0]
            out.append(
                (n, "group_id", group, "group_inconsistent",
                 f"row {n}: group {group} differs from its row {first} in its name, place or active")
            )  # fmt: skip
        seen.setdefault(group, (n, facts))
    return out


__all__ = [
    "PLACEMENTS",
    "SUPPLY_COLUMNS",
    "VOLUNTEER_REASONS",
    "capacity_words",
    "county_summary",
    "county_volunteer_capacity",
    "group_places",
    "located_supply",
    "member_places",
    "network_totals",
    "volunteer_rejections",
    "volunteer_supply",
]
