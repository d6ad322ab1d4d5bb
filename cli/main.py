"""The command line ``amayesh``: the parser and the dispatch; the commands live in one module per group
(``cli/data.py``, ``users.py``, ``analysis.py``, ``planning.py``, ``serve.py``)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

from cli.analysis import cmd_analyse, cmd_check_licence, cmd_compare_travel, cmd_priorities, cmd_trends
from cli.catalogue import cmd_catalogue
from cli.data import (
    cmd_backup,
    cmd_build_demo,
    cmd_export,
    cmd_import,
    cmd_import_hierarchy,
    cmd_layers,
    cmd_match_settlements,
    cmd_restore,
)
from cli.planning import cmd_delegate, cmd_scenario, cmd_site
from cli.serve import cmd_serve
from cli.users import cmd_setup_roles, cmd_users
from geo.errors import AmayeshError
from services.settings import Settings

#: The parser's description (shown by ``amayesh --help``).
DESCRIPTION = "The command line: ``amayesh build-demo``, ``amayesh serve``, ``amayesh layers``."


def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amayesh", description=DESCRIPTION)
    parser.add_argument("--data-dir", type=Path, help="reference data folder (AMAYESH_DATA_DIR)")
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL (AMAYESH_STORE)")
    parser.add_argument("--norms", type=Path, help="norms file (AMAYESH_NORMS, default config/norms.toml)")
    parser.add_argument(
        "--as-of",
        type=date_arg,
        help="read licence statuses at this day, YYYY-MM-DD (AMAYESH_AS_OF; default: the registry's "
        "as-of date, else today)",
    )
    parser.add_argument(
        "--roads", type=Path, help="roads file (AMAYESH_ROADS, default <data dir>/roads_vmap0.gpkg)"
    )
    parser.add_argument(
        "--dask-scheduler", help='run road searches on Dask: "local" or an address (AMAYESH_DASK_SCHEDULER)'
    )
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build-demo", help="build the national demo into the store")
    b.add_argument("--seed", type=int, default=1404, help="seed of the synthetic data")
    b.add_argument("--ngos", type=int, default=25_000, help="number of synthetic NGOs")
    b.add_argument("--no-shapefiles", action="store_true", help="skip data/shapefiles/")
    b.add_argument("--shapefile-dir", type=Path, help="where to write shapefiles")
    b.add_argument(
        "--no-demo-accounts", action="store_true", help="do not create the documented demo accounts"
    )
    b.add_argument(
        "--match-report",
        type=Path,
        help="where to write the settlement match report (default: settlement-match.csv beside the store)",
    )
    b.set_defaults(func=cmd_build_demo)

    ms = sub.add_parser(
        "match-settlements",
        help="match the official settlements to the gazetteer and write the report (the store is untouched)",
    )
    ms.add_argument(
        "--out", type=Path, default=Path("settlement-match.xlsx"), help=".xlsx (with a summary) or .csv"
    )
    ms.add_argument(
        "--corrections",
        type=Path,
        help="corrections file (AMAYESH_SETTLEMENT_CORRECTIONS, default config/settlement_corrections.csv)",
    )
    ms.set_defaults(func=cmd_match_settlements)

    s = sub.add_parser("serve", help="run the HTTP service")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 8000)")
    s.add_argument(
        "--workers", type=int, default=1, help="worker processes (each holds the layers in memory)"
    )
    s.add_argument("--quiet", action="store_true", help="log warnings only, not every request")
    s.set_defaults(func=cmd_serve)

    from geo.schema import LAYERS

    # The versions of the divisions come in whole, checked together: ``import-hierarchy``.
    editable = [name for name in LAYERS if name != "layer_info" and not name.startswith("hierarchy_")]
    im = sub.add_parser(
        "import",
        help="import a layer from a file (all rows or none)",
        description="Import a layer from a shapefile (.shp or .zip), GeoPackage, GeoJSON, CSV or XLSX. "
        "By default rows are added or updated by the layer's key; --replace replaces the layer (admin). "
        "If any row is rejected nothing is written and every rejected row is reported. Every import is "
        "audited and the previous version of the layer is saved (var/versions or AMAYESH_VERSIONS_DIR).",
    )
    im.add_argument("layer", choices=editable)
    im.add_argument("file", help="a local file (URLs and GDAL /vsi… paths are refused)")
    how = im.add_mutually_exclusive_group()
    how.add_argument("--append", action="store_true", help="only add rows (a key already stored is refused)")
    how.add_argument(
        "--replace", action="store_true", help="replace the whole layer (needs an admin: --user NAME)"
    )
    im.add_argument("--user", help="who imports (an admin for --replace; the password is asked)")
    im.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    im.add_argument("--source-layer", help="layer of a GeoPackage holding several")
    im.add_argument(
        "--rejected",
        "--report",
        dest="report",
        type=Path,
        help="CSV of rejected rows (default: <file name>.rejected.csv in the working folder)",
    )
    im.add_argument("--show", type=int, default=20, help="rejected rows to print (all are in the report)")
    im.set_defaults(func=cmd_import)

    ih = sub.add_parser(
        "import-hierarchy",
        help="import a new version of the county divisions from a CSV or XLSX file (an admin)",
        description="A new version of the county divisions, made from a base version (default: the open "
        "version that began last). The file has one row per county that is new or changed: code, name_fa, "
        "name_en, parent (the county of the base version it comes from; several joined with + for a merge), "
        "valid_from (Jalali 1403/07/01 or Gregorian, the same in every row) and, where a county is split "
        "between rows, share. Counties it does not name go on unchanged. If any row is refused nothing is "
        "written and every problem is reported. Audited.",
    )
    ih.add_argument("file", help="a local .csv or .xlsx file")
    ih.add_argument("--id", dest="version_id", required=True, help="the new version's id (a-z, 0-9, '-')")
    ih.add_argument("--name-fa", required=True, help="its Persian name")
    ih.add_argument("--name-en", help="its English name")
    ih.add_argument("--base", help="the version it is made from (default: the open one that began last)")
    ih.add_argument("--user", required=True, help="the admin who imports (the password is asked)")
    ih.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    ih.add_argument(
        "--report",
        type=Path,
        help="CSV of the refused rows (default: <file name>.rejected.csv in the working folder)",
    )
    ih.set_defaults(func=cmd_import_hierarchy)

    ex = sub.add_parser("export", help="export a layer to GeoPackage, GeoJSON, CSV, XLSX or shapefile")
    ex.add_argument("layer", choices=list(LAYERS))
    ex.add_argument("file", type=Path)
    ex.add_argument("--format", choices=["gpkg", "geojson", "csv", "xlsx", "shp"])
    ex.set_defaults(func=cmd_export)

    # A service type is one of the catalogue's (the norms in force), checked where the norms are
    # read: here only its form.
    from geo.catalogue import SERVICE_CODE

    def service_code(value: str) -> str:
        if not re.fullmatch(SERVICE_CODE, value):
            raise argparse.ArgumentTypeError(f"{value!r} is not a service type code (e.g. home_care)")
        return value

    an = sub.add_parser("analyse", help="recompute saturation, access, concentration and flags")
    an.add_argument("--out", type=Path, help="folder for the result tables")
    an.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    an.set_defaults(func=cmd_analyse)

    ck = sub.add_parser("check-licence", help="judge a proposed licence at a place")
    ck.add_argument("--lon", type=float, required=True)
    ck.add_argument("--lat", type=float, required=True)
    ck.add_argument("--service", required=True, type=service_code)
    ck.add_argument("--capacity", type=int, required=True)
    ck.add_argument("--lang", choices=["fa", "en"], default="fa")
    ck.add_argument("--json", action="store_true", help="the whole answer as JSON")
    ck.set_defaults(func=cmd_check_licence)

    pr = sub.add_parser("priorities", help="villages to prioritise in a province, ranked and explained")
    pr.add_argument("--province", help="2-digit code or name (default: every province)")
    pr.add_argument("--service", type=service_code, help="one service type (default: all)")
    pr.add_argument("--weights", help="e.g. need=0.4,gap=0.3,distance=0.2,population=0.1,target_area=0")
    pr.add_argument("--top", type=int, default=50, help="villages per province")
    pr.add_argument("--out", type=Path, help="write the ranking to .csv or .xlsx")
    pr.add_argument("--show", type=int, default=20, help="rows to print")
    pr.add_argument("--lang", choices=["fa", "en"], default="fa")
    pr.set_defaults(func=cmd_priorities)

    tr = sub.add_parser(
        "trends", help="figures by Jalali year, quarter or month (licences, decisions, analysis)"
    )
    tr.add_argument("--periods", required=True, help="1402..1403, 1403Q1..1403Q4, 1403-01..1403-12 or a list")
    tr.add_argument("--level", choices=["country", "province", "county"], default="province")
    tr.add_argument("--province", help="2-digit code or name (default: every province)")
    tr.add_argument("--service", type=service_code, help="one service type (default: all)")
    tr.add_argument("--by-service", action="store_true", help="one row per service type as well")
    tr.add_argument("--measures", help="comma-separated (default: the registry's and the register's)")
    tr.add_argument("--compare", help="previous and/or year_before, comma-separated")
    tr.add_argument("--deadline-days", type=int, default=30, help="the legal deadline of a decision")
    tr.add_argument("--out", type=Path, help="write the table to .csv or .xlsx")
    tr.set_defaults(func=cmd_trends)

    from store.accounts import ROLES

    us = sub.add_parser("users", help="users, roles, provinces, passwords and API tokens")
    us.add_argument("--actor", help="who is making the change (recorded in the audit trail)")
    usub = us.add_subparsers(dest="action", required=True)
    u = usub.add_parser("add", help="add a user (the password is asked for, or read from stdin)")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=ROLES)
    u.add_argument("--provinces", help="province codes, e.g. 11,07 (licensing_officer, provincial_director)")
    u.add_argument("--name", help="display name")
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    u = usub.add_parser("set-role", help="change a user's role (signs out their sessions)")
    u.add_argument("username")
    u.add_argument("role", choices=ROLES)
    u = usub.add_parser("set-provinces", help="set a user's provinces")
    u.add_argument("username")
    u.add_argument("provinces", help="province codes, e.g. 11,07")
    u = usub.add_parser("reset-password", help="set a new password (signs out their sessions)")
    u.add_argument("username")
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for action in ("disable", "enable"):
        u = usub.add_parser(action, help=f"{action} a user")
        u.add_argument("username")
    u = usub.add_parser("token", help="issue an API token for a program (printed once)")
    u.add_argument("username")
    u.add_argument("--label", help="what the token is for")
    u.add_argument("--days", type=int, default=365, help="days until it expires")
    u = usub.add_parser("revoke-token", help="revoke an API token")
    u.add_argument("token_id")
    u = usub.add_parser("sessions", help="list a user's live sign-in sessions")
    u.add_argument("username")
    u = usub.add_parser("revoke-sessions", help="end every sign-in session of a user")
    u.add_argument("username")
    usub.add_parser("list", help="list the users, their roles, provinces and live tokens")
    us.set_defaults(func=cmd_users)

    cat = sub.add_parser("catalogue", help="the service catalogue in force, or import a new norms file")
    csub = cat.add_subparsers(dest="action", required=True)
    csub.add_parser("show", help="the catalogue in force (JSON)").set_defaults(func=cmd_catalogue)
    ci = csub.add_parser("import", help="import a norms file as the new version (an administrator)")
    ci.add_argument("file", type=Path)
    ci.add_argument("--user", help="the administrator (password asked)")
    ci.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    ci.set_defaults(func=cmd_catalogue)

    db = sub.add_parser("db", help="database administration (PostGIS)")
    dsub = db.add_subparsers(dest="action", required=True)
    sr = dsub.add_parser(
        "setup-roles",
        help="create the service's database role (not owner, not superuser) with row-level security",
    )
    sr.add_argument("--role", default="amayesh_service", help="role name (default amayesh_service)")
    sr.add_argument("--password-stdin", action="store_true", help="read its password from stdin")
    sr.set_defaults(func=cmd_setup_roles)

    bk = sub.add_parser("backup", help="back up the layers, accounts and audit trail to a new folder")
    bk.add_argument("folder", type=Path)
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="restore a backup folder into the store and verify it")
    rs.add_argument("folder", type=Path)
    rs.add_argument("--force", action="store_true", help="restore over a store that holds layers")
    rs.set_defaults(func=cmd_restore)

    si = sub.add_parser("site", help="propose where to license next (MCLP or p-median)")
    si.add_argument("--service", required=True, type=service_code)
    si.add_argument("--province", help="2-digit code or name (default: the whole country)")
    si.add_argument("--k", type=int, required=True, help="new sites to propose")
    si.add_argument("--model", choices=["mclp", "pmedian"], default="mclp")
    si.add_argument("--method", choices=["auto", "exact", "greedy"], default="auto")
    si.add_argument(
        "--candidates", help="settlement codes (comma-separated, or a file); default: flagged places"
    )
    si.add_argument("--capacitated", action="store_true", help="respect centre capacities")
    si.add_argument("--capacity", type=int, help="capacity of each new centre (default: the median)")
    si.add_argument(
        "--cap-km", type=float, help="p-median, straight line: distances beyond count as this (km)"
    )
    si.add_argument(
        "--cap-min", type=float, help="p-median, on roads: travel times beyond count as this (minutes)"
    )
    si.add_argument("--time-limit", type=float, default=60.0, help="seconds the exact solver may take")
    si.add_argument(
        "--budget",
        type=float,
        help="the most the new centres may cost, in the norms' cost table's currency; --k is then the most sites",
    )
    si.add_argument("--out", type=Path, help="write the sites to .csv, .xlsx, .gpkg or .geojson")
    si.add_argument("--save-scenario", metavar="NAME", help="save the sites as a scenario of new licences")
    si.add_argument("--owner", help="owner of the saved scenario")
    si.add_argument("--show", type=int, default=20)
    si.set_defaults(func=cmd_site)

    de = sub.add_parser("delegate", help="assign unserved villages to centres with spare capacity")
    de.add_argument("--service", required=True, type=service_code)
    de.add_argument("--province", help="2-digit code or name (default: the whole country)")
    de.add_argument(
        "--outreach-km",
        type=float,
        help="straight line: farthest outreach in km (default: the norm's outreach_km)",
    )
    de.add_argument(
        "--outreach-min",
        type=float,
        help="on roads: farthest outreach in minutes (default: the norm's outreach_min)",
    )
    de.add_argument(
        "--budget",
        type=float,
        help="the most the outreach lines may cost (km × the cost per km of the norms' cost table)",
    )
    de.add_argument("--out", type=Path, help="folder for delegation_centres and delegation_places")
    de.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    de.add_argument("--save-scenario", metavar="NAME", help="save the assignments as a scenario")
    de.add_argument("--owner", help="owner of the saved scenario")
    de.add_argument("--show", type=int, default=20)
    de.set_defaults(func=cmd_delegate)

    sc = sub.add_parser("scenario", help="saved scenarios: create, list, copy, delete, compare")
    scs = sc.add_subparsers(dest="action", required=True)
    c = scs.add_parser("create", help="save a scenario from a JSON file of changes")
    c.add_argument("name")
    c.add_argument("--changes", required=True, type=Path, help="JSON: licences_added, licences_closed, …")
    c.add_argument("--owner")
    c.add_argument("--description")
    c = scs.add_parser("list", help="saved scenarios, newest first")
    c.add_argument("--owner")
    c = scs.add_parser("copy", help="copy a scenario")
    c.add_argument("id")
    c.add_argument("--name")
    c.add_argument("--owner")
    c = scs.add_parser("delete", help="delete a scenario")
    c.add_argument("id")
    c = scs.add_parser("compare", help="compare scenario B with A (either may be `today`)")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--service", type=service_code)
    c.add_argument("--province")
    c.add_argument("--out", type=Path, help="write the comparison to an .xlsx workbook")
    sc.set_defaults(func=cmd_scenario)

    ct = sub.add_parser(
        "compare-travel",
        help="how the flags change from straight-line distance to travel on roads, by province",
    )
    ct.add_argument("--out", type=Path, help="write the table to .csv or .xlsx")
    ct.set_defaults(func=cmd_compare_travel)

    ls = sub.add_parser("layers", help="list the layers in the store and their counts")
    ls.set_defaults(func=cmd_layers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {
        key: value
        for key, value in {
            "data_dir": args.data_dir,
            "store": args.store,
            "norms": args.norms,
            "as_of": args.as_of,
            "roads": args.roads,
            "dask_scheduler": args.dask_scheduler,
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "shapefile_dir": getattr(args, "shapefile_dir", None),
        }.items()
        if value is not None
    }
    settings = Settings(**overrides)
    try:
        return args.func(args, settings)
    except AmayeshError as err:
        print(f"error: {err.user_message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
