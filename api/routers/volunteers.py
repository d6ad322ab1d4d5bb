"""The volunteer network: the groups of the caller's provinces, and volunteers per county.

Thin: the work is ``services.volunteers``. Both read the caller's view of the snapshot, so a
province-scoped role sees its provinces' groups only, and a role without the exact-location right
sees a group's place generalised as a centre's. Groups come in through the import
(``POST /imports?layer=volunteer_groups``, or ``amayesh import volunteer_groups``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.deps import json_records, plain_json, require_export, snapshot
from api.exports import table_download
from api.routers.assessments import _record, notice
from api.schemas import VolunteerGroups, VolunteerSummary, declared, with_downloads
from services.snapshot import Snapshot
from services.tables import localised
from services.volunteers import group_list, norms_answer, summary, volunteer_norms

router = APIRouter(tags=["Volunteers"])

#: headers of the summary's CSV/XLSX (Persian, English); members_<speciality> and
#: places_<service> are named from the norms and the service list
HEADERS = {
    "county_code": ("کد شهرستان", "County code"),
    "county_fa": ("شهرستان", "County"),
    "province_code": ("کد استان", "Province code"),
    "groups": ("گروه‌ها", "Groups"),
    "active_groups": ("گروه‌های فعال", "Active groups"),
    "members": ("اعضا", "Members"),
    "active_members": ("اعضای گروه‌های فعال", "Members of active groups"),
    "placed_groups": ("گروه‌های دارای مکان", "Groups with a place"),
    "county_level_groups": ("گروه‌های در سطح شهرستان", "County-level groups"),
    "places": ("ظرفیت داوطلبان (همهٔ خدمات)", "Volunteer places (all services)"),
}


@router.get(
    "/volunteers/groups",
    summary="The volunteer groups of the caller's provinces: place, members per speciality, places",
    response_model=None,
    responses=declared(VolunteerGroups),
)
@plain_json  # 4.9 MB for the country: the encoder's walk took 650 ms of it
def volunteer_groups(snap: Annotated[Snapshot, Depends(snapshot)]) -> dict:
    norms = volunteer_norms(snap)
    groups = group_list(snap)
    return {
        "as_of": snap.as_of.isoformat(),
        "norms_version": snap.norms.version,
        "numberReturned": len(groups),
        "groups": groups,
        "norms": norms_answer(norms, snap.norms.version),
        "notice": notice(snap),
    }


@router.get(
    "/volunteers/summary",
    summary="Volunteers per county of the caller's: groups, members per speciality, places per service",
    response_model=None,
    responses=with_downloads(VolunteerSummary, ("csv", "xlsx")),
)
def volunteer_summary(
    http: Request,
    snap: Annotated[Snapshot, Depends(snapshot)],
    f: Annotated[Literal["json", "csv", "xlsx"] | None, Query(description="format")] = None,
    lang: Annotated[Literal["fa", "en"], Query(description="CSV/XLSX headers' language")] = "fa",
):
    norms = volunteer_norms(snap)
    table, totals = summary(snap)
    if f in ("csv", "xlsx"):
        require_export(http)
        i = 0 if lang == "fa" else 1
        labels = {
            **{k: v[i] for k, v in HEADERS.items()},
            **{f"members_{s.code}": (f"اعضا: {s.fa}", f"Members: {s.en}")[i] for s in norms.specialities.values()},
            **{f"places_{k}": (f"ظرفیت داوطلبان: {fa}", f"Volunteer places: {en}")[i] for k, (fa, en) in snap.norms.service_types.items()},
        }  # fmt: skip
        about = [
            ("norms", norms.label(snap.norms.version)),
            *((k, str(v)) for k, v in totals.items()),
            *_record(snap, lang),
        ]
        return table_download(localised(table, lang).rename(columns=labels), "volunteers", f, about)
    members = [c for c in table.columns if c.startswith("members_")]
    places = [c for c in table.columns if c.startswith("places_")]
    rows = []
    for r in json_records(table):
        rows.append(
            {
                **{k: r[k] for k in ("county_code", "county_fa", "province_code")},
                **{k: int(r[k]) for k in HEADERS if k not in ("county_code", "county_fa", "province_code")},
                "members_by_speciality": {c.removeprefix("members_"): int(r[c]) for c in members},
                "places_by_service": {c.removeprefix("places_"): int(r[c]) for c in places},
            }
        )
    return {
        "as_of": snap.as_of.isoformat(),
        "norms_version": snap.norms.version,
        "numberReturned": len(rows),
        "rows": rows,
        "totals": totals,
        "norms": norms_answer(norms, snap.norms.version),
        "notice": notice(snap),
    }
