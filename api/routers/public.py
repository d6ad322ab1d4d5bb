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
from api.deps import MEDIA, catalogued, national_snapshot
from api.exports import attachment
from api.guard import page_response
from api.schemas import BINARY, PublicNeeds, ServiceType, declared_media, map_data
from geo.crs import STORAGE_CRS
from geo.disclosure import COMPLEMENT, FEW_CENTRES, MIN_CENTRES, SHOWN, public_cells
from maps import layers
from maps.i18n import strings
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from services.snapshot import Snapshot
from services.tables import localised, table_bytes, with_place_names

router = APIRouter(tags=["Public view"])


def _rows(cells: pd.DataFrame, key: str) -> dict[str, dict[str, list]]:
    """code -> service -> [target population, capacity, NGOs, ratio to norm, class, suppressed];
    capacity, NGOs and ratio are null where suppressed (``geo.disclosure``)."""

    def value(v, digits=None):
        if v is None or pd.isna(v) or v == float("inf"):
            return None
        return round(float(v), digits) if digits is not None else int(v)

    out: dict[str, dict[str, list]] = {}
    for row in cells.itertuples(index=False):
        out.setdefault(getattr(row, key), {})[row.service_type] = [
            int(row.target_population),
            value(row.capacity),
            value(row.ngos),
            value(row.ratio_to_norm, 3),
            row.klass if isinstance(row.klass, str) else None,
            int(row.suppressed),
        ]
    return out


