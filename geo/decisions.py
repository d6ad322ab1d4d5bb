"""Decisions about places: underserved flags and village priorities for a province.

Each decision comes with its reasons in words and figures, in Persian and English. The licence
check, a decision about one proposed centre, is ``geo.licence``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.catalogue import is_service_code, labels_of
from geo.errors import AnalysisInputError as AnalysisInputError
from geo.errors import UnknownServiceError
from geo.norms import Norms
from geo.schema import DEFAULT_SERVICE_TYPES

_FA_DIGITS = str.maketrans("0123456789.", "۰۱۲۳۴۵۶۷۸۹٫")


def fa_number(value: float, digits: int = 0) -> str:
    """A number written with Persian digits (for reasons shown in Persian)."""
    return f"{value:,.{digits}f}".replace(",", "٬").translate(_FA_DIGITS)


def check_service_type(service_type: str, known: Iterable[str] | None = None) -> str:
    """``service_type`` if it is one of ``known`` (the catalogue's services, ``Norms.services``),
    ``UnknownServiceError`` naming it and them otherwise; with no ``known``, only its form is
    checked (a service code), and the catalogue is asked where the norms are at hand."""
    if known is None:
        if not is_service_code(service_type):
            raise AnalysisInputError(f"{str(service_type)[:60]!r} is not a service type code")
        return service_type
    known = tuple(known)
    if service_type not in known:
        raise UnknownServiceError(service_type, known)
    return service_type


# --------------------------------------------------------------------------------------------
# Underserved flags
# --------------------------------------------------------------------------------------------


def underserved_flags(
    settlements: pd.DataFrame,
    tier: pd.Series,
    nearest_m: pd.DataFrame,
    access_share: pd.DataFrame,
    in_target_area: pd.Series,
    norms: Norms,
    demand: pd.DataFrame | None = None,
    nearest_min: pd.DataFrame | None = None,
    fallback: pd.DataFrame | None = None,
    reached: pd.DataFrame | None = None,
    code_rank: np.ndarray | None = None,
) -> pd.DataFrame:
    """Small towns and villages flagged per service type, with the figures behind each flag.

    A small town or village is flagged for a service type when its population is at least the
    norm's ``min_population`` and either its nearest active centre is farther than
    ``max_distance_km`` (with ``travel = "roads"``: ``max_travel_min`` minutes, from
    ``nearest_min``) or its E2SFCA access is below ``min_access_share`` of the norm
    (``access_share``, from ``Norms.access_share``). Inside a target area both thresholds are
    relaxed by the norms' target-area factors. A place ``reached`` by a provider of another
    delivery mode (within an outreach, community or home provider's reach, or in the province
    of a remote one: ``AccessResult.reached``) is not too far, and a service delivered only
    remotely is never too far: distance says nothing of it. Given ``demand`` (target persons per settlement
    and service type), a place whose target population is below the norms'
    ``min_target_population`` is not flagged for that service.

    Returns one row per flag, indexed like ``settlements`` (repeated per type): the settlement
    code, service type, population, ``nearest_km`` and the ``max_distance_km`` it was held to,
    ``nearest_min`` and ``max_travel_min`` (NaN in a straight line), ``road_fallback`` (its
    nearest centre was reached by the straight-line fallback), ``access_share`` and
    ``min_access_share``, ``in_target_area``, and which rule it broke (``too_far``,
    ``low_access``). ``flag_reasons`` writes them out in words. ``code_rank``: the settlement
    codes' ``geo.access.code_ranks``, when the caller has them.
    """
    roads = norms.unit == "min"
    if roads and nearest_min is None:
        raise AnalysisInputError("flags on roads need the minutes to the nearest centre (nearest_min)")
    eligible = tier.isin(["small_town", "village"]).to_numpy()
    pop = settlements["population"].to_numpy()
    inside = in_target_area.to_numpy(dtype=bool)
    codes = settlements["settlement_code"].to_numpy()
    frames, where = [], []
    for service, norm in norms.services.items():
        min_pop = np.where(inside, norm.min_population * norms.target_population_factor, norm.min_population)
        max_km = np.where(inside, norm.max_distance_km * norms.target_distance_factor, norm.max_distance_km)
        km = nearest_m[service].to_numpy() / 1000.0
        share = access_share[service].to_numpy()
        if roads:
            assert nearest_min is not None  # checked above
            minutes = nearest_min[service].to_numpy()
            limit = norm.max_cost("min")
            max_min = np.where(inside, limit * norms.target_distance_factor, limit).astype("float64")
            too_far = minutes > max_min
        else:
            minutes = max_min = np.full(len(km), np.nan)
            too_far = km > max_km
        if norm.remote_only:
            too_far = np.zeros(len(km), dtype=bool)
        elif reached is not None and service in reached:
            too_far = too_far & ~reached[service].to_numpy(dtype=bool)
        fell_back = (
            fallback[service].to_numpy(dtype=bool) if fallback is not None else np.zeros(len(km), dtype=bool)
        )
        low = share < norm.min_access_share
        if demand is not None:
            target = demand[service].to_numpy(dtype="float64")
            enough = target >= norms.min_target_population
        else:
            target = np.full(len(pop), np.nan)
            enough = np.ones(len(pop), dtype=bool)
        idx = np.flatnonzero(eligible & enough & (pop >= min_pop) & (too_far | low))
        where.append(idx)
        frames.append(
            pd.DataFrame(
                {
                    "settlement_code": codes[idx],
                    "service_type": service,
                    "population": pop[idx],
                    "target_population": target[idx],
                    "nearest_km": km[idx],
                    "max_distance_km": max_km[idx],
                    "nearest_min": minutes[idx],
                    "max_travel_min": max_min[idx],
                    "road_fallback": fell_back[idx],
                    "access_share": share[idx],
                    "min_access_share": norm.min_access_share,
                    "in_target_area": inside[idx],
                    "too_far": too_far[idx],
                    "low_access": low[idx],
                },
                index=settlements.index[idx],
            )
        )
    # By settlement code, then service type (stable), sorted on their ranks: integers sort fast.
    if code_rank is None:
        from geo.access import code_ranks

        code_rank = code_ranks(codes)
    service_rank = np.argsort(np.argsort(np.array(list(norms.services), dtype=object), kind="stable"))
    order = np.lexsort(
        (
            np.repeat(service_rank, [len(i) for i in where]),
            code_rank[np.concatenate(where)] if where else np.zeros(0, dtype="int64"),
        )
    )
    return pd.concat(frames).take(order)


def below_digits(value: float, limit: float, digits: int = 2, most: int = 4) -> int:
    """Decimals enough to show that ``value`` is below ``limit``: 0.4967 against 0.50 is written
    0.497, not 0.50 (which reads as meeting the minimum)."""
    while digits < most and np.isfinite(value) and value < limit and round(value, digits) >= limit:
        digits += 1
    return digits


@dataclass(frozen=True)
class Coarsening:
    """How finely a role without the exact-location right sees the figures that depend on where
    centres are: distances to them, and access (E2SFCA falls off with distance, so exact
    shares from a few villages of known position would give a centre's position away too)."""

    #: distances to centres: km in a straight line, minutes on roads
    distance: float = 5.0
    #: access as a share of the norm
    share: float = 0.05


def _round_to(values, step: float) -> np.ndarray:
    return np.round(np.asarray(values, dtype="float64") / step) * step


def coarsen(frame: pd.DataFrame, coarsening: Coarsening) -> pd.DataFrame:
    """``frame`` with every distance to a centre (columns ending in ``nearest_km`` or
    ``nearest_min``) rounded to a multiple of ``coarsening.distance`` and every access share
    (columns ending in ``access_share`` or ``access_share_of_norm``) to ``coarsening.share``."""
    steps = {}
    for c in frame.columns:
        name = str(c)
        if name.endswith(("nearest_km", "nearest_min")):
            steps[name] = coarsening.distance
        elif name.endswith(("access_share", "access_share_of_norm")) and not name.startswith("min_"):
            steps[name] = coarsening.share
    if not steps:
        return frame
    return frame.assign(**{c: _round_to(frame[c].to_numpy(), step) for c, step in steps.items()})


def why_not_flagged(
    tier: str, population: int, in_target_area: bool, target_population: float, service: str, norms: Norms
) -> tuple[str, str]:
    """Why a settlement is not flagged for ``service``, as ``(en, fa)``: the first rule of
    ``flag_settlements`` that keeps it out (a city, too small, too few target persons), or that
    it is within the norm."""
    norm = norms.services[service]
    if tier not in ("small_town", "village"):
        return (
            "a city: the flag rules cover small towns and villages only",
            "شهر است: قاعده‌های نیازمندی فقط شهرهای کوچک و روستاها را در بر می‌گیرند",
        )
    min_pop = norm.min_population * (norms.target_population_factor if in_target_area else 1.0)
    if population < min_pop:
        return (
            f"population {population:,} is below this service's minimum of {min_pop:,.0f}"
            + (" (relaxed in a target neighbourhood)" if in_target_area else ""),
            f"جمعیت {fa_number(population)} کمتر از حداقل {fa_number(min_pop)} نفر برای این خدمت است"
            + (" (کاهش‌یافته در محلهٔ هدف)" if in_target_area else ""),
        )
    if target_population < norms.min_target_population:
        return (
            f"fewer than {norms.min_target_population:g} target persons for this service",
            f"کمتر از {fa_number(norms.min_target_population)} نفر جمعیت هدف برای این خدمت",
        )
    return (
        "within the norm: the nearest centre is near enough and access is enough",
        "در حد هنجار: نزدیک‌ترین مرکز به اندازهٔ کافی نزدیک و دسترسی کافی است",
    )


def flag_reasons(
    flags: pd.DataFrame, *, approximate: bool = False, services: Mapping | None = None
) -> pd.DataFrame:
    """The reasons of each flag in words and figures: ``reason_en`` and ``reason_fa``.

    For example "nearest rehabilitation centre 63 km (norm: within 30 km); access 0.12 of norm
    (minimum 0.50)". With ``approximate`` (figures rounded by ``coarsen``) they read "about 65
    km" and "access about 0.10 of norm".

    Written a column at a time (``flag_reasons_by_row`` is the same one flag at a time), once per
    distinct reason: the flags are grouped by what their words show (service, figures in whole
    units, the access share as written, ...), one flag of each group is written and every flag
    of the group gets its words, one object (the national flags have a quarter as many reasons
    as flags): a quarter of the time, and no text made per flag only to be dropped as a repeat.
    """
    labels = labels_of(services) if services is not None else DEFAULT_SERVICE_TYPES
    groups, first = _reason_groups(flags, approximate)
    en, fa = _written(flags.iloc[first], approximate, labels)
    return pd.DataFrame({"reason_en": en[groups], "reason_fa": fa[groups]}, index=flags.index)


def _reason_groups(flags: pd.DataFrame, approximate: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each flag's group of equal reasons (0..k-1) and the position of one flag of each group:
    flags are equal in what the reasons show, figures as written (a distance in whole units, the
    access share with its decimals); what a flag's reasons leave out is left out of the key."""
    n = len(flags)
    too_far = flags["too_far"].to_numpy(dtype=bool)
    low = flags["low_access"].to_numpy(dtype=bool)
    travel = (
        flags["max_travel_min"].to_numpy(dtype="float64") if "max_travel_min" in flags else np.full(n, np.nan)
    )
    road = too_far & np.isfinite(travel)
    line = too_far & ~np.isfinite(travel)
    zero = np.zeros(n)

    def shown(column: str, where: np.ndarray) -> np.ndarray:
        return np.where(where, np.rint(flags[column].to_numpy(dtype="float64")), zero)

    share = flags["access_share"].to_numpy(dtype="float64")
    minimum = flags["min_access_share"].to_numpy(dtype="float64")
    # the share as written: each distinct (share, minimum) of a low flag written once
    pairs, inverse = np.unique(np.column_stack([share, minimum])[low], axis=0, return_inverse=True)
    words = _share_words(pairs[:, 0], pairs[:, 1], approximate)
    written = np.full(n, -1, dtype="int64")
    written[low] = pd.factorize(pd.Series(words, dtype=object))[0][inverse.reshape(-1)]
    key = pd.DataFrame(
        {
            "service": pd.factorize(flags["service_type"])[0],
            "road": road,
            "line": line,
            "minutes": shown("nearest_min", road) if "nearest_min" in flags else zero,
            "km": shown("nearest_km", too_far),
            "straight": (flags["road_fallback"].to_numpy(dtype=bool) & road)
            if "road_fallback" in flags
            else road,
            "travel": np.where(road, np.rint(travel), zero),
            "distance": shown("max_distance_km", line),
            "share": written,
            "minimum": np.where(low, minimum, zero),
            "target": flags["in_target_area"].to_numpy(dtype=bool),
        }
    )
    groups = key.groupby(list(key.columns), sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(groups, return_index=True)[1]  # the first flag of each group (0..k-1)
    return groups, first


def _written(flags: pd.DataFrame, approximate: bool, labels: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """The English and Persian reasons of each of ``flags``, a column at a time."""
    about_en, about_fa = ("about ", "حدود ") if approximate else ("", "")
    n = len(flags)
    service = flags["service_type"].to_numpy()
    label_fa = _column([labels.get(t, (t, t))[0] for t in service])
    label_en = _column([labels.get(t, (t, t))[1].lower() for t in service])
    too_far = flags["too_far"].to_numpy(dtype=bool)
    nearest_km = flags["nearest_km"].to_numpy(dtype="float64")
    travel_min = (
        flags["max_travel_min"].to_numpy(dtype="float64")
        if "max_travel_min" in flags.columns
        else np.full(n, np.nan)
    )
    by_road = np.isfinite(travel_min)
    en = np.full(n, "", dtype=object)
    fa = np.full(n, "", dtype=object)

    road = too_far & by_road
    if road.any():
        minutes = flags["nearest_min"].to_numpy(dtype="float64")[road]
        km = nearest_km[road]
        straight = flags["road_fallback"].to_numpy(dtype=bool)[road]
        known = np.isfinite(minutes)
        far_en = np.where(
            known,
            about_en
            + _whole(minutes, "en")
            + np.where(straight, " min in a straight line (", " min by road (")
            + _whole(km, "en")
            + " km)",
            "none in the country",
        )
        far_fa = np.where(
            known,
            about_fa
            + _whole(minutes, "fa")
            + np.where(straight, " دقیقه به خط مستقیم (", " دقیقه از راه (")
            + _whole(km, "fa")
            + " کیلومتر)",
            "ندارد",
        )
        en[road] = "nearest " + label_en[road] + " centre " + far_en + " (norm: within "
        en[road] += _whole(travel_min[road], "en") + " min)"
        fa[road] = "نزدیک‌ترین مرکز " + label_fa[road] + ": " + far_fa + " (هنجار: تا "
        fa[road] += _whole(travel_min[road], "fa") + " دقیقه)"
    line = too_far & ~by_road
    if line.any():
        km = nearest_km[line]
        known = np.isfinite(km)
        norm = flags["max_distance_km"].to_numpy(dtype="float64")[line]
        far_en = np.where(known, about_en + _whole(km, "en") + " km", "none in the country")
        far_fa = np.where(known, about_fa + _whole(km, "fa") + " کیلومتر", "ندارد")
        en[line] = "nearest " + label_en[line] + " centre " + far_en + " (norm: within "
        en[line] += _whole(norm, "en") + " km)"
        fa[line] = "نزدیک‌ترین مرکز " + label_fa[line] + ": " + far_fa + " (هنجار: تا "
        fa[line] += _whole(norm, "fa") + " کیلومتر)"

    low = flags["low_access"].to_numpy(dtype=bool)
    if low.any():
        share = flags["access_share"].to_numpy(dtype="float64")[low]
        minimum = flags["min_access_share"].to_numpy(dtype="float64")[low]
        figures = _share_words(share, minimum, approximate)
        # Persian digits of the same figure (fa_number's; its thousands mark only from 1,000 up)
        figures_fa = [f.translate(_FA_DIGITS) if -1000 < v < 1000 else fa_number(v, len(f.partition(".")[2]))
                      for f, v in zip(figures, share.tolist(), strict=True)]  # fmt: skip
        en[low] = _joined(
            en[low],
            "access " + about_en + _column(figures) + " of norm (minimum " + _whole(minimum, "en", 2) + ")",
            "; ",
        )
        fa[low] = _joined(
            fa[low],
            "دسترسی "
            + about_fa
            + _column(figures_fa)
            + " برابر هنجار (حداقل "
            + _whole(minimum, "fa", 2)
            + ")",
            "؛ ",
        )
    target = flags["in_target_area"].to_numpy(dtype=bool)
    if target.any():
        en[target] = _joined(en[target], "inside a target neighbourhood", "; ")
        fa[target] = _joined(fa[target], "در محدودهٔ محلهٔ هدف", "؛ ")
    return en, fa


def _share_words(share: np.ndarray, minimum: np.ndarray, approximate: bool) -> list[str]:
    """Access shares as the reasons write them: two decimals, more where two would round up to
    the minimum (``below_digits``: only a share within 0.01 below it can), two when approximate."""
    values = share.tolist()  # Python floats: their round and format are several times numpy's
    words = [f"{v:.2f}" for v in values]
    if not approximate:
        for i in np.flatnonzero((share < minimum) & (share >= minimum - 0.01)).tolist():
            words[i] = f"{values[i]:.{below_digits(values[i], float(minimum[i]))}f}"
    return words


def _column(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _whole(values: np.ndarray, lang: str, digits: int = 0) -> np.ndarray:
    """``values`` written in whole units (or ``digits`` decimals), English or Persian digits, each
    distinct value once (in whole units, each whole number once: rounding to it is exact)."""
    unique, inverse = np.unique(np.rint(values) if digits == 0 else values, return_inverse=True)
    words = [f"{v:.{digits}f}" for v in unique] if lang == "en" else [fa_number(v, digits) for v in unique]
    return _column(words)[inverse.reshape(-1)]


def _joined(left: np.ndarray, right, sep: str) -> np.ndarray:
    """``left`` and ``right`` joined by ``sep``, or ``right`` alone where ``left`` is empty."""
    return np.where(left == "", right, left + sep + right)


def flag_reasons_by_row(
    flags: pd.DataFrame, *, approximate: bool = False, services: Mapping | None = None
) -> pd.DataFrame:
    """``flag_reasons`` written one flag at a time: the readable path the fast one is held to
    (``tests/test_flag_reasons.py``)."""
    about_en, about_fa = ("about ", "حدود ") if approximate else ("", "")
    # The services' names: the catalogue's (``Norms.services``), else the default catalogue's.
    labels = labels_of(services) if services is not None else DEFAULT_SERVICE_TYPES
    en_out, fa_out = [], []
    seen: dict[str, str] = {}
    for row in flags.itertuples():
        fa_label, en_label = labels.get(row.service_type, (row.service_type, row.service_type))
        en, fa = [], []
        by_road = np.isfinite(getattr(row, "max_travel_min", np.nan))
        if row.too_far and by_road:
            if not np.isfinite(row.nearest_min):
                far, fa_far = "none in the country", "ندارد"
            else:
                how = "in a straight line" if row.road_fallback else "by road"
                fa_how = "به خط مستقیم" if row.road_fallback else "از راه"
                far = f"{about_en}{row.nearest_min:.0f} min {how} ({row.nearest_km:.0f} km)"
                fa_far = f"{about_fa}{fa_number(row.nearest_min)} دقیقه {fa_how} ({fa_number(row.nearest_km)} کیلومتر)"
            en.append(f"nearest {en_label.lower()} centre {far} (norm: within {row.max_travel_min:.0f} min)")
            fa.append(
                f"نزدیک‌ترین مرکز {fa_label}: {fa_far} (هنجار: تا {fa_number(row.max_travel_min)} دقیقه)"
            )
        elif row.too_far:
            far = (
                "none in the country"
                if not np.isfinite(row.nearest_km)
                else f"{about_en}{row.nearest_km:.0f} km"
            )
            en.append(f"nearest {en_label.lower()} centre {far} (norm: within {row.max_distance_km:.0f} km)")
            fa_far = (
                "ندارد"
                if not np.isfinite(row.nearest_km)
                else f"{about_fa}{fa_number(row.nearest_km)} کیلومتر"
            )
            fa.append(
                f"نزدیک‌ترین مرکز {fa_label}: {fa_far} (هنجار: تا {fa_number(row.max_distance_km)} کیلومتر)"
            )
        if row.low_access:
            d = 2 if approximate else below_digits(row.access_share, row.min_access_share)
            en.append(
                f"access {about_en}{row.access_share:.{d}f} of norm (minimum {row.min_access_share:.2f})"
            )
            fa.append(
                f"دسترسی {about_fa}{fa_number(row.access_share, d)} برابر هنجار "
                f"(حداقل {fa_number(row.min_access_share, 2)})"
            )
        if row.in_target_area:
            en.append("inside a target neighbourhood")
            fa.append("در محدودهٔ محلهٔ هدف")
        en_text, fa_text = "; ".join(en), "؛ ".join(fa)
        # One object per distinct reason (the national flags have a quarter as many reasons as
        # flags): a repeated one is freed at once instead of kept beside its equals.
        en_out.append(seen.setdefault(en_text, en_text))
        fa_out.append(seen.setdefault(fa_text, fa_text))
    return pd.DataFrame({"reason_en": en_out, "reason_fa": fa_out}, index=flags.index)


# --------------------------------------------------------------------------------------------
# Village priorities
# --------------------------------------------------------------------------------------------

CRITERIA = ("need", "gap", "distance", "population", "target_area")
PRIORITY_COLUMNS = [
    "rank",
    "settlement_code",
    "name_fa",
    "county_code",
    "province_code",
    "population",
    "target_population",
    "score",
    *[f"{c}_points" for c in CRITERIA],
    "need",
    "gap",
    "distance",
    "population_score",
    "target_area",
    "flagged",
    "reason_en",
    "reason_fa",
]


def priority_weights(user: Mapping[str, float] | None, defaults: Mapping[str, float]) -> dict[str, float]:
    """Defaults overridden by ``user``; normalised to sum to 1. Refuses unknown or negative weights."""
    weights = {c: float(defaults.get(c, 0.0)) for c in CRITERIA}
    for name, value in (user or {}).items():
        if name not in CRITERIA:
            raise AnalysisInputError(f"unknown weight {name!r}; criteria: {', '.join(CRITERIA)}")
        if not np.isfinite(value) or value < 0:
            raise AnalysisInputError(f"weight {name} must be a non-negative number, not {value}")
        weights[name] = float(value)
    largest = max(weights.values())
    if largest <= 0:
        raise AnalysisInputError("at least one weight must be positive")
    # Scaled by the largest first, so that huge weights (1e308) do not overflow the sum.
    weights = {c: w / largest for c, w in weights.items()}
    total = sum(weights.values())
    return {c: w / total for c, w in weights.items()}


def village_priorities(
    settlements: pd.DataFrame,
    demand: pd.DataFrame,
    nearest_m: pd.DataFrame,
    access_share: pd.DataFrame,
    in_target_area: pd.Series,
    flags: pd.DataFrame,
    norms: Norms,
    *,
    nearest_min: pd.DataFrame | None = None,
    province: str | None = None,
    service_type: str | None = None,
    weights: Mapping[str, float] | None = None,
    top: int | None = 50,
    coarsening: Coarsening | None = None,
) -> pd.DataFrame:
    """Villages ranked for a provincial director, with the breakdown of the score.

    Criteria, each scaled to 0–1 within the province:

    * ``need``: target population of the village (log-scaled against the province's largest);
    * ``gap``: how far access falls short of the norm, 1 − access/norm clipped to 0–1;
    * ``distance``: nearest active centre against the norm's maximum distance (on roads: minutes
      from ``nearest_min`` against ``max_travel_min``), clipped at twice it;
    * ``population``: village population (log-scaled);
    * ``target_area``: 1 inside a target neighbourhood.

    With ``service_type`` the criteria are those of that service; without, need is summed and
    gap and distance averaged over all services. Score = Σ weight × criterion (weights
    normalised to sum 1). Ties go to the larger population, then the smaller code.

    Returns the top ``top`` villages per province with ``rank``, ``score``, each criterion and
    its contribution (``<criterion>_points``), ``flagged`` and the flag reasons.

    With ``coarsening`` every distance and access share is first rounded (``coarsen``), so that
    neither the figures nor the scores reveal an exact one.
    """
    w = priority_weights(weights, norms.priority_weights)
    services = [check_service_type(service_type, norms.services)] if service_type else list(norms.services)
    villages = settlements["kind"] == "village"
    if province is not None:
        villages &= settlements["province_code"] == province
    v = settlements[villages]
    if v.empty:
        return pd.DataFrame(columns=PRIORITY_COLUMNS)

    def of_villages(table: pd.DataFrame, column: str) -> np.ndarray:
        """A column's values at the villages: by position where the table has the settlements'
        own index (the analysis' tables), else by label."""
        if table.index.equals(settlements.index):
            return table[column].to_numpy()[rows]
        return table.loc[v.index, column].to_numpy()

    rows = np.flatnonzero(villages.to_numpy())
    wanted = (
        demand[services].iloc[rows]
        if demand.index.equals(settlements.index)
        else demand.loc[v.index, services]
    )
    need = wanted.sum(axis=1).to_numpy(dtype="float64")
    gaps, dists, shares, kms, limits = [], [], [], [], []
    for s in services:
        norm = norms.services[s]
        share = of_villages(access_share, s)
        if coarsening is not None:
            share = _round_to(share, coarsening.share)
        gaps.append(np.clip(1.0 - share, 0.0, 1.0))
        if norms.unit == "min":
            if nearest_min is None:
                raise AnalysisInputError("priorities on roads need the minutes to the nearest centre")
            cost = of_villages(nearest_min, s).astype("float64")
            limit = norm.max_travel_min
        else:
            cost = of_villages(nearest_m, s) / 1000.0
            limit = norm.max_distance_km
        if coarsening is not None:
            cost = _round_to(cost, coarsening.distance)
        dists.append(np.clip(cost / limit, 0.0, 2.0) / 2.0)
        shares.append(np.clip(share, 0.0, None))
        kms.append(cost)
        limits.append(limit)
    frame = pd.DataFrame(
        {
            "settlement_code": v["settlement_code"].to_numpy(),
            "name_fa": v["name_fa"].to_numpy(),
            "county_code": v["county_code"].to_numpy(),
            "province_code": v["province_code"].to_numpy(),
            "population": v["population"].to_numpy(),
            "target_population": need.astype("int64"),
            "gap": np.mean(gaps, axis=0),
            "distance": np.mean(dists, axis=0),
            "target_area": in_target_area.loc[v.index].to_numpy(dtype="float64"),
        },
        index=v.index,
    )
    by_prov = frame.groupby("province_code")
    frame["need"] = np.log1p(frame["target_population"]) / np.log1p(
        by_prov["target_population"].transform("max")
    ).replace(0, 1)
    frame["population_score"] = np.log1p(frame["population"]) / np.log1p(
        by_prov["population"].transform("max")
    ).replace(0, 1)
    scores = {
        "need": frame["need"],
        "gap": frame["gap"],
        "distance": frame["distance"],
        "population": frame["population_score"],
        "target_area": frame["target_area"],
    }
    frame["score"] = 0.0
    for c in CRITERIA:
        frame[f"{c}_points"] = w[c] * scores[c]
        frame["score"] += frame[f"{c}_points"]
    f = flags[flags["service_type"].isin(services)]
    frame["flagged"] = frame["settlement_code"].isin(f["settlement_code"])
    frame = frame.sort_values(
        ["province_code", "score", "population", "settlement_code"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    frame["rank"] = frame.groupby("province_code").cumcount() + 1
    if top is not None:
        frame = frame[frame["rank"] <= top]
    f = f[f["settlement_code"].isin(frame["settlement_code"])]
    if coarsening is not None:
        f = coarsen(f, coarsening)
    if len(services) == 1:
        words = flag_reasons(f, approximate=coarsening is not None, services=norms.services).assign(
            settlement_code=f["settlement_code"].to_numpy()
        )
        flag_en = words.groupby("settlement_code")["reason_en"].first()
        flag_fa = words.groupby("settlement_code")["reason_fa"].first()
    else:
        n = f.groupby("settlement_code").size()
        flag_en = n.map(lambda k: f"flagged for {k} of {len(services)} services")
        flag_fa = n.map(lambda k: f"نیازمند توجه در {fa_number(k)} از {fa_number(len(services))} خدمت")
    positions = v.index.get_indexer(frame.index)
    with np.errstate(invalid="ignore"):
        figures = pd.DataFrame(
            {
                "share": np.mean(shares, axis=0)[positions],
                "km": np.nanmean(np.where(np.isfinite(kms), kms, np.nan), axis=0)[positions],
            },
            index=frame.index,
        )
    limit_km = float(np.mean(np.asarray(limits, dtype="float64")))
    en_of, fa_of = flag_en.to_dict(), flag_fa.to_dict()
    # The figures as plain floats per row (a row of a frame made for each village took a fifth of
    # the ranking of the country's 31 provinces).
    reasons = [
        _priority_reason(
            row,
            {"share": share, "km": km},
            limit_km,
            en_of.get(row.settlement_code),
            fa_of.get(row.settlement_code),
            norms.unit,
            approximate=coarsening is not None,
        )
        for share, km, row in zip(
            figures["share"].to_numpy().tolist(),
            figures["km"].to_numpy().tolist(),
            frame.itertuples(index=False),
            strict=True,
        )
    ]
    frame["reason_en"] = [r[0] for r in reasons]
    frame["reason_fa"] = [r[1] for r in reasons]
    return frame[PRIORITY_COLUMNS].reset_index(drop=True)


def _priority_reason(
    row,
    figures: Mapping[str, float],
    limit_km: float,
    flag_en: str | None,
    flag_fa: str | None,
    unit: str = "m",
    *,
    approximate: bool = False,
):
    """Why a village ranks where it does: its two largest contributions in figures, then its flags.
    ``figures["km"]`` and ``limit_km`` are minutes when ``unit`` is ``"min"`` (travel on roads)."""
    en_unit, fa_unit = ("min", "دقیقه") if unit == "min" else ("km", "کیلومتر")
    about_en, about_fa = ("about ", "حدود ") if approximate else ("", "")
    parts = {
        "need": (
            f"{row.target_population:,} target persons",
            f"{fa_number(row.target_population)} نفر جمعیت هدف",
        ),
        "gap": (
            f"access {about_en}{figures['share']:.2f} of the norm",
            f"دسترسی {about_fa}{fa_number(figures['share'], 2)} برابر هنجار",
        ),
        "distance": (
            f"nearest centre {about_en}{figures['km']:.0f} {en_unit} (norm: within {limit_km:.0f} {en_unit})"
            if np.isfinite(figures["km"])
            else "no centre in the country",
            f"نزدیک‌ترین مرکز {about_fa}{fa_number(figures['km'])} {fa_unit} (هنجار: تا {fa_number(limit_km)} {fa_unit})"
            if np.isfinite(figures["km"])
            else "هیچ مرکزی در کشور نیست",
        ),
        "population": (f"{row.population:,} residents", f"{fa_number(row.population)} نفر جمعیت"),
        "target_area": ("inside a target neighbourhood", "در محلهٔ هدف"),
    }
    points = sorted(((getattr(row, f"{c}_points"), c) for c in CRITERIA), reverse=True)
    chosen = [c for p, c in points[:2] if p > 0]
    en = [parts[c][0] for c in chosen]
    fa = [parts[c][1] for c in chosen]
    if flag_en:
        en.append(flag_en)
        fa.append(flag_fa or "")
    return "; ".join(en), "؛ ".join(fa)


# --------------------------------------------------------------------------------------------
# Comparing two sets of flags (e.g. straight line against roads)
# --------------------------------------------------------------------------------------------


def flag_changes(before: pd.DataFrame, after: pd.DataFrame, settlements: pd.DataFrame) -> pd.DataFrame:
    """How flags change between two analyses, per province: flags (settlement × service type)
    before and after, newly flagged, no longer flagged, and the same for places flagged for at
    least one service. A last row ``all`` sums the country."""
    province = settlements.set_index("settlement_code")["province_code"]

    def keyed(flags):
        return set(zip(flags["settlement_code"], flags["service_type"], strict=True))

    b, a = keyed(before), keyed(after)
    rows = []
    for name, keys in (
        ("flags_before", b),
        ("flags_after", a),
        ("newly_flagged", a - b),
        ("unflagged", b - a),
    ):
        codes = pd.Series([c for c, _ in keys], dtype="object")
        rows.append(codes.map(province).value_counts().rename(name))
    places_b = {c for c, _ in b}
    places_a = {c for c, _ in a}
    for name, codes in (
        ("places_before", places_b),
        ("places_after", places_a),
        ("places_newly_flagged", places_a - places_b),
        ("places_unflagged", places_b - places_a),
    ):
        rows.append(pd.Series(sorted(codes), dtype="object").map(province).value_counts().rename(name))
    out = pd.concat(rows, axis=1).fillna(0).astype("int64").sort_index()
    out.index.name = "province_code"
    out.loc["all"] = out.sum()
    return out
