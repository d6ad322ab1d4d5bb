"""How people and programs reach Amayesh: the HTTP service (``app``) and the command line (``cli``)."""
