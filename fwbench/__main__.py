"""Entry point for `python -m fwbench`."""

import sys

from fwbench.cli import main

sys.exit(main())
