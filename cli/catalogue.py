"""``amayesh catalogue``: the service catalogue in force, and a new version imported."""

from __future__ import annotations

import argparse
import json
import sys

from services.settings import Settings


def cmd_catalogue(args: argparse.Namespace, settings: Settings) -> int:
    from geo.errors import NormsRejected
    from services import catalogue as C
    from services.loading import load_norms
    from store import open_store
    from store.accounts import Accounts

    store = open_store(settings.store)
    started = load_norms(settings.norms)
    present = store.list_layers()
    versions = store.read_layer("norms_versions") if "norms_versions" in present else None
    running = C.norms_in_force(versions, started)
    if args.action == "show":
        print(json.dumps(C.describe(running, versions), ensure_ascii=False, indent=2))
        return 0
    from cli.data import _admin

    actor = _admin(args, settings, "importing a catalogue")
    content = args.file.read_bytes()[: C.MAX_BYTES + 1]
    layers = {name: store.read_layer(name) for name in C.USES if name in present}
    try:
        new = C.import_norms(store, content, actor, running, layers)
    except NormsRejected as err:
        for reason in err.reasons:
            print(f"refused: {reason}", file=sys.stderr)
        return 1
    accounts = Accounts(settings.store)
    try:
        accounts.record(
            None,
            actor,
            "catalogue.import",
            str(new.version),
            {"version": str(running.version), "services": list(running.services)},
            {"version": str(new.version), "services": list(new.services)},
        )
    finally:
        accounts.close()
    print(f"norms {new.version} in force: {len(new.services)} services ({', '.join(new.services)})")
    return 0
