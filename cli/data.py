"""Commands for the data in the store: ``build-demo``, ``layers``, ``import``, ``export``, ``backup`` and
``restore``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import progress, read_password
from cli.users import create_demo_accounts
from services.settings import Settings


def cmd_build_demo(args: argparse.Namespace, settings: Settings) -> int:
    from demo.build import build_demo
    from services.settlements import summary_lines, write_match_report
    from store import open_store

    shapefiles = None if args.no_shapefiles else settings.shapefile_dir
    report = build_demo(
        settings.data_dir,
        open_store(settings.store),
        seed=args.seed,
        n_ngos=args.ngos,
        shapefile_dir=shapefiles,
        corrections=settings.settlement_corrections,
        progress=progress,
    )
    print(f"Built the demo into {settings.store} in {report.seconds:.1f} s:")
    for name, n in report.counts.items():
        print(f"  {name:<13} {n:>8,}")
    print(f"  counties the name matcher could not match: {', '.join(report.unmatched_counties) or 'none'}")
    for line in summary_lines(report.match_report, report.unofficial_places, report.geonames_agreement):
        print(f"  {line}")
    out = args.match_report or _beside_store(settings.store, "settlement-match.csv")
    write_match_report(report.match_report, out)
    print(f"  the match report (every settlement, how it got its point): {out}")
    print(
        f"  synthetic NGOs in cities over 250,000: {report.urban_ngo_share:.1%} "
        f"(their share of population: {report.urban_population_share:.1%})"
    )
    print("  NGOs, target areas and county needs are SYNTHETIC demo data.")
    if not args.no_demo_accounts:
        made = create_demo_accounts(settings.store)
        if made:
            print("  DEMO accounts (documented passwords, demo only, never on a real deployment):")
            for username, role, provinces, password in made:
                where = f" provinces {','.join(provinces)}" if provinces else ""
                print(f"    {username:<20} {role:<20} password {password}{where}")
    return 0


def _beside_store(store: str, name: str) -> Path:
    """A file beside a GeoPackage store, or in the working folder for a database store."""
    if "://" in store:
        return Path(name)
    return Path(store).parent / name


def cmd_match_settlements(args: argparse.Namespace, settings: Settings) -> int:
    """Match the official settlements to the gazetteer and write the report; the store is untouched."""
    from services.settlements import match_official_settlements, summary_lines, write_match_report

    corrections = args.corrections or settings.settlement_corrections
    real = match_official_settlements(settings.data_dir, corrections)
    for line in summary_lines(real.report, len(real.match.unofficial), real.geonames_agreement):
        print(line)
    write_match_report(real.report, args.out, unofficial=len(real.match.unofficial))
    print(f"Wrote the match report of {len(real.report):,} settlements to {args.out}")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from store.backup import backup

    info = backup(settings.store, args.folder)
    for name, t in info["tables"].items():
        print(f"  {name:<15} {t['rows']:>8,} rows  sha256 {t['sha256'][:16]}…")
    print(f"Backed up {settings.store} to {args.folder}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from store.backup import restore

    tables = restore(args.folder, settings.store, force=args.force)
    for name, t in tables.items():
        print(f"  {name:<15} {t['rows']:>8,} rows  checksum as in the backup")
    print(f"Restored {args.folder} into {settings.store}; every layer and the audit trail verified")
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


def _admin(args: argparse.Namespace, settings: Settings, what: str = "replacing a layer") -> str:
    """The admin named by --user, after their password (replacing a layer needs one)."""
    from store.accounts import Accounts

    if not args.user:
        raise SystemExit(f"error: {what} needs an admin: --user NAME (password asked)")
    accounts = Accounts(settings.store)
    try:
        user = accounts.authenticate(args.user, read_password(args, confirm=False))
    finally:
        accounts.close()
    if user is None or user.role != "admin":
        raise SystemExit(f"error: {args.user} is not an admin, or the password is wrong")
    return user.username


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    import pandas as pd

    from exchange.imports import ImportRejected, validate_file, write_report
    from services.imports import apply_import, record_refusal
    from store import open_store

    store = open_store(settings.store)
    mode = "replace" if args.replace else "append" if args.append else "update"
    actor = _admin(args, settings) if mode == "replace" else (args.user or f"os:{getpass.getuser()}")
    # The report goes where the user asked, or into the working folder: never beside the input,
    # which may be a system file (/etc/passwd) or no folder at all (/vsicurl/…, http://…).
    report_path = args.report or Path.cwd() / (Path(args.file).stem[:100] + ".rejected.csv")
    from services.catalogue import store_norms
    from services.loading import load_norms

    # the norms in force (an imported catalogue, or the norms file): the services, modes,
    # evaluation scale and volunteer specialities a file is checked against
    norms = store_norms(store, load_norms(settings.norms))
    ratings = norms.ratings if args.layer == "ngo_evaluations" else None
    volunteers = norms.volunteers if args.layer == "volunteer_groups" else None
    result = validate_file(
        store,
        args.layer,
        args.file,
        mode="append" if mode == "append" else "replace",
        source_layer=args.source_layer,
        ratings=ratings,
        volunteers=volunteers,
        services=norms.services,
        # --replace restores or rewrites the layer whole: its recorded evaluations are no fault
        new_evaluations=mode != "replace",
    )
    if not result.ok:
        err = ImportRejected(result)
        store.close()
        print(f"error: {err.user_message}", file=sys.stderr)
        shown = result.rejected.head(args.show)
        # The report first: whatever happens while printing, the user gets it.
        try:
            write_report(result, report_path)
        except OSError as exc:
            print(f"error: cannot write the report {report_path}: {exc.strerror}", file=sys.stderr)
            report_path = None
        for row in shown.itertuples():
            where = "file" if pd.isna(row.row) else f"row {int(row.row)}"
            print(f"  {where:>9}  {row.field!s:<16} {row.reason!s:<22} {row.message}", file=sys.stderr)
        if len(result.rejected) > len(shown):
            print(f"  … and {len(result.rejected) - len(shown)} more", file=sys.stderr)
        if report_path is not None:
            print(f"Every rejected row is in {report_path}", file=sys.stderr)
        record_refusal(settings, actor, mode, args.layer, args.file, len(result.rejected))
        return 3
    done = apply_import(settings, store, args.layer, result.frame, mode, actor, args.file)
    what = {
        "replace": "replaced",
        "append": "appended",
        "update": f"{done.added:,} added, {done.updated:,} updated by key",
    }[mode]
    print(f"Imported {len(result.frame):,} rows into {args.layer} ({what}); it now holds {done.rows:,}.")  # type: ignore[arg-type]
    if done.saved is not None:
        print(
            f"  The previous version is in {done.saved} (restore: amayesh import {args.layer} {done.saved} --replace --user …)"
        )
    for note in result.notes:
        print(f"  {note}")
    if not result.repaired.empty:
        try:
            write_report(result, report_path)
            print(f"  {len(result.repaired)} polygons repaired (area change < 0.1%); see {report_path}")
        except OSError as exc:
            print(f"  {len(result.repaired)} polygons repaired; the report {report_path}: {exc.strerror}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from exchange.exports import export_layer
    from store import open_store

    path = export_layer(open_store(settings.store), args.layer, args.file, fmt=args.format)
    print(f"Wrote {args.layer} to {path}")
    return 0


def cmd_import_hierarchy(args: argparse.Namespace, settings: Settings) -> int:
    """A new version of the divisions from a file: every row or none, the problems reported."""
    import pandas as pd

    from exchange.hierarchy import write_division_report
    from services.hierarchy import HierarchyRejected, import_division_version
    from services.imports import audit
    from store import open_store

    actor = _admin(args, settings, "importing a division version")
    store = open_store(settings.store)
    report_path = args.report or Path.cwd() / (Path(args.file).stem[:100] + ".rejected.csv")
    try:
        done = import_division_version(
            store,
            Path(args.file),
            version_id=args.version_id,
            name_fa=args.name_fa,
            name_en=args.name_en,
            base=args.base,
            actor=actor,
            audit=lambda *record: audit(settings, None, *record),
            via="cli",
        )
    except HierarchyRejected as err:
        print(f"error: {err.user_message}", file=sys.stderr)
        try:
            write_division_report(err.problems, report_path)
        except OSError as exc:
            print(f"error: cannot write the report {report_path}: {exc.strerror}", file=sys.stderr)
            report_path = None
        for row in err.problems.itertuples():
            where = "file" if pd.isna(row.row) else f"row {int(row.row)}"
            print(f"  {where:>9}  {row.field!s:<12} {row.reason!s:<18} {row.message}", file=sys.stderr)
        if report_path is not None:
            print(f"Every refused row is in {report_path}", file=sys.stderr)
        return 3
    finally:
        store.close()
    print(
        f"Imported division version {done.version_id} (from {done.base_version_id}, valid from "
        f"{done.valid_from}): {done.units:,} counties, {done.changes:,} changes."
    )
    if done.closed_base:
        print(f"  {done.base_version_id} now ends the day before.")
    return 0