def public_cells_of(snap: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The public (suppressed) county and province figures of the snapshot, once per snapshot."""
    return snap.cached(
        "maps:public-cells", lambda: public_cells(snap.analysis().saturation, snap.analysis().norms)
    )


def public_data(snap: Snapshot) -> mapdata.Encoded:
    """Aggregates only, from the whole snapshot (built once per snapshot), suppressed so that no
    single centre can be read off (``geo.disclosure``)."""

    def build() -> mapdata.Encoded:
        norms = snap.analysis().norms
        county_cells, province_cells = public_cells_of(snap)
        counties = snap.layer("counties")
        provinces = snap.layer("provinces")
        c = gpd.GeoDataFrame(
            counties[["county_code", "province_code", "name_fa", "name_en"]].copy(),
            geometry=layers.simplified(counties),
            crs=STORAGE_CRS,
        )
        by_county = _rows(county_cells.rename(columns={"class": "klass"}), "county_code")
        c["figures"] = c["county_code"].map(lambda code: by_county.get(code, {}))
        p = gpd.GeoDataFrame(
            provinces[["province_code", "name_fa", "name_en"]].copy(),
            geometry=layers.simplified(provinces),
            crs=STORAGE_CRS,
        )
        by_province = _rows(province_cells.rename(columns={"class": "klass"}), "province_code")
        p["figures"] = p["province_code"].map(lambda code: by_province.get(code, {}))
        value = {
            "fields": ["target_population", "capacity", "ngos", "ratio_to_norm", "class", "suppressed"],
            "min_centres": MIN_CENTRES,
            "services": {code: {"fa": fa, "en": en} for code, (fa, en) in norms.service_types.items()},
            "breaks": layers.saturation_breaks(norms),
            "underserved_below": norms.underserved_below,
            "saturated_at": norms.saturated_at,
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


@router.get(
    "/maps/data/public-table",
    summary="The public figures per county or province as CSV or XLSX (the same suppressed figures as the map)",
    response_class=Response,
    responses=declared_media(
        {MEDIA["xlsx"]: BINARY, MEDIA["csv"]: {"type": "string"}}, "the public figures (XLSX or CSV)"
    ),
)
def public_table(
    snap: Annotated[Snapshot, Depends(national_snapshot)],
    f: Annotated[Literal["csv", "xlsx"], Query(description="file format")] = "xlsx",
    level: Annotated[
        Literal["county", "province"], Query(description="one row per county or per province")
    ] = "county",
    service_type: Annotated[ServiceType | None, Query(description="service type (all if absent)")] = None,
    lang: Annotated[Literal["fa", "en"], Query(description="language of the headers and names")] = "fa",
) -> Response:
    service_type = catalogued(snap, service_type)
    name = f"public-{'counties' if level == 'county' else 'provinces'}"
    # The same file for everyone until the store changes: kept with the snapshot (a workbook of
    # 3,584 rows takes about a second to write).
    key = ("public-table", level, service_type if service_type else None, lang, f)
    content = snap.small.get(key)
    if content is None:
        content = _public_table_bytes(snap, f, level, service_type, lang, name)
        snap.small.put(key, content)
    return attachment(content, name, f)


def _public_table_bytes(
    snap: Snapshot, f: str, level: str, service_type: str | None, lang: str, name: str
) -> bytes:
    county_cells, province_cells = public_cells_of(snap)
    cells = county_cells if level == "county" else province_cells
    if service_type is not None:
        cells = cells[cells["service_type"] == service_type]
    t = strings(lang)
    i = 0 if lang == "fa" else 1
    notes = {SHOWN: "", FEW_CENTRES: t["pub_few_note"], COMPLEMENT: t["pub_complement_note"]}
    frame = cells.assign(note=cells["suppressed"].map(notes)).drop(columns=["suppressed"])
    if level == "province":
        frame = frame.drop(columns=["county_code"], errors="ignore")
    frame = with_place_names(frame, snap.layer("counties"), snap.layer("provinces"), lang)
    labels = {
        "service_type": {k: v[i] for k, v in snap.norms.service_types.items()},
        "class": {k: t["class_" + k] for k in ("underserved", "balanced", "saturated")},
    }
    table = localised(frame, lang, labels).rename(columns={"note": t["pub_note"]})
    about = [
        ("level", level),
        ("service_type", service_type if service_type else "all"),
        ("rule", t["pub_rule"]),
        ("min_centres", str(MIN_CENTRES)),
        ("as_of", snap.as_of.isoformat()),
        ("norms_version", snap.norms.version),
        ("synthetic", SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN),
    ]
    return table_bytes(table, name, f, about)


#: The page's words (``maps.i18n``), passed to its script.
PAGE_KEYS = (
    "target_population", "capacity", "pub_centres", "pub_ratio", "pub_class", "province", "county",
    "class_underserved", "class_balanced", "class_saturated", "no_data", "pub_few", "pub_hidden",
    "pub_few_note", "pub_complement_note", "pub_legend", "pub_class_underserved", "pub_class_balanced",
    "pub_class_saturated", "sort_hint",
)  # fmt: skip


@router.get("/maps/public", response_class=HTMLResponse, summary="The public needs map (no sign-in)")
def public_page(
    lang: Annotated[Literal["fa", "en"], Query(description="page language")] = "fa",
) -> HTMLResponse:
    t = strings(lang)
    e = html.escape
    other = "en" if lang == "fa" else "fa"
    direction = "rtl" if lang == "fa" else "ltr"
    notice = SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN
    attribution = ATTRIBUTION_FA if lang == "fa" else ATTRIBUTION
    config = json.dumps(
        {"lang": lang, "t": {k: t[k] for k in PAGE_KEYS}, "attribution": attribution}, ensure_ascii=False
    ).replace("</", "<\\/")

    def head(level: str) -> str:
        first = t["province"] if level == "provinces" else t["county"]
        cells = [("name", first), ("target", t["target_population"]), ("capacity", t["capacity"]),
                 ("ngos", t["pub_centres"]), ("ratio", t["pub_ratio"]), ("class", t["pub_class"])]  # fmt: skip
        return "".join(f'<th data-sort="{k}" aria-sort="none">{e(v)}</th>' for k, v in cells)

    def downloads(level: str) -> str:
        return (
            f'<div class="am-downloads" data-level="{level}">'
            f'<a class="am-button" data-f="xlsx" href="/maps/data/public-table?f=xlsx&amp;level={level}&amp;lang={lang}" download>{e(t["download_xlsx"])}</a> '
            f'<a class="am-button" data-f="csv" href="/maps/data/public-table?f=csv&amp;level={level}&amp;lang={lang}" download>{e(t["download_csv"])}</a></div>'
        )

    page = f"""<!DOCTYPE html>
<html lang="{lang}" dir="{direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{e(t["pub_title"])}</title>
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/vendor/vazirmatn/400.css">
<link rel="stylesheet" href="/static/vendor/vazirmatn/700.css">
<link rel="stylesheet" href="/static/app/amayesh.css">
<style>
  #am-public-map {{ position: fixed; inset-block: var(--am-top) 0; inset-inline-start: 440px; inset-inline-end: 0; }}
  .am-public-panel {{ width: 440px; }}
  .am-public-panel .am-table-wrap {{ max-height: 34vh; }}
  .am-public-panel .am-rule {{ font-size: 12px; color: #3d4750; }}
  .am-public .am-hidden-value {{ color: #6b7580; font-size: 11.5px; }}
  @media (max-width: 700px) {{
    :root {{ --am-sheet: 46vh; }}
    #am-public-map {{ inset: var(--am-top) 0 var(--am-sheet) 0; }}
    .am-public-panel .am-table-wrap {{ max-height: none; }}
  }}
</style>
</head>
<body class="am-page am-public">
<header class="am-top">
  <div class="am-brand">{e(t["app"])}</div>
  <div class="am-demo" role="note">{e(notice)}</div>
  <a class="am-lang" href="/sign-in?lang={lang}">{e(t["pub_sign_in"])}</a>
  <a class="am-lang" id="am-lang" hreflang="{other}" href="/maps/public?lang={other}">{e(t["switch_language"])}</a>
</header>
<aside class="am-panel am-public-panel" id="am-panel">
  <h1>{e(t["pub_title"])}</h1>
  <p>{e(t["pub_lead"])}</p>
  <label>{e(t["service"])} <select id="am-service"></select></label>
  <section class="am-legend" id="am-public-legend" aria-label="{e(t["pub_legend"])}">
    <h3>{e(t["pub_legend"])}</h3><ul></ul>
    <p class="am-rule" id="am-public-rule">{e(t["pub_rule"])}</p>
  </section>
  <h2>{e(t["pub_provinces"])}</h2>
  {downloads("province")}
  <div class="am-table-wrap"><table id="am-provinces" class="am-table" data-level="provinces"><thead><tr>{head("provinces")}</tr></thead><tbody></tbody></table></div>
  <h2>{e(t["pub_counties"])}</h2>
  {downloads("county")}
  <p class="am-hint">{e(t["sort_hint"])}</p>
  <div class="am-table-wrap"><table id="am-counties" class="am-table" data-level="counties"><thead><tr>{head("counties")}</tr></thead><tbody></tbody></table></div>
  <p class="am-attribution">{e(attribution)}</p>
</aside>
<div id="am-public-map"></div>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script>window.AMAYESH_PUBLIC = {config};</script>
<script src="/static/app/public.js"></script>
</body>
</html>
"""
    return page_response(page)
