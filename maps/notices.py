"""What every page and answer shows beside the data: the sources' attribution and the notice
that the demo's registry, target areas and target populations are synthetic."""

ATTRIBUTION = (
    "Boundaries © OpenStreetMap contributors (ODbL). Places: Who's On First and GeoNames (CC BY 4.0). "
    "Census: Statistical Centre of Iran, 1395. Outline: Natural Earth. "
    "Roads: VMap0 / Digital Chart of the World (NGA), via DIVA-GIS."
)
#: The same credit in Persian; the sources and licences keep their own (Latin) names.
ATTRIBUTION_FA = (
    "مرزها: © مشارکت‌کنندگان OpenStreetMap (ODbL). مکان‌ها: Who's On First و GeoNames (CC BY 4.0). "
    "سرشماری: مرکز آمار ایران، ۱۳۹۵. پیرامون کشور: Natural Earth. "
    "راه‌ها: VMap0 / Digital Chart of the World (NGA)، از راه DIVA-GIS."
)
#: Shown wherever the demo's made-up figures appear (API landing page, every map page).
SYNTHETIC_NOTICE_FA = (
    "داده‌های سازمان‌های مردم‌نهاد، محله‌های هدف و جمعیت هدف در این نسخهٔ نمایشی ساختگی‌اند، نه واقعی. "
    "جمعیت روستاها سهمی از جمعیت سرشماری شهرستان است و جای روستاهایی که در نقشه‌ها یافت نشدند تقریبی است."
)
SYNTHETIC_NOTICE_EN = (
    "Demo: the NGO registry, target neighbourhoods and target populations are synthetic, not real. "
    "Village populations are shares of the county census; villages no map names are placed approximately."
)
