"""The command line: ``amayesh build-demo``, ``amayesh serve``, ``amayesh layers``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from api.settings import Settings
from geo.errors import AmayeshError


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_build_demo(args: argparse.Namespace, settings: Settings) -> int:
    from demo.build import build_demo
    from store import open_store

    shapefiles = None if args.no_shapefiles else settings.shapefile_dir
    report = build_demo(
        settings.data_dir,
        open_store(settings.store),
        seed=args.seed,
        n_ngos=args.ngos,
        shapefile_dir=shapefiles,
        progress=_progress,
    )
    print(f"Built the demo into {settings.store} in {report.seconds:.1f} s:")
    for name, n in report.counts.items():
        print(f"  {name:<13} {n:>8,}")
    print(f"  counties the name matcher could not match: {', '.join(report.unmatched_counties) or 'none'}")
    print(f"  GeoNames places matched to official settlements: {report.matched_places:,}")
    print(
        f"  synthetic NGOs in cities over 250,000: {report.urban_ngo_share:.1%} "
        f"(their share of population: {report.urban_population_share:.1%})"
    )
    print("  NGOs, target areas and county needs are SYNTHETIC demo data.")
    return 0


def cmd_layers(args: argparse.Namespace, settings: Settings) -> int:
    from store import open_store

    store = open_store(settings.store)
    counts = store.layer_counts()
    if not counts:
        print(f"{settings.store} holds no layers; run `amayesh build-demo` first")
        return 1
    for name, n in counts.items():
        print(f"{name:<13} {n:>8,}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    import pandas as pd

    from exchange.imports import ImportRejected, import_file, write_report
    from store import open_store

    store = open_store(settings.store)
    mode = "append" if args.append else "replace"
    report_path = args.report or args.file.with_name(args.file.stem + ".rejected.csv")
    try:
        outcome = import_file(store, args.layer, args.file, mode=mode, source_layer=args.source_layer)
    except ImportRejected as err:
        store.close()
        result = err.result
        print(f"error: {err.user_message}", file=sys.stderr)
        shown = result.rejected.head(args.show)
        # The report first: whatever happens while printing, the user gets it.
        write_report(result, report_path)
        for row in shown.itertuples():
            where = "file" if pd.isna(row.row) else f"row {int(row.row)}"
            print(f"  {where:>9}  {row.field!s:<16} {row.reason!s:<22} {row.message}", file=sys.stderr)
        if len(result.rejected) > len(shown):
            print(f"  … and {len(result.rejected) - len(shown)} more", file=sys.stderr)
        print(f"Every rejected row is in {report_path}", file=sys.stderr)
        return 3
    store.close()
    result = outcome.result
    print(f"Imported {outcome.rows:,} rows into {args.layer} ({mode}).")
    for note in result.notes:
        print(f"  {note}")
    if not result.repaired.empty:
        write_report(result, report_path)
        print(f"  {len(result.repaired)} polygons repaired (area change < 0.1%); see {report_path}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from exchange.exports import export_layer
    from store import open_store

    path = export_layer(open_store(settings.store), args.layer, args.file, fmt=args.format)
    print(f"Wrote {args.layer} to {path}")
    return 0


def _write_table(frame, path: Path) -> None:
    from exchange.formats import write_file

    write_file(frame, path, layer=path.stem)
    print(f"Wrote {len(frame):,} rows to {path}")


def _analysis(settings: Settings):
    import time

    from api.loading import analysis_from_store, load_norms
    from store import open_store

    store = open_store(settings.store)
    norms = load_norms(settings.norms)
    started = time.perf_counter()
    result = analysis_from_store(store, norms, settings.as_of)
    _progress(
        f"analysis recomputed in {time.perf_counter() - started:.2f} s (norms {norms.version}; "
        f"licence statuses as of {result.as_of})"
    )
    return store, result


def cmd_analyse(args: argparse.Namespace, settings: Settings) -> int:
    _, a = _analysis(settings)
    sat = a.saturation.reset_index()
    print("Counties by saturation class (active licences):")
    table = sat.pivot_table(
        index="service_type", columns="class", values="county_code", aggfunc="count"
    ).fillna(0)
    print(table.astype(int).to_string())
    print("\nUnderserved small towns and villages flagged, by service type:")
    print(a.flags["service_type"].value_counts().to_string())
    print("\nConcentration by settlement tier (national):")
    conc = a.concentration[["ngos_share", "target_population_share", "lq_ngos", "lq_capacity"]]
    print(conc.round(3).to_string())
    if args.out:
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
        ext = args.format
        _write_table(sat, out / f"saturation.{ext}")
        from geo.decisions import flag_reasons

        flags = a.flags.reset_index(drop=True)
        _write_table(flags.join(flag_reasons(flags)), out / f"flags.{ext}")
        _write_table(a.concentration.reset_index(), out / f"concentration.{ext}")
        _write_table(a.concentration_by_province.reset_index(), out / f"concentration_by_province.{ext}")
        _write_table(a.settlement_access(), out / f"settlement_access.{ext}")
    return 0


def cmd_check_licence(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from dataclasses import asdict

    _, a = _analysis(settings)
    check = a.check_licence(args.lon, args.lat, args.service, args.capacity)
    if args.json:
        print(json.dumps(asdict(check), ensure_ascii=False, indent=2, default=float))
        return 0
    reasons = check.reasons_fa if args.lang == "fa" else check.reasons_en
    print("\n".join(reasons))
    for place in check.better_places:
        print(
            f"  - {place['name_fa']} ({place['settlement_code']}), {place['distance_km']:.0f} km: "
            f"{place['newly_covered_target_population']:,} persons newly covered"
        )
    return 0


def cmd_priorities(args: argparse.Namespace, settings: Settings) -> int:
    from api.loading import province_code
    from store import open_store

    province = province_code(open_store(settings.store), args.province) if args.province else None
    weights = {}
    for part in filter(None, (args.weights or "").split(",")):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"error: weight {part!r} is not name=number") from None
    _, a = _analysis(settings)
    ranked = a.priorities(province=province, service_type=args.service, weights=weights or None, top=args.top)
    if args.out:
        _write_table(ranked, args.out)
    reason = "reason_fa" if args.lang == "fa" else "reason_en"
    show = ranked[["province_code", "rank", "settlement_code", "name_fa", "population", "score", reason]]
    print(show.head(args.show).to_string(index=False))
    return 0


def _province(settings: Settings, value: str | None) -> str | None:
    from api.loading import province_code
    from store import open_store

    return province_code(open_store(settings.store), value) if value else None


def _sites_as_changes(sites, service: str) -> dict:
    return {
        "licences_added": [
            {
                "service_type": service,
                "capacity": int(row.capacity),
                "lon": float(row.lon),
                "lat": float(row.lat),
                "settlement_code": row.settlement_code,
                "name_fa": f"مرکز پیشنهادی {row.name_fa}",
            }
            for row in sites.itertuples()
        ]
    }


def cmd_site(args: argparse.Namespace, settings: Settings) -> int:
    from api import plans
    from geo.siting import site_centres

    province = _province(settings, args.province)
    candidates = None
    if args.candidates:
        text = (
            Path(args.candidates).read_text(encoding="utf-8")
            if Path(args.candidates).is_file()
            else args.candidates
        )
        candidates = [c.strip() for c in text.replace("\n", ",").split(",") if c.strip()]
    store, a = _analysis(settings)
    plan = site_centres(
        a,
        args.service,
        args.k,
        model=args.model,
        province=province,
        candidates=candidates,
        capacity=args.capacity,
        capacitated=args.capacitated,
        cap_km=args.cap_km,
        method=args.method,
        time_limit=args.time_limit,
    )
    s = plan.summary
    what = (
        "capacity used"
        if s["model"].startswith("capacitated")
        else ("target persons newly covered" if s["model"] == "mclp" else "target person-metres of travel")
    )
    print(
        f"{s['new_sites']} new {args.service} sites ({s['model']}, {s['method']}) among {s['candidates']:,} "
        f"{s['candidate_source']} candidates, in {s['seconds']:.2f} s"
    )
    print(f"  objective ({what}): {s['objective']:,.0f}; bound {s['bound']:,.0f}; gap {s['gap']:.2%}")
    if s["model"] == "mclp":
        print(f"  target persons covered: {s['covered_before']:,.0f} before, {s['covered_after']:,.0f} after")
    show = plan.sites[["rank", "settlement_code", "name_fa", "county_code", "population", "gain"]]
    print(show.head(args.show).to_string(index=False))
    if args.out:
        _write_table(plan.sites, args.out)
    if args.save_scenario:
        record = plans.create_scenario(
            store, args.save_scenario, _sites_as_changes(plan.sites, args.service), owner=args.owner,
            description=f"siting: {s['model']} k={s['new_sites']} province={province or 'all'}",
        )  # fmt: skip
        print(f"Saved as scenario {record['id']} ({record['name']})")
    return 0


def cmd_delegate(args: argparse.Namespace, settings: Settings) -> int:
    from api import plans
    from geo.delegation import delegate

    province = _province(settings, args.province)
    store, a = _analysis(settings)
    plan = delegate(a, args.service, province=province, outreach_km=args.outreach_km)
    s = plan.summary
    print(
        f"{s['places']:,} flagged places need {s['capacity_needed']:,} places of {args.service} "
        f"({s['target_population_unserved']:,} unserved target persons); {s['centres_with_spare']:,} centres "
        f"have {s['spare_capacity']:,} spare (rule: {s['spare_rule']}); within {s['outreach_km']:.0f} km "
        f"{s['assigned']:,} assigned by {s['centres_used']:,} centres, {s['still_needed']:,} still needed"
    )
    used = plan.centres[plan.centres["assigned"] > 0]
    print(
        used[["licence_no", "name_fa", "spare", "assigned", "places", "mean_km"]]
        .head(args.show)
        .to_string(index=False)
    )
    if args.out:
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
        _write_table(plan.centres.drop(columns="settlement_codes"), out / f"delegation_centres.{args.format}")
        _write_table(plan.places, out / f"delegation_places.{args.format}")
    if args.save_scenario:
        changes = {
            "delegations": [
                {"licence_no": r.licence_no, "settlement_code": r.settlement_code, "persons": int(r.capacity)}
                for r in plan.lines.itertuples()
            ]
        }
        record = plans.create_scenario(store, args.save_scenario, changes, owner=args.owner)
        print(f"Saved as scenario {record['id']} ({record['name']})")
    return 0


def cmd_scenario(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from api import plans
    from store import open_store

    store = open_store(settings.store)
    if args.action == "create":
        changes = json.loads(Path(args.changes).read_text(encoding="utf-8"))
        record = plans.create_scenario(
            store, args.name, changes, owner=args.owner, description=args.description
        )
        print(f"Created scenario {record['id']} ({record['name']})")
    elif args.action == "list":
        rows = store.list_scenarios(args.owner)
        if not rows:
            print("no scenarios")
        for r in rows:
            counts = ", ".join(f"{k} {len(v)}" for k, v in r["payload"].items() if v)
            print(
                f"{r['id']}  {r['created_at'][:19]}Z  {r['owner']:<12} {r['name']}  [{counts or 'no changes'}]"
            )
    elif args.action == "copy":
        record = plans.copy_scenario(store, args.id, name=args.name, owner=args.owner)
        print(f"Copied {args.id} to {record['id']} ({record['name']})")
    elif args.action == "delete":
        store.delete_scenario(args.id)
        print(f"Deleted scenario {args.id}")
    elif args.action == "compare":
        province = _province(settings, args.province)
        _, today = _analysis(settings)
        layers = {name: store.read_layer(name) for name in store.list_layers()}
        rec_a, rec_b, result = plans.compare_refs(
            store, layers, today, args.a, args.b, service_type=args.service, province=province
        )
        s = result.summary
        print(f"{rec_b['name']} against {rec_a['name']}:")
        print(
            f"  target persons newly covered: {s['newly_covered']:,}; no longer covered: {s['no_longer_covered']:,}"
        )
        print(
            f"  capacity {s['capacity_a']:,} → {s['capacity_b']:,}; counties changing class: {s['counties_changing_class']}"
        )
        for change, n in s["class_changes"].items():
            print(f"    {change}: {n}")
        nat = result.equity[result.equity["scope"] == "national"]
        print(nat[["service_type", "gini_a", "gini_b", "theil_a", "theil_b"]].round(4).to_string(index=False))
        if args.out:
            from maps.notices import SYNTHETIC_NOTICE_EN

            path = plans.comparison_workbook(
                result, rec_a, rec_b, layers["counties"], args.out, SYNTHETIC_NOTICE_EN
            )
            print(f"Wrote {path}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from store import open_store

    if not open_store(settings.store).list_layers():
        print(f"warning: {settings.store} holds no layers; run `amayesh build-demo` first", file=sys.stderr)
    print(f"Amayesh on http://{settings.host}:{settings.port}/", file=sys.stderr, flush=True)
    log_level = "warning" if args.quiet else "info"
    if args.workers > 1:
        # Worker processes build the app from the environment.
        import os

        os.environ.update({"AMAYESH_STORE": settings.store, "AMAYESH_NORMS": str(settings.norms)})
        if settings.as_of:
            os.environ["AMAYESH_AS_OF"] = settings.as_of.isoformat()
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            log_level=log_level,
        )
    else:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level)
    return 0


def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amayesh", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="reference data folder (AMAYESH_DATA_DIR)")
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL (AMAYESH_STORE)")
    parser.add_argument("--norms", type=Path, help="norms file (AMAYESH_NORMS, default config/norms.toml)")
    parser.add_argument(
        "--as-of",
        type=date_arg,
        help="read licence statuses at this day, YYYY-MM-DD (AMAYESH_AS_OF; default: the registry's "
        "as-of date, else today)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build-demo", help="build the national demo into the store")
    b.add_argument("--seed", type=int, default=1404, help="seed of the synthetic data")
    b.add_argument("--ngos", type=int, default=25_000, help="number of synthetic NGOs")
    b.add_argument("--no-shapefiles", action="store_true", help="skip data/shapefiles/")
    b.add_argument("--shapefile-dir", type=Path, help="where to write shapefiles")
    b.set_defaults(func=cmd_build_demo)

    s = sub.add_parser("serve", help="run the HTTP service")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 8000)")
    s.add_argument(
        "--workers", type=int, default=1, help="worker processes (each holds the layers in memory)"
    )
    s.add_argument("--quiet", action="store_true", help="log warnings only, not every request")
    s.set_defaults(func=cmd_serve)

    from geo.schema import LAYERS

    editable = [name for name in LAYERS if name != "layer_info"]
    im = sub.add_parser(
        "import",
        help="import a layer from a file (all rows or none)",
        description="Import a layer from a shapefile (.shp or .zip), GeoPackage, GeoJSON, CSV or XLSX. "
        "If any row is rejected nothing is written and every rejected row is reported.",
    )
    im.add_argument("layer", choices=editable)
    im.add_argument("file", type=Path)
    im.add_argument("--append", action="store_true", help="add to the layer instead of replacing it")
    im.add_argument("--source-layer", help="layer of a GeoPackage holding several")
    im.add_argument("--report", type=Path, help="CSV of rejected rows (default: <file>.rejected.csv)")
    im.add_argument("--show", type=int, default=20, help="rejected rows to print (all are in the report)")
    im.set_defaults(func=cmd_import)

    ex = sub.add_parser("export", help="export a layer to GeoPackage, GeoJSON, CSV, XLSX or shapefile")
    ex.add_argument("layer", choices=list(LAYERS))
    ex.add_argument("file", type=Path)
    ex.add_argument("--format", choices=["gpkg", "geojson", "csv", "xlsx", "shp"])
    ex.set_defaults(func=cmd_export)

    from geo.schema import SERVICE_TYPES

    an = sub.add_parser("analyse", help="recompute saturation, access, concentration and flags")
    an.add_argument("--out", type=Path, help="folder for the result tables")
    an.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    an.set_defaults(func=cmd_analyse)

    ck = sub.add_parser("check-licence", help="judge a proposed licence at a place")
    ck.add_argument("--lon", type=float, required=True)
    ck.add_argument("--lat", type=float, required=True)
    ck.add_argument("--service", required=True, choices=list(SERVICE_TYPES))
    ck.add_argument("--capacity", type=int, required=True)
    ck.add_argument("--lang", choices=["fa", "en"], default="fa")
    ck.add_argument("--json", action="store_true", help="the whole answer as JSON")
    ck.set_defaults(func=cmd_check_licence)

    pr = sub.add_parser("priorities", help="villages to prioritise in a province, ranked and explained")
    pr.add_argument("--province", help="2-digit code or name (default: every province)")
    pr.add_argument("--service", choices=list(SERVICE_TYPES), help="one service type (default: all)")
    pr.add_argument("--weights", help="e.g. need=0.4,gap=0.3,distance=0.2,population=0.1,target_area=0")
    pr.add_argument("--top", type=int, default=50, help="villages per province")
    pr.add_argument("--out", type=Path, help="write the ranking to .csv or .xlsx")
    pr.add_argument("--show", type=int, default=20, help="rows to print")
    pr.add_argument("--lang", choices=["fa", "en"], default="fa")
    pr.set_defaults(func=cmd_priorities)

    si = sub.add_parser("site", help="propose where to license next (MCLP or p-median)")
    si.add_argument("--service", required=True, choices=list(SERVICE_TYPES))
    si.add_argument("--province", help="2-digit code or name (default: the whole country)")
    si.add_argument("--k", type=int, required=True, help="new sites to propose")
    si.add_argument("--model", choices=["mclp", "pmedian"], default="mclp")
    si.add_argument("--method", choices=["auto", "exact", "greedy"], default="auto")
    si.add_argument(
        "--candidates", help="settlement codes (comma-separated, or a file); default: flagged places"
    )
    si.add_argument("--capacitated", action="store_true", help="respect centre capacities")
    si.add_argument("--capacity", type=int, help="capacity of each new centre (default: the median)")
    si.add_argument("--cap-km", type=float, help="p-median: distances beyond count as this")
    si.add_argument("--time-limit", type=float, default=60.0, help="seconds the exact solver may take")
    si.add_argument("--out", type=Path, help="write the sites to .csv, .xlsx, .gpkg or .geojson")
    si.add_argument("--save-scenario", metavar="NAME", help="save the sites as a scenario of new licences")
    si.add_argument("--owner", help="owner of the saved scenario")
    si.add_argument("--show", type=int, default=20)
    si.set_defaults(func=cmd_site)

    de = sub.add_parser("delegate", help="assign unserved villages to centres with spare capacity")
    de.add_argument("--service", required=True, choices=list(SERVICE_TYPES))
    de.add_argument("--province", help="2-digit code or name (default: the whole country)")
    de.add_argument("--outreach-km", type=float, help="farthest outreach (default: the norm's outreach_km)")
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
    c.add_argument("--service", choices=list(SERVICE_TYPES))
    c.add_argument("--province")
    c.add_argument("--out", type=Path, help="write the comparison to an .xlsx workbook")
    sc.set_defaults(func=cmd_scenario)

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
