"""Template workbooks for the registry's data officers, and the headers they write.

``template_workbook`` writes one XLSX per layer: a data sheet whose headers carry the Persian
label and the column name (``شمارهٔ مجوز (licence_no)``), drop-down lists (data validation) in
the cells of coded columns, and a ``codes`` sheet with the codes and labels of service types,
statuses, provinces and counties. ``rename_headers`` reads such headers back, as well as plain
column names and the Persian or English labels alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from geo.catalogue import DELIVERY_MODES
from geo.names import normalize_name
from geo.schema import DEFAULT_SERVICE_TYPES, LICENCE_STATUSES, layer

#: column -> (Persian label, English label); columns of every layer and the extra import columns.
LABELS: Mapping[str, tuple[str, str]] = {
    "licence_no": ("شمارهٔ مجوز", "Licence number"),
    "name_fa": ("نام", "Name"),
    "name_en": ("نام انگلیسی", "English name"),
    "service_type": ("نوع خدمت", "Service type"),
    "delivery_mode": ("شیوهٔ ارائه", "Delivery mode"),
    "capacity": ("ظرفیت", "Capacity"),
    "status": ("وضعیت مجوز", "Licence status"),
    "issued_on": ("تاریخ صدور", "Issued on"),
    "expires_on": ("تاریخ انقضا", "Expires on"),
    "county_code": ("کد شهرستان", "County code"),
    "county_name": ("شهرستان", "County"),
    "province_code": ("کد استان", "Province code"),
    "settlement_code": ("کد آبادی", "Settlement code"),
    "settlement_name": ("روستا یا شهر", "Village or city"),
    "lon": ("طول جغرافیایی", "Longitude"),
    "lat": ("عرض جغرافیایی", "Latitude"),
    "wkt": ("هندسه (WKT)", "Geometry (WKT)"),
    "target_code": ("کد محله", "Target area code"),
    "kind": ("نوع", "Kind"),
    "households": ("خانوار", "Households"),
    "households_in_need": ("خانوار نیازمند", "Households in need"),
    "target_population": ("جمعیت هدف", "Target population"),
    "population": ("جمعیت", "Population"),
    "synthetic": ("ساختگی", "Synthetic"),
    "position_source": ("منشأ موقعیت", "Position source"),
    "evaluated_on": ("تاریخ ارزیابی", "Evaluated on"),
    "grade": ("رتبه", "Grade"),
    "evaluator": ("ارزیاب", "Evaluator"),
    "note": ("یادداشت", "Note"),
    "group_id": ("شناسهٔ گروه", "Group id"),
    "speciality": ("تخصص", "Speciality"),
    "members": ("شمار اعضا", "Members"),
    "active": ("فعال", "Active"),
}

#: The columns of each layer's template, in order (what a data officer fills in).
TEMPLATE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "ngos": (
        "licence_no",
        "name_fa",
        "service_type",
        "delivery_mode",
        "capacity",
        "status",
        "issued_on",
        "expires_on",
        "county_code",
        "county_name",
        "settlement_code",
        "settlement_name",
        "lon",
        "lat",
    ),
    "target_areas": (
        "target_code",
        "name_fa",
        "kind",
        "county_code",
        "households",
        "households_in_need",
        "wkt",
    ),
    "county_needs": ("county_code", "service_type", "target_population"),
    "ngo_evaluations": ("licence_no", "evaluated_on", "grade", "evaluator", "note"),
    "volunteer_groups": (
        "group_id",
        "name_fa",
        "county_code",
        "settlement_code",
        "lon",
        "lat",
        "speciality",
        "members",
        "active",
    ),
}

_PAREN = re.compile(r"\(([A-Za-z_][A-Za-z0-9_]*)\)\s*$")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: what a rejection names that is no column of a template
_OTHER_FIELDS: Mapping[str, tuple[str, str]] = {"geometry": ("مکان", "Location")}
_FIELD_LABELS: Mapping[str, tuple[str, str]] = {**_OTHER_FIELDS, **LABELS}


def field_label(field: str | None, lang: str = "fa") -> str | None:
    """A rejection's field (a column, ``lon/lat``, or a key of several columns ``a,b``) as the
    template's headers name it, in ``lang``: what the user's own sheet calls it."""
    if not field:
        return field
    i = 0 if lang == "fa" else 1
    out = _NAME.sub(lambda m: _FIELD_LABELS.get(m.group(), (m.group(), m.group()))[i], field)
    return out.replace(",", "، " if lang == "fa" else ", ")


def header_label(column: str) -> str:
    fa = LABELS.get(column, (column, column))[0]
    return f"{fa} ({column})"


def rename_headers(frame: pd.DataFrame, layer_name: str) -> pd.DataFrame:
    """Column names for headers written as ``label (column)``, as a Persian or English label, or
    as the column name itself (any case); other headers are left as they are."""
    wanted = set(layer(layer_name).column_names) | set(TEMPLATE_COLUMNS.get(layer_name, ()))
    by_label: dict[str, str] = {}
    for col in wanted:
        fa, en = LABELS.get(col, (col, col))
        by_label[normalize_name(fa)] = col
        by_label[en.strip().lower()] = col
    renames: dict[object, str] = {}
    taken = {str(c).strip().lower() for c in frame.columns}
    for header in frame.columns:
        text = str(header).strip()
        if text.lower() in wanted:
            continue  # already a column name
        found = _PAREN.search(text)
        if found and found.group(1).lower() in wanted:
            renames[header] = found.group(1).lower()
        elif text.lower() in by_label:
            renames[header] = by_label[text.lower()]
        elif normalize_name(text) in by_label:
            renames[header] = by_label[normalize_name(text)]
    # Two headers naming one column: the first keeps it, the other stays as it was (ignored).
    seen = set(taken & wanted)
    unique = {}
    for header, name in renames.items():
        if name not in seen:
            unique[header] = name
            seen.add(name)
    return frame.rename(columns=unique)


def template_workbook(
    layer_name: str,
    path: Path,
    provinces: pd.DataFrame,
    counties: pd.DataFrame,
    lang: str = "fa",
    grades: list[tuple[str, str, str]] | None = None,
    specialities: list[tuple[str, str, str]] | None = None,
    services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES,
) -> Path:
    """Write the template workbook of ``layer_name`` to ``path``; its service types are the
    catalogue's ``services`` (``Norms.service_types``).

    ``provinces`` (``province_code``, ``name_fa``, ``name_en``) and ``counties``
    (``county_code``, ``name_fa``, ``province_code``) fill the codes sheet: a licensing
    officer's template lists their own provinces only.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    if layer_name not in TEMPLATE_COLUMNS:
        raise KeyError(layer_name)
    columns = TEMPLATE_COLUMNS[layer_name]
    wb = Workbook()
    data = wb.active
    data.title = layer_name
    data.sheet_view.rightToLeft = lang == "fa"
    codes = wb.create_sheet("codes")
    codes.sheet_view.rightToLeft = lang == "fa"
    rows_max = 5000
    # The codes sheet: one block of columns per list (code, Persian, English).
    lists: dict[str, list] = {
        "service_type": [(c, fa, en) for c, (fa, en) in services.items()],
        "status": [(c, fa, en) for c, (fa, en) in LICENCE_STATUSES.items()],
        "delivery_mode": [(c, fa, en) for c, (fa, en) in DELIVERY_MODES.items()],
        "province_code": [
            (r.province_code, r.name_fa, r.name_en or "")
            for r in provinces.sort_values("province_code").itertuples()
        ],
        "county_code": [
            (r.county_code, r.name_fa, r.province_code)
            for r in counties.sort_values("county_code").itertuples()
        ],
    }
    if grades:
        lists["grade"] = list(grades)
    if specialities:
        lists["speciality"] = list(specialities)
    heads = {
        "speciality": ("تخصص", "نام فارسی", "English"),
        "grade": ("رتبه", "معنا", "Meaning"),
        "service_type": ("کد نوع خدمت", "نام فارسی", "English"),
        "status": ("کد وضعیت", "نام فارسی", "English"),
        "delivery_mode": ("کد شیوهٔ ارائه", "نام فارسی", "English"),
        "province_code": ("کد استان", "نام فارسی", "English"),
        "county_code": ("کد شهرستان", "نام فارسی", "کد استان (province_code)"),
    }
    ranges = {}
    col = 1
    for name, values in lists.items():
        for j, head in enumerate(heads[name]):
            cell = codes.cell(row=1, column=col + j, value=head)
            cell.font = Font(bold=True)
        for i, triple in enumerate(values, start=2):
            for j, value in enumerate(triple):
                codes.cell(row=i, column=col + j, value=str(value)).number_format = "@"
        letter = codes.cell(row=1, column=col).column_letter
        ranges[name] = f"codes!${letter}$2:${letter}${len(values) + 1}"
        col += 4
    # county names too: a county may be given by name
    letter = codes.cell(row=1, column=lists_col(list(lists), "county_code") + 1).column_letter
    ranges["county_name"] = f"codes!${letter}$2:${letter}${len(lists['county_code']) + 1}"
    for j, name in enumerate(columns, start=1):
        cell = data.cell(row=1, column=j, value=header_label(name))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
        data.column_dimensions[cell.column_letter].width = 22
        rng = f"{cell.column_letter}2:{cell.column_letter}{rows_max}"
        if name in ranges:
            dv = DataValidation(type="list", formula1=f"={ranges[name]}", allow_blank=True)
            dv.error = "یک مقدار از فهرست برگه codes / a value from the codes sheet"
            dv.showErrorMessage = name != "county_name"
            data.add_data_validation(dv)
            dv.add(rng)
    data.freeze_panes = "A2"
    wb.save(path)
    return Path(path)


def lists_col(names: list[str], name: str) -> int:
    """The first spreadsheet column (1-based) of list ``name`` on the codes sheet."""
    return 1 + 4 * names.index(name)
