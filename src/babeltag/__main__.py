"""``python -m babeltag``: the same as the ``babeltag`` command."""

import sys

from babeltag.cli import main

sys.exit(main())
