"""Commands that plan: ``site`` (where to license next), ``delegate`` (spare capacity to unserved villages)
and ``scenario`` (saved scenarios)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.analysis import load_analysis, province_arg
from cli.common import write_table
from services.settings import Settings


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
    from services import plans

    province = province_arg(settings, args.province)
    candidates = None
    if args.candidates:
        text = (
            Path(args.candidates).read_text(encoding="utf-8")
            if Path(args.candidates).is_file()
            else args.candidates
        )
        candidates = [c.strip() for c in text.replace("\n", ",").split(",") if c.strip()]
    store, a = load_analysis(settings)
    plan = plans.site(
        a, args.service, args.k, plans.SitingOptions.of(args), province=province, candidates=candidates
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
    if s.get("cost_spent") is not None:
        kept = f" of a budget of {s['budget']:,.0f}" if s.get("budget") is not None else ""
        print(
            f"  cost of the sites: {s['cost_spent']:,.0f} {s['cost_currency']}{kept} "
            f"({s['cost_per_site']:,.0f} each; cost table: {s['cost_table']})"
        )
    if s.get("border_note_en"):
        print(f"  {s['border_note_en']}")
    show = plan.sites[["rank", "settlement_code", "name_fa", "county_code", "population", "gain"]]
    print(show.head(args.show).to_string(index=False))
    if args.out:
        write_table(plan.sites, args.out)
    if args.save_scenario:
        record = plans.create_scenario(
            store, args.save_scenario, _sites_as_changes(plan.sites, args.service), owner=args.owner,
            description=f"siting: {s['model']} k={s['new_sites']} province={province or 'all'}",
        )  # fmt: skip
        print(f"Saved as scenario {record['id']} ({record['name']})")
    return 0


def cmd_delegate(args: argparse.Namespace, settings: Settings) -> int:
    from geo.delegation import delegate
    from services import plans

    province = province_arg(settings, args.province)
    store, a = load_analysis(settings)
    plan = delegate(
        a,
        args.service,
        province=province,
        outreach_km=args.outreach_km,
        outreach_min=args.outreach_min,
        budget=args.budget,
    )
    s = plan.summary
    print(
        f"{s['places']:,} flagged places need {s['capacity_needed']:,} places of {args.service} "
        f"({s['target_population_unserved']:,} unserved target persons); {s['centres_with_spare']:,} centres "
        f"have {s['spare_capacity']:,} spare (rule: {s['spare_rule']}); within {s['outreach_km'] if s['outreach_km'] is not None else s['outreach_min']:.0f} {'km' if s['outreach_km'] is not None else 'min'} "
        f"{s['assigned']:,} assigned by {s['centres_used']:,} centres, {s['still_needed']:,} still needed"
    )
    if s.get("outreach_cost") is not None:
        kept = f" of a budget of {s['budget']:,.0f}" if s.get("budget") is not None else ""
        print(
            f"  outreach cost (km × cost per km): {s['outreach_cost']:,.1f} {s['cost_currency']}{kept} "
            f"(cost table: {s['cost_table']})"
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
        write_table(plan.centres.drop(columns="settlement_codes"), out / f"delegation_centres.{args.format}")
        write_table(plan.places, out / f"delegation_places.{args.format}")
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

    from services import plans
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
        province = province_arg(settings, args.province)
        _, today = load_analysis(settings)
        layers = store.read_layers()
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
        if s.get("cost_b") is not None:
            per = s["cost_per_newly_covered"]
            print(
                f"  cost {s['cost_a']:,.0f} → {s['cost_b']:,.0f} {s['cost_currency']} "
                f"(difference {s['cost_difference']:,.0f}; per newly covered target person: "
                f"{'none newly covered' if per is None else f'{per:,.1f}'}; cost table: {s['cost_table']})"
            )
        nat = result.equity[result.equity["scope"] == "national"]
        print(nat[["service_type", "gini_a", "gini_b", "theil_a", "theil_b"]].round(4).to_string(index=False))
        if args.out:
            from maps.notices import SYNTHETIC_NOTICE_EN

            path = plans.comparison_workbook(
                result, rec_a, rec_b, layers["counties"], args.out, SYNTHETIC_NOTICE_EN
            )
            print(f"Wrote {path}")
    return 0
