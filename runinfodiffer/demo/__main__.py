"""Entry of `make demo`; see `runinfodiffer.demo.live` for the options."""

import sys

from .live import main

sys.exit(main())
