"""The public needs map (no sign-in): needs, capacity and saturation by province and county.

For donors and companies' social-responsibility programmes. It shows aggregates only: no care
centre's point, name or licence appears in the page or its data (``/maps/data/public.json``).
"""

from __future__ import annotations

import html
import json
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api import mapdata
from api.deps import national_snapshot
from api.guard import page_response
from api.schemas import PublicNeeds, map_data
from geo.crs import STORAGE_CRS
from geo.schema import SERVICE_TYPES
from maps import layers
from maps.notices import ATTRIBUTION, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services.snapshot import Snapshot

router = APIRouter(tags=["Public view"])


def _rows(sat: pd.DataFrame, key: str) -> dict[str, dict[str, list]]:
    """code -> service -> [target population, capacity, NGOs, ratio to norm, class]."""
    out: dict[str, dict[str, list]] = {}
    for row in sat.itertuples(index=False):
        ratio = row.ratio_to_norm
        out.setdefault(getattr(row, key), {})[row.service_type] = [
            int(row.target_population),
            int(row.capacity),
            int(row.ngos),
            None if pd.isna(ratio) or ratio == float("inf") else round(float(ratio), 3),
            row.klass,
        ]
    return out


def public_data(snap: Snapshot) -> mapdata.Encoded:
    """Aggregates only, from the whole snapshot (built once per snapshot)."""

    def build() -> mapdata.Encoded:
        a = snap.analysis()
        norms = a.norms
        sat = a.saturation.reset_index().rename(columns={"class": "klass"})
        counties = snap.layer("counties")
        provinces = snap.layer("provinces")
        sat["province_code"] = sat["county_code"].str[:2]
        per_province = (
            sat.groupby(["province_code", "service_type"])[["target_population", "capacity", "ngos"]]
            .sum()
            .reset_index()
        )
        norm = per_province["service_type"].map({k: v.norm_per_10k for k, v in norms.services.items()})
        per10k = (
            per_province["capacity"]
            / per_province["target_population"].where(per_province["target_population"] > 0)
            * 1e4
        )
        per_province["ratio_to_norm"] = per10k / norm
        ratio = per_province["ratio_to_norm"]
        per_province["klass"] = "balanced"
        per_province.loc[ratio < norms.underserved_below, "klass"] = "underserved"
        per_province.loc[ratio >= norms.saturated_at, "klass"] = "saturated"
        per_province.loc[ratio.isna(), "klass"] = None
        c = gpd.GeoDataFrame(
            counties[["county_code", "province_code", "name_fa", "name_en"]].copy(),
            geometry=layers.simplified(counties),
            crs=STORAGE_CRS,
        )
        by_county = _rows(sat, "county_code")
        c["figures"] = c["county_code"].map(lambda code: by_county.get(code, {}))
        p = gpd.GeoDataFrame(
            provinces[["province_code", "name_fa", "name_en"]].copy(),
            geometry=layers.simplified(provinces),
            crs=STORAGE_CRS,
        )
        by_province = _rows(per_province, "province_code")
        p["figures"] = p["province_code"].map(lambda code: by_province.get(code, {}))
        value = {
            "fields": ["target_population", "capacity", "ngos", "ratio_to_norm", "class"],
            "services": {code: {"fa": fa, "en": en} for code, (fa, en) in SERVICE_TYPES.items()},
            "breaks": layers.saturation_breaks(norms),
            "norms_version": norms.version,
            "provinces": json.loads(p.to_json(drop_id=True, na="null")),
            "counties": json.loads(c.to_json(drop_id=True, na="null")),
            "synthetic": "NGO capacity and target populations of the demo are SYNTHETIC",
            "attribution": ATTRIBUTION,
        }
        return mapdata._encode(snap, "public", value)

    return snap.cached("maps:public", build)


@router.get(
    "/maps/data/public.json",
    summary="Public figures: target population, capacity and saturation per province and county",
    response_class=Response,
    responses=map_data(PublicNeeds),
)
def public_json(request: Request, snap: Annotated[Snapshot, Depends(national_snapshot)]) -> Response:
    from api.routers.pages import _encoded

    return _encoded(request, public_data(snap))


TEXT = {
    "fa": {
        "title": "نقشهٔ عمومی نیازها",
        "lead": "جمعیت هدف، ظرفیت مراکز و اشباع خدمت در استان‌ها و شهرستان‌ها. مکان هیچ مرکزی نشان داده نمی‌شود.",
        "service": "نوع خدمت",
        "province": "استان",
        "target": "جمعیت هدف",
        "capacity": "ظرفیت",
        "ratio": "نسبت به هنجار",
        "sign_in": "ورود کارکنان",
        "switch": "English",
        "class_underserved": "کم‌برخوردار",
        "class_balanced": "متعادل",
        "class_saturated": "اشباع",
        "dir": "rtl",
    },
    "en": {
        "title": "Public needs map",
        "lead": "Target population, centre capacity and saturation by province and county. No centre's location is shown.",
        "service": "Service type",
        "province": "Province",
        "target": "Target population",
        "capacity": "Capacity",
        "ratio": "Ratio to norm",
        "sign_in": "Staff sign-in",
        "switch": "فارسی",
        "class_underserved": "Underserved",
        "class_balanced": "Balanced",
        "class_saturated": "Saturated",
        "dir": "ltr",
    },
}


@router.get("/maps/public", response_class=HTMLResponse, summary="The public needs map (no sign-in)")
def public_page(
    lang: Annotated[Literal["fa", "en"], Query(description="page language")] = "fa",
) -> HTMLResponse:
    t = TEXT[lang]
    e = html.escape
    other = "en" if lang == "fa" else "fa"
    notice = SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN
    config = json.dumps({"lang": lang, "t": t}, ensure_ascii=False).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="{lang}" dir="{t["dir"]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{e(t["title"])}</title>
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/vendor/vazirmatn/400.css">
<link rel="stylesheet" href="/static/vendor/vazirmatn/700.css">
<link rel="stylesheet" href="/static/app/amayesh.css">
<style>
  #am-public-map {{ position: fixed; inset-block: var(--am-top) 0; inset-inline-start: 440px; inset-inline-end: 0; }}
  .am-public-panel {{ width: 440px; }}
  .am-public-panel table {{ width: 100%; border-collapse: collapse; font-size: 12.5px; }}
  .am-public-panel td, .am-public-panel th {{ border-bottom: 1px solid var(--am-line); padding: 3px 4px; text-align: start; }}
</style>
</head>
<body class="am-page am-public">
<header class="am-top">
  <div class="am-brand">{"آمایش" if lang == "fa" else "Amayesh"}</div>
  <div class="am-demo" role="note">{e(notice)}</div>
  <a class="am-lang" href="/sign-in?lang={lang}">{e(t["sign_in"])}</a>
  <a class="am-lang" id="am-lang" hreflang="{other}" href="/maps/public?lang={other}">{e(t["switch"])}</a>
</header>
<aside class="am-panel am-public-panel">
  <h1>{e(t["title"])}</h1>
  <p>{e(t["lead"])}</p>
  <label>{e(t["service"])} <select id="am-service"></select></label>
  <table id="am-provinces"><thead><tr><th>{e(t["province"])}</th><th>{e(t["target"])}</th>
  <th>{e(t["capacity"])}</th><th>{e(t["ratio"])}</th></tr></thead><tbody></tbody></table>
  <p class="am-attribution">{e(ATTRIBUTION)}</p>
</aside>
<div id="am-public-map"></div>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script>window.AMAYESH_PUBLIC = {config};</script>
<script src="/static/app/public.js"></script>
</body>
</html>
"""
    return page_response(page)
