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
    if not args.no_demo_accounts:
        made = create_demo_accounts(settings.store)
        if made:
            print("  DEMO accounts (documented passwords, demo only, never on a real deployment):")
            for username, role, provinces, password in made:
                where = f" provinces {','.join(provinces)}" if provinces else ""
                print(f"    {username:<20} {role:<20} password {password}{where}")
    return 0


#: The demo's accounts: one per role (README, "Users and roles"). Demo only.
DEMO_ACCOUNTS = (
    ("demo_admin", "admin", ()),
    ("demo_planner", "planner", ()),
    ("demo_officer", "licensing_officer", ("11",)),
    ("demo_director", "provincial_director", ("11",)),
)


def create_demo_accounts(store_url: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """One documented account per role, for the demo only; existing ones are left alone."""
    from store.accounts import Accounts, demo_password

    accounts = Accounts(store_url)
    made = []
    try:
        for username, role, provinces in DEMO_ACCOUNTS:
            if accounts.get(username) is None:
                accounts.add(
                    username,
                    demo_password(role),
                    role,
                    provinces,
                    display_name=f"DEMO {role}",
                    actor="build-demo",
                )
            made.append((username, role, provinces, demo_password(role)))
    finally:
        accounts.close()
    return made


def _read_password(args: argparse.Namespace, confirm: bool = True) -> str:
    import getpass

    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if not confirm:
        return first
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from store.accounts import Accounts

    accounts = Accounts(settings.store)
    actor = f"cli:{args.actor}" if args.actor else "cli"
    provinces = [p for p in (getattr(args, "provinces", None) or "").split(",") if p]
    try:
        if args.action == "add":
            user = accounts.add(
                args.username,
                _read_password(args),
                args.role,
                provinces,
                display_name=args.name or "",
                actor=actor,
            )
            print(
                f"Added {user.username} ({user.role}{', provinces ' + ','.join(user.provinces) if user.provinces else ''})"
            )
        elif args.action == "set-role":
            user = accounts.set_role(args.username, args.role, actor=actor)
            print(f"{user.username} is now {user.role}; their sessions are signed out")
        elif args.action == "set-provinces":
            user = accounts.set_provinces(args.username, provinces, actor=actor)
            print(f"{user.username}: provinces {','.join(user.provinces) or 'none (national role)'}")
        elif args.action == "reset-password":
            accounts.reset_password(args.username, _read_password(args), actor=actor)
            print(f"New password set for {args.username}; their sessions are signed out")
        elif args.action in ("disable", "enable"):
            accounts.set_disabled(args.username, args.action == "disable", actor=actor)
            print(f"{args.username} {args.action}d")
        elif args.action == "token":
            token_id, token = accounts.issue_token(
                args.username, label=args.label or "", days=args.days, actor=actor
            )
            print(f"Token {token_id} for {args.username} (shown once; only its hash is kept):")
            print(token)
        elif args.action == "revoke-token":
            accounts.revoke_token(args.token_id, actor=actor)
            print(f"Token {args.token_id} revoked")
        elif args.action == "list":
            users = accounts.list()
            if not users:
                print("no users; add the first admin with: amayesh users add NAME --role admin")
            for u in users:
                where = ",".join(u.provinces) or "national"
                state = " (disabled)" if u.disabled else ""
                tokens = [t["token_id"] for t in accounts.tokens_of(u.username) if t["revoked_at"] is None]
                print(f"{u.username:<20} {u.role:<20} {where:<12} tokens: {', '.join(tokens) or '-'}{state}")
    finally:
        accounts.close()
    return 0


def cmd_setup_roles(args: argparse.Namespace, settings: Settings) -> int:
    from store.roles import setup_roles

    if not settings.store.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        print(
            "error: setup-roles is for a PostGIS store (--store postgresql://owner@host/db)", file=sys.stderr
        )
        return 2
    password = _read_password(args)
    if len(password) < 16:
        print("error: the service role's password needs at least 16 characters", file=sys.stderr)
        return 2
    for line in setup_roles(settings.store, args.role, password):
        print(line)
    print(f"Point the service at it: AMAYESH_STORE=postgresql://{args.role}:…@host:port/database")
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


def _admin(args: argparse.Namespace, settings: Settings) -> str:
    """The admin named by --user, after their password (replacing a layer needs one)."""
    from store.accounts import Accounts

    if not args.user:
        raise SystemExit("error: replacing a layer needs an admin: --replace --user NAME (password asked)")
    accounts = Accounts(settings.store)
    try:
        user = accounts.authenticate(args.user, _read_password(args, confirm=False))
    finally:
        accounts.close()
    if user is None or user.role != "admin":
        raise SystemExit(f"error: {args.user} is not an admin, or the password is wrong")
    return user.username


def _previous_version(store, layer_name: str, settings: Settings) -> Path | None:
    """Save the layer as it is before an import (``amayesh import LAYER <file> --replace`` restores it)."""
    from datetime import UTC, datetime

    from exchange.exports import export_layer

    if layer_name not in store.list_layers():
        return None
    folder = settings.versions_dir or (
        Path(settings.store).parent / "versions"
        if not settings.store.startswith("postgres")
        else Path("var/versions")
    )
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return export_layer(store, layer_name, folder / f"{layer_name}-{stamp}.gpkg")


def _audit(settings: Settings, *record) -> None:
    """One audit row, on a connection opened and closed for it."""
    from store.accounts import Accounts

    accounts = Accounts(settings.store)
    try:
        accounts.record(*record)
    finally:
        accounts.close()


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    import getpass
    import os

    import pandas as pd

    from exchange.imports import ImportRejected, validate_file, write_report
    from geo.schema import layer as layer_spec
    from store import open_store
    from store.backup import frame_checksum

    store = open_store(settings.store)
    mode = "replace" if args.replace else "append" if args.append else "update"
    actor = _admin(args, settings) if mode == "replace" else (args.user or f"os:{getpass.getuser()}")
    # The report goes where the user asked, or into the working folder: never beside the input,
    # which may be a system file (/etc/passwd) or no folder at all (/vsicurl/…, http://…).
    report_path = args.report or Path.cwd() / (Path(args.file).stem[:100] + ".rejected.csv")
    result = validate_file(
        store,
        args.layer,
        args.file,
        mode="append" if mode == "append" else "replace",
        source_layer=args.source_layer,
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
        _audit(
            settings,
            None,
            actor,
            f"import.{mode}.rejected",
            f"layer:{args.layer}",
            None,
            {"file": str(args.file), "rejected_rows": len(result.rejected)},
        )
        return 3
    present = args.layer in store.list_layers()
    before = store.read_layer(args.layer) if present else None
    saved = _previous_version(store, args.layer, settings)
    frame, added, updated = result.frame, len(result.frame), 0
    keys = layer_spec(args.layer).key.split(",")
    if mode == "update" and before is not None and len(before):
        incoming = pd.MultiIndex.from_frame(frame[keys].astype(str))
        stored = pd.MultiIndex.from_frame(before[keys].astype(str))
        updated = int(incoming.isin(stored).sum())
        added = len(frame) - updated
        kept = before[~stored.isin(incoming)]
        frame = pd.concat([kept, frame], ignore_index=True)
    with store.transaction() as tx:
        if mode == "append":
            tx.append(args.layer, frame)
        else:
            tx.write_layer(args.layer, frame)
    after = store.read_layer(args.layer)
    store.close()
    _audit(
        settings,
        None,
        actor,
        f"import.{mode}",
        f"layer:{args.layer}",
        None
        if before is None
        else {"rows": len(before), "sha256": frame_checksum(before), "saved_as": str(saved)},
        {
            "rows": len(after),
            "sha256": frame_checksum(after),
            "file": str(args.file),
            "added": added,
            "updated": updated,
            "by": os.environ.get("SUDO_USER") or getpass.getuser(),
        },
    )
    what = {
        "replace": "replaced",
        "append": "appended",
        "update": f"{added:,} added, {updated:,} updated by key",
    }[mode]
    print(f"Imported {len(result.frame):,} rows into {args.layer} ({what}); it now holds {len(after):,}.")
    if saved is not None:
        print(
            f"  The previous version is in {saved} (restore: amayesh import {args.layer} {saved} --replace --user …)"
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


def _write_table(frame, path: Path) -> None:
    from exchange.formats import write_file

    write_file(frame, path, layer=path.stem)
    print(f"Wrote {len(frame):,} rows to {path}")


def _analysis(settings: Settings):
    import time

    from api.loading import analysis_from_store, load_norms, travel_for
    from store import open_store

    store = open_store(settings.store)
    norms = load_norms(settings.norms)
    travel = travel_for(settings, norms)
    started = time.perf_counter()
    result = analysis_from_store(store, norms, travel, settings.as_of)
    _progress(
        f"analysis recomputed in {time.perf_counter() - started:.2f} s (norms {norms.version}; "
        f"travel {norms.travel}; licence statuses as of {result.as_of})"
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
        f"have {s['spare_capacity']:,} spare (rule: {s['spare_rule']}); within {s['outreach_km'] if s['outreach_km'] is not None else s['outreach_min']:.0f} {'km' if s['outreach_km'] is not None else 'min'} "
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


def cmd_compare_travel(args: argparse.Namespace, settings: Settings) -> int:
    """Flags in a straight line against flags on roads, by province."""
    import dataclasses
    import time

    from api.loading import analysis_from_store, load_norms, travel_for
    from geo.decisions import flag_changes
    from store import open_store

    store = open_store(settings.store)
    norms = load_norms(settings.norms)
    straight_norms = dataclasses.replace(norms, travel="straight")
    roads_norms = dataclasses.replace(norms, travel="roads")
    started = time.perf_counter()
    straight = analysis_from_store(store, straight_norms)
    roads = analysis_from_store(store, roads_norms, travel_for(settings, roads_norms))
    _progress(f"both analyses in {time.perf_counter() - started:.1f} s")
    table = flag_changes(straight.flags, roads.flags, straight.settlements)
    if "provinces" in store.list_layers():
        names = store.read_layer("provinces").set_index("province_code")["name_en"]
        table.insert(0, "province", table.index.map(lambda c: names.get(c, "all" if c == "all" else "")))
    print("Underserved flags (settlement × service type), straight line × detour → roads:")
    print(table.to_string())
    by_service = pd_by_service(straight.flags, roads.flags)
    print("\nBy service type:")
    print(by_service.to_string())
    fallback = roads.access.fallback.any(axis=1).sum()
    print(f"\nsettlements reaching some nearest centre by the straight-line fallback: {int(fallback):,}")
    if args.out:
        _write_table(table.reset_index(), args.out)
    return 0


def pd_by_service(before, after):
    import pandas as pd

    return (
        pd.DataFrame(
            {
                "flags_before": before["service_type"].value_counts(),
                "flags_after": after["service_type"].value_counts(),
            }
        )
        .fillna(0)
        .astype("int64")
    )


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
        if settings.roads:
            os.environ["AMAYESH_ROADS"] = str(settings.roads)
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
    usub.add_parser("list", help="list the users, their roles, provinces and live tokens")
    us.set_defaults(func=cmd_users)

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
