"""The programme page: who does what where in the target neighbourhoods, the gaps, the progress, and
the entry form (Persian first, Jalali dates on screen; the service stores Gregorian)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import pandas as pd
import shapely

from geo import activities as AC
from geo.schema import DEFAULT_SERVICE_TYPES
from maps.i18n import jalali_date, words
from maps.office import _common, _digits, _share, messages
from maps.pages import NAV_PAGES, _templates

#: key -> (Persian, English)
TEXT = {
    "title": words("page_activities"),
    "lead": (
        "چه کسی، چه کاری، کجا: فعالیت‌های برنامهٔ توانمندسازی اجتماعی در محله‌های هدف، خانوارهای برخوردار در "
        "برابر خانوارهای نیازمند، و محله‌هایی که هنوز فعالیتی ندارند.",
        "Who does what where: the activities of the social capacity-building programme in the target "
        "neighbourhoods, households reached against households in need, and the neighbourhoods with no "
        "activity yet.",
    ),
    "rule": (
        "شمارش: فقط فعالیت‌های «در حال اجرا» و «پایان‌یافته» در محله‌های هدف. خانوارهای فعالیت‌های یک خدمت جمع "
        "می‌شوند؛ خدمت‌های گوناگون همان خانوارها شمرده می‌شوند (بزرگ‌ترین جمع یک خدمت)، و هرگز بیش از "
        "خانوارهای نیازمند.",
        "Counting: only ongoing and completed activities at target neighbourhoods. Households of one "
        "service are summed; different services are taken to reach the same households (the largest "
        "per-service sum), never more than the households in need.",
    ),
    "reached": ("خانوار برخوردار", "Households reached"),
    "need": ("خانوار نیازمند", "Households in need"),
    "share": ("پیشرفت", "Progress"),
    "neighbourhoods": ("محله‌های هدف", "Target neighbourhoods"),
    "with_activity": ("دارای فعالیت", "With activity"),
    "without_activity": ("بی‌فعالیت", "With no activity"),
    "activities": ("فعالیت‌ها", "Activities"),
    "province": words("province"),
    "county": words("county"),
    "neighbourhood": ("محله", "Neighbourhood"),
    "missing": ("خدمت‌های غایب", "Services missing"),
    "services": ("خدمت‌های جاری", "Services at work"),
    "by_province": ("پیشرفت به تفکیک استان", "Progress by province"),
    "by_neighbourhood": ("پیشرفت به تفکیک محله", "Progress by neighbourhood"),
    "map": ("نقشهٔ چه کسی، چه کاری، کجا", "Map of who does what where"),
    "legend_none": ("بی‌فعالیت (کمبود)", "No activity (gap)"),
    "legend_low": ("کمتر از ۲۵٪", "Under 25 %"),
    "legend_mid": ("۲۵ تا ۷۵٪", "25–75 %"),
    "legend_high": ("۷۵٪ و بیشتر", "75 % or more"),
    "download_csv": words("download_csv"),
    "download_xlsx": words("download_xlsx"),
    "over_time": ("پیشرفت در زمان (فصل‌ها)", "Progress over time (quarters)"),
    "new": ("ثبت فعالیت تازه", "Enter a new activity"),
    "organisation": ("سازمان", "Organisation"),
    "organisation_kind": ("نوع سازمان", "Kind of organisation"),
    "licence_no": words("licence_no"),
    "service": ("خدمت", "Service"),
    "place_kind": ("نوع مکان", "Kind of place"),
    "place_code": ("کد مکان", "Place code"),
    "start": ("تاریخ شروع (خورشیدی)", "Start (Jalali date)"),
    "end": ("تاریخ پایان (خورشیدی، اختیاری)", "End (Jalali date, optional)"),
    "households": ("خانوار", "Households"),
    "persons": ("نفر", "Persons"),
    "status": ("وضعیت", "Status"),
    "notes": ("یادداشت", "Notes"),
    "save": ("ثبت فعالیت", "Enter the activity"),
    "import": ("ورود فعالیت‌ها از فایل", "Import activities from a file"),
    "import_hint": (
        "فایل CSV یا XLSX با ستون‌های الگو؛ همهٔ ردیف‌ها یا هیچ‌کدام ثبت می‌شوند و هر ردیف نپذیرفته با دلیلش "
        "گفته می‌شود.",
        "A CSV or XLSX file with the template's columns; every row is entered or none, and each refused "
        "row is listed with its reason.",
    ),
    "template": ("دریافت فایل الگو", "Download the template"),
    "upload": ("بارگذاری", "Upload"),
    "opened": ("محلهٔ برگزیده", "Neighbourhood opened"),
    "its_activities": ("فعالیت‌های این محله", "Its activities"),
    "none": ("هنوز فعالیتی ثبت نشده است.", "No activity entered yet."),
    "dates": ("تاریخ‌ها", "Dates"),
    "synthetic": words("synthetic_value"),
    "more": (
        "فقط ۲۰۰ محلهٔ نخست (کمترین پیشرفت) نشان داده شده است؛ همه در XLSX.",
        "Only the 200 neighbourhoods with the least progress are shown; all are in the XLSX.",
    ),
    "all_provinces": ("همهٔ استان‌های شما", "All your provinces"),
    "show": ("نمایش", "Show"),
    "date_hint": ("مانند ۱۴۰۳/۰۷/۰۱", "e.g. 1403/07/01"),
}
ROWS = 200
SIMPLIFY_DEG = 0.0005


def _t(lang: str) -> dict[str, str]:
    i = 0 if lang == "fa" else 1
    return {k: v[i] for k, v in TEXT.items()}


def _num(value, lang: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return _digits(f"{int(value):,}", lang).replace(",", "٬" if lang == "fa" else ",")


def _map_data(target_areas: pd.DataFrame, progress: pd.DataFrame, lang: str) -> dict:
    """The neighbourhoods as GeoJSON with their progress, for the page's map."""
    p = progress.set_index("target_code")
    t = target_areas[target_areas["target_code"].isin(p.index)]
    features = []
    geoms = shapely.simplify(t.geometry.to_numpy(), SIMPLIFY_DEG, preserve_topology=True)
    # the 500 neighbourhoods' shapes written in one call, their rows read in one (a row and a
    # shape at a time took 120 of the page's 260 ms)
    shapes = shapely.to_geojson(shapely.set_precision(geoms, 1e-5))
    rows = p.loc[t["target_code"].to_numpy()]
    for code, shape, (_, row) in zip(t["target_code"], shapes, rows.iterrows(), strict=True):
        share = row["share_reached"]
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(shape),
                "properties": {
                    "target_code": code,
                    "name": row["name_fa"],
                    "reached": _num(row["households_reached"], lang),
                    "need": _num(row["households_in_need"], lang),
                    "share": None if pd.isna(share) else float(share),
                    "share_text": _share(share, lang),
                    "activities": int(row["activities"]),
                    "gap": int(row["activities"]) == 0 or int(row["households_reached"]) == 0,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def activities_page(
    lang: str,
    tables: Mapping,
    target_areas: pd.DataFrame,
    provinces: pd.DataFrame,
    *,
    as_of: dt.date,
    can_enter: bool,
    selected: str | None,
    province: str | None,
    pages: Sequence[str] = NAV_PAGES,
    services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES,
) -> str:
    """The page of the programme for the caller's provinces (``tables``: ``progress_tables``;
    ``services``: the catalogue's, ``Norms.service_types``)."""
    t = _t(lang)
    i = 0 if lang == "fa" else 1
    n, p, g = tables["neighbourhoods"], tables["provinces"], tables["gaps"]
    acts = tables["activities"]
    province_names = dict(
        zip(provinces["province_code"], provinces["name_fa" if lang == "fa" else "name_en"], strict=True)
    )
    service_name = {code: pair[i] for code, pair in services.items()}
    missing = dict(zip(g["target_code"], g["missing_services"], strict=True))
    need = n["households_in_need"].sum(min_count=1)
    reached = int(n["households_reached"].sum())
    totals = {
        "reached": _num(reached, lang),
        "need": _num(None if pd.isna(need) else int(need), lang),
        "share": _share(None if pd.isna(need) or not need else reached / float(need), lang),
        "neighbourhoods": _num(len(n), lang),
        "with_activity": _num(int((n["activities"] > 0).sum()), lang),
        "without_activity": _num(int(g["no_activity"].sum()), lang),
        "activities": _num(len(acts), lang),
    }

    def n_row(r: Mapping) -> dict:
        return {
            "code": r["target_code"],
            "name": r["name_fa"],
            "province": province_names.get(r["province_code"], r["province_code"]),
            "reached": _num(r["households_reached"], lang),
            "need": _num(r["households_in_need"], lang),
            "share": _share(r["share_reached"], lang),
            "activities": _num(r["activities"], lang),
            "missing": _num(len([s for s in missing.get(r["target_code"], "").split(",") if s]), lang),
            "gap": int(r["activities"]) == 0,
        }

    ordered = n.assign(_s=n["share_reached"].astype("Float64").fillna(-1)).sort_values(["_s", "target_code"])
    province_rows = [
        {
            "name": province_names.get(r["province_code"], r["province_code"]),
            "neighbourhoods": _num(r["neighbourhoods"], lang),
            "reached_n": _num(r["neighbourhoods_reached"], lang),
            "need": _num(r["households_in_need"], lang),
            "reached": _num(r["households_reached"], lang),
            "share": _share(r["share_reached"], lang),
            "activities": _num(r["activities"], lang),
            "by_status": " · ".join(
                f"{AC.STATUSES[s][i]} {_num(r[f'activities_{s}'], lang)}"
                for s in AC.STATUSES
                if r[f"activities_{s}"]
            ),
        }
        for r in p.to_dict("records")
    ]
    opened = None
    if selected is not None and selected in set(n["target_code"]):
        r = n.set_index("target_code").loc[selected]
        mine = acts[acts["target_code"] == selected]
        opened = {
            "code": selected,
            "name": r["name_fa"],
            "reached": _num(r["households_reached"], lang),
            "need": _num(r["households_in_need"], lang),
            "share": _share(r["share_reached"], lang),
            "missing": "، ".join(service_name[s] for s in missing.get(selected, "").split(",") if s)
            if lang == "fa"
            else ", ".join(service_name[s] for s in missing.get(selected, "").split(",") if s),
            "activities": [
                {
                    "id": a["activity_id"],
                    "organisation": a["organisation"],
                    "kind": AC.ORGANISATION_KINDS[a["organisation_kind"]][i],
                    "service": service_name[a["service_type"]],
                    "households": _num(a["households"], lang),
                    "status": AC.STATUSES[a["status"]][i],
                    "status_code": a["status"],
                    "dates": jalali_date(dt.date.fromisoformat(a["start_date"]), lang)
                    + (
                        " – " + jalali_date(dt.date.fromisoformat(a["end_date"]), lang)
                        if isinstance(a["end_date"], str)
                        else ""
                    ),
                    "synthetic": bool(a["synthetic"]),
                }
                for a in mine.to_dict("records")
            ],
        }
    other = "en" if lang == "fa" else "fa"
    query = (f"&province={province}" if province else "") + (f"&target={selected}" if selected else "")
    context = _common(
        "activities",
        lang,
        t["title"],
        as_of,
        bool(tables["synthetic"]),
        f"/maps/activities?lang={other}{query}",
        pages,
    )
    config = {
        "lang": lang,
        "t": messages(lang),
        "map": _map_data(target_areas, n, lang),
        "selected": selected,
        "labels": {
            "reached": t["reached"],
            "need": t["need"],
            "share": t["share"],
            "activities": t["activities"],
        },
        "messages": {
            "saved": "ثبت شد." if lang == "fa" else "Entered.",
            "working": "در حال انجام…" if lang == "fa" else "Working…",
            "bad_date": "تاریخ را به شکل ۱۴۰۳/۰۷/۰۱ بنویسید."
            if lang == "fa"
            else "Write the date as 1403/07/01.",
            "imported": "ردیف ثبت شد." if lang == "fa" else "rows entered.",
            "rejected": "هیچ ردیفی ثبت نشد؛ ردیف‌های نپذیرفته:"
            if lang == "fa"
            else "Nothing was entered; refused rows:",
            "row": "ردیف" if lang == "fa" else "row",
            # a refused row's field by the form's own label, not its column name
            "fields": {
                field: t[label]
                for field, label in {
                    "organisation": "organisation",
                    "organisation_kind": "organisation_kind",
                    "licence_no": "licence_no",
                    "service_type": "service",
                    "place_kind": "place_kind",
                    "place_code": "place_code",
                    "start_date": "start",
                    "end_date": "end",
                    "households": "households",
                    "persons": "persons",
                    "status": "status",
                    "notes": "notes",
                }.items()
            },
        },
    }
    return _templates.get_template("activities.html").render(
        **context,
        s=t,
        totals=totals,
        province_rows=province_rows,
        rows=[n_row(r) for r in ordered.head(ROWS).to_dict("records")],
        more=len(n) > ROWS,
        opened=opened,
        can_enter=can_enter,
        province=province or "",
        provinces=[(c, province_names.get(c, c)) for c in sorted(set(p["province_code"]))],
        services=list(service_name.items()),
        kinds=[(k, v[i]) for k, v in AC.ORGANISATION_KINDS.items()],
        place_kinds=[(k, v[i]) for k, v in AC.PLACE_KINDS.items()],
        statuses=[(k, v[i]) for k, v in AC.STATUSES.items()],
        config=config,
    )
