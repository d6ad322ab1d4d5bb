"""The words on the map pages, in Persian (the default) and English.

Pages pass the chosen language's table to the browser; scripts never hold display text of their
own. Labels of service types, statuses and settlement kinds come from ``geo.schema``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import jdatetime

from geo.schema import LICENCE_STATUSES, SERVICE_TYPES, SETTLEMENT_KINDS

LANGUAGES = ("fa", "en")

_STRINGS: Mapping[str, tuple[str, str]] = {
    "app": ("آمایش", "Amayesh"),
    "app_long": ("آمایش خدمات بهزیستی", "Amayesh · welfare services planning"),
    "page_national": ("نقشهٔ کشوری", "National map"),
    "page_licence": ("بررسی مجوز", "Licence check"),
    "page_priorities": ("اولویت روستاها", "Village priorities"),
    "page_plan": ("برنامه‌ریزی", "Planning"),
    "switch_language": ("English", "فارسی"),
    "sheet_open": ("▲ نمایش پنل", "▲ Show panel"),
    "sheet_close": ("▼ نقشهٔ بزرگ‌تر", "▼ Larger map"),
    "as_of": ("وضعیت مجوزها به تاریخ {date}", "Licence statuses as of {date}"),
    "as_of_registry": ("تاریخ ثبت دفتر مجوزها", "the registry's own date"),
    "as_of_today": ("امروز", "today"),
    "as_of_setting": ("تاریخ تعیین‌شده", "the configured date"),
    "demo": ("نسخهٔ نمایشی", "Demo"),
    "service": ("نوع خدمت", "Service type"),
    "province": ("استان", "Province"),
    "county": ("شهرستان", "County"),
    "whole_country": ("همهٔ کشور", "Whole country"),
    "choose_province": ("یک استان را برگزینید", "Choose a province"),
    "layers": ("لایه‌ها", "Layers"),
    "layer_provinces": ("استان‌ها", "Provinces"),
    "layer_counties": ("اشباع خدمت در شهرستان‌ها", "Saturation by county"),
    "layer_settlements": ("سکونتگاه‌ها (دسترسی)", "Settlements (access)"),
    "layer_ngos": ("سازمان‌های مردم‌نهاد", "NGOs"),
    "layer_targets": ("محله‌های هدف", "Target neighbourhoods"),
    "layer_labels": ("نام‌ها", "Names"),
    "county_one": ("شهرستان", "county"),
    "county_many": ("شهرستان", "counties"),
    "n_underserved": ("کم‌برخوردار", "underserved"),
    "n_balanced": ("متعادل", "balanced"),
    "n_saturated": ("اشباع", "saturated"),
    "flagged_place_one": ("سکونتگاه نیازمند توجه", "flagged place"),
    "flagged_place_many": ("سکونتگاه نیازمند توجه", "flagged places"),
    "active_centre_one": ("مرکز فعال", "active centre"),
    "active_centre_many": ("مرکز فعال", "active centres"),
    "villages_out_of_reach": ("روستاهای بی‌مرکز در شعاع دسترسی", "Villages with no centre in reach"),
    "flagged_places": ("سکونتگاه‌های نیازمند توجه", "Flagged places"),
    "explain_saturated_villages": (
        "این شهرستان روی هم رفته «{class}» است، چون ظرفیتش در شهرهاست؛ ولی {out} روستا از {villages} "
        "روستای آن هیچ مرکزی در شعاع {km} کیلومتری ندارند.",
        "This county is {class} on average because its capacity sits in its towns, yet {out} of its "
        "{villages} villages have no centre within {km} km.",
    ),
    "search": ("جست‌وجوی مکان", "Find a place"),
    "search_placeholder": (
        "نام روستا، شهر، شهرستان یا استان، یا کد",
        "Village, city, county or province name, or a code",
    ),
    "place_province": ("استان", "province"),
    "place_county": ("شهرستان", "county"),
    "place_settlement": ("سکونتگاه", "settlement"),
    "place_place": ("غیررسمی: در فهرست رسمی نیست", "unofficial: not in the official list"),
    "county_table": ("شهرستان‌ها برای این خدمت", "Counties for this service"),
    "col_ratio": ("نسبت به هنجار", "× norm"),
    "col_out_of_reach": ("روستای بی‌دسترسی", "Villages out of reach"),
    "col_flagged": ("نیازمند توجه", "Flagged"),
    "sort_hint": ("برای مرتب‌سازی روی سرستون کلیک کنید.", "Click a column heading to sort."),
    "legend_saturation": (
        "ظرفیت به ازای ۱۰٬۰۰۰ نفر جمعیت هدف، نسبت به هنجار",
        "Capacity per 10,000 target persons, against the norm",
    ),
    "legend_access": ("دسترسی سکونتگاه به این خدمت", "Settlement access to this service"),
    "legend_ngos": ("سازمان‌های مردم‌نهاد (نوع خدمت)", "NGOs (service type)"),
    "no_data": ("بدون جمعیت هدف", "No target population"),
    "class_underserved": ("کم‌برخوردار", "Underserved"),
    "class_balanced": ("متعادل", "Balanced"),
    "class_saturated": ("اشباع", "Saturated"),
    "access_0": ("هیچ مرکزی در شعاع دسترسی", "No centre within reach"),
    "access_1": ("کمتر از نیمی از هنجار", "Under half the norm"),
    "access_2": ("نیمی از هنجار تا هنجار", "Half the norm to the norm"),
    "access_3": ("هنجار یا بیشتر", "The norm or more"),
    "flagged": ("نیازمند توجه (کم‌برخوردار)", "Flagged as underserved"),
    "flagged_short": ("نیازمند توجه", "Flagged"),
    "times_norm": ("برابر هنجار", "× norm"),
    "or_more": ("و بیشتر", "or more"),
    "population": ("جمعیت", "Population"),
    "target_population": ("جمعیت هدف", "Target population"),
    "capacity": ("ظرفیت", "Capacity"),
    "capacity_per_10k": ("ظرفیت به ازای ۱۰٬۰۰۰ نفر", "Capacity per 10,000"),
    "norm_per_10k": ("هنجار به ازای ۱۰٬۰۰۰ نفر", "Norm per 10,000"),
    "ratio_to_norm": ("نسبت به هنجار", "Ratio to norm"),
    "ngos": ("مراکز", "Centres"),
    "class": ("وضعیت", "Class"),
    "nearest": ("نزدیک‌ترین مرکز", "Nearest centre"),
    "km": ("کیلومتر", "km"),
    "about": ("حدود", "about"),
    "min": ("دقیقه", "min"),
    "by_straight_line": ("به خط مستقیم", "in a straight line"),
    "in_reach": ("مراکز در شعاع دسترسی", "Centres within reach"),
    "access_share": ("دسترسی نسبت به هنجار", "Access against the norm"),
    "in_target_area": ("در محدودهٔ محلهٔ هدف", "Inside a target neighbourhood"),
    "licence_no": ("شمارهٔ مجوز", "Licence no."),
    "issued_on": ("تاریخ صدور", "Issued"),
    "expires_on": ("تاریخ انقضا", "Expires"),
    "status": ("وضعیت مجوز", "Licence status"),
    "households": ("خانوار", "Households"),
    "kind_urban": ("شهری", "Urban"),
    "kind_rural": ("روستایی", "Rural"),
    "centres_here": ("مرکز", "centres"),
    "zoom_in": ("برای دیدن جزئیات بزرگ‌نمایی کنید", "Zoom in for details"),
    "national_zoom_note": (
        "در نمای کشوری فقط سکونتگاه‌های نیازمند توجه نشان داده می‌شوند؛ برای دیدن همه بزرگ‌نمایی کنید.",
        "At national zoom only flagged places are drawn; zoom in to see every settlement.",
    ),
    "loading": ("در حال بارگذاری…", "Loading…"),
    "error": ("خطا", "Error"),
    "synthetic_value": ("ساختگی", "synthetic"),
    "click_hint": (
        "روی شهرستان، سکونتگاه یا مرکز کلیک کنید تا ارقام و دلایل را ببینید.",
        "Click a county, settlement or centre to see its figures and reasons.",
    ),
    # licence check
    "licence_intro": (
        "جای مرکز پیشنهادی را روی نقشه کلیک کنید یا مختصات را بنویسید.",
        "Click the proposed centre's place on the map, or type its coordinates.",
    ),
    "lat": ("عرض جغرافیایی", "Latitude"),
    "lon": ("طول جغرافیایی", "Longitude"),
    "check": ("بررسی", "Check"),
    "verdict": ("نتیجه", "Verdict"),
    "verdict_welcome": ("مطلوب", "Welcome"),
    "verdict_acceptable": ("پذیرفتنی", "Acceptable"),
    "verdict_saturated": ("اشباع", "Saturated"),
    "reasons": ("دلایل", "Reasons"),
    "before": ("پیش از مجوز", "Before"),
    "after": ("پس از مجوز", "After"),
    "same_type_nearby": ("مراکز هم‌نوع نزدیک", "Same-type centres nearby"),
    "newly_covered": ("جمعیت هدف تازه پوشش‌یافته", "Target persons newly covered"),
    "better_places": ("جاهای کم‌برخوردار بهتر", "Better underserved places"),
    "catchment": ("شعاع دسترسی", "Catchment"),
    "catchment_note": (
        "دایره: {travel} کیلومتر مسیر، برابر {radius} کیلومتر خط مستقیم",
        "Circle: {travel} km of travel, {radius} km in a straight line",
    ),
    "catchment_note_roads": (
        "محدوده: جاهایی که در {minutes} دقیقه از راه‌ها به آن می‌رسند",
        "Area: places within {minutes} min by road",
    ),
    "proposed": ("مرکز پیشنهادی", "Proposed centre"),
    "distance": ("فاصله", "Distance"),
    "none": ("هیچ", "none"),
    "outside_iran": ("این نقطه در هیچ شهرستانی نیست.", "This point is not in any county."),
    "err_lat_missing": ("عرض جغرافیایی را بنویسید (مثلاً ۳۵٫۷).", "Type the latitude (e.g. 35.7)."),
    "err_lon_missing": ("طول جغرافیایی را بنویسید (مثلاً ۵۱٫۴).", "Type the longitude (e.g. 51.4)."),
    "err_lat_number": (
        "عرض جغرافیایی باید عددی میان ۹۰- و ۹۰ باشد.",
        "The latitude must be a number from -90 to 90.",
    ),
    "err_lon_number": (
        "طول جغرافیایی باید عددی میان ۱۸۰- و ۱۸۰ باشد.",
        "The longitude must be a number from -180 to 180.",
    ),
    "err_capacity": (
        "ظرفیت باید عددی درست از ۱ تا ۱۰۰٬۰۰۰ باشد.",
        "The capacity must be a whole number from 1 to 100,000.",
    ),
    "err_swapped": (
        "این نقطه بیرون از ایران است؛ شاید عرض و طول جابه‌جا نوشته شده‌اند. منظورتان عرض {lat} و طول {lon} است؟ (برای جابه‌جایی کلیک کنید)",
        "This point is outside Iran; the latitude and longitude may be swapped. Did you mean latitude {lat}, longitude {lon}? (click to swap)",
    ),
    "err_outside_iran": (
        "نقطهٔ عرض {lat} و طول {lon} بیرون از ایران است.",
        "The point at latitude {lat}, longitude {lon} is outside Iran.",
    ),
    "err_outside_counties": (
        "نقطهٔ عرض {lat} و طول {lon} در هیچ شهرستانی از ایران نیست (شاید در دریا یا آن سوی مرز).",
        "The point at latitude {lat}, longitude {lon} is in none of Iran's counties (at sea or across a border?).",
    ),
    "err_server": ("پاسخی از سرویس نیامد؛ دوباره بکوشید.", "The service gave no answer; try again."),
    "print_record": ("چاپ یا PDF", "Print or PDF"),
    "register_application": ("ثبت به‌عنوان درخواست مجوز", "Register as a licence application"),
    "record_title": ("سابقهٔ بررسی مجوز", "Licence check record"),
    "printed_on": ("تاریخ و ساعت", "Date and time"),
    "as_of_label": ("وضعیت مجوزها به تاریخ", "Licence statuses as of"),
    "norm_and_median": (
        "هنجار: {norm} به ازای ۱۰٬۰۰۰ نفر جمعیت هدف؛ میانهٔ کشوری: {median}.",
        "Norm: {norm} per 10,000 target persons; national median: {median}.",
    ),
    "better_places_note": (
        "سکونتگاه‌های نیازمند توجه در همین استان که همین مجوز در آن‌ها جمعیت بیشتری را پوشش می‌دهد.",
        "Flagged places in the same province where the same licence would newly cover more people.",
    ),
    # village profile
    "page_settlement": ("شناسنامهٔ سکونتگاه", "Settlement profile"),
    "profile_of": ("شناسنامهٔ خدمات بهزیستی", "Welfare services profile"),
    "code": ("کد", "Code"),
    "tier": ("رده", "Tier"),
    "tier_metropolis": ("کلان‌شهر", "Metropolis"),
    "tier_large_city": ("شهر بزرگ", "Large city"),
    "tier_mid_city": ("شهر میانه", "Mid-sized city"),
    "tier_small_town": ("شهر کوچک", "Small town"),
    "tier_village": ("روستا", "Village"),
    "population_source": ("منبع جمعیت", "Population source"),
    "position": ("جای نقطه", "Position"),
    "pos_gazetteer": ("نقطهٔ واقعی (Who's On First / GeoNames)", "real point (Who's On First / GeoNames)"),
    "pos_geonames": ("نقطهٔ واقعی (GeoNames)", "real point (GeoNames)"),
    "pos_correction": ("نقطهٔ واقعی (اصلاح مدیر سامانه)", "real point (an administrator's correction)"),
    "pos_imported": ("از جدول سکونتگاه‌های واردشده", "from an imported settlement table"),
    "pos_low": ("کم‌دقت: تا ۱ تا ۱۰ کیلومتر", "low precision: within 1–10 km"),
    "pos_near_rural_district": (
        "تقریبی: در نقشه‌ها یافت نشد، کنار روستاهای دهستانش گذاشته شد",
        "approximate: no map names it; placed near the villages of its rural district",
    ),
    "pos_near_district": (
        "تقریبی: در نقشه‌ها یافت نشد، کنار سکونتگاه‌های بخشش گذاشته شد",
        "approximate: no map names it; placed near the settlements of its district",
    ),
    "pos_near_county": (
        "تقریبی: در نقشه‌ها یافت نشد، درون شهرستانش گذاشته شد",
        "approximate: no map names it; placed inside its county",
    ),
    "pos_synthetic": ("ساختگی", "synthetic"),
    "pop_synthetic": (
        "سهمی ساختگی از جمعیت سرشماری ۱۳۹۵ شهرستان",
        "a synthetic share of the county's 1395 census population",
    ),
    "pop_geonames": ("GeoNames", "GeoNames"),
    "pop_geonames_scaled": ("GeoNames، کوچک‌شده تا جمع شهرستان", "GeoNames, scaled to the county total"),
    "pop_imported": ("از جدول سکونتگاه‌های واردشده", "from an imported settlement table"),
    "per_service": ("خدمت به خدمت", "Service by service"),
    "flag": ("نیازمند توجه؟", "Flagged?"),
    "yes": ("بله", "yes"),
    "no": ("نه", "no"),
    "no_centre": ("هیچ مرکزی نیست", "no centre"),
    "open_profile": ("شناسنامهٔ کامل", "Full profile"),
    "not_found": ("سکونتگاهی با این کد نیست.", "No settlement has this code."),
    "profile_intro": (
        "همهٔ آنچه دربارهٔ این سکونتگاه می‌دانیم: جمعیت، جمعیت هدف هر خدمت، نزدیک‌ترین مرکز، دسترسی و دلیل نیازمندی.",
        "Everything known about this place: population, target population per service, nearest centre, access and why it is flagged.",
    ),
    # priorities
    "weights": ("وزن معیارها", "Criterion weights"),
    "criterion_need": ("نیاز (جمعیت هدف)", "Need (target persons)"),
    "criterion_gap": ("کمبود خدمت", "Service gap"),
    "criterion_distance": ("دوری از مراکز", "Distance to centres"),
    "criterion_population": ("جمعیت", "Population"),
    "criterion_target_area": ("محلهٔ هدف", "Target neighbourhood"),
    "all_services": ("همهٔ خدمات", "All services"),
    "rank": ("رتبه", "Rank"),
    "village": ("سکونتگاه", "Settlement"),
    "score": ("امتیاز", "Score"),
    "breakdown": ("سهم معیارها", "Breakdown"),
    "why": ("چرا", "Why"),
    "download_xlsx": ("دریافت XLSX", "Download XLSX"),
    "download_csv": ("دریافت CSV", "Download CSV"),
    "reset_weights": ("وزن‌های پیش‌فرض", "Default weights"),
    "village_one": ("روستا", "village"),
    "village_many": ("روستا", "villages"),
    "all_counties": ("همهٔ شهرستان‌ها", "All counties"),
    "filter_villages": ("جست‌وجو در فهرست", "Find in the list"),
    "filter_placeholder": ("نام یا کد روستا", "Village name or code"),
    "breakdown_legend": ("سهم هر معیار در امتیاز:", "Points from each criterion:"),
    "ranked_villages": ("سکونتگاه‌های رتبه‌بندی‌شده", "Ranked settlements"),
    "weights_note": (
        "وزن‌ها به نسبت هم به کار می‌روند: درصد کنار هر کدام سهمی است که در امتیاز دارد.",
        "Weights are used in proportion: the percentage beside each is its share of the score.",
    ),
    # planning workbench
    "siting": ("مکان‌یابی مراکز تازه", "Siting new centres"),
    "seconds": ("ثانیه", "s"),
    "delegation": ("واگذاری به مراکز دارای ظرفیت", "Delegation to centres with spare capacity"),
    "new_sites": ("شمار مراکز تازه", "New sites"),
    "model": ("مدل", "Model"),
    "model_mclp": ("بیشترین پوشش (MCLP)", "Maximal covering (MCLP)"),
    "model_pmedian": ("کمترین مسافت (p-میانه)", "Least travel (p-median)"),
    "capacitated": ("با در نظر گرفتن ظرفیت", "Respect capacities"),
    "run_siting": ("اجرای مکان‌یابی", "Run siting"),
    "outreach_km": ("بیشترین فاصلهٔ برون‌رسانی (کیلومتر)", "Farthest outreach (km)"),
    "outreach_min": ("بیشترین زمان سفر برون‌رسانی (دقیقه)", "Farthest outreach (minutes of travel)"),
    "run_delegation": ("اجرای واگذاری", "Run delegation"),
    "objective": ("هدف", "Objective"),
    "bound": ("کران", "Bound"),
    "gap": ("فاصله تا کران", "Gap to the bound"),
    "optimal": ("بهینه", "optimal"),
    "method_exact": ("دقیق", "exact"),
    "method_greedy": ("حریصانه", "greedy"),
    "method_incumbent": (
        "بهترین پاسخ حل‌کننده تا پایان زمان (بهینه بودنش اثبات نشده)",
        "the solver's best when its time ran out (not proven optimal)",
    ),
    "covered_before": ("جمعیت هدف در پوشش، اکنون", "Target persons covered now"),
    "covered_after": ("پس از این مراکز", "After these sites"),
    "gain": ("پوشش تازه", "Newly covered"),
    "site": ("مکان", "Site"),
    "centre": ("مرکز", "Centre"),
    "spare": ("ظرفیت آزاد", "Spare"),
    "assigned": ("واگذارشده", "Assigned"),
    "places": ("سکونتگاه‌ها", "Places"),
    "capacity_needed": ("ظرفیت لازم", "Capacity needed"),
    "still_needed": ("هنوز لازم", "Still needed"),
    "scenario_name": ("نام سناریو", "Scenario name"),
    "owner": ("نام شما", "Your name"),
    "save_scenario": ("ذخیره به‌عنوان سناریو", "Save as scenario"),
    "saved": ("ذخیره شد", "Saved"),
    "scenarios": ("سناریوها", "Scenarios"),
    "today": ("وضع کنونی", "Today"),
    "compare": ("مقایسه", "Compare"),
    "compare_a": ("پایه", "Base"),
    "compare_b": ("سناریو", "Scenario"),
    "side_by_side": ("دو نقشه کنار هم", "Side by side"),
    "difference_map": ("نقشهٔ تفاوت", "Difference map"),
    "newly_covered_short": ("تازه در پوشش", "Newly covered"),
    "class_change": ("تغییر وضعیت", "Class change"),
    "access_change": ("تغییر دسترسی", "Access change"),
    "equity": ("برابری دسترسی", "Equity of access"),
    "gini": ("ضریب جینی", "Gini"),
    "theil": ("شاخص تایل", "Theil"),
    "theil_between": ("تایل میان استان‌ها", "Theil between provinces"),
    "national": ("کشوری", "National"),
    "counties_changing": ("شهرستان‌های با تغییر وضعیت", "Counties changing class"),
    "no_plan": ("نخست مکان‌یابی یا واگذاری را اجرا کنید.", "Run siting or delegation first."),
    "plan_intro": (
        "استان و خدمت را برگزینید، مکان‌یابی یا واگذاری را اجرا کنید، نتیجه را ذخیره و سناریوها را مقایسه کنید.",
        "Choose a province and service, run siting or delegation, save the result and compare scenarios.",
    ),
    "legend_plan_a": ("تغییرهای پایه", "Base changes"),
    "legend_plan_b": ("تغییرهای سناریو", "Scenario changes"),
    "legend_access_up": ("دسترسی بیشتر", "Access up"),
    "legend_access_down": ("دسترسی کمتر", "Access down"),
}


JALALI_MONTHS_FA = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip
JALALI_MONTHS_EN = (
    "Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
    "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand",
)  # fmt: skip
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def jalali_date(day: dt.date, lang: str) -> str:
    """``day`` in the Jalali calendar as the page writes it: "۱ فروردین ۱۴۰۴" in Persian,
    "1 Farvardin 1404 (2025-03-21)" in English."""
    j = jdatetime.date.fromgregorian(date=day)
    if lang == "fa":
        return f"{j.day} {JALALI_MONTHS_FA[j.month - 1]} {j.year}".translate(_FA_DIGITS)
    return f"{j.day} {JALALI_MONTHS_EN[j.month - 1]} {j.year} ({day.isoformat()})"


def strings(lang: str) -> dict[str, str]:
    """Every display string of the pages, and the labels of the schema's codes, in ``lang``."""
    i = LANGUAGES.index(lang)
    out = {key: pair[i] for key, pair in _STRINGS.items()}
    for prefix, table in (("service_", SERVICE_TYPES), ("status_", LICENCE_STATUSES)):
        out.update({prefix + code: labels[i] for code, labels in table.items()})
    out.update({"kind_" + code: labels[i] for code, labels in SETTLEMENT_KINDS.items()})
    return out


