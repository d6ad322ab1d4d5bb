"""The command that runs the HTTP service: ``amayesh serve``."""

from __future__ import annotations

import argparse
import sys

from services.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from store import open_store
    from store.accounts import CHEAP_HASHES_FOR_TESTS, cheap_hashes

    if cheap_hashes():
        print(
            f"warning: {CHEAP_HASHES_FOR_TESTS}=1 is set: passwords set or changed now are hashed with "
            "the test suite's cheap profile (easy to guess from a stolen database); unset it",
            file=sys.stderr,
        )
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
