"""``python -m connectivity.steiner FILE [--time-limit S] [--quality]``."""

import sys

from connectivity.steiner.cli import main

sys.exit(main())
