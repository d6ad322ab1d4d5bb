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
