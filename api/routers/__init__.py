"""HTTP routes, one module per resource. Handlers parse, call the snapshot or ``geo``, return."""
