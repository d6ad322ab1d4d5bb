"""The licensing office's pages: the register of applications and licence monitoring.

Plain server-rendered tables (no map): Persian first, Jalali dates, the synthetic notice whenever
a synthetic row is shown. The register's actions (register, run the check, decide) are
``maps/static/register.js``, which sends the application's ETag in ``If-Match``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from geo.applications import STATUSES
from geo.decisions import _FA_DIGITS
from geo.schema import DEFAULT_SERVICE_TYPES
from maps.i18n import JALALI_MONTHS_EN, JALALI_MONTHS_FA, jalali_date, strings, words
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from maps.pages import NAV_PAGES, _templates

#: key -> (Persian, English); a word the map pages say too is taken from their catalogue
_TEXT = {
    "app": words("app"),
    "switch_language": words("switch_language"),
    "register_title": ("دفتر درخواست‌های مجوز", "Licence applications"),
    "register_lead": (
        "درخواست‌ها را ثبت کنید، بررسی مجوز را روی هر درخواست اجرا کنید و تصمیم را ثبت کنید. "
        "با موافقت، مجوز در همان تراکنش به فهرست مجوزها افزوده می‌شود.",
        "Register applications, run the licence check on each and record the decision; an approval "
        "adds the licence to the registry in the same transaction.",
    ),
    "monitoring_title": words("page_monitoring"),
    "monitoring_lead": (
        "مجوزهایی که به‌زودی منقضی می‌شوند، مجوزهای منقضی که هنوز فعال ثبت شده‌اند، و سهم درخواست‌هایی "
        "که در مهلت قانونی تصمیم گرفته شده‌اند، به تفکیک استان و ماه.",
        "Licences expiring soon, expired licences still recorded as active, and the share of "
        "applications decided within the legal deadline, by province and month.",
    ),
    "list": ("درخواست‌ها", "Applications"),
    "status": ("وضعیت", "Status"),
    "all": ("همه", "all"),
    "show": ("نمایش", "Show"),
    "id": ("شناسه", "Id"),
    "applicant": words("field_applicant"),
    "service": ("خدمت", "Service"),
    "county": words("county"),
    "province": words("province"),
    "received": ("دریافت", "Received"),
    "decided": ("تصمیم", "Decided"),
    "verdict": ("نتیجهٔ بررسی", "Check"),
    "synthetic": words("synthetic_value"),
    "more": ("فقط ۲۰۰ درخواست نخست نشان داده شده است.", "Only the first 200 applications are shown."),
    "more_rows": (
        "فقط ۲۰۰ ردیف نخست نشان داده شده است؛ همه در XLSX.",
        "Only the first 200 rows; all are in the XLSX.",
    ),
    "application": ("درخواست", "Application"),
    "capacity": words("capacity"),
    "place": ("محل", "Place"),
    "reason": ("دلیل", "Reason"),
    "licence_no": words("licence_no"),
    "check": ("بررسی مجوز", "Licence check"),
    "run_check": ("اجرای بررسی مجوز", "Run the licence check"),
    "on_map": ("دیدن روی نقشه", "See on the map"),
    "decision": ("تصمیم", "Decision"),
    "record_decision": ("ثبت تصمیم", "Record the decision"),
    "new": ("ثبت درخواست تازه", "Register a new application"),
    "lat": words("lat"),
    "lon": words("lon"),
    "register": ("ثبت درخواست", "Register"),
    "within_days": ("انقضا تا (روز)", "Expiring within (days)"),
    "deadline_days": ("مهلت قانونی تصمیم (روز)", "Legal deadline (days)"),
    "by_year": (
        "سهم تصمیم در مهلت، به تفکیک سال دریافت (درخواست‌های باز گذشته از مهلت دیرکرد شمرده می‌شوند)",
        "Decided within the deadline, by year of receipt (open applications past the deadline count as late)",
    ),
    "year": ("سال", "Year"),
    "share": ("سهم در مهلت", "Share in time"),
    "timeliness": (
        "تصمیم در مهلت، به تفکیک استان و ماه",
        "Decisions within the deadline by province and month",
    ),
    "month": ("ماه", "Month"),
    "in_time": ("در مهلت", "In time"),
    "overdue": ("باز و دیرکرد", "Open, overdue"),
    "expiring": ("مجوزهای رو به انقضا", "Licences expiring soon"),
    "expired_active": ("مجوزهای منقضی که هنوز فعال‌اند", "Expired licences still marked active"),
    "name": ("نام", "Name"),
    "expires": ("انقضا", "Expires"),
    "days_left": ("روز مانده", "Days left"),
    "days_overdue": ("روز گذشته", "Days overdue"),
    "as_of": ("وضعیت در", "As of"),
    **{
        key: words(key)
        for key in (
            "trend_title",
            "trend_lead",
            "trend_by",
            "trend_years",
            "trend_quarters",
            "trend_period",
            "trend_active",
            "trend_issued",
            "trend_expired",
            "trend_decided",
            "trend_share",
            "trend_partial",
            "trend_chart",
            "trend_no_decision",
            "trend_units",
            "download_csv",
            "download_xlsx",
        )
    },
    "welcome": ("مطلوب", "welcome"),
    "acceptable": ("قابل‌قبول", "acceptable"),
    "saturated": ("اشباع", "saturated"),
}
ROWS = 200


def _t(lang: str) -> dict[str, str]:
    i = 0 if lang == "fa" else 1
    return {k: v[i] for k, v in _TEXT.items()}


def _digits(text: object, lang: str) -> str:
    out = "" if text is None else str(text)
    return out.translate(_FA_DIGITS) if lang == "fa" else out


def _when(iso: str | None, lang: str) -> str:
    """An ISO timestamp (UTC) as its Jalali day in Tehran."""
    if not iso:
        return ""
    day = pd.Timestamp(iso).tz_convert("Asia/Tehran").date()
    return jalali_date(day, lang)


def _month(code: str, lang: str) -> str:
    year, month = (int(x) for x in code.split("-"))
    names = JALALI_MONTHS_FA if lang == "fa" else JALALI_MONTHS_EN
    return _digits(f"{names[month - 1]} {year}", lang)


def _share(value, lang: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    return _digits(f"{100 * float(value):.1f}", lang) + (" ٪" if lang == "fa" else " %")


#: The trend chart's size in pixels (viewBox), and its margins: bars stand on the base line.
CHART_WIDTH, CHART_HEIGHT = 560, 190
_CHART_TOP, _CHART_BOTTOM, _CHART_SIDE, _CHART_AXIS = 24, 40, 12, 40


def trend_rows(rows: Sequence[Mapping], lang: str, as_of: dt.date) -> list[dict]:
    """The trend table's rows (one per period) as the page writes them: the period's Jalali
    label (a period not over at the as-of day says so), counts and the share in its digits."""
    t = _t(lang)
    out = []
    for r in rows:
        label = r["label_fa"] if lang == "fa" else r["label_en"]
        out.append(
            {
                "period": r["period"],
                "label": label,
                "note": t["trend_partial"].format(date=jalali_date(as_of, lang)) if r["partial"] else "",
                "active": _digits(int(r["active_centres"]), lang),
                "issued": _digits(int(r["issued"]), lang),
                "expired": _digits(int(r["expired"]), lang),
                "decided": _digits(int(r["decided"]), lang),
                "share": _share(r["share_in_time"], lang),
            }
        )
    return out


def trend_chart(rows: Sequence[Mapping], lang: str) -> dict:
    """An inline SVG bar chart of the share decided in time, one bar per period, drawn here (no
    chart library, nothing from outside): the bars' boxes, their labels and the 0/50/100 % lines.
    Time runs in the reading direction: from the right in Persian."""
    t = _t(lang)
    n = max(len(rows), 1)
    plot_h = CHART_HEIGHT - _CHART_TOP - _CHART_BOTTOM
    slot = (CHART_WIDTH - 2 * _CHART_SIDE - _CHART_AXIS) / n
    # the axis's labels stand at the start of the reading direction, the bars after them
    first = _CHART_SIDE + (0 if lang == "fa" else _CHART_AXIS)
    bars = []
    for k, r in enumerate(rows):
        place = n - 1 - k if lang == "fa" else k
        share = r["share_in_time"]
        empty = share is None or pd.isna(share)
        h = 0.0 if empty else plot_h * float(share)
        x = first + place * slot + slot * 0.2
        bars.append(
            {
                "period": r["period"],
                "x": round(x, 1),
                "y": round(_CHART_TOP + plot_h - h, 1),
                "width": round(slot * 0.6, 1),
                "height": round(h, 1),
                "cx": round(x + slot * 0.3, 1),
                "empty": empty,
                "value": t["trend_no_decision"] if empty else _share(share, lang),
                "label": r["label_fa"] if lang == "fa" else r["label_en"],
            }
        )
    grid = [
        {
            "y": round(_CHART_TOP + plot_h * (1 - f), 1),
            "label": _digits(round(100 * f), lang) + (" ٪" if lang == "fa" else " %"),
        }
        for f in (0.0, 0.5, 1.0)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bars": bars,
        "grid": grid,
        "left": _CHART_SIDE,
        "right": CHART_WIDTH - _CHART_SIDE,
        "label_y": CHART_HEIGHT - _CHART_BOTTOM + 16,
        "base_y": _CHART_TOP + plot_h,
    }


def nav(lang: str, pages: Sequence[str]) -> list[tuple[str, str, str]]:
    """The top bar's links: (page, address, label) of each page in ``pages``, in the bar's order."""
    text = strings(lang)
    return [(p, f"/maps/{p}?lang={lang}", text["page_" + p]) for p in NAV_PAGES if p in pages]


def _common(
    page: str,
    lang: str,
    title: str,
    as_of: dt.date | None,
    synthetic: bool,
    other_url: str,
    pages: Sequence[str] = NAV_PAGES,
) -> dict:
    t = _t(lang)
    return {
        "page": page,
        "lang": lang,
        "dir": "rtl" if lang == "fa" else "ltr",
        "t": t,
        "title": title,
        "nav": nav(lang, pages),
        "synthetic": synthetic,
        "notice": SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN,
        "as_of": f"{t['as_of']} {jalali_date(as_of, lang)}" if as_of else "",
        "other_url": other_url,
        "attribution": ATTRIBUTION_FA if lang == "fa" else ATTRIBUTION,
    }


def messages(lang: str) -> dict[str, str]:
    """The catalogue's words for the service's problem answers (``err_*``, ``field_*``,
    ``invalid_*``): what ``Amayesh.u.problemText`` (maps/static/common.js) says them with."""
    return {k: v for k, v in strings(lang).items() if k.startswith(("err_", "field_", "invalid_"))} | {
        "error": strings(lang)["error"]
    }


def register_page(
    lang: str,
    rows: Sequence[Mapping],
    selected: Mapping | None,
    county_names: Mapping[str, str],
    *,
    as_of: dt.date,
    can_decide: bool,
    status: str | None,
    prefill: Mapping[str, str],
    etag: str | None,
    pages: Sequence[str] = NAV_PAGES,
    services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES,
) -> str:
    """The register: the applications of the caller's provinces, one opened, the forms;
    ``services``: the catalogue's (``Norms.service_types``)."""
    t = _t(lang)
    i = 0 if lang == "fa" else 1
    status_labels = {code: pair[i] for code, pair in STATUSES.items()}
    service_names = {code: pair[i] for code, pair in services.items()}
    choices = list(service_names.items())

    def row(r: Mapping) -> dict:
        return {
            **r,
            "service": service_names.get(r["service_type"], r["service_type"]),
            "county": county_names.get(r["county_code"], r["county_code"]),
            "received": _when(r["received_at"], lang),
            "decided": _when(r.get("decided_at"), lang),
            "status_label": status_labels[r["status"]],
            "verdict": t.get(r.get("check_verdict") or "", ""),
            "capacity": _digits(r["capacity"], lang),
        }

    opened = None
    if selected is not None:
        opened = row(selected) | {"etag": etag, "open": selected["status"] in ("received", "checked")}
        check = selected.get("check_result")
        if check:
            reasons = check.get("reasons_fa" if lang == "fa" else "reasons_en") or check.get("reasons") or []
            opened["check"] = {
                "verdict": check["verdict"],
                "verdict_label": t.get(check["verdict"], check["verdict"]),
                "reasons": [str(x) for x in reasons][:12],
            }
        else:
            opened["check"] = None
    shown = [row(r) for r in rows[:ROWS]]
    synthetic = any(r["synthetic"] for r in rows[:ROWS]) or bool(selected and selected["synthetic"])
    query = f"&id={selected['application_id']}" if selected else ""
    context = _common(
        "register",
        lang,
        t["register_title"],
        as_of,
        synthetic,
        f"/maps/register?lang={'en' if lang == 'fa' else 'fa'}{query}",
        pages,
    )
    s = t | {"lead": t["register_lead"]}
    config = {
        "lang": lang,
        "t": messages(lang),
        "messages": {
            "stale": (
                "این درخواست را کس دیگری تغییر داده است؛ صفحه را دوباره بارگذاری کنید."
                if lang == "fa"
                else "Somebody else changed this application; reload the page."
            ),
            "saved": "ذخیره شد." if lang == "fa" else "Saved.",
            "working": "در حال انجام…" if lang == "fa" else "Working…",
        },
    }
    return _templates.get_template("register.html").render(
        **context,
        s=s,
        rows=shown,
        count=_digits(len(rows), lang),
        more=len(rows) > ROWS,
        selected=opened,
        statuses=list(status_labels.items()),
        status_labels=status_labels,
        status=status or "",
        services=choices,
        can_decide=can_decide,
        prefill={"service_type": "", "capacity": "", "lat": "", "lon": ""} | dict(prefill),
        config=config,
    )


