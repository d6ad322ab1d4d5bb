"""Commands that read the analysis: ``analyse``, ``check-licence``, ``priorities``, ``compare-travel``
and ``trends`` (figures by Jalali period)."""

from __future__ import annotations

import argparse

from cli.common import progress, write_table
from services.settings import Settings


def load_analysis(settings: Settings):
    import time

    from services.catalogue import store_norms
    from services.loading import analysis_from_store, load_norms, travel_for
    from store import open_store

    store = open_store(settings.store)
    norms = store_norms(store, load_norms(settings.norms))
    travel = travel_for(settings, norms)
    started = time.perf_counter()
    result = analysis_from_store(store, norms, travel, settings.as_of)
    progress(
        f"analysis recomputed in {time.perf_counter() - started:.2f} s (norms {norms.version}; "
        f"travel {norms.travel}; licence statuses as of {result.as_of})"
    )
    return store, result


def cmd_analyse(args: argparse.Namespace, settings: Settings) -> int:
    _, a = load_analysis(settings)
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
        write_table(sat, out / f"saturation.{ext}")
        from geo.decisions import flag_reasons

        flags = a.flags.reset_index(drop=True)
        write_table(flags.join(flag_reasons(flags, services=a.norms.services)), out / f"flags.{ext}")
        write_table(a.concentration.reset_index(), out / f"concentration.{ext}")
        write_table(a.concentration_by_province.reset_index(), out / f"concentration_by_province.{ext}")
        write_table(a.settlement_access(), out / f"settlement_access.{ext}")
    return 0


def cmd_check_licence(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from dataclasses import asdict

    _, a = load_analysis(settings)
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
    from services.loading import province_code
    from store import open_store

    province = province_code(open_store(settings.store), args.province) if args.province else None
    weights = {}
    for part in filter(None, (args.weights or "").split(",")):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"error: weight {part!r} is not name=number") from None
    _, a = load_analysis(settings)
    ranked = a.priorities(province=province, service_type=args.service, weights=weights or None, top=args.top)
    if args.out:
        write_table(ranked, args.out)
    reason = "reason_fa" if args.lang == "fa" else "reason_en"
    show = ranked[["province_code", "rank", "settlement_code", "name_fa", "population", "score", reason]]
    print(show.head(args.show).to_string(index=False))
    return 0


def province_arg(settings: Settings, value: str | None) -> str | None:
    from services.loading import province_code
    from store import open_store

    return province_code(open_store(settings.store), value) if value else None


def cmd_compare_travel(args: argparse.Namespace, settings: Settings) -> int:
    """Flags in a straight line against flags on roads, by province."""
    import dataclasses
    import time

    from geo.decisions import flag_changes
    from services.catalogue import store_norms
    from services.loading import analysis_from_store, load_norms, travel_for
    from store import open_store

    store = open_store(settings.store)
    norms = store_norms(store, load_norms(settings.norms))
    straight_norms = dataclasses.replace(norms, travel="straight")
    roads_norms = dataclasses.replace(norms, travel="roads")
    started = time.perf_counter()
    straight = analysis_from_store(store, straight_norms)
    roads = analysis_from_store(store, roads_norms, travel_for(settings, roads_norms))
    progress(f"both analyses in {time.perf_counter() - started:.1f} s")
    table = flag_changes(straight.flags, roads.flags, straight.settlements)
    if "provinces" in store.list_layers():
        names = store.read_layer("provinces").set_index("province_code")["name_en"]
        table.insert(0, "province", table.index.map(lambda c: names.get(c, "all" if c == "all" else "")))
    print("Underserved flags (settlement × service type), straight line × detour → roads:")
    print(table.to_string())
    by_service = pd_by_service(straight.flags, roads.flags)
    print("\nBy service type:")
    print(by_service.to_string())
    fallback = roads.access.fallback.any(axis=1).sum()  # type: ignore[union-attr]  # set on roads
    print(f"\nsettlements reaching some nearest centre by the straight-line fallback: {int(fallback):,}")
    if args.out:
        write_table(table.reset_index(), args.out)
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


def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    """Figures by Jalali period for the whole country (``services.trends``), printed or written."""
    import time

    import pandas as pd

    from geo.periods import parse_periods
    from services.loading import load_norms, travel_for
    from services.scope import NATIONAL
    from services.snapshot import Snapshots
    from services.trends import trend_answer
    from store import open_store

    series = parse_periods(args.periods)
    norms = load_norms(settings.norms)
    snaps = Snapshots(
        open_store(settings.store), norms, as_of=settings.as_of, travel=lambda: travel_for(settings, norms)
    )
    started = time.perf_counter()
    answer = trend_answer(
        snaps.current(),
        NATIONAL,
        series,
        level=args.level,
        province=province_arg(settings, args.province),
        service_type=args.service,
        by_service=args.by_service,
        measures=args.measures.split(",") if args.measures else None,
        compare=args.compare.split(",") if args.compare else (),
        deadline_days=args.deadline_days,
    )
    progress(
        f"{len(series)} periods, {len(answer.table):,} rows in {time.perf_counter() - started:.2f} s "
        f"(licence statuses as of {answer.as_of}{'; synthetic figures' if answer.synthetic else ''})"
    )
    if args.out:
        write_table(answer.table, args.out)
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            shown = answer.table.drop(columns=["kind", "label_fa", "start", "end", "level", "name_fa"])
            print(shown.to_string(index=False))
    return 0
