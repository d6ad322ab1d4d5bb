"""Assessments: licence checks, village priorities, saturation, concentration, one settlement."""

from __future__ import annotations

import json
import math
import time
from dataclasses import fields
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
import shapely.geometry
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from api.deps import (
    BadParameter,
    Format,
    catalogued,
    download,
    feature_collection,
    json_records,
    plain_json,
    require_export,
    snapshot,
    snapshot_in_period,
)
from api.exports import table_download
from api.schemas import (
    CatchmentFeature,
    Concentration,
    GeoJSONResponse,
    LicenceCheckAnswer,
    LicenceCheckRequest,
    Priorities,
    SaturationAnswer,
    ServiceType,
    SettlementAnswer,
    declared,
    with_downloads,
)
from api.security import Forbidden
from geo.decisions import CRITERIA, flag_reasons, priority_weights, why_not_flagged
from geo.errors import UnknownProvinceError, UnknownSettlementError
from geo.volunteers import capacity_words
from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services.scope import COARSENING, coarse, coarsening, require_province, restrict
from services.snapshot import Snapshot
from services.tables import localised, with_place_names

router = APIRouter(tags=["Analysis"])

CLASS_LABELS = {
    "underserved": ("کم‌برخوردار", "underserved"),
    "balanced": ("متعادل", "balanced"),
    "saturated": ("اشباع", "saturated"),
}

Lang = Annotated[
    Literal["fa", "en"] | None,
    Query(
        description="with a CSV or XLSX: headers, place names and labels in this language, and a record "
        "of how the table was made (the map pages ask for their own language)"
    ),
]
Province = Annotated[
    str | None,
    Query(
        pattern=r"^\d{2}$",
        description="province code, 2 digits (the codes: GET /collections/provinces/items)",
        examples=["11"],
    ),
]