def monitoring_page(
    lang: str,
    tables: Mapping[str, pd.DataFrame],
    by_year: Sequence[Mapping],
    county_names: Mapping[str, str],
    province_names: Mapping[str, str],
    *,
    as_of: dt.date,
    synthetic: bool,
    within_days: int,
    deadline_days: int,
    trends: Mapping | None = None,
    trend: str = "year",
    pages: Sequence[str] = NAV_PAGES,
    ratings: Mapping | None = None,
    services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES,
) -> str:
    """The monitoring page: the trend table and chart by Jalali year or quarter (``trends``, as
    ``GET /trends?level=country`` answers for the caller), decisions by year, province and month,
    licences expiring and expired; with ``ratings`` (``rating_card``), the provinces ranked by
    their centres' evaluations."""
    t = _t(lang)
    i = 0 if lang == "fa" else 1
    trend_rows_ = trend_rows(trends["rows"], lang, as_of) if trends else []
    chart = trend_chart(trends["rows"], lang) if trends else None
    query = f"periods={trends['periods']}&level=country&deadline_days={deadline_days}" if trends else ""

    def licences(frame: pd.DataFrame, days: str) -> list[dict]:
        return [
            {
                "licence_no": r["licence_no"],
                "name": r["name_fa"],
                "service": services.get(r["service_type"], (r["service_type"],) * 2)[i],
                "county": county_names.get(r["county_code"], r["county_code"]),
                "expires": ""
                if pd.isna(r["expires_on"])
                else jalali_date(pd.Timestamp(r["expires_on"]).date(), lang),
                "days": _digits(r[days], lang),
            }
            for r in frame.head(ROWS).to_dict("records")
        ]

    timeliness = [
        {
            "province": province_names.get(r["province_code"], r["province_code"]),
            "month": _month(r["jalali_month"], lang),
            "received": _digits(r["received"], lang),
            "decided": _digits(r["decided"], lang),
            "in_time": _digits(r["decided_in_time"], lang),
            "overdue": _digits(r["open_overdue"], lang),
            "share": _share(r["share_in_time"], lang),
        }
        for r in tables["timeliness"].to_dict("records")
    ]
    other = "en" if lang == "fa" else "fa"
    context = _common(
        "monitoring",
        lang,
        t["monitoring_title"],
        as_of,
        synthetic,
        f"/maps/monitoring?lang={other}&within_days={within_days}&deadline_days={deadline_days}&trend={trend}",
        pages,
    )
    return _templates.get_template("monitoring.html").render(
        **context,
        s=t | {"lead": t["monitoring_lead"]},
        within_days=within_days,
        deadline_days=deadline_days,
        by_year=[
            {"year": _digits(y["jalali_year"], lang), "share": _share(y["share_in_time"], lang)}
            for y in by_year
        ],
        timeliness=timeliness,
        expiring=licences(tables["expiring"], "days_left"),
        expired=licences(tables["expired_active"], "days_overdue"),
        expiring_count=_digits(len(tables["expiring"]), lang),
        expired_count=_digits(len(tables["expired_active"]), lang),
        more=len(tables["expiring"]) > ROWS or len(tables["expired_active"]) > ROWS,
        trend=trend,
        trend_rows=trend_rows_,
        chart=chart,
        trend_query=query,
        trend_periods=trends["periods"] if trends else "",
        trend_downloads=bool(trends and trends.get("downloads")),
        trend_unit=(trends["country_fa"] if lang == "fa" else trends["country_en"]) if trends else "",
        ratings=ratings,
        r=({k: v[i] for k, v in _RATING_TEXT.items()} if ratings else {}),
    )


