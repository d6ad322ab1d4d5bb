"""Application services: what both interfaces (HTTP in ``api``, the command line) do.

Loading a store into an analysis snapshot, scoping a view for a user, plans and scenarios,
imports and exports as jobs. No FastAPI, no argparse here: both doors call these.
"""