#: The public needs map, the county need rank and the fixed as-of day (issue 22). Kept as a table
#: of their own, merged into ``_STRINGS`` below.
_STRINGS_22: Mapping[str, tuple[str, str]] = {
    "as_of_fixed": ("ارقام به تاریخ {date}، ثابت", "Figures as of {date}, fixed"),
    "as_of_fixed_note": (
        "روز ثابت؛ تصمیم‌هایی که پس از آن ثبت شده‌اند، تصمیم‌گرفته نشان داده می‌شوند.",
        "a fixed day; decisions recorded after it are shown as decided",
    ),
    "col_rank": ("رتبهٔ نیاز", "Need rank"),
    "rank_hint": (
        "رتبهٔ نیاز: نخست نسبت به هنجار (کمتر جلوتر)، سپس سهم جمعیت هدفِ بیرون از دسترس، سپس کمبود ظرفیت.",
        "Need rank: ratio to the norm first (lowest first), then the share of target persons out of reach, then the capacity gap.",
    ),
    "pub_title": ("نقشهٔ عمومی نیازها", "Public needs map"),
    "pub_lead": (
        "جمعیت هدف، ظرفیت مراکز و اشباع خدمت در استان‌ها و شهرستان‌ها. مکان هیچ مرکزی نشان داده نمی‌شود.",
        "Target population, centre capacity and saturation by province and county. No centre's location is shown.",
    ),
    "pub_sign_in": ("ورود کارکنان", "Staff sign-in"),
    "pub_centres": ("مراکز", "Centres"),
    "pub_ratio": ("نسبت به هنجار", "Ratio to norm"),
    "pub_class": ("وضعیت", "Class"),
    "pub_provinces": ("استان‌ها", "Provinces"),
    "pub_counties": ("شهرستان‌ها", "Counties"),
    "pub_legend": ("راهنمای رنگ شهرستان‌ها", "County colours"),
    "pub_class_underserved": ("کم‌برخوردار: کمتر از {u} برابر هنجار", "Underserved: under {u} × the norm"),
    "pub_class_balanced": ("متعادل: {u} تا {s} برابر هنجار", "Balanced: {u} to {s} × the norm"),
    "pub_class_saturated": ("اشباع: {s} برابر هنجار یا بیشتر", "Saturated: {s} × the norm or more"),
    "pub_few": ("کمتر از ۳ مرکز", "fewer than 3 centres"),
    "pub_hidden": ("پنهان", "hidden"),
    "pub_few_note": (
        "کمتر از ۳ مرکز: ظرفیت و نسبت نشان داده نمی‌شود.",
        "fewer than 3 centres: capacity and ratio not shown",
    ),
    "pub_complement_note": (
        "پنهان تا مقدار پنهانِ شهرستانی دیگر از جمع استان به دست نیاید.",
        "hidden so that another county's hidden value cannot be worked out from the province total",
    ),
    "pub_rule": (
        "ظرفیت، شمار مراکز و نسبت به هنجار جایی که کمتر از ۳ مرکز (و دست‌کم یکی) هست نشان داده نمی‌شود، "
        "تا ظرفیت هیچ مرکزی از ارقام خوانده نشود؛ تنها وضعیت (یک بازه) و جمعیت هدف می‌ماند. "
        "اگر جمع استان منهای شهرستان‌های نمایش‌داده کمتر از ۳ مرکز را دربر گیرد، کوچک‌ترین شهرستانِ دارای ۳ مرکز یا بیشتر در همان استان نیز پنهان می‌شود "
        "(و استانی با کمتر از ۳ مرکز جمع خود را نشان نمی‌دهد). دریافت‌ها همین ارقام را دارند.",
        "Capacity, number of centres and ratio to the norm are not shown where there are fewer than 3 centres "
        "(but at least one), so that no centre's capacity can be read off; only the class (a band) and the target "
        "population remain. Where a province's total minus the counties shown would cover fewer than 3 centres, "
        "the smallest county of that province with 3 centres or more is hidden too (and a province with fewer "
        "than 3 centres does not show its total). The downloads hold the same figures.",
    ),
    "pub_note": ("توضیح", "Note"),
    "pub_download_counties": ("شهرستان‌ها", "Counties"),
    "pub_download_provinces": ("استان‌ها", "Provinces"),
}
_STRINGS = {**_STRINGS, **_STRINGS_22}