_RATING_TEXT = {
    "title": ("رتبهٔ مراکز به تفکیک استان", "Ratings of centres by province"),
    "lead": (
        "استان‌ها به ترتیب میانگین وزن جاهای مراکز فعالشان (جاهای شمرده‌شده ÷ جاهای مجوز)، با سهم "
        "جاها در هر رتبه. رتبهٔ هر مرکز آخرین ارزیابی آن تا تاریخ مبناست.",
        "Provinces in order of the mean weight of their active centres' places (places counted ÷ "
        "licensed places), with the share of places at each grade. A centre's grade is its latest "
        "evaluation up to the as-of day.",
    ),
    "rank": ("رده", "Rank"),
    "province": ("استان", "Province"),
    "centres": ("مراکز", "Centres"),
    "rated": ("ارزیابی‌شده", "Evaluated"),
    "places": ("جای مجوز", "Licensed places"),
    "counted": ("جای شمرده‌شده", "Places counted"),
    "mean_weight": ("میانگین وزن", "Mean weight"),
    "unrated": ("بی‌ارزیابی", "Unrated"),
    "synthetic": (
        "وزن رتبه‌ها ساختگی و نمایشی است، نه سیاست سازمان.",
        "The grades' weights are synthetic, illustrative figures, not the organisation's policy.",
    ),
    "weighted": (
        "ظرفیت در همهٔ سنجه‌ها به رتبه وزن داده می‌شود.",
        "Capacity is weighted by rating in every measure.",
    ),
    "csv": ("CSV", "CSV"),
    "none": ("هنوز ارزیابی‌ای ثبت نشده است.", "No evaluations recorded yet."),
}


