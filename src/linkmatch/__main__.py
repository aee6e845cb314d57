"""``python -m linkmatch``: the command line."""

import sys

from linkmatch.cli import main

sys.exit(main())
