"""``python -m cli``: the same as the ``amayesh`` command."""

import sys

from cli.main import main

sys.exit(main())
