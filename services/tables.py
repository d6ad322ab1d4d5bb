"""Tables for people: the saturation and priority downloads with named places, headers in the
page's language, and a record of how they were made (weights, as-of date, synthetic data).

An XLSX holds the table and a second sheet "about"; a CSV starts with the same record as lines
beginning with ``#`` (``pandas.read_csv(..., comment="#")`` skips them).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import pandas as pd

from maps.i18n import PROPERTY_LABELS, words

#: column -> (Persian, English) header: the pages' words where a page names the same column
HEADERS: Mapping[str, tuple[str, str]] = {
    "rank": words("rank"),
    "settlement_code": ("کد سکونتگاه", "Settlement code"),
    "name_fa": ("نام", "Name"),
    "county_code": ("کد شهرستان", "County code"),
    "county_name": words("county"),
    "province_code": ("کد استان", "Province code"),
    "province_name": words("province"),
    "population": words("population"),
    "target_population": ("جمعیت هدف (ساختگی)", "Target population (synthetic)"),
    "score": words("score"),
    "need_points": PROPERTY_LABELS["need_points"],
    "gap_points": PROPERTY_LABELS["gap_points"],
    "distance_points": PROPERTY_LABELS["distance_points"],
    "population_points": PROPERTY_LABELS["population_points"],
    "target_area_points": PROPERTY_LABELS["target_area_points"],
    "need": PROPERTY_LABELS["need"],
    "gap": PROPERTY_LABELS["gap"],
    "distance": PROPERTY_LABELS["distance"],
    "population_score": PROPERTY_LABELS["population_score"],
    "target_area": ("در محلهٔ هدف", "In a target neighbourhood"),
    "flagged": ("تعداد خدمات نیازمند توجه", "Services flagged"),
    "reason_fa": ("دلیل", "Reason"),
    "reason_en": ("دلیل", "Reason"),
    "service_type": words("service"),
    "ngos": PROPERTY_LABELS["ngos"],
    "capacity": words("capacity"),
    "capacity_per_10k": PROPERTY_LABELS["capacity_per_10k"],
    "norm_per_10k": PROPERTY_LABELS["norm_per_10k"],
    "ratio_to_norm": PROPERTY_LABELS["ratio_to_norm"],
    "national_median_per_10k": PROPERTY_LABELS["national_median_per_10k"],
    "class": words("class"),
    "target_out_of_reach": ("جمعیت هدف بیرون از دسترس", "Target persons out of reach"),
    "share_out_of_reach": ("سهم جمعیت هدف بیرون از دسترس", "Share of target persons out of reach"),
    "capacity_gap": ("کمبود ظرفیت تا هنجار", "Capacity gap to the norm"),
    "need_rank": words("col_rank"),
    # capacity weighted by rating (geo.ratings): saturation's split
    "licensed_capacity": ("ظرفیت مجوز", "Licensed capacity"),
    "rating_deduction": ("کسر بابت رتبه‌ها", "Deduction for ratings"),
    # the volunteer network counted as supply (geo.volunteers): capacity = centres + volunteers
    "centre_capacity": ("ظرفیت مراکز", "Centres' capacity"),
    "volunteer_capacity": ("ظرفیت داوطلبان", "Volunteers' capacity"),
    "capacity_in_words": ("ظرفیت و اجزای آن", "Capacity and its parts"),
}

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def with_place_names(
    frame: pd.DataFrame, counties: pd.DataFrame, provinces: pd.DataFrame, lang: str
) -> pd.DataFrame:
    """``frame`` with the county (and province) name beside each code, in ``lang``."""
    out = frame.copy()
    column = "name_fa" if lang == "fa" else "name_en"

    def names(table: pd.DataFrame, key: str) -> pd.Series:
        named = table.set_index(key)
        values = named[column] if column in named else named["name_fa"]
        return values.where(values.notna() & (values != ""), named["name_fa"])

    if "county_code" in out:
        at = out.columns.get_loc("county_code") + 1
        out.insert(at, "county_name", out["county_code"].map(names(counties, "county_code")))
    if "province_code" in out:
        at = out.columns.get_loc("province_code") + 1
        out.insert(at, "province_name", out["province_code"].map(names(provinces, "province_code")))
    return out


def localised(
    frame: pd.DataFrame, lang: str, labels: Mapping[str, Mapping[str, str]] | None = None
) -> pd.DataFrame:
    """Headers (and coded values such as service types and classes) in ``lang``."""
    i = 0 if lang == "fa" else 1
    out = frame.drop(columns=["reason_en" if lang == "fa" else "reason_fa"], errors="ignore")
    floats = out.select_dtypes("float").columns
    out[floats] = out[floats].round(4)
    for column, table in (labels or {}).items():
        if column in out:
            out[column] = out[column].map(lambda v, table=table: table.get(v, v))
    return out.rename(columns={c: HEADERS[c][i] for c in out.columns if c in HEADERS})


def table_bytes(frame: pd.DataFrame, name: str, fmt: str, about: Sequence[tuple[str, str]]) -> bytes:
    """``frame`` as an XLSX (with a sheet "about") or a CSV (with ``#`` lines first)."""
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            pd.DataFrame(list(about), columns=["item", "value"]).to_excel(
                writer, sheet_name="about", index=False
            )
        return buffer.getvalue()
    lines = "".join(f"# {k}: {v}\n" for k, v in about)
    return ("\ufeff" + lines + frame.to_csv(index=False)).encode("utf-8")
