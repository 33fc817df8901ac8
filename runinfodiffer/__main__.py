"""`python -m runinfodiffer` is the `runinfodiffer` command."""

import sys

from .cli import main

sys.exit(main())
