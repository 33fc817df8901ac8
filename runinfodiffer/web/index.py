"""Generate the static `html/index.html` from the form template and the catalog.

Usage: ``python -m runinfodiffer.web.index [OUTPUT]`` (default: html/index.html in the
checkout). The page links to the application with relative URLs, so it works wherever
Apache maps `/RunInfoDiffer/` to `html/` and `/cgi-bin/RunInfoDiffer/` to `cgi-bin/`.
A test fails when the committed file differs from what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional
from urllib.parse import urlencode

from ..catalog import Catalog, load_catalog
from ..config import CHECKOUT

#: The application, relative to `html/index.html` as served at `/RunInfoDiffer/index.html`.
ACTION = "../cgi-bin/RunInfoDiffer/viewDiffer.py"
OUTPUT = CHECKOUT / "html" / "index.html"


def render_index(catalog: Catalog) -> str:
    """Return the static front page: the diff form with every catalog partition checked."""
    from .rendering import render

    def link(**params: str) -> str:
        return f"{ACTION}?{urlencode(params)}"

    return render(
        "home.html",
        link=link,
        home="index.html",
        form_action=ACTION,
        catalog_partitions=catalog.partitions,
        form_run1="",
        form_run2="",
        form_checked=None,
    )


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    output = Path(argv[0]) if argv else OUTPUT
    catalog = load_catalog(CHECKOUT / "diffed_parameters.txt")
    output.write_text(render_index(catalog), encoding="utf-8")
    print(f"wrote {output} with partitions {', '.join(catalog.partitions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