def rating_card(table: pd.DataFrame, scale, lang: str) -> dict:
    """The rankings (``services.evaluations.rankings``) as the monitoring page shows them."""
    grades = [*scale.codes, "unrated"]
    i = 0 if lang == "fa" else 1
    rows = [
        {
            "rank": _digits(r["rank"], lang),
            "province": r["province_fa"] if lang == "fa" else (r["province_en"] or r["province_fa"]),
            "centres": _digits(f"{int(r['centres']):,}", lang),
            "rated": _digits(f"{int(r['rated_centres']):,}", lang),
            "places": _digits(f"{int(r['places']):,}", lang),
            "counted": _digits(f"{int(r['effective']):,}", lang),
            "mean_weight": "—" if pd.isna(r["mean_weight"]) else _digits(f"{r['mean_weight']:.3f}", lang),
            "shares": [_share(r[f"share_{g}"], lang) for g in grades],
        }
        for r in table.to_dict("records")
    ]
    labels = [(g, (scale.grades[g].fa, scale.grades[g].en)[i]) for g in scale.codes]
    return {
        "rows": rows,
        "grades": [g if g != "unrated" else _RATING_TEXT["unrated"][i] for g in grades],
        "meanings": labels,
        "synthetic": scale.synthetic,
        "weighted": scale.weight_capacity_by_rating,
        "rated": int(table["rated_centres"].sum()) if len(table) else 0,
    }


