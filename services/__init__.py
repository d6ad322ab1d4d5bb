"""Application services: what both doors (``api/`` over HTTP, ``cli/`` on the command line) do.

Loading a store into an analysis snapshot (``loading.py``, ``snapshot.py``, ``caches.py``),
scoping and coarsening a view for a user (``scope.py``, ``rights.py``), plans and scenarios
(``plans.py``), imports (``imports.py``: the command line's; ``intake.py``: import jobs through
the browser), exports as jobs and tables for people (``exporter.py``, ``tables.py``) and the
settings both read (``settings.py``). No FastAPI, no Starlette, no argparse here; this room uses
``geo/``, ``store/``, ``exchange/`` and ``maps/`` and is used by ``api/`` and ``cli/`` only.
"""
