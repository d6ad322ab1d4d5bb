"""The command line ``amayesh``: one door onto ``services/``, one module per group of commands.

``cli/main.py`` holds the parser and the dispatch; ``data.py`` the store's data (demo, layers,
imports, exports, backups), ``users.py`` accounts and roles, ``analysis.py`` the analysis,
``planning.py`` siting, delegation and scenarios, ``serve.py`` the HTTP service.
"""
