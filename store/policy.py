"""Row-level security by province on the layer tables (PostGIS): which column names a row's
province, the policy statements, and the setting that opens provinces to a transaction.

The store applies these when it creates a table (``store/postgis.py``); the database owner's role
setup applies them to every table (``store/roles.py``, whose opening comment says who may do what).
"""

from __future__ import annotations

import re

from geo.schema import LAYERS

#: Reference tables every signed-in role reads whole, though their rows name counties: the
#: versions of the administrative divisions (``geo.hierarchy``). Only administrators write them.
REFERENCE_TABLES = frozenset(
    {"hierarchy_versions", "hierarchy_units", "hierarchy_changes", "hierarchy_boundaries"}
)

#: The expression naming a row's province, per layer table with one.
PROVINCE_OF = {
    name: ("province_code" if "province_code" in spec.column_names else "left(county_code, 2)")
    for name, spec in LAYERS.items()
    if ("province_code" in spec.column_names or "county_code" in spec.column_names)
    and name not in REFERENCE_TABLES
} | {"licence_applications": "province_code", "programme_activities": "province_code"}
SETTING = "amayesh.provinces"


def policy_sql(table: str) -> list[str]:
    """Statements that enable, force and (re)create the province policy of ``table``."""
    expr = PROVINCE_OF[table]
    visible = (
        f"coalesce(current_setting('{SETTING}', true), '') = '*' "
        f"OR {expr} = ANY (string_to_array(current_setting('{SETTING}', true), ','))"
    )
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS amayesh_provinces ON "{table}"',
        f'CREATE POLICY amayesh_provinces ON "{table}" USING ({visible}) WITH CHECK ({visible})',
    ]


def provinces_setting(provinces) -> str:
    """The value of ``amayesh.provinces`` for a set of province codes (None: all)."""
    if provinces is None:
        return "*"
    codes = sorted(str(p) for p in provinces)
    if not all(re.fullmatch(r"\d{2}", c) for c in codes):
        raise ValueError(f"province codes are two digits: {codes}")
    return ",".join(codes)
