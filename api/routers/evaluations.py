"""Evaluations of centres: a centre's history, and the provinces ranked by their centres' ratings.

Thin: the work is ``services.evaluations``. Both read the caller's view of the snapshot, so a
province-scoped role sees its provinces' centres and evaluations only (a centre elsewhere is a
404, as one that does not exist). Evaluations come in through the import
(``POST /imports?layer=ngo_evaluations``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam

from api.deps import catalogued, json_records, require_export, snapshot
from api.exports import table_download
from api.routers.assessments import _record, notice
from api.schemas import CentreEvaluations, Rankings, ServiceType, declared, with_downloads
from geo.ratings import UNRATED, split_words
from services.evaluations import centre_history, rankings, scale_answer, scale_of
from services.snapshot import Snapshot
from services.tables import localised

router = APIRouter(tags=["Evaluations"])

#: The rankings' own headers (the grades' columns are named per grade below).
RANKING_HEADERS = {
    "rank": ("رده", "Rank"),
    "province_fa": ("استان", "Province (Persian)"),
    "province_en": ("استان (انگلیسی)", "Province"),
    "centres": ("مراکز", "Centres"),
    "rated_centres": ("مراکز ارزیابی‌شده", "Evaluated centres"),
    "places": ("جای مجوز", "Licensed places"),
    "effective": ("جای شمرده‌شده", "Places counted"),
    "mean_weight": ("میانگین وزن", "Mean weight"),
}

LicenceNo = Annotated[str, PathParam(max_length=64, pattern=r"^[\w\-/.]+$", description="the licence number")]


@router.get(
    "/ngos/{licence_no}/evaluations",
    summary="A centre's evaluations (oldest first) and its grade on the as-of day",
    response_model=None,
    responses=declared(CentreEvaluations),
)
def centre_evaluations(snap: Annotated[Snapshot, Depends(snapshot)], licence_no: LicenceNo) -> dict:
    return {**centre_history(snap, licence_no), "notice": notice(snap)}


@router.get(
    "/ratings/rankings",
    summary="Provinces ranked by their centres' ratings: places per grade, mean weight, capacity split",
    response_model=None,
    responses=with_downloads(Rankings, ("csv", "xlsx")),
)
def rating_rankings(
    http: Request,
    snap: Annotated[Snapshot, Depends(snapshot)],
    service_type: Annotated[ServiceType | None, Query(description="service type (default: all)")] = None,
    f: Annotated[Literal["json", "csv", "xlsx"] | None, Query(description="format")] = None,
    lang: Annotated[Literal["fa", "en"], Query(description="CSV/XLSX headers' language")] = "fa",
):
    scale = scale_of(snap)
    service = catalogued(snap, service_type)
    table, split = rankings(snap, service)
    grades = [*scale.codes, UNRATED]
    if f in ("csv", "xlsx"):
        require_export(http)
        about = [
            ("scale", scale.label(snap.norms.version)),
            ("service_type", service or "all"),
            *((f"grade {g.code}", f"{g.fa} / {g.en} (weight {g.weight:g})") for g in scale.grades.values()),
            *_record(snap, lang),
        ]
        i = 0 if lang == "fa" else 1
        per_grade = {k: v[i] for k, v in RANKING_HEADERS.items()}
        for g in grades:
            shown = g if g != UNRATED else ("بی‌ارزیابی", "unrated")[i]
            per_grade[f"places_{g}"] = (f"جای رتبهٔ {shown}", f"Places at {shown}")[i]
            per_grade[f"share_{g}"] = (f"سهم رتبهٔ {shown}", f"Share at {shown}")[i]
        return table_download(localised(table, lang).rename(columns=per_grade), "rating-rankings", f, about)
    rows = []
    for r in table.to_dict("records"):
        rows.append(
            {
                **{k: r[k] for k in ("rank", "province_code", "province_fa", "province_en")},
                **{k: int(r[k]) for k in ("centres", "rated_centres", "places", "effective")},
                "mean_weight": None if r["mean_weight"] != r["mean_weight"] else float(r["mean_weight"]),
                "grades": [
                    {
                        "grade": g,
                        "places": int(r[f"places_{g}"]),
                        "share": None if r[f"share_{g}"] != r[f"share_{g}"] else float(r[f"share_{g}"]),
                    }
                    for g in grades
                ],
            }
        )
    words = []
    for code, part in split.groupby("province_code", sort=True):
        en, fa = split_words(part)
        words.append({"province_code": code, "en": en, "fa": fa})
    return {
        "as_of": snap.as_of.isoformat(),
        "norms_version": snap.norms.version,
        "service_type": service,
        "numberReturned": len(rows),
        "rows": rows,
        "split": json_records(split),
        "split_words": words,
        "scale": scale_answer(scale, snap.norms.version),
        "notice": notice(snap),
    }