_IMPORT_TEXT = {
    "catalogue": ("فهرست خدمات و هنجارها", "Service catalogue and norms"),
    "catalogue_lead": (
        "خدمات، شیوه‌های ارائه و دامنهٔ هر شیوه، ارائه‌دهندگان و هنجارها در یک پروندهٔ نسخه‌دار است. "
        "پرونده را بگیرید، ویرایش کنید، نسخه‌اش را عوض کنید و دوباره بارگذاری کنید: همه یا هیچ، "
        "و از درخواست بعدی برای همهٔ صفحه‌ها و گزارش‌ها به کار می‌رود.",
        "Services, their delivery modes and each mode's reach, providers and norms are one versioned "
        "file. Download it, edit it, give it a new version and upload it: all or nothing, in force "
        "for every page and report from the next request.",
    ),
    "catalogue_version": ("نسخه", "Version"),
    "catalogue_file": ("از پروندهٔ هنجارهای سرور", "from the server's norms file"),
    "catalogue_imported": ("وارد شده در {when} به دست {who}", "imported on {when} by {who}"),
    "catalogue_download": ("گرفتن پروندهٔ هنجارها", "Download the norms file (TOML)"),
    "catalogue_upload": ("بارگذاری نسخهٔ تازه", "Upload a new version"),
    "catalogue_done": ("نسخهٔ {version} اکنون به کار می‌رود.", "Version {version} is now in force."),
    "service": ("خدمت", "Service"),
    "modes": ("شیوه‌های ارائه (دامنه)", "Delivery modes (reach)"),
    "providers": ("ارائه‌دهندگان", "Providers"),
    "title": words("page_import"),
    "lead": (
        "فایل اکسل یا CSV دفتر مجوزها را بارگذاری کنید. پیش از نوشتن، می‌بینید چند ردیف افزوده، به‌روز یا "
        "بی‌تغییر می‌ماند و کدام ردیف‌ها به چه دلیل پذیرفته نشده‌اند. ردیف‌های بی‌مختصات با کد آبادی یا نام "
        "روستا و شهرستان جای‌گذاری می‌شوند. تا همهٔ ردیف‌ها درست نباشند، چیزی نوشته نمی‌شود.",
        "Upload the registry's Excel or CSV file. Before anything is written you see how many rows would "
        "be added, updated or left unchanged and which rows are rejected, and why. Rows without "
        "coordinates are placed by their settlement code, or their village name and county. Nothing is "
        "written until every row is right.",
    ),
    "layer": ("لایه", "Layer"),
    "template": ("دریافت فایل الگو", "Download the template"),
    "file": ("فایل", "File"),
    "upload": ("بارگذاری و بررسی", "Upload and check"),
    "progress": ("پیشرفت", "Progress"),
    "preview": ("پیش‌نمایش", "Preview"),
    "added": ("افزوده", "Added"),
    "updated": ("به‌روز", "Updated"),
    "unchanged": ("بی‌تغییر", "Unchanged"),
    "rejected": ("پذیرفته‌نشده", "Rejected"),
    "row": ("ردیف", "Row"),
    "field": ("ستون", "Field"),
    "value": ("مقدار", "Value"),
    "reason": ("دلیل", "Reason"),
    "confirm": ("تأیید و نوشتن", "Confirm and write"),
    "cancel": ("انصراف", "Cancel"),
    "download_rejected": ("دریافت ردیف‌های ردشده (XLSX)", "Download the rejected rows (XLSX)"),
    "recent": ("ورودهای اخیر", "Recent imports"),
    "when": ("زمان", "When"),
    "by": ("کاربر", "By"),
    "undo": ("بازگرداندن", "Undo"),
    "undone": ("بازگردانده شد", "undone"),
    "none": ("هنوز داده‌ای وارد نشده است.", "No imports yet."),
}
_LAYER_TITLES = {"ngos": 0, "target_areas": 0, "county_needs": 0}


