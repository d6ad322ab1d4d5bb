"""Where the official settlements stand: the match of the official list to the gazetteer, and
its report (per settlement, and per province), for the command line and the demo build."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from demo import national
from demo.sources import read_reference

#: The report's columns, in the order a person reads them.
REPORT_COLUMNS = [
    "settlement_code",
    "province_code",
    "county_code",
    "rural_district_code",
    "kind",
    "official_name",
    "status",
    "position_source",
    "method",
    "confidence",
    "gazetteer_id",
    "place_name",
    "place_name_en",
    "lon",
    "lat",
    "precision",
    "outside_county_m",
    "candidates",
]


def match_official_settlements(data_dir: Path, corrections: Path | None) -> national.RealPositions:
    """Match the official settlements to the gazetteer of the reference folder, with corrections."""
    ref = read_reference(data_dir)
    counties = national.join_reference_counties(ref).counties
    return national.reference_positions(ref, counties, corrections)[1]


def write_match_report(report: pd.DataFrame, path: Path, unofficial: int | None = None) -> None:
    """The match report as CSV (UTF-8 with BOM, one row per settlement) or XLSX (sheets
    "provinces" with the summary, "settlements" with every row)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = report[REPORT_COLUMNS]
    if path.suffix.lower() == ".xlsx":
        summary = national.match_summary(report)
        if unofficial is not None:
            summary["unofficial_places"] = pd.NA
            summary.loc["all", "unofficial_places"] = unofficial
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            summary.rename_axis("province_code").reset_index().to_excel(
                writer, sheet_name="provinces", index=False
            )
            rows.to_excel(writer, sheet_name="settlements", index=False)
    else:
        path.write_bytes(("\ufeff" + rows.to_csv(index=False)).encode("utf-8"))


def summary_lines(report: pd.DataFrame, unofficial: int, agreement: float) -> list[str]:
    """What a person reads at the end of a build: the totals and the weakest provinces."""
    s = national.match_summary(report)
    total = s.loc["all"]
    methods = [c for c in s.columns if c.startswith("by_") and c not in ("by_ambiguous", "by_unmatched")]
    by = ", ".join(f"{c[3:]} {int(total[c]):,}" for c in methods if total[c])
    provinces = s.drop(index="all").sort_values("village_match_rate")
    weakest = ", ".join(
        f"{code} {rate:.0%}" for code, rate in provinces["village_match_rate"].head(5).items()
    )
    return [
        f"settlements at a real point: {int(total['matched']):,} of {int(total['settlements']):,} "
        f"(villages {int(total['villages_matched']):,} of {int(total['villages']):,}, "
        f"{total['village_match_rate']:.1%}); by method: {by}",
        f"ambiguous (kept unmatched, candidates in the report): {int(total['ambiguous']):,}; "
        f"no place found: {int(total['unmatched']):,}; placed near their rural district instead",
        f"gazetteer places that are no official settlement: {unofficial:,}",
        f"agreement with the GeoNames cities matched before: {agreement:.1%} (same place: within 3 km, or within a town's built-up radius)",
        f"lowest village match rates by province: {weakest}",
    ]
