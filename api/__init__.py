"""The HTTP door: the FastAPI service (``app.create_app``), its routers, policy and errors.

HTTP only: what the service does for a request lives in ``services/`` (shared with the command
line, ``cli/``) and ``geo/``; modules here parse, authorise, call, and answer.
"""