def import_page(
    lang: str,
    *,
    layers: Sequence[str],
    can_undo: bool,
    as_of: dt.date,
    pages: Sequence[str],
    catalogue: Mapping | None = None,
) -> str:
    """The import page: choose a layer, upload, follow the progress, preview, confirm or cancel;
    for an administrator, the service catalogue in force (``services.catalogue.describe``) and
    the import of a new version of the norms."""
    from geo.schema import LAYERS

    i = 0 if lang == "fa" else 1
    t = _t(lang) | {k: v[i] for k, v in _IMPORT_TEXT.items()}
    other = "en" if lang == "fa" else "fa"
    # The top bar: the pages this role may open (this one among them).
    context = _common("import", lang, t["title"], as_of, False, f"/maps/import?lang={other}", pages)
    config = {
        "lang": lang,
        "t": messages(lang),
        "canUndo": can_undo,
        "messages": {
            "working": "در حال بررسی…" if lang == "fa" else "Checking…",
            "uploading": "در حال بارگذاری…" if lang == "fa" else "Uploading…",
            "read": "ردیف خوانده شد" if lang == "fa" else "rows read",
            "checked": "ردیف بررسی شد" if lang == "fa" else "rows checked",
            "written": "نوشته شد." if lang == "fa" else "Written.",
            "cancelled": "لغو شد؛ فایل پاک شد." if lang == "fa" else "Cancelled; the file was deleted.",
            "refused": "فایل پذیرفته نشد." if lang == "fa" else "The file was refused.",
            "failed": "بررسی ناکام ماند." if lang == "fa" else "The check failed.",
            "undone": "بازگردانده شد." if lang == "fa" else "Undone.",
            "undone_label": t["undone"],
            "undo": t["undo"],
        },
    }
    return _templates.get_template("import.html").render(
        **context,
        s=t,
        layers=[(name, (LAYERS[name].title_fa, LAYERS[name].title_en)[i]) for name in layers],
        can_undo=can_undo,
        config=config,
        catalogue=_catalogue_rows(catalogue, lang) if catalogue is not None else None,
    )


