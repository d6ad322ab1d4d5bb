"""The command line: ``amayesh build-demo``, ``amayesh serve``, ``amayesh layers``."""

from __future__ import annotations

import argparse
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
    from exchange.imports import ImportRejected, import_file, write_report
    from store import open_store

    store = open_store(settings.store)
    mode = "append" if args.append else "replace"
    report_path = args.report or args.file.with_name(args.file.stem + ".rejected.csv")
    try:
        outcome = import_file(store, args.layer, args.file, mode=mode, source_layer=args.source_layer)
    except ImportRejected as err:
        result = err.result
        print(f"error: {err.user_message}", file=sys.stderr)
        shown = result.rejected.head(args.show)
        for row in shown.itertuples():
            where = f"row {row.row}" if row.row is not None and row.row == row.row else "file"
            print(f"  {where:>9}  {row.field:<16} {row.reason:<22} {row.message}", file=sys.stderr)
        if len(result.rejected) > len(shown):
            print(f"  … and {len(result.rejected) - len(shown)} more", file=sys.stderr)
        write_report(result, report_path)
        print(f"Every rejected row is in {report_path}", file=sys.stderr)
        return 3
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


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from store import open_store

    if not open_store(settings.store).list_layers():
        print(f"warning: {settings.store} holds no layers; run `amayesh build-demo` first", file=sys.stderr)
    print(f"Amayesh on http://{settings.host}:{settings.port}/", file=sys.stderr, flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amayesh", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="reference data folder (AMAYESH_DATA_DIR)")
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL (AMAYESH_STORE)")
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
