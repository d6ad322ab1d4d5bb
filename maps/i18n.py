"""The words on the map pages, in Persian (the default) and English.

Pages pass the chosen language's table to the browser; scripts never hold display text of their
own. Labels of service types, statuses and settlement kinds come from ``geo.schema``. Each word has
one source: a key that says what another says points to it (``_Same``), and the office pages, the
queryables page and the downloads' headers take their shared words from here (``words``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import jdatetime

from geo.catalogue import DELIVERY_MODES
from geo.schema import DEFAULT_SERVICE_TYPES, LICENCE_STATUSES, SETTLEMENT_KINDS

LANGUAGES = ("fa", "en")


@dataclass(frozen=True)
class _Same:
    """A key that says what ``key`` says (a form's field named as the page names it, a public
    page's column as the analysis names it): the words are written once, at ``key``."""

    key: str


_STRINGS: Mapping[str, tuple[str, str] | _Same] = {
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
    "in_reach": ("مراکز در حوزهٔ دسترسی", "Centres in the catchment"),
    "catchment_vs_norm": (
        "دو رقم، دو کار: «حوزهٔ دسترسی» (ستون مراکز) شعاعی است که مراکز و نمرهٔ دسترسی در آن شمرده "
        "می‌شوند؛ «هنجار» در دلیل نیازمندی، بیشترین فاصلهٔ مجاز تا نزدیک‌ترین مرکز است.",
        "Two figures, two jobs: the catchment (the centres column) is the reach within which centres "
        "and access (E2SFCA) are counted; the norm in a flag's reason is the farthest the nearest centre may be.",
    ),
    "access_share": ("دسترسی نسبت به هنجار", "Access against the norm"),
    "in_target_area": ("در محدودهٔ محلهٔ هدف", "Inside a target neighbourhood"),
    "licence_no": ("شمارهٔ مجوز", "Licence no."),
    "issued_on": ("تاریخ صدور", "Issued"),
    "expires_on": ("تاریخ انقضا", "Expires"),
    "grade": ("رتبهٔ ارزیابی", "Evaluation grade"),
    "grade_unrated": ("هنوز ارزیابی نشده", "Not evaluated yet"),
    "graded_on": ("ارزیابی", "evaluated"),
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
    "delivery_mode": ("شیوهٔ ارائه", "Delivery mode"),
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
    "pos_synthetic": _Same("synthetic_value"),
    "pop_synthetic": (
        "سهمی ساختگی از جمعیت سرشماری ۱۳۹۵ شهرستان",
        "a synthetic share of the county's 1395 census population",
    ),
    "pop_geonames": ("GeoNames", "GeoNames"),
    "pop_geonames_scaled": ("GeoNames، کوچک‌شده تا جمع شهرستان", "GeoNames, scaled to the county total"),
    "pop_imported": _Same("pos_imported"),
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
    # costs (issue 25): the comparison's and the siting's
    "cost": ("هزینه", "Cost"),
    "cost_a": ("هزینهٔ پایه", "Cost of the base"),
    "cost_b": ("هزینهٔ سناریو", "Cost of the scenario"),
    "cost_difference": ("تفاوت هزینه", "Cost difference"),
    "cost_per_newly_covered": ("هزینه به ازای هر نفر تازه در پوشش", "Cost per newly covered person"),
    "cost_currency": ("واحد پول", "Currency"),
    "cost_table": ("جدول هزینه", "Cost table"),
    "costs_synthetic": ("هزینه‌ها ساختگی‌اند", "Costs are synthetic"),
    "costs": ("هزینه‌ها", "Costs"),
    "cost_action": ("اقدام", "Action"),
    "cost_quantity": ("مقدار", "Quantity"),
    "cost_unit": ("واحد", "Unit"),
    "unit_cost": ("هزینهٔ واحد", "Unit cost"),
    "cost_side": ("طرف", "Side"),
    "action_new_centre": ("مرکز تازه", "New centre"),
    "action_new_places": ("ظرفیت مرکز تازه", "Places of a new centre"),
    "action_capacity_increase": ("افزایش ظرفیت", "Capacity increase"),
    "action_capacity_decrease": ("کاهش ظرفیت", "Capacity decrease"),
    "action_closure": ("بستن مرکز", "Closure"),
    "action_outreach": ("برون‌رسانی", "Outreach"),
    "budget": ("بودجه", "Budget"),
    "budget_field": ("بودجه (میلیون ریال)", "Budget (million rials)"),
    "budget_not_a_number": (
        "بودجه باید عدد باشد (به میلیون ریال).",
        "The budget must be a number (million rials).",
    ),
    "cost_table_norms": ("به جدول هزینهٔ هنجارها", "by the norms' cost table"),
    "million_rials": ("میلیون ریال", "million rials"),
    "cost_per_site": ("هزینهٔ هر مرکز تازه", "Cost of one new centre"),
    "outreach_cost": ("هزینهٔ برون‌رسانی", "Outreach cost"),
    "budget_none": ("بی‌بودجه", "no budget"),
    "cost_spent": ("هزینهٔ مکان‌های پیشنهادی", "Cost of the proposed sites"),
    "no_plan": ("نخست مکان‌یابی یا واگذاری را اجرا کنید.", "Run siting or delegation first."),
    "plan_intro": (
        "استان و خدمت را برگزینید، مکان‌یابی یا واگذاری را اجرا کنید، نتیجه را ذخیره و سناریوها را مقایسه کنید.",
        "Choose a province and service, run siting or delegation, save the result and compare scenarios.",
    ),
    "legend_plan_a": ("تغییرهای پایه", "Base changes"),
    "legend_plan_b": ("تغییرهای سناریو", "Scenario changes"),
    "legend_access_up": ("دسترسی بیشتر", "Access up"),
    "legend_access_down": ("دسترسی کمتر", "Access down"),
    # every page: the top bar's other pages, the signed-in badge (api/security.py personalise)
    "page_register": ("درخواست‌های مجوز", "Licence applications"),
    "page_monitoring": ("پایش مجوزها", "Licence monitoring"),
    "page_import": ("ورود داده‌ها", "Import data"),
    "page_activities": ("فعالیت‌های برنامه", "Programme activities"),
    "page_public": ("نقشهٔ نیازها", "Needs map"),
    "sign_out": ("خروج", "Sign out"),
    "sign_in": ("ورود به سامانه", "Sign in"),
    "role_admin": ("مدیر سامانه", "administrator"),
    "role_planner": ("برنامه‌ریز", "planner"),
    "role_licensing_officer": ("کارشناس صدور مجوز", "licensing officer"),
    "role_provincial_director": ("مدیر استان", "provincial director"),
    "n_new_sites": ("{n} مرکز تازه", "{n} new sites"),
    "solve_longer": ("حل دقیق‌تر (تا ۲ دقیقه)", "Solve longer (up to 2 minutes)"),
    "solve_longer_hint": (
        "این پاسخ در ۵ ثانیه به بهینه بودن اثبات نشد؛ حل‌کننده می‌تواند در پس‌زمینه تا ۲ دقیقه کار کند.",
        "This answer was not proved optimal in 5 seconds; the solver can work on it in the background for up to 2 minutes.",
    ),
    "job_solving": ("در حال حل… {p}٪ از زمان مجاز", "Solving… {p}% of the time allowed"),
    "n_assigned": ("{n} نفر واگذار شد", "{n} persons assigned"),
    # a page refused (api/refusals.py): why, and what to do next
    "refused_role_title": ("این صفحه برای نقش شما نیست", "This page is not for your role"),
    "refused_role": (
        "«{page}» برای نقش «{role}» باز نمی‌شود. اگر برای کارتان به آن نیاز دارید، از مدیر سامانه "
        "بخواهید نقش شما را تغییر دهد.",
        "The page “{page}” does not open for the role “{role}”. If your work needs it, ask an "
        "administrator to change your role.",
    ),
    "refused_scope_title": ("بیرون از استان‌های شما", "Outside your provinces"),
    "refused_scope": (
        "این داده از استانی است که برای شما تعریف نشده است. اگر برای کارتان به آن نیاز دارید، از مدیر "
        "سامانه بخواهید آن استان را به حساب شما بیفزاید.",
        "This belongs to a province that is not one of yours. If your work needs it, ask an "
        "administrator to add that province to your account.",
    ),
    "not_found_title": ("پیدا نشد", "Not found"),
    "bad_request_title": ("این نشانی درست نیست", "This address is not valid"),
    "not_found_settlement": (
        "سکونتگاهی با کد {code} در استان‌هایی که می‌توانید ببینید نیست. کد را بررسی کنید یا نام آن را "
        "در نقشهٔ کشوری جست‌وجو کنید.",
        "No settlement with code {code} is in the provinces you may see. Check the code, or search for "
        "the place by name on the national map.",
    ),
    "not_found_page": (
        "صفحه‌ای با این نشانی نیست. یکی از صفحه‌های زیر را باز کنید.",
        "There is no page at this address. Open one of the pages below.",
    ),
    "not_found_thing": (
        "آنچه خواستید پیدا نشد یا در استان‌های شما نیست.",
        "What you asked for was not found, or is not in your provinces.",
    ),
    "sign_in_title": ("نخست وارد سامانه شوید", "Sign in first"),
    "sign_in_needed": (
        "نشست شما پایان یافته یا هنوز وارد نشده‌اید. وارد شوید تا به همین صفحه بازگردید.",
        "Your session has ended or you have not signed in. Sign in to come back to this page.",
    ),
    "pages_you_may_open": ("صفحه‌هایی که می‌توانید باز کنید", "Pages you may open"),
    # the service's problem answers, by their code (api/errors.py), as the pages say them
    "err_no_answer": (
        "پاسخی از سرویس نیامد (شبکه یا سرویس در دسترس نیست)؛ دوباره بکوشید.",
        "The service gave no answer (the network or the service is down); try again.",
    ),
    "err_outside-provinces": (
        "این نقطه بیرون از استان‌های شماست؛ فقط در استان‌های خودتان می‌توانید بررسی یا ثبت کنید.",
        "This point is outside your provinces; you may check or register only in your own provinces.",
    ),
    "err_outside-counties": (
        "این نقطه در هیچ شهرستانی از ایران نیست (شاید در دریا یا آن سوی مرز)؛ مختصات را بررسی کنید.",
        "This point is in none of Iran's counties (at sea or across a border?); check the coordinates.",
    ),
    "err_choose-province": ("یکی از استان‌های خودتان را برگزینید.", "Choose one of your provinces."),
    "err_role": (
        "نقش شما اجازهٔ این کار را ندارد؛ از کسی با نقش مناسب یا مدیر سامانه کمک بگیرید.",
        "Your role may not do this; ask someone with the right role, or an administrator.",
    ),
    "err_csrf": (
        "این صفحه کهنه شده است؛ صفحه را دوباره بارگذاری کنید و دوباره بکوشید.",
        "This page is out of date; reload it and try again.",
    ),
    "err_forbidden": ("اجازهٔ این کار را ندارید.", "You may not do this."),
    "err_unauthenticated": (
        "نشست شما پایان یافته است؛ صفحه را دوباره بارگذاری کنید و وارد شوید.",
        "Your session has ended; reload the page and sign in.",
    ),
    "err_decision-final": (
        "برای این درخواست پیش‌تر تصمیم گرفته شده است؛ تصمیم قطعی است.",
        "This application has been decided already; a decision is final.",
    ),
    "err_check-first": (
        "پیش از موافقت، بررسی مجوز را روی این درخواست اجرا کنید.",
        "Run the licence check on this application before approving it.",
    ),
    "err_invalid-transition": (
        "این تصمیم در وضعیت کنونی درخواست ممکن نیست؛ صفحه را دوباره بارگذاری کنید.",
        "This decision is not possible in the application's present state; reload the page.",
    ),
    "err_precondition-failed": (
        "این درخواست را کس دیگری تغییر داده است؛ صفحه را دوباره بارگذاری کنید.",
        "Somebody else changed this application; reload the page.",
    ),
    "err_precondition-required": (
        "صفحه را دوباره بارگذاری کنید و دوباره بکوشید.",
        "Reload the page and try again.",
    ),
    "err_unknown-settlement": (
        "سکونتگاهی با این کد در استان‌های شما نیست.",
        "No settlement with this code in your provinces.",
    ),
    "err_unknown-province": ("استانی با این کد نیست.", "No province has this code."),
    "err_too-many-periods": (
        "این سنجه‌ها تحلیل را در پایان هر دوره از نو می‌سازند؛ دست‌بالا ۸ دوره بخواهید.",
        "These measures recompute the analysis at each period's end; ask for at most 8 periods.",
    ),
    "err_bad-parameter": (
        "نشانی پارامتری دارد که این صفحه نمی‌شناسد، یا مقداری که نمی‌تواند بخواند؛ نشانی را بررسی کنید.",
        "The address has a parameter this page does not know, or a value it cannot read: check the address.",
    ),
    "err_bad-period": (
        "دوره خوانده نشد: سال مانند ۱۴۰۳، فصل مانند ۱۴۰۳Q2 یا ماه مانند ۱۴۰۳-07 بنویسید.",
        "The period could not be read: write a year as 1403, a quarter as 1403Q2 or a month as 1403-07.",
    ),
    "err_scenario-not-found": (
        "این سناریو دیگر نیست (شاید پاک شده است)؛ فهرست را دوباره بارگذاری کنید.",
        "This scenario no longer exists (deleted?); reload the list.",
    ),
    "err_activity-not-found": (
        "این فعالیت نیست یا در استان‌های شما نیست.",
        "This activity does not exist or is not in your provinces.",
    ),
    "err_activity-rejected": (
        "فعالیت ثبت نشد؛ دلیل هر ردیف نپذیرفته گفته شده است.",
        "The activity was not entered; each refused row is listed with its reason.",
    ),
    "err_application-not-found": (
        "این درخواست نیست یا در استان‌های شما نیست.",
        "This application does not exist or is not in your provinces.",
    ),
    "err_not-found": ("پیدا نشد.", "Not found."),
    "err_no-space": (
        "جای کافی روی دیسک سرویس نیست؛ چیزی نوشته نشد. به مدیر سامانه خبر دهید.",
        "The service's disk is full; nothing was written. Tell an administrator.",
    ),
    "err_too-many-imports": (
        "ورودهای باز زیادند؛ یکی را تأیید یا لغو کنید و دوباره بکوشید.",
        "Too many imports are open; confirm or cancel one and try again.",
    ),
    "err_too-many-plan-jobs": (
        "حل‌های در صف زیادند؛ صبر کنید تا یکی تمام شود و دوباره بکوشید.",
        "Too many solves are queued; wait for one to end and try again.",
    ),
    "err_plan-job-not-found": (
        "این حل پیدا نشد (پس از یک ساعت یا با راه‌اندازی دوبارهٔ سرویس پاک می‌شود)؛ دوباره اجرا کنید.",
        "This solve was not found (it is forgotten after an hour or a restart of the service); run it again.",
    ),
    "err_import-conflict": (
        "این ورود در این مرحله ممکن نیست؛ صفحه را دوباره بارگذاری کنید.",
        "This is not possible at this step of the import; reload the page.",
    ),
    "err_import-file": (
        "این فایل خوانده نشد؛ فایل XLSX یا CSV را بر پایهٔ فایل الگوی همین لایه بسازید.",
        "This file could not be read; make an XLSX or CSV file from this layer's template.",
    ),
    "err_import-rejected": (
        "برخی ردیف‌ها پذیرفته نشدند؛ چیزی نوشته نشد. ردیف‌های ردشده و دلیلشان را ببینید.",
        "Some rows were rejected; nothing was written. See the rejected rows and why.",
    ),
    "err_too-large": ("فایل یا درخواست بیش از اندازه بزرگ است.", "The file or request is too large."),
    "err_busy": (
        "سرویس اکنون سرگرم کار دیگری است؛ چند لحظه بعد دوباره بکوشید.",
        "The service is busy; try again in a moment.",
    ),
    "err_status_400": (
        "سرویس این درخواست را نپذیرفت؛ ورودی‌ها را بررسی کنید.",
        "The service could not use this request; check what you typed.",
    ),
    "err_status_404": _Same("err_not-found"),
    "err_status_409": (
        "با داده‌های ثبت‌شده ناسازگار است؛ صفحه را دوباره بارگذاری کنید.",
        "This conflicts with what is stored; reload the page.",
    ),
    "err_status_422": ("برخی ورودی‌ها درست نیستند.", "Some inputs are not valid."),
    "err_status_5xx": (
        "سرویس نتوانست پاسخ دهد؛ خطا ثبت شد. کمی بعد دوباره بکوشید.",
        "The service could not answer; the error was logged. Try again later.",
    ),
    # a field of a form, and what is wrong with it (422 validation answers, per field)
    "field_applicant": ("متقاضی", "Applicant"),
    "field_service_type": _Same("service"),
    "field_capacity": _Same("capacity"),
    "field_lat": _Same("lat"),
    "field_lon": _Same("lon"),
    "field_reason": ("دلیل", "Reason"),
    "field_decision": ("تصمیم", "Decision"),
    "field_name": ("نام", "Name"),
    "field_k": ("شمار مراکز تازه", "Number of new sites"),
    "field_province": _Same("province"),
    "field_outreach_km": ("بیشترین فاصلهٔ برون‌رسانی", "Farthest outreach"),
    "field_outreach_min": ("بیشترین زمان سفر برون‌رسانی", "Farthest outreach"),
    "field_cap_km": ("بیشترین فاصله", "Farthest distance"),
    "field_cap_min": ("بیشترین زمان سفر", "Longest travel time"),
    "field_model": _Same("model"),
    "field_method": ("روش", "Method"),
    "field_weights": _Same("weights"),
    "field_description": ("شرح", "Description"),
    "field_changes": ("تغییرها", "Changes"),
    "field_request": ("درخواست", "Request"),
    "field_lang": ("زبان", "Language"),
    # the parameters of the addresses (path and query), as a refusal names them; a collection's
    # properties are named by ``PROPERTY_LABELS`` and ``exchange.templates.LABELS``
    "field_a": ("سناریوی نخست", "First scenario"),
    "field_b": ("سناریوی دوم", "Second scenario"),
    "field_activity_id": ("شناسهٔ فعالیت", "Activity id"),
    "field_application_id": ("شناسهٔ درخواست", "Application id"),
    "field_base": ("نسخهٔ پایه", "Base version"),
    "field_bbox": ("محدودهٔ جغرافیایی", "Bounding box"),
    "field_bbox-crs": ("دستگاه مختصات محدوده", "Bounding box CRS"),
    "field_by_service": ("به تفکیک خدمت", "By service"),
    "field_code": ("کد سکونتگاه", "Settlement code"),
    "field_collection": ("لایه", "Layer"),
    "field_collection_id": _Same("field_collection"),
    "field_compare": _Same("compare"),
    "field_county": _Same("county"),
    "field_crs": ("دستگاه مختصات", "Coordinate reference system"),
    "field_datetime": ("تاریخ یا بازهٔ زمانی", "Date or interval"),
    "field_deadline_days": ("مهلت قانونی (روز)", "Legal deadline (days)"),
    "field_f": ("قالب پاسخ", "Answer format"),
    "field_feature_id": ("شناسهٔ عارضه", "Feature id"),
    "field_filter": ("پالایه", "Filter"),
    "field_filter-crs": ("دستگاه مختصات پالایه", "Filter CRS"),
    "field_filter-lang": ("زبان پالایه", "Filter language"),
    "field_from": ("از دورهٔ", "From period"),
    "field_import_id": ("شناسهٔ ورود داده", "Import id"),
    "field_job_id": ("شناسهٔ کار", "Job id"),
    "field_layer": _Same("field_collection"),
    "field_layer_name": _Same("field_collection"),
    "field_level": ("سطح", "Level"),
    "field_limit": ("شمار در هر صفحه", "Items per page"),
    "field_measures": ("سنجه‌ها", "Measures"),
    "field_next": ("صفحهٔ پس از ورود", "Page after sign-in"),
    "field_offset": ("شمار ردشده‌ها", "Items skipped"),
    "field_organisation_kind": ("نوع سازمان", "Organisation kind"),
    "field_owner": ("سازنده", "Owner"),
    "field_page": ("صفحه", "Page"),
    "field_period": _Same("period"),
    "field_periods": ("دوره‌ها", "Periods"),
    "field_q": ("جست‌وجو", "Search"),
    "field_scenario_id": ("شناسهٔ سناریو", "Scenario id"),
    "field_service": _Same("service"),
    "field_sortby": ("ترتیب", "Sort order"),
    "field_table": ("جدول", "Table"),
    "field_target": ("محلهٔ هدف", "Target neighbourhood"),
    "field_tile_col": _Same("field_x"),
    "field_tile_matrix": _Same("field_z"),
    "field_tile_row": _Same("field_y"),
    "field_to": ("تا دورهٔ", "To period"),
    "field_top": ("شمار روستاها در هر استان", "Villages per province"),
    "field_trend": ("دوره‌های روند", "Trend periods"),
    "field_username": ("نام کاربری", "Username"),
    "field_version_id": ("شناسهٔ نسخه", "Version id"),
    "field_within_days": ("در چند روز آینده", "Within days"),
    "field_x": ("ستون کاشی", "Tile column"),
    "field_y": ("ردیف کاشی", "Tile row"),
    "field_z": ("بزرگنمایی", "Zoom level"),
    "invalid_missing": ("را بنویسید", "is required"),
    "invalid_number": ("باید عدد باشد", "must be a number"),
    "invalid_integer": ("باید عددی درست باشد", "must be a whole number"),
    "invalid_min": ("باید دست‌کم {limit} باشد", "must be at least {limit}"),
    "invalid_above": ("باید بیش از {limit} باشد", "must be more than {limit}"),
    "invalid_max": ("باید حداکثر {limit} باشد", "must be at most {limit}"),
    "invalid_below": ("باید کمتر از {limit} باشد", "must be less than {limit}"),
    "invalid_short": ("باید دست‌کم {limit} نویسه باشد", "must have at least {limit} characters"),
    "invalid_long": ("باید حداکثر {limit} نویسه باشد", "must have at most {limit} characters"),
    "invalid_choice": ("باید یکی از گزینه‌ها باشد", "must be one of the choices"),
    "invalid_extra": ("در این فرم پذیرفته نیست", "is not expected here"),
    "invalid_other": ("درست نیست", "is not valid"),
    # the service's own pages (OGC API Features, HTML encoding: landing, collections, conformance)
    "page_ogc_landing": ("سرویس داده‌ها", "Data service"),
    "page_ogc_collections": ("مجموعه‌های داده", "Collections"),
    "page_ogc_collection": ("مجموعهٔ داده", "Collection"),
    "page_ogc_conformance": ("کلاس‌های انطباق", "Conformance classes"),
    "page_ogc_queryables": ("ویژگی‌های قابل پرس‌وجو", "Queryables"),
    "ogc_lead": (
        "کجا خدمات بهزیستی اشباع است و کجا کم است، شهرستان به شهرستان و روستا به روستا. "
        "این صفحه‌ها همان پاسخ‌های سرویس‌اند برای خواندن در مرورگر.",
        "Where welfare services are saturated and where they are missing, county by county and "
        "village by village. These pages are the service's answers, for reading in a browser.",
    ),
    "ogc_layers": ("لایه‌ها", "Layers"),
    "ogc_title": ("عنوان", "Title"),
    "ogc_id": ("شناسه", "Id"),
    "ogc_count": ("شمار عارضه‌ها", "Features"),
    "ogc_synthetic": ("ساختگی", "Synthetic"),
    "ogc_synthetic_none": ("نه", "no"),
    "ogc_synthetic_partial": ("بخشی", "partly"),
    "ogc_synthetic_all": ("همه", "all"),
    "ogc_links": ("پیوندها", "Links"),
    "ogc_service_desc": ("توصیف ماشینی سرویس", "Machine-readable description of the service"),
    "ogc_map_pages": ("صفحه‌های نقشه", "Map pages"),
    "ogc_as_json": ("همین پاسخ برای برنامه‌ها:", "The same answer for programs:"),
    "ogc_description": ("شرح", "Description"),
    "ogc_items": ("عارضه‌ها", "Features"),
    "ogc_items_geojson": ("همهٔ عارضه‌ها برای برنامه‌ها:", "The features for programs:"),
    "ogc_tiles": ("کاشی‌های برداری:", "Vector tiles:"),
    "ogc_extent": ("محدودهٔ مکانی", "Spatial extent"),
    "ogc_extent_value": (
        "طول {west} تا {east}، عرض {south} تا {north} درجه",
        "longitude {west} to {east}, latitude {south} to {north} degrees",
    ),
    "ogc_period": ("دورهٔ زمانی", "Time period"),
    "ogc_period_value": ("از {start} تا {end}", "from {start} to {end}"),
    "ogc_crs": ("دستگاه‌های مختصات", "Coordinate reference systems"),
    "ogc_storage_crs": ("دستگاه مختصات ذخیره", "Storage CRS"),
    "ogc_filters": ("پالایه‌ها (پارامترهای نشانی)", "Filters (query parameters)"),
    "ogc_collections_lead": (
        "لایه‌های ذخیره‌شده و نتیجه‌های تحلیل، آن‌گونه که نقش شما می‌تواند ببیند.",
        "The stored layers and the analysis results, as your role may see them.",
    ),
    "ogc_conformance_lead": (
        "استانداردهایی که این سرویس پیاده می‌کند؛ هر کلاس با نشانی رسمی‌اش.",
        "The standards this service implements; each class by its official address.",
    ),
    "ogc_queryables_lead": (
        "ویژگی‌هایی که در پارامتر {filter} (به زبان {cql2}) یا با نام خودشان در نشانی به کار می‌روند.",
        "The properties a {filter} ({cql2}) may use, or that may be given by name in the address.",
    ),
    "ogc_queryables_of": ("ویژگی‌های قابل پرس‌وجوی «{title}»", "Queryables of “{title}”"),
    "ogc_property": ("ویژگی", "Property"),
    "ogc_label": ("معنا", "Meaning"),
    "ogc_type": ("نوع", "Type"),
    "ogc_values": ("مقدارهای مجاز", "Allowed values"),
    "ogc_type_string": ("متن", "text"),
    "ogc_type_integer": ("عدد درست", "integer"),
    "ogc_type_number": ("عدد", "number"),
    "ogc_type_boolean": ("درست یا نادرست", "true or false"),
    "ogc_type_date": ("تاریخ", "date"),
    "ogc_type_geometry": ("هندسه", "geometry"),
    "ogc_back_to_collection": ("بازگشت به مجموعه", "Back to the collection"),
    "ogc_sign_in": ("ورود کارکنان", "Staff sign-in"),
    "ogc_shown": (
        "{matched} عارضه؛ نمایش {first} تا {last}",
        "{matched} features; showing {first} to {last}",
    ),
    "ogc_previous": ("صفحهٔ پیش", "Previous page"),
    "ogc_next": ("صفحهٔ بعد", "Next page"),
    "ogc_as_geojson": ("همین صفحه برای برنامه‌ها:", "This page for programs:"),
}


def _word(key: str) -> tuple[str, str]:
    """The words of a key written in ``_STRINGS`` itself (not a ``_Same``)."""
    entry = _STRINGS[key]
    assert not isinstance(entry, _Same), key
    return entry


#: What a feature's property means, for the queryables page (beside the import templates' labels,
#: ``exchange.templates.LABELS``). ``{service}`` stands for a service type's label.
PROPERTY_LABELS: Mapping[str, tuple[str, str]] = {
    "id": ("شناسهٔ عارضه", "Feature id"),
    "population_source": ("منشأ جمعیت", "Population source"),
    "parent_county_code": ("کد شهرستان مادر (سرشماری ۱۳۹۵)", "Parent county code (1395 census)"),
    "boundary_source": ("منشأ مرز", "Boundary source"),
    "rural_district_code": ("کد دهستان", "Rural district code"),
    "position_precision": ("دقت موقعیت", "Position precision"),
    "match_method": ("روش تطبیق با نقشه", "How it was matched to a map place"),
    "gazetteer_id": ("شناسهٔ مکان در نام‌نامه", "Gazetteer place id"),
    "geonameid": ("شناسهٔ مکان در نام‌نامهٔ جهانی", "GeoNames place id"),
    "ngos": ("مراکز فعال", "Active centres"),
    "centre_capacity": ("ظرفیت مراکز", "Centres' capacity"),
    "volunteer_capacity": ("ظرفیت داوطلبان", "Volunteers' capacity"),
    "capacity_per_10k": _word("capacity_per_10k"),
    "norm_per_10k": _word("norm_per_10k"),
    "ratio_to_norm": _word("ratio_to_norm"),
    "national_median_per_10k": ("میانهٔ کشوری به ازای ۱۰٬۰۰۰ نفر", "National median per 10,000"),
    "class": ("وضعیت اشباع", "Saturation class"),
    "capacity_gap": ("کمبود ظرفیت تا هنجار", "Places missing to reach the norm"),
    "need_rank": ("رتبهٔ نیاز", "Need rank"),
    "target_out_of_reach": ("جمعیت هدف بی‌دسترسی", "Target persons out of reach"),
    "share_out_of_reach": ("سهم جمعیت هدف بی‌دسترسی", "Share of target persons out of reach"),
    "flagged_services": ("شمار خدمات نیازمند توجه", "Services flagged"),
    "in_target_area": _word("in_target_area"),
    "nearest_km": ("فاصله تا نزدیک‌ترین مرکز (کیلومتر)", "Distance to the nearest centre (km)"),
    "max_distance_km": ("بیشترین فاصلهٔ پذیرفتنی (کیلومتر)", "Farthest acceptable distance (km)"),
    "nearest_min": ("زمان سفر تا نزدیک‌ترین مرکز (دقیقه)", "Travel time to the nearest centre (min)"),
    "max_travel_min": ("بیشترین زمان سفر پذیرفتنی (دقیقه)", "Longest acceptable travel time (min)"),
    "road_fallback": ("سفر به خط مستقیم (دور از راه)", "Straight-line trip (far from roads)"),
    "access_share": _word("access_share"),
    "min_access_share": ("کمترین دسترسی پذیرفتنی", "Lowest acceptable access"),
    "too_far": ("نیازمند توجه به سبب دوری", "Flagged for distance"),
    "low_access": ("نیازمند توجه به سبب دسترسی کم", "Flagged for low access"),
    "reason_en": ("دلیل به انگلیسی", "Reason in English"),
    "reason_fa": ("دلیل به فارسی", "Reason in Persian"),
    "rank": ("رتبه در استان", "Rank in the province"),
    "score": ("امتیاز اولویت (۰ تا ۱۰۰)", "Priority score (0-100)"),
    "need_points": ("امتیاز نیاز", "Need points"),
    "gap_points": ("امتیاز کمبود خدمت", "Service gap points"),
    "distance_points": ("امتیاز دوری", "Distance points"),
    "population_points": ("امتیاز جمعیت", "Population points"),
    "target_area_points": ("امتیاز محلهٔ هدف", "Target neighbourhood points"),
    "need": ("نیاز (۰ تا ۱)", "Need (0-1)"),
    "gap": ("کمبود خدمت (۰ تا ۱)", "Service gap (0-1)"),
    "distance": ("دوری (۰ تا ۱)", "Distance (0-1)"),
    "population_score": ("جمعیت (۰ تا ۱)", "Population (0-1)"),
    "target_area": ("در محلهٔ هدف (۰ تا ۱)", "In a target neighbourhood (0-1)"),
    "flagged": ("نیازمند توجه برای خدمتی", "Flagged for some service"),
    "{service}_nearest_km": (
        "فاصله تا نزدیک‌ترین مرکز {service} (کیلومتر)",
        "Distance to the nearest {service} centre (km)",
    ),
    "{service}_nearest_min": (
        "زمان سفر تا نزدیک‌ترین مرکز {service} (دقیقه)",
        "Travel time to the nearest {service} centre (min)",
    ),
    "{service}_road_fallback": ("سفر {service} به خط مستقیم", "{service}: straight-line trip"),
    "{service}_access_share": ("دسترسی {service} نسبت به هنجار", "{service}: access against the norm"),
    "geometry": ("هندسه", "Geometry"),
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


def strings(lang: str, services: Mapping[str, tuple[str, str]] | None = None) -> dict[str, str]:
    """Every display string of the pages, and the labels of the schema's codes, in ``lang``;
    ``service_<code>`` names the catalogue's ``services`` (``Norms.service_types``; default: the
    default catalogue's)."""
    i = LANGUAGES.index(lang)
    out = {key: pair[i] for key, pair in _WORDS.items()}
    catalogue = DEFAULT_SERVICE_TYPES if services is None else services
    for prefix, table in (("service_", catalogue), ("status_", LICENCE_STATUSES)):
        out.update({prefix + code: labels[i] for code, labels in table.items()})
    out.update({"kind_" + code: labels[i] for code, labels in SETTLEMENT_KINDS.items()})
    out.update({"mode_" + code: labels[i] for code, labels in DELIVERY_MODES.items()})
    return out


#: The public needs map, the county need rank and the fixed as-of day (issue 22). Kept as a table
#: of their own, merged into ``_STRINGS`` below.
_STRINGS_22: Mapping[str, tuple[str, str] | _Same] = {
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
    "pub_sign_in": _Same("ogc_sign_in"),
    "pub_centres": _Same("ngos"),
    "pub_ratio": _Same("ratio_to_norm"),
    "pub_class": _Same("class"),
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
    "pub_download_counties": _Same("pub_counties"),
    "pub_download_provinces": _Same("pub_provinces"),
}
_STRINGS = {**_STRINGS, **_STRINGS_22}


#: Trends on the pages (issue 23): the monitoring page's trend table and chart, the national
#: map's period selector and a county's sparkline. Kept as a table of their own, merged below.
_STRINGS_23: Mapping[str, tuple[str, str] | _Same] = {
    "trend_title": ("روند، به تفکیک دوره", "Trends by period"),
    "trend_lead": (
        "ارقام هر دوره از تاریخ‌های خود دفتر مجوزها و دفتر درخواست‌ها شمرده می‌شود: مراکز فعال در پایان دوره، "
        "مجوزهای صادرشده و منقضی‌شده در دوره، و درخواست‌هایی که در دوره تصمیم گرفته شده‌اند.",
        "Each period's figures are counted from the registry's and the register's own dates: centres "
        "active at the period's end, licences issued and expired in the period, and applications decided in it.",
    ),
    "trend_by": ("دوره", "Periods"),
    "trend_years": ("سال", "Years"),
    "trend_quarters": ("فصل", "Quarters"),
    "trend_period": ("دوره", "Period"),
    "trend_active": ("مراکز فعال در پایان دوره", "Active centres at the end"),
    "trend_issued": ("مجوز صادرشده", "Licences issued"),
    "trend_expired": ("مجوز منقضی‌شده", "Licences expired"),
    "trend_decided": ("درخواست تصمیم‌گرفته", "Applications decided"),
    "trend_share": (
        "سهم تصمیم در مهلت (از تصمیم‌های دوره)",
        "Share decided in time (of decisions in the period)",
    ),
    "trend_partial": ("ناتمام: تا {date}", "not over: up to {date}"),
    "trend_chart": ("سهم تصمیم در مهلت، به تفکیک دوره", "Share decided in time, by period"),
    "trend_no_decision": ("بی‌تصمیم", "none decided"),
    "trend_units": ("ارقام: {unit}", "Figures: {unit}"),
    "period": ("دوره", "Period"),
    "period_now": ("وضعیت در {date} (تاریخ مبنا)", "As of {date} (the as-of day)"),
    "period_end": ("وضعیت در پایان {period}", "Status at the end of {period}"),
    "period_partial": ("وضعیت {period} تا {date}", "{period} up to {date}"),
    "period_loading": ("در حال محاسبه: {period}…", "Working out: {period}…"),
    "period_legend": (
        "رنگ شهرستان‌ها: وضعیت اشباع در پایان دوره (سه دسته)",
        "County colours: saturation class at the period's end (three classes)",
    ),
    "period_table_note": (
        "جدول ارقام روز {date} را نشان می‌دهد، نه دورهٔ برگزیده را.",
        "The table shows the figures of {date}, not of the chosen period.",
    ),
    "spark_title": ("روند سال‌های اخیر", "Recent years"),
    "county_trend": ("روند شهرستان", "The county's trend"),
    "county_trend_of": (
        "مراکز فعال {service} در شهرستان در پایان هر سال، و وضعیت اشباع آن",
        "Active {service} centres in the county at each year's end, and its saturation class",
    ),
    "spark_class": ("وضعیت اشباع", "Saturation class"),
    "spark_active": _Same("trend_active"),
    "spark_loading": ("در حال بارگذاری روند…", "Loading the trend…"),
}
_STRINGS = {**_STRINGS, **_STRINGS_23}

#: The volunteer network (issue 24): capacity split into the centres' and the volunteers' places
#: in the county popup, and the volunteer groups' layer on the national map.
_STRINGS_24V: Mapping[str, tuple[str, str] | _Same] = {
    "capacity_split_volunteers": (
        "{total} = {centres} ظرفیت مراکز + {volunteers} داوطلبان",
        "{total} = {centres} licensed + {volunteers} volunteers",
    ),
    "volunteer_groups": ("گروه‌های داوطلب", "Volunteer groups"),
    "volunteer_group": ("گروه داوطلب", "Volunteer group"),
    "volunteer_members": ("اعضا", "Members"),
    "volunteer_inactive": ("غیرفعال (ظرفیتی شمرده نمی‌شود)", "Inactive (counts no places)"),
    "volunteer_generalised": (
        "مکان تقریبی (نزدیک‌ترین نقطهٔ شبکه)، نه مکان واقعی گروه",
        "Approximate place (the nearest grid node), not the group's real place",
    ),
}
_STRINGS = {**_STRINGS, **_STRINGS_24V}


def _resolved(table: Mapping[str, tuple[str, str] | _Same]) -> dict[str, tuple[str, str]]:
    out = {}
    for key, entry in table.items():
        while isinstance(entry, _Same):
            entry = table[entry.key]
        out[key] = entry
    return out


#: Every key of the catalogue and its (Persian, English) words.
_WORDS = _resolved(_STRINGS)


def words(key: str) -> tuple[str, str]:
    """A key's (Persian, English) words, for a table of another page that says the same thing."""
    return _WORDS[key]