def _catalogue_rows(catalogue: Mapping, lang: str) -> dict:
    """The catalogue as the import page shows it: its version, where it comes from, a row per
    service (name, delivery modes with their reach, providers)."""
    i = 0 if lang == "fa" else 1

    def num(value: str) -> str:
        return _digits(value, lang)

    unit = {"km": ("کیلومتر", "km"), "min": ("دقیقه", "min")}
    rows = []
    for s in catalogue["services"]:
        modes = []
        for m in s["modes"]:
            name = (catalogue["modes"][m]["fa"], catalogue["modes"][m]["en"])[i]
            reach = s["reach"][m]
            modes.append(
                name if reach is None else f"{name} ({num(f'{reach:g}')} {unit[s['reach_unit']][i]})"
            )
        rows.append(
            {
                "code": s["code"],
                "name": (s["label_fa"], s["label_en"])[i],
                "modes": "، ".join(modes) if lang == "fa" else ", ".join(modes),
                "providers": ("، " if lang == "fa" else ", ").join(
                    (catalogue["provider_kinds"][k]["fa"], catalogue["provider_kinds"][k]["en"])[i]
                    for k in s["provider_kinds"]
                ),
            }
        )
    when = catalogue["imported_at"]
    return {
        "version": catalogue["version"],
        "imported": catalogue["source"] == "imported",
        "imported_at": jalali_date(dt.datetime.fromisoformat(when).date(), lang) if when else "",
        "imported_by": catalogue["imported_by"] or "",
        "rows": rows,
    }


def refusal_page(
    lang: str,
    *,
    status: int,
    title: str,
    text: str,
    pages: Sequence[str],
    sign_in_url: str | None,
    other_url: str,
) -> str:
    """A page refused or not found, as a page: why (``text``), and what to do next: sign in
    (``sign_in_url``), or open one of the pages the caller may open (``pages``)."""
    t = _t(lang) | {k: strings(lang)[k] for k in ("pages_you_may_open", "sign_in")}
    context = _common("refused", lang, title, None, False, other_url, pages)
    return _templates.get_template("refusal.html").render(
        **context, s=t, status=status, text=text, sign_in_url=sign_in_url
    )