def json_safe(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        return json_safe(value.item())
    return value


@router.post(
    "/licence-checks",
    summary="Judge a proposed licence: welcome, acceptable or saturated, with reasons",
    description="The answer carries a `Server-Timing` header, `check;dur=<ms>`: the time the "
    "check itself took in the server (milliseconds, 3 decimals), apart from reading the request, "
    "scoping and serialising the answer; the HTTP benchmark (bench/bench_http.py) reads it.",
    response_class=Response,
    responses=declared(LicenceCheckAnswer),
)
def licence_check(
    request: Annotated[LicenceCheckRequest, Body()],
    snap: Annotated[Snapshot, Depends(snapshot)],
) -> Response:
    # A few milliseconds of NumPy once the analysis is ready (seconds before): in the thread
    # pool, never on the event loop; serialised here, cheaper than FastAPI's generic encoder.
    started = time.perf_counter()
    check = snap.analysis().check_licence(
        request.lon,
        request.lat,
        request.service_type,
        request.capacity,
        request.delivery_mode,
        graded_in=graded_in(snap),
    )
    took_ms = (time.perf_counter() - started) * 1000
    return Response(
        licence_answer(check, snap),
        media_type="application/json",
        headers={"Server-Timing": f"check;dur={took_ms:.3f}"},
    )


def licence_answer(check, snap: Snapshot) -> bytes:
    """The JSON answer (UTF-8) of a licence check as the caller of ``snap`` may see it.

    The check's fields are taken as they are, not deep-copied (``dataclasses.asdict``): each
    check builds its lists and dicts afresh and holds no nested dataclass, and ``scope_check``
    replaces what it changes rather than editing it in place.
    """
    answer = {
        **scope_check({f.name: getattr(check, f.name) for f in fields(check)}, snap),
        "as_of": snap.as_of.isoformat(),
        "notice": notice(snap),
    }
    return json_bytes(answer)


def _plain(value):
    """A NumPy scalar as the Python value it holds (``json.dumps``'s ``default``)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(value) -> bytes:
    """``value`` as JSON in UTF-8, with NumPy scalars as plain numbers and non-finite floats as
    null: the bytes of ``json.dumps(json_safe(value))``, in one pass where every float is finite
    (the usual answer) and through ``json_safe`` where one is not."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_plain)
    except ValueError:  # a NaN or an infinity somewhere: null, as json_safe makes it
        text = json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def scope_check(check: dict, snap: Snapshot) -> dict:
    """A licence check as the caller may see it: only a place in their provinces, only centres and
    places in their provinces, and generalised centre positions without the exact-location right.

    ``check`` is changed by replacing its lists, never by editing the lists or dicts it holds."""
    scope = getattr(snap, "scope", None)
    if scope is None:
        return check
    if not scope.allows(check["province_code"]):
        raise Forbidden("the proposed place is outside your provinces", code="outside-provinces")
    positions = centre_positions(snap)
    nearby = []
    for centre in check["same_type_nearby"]:
        where = positions.get(centre["licence_no"])
        if where is None:
            continue  # another province's centre
        if not scope.exact:
            centre = {**centre, "lon": where[0], "lat": where[1]}  # generalised in the view
            step = COARSENING.distance
            centre["distance_km"] = float(round(centre["distance_km"] / step) * step)
            if centre.get("travel_min") is not None:
                centre["travel_min"] = float(round(centre["travel_min"] / step) * step)
        nearby.append(centre)
    check["same_type_nearby"] = nearby
    check["better_places"] = [p for p in check["better_places"] if scope.allows(p["county_code"])]
    check["underserved_access_changes"] = [
        c for c in check["underserved_access_changes"] if scope.allows(str(c.get("settlement_code", ""))[:2])
    ]
    return check


def graded_in(snap: Snapshot) -> frozenset[str] | None:
    """The provinces whose centres' grades a licence check may tell the caller of ``snap``
    (None: every province's)."""
    scope = getattr(snap, "scope", None)
    return None if scope is None else scope.provinces


def centre_positions(snap: Snapshot) -> dict[str, tuple[float, float]]:
    """Licence number -> (lon, lat) of every centre in ``snap``'s NGO layer, as that snapshot
    shows them (a view: its provinces' centres only, generalised without the exact-location
    right). Kept in ``snap``'s own cache: a view has its own, so no caller reads another's."""

    def build() -> dict[str, tuple[float, float]]:
        ngos = snap.layer("ngos")
        lon, lat = ngos.geometry.x.to_numpy(), ngos.geometry.y.to_numpy()
        return {no: (float(x), float(y)) for no, x, y in zip(ngos["licence_no"], lon, lat, strict=True)}

    return snap.cached("licence:centre_positions", build)  # type: ignore[return-value]


def known_province(snap: Snapshot, province: str | None) -> str | None:
    """``province`` if the store has it; otherwise a 404 that lists the codes there are."""
    if province is None:
        return None
    provinces = snap.layer("provinces").sort_values("province_code")
    if province not in set(provinces["province_code"]):
        codes = ", ".join(
            f"{c} {n}" for c, n in zip(provinces["province_code"], provinces["name_en"], strict=True)
        )
        raise UnknownProvinceError(f"no province with code {province}; the codes are: {codes}")
    return province


def notice(snap: Snapshot) -> dict[str, object] | None:
    """The synthetic-data notice of an answer, when any layer it rests on is synthetic (worked
    out once per snapshot; each answer gets its own copy)."""

    def build() -> tuple[str, ...]:
        if "layer_info" not in snap.layers:
            return ()
        info = snap.layers["layer_info"].set_index("layer")["synthetic"]
        return tuple(name for name, how in info.items() if how != "none")

    synthetic = snap.cached("notice:synthetic_layers", build)
    if not synthetic:
        return None
    return {"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN, "synthetic_layers": list(synthetic)}


@router.get(
    "/catchment-areas",
    summary="The catchment of a centre at a place: the travel-time area on roads, else the circle",
    response_class=GeoJSONResponse,
    responses=declared(CatchmentFeature),
)
def catchment_area(
    snap: Annotated[Snapshot, Depends(snapshot)],
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude (WGS 84)", examples=[57.3])],
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude (WGS 84)", examples=[27.2])],
    service_type: Annotated[ServiceType, Query(description="service type")],
) -> Response:
    a = snap.analysis()
    county = a.county_at(lon, lat)
    if county is None:
        raise BadParameter(
            f"the point ({lon:.5f}, {lat:.5f}) is outside Iran's counties", code="outside-counties"
        )
    scope = getattr(snap, "scope", None)
    if scope is not None and not scope.allows(county[:2]):
        raise Forbidden(
            f"the point ({lon:.5f}, {lat:.5f}) is outside your provinces", code="outside-provinces"
        )
    service = snap.norms.check_service(service_type)
    norm = a.norms.services[service]
    area = a.catchment_area(lon, lat, service)
    feature = {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(area),
        "properties": {
            "service_type": service,
            "travel": a.norms.travel,
            "catchment_km": norm.catchment_km,
            "catchment_min": norm.catchment_min if a.unit == "min" else None,
            "road_fallback": bool(a.unit == "min" and a.travel.snap_point(lon, lat)),
        },
    }
    return Response(json.dumps(json_safe(feature)).encode(), media_type="application/geo+json")


def parse_weights(weights: str | None) -> dict[str, float] | None:
    """``need:0.4,gap:0.3`` as a mapping, checked: known criteria, each once, finite, non-negative."""
    if not weights:
        return None
    out: dict[str, float] = {}
    for part in weights.split(","):
        name, sep, value = part.replace("=", ":").partition(":")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name:
            raise BadParameter(
                f"weights must look like need:0.4,gap:0.3 (criteria: {', '.join(CRITERIA)}); got {part!r}"
            )
        if name not in CRITERIA:
            raise BadParameter(f"unknown weight {name!r}; criteria: {', '.join(CRITERIA)}")
        if name in out:
            raise BadParameter(f"weight {name} is given twice; give each criterion once")
        if not math.isfinite(number):
            raise BadParameter(f"weight {name} must be a finite number, not {value.strip()!r}")
        if number < 0:
            raise BadParameter(f"weight {name} must not be negative ({number:g})")
        out[name] = number
    return out


@router.get(
    "/priorities",
    summary="Villages ranked for a provincial director, with the breakdown of the score",
    response_model=None,
    responses=with_downloads(Priorities, ("geojson", "csv", "xlsx", "gpkg")),
)
@plain_json
def priorities(
    http: Request,
    snap: Annotated[Snapshot, Depends(snapshot_in_period)],
    province: Province = None,
    service_type: Annotated[ServiceType | None, Query(description="one service type (default: all)")] = None,
    weights: Annotated[
        str | None,
        Query(
            description="criterion:weight pairs",
            examples=["need:0.4,gap:0.3,distance:0.2,population:0.1,target_area:0"],
        ),
    ] = None,
    top: Annotated[int, Query(ge=1, le=1000, description="villages per province")] = 50,
    f: Format = None,
    lang: Lang = None,
):
    require_province(snap, province)
    if f not in (None, "json"):
        require_export(http)
    a = snap.analysis()
    scope = getattr(snap, "scope", None)
    # A scoped caller without a province gets their provinces' rankings (computed for those only).
    wanted = [province] if province or scope is None or scope.provinces is None else sorted(scope.provinces)
    ranked = pd.concat(
        [
            a.priorities(
                province=known_province(snap, q),
                service_type=service_type if service_type else None,
                weights=parse_weights(weights),
                top=top,
                coarsening=coarsening(snap),
            )
            for q in wanted
        ],
        ignore_index=True,
    )
    if scope is not None:
        ranked = restrict(ranked, scope)
    where = a.settlements.set_index("settlement_code").geometry
    frame = gpd.GeoDataFrame(ranked, geometry=where.reindex(ranked["settlement_code"]).to_numpy(), crs=4326)
    used = {c: float(w) for c, w in _weights_used(a, weights).items()}
    if lang and f in ("csv", "xlsx"):
        table = with_place_names(ranked, snap.layer("counties"), snap.layer("provinces"), lang)
        about = [
            ("weights", ", ".join(f"{c}={w:.3f}" for c, w in used.items())),
            ("service_type", service_type if service_type else "all"),
            ("province", province or "all"),
            *_record(snap, lang),
        ]
        return table_download(localised(table, lang), "priorities", f, about)
    if f not in (None, "json"):
        return download(frame, "priorities", f, http.app.state.settings)
    return {
        "as_of": snap.as_of.isoformat(),
        "weights": used,
        "numberReturned": len(frame),
        "villages": json_records(ranked),
        "features": feature_collection(frame, "settlement_code"),
        "notice": notice(snap),
    }


def _record(snap: Snapshot, lang: str) -> list[tuple[str, str]]:
    from maps.notices import SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA

    return [
        ("as_of", snap.as_of.isoformat()),
        ("norms_version", snap.norms.version),
        ("synthetic", SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN),
    ]


def _weights_used(a, weights):
    return priority_weights(parse_weights(weights), a.norms.priority_weights)


@router.get(
    "/saturation",
    summary="Capacity per 10,000 target persons per county and service type, with its class",
    response_model=None,
    responses=with_downloads(SaturationAnswer, ("geojson", "csv", "xlsx", "gpkg")),
)
@plain_json
def saturation(
    http: Request,
    snap: Annotated[Snapshot, Depends(snapshot_in_period)],
    province: Province = None,
    service_type: Annotated[ServiceType | None, Query(description="service type")] = None,
    f: Format = None,
    lang: Lang = None,
):
    require_province(snap, province)
    if f not in (None, "json"):
        require_export(http)
    sat = snap.analysis().saturation.reset_index()
    scope = getattr(snap, "scope", None)
    if scope is not None:
        sat = restrict(sat, scope)
    if known_province(snap, province):
        sat = sat[sat["county_code"].str[:2] == province]
    if catalogued(snap, service_type):
        sat = sat[sat["service_type"] == service_type]
    if lang and f in ("csv", "xlsx"):
        table = with_place_names(sat, snap.layer("counties"), snap.layer("provinces"), lang)
        i = 0 if lang == "fa" else 1
        if "volunteer_capacity" in table.columns:
            # "capacity 420 = 380 licensed + 40 volunteers", in the table's language
            table["capacity_in_words"] = [
                capacity_words(int(c), int(v))[i]
                for c, v in zip(table["centre_capacity"], table["volunteer_capacity"], strict=True)
            ]
        labels = {
            "service_type": {k: v[i] for k, v in snap.norms.service_types.items()},
            "class": {k: v[i] for k, v in CLASS_LABELS.items()},
        }
        about = [
            ("service_type", service_type if service_type else "all"),
            ("province", province or "all"),
        ]
        return table_download(localised(table, lang, labels), "saturation", f, about + _record(snap, lang))
    if f not in (None, "json"):
        return download(sat, "saturation", f, http.app.state.settings)
    return {
        "as_of": snap.as_of.isoformat(),
        "norms_version": snap.norms.version,
        "numberReturned": len(sat),
        "rows": json_records(sat),
        "notice": notice(snap),
    }


@router.get(
    "/concentration",
    summary="Share of NGOs and capacity per settlement tier against target population (LQ)",
    response_model=None,
    responses=declared(Concentration),
)
def concentration(snap: Annotated[Snapshot, Depends(snapshot)], province: Province = None) -> dict:
    require_province(snap, province)
    scope = getattr(snap, "scope", None)
    if province is None and scope is not None and scope.provinces is not None:
        raise Forbidden(
            "choose one of your provinces (province=…): national figures are not in your scope",
            code="choose-province",
        )
    a = snap.analysis()
    if known_province(snap, province):
        table = a.concentration_by_province
        if province not in table.index.get_level_values("province_code"):
            raise UnknownProvinceError(f"no province with code {province}")
        table = table.loc[province]
    else:
        table = a.concentration
    return {
        "as_of": snap.as_of.isoformat(),
        "province_code": province,
        "tiers": json_records(table.reset_index()),
        "notice": notice(snap),
    }


@router.get(
    "/settlements/{code}",
    summary="One settlement with everything known about it",
    response_model=None,
    responses=declared(SettlementAnswer),
)
def settlement(
    code: Annotated[str, Path(pattern=r"^\d{10}(\d{6})?$", description="settlement code (10 or 16 digits)")],
    snap: Annotated[Snapshot, Depends(snapshot)],
) -> dict:
    a = snap.analysis()
    s = a.settlements
    hit = s.index[s["settlement_code"] == code]
    scope = getattr(snap, "scope", None)
    if len(hit) == 0 or (scope is not None and not scope.allows(s.at[hit[0], "province_code"])):
        raise UnknownSettlementError(f"no settlement with code {code}")
    i = hit[0]
    place = feature_collection(s.loc[[i]], "settlement_code")[0]
    counties = snap.layer("counties").set_index("county_code")
    county = s.at[i, "county_code"]
    flags = coarse(a.flags[a.flags["settlement_code"] == code], snap)
    rounded = coarsening(snap)
    reasons = flag_reasons(flags, approximate=rounded is not None, services=a.norms.services).set_index(
        flags["service_type"].to_numpy()
    )
    ngos = snap.layer("ngos").set_index("licence_no")  # the caller's provinces only
    services = {}
    for row in coarse(a.settlement_access([code]), snap).itertuples(index=False):
        service = row.service_type
        nearest = row.nearest_licence_no
        flagged = service in reasons.index
        not_flagged = (None, None)
        if not flagged:
            not_flagged = why_not_flagged(
                a.tier.at[i],
                int(s.at[i, "population"]),
                bool(a.in_target_area.at[i]),
                float(row.target_population),
                service,
                a.norms,
            )
        services[service] = {
            "label_fa": a.norms.services[service].label_fa,
            "label_en": a.norms.services[service].label_en,
            "target_population": int(row.target_population),
            "nearest_km": json_safe(float(row.nearest_km)),
            "nearest_min": json_safe(round(float(row.nearest_min), 1)) if a.unit == "min" else None,
            "road_fallback": bool(row.road_fallback),
            "nearest_ngo": None
            if nearest is None or nearest not in ngos.index
            else {
                "licence_no": nearest,
                "name_fa": ngos.at[nearest, "name_fa"],
                "capacity": int(ngos.at[nearest, "capacity"]),
            },
            "ngos_in_catchment": int(row.ngos_in_catchment),
            "catchment_km": a.norms.services[service].catchment_km,
            "catchment_min": a.norms.services[service].catchment_min if a.unit == "min" else None,
            "access_share_of_norm": json_safe(float(row.access_share)),
            "flagged": bool(row.flagged),
            "reason_en": reasons.at[service, "reason_en"] if flagged else not_flagged[0],
            "reason_fa": reasons.at[service, "reason_fa"] if flagged else not_flagged[1],
        }
    return {
        "as_of": snap.as_of.isoformat(),
        "settlement": place,
        "county": {
            "county_code": county,
            "name_fa": counties.at[county, "name_fa"],
            "name_en": counties.at[county, "name_en"],
        },
        "tier": a.tier.at[i],
        "in_target_area": bool(a.in_target_area.at[i]),
        # For roles without the exact-location right distances to centres are multiples of
        # distance_step (km, minutes) and access shares of share_step (services.scope); null: exact.
        "distance_step": rounded.distance if rounded else None,
        "share_step": rounded.share if rounded else None,
        "services": services,
        "notice": notice(snap),
    }
