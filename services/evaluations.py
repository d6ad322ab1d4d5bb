"""Evaluations of centres for both doors: a centre's history, and the rankings of provinces.

Both read a snapshot as the caller may see it (``services.scope.view``): a province-scoped role's
snapshot holds only its provinces' centres and evaluations, so a centre elsewhere is unknown to
it (404) and the rankings list its provinces only. Grades are read at the snapshot's as-of day
(``geo.ratings``); the licences counted are those active on that day.
"""

from __future__ import annotations

import pandas as pd

from geo.errors import ConfigurationError, UnknownCentreError
from geo.norms import RatingScale
from geo.ratings import UNRATED, capacity_split, rating_rankings, with_ratings
from services.loading import ngos_as_of
from services.snapshot import Snapshot


def scale_of(snap: Snapshot) -> RatingScale:
    """The norms' evaluation scale; a clear error where the norms have none."""
    if snap.norms.ratings is None:
        raise ConfigurationError("the norms have no evaluation scale ([ratings]): centres are not rated")
    return snap.norms.ratings


def scale_answer(scale: RatingScale, version: str) -> dict:
    """The scale as an answer shows it: each grade's meaning and weight, best first."""
    return {
        "grades": [
            {"grade": g.code, "fa": g.fa, "en": g.en, "weight": g.weight} for g in scale.grades.values()
        ],
        "unrated_weight": scale.unrated_weight,
        "weight_capacity_by_rating": scale.weight_capacity_by_rating,
        "synthetic": scale.synthetic,
        "label": scale.label(version),
    }


def evaluations_of(snap: Snapshot) -> pd.DataFrame | None:
    return snap.layers.get("ngo_evaluations")


def centre_history(snap: Snapshot, licence_no: str) -> dict:
    """A centre's evaluations, oldest first, and its grade on the as-of day."""
    scale = scale_of(snap)
    ngos = snap.layer("ngos")
    centre = ngos[ngos["licence_no"] == licence_no]
    if centre.empty:
        raise UnknownCentreError(
            "no centre with this licence number among those you may see",
            "مرکزی با این شمارهٔ مجوز در میان مراکزی که می‌توانید ببینید نیست",
        )
    row = centre.iloc[0]
    evaluations = evaluations_of(snap)
    rows = (
        evaluations[evaluations["licence_no"] == licence_no].sort_values("evaluated_on")
        if evaluations is not None
        else pd.DataFrame(columns=["evaluated_on", "grade", "evaluator", "note", "synthetic"])
    )
    current = with_ratings(centre, evaluations, scale, snap.as_of).iloc[0]
    history = [
        {
            "evaluated_on": pd.Timestamp(r.evaluated_on).date().isoformat(),
            "grade": r.grade,
            "grade_fa": scale.grades[r.grade].fa if r.grade in scale.grades else None,
            "grade_en": scale.grades[r.grade].en if r.grade in scale.grades else None,
            "evaluator": r.evaluator,
            "note": r.note,
            "synthetic": bool(r.synthetic),
            "counts_on_as_of": pd.Timestamp(r.evaluated_on).date() <= snap.as_of,
        }
        for r in rows.itertuples()
    ]
    grade = current["grade"] if isinstance(current["grade"], str) else None
    return {
        "licence_no": licence_no,
        "name_fa": row.get("name_fa"),
        "service_type": row["service_type"],
        "province_code": row["province_code"],
        "county_code": row["county_code"],
        "as_of": snap.as_of.isoformat(),
        "grade": grade,
        "graded_on": None if grade is None else pd.Timestamp(current["evaluated_on"]).date().isoformat(),
        "weight": float(current["rating_weight"]),
        "licensed_capacity": int(current["licensed_capacity"]),
        "effective_capacity": int(current["effective_capacity"]),
        "evaluations": history,
        "scale": scale_answer(scale, snap.norms.version),
    }


def rated_centres(snap: Snapshot) -> pd.DataFrame:
    """The licences active on the as-of day that the caller may see, with their ratings."""
    scale = scale_of(snap)
    ngos = ngos_as_of(snap.layer("ngos"), snap.as_of, fixed=snap.fixed_day)
    active = pd.DataFrame(ngos[ngos["status"] == "active"]).reset_index(drop=True)
    return with_ratings(active, evaluations_of(snap), scale, snap.as_of)


def rankings(snap: Snapshot, service_type: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The provinces ranked by their centres' ratings (``geo.ratings.rating_rankings``), and the
    capacity split per province and grade (``capacity_split``): what weighting would deduct."""
    scale = scale_of(snap)
    rated = rated_centres(snap)
    if service_type is not None:
        rated = rated[rated["service_type"] == service_type]
    table = rating_rankings(rated, scale)
    split = capacity_split(rated, scale, by="province_code")
    names = snap.layer("provinces").set_index("province_code")
    for frame in (table, split):
        frame.insert(1, "province_fa", frame["province_code"].map(names["name_fa"]))
        frame.insert(2, "province_en", frame["province_code"].map(names["name_en"]))
    return table, split


__all__ = ["UNRATED", "centre_history", "rankings", "rated_centres", "scale_answer", "scale_of"]
